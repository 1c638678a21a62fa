//! Layout conversion: re-rendering a channel-based mix for another speaker layout.
//!
//! A conversion is a gain matrix (rows: output channels, columns: input channels) built once
//! and applied to every frame. Two methods build it:
//!
//! * [`Method::Vbap`] (the default, and what the renderer uses for beds): an input channel
//!   whose speaker also exists in the target (same BS.2051 label, or a shared alias such as
//!   `Ls`) goes straight through at gain 1; every other non-LFE input channel is panned with
//!   the target layout's [`Panner`] as a point source at its own speaker direction. Panner
//!   gains are power-normalised, so every input column has unit power and uncorrelated
//!   input keeps its total power. An upmix (5.1 to 7.1.4) therefore only places each channel
//!   at its speaker and invents no height signal; a height channel folded into a layout
//!   without heights plays from the two ear-layer speakers either side of its azimuth.
//! * [`Method::Itu`]: fixed coefficients for the standard fold-downs. ITU-R BS.775 defines
//!   5.1 to 2.0 (Lo/Ro: `Lo = L + 0.7071 C + 0.7071 Ls`) and 5.1 / 2.0 to mono; the 7.1 to
//!   5.1 and height fold-down rules are the common practice that extends it (see
//!   [`ITU_PAIRS`]). Other pairs are an error that lists the supported ones.
//!
//! LFE channels never receive panned signal. [`LfeMode`] says what happens to input LFE
//! channels: `Keep` routes them to the target's LFE (and drops them when the target has
//! none, as BS.775 does for 2.0; [`Matrix::unrouted_inputs`] reports it), `Drop` discards
//! them, and `Mix(dB)` adds them to the target's front left/right pair at that gain.
//!
//! Mono is not a [`Layout`] (a layout needs at least two speakers to pan between):
//! [`mono_downmix`] builds the one-channel fold-down used for QC checks.
//!
//! [`convert_file`] streams a file through a matrix in blocks with constant memory.

use std::f64::consts::FRAC_1_SQRT_2;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::geometry;
use crate::io::{open_audio, AudioInfo, AudioSource, SampleFormat, WavWriter, WriteStats};
use crate::layout::{wave_bit, Layout, Speaker};
use crate::panner::Panner;

/// How a conversion matrix is built.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Same speaker straight through; every other channel panned with VBAP at its own
    /// speaker direction (power-normalised). Works for any pair of layouts.
    #[default]
    #[value(
        help = "same speaker straight through, others panned with VBAP at their own direction (any pair)"
    )]
    Vbap,
    /// Standard fold-down coefficients (ITU-R BS.775 and its common extensions) for the
    /// pairs listed in [`ITU_PAIRS`].
    #[value(
        help = "standard fold-down coefficients (ITU-R BS.775 and common extensions; pairs below)"
    )]
    Itu,
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Method::Vbap => "vbap",
            Method::Itu => "itu",
        })
    }
}

/// What happens to the input's LFE channels.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum LfeMode {
    /// Route each input LFE to the target LFE of the same name, else to the nearest target
    /// LFE, at gain 1. A target without LFE (stereo, mono) drops it, as BS.775 does; the
    /// dropped channels are reported by [`Matrix::unrouted_inputs`].
    #[default]
    Keep,
    /// Discard the input LFE channels.
    Drop,
    /// Mix each input LFE into the target's front left and right speakers (the ear-level
    /// speakers nearest +30 and -30 degrees; the single channel of a mono fold-down) at this
    /// gain in dB, each. The target's own LFE channels then receive nothing.
    Mix(f64),
}

impl fmt::Display for LfeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LfeMode::Keep => f.write_str("keep"),
            LfeMode::Drop => f.write_str("drop"),
            LfeMode::Mix(db) => write!(f, "mix={db}"),
        }
    }
}

/// Largest LFE mix gain accepted, in dB.
pub const MAX_LFE_MIX_DB: f64 = 20.0;

impl FromStr for LfeMode {
    type Err = String;

    /// Parses `keep`, `drop` or `mix=DB` (e.g. `mix=-10`, `mix=-10dB`).
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("keep") {
            return Ok(LfeMode::Keep);
        }
        if t.eq_ignore_ascii_case("drop") {
            return Ok(LfeMode::Drop);
        }
        let expected = "expected keep, drop or mix=DB (a gain in dB, e.g. mix=-10)";
        let rest = match t.get(..4) {
            Some(p) if p.eq_ignore_ascii_case("mix=") => &t[4..],
            _ => return Err(format!("'{s}': {expected}")),
        };
        let num = rest
            .trim()
            .trim_end_matches(['b', 'B'])
            .trim_end_matches(['d', 'D'])
            .trim();
        let db: f64 = num
            .parse()
            .map_err(|_| format!("'{s}': '{rest}' is not a number of dB; {expected}"))?;
        if !db.is_finite() || db > MAX_LFE_MIX_DB {
            return Err(format!(
                "'{s}': the LFE mix gain must be a finite number of dB up to +{MAX_LFE_MIX_DB} (use drop to discard the LFE)"
            ));
        }
        Ok(LfeMode::Mix(db))
    }
}

/// A conversion matrix between two channel lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    /// Input channel labels, in the input's channel order.
    pub from: Vec<String>,
    /// Output channel labels, in the output's channel order.
    pub to: Vec<String>,
    /// `gains[out][in]`: the gain from input channel `in` to output channel `out`.
    pub gains: Vec<Vec<f64>>,
}

/// The label of the single channel of a [`mono_downmix`].
pub const MONO_LABEL: &str = "M";

