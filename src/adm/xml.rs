//! A streaming reader of BS.2076 XML (the `axml` chunk) into the [`Adm`] model.
//!
//! The text is read once with quick-xml's pull parser: time and memory grow linearly with
//! its size, the nesting depth and element count are capped, and DTDs and entity
//! definitions are refused (no entity expansion). Elements are recognised by local name,
//! so any namespace prefix (`ebuCore:`, `adm:`) or none is accepted. Only elements inside
//! `audioFormatExtended` are ADM elements.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::model::*;
use super::Warnings;
use crate::error::{Error, Result};
use crate::time::Time;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document (a 2-hour Atmos master has a few million).
pub const MAX_ELEMENTS: u64 = 200_000_000;
/// Most audioBlockFormats accepted in one document.
pub const MAX_BLOCKS: usize = 20_000_000;

/// Where the parser is, for messages: the file and a line number.
struct Origin<'a> {
    name: &'a str,
    text: &'a str,
    /// (offset, line, offset of that line's start) last computed: the parser asks for the
    /// line of every block, at increasing offsets, so counting resumes from here and the
    /// whole document costs one pass (counting from the start each time was quadratic).
    cursor: std::cell::Cell<(usize, usize, usize)>,
}

impl Origin<'_> {
    fn new<'a>(name: &'a str, text: &'a str) -> Origin<'a> {
        Origin {
            name,
            text,
            cursor: std::cell::Cell::new((0, 1, 0)),
        }
    }

    /// The 1-based line of `offset` (and the offset where that line starts).
    fn line(&self, offset: usize) -> (usize, usize) {
        let bytes = self.text.as_bytes();
        let offset = offset.min(bytes.len());
        let (mut at, mut line, mut line_start) = self.cursor.get();
        if offset < at {
            (at, line, line_start) = (0, 1, 0);
        }
        for (i, &b) in bytes[at..offset].iter().enumerate() {
            if b == b'\n' {
                line += 1;
                line_start = at + i + 1;
            }
        }
        self.cursor.set((offset, line, line_start));
        (line, line_start)
    }

    /// Line and column (in characters) of `offset`, for messages.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let (line, line_start) = self.line(offset);
        // Columns count characters, not bytes.
        let col = self.text[line_start..]
            .char_indices()
            .take_while(|(i, _)| line_start + i < offset)
            .count()
            + 1;
        (line, col)
    }
    fn at(&self, offset: usize) -> String {
        let (l, c) = self.line_col(offset);
        format!("{} (axml line {l}, column {c})", self.name)
    }
}

/// One open element.
struct Frame {
    name: String,
    attrs: Vec<(String, String)>,
    offset: usize,
}

impl Frame {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The element being built.
#[derive(Default)]
struct Current {
    programme: Option<Programme>,
    content: Option<Content>,
    object: Option<Object>,
    pack: Option<Pack>,
    channel: Option<Channel>,
    block: Option<Block>,
    stream: Option<Stream>,
    track: Option<Track>,
    uid: Option<TrackUid>,
    loudness: Option<Loudness>,
    /// An audioProgrammeReferenceScreen being read: aspect ratio, centre (polar: azimuth,
    /// elevation, distance; or X, Y, Z) and width (azimuth or X), each with its form.
    screen: Option<ScreenParts>,
}

#[derive(Debug, Default)]
struct ScreenParts {
    aspect_ratio: f64,
    centre: Option<(bool, [f64; 3])>,
    width: Option<(bool, f64)>,
}

/// A numeric attribute of `f`; `None` when absent, an error naming the element when not a
/// finite number.
fn num_attr(org: &Origin, f: &Frame, key: &str) -> Result<Option<f64>> {
    match f.attr(key) {
        None => Ok(None),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Some(x)),
            _ => Err(Error::malformed(
                org.at(f.offset),
                format!("<{}> {key} '{v}' is not a finite number", f.name),
            )),
        },
    }
}

/// Parses an ADM document. `origin` names the file for messages; `common` marks the
/// elements as BS.2094 common definitions.
pub fn parse(text: &str, origin: &str, common: bool, warnings: &mut Warnings) -> Result<Adm> {
    let org = Origin::new(origin, text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut adm = Adm::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut text_buf = String::new();
    let mut cur = Current::default();
    let mut in_afe = 0usize; // depth of audioFormatExtended + 1, 0 when outside
    let mut found_afe = false;
    let mut elements: u64 = 0;
    let mut blocks = 0usize;
    loop {
        let offset = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| {
            let pos = reader.error_position() as usize;
            Error::malformed(org.at(pos), format!("malformed XML: {e}"))
        })?;
        match ev {
            Event::Start(e) => {
                let f = open(&org, &e, offset)?;
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(Error::Limit(format!(
                        "{}: more than {MAX_ELEMENTS} XML elements",
                        org.at(offset)
                    )));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(Error::Limit(format!(
                        "{}: elements nested more than {MAX_DEPTH} deep",
                        org.at(offset)
                    )));
                }
                text_buf.clear();
                if in_afe == 0 && f.name == "audioFormatExtended" {
                    in_afe = stack.len() + 1;
                    found_afe = true;
                    adm.version = f.attr("version").map(str::to_string);
                } else if in_afe > 0 {
                    start_element(&org, &f, &stack, &mut cur, common, &mut blocks)?;
                }
                stack.push(f);
            }
            Event::Empty(e) => {
                let f = open(&org, &e, offset)?;
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(Error::Limit(format!(
                        "{}: more than {MAX_ELEMENTS} XML elements",
                        org.at(offset)
                    )));
                }
                if in_afe > 0 {
                    start_element(&org, &f, &stack, &mut cur, common, &mut blocks)?;
                    text_buf.clear();
                    end_element(&org, &f, &stack, "", &mut cur, &mut adm, warnings)?;
                } else if f.name == "audioFormatExtended" {
                    found_afe = true;
                }
            }
            Event::End(_) => {
                let f = stack.pop().expect("quick-xml checks end names");
                if in_afe > 0 && stack.len() + 1 == in_afe {
                    in_afe = 0;
                } else if in_afe > 0 {
                    let t = std::mem::take(&mut text_buf);
                    end_element(&org, &f, &stack, t.trim(), &mut cur, &mut adm, warnings)?;
                }
                text_buf.clear();
            }
            Event::Text(t) if in_afe > 0 => text_buf.push_str(&t.xml10_content()),
            Event::CData(t) if in_afe > 0 => text_buf.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref().ok().flatten()
                } else {
                    match r.xml10_content().as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        _ => None,
                    }
                };
                match ch {
                    Some(c) => text_buf.push(c),
                    None => {
                        return Err(Error::malformed(
                            org.at(offset),
                            format!(
                                "entity reference '&{};' refused: only the five XML entities and character references are accepted",
                                r.xml10_content()
                            ),
                        ))
                    }
                }
            }
            Event::DocType(_) => {
                return Err(Error::malformed(
                    org.at(offset),
                    "a DOCTYPE (DTD or entity definitions) is refused in ADM XML: entities are not expanded",
                ))
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(Error::malformed(
            org.at(text.len()),
            format!(
                "malformed XML: the document ends inside <{}>",
                stack.last().unwrap().name
            ),
        ));
    }
    if !found_afe {
        return Err(Error::malformed(
            origin.to_string(),
            "no audioFormatExtended element: this XML is not ADM (BS.2076)",
        ));
    }
    adm.reindex();
    Ok(adm)
}

