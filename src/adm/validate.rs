//! `adm validate`: checks an ADM BWF master against the structural rules of BS.2076 / BS.2088
//! and a delivery profile's own rules, and reports every violation it finds (not only the
//! first), each with the element and the rule. The rules are data (`data/adm/profiles.ron`,
//! with their sources); each names one of the built-in [`Check`]s.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::model::{Adm, Block, TypeDef};
use super::{bw64, select, xml, Warnings};
use crate::error::{Error, Result};
use crate::io::AudioSource;
use crate::time::Time;

/// The rule set, embedded.
const PROFILES: &str = include_str!("../../data/adm/profiles.ron");

/// A built-in test a rule can name.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub enum Check {
    /// Every ID reference resolves.
    References,
    /// chna rows agree with the axml's audioTrackUIDs.
    ChnaMatchesAxml,
    /// chna track indices lie within the file's channels.
    TrackIndexInFile,
    /// No chna UID unused by the objects; no object UID missing from chna.
    NoOrphanTracks,
    /// Blocks in order and contiguous.
    BlocksContinuous,
    /// Blocks end within their object's duration.
    BlocksInsideObject,
    /// Position and gain values in range.
    ValuesInRange,
    /// An object refers to packs or to objects, not both.
    PacksOrObjects,
    /// At most one pack per object.
    OnePack,
    /// The audioFormatExtended version is one of these.
    Version(Vec<String>),
    /// Exactly this many programmes.
    ProgrammeCount(usize),
    /// Every programme has this name.
    ProgrammeName(String),
    /// At most this many Objects audioObjects.
    MaxObjects(usize),
    /// At most this many tracks in the file.
    MaxTracks(usize),
    /// No object refers to other objects.
    NoNestedObjects,
    /// Objects blocks are Cartesian.
    CartesianObjectBlocks,
    /// Every content has a dialogue element.
    ContentDialogue,
    /// The sample rate is one of these.
    SampleRate(Vec<u32>),
    /// The PCM bit depth is one of these.
    BitDepth(Vec<u16>),
}

/// One rule of a profile.
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    /// Short ID (`S1`, `EBU1`, `DOL3`, ...).
    pub id: String,
    /// The test.
    pub check: Check,
    /// What the rule says.
    pub rule: String,
    /// Where it comes from.
    pub source: String,
}

/// A named set of rules.
#[derive(Debug, Clone, Deserialize)]
pub struct ProfileRules {
    /// `structure`, `ebu`, `dolby`.
    pub profile: String,
    /// Its rules.
    pub rules: Vec<Rule>,
}

/// Every rule set (parsed once).
pub fn profiles() -> Vec<ProfileRules> {
    ron::from_str(PROFILES).expect("the built-in profile rules parse")
}

/// The names of the profiles a master can be validated against.
pub fn profile_names() -> Vec<String> {
    profiles()
        .into_iter()
        .map(|p| p.profile)
        .filter(|p| p != "structure")
        .collect()
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// The element (ID), or `file`.
    pub id: String,
    /// The rule's ID.
    pub rule: String,
    /// What is wrong.
    pub message: String,
}

/// What validation found.
#[derive(Debug, Clone)]
pub struct Report {
    /// The profile checked (after the structural rules).
    pub profile: String,
    /// Every violation, structural first.
    pub violations: Vec<Violation>,
    /// Rules checked.
    pub rules: usize,
}

impl Report {
    /// True when nothing is broken.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// What the checks look at.
struct Input<'a> {
    adm: &'a Adm,
    chna: &'a [bw64::ChnaRow],
    channels: usize,
    sample_rate: u32,
    encoding: String,
    /// IDs defined by the file itself (not merged in from the common definitions).
    own: HashSet<String>,
}

