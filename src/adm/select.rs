//! From an ADM master to a [`Scene`]: BS.2127's item selection and the repairs real
//! files need.
//!
//! Selection follows BS.2127 §6 (and the EBU ADM Renderer): one audioProgramme (the one
//! asked for, else the lowest ID), its audioContents, their audioObjects and every object
//! nested below them; in each complementary-object group only the selected object (by
//! default the group's root) is kept. Each leaf object's audioTrackUIDs, with their
//! audioChannelFormats, become one rendering item each; gains and mutes multiply down the
//! object path, and an item's timing is its leaf object's start and duration. A file with
//! neither programmes nor objects is rendered from its `chna` alone.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::bw64::{self, Container};
use super::model::*;
use super::{check_strict, common, xml, AdmOptions, Warnings};
use crate::error::{Error, Result};
use crate::io::{AudioInfo, AudioSource, WavReader};
use crate::panner::direct_speakers::{is_lfe, SpeakerChannel, SpeakerPosition};
use crate::scene::{self, BlockTarget, MetaBlock, ObjectParams, Scene, Source, Timeline};
use crate::time::Time;

/// Deepest nesting of audioObjects (or of audioPackFormats) accepted: the references are
/// followed recursively, so a hostile chain must end in a clear error, not a stack overflow.
pub const MAX_NESTING: usize = 256;
/// Most audioObject visits while selecting (an object nested under several parents is
/// visited once per path: a hostile file can make the paths exponential).
pub const MAX_OBJECT_VISITS: usize = 1 << 20;
/// Most rendering items in a selection.
pub const MAX_ITEMS: usize = 1 << 20;

/// One rendering item: a track of the file and the channel format that places it.
#[derive(Debug, Clone)]
pub struct Item {
    /// The leaf audioObject (None in a chna-only file).
    pub object: Option<String>,
    /// The audioContent it belongs to.
    pub content: Option<String>,
    /// The audioTrackUID.
    pub track_uid: String,
    /// 0-based track in the file; None for a silent track.
    pub track: Option<usize>,
    /// The audioChannelFormat.
    pub channel: String,
    /// Its type.
    pub type_def: TypeDef,
    /// The audioPackFormats from the object's pack down to the channel.
    pub packs: Vec<String>,
    /// Gain multiplied down the object path (0 when any object on it is muted).
    pub gain: f64,
    /// The leaf object's start.
    pub start: Option<Time>,
    /// The leaf object's duration.
    pub duration: Option<Time>,
    /// The lowest audioObject importance along the object path (None: none given).
    pub importance: Option<u8>,
}

/// An opened ADM master: container, metadata (with the common definitions merged in),
/// the selected rendering items and the repairs made.
#[derive(Debug, Clone)]
pub struct AdmMaster {
    /// The file.
    pub path: PathBuf,
    /// Its chunks.
    pub container: Container,
    /// The audio format of its `data` chunk.
    pub audio: AudioInfo,
    /// The ADM document, common definitions merged.
    pub adm: Adm,
    /// The selected programme, if the file has programmes.
    pub programme: Option<String>,
    /// The rendering items of the selection.
    pub items: Vec<Item>,
    /// Repairs made and features noted but not applied.
    pub warnings: Warnings,
    /// `--strict`: the repairs made while building the timelines are errors too.
    pub strict: bool,
    /// `--importance N`: Objects blocks below N play at gain 0.
    pub importance: Option<u8>,
    /// What the importance filter left out (one line per object), for the user.
    pub left_out: Vec<String>,
    /// The Dolby `dbmd` chunk, parsed (None when absent or unreadable, which is a warning).
    /// Its binaural render modes belong to file tracks: see [`super::dbmd`].
    pub dbmd: Option<super::dbmd::Dbmd>,
}

/// Opens an ADM master: reads the container and the XML, merges the common definitions
/// and `chna`, checks every reference and selects the rendering items.
pub fn load(path: &Path, opts: &AdmOptions) -> Result<AdmMaster> {
    let origin = path.display().to_string();
    let container = bw64::scan(path)?;
    let audio = WavReader::open(path)?.info().clone();
    let mut warnings = Warnings::default();
    for w in &container.warnings {
        warnings.add("file", "container", format!("{origin}: {w}"));
    }
    let chna = container.chna.clone().ok_or_else(|| {
        Error::malformed(
            origin.clone(),
            "no 'chna' chunk: not an ADM BWF master (a plain WAV can be converted with `mixstage convert`)",
        )
    })?;
    let mut adm = match &container.axml {
        Some(text) => xml::parse(text, &origin, false, &mut warnings)?,
        None => {
            warnings.add(
                "file",
                "no-axml",
                format!("{origin}: no 'axml' chunk: rendering from the 'chna' chunk and the BS.2094 common definitions"),
            );
            Adm::default()
        }
    };
    let dbmd = read_dbmd(&container, &origin, audio.channels, &mut warnings);
    merge_common(&mut adm);
    merge_chna(&mut adm, &chna, audio.channels, &origin)?;
    check_references(&adm, &origin)?;
    let programme = choose_programme(&adm, opts, &origin, &mut warnings)?;
    let mut items = select_items(&adm, programme.as_deref(), opts, &origin, &mut warnings)?;
    let left_out = match opts.importance {
        Some(n) => filter_by_importance(&adm, &mut items, n),
        None => Vec::new(),
    };
    let mut master = AdmMaster {
        path: path.to_path_buf(),
        container,
        audio,
        adm,
        programme,
        items,
        warnings,
        strict: opts.strict,
        importance: opts.importance,
        left_out,
        dbmd,
    };
    // Form (and so check) the HOA items now, so that bad HOA metadata fails the load.
    let mut warnings = std::mem::take(&mut master.warnings);
    super::hoa::hoa_items(&master, &mut warnings)?;
    check_strict(&origin, &warnings, opts.strict)?;
    master.warnings = warnings;
    Ok(master)
}

