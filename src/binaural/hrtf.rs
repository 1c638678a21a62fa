//! Head-related impulse responses: loading SOFA files, the built-in default set, and the
//! choice of a measurement for each wanted direction.
//!
//! * **SOFA** (AES69) files of the `SimpleFreeFieldHRIR` convention are read with the pure-Rust
//!   `sofar` crate. mixstage checks the convention itself (`Conventions = SOFA`,
//!   `SOFAConventions = SimpleFreeFieldHRIR`, `DataType = FIR`, two receivers, one emitter,
//!   consistent array sizes, a positive sampling rate, finite samples) and reports any failure
//!   with the file's name and what was expected.
//! * **Coordinates**: SOFA source positions (spherical: azimuth counter-clockwise from the front,
//!   i.e. positive to the left; or Cartesian: x front, y left, z up) are converted to mixstage's
//!   ADM convention (azimuth positive to the left), which has the same sense. The ear of each
//!   receiver is taken from `ReceiverPosition` (positive y is the left ear); when that is absent
//!   or ambiguous, receiver 0 is the left ear, as in every published SOFA set.
//! * **Sample rate**: when the file's rate differs from the mix's, the HRIRs are resampled with
//!   rubato's synchronous FFT resampler (band-limited) and scaled by `old_rate / new_rate`, so
//!   that each filter keeps its frequency response (gain) rather than its sample values.
//!   `Data.Delay` (if non-zero) is rounded to whole samples at the mix rate and prepended.
//! * **Direction choice**: [`Hrtf::nearest`] picks the measurement with the smallest great-circle
//!   distance to the wanted direction, with a mirror-symmetric rule for ties (no interpolation between measurements: a measured
//!   response keeps its exact interaural time and level differences and pinna notches, while
//!   averaging neighbouring responses whose onsets differ by a few samples would comb-filter the
//!   high frequencies). The angular error is reported per speaker; with the built-in MIT KEMAR set
//!   (5 degree steps at ear level, 10 degree elevation rings) it is at most about 5 degrees.
//! * **Equalisation**: sets loaded from SOFA or built in are diffuse-field equalised by
//!   [`Hrtf::pairs`] (module `dfe`); [`Hrtf::with_diffuse_field_eq`] switches it off.
//! * **Built-in default**: the MIT KEMAR measurements (Gardner & Martin, MIT Media Lab, 1994),
//!   "normal pinna" set as distributed by libmysofa, embedded in the binary in a compact lossless
//!   form (16-bit, as measured); see `data/hrtf/README.md` for the source and licence.

use std::path::Path;

use crate::error::{Error, Result};
use crate::geometry::{self, Vec3};

/// The MIT KEMAR "normal pinna" set (710 directions, 512 taps at 44.1 kHz) in the compact,
/// lossless form written by `tools/make_builtin_hrtf.py` from
/// `data/hrtf/MIT_KEMAR_normal_pinna.sofa` (parsing the SOFA file itself takes about 0.2 s).
const BUILTIN_HRIRS: &[u8] = include_bytes!("../../data/hrtf/mit_kemar.bin");

/// How the built-in set is named in messages.
pub const BUILTIN_NAME: &str = "built-in MIT KEMAR (normal pinna)";

/// Largest accepted HRIR length in samples (guards against hostile files): 1 s at 96 kHz.
pub const MAX_HRIR_LEN: usize = 96_000;
/// Measurements whose distance to a wanted direction differs by less than this (degrees) count
/// as equally near (SOFA files store positions in single precision).
pub const TIE_DEG: f64 = 1e-3;
/// Largest accepted number of measurements.
pub const MAX_MEASUREMENTS: usize = 100_000;

/// A (left ear, right ear) pair of impulse responses.
pub type HrirPair = (Vec<f32>, Vec<f32>);

/// One measured direction and its pair of impulse responses.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Azimuth in degrees, positive to the left (ADM), in (-180, 180].
    pub azimuth: f64,
    /// Elevation in degrees, positive up.
    pub elevation: f64,
    /// Impulse response at the left ear.
    pub left: Vec<f32>,
    /// Impulse response at the right ear.
    pub right: Vec<f32>,
}

