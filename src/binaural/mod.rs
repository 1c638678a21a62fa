//! Binaural rendering: speaker mixes and objects on headphones.
//!
//! Every speaker feed is convolved with the head-related impulse response pair (HRIR)
//! interpolated at that speaker's direction ([`interp`]), in the Mid and Far modes with the
//! reflections and reverberation of a room ([`room`]), and the results are summed at the two ears
//! ([`BinauralRenderer`]). Point objects of a scene are rendered from their own directions
//! ([`objects`]). HRIRs come from a SOFA file or the built-in MIT KEMAR set
//! ([`Hrtf`]). The convolution is a uniformly partitioned FFT convolution ([`Convolver`]),
//! streaming, in constant memory, parallel over channels and bit-identical for any number of
//! threads.
//!
//! # Level
//! * **Loudness normalisation.** One gain `g` for the whole renderer (it changes no spatial cue):
//!   `g^2 = sum_c w_c / sum_c (G_L,c + G_R,c)` over the full-range speakers `c`, where
//!   `G_L,c`, `G_R,c` are the power gains of the speaker's HRIRs for K-weighted pink noise
//!   ([`kweight::pink_k_gain`]: ITU-R BS.1770 K-weighting, equal power per octave from 20 Hz to
//!   20 kHz) and `w_c` its BS.1770 channel weight (1.41 for speakers below 30 degrees of
//!   elevation between 60 and 120 degrees of azimuth either side, else 1.0). With uncorrelated
//!   pink noise of equal level in every speaker, the binaural render then has the BS.1770
//!   loudness of the speaker mix (tested to 0.3 dB). HRIRs are diffuse-field equalised by
//!   default ([`dfe`]), so programme of another spectrum stays close (single channels of the
//!   demo scene: within 1 LU). Correlated feeds (phantom images, wide beds) add up in amplitude
//!   at the ears at low frequencies, where BS.1770 adds the feeds' powers: such a mix measures
//!   louder binaurally, by up to 3 dB per coherent pair (the demo scene: +4.4 LU on 7.1.4).
//! * **LFE.** Low-frequency effects channels are reproduced like a speaker straight ahead (the
//!   HRIR pair nearest azimuth 0, elevation 0; below 120 Hz both ears get practically the same
//!   signal) at [`LFE_GAIN_DB`] = +10 dB relative to a main channel: the in-band gain with
//!   which cinema and BS.775 playback calibrate the LFE channel. [`Lfe::Off`] drops them.
//!   BS.1770 leaves LFE channels out of a speaker mix's loudness, so a render with LFE content
//!   measures louder than the speaker mix by what the LFE adds; use [`Lfe::Off`] for a
//!   loudness comparison.
//!
//! # Using it from code
//! ```no_run
//! use mixstage::binaural::{BinauralRenderer, Hrtf};
//! use mixstage::Layout;
//! let layout = Layout::resolve("7.1.4")?;
//! let hrtf = Hrtf::builtin(48000)?; // or Hrtf::from_sofa(path, 48000)?
//! let mut r = BinauralRenderer::new(&layout, &hrtf, 48000, 1024)?;
//! let input = vec![0f32; 1024 * 12]; // interleaved, layout order
//! let mut phones = vec![0f32; 1024 * 2]; // interleaved left, right
//! let frames = r.process_interleaved(&input, &mut phones)?;
//! # let _ = frames;
//! # Ok::<(), mixstage::Error>(())
//! ```

pub mod convolver;
pub mod dfe;
pub mod hrtf;
pub mod interp;
pub mod kweight;
pub mod objects;
pub mod room;

pub use convolver::Convolver;
pub use hrtf::{HrirPair, Hrtf, Measurement, Selection};

use crate::error::{Error, Result};
use crate::layout::{Layout, Speaker};

/// Which room a source is heard in on headphones: its mode and, for Mid and Far, the DRR its
/// room is set to (None: the mode's own).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoomKey {
    /// The mode.
    pub mode: room::Mode,
    /// Mid and Far: the DRR in dB, if set.
    pub drr_db: Option<f64>,
    /// Head-locked: the head orientation does not turn it (off for Off, which has none).
    pub head_locked: bool,
}

