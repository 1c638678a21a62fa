//! Properties that any correct VBAP panner must have, on every built-in layout and on
//! random custom layouts, plus a comparison with the EBU ADM Renderer (BS.2127).

use mixstage::geometry::{angle_between, direction, Vec3};
use mixstage::panner::Coverage;
use mixstage::{Layout, Panner, Speaker};

/// A small deterministic generator (xorshift), so the tests need no extra crate and are repeatable.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
    /// A uniformly distributed direction on the sphere, as (azimuth, elevation).
    fn direction(&mut self) -> (f64, f64) {
        let z: f64 = self.range(-1.0, 1.0);
        (self.range(-180.0, 180.0), z.asin().to_degrees())
    }
}

fn random_layout(rng: &mut Rng, index: usize) -> Layout {
    let n = 2 + (rng.next() * 14.0) as usize;
    let mut speakers: Vec<Speaker> = Vec::new();
    while speakers.len() < n {
        let (az, el) = if rng.next() < 0.5 {
            // Most rooms have a ring of speakers near ear level.
            (rng.range(-180.0, 180.0), rng.range(-8.0, 8.0))
        } else {
            rng.direction()
        };
        let d = direction(az, el);
        if speakers
            .iter()
            .all(|s| angle_between(&s.direction(), &d).to_degrees() > 5.0)
        {
            speakers.push(Speaker {
                label: format!("S{}", speakers.len() + 1),
                aliases: vec![],
                azimuth: az,
                elevation: el,
                lfe: false,
                allocentric: None,
            });
        }
    }
    speakers.push(Speaker {
        label: "LFE1".into(),
        aliases: vec![],
        azimuth: 0.0,
        elevation: -30.0,
        lfe: true,
        allocentric: None,
    });
    let l = Layout {
        name: format!("random-{index}"),
        aliases: vec![],
        description: String::new(),
        screen: None,
        speakers,
    };
    l.validate("random").unwrap();
    l
}

fn all_layouts() -> Vec<Layout> {
    let mut v = Layout::builtin();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..60 {
        v.push(random_layout(&mut rng, i));
    }
    v
}

fn test_directions() -> Vec<(f64, f64)> {
    let mut dirs = Vec::new();
    for el in (-90..=90).step_by(5) {
        for az in (-175..=180).step_by(5) {
            dirs.push((az as f64, el as f64));
        }
    }
    let mut rng = Rng(12345);
    for _ in 0..2000 {
        dirs.push(rng.direction());
    }
    dirs
}

fn power(g: &[f64]) -> f64 {
    g.iter().map(|x| x * x).sum()
}

fn nonzero(g: &[f64]) -> usize {
    g.iter().filter(|&&x| x.abs() > 1e-9).count()
}

#[test]
fn power_is_one_everywhere_and_never_nan_or_negative() {
    for l in all_layouts() {
        let p = Panner::new(&l).unwrap();
        for (az, el) in test_directions() {
            let g = p.gains_polar(az, el);
            assert!(
                g.iter().all(|x| x.is_finite() && *x >= 0.0),
                "{} at ({az},{el}): {g:?}",
                l.name
            );
            assert!(
                (power(&g) - 1.0).abs() < 1e-9,
                "{} at ({az},{el}): power {}",
                l.name,
                power(&g)
            );
        }
    }
}

#[test]
fn lfe_never_receives_panned_signal() {
    for l in all_layouts() {
        let p = Panner::new(&l).unwrap();
        let lfe = l.lfe_channels();
        assert!(!lfe.is_empty() || l.name == "stereo");
        for (az, el) in test_directions() {
            let g = p.gains_polar(az, el);
            for &c in &lfe {
                assert_eq!(g[c], 0.0, "{} LFE at ({az},{el})", l.name);
            }
        }
    }
}

#[test]
fn a_source_on_a_speaker_plays_from_that_speaker_alone() {
    for l in all_layouts() {
        let p = Panner::new(&l).unwrap();
        for (i, s) in l.speakers.iter().enumerate() {
            if s.lfe {
                continue;
            }
            let g = p.gains_polar(s.azimuth, s.elevation);
            for (j, x) in g.iter().enumerate() {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!(
                    (x - want).abs() < 1e-6,
                    "{} speaker {}: gains {g:?}",
                    l.name,
                    s.label
                );
            }
        }
    }
}

