//! `adm export`: every example scene written as an ADM BWF master, then
//! - rendered by mixstage and compared sample by sample with the EBU ADM Renderer's render of
//!   the same export (`ear-render --strict`, committed windows made by
//!   tools/gen_adm_export_reference.py): error energy at least 60 dB below the reference's;
//! - read back: the objects under their names, groups as contents with dialogue marked;
//! - compared with the RON render of the scene itself (loudness within 1 LU on 7.1.4 and stereo).

use std::path::{Path, PathBuf};

use mixstage::adm::export::{export, ExportOptions, Profile};
use mixstage::adm::{self, AdmOptions};
use mixstage::io::{read_all, SampleFormat};
use mixstage::qc::loudness::LoudnessMeter;
use mixstage::qc::system::bs1770_weight;
use mixstage::render::{RenderOptions, Renderer};
use mixstage::scene::Scene;
use mixstage::Layout;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Renders `scene` onto `layout`, planar.
fn render(scene: &Scene, layout: &Layout) -> Vec<Vec<f32>> {
    let mut r = Renderer::new(scene, layout, &RenderOptions::default()).unwrap();
    let mut out = vec![Vec::new(); layout.channels()];
    loop {
        let n = r.next_block().unwrap();
        if n == 0 {
            break;
        }
        for (o, c) in out.iter_mut().zip(r.mix()) {
            o.extend_from_slice(&c[..n]);
        }
    }
    out
}

fn exported(scene: &Path, dir: &Path, format: SampleFormat) -> (Scene, PathBuf) {
    exported_as(scene, dir, format, Profile::Ebu)
}

fn exported_as(
    scene: &Path,
    dir: &Path,
    format: SampleFormat,
    profile: Profile,
) -> (Scene, PathBuf) {
    let s = Scene::load(scene).unwrap();
    let out = dir.join(format!(
        "{}.{profile:?}.wav",
        scene.file_stem().unwrap().to_string_lossy()
    ));
    export(&s, &out, &ExportOptions { format, profile }, |_, _| {}).unwrap();
    (s, out)
}

fn integrated(layout: &Layout, planar: &[Vec<f32>], rate: u32) -> f64 {
    let w = layout.speakers.iter().map(bs1770_weight).collect();
    let mut m = LoudnessMeter::new(rate, w, None);
    let ch = planar.len();
    let mut inter = vec![0f32; planar[0].len() * ch];
    for (c, p) in planar.iter().enumerate() {
        for (f, &x) in p.iter().enumerate() {
            inter[f * ch + c] = x;
        }
    }
    m.push(&inter);
    m.finish().integrated.unwrap()
}