impl Measurement {
    /// Unit vector of the measured direction (x right, y front, z up).
    pub fn direction(&self) -> Vec3 {
        geometry::direction(self.azimuth, self.elevation)
    }
}

/// The measurement chosen for a wanted direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Selection {
    /// Index of the measurement in [`Hrtf::measurements`].
    pub index: usize,
    /// Great-circle distance in degrees between the wanted and the measured direction.
    pub error_deg: f64,
}

/// A set of head-related impulse responses at one sample rate.
#[derive(Debug, Clone)]
///
/// The measurements are kept at the rate they were measured at ([`Hrtf::native_rate`]); the
/// responses at the mix rate ([`Hrtf::sample_rate`]) are made on demand by [`Hrtf::pairs`] for
/// the few measurements a renderer uses (resampling all 710 KEMAR pairs would cost more time
/// and memory than rendering a minute of 7.1.4).
pub struct Hrtf {
    origin: String,
    sample_rate: u32,
    native_rate: u32,
    len: usize,
    measurements: Vec<Measurement>,
    directions: Vec<Vec3>,
    diffuse_field_eq: bool,
}

impl Hrtf {
    /// The SOFA file at `path` when given, else the built-in set, for a mix at `sample_rate`.
    pub fn load(path: Option<&Path>, sample_rate: u32) -> Result<Hrtf> {
        match path {
            Some(p) => Hrtf::from_sofa(p, sample_rate),
            None => Hrtf::builtin(sample_rate),
        }
    }

    /// The built-in MIT KEMAR set for a mix at `sample_rate` (responses resampled from 44.1 kHz
    /// when taken), diffuse-field equalised.
    pub fn builtin(sample_rate: u32) -> Result<Hrtf> {
        check_rate(sample_rate)?;
        let bad = |m: String| Error::malformed(BUILTIN_NAME, m);
        let (rate, measurements) = parse_builtin(BUILTIN_HRIRS).map_err(bad)?;
        Ok(Hrtf::from_measurements(BUILTIN_NAME, rate, measurements)
            .with_diffuse_field_eq(true)
            .at_rate(sample_rate))
    }

