//! Properties a correct binaural renderer must have, with the built-in MIT KEMAR set and with
//! the SOFA fixtures in tests/data (made by tools/make_sofa_fixtures.py from the committed set).
//!
//! Azimuth is positive to the LEFT: a source at +90 degrees must reach the left ear louder and
//! earlier.

use std::path::{Path, PathBuf};
use std::process::Command;

use mixstage::binaural::room::Mode;
use mixstage::binaural::{BinauralOptions, BinauralRenderer, Hrtf, Lfe};
use mixstage::io::{read_all, write_all, SampleFormat};
use mixstage::qc::kweight::KWeighting;
use mixstage::Layout;
use realfft::RealFftPlanner;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// White noise in [-0.5, 0.5) (xorshift, repeatable).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

/// Renders planar channels through `r` in its block length; returns (left, right).
fn render(r: &mut BinauralRenderer, chans: &[Vec<f32>]) -> (Vec<f32>, Vec<f32>) {
    let n = chans[0].len();
    let b = r.block_len();
    let mut l = vec![0f32; n];
    let mut rr = vec![0f32; n];
    for start in (0..n).step_by(b) {
        let end = (start + b).min(n);
        let ins: Vec<&[f32]> = chans.iter().map(|c| &c[start..end]).collect();
        r.process_planar(&ins, &mut l[start..end], &mut rr[start..end])
            .unwrap();
    }
    (l, rr)
}

/// Mean squared magnitude of the spectrum of `x` between `lo` and `hi` Hz.
fn band_energy(x: &[f32], rate: f64, lo: f64, hi: f64) -> f64 {
    let n = (x.len().next_power_of_two() * 2).max(1 << 16);
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let mut t = vec![0f64; n];
    for (a, b) in t.iter_mut().zip(x) {
        *a = *b as f64;
    }
    let mut s = fft.make_output_vec();
    fft.process(&mut t, &mut s).unwrap();
    let s = s
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let f = *i as f64 * rate / n as f64;
            f >= lo && f <= hi
        })
        .map(|(_, c)| (c.norm_sqr(), 1.0))
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    s.0 / s.1
}

/// Interaural time difference in seconds, positive when the LEFT ear leads: the lag of the
/// maximum of the cross-correlation of the two ear signals below 1.5 kHz (where the ITD is
/// defined by the waveform), searched within +/- 1 ms.
fn itd(l: &[f32], r: &[f32], rate: f64) -> f64 {
    let lp = |x: &[f32]| -> Vec<f64> {
        // Two passes of a one-pole low-pass at about 1.5 kHz, run forwards then backwards
        // (zero phase, so the lag is not biased).
        let a = (-2.0 * std::f64::consts::PI * 1500.0 / rate).exp();
        let mut y: Vec<f64> = x.iter().map(|v| *v as f64).collect();
        for _ in 0..2 {
            let mut s = 0.0;
            for v in y.iter_mut() {
                s = (1.0 - a) * *v + a * s;
                *v = s;
            }
            s = 0.0;
            for v in y.iter_mut().rev() {
                s = (1.0 - a) * *v + a * s;
                *v = s;
            }
        }
        y
    };
    let (l, r) = (lp(l), lp(r));
    let max_lag = (0.001 * rate) as isize;
    let mut best = (f64::NEG_INFINITY, 0isize);
    for lag in -max_lag..=max_lag {
        // c(lag) = sum l[n] r[n + lag]; the right ear lagging by `lag` samples peaks at lag > 0.
        let mut c = 0.0;
        for (n, lv) in l.iter().enumerate() {
            let m = n as isize + lag;
            if m >= 0 && (m as usize) < r.len() {
                c += lv * r[m as usize];
            }
        }
        if c > best.0 {
            best = (c, lag);
        }
    }
    best.1 as f64 / rate
}

fn db(a: f64, b: f64) -> f64 {
    10.0 * (a / b).log10()
}

/// Ear signals for an impulse at frame 300 from a single direction (through the whole renderer:
/// several blocks, partitions and, for 48 kHz, resampled HRIRs).
fn impulse_response(hrtf: &Hrtf, az: f64, el: f64) -> (Vec<f32>, Vec<f32>) {
    let rate = hrtf.sample_rate();
    let mut r = BinauralRenderer::for_directions(&[(az, el)], hrtf, rate, 256).unwrap();
    let mut x = vec![0f32; 4096];
    x[300] = 1.0;
    render(&mut r, &[x])
}

