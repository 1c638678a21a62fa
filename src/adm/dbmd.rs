//! The Dolby audio metadata chunk (`dbmd`) of Dolby Atmos ADM BWF masters, read for its
//! per-track headphone (binaural) render modes, with the Dolby Atmos segment's tool name and
//! warp mode and the trim modes for the record.
//!
//! # Layout
//!
//! The chunk is EBU Tech 3285 Supplement 6 ("BWF - Dolby Metadata"); its Dolby Atmos segments
//! are described publicly only by Dolby's own reader, DolbyLaboratories/dbmd-atmos-parser 1.1
//! (2020): `dbmd_atmos_parse/src/dbmd_atmos_parse.c` (`parse_dbmd_metadata`,
//! `parse_dolbyatmos_metadata`, `parse_dolbyatmos_splml_metadata`, `calc_checksum`) and
//! `dbmd_atmos_parse/src/dbmd_atmos_parse.h` (the value enums). MediaInfoLib's
//! `Source/MediaInfo/Audio/File_DolbyAudioMetadata.cpp` names the bit fields the same way.
//! Numbers are little-endian.
//!
//! | bytes | field |
//! |---|---|
//! | 4 | version, u32 (`0x01000006`, i.e. 1.0.0.6, in every master seen; Dolby's parser refuses versions above 1.0.0.7, this reader any major version but 1) |
//! | ... | segments, each: 1 byte ID (0 ends the chunk), u16 payload size N, N bytes of payload, 1 checksum byte |
//!
//! The checksum is the two's complement of (N mod 256 + the sum of the payload bytes) mod 256.
//! Segment IDs: 1 Dolby E, 3 Dolby Digital, 7 Dolby Digital Plus, 8 audio info, 9 Dolby Atmos,
//! 10 Dolby Atmos supplemental; any other is skipped by its size, as Dolby's parser does.
//!
//! Dolby Atmos (9), 248 bytes: 32 reserved (the text "Created using Dolby equipment" in the
//! masters seen), 64 bytes `content_creation_tool` (NUL-padded text), 3 bytes tool version
//! (major, minor, micro), 53 bytes not described, 1 byte whose low 3 bits are `warp_mode`
//! (0 normal, 1 warping, 2 Dolby Pro Logic IIx downmix, 3 Lo/Ro downmix, 4 not indicated), 15
//! reserved, 80 not described.
//!
//! Dolby Atmos supplemental (10), 142 + 2n bytes: u32 sync `0xF8726FBD`, u16 `object_count` n,
//! 1 reserved, nine trim configurations of 15 bytes (bit 0 of the first byte: automatic trims;
//! in the order 2.0, 5.1, 7.1, 2.1.2, 5.1.2, 7.1.2, 2.1.4, 5.1.4, 7.1.4), n bytes of per-entry
//! trim settings (skipped), then n bytes of headphone metadata whose low 3 bits are the
//! `binaural_render_mode`: 0 bypass, 1 near, 2 far, 3 mid, 4 not indicated. MediaInfoLib calls
//! the top 2 bits `head_track_mode`; neither reader interprets them (the masters seen write
//! `0x84` and `0x80`, so 2).
//!
//! # Which element each binaural render mode belongs to
//!
//! Entry k (0-based) is the file's track k+1, the track `chna` numbers k+1: one entry per WAV
//! channel, so a bed has one per channel and an object one per track. Neither Dolby's parser
//! nor its documentation says so; the evidence:
//!
//! * The Pro Tools / Dolby Atmos Renderer master in iluvcapra/wavinfo
//!   (`tests/test_files/protools/Test_ADM_ProTools.wav`, this project's
//!   `Test_ADM_ProTools_testsignals.wav`) has 14 tracks, a 7.1.2 bed (audioObject AO_1001 on
//!   tracks 1-10) and four objects (tracks 11-14), and n = 14, not 5: the entries count tracks.
//!   Entry 3 alone is bypass: track 4, the bed's `RoomCentricLFE` (an LFE is not virtualised);
//!   every other entry is "not indicated".
//! * MediaInfoLib maps entry i to transport track i+1 and from there, through `chna`, to the
//!   audioTrackUID and its audioObject (`File_DolbyAudioMetadata::Merge`); its commit 2b9a35a
//!   "ADM: correctly map Dolby binaural render mode to track UID" (pull request #1557, 2022)
//!   replaced an earlier mapping by the position of the audioTrackUID in the XML with this one.
//! * Dolby's parser calls n `object_count` and caps it at 128, the Dolby Atmos Renderer's 128
//!   inputs (bed channels first, then objects). Dolby masters write their tracks in that order,
//!   so in them track order, "bed channels, then objects" and audioObject order all agree; where
//!   a file orders its tracks otherwise, the track order is what is used here.
//! * Dolby's own samples (`sample_files/sample_adm_file_0..6.wav`) have 2 tracks, 2 objects and
//!   n = 2 (sample 6: bypass, far; its printed summary says "objects have different values").
//!
//! The mode is per track, not per audioTrackUID: when several audioTrackUIDs share a track (in
//! turn), each takes that track's mode.
//!
//! "Not indicated" means the Dolby renderer's default, which is mid (Dolby's parser prints
//! "default binaural render mode" for mid; MediaInfo labels 4 "Not Indicated (Mid)"); it is kept
//! apart from an explicit mid here, so that a later step can choose.

