//! The BW64 / RF64 / RIFF container of an ADM BWF master (ITU-R BS.2088).
//!
//! [`scan`] walks every chunk of the file (in any order: `chna` and `axml` may come before
//! or after `data`), reads the `ds64` sizes of 64-bit files, honours odd-size padding and
//! ignores a RIFF size that lies (the file's real length decides). The audio itself is read
//! block by block by [`crate::io::WavReader`], which shares these rules.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};

/// Largest `axml` chunk read (bytes): a long Atmos master carries hundreds of MB.
pub const MAX_AXML: u64 = 4 << 30;
/// Most `chna` rows accepted.
pub const MAX_CHNA_ROWS: usize = 65_535;

/// One chunk's place in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkInfo {
    /// The four-character ID.
    pub id: [u8; 4],
    /// Offset of the chunk's data in the file.
    pub offset: u64,
    /// Size of the data in bytes (from `ds64` where the 32-bit size is 0xFFFFFFFF).
    pub size: u64,
}

impl ChunkInfo {
    /// The ID as text.
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.id).into_owned()
    }
}

/// One row of the `chna` chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct ChnaRow {
    /// 1-based track index in the file.
    pub track_index: u16,
    /// audioTrackUID (upper case).
    pub uid: String,
    /// audioTrackFormat ID, or (BS.2076-2) an audioChannelFormat ID with `_00`.
    pub track_ref: String,
    /// audioPackFormat ID (may be empty).
    pub pack_ref: String,
}

pub use crate::bwf::Bext;

/// The chunks of a BW64 file that ADM needs.
#[derive(Debug, Clone, Default)]
pub struct Container {
    /// `RIFF`, `RF64` or `BW64`.
    pub form: String,
    /// Every chunk, in file order.
    pub chunks: Vec<ChunkInfo>,
    /// The `chna` rows (rows with track index 0 are unused and dropped).
    pub chna: Option<Vec<ChnaRow>>,
    /// The `axml` chunk's text.
    pub axml: Option<String>,
    /// The `bext` chunk.
    pub bext: Option<Bext>,
    /// The first Dolby `dbmd` chunk's bytes, if present (parsed by [`super::dbmd`]).
    pub dbmd: Option<Vec<u8>>,
    /// Repairs made while reading (e.g. a RIFF size that lies).
    pub warnings: Vec<String>,
}

impl Container {
    /// The chunk with this ID, if present.
    pub fn chunk(&self, id: &[u8; 4]) -> Option<&ChunkInfo> {
        self.chunks.iter().find(|c| &c.id == id)
    }
}