    /// Loads a SOFA file (SimpleFreeFieldHRIR) for a mix at `sample_rate` (responses resampled
    /// when taken), diffuse-field equalised.
    pub fn from_sofa(path: &Path, sample_rate: u32) -> Result<Hrtf> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        Hrtf::from_sofa_bytes(&bytes, &path.display().to_string(), sample_rate)
    }

    /// Parses SOFA bytes; `origin` names the data in error messages.
    pub fn from_sofa_bytes(bytes: &[u8], origin: &str, sample_rate: u32) -> Result<Hrtf> {
        check_rate(sample_rate)?;
        let bad = |m: String| Error::malformed(origin, m);
        if bytes.len() < 8 || &bytes[..8] != b"\x89HDF\r\n\x1a\n" {
            return Err(bad(
                "not a SOFA file: expected an HDF5/netCDF-4 file (signature \\x89HDF)".into(),
            ));
        }
        let file_rate = peek_sampling_rate(bytes).map_err(&bad)?;
        if file_rate.fract() != 0.0 {
            return Err(bad(format!(
                "Data.SamplingRate is {file_rate} Hz; only whole-hertz rates are supported"
            )));
        }
        // Loaded at the file's own rate (sofar does not resample then); see `resample_set`.
        let sofa = parse_guarded(bytes, file_rate as f32).map_err(&bad)?;
        let h = sofa.hrtf();
        check_convention(
            h.get_attribute("SOFAConventions"),
            h.get_attribute("DataType"),
        )
        .map_err(&bad)?;
        let dims = h.dimensions();
        let (m, r, n, e) = (
            dims.m as usize,
            dims.r as usize,
            dims.n as usize,
            dims.e as usize,
        );
        check_dimensions(m, r, n, e).map_err(&bad)?;
        let ir = &h.data_ir.values;
        if ir.len() != m * r * n {
            return Err(bad(format!(
                "Data.IR holds {} values but M x R x N = {m} x {r} x {n} = {} (truncated or inconsistent file)",
                ir.len(),
                m * r * n
            )));
        }
        if let Some(i) = ir.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!(
                "Data.IR value {i} (measurement {}) is not a finite number",
                i / (r * n)
            )));
        }
        let pos = &h.source_position.values;
        if pos.len() != m * 3 {
            return Err(bad(format!(
                "SourcePosition holds {} values, expected M x C = {m} x 3 = {}",
                pos.len(),
                m * 3
            )));
        }
        let left_first = receiver_order(&h.receiver_position.values);
        let delays = &h.data_delay.values;
        if !(delays.is_empty() || delays.len() == r || delays.len() == m * r) {
            return Err(bad(format!(
                "Data.Delay holds {} values, expected I x R = {r} or M x R = {}",
                delays.len(),
                m * r
            )));
        }
        let delay_of = |mi: usize, ear: usize| -> f32 {
            match delays.len() {
                0 => 0.0,
                l if l == r => delays[ear],
                _ => delays[mi * r + ear],
            }
        };
        let max_delay = MAX_HRIR_LEN as f32;
        if let Some(d) = delays
            .iter()
            .find(|d| !d.is_finite() || **d < 0.0 || **d > max_delay)
        {
            return Err(bad(format!(
                "Data.Delay value {d} is not a delay of 0 to {MAX_HRIR_LEN} samples"
            )));
        }
        let max_shift = delays.iter().fold(0f32, |a, &d| a.max(d)).round() as usize;
        let len = n + max_shift;
        let mut measurements = Vec::with_capacity(m);
        for mi in 0..m {
            let p = Vec3::new(
                -(pos[3 * mi + 1] as f64),
                pos[3 * mi] as f64,
                pos[3 * mi + 2] as f64,
            );
            if p.norm() <= 0.0 || !p.iter().all(|v| v.is_finite()) {
                return Err(bad(format!(
                    "SourcePosition of measurement {mi} is not a direction ({:?})",
                    &pos[3 * mi..3 * mi + 3]
                )));
            }
            let (azimuth, elevation, _) = geometry::cartesian_to_polar(p);
            let (le, re) = if left_first { (0, 1) } else { (1, 0) };
            let take = |ear: usize| -> Vec<f32> {
                let shift = delay_of(mi, ear).round() as usize;
                let start = (mi * r + ear) * n;
                let mut v = vec![0f32; len];
                v[shift..shift + n].copy_from_slice(&ir[start..start + n]);
                v
            };
            measurements.push(Measurement {
                azimuth,
                elevation,
                left: take(le),
                right: take(re),
            });
        }
        if measurements
            .iter()
            .all(|mm| mm.left.iter().chain(&mm.right).all(|&v| v == 0.0))
        {
            return Err(bad("Data.IR is all zeros".into()));
        }
        Ok(
            Hrtf::from_measurements(origin, file_rate as u32, measurements)
                .with_diffuse_field_eq(true)
                .at_rate(sample_rate),
        )
    }

    /// Builds a set from measurements made at `sample_rate` (e.g. a synthetic set in tests),
    /// for use at that rate (see [`Hrtf::at_rate`]). Every response is zero-padded to the
    /// longest one.
    pub fn from_measurements(
        origin: &str,
        sample_rate: u32,
        mut measurements: Vec<Measurement>,
    ) -> Hrtf {
        let len = measurements
            .iter()
            .map(|m| m.left.len().max(m.right.len()))
            .max()
            .unwrap_or(0)
            .max(1);
        for m in &mut measurements {
            m.left.resize(len, 0.0);
            m.right.resize(len, 0.0);
        }
        let directions = measurements.iter().map(Measurement::direction).collect();
        Hrtf {
            origin: origin.to_string(),
            sample_rate,
            native_rate: sample_rate,
            len,
            measurements,
            directions,
            diffuse_field_eq: false,
        }
    }

    /// Switches the diffuse-field equalisation (see the module `dfe`) on or off. Sets loaded
    /// with [`Hrtf::builtin`] and [`Hrtf::from_sofa`] have it on; [`Hrtf::from_measurements`]
    /// off. [`Hrtf::measurements`] are always as measured; [`Hrtf::pairs`] applies it.
    pub fn with_diffuse_field_eq(mut self, on: bool) -> Hrtf {
        self.diffuse_field_eq = on;
        let rate = self.sample_rate;
        self.at_rate(rate)
    }

    /// True when [`Hrtf::pairs`] applies the diffuse-field equalisation.
    pub fn diffuse_field_eq(&self) -> bool {
        self.diffuse_field_eq
    }

    /// Length of the diffuse-field filter at the native rate (taps).
    fn dfe_taps(&self) -> usize {
        self.measurements.first().map(|m| m.left.len()).unwrap_or(1)
    }

    /// The same set for use at another mix rate (the responses are resampled when taken).
    pub fn at_rate(mut self, sample_rate: u32) -> Hrtf {
        let mut native_len = self.measurements.first().map(|m| m.left.len()).unwrap_or(1);
        if self.diffuse_field_eq {
            native_len += self.dfe_taps() - 1;
        }
        self.sample_rate = sample_rate;
        self.len = resampled_len(native_len, self.native_rate, sample_rate);
        self
    }

    /// Where the set came from (a file path or the built-in name).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The mix rate the responses are delivered at by [`Hrtf::pairs`].
    pub fn sample_rate(&self) -> u32 {
        self.sample_rate
    }

    /// The rate the set was measured at (that of [`Hrtf::measurements`]).
    pub fn native_rate(&self) -> u32 {
        self.native_rate
    }

    /// Length in samples of every response at the mix rate.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the set has no measurements (never the case for a loaded set).
    pub fn is_empty(&self) -> bool {
        self.measurements.is_empty()
    }

    /// All measurements, at the native rate.
    pub fn measurements(&self) -> &[Measurement] {
        &self.measurements
    }

    /// The (left, right) responses of the measurements `indices`, at the mix rate
    /// ([`Hrtf::len`] samples each): resampled in one pass when the rates differ.
    pub fn pairs(&self, indices: &[usize]) -> Result<Vec<HrirPair>> {
        if let Some(i) = indices.iter().find(|&&i| i >= self.measurements.len()) {
            return Err(Error::Invalid(format!(
                "measurement {i} of {} in {}",
                self.measurements.len(),
                self.origin
            )));
        }
        let equalised: Vec<Measurement>;
        let chosen: Vec<&Measurement> = if self.diffuse_field_eq {
            let eq = super::dfe::diffuse_field_filter(
                &self.measurements,
                self.native_rate,
                self.dfe_taps(),
            );
            equalised = indices
                .iter()
                .map(|&i| {
                    let m = &self.measurements[i];
                    Measurement {
                        azimuth: m.azimuth,
                        elevation: m.elevation,
                        left: super::dfe::convolve(&m.left, &eq),
                        right: super::dfe::convolve(&m.right, &eq),
                    }
                })
                .collect();
            equalised.iter().collect()
        } else {
            indices.iter().map(|&i| &self.measurements[i]).collect()
        };
        let mut pairs = resample_set(&chosen, self.native_rate, self.sample_rate)
            .map_err(|m| Error::malformed(self.origin.clone(), m))?;
        for (l, r) in &mut pairs {
            l.resize(self.len, 0.0);
            r.resize(self.len, 0.0);
        }
        Ok(pairs)
    }

    /// The (left, right) responses at the mix rate chosen for a direction (see [`Hrtf::nearest`]).
    pub fn hrir(&self, az: f64, el: f64) -> Result<HrirPair> {
        let mut p = self.pairs(&[self.nearest(az, el).index])?;
        Ok(p.remove(0))
    }

    /// The measurement nearest (great-circle distance) to the direction `az`, `el` (degrees,
    /// ADM convention). Measurements within [`TIE_DEG`] of the nearest count as equally near;
    /// among them the one nearest the front (smallest |azimuth|), then nearest ear level, then on
    /// the left, is chosen: a left-right symmetric layout on a symmetric grid gets mirror-image
    /// choices (e.g. a speaker at +-45 degrees between measurements at 42 and 48 degrees gets
    /// +-42 on both sides).
    pub fn nearest(&self, az: f64, el: f64) -> Selection {
        let want = geometry::direction(az, el);
        let angle = |d: &Vec3| d.cross(&want).norm().atan2(d.dot(&want)).to_degrees();
        let best = self
            .directions
            .iter()
            .map(angle)
            .fold(f64::INFINITY, f64::min);
        let key = |m: &Measurement| {
            (
                geometry::wrap_azimuth(m.azimuth).abs(),
                m.elevation.abs(),
                m.azimuth < 0.0,
            )
        };
        let mut chosen: Option<usize> = None;
        for (i, d) in self.directions.iter().enumerate() {
            if angle(d) > best + TIE_DEG {
                continue;
            }
            chosen = match chosen {
                Some(c) if key(&self.measurements[c]) <= key(&self.measurements[i]) => Some(c),
                _ => Some(i),
            };
        }
        let index = chosen.unwrap_or(0);
        Selection {
            index,
            error_deg: angle(&self.directions[index]),
        }
    }
}

