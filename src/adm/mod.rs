//! ADM BWF masters (ITU-R BS.2076 metadata in BW64 files, BS.2088): reading them into a
//! [`Scene`](crate::scene::Scene) that renders as ITU-R BS.2127 specifies.
//!
//! * [`bw64`]: the container (chunks in any order, `ds64`, `chna`, `axml`, `bext`).
//! * [`xml`]: a streaming reader of the `axml` XML into the [`model`].
//! * [`common`]: the ITU-R BS.2094 common definitions, embedded.
//! * [`select`]: BS.2127's item selection (programme, contents, nested and complementary
//!   objects, packs, tracks) and the repairs real files need, producing the scene.
//! * [`hoa`]: HOA (scene-based) items, one per object and pack, checked and decoded as beds.
//! * [`dbmd`]: the Dolby `dbmd` chunk's per-track binaural render modes (Dolby Atmos masters).
//!
//! Every repair is a [`Warnings`] entry, one per element and kind; [`AdmOptions::strict`]
//! turns them into errors.

pub mod block_json;
pub mod bw64;
pub mod common;
pub mod dbmd;
pub mod export;
pub mod hoa;
pub mod model;
pub mod select;
pub mod validate;
pub mod xml;

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};

pub use select::{load, AdmMaster};

/// Repairs and notes collected while reading a master: one per element and kind.
#[derive(Debug, Clone, Default)]
pub struct Warnings {
    /// The messages, in the order they arose.
    pub list: Vec<String>,
    seen: HashSet<(String, &'static str)>,
}

impl Warnings {
    /// Adds a message unless one of this kind was already given for `element`.
    pub fn add(&mut self, element: &str, kind: &'static str, message: String) {
        if self.seen.insert((element.to_string(), kind)) {
            self.list.push(message);
        }
    }

    /// True if there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// How to read and select an ADM master.
#[derive(Debug, Clone, Default)]
pub struct AdmOptions {
    /// The audioProgramme to render (default: BS.2127's choice, the lowest ID).
    pub programme: Option<String>,
    /// Complementary objects to select, one per group (default: each group's root).
    pub comp_objects: Vec<String>,
    /// Repairs become errors.
    pub strict: bool,
    /// Objects whose type mixstage cannot render (Binaural, Matrix, HOA) are left out with
    /// a warning instead of an error.
    pub skip_unsupported: bool,
    /// BS.2127's importance filter (`--importance N`, 0-10): items whose audioObject or
    /// audioPackFormat importance (the lowest along the path) is below N are not rendered, and
    /// Objects blocks whose importance is below N play at gain 0 (ramped like any gain).
    pub importance: Option<u8>,
}

/// True if `path` starts like a WAV/RF64/BW64 file (so it is read as an ADM master).
pub fn is_wav(path: &Path) -> bool {
    use std::io::Read;
    let mut b = [0u8; 12];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut b))
        .is_ok()
        && matches!(&b[0..4], b"RIFF" | b"RF64" | b"BW64")
        && &b[8..12] == b"WAVE"
}

/// Turns the warnings into an error when strict.
pub(crate) fn check_strict(origin: &str, w: &Warnings, strict: bool) -> Result<()> {
    if strict && !w.is_empty() {
        return Err(Error::Invalid(format!(
            "{origin}: --strict: the master needs {} repair(s): {}",
            w.list.len(),
            w.list.join("; ")
        )));
    }
    Ok(())
}

/// Reads a scene from `path`: an ADM master (a WAV/BW64/RF64 file) as BS.2127 selects
/// it, or a RON scene file. For a master, the opened [`AdmMaster`] comes too (for its
/// warnings and metadata).
pub fn open_scene(
    path: &Path,
    opts: &AdmOptions,
) -> Result<(crate::scene::Scene, Option<AdmMaster>)> {
    // A file named like a WAV that does not start like one (empty, truncated, another
    // format) is reported by the container reader, not as a malformed RON scene.
    let wav_name = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
        matches!(
            e.to_ascii_lowercase().as_str(),
            "wav" | "bwf" | "rf64" | "bw64"
        )
    });
    if is_wav(path) || wav_name {
        let m = load(path, opts)?;
        let scene = m.to_scene()?;
        if scene.objects.is_empty() && scene.beds.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: nothing to render: the selection has no audible rendering item",
                path.display()
            )));
        }
        Ok((scene, Some(m)))
    } else {
        Ok((crate::scene::Scene::load(path)?, None))
    }
}
