//! Per-element headphone (binaural) render modes from ADM masters: the Dolby `dbmd` chunk's
//! modes mapped onto bed channels and objects by file track, and BS.2076-2
//! `headphoneVirtualise` / `headLocked` as `adm info` shows them.
//!
//! The masters here are built byte by byte; the `dbmd` chunk follows the layout of Dolby's
//! parser (DolbyLaboratories/dbmd-atmos-parser, `dbmd_atmos_parse.c`), described in
//! `src/adm/dbmd.rs`. The real masters other tools wrote (a Pro Tools master with a 7.1.2 bed,
//! Dolby's samples) are not committed: they are read from `$MIXSTAGE_ADM_REAL` or
//! `../shared/adm-real` when there (see tests/data/adm/README.md), and skipped otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use mixstage::adm::dbmd::{self, RenderMode};
use mixstage::adm::model::BinauralMode;
use mixstage::adm::{self, AdmOptions};

const RATE: u32 = 48_000;
const FRAMES: usize = 4_800;

// ---------------------------------------------------------------- RIFF bytes

fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = id.to_vec();
    v.extend((body.len() as u32).to_le_bytes());
    v.extend(body);
    if body.len() % 2 == 1 {
        v.push(0);
    }
    v
}

fn fmt(channels: u16) -> Vec<u8> {
    let mut b = 1u16.to_le_bytes().to_vec();
    b.extend(channels.to_le_bytes());
    b.extend(RATE.to_le_bytes());
    b.extend((RATE * 2 * channels as u32).to_le_bytes());
    b.extend((2 * channels).to_le_bytes());
    b.extend(16u16.to_le_bytes());
    chunk(b"fmt ", &b)
}

/// A quiet 16-bit tone on every channel.
fn data(channels: u16) -> Vec<u8> {
    let mut b = Vec::new();
    for n in 0..FRAMES {
        for c in 0..channels {
            let f = 200.0 * (c + 1) as f64;
            let x = 0.1 * (std::f64::consts::TAU * f * n as f64 / RATE as f64).sin();
            b.extend(((x * 32767.0) as i16).to_le_bytes());
        }
    }
    chunk(b"data", &b)
}

/// `chna` rows: (track index, UID, track format, pack).
fn chna(rows: &[(u16, &str, &str, &str)]) -> Vec<u8> {
    let mut b = (rows.len() as u16).to_le_bytes().to_vec();
    b.extend((rows.len() as u16).to_le_bytes());
    for (idx, uid, track, pack) in rows {
        b.extend(idx.to_le_bytes());
        for (s, n) in [(*uid, 12), (*track, 14), (*pack, 11)] {
            let mut f = s.as_bytes().to_vec();
            f.resize(n, 0);
            b.extend(f);
        }
        b.push(0);
    }
    chunk(b"chna", &b)
}

fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body = chunks.concat();
    let mut v = b"RIFF".to_vec();
    v.extend(((body.len() + 4) as u32).to_le_bytes());
    v.extend(b"WAVE");
    v.extend(body);
    v
}

// ---------------------------------------------------------------- dbmd bytes, as Dolby's parser reads them

/// A segment: 1-byte ID, u16 LE payload size, payload, checksum (two's complement of the size's
/// low byte plus the payload bytes).
fn segment(id: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![id];
    s.extend((payload.len() as u16).to_le_bytes());
    s.extend(payload);
    let sum = payload
        .iter()
        .fold(payload.len() as u8, |a, &x| a.wrapping_add(x));
    s.push(0u8.wrapping_sub(sum));
    s
}

/// Dolby Atmos segment (ID 9, 248 bytes): 32 reserved, 64-byte tool name, 3-byte version, 53
/// undescribed, the warp-mode byte (low 3 bits), 15 reserved, 80 undescribed.
fn atmos_segment(tool: &str, version: [u8; 3], warp: u8) -> Vec<u8> {
    let mut p = vec![0u8; 248];
    p[32..32 + tool.len()].copy_from_slice(tool.as_bytes());
    p[96..99].copy_from_slice(&version);
    p[99 + 53] = warp;
    segment(9, &p)
}

/// Dolby Atmos supplemental segment (ID 10): sync 0xF8726FBD, u16 count n, 1 reserved, nine
/// 15-byte trim configurations (bit 0 of the first byte: automatic), n trim bytes, n headphone
/// bytes (low 3 bits: binaural render mode).
fn supplemental_segment(headphone: &[u8]) -> Vec<u8> {
    let mut p = 0xF872_6FBDu32.to_le_bytes().to_vec();
    p.extend((headphone.len() as u16).to_le_bytes());
    p.push(0);
    for _ in 0..9 {
        let mut t = [0u8; 15];
        t[0] = 1;
        p.extend(t);
    }
    p.extend(vec![0u8; headphone.len()]);
    p.extend(headphone);
    segment(10, &p)
}

