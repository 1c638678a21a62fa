//! `adm validate`: checks an ADM BWF master against the structural rules of BS.2076 / BS.2088
//! and a delivery profile's own rules, and reports every violation it finds (not only the
//! first), each with the element and the rule. The rules are data (`data/adm/profiles.ron`,
//! with their sources); each names one of the built-in [`Check`]s.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use super::model::{Adm, Block, Label, TypeDef, UidRefCounts};
use super::{bw64, select, xml, Warnings};
use crate::error::{Error, Result};
use crate::io::AudioSource;
use crate::time::Time;

/// The rule set, embedded.
const PROFILES: &str = include_str!("../../data/adm/profiles.ron");

/// The regular ISO 639-2/B language codes (made by `tools/gen_iso639.py`).
const LANGUAGES: &str = include_str!("../../data/adm/iso639-2b.txt");

/// True for a regular ISO 639-2/B code: not `und`, `mul`, `mis`, `zxx` or the local range
/// `qaa`-`qtz`. Codes are lower case, as ISO 639-2 writes them.
pub fn regular_language(code: &str) -> bool {
    code.len() == 3
        && LANGUAGES
            .lines()
            .filter(|l| !l.starts_with('#'))
            .any(|l| l == code)
}

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
    /// The file's own elements of a kind number from `min` to `max` (no maximum: `None`).
    Count(Element, usize, Option<usize>),
    /// Each element holds from `min` to `max` references (or labels) of a kind.
    RefCount(Relation, usize, Option<usize>),
    /// An object refers to nested objects, or to a pack and tracks: exactly one of the two.
    PackOrNested,
    /// Programme, content, object, pack and channel names are `min` to `max` bytes long.
    NameLength(usize, usize),
    /// Label texts are `min` to `max` bytes long.
    LabelLength(usize, usize),
    /// Every label has a `language` attribute.
    LabelLanguagePresent,
    /// Label languages are regular ISO 639-2 codes (not und, mul, mis, zxx, qaa-qtz).
    LabelLanguageValid,
    /// No two labels of an element (of one kind) share a language.
    LabelLanguageUnique,
    /// Programme and content languages are regular ISO 639-2 codes or `und`.
    ElementLanguage,
    /// Every audioObject carries (`true`) or lacks (`false`) this attribute.
    ObjectAttribute(String, bool),
    /// Polar Objects blocks have a distance in [0, 1].
    PolarObjectDistance,
    /// Cartesian Objects blocks have X, Y and Z, each in [-1, 1].
    CartesianObjectAxes,
    /// objectDivergence has azimuthRange (not positionRange) in polar blocks, positionRange
    /// (not azimuthRange) in Cartesian ones.
    DivergenceRange,
}

/// An element kind, for [`Check::Count`].
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
pub enum Element {
    /// audioProgramme.
    Programme,
    /// audioContent.
    Content,
    /// audioObject.
    Object,
    /// audioPackFormat.
    Pack,
    /// audioChannelFormat.
    Channel,
    /// audioTrackUID (in the axml, or in chna alone).
    TrackUid,
}

/// A kind of reference (or label) an element holds, for [`Check::RefCount`].
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
pub enum Relation {
    /// audioContentIDRefs of a programme.
    ProgrammeContents,
    /// audioObjectIDRefs of a content.
    ContentObjects,
    /// Nested audioObjectIDRefs of an object.
    ObjectObjects,
    /// audioTrackUIDRefs of an object that refers to no other objects (an object that only
    /// groups others carries no tracks of its own).
    ObjectTrackUids,
    /// audioPackFormatIDRefs of an object.
    ObjectPacks,
    /// audioPackFormatIDRefs of an audioTrackUID.
    TrackUidPacks,
    /// audioChannelFormatIDRefs of an audioTrackUID.
    TrackUidChannelFormats,
    /// audioTrackFormatIDRefs of an audioTrackUID.
    TrackUidTrackFormats,
    /// audioProgrammeLabels.
    ProgrammeLabels,
    /// audioContentLabels.
    ContentLabels,
    /// audioObjectLabels.
    ObjectLabels,
    /// audioComplementaryObjectGroupLabels.
    ObjectGroupLabels,
}

/// One rule of a profile.
#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    /// Short ID (`S1`, `EBU1`, `DOL3`, ...).
    pub id: String,
    /// The profile levels the rule applies at (empty: every level, or a profile without
    /// levels).
    #[serde(default)]
    pub levels: Vec<u8>,
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
    /// `structure`, `ebu`, `dolby`, `bs2168`.
    pub profile: String,
    /// The levels the profile has (BS.2168: 0, 1, 2) and the one checked by default; none
    /// for a profile without levels.
    #[serde(default)]
    pub levels: Option<(Vec<u8>, u8)>,
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
    /// The profile level checked, for a profile with levels.
    pub level: Option<u8>,
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

