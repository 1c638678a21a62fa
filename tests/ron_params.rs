//! RON objects with BS.2127's parameters beyond a point (width, height, depth, divergence,
//! diffuse, channel lock, zone exclusion, screen reference): parsing, validation, and renders
//! measured against the BS.2127 gain calculation ([`ObjectGains`]) that ADM objects use.
#![allow(clippy::needless_range_loop)] // index loops read clearest for per-channel checks

use std::path::Path;
use std::process::Command;

use mixstage::panner::object::ObjectGains;
use mixstage::render::{RenderOptions, Renderer};
use mixstage::scene::{ObjectParams, Scene};
use mixstage::Layout;

fn render(scene: &Scene, layout: &str) -> Vec<Vec<f32>> {
    let layout = Layout::resolve(layout).unwrap();
    let mut r = Renderer::new(scene, &layout, &RenderOptions::default()).unwrap();
    let mut mix = vec![Vec::new(); layout.channels()];
    while r.next_block().unwrap() > 0 {
        for (m, c) in mix.iter_mut().zip(r.mix()) {
            m.extend_from_slice(c);
        }
    }
    mix
}

fn parse(text: &str) -> Scene {
    Scene::parse(text, "test.ron", Path::new(".")).unwrap()
}

/// A one-object scene: a steady 1 kHz sine (peak 0.1, so RMS 0.1/sqrt 2) with `extra` fields.
fn one(position: &str, extra: &str, duration: f64) -> Scene {
    parse(&format!(
        "Scene(sample_rate: 48000, duration: {duration}, objects: [Object(name: \"o\", source: Generator(Sine(freq: 1000.0, level_db: -20.0)), position: [{position}], {extra})])"
    ))
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

const SINE_RMS: f64 = 0.1 / std::f64::consts::SQRT_2;

/// Per channel, the RMS of `frames` over the source's RMS: the gain the render applied.
fn measured_gains(mix: &[Vec<f32>], frames: std::ops::Range<usize>) -> Vec<f64> {
    mix.iter()
        .map(|c| rms(&c[frames.clone()]) / SINE_RMS)
        .collect()
}

fn gains(layout: &str, az: f64, el: f64, p: &ObjectParams) -> Vec<f64> {
    ObjectGains::new(&Layout::resolve(layout).unwrap())
        .unwrap()
        .polar(az, el, p)
        .unwrap()
}

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    for c in 0..got.len() {
        assert!(
            (got[c] - want[c]).abs() < tol,
            "{what}: channel {c}: rendered {:.5}, expected {:.5}\n got {got:?}\nwant {want:?}",
            got[c],
            want[c]
        );
    }
}

#[test]
fn scenes_without_the_new_fields_render_bit_identically() {
    // Every field at its default, spelled out, renders exactly as the scene that omits them.
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenes/demo.ron")).unwrap();
    let plain = Scene::parse(&text, "demo.ron", Path::new(".")).unwrap();
    let spelled = text.replace(
        "position: [",
        "width: [], height: [], depth: [], divergence: [], diffuse: [], channel_lock: None, zone_exclusion: [], screen_ref: false, position: [",
    );
    assert!(spelled.matches("screen_ref").count() >= 3);
    let spelled = Scene::parse(&spelled, "demo.ron", Path::new(".")).unwrap();
    assert!(spelled
        .objects
        .iter()
        .all(|o| o.param_automation().is_none()));
    let mut short = plain.clone();
    short.duration = Some(4.0);
    let mut short2 = spelled.clone();
    short2.duration = Some(4.0);
    assert_eq!(render(&short, "7.1.4"), render(&short2, "7.1.4"));
}

