//! The read/write floor of a render, as `benches/render.rs` measures it: decodes every input
//! file block by block (4096 frames, all in step) and writes a 32-bit float WAV of
//! `CHANNELS` channels and the same number of frames, doing no other work. Benchmark
//! material for `tools/bench_adm.sh`.
//!
//! Usage: `cargo run --release --example floor -- OUT.wav CHANNELS IN.wav [IN.wav ...]`

use std::path::PathBuf;

use mixstage::io::{open_audio, read_frames, SampleFormat, WavWriter};

const BLOCK: usize = 4096;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        anyhow::bail!("usage: floor OUT.wav CHANNELS IN.wav [IN.wav ...]");
    }
    let out = PathBuf::from(&args[0]);
    let ch: usize = args[1].parse()?;
    let mut readers = args[2..]
        .iter()
        .map(|p| open_audio(&PathBuf::from(p)))
        .collect::<Result<Vec<_>, _>>()?;
    let rate = readers[0].info().sample_rate;
    let mut bufs: Vec<Vec<f32>> = readers
        .iter()
        .map(|r| vec![0f32; BLOCK * r.info().channels])
        .collect();
    let mut outbuf = vec![0f32; BLOCK * ch];
    let mut w = WavWriter::create(&out, rate, ch, SampleFormat::F32, 0)?;
    loop {
        let mut most = 0;
        for (r, b) in readers.iter_mut().zip(bufs.iter_mut()) {
            let got = read_frames(r.as_mut(), b)?;
            let used = got * r.info().channels;
            outbuf[0] += b[..used].iter().sum::<f32>() * 1e-30; // keep the reads observable
            most = most.max(got);
        }
        if most == 0 {
            break;
        }
        w.write(&outbuf[..most * ch])?;
    }
    w.finalize(rate, 0)?;
    Ok(())
}
