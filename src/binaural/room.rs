//! The room around a binaural listener: what the distance modes Off, Near, Mid and Far add.
//!
//! Dry HRTFs put a sound at the listener's ears, close and a little unreal; some room pushes it
//! out to a loudspeaker's distance, as the Dolby Atmos Renderer's headphone modes do. This
//! module knows nothing about HRTFs: it says what the listener hears of a room for a source in
//! a given direction, and the binaural renderer turns each part into ear signals:
//!
//! * the **direct sound**: amplitude 1 at time 0, from the source's direction;
//! * the **early reflections** ([`Room::early_reflections`]): up to [`MAX_REFLECTIONS`]
//!   discrete echoes, each with its own direction, delay and gain, to be binauralised at its
//!   own direction with the HRTFs;
//! * the **late tail** ([`Room::late_tail`]): a left/right pair of decorrelated reverberation
//!   impulse responses, already one per ear (not to be run through HRTFs), added from time 0.
//!
//! # The model
//! * **A shoebox room** ([`Room`]): width, depth and height, the listener's head somewhere
//!   inside facing the front wall, one absorption coefficient per octave band
//!   ([`BAND_CENTRES`]: 125 Hz to 8 kHz) shared by all six surfaces. The reverberation time of
//!   each band follows from it by Eyring's formula ([`Room::rt60`]; [`Room::with_rt60`] goes
//!   the other way).
//! * **Early reflections** are the image sources of the shoebox (Allen and Berkley's method):
//!   up to order 2 these are 6 first-order reflections (floor, ceiling, four walls) and 18
//!   second-order ones. Each reflection's gain relative to the direct sound is the ratio of
//!   the path lengths (spreading as 1/r) times the surfaces' loss after its bounces (the square
//!   root of the seven bands' mean of `(1 - a)^bounces`), times [`Room::reverb_level`]; its
//!   delay is the path difference over the speed of sound ([`SPEED_OF_SOUND`]).
//! * **The late tail** is shaped noise: each band decays exponentially with its RT60 and the
//!   ears are independent above [`INCOHERENT_ABOVE_HZ`] (fully coherent below
//!   [`COHERENT_BELOW_HZ`], like the diffuse field at a real head). It fades in between the
//!   first and the last early reflection, so that it takes over where the discrete echoes end.
//!   Its level comes from diffuse-field theory: the reverberant energy of an omnidirectional
//!   source at distance `r` is `16 pi r^2 (1 - a) / (S a)` times the direct sound's (1 at the
//!   room's critical distance), of which the tail carries the part that arrives after its
//!   fade-in, times [`Room::reverb_level`] squared.
//! * **Levels are broadband, bands counted equally**: reflection gains and tail energy are
//!   means over the seven octave bands (as an octave-band analyser averaged over its bands),
//!   so they do not depend on the sample rate or lean on the top octave.
//! * **Loudspeaker directivity.** The formulas are for an omnidirectional source. A monitor
//!   aimed at the listener sends less power into the room for the same level on axis: a
//!   quarter of it for a directivity factor Q = 4 (directivity index 6 dB, typical of a
//!   two-way monitor in the midrange). The presets model this with a reverberant level of
//!   0.5 = 1/sqrt(4) for reflections and tail alike (a simplification: real monitors are
//!   omnidirectional in the bass).
//!
//! # The modes, and the direct-to-reverberant ratio they measure
//! The direct-to-reverberant ratio (DRR, [`Room::drr_db`]) compares the direct sound's energy
//! with the energy of everything the room adds (all the early reflections and the tail) for a
//! source straight ahead. 0 dB means the room is as loud as the source itself; every 6 dB more
//! halves the room's share in level.
//!
//! | mode | what you hear | room | RT60, 125 Hz .. 8 kHz | source | DRR |
//! |------|---------------|------|-----------------------|--------|-----|
//! | Off  | plain stereo, no HRTFs (the integrator pans) | none | - | - | - |
//! | Near | dry HRTFs: close, no room at all | none | - | the HRTF set's own distance | +infinity |
//! | Mid  | a well-treated small control room | 5.0 x 6.0 x 2.8 m (84 m3) | 0.27 .. 0.18 s (0.22 s at 1 kHz) | 1.5 m | **+5.1 dB** |
//! | Far  | a larger, livelier room (a small mix stage) | 8.0 x 10.0 x 4.0 m (320 m3) | 0.70 .. 0.45 s (0.58 s at 1 kHz) | 3.0 m | **+0.6 dB** |
//!
//! * **Mid** (the default): the direct sound is about 5 dB louder than the room's reflections
//!   and reverb together, as at the mix position of a treated control room with monitors
//!   1.5 m away. The listener sits on the centre line, 2.4 m from the front wall, ears 1.2 m
//!   up. The first reflection, off the floor, arrives 3.9 ms after the direct sound at
//!   -13.5 dB; the tail fades in from 4 to 35 ms and is 60 dB down after 0.27 s (its length).
//! * **Far**: direct sound and room about equally loud, as from a seat 3 m from the speakers
//!   of a small mix stage: the source stands near the room's critical distance. The listener
//!   sits on the centre line, 5.5 m from the front wall, ears 1.2 m up; the floor reflection
//!   comes 2.5 ms after the direct sound at -9.8 dB; the tail fades in from 2.5 to 58 ms and
//!   lasts 0.70 s.
//!
//! The DRR falls by at least 2 dB from Near to Mid to Far (tested, with the figures above).
//! An ADM `headphoneVirtualise` element (BS.2076-2) that carries a DRR sets the room's level
//! directly: [`Room::with_drr_db`] scales the reflections and the tail together so that
//! [`Room::drr_db`] equals it, keeping the mode's geometry (delays, directions, decay times).
//!
//! # Where sources stand
//! Directions are mixstage's (ADM): azimuth in degrees, positive to the left, elevation
//! positive up, relative to the listener's head, which faces +y; room coordinates run x to
//! the right, y to the front, z up from the left-back-floor corner. A source stands at
//! [`Room::source_distance`] in its direction, unless that would put it within
//! [`WALL_MARGIN`] of a surface: then it moves in along the same line until it is that far
//! inside ([`Room::source_position`]), so its direction never changes. In both presets a
//! source straight up or down is pulled in this way (Mid: 1.35 m up, 0.95 m down).

use std::f64::consts::{FRAC_PI_2, PI};
use std::fmt;
use std::str::FromStr;

use realfft::num_complex::Complex64;
use realfft::RealFftPlanner;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::geometry::{cartesian_to_polar, direction, Vec3};

/// Number of octave bands of the room model.
pub const BANDS: usize = 7;

/// Centre frequencies of the octave bands, in Hz: absorption and reverberation time are given
/// per band.
pub const BAND_CENTRES: [f64; BANDS] = [125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0];

