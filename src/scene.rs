//! Scenes: audio objects with automated position, gain and EQ, plus channel beds,
//! grouped into stems. Read from RON files; see the README for the full reference.
//!
//! Automation is a list of keyframes. A keyframe's `interp` says how the value travels
//! *from the previous keyframe to this one*: `Step` jumps at this keyframe's time,
//! `Linear` moves at constant speed, `Smooth` eases in and out (a cosine ramp). Before the
//! first keyframe the value is the first keyframe's; after the last, the last one's.
//! Polar positions interpolate azimuth the short way round unless the keyframe sets
//! `long_way: true`; Cartesian positions interpolate in x/y/z.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::eq::Band;
use crate::error::{Error, Result};
use crate::geometry::{self, Vec3};
use crate::time::Time;

/// How a value moves from the previous keyframe to this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Interp {
    /// Hold the previous value, jump at this keyframe's time.
    Step,
    /// Constant-speed movement.
    #[default]
    Linear,
    /// Ease in and out (raised-cosine ramp).
    Smooth,
}

/// A built-in test-signal generator, so scenes need no audio files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Generator {
    /// A sine wave.
    Sine {
        /// Frequency in Hz.
        freq: f64,
        /// Peak level in dBFS.
        #[serde(default = "minus_20")]
        level_db: f64,
    },
    /// Pink noise (-3 dB/octave), deterministic for a given seed.
    PinkNoise {
        /// RMS level in dBFS.
        #[serde(default = "minus_20")]
        level_db: f64,
        /// Seed of the random sequence.
        #[serde(default = "one_u64")]
        seed: u64,
    },
    /// A repeating logarithmic sine sweep.
    Sweep {
        /// Start frequency in Hz.
        from: f64,
        /// End frequency in Hz.
        to: f64,
        /// Seconds per sweep (it then starts again).
        period: f64,
        /// Peak level in dBFS.
        #[serde(default = "minus_20")]
        level_db: f64,
    },
    /// A click track: a short 2 kHz tone burst on every beat.
    Clicks {
        /// Beats per minute.
        bpm: f64,
        /// Peak level in dBFS.
        #[serde(default = "minus_20")]
        level_db: f64,
    },
    /// Digital silence.
    Silence,
}

fn minus_20() -> f64 {
    -20.0
}
fn one_u64() -> u64 {
    1
}

/// Where an object's or bed's audio comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Source {
    /// An audio file (WAV, FLAC, ...); the path is relative to the scene file.
    File {
        /// Path of the file, relative to the scene file's folder.
        path: PathBuf,
        /// For an object, the channel to use (0-based) of a multichannel file.
        #[serde(default)]
        channel: Option<usize>,
    },
    /// A built-in generator.
    Generator(Generator),
    /// Track `index` (0-based) of the scene's master file ([`Scene::master`]): how an ADM
    /// master's objects and beds read their audio. Not written in RON scenes.
    #[serde(skip)]
    Track {
        /// 0-based track (channel) of the master file.
        index: usize,
    },
    /// Several tracks (0-based) of the scene's master file, one per bed channel: how an ADM
    /// master's HOA items read their audio. Not written in RON scenes.
    #[serde(skip)]
    Tracks {
        /// 0-based tracks of the master file, in the bed's channel order.
        indices: Vec<usize>,
    },
}

/// A position keyframe: polar (`az`, `el`, `distance`) or Cartesian (`x`, `y`, `z`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PositionKey {
    /// Time in seconds from the start of the scene.
    pub time: f64,
    /// Azimuth in degrees, positive to the left.
    #[serde(default)]
    pub az: Option<f64>,
    /// Elevation in degrees, positive up (default 0).
    #[serde(default)]
    pub el: Option<f64>,
    /// Distance (1 = the speakers; default 1). Panning uses the direction only.
    #[serde(default)]
    pub distance: Option<f64>,
    /// Cartesian x, to the right (room = unit cube).
    #[serde(default)]
    pub x: Option<f64>,
    /// Cartesian y, to the front.
    #[serde(default)]
    pub y: Option<f64>,
    /// Cartesian z, up.
    #[serde(default)]
    pub z: Option<f64>,
    /// How the position travels from the previous keyframe to this one.
    #[serde(default)]
    pub interp: Interp,
    /// Polar only: go the long way round in azimuth from the previous keyframe.
    #[serde(default)]
    pub long_way: bool,
}

/// A gain keyframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GainKey {
    /// Time in seconds.
    pub time: f64,
    /// Gain in dB (interpolated in dB).
    pub db: f64,
    /// How the gain travels from the previous keyframe to this one.
    #[serde(default)]
    pub interp: Interp,
}

/// An audio object: a mono source panned to a moving position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Object {
    /// A unique name.
    pub name: String,
    /// The stem it belongs to (e.g. dialogue, music, effects, ambience).
    #[serde(default)]
    pub group: Option<String>,
    /// The audio.
    pub source: Source,
    /// Static gain in dB.
    #[serde(default)]
    pub gain_db: f64,
    /// Muted objects are not rendered.
    #[serde(default)]
    pub mute: bool,
    /// Position keyframes (at least one).
    pub position: Vec<PositionKey>,
    /// Gain automation keyframes (dB), multiplied with `gain_db`.
    #[serde(default)]
    pub gain: Vec<GainKey>,
    /// A send to the LFE channel(s) in dB (low-passed at 120 Hz).
    #[serde(default)]
    pub lfe_send_db: Option<f64>,
    /// EQ bands applied in order.
    #[serde(default)]
    pub eq: Vec<Band>,
    /// Extent width in degrees (0-360), keyframed: how wide the source sounds, spread over
    /// the neighbouring speakers (BS.2127 `width`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub width: Vec<ValueKey>,
    /// Extent height in degrees (0-360), keyframed (BS.2127 `height`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub height: Vec<ValueKey>,
    /// Extent depth (0-1, the range of distances around the speaker radius), keyframed
    /// (BS.2127 `depth`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depth: Vec<ValueKey>,
    /// Divergence keyframes: two extra copies left and right of the position
    /// (BS.2127 `objectDivergence`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub divergence: Vec<DivergenceKey>,
    /// Diffuseness (0-1), keyframed: the share of the power sent decorrelated to every
    /// speaker (BS.2127 `diffuse`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diffuse: Vec<ValueKey>,
    /// Snap to the nearest speaker (BS.2127 `channelLock`), for the whole object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_lock: Option<ChannelLockSpec>,
    /// Speakers to keep the object out of (BS.2127 `zoneExclusion`), for the whole object.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zone_exclusion: Vec<ZoneSpec>,
    /// The position is relative to the reference screen and follows the layout's screen
    /// (BS.2127 `screenRef`), for the whole object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub screen_ref: bool,
    /// How headphone renders treat it: `Off` (no HRTF, panned to stereo), `Near` (dry),
    /// `Mid` (a small room) or `Far` (more room); None: the render's `--mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binaural: Option<crate::binaural::room::Mode>,
    /// The direct-to-reverberant ratio its room is set to in dB (ADM `headphoneVirtualise`
    /// DRR); None: the mode's own. Not written in RON.
    #[serde(skip)]
    pub binaural_drr_db: Option<f64>,
    /// Heard with the head, not the room: head orientation (`--yaw` and the rest) does not
    /// turn it (ADM `headLocked`). Not written in RON.
    #[serde(skip)]
    pub head_locked: bool,
    /// BS.2127 metadata blocks (ADM input). When present they replace `position`, `gain`
    /// and `gain_db` with BS.2127's per-block rules; RON scenes never set it.
    #[serde(skip)]
    pub timeline: Option<Timeline>,
}