/// Parses the container's `dbmd` chunk. A chunk that cannot be read is left out with a
/// warning (its modes are Dolby renderer settings; BS.2127 rendering does not need them), as
/// is an entry count that does not match the file's tracks (one entry per track is expected).
fn read_dbmd(
    container: &Container,
    origin: &str,
    channels: usize,
    warnings: &mut Warnings,
) -> Option<super::dbmd::Dbmd> {
    let bytes = container.dbmd.as_ref()?;
    let offset = container.chunk(b"dbmd").map(|c| c.offset).unwrap_or(0);
    match super::dbmd::parse(bytes, origin, offset) {
        Ok(d) => {
            for (i, w) in d.warnings.iter().enumerate() {
                warnings.add(&format!("dbmd {i}"), "dbmd", w.clone());
            }
            if let Some(n) = d.supplemental.as_ref().map(|s| s.len()) {
                if n != channels {
                    warnings.add(
                        "dbmd",
                        "dbmd-count",
                        format!(
                            "{origin}: the dbmd chunk gives {n} binaural render modes for {channels} tracks (one per track is expected): {}",
                            if n > channels {
                                format!("the last {} are ignored", n - channels)
                            } else {
                                format!("tracks {} to {channels} have none", n + 1)
                            }
                        ),
                    );
                }
            }
            Some(d)
        }
        Err(e) => {
            warnings.add(
                "dbmd",
                "dbmd-error",
                format!("{e}: the dbmd chunk is ignored (no binaural render modes from it)"),
            );
            None
        }
    }
}

/// BS.2127's importance filter on the items: those whose object importance (the lowest along
/// the object path) or pack importance (the lowest along the pack path) is below `n` are
/// removed. Returns one line per object left out.
fn filter_by_importance(adm: &Adm, items: &mut Vec<Item>, n: u8) -> Vec<String> {
    let mut notes: Vec<String> = Vec::new();
    items.retain(|it| {
        let pack = it
            .packs
            .iter()
            .filter_map(|p| adm.pack(p).and_then(|p| p.importance))
            .min();
        let (keep, why) = match (it.importance, pack) {
            (Some(o), _) if o < n => (false, format!("object importance {o}")),
            (_, Some(p)) if p < n => (false, format!("pack importance {p}")),
            _ => (true, String::new()),
        };
        if !keep {
            let who = it.object.clone().unwrap_or_else(|| it.track_uid.clone());
            let line = format!("{who}: {why} is below --importance {n}: not rendered");
            if !notes.contains(&line) {
                notes.push(line);
            }
        }
        keep
    });
    notes
}

/// Adds every common definition the file does not define itself.
pub(crate) fn merge_common(adm: &mut Adm) {
    let defs = common::definitions();
    macro_rules! merge {
        ($field:ident) => {
            for e in &defs.$field {
                if !adm.index.contains_key(&e.id) {
                    adm.$field.push(e.clone());
                }
            }
        };
    }
    merge!(packs);
    merge!(channels);
    merge!(streams);
    merge!(tracks);
    adm.reindex();
}

/// Gives each audioTrackUID its track index from `chna` (adding UIDs only `chna` names).
fn merge_chna(adm: &mut Adm, rows: &[bw64::ChnaRow], channels: usize, origin: &str) -> Result<()> {
    for r in rows {
        let at = format!("{origin}: chna row for track {} ({})", r.track_index, r.uid);
        if r.uid == SILENT_TRACK {
            return Err(Error::malformed(
                at,
                "names ATU_00000000, the silent track, which has no audio in the file",
            ));
        }
        if r.track_index as usize > channels {
            return Err(Error::malformed(
                at,
                format!(
                    "track {} is past the file's {channels} channels",
                    r.track_index
                ),
            ));
        }
        let (track_format, channel_format) = split_track_ref(&r.track_ref);
        let pack = (!r.pack_ref.is_empty()).then(|| r.pack_ref.clone());
        match adm
            .index
            .get(&r.uid)
            .copied()
            .filter(|&i| adm.track_uids.get(i).is_some_and(|u| u.id == r.uid))
        {
            Some(i) => {
                let u = &mut adm.track_uids[i];
                u.track_index = Some(r.track_index as usize);
                if u.track_format.is_none() && u.channel_format.is_none() {
                    u.track_format = track_format;
                    u.channel_format = channel_format;
                }
                if u.pack.is_none() {
                    u.pack = pack;
                }
            }
            None => adm.track_uids.push(TrackUid {
                id: r.uid.clone(),
                track_index: Some(r.track_index as usize),
                track_format,
                channel_format,
                pack,
                refs: Default::default(),
            }),
        }
    }
    adm.reindex();
    Ok(())
}

/// A chna track reference: an audioTrackFormat ID, or (BS.2076-2) an audioChannelFormat
/// ID, possibly with a `_00` suffix.
fn split_track_ref(r: &str) -> (Option<String>, Option<String>) {
    if r.is_empty() {
        (None, None)
    } else if let Some(rest) = r.strip_prefix("AC_") {
        let base = rest.get(..8).unwrap_or(rest);
        (None, Some(format!("AC_{base}")))
    } else {
        (Some(r.to_string()), None)
    }
}

fn missing(origin: &str, from: &str, what: &str, id: &str) -> Error {
    Error::malformed(
        origin.to_string(),
        format!("{from} references {what} {id}, which does not exist in the file or the BS.2094 common definitions"),
    )
}