/// Reverberation times of the Mid preset per band (seconds).
pub const MID_RT60: [f64; BANDS] = [0.27, 0.25, 0.23, 0.22, 0.21, 0.20, 0.18];

/// Reverberation times of the Far preset per band (seconds).
pub const FAR_RT60: [f64; BANDS] = [0.70, 0.65, 0.60, 0.58, 0.55, 0.50, 0.45];

/// Speed of sound in metres per second (air at about 20 degrees C).
pub const SPEED_OF_SOUND: f64 = 343.0;

/// At most this many early reflections are listed (the weakest are dropped).
pub const MAX_REFLECTIONS: usize = 24;

/// Largest image-source order honoured (a larger `max_order` is treated as this one).
pub const MAX_ORDER: u32 = 6;

/// Longest late tail, in seconds: reverberation times beyond it are cut short.
pub const MAX_TAIL_SECONDS: f64 = 1.5;

/// A source is kept at least this far (metres) from every surface of the room.
pub const WALL_MARGIN: f64 = 0.25;

/// The listener must be at least this far (metres) from every surface of the room.
pub const LISTENER_MARGIN: f64 = 0.5;

/// Lowest DRR in dB that [`Room::with_drr_db`] accepts; lower values are raised to it.
pub const MIN_DRR_DB: f64 = -40.0;

/// Interaural coherence of the late tail at low frequencies, where the wavelength is large
/// compared with the head and both ears hear nearly the same diffuse field.
pub const LOW_COHERENCE: f64 = 0.9;

/// Up to this frequency (Hz) the tail's interaural coherence is [`LOW_COHERENCE`]...
pub const COHERENT_BELOW_HZ: f64 = 150.0;

/// ...from this frequency (Hz) up it is zero (the ears' tails are independent); in between
/// it falls smoothly (cosine squared in log frequency).
pub const INCOHERENT_ABOVE_HZ: f64 = 450.0;

/// The tail has no energy below this frequency (Hz): it fades in over the octave above it.
pub const TAIL_BOTTOM_HZ: f64 = 31.25;

/// The tail has no energy above this frequency (Hz): it fades out over the half octave
/// below it, as air absorption and soft surfaces leave little reverberation up there.
pub const TAIL_TOP_HZ: f64 = 16000.0;

/// Fixed seeds of the two noise generators of the late tail.
const SEEDS: [u64; 2] = [0x6d69_7873_7461_6765, 0x726f_6f6d_7461_696c];

/// Sample rate at which [`Room::drr_db`] measures the tail.
const MEASURE_RATE: u32 = 48000;

/// Shortest fade-in of the tail, in seconds.
const MIN_FADE: f64 = 0.002;

/// Length of the fade-out at the end of the tail, in seconds.
const END_FADE: f64 = 0.01;

/// The binaural distance mode: how much room the headphone render adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Mode {
    /// No binaural processing at all: the integrator pans to plain stereo.
    Off,
    /// Dry HRTFs only: the sound is close and has no room around it.
    Near,
    /// A small, well-treated control room, sources about 1.5 m away.
    #[default]
    Mid,
    /// A larger, more reverberant room, sources about 3 m away.
    Far,
}

impl Mode {
    /// All modes, from no processing to the most room.
    pub const ALL: [Mode; 4] = [Mode::Off, Mode::Near, Mode::Mid, Mode::Far];

    /// The mode's lowercase name (`off`, `near`, `mid`, `far`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Near => "near",
            Mode::Mid => "mid",
            Mode::Far => "far",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = Error;

    /// Parses `off`, `near`, `mid` or `far`, in any case, surrounding spaces ignored.
    fn from_str(s: &str) -> Result<Mode> {
        let t = s.trim();
        Mode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown binaural mode '{s}': expected one of off, near, mid, far"
                ))
            })
    }
}

/// A shoebox room around the listener, described in metres from its left-back-floor corner:
/// x runs from the left wall to the right wall, y from the back wall to the front wall, z from
/// the floor up, and the listener faces +y (the front wall), as in mixstage's Cartesian
/// convention. All six surfaces share one absorption coefficient per octave band.
///
/// The fields are public so that a room can be written by hand or read from RON; the methods
/// expect a room that passes [`Room::validate`] (the presets do).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Room {
    /// Width (x), depth (y) and height (z) in metres.
    pub dimensions: [f64; 3],
    /// The listener's head (the point between the ears), metres from the left wall, the back
    /// wall and the floor.
    pub listener: [f64; 3],
    /// Mean absorption coefficient of the surfaces (0..1, the fraction of energy a surface does
    /// not reflect) in each band of [`BAND_CENTRES`].
    pub absorption: [f64; BANDS],
    /// Distance in metres at which sources are placed from the listener.
    pub distance: f64,
    /// Highest image-source order (number of wall bounces) of the early reflections.
    pub max_order: u32,
    /// Amplitude scale of everything the room adds (reflections and tail) relative to the
    /// physical level of an omnidirectional source: 1.0 is the bare model, a directive
    /// loudspeaker aimed at the listener excites the room less (see [`Room::for_mode`]).
    pub reverb_level: f64,
}

/// One early reflection as the listener hears it, relative to the direct sound.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reflection {
    /// Direction it arrives from, degrees, positive to the left (relative to the head).
    pub azimuth: f64,
    /// Direction it arrives from, degrees, positive up.
    pub elevation: f64,
    /// Arrival time in seconds after the direct sound.
    pub delay: f64,
    /// Amplitude relative to the direct sound: spreading (1/r), the surfaces' absorption
    /// (energy mean over the bands) and [`Room::reverb_level`].
    pub gain: f64,
    /// Number of surfaces the sound bounced off.
    pub order: u32,
}

/// An image source: where it is and how many times it bounced.
#[derive(Debug, Clone, Copy)]
struct Image {
    position: Vec3,
    order: u32,
}

impl Room {
    /// The room of a distance mode: `None` for [`Mode::Off`] and [`Mode::Near`] (no room).
    ///
    /// * Mid: 5.0 x 6.0 x 2.8 m, listener at (2.5, 3.6, 1.2) m, RT60 [`MID_RT60`], sources at
    ///   1.5 m, image sources to order 2, reverberant level 0.5.
    /// * Far: 8.0 x 10.0 x 4.0 m, listener at (4.0, 4.5, 1.2) m, RT60 [`FAR_RT60`], sources
    ///   at 3.0 m, image sources to order 2, reverberant level 0.5.
    ///
    /// The level 0.5 stands for a loudspeaker of directivity factor 4 (see the module docs).
    pub fn for_mode(mode: Mode) -> Option<Room> {
        match mode {
            Mode::Off | Mode::Near => None,
            Mode::Mid => Some(mid_room()),
            Mode::Far => Some(far_room()),
        }
    }