impl RoomKey {
    /// The key of a source with its own mode `own` (None: `default`), DRR `drr_db` and
    /// `head_locked` flag.
    pub fn of(
        own: Option<room::Mode>,
        drr_db: Option<f64>,
        head_locked: bool,
        default: room::Mode,
    ) -> RoomKey {
        let mode = own.unwrap_or(default);
        RoomKey {
            mode,
            drr_db: drr_db.filter(|_| matches!(mode, room::Mode::Mid | room::Mode::Far)),
            head_locked: head_locked && mode != room::Mode::Off,
        }
    }
}

/// One part of a scene's headphone render: the sources heard in one room.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoomPart {
    /// The mode of sources that set none (`--mode`).
    pub default: room::Mode,
    /// The room rendered: only sources with this key.
    pub key: RoomKey,
    /// Only point objects (RON objects with a position and nothing more).
    pub only_points: bool,
}

/// Level of LFE channels relative to a main channel, in dB (the cinema in-band LFE gain).
pub const LFE_GAIN_DB: f64 = 10.0;

/// What happens to LFE channels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lfe {
    /// Dropped.
    Off,
    /// Sent to both ears through the frontal HRIR pair at this gain in dB relative to a main
    /// channel.
    GainDb(f64),
}

impl Default for Lfe {
    fn default() -> Self {
        Lfe::GainDb(LFE_GAIN_DB)
    }
}

/// Options of a [`BinauralRenderer`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BinauralOptions {
    /// LFE handling (default: +10 dB to both ears).
    pub lfe: Lfe,
    /// The listener's head orientation `[yaw, pitch, roll]` in degrees (ADM convention: yaw
    /// positive to the left, pitch up, roll towards the right shoulder; applied in that order).
    pub head: [f64; 3],
    /// The headphone mode: Off (stereo panning, no HRTF), Near (dry), Mid (default: a small
    /// room) or Far (more room); see [`room`].
    pub mode: room::Mode,
    /// Mid and Far: the room level as a direct-to-reverberant ratio in dB instead of the
    /// mode's own (ADM `headphoneVirtualise` DRR).
    pub drr_db: Option<f64>,
    /// Only the room (no direct sound): for the room of sources whose direct sound is
    /// rendered elsewhere ([`objects`]).
    pub room_only: bool,
    /// A fixed output gain instead of the loudness normalisation.
    pub gain: Option<f64>,
}

impl BinauralOptions {
    /// The room of the mode (None for Off and Near), at the DRR if one is set.
    pub fn room(&self) -> Result<Option<room::Room>> {
        let Some(r) = room::Room::for_mode(self.mode) else {
            return Ok(None);
        };
        Ok(Some(match self.drr_db {
            Some(db) if !db.is_finite() => {
                return Err(Error::Invalid(format!("DRR {db} dB is not a number")))
            }
            Some(db) => r.with_drr_db(db),
            None => r,
        }))
    }

    /// The head rotation (head to room coordinates), see [`objects::head_rotation`].
    pub fn head_rotation(&self) -> nalgebra::Rotation3<f64> {
        objects::head_rotation(self.head[0], self.head[1], self.head[2])
    }
}

/// How one input channel is rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelInfo {
    /// The speaker's label.
    pub label: String,
    /// The speaker's azimuth (degrees, positive left).
    pub azimuth: f64,
    /// The speaker's elevation (degrees, positive up).
    pub elevation: f64,
    /// True for an LFE channel.
    pub lfe: bool,
    /// Index of the HRIR measurement used (in [`Hrtf::measurements`]).
    pub measurement: usize,
    /// Azimuth of the HRIR measurement used.
    pub measured_azimuth: f64,
    /// Elevation of the HRIR measurement used.
    pub measured_elevation: f64,
    /// Great-circle distance between the speaker and the measurement, degrees.
    pub error_deg: f64,
    /// Linear gain applied to this channel (normalisation, and the LFE gain; 0 when dropped).
    pub gain: f64,
}