#[test]
fn exports_render_as_the_ebu_adm_renderer_renders_them() {
    let data = root().join("tests/data/adm");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("export/manifest.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = manifest.as_array().unwrap();
    assert!(
        cases.len() >= 16,
        "every example scene, two profiles, two layouts"
    );
    for case in cases {
        let scene = root().join(case["scene"].as_str().unwrap());
        let profile = match case["profile"].as_str().unwrap() {
            "ebu" => Profile::Ebu,
            _ => Profile::Dolby,
        };
        let (_, master) = exported_as(&scene, dir.path(), SampleFormat::S24, profile);
        let (s, _) = adm::open_scene(&master, &AdmOptions::default()).unwrap();
        let layout = Layout::resolve(case["layout"].as_str().unwrap()).unwrap();
        let ours = render(&s, &layout);
        assert_eq!(ours[0].len() as u64, case["frames"].as_u64().unwrap());
        let (_, reference) = read_all(&data.join(case["reference"].as_str().unwrap())).unwrap();
        let win = case["window"].as_u64().unwrap() as usize;
        let (mut err, mut sig) = (0.0f64, 0.0f64);
        for (k, st) in case["starts"].as_array().unwrap().iter().enumerate() {
            let st = st.as_u64().unwrap() as usize;
            for (c, refc) in reference.iter().enumerate() {
                for f in 0..win {
                    let (a, b) = (ours[c][st + f] as f64, refc[k * win + f] as f64);
                    err += (a - b) * (a - b);
                    sig += b * b;
                }
            }
        }
        assert!(sig > 0.0, "{case}: silent reference");
        let db = 10.0 * (err / sig).log10();
        println!(
            "{} {} {}: error {db:.1} dB",
            case["scene"], case["profile"], case["layout"]
        );
        assert!(db < -60.0, "{case}: error {db:.1} dB");
    }
}

#[test]
fn exports_read_back_with_names_contents_and_dialogue() {
    let dir = tempfile::tempdir().unwrap();
    let (scene, master) = exported(
        &root().join("scenes/demo.ron"),
        dir.path(),
        SampleFormat::F32,
    );
    let m = adm::load(&master, &AdmOptions::default()).unwrap();
    assert!(m.all_warnings().is_empty(), "{:?}", m.all_warnings());
    let names: Vec<&str> = m.adm.objects.iter().map(|o| o.name.as_str()).collect();
    for ob in &scene.objects {
        assert!(
            names.contains(&ob.name.as_str()),
            "{} in {names:?}",
            ob.name
        );
    }
    for bed in &scene.beds {
        assert!(names.contains(&bed.name.as_str()), "{}", bed.name);
    }
    // One content per group, dialogue marked.
    let (s, _) = adm::open_scene(&master, &AdmOptions::default()).unwrap();
    let mut groups = s.groups();
    groups.sort();
    let mut want = scene.groups();
    want.sort();
    assert_eq!(groups, want);
    assert_eq!(s.dialogue_groups, vec!["dialogue".to_string()]);
    // Beds with a common definition use it: the 5.1 music bed is AP_00010003.
    let music = m.adm.objects.iter().find(|o| o.name == "music").unwrap();
    assert_eq!(music.packs, vec!["AP_00010003".to_string()]);
}

/// The scene and its export, rendered on 7.1.4 and on stereo, measure within `stereo_lu` on
/// stereo and 1 LU on 7.1.4 (integrated loudness). Polar exports pan on stereo by the same
/// BS.2127 0+2+0 rule as the scene (1 LU, the issue's bound); a Dolby export's Cartesian objects
/// go through the allocentric panner, which on 0+2+0 keeps a rear object at full level where the
/// scene's polar panner takes it 3 dB down (the demo: 1.1 LU louder).
fn loudness_matches(name: &str, scene: &Scene, export: &Scene, stereo_lu: f64) {
    for layout in ["7.1.4", "stereo"] {
        let bound = if layout == "stereo" { stereo_lu } else { 1.0 };
        let layout = Layout::resolve(layout).unwrap();
        let a = integrated(&layout, &render(scene, &layout), scene.sample_rate);
        let b = integrated(&layout, &render(export, &layout), scene.sample_rate);
        println!(
            "{name} on {}: scene {a:.2} LUFS, export {b:.2} LUFS",
            layout.name
        );
        assert!(
            (a - b).abs() < bound,
            "{name} on {}: scene {a:.2} LUFS, export {b:.2} LUFS",
            layout.name
        );
    }
}

#[test]
fn exports_sound_like_the_scene() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["demo", "speaker-walk", "cartesian"] {
        let (scene, master) = exported(
            &root().join(format!("scenes/{name}.ron")),
            dir.path(),
            SampleFormat::F32,
        );
        let (s, _) = adm::open_scene(&master, &AdmOptions::default()).unwrap();
        loudness_matches(name, &scene, &s, 1.0);
    }
}