    /// Checks that the room is usable: finite positive dimensions, the listener at least
    /// [`LISTENER_MARGIN`] inside every surface, absorption within 0.01..=0.99, a positive
    /// source distance and a finite, non-negative reverberant level.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Invalid(format!("room: {what}")));
        if self.dimensions.iter().any(|d| !(d.is_finite() && *d > 0.0)) {
            return bad(format!(
                "dimensions {:?} must be finite and positive (metres)",
                self.dimensions
            ));
        }
        for (axis, (p, d)) in self.listener.iter().zip(&self.dimensions).enumerate() {
            if !(p.is_finite() && *p >= LISTENER_MARGIN && *p <= d - LISTENER_MARGIN) {
                return bad(format!(
                    "listener coordinate {} = {p} m must lie within {LISTENER_MARGIN} m..{} m",
                    ["x", "y", "z"][axis],
                    d - LISTENER_MARGIN
                ));
            }
        }
        if let Some(a) = self
            .absorption
            .iter()
            .find(|a| !(**a >= 0.01 && **a <= 0.99))
        {
            return bad(format!("absorption {a} must lie within 0.01..=0.99"));
        }
        if !(self.distance.is_finite() && self.distance > 0.0) {
            return bad(format!(
                "source distance {} m must be finite and positive",
                self.distance
            ));
        }
        if !(self.reverb_level.is_finite() && self.reverb_level >= 0.0) {
            return bad(format!(
                "reverberant level {} must be finite and not negative",
                self.reverb_level
            ));
        }
        Ok(())
    }

    /// Volume in cubic metres.
    pub fn volume(&self) -> f64 {
        self.dimensions.iter().product()
    }

    /// Total surface area in square metres.
    pub fn surface_area(&self) -> f64 {
        let [w, d, h] = self.dimensions;
        2.0 * (w * d + w * h + d * h)
    }

    /// Reverberation time (RT60, seconds) per band by Eyring's formula
    /// `T = 24 ln(10) V / (c S (-ln(1 - a)))` (air absorption neglected).
    pub fn rt60(&self) -> [f64; BANDS] {
        let k = 24.0 * 10f64.ln() * self.volume() / (SPEED_OF_SOUND * self.surface_area());
        self.absorption.map(|a| k / -(1.0 - a).ln())
    }

    /// The same room with the absorption that gives these reverberation times (seconds, per
    /// band) by Eyring's formula (the inverse of [`Room::rt60`]).
    pub fn with_rt60(mut self, rt60: [f64; BANDS]) -> Room {
        let k = 24.0 * 10f64.ln() * self.volume() / (SPEED_OF_SOUND * self.surface_area());
        self.absorption = rt60.map(|t| 1.0 - (-k / t).exp());
        self
    }

    /// The same room with [`Room::reverb_level`] set so that the direct-to-reverberant ratio
    /// ([`Room::drr_db`]) is `db` decibels, as an ADM `headphoneVirtualise` DRR asks.
    /// `+inf` silences the room (dry HRTFs); values below [`MIN_DRR_DB`] are raised to it;
    /// NaN leaves the room unchanged.
    pub fn with_drr_db(mut self, db: f64) -> Room {
        if db.is_nan() {
            return self;
        }
        let unit = Room {
            reverb_level: 1.0,
            ..self.clone()
        };
        let target = 10f64.powf(-db.max(MIN_DRR_DB) / 10.0);
        self.reverb_level = (target / unit.room_energy()).sqrt();
        self
    }

    /// The distance in metres at which this room places sources (before any clamping to the
    /// walls, see [`Room::early_reflections`]).
    pub fn source_distance(&self) -> f64 {
        self.distance
    }

    /// Where a source in direction (`azimuth`, `elevation`) from the listener stands, in room
    /// coordinates. It is [`Room::source_distance`] away along that direction, or nearer if
    /// that point would be less than [`WALL_MARGIN`] from a surface: then it moves along the
    /// same line towards the listener until it is [`WALL_MARGIN`] inside the room (the
    /// direction is kept, the distance shortened).
    pub fn source_position(&self, azimuth: f64, elevation: f64) -> Vec3 {
        let u = direction(azimuth, elevation);
        let l = self.listener_vec();
        let reach = (0..3)
            .map(|i| exit_distance(l[i], u[i], self.dimensions[i]))
            .fold(self.distance, f64::min);
        l + u * reach
    }

    /// The early reflections of a source in direction (`azimuth`, `elevation`) from the
    /// listener (degrees, ADM convention, relative to the head facing +y), at the position
    /// [`Room::source_position`] gives: the shoebox's image sources up to
    /// [`Room::max_order`] bounces, at most [`MAX_REFLECTIONS`] of them (the weakest dropped),
    /// sorted by delay (ties in a fixed order). Non-finite directions give no reflections.
    pub fn early_reflections(&self, azimuth: f64, elevation: f64) -> Vec<Reflection> {
        if !(azimuth.is_finite() && elevation.is_finite()) {
            return Vec::new();
        }
        let source = self.source_position(azimuth, elevation);
        let listener = self.listener_vec();
        let direct = (source - listener).norm();
        let energy = self.reflection_energy_factors();
        let mut list: Vec<Reflection> = self
            .images(&source)
            .into_iter()
            .map(|im| reflection(im, &listener, direct, &energy))
            .collect();
        list.sort_by(|a, b| b.gain.total_cmp(&a.gain));
        list.truncate(MAX_REFLECTIONS);
        list.sort_by(|a, b| a.delay.total_cmp(&b.delay));
        for r in &mut list {
            r.gain *= self.reverb_level;
        }
        list
    }

    /// The late reverberation as a left/right pair of impulse responses at `sample_rate`,
    /// [`Room::tail_length`] samples long.
    ///
    /// Sample 0 is the time of the direct sound. Two noise generators with fixed seeds give
    /// the two ears, mixed so that their coherence is [`LOW_COHERENCE`] up to
    /// [`COHERENT_BELOW_HZ`] and zero from [`INCOHERENT_ABOVE_HZ`] up. The noise is split into
    /// the octave bands (power-complementary crossovers between the band centres, nothing
    /// below [`TAIL_BOTTOM_HZ`] or above [`TAIL_TOP_HZ`]), each band's slow level fluctuations
    /// are evened out (so its decay follows the exponential closely instead of wandering as
    /// raw noise would), and each band decays with its [`Room::rt60`]. The tail fades in (sine
    /// squared) between the first and the last early reflection of a frontal source and fades
    /// out over its last 10 ms. Its spectrum follows the bands' reverberant levels, and its
    /// energy (mean of the two ears) is [`Room::reverb_level`] squared times the diffuse-field
    /// reverberant energy after the fade-in, averaged over the bands (see the module docs). A
    /// zero `sample_rate` gives two empty responses.
    pub fn late_tail(&self, sample_rate: u32) -> [Vec<f32>; 2] {
        if sample_rate == 0 {
            return [Vec::new(), Vec::new()];
        }
        let fs = sample_rate as f64;
        let len = self.tail_length(sample_rate);
        let n_fft = len.next_power_of_two();
        let mut planner = RealFftPlanner::<f64>::new();
        let spectra = ear_spectra(n_fft, fs, &mut planner);
        let (start, end) = self.fade_window();
        let (rt, ratio) = (self.rt60(), self.reverberant_ratios());
        let mut ears = [vec![0.0f64; len], vec![0.0f64; len]];
        for b in 0..BANDS {
            let mut band = spectra
                .each_ref()
                .map(|s| band_signal(s, b, fs, &mut planner));
            for ear in band.iter_mut() {
                flatten_envelope(ear, flatten_half_window(b, fs));
            }
            let tau = decay_constant(rt[b]);
            let gain = (white_fraction(b, fs, n_fft) * ratio[b] / tau).sqrt();
            let envelope = (0..len).map(|n| {
                let t = n as f64 / fs;
                gain * fade_in(t, start, end) * (-t / (2.0 * tau)).exp()
            });
            add_band(&mut ears, &band, envelope);
        }
        fade_out(&mut ears, (END_FADE * fs) as usize);
        let scale = (self.tail_energy() / mean_energy(&ears)).sqrt();
        ears.map(|e| e.iter().map(|v| (v * scale) as f32).collect())
    }

    /// The length in samples of [`Room::late_tail`] at `sample_rate`: until the slowest band
    /// has decayed by 60 dB, at most [`MAX_TAIL_SECONDS`], and at least 10 ms past the end of
    /// the fade-in.
    pub fn tail_length(&self, sample_rate: u32) -> usize {
        let seconds = self
            .rt60()
            .iter()
            .fold(0.0, |m: f64, t| m.max(*t))
            .min(MAX_TAIL_SECONDS)
            .max(self.fade_window().1 + END_FADE);
        (seconds * sample_rate as f64).ceil() as usize
    }

    /// The direct-to-reverberant ratio in dB of a frontal source: direct energy (1) over the
    /// sum of the squared gains of its [`Room::early_reflections`] plus the energy of the
    /// [`Room::late_tail`] (at 48 kHz, mean of the two ears). `+inf` for a silent room.
    pub fn drr_db(&self) -> f64 {
        let early: f64 = self
            .early_reflections(0.0, 0.0)
            .iter()
            .map(|r| r.gain * r.gain)
            .sum();
        let ears = self.late_tail(MEASURE_RATE);
        let tail = mean_energy(&ears.map(|e| e.iter().map(|v| *v as f64).collect()));
        -10.0 * (early + tail).log10()
    }

    /// The listener as a vector.
    fn listener_vec(&self) -> Vec3 {
        Vec3::from(self.listener)
    }

    /// Energy reflection factor of one bounce, per band.
    fn reflection_energy_factors(&self) -> [f64; BANDS] {
        self.absorption.map(|a| 1.0 - a)
    }

    /// All image sources of `source` with 1..=max_order bounces, in a fixed order.
    fn images(&self, source: &Vec3) -> Vec<Image> {
        let n = self.max_order.min(MAX_ORDER) as i32;
        let mut out = Vec::new();
        for kx in -n..=n {
            for ky in -n..=n {
                for kz in -n..=n {
                    let order = kx.unsigned_abs() + ky.unsigned_abs() + kz.unsigned_abs();
                    if order == 0 || order > n as u32 {
                        continue;
                    }
                    let [w, d, h] = self.dimensions;
                    let position = Vec3::new(
                        image_coordinate(kx, source.x, w),
                        image_coordinate(ky, source.y, d),
                        image_coordinate(kz, source.z, h),
                    );
                    out.push(Image { position, order });
                }
            }
        }
        out
    }

    /// Per band: the diffuse-field reverberant energy relative to the direct energy for an
    /// omnidirectional source at the frontal source's distance `r`, `16 pi r^2 / R` with the
    /// room constant `R = S a / (1 - a)`.
    fn reverberant_ratios(&self) -> [f64; BANDS] {
        let r = (self.source_position(0.0, 0.0) - self.listener_vec()).norm();
        let s = self.surface_area();
        self.absorption
            .map(|a| 16.0 * PI * r * r * (1.0 - a) / (s * a))
    }

    /// The tail's energy relative to the direct sound: reverb_level^2 times the band mean of
    /// the reverberant energy weighted by the fade-in.
    fn tail_energy(&self) -> f64 {
        let (start, end) = self.fade_window();
        let ratio = self.reverberant_ratios();
        let rt = self.rt60();
        let sum: f64 = (0..BANDS)
            .map(|b| ratio[b] * faded_fraction(decay_constant(rt[b]), start, end))
            .sum();
        self.reverb_level * self.reverb_level * sum / BANDS as f64
    }

    /// Energy of everything the room adds to a frontal source, relative to the direct sound.
    fn room_energy(&self) -> f64 {
        let early: f64 = self
            .early_reflections(0.0, 0.0)
            .iter()
            .map(|r| r.gain * r.gain)
            .sum();
        early + self.tail_energy()
    }

    /// When the tail fades in (seconds after the direct sound): from the first to the last
    /// early reflection of a frontal source, at least [`MIN_FADE`] long; from 0 when there
    /// are no reflections.
    fn fade_window(&self) -> (f64, f64) {
        let delays: Vec<f64> = self
            .early_reflections(0.0, 0.0)
            .iter()
            .map(|r| r.delay)
            .collect();
        let start = delays.first().copied().unwrap_or(0.0);
        let end = delays.last().copied().unwrap_or(0.0).max(start + MIN_FADE);
        (start, end)
    }
}