#[test]
fn a_static_width_renders_the_gains_of_the_bs2127_pipeline() {
    let scene = one("(time: 0, az: 30)", "width: [(time: 0, value: 40)]", 0.5);
    let mix = render(&scene, "7.1.4");
    let got = measured_gains(&mix, 4800..24000);
    let p = ObjectParams {
        width: 40.0,
        ..Default::default()
    };
    let want = gains("7.1.4", 30.0, 0.0, &p);
    assert_close(&got, &want, 2e-4, "width 40 at az 30");
    // It is really spread: more than the two speakers a point source would use.
    assert!(got.iter().filter(|&&g| g > 0.01).count() > 2, "{got:?}");
    let point = gains("7.1.4", 30.0, 0.0, &ObjectParams::default());
    assert!(want.iter().zip(&point).any(|(a, b)| (a - b).abs() > 0.05));
    // Height and depth go through the same calculation.
    let scene = one(
        "(time: 0, az: -110, el: 20)",
        "width: [(time: 0, value: 20)], height: [(time: 0, value: 50)], depth: [(time: 0, value: 0.5)]",
        0.5,
    );
    let got = measured_gains(&render(&scene, "7.1.4"), 4800..24000);
    let p = ObjectParams {
        width: 20.0,
        height: 50.0,
        depth: 0.5,
        ..Default::default()
    };
    assert_close(&got, &gains("7.1.4", -110.0, 20.0, &p), 2e-4, "w/h/d");
}

#[test]
fn cartesian_keyframes_give_a_direction_for_the_extent_too() {
    // x -1, y 1 is az 45 (egocentric direction, as for point sources): width in degrees there.
    let scene = one(
        "(time: 0, x: -1, y: 1, z: 0)",
        "width: [(time: 0, value: 40)]",
        0.5,
    );
    let got = measured_gains(&render(&scene, "7.1.4"), 4800..24000);
    let p = ObjectParams {
        width: 40.0,
        ..Default::default()
    };
    assert_close(&got, &gains("7.1.4", 45.0, 0.0, &p), 2e-4, "Cartesian");
}

#[test]
fn width_automation_moves_as_keyframed() {
    // Width 0 -> 180 degrees over 2 s (Linear), then a Step to 10 at 3 s.
    let scene = one(
        "(time: 0, az: 0)",
        "width: [(time: 0, value: 0), (time: 2, value: 180, interp: Linear), (time: 3, value: 10, interp: Step)]",
        4.0,
    );
    let mix = render(&scene, "7.1.4");
    // Windows of 0.02 s (width moves 1.8 degrees inside one) against the pipeline at their middle.
    let mut side = Vec::new();
    for (t, width) in [
        (0.01, 0.9),
        (0.5, 45.0),
        (1.0, 90.0),
        (1.5, 135.0),
        (2.5, 180.0),
        (3.5, 10.0),
    ] {
        let mid = (t * 48000.0) as usize;
        let got = measured_gains(&mix, mid - 480..mid + 480);
        let p = ObjectParams {
            width,
            ..Default::default()
        };
        let want = gains("7.1.4", 0.0, 0.0, &p);
        assert_close(&got, &want, 0.01, &format!("t {t}, width {width}"));
        side.push(got[0]);
    }
    // Wider means more in L (channel 0); back to narrow after the Step.
    assert!(
        side[0] < 0.02 && side.windows(2).take(3).all(|w| w[1] > w[0]),
        "{side:?}"
    );
    assert!(side[5] < side[1]);
}

/// Normalised correlation at lag 0.
fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum();
    let e = |x: &[f32]| x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>();
    dot / (e(a) * e(b)).sqrt()
}