/// A streaming binaural renderer: N speaker feeds in, two ears out. See the module docs.
pub struct BinauralRenderer {
    convolver: Convolver,
    /// The room's late tail (Mid and Far).
    tail: Option<Tail>,
    channels: Vec<ChannelInfo>,
    gain: f64,
    hrir_len: usize,
    planar: Vec<Vec<f32>>,
    ears: [Vec<f32>; 2],
}

impl BinauralRenderer {
    /// A renderer for a speaker `layout` with the default options (LFE at +10 dB).
    /// `hrtf` must be at `sample_rate`; `block_len` is the frames per call of `process_*`.
    pub fn new(layout: &Layout, hrtf: &Hrtf, sample_rate: u32, block_len: usize) -> Result<Self> {
        Self::with_options(
            layout,
            hrtf,
            sample_rate,
            block_len,
            &BinauralOptions::default(),
        )
    }

    /// A renderer for a speaker `layout` with explicit options.
    pub fn with_options(
        layout: &Layout,
        hrtf: &Hrtf,
        sample_rate: u32,
        block_len: usize,
        options: &BinauralOptions,
    ) -> Result<Self> {
        Self::from_speakers(&layout.speakers, hrtf, sample_rate, block_len, options)
    }

    /// A renderer for virtual speakers at arbitrary directions `(azimuth, elevation)` in
    /// degrees (ADM convention), none of them LFE: e.g. a dense virtual layout for scenes.
    pub fn for_directions(
        directions: &[(f64, f64)],
        hrtf: &Hrtf,
        sample_rate: u32,
        block_len: usize,
    ) -> Result<Self> {
        let speakers: Vec<Speaker> = directions
            .iter()
            .enumerate()
            .map(|(i, &(azimuth, elevation))| Speaker {
                label: format!("dir{i}"),
                aliases: Vec::new(),
                azimuth,
                elevation,
                lfe: false,
                allocentric: None,
            })
            .collect();
        Self::from_speakers(
            &speakers,
            hrtf,
            sample_rate,
            block_len,
            &BinauralOptions::default(),
        )
    }

    /// A renderer for a list of speakers (LFE flags honoured).
    pub fn from_speakers(
        speakers: &[Speaker],
        hrtf: &Hrtf,
        sample_rate: u32,
        block_len: usize,
        options: &BinauralOptions,
    ) -> Result<Self> {
        Self::build(speakers, hrtf, None, sample_rate, block_len, options)
    }

    /// A renderer for a list of speakers through an already prepared interpolated set
    /// (`ip`, made from `hrtf`), as a scene render shares it with its objects.
    pub fn from_speakers_interpolated(
        speakers: &[Speaker],
        hrtf: &Hrtf,
        ip: &interp::Interpolated,
        block_len: usize,
        options: &BinauralOptions,
    ) -> Result<Self> {
        Self::build(
            speakers,
            hrtf,
            Some(ip),
            hrtf.sample_rate(),
            block_len,
            options,
        )
    }

