//! mixstage: a renderer for immersive, object-based sound.
//!
//! A *scene* of audio objects (mono sources with automated 3D position, gain and
//! EQ) and channel *beds* is panned with VBAP onto a speaker *layout* and written
//! as a multichannel WAV. The same engine converts finished mixes between layouts,
//! renders binaural checks for headphones and measures mixes for quality control.
//!
//! Conventions (see `README.md`): ADM / BS.2051 polar coordinates, azimuth
//! positive to the left, elevation positive up, distance 1 at the speakers.

pub mod adm;
pub mod binaural;
pub mod bwf;
pub mod convert;
pub mod decode;
pub mod deliver;
pub mod eq;
pub mod error;
pub mod geometry;
pub mod io;
pub mod layout;
pub mod panner;
pub mod plot;
pub mod qc;
pub mod render;
pub mod scene;
pub mod source;
pub mod time;
pub mod timecode;

pub use error::{Error, Result};
pub use layout::{Layout, Speaker};
pub use panner::Panner;
