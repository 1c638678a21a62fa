//! The QC meter on the EBU Tech 3341 and Tech 3342 minimum-requirements cases, generated here
//! (1 kHz sine levels, gating, multichannel weighting, momentary / short-term maxima, true
//! peak, loudness range), plus mono fold-down phase checks and thread-count independence.

use std::f64::consts::PI;

use mixstage::qc::report::Report;
use mixstage::qc::system::System;
use mixstage::qc::{Analyzer, QcOptions};
use mixstage::Layout;

const RATE: u32 = 48000;

/// Planar channels -> report, pushed in blocks of an odd size to exercise streaming.
fn measure_systems(rate: u32, chans: &[Vec<f32>], systems: Vec<System>) -> Report {
    let n = chans.len();
    let frames = chans[0].len();
    let mut a = Analyzer::new(rate, n, systems, QcOptions::default()).unwrap();
    let block = 1237;
    let mut buf = Vec::with_capacity(block * n);
    for start in (0..frames).step_by(block) {
        buf.clear();
        for f in start..(start + block).min(frames) {
            for c in chans {
                buf.push(c[f]);
            }
        }
        a.push(&buf).unwrap();
    }
    a.finish()
}

fn measure(layout: &str, rate: u32, chans: &[Vec<f32>]) -> Report {
    measure_systems(
        rate,
        chans,
        vec![System::own(&Layout::resolve(layout).unwrap())],
    )
}

/// A 1 kHz sine through a list of (seconds, peak dBFS or None for silence) segments.
fn tones(rate: u32, segments: &[(f64, Option<f64>)]) -> Vec<f32> {
    let mut out = Vec::new();
    for &(secs, level) in segments {
        let n = (secs * rate as f64).round() as usize;
        let start = out.len();
        for k in 0..n {
            let amp = level.map_or(0.0, |l| 10f64.powf(l / 20.0));
            out.push((amp * (2.0 * PI * 1000.0 * (start + k) as f64 / rate as f64).sin()) as f32);
        }
    }
    out
}

fn stereo(x: Vec<f32>) -> Vec<Vec<f32>> {
    vec![x.clone(), x]
}

fn close(got: Option<f64>, want: f64, tol: f64, what: &str) {
    let g = got.unwrap_or_else(|| panic!("{what}: no value"));
    assert!((g - want).abs() <= tol, "{what}: {g} vs {want} +- {tol}");
}

#[test]
fn tech3341_cases_1_and_2_sine_levels() {
    for (level, rate) in [
        (-23.0, 48000),
        (-33.0, 48000),
        (-23.0, 44100),
        (-23.0, 96000),
        (-23.0, 32000),
    ] {
        let r = measure("stereo", rate, &stereo(tones(rate, &[(20.0, Some(level))])));
        let s = &r.systems[0];
        close(
            s.integrated_lufs,
            level,
            0.1,
            &format!("I at {level} dBFS, {rate} Hz"),
        );
        close(s.max_momentary_lufs, level, 0.1, "M");
        close(s.max_short_term_lufs, level, 0.1, "S");
        // A constant tone: the loudness range is zero.
        close(s.loudness_range_lu, 0.0, 0.1, "LRA");
    }
}

#[test]
fn tech3341_cases_3_to_5_gating() {
    let cases: [&[(f64, Option<f64>)]; 3] = [
        &[
            (10.0, Some(-36.0)),
            (60.0, Some(-23.0)),
            (10.0, Some(-36.0)),
        ],
        &[
            (10.0, Some(-72.0)),
            (10.0, Some(-36.0)),
            (60.0, Some(-23.0)),
            (10.0, Some(-36.0)),
            (10.0, Some(-72.0)),
        ],
        &[
            (20.0, Some(-26.0)),
            (20.1, Some(-20.0)),
            (20.0, Some(-26.0)),
        ],
    ];
    for (i, segs) in cases.iter().enumerate() {
        let r = measure("stereo", RATE, &stereo(tones(RATE, segs)));
        close(
            r.systems[0].integrated_lufs,
            -23.0,
            0.1,
            &format!("case {}", i + 3),
        );
    }
}

