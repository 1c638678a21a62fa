//! Delivery specifications as data: RON files in `specs/` (embedded into the binary) or a
//! user's own file. A spec is a list of checks; each check applies to some of the systems.
//!
//! ```ron
//! Spec(
//!     name: "ebu-r128",
//!     description: "EBU R 128: -23 LUFS +-0.5 LU, true peak <= -1 dBTP",
//!     checks: [
//!         IntegratedLoudness(target: -23.0, tolerance: 0.5),
//!         MaxTruePeak(limit: -1.0, systems: All),
//!     ],
//! )
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which systems a check applies to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum Systems {
    /// The mix's own layout only (the deliverable).
    #[default]
    Own,
    /// Every system measured.
    All,
    /// The systems with these names (`stereo`, `5.1`, `mono`, ...); absent ones are skipped.
    Named(Vec<String>),
}

/// How integrated loudness is gated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Gating {
    /// BS.1770-4 programme loudness (absolute and relative gates).
    #[default]
    Programme,
    /// Dialogue-gated, approximated: the mix's loudness over the 400 ms blocks in which the
    /// centre channel passes the BS.1770 gates of its own; programme loudness when the system
    /// has no centre channel. (Dolby Dialogue Intelligence is proprietary; see the README.)
    Dialogue,
}

/// One check of a delivery spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Check {
    /// Integrated loudness within `target +- tolerance` LUFS.
    IntegratedLoudness {
        /// Target, LUFS (LKFS).
        target: f64,
        /// Allowed deviation, LU.
        tolerance: f64,
        /// Programme or dialogue gating.
        #[serde(default)]
        gating: Gating,
        /// Where the check applies.
        #[serde(default)]
        systems: Systems,
    },
    /// True peak at most `limit` dBTP.
    MaxTruePeak {
        /// Limit, dBTP.
        limit: f64,
        /// Where the check applies.
        #[serde(default)]
        systems: Systems,
    },
    /// Sample peak at most `limit` dBFS.
    MaxSamplePeak {
        /// Limit, dBFS.
        limit: f64,
        /// Where the check applies.
        #[serde(default)]
        systems: Systems,
    },
    /// Maximum short-term loudness at most `limit` LUFS.
    MaxShortTerm {
        /// Limit, LUFS.
        limit: f64,
        /// Where the check applies.
        #[serde(default)]
        systems: Systems,
    },
    /// Maximum momentary loudness at most `limit` LUFS.
    MaxMomentary {
        /// Limit, LUFS.
        limit: f64,
        /// Where the check applies.
        #[serde(default)]
        systems: Systems,
    },
    /// Loudness range at most `max` LU.
    MaxLoudnessRange {
        /// Limit, LU.
        max: f64,
        /// Where the check applies.
        #[serde(default)]
        systems: Systems,
    },
    /// No clipped samples.
    NoClipping {
        /// Where the check applies.
        #[serde(default)]
        systems: Systems,
    },
    /// No run of digital silence inside the programme longer than `seconds`.
    MaxSilence {
        /// Longest allowed run, seconds.
        seconds: f64,
        /// Where the check applies.
        #[serde(default)]
        systems: Systems,
    },
    /// Stereo correlation at least `min` (two-channel systems).
    MinCorrelation {
        /// Lowest allowed correlation, -1 to 1.
        min: f64,
        /// Where the check applies.
        #[serde(default)]
        systems: Systems,
    },
    /// Mono fold-down at most `max` LU quieter than the mix (mono system only).
    MaxMonoLoss {
        /// Largest allowed loss, LU.
        max: f64,
    },
    /// No pair of channels out of phase in the mono fold-down (correlation below `min`).
    NoOutOfPhase {
        /// Pairs correlated below this count as out of phase (e.g. -0.5).
        min: f64,
    },
}

/// A delivery specification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Short name used on the command line.
    pub name: String,
    /// What the spec is and where its numbers come from.
    #[serde(default)]
    pub description: String,
    /// The checks.
    pub checks: Vec<Check>,
}

/// The built-in spec files, embedded at compile time: (file name, contents).
const BUILTIN: &[(&str, &str)] = &[
    ("ebu-r128.ron", include_str!("../../specs/ebu-r128.ron")),
    ("atsc-a85.ron", include_str!("../../specs/atsc-a85.ron")),
    ("streaming.ron", include_str!("../../specs/streaming.ron")),
];

impl Spec {
    /// All built-in specs.
    pub fn builtin() -> Vec<Spec> {
        BUILTIN
            .iter()
            .map(|(f, t)| {
                Spec::parse(t, &format!("built-in specs/{f}"))
                    .expect("built-in specs are valid (tested)")
            })
            .collect()
    }

    /// A built-in spec by name (case-insensitive), else a RON file at that path.
    pub fn resolve(name_or_path: &str) -> Result<Spec> {
        if let Some(s) = Spec::builtin()
            .into_iter()
            .find(|s| s.name.eq_ignore_ascii_case(name_or_path))
        {
            return Ok(s);
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            return Spec::parse(&text, &path.display().to_string());
        }
        let names: Vec<String> = Spec::builtin().into_iter().map(|s| s.name).collect();
        Err(Error::Invalid(format!(
            "unknown spec '{name_or_path}': not a built-in spec and no such file; built-in specs are: {}",
            names.join(", ")
        )))
    }

