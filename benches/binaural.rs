//! Binaural benchmark: a 7.1.4 mix (48 kHz, 32-bit float) to headphones with the built-in
//! HRIRs, against the floor of only reading the same mix and writing a two-channel output.
//!
//! ```sh
//! cargo bench --bench binaural                     # 60 s of 7.1.4
//! cargo bench --bench binaural -- --seconds 1800   # 30 minutes (memory must not grow)
//! ```
//!
//! Each measurement runs in a child process so its peak memory (VmHWM) is its own. The mix
//! (independent white noise at -20 dBFS RMS in each channel) is generated once under
//! `target/bench-data/`. Under `cargo test --all-targets` (no `--bench` flag) it only runs a
//! 1-second smoke check.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mixstage::binaural::{BinauralRenderer, Hrtf};
use mixstage::io::{open_audio, read_frames, SampleFormat, WavWriter};
use mixstage::Layout;

const RATE: u32 = 48000;
const CHANNELS: usize = 12;
const BLOCK: usize = 4096;

/// Writes the 7.1.4 test mix of `seconds` (reused when already there).
fn make_mix(seconds: usize) -> PathBuf {
    let p = common::data_dir().join(format!("mix-714-{seconds}s.wav"));
    if !p.exists() {
        let mut w = WavWriter::create(&p, RATE, CHANNELS, SampleFormat::F32, 0).unwrap();
        let mut s: u64 = 0x2545_F491_4F6C_DD1D;
        let mut buf = vec![0f32; RATE as usize * CHANNELS];
        for _ in 0..seconds {
            for v in buf.iter_mut() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                // Uniform in [-0.173, 0.173): an RMS of 0.1 (-20 dBFS).
                *v = ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.3464;
            }
            w.write(&buf).unwrap();
        }
        w.finalize(RATE, 0).unwrap();
    }
    p
}

/// Streams the mix in blocks; `render` is None for the floor (read and write only).
fn run(mix: &Path, out: &Path, mut render: Option<BinauralRenderer>) {
    let mut src = open_audio(mix).unwrap();
    let mut w = WavWriter::create(out, RATE, 2, SampleFormat::F32, 0x3).unwrap();
    let mut input = vec![0f32; BLOCK * CHANNELS];
    let mut output = vec![0f32; BLOCK * 2];
    loop {
        let frames = read_frames(src.as_mut(), &mut input).unwrap();
        let filled = frames * CHANNELS;
        if frames == 0 {
            break;
        }
        match render.as_mut() {
            Some(r) => {
                r.process_interleaved(&input[..filled], &mut output)
                    .unwrap();
            }
            None => {
                // Keep the read observable: fold the frames into the (silent) output.
                for f in 0..frames {
                    output[2 * f] = input[f * CHANNELS] * 1e-30;
                    output[2 * f + 1] = input[f * CHANNELS + 1] * 1e-30;
                }
            }
        }
        w.write(&output[..2 * frames]).unwrap();
        if frames < BLOCK {
            break;
        }
    }
    w.finalize(RATE, 0x3).unwrap();
}

fn child(mode: &str, seconds: usize) {
    let mix = make_mix(seconds);
    let out = common::data_dir().join(format!("out-binaural-{mode}.wav"));
    let start = Instant::now();
    let renderer = (mode == "binaural").then(|| {
        let layout = Layout::resolve("7.1.4").unwrap();
        let hrtf = Hrtf::builtin(RATE).unwrap();
        BinauralRenderer::new(&layout, &hrtf, RATE, BLOCK).unwrap()
    });
    run(&mix, &out, renderer);
    let wall = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&out);
    println!("{mode} {seconds} {wall:.3} {}", common::peak_memory_kb());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| common::arg(&args, name);
    if let Some(mode) = get("--child") {
        child(&mode, get("--seconds").unwrap().parse().unwrap());
        return;
    }
    let benching = args.iter().any(|a| a == "--bench");
    let seconds: usize = match get("--seconds") {
        Some(s) => s.parse().unwrap(),
        None if benching => 60,
        None => 1, // smoke check under `cargo test`
    };
    make_mix(seconds);
    println!(
        "binaural benchmark: {seconds} s of 7.1.4 at {RATE} Hz (f32) to 2 ch, built-in HRIRs, {} threads",
        rayon::current_num_threads()
    );
    println!(
        "{:>10} {:>8} {:>10} {:>9}",
        "", "wall s", "realtime", "peak MB"
    );
    for mode in ["floor", "binaural"] {
        let o = Command::new(std::env::current_exe().unwrap())
            .args(["--child", mode, "--seconds", &seconds.to_string()])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let line = String::from_utf8_lossy(&o.stdout).to_string();
        let f: Vec<f64> = line
            .split_whitespace()
            .skip(2)
            .map(|v| v.parse().unwrap())
            .collect();
        println!(
            "{:>10} {:>8.3} {:>9.0}x {:>9.1}",
            mode,
            f[0],
            seconds as f64 / f[0],
            f[1] / 1024.0
        );
    }
}