fn open(org: &Origin, e: &BytesStart, offset: usize) -> Result<Frame> {
    let name = e.local_name().as_ref().to_string();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| {
            Error::malformed(
                org.at(offset),
                format!("malformed attribute in <{name}>: {err}"),
            )
        })?;
        let key = a.key.local_name().as_ref().to_string();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|err| {
                Error::malformed(
                    org.at(offset),
                    format!("<{name}> attribute {key}: {err} (entities other than the five XML ones are refused)"),
                )
            })?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Frame {
        name,
        attrs,
        offset,
    })
}

fn req_id(org: &Origin, f: &Frame, key: &str) -> Result<String> {
    match f.attr(key) {
        Some(v) if !v.trim().is_empty() => Ok(canonical_id(v)),
        _ => Err(Error::malformed(
            org.at(f.offset),
            format!("<{}> has no {key} attribute", f.name),
        )),
    }
}

/// An importance: an integer 0-10.
fn importance(text: &str) -> Option<u8> {
    text.trim().parse::<u8>().ok().filter(|v| *v <= 10)
}

/// The `importance` attribute of an audioObject or audioPackFormat.
fn importance_attr(org: &Origin, f: &Frame, id: &str) -> Result<Option<u8>> {
    match f.attr("importance") {
        None => Ok(None),
        Some(v) => importance(v).map(Some).ok_or_else(|| {
            Error::malformed(
                org.at(f.offset),
                format!(
                    "{} {id}: importance '{v}': expected an integer from 0 to 10",
                    f.name
                ),
            )
        }),
    }
}

fn time_attr(org: &Origin, f: &Frame, key: &str, id: &str) -> Result<Option<Time>> {
    match f.attr(key) {
        None => Ok(None),
        Some(v) => Time::parse(v)
            .map(Some)
            .map_err(|m| Error::malformed(org.at(f.offset), format!("{} {id}: {key} {m}", f.name))),
    }
}

