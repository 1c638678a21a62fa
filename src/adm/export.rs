//! `adm export`: a RON scene written as an ADM BWF master (EBU Tech 3392 production profile:
//! BS.2076-1 structures, polar object blocks, BS.2094 common definitions for beds where one
//! exists), so that BS.2127 renderers (the EBU ADM Renderer, the EAR Production Suite) and
//! DAWs can take the mix on.
//!
//! What becomes what:
//! - each object: one mono track (its source with its EQ; ADM has no EQ) and one Objects
//!   pack and channel whose audioBlockFormats follow the scene's path: a block boundary at
//!   every keyframe and wherever the direction would otherwise turn more than
//!   [`MAX_TURN_DEG`] or the gain change more than [`MAX_FADE_DB`] within a block, so that
//!   BS.2127's linear ramp over each block follows the scene (the renderer's own rule).
//!   Gain and gain automation (with the scene's master gain) are the blocks' `gain`. A
//!   `Step` keyframe becomes a block ending at the step with the old value and a one-tick
//!   block with `jumpPosition` starting at it. An object's parameters beyond a point (width,
//!   height, depth, diffuse, divergence, channel lock, zone exclusion, screen reference) are
//!   written into every block at the block's time, their keyframes are boundaries too, and a
//!   block is split where they would change more than the renderer's control-point limits
//!   (EBU profile only: the Dolby profile refuses them);
//! - block boundaries lie on an exact decimal grid of [`GRID_HZ`] ticks per second
//!   (0.000125 s, six samples at 48 kHz), and each block's duration is exactly the next
//!   block's rtime minus its own, so renderers read the blocks as continuous;
//! - each object's LFE send: summed, per group, into one LFE DirectSpeakers track (its send
//!   low-passed as the renderer does, with the object's gains);
//! - each bed: one track per channel (its EQ and gain automation applied to the audio) and
//!   a DirectSpeakers pack: the BS.2094 common definition with the same speakers where one
//!   exists (stereo, 5.1, 7.1, 7.1.4, 22.2, ...), a custom pack otherwise (9.1.6 has none);
//! - each group: an audioContent, marked as dialogue (`dialogue` 1) when the group is
//!   called `dialogue` (or `dialog...`, `dx`), as music or effects content otherwise.
//!
//! The file is RIFF with `bext`, `chna` and `axml` before `data` (BW64 with `ds64` past
//! 4 GiB), written to a temporary file renamed at the end.

use std::fmt::Write as _;
use std::path::Path;

use super::model::Adm;
use crate::error::{Error, Result};
use crate::geometry;
use crate::io::{SampleFormat, WavWriter};
use crate::layout::Layout;
use crate::render::{Origin, RenderOptions, Renderer};
use crate::scene::{self, db_to_gain, group_name, Interp, Scene};

/// Block boundaries of the EBU profile are multiples of 1 / GRID_HZ seconds (written with six
/// decimals).
pub const GRID_HZ: i64 = 8000;

/// Block boundaries of the Dolby profile, whose times have five decimals: multiples of
/// 1 / DOLBY_GRID_HZ seconds (0.0005 s, 24 samples at 48 kHz).
pub const DOLBY_GRID_HZ: i64 = 2000;

/// Dolby's interpolationLength for blocks after the first, in samples (at 48 kHz).
pub const DOLBY_INTERPOLATION_SAMPLES: u32 = 250;

/// Most Objects audioObjects and tracks the Dolby profile allows.
pub const DOLBY_MAX_OBJECTS: usize = 118;
/// Most tracks the Dolby profile allows.
pub const DOLBY_MAX_TRACKS: usize = 128;

/// The metadata profile an export follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// EBU Tech 3392 production profile (BS.2076-1, polar blocks, common definitions).
    #[default]
    Ebu,
    /// The Dolby Atmos Master ADM profile (as far as it is public).
    Dolby,
}

impl Profile {
    fn grid(self) -> i64 {
        match self {
            Profile::Ebu => GRID_HZ,
            Profile::Dolby => DOLBY_GRID_HZ,
        }
    }
}

/// Largest change of direction within one exported block, in degrees.
pub const MAX_TURN_DEG: f64 = 0.5;

/// Largest change of gain within one exported block, in dB.
pub const MAX_FADE_DB: f64 = 0.25;

/// What to write.
#[derive(Debug, Clone, Copy)]
pub struct ExportOptions {
    /// Sample format of the tracks (24-bit PCM or 32-bit float).
    pub format: SampleFormat,
    /// The metadata profile.
    pub profile: Profile,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            format: SampleFormat::S24,
            profile: Profile::Ebu,
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportSummary {
    /// audioObjects written (objects, beds and LFE tracks).
    pub objects: usize,
    /// Tracks in the file.
    pub tracks: usize,
    /// audioBlockFormats of the objects.
    pub blocks: usize,
    /// Frames of audio.
    pub frames: u64,
    /// Samples clipped by 24-bit output, over all tracks.
    pub clipped: u64,
}

/// One planned object block: [start, end) in grid ticks, with its target.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedBlock {
    /// Start tick.
    pub start: i64,
    /// End tick.
    pub end: i64,
    /// Azimuth in degrees (ADM: positive to the left).
    pub azimuth: f64,
    /// Elevation in degrees.
    pub elevation: f64,
    /// Linear gain.
    pub gain: f64,
    /// `jumpPosition` 1 with interpolationLength 0: the block starts at its own gains.
    pub jump: bool,
    /// A Cartesian position to write instead of converting azimuth and elevation (a Dolby
    /// bed speaker exported as an object, at its allocentric position).
    pub xyz: Option<[f64; 3]>,
    /// The object's BS.2127 parameters beyond a point at the block's time (width, height,
    /// depth, objectDivergence, channelLock, zoneExclusion, diffuse, screenRef); None for a
    /// point source.
    pub params: Option<Box<scene::ObjectParams>>,
}

