//! The streaming render engine: scene + layout -> speaker feeds (and stems).
//!
//! Processing runs in blocks of [`BLOCK`] frames with constant memory:
//!
//! 1. every object and bed, in parallel (rayon), reads its next block, applies its EQ,
//!    and computes its channel gains at the block's start and end (VBAP gain times the
//!    automated gain); an object's gains are interpolated linearly per sample between
//!    the two, so movement makes no zipper noise. A RON object that sets BS.2127's parameters
//!    beyond a point (width, diffuse, ...) gets BS.2127's object gains ([`ObjectGains`]) at
//!    the same control points instead of the point-source gains, and a diffuse one a second
//!    row of gains for the diffuse bus;
//! 2. the output channels, in parallel, sum the members of each stem in scene order,
//!    and the full mix is the sum of the stems in order.
//!
//! Every sum runs in a fixed order, so the output is bit-identical for any number of threads.

use std::path::Path;

use rayon::prelude::*;

use crate::eq::Chain;
use crate::error::{Error, Result};
use crate::geometry::Vec3;
use crate::io::AudioSource;
use crate::layout::Layout;
use crate::panner::gain_calc::PointGains;
use crate::panner::object::ObjectGains;
use crate::scene::{self, db_to_gain, group_name, Scene, Source};
use crate::source::{FileSource, GeneratorState};

pub mod decorrelate;
pub mod diffuse;
pub mod timeline;
pub use timeline::BlockGains;
use timeline::TimelineState;

/// The master file an ADM scene's items read their tracks from: read once per block, only
/// its used tracks decoded. While one block is mixed, the next is read and decoded beside it.
struct Master {
    src: crate::io::WavReader,
    path: std::path::PathBuf,
    /// The file's tracks that items read, in slot order.
    tracks: Vec<usize>,
    /// The current block, one buffer per slot.
    planar: Vec<Vec<f32>>,
    /// The next block, read ahead while the current one is mixed.
    next: Vec<Vec<f32>>,
    /// The outcome of reading `next` ahead, with the frames it was asked for.
    ahead: Option<(usize, Result<()>)>,
}

impl Master {
    /// The slot of master track `index` (0-based), added if new.
    fn slot(&mut self, index: usize) -> usize {
        match self.tracks.iter().position(|&t| t == index) {
            Some(s) => s,
            None => {
                self.tracks.push(index);
                self.planar.push(vec![0.0; BLOCK]);
                self.next.push(vec![0.0; BLOCK]);
                self.tracks.len() - 1
            }
        }
    }

    /// Makes the next `n` frames the current block (read now unless already read ahead).
    fn advance(&mut self, n: usize) -> Result<()> {
        match self.ahead.take() {
            Some((m, r)) if m == n => {
                r?;
                std::mem::swap(&mut self.planar, &mut self.next);
                Ok(())
            }
            Some(_) => unreachable!("a block read ahead has the size asked for"),
            None => self
                .src
                .read_planar(&self.tracks, &mut self.planar, n)
                .map(|_| ()),
        }
    }
}

/// Frames per processing block (about 85 ms at 48 kHz).
pub const BLOCK: usize = 4096;

/// The shortest stretch of frames between the control points at which object gains
/// (panning times automation) are evaluated; between control points, gains are
/// interpolated linearly per sample. A block gets more control points the faster its
/// object moves (one per [`MAX_STEP_DEG`] of travel) or its gain changes (one per
/// [`MAX_STEP_DB`]), and the most when a keyframe falls inside it.
pub const CONTROL: usize = 64;

/// Largest change of direction between two control points, in degrees.
pub const MAX_STEP_DEG: f64 = 0.5;

/// Largest change of automated gain between two control points, in dB.
pub const MAX_STEP_DB: f64 = 0.25;

/// Cut-off of the low-pass on object LFE sends, in Hz.
pub const LFE_SEND_CUTOFF_HZ: f64 = 120.0;

/// Which stems to render.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum GroupFilter {
    /// Everything.
    #[default]
    All,
    /// Only these groups.
    Only(Vec<String>),
    /// Everything except these groups.
    Without(Vec<String>),
}

impl GroupFilter {
    /// The filter of `--only` / `--without` lists (`only` wins when both are given), with
    /// `dialogue` and `non-dialogue` expanded into an ADM master's groups.
    pub fn from_lists(only: &[String], without: &[String], scene: &Scene) -> GroupFilter {
        if !only.is_empty() {
            GroupFilter::Only(expand_groups(only, scene))
        } else if !without.is_empty() {
            GroupFilter::Without(expand_groups(without, scene))
        } else {
            GroupFilter::All
        }
    }

    /// True if group `g` is rendered.
    pub fn admits(&self, g: &str) -> bool {
        match self {
            GroupFilter::All => true,
            GroupFilter::Only(v) => v.iter().any(|x| x == g),
            GroupFilter::Without(v) => !v.iter().any(|x| x == g),
        }
    }
}

/// Expands `dialogue` / `non-dialogue` into the groups of an ADM master (its dialogue
/// audioContents and the others), unless the scene has a group of that name.
pub fn expand_groups(names: &[String], scene: &Scene) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        let pick: Vec<String> = match n.as_str() {
            "dialogue" if !scene.dialogue_groups.is_empty() && !scene.groups().contains(n) => {
                scene.dialogue_groups.clone()
            }
            "non-dialogue" if !scene.groups().contains(n) && scene.master.is_some() => scene
                .groups()
                .into_iter()
                .filter(|g| !scene.dialogue_groups.contains(g))
                .collect(),
            _ => vec![n.clone()],
        };
        for p in pick {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out
}

enum Signal {
    File {
        file: FileSource,
        pick: Vec<usize>,
    },
    Generators(Vec<GeneratorState>),
    /// A track of the scene's master file, by its slot in [`Master::planar`].
    Track(usize),
    /// Several tracks of the master file (an ADM HOA item), by their slots.
    Tracks(Vec<usize>),
}

impl Signal {
    fn fill(&mut self, out: &mut [Vec<f32>], shared: &[Vec<f32>]) -> Result<()> {
        match self {
            Signal::File { file, pick } => file.fill(pick, out),
            Signal::Track(slot) => {
                let n = out[0].len();
                out[0].copy_from_slice(&shared[*slot][..n]);
                Ok(())
            }
            Signal::Tracks(slots) => {
                for (o, slot) in out.iter_mut().zip(slots.iter()) {
                    let n = o.len();
                    o.copy_from_slice(&shared[*slot][..n]);
                }
                Ok(())
            }
            Signal::Generators(g) => {
                for (g, o) in g.iter_mut().zip(out.iter_mut()) {
                    g.fill(o);
                }
                Ok(())
            }
        }
    }
}

enum Kind {
    Object {
        keys: Vec<scene::PositionKey>,
        /// BS.2127 parameters beyond a point (None: the point-source fast path). A diffuse
        /// object's gain rows hold the direct gains, then the diffuse ones.
        params: Option<Box<scene::ParamAutomation>>,
        /// Linear LFE send gain and its low-pass.
        lfe: Option<(f64, Chain)>,
        lfe_buf: Vec<f32>,
    },
    /// An item of an ADM master: BS.2127 metadata blocks, gains per block.
    Timeline(Box<TimelineState>),
    Bed {
        /// gains[out][in] from the bed's layout (or its Ambisonics channels: the decoder)
        /// to the output layout.
        matrix: Vec<Vec<f64>>,
        /// The bed mixed onto the output channels (planar).
        out: Vec<Vec<f32>>,
        /// The frames it plays, `[first, last)` (None: all; `last` None: to the end).
        span: Option<(u64, Option<u64>)>,
    },
}

struct Member {
    /// The scene element this member renders.
    origin: Origin,
    group: usize,
    /// The slot of the master track this member mixes straight from (an ADM item, which
    /// has no EQ), instead of copying it into `buf`.
    direct: Option<usize>,
    /// Planar input block (1 channel for objects, the bed layout's channels for beds).
    buf: Vec<Vec<f32>>,
    eq: Vec<Chain>,
    static_gain: f64,
    gain_keys: Vec<scene::GainKey>,
    kind: Kind,
    /// Objects: per-channel gains at the block's control points, flattened
    /// (`points[k * channels + c]`, k = 0 ..= segments).
    points: Vec<f64>,
    /// Per channel: true if any control point of this block has a non-zero gain.
    active: Vec<bool>,
    /// Objects: frame offsets of the control points in this block (0 ..= n).
    bounds: Vec<usize>,
    /// Amplitude at the start of the next block, carried over for continuity.
    carried: Option<(Vec<f64>, f64)>,
    /// Detached point objects: the direction and amplitude at each control point.
    dirs: Vec<(Vec3, f64)>,
}