/// The Mid preset (see the module docs).
fn mid_room() -> Room {
    Room {
        dimensions: [5.0, 6.0, 2.8],
        listener: [2.5, 3.6, 1.2],
        absorption: [0.0; BANDS],
        distance: 1.5,
        max_order: 2,
        reverb_level: 0.5,
    }
    .with_rt60(MID_RT60)
}

/// The Far preset (see the module docs).
fn far_room() -> Room {
    Room {
        dimensions: [8.0, 10.0, 4.0],
        listener: [4.0, 4.5, 1.2],
        absorption: [0.0; BANDS],
        distance: 3.0,
        max_order: 2,
        reverb_level: 0.5,
    }
    .with_rt60(FAR_RT60)
}

/// How far from `p` along direction component `u` the source may go on one axis of length
/// `len` before it comes within [`WALL_MARGIN`] of a wall (infinite when `u` is 0). Never
/// negative.
fn exit_distance(p: f64, u: f64, len: f64) -> f64 {
    let t = if u > 0.0 {
        (len - WALL_MARGIN - p) / u
    } else if u < 0.0 {
        (WALL_MARGIN - p) / u
    } else {
        f64::INFINITY
    };
    t.max(0.0)
}

/// Coordinate on one axis of the image with index `k` of a source at `s` between walls at 0
/// and `len`: `k` even gives `k len + s`, odd `(k + 1) len - s`; it bounced `|k|` times.
fn image_coordinate(k: i32, s: f64, len: f64) -> f64 {
    if k.rem_euclid(2) == 0 {
        k as f64 * len + s
    } else {
        (k + 1) as f64 * len - s
    }
}

