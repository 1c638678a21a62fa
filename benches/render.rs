//! Render benchmark: N moving objects from WAV files onto 7.1.4 and to headphones (`render
//! --binaural`, built-in HRTFs), against the floor of only decoding the same sources and writing
//! an output of the same size.
//!
//! ```sh
//! cargo bench --bench render                       # 16, 64 and 128 objects, 60 s each
//! cargo bench --bench render -- --objects 16 --seconds 1800   # a 30-minute render
//! ```
//!
//! Each measurement runs in a child process so its peak memory (VmHWM) is its own. Sources
//! (16-bit mono WAV, pink noise) are generated once under `target/bench-data/`. Under
//! `cargo test --all-targets` (no `--bench` flag) it only runs a 2-object, 1-second smoke check.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mixstage::io::{open_audio, SampleFormat, WavWriter};
use mixstage::render::{render_to_files, RenderOptions, BLOCK};
use mixstage::scene::{Generator, Scene};
use mixstage::source::GeneratorState;
use mixstage::Layout;

const RATE: u32 = 48000;

/// Writes `objects` pink-noise sources of `seconds` (reused when already there).
fn make_sources(dir: &Path, objects: usize, seconds: usize) -> Vec<PathBuf> {
    (0..objects)
        .map(|i| {
            let p = dir.join(format!("src-{seconds}s-{i:03}.wav"));
            if !p.exists() {
                let mut g = GeneratorState::new(
                    &Generator::PinkNoise {
                        level_db: -30.0,
                        seed: i as u64 + 1,
                    },
                    RATE,
                    0,
                );
                let mut w = WavWriter::create(&p, RATE, 1, SampleFormat::S16, 0).unwrap();
                let mut buf = vec![0f32; 48000];
                for _ in 0..seconds {
                    g.fill(&mut buf);
                    w.write(&buf).unwrap();
                }
                w.finalize(RATE, 0).unwrap();
            }
            p
        })
        .collect()
}

/// A scene of objects circling at different speeds and heights, with a keyframe every second.
fn scene_text(sources: &[PathBuf], seconds: usize) -> String {
    let mut s = format!("Scene(sample_rate: {RATE}, duration: {seconds}.0, objects: [\n");
    for (i, p) in sources.iter().enumerate() {
        let speed = 20.0 + 7.0 * (i % 13) as f64; // degrees per second
        let el = -10.0 + 5.0 * (i % 9) as f64;
        s.push_str(&format!(
            "Object(name: \"o{i}\", source: File(path: \"{}\"), gain_db: -12.0, position: [",
            p.display()
        ));
        for t in 0..=seconds {
            let az = mixstage::geometry::wrap_azimuth(speed * t as f64 + 37.0 * i as f64);
            s.push_str(&format!("(time: {t}.0, az: {az:.3}, el: {el:.1}),"));
        }
        s.push_str("], gain: [(time: 0.0, db: -6.0), (time: 5.0, db: 0.0, interp: Smooth)]),\n");
    }
    s.push_str("])");
    s
}

/// The floor: read every source block by block and write a 12-channel output of the same size.
fn floor(sources: &[PathBuf], seconds: usize, out: &Path) {
    let mut readers: Vec<_> = sources.iter().map(|p| open_audio(p).unwrap()).collect();
    let mut w = WavWriter::create(out, RATE, 12, SampleFormat::F32, 0).unwrap();
    let mut buf = vec![0f32; BLOCK];
    let mut outbuf = vec![0f32; BLOCK * 12];
    let total = seconds * RATE as usize;
    let mut done = 0;
    while done < total {
        let n = BLOCK.min(total - done);
        for r in readers.iter_mut() {
            let got = r.read(&mut buf[..n]).unwrap();
            outbuf[0] += buf[..got].iter().sum::<f32>() * 1e-30; // keep the reads observable
        }
        w.write(&outbuf[..n * 12]).unwrap();
        done += n;
    }
    w.finalize(RATE, 0).unwrap();
}