/// The pairs `--method itu` supports (besides any layout to itself), as (from, to):
/// each is a path through the fold-down steps listed in the module documentation.
pub const ITU_PAIRS: &[(&str, &str)] = &[
    ("7.1.4", "5.1.4"),
    ("7.1.4", "7.1"),
    ("7.1.4", "5.1"),
    ("7.1.4", "stereo"),
    ("7.1.4", "mono"),
    ("7.1.2", "7.1"),
    ("7.1.2", "5.1"),
    ("7.1.2", "stereo"),
    ("7.1.2", "mono"),
    ("5.1.4", "5.1"),
    ("5.1.4", "stereo"),
    ("5.1.4", "mono"),
    ("5.1.2", "5.1"),
    ("5.1.2", "stereo"),
    ("5.1.2", "mono"),
    ("7.1", "5.1"),
    ("7.1", "stereo"),
    ("7.1", "mono"),
    ("5.1", "stereo"),
    ("5.1", "mono"),
    ("stereo", "mono"),
];

impl Matrix {
    /// A matrix of zeros.
    pub fn zeros(from: Vec<String>, to: Vec<String>) -> Matrix {
        let gains = vec![vec![0.0; from.len()]; to.len()];
        Matrix { from, to, gains }
    }

    /// The identity on `labels`.
    pub fn identity(labels: Vec<String>) -> Matrix {
        let mut m = Matrix::zeros(labels.clone(), labels);
        for (i, row) in m.gains.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        m
    }

    /// Number of input channels.
    pub fn inputs(&self) -> usize {
        self.from.len()
    }

    /// Number of output channels.
    pub fn outputs(&self) -> usize {
        self.to.len()
    }

    /// The gain from the input labelled `input` to the output labelled `output`
    /// (exact label match), if both exist.
    pub fn gain(&self, output: &str, input: &str) -> Option<f64> {
        let o = self.to.iter().position(|l| l == output)?;
        let i = self.from.iter().position(|l| l == input)?;
        Some(self.gains[o][i])
    }

    /// Labels of the input channels that reach no output (all-zero columns), e.g. an LFE
    /// dropped because the target has none.
    pub fn unrouted_inputs(&self) -> Vec<String> {
        (0..self.inputs())
            .filter(|&i| self.gains.iter().all(|row| row[i] == 0.0))
            .map(|i| self.from[i].clone())
            .collect()
    }

    /// The matrix of applying `self` and then `next` (`next.from` must equal `self.to`).
    pub fn then(&self, next: &Matrix) -> Result<Matrix> {
        if next.from != self.to {
            return Err(Error::Invalid(format!(
                "cannot chain conversions: the first produces [{}] but the second expects [{}]",
                self.to.join(", "),
                next.from.join(", ")
            )));
        }
        let mut out = Matrix::zeros(self.from.clone(), next.to.clone());
        for (o, row) in out.gains.iter_mut().enumerate() {
            for (i, g) in row.iter_mut().enumerate() {
                *g = (0..self.outputs())
                    .map(|k| next.gains[o][k] * self.gains[k][i])
                    .sum();
            }
        }
        Ok(out)
    }

    /// The matrix as pretty-printed JSON: `{"from": [labels], "to": [labels], "matrix": [[...]]}`
    /// with `matrix[out][in]` (the same shape as its `Serialize` form).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a matrix of finite numbers serialises")
    }

    /// The matrix as a text table: one row per output, one column per input, exact zeros
    /// shown as `.`.
    pub fn to_table(&self) -> String {
        let w = self
            .from
            .iter()
            .chain(&self.to)
            .map(|l| l.len())
            .max()
            .unwrap_or(1)
            .max(7)
            + 1;
        let mut s = format!("{:<w$}", "out\\in");
        for l in &self.from {
            s.push_str(&format!("{l:>w$}"));
        }
        s.push('\n');
        for (o, row) in self.gains.iter().enumerate() {
            s.push_str(&format!("{:<w$}", self.to[o]));
            for &g in row {
                if g == 0.0 {
                    s.push_str(&format!("{:>w$}", "."));
                } else {
                    s.push_str(&format!("{g:>w$.4}"));
                }
            }
            s.push('\n');
        }
        s
    }

    /// A sparse form of the matrix for fast, repeated application.
    pub fn mixer(&self) -> Mixer {
        let mut terms = Vec::new();
        let mut rows = Vec::with_capacity(self.outputs());
        for row in &self.gains {
            let start = terms.len();
            terms.extend(
                row.iter()
                    .enumerate()
                    .filter(|(_, &g)| g != 0.0)
                    .map(|(i, &g)| (i, g)),
            );
            rows.push((start, terms.len()));
        }
        Mixer {
            inputs: self.inputs(),
            outputs: self.outputs(),
            terms,
            rows,
        }
    }

    /// Converts interleaved frames: `input` holds `from.len()` channels per frame, `output`
    /// (overwritten) holds `to.len()` channels per frame for the same number of frames.
    /// A gain of exactly 1 alone in its row copies the sample bit for bit.
    ///
    /// # Panics
    /// If the buffer lengths do not hold the same whole number of frames.
    pub fn apply(&self, input: &[f32], output: &mut [f32]) {
        self.mixer().apply(input, output);
    }

    /// Like [`Matrix::apply`] but adds the converted frames to `output`.
    pub fn apply_add(&self, input: &[f32], output: &mut [f32]) {
        self.mixer().apply_add(input, output);
    }
}

/// Serialises as `{"from": [labels], "to": [labels], "matrix": [[gain; inputs]; outputs]}`.
impl serde::Serialize for Matrix {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Shape<'a> {
            from: &'a [String],
            to: &'a [String],
            matrix: &'a [Vec<f64>],
        }
        Shape {
            from: &self.from,
            to: &self.to,
            matrix: &self.gains,
        }
        .serialize(serializer)
    }
}

/// A [`Matrix`] prepared for application: only its non-zero gains. Build it once with
/// [`Matrix::mixer`] and apply it per block.
///
/// Each output sample is the sum, in double precision, of its non-zero terms in input order,
/// starting from the first term (not from zero): an output fed by one input at gain 1 is a
/// bit-exact copy (the sign of zero included), and a non-finite input sample reaches only
/// the outputs it has a gain to.
#[derive(Debug, Clone, PartialEq)]
pub struct Mixer {
    inputs: usize,
    outputs: usize,
    /// (input channel, gain) of every non-zero gain, row after row.
    terms: Vec<(usize, f64)>,
    /// Per output: the range of its terms.
    rows: Vec<(usize, usize)>,
}