/// The blocks of an object lasting `end` ticks, with `extra_db` (object and master gain)
/// added to its automation.
/// Ticks are 1 / `grid` seconds.
pub fn plan_object(ob: &scene::Object, extra_db: f64, end: i64, grid: i64) -> Vec<PlannedBlock> {
    let tick = |t: f64| ((t * grid as f64).round() as i64).clamp(0, end);
    let secs = |k: i64| k as f64 / grid as f64;
    let mut steps: Vec<i64> = Vec::new();
    let mut cuts: Vec<i64> = vec![0, end];
    let pos_steps = ob
        .position
        .iter()
        .skip(1)
        .filter(|k| k.interp == Interp::Step);
    let gain_steps = ob.gain.iter().skip(1).filter(|k| k.interp == Interp::Step);
    let params = ob.param_automation();
    // Keyframes of the numeric parameters: (time, interp) of each.
    let param_keys: Vec<(f64, Interp)> = ob
        .width
        .iter()
        .chain(&ob.height)
        .chain(&ob.depth)
        .chain(&ob.diffuse)
        .map(|k| (k.time, k.interp))
        .chain(ob.divergence.iter().map(|k| (k.time, k.interp)))
        .collect();
    let param_steps = [&ob.width, &ob.height, &ob.depth, &ob.diffuse]
        .into_iter()
        .flat_map(|v| {
            v.iter()
                .skip(1)
                .filter(|k| k.interp == Interp::Step)
                .map(|k| k.time)
        })
        .chain(
            ob.divergence
                .iter()
                .skip(1)
                .filter(|k| k.interp == Interp::Step)
                .map(|k| k.time),
        );
    for t in pos_steps
        .map(|k| k.time)
        .chain(gain_steps.map(|k| k.time))
        .chain(param_steps)
    {
        let k = tick(t);
        if k > 0 && k < end {
            steps.push(k);
        }
    }
    steps.sort_unstable();
    steps.dedup();
    for k in ob
        .position
        .iter()
        .map(|k| k.time)
        .chain(ob.gain.iter().map(|k| k.time))
        .chain(param_keys.iter().map(|k| k.0))
    {
        cuts.push(tick(k));
    }
    // The first block is one tick long and holds the start (BS.2127 does not ramp into a
    // first block); every step gets a one-tick jump block.
    cuts.push(1.min(end));
    for &s in &steps {
        cuts.push(s);
        cuts.push((s + 1).min(end));
    }
    cuts.sort_unstable();
    cuts.dedup();
    let is_step = |k: i64| steps.binary_search(&k).is_ok();
    // The value a block ending at tick k ramps to: just before k when k is a step.
    let value_at = |k: i64, before: bool| {
        let t = if before {
            secs(k) - 0.25 / grid as f64
        } else {
            secs(k)
        };
        let d = scene::position_at(&ob.position, t);
        let db = scene::gain_db_at(&ob.gain, t) + extra_db;
        (d, db)
    };
    let mut bounds = vec![cuts[0]];
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b - a <= 1 || is_step(a) && b == a + 1 {
            bounds.push(b);
            continue;
        }
        // Measure the path (and the fade, and the parameters' change) over 32 sub-steps, then
        // split evenly.
        let (mut turn, mut fade, mut change) = (0.0, 0.0, 0.0);
        let mut last = value_at(a, false);
        let mut last_t = secs(a);
        for j in 1..=32 {
            let t = a as f64 + (b - a) as f64 * j as f64 / 32.0;
            let t = if j == 32 && is_step(b) {
                secs(b) - 0.25 / grid as f64
            } else {
                t / grid as f64
            };
            let now = (
                scene::position_at(&ob.position, t),
                scene::gain_db_at(&ob.gain, t) + extra_db,
            );
            turn += geometry::angle_between(&last.0, &now.0).to_degrees();
            fade += (now.1 - last.1).abs();
            if let Some(p) = &params {
                change += p.steps(last_t, t, MAX_TURN_DEG);
            }
            last = now;
            last_t = t;
        }
        // Pieces of at most `len` whole ticks, so that no piece exceeds the limits.
        let need = (turn / MAX_TURN_DEG).max(fade / MAX_FADE_DB).max(change);
        let len = if need > 1.0 {
            (((b - a) as f64 / need).floor() as i64).max(1)
        } else {
            b - a
        };
        let m = (b - a + len - 1) / len;
        for j in 1..=m {
            bounds.push(a + (b - a) * j / m);
        }
    }
    bounds.dedup();
    bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let (a, b) = (w[0], w[1]);
            let jump = i == 0 || is_step(a);
            let (d, db) = if jump {
                value_at(a, false)
            } else {
                value_at(b, is_step(b))
            };
            // The parameters are sampled where the position is.
            let t_of = |a: i64, b: i64| {
                if jump {
                    secs(a)
                } else if is_step(b) {
                    secs(b) - 0.25 / grid as f64
                } else {
                    secs(b)
                }
            };
            let (az, el, _) = geometry::cartesian_to_polar(d);
            PlannedBlock {
                start: a,
                end: b,
                azimuth: clean(az),
                elevation: clean(el),
                gain: db_to_gain(db),
                jump,
                xyz: None,
                params: params.as_ref().map(|p| Box::new(p.at(t_of(a, b)))),
            }
        })
        .collect()
}

/// Rounds away float noise (1e-12 degrees) so the XML stays readable.
fn clean(x: f64) -> f64 {
    let r = (x * 1e9).round() / 1e9;
    if r == 0.0 {
        0.0
    } else {
        r
    }
}

/// True for the group names exported as dialogue content.
pub fn is_dialogue_group(g: &str) -> bool {
    let g = g.to_ascii_lowercase();
    g.starts_with("dialog") || g == "dx"
}

/// A time in ticks of the EBU grid as BS.2076 `hh:mm:ss.ffffff` (exact: a tick is 0.000125 s).
pub fn format_ticks(k: i64) -> String {
    format_grid(k, GRID_HZ)
}

/// A time in ticks of 1 / `grid` seconds: six decimals for the EBU grid, five for Dolby's
/// (exact either way).
pub fn format_grid(k: i64, grid: i64) -> String {
    let micros = k * (1_000_000 / grid);
    let (s, us) = (micros / 1_000_000, micros % 1_000_000);
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if grid == DOLBY_GRID_HZ {
        format!("{h:02}:{m:02}:{s:02}.{:05}", us / 10)
    } else {
        format!("{h:02}:{m:02}:{s:02}.{us:06}")
    }
}

/// The BS.2094 common DirectSpeakers pack with exactly `layout`'s speakers, if one exists:
/// its ID and, per speaker of the layout, the common audioChannelFormat ID.
pub fn common_pack_for(layout: &Layout) -> Option<(String, Vec<String>)> {
    let defs = super::common::definitions();
    let labels: Vec<String> = layout.speakers.iter().map(|s| s.label.clone()).collect();
    'packs: for p in &defs.packs {
        if p.type_def != Some(super::model::TypeDef::DirectSpeakers)
            || !p.packs.is_empty()
            || p.channels.len() != labels.len()
        {
            continue;
        }
        let mut ids = Vec::new();
        for want in &labels {
            let hit = p
                .channels
                .iter()
                .find(|c| channel_label(defs, c).is_some_and(|l| same_label(&l, want)));
            match hit {
                Some(c) => ids.push(c.clone()),
                None => continue 'packs,
            }
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        if unique.len() == ids.len() {
            return Some((p.id.clone(), ids));
        }
    }
    None
}

fn channel_label(defs: &Adm, id: &str) -> Option<String> {
    let c = defs.channels.get(*defs.index.get(id)?)?;
    c.blocks.first()?.speaker_labels.first().cloned()
}