#[test]
fn tech3341_case_6_multichannel_weighting() {
    // 5.0 in a 5.1 file (silent LFE): L, R -28 dBFS, C -24, Ls, Rs -30 (surrounds weigh 1.41).
    let t = |l| tones(RATE, &[(20.0, Some(l))]);
    let silent = vec![0f32; t(-28.0).len()];
    let r = measure(
        "5.1",
        RATE,
        &[t(-28.0), t(-28.0), t(-24.0), silent, t(-30.0), t(-30.0)],
    );
    close(r.systems[0].integrated_lufs, -23.0, 0.1, "case 6");
    // A loud LFE must not count.
    let r = measure(
        "5.1",
        RATE,
        &[t(-28.0), t(-28.0), t(-24.0), t(-6.0), t(-30.0), t(-30.0)],
    );
    close(r.systems[0].integrated_lufs, -23.0, 0.1, "case 6 with LFE");
}

#[test]
fn tech3341_case_9_short_term_constant() {
    let seg: Vec<(f64, Option<f64>)> = (0..5)
        .flat_map(|_| [(1.34, Some(-20.0)), (1.66, Some(-30.0))])
        .collect();
    let r = measure("stereo", RATE, &stereo(tones(RATE, &seg)));
    let s = &r.systems[0];
    assert!(!s.short_term.is_empty());
    for (j, v) in s.short_term.iter().enumerate() {
        assert!((v + 23.0).abs() <= 0.1, "short-term value {j}: {v}");
    }
}

#[test]
fn tech3341_case_10_max_short_term_any_start() {
    for i in 0..20 {
        let segs = [(i as f64 * 0.15, None), (3.0, Some(-23.0)), (1.0, None)];
        let r = measure("stereo", RATE, &stereo(tones(RATE, &segs)));
        close(
            r.systems[0].max_short_term_lufs,
            -23.0,
            0.1,
            &format!("segment {i}"),
        );
    }
}

#[test]
fn tech3341_case_12_momentary_constant() {
    let seg: Vec<(f64, Option<f64>)> = (0..25)
        .flat_map(|_| [(0.18, Some(-20.0)), (0.22, Some(-30.0))])
        .collect();
    let r = measure("stereo", RATE, &stereo(tones(RATE, &seg)));
    let s = &r.systems[0];
    // Value j ends at 0.4 + 0.1 j s: from 1 s on (j >= 6) it is constant.
    for (j, v) in s.momentary.iter().enumerate().skip(6) {
        assert!((v + 23.0).abs() <= 0.1, "momentary value {j}: {v}");
    }
}

#[test]
fn tech3341_case_13_max_momentary_any_start() {
    for i in 0..20 {
        let segs = [(i as f64 * 0.02, None), (0.4, Some(-23.0)), (1.0, None)];
        let r = measure("stereo", RATE, &stereo(tones(RATE, &segs)));
        close(
            r.systems[0].max_momentary_lufs,
            -23.0,
            0.1,
            &format!("segment {i}"),
        );
    }
}

/// A stereo sine at `freq` (Hz) with amplitude `amp` and start phase (degrees), 10 ms fades.
fn tp_sine(freq: f64, amp: f64, phase_deg: f64) -> Vec<f32> {
    let n = RATE as usize; // 1 s
    let fade = (0.010 * RATE as f64) as usize;
    (0..n)
        .map(|k| {
            let g = (k.min(n - 1 - k) as f64 / fade as f64).min(1.0);
            (g * amp * (2.0 * PI * freq * k as f64 / RATE as f64 + phase_deg.to_radians()).sin())
                as f32
        })
        .collect()
}

fn true_peak(x: Vec<f32>) -> f64 {
    measure("stereo", RATE, &stereo(x)).systems[0]
        .true_peak_dbtp
        .unwrap()
}

fn within_tp_tolerance(got: f64, want: f64, what: &str) {
    assert!(
        got <= want + 0.2 && got >= want - 0.4,
        "{what}: {got} dBTP vs {want} +0.2/-0.4"
    );
}

#[test]
fn tech3341_cases_15_to_19_true_peak_sines() {
    let fs = RATE as f64;
    within_tp_tolerance(true_peak(tp_sine(fs / 4.0, 0.5, 0.0)), -6.0, "case 15");
    within_tp_tolerance(true_peak(tp_sine(fs / 4.0, 0.5, 45.0)), -6.0, "case 16");
    within_tp_tolerance(true_peak(tp_sine(fs / 6.0, 0.5, 60.0)), -6.0, "case 17");
    within_tp_tolerance(true_peak(tp_sine(fs / 8.0, 0.5, 67.5)), -6.0, "case 18");
    within_tp_tolerance(true_peak(tp_sine(fs / 4.0, 1.41, 45.0)), 3.0, "case 19");
    // The sample peak of case 16 is 3 dB lower: a sample meter would fail.
    let s = measure("stereo", RATE, &stereo(tp_sine(fs / 4.0, 0.5, 45.0)));
    close(
        s.systems[0].sample_peak_dbfs,
        -9.03,
        0.05,
        "case 16 sample peak",
    );
}

