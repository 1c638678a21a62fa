//! The deliverables sheet: a RON file listing every output of a job.
//!
//! ```ron
//! Deliver(
//!     master: "scenes/demo.ron",
//!     out_dir: "deliverables",
//!     spec: "ebu-r128",
//!     outputs: [
//!         (name: "pm-51", layout: "5.1", format: S24),
//!         (name: "phones", binaural: true),
//!         (name: "me-51", layout: "5.1", without: ["dialogue"]),
//!     ],
//! )
//! ```
//!
//! Unknown fields are errors, and every error names the sheet's line and the field.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::SampleFormat;

/// A deliverables sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename = "Deliver")]
pub struct Sheet {
    /// The master: a RON scene or an ADM BWF master (relative to the sheet's folder).
    pub master: String,
    /// Where the deliverables go (relative to the sheet's folder).
    pub out_dir: String,
    /// The delivery spec of full mixes: a built-in name or a spec file.
    #[serde(default)]
    pub spec: Option<String>,
    /// The programme's start timecode (default: an ADM master's bext TimeReference).
    #[serde(default)]
    pub start_tc: Option<String>,
    /// The frame rate of timecodes (default 25).
    #[serde(default)]
    pub fps: Option<String>,
    /// A SOFA file for headphone outputs (default: the built-in KEMAR set).
    #[serde(default)]
    pub hrtf: Option<String>,
    /// The deliverables.
    pub outputs: Vec<Output>,
    /// The sheet's folder (paths in the sheet are relative to it).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The sheet's file name, for errors.
    #[serde(skip)]
    pub origin: String,
    /// The sheet's text, to find lines for errors.
    #[serde(skip)]
    pub text: String,
}

/// One deliverable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// Its name: the file is `NAME.wav` (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// A speaker layout: built-in name, alias or RON layout file.
    #[serde(default)]
    pub layout: Option<String>,
    /// A headphone (binaural) render instead of a layout.
    #[serde(default)]
    pub binaural: bool,
    /// The master exported as an ADM BWF master (`adm export`) and checked (`adm validate`).
    #[serde(default)]
    pub adm: bool,
    /// The ADM profile (`ebu` or `dolby`) with `adm: true`.
    #[serde(default)]
    pub profile: Option<String>,
    /// Sample format: S16, S24 (the default) or F32.
    #[serde(default = "default_format")]
    pub format: SampleFormat,
    /// Groups left out (an M&E: `["dialogue"]`).
    #[serde(default)]
    pub without: Vec<String>,
    /// Only these groups.
    #[serde(default)]
    pub only: Vec<String>,
    /// One file per stem (`NAME.GROUP.wav`) instead of the mix.
    #[serde(default)]
    pub stems: bool,
    /// This output's own spec (overrides the sheet's; for stems and M&Es it applies in full).
    #[serde(default)]
    pub spec: Option<String>,
    /// One constant gain bringing the output to the spec's loudness target.
    #[serde(default)]
    pub normalize: bool,
    /// Start: seconds, or a timecode on the programme's clock.
    #[serde(default)]
    pub start: Option<String>,
    /// End: seconds, or a timecode on the programme's clock.
    #[serde(default)]
    pub end: Option<String>,
    /// Multi-mono: one file per channel, `NAME.LABEL.wav`.
    #[serde(default)]
    pub split: bool,
    /// The file's channel order: labels or aliases of the layout's speakers.
    #[serde(default)]
    pub order: Option<Vec<String>>,
    /// Sample rate of the file (resampled with rubato when it differs from the master's).
    #[serde(default)]
    pub rate: Option<u32>,
}

fn default_format() -> SampleFormat {
    SampleFormat::S24
}