#[test]
fn inside_real_coverage_gains_point_at_the_source() {
    let mut real_checked = 0;
    for l in all_layouts() {
        let p = Panner::new(&l).unwrap();
        let horizontal = l.is_horizontal();
        for (az, el) in test_directions() {
            let d = direction(az, el);
            let mut g = vec![0.0; p.channels()];
            let cov = p.gains_into(d, &mut g);
            if !cov.is_real() {
                continue;
            }
            real_checked += 1;
            let max = if cov == Coverage::RealQuad { 4 } else { 3 };
            assert!(nonzero(&g) <= max, "{} ({az},{el}) {cov:?}: {g:?}", l.name);
            if horizontal && el == 0.0 {
                assert!(nonzero(&g) <= 2, "{} ear level ({az}): {g:?}", l.name);
            }
            let sum: Vec3 = l
                .speakers
                .iter()
                .zip(&g)
                .map(|(s, x)| s.direction() * *x)
                .sum();
            let err = angle_between(&sum, &d);
            assert!(
                err < 1e-6,
                "{} ({az},{el}): vector sum is {err} rad off",
                l.name
            );
        }
    }
    assert!(
        real_checked > 10_000,
        "only {real_checked} directions were inside real coverage"
    );
}

#[test]
fn nearby_directions_give_nearby_gains() {
    // Walk great circles in 0.05 degree steps. Where one step changes a gain by more than
    // 0.01, split that step into 64: a continuous (steep) pan shrinks with the step, a jump
    // does not, so no sub-step may change a gain by more than 0.005.
    let mut rng = Rng(777);
    let max_jump = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    };
    for l in all_layouts().into_iter().take(30) {
        let p = Panner::new(&l).unwrap();
        for _ in 0..30 {
            let (az, el) = rng.direction();
            let a = direction(az, el);
            let (az2, el2) = rng.direction();
            let axis = a.cross(&direction(az2, el2)).normalize();
            let rot = |t: f64| a * t.cos() + axis.cross(&a) * t.sin();
            let step = 0.05f64.to_radians();
            let mut prev = p.gains(a);
            let mut t = 0.0;
            while t < std::f64::consts::TAU {
                let g = p.gains(rot(t + step));
                if max_jump(&g, &prev) > 0.01 {
                    let mut sub_prev = prev.clone();
                    for k in 1..=64 {
                        let h = p.gains(rot(t + step * k as f64 / 64.0));
                        let j = max_jump(&h, &sub_prev);
                        assert!(j < 0.005, "{}: gain jump {j} near {:?}", l.name, rot(t));
                        sub_prev = h;
                    }
                }
                t += step;
                prev = g;
            }
        }
    }
}

fn mirror_index(l: &Layout) -> Option<Vec<usize>> {
    l.speakers
        .iter()
        .map(|s| {
            l.speakers.iter().position(|t| {
                t.lfe == s.lfe
                    && (s.lfe
                        || (angle_between(&t.direction(), &direction(-s.azimuth, s.elevation))
                            .to_degrees()
                            < 1e-6))
            })
        })
        .collect()
}

#[test]
fn mirror_symmetric_layouts_pan_symmetrically() {
    let mut symmetric = 0;
    for l in Layout::builtin() {
        let Some(m) = mirror_index(&l) else { continue };
        symmetric += 1;
        let p = Panner::new(&l).unwrap();
        for (az, el) in test_directions() {
            let g = p.gains_polar(az, el);
            let h = p.gains_polar(-az, el);
            for (i, &j) in m.iter().enumerate() {
                if l.speakers[i].lfe {
                    continue;
                }
                assert!(
                    (g[i] - h[j]).abs() < 1e-9,
                    "{} ({az},{el}) {}: {} vs {}",
                    l.name,
                    l.speakers[i].label,
                    g[i],
                    h[j]
                );
            }
        }
    }
    assert_eq!(symmetric, 12, "all built-in layouts are mirror-symmetric");
}

#[test]
fn sources_outside_coverage_are_defined() {
    // Behind the listener in stereo: both speakers, equally.
    let st = Panner::new(&Layout::resolve("stereo").unwrap()).unwrap();
    let g = st.gains_polar(180.0, 0.0);
    assert!((g[0] - g[1]).abs() < 1e-12 && (power(&g) - 1.0).abs() < 1e-12);
    // Hard left in stereo: the left speaker alone.
    let g = st.gains_polar(90.0, 0.0);
    assert!((g[0] - 1.0).abs() < 1e-12, "{g:?}");
    // Above a horizontal layout within 30 degrees: only the pair of middle speakers either side.
    let five = Layout::resolve("5.1").unwrap();
    let p = Panner::new(&five).unwrap();
    for el in [5.0, 15.0, 25.0, 29.9, -20.0] {
        let g = p.gains_polar(15.0, el);
        let ear = p.gains_polar(15.0, 0.0);
        for (a, b) in g.iter().zip(&ear) {
            assert!((a - b).abs() < 1e-9, "el {el}: {g:?} vs ear level {ear:?}");
        }
    }
    // Straight up on 5.1: every main speaker equally.
    let g = p.gains_polar(0.0, 90.0);
    for (i, s) in five.speakers.iter().enumerate() {
        let want = if s.lfe { 0.0 } else { 1.0 / 5f64.sqrt() };
        assert!((g[i] - want).abs() < 1e-9, "{g:?}");
    }
    // Below 7.1.4: middle speakers only, never the heights.
    let l = Layout::resolve("7.1.4").unwrap();
    let p = Panner::new(&l).unwrap();
    let g = p.gains_polar(60.0, -50.0);
    for (i, s) in l.speakers.iter().enumerate() {
        if s.elevation > 0.0 {
            assert_eq!(g[i], 0.0);
        }
    }
    // A zero or NaN direction falls back to straight ahead instead of NaN.
    let g = p.gains(Vec3::new(f64::NAN, 0.0, 0.0));
    assert!((g[2] - 1.0).abs() < 1e-9);
}