/// Tech 3341 cases 20-23: an fs/6 sine (0.5) holding one period of an fs/4 sine (1.0),
/// phase-continuous, synthesised at 4 fs, low-pass filtered and decimated with `offset`.
fn case20(offset: usize) -> Vec<f32> {
    let hi = 4.0 * RATE as f64;
    let n = 4 * RATE as usize / 2;
    let burst_start = n / 2 - (n / 2) % 24; // a zero crossing of the fs/6 sine (24 samples per period at 4 fs)
    let burst_len = 16; // one period of fs/4 at 4 fs
    let mut phase = 0.0f64;
    let mut x = Vec::with_capacity(n);
    for k in 0..n {
        let in_burst = k >= burst_start && k < burst_start + burst_len;
        let (f, a) = if in_burst {
            (RATE as f64 / 4.0, 1.0)
        } else {
            (RATE as f64 / 6.0, 0.5)
        };
        let fade = ((k.min(n - 1 - k)) as f64 / (0.01 * hi)).min(1.0);
        x.push(fade * a * phase.sin());
        phase += 2.0 * PI * f / hi;
    }
    // Anti-alias low-pass at fs/2 (Kaiser-windowed sinc, 511 taps at 4 fs).
    let half = 255i64;
    let taps: Vec<f64> = (-half..=half)
        .map(|m| {
            let t = m as f64 / 4.0;
            let sinc = if m == 0 {
                1.0
            } else {
                (PI * t).sin() / (PI * t)
            };
            let u = m as f64 / half as f64;
            let w = bessel_i0(9.0 * (1.0 - u * u).sqrt()) / bessel_i0(9.0);
            sinc * w / 4.0
        })
        .collect();
    let norm: f64 = taps.iter().sum();
    (0..n / 4 - 1)
        .map(|j| {
            let centre = (4 * j + offset) as i64;
            let mut y = 0.0;
            for (i, t) in taps.iter().enumerate() {
                let k = centre + i as i64 - half;
                if k >= 0 && (k as usize) < n {
                    y += t * x[k as usize];
                }
            }
            (y / norm) as f32
        })
        .collect()
}

fn bessel_i0(x: f64) -> f64 {
    let (mut s, mut t, mut k) = (1.0, 1.0, 1.0);
    while t > 1e-17 * s {
        t *= (x / (2.0 * k)).powi(2);
        s += t;
        k += 1.0;
    }
    s
}

#[test]
fn tech3341_cases_20_to_23_true_peak_bursts() {
    for offset in 0..4 {
        within_tp_tolerance(
            true_peak(case20(offset)),
            0.0,
            &format!("case {}", 20 + offset),
        );
    }
}

#[test]
fn tech3342_loudness_range_cases() {
    let lra = |segs: &[(f64, Option<f64>)]| {
        measure("stereo", RATE, &stereo(tones(RATE, segs))).systems[0].loudness_range_lu
    };
    close(
        lra(&[(20.0, Some(-20.0)), (20.0, Some(-30.0))]),
        10.0,
        0.1,
        "3342 case 1",
    );
    close(
        lra(&[(20.0, Some(-20.0)), (20.0, Some(-15.0))]),
        5.0,
        0.1,
        "3342 case 2",
    );
    close(
        lra(&[(20.0, Some(-40.0)), (20.0, Some(-20.0))]),
        20.0,
        0.1,
        "3342 case 3",
    );
    let c4 = [
        (20.0, Some(-50.0)),
        (20.0, Some(-35.0)),
        (20.0, Some(-20.0)),
        (20.0, Some(-35.0)),
        (20.0, Some(-50.0)),
    ];
    close(lra(&c4), 15.0, 0.1, "3342 case 4");
}

/// Deterministic white noise in [-a, a].
fn noise(seed: u64, n: usize, a: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            ((s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0) as f32 * a
        })
        .collect()
}