impl Mixer {
    fn check(&self, input: &[f32], output: &[f32]) {
        assert!(
            self.inputs > 0 && self.outputs > 0,
            "a mixer needs channels"
        );
        let n = input.len() / self.inputs;
        assert_eq!(
            input.len(),
            n * self.inputs,
            "input length is not a whole number of frames"
        );
        assert_eq!(
            output.len(),
            n * self.outputs,
            "output length does not match the input's frames"
        );
    }

    /// The converted value of output channel `row` for one input frame.
    #[inline(always)]
    fn sample(&self, frame: &[f32], (start, end): (usize, usize)) -> Option<f64> {
        let (&(i0, g0), rest) = self.terms[start..end].split_first()?;
        let mut acc = g0 * frame[i0] as f64;
        for &(i, g) in rest {
            acc += g * frame[i] as f64;
        }
        Some(acc)
    }

    /// Writes the converted frames of `input` into `output` (see [`Matrix::apply`]).
    pub fn apply(&self, input: &[f32], output: &mut [f32]) {
        self.check(input, output);
        for (x, y) in input
            .chunks_exact(self.inputs)
            .zip(output.chunks_exact_mut(self.outputs))
        {
            for (yo, &range) in y.iter_mut().zip(&self.rows) {
                *yo = self.sample(x, range).map_or(0.0, |v| v as f32);
            }
        }
    }

    /// Adds the converted frames of `input` to `output`.
    pub fn apply_add(&self, input: &[f32], output: &mut [f32]) {
        self.check(input, output);
        for (x, y) in input
            .chunks_exact(self.inputs)
            .zip(output.chunks_exact_mut(self.outputs))
        {
            for (yo, &range) in y.iter_mut().zip(&self.rows) {
                if let Some(v) = self.sample(x, range) {
                    *yo = (*yo as f64 + v) as f32;
                }
            }
        }
    }
}

/// The matrix that converts a mix in layout `from` to layout `to`.
///
/// `Method::Vbap` works for any pair; `Method::Itu` for a layout to itself and the pairs in
/// [`ITU_PAIRS`] (layouts recognised by their BS.2051 labels, in any channel order).
pub fn conversion_matrix(
    from: &Layout,
    to: &Layout,
    method: Method,
    lfe: LfeMode,
) -> Result<Matrix> {
    let mut m = Matrix::zeros(from.labels(), to.labels());
    match method {
        Method::Vbap => vbap_main(from, to, &mut m)?,
        Method::Itu => itu_main(from, &Target::Layout(to), &mut m)?,
    }
    route_lfe(&from.speakers, &to.speakers, lfe, &mut m);
    Ok(m)
}

/// The one-channel (mono) fold-down of `from`, its output labelled [`MONO_LABEL`].
///
/// Mono is no [`Layout`]: a layout needs two speakers to pan between, and folding into one
/// channel needs no panning. `Method::Itu` gives the BS.775 mono for the layouts of
/// [`ITU_PAIRS`] (`M = 0.7071 L + 0.7071 R + C + 0.5 Ls + 0.5 Rs` from 5.1, `M = 0.7071 (L + R)`
/// from stereo: the mono sum of the Lo/Ro downmix at -3 dB). `Method::Vbap` pans every
/// channel onto the single speaker, i.e. gain 1 for every non-LFE channel, which keeps the
/// power of uncorrelated channels. LFE: `Keep` and `Drop` drop it, `Mix(dB)` adds it at dB.
pub fn mono_downmix(from: &Layout, method: Method, lfe: LfeMode) -> Result<Matrix> {
    let mono = mono_speaker();
    let mut m = Matrix::zeros(from.labels(), vec![MONO_LABEL.to_string()]);
    match method {
        Method::Vbap => {
            for (i, s) in from.speakers.iter().enumerate() {
                if !s.lfe {
                    m.gains[0][i] = 1.0;
                }
            }
        }
        Method::Itu => itu_main(from, &Target::Mono, &mut m)?,
    }
    route_lfe(&from.speakers, std::slice::from_ref(&mono), lfe, &mut m);
    Ok(m)
}

fn mono_speaker() -> Speaker {
    Speaker {
        label: MONO_LABEL.to_string(),
        aliases: vec!["mono".into()],
        azimuth: 0.0,
        elevation: 0.0,
        lfe: false,
        allocentric: None,
    }
}

/// Pairs every input channel with at most one output channel of the same kind (LFE or not)
/// that is the same speaker: equal labels first, then a shared label or alias. One to one.
fn same_speakers(from: &[Speaker], to: &[Speaker]) -> Vec<Option<usize>> {
    let mut pair: Vec<Option<usize>> = vec![None; from.len()];
    let mut taken = vec![false; to.len()];
    // Pass 0: equal labels; pass 1: any shared name (label or alias).
    let same = |pass: usize, a: &Speaker, b: &Speaker| {
        if pass == 0 {
            a.label.eq_ignore_ascii_case(&b.label)
        } else {
            std::iter::once(&a.label)
                .chain(&a.aliases)
                .any(|n| b.is_named(n))
        }
    };
    for pass in 0..2 {
        for (i, s) in from.iter().enumerate() {
            if pair[i].is_some() {
                continue;
            }
            if let Some(o) =
                (0..to.len()).find(|&o| !taken[o] && to[o].lfe == s.lfe && same(pass, s, &to[o]))
            {
                pair[i] = Some(o);
                taken[o] = true;
            }
        }
    }
    pair
}