use super::model::{BinauralMode, SILENT_TRACK};
use super::select::{AdmMaster, Item};
use crate::error::{Error, Result};

/// Segment ID that ends the chunk.
pub const SEGMENT_END: u8 = 0;
/// Segment ID of the Dolby Atmos segment.
pub const SEGMENT_DOLBY_ATMOS: u8 = 9;
/// Segment ID of the Dolby Atmos supplemental segment (trims, binaural render modes).
pub const SEGMENT_DOLBY_ATMOS_SUPPLEMENTAL: u8 = 10;
/// The sync word that opens a Dolby Atmos supplemental segment.
pub const SUPPLEMENTAL_SYNC: u32 = 0xF872_6FBD;
/// Payload size of a Dolby Atmos segment.
pub const DOLBY_ATMOS_SIZE: usize = 248;
/// The trim configurations of a supplemental segment, in their order.
pub const TRIM_CONFIGS: [&str; 9] = [
    "2.0", "5.1", "7.1", "2.1.2", "5.1.2", "7.1.2", "2.1.4", "5.1.4", "7.1.4",
];
/// Bytes of a supplemental segment before its per-entry bytes: sync, count, reserved, trims.
const SUPPLEMENTAL_HEAD: usize = 4 + 2 + 1 + 15 * TRIM_CONFIGS.len();

/// A `binaural_render_mode` value as the chunk writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RenderMode {
    /// 0: not virtualised.
    Bypass,
    /// 1.
    Near,
    /// 2.
    Far,
    /// 3.
    Mid,
    /// 4: the master does not say (the renderer's default, mid, applies).
    NotIndicated,
    /// 5-7: not defined by Dolby's parser.
    Reserved(u8),
}

impl RenderMode {
    /// From the low 3 bits of a headphone metadata byte.
    pub fn from_byte(b: u8) -> RenderMode {
        match b & 0x07 {
            0 => RenderMode::Bypass,
            1 => RenderMode::Near,
            2 => RenderMode::Far,
            3 => RenderMode::Mid,
            4 => RenderMode::NotIndicated,
            c => RenderMode::Reserved(c),
        }
    }

    /// The 3-bit code.
    pub fn code(self) -> u8 {
        match self {
            RenderMode::Bypass => 0,
            RenderMode::Near => 1,
            RenderMode::Far => 2,
            RenderMode::Mid => 3,
            RenderMode::NotIndicated => 4,
            RenderMode::Reserved(c) => c,
        }
    }