// ---- Comparison with the EBU ADM Renderer (ear 2.1.0), data from tools/gen_ear_reference.py ----

#[derive(serde::Deserialize)]
struct Reference {
    ear_version: String,
    layouts: Vec<RefLayout>,
}
#[derive(serde::Deserialize)]
struct RefLayout {
    name: String,
    channels: Vec<RefChannel>,
    gain_channels: Vec<String>,
    cases: Vec<RefCase>,
}
#[derive(serde::Deserialize)]
struct RefChannel {
    label: String,
    azimuth: f64,
    elevation: f64,
    lfe: bool,
}
#[derive(serde::Deserialize)]
struct RefCase {
    az: f64,
    el: f64,
    kind: String,
    gains: Vec<f64>,
}

fn reference() -> Reference {
    let text = include_str!("data/ear_reference.json");
    serde_json::from_str(text).unwrap()
}

/// Our layout for an ear layout: the built-in one with that alias, or (for layouts we do not
/// ship, such as 4+9+0) a custom layout built from ear's channel list.
fn layout_for(r: &RefLayout) -> Layout {
    Layout::find_builtin(&r.name).unwrap_or_else(|| Layout {
        name: r.name.clone(),
        aliases: vec![],
        description: "from ear".into(),
        screen: None,
        speakers: r
            .channels
            .iter()
            .map(|c| Speaker {
                label: c.label.clone(),
                aliases: vec![],
                azimuth: c.azimuth,
                elevation: c.elevation,
                lfe: c.lfe,
                allocentric: None,
            })
            .collect(),
    })
}

#[test]
fn builtin_speaker_positions_match_bs2051_as_in_ear() {
    let r = reference();
    for rl in &r.layouts {
        let Some(ours) = Layout::find_builtin(&rl.name) else {
            continue;
        };
        assert_eq!(
            ours.labels(),
            rl.channels
                .iter()
                .map(|c| c.label.clone())
                .collect::<Vec<_>>(),
            "{}",
            rl.name
        );
        for (s, c) in ours.speakers.iter().zip(&rl.channels) {
            if !c.lfe {
                assert_eq!(
                    (s.azimuth, s.elevation),
                    (c.azimuth, c.elevation),
                    "{} {}",
                    rl.name,
                    c.label
                );
            }
            assert_eq!(s.lfe, c.lfe);
        }
    }
}

#[test]
fn agrees_with_the_ebu_adm_renderer() {
    let r = reference();
    assert_eq!(r.ear_version, "2.1.0");
    let mut compared = 0;
    for rl in &r.layouts {
        let l = layout_for(rl);
        let p = Panner::new(&l).unwrap();
        let idx: Vec<usize> = rl
            .gain_channels
            .iter()
            .map(|n| l.channel_index(n).unwrap())
            .collect();
        for c in &rl.cases {
            // ear pans stereo through a 5.0 downmix that is not power-normalised outside
            // the front pair; plain VBAP and BS.2127 agree only on and between the speakers.
            if rl.name == "0+2+0" && (c.az.abs() > 30.0 || c.el != 0.0) && c.kind != "speaker" {
                continue;
            }
            let g = p.gains_polar(c.az, c.el);
            for (k, &i) in idx.iter().enumerate() {
                assert!(
                    (g[i] - c.gains[k]).abs() < 1e-6,
                    "{} {} ({}, {}) {}: ours {} ear {}",
                    rl.name,
                    c.kind,
                    c.az,
                    c.el,
                    rl.gain_channels[k],
                    g[i],
                    c.gains[k]
                );
            }
            compared += 1;
        }
    }
    assert!(compared > 1500, "{compared}");
}