#[test]
fn diffuse_one_is_all_diffuse_and_a_half_splits_the_power() {
    let scene = |src: &str, d: f64| {
        parse(&format!(
            "Scene(sample_rate: 48000, duration: 2.0, objects: [Object(name: \"o\", source: Generator({src}), position: [(time: 0, az: 0)], width: [(time: 0, value: 60)], diffuse: [(time: 0, value: {d})])])"
        ))
    };
    let p = ObjectParams {
        width: 60.0,
        ..Default::default()
    };
    let want = gains("5.1", 0.0, 0.0, &p);
    assert!(want[0] > 0.1 && want[1] > 0.1 && want[2] > 0.1, "{want:?}");
    let span = 4800..96000 - 4800;
    // A sine through the all-pass decorrelation filters keeps its level exactly: the diffuse
    // render has the direct render's level on every channel (and nothing where it has none).
    // (At a multiple of 48000 / 512 Hz, where the 512-tap filters are exactly all-pass.)
    let sine = "Sine(freq: 937.5, level_db: -20.0)";
    let (dry, wet) = (
        render(&scene(sine, 0.0), "5.1"),
        render(&scene(sine, 1.0), "5.1"),
    );
    for c in 0..6 {
        let (d, w) = (&dry[c][span.clone()], &wet[c][span.clone()]);
        if want[c] == 0.0 {
            assert!(d.iter().chain(w).all(|&x| x == 0.0), "channel {c}");
            continue;
        }
        assert!((rms(d) / SINE_RMS - want[c]).abs() < 2e-4, "channel {c}");
        let db = 20.0 * (rms(w) / rms(d)).log10();
        assert!(
            db.abs() < 0.05,
            "channel {c}: the diffuse render is {db} dB off"
        );
    }
    // Pink noise: at diffuse 1 none of the signal is direct: each channel is exactly the dry
    // render through that channel's decorrelation filter (centred on its tap DELAY), and the
    // channels are decorrelated from each other.
    let pink = "PinkNoise(level_db: -20.0)";
    let dry = render(&scene(pink, 0.0), "5.1");
    let wet = render(&scene(pink, 1.0), "5.1");
    let half = render(&scene(pink, 0.5), "5.1");
    use mixstage::render::decorrelate::{filter, seeds, DELAY};
    let seeds = seeds(&Layout::resolve("5.1").unwrap().labels());
    for c in (0..6).filter(|&c| want[c] > 0.0) {
        let h = filter(seeds[c]);
        for i in (4800..6000).chain(90_000..90_500) {
            let y: f64 = h
                .iter()
                .enumerate()
                .map(|(k, &hk)| hk * dry[c][i + DELAY - k] as f64)
                .sum();
            assert!(
                (wet[c][i] as f64 - y).abs() < 1e-6,
                "channel {c} frame {i}: {} vs {y}",
                wet[c][i]
            );
        }
        let direct = correlation(&dry[c][span.clone()], &wet[c][span.clone()]);
        assert!(direct < 0.9, "channel {c}: correlation {direct}");
    }
    let lr = correlation(&wet[0][span.clone()], &wet[1][span.clone()]);
    let lr_dry = correlation(&dry[0][span.clone()], &dry[1][span.clone()]);
    assert!(lr_dry > 0.99 && lr.abs() < 0.3, "dry {lr_dry}, wet {lr}");
    // Diffuse 0.5 is sqrt(0.5) of each, sample for sample: the direct part stays aligned in
    // time with a render that has no diffuse path.
    let s = 0.5f64.sqrt();
    for c in 0..6 {
        for i in 0..dry[c].len() {
            let expect = s * (dry[c][i] as f64 + wet[c][i] as f64);
            assert!(
                (half[c][i] as f64 - expect).abs() < 1e-6,
                "channel {c} frame {i}"
            );
        }
    }
}

#[test]
fn zone_exclusion_leaves_the_excluded_speakers_silent() {
    // A wide object in front of the screen speakers, kept out of the centre.
    let scene = one(
        "(time: 0, az: 0)",
        "width: [(time: 0, value: 60)], zone_exclusion: [(min_az: -10, max_az: 10)]",
        0.5,
    );
    let mix = render(&scene, "7.1.4");
    assert!(mix[2].iter().all(|&x| x == 0.0), "C is silent");
    let got = measured_gains(&mix, 4800..24000);
    assert!(got[0] > 0.3 && got[1] > 0.3, "{got:?}");
    let p = ObjectParams {
        width: 60.0,
        zone_exclusion: vec![mixstage::panner::zone::Zone::Polar {
            min_azimuth: -10.0,
            max_azimuth: 10.0,
            min_elevation: -90.0,
            max_elevation: 90.0,
        }],
        ..Default::default()
    };
    assert_close(&got, &gains("7.1.4", 0.0, 0.0, &p), 2e-4, "zone");
    // A zone over the whole upper layer: a source up there comes down to ear level.
    let scene = one(
        "(time: 0, az: 45, el: 45)",
        "zone_exclusion: [(min_az: -180, max_az: 180, min_el: 20, max_el: 90)]",
        0.5,
    );
    let mix = render(&scene, "7.1.4");
    let labels = Layout::resolve("7.1.4").unwrap().labels();
    for (c, l) in labels.iter().enumerate() {
        if l.starts_with('U') {
            assert!(mix[c].iter().all(|&x| x == 0.0), "{l}");
        }
    }
    assert!(rms(&mix[0]) > 0.01);
}