impl Member {
    /// Reads the next `n` frames of the source, applies the EQ and, for an object with an
    /// LFE send, low-passes the send.
    fn advance(&mut self, signal: &mut Signal, n: usize, shared: &[Vec<f32>]) -> Result<()> {
        if self.direct.is_some() {
            return Ok(());
        }
        for b in self.buf.iter_mut() {
            b.resize(n, 0.0);
        }
        signal.fill(&mut self.buf, shared)?;
        for (b, eq) in self.buf.iter_mut().zip(self.eq.iter_mut()) {
            eq.process(b);
        }
        if let Kind::Object {
            lfe: Some((_, lp)),
            lfe_buf,
            ..
        } = &mut self.kind
        {
            lfe_buf.resize(n, 0.0);
            lfe_buf.copy_from_slice(&self.buf[0]);
            lp.process(lfe_buf);
        }
        Ok(())
    }
}

/// The scene element behind one of a render's sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// `scene.objects[i]`.
    Object(usize),
    /// `scene.beds[i]`.
    Bed(usize),
}

/// One source's signal in the last block read by [`Renderer::advance_sources`].
pub struct SourceBlock<'a> {
    /// Which object or bed.
    pub origin: Origin,
    /// The signal after the source's EQ, before any gain: one buffer for an object, one
    /// per bed channel for a bed.
    pub signal: &'a [Vec<f32>],
    /// An object's LFE send signal (its signal low-passed at [`LFE_SEND_CUTOFF_HZ`]), when
    /// it has a send and the output layout has an LFE.
    pub lfe: Option<&'a [f32]>,
}

/// A prepared render of a scene onto a layout, producing blocks on demand.
pub struct Renderer {
    layout: Layout,
    /// Point-source gains for RON objects (BS.2127's, so 0+2+0 gets its stereo rule).
    panner: PointGains,
    members: Vec<Member>,
    /// The members' sources, apart so the mix can share `members` across threads.
    signals: Vec<Signal>,
    groups: Vec<String>,
    sample_rate: u32,
    /// Absolute frame of the next block.
    pos: u64,
    end: u64,
    stem_bufs: Vec<Vec<Vec<f32>>>,
    mix: Vec<Vec<f32>>,
    /// 0, 1, 2, ... as f32: the per-sample ramp used to interpolate gains.
    ramp: Vec<f32>,
    /// The shared master file of an ADM scene.
    master: Option<Master>,
    /// BS.2127 gain calculators, when the scene has timelines.
    block_gains: Option<BlockGains>,
    /// BS.2127's diffuse path, when an object of the scene is diffuse.
    diffuse: Option<Diffuse>,
    /// BS.2127's object gains for RON objects with parameters beyond a point.
    object_gains: Option<ObjectGains>,
    /// See [`RenderOptions::detach_points`].
    detach_points: bool,
}

/// The diffuse path of a render and the latency it needs: the engine runs
/// [`decorrelate::DELAY`] frames ahead of the output, so that the decorrelation filters, centred
/// on that tap, add no latency to the file.
struct Diffuse {
    /// Per output channel: its filter and the stems' states.
    channels: Vec<diffuse::DiffuseChannel>,
    /// Per stem, per channel: the diffuse bus of the current block.
    bufs: Vec<Vec<Vec<f32>>>,
    /// Output frames of the engine still to be thrown away (before the render's start).
    discard: u64,
    /// Next output frame, and the end of the output.
    out_pos: u64,
    out_end: u64,
}

/// What to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Start time in seconds.
    pub start: f64,
    /// End time in seconds (default: the scene's duration).
    pub end: Option<f64>,
    /// Which groups (stems) to include.
    pub groups: GroupFilter,
    /// Render Cartesian ADM objects through BS.2127's Cartesian-to-polar conversion and
    /// the point-source panner, instead of the allocentric panner (for layouts without
    /// allocentric positions, such as the binaural virtual layout).
    pub cartesian_as_polar: bool,
    /// Leave point-source RON objects (no BS.2127 parameters beyond a position) out of the
    /// mix, apart from their LFE sends, and hand over their signals and directions instead
    /// ([`Renderer::points`]): for binaural renders from the objects' own directions.
    pub detach_points: bool,
    /// Binaural renders: the listener's head orientation `[yaw, pitch, roll]` in degrees (see
    /// [`crate::binaural::BinauralOptions::head`]).
    pub head: [f64; 3],
    /// Binaural renders: render only the sources of one room (see
    /// [`crate::binaural::RoomPart`]); None: every source.
    pub room_part: Option<crate::binaural::RoomPart>,
    /// Binaural renders: the headphone mode of sources that set none (`--mode`; default Mid).
    pub binaural_mode: crate::binaural::room::Mode,
    /// The programme's start as a BWF `TimeReference` (samples since midnight): the files
    /// written get this plus the render's start in their `bext` chunk.
    pub time_reference: u64,
}

impl RenderOptions {
    /// The `TimeReference` of an output that starts at [`RenderOptions::start`].
    pub fn output_time_reference(&self, rate: u32) -> u64 {
        self.time_reference + (self.start.max(0.0) * rate as f64).round() as u64
    }
}

/// The `bext` chunk of a rendered file: its description, format and time reference.
pub fn output_bext(
    description: &str,
    rate: u32,
    format: crate::io::SampleFormat,
    channels: usize,
    time_reference: u64,
) -> crate::bwf::Bext {
    let mut b = crate::bwf::Bext::for_output(description, rate, format.bits(), channels);
    b.time_reference = time_reference;
    b
}