/// Every reference must resolve; object and pack nesting must be acyclic.
fn check_references(adm: &Adm, origin: &str) -> Result<()> {
    for p in &adm.programmes {
        for c in &p.contents {
            adm.content(c)
                .ok_or_else(|| missing(origin, &p.id, "audioContent", c))?;
        }
    }
    for c in &adm.contents {
        for o in &c.objects {
            adm.object(o)
                .ok_or_else(|| missing(origin, &c.id, "audioObject", o))?;
        }
    }
    for o in &adm.objects {
        for x in o.objects.iter().chain(&o.complementary) {
            adm.object(x)
                .ok_or_else(|| missing(origin, &o.id, "audioObject", x))?;
        }
        for x in &o.packs {
            adm.pack(x)
                .ok_or_else(|| missing(origin, &o.id, "audioPackFormat", x))?;
        }
        for x in &o.track_uids {
            if x != SILENT_TRACK {
                adm.track_uid(x)
                    .ok_or_else(|| missing(origin, &o.id, "audioTrackUID", x))?;
            }
        }
    }
    for p in &adm.packs {
        for x in &p.channels {
            adm.channel(x)
                .ok_or_else(|| missing(origin, &p.id, "audioChannelFormat", x))?;
        }
        for x in &p.packs {
            adm.pack(x)
                .ok_or_else(|| missing(origin, &p.id, "audioPackFormat", x))?;
        }
    }
    for s in &adm.streams {
        if let Some(x) = &s.channel {
            adm.channel(x)
                .ok_or_else(|| missing(origin, &s.id, "audioChannelFormat", x))?;
        }
        if let Some(x) = &s.pack {
            adm.pack(x)
                .ok_or_else(|| missing(origin, &s.id, "audioPackFormat", x))?;
        }
    }
    for t in &adm.tracks {
        if let Some(x) = &t.stream {
            adm.stream(x)
                .ok_or_else(|| missing(origin, &t.id, "audioStreamFormat", x))?;
        }
    }
    for u in &adm.track_uids {
        if let Some(x) = &u.track_format {
            adm.track(x)
                .ok_or_else(|| missing(origin, &u.id, "audioTrackFormat", x))?;
        }
        if let Some(x) = &u.channel_format {
            adm.channel(x)
                .ok_or_else(|| missing(origin, &u.id, "audioChannelFormat", x))?;
        }
        if let Some(x) = &u.pack {
            adm.pack(x)
                .ok_or_else(|| missing(origin, &u.id, "audioPackFormat", x))?;
        }
    }
    // Cycles: depth-first search with an explicit path.
    fn visit<'a>(
        id: &'a str,
        next: &dyn Fn(&'a str) -> Vec<&'a str>,
        path: &mut Vec<&'a str>,
        done: &mut HashSet<&'a str>,
        kind: &str,
        origin: &str,
    ) -> Result<()> {
        if done.contains(id) {
            return Ok(());
        }
        if path.len() >= MAX_NESTING {
            return Err(Error::Limit(format!(
                "{origin}: {kind}s nested more than {MAX_NESTING} deep (below {})",
                path[0]
            )));
        }
        if let Some(k) = path.iter().position(|x| *x == id) {
            let mut cycle: Vec<&str> = path[k..].to_vec();
            cycle.push(id);
            return Err(Error::malformed(
                origin.to_string(),
                format!("a reference cycle among {kind}s: {}", cycle.join(" -> ")),
            ));
        }
        path.push(id);
        for n in next(id) {
            visit(n, next, path, done, kind, origin)?;
        }
        path.pop();
        done.insert(id);
        Ok(())
    }
    let obj_next = |id: &str| -> Vec<&str> {
        adm.object(id)
            .map(|o| o.objects.iter().map(String::as_str).collect())
            .unwrap_or_default()
    };
    let mut done = HashSet::new();
    for o in &adm.objects {
        visit(
            &o.id,
            &obj_next,
            &mut Vec::new(),
            &mut done,
            "audioObject",
            origin,
        )?;
    }
    let pack_next = |id: &str| -> Vec<&str> {
        adm.pack(id)
            .map(|p| p.packs.iter().map(String::as_str).collect())
            .unwrap_or_default()
    };
    let mut done = HashSet::new();
    for p in &adm.packs {
        visit(
            &p.id,
            &pack_next,
            &mut Vec::new(),
            &mut done,
            "audioPackFormat",
            origin,
        )?;
    }
    Ok(())
}