/// Non-LFE columns for the VBAP method: the same speaker straight through, the others panned.
fn vbap_main(from: &Layout, to: &Layout, m: &mut Matrix) -> Result<()> {
    route_main(
        from,
        to,
        m,
        || Panner::new(to),
        |p, d, g| {
            p.gains_into(d, g);
        },
    )
}

/// The matrix the renderer routes a RON bed with (`gains[out][in]`): speakers both layouts
/// share go straight through, as in `Method::Vbap`; every other non-LFE channel is a point
/// source at its speaker's direction with BS.2127's point-source gains (equal to VBAP's except
/// on 0+2+0, where BS.2127's stereo rule folds the surrounds at -3 dB, as BS.775 does, so a
/// scene and its ADM export sound alike); LFE kept.
pub fn bed_matrix(from: &Layout, to: &Layout) -> Result<Matrix> {
    let mut m = Matrix::zeros(from.labels(), to.labels());
    route_main(
        from,
        to,
        &mut m,
        || crate::panner::gain_calc::PointGains::new(to),
        |p, d, g| p.direction_into(d, g),
    )?;
    route_lfe(&from.speakers, &to.speakers, LfeMode::Keep, &mut m);
    Ok(m)
}

/// Fills the non-LFE columns of `m`: a speaker `to` shares goes through at 1, any other is
/// given the gains `gains` computes for its direction with the panner `build` makes (built
/// once, and only if some speaker needs it).
fn route_main<P>(
    from: &Layout,
    to: &Layout,
    m: &mut Matrix,
    build: impl Fn() -> Result<P>,
    gains: impl Fn(&P, geometry::Vec3, &mut [f64]),
) -> Result<()> {
    let pairs = same_speakers(&from.speakers, &to.speakers);
    let mut g = vec![0.0; to.channels()];
    let mut panner = None;
    for (i, s) in from.speakers.iter().enumerate() {
        if s.lfe {
            continue;
        }
        if let Some(o) = pairs[i] {
            m.gains[o][i] = 1.0;
            continue;
        }
        let p = match &mut panner {
            Some(p) => p,
            None => panner.insert(build()?),
        };
        gains(p, s.direction(), &mut g);
        for (o, &x) in g.iter().enumerate() {
            m.gains[o][i] = x;
        }
    }
    Ok(())
}

/// Fills the LFE columns of `m` according to `mode`.
fn route_lfe(from: &[Speaker], to: &[Speaker], mode: LfeMode, m: &mut Matrix) {
    let pairs = same_speakers(from, to);
    let fronts = front_pair(to);
    for (i, s) in from.iter().enumerate() {
        if !s.lfe {
            continue;
        }
        match mode {
            LfeMode::Drop => {}
            LfeMode::Keep => {
                let nearest = || {
                    (0..to.len()).filter(|&o| to[o].lfe).max_by(|&a, &b| {
                        let d = |o: usize| to[o].direction().dot(&s.direction());
                        // Prefer the earlier channel on a tie.
                        d(a).total_cmp(&d(b)).then(b.cmp(&a))
                    })
                };
                if let Some(o) = pairs[i].or_else(nearest) {
                    m.gains[o][i] = 1.0;
                }
            }
            LfeMode::Mix(db) => {
                let g = 10f64.powf(db / 20.0);
                for &o in &fronts {
                    m.gains[o][i] = g;
                }
            }
        }
    }
}

/// The target's front left and right speakers for an LFE mix: for each side, the non-LFE
/// ear-level speaker (|elevation| <= 10) in front of the listener nearest 30 degrees to that
/// side. Without such a pair, the non-LFE speaker nearest straight ahead.
fn front_pair(to: &[Speaker]) -> Vec<usize> {
    let side = |sign: f64| {
        (0..to.len())
            .filter(|&o| {
                let s = &to[o];
                !s.lfe
                    && s.elevation.abs() <= 10.0
                    && s.azimuth * sign > 0.0
                    && s.azimuth.abs() < 90.0
            })
            .min_by(|&a, &b| {
                let d = |o: usize| (to[o].azimuth - 30.0 * sign).abs();
                d(a).total_cmp(&d(b)).then(a.cmp(&b))
            })
    };
    if let (Some(l), Some(r)) = (side(1.0), side(-1.0)) {
        return vec![l, r];
    }
    let ahead = geometry::direction(0.0, 0.0);
    (0..to.len())
        .filter(|&o| !to[o].lfe)
        .max_by(|&a, &b| {
            to[a]
                .direction()
                .dot(&ahead)
                .total_cmp(&to[b].direction().dot(&ahead))
                .then(b.cmp(&a))
        })
        .into_iter()
        .collect()
}

// ---------------------------------------------------------------------------------------
// The ITU method: fixed fold-down steps between the standard layouts, composed along a path.

/// -3 dB, the BS.775 coefficient for a channel folded into another speaker.
const H: f64 = FRAC_1_SQRT_2;

/// One fold-down step: every channel of `from` that `to` also has passes at gain 1; the
/// others fold as listed (source label, [(target label, gain)]).
struct Step {
    from: &'static str,
    to: &'static str,
    folds: &'static [(&'static str, &'static [(&'static str, f64)])],
}