impl Renderer {
    /// Prepares a render: opens the sources, checks rates and channel counts, builds the panner.
    pub fn new(scene: &Scene, layout: &Layout, opts: &RenderOptions) -> Result<Renderer> {
        let rate = scene.sample_rate;
        let panner = PointGains::new(layout)?;
        let all_groups = scene.groups();
        if let GroupFilter::Only(v) | GroupFilter::Without(v) = &opts.groups {
            for g in v {
                if !all_groups.contains(g) {
                    return Err(Error::Invalid(format!(
                        "{}: no object or bed is in group '{g}'; the groups are: {}",
                        scene.origin,
                        all_groups.join(", ")
                    )));
                }
            }
        }
        let groups: Vec<String> = all_groups
            .into_iter()
            .filter(|g| opts.groups.admits(g))
            .collect();
        let channels = layout.channels();
        let lfe_channels = layout.lfe_channels();
        let has_diffuse = scene.objects.iter().any(|o| {
            !o.mute
                && match &o.timeline {
                    Some(t) => t
                        .blocks
                        .iter()
                        .any(|b| b.params.as_ref().is_some_and(|p| p.diffuse > 0.0)),
                    None => o.is_diffuse(),
                }
        });
        let mut object_gains: Option<ObjectGains> = None;
        let mut members = Vec::new();
        let mut signals = Vec::new();
        let mut longest: u64 = 0;
        let mut any_file = false;
        let mut block_gains: Option<BlockGains> = None;
        let mut master = match &scene.master {
            Some(p) => {
                let src = crate::io::WavReader::open(p)?;
                if src.info().sample_rate != rate {
                    return Err(Error::Invalid(format!(
                        "{}: {} Hz, but the scene renders at {rate} Hz",
                        p.display(),
                        src.info().sample_rate
                    )));
                }
                Some(Master {
                    src,
                    path: p.clone(),
                    tracks: Vec::new(),
                    planar: Vec::new(),
                    next: Vec::new(),
                    ahead: None,
                })
            }
            None => None,
        };
        for (i, ob) in scene.objects.iter().enumerate() {
            let g = group_name(&ob.group);
            let at = format!("{}: object {} ('{}')", scene.origin, i + 1, ob.name);
            if ob.mute || !opts.groups.admits(g) {
                continue;
            }
            if let Some(part) = &opts.room_part {
                let key = crate::binaural::RoomKey::of(
                    ob.binaural,
                    ob.binaural_drr_db,
                    ob.head_locked,
                    part.default,
                );
                if key != part.key || (part.only_points && !ob.is_point()) {
                    continue;
                }
            }
            let signal = match &ob.source {
                Source::File { path, channel } => {
                    let p = scene.resolve_path(path);
                    let file = FileSource::open(&p, rate, &at)?;
                    any_file = true;
                    longest = longest.max(known_length(&file, &p, scene, &at)?);
                    let c = match (*channel, file.channels()) {
                        (Some(c), n) if c < n => c,
                        (Some(c), n) => {
                            return Err(Error::Invalid(format!(
                                "{at}: channel {c} does not exist in {} ({n} channels; channels count from 0)",
                                p.display()
                            )))
                        }
                        (None, 1) => 0,
                        (None, n) => {
                            return Err(Error::Invalid(format!(
                                "{at}: {} has {n} channels but an object is mono; add `channel: N` (0 to {}) to the source",
                                p.display(),
                                n - 1
                            )))
                        }
                    };
                    Signal::File {
                        file,
                        pick: vec![c],
                    }
                }
                Source::Generator(gen) => {
                    Signal::Generators(vec![GeneratorState::new(gen, rate, i as u64)])
                }
                Source::Tracks { .. } => {
                    return Err(Error::Invalid(format!(
                        "{at}: an object is mono; several master tracks are for an HOA bed"
                    )))
                }
                Source::Track { index } => {
                    let m = master.as_mut().ok_or_else(|| {
                        Error::Invalid(format!(
                            "{at}: a track source needs the scene's master file"
                        ))
                    })?;
                    let ch = m.src.info().channels;
                    if *index >= ch {
                        return Err(Error::Invalid(format!(
                            "{at}: track {} does not exist in {} ({ch} channels)",
                            index + 1,
                            m.path.display()
                        )));
                    }
                    any_file = true;
                    longest = longest.max(m.src.info().frames.unwrap_or(0));
                    Signal::Track(m.slot(*index))
                }
            };
            if let Some(tl) = &ob.timeline {
                if block_gains.is_none() {
                    block_gains = Some(BlockGains::new(
                        layout,
                        opts.cartesian_as_polar,
                        has_diffuse,
                    )?);
                }
                let bg = block_gains.as_ref().expect("just made");
                if !bg.takes_cartesian()
                    && tl
                        .blocks
                        .iter()
                        .any(|b| matches!(b.target, scene::BlockTarget::Cartesian { .. }))
                {
                    return Err(Error::Invalid(format!(
                        "{at}: a Cartesian (cartesian=\"1\") object needs allocentric speaker positions, which layout '{}' does not give; add `allocentric` positions to its speakers or choose a built-in layout",
                        layout.name
                    )));
                }
                let direct = match signal {
                    Signal::Track(slot) => Some(slot),
                    _ => None,
                };
                signals.push(signal);
                members.push(Member {
                    origin: Origin::Object(i),
                    group: groups.iter().position(|x| x == g).expect("admitted group"),
                    direct,
                    buf: vec![vec![0.0; BLOCK]],
                    eq: vec![Chain::new(&[], rate)],
                    static_gain: db_to_gain(scene.master_gain_db),
                    gain_keys: Vec::new(),
                    kind: Kind::Timeline(Box::new(TimelineState::new(
                        tl.blocks.clone(),
                        rate,
                        at.clone(),
                    ))),
                    points: Vec::new(),
                    bounds: Vec::new(),
                    active: vec![false; channels * if has_diffuse { 2 } else { 1 }],
                    carried: None,
                    dirs: Vec::new(),
                });
                continue;
            }
            let lfe = match ob.lfe_send_db {
                Some(db) if !lfe_channels.is_empty() => {
                    let share = 1.0 / (lfe_channels.len() as f64).sqrt();
                    Some((
                        db_to_gain(db) * share,
                        Chain::linkwitz_riley_lowpass(LFE_SEND_CUTOFF_HZ, rate),
                    ))
                }
                _ => None,
            };
            let params = ob.param_automation().map(|mut p| {
                p.reference_screen = scene.reference_screen;
                Box::new(p)
            });
            if params.is_some() && object_gains.is_none() {
                object_gains = Some(ObjectGains::new(layout)?);
            }
            // A diffuse object's rows: direct gains, then diffuse gains.
            let stride = if ob.is_diffuse() {
                2 * channels
            } else {
                channels
            };
            signals.push(signal);
            members.push(Member {
                origin: Origin::Object(i),
                group: groups.iter().position(|x| x == g).expect("admitted group"),
                direct: None,
                buf: vec![vec![0.0; BLOCK]],
                eq: vec![Chain::new(&ob.eq, rate)],
                static_gain: db_to_gain(ob.gain_db + scene.master_gain_db),
                gain_keys: ob.gain.clone(),
                kind: Kind::Object {
                    keys: ob.position.clone(),
                    params,
                    lfe,
                    lfe_buf: vec![0.0; BLOCK],
                },
                points: Vec::new(),
                bounds: Vec::new(),
                active: vec![false; stride],
                carried: None,
                dirs: Vec::new(),
            });
        }
        // HOA decoders, designed once per render for each format its beds use.
        let mut allrad: Option<crate::panner::allrad::AllRad> = None;
        let mut decoders: Vec<(crate::panner::allrad::HoaFormat, Vec<Vec<f64>>)> = Vec::new();
        for (i, bed) in scene.beds.iter().enumerate() {
            let g = group_name(&bed.group);
            let at = format!("{}: bed {} ('{}')", scene.origin, i + 1, bed.name);
            if bed.mute || !opts.groups.admits(g) {
                continue;
            }
            if let Some(part) = &opts.room_part {
                let key = crate::binaural::RoomKey::of(bed.binaural, None, false, part.default);
                if key != part.key || part.only_points {
                    continue;
                }
            }
            // The bed's input channels, which of them are LFE (silent for generators), and
            // its matrix onto the output layout.
            let (n_in, in_lfe, matrix, what) = match (&bed.ambisonics, &bed.layout) {
                (Some(amb), _) => {
                    let format = crate::panner::allrad::HoaFormat {
                        components: amb.components(),
                        normalization: amb.normalization,
                    };
                    format
                        .check()
                        .map_err(|e| Error::Invalid(format!("{at}.ambisonics: {e}")))?;
                    let matrix = match decoders.iter().find(|(f, _)| *f == format) {
                        Some((_, m)) => m.clone(),
                        None => {
                            if allrad.is_none() {
                                allrad = Some(crate::panner::allrad::AllRad::new(layout)?);
                            }
                            let m = allrad
                                .as_ref()
                                .expect("just made")
                                .design(&format, false)
                                .map_err(|e| Error::Invalid(format!("{at}.ambisonics: {e}")))?;
                            decoders.push((format.clone(), m.clone()));
                            m
                        }
                    };
                    let n = format.components.len();
                    let what = if amb.components.is_empty() {
                        format!(
                            "an order-{} Ambisonics bed needs ({}+1)^2 = {n}",
                            amb.order, amb.order
                        )
                    } else {
                        format!("its HOA format has {n}")
                    };
                    // W (ACN 0) alone carries a generator's signal.
                    let in_lfe = format.components.iter().map(|c| *c != (0, 0)).collect();
                    (n, in_lfe, matrix, what)
                }
                (None, Some(name)) => {
                    let bed_layout = Layout::resolve(name)
                        .map_err(|e| Error::Invalid(format!("{at}.layout: {e}")))?;
                    let n = bed_layout.channels();
                    let what = format!("layout '{}' has {n}", bed_layout.name);
                    let in_lfe = bed_layout.speakers.iter().map(|s| s.lfe).collect();
                    (n, in_lfe, bed_matrix(&bed_layout, layout)?, what)
                }
                (None, None) => {
                    return Err(Error::Invalid(format!(
                        "{at}: a bed needs `layout` or `ambisonics`"
                    )))
                }
            };
            let in_lfe: Vec<bool> = in_lfe;
            let signal = match &bed.source {
                Source::File { path, .. } => {
                    let p = scene.resolve_path(path);
                    let file = FileSource::open(&p, rate, &at)?;
                    if file.channels() != n_in {
                        return Err(Error::Invalid(format!(
                            "{at}: {} has {} channels but {what}",
                            p.display(),
                            file.channels(),
                        )));
                    }
                    any_file = true;
                    longest = longest.max(known_length(&file, &p, scene, &at)?);
                    Signal::File {
                        file,
                        pick: (0..n_in).collect(),
                    }
                }
                Source::Track { .. } => {
                    return Err(Error::Invalid(format!(
                        "{at}: a bed cannot read a single master track"
                    )))
                }
                Source::Tracks { indices } => {
                    let m = master.as_mut().ok_or_else(|| {
                        Error::Invalid(format!(
                            "{at}: a track source needs the scene's master file"
                        ))
                    })?;
                    let ch = m.src.info().channels;
                    if indices.len() != n_in {
                        return Err(Error::Invalid(format!(
                            "{at}: {} tracks but {what}",
                            indices.len()
                        )));
                    }
                    if let Some(t) = indices.iter().find(|&&t| t >= ch) {
                        return Err(Error::Invalid(format!(
                            "{at}: track {} does not exist in {} ({ch} channels)",
                            t + 1,
                            m.path.display()
                        )));
                    }
                    any_file = true;
                    longest = longest.max(m.src.info().frames.unwrap_or(0));
                    Signal::Tracks(indices.iter().map(|&t| m.slot(t)).collect())
                }
                Source::Generator(gen) => Signal::Generators(
                    in_lfe
                        .iter()
                        .enumerate()
                        .map(|(c, &lfe)| {
                            let kind = if lfe {
                                scene::Generator::Silence
                            } else {
                                gen.clone()
                            };
                            GeneratorState::new(&kind, rate, 1000 + 97 * i as u64 + c as u64)
                        })
                        .collect(),
                ),
            };
            let span = bed.span.map(|(s, e)| {
                (
                    s.ceil_samples(rate).max(0) as u64,
                    e.map(|e| e.ceil_samples(rate).max(0) as u64),
                )
            });
            signals.push(signal);
            members.push(Member {
                origin: Origin::Bed(i),
                group: groups.iter().position(|x| x == g).expect("admitted group"),
                direct: None,
                buf: vec![vec![0.0; BLOCK]; n_in],
                eq: (0..n_in).map(|_| Chain::new(&bed.eq, rate)).collect(),
                static_gain: db_to_gain(bed.gain_db + scene.master_gain_db),
                gain_keys: bed.gain.clone(),
                kind: Kind::Bed {
                    matrix,
                    out: vec![vec![0.0; BLOCK]; channels],
                    span,
                },
                points: Vec::new(),
                bounds: Vec::new(),
                active: Vec::new(),
                carried: None,
                dirs: Vec::new(),
            });
        }
        if members.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: nothing to render: every object and bed is muted or left out by --only/--without",
                scene.origin
            )));
        }
        let duration = match scene.duration {
            Some(d) => (d * rate as f64).round() as u64,
            None if any_file => longest,
            None => {
                return Err(Error::Invalid(format!(
                    "{}: the scene has no file sources to take its length from; set `duration` (seconds)",
                    scene.origin
                )))
            }
        };
        let start = time_to_frame(opts.start, rate, "--start")?;
        let end = match opts.end {
            Some(e) => time_to_frame(e, rate, "--end")?.min(duration),
            None => duration,
        };
        if start >= end {
            return Err(Error::Invalid(format!(
                "nothing to render: start {:.3} s is not before end {:.3} s (the scene lasts {:.3} s)",
                start as f64 / rate as f64,
                end as f64 / rate as f64,
                duration as f64 / rate as f64
            )));
        }
        let mut r = Renderer {
            layout: layout.clone(),
            panner,
            stem_bufs: vec![vec![vec![0.0; BLOCK]; channels]; groups.len()],
            mix: vec![vec![0.0; BLOCK]; channels],
            ramp: (0..BLOCK).map(|i| i as f32).collect(),
            members,
            signals,
            groups,
            sample_rate: rate,
            pos: 0,
            end,
            master,
            block_gains,
            diffuse: None,
            object_gains,
            detach_points: opts.detach_points,
        };
        if has_diffuse {
            // The engine starts early enough that the filters see the diffuse bus of the
            // TAPS - 1 frames around the first output frame, and runs DELAY frames past the end.
            let first = start.saturating_sub(decorrelate::DELAY as u64 + 1);
            let seeds = decorrelate::seeds(
                &layout
                    .speakers
                    .iter()
                    .map(|s| s.label.clone())
                    .collect::<Vec<_>>(),
            );
            let stems = r.groups.len();
            r.diffuse = Some(Diffuse {
                channels: seeds
                    .iter()
                    .map(|&s| diffuse::DiffuseChannel::new(s, stems))
                    .collect(),
                bufs: vec![vec![vec![0.0; BLOCK]; channels]; stems],
                discard: start - first + decorrelate::DELAY as u64,
                out_pos: start,
                out_end: end,
            });
            r.end = end + decorrelate::DELAY as u64;
            r.skip_to(first)?;
        } else {
            r.skip_to(start)?;
        }
        Ok(r)
    }

    /// Runs the sources (and their EQ) up to `frame` without mixing, so a partial render
    /// hears the same signal as the full one.
    fn skip_to(&mut self, frame: u64) -> Result<()> {
        while self.pos < frame {
            let n = ((frame - self.pos) as usize).min(BLOCK);
            if let Some(m) = self.master.as_mut() {
                m.advance(n)?;
            }
            let shared: &[Vec<f32>] = self.master.as_ref().map(|m| &m.planar[..]).unwrap_or(&[]);
            self.members
                .par_iter_mut()
                .zip(self.signals.par_iter_mut())
                .try_for_each(|(m, sig)| m.advance(sig, n, shared))?;
            self.pos += n as u64;
        }
        Ok(())
    }

    /// The output layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The stems rendered, in order.
    pub fn groups(&self) -> &[String] {
        &self.groups
    }

    /// The sample rate.
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// Frames left to render.
    pub fn remaining(&self) -> u64 {
        match &self.diffuse {
            Some(d) => d.out_end - d.out_pos,
            None => self.end - self.pos,
        }
    }

    /// Renders the next block. Returns the number of frames (0 at the end); the mix is
    /// then in [`Renderer::mix`] and each stem in [`Renderer::stem`], planar.
    pub fn next_block(&mut self) -> Result<usize> {
        let n = (self.remaining() as usize).min(BLOCK);
        if n == 0 {
            return Ok(0);
        }
        if let Some(mut left) = self.diffuse.as_ref().map(|d| d.discard) {
            // The engine's frames before the render's start: filtered, then thrown away.
            while left > 0 {
                let k = (left as usize).min(BLOCK);
                self.step(k)?;
                left -= k as u64;
            }
            let d = self.diffuse.as_mut().expect("a diffuse path");
            d.discard = 0;
            self.step(n)?;
            self.diffuse.as_mut().expect("a diffuse path").out_pos += n as u64;
            return Ok(n);
        }
        self.step(n)?;
        Ok(n)
    }

    /// Frames the engine has left (the output's, plus the diffuse path's look-ahead).
    fn engine_remaining(&self) -> u64 {
        self.end - self.pos
    }

    /// Runs the engine for `n` frames, reading the master (and the next block ahead).
    fn step(&mut self, n: usize) -> Result<()> {
        let Some(mut master) = self.master.take() else {
            return self.process(n, &[]);
        };
        let r = master.advance(n).and_then(|()| {
            // Read the next block while this one is mixed.
            let ahead = ((self.engine_remaining() - n as u64) as usize).min(BLOCK);
            let Master {
                src,
                tracks,
                planar,
                next,
                ahead: slot,
                ..
            } = &mut master;
            let (done, read) = rayon::join(
                || self.process(n, planar),
                || (ahead > 0).then(|| src.read_planar(tracks, next, ahead).map(|_| ())),
            );
            *slot = read.map(|r| (ahead, r));
            done
        });
        self.master = Some(master);
        r
    }

    /// Mixes the next `n` frames, reading master tracks from `shared` (the current block).
    fn process(&mut self, n: usize, shared: &[Vec<f32>]) -> Result<()> {
        let rate = self.sample_rate as f64;
        let pos = self.pos;
        let t0 = pos as f64 / rate;
        let t1 = (pos + n as u64) as f64 / rate;
        let panner = &self.panner;
        let lfe_channels = self.layout.lfe_channels();
        let block_gains = self.block_gains.as_ref();
        let object_gains = self.object_gains.as_ref();
        let detach = self.detach_points;
        self.members
            .par_iter_mut()
            .zip(self.signals.par_iter_mut())
            .try_for_each(|(m, sig)| -> Result<()> {
                m.advance(sig, n, shared)?;
                let amp_at =
                    |t: f64| m.static_gain * db_to_gain(scene::gain_db_at(&m.gain_keys, t));
                match &mut m.kind {
                    Kind::Timeline(tl) => {
                        let chans = m.active.len();
                        let bg = block_gains.expect("timelines have gain calculators");
                        // bounds holds the pieces' (lo, hi) pairs, points their gain rows.
                        let mut pieces = Vec::new();
                        tl.pieces(bg, pos, n, chans, &mut pieces, &mut m.points)?;
                        m.bounds.clear();
                        for &(lo, hi) in &pieces {
                            m.bounds.push(lo);
                            m.bounds.push(hi);
                        }
                        let sg = m.static_gain;
                        m.points.iter_mut().for_each(|g| *g *= sg);
                        m.active.iter_mut().for_each(|a| *a = false);
                        for row in m.points.chunks(chans) {
                            for (a, &g) in m.active.iter_mut().zip(row) {
                                *a |= g != 0.0;
                            }
                        }
                    }
                    Kind::Object {
                        keys, lfe, params, ..
                    } => {
                        let chans = m.active.len();
                        let params = params.as_deref();
                        // The panning gains at time t (direct, then diffuse for a diffuse object).
                        let pan_at = |t: f64, out: &mut Vec<f64>| -> Result<()> {
                            match params {
                                None => {
                                    panner.direction_into(scene::position_at(keys, t), out);
                                    Ok(())
                                }
                                Some(p) => object_pan(
                                    object_gains.expect("made for objects with parameters"),
                                    keys,
                                    p,
                                    t,
                                    out,
                                ),
                            }
                        };
                        let (pan0, a0) = match m.carried.take() {
                            Some(c) => c,
                            None => {
                                let mut g = vec![0.0; chans];
                                pan_at(t0, &mut g)?;
                                (g, amp_at(t0))
                            }
                        };
                        let segments = segment_count(keys, &m.gain_keys, params, t0, t1, n);
                        m.bounds.clear();
                        m.bounds.extend((0..=segments).map(|k| k * n / segments));
                        m.points.resize((segments + 1) * chans, 0.0);
                        m.active.iter_mut().for_each(|a| *a = false);
                        let mut last = (pan0, a0);
                        let detached = detach && params.is_none();
                        m.dirs.clear();
                        for k in 0..=segments {
                            let t = (pos + m.bounds[k] as u64) as f64 / rate;
                            if k > 0 {
                                // A detached object is panned by the binaural renderer, from
                                // its direction: no speaker gains to compute.
                                if !detached {
                                    pan_at(t, &mut last.0)?;
                                }
                                last.1 = amp_at(t);
                            }
                            let (pan, a) = (&last.0, last.1);
                            let row = &mut m.points[k * chans..(k + 1) * chans];
                            if detached {
                                m.dirs.push((scene::position_at(keys, t), a));
                                row.iter_mut().for_each(|g| *g = 0.0);
                            } else {
                                for c in 0..chans {
                                    row[c] = pan[c] * a;
                                    m.active[c] |= row[c] != 0.0;
                                }
                            }
                            if let Some((send, _)) = lfe {
                                for &c in &lfe_channels {
                                    row[c] = *send * a;
                                    m.active[c] |= row[c] != 0.0;
                                }
                            }
                        }
                        m.carried = Some(last);
                    }
                    Kind::Bed { matrix, out, span } => {
                        let a0 = m.carried.take().map(|c| c.1).unwrap_or_else(|| amp_at(t0));
                        let a1 = amp_at(t1);
                        m.carried = Some((Vec::new(), a1));
                        // The frames of this block the bed plays.
                        let (lo, hi) = match *span {
                            None => (0, n),
                            Some((first, last)) => {
                                let end = pos + n as u64;
                                let lo = first.clamp(pos, end) - pos;
                                let hi = last.unwrap_or(end).clamp(pos, end) - pos;
                                (lo as usize, (hi as usize).max(lo as usize))
                            }
                        };
                        for (o, row) in out.iter_mut().zip(matrix.iter()) {
                            o.resize(n, 0.0);
                            o.iter_mut().for_each(|x| *x = 0.0);
                            if lo == hi {
                                continue;
                            }
                            for (inp, &g) in m.buf.iter().zip(row.iter()) {
                                if g != 0.0 {
                                    for (x, &s) in o[lo..hi].iter_mut().zip(inp[lo..hi].iter()) {
                                        *x += (g as f32) * s;
                                    }
                                }
                            }
                            ramp(o, a0, a1);
                        }
                    }
                }
                Ok(())
            })?;
        let members = &self.members;
        let lfe_set = &lfe_channels;
        let ramp_table = &self.ramp;
        // Mix: parallel over output channels, fixed order inside.
        let channels = self.layout.channels();
        // With a diffuse path: each channel's filter state and its stems' diffuse buses.
        let mut diffuse = self.diffuse.take();
        let mut paths: Vec<Option<(diffuse::DiffuseChannel, Vec<Vec<f32>>)>> = match &mut diffuse {
            Some(d) => d
                .channels
                .drain(..)
                .enumerate()
                .map(|(c, ch)| {
                    let bufs = d
                        .bufs
                        .iter_mut()
                        .map(|s| std::mem::take(&mut s[c]))
                        .collect();
                    Some((ch, bufs))
                })
                .collect(),
            None => (0..channels).map(|_| None).collect(),
        };
        type PerChannel = (
            usize,
            Vec<Vec<f32>>,
            Vec<f32>,
            Option<(diffuse::DiffuseChannel, Vec<Vec<f32>>)>,
        );
        let mut per_channel: Vec<PerChannel> = (0..channels)
            .zip(paths.drain(..))
            .map(|(c, path)| {
                (
                    c,
                    self.stem_bufs
                        .iter_mut()
                        .map(|s| std::mem::take(&mut s[c]))
                        .collect(),
                    std::mem::take(&mut self.mix[c]),
                    path,
                )
            })
            .collect();
        per_channel
            .par_iter_mut()
            .for_each(|(c, stems, mix, path)| {
                let c = *c;
                for s in stems.iter_mut() {
                    s.resize(n, 0.0);
                    s.iter_mut().for_each(|x| *x = 0.0);
                }
                if let Some((_, dstems)) = path.as_mut() {
                    for s in dstems.iter_mut() {
                        s.resize(n, 0.0);
                        s.iter_mut().for_each(|x| *x = 0.0);
                    }
                }
                for m in members {
                    let dst = &mut stems[m.group];
                    match &m.kind {
                        Kind::Object { lfe_buf, .. } => {
                            // Row stride: the channels, or twice that for a diffuse object.
                            let chans = m.active.len();
                            let mix_at = |dst: &mut [f32], i: usize, src: &[f32]| {
                                for k in 0..m.bounds.len() - 1 {
                                    let g0 = m.points[k * chans + i];
                                    let g1 = m.points[(k + 1) * chans + i];
                                    if g0 == 0.0 && g1 == 0.0 {
                                        continue;
                                    }
                                    let (lo, hi) = (m.bounds[k], m.bounds[k + 1]);
                                    mix_ramp(&mut dst[lo..hi], &src[lo..hi], g0, g1, ramp_table);
                                }
                            };
                            if m.active[c] {
                                let src = if lfe_set.contains(&c) {
                                    lfe_buf
                                } else {
                                    &m.buf[0]
                                };
                                mix_at(dst, c, src);
                            }
                            if chans > channels && m.active[channels + c] {
                                if let Some((_, dstems)) = path.as_mut() {
                                    mix_at(&mut dstems[m.group], channels + c, &m.buf[0]);
                                }
                            }
                        }
                        Kind::Timeline(_) => {
                            let chans = m.active.len();
                            let src = match m.direct {
                                Some(slot) => &shared[slot],
                                None => &m.buf[0],
                            };
                            // The direct gains at c; with a diffuse path, the diffuse ones at
                            // channels + c, into the stem's diffuse bus.
                            let mix_at = |dst: &mut [f32], i: usize| {
                                for (k, lohi) in m.bounds.chunks(2).enumerate() {
                                    let g0 = m.points[2 * k * chans + i];
                                    let g1 = m.points[(2 * k + 1) * chans + i];
                                    if g0 == 0.0 && g1 == 0.0 {
                                        continue;
                                    }
                                    let (lo, hi) = (lohi[0], lohi[1]);
                                    mix_ramp(&mut dst[lo..hi], &src[lo..hi], g0, g1, ramp_table);
                                }
                            };
                            if m.active[c] {
                                mix_at(dst, c);
                            }
                            if let Some((_, dstems)) = path.as_mut() {
                                if m.active[channels + c] {
                                    mix_at(&mut dstems[m.group], channels + c);
                                }
                            }
                        }
                        Kind::Bed { out, .. } => {
                            for (d, &x) in dst.iter_mut().zip(out[c].iter()) {
                                *d += x;
                            }
                        }
                    }
                }
                if let Some((ch, dstems)) = path.as_mut() {
                    for (g, (s, d)) in stems.iter_mut().zip(dstems.iter()).enumerate() {
                        ch.process(g, s, d);
                    }
                }
                mix.resize(n, 0.0);
                mix.iter_mut().for_each(|x| *x = 0.0);
                for s in stems.iter() {
                    for (d, &x) in mix.iter_mut().zip(s.iter()) {
                        *d += x;
                    }
                }
            });
        for (c, stems, mix, path) in per_channel {
            for (g, s) in stems.into_iter().enumerate() {
                self.stem_bufs[g][c] = s;
            }
            self.mix[c] = mix;
            if let (Some(d), Some((ch, bufs))) = (diffuse.as_mut(), path) {
                d.channels.push(ch);
                for (g, b) in bufs.into_iter().enumerate() {
                    d.bufs[g][c] = b;
                }
            }
        }
        self.diffuse = diffuse;
        self.pos += n as u64;
        Ok(())
    }

    /// The full mix of the last block, planar (one Vec per output channel).
    pub fn mix(&self) -> &[Vec<f32>] {
        &self.mix
    }

    /// With [`RenderOptions::detach_points`]: the detached point objects of the last block
    /// (signal after EQ, control points with direction and amplitude), in scene order.
    pub fn points(&self) -> impl Iterator<Item = crate::binaural::objects::PointBlock<'_>> {
        self.members
            .iter()
            .enumerate()
            .filter(|(_, m)| !m.dirs.is_empty())
            .map(|(i, m)| crate::binaural::objects::PointBlock {
                id: i,
                signal: &m.buf[0],
                bounds: &m.bounds,
                points: &m.dirs,
            })
    }

    /// Reads the next block of every source, with its EQ, without panning or mixing (for
    /// writing the sources out, as `adm export` does). Returns the frames read (0 at the
    /// end); the signals are then in [`Renderer::sources`]. Not for ADM masters, whose items
    /// read the master's tracks in place.
    pub fn advance_sources(&mut self) -> Result<usize> {
        if self.master.is_some() {
            return Err(Error::Invalid(
                "an ADM master's tracks are read in place, not as separate sources".into(),
            ));
        }
        // With a diffuse path the engine starts ahead of the output: the sources are read
        // from the output's start, and the output's position advances with them.
        if let Some(start) = self.diffuse.as_ref().map(|d| d.out_pos) {
            if self.pos < start {
                self.skip_to(start)?;
            }
        }
        let n = (self.remaining() as usize).min(BLOCK);
        if n == 0 {
            return Ok(0);
        }
        self.members
            .par_iter_mut()
            .zip(self.signals.par_iter_mut())
            .try_for_each(|(m, sig)| m.advance(sig, n, &[]))?;
        self.pos += n as u64;
        if let Some(d) = self.diffuse.as_mut() {
            d.out_pos += n as u64;
        }
        Ok(n)
    }

    /// The sources' signals of the last [`Renderer::advance_sources`] block, in scene order
    /// (objects, then beds; muted and filtered-out elements are absent).
    pub fn sources(&self) -> impl Iterator<Item = SourceBlock<'_>> {
        self.members.iter().map(|m| SourceBlock {
            origin: m.origin,
            signal: &m.buf,
            lfe: match &m.kind {
                Kind::Object {
                    lfe: Some(_),
                    lfe_buf,
                    ..
                } => Some(&lfe_buf[..]),
                _ => None,
            },
        })
    }

    /// Swaps output `w` of the last block (0 the mix, then stem `w - 1`) with `planar`, so the
    /// caller owns it while the next block renders into the buffers it gave back (any size:
    /// each block resizes them).
    pub fn swap_output(&mut self, w: usize, planar: &mut Vec<Vec<f32>>) {
        let mine = if w == 0 {
            &mut self.mix
        } else {
            &mut self.stem_bufs[w - 1]
        };
        std::mem::swap(mine, planar);
    }

    /// Stem `g` (index into [`Renderer::groups`]) of the last block, planar.
    pub fn stem(&self, g: usize) -> &[Vec<f32>] {
        &self.stem_bufs[g]
    }
}