fn choose_programme(
    adm: &Adm,
    opts: &AdmOptions,
    origin: &str,
    warnings: &mut Warnings,
) -> Result<Option<String>> {
    if let Some(want) = &opts.programme {
        let id = canonical_id(want);
        if adm.programme(&id).is_none() {
            let names: Vec<String> = adm
                .programmes
                .iter()
                .map(|p| format!("{} ('{}')", p.id, p.name))
                .collect();
            return Err(Error::Invalid(format!(
                "{origin}: --programme {want}: no such audioProgramme; the file has: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )));
        }
        return Ok(Some(id));
    }
    let lowest = adm.programmes.iter().map(|p| p.id.clone()).min();
    if adm.programmes.len() > 1 {
        warnings.add(
            "file",
            "programmes",
            format!(
                "{origin}: {} audioProgrammes; rendering {} (the lowest ID, as BS.2127 does); choose another with --programme",
                adm.programmes.len(),
                lowest.as_deref().unwrap_or("")
            ),
        );
    }
    Ok(lowest)
}

/// The pack path from `root` down to the pack that lists `channel`.
fn pack_path(adm: &Adm, root: &str, channel: &str, path: &mut Vec<String>) -> bool {
    pack_path_in(adm, root, channel, path, &mut HashSet::new())
}

/// [`pack_path`], remembering the packs already searched in vain (`dead`): a pack nested
/// under several parents is searched once, not once per path (exponential in a hostile file).
fn pack_path_in<'a>(
    adm: &'a Adm,
    root: &str,
    channel: &str,
    path: &mut Vec<String>,
    dead: &mut HashSet<&'a str>,
) -> bool {
    let Some(p) = adm.pack(root) else {
        return false;
    };
    if dead.contains(p.id.as_str()) {
        return false;
    }
    path.push(p.id.clone());
    if p.channels.iter().any(|c| c == channel) {
        return true;
    }
    for sub in &p.packs {
        if pack_path_in(adm, sub, channel, path, dead) {
            return true;
        }
    }
    path.pop();
    dead.insert(p.id.as_str());
    false
}

/// The audioChannelFormat a track UID plays, noting a stream that references both a pack
/// and a channel (what Dolby and Pro Tools write).
/// The audioChannelFormat of an audioTrackUID: its own reference, or through its
/// audioTrackFormat and audioStreamFormat.
pub(crate) fn uid_channel(
    adm: &Adm,
    u: &TrackUid,
    origin: &str,
    warnings: &mut Warnings,
) -> Result<String> {
    if let Some(c) = &u.channel_format {
        return Ok(c.clone());
    }
    let tf = u.track_format.as_ref().ok_or_else(|| {
        Error::malformed(
            origin.to_string(),
            format!(
                "{}: references neither an audioTrackFormat nor an audioChannelFormat",
                u.id
            ),
        )
    })?;
    let t = adm.track(tf).expect("checked");
    let sid = t.stream.as_ref().ok_or_else(|| {
        Error::malformed(
            origin.to_string(),
            format!("{tf}: the audioTrackFormat references no audioStreamFormat"),
        )
    })?;
    let s = adm.stream(sid).expect("checked");
    match (&s.channel, &s.pack) {
        (Some(c), Some(_)) => {
            warnings.add(
                &s.id,
                "stream-both",
                format!(
                    "{origin}: {}: the audioStreamFormat references both an audioPackFormat and an audioChannelFormat (as Dolby and Pro Tools write); the channel format is used",
                    s.id
                ),
            );
            Ok(c.clone())
        }
        (Some(c), None) => Ok(c.clone()),
        (None, _) => Err(Error::Unsupported(format!(
            "{origin}: {}: an audioStreamFormat without an audioChannelFormat (coded or matrix streams) is not supported",
            s.id
        ))),
    }
}

fn type_of(adm: &Adm, channel: &str, packs: &[String]) -> Option<TypeDef> {
    adm.channel(channel)
        .and_then(|c| c.type_def)
        .or_else(|| {
            packs
                .last()
                .and_then(|p| adm.pack(p))
                .and_then(|p| p.type_def)
        })
        .or_else(|| channel.get(3..7).and_then(TypeDef::from_code))
}

/// Objects to leave out for complementary-object selection (BS.2127 §6.1).
fn complementary_ignored(adm: &Adm, chosen: &[String], origin: &str) -> Result<HashSet<String>> {
    let roots: Vec<&Object> = adm
        .objects
        .iter()
        .filter(|o| !o.complementary.is_empty())
        .collect();
    let group = |r: &Object| -> Vec<String> {
        std::iter::once(r.id.clone())
            .chain(r.complementary.iter().cloned())
            .collect()
    };
    let chosen: Vec<String> = chosen.iter().map(|c| canonical_id(c)).collect();
    for c in &chosen {
        if !roots.iter().any(|r| group(r).contains(c)) {
            return Err(Error::Invalid(format!(
                "{origin}: --comp-object {c}: not an audioObject of any complementary group"
            )));
        }
    }
    let mut ignored = HashSet::new();
    for r in roots {
        let g = group(r);
        let picked: Vec<&String> = g.iter().filter(|x| chosen.contains(x)).collect();
        if picked.len() > 1 {
            return Err(Error::Invalid(format!(
                "{origin}: --comp-object: {} are in the same complementary group ({})",
                picked
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(" and "),
                r.id
            )));
        }
        let keep = picked
            .first()
            .map(|s| s.to_string())
            .unwrap_or_else(|| r.id.clone());
        for x in g {
            if x != keep {
                ignored.insert(x);
            }
        }
    }
    Ok(ignored)
}

fn select_items(
    adm: &Adm,
    programme: Option<&str>,
    opts: &AdmOptions,
    origin: &str,
    warnings: &mut Warnings,
) -> Result<Vec<Item>> {
    let mut items = Vec::new();
    if adm.programmes.is_empty() && adm.objects.is_empty() {
        // chna only: every mapped track with its own pack.
        for u in &adm.track_uids {
            let Some(ti) = u.track_index else { continue };
            let channel = uid_channel(adm, u, origin, warnings)?;
            let mut packs = Vec::new();
            if let Some(p) = &u.pack {
                pack_path(adm, p, &channel, &mut packs);
            }
            let type_def =
                type_of(adm, &channel, &packs).ok_or_else(|| unknown_type(origin, &channel))?;
            items.push(Item {
                object: None,
                content: None,
                track_uid: u.id.clone(),
                track: Some(ti - 1),
                channel,
                type_def,
                packs,
                gain: 1.0,
                start: None,
                duration: None,
                importance: None,
            });
        }
        return Ok(items);
    }
    let ignored = complementary_ignored(adm, &opts.comp_objects, origin)?;
    // (content, root objects) pairs.
    let mut roots: Vec<(Option<String>, Vec<String>)> = Vec::new();
    match programme.and_then(|p| adm.programme(p)) {
        Some(p) => {
            for c in &p.contents {
                let content = adm.content(c).expect("checked");
                roots.push((Some(content.id.clone()), content.objects.clone()));
            }
        }
        None => {
            let nested: HashSet<&str> = adm
                .objects
                .iter()
                .flat_map(|o| o.objects.iter().map(String::as_str))
                .collect();
            let r = adm
                .objects
                .iter()
                .filter(|o| !nested.contains(o.id.as_str()))
                .map(|o| o.id.clone())
                .collect();
            roots.push((None, r));
        }
    }
    let mut visits = 0usize;
    for (content, objs) in roots {
        for root in objs {
            let mut stack: Vec<(String, f64, Option<u8>)> = vec![(root, 1.0, None)];
            while let Some((id, gain_above, importance_above)) = stack.pop() {
                if ignored.contains(&id) {
                    continue;
                }
                visits += 1;
                if visits > MAX_OBJECT_VISITS || items.len() > MAX_ITEMS {
                    return Err(Error::Limit(format!(
                        "{origin}: the selection visits more than {MAX_OBJECT_VISITS} audioObjects or makes more than {MAX_ITEMS} rendering items (objects nested under many parents, e.g. {id})"
                    )));
                }
                let o = adm.object(&id).expect("checked");
                let gain = if o.mute { 0.0 } else { gain_above * o.gain };
                let importance = match (importance_above, o.importance) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                // Depth first, in document order.
                for sub in o.objects.iter().rev() {
                    stack.push((sub.clone(), gain, importance));
                }
                object_items(
                    adm,
                    o,
                    content.as_deref(),
                    (gain, importance),
                    opts,
                    origin,
                    warnings,
                    &mut items,
                )?;
            }
        }
    }
    Ok(items)
}

fn unknown_type(origin: &str, channel: &str) -> Error {
    Error::malformed(
        origin.to_string(),
        format!("{channel}: no typeDefinition on the audioChannelFormat or its audioPackFormat"),
    )
}

#[allow(clippy::too_many_arguments)]
fn object_items(
    adm: &Adm,
    o: &Object,
    content: Option<&str>,
    (gain, importance): (f64, Option<u8>),
    opts: &AdmOptions,
    origin: &str,
    warnings: &mut Warnings,
    items: &mut Vec<Item>,
) -> Result<()> {
    for uid in &o.track_uids {
        if uid == SILENT_TRACK {
            continue; // a silent track: nothing to render
        }
        let u = adm.track_uid(uid).expect("checked");
        let channel = uid_channel(adm, u, origin, warnings)?;
        let mut packs = Vec::new();
        let roots: Vec<&String> = o.packs.iter().chain(u.pack.iter()).collect();
        if !roots.iter().any(|r| {
            packs.clear();
            pack_path(adm, r, &channel, &mut packs)
        }) {
            packs.clear();
            warnings.add(
                &o.id,
                "pack-path",
                format!("{origin}: {}: track {} plays {channel}, which none of the object's audioPackFormats lists", o.id, u.id),
            );
        }
        let type_def =
            type_of(adm, &channel, &packs).ok_or_else(|| unknown_type(origin, &channel))?;
        match type_def {
            // HOA tracks become one item per pack in `super::hoa::hoa_items`.
            TypeDef::Objects | TypeDef::DirectSpeakers | TypeDef::Hoa => {}
            TypeDef::Matrix | TypeDef::Binaural => {
                let msg = format!(
                    "{origin}: {} ('{}') has typeDefinition {}, which mixstage does not render{}",
                    o.id,
                    o.name,
                    type_def.name(),
                    if type_def == TypeDef::Matrix {
                        " (matrix packs are out of scope for now)"
                    } else {
                        ""
                    }
                );
                if opts.skip_unsupported {
                    warnings.add(
                        &o.id,
                        "unsupported-type",
                        format!("{msg}: left out (--skip-unsupported)"),
                    );
                    continue;
                }
                return Err(Error::Unsupported(format!(
                    "{msg}; --skip-unsupported renders the rest"
                )));
            }
        }
        let Some(ti) = u.track_index else {
            warnings.add(
                &u.id,
                "unmapped",
                format!("{origin}: {}: audioTrackUID of {} is not in the 'chna' chunk: treated as silent", u.id, o.id),
            );
            continue;
        };
        items.push(Item {
            object: Some(o.id.clone()),
            content: content.map(str::to_string),
            track_uid: u.id.clone(),
            track: Some(ti - 1),
            channel,
            type_def,
            packs,
            gain,
            start: o.start,
            duration: o.duration,
            importance,
        });
    }
    Ok(())
}

impl AdmMaster {
    /// The selected programme's audioProgrammeReferenceScreen (None: BS.2127's default).
    pub fn reference_screen(&self) -> Option<crate::panner::screen::Screen> {
        self.programme
            .as_deref()
            .and_then(|id| self.adm.programme(id))
            .and_then(|p| p.reference_screen)
    }

    /// The programme's start as the file's bext `TimeReference` (samples since midnight), when
    /// it has a bext chunk.
    pub fn time_reference(&self) -> Option<u64> {
        self.container.bext.as_ref().map(|b| b.time_reference)
    }

    /// Stem name of a content: its name made safe for file names (letters, digits, `-`, `_`).
    pub fn group_of(&self, content: Option<&str>) -> String {
        let Some(cid) = content else {
            return "main".to_string();
        };
        let c = self.adm.content(cid);
        let name = c.map(|c| c.name.as_str()).unwrap_or("");
        let safe: String = name
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() || ch == '-' || ch == '_' {
                    ch
                } else {
                    '_'
                }
            })
            .collect();
        let safe = safe.trim_matches('_').to_string();
        let base = if safe.is_empty() {
            cid.to_string()
        } else {
            safe
        };
        // Two contents with the same name get distinct stems.
        let clash = self
            .adm
            .contents
            .iter()
            .any(|o| o.id != cid && o.name == name);
        if clash {
            format!("{base}-{cid}")
        } else {
            base
        }
    }

    /// The scene this master renders as: one object per rendering item, reading its track
    /// of the master, with a BS.2127 timeline built from its channel's blocks (repaired
    /// where real files need it).
    pub fn to_scene(&self) -> Result<Scene> {
        let origin = self.path.display().to_string();
        let rate = self.audio.sample_rate;
        let mut warnings = self.warnings.clone();
        let mut objects = Vec::new();
        let mut dialogue_groups = Vec::new();
        // A channel format used by many items is walked once per item: bound the total.
        let total_blocks: usize = self
            .items
            .iter()
            .filter_map(|it| self.adm.channel(&it.channel))
            .map(|c| c.blocks.len())
            .sum();
        if total_blocks > xml::MAX_BLOCKS {
            return Err(Error::Limit(format!(
                "{origin}: the rendering items hold {total_blocks} audioBlockFormats in all (at most {})",
                xml::MAX_BLOCKS
            )));
        }
        for it in &self.items {
            if it.gain == 0.0 || it.type_def == TypeDef::Hoa {
                continue; // muted, or an HOA track (rendered per pack, below)
            }
            let group = self.group_of(it.content.as_deref());
            if let Some(c) = it.content.as_deref().and_then(|c| self.adm.content(c)) {
                if matches!(c.dialogue, Some((Dialogue::Dialogue, _)))
                    && !dialogue_groups.contains(&group)
                {
                    dialogue_groups.push(group.clone());
                }
            }
            let ch = self.adm.channel(&it.channel).expect("checked");
            let who = it.object.clone().unwrap_or_else(|| it.track_uid.clone());
            let blocks = timeline(self, it, ch, rate, &who, &mut warnings)?;
            if blocks.is_empty() {
                continue;
            }
            let name = match it.object.as_deref().and_then(|o| self.adm.object(o)) {
                Some(o) if !o.name.is_empty() => format!("{} {} ({})", o.id, o.name, ch.name),
                _ => format!("{} ({})", it.channel, ch.name),
            };
            let (binaural, binaural_drr_db) = item_binaural(self, it, ch);
            // headLocked on the object or on any of its blocks.
            let head_locked = ch.blocks.iter().any(|b| b.head_locked)
                || it
                    .object
                    .as_deref()
                    .and_then(|o| self.adm.object(o))
                    .and_then(|o| o.head_locked)
                    .unwrap_or(false);
            objects.push(scene::Object {
                group: Some(group),
                binaural,
                binaural_drr_db,
                head_locked,
                timeline: Some(Timeline { blocks }),
                ..scene::Object::new(
                    name,
                    Source::Track {
                        index: it.track.expect("mapped"),
                    },
                )
            });
        }
        // HOA items: a bed of the master's tracks, decoded to the layout.
        let mut beds = Vec::new();
        for h in super::hoa::hoa_items(self, &mut warnings)? {
            if h.gain == 0.0 || h.end.is_some_and(|e| e <= h.start) {
                continue;
            }
            if h.gain < 0.0 {
                return Err(Error::Unsupported(format!(
                    "{origin}: {}: a negative gain on an HOA item is not supported",
                    h.pack
                )));
            }
            let group = self.group_of(h.content.as_deref());
            let name = match h.object.as_deref().and_then(|o| self.adm.object(o)) {
                Some(o) if !o.name.is_empty() => format!("{} {} ({})", o.id, o.name, h.pack),
                Some(o) => format!("{} ({})", o.id, h.pack),
                None => h.pack.clone(),
            };
            let order = h.format.components.iter().map(|c| c.0).max().unwrap_or(0);
            beds.push(scene::Bed {
                name,
                group: Some(group),
                source: Source::Tracks { indices: h.tracks },
                layout: None,
                ambisonics: Some(scene::Ambisonics {
                    order,
                    normalization: h.format.normalization,
                    channel_order: Default::default(),
                    components: h.format.components,
                }),
                span: Some((h.start, h.end)),
                gain_db: 20.0 * h.gain.abs().log10(),
                gain: Vec::new(),
                mute: false,
                eq: Vec::new(),
                binaural: None,
            });
        }
        check_strict(&origin, &warnings, self.strict)?;
        let frames = self.audio.frames.unwrap_or(0);
        Ok(Scene {
            sample_rate: rate,
            duration: Some(frames as f64 / rate as f64),
            master_gain_db: 0.0,
            objects,
            beds,
            reference_screen: self.reference_screen(),
            base_dir: self
                .path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            origin,
            master: Some(self.path.clone()),
            dialogue_groups,
        })
    }

    /// Every repair and note, including those made while building the timelines.
    pub fn all_warnings(&self) -> Vec<String> {
        let mut w = self.warnings.clone();
        let rate = self.audio.sample_rate;
        for it in self.items.iter().filter(|i| i.type_def != TypeDef::Hoa) {
            if let Some(ch) = self.adm.channel(&it.channel) {
                let who = it.object.clone().unwrap_or_else(|| it.track_uid.clone());
                let _ = timeline(self, it, ch, rate, &who, &mut w);
            }
        }
        w.list
    }
}