fn check_lateral_and_frontal(hrtf: &Hrtf, what: &str) {
    let rate = hrtf.sample_rate() as f64;
    let (l, r) = impulse_response(hrtf, 90.0, 0.0);
    let ild = db(
        band_energy(&l, rate, 4000.0, 8000.0),
        band_energy(&r, rate, 4000.0, 8000.0),
    );
    let t = itd(&l, &r, rate);
    assert!(
        ild > 6.0,
        "{what}: +90 gives ILD {ild:.1} dB in 4-8 kHz (left ear must be >6 dB louder)"
    );
    assert!(
        (0.0005..=0.0008).contains(&t),
        "{what}: +90 gives ITD {:.3} ms (left must lead by 0.5-0.8 ms)",
        t * 1e3
    );

    let (l2, r2) = impulse_response(hrtf, -90.0, 0.0);
    let ild2 = db(
        band_energy(&r2, rate, 4000.0, 8000.0),
        band_energy(&l2, rate, 4000.0, 8000.0),
    );
    let t2 = itd(&l2, &r2, rate);
    assert!(
        ild2 > 6.0,
        "{what}: -90 gives ILD {ild2:.1} dB (right ear must be >6 dB louder)"
    );
    assert!(
        (-0.0008..=-0.0005).contains(&t2),
        "{what}: -90 gives ITD {:.3} ms (right must lead)",
        t2 * 1e3
    );
    assert!(
        (ild - ild2).abs() < 1.0 && (t + t2).abs() < 0.05e-3,
        "{what}: -90 must mirror +90"
    );

    let (lf, rf) = impulse_response(hrtf, 0.0, 0.0);
    let e = |x: &[f32]| x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
    let front = db(e(&lf), e(&rf));
    assert!(
        front.abs() < 0.5,
        "{what}: front gives {front:.2} dB between the ears"
    );
    let tf = itd(&lf, &rf, rate);
    assert!(
        tf.abs() < 0.05e-3,
        "{what}: front gives ITD {:.3} ms",
        tf * 1e3
    );
}

#[test]
fn builtin_left_is_left_at_48k_and_44k1() {
    for rate in [48000, 44100] {
        let h = Hrtf::builtin(rate).unwrap();
        assert_eq!(h.sample_rate(), rate);
        check_lateral_and_frontal(&h, &format!("built-in at {rate} Hz"));
    }
}

#[test]
fn sofa_fixture_left_is_left_at_48k_and_44k1() {
    for rate in [48000, 44100] {
        let h = Hrtf::from_sofa(&data("kemar_subset.sofa"), rate).unwrap();
        assert_eq!(h.measurements().len(), 49);
        check_lateral_and_frontal(&h, &format!("kemar_subset.sofa at {rate} Hz"));
    }
}

#[test]
fn resampling_keeps_the_response_band_limited_and_the_level() {
    let a = Hrtf::builtin(44100).unwrap().with_diffuse_field_eq(false);
    let b = Hrtf::builtin(48000).unwrap().with_diffuse_field_eq(false);
    assert_eq!(b.len(), 558);
    // The same measurement at both rates: the same magnitude response (a filter resampled, not
    // a waveform), within 0.2 dB in each octave from 125 Hz to 16 kHz.
    let ma = a.hrir(30.0, 0.0).unwrap();
    let mb = b.hrir(30.0, 0.0).unwrap();
    assert_eq!((ma.0.len(), mb.0.len()), (512, b.len()));
    for (x, y) in [(&ma.0, &mb.0), (&ma.1, &mb.1)] {
        let mut lo = 125.0;
        while lo < 16000.0 {
            let ea = band_energy(x, 44100.0, lo, lo * 2.0);
            let eb = band_energy(y, 48000.0, lo, lo * 2.0);
            assert!(
                db(eb, ea).abs() < 0.2,
                "{lo} Hz octave: {:.3} dB",
                db(eb, ea)
            );
            lo *= 2.0;
        }
    }
}

#[test]
fn swapped_receivers_and_cartesian_positions_load_to_the_same_hrirs() {
    let a = Hrtf::from_sofa(&data("kemar_subset.sofa"), 44100).unwrap();
    let b = Hrtf::from_sofa(&data("kemar_subset_swapped.sofa"), 44100).unwrap();
    assert_eq!(a.measurements().len(), b.measurements().len());
    for (x, y) in a.measurements().iter().zip(b.measurements()) {
        assert_eq!(x.left, y.left);
        assert_eq!(x.right, y.right);
        let d = x.direction().angle(&y.direction()).to_degrees();
        assert!(d < 1e-3, "{d}");
    }
}