    fn build(
        speakers: &[Speaker],
        hrtf: &Hrtf,
        shared: Option<&interp::Interpolated>,
        sample_rate: u32,
        block_len: usize,
        options: &BinauralOptions,
    ) -> Result<Self> {
        if hrtf.sample_rate() != sample_rate {
            return Err(Error::Invalid(format!(
                "the HRIRs ({}) are at {} Hz but the mix is at {sample_rate} Hz",
                hrtf.origin(),
                hrtf.sample_rate()
            )));
        }
        if speakers.is_empty() {
            return Err(Error::Invalid("no speakers to render binaurally".into()));
        }
        if let Some(s) = speakers
            .iter()
            .find(|s| !(s.azimuth.is_finite() && s.elevation.is_finite()))
        {
            return Err(Error::Invalid(format!(
                "speaker '{}' has a non-finite direction ({}, {})",
                s.label, s.azimuth, s.elevation
            )));
        }
        let to_head = options.head_rotation().inverse();
        // The direction each speaker is heard from: the LFE from the front, the others from
        // their own directions turned with the head.
        let heard: Vec<crate::geometry::Vec3> = speakers
            .iter()
            .map(|s| {
                if s.lfe {
                    crate::geometry::direction(0.0, 0.0)
                } else {
                    to_head * crate::geometry::direction(s.azimuth, s.elevation)
                }
            })
            .collect();
        let room = options.room()?;
        // The reflections of each speaker (in the room, then turned with the head).
        let reflections: Vec<Vec<(crate::geometry::Vec3, f64, f64)>> = speakers
            .iter()
            .map(|s| match (&room, s.lfe) {
                (Some(r), false) => r
                    .early_reflections(s.azimuth, s.elevation)
                    .into_iter()
                    .map(|f| {
                        let d = to_head * crate::geometry::direction(f.azimuth, f.elevation);
                        (d, f.delay, f.gain)
                    })
                    .collect(),
                _ => Vec::new(),
            })
            .collect();
        // Off pans onto stereo and needs no HRTF; the other modes prepare the interpolated
        // responses around the speakers and their reflections (unless shared).
        let own;
        let voicing = if options.mode == room::Mode::Off {
            Voicing::Stereo(Box::new(crate::panner::gain_calc::PointGains::new(
                &Layout::resolve("stereo")?,
            )?))
        } else {
            Voicing::Hrtf(match shared {
                Some(ip) => ip,
                None => {
                    let mut wanted = heard.clone();
                    wanted.extend(reflections.iter().flatten().map(|r| r.0));
                    own = interp::Interpolated::for_directions(hrtf, &wanted)?;
                    &own
                }
            })
        };
        let rate = sample_rate as f64;
        let selections: Vec<Selection> = heard
            .iter()
            .map(|d| {
                let (az, el, _) = crate::geometry::cartesian_to_polar(*d);
                hrtf.nearest(az, el)
            })
            .collect();
        use rayon::prelude::*;
        let filters: Vec<HrirPair> = speakers
            .par_iter()
            .zip(&heard)
            .zip(&reflections)
            .map(|((s, d), refl)| match &voicing {
                // Off: no HRTF, the speaker's direction panned onto stereo (LFE to both).
                Voicing::Stereo(p) => {
                    let g = if s.lfe {
                        [std::f64::consts::FRAC_1_SQRT_2; 2]
                    } else {
                        let mut g = vec![0.0; 2];
                        p.direction_into(
                            crate::geometry::direction(s.azimuth, s.elevation),
                            &mut g,
                        );
                        [g[0], g[1]]
                    };
                    (vec![g[0] as f32], vec![g[1] as f32])
                }
                Voicing::Hrtf(ip) => speaker_filter(ip, *d, refl, !options.room_only, sample_rate),
            })
            .collect();
        let tail = room.as_ref().map(|r| r.late_tail(sample_rate));
        let tail_len = filters
            .iter()
            .map(|(l, r)| l.len().max(r.len()))
            .chain(tail.iter().map(|t| t[0].len().max(t[1].len())))
            .max()
            .unwrap_or(1)
            .max(hrtf.len());
        let mut weight_sum = 0.0;
        let tail_energy = match &tail {
            Some([tl, tr]) => kweight::pink_k_gains(&[tl, tr], rate).iter().sum(),
            None => 0.0,
        };
        let irs: Vec<&[f32]> = filters
            .iter()
            .flat_map(|(l, r)| [l.as_slice(), r.as_slice()])
            .collect();
        let gains = kweight::pink_k_gains(&irs, rate);
        let energies: Vec<f64> = speakers
            .iter()
            .zip(gains.chunks_exact(2))
            .map(|(s, g)| {
                if s.lfe {
                    0.0
                } else {
                    g[0] + g[1] + tail_energy
                }
            })
            .collect();
        let energy_sum: f64 = energies.iter().sum();
        for s in speakers.iter().filter(|s| !s.lfe) {
            weight_sum += crate::qc::system::bs1770_weight(s);
        }
        if weight_sum == 0.0 {
            return Err(Error::Invalid(
                "the layout has only LFE channels: nothing to render binaurally".into(),
            ));
        }
        if energy_sum.is_nan() || energy_sum <= 0.0 {
            return Err(Error::Invalid(format!(
                "the HRIRs chosen from {} are silent for this layout",
                hrtf.origin()
            )));
        }
        let gain = match (options.gain, options.mode) {
            (Some(g), _) => g,
            // Off is the stereo render itself, at its own level.
            (None, room::Mode::Off) => 1.0,
            (None, _) => (weight_sum / energy_sum).sqrt(),
        };
        let mut gains = Vec::with_capacity(speakers.len());
        let mut channels = Vec::with_capacity(speakers.len());
        for (s, sel) in speakers.iter().zip(&selections) {
            let g = match (s.lfe, options.lfe) {
                (false, _) => gain,
                (true, Lfe::Off) => 0.0,
                (true, Lfe::GainDb(db)) => gain * 10f64.powf(db / 20.0),
            };
            if !g.is_finite() {
                let db = match options.lfe {
                    Lfe::GainDb(db) => db,
                    Lfe::Off => 0.0,
                };
                return Err(Error::Invalid(format!(
                    "the LFE level {db} dB gives a gain that is not a finite number"
                )));
            }
            let m = &hrtf.measurements()[sel.index];
            gains.push(g as f32);
            channels.push(ChannelInfo {
                label: s.label.clone(),
                azimuth: s.azimuth,
                elevation: s.elevation,
                lfe: s.lfe,
                measurement: sel.index,
                measured_azimuth: m.azimuth,
                measured_elevation: m.elevation,
                error_deg: sel.error_deg,
                gain: g,
            });
        }
        let convolver = Convolver::new(&filters, &gains, block_len)?;
        // The late tail: one convolution of the sum of the full-range feeds.
        let tail = match tail {
            Some([l, r]) => Some(Tail {
                conv: Convolver::new(&[(l, r)], &[gain as f32], block_len)?,
                sum: vec![0.0; block_len],
                out: [vec![0.0; block_len], vec![0.0; block_len]],
                full_range: speakers.iter().map(|s| !s.lfe).collect(),
            }),
            None => None,
        };
        Ok(BinauralRenderer {
            convolver,
            tail,
            planar: vec![vec![0.0; block_len]; speakers.len()],
            ears: [vec![0.0; block_len], vec![0.0; block_len]],
            channels,
            gain,
            hrir_len: tail_len,
        })
    }