/// ITU-R BS.775 Lo/Ro of 5.1 (L R C LFE Ls Rs): Lo = L + 0.707 C + 0.707 Ls, likewise Ro;
/// written out here so the test does not depend on the convert module.
fn lo_ro_51() -> Vec<Vec<f64>> {
    let g = std::f64::consts::FRAC_1_SQRT_2;
    vec![
        vec![1.0, 0.0, g, 0.0, g, 0.0],
        vec![0.0, 1.0, g, 0.0, 0.0, g],
    ]
}

fn surround_mix(out_of_phase: bool) -> Vec<Vec<f32>> {
    let n = 10 * RATE as usize;
    let amb = noise(5, n, 0.3);
    let rs: Vec<f32> = if out_of_phase {
        amb.iter().map(|x| -x).collect()
    } else {
        amb.clone()
    };
    vec![
        noise(1, n, 0.1),
        noise(2, n, 0.1),
        noise(3, n, 0.2),
        vec![0.0; n],
        amb,
        rs,
    ]
}

fn measure_51_with_folds(chans: &[Vec<f32>]) -> Report {
    let l51 = Layout::resolve("5.1").unwrap();
    let st = Layout::resolve("stereo").unwrap();
    let systems = vec![
        System::own(&l51),
        System::fold_down(&st, lo_ro_51()).unwrap(),
        System::mono(&lo_ro_51()).unwrap(),
    ];
    measure_systems(RATE, chans, systems)
}

#[test]
fn out_of_phase_surrounds_are_flagged_in_the_mono_fold_down() {
    let bad = measure_51_with_folds(&surround_mix(true));
    let mono = bad.systems.iter().find(|s| s.system == "mono").unwrap();
    assert_eq!(mono.out_of_phase.len(), 1, "{:?}", mono.out_of_phase);
    let p = &mono.out_of_phase[0];
    assert_eq!((p.a.as_str(), p.b.as_str()), ("M+110", "M-110"));
    assert!(p.correlation < -0.99, "{}", p.correlation);
    assert!(
        p.mono_change_db.is_none(),
        "identical anti-phase surrounds cancel completely"
    );
    assert!(
        mono.warnings.iter().any(|w| w.contains("out of phase")),
        "{:?}",
        mono.warnings
    );
    // The surrounds then vanish from mono: it is quieter than with in-phase surrounds.
    let good = measure_51_with_folds(&surround_mix(false));
    let mono_good = good.systems.iter().find(|s| s.system == "mono").unwrap();
    assert!(
        mono_good.out_of_phase.is_empty(),
        "{:?}",
        mono_good.out_of_phase
    );
    assert!(mono_good.warnings.is_empty(), "{:?}", mono_good.warnings);
    assert!(mono.loudness_change_lu.unwrap() < mono_good.loudness_change_lu.unwrap() - 3.0);
    // A spec can turn the flag into a failure.
    let spec = mixstage::qc::spec::Spec::parse(
        "Spec(name: \"phase\", checks: [NoOutOfPhase(min: -0.5)])",
        "t",
    )
    .unwrap();
    let mut bad = bad;
    bad.check(&spec);
    assert!(!bad.passed);
    let mut good = good;
    good.check(&spec);
    assert!(good.passed);
}

#[test]
fn stereo_correlation_and_mono_loss() {
    let n = 5 * RATE as usize;
    let x = noise(9, n, 0.3);
    let st = Layout::resolve("stereo").unwrap();
    let both = |r: Vec<f32>| {
        let chans = vec![x.clone(), r];
        measure_systems(RATE, &chans, vec![System::own(&st)])
            .systems
            .remove(0)
    };
    let same = both(x.clone());
    close(same.correlation, 1.0, 1e-9, "identical channels");
    close(
        same.mono_loss_lu,
        0.0,
        0.01,
        "identical channels lose nothing in dual mono",
    );
    let indep = both(noise(10, n, 0.3));
    close(indep.correlation, 0.0, 0.02, "independent noise");
    close(
        indep.mono_loss_lu,
        3.01,
        0.1,
        "independent channels lose 3 dB",
    );
    let anti = both(x.iter().map(|v| -v).collect());
    close(anti.correlation, -1.0, 1e-9, "anti-phase");
    assert_eq!(anti.mono_loss_lu, None, "anti-phase mono is silent");
    assert!(
        anti.warnings
            .iter()
            .any(|w| w.contains("mono fold-down is silent")),
        "{:?}",
        anti.warnings
    );
}