    /// Parses and validates spec RON text; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Spec> {
        let spec: Spec = ron::from_str(text).map_err(|e| {
            Error::malformed(
                format!("{origin}:{}:{}", e.span.start.line, e.span.start.col),
                format!(
                    "{}; expected Spec(name: \"...\", description: \"...\", checks: [IntegratedLoudness(target: -23.0, tolerance: 0.5), MaxTruePeak(limit: -1.0), ...])",
                    e.code
                ),
            )
        })?;
        spec.validate(origin)?;
        Ok(spec)
    }

    fn validate(&self, origin: &str) -> Result<()> {
        let bad = |m: String| Error::malformed(format!("{origin}: spec '{}'", self.name), m);
        if self.name.trim().is_empty() {
            return Err(Error::malformed(origin, "the spec has an empty name"));
        }
        if self.checks.is_empty() {
            return Err(bad("has no checks".into()));
        }
        for (i, c) in self.checks.iter().enumerate() {
            let at = format!("check {} ({})", i + 1, c.describe());
            let finite = |x: f64, what: &str| {
                if x.is_finite() {
                    Ok(())
                } else {
                    Err(bad(format!("{at}: {what} must be a finite number")))
                }
            };
            match c {
                Check::IntegratedLoudness {
                    target, tolerance, ..
                } => {
                    finite(*target, "target")?;
                    finite(*tolerance, "tolerance")?;
                    if *tolerance < 0.0 {
                        return Err(bad(format!("{at}: tolerance must not be negative")));
                    }
                }
                Check::MaxTruePeak { limit, .. }
                | Check::MaxSamplePeak { limit, .. }
                | Check::MaxShortTerm { limit, .. }
                | Check::MaxMomentary { limit, .. } => finite(*limit, "limit")?,
                Check::MaxLoudnessRange { max, .. } | Check::MaxMonoLoss { max } => {
                    finite(*max, "max")?
                }
                Check::MaxSilence { seconds, .. } => {
                    finite(*seconds, "seconds")?;
                    if *seconds < 0.0 {
                        return Err(bad(format!("{at}: seconds must not be negative")));
                    }
                }
                Check::MinCorrelation { min, .. } | Check::NoOutOfPhase { min } => {
                    finite(*min, "min")?;
                    if !(-1.0..=1.0).contains(min) {
                        return Err(bad(format!("{at}: min must lie in [-1, 1]")));
                    }
                }
                Check::NoClipping { .. } => {}
            }
        }
        Ok(())
    }
}

impl Check {
    /// A one-line description, e.g. `integrated loudness -23.0 +-0.5 LUFS`.
    pub fn describe(&self) -> String {
        match self {
            Check::IntegratedLoudness {
                target,
                tolerance,
                gating,
                ..
            } => format!(
                "{}integrated loudness {target:.1} ±{tolerance:.1} LUFS",
                if *gating == Gating::Dialogue {
                    "dialogue-gated "
                } else {
                    ""
                }
            ),
            Check::MaxTruePeak { limit, .. } => format!("true peak <= {limit:.1} dBTP"),
            Check::MaxSamplePeak { limit, .. } => format!("sample peak <= {limit:.1} dBFS"),
            Check::MaxShortTerm { limit, .. } => format!("max short-term <= {limit:.1} LUFS"),
            Check::MaxMomentary { limit, .. } => format!("max momentary <= {limit:.1} LUFS"),
            Check::MaxLoudnessRange { max, .. } => format!("loudness range <= {max:.1} LU"),
            Check::NoClipping { .. } => "no clipped samples".into(),
            Check::MaxSilence { seconds, .. } => {
                format!("no digital silence longer than {seconds} s inside the programme")
            }
            Check::MinCorrelation { min, .. } => format!("stereo correlation >= {min:.2}"),
            Check::MaxMonoLoss { max } => format!("mono fold-down loses <= {max:.1} LU"),
            Check::NoOutOfPhase { min } => {
                format!("no channel pair cancelling in mono (correlation < {min:.2})")
            }
        }
    }

    /// Where the check applies.
    pub fn systems(&self) -> Systems {
        match self {
            Check::IntegratedLoudness { systems, .. }
            | Check::MaxTruePeak { systems, .. }
            | Check::MaxSamplePeak { systems, .. }
            | Check::MaxShortTerm { systems, .. }
            | Check::MaxMomentary { systems, .. }
            | Check::MaxLoudnessRange { systems, .. }
            | Check::NoClipping { systems }
            | Check::MaxSilence { systems, .. }
            | Check::MinCorrelation { systems, .. } => systems.clone(),
            Check::MaxMonoLoss { .. } | Check::NoOutOfPhase { .. } => {
                Systems::Named(vec!["mono".into()])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        let names: Vec<String> = Spec::builtin().into_iter().map(|s| s.name).collect();
        assert_eq!(names, vec!["ebu-r128", "atsc-a85", "streaming"]);
        let r128 = Spec::resolve("EBU-R128").unwrap();
        assert!(r128.checks.contains(&Check::IntegratedLoudness {
            target: -23.0,
            tolerance: 0.5,
            gating: Gating::Programme,
            systems: Systems::Own
        }));
    }

    #[test]
    fn malformed_specs_are_explained() {
        let e = Spec::parse(
            "Spec(name: \"x\", checks: [MaxTruePeak(limt: -1.0)])",
            "my.ron",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("my.ron:1:") && e.contains("limt"), "{e}");
        let e = Spec::parse("Spec(name: \"x\", checks: [])", "my.ron")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no checks"), "{e}");
        let e = Spec::parse(
            "Spec(name: \"x\", checks: [IntegratedLoudness(target: -23.0, tolerance: -1.0)])",
            "my.ron",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("tolerance"), "{e}");
        let e = Spec::resolve("netflx").unwrap_err().to_string();
        assert!(e.contains("netflx") && e.contains("ebu-r128"), "{e}");
    }
}