    /// Number of input channels (speaker feeds).
    pub fn channels(&self) -> usize {
        self.channels.len()
    }

    /// Frames per block.
    pub fn block_len(&self) -> usize {
        self.convolver.block_len()
    }

    /// How each input channel is rendered (measurement used, angular error, gain).
    pub fn channel_info(&self) -> &[ChannelInfo] {
        &self.channels
    }

    /// The loudness-normalisation gain applied to every full-range channel (linear).
    pub fn gain(&self) -> f64 {
        self.gain
    }

    /// Samples of response after the last input sample (the HRIR length minus one). The renderer
    /// adds no latency: output frame `n` belongs to input frame `n`.
    pub fn tail_len(&self) -> usize {
        self.hrir_len.saturating_sub(1)
    }

    /// Clears the history (as if the stream restarted after silence).
    pub fn reset(&mut self) {
        self.convolver.reset();
        if let Some(t) = self.tail.as_mut() {
            t.conv.reset();
        }
    }

    /// Renders planar input: `input[c]` holds the frames of channel `c` (layout order), all of
    /// the same length `n` = the block length, or shorter in the stream's final call. The ears
    /// are written to `left[..n]` and `right[..n]`. Non-finite samples are an error.
    pub fn process_planar(
        &mut self,
        input: &[&[f32]],
        left: &mut [f32],
        right: &mut [f32],
    ) -> Result<()> {
        check_finite_planar(input)?;
        self.convolver.process(input, left, right)?;
        match self.tail.as_mut() {
            Some(t) => t.add(input, left, right),
            None => Ok(()),
        }
    }

