//! Bad ADM BWF masters (issue 10, item 9): each is a clear error naming the element and
//! what was expected, exit code 1, nothing written (no output, no temporary file, an
//! existing output left alone), never a hang; and the container quirks real files have
//! (RF64/BW64 with `ds64`, chunks after `data`, odd-size padding, a RIFF size that lies)
//! are read. Every master is built here byte by byte, so each test shows its whole input.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mixstage::adm::{self, AdmOptions};
use mixstage::Error;

const RATE: u32 = 48_000;
/// 0.1 s of audio.
const FRAMES: usize = 4_800;

// ---------------------------------------------------------------- RIFF / BW64 bytes

/// A chunk: ID, 32-bit size, data and a pad byte when the size is odd.
fn chunk(id: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut v = id.to_vec();
    v.extend((body.len() as u32).to_le_bytes());
    v.extend(body);
    if body.len() % 2 == 1 {
        v.push(0);
    }
    v
}

/// A 16-bit PCM `fmt ` chunk.
fn fmt(channels: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(1u16.to_le_bytes());
    b.extend(channels.to_le_bytes());
    b.extend(RATE.to_le_bytes());
    b.extend((RATE * 2 * channels as u32).to_le_bytes());
    b.extend((2 * channels).to_le_bytes());
    b.extend(16u16.to_le_bytes());
    chunk(b"fmt ", &b)
}

/// The body of a `data` chunk: a 16-bit sine at a different frequency on each channel.
fn pcm(channels: u16, frames: usize) -> Vec<u8> {
    let mut b = Vec::with_capacity(frames * channels as usize * 2);
    for n in 0..frames {
        for c in 0..channels {
            let f = 250.0 * (c + 1) as f64;
            let x = 0.25 * (std::f64::consts::TAU * f * n as f64 / RATE as f64).sin();
            b.extend(((x * 32767.0) as i16).to_le_bytes());
        }
    }
    b
}

/// One `chna` row: track index, audioTrackUID, track (or channel) format, pack format.
type Row = (u16, String, String, String);

fn chna(rows: &[Row]) -> Vec<u8> {
    let mut b = Vec::new();
    let tracks = rows.iter().map(|r| r.0).max().unwrap_or(0);
    b.extend(tracks.to_le_bytes());
    b.extend((rows.len() as u16).to_le_bytes());
    for (idx, uid, track, pack) in rows {
        b.extend(idx.to_le_bytes());
        for (s, n) in [(uid, 12), (track, 14), (pack, 11)] {
            let mut f = s.as_bytes().to_vec();
            f.resize(n, 0);
            b.extend(f);
        }
        b.push(0);
    }
    chunk(b"chna", &b)
}

/// A RIFF/WAVE file of these chunks; the header's size is the true one.
fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut v = b"RIFF".to_vec();
    v.extend(((body.len() + 4) as u32).to_le_bytes());
    v.extend(b"WAVE");
    v.extend(body);
    v
}

/// An ADM BWF master in the usual order: fmt, chna, axml, data.
fn master(channels: u16, rows: &[Row], axml: &str) -> Vec<u8> {
    riff(&[
        fmt(channels),
        chna(rows),
        chunk(b"axml", axml.as_bytes()),
        chunk(b"data", &pcm(channels, FRAMES)),
    ])
}

// ---------------------------------------------------------------- ADM XML

/// The body framed as an ebuCore document; the body starts on line 4.
fn doc(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<ebuCoreMain xmlns=\"urn:ebu:metadata-schema:ebuCore_2014\"><coreMetadata><format>\n\
<audioFormatExtended version=\"ITU-R_BS.2076-2\">\n{body}\n</audioFormatExtended>\n\
</format></coreMetadata></ebuCoreMain>\n"
    )
}

/// A block of object `n`: `k` (1-based), rtime and duration as written, then its children.
fn block(n: u32, k: u32, rtime: &str, duration: &str, children: &str) -> String {
    format!(
        "<audioBlockFormat audioBlockFormatID=\"AB_0003{:04X}_{k:08X}\" rtime=\"{rtime}\" duration=\"{duration}\">{children}</audioBlockFormat>\n",
        0x1000 + n
    )
}

fn polar(az: &str, el: &str) -> String {
    format!("<position coordinate=\"azimuth\">{az}</position><position coordinate=\"elevation\">{el}</position>")
}

/// One block at 30 degrees for the whole 0.1 s.
fn one_block(n: u32) -> String {
    block(n, 1, "00:00:00.00000", "00:00:00.10000", &polar("30", "0"))
}

/// Object `n` (AO_100n, named `name`) with its pack, channel, stream, track format and
/// track UID ATU_0000000n; `code` is the type code ("0003" Objects, "0002" Matrix,
/// "0005" Binaural); `extra` goes inside the audioObject.
fn object(n: u32, name: &str, code: &str, blocks: &str, extra: &str) -> String {
    let ty = match code {
        "0001" => "DirectSpeakers",
        "0002" => "Matrix",
        "0003" => "Objects",
        "0005" => "Binaural",
        _ => panic!("type code {code}"),
    };
    let id = format!("{:04X}", 0x1000 + n);
    format!(
        r#"<audioObject audioObjectID="AO_{id}" audioObjectName="{name}"><audioPackFormatIDRef>AP_{code}{id}</audioPackFormatIDRef><audioTrackUIDRef>ATU_{n:08X}</audioTrackUIDRef>{extra}</audioObject>
<audioPackFormat audioPackFormatID="AP_{code}{id}" audioPackFormatName="{name}" typeDefinition="{ty}"><audioChannelFormatIDRef>AC_{code}{id}</audioChannelFormatIDRef></audioPackFormat>
<audioChannelFormat audioChannelFormatID="AC_{code}{id}" audioChannelFormatName="{name}" typeDefinition="{ty}">
{blocks}</audioChannelFormat>
<audioStreamFormat audioStreamFormatID="AS_{code}{id}" formatDefinition="PCM"><audioChannelFormatIDRef>AC_{code}{id}</audioChannelFormatIDRef><audioTrackFormatIDRef>AT_{code}{id}_01</audioTrackFormatIDRef></audioStreamFormat>
<audioTrackFormat audioTrackFormatID="AT_{code}{id}_01" formatDefinition="PCM"><audioStreamFormatIDRef>AS_{code}{id}</audioStreamFormatIDRef></audioTrackFormat>
<audioTrackUID UID="ATU_{n:08X}"><audioTrackFormatIDRef>AT_{code}{id}_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_{code}{id}</audioPackFormatIDRef></audioTrackUID>"#
    )
}