/// How many gain segments a block of `n` frames from `t0` to `t1` needs (see [`CONTROL`]).
/// Depends only on the scene and the block grid, never on threads.
fn segment_count(
    keys: &[scene::PositionKey],
    gains: &[scene::GainKey],
    params: Option<&scene::ParamAutomation>,
    t0: f64,
    t1: f64,
    n: usize,
) -> usize {
    let most = n.div_ceil(CONTROL).max(1);
    // Keyframes are sorted by time: binary searches keep this O(log n) per block.
    let key_inside = key_between(keys, |k| k.time, t0, t1);
    let gain_inside = key_between(gains, |k| k.time, t0, t1);
    let param_inside = params.is_some_and(|p| p.key_between(t0, t1));
    if key_inside || gain_inside || param_inside {
        return most;
    }
    let turn = crate::geometry::angle_between(
        &scene::position_at(keys, t0),
        &scene::position_at(keys, t1),
    )
    .to_degrees();
    let fade = (scene::gain_db_at(gains, t1) - scene::gain_db_at(gains, t0)).abs();
    let mut need = (turn / MAX_STEP_DEG).max(fade / MAX_STEP_DB);
    if let Some(p) = params {
        need = need.max(p.steps(t0, t1, MAX_STEP_DEG));
    }
    (need.ceil() as usize).clamp(1, most)
}

