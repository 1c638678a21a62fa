//! End-to-end tests of scenes and the streaming renderer.
#![allow(clippy::needless_range_loop)] // index loops read clearest for per-channel, per-frame checks

use std::path::Path;
use std::process::Command;

use mixstage::io::{read_all, write_all, SampleFormat};
use mixstage::render::{GroupFilter, RenderOptions, Renderer};
use mixstage::scene::Scene;
use mixstage::{Layout, Panner};

fn render(
    scene: &Scene,
    layout: &str,
    opts: &RenderOptions,
) -> (Vec<Vec<f32>>, Vec<Vec<Vec<f32>>>) {
    let layout = Layout::resolve(layout).unwrap();
    let mut r = Renderer::new(scene, &layout, opts).unwrap();
    let ch = layout.channels();
    let mut mix = vec![Vec::new(); ch];
    let mut stems = vec![vec![Vec::new(); ch]; r.groups().len()];
    while r.next_block().unwrap() > 0 {
        for c in 0..ch {
            mix[c].extend_from_slice(&r.mix()[c]);
            for (g, s) in stems.iter_mut().enumerate() {
                s[c].extend_from_slice(&r.stem(g)[c]);
            }
        }
    }
    (mix, stems)
}

fn scene(text: &str, dir: &Path) -> Scene {
    Scene::parse(text, "test.ron", dir).unwrap()
}

fn demo() -> Scene {
    Scene::load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenes/demo.ron"
    )))
    .unwrap()
}

#[test]
fn identical_output_for_any_thread_count() {
    let s = demo();
    let opts = RenderOptions::default();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let many = rayon::ThreadPoolBuilder::new()
        .num_threads(5)
        .build()
        .unwrap();
    let (a, _) = one.install(|| render(&s, "7.1.4", &opts));
    let (b, _) = many.install(|| render(&s, "7.1.4", &opts));
    assert_eq!(a.len(), 12);
    let bits = |v: &Vec<Vec<f32>>| v.iter().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&a), bits(&b));
    assert!(
        a.iter().flatten().any(|x| x.abs() > 0.01),
        "the demo is not silent"
    );
}

#[test]
fn stems_sum_to_the_full_mix_and_group_filters_select() {
    let s = demo();
    let (mix, stems) = render(&s, "5.1", &RenderOptions::default());
    assert_eq!(stems.len(), 4); // dialogue, effects, music, ambience
    let mut worst = 0f32;
    for c in 0..mix.len() {
        for i in 0..mix[c].len() {
            let sum: f32 = stems.iter().map(|st| st[c][i]).sum();
            worst = worst.max((sum - mix[c][i]).abs());
        }
    }
    assert!(worst < 1e-6, "stems differ from the mix by {worst}");
    // An M&E (everything but dialogue) equals the mix minus the dialogue stem.
    let groups = s.groups();
    let d = groups.iter().position(|g| g == "dialogue").unwrap();
    let me = RenderOptions {
        groups: GroupFilter::Without(vec!["dialogue".into()]),
        ..Default::default()
    };
    let (me_mix, _) = render(&s, "5.1", &me);
    let only = RenderOptions {
        groups: GroupFilter::Only(vec!["dialogue".into()]),
        ..Default::default()
    };
    let (dx, _) = render(&s, "5.1", &only);
    for c in 0..mix.len() {
        for i in (0..mix[c].len()).step_by(7) {
            assert!((me_mix[c][i] + stems[d][c][i] - mix[c][i]).abs() < 1e-6);
            assert_eq!(dx[c][i], stems[d][c][i]);
        }
    }
    let bad = RenderOptions {
        groups: GroupFilter::Only(vec!["dialog".into()]),
        ..Default::default()
    };
    let e = Renderer::new(&s, &Layout::resolve("5.1").unwrap(), &bad)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("'dialog'") && e.contains("dialogue"), "{e}");
}