/// Validates `path` against the structural rules and `profile`. An error only when the file
/// cannot be read at all (not a WAV, no `chna`/`axml`, XML that does not parse).
pub fn validate(path: &Path, profile: &str) -> Result<Report> {
    let all = profiles();
    let Some(chosen) = all
        .iter()
        .find(|p| p.profile == profile && p.profile != "structure")
    else {
        return Err(Error::Invalid(format!(
            "unknown profile '{profile}'; the profiles are: {}",
            profile_names().join(", ")
        )));
    };
    let origin = path.display().to_string();
    let container = bw64::scan(path)?;
    let info = crate::io::WavReader::open(path)?.info().clone();
    let chna = container.chna.clone().ok_or_else(|| {
        Error::malformed(origin.clone(), "no 'chna' chunk: not an ADM BWF master")
    })?;
    let text = container.axml.as_deref().ok_or_else(|| {
        Error::malformed(origin.clone(), "no 'axml' chunk: not an ADM BWF master")
    })?;
    let mut w = Warnings::default();
    let mut adm = xml::parse(text, &origin, false, &mut w)?;
    let own = adm.index.keys().cloned().collect();
    select::merge_common(&mut adm);
    let input = Input {
        adm: &adm,
        chna: &chna,
        channels: info.channels,
        sample_rate: info.sample_rate,
        encoding: info.encoding.clone(),
        own,
    };
    let structure = all
        .iter()
        .find(|p| p.profile == "structure")
        .expect("structure rules");
    let mut violations = Vec::new();
    let mut rules = 0;
    for r in structure.rules.iter().chain(&chosen.rules) {
        rules += 1;
        for (id, message) in run(&r.check, &input) {
            violations.push(Violation {
                id,
                rule: r.id.clone(),
                message: format!("{message} ({})", r.rule),
            });
        }
    }
    Ok(Report {
        profile: profile.to_string(),
        violations,
        rules,
    })
}

/// The channel formats an object's packs reach (nested packs included).
fn object_channels<'a>(adm: &'a Adm, packs: &[String]) -> Vec<&'a super::model::Channel> {
    let mut out = Vec::new();
    let mut stack: Vec<&str> = packs.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    while let Some(p) = stack.pop() {
        if !seen.insert(p.to_string()) {
            continue;
        }
        if let Some(pack) = adm.pack(p) {
            out.extend(pack.channels.iter().filter_map(|c| adm.channel(c)));
            stack.extend(pack.packs.iter().map(String::as_str));
        }
    }
    out
}

fn end_of(b: &Block) -> Option<Time> {
    Some(b.rtime?.add(b.duration?))
}

