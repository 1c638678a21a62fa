//! Speaker layouts: data, not code.
//!
//! Each layout is a RON file in `layouts/` (name, aliases, and for every speaker
//! its BS.2051 label, film aliases, azimuth, elevation, LFE flag and, optionally, its
//! BS.2127 allocentric position for Cartesian objects). The
//! built-in set is embedded into the binary from those files; a user may pass
//! the path of a file of their own. Channel order is the order of the file.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::geometry::{self, Vec3};

/// One loudspeaker (a channel) of a layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Speaker {
    /// BS.2051 label, e.g. `M+030`, `U-135`, `LFE1`.
    pub label: String,
    /// Other names for the same speaker, e.g. the film names `L`, `Lrs`, `Ltf`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Azimuth in degrees, positive to the left, in [-180, 180].
    pub azimuth: f64,
    /// Elevation in degrees, positive up, in [-90, 90].
    pub elevation: f64,
    /// True for a low-frequency effects channel: it never receives panned signal.
    #[serde(default)]
    pub lfe: bool,
    /// Allocentric position `(x, y, z)` in the ITU-R BS.2127 room cube `[-1, 1]^3` (x right,
    /// y front, z up; 0 is the room's centre, a speaker on a wall has one coordinate at ±1).
    /// Used only for Cartesian (`cartesian="1"`) ADM objects, which BS.2127 pans over these
    /// positions rather than over the directions; `None` when the layout does not give one.
    /// Written `allocentric: (-1.0, 1.0, 0.0)` in a layout file.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_allocentric"
    )]
    pub allocentric: Option<[f64; 3]>,
}

/// Reads an allocentric position written as a plain triple `(x, y, z)` (or `Some((x, y, z))`).
fn deserialize_allocentric<'de, D>(d: D) -> std::result::Result<Option<[f64; 3]>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct Triple;
    impl<'de> serde::de::Visitor<'de> for Triple {
        type Value = Option<[f64; 3]>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an allocentric position (x, y, z)")
        }
        fn visit_some<D: serde::Deserializer<'de>>(
            self,
            d: D,
        ) -> std::result::Result<Self::Value, D::Error> {
            <[f64; 3]>::deserialize(d).map(Some)
        }
        fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut v = [0.0; 3];
            for (i, c) in v.iter_mut().enumerate() {
                *c = seq
                    .next_element()?
                    .ok_or_else(|| serde::de::Error::invalid_length(i, &self))?;
            }
            if seq.next_element::<f64>()?.is_some() {
                return Err(serde::de::Error::invalid_length(4, &self));
            }
            Ok(Some(v))
        }
    }
    d.deserialize_any(Triple)
}

impl Speaker {
    /// Unit vector towards this speaker (x right, y front, z up).
    pub fn direction(&self) -> Vec3 {
        geometry::direction(self.azimuth, self.elevation)
    }

    /// True if `name` is this speaker's label or one of its aliases (case-insensitive).
    pub fn is_named(&self, name: &str) -> bool {
        self.label.eq_ignore_ascii_case(name)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    }
}

/// A speaker layout: named, ordered channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// The layout's name, e.g. `7.1.4`.
    pub name: String,
    /// Other names selecting the same layout, e.g. the BS.2051 code `4+7+0`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// One line describing the layout.
    #[serde(default)]
    pub description: String,
    /// The speakers in channel order.
    pub speakers: Vec<Speaker>,
    /// The reproduction screen, for ADM objects placed relative to a screen (`screenRef`,
    /// `screenEdgeLock`); absent: BS.2127's default screen (58 degrees wide, 1.78:1, ahead).
    #[serde(default)]
    pub screen: Option<crate::panner::screen::Screen>,
}