fn coord(v: Option<f64>, lo: f64, hi: f64, what: &str, b: &Block, origin: &str) -> Result<f64> {
    let x = v.unwrap_or(0.0);
    if !(lo..=hi).contains(&x) {
        return Err(Error::malformed(
            format!("{origin} (axml line {})", b.line),
            format!(
                "{}: {what} {x} is out of range (expected {lo} to {hi})",
                b.id
            ),
        ));
    }
    Ok(x)
}

fn range(c: &Coord) -> Option<(f64, f64)> {
    match (c.min, c.max) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    }
}

/// BS.2127 metadata blocks of one item, with the timing repairs real files need.
fn timeline(
    m: &AdmMaster,
    it: &Item,
    ch: &Channel,
    rate: u32,
    who: &str,
    warnings: &mut Warnings,
) -> Result<Vec<MetaBlock>> {
    let reference_screen = m.reference_screen();
    let origin = m.path.display().to_string();
    let obj_start = it.start.unwrap_or(Time::ZERO);
    let obj_end = it.duration.map(|d| obj_start.add(d));
    let sample = Time::new(1, rate as i128);
    let mut out: Vec<MetaBlock> = Vec::new();
    let mut prev_id = String::new();
    let n = ch.blocks.len();
    if n == 0 {
        warnings.add(
            who,
            "no-blocks",
            format!(
                "{origin}: {}: audioChannelFormat {} has no audioBlockFormat: silent",
                who, ch.id
            ),
        );
    }
    for (k, b) in ch.blocks.iter().enumerate() {
        let at = || format!("{origin} (axml line {})", b.line);
        // Relative timing, repaired where a file leaves it out.
        let (rtime, dur) = match (b.rtime, b.duration) {
            (Some(r), d) => {
                let d = match d {
                    Some(d) => Some(d),
                    None if k + 1 < n => {
                        let next = ch.blocks[k + 1].rtime.ok_or_else(|| {
                            Error::malformed(
                                at(),
                                format!("{}: no duration, and the next block has no rtime", b.id),
                            )
                        })?;
                        warnings.add(who, "no-duration", format!("{origin}: {who}: block {} has an rtime but no duration: it lasts until the next block", b.id));
                        Some(next.sub(r))
                    }
                    None => None,
                };
                (r, d)
            }
            (None, Some(d)) if k == 0 => {
                warnings.add(who, "first-rtime", format!("{origin}: {who}: the first block {} has no rtime: it starts with the object", b.id));
                (Time::ZERO, Some(d))
            }
            (None, None) if n == 1 => (Time::ZERO, None),
            (None, None) if k == 0 => {
                let next = ch.blocks[1].rtime.ok_or_else(|| {
                    Error::malformed(at(), format!("{}: blocks without rtime and duration must be alone in their audioChannelFormat", b.id))
                })?;
                warnings.add(who, "first-rtime", format!("{origin}: {who}: the first block {} has no rtime: it starts with the object and lasts until the next block", b.id));
                (Time::ZERO, Some(next))
            }
            _ => {
                return Err(Error::malformed(
                    at(),
                    format!("{}: a block after the first has no rtime", b.id),
                ));
            }
        };
        if let Some(d) = dur {
            if d.is_negative() {
                return Err(Error::malformed(
                    at(),
                    format!("{}: duration {} must not be negative", b.id, d),
                ));
            }
        }
        let mut start = obj_start.add(rtime);
        let mut end = match dur {
            Some(d) => Some(start.add(d)),
            None => obj_end,
        };
        if let (Some(e), Some(oe)) = (end, obj_end) {
            if start >= oe {
                warnings.add(
                    who,
                    "after-object",
                    format!(
                        "{origin}: {who}: block {} starts after the object ends: left out",
                        b.id
                    ),
                );
                continue;
            }
            if e > oe {
                warnings.add(who, "past-object", format!("{origin}: {who}: block {} ends after the object: shortened to the object's end", b.id));
                end = Some(oe);
            }
        }
        // Against the previous block: snap sub-sample gaps and overlaps (rounded times).
        if let Some(prev) = out.last_mut() {
            let pe = prev.end.ok_or_else(|| {
                Error::malformed(
                    at(),
                    format!("{}: follows block {prev_id}, which has no end", b.id),
                )
            })?;
            if start < prev.start {
                return Err(Error::malformed(
                    at(),
                    format!(
                        "{}: blocks out of order: it starts before block {prev_id}",
                        b.id
                    ),
                ));
            }
            if start != pe {
                let diff = if start > pe {
                    start.sub(pe)
                } else {
                    pe.sub(start)
                };
                if diff < sample {
                    warnings.add(who, "rounded-times", format!(
                        "{origin}: {who}: block times rounded (e.g. {} and {}) leave a gap or overlap of less than a sample: snapped to the next block's start",
                        prev_id, b.id
                    ));
                    prev.end = Some(start);
                    let prev_len = start.sub(prev.start);
                    if prev.interpolation > prev_len {
                        prev.interpolation = prev_len;
                    }
                } else if start < pe {
                    return Err(Error::malformed(
                        at(),
                        format!(
                            "{}: overlaps block {prev_id} by {:.6} s (blocks must not overlap)",
                            b.id,
                            diff.as_secs()
                        ),
                    ));
                }
            }
        }
        let len = end.map(|e| e.sub(start));
        let mut interpolation = match it.type_def {
            TypeDef::DirectSpeakers => Time::ZERO,
            _ if b.jump => b.interpolation_length.unwrap_or(Time::ZERO),
            _ => len.unwrap_or(Time::ZERO),
        };
        if let Some(l) = len {
            if interpolation > l {
                warnings.add(who, "interp-length", format!(
                    "{origin}: {who}: block {}'s interpolationLength {} is longer than the block: shortened to the block",
                    b.id,
                    interpolation.as_secs()
                ));
                interpolation = l;
            }
        }
        let _ = &mut start;
        let target = match it.type_def {
            TypeDef::DirectSpeakers => {
                let p = &b.position;
                let position = if b.cartesian {
                    SpeakerPosition::Cartesian {
                        x: coord(p.x.value, -1.0, 1.0, "X", b, &origin)?,
                        y: coord(p.y.value, -1.0, 1.0, "Y", b, &origin)?,
                        z: coord(p.z.value, -1.0, 1.0, "Z", b, &origin)?,
                        x_range: range(&p.x),
                        y_range: range(&p.y),
                        z_range: range(&p.z),
                    }
                } else {
                    SpeakerPosition::Polar {
                        azimuth: coord(p.azimuth.value, -180.0, 180.0, "azimuth", b, &origin)?,
                        elevation: coord(p.elevation.value, -90.0, 90.0, "elevation", b, &origin)?,
                        distance: coord(
                            p.distance.value.or(Some(1.0)),
                            0.0,
                            1e3,
                            "distance",
                            b,
                            &origin,
                        )?,
                        azimuth_range: range(&p.azimuth),
                        elevation_range: range(&p.elevation),
                        distance_range: range(&p.distance),
                    }
                };
                let lfe = is_lfe(ch.low_pass, ch.high_pass, &b.speaker_labels);
                if lfe && ch.low_pass.is_none() {
                    warnings.add(who, "lfe-label", format!(
                        "{origin}: {who}: {} has no frequency element: recognised as LFE by its label {:?}",
                        ch.id, b.speaker_labels
                    ));
                }
                for l in &b.speaker_labels {
                    if l.to_ascii_uppercase().starts_with("RC_") {
                        warnings.add(
                            who,
                            "rc-label",
                            format!(
                                "{origin}: {who}: Dolby bed label {l} read as its BS.2051 speaker"
                            ),
                        );
                    }
                }
                BlockTarget::Speaker(Box::new(SpeakerChannel {
                    edge_lock: b.edge_lock,
                    labels: b.speaker_labels.clone(),
                    position,
                    lfe,
                    packs: it.packs.clone(),
                }))
            }
            _ => object_target(b, &origin)?,
        };
        let params = match &target {
            BlockTarget::Speaker(_) => None,
            BlockTarget::Polar { .. } => object_params(b, &origin, object_distance(b))?,
            BlockTarget::Cartesian { .. } => object_params(b, &origin, 1.0)?,
        };
        // screenRef positions are scaled from the programme's reference screen.
        let params = params.map(|mut p| {
            if p.screen_ref {
                p.reference_screen = reference_screen;
            }
            p
        });
        out.push(MetaBlock {
            start,
            end,
            interpolation,
            gain: match m.importance {
                Some(n) if b.importance < n && it.type_def == TypeDef::Objects => 0.0,
                _ => b.gain * it.gain,
            },
            target,
            params,
        });
        prev_id = b.id.clone();
    }
    Ok(out)
}
/// Where an Objects block pans: its `cartesian` flag picks the panner and the position is
/// converted when its form differs, as BS.2127 does (a polar position on a Cartesian block is
/// the point `(azimuth, elevation, distance)` in the cube, a Cartesian one on a polar block the
/// direction of `(X, Y, Z)`, clipped to the cube).
pub(crate) fn object_target(b: &Block, origin: &str) -> Result<BlockTarget> {
    let p = &b.position;
    let polar_form = p.azimuth.value.is_some();
    if !polar_form
        && !b.cartesian
        && [p.x.value, p.y.value, p.z.value]
            .iter()
            .all(Option::is_none)
    {
        return Err(Error::malformed(
            format!("{origin} (axml line {})", b.line),
            format!(
                "{}: an Objects block needs a position (azimuth and elevation, or X, Y and Z)",
                b.id
            ),
        ));
    }
    Ok(match (b.cartesian, polar_form) {
        (true, false) => BlockTarget::Cartesian {
            x: coord(p.x.value, -1.0, 1.0, "X", b, origin)?,
            y: coord(p.y.value, -1.0, 1.0, "Y", b, origin)?,
            z: coord(p.z.value, -1.0, 1.0, "Z", b, origin)?,
        },
        (false, true) => BlockTarget::Polar {
            azimuth: coord(p.azimuth.value, -180.0, 180.0, "azimuth", b, origin)?,
            elevation: coord(p.elevation.value, -90.0, 90.0, "elevation", b, origin)?,
        },
        (true, true) => {
            let v = crate::geometry::polar_to_cartesian(
                coord(p.azimuth.value, -180.0, 180.0, "azimuth", b, origin)?,
                coord(p.elevation.value, -90.0, 90.0, "elevation", b, origin)?,
                object_distance(b),
            );
            BlockTarget::Cartesian {
                x: v.x.clamp(-1.0, 1.0),
                y: v.y.clamp(-1.0, 1.0),
                z: v.z.clamp(-1.0, 1.0),
            }
        }
        (false, false) => {
            let (azimuth, elevation, _) =
                crate::geometry::cartesian_to_polar(cube_point(b, origin)?);
            BlockTarget::Polar { azimuth, elevation }
        }
    })
}