#[test]
fn channel_lock_snaps_to_the_nearest_speaker() {
    // Az 20 on 5.1 lies between C (0) and L (30): locked, it plays from L alone.
    let locked = render(
        &one(
            "(time: 0, az: 20)",
            "channel_lock: Some((max_distance: None))",
            0.3,
        ),
        "5.1",
    );
    let got = measured_gains(&locked, 2400..12000);
    assert!((got[0] - 1.0).abs() < 1e-4, "{got:?}");
    for c in 1..6 {
        assert!(locked[c].iter().all(|&x| x == 0.0), "channel {c}");
    }
    // Out of reach of max_distance (L is 2 sin 5 deg = 0.174 away): not locked, a phantom image.
    let near = render(
        &one(
            "(time: 0, az: 20)",
            "channel_lock: Some((max_distance: Some(0.1)))",
            0.3,
        ),
        "5.1",
    );
    let got = measured_gains(&near, 2400..12000);
    assert!(got[0] > 0.5 && got[2] > 0.2, "{got:?}");
    // Moving, it jumps from speaker to speaker: at each moment one speaker only (5.1: L, C, R, Ls, Rs).
    let moving = render(
        &one(
            "(time: 0, az: 40), (time: 1, az: -40)",
            "channel_lock: (max_distance: None)",
            1.0,
        ),
        "5.1",
    );
    for (t, speaker) in [(0.1, 0), (0.5, 2), (0.9, 1)] {
        let mid = (t * 48000.0) as usize;
        let got = measured_gains(&moving, mid - 480..mid + 480);
        for c in 0..6 {
            let want = if c == speaker { 1.0 } else { 0.0 };
            assert!((got[c] - want).abs() < 1e-3, "t {t}: {got:?}");
        }
    }
}

#[test]
fn divergence_makes_a_phantom_from_two_copies() {
    // Value 1, range 30 at az 0 on 5.1: all of it in L and R, none in C.
    let mix = render(
        &one(
            "(time: 0, az: 0)",
            "divergence: [(time: 0, value: 1, range: 30)]",
            0.3,
        ),
        "5.1",
    );
    let got = measured_gains(&mix, 2400..12000);
    let s = 0.5f64.sqrt();
    assert_close(&got, &[s, s, 0.0, 0.0, 0.0, 0.0], 1e-4, "divergence 1");
    let p = ObjectParams {
        divergence: Some((0.3, 20.0)),
        ..Default::default()
    };
    let mix = render(
        &one(
            "(time: 0, az: 0)",
            "divergence: [(time: 0, value: 0.3, range: 20)]",
            0.3,
        ),
        "5.1",
    );
    assert_close(
        &measured_gains(&mix, 2400..12000),
        &gains("5.1", 0.0, 0.0, &p),
        2e-4,
        "divergence 0.3",
    );
}

#[test]
fn screen_ref_on_the_reference_screen_changes_nothing() {
    // The built-in layouts have BS.2127's default screen, which is the reference: no move.
    let a = render(&one("(time: 0, az: 20)", "screen_ref: true", 0.2), "5.1");
    let b = render(&one("(time: 0, az: 20)", "", 0.2), "5.1");
    for c in 0..6 {
        let (x, y) = (rms(&a[c]), rms(&b[c]));
        assert!((x - y).abs() < 1e-6, "channel {c}: {x} {y}");
    }
}