/// Speaker labels compare without their URN prefix, with `LFE` and `LFEL` = `LFE1` and
/// `LFER` = `LFE2` (BS.2094 names 22.2's LFEs by side, BS.2051 by number).
fn same_label(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        let s = s.rsplit(':').next().unwrap_or(s).to_ascii_uppercase();
        match s.as_str() {
            "LFE" | "LFEL" => "LFE1".to_string(),
            "LFER" => "LFE2".to_string(),
            _ => s,
        }
    };
    norm(a) == norm(b)
}

/// The (source, channel) pairs each track of an item carries, summed; none: a silent track.
type Tracks = Vec<Vec<(Origin, usize)>>;

/// One audioObject to write.
enum Item {
    /// A moving object (or a Dolby-profile bed speaker that is not a bed channel, held still).
    Object {
        name: String,
        blocks: Vec<PlannedBlock>,
    },
    /// An EBU-profile bed.
    Bed {
        name: String,
        layout: Layout,
        common: Option<(String, Vec<String>)>,
    },
    /// A Dolby-profile bed, one entry per channel.
    RcBed {
        name: String,
        speakers: Vec<BedSpeaker>,
    },
    /// The LFE sends of a group.
    Lfe { name: String },
}

impl Item {
    fn tracks(&self) -> usize {
        match self {
            Item::Bed { layout, .. } => layout.channels(),
            Item::RcBed { speakers, .. } => speakers.len(),
            _ => 1,
        }
    }
}

/// A channel of a custom DirectSpeakers pack.
#[derive(Debug, Clone)]
struct BedSpeaker {
    label: String,
    azimuth: f64,
    elevation: f64,
    lfe: bool,
    /// Allocentric position (written by the Dolby profile when known).
    xyz: Option<[f64; 3]>,
}

impl BedSpeaker {
    fn of(sp: &crate::layout::Speaker, label: &str) -> BedSpeaker {
        BedSpeaker {
            label: label.to_string(),
            azimuth: sp.azimuth,
            elevation: sp.elevation,
            lfe: sp.lfe,
            xyz: sp.allocentric,
        }
    }
}

/// The beds Dolby's profile allows, as sets of `RC_` labels.
const DOLBY_BEDS: &[&[&str]] = &[
    &["RC_L", "RC_R"],
    &["RC_L", "RC_R", "RC_C"],
    &["RC_L", "RC_R", "RC_C", "RC_Ls", "RC_Rs"],
    &["RC_L", "RC_R", "RC_C", "RC_LFE", "RC_Ls", "RC_Rs"],
    &[
        "RC_L", "RC_R", "RC_C", "RC_Lss", "RC_Rss", "RC_Lrs", "RC_Rrs",
    ],
    &[
        "RC_L", "RC_R", "RC_C", "RC_LFE", "RC_Lss", "RC_Rss", "RC_Lrs", "RC_Rrs",
    ],
    &[
        "RC_L", "RC_R", "RC_C", "RC_Lss", "RC_Rss", "RC_Lrs", "RC_Rrs", "RC_Lts", "RC_Rts",
    ],
    &[
        "RC_L", "RC_R", "RC_C", "RC_LFE", "RC_Lss", "RC_Rss", "RC_Lrs", "RC_Rrs", "RC_Lts",
        "RC_Rts",
    ],
];

/// Dolby's bed label for a BS.2051 speaker label, if it has one.
fn rc_label(label: &str) -> Option<&'static str> {
    Some(match label {
        "M+030" => "RC_L",
        "M-030" => "RC_R",
        "M+000" => "RC_C",
        "LFE1" | "LFE" => "RC_LFE",
        "M+110" => "RC_Ls",
        "M-110" => "RC_Rs",
        "M+090" => "RC_Lss",
        "M-090" => "RC_Rss",
        "M+135" => "RC_Lrs",
        "M-135" => "RC_Rrs",
        "U+090" => "RC_Lts",
        "U-090" => "RC_Rts",
        _ => return None,
    })
}

/// Whether a set of `RC_` labels (in any order) is one of Dolby's beds.
fn is_dolby_bed<'a>(labels: impl IntoIterator<Item = &'a str>) -> bool {
    let mut set: Vec<&str> = labels.into_iter().collect();
    set.sort_unstable();
    DOLBY_BEDS.iter().any(|b| {
        let mut b = b.to_vec();
        b.sort_unstable();
        b == set
    })
}

/// Splits a bed layout for Dolby's profile: the channels that form one of Dolby's beds
/// (indices), and the rest (to become objects).
fn dolby_bed_split(layout: &Layout) -> (Vec<usize>, Vec<usize>) {
    let rc: Vec<Option<&str>> = layout.speakers.iter().map(|s| rc_label(&s.label)).collect();
    let fits = is_dolby_bed(rc.iter().flatten().copied());
    (0..layout.channels()).partition(|&c| fits && rc[c].is_some())
}

/// Where a Dolby-profile group's summed LFE sends go, since Dolby's profile has no
/// one-channel LFE pack: into the `RC_LFE` track of one of the group's beds; else into a
/// bed of the group that becomes its LFE variant (5.0 -> 5.1, 7.0 -> 7.1, 7.0.2 -> 7.1.2)
/// with one more track; else a new 5.1 bed whose other five tracks are silent.
fn route_dolby_lfe(
    items: &mut Vec<(usize, Item, Tracks)>,
    g: usize,
    name: String,
    src: (Origin, usize),
) -> Result<()> {
    let beds = || {
        items
            .iter()
            .enumerate()
            .filter(move |(_, (ig, it, _))| *ig == g && matches!(it, Item::RcBed { .. }))
            .map(|(k, _)| k)
    };
    let labels = |it: &Item| -> Vec<String> {
        match it {
            Item::RcBed { speakers, .. } => speakers.iter().map(|s| s.label.clone()).collect(),
            _ => Vec::new(),
        }
    };
    let with_lfe = beds().find(|&k| labels(&items[k].1).iter().any(|l| l == "RC_LFE"));
    if let Some(k) = with_lfe {
        let c = labels(&items[k].1)
            .iter()
            .position(|l| l == "RC_LFE")
            .expect("an LFE");
        items[k].2[c].push(src);
        return Ok(());
    }
    let lfe_speaker = || -> Result<BedSpeaker> {
        let l = Layout::resolve("5.1")?;
        let sp = l.speakers.iter().find(|s| s.lfe).expect("5.1 has an LFE");
        Ok(BedSpeaker::of(sp, "RC_LFE"))
    };
    let upgradable = beds().find(|&k| {
        let l = labels(&items[k].1);
        is_dolby_bed(l.iter().map(String::as_str).chain(["RC_LFE"]))
    });
    if let Some(k) = upgradable {
        let lfe = lfe_speaker()?;
        let at = labels(&items[k].1)
            .iter()
            .position(|l| l == "RC_C")
            .map_or(0, |c| c + 1);
        if let Item::RcBed { speakers, .. } = &mut items[k].1 {
            speakers.insert(at, lfe);
        }
        items[k].2.insert(at, vec![src]);
        return Ok(());
    }
    let l = Layout::resolve("5.1")?;
    let speakers: Vec<BedSpeaker> = l
        .speakers
        .iter()
        .map(|sp| BedSpeaker::of(sp, rc_label(&sp.label).expect("5.1 is a Dolby bed")))
        .collect();
    let tracks = speakers
        .iter()
        .map(|s| if s.lfe { vec![src] } else { Vec::new() })
        .collect();
    items.push((g, Item::RcBed { name, speakers }, tracks));
    Ok(())
}

