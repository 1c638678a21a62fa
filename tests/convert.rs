//! Layout conversion: properties a correct conversion must have, the standard's coefficients,
//! the LFE options, and the `mixstage convert` command end to end (the built binary).

use std::f64::consts::FRAC_1_SQRT_2;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mixstage::convert::{
    conversion_matrix, convert_file, mono_downmix, ConvertOptions, LfeMode, Matrix, Method,
    BLOCK_FRAMES, ITU_PAIRS,
};
use mixstage::io::{read_all, write_all, SampleFormat};
use mixstage::Layout;

/// Deterministic white noise in [-0.5, 0.5) (xorshift), so tests are repeatable without a crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }
    fn noise(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.next()).collect()
    }
}

fn layout(name: &str) -> Layout {
    Layout::resolve(name).unwrap()
}

fn builtins() -> Vec<Layout> {
    Layout::builtin()
}

fn matrix(from: &str, to: &str, method: Method, lfe: LfeMode) -> Matrix {
    conversion_matrix(&layout(from), &layout(to), method, lfe).unwrap()
}

fn interleave(chans: &[Vec<f32>]) -> Vec<f32> {
    let n = chans[0].len();
    (0..n)
        .flat_map(|f| chans.iter().map(move |c| c[f]))
        .collect()
}

fn power(x: &[f32]) -> f64 {
    x.iter().map(|&v| v as f64 * v as f64).sum()
}

// ---------------------------------------------------------------------------------------
// Matrix properties.

#[test]
fn same_layout_is_the_identity_bit_exact() {
    let mut rng = Rng(0x1234_5678);
    for l in builtins() {
        for method in [Method::Vbap, Method::Itu] {
            let m = conversion_matrix(&l, &l, method, LfeMode::Keep).unwrap();
            assert_eq!(m, Matrix::identity(l.labels()), "{} {method}", l.name);
            // Awkward values too: signed zero, subnormals, huge, tiny.
            let mut input = rng.noise(1000 * l.channels());
            input[0] = -0.0;
            input[1] = 1.0e-40;
            input[2] = -3.0e38;
            input[3] = f32::MIN_POSITIVE;
            let mut out = vec![1.0f32; input.len()];
            m.apply(&input, &mut out);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&out), bits(&input), "{} {method}", l.name);
        }
    }
}