#[test]
fn bad_sofa_files_are_rejected_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(data("kemar_subset.sofa")).unwrap();
    let wrong = data("wrong_convention.sofa");
    let e = Hrtf::from_sofa(&wrong, 48000).unwrap_err().to_string();
    assert!(
        e.contains("wrong_convention.sofa")
            && e.contains("GeneralFIR")
            && e.contains("SimpleFreeFieldHRIR"),
        "{e}"
    );
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty.sofa", vec![]),
        ("text.sofa", b"this is not an HDF5 file at all".to_vec()),
        ("header_only.sofa", good[..512].to_vec()),
    ];
    for cut in [good.len() / 4, good.len() / 2, good.len() - 1] {
        cases.push(("truncated.sofa", good[..cut].to_vec()));
    }
    for (name, bytes) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, &bytes).unwrap();
        let e = Hrtf::from_sofa(&p, 48000).unwrap_err().to_string();
        assert!(e.contains(name), "{name} ({} bytes): {e}", bytes.len());
    }
    let e = Hrtf::from_sofa(&dir.path().join("missing.sofa"), 48000)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.sofa"), "{e}");
}

/// Direct time-domain convolution (f64).
fn direct(x: &[f32], h: &[f32], g: f64) -> Vec<f64> {
    (0..x.len())
        .map(|n| {
            g * (0..h.len().min(n + 1))
                .map(|k| x[n - k] as f64 * h[k] as f64)
                .sum::<f64>()
        })
        .collect()
}

#[test]
fn renderer_equals_direct_convolution_with_the_interpolated_hrirs() {
    let h = Hrtf::from_sofa(&data("kemar_subset.sofa"), 44100).unwrap();
    let layout = Layout::resolve("5.1").unwrap();
    let near = BinauralOptions {
        mode: Mode::Near,
        ..Default::default()
    };
    let mut r = BinauralRenderer::with_options(&layout, &h, 44100, 100, &near).unwrap();
    let n = 2000;
    let chans: Vec<Vec<f32>> = (0..6).map(|c| noise(n, c as u64 + 10)).collect();
    let (l, rr) = render(&mut r, &chans);
    let mut want = [vec![0f64; n], vec![0f64; n]];
    // Each speaker's filters: the responses interpolated at its direction (the LFE: the front).
    let dirs: Vec<_> = r
        .channel_info()
        .iter()
        .map(|i| {
            if i.lfe {
                mixstage::geometry::direction(0.0, 0.0)
            } else {
                mixstage::geometry::direction(i.azimuth, i.elevation)
            }
        })
        .collect();
    let ip = mixstage::binaural::interp::Interpolated::for_directions(&h, &dirs).unwrap();
    for (c, info) in r.channel_info().iter().enumerate() {
        let (az, el) = if info.lfe {
            (0.0, 0.0)
        } else {
            (info.azimuth, info.elevation)
        };
        let (hl, hr) = ip.hrir(az, el);
        for (ear, ir) in [&hl, &hr].into_iter().enumerate() {
            for (w, v) in want[ear].iter_mut().zip(direct(&chans[c], ir, info.gain)) {
                *w += v;
            }
        }
    }
    for (ear, got) in [&l, &rr].into_iter().enumerate() {
        let peak = want[ear].iter().fold(0f64, |a, v| a.max(v.abs()));
        let err = want[ear]
            .iter()
            .zip(got)
            .fold(0f64, |a, (w, g)| a.max((w - *g as f64).abs()));
        assert!(
            err / peak < 1e-5,
            "ear {ear}: relative error {:e}",
            err / peak
        );
    }
}

#[test]
fn output_is_bit_identical_for_any_thread_count() {
    let h = Hrtf::builtin(48000).unwrap();
    let layout = Layout::resolve("7.1.4").unwrap();
    let chans: Vec<Vec<f32>> = (0..12).map(|c| noise(48000, c as u64 + 1)).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut r = BinauralRenderer::new(&layout, &h, 48000, 512).unwrap();
            render(&mut r, &chans)
        })
    };
    let one = run(1);
    let two = run(2);
    let three = run(3);
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&one.0), bits(&two.0));
    assert_eq!(bits(&one.1), bits(&two.1));
    assert_eq!(bits(&one.0), bits(&three.0));
    assert!(one.0.iter().any(|v| *v != 0.0));
}

