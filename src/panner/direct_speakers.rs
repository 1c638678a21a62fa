//! ITU-R BS.2127 gain calculation for DirectSpeakers channels (ADM beds).
//!
//! A DirectSpeakers channel names the speaker it was mixed for (its `speakerLabel`s) and
//! where that speaker was (a polar or Cartesian position, optionally with bounds). Rendering
//! it to a layout follows BS.2127 section 8 (the EBU ADM Renderer's
//! `ear/core/direct_speakers/panner.py`), in this order:
//!
//! 1. **Mapping rules.** When the innermost audioPackFormat holding the channel is a
//!    BS.2094 common definition that BS.2127 knows as a BS.2051 layout
//!    ([`common_pack_layout`]), the first rule of BS.2127's table for the channel's first
//!    label whose output speakers all exist in the layout gives the gains (a 5.1 bed's
//!    `M+110` on 7.1.4 plays from `M+135` at 1.0; 22.2's `LFE1` and `LFE2` on a layout
//!    with one LFE both go to `LFE1` at sqrt(1/2)).
//! 2. **Labels.** The first label (URN prefix stripped, `LFE`/`LFEL`/`LFER` read as
//!    `LFE1`/`LFE1`/`LFE2`, Dolby's `RC_` bed labels read as their BS.2051 speakers) that
//!    is the BS.2051 label of a layout speaker of the same kind (LFE or not) picks it.
//! 3. **Bounds.** Among the speakers of the same kind inside the position's bounds (a
//!    missing bound is the position itself, within a tolerance of 1e-5), the one nearest
//!    the position, when no other is as near (within 1e-5).
//! 4. **Panning.** An LFE channel goes to the layout's `LFE1` (else its first LFE
//!    channel) or is dropped on a layout without one; any other channel is panned as a
//!    point source by [`PointGains`]: polar positions by BS.2127's point-source panner
//!    (mixstage's VBAP; on 0+2+0 BS.2127's own rule, pan on 0+5+0 and downmix), Cartesian
//!    positions by BS.2127's allocentric panner over the layout's allocentric positions.
//!
//! A non-LFE channel never feeds an LFE speaker, and an LFE channel only feeds LFE
//! speakers. Label comparisons ignore ASCII case (BS.2127 compares exactly; a
//! differently-cased label is the only input on which the two can differ).
//!
//! Block gain, object gain, screen edge lock and jumps between blocks are the caller's.

use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::geometry::{self, Vec3};
use crate::layout::Layout;
use crate::panner::gain_calc::PointGains;

/// BS.2127's tolerance for bounds (degrees or distance units) and for "equally near".
pub const TOLERANCE: f64 = 1e-5;

/// Where a DirectSpeakers channel says its speaker is (one audioBlockFormat's `position`
/// elements). A range is `(min, max)`; where the block gives only one of the two bounds,
/// the other is the value itself, as in BS.2127.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpeakerPosition {
    /// ADM polar coordinates (degrees, azimuth positive to the left; distance 1 = the
    /// speaker radius).
    Polar {
        /// Azimuth in degrees.
        azimuth: f64,
        /// Elevation in degrees.
        elevation: f64,
        /// Distance (ADM's default is 1.0).
        distance: f64,
        /// Azimuth bounds: the range runs anticlockwise (leftwards) from min to max, so
        /// `(170.0, -170.0)` is the 20 degrees behind the listener.
        azimuth_range: Option<(f64, f64)>,
        /// Elevation bounds.
        elevation_range: Option<(f64, f64)>,
        /// Distance bounds.
        distance_range: Option<(f64, f64)>,
    },
    /// ADM Cartesian coordinates (`cartesian="1"`): x right, y front, z up, room cube
    /// [-1, 1]^3, compared with the layout's allocentric speaker positions.
    Cartesian {
        /// X (left -1 to right +1).
        x: f64,
        /// Y (back -1 to front +1).
        y: f64,
        /// Z (bottom -1 to top +1).
        z: f64,
        /// X bounds.
        x_range: Option<(f64, f64)>,
        /// Y bounds.
        y_range: Option<(f64, f64)>,
        /// Z bounds.
        z_range: Option<(f64, f64)>,
    },
}

impl SpeakerPosition {
    /// A polar position at distance 1 with no bounds.
    pub fn polar(azimuth: f64, elevation: f64) -> Self {
        SpeakerPosition::Polar {
            azimuth,
            elevation,
            distance: 1.0,
            azimuth_range: None,
            elevation_range: None,
            distance_range: None,
        }
    }

    /// A Cartesian position with no bounds.
    pub fn cartesian(x: f64, y: f64, z: f64) -> Self {
        SpeakerPosition::Cartesian {
            x,
            y,
            z,
            x_range: None,
            y_range: None,
            z_range: None,
        }
    }
}

/// One DirectSpeakers audioBlockFormat, as the gain calculation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpeakerChannel {
    /// The `speakerLabel` elements as written, in order (BS.2051 labels such as `M+030`,
    /// URNs such as `urn:itu:bs:2051:0:speaker:M+030`, Dolby's `RC_L`, LFE names).
    pub labels: Vec<String>,
    /// The block's position.
    pub position: SpeakerPosition,
    /// True for an LFE channel; decide it with [`is_lfe`].
    pub lfe: bool,
    /// The audioPackFormat IDs from the outermost to the innermost pack holding the
    /// channel (any case); the innermost selects BS.2127's mapping rules.
    pub packs: Vec<String>,
    /// `screenEdgeLock` of the position: moves the position (not its bounds) onto the
    /// reproduction screen's edge before the bounds and point-source steps.
    pub edge_lock: crate::panner::screen::EdgeLock,
}