fn start_element(
    org: &Origin,
    f: &Frame,
    stack: &[Frame],
    cur: &mut Current,
    common: bool,
    blocks: &mut usize,
) -> Result<()> {
    let parent = stack.last().map(|p| p.name.as_str()).unwrap_or("");
    match f.name.as_str() {
        "audioProgramme" => {
            cur.programme = Some(Programme {
                id: req_id(org, f, "audioProgrammeID")?,
                name: f.attr("audioProgrammeName").unwrap_or("").to_string(),
                language: f.attr("audioProgrammeLanguage").map(str::to_string),
                ..Default::default()
            })
        }
        "audioContent" => {
            cur.content = Some(Content {
                id: req_id(org, f, "audioContentID")?,
                name: f.attr("audioContentName").unwrap_or("").to_string(),
                language: f.attr("audioContentLanguage").map(str::to_string),
                ..Default::default()
            })
        }
        "audioObject" => {
            let id = req_id(org, f, "audioObjectID")?;
            cur.object = Some(Object {
                start: time_attr(org, f, "start", &id)?,
                duration: time_attr(org, f, "duration", &id)?,
                name: f.attr("audioObjectName").unwrap_or("").to_string(),
                gain: 1.0,
                attributes: f.attrs.iter().map(|(k, _)| k.clone()).collect(),
                importance: importance_attr(org, f, &id)?,
                id,
                ..Default::default()
            })
        }
        "audioPackFormat" => {
            let id = req_id(org, f, "audioPackFormatID")?;
            cur.pack = Some(Pack {
                importance: importance_attr(org, f, &id)?,
                id,
                name: f.attr("audioPackFormatName").unwrap_or("").to_string(),
                type_def: TypeDef::parse(f.attr("typeDefinition"), f.attr("typeLabel")),
                channels: Vec::new(),
                packs: Vec::new(),
                common,
                hoa: Default::default(),
            })
        }
        "audioChannelFormat" => {
            cur.channel = Some(Channel {
                id: req_id(org, f, "audioChannelFormatID")?,
                name: f.attr("audioChannelFormatName").unwrap_or("").to_string(),
                type_def: TypeDef::parse(f.attr("typeDefinition"), f.attr("typeLabel")),
                blocks: Vec::new(),
                low_pass: None,
                high_pass: None,
                common,
            })
        }
        "audioBlockFormat" if parent == "audioChannelFormat" => {
            *blocks += 1;
            if *blocks > MAX_BLOCKS {
                return Err(Error::Limit(format!(
                    "{}: more than {MAX_BLOCKS} audioBlockFormats",
                    org.at(f.offset)
                )));
            }
            let id = req_id(org, f, "audioBlockFormatID")?;
            cur.block = Some(Block {
                rtime: time_attr(org, f, "rtime", &id)?,
                duration: time_attr(org, f, "duration", &id)?,
                ..Block::new(id, org.line(f.offset).0)
            })
        }
        "audioStreamFormat" => {
            cur.stream = Some(Stream {
                id: req_id(org, f, "audioStreamFormatID")?,
                ..Default::default()
            })
        }
        "audioTrackFormat" => {
            cur.track = Some(Track {
                id: req_id(org, f, "audioTrackFormatID")?,
                ..Default::default()
            })
        }
        "audioTrackUID" => {
            cur.uid = Some(TrackUid {
                id: req_id(org, f, "UID")?,
                ..Default::default()
            })
        }
        "audioProgrammeReferenceScreen" if cur.programme.is_some() => {
            cur.screen = Some(ScreenParts {
                aspect_ratio: num_attr(org, f, "aspectRatio")?.ok_or_else(|| {
                    Error::malformed(
                        org.at(f.offset),
                        "<audioProgrammeReferenceScreen> needs an aspectRatio",
                    )
                })?,
                ..Default::default()
            });
        }
        "screenCentrePosition" if parent == "audioProgrammeReferenceScreen" => {
            let get = |k: &str| num_attr(org, f, k);
            let centre = match (get("azimuth")?, get("elevation")?, get("X")?, get("Y")?, get("Z")?) {
                (Some(az), Some(el), None, None, None) => (true, [az, el, get("distance")?.unwrap_or(1.0)]),
                (None, None, Some(x), Some(y), Some(z)) => (false, [x, y, z]),
                _ => {
                    return Err(Error::malformed(
                        org.at(f.offset),
                        "<screenCentrePosition> needs azimuth and elevation (and optionally distance), or X, Y and Z",
                    ))
                }
            };
            if let Some(s) = cur.screen.as_mut() {
                s.centre = Some(centre);
            }
        }
        "screenWidth" if parent == "audioProgrammeReferenceScreen" => {
            let width = match (num_attr(org, f, "azimuth")?, num_attr(org, f, "X")?) {
                (Some(w), None) => (true, w),
                (None, Some(w)) => (false, w),
                _ => {
                    return Err(Error::malformed(
                        org.at(f.offset),
                        "<screenWidth> needs azimuth (polar) or X (Cartesian)",
                    ))
                }
            };
            if let Some(s) = cur.screen.as_mut() {
                s.width = Some(width);
            }
        }
        "loudnessMetadata" => {
            cur.loudness = Some(Loudness {
                method: f.attr("loudnessMethod").map(str::to_string),
                ..Default::default()
            })
        }
        _ => {}
    }
    Ok(())
}

/// The ID of the innermost element being built, for messages.
fn context_id(cur: &Current) -> String {
    if let Some(b) = &cur.block {
        return b.id.clone();
    }
    [
        cur.channel.as_ref().map(|x| &x.id),
        cur.object.as_ref().map(|x| &x.id),
        cur.pack.as_ref().map(|x| &x.id),
        cur.content.as_ref().map(|x| &x.id),
        cur.programme.as_ref().map(|x| &x.id),
        cur.stream.as_ref().map(|x| &x.id),
        cur.track.as_ref().map(|x| &x.id),
        cur.uid.as_ref().map(|x| &x.id),
    ]
    .into_iter()
    .flatten()
    .next()
    .cloned()
    .unwrap_or_default()
}

fn number(org: &Origin, f: &Frame, cur: &Current, text: &str) -> Result<f64> {
    let v: f64 = text.parse().map_err(|_| {
        Error::malformed(
            org.at(f.offset),
            format!(
                "{}: <{}> '{}' is not a number",
                context_id(cur),
                f.name,
                text
            ),
        )
    })?;
    if !v.is_finite() {
        return Err(Error::malformed(
            org.at(f.offset),
            format!(
                "{}: <{}> is {text}: expected a finite number",
                context_id(cur),
                f.name
            ),
        ));
    }
    Ok(v)
}

fn flag(org: &Origin, f: &Frame, cur: &Current, text: &str) -> Result<bool> {
    match text {
        "1" | "true" => Ok(true),
        "0" | "false" | "" => Ok(false),
        _ => Err(Error::malformed(
            org.at(f.offset),
            format!(
                "{}: <{}> '{text}': expected 0 or 1",
                context_id(cur),
                f.name
            ),
        )),
    }
}

/// A `zone` element of a zoneExclusion: polar (`minAzimuth`, `maxAzimuth`, `minElevation`,
/// `maxElevation`) or Cartesian (`minX` ... `maxZ`), every attribute of its kind present.
fn zone(org: &Origin, f: &Frame, cur: &Current) -> Result<crate::panner::zone::Zone> {
    use crate::panner::zone::Zone;
    let get = |k: &str| -> Result<f64> {
        let v = f.attr(k).ok_or_else(|| {
            Error::malformed(
                org.at(f.offset),
                format!("{}: <zone> has no {k}", context_id(cur)),
            )
        })?;
        match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(Error::malformed(
                org.at(f.offset),
                format!("{}: <zone> {k}='{v}' is not a number", context_id(cur)),
            )),
        }
    };
    if f.attr("minX").is_some() || f.attr("maxX").is_some() {
        Ok(Zone::Cartesian {
            min: [get("minX")?, get("minY")?, get("minZ")?],
            max: [get("maxX")?, get("maxY")?, get("maxZ")?],
        })
    } else {
        Ok(Zone::Polar {
            min_azimuth: get("minAzimuth")?,
            max_azimuth: get("maxAzimuth")?,
            min_elevation: get("minElevation")?,
            max_elevation: get("maxElevation")?,
        })
    }
}

