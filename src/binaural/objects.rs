//! Objects on headphones from their own directions, through interpolated HRTFs.
//!
//! The cost is bounded however many objects there are, the way the EBU's BEAR renderer bounds
//! it: the convolutions run once per *measured direction and ear* (a bus), never per object.
//!
//! 1. Each object's signal goes through two **fractional delay lines**, one per ear, whose delays
//!    are the onsets interpolated at its direction ([`Interpolated::at`]); they change sample by
//!    sample (linearly between control points), so a moving source's interaural delay glides
//!    without steps. The delay lines are 16-tap Kaiser-windowed sincs (256 fractional phases).
//! 2. The delayed signals are added to the buses of the three measured directions around the
//!    object, at the interpolation weights times the ear's energy compensation, ramped linearly
//!    between control points. When a moving source enters another triangle, the old corners
//!    fade out and the new ones in over the same ramp: a crossfade, so nothing clicks.
//! 3. Each bus is convolved with its measurement's **aligned** response (onset removed): the
//!    responses summed at one ear all start together, so neighbours blend without comb filtering.
//!    Uniformly partitioned FFT convolution, only for buses that have signal (or a tail still
//!    ringing); the ear spectra are summed in bus order, so the result is bit-identical for any
//!    number of threads.
//!
//! Per object the work is the two delay lines and six ramps per sample; per bus one FFT and a
//! multiply per block. 128 objects use at most 384 of the buses at a time.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::interp::{Interpolated, Pan, MIN_DELAY};
use crate::error::{Error, Result};
use crate::geometry::Vec3;

/// Taps of the fractional delay lines.
pub const TAPS: usize = 16;
/// Fractional phases of the delay-line kernel table.
const PHASES: usize = 256;
/// Kaiser window parameter of the kernel.
const KAISER_BETA: f64 = 6.0;

/// One point source's block, as the scene renderer hands it over.
#[derive(Debug, Clone, Copy)]
pub struct PointBlock<'a> {
    /// A stable identity (the same object in every block), for its delay-line state.
    pub id: usize,
    /// The block's samples (after EQ, before gain).
    pub signal: &'a [f32],
    /// Control points: frame offsets `0 ..= n` of the block.
    pub bounds: &'a [usize],
    /// At each control point: the direction (any length but zero; ADM axes, in the room) and
    /// the linear amplitude.
    pub points: &'a [(Vec3, f64)],
}

/// The table of Kaiser-windowed sinc kernels ([`crate::qc::truepeak::kaiser_sinc_taps`]):
/// `PHASES + 1` rows of [`TAPS`] taps; row `p` reads `p / PHASES` of a sample past an input
/// sample `m`, tap `j` weighting `x[m - TAPS/2 + 1 + j]` (see [`DelayKernel::read`]).
struct DelayKernel {
    rows: Vec<[f32; TAPS]>,
}

impl DelayKernel {
    fn new() -> DelayKernel {
        let rows = (0..=PHASES)
            .map(|p| {
                let taps = crate::qc::truepeak::kaiser_sinc_taps(
                    p as f64 / PHASES as f64,
                    TAPS / 2,
                    KAISER_BETA,
                );
                let mut out = [0f32; TAPS];
                for (o, t) in out.iter_mut().zip(taps) {
                    *o = t as f32;
                }
                out
            })
            .collect();
        DelayKernel { rows }
    }

    /// The signal `x` read `delay` samples before position `at` (fractional), with `x[at]` the
    /// current sample. Needs `TAPS/2` samples of history before and none after (delay >=
    /// `TAPS/2`).
    #[inline]
    fn read(&self, x: &[f32], at: usize, delay: f64) -> f32 {
        let pos = at as f64 - delay;
        let base = pos.floor();
        let frac = pos - base;
        let p = (frac * PHASES as f64).round() as usize;
        let row = &self.rows[p];
        let start = base as usize + 1 - TAPS / 2;
        let seg: &[f32; TAPS] = x[start..start + TAPS].try_into().expect("TAPS samples");
        // Eight partial sums (the same order every time, so results are reproducible) let
        // the compiler use vector instructions.
        let mut acc = [0f32; 8];
        for half in 0..TAPS / 8 {
            for (j, a) in acc.iter_mut().enumerate() {
                *a += seg[8 * half + j] * row[8 * half + j];
            }
        }
        ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
    }
}