/// Writes `scene` as an ADM BWF master at `out`. `progress` gets (frames done, total).
pub fn export(
    scene: &Scene,
    out: &Path,
    opts: &ExportOptions,
    mut progress: impl FnMut(u64, u64),
) -> Result<ExportSummary> {
    if scene.master.is_some() {
        return Err(Error::Invalid(format!(
            "{}: is already an ADM master; export takes a RON scene",
            scene.origin
        )));
    }
    if opts.format == SampleFormat::S16 {
        return Err(Error::Invalid(
            "adm export writes 24-bit PCM or 32-bit float tracks (s24, f32)".into(),
        ));
    }
    scene.check_not_an_input(out)?;
    let dolby = opts.profile == Profile::Dolby;
    if dolby {
        // Dolby's blocks are Cartesian: a polar width or divergence would change meaning.
        let sized = scene
            .objects
            .iter()
            .enumerate()
            .find(|(_, o)| !o.mute && o.param_automation().is_some());
        if let Some((i, o)) = sized {
            return Err(Error::Invalid(format!(
                "{}: object {} ('{}') sets width/height/depth/divergence/diffuse/channel_lock/zone_exclusion/screen_ref, which the Dolby profile's position-only blocks do not carry; export it with the EBU profile",
                scene.origin,
                i + 1,
                o.name
            )));
        }
    }
    let grid = opts.profile.grid();
    let rate = scene.sample_rate;
    // The render engine reads the sources (with their EQ) exactly as `render` does; 7.1.4
    // has an LFE, so objects' LFE sends are computed.
    let layout = Layout::resolve("7.1.4")?;
    let mut r = Renderer::new(scene, &layout, &RenderOptions::default())?;
    let frames = r.remaining();
    let end = ((frames as u128 * grid as u128).div_ceil(rate as u128)) as i64;
    let groups = scene.groups();

    // Items, grouped by content (scene group order), each with the (source, channel) of
    // each of its tracks; an LFE item's source is the group (usize::MAX - g).
    let mut items: Vec<(usize, Item, Tracks)> = Vec::new();
    let mut lfe_groups: Vec<usize> = Vec::new();
    let group_of = |g: &Option<String>| groups.iter().position(|x| x == group_name(g)).unwrap_or(0);
    for (i, ob) in scene.objects.iter().enumerate() {
        if ob.mute {
            continue;
        }
        let g = group_of(&ob.group);
        let blocks = plan_object(ob, ob.gain_db + scene.master_gain_db, end, grid);
        let name = ob.name.clone();
        items.push((
            g,
            Item::Object { name, blocks },
            vec![vec![(Origin::Object(i), 0)]],
        ));
        if ob.lfe_send_db.is_some() && !lfe_groups.contains(&g) {
            lfe_groups.push(g);
        }
    }
    for (i, bed) in scene.beds.iter().enumerate() {
        if bed.mute {
            continue;
        }
        let g = group_of(&bed.group);
        let Some(bed_layout) = bed.layout.as_deref() else {
            return Err(Error::Unsupported(format!(
                "{}: bed '{}' is Ambisonics, which `adm export` does not write yet (render it to a layout first)",
                scene.origin, bed.name
            )));
        };
        let bl = Layout::resolve(bed_layout)?;
        if !dolby {
            let common = common_pack_for(&bl);
            let src = (0..bl.channels())
                .map(|c| vec![(Origin::Bed(i), c)])
                .collect();
            let name = bed.name.clone();
            items.push((
                g,
                Item::Bed {
                    name,
                    layout: bl,
                    common,
                },
                src,
            ));
            continue;
        }
        let (bed_ch, rest) = dolby_bed_split(&bl);
        if !bed_ch.is_empty() {
            let speakers = bed_ch
                .iter()
                .map(|&c| {
                    let sp = &bl.speakers[c];
                    BedSpeaker::of(sp, rc_label(&sp.label).expect("a bed channel"))
                })
                .collect();
            let src = bed_ch.iter().map(|&c| vec![(Origin::Bed(i), c)]).collect();
            let name = bed.name.clone();
            items.push((g, Item::RcBed { name, speakers }, src));
        }
        for c in rest {
            let sp = &bl.speakers[c];
            let block = PlannedBlock {
                start: 0,
                end,
                azimuth: sp.azimuth,
                elevation: sp.elevation,
                gain: 1.0,
                jump: true,
                xyz: sp.allocentric,
                params: None,
            };
            let name = format!("{} {}", bed.name, sp.label);
            let blocks = vec![block];
            let tracks = vec![vec![(Origin::Bed(i), c)]];
            items.push((g, Item::Object { name, blocks }, tracks));
        }
    }
    for &g in &lfe_groups {
        let name = format!("{} LFE", groups[g]);
        let src = (Origin::Object(usize::MAX - g), 0);
        if dolby {
            route_dolby_lfe(&mut items, g, name, src)?;
        } else {
            items.push((g, Item::Lfe { name }, vec![vec![src]]));
        }
    }
    items.sort_by_key(|(g, _, _)| *g);
    let total_tracks: usize = items.iter().map(|(_, it, _)| it.tracks()).sum();
    let limit = if dolby {
        DOLBY_MAX_TRACKS
    } else {
        crate::io::MAX_CHANNELS
    };
    let mut misfits = Vec::new();
    if total_tracks > limit {
        misfits.push(format!(
            "{total_tracks} tracks (at most {limit}): leave objects or beds out, or merge them"
        ));
    }
    if dolby {
        let objects = items
            .iter()
            .filter(|(_, it, _)| matches!(it, Item::Object { .. }))
            .count();
        if objects > DOLBY_MAX_OBJECTS {
            misfits.push(format!(
                "{objects} objects (at most {DOLBY_MAX_OBJECTS}, bed speakers that are not in a Dolby bed included): move objects into beds or leave some out"
            ));
        }
        if opts.format != SampleFormat::S24 {
            misfits
                .push("32-bit float tracks (the profile is 24-bit PCM): use --format s24".into());
        }
        if rate != 48000 && rate != 96000 {
            misfits.push(format!(
                "a sample rate of {rate} Hz (the profile allows 48000 or 96000)"
            ));
        }
    }
    if !misfits.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: does not fit the {} profile: {}",
            scene.origin,
            if dolby { "dolby" } else { "ebu" },
            misfits.join("; ")
        )));
    }
    let bits = opts.format.bits();
    let meta = Meta {
        groups: &groups,
        rate,
        bits,
        end,
        profile: opts.profile,
        reference_screen: scene.reference_screen,
    };
    let plain: Vec<(usize, &Item)> = items.iter().map(|(g, it, _)| (*g, it)).collect();
    let (axml, chna) = build_metadata(&plain, &meta);
    let bext = crate::bwf::Bext::for_output(
        &format!("mixstage adm export of {}", scene.origin),
        rate,
        bits,
        total_tracks,
    )
    .to_bytes();
    let chunks = vec![
        (*b"bext", bext),
        (*b"chna", chna),
        (*b"axml", axml.into_bytes()),
    ];
    let mut w = WavWriter::create_bw64(out, rate, total_tracks, opts.format, &chunks)?;

    // Where each (source, channel) goes.
    let mut route: std::collections::HashMap<(Origin, usize), usize> = Default::default();
    let mut t = 0;
    for (_, _, tracks) in &items {
        for srcs in tracks {
            for s in srcs {
                route.insert(*s, t);
            }
            t += 1;
        }
    }
    let mut planar = vec![Vec::<f32>::new(); total_tracks];
    let mut inter = Vec::new();
    let mut pos = 0u64;
    let secs = |f: usize, pos: u64| (pos + f as u64) as f64 / rate as f64;
    loop {
        let n = r.advance_sources()?;
        if n == 0 {
            break;
        }
        for p in planar.iter_mut() {
            p.clear();
            p.resize(n, 0.0);
        }
        for src in r.sources() {
            match src.origin {
                Origin::Object(i) => {
                    let ob = &scene.objects[i];
                    if let Some(&t) = route.get(&(src.origin, 0)) {
                        for (d, &x) in planar[t].iter_mut().zip(&src.signal[0][..n]) {
                            *d += x;
                        }
                    }
                    let g = Origin::Object(usize::MAX - group_of(&ob.group));
                    if let (Some(lfe), Some(db), Some(&lt)) =
                        (src.lfe, ob.lfe_send_db, route.get(&(g, 0)))
                    {
                        let send = db_to_gain(db + ob.gain_db + scene.master_gain_db);
                        for (f, (d, &x)) in planar[lt].iter_mut().zip(&lfe[..n]).enumerate() {
                            let a = send * db_to_gain(scene::gain_db_at(&ob.gain, secs(f, pos)));
                            *d += (a * x as f64) as f32;
                        }
                    }
                }
                Origin::Bed(i) => {
                    let bed = &scene.beds[i];
                    let base_db = bed.gain_db + scene.master_gain_db;
                    let amp: Vec<f64> = (0..n)
                        .map(|f| db_to_gain(base_db + scene::gain_db_at(&bed.gain, secs(f, pos))))
                        .collect();
                    for (c, sig) in src.signal.iter().enumerate() {
                        let Some(&t) = route.get(&(src.origin, c)) else {
                            continue;
                        };
                        for ((d, &x), &a) in planar[t].iter_mut().zip(&sig[..n]).zip(&amp) {
                            *d += (a * x as f64) as f32;
                        }
                    }
                }
            }
        }
        inter.clear();
        inter.resize(n * total_tracks, 0.0);
        for (c, p) in planar.iter().enumerate() {
            for (f, &x) in p.iter().enumerate() {
                inter[f * total_tracks + c] = x;
            }
        }
        w.write(&inter)?;
        pos += n as u64;
        progress(pos, frames);
    }
    let stats = w.finalize(rate, 0)?;
    Ok(ExportSummary {
        objects: items.len(),
        tracks: total_tracks,
        blocks: items
            .iter()
            .map(|(_, it, _)| match it {
                Item::Object { blocks, .. } => blocks.len(),
                _ => 0,
            })
            .sum(),
        frames: stats.frames,
        clipped: stats.clipped.iter().sum(),
    })
}