/// The steps. BS.775: 5.1 to 2.0 (Lo/Ro) and 2.0 to mono. Common practice: 7.1 to 5.1 sums
/// side and rear surround of each side into that side's surround at unity; a height channel
/// folds into the ear-level speaker below it at -3 dB.
const STEPS: &[Step] = &[
    Step {
        from: "7.1.4",
        to: "7.1",
        folds: &[
            ("U+045", &[("M+030", H)]),
            ("U-045", &[("M-030", H)]),
            ("U+135", &[("M+135", H)]),
            ("U-135", &[("M-135", H)]),
        ],
    },
    Step {
        from: "7.1.4",
        to: "5.1.4",
        folds: &[
            ("M+090", &[("M+110", 1.0)]),
            ("M-090", &[("M-110", 1.0)]),
            ("M+135", &[("M+110", 1.0)]),
            ("M-135", &[("M-110", 1.0)]),
            ("U+045", &[("U+030", 1.0)]),
            ("U-045", &[("U-030", 1.0)]),
            ("U+135", &[("U+110", 1.0)]),
            ("U-135", &[("U-110", 1.0)]),
        ],
    },
    Step {
        from: "7.1.2",
        to: "7.1",
        folds: &[("U+090", &[("M+090", H)]), ("U-090", &[("M-090", H)])],
    },
    Step {
        from: "5.1.4",
        to: "5.1",
        folds: &[
            ("U+030", &[("M+030", H)]),
            ("U-030", &[("M-030", H)]),
            ("U+110", &[("M+110", H)]),
            ("U-110", &[("M-110", H)]),
        ],
    },
    Step {
        from: "5.1.2",
        to: "5.1",
        folds: &[("U+030", &[("M+030", H)]), ("U-030", &[("M-030", H)])],
    },
    Step {
        from: "7.1",
        to: "5.1",
        folds: &[
            ("M+090", &[("M+110", 1.0)]),
            ("M-090", &[("M-110", 1.0)]),
            ("M+135", &[("M+110", 1.0)]),
            ("M-135", &[("M-110", 1.0)]),
        ],
    },
    Step {
        from: "5.1",
        to: "stereo",
        folds: &[
            ("M+000", &[("M+030", H), ("M-030", H)]),
            ("M+110", &[("M+030", H)]),
            ("M-110", &[("M-030", H)]),
        ],
    },
    Step {
        from: "stereo",
        to: "mono",
        folds: &[("M+030", &[(MONO_LABEL, H)]), ("M-030", &[(MONO_LABEL, H)])],
    },
];

/// The non-LFE labels of a standard layout of the ITU steps (mono included).
fn standard_labels(name: &str) -> Vec<String> {
    if name == "mono" {
        return vec![MONO_LABEL.to_string()];
    }
    Layout::find_builtin(name)
        .expect("the ITU steps name built-in layouts")
        .speakers
        .into_iter()
        .filter(|s| !s.lfe)
        .map(|s| s.label)
        .collect()
}

/// The standard layout whose non-LFE labels are exactly those of `speakers` (any order).
fn standard_name(speakers: &[Speaker]) -> Option<&'static str> {
    let mut have: Vec<String> = speakers
        .iter()
        .filter(|s| !s.lfe)
        .map(|s| s.label.to_ascii_uppercase())
        .collect();
    have.sort();
    let names = STEPS.iter().flat_map(|s| [s.from, s.to]);
    names.into_iter().find(|name| {
        let mut want: Vec<String> = standard_labels(name)
            .iter()
            .map(|l| l.to_ascii_uppercase())
            .collect();
        want.sort();
        want == have
    })
}

/// The matrix of one step, on the non-LFE labels of its layouts.
fn step_matrix(step: &Step) -> Matrix {
    let mut m = Matrix::zeros(standard_labels(step.from), standard_labels(step.to));
    for (i, label) in m.from.clone().iter().enumerate() {
        if let Some((_, folds)) = step.folds.iter().find(|(l, _)| l == label) {
            for &(target, g) in folds.iter() {
                let o =
                    m.to.iter()
                        .position(|t| t == target)
                        .expect("step targets exist");
                m.gains[o][i] = g;
            }
        } else {
            let o =
                m.to.iter()
                    .position(|t| t == label)
                    .expect("unfolded channels exist in the target");
            m.gains[o][i] = 1.0;
        }
    }
    m
}

/// The composed matrix from standard layout `from` to `to`, on their non-LFE labels, or
/// `None` if no chain of steps leads there. Depth-first; the steps form a small DAG.
fn itu_chain(from: &str, to: &str) -> Option<Matrix> {
    if from == to {
        return Some(Matrix::identity(standard_labels(from)));
    }
    STEPS.iter().filter(|s| s.from == from).find_map(|s| {
        let rest = itu_chain(s.to, to)?;
        step_matrix(s).then(&rest).ok()
    })
}

/// The output side of an ITU conversion.
enum Target<'a> {
    Layout(&'a Layout),
    Mono,
}

fn itu_unsupported(from: &Layout, to_name: &str) -> Error {
    let pairs: Vec<String> = ITU_PAIRS.iter().map(|(a, b)| format!("{a}->{b}")).collect();
    Error::Unsupported(format!(
        "--method itu has no standard coefficients for '{}' -> '{}'; it supports any layout to itself and {} \
(layouts recognised by their BS.2051 labels); use --method vbap for other pairs",
        from.name,
        to_name,
        pairs.join(", ")
    ))
}