fn error(extra: &str) -> String {
    let text = format!(
        "Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"first\", source: Generator(Silence), position: [(time: 0.0, az: 0.0)]), Object(name: \"rain\", source: Generator(Silence), position: [(time: 0.0, az: 0.0)], {extra})])"
    );
    Scene::parse(&text, "s.ron", Path::new("."))
        .map(|_| ())
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_values_are_errors_naming_the_object_and_keyframe() {
    let cases = [
        (
            "width: [(time: 0, value: 40), (time: 10, value: 400)]",
            "object 2 ('rain').width[1] (time 10).value",
        ),
        ("width: [(time: 0, value: -1)]", "width[0] (time 0).value"),
        (
            "height: [(time: 1.5, value: NaN)]",
            "height[0] (time 1.5).value",
        ),
        ("depth: [(time: 0, value: 2)]", "depth[0]"),
        (
            "diffuse: [(time: 0, value: 1.5)]",
            "diffuse[0] (time 0).value: 1.5 must be in [0, 1]",
        ),
        ("diffuse: [(time: 0, value: -0.1)]", "diffuse[0]"),
        (
            "divergence: [(time: 0, value: 1.2)]",
            "divergence[0] (time 0).value",
        ),
        (
            "divergence: [(time: 0, value: 0.5, range: 200)]",
            "divergence[0] (time 0).range",
        ),
        (
            "width: [(time: 2, value: 4), (time: 1, value: 5)]",
            "out of order",
        ),
        ("width: [(time: -1, value: 4)]", "width[0]"),
        (
            "zone_exclusion: [(min_az: 0, max_az: 30, min_el: 40, max_el: 10)]",
            "zone_exclusion[0].min_el",
        ),
        (
            "zone_exclusion: [(min_az: 30, max_az: -30)]",
            "zone_exclusion[0].min_az",
        ),
        (
            "zone_exclusion: [(min_az: 0, max_az: NaN)]",
            "zone_exclusion[0].max_az: NaN",
        ),
        (
            "zone_exclusion: [(min_x: -1, max_x: 1, min_y: 0.5, max_y: 0, min_z: 0, max_z: 1)]",
            "zone_exclusion[0].min_y",
        ),
        ("zone_exclusion: [(min_x: -1, max_x: 1)]", "all of min_x"),
        (
            "zone_exclusion: [(min_az: 0, max_az: 30, min_x: 0)]",
            "either a polar zone",
        ),
        (
            "channel_lock: Some((max_distance: Some(3.0)))",
            "channel_lock.max_distance",
        ),
    ];
    for (extra, expect) in cases {
        let e = error(extra);
        assert!(
            e.contains("s.ron") && e.contains(expect),
            "{extra}: expected '{expect}' in: {e}"
        );
        assert!(e.contains("rain"), "{e}");
    }
    // Unknown fields in the new keyframes are syntax errors with a line and column.
    let e = error("width: [(time: 0, valeu: 4)]");
    assert!(e.contains("s.ron:1:") && e.contains("valeu"), "{e}");
}

#[test]
fn the_cli_exits_non_zero_on_a_bad_parameter_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("bad.ron");
    std::fs::write(&scene, "Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"rain\", source: Generator(Silence), position: [(time: 0.0, az: 0.0)], width: [(time: 0, value: 40), (time: 10, value: 400)])])").unwrap();
    let out = dir.path().join("out.wav");
    let o = Command::new(env!("CARGO_BIN_EXE_mixstage"))
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
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("object 1 ('rain').width[1] (time 10).value") && err.contains("[0, 360]"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn the_example_scene_renders() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/extent.ron");
    let scene = Scene::load(&path).unwrap();
    assert!(scene.objects.iter().all(|o| o.param_automation().is_some()));
    let mix = render(&scene, "7.1.4");
    let labels = Layout::resolve("7.1.4").unwrap().labels();
    assert_eq!(mix[0].len(), 480_000);
    for (c, l) in labels.iter().enumerate() {
        assert!(mix[c].iter().all(|x| x.is_finite() && x.abs() < 1.0), "{l}");
        if l != "LFE1" && l != "LFE" {
            assert!(rms(&mix[c]) > 1e-4, "{l} is silent");
        }
    }
    // And through the CLI, with a plot.
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("extent.svg");
    let o = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args([
            "plot",
            path.to_str().unwrap(),
            "--layout",
            "7.1.4",
            "-o",
            svg.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        text.contains("rain (extent)")
            && text.contains("swell (extent)")
            && text.contains("<polygon")
    );
}

#[test]
fn a_partial_render_of_diffuse_and_sized_objects_matches_the_full_render() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/extent.ron");
    let mut scene = Scene::load(&path).unwrap();
    // Not the channel-locked beep: where its jumps fall depends on the control-point grid.
    scene.objects.retain(|o| o.name != "beep");
    let layout = Layout::resolve("5.1").unwrap();
    let full = render(&scene, "5.1");
    let opts = RenderOptions {
        start: 2.5,
        end: Some(4.0),
        ..Default::default()
    };
    let mut r = Renderer::new(&scene, &layout, &opts).unwrap();
    let mut part = vec![Vec::new(); layout.channels()];
    while r.next_block().unwrap() > 0 {
        for (m, c) in part.iter_mut().zip(r.mix()) {
            m.extend_from_slice(c);
        }
    }
    let (a, b) = (120_000, 192_000);
    for c in 0..layout.channels() {
        assert_eq!(part[c].len(), b - a);
        for (i, (&x, &y)) in part[c].iter().zip(&full[c][a..b]).enumerate() {
            // Only the control-point grid shifts (2.5 s is not a whole number of blocks).
            assert!(
                (x - y).abs() < 1e-3,
                "channel {c} frame {}: {x} vs {y}",
                a + i
            );
        }
    }
}

#[test]
fn screen_ref_scales_from_the_scenes_reference_screen_and_exports_it() {
    // The reference screen is 90 degrees wide centred at (10, 5): its left edge, at
    // elevation 5, lands on the default reproduction screen's left edge (29, 0).
    let screen = "reference_screen: Some(Polar(aspect_ratio: 1.5, azimuth: 10, elevation: 5, distance: 1, width_azimuth: 90)),";
    let text = format!(
        "Scene(sample_rate: 48000, duration: 0.5, {screen} objects: [Object(name: \"o\", source: Generator(Sine(freq: 1000.0, level_db: -20.0)), position: [(time: 0, az: 55, el: 5)], screen_ref: true)])"
    );
    let scaled = parse(&text);
    let p = ObjectParams {
        screen_ref: true,
        reference_screen: scaled.reference_screen,
        ..Default::default()
    };
    for layout in ["5.1", "7.1.4"] {
        let a = render(&scaled, layout);
        let n = a[0].len();
        let want = gains(layout, 55.0, 5.0, &p);
        assert_close(&measured_gains(&a, 4800..n), &want, 1e-4, layout);
        // Near the default screen's left edge (29, 0), not where the position says.
        let unscaled = gains(layout, 55.0, 5.0, &ObjectParams::default());
        assert!((want[0] - unscaled[0]).abs() > 0.05 || want[2] != unscaled[2]);
        assert!(want[2] > 0.0 && want[2] < 0.1, "{want:?}");
    }
    // A bad reference screen names the field.
    let bad = text.replace("width_azimuth: 90", "width_azimuth: -5");
    let e = Scene::parse(&bad, "test.ron", Path::new("."))
        .unwrap_err()
        .to_string();
    assert!(e.contains("reference_screen"), "{e}");
    // The export carries it as audioProgrammeReferenceScreen and renders the same.
    let dir = tempfile::tempdir().unwrap();
    let ron = dir.path().join("s.ron");
    std::fs::write(&ron, &text).unwrap();
    let wav = dir.path().join("s.wav");
    let o = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(["adm", "export"])
        .arg(&ron)
        .arg("-o")
        .arg(&wav)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (scene, master) = mixstage::adm::open_scene(&wav, &Default::default()).unwrap();
    let m = master.unwrap();
    let p = m.adm.programme(m.programme.as_deref().unwrap()).unwrap();
    assert!(matches!(
        p.reference_screen,
        Some(mixstage::panner::screen::Screen::Polar { width_azimuth, .. }) if width_azimuth == 90.0
    ));
    let (a, b) = (render(&scene, "7.1.4"), render(&scaled, "7.1.4"));
    let n = a[0].len().min(b[0].len());
    assert_close(
        &measured_gains(&a, 4800..n),
        &measured_gains(&b, 4800..n),
        1e-3,
        "export",
    );
}