/// Escapes text for XML attributes and content.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// What the metadata writer needs besides the items.
struct Meta<'a> {
    groups: &'a [String],
    rate: u32,
    bits: u16,
    end: i64,
    profile: Profile,
    /// The scene's reference screen, written as audioProgrammeReferenceScreen.
    reference_screen: Option<crate::panner::screen::Screen>,
}

/// A block's position elements: polar, or (Dolby) BS.2127's polar-to-Cartesian mapping.
fn position_xml(az: f64, el: f64, xyz: Option<[f64; 3]>, cartesian: bool) -> String {
    if cartesian {
        let (x, y, z) = match xyz {
            Some([x, y, z]) => (x, y, z),
            None => crate::panner::conversion::polar_to_cart(az, el, 1.0),
        };
        let c = |v: f64| clean(v.clamp(-1.0, 1.0));
        format!(
            "<cartesian>1</cartesian><position coordinate=\"X\">{}</position><position coordinate=\"Y\">{}</position><position coordinate=\"Z\">{}</position>",
            c(x),
            c(y),
            c(z)
        )
    } else {
        format!(
            "<position coordinate=\"azimuth\">{az}</position><position coordinate=\"elevation\">{el}</position><position coordinate=\"distance\">1</position>"
        )
    }
}

/// The `axml` text and the `chna` chunk for `items` (sorted by content).
/// The elements of an audioBlockFormat (polar) that carry BS.2127's parameters beyond a
/// point: those that differ from their defaults.
fn params_xml(p: &scene::ObjectParams) -> String {
    use crate::panner::zone::Zone;
    let mut x = String::new();
    for (name, v) in [("width", p.width), ("height", p.height), ("depth", p.depth)] {
        if v != 0.0 {
            let _ = write!(x, "<{name}>{}</{name}>", clean(v));
        }
    }
    if p.diffuse != 0.0 {
        let _ = write!(x, "<diffuse>{}</diffuse>", clean(p.diffuse));
    }
    match p.channel_lock {
        Some(Some(m)) => {
            let _ = write!(
                x,
                "<channelLock maxDistance=\"{}\">1</channelLock>",
                clean(m)
            );
        }
        Some(None) => x.push_str("<channelLock>1</channelLock>"),
        None => {}
    }
    if let Some((v, r)) = p.divergence {
        let _ = write!(
            x,
            "<objectDivergence azimuthRange=\"{}\">{}</objectDivergence>",
            clean(r),
            clean(v)
        );
    }
    if !p.zone_exclusion.is_empty() {
        x.push_str("<zoneExclusion>");
        for (i, z) in p.zone_exclusion.iter().enumerate() {
            match *z {
                Zone::Polar {
                    min_azimuth,
                    max_azimuth,
                    min_elevation,
                    max_elevation,
                } => {
                    let _ = write!(
                        x,
                        "<zone minAzimuth=\"{min_azimuth}\" maxAzimuth=\"{max_azimuth}\" minElevation=\"{min_elevation}\" maxElevation=\"{max_elevation}\">zone {}</zone>",
                        i + 1
                    );
                }
                Zone::Cartesian { min, max } => {
                    let _ = write!(
                        x,
                        "<zone minX=\"{}\" maxX=\"{}\" minY=\"{}\" maxY=\"{}\" minZ=\"{}\" maxZ=\"{}\">zone {}</zone>",
                        min[0], max[0], min[1], max[1], min[2], max[2],
                        i + 1
                    );
                }
            }
        }
        x.push_str("</zoneExclusion>");
    }
    if p.screen_ref {
        x.push_str("<screenRef>1</screenRef>");
    }
    x
}