#[test]
fn vbap_columns_have_unit_power_for_every_builtin_pair() {
    for from in builtins() {
        for to in builtins() {
            let m = conversion_matrix(&from, &to, Method::Vbap, LfeMode::Drop).unwrap();
            for (i, s) in from.speakers.iter().enumerate() {
                let p: f64 = m.gains.iter().map(|r| r[i] * r[i]).sum();
                let want = if s.lfe { 0.0 } else { 1.0 };
                assert!(
                    (p - want).abs() < 1e-12,
                    "{} -> {}: column {} has power {p}",
                    from.name,
                    to.name,
                    s.label
                );
                // LFE outputs never get panned signal.
                for (o, t) in to.speakers.iter().enumerate() {
                    if t.lfe && !s.lfe {
                        assert_eq!(
                            m.gains[o][i], 0.0,
                            "{} -> {}: {} -> {}",
                            from.name, to.name, s.label, t.label
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn uncorrelated_noise_keeps_its_power_through_vbap_within_a_tenth_of_a_db() {
    let frames = 1 << 15;
    let mut rng = Rng(99);
    for from in builtins() {
        // Independent noise on every non-LFE channel, silence on the LFE.
        let chans: Vec<Vec<f32>> = from
            .speakers
            .iter()
            .map(|s| {
                if s.lfe {
                    vec![0.0; frames]
                } else {
                    rng.noise(frames)
                }
            })
            .collect();
        let input = interleave(&chans);
        for to in builtins() {
            let m = conversion_matrix(&from, &to, Method::Vbap, LfeMode::Keep).unwrap();
            let mut out = vec![0f32; frames * to.channels()];
            m.apply(&input, &mut out);
            let db = 10.0 * (power(&out) / power(&input)).log10();
            assert!(
                db.abs() < 0.1,
                "{} -> {}: power changed by {db:.3} dB",
                from.name,
                to.name
            );
        }
    }
}

#[test]
fn a_speaker_in_both_layouts_goes_straight_through() {
    let m = matrix("7.1.4", "9.1.6", Method::Vbap, LfeMode::Keep);
    for label in [
        "M+030", "M-030", "M+000", "LFE1", "M+090", "M-135", "U+045", "U-135",
    ] {
        assert_eq!(m.gain(label, label), Some(1.0), "{label}");
        let col = m.from.iter().position(|l| l == label).unwrap();
        assert_eq!(
            m.gains.iter().filter(|r| r[col] != 0.0).count(),
            1,
            "{label}"
        );
    }
    // A layout file labelled with film names finds the BS.2051 speakers through their
    // aliases: straight through, no panning.
    let film = Layout::parse(
        r#"Layout(name: "film 5.1", speakers: [
            (label: "L", azimuth: 30.0, elevation: 0.0), (label: "R", azimuth: -30.0, elevation: 0.0),
            (label: "C", azimuth: 0.0, elevation: 0.0), (label: "LFE", azimuth: 0.0, elevation: -30.0, lfe: true),
            (label: "Ls", azimuth: 110.0, elevation: 0.0), (label: "Rs", azimuth: -110.0, elevation: 0.0)])"#,
        "film.ron",
    )
    .unwrap();
    let m = conversion_matrix(&film, &layout("5.1"), Method::Vbap, LfeMode::Keep).unwrap();
    assert_eq!(m.gains, Matrix::identity(film.labels()).gains);
}

#[test]
fn other_channels_are_panned_at_their_own_direction() {
    // 9.1.6's wide M+060 has no partner in 7.1.4: VBAP between M+030 and M+090 (tangent law).
    let m = matrix("9.1.6", "7.1.4", Method::Vbap, LfeMode::Keep);
    let (a, b) = (
        m.gain("M+030", "M+060").unwrap(),
        m.gain("M+090", "M+060").unwrap(),
    );
    // Symmetric about the pair's centre at 60 degrees: equal gains, unit power.
    assert!(
        (a - FRAC_1_SQRT_2).abs() < 1e-9 && (b - FRAC_1_SQRT_2).abs() < 1e-9,
        "{a} {b}"
    );
    // The gain-weighted vector sum points at the source for a 2D pair: 60 degrees.
    let panner = mixstage::Panner::new(&layout("7.1.4")).unwrap();
    let g = panner.gains_polar(60.0, 0.0);
    let col = m.from.iter().position(|l| l == "M+060").unwrap();
    for (o, row) in m.gains.iter().enumerate() {
        assert_eq!(row[col], g[o]);
    }
}

/// The ear-level azimuths of `to` on either side of `az` (the pair that encloses it; one
/// speaker if `az` is on a speaker).
fn enclosing_ear_speakers(to: &Layout, az: f64) -> Vec<String> {
    let mut ring: Vec<(f64, String)> = to
        .speakers
        .iter()
        .filter(|s| !s.lfe && s.elevation.abs() <= 10.0)
        .map(|s| (s.azimuth.rem_euclid(360.0), s.label.clone()))
        .collect();
    ring.sort_by(|a, b| a.0.total_cmp(&b.0));
    let a = az.rem_euclid(360.0);
    if let Some((_, l)) = ring.iter().find(|(x, _)| (x - a).abs() < 1e-9) {
        return vec![l.clone()];
    }
    for k in 0..ring.len() {
        let (lo, hi) = (&ring[k], &ring[(k + 1) % ring.len()]);
        let inside = if lo.0 < hi.0 {
            lo.0 < a && a < hi.0
        } else {
            a > lo.0 || a < hi.0
        };
        if inside {
            return vec![lo.1.clone(), hi.1.clone()];
        }
    }
    unreachable!()
}

#[test]
fn heights_fold_only_into_the_two_ear_level_speakers_either_side() {
    for (from, to) in [
        ("7.1.4", "5.1"),
        ("7.1.4", "7.1"),
        ("5.1.4", "5.1"),
        ("5.1.2", "5.1"),
        ("7.1.2", "5.1"),
        ("7.1.2", "7.1"),
        ("9.1.6", "7.1"),
        ("9.1.6", "5.1"),
    ] {
        let (f, t) = (layout(from), layout(to));
        let m = conversion_matrix(&f, &t, Method::Vbap, LfeMode::Keep).unwrap();
        for (i, s) in f
            .speakers
            .iter()
            .enumerate()
            .filter(|(_, s)| s.elevation > 10.0)
        {
            let fed: Vec<String> = (0..t.channels())
                .filter(|&o| m.gains[o][i] != 0.0)
                .map(|o| t.speakers[o].label.clone())
                .collect();
            let mut want = enclosing_ear_speakers(&t, s.azimuth);
            want.sort();
            let mut got = fed.clone();
            got.sort();
            assert_eq!(
                got, want,
                "{from} -> {to}: height {} at az {}",
                s.label, s.azimuth
            );
        }
    }
    // The exact case of the issue: 7.1.4 -> 5.1, Ltf between L and Ls, Ltr between Ls and Rs.
    let m = matrix("7.1.4", "5.1", Method::Vbap, LfeMode::Keep);
    assert!(m.gain("M+030", "U+045").unwrap() > m.gain("M+110", "U+045").unwrap());
    assert!(m.gain("M+110", "U+135").unwrap() > m.gain("M-110", "U+135").unwrap());
}

#[test]
fn upmix_places_channels_and_invents_no_height() {
    for (from, to) in [
        ("5.1", "7.1.4"),
        ("5.1", "9.1.6"),
        ("7.1", "7.1.4"),
        ("stereo", "5.1.4"),
        ("5.1", "22.2"),
    ] {
        let (f, t) = (layout(from), layout(to));
        let m = conversion_matrix(&f, &t, Method::Vbap, LfeMode::Keep).unwrap();
        for (o, s) in t.speakers.iter().enumerate() {
            if s.elevation.abs() > 10.0 && !s.lfe {
                assert!(
                    m.gains[o].iter().all(|&g| g == 0.0),
                    "{from} -> {to}: {} gets signal",
                    s.label
                );
            }
        }
    }
    // Stereo into 5.1: L and R straight through, nothing in the centre or the surrounds.
    let m = matrix("stereo", "5.1", Method::Vbap, LfeMode::Keep);
    assert_eq!(
        m.gains,
        vec![
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![0.0, 0.0],
            vec![0.0, 0.0],
            vec![0.0, 0.0],
            vec![0.0, 0.0]
        ]
    );
}

#[test]
fn matching_is_by_label_not_by_channel_order() {
    // A 5.1 file in the other common order: L R Ls Rs C LFE.
    let base = layout("5.1");
    let order = [0, 1, 4, 5, 2, 3];
    let other = Layout {
        name: "5.1 (L R Ls Rs C LFE)".into(),
        aliases: vec![],
        description: String::new(),
        screen: None,
        speakers: order.iter().map(|&i| base.speakers[i].clone()).collect(),
    };
    for method in [Method::Vbap, Method::Itu] {
        let a = conversion_matrix(&base, &layout("stereo"), method, LfeMode::Keep).unwrap();
        let b = conversion_matrix(&other, &layout("stereo"), method, LfeMode::Keep).unwrap();
        for (k, &i) in order.iter().enumerate() {
            for o in 0..2 {
                assert_eq!(b.gains[o][k], a.gains[o][i], "{method}");
            }
        }
        // And into the reordered layout: a permutation.
        let p = conversion_matrix(&base, &other, method, LfeMode::Keep).unwrap();
        for (k, &i) in order.iter().enumerate() {
            for j in 0..6 {
                assert_eq!(p.gains[k][j], if j == i { 1.0 } else { 0.0 }, "{method}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// ITU coefficients.

const C: f64 = FRAC_1_SQRT_2; // -3 dB

#[test]
fn itu_51_to_stereo_is_bs775_lo_ro() {
    let m = matrix("5.1", "stereo", Method::Itu, LfeMode::Keep);
    assert_eq!(
        m.from,
        ["M+030", "M-030", "M+000", "LFE1", "M+110", "M-110"]
    );
    assert_eq!(m.to, ["M+030", "M-030"]);
    // BS.775: Lo = L + 0.7071 C + 0.7071 Ls; Ro = R + 0.7071 C + 0.7071 Rs; LFE not used.
    assert_eq!(
        m.gains,
        vec![
            vec![1.0, 0.0, C, 0.0, C, 0.0],
            vec![0.0, 1.0, C, 0.0, 0.0, C]
        ]
    );
    // The standard prints it as 0.7071, i.e. -3.01 dB.
    assert!((20.0 * C.log10() + 3.0103).abs() < 1e-4);
    assert_eq!(m.unrouted_inputs(), ["LFE1"]);
}

#[test]
fn itu_mono_is_bs775_mono() {
    let m = mono_downmix(&layout("5.1"), Method::Itu, LfeMode::Keep).unwrap();
    assert_eq!(m.to, ["M"]);
    // BS.775: M = 0.7071 L + 0.7071 R + C + 0.5 Ls + 0.5 Rs.
    let want = [C, C, 1.0, 0.0, 0.5, 0.5];
    for (g, w) in m.gains[0].iter().zip(want) {
        assert!((g - w).abs() < 1e-15, "{:?}", m.gains);
    }
    let m = mono_downmix(&layout("stereo"), Method::Itu, LfeMode::Keep).unwrap();
    assert_eq!(m.gains, vec![vec![C, C]]);
    // VBAP mono: every channel onto the one speaker at unit gain (power of uncorrelated input kept).
    let m = mono_downmix(&layout("7.1.4"), Method::Vbap, LfeMode::Drop).unwrap();
    assert_eq!(
        m.gains[0],
        [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    );
    let m = mono_downmix(&layout("5.1"), Method::Vbap, LfeMode::Mix(-6.0)).unwrap();
    assert!((m.gains[0][3] - 10f64.powf(-6.0 / 20.0)).abs() < 1e-15);
}

#[test]
fn itu_71_to_51_and_height_folds() {
    let m = matrix("7.1", "5.1", Method::Itu, LfeMode::Keep);
    let want = [
        // L    R    C   LFE  Lss  Rss  Lrs  Rrs
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0],
    ];
    assert_eq!(m.gains, want.map(|r| r.to_vec()).to_vec());
    let m = matrix("7.1.4", "7.1", Method::Itu, LfeMode::Keep);
    assert_eq!(m.gain("M+030", "U+045"), Some(C));
    assert_eq!(m.gain("M-030", "U-045"), Some(C));
    assert_eq!(m.gain("M+135", "U+135"), Some(C));
    assert_eq!(m.gain("M-135", "U-135"), Some(C));
    assert_eq!(
        m.gains
            .iter()
            .map(|r| r.iter().filter(|&&g| g != 0.0).count())
            .sum::<usize>(),
        12
    );
    let m = matrix("5.1.4", "5.1", Method::Itu, LfeMode::Keep);
    assert_eq!(m.gain("M+110", "U+110"), Some(C));
    assert_eq!(m.gain("M+030", "U+030"), Some(C));
    // 7.1.4 -> stereo: Lo = L + 0.7071 (C + Lss + Lrs + Ltf) + 0.5 Ltr.
    let m = matrix("7.1.4", "stereo", Method::Itu, LfeMode::Keep);
    let lo = [1.0, 0.0, C, 0.0, C, 0.0, C, 0.0, C, 0.0, 0.5, 0.0];
    for (g, w) in m.gains[0].iter().zip(lo) {
        assert!((g - w).abs() < 1e-15, "{:?}", m.gains[0]);
    }
}

#[test]
fn itu_chains_agree_whichever_way_round() {
    let direct = matrix("7.1.4", "5.1", Method::Itu, LfeMode::Keep);
    let via_71 = matrix("7.1.4", "7.1", Method::Itu, LfeMode::Keep)
        .then(&matrix("7.1", "5.1", Method::Itu, LfeMode::Keep))
        .unwrap();
    let via_514 = matrix("7.1.4", "5.1.4", Method::Itu, LfeMode::Keep)
        .then(&matrix("5.1.4", "5.1", Method::Itu, LfeMode::Keep))
        .unwrap();
    assert_eq!(direct, via_71);
    assert_eq!(direct, via_514);
}

#[test]
fn itu_covers_its_listed_pairs_and_refuses_others_clearly() {
    for (a, b) in ITU_PAIRS {
        let from = layout(a);
        let r = if *b == "mono" {
            mono_downmix(&from, Method::Itu, LfeMode::Keep)
        } else {
            conversion_matrix(&from, &layout(b), Method::Itu, LfeMode::Keep)
        };
        assert!(r.is_ok(), "{a} -> {b}: {:?}", r.err());
    }
    for (a, b) in [
        ("9.1.6", "5.1"),
        ("5.1", "7.1.4"),
        ("stereo", "5.1"),
        ("22.2", "stereo"),
    ] {
        let e = conversion_matrix(&layout(a), &layout(b), Method::Itu, LfeMode::Keep)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(a) && e.contains(b) && e.contains("5.1->stereo") && e.contains("vbap"),
            "{e}"
        );
    }
    assert!(mono_downmix(&layout("9.1.6"), Method::Itu, LfeMode::Keep).is_err());
}

// ---------------------------------------------------------------------------------------
// LFE options.

fn lfe_col(m: &Matrix) -> usize {
    m.from.iter().position(|l| l.starts_with("LFE")).unwrap()
}

#[test]
fn lfe_keep_routes_to_lfe_and_drops_when_there_is_none() {
    let m = matrix("5.1", "7.1.4", Method::Vbap, LfeMode::Keep);
    assert_eq!(m.gain("LFE1", "LFE1"), Some(1.0));
    assert_eq!(m.gains.iter().filter(|r| r[3] != 0.0).count(), 1);
    for to in ["stereo"] {
        for method in [Method::Vbap, Method::Itu] {
            let m = matrix("5.1", to, method, LfeMode::Keep);
            assert!(m.gains.iter().all(|r| r[3] == 0.0));
            assert_eq!(m.unrouted_inputs(), ["LFE1"]);
        }
    }
    // 22.2 has two LFEs: both reach 5.1's one LFE at unit gain (power of uncorrelated LFEs kept).
    let m = matrix("22.2", "5.1", Method::Vbap, LfeMode::Keep);
    assert_eq!(m.gain("LFE1", "LFE1"), Some(1.0));
    assert_eq!(m.gain("LFE1", "LFE2"), Some(1.0));
    // 5.1 into 22.2: LFE1 to LFE1 only.
    let m = matrix("5.1", "22.2", Method::Vbap, LfeMode::Keep);
    assert_eq!(m.gain("LFE1", "LFE1"), Some(1.0));
    assert_eq!(m.gain("LFE2", "LFE1"), Some(0.0));
}

#[test]
fn lfe_drop_discards_it() {
    for (from, to, method) in [
        ("5.1", "5.1", Method::Vbap),
        ("7.1.4", "5.1", Method::Itu),
        ("22.2", "7.1.4", Method::Vbap),
    ] {
        let m = matrix(from, to, method, LfeMode::Drop);
        for (i, s) in layout(from).speakers.iter().enumerate() {
            if s.lfe {
                assert!(m.gains.iter().all(|r| r[i] == 0.0), "{from} -> {to}");
            }
        }
        for (o, s) in layout(to).speakers.iter().enumerate() {
            if s.lfe {
                assert!(m.gains[o].iter().all(|&g| g == 0.0), "{from} -> {to}");
            }
        }
    }
}

#[test]
fn lfe_mix_adds_it_to_the_front_pair_at_the_given_level() {
    let g = 10f64.powf(-10.0 / 20.0);
    for method in [Method::Vbap, Method::Itu] {
        let m = matrix("5.1", "stereo", method, LfeMode::Mix(-10.0));
        let c = lfe_col(&m);
        assert!(
            (m.gains[0][c] - g).abs() < 1e-15 && (m.gains[1][c] - g).abs() < 1e-15,
            "{method}"
        );
        assert!(m.unrouted_inputs().is_empty());
    }
    // Into a layout with an LFE: the fronts get it, the LFE does not.
    let m = matrix("7.1.4", "5.1", Method::Vbap, LfeMode::Mix(0.0));
    assert_eq!(m.gain("M+030", "LFE1"), Some(1.0));
    assert_eq!(m.gain("M-030", "LFE1"), Some(1.0));
    assert_eq!(m.gain("LFE1", "LFE1"), Some(0.0));
    assert_eq!(m.gain("M+000", "LFE1"), Some(0.0));
    // Applied to a signal: an LFE-only input appears in L and R at -10 dB.
    let m = matrix("5.1", "stereo", Method::Itu, LfeMode::Mix(-10.0));
    let input = [0.0, 0.0, 0.0, 0.5, 0.0, 0.0];
    let mut out = [0f32; 2];
    m.apply(&input, &mut out);
    assert!((out[0] as f64 - 0.5 * g).abs() < 1e-7 && out[0] == out[1]);
}

// ---------------------------------------------------------------------------------------
// Files and the command line.

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mixstage"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn noise_file(path: &Path, l: &Layout, frames: usize, seed: u64, mask: u32) -> Vec<Vec<f32>> {
    let mut rng = Rng(seed);
    let chans: Vec<Vec<f32>> = (0..l.channels()).map(|_| rng.noise(frames)).collect();
    write_all(path, 48000, &chans, SampleFormat::F32, mask).unwrap();
    chans
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn cli_same_layout_is_bit_exact_for_float_output() {
    let d = tmp();
    let l = layout("7.1.4");
    let input = d.path().join("in.wav");
    let output = d.path().join("out.wav");
    let mut chans = noise_file(&input, &l, 3 * BLOCK_FRAMES + 17, 5, 0);
    chans[0][0] = -0.0;
    chans[1][5] = 1.0e-42;
    write_all(&input, 48000, &chans, SampleFormat::F32, 0).unwrap();
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "--from",
        "7.1.4",
        "--to",
        "4+7+0",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (info, back) = read_all(&output).unwrap();
    assert_eq!(info.channels, 12);
    assert_eq!(info.sample_rate, 48000);
    let bits = |c: &[Vec<f32>]| {
        c.iter()
            .map(|v| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&back), bits(&chans));
    // Also with --method itu, and from 24-bit input (exactly representable in f32).
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "--from",
        "7.1.4",
        "--to",
        "7.1.4",
        "--method",
        "itu",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(bits(&read_all(&output).unwrap().1), bits(&chans));
    write_all(&input, 48000, &chans, SampleFormat::S24, 0).unwrap();
    let want = read_all(&input).unwrap().1;
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "--from",
        "7.1.4",
        "--to",
        "7.1.4",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(bits(&read_all(&output).unwrap().1), bits(&want));
}

#[test]
fn streamed_file_matches_the_matrix_applied_at_once() {
    let d = tmp();
    let from = layout("7.1.4");
    let to = layout("5.1");
    let input = d.path().join("in.wav");
    let output = d.path().join("out.wav");
    let frames = 2 * BLOCK_FRAMES + 1234;
    let chans = noise_file(&input, &from, frames, 11, 0);
    let report = convert_file(
        &input,
        Some(&from),
        &to,
        &output,
        &ConvertOptions::default(),
    )
    .unwrap();
    assert_eq!(report.stats.frames, frames as u64);
    let m = conversion_matrix(&from, &to, Method::Vbap, LfeMode::Keep).unwrap();
    assert_eq!(report.matrix, m);
    let mut want = vec![0f32; frames * 6];
    m.apply(&interleave(&chans), &mut want);
    let (info, back) = read_all(&output).unwrap();
    assert_eq!(info.channel_mask, Some(0x3F), "5.1 has a true WAVE mask");
    assert_eq!(interleave(&back), want);
}

#[test]
fn cli_reads_the_layout_from_the_channel_mask() {
    let d = tmp();
    let input = d.path().join("in.wav");
    let output = d.path().join("out.wav");
    let chans = noise_file(&input, &layout("5.1"), 1000, 3, 0x3F);
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "stereo",
        "--method",
        "itu",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("LFE1 is dropped"), "{}", stderr(&o));
    let (info, back) = read_all(&output).unwrap();
    assert_eq!(info.channels, 2);
    for f in [0, 500, 999] {
        let lo = chans[0][f] as f64 + C * chans[2][f] as f64 + C * chans[4][f] as f64;
        assert!((back[0][f] as f64 - lo).abs() < 1e-6);
    }
    // 7.1 in WAVE order (FL FR FC LFE BL BR SL SR, mask 0x63F) to film-order 7.1: channels
    // are reordered by what the mask says, not by position.
    let wave71 = d.path().join("wave71.wav");
    let mut rng = Rng(8);
    let wave_chans: Vec<Vec<f32>> = (0..8).map(|_| rng.noise(100)).collect();
    write_all(&wave71, 48000, &wave_chans, SampleFormat::F32, 0x63F).unwrap();
    let o = run(&[
        "convert",
        wave71.to_str().unwrap(),
        "--to",
        "7.1",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let back = read_all(&output).unwrap().1;
    // film order L R C LFE Lss Rss Lrs Rrs <- WAVE order FL FR FC LFE BL BR SL SR
    for (film, wave) in [
        (0, 0),
        (1, 1),
        (2, 2),
        (3, 3),
        (4, 6),
        (5, 7),
        (6, 4),
        (7, 5),
    ] {
        assert_eq!(back[film], wave_chans[wave], "film channel {film}");
    }
    // Forcing --from 7.1 on that file warns that the mask disagrees.
    let o = run(&[
        "convert",
        wave71.to_str().unwrap(),
        "--from",
        "7.1",
        "--to",
        "7.1",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(
        o.status.success() && stderr(&o).contains("warning") && stderr(&o).contains("mask"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn cli_mono_fold_down() {
    let d = tmp();
    let input = d.path().join("in.wav");
    let output = d.path().join("mono.wav");
    let chans = noise_file(&input, &layout("stereo"), 400, 21, 0); // no mask: two channels are stereo
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "mono",
        "--method",
        "itu",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (info, back) = read_all(&output).unwrap();
    assert_eq!((info.channels, info.channel_mask), (1, Some(0x4)));
    for f in 0..400 {
        let m = C * (chans[0][f] as f64 + chans[1][f] as f64);
        assert!((back[0][f] as f64 - m).abs() < 1e-7);
    }
}

#[test]
fn cli_print_matrix_json() {
    let o = run(&[
        "convert",
        "--from",
        "5.1",
        "--to",
        "stereo",
        "--method",
        "itu",
        "--print-matrix",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["from"],
        serde_json::json!(["M+030", "M-030", "M+000", "LFE1", "M+110", "M-110"])
    );
    assert_eq!(v["to"], serde_json::json!(["M+030", "M-030"]));
    assert_eq!(
        v["matrix"][0],
        serde_json::json!([1.0, 0.0, C, 0.0, C, 0.0])
    );
    assert_eq!(v.as_object().unwrap().len(), 3);
    // Text form, from a file's header.
    let d = tmp();
    let input = d.path().join("in.wav");
    noise_file(&input, &layout("5.1"), 10, 1, 0x3F);
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "7.1.4",
        "--print-matrix",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("5.1 -> 7.1.4") && text.contains("U+045"),
        "{text}"
    );
    assert_eq!(files_in(d.path()), vec![input]);
}

#[test]
fn cli_bad_input_is_explained_and_leaves_no_output() {
    let d = tmp();
    let dir = d.path();
    let out = dir.join("out.wav");
    let out_s = out.to_str().unwrap();
    let five = dir.join("five.wav");
    noise_file(&five, &layout("5.1"), 100, 2, 0);
    let five_s = five.to_str().unwrap();

    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec![
                "convert", five_s, "--from", "7.1.4", "--to", "5.1", "-o", out_s,
            ],
            &["five.wav", "6 channel", "7.1.4", "12"],
        ),
        (
            vec!["convert", five_s, "--to", "5.1", "-o", out_s],
            &["five.wav", "no channel mask", "--from"],
        ),
        (
            vec![
                "convert", five_s, "--from", "5.1", "--to", "7.1.5", "-o", out_s,
            ],
            &["7.1.5", "unknown layout", "7.1.4"],
        ),
        (
            vec![
                "convert", five_s, "--from", "5.2", "--to", "stereo", "-o", out_s,
            ],
            &["5.2", "unknown layout"],
        ),
        (
            vec![
                "convert", five_s, "--from", "5.1", "--to", "5.1.4", "--method", "itu", "-o", out_s,
            ],
            &["itu", "5.1->stereo"],
        ),
        (
            vec![
                "convert", "nope.wav", "--from", "5.1", "--to", "stereo", "-o", out_s,
            ],
            &["nope.wav"],
        ),
        (
            vec![
                "convert", five_s, "--from", "mono", "--to", "stereo", "-o", out_s,
            ],
            &["mono"],
        ),
    ];
    for (args, needles) in cases {
        let o = run(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {e}");
        for n in needles {
            assert!(e.contains(n), "{args:?}: '{n}' not in: {e}");
        }
        assert!(!out.exists(), "{args:?} left an output");
    }

    // Not audio; empty; truncated; a NaN sample.
    let junk = dir.join("junk.wav");
    std::fs::write(&junk, b"this is not a wav file at all").unwrap();
    let empty = dir.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let silent = dir.join("zero.wav");
    write_all(
        &silent,
        48000,
        &vec![Vec::new(); 6],
        SampleFormat::F32,
        0x3F,
    )
    .unwrap();
    let trunc = dir.join("trunc.wav");
    let bytes = std::fs::read(&five).unwrap();
    std::fs::write(&trunc, &bytes[..bytes.len() - 50]).unwrap();
    let nan = dir.join("nan.wav");
    let mut chans = vec![vec![0.1f32; 50]; 6];
    chans[4][30] = f32::NAN;
    write_all(&nan, 48000, &chans, SampleFormat::F32, 0x3F).unwrap();
    for (file, needle) in [
        (&junk, "junk.wav"),
        (&empty, "empty"),
        (&silent, "no audio"),
        (&trunc, "truncated"),
        (&nan, "M+110"),
    ] {
        let o = run(&[
            "convert",
            file.to_str().unwrap(),
            "--from",
            "5.1",
            "--to",
            "stereo",
            "-o",
            out_s,
        ]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{}: {e}", file.display());
        assert!(
            e.contains(needle),
            "{}: '{needle}' not in {e}",
            file.display()
        );
        assert!(!out.exists(), "{} left an output", file.display());
    }
    // The output may not overwrite the input; the input is untouched.
    let before = std::fs::read(&five).unwrap();
    let o = run(&[
        "convert", five_s, "--from", "5.1", "--to", "stereo", "-o", five_s,
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("overwrite"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&five).unwrap(), before);
    // Usage errors (exit 2): a bad --lfe, a missing -o.
    let o = run(&[
        "convert", five_s, "--from", "5.1", "--to", "stereo", "--lfe", "mix=loud", "-o", out_s,
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("mix=loud"), "{}", stderr(&o));
    let o = run(&["convert", five_s, "--from", "5.1", "--to", "stereo"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // Nothing but the inputs is left in the folder (no temporary files either).
    let mut want = vec![empty, five, junk, nan, trunc, silent];
    want.sort();
    assert_eq!(files_in(dir), want);
}

#[test]
fn failed_stream_removes_the_partial_output() {
    // A file that turns out truncated after many blocks: the writer has written blocks
    // already; the temporary file must go and no output appear.
    let d = tmp();
    let input = d.path().join("long.wav");
    let output = d.path().join("out.wav");
    let l = layout("5.1");
    noise_file(&input, &l, 4 * BLOCK_FRAMES, 6, 0x3F);
    let bytes = std::fs::read(&input).unwrap();
    std::fs::write(&input, &bytes[..bytes.len() - 4 * 6 * 100]).unwrap();
    let e = convert_file(
        &input,
        None,
        &layout("stereo"),
        &output,
        &ConvertOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    assert_eq!(files_in(d.path()), vec![input]);
}

#[test]
fn integer_output_formats_convert_and_report_clipping() {
    let d = tmp();
    let input = d.path().join("in.wav");
    let output = d.path().join("out.wav");
    // Full-scale correlated L, C and Ls: Lo/Ro sums to 2.41 full scale and must clip in s24.
    let chans = vec![
        vec![0.99f32; 100],
        vec![0.0; 100],
        vec![0.99; 100],
        vec![0.0; 100],
        vec![0.99; 100],
        vec![0.0; 100],
    ];
    write_all(&input, 48000, &chans, SampleFormat::F32, 0x3F).unwrap();
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "stereo",
        "--method",
        "itu",
        "--format",
        "s24",
        "-o",
        output.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("clipped 100"), "{}", stderr(&o));
    let (info, back) = read_all(&output).unwrap();
    assert_eq!(info.encoding, "24-bit PCM");
    assert!((back[0][0] - 1.0).abs() < 1e-6);
}

#[test]
fn custom_layout_file_converts() {
    let d = tmp();
    let path = d.path().join("quad.ron");
    std::fs::write(
        &path,
        r#"Layout(name: "quad", speakers: [
            (label: "M+045", azimuth: 45.0, elevation: 0.0),
            (label: "M-045", azimuth: -45.0, elevation: 0.0),
            (label: "M+135", aliases: ["Lrs"], azimuth: 135.0, elevation: 0.0),
            (label: "M-135", aliases: ["Rrs"], azimuth: -135.0, elevation: 0.0),
        ])"#,
    )
    .unwrap();
    let quad = Layout::resolve(path.to_str().unwrap()).unwrap();
    let m = conversion_matrix(&quad, &layout("7.1"), Method::Vbap, LfeMode::Keep).unwrap();
    assert_eq!(m.gain("M+135", "M+135"), Some(1.0));
    let a = m.gain("M+030", "M+045").unwrap();
    let b = m.gain("M+090", "M+045").unwrap();
    assert!(a > b && b > 0.0 && (a * a + b * b - 1.0).abs() < 1e-12);
    let o = run(&[
        "convert",
        "--from",
        path.to_str().unwrap(),
        "--to",
        "7.1",
        "--print-matrix",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn matrix_gives_the_same_result_for_any_block_size() {
    // apply on a whole buffer and block by block give identical results.
    let m = matrix("9.1.6", "5.1", Method::Vbap, LfeMode::Mix(-3.0));
    let mut rng = Rng(77);
    let input = rng.noise(5000 * 16);
    let mut whole = vec![0f32; 5000 * 6];
    m.apply(&input, &mut whole);
    for block in [1usize, 7, 64, 4096] {
        let mut pieces = vec![0f32; 5000 * 6];
        for (i, o) in input.chunks(block * 16).zip(pieces.chunks_mut(block * 6)) {
            m.apply(i, o);
        }
        assert_eq!(pieces, whole, "block {block}");
    }
    // apply_add adds exactly what apply writes (to zero).
    let mut added = vec![0f32; 5000 * 6];
    m.apply_add(&input, &mut added);
    assert_eq!(added, whole);
}