    /// The mode it sets: None when not indicated (or a reserved value).
    pub fn binaural(self) -> Option<BinauralMode> {
        match self {
            RenderMode::Bypass => Some(BinauralMode::Off),
            RenderMode::Near => Some(BinauralMode::Near),
            RenderMode::Far => Some(BinauralMode::Far),
            RenderMode::Mid => Some(BinauralMode::Mid),
            RenderMode::NotIndicated | RenderMode::Reserved(_) => None,
        }
    }

    /// Name for reports: `off`, `near`, `far`, `mid`, `not indicated`, `reserved`.
    pub fn name(self) -> &'static str {
        match self.binaural() {
            Some(m) => m.name(),
            None if self == RenderMode::NotIndicated => "not indicated",
            None => "reserved",
        }
    }
}

/// One segment of the chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// Its ID.
    pub id: u8,
    /// File offset of its ID byte.
    pub offset: u64,
    /// Payload size.
    pub size: usize,
    /// Whether its checksum matched (a segment that fails is not used).
    pub checksum_ok: bool,
}

/// What the Dolby Atmos segment (9) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtmosSegment {
    /// `content_creation_tool` (e.g. "Pro Tools", "Dolby Atmos Conversion Tool").
    pub tool: String,
    /// Its version: major, minor, micro.
    pub tool_version: [u8; 3],
    /// `warp_mode` (0 normal, 1 warping, 2 Pro Logic IIx, 3 Lo/Ro, 4 not indicated).
    pub warp_mode: u8,
}

/// What the Dolby Atmos supplemental segment (10) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supplemental {
    /// Automatic (true) or manual trims, per [`TRIM_CONFIGS`] entry.
    pub auto_trim: [bool; 9],
    /// The headphone metadata bytes, one per entry (per file track, see the module notes).
    pub headphone: Vec<u8>,
}

impl Supplemental {
    /// Number of entries (`object_count`).
    pub fn len(&self) -> usize {
        self.headphone.len()
    }

    /// True when it has no entries.
    pub fn is_empty(&self) -> bool {
        self.headphone.is_empty()
    }

    /// The binaural render mode of entry `index` (0-based).
    pub fn render_mode(&self, index: usize) -> Option<RenderMode> {
        self.headphone.get(index).map(|&b| RenderMode::from_byte(b))
    }

    /// Every entry's binaural render mode, in entry order.
    pub fn render_modes(&self) -> Vec<RenderMode> {
        self.headphone
            .iter()
            .map(|&b| RenderMode::from_byte(b))
            .collect()
    }
}

/// A parsed `dbmd` chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dbmd {
    /// The version word (`0x01000006` reads 1.0.0.6).
    pub version: u32,
    /// Every segment, in chunk order (the end marker excluded).
    pub segments: Vec<Segment>,
    /// The Dolby Atmos segment, if present and sound.
    pub atmos: Option<AtmosSegment>,
    /// The Dolby Atmos supplemental segment, if present and sound.
    pub supplemental: Option<Supplemental>,
    /// What was odd but not fatal (bad checksums, a missing end marker, reserved values).
    pub warnings: Vec<String>,
}

impl Dbmd {
    /// The version as `major.minor.x.y`.
    pub fn version_string(&self) -> String {
        let b = self.version.to_be_bytes();
        format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])
    }

    /// The binaural render mode of file track `track` (1-based, as `chna` numbers tracks), if
    /// the supplemental segment has an entry for it.
    pub fn track_mode(&self, track: usize) -> Option<RenderMode> {
        let index = track.checked_sub(1)?;
        self.supplemental.as_ref()?.render_mode(index)
    }
}

