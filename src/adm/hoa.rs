//! ADM HOA (scene-based, typeDefinition `0004`) rendering items, as BS.2127 and the EBU ADM
//! Renderer (`ear/core/select_items`) form them: one item per audioObject and root
//! audioPackFormat, holding every channel of the pack with its track, and one set of
//! parameters shared by all of them:
//!
//! - each audioChannelFormat has exactly one audioBlockFormat, which gives its `order` and
//!   `degree` (an `equation` has no defined format and is refused);
//! - `normalization` (default SN3D), `nfcRefDist` and `screenRef` may be given on the blocks
//!   or on the packs on the way down to them; every value given must agree;
//! - `rtime` and `duration` must be the same on every block; with the object's start and
//!   duration they give when the item plays.
//!
//! `nfcRefDist` (near-field compensation) and `screenRef` are read and ignored, as the
//! reference renderer (ear 2.1.0) ignores them: a warning says so when they are set.

use super::model::*;
use super::select::{AdmMaster, Item};
use super::Warnings;
use crate::error::{Error, Result};
use crate::panner::allrad::HoaFormat;
use crate::panner::hoa::Normalization;
use crate::time::Time;

/// One HOA rendering item: the tracks of a pack, in the pack's channel order as the object
/// lists them, decoded together.
#[derive(Debug, Clone)]
pub struct HoaItem {
    /// The audioObject (None in a chna-only file).
    pub object: Option<String>,
    /// The audioContent it belongs to.
    pub content: Option<String>,
    /// The root audioPackFormat.
    pub pack: String,
    /// 0-based tracks of the file, one per channel.
    pub tracks: Vec<usize>,
    /// The audioChannelFormats, one per channel.
    pub channels: Vec<String>,
    /// The order and degree of each channel, and the normalisation.
    pub format: HoaFormat,
    /// Linear gain: the object path's gain times the blocks' gain.
    pub gain: f64,
    /// When it starts (programme time).
    pub start: Time,
    /// When it ends (None: with the programme).
    pub end: Option<Time>,
}

/// One parameter that may be given in several places, all of which must agree.
fn agree<T: PartialEq + Clone + std::fmt::Debug>(
    values: impl IntoIterator<Item = (T, String)>,
    what: &str,
    at: &dyn Fn() -> String,
) -> Result<Option<T>> {
    let mut found: Option<(T, String)> = None;
    for (v, place) in values {
        match &found {
            None => found = Some((v, place)),
            Some((f, fplace)) if *f != v => {
                return Err(Error::malformed(
                    at(),
                    format!(
                        "{what} is {f:?} in {fplace} but {v:?} in {place}: an HOA item's channels must share it"
                    ),
                ))
            }
            _ => {}
        }
    }
    Ok(found.map(|x| x.0))
}