fn check_rate(sample_rate: u32) -> Result<()> {
    if !(1..=1_536_000).contains(&sample_rate) {
        return Err(Error::Invalid(format!(
            "cannot build HRIRs for a sample rate of {sample_rate} Hz (expected 1 to 1536000)"
        )));
    }
    Ok(())
}

/// Parses the embedded set (format in `tools/make_builtin_hrtf.py`): (rate, measurements).
fn parse_builtin(b: &[u8]) -> std::result::Result<(u32, Vec<Measurement>), String> {
    let u32_at = |i: usize| u32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    if b.len() < 20 || &b[..8] != b"MSHRIR1\0" {
        return Err("corrupt embedded HRIR data (bad header)".into());
    }
    let (rate, m, n) = (u32_at(8), u32_at(12) as usize, u32_at(16) as usize);
    let pos_at = 20;
    let ir_at = pos_at + m * 8;
    if b.len() != ir_at + m * 2 * n * 2 || m == 0 || n == 0 {
        return Err("corrupt embedded HRIR data (size)".into());
    }
    let f32_at = |i: usize| f32::from_le_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    let ir = |mi: usize, ear: usize| -> Vec<f32> {
        let start = ir_at + (mi * 2 + ear) * n * 2;
        b[start..start + 2 * n]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0)
            .collect()
    };
    let measurements = (0..m)
        .map(|mi| {
            let (az, el) = (
                f32_at(pos_at + mi * 8) as f64,
                f32_at(pos_at + mi * 8 + 4) as f64,
            );
            let (azimuth, elevation, _) = geometry::cartesian_to_polar(geometry::direction(az, el));
            Measurement {
                azimuth,
                elevation,
                left: ir(mi, 0),
                right: ir(mi, 1),
            }
        })
        .collect();
    Ok((rate, measurements))
}