/// A dbmd chunk's data: version 1.0.0.6, a Dolby Digital Plus segment (skipped), the Atmos and
/// supplemental segments, the end marker.
fn dbmd_body(headphone: &[u8]) -> Vec<u8> {
    let mut c = 0x0100_0006u32.to_le_bytes().to_vec();
    c.extend(segment(7, &[0x24; 96]));
    c.extend(atmos_segment("Test Renderer", [1, 2, 3], 4));
    c.extend(supplemental_segment(headphone));
    c.push(0);
    c
}

// ---------------------------------------------------------------- the master

/// A stereo bed (AO_1001, BS.2094 common definitions AP_00010002, tracks 1 and 2) and two
/// objects whose tracks run against their XML order: AO_100B (listed first) on track 4,
/// AO_100C on track 3. AO_100B's block is bypassed for headphones and head-locked.
fn axml() -> String {
    let obj = |n: u32, name: &str, extra: &str| {
        let id = format!("{:04X}", 0x1000 + n);
        format!(
            r#"<audioObject audioObjectID="AO_{id}" audioObjectName="{name}"><audioPackFormatIDRef>AP_0003{id}</audioPackFormatIDRef><audioTrackUIDRef>ATU_{n:08X}</audioTrackUIDRef></audioObject>
<audioPackFormat audioPackFormatID="AP_0003{id}" audioPackFormatName="{name}" typeDefinition="Objects"><audioChannelFormatIDRef>AC_0003{id}</audioChannelFormatIDRef></audioPackFormat>
<audioChannelFormat audioChannelFormatID="AC_0003{id}" audioChannelFormatName="{name}" typeDefinition="Objects">
<audioBlockFormat audioBlockFormatID="AB_0003{id}_00000001" rtime="00:00:00.00000" duration="00:00:00.10000"><position coordinate="azimuth">30</position><position coordinate="elevation">0</position>{extra}</audioBlockFormat>
</audioChannelFormat>
<audioStreamFormat audioStreamFormatID="AS_0003{id}" formatDefinition="PCM"><audioChannelFormatIDRef>AC_0003{id}</audioChannelFormatIDRef><audioTrackFormatIDRef>AT_0003{id}_01</audioTrackFormatIDRef></audioStreamFormat>
<audioTrackFormat audioTrackFormatID="AT_0003{id}_01" formatDefinition="PCM"><audioStreamFormatIDRef>AS_0003{id}</audioStreamFormatIDRef></audioTrackFormat>
<audioTrackUID UID="ATU_{n:08X}"><audioTrackFormatIDRef>AT_0003{id}_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_0003{id}</audioPackFormatIDRef></audioTrackUID>"#
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore_2016"><coreMetadata><format>
<audioFormatExtended version="ITU-R_BS.2076-2">
<audioProgramme audioProgrammeID="APR_1001" audioProgrammeName="Main"><audioContentIDRef>ACO_1001</audioContentIDRef></audioProgramme>
<audioContent audioContentID="ACO_1001" audioContentName="Mix"><audioObjectIDRef>AO_1001</audioObjectIDRef><audioObjectIDRef>AO_100B</audioObjectIDRef><audioObjectIDRef>AO_100C</audioObjectIDRef></audioContent>
<audioObject audioObjectID="AO_1001" audioObjectName="Bed"><audioPackFormatIDRef>AP_00010002</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef><audioTrackUIDRef>ATU_00000002</audioTrackUIDRef></audioObject>
<audioTrackUID UID="ATU_00000001"><audioTrackFormatIDRef>AT_00010001_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_00010002</audioPackFormatIDRef></audioTrackUID>
<audioTrackUID UID="ATU_00000002"><audioTrackFormatIDRef>AT_00010002_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_00010002</audioPackFormatIDRef></audioTrackUID>
{}
{}
</audioFormatExtended>
</format></coreMetadata></ebuCoreMain>
"#,
        obj(
            0xB,
            "Dx",
            r#"<headphoneVirtualise bypass="1"/><headLocked>1</headLocked>"#
        ),
        obj(0xC, "Fx", r#"<headphoneVirtualise DRR="6"/>"#),
    )
}

fn rows() -> Vec<(u16, &'static str, &'static str, &'static str)> {
    vec![
        (1, "ATU_00000001", "AT_00010001_01", "AP_00010002"),
        (2, "ATU_00000002", "AT_00010002_01", "AP_00010002"),
        (3, "ATU_0000000C", "AT_0003100C_01", "AP_0003100C"),
        (4, "ATU_0000000B", "AT_0003100B_01", "AP_0003100B"),
    ]
}

/// The master with this `dbmd` chunk data (none: no chunk).
fn master(dbmd: Option<&[u8]>) -> Vec<u8> {
    let mut c = vec![
        fmt(4),
        data(4),
        chunk(b"axml", axml().as_bytes()),
        chna(&rows()),
    ];
    if let Some(d) = dbmd {
        c.push(chunk(b"dbmd", d));
    }
    riff(&c)
}

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mixstage-adm-dbmd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Track order: bed L far, bed R bypass, track 3 near, track 4 mid (with the top bits Dolby
/// writes set, which do not change the mode).
const MODES: [u8; 4] = [0x82, 0x80, 0x81, 0x83];

#[test]
fn dbmd_modes_map_onto_bed_channels_and_objects_by_file_track() {
    let path = write("mapped.wav", &master(Some(&dbmd_body(&MODES))));
    let m = adm::load(&path, &AdmOptions::default()).unwrap();
    let d = m.dbmd.as_ref().expect("dbmd parsed");
    assert_eq!(d.version_string(), "1.0.0.6");
    let a = d.atmos.as_ref().unwrap();
    assert_eq!(
        (a.tool.as_str(), a.tool_version, a.warp_mode),
        ("Test Renderer", [1, 2, 3], 4)
    );
    assert_eq!(
        d.supplemental.as_ref().unwrap().render_modes(),
        [
            RenderMode::Far,
            RenderMode::Bypass,
            RenderMode::Near,
            RenderMode::Mid
        ]
    );
    assert!(
        !m.warnings.list.iter().any(|w| w.contains("dbmd")),
        "{:?}",
        m.warnings.list
    );

    // The bed: one mode per channel, in its channels' track order.
    let bed = m.dbmd_object_modes("AO_1001");
    let got: Vec<_> = bed
        .iter()
        .map(|t| (t.track, t.channel.as_deref(), t.mode))
        .collect();
    assert_eq!(
        got,
        [
            (Some(1), Some("AC_00010001"), Some(RenderMode::Far)),
            (Some(2), Some("AC_00010002"), Some(RenderMode::Bypass)),
        ]
    );
    // The objects by their tracks (AO_100B is first in the XML but on track 4).
    let one = |id: &str| {
        let v = m.dbmd_object_modes(id);
        assert_eq!(v.len(), 1, "{id}");
        (v[0].track, v[0].mode)
    };
    assert_eq!(one("AO_100B"), (Some(4), Some(RenderMode::Mid)));
    assert_eq!(one("ao_100c"), (Some(3), Some(RenderMode::Near)));
    assert!(m.dbmd_object_modes("AO_1FFF").is_empty());
    assert_eq!(m.dbmd_track_mode(2), Some(RenderMode::Bypass));
    assert_eq!(m.dbmd_track_mode(5), None);

    // Each rendering item gets its track's mode.
    let mut per_item: Vec<(String, Option<BinauralMode>)> = m
        .items
        .iter()
        .map(|it| (it.channel.clone(), m.dbmd_item_mode(it)))
        .collect();
    per_item.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        per_item,
        [
            ("AC_00010001".to_string(), Some(BinauralMode::Far)),
            ("AC_00010002".to_string(), Some(BinauralMode::Off)),
            ("AC_0003100B".to_string(), Some(BinauralMode::Mid)),
            ("AC_0003100C".to_string(), Some(BinauralMode::Near)),
        ]
    );

    // The XML side of the same master.
    let b = &m.adm.channel("AC_0003100B").unwrap().blocks[0];
    assert_eq!(b.headphone.unwrap().mode(), Some(BinauralMode::Off));
    assert!(b.head_locked);
    let c = &m.adm.channel("AC_0003100C").unwrap().blocks[0];
    assert_eq!(
        c.headphone.map(|h| (h.bypass, h.drr_db)),
        Some((false, 6.0))
    );
    assert!(!c.head_locked);
}

#[test]
fn a_master_without_dbmd_has_no_modes() {
    let path = write("plain.wav", &master(None));
    let m = adm::load(&path, &AdmOptions::default()).unwrap();
    assert!(m.dbmd.is_none());
    assert!(m.items.iter().all(|it| m.dbmd_item_mode(it).is_none()));
    assert!(m
        .dbmd_object_modes("AO_1001")
        .iter()
        .all(|t| t.mode.is_none()));
}

#[test]
fn a_count_other_than_the_tracks_is_a_warning() {
    let path = write("short.wav", &master(Some(&dbmd_body(&MODES[..3]))));
    let m = adm::load(&path, &AdmOptions::default()).unwrap();
    let w = m.warnings.list.join("\n");
    assert!(
        w.contains("3 binaural render modes for 4 tracks") && w.contains("tracks 4 to 4 have none"),
        "{w}"
    );
    assert_eq!(m.dbmd_track_mode(4), None);
    assert_eq!(m.dbmd_object_modes("AO_100B")[0].mode, None);
    assert_eq!(
        m.dbmd_object_modes("AO_100C")[0].mode,
        Some(RenderMode::Near)
    );
}

#[test]
fn a_truncated_dbmd_chunk_is_left_out_with_a_warning_naming_file_and_byte() {
    let body = dbmd_body(&MODES);
    let cut = &body[..body.len() - 6]; // inside the supplemental segment
    let bytes = master(Some(cut));
    let path = write("truncated.wav", &bytes);
    let m = adm::load(&path, &AdmOptions::default()).unwrap();
    assert!(m.dbmd.is_none());
    // The supplemental segment starts after the version, DD+ (3 + 96 + 1) and Atmos (3 + 248 + 1).
    let chunk_data = bytes.windows(4).position(|w| w == b"dbmd").unwrap() + 8;
    let seg = chunk_data + 4 + 100 + 252;
    let w = m.warnings.list.join("\n");
    assert!(
        w.contains(&path.display().to_string())
            && w.contains(&format!("byte {seg}:"))
            && w.contains("truncated")
            && w.contains("ignored"),
        "{w}"
    );
    // --strict makes it an error.
    let strict = AdmOptions {
        strict: true,
        ..Default::default()
    };
    let e = adm::load(&path, &strict).unwrap_err().to_string();
    assert!(e.contains(&format!("byte {seg}:")), "{e}");
}

#[test]
fn adm_info_shows_the_modes_and_the_headphone_elements() {
    let path = write("info.wav", &master(Some(&dbmd_body(&MODES))));
    let out = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(["adm", "info"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = |id: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("object {id} ")))
            .unwrap_or_else(|| panic!("no {id} in {text}"))
            .to_string()
    };
    assert!(
        line("AO_1001").ends_with("dbmd binaural far (track 1), off (track 2)"),
        "{text}"
    );
    let dx = line("AO_100B");
    assert!(
        dx.contains("headphoneVirtualise in 1 of 1 blocks (bypass in 1)")
            && dx.contains("headLocked in 1 of 1 blocks")
            && dx.ends_with("dbmd binaural mid"),
        "{dx}"
    );
    let fx = line("AO_100C");
    assert!(
        fx.contains("headphoneVirtualise in 1 of 1 blocks DRR 6 dB")
            && !fx.contains("headLocked")
            && fx.ends_with("dbmd binaural near"),
        "{fx}"
    );
    assert!(
        text.contains("dbmd: Dolby audio metadata 1.0.0.6 from 'Test Renderer' 1.2.3"),
        "{text}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(["adm", "info", "--json"])
        .arg(&path)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["dbmd"]["binaural_render_modes"],
        serde_json::json!(["far", "off", "near", "mid"])
    );
    let objects = v["objects"].as_array().unwrap();
    let o = |id: &str| objects.iter().find(|o| o["id"] == id).unwrap();
    assert_eq!(o("AO_100B")["dbmd_binaural"][0]["mode"], "mid");
    assert_eq!(o("AO_100B")["dbmd_binaural"][0]["track"], 4);
    assert_eq!(o("AO_100B")["headphone_virtualise"]["bypass_blocks"], 1);
    assert_eq!(o("AO_100B")["head_locked_blocks"], 1);
    assert_eq!(
        o("AO_100C")["headphone_virtualise"]["drr_db"],
        serde_json::json!([6.0])
    );
    assert_eq!(o("AO_1001")["dbmd_binaural"][1]["channel"], "AC_00010002");
    assert_eq!(o("AO_1001")["dbmd_binaural"][1]["mode"], "off");
}

// ---------------------------------------------------------------- real masters, when present

fn real_root() -> Option<PathBuf> {
    let dir = std::env::var_os("MIXSTAGE_ADM_REAL")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/adm-real"));
    dir.join("real").is_dir().then_some(dir)
}

#[test]
fn real_masters_dbmd_modes() {
    let Some(root) = real_root() else {
        eprintln!("real masters not found (MIXSTAGE_ADM_REAL): skipped");
        return;
    };
    let real = root.join("real");
    let mut checked = 0;

    // Pro Tools / Dolby Atmos Renderer: 7.1.2 bed on tracks 1-10, four objects on 11-14; the
    // only mode given is bypass, on track 4: the bed's LFE.
    let pt = real.join("Test_ADM_ProTools_testsignals.wav");
    if pt.exists() {
        let m = adm::load(&pt, &AdmOptions::default()).unwrap();
        let d = m.dbmd.as_ref().unwrap();
        assert!(d.segments.iter().all(|s| s.checksum_ok));
        let a = d.atmos.as_ref().unwrap();
        assert_eq!(
            (a.tool.as_str(), a.tool_version, a.warp_mode),
            ("Pro Tools", [22, 9, 0], 3)
        );
        let s = d.supplemental.as_ref().unwrap();
        assert_eq!(s.len(), 14);
        assert_eq!(s.headphone[3], 0x80);
        let bed = m.dbmd_object_modes("AO_1001");
        assert_eq!(bed.len(), 10);
        for (k, t) in bed.iter().enumerate() {
            assert_eq!(t.track, Some(k + 1));
            let want = if k == 3 {
                RenderMode::Bypass
            } else {
                RenderMode::NotIndicated
            };
            assert_eq!(t.mode, Some(want), "bed channel {k}");
        }
        let lfe = m.adm.channel(bed[3].channel.as_deref().unwrap()).unwrap();
        assert_eq!(lfe.name, "RoomCentricLFE");
        for (id, track) in [
            ("AO_100B", 11),
            ("AO_100C", 12),
            ("AO_100D", 13),
            ("AO_100E", 14),
        ] {
            let v = m.dbmd_object_modes(id);
            assert_eq!(
                (v[0].track, v[0].mode),
                (Some(track), Some(RenderMode::NotIndicated))
            );
        }
        checked += 1;
    }

    // Dolby's sample 0 (Dolby Atmos Conversion Tool 1.8.0): two objects, modes not indicated.
    let dolby = real.join("dolby_sample_adm_file_0_first250ms.wav");
    if dolby.exists() {
        let m = adm::load(&dolby, &AdmOptions::default()).unwrap();
        let d = m.dbmd.as_ref().unwrap();
        let a = d.atmos.as_ref().unwrap();
        assert_eq!(
            (a.tool.as_str(), a.tool_version, a.warp_mode),
            ("Dolby Atmos Conversion Tool", [1, 8, 0], 4)
        );
        assert_eq!(d.supplemental.as_ref().unwrap().headphone, [0x84, 0x84]);
        assert!(m.items.iter().all(|it| m.dbmd_item_mode(it).is_none()));
        checked += 1;
    }

    // The dbmd chunks of Dolby's seven samples, against what Dolby's tool prints for each
    // (sample_files/sample_adm_file_N.txt): render modes, warp mode, trims.
    use RenderMode::*;
    let expected: [(&[RenderMode], u8, u8, [bool; 9]); 7] = [
        (&[NotIndicated, NotIndicated], 8, 4, [true; 9]),
        (
            &[NotIndicated, NotIndicated],
            9,
            0,
            [true, false, true, true, false, true, true, true, true],
        ),
        (&[Bypass, Bypass], 9, 0, [true; 9]),
        (&[Near, Near], 9, 0, [true; 9]),
        (&[Far, Far], 9, 0, [true; 9]),
        (&[NotIndicated, NotIndicated], 9, 0, [true; 9]),
        (&[Bypass, Far], 9, 1, [true; 9]),
    ];
    for (n, (modes, minor, warp, trims)) in expected.iter().enumerate() {
        let p = real.join(format!("dolby_dbmd/sample_adm_file_{n}.dbmd"));
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        let d = dbmd::parse(&bytes, &p.display().to_string(), 0).unwrap();
        assert!(d.warnings.is_empty(), "{n}: {:?}", d.warnings);
        assert_eq!(
            d.segments
                .iter()
                .map(|s| (s.id, s.size, s.checksum_ok))
                .collect::<Vec<_>>(),
            [(7, 96, true), (9, 248, true), (10, 146, true)],
            "{n}"
        );
        let a = d.atmos.as_ref().unwrap();
        assert_eq!(
            (a.tool.as_str(), a.tool_version, a.warp_mode),
            ("Dolby Atmos Conversion Tool", [1, *minor, 0], *warp),
            "{n}"
        );
        let s = d.supplemental.as_ref().unwrap();
        assert_eq!(s.render_modes(), *modes, "{n}");
        assert_eq!(s.auto_trim, *trims, "{n}");
        checked += 1;
    }
    eprintln!("{checked} real dbmd chunks checked");
}
