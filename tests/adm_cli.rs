//! ADM masters through the command line: `adm info --json`, stems per audioContent,
//! `--only dialogue`, `qc` gated on the dialogue contents, `--programme`, `adm xml`.
//! The master `tests/data/adm/own/dialogue_music.wav` is made by tools/make_dialogue_master.py:
//! a dialogue content (a 440 Hz sine at the centre, first 2 s of 4) and a music content
//! (a 1 kHz sine at M+030 throughout), with loudnessMetadata on the programme.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mixstage::io::read_all;

fn master() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/adm/own/dialogue_music.wav")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(args)
        .output()
        .expect("runs")
}

fn json(o: &Output) -> serde_json::Value {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON")
}

#[test]
fn info_json_has_the_documented_fields() {
    let m = master();
    let v = json(&run(&["adm", "info", m.to_str().unwrap(), "--json"]));
    assert_eq!(v["programmes"][0]["id"], "APR_1001");
    assert_eq!(
        v["programmes"][0]["contents"],
        serde_json::json!(["ACO_1001", "ACO_1002"])
    );
    assert_eq!(v["contents"][0]["dialogue"], "dialogue");
    assert_eq!(v["contents"][1]["dialogue"], "non-dialogue");
    assert_eq!(v["contents"][1]["stem"], "Music___score");
    let o = &v["objects"][0];
    assert_eq!(o["id"], "AO_1001");
    assert_eq!(o["type"], "Objects");
    assert_eq!(o["tracks"], serde_json::json!([1]));
    assert_eq!(o["blocks"], 1);
    assert_eq!(o["start"], 0.0);
    assert_eq!(o["duration"], 2.0);
    assert!(v["objects"][1]["duration"].is_null());
    assert!(
        v["warnings"].as_array().unwrap().is_empty(),
        "{}",
        v["warnings"]
    );
    assert_eq!(v["programmes"][0]["loudness"][0]["integrated_lufs"], -23.0);
}