/// A keyframe of a numeric object parameter (`width`, `height`, `depth`, `diffuse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueKey {
    /// Time in seconds.
    pub time: f64,
    /// The value (degrees for width and height, 0-1 for depth and diffuse).
    pub value: f64,
    /// How the value travels from the previous keyframe to this one.
    #[serde(default)]
    pub interp: Interp,
}

/// A divergence keyframe (BS.2127 `objectDivergence`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DivergenceKey {
    /// Time in seconds.
    pub time: f64,
    /// 0-1: 0 is the object alone, 0.5 three equal copies, 1 only the two side copies.
    pub value: f64,
    /// Degrees (0-180) from the position to each side copy (BS.2127 `azimuthRange`,
    /// default 45).
    #[serde(default = "divergence_range")]
    pub range: f64,
    /// How value and range travel from the previous keyframe to this one.
    #[serde(default)]
    pub interp: Interp,
}

fn divergence_range() -> f64 {
    45.0
}

/// BS.2127 `channelLock`: the object plays from its nearest speaker.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelLockSpec {
    /// Lock only to a speaker within this distance (0-2, BS.2127 `maxDistance`; distance
    /// between unit direction vectors); None: always lock.
    #[serde(default)]
    pub max_distance: Option<f64>,
}

/// One zone of `zone_exclusion`: polar (`min_az`, `max_az`, optional `min_el`/`max_el`,
/// default -90/90) or Cartesian (`min_x` ... `max_z`, all six).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// Polar: the zone runs anticlockwise (to the left) from `min_az` to `max_az`, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_az: Option<f64>,
    /// Polar: end azimuth, degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_az: Option<f64>,
    /// Polar: lowest elevation, degrees (default -90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_el: Option<f64>,
    /// Polar: highest elevation, degrees (default 90).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_el: Option<f64>,
    /// Cartesian: lowest x (-1 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_x: Option<f64>,
    /// Cartesian: highest x.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_x: Option<f64>,
    /// Cartesian: lowest y.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_y: Option<f64>,
    /// Cartesian: highest y.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_y: Option<f64>,
    /// Cartesian: lowest z.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_z: Option<f64>,
    /// Cartesian: highest z.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_z: Option<f64>,
}

impl ZoneSpec {
    /// The panner's zone (after validation: a complete polar or Cartesian zone).
    pub fn zone(&self) -> crate::panner::zone::Zone {
        use crate::panner::zone::Zone;
        match (
            self.min_x, self.max_x, self.min_y, self.max_y, self.min_z, self.max_z,
        ) {
            (Some(a), Some(b), Some(c), Some(d), Some(e), Some(f)) => Zone::Cartesian {
                min: [a, c, e],
                max: [b, d, f],
            },
            _ => Zone::Polar {
                min_azimuth: self.min_az.unwrap_or(-180.0),
                max_azimuth: self.max_az.unwrap_or(180.0),
                min_elevation: self.min_el.unwrap_or(-90.0),
                max_elevation: self.max_el.unwrap_or(90.0),
            },
        }
    }

    /// Checks the zone; the error text names the offending field.
    fn validate(&self) -> std::result::Result<(), (String, String)> {
        let polar = [self.min_az, self.max_az, self.min_el, self.max_el];
        let cart = [
            self.min_x, self.max_x, self.min_y, self.max_y, self.min_z, self.max_z,
        ];
        let names = [
            "min_az", "max_az", "min_el", "max_el", "min_x", "max_x", "min_y", "max_y", "min_z",
            "max_z",
        ];
        for (n, v) in names.iter().zip(polar.iter().chain(cart.iter())) {
            if let Some(v) = v {
                if !v.is_finite() {
                    return Err((n.to_string(), format!("{v} is not a finite number")));
                }
            }
        }
        let is_polar = polar.iter().any(Option::is_some);
        let is_cart = cart.iter().any(Option::is_some);
        if is_polar == is_cart {
            return Err((
                String::new(),
                "give either a polar zone (min_az, max_az[, min_el, max_el]) or a Cartesian one (min_x, max_x, min_y, max_y, min_z, max_z)".into(),
            ));
        }
        let order = |lo: f64, hi: f64, n: &str, m: &str| {
            if lo > hi {
                Err((n.to_string(), format!("{n} {lo} is greater than {m} {hi}")))
            } else {
                Ok(())
            }
        };
        if is_polar {
            let (Some(a0), Some(a1)) = (self.min_az, self.max_az) else {
                return Err((String::new(), "a polar zone needs min_az and max_az".into()));
            };
            for (n, v) in [("min_az", a0), ("max_az", a1)] {
                if !(-360.0..=360.0).contains(&v) {
                    return Err((n.into(), format!("{v} must be in [-360, 360] degrees")));
                }
            }
            if a0 > a1 || a1 - a0 > 360.0 {
                return Err((
                    "min_az".into(),
                    format!("min_az {a0} and max_az {a1}: the zone runs anticlockwise (to the left) from min_az up to max_az, at most 360 degrees; a zone across the back is written e.g. min_az: 150, max_az: 210"),
                ));
            }
            let (e0, e1) = (self.min_el.unwrap_or(-90.0), self.max_el.unwrap_or(90.0));
            for (n, v) in [("min_el", e0), ("max_el", e1)] {
                if !(-90.0..=90.0).contains(&v) {
                    return Err((n.into(), format!("{v} must be in [-90, 90] degrees")));
                }
            }
            order(e0, e1, "min_el", "max_el")?;
        } else {
            if cart.iter().any(Option::is_none) {
                return Err((
                    String::new(),
                    "a Cartesian zone needs all of min_x, max_x, min_y, max_y, min_z, max_z".into(),
                ));
            }
            let c: Vec<f64> = cart.iter().map(|v| v.expect("checked")).collect();
            for (k, v) in c.iter().enumerate() {
                if !(-1.0..=1.0).contains(v) {
                    return Err((names[4 + k].into(), format!("{v} must be in [-1, 1]")));
                }
            }
            order(c[0], c[1], "min_x", "max_x")?;
            order(c[2], c[3], "min_y", "max_y")?;
            order(c[4], c[5], "min_z", "max_z")?;
        }
        Ok(())
    }
}

/// Largest change of a unitless object parameter (depth, diffuse, divergence value)
/// between two of the renderer's control points.
pub const MAX_STEP_PARAM: f64 = 0.01;