/// The gains of a RON object with parameters beyond a point at `t` seconds: BS.2127's object
/// gain calculation ([`ObjectGains::polar`]) at the direction of its position automation
/// (Cartesian keyframes give a direction too, as for point sources), distance 1. `out` holds
/// the layout's channels, or twice as many for a diffuse object: the direct gains times
/// `sqrt(1 - diffuse)`, then the diffuse ones times `sqrt(diffuse)`.
fn object_pan(
    og: &ObjectGains,
    keys: &[scene::PositionKey],
    p: &scene::ParamAutomation,
    t: f64,
    out: &mut [f64],
) -> Result<()> {
    let (az, el, _) = crate::geometry::cartesian_to_polar(scene::position_at(keys, t));
    let params = p.at(t);
    let g = og.polar(az, el, &params)?;
    let n = g.len();
    if out.len() == n {
        out.copy_from_slice(&g);
    } else {
        let (direct, diffuse) = ((1.0 - params.diffuse).sqrt(), params.diffuse.sqrt());
        for (c, x) in g.into_iter().enumerate() {
            out[c] = x * direct;
            out[n + c] = x * diffuse;
        }
    }
    Ok(())
}

/// True if a keyframe of the time-sorted `keys` lies in (t0, t1].
fn key_between<K>(keys: &[K], time: impl Fn(&K) -> f64, t0: f64, t1: f64) -> bool {
    let i = keys.partition_point(|k| time(k) <= t0);
    i < keys.len() && time(&keys[i]) <= t1
}