    /// Renders interleaved input (`frames * channels` samples, frames = the block length or
    /// fewer in the final call) into interleaved stereo `output` (at least `2 * frames`
    /// samples: left, right). Returns the number of frames.
    pub fn process_interleaved(&mut self, input: &[f32], output: &mut [f32]) -> Result<usize> {
        let ch = self.channels.len();
        if !input.len().is_multiple_of(ch) {
            return Err(Error::Invalid(format!(
                "{} interleaved samples are not a whole number of {ch}-channel frames",
                input.len()
            )));
        }
        let frames = input.len() / ch;
        if frames > self.block_len() || output.len() < 2 * frames {
            return Err(Error::Invalid(format!(
                "{frames} frames in a block of {} (output room for {} frames)",
                self.block_len(),
                output.len() / 2
            )));
        }
        if let Some(i) = input.iter().position(|v| !v.is_finite()) {
            return Err(non_finite(i % ch, i / ch));
        }
        for (f, frame) in input.chunks_exact(ch).enumerate() {
            for (p, v) in self.planar.iter_mut().zip(frame) {
                p[f] = *v;
            }
        }
        let planar: Vec<&[f32]> = self.planar.iter().map(|p| &p[..frames]).collect();
        let [l, r] = &mut self.ears;
        self.convolver.process(&planar, l, r)?;
        if let Some(t) = self.tail.as_mut() {
            let planar: Vec<&[f32]> = self.planar.iter().map(|p| &p[..frames]).collect();
            t.add(&planar, &mut l[..frames], &mut r[..frames])?;
        }
        for f in 0..frames {
            output[2 * f] = l[f];
            output[2 * f + 1] = r[f];
        }
        Ok(frames)
    }
}

fn check_finite_planar(input: &[&[f32]]) -> Result<()> {
    for (c, ch) in input.iter().enumerate() {
        if let Some(f) = ch.iter().position(|v| !v.is_finite()) {
            return Err(non_finite(c, f));
        }
    }
    Ok(())
}

fn non_finite(channel: usize, frame: usize) -> Error {
    Error::Invalid(format!(
        "non-finite sample (NaN or infinity) in channel {} at frame {frame} of the block",
        channel + 1
    ))
}

/// The gain in dB that makes a binaural render of `src` exactly as loud as the speaker mix
/// (BS.1770 integrated loudness, speaker weights by position, LFE excluded; the two ears
/// weighted 1 and 1), found by a first pass over the whole mix with `renderer`. `None` when
/// either side is silent (below the -70 LUFS gate). The renderer is reset afterwards.
pub fn loudness_match_gain_db(
    src: &mut dyn crate::io::AudioSource,
    layout: &Layout,
    renderer: &mut BinauralRenderer,
) -> Result<Option<f64>> {
    use crate::qc::loudness::LoudnessMeter;
    let info = src.info().clone();
    let ch = info.channels;
    let block = renderer.block_len();
    let weights = layout
        .speakers
        .iter()
        .map(crate::qc::system::bs1770_weight)
        .collect();
    let mut speakers = LoudnessMeter::new(info.sample_rate, weights, None);
    let mut ears = LoudnessMeter::new(info.sample_rate, vec![1.0, 1.0], None);
    let mut input = vec![0f32; block * ch];
    let mut output = vec![0f32; block * 2];
    loop {
        let filled = crate::io::read_frames(src, &mut input)? * ch;
        if filled == 0 {
            break;
        }
        let frames = renderer.process_interleaved(&input[..filled], &mut output)?;
        speakers.push(&input[..filled]);
        ears.push(&output[..2 * frames]);
        if filled < input.len() {
            break;
        }
    }
    renderer.reset();
    Ok(
        match (speakers.finish().integrated, ears.finish().integrated) {
            (Some(s), Some(e)) => Some(s - e),
            _ => None,
        },
    )
}