/// An object's BS.2127 parameters beyond a point, as automation: what
/// [`Object::param_automation`] gathers from the RON fields, sampled with
/// [`ParamAutomation::at`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamAutomation {
    /// Width keyframes (degrees).
    pub width: Vec<ValueKey>,
    /// Height keyframes (degrees).
    pub height: Vec<ValueKey>,
    /// Depth keyframes.
    pub depth: Vec<ValueKey>,
    /// Divergence keyframes.
    pub divergence: Vec<DivergenceKey>,
    /// Diffuse keyframes.
    pub diffuse: Vec<ValueKey>,
    /// Channel lock (static).
    pub channel_lock: Option<ChannelLockSpec>,
    /// Zones excluded (static).
    pub zone_exclusion: Vec<crate::panner::zone::Zone>,
    /// Screen-related (static).
    pub screen_ref: bool,
    /// The scene's reference screen, for `screen_ref` (None: BS.2127's default); set by the
    /// renderer from [`Scene::reference_screen`].
    pub reference_screen: Option<crate::panner::screen::Screen>,
}

impl Object {
    /// An object named `name` playing `source`: at the front (azimuth 0), gain 0 dB, no
    /// automation, EQ, LFE send or parameters beyond a point.
    pub fn new(name: impl Into<String>, source: Source) -> Object {
        Object {
            name: name.into(),
            group: None,
            source,
            gain_db: 0.0,
            mute: false,
            position: vec![PositionKey::default()],
            gain: Vec::new(),
            lfe_send_db: None,
            eq: Vec::new(),
            width: Vec::new(),
            height: Vec::new(),
            depth: Vec::new(),
            divergence: Vec::new(),
            diffuse: Vec::new(),
            channel_lock: None,
            zone_exclusion: Vec::new(),
            screen_ref: false,
            binaural: None,
            binaural_drr_db: None,
            head_locked: false,
            timeline: None,
        }
    }

    /// True for a RON object with a position and nothing more (no BS.2127 parameters, no ADM
    /// timeline): the objects a headphone render takes from their own directions.
    pub fn is_point(&self) -> bool {
        self.timeline.is_none() && self.param_automation().is_none()
    }

    /// The object's parameters beyond a point; None when it sets none of them (then it is
    /// rendered as a point source, exactly as before they existed).
    pub fn param_automation(&self) -> Option<ParamAutomation> {
        let any = !(self.width.is_empty()
            && self.height.is_empty()
            && self.depth.is_empty()
            && self.divergence.is_empty()
            && self.diffuse.is_empty()
            && self.channel_lock.is_none()
            && self.zone_exclusion.is_empty()
            && !self.screen_ref);
        any.then(|| ParamAutomation {
            width: self.width.clone(),
            height: self.height.clone(),
            depth: self.depth.clone(),
            divergence: self.divergence.clone(),
            diffuse: self.diffuse.clone(),
            channel_lock: self.channel_lock.clone(),
            zone_exclusion: self.zone_exclusion.iter().map(ZoneSpec::zone).collect(),
            screen_ref: self.screen_ref,
            reference_screen: None,
        })
    }

    /// True if the object is ever diffuse (a diffuse keyframe above 0).
    pub fn is_diffuse(&self) -> bool {
        self.diffuse.iter().any(|k| k.value > 0.0)
    }
}

/// The value of numeric keyframes at `time` (`default` when there are none).
pub fn value_at(keys: &[ValueKey], time: f64, default: f64) -> f64 {
    if keys.is_empty() {
        return default;
    }
    let (a, b, t) = segment(keys, |k| k.time, time);
    if a == b {
        return keys[a].value;
    }
    let s = shape(keys[b].interp, t);
    keys[a].value + (keys[b].value - keys[a].value) * s
}

/// Divergence (value, range in degrees) at `time`; None when there is none.
pub fn divergence_at(keys: &[DivergenceKey], time: f64) -> Option<(f64, f64)> {
    if keys.is_empty() {
        return None;
    }
    let (a, b, t) = segment(keys, |k| k.time, time);
    let (v, r) = if a == b {
        (keys[a].value, keys[a].range)
    } else {
        let s = shape(keys[b].interp, t);
        let (ka, kb) = (&keys[a], &keys[b]);
        (
            ka.value + (kb.value - ka.value) * s,
            ka.range + (kb.range - ka.range) * s,
        )
    };
    (v != 0.0).then_some((v, r))
}

impl ParamAutomation {
    /// BS.2127's parameters at `time` seconds (distance 1: RON objects pan by direction).
    pub fn at(&self, time: f64) -> ObjectParams {
        ObjectParams {
            distance: 1.0,
            width: value_at(&self.width, time, 0.0),
            height: value_at(&self.height, time, 0.0),
            depth: value_at(&self.depth, time, 0.0),
            divergence: divergence_at(&self.divergence, time),
            channel_lock: self.channel_lock.as_ref().map(|c| c.max_distance),
            zone_exclusion: self.zone_exclusion.clone(),
            diffuse: value_at(&self.diffuse, time, 0.0),
            screen_ref: self.screen_ref,
            reference_screen: self.reference_screen,
            screen_edge_lock: Default::default(),
        }
    }

    /// True if a keyframe of any parameter lies in (t0, t1].
    pub fn key_between(&self, t0: f64, t1: f64) -> bool {
        let v = |k: &[ValueKey]| {
            let i = k.partition_point(|k| k.time <= t0);
            i < k.len() && k[i].time <= t1
        };
        let i = self.divergence.partition_point(|k| k.time <= t0);
        v(&self.width)
            || v(&self.height)
            || v(&self.depth)
            || v(&self.diffuse)
            || (i < self.divergence.len() && self.divergence[i].time <= t1)
    }

    /// How many control points the parameters' change from `t0` to `t1` needs: one per
    /// `max_deg` degrees of width, height or divergence range, one per [`MAX_STEP_PARAM`]
    /// of depth, diffuse or divergence value.
    pub fn steps(&self, t0: f64, t1: f64, max_deg: f64) -> f64 {
        let d = |k: &[ValueKey]| (value_at(k, t1, 0.0) - value_at(k, t0, 0.0)).abs();
        let (v0, r0) = divergence_at(&self.divergence, t0).unwrap_or((0.0, 0.0));
        let (v1, r1) = divergence_at(&self.divergence, t1).unwrap_or((0.0, 0.0));
        let deg = d(&self.width).max(d(&self.height)).max((r1 - r0).abs());
        let unit = d(&self.depth).max(d(&self.diffuse)).max((v1 - v0).abs());
        (deg / max_deg).max(unit / MAX_STEP_PARAM)
    }
}

/// Where one BS.2127 metadata block places its signal.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockTarget {
    /// An object at a polar direction (degrees, azimuth left-positive): the point-source panner.
    Polar {
        /// Azimuth, degrees.
        azimuth: f64,
        /// Elevation, degrees.
        elevation: f64,
    },
    /// An object at an allocentric Cartesian position (`cartesian="1"`): the allocentric panner.
    Cartesian {
        /// x, to the right, -1 to 1.
        x: f64,
        /// y, to the front.
        y: f64,
        /// z, up.
        z: f64,
    },
    /// A DirectSpeakers channel: BS.2127's DirectSpeakers rules.
    Speaker(Box<crate::panner::direct_speakers::SpeakerChannel>),
}