/// Adds `src` times a gain ramping linearly from `g0` to `g1` over the slice into `dst`.
///
/// On x86-64 CPUs with AVX2 the same loop runs compiled for AVX2 (8 lanes instead of SSE2's
/// 4). The arithmetic is the same (a multiply and an add per sample, never fused), so the
/// result is bit-identical either way.
#[inline]
fn mix_ramp(dst: &mut [f32], src: &[f32], g0: f64, g1: f64, ramp: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above.
        unsafe { mix_ramp_avx2(dst, src, g0, g1, ramp) };
        return;
    }
    mix_ramp_portable(dst, src, g0, g1, ramp);
}

/// [`mix_ramp`] compiled for AVX2.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn mix_ramp_avx2(dst: &mut [f32], src: &[f32], g0: f64, g1: f64, ramp: &[f32]) {
    mix_ramp_portable(dst, src, g0, g1, ramp);
}

/// The loop of [`mix_ramp`], inlined into each instruction-set variant.
#[inline(always)]
fn mix_ramp_portable(dst: &mut [f32], src: &[f32], g0: f64, g1: f64, ramp: &[f32]) {
    let len = dst.len();
    let (g0, dg) = (g0 as f32, ((g1 - g0) / len as f64) as f32);
    for ((d, &x), &r) in dst.iter_mut().zip(src).zip(&ramp[..len]) {
        *d += x * (g0 + dg * r);
    }
}

/// Multiplies a block by a gain ramping linearly from `a0` to `a1`.
fn ramp(x: &mut [f32], a0: f64, a1: f64) {
    let n = x.len();
    let step = (a1 - a0) / n as f64;
    for (i, v) in x.iter_mut().enumerate() {
        *v *= (a0 + step * i as f64) as f32;
    }
}

/// A file's length in frames when the scene needs it for its duration.
fn known_length(file: &FileSource, path: &Path, scene: &Scene, at: &str) -> Result<u64> {
    match (file.frames(), scene.duration) {
        (Some(n), _) => Ok(n),
        (None, Some(_)) => Ok(0),
        (None, None) => Err(Error::Invalid(format!(
            "{at}: the length of {} is not known before decoding it all; set the scene's `duration`",
            path.display()
        ))),
    }
}

fn time_to_frame(t: f64, rate: u32, what: &str) -> Result<u64> {
    if !t.is_finite() || t < 0.0 {
        return Err(Error::Invalid(format!(
            "{what} {t}: expected a finite, non-negative number of seconds"
        )));
    }
    Ok((t * rate as f64).round() as u64)
}

/// The matrix routing a bed's channels onto the output layout (gains[out][in]):
/// [`crate::convert::bed_matrix`].
fn bed_matrix(from: &Layout, to: &Layout) -> Result<Vec<Vec<f64>>> {
    Ok(crate::convert::bed_matrix(from, to)?.gains)
}

/// The outcome of [`render_to_files`].
#[derive(Debug, Clone)]
pub struct RenderSummary {
    /// Frames rendered.
    pub frames: u64,
    /// The sample rate.
    pub sample_rate: u32,
    /// The output layout's channel labels.
    pub channels: Vec<String>,
    /// Per channel: the mix's peak level (linear).
    pub peak: Vec<f32>,
    /// Per channel: samples clipped by an integer output format.
    pub clipped: Vec<u64>,
    /// The files written (mix first, then stems).
    pub files: Vec<std::path::PathBuf>,
}