/// A block's BS.2076-2 `headphoneVirtualise` element: `bypass` (0 or 1, default 0) and `DRR`
/// (dB, -130 to 130, default 130, as libadm reads it); a malformed value is an error naming the
/// block and the axml line.
fn headphone_virtualise(org: &Origin, f: &Frame, cur: &Current) -> Result<HeadphoneVirtualise> {
    let bad = |what: String| {
        Error::malformed(
            org.at(f.offset),
            format!("{}: <headphoneVirtualise> {what}", context_id(cur)),
        )
    };
    let bypass = match f.attr("bypass").map(str::trim) {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(v) => return Err(bad(format!("bypass '{v}': expected 0 or 1"))),
    };
    let drr_db = match f.attr("DRR") {
        None => DEFAULT_DRR_DB,
        Some(v) => match v.trim().parse::<f64>() {
            Ok(x) if DRR_RANGE_DB.contains(&x) => x,
            _ => {
                return Err(bad(format!(
                    "DRR '{v}': expected a direct-to-reverberant ratio in dB from {} to {}",
                    DRR_RANGE_DB.start(),
                    DRR_RANGE_DB.end()
                )))
            }
        },
    };
    Ok(HeadphoneVirtualise { bypass, drr_db })
}

/// A gain element's value, linear (`gainUnit="dB"` converted).
fn gain_value(org: &Origin, f: &Frame, cur: &Current, text: &str) -> Result<f64> {
    let v = number(org, f, cur, text)?;
    let g = match f.attr("gainUnit").map(str::trim) {
        None | Some("linear") => v,
        Some("dB") => 10f64.powf(v / 20.0),
        Some(u) => {
            return Err(Error::malformed(
                org.at(f.offset),
                format!("{}: gainUnit '{u}': expected linear or dB", context_id(cur)),
            ))
        }
    };
    if !(0.0..=1e6).contains(&g) {
        return Err(Error::malformed(
            org.at(f.offset),
            format!(
                "{}: gain {text} is out of range (expected a linear gain of 0 to 1e6, or dB)",
                context_id(cur)
            ),
        ));
    }
    Ok(g)
}