/// The block's (X, Y, Z), each checked to be in [-1, 1].
fn cube_point(b: &Block, origin: &str) -> Result<crate::geometry::Vec3> {
    let p = &b.position;
    Ok(crate::geometry::Vec3::new(
        coord(p.x.value, -1.0, 1.0, "X", b, origin)?,
        coord(p.y.value, -1.0, 1.0, "Y", b, origin)?,
        coord(p.z.value, -1.0, 1.0, "Z", b, origin)?,
    ))
}

/// The distance the polar panner sees: the polar `distance` (default 1), or the length of a
/// Cartesian position read by the polar panner.
pub(crate) fn object_distance(b: &Block) -> f64 {
    let p = &b.position;
    if p.azimuth.value.is_some() {
        p.distance.value.unwrap_or(1.0)
    } else {
        let v = crate::geometry::Vec3::new(
            p.x.value.unwrap_or(0.0),
            p.y.value.unwrap_or(0.0),
            p.z.value.unwrap_or(0.0),
        );
        v.map(|c| c.clamp(-1.0, 1.0)).norm()
    }
}

/// The BS.2127 parameters of an Objects block beyond its direction, or None for a point
/// source (polar at distance 1, or Cartesian, with no extent, divergence or channel lock).
pub(crate) fn object_params(
    b: &Block,
    origin: &str,
    distance: f64,
) -> Result<Option<Box<ObjectParams>>> {
    let at = || format!("{origin} (axml line {})", b.line);
    let check = |v: f64, what: &str, lo: f64, hi: f64| -> Result<f64> {
        if v.is_finite() && (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err(Error::malformed(
                at(),
                format!("{}: {what} {v} is outside [{lo}, {hi}]", b.id),
            ))
        }
    };
    let polar = !b.cartesian;
    let distance = check(distance, "distance", 0.0, 1e3)?;
    let (width, height, depth) = (
        check(b.width, "width", 0.0, 360.0)?,
        check(b.height, "height", 0.0, 360.0)?,
        check(b.depth, "depth", 0.0, 1e3)?,
    );
    let divergence = match &b.divergence {
        Some(d) if d.value != 0.0 => {
            let value = check(d.value, "objectDivergence", 0.0, 1.0)?;
            let range = if polar {
                check(d.azimuth_range.unwrap_or(45.0), "azimuthRange", 0.0, 180.0)?
            } else {
                check(d.position_range.unwrap_or(0.0), "positionRange", 0.0, 1.0)?
            };
            Some((value, range))
        }
        _ => None,
    };
    for (i, z) in b.zones.iter().enumerate() {
        z.check().map_err(|e| {
            Error::malformed(at(), format!("{}: zoneExclusion zone {}: {e}", b.id, i + 1))
        })?;
    }
    let channel_lock = match b.channel_lock {
        Some(Some(m)) => Some(Some(check(m, "channelLock maxDistance", 0.0, 2.0)?)),
        other => other,
    };
    let p = ObjectParams {
        distance,
        width,
        height,
        depth,
        divergence,
        channel_lock,
        zone_exclusion: b.zones.clone(),
        diffuse: check(b.diffuse, "diffuse", 0.0, 1.0)?,
        screen_ref: b.screen_ref,
        reference_screen: None,
        screen_edge_lock: b.edge_lock,
    };
    Ok((p != ObjectParams::default()).then(|| Box::new(p)))
}