/// Resamples every response from `from` to `to` Hz with rubato's synchronous FFT resampler
/// (band-limited; all responses in one pass, the resampler's delay trimmed), and scales them by
/// `from / to` so that each filter keeps its frequency response (gain), not its sample values.
fn resample_set(
    measurements: &[&Measurement],
    from: u32,
    to: u32,
) -> std::result::Result<Vec<HrirPair>, String> {
    use rubato::audioadapter::Adapter;
    use rubato::audioadapter_buffers::direct::SequentialSliceOfVecs;
    use rubato::{Fft, FixedSync, Resampler};
    if from == to || measurements.is_empty() {
        return Ok(measurements
            .iter()
            .map(|m| (m.left.clone(), m.right.clone()))
            .collect());
    }
    let n = measurements[0].left.len();
    let chans: Vec<Vec<f64>> = measurements
        .iter()
        .flat_map(|m| [&m.left, &m.right])
        .map(|v| v.iter().map(|x| *x as f64).collect())
        .collect();
    let fail = |e: String| format!("cannot resample the HRIRs from {from} to {to} Hz: {e}");
    let mut rs = Fft::<f64>::new(
        from as usize,
        to as usize,
        1024,
        chans.len(),
        FixedSync::Input,
    )
    .map_err(|e| fail(e.to_string()))?;
    let input =
        SequentialSliceOfVecs::new(&chans, chans.len(), n).map_err(|e| fail(e.to_string()))?;
    let out = rs
        .process_all(&input, n, None)
        .map_err(|e| fail(e.to_string()))?;
    let frames = out.frames();
    let scale = from as f64 / to as f64;
    let take = |ch: usize| -> Vec<f32> {
        (0..frames)
            .map(|f| (out.read_sample(ch, f).unwrap_or(0.0) * scale) as f32)
            .collect()
    };
    Ok((0..measurements.len())
        .map(|i| (take(2 * i), take(2 * i + 1)))
        .collect())
}