// The block is checked once and then re-borrowed mutably after the value helpers, which
// borrow `cur` immutably for their messages.
#[allow(
    clippy::too_many_arguments,
    clippy::unnecessary_unwrap,
    clippy::collapsible_match
)]
fn end_element(
    org: &Origin,
    f: &Frame,
    stack: &[Frame],
    text: &str,
    cur: &mut Current,
    adm: &mut Adm,
    warnings: &mut Warnings,
) -> Result<()> {
    let parent = stack.last().map(|p| p.name.as_str()).unwrap_or("");
    let name = f.name.as_str();
    let idref = || canonical_id(text);
    // Elements that close an ADM element.
    match name {
        "audioProgramme" => {
            if let Some(p) = cur.programme.take() {
                adm.programmes.push(p);
            }
            return Ok(());
        }
        "audioContent" => {
            if let Some(p) = cur.content.take() {
                adm.contents.push(p);
            }
            return Ok(());
        }
        "audioObject" => {
            if let Some(p) = cur.object.take() {
                adm.objects.push(p);
            }
            return Ok(());
        }
        "audioPackFormat" => {
            if let Some(p) = cur.pack.take() {
                adm.packs.push(p);
            }
            return Ok(());
        }
        "audioChannelFormat" => {
            if let Some(p) = cur.channel.take() {
                adm.channels.push(p);
            }
            return Ok(());
        }
        "audioBlockFormat" if parent == "audioChannelFormat" => {
            if let (Some(b), Some(c)) = (cur.block.take(), cur.channel.as_mut()) {
                c.blocks.push(b);
            }
            return Ok(());
        }
        "audioStreamFormat" => {
            if let Some(p) = cur.stream.take() {
                adm.streams.push(p);
            }
            return Ok(());
        }
        "audioTrackFormat" => {
            if let Some(p) = cur.track.take() {
                adm.tracks.push(p);
            }
            return Ok(());
        }
        "audioTrackUID" => {
            if let Some(p) = cur.uid.take() {
                adm.track_uids.push(p);
            }
            return Ok(());
        }
        "audioProgrammeReferenceScreen" => {
            use crate::panner::screen::Screen;
            if let Some(s) = cur.screen.take() {
                let screen = match (s.centre, s.width) {
                    (Some((true, [azimuth, elevation, distance])), Some((true, width_azimuth))) => Screen::Polar {
                        aspect_ratio: s.aspect_ratio,
                        azimuth,
                        elevation,
                        distance,
                        width_azimuth,
                    },
                    (Some((false, [x, y, z])), Some((false, width_x))) => Screen::Cartesian {
                        aspect_ratio: s.aspect_ratio,
                        x,
                        y,
                        z,
                        width_x,
                    },
                    _ => {
                        return Err(Error::malformed(
                            org.at(f.offset),
                            format!(
                                "{}: audioProgrammeReferenceScreen needs a screenCentrePosition and a screenWidth of the same form (both polar or both Cartesian)",
                                context_id(cur)
                            ),
                        ))
                    }
                };
                crate::panner::screen::Edges::of(&screen).map_err(|e| {
                    Error::malformed(
                        org.at(f.offset),
                        format!("{}: audioProgrammeReferenceScreen: {e}", context_id(cur)),
                    )
                })?;
                if let Some(p) = cur.programme.as_mut() {
                    p.reference_screen = Some(screen);
                }
            }
            return Ok(());
        }
        "loudnessMetadata" => {
            if let Some(l) = cur.loudness.take() {
                match parent {
                    "audioProgramme" => {
                        if let Some(p) = cur.programme.as_mut() {
                            p.loudness.push(l)
                        }
                    }
                    "audioContent" => {
                        if let Some(p) = cur.content.as_mut() {
                            p.loudness.push(l)
                        }
                    }
                    _ => {}
                }
            }
            return Ok(());
        }
        _ => {}
    }
    // Children of a loudnessMetadata.
    if parent == "loudnessMetadata" {
        if let Some(_l) = cur.loudness.as_ref() {
            let v = number(org, f, cur, text)?;
            let l = cur.loudness.as_mut().unwrap();
            match name {
                "integratedLoudness" => l.integrated = Some(v),
                "loudnessRange" => l.range = Some(v),
                "maxTruePeak" => l.max_true_peak = Some(v),
                "maxMomentary" => l.max_momentary = Some(v),
                "maxShortTerm" => l.max_short_term = Some(v),
                "dialogueLoudness" => l.dialogue = Some(v),
                _ => {}
            }
        }
        return Ok(());
    }
    // The zones of a block's zoneExclusion.
    if parent == "zoneExclusion" && name == "zone" && cur.block.is_some() {
        let z = zone(org, f, cur)?;
        cur.block.as_mut().unwrap().zones.push(z);
        return Ok(());
    }
    // Children of a block.
    if parent == "audioBlockFormat" && cur.block.is_some() {
        match name {
            "position" => {
                let v = number(org, f, cur, text)?;
                let b = cur.block.as_mut().unwrap();
                let which = f.attr("coordinate").map(str::trim);
                if let Some(lock) = f.attr("screenEdgeLock").map(str::trim) {
                    let el = &mut b.edge_lock;
                    match (which, lock) {
                        (Some("azimuth" | "X" | "x"), "left" | "right") => {
                            el.horizontal = Some(lock == "left")
                        }
                        (Some("elevation" | "Z" | "z"), "top" | "bottom") => {
                            el.vertical = Some(lock == "top")
                        }
                        _ => {
                            return Err(Error::malformed(
                                org.at(f.offset),
                                format!(
                                    "{}: screenEdgeLock=\"{lock}\" on coordinate {}: expected left or right on azimuth/X, top or bottom on elevation/Z",
                                    b.id,
                                    which.unwrap_or("(none)")
                                ),
                            ))
                        }
                    }
                }
                let coord = match which {
                    Some("azimuth") => &mut b.position.azimuth,
                    Some("elevation") => &mut b.position.elevation,
                    Some("distance") => &mut b.position.distance,
                    Some("X") | Some("x") => &mut b.position.x,
                    Some("Y") | Some("y") => &mut b.position.y,
                    Some("Z") | Some("z") => &mut b.position.z,
                    other => {
                        return Err(Error::malformed(
                            org.at(f.offset),
                            format!(
                                "{}: position coordinate {:?}: expected azimuth, elevation, distance, X, Y or Z",
                                b.id,
                                other.unwrap_or("(none)")
                            ),
                        ))
                    }
                };
                match f.attr("bound").map(str::trim) {
                    Some("min") => coord.min = Some(v),
                    Some("max") => coord.max = Some(v),
                    _ => coord.value = Some(v),
                }
            }
            "cartesian" => {
                let v = flag(org, f, cur, text)?;
                cur.block.as_mut().unwrap().cartesian = v;
            }
            "gain" => {
                let v = gain_value(org, f, cur, text)?;
                cur.block.as_mut().unwrap().gain = v;
            }
            "jumpPosition" => {
                let v = flag(org, f, cur, text)?;
                let id = context_id(cur);
                let il = time_attr(org, f, "interpolationLength", &id)?;
                let b = cur.block.as_mut().unwrap();
                b.jump = v;
                b.interpolation_length = il;
            }
            "speakerLabel" => {
                let b = cur.block.as_mut().unwrap();
                if !text.is_empty() {
                    b.speaker_labels.push(text.to_string());
                }
            }
            "width" | "height" | "depth" => {
                let v = number(org, f, cur, text)?;
                let b = cur.block.as_mut().unwrap();
                match name {
                    "width" => b.width = v,
                    "height" => b.height = v,
                    _ => b.depth = v,
                }
            }
            "diffuse" => {
                cur.block.as_mut().unwrap().diffuse = number(org, f, cur, text)?;
            }
            "importance" => {
                let v = importance(text).ok_or_else(|| {
                    Error::malformed(
                        org.at(f.offset),
                        format!(
                            "{}: <importance> '{text}': expected an integer from 0 to 10",
                            context_id(cur)
                        ),
                    )
                })?;
                cur.block.as_mut().unwrap().importance = v;
            }
            "objectDivergence" => {
                let v = number(org, f, cur, text)?;
                let range = |key: &str| f.attr(key).and_then(|r| r.trim().parse::<f64>().ok());
                cur.block.as_mut().unwrap().divergence = Some(Divergence {
                    value: v,
                    azimuth_range: range("azimuthRange"),
                    position_range: range("positionRange"),
                });
            }
            "channelLock" => {
                if flag(org, f, cur, text)? {
                    let max = f
                        .attr("maxDistance")
                        .and_then(|r| r.trim().parse::<f64>().ok());
                    cur.block.as_mut().unwrap().channel_lock = Some(max);
                }
            }
            "zoneExclusion" => {}
            "screenRef" => {
                let v = flag(org, f, cur, text)?;
                let b = cur.block.as_mut().unwrap();
                b.screen_ref = v;
                b.hoa.screen_ref = Some(v);
            }
            "order" | "degree" | "equation" | "normalization" => {
                let h = &mut cur.block.as_mut().unwrap().hoa;
                let v = Some(text.to_string());
                match name {
                    "order" => h.order = v,
                    "degree" => h.degree = v,
                    "equation" => h.equation = v,
                    _ => h.normalization = v,
                }
            }
            "nfcRefDist" => {
                let v = number(org, f, cur, text)?;
                cur.block.as_mut().unwrap().hoa.nfc_ref_dist = Some(v);
            }
            "headphoneVirtualise" => {
                let hv = headphone_virtualise(org, f, cur)?;
                cur.block.as_mut().unwrap().headphone = Some(hv);
            }
            "headLocked" => {
                let v = flag(org, f, cur, text)?;
                cur.block.as_mut().unwrap().head_locked = v;
            }
            _ => {}
        }
        return Ok(());
    }
    match (parent, name) {
        ("audioProgramme", "audioProgrammeLabel") => {
            if let Some(p) = cur.programme.as_mut() {
                p.labels.push(label(f, text))
            }
        }
        ("audioContent", "audioContentLabel") => {
            if let Some(p) = cur.content.as_mut() {
                p.labels.push(label(f, text))
            }
        }
        ("audioObject", "audioObjectLabel") => {
            if let Some(p) = cur.object.as_mut() {
                p.labels.push(label(f, text))
            }
        }
        ("audioObject", "audioComplementaryObjectGroupLabel") => {
            if let Some(p) = cur.object.as_mut() {
                p.group_labels.push(label(f, text))
            }
        }
        ("audioProgramme", "audioContentIDRef") => {
            if let Some(p) = cur.programme.as_mut() {
                p.contents.push(idref())
            }
        }
        ("audioContent", "audioObjectIDRef") => {
            if let Some(p) = cur.content.as_mut() {
                p.objects.push(idref())
            }
        }
        ("audioContent", "dialogue") => {
            let kind = match text {
                "0" => Dialogue::NonDialogue,
                "1" => Dialogue::Dialogue,
                "2" => Dialogue::Mixed,
                _ => {
                    return Err(Error::malformed(
                        org.at(f.offset),
                        format!(
                            "{}: <dialogue> '{text}': expected 0 (no dialogue), 1 (dialogue) or 2 (mixed)",
                            context_id(cur)
                        ),
                    ))
                }
            };
            let sub = [
                "nonDialogueContentKind",
                "dialogueContentKind",
                "mixedContentKind",
            ]
            .iter()
            .find_map(|k| f.attr(k))
            .and_then(|v| v.trim().parse().ok());
            if let Some(p) = cur.content.as_mut() {
                p.dialogue = Some((kind, sub));
            }
        }
        ("audioObject", "audioPackFormatIDRef") => {
            if let Some(p) = cur.object.as_mut() {
                p.packs.push(idref())
            }
        }
        ("audioObject", "audioObjectIDRef") => {
            if let Some(p) = cur.object.as_mut() {
                p.objects.push(idref())
            }
        }
        ("audioObject", "audioComplementaryObjectIDRef") => {
            if let Some(p) = cur.object.as_mut() {
                p.complementary.push(idref())
            }
        }
        ("audioObject", "audioTrackUIDRef") => {
            if let Some(p) = cur.object.as_mut() {
                p.track_uids.push(idref())
            }
        }
        ("audioObject", "gain") => {
            let v = gain_value(org, f, cur, text)?;
            if let Some(p) = cur.object.as_mut() {
                p.gain = v;
            }
        }
        ("audioObject", "mute") => {
            let v = flag(org, f, cur, text)?;
            if let Some(p) = cur.object.as_mut() {
                p.mute = v;
            }
        }
        ("audioObject", "headLocked") => {
            let v = flag(org, f, cur, text)?;
            if let Some(p) = cur.object.as_mut() {
                p.head_locked = Some(v);
                // Read, but rendering does not apply it yet.
                if !p.ignored.iter().any(|x| x == "headLocked") {
                    p.ignored.push("headLocked".to_string());
                }
            }
        }
        ("audioObject", other) => {
            if let Some(p) = cur.object.as_mut() {
                if !p.ignored.iter().any(|x| x == other) {
                    p.ignored.push(other.to_string());
                }
            }
        }
        ("audioPackFormat", "audioChannelFormatIDRef") => {
            if let Some(p) = cur.pack.as_mut() {
                p.channels.push(idref())
            }
        }
        ("audioPackFormat", "normalization") => {
            if let Some(p) = cur.pack.as_mut() {
                p.hoa.normalization = Some(text.to_string())
            }
        }
        ("audioPackFormat", "nfcRefDist") => {
            let v = number(org, f, cur, text)?;
            if let Some(p) = cur.pack.as_mut() {
                p.hoa.nfc_ref_dist = Some(v)
            }
        }
        ("audioPackFormat", "screenRef") => {
            let v = flag(org, f, cur, text)?;
            if let Some(p) = cur.pack.as_mut() {
                p.hoa.screen_ref = Some(v)
            }
        }
        ("audioPackFormat", "audioPackFormatIDRef") => {
            if let Some(p) = cur.pack.as_mut() {
                p.packs.push(idref())
            }
        }
        ("audioChannelFormat", "frequency") => {
            let v = number(org, f, cur, text)?;
            if let Some(c) = cur.channel.as_mut() {
                match f.attr("typeDefinition").map(str::trim) {
                    Some("lowPass") => c.low_pass = Some(v),
                    Some("highPass") => c.high_pass = Some(v),
                    other => warnings.add(
                        &c.id,
                        "frequency",
                        format!(
                            "{}: frequency element with typeDefinition {:?} ignored (expected lowPass or highPass)",
                            c.id,
                            other.unwrap_or("(none)")
                        ),
                    ),
                }
            }
        }
        ("audioStreamFormat", "audioChannelFormatIDRef") => {
            if let Some(p) = cur.stream.as_mut() {
                p.channel = Some(idref())
            }
        }
        ("audioStreamFormat", "audioPackFormatIDRef") => {
            if let Some(p) = cur.stream.as_mut() {
                p.pack = Some(idref())
            }
        }
        ("audioTrackFormat", "audioStreamFormatIDRef") => {
            if let Some(p) = cur.track.as_mut() {
                p.stream = Some(idref())
            }
        }
        ("audioTrackUID", "audioTrackFormatIDRef") => {
            if let Some(p) = cur.uid.as_mut() {
                p.track_format = Some(idref());
                p.refs.track_formats += 1;
            }
        }
        ("audioTrackUID", "audioChannelFormatIDRef") => {
            if let Some(p) = cur.uid.as_mut() {
                // BS.2076-2 chna style `AC_xxxxxxxx_00` is accepted here too.
                let id = idref();
                let id = match id.get(..11) {
                    Some(base) if id.starts_with("AC_") && id.len() == 14 => base.to_string(),
                    _ => id,
                };
                p.channel_format = Some(id);
                p.refs.channel_formats += 1;
            }
        }
        ("audioTrackUID", "audioPackFormatIDRef") => {
            if let Some(p) = cur.uid.as_mut() {
                p.pack = Some(idref());
                p.refs.packs += 1;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A label element: its text and `language` attribute.
fn label(f: &Frame, text: &str) -> Label {
    Label {
        value: text.to_string(),
        language: f.attr("language").map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ebuCoreMain xmlns="urn:ebu:metadata-schema:ebuCore_2014"><coreMetadata><format>
<audioFormatExtended version="ITU-R_BS.2076-2">{body}</audioFormatExtended>
</format></coreMetadata></ebuCoreMain>"#
        )
    }

    #[test]
    fn parses_objects_and_blocks() {
        let x = doc(
            r#"<audioObject audioObjectID="AO_100b" audioObjectName="Dx" start="00:00:01.00000">
  <audioPackFormatIDRef>AP_00031001</audioPackFormatIDRef><audioTrackUIDRef>ATU_00000001</audioTrackUIDRef>
  <gain gainUnit="dB">-6</gain></audioObject>
<audioChannelFormat audioChannelFormatID="AC_00031001" audioChannelFormatName="Dx" typeDefinition="Objects">
  <audioBlockFormat audioBlockFormatID="AB_00031001_00000001" rtime="00:00:00.00000" duration="00:00:00.5S48000">
    <cartesian>1</cartesian><position coordinate="X">-0.5</position><position coordinate="Y">1</position>
    <position coordinate="Z">0</position><jumpPosition interpolationLength="0.01">1</jumpPosition><width>10</width>
  </audioBlockFormat></audioChannelFormat>"#,
        );
        let mut w = Warnings::default();
        let adm = parse(&x, "t.wav", false, &mut w).unwrap();
        let o = adm.object("AO_100B").unwrap();
        assert_eq!(o.name, "Dx");
        assert!((o.gain - 0.501187).abs() < 1e-5);
        assert_eq!(o.start, Some(Time::seconds(1)));
        let c = adm.channel("AC_00031001").unwrap();
        let b = &c.blocks[0];
        assert!(b.cartesian && b.jump);
        assert_eq!(b.position.x.value, Some(-0.5));
        assert_eq!(b.interpolation_length, Some(Time::new(1, 100)));
        assert_eq!(b.duration, Some(Time::new(5, 48000)));
        assert_eq!(b.width, 10.0);
    }

    #[test]
    fn parses_bs2127_object_parameters() {
        let x = doc(
            r#"<audioChannelFormat audioChannelFormatID="AC_00031001" audioChannelFormatName="o" typeDefinition="Objects">
  <audioBlockFormat audioBlockFormatID="AB_00031001_00000001">
    <position coordinate="azimuth">10</position><position coordinate="elevation">0</position>
    <width>30</width><height>12.5</height><depth>0.25</depth>
    <channelLock maxDistance="0.5">1</channelLock><objectDivergence azimuthRange="30">0.4</objectDivergence>
    <zoneExclusion><zone minAzimuth="-5" maxAzimuth="5" minElevation="-10" maxElevation="10">centre</zone>
      <zone minX="-1" maxX="1" minY="-1" maxY="0" minZ="0.5" maxZ="1">back top</zone></zoneExclusion>
  </audioBlockFormat></audioChannelFormat>"#,
        );
        let mut w = Warnings::default();
        let adm = parse(&x, "t.wav", false, &mut w).unwrap();
        let b = &adm.channel("AC_00031001").unwrap().blocks[0];
        assert_eq!((b.width, b.height, b.depth), (30.0, 12.5, 0.25));
        assert_eq!(b.channel_lock, Some(Some(0.5)));
        assert_eq!(b.divergence.unwrap().azimuth_range, Some(30.0));
        assert_eq!(b.zones.len(), 2);
        assert!(
            matches!(b.zones[1], crate::panner::zone::Zone::Cartesian { min, .. } if min == [-1.0, -1.0, 0.5])
        );
        // A zone without its coordinates is an error naming the block.
        let bad = x.replace(r#" maxElevation="10""#, "");
        let e = parse(&bad, "t.wav", false, &mut w).unwrap_err().to_string();
        assert!(
            e.contains("maxElevation") && e.contains("AB_00031001_00000001"),
            "{e}"
        );
    }

    #[test]
    fn parses_headphone_virtualise_and_head_locked() {
        let x = doc(
            r#"<audioObject audioObjectID="AO_1001" audioObjectName="vo"><headLocked>1</headLocked></audioObject>
<audioChannelFormat audioChannelFormatID="AC_00031001" audioChannelFormatName="o" typeDefinition="Objects">
  <audioBlockFormat audioBlockFormatID="AB_00031001_00000001" rtime="00:00:00.00000" duration="00:00:00.50000">
    <position coordinate="azimuth">0</position><position coordinate="elevation">0</position>
    <headphoneVirtualise bypass="1"/><headLocked>1</headLocked></audioBlockFormat>
  <audioBlockFormat audioBlockFormatID="AB_00031001_00000002" rtime="00:00:00.50000" duration="00:00:00.50000">
    <position coordinate="azimuth">0</position><position coordinate="elevation">0</position>
    <headphoneVirtualise bypass="0" DRR="12.5"></headphoneVirtualise></audioBlockFormat>
  <audioBlockFormat audioBlockFormatID="AB_00031001_00000003" rtime="00:00:01.00000" duration="00:00:00.50000">
    <position coordinate="azimuth">0</position><position coordinate="elevation">0</position>
    <headphoneVirtualise/><headLocked>0</headLocked></audioBlockFormat>
  <audioBlockFormat audioBlockFormatID="AB_00031001_00000004" rtime="00:00:01.50000" duration="00:00:00.50000">
    <position coordinate="azimuth">0</position><position coordinate="elevation">0</position>
  </audioBlockFormat></audioChannelFormat>
<audioChannelFormat audioChannelFormatID="AC_00011001" audioChannelFormatName="L" typeDefinition="DirectSpeakers">
  <audioBlockFormat audioBlockFormatID="AB_00011001_00000001"><speakerLabel>M+030</speakerLabel>
    <position coordinate="azimuth">30</position><position coordinate="elevation">0</position>
    <headphoneVirtualise DRR="-3"/></audioBlockFormat></audioChannelFormat>"#,
        );
        let mut w = Warnings::default();
        let adm = parse(&x, "t.wav", false, &mut w).unwrap();
        let o = adm.object("AO_1001").unwrap();
        assert_eq!(o.head_locked, Some(true));
        assert!(o.ignored.iter().any(|e| e == "headLocked"));
        let b = &adm.channel("AC_00031001").unwrap().blocks;
        let hv = |i: usize| b[i].headphone;
        assert_eq!(
            hv(0),
            Some(HeadphoneVirtualise {
                bypass: true,
                drr_db: DEFAULT_DRR_DB
            })
        );
        assert_eq!(hv(0).unwrap().mode(), Some(BinauralMode::Off));
        assert_eq!(
            hv(1),
            Some(HeadphoneVirtualise {
                bypass: false,
                drr_db: 12.5
            })
        );
        assert_eq!(hv(1).unwrap().mode(), None);
        assert_eq!(
            hv(2),
            Some(HeadphoneVirtualise {
                bypass: false,
                drr_db: 130.0
            })
        );
        assert_eq!(hv(3), None);
        let locked: Vec<bool> = b.iter().map(|b| b.head_locked).collect();
        assert_eq!(locked, [true, false, false, false]);
        let ds = &adm.channel("AC_00011001").unwrap().blocks[0];
        assert_eq!(
            ds.headphone.map(|h| (h.bypass, h.drr_db)),
            Some((false, -3.0))
        );

        // Malformed values are errors naming the element, the block and the axml line.
        for (from, to, what) in [
            (r#"bypass="1"/>"#, r#"bypass="yes"/>"#, "bypass 'yes'"),
            (r#"DRR="12.5""#, r#"DRR="loud""#, "DRR 'loud'"),
            (r#"DRR="12.5""#, r#"DRR="200""#, "DRR '200'"),
            (r#"DRR="12.5""#, r#"DRR="NaN""#, "DRR 'NaN'"),
            (
                "<headLocked>0</headLocked>",
                "<headLocked>2</headLocked>",
                "'2'",
            ),
        ] {
            let bad = x.replacen(from, to, 1);
            assert_ne!(bad, x);
            let e = parse(&bad, "t.wav", false, &mut w).unwrap_err().to_string();
            let line = bad
                .lines()
                .position(|l| l.contains(to))
                .map(|i| i + 1)
                .unwrap();
            assert!(
                e.contains(what)
                    && e.contains("AB_00031001_0000000")
                    && e.contains(&format!("axml line {line},")),
                "{e}"
            );
            assert!(
                e.contains("headphoneVirtualise") || e.contains("headLocked"),
                "{e}"
            );
        }
    }

    #[test]
    fn refuses_doctype_entities_and_bad_numbers() {
        let mut w = Warnings::default();
        let x = format!(
            "<!DOCTYPE x [<!ENTITY a \"b\">]>{}",
            doc("<audioProgramme audioProgrammeID=\"APR_1001\"/>")
        );
        let e = parse(&x, "t", false, &mut w).unwrap_err().to_string();
        assert!(e.contains("DOCTYPE"), "{e}");
        let x = doc(
            r#"<audioChannelFormat audioChannelFormatID="AC_00031001"><audioBlockFormat audioBlockFormatID="AB_00031001_00000001"><position coordinate="azimuth">NaN</position></audioBlockFormat></audioChannelFormat>"#,
        );
        let e = parse(&x, "t", false, &mut w).unwrap_err().to_string();
        assert!(
            e.contains("AB_00031001_00000001") && e.contains("finite"),
            "{e}"
        );
        let x = doc("<audioProgramme audioProgrammeID=\"APR_1001\" audioProgrammeName=\"&foo;\"/>");
        assert!(parse(&x, "t", false, &mut w).is_err());
        let e = parse("<a><b></a>", "t", false, &mut w)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = parse("<a/>", "t", false, &mut w).unwrap_err().to_string();
        assert!(e.contains("audioFormatExtended"), "{e}");
    }

    #[test]
    fn deep_nesting_is_a_limit() {
        let mut w = Warnings::default();
        let x = "<a>".repeat(100) + &"</a>".repeat(100);
        let e = parse(&x, "t", false, &mut w).unwrap_err().to_string();
        assert!(e.contains("nested"), "{e}");
    }
}
