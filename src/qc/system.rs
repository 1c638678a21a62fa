//! Playback systems a mix is checked on: the mix's own layout, fold-downs to other layouts
//! (5.1, stereo Lo/Ro) and mono. Each system turns the mix into its own channels through a
//! [`Feed`]; the meters then measure those channels with the system's BS.1770 weights.
//!
//! The list is open: a headphone (binaural) system is one more [`Feed`] (stateful, e.g. an
//! FFT convolver, with a tail returned by [`Feed::flush`]) plus one arm in the caller that
//! turns a name into a [`System`] (see `System::new`).

use std::path::Path;

use crate::binaural::{BinauralRenderer, Hrtf};
use crate::error::{Error, Result};
use crate::layout::{Layout, Speaker};

/// Turns blocks of the mix (interleaved) into blocks of a system's channels (interleaved).
pub trait Feed: Send {
    /// Channels this feed produces.
    fn channels(&self) -> usize;
    /// Maps `input` (interleaved, `input.len() / in_channels` frames) to `out` (resized).
    fn process(&mut self, input: &[f32], out: &mut Vec<f32>);
    /// Output still pending after the input ended (a convolution tail); empty by default.
    fn flush(&mut self, out: &mut Vec<f32>) {
        out.clear();
    }
}

/// The mix itself, unchanged.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Channel count.
    pub channels: usize,
}

impl Feed for Identity {
    fn channels(&self) -> usize {
        self.channels
    }
    fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(input);
    }
}

/// A static mixing matrix: `gains[out][in]`.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixFeed {
    /// Gains, one row per output channel, one column per input channel.
    pub gains: Vec<Vec<f32>>,
    inputs: usize,
}

impl MatrixFeed {
    /// A feed from `gains[out][in]`; every row must have the same length.
    pub fn new(gains: Vec<Vec<f64>>) -> Result<MatrixFeed> {
        let inputs = gains.first().map(|r| r.len()).unwrap_or(0);
        if gains.is_empty() || inputs == 0 || gains.iter().any(|r| r.len() != inputs) {
            return Err(Error::Invalid(
                "a fold-down matrix needs at least one row and equal row lengths".into(),
            ));
        }
        if gains.iter().flatten().any(|g| !g.is_finite()) {
            return Err(Error::Invalid(
                "a fold-down matrix has a non-finite gain".into(),
            ));
        }
        Ok(MatrixFeed {
            gains: gains
                .into_iter()
                .map(|r| r.into_iter().map(|g| g as f32).collect())
                .collect(),
            inputs,
        })
    }
}

impl Feed for MatrixFeed {
    fn channels(&self) -> usize {
        self.gains.len()
    }
    fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let frames = input.len() / self.inputs;
        let n = self.gains.len();
        out.clear();
        out.resize(frames * n, 0.0);
        for (frame, o) in input.chunks_exact(self.inputs).zip(out.chunks_exact_mut(n)) {
            for (row, y) in self.gains.iter().zip(o.iter_mut()) {
                let mut s = 0f32;
                for (g, x) in row.iter().zip(frame) {
                    s += g * x;
                }
                *y = s;
            }
        }
    }
}

/// Frames per call of the binaural renderer inside the headphone feed.
const BINAURAL_BLOCK: usize = 4096;

/// Headphones: the mix rendered binaurally (virtual loudspeakers, see [`crate::binaural`]).
/// Input of any block size is gathered into the renderer's fixed blocks; the output lags by
/// at most one block and [`Feed::flush`] returns the rest, so the headphone signal has
/// exactly the mix's length (as `mixstage binaural` writes it).
pub struct BinauralFeed {
    renderer: BinauralRenderer,
    inputs: usize,
    pending: Vec<f32>,
    ears: Vec<f32>,
}

impl BinauralFeed {
    /// A headphone feed for a mix in `layout` at `sample_rate`, with `hrtf` at that rate.
    pub fn new(layout: &Layout, hrtf: &Hrtf, sample_rate: u32) -> Result<BinauralFeed> {
        Self::in_mode(layout, hrtf, sample_rate, Default::default())
    }

    /// [`BinauralFeed::new`] in binaural `mode`.
    pub fn in_mode(
        layout: &Layout,
        hrtf: &Hrtf,
        sample_rate: u32,
        mode: crate::binaural::room::Mode,
    ) -> Result<BinauralFeed> {
        let options = crate::binaural::BinauralOptions {
            mode,
            ..Default::default()
        };
        Ok(BinauralFeed {
            renderer: BinauralRenderer::with_options(
                layout,
                hrtf,
                sample_rate,
                BINAURAL_BLOCK,
                &options,
            )?,
            inputs: layout.channels(),
            pending: Vec::new(),
            ears: vec![0.0; 2 * BINAURAL_BLOCK],
        })
    }