/// K-weighted mean square of a signal (BS.1770 pre-filter in the time domain).
fn k_power(x: &[f32], rate: f64) -> f64 {
    let mut k = KWeighting::new(rate as u32);
    let y: Vec<f64> = x.iter().map(|v| k.process(*v as f64)).collect();
    let skip = (0.05 * rate) as usize;
    y[skip..].iter().map(|v| v * v).sum::<f64>() / (y.len() - skip) as f64
}

/// Pink noise (equal power per octave, 20 Hz to 20 kHz) of `n` = a power of two samples:
/// random phases, amplitude 1/sqrt(f), inverse FFT; scaled to an RMS of 0.1.
fn pink(n: usize, rate: f64, seed: u64) -> Vec<f32> {
    let ifft = RealFftPlanner::<f64>::new().plan_fft_inverse(n);
    let mut spec = ifft.make_input_vec();
    let phases = noise(spec.len(), seed);
    for (i, s) in spec.iter_mut().enumerate() {
        let f = i as f64 * rate / n as f64;
        if (20.0..=20000.0).contains(&f) {
            let p = phases[i] as f64 * 2.0 * std::f64::consts::PI;
            *s = realfft::num_complex::Complex::from_polar(1.0 / f.sqrt(), p);
        }
    }
    let mut t = ifft.make_output_vec();
    ifft.process(&mut spec, &mut t).unwrap();
    let rms = (t.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
    t.iter().map(|v| (v / rms * 0.1) as f32).collect()
}

#[test]
fn uncorrelated_pink_noise_in_every_speaker_keeps_the_bs1770_loudness() {
    for (layout, hrtf) in [
        ("7.1.4", Hrtf::builtin(48000).unwrap()),
        (
            "5.1",
            Hrtf::from_sofa(&data("kemar_subset.sofa"), 48000).unwrap(),
        ),
        ("stereo", Hrtf::builtin(48000).unwrap()),
    ] {
        let layout = Layout::resolve(layout).unwrap();
        let rate = 48000.0;
        let n = 1 << 18;
        let chans: Vec<Vec<f32>> = (0..layout.channels())
            .map(|c| pink(n, rate, 100 + c as u64))
            .collect();
        let opts = BinauralOptions {
            lfe: Lfe::Off,
            ..Default::default()
        };
        let mut r = BinauralRenderer::with_options(&layout, &hrtf, 48000, 1024, &opts).unwrap();
        let (l, rr) = render(&mut r, &chans);
        let speakers: f64 = layout
            .speakers
            .iter()
            .zip(&chans)
            .filter(|(s, _)| !s.lfe)
            .map(|(s, x)| mixstage::qc::system::bs1770_weight(s) * k_power(x, rate))
            .sum();
        let phones = k_power(&l, rate) + k_power(&rr, rate);
        let diff = db(phones, speakers);
        assert!(
            diff.abs() < 0.3,
            "{}: binaural is {diff:+.2} dB from the speaker mix",
            layout.name
        );
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mixstage"))
}

#[test]
fn cli_renders_a_5_1_mix_and_rejects_bad_input_without_leaving_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let mix = dir.path().join("mix51.wav");
    let n = 10000;
    let mut chans: Vec<Vec<f32>> = vec![vec![0f32; n]; 6];
    chans[0][100] = 0.5; // L (+30): the left ear gets more
    write_all(&mix, 44100, &chans, SampleFormat::F32, 0x3F).unwrap();
    let out = dir.path().join("phones.wav");
    let st = bin()
        .args([
            "binaural",
            mix.to_str().unwrap(),
            "--layout",
            "5.1",
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .arg("--hrtf")
        .arg(data("kemar_subset.sofa"))
        .status()
        .unwrap();
    assert!(st.success());
    let (info, ears) = read_all(&out).unwrap();
    assert_eq!(
        (info.channels, info.sample_rate, ears[0].len()),
        (2, 44100, n)
    );
    let e = |x: &[f32]| x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
    assert!(e(&ears[0]) > 2.0 * e(&ears[1]));

    // Wrong channel count, bad SOFA file, NaN sample: exit 1, a message naming the file, no output.
    let stereo = dir.path().join("stereo.wav");
    write_all(&stereo, 44100, &chans[..2], SampleFormat::F32, 0x3).unwrap();
    let mut nan = chans.clone();
    nan[2][5000] = f32::NAN;
    let nan_mix = dir.path().join("nan.wav");
    write_all(&nan_mix, 44100, &nan, SampleFormat::F32, 0x3F).unwrap();
    let empty = dir.path().join("empty.wav");
    write_all(&empty, 44100, &vec![Vec::new(); 6], SampleFormat::F32, 0x3F).unwrap();
    let bad_sofa = data("wrong_convention.sofa");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![stereo.to_str().unwrap(), "--layout", "5.1"],
            "stereo.wav",
        ),
        (
            vec![
                mix.to_str().unwrap(),
                "--layout",
                "5.1",
                "--hrtf",
                bad_sofa.to_str().unwrap(),
            ],
            "wrong_convention.sofa",
        ),
        (
            vec![nan_mix.to_str().unwrap(), "--layout", "5.1"],
            "nan.wav",
        ),
        (
            vec![mix.to_str().unwrap(), "--layout", "no-such-layout"],
            "no-such-layout",
        ),
        (
            vec![empty.to_str().unwrap(), "--layout", "5.1"],
            "empty.wav",
        ),
    ];
    // The output may not overwrite the input.
    let o = bin()
        .args([
            "binaural",
            mix.to_str().unwrap(),
            "--layout",
            "5.1",
            "-o",
            mix.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("overwrite the input"));
    assert_eq!(read_all(&mix).unwrap().1, chans);
    for (args, name) in cases {
        let target = dir.path().join("fail.wav");
        let o = bin()
            .arg("binaural")
            .args(&args)
            .arg("-o")
            .arg(&target)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(name), "{args:?}: {err}");
        assert!(!target.exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{args:?} left {leftovers:?}");
    }
}

#[test]
fn builtin_set_is_the_committed_kemar_sofa_file_exactly() {
    let sofa = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/hrtf/MIT_KEMAR_normal_pinna.sofa");
    let a = Hrtf::from_sofa(&sofa, 44100).unwrap();
    let b = Hrtf::builtin(44100).unwrap();
    assert_eq!(a.measurements().len(), 710);
    assert_eq!(a.measurements().len(), b.measurements().len());
    for (x, y) in a.measurements().iter().zip(b.measurements()) {
        assert_eq!(x.left, y.left);
        assert_eq!(x.right, y.right);
        assert!(x.direction().angle(&y.direction()).to_degrees() < 1e-3);
    }
}

/// Third-octave bands (centre frequencies) from 200 Hz to 12.5 kHz.
fn third_octaves() -> Vec<f64> {
    (0..)
        .map(|i| 200.0 * 2f64.powf(i as f64 / 3.0))
        .take_while(|f| *f <= 12600.0)
        .collect()
}

#[test]
fn diffuse_field_equalisation_flattens_the_average_response_and_keeps_the_cues() {
    let h = Hrtf::builtin(44100).unwrap();
    let raw = h.clone().with_diffuse_field_eq(false);
    let all: Vec<usize> = (0..h.measurements().len()).collect();
    // Sum of the power spectra (4096-point FFT) of every response, both ears.
    let n = 4096;
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    let power = |set: &Hrtf| -> Vec<f64> {
        let mut sum = vec![0f64; n / 2 + 1];
        let mut spec = fft.make_output_vec();
        for (l, r) in set.pairs(&all).unwrap() {
            for ir in [l, r] {
                let mut t = vec![0f64; n];
                for (a, b) in t.iter_mut().zip(&ir) {
                    *a = *b as f64;
                }
                fft.process(&mut t, &mut spec).unwrap();
                for (s, c) in sum.iter_mut().zip(&spec) {
                    *s += c.norm_sqr();
                }
            }
        }
        sum
    };
    let band = |p: &[f64], f: f64| -> f64 {
        let k = |x: f64| (x * n as f64 / 44100.0).round() as usize;
        let (a, b) = (k(f * 2f64.powf(-1.0 / 6.0)), k(f * 2f64.powf(1.0 / 6.0)));
        p[a..=b].iter().sum::<f64>() / (b + 1 - a) as f64
    };
    let (pe, pr) = (power(&h), power(&raw));
    let bands = third_octaves();
    let eq: Vec<f64> = bands.iter().map(|&f| band(&pe, f)).collect();
    let rw: Vec<f64> = bands.iter().map(|&f| band(&pr, f)).collect();
    let span = |v: &[f64]| {
        let db: Vec<f64> = v.iter().map(|x| 10.0 * x.log10()).collect();
        db.iter().cloned().fold(f64::MIN, f64::max) - db.iter().cloned().fold(f64::MAX, f64::min)
    };
    assert!(
        span(&rw) > 10.0,
        "the raw KEMAR set is far from flat: {:.1} dB",
        span(&rw)
    );
    assert!(
        span(&eq) < 1.5,
        "equalised average spans {:.2} dB from 200 Hz to 12.5 kHz",
        span(&eq)
    );
    // The filter is common to both ears: interaural level differences stay as measured.
    let i = h.nearest(60.0, 0.0).index;
    let (el, er) = &h.pairs(&[i]).unwrap()[0];
    let (rl, rr) = &raw.pairs(&[i]).unwrap()[0];
    for f in [500.0, 2000.0, 6000.0] {
        let (lo, hi) = (f / 1.2, f * 1.2);
        let ild_eq = db(
            band_energy(el, 44100.0, lo, hi),
            band_energy(er, 44100.0, lo, hi),
        );
        let ild_raw = db(
            band_energy(rl, 44100.0, lo, hi),
            band_energy(rr, 44100.0, lo, hi),
        );
        assert!(
            (ild_eq - ild_raw).abs() < 0.5,
            "{f} Hz: ILD {ild_eq:.2} vs {ild_raw:.2} dB"
        );
    }
}

/// The impulse response of one speaker straight ahead in `mode` (at a fixed gain of 1).
fn front_response(h: &Hrtf, mode: Mode, drr_db: Option<f64>, head: [f64; 3]) -> [Vec<f32>; 2] {
    let front = mixstage::layout::Speaker {
        label: "C".into(),
        aliases: vec![],
        azimuth: 0.0,
        elevation: 0.0,
        lfe: false,
        allocentric: None,
    };
    let opts = BinauralOptions {
        mode,
        drr_db,
        head,
        gain: Some(1.0),
        ..Default::default()
    };
    let n = 1 << 16;
    let mut r = BinauralRenderer::from_speakers(&[front], h, 48000, n, &opts).unwrap();
    let mut x = vec![0f32; n];
    x[0] = 1.0;
    let (mut l, mut rr) = (vec![0f32; n], vec![0f32; n]);
    r.process_planar(&[&x], &mut l, &mut rr).unwrap();
    [l, rr]
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|v| (*v as f64).powi(2)).sum()
}

#[test]
fn the_modes_direct_to_reverberant_ratios_fall_from_near_to_mid_to_far() {
    let h = Hrtf::builtin(48000).unwrap();
    let near = front_response(&h, Mode::Near, None, [0.0; 3]);
    let direct = energy(&near[0]) + energy(&near[1]);
    // The binaural DRR: the direct response's energy over what the room adds.
    let drr = |resp: &[Vec<f32>; 2]| {
        let room: f64 = (0..2)
            .map(|e| {
                resp[e]
                    .iter()
                    .zip(&near[e])
                    .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
                    .sum::<f64>()
            })
            .sum();
        10.0 * (direct / room).log10()
    };
    let mid = drr(&front_response(&h, Mode::Mid, None, [0.0; 3]));
    let far = drr(&front_response(&h, Mode::Far, None, [0.0; 3]));
    eprintln!("binaural DRR: near +inf, mid {mid:+.1} dB, far {far:+.1} dB");
    // The room model's own (omnidirectional) figures, within 1.5 dB at the ears.
    let omni = |m: Mode| {
        mixstage::binaural::room::Room::for_mode(m)
            .unwrap()
            .drr_db()
    };
    assert!(
        (mid - omni(Mode::Mid)).abs() < 1.5,
        "mid {mid} vs {}",
        omni(Mode::Mid)
    );
    assert!(
        (far - omni(Mode::Far)).abs() < 1.5,
        "far {far} vs {}",
        omni(Mode::Far)
    );
    assert!(mid - far >= 2.0, "mid {mid}, far {far}");
    // A DRR set directly (ADM headphoneVirtualise) is what the ears get.
    let set = drr(&front_response(&h, Mode::Mid, Some(10.0), [0.0; 3]));
    assert!((set - 10.0).abs() < 1.5, "DRR 10 dB measured {set:.2}");
    // Off: no HRTF, the centre speaker panned onto stereo: equal, single-tap ears.
    let off = front_response(&h, Mode::Off, None, [0.0; 3]);
    assert!(
        (off[0][0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6,
        "{}",
        off[0][0]
    );
    assert_eq!(off[0][0], off[1][0]);
    assert!(off[0][1..].iter().all(|v| *v == 0.0));
}