/// DRRs at or above this (dB) mean no room at all: BS.2076-2's default of 130 dB.
const DRY_DRR_DB: f64 = 60.0;

/// An item's headphone mode and room level: BS.2076-2 `headphoneVirtualise` on its channel's
/// first block that has one (`bypass` = Off; a DRR of 60 dB or more = Near, a lower one sets
/// the room level of the mode), else the Dolby `dbmd` chunk's mode of its track; None: the
/// render's default.
fn item_binaural(
    master: &AdmMaster,
    item: &Item,
    channel: &Channel,
) -> (Option<crate::binaural::room::Mode>, Option<f64>) {
    use crate::binaural::room::Mode;
    let dbmd = master.dbmd_item_mode(item).map(|m| match m {
        BinauralMode::Off => Mode::Off,
        BinauralMode::Near => Mode::Near,
        BinauralMode::Mid => Mode::Mid,
        BinauralMode::Far => Mode::Far,
    });
    match channel.blocks.iter().find_map(|b| b.headphone.as_ref()) {
        Some(h) if h.bypass => (Some(Mode::Off), None),
        Some(h) if h.drr_db >= DRY_DRR_DB => (Some(Mode::Near), None),
        Some(h) => (
            dbmd.filter(|m| matches!(m, Mode::Mid | Mode::Far)),
            Some(h.drr_db),
        ),
        None => (dbmd, None),
    }
}