/// Which of BS.2127's steps decided a channel's gains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A common-definition mapping rule (step 1).
    MappingRule,
    /// A speaker with one of the channel's labels (step 2).
    Label,
    /// The one nearest speaker inside the position's bounds (step 3).
    Bounds,
    /// The point-source (or, for Cartesian positions, allocentric) panner (step 4).
    PointSource,
    /// An LFE channel sent to the layout's `LFE1` or first LFE speaker (step 4).
    Lfe,
    /// An LFE channel on a layout without an LFE speaker: all gains are zero (step 4).
    Dropped,
}

/// The gains for one channel and the step that chose them.
#[derive(Debug, Clone, PartialEq)]
pub struct Routing {
    /// One gain per layout channel, in the layout's order.
    pub gains: Vec<f64>,
    /// The step that decided.
    pub step: Step,
}

/// BS.2127's DirectSpeakers gain calculation for one layout. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct DirectSpeakersPanner {
    labels: Vec<String>,
    lfe: Vec<bool>,
    /// (azimuth, elevation) of each channel, degrees; the distance is 1.
    polar: Vec<(f64, f64)>,
    directions: Vec<Vec3>,
    /// Allocentric position of each channel, where the layout gives one.
    allocentric: Vec<Option<Vec3>>,
    /// The layout's BS.2051 code (`4+7+0`), from its name or an alias.
    code: Option<String>,
    point: PointGains,
    /// The reproduction screen, for screenEdgeLock.
    screen: crate::panner::screen::Reproduction,
}

impl DirectSpeakersPanner {
    /// Prepares the gain calculation for a layout (builds its point-source panner).
    pub fn new(layout: &Layout) -> Result<Self> {
        let code = bs2051_code(layout).map(str::to_string);
        let point = PointGains::new(layout)?;
        let allocentric = layout
            .speakers
            .iter()
            .map(|s| s.allocentric.map(|p| Vec3::new(p[0], p[1], p[2])))
            .collect();
        Ok(DirectSpeakersPanner {
            screen: crate::panner::screen::Reproduction::of(layout)?,
            labels: layout.labels(),
            lfe: layout.speakers.iter().map(|s| s.lfe).collect(),
            polar: layout
                .speakers
                .iter()
                .map(|s| (s.azimuth, s.elevation))
                .collect(),
            directions: layout.speakers.iter().map(|s| s.direction()).collect(),
            allocentric,
            code,
            point,
        })
    }

    /// Number of output channels (the layout's, LFE included).
    pub fn channels(&self) -> usize {
        self.labels.len()
    }

    /// The gains per layout channel for `ch` (see the module documentation for the order
    /// of BS.2127's steps). Errors only for a non-LFE channel with a Cartesian position
    /// that no label places, on a layout without allocentric positions for its speakers.
    pub fn gains(&self, ch: &SpeakerChannel) -> Result<Vec<f64>> {
        self.route(ch).map(|r| r.gains)
    }

    /// Like [`gains`](Self::gains), also saying which step decided.
    pub fn route(&self, ch: &SpeakerChannel) -> Result<Routing> {
        let n = self.labels.len();
        let one = |i: usize, step: Step| {
            let mut gains = vec![0.0; n];
            gains[i] = 1.0;
            Routing { gains, step }
        };
        if let Some(gains) = self.mapping_rule(ch) {
            return Ok(Routing {
                gains,
                step: Step::MappingRule,
            });
        }
        for label in &ch.labels {
            let nominal = nominal_label(label);
            if let Some(i) = self.index_of(&nominal) {
                if self.lfe[i] == ch.lfe {
                    return Ok(one(i, Step::Label));
                }
            }
        }
        let locked;
        let ch = if ch.edge_lock == Default::default() {
            ch
        } else {
            locked = self.edge_locked(ch);
            &locked
        };
        if let Some(i) = self.within_bounds(ch)? {
            return Ok(one(i, Step::Bounds));
        }
        if ch.lfe {
            let lfe1 = self
                .labels
                .iter()
                .zip(&self.lfe)
                .position(|(l, &lfe)| lfe && l.eq_ignore_ascii_case("LFE1"))
                .or_else(|| self.lfe.iter().position(|&x| x));
            return Ok(match lfe1 {
                Some(i) => one(i, Step::Lfe),
                None => Routing {
                    gains: vec![0.0; n],
                    step: Step::Dropped,
                },
            });
        }
        let mut gains = match ch.position {
            SpeakerPosition::Polar {
                azimuth, elevation, ..
            } => self.point.polar(azimuth, elevation),
            SpeakerPosition::Cartesian { x, y, z, .. } => self.point.cartesian(x, y, z)?,
        };
        for (g, &lfe) in gains.iter_mut().zip(&self.lfe) {
            if lfe {
                *g = 0.0;
            }
        }
        Ok(Routing {
            gains,
            step: Step::PointSource,
        })
    }

    /// `ch` with its position value moved onto the screen edges its screenEdgeLock names
    /// (BS.2127: after the label step; the bounds stay as written).
    fn edge_locked(&self, ch: &SpeakerChannel) -> SpeakerChannel {
        let mut out = ch.clone();
        match &mut out.position {
            SpeakerPosition::Polar {
                azimuth, elevation, ..
            } => {
                let v = geometry::polar_to_cartesian(*azimuth, *elevation, 1.0);
                let (az, el, _) =
                    geometry::cartesian_to_polar(self.screen.lock(v, ch.edge_lock, false));
                (*azimuth, *elevation) = (az, el);
            }
            SpeakerPosition::Cartesian { x, y, z, .. } => {
                let v = self.screen.lock(Vec3::new(*x, *y, *z), ch.edge_lock, true);
                (*x, *y, *z) = (v.x, v.y, v.z);
            }
        }
        out
    }

