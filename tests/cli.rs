//! The foundation commands through the real binary: output formats and exit codes.

use std::io::Write;
use std::process::{Command, Stdio};

fn mixstage(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn layouts_lists_every_builtin() {
    let (code, out, _) = mixstage(&["layouts"]);
    assert_eq!(code, 0);
    for name in [
        "stereo", "5.1", "5.1.2", "5.1.4", "7.1", "7.1.2", "7.1.4", "9.1.6", "22.2", "4+7+0",
        "9+10+3", "4+5+1", "3+7+0", "4+9+0",
    ] {
        assert!(out.contains(name), "{name} missing from:\n{out}");
    }
}

#[test]
fn layout_show_json_has_the_documented_shape() {
    let (code, out, _) = mixstage(&["layout", "show", "4+7+0", "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["name"], "7.1.4");
    let sp = v["speakers"].as_array().unwrap();
    assert_eq!(sp.len(), 12);
    assert_eq!(sp[0]["label"], "M+030");
    assert_eq!(sp[0]["azimuth"], 30.0);
    assert_eq!(sp[0]["elevation"], 0.0);
    assert_eq!(sp[0]["lfe"], false);
    assert_eq!(sp[3]["lfe"], true);
    assert_eq!(sp[11]["label"], "U-135");
}

#[test]
fn gains_polar_cartesian_and_stdin_agree() {
    let (code, out, _) = mixstage(&[
        "gains", "--layout", "5.1", "--az", "90", "--el", "0", "--json",
    ]);
    assert_eq!(code, 0);
    let polar: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(polar["channels"][4], "M+110");
    // Cartesian -1 0 0 is hard left: the same direction.
    let (_, out, _) = mixstage(&[
        "gains", "--layout", "5.1", "--xyz", "-1", "0", "0", "--json",
    ]);
    let cart: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(polar["gains"], cart["gains"]);
    let g: Vec<f64> = polar["gains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!((g.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-12);
    assert!(g[0] > 0.0 && g[4] > 0.0 && g[1] == 0.0 && g[3] == 0.0);

    let mut child = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(["gains", "--layout", "5.1", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"90 0\n# a comment\n\n-30 0\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["gains"], polar["gains"]);
    assert_eq!(lines[1]["gains"][1], 1.0);
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn gains_block_splits_direct_and_diffuse_and_follows_the_screen() {
    // A point block equals the direction's gains; diffuse d splits them sqrt(1-d), sqrt(d).
    let (code, out, err) = mixstage(&[
        "gains",
        "--layout",
        "7.1.4",
        "--block",
        r#"{"position": {"azimuth": 20, "elevation": 10}, "diffuse": 0.36, "gain": 0.5}"#,
    ]);
    assert_eq!(code, 0, "{err}");
    let b: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (_, out, _) = mixstage(&[
        "gains", "--layout", "7.1.4", "--az", "20", "--el", "10", "--json",
    ]);
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(b["channels"], p["channels"]);
    for ((d, f), g) in floats(&b["direct"])
        .iter()
        .zip(floats(&b["diffuse"]))
        .zip(floats(&p["gains"]))
    {
        assert!((d - 0.5 * 0.8 * g).abs() < 1e-12 && (f - 0.5 * 0.6 * g).abs() < 1e-12);
    }
    // screenEdgeLock left on a 90-degree screen puts the object at azimuth 45.
    let (code, out, err) = mixstage(&[
        "gains",
        "--layout",
        "7.1.4",
        "--screen",
        "Polar(aspect_ratio: 1.78, azimuth: 0, elevation: 0, distance: 1, width_azimuth: 90)",
        "--block",
        r#"{"position": {"azimuth": 0, "screenEdgeLock": {"horizontal": "left"}}}"#,
    ]);
    assert_eq!(code, 0, "{err}");
    let b: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (_, out, _) = mixstage(&[
        "gains", "--layout", "7.1.4", "--az", "45", "--el", "0", "--json",
    ]);
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    for (d, g) in floats(&b["direct"]).iter().zip(floats(&p["gains"])) {
        assert!((d - g).abs() < 1e-12, "{b} vs {p}");
    }
    // Bad blocks and screens: exit 1, a message naming the field.
    for (args, needle) in [
        (
            vec!["--block", r#"{"position": {"azimuth": 0}, "width": -1}"#],
            "width -1",
        ),
        (
            vec!["--block", "{\"position\": 3}"],
            "position must be an object",
        ),
        (
            vec!["--az", "0", "--screen", "Polar(aspect_ratio: 1.78)"],
            "--screen",
        ),
    ] {
        let mut a = vec!["gains", "--layout", "5.1"];
        a.extend(args);
        let (code, _, err) = mixstage(&a);
        assert_eq!(code, 1, "{a:?}");
        assert!(err.contains(needle), "{a:?}: {err}");
    }
}

#[test]
fn errors_exit_non_zero_with_a_clear_message() {
    let (code, _, err) = mixstage(&["layout", "show", "7.1.5"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("unknown layout '7.1.5'") && err.contains("9.1.6"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("room.ron");
    std::fs::write(&bad, "Layout(name: \"room\", speakers: [\n  (label: \"A\", azimuth: 30.0, elevation: 0.0),\n  (label: \"B\", azimuth: -30.0, elevation: 95.0),\n])").unwrap();
    let (code, _, err) = mixstage(&["layout", "show", bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        err.contains("room.ron") && err.contains("speaker 2 ('B')") && err.contains("[-90, 90]"),
        "{err}"
    );
    std::fs::write(
        &bad,
        "Layout(name: \"room\",\n speakers: [(label: \"A\" azimuth: 30.0)])",
    )
    .unwrap();
    let (code, _, err) = mixstage(&["gains", "--layout", bad.to_str().unwrap(), "--az", "0"]);
    assert_eq!(code, 1);
    assert!(err.contains("room.ron:2:"), "{err}");
    let (code, _, err) = mixstage(&["gains", "--layout", "5.1", "--az", "0", "--el", "100"]);
    assert_eq!(code, 1);
    assert!(err.contains("[-90, 90]"), "{err}");
    let (code, _, _) = mixstage(&["gains", "--layout", "5.1", "--az", "nan"]);
    assert_eq!(code, 1);
    let (code, _, _) = mixstage(&["gains", "--layout", "5.1", "--azimuth", "0"]);
    assert_eq!(code, 2, "clap usage errors exit 2");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(["gains", "--layout", "5.1", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"0 0\n10 x\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("line 2"));
}

#[test]
fn qc_of_a_scene_equals_qc_of_its_render() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo.wav");
    let root = env!("CARGO_MANIFEST_DIR");
    let scene = format!("{root}/scenes/demo.ron");
    let (code, _, err) = mixstage(&[
        "render",
        &scene,
        "--layout",
        "5.1",
        "-o",
        out.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let (c1, file_json, _) = mixstage(&["qc", out.to_str().unwrap(), "--layout", "5.1", "--json"]);
    let (c2, scene_json, err) = mixstage(&["qc", &scene, "--layout", "5.1", "--json"]);
    assert_eq!((c1, c2), (0, 0), "{err}");
    let a: serde_json::Value = serde_json::from_str(&file_json).unwrap();
    let b: serde_json::Value = serde_json::from_str(&scene_json).unwrap();
    assert!(
        same_numbers(&a["systems"], &b["systems"]),
        "a scene measures like its f32 render:\n{a}\n{b}"
    );
    // The demo is mixed to EBU R128 on 7.1.4.
    let (code, out, _) = mixstage(&[
        "qc", &scene, "--layout", "7.1.4", "--spec", "ebu-r128", "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(code, 0, "{out}");
    let lufs = v["systems"][0]["integrated_lufs"].as_f64().unwrap();
    assert!((lufs + 23.0).abs() <= 0.5, "{lufs}");
    let (code, _, err) = mixstage(&["qc", &scene]);
    assert_eq!(code, 1);
    assert!(err.contains("--layout"), "{err}");
}

/// Equal JSON, numbers within 1e-9 (sums over blocks of another size round differently).
fn same_numbers(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) => {
            (x.as_f64().unwrap() - y.as_f64().unwrap()).abs()
                <= 1e-9 * (1.0 + x.as_f64().unwrap().abs())
        }
        (Array(x), Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_numbers(p, q))
        }
        (Object(x), Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_numbers(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn qc_headphone_row_measures_the_binaural_render() {
    let dir = tempfile::tempdir().unwrap();
    let mix = dir.path().join("mix.wav");
    let phones = dir.path().join("phones.wav");
    let scene = format!("{}/scenes/demo.ron", env!("CARGO_MANIFEST_DIR"));
    assert_eq!(
        mixstage(&[
            "render",
            &scene,
            "--layout",
            "5.1",
            "-o",
            mix.to_str().unwrap(),
            "-q"
        ])
        .0,
        0
    );
    let (code, _, err) = mixstage(&[
        "binaural",
        mix.to_str().unwrap(),
        "--layout",
        "5.1",
        "-o",
        phones.to_str().unwrap(),
        "-q",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, row, _) = mixstage(&[
        "qc",
        mix.to_str().unwrap(),
        "--layout",
        "5.1",
        "--systems",
        "binaural",
        "--json",
    ]);
    let (_, file, _) = mixstage(&[
        "qc",
        phones.to_str().unwrap(),
        "--layout",
        "stereo",
        "--systems",
        "own",
        "--json",
    ]);
    let row: serde_json::Value = serde_json::from_str(&row).unwrap();
    let file: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(row["systems"][0]["system"], "binaural");
    assert_eq!(row["systems"][0]["kind"], "headphones");
    for key in [
        "integrated_lufs",
        "true_peak_dbtp",
        "loudness_range_lu",
        "sample_peak_dbfs",
    ] {
        let (a, b) = (
            row["systems"][0][key].as_f64().unwrap(),
            file["systems"][0][key].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-6, "{key}: qc row {a} vs file {b}");
    }
    // The default systems include headphones.
    let (_, out, _) = mixstage(&["qc", mix.to_str().unwrap(), "--layout", "5.1", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["system"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["5.1", "stereo", "mono", "binaural"]);
}

#[test]
fn binaural_match_loudness_equals_the_speaker_mix() {
    let dir = tempfile::tempdir().unwrap();
    let mix = dir.path().join("mix.wav");
    let phones = dir.path().join("phones.wav");
    let scene = format!("{}/scenes/demo.ron", env!("CARGO_MANIFEST_DIR"));
    assert_eq!(
        mixstage(&[
            "render",
            &scene,
            "--layout",
            "7.1.4",
            "-o",
            mix.to_str().unwrap(),
            "-q"
        ])
        .0,
        0
    );
    let lufs = |args: &[&str]| -> f64 {
        let (code, out, err) = mixstage(args);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["systems"][0]["integrated_lufs"].as_f64().unwrap()
    };
    let speakers = lufs(&[
        "qc",
        mix.to_str().unwrap(),
        "--layout",
        "7.1.4",
        "--systems",
        "own",
        "--json",
    ]);
    let (code, _, err) = mixstage(&[
        "binaural",
        mix.to_str().unwrap(),
        "--layout",
        "7.1.4",
        "-o",
        phones.to_str().unwrap(),
        "-q",
        "--match-loudness",
    ]);
    assert_eq!(code, 0, "{err}");
    let ears = lufs(&[
        "qc",
        phones.to_str().unwrap(),
        "--layout",
        "stereo",
        "--systems",
        "own",
        "--json",
    ]);
    assert!(
        (ears - speakers).abs() < 0.05,
        "headphones {ears} LUFS vs speakers {speakers} LUFS"
    );
}