impl Sheet {
    /// Reads and checks a sheet file.
    pub fn load(path: &Path) -> Result<Sheet> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Sheet::parse(&text, &path.display().to_string(), &base)
    }

    /// Parses and checks sheet text; `origin` names it in errors, `base_dir` anchors paths.
    pub fn parse(text: &str, origin: &str, base_dir: &Path) -> Result<Sheet> {
        let opts = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let mut sheet: Sheet = opts.from_str(text).map_err(|e| {
            Error::malformed(
                format!("{origin}:{}:{}", e.span.start.line, e.span.start.col),
                format!(
                    "{}; a sheet is Deliver(master: \"...\", out_dir: \"...\", spec: \"ebu-r128\", outputs: [(name: \"pm-51\", layout: \"5.1\"), ...])",
                    e.code
                ),
            )
        })?;
        sheet.base_dir = base_dir.to_path_buf();
        sheet.origin = origin.to_string();
        sheet.text = text.to_string();
        sheet.validate()?;
        Ok(sheet)
    }

    /// A path of the sheet resolved against its folder.
    pub fn resolve(&self, p: &str) -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// `origin:line` of the output named `name` (the line of its `name:` field).
    pub fn at(&self, name: &str) -> String {
        let needle = format!("\"{name}\"");
        match self.text.lines().position(|l| l.contains(&needle)) {
            Some(i) => format!("{}:{}", self.origin, i + 1),
            None => self.origin.clone(),
        }
    }

    /// `origin:line` of the first line holding `field:`.
    fn at_field(&self, field: &str) -> String {
        let needle = format!("{field}:");
        match self.text.lines().position(|l| l.contains(&needle)) {
            Some(i) => format!("{}:{}", self.origin, i + 1),
            None => self.origin.clone(),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.master.trim().is_empty() {
            return Err(Error::malformed(
                self.at_field("master"),
                "master: empty; expected a RON scene or an ADM BWF master",
            ));
        }
        if self.out_dir.trim().is_empty() {
            return Err(Error::malformed(self.at_field("out_dir"), "out_dir: empty"));
        }
        if let Some(f) = &self.fps {
            crate::timecode::FrameRate::parse(f)
                .map_err(|e| Error::malformed(self.at_field("fps"), format!("fps: {e}")))?;
        }
        if let Some(tc) = &self.start_tc {
            crate::timecode::Clock::new(Some(tc), self.fps.as_deref()).map_err(|e| {
                Error::malformed(self.at_field("start_tc"), format!("start_tc: {e}"))
            })?;
        }
        if self.outputs.is_empty() {
            return Err(Error::malformed(
                self.at_field("outputs"),
                "outputs: empty; list at least one deliverable",
            ));
        }
        // The clock of every output's start and end (checked above when the sheet sets one).
        let clock = crate::timecode::Clock::new(self.start_tc.as_deref(), self.fps.as_deref())
            .or_else(|_| crate::timecode::Clock::new(None, None))?;
        let mut names: Vec<&str> = Vec::new();
        for o in &self.outputs {
            let bad =
                |m: String| Error::malformed(self.at(&o.name), format!("output '{}': {m}", o.name));
            if o.name.is_empty()
                || !o
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                || o.name.starts_with('.')
            {
                return Err(bad(
                    "name: expected letters, digits, '-', '_' or '.' (it names the files)".into(),
                ));
            }
            if names.contains(&o.name.as_str()) {
                return Err(bad("name: two outputs have this name".into()));
            }
            names.push(&o.name);
            let kinds =
                usize::from(o.layout.is_some()) + usize::from(o.binaural) + usize::from(o.adm);
            if kinds != 1 {
                return Err(bad(
                    "give exactly one of layout: \"NAME\", binaural: true or adm: true".into(),
                ));
            }
            if !o.only.is_empty() && !o.without.is_empty() {
                return Err(bad("only and without: give one of them".into()));
            }
            if o.profile.is_some() && !o.adm {
                return Err(bad("profile: applies to adm: true outputs".into()));
            }
            if let Some(p) = &o.profile {
                if p != "ebu" && p != "dolby" {
                    return Err(bad(format!("profile '{p}': expected ebu or dolby")));
                }
            }
            if o.adm {
                let extra = [
                    (o.stems, "stems"),
                    (o.split, "split"),
                    (o.normalize, "normalize"),
                    (o.order.is_some(), "order"),
                    (o.rate.is_some(), "rate"),
                    (o.start.is_some() || o.end.is_some(), "start/end"),
                    (!o.only.is_empty() || !o.without.is_empty(), "only/without"),
                    (
                        o.format == SampleFormat::S16,
                        "format: S16 (ADM masters are S24 or F32)",
                    ),
                ];
                if let Some((_, what)) = extra.iter().find(|(on, _)| *on) {
                    return Err(bad(format!("{what}: not available with adm: true (the ADM export carries the whole master)")));
                }
            }
            if o.binaural && (o.stems || o.order.is_some() || o.split) {
                return Err(bad(
                    "stems, order and split apply to layouts, not to binaural outputs".into(),
                ));
            }
            if o.stems && o.split {
                return Err(bad("stems and split: give one of them".into()));
            }
            if let Some(r) = o.rate {
                if !(8000..=384_000).contains(&r) {
                    return Err(bad(format!("rate {r}: expected 8000 to 384000 Hz")));
                }
            }
            if let (Some(order), Some(l)) = (&o.order, &o.layout) {
                if let Ok(layout) = crate::Layout::resolve(l) {
                    channel_order(&layout, order).map_err(|e| bad(format!("order: {e}")))?;
                }
            }
            let mut range = [None, None];
            for (i, (v, what)) in [(&o.start, "start"), (&o.end, "end")]
                .into_iter()
                .enumerate()
            {
                if let Some(v) = v {
                    range[i] = Some(clock.position(v, what).map_err(|e| bad(e.to_string()))?);
                }
            }
            if let [Some(s), Some(e)] = range {
                if e <= s {
                    return Err(bad(format!("end ({e} s) must come after start ({s} s)")));
                }
            }
        }
        Ok(())
    }
}