#[test]
fn channel_levels_clipping_dc_and_silence() {
    let rate = RATE as usize;
    // L: a full-scale square (+-1) for 1 s, silence 2 s, sine 1 s; R: constant 0.01 DC then silence.
    let mut l: Vec<f32> = (0..rate)
        .map(|k| if (k / 24) % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    l.extend(vec![0.0; 2 * rate]);
    l.extend((0..rate).map(|k| (0.5 * (2.0 * PI * 1000.0 * k as f64 / RATE as f64).sin()) as f32));
    let mut r = vec![0.01f32; rate];
    r.extend(vec![0.0; 2 * rate]);
    r.extend(vec![0.01f32; rate]);
    let rep = measure("stereo", RATE, &[l, r]);
    let s = &rep.systems[0];
    let (cl, cr) = (&s.channels[0], &s.channels[1]);
    close(cl.peak_dbfs, 0.0, 1e-9, "peak");
    assert_eq!(cl.clipped_samples, rate as u64);
    // Mean square: (1 s of 1.0 + 1 s of 0.125) / 4 s.
    close(
        cl.rms_dbfs,
        10.0 * ((1.0 + 0.125) / 4.0f64).log10(),
        0.01,
        "rms",
    );
    close(Some(cr.dc_offset), 0.005, 1e-6, "dc");
    assert_eq!(s.silences.len(), 1, "{:?}", s.silences);
    close(Some(s.silences[0].start_s), 1.0, 1e-9, "silence start");
    close(Some(s.silences[0].duration_s), 2.0, 1e-9, "silence length");
    assert!(
        s.warnings.iter().any(|w| w.contains("clipped")),
        "{:?}",
        s.warnings
    );
    assert!(
        s.warnings.iter().any(|w| w.contains("silence")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let chans = surround_mix(true);
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| measure_51_with_folds(&chans))
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn dialogue_gate_follows_the_centre_channel() {
    // 10 s of dialogue (centre tone at -20 dBFS) over a quiet bed, 1 s of bed alone, then 9 s
    // of loud music in L/R without dialogue. The centre-gated loudness is that of the first
    // 10 s alone (the bed-only second keeps the blocks that straddle a change out of it).
    let rate = RATE as usize;
    let bed = noise(11, 20 * rate, 0.02);
    let music = noise(12, 20 * rate, 0.4);
    let dialogue = tones(RATE, &[(10.0, Some(-20.0)), (10.0, None)]);
    let lr: Vec<f32> = (0..20 * rate)
        .map(|k| bed[k] + if k >= 11 * rate { music[k] } else { 0.0 })
        .collect();
    let zero = vec![0f32; 20 * rate];
    let chans = vec![
        lr.clone(),
        lr.clone(),
        dialogue,
        zero.clone(),
        zero.clone(),
        zero,
    ];
    let whole = measure("5.1", RATE, &chans);
    let first: Vec<Vec<f32>> = chans.iter().map(|c| c[..10 * rate].to_vec()).collect();
    let first = measure("5.1", RATE, &first);
    let d = whole.systems[0].dialogue_gated_lufs.unwrap();
    let want = first.systems[0].integrated_lufs.unwrap();
    assert!(
        (d - want).abs() < 0.1,
        "dialogue-gated {d} vs first half {want}"
    );
    assert!(
        whole.systems[0].integrated_lufs.unwrap() > d + 3.0,
        "the music makes the programme louder"
    );
    // Stereo has no centre: no dialogue-gated value.
    let st = measure("stereo", RATE, &chans[..2]);
    assert_eq!(st.systems[0].dialogue_gated_lufs, None);
}

#[test]
fn bad_blocks_are_refused_with_a_clear_error() {
    let st = Layout::resolve("stereo").unwrap();
    let mut a = Analyzer::new(RATE, 2, vec![System::own(&st)], QcOptions::default()).unwrap();
    a.push(&[0.1, 0.2, 0.3, 0.4]).unwrap();
    let e = a.push(&[0.0, f32::NAN]).unwrap_err().to_string();
    assert!(
        e.contains("non-finite") && e.contains("channel 2") && e.contains("frame 2"),
        "{e}"
    );
    let e = a.push(&[0.0, 0.0, 0.0]).unwrap_err().to_string();
    assert!(e.contains("2-channel"), "{e}");
    assert!(Analyzer::new(100, 2, vec![System::own(&st)], QcOptions::default()).is_err());
    // A programme shorter than one gating block has no integrated loudness, and says so.
    let r = a.finish();
    assert_eq!(r.systems[0].integrated_lufs, None);
}