    /// Renders `frames` frames from the front of `pending` and appends the ears to `out`.
    fn render(&mut self, frames: usize, out: &mut Vec<f32>) {
        let take = frames * self.inputs;
        // Non-finite input never reaches here: the analyzer rejects it before any feed.
        let n = self
            .renderer
            .process_interleaved(&self.pending[..take], &mut self.ears)
            .expect("finite input in whole frames of at most one block");
        out.extend_from_slice(&self.ears[..2 * n]);
        self.pending.drain(..take);
    }
}

impl Feed for BinauralFeed {
    fn channels(&self) -> usize {
        2
    }
    fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        out.clear();
        self.pending.extend_from_slice(input);
        while self.pending.len() >= BINAURAL_BLOCK * self.inputs {
            self.render(BINAURAL_BLOCK, out);
        }
    }
    fn flush(&mut self, out: &mut Vec<f32>) {
        out.clear();
        let frames = self.pending.len() / self.inputs;
        if frames > 0 {
            self.render(frames, out);
        }
    }
}

/// What kind of playback a system stands for (decides which extra measures apply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemKind {
    /// The mix's own layout.
    Own,
    /// A fold-down to another loudspeaker layout.
    FoldDown,
    /// Mono: (Lo + Ro) / 2, reproduced as dual mono on a stereo pair.
    Mono,
    /// Headphones (binaural).
    Headphones,
}

/// One playback system: its channels, their BS.1770 weights and how the mix feeds them.
pub struct System {
    /// The name shown in reports (`7.1.4`, `5.1`, `stereo`, `mono`, `binaural`, ...).
    pub name: String,
    /// What kind of system this is.
    pub kind: SystemKind,
    /// The label of each output channel.
    pub labels: Vec<String>,
    /// BS.1770 channel weights (0 for LFE).
    pub weights: Vec<f64>,
    /// Weights of the channels that carry dialogue (the centre), if the system has one.
    pub dialogue: Option<Vec<f64>>,
    /// How the mix becomes this system's channels.
    pub feed: Box<dyn Feed>,
    /// For [`SystemKind::Mono`]: the gain of each channel of the mix in the mono signal.
    pub mono_gains: Option<Vec<f64>>,
}

impl std::fmt::Debug for System {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("System")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("labels", &self.labels)
            .finish()
    }
}

/// BS.1770-4 channel weight of a loudspeaker (Annex 3, Table 4): 1.41 for |elevation| < 30 and
/// 60 <= |azimuth| <= 120 degrees, 1.0 elsewhere, 0 for LFE (excluded from the measurement).
pub fn bs1770_weight(s: &Speaker) -> f64 {
    if s.lfe {
        0.0
    } else if s.elevation.abs() < 30.0
        && (60.0..=120.0).contains(&crate::geometry::wrap_azimuth(s.azimuth).abs())
    {
        1.41
    } else {
        1.0
    }
}

/// True for a speaker at the front centre at ear level (where film mixes put dialogue).
fn is_centre(s: &Speaker) -> bool {
    !s.lfe && s.azimuth.abs() < 1.0 && s.elevation.abs() < 10.0
}

/// The centre channel's weight vector, if the layout has a front centre.
fn dialogue_weights(layout: &Layout) -> Option<Vec<f64>> {
    let w: Vec<f64> = layout
        .speakers
        .iter()
        .map(|s| if is_centre(s) { bs1770_weight(s) } else { 0.0 })
        .collect();
    w.iter().any(|&x| x > 0.0).then_some(w)
}

impl System {
    /// The mix's own layout.
    pub fn own(layout: &Layout) -> System {
        System {
            name: layout.name.clone(),
            kind: SystemKind::Own,
            labels: layout.labels(),
            weights: layout.speakers.iter().map(bs1770_weight).collect(),
            dialogue: dialogue_weights(layout),
            feed: Box::new(Identity {
                channels: layout.channels(),
            }),
            mono_gains: None,
        }
    }

    /// A fold-down of the mix onto `target` through `gains[target channel][mix channel]`.
    pub fn fold_down(target: &Layout, gains: Vec<Vec<f64>>) -> Result<System> {
        if gains.len() != target.channels() {
            return Err(Error::Invalid(format!(
                "fold-down to {}: the matrix has {} rows for {} channels",
                target.name,
                gains.len(),
                target.channels()
            )));
        }
        Ok(System {
            name: target.name.clone(),
            kind: SystemKind::FoldDown,
            labels: target.labels(),
            weights: target.speakers.iter().map(bs1770_weight).collect(),
            dialogue: dialogue_weights(target),
            feed: Box::new(MatrixFeed::new(gains)?),
            mono_gains: None,
        })
    }

