//! `adm validate`: exports of the example scenes pass the structural rules and the EBU
//! profile; a small master broken in each way validation checks is reported with the rule and
//! the element; exit codes 0 / 3 / 1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mixstage::adm::export::{export, ExportOptions};
use mixstage::adm::validate::validate;
use mixstage::io::{SampleFormat, WavWriter};
use mixstage::scene::Scene;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(args)
        .output()
        .expect("runs")
}

/// A one-object, one-track master: two contiguous polar blocks, in an object of 1 s.
const XML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore_2016"><coreMetadata><format>
<audioFormatExtended version="ITU-R_BS.2076-1">
<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="p"><audioContentIDRef>ACO_1001</audioContentIDRef></audioProgramme>
<audioContent audioContentID="ACO_1001" audioContentName="c"><audioObjectIDRef>AO_1001</audioObjectIDRef></audioContent>
<audioObject audioObjectID="AO_1001" audioObjectName="o" start="00:00:00.00000" duration="00:00:01.00000"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef>OBJEXTRA</audioObject>
<audioPackFormat audioPackFormatID="AP_00031001" audioPackFormatName="o" typeLabel="0003" typeDefinition="Objects"><audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef></audioPackFormat>
<audioChannelFormat audioChannelFormatID="AC_00031001" audioChannelFormatName="o" typeLabel="0003" typeDefinition="Objects">
<audioBlockFormat audioBlockFormatID="AB_00031001_00000001" rtime="00:00:00.00000" duration="00:00:00.50000"><position coordinate="azimuth">30</position><position coordinate="elevation">0</position></audioBlockFormat>
<audioBlockFormat audioBlockFormatID="AB_00031001_00000002" rtime="B2START" duration="B2DUR"><position coordinate="X">XVAL</position><position coordinate="Y">0</position><position coordinate="Z">0</position><cartesian>1</cartesian></audioBlockFormat>
</audioChannelFormat>
<audioStreamFormat audioStreamFormatID="AS_00031001" audioStreamFormatName="s" formatLabel="0001" formatDefinition="PCM"><audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef><audioTrackFormatIDRef>AT_00031001_01</audioTrackFormatIDRef></audioStreamFormat>
<audioTrackFormat audioTrackFormatID="AT_00031001_01" audioTrackFormatName="t" formatLabel="0001" formatDefinition="PCM"><audioStreamFormatIDRef>AS_00031001</audioStreamFormatIDRef></audioTrackFormat>
<audioTrackUID UID="ATU_00000001"><audioTrackFormatIDRef>AT_00031001_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef></audioTrackUID>
</audioFormatExtended></format></coreMetadata></ebuCoreMain>"#;

/// chna rows: (track index, UID, track format, pack).
fn chna(rows: &[(u16, &str, &str, &str)]) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(rows.len() as u16).to_le_bytes());
    b.extend_from_slice(&(rows.len() as u16).to_le_bytes());
    for (i, u, t, p) in rows {
        b.extend_from_slice(&i.to_le_bytes());
        for (s, n) in [(*u, 12), (*t, 14), (*p, 11)] {
            let mut f = s.as_bytes().to_vec();
            f.resize(n, 0);
            b.extend_from_slice(&f);
        }
        b.push(0);
    }
    b
}

/// A chna row: (track index, UID, track format, pack).
type Row = (u16, &'static str, &'static str, &'static str);

/// A broken master: (what, XML edits, chna rows, expected rule, expected element).
type Case = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    Vec<Row>,
    &'static str,
    &'static str,
);

const GOOD_ROW: Row = (1, "ATU_00000001", "AT_00031001_01", "AP_00031001");

fn master(
    dir: &Path,
    name: &str,
    edits: &[(&str, &str)],
    rows: &[(u16, &str, &str, &str)],
) -> PathBuf {
    let mut x = XML.to_string();
    for (a, b) in edits {
        x = x.replace(a, b);
    }
    let x = x
        .replace("OBJEXTRA", "")
        .replace("B2START", "00:00:00.50000")
        .replace("B2DUR", "00:00:00.50000")
        .replace("XVAL", "0.5");
    let p = dir.join(name);
    let chunks = vec![(*b"chna", chna(rows)), (*b"axml", x.into_bytes())];
    let mut w = WavWriter::create_bw64(&p, 48000, 1, SampleFormat::S24, &chunks).unwrap();
    w.write(&vec![0.0; 48000]).unwrap();
    w.finalize(48000, 0).unwrap();
    p
}