/// Non-LFE columns for the ITU method.
fn itu_main(from: &Layout, to: &Target, m: &mut Matrix) -> Result<()> {
    let (to_speakers, to_name): (Vec<Speaker>, String) = match to {
        Target::Layout(l) => (l.speakers.clone(), l.name.clone()),
        Target::Mono => (vec![mono_speaker()], "mono".into()),
    };
    if let Target::Layout(l) = to {
        if l.labels() == from.labels() {
            for (i, s) in from.speakers.iter().enumerate() {
                if !s.lfe {
                    m.gains[i][i] = 1.0;
                }
            }
            return Ok(());
        }
    }
    let a = standard_name(&from.speakers).ok_or_else(|| itu_unsupported(from, &to_name))?;
    let b = match to {
        Target::Layout(l) => {
            standard_name(&l.speakers).ok_or_else(|| itu_unsupported(from, &to_name))?
        }
        Target::Mono => "mono",
    };
    let chain = itu_chain(a, b).ok_or_else(|| itu_unsupported(from, &to_name))?;
    for (ci, label_in) in chain.from.iter().enumerate() {
        let i = from
            .speakers
            .iter()
            .position(|s| !s.lfe && s.label.eq_ignore_ascii_case(label_in))
            .expect("recognised");
        for (co, label_out) in chain.to.iter().enumerate() {
            let o = to_speakers
                .iter()
                .position(|s| !s.lfe && s.label.eq_ignore_ascii_case(label_out))
                .expect("recognised");
            m.gains[o][i] = chain.gains[co][ci];
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Channel masks.

/// Names of the WAVE_FORMAT_EXTENSIBLE speaker bits, lowest first.
const WAVE_BIT_NAMES: [&str; 18] = [
    "FL", "FR", "FC", "LFE", "BL", "BR", "FLC", "FRC", "BC", "SL", "SR", "TC", "TFL", "TFC", "TFR",
    "TBL", "TBC", "TBR",
];

/// The speakers a WAVE channel mask names, e.g. "FL FR FC LFE BL BR".
pub fn describe_channel_mask(mask: u32) -> String {
    let mut names: Vec<String> = (0..32)
        .filter(|b| mask & (1 << b) != 0)
        .map(|b| {
            WAVE_BIT_NAMES
                .get(b as usize)
                .map(|s| s.to_string())
                .unwrap_or(format!("bit{b}"))
        })
        .collect();
    if names.is_empty() {
        names.push("none".into());
    }
    names.join(" ")
}

/// The layout a WAVE channel mask names, in the file's channel order (the ascending order of
/// the mask bits): a built-in layout whose own order is the mask order, else a built-in
/// layout with exactly the mask's speakers reordered to the mask order (e.g. 7.1 or 7.1.4 in
/// WAVE order, whose name then says so). The mask `FL FR FC LFE SL SR` (5.1 with "side"
/// surrounds, common in tools) is taken as 5.1.
pub fn layout_for_channel_mask(mask: u32) -> Option<Layout> {
    if mask == 0 {
        return None;
    }
    if let Some(l) = Layout::from_wave_channel_mask(mask) {
        return Some(l);
    }
    const SIDE_51: u32 = 0x1 | 0x2 | 0x4 | 0x8 | 0x200 | 0x400;
    if mask == SIDE_51 {
        return Layout::find_builtin("5.1");
    }
    Layout::builtin().into_iter().find_map(|l| {
        let bits: Option<Vec<u32>> = l.speakers.iter().map(|s| wave_bit(&s.label)).collect();
        let bits = bits?;
        let union = bits.iter().fold(0u32, |a, b| a | b);
        if union != mask || bits.len() != mask.count_ones() as usize {
            return None;
        }
        let mut order: Vec<usize> = (0..bits.len()).collect();
        order.sort_by_key(|&i| bits[i]);
        let speakers = order.iter().map(|&i| l.speakers[i].clone()).collect();
        Some(Layout {
            name: format!("{} (WAVE channel order)", l.name),
            aliases: vec![],
            description: format!(
                "{}, channels in the WAVE mask order {}",
                l.description,
                describe_channel_mask(mask)
            ),
            speakers,
            screen: l.screen,
        })
    })
}

/// A warning when a file's channel mask names the same speakers as `layout` but in another
/// order: the mask and the `--from` layout disagree about which channel is which.
pub fn channel_order_warning(path: &Path, layout: &Layout, mask: Option<u32>) -> Option<String> {
    let by_mask = layout_for_channel_mask(mask?)?;
    let mut a = by_mask.labels();
    let mut b = layout.labels();
    if a == b {
        return None;
    }
    a.sort();
    b.sort();
    if a != b {
        return None;
    }
    Some(format!(
        "{}: the file's channel mask 0x{:X} ({}) puts the channels in the order [{}], but layout '{}' takes them as [{}]; \
leave out --from to follow the mask",
        path.display(),
        mask?,
        describe_channel_mask(mask?),
        by_mask.labels().join(", "),
        layout.name,
        layout.labels().join(", ")
    ))
}

/// The layout of an input file: `from` when given (its channel count must match the file's),
/// else the layout its WAVE channel mask names (see [`layout_for_channel_mask`]), else stereo
/// for a two-channel file without a mask.
pub fn input_layout(path: &Path, info: &AudioInfo, from: Option<&Layout>) -> Result<Layout> {
    let layout = match from {
        Some(l) => l.clone(),
        None => match info.channel_mask {
            // A two-channel file without a mask is stereo by the WAV convention (FL FR).
            None if info.channels == 2 => Layout::find_builtin("stereo").expect("stereo is built in"),
            None => {
                return Err(Error::Invalid(format!(
                    "{}: no input layout given and the file has no channel mask to name one ({} channels); pass --from NAME",
                    path.display(),
                    info.channels
                )))
            }
            Some(mask) => layout_for_channel_mask(mask).ok_or_else(|| {
                Error::Invalid(format!(
                    "{}: no input layout given and the file's channel mask 0x{mask:X} ({}) names no built-in layout; pass --from NAME",
                    path.display(),
                    describe_channel_mask(mask)
                ))
            })?,
        },
    };
    if layout.channels() != info.channels {
        return Err(Error::Invalid(format!(
            "{}: the file has {} channel(s) but layout '{}' has {} ({}); pass the layout the file was made for",
            path.display(),
            info.channels,
            layout.name,
            layout.channels(),
            layout.labels().join(" ")
        )));
    }
    Ok(layout)
}

// ---------------------------------------------------------------------------------------
// Streaming file conversion.

/// Frames per block when streaming a file.
pub const BLOCK_FRAMES: usize = 8192;

/// Settings of a file conversion.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ConvertOptions {
    /// How the matrix is built.
    pub method: Method,
    /// What happens to the LFE.
    pub lfe: LfeMode,
    /// The output sample format.
    pub format: SampleFormat,
}

/// What a file conversion did.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertReport {
    /// The input layout (given, or named by the file's channel mask).
    pub from: Layout,
    /// The matrix that was applied.
    pub matrix: Matrix,
    /// The sample rate (unchanged from the input).
    pub sample_rate: u32,
    /// Frames converted and output levels.
    pub stats: WriteStats,
}

/// Converts the file `input` (layout `from`, or the one its channel mask names) to layout
/// `to` and writes `output` in blocks of [`BLOCK_FRAMES`] (constant memory).
pub fn convert_file(
    input: &Path,
    from: Option<&Layout>,
    to: &Layout,
    output: &Path,
    options: &ConvertOptions,
) -> Result<ConvertReport> {
    let mut source = open_audio(input)?;
    let from = input_layout(input, source.info(), from)?;
    let matrix = conversion_matrix(&from, to, options.method, options.lfe)?;
    let mask = to.wave_channel_mask().unwrap_or(0);
    let stats = convert_stream(
        source.as_mut(),
        input,
        &matrix,
        output,
        options.format,
        mask,
        &mut |_| {},
    )?;
    Ok(ConvertReport {
        sample_rate: source.info().sample_rate,
        from,
        matrix,
        stats,
    })
}

/// Streams `source` (read from `input`, named in errors) through `matrix` into a new WAV file
/// `output` with channel mask `mask`. Calls `progress` with the frames done after each block.
///
/// Errors (no output file is left behind): a channel count that differs from the matrix's
/// inputs, an input without audio frames, a non-finite sample, `output` being the input file,
/// and any read or write failure.
pub fn convert_stream(
    source: &mut dyn AudioSource,
    input: &Path,
    matrix: &Matrix,
    output: &Path,
    format: SampleFormat,
    mask: u32,
    progress: &mut dyn FnMut(u64),
) -> Result<WriteStats> {
    let info = source.info().clone();
    if info.channels != matrix.inputs() {
        return Err(Error::Invalid(format!(
            "{}: the file has {} channel(s) but the conversion expects {} ({})",
            input.display(),
            info.channels,
            matrix.inputs(),
            matrix.from.join(" ")
        )));
    }
    if info.frames == Some(0) {
        return Err(Error::Invalid(format!(
            "{}: the file holds no audio (0 frames)",
            input.display()
        )));
    }
    if same_file(input, output) {
        return Err(Error::Invalid(format!(
            "{}: the output would overwrite the input; choose another output file",
            output.display()
        )));
    }
    let mixer = matrix.mixer();
    let (ni, no) = (matrix.inputs(), matrix.outputs());
    let mut outbuf = vec![0f32; BLOCK_FRAMES * no];
    let mut writer = WavWriter::create(output, info.sample_rate, no, format, mask)?;
    // Reading (and decoding) runs on a second thread, one or two blocks ahead of mixing and
    // writing; the blocks are processed in order, so the output does not depend on it.
    // Buffers circulate between the two threads: memory stays constant.
    let done = std::thread::scope(|scope| -> Result<u64> {
        let (full_tx, full_rx) = mpsc::sync_channel::<Result<(Vec<f32>, usize)>>(PIPELINE_BLOCKS);
        let (empty_tx, empty_rx) = mpsc::channel::<Vec<f32>>();
        for _ in 0..=PIPELINE_BLOCKS {
            empty_tx
                .send(vec![0f32; BLOCK_FRAMES * ni])
                .expect("receiver alive");
        }
        let labels = &matrix.from;
        scope.spawn(move || {
            let mut start: u64 = 0;
            while let Ok(mut buf) = empty_rx.recv() {
                let msg = match source.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => match first_non_finite(&buf[..n * ni]) {
                        Some(k) => Err(non_finite_error(
                            input,
                            labels,
                            info.sample_rate,
                            start,
                            k,
                            buf[k],
                        )),
                        None => {
                            start += n as u64;
                            Ok((buf, n))
                        }
                    },
                    Err(e) => Err(e),
                };
                let stop = msg.is_err();
                // A send fails only when the consumer has stopped (on an error of its own).
                if full_tx.send(msg).is_err() || stop {
                    break;
                }
            }
        });
        let mut done: u64 = 0;
        // Ends when the reader is done and has dropped its sender. Returning early drops the
        // receivers, which stops the reader at its next send or receive.
        for msg in full_rx {
            let (buf, n) = msg?;
            let out = &mut outbuf[..n * no];
            mixer.apply(&buf[..n * ni], out);
            writer.write(out)?;
            done += n as u64;
            progress(done);
            let _ = empty_tx.send(buf);
        }
        Ok(done)
    })?;
    if done == 0 {
        return Err(Error::Invalid(format!(
            "{}: the file holds no audio (0 frames)",
            input.display()
        )));
    }
    writer.finalize(info.sample_rate, mask)
}