/// The chna row of object `n` (track n).
fn row(n: u32, code: &str) -> Row {
    let id = format!("{:04X}", 0x1000 + n);
    (
        n as u16,
        format!("ATU_{n:08X}"),
        format!("AT_{code}{id}_01"),
        format!("AP_{code}{id}"),
    )
}

/// A programme APR_1001 "Main" with one content ACO_1001 "FX" holding these objects.
fn programme(objects: &[u32]) -> String {
    let refs: String = objects
        .iter()
        .map(|n| format!("<audioObjectIDRef>AO_{:04X}</audioObjectIDRef>", 0x1000 + n))
        .collect();
    format!(
        "<audioProgramme audioProgrammeID=\"APR_1001\" audioProgrammeName=\"Main\"><audioContentIDRef>ACO_1001</audioContentIDRef></audioProgramme>\n\
<audioContent audioContentID=\"ACO_1001\" audioContentName=\"FX\">{refs}</audioContent>"
    )
}

/// A one-object master whose channel has these blocks.
fn one_object(blocks: &str) -> Vec<u8> {
    let x = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(1, "Bee", "0003", blocks, "")
    ));
    master(1, &[row(1, "0003")], &x)
}

// ---------------------------------------------------------------- running

struct Run {
    code: i32,
    stderr: String,
    stdout: String,
}

/// Runs the binary, killing it (and failing) if it takes more than a minute: a bad file
/// must never hang.
fn mixstage(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mixstage"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mixstage");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("mixstage {args:?} hung (killed after 60 s)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// A folder holding one master.
struct Case {
    dir: tempfile::TempDir,
    master: PathBuf,
}

impl Case {
    fn new(bytes: &[u8]) -> Case {
        let dir = tempfile::tempdir().unwrap();
        let master = dir.path().join("master.wav");
        std::fs::write(&master, bytes).unwrap();
        Case { dir, master }
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out.wav")
    }

    /// `mixstage render master.wav --layout 5.1 -o out.wav EXTRA...`.
    fn render(&self, extra: &[&str]) -> Run {
        let (m, o) = (self.master.to_str().unwrap(), self.out());
        let mut args = vec!["render", m, "--layout", "5.1", "-o", o.to_str().unwrap()];
        args.extend(extra);
        mixstage(&args)
    }

    /// The names in the folder other than the master.
    fn others(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "master.wav")
            .collect();
        v.sort();
        v
    }

    /// The render fails with exit code 1, the message holds every `needle`, and nothing
    /// (no output, no temporary file) is left beside the master. Returns the message.
    fn render_fails(&self, extra: &[&str], needles: &[&str]) -> String {
        let r = self.render(extra);
        assert_eq!(r.code, 1, "exit code; stderr:\n{}", r.stderr);
        for n in needles {
            assert!(
                r.stderr.contains(n),
                "the message lacks {n:?}:\n{}",
                r.stderr
            );
        }
        assert!(
            r.stderr.starts_with("error: ") && r.stderr.lines().count() == 1,
            "one error line expected:\n{}",
            r.stderr
        );
        assert_eq!(self.others(), Vec::<String>::new(), "files left behind");
        r.stderr
    }

    /// `adm info` fails the same way.
    fn info_fails(&self, needles: &[&str]) {
        let r = mixstage(&["adm", "info", self.master.to_str().unwrap()]);
        assert_eq!(r.code, 1, "adm info exit code; stderr:\n{}", r.stderr);
        for n in needles {
            assert!(r.stderr.contains(n), "adm info lacks {n:?}:\n{}", r.stderr);
        }
    }

    /// The render succeeds and writes the output (and nothing else).
    fn render_ok(&self, extra: &[&str]) -> Run {
        let r = self.render(extra);
        assert_eq!(r.code, 0, "render failed:\n{}", r.stderr);
        assert_eq!(self.others(), vec!["out.wav".to_string()]);
        r
    }

    /// The library's error for this master.
    fn lib_error(&self, opts: &AdmOptions) -> Error {
        match adm::open_scene(&self.master, opts) {
            Ok(_) => panic!("{} opened without error", self.master.display()),
            Err(e) => e,
        }
    }
}

/// The line (1-based) of the first occurrence of `needle` in `text`.
fn line_of(text: &str, needle: &str) -> usize {
    let at = text.find(needle).expect("needle in text");
    text[..at].matches('\n').count() + 1
}

// ---------------------------------------------------------------- XML syntax

#[test]
fn malformed_xml_names_line_and_column() {
    // An end tag that closes the wrong element.
    let good = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(1, "Bee", "0003", &one_block(1), "")
    ));
    let bad = good.replacen("</audioContent>", "</audioObject>", 1);
    let line = line_of(&bad, "</audioObject>");
    let c = Case::new(&master(1, &[row(1, "0003")], &bad));
    let e = c.render_fails(
        &[],
        &["master.wav", &format!("axml line {line}, column"), "XML"],
    );
    assert!(
        e.contains("audioContent") || e.contains("audioObject"),
        "{e}"
    );
    c.info_fails(&[&format!("axml line {line}, column")]);

    // An attribute value that never ends.
    // An attribute without a value.
    let bad = good.replacen("audioObjectName=\"Bee\"", "audioObjectName", 1);
    let line = line_of(&bad, "audioObjectName>");
    let c = Case::new(&master(1, &[row(1, "0003")], &bad));
    c.render_fails(
        &[],
        &[
            &format!("axml line {line}, column 1"),
            "malformed attribute in <audioObject>",
        ],
    );

    // Not UTF-8.
    let mut bytes = good.clone().into_bytes();
    let at = good.find("Bee").unwrap();
    bytes[at] = 0xFF;
    let x = riff(&[
        fmt(1),
        chna(&[row(1, "0003")]),
        chunk(b"axml", &bytes),
        chunk(b"data", &pcm(1, FRAMES)),
    ]);
    Case::new(&x).render_fails(&[], &["not UTF-8", &format!("offset {at}")]);
}

#[test]
fn doctype_and_entity_definitions_are_refused() {
    // A "billion laughs" document: refused before any expansion, at once.
    let laughs = "<!DOCTYPE ebuCoreMain [\n<!ENTITY lol \"lol\">\n<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n]>\n";
    let body = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(1, "&lol3;", "0003", &one_block(1), "")
    ));
    let x = body.replacen("\n", &format!("\n{laughs}"), 1);
    let c = Case::new(&master(1, &[row(1, "0003")], &x));
    c.render_fails(&[], &["DOCTYPE", "axml line 2, column 1", "not expanded"]);
    c.info_fails(&["DOCTYPE"]);
    let e = c.lib_error(&AdmOptions::default());
    assert!(matches!(e, Error::Malformed { .. }), "{e:?}");
}

