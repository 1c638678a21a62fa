//! `mixstage deliver`: a sheet of outputs from one master, checked against exact properties
//! (stems sum to the mix, an M&E is the mix without dialogue, multi-mono files are the mix's
//! channels in the asked order, normalized outputs meet the target, resampling keeps length
//! and loudness, bext fields) and the cache, lock and exit-code rules.

use std::path::{Path, PathBuf};
use std::process::Command;

use mixstage::deliver::{deliver, sheet::Sheet, DeliverOptions};
use mixstage::io::read_all;
use mixstage::qc::system::System;
use mixstage::qc::{Analyzer, QcOptions};
use serde_json::Value;

fn demo() -> String {
    format!("{}/scenes/demo.ron", env!("CARGO_MANIFEST_DIR"))
}

fn write_sheet(dir: &Path, outputs: &str, extra: &str) -> PathBuf {
    let p = dir.join("sheet.ron");
    std::fs::write(
        &p,
        format!(
            "Deliver(\n    master: \"{}\",\n    out_dir: \"out\",\n    start_tc: \"01:00:00:00\",\n    fps: \"25\",\n{extra}    outputs: [\n{outputs}\n    ],\n)\n",
            demo()
        ),
    )
    .unwrap();
    p
}

fn run(sheet: &Path, only: &[&str], force: bool) -> mixstage::deliver::Outcome {
    let s = Sheet::load(sheet).unwrap();
    deliver(
        &s,
        &DeliverOptions {
            only: only.iter().map(|s| s.to_string()).collect(),
            force,
            jobs: 0,
        },
        &|_, _, _| {},
    )
    .unwrap()
}

fn manifest(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("out/manifest.json")).unwrap()).unwrap()
}

fn entry<'a>(m: &'a Value, name: &str) -> &'a Value {
    m["deliverables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no deliverable {name}"))
}