#[test]
fn stems_per_content_sum_to_the_mix_and_only_dialogue_renders_the_dialogue() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pm.wav");
    let m = master();
    let o = run(&[
        "render",
        m.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        out.to_str().unwrap(),
        "--stems",
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (_, mix) = read_all(&out).unwrap();
    let (_, dx) = read_all(&dir.path().join("pm.Dialogue_EN.wav")).unwrap();
    let (_, mx) = read_all(&dir.path().join("pm.Music___score.wav")).unwrap();
    for c in 0..6 {
        for f in 0..mix[c].len() {
            assert!((mix[c][f] - dx[c][f] - mx[c][f]).abs() < 1e-6);
        }
    }
    // The dialogue plays from the centre for the first 2 s only; the music from the left.
    let energy = |x: &[f32]| x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
    assert!(energy(&dx[2][..96000]) > 1000.0 * energy(&dx[2][96000..]).max(1e-12));
    assert_eq!(energy(&dx[0]), 0.0);
    assert!(energy(&mx[0]) > 0.0 && energy(&mx[2]) == 0.0);
    let only = dir.path().join("dx.wav");
    let o = run(&[
        "render",
        m.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        only.to_str().unwrap(),
        "--only",
        "dialogue",
        "-q",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (_, d) = read_all(&only).unwrap();
    assert_eq!(energy(&d[0]), 0.0, "--only dialogue left the music in");
    assert!(energy(&d[2]) > 0.0);
    let me = dir.path().join("me.wav");
    let o = run(&[
        "render",
        m.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        me.to_str().unwrap(),
        "--without",
        "dialogue",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let (_, e) = read_all(&me).unwrap();
    assert_eq!(energy(&e[2]), 0.0, "the M&E kept the dialogue");
}

#[test]
fn qc_gates_dialogue_on_the_dialogue_contents_and_reports_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let m = master();
    let v = json(&run(&[
        "qc",
        m.to_str().unwrap(),
        "--layout",
        "5.1",
        "--systems",
        "own",
        "--json",
        "-q",
    ]));
    let own = &v["systems"][0];
    assert_eq!(own["dialogue_gate"], "dialogue contents");
    let gated = own["dialogue_gated_lufs"].as_f64().unwrap();
    let integrated = own["integrated_lufs"].as_f64().unwrap();
    assert_eq!(v["adm"]["loudness_metadata"][0]["integrated_lufs"], -23.0);
    assert_eq!(v["adm"]["loudness_metadata"][0]["dialogue_lufs"], -24.0);
    assert_eq!(
        v["adm"]["dialogue_stems"],
        serde_json::json!(["Dialogue_EN"])
    );
    // Gated on the dialogue, the loudness is that of the first two seconds of the mix.
    let first = dir.path().join("first.wav");
    let o = run(&[
        "render",
        m.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        first.to_str().unwrap(),
        "--end",
        "2",
        "-q",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let w = json(&run(&[
        "qc",
        first.to_str().unwrap(),
        "--layout",
        "5.1",
        "--systems",
        "own",
        "--json",
    ]));
    let first_lufs = w["systems"][0]["integrated_lufs"].as_f64().unwrap();
    assert!(
        (gated - first_lufs).abs() < 0.5,
        "gated {gated} vs first 2 s {first_lufs}"
    );
    assert!(
        gated - integrated > 1.5,
        "gated {gated} integrated {integrated}"
    );
}

#[test]
fn programme_choice_and_xml() {
    let m = master();
    let o = run(&[
        "render",
        m.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        "/tmp/never.wav",
        "--programme",
        "APR_1009",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("APR_1009") && e.contains("APR_1001"), "{e}");
    assert!(!Path::new("/tmp/never.wav").exists());
    let o = run(&["adm", "xml", m.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("<audioFormatExtended"));
    // A RON scene refuses the ADM-only options.
    let scene = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron");
    let o = run(&[
        "render",
        scene.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        "/tmp/never.wav",
        "--programme",
        "APR_1001",
    ]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn a_master_renders_bit_identically_on_one_and_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let input =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/adm/objects_cartesian_moving.wav");
    let mut outs = Vec::new();
    for t in ["1", "2"] {
        let out = dir.path().join(format!("t{t}.wav"));
        let o = Command::new(env!("CARGO_BIN_EXE_mixstage"))
            .env("RAYON_NUM_THREADS", t)
            // The bext chunk's origination time is this, so the files compare byte for byte.
            .env("SOURCE_DATE_EPOCH", "1764547200")
            .args([
                "render",
                input.to_str().unwrap(),
                "--layout",
                "7.1.4",
                "-q",
                "-o",
                out.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        outs.push(std::fs::read(out).unwrap());
    }
    assert!(outs[0] == outs[1], "renders differ between 1 and 2 threads");
}

#[test]
fn adm_export_writes_a_master_that_renders_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let scene = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/speaker-walk.ron");
    let out = dir.path().join("walk-adm.wav");
    let v = json(&run(&[
        "adm",
        "export",
        scene.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["frames"], 11 * 48000);
    assert!(v["tracks"].as_u64().unwrap() >= 1 && v["blocks"].as_u64().unwrap() >= 1);
    assert_eq!(v["clipped"], 0);
    // The export is a master: adm info reads it without warnings, render renders it.
    let info = json(&run(&["adm", "info", out.to_str().unwrap(), "--json"]));
    assert_eq!(info["warnings"], serde_json::json!([]));
    let mix = dir.path().join("mix.wav");
    let o = run(&[
        "render",
        out.to_str().unwrap(),
        "--layout",
        "5.1",
        "-q",
        "-o",
        mix.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A master is not a scene; s16 is not an export format; nothing written either time.
    let bad = dir.path().join("bad.wav");
    let o = run(&[
        "adm",
        "export",
        master().to_str().unwrap(),
        "-o",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("takes a RON scene"));
    let o = run(&[
        "adm",
        "export",
        scene.to_str().unwrap(),
        "-o",
        bad.to_str().unwrap(),
        "--format",
        "s16",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!bad.exists());
    // Writing over the scene itself is refused.
    let o = run(&[
        "adm",
        "export",
        scene.to_str().unwrap(),
        "-o",
        scene.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(std::fs::read_to_string(&scene).unwrap().contains("Scene("));
}

#[test]
fn importance_notes_what_it_leaves_out_and_refuses_bad_thresholds() {
    let m = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/adm/objects_importance.wav");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o.wav");
    let o = run(&[
        "render",
        m.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        out.to_str().unwrap(),
        "--importance",
        "5",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    for (id, why) in [
        ("AO_1002", "object importance 3"),
        ("AO_1003", "pack importance 4"),
        ("AO_1006", "object importance 4"),
    ] {
        assert!(
            err.contains(&format!("note: {id}: {why} is below --importance 5")),
            "{err}"
        );
    }
    assert!(
        !err.contains("AO_1001:") && !err.contains("AO_1007:"),
        "{err}"
    );
    // adm info lists the importances; and a programme's reference screen.
    let v = json(&run(&["adm", "info", m.to_str().unwrap(), "--json"]));
    let imp: Vec<_> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["importance"].clone())
        .collect();
    assert_eq!(
        imp[..3],
        [
            serde_json::json!(8),
            serde_json::json!(3),
            serde_json::Value::Null
        ]
    );
    let s = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/adm/objects_screen.wav");
    let v = json(&run(&["adm", "info", s.to_str().unwrap(), "--json"]));
    assert_eq!(
        v["programmes"][0]["reference_screen"]["Polar"]["width_azimuth"],
        90.0
    );
    let o = run(&["adm", "info", s.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains(
        "audioProgrammeReferenceScreen: 90 degrees wide, 1.5:1, centre azimuth 10 elevation 5"
    ));
    // Out of range, and on a RON scene: usage errors / clear errors, nothing written.
    let o = run(&[
        "render",
        m.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        out.to_str().unwrap(),
        "--importance",
        "11",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let scene = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/demo.ron");
    let o2 = dir.path().join("r.wav");
    let o = run(&[
        "render",
        scene.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        o2.to_str().unwrap(),
        "--importance",
        "3",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--importance apply to ADM masters"));
    assert!(!o2.exists());
}