#[test]
fn a_static_object_on_a_speaker_plays_from_it_alone_at_its_level() {
    let dir = tempfile::tempdir().unwrap();
    let s = scene(
        "Scene(sample_rate: 48000, duration: 0.5, objects: [Object(name: \"a\", gain_db: -6.0, source: Generator(Sine(freq: 997.0, level_db: 0.0)), position: [(time: 0.0, az: -135.0, el: 30.0)])])",
        dir.path(),
    );
    let (mix, _) = render(&s, "7.1.4", &RenderOptions::default());
    let l = Layout::resolve("7.1.4").unwrap();
    let target = l.channel_index("U-135").unwrap();
    for (c, ch) in mix.iter().enumerate() {
        let peak = ch.iter().fold(0f32, |m, x| m.max(x.abs()));
        if c == target {
            assert!((peak - 0.501187).abs() < 1e-3, "peak {peak}");
        } else {
            assert_eq!(peak, 0.0, "channel {c}");
        }
    }
}

#[test]
fn beds_route_by_label_and_pan_missing_speakers() {
    let dir = tempfile::tempdir().unwrap();
    // A 5.1 bed file: a different sine per channel.
    let n = 4800;
    let freqs = [100.0, 200.0, 300.0, 40.0, 500.0, 600.0];
    let chans: Vec<Vec<f32>> = freqs
        .iter()
        .map(|f| {
            (0..n)
                .map(|i| {
                    (0.25 * (2.0 * std::f64::consts::PI * f * i as f64 / 48000.0).sin()) as f32
                })
                .collect()
        })
        .collect();
    write_all(
        &dir.path().join("bed51.wav"),
        48000,
        &chans,
        SampleFormat::F32,
        0x3F,
    )
    .unwrap();
    let s = scene(
        "Scene(sample_rate: 48000, beds: [Bed(name: \"m\", source: File(path: \"bed51.wav\"), layout: \"5.1\")])",
        dir.path(),
    );
    let (mix, _) = render(&s, "7.1.4", &RenderOptions::default());
    let out = Layout::resolve("7.1.4").unwrap();
    assert_eq!(mix[0].len(), n, "duration defaults to the longest file");
    // L, R, C and LFE go straight through, bit for bit.
    for (i, label) in ["M+030", "M-030", "M+000", "LFE1"].iter().enumerate() {
        assert_eq!(mix[out.channel_index(label).unwrap()], chans[i], "{label}");
    }
    // M+110 does not exist in 7.1.4: panned between M+090 and M+135 by VBAP.
    let g = Panner::new(&out).unwrap().gains_polar(110.0, 0.0);
    for label in ["M+090", "M+135"] {
        let c = out.channel_index(label).unwrap();
        assert!(g[c] > 0.1);
        for i in 0..n {
            assert!((mix[c][i] - (g[c] as f32) * chans[4][i]).abs() < 1e-6);
        }
    }
    for label in ["U+045", "U-045", "U+135", "U-135"] {
        assert!(mix[out.channel_index(label).unwrap()]
            .iter()
            .all(|x| *x == 0.0));
    }
}