fn build_metadata(items: &[(usize, &Item)], m: &Meta) -> (String, Vec<u8>) {
    let dolby = m.profile == Profile::Dolby;
    let grid = m.profile.grid();
    let time = |k: i64| format_grid(k, grid);
    let later = DOLBY_INTERPOLATION_SAMPLES as f64 / m.rate as f64;
    let later_interp = format!("{later:.5}");
    let mut x = String::new();
    let mut uids: Vec<(String, String, String)> = Vec::new(); // (uid, track format, pack)
    let mut body = String::new();
    let mut objects_of: Vec<Vec<String>> = vec![Vec::new(); m.groups.len()];
    let (mut obj_n, mut ds_n) = (0x1001, 0x1001);
    let mut defs = String::new();
    let timing = if dolby {
        format!(" start=\"{}\" duration=\"{}\"", time(0), time(m.end))
    } else {
        String::new()
    };
    for (k, (g, it)) in items.iter().enumerate() {
        let ao = format!("AO_{:04X}", 0x1001 + k);
        objects_of[*g].push(ao.clone());
        let (name, pack, tracks): (&str, String, Vec<String>) = match it {
            Item::Object { name, blocks } => {
                let id = format!("{obj_n:04X}");
                obj_n += 1;
                let pack = format!("AP_0003{id}");
                let ch = format!("AC_0003{id}");
                let _ = writeln!(
                    defs,
                    "<audioPackFormat audioPackFormatID=\"{pack}\" audioPackFormatName=\"{n}\" typeLabel=\"0003\" typeDefinition=\"Objects\"><audioChannelFormatIDRef>{ch}</audioChannelFormatIDRef></audioPackFormat>",
                    n = esc(name)
                );
                let _ = writeln!(
                    defs,
                    "<audioChannelFormat audioChannelFormatID=\"{ch}\" audioChannelFormatName=\"{n}\" typeLabel=\"0003\" typeDefinition=\"Objects\">",
                    n = esc(name)
                );
                for (b, bl) in blocks.iter().enumerate() {
                    let _ = write!(
                        defs,
                        "<audioBlockFormat audioBlockFormatID=\"AB_0003{id}_{:08X}\" rtime=\"{}\" duration=\"{}\">{}<gain>{}</gain>",
                        b + 1,
                        time(bl.start),
                        time(bl.end - bl.start),
                        position_xml(bl.azimuth, bl.elevation, bl.xyz, dolby),
                        bl.gain
                    );
                    if let Some(p) = &bl.params {
                        defs.push_str(&params_xml(p));
                    }
                    if bl.jump || dolby && b == 0 {
                        defs.push_str("<jumpPosition interpolationLength=\"0\">1</jumpPosition>");
                    } else if dolby {
                        // 250 samples, or the whole block when it is shorter.
                        let secs = (bl.end - bl.start) as f64 / grid as f64;
                        let il = if secs < later {
                            time(bl.end - bl.start)
                        } else {
                            later_interp.clone()
                        };
                        let il = il.rsplit(':').next().unwrap_or(&il).trim_start_matches('0');
                        let il = if il.starts_with('.') {
                            format!("0{il}")
                        } else {
                            il.to_string()
                        };
                        let _ = write!(
                            defs,
                            "<jumpPosition interpolationLength=\"{il}\">1</jumpPosition>"
                        );
                    }
                    defs.push_str("</audioBlockFormat>\n");
                }
                defs.push_str("</audioChannelFormat>\n");
                let tf = stream_and_track(&mut defs, &id, "0003", &ch, &pack, name, dolby);
                (name, pack, vec![tf])
            }
            Item::Bed {
                name,
                common: Some((pack, chans)),
                ..
            } => {
                let tfs = chans.iter().map(|c| format!("AT_{}_01", &c[3..])).collect();
                (name, pack.clone(), tfs)
            }
            Item::Bed { name, layout, .. } => {
                let speakers: Vec<BedSpeaker> = layout
                    .speakers
                    .iter()
                    .map(|s| BedSpeaker::of(s, &s.label))
                    .collect();
                let (pack, tfs) = custom_bed(&mut defs, &mut ds_n, &layout.name, &speakers, false);
                (name, pack, tfs)
            }
            Item::RcBed { name, speakers } => {
                let (pack, tfs) = custom_bed(&mut defs, &mut ds_n, name, speakers, true);
                (name, pack, tfs)
            }
            Item::Lfe { name } => {
                // EBU profile only: Dolby's sums its LFE sends into a bed (route_dolby_lfe).
                let sp = vec![BedSpeaker {
                    label: "LFE1".to_string(),
                    azimuth: 45.0,
                    elevation: -30.0,
                    lfe: true,
                    xyz: Some([-1.0, 1.0, -1.0]),
                }];
                let (pack, tfs) = custom_bed(&mut defs, &mut ds_n, "LFE", &sp, false);
                (name, pack, tfs)
            }
        };
        let _ = write!(
            body,
            "<audioObject audioObjectID=\"{ao}\" audioObjectName=\"{}\"{timing}><audioPackFormatIDRef>{pack}</audioPackFormatIDRef>",
            esc(name)
        );
        for tf in tracks {
            let uid = format!("ATU_{:08X}", uids.len() + 1);
            let _ = write!(body, "<audioTrackUIDRef>{uid}</audioTrackUIDRef>");
            uids.push((uid, tf, pack.clone()));
        }
        body.push_str("</audioObject>\n");
    }
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.push_str("<ebuCoreMain xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns=\"urn:ebu:metadata-schema:ebuCore_2016\" schema=\"EBU_CORE_20161222.xsd\" version=\"1.7\">\n<coreMetadata><format><audioFormatExtended version=\"ITU-R_BS.2076-1\">\n");
    let _ = write!(
        x,
        "<audioProgramme audioProgrammeID=\"APR_1001\" audioProgrammeName=\"{}\" start=\"{}\" end=\"{}\">",
        if dolby { "Atmos_Master" } else { "mixstage" },
        time(0),
        time(m.end)
    );
    let used: Vec<usize> = (0..m.groups.len())
        .filter(|&g| !objects_of[g].is_empty())
        .collect();
    for (k, _) in used.iter().enumerate() {
        let _ = write!(
            x,
            "<audioContentIDRef>ACO_{:04X}</audioContentIDRef>",
            0x1001 + k
        );
    }
    match m.reference_screen {
        Some(crate::panner::screen::Screen::Polar {
            aspect_ratio,
            azimuth,
            elevation,
            distance,
            width_azimuth,
        }) => {
            let _ = write!(
                x,
                "<audioProgrammeReferenceScreen aspectRatio=\"{aspect_ratio}\"><screenCentrePosition azimuth=\"{azimuth}\" elevation=\"{elevation}\" distance=\"{distance}\"/><screenWidth azimuth=\"{width_azimuth}\"/></audioProgrammeReferenceScreen>"
            );
        }
        Some(crate::panner::screen::Screen::Cartesian {
            aspect_ratio,
            x: cx,
            y: cy,
            z: cz,
            width_x,
        }) => {
            let _ = write!(
                x,
                "<audioProgrammeReferenceScreen aspectRatio=\"{aspect_ratio}\"><screenCentrePosition X=\"{cx}\" Y=\"{cy}\" Z=\"{cz}\"/><screenWidth X=\"{width_x}\"/></audioProgrammeReferenceScreen>"
            );
        }
        None => {}
    }
    x.push_str("</audioProgramme>\n");
    for (k, &g) in used.iter().enumerate() {
        let _ = write!(
            x,
            "<audioContent audioContentID=\"ACO_{:04X}\" audioContentName=\"{}\">",
            0x1001 + k,
            esc(&m.groups[g])
        );
        for ao in &objects_of[g] {
            let _ = write!(x, "<audioObjectIDRef>{ao}</audioObjectIDRef>");
        }
        let lower = m.groups[g].to_ascii_lowercase();
        if is_dialogue_group(&m.groups[g]) {
            x.push_str("<dialogue dialogueContentKind=\"1\">1</dialogue>");
        } else if dolby {
            // What Dolby writes for every content: mixed, kind undefined.
            x.push_str("<dialogue mixedContentKind=\"0\">2</dialogue>");
        } else {
            // nonDialogueContentKind: 1 music, 2 effect, 0 undefined.
            let kind = if lower.starts_with("mus") {
                1
            } else if lower.starts_with("eff")
                || lower.starts_with("fx")
                || lower.starts_with("amb")
            {
                2
            } else {
                0
            };
            let _ = write!(
                x,
                "<dialogue nonDialogueContentKind=\"{kind}\">0</dialogue>"
            );
        }
        x.push_str("</audioContent>\n");
    }
    x.push_str(&body);
    x.push_str(&defs);
    for (uid, tf, pack) in &uids {
        let _ = writeln!(
            x,
            "<audioTrackUID UID=\"{uid}\" sampleRate=\"{}\" bitDepth=\"{}\"><audioTrackFormatIDRef>{tf}</audioTrackFormatIDRef><audioPackFormatIDRef>{pack}</audioPackFormatIDRef></audioTrackUID>",
            m.rate, m.bits
        );
    }
    x.push_str("</audioFormatExtended></format></coreMetadata></ebuCoreMain>\n");
    (x, chna_chunk(&uids))
}