/// Objects alone (no beds, whose mapping rules differ): the export's render follows the
/// scene's own render sample by sample, to within the blocks' linear ramps.
#[test]
fn exported_objects_follow_the_scenes_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut scene = Scene::load(&root().join("scenes/demo.ron")).unwrap();
    scene.beds.clear();
    for ob in scene.objects.iter_mut() {
        ob.lfe_send_db = None;
    }
    let out = dir.path().join("objects.wav");
    export(
        &scene,
        &out,
        &ExportOptions {
            format: SampleFormat::F32,
            ..Default::default()
        },
        |_, _| {},
    )
    .unwrap();
    let (s, _) = adm::open_scene(&out, &AdmOptions::default()).unwrap();
    let layout = Layout::resolve("7.1.4").unwrap();
    let (a, b) = (render(&scene, &layout), render(&s, &layout));
    let (mut err, mut sig) = (0.0f64, 0.0f64);
    for (x, y) in a.iter().zip(&b) {
        for (&p, &q) in x.iter().zip(y) {
            err += ((p - q) as f64).powi(2);
            sig += (p as f64).powi(2);
        }
    }
    let db = 10.0 * (err / sig).log10();
    println!("objects of demo.ron, export vs scene on 7.1.4: {db:.1} dB");
    assert!(db < -60.0, "objects differ by {db:.1} dB");
}

#[test]
fn export_refuses_bad_requests_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let scene = Scene::load(&root().join("scenes/demo.ron")).unwrap();
    let out = dir.path().join("x.wav");
    let e = export(
        &scene,
        &out,
        &ExportOptions {
            format: SampleFormat::S16,
            ..Default::default()
        },
        |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("24-bit PCM or 32-bit float"), "{e}");
    assert!(!out.exists());
    // An ADM master is not a scene to export.
    let master = root().join("tests/data/adm/own/dialogue_music.wav");
    let (s, _) = adm::open_scene(&master, &AdmOptions::default()).unwrap();
    let e = export(&s, &out, &ExportOptions::default(), |_, _| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("already an ADM master"), "{e}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn beds_use_common_definitions_where_bs2094_has_them() {
    let dir = tempfile::tempdir().unwrap();
    let (_, master) = exported(
        &root().join("tests/data/adm/export/custom_bed.ron"),
        dir.path(),
        SampleFormat::S24,
    );
    let m = adm::load(&master, &AdmOptions::default()).unwrap();
    let pack_of = |name: &str| {
        m.adm
            .objects
            .iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .packs
            .clone()
    };
    assert_eq!(pack_of("nhk"), vec!["AP_00010009".to_string()]); // 22.2
    let wide = pack_of("wide"); // 9.1.6: no common definition, a custom pack
    assert!(wide[0].starts_with("AP_0001") && !adm::common::is_common(&wide[0]));
    // The name with XML metacharacters survives the round trip.
    assert!(!pack_of("step & fade <obj>").is_empty());
    assert!(!pack_of("effects LFE").is_empty());
}

#[test]
fn dolby_exports_fit_the_profile_and_sound_like_the_scene() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["demo", "speaker-walk", "cartesian"] {
        let (scene, master) = exported_as(
            &root().join(format!("scenes/{name}.ron")),
            dir.path(),
            SampleFormat::S24,
            Profile::Dolby,
        );
        let r = mixstage::adm::validate::validate(&master, "dolby", None).unwrap();
        assert!(
            r.passed(),
            "{name}: {:?}",
            &r.violations[..r.violations.len().min(5)]
        );
        let (s, _) = adm::open_scene(&master, &AdmOptions::default()).unwrap();
        loudness_matches(&format!("{name} (dolby)"), &scene, &s, 1.5);
    }
    // A 9.1.6 bed: its 7.1 part is a Dolby bed, its wides and heights become objects.
    let (_, master) = exported_as(
        &root().join("tests/data/adm/export/custom_bed.ron"),
        dir.path(),
        SampleFormat::S24,
        Profile::Dolby,
    );
    let m = adm::load(&master, &AdmOptions::default()).unwrap();
    let names: Vec<&str> = m.adm.objects.iter().map(|o| o.name.as_str()).collect();
    assert!(
        names.contains(&"wide U+045") && names.contains(&"wide M+060"),
        "{names:?}"
    );
}