/// One metadata block of a BS.2127 timeline (absolute times, seconds as exact fractions).
#[derive(Debug, Clone, PartialEq)]
pub struct MetaBlock {
    /// Start of the block.
    pub start: Time,
    /// End of the block (None: to the end of the programme).
    pub end: Option<Time>,
    /// How long the gains take to move from the previous block's (objects): the block's
    /// duration for `jumpPosition` 0, its `interpolationLength` (or 0) for 1. DirectSpeakers
    /// blocks never interpolate (zero).
    pub interpolation: Time,
    /// Linear gain of the block, times the object's gains.
    pub gain: f64,
    /// Where the signal goes.
    pub target: BlockTarget,
    /// BS.2127's object parameters beyond a point (None: a point source, the fast path).
    pub params: Option<Box<ObjectParams>>,
}

/// BS.2127's parameters of an Objects block beyond its direction: what makes it more than a
/// point source (`gain_calc` order: channel lock, divergence, extent).
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectParams {
    /// Polar distance (1 = on the speakers; nearer objects are rendered wider, BS.2127's
    /// extent rule). Ignored for Cartesian blocks.
    pub distance: f64,
    /// `width`: degrees (polar); the size along X, 0-1 (Cartesian).
    pub width: f64,
    /// `height`: degrees (polar); the size along Y, 0-1 (Cartesian, as ear 2.1.0 reads it).
    pub height: f64,
    /// `depth`: the range of distances rendered (polar); the size along Z (Cartesian).
    pub depth: f64,
    /// `objectDivergence`: (value 0-1, range: azimuthRange in degrees for polar blocks,
    /// positionRange for Cartesian ones, defaults already applied).
    pub divergence: Option<(f64, f64)>,
    /// `channelLock`: `Some(maxDistance)` when set (`None` inside: no limit).
    pub channel_lock: Option<Option<f64>>,
    /// `zoneExclusion`: the zones whose speakers the object stays out of.
    pub zone_exclusion: Vec<crate::panner::zone::Zone>,
    /// `diffuse`, 0-1: the share of the object's power sent through the decorrelation
    /// filters (direct gains times `sqrt(1 - d)`, diffuse gains times `sqrt(d)`).
    pub diffuse: f64,
    /// `screenRef`: the position is relative to the programme's reference screen
    /// (`reference_screen`, None: BS.2127's default) and is scaled to the layout's screen.
    pub screen_ref: bool,
    /// The programme's audioProgrammeReferenceScreen, for `screen_ref`.
    pub reference_screen: Option<crate::panner::screen::Screen>,
    /// `screenEdgeLock` on the position's coordinates.
    pub screen_edge_lock: crate::panner::screen::EdgeLock,
}

impl Default for ObjectParams {
    fn default() -> Self {
        ObjectParams {
            distance: 1.0,
            width: 0.0,
            height: 0.0,
            depth: 0.0,
            divergence: None,
            channel_lock: None,
            zone_exclusion: Vec::new(),
            diffuse: 0.0,
            screen_ref: false,
            reference_screen: None,
            screen_edge_lock: Default::default(),
        }
    }
}

/// A BS.2127 timeline: metadata blocks in time order, non-overlapping. Gains are computed
/// once per block; a block that starts where the previous one ended ramps linearly from the
/// previous block's gains over its interpolation time; any other block starts at its own
/// gains; outside the blocks the object is silent.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    /// The blocks.
    pub blocks: Vec<MetaBlock>,
}

/// The format of an Ambisonics (scene-based, HOA) bed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ambisonics {
    /// The (full) order: the file has `(order + 1)^2` channels.
    pub order: u32,
    /// The normalisation (default SN3D: ACN + SN3D is ambiX).
    #[serde(default)]
    pub normalization: crate::panner::hoa::Normalization,
    /// The channel order (default ACN; FuMa for `.amb` B-format files, up to order 3).
    #[serde(default)]
    pub channel_order: crate::panner::hoa::ChannelOrder,
    /// The order and degree of each channel when they are not the full order in ACN
    /// order (ADM HOA items); empty in RON scenes.
    #[serde(skip)]
    pub components: Vec<(u32, i32)>,
}

impl Ambisonics {
    /// The `(order, degree)` of each channel, in channel order.
    pub fn components(&self) -> Vec<(u32, i32)> {
        if self.components.is_empty() {
            self.channel_order
                .components(self.order)
                .unwrap_or_else(|| crate::panner::hoa::acn_components(self.order))
        } else {
            self.components.clone()
        }
    }
}

/// The highest order a RON Ambisonics bed may give.
pub const MAX_AMBISONICS_ORDER: u32 = 7;

/// A channel bed: a multichannel source mixed for a given layout, or an Ambisonics (HOA)
/// recording decoded to the output layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bed {
    /// A unique name.
    pub name: String,
    /// The stem it belongs to.
    #[serde(default)]
    pub group: Option<String>,
    /// The audio: a file with the layout's channel count (or `(order + 1)^2` for an
    /// Ambisonics bed), or a generator (same signal on every non-LFE channel, decorrelated
    /// for noise; an Ambisonics bed gets it on W alone, an omnidirectional source).
    pub source: Source,
    /// The layout the bed was mixed for (a built-in name or a layout file path); leave it
    /// out for an Ambisonics bed.
    #[serde(default)]
    pub layout: Option<String>,
    /// An Ambisonics (HOA) bed: its order and normalisation, ACN channel order. It is
    /// decoded with BS.2127's AllRAD decoder for the output layout.
    #[serde(default)]
    pub ambisonics: Option<Ambisonics>,
    /// When the bed plays (ADM HOA items: the object's start and end, or the block's):
    /// silent before the start and from the end on; None: always. Not written in RON.
    #[serde(skip)]
    pub span: Option<(Time, Option<Time>)>,
    /// Static gain in dB.
    #[serde(default)]
    pub gain_db: f64,
    /// Gain automation keyframes (dB).
    #[serde(default)]
    pub gain: Vec<GainKey>,
    /// Muted beds are not rendered.
    #[serde(default)]
    pub mute: bool,
    /// EQ bands applied to every channel.
    #[serde(default)]
    pub eq: Vec<Band>,
    /// How headphone renders treat it (see [`Object::binaural`]); None: the render's `--mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binaural: Option<crate::binaural::room::Mode>,
}

/// A scene file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    /// The sample rate of the render; every file source must have it.
    pub sample_rate: u32,
    /// Duration in seconds; default: the longest file source.
    #[serde(default)]
    pub duration: Option<f64>,
    /// Master gain in dB applied to everything.
    #[serde(default)]
    pub master_gain_db: f64,
    /// The objects.
    #[serde(default)]
    pub objects: Vec<Object>,
    /// The beds.
    #[serde(default)]
    pub beds: Vec<Bed>,
    /// The screen the mix was made against (BS.2076's audioProgrammeReferenceScreen):
    /// objects with `screen_ref: true` are scaled from it onto the layout's screen. Absent:
    /// BS.2127's default screen. Written `reference_screen: Some(Polar(aspect_ratio: 1.78,
    /// azimuth: 0, elevation: 0, distance: 1, width_azimuth: 58))`.
    #[serde(default)]
    pub reference_screen: Option<crate::panner::screen::Screen>,
    /// The folder file paths are relative to (set when loading; not in the file).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// Where the scene came from, for error messages.
    #[serde(skip)]
    pub origin: String,
    /// The file whose tracks [`Source::Track`] sources read (an ADM master).
    #[serde(skip)]
    pub master: Option<PathBuf>,
    /// Groups whose content is dialogue (from an ADM master's audioContent `dialogue`
    /// attribute); empty for RON scenes.
    #[serde(skip)]
    pub dialogue_groups: Vec<String>,
}