#[test]
fn undefined_entities_are_refused() {
    // In an attribute.
    let x = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(1, "Bee &bogus; buzz", "0003", &one_block(1), "")
    ));
    let line = line_of(&x, "&bogus;");
    let c = Case::new(&master(1, &[row(1, "0003")], &x));
    c.render_fails(
        &[],
        &[&format!("axml line {line}"), "audioObjectName", "bogus"],
    );
    // In text.
    let x = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(1, "Bee", "0003", &one_block(1), "")
    ))
    .replacen(
        "<audioObjectIDRef>AO_1001",
        "<audioObjectIDRef>&bogus;AO_1001",
        1,
    );
    let line = line_of(&x, "&bogus;");
    let c = Case::new(&master(1, &[row(1, "0003")], &x));
    c.render_fails(
        &[],
        &[
            &format!("axml line {line}"),
            "'&bogus;' refused",
            "only the five XML entities",
        ],
    );
    // The five XML entities and character references are fine.
    let x = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(
            1,
            "Bee &amp; &#x42;uzz &lt;1&gt;",
            "0003",
            &one_block(1),
            ""
        )
    ));
    let c = Case::new(&master(1, &[row(1, "0003")], &x));
    c.render_ok(&["--quiet"]);
    let m = adm::load(&c.master, &AdmOptions::default()).unwrap();
    assert_eq!(m.adm.object("AO_1001").unwrap().name, "Bee & Buzz <1>");
}

// ---------------------------------------------------------------- references

#[test]
fn reference_cycles_among_objects_and_packs_are_errors() {
    // AO_1001 nests AO_1002, which nests AO_1001.
    let x = doc(&format!(
        "{}\n{}\n{}",
        programme(&[1]),
        object(
            1,
            "A",
            "0003",
            &one_block(1),
            "<audioObjectIDRef>AO_1002</audioObjectIDRef>"
        ),
        object(
            2,
            "B",
            "0003",
            &one_block(2),
            "<audioObjectIDRef>AO_1001</audioObjectIDRef>"
        ),
    ));
    let c = Case::new(&master(2, &[row(1, "0003"), row(2, "0003")], &x));
    c.render_fails(
        &[],
        &[
            "reference cycle among audioObjects",
            "AO_1001 -> AO_1002 -> AO_1001",
        ],
    );
    c.info_fails(&["AO_1001 -> AO_1002 -> AO_1001"]);

    // An object nesting itself.
    let x = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(
            1,
            "A",
            "0003",
            &one_block(1),
            "<audioObjectIDRef>ao_1001</audioObjectIDRef>"
        ),
    ));
    Case::new(&master(1, &[row(1, "0003")], &x)).render_fails(&[], &["AO_1001 -> AO_1001"]);

    // AP_00031001 nests AP_00031002, which nests AP_00031001.
    let x = doc(&format!(
        "{}\n{}\n<audioPackFormat audioPackFormatID=\"AP_00031002\" typeDefinition=\"Objects\"><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef></audioPackFormat>",
        programme(&[1]),
        object(1, "A", "0003", &one_block(1), ""),
    ))
    .replacen(
        "<audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef></audioPackFormat>",
        "<audioChannelFormatIDRef>AC_00031001</audioChannelFormatIDRef><audioPackFormatIDRef>AP_00031002</audioPackFormatIDRef></audioPackFormat>",
        1,
    );
    let c = Case::new(&master(1, &[row(1, "0003")], &x));
    c.render_fails(
        &[],
        &[
            "reference cycle among audioPackFormats",
            "AP_00031001 -> AP_00031002 -> AP_00031001",
        ],
    );
}

#[test]
fn references_to_missing_elements_are_errors() {
    let good = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(1, "Bee", "0003", &one_block(1), "")
    ));
    let rows = [row(1, "0003")];
    // object -> pack
    let x = good.replacen(
        "<audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>",
        "<audioPackFormatIDRef>AP_00039999</audioPackFormatIDRef><audioTrackUIDRef>",
        1,
    );
    Case::new(&master(1, &rows, &x)).render_fails(
        &[],
        &[
            "AO_1001 references audioPackFormat AP_00039999",
            "does not exist",
        ],
    );
    // track UID -> track format
    let x = good.replacen(
        "<audioTrackUID UID=\"ATU_00000001\"><audioTrackFormatIDRef>AT_00031001_01",
        "<audioTrackUID UID=\"ATU_00000001\"><audioTrackFormatIDRef>AT_00039999_01",
        1,
    );
    Case::new(&master(1, &rows, &x)).render_fails(
        &[],
        &[
            "ATU_00000001 references audioTrackFormat AT_00039999_01",
            "does not exist",
        ],
    );
    // content -> object
    let x = good.replacen(
        "<audioObjectIDRef>AO_1001</audioObjectIDRef>",
        "<audioObjectIDRef>AO_1999</audioObjectIDRef>",
        1,
    );
    let c = Case::new(&master(1, &rows, &x));
    c.render_fails(
        &[],
        &["ACO_1001 references audioObject AO_1999", "does not exist"],
    );
    c.info_fails(&["AO_1999"]);
    // object -> track UID
    let x = good.replacen(
        "<audioTrackUIDRef>ATU_00000001</audioTrackUIDRef>",
        "<audioTrackUIDRef>ATU_00000007</audioTrackUIDRef>",
        1,
    );
    Case::new(&master(1, &rows, &x))
        .render_fails(&[], &["AO_1001 references audioTrackUID ATU_00000007"]);
    // chna -> track format
    let bad_row = (
        1,
        "ATU_00000001".into(),
        "AT_00038888_01".into(),
        String::new(),
    );
    let x = good.replacen(
        "<audioTrackFormatIDRef>AT_00031001_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef></audioTrackUID>",
        "</audioTrackUID>",
        1,
    );
    Case::new(&master(1, &[bad_row], &x)).render_fails(
        &[],
        &["ATU_00000001 references audioTrackFormat AT_00038888_01"],
    );
}

// ---------------------------------------------------------------- chna

