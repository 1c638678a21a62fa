//! The library's error type.
//!
//! One enum with a few meaningful kinds, in the manner of symphonia: I/O on a
//! named file, malformed input (with where and what), unsupported features,
//! invalid arguments and limits that guard against hostile input. Every message
//! names the file, field or speaker at fault and says what was expected.

use std::path::PathBuf;

/// Everything that can go wrong in mixstage's library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or writing a file failed at the operating-system level.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error (shown in the message, so not chained as a source too:
        /// `anyhow`'s `{:#}` would print it twice).
        source: std::io::Error,
    },
    /// An input file (layout, scene, audio, SOFA, spec) is malformed.
    #[error("{origin}: {message}")]
    Malformed {
        /// The file (or built-in resource) and, where known, the line/column or field.
        origin: String,
        /// What is wrong and what was expected.
        message: String,
    },
    /// A layout name matched neither a built-in layout nor a file.
    #[error("unknown layout '{name}': not a built-in layout and no such file; built-in layouts are: {valid}")]
    UnknownLayout {
        /// The name that was given.
        name: String,
        /// The valid built-in names, comma separated.
        valid: String,
    },
    /// The input uses a feature mixstage does not support.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// An argument or combination of inputs is invalid (sample-rate or channel mismatch, ...).
    #[error("{0}")]
    Invalid(String),
    /// A limit that guards against hostile or absurd input was reached.
    #[error("limit reached: {0}")]
    Limit(String),
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A malformed-input error at `origin` (file, line, field) with a message.
    pub fn malformed(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Malformed {
            origin: origin.into(),
            message: message.into(),
        }
    }
}