/// Renders a scene to a WAV file (and, with `stems`, one file per stem beside it named
/// `<out stem>.<group>.wav`). `progress` is called with the frames done after each block.
pub fn render_to_files(
    scene: &Scene,
    layout: &Layout,
    opts: &RenderOptions,
    out: &Path,
    format: crate::io::SampleFormat,
    stems: bool,
    mut progress: impl FnMut(u64, u64) + Send,
) -> Result<RenderSummary> {
    use crate::io::WavWriter;
    let mut r = Renderer::new(scene, layout, opts)?;
    let mask = layout.wave_channel_mask().unwrap_or(0);
    let rate = scene.sample_rate;
    let ch = layout.channels();
    let mut paths = vec![out.to_path_buf()];
    if stems {
        for g in r.groups() {
            paths.push(stem_path(out, g));
        }
    }
    for (i, p) in paths.iter().enumerate() {
        scene.check_not_an_input(p)?;
        if paths[..i].contains(p) {
            return Err(Error::Invalid(format!(
                "{}: two outputs would have the same name",
                p.display()
            )));
        }
    }
    let mut writers = paths
        .iter()
        .map(|p| WavWriter::create(p, rate, ch, format, mask))
        .collect::<Result<Vec<_>>>()?;
    let tr = opts.output_time_reference(rate);
    let desc = format!("mixstage render of {} ({})", scene.origin, layout.name);
    for w in writers.iter_mut() {
        w.set_bext(&output_bext(&desc, rate, format, ch, tr))?;
    }
    let total = r.remaining();
    // The loop runs on a worker of the thread pool, so the calling thread sleeps instead of
    // competing with the workers for the cores while they wait between blocks.
    let done = rayon::scope(|_| -> Result<u64> {
        let mut done = 0;
        // Block k is interleaved and written while block k + 1 is rendered: the renderer's
        // output buffers are swapped out after each block (planar, one set per file).
        let mut last: Vec<Vec<Vec<f32>>> = vec![vec![Vec::new(); ch]; writers.len()];
        let mut inter = Vec::<f32>::with_capacity(BLOCK * ch);
        let mut pending = 0;
        loop {
            let (wrote, rendered) = rayon::join(
                || -> Result<()> {
                    for (w, planar) in writers.iter_mut().zip(&last) {
                        interleave(planar, pending, &mut inter);
                        w.write(&inter)?;
                    }
                    Ok(())
                },
                || r.next_block(),
            );
            wrote?;
            let n = rendered?;
            if n == 0 {
                break;
            }
            for (w, planar) in last.iter_mut().enumerate() {
                r.swap_output(w, planar);
            }
            pending = n;
            done += n as u64;
            progress(done, total);
        }
        Ok(done)
    })?;
    let mut stats = Vec::new();
    for w in writers {
        stats.push(w.finalize(rate, mask)?);
    }
    Ok(RenderSummary {
        frames: done,
        sample_rate: rate,
        channels: layout.labels(),
        peak: stats[0].peak.clone(),
        clipped: stats[0].clipped.clone(),
        files: paths,
    })
}

/// Interleaves the first `n` frames of planar `src` into `out` (resized to fit).
fn interleave(src: &[Vec<f32>], n: usize, out: &mut Vec<f32>) {
    let ch = src.len();
    out.resize(n * ch, 0.0);
    for (c, chan) in src.iter().enumerate() {
        for (f, &x) in chan[..n].iter().enumerate() {
            out[f * ch + c] = x;
        }
    }
}

/// The file name of a stem: `mix.wav` + `dialogue` -> `mix.dialogue.wav`.
pub fn stem_path(out: &Path, group: &str) -> std::path::PathBuf {
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "mix".into());
    let safe: String = group
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    out.with_file_name(format!("{stem}.{safe}.wav"))
}

/// The dense virtual layout a scene is rendered onto for headphones (`render --binaural`):
/// 55 virtual loudspeakers plus an LFE. Ear level every 15 degrees of azimuth (24), 30 degrees
/// above and below every 30 degrees (12 + 12), 60 degrees above every 60 degrees (6), and one
/// overhead. Objects between the speakers of a coarse layout stay sharp, and every direction
/// lies on the MIT KEMAR measurement grid, so the built-in HRTF set is used without any
/// direction error.
pub fn binaural_virtual_layout() -> Layout {
    use crate::layout::Speaker;
    let mut speakers = Vec::new();
    let mut ring = |prefix: &str, el: f64, step: usize| {
        for az in (0..360).step_by(step) {
            let a = crate::geometry::wrap_azimuth(az as f64);
            speakers.push(Speaker {
                label: format!("{prefix}{:+04}", a as i64),
                aliases: vec![],
                azimuth: a,
                elevation: el,
                lfe: false,
                allocentric: None,
            });
        }
    };
    ring("M", 0.0, 15);
    ring("U", 30.0, 30);
    ring("B", -30.0, 30);
    ring("H", 60.0, 60);
    speakers.push(Speaker {
        label: "T+000".into(),
        aliases: vec![],
        azimuth: 0.0,
        elevation: 90.0,
        lfe: false,
        allocentric: None,
    });
    speakers.push(Speaker {
        label: "LFE1".into(),
        aliases: vec!["LFE".into()],
        azimuth: 45.0,
        elevation: -30.0,
        lfe: true,
        allocentric: None,
    });
    Layout {
        name: "binaural-virtual".into(),
        aliases: vec![],
        description: "Dense virtual layout for binaural scene renders".into(),
        speakers,
        screen: None,
    }
}

/// A scene rendered for headphones block by block.
///
/// Sources are grouped by the room they are heard in ([`crate::binaural::RoomKey`]: their
/// `binaural` mode, or the render's default, and an ADM DRR); each group is one part, rendered
/// by its own [`Renderer`] and summed at the ears:
/// * **Off**: rendered onto stereo as `render --layout stereo` would.
/// * **Near, Mid, Far**: point objects (RON objects with no BS.2127 parameters beyond a
///   position) from their own directions through interpolated HRTFs
///   ([`crate::binaural::objects`]); everything else (beds, objects with extent, divergence or
///   diffuseness, ADM items, LFE sends) onto [`binaural_virtual_layout`], heard through virtual
///   loudspeakers at those directions with the same interpolated HRTFs. In Mid and Far the
///   virtual loudspeakers carry the room (reflections at their own directions, and the late
///   tail), and the point objects' room comes from a second pass of them onto the virtual
///   loudspeakers with the room alone.
///
/// A range that starts late pre-rolls one filter length, so the convolutions are warmed up and
/// the range sounds as it does in the full render.
pub struct BinauralStream {
    parts: Vec<Part>,
    skip: usize,
    preroll: u64,
    left: Vec<f32>,
    right: Vec<f32>,
}

/// One room of a [`BinauralStream`].
enum Part {
    Stereo(Box<Renderer>),
    Phones(Box<PhonesPart>),
}

/// A part heard through HRTFs (Near, Mid, Far).
struct PhonesPart {
    r: Renderer,
    phones: crate::binaural::BinauralRenderer,
    objects: crate::binaural::objects::ObjectBinaural,
    /// Mid and Far: the point objects again, for their room.
    room: Option<(Renderer, crate::binaural::BinauralRenderer)>,
    has_points: bool,
    /// Scratch for the speaker renderers' ears.
    ears: [Vec<f32>; 2],
}

/// `dst += src`, sample by sample.
fn add_into(dst: &mut [f32], src: &[f32]) {
    for (d, x) in dst.iter_mut().zip(src) {
        *d += x;
    }
}