/// Writes a custom DirectSpeakers pack of `speakers` (label, azimuth, elevation, LFE):
/// returns the pack ID and the track format IDs, in speaker order. `cartesian` writes the
/// positions as Dolby does (BS.2127's polar-to-Cartesian mapping).
fn custom_bed(
    defs: &mut String,
    ds_n: &mut usize,
    name: &str,
    speakers: &[BedSpeaker],
    cartesian: bool,
) -> (String, Vec<String>) {
    let id = format!("{:04X}", *ds_n);
    *ds_n += 1;
    let pack = format!("AP_0001{id}");
    let mut tfs = Vec::new();
    let mut refs = String::new();
    for sp in speakers {
        let (label, az, el, lfe) = (&sp.label, &sp.azimuth, &sp.elevation, &sp.lfe);
        let cid = format!("{:04X}", *ds_n);
        *ds_n += 1;
        let ch = format!("AC_0001{cid}");
        let _ = write!(
            refs,
            "<audioChannelFormatIDRef>{ch}</audioChannelFormatIDRef>"
        );
        let freq = if *lfe {
            "<frequency typeDefinition=\"lowPass\">120</frequency>"
        } else {
            ""
        };
        let pos = position_xml(*az, *el, sp.xyz, cartesian);
        let _ = writeln!(
            defs,
            "<audioChannelFormat audioChannelFormatID=\"{ch}\" audioChannelFormatName=\"{l}\" typeLabel=\"0001\" typeDefinition=\"DirectSpeakers\">{freq}<audioBlockFormat audioBlockFormatID=\"AB_0001{cid}_00000001\"><speakerLabel>{l}</speakerLabel>{pos}</audioBlockFormat></audioChannelFormat>",
            l = esc(label)
        );
        tfs.push(stream_and_track(
            defs, &cid, "0001", &ch, &pack, label, cartesian,
        ));
    }
    let _ = writeln!(
        defs,
        "<audioPackFormat audioPackFormatID=\"{pack}\" audioPackFormatName=\"{}\" typeLabel=\"0001\" typeDefinition=\"DirectSpeakers\">{refs}</audioPackFormat>",
        esc(name)
    );
    (pack, tfs)
}

/// Writes the stream and track format of channel `ch`; returns the track format ID. With
/// `with_pack` (Dolby's profile) the stream also names the pack.
fn stream_and_track(
    defs: &mut String,
    id: &str,
    type_label: &str,
    ch: &str,
    pack: &str,
    name: &str,
    with_pack: bool,
) -> String {
    let tf = format!("AT_{type_label}{id}_01");
    let sf = format!("AS_{type_label}{id}");
    let pack_ref = if with_pack {
        format!("<audioPackFormatIDRef>{pack}</audioPackFormatIDRef>")
    } else {
        String::new()
    };
    let _ = writeln!(
        defs,
        "<audioStreamFormat audioStreamFormatID=\"{sf}\" audioStreamFormatName=\"PCM_{n}\" formatLabel=\"0001\" formatDefinition=\"PCM\"><audioChannelFormatIDRef>{ch}</audioChannelFormatIDRef>{pack_ref}<audioTrackFormatIDRef>{tf}</audioTrackFormatIDRef></audioStreamFormat>",
        n = esc(name)
    );
    let _ = writeln!(
        defs,
        "<audioTrackFormat audioTrackFormatID=\"{tf}\" audioTrackFormatName=\"PCM_{n}\" formatLabel=\"0001\" formatDefinition=\"PCM\"><audioStreamFormatIDRef>{sf}</audioStreamFormatIDRef></audioTrackFormat>",
        n = esc(name)
    );
    tf
}