/// Longest scene accepted (seconds): guards against typos such as a duration in samples.
pub const MAX_DURATION_S: f64 = 24.0 * 3600.0;

impl Scene {
    /// Reads, parses and validates a scene file.
    pub fn load(path: &Path) -> Result<Scene> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                Error::malformed(
                    path.display().to_string(),
                    "not a scene: the file is not UTF-8 text (a scene is a RON text file)",
                )
            } else {
                Error::io(path, e)
            }
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Scene::parse(&text, &path.display().to_string(), &base)
    }

    /// Parses and validates scene RON text; `origin` names it in errors, `base_dir` anchors paths.
    pub fn parse(text: &str, origin: &str, base_dir: &Path) -> Result<Scene> {
        let opts = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME);
        let mut scene: Scene = opts.from_str(text).map_err(|e| {
            Error::malformed(
                format!("{origin}:{}:{}", e.span.start.line, e.span.start.col),
                e.code.to_string(),
            )
        })?;
        scene.base_dir = base_dir.to_path_buf();
        scene.origin = origin.to_string();
        scene.validate()?;
        Ok(scene)
    }

    /// Checks every value; errors name the scene file, the object or bed, and the field.
    pub fn validate(&self) -> Result<()> {
        let o = &self.origin;
        let bad = |at: String, msg: String| Error::malformed(format!("{o}: {at}"), msg);
        if !(8000..=384_000).contains(&self.sample_rate) {
            return Err(bad(
                "sample_rate".into(),
                format!(
                    "{} Hz is not a supported rate (8000 to 384000)",
                    self.sample_rate
                ),
            ));
        }
        if let Some(d) = self.duration {
            if !d.is_finite() || d <= 0.0 || d > MAX_DURATION_S {
                return Err(bad(
                    "duration".into(),
                    format!("{d} must be a positive number of seconds (at most 24 hours)"),
                ));
            }
        }
        check_gain(self.master_gain_db, || {
            bad("master_gain_db".into(), GAIN_RULE.into())
        })?;
        if let Some(s) = &self.reference_screen {
            crate::panner::screen::Edges::of(s)
                .map_err(|e| bad("reference_screen".into(), e.to_string()))?;
        }
        let groups = self
            .objects
            .iter()
            .map(|x| (&x.group, format!("object '{}'", x.name)));
        let groups = groups.chain(
            self.beds
                .iter()
                .map(|x| (&x.group, format!("bed '{}'", x.name))),
        );
        for (g, who) in groups {
            if let Some(g) = g {
                let ok = !g.is_empty()
                    && g.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                if !ok {
                    return Err(bad(
                        format!("{who}.group"),
                        format!("'{g}': a group name names a stem file, so it must be non-empty letters, digits, '-' or '_'"),
                    ));
                }
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for (i, ob) in self.objects.iter().enumerate() {
            let at = format!("object {} ('{}')", i + 1, ob.name);
            if names.contains(&ob.name.as_str()) || ob.name.trim().is_empty() {
                return Err(bad(
                    at,
                    "object and bed names must be unique and non-empty".into(),
                ));
            }
            names.push(&ob.name);
            check_gain(ob.gain_db, || {
                bad(format!("{at}.gain_db"), GAIN_RULE.into())
            })?;
            if let Some(s) = ob.lfe_send_db {
                check_gain(s, || bad(format!("{at}.lfe_send_db"), GAIN_RULE.into()))?;
            }
            validate_source(&ob.source, &format!("{o}: {at}.source"), self.sample_rate)?;
            if ob.position.is_empty() {
                return Err(bad(
                    format!("{at}.position"),
                    "needs at least one keyframe, e.g. [(time: 0.0, az: 0.0, el: 0.0)]".into(),
                ));
            }
            for (k, key) in ob.position.iter().enumerate() {
                let kat = format!("{at}.position[{k}]");
                validate_time(key.time, ob.position.get(k.wrapping_sub(1)).map(|p| p.time))
                    .map_err(|m| bad(kat.clone(), m))?;
                let polar = key.az.is_some() || key.el.is_some() || key.distance.is_some();
                let cart = key.x.is_some() || key.y.is_some() || key.z.is_some();
                if cart && key.long_way {
                    return Err(bad(kat, "long_way applies to polar keyframes; Cartesian keyframes move in a straight line".into()));
                }
                if polar == cart {
                    return Err(bad(
                        kat,
                        "give either polar az/el[/distance] or Cartesian x/y/z".into(),
                    ));
                }
                for (name, v) in [
                    ("az", key.az),
                    ("el", key.el),
                    ("distance", key.distance),
                    ("x", key.x),
                    ("y", key.y),
                    ("z", key.z),
                ] {
                    if let Some(v) = v {
                        finite(v, || {
                            bad(
                                format!("{kat}.{name}"),
                                format!("{v} is not a finite number"),
                            )
                        })?;
                    }
                }
                if let Some(el) = key.el {
                    if !(-90.0..=90.0).contains(&el) {
                        return Err(bad(
                            format!("{kat}.el"),
                            format!("{el} must be in [-90, 90] degrees"),
                        ));
                    }
                }
                if let Some(d) = key.distance {
                    if d < 0.0 {
                        return Err(bad(
                            format!("{kat}.distance"),
                            format!("{d} must not be negative"),
                        ));
                    }
                }
                if cart {
                    if key.x.is_none() || key.y.is_none() || key.z.is_none() {
                        return Err(bad(
                            kat,
                            "a Cartesian keyframe needs all of x, y and z".into(),
                        ));
                    }
                    let v = Vec3::new(key.x.unwrap(), key.y.unwrap(), key.z.unwrap());
                    if v.norm() < 1e-9 {
                        return Err(bad(
                            kat,
                            "the position (0, 0, 0) is the listener's and has no direction".into(),
                        ));
                    }
                } else if key.az.is_none() {
                    return Err(bad(kat, "a polar keyframe needs az".into()));
                }
            }
            validate_gain_keys(&ob.gain, &at).map_err(|(a, m)| bad(a, m))?;
            for (b, band) in ob.eq.iter().enumerate() {
                band.validate(self.sample_rate, &format!("{o}: {at}.eq[{b}]"))?;
            }
            validate_params(ob, &at).map_err(|(a, m)| bad(a, m))?;
        }
        for (i, bed) in self.beds.iter().enumerate() {
            let at = format!("bed {} ('{}')", i + 1, bed.name);
            if names.contains(&bed.name.as_str()) || bed.name.trim().is_empty() {
                return Err(bad(
                    at,
                    "object and bed names must be unique and non-empty".into(),
                ));
            }
            names.push(&bed.name);
            check_gain(bed.gain_db, || {
                bad(format!("{at}.gain_db"), GAIN_RULE.into())
            })?;
            validate_source(&bed.source, &format!("{o}: {at}.source"), self.sample_rate)?;
            if let Source::File {
                channel: Some(_), ..
            } = bed.source
            {
                return Err(bad(
                    format!("{at}.source"),
                    "a bed uses every channel of its file; `channel` is for objects".into(),
                ));
            }
            match (&bed.layout, &bed.ambisonics) {
                (Some(_), Some(_)) => {
                    return Err(bad(
                        format!("{at}.layout"),
                        "an Ambisonics bed is decoded to the output layout: give `layout` or `ambisonics`, not both".into(),
                    ))
                }
                (None, None) => {
                    return Err(bad(
                        at,
                        "a bed needs `layout` (the layout it was mixed for) or `ambisonics` (e.g. `ambisonics: (order: 1, normalization: SN3D)`)".into(),
                    ))
                }
                (None, Some(a)) => {
                    if a.channel_order.components(a.order).is_none() {
                        return Err(bad(
                            format!("{at}.ambisonics.channel_order"),
                            format!(
                                "FuMa channel order is defined up to order 3, not {}",
                                a.order
                            ),
                        ));
                    }
                    let max = a
                        .normalization
                        .max_order()
                        .unwrap_or(MAX_AMBISONICS_ORDER)
                        .min(MAX_AMBISONICS_ORDER);
                    if a.order > max {
                        return Err(bad(
                            format!("{at}.ambisonics.order"),
                            format!(
                                "{}: orders 0 to {max} are supported{}",
                                a.order,
                                if a.normalization.max_order().is_some() {
                                    format!(" with {} normalisation", a.normalization)
                                } else {
                                    String::new()
                                }
                            ),
                        ));
                    }
                }
                (Some(_), None) => {}
            }
            validate_gain_keys(&bed.gain, &at).map_err(|(a, m)| bad(a, m))?;
            for (b, band) in bed.eq.iter().enumerate() {
                band.validate(self.sample_rate, &format!("{o}: {at}.eq[{b}]"))?;
            }
        }
        Ok(())
    }

    /// The stem names used in the scene, in order of first appearance; members without a
    /// group belong to the stem "ungrouped".
    pub fn groups(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let all = self
            .objects
            .iter()
            .map(|o| group_name(&o.group))
            .chain(self.beds.iter().map(|b| group_name(&b.group)));
        for g in all {
            if !out.iter().any(|x| x == g) {
                out.push(g.to_string());
            }
        }
        out
    }

    /// The files a render of this scene reads: the scene file itself (when it came from one)
    /// and every file source, resolved against the scene's folder.
    pub fn input_files(&self) -> Vec<PathBuf> {
        let mut v = vec![PathBuf::from(&self.origin)];
        if let Some(m) = &self.master {
            v.push(m.clone());
        }
        let sources = self
            .objects
            .iter()
            .map(|o| &o.source)
            .chain(self.beds.iter().map(|b| &b.source));
        for s in sources {
            if let Source::File { path, .. } = s {
                v.push(self.resolve_path(path));
            }
        }
        v
    }

    /// Errors if writing `out` would overwrite the scene file or one of its sources.
    pub fn check_not_an_input(&self, out: &Path) -> Result<()> {
        let Ok(out_c) = out.canonicalize() else {
            return Ok(()); // does not exist yet: cannot be an input
        };
        for input in self.input_files() {
            if input.canonicalize().is_ok_and(|c| c == out_c) {
                return Err(Error::Invalid(format!(
                    "{}: the output would overwrite {}, which the scene reads; choose another output file",
                    out.display(),
                    if input == Path::new(&self.origin) { "the scene file".to_string() } else { input.display().to_string() }
                )));
            }
        }
        Ok(())
    }

    /// Resolves a file source path against the scene's folder.
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }
}