/// The reflection an image source makes at the listener, at the room's physical level
/// (reverb_level 1).
fn reflection(im: Image, listener: &Vec3, direct: f64, energy: &[f64; BANDS]) -> Reflection {
    let path = im.position - listener;
    let distance = path.norm();
    let (azimuth, elevation, _) = cartesian_to_polar(path);
    let surfaces = energy.iter().map(|e| e.powi(im.order as i32)).sum::<f64>() / BANDS as f64;
    Reflection {
        azimuth,
        elevation,
        delay: (distance - direct) / SPEED_OF_SOUND,
        gain: surfaces.sqrt() * direct / distance,
        order: im.order,
    }
}

/// Energy time constant (seconds) of an exponential decay of `rt60` seconds to -60 dB.
fn decay_constant(rt60: f64) -> f64 {
    rt60 / (6.0 * 10f64.ln())
}

/// The fade-in gain at time `t`: 0 before `start`, sine squared up to 1 at `end`, then 1.
fn fade_in(t: f64, start: f64, end: f64) -> f64 {
    if t <= start {
        0.0
    } else if t >= end {
        1.0
    } else {
        (FRAC_PI_2 * (t - start) / (end - start)).sin().powi(2)
    }
}

/// The fraction of an exponentially arriving energy (time constant `tau`, from time 0) that
/// the fade-in lets through: the integral of `fade^2 e^(-t/tau) / tau` (midpoint rule over the
/// fade, exact after it).
fn faded_fraction(tau: f64, start: f64, end: f64) -> f64 {
    const STEPS: usize = 2000;
    let dt = (end - start) / STEPS as f64;
    let during: f64 = (0..STEPS)
        .map(|i| {
            let t = start + (i as f64 + 0.5) * dt;
            fade_in(t, start, end).powi(2) * (-t / tau).exp() * dt / tau
        })
        .sum();
    during + (-end / tau).exp()
}

/// A deterministic 64-bit generator (SplitMix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    fn gaussian(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }
}

/// The spectrum of `n` samples of unit-variance white Gaussian noise from `seed`.
fn noise_spectrum(seed: u64, n: usize, planner: &mut RealFftPlanner<f64>) -> Vec<Complex64> {
    let mut rng = SplitMix(seed);
    let mut x: Vec<f64> = (0..n).map(|_| rng.gaussian()).collect();
    let fft = planner.plan_fft_forward(n);
    let mut spectrum = fft.make_output_vec();
    fft.process(&mut x, &mut spectrum)
        .expect("buffer sizes come from the plan");
    spectrum
}

/// The target interaural coherence of the tail at `freq` Hz (see [`Room::late_tail`]).
fn coherence(freq: f64) -> f64 {
    if freq <= COHERENT_BELOW_HZ {
        LOW_COHERENCE
    } else if freq >= INCOHERENT_ABOVE_HZ {
        0.0
    } else {
        let u =
            (freq / COHERENT_BELOW_HZ).log2() / (INCOHERENT_ABOVE_HZ / COHERENT_BELOW_HZ).log2();
        LOW_COHERENCE * (FRAC_PI_2 * u).cos().powi(2)
    }
}

/// The spectra (`n` points at `fs`) of the two ears' noises: two independent noises mixed
/// per frequency as `c N1 + s N2` and `c N1 - s N2`, with `c^2 - s^2` the coherence and
/// `c^2 + s^2 = 1`.
fn ear_spectra(n: usize, fs: f64, planner: &mut RealFftPlanner<f64>) -> [Vec<Complex64>; 2] {
    let [a, b] = SEEDS.map(|seed| noise_spectrum(seed, n, planner));
    let mut left = Vec::with_capacity(a.len());
    let mut right = Vec::with_capacity(a.len());
    for (k, (x, y)) in a.iter().zip(&b).enumerate() {
        let theta = coherence(k as f64 * fs / n as f64).acos() / 2.0;
        let (c, s) = (theta.cos(), theta.sin());
        left.push(x * c + y * s);
        right.push(x * c - y * s);
    }
    [left, right]
}

/// A cosine-squared fade in log frequency: 0 at `from` Hz, 1 at `to` Hz (either order).
fn log_fade(freq: f64, from: f64, to: f64) -> f64 {
    let u = ((freq / from).log2() / (to / from).log2()).clamp(0.0, 1.0);
    (FRAC_PI_2 * u).sin().powi(2)
}

/// The weight of band `band` at `freq` Hz: power-complementary crossovers (cosine/sine in
/// log frequency) between neighbouring band centres, the lowest band down to
/// [`TAIL_BOTTOM_HZ`] (fading in over the octave above it), the highest up to
/// [`TAIL_TOP_HZ`] (fading out over the half octave below it).
fn band_weight(band: usize, freq: f64) -> f64 {
    if freq <= TAIL_BOTTOM_HZ || freq >= TAIL_TOP_HZ {
        return 0.0;
    }
    let edges = log_fade(freq, TAIL_BOTTOM_HZ, 2.0 * TAIL_BOTTOM_HZ).sqrt()
        * log_fade(freq, TAIL_TOP_HZ, TAIL_TOP_HZ / 2f64.sqrt()).sqrt();
    let u = (freq / BAND_CENTRES[0])
        .log2()
        .clamp(0.0, (BANDS - 1) as f64);
    let below = (u.floor() as usize).min(BANDS - 2);
    let frac = u - below as f64;
    let w = if band == below {
        (FRAC_PI_2 * frac).cos()
    } else if band == below + 1 {
        (FRAC_PI_2 * frac).sin()
    } else {
        0.0
    };
    w * edges
}

/// The share of white noise's power (at `fs`, over `n`-point FFT bins) that band `band` holds.
fn white_fraction(band: usize, fs: f64, n: usize) -> f64 {
    let bins = n / 2 + 1;
    (0..bins)
        .map(|k| band_weight(band, k as f64 * fs / n as f64).powi(2))
        .sum::<f64>()
        / bins as f64
}