/// The `chna` chunk: one row per track (track index, UID, track format, pack).
fn chna_chunk(uids: &[(String, String, String)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(4 + 40 * uids.len());
    b.extend_from_slice(&(uids.len() as u16).to_le_bytes());
    b.extend_from_slice(&(uids.len() as u16).to_le_bytes());
    for (i, (uid, tf, pack)) in uids.iter().enumerate() {
        b.extend_from_slice(&(i as u16 + 1).to_le_bytes());
        for (s, len) in [(uid, 12), (tf, 14), (pack, 11)] {
            let mut f = s.as_bytes().to_vec();
            f.resize(len, 0);
            b.extend_from_slice(&f);
        }
        b.push(0);
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 7.0 bed (7.1's channels but the LFE) in the group becomes 7.1 with the LFE sends
    /// in the new track, placed after RC_C as Dolby orders its beds; the other group gets a
    /// 5.1 bed of its own with silent mains.
    #[test]
    fn dolby_lfe_upgrades_a_bed_without_lfe() {
        let l = Layout::resolve("7.1").unwrap();
        let speakers: Vec<BedSpeaker> = l
            .speakers
            .iter()
            .filter(|s| !s.lfe)
            .map(|s| BedSpeaker::of(s, rc_label(&s.label).unwrap()))
            .collect();
        let tracks = (0..7).map(|c| vec![(Origin::Bed(0), c)]).collect();
        let name = "amb".to_string();
        let mut items = vec![(0, Item::RcBed { name, speakers }, tracks)];
        let send = (Origin::Object(usize::MAX), 0);
        route_dolby_lfe(&mut items, 0, "a LFE".into(), send).unwrap();
        assert_eq!(items.len(), 1);
        let Item::RcBed { speakers, .. } = &items[0].1 else {
            panic!()
        };
        let labels: Vec<&str> = speakers.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(&labels[..5], ["RC_L", "RC_R", "RC_C", "RC_LFE", "RC_Lss"]);
        assert!(speakers[3].lfe);
        assert_eq!(items[0].2[3], vec![send]);
        assert_eq!(items[0].2[4], vec![(Origin::Bed(0), 3)]);
        // Group 1 has no bed: a new 5.1, only its LFE track carrying sound.
        let send1 = (Origin::Object(usize::MAX - 1), 0);
        route_dolby_lfe(&mut items, 1, "b LFE".into(), send1).unwrap();
        assert_eq!(items.len(), 2);
        let (g, Item::RcBed { speakers, .. }, tracks) = &items[1] else {
            panic!()
        };
        assert_eq!(*g, 1);
        assert!(is_dolby_bed(speakers.iter().map(|s| s.label.as_str())));
        assert_eq!(speakers.len(), 6);
        let sounding: Vec<usize> = (0..6).filter(|&c| !tracks[c].is_empty()).collect();
        assert_eq!(sounding.len(), 1);
        assert!(speakers[sounding[0]].lfe && tracks[sounding[0]] == vec![send1]);
        // A third send in group 0 now joins the 7.1's LFE track.
        let send2 = (Origin::Object(usize::MAX - 2), 0);
        route_dolby_lfe(&mut items, 0, "a LFE".into(), send2).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].2[3], vec![send, send2]);
    }

    #[test]
    fn ticks_format_exactly() {
        assert_eq!(format_ticks(0), "00:00:00.000000");
        assert_eq!(format_ticks(1), "00:00:00.000125");
        assert_eq!(format_ticks(8000 * 3725 + 4), "01:02:05.000500");
    }

    #[test]
    fn common_packs_are_found_for_standard_layouts() {
        for (name, pack) in [
            ("stereo", "AP_00010002"),
            ("5.1", "AP_00010003"),
            ("7.1.4", "AP_00010017"),
            ("22.2", "AP_00010009"),
        ] {
            let l = Layout::resolve(name).unwrap();
            let (p, chans) = common_pack_for(&l).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(p, pack, "{name}");
            assert_eq!(chans.len(), l.channels());
        }
        assert!(common_pack_for(&Layout::resolve("9.1.6").unwrap()).is_none());
    }

    fn object(position: Vec<scene::PositionKey>, gain: Vec<scene::GainKey>) -> scene::Object {
        scene::Object {
            position,
            gain,
            ..scene::Object::new("o", scene::Source::Generator(scene::Generator::Silence))
        }
    }

    fn key(time: f64, az: f64, interp: Interp) -> scene::PositionKey {
        scene::PositionKey {
            time,
            az: Some(az),
            el: Some(0.0),
            interp,
            ..Default::default()
        }
    }

    #[test]
    fn blocks_are_contiguous_on_the_grid_and_follow_the_path() {
        // 90 degrees in 1 s, linear: at most 0.5 degrees per block.
        let ob = object(
            vec![
                key(0.0, 0.0, Interp::Linear),
                key(1.0, 90.0, Interp::Linear),
            ],
            vec![],
        );
        let b = plan_object(&ob, -6.0, 16000, GRID_HZ);
        assert_eq!(b[0].start, 0);
        assert!(b[0].jump && b[0].end == 1 && b[0].azimuth == 0.0);
        for w in b.windows(2) {
            assert_eq!(w[0].end, w[1].start);
            assert!((w[1].azimuth - w[0].azimuth).abs() <= MAX_TURN_DEG + 1e-9);
        }
        assert_eq!(b.last().unwrap().end, 16000);
        for bl in &b {
            let t = if bl.jump { bl.start } else { bl.end } as f64 / 8000.0;
            let want = (t * 90.0).min(90.0);
            assert!((bl.azimuth - want).abs() < 1e-6, "{bl:?}");
            assert!((bl.gain - db_to_gain(-6.0)).abs() < 1e-12);
        }
        // A static object: the start block and one more.
        let st = object(vec![key(0.0, 30.0, Interp::Linear)], vec![]);
        assert_eq!(plan_object(&st, 0.0, 80000, GRID_HZ).len(), 2);
    }

    #[test]
    fn steps_become_jumps() {
        let ob = object(
            vec![key(0.0, 0.0, Interp::Linear), key(0.5, 60.0, Interp::Step)],
            vec![],
        );
        let b = plan_object(&ob, 0.0, 8000, GRID_HZ);
        let at = b.iter().position(|x| x.start == 4000).unwrap();
        assert!(b[at].jump && b[at].azimuth == 60.0 && b[at].end == 4001);
        assert_eq!(b[at - 1].azimuth, 0.0);
        assert!(!b[at - 1].jump);
        assert!(b.iter().filter(|x| x.jump).count() == 2);
    }
}
