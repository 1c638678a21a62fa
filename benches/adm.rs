//! ADM benchmark (issue 10's targets): an ADM master of many moving objects rendered to 7.1.4,
//! and the same motion as a RON scene over mono files, each against its read/write floor, and
//! optionally beside `ear-render` on the same file, in one run.
//!
//! ```sh
//! D=target/bench-data/adm
//! python3 tools/gen_adm_bench.py moving $D                  # needs numpy
//! ear-utils make_test_bwf -i $D/tracks.wav -m $D/meta.yaml $D/master.wav
//! cargo bench --bench adm                  # floor and render, median of --reps (default 5)
//! cargo bench --bench adm -- --ear         # also time ear-render (on PATH) once
//! cargo bench --bench adm -- --master M.wav --layout 9+10+3 --ear   # any master, any layout
//! ```
//!
//! The *floor* is what any render of the input must do: decode the same input block by block
//! (the master's interleaved tracks, or every mono source) and write a 12-channel 32-bit
//! float output of the same length. Each measurement runs in a child process, so its peak
//! memory (VmHWM) is its own; runs of the modes alternate, so a slow spell of a shared
//! machine spreads over all of them. Under `cargo test --all-targets` (no `--bench` flag) it
//! renders the small committed master once as a smoke check.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mixstage::adm::{open_scene, AdmOptions};
use mixstage::io::{open_audio, SampleFormat, WavWriter};
use mixstage::render::{render_to_files, RenderOptions, BLOCK};
use mixstage::scene::{Scene, Source};
use mixstage::Layout;

/// Reads `inputs` block by block (all at the same pace) and writes a `channels`-channel f32
/// file.
fn floor(inputs: &[PathBuf], frames: u64, out: &Path, channels: usize) {
    let mut readers: Vec<_> = inputs.iter().map(|p| open_audio(p).unwrap()).collect();
    let rate = readers[0].info().sample_rate;
    let mut w = WavWriter::create(out, rate, channels, SampleFormat::F32, 0).unwrap();
    let mut buf = Vec::new();
    let mut outbuf = vec![0f32; BLOCK * channels];
    let mut done = 0u64;
    while done < frames {
        let n = (BLOCK as u64).min(frames - done) as usize;
        for r in readers.iter_mut() {
            buf.resize(n * r.info().channels, 0.0);
            let got = mixstage::io::read_frames(r.as_mut(), &mut buf).unwrap();
            // Keep the decoded samples observable so the reads are not optimised away.
            outbuf[0] += buf[..got].iter().sum::<f32>() * 1e-30;
        }
        w.write(&outbuf[..n * channels]).unwrap();
        done += n as u64;
    }
    w.finalize(rate, 0).unwrap();
}

/// The scene of `input` (an ADM master or a RON scene).
fn load(input: &Path) -> Scene {
    if mixstage::adm::is_wav(input) {
        open_scene(input, &AdmOptions::default()).unwrap().0
    } else {
        let text = std::fs::read_to_string(input).unwrap();
        Scene::parse(&text, &input.display().to_string(), input.parent().unwrap()).unwrap()
    }
}

/// The files a floor run of `input` reads: the master, or every object's source file.
fn floor_inputs(input: &Path, scene: &Scene) -> Vec<PathBuf> {
    if let Some(m) = &scene.master {
        return vec![m.clone()];
    }
    let _ = input;
    scene
        .objects
        .iter()
        .filter_map(|o| match &o.source {
            Source::File { path, .. } => Some(scene.resolve_path(path)),
            _ => None,
        })
        .collect()
}

fn child(mode: &str, input: &Path, out: &Path, layout: &str) {
    let start = Instant::now();
    let scene = load(input);
    let layout = Layout::resolve(layout).unwrap();
    if mode == "floor" {
        let frames = mixstage::render::Renderer::new(&scene, &layout, &RenderOptions::default())
            .unwrap()
            .remaining();
        floor(&floor_inputs(input, &scene), frames, out, layout.channels());
    } else {
        let opts = RenderOptions::default();
        render_to_files(
            &scene,
            &layout,
            &opts,
            out,
            SampleFormat::F32,
            false,
            |_, _| {},
        )
        .unwrap();
    }
    let wall = start.elapsed().as_secs_f64();
    println!(
        "{wall:.4} {} {:.2}",
        common::peak_memory_kb(),
        cpu_seconds()
    );
}