    /// Mono from a stereo fold-down `stereo[2][mix channel]`: M = (Lo + Ro) / 2, measured as
    /// dual mono (the same signal on both speakers of a stereo pair: BS.1770 weight 2). A
    /// centre-panned stereo signal thus measures the same in stereo and in mono, and the
    /// difference is what phase cancellation costs.
    pub fn mono(stereo: &[Vec<f64>]) -> Result<System> {
        if stereo.len() != 2 || stereo[0].len() != stereo[1].len() {
            return Err(Error::Invalid(
                "mono needs a two-row stereo fold-down matrix".into(),
            ));
        }
        let row: Vec<f64> = stereo[0]
            .iter()
            .zip(&stereo[1])
            .map(|(l, r)| 0.5 * (l + r))
            .collect();
        Ok(System {
            name: "mono".into(),
            kind: SystemKind::Mono,
            labels: vec!["M".into()],
            weights: vec![2.0],
            dialogue: None,
            feed: Box::new(MatrixFeed::new(vec![row.clone()])?),
            mono_gains: Some(row),
        })
    }

    /// A one-channel mix (a mono file or stem) as its own system: BS.1770 weight 1, the
    /// channel treated as a centre speaker for the dialogue gate.
    pub fn own_mono() -> System {
        System {
            name: "mono".into(),
            kind: SystemKind::Own,
            labels: vec!["M".into()],
            weights: vec![1.0],
            dialogue: Some(vec![1.0]),
            feed: Box::new(Identity { channels: 1 }),
            mono_gains: None,
        }
    }

    /// Output channels.
    pub fn channels(&self) -> usize {
        self.labels.len()
    }

    /// Headphones: the mix in `own` rendered binaurally with `hrtf` (the built-in KEMAR set
    /// when `None`), measured as a two-channel signal with BS.1770 weights 1 and 1.
    pub fn headphones(own: &Layout, sample_rate: u32, hrtf: Option<&Path>) -> Result<System> {
        Self::headphones_in_mode(own, sample_rate, hrtf, Default::default())
    }

    /// [`System::headphones`] in binaural `mode`.
    pub fn headphones_in_mode(
        own: &Layout,
        sample_rate: u32,
        hrtf: Option<&Path>,
        mode: crate::binaural::room::Mode,
    ) -> Result<System> {
        let hrtf = Hrtf::load(hrtf, sample_rate)?;
        Ok(System {
            name: "binaural".into(),
            kind: SystemKind::Headphones,
            labels: vec!["left".into(), "right".into()],
            weights: vec![1.0, 1.0],
            dialogue: None,
            feed: Box::new(BinauralFeed::in_mode(own, &hrtf, sample_rate, mode)?),
            mono_gains: None,
        })
    }
}

/// The systems measured when none are named: the mix's own layout, 5.1 when the mix has
/// more than five main channels, stereo (Lo/Ro) unless the mix is stereo, mono and
/// binaural (headphones).
pub fn default_system_names(own: &Layout) -> Vec<String> {
    let main = own.speakers.iter().filter(|s| !s.lfe).count();
    let mut names = vec![own.name.clone()];
    if main > 5 {
        names.push("5.1".into());
    }
    if main > 2 {
        names.push("stereo".into());
    }
    names.push("mono".into());
    names.push("binaural".into());
    names
}

/// The fold-down matrix `gains[target][own]` from `own` to `target`: the ITU fold-down
/// coefficients where the convert module has them (BS.775 Lo/Ro and its extensions), else
/// VBAP of each speaker at its own direction. The LFE goes to the target's LFE, or is dropped
/// when the target has none (as BS.775 does).
pub fn fold_matrix(own: &Layout, target: &Layout) -> Result<Vec<Vec<f64>>> {
    use crate::convert::{conversion_matrix, LfeMode, Method};
    let m = conversion_matrix(own, target, Method::Itu, LfeMode::Keep)
        .or_else(|_| conversion_matrix(own, target, Method::Vbap, LfeMode::Keep))?;
    Ok(m.gains)
}

/// Builds the named systems for a mix in layout `own`. A name is `own` (or the mix's layout
/// name), `mono`, or any layout name, alias or RON file. Unknown names are errors; duplicates
/// are measured once. `binaural` (or `headphones`) renders the mix at `sample_rate` with the
/// SOFA file `hrtf`, or the built-in KEMAR set.
pub fn systems_by_name(
    own: &Layout,
    names: &[String],
    sample_rate: u32,
    hrtf: Option<&Path>,
) -> Result<Vec<System>> {
    systems_by_name_in_mode(own, names, sample_rate, hrtf, Default::default())
}

