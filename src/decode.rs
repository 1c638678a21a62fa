//! Decoding of compressed and non-WAV formats (FLAC, Ogg Vorbis, MP3, AAC, ...) through symphonia.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::AudioSource;

/// Opens a non-WAV audio file through symphonia.
pub fn open(path: &Path) -> Result<Box<dyn AudioSource>> {
    Err(Error::Unsupported(format!("{}: only WAV input is supported so far", path.display())))
}