/// Reads the chunk structure and the `chna`, `axml`, `bext` and `dbmd` chunks of a file.
pub fn scan(path: &Path) -> Result<Container> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    let origin = path.display().to_string();
    let bad = |m: String| Error::malformed(origin.clone(), m);
    let mut head = [0u8; 12];
    f.read_exact(&mut head)
        .map_err(|_| bad("not a WAV file: shorter than a RIFF header (12 bytes)".into()))?;
    let form = &head[0..4];
    if !(form == b"RIFF" || form == b"RF64" || form == b"BW64") || &head[8..12] != b"WAVE" {
        return Err(bad(
            "not a WAV file: expected a RIFF, RF64 or BW64 header with form type WAVE".into(),
        ));
    }
    let is64 = form != b"RIFF";
    let mut c = Container {
        form: String::from_utf8_lossy(form).into_owned(),
        ..Default::default()
    };
    let riff_size = u32::from_le_bytes(head[4..8].try_into().unwrap()) as u64;
    let mut ds64_riff: Option<u64> = None;
    let mut ds64_data: Option<u64> = None;
    let mut ds64_table: Vec<([u8; 4], u64)> = Vec::new();
    let mut pos = 12u64;
    while pos + 8 <= len {
        f.seek(SeekFrom::Start(pos))
            .map_err(|e| Error::io(path, e))?;
        let mut ch = [0u8; 8];
        f.read_exact(&mut ch).map_err(|e| Error::io(path, e))?;
        let id: [u8; 4] = ch[0..4].try_into().unwrap();
        let size32 = u32::from_le_bytes(ch[4..8].try_into().unwrap());
        let data_at = pos + 8;
        let mut size = size32 as u64;
        if size32 == u32::MAX && is64 {
            size = if &id == b"data" {
                ds64_data.ok_or_else(|| {
                    bad("malformed RF64: 'data' size 0xFFFFFFFF but no 'ds64' chunk".into())
                })?
            } else {
                ds64_table
                    .iter()
                    .find(|(t, _)| t == &id)
                    .map(|(_, s)| *s)
                    .ok_or_else(|| {
                        bad(format!(
                            "malformed BW64: chunk '{}' has size 0xFFFFFFFF but no 'ds64' table entry",
                            String::from_utf8_lossy(&id)
                        ))
                    })?
            };
        } else if &id == b"data" && (size32 == u32::MAX || (size32 == 0 && len > data_at)) {
            // A streamed file whose size was never patched: the data runs to the end.
            size = len - data_at;
            c.warnings.push(format!(
                "the 'data' chunk's size is {size32:#x}: taken as running to the end of the file"
            ));
        }
        if data_at.checked_add(size).is_none_or(|end| end > len) {
            return Err(bad(format!(
                "truncated file: chunk '{}' at byte {pos} declares {size} bytes but the file ends after {}",
                String::from_utf8_lossy(&id),
                len - data_at
            )));
        }
        let info = ChunkInfo {
            id,
            offset: data_at,
            size,
        };
        match &id {
            b"ds64" => {
                let b = read_chunk(&mut f, path, &info, 1 << 20)?;
                if b.len() < 28 {
                    return Err(bad(
                        "malformed RF64: 'ds64' chunk shorter than 28 bytes".into()
                    ));
                }
                let u64at = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
                ds64_riff = Some(u64at(0));
                ds64_data = Some(u64at(8));
                let n = u32::from_le_bytes(b[24..28].try_into().unwrap()) as usize;
                for k in 0..n {
                    let at = 28 + k * 12;
                    if at + 12 > b.len() {
                        return Err(bad(format!(
                            "malformed RF64: 'ds64' table declares {n} entries but holds {k}"
                        )));
                    }
                    let tid: [u8; 4] = b[at..at + 4].try_into().unwrap();
                    ds64_table.push((tid, u64at(at + 4)));
                }
            }
            b"chna" => {
                c.chna = Some(parse_chna(
                    &read_chunk(&mut f, path, &info, 4 << 20)?,
                    &origin,
                )?)
            }
            b"axml" => {
                if size > MAX_AXML {
                    return Err(Error::Limit(format!(
                        "{origin}: 'axml' chunk of {size} bytes (at most {MAX_AXML} are read)"
                    )));
                }
                let b = read_chunk(&mut f, path, &info, MAX_AXML)?;
                c.axml = Some(axml_text(b, &origin)?);
            }
            b"bext" => {
                // A bext too short to hold its fixed fields is ignored (it carries
                // nothing rendering needs).
                c.bext = Bext::parse(
                    &read_chunk(&mut f, path, &info, 1 << 20)?,
                    &path.display().to_string(),
                )
                .ok()
            }
            b"dbmd" if c.dbmd.is_none() => {
                c.dbmd = Some(read_chunk(&mut f, path, &info, 16 << 20)?)
            }
            _ => {}
        }
        c.chunks.push(info);
        pos = data_at + size + (size & 1);
    }
    let declared = ds64_riff
        .filter(|_| is64 && riff_size == u32::MAX as u64)
        .unwrap_or(riff_size)
        + 8;
    if declared != len && declared != len.saturating_sub(1) {
        c.warnings.push(format!(
            "the {} header declares {declared} bytes but the file has {len}: the file's length is used",
            c.form
        ));
    }
    if c.chunk(b"data").is_none() {
        return Err(bad("no 'data' chunk".into()));
    }
    if c.chunk(b"fmt ").is_none() {
        return Err(bad("no 'fmt ' chunk".into()));
    }
    Ok(c)
}