/// How a renderer voices its speakers: panned onto stereo (Off) or through HRTFs.
enum Voicing<'a> {
    Stereo(Box<crate::panner::gain_calc::PointGains>),
    Hrtf(&'a interp::Interpolated),
}

/// A room's late tail: one convolution of the sum of the full-range feeds.
struct Tail {
    conv: Convolver,
    sum: Vec<f32>,
    out: [Vec<f32>; 2],
    full_range: Vec<bool>,
}

impl Tail {
    /// Adds the tail of the sum of the full-range channels of `input` to the ears.
    fn add(&mut self, input: &[&[f32]], left: &mut [f32], right: &mut [f32]) -> Result<()> {
        let n = input.first().map(|c| c.len()).unwrap_or(0);
        let sum = &mut self.sum[..n];
        sum.fill(0.0);
        for (ch, full) in input.iter().zip(&self.full_range) {
            if *full {
                for (s, x) in sum.iter_mut().zip(ch.iter()) {
                    *s += x;
                }
            }
        }
        let [tl, tr] = &mut self.out;
        self.conv
            .process(&[&self.sum[..n]], &mut tl[..n], &mut tr[..n])?;
        for (o, t) in left[..n].iter_mut().zip(tl.iter()) {
            *o += t;
        }
        for (o, t) in right[..n].iter_mut().zip(tr.iter()) {
            *o += t;
        }
        Ok(())
    }
}

/// One virtual speaker's filters: the interpolated response from direction `d` (head
/// coordinates; unless `direct` is false) plus its reflections `(direction, delay s, gain)`,
/// each through the response interpolated at its own direction.
fn speaker_filter(
    ip: &interp::Interpolated,
    d: crate::geometry::Vec3,
    reflections: &[(crate::geometry::Vec3, f64, f64)],
    direct: bool,
    rate: u32,
) -> HrirPair {
    let polar = |v: &crate::geometry::Vec3| {
        let (az, el, _) = crate::geometry::cartesian_to_polar(*v);
        ip.hrir(az, el)
    };
    let (mut l, mut r) = if direct {
        polar(&d)
    } else {
        (vec![0.0], vec![0.0])
    };
    for (dir, delay, gain) in reflections {
        let (rl, rr) = polar(dir);
        let at = (delay * rate as f64).round().max(0.0) as usize;
        for (out, add) in [(&mut l, &rl), (&mut r, &rr)] {
            if out.len() < at + add.len() {
                out.resize(at + add.len(), 0.0);
            }
            for (o, a) in out[at..].iter_mut().zip(add) {
                *o += *gain as f32 * a;
            }
        }
    }
    (l, r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lfe_goes_through_the_frontal_hrir_at_plus_10_db_or_is_dropped() {
        let h = Hrtf::builtin(44100).unwrap();
        let layout = Layout::resolve("5.1").unwrap();
        let r = BinauralRenderer::new(&layout, &h, 44100, 256).unwrap();
        let lfe = r.channel_info().iter().find(|c| c.lfe).unwrap();
        assert_eq!((lfe.measured_azimuth, lfe.measured_elevation), (0.0, 0.0));
        assert!((20.0 * (lfe.gain / r.gain()).log10() - 10.0).abs() < 1e-9);
        let off = BinauralOptions {
            lfe: Lfe::Off,
            ..Default::default()
        };
        let r = BinauralRenderer::with_options(&layout, &h, 44100, 256, &off).unwrap();
        assert_eq!(r.channel_info().iter().find(|c| c.lfe).unwrap().gain, 0.0);
    }

    #[test]
    fn rate_mismatch_is_an_error() {
        let h = Hrtf::builtin(44100).unwrap();
        let e = BinauralRenderer::new(&Layout::resolve("stereo").unwrap(), &h, 48000, 256)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("44100") && e.contains("48000"), "{e}");
    }
}