    fn index_of(&self, label: &str) -> Option<usize> {
        self.labels
            .iter()
            .position(|l| l.eq_ignore_ascii_case(label))
    }

    /// Step 1: BS.2127's mapping rules for a channel of a known common-definition pack.
    fn mapping_rule(&self, ch: &SpeakerChannel) -> Option<Vec<f64>> {
        let input = common_pack_layout(ch.packs.last()?)?;
        let label = nominal_label(ch.labels.first()?).to_ascii_uppercase();
        let rule = expanded_rules().iter().find(|r| {
            r.label == label
                && r.inputs.is_none_or(|l| l.contains(&input))
                && r.outputs
                    .is_none_or(|l| self.code.as_deref().is_some_and(|c| l.contains(&c)))
                && r.gains.iter().all(|(name, _)| {
                    // BS.2127 asks only that the speakers exist; mixstage also keeps LFE
                    // and other channels apart.
                    self.index_of(name).is_some_and(|i| self.lfe[i] == ch.lfe)
                })
        })?;
        let mut gains = vec![0.0; self.labels.len()];
        for (name, power) in &rule.gains {
            let i = self.index_of(name)?;
            gains[i] = power.sqrt();
        }
        Some(gains)
    }

    /// Step 3: the one nearest speaker of the channel's kind inside its bounds.
    fn within_bounds(&self, ch: &SpeakerChannel) -> Result<Option<usize>> {
        let tol = TOLERANCE;
        let (positions, target, inside): (Vec<Vec3>, Vec3, Vec<bool>) = match ch.position {
            SpeakerPosition::Polar {
                azimuth,
                elevation,
                distance,
                azimuth_range,
                elevation_range,
                distance_range,
            } => {
                let (az0, az1) = azimuth_range.unwrap_or((azimuth, azimuth));
                let (el0, el1) = elevation_range.unwrap_or((elevation, elevation));
                let (d0, d1) = distance_range.unwrap_or((distance, distance));
                // Every speaker of a layout is at distance 1.
                let distance_ok = 1.0 > d0 - tol && 1.0 < d1 + tol;
                let inside = self
                    .polar
                    .iter()
                    .map(|&(az, el)| {
                        // A speaker at a pole matches any azimuth range.
                        (inside_angle_range(az, az0, az1, tol) || el.abs() >= 90.0 - tol)
                            && el > el0 - tol
                            && el < el1 + tol
                            && distance_ok
                    })
                    .collect();
                (
                    self.directions.clone(),
                    geometry::polar_to_cartesian(azimuth, elevation, distance),
                    inside,
                )
            }
            SpeakerPosition::Cartesian {
                x,
                y,
                z,
                x_range,
                y_range,
                z_range,
            } => {
                // Speakers without an allocentric position never match; a non-LFE channel
                // needs every non-LFE speaker's position (its fallback pans over them).
                if let Some(i) = (0..self.labels.len())
                    .find(|&i| !ch.lfe && !self.lfe[i] && self.allocentric[i].is_none())
                {
                    return Err(Error::Invalid(format!(
                        "DirectSpeakers channel {} has a Cartesian position ({x}, {y}, {z}) that no speaker label places, and the layout's speaker '{}' has no allocentric position; add `allocentric: (x, y, z)` to the layout file's speakers",
                        describe(ch),
                        self.labels[i]
                    )));
                }
                let lo = Vec3::new(
                    x_range.map_or(x, |r| r.0),
                    y_range.map_or(y, |r| r.0),
                    z_range.map_or(z, |r| r.0),
                );
                let hi = Vec3::new(
                    x_range.map_or(x, |r| r.1),
                    y_range.map_or(y, |r| r.1),
                    z_range.map_or(z, |r| r.1),
                );
                let inside = self
                    .allocentric
                    .iter()
                    .map(|p| {
                        p.is_some_and(|p| {
                            (0..3).all(|k| p[k] + tol >= lo[k] && p[k] - tol <= hi[k])
                        })
                    })
                    .collect();
                let positions = self
                    .allocentric
                    .iter()
                    .map(|p| p.unwrap_or(Vec3::zeros()))
                    .collect();
                (positions, Vec3::new(x, y, z), inside)
            }
        };
        let candidates: Vec<(usize, f64)> = (0..self.labels.len())
            .filter(|&i| inside[i] && self.lfe[i] == ch.lfe)
            .map(|i| (i, (positions[i] - target).norm()))
            .collect();
        let Some(&(best, min)) = candidates.iter().min_by(|a, b| a.1.total_cmp(&b.1)) else {
            return Ok(None);
        };
        let ties = candidates
            .iter()
            .filter(|(_, d)| (d - min).abs() < tol)
            .count();
        Ok((ties == 1).then_some(best))
    }
}

/// BS.2127's LFE test for a DirectSpeakers channel: the channel's `frequency` says
/// `lowPass` <= 200 Hz with no `highPass`, or one of its labels is an LFE label (`LFE`,
/// `LFE1`, `LFE2`, `LFEL`, `LFER`, their URN forms, or Dolby's `RC_LFE`).
pub fn is_lfe(low_pass: Option<f64>, high_pass: Option<f64>, labels: &[String]) -> bool {
    let by_frequency = high_pass.is_none() && low_pass.is_some_and(|f| f <= 200.0);
    by_frequency
        || labels.iter().any(|l| {
            let n = nominal_label(l);
            n.eq_ignore_ascii_case("LFE1") || n.eq_ignore_ascii_case("LFE2")
        })
}