/// Largest sample-to-sample difference of a signal.
fn max_step(x: &[f32]) -> f32 {
    x.windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

/// Energy more than `guard` Hz away from `f`, relative to the total, in dB (Blackman-Harris window).
fn spray_db(x: &[f32], f: f64, guard: f64, rate: f64) -> f64 {
    use rustfft::{num_complex::Complex, FftPlanner};
    let n = x.len();
    let w = |i: usize| {
        let t = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
        0.35875 - 0.48829 * t.cos() + 0.14128 * (2.0 * t).cos() - 0.01168 * (3.0 * t).cos()
    };
    let mut buf: Vec<Complex<f64>> = x
        .iter()
        .enumerate()
        .map(|(i, v)| Complex::new(*v as f64 * w(i), 0.0))
        .collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    let (mut total, mut out) = (0.0, 0.0);
    for (k, c) in buf.iter().take(n / 2).enumerate() {
        let p = c.norm_sqr();
        total += p;
        if ((k as f64 * rate / n as f64) - f).abs() > guard {
            out += p;
        }
    }
    10.0 * (out / total).log10()
}

#[test]
fn fast_movement_makes_no_zipper_noise() {
    let dir = tempfile::tempdir().unwrap();
    // A 1 kHz sine circling the room once a second, then rising over the top.
    let s = scene(
        "Scene(sample_rate: 48000, duration: 2.0, objects: [Object(name: \"fly\", source: Generator(Sine(freq: 1000.0, level_db: -6.0)),
          position: [(time: 0.0, az: 0.0, el: 0.0), (time: 0.5, az: 180.0, el: 0.0), (time: 1.0, az: 0.0, el: 0.0), (time: 2.0, az: 0.0, el: 90.0)])])",
        dir.path(),
    );
    let layout = Layout::resolve("7.1.4").unwrap();
    let (mix, _) = render(&s, "7.1.4", &RenderOptions::default());
    let amp = 0.501187f32;
    let sine =
        |i: usize| amp * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 48000.0).sin() as f32;
    let sine_step = amp * (2.0 * std::f32::consts::PI * 1000.0 / 48000.0);
    // The ideal: the panner's gains evaluated at every single sample.
    let panner = Panner::new(&layout).unwrap();
    let keys = &s.objects[0].position;
    let n = mix[0].len();
    let mut ideal = vec![vec![0f32; n]; mix.len()];
    for i in 0..n {
        let g = panner.gains(mixstage::scene::position_at(keys, i as f64 / 48000.0));
        for c in 0..mix.len() {
            ideal[c][i] = sine(i) * g[c] as f32;
        }
    }
    let power = |x: &[f32]| x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
    let mut active = 0;
    for c in 0..mix.len() {
        // No click: the sine alone moves by at most `sine_step` per sample; gain motion adds < 0.2% of it.
        assert!(
            max_step(&mix[c]) <= sine_step * 1.002,
            "step {} vs sine {}",
            max_step(&mix[c]),
            sine_step
        );
        if power(&ideal[c]) < 1.0 {
            continue;
        }
        active += 1;
        // Block-wise interpolation stays within -50 dB of per-sample panning...
        let err: Vec<f32> = mix[c].iter().zip(&ideal[c]).map(|(a, b)| a - b).collect();
        let err_db = 10.0 * (power(&err) / power(&ideal[c])).log10();
        assert!(
            err_db < -50.0,
            "{}: interpolation error {err_db} dB",
            layout.speakers[c].label
        );
        // ...and adds no spectral spray: energy beyond +/-250 Hz of the tone is no higher than
        // what the movement itself makes (per-sample panning) plus 1 dB, and below -40 dB.
        let spray = spray_db(&mix[c], 1000.0, 250.0, 48000.0);
        let own = spray_db(&ideal[c], 1000.0, 250.0, 48000.0);
        assert!(
            spray < own + 1.0 && spray < -40.0,
            "{}: spray {spray} dB, movement's own {own} dB",
            layout.speakers[c].label
        );
    }
    assert!(
        active >= 6,
        "the object should cross many speakers ({active})"
    );

    // The same movement with gains held for each 1024-frame block (per-block panning, the
    // classic zipper) fails these checks: the test can tell a zipper from a smooth pan.
    let mut caught = 0;
    for c in 0..mix.len() {
        if power(&ideal[c]) < 1.0 {
            continue;
        }
        let held: Vec<f32> = (0..n)
            .map(|i| {
                let g = panner.gains(mixstage::scene::position_at(
                    keys,
                    (i / 1024 * 1024) as f64 / 48000.0,
                ));
                sine(i) * g[c] as f32
            })
            .collect();
        let err: Vec<f32> = held.iter().zip(&ideal[c]).map(|(a, b)| a - b).collect();
        let err_db = 10.0 * (power(&err) / power(&ideal[c])).log10();
        let spray = spray_db(&held, 1000.0, 250.0, 48000.0);
        let own = spray_db(&ideal[c], 1000.0, 250.0, 48000.0);
        if max_step(&held) > sine_step * 1.002 || err_db > -50.0 || spray > own + 1.0 {
            caught += 1;
        }
    }
    assert_eq!(
        caught, active,
        "every active channel of the zipper version fails a check"
    );
}