/// The indices of the layout's channels in the order `labels` names them (labels or aliases,
/// case-insensitive); every channel exactly once.
pub fn channel_order(
    layout: &crate::Layout,
    labels: &[String],
) -> std::result::Result<Vec<usize>, String> {
    let mut out = Vec::with_capacity(labels.len());
    for l in labels {
        let i = layout
            .speakers
            .iter()
            .position(|s| {
                s.label.eq_ignore_ascii_case(l)
                    || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(l))
            })
            .ok_or_else(|| {
                format!(
                    "'{l}' is not a channel of {}; its channels are {}",
                    layout.name,
                    layout.labels().join(" ")
                )
            })?;
        if out.contains(&i) {
            return Err(format!(
                "'{l}' names channel {} twice",
                layout.speakers[i].label
            ));
        }
        out.push(i);
    }
    if out.len() != layout.channels() {
        return Err(format!(
            "{} labels for the {} channels of {} ({})",
            out.len(),
            layout.channels(),
            layout.name,
            layout.labels().join(" ")
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(t: &str) -> Result<Sheet> {
        Sheet::parse(t, "s.ron", Path::new("."))
    }

    #[test]
    fn the_issue_example_parses() {
        let s = parse(
            r#"Deliver(
    master: "scenes/demo.ron",
    out_dir: "deliverables",
    spec: "ebu-r128",
    outputs: [
        (name: "pm-714", layout: "7.1.4", format: S24),
        (name: "pm-51", layout: "5.1", format: S24),
        (name: "pm-20", layout: "stereo", format: S24),
        (name: "phones", binaural: true, format: S24),
        (name: "me-51", layout: "5.1", without: ["dialogue"]),
        (name: "stems-714", layout: "7.1.4", stems: true),
    ],
)"#,
        )
        .unwrap();
        assert_eq!(s.outputs.len(), 6);
        assert_eq!(s.outputs[4].without, vec!["dialogue"]);
        assert_eq!(s.outputs[4].format, SampleFormat::S24);
    }

    #[test]
    fn errors_name_line_and_field() {
        let e = parse("Deliver(\n master: \"m.ron\",\n out_dir: \"d\",\n outputs: [\n (name: \"a\", layout: \"5.1\", colour: 3),\n ],\n)")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.ron:5") && e.contains("colour"), "{e}");
        let e = parse("Deliver(master: \"m\", out_dir: \"d\", outputs: [\n(name: \"a\", layout: \"5.1\", binaural: true)])")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.ron:2") && e.contains("exactly one"), "{e}");
        let e = parse("Deliver(master: \"m\", out_dir: \"d\", outputs: [\n(name: \"a\", layout: \"5.1\"),\n(name: \"a\", layout: \"stereo\")])")
            .unwrap_err()
            .to_string();
        assert!(e.contains("two outputs"), "{e}");
        let e = parse("Deliver(master: \"m\", out_dir: \"d\", outputs: [(name: \"a\", layout: \"5.1\", format: S20)])")
            .unwrap_err()
            .to_string();
        assert!(e.contains("S20"), "{e}");
        for bad in [
            r#"(name: "a/b", layout: "5.1")"#,
            r#"(name: "a", layout: "5.1", rate: 1000)"#,
            r#"(name: "a", layout: "5.1", order: ["L", "R"])"#,
            r#"(name: "a", layout: "5.1", order: ["L", "R", "C", "LFE", "Ls", "Lss"])"#,
            r#"(name: "a", layout: "5.1", start: "5", end: "2")"#,
            r#"(name: "a", layout: "5.1", only: ["x"], without: ["y"])"#,
            r#"(name: "a", binaural: true, stems: true)"#,
            r#"(name: "a", adm: true, normalize: true)"#,
            r#"(name: "a", adm: true, profile: "bs9999")"#,
            r#"(name: "a", layout: "5.1", start: "01:00:00:30")"#,
        ] {
            let t = format!("Deliver(master: \"m\", out_dir: \"d\", outputs: [{bad}])");
            let e = parse(&t).unwrap_err().to_string();
            assert!(e.contains("output 'a") || e.contains("a/b"), "{bad}: {e}");
        }
        assert!(parse("Deliver(master: \"m\", out_dir: \"d\", outputs: [])").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn channel_orders_accept_labels_and_aliases() {
        let l = crate::Layout::resolve("5.1").unwrap();
        let names: Vec<String> = ["L", "R", "C", "LFE", "Ls", "Rs"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let o = channel_order(&l, &names).unwrap();
        let mut sorted = o.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3, 4, 5]);
        let film: Vec<String> = ["L", "C", "R", "Ls", "Rs", "LFE"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let f = channel_order(&l, &film).unwrap();
        assert_eq!(l.speakers[f[1]].label, l.speakers[o[2]].label);
        assert_eq!(f[5], o[3]);
    }
}