/// The stem name of an optional group.
pub fn group_name(g: &Option<String>) -> &str {
    g.as_deref().unwrap_or("ungrouped")
}

/// The largest gain (dB) a scene may apply anywhere: guards against typos that would
/// overflow the mix to infinity.
pub const MAX_GAIN_DB: f64 = 24.0;

const GAIN_RULE: &str = "must be a finite number of dB, at most +24";

fn check_gain(v: f64, err: impl FnOnce() -> Error) -> Result<()> {
    if v.is_finite() && v <= MAX_GAIN_DB {
        Ok(())
    } else {
        Err(err())
    }
}

fn finite(v: f64, err: impl FnOnce() -> Error) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(err())
    }
}

/// A keyframe time: finite, non-negative, and not before the previous keyframe's `prev`.
fn validate_time(t: f64, prev: Option<f64>) -> std::result::Result<(), String> {
    if !t.is_finite() || t < 0.0 {
        return Err(format!(
            "time {t} must be a finite, non-negative number of seconds"
        ));
    }
    if let Some(p) = prev {
        if t < p {
            return Err(format!("keyframes out of order: time {t} comes after time {p}; keyframes must be sorted by time"));
        }
    }
    Ok(())
}

fn validate_gain_keys(keys: &[GainKey], at: &str) -> std::result::Result<(), (String, String)> {
    for (k, g) in keys.iter().enumerate() {
        let kat = format!("{at}.gain[{k}]");
        validate_time(g.time, keys.get(k.wrapping_sub(1)).map(|p| p.time))
            .map_err(|m| (kat.clone(), m))?;
        if !g.db.is_finite() || g.db > MAX_GAIN_DB {
            return Err((format!("{kat}.db"), format!("{}: {GAIN_RULE}", g.db)));
        }
    }
    Ok(())
}

/// Checks an object's parameters beyond a point: keyframe times in order, values in range.
/// Errors name the field, the keyframe's index and its time.
fn validate_params(ob: &Object, at: &str) -> std::result::Result<(), (String, String)> {
    let numeric: [(&str, &[ValueKey], f64, &str); 4] = [
        ("width", &ob.width, 360.0, "degrees"),
        ("height", &ob.height, 360.0, "degrees"),
        ("depth", &ob.depth, 1.0, ""),
        ("diffuse", &ob.diffuse, 1.0, ""),
    ];
    let in_range = |v: f64, hi: f64| v.is_finite() && (0.0..=hi).contains(&v);
    for (field, keys, hi, unit) in numeric {
        for (k, key) in keys.iter().enumerate() {
            let kat = format!("{at}.{field}[{k}] (time {})", key.time);
            validate_time(key.time, keys.get(k.wrapping_sub(1)).map(|p| p.time))
                .map_err(|m| (kat.clone(), m))?;
            if !in_range(key.value, hi) {
                let unit = if unit.is_empty() {
                    String::new()
                } else {
                    format!(" {unit}")
                };
                return Err((
                    format!("{kat}.value"),
                    format!("{} must be in [0, {hi}]{unit}", key.value),
                ));
            }
        }
    }
    for (k, key) in ob.divergence.iter().enumerate() {
        let kat = format!("{at}.divergence[{k}] (time {})", key.time);
        validate_time(
            key.time,
            ob.divergence.get(k.wrapping_sub(1)).map(|p| p.time),
        )
        .map_err(|m| (kat.clone(), m))?;
        if !in_range(key.value, 1.0) {
            return Err((
                format!("{kat}.value"),
                format!("{} must be in [0, 1]", key.value),
            ));
        }
        if !in_range(key.range, 180.0) {
            return Err((
                format!("{kat}.range"),
                format!("{} must be in [0, 180] degrees", key.range),
            ));
        }
    }
    if let Some(Some(m)) = ob.channel_lock.as_ref().map(|c| c.max_distance) {
        if !in_range(m, 2.0) {
            return Err((
                format!("{at}.channel_lock.max_distance"),
                format!("{m} must be in [0, 2] (the distance between unit direction vectors)"),
            ));
        }
    }
    for (z, zone) in ob.zone_exclusion.iter().enumerate() {
        zone.validate().map_err(|(field, m)| {
            let f = if field.is_empty() {
                String::new()
            } else {
                format!(".{field}")
            };
            (format!("{at}.zone_exclusion[{z}]{f}"), m)
        })?;
    }
    Ok(())
}