/// The built-in layout files, embedded at compile time: (file name, contents).
const BUILTIN_SOURCES: &[(&str, &str)] = &[
    ("stereo.ron", include_str!("../layouts/stereo.ron")),
    ("5.1.ron", include_str!("../layouts/5.1.ron")),
    ("5.1.2.ron", include_str!("../layouts/5.1.2.ron")),
    ("5.1.4.ron", include_str!("../layouts/5.1.4.ron")),
    ("7.1.ron", include_str!("../layouts/7.1.ron")),
    ("7.1.2.ron", include_str!("../layouts/7.1.2.ron")),
    ("7.1.4.ron", include_str!("../layouts/7.1.4.ron")),
    ("9.1.6.ron", include_str!("../layouts/9.1.6.ron")),
    ("22.2.ron", include_str!("../layouts/22.2.ron")),
    ("4+5+1.ron", include_str!("../layouts/4+5+1.ron")),
    ("3+7+0.ron", include_str!("../layouts/3+7+0.ron")),
    ("4+9+0.ron", include_str!("../layouts/4+9+0.ron")),
];

/// Two speakers closer than this (degrees) count as the same direction.
const MIN_SEPARATION_DEG: f64 = 0.01;

impl Layout {
    /// All built-in layouts, in the order of the layout table (parsed once per process).
    pub fn builtin() -> Vec<Layout> {
        static PARSED: std::sync::OnceLock<Vec<Layout>> = std::sync::OnceLock::new();
        PARSED
            .get_or_init(|| {
                BUILTIN_SOURCES
                    .iter()
                    .map(|(file, text)| {
                        Layout::parse(text, &format!("built-in layouts/{file}"))
                            .expect("built-in layout files are valid (checked by tests)")
                    })
                    .collect()
            })
            .clone()
    }

    /// The names of the built-in layouts.
    pub fn builtin_names() -> Vec<String> {
        Layout::builtin().into_iter().map(|l| l.name).collect()
    }