#[test]
fn dolby_export_refuses_what_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let mut scene = Scene::load(&root().join("scenes/demo.ron")).unwrap();
    let one = scene.objects[2].clone();
    for k in 0..120 {
        let mut o = one.clone();
        o.name = format!("copy {k}");
        scene.objects.push(o);
    }
    let out = dir.path().join("big.wav");
    let opts = ExportOptions {
        format: SampleFormat::F32,
        profile: Profile::Dolby,
    };
    let e = export(&scene, &out, &opts, |_, _| {})
        .unwrap_err()
        .to_string();
    for want in ["at most 118", "at most 128", "--format s24"] {
        assert!(e.contains(want), "{want} in {e}");
    }
    assert!(!out.exists());
}

/// Dolby's profile has no one-channel LFE pack: a group's LFE sends go into its own bed's
/// `RC_LFE` track, or into a new 5.1 bed with five silent tracks; the LFE the export
/// renders is the scene's.
#[test]
fn dolby_exports_sum_lfe_sends_into_beds() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"Scene(
        sample_rate: 48000,
        duration: 1.0,
        objects: [
            Object(name: "boom", group: "effects", source: Generator(PinkNoise(level_db: -20.0, seed: 1)),
                position: [(time: 0.0, az: 30.0, el: 0.0)], lfe_send_db: -3.0),
            Object(name: "hit", group: "music", source: Generator(PinkNoise(level_db: -24.0, seed: 2)),
                position: [(time: 0.0, az: -30.0, el: 0.0)], lfe_send_db: -6.0),
        ],
        beds: [
            Bed(name: "score", group: "music", source: Generator(Sine(freq: 60.0, level_db: -20.0)), layout: "5.1"),
        ],
    )"#;
    let scene = Scene::parse(text, "lfe.ron", dir.path()).unwrap();
    let out = dir.path().join("lfe.wav");
    let opts = ExportOptions {
        format: SampleFormat::S24,
        profile: Profile::Dolby,
    };
    export(&scene, &out, &opts, |_, _| {}).unwrap();
    let r = mixstage::adm::validate::validate(&out, "dolby", None).unwrap();
    assert!(r.passed(), "{:?}", r.violations);
    let m = adm::load(&out, &AdmOptions::default()).unwrap();
    let tracks = |name: &str| {
        m.adm
            .objects
            .iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .track_uids
            .len()
    };
    // music: the sends join the 5.1 bed's LFE; effects: a new 5.1 bed.
    assert_eq!(tracks("score"), 6);
    assert_eq!(tracks("effects LFE"), 6);
    assert!(m.adm.objects.iter().all(|o| o.name != "music LFE"));
    for o in &m.adm.objects {
        assert!(
            o.track_uids.len() != 1 || o.name == "boom" || o.name == "hit",
            "{}: a one-track pack",
            o.name
        );
    }
    // 2 objects + 6 + 6 bed tracks.
    assert_eq!(m.audio.channels, 14);
    let (s, _) = adm::open_scene(&out, &AdmOptions::default()).unwrap();
    let layout = Layout::resolve("7.1.4").unwrap();
    let lfe = layout.speakers.iter().position(|sp| sp.lfe).unwrap();
    let (a, b) = (render(&scene, &layout), render(&s, &layout));
    let err: f64 = a[lfe]
        .iter()
        .zip(&b[lfe])
        .map(|(&p, &q)| ((p - q) as f64).powi(2))
        .sum();
    let sig: f64 = a[lfe].iter().map(|&p| (p as f64).powi(2)).sum();
    let db = 10.0 * (err / sig).log10();
    println!("LFE of the Dolby export vs the scene on 7.1.4: {db:.1} dB");
    assert!(sig > 0.0 && db < -60.0, "LFE differs by {db:.1} dB");
}