/// The BS.2051 speaker label a `speakerLabel` stands for: the URN prefix
/// `urn:itu:bs:2051:<version>:speaker:` removed, `LFE` and `LFEL` read as `LFE1` and
/// `LFER` as `LFE2` (as BS.2127 does), and Dolby's `RC_` bed labels read as the BS.2051
/// speakers of their positions (`RC_L` = `M+030`, `RC_Lss` = `M+090`, `RC_Lrs` = `M+135`,
/// `RC_Ls` = `M+110`, `RC_Lts` = `U+090`, `RC_LFE` = `LFE1`, ...). Other labels are
/// returned as written (surrounding white space removed).
pub fn nominal_label(label: &str) -> String {
    let label = label.trim();
    let label = strip_urn(label).unwrap_or(label);
    for (from, to) in LABEL_SUBSTITUTIONS.iter().chain(DOLBY_LABELS) {
        if label.eq_ignore_ascii_case(from) {
            return (*to).to_string();
        }
    }
    label.to_string()
}

/// The BS.2051 layout (code such as `0+5+0`) that BS.2127 takes a BS.2094 common-definition
/// DirectSpeakers pack to be, for its mapping rules; `None` for any other pack (IDs
/// compared ignoring case). These are the packs of the EBU ADM Renderer's table: the other
/// common-definition packs (`AP_0001000A` 3.0, `AP_00010016` 7.1.2, ...) are rendered by
/// their labels and positions only.
pub fn common_pack_layout(pack_id: &str) -> Option<&'static str> {
    COMMON_PACK_LAYOUTS
        .iter()
        .find(|(id, _)| id.eq_ignore_ascii_case(pack_id.trim()))
        .map(|(_, code)| *code)
}

/// BS.2127's common-definition packs and the BS.2051 layouts they stand for.
const COMMON_PACK_LAYOUTS: &[(&str, &str)] = &[
    ("AP_00010001", "0+1+0"),
    ("AP_00010002", "0+2+0"),
    ("AP_0001000C", "0+5+0"),
    ("AP_00010003", "0+5+0"),
    ("AP_00010004", "2+5+0"),
    ("AP_00010005", "4+5+0"),
    ("AP_00010010", "4+5+1"),
    ("AP_00010007", "3+7+0"),
    ("AP_00010008", "4+9+0"),
    ("AP_00010009", "9+10+3"),
    ("AP_0001000F", "0+7+0"),
    ("AP_00010017", "4+7+0"),
];

/// BS.2127's alternative LFE names.
const LABEL_SUBSTITUTIONS: &[(&str, &str)] = &[("LFE", "LFE1"), ("LFEL", "LFE1"), ("LFER", "LFE2")];

/// Dolby Atmos ADM bed labels and the BS.2051 speakers at their positions (the profile's
/// room-centric positions: L/R at the front corners, Lss/Rss at the side walls' middle,
/// Lrs/Rrs at the rear corners, Lts/Rts overhead at the side; Ls/Rs of a 5.1 bed are the
/// BS.2051 surrounds).
const DOLBY_LABELS: &[(&str, &str)] = &[
    ("RC_L", "M+030"),
    ("RC_R", "M-030"),
    ("RC_C", "M+000"),
    ("RC_LFE", "LFE1"),
    ("RC_Ls", "M+110"),
    ("RC_Rs", "M-110"),
    ("RC_Lss", "M+090"),
    ("RC_Rss", "M-090"),
    ("RC_Lrs", "M+135"),
    ("RC_Rrs", "M-135"),
    ("RC_Lts", "U+090"),
    ("RC_Rts", "U-090"),
];

/// The label after `urn:itu:bs:2051:<digits>:speaker:`, if `label` has that prefix.
fn strip_urn(label: &str) -> Option<&str> {
    const HEAD: &str = "urn:itu:bs:2051:";
    const TAIL: &str = ":speaker:";
    let head = label.get(..HEAD.len())?;
    if !head.eq_ignore_ascii_case(HEAD) {
        return None;
    }
    let rest = &label[HEAD.len()..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = &rest[digits..];
    let tail = rest.get(..TAIL.len())?;
    tail.eq_ignore_ascii_case(TAIL).then(|| &rest[TAIL.len()..])
}

/// The BS.2051 code (`0+5+0`) among a layout's name and aliases.
fn bs2051_code(layout: &Layout) -> Option<&str> {
    std::iter::once(&layout.name)
        .chain(&layout.aliases)
        .map(String::as_str)
        .find(|n| {
            let parts: Vec<&str> = n.split('+').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
}

/// Is angle `x` inside the range running anticlockwise from `start` to `end` (degrees),
/// within `tol`? `(-180, 180)` is every angle, `(0, 0)` a single one.
/// Whether angle `x` lies in the range from `start` to `end` (degrees; a range of 360 means
/// every angle), within `tol` (BS.2127's `inside_angle_range`).
pub(crate) fn inside_angle_range(x: f64, start: f64, end: f64, tol: f64) -> bool {
    if !(x.is_finite() && start.is_finite() && end.is_finite()) {
        return false;
    }
    // Bring `end` into [start, start + 360] and `x` into [start - tol, start - tol + 360).
    let mut end = end;
    while end - 360.0 > start {
        end -= 360.0;
    }
    while end < start {
        end += 360.0;
    }
    let low = start - tol;
    let mut x = x;
    while x - 360.0 >= low {
        x -= 360.0;
    }
    while x < low {
        x += 360.0;
    }
    x <= end + tol
}

fn describe(ch: &SpeakerChannel) -> String {
    if ch.labels.is_empty() {
        "(no speakerLabel)".to_string()
    } else {
        format!("'{}'", ch.labels.join("', '"))
    }
}

// ---- BS.2127's mapping rules (Table 8 of BS.2127; data as in the EBU ADM Renderer) ----

/// One mapping rule: a channel labelled `label` plays from `gains` (speaker, *power*
/// fraction; the gain is its square root) if every one of those speakers exists, the input
/// pack's layout is one of `inputs` and the output layout one of `outputs` (`None`: any).
struct Rule {
    label: &'static str,
    gains: &'static [(&'static str, f64)],
    inputs: Option<&'static [&'static str]>,
    outputs: Option<&'static [&'static str]>,
}