fn child(mode: &str, objects: usize, seconds: usize, phones: mixstage::binaural::room::Mode) {
    let dir = common::data_dir();
    let sources = make_sources(&dir, objects, seconds);
    let out = dir.join(format!("out-{mode}.wav"));
    let start = Instant::now();
    match mode {
        "floor" => floor(&sources, seconds, &out),
        "binaural" => {
            let text = scene_text(&sources, seconds);
            let scene = Scene::parse(&text, "bench", &dir).unwrap();
            let hrtf = mixstage::binaural::Hrtf::builtin(RATE).unwrap();
            let opts = RenderOptions {
                binaural_mode: phones,
                ..RenderOptions::default()
            };
            mixstage::render::render_binaural_to_file(
                &scene,
                &opts,
                &hrtf,
                &out,
                SampleFormat::F32,
                |_, _| {},
            )
            .unwrap();
        }
        _ => {
            let text = scene_text(&sources, seconds);
            let scene = Scene::parse(&text, "bench", &dir).unwrap();
            let layout = Layout::resolve("7.1.4").unwrap();
            render_to_files(
                &scene,
                &layout,
                &RenderOptions::default(),
                &out,
                SampleFormat::F32,
                false,
                |_, _| {},
            )
            .unwrap();
        }
    }
    let wall = start.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&out);
    println!(
        "{mode} {objects} {seconds} {wall:.3} {}",
        common::peak_memory_kb()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| common::arg(&args, name);
    // The headphone mode of the binaural column (`--mode near|mid|far|off`; default mid).
    let phones_arg = get("--mode").unwrap_or_else(|| "mid".into());
    let phones: mixstage::binaural::room::Mode =
        phones_arg.parse().expect("--mode near|mid|far|off");
    if let Some(mode) = get("--child") {
        let n = get("--objects").unwrap().parse().unwrap();
        let s = get("--seconds").unwrap().parse().unwrap();
        child(&mode, n, s, phones);
        return;
    }
    let benching = args.iter().any(|a| a == "--bench");
    let (counts, seconds): (Vec<usize>, usize) = match (get("--objects"), get("--seconds")) {
        (Some(n), s) => (
            vec![n.parse().unwrap()],
            s.map(|s| s.parse().unwrap()).unwrap_or(60),
        ),
        (None, Some(s)) => (vec![16, 64, 128], s.parse().unwrap()),
        (None, None) if benching => (vec![16, 64, 128], 60),
        (None, None) => (vec![2], 1), // smoke check under `cargo test`
    };
    println!(
        "render benchmark: {seconds} s at {RATE} Hz onto 7.1.4 (12 ch, f32), {} threads",
        rayon::current_num_threads()
    );
    println!(
        "{:>8} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>11} {:>12} {:>9}",
        "objects",
        "floor s",
        "floor RTF",
        "render s",
        "render RTF",
        "vs floor",
        "peak MB",
        "binaural s",
        "binaural RTF",
        "peak MB"
    );
    for n in counts {
        let mut res = Vec::new();
        for mode in ["floor", "render", "binaural"] {
            // Generate the sources first so that writing them is not timed.
            make_sources(&common::data_dir(), n, seconds);
            let o = Command::new(std::env::current_exe().unwrap())
                .args([
                    "--child",
                    mode,
                    "--objects",
                    &n.to_string(),
                    "--seconds",
                    &seconds.to_string(),
                    "--mode",
                    &phones_arg,
                ])
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let line = String::from_utf8_lossy(&o.stdout).to_string();
            let f: Vec<f64> = line
                .split_whitespace()
                .skip(3)
                .map(|v| v.parse().unwrap())
                .collect();
            res.push((f[0], f[1]));
        }
        let (fw, _) = res[0];
        let (rw, rmem) = res[1];
        let (bw, bmem) = res[2];
        println!(
            "{:>8} {:>10.2} {:>10.0} {:>10.2} {:>10.0} {:>9.2}x {:>9.1} {:>11.2} {:>12.0} {:>9.1}",
            n,
            fw,
            seconds as f64 / fw,
            rw,
            seconds as f64 / rw,
            rw / fw,
            rmem / 1024.0,
            bw,
            seconds as f64 / bw,
            bmem / 1024.0
        );
    }
}