/// The noise behind `spectrum` (of a real signal at `fs`) in band `band`, all its samples.
fn band_signal(
    spectrum: &[Complex64],
    band: usize,
    fs: f64,
    planner: &mut RealFftPlanner<f64>,
) -> Vec<f64> {
    let n = 2 * (spectrum.len() - 1);
    let mut s: Vec<Complex64> = spectrum
        .iter()
        .enumerate()
        .map(|(k, c)| c * (band_weight(band, k as f64 * fs / n as f64) / n as f64))
        .collect();
    s[0].im = 0.0;
    if let Some(last) = s.last_mut() {
        last.im = 0.0;
    }
    let ifft = planner.plan_fft_inverse(n);
    let mut x = ifft.make_output_vec();
    ifft.process(&mut s, &mut x)
        .expect("buffer sizes come from the plan");
    x
}

/// Half the length (samples) of the window over which [`flatten_envelope`] measures a band's
/// level: two periods of the band's width (an octave around the centre is `centre / sqrt 2`
/// wide), long enough not to colour the band, short enough to even out its slow swings.
fn flatten_half_window(band: usize, fs: f64) -> usize {
    let width = BAND_CENTRES[band] / 2f64.sqrt();
    (2.0 * fs / width).round() as usize
}

/// Divides a band's (circular) ear signal by its running RMS level over `2 half + 1`
/// samples, so that the band's power is 1 at every moment.
fn flatten_envelope(x: &mut [f64], half: usize) {
    let n = x.len();
    let half = half.min(n.saturating_sub(1) / 2);
    let power: Vec<f64> = x.iter().map(|v| v * v).collect();
    let width = (2 * half + 1) as f64;
    let mut sum: f64 = (0..=2 * half).map(|j| power[(j + n - half) % n]).sum();
    for i in 0..n {
        let level = (sum / width).sqrt();
        if level > 0.0 {
            x[i] /= level;
        }
        sum += power[(i + half + 1) % n] - power[(i + n - half) % n];
    }
}

/// Adds one band to the ears: `band` (its two ear signals) times `envelope`.
fn add_band(ears: &mut [Vec<f64>; 2], band: &[Vec<f64>; 2], envelope: impl Iterator<Item = f64>) {
    let [left, right] = ears;
    for (n, e) in envelope.enumerate().take(left.len()) {
        left[n] += e * band[0][n];
        right[n] += e * band[1][n];
    }
}

/// A cosine fade over the last `n` samples of both ears.
fn fade_out(ears: &mut [Vec<f64>; 2], n: usize) {
    for ear in ears.iter_mut() {
        let len = ear.len();
        let n = n.min(len);
        for i in 0..n {
            let g = (FRAC_PI_2 * (i as f64 + 0.5) / n as f64).sin();
            ear[len - 1 - i] *= g * g;
        }
    }
}