/// [`systems_by_name`] with the headphone system in binaural `mode` (default Mid, as
/// `mixstage binaural`).
pub fn systems_by_name_in_mode(
    own: &Layout,
    names: &[String],
    sample_rate: u32,
    hrtf: Option<&Path>,
    mode: crate::binaural::room::Mode,
) -> Result<Vec<System>> {
    let mut out: Vec<System> = Vec::new();
    for name in names {
        let name = name.trim();
        let sys = if name.eq_ignore_ascii_case("own")
            || own.name.eq_ignore_ascii_case(name)
            || own.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
        {
            System::own(own)
        } else if name.eq_ignore_ascii_case("mono") {
            System::mono(&fold_matrix(own, &stereo_layout())?)?
        } else if name.eq_ignore_ascii_case("binaural") || name.eq_ignore_ascii_case("headphones") {
            System::headphones_in_mode(own, sample_rate, hrtf, mode)?
        } else {
            let target = Layout::resolve(name).map_err(|e| match e {
                Error::UnknownLayout { name, valid } => Error::Invalid(format!(
                    "unknown system '{name}': expected own, mono, binaural (or headphones), or a layout name, alias or RON layout file; built-in layouts are: {valid}"
                )),
                e => e,
            })?;
            if target.name == own.name {
                System::own(own)
            } else {
                System::fold_down(&target, fold_matrix(own, &target)?)?
            }
        };
        if !out.iter().any(|s| s.name == sys.name) {
            out.push(sys);
        }
    }
    if out.is_empty() {
        return Err(Error::Invalid(
            "no system to measure: the system list is empty".into(),
        ));
    }
    Ok(out)
}

fn stereo_layout() -> Layout {
    Layout::find_builtin("stereo").expect("stereo is a built-in layout")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_bs1770_table_5() {
        let w = |name: &str| {
            Layout::resolve(name)
                .unwrap()
                .speakers
                .iter()
                .map(bs1770_weight)
                .collect::<Vec<_>>()
        };
        assert_eq!(w("5.1"), vec![1.0, 1.0, 1.0, 0.0, 1.41, 1.41]);
        // 7.1.4: side surrounds at +-90 weigh 1.41, rears at +-135 and the heights weigh 1.
        assert_eq!(
            w("7.1.4"),
            vec![1.0, 1.0, 1.0, 0.0, 1.41, 1.41, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
        );
    }

    #[test]
    fn default_systems_and_fold_downs() {
        let l714 = Layout::resolve("7.1.4").unwrap();
        assert_eq!(
            default_system_names(&l714),
            vec!["7.1.4", "5.1", "stereo", "mono", "binaural"]
        );
        assert_eq!(
            default_system_names(&Layout::resolve("5.1").unwrap()),
            vec!["5.1", "stereo", "mono", "binaural"]
        );
        assert_eq!(
            default_system_names(&Layout::resolve("stereo").unwrap()),
            vec!["stereo", "mono", "binaural"]
        );
        let systems = systems_by_name(&l714, &default_system_names(&l714), 48000, None).unwrap();
        let names: Vec<&str> = systems.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, vec!["7.1.4", "5.1", "stereo", "mono", "binaural"]);
        assert_eq!(systems[4].kind, SystemKind::Headphones);
        assert_eq!(systems[0].kind, SystemKind::Own);
        assert_eq!(systems[3].channels(), 1);
        // 5.1 -> stereo is BS.775 Lo/Ro: the mono row is (Lo + Ro) / 2.
        let l51 = Layout::resolve("5.1").unwrap();
        let mono = systems_by_name(&l51, &["mono".into()], 48000, None)
            .unwrap()
            .remove(0);
        let g = mono.mono_gains.unwrap();
        let h = std::f64::consts::FRAC_1_SQRT_2;
        let want = [0.5, 0.5, h, 0.0, 0.5 * h, 0.5 * h];
        for (a, b) in g.iter().zip(want) {
            assert!((a - b).abs() < 1e-4, "{g:?}");
        }
        let e = systems_by_name(&l51, &["7.1.5".into()], 48000, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("7.1.5"), "{e}");
        assert!(systems_by_name(
            &l51,
            &["binaural".into()],
            48000,
            Some(Path::new("/nonexistent.sofa"))
        )
        .is_err());
    }

    #[test]
    fn matrix_feed_mixes() {
        let mut f = MatrixFeed::new(vec![vec![1.0, 0.5], vec![0.0, -1.0]]).unwrap();
        let mut out = Vec::new();
        f.process(&[1.0, 2.0, 3.0, 4.0], &mut out);
        assert_eq!(out, vec![2.0, -2.0, 5.0, -4.0]);
        assert!(MatrixFeed::new(vec![vec![1.0], vec![1.0, 2.0]]).is_err());
    }
}