/// Length of a response of `n` samples resampled from `from` to `to` Hz.
fn resampled_len(n: usize, from: u32, to: u32) -> usize {
    if from == to {
        n
    } else {
        (n as u64 * to as u64).div_ceil(from as u64) as usize
    }
}

/// Checks the SOFA convention attributes.
fn check_convention(
    conventions: Option<&str>,
    data_type: Option<&str>,
) -> std::result::Result<(), String> {
    match conventions {
        Some("SimpleFreeFieldHRIR") => {}
        Some(other) => {
            return Err(format!(
                "SOFAConventions is '{other}', expected 'SimpleFreeFieldHRIR' (head-related impulse responses)"
            ))
        }
        None => return Err("no SOFAConventions attribute, expected 'SimpleFreeFieldHRIR'".into()),
    }
    match data_type {
        Some("FIR") => Ok(()),
        Some(other) => Err(format!("DataType is '{other}', expected 'FIR'")),
        None => Err("no DataType attribute, expected 'FIR'".into()),
    }
}

/// Checks the SOFA dimensions M (measurements), R (receivers), N (taps), E (emitters).
fn check_dimensions(m: usize, r: usize, n: usize, e: usize) -> std::result::Result<(), String> {
    if r != 2 {
        return Err(format!("{r} receivers (dimension R), expected 2 ears"));
    }
    if e != 1 {
        return Err(format!("{e} emitters (dimension E), expected 1"));
    }
    if m == 0 || m > MAX_MEASUREMENTS {
        return Err(format!(
            "{m} measurements (dimension M), expected 1 to {MAX_MEASUREMENTS}"
        ));
    }
    if n == 0 || n > MAX_HRIR_LEN {
        return Err(format!(
            "impulse responses of {n} samples (dimension N), expected 1 to {MAX_HRIR_LEN}"
        ));
    }
    Ok(())
}

/// True when receiver 0 is the left ear: from `ReceiverPosition` (Cartesian after loading,
/// y positive to the left); receiver 0 when that is missing or both ears have the same y.
fn receiver_order(receivers: &[f32]) -> bool {
    if receivers.len() >= 6 {
        let (y0, y1) = (receivers[1], receivers[4]);
        if y0.is_finite() && y1.is_finite() && y0 < y1 {
            return false;
        }
    }
    true
}

/// Reads `Data.SamplingRate` before the full load (so resampling happens only when needed and a
/// missing rate is an error rather than a silent default).
fn peek_sampling_rate(bytes: &[u8]) -> std::result::Result<f64, String> {
    let parsed = guard(|| {
        sofar::hdf::parse_with_children(bytes).map_err(|_| {
            format!(
                "not a readable SOFA file: the HDF5 structure is truncated or malformed ({} bytes)",
                bytes.len()
            )
        })
    })?;
    let obj = match parsed.get_child("Data.SamplingRate") {
        Some(Ok(o)) => o,
        Some(Err(e)) => {
            return Err(format!(
            "cannot read Data.SamplingRate: the file is truncated or malformed ({} bytes, {e:?})",
            bytes.len()
        ))
        }
        None => return Err("no Data.SamplingRate variable".into()),
    };
    let size = obj.dt.size as usize;
    let class = obj.dt.class_and_version & 0x0F;
    let rate = match (class, size, obj.data.len()) {
        (1, 8, l) if l >= 8 => f64::from_le_bytes(obj.data[..8].try_into().expect("8 bytes")),
        (1, 4, l) if l >= 4 => {
            f32::from_le_bytes(obj.data[..4].try_into().expect("4 bytes")) as f64
        }
        (0, 4, l) if l >= 4 => {
            u32::from_le_bytes(obj.data[..4].try_into().expect("4 bytes")) as f64
        }
        (0, 8, l) if l >= 8 => {
            u64::from_le_bytes(obj.data[..8].try_into().expect("8 bytes")) as f64
        }
        _ => {
            return Err(format!(
            "Data.SamplingRate has an unsupported type (class {class}, {size} bytes) or no value"
        ))
        }
    };
    if !(rate.is_finite() && (1.0..=1_536_000.0).contains(&rate)) {
        return Err(format!(
            "Data.SamplingRate is {rate} Hz, expected 1 to 1536000"
        ));
    }
    Ok(rate)
}

