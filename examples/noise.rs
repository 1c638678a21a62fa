//! Writes deterministic, uncorrelated white noise for every channel of a layout to a WAV file:
//! test and benchmark material (`tools/bench_convert.sh`).
//!
//! Usage: `cargo run --release --example noise -- OUT.wav LAYOUT SECONDS [RATE] [s16|s24|f32]`

use std::path::PathBuf;

use mixstage::io::{SampleFormat, WavWriter};
use mixstage::Layout;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        anyhow::bail!("usage: noise OUT.wav LAYOUT SECONDS [RATE] [s16|s24|f32]");
    }
    let out = PathBuf::from(&args[0]);
    let layout = Layout::resolve(&args[1])?;
    let seconds: f64 = args[2].parse()?;
    let rate: u32 = args
        .get(3)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(48_000);
    let format = match args.get(4).map(String::as_str) {
        None | Some("f32") => SampleFormat::F32,
        Some("s24") => SampleFormat::S24,
        Some("s16") => SampleFormat::S16,
        Some(f) => anyhow::bail!("unknown format {f}"),
    };
    let ch = layout.channels();
    let frames = (seconds * rate as f64).round() as u64;
    let mask = layout.wave_channel_mask().unwrap_or(0);
    let mut w = WavWriter::create(&out, rate, ch, format, mask)?;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut buf = vec![0f32; 4096 * ch];
    let mut left = frames;
    while left > 0 {
        let n = left.min(4096) as usize;
        for x in &mut buf[..n * ch] {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Uniform in [-0.25, 0.25): about -15 dBFS RMS, no clipping after a fold-down.
            *x = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.5;
        }
        w.write(&buf[..n * ch])?;
        left -= n as u64;
    }
    w.finalize(rate, mask)?;
    eprintln!(
        "{}: {} ({} ch), {seconds} s at {rate} Hz, {format:?}",
        out.display(),
        layout.name,
        ch
    );
    Ok(())
}