/// Integrated loudness of a file on its own layout, measured here independently.
fn loudness(path: &Path, layout: &str) -> f64 {
    let (info, chans) = read_all(path).unwrap();
    let l = mixstage::Layout::resolve(layout).unwrap();
    let mut a = Analyzer::new(
        info.sample_rate,
        chans.len(),
        vec![System::own(&l)],
        QcOptions::default(),
    )
    .unwrap();
    let n = chans[0].len();
    let mut inter = vec![0f32; n * chans.len()];
    for (c, ch) in chans.iter().enumerate() {
        for (f, &x) in ch.iter().enumerate() {
            inter[f * chans.len() + c] = x;
        }
    }
    a.push(&inter).unwrap();
    a.finish().systems[0].integrated_lufs.unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

const LSB24: f32 = 1.0 / 8_388_608.0;

#[test]
fn a_sheet_delivers_every_output_with_exact_properties() {
    let d = tempfile::tempdir().unwrap();
    let sheet = write_sheet(
        d.path(),
        r#"        (name: "pm-51", layout: "5.1", format: F32),
        (name: "pm-51-norm", layout: "5.1", normalize: true, spec: "ebu-r128"),
        (name: "me-51", layout: "5.1", without: ["dialogue"], format: F32),
        (name: "stems-51", layout: "5.1", stems: true, format: F32),
        (name: "mm", layout: "5.1", split: true, order: ["L", "C", "R", "Ls", "Rs", "LFE"], format: F32),
        (name: "film", layout: "5.1", order: ["L", "C", "R", "Ls", "Rs", "LFE"], format: S24),
        (name: "pm-20", layout: "stereo", format: F32),
        (name: "pm-20-441", layout: "stereo", rate: 44100, format: F32),
        (name: "cut", layout: "stereo", start: "01:00:02:00", end: "01:00:05:00", format: F32),
        (name: "phones", binaural: true, normalize: true, format: S16, spec: "ebu-r128"),"#,
        "",
    );
    let out = run(&sheet, &[], false);
    assert!(out.passed(), "{:?}", out.delivered);
    let o = d.path().join("out");
    let m = manifest(d.path());
    assert_eq!(m["deliverables"].as_array().unwrap().len(), 10);
    assert_eq!(m["master"]["sha256"].as_str().unwrap().len(), 64);

    // Stems sum to the mix; the M&E is the mix without the dialogue stem.
    let (_, mix) = read_all(&o.join("pm-51.wav")).unwrap();
    let stems = entry(&m, "stems-51")["files"].as_array().unwrap().clone();
    assert_eq!(stems.len(), 4);
    let mut sum = vec![vec![0f32; mix[0].len()]; 6];
    let mut dialogue = None;
    for f in &stems {
        assert!(f["path"].as_str().unwrap().starts_with("stems-51."));
        let (_, s) = read_all(&o.join(f["path"].as_str().unwrap())).unwrap();
        for c in 0..6 {
            for (a, b) in sum[c].iter_mut().zip(&s[c]) {
                *a += b;
            }
        }
        if f["group"] == "dialogue" {
            dialogue = Some(s);
        }
    }
    for c in 0..6 {
        assert!(max_diff(&sum[c], &mix[c]) < 1e-5, "stems sum, channel {c}");
    }
    let (_, me) = read_all(&o.join("me-51.wav")).unwrap();
    let dialogue = dialogue.expect("a dialogue stem");
    for c in 0..6 {
        let want: Vec<f32> = mix[c]
            .iter()
            .zip(&dialogue[c])
            .map(|(a, b)| a - b)
            .collect();
        assert!(max_diff(&me[c], &want) < 1e-5, "M&E channel {c}");
    }

    // Multi-mono files and a reordered file hold the mix's channels in the asked order
    // (5.1 is L R C LFE Ls Rs; the film order L C R Ls Rs LFE).
    let film = [0usize, 2, 1, 4, 5, 3];
    for (k, label) in ["L", "C", "R", "Ls", "Rs", "LFE"].iter().enumerate() {
        let (info, ch) = read_all(&o.join(format!("mm.{label}.wav"))).unwrap();
        assert_eq!(info.channels, 1);
        assert_eq!(ch[0], mix[film[k]], "mm.{label}.wav");
    }
    let (finfo, f) = read_all(&o.join("film.wav")).unwrap();
    assert_eq!(
        finfo.channel_mask, None,
        "a reordered file has no channel mask"
    );
    for (k, &c) in film.iter().enumerate() {
        assert!(max_diff(&f[k], &mix[c]) <= 1.5 * LSB24, "film channel {k}");
    }

    // Normalized outputs meet the target (measured here, not taken from the manifest).
    let l = loudness(&o.join("pm-51-norm.wav"), "5.1");
    assert!((l + 23.0).abs() < 0.05, "pm-51-norm {l}");
    let l = loudness(&o.join("phones.wav"), "stereo");
    assert!((l + 23.0).abs() < 0.05, "phones {l}");
    let q = &entry(&m, "pm-51-norm")["files"][0]["qc"];
    assert!((q["integrated_lufs"].as_f64().unwrap() + 23.0).abs() < 0.05);
    assert_eq!(entry(&m, "phones")["files"][0]["layout"], "binaural");
    assert_eq!(entry(&m, "phones")["files"][0]["format"], "s16");

    // Resampling: exact length and the same loudness.
    let (i441, _) = read_all(&o.join("pm-20-441.wav")).unwrap();
    let (i48, _) = read_all(&o.join("pm-20.wav")).unwrap();
    assert_eq!(i441.sample_rate, 44_100);
    assert_eq!(
        i441.frames.unwrap(),
        (i48.frames.unwrap() * 441).div_ceil(480)
    );
    let (a, b) = (
        loudness(&o.join("pm-20-441.wav"), "stereo"),
        loudness(&o.join("pm-20.wav"), "stereo"),
    );
    assert!((a - b).abs() < 0.05, "{a} vs {b}");

    // bext: TimeReference = programme start + the output's start, in the file's samples;
    // loudness fields as measured.
    let bext = |name: &str| {
        mixstage::adm::bw64::scan(&o.join(name))
            .unwrap()
            .bext
            .unwrap()
    };
    assert_eq!(bext("pm-51.wav").time_reference, 3600 * 48_000);
    assert_eq!(bext("pm-20-441.wav").time_reference, 3600 * 44_100);
    assert_eq!(bext("cut.wav").time_reference, 3602 * 48_000);
    assert_eq!(
        read_all(&o.join("cut.wav")).unwrap().0.frames,
        Some(3 * 48_000)
    );
    let b = bext("pm-51-norm.wav");
    assert_eq!(b.version, 2);
    let want = (q["integrated_lufs"].as_f64().unwrap() * 100.0).round() / 100.0;
    assert_eq!(b.loudness.integrated_lufs, Some(want));
    assert!(b.loudness.max_true_peak_dbtp.is_some());
    assert!(b.coding_history.contains("T=mixstage deliver pm-51-norm"));

    // The manifest's hashes are the files'.
    let f0 = &entry(&m, "pm-51")["files"][0];
    assert_eq!(
        f0["sha256"].as_str().unwrap(),
        mixstage::deliver::sha256_file(&o.join("pm-51.wav")).unwrap()
    );
    assert_eq!(f0["channels"], 6);
    assert_eq!(f0["frames"], 576_000);
    assert_eq!(f0["layout"], "5.1");
    assert_eq!(f0["format"], "f32");
}

fn mtimes(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| (e.path(), e.metadata().unwrap().modified().unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn a_second_run_rewrites_nothing_and_a_change_redoes_only_that_output() {
    let d = tempfile::tempdir().unwrap();
    let outputs = r#"        (name: "a", layout: "stereo"),
        (name: "b", layout: "5.1", without: ["dialogue"]),"#;
    let sheet = write_sheet(d.path(), outputs, "");
    let first = run(&sheet, &[], false);
    assert!(first.delivered.iter().all(|x| !x.cached));
    let before = mtimes(&d.path().join("out"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = run(&sheet, &[], false);
    assert!(second.delivered.iter().all(|x| x.cached));
    assert_eq!(mtimes(&d.path().join("out")), before, "nothing rewritten");
    // A changed entry redoes that output only.
    let sheet = write_sheet(
        d.path(),
        &outputs.replace(r#"layout: "stereo")"#, r#"layout: "stereo", format: S16)"#),
        "",
    );
    let third = run(&sheet, &[], false);
    assert_eq!(
        third.delivered.iter().map(|x| x.cached).collect::<Vec<_>>(),
        vec![false, true]
    );
    // --force redoes everything; a deleted file is redone.
    assert!(run(&sheet, &[], true).delivered.iter().all(|x| !x.cached));
    std::fs::remove_file(d.path().join("out/b.wav")).unwrap();
    let again = run(&sheet, &[], false);
    assert_eq!(
        again.delivered.iter().map(|x| x.cached).collect::<Vec<_>>(),
        vec![true, false]
    );
}

#[test]
fn tasks_running_at_once_lose_nothing_in_the_manifest() {
    let d = tempfile::tempdir().unwrap();
    let sheet = write_sheet(
        d.path(),
        r#"        (name: "a", layout: "stereo"),
        (name: "b", layout: "stereo", without: ["music"]),
        (name: "c", layout: "stereo", only: ["music"]),"#,
        "",
    );
    std::thread::scope(|s| {
        for n in ["a", "b", "c"] {
            let sheet = sheet.clone();
            s.spawn(move || run(&sheet, &[n], false));
        }
    });
    let m = manifest(d.path());
    let names: Vec<&str> = m["deliverables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["a", "b", "c"]);
    let html = std::fs::read_to_string(d.path().join("out/report.html")).unwrap();
    for n in ["d-a", "d-b", "d-c"] {
        assert!(html.contains(&format!("id=\"{n}\"")), "{n}");
    }
}

/// Writes a spec file `name` with an integrated-loudness target and a true-peak limit.
fn write_spec(dir: &Path, name: &str, target: f64, peak: f64) {
    std::fs::write(
        dir.join(name),
        format!("Spec(name: \"{name}\", checks: [IntegratedLoudness(target: {target:.1}, tolerance: 0.5), MaxTruePeak(limit: {peak:.1})])"),
    )
    .unwrap();
}

fn mixstage() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mixstage"))
}

#[test]
fn a_failed_check_exits_3_and_bad_sheets_exit_1_naming_the_line() {
    let d = tempfile::tempdir().unwrap();
    write_spec(d.path(), "quiet.ron", -31.0, -1.0);
    let sheet = write_sheet(
        d.path(),
        r#"        (name: "ok", layout: "stereo", spec: "ebu-r128", normalize: true),
        (name: "loud", layout: "stereo", spec: "quiet.ron"),"#,
        "",
    );
    let r = mixstage()
        .arg("deliver")
        .arg(&sheet)
        .arg("-q")
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let m = manifest(d.path());
    assert_eq!(entry(&m, "ok")["passed"], true);
    assert_eq!(entry(&m, "loud")["passed"], false);
    assert_eq!(m["passed"], false);
    let failed = entry(&m, "loud")["files"][0]["qc"]["failed_checks"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(failed, 1);
    let html = std::fs::read_to_string(d.path().join("out/report.html")).unwrap();
    assert!(html.contains("class=\"check fail\""));

    // A sheet with an unknown field: exit 1, the line named, nothing written.
    let bad = d.path().join("bad.ron");
    std::fs::write(
        &bad,
        format!("Deliver(\n master: \"{}\",\n out_dir: \"bad-out\",\n outputs: [\n  (name: \"x\", layuot: \"5.1\"),\n ],\n)", demo()),
    )
    .unwrap();
    let r = mixstage().arg("deliver").arg(&bad).output().unwrap();
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("bad.ron:5") && err.contains("layuot"), "{err}");
    assert!(!d.path().join("bad-out").exists());

    // Two outputs writing the same file (a stem and a mix named like it).
    let clash = write_sheet(
        d.path(),
        r#"        (name: "s", layout: "stereo", stems: true),
        (name: "s.music", layout: "stereo"),"#,
        "",
    );
    let r = mixstage().arg("deliver").arg(&clash).output().unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("would both write s.music.wav"));

    // --only with an unknown name, and a missing master.
    let r = mixstage()
        .args(["deliver", "--only", "nope"])
        .arg(&sheet)
        .output()
        .unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("no output of that name"));
    let gone = d.path().join("gone.ron");
    std::fs::write(&gone, "Deliver(master: \"missing.ron\", out_dir: \"o\", outputs: [(name: \"x\", layout: \"5.1\")])").unwrap();
    let r = mixstage().arg("deliver").arg(&gone).output().unwrap();
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("missing.ron"));
}

#[test]
fn normalize_refuses_a_gain_that_breaks_the_true_peak_limit() {
    let d = tempfile::tempdir().unwrap();
    write_spec(d.path(), "hot.ron", -5.0, -1.0);
    let sheet = write_sheet(
        d.path(),
        r#"        (name: "pm", layout: "stereo", spec: "hot.ron", normalize: true),"#,
        "",
    );
    let s = Sheet::load(&sheet).unwrap();
    let e = deliver(&s, &DeliverOptions::default(), &|_, _, _| {})
        .expect_err("an error")
        .to_string();
    assert!(
        e.contains("true peak") && e.contains("sheet.ron:") && e.contains("'pm'"),
        "{e}"
    );
    assert!(!d.path().join("out/pm.wav").exists());
}

#[test]
fn an_adm_output_is_exported_and_validated() {
    let d = tempfile::tempdir().unwrap();
    let sheet = write_sheet(d.path(), r#"        (name: "master", adm: true),"#, "");
    let out = run(&sheet, &[], false);
    assert!(out.passed());
    let m = manifest(d.path());
    let f = &entry(&m, "master")["files"][0];
    assert_eq!(f["layout"], "adm");
    assert_eq!(
        f["qc"]["validation"]["violations"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let c = mixstage::adm::bw64::scan(&d.path().join("out/master.wav")).unwrap();
    assert!(c.chna.is_some());
}

#[test]
fn render_takes_timecodes_and_writes_the_time_reference() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("r.wav");
    let r = mixstage()
        .args([
            "render",
            &demo(),
            "--layout",
            "stereo",
            "-q",
            "--fps",
            "29.97df",
        ])
        .args([
            "--start-tc",
            "01:00:00;00",
            "--start",
            "01:00:01;00",
            "--end",
            "01:00:03;00",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let b = mixstage::adm::bw64::scan(&out).unwrap().bext.unwrap();
    // 01:00:00;00 drop-frame is frame 107 892, 3599.9964 s after midnight; +1 s (30 frames at 1000/1001).
    let start: f64 = 107_892.0 * 1001.0 / 30_000.0;
    let want = ((start + 30.0 * 1001.0 / 30_000.0) * 48_000.0).round() as u64;
    assert!(
        b.time_reference.abs_diff(want) <= 1,
        "{} vs {want}",
        b.time_reference
    );
    let (info, _) = read_all(&out).unwrap();
    // 01:00:01;00 to 01:00:03;00 is 60 frames of 1001/30000 s.
    assert!(
        info.frames.unwrap().abs_diff(96_096) <= 1,
        "{:?}",
        info.frames
    );
    // A start before the programme, and a frame that drop-frame skips, are errors.
    for bad in ["00:59:00;00", "01:01:00;00"] {
        let r = mixstage()
            .args([
                "render",
                &demo(),
                "--layout",
                "stereo",
                "-q",
                "--fps",
                "29.97df",
            ])
            .args(["--start-tc", "01:00:00;00", "--start", bad, "-o"])
            .arg(d.path().join("bad.wav"))
            .output()
            .unwrap();
        assert_eq!(r.status.code(), Some(1), "{bad}");
        assert!(!d.path().join("bad.wav").exists());
    }
}

/// An ADM master as the sheet's master: its own bext TimeReference is the programme's start,
/// and `without: ["dialogue"]` leaves out its dialogue audioContents.
#[test]
fn an_adm_master_delivers_from_its_own_time_reference() {
    let d = tempfile::tempdir().unwrap();
    let master = d.path().join("master.wav");
    let r = mixstage()
        .args(["adm", "export", &demo(), "-q", "-o"])
        .arg(&master)
        .output()
        .unwrap();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    // Set the master's TimeReference to 10:00:00:00 at 48 kHz.
    let mut bytes = std::fs::read(&master).unwrap();
    let at = bytes.windows(4).position(|w| w == b"bext").unwrap() + 8 + 338;
    let tr: u64 = 10 * 3600 * 48_000;
    bytes[at..at + 8].copy_from_slice(&tr.to_le_bytes());
    std::fs::write(&master, &bytes).unwrap();
    let sheet = d.path().join("sheet.ron");
    std::fs::write(
        &sheet,
        r#"Deliver(master: "master.wav", out_dir: "out", outputs: [
    (name: "pm", layout: "5.1", format: F32),
    (name: "me", layout: "5.1", without: ["dialogue"], format: F32),
    (name: "tail", layout: "5.1", start: "10:00:04:00", format: F32),
    (name: "dx", layout: "5.1", only: ["dialogue"], format: F32),
])"#,
    )
    .unwrap();
    run(&sheet, &[], false);
    let o = d.path().join("out");
    let bext = |name: &str| {
        mixstage::adm::bw64::scan(&o.join(name))
            .unwrap()
            .bext
            .unwrap()
    };
    assert_eq!(bext("pm.wav").time_reference, tr);
    assert_eq!(bext("tail.wav").time_reference, tr + 4 * 48_000);
    let (_, pm) = read_all(&o.join("pm.wav")).unwrap();
    let (_, me) = read_all(&o.join("me.wav")).unwrap();
    let (_, tail) = read_all(&o.join("tail.wav")).unwrap();
    assert_eq!(tail[0].len(), pm[0].len() - 4 * 48_000);
    // The M&E and the dialogue (the master's dialogue contents) sum to the mix, and the
    // dialogue is not silent.
    let (_, dx) = read_all(&o.join("dx.wav")).unwrap();
    for c in 0..6 {
        let sum: Vec<f32> = me[c].iter().zip(&dx[c]).map(|(a, b)| a + b).collect();
        assert!(max_diff(&sum, &pm[c]) < 1e-5, "channel {c}");
    }
    assert!(
        dx.iter().flatten().any(|x| x.abs() > 1e-3),
        "the dialogue contents are heard"
    );
}