/// Forms the HOA items of a master from its per-track items of type HOA, checking every
/// parameter. Errors name the object, the pack and the block (with its axml line).
pub fn hoa_items(m: &AdmMaster, warnings: &mut Warnings) -> Result<Vec<HoaItem>> {
    let origin = m.path.display().to_string();
    let adm = &m.adm;
    // Group the HOA tracks by (object, root pack), in order of first appearance.
    type Key = (Option<String>, String);
    let mut groups: Vec<(Key, Vec<&Item>)> = Vec::new();
    for it in m.items.iter().filter(|i| i.type_def == TypeDef::Hoa) {
        let root = it
            .packs
            .first()
            .cloned()
            .unwrap_or_else(|| it.channel.clone());
        let key = (it.object.clone(), root);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(it),
            None => groups.push((key, vec![it])),
        }
    }
    let mut out = Vec::new();
    for ((object, pack), items) in groups {
        let obj = object.as_deref().and_then(|o| adm.object(o));
        let who = match obj {
            Some(o) if !o.name.is_empty() => format!("{} ('{}'), pack {pack}", o.id, o.name),
            Some(o) => format!("{}, pack {pack}", o.id),
            None => format!("pack {pack}"),
        };
        let at_file = || origin.clone();
        // Every channel of the pack must be played by a track of the object.
        if let Some(p) = adm.pack(&pack) {
            let mut all = Vec::new();
            pack_channels(adm, p, &mut all, 0);
            let silent = obj.is_some_and(|o| o.track_uids.iter().any(|u| u == SILENT_TRACK));
            if !silent {
                if let Some(c) = all.iter().find(|c| !items.iter().any(|i| &i.channel == *c)) {
                    return Err(Error::malformed(
                        at_file(),
                        format!("{who}: HOA channel {c} of the pack has no track in the object (an HOA item needs every channel of its pack)"),
                    ));
                }
            }
        }
        let mut components = Vec::new();
        let mut norms = Vec::new();
        let mut nfcs = Vec::new();
        let mut screens = Vec::new();
        let mut times = Vec::new();
        let mut gains = Vec::new();
        for it in &items {
            let ch = adm.channel(&it.channel).expect("checked");
            let b = match ch.blocks.as_slice() {
                [b] => b,
                [] => {
                    return Err(Error::malformed(
                        at_file(),
                        format!("{who}: HOA audioChannelFormat {} has no audioBlockFormat (it needs one, with order and degree)", ch.id),
                    ))
                }
                [_, b, ..] => {
                    return Err(Error::malformed(
                        format!("{origin} (axml line {})", b.line),
                        format!("{who}: HOA audioChannelFormat {} has {} audioBlockFormats; BS.2127 renders HOA channels with exactly one", ch.id, ch.blocks.len()),
                    ))
                }
            };
            let at = || format!("{origin} (axml line {})", b.line);
            if b.hoa.equation.is_some() {
                return Err(Error::Unsupported(format!(
                    "{}: {who}: HOA block {} has an 'equation', which overrides order and degree but has no defined format",
                    at(),
                    b.id
                )));
            }
            let int = |v: &Option<String>, what: &str| -> Result<i64> {
                let t = v.as_deref().ok_or_else(|| {
                    Error::malformed(at(), format!("{who}: HOA block {} has no {what}", b.id))
                })?;
                t.trim().parse::<i64>().map_err(|_| {
                    Error::malformed(
                        at(),
                        format!("{who}: HOA block {}: {what} '{t}' is not an integer", b.id),
                    )
                })
            };
            let order = int(&b.hoa.order, "order")?;
            let degree = int(&b.hoa.degree, "degree")?;
            if !(0..=crate::panner::allrad::MAX_ORDER as i64).contains(&order) {
                return Err(Error::malformed(
                    at(),
                    format!(
                        "{who}: HOA block {}: order {order} is outside 0..{}",
                        b.id,
                        crate::panner::allrad::MAX_ORDER
                    ),
                ));
            }
            if degree.abs() > order {
                return Err(Error::malformed(
                    at(),
                    format!(
                        "{who}: HOA block {}: degree {degree} is outside -{order}..{order} for order {order}",
                        b.id
                    ),
                ));
            }
            if let Some(k) = components
                .iter()
                .position(|&c| c == (order as u32, degree as i32))
            {
                return Err(Error::malformed(
                    at(),
                    format!(
                        "{who}: HOA block {}: order {order} degree {degree} is also the order and degree of {} (each HOA channel of an item must be distinct)",
                        b.id, items[k].channel
                    ),
                ));
            }
            components.push((order as u32, degree as i32));
            // Parameters on the block and on the packs on its path.
            let path: Vec<&Pack> = it.packs.iter().filter_map(|p| adm.pack(p)).collect();
            let place = |p: &Pack| format!("audioPackFormat {}", p.id);
            let bplace = format!("block {} (axml line {})", b.id, b.line);
            for (v, pl) in path
                .iter()
                .filter_map(|p| p.hoa.normalization.clone().map(|v| (v, place(p))))
                .chain(b.hoa.normalization.clone().map(|v| (v, bplace.clone())))
            {
                let n = Normalization::parse(&v).ok_or_else(|| {
                    Error::malformed(
                        at(),
                        format!("{who}: {pl}: normalization '{v}' is not SN3D, N3D or FuMa"),
                    )
                })?;
                norms.push((n, pl));
            }
            nfcs.extend(
                path.iter()
                    .filter_map(|p| p.hoa.nfc_ref_dist.map(|v| (v, place(p))))
                    .chain(b.hoa.nfc_ref_dist.map(|v| (v, bplace.clone()))),
            );
            screens.extend(
                path.iter()
                    .filter_map(|p| p.hoa.screen_ref.map(|v| (v, place(p))))
                    .chain(b.hoa.screen_ref.map(|v| (v, bplace.clone()))),
            );
            times.push(((b.rtime, b.duration), bplace.clone()));
            gains.push((b.gain, bplace));
        }
        let at_first = {
            let line = items
                .first()
                .and_then(|i| adm.channel(&i.channel))
                .and_then(|c| c.blocks.first())
                .map(|b| b.line)
                .unwrap_or(0);
            let o = origin.clone();
            move || format!("{o} (axml line {line})")
        };
        let normalization =
            agree(norms, &format!("{who}: normalization"), &at_first)?.unwrap_or_default();
        if let Some(d) = agree(nfcs, &format!("{who}: nfcRefDist"), &at_first)? {
            if d != 0.0 {
                warnings.add(&pack, "hoa-nfc", format!(
                    "{origin}: {who}: nfcRefDist {d} is ignored (no near-field compensation, as the EBU ADM Renderer)"
                ));
            }
        }
        if agree(screens, &format!("{who}: screenRef"), &at_first)? == Some(true) {
            warnings.add(
                &pack,
                "hoa-screen",
                format!("{origin}: {who}: screenRef is ignored for HOA (as the EBU ADM Renderer)"),
            );
        }
        let (rtime, duration) =
            agree(times, &format!("{who}: rtime and duration"), &at_first)?.unwrap_or((None, None));
        let block_gain = agree(gains, &format!("{who}: gain"), &at_first)?.unwrap_or(1.0);
        let format = HoaFormat {
            components,
            normalization,
        };
        format
            .check()
            .map_err(|e| Error::malformed(at_first(), format!("{who}: {e}")))?;
        let first = items[0];
        let obj_start = first.start.unwrap_or(Time::ZERO);
        let obj_end = first.duration.map(|d| obj_start.add(d));
        let (start, end) = match (rtime, duration) {
            (Some(r), Some(d)) => {
                let s = obj_start.add(r);
                let e = s.add(d);
                (s, Some(obj_end.map_or(e, |oe| if e > oe { oe } else { e })))
            }
            (None, None) => (obj_start, obj_end),
            _ => {
                return Err(Error::malformed(
                    at_first(),
                    format!("{who}: rtime and duration must be given together on HOA blocks"),
                ))
            }
        };
        out.push(HoaItem {
            object: object.clone(),
            content: first.content.clone(),
            pack,
            tracks: items.iter().map(|i| i.track.expect("mapped")).collect(),
            channels: items.iter().map(|i| i.channel.clone()).collect(),
            format,
            gain: first.gain * block_gain,
            start,
            end,
        });
    }
    Ok(out)
}

/// Every audioChannelFormat of a pack, nested packs included.
fn pack_channels(adm: &Adm, p: &Pack, out: &mut Vec<String>, depth: usize) {
    if depth > super::select::MAX_NESTING {
        return;
    }
    for sub in &p.packs {
        if let Some(s) = adm.pack(sub) {
            pack_channels(adm, s, out, depth + 1);
        }
    }
    for c in &p.channels {
        if !out.contains(c) {
            out.push(c.clone());
        }
    }
}