#[test]
fn a_clean_master_passes_and_each_break_is_reported_with_its_rule() {
    let d = tempfile::tempdir().unwrap();
    let good = master(d.path(), "good.wav", &[], &[GOOD_ROW]);
    let r = validate(&good, "ebu", None).unwrap();
    assert!(r.passed(), "{:?}", r.violations);

    let cases: Vec<Case> = vec![
        (
            "missing reference",
            vec![("<audioObjectIDRef>AO_1001</audioObjectIDRef>", "<audioObjectIDRef>AO_1001</audioObjectIDRef><audioObjectIDRef>AO_1999</audioObjectIDRef>")],
            vec![GOOD_ROW],
            "S1",
            "ACO_1001",
        ),
        (
            "chna disagrees with axml",
            vec![],
            vec![(1, "ATU_00000001", "AT_00031002_01", "AP_00031001")],
            "S2",
            "ATU_00000001",
        ),
        ("track index past the file", vec![], vec![GOOD_ROW, (5, "ATU_00000001", "AT_00031001_01", "AP_00031001")], "S3", "ATU_00000001"),
        ("orphan track", vec![], vec![GOOD_ROW, (1, "ATU_00000009", "AT_00031001_01", "AP_00031001")], "S4", "ATU_00000009"),
        ("gap between blocks", vec![("B2START", "00:00:00.60000"), ("B2DUR", "00:00:00.40000")], vec![GOOD_ROW], "S5", "AB_00031001_00000002"),
        ("block past the object", vec![("B2DUR", "00:00:00.70000")], vec![GOOD_ROW], "S6", "AB_00031001_00000002"),
        ("X out of range", vec![("XVAL", "1.5")], vec![GOOD_ROW], "S7", "AB_00031001_00000002"),
        ("pack and objects", vec![("OBJEXTRA", "<audioObjectIDRef>AO_1002</audioObjectIDRef>"), ("</audioContent>", "</audioContent><audioObject audioObjectID=\"AO_1002\" audioObjectName=\"n\"></audioObject>")], vec![GOOD_ROW], "EBU1", "AO_1001"),
        ("BS.2076-2", vec![("ITU-R_BS.2076-1", "ITU-R_BS.2076-2")], vec![GOOD_ROW], "EBU2", "file"),
    ];
    for (i, (what, edits, rows, rule, id)) in cases.iter().enumerate() {
        let p = master(d.path(), &format!("bad{i}.wav"), edits, rows);
        let r = validate(&p, "ebu", None).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            r.violations.iter().any(|v| v.rule == *rule && v.id == *id),
            "{what}: expected {rule} on {id}, got {:?}",
            r.violations
        );
    }
    // Everything at once: every violation is reported, not only the first.
    let p = master(
        d.path(),
        "all.wav",
        &[
            ("B2START", "00:00:00.60000"),
            ("XVAL", "1.5"),
            ("ITU-R_BS.2076-1", "ITU-R_BS.2076-2"),
        ],
        &[
            GOOD_ROW,
            (1, "ATU_00000009", "AT_00031001_01", "AP_00031001"),
        ],
    );
    let rules: Vec<String> = validate(&p, "ebu", None)
        .unwrap()
        .violations
        .iter()
        .map(|v| v.rule.clone())
        .collect();
    for r in ["S4", "S5", "S7", "EBU2"] {
        assert!(rules.iter().any(|x| x == r), "{r} in {rules:?}");
    }
}

#[test]
fn exports_pass_the_ebu_profile_and_not_dolbys() {
    let d = tempfile::tempdir().unwrap();
    for name in ["demo", "speaker-walk", "cartesian"] {
        let s = Scene::load(&root().join(format!("scenes/{name}.ron"))).unwrap();
        let out = d.path().join(format!("{name}.wav"));
        export(&s, &out, &ExportOptions::default(), |_, _| {}).unwrap();
        let r = validate(&out, "ebu", None).unwrap();
        assert!(
            r.passed(),
            "{name}: {:?}",
            &r.violations[..r.violations.len().min(5)]
        );
        let dolby = validate(&out, "dolby", None).unwrap();
        let rules: Vec<&str> = dolby.violations.iter().map(|v| v.rule.as_str()).collect();
        assert!(
            rules.contains(&"DOL2") && rules.contains(&"DOL6"),
            "{name}: {rules:?}"
        );
    }
}

#[test]
fn exit_codes_and_json() {
    let d = tempfile::tempdir().unwrap();
    let good = master(d.path(), "good.wav", &[], &[GOOD_ROW]);
    let o = run(&["adm", "validate", good.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], true);
    assert_eq!(v["profile"], "ebu");
    assert_eq!(v["violations"], serde_json::json!([]));
    let bad = master(d.path(), "bad.wav", &[("XVAL", "1.5")], &[GOOD_ROW]);
    let o = run(&["adm", "validate", bad.to_str().unwrap(), "--json"]);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["passed"], false);
    assert_eq!(v["violations"][0]["rule"], "S7");
    assert_eq!(v["violations"][0]["id"], "AB_00031001_00000002");
    // Not an ADM master at all, or XML that does not parse: exit 1.
    let plain = d.path().join("plain.wav");
    mixstage::io::write_all(&plain, 48000, &[vec![0.0; 10]], SampleFormat::S16, 0).unwrap();
    assert_eq!(
        run(&["adm", "validate", plain.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    let broken = master(
        d.path(),
        "broken.wav",
        &[("</audioContent>", "</audioContentX>")],
        &[GOOD_ROW],
    );
    assert_eq!(
        run(&["adm", "validate", broken.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    // An unknown profile is a usage error.
    assert_eq!(
        run(&["adm", "validate", good.to_str().unwrap(), "--profile", "x"])
            .status
            .code(),
        Some(2)
    );
}