/// A delay line's state for one object.
struct Voice {
    /// The last `history` samples of the object's signal, then the current block.
    x: Vec<f32>,
    /// Triangle of the last lookup.
    hint: usize,
    /// The pan at the end of the last block (the start of this one).
    last: Option<Pan>,
}

/// One object's contribution to the buses in this block.
struct Contribution {
    /// Ear signals after the delay lines and the amplitude ramp.
    ears: [Vec<f32>; 2],
    /// (bus, from, to, gain at from, gain at to).
    ramps: Vec<(usize, usize, usize, f32, f32)>,
}

/// Per bus (a measured direction at one ear): its filter and convolution state.
struct Bus {
    /// Partition spectra of the aligned response, scaled by 1/(2B).
    filter: Vec<Complex32>,
    /// The input of the current block (zeroed each block).
    input: Vec<f32>,
    /// The last 2B input samples.
    window: Vec<f32>,
    /// Frequency-domain delay line (partitions spectra, newest at `head`).
    fdl: Vec<Complex32>,
    head: usize,
    /// This block's contribution to the ear spectrum.
    out: Vec<Complex32>,
    /// FFT input and scratch buffers.
    time: Vec<f32>,
    scratch: Vec<Complex32>,
    /// Blocks since the bus last had input (`u64::MAX`: never).
    quiet: u64,
    /// Whether `input` received anything this block.
    fed: bool,
}

/// Renders point sources binaurally from their own directions. See the module docs.
pub struct ObjectBinaural {
    ip: Arc<Interpolated>,
    kernel: DelayKernel,
    /// The listener's head orientation: source directions are multiplied by this (the inverse
    /// head rotation) before the HRTF lookup.
    to_head: nalgebra::Rotation3<f64>,
    history: usize,
    block: usize,
    bins: usize,
    parts: usize,
    r2c: Arc<dyn RealToComplex<f32>>,
    c2r: Arc<dyn ComplexToReal<f32>>,
    voices: std::collections::BTreeMap<usize, Voice>,
    /// `2 * measurements` buses: measurement `i` at the left ear is bus `2i`, right `2i + 1`.
    buses: Vec<Option<Box<Bus>>>,
    ear_acc: [Vec<Complex32>; 2],
    ear_time: Vec<f32>,
    c2r_scratch: Vec<Complex32>,
    /// Gain applied to every object (the loudness normalisation of the speaker path).
    gain: f32,
}

impl ObjectBinaural {
    /// A renderer for blocks of at most `block` frames through `ip`, for a listener whose head
    /// is turned by `head` (a rotation from head to room coordinates; identity: facing front),
    /// every object scaled by `gain`.
    pub fn new(
        ip: Arc<Interpolated>,
        block: usize,
        head: nalgebra::Rotation3<f64>,
        gain: f64,
    ) -> Result<ObjectBinaural> {
        if block == 0 {
            return Err(Error::Invalid("block length 0".into()));
        }
        let history = ip.max_delay().ceil() as usize + TAPS + 2;
        let len = ip.aligned_len().max(1);
        let parts = len.div_ceil(block);
        let mut planner = RealFftPlanner::<f32>::new();
        let r2c = planner.plan_fft_forward(2 * block);
        let c2r = planner.plan_fft_inverse(2 * block);
        let bins = block + 1;
        let buses = (0..2 * ip.len()).map(|_| None).collect();
        Ok(ObjectBinaural {
            kernel: DelayKernel::new(),
            to_head: head.inverse(),
            history,
            block,
            bins,
            parts,
            ear_acc: [
                vec![Complex32::default(); bins],
                vec![Complex32::default(); bins],
            ],
            ear_time: vec![0.0; 2 * block],
            c2r_scratch: c2r.make_scratch_vec(),
            r2c,
            c2r,
            voices: Default::default(),
            buses,
            gain: gain as f32,
            ip,
        })
    }