/// Runs one check: (element, message) per violation.
fn run(check: &Check, x: &Input) -> Vec<(String, String)> {
    let adm = x.adm;
    let mut v = Vec::new();
    let mut bad = |id: &str, m: String| v.push((id.to_string(), m));
    match check {
        Check::References => {
            let exists = |id: &str| adm.index.contains_key(id) || id == "ATU_00000000";
            for p in &adm.programmes {
                for c in p.contents.iter().filter(|c| !exists(c)) {
                    bad(&p.id, format!("audioContentIDRef {c} does not exist"));
                }
            }
            for c in &adm.contents {
                for o in c.objects.iter().filter(|o| !exists(o)) {
                    bad(&c.id, format!("audioObjectIDRef {o} does not exist"));
                }
            }
            for o in &adm.objects {
                let refs = o.packs.iter().chain(&o.objects).chain(&o.complementary);
                for r in refs.chain(&o.track_uids).filter(|r| !exists(r)) {
                    bad(&o.id, format!("reference {r} does not exist"));
                }
            }
            for p in &adm.packs {
                for r in p.channels.iter().chain(&p.packs).filter(|r| !exists(r)) {
                    bad(&p.id, format!("reference {r} does not exist"));
                }
            }
            for s in &adm.streams {
                for r in s.channel.iter().chain(&s.pack).filter(|r| !exists(r)) {
                    bad(&s.id, format!("reference {r} does not exist"));
                }
            }
            for t in &adm.tracks {
                for r in t.stream.iter().filter(|r| !exists(r)) {
                    bad(&t.id, format!("audioStreamFormatIDRef {r} does not exist"));
                }
            }
            for u in &adm.track_uids {
                let refs = u
                    .track_format
                    .iter()
                    .chain(&u.channel_format)
                    .chain(&u.pack);
                for r in refs.filter(|r| !exists(r)) {
                    bad(&u.id, format!("reference {r} does not exist"));
                }
            }
        }
        Check::ChnaMatchesAxml => {
            for row in x.chna {
                let Some(u) = adm.track_uid(&row.uid) else {
                    if x.own.iter().any(|i| i.starts_with("ATU_")) {
                        bad(
                            &row.uid,
                            format!(
                                "chna track {} names a UID the axml does not define",
                                row.track_index
                            ),
                        );
                    }
                    continue;
                };
                let tref = row.track_ref.to_ascii_uppercase();
                let same_track = u.track_format.as_deref().is_none_or(|t| t == tref)
                    && u.channel_format
                        .as_deref()
                        .is_none_or(|c| tref.starts_with(&c[..c.len().min(11)]));
                if !same_track {
                    bad(
                        &row.uid,
                        format!(
                            "chna says track format {tref}, the axml {}",
                            u.track_format
                                .clone()
                                .or(u.channel_format.clone())
                                .unwrap_or_default()
                        ),
                    );
                }
                let pref = row.pack_ref.to_ascii_uppercase();
                if let Some(p) = &u.pack {
                    if !pref.is_empty() && *p != pref {
                        bad(&row.uid, format!("chna says pack {pref}, the axml {p}"));
                    }
                }
            }
        }
        Check::TrackIndexInFile => {
            for row in x.chna {
                if row.track_index as usize > x.channels {
                    bad(
                        &row.uid,
                        format!(
                            "chna track index {} but the file has {} channels",
                            row.track_index, x.channels
                        ),
                    );
                }
            }
            let mut seen: HashMap<&str, u16> = HashMap::new();
            for row in x.chna {
                if let Some(t) = seen.insert(&row.uid, row.track_index) {
                    if t != row.track_index {
                        bad(
                            &row.uid,
                            format!("in chna on tracks {t} and {}", row.track_index),
                        );
                    }
                }
            }
        }
        Check::NoOrphanTracks => {
            let used: HashSet<&str> = adm
                .objects
                .iter()
                .flat_map(|o| o.track_uids.iter().map(String::as_str))
                .collect();
            let in_chna: HashSet<&str> = x.chna.iter().map(|r| r.uid.as_str()).collect();
            if !used.is_empty() {
                for row in x.chna.iter().filter(|r| !used.contains(r.uid.as_str())) {
                    bad(
                        &row.uid,
                        format!("chna track {} is used by no audioObject", row.track_index),
                    );
                }
            }
            for o in &adm.objects {
                for u in o
                    .track_uids
                    .iter()
                    .filter(|u| *u != "ATU_00000000" && !in_chna.contains(u.as_str()))
                {
                    bad(
                        &o.id,
                        format!("uses {u}, which chna does not map to a track"),
                    );
                }
            }
        }
        Check::BlocksContinuous => {
            for c in adm.channels.iter().filter(|c| x.own.contains(&c.id)) {
                for w in c.blocks.windows(2) {
                    let (Some(next), Some(end)) = (w[1].rtime, end_of(&w[0])) else {
                        continue;
                    };
                    if let Some(r0) = w[0].rtime {
                        if next < r0 {
                            bad(
                                &w[1].id,
                                format!("starts at {next}, before the previous block ({r0})"),
                            );
                            continue;
                        }
                    }
                    if next != end {
                        let d = next.sub(end);
                        bad(&w[1].id, format!("starts at {next} but the previous block ends at {end} ({} of {} s)",
                            if next > end { "a gap" } else { "an overlap" }, d.as_secs().abs()));
                    }
                }
            }
        }
        Check::BlocksInsideObject => {
            for o in adm.objects.iter().filter(|o| o.duration.is_some()) {
                let dur = o.duration.expect("filtered");
                for c in object_channels(adm, &o.packs) {
                    for b in &c.blocks {
                        if let Some(e) = end_of(b) {
                            if e > dur {
                                bad(
                                    &b.id,
                                    format!(
                                        "ends at {e}, after the end of {} (its duration {dur})",
                                        o.id
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
        Check::ValuesInRange => {
            for c in adm.channels.iter().filter(|c| x.own.contains(&c.id)) {
                for b in &c.blocks {
                    let p = &b.position;
                    let checks = [
                        ("azimuth", p.azimuth.value, -180.0, 180.0),
                        ("elevation", p.elevation.value, -90.0, 90.0),
                        ("distance", p.distance.value, 0.0, f64::INFINITY),
                        ("X", p.x.value, -1.0, 1.0),
                        ("Y", p.y.value, -1.0, 1.0),
                        ("Z", p.z.value, -1.0, 1.0),
                    ];
                    for (name, val, lo, hi) in checks {
                        if let Some(val) = val {
                            if !(lo..=hi).contains(&val) {
                                bad(&b.id, format!("{name} {val} is outside [{lo}, {hi}]"));
                            }
                        }
                    }
                    if !b.gain.is_finite() || b.gain < 0.0 {
                        bad(
                            &b.id,
                            format!("gain {} is not a finite, non-negative number", b.gain),
                        );
                    }
                }
            }
        }
        Check::PacksOrObjects => {
            for o in adm
                .objects
                .iter()
                .filter(|o| !o.packs.is_empty() && !o.objects.is_empty())
            {
                bad(
                    &o.id,
                    format!(
                        "refers to {} pack(s) and {} object(s)",
                        o.packs.len(),
                        o.objects.len()
                    ),
                );
            }
        }
        Check::OnePack => {
            for o in adm.objects.iter().filter(|o| o.packs.len() > 1) {
                bad(
                    &o.id,
                    format!("refers to {} audioPackFormats", o.packs.len()),
                );
            }
        }
        Check::Version(ok) => {
            let v = adm.version.clone().unwrap_or_default();
            if !ok.contains(&v) {
                let named: Vec<&str> = ok
                    .iter()
                    .filter(|o| !o.is_empty())
                    .map(String::as_str)
                    .collect();
                bad(
                    "file",
                    format!("version is '{v}', expected {}", named.join(" or ")),
                );
            }
        }
        Check::ProgrammeCount(n) => {
            if adm.programmes.len() != *n {
                bad(
                    "file",
                    format!("{} audioProgrammes, expected {n}", adm.programmes.len()),
                );
            }
        }
        Check::ProgrammeName(name) => {
            for p in adm.programmes.iter().filter(|p| p.name != *name) {
                bad(&p.id, format!("is named '{}', expected '{name}'", p.name));
            }
        }
        Check::MaxObjects(n) => {
            let count = adm
                .objects
                .iter()
                .filter(|o| {
                    o.packs.iter().any(|p| {
                        adm.pack(p)
                            .is_some_and(|p| p.type_def == Some(TypeDef::Objects))
                    })
                })
                .count();
            if count > *n {
                bad(
                    "file",
                    format!("{count} Objects audioObjects, at most {n} allowed"),
                );
            }
        }
        Check::MaxTracks(n) => {
            if x.channels > *n {
                bad(
                    "file",
                    format!("{} tracks, at most {n} allowed", x.channels),
                );
            }
        }
        Check::NoNestedObjects => {
            for o in adm.objects.iter().filter(|o| !o.objects.is_empty()) {
                bad(
                    &o.id,
                    format!("refers to {} other audioObject(s)", o.objects.len()),
                );
            }
        }
        Check::CartesianObjectBlocks => {
            let objects = adm
                .channels
                .iter()
                .filter(|c| x.own.contains(&c.id) && c.type_def == Some(TypeDef::Objects));
            for c in objects {
                for b in c.blocks.iter().filter(|b| !b.cartesian) {
                    bad(&b.id, "is a polar block".to_string());
                }
            }
        }
        Check::ContentDialogue => {
            for c in adm.contents.iter().filter(|c| c.dialogue.is_none()) {
                bad(&c.id, "has no dialogue element".to_string());
            }
        }
        Check::SampleRate(ok) => {
            if !ok.contains(&x.sample_rate) {
                bad("file", format!("{} Hz", x.sample_rate));
            }
        }
        Check::BitDepth(ok) => {
            let pcm = ok.iter().any(|b| x.encoding == format!("{b}-bit PCM"));
            if !pcm {
                bad("file", format!("the audio is {}", x.encoding));
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_data_parses_and_ids_are_unique() {
        let p = profiles();
        assert!(p.iter().any(|p| p.profile == "structure"));
        let mut ids: Vec<&str> = p
            .iter()
            .flat_map(|p| p.rules.iter().map(|r| r.id.as_str()))
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
        assert_eq!(profile_names(), vec!["ebu", "dolby"]);
    }
}