/// Parses a `dbmd` chunk's bytes. `origin` names the file and `chunk_offset` is the file offset
/// of the chunk's data, so that errors name the byte where the chunk goes wrong. A truncated or
/// malformed structure is an error; a bad checksum, a reserved value or a missing end marker is
/// a warning in [`Dbmd::warnings`] (a segment whose checksum fails is not used).
pub fn parse(b: &[u8], origin: &str, chunk_offset: u64) -> Result<Dbmd> {
    let at = |rel: usize| chunk_offset + rel as u64;
    let bad = |rel: usize, msg: String| {
        Error::malformed(
            format!("{origin}: dbmd chunk"),
            format!("byte {}: {msg}", at(rel)),
        )
    };
    if b.len() < 4 {
        return Err(bad(
            0,
            format!(
                "truncated: {} bytes, shorter than the 4-byte version",
                b.len()
            ),
        ));
    }
    let version = u32::from_le_bytes(b[0..4].try_into().unwrap());
    if version >> 24 != 1 {
        return Err(Error::Unsupported(format!(
            "{origin}: dbmd chunk at byte {}: version {:#010x}: only version 1 is understood",
            at(0),
            version
        )));
    }
    let mut d = Dbmd {
        version,
        segments: Vec::new(),
        atmos: None,
        supplemental: None,
        warnings: Vec::new(),
    };
    let mut pos = 4usize;
    loop {
        if pos >= b.len() {
            d.warnings.push(format!(
                "{origin}: dbmd chunk: no end marker (segment ID 0) after the last segment at byte {}: taken as the end",
                at(pos)
            ));
            break;
        }
        let id = b[pos];
        if id == SEGMENT_END {
            break;
        }
        if pos + 3 > b.len() {
            return Err(bad(
                pos,
                format!(
                    "truncated: segment {id} needs a 3-byte header but the chunk ends after {} bytes",
                    b.len() - pos
                ),
            ));
        }
        let size = u16::from_le_bytes([b[pos + 1], b[pos + 2]]) as usize;
        let payload_at = pos + 3;
        if payload_at + size + 1 > b.len() {
            return Err(bad(
                pos,
                format!(
                    "truncated: segment {id} declares {size} payload bytes and a checksum byte but the chunk ends after {}",
                    b.len() - payload_at
                ),
            ));
        }
        let payload = &b[payload_at..payload_at + size];
        let checksum_ok = b[payload_at + size] == checksum(payload);
        d.segments.push(Segment {
            id,
            offset: at(pos),
            size,
            checksum_ok,
        });
        let known = matches!(id, SEGMENT_DOLBY_ATMOS | SEGMENT_DOLBY_ATMOS_SUPPLEMENTAL);
        if known && !checksum_ok {
            d.warnings.push(format!(
                "{origin}: dbmd chunk: segment {id} at byte {}: bad checksum: its contents are not used",
                at(pos)
            ));
        } else if id == SEGMENT_DOLBY_ATMOS {
            if d.atmos.is_some() {
                d.warnings.push(format!(
                    "{origin}: dbmd chunk: a second Dolby Atmos segment at byte {}: ignored",
                    at(pos)
                ));
            } else if size != DOLBY_ATMOS_SIZE {
                d.warnings.push(format!(
                    "{origin}: dbmd chunk: the Dolby Atmos segment at byte {} has {size} bytes (expected {DOLBY_ATMOS_SIZE}): ignored",
                    at(pos)
                ));
            } else {
                d.atmos = Some(atmos_segment(payload));
            }
        } else if id == SEGMENT_DOLBY_ATMOS_SUPPLEMENTAL {
            if d.supplemental.is_some() {
                d.warnings.push(format!(
                    "{origin}: dbmd chunk: a second Dolby Atmos supplemental segment at byte {}: ignored",
                    at(pos)
                ));
            } else {
                let s = supplemental(payload).map_err(|m| bad(payload_at, m))?;
                let reserved: Vec<usize> = s
                    .render_modes()
                    .iter()
                    .enumerate()
                    .filter(|(_, m)| matches!(m, RenderMode::Reserved(_)))
                    .map(|(i, _)| i + 1)
                    .collect();
                if !reserved.is_empty() {
                    d.warnings.push(format!(
                        "{origin}: dbmd chunk: binaural render mode of track(s) {} is a reserved value (5-7): taken as not indicated",
                        reserved
                            .iter()
                            .map(|t| t.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                d.supplemental = Some(s);
            }
        }
        pos = payload_at + size + 1;
    }
    Ok(d)
}

/// A segment checksum: the two's complement of the size's low byte plus the payload bytes.
pub fn checksum(payload: &[u8]) -> u8 {
    let sum = payload
        .iter()
        .fold(payload.len() as u8, |s, &x| s.wrapping_add(x));
    sum.wrapping_neg()
}

fn atmos_segment(p: &[u8]) -> AtmosSegment {
    let name = &p[32..96];
    let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
    AtmosSegment {
        tool: String::from_utf8_lossy(&name[..end]).trim().to_string(),
        tool_version: [p[96], p[97], p[98]],
        warp_mode: p[99 + 53] & 0x07,
    }
}

fn supplemental(p: &[u8]) -> std::result::Result<Supplemental, String> {
    if p.len() < 6 {
        return Err(format!(
            "the Dolby Atmos supplemental segment has {} bytes: too short for its sync word and entry count",
            p.len()
        ));
    }
    let sync = u32::from_le_bytes(p[0..4].try_into().unwrap());
    if sync != SUPPLEMENTAL_SYNC {
        return Err(format!(
            "the Dolby Atmos supplemental segment starts with {sync:#010x}, not its sync word {SUPPLEMENTAL_SYNC:#010x}"
        ));
    }
    let n = u16::from_le_bytes([p[4], p[5]]) as usize;
    let need = SUPPLEMENTAL_HEAD + 2 * n;
    if p.len() < need {
        return Err(format!(
            "the Dolby Atmos supplemental segment declares {n} entries, which need {need} bytes, but has {}",
            p.len()
        ));
    }
    let mut auto_trim = [false; 9];
    for (k, t) in auto_trim.iter_mut().enumerate() {
        *t = p[7 + 15 * k] & 1 == 1;
    }
    let modes_at = SUPPLEMENTAL_HEAD + n;
    Ok(Supplemental {
        auto_trim,
        headphone: p[modes_at..modes_at + n].to_vec(),
    })
}

/// The binaural render mode of one audioTrackUID of an audioObject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackMode {
    /// The audioTrackUID.
    pub track_uid: String,
    /// Its file track (1-based, from `chna`), if mapped.
    pub track: Option<usize>,
    /// Its audioChannelFormat (for a bed: which channel), if it can be resolved.
    pub channel: Option<String>,
    /// The dbmd's value for the track (None: no dbmd entry for it).
    pub mode: Option<RenderMode>,
}

impl AdmMaster {
    /// The dbmd's binaural render mode of file track `track` (1-based, as `chna` numbers
    /// tracks): None without a (sound) dbmd chunk or an entry for that track.
    pub fn dbmd_track_mode(&self, track: usize) -> Option<RenderMode> {
        self.dbmd.as_ref()?.track_mode(track)
    }

    /// The dbmd's binaural render modes of an audioObject, one per audioTrackUIDRef in the
    /// object's order: one for an object, one per channel for a bed. Empty for an unknown ID.
    pub fn dbmd_object_modes(&self, object_id: &str) -> Vec<TrackMode> {
        let Some(o) = self.adm.object(&super::model::canonical_id(object_id)) else {
            return Vec::new();
        };
        let origin = self.path.display().to_string();
        o.track_uids
            .iter()
            .filter(|u| u.as_str() != SILENT_TRACK)
            .map(|u| {
                let tu = self.adm.track_uid(u);
                let track = tu.and_then(|t| t.track_index);
                let channel = tu.and_then(|t| {
                    super::select::uid_channel(
                        &self.adm,
                        t,
                        &origin,
                        &mut super::Warnings::default(),
                    )
                    .ok()
                });
                TrackMode {
                    track_uid: u.clone(),
                    track,
                    channel,
                    mode: track.and_then(|t| self.dbmd_track_mode(t)),
                }
            })
            .collect()
    }

    /// The headphone mode the dbmd chunk gives a rendering item (by its track): None when the
    /// master has no dbmd modes, none for this track, or "not indicated".
    pub fn dbmd_item_mode(&self, item: &Item) -> Option<BinauralMode> {
        item.track
            .and_then(|t| self.dbmd_track_mode(t + 1))
            .and_then(RenderMode::binaural)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One segment: ID, u16 size, payload, checksum.
    fn segment(id: u8, payload: &[u8]) -> Vec<u8> {
        let mut s = vec![id];
        s.extend((payload.len() as u16).to_le_bytes());
        s.extend(payload);
        s.push(checksum(payload));
        s
    }

    fn atmos_payload(tool: &str, version: [u8; 3], warp: u8) -> Vec<u8> {
        let mut p = vec![0u8; DOLBY_ATMOS_SIZE];
        p[..29].copy_from_slice(b"Created using Dolby equipment");
        p[32..32 + tool.len()].copy_from_slice(tool.as_bytes());
        p[96..99].copy_from_slice(&version);
        p[152] = warp;
        p
    }

    fn supplemental_payload(modes: &[u8]) -> Vec<u8> {
        let mut p = SUPPLEMENTAL_SYNC.to_le_bytes().to_vec();
        p.extend((modes.len() as u16).to_le_bytes());
        p.push(0);
        for k in 0..9 {
            let mut t = [0u8; 15];
            t[0] = (k != 1) as u8; // 5.1 manual, the others automatic
            p.extend(t);
        }
        p.extend(vec![0u8; modes.len()]);
        p.extend(modes);
        p
    }

    fn chunk(segments: &[Vec<u8>], end: bool) -> Vec<u8> {
        let mut c = 0x0100_0006u32.to_le_bytes().to_vec();
        for s in segments {
            c.extend(s);
        }
        if end {
            c.push(0);
        }
        c
    }

    #[test]
    fn reads_the_atmos_and_supplemental_segments_and_skips_others() {
        let c = chunk(
            &[
                segment(7, &[0x11; 96]),
                segment(9, &atmos_payload("Pro Tools", [22, 9, 0], 3)),
                segment(0x42, &[1, 2, 3]),
                segment(10, &supplemental_payload(&[0x84, 0x80, 0x01, 0x02, 0x83])),
            ],
            true,
        );
        let d = parse(&c, "m.wav", 1000).unwrap();
        assert_eq!(d.version_string(), "1.0.0.6");
        assert_eq!(
            d.segments
                .iter()
                .map(|s| (s.id, s.size))
                .collect::<Vec<_>>(),
            [(7, 96), (9, 248), (0x42, 3), (10, 152)]
        );
        assert_eq!(d.segments[1].offset, 1000 + 4 + 100);
        let a = d.atmos.as_ref().unwrap();
        assert_eq!(
            (a.tool.as_str(), a.tool_version, a.warp_mode),
            ("Pro Tools", [22, 9, 0], 3)
        );
        let s = d.supplemental.as_ref().unwrap();
        assert_eq!(
            s.render_modes(),
            [
                RenderMode::NotIndicated,
                RenderMode::Bypass,
                RenderMode::Near,
                RenderMode::Far,
                RenderMode::Mid
            ]
        );
        assert_eq!(
            s.auto_trim,
            [true, false, true, true, true, true, true, true, true]
        );
        assert_eq!(d.track_mode(2), Some(RenderMode::Bypass));
        assert_eq!(d.track_mode(0), None);
        assert_eq!(d.track_mode(6), None);
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        let modes: Vec<_> = s.render_modes().iter().map(|m| m.binaural()).collect();
        use BinauralMode::*;
        assert_eq!(modes, [None, Some(Off), Some(Near), Some(Far), Some(Mid)]);
    }

    #[test]
    fn checksum_follows_dolby() {
        // Dolby's calc_checksum: start from the size's low byte, add the payload, negate.
        assert_eq!(checksum(&[]), 0);
        assert_eq!(checksum(&[1, 2]), (256 - 5) as u8);
        // (300 + 300 * 1) mod 256 = 88, negated 168.
        assert_eq!(checksum(&[1; 300]), 168);
        assert_eq!(checksum(&[0xFF; 7]), 0);
    }

    #[test]
    fn truncation_is_an_error_naming_the_file_and_byte() {
        let full = chunk(
            &[
                segment(9, &atmos_payload("T", [1, 0, 0], 0)),
                segment(10, &supplemental_payload(&[1, 2])),
            ],
            true,
        );
        let end_of_atmos = 4 + 3 + 248 + 1;
        for cut in 0..full.len() {
            let r = parse(&full[..cut], "m.wav", 500);
            if cut == 4 || cut == end_of_atmos || cut == full.len() - 1 {
                // At a segment boundary: complete segments, no end marker.
                let d = r.unwrap();
                assert!(d.warnings[0].contains("no end marker"), "{:?}", d.warnings);
                continue;
            }
            let e = r.unwrap_err().to_string();
            assert!(e.starts_with("m.wav: dbmd chunk"), "{cut}: {e}");
            let want = if cut < 4 {
                500
            } else if cut < end_of_atmos {
                504
            } else {
                500 + end_of_atmos as u64
            };
            assert!(e.contains(&format!("byte {want}:")), "{cut}: {e}");
            assert!(e.contains("truncated"), "{cut}: {e}");
        }
        assert!(parse(&full, "m.wav", 500).unwrap().warnings.is_empty());
    }

    #[test]
    fn malformed_supplemental_segments_are_errors() {
        // Wrong sync word.
        let mut p = supplemental_payload(&[1]);
        p[0] ^= 1;
        let e = parse(&chunk(&[segment(10, &p)], true), "m.wav", 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("sync") && e.contains("byte 7:"), "{e}");
        // More entries declared than the segment holds.
        let mut p = supplemental_payload(&[1, 1]);
        p[4] = 3;
        let e = parse(&chunk(&[segment(10, &p)], true), "m.wav", 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("declares 3 entries") && e.contains("148"), "{e}");
        // Too short for the count.
        let e = parse(&chunk(&[segment(10, &[0xBD, 0x6F])], true), "m.wav", 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("too short"), "{e}");
        // Another major version.
        let mut c = chunk(&[], true);
        c[3] = 2;
        let e = parse(&c, "m.wav", 0).unwrap_err().to_string();
        assert!(e.contains("version 0x02000006"), "{e}");
    }

    #[test]
    fn bad_checksums_reserved_values_and_repeats_are_warnings() {
        let mut bad = segment(10, &supplemental_payload(&[1]));
        *bad.last_mut().unwrap() ^= 0xFF;
        let c = chunk(
            &[
                bad,
                segment(10, &supplemental_payload(&[3])),
                segment(9, &atmos_payload("A", [1, 2, 3], 0)[..200]),
                segment(10, &supplemental_payload(&[0x85, 2])),
            ],
            true,
        );
        let d = parse(&c, "m.wav", 0).unwrap();
        // The first (bad checksum) is not used; the second is; the last is a repeat.
        assert_eq!(d.supplemental.unwrap().render_modes(), [RenderMode::Mid]);
        assert!(d.atmos.is_none());
        assert!(!d.segments[0].checksum_ok && d.segments[1].checksum_ok);
        let w = d.warnings.join("\n");
        assert!(w.contains("bad checksum"), "{w}");
        assert!(w.contains("has 200 bytes"), "{w}");
        assert!(w.contains("second Dolby Atmos supplemental"), "{w}");
        // A reserved value reads as such and means no mode.
        let d = parse(
            &chunk(&[segment(10, &supplemental_payload(&[0x85, 0x07]))], true),
            "m.wav",
            0,
        )
        .unwrap();
        let s = d.supplemental.unwrap();
        assert_eq!(s.render_mode(0), Some(RenderMode::Reserved(5)));
        assert_eq!(s.render_mode(0).unwrap().binaural(), None);
        assert!(d.warnings[0].contains("track(s) 1, 2"), "{:?}", d.warnings);
    }
}