impl BinauralStream {
    /// Prepares the render of `scene` with `opts` through `hrtf`, every source without a mode
    /// of its own in `mode`.
    pub fn with_mode(
        scene: &Scene,
        opts: &RenderOptions,
        hrtf: &crate::binaural::Hrtf,
        mode: crate::binaural::room::Mode,
    ) -> Result<BinauralStream> {
        use crate::binaural::room::Mode;
        use crate::binaural::{
            interp::Interpolated, objects::ObjectBinaural, BinauralOptions, BinauralRenderer,
            RoomKey, RoomPart,
        };
        let layout = binaural_virtual_layout();
        let rate = scene.sample_rate;
        if hrtf.sample_rate() != rate {
            return Err(Error::Invalid(format!(
                "the HRIRs ({}) are at {} Hz but the scene is at {rate} Hz",
                hrtf.origin(),
                hrtf.sample_rate()
            )));
        }
        // The rooms the scene's sources are heard in, in order of appearance.
        let mut keys: Vec<(RoomKey, bool)> = Vec::new();
        let mut add = |k: RoomKey, point: bool| match keys.iter_mut().find(|e| e.0 == k) {
            Some(e) => e.1 |= point,
            None => keys.push((k, point)),
        };
        for ob in scene
            .objects
            .iter()
            .filter(|o| !o.mute && opts.groups.admits(group_name(&o.group)))
        {
            add(
                RoomKey::of(ob.binaural, ob.binaural_drr_db, ob.head_locked, mode),
                ob.is_point(),
            );
        }
        for bed in scene
            .beds
            .iter()
            .filter(|b| !b.mute && opts.groups.admits(group_name(&b.group)))
        {
            add(RoomKey::of(bed.binaural, None, false, mode), false);
        }
        if keys.is_empty() {
            // Nothing admitted: let the renderer report it.
            Renderer::new(scene, &layout, opts)?;
        }
        // Every part renders the same length: the whole scene's.
        let fixed;
        let scene = if scene.duration.is_none() && keys.len() > 1 {
            let whole = Renderer::new(
                scene,
                &Layout::resolve("stereo")?,
                &RenderOptions::default(),
            )?;
            let mut s = scene.clone();
            s.duration = Some(whole.remaining() as f64 / rate as f64);
            fixed = s;
            &fixed
        } else {
            scene
        };
        let needs_hrtf = keys.iter().any(|k| k.0.mode != Mode::Off);
        let ip = if needs_hrtf {
            Some(std::sync::Arc::new(Interpolated::new(hrtf)?))
        } else {
            None
        };
        let start = time_to_frame(opts.start, rate, "--start")?;
        let mut parts = Vec::new();
        let mut longest_tail = 0usize;
        let mut made: Vec<(
            RoomKey,
            bool,
            Option<BinauralRenderer>,
            Option<BinauralRenderer>,
        )> = Vec::new();
        for &(key, has_points) in &keys {
            if key.mode == Mode::Off {
                made.push((key, has_points, None, None));
                continue;
            }
            let ip = ip.as_ref().expect("made for HRTF modes");
            // Head-locked sources stay with the head: no head rotation for them.
            let head = if key.head_locked { [0.0; 3] } else { opts.head };
            let options = BinauralOptions {
                head,
                mode: key.mode,
                drr_db: key.drr_db,
                ..Default::default()
            };
            let phones = BinauralRenderer::from_speakers_interpolated(
                &layout.speakers,
                hrtf,
                ip,
                BLOCK,
                &options,
            )?;
            let room = if has_points && matches!(key.mode, Mode::Mid | Mode::Far) {
                let room_only = BinauralOptions {
                    room_only: true,
                    gain: Some(phones.gain()),
                    ..options
                };
                Some(BinauralRenderer::from_speakers_interpolated(
                    &layout.speakers,
                    hrtf,
                    ip,
                    BLOCK,
                    &room_only,
                )?)
            } else {
                None
            };
            longest_tail = longest_tail.max(phones.tail_len());
            made.push((key, has_points, Some(phones), room));
        }
        let preroll = start.min(longest_tail as u64);
        let shifted = |part: RoomPart, detach: bool| RenderOptions {
            start: (start - preroll) as f64 / rate as f64,
            cartesian_as_polar: true,
            detach_points: detach,
            room_part: Some(part),
            ..opts.clone()
        };
        for (key, has_points, phones, room) in made {
            let part = RoomPart {
                default: mode,
                key,
                only_points: false,
            };
            match phones {
                None => {
                    let stereo = Layout::resolve("stereo")?;
                    let o = RenderOptions {
                        cartesian_as_polar: false,
                        ..shifted(part, false)
                    };
                    parts.push(Part::Stereo(Box::new(Renderer::new(scene, &stereo, &o)?)));
                }
                Some(phones) => {
                    let ip = ip.clone().expect("made for HRTF modes");
                    let head = if key.head_locked { [0.0; 3] } else { opts.head };
                    let objects = ObjectBinaural::new(
                        ip,
                        BLOCK,
                        BinauralOptions {
                            head,
                            ..Default::default()
                        }
                        .head_rotation(),
                        phones.gain(),
                    )?;
                    let r = Renderer::new(scene, &layout, &shifted(part, true))?;
                    let room = match room {
                        Some(rp) => {
                            let only = RoomPart {
                                only_points: true,
                                ..part
                            };
                            Some((Renderer::new(scene, &layout, &shifted(only, false))?, rp))
                        }
                        None => None,
                    };
                    parts.push(Part::Phones(Box::new(PhonesPart {
                        r,
                        phones,
                        objects,
                        room,
                        has_points,
                        ears: [vec![0.0; BLOCK], vec![0.0; BLOCK]],
                    })));
                }
            }
        }
        Ok(BinauralStream {
            parts,
            skip: preroll as usize,
            preroll,
            left: vec![0.0; BLOCK],
            right: vec![0.0; BLOCK],
        })
    }

    /// Prepares the render of `scene` with `opts` through `hrtf`, sources without a mode of
    /// their own in [`RenderOptions::binaural_mode`].
    pub fn new(
        scene: &Scene,
        opts: &RenderOptions,
        hrtf: &crate::binaural::Hrtf,
    ) -> Result<BinauralStream> {
        Self::with_mode(scene, opts, hrtf, opts.binaural_mode)
    }

    /// Frames still to render, the pre-roll included.
    pub fn remaining(&self) -> u64 {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Stereo(r) => r.remaining(),
                Part::Phones(p) => p.r.remaining(),
            })
            .max()
            .unwrap_or(0)
    }

    /// Frames of pre-roll rendered before the output starts.
    pub fn preroll(&self) -> u64 {
        self.preroll
    }

    /// Renders the next block; `None` at the end. The two channels may be empty while the
    /// pre-roll is rendered.
    pub fn next_block(&mut self) -> Result<Option<(&[f32], &[f32])>> {
        let mut n = 0;
        self.left.fill(0.0);
        self.right.fill(0.0);
        let (left, right) = (&mut self.left, &mut self.right);
        for part in self.parts.iter_mut() {
            match part {
                Part::Stereo(r) => {
                    let m = r.next_block()?;
                    n = n.max(m);
                    let mix = r.mix();
                    add_into(&mut left[..m], &mix[0][..m]);
                    add_into(&mut right[..m], &mix[1][..m]);
                }
                Part::Phones(p) => {
                    let PhonesPart {
                        r,
                        phones,
                        objects,
                        room,
                        has_points,
                        ears,
                    } = &mut **p;
                    let m = r.next_block()?;
                    if m == 0 {
                        continue;
                    }
                    n = n.max(m);
                    let [sl, sr] = ears;
                    let planar: Vec<&[f32]> = r.mix().iter().map(|c| &c[..m]).collect();
                    phones.process_planar(&planar, &mut sl[..m], &mut sr[..m])?;
                    add_into(&mut left[..m], &sl[..m]);
                    add_into(&mut right[..m], &sr[..m]);
                    if *has_points {
                        let points: Vec<_> = r.points().collect();
                        objects.process(&points, m, &mut left[..m], &mut right[..m])?;
                    }
                    if let Some((rr, rp)) = room.as_mut() {
                        let k = rr.next_block()?;
                        if k > 0 {
                            let planar: Vec<&[f32]> = rr.mix().iter().map(|c| &c[..k]).collect();
                            rp.process_planar(&planar, &mut sl[..k], &mut sr[..k])?;
                            add_into(&mut left[..k], &sl[..k]);
                            add_into(&mut right[..k], &sr[..k]);
                        }
                    }
                }
            }
        }
        if n == 0 {
            return Ok(None);
        }
        let from = self.skip.min(n);
        self.skip -= from;
        Ok(Some((&self.left[from..n], &self.right[from..n])))
    }
}

/// Renders a scene straight to headphones ([`BinauralStream`]) as a two-channel WAV.
pub fn render_binaural_to_file(
    scene: &Scene,
    opts: &RenderOptions,
    hrtf: &crate::binaural::Hrtf,
    out: &Path,
    format: crate::io::SampleFormat,
    mut progress: impl FnMut(u64, u64) + Send,
) -> Result<RenderSummary> {
    use crate::io::WavWriter;
    scene.check_not_an_input(out)?;
    let rate = scene.sample_rate;
    let mut phones = BinauralStream::new(scene, opts, hrtf)?;
    let mut w = WavWriter::create(out, rate, 2, format, 0x3)?;
    w.set_bext(&output_bext(
        &format!("mixstage binaural render of {}", scene.origin),
        rate,
        format,
        2,
        opts.output_time_reference(rate),
    ))?;
    let total = phones.remaining();
    let preroll = phones.preroll();
    let mut inter = vec![0f32; 2 * BLOCK];
    let done = rayon::scope(|_| -> Result<u64> {
        let mut done = 0;
        while let Some((left, right)) = phones.next_block()? {
            for (f, (l, r)) in left.iter().zip(right).enumerate() {
                inter[2 * f] = *l;
                inter[2 * f + 1] = *r;
            }
            w.write(&inter[..2 * left.len()])?;
            done += left.len() as u64;
            progress(done + preroll.min(done), total);
        }
        Ok(done)
    })?;
    let stats = w.finalize(rate, 0x3)?;
    Ok(RenderSummary {
        frames: done,
        sample_rate: rate,
        channels: vec!["left".into(), "right".into()],
        peak: stats.peak,
        clipped: stats.clipped,
        files: vec![out.to_path_buf()],
    })
}