/// Blocks the reading thread may run ahead of mixing and writing.
const PIPELINE_BLOCKS: usize = 2;

/// The error for a non-finite sample at interleaved index `k` of a block starting at frame `start`.
fn non_finite_error(
    input: &Path,
    labels: &[String],
    rate: u32,
    start: u64,
    k: usize,
    value: f32,
) -> Error {
    let ni = labels.len();
    let frame = start + (k / ni) as u64;
    Error::malformed(
        input.display().to_string(),
        format!(
            "sample {frame} of channel {} ({}) is {value}, at {:.6} s; expected finite audio samples",
            k % ni + 1,
            labels[k % ni],
            frame as f64 / rate as f64
        ),
    )
}

/// Index of the first NaN or infinite sample, if any (a branch-free scan first: fast when
/// all samples are finite, as they almost always are).
fn first_non_finite(x: &[f32]) -> Option<usize> {
    const EXP: u32 = 0x7f80_0000;
    let any = x.iter().fold(false, |a, v| a | (v.to_bits() & EXP == EXP));
    if any {
        x.iter().position(|v| !v.is_finite())
    } else {
        None
    }
}

/// True if both paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(name: &str) -> Layout {
        Layout::resolve(name).unwrap()
    }

    #[test]
    fn lfe_mode_parses_and_rejects() {
        assert_eq!("keep".parse::<LfeMode>(), Ok(LfeMode::Keep));
        assert_eq!("DROP".parse::<LfeMode>(), Ok(LfeMode::Drop));
        assert_eq!("mix=-10".parse::<LfeMode>(), Ok(LfeMode::Mix(-10.0)));
        assert_eq!("mix=-4.5dB".parse::<LfeMode>(), Ok(LfeMode::Mix(-4.5)));
        assert_eq!("mix=0".parse::<LfeMode>(), Ok(LfeMode::Mix(0.0)));
        for bad in [
            "mix", "mix=", "mix=loud", "mix=NaN", "mix=inf", "mix=30", "boost",
        ] {
            let e = bad.parse::<LfeMode>().unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
        assert_eq!(
            LfeMode::Mix(-10.0).to_string().parse::<LfeMode>(),
            Ok(LfeMode::Mix(-10.0))
        );
    }

    #[test]
    fn mixer_copies_bit_exactly_and_sums() {
        let m = Matrix {
            from: vec!["a".into(), "b".into()],
            to: vec!["x".into(), "y".into(), "z".into()],
            gains: vec![vec![1.0, 0.0], vec![0.5, 0.25], vec![0.0, 0.0]],
        };
        let input = [-0.0f32, f32::NAN, 0.1, 0.2];
        let mut out = [9.0f32; 6];
        m.apply(&input, &mut out);
        assert_eq!(out[0].to_bits(), (-0.0f32).to_bits());
        assert!(out[1].is_nan());
        assert_eq!(out[2], 0.0);
        assert_eq!(out[3], 0.1);
        assert_eq!(out[4], (0.5 * 0.1f32 as f64 + 0.25 * 0.2f32 as f64) as f32);
        assert_eq!(out[5], 0.0);
        let mut acc = [1.0f32; 6];
        m.apply_add(&input[2..], &mut acc[3..]);
        assert_eq!(acc[3], 1.1);
        assert_eq!(acc[5], 1.0);
    }

    #[test]
    fn then_composes_and_checks_labels() {
        let a = step_matrix(&STEPS[5]); // 7.1 -> 5.1
        let b = step_matrix(&STEPS[6]); // 5.1 -> stereo
        let c = a.then(&b).unwrap();
        assert_eq!(c.gain("M+030", "M+135"), Some(H));
        assert_eq!(c.gain("M-030", "M+135"), Some(0.0));
        assert!(b.then(&a).is_err());
    }

    #[test]
    fn same_speaker_matching_prefers_labels_then_aliases() {
        let a = layout("5.1");
        let b = layout("7.1.4");
        let p = same_speakers(&a.speakers, &b.speakers);
        // L R C LFE by label; 5.1's M+110 has no partner in 7.1.4 (its sides are M+090).
        assert_eq!(p, vec![Some(0), Some(1), Some(2), Some(3), None, None]);
        // Film names as labels find the BS.2051 speakers through their aliases; a label
        // match wins over an alias match, and a speaker is taken once.
        let sp = |label: &str, aliases: &[&str], az: f64| Speaker {
            label: label.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            azimuth: az,
            elevation: 0.0,
            lfe: false,
            allocentric: None,
        };
        let film = [
            sp("L", &[], 30.0),
            sp("Front", &["L"], 25.0),
            sp("M-030", &[], -30.0),
            sp("ls", &[], 110.0),
        ];
        let p = same_speakers(&film, &a.speakers);
        assert_eq!(p, vec![Some(0), None, Some(1), Some(4)]);
        // An LFE pairs only with an LFE.
        let mut lfe = sp("C", &[], 0.0);
        lfe.lfe = true;
        assert_eq!(same_speakers(&[lfe], &a.speakers), vec![None]);
    }

    #[test]
    fn itu_pairs_list_exactly_the_reachable_pairs() {
        let mut names: Vec<&str> = STEPS.iter().flat_map(|s| [s.from, s.to]).collect();
        names.sort();
        names.dedup();
        let mut reachable = Vec::new();
        for a in &names {
            for b in &names {
                if a != b && itu_chain(a, b).is_some() {
                    reachable.push((*a, *b));
                }
            }
        }
        reachable.sort();
        let mut listed = ITU_PAIRS.to_vec();
        listed.sort();
        assert_eq!(reachable, listed);
    }

    #[test]
    fn front_pair_finds_left_and_right() {
        assert_eq!(front_pair(&layout("stereo").speakers), vec![0, 1]);
        assert_eq!(front_pair(&layout("7.1.4").speakers), vec![0, 1]);
        // 22.2: FLc/FRc at +-30 rather than FL/FR at +-60.
        assert_eq!(front_pair(&layout("22.2").speakers), vec![6, 7]);
        assert_eq!(front_pair(&[mono_speaker()]), vec![0]);
    }

    #[test]
    fn wave_order_masks_are_understood() {
        let l = layout_for_channel_mask(0x63F).unwrap();
        assert_eq!(
            l.labels(),
            ["M+030", "M-030", "M+000", "LFE1", "M+135", "M-135", "M+090", "M-090"]
        );
        assert!(l.name.contains("WAVE"));
        assert_eq!(layout_for_channel_mask(0x3F).unwrap().name, "5.1");
        assert_eq!(layout_for_channel_mask(0x60F).unwrap().name, "5.1");
        assert_eq!(layout_for_channel_mask(0x2D63F).unwrap().channels(), 12);
        assert!(layout_for_channel_mask(0xFF).is_none());
        assert!(layout_for_channel_mask(0).is_none());
        assert_eq!(describe_channel_mask(0x63F), "FL FR FC LFE BL BR SL SR");
        let w = channel_order_warning(Path::new("a.wav"), &layout("7.1"), Some(0x63F)).unwrap();
        assert!(w.contains("a.wav") && w.contains("--from"), "{w}");
        assert!(channel_order_warning(Path::new("a.wav"), &layout("5.1"), Some(0x3F)).is_none());
    }
}
