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

/// A BS.2076-3 master meant to pass the BS.2168 emission profile: one programme, one
/// content (with `dialogue`, labels in English), one object with `interact` and no
/// start/duration, a trackUID that names its channel and pack directly (no track or
/// stream formats), a polar block with distance.
const XML3: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore_2016"><coreMetadata><format>
<audioFormatExtended version="ITU-R_BS.2076-3">
<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="Main" audioProgrammeLanguage="eng"><audioProgrammeLabel language="eng">Main mix</audioProgrammeLabel><audioContentIDRef>ACO_1001</audioContentIDRef>PROGEXTRA</audioProgramme>
<audioContent audioContentID="ACO_1001" audioContentName="Dialogue" audioContentLanguage="eng"><audioContentLabel language="eng">Dialogue</audioContentLabel>CONTEXTRA<audioObjectIDRef>AO_1001</audioObjectIDRef><dialogue dialogueContentKind="1">1</dialogue></audioContent>
<audioObject audioObjectID="AO_1001" audioObjectName="Voice" interact="0"OBJATTR><audioObjectLabel language="eng">Voice</audioObjectLabel>OBJLABEL<audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef>OBJEXTRA</audioObject>
MOREOBJ<audioPackFormat audioPackFormatID="AP_00031001" audioPackFormatName="Voice" typeLabel="0003" typeDefinition="Objects"><audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef></audioPackFormat>
<audioChannelFormat audioChannelFormatID="AC_00031001" audioChannelFormatName="Voice" typeLabel="0003" typeDefinition="Objects">
<audioBlockFormat audioBlockFormatID="AB_00031001_00000001" rtime="00:00:00.00000" duration="00:00:01.00000">BLOCK</audioBlockFormat>
</audioChannelFormat>
<audioTrackUID UID="ATU_00000001" sampleRate="48000" bitDepth="24"><audioChannelFormatIDRef>AC_00031001_00</audioChannelFormatIDRef><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef>UIDEXTRA</audioTrackUID>
</audioFormatExtended></format></coreMetadata></ebuCoreMain>"#;

/// A BS.2168 case: (what, XML edits, expected rule, expected element).
type Case3<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str, &'a str);

const ROW3: Row = (1, "ATU_00000001", "AC_00031001_00", "AP_00031001");

const POLAR: &str = r#"<position coordinate="azimuth">30</position><position coordinate="elevation">0</position><position coordinate="distance">1</position>"#;

fn master3(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut x = XML3.to_string();
    for (a, b) in edits {
        x = x.replace(a, b);
    }
    for (k, v) in [
        ("PROGEXTRA", ""),
        ("CONTEXTRA", ""),
        ("OBJATTR", ""),
        ("OBJLABEL", ""),
        ("OBJEXTRA", ""),
        ("MOREOBJ", ""),
        ("UIDEXTRA", ""),
        ("BLOCK", POLAR),
    ] {
        x = x.replace(k, v);
    }
    let p = dir.join(name);
    let chunks = vec![(*b"chna", chna(&[ROW3])), (*b"axml", x.into_bytes())];
    let mut w = WavWriter::create_bw64(&p, 48000, 1, SampleFormat::S24, &chunks).unwrap();
    w.write(&vec![0.0; 48000]).unwrap();
    w.finalize(48000, 0).unwrap();
    p
}

/// `n` extra programmes, each with its own content and object (sharing the one track).
fn extra_programmes(n: usize) -> (String, String) {
    let mut progs = String::new();
    let mut rest = String::new();
    for i in 0..n {
        let k = 2001 + i;
        progs.push_str(&format!(
            r#"<audioProgramme audioProgrammeID="APR_{k}" audioProgrammeName="p{k}"><audioContentIDRef>ACO_{k}</audioContentIDRef></audioProgramme>"#
        ));
        rest.push_str(&format!(
            r#"<audioContent audioContentID="ACO_{k}" audioContentName="c{k}"><audioObjectIDRef>AO_{k}</audioObjectIDRef><dialogue dialogueContentKind="1">1</dialogue></audioContent><audioObject audioObjectID="AO_{k}" audioObjectName="o{k}" interact="0"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef></audioObject>"#
        ));
    }
    (progs, rest)
}