fn validate_source(s: &Source, at: &str, sample_rate: u32) -> Result<()> {
    let bad = |m: String| Error::malformed(at.to_string(), m);
    let nyquist = sample_rate as f64 / 2.0;
    match s {
        Source::File { path, .. } => {
            if path.as_os_str().is_empty() {
                return Err(bad("the file path is empty".into()));
            }
        }
        Source::Track { .. } | Source::Tracks { .. } => {}
        Source::Generator(g) => {
            let level = match g {
                Generator::Sine { freq, level_db } => {
                    if !freq.is_finite() || *freq <= 0.0 || *freq >= nyquist {
                        return Err(bad(format!(
                            "Sine freq {freq} must be a positive number of Hz below the Nyquist frequency ({nyquist} Hz)"
                        )));
                    }
                    *level_db
                }
                Generator::PinkNoise { level_db, .. } => *level_db,
                Generator::Sweep {
                    from,
                    to,
                    period,
                    level_db,
                } => {
                    let ok = |f: f64| f.is_finite() && f > 0.0 && f < nyquist;
                    if !(ok(*from) && ok(*to)) {
                        return Err(bad(format!(
                            "Sweep from {from} / to {to} must be positive frequencies below the Nyquist frequency ({nyquist} Hz)"
                        )));
                    }
                    if !period.is_finite() || *period <= 0.0 {
                        return Err(bad(format!(
                            "Sweep period {period} must be a positive number of seconds"
                        )));
                    }
                    *level_db
                }
                Generator::Clicks { bpm, level_db } => {
                    if !bpm.is_finite() || *bpm <= 0.0 || *bpm > 1000.0 {
                        return Err(bad(format!("Clicks bpm {bpm} must be in (0, 1000]")));
                    }
                    *level_db
                }
                Generator::Silence => 0.0,
            };
            if !level.is_finite() || level > 24.0 {
                return Err(bad(format!(
                    "level_db {level} must be a finite number of dB (at most +24)"
                )));
            }
        }
    }
    Ok(())
}

/// Maps a keyframe parameter `t` in [0, 1] through the interpolation shape.
pub fn shape(interp: Interp, t: f64) -> f64 {
    match interp {
        Interp::Step => {
            if t >= 1.0 {
                1.0
            } else {
                0.0
            }
        }
        Interp::Linear => t,
        Interp::Smooth => 0.5 - 0.5 * (std::f64::consts::PI * t).cos(),
    }
}

/// Finds the keyframe segment for `time`: `(index of the previous key, index of the next key, t)`.
fn segment<K>(keys: &[K], time_of: impl Fn(&K) -> f64, time: f64) -> (usize, usize, f64) {
    let n = keys.len();
    if time <= time_of(&keys[0]) {
        return (0, 0, 0.0);
    }
    if time >= time_of(&keys[n - 1]) {
        return (n - 1, n - 1, 0.0);
    }
    // Binary search for the first key with time > `time`.
    let next = keys.partition_point(|k| time_of(k) <= time);
    let prev = next - 1;
    let (t0, t1) = (time_of(&keys[prev]), time_of(&keys[next]));
    let t = if t1 > t0 {
        (time - t0) / (t1 - t0)
    } else {
        1.0
    };
    (prev, next, t)
}

/// The direction (unit vector) of an object's position automation at `time` seconds.
pub fn position_at(keys: &[PositionKey], time: f64) -> Vec3 {
    let (a, b, t) = segment(keys, |k| k.time, time);
    if a == b {
        return key_direction(&keys[a]);
    }
    let (ka, kb) = (&keys[a], &keys[b]);
    let s = shape(kb.interp, t);
    let both_cartesian = ka.x.is_some() && kb.x.is_some();
    if both_cartesian {
        let pa = key_vector(ka);
        let pb = key_vector(kb);
        let p = pa + (pb - pa) * s;
        if p.norm() > 1e-9 {
            return p.normalize();
        }
        return if s < 0.5 {
            pa.normalize()
        } else {
            pb.normalize()
        };
    }
    let (mut az_a, el_a) = key_polar(ka);
    let (mut az_b, el_b) = key_polar(kb);
    // At a pole azimuth means nothing: travel along the other keyframe's azimuth, so
    // (az 0, el 90) -> (az 180, el 0) goes straight over the top and down the back.
    if el_a.abs() >= 90.0 - 1e-9 {
        az_a = az_b;
    } else if el_b.abs() >= 90.0 - 1e-9 {
        az_b = az_a;
    }
    let mut diff = geometry::azimuth_difference(az_a, az_b);
    if kb.long_way && diff != 0.0 {
        diff -= 360.0 * diff.signum();
    }
    let az = az_a + diff * s;
    let el = el_a + (el_b - el_a) * s;
    geometry::direction(az, el)
}

fn key_vector(k: &PositionKey) -> Vec3 {
    match (k.x, k.y, k.z) {
        (Some(x), Some(y), Some(z)) => Vec3::new(x, y, z),
        _ => geometry::polar_to_cartesian(
            k.az.unwrap_or(0.0),
            k.el.unwrap_or(0.0),
            k.distance.unwrap_or(1.0),
        ),
    }
}

fn key_polar(k: &PositionKey) -> (f64, f64) {
    if k.x.is_some() {
        let (az, el, _) = geometry::cartesian_to_polar(key_vector(k));
        (az, el)
    } else {
        (k.az.unwrap_or(0.0), k.el.unwrap_or(0.0))
    }
}

fn key_direction(k: &PositionKey) -> Vec3 {
    let v = key_vector(k);
    if v.norm() > 1e-12 {
        v.normalize()
    } else {
        Vec3::new(0.0, 1.0, 0.0)
    }
}

/// The automated gain in dB at `time` (0 dB when there are no keyframes).
pub fn gain_db_at(keys: &[GainKey], time: f64) -> f64 {
    if keys.is_empty() {
        return 0.0;
    }
    let (a, b, t) = segment(keys, |k| k.time, time);
    if a == b {
        return keys[a].db;
    }
    let s = shape(keys[b].interp, t);
    keys[a].db + (keys[b].db - keys[a].db) * s
}