const fn rule(label: &'static str, gains: &'static [(&'static str, f64)]) -> Rule {
    Rule {
        label,
        gains,
        inputs: None,
        outputs: None,
    }
}

const THIRD: f64 = 1.0 / 3.0;
const TWO_THIRDS: f64 = 2.0 / 3.0;
const HALF: f64 = 0.5;
const QUARTER: f64 = 0.25;
const FROM_22_2: Option<&[&str]> = Some(&["9+10+3"]);
const TWO_LFE: Option<&[&str]> = Some(&["9+10+3", "3+7+0"]);

/// The rules for the left side and the centre, in priority order; each left-side rule has
/// a mirror image for the right side (see [`expanded_rules`]).
const RULES: &[Rule] = &[
    rule("M+000", &[("M+000", 1.0)]),
    rule("M+000", &[("M+030", HALF), ("M-030", HALF)]),
    rule("M+060", &[("M+060", 1.0)]),
    rule("M+060", &[("M+030", TWO_THIRDS), ("M+110", THIRD)]),
    rule("M+060", &[("M+030", HALF), ("M+090", HALF)]),
    rule("M+060", &[("M+030", 1.0)]),
    rule("M+090", &[("M+090", 1.0)]),
    Rule {
        inputs: FROM_22_2,
        ..rule("M+090", &[("M+030", THIRD), ("M+110", TWO_THIRDS)])
    },
    rule("M+090", &[("M+030", HALF), ("M+110", HALF)]),
    rule("M+090", &[("M+030", HALF)]),
    rule("M+110", &[("M+110", 1.0)]),
    rule("M+110", &[("M+135", 1.0)]),
    rule("M+110", &[("M+030", HALF)]),
    rule("M+135", &[("M+135", 1.0)]),
    rule("M+135", &[("M+110", 1.0)]),
    rule("M+135", &[("M+030", HALF)]),
    rule("M+180", &[("M+180", 1.0)]),
    rule("M+180", &[("M+135", HALF), ("M-135", HALF)]),
    rule("M+180", &[("M+110", HALF), ("M-110", HALF)]),
    rule("M+180", &[("M+030", QUARTER), ("M-030", QUARTER)]),
    rule("U+000", &[("U+000", 1.0)]),
    rule("U+000", &[("U+030", HALF), ("U-030", HALF)]),
    rule("U+000", &[("U+045", HALF), ("U-045", HALF)]),
    rule("U+000", &[("M+000", 1.0)]),
    rule("U+000", &[("M+030", HALF), ("M-030", HALF)]),
    rule("U+030", &[("U+030", 1.0)]),
    rule("U+030", &[("U+045", 1.0)]),
    rule("U+030", &[("M+030", 1.0)]),
    rule("U+045", &[("U+045", 1.0)]),
    rule("U+045", &[("U+030", 1.0)]),
    rule("U+045", &[("M+030", 1.0)]),
    rule("U+090", &[("U+090", 1.0)]),
    Rule {
        inputs: FROM_22_2,
        ..rule("U+090", &[("U+045", TWO_THIRDS), ("UH+180", THIRD)])
    },
    rule("U+090", &[("U+030", HALF), ("U+110", HALF)]),
    rule("U+090", &[("U+045", HALF), ("U+135", HALF)]),
    rule("U+090", &[("M+090", 1.0)]),
    rule("U+090", &[("U+030", HALF), ("M+110", HALF)]),
    rule("U+090", &[("M+030", HALF), ("M+110", HALF)]),
    rule("U+090", &[("M+030", HALF)]),
    rule("U+110", &[("U+110", 1.0)]),
    rule("U+110", &[("U+135", 1.0)]),
    rule("U+110", &[("U+045", HALF), ("UH+180", HALF)]),
    rule("U+110", &[("M+110", 1.0)]),
    rule("U+110", &[("M+135", 1.0)]),
    rule("U+110", &[("M+030", HALF)]),
    rule("U+135", &[("U+135", 1.0)]),
    rule("U+135", &[("U+110", 1.0)]),
    Rule {
        inputs: FROM_22_2,
        ..rule("U+135", &[("U+045", THIRD), ("UH+180", TWO_THIRDS)])
    },
    rule("U+135", &[("U+045", HALF), ("UH+180", HALF)]),
    rule("U+135", &[("M+135", 1.0)]),
    rule("U+135", &[("M+110", 1.0)]),
    rule("U+135", &[("M+030", HALF)]),
    rule("U+180", &[("U+180", 1.0)]),
    rule("U+180", &[("UH+180", 1.0)]),
    rule("U+180", &[("U+135", HALF), ("U-135", HALF)]),
    rule("U+180", &[("U+110", HALF), ("U-110", HALF)]),
    rule("U+180", &[("M+135", HALF), ("M-135", HALF)]),
    rule("U+180", &[("M+110", HALF), ("M-110", HALF)]),
    rule("U+180", &[("M+030", QUARTER), ("M-030", QUARTER)]),
    rule("UH+180", &[("UH+180", 1.0)]),
    rule("UH+180", &[("U+180", 1.0)]),
    rule("UH+180", &[("U+135", HALF), ("U-135", HALF)]),
    rule("UH+180", &[("U+110", HALF), ("U-110", HALF)]),
    rule("UH+180", &[("M+135", HALF), ("M-135", HALF)]),
    rule("UH+180", &[("M+110", HALF), ("M-110", HALF)]),
    rule("UH+180", &[("M+030", QUARTER), ("M-030", QUARTER)]),
    rule("T+000", &[("T+000", 1.0)]),
    rule(
        "T+000",
        &[
            ("U+045", QUARTER),
            ("U-045", QUARTER),
            ("U+135", QUARTER),
            ("U-135", QUARTER),
        ],
    ),
    rule(
        "T+000",
        &[
            ("U+030", QUARTER),
            ("U-030", QUARTER),
            ("U+110", QUARTER),
            ("U-110", QUARTER),
        ],
    ),
    rule(
        "T+000",
        &[("U+045", THIRD), ("U-045", THIRD), ("UH+180", THIRD)],
    ),
    rule(
        "T+000",
        &[
            ("U+045", QUARTER),
            ("U-045", QUARTER),
            ("M+135", QUARTER),
            ("M-135", QUARTER),
        ],
    ),
    rule(
        "T+000",
        &[
            ("U+030", QUARTER),
            ("U-030", QUARTER),
            ("M+110", QUARTER),
            ("M-110", QUARTER),
        ],
    ),
    rule(
        "T+000",
        &[
            ("M+030", QUARTER),
            ("M-030", QUARTER),
            ("M+135", QUARTER),
            ("M-135", QUARTER),
        ],
    ),
    rule(
        "T+000",
        &[
            ("M+030", QUARTER),
            ("M-030", QUARTER),
            ("M+110", QUARTER),
            ("M-110", QUARTER),
        ],
    ),
    rule("T+000", &[("M+030", QUARTER), ("M-030", QUARTER)]),
    rule("B+000", &[("B+000", 1.0)]),
    rule("B+000", &[("M+000", 1.0)]),
    rule("B+000", &[("M+030", HALF), ("M-030", HALF)]),
    rule("B+045", &[("B+045", 1.0)]),
    rule("B+045", &[("M+030", 1.0)]),
    Rule {
        inputs: TWO_LFE,
        outputs: TWO_LFE,
        ..rule("LFE1", &[("LFE1", 1.0)])
    },
    Rule {
        inputs: TWO_LFE,
        outputs: TWO_LFE,
        ..rule("LFE2", &[("LFE2", 1.0)])
    },
    Rule {
        inputs: TWO_LFE,
        ..rule("LFE1", &[("LFE1", HALF)])
    },
    Rule {
        inputs: TWO_LFE,
        ..rule("LFE2", &[("LFE1", HALF)])
    },
    rule("LFE1", &[("LFE1", 1.0)]),
];

/// A rule with owned labels (after mirroring).
struct OwnedRule {
    label: String,
    gains: Vec<(String, f64)>,
    inputs: Option<&'static [&'static str]>,
    outputs: Option<&'static [&'static str]>,
}