    /// The interpolated set used.
    pub fn interpolated(&self) -> &Interpolated {
        &self.ip
    }

    /// Renders one block of `n` frames: adds the ears of every point source to `left` and
    /// `right` (each at least `n` frames). Every block of the stream must have the block
    /// length given at construction except the last, which may be shorter.
    pub fn process(
        &mut self,
        sources: &[PointBlock<'_>],
        n: usize,
        left: &mut [f32],
        right: &mut [f32],
    ) -> Result<()> {
        if n > self.block || left.len() < n || right.len() < n {
            return Err(Error::Invalid(format!(
                "binaural object block of {n} frames (block length {})",
                self.block
            )));
        }
        for s in sources {
            if s.signal.len() < n
                || s.bounds.len() != s.points.len()
                || s.bounds.len() < 2
                || s.bounds.first() != Some(&0)
                || s.bounds.last() != Some(&n)
            {
                return Err(Error::Invalid(format!(
                    "point source {}: {} samples, {} control points for a block of {n}",
                    s.id,
                    s.signal.len(),
                    s.bounds.len()
                )));
            }
        }
        // Voices: take each source's state out (new ones start silent), in id order.
        let mut work: Vec<(PointBlock<'_>, Voice)> = sources
            .iter()
            .map(|s| {
                let v = self.voices.remove(&s.id).unwrap_or_else(|| Voice {
                    x: vec![0.0; self.history],
                    hint: 0,
                    last: None,
                });
                (*s, v)
            })
            .collect();
        // Voices that did not play this block are dropped (their delay lines were flushed by the
        // silence the renderer sends after an object ends; a returning id starts fresh).
        self.voices.clear();
        let ip = &self.ip;
        let kernel = &self.kernel;
        let to_head = &self.to_head;
        let history = self.history;
        let contributions: Vec<Contribution> = work
            .par_iter_mut()
            .map(|(s, v)| voice_block(ip, kernel, to_head, history, s, v, n))
            .collect();
        for (s, v) in work {
            self.voices.insert(s.id, v);
        }
        // Accumulate into the buses, object by object in the order given.
        for b in self.buses.iter_mut().flatten() {
            b.fed = false;
        }
        for c in &contributions {
            for &(bus, lo, hi, g0, g1) in &c.ramps {
                let slot = self.buses[bus].get_or_insert_with(|| {
                    Box::new(new_bus(
                        self.ip.aligned(bus / 2, bus % 2),
                        self.block,
                        self.parts,
                        self.r2c.as_ref(),
                    ))
                });
                if !slot.fed {
                    slot.input.fill(0.0);
                    slot.fed = true;
                    slot.quiet = 0;
                }
                let ear = &c.ears[bus % 2];
                let len = (hi - lo).max(1) as f32;
                let dg = (g1 - g0) / len;
                for (i, (d, x)) in slot.input[lo..hi].iter_mut().zip(&ear[lo..hi]).enumerate() {
                    *d += x * (g0 + dg * i as f32);
                }
            }
        }
        // Convolve the buses that have signal or a ringing tail.
        let (block, bins, parts) = (self.block, self.bins, self.parts);
        let r2c = self.r2c.as_ref();
        let mut live: Vec<(usize, &mut Box<Bus>)> = self
            .buses
            .iter_mut()
            .enumerate()
            .filter_map(|(i, b)| b.as_mut().map(|b| (i, b)))
            .filter(|(_, b)| b.fed || b.quiet < parts as u64)
            .collect();
        live.par_iter_mut().for_each(|(_, b)| {
            if !b.fed {
                b.input.fill(0.0);
                b.quiet = b.quiet.saturating_add(1);
            }
            bus_block(b, n, block, bins, parts, r2c);
        });
        for (ear, acc) in self.ear_acc.iter_mut().enumerate() {
            acc.fill(Complex32::default());
            for (i, b) in live.iter() {
                if i % 2 == ear {
                    for (a, o) in acc.iter_mut().zip(&b.out) {
                        *a += *o;
                    }
                }
            }
        }
        let rung_out: Vec<usize> = live
            .iter()
            .filter(|(_, b)| !b.fed && b.quiet >= parts as u64)
            .map(|(i, _)| *i)
            .collect();
        drop(live);
        // Fully rung out: freed (its state is all zeros), so memory follows the buses in use
        // rather than every direction a source ever passed.
        for i in rung_out {
            self.buses[i] = None;
        }
        for (ear, out) in [left, right].into_iter().enumerate() {
            let acc = &mut self.ear_acc[ear];
            acc[0].im = 0.0;
            acc[bins - 1].im = 0.0;
            self.c2r
                .process_with_scratch(acc, &mut self.ear_time, &mut self.c2r_scratch)
                .expect("buffer sizes match the FFT plan");
            let g = self.gain;
            for (o, y) in out[..n].iter_mut().zip(&self.ear_time[block..block + n]) {
                *o += g * *y;
            }
        }
        Ok(())
    }
}

/// A bus for aligned response `ir`.
fn new_bus(ir: &[f32], block: usize, parts: usize, r2c: &dyn RealToComplex<f32>) -> Bus {
    let bins = block + 1;
    let filter =
        super::convolver::partition_spectra(ir, block, parts, 1.0 / (2 * block) as f32, r2c);
    let scratch = r2c.make_scratch_vec();
    Bus {
        filter,
        input: vec![0.0; block],
        window: vec![0.0; 2 * block],
        fdl: vec![Complex32::default(); parts * bins],
        head: 0,
        out: vec![Complex32::default(); bins],
        time: vec![0.0; 2 * block],
        scratch,
        quiet: u64::MAX,
        fed: false,
    }
}

/// One block of a bus's overlap-save convolution (the input zero-padded past `n`).
fn bus_block(
    b: &mut Bus,
    n: usize,
    block: usize,
    bins: usize,
    parts: usize,
    r2c: &dyn RealToComplex<f32>,
) {
    b.window.copy_within(block.., 0);
    b.window[block..block + n].copy_from_slice(&b.input[..n]);
    b.window[block + n..].fill(0.0);
    b.time.copy_from_slice(&b.window);
    b.head = (b.head + parts - 1) % parts;
    let slot = &mut b.fdl[b.head * bins..(b.head + 1) * bins];
    r2c.process_with_scratch(&mut b.time, slot, &mut b.scratch)
        .expect("buffer sizes match the FFT plan");
    b.out.fill(Complex32::default());
    for k in 0..parts {
        let age = (b.head + k) % parts;
        let xs = &b.fdl[age * bins..(age + 1) * bins];
        let hs = &b.filter[k * bins..(k + 1) * bins];
        for ((o, x), h) in b.out.iter_mut().zip(xs).zip(hs) {
            *o += x * h;
        }
    }
}

/// One object's block: delay lines, amplitude, and its bus ramps.
fn voice_block(
    ip: &Interpolated,
    kernel: &DelayKernel,
    to_head: &nalgebra::Rotation3<f64>,
    history: usize,
    s: &PointBlock<'_>,
    v: &mut Voice,
    n: usize,
) -> Contribution {
    // Shift the history and append this block.
    let keep = v.x.len() - history;
    v.x.drain(..keep);
    v.x.extend_from_slice(&s.signal[..n]);
    let mut pans: Vec<Pan> = Vec::with_capacity(s.points.len());
    for (k, (d, _)) in s.points.iter().enumerate() {
        let p = if k == 0 {
            v.last.unwrap_or_else(|| ip.at(to_head * d, v.hint))
        } else {
            ip.at(to_head * d, v.hint)
        };
        v.hint = p.location.triangle;
        pans.push(p);
    }
    v.last = pans.last().copied();
    let mut ears = [vec![0f32; n], vec![0f32; n]];
    let mut ramps = Vec::new();
    for k in 0..s.bounds.len() - 1 {
        let (lo, hi) = (s.bounds[k], s.bounds[k + 1]);
        if hi <= lo {
            continue;
        }
        let (p0, p1) = (&pans[k], &pans[k + 1]);
        let (a0, a1) = (s.points[k].1, s.points[k + 1].1);
        let len = (hi - lo) as f64;
        for (ear, out) in ears.iter_mut().enumerate() {
            let (d0, d1) = (p0.delays[ear].max(MIN_DELAY), p1.delays[ear].max(MIN_DELAY));
            for (i, o) in out[lo..hi].iter_mut().enumerate() {
                let t = i as f64 / len;
                let d = d0 + (d1 - d0) * t;
                let a = a0 + (a1 - a0) * t;
                *o = kernel.read(&v.x, history + lo + i, d) * a as f32;
            }
            // The union of both ends' corners, each ramping between its two gains.
            let mut corners: Vec<(usize, f64, f64)> = Vec::with_capacity(6);
            for (end, p) in [p0, p1].into_iter().enumerate() {
                for c in 0..3 {
                    let g = p.gains[ear][c];
                    if g == 0.0 {
                        continue;
                    }
                    let m = p.location.corners[c];
                    match corners.iter_mut().find(|e| e.0 == m) {
                        Some(e) => {
                            if end == 0 {
                                e.1 += g
                            } else {
                                e.2 += g
                            }
                        }
                        None => corners.push(if end == 0 { (m, g, 0.0) } else { (m, 0.0, g) }),
                    }
                }
            }
            for (m, g0, g1) in corners {
                ramps.push((2 * m + ear, lo, hi, g0 as f32, g1 as f32));
            }
        }
    }
    Contribution { ears, ramps }
}

/// The head rotation (head to room coordinates) for a head turned by `yaw` (positive to the
/// left), then tilted by `pitch` (positive up), then rolled by `roll` (positive towards the
/// right shoulder), in degrees.
pub fn head_rotation(yaw: f64, pitch: f64, roll: f64) -> nalgebra::Rotation3<f64> {
    use nalgebra::{Rotation3, Vector3};
    let rz = Rotation3::from_axis_angle(&Vector3::z_axis(), yaw.to_radians());
    let rx = Rotation3::from_axis_angle(&Vector3::x_axis(), pitch.to_radians());
    let ry = Rotation3::from_axis_angle(&Vector3::y_axis(), roll.to_radians());
    rz * rx * ry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::direction;

    #[test]
    fn the_delay_kernel_is_flat_to_16_khz_and_delays_exactly() {
        let k = DelayKernel::new();
        for p in [0, 64, 128, 200] {
            let frac = p as f64 / PHASES as f64;
            let row = &k.rows[p];
            for f in [100.0, 4000.0, 10000.0, 16000.0, 18000.0] {
                let w = 2.0 * std::f64::consts::PI * f / 48000.0;
                let (mut re, mut im) = (0.0, 0.0);
                for (j, h) in row.iter().enumerate() {
                    // Tap j holds x[base + j - (TAPS/2 - 1)]; the output is at base + frac.
                    let lag = frac - (j as f64 - (TAPS / 2) as f64 + 1.0);
                    re += *h as f64 * (w * lag).cos();
                    im -= *h as f64 * (w * lag).sin();
                }
                let mag = 20.0 * (re * re + im * im).sqrt().log10();
                assert!(mag.abs() < 0.5, "phase {p}, {f} Hz: {mag:.2} dB");
            }
        }
    }

    #[test]
    fn head_rotation_follows_the_adm_convention() {
        let front = direction(0.0, 0.0);
        // Head turned 90 degrees left: a front source is heard on the right.
        let d = head_rotation(90.0, 0.0, 0.0).inverse() * front;
        assert!((d - direction(-90.0, 0.0)).norm() < 1e-12, "{d}");
        // Head tilted up 30 degrees: a front source is heard 30 degrees below.
        let d = head_rotation(0.0, 30.0, 0.0).inverse() * front;
        assert!((d - direction(0.0, -30.0)).norm() < 1e-12, "{d}");
        // Head rolled 90 degrees right: a source above is heard on the left.
        let d = head_rotation(0.0, 0.0, 90.0).inverse() * direction(0.0, 90.0);
        assert!((d - direction(90.0, 0.0)).norm() < 1e-12, "{d}");
    }
}