/// A scene whose objects set BS.2127's parameters beyond a point (scenes/extent.ron): the
/// export writes them into each block (width, height, depth, diffuse, objectDivergence,
/// channelLock, zoneExclusion, screenRef), they read back as the scene's values at the
/// block's time, and the export renders like the scene.
#[test]
fn exported_object_parameters_read_back_and_sound_like_the_scene() {
    let dir = tempfile::tempdir().unwrap();
    let (scene, master) = exported(
        &root().join("scenes/extent.ron"),
        dir.path(),
        SampleFormat::F32,
    );
    let (s, _) = adm::open_scene(&master, &AdmOptions::default()).unwrap();
    let blocks = |name: &str| {
        let o = s.objects.iter().find(|o| o.name.contains(name)).unwrap();
        o.timeline.as_ref().unwrap().blocks.clone()
    };
    let secs = |t: &mixstage::time::Time| t.samples_f64(1);
    // rain: width 40 -> 90 over 10 s, height 20, diffuse 0.5, one polar zone.
    let rain = blocks("rain");
    assert!(
        rain.len() > 10,
        "width automation splits the blocks: {}",
        rain.len()
    );
    for b in &rain {
        let p = b.params.as_ref().expect("rain has parameters");
        // A block's values are the scene's at its end (the first block: its start).
        let t = if b.start.samples_f64(1) == 0.0 {
            0.0
        } else {
            secs(b.end.as_ref().unwrap())
        };
        let want = 40.0 + 5.0 * t;
        assert!(
            (p.width - want).abs() < 1e-6,
            "width {} at {t} s, want {want}",
            p.width
        );
        assert_eq!(
            (p.height, p.diffuse, p.zone_exclusion.len()),
            (20.0, 0.5, 1)
        );
    }
    let beep = blocks("beep");
    assert!(beep
        .iter()
        .all(|b| b.params.as_ref().unwrap().channel_lock == Some(None)));
    let phantom = blocks("phantom");
    let last = phantom.last().unwrap().params.as_ref().unwrap();
    assert_eq!(last.divergence, Some((0.5, 20.0)));
    assert!(last.screen_ref);
    let swell = blocks("swell");
    assert!(swell
        .iter()
        .all(|b| b.params.as_ref().unwrap().depth == 0.3));
    // Rendered, each object of the export follows the scene's (BS.2127's linear ramps over
    // each block vs the scene's control points).
    let layout = Layout::resolve("7.1.4").unwrap();
    for name in ["rain", "phantom", "beep", "swell"] {
        let alone = |sc: &Scene| {
            let mut sc = sc.clone();
            for o in sc.objects.iter_mut() {
                o.mute = !o.name.contains(name);
            }
            render(&sc, &layout)
        };
        let (a, b) = (alone(&scene), alone(&s));
        let (mut err, mut sig) = (0.0f64, 0.0f64);
        // Up to the last 512 frames: there the decorrelation filters of a diffuse object look
        // past the end, where the scene's generator plays on and the master's track is over.
        let upto = a[0].len() - 512;
        for (x, y) in a.iter().zip(&b) {
            for (&p, &q) in x[..upto].iter().zip(&y[..upto]) {
                err += ((p - q) as f64).powi(2);
                sig += (p as f64).powi(2);
            }
        }
        let db = 10.0 * (err / sig).log10();
        println!("extent.ron '{name}', export vs scene on 7.1.4: {db:.1} dB");
        // The beep's channel lock jumps from speaker to speaker: a crossfade over a block
        // in the export, over a control-point interval in the scene.
        let bound = if name == "beep" { -25.0 } else { -60.0 };
        assert!(db < bound, "'{name}': the export differs by {db:.1} dB");
    }
    // The Dolby profile's Cartesian blocks cannot carry them: a clear error, nothing written.
    let out = dir.path().join("dolby.wav");
    let e = export(
        &scene,
        &out,
        &ExportOptions {
            format: SampleFormat::F32,
            profile: Profile::Dolby,
        },
        |_, _| {},
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("rain") && e.contains("EBU profile"), "{e}");
    assert!(!out.exists());
}