/// Validates `path` against the structural rules and `profile` at `level` (for a profile with
/// levels; `None`: its default). An error when the profile or level is unknown, or the file
/// cannot be read at all (not a WAV, no `chna`/`axml`, XML that does not parse).
pub fn validate(path: &Path, profile: &str, level: Option<u8>) -> Result<Report> {
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
    let level = match (&chosen.levels, level) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(Error::Invalid(format!(
                "profile '{profile}' has no levels; --level applies to: {}",
                all.iter()
                    .filter(|p| p.levels.is_some())
                    .map(|p| p.profile.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        (Some((_, default)), None) => Some(*default),
        (Some((levels, _)), Some(l)) if levels.contains(&l) => Some(l),
        (Some((levels, _)), Some(l)) => {
            return Err(Error::Invalid(format!(
                "profile '{profile}' has no level {l}; its levels are {levels:?}"
            )))
        }
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
    let applies = |r: &&Rule| r.levels.is_empty() || level.is_some_and(|l| r.levels.contains(&l));
    for r in structure.rules.iter().chain(&chosen.rules).filter(applies) {
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
        level,
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

/// Every label of the file, by element: (element ID, label kind, labels).
fn labels(adm: &Adm) -> Vec<(&str, &'static str, &[Label])> {
    let mut v: Vec<(&str, &'static str, &[Label])> = Vec::new();
    for p in &adm.programmes {
        v.push((&p.id, "audioProgrammeLabel", &p.labels));
    }
    for c in &adm.contents {
        v.push((&c.id, "audioContentLabel", &c.labels));
    }
    for o in &adm.objects {
        v.push((&o.id, "audioObjectLabel", &o.labels));
        v.push((&o.id, "audioComplementaryObjectGroupLabel", &o.group_labels));
    }
    v
}

/// The references each element holds of `rel`: (element ID, count, whether the minimum
/// applies to it, what is counted).
fn ref_counts(rel: Relation, x: &Input) -> Vec<(String, usize, bool, &'static str)> {
    let adm = x.adm;
    let objects = || adm.objects.iter();
    let own_uids = || {
        adm.track_uids
            .iter()
            .filter(|u| x.own.contains(&u.id))
            .map(|u| {
                // An axml element without references leaves them to its chna row.
                let row = x.chna.iter().find(|r| r.uid == u.id);
                let refs = match row {
                    Some(r) if u.refs == UidRefCounts::default() => chna_refs(r),
                    _ => u.refs,
                };
                (u.id.clone(), refs)
            })
            .chain(
                x.chna
                    .iter()
                    .filter(|r| !x.own.contains(&r.uid))
                    .map(|r| (r.uid.clone(), chna_refs(r))),
            )
            .collect::<Vec<_>>()
    };
    let all = |v: Vec<(String, usize)>, what| {
        v.into_iter()
            .map(|(id, n)| (id, n, true, what))
            .collect::<Vec<_>>()
    };
    match rel {
        Relation::ProgrammeContents => all(
            adm.programmes
                .iter()
                .map(|p| (p.id.clone(), p.contents.len()))
                .collect(),
            "audioContent references",
        ),
        Relation::ContentObjects => all(
            adm.contents
                .iter()
                .map(|c| (c.id.clone(), c.objects.len()))
                .collect(),
            "audioObject references",
        ),
        Relation::ObjectObjects => all(
            objects().map(|o| (o.id.clone(), o.objects.len())).collect(),
            "nested audioObject references",
        ),
        Relation::ObjectTrackUids => objects()
            .map(|o| {
                (
                    o.id.clone(),
                    o.track_uids.len(),
                    o.objects.is_empty(),
                    "audioTrackUID references",
                )
            })
            .collect(),
        Relation::ObjectPacks => all(
            objects().map(|o| (o.id.clone(), o.packs.len())).collect(),
            "audioPackFormat references",
        ),
        Relation::TrackUidPacks
        | Relation::TrackUidChannelFormats
        | Relation::TrackUidTrackFormats => {
            let (count, what): (fn(&UidRefCounts) -> usize, _) = match rel {
                Relation::TrackUidPacks => (|r| r.packs, "audioPackFormat references"),
                Relation::TrackUidChannelFormats => {
                    (|r| r.channel_formats, "audioChannelFormat references")
                }
                _ => (|r| r.track_formats, "audioTrackFormat references"),
            };
            all(
                own_uids()
                    .into_iter()
                    .map(|(id, r)| (id, count(&r)))
                    .collect(),
                what,
            )
        }
        Relation::ProgrammeLabels
        | Relation::ContentLabels
        | Relation::ObjectLabels
        | Relation::ObjectGroupLabels => {
            let kind = match rel {
                Relation::ProgrammeLabels => "audioProgrammeLabel",
                Relation::ContentLabels => "audioContentLabel",
                Relation::ObjectLabels => "audioObjectLabel",
                _ => "audioComplementaryObjectGroupLabel",
            };
            labels(adm)
                .into_iter()
                .filter(|(_, k, _)| *k == kind)
                .map(|(id, k, l)| (id.to_string(), l.len(), true, k))
                .collect()
        }
    }
}

/// The references a chna row gives its track UID.
fn chna_refs(r: &bw64::ChnaRow) -> UidRefCounts {
    let t = r.track_ref.to_ascii_uppercase();
    UidRefCounts {
        packs: usize::from(!r.pack_ref.is_empty()),
        channel_formats: usize::from(t.starts_with("AC_")),
        track_formats: usize::from(t.starts_with("AT_")),
    }
}

/// "from 1 to 8", "at least 1", "exactly 1".
fn range_text(min: usize, max: Option<usize>) -> String {
    match max {
        Some(m) if m == min => format!("exactly {min}"),
        Some(m) if min == 0 => format!("at most {m}"),
        Some(m) => format!("{min} to {m}"),
        None => format!("at least {min}"),
    }
}

/// The Objects blocks the file itself defines.
fn object_blocks<'a>(x: &'a Input) -> impl Iterator<Item = &'a Block> + 'a {
    x.adm
        .channels
        .iter()
        .filter(|c| x.own.contains(&c.id) && c.type_def == Some(TypeDef::Objects))
        .flat_map(|c| c.blocks.iter())
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
        Check::Count(what, min, max) => {
            let own = |id: &String| x.own.contains(id);
            let (n, name) = match what {
                Element::Programme => (adm.programmes.len(), "audioProgrammes"),
                Element::Content => (adm.contents.len(), "audioContents"),
                Element::Object => (adm.objects.len(), "audioObjects"),
                Element::Pack => (
                    adm.packs.iter().filter(|p| own(&p.id)).count(),
                    "audioPackFormats",
                ),
                Element::Channel => (
                    adm.channels.iter().filter(|c| own(&c.id)).count(),
                    "audioChannelFormats",
                ),
                Element::TrackUid => {
                    let mut ids: HashSet<&str> = adm
                        .track_uids
                        .iter()
                        .filter(|u| own(&u.id))
                        .map(|u| u.id.as_str())
                        .collect();
                    ids.extend(x.chna.iter().map(|r| r.uid.as_str()));
                    (ids.len(), "audioTrackUIDs")
                }
            };
            if n < *min || max.is_some_and(|m| n > m) {
                bad(
                    "file",
                    format!("{n} {name}, expected {}", range_text(*min, *max)),
                );
            }
        }
        Check::RefCount(rel, min, max) => {
            for (id, n, min_applies, what) in ref_counts(*rel, x) {
                if (min_applies && n < *min) || max.is_some_and(|m| n > m) {
                    bad(
                        &id,
                        format!("has {n} {what}, expected {}", range_text(*min, *max)),
                    );
                }
            }
        }
        Check::PackOrNested => {
            for o in &adm.objects {
                let nested = !o.objects.is_empty();
                let content = !o.packs.is_empty() || !o.track_uids.is_empty();
                if nested && content {
                    bad(
                        &o.id,
                        "refers to nested audioObjects and to a pack or tracks".to_string(),
                    );
                } else if !nested && !content {
                    bad(
                        &o.id,
                        "refers to neither nested audioObjects nor a pack and tracks".to_string(),
                    );
                }
            }
        }
        Check::NameLength(min, max) => {
            let names = adm
                .programmes
                .iter()
                .map(|p| (&p.id, &p.name))
                .chain(adm.contents.iter().map(|c| (&c.id, &c.name)))
                .chain(adm.objects.iter().map(|o| (&o.id, &o.name)))
                .chain(
                    adm.packs
                        .iter()
                        .filter(|p| x.own.contains(&p.id))
                        .map(|p| (&p.id, &p.name)),
                )
                .chain(
                    adm.channels
                        .iter()
                        .filter(|c| x.own.contains(&c.id))
                        .map(|c| (&c.id, &c.name)),
                );
            for (id, name) in names {
                if !(*min..=*max).contains(&name.len()) {
                    bad(
                        id,
                        format!(
                            "its name '{name}' is {} bytes, expected {min} to {max}",
                            name.len()
                        ),
                    );
                }
            }
        }
        Check::LabelLength(min, max) => {
            for (id, kind, ls) in labels(adm) {
                for l in ls
                    .iter()
                    .filter(|l| !(*min..=*max).contains(&l.value.len()))
                {
                    bad(
                        id,
                        format!(
                            "{kind} '{}' is {} bytes, expected {min} to {max}",
                            l.value,
                            l.value.len()
                        ),
                    );
                }
            }
        }
        Check::LabelLanguagePresent => {
            for (id, kind, ls) in labels(adm) {
                for l in ls.iter().filter(|l| l.language.is_none()) {
                    bad(id, format!("{kind} '{}' has no language", l.value));
                }
            }
        }
        Check::LabelLanguageValid => {
            for (id, kind, ls) in labels(adm) {
                for l in ls {
                    if let Some(code) = l.language.as_deref().filter(|c| !regular_language(c)) {
                        bad(
                            id,
                            format!(
                                "{kind} '{}' has language '{code}', not a regular ISO 639-2 code",
                                l.value
                            ),
                        );
                    }
                }
            }
        }
        Check::LabelLanguageUnique => {
            for (id, kind, ls) in labels(adm) {
                let mut seen = HashSet::new();
                for code in ls.iter().filter_map(|l| l.language.as_deref()) {
                    if !seen.insert(code) {
                        bad(id, format!("two {kind}s in language '{code}'"));
                    }
                }
            }
        }
        Check::ElementLanguage => {
            let langs = adm
                .programmes
                .iter()
                .map(|p| (&p.id, &p.language, "audioProgrammeLanguage"))
                .chain(
                    adm.contents
                        .iter()
                        .map(|c| (&c.id, &c.language, "audioContentLanguage")),
                );
            for (id, lang, attr) in langs {
                if let Some(code) = lang
                    .as_deref()
                    .filter(|c| *c != "und" && !regular_language(c))
                {
                    bad(
                        id,
                        format!("{attr} '{code}' is not a regular ISO 639-2 code or 'und'"),
                    );
                }
            }
        }
        Check::ObjectAttribute(name, present) => {
            for o in &adm.objects {
                let has = o.attributes.iter().any(|a| a == name);
                if has != *present {
                    let m = if *present { "lacks" } else { "has" };
                    bad(&o.id, format!("{m} the {name} attribute"));
                }
            }
        }
        Check::PolarObjectDistance => {
            for b in object_blocks(x).filter(|b| !b.cartesian) {
                match b.position.distance.value {
                    None => bad(&b.id, "has no distance".to_string()),
                    Some(d) if !(0.0..=1.0).contains(&d) => {
                        bad(&b.id, format!("distance {d} is outside [0, 1]"))
                    }
                    Some(_) => {}
                }
            }
        }
        Check::CartesianObjectAxes => {
            for b in object_blocks(x).filter(|b| b.cartesian) {
                let p = &b.position;
                for (axis, c) in [("X", p.x), ("Y", p.y), ("Z", p.z)] {
                    match c.value {
                        None => bad(&b.id, format!("has no {axis}")),
                        Some(v) if !(-1.0..=1.0).contains(&v) => {
                            bad(&b.id, format!("{axis} {v} is outside [-1, 1]"))
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        Check::DivergenceRange => {
            for b in object_blocks(x) {
                let Some(d) = b.divergence else { continue };
                let (want, not, has_want, has_not) = if b.cartesian {
                    (
                        "positionRange",
                        "azimuthRange",
                        d.position_range.is_some(),
                        d.azimuth_range.is_some(),
                    )
                } else {
                    (
                        "azimuthRange",
                        "positionRange",
                        d.azimuth_range.is_some(),
                        d.position_range.is_some(),
                    )
                };
                let kind = if b.cartesian { "Cartesian" } else { "polar" };
                if !has_want {
                    bad(
                        &b.id,
                        format!("a {kind} block's objectDivergence lacks {want}"),
                    );
                }
                if has_not {
                    bad(
                        &b.id,
                        format!("a {kind} block's objectDivergence has {not}"),
                    );
                }
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
        assert_eq!(profile_names(), vec!["ebu", "dolby", "bs2168"]);
    }
}