#[test]
fn bs2168_a_conforming_master_passes_and_each_rule_is_reported() {
    let d = tempfile::tempdir().unwrap();
    let good = master3(d.path(), "good.wav", &[]);
    for level in [None, Some(0), Some(1), Some(2)] {
        let r = validate(&good, "bs2168", level).unwrap();
        assert!(r.passed(), "level {level:?}: {:?}", r.violations);
        assert_eq!(r.level, Some(level.unwrap_or(2)));
    }
    // The same file fails the EBU profile (BS.2076-3 is not Tech 3392's version).
    let ebu = validate(&good, "ebu", None).unwrap();
    assert!(ebu.violations.iter().any(|v| v.rule == "EBU2"));

    let long = "x".repeat(65);
    let name_edit = format!(r#"audioObjectName="{long}""#);
    let label_edit = format!(r#"<audioObjectLabel language="eng">{long}</audioObjectLabel>"#);
    let cases: Vec<Case3> = vec![
        (
            "BS.2076-1",
            vec![("ITU-R_BS.2076-3", "ITU-R_BS.2076-1")],
            "BS14",
            "file",
        ),
        (
            "two objects in a content",
            vec![
                ("CONTEXTRA", "<audioObjectIDRef>AO_1002</audioObjectIDRef>"),
                (
                    "MOREOBJ",
                    r#"<audioObject audioObjectID="AO_1002" audioObjectName="n" interact="0"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef></audioObject>"#,
                ),
            ],
            "BS15",
            "ACO_1001",
        ),
        (
            "two packs on an object",
            vec![(
                "OBJEXTRA",
                "<audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef>",
            )],
            "BS16",
            "AO_1001",
        ),
        (
            "no pack on the trackUID",
            vec![(
                "<audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef>UIDEXTRA",
                "",
            )],
            "BS17",
            "ATU_00000001",
        ),
        (
            "a track format on the trackUID",
            vec![(
                "UIDEXTRA",
                "<audioTrackFormatIDRef>AT_00031001_01</audioTrackFormatIDRef>",
            )],
            "BS19",
            "ATU_00000001",
        ),
        (
            "nested objects and a pack",
            vec![
                ("OBJEXTRA", "<audioObjectIDRef>AO_1002</audioObjectIDRef>"),
                (
                    "MOREOBJ",
                    r#"<audioObject audioObjectID="AO_1002" audioObjectName="n" interact="0"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef></audioObject>"#,
                ),
            ],
            "BS20",
            "AO_1001",
        ),
        (
            "a name of 65 bytes",
            vec![(r#"audioObjectName="Voice""#, name_edit.as_str())],
            "BS21",
            "AO_1001",
        ),
        (
            "an empty name",
            vec![(r#"audioContentName="Dialogue""#, r#"audioContentName="""#)],
            "BS21",
            "ACO_1001",
        ),
        (
            "a label of 65 bytes",
            vec![("OBJLABEL", label_edit.as_str())],
            "BS22",
            "AO_1001",
        ),
        (
            "a label without language",
            vec![("OBJLABEL", "<audioObjectLabel>Stimme</audioObjectLabel>")],
            "BS23",
            "AO_1001",
        ),
        (
            "a label in und",
            vec![(
                r#"<audioContentLabel language="eng">"#,
                r#"<audioContentLabel language="und">"#,
            )],
            "BS24",
            "ACO_1001",
        ),
        (
            "a label in a made-up language",
            vec![(
                r#"<audioContentLabel language="eng">"#,
                r#"<audioContentLabel language="xxq">"#,
            )],
            "BS24",
            "ACO_1001",
        ),
        (
            "two labels in one language",
            vec![(
                "OBJLABEL",
                r#"<audioObjectLabel language="eng">Voice 2</audioObjectLabel>"#,
            )],
            "BS25",
            "AO_1001",
        ),
        (
            "a programme language that is no code",
            vec![(
                r#"audioProgrammeLanguage="eng""#,
                r#"audioProgrammeLanguage="english""#,
            )],
            "BS26",
            "APR_1001",
        ),
        (
            "no dialogue element",
            vec![(r#"<dialogue dialogueContentKind="1">1</dialogue>"#, "")],
            "BS27",
            "ACO_1001",
        ),
        (
            "no interact",
            vec![(r#" interact="0""#, "")],
            "BS28",
            "AO_1001",
        ),
        (
            "a start",
            vec![("OBJATTR", r#" start="00:00:00.00000""#)],
            "BS29",
            "AO_1001",
        ),
        (
            "a duration",
            vec![("OBJATTR", r#" duration="00:00:01.00000""#)],
            "BS30",
            "AO_1001",
        ),
        (
            "a dialogue attribute",
            vec![("OBJATTR", r#" dialogue="1""#)],
            "BS31",
            "AO_1001",
        ),
        (
            "an importance",
            vec![("OBJATTR", r#" importance="5""#)],
            "BS32",
            "AO_1001",
        ),
        (
            "disableDucking",
            vec![("OBJATTR", r#" disableDucking="1""#)],
            "BS33",
            "AO_1001",
        ),
        (
            "a polar block without distance",
            vec![(
                "BLOCK",
                r#"<position coordinate="azimuth">30</position><position coordinate="elevation">0</position>"#,
            )],
            "BS34",
            "AB_00031001_00000001",
        ),
        (
            "a Cartesian block without Z",
            vec![(
                "BLOCK",
                r#"<cartesian>1</cartesian><position coordinate="X">0.5</position><position coordinate="Y">1</position>"#,
            )],
            "BS35",
            "AB_00031001_00000001",
        ),
        (
            "a polar divergence with positionRange",
            vec![(
                "BLOCK",
                r#"<position coordinate="azimuth">30</position><position coordinate="elevation">0</position><position coordinate="distance">1</position><objectDivergence positionRange="0.2">0.5</objectDivergence>"#,
            )],
            "BS36",
            "AB_00031001_00000001",
        ),
    ];
    for (i, (what, edits, rule, id)) in cases.iter().enumerate() {
        let p = master3(d.path(), &format!("bad{i}.wav"), edits);
        let r = validate(&p, "bs2168", None).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            r.violations.iter().any(|v| v.rule == *rule && v.id == *id),
            "{what}: expected {rule} on {id}, got {:?}",
            r.violations
        );
    }
}

#[test]
fn bs2168_levels_set_the_element_counts() {
    let d = tempfile::tempdir().unwrap();
    let rules = |p: &Path, level| -> Vec<(String, String)> {
        validate(p, "bs2168", Some(level))
            .unwrap()
            .violations
            .into_iter()
            .map(|v| (v.rule, v.id))
            .collect()
    };
    // 10 programmes (and contents, objects): over level 1's 8, within level 2's 16.
    let (progs, rest) = extra_programmes(9);
    let with = format!("PROGEXTRA</audioProgramme>{progs}");
    let p = master3(
        d.path(),
        "ten.wav",
        &[
            ("MOREOBJ", rest.as_str()),
            ("PROGEXTRA</audioProgramme>", with.as_str()),
        ],
    );
    let l1 = rules(&p, 1);
    assert!(l1.contains(&("BS1-L1".into(), "file".into())), "{l1:?}");
    assert!(rules(&p, 2).is_empty(), "{:?}", rules(&p, 2));
    assert!(rules(&p, 0).is_empty());
    // Five labels on one object: over level 1's 4, within level 2's 8.
    let five: String = ["eng", "fre", "ger", "spa", "ita"]
        .iter()
        .map(|l| format!(r#"<audioObjectLabel language="{l}">v</audioObjectLabel>"#))
        .collect();
    let p = master3(
        d.path(),
        "labels.wav",
        &[(
            r#"<audioObjectLabel language="eng">Voice</audioObjectLabel>OBJLABEL"#,
            five.as_str(),
        )],
    );
    assert_eq!(
        rules(&p, 1),
        vec![("BS12-L1".to_string(), "AO_1001".to_string())]
    );
    assert!(rules(&p, 2).is_empty());
    // A level the profile does not have, or a level on a profile without levels: an error.
    assert!(validate(&p, "bs2168", Some(3)).is_err());
    assert!(validate(&p, "ebu", Some(1)).is_err());
}

#[test]
fn bs2168_cli_levels_and_exit_codes() {
    let d = tempfile::tempdir().unwrap();
    let good = master3(d.path(), "good.wav", &[]);
    let g = good.to_str().unwrap();
    let o = run(&["adm", "validate", g, "--profile", "bs2168", "--json"]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["profile"], "bs2168");
    assert_eq!(v["level"], 2);
    assert_eq!(v["passed"], true);
    let bad = master3(d.path(), "bad.wav", &[(r#" interact="0""#, "")]);
    let o = run(&[
        "adm",
        "validate",
        bad.to_str().unwrap(),
        "--profile",
        "bs2168",
        "--level",
        "1",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["level"], 1);
    assert_eq!(v["violations"][0]["rule"], "BS28");
    // --level with a profile that has none is a usage error; so is a level out of range.
    assert_eq!(
        run(&["adm", "validate", g, "--level", "1"]).status.code(),
        Some(2)
    );
    assert_eq!(
        run(&["adm", "validate", g, "--profile", "bs2168", "--level", "5"])
            .status
            .code(),
        Some(2)
    );
    // An export of a scene (BS.2076-1, no interact) does not pass BS.2168.
    let s = Scene::load(&root().join("scenes/demo.ron")).unwrap();
    let out = d.path().join("demo.wav");
    export(&s, &out, &ExportOptions::default(), |_, _| {}).unwrap();
    let r = validate(&out, "bs2168", None).unwrap();
    let rules: Vec<&str> = r.violations.iter().map(|v| v.rule.as_str()).collect();
    assert!(
        rules.contains(&"BS14") && rules.contains(&"BS28"),
        "{rules:?}"
    );
}