    /// A built-in layout by name or alias (case-insensitive), if there is one.
    pub fn find_builtin(name: &str) -> Option<Layout> {
        Layout::builtin().into_iter().find(|l| {
            l.name.eq_ignore_ascii_case(name)
                || l.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// Resolves a command-line layout argument: a built-in name or alias, else a path to a RON file.
    pub fn resolve(name_or_path: &str) -> Result<Layout> {
        if let Some(l) = Layout::find_builtin(name_or_path) {
            return Ok(l);
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            return Layout::load(path);
        }
        Err(Error::UnknownLayout {
            name: name_or_path.to_string(),
            valid: Layout::builtin()
                .iter()
                .map(|l| {
                    if l.aliases.is_empty() {
                        l.name.clone()
                    } else {
                        format!("{} ({})", l.name, l.aliases.join(", "))
                    }
                })
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// Loads and validates a layout file.
    pub fn load(path: &Path) -> Result<Layout> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Layout::parse(&text, &path.display().to_string())
    }

    /// Parses and validates layout RON text; `origin` names the source in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Layout> {
        let layout: Layout = ron::from_str(text).map_err(|e| {
            Error::malformed(
                format!("{origin}:{}:{}", e.span.start.line, e.span.start.col),
                format!(
                    "{}; expected Layout(name: \"...\", aliases: [...], speakers: [(label: \"M+030\", azimuth: 30.0, elevation: 0.0), ...])",
                    e.code
                ),
            )
        })?;
        layout.validate(origin)?;
        Ok(layout)
    }

    /// Checks the invariants every layout must hold; errors name `origin` and the speaker.
    pub fn validate(&self, origin: &str) -> Result<()> {
        let bad = |msg: String| Error::malformed(format!("{origin}: layout '{}'", self.name), msg);
        if self.name.trim().is_empty() {
            return Err(Error::malformed(origin, "the layout has an empty name"));
        }
        let mut names: Vec<(String, usize)> = Vec::new();
        for (i, s) in self.speakers.iter().enumerate() {
            let at = format!("speaker {} ('{}')", i + 1, s.label);
            if s.label.trim().is_empty() {
                return Err(bad(format!("speaker {} has an empty label", i + 1)));
            }
            if !s.azimuth.is_finite() || !(-180.0..=180.0).contains(&s.azimuth) {
                return Err(bad(format!(
                    "{at}: azimuth {} must be a finite number of degrees in [-180, 180]",
                    s.azimuth
                )));
            }
            if !s.elevation.is_finite() || !(-90.0..=90.0).contains(&s.elevation) {
                return Err(bad(format!(
                    "{at}: elevation {} must be a finite number of degrees in [-90, 90]",
                    s.elevation
                )));
            }
            if let Some(p) = s.allocentric {
                if p.iter()
                    .any(|c| !c.is_finite() || !(-1.0..=1.0).contains(c))
                {
                    return Err(bad(format!(
                        "{at}: allocentric position ({}, {}, {}) must be three finite numbers in [-1, 1] (x right, y front, z up)",
                        p[0], p[1], p[2]
                    )));
                }
            }
            for n in std::iter::once(&s.label).chain(s.aliases.iter()) {
                if let Some((_, j)) = names.iter().find(|(m, _)| m.eq_ignore_ascii_case(n)) {
                    return Err(bad(format!(
                        "{at}: the name '{n}' is already used by speaker {} ('{}'); labels and aliases must be unique",
                        j + 1,
                        self.speakers[*j].label
                    )));
                }
                names.push((n.clone(), i));
            }
        }
        let main: Vec<(usize, &Speaker)> = self
            .speakers
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.lfe)
            .collect();
        if main.len() < 2 {
            return Err(bad(format!(
                "has {} non-LFE speaker(s); a layout needs at least two",
                main.len()
            )));
        }
        for (a, (i, s)) in main.iter().enumerate() {
            for (j, t) in main.iter().skip(a + 1) {
                if let (Some(p), Some(q)) = (s.allocentric, t.allocentric) {
                    if p == q {
                        return Err(bad(format!(
                            "speakers {} ('{}') and {} ('{}') have the same allocentric position ({}, {}, {}); each non-LFE speaker needs its own",
                            i + 1,
                            s.label,
                            j + 1,
                            t.label,
                            p[0],
                            p[1],
                            p[2]
                        )));
                    }
                }
                let d = geometry::angle_between(&s.direction(), &t.direction()).to_degrees();
                if d < MIN_SEPARATION_DEG {
                    return Err(bad(format!(
                        "speakers {} ('{}') and {} ('{}') point in the same direction (az {}, el {}); each speaker needs its own direction",
                        i + 1,
                        s.label,
                        j + 1,
                        t.label,
                        s.azimuth,
                        s.elevation
                    )));
                }
            }
        }
        Ok(())
    }

    /// Number of channels (speakers, LFE included).
    pub fn channels(&self) -> usize {
        self.speakers.len()
    }

    /// The channel labels in order.
    pub fn labels(&self) -> Vec<String> {
        self.speakers.iter().map(|s| s.label.clone()).collect()
    }

    /// Index of the channel whose label or alias is `name` (case-insensitive).
    pub fn channel_index(&self, name: &str) -> Option<usize> {
        self.speakers
            .iter()
            .position(|s| s.label.eq_ignore_ascii_case(name))
            .or_else(|| self.speakers.iter().position(|s| s.is_named(name)))
    }

    /// Indices of the LFE channels.
    pub fn lfe_channels(&self) -> Vec<usize> {
        (0..self.speakers.len())
            .filter(|&i| self.speakers[i].lfe)
            .collect()
    }

    /// True if no speaker lies more than 10 degrees off ear level (LFE excluded).
    pub fn is_horizontal(&self) -> bool {
        self.speakers
            .iter()
            .filter(|s| !s.lfe)
            .all(|s| s.elevation.abs() <= 10.0)
    }

    /// The WAVE_FORMAT_EXTENSIBLE channel mask for this layout in its own channel order, or
    /// `None` when no true mask exists: some speaker has no WAVE position, or the layout's order
    /// differs from the ascending order of the mask bits (7.1 in film order, for one).
    pub fn wave_channel_mask(&self) -> Option<u32> {
        let mut mask = 0u32;
        let mut last = 0u32;
        for s in &self.speakers {
            let bit = wave_bit(&s.label)?;
            if bit <= last {
                return None;
            }
            last = bit;
            mask |= bit;
        }
        Some(mask)
    }

    /// The built-in layout whose channels are exactly the WAVE mask's speakers in mask order.
    pub fn from_wave_channel_mask(mask: u32) -> Option<Layout> {
        if mask == 0 {
            return None;
        }
        Layout::builtin()
            .into_iter()
            .find(|l| l.wave_channel_mask() == Some(mask))
    }
}

/// The WAVE_FORMAT_EXTENSIBLE speaker bit for a BS.2051 label, if it has one.
pub fn wave_bit(label: &str) -> Option<u32> {
    Some(match label {
        "M+030" => 0x1,               // FRONT_LEFT
        "M-030" => 0x2,               // FRONT_RIGHT
        "M+000" => 0x4,               // FRONT_CENTER
        "LFE1" => 0x8,                // LOW_FREQUENCY
        "M+110" | "M+135" => 0x10,    // BACK_LEFT
        "M-110" | "M-135" => 0x20,    // BACK_RIGHT
        "M+180" => 0x100,             // BACK_CENTER
        "M+090" => 0x200,             // SIDE_LEFT
        "M-090" => 0x400,             // SIDE_RIGHT
        "T+000" => 0x800,             // TOP_CENTER
        "U+030" | "U+045" => 0x1000,  // TOP_FRONT_LEFT
        "U+000" => 0x2000,            // TOP_FRONT_CENTER
        "U-030" | "U-045" => 0x4000,  // TOP_FRONT_RIGHT
        "U+110" | "U+135" => 0x8000,  // TOP_BACK_LEFT
        "U+180" => 0x10000,           // TOP_BACK_CENTER
        "U-110" | "U-135" => 0x20000, // TOP_BACK_RIGHT
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_resolve_by_name_and_alias() {
        let all = Layout::builtin();
        assert_eq!(all.len(), 12);
        for (name, n) in [
            ("stereo", 2),
            ("0+2+0", 2),
            ("5.1", 6),
            ("2+5+0", 8),
            ("5.1.4", 10),
            ("7.1", 8),
            ("7.1.2", 10),
            ("4+7+0", 12),
            ("9.1.6", 16),
            ("22.2", 24),
            ("9+10+3", 24),
            ("4+5+1", 11),
            ("3+7+0", 12),
            ("4+9+0", 14),
        ] {
            assert_eq!(Layout::resolve(name).unwrap().channels(), n, "{name}");
        }
    }

    #[test]
    fn unknown_layout_lists_valid_names() {
        let e = Layout::resolve("7.1.5").unwrap_err().to_string();
        assert!(
            e.contains("7.1.5") && e.contains("7.1.4") && e.contains("22.2"),
            "{e}"
        );
    }

    #[test]
    fn channel_masks_only_when_true() {
        let m = |n: &str| Layout::resolve(n).unwrap().wave_channel_mask();
        assert_eq!(m("stereo"), Some(0x3));
        assert_eq!(m("5.1"), Some(0x3F));
        assert_eq!(m("5.1.4"), Some(0x2D03F));
        // Film order for 7.1 puts the side surrounds before the rear ones: no true mask.
        assert_eq!(m("7.1"), None);
        assert_eq!(m("7.1.4"), None);
        assert_eq!(m("22.2"), None);
        assert_eq!(Layout::from_wave_channel_mask(0x3F).unwrap().name, "5.1");
    }

    fn err(text: &str) -> String {
        Layout::parse(text, "room.ron").unwrap_err().to_string()
    }

    #[test]
    fn malformed_files_are_explained() {
        let e = err("Layout(name: \"x\", speakers: [(label: \"A\", azimuth: 30.0, elevation: 0.0)");
        assert!(e.contains("room.ron:1:"), "{e}");
        let e = err("Layout(name: \"x\", speakers: [(label: \"A\", azimuth: 30.0, elevation: 0.0), (label: \"A\", azimuth: -30.0, elevation: 0.0)])");
        assert!(e.contains("'A'") && e.contains("unique"), "{e}");
        let e = err("Layout(name: \"x\", speakers: [(label: \"A\", azimuth: 30.0, elevation: 0.0), (label: \"B\", azimuth: 0.0, elevation: 0.0, lfe: true)])");
        assert!(e.contains("at least two"), "{e}");
        let e = err("Layout(name: \"x\", speakers: [(label: \"A\", azimuth: 300.0, elevation: 0.0), (label: \"B\", azimuth: -30.0, elevation: 0.0)])");
        assert!(
            e.contains("speaker 1 ('A')") && e.contains("[-180, 180]"),
            "{e}"
        );
        let e = err("Layout(name: \"x\", speakers: [(label: \"A\", azimuth: 30.0, elevation: NaN), (label: \"B\", azimuth: -30.0, elevation: 0.0)])");
        assert!(e.contains("elevation"), "{e}");
        let e = err("Layout(name: \"x\", speakers: [(label: \"A\", azimuth: 180.0, elevation: 0.0), (label: \"B\", azimuth: -180.0, elevation: 0.0)])");
        assert!(e.contains("same direction"), "{e}");
        let e = err("Layout(name: \"x\", speakers: [(label: \"A\", azimuth: 30.0, elevation: 90.0), (label: \"B\", azimuth: -30.0, elevation: 90.0)])");
        assert!(e.contains("same direction"), "{e}");
        let e = err("Layout(name: \"x\", speakers: [(label: \"A\", azimuth: 30.0, elevation: 0.0, gain: 1.0)])");
        assert!(e.contains("gain"), "{e}");
    }

    #[test]
    fn allocentric_positions_parse_and_are_checked() {
        let two = |a: &str, b: &str| {
            format!(
                "Layout(name: \"x\", speakers: [(label: \"A\", azimuth: 30.0, elevation: 0.0{a}), (label: \"B\", azimuth: -30.0, elevation: 0.0{b})])"
            )
        };
        let l = Layout::parse(
            &two(
                ", allocentric: (-1.0, 1.0, 0.0)",
                ", allocentric: Some((1.0, 1.0, 0.0))",
            ),
            "room.ron",
        )
        .unwrap();
        assert_eq!(l.speakers[0].allocentric, Some([-1.0, 1.0, 0.0]));
        assert_eq!(l.speakers[1].allocentric, Some([1.0, 1.0, 0.0]));
        let l = Layout::parse(&two("", ", allocentric: None"), "room.ron").unwrap();
        assert!(l.speakers.iter().all(|s| s.allocentric.is_none()));
        let e = err(&two(", allocentric: (-1.5, 1.0, 0.0)", ""));
        assert!(
            e.contains("speaker 1 ('A')") && e.contains("allocentric") && e.contains("[-1, 1]"),
            "{e}"
        );
        let e = err(&two(
            ", allocentric: (0.0, 1.0, 0.0)",
            ", allocentric: (0.0, 1.0, 0.0)",
        ));
        assert!(e.contains("same allocentric position"), "{e}");
        let e = err(&two(", allocentric: (0.0, 1.0)", ""));
        assert!(e.contains("allocentric position (x, y, z)"), "{e}");
        // Built-in LFE positions may coincide with a speaker's (22.2: LFE1 and B+045).
        assert!(Layout::resolve("22.2").is_ok());
    }

    #[test]
    fn channel_lookup_by_alias() {
        let l = Layout::resolve("7.1.4").unwrap();
        assert_eq!(l.channel_index("Ltf"), Some(8));
        assert_eq!(l.channel_index("m-135"), Some(7));
        assert_eq!(l.channel_index("LFE"), Some(3));
        assert_eq!(l.lfe_channels(), vec![3]);
        assert!(!l.is_horizontal());
        assert!(Layout::resolve("7.1").unwrap().is_horizontal());
    }
}