#[test]
fn chna_rows_past_the_channels_or_naming_the_silent_track_are_errors() {
    let x = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(1, "Bee", "0003", &one_block(1), "")
    ));
    // Track 2 of a 1-channel file.
    let mut r = row(1, "0003");
    r.0 = 2;
    let c = Case::new(&master(1, &[r], &x));
    c.render_fails(
        &[],
        &[
            "chna row for track 2 (ATU_00000001)",
            "past the file's 1 channel",
        ],
    );
    c.info_fails(&["past the file's 1 channel"]);
    // A row naming ATU_00000000.
    let mut r = row(1, "0003");
    r.1 = "ATU_00000000".into();
    Case::new(&master(1, &[row(1, "0003"), r], &x)).render_fails(
        &[],
        &["chna row for track 1 (ATU_00000000)", "the silent track"],
    );
    // A chna that declares more rows than it holds.
    let mut b = chna(&[row(1, "0003")]);
    b[10] = 9; // UID count
    let f = riff(&[
        fmt(1),
        b,
        chunk(b"axml", x.as_bytes()),
        chunk(b"data", &pcm(1, FRAMES)),
    ]);
    Case::new(&f).render_fails(&[], &["chna", "declares 9 track UIDs but holds 1 rows"]);
    // The silent track referenced by an object is valid.
    let x = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(
            1,
            "Bee",
            "0003",
            &one_block(1),
            "<audioTrackUIDRef>ATU_00000000</audioTrackUIDRef>"
        )
    ));
    Case::new(&master(1, &[row(1, "0003")], &x)).render_ok(&["--quiet"]);
}

// ---------------------------------------------------------------- values

#[test]
fn non_finite_and_out_of_range_values_are_errors() {
    let id = "AB_00031001_00000001";
    let cases: Vec<(String, Vec<&str>)> = vec![
        (polar("NaN", "0"), vec!["<position> is NaN", "expected a finite number"]),
        (polar("30", "inf"), vec!["<position> is inf", "expected a finite number"]),
        (polar("-infinity", "0"), vec!["expected a finite number"]),
        (polar("200", "0"), vec!["azimuth 200 is out of range (expected -180 to 180)"]),
        (polar("30", "-95"), vec!["elevation -95 is out of range (expected -90 to 90)"]),
        (polar("thirty", "0"), vec!["'thirty' is not a number"]),
        (
            "<cartesian>1</cartesian><position coordinate=\"X\">1.5</position><position coordinate=\"Y\">0</position><position coordinate=\"Z\">0</position>".into(),
            vec!["X 1.5 is out of range (expected -1 to 1)"],
        ),
        (
            "<cartesian>1</cartesian><position coordinate=\"X\">NaN</position><position coordinate=\"Y\">0</position>".into(),
            vec!["is NaN", "expected a finite number"],
        ),
        (
            format!("{}<gain>NaN</gain>", polar("30", "0")),
            vec!["<gain> is NaN", "expected a finite number"],
        ),
        (
            format!("{}<gain>-1</gain>", polar("30", "0")),
            vec!["gain -1 is out of range", "expected a linear gain"],
        ),
        (
            format!("{}<gain gainUnit=\"dB\">300</gain>", polar("30", "0")),
            vec!["gain 300 is out of range"],
        ),
        (
            format!("{}<gain gainUnit=\"dBFS\">-3</gain>", polar("30", "0")),
            vec!["gainUnit 'dBFS': expected linear or dB"],
        ),
        (
            format!("{}<jumpPosition>2</jumpPosition>", polar("30", "0")),
            vec!["<jumpPosition> '2': expected 0 or 1"],
        ),
        // BS.2127's parameters beyond a point.
        (
            format!("{}<width>400</width>", polar("30", "0")),
            vec!["width 400 is outside [0, 360]"],
        ),
        (
            format!("{}<height>-5</height>", polar("30", "0")),
            vec!["height -5 is outside [0, 360]"],
        ),
        (
            format!("{}<objectDivergence>1.5</objectDivergence>", polar("30", "0")),
            vec!["objectDivergence 1.5 is outside [0, 1]"],
        ),
        (
            format!(
                "{}<objectDivergence azimuthRange=\"200\">0.5</objectDivergence>",
                polar("30", "0")
            ),
            vec!["azimuthRange 200 is outside [0, 180]"],
        ),
        (
            format!("{}<diffuse>2</diffuse>", polar("30", "0")),
            vec!["diffuse 2 is outside [0, 1]"],
        ),
        (
            format!(
                "{}<zoneExclusion><zone minAzimuth=\"-30\" maxAzimuth=\"30\" minElevation=\"40\" maxElevation=\"10\">z</zone></zoneExclusion>",
                polar("30", "0")
            ),
            vec!["zoneExclusion zone 1", "minElevation 40 must be a number no greater than maxElevation 10"],
        ),
        (
            format!(
                "{}<zoneExclusion><zone minX=\"-1\" maxX=\"1\" minY=\"0.5\" maxY=\"0\" minZ=\"0\" maxZ=\"1\">z</zone></zoneExclusion>",
                polar("30", "0")
            ),
            vec!["minY 0.5 must be a number no greater than maxY 0"],
        ),
        (
            format!("{}<importance>11</importance>", polar("30", "0")),
            vec!["<importance> '11': expected an integer from 0 to 10"],
        ),
    ];
    for (children, needles) in cases {
        let bytes = one_object(&block(1, 1, "00:00:00.00000", "00:00:00.10000", &children));
        let x = String::from_utf8_lossy(&bytes).into_owned();
        let line = line_of(&x, "<audioBlockFormat") - line_of(&x, "<?xml") + 1;
        let c = Case::new(&bytes);
        let mut all = needles.clone();
        let at = format!("axml line {line}");
        all.extend([id, at.as_str()]);
        c.render_fails(&[], &all);
        c.info_fails(&[id]);
    }
    // An object gain out of range names the object.
    let x = doc(&format!(
        "{}\n{}",
        programme(&[1]),
        object(1, "Bee", "0003", &one_block(1), "<gain>inf</gain>")
    ));
    Case::new(&master(1, &[row(1, "0003")], &x)).render_fails(&[], &["AO_1001", "<gain> is inf"]);
    // A time that is not one.
    let bytes = one_object(&block(1, 1, "00:00:00.00000", "0:0:-1", &polar("30", "0")));
    Case::new(&bytes).render_fails(&[], &[id, "duration", "is not a time"]);
}

// ---------------------------------------------------------------- timing

#[test]
fn blocks_out_of_order_are_an_error() {
    let blocks = block(1, 1, "00:00:00.05000", "00:00:00.05000", &polar("30", "0"))
        + &block(1, 2, "00:00:00.00000", "00:00:00.05000", &polar("-30", "0"));
    let c = Case::new(&one_object(&blocks));
    c.render_fails(
        &[],
        &[
            "AB_00031001_00000002",
            "blocks out of order",
            "AB_00031001_00000001",
        ],
    );
    c.info_fails(&["blocks out of order"]);
}