fn read_chunk(f: &mut File, path: &Path, info: &ChunkInfo, limit: u64) -> Result<Vec<u8>> {
    if info.size > limit {
        return Err(Error::Limit(format!(
            "{}: chunk '{}' of {} bytes (at most {limit} are read)",
            path.display(),
            info.name(),
            info.size
        )));
    }
    f.seek(SeekFrom::Start(info.offset))
        .map_err(|e| Error::io(path, e))?;
    let mut b = vec![0u8; info.size as usize];
    f.read_exact(&mut b).map_err(|e| Error::io(path, e))?;
    Ok(b)
}

/// The `axml` chunk as text: UTF-8 (a BOM and trailing NUL padding are dropped).
pub fn axml_text(mut b: Vec<u8>, origin: &str) -> Result<String> {
    while b.last() == Some(&0) {
        b.pop();
    }
    if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        b.drain(..3);
    }
    String::from_utf8(b).map_err(|e| {
        Error::malformed(
            origin.to_string(),
            format!(
                "the 'axml' chunk is not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn fixed_str(b: &[u8]) -> String {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).trim().to_string()
}

/// Parses a `chna` chunk (BS.2088): u16 track count, u16 UID count, then 40-byte rows.
pub fn parse_chna(b: &[u8], origin: &str) -> Result<Vec<ChnaRow>> {
    let bad = |m: String| Error::malformed(format!("{origin}: chna"), m);
    if b.len() < 4 {
        return Err(bad(format!(
            "{} bytes: shorter than its 4-byte header",
            b.len()
        )));
    }
    let n_uids = u16::from_le_bytes([b[2], b[3]]) as usize;
    let rows_present = (b.len() - 4) / 40;
    if n_uids > rows_present {
        return Err(bad(format!(
            "declares {n_uids} track UIDs but holds {rows_present} rows"
        )));
    }
    if n_uids > MAX_CHNA_ROWS {
        return Err(Error::Limit(format!("{origin}: chna has {n_uids} rows")));
    }
    let mut rows = Vec::new();
    for k in 0..rows_present {
        let r = &b[4 + k * 40..4 + (k + 1) * 40];
        let track_index = u16::from_le_bytes([r[0], r[1]]);
        if track_index == 0 {
            continue;
        }
        rows.push(ChnaRow {
            track_index,
            uid: fixed_str(&r[2..14]).to_ascii_uppercase(),
            track_ref: fixed_str(&r[14..28]).to_ascii_uppercase(),
            pack_ref: fixed_str(&r[28..39]).to_ascii_uppercase(),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(idx: u16, uid: &str, t: &str, p: &str) -> Vec<u8> {
        let mut r = idx.to_le_bytes().to_vec();
        let mut put = |s: &str, n: usize| {
            let mut v = s.as_bytes().to_vec();
            v.resize(n, 0);
            r.extend(v);
        };
        put(uid, 12);
        put(t, 14);
        put(p, 11);
        r.push(0);
        r
    }

    #[test]
    fn chna_rows_parse_and_unused_rows_drop() {
        let mut b = vec![2, 0, 3, 0];
        b.extend(row(1, "ATU_00000001", "AT_00031001_01", "AP_00031001"));
        b.extend(row(0, "", "", ""));
        b.extend(row(2, "atu_00000002", "AC_00010001_00", ""));
        let rows = parse_chna(&b, "x").unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].uid, "ATU_00000002");
        assert_eq!(rows[1].track_ref, "AC_00010001_00");
        assert_eq!(rows[0].pack_ref, "AP_00031001");
        assert!(parse_chna(&[1, 0, 5, 0], "x").is_err());
        assert!(parse_chna(&[1], "x").is_err());
    }

    #[test]
    fn axml_text_trims_padding_and_rejects_bad_utf8() {
        assert_eq!(axml_text(b"<a/>\0\0".to_vec(), "x").unwrap(), "<a/>");
        assert!(axml_text(vec![0x3C, 0xFF, 0x3E], "x").is_err());
    }
}
