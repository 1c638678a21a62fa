//! `mixstage qc` end to end: exit codes, JSON shape, plots, and clear errors on bad input.

use std::f64::consts::PI;
use std::path::Path;
use std::process::{Command, Output};

use mixstage::io::{write_all, SampleFormat};

fn qc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .arg("qc")
        .args(args)
        .output()
        .expect("runs")
}

/// A stereo 1 kHz tone at `level` dBFS peak per channel (BS.1770 reads it at `level` LUFS).
fn tone(path: &Path, level: f64, secs: f64) {
    let n = (secs * 48000.0) as usize;
    let a = 10f64.powf(level / 20.0);
    let x: Vec<f32> = (0..n)
        .map(|k| (a * (2.0 * PI * 1000.0 * k as f64 / 48000.0).sin()) as f32)
        .collect();
    write_all(path, 48000, &[x.clone(), x], SampleFormat::F32, 0).unwrap();
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn passes_and_fails_a_spec_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let ok = dir.path().join("ok.wav");
    tone(&ok, -23.0, 10.0);
    let o = qc(&[ok.to_str().unwrap(), "--spec", "ebu-r128", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let systems = v["systems"].as_array().unwrap();
    let names: Vec<&str> = systems
        .iter()
        .map(|s| s["system"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["stereo", "mono", "binaural"]);
    let s = &systems[0];
    assert!(
        (s["integrated_lufs"].as_f64().unwrap() + 23.0).abs() < 0.1,
        "{s}"
    );
    assert!(
        (s["true_peak_dbtp"].as_f64().unwrap() + 23.0).abs() < 0.1,
        "{s}"
    );
    assert!(
        (s["sample_peak_dbfs"].as_f64().unwrap() + 23.0).abs() < 0.1,
        "{s}"
    );
    assert!(s["loudness_range_lu"].as_f64().unwrap().abs() < 0.1, "{s}");
    assert_eq!(s["channels"].as_array().unwrap().len(), 2);
    assert_eq!(s["checks"].as_array().unwrap().len(), 2);
    assert!(
        s["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["passed"] == true),
        "{s}"
    );
    assert_eq!(v["passed"], true);

    let loud = dir.path().join("loud.wav");
    tone(&loud, -20.0, 10.0);
    let o = qc(&[loud.to_str().unwrap(), "--spec", "ebu-r128"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("[FAIL] integrated loudness -23.0") && table.contains("+3.0 LU"),
        "{table}"
    );
    // A85 allows +-2 around -24: -20 fails there too; -23 passes A85.
    assert_eq!(
        qc(&[ok.to_str().unwrap(), "--spec", "atsc-a85"])
            .status
            .code(),
        Some(0)
    );
    // Without a spec nothing can fail.
    assert_eq!(qc(&[loud.to_str().unwrap()]).status.code(), Some(0));
}

#[test]
fn user_spec_files_and_malformed_specs() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("t.wav");
    tone(&wav, -23.0, 5.0);
    let spec = dir.path().join("mine.ron");
    std::fs::write(
        &spec,
        "Spec(name: \"mine\", checks: [MaxTruePeak(limit: -30.0, systems: All)])",
    )
    .unwrap();
    let o = qc(&[
        wav.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["spec"], "mine");
    // Applied to both systems.
    assert_eq!(v["systems"][1]["checks"][0]["passed"], false);

    std::fs::write(
        &spec,
        "Spec(name: \"mine\", checks: [MaxTruePeak(limit: -1.0,, ])",
    )
    .unwrap();
    let o = qc(&[wav.to_str().unwrap(), "--spec", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("mine.ron:1:"), "{e}");
    let o = qc(&[wav.to_str().unwrap(), "--spec", "ebu-r129"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown spec 'ebu-r129'") && stderr(&o).contains("ebu-r128"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn unreadable_inputs_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.wav");
    let o = qc(&[missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("missing.wav"), "{}", stderr(&o));

    let garbage = dir.path().join("garbage.wav");
    std::fs::write(&garbage, b"RIFF\x10\x00\x00\x00WAVEfmt ").unwrap();
    let o = qc(&[garbage.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("garbage.wav"), "{}", stderr(&o));

    // Six channels, no mask, no --layout: ask for one. A wrong layout: say both counts.
    let six = dir.path().join("six.wav");
    write_all(
        &six,
        48000,
        &vec![vec![0.1f32; 4800]; 6],
        SampleFormat::F32,
        0,
    )
    .unwrap();
    let o = qc(&[six.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--layout"), "{}", stderr(&o));
    let o = qc(&[six.to_str().unwrap(), "--layout", "7.1.4"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("6 channel") && stderr(&o).contains("12"),
        "{}",
        stderr(&o)
    );
    let o = qc(&[
        six.to_str().unwrap(),
        "--layout",
        "5.1",
        "--systems",
        "own,9.9",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("9.9"), "{}", stderr(&o));
}

#[test]
fn plots_are_written_as_svg() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("t.wav");
    tone(&wav, -23.0, 4.0);
    let plots = dir.path().join("plots");
    let o = qc(&[
        wav.to_str().unwrap(),
        "--plots",
        plots.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in [
        "loudness-stereo.svg",
        "levels-stereo.svg",
        "loudness-mono.svg",
        "levels-mono.svg",
    ] {
        let text = std::fs::read_to_string(plots.join(f)).unwrap();
        assert!(text.starts_with("<svg") && text.contains("</svg>"), "{f}");
    }
    let levels = std::fs::read_to_string(plots.join("levels-stereo.svg")).unwrap();
    assert!(
        levels.contains("M+030") && levels.contains("true peak"),
        "channel labels and legend"
    );
}

#[test]
fn mono_files_and_checks_that_name_no_system() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("stem.wav");
    // A 1 kHz tone at -20 dBFS in one channel: BS.1770 weight 1, so -20 - 3.01 LUFS.
    let x: Vec<f32> = (0..5 * 48000)
        .map(|k| (0.1 * (2.0 * PI * 1000.0 * k as f64 / 48000.0).sin()) as f32)
        .collect();
    write_all(&wav, 48000, &[x], SampleFormat::F32, 0).unwrap();
    let spec = dir.path().join("s.ron");
    std::fs::write(
        &spec,
        "Spec(name: \"s\", checks: [IntegratedLoudness(target: -23.0, tolerance: 0.5), NoClipping(systems: Named([\"5.1\"]))])",
    )
    .unwrap();
    let o = qc(&[
        wav.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--json",
    ]);
    // The clipping check names 5.1, which a mono file does not have: it fails the spec.
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(v["systems"].as_array().unwrap().len(), 1);
    assert!(
        (v["systems"][0]["integrated_lufs"].as_f64().unwrap() + 23.01).abs() < 0.1,
        "{v}"
    );
    let un = v["unapplied_checks"][0].as_str().unwrap();
    assert!(
        un.starts_with("no clipped samples: ") && un.contains("5.1"),
        "{un}"
    );
    let o = qc(&[wav.to_str().unwrap(), "--systems", "stereo"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("one-channel"), "{}", stderr(&o));
}

/// A JSON report's check results on its first system.
fn own_checks(o: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["systems"][0]["checks"].as_array().unwrap().clone()
}

#[test]
fn checks_that_could_not_be_measured_fail() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("short.wav");
    tone(&wav, 6.0, 1.0);
    let spec = dir.path().join("s.ron");
    std::fs::write(
        &spec,
        "Spec(name: \"s\", checks: [MaxShortTerm(limit: -30.0), MaxLoudnessRange(max: 5.0), MaxMomentary(limit: 10.0)])",
    )
    .unwrap();
    let args = [
        wav.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--systems",
        "own",
    ];
    let o = qc(&[&args[..], &["--json"]].concat());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let checks = own_checks(&o);
    for c in &checks[..2] {
        assert_eq!(c["passed"], false, "{c}");
        let d = c["detail"].as_str().unwrap();
        assert!(
            d.contains("not measured")
                && d.contains("(1.0 s) is shorter than the 3 s short-term window"),
            "{d}"
        );
    }
    // The momentary window fits in 1 s: measured (a +6 dBFS tone is about +6 LUFS).
    assert_eq!(checks[2]["passed"], true, "{}", checks[2]);
    let table = String::from_utf8_lossy(&qc(&args).stdout).into_owned();
    assert!(
        table.contains("[FAIL] max short-term") && table.contains("spec s: FAILED"),
        "{table}"
    );
    assert!(!table.contains("nothing to measure"), "{table}");

    // Silence: loudness checks fail and say silent; a peak limit holds.
    let quiet = dir.path().join("silent.wav");
    tone(&quiet, -f64::INFINITY, 5.0);
    std::fs::write(
        &spec,
        "Spec(name: \"s\", checks: [IntegratedLoudness(target: -23.0, tolerance: 1.0), MaxShortTerm(limit: -30.0), MaxTruePeak(limit: -1.0)])",
    )
    .unwrap();
    let o = qc(&[
        quiet.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--systems",
        "own",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let checks = own_checks(&o);
    for c in &checks[..2] {
        assert_eq!(c["passed"], false, "{c}");
        assert!(c["detail"].as_str().unwrap().contains("silent"), "{c}");
    }
    assert_eq!(checks[2]["passed"], true, "{}", checks[2]);

    // LRA from a single short-term value (a 3.0 s programme) is no range at all.
    let three = dir.path().join("three.wav");
    tone(&three, -23.0, 3.0);
    std::fs::write(
        &spec,
        "Spec(name: \"s\", checks: [MaxLoudnessRange(max: 5.0)])",
    )
    .unwrap();
    let o = qc(&[
        three.to_str().unwrap(),
        "--spec",
        spec.to_str().unwrap(),
        "--systems",
        "own",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let c = &own_checks(&o)[0];
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("1 short-term value(s)"),
        "{c}"
    );
}

#[test]
fn checks_naming_an_unmeasured_system_fail_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("ok.wav");
    tone(&wav, -23.0, 4.0);
    let spec = dir.path().join("s.ron");
    std::fs::write(
        &spec,
        "Spec(name: \"s\", checks: [IntegratedLoudness(target: -23.0, tolerance: 0.5), MaxTruePeak(limit: -1.0, systems: Named([\"5.1.4\"]))])",
    )
    .unwrap();
    let o = qc(&[wav.to_str().unwrap(), "--spec", spec.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("[FAIL] check not applied: true peak <= -1.0 dBTP")
            && table.contains("5.1.4")
            && table.contains("spec s: FAILED"),
        "{table}"
    );
}

#[test]
fn usage_errors_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("t.wav");
    tone(&wav, -23.0, 1.0);
    let file = dir.path().join("plots.txt");
    std::fs::write(&file, "x").unwrap();
    let o = qc(&[wav.to_str().unwrap(), "--plots", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("is a file; give a folder"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    let o = qc(&[wav.to_str().unwrap(), "--systems", "own,foo"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("'foo'") && e.contains("own, mono, binaural") && e.contains("7.1.4"),
        "{e}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(["qc", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("own, mono, binaural"), "{help}");
}