#[test]
fn partial_render_matches_the_full_render() {
    let s = demo();
    let (full, _) = render(&s, "5.1", &RenderOptions::default());
    let opts = RenderOptions {
        start: 2.0,
        end: Some(3.0),
        ..Default::default()
    };
    let (part, _) = render(&s, "5.1", &opts);
    assert_eq!(part[0].len(), 48000);
    // Sources run from the scene's start, so the signals agree; only the gain-interpolation
    // grid shifts (2 s = 93.75 blocks), which changes gains by far less than -60 dB.
    for c in 0..full.len() {
        for i in 0..48000 {
            assert!(
                (part[c][i] - full[c][96000 + i]).abs() < 1e-3,
                "ch {c} frame {i}"
            );
        }
    }
}

#[test]
fn file_objects_read_the_chosen_channel_and_lfe_sends_are_low_passed() {
    let dir = tempfile::tempdir().unwrap();
    let n = 48000;
    let tone = |f: f64| -> Vec<f32> {
        (0..n)
            .map(|i| (0.5 * (2.0 * std::f64::consts::PI * f * i as f64 / 48000.0).sin()) as f32)
            .collect()
    };
    write_all(
        &dir.path().join("two.wav"),
        48000,
        &[tone(50.0), tone(5000.0)],
        SampleFormat::S24,
        0,
    )
    .unwrap();
    let s = scene(
        "Scene(sample_rate: 48000, objects: [
           Object(name: \"lo\", source: File(path: \"two.wav\", channel: 0), position: [(time: 0.0, az: 30.0)], lfe_send_db: 0.0),
           Object(name: \"hi\", source: File(path: \"two.wav\", channel: 1), position: [(time: 0.0, az: -30.0)], lfe_send_db: 0.0)])",
        dir.path(),
    );
    let (mix, _) = render(&s, "5.1", &RenderOptions::default());
    let rms =
        |x: &[f32]| (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    // L carries the 50 Hz channel, R the 5 kHz channel (24-bit file: within 1e-6).
    assert!((rms(&mix[0]) - 0.5 / 2f64.sqrt()).abs() < 1e-4);
    assert!((rms(&mix[1]) - 0.5 / 2f64.sqrt()).abs() < 1e-4);
    // The LFE gets the 50 Hz tone (about -0.1 dB through the 120 Hz LR4 low-pass)
    // and not the 5 kHz one (more than 60 dB down).
    let lfe = rms(&mix[3][4800..]);
    assert!(
        (20.0 * (lfe / (0.5 / 2f64.sqrt())).log10()).abs() < 0.5,
        "LFE {lfe}"
    );
    let s_hi = scene(
        "Scene(sample_rate: 48000, objects: [Object(name: \"hi\", source: File(path: \"two.wav\", channel: 1), position: [(time: 0.0, az: -30.0)], lfe_send_db: 0.0)])",
        dir.path(),
    );
    let (hi, _) = render(&s_hi, "5.1", &RenderOptions::default());
    assert!(20.0 * (rms(&hi[3][4800..]) / 0.3535).log10() < -60.0);
}

// ---- The command line: errors, exit codes, nothing written ----

fn mixstage() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mixstage"))
}

#[test]
fn bad_inputs_fail_cleanly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.wav");
    std::fs::write(&out, b"keep me").unwrap();
    write_all(
        &d.join("st44.wav"),
        44100,
        &[vec![0.1; 100], vec![0.1; 100]],
        SampleFormat::S16,
        0,
    )
    .unwrap();
    write_all(
        &d.join("st48.wav"),
        48000,
        &[vec![0.1; 100], vec![0.1; 100]],
        SampleFormat::S16,
        0,
    )
    .unwrap();
    std::fs::write(
        d.join("trunc.wav"),
        &std::fs::read(d.join("st48.wav")).unwrap()[..200],
    )
    .unwrap();
    write_all(
        &d.join("nan.wav"),
        48000,
        &[vec![0.1, 0.2, f32::NAN, 0.0]],
        SampleFormat::F32,
        0,
    )
    .unwrap();
    let obj = |src: &str| {
        format!("Scene(sample_rate: 48000, objects: [Object(name: \"a\", source: {src}, position: [(time: 0.0, az: 0.0)])])")
    };
    let cases: Vec<(String, &str)> = vec![
        (obj("File(path: \"missing.wav\")"), "missing.wav"),
        (obj("File(path: \"st44.wav\", channel: 0)"), "44100 Hz"),
        (obj("File(path: \"st48.wav\")"), "channel: N"),
        (obj("File(path: \"st48.wav\", channel: 2)"), "channel 2"),
        (obj("File(path: \"trunc.wav\", channel: 0)"), "truncated"),
        (obj("Generator(Sine(freq: 440.0))"), "duration"),
        (obj("File(path: \"nan.wav\")"), "frame 2"),
        (obj("Generator(Sine(freq: 30000.0))"), "Nyquist"),
        ("Scene(sample_rate: 48000, duration: 1.0, master_gain_db: 1e30)".into(), "at most +24"),
        ("Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"a\", source: Generator(Silence), gain: [(time: 0.0, db: 1000.0)], position: [(time: 0.0, az: 0.0)])])".into(), "gain[0].db"),
        ("Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"a\", group: \"a/b\", source: Generator(Silence), position: [(time: 0.0, az: 0.0)])])".into(), "group"),
        ("Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"a\", source: Generator(Silence), position: [(time: 0.0, x: 1.0, y: 0.0, z: 0.0, long_way: true)])])".into(), "long_way"),
        ("Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"a\", mute: true, source: Generator(Silence), position: [(time: 0.0, az: 0.0)])])".into(), "nothing to render"),
        ("Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"a\", source: Generator(Silence), position: [(time: 0.0, az: inf)])])".into(), "az"),
        ("Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"a\", source: Generator(Silence), position: [(time: 2.0, az: 0.0), (time: 1.0, az: 5.0)])])".into(), "out of order"),
        ("Scene(sample_rate: 48000, duraton: 1.0)".into(), "duraton"),
        ("Scene(sample_rate: 48000, duration: 1.0, beds: [Bed(name: \"b\", source: File(path: \"st48.wav\"), layout: \"5.1\")])".into(), "2 channels"),
        ("Scene(sample_rate: 48000, duration: 1.0, beds: [Bed(name: \"b\", source: Generator(Silence), layout: \"5.2\")])".into(), "unknown layout"),
        ("".into(), "test.ron"),
    ];
    for (text, expect) in cases {
        let scene = d.join("test.ron");
        std::fs::write(&scene, &text).unwrap();
        let o = mixstage()
            .args([
                "render",
                scene.to_str().unwrap(),
                "--layout",
                "5.1",
                "-o",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{text}: {err}");
        assert!(err.contains(expect), "expected '{expect}' in: {err}");
        assert_eq!(std::fs::read(&out).unwrap(), b"keep me", "{text}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
    // An unknown output layout is a clear error too.
    let o = mixstage()
        .args([
            "render",
            "scenes/demo.ron",
            "--layout",
            "7.2.4",
            "-o",
            out.to_str().unwrap(),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("7.1.4"));
}

#[test]
fn cli_renders_stems_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mix.wav");
    let o = mixstage()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "render",
            "scenes/demo.ron",
            "--layout",
            "5.1",
            "-o",
            out.to_str().unwrap(),
            "--stems",
            "--end",
            "3",
            "--format",
            "s24",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["duration_s"], 3.0);
    assert_eq!(v["files"].as_array().unwrap().len(), 5);
    let (info, mix) = read_all(&out).unwrap();
    assert_eq!(info.channels, 6);
    assert_eq!(info.channel_mask, Some(0x3F));
    assert_eq!(mix[0].len(), 144000);
    assert!(
        dir.path().join("mix.dialogue.wav").exists()
            && dir.path().join("mix.ambience.wav").exists()
    );
    // 7.1 in film order has no true WAVE channel mask: none is written.
    let out71 = dir.path().join("m71.wav");
    let o = mixstage()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "render",
            "scenes/cartesian.ron",
            "--layout",
            "7.1",
            "-o",
            out71.to_str().unwrap(),
            "-q",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(read_all(&out71).unwrap().0.channel_mask, None);
}

#[test]
fn binaural_render_puts_a_left_source_in_the_left_ear_and_is_thread_independent() {
    use mixstage::binaural::Hrtf;
    use mixstage::render::{binaural_virtual_layout, render_binaural_to_file};
    let dir = tempfile::tempdir().unwrap();
    let hrtf = Hrtf::builtin(48000).unwrap();
    let rms =
        |x: &[f32]| (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    let mut ears = Vec::new();
    for az in [90.0, -90.0, 0.0, 52.5] {
        let s = scene(
            &format!("Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"n\", source: Generator(PinkNoise(level_db: -20.0)), position: [(time: 0.0, az: {az:.1})])])"),
            dir.path(),
        );
        let out = dir.path().join("p.wav");
        // Dry (Near): the room of Mid and Far adds reflections to the far ear.
        let near = RenderOptions {
            binaural_mode: mixstage::binaural::room::Mode::Near,
            ..Default::default()
        };
        render_binaural_to_file(&s, &near, &hrtf, &out, SampleFormat::F32, |_, _| {}).unwrap();
        let (info, ch) = read_all(&out).unwrap();
        assert_eq!(
            (info.channels, info.channel_mask, ch[0].len()),
            (2, Some(3), 48000)
        );
        ears.push(20.0 * (rms(&ch[0]) / rms(&ch[1])).log10());
    }
    assert!(
        ears[0] > 6.0,
        "left source: left ear {} dB above the right",
        ears[0]
    );
    assert!(ears[1] < -6.0, "right source: {}", ears[1]);
    assert!((ears[0] + ears[1]).abs() < 0.5, "mirror images: {ears:?}");
    assert!(ears[2].abs() < 0.5, "front source: {}", ears[2]);
    // Between two virtual speakers the image is still to the left.
    assert!(ears[3] > 3.0, "{ears:?}");
    // 55 virtual speakers plus an LFE; every direction on the KEMAR grid.
    let l = binaural_virtual_layout();
    assert_eq!(l.channels(), 56);
    let r = mixstage::binaural::BinauralRenderer::new(&l, &hrtf, 48000, 4096).unwrap();
    assert!(
        r.channel_info().iter().all(|c| c.error_deg < 1e-6),
        "on the measurement grid"
    );

    let s = demo();
    let bits = |threads: usize| {
        let out = dir.path().join(format!("t{threads}.wav"));
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| {
                render_binaural_to_file(
                    &s,
                    &RenderOptions::default(),
                    &hrtf,
                    &out,
                    SampleFormat::F32,
                    |_, _| {},
                )
                .unwrap()
            });
        // The bytes, but for the bext chunk's origination date and time (the clock moves
        // between the two renders).
        let mut b = std::fs::read(&out).unwrap();
        let at = b.windows(4).position(|w| w == b"bext").unwrap() + 8 + 320;
        b[at..at + 18].fill(0);
        b
    };
    assert_eq!(bits(1), bits(3));
}

#[test]
fn outputs_never_replace_inputs_folders_or_devices() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_all(
        &d.join("src.wav"),
        48000,
        &[vec![0.1; 4800]],
        SampleFormat::F32,
        0,
    )
    .unwrap();
    let scene = d.join("s.ron");
    std::fs::write(
        &scene,
        "Scene(sample_rate: 48000, objects: [Object(name: \"a\", source: File(path: \"src.wav\"), position: [(time: 0.0, az: 0.0)])])",
    )
    .unwrap();
    let before = (
        std::fs::read(&scene).unwrap(),
        std::fs::read(d.join("src.wav")).unwrap(),
    );
    std::fs::create_dir(d.join("folder.wav")).unwrap();
    for (out, expect) in [
        (scene.clone(), "the scene file"),
        (d.join("src.wav"), "src.wav"),
        (d.join("folder.wav"), "not a regular file"),
        (d.join("missing/out.wav"), "does not exist"),
    ] {
        for extra in [&[][..], &["--binaural"][..]] {
            let mut args = vec![
                "render",
                scene.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ];
            if extra.is_empty() {
                args.extend(["--layout", "stereo"]);
            } else {
                args.extend(extra);
            }
            let o = mixstage().args(&args).output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
            assert!(err.contains(expect), "expected '{expect}' in: {err}");
        }
    }
    assert_eq!(
        before,
        (
            std::fs::read(&scene).unwrap(),
            std::fs::read(d.join("src.wav")).unwrap()
        )
    );
    assert!(d.join("folder.wav").is_dir());
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    // A stem that would land on a folder stops the render before anything is written.
    std::fs::create_dir(d.join("mix.ungrouped.wav")).unwrap();
    let o = mixstage()
        .args([
            "render",
            scene.to_str().unwrap(),
            "--layout",
            "stereo",
            "-o",
            d.join("mix.wav").to_str().unwrap(),
            "--stems",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(!d.join("mix.wav").exists());
}

#[test]
fn a_binaural_time_range_sounds_as_in_the_full_render() {
    use mixstage::binaural::Hrtf;
    use mixstage::render::render_binaural_to_file;
    let dir = tempfile::tempdir().unwrap();
    let hrtf = Hrtf::builtin(48000).unwrap();
    let s = demo();
    let full = dir.path().join("full.wav");
    let part = dir.path().join("part.wav");
    render_binaural_to_file(
        &s,
        &RenderOptions::default(),
        &hrtf,
        &full,
        SampleFormat::F32,
        |_, _| {},
    )
    .unwrap();
    let opts = RenderOptions {
        start: 3.5,
        end: Some(4.5),
        ..Default::default()
    };
    render_binaural_to_file(&s, &opts, &hrtf, &part, SampleFormat::F32, |_, _| {}).unwrap();
    let (_, f) = read_all(&full).unwrap();
    let (_, p) = read_all(&part).unwrap();
    assert_eq!(p[0].len(), 48000);
    let off = 168000;
    for c in 0..2 {
        let worst = (0..48000)
            .map(|i| (p[c][i] - f[c][off + i]).abs())
            .fold(0f32, f32::max);
        // Only the speaker gains' interpolation grid shifts with the range (as for speaker renders).
        assert!(worst < 1e-3, "ear {c}: {worst}");
    }
}

#[test]
fn an_interrupted_render_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("long.ron");
    std::fs::write(
        &scene,
        "Scene(sample_rate: 48000, duration: 3000.0, objects: [Object(name: \"a\", source: Generator(PinkNoise()), position: [(time: 0.0, az: 0.0), (time: 3000.0, az: 170.0)])])",
    )
    .unwrap();
    let out = dir.path().join("long.wav");
    let child = mixstage()
        .args([
            "render",
            scene.to_str().unwrap(),
            "--layout",
            "22.2",
            "-o",
            out.to_str().unwrap(),
            "-q",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the temporary output exists, then interrupt.
    let started = std::time::Instant::now();
    while std::fs::read_dir(dir.path()).unwrap().count() < 2 && started.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["long.ron".to_string()]);
}