/// Loads the file with sofar at its own `rate` (so sofar does not resample), without its
/// loudness normalisation (mixstage normalises per renderer, see the module `binaural`).
fn parse_guarded(bytes: &[u8], rate: f32) -> std::result::Result<sofar::reader::Sofar, String> {
    guard(|| {
        // mixstage does its own direction choice, so sofar's neighbourhood (built for its
        // interpolation) is made as cheap as possible: one search step per direction.
        sofar::reader::OpenOptions::new()
            .sample_rate(rate)
            .normalized(false)
            .neighbor_angle_step(90.0)
            .neighbor_radius_step(100.0)
            .open_data(bytes)
            .map_err(|e| match e {
                sofar::reader::Error::InvalidFormat | sofar::reader::Error::Parse(_) => {
                    format!("not a valid SOFA file: {e} (truncated or malformed?)")
                }
                other => format!("cannot load the SOFA data: {other}"),
            })
    })
}

/// Runs a parser on untrusted bytes, turning a panic inside it into an error message.
fn guard<T>(f: impl FnOnce() -> std::result::Result<T, String>) -> std::result::Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => Err("the SOFA/HDF5 parser failed on this file (truncated or malformed)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_has_the_kemar_grid_and_left_is_positive_azimuth() {
        let h = Hrtf::builtin(44100).unwrap();
        assert_eq!(h.measurements().len(), 710);
        assert!(h.diffuse_field_eq());
        assert_eq!(h.len(), 512 + 511);
        let h = h.with_diffuse_field_eq(false);
        assert_eq!(h.len(), 512);
        let s = h.nearest(90.0, 0.0);
        assert!(s.error_deg < 1e-3);
        let m = &h.measurements()[s.index];
        let e = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>();
        assert!(e(&m.left) > 10.0 * e(&m.right));
    }

    #[test]
    fn nearest_reports_the_angular_error() {
        let h = Hrtf::builtin(44100).unwrap();
        // At ear level the grid has 5 degree steps: 2.5 degrees is the worst case.
        let s = h.nearest(2.5, 0.0);
        assert!((s.error_deg - 2.5).abs() < 1e-6, "{s:?}");
        // The file stores positions in single precision.
        let s = h.nearest(0.0, 90.0);
        assert!(s.error_deg < 1e-4, "{s:?}");
    }

    #[test]
    fn ties_are_broken_mirror_symmetrically() {
        let h = Hrtf::builtin(44100).unwrap();
        for (az, el) in [(45.0, 30.0), (135.0, 30.0), (2.5, 0.0), (92.5, 0.0)] {
            let a = &h.measurements()[h.nearest(az, el).index];
            let b = &h.measurements()[h.nearest(-az, el).index];
            assert!(
                (a.azimuth + b.azimuth).abs() < 1e-3,
                "{az}: {} vs {}",
                a.azimuth,
                b.azimuth
            );
            assert!((a.elevation - b.elevation).abs() < 1e-3);
        }
        let m = &h.measurements()[h.nearest(45.0, 30.0).index];
        assert!((m.azimuth - 42.0).abs() < 1e-3, "{}", m.azimuth);
    }

    #[test]
    fn receiver_order_follows_receiver_position() {
        assert!(receiver_order(&[0.0, 0.09, 0.0, 0.0, -0.09, 0.0]));
        assert!(!receiver_order(&[0.0, -0.09, 0.0, 0.0, 0.09, 0.0]));
        assert!(receiver_order(&[]));
    }

    #[test]
    fn convention_checks_name_what_was_expected() {
        assert!(check_convention(Some("SimpleFreeFieldHRIR"), Some("FIR")).is_ok());
        let e = check_convention(Some("GeneralFIR"), Some("FIR")).unwrap_err();
        assert!(e.contains("GeneralFIR") && e.contains("SimpleFreeFieldHRIR"));
        assert!(check_convention(Some("SimpleFreeFieldHRIR"), Some("TF")).is_err());
        assert!(check_dimensions(10, 3, 256, 1)
            .unwrap_err()
            .contains("2 ears"));
    }
}