/// This process's CPU time so far (user + system), from /proc/self/stat; 0 without /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are the
    // 12th and 13th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

/// Runs one measurement in a child process: (wall seconds, peak KiB, CPU seconds).
fn measure(mode: &str, input: &Path, out: &Path, layout: &str) -> (f64, f64, f64) {
    let o = Command::new(std::env::current_exe().unwrap())
        .args(["--child", mode, "--layout", layout, "--input"])
        .arg(input)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = String::from_utf8_lossy(&o.stdout).to_string();
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    (f[0], f[1], f[2])
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let get = |name: &str| common::arg(&args, name);
    let layout = get("--layout").unwrap_or_else(|| "7.1.4".to_string());
    if let Some(mode) = get("--child") {
        let input = PathBuf::from(get("--input").unwrap());
        let out = PathBuf::from(get("--out").unwrap());
        child(&mode, &input, &out, &layout);
        return;
    }
    let benching = args.iter().any(|a| a == "--bench");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = get("--dir")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::data_dir().join("adm"));
    let (inputs, reps): (Vec<PathBuf>, usize) = if let Some(m) = get("--master") {
        let reps = get("--reps").map(|r| r.parse().unwrap()).unwrap_or(5);
        (vec![PathBuf::from(m)], reps)
    } else if benching {
        let master = dir.join("master.wav");
        if !master.exists() {
            eprintln!(
                "adm benchmark: {} is missing; make the inputs first:\n  python3 tools/gen_adm_bench.py moving {d}\n  ear-utils make_test_bwf -i {d}/tracks.wav -m {d}/meta.yaml {d}/master.wav",
                master.display(),
                d = dir.display()
            );
            std::process::exit(2);
        }
        let reps = get("--reps").map(|r| r.parse().unwrap()).unwrap_or(5);
        (vec![master, dir.join("scene.ron")], reps)
    } else {
        (vec![root.join("tests/data/adm/own/dialogue_music.wav")], 1)
    };
    let out_dir = common::data_dir();
    let channels = Layout::resolve(&layout).unwrap().channels();
    println!(
        "adm benchmark: onto {layout} ({channels} ch, f32), {} threads, median of {reps}",
        rayon::current_num_threads()
    );
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "input", "floor s", "render s", "vs floor", "RTF", "peak MB", "floor CPU", "render CPU"
    );
    for input in &inputs {
        let out = out_dir.join("adm-bench-out.wav");
        let scene = load(input);
        let seconds = mixstage::render::Renderer::new(
            &scene,
            &Layout::resolve(&layout).unwrap(),
            &RenderOptions::default(),
        )
        .unwrap()
        .remaining() as f64
            / scene.sample_rate as f64;
        let (mut fl, mut re, mut mem) = (Vec::new(), Vec::new(), 0f64);
        let (mut fcpu, mut rcpu) = (Vec::new(), Vec::new());
        for _ in 0..reps {
            let (w, _, c) = measure("floor", input, &out, &layout);
            fl.push(w);
            fcpu.push(c);
            let (w, m, c) = measure("render", input, &out, &layout);
            re.push(w);
            rcpu.push(c);
            mem = mem.max(m);
        }
        let _ = std::fs::remove_file(&out);
        let (f, r) = (median(fl), median(re));
        println!(
            "{:<12} {:>9.3} {:>9.3} {:>8.2}x {:>8.0}x {:>9.1} {:>9.2}s {:>9.2}s",
            input.file_name().unwrap().to_string_lossy(),
            f,
            r,
            r / f,
            seconds / r,
            mem / 1024.0,
            median(fcpu),
            median(rcpu)
        );
        if args.iter().any(|a| a == "--ear") && mixstage::adm::is_wav(input) {
            let ear_out = out_dir.join("adm-bench-ear.wav");
            let t = Instant::now();
            let ear_layout = if layout == "7.1.4" {
                "4+7+0"
            } else {
                layout.as_str()
            };
            let st = Command::new("ear-render")
                .args(["-s", ear_layout])
                .arg(input)
                .arg(&ear_out)
                .status();
            let e = t.elapsed().as_secs_f64();
            let _ = std::fs::remove_file(&ear_out);
            match st {
                Ok(s) if s.success() => println!(
                    "{:<12} ear-render -s {ear_layout}: {e:.2} s; mixstage is {:.0}x faster",
                    "",
                    e / r
                ),
                _ => println!("{:<12} ear-render failed or is not on PATH", ""),
            }
        }
    }
}