/// The right-side twin of a label: `+` and `-` swapped, except on the median plane
/// (labels ending in `000` or `180`) and for labels with neither sign.
fn mirror(label: &str) -> String {
    if label.ends_with("000") || label.ends_with("180") {
        label.to_string()
    } else if label.contains('+') {
        label.replace('+', "-")
    } else {
        label.replace('-', "+")
    }
}

/// [`RULES`] with each rule followed by its mirror image, unless the mirror image is the
/// same rule (a centre speaker with a symmetric set of outputs).
fn expanded_rules() -> &'static [OwnedRule] {
    static RULES_ALL: OnceLock<Vec<OwnedRule>> = OnceLock::new();
    RULES_ALL.get_or_init(|| {
        let mut out = Vec::new();
        for r in RULES {
            let own = OwnedRule {
                label: r.label.to_string(),
                gains: r.gains.iter().map(|(l, g)| (l.to_string(), *g)).collect(),
                inputs: r.inputs,
                outputs: r.outputs,
            };
            let twin = OwnedRule {
                label: mirror(r.label),
                gains: r.gains.iter().map(|(l, g)| (mirror(l), *g)).collect(),
                inputs: r.inputs,
                outputs: r.outputs,
            };
            let sorted = |g: &[(String, f64)]| {
                let mut g = g.to_vec();
                g.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
                g
            };
            let same = twin.label == own.label && sorted(&twin.gains) == sorted(&own.gains);
            out.push(own);
            if !same {
                out.push(twin);
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(name: &str) -> Layout {
        Layout::resolve(name).unwrap()
    }

    fn chan(labels: &[&str], position: SpeakerPosition, packs: &[&str]) -> SpeakerChannel {
        let labels: Vec<String> = labels.iter().map(|s| s.to_string()).collect();
        SpeakerChannel {
            lfe: is_lfe(None, None, &labels),
            labels,
            position,
            edge_lock: Default::default(),
            packs: packs.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn gain_of(l: &Layout, g: &[f64], label: &str) -> f64 {
        g[l.channel_index(label).unwrap()]
    }

    #[test]
    fn labels_are_normalised_as_bs2127_does() {
        assert_eq!(nominal_label("urn:itu:bs:2051:0:speaker:M+030"), "M+030");
        assert_eq!(nominal_label("urn:itu:bs:2051:12:speaker:U-135"), "U-135");
        assert_eq!(nominal_label(" urn:itu:bs:2051:0:speaker:LFER "), "LFE2");
        assert_eq!(nominal_label("LFEL"), "LFE1");
        assert_eq!(nominal_label("LFE"), "LFE1");
        assert_eq!(nominal_label("RC_Lss"), "M+090");
        assert_eq!(nominal_label("RC_LFE"), "LFE1");
        // Not a URN of the right shape: left alone.
        assert_eq!(
            nominal_label("urn:itu:bs:2051:x:speaker:M+030"),
            "urn:itu:bs:2051:x:speaker:M+030"
        );
        assert_eq!(nominal_label("Foo"), "Foo");
    }

    #[test]
    fn lfe_by_frequency_or_label() {
        let none: Vec<String> = vec![];
        assert!(is_lfe(Some(120.0), None, &none));
        assert!(is_lfe(Some(200.0), None, &none));
        assert!(!is_lfe(Some(200.5), None, &none));
        assert!(!is_lfe(Some(120.0), Some(20.0), &none));
        assert!(!is_lfe(None, None, &none));
        for l in [
            "LFE",
            "LFE1",
            "LFE2",
            "LFEL",
            "LFER",
            "urn:itu:bs:2051:0:speaker:LFE",
            "RC_LFE",
        ] {
            assert!(is_lfe(None, None, &[l.to_string()]), "{l}");
        }
        assert!(!is_lfe(
            None,
            None,
            &["M+000".to_string(), "LFE3".to_string()]
        ));
    }

    #[test]
    fn common_packs() {
        assert_eq!(common_pack_layout("AP_00010003"), Some("0+5+0"));
        assert_eq!(common_pack_layout("ap_0001000c"), Some("0+5+0"));
        assert_eq!(common_pack_layout("AP_00010017"), Some("4+7+0"));
        assert_eq!(common_pack_layout("AP_00010016"), None);
        assert_eq!(common_pack_layout("AP_00011001"), None);
    }

    #[test]
    fn rules_expand_with_mirror_images_in_order() {
        let r = expanded_rules();
        let m110: Vec<_> = r.iter().filter(|r| r.label == "M-110").collect();
        assert_eq!(m110.len(), 3);
        assert_eq!(m110[1].gains, vec![("M-135".to_string(), 1.0)]);
        // Symmetric centre rules are not doubled.
        assert_eq!(r.iter().filter(|r| r.label == "M+000").count(), 2);
        assert_eq!(r.iter().filter(|r| r.label == "T+000").count(), 9);
        assert!(r.iter().all(|r| r.label != "LFE1" || r.gains.len() == 1));
    }

    #[test]
    fn five_one_bed_on_7_1_4_follows_the_mapping_rules() {
        let l = layout("4+7+0");
        let p = DirectSpeakersPanner::new(&l).unwrap();
        let ch = chan(
            &["urn:itu:bs:2051:0:speaker:M+110"],
            SpeakerPosition::polar(110.0, 0.0),
            &["AP_00010003"],
        );
        let r = p.route(&ch).unwrap();
        assert_eq!(r.step, Step::MappingRule);
        assert_eq!(gain_of(&l, &r.gains, "M+135"), 1.0);
        assert_eq!(r.gains.iter().filter(|&&g| g != 0.0).count(), 1);
        let ch = chan(
            &["M-110"],
            SpeakerPosition::polar(-110.0, 0.0),
            &["AP_00010003"],
        );
        assert_eq!(gain_of(&l, &p.gains(&ch).unwrap(), "M-135"), 1.0);
        // The same channel outside a common-definition pack is panned at its position.
        let ch = chan(
            &["M+110"],
            SpeakerPosition::polar(110.0, 0.0),
            &["AP_00011001"],
        );
        let r = p.route(&ch).unwrap();
        assert_eq!(r.step, Step::PointSource);
        assert!(gain_of(&l, &r.gains, "M+090") > 0.0 && gain_of(&l, &r.gains, "M+135") > 0.0);
    }

    #[test]
    fn two_lfes_fold_into_one() {
        let l = layout("7.1.4");
        let p = DirectSpeakersPanner::new(&l).unwrap();
        let h = 0.5f64.sqrt();
        for label in ["LFEL", "LFER"] {
            let ch = chan(
                &[label],
                SpeakerPosition::polar(45.0, -30.0),
                &["AP_00010009"],
            );
            let g = p.gains(&ch).unwrap();
            assert_eq!(gain_of(&l, &g, "LFE1"), h, "{label}");
            assert_eq!(g.iter().filter(|&&x| x != 0.0).count(), 1);
        }
        // 22.2 to 22.2: each LFE to its own.
        let l = layout("22.2");
        let p = DirectSpeakersPanner::new(&l).unwrap();
        let ch = chan(
            &["LFER"],
            SpeakerPosition::polar(-45.0, -30.0),
            &["AP_00010009"],
        );
        assert_eq!(gain_of(&l, &p.gains(&ch).unwrap(), "LFE2"), 1.0);
    }

    #[test]
    fn labels_then_bounds_then_panning() {
        let l = layout("7.1.4");
        let p = DirectSpeakersPanner::new(&l).unwrap();
        // The first label the layout has wins.
        let ch = chan(
            &["B+000", "urn:itu:bs:2051:1:speaker:U-045", "M+030"],
            SpeakerPosition::polar(0.0, 0.0),
            &[],
        );
        let r = p.route(&ch).unwrap();
        assert_eq!((r.step, gain_of(&l, &r.gains, "U-045")), (Step::Label, 1.0));
        // Dolby's side surround.
        let ch = chan(&["RC_Lss"], SpeakerPosition::cartesian(-1.0, 0.0, 0.0), &[]);
        assert_eq!(gain_of(&l, &p.gains(&ch).unwrap(), "M+090"), 1.0);
        // One speaker inside the bounds.
        let mut pos = SpeakerPosition::polar(100.0, 0.0);
        if let SpeakerPosition::Polar { azimuth_range, .. } = &mut pos {
            *azimuth_range = Some((80.0, 140.0));
        }
        let ch = chan(&["Foo"], pos, &[]);
        let r = p.route(&ch).unwrap();
        assert_eq!(
            (r.step, gain_of(&l, &r.gains, "M+090")),
            (Step::Bounds, 1.0)
        );
        // Two equally near: panned.
        let mut pos = SpeakerPosition::polar(180.0, 0.0);
        if let SpeakerPosition::Polar { azimuth_range, .. } = &mut pos {
            *azimuth_range = Some((120.0, -120.0));
        }
        let r = p.route(&chan(&["Foo"], pos, &[])).unwrap();
        assert_eq!(r.step, Step::PointSource);
        let (a, b) = (
            gain_of(&l, &r.gains, "M+135"),
            gain_of(&l, &r.gains, "M-135"),
        );
        assert!((a - b).abs() < 1e-12 && (a * a + b * b - 1.0).abs() < 1e-9);
        // No bounds and no speaker there: panned, never onto the LFE.
        let r = p
            .route(&chan(&["Foo"], SpeakerPosition::polar(45.0, -30.0), &[]))
            .unwrap();
        assert_eq!(r.step, Step::PointSource);
        assert_eq!(gain_of(&l, &r.gains, "LFE1"), 0.0);
    }

    #[test]
    fn lfe_goes_to_the_lfe_or_nowhere() {
        let l = layout("5.1");
        let p = DirectSpeakersPanner::new(&l).unwrap();
        let mut ch = chan(&["M+000"], SpeakerPosition::polar(0.0, -30.0), &[]);
        ch.lfe = true; // by frequency
        let r = p.route(&ch).unwrap();
        assert_eq!((r.step, gain_of(&l, &r.gains, "LFE1")), (Step::Lfe, 1.0));
        let stereo = DirectSpeakersPanner::new(&layout("0+2+0")).unwrap();
        let r = stereo
            .route(&chan(
                &["LFE"],
                SpeakerPosition::polar(0.0, -30.0),
                &["AP_00010003"],
            ))
            .unwrap();
        assert_eq!((r.step, r.gains), (Step::Dropped, vec![0.0, 0.0]));
    }

    #[test]
    fn stereo_pans_like_bs2127() {
        let l = layout("0+2+0");
        let p = DirectSpeakersPanner::new(&l).unwrap();
        // Centre: equal gains at unit power (front only: 0 dB).
        let g = p
            .gains(&chan(&["Foo"], SpeakerPosition::polar(0.0, 0.0), &[]))
            .unwrap();
        assert!((g[0] - g[1]).abs() < 1e-12 && (g[0] * g[0] + g[1] * g[1] - 1.0).abs() < 1e-12);
        // A surround speaker alone: its side only, -3 dB.
        let g = p
            .gains(&chan(&["Foo"], SpeakerPosition::polar(110.0, 0.0), &[]))
            .unwrap();
        assert!(
            (g[0] - 0.5f64.sqrt()).abs() < 1e-12 && g[1].abs() < 1e-12,
            "{g:?}"
        );
    }

    #[test]
    fn cartesian_positions_use_allocentric_positions() {
        let l = layout("5.1");
        let p = DirectSpeakersPanner::new(&l).unwrap();
        let ch = chan(&["Foo"], SpeakerPosition::cartesian(-1.0, -1.0, 0.0), &[]);
        let r = p.route(&ch).unwrap();
        assert_eq!(
            (r.step, gain_of(&l, &r.gains, "M+110")),
            (Step::Bounds, 1.0)
        );
        // Between the side speakers: the allocentric panner, never the LFE.
        let ch = chan(&["Foo"], SpeakerPosition::cartesian(-1.0, 0.0, 0.0), &[]);
        let r = p.route(&ch).unwrap();
        assert_eq!(r.step, Step::PointSource);
        let (front, back) = (
            gain_of(&l, &r.gains, "M+030"),
            gain_of(&l, &r.gains, "M+110"),
        );
        assert!((front - back).abs() < 1e-12 && (front * front + back * back - 1.0).abs() < 1e-12);
        assert_eq!(gain_of(&l, &r.gains, "LFE1"), 0.0);
        // Without allocentric positions: a clear error, but labels still work.
        let mut bare = l.clone();
        bare.speakers.iter_mut().for_each(|s| s.allocentric = None);
        let p = DirectSpeakersPanner::new(&bare).unwrap();
        let e = p.gains(&ch).unwrap_err().to_string();
        assert!(e.contains("allocentric"), "{e}");
        let ch = chan(&["RC_Ls"], SpeakerPosition::cartesian(-1.0, -1.0, 0.0), &[]);
        assert_eq!(gain_of(&bare, &p.gains(&ch).unwrap(), "M+110"), 1.0);
    }

    #[test]
    fn angle_ranges() {
        assert!(inside_angle_range(180.0, 170.0, -170.0, 0.0));
        assert!(inside_angle_range(-175.0, 170.0, -170.0, 0.0));
        assert!(!inside_angle_range(0.0, 170.0, -170.0, 0.0));
        assert!(inside_angle_range(12.0, -180.0, 180.0, 0.0));
        assert!(inside_angle_range(30.0, 30.0, 30.0, 0.0));
        assert!(inside_angle_range(30.0 + 5e-6, 30.0, 30.0, 1e-5));
        assert!(!inside_angle_range(31.0, 30.0, 30.0, 1e-5));
        assert!(!inside_angle_range(f64::INFINITY, 0.0, 10.0, 0.0));
    }
}