/// Converts decibels to a linear amplitude factor.
pub fn db_to_gain(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(time: f64, az: f64, el: f64, interp: Interp) -> PositionKey {
        PositionKey {
            time,
            az: Some(az),
            el: Some(el),
            interp,
            ..Default::default()
        }
    }

    #[test]
    fn azimuth_takes_the_short_way_unless_told() {
        let keys = vec![
            key(0.0, 170.0, 0.0, Interp::Linear),
            key(1.0, -170.0, 0.0, Interp::Linear),
        ];
        let (az, _, _) = geometry::cartesian_to_polar(position_at(&keys, 0.5));
        assert!((az - 180.0).abs() < 1e-9, "{az}");
        let mut long = keys.clone();
        long[1].long_way = true;
        let (az, _, _) = geometry::cartesian_to_polar(position_at(&long, 0.5));
        assert!(az.abs() < 1e-9, "{az}");
    }

    #[test]
    fn paths_through_a_pole_go_straight_over() {
        let keys = vec![
            key(0.0, 0.0, 90.0, Interp::Linear),
            key(1.0, 180.0, 0.0, Interp::Linear),
        ];
        for t in [0.25, 0.5, 0.75] {
            let d = position_at(&keys, t);
            assert!(d.x.abs() < 1e-12, "stays in the median plane: {d:?}");
            let (az, el, _) = geometry::cartesian_to_polar(d);
            assert!((az - 180.0).abs() < 1e-9 && (el - 90.0 * (1.0 - t)).abs() < 1e-9);
        }
        let up = vec![
            key(0.0, -60.0, 0.0, Interp::Linear),
            key(1.0, 0.0, 90.0, Interp::Linear),
        ];
        let (az, _, _) = geometry::cartesian_to_polar(position_at(&up, 0.5));
        assert!((az + 60.0).abs() < 1e-9);
    }

    #[test]
    fn interpolation_shapes() {
        let keys = vec![
            key(1.0, 0.0, 0.0, Interp::Linear),
            key(3.0, 90.0, 0.0, Interp::Step),
        ];
        let az = |k: &[PositionKey], t| geometry::cartesian_to_polar(position_at(k, t)).0;
        assert!(az(&keys, 0.0).abs() < 1e-9);
        assert!(az(&keys, 2.999).abs() < 1e-9);
        assert!((az(&keys, 3.0) - 90.0).abs() < 1e-9);
        assert!((az(&keys, 10.0) - 90.0).abs() < 1e-9);
        let mut lin = keys.clone();
        lin[1].interp = Interp::Linear;
        assert!((az(&lin, 1.5) - 22.5).abs() < 1e-9);
        lin[1].interp = Interp::Smooth;
        assert!((az(&lin, 2.0) - 45.0).abs() < 1e-9);
        assert!(az(&lin, 1.5) < 22.5);
        let g = vec![
            GainKey {
                time: 0.0,
                db: -10.0,
                interp: Interp::Linear,
            },
            GainKey {
                time: 2.0,
                db: 0.0,
                interp: Interp::Linear,
            },
        ];
        assert!((gain_db_at(&g, 1.0) + 5.0).abs() < 1e-12);
        assert_eq!(gain_db_at(&[], 1.0), 0.0);
    }

    #[test]
    fn cartesian_keys_interpolate_in_the_room() {
        let c = |t, x, y, z| PositionKey {
            time: t,
            x: Some(x),
            y: Some(y),
            z: Some(z),
            ..Default::default()
        };
        let keys = vec![
            c(0.0, 0.0, 1.0, 0.0),
            c(2.0, 0.0, -1.0, 0.0),
            c(4.0, 0.0, -1.0, 1.0),
        ];
        // Half-way from front to back along the y axis passes through the listener: hold a side.
        let d = position_at(&keys, 3.0);
        let (az, el, _) = geometry::cartesian_to_polar(d);
        assert!(
            (az - 180.0).abs() < 1e-9 && (el - 26.565051177).abs() < 1e-6,
            "{az} {el}"
        );
    }

    fn parse(text: &str) -> Result<Scene> {
        Scene::parse(text, "s.ron", Path::new("."))
    }

    #[test]
    fn object_parameters_follow_their_keyframes() {
        let s = parse("Scene(sample_rate: 48000, duration: 4.0, objects: [Object(name: \"a\", source: Generator(Silence), position: [(time: 0, az: 0)], width: [(time: 1, value: 10), (time: 3, value: 50, interp: Smooth)], diffuse: [(time: 0, value: 0), (time: 2, value: 1, interp: Step)], divergence: [(time: 0, value: 0.2), (time: 2, value: 0.6, range: 25)], channel_lock: (max_distance: 0.5), zone_exclusion: [(min_az: 150, max_az: 210)], screen_ref: true)])").unwrap();
        let ob = &s.objects[0];
        let p = ob.param_automation().unwrap();
        assert!(ob.is_diffuse());
        // Before the first keyframe the first value holds; Smooth is half-way at the middle.
        assert_eq!(p.at(0.0).width, 10.0);
        assert!((p.at(2.0).width - 30.0).abs() < 1e-12);
        assert!(p.at(1.5).width < 20.0, "eases in: below the linear 20");
        assert_eq!(p.at(9.0).width, 50.0);
        // Step jumps at its keyframe.
        assert_eq!(p.at(1.999).diffuse, 0.0);
        assert_eq!(p.at(2.0).diffuse, 1.0);
        // Divergence value and range both interpolate (range default 45).
        let (v, r) = p.at(1.0).divergence.unwrap();
        assert!(
            (v - 0.4).abs() < 1e-12 && (r - 35.0).abs() < 1e-12,
            "{v} {r}"
        );
        let q = p.at(0.5);
        assert_eq!(q.channel_lock, Some(Some(0.5)));
        assert!(q.screen_ref && q.distance == 1.0);
        assert_eq!(
            q.zone_exclusion,
            vec![crate::panner::zone::Zone::Polar {
                min_azimuth: 150.0,
                max_azimuth: 210.0,
                min_elevation: -90.0,
                max_elevation: 90.0
            }]
        );
        // The renderer's control-point rules: keyframes inside a span, and how far values move.
        assert!(p.key_between(0.5, 1.0) && !p.key_between(1.0, 1.9));
        assert!((p.steps(3.5, 3.6, 0.5) - 0.0).abs() < 1e-12);
        assert!(p.steps(1.0, 1.1, 0.5) > 1.0);
        // An object without any of them has none.
        let plain = parse("Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"a\", source: Generator(Silence), position: [(time: 0, az: 0)])])").unwrap();
        assert!(plain.objects[0].param_automation().is_none());
    }

    #[test]
    fn scene_errors_name_the_place() {
        let ok = "Scene(sample_rate: 48000, duration: 1.0, objects: [Object(name: \"a\", source: Generator(Sine(freq: 440.0)), position: [(time: 0.0, az: 0.0)])])";
        parse(ok).unwrap();
        let e = parse(&ok.replace("az: 0.0", "az: NaN"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("object 1 ('a').position[0].az"), "{e}");
        let e = parse(&ok.replace(
            "(time: 0.0, az: 0.0)",
            "(time: 1.0, az: 0.0), (time: 0.5, az: 1.0)",
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("out of order") && e.contains("position[1]"),
            "{e}"
        );
        let e = parse(&ok.replace("freq: 440.0", "freq: 440.0, volume: 3.0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.ron:1:") && e.contains("volume"), "{e}");
        let e = parse(&ok.replace("az: 0.0", "az: 0.0, x: 1.0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("either polar"), "{e}");
        let e = parse("Scene(sample_rate: 48000,\n objects: [")
            .unwrap_err()
            .to_string();
        assert!(e.contains("s.ron:2:"), "{e}");
        let e = parse(&ok.replace("1.0, objects", "-1.0, objects"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("duration"), "{e}");
    }
}