#[test]
fn overlaps_of_a_sample_or_more_are_errors_and_shorter_ones_are_snapped() {
    let two = |first_duration: &str, second_rtime: &str| {
        one_object(
            &(block(1, 1, "00:00:00.00000", first_duration, &polar("30", "0"))
                + &block(1, 2, second_rtime, "00:00:00.05000", &polar("-30", "0"))),
        )
    };
    // Exactly one sample of overlap: block 2 starts at 2399/48000 s, block 1 ends at 2400/48000.
    let c = Case::new(&two("00:00:00.05000", "00:00:00.2399S48000"));
    c.render_fails(
        &[],
        &[
            "AB_00031001_00000002",
            "overlaps block AB_00031001_00000001",
            "must not overlap",
        ],
    );
    // Much more.
    Case::new(&two("00:00:00.05000", "00:00:00.04000"))
        .render_fails(&[], &["overlaps block AB_00031001_00000001 by 0.010000 s"]);
    // 0.00001 s (0.48 samples, Pro Tools' 5 decimals): snapped, with one warning.
    let c = Case::new(&two("00:00:00.05001", "00:00:00.05000"));
    let r = c.render_ok(&[]);
    assert!(
        r.stderr.contains("warning:") && r.stderr.contains("less than a sample: snapped"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("snapped").count(), 1, "{}", r.stderr);
    let info = mixstage(&["adm", "info", c.master.to_str().unwrap(), "--json"]);
    assert_eq!(info.code, 0, "{}", info.stderr);
    let v: serde_json::Value = serde_json::from_str(&info.stdout).unwrap();
    assert!(
        v["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("snapped")),
        "{v}"
    );
    // --strict makes the repair an error, in render and in adm info.
    std::fs::remove_file(c.out()).unwrap();
    c.render_fails(&["--strict"], &["--strict", "snapped"]);
    let r = mixstage(&["adm", "info", c.master.to_str().unwrap(), "--strict"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("snapped"), "{}", r.stderr);
    // A gap of less than a sample is snapped too.
    Case::new(&two("00:00:00.04999", "00:00:00.05000")).render_ok(&["--quiet"]);
}

#[test]
fn an_interpolation_longer_than_its_block_is_shortened_with_a_warning() {
    let blocks = block(1, 1, "00:00:00.00000", "00:00:00.05000", &polar("30", "0"))
        + &block(
            1,
            2,
            "00:00:00.05000",
            "00:00:00.05000",
            &format!(
                "{}<jumpPosition interpolationLength=\"00:00:00.20000\">1</jumpPosition>",
                polar("-30", "0")
            ),
        );
    let c = Case::new(&one_object(&blocks));
    let r = c.render_ok(&[]);
    assert!(
        r.stderr.contains("AB_00031001_00000002")
            && r.stderr
                .contains("interpolationLength 0.2 is longer than the block"),
        "{}",
        r.stderr
    );
    std::fs::remove_file(c.out()).unwrap();
    c.render_fails(&["--strict"], &["--strict", "interpolationLength"]);
}

// ---------------------------------------------------------------- container

/// The audio a render of `bytes` produces (planar).
fn render_audio(bytes: &[u8]) -> (Vec<Vec<f32>>, String) {
    let c = Case::new(bytes);
    let r = c.render_ok(&[]);
    let (_, ch) = mixstage::io::read_all(&c.out()).unwrap();
    (ch, r.stderr)
}

/// fmt, chna, axml and data chunks of a two-object master, and its XML.
fn reference_parts() -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, String) {
    let x = doc(&format!(
        "{}\n{}\n{}",
        programme(&[1, 2]),
        object(1, "Bee", "0003", &one_block(1), ""),
        object(
            2,
            "Wasp",
            "0003",
            &block(
                2,
                1,
                "00:00:00.00000",
                "00:00:00.10000",
                &polar("-110", "20")
            ),
            ""
        ),
    ));
    (
        fmt(2),
        chna(&[row(1, "0003"), row(2, "0003")]),
        chunk(b"axml", x.as_bytes()),
        chunk(b"data", &pcm(2, FRAMES)),
        x,
    )
}

#[test]
fn container_quirks_are_read() {
    let (f, c, a, d, x) = reference_parts();
    let (reference, _) = render_audio(&riff(&[f.clone(), c.clone(), a.clone(), d.clone()]));
    assert_eq!(reference.len(), 6);
    assert!(reference.iter().any(|ch| ch.iter().any(|&x| x != 0.0)));

    // Chunks after data.
    let (got, _) = render_audio(&riff(&[f.clone(), d.clone(), c.clone(), a.clone()]));
    assert_eq!(got, reference, "chna and axml after data");

    // Odd-size chunks: a 3-byte chunk and an axml of odd length, each padded.
    let odd = if x.len() % 2 == 0 { format!("{x} ") } else { x };
    let odd_axml = chunk(b"axml", odd.as_bytes());
    assert_eq!(odd_axml.len() % 2, 0);
    let (got, _) = render_audio(&riff(&[
        f.clone(),
        chunk(b"junk", b"abc"),
        c.clone(),
        odd_axml,
        d.clone(),
    ]));
    assert_eq!(got, reference, "odd-size padding");

    // RF64 and BW64 with ds64: every 32-bit size 0xFFFFFFFF, the real ones in ds64.
    for form in [b"RF64", b"BW64"] {
        let data_len = (d.len() - 8) as u64;
        let mut ds64 = Vec::new();
        let body_len = 4 + 36 + f.len() + c.len() + a.len() + d.len();
        ds64.extend((body_len as u64).to_le_bytes()); // RIFF size
        ds64.extend(data_len.to_le_bytes()); // data size
        ds64.extend((FRAMES as u64).to_le_bytes()); // sample count
        ds64.extend(0u32.to_le_bytes()); // table length
        let mut big_data = d.clone();
        big_data[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut v = form.to_vec();
        v.extend(u32::MAX.to_le_bytes());
        v.extend(b"WAVE");
        v.extend(chunk(b"ds64", &ds64));
        for ch in [&f, &c, &a, &big_data] {
            v.extend(ch.iter());
        }
        assert_eq!(v.len(), body_len + 8);
        let (got, stderr) = render_audio(&v);
        assert_eq!(got, reference, "{}", String::from_utf8_lossy(form));
        assert!(!stderr.contains("declares"), "{stderr}");
        // ...and a data size of 0xFFFFFFFF without a ds64 is an error naming ds64.
        let mut no_ds64 = form.to_vec();
        no_ds64.extend(u32::MAX.to_le_bytes());
        no_ds64.extend(b"WAVE");
        for ch in [&f, &c, &a, &big_data] {
            no_ds64.extend(ch.iter());
        }
        Case::new(&no_ds64).render_fails(&[], &["'data' size 0xFFFFFFFF but no 'ds64'"]);
    }

    // A RIFF size that lies: accepted, with a warning.
    let mut v = riff(&[f.clone(), c.clone(), a.clone(), d.clone()]);
    v[4..8].copy_from_slice(&12_345u32.to_le_bytes());
    let (got, stderr) = render_audio(&v);
    assert_eq!(got, reference, "lying RIFF size");
    assert!(
        stderr.contains("warning:")
            && stderr.contains("declares 12353 bytes but the file has")
            && stderr.contains("the file's length is used"),
        "{stderr}"
    );
}

#[test]
fn truncated_empty_and_chna_less_files_are_errors() {
    let (f, c, a, d, _) = reference_parts();
    // The data chunk declares more than the file holds.
    let mut v = riff(&[f.clone(), c.clone(), a.clone(), d.clone()]);
    v.truncate(v.len() - 1000);
    let case = Case::new(&v);
    case.render_fails(&[], &["master.wav", "truncated", "'data'"]);
    case.info_fails(&["truncated"]);
    // Cut inside the axml chunk (data comes first).
    let mut v = riff(&[f.clone(), d.clone(), c.clone(), a.clone()]);
    v.truncate(v.len() - a.len() / 2);
    Case::new(&v).render_fails(&[], &["truncated", "'axml'"]);
    // Cut inside a chunk header.
    let v = riff(&[f.clone(), c.clone(), a.clone(), d.clone()]);
    Case::new(&v[..f.len() + 12 + 4]).render_fails(&[], &["no 'data' chunk"]);
    // An empty file.
    let case = Case::new(b"");
    case.render_fails(&[], &["master.wav", "shorter than a RIFF header"]);
    case.info_fails(&["shorter than a RIFF header"]);
    // Not a WAV at all.
    Case::new(b"ID3\x03\x00\x00\x00\x00\x00\x00 an mp3, say").render_fails(
        &[],
        &["not a WAV file", "expected a RIFF, RF64 or BW64 header"],
    );
    // No chna: a plain WAV.
    let case = Case::new(&riff(&[f.clone(), a.clone(), d.clone()]));
    case.render_fails(&[], &["no 'chna' chunk", "not an ADM BWF master"]);
    case.info_fails(&["no 'chna' chunk"]);
    // No fmt.
    Case::new(&riff(&[c.clone(), a.clone(), d.clone()])).render_fails(&[], &["no 'fmt ' chunk"]);
}

// ---------------------------------------------------------------- selection

#[test]
fn matrix_and_binaural_objects_are_errors_unless_skipped() {
    for (code, ty) in [("0005", "Binaural"), ("0002", "Matrix")] {
        let x = doc(&format!(
            "{}\n{}\n{}",
            programme(&[1, 2]),
            object(1, "Bee", "0003", &one_block(1), ""),
            object(2, "Phones", code, &one_block(2).replace("0003", code), ""),
        ));
        let c = Case::new(&master(2, &[row(1, "0003"), row(2, code)], &x));
        c.render_fails(
            &[],
            &[
                "AO_1002 ('Phones')",
                &format!("typeDefinition {ty}"),
                "--skip-unsupported renders the rest",
            ],
        );
        c.info_fails(&["AO_1002"]);
        let e = c.lib_error(&AdmOptions::default());
        assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
        let r = c.render_ok(&["--skip-unsupported"]);
        assert!(
            r.stderr.contains("warning:")
                && r.stderr.contains("AO_1002")
                && r.stderr.contains("left out"),
            "{}",
            r.stderr
        );
        let (_, out) = mixstage::io::read_all(&c.out()).unwrap();
        assert!(
            out.iter().any(|ch| ch.iter().any(|&x| x != 0.0)),
            "the rest renders"
        );
    }
}

#[test]
fn an_unknown_programme_lists_the_programmes() {
    let x = doc(&format!(
        "{}\n<audioProgramme audioProgrammeID=\"APR_1002\" audioProgrammeName=\"Alt\"><audioContentIDRef>ACO_1001</audioContentIDRef></audioProgramme>\n{}",
        programme(&[1]),
        object(1, "Bee", "0003", &one_block(1), "")
    ));
    let c = Case::new(&master(1, &[row(1, "0003")], &x));
    c.render_fails(
        &["--programme", "APR_1FFF"],
        &[
            "--programme APR_1FFF",
            "no such audioProgramme",
            "APR_1001 ('Main')",
            "APR_1002 ('Alt')",
        ],
    );
    // Any case is the same ID.
    c.render_ok(&["--programme", "apr_1002", "--quiet"]);
}

// ---------------------------------------------------------------- limits

#[test]
fn absurd_nesting_and_fan_out_are_limits_and_never_hang() {
    // XML elements nested 100 deep.
    let deep = "<x>".repeat(100) + &"</x>".repeat(100);
    let x = doc(&format!(
        "{}\n{}\n{deep}",
        programme(&[1]),
        object(1, "Bee", "0003", &one_block(1), "")
    ));
    let c = Case::new(&master(1, &[row(1, "0003")], &x));
    c.render_fails(&[], &["limit reached", "nested more than 64 deep"]);
    assert!(matches!(
        c.lib_error(&AdmOptions::default()),
        Error::Limit(_)
    ));

    // A chain of 300 nested audioObjects (recursion must not overflow the stack).
    let mut body = programme(&[1]);
    for n in 1..=300u32 {
        let next = if n < 300 {
            format!(
                "<audioObjectIDRef>AO_{:04X}</audioObjectIDRef>",
                0x1000 + n + 1
            )
        } else {
            String::new()
        };
        body += &format!(
            "\n<audioObject audioObjectID=\"AO_{:04X}\">{next}</audioObject>",
            0x1000 + n
        );
    }
    body += "\n";
    body += &object(301, "Bee", "0003", &one_block(301), "").replacen(
        "<audioObject audioObjectID=\"AO_112D\"",
        "<audioObject audioObjectID=\"AO_1F00\"",
        1,
    );
    let c = Case::new(&master(
        1,
        &[(
            1,
            "ATU_0000012D".into(),
            "AT_0003112D_01".into(),
            String::new(),
        )],
        &doc(&body),
    ));
    let e = c.render_fails(
        &[],
        &["limit reached", "audioObjects nested more than 256 deep"],
    );
    assert!(e.contains("AO_"), "{e}");

    // 64 audioObjects, each nesting the next one twice: 2^64 paths through them.
    let mut body = programme(&[1]);
    for n in 1..=64u32 {
        let id = 0x1000 + n;
        let next = if n < 64 {
            format!("<audioObjectIDRef>AO_{:04X}</audioObjectIDRef>", id + 1).repeat(2)
        } else {
            "<audioTrackUIDRef>ATU_00000001</audioTrackUIDRef>".to_string()
        };
        body += &format!("\n<audioObject audioObjectID=\"AO_{id:04X}\">{next}</audioObject>");
    }
    body += "\n";
    body += &object(1, "Bee", "0003", &one_block(1), "").replacen(
        "audioObjectID=\"AO_1001\"",
        "audioObjectID=\"AO_1FFF\"",
        1,
    );
    let c = Case::new(&master(1, &[row(1, "0003")], &doc(&body)));
    c.render_fails(&[], &["limit reached", "visits more than", "audioObjects"]);
    assert!(matches!(
        c.lib_error(&AdmOptions::default()),
        Error::Limit(_)
    ));

    // 64 audioPackFormats, each nesting the next twice, none listing the object's channel:
    // searched once each, not once per path.
    let mut packs = String::new();
    for n in 1..=64u32 {
        let next = if n < 64 {
            format!(
                "<audioPackFormatIDRef>AP_0003{:04X}</audioPackFormatIDRef>",
                0x2000 + n + 1
            )
            .repeat(2)
        } else {
            String::new()
        };
        packs += &format!(
            "\n<audioPackFormat audioPackFormatID=\"AP_0003{:04X}\" typeDefinition=\"Objects\">{next}</audioPackFormat>",
            0x2000 + n
        );
    }
    let x = doc(&format!(
        "{}\n{}{packs}",
        programme(&[1]),
        object(1, "Bee", "0003", &one_block(1), "")
            .replacen(
                "<audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>",
                "<audioPackFormatIDRef>AP_00032001</audioPackFormatIDRef><audioTrackUIDRef>",
                1
            )
            .replacen(
                "<audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef></audioTrackUID>",
                "</audioTrackUID>",
                1
            )
    ));
    let mut r = row(1, "0003");
    r.3.clear(); // no pack in chna either
    let c = Case::new(&master(1, &[r], &x));
    let r = c.render_ok(&[]);
    assert!(
        r.stderr
            .contains("none of the object's audioPackFormats lists"),
        "{}",
        r.stderr
    );
}

#[test]
fn many_blocks_parse_in_one_pass() {
    // 40000 blocks, one per line: reading them must not be quadratic in the document's
    // length (the line of every block used to be counted from the start of the text).
    let n = 40_000u32;
    let mut blocks = String::with_capacity(n as usize * 200);
    for k in 0..n {
        let start = format!("00:00:00.{:05}S{}", k, n * 10);
        blocks += &block(
            1,
            k + 1,
            &start,
            &format!("00:00:00.1S{}", n * 10),
            &polar("30", "0"),
        );
    }
    let c = Case::new(&one_object(&blocks));
    let r = mixstage(&["adm", "info", c.master.to_str().unwrap(), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["objects"][0]["blocks"], n as u64);
    // The same blocks on one single line.
    let one_line = blocks.replace('\n', "");
    let c = Case::new(&one_object(&one_line));
    let r = mixstage(&["adm", "info", c.master.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

// ---------------------------------------------------------------- nothing overwritten

#[test]
fn a_failed_render_leaves_an_existing_output_alone() {
    let blocks = block(1, 1, "00:00:00.00000", "00:00:00.10000", &polar("200", "0"));
    let c = Case::new(&one_object(&blocks));
    std::fs::write(c.out(), b"the mix from yesterday").unwrap();
    let r = c.render(&[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("azimuth 200 is out of range"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(c.out()).unwrap(), b"the mix from yesterday");
    assert_eq!(c.others(), vec!["out.wav".to_string()], "no temporary file");
    // --stems too.
    let r = c.render(&["--stems"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(std::fs::read(c.out()).unwrap(), b"the mix from yesterday");
    assert_eq!(c.others(), vec!["out.wav".to_string()]);
}

// ---------------------------------------------------------------- HOA

/// An HOA master: object AO_1001 "Amb" with pack AP_00041001 (`pack_extra` inside it) and
/// one channel per entry (its block's children), each on its own track; `tracks` of the
/// channels get a track UID in the object (the first ones).
fn hoa_master(chans: &[String], pack_extra: &str, tracks: usize) -> Vec<u8> {
    hoa_master_edited(chans, pack_extra, tracks, |x| x)
}

/// [`hoa_master`] with its axml edited by `edit`.
fn hoa_master_edited(
    chans: &[String],
    pack_extra: &str,
    tracks: usize,
    edit: impl Fn(String) -> String,
) -> Vec<u8> {
    let mut body = programme(&[1]);
    let uid_refs: String = (1..=tracks)
        .map(|k| format!("<audioTrackUIDRef>ATU_{k:08X}</audioTrackUIDRef>"))
        .collect();
    let ch_refs: String = (1..=chans.len())
        .map(|k| {
            format!(
                "<audioChannelFormatIDRef>AC_0004{:04X}</audioChannelFormatIDRef>",
                0x1000 + k
            )
        })
        .collect();
    body += &format!(
        "\n<audioObject audioObjectID=\"AO_1001\" audioObjectName=\"Amb\"><audioPackFormatIDRef>AP_00041001</audioPackFormatIDRef>{uid_refs}</audioObject>\n\
<audioPackFormat audioPackFormatID=\"AP_00041001\" audioPackFormatName=\"amb\" typeDefinition=\"HOA\">{ch_refs}{pack_extra}</audioPackFormat>\n"
    );
    let mut rows = Vec::new();
    for (k, children) in chans.iter().enumerate() {
        let k = k + 1;
        let id = format!("{:04X}", 0x1000 + k);
        body += &format!(
            "<audioChannelFormat audioChannelFormatID=\"AC_0004{id}\" audioChannelFormatName=\"amb{k}\" typeDefinition=\"HOA\">\n\
<audioBlockFormat audioBlockFormatID=\"AB_0004{id}_00000001\">{children}</audioBlockFormat>\n</audioChannelFormat>\n\
<audioStreamFormat audioStreamFormatID=\"AS_0004{id}\" formatDefinition=\"PCM\"><audioChannelFormatIDRef>AC_0004{id}</audioChannelFormatIDRef><audioTrackFormatIDRef>AT_0004{id}_01</audioTrackFormatIDRef></audioStreamFormat>\n\
<audioTrackFormat audioTrackFormatID=\"AT_0004{id}_01\" formatDefinition=\"PCM\"><audioStreamFormatIDRef>AS_0004{id}</audioStreamFormatIDRef></audioTrackFormat>\n"
        );
        if k <= tracks {
            body += &format!(
                "<audioTrackUID UID=\"ATU_{k:08X}\"><audioTrackFormatIDRef>AT_0004{id}_01</audioTrackFormatIDRef><audioPackFormatIDRef>AP_00041001</audioPackFormatIDRef></audioTrackUID>\n"
            );
            rows.push((
                k as u16,
                format!("ATU_{k:08X}"),
                format!("AT_0004{id}_01"),
                "AP_00041001".to_string(),
            ));
        }
    }
    master(chans.len() as u16, &rows, &edit(doc(&body)))
}

/// The block children of order `n`, degree `m`, plus `extra`.
fn od(n: &str, m: &str, extra: &str) -> String {
    format!("<order>{n}</order><degree>{m}</degree>{extra}")
}

fn first_order(extra: &str) -> Vec<String> {
    [("0", "0"), ("1", "-1"), ("1", "0"), ("1", "1")]
        .iter()
        .map(|(n, m)| od(n, m, extra))
        .collect()
}

#[test]
fn a_first_order_hoa_master_renders() {
    let c = Case::new(&hoa_master(&first_order(""), "", 4));
    c.render_ok(&[]);
    let (_, mix) = mixstage::io::read_all(&c.out()).unwrap();
    assert!(mix
        .iter()
        .take(3)
        .all(|ch| ch.iter().any(|&x| x.abs() > 1e-3)));
    assert!(mix[3].iter().all(|&x| x == 0.0), "LFE gets nothing");
    // nfcRefDist is read and ignored, with a note; screenRef too.
    let c = Case::new(&hoa_master(
        &first_order("<nfcRefDist>2.5</nfcRefDist>"),
        "<screenRef>1</screenRef>",
        4,
    ));
    let r = c.render_ok(&[]);
    assert!(
        r.stderr.contains("nfcRefDist 2.5 is ignored") && r.stderr.contains("screenRef is ignored"),
        "{}",
        r.stderr
    );
}

#[test]
fn bad_hoa_metadata_names_the_object_pack_and_block() {
    let who = ["AO_1001 ('Amb')", "pack AP_00041001"];
    let block2 = "AB_00041002_00000001";
    let x = String::from_utf8_lossy(&hoa_master(&first_order(""), "", 4)).into_owned();
    let line2 = line_of(&x, block2) - line_of(&x, "<?xml") + 1;
    let at2 = format!("axml line {line2}");
    let mut chans = first_order("");
    chans[1] = od("1", "2", "");
    Case::new(&hoa_master(&chans, "", 4)).render_fails(
        &[],
        &[
            who[0],
            who[1],
            block2,
            &at2,
            "degree 2 is outside -1..1 for order 1",
        ],
    );
    let mut chans = first_order("");
    chans[1] = od("1", "1", "");
    Case::new(&hoa_master(&chans, "", 4)).render_fails(
        &[],
        &[
            who[0],
            "AB_00041004_00000001",
            "order 1 degree 1 is also the order and degree of AC_00041002",
        ],
    );
    let mut chans = first_order("");
    chans[1] = od("one", "-1", "");
    Case::new(&hoa_master(&chans, "", 4)).render_fails(
        &[],
        &[who[1], block2, &at2, "order 'one' is not an integer"],
    );
    let mut chans = first_order("");
    chans[1] = "<degree>-1</degree>".into();
    Case::new(&hoa_master(&chans, "", 4)).render_fails(&[], &[block2, "has no order"]);
    // Normalisations: unknown, FuMa past order 3, disagreeing between the pack and a block.
    Case::new(&hoa_master(
        &first_order("<normalization>ambiX</normalization>"),
        "",
        4,
    ))
    .render_fails(
        &[],
        &[who[0], "normalization 'ambiX' is not SN3D, N3D or FuMa"],
    );
    let fuma: Vec<String> = (0..25)
        .map(|k| {
            let (n, m) = mixstage::panner::hoa::from_acn(k);
            od(&n.to_string(), &m.to_string(), "")
        })
        .collect();
    Case::new(&hoa_master(
        &fuma,
        "<normalization>FuMa</normalization>",
        25,
    ))
    .render_fails(
        &[],
        &[who[1], "FuMa normalisation is defined only up to order 3"],
    );
    let mut chans = first_order("");
    chans[2] = od("1", "0", "<normalization>SN3D</normalization>");
    Case::new(&hoa_master(&chans, "<normalization>N3D</normalization>", 4)).render_fails(
        &[],
        &[who[0], "normalization is N3D in audioPackFormat AP_00041001 but SN3D in block AB_00041003_00000001", "must share it"],
    );
    // A channel of the pack the object plays no track for: the file cannot hold the order.
    Case::new(&hoa_master(&first_order(""), "", 3)).render_fails(
        &[],
        &[
            who[0],
            "HOA channel AC_00041004 of the pack has no track in the object",
        ],
    );
    // Timing must be shared.
    let c = hoa_master_edited(&first_order(""), "", 4, |x| {
        x.replacen(
            "AB_00041001_00000001\"",
            "AB_00041001_00000001\" rtime=\"00:00:00.01000\" duration=\"00:00:00.05000\"",
            1,
        )
    });
    Case::new(&c).render_fails(&[], &[who[0], "rtime and duration", "must share it"]);
}

#[test]
fn a_malformed_reference_screen_is_an_error_naming_the_programme() {
    for (screen, needle) in [
        (
            r#"<audioProgrammeReferenceScreen aspectRatio="1.78"><screenCentrePosition azimuth="0" elevation="0"/></audioProgrammeReferenceScreen>"#,
            "needs a screenCentrePosition and a screenWidth of the same form",
        ),
        (
            r#"<audioProgrammeReferenceScreen aspectRatio="1.78"><screenCentrePosition X="0" Y="1" Z="0"/><screenWidth azimuth="58"/></audioProgrammeReferenceScreen>"#,
            "of the same form",
        ),
        (
            r#"<audioProgrammeReferenceScreen><screenCentrePosition azimuth="0" elevation="0"/><screenWidth azimuth="58"/></audioProgrammeReferenceScreen>"#,
            "needs an aspectRatio",
        ),
        (
            r#"<audioProgrammeReferenceScreen aspectRatio="1.78"><screenCentrePosition azimuth="zero" elevation="0"/><screenWidth azimuth="58"/></audioProgrammeReferenceScreen>"#,
            "azimuth 'zero' is not a finite number",
        ),
    ] {
        let p = programme(&[1]).replace("</audioProgramme>", &format!("{screen}</audioProgramme>"));
        assert!(p.contains(screen));
        let x = doc(&format!(
            "{p}\n{}",
            object(1, "Bee", "0003", &one_block(1), "")
        ));
        Case::new(&master(1, &[row(1, "0003")], &x)).render_fails(&[], &[needle]);
    }
}