/// The energy of a pair of signals, mean of the two.
fn mean_energy(ears: &[Vec<f64>; 2]) -> f64 {
    ears.iter()
        .map(|e| e.iter().map(|v| v * v).sum::<f64>())
        .sum::<f64>()
        / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qc::kweight::Biquad;

    fn mid() -> Room {
        Room::for_mode(Mode::Mid).unwrap()
    }

    fn far() -> Room {
        Room::for_mode(Mode::Far).unwrap()
    }

    /// An octave band-pass (RBJ, 0 dB peak, Q = sqrt 2) run twice, over `x` at `fs`.
    fn octave(x: &[f32], centre: f64, fs: f64) -> Vec<f64> {
        let w0 = 2.0 * PI * centre / fs;
        let alpha = w0.sin() / (2.0 * 2f64.sqrt());
        let a0 = 1.0 + alpha;
        let coefs = (
            [alpha / a0, 0.0, -alpha / a0],
            [-2.0 * w0.cos() / a0, (1.0 - alpha) / a0],
        );
        let (mut f1, mut f2) = (Biquad::new(coefs.0, coefs.1), Biquad::new(coefs.0, coefs.1));
        x.iter()
            .map(|v| f2.process(f1.process(*v as f64)))
            .collect()
    }

    /// RT60 from the Schroeder energy decay curve of `y` from sample `from` on: a straight
    /// line fitted between -5 and -25 dB, extrapolated to -60 dB.
    fn fitted_rt60(y: &[f64], from: usize, fs: f64) -> f64 {
        let mut edc: Vec<f64> = y[from..]
            .iter()
            .rev()
            .scan(0.0, |acc, v| {
                *acc += v * v;
                Some(*acc)
            })
            .collect();
        edc.reverse();
        let (mut n, mut st, mut sd, mut stt, mut std) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, e) in edc.iter().enumerate() {
            let db = 10.0 * (e / edc[0]).log10();
            if (-25.0..=-5.0).contains(&db) {
                let t = i as f64 / fs;
                n += 1.0;
                st += t;
                sd += db;
                stt += t * t;
                std += t * db;
            }
        }
        let slope = (n * std - st * sd) / (n * stt - st * st);
        -60.0 / slope
    }

    /// Largest normalised cross-correlation of `a` and `b` within +-1 ms (IACC).
    fn iacc(a: &[f64], b: &[f64], fs: f64) -> f64 {
        let max_lag = (0.001 * fs) as isize;
        let ea: f64 = a.iter().map(|v| v * v).sum();
        let eb: f64 = b.iter().map(|v| v * v).sum();
        (-max_lag..=max_lag)
            .map(|lag| {
                let c: f64 = (0..a.len() as isize)
                    .filter_map(|i| {
                        let j = i + lag;
                        (j >= 0 && j < b.len() as isize).then(|| a[i as usize] * b[j as usize])
                    })
                    .sum();
                c.abs() / (ea * eb).sqrt()
            })
            .fold(0.0, f64::max)
    }

    fn energy(x: &[f32]) -> f64 {
        x.iter().map(|v| (*v as f64).powi(2)).sum()
    }

    #[test]
    fn modes_parse_in_any_case_and_display_lowercase() {
        for m in Mode::ALL {
            assert_eq!(m.to_string().parse::<Mode>().unwrap(), m);
            assert_eq!(m.to_string().to_uppercase().parse::<Mode>().unwrap(), m);
        }
        assert_eq!(" Far ".parse::<Mode>().unwrap(), Mode::Far);
        assert_eq!(Mode::Near.to_string(), "near");
        let e = "medium".parse::<Mode>().unwrap_err().to_string();
        assert!(
            e.contains("'medium'") && e.contains("off, near, mid, far"),
            "{e}"
        );
        assert_eq!(Mode::default(), Mode::Mid);
    }

    #[test]
    fn modes_are_plain_variant_names_in_ron() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct Options {
            binaural: Mode,
        }
        let o: Options = ron::from_str("(binaural: Near)").unwrap();
        assert_eq!(o.binaural, Mode::Near);
        assert_eq!(
            ron::to_string(&Options {
                binaural: Mode::Far
            })
            .unwrap(),
            "(binaural:Far)"
        );
        assert!(ron::from_str::<Options>("(binaural: near)").is_err());
    }

    #[test]
    fn only_mid_and_far_have_a_room_and_their_presets_are_valid() {
        assert!(Room::for_mode(Mode::Off).is_none());
        assert!(Room::for_mode(Mode::Near).is_none());
        mid().validate().unwrap();
        far().validate().unwrap();
        assert_eq!(mid().source_distance(), 1.5);
        assert!(far().source_distance() > mid().source_distance());
        assert!(far().volume() > 2.0 * mid().volume());
        let mean = |t: [f64; BANDS]| t.iter().sum::<f64>() / BANDS as f64;
        assert!(
            (0.2..=0.3).contains(&mean(mid().rt60())),
            "{:?}",
            mid().rt60()
        );
        assert!(
            (0.4..=0.6).contains(&mean(far().rt60())),
            "{:?}",
            far().rt60()
        );
    }

    #[test]
    fn drr_falls_by_at_least_2_db_from_near_to_mid_to_far() {
        let (m, f) = (mid().drr_db(), far().drr_db());
        assert!((4.0..=8.0).contains(&m), "mid {m}");
        assert!((-2.0..=2.0).contains(&f), "far {f}");
        // Near has no room: an infinite DRR, like a silenced room.
        let silent = mid().with_drr_db(f64::INFINITY);
        assert_eq!(silent.drr_db(), f64::INFINITY);
        assert!(m - f >= 2.0, "mid {m} far {f}");
        // The figures the module docs give.
        assert!(
            (m - 5.1).abs() < 0.05 && (f - 0.6).abs() < 0.1,
            "mid {m} far {f}"
        );
    }

    #[test]
    fn rt60_follows_eyring_and_with_rt60_inverts_it() {
        let cube = Room {
            dimensions: [10.0; 3],
            listener: [5.0; 3],
            absorption: [0.2; BANDS],
            distance: 2.0,
            max_order: 2,
            reverb_level: 1.0,
        };
        // 24 ln10 / 343 * 1000 / (600 * -ln 0.8)
        let expected = 0.161_117 * 1000.0 / (600.0 * 0.223_144);
        for t in cube.rt60() {
            assert!((t - expected).abs() < 1e-3, "{t} {expected}");
        }
        let r = cube.with_rt60(MID_RT60);
        for (a, b) in r.rt60().iter().zip(MID_RT60) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn reflections_come_later_and_weaker_than_the_direct_sound() {
        for room in [mid(), far()] {
            for (az, el) in [
                (0.0, 0.0),
                (90.0, 0.0),
                (-135.0, 20.0),
                (30.0, -40.0),
                (0.0, 90.0),
            ] {
                let list = room.early_reflections(az, el);
                assert_eq!(list.len(), 24, "{az} {el}");
                assert!(list[0].delay > 0.0);
                assert!(list.windows(2).all(|w| w[0].delay <= w[1].delay));
                assert!(list.iter().all(|r| r.gain > 0.0 && r.gain < 1.0));
                assert!(list.iter().all(|r| (1..=2).contains(&r.order)));
                assert_eq!(list.iter().filter(|r| r.order == 1).count(), 6);
            }
        }
        assert!(mid().early_reflections(f64::NAN, 0.0).is_empty());
        // A higher order keeps the count bounded and keeps the strongest (all first-order).
        let third = Room {
            max_order: 3,
            ..mid()
        }
        .early_reflections(20.0, 10.0);
        assert_eq!(third.len(), MAX_REFLECTIONS);
        assert_eq!(third.iter().filter(|r| r.order == 1).count(), 6);
        assert!(third.iter().any(|r| r.order == 3));
        assert!(Room {
            max_order: 0,
            ..mid()
        }
        .early_reflections(0.0, 0.0)
        .is_empty());
    }

    #[test]
    fn the_floor_reflection_of_a_frontal_source_comes_first_from_below() {
        let room = mid();
        let first = room.early_reflections(0.0, 0.0)[0];
        assert_eq!(first.order, 1);
        assert_eq!(first.azimuth, 0.0);
        // Source 1.5 m ahead at ear height 1.2 m: the floor image is 2.4 m below it.
        let path = 1.5f64.hypot(2.4);
        assert!((first.delay - (path - 1.5) / SPEED_OF_SOUND).abs() < 1e-12);
        assert!((first.elevation + (2.4f64 / 1.5).atan().to_degrees()).abs() < 1e-9);
        let energy = room.absorption.iter().map(|a| 1.0 - a).sum::<f64>() / BANDS as f64;
        assert!((first.gain - 0.5 * energy.sqrt() * 1.5 / path).abs() < 1e-12);
        let ceiling = room
            .early_reflections(0.0, 0.0)
            .into_iter()
            .find(|r| r.order == 1 && r.elevation > 45.0)
            .unwrap();
        // Ceiling at 2.8 m: the image is 2 * 1.6 m above ear height.
        assert!((ceiling.delay - (1.5f64.hypot(3.2) - 1.5) / SPEED_OF_SOUND).abs() < 1e-12);
    }

    #[test]
    fn a_source_on_the_left_is_reflected_first_and_loudest_by_the_left_wall() {
        for room in [mid(), far()] {
            let lateral: Vec<Reflection> = room
                .early_reflections(90.0, 0.0)
                .into_iter()
                .filter(|r| r.elevation.abs() < 45.0 && (45.0..=135.0).contains(&r.azimuth.abs()))
                .collect();
            let first = lateral[0];
            assert!(first.azimuth > 0.0 && first.order == 1, "{first:?}");
            assert!(lateral.iter().all(|r| r.gain <= first.gain));
            // The right wall's reflection arrives from the right, later.
            let right = lateral
                .iter()
                .find(|r| r.azimuth < 0.0 && r.order == 1)
                .unwrap();
            assert!(right.delay > first.delay && right.gain < first.gain);
        }
    }

    #[test]
    fn sources_beyond_a_wall_are_pulled_in_along_their_direction() {
        let room = mid();
        // Straight up from 1.2 m in a 2.8 m room: 1.35 m, stopping 0.25 m below the ceiling.
        let up = room.source_position(0.0, 90.0);
        assert!((up.z - (2.8 - WALL_MARGIN)).abs() < 1e-12 && (up.x - 2.5).abs() < 1e-12);
        let p = room.source_position(60.0, -50.0);
        let (az, el, d) = cartesian_to_polar(p - room.listener_vec());
        assert!((az - 60.0).abs() < 1e-9 && (el + 50.0).abs() < 1e-9);
        assert!(d < 1.5 && (p.z - WALL_MARGIN).abs() < 1e-12, "{p:?}");
        // A frontal source fits: at the full distance.
        assert!((room.source_position(0.0, 0.0).y - 5.1).abs() < 1e-12);
    }

    #[test]
    fn each_band_of_the_tail_decays_with_its_rt60() {
        let fs = 48000.0;
        for room in [mid(), far()] {
            let tail = room.late_tail(fs as u32);
            let from = (room.fade_window().1 * fs) as usize;
            for (b, rt) in room.rt60().iter().enumerate() {
                let fits: Vec<f64> = tail
                    .iter()
                    .map(|ear| fitted_rt60(&octave(ear, BAND_CENTRES[b], fs), from, fs))
                    .collect();
                for t in fits {
                    assert!(
                        (t / rt - 1.0).abs() < 0.15,
                        "band {b}: fitted {t}, rt60 {rt}"
                    );
                }
            }
        }
    }

    /// A 4th-order Butterworth high-pass (two identical RBJ sections, Q = 1/sqrt 2).
    fn high_pass(x: &[f32], corner: f64, fs: f64) -> Vec<f64> {
        let w0 = 2.0 * PI * corner / fs;
        let (alpha, cw) = (w0.sin() / 2f64.sqrt(), w0.cos());
        let a0 = 1.0 + alpha;
        let b = [
            (1.0 + cw) / 2.0 / a0,
            -(1.0 + cw) / a0,
            (1.0 + cw) / 2.0 / a0,
        ];
        let a = [-2.0 * cw / a0, (1.0 - alpha) / a0];
        let (mut f1, mut f2) = (Biquad::new(b, a), Biquad::new(b, a));
        x.iter()
            .map(|v| f2.process(f1.process(*v as f64)))
            .collect()
    }

    #[test]
    fn the_ears_tails_are_decorrelated_above_500_hz_and_coherent_at_125() {
        let fs = 48000.0;
        for room in [mid(), far()] {
            let [l, r] = room.late_tail(fs as u32);
            let above = iacc(&high_pass(&l, 500.0, fs), &high_pass(&r, 500.0, fs), fs);
            assert!(above < 0.15, "above 500 Hz: {above}");
            for centre in [500.0, 1000.0, 2000.0, 4000.0, 8000.0] {
                let c = iacc(&octave(&l, centre, fs), &octave(&r, centre, fs), fs);
                assert!(c < 0.25, "{centre} Hz: {c}");
            }
            let low = iacc(&octave(&l, 125.0, fs), &octave(&r, 125.0, fs), fs);
            assert!(low > 0.7, "125 Hz: {low}");
        }
        // The target itself: full below 150 Hz, none from 450 Hz.
        assert_eq!(coherence(100.0), LOW_COHERENCE);
        assert_eq!(coherence(450.0), 0.0);
        assert!(coherence(250.0) > 0.3 && coherence(250.0) < LOW_COHERENCE);
    }

    #[test]
    fn with_drr_db_sets_the_measured_ratio() {
        for room in [mid(), far()] {
            for db in [-6.0, 0.0, 3.0, 10.0, 20.0] {
                let r = room.clone().with_drr_db(db);
                assert!((r.drr_db() - db).abs() < 0.1, "{db}: {}", r.drr_db());
            }
            assert_eq!(room.clone().with_drr_db(f64::NAN), room);
            let loud = room.clone().with_drr_db(-100.0).drr_db();
            assert!((loud - MIN_DRR_DB).abs() < 0.1);
        }
    }

    #[test]
    fn drr_db_counts_the_listed_reflections_and_the_tail_at_any_rate() {
        let room = far();
        let early: f64 = room
            .early_reflections(0.0, 0.0)
            .iter()
            .map(|r| r.gain * r.gain)
            .sum();
        let energies: Vec<f64> = [44100, 48000, 96000]
            .iter()
            .map(|fs| {
                let [l, r] = room.late_tail(*fs);
                (energy(&l) + energy(&r)) / 2.0
            })
            .collect();
        let drr = -10.0 * (early + energies[1]).log10();
        assert!((room.drr_db() - drr).abs() < 1e-6);
        for e in &energies {
            assert!((e / energies[1] - 1.0).abs() < 1e-4, "{energies:?}");
        }
        // The tail carries a real share of the room.
        assert!(energies[1] > 0.3 * early, "{early} {energies:?}");
    }

    #[test]
    fn the_tail_fades_in_after_the_first_reflection_and_ends_near_minus_60_db() {
        let fs = 48000.0;
        for room in [mid(), far()] {
            let (start, end) = room.fade_window();
            let first = room.early_reflections(0.0, 0.0)[0].delay;
            assert_eq!(start, first);
            let tail = room.late_tail(fs as u32);
            let longest = room.rt60().iter().fold(0.0, |m: f64, t| m.max(*t));
            for ear in &tail {
                assert_eq!(ear.len(), (longest * fs).ceil() as usize);
                assert!(ear[..(start * fs) as usize].iter().all(|v| *v == 0.0));
                // No click: the first millisecond after the start is tiny against the peak.
                let peak = ear.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                let onset = &ear[(start * fs) as usize..((start + 0.001) * fs) as usize];
                assert!(onset.iter().all(|v| v.abs() < 0.05 * peak));
                let rms = |x: &[f32]| (energy(x) / x.len() as f64).sqrt();
                let after = rms(&ear[(end * fs) as usize..((end + 0.01) * fs) as usize]);
                let n = ear.len();
                let last = rms(&ear[n - (0.02 * fs) as usize..n - (0.01 * fs) as usize]);
                assert!(20.0 * (last / after).log10() < -40.0, "{last} {after}");
                assert!(ear[n - 1].abs() < 1e-3 * peak);
                assert!(n as f64 <= MAX_TAIL_SECONDS * fs);
            }
            assert_eq!(room.tail_length(48000), tail[0].len());
        }
    }

    #[test]
    fn everything_is_deterministic() {
        let room = far();
        assert_eq!(
            room.early_reflections(37.0, 12.0),
            room.early_reflections(37.0, 12.0)
        );
        let (a, b) = (room.late_tail(48000), room.late_tail(48000));
        assert!(a[0] == b[0] && a[1] == b[1]);
        assert_ne!(a[0], a[1]);
        assert_eq!(room.drr_db(), room.drr_db());
    }

    #[test]
    fn validate_names_what_is_wrong() {
        let mut r = mid();
        r.listener[2] = 0.1;
        let e = r.validate().unwrap_err().to_string();
        assert!(e.contains("listener") && e.contains("z"), "{e}");
        let mut r = mid();
        r.absorption[3] = 1.0;
        assert!(r.validate().unwrap_err().to_string().contains("absorption"));
        let mut r = mid();
        r.dimensions[0] = f64::NAN;
        assert!(r.validate().is_err());
    }
}
