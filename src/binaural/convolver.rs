//! Uniformly partitioned FFT convolution of many inputs to two outputs (the ears).
//!
//! Overlap-save with a frequency-domain delay line (UPOLS): each impulse response is cut into
//! `K = ceil(len / B)` partitions of the block length `B`, each transformed once to a `2B`-point
//! spectrum. Every block, each input's latest `2B` samples are transformed once, pushed into its
//! delay line of `K` spectra, and multiplied-and-added with the partition spectra of both ears.
//! The per-input ear spectra are then summed over the inputs and transformed back: two inverse
//! FFTs per block whatever the number of inputs. There is no added latency: output block `n`
//! belongs to input block `n`. Memory is fixed at construction.
//!
//! The inputs are processed in parallel (rayon), then the two ears; each input's work is
//! independent and each ear sums the inputs in channel order, so the output is bit-identical for
//! any number of threads.

use std::sync::Arc;

use rayon::prelude::*;
use realfft::num_complex::Complex32;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use crate::error::{Error, Result};

/// Largest accepted block length (frames).
pub const MAX_BLOCK: usize = 1 << 20;

/// State of one input channel.
struct Input {
    /// Partition spectra per ear: `[ear][k * bins + bin]`, scaled by `gain / (2B)`.
    filters: [Vec<Complex32>; 2],
    /// Frequency-domain delay line: `K` spectra, newest at `head`.
    fdl: Vec<Complex32>,
    head: usize,
    /// The last `2B` input samples (previous block, then current block).
    window: Vec<f32>,
    /// FFT input scratch (realfft overwrites its input).
    time: Vec<f32>,
    scratch: Vec<Complex32>,
    /// This block's contribution to each ear's spectrum.
    out: [Vec<Complex32>; 2],
    /// False when both filters are all zero (the input is then skipped).
    active: bool,
}

/// A streaming multi-input, two-output partitioned convolver. See the module documentation.
pub struct Convolver {
    block: usize,
    bins: usize,
    parts: usize,
    r2c: Arc<dyn RealToComplex<f32>>,
    c2r: Arc<dyn ComplexToReal<f32>>,
    inputs: Vec<Input>,
    ears: [Ear; 2],
    finished: bool,
}

/// Output state of one ear: the summed spectrum and the inverse FFT's buffers.
struct Ear {
    acc: Vec<Complex32>,
    time: Vec<f32>,
    scratch: Vec<Complex32>,
}

impl Ear {
    fn new(bins: usize, c2r: &dyn ComplexToReal<f32>) -> Ear {
        Ear {
            acc: vec![Complex32::default(); bins],
            time: vec![0.0; 2 * (bins - 1)],
            scratch: c2r.make_scratch_vec(),
        }
    }

    /// Sums the inputs' contributions to ear `ear` in channel order and writes the block.
    fn finish(
        &mut self,
        inputs: &[Input],
        ear: usize,
        c2r: &dyn ComplexToReal<f32>,
        block: usize,
        out: &mut [f32],
    ) {
        self.acc.fill(Complex32::default());
        for inp in inputs.iter().filter(|i| i.active) {
            for (a, o) in self.acc.iter_mut().zip(&inp.out[ear]) {
                *a += *o;
            }
        }
        let bins = self.acc.len();
        self.acc[0].im = 0.0;
        self.acc[bins - 1].im = 0.0;
        c2r.process_with_scratch(&mut self.acc, &mut self.time, &mut self.scratch)
            .expect("buffer sizes match the FFT plan");
        let frames = out.len();
        out.copy_from_slice(&self.time[block..block + frames]);
    }
}

impl Convolver {
    /// A convolver for `filters[i] = (left, right)` impulse responses of input `i`, each
    /// multiplied by `gains[i]`, processing blocks of `block` frames.
    pub fn new(filters: &[(Vec<f32>, Vec<f32>)], gains: &[f32], block: usize) -> Result<Convolver> {
        if filters.is_empty() {
            return Err(Error::Invalid(
                "a convolver needs at least one input".into(),
            ));
        }
        if gains.len() != filters.len() {
            return Err(Error::Invalid(format!(
                "{} gains for {} inputs",
                gains.len(),
                filters.len()
            )));
        }
        if block == 0 || block > MAX_BLOCK {
            return Err(Error::Invalid(format!(
                "block length {block} (expected 1 to {MAX_BLOCK} frames)"
            )));
        }
        let ir_len = filters
            .iter()
            .map(|(l, r)| l.len().max(r.len()))
            .max()
            .unwrap_or(0)
            .max(1);
        let parts = ir_len.div_ceil(block);
        let n = 2 * block;
        let bins = block + 1;
        let mut planner = RealFftPlanner::<f32>::new();
        let r2c = planner.plan_fft_forward(n);
        let c2r = planner.plan_fft_inverse(n);
        let mut inputs = Vec::with_capacity(filters.len());
        for ((left, right), &g) in filters.iter().zip(gains) {
            let scale = g / n as f32;
            let spectra = |ir: &[f32]| partition_spectra(ir, block, parts, scale, r2c.as_ref());
            let active = g != 0.0 && left.iter().chain(right.iter()).any(|&v| v != 0.0);
            inputs.push(Input {
                filters: [spectra(left), spectra(right)],
                fdl: vec![Complex32::default(); parts * bins],
                head: 0,
                window: vec![0.0; n],
                time: vec![0.0; n],
                scratch: r2c.make_scratch_vec(),
                out: [
                    vec![Complex32::default(); bins],
                    vec![Complex32::default(); bins],
                ],
                active,
            });
        }
        Ok(Convolver {
            block,
            bins,
            parts,
            ears: [Ear::new(bins, c2r.as_ref()), Ear::new(bins, c2r.as_ref())],
            r2c,
            c2r,
            inputs,
            finished: false,
        })
    }

    /// Number of inputs.
    pub fn inputs(&self) -> usize {
        self.inputs.len()
    }

    /// The block length in frames.
    pub fn block_len(&self) -> usize {
        self.block
    }

    /// Number of partitions of the longest impulse response.
    pub fn partitions(&self) -> usize {
        self.parts
    }

    /// Clears the history (as if the stream restarted with silence).
    pub fn reset(&mut self) {
        for inp in &mut self.inputs {
            inp.fdl.fill(Complex32::default());
            inp.window.fill(0.0);
            inp.head = 0;
        }
        self.finished = false;
    }

    /// Convolves one block: `input[i]` holds `n` frames of input `i`; the ears are written to
    /// `left` and `right` (at least `n` frames each). `n` must equal the block length except in
    /// the stream's final call, which may be shorter.
    pub fn process(&mut self, input: &[&[f32]], left: &mut [f32], right: &mut [f32]) -> Result<()> {
        if input.len() != self.inputs.len() {
            return Err(Error::Invalid(format!(
                "{} input channels given to a convolver of {} inputs",
                input.len(),
                self.inputs.len()
            )));
        }
        let frames = input.first().map(|c| c.len()).unwrap_or(0);
        if input.iter().any(|c| c.len() != frames) {
            return Err(Error::Invalid("input channels of different lengths".into()));
        }
        if frames > self.block || left.len() < frames || right.len() < frames {
            return Err(Error::Invalid(format!(
                "block of {frames} frames (block length {}, outputs of {} and {} frames)",
                self.block,
                left.len(),
                right.len()
            )));
        }
        if self.finished {
            return Err(Error::Invalid(
                "the convolver received a block after a short final block".into(),
            ));
        }
        if frames < self.block {
            self.finished = true;
        }
        let (block, bins, parts) = (self.block, self.bins, self.parts);
        let r2c = &self.r2c;
        let work = |(inp, x): (&mut Input, &&[f32])| {
            if inp.active {
                inp.push(x, block, bins, parts, r2c.as_ref());
            }
        };
        // One task per thread, each with a contiguous group of inputs: an input's work is a few
        // microseconds, too little to schedule alone. The grouping changes no arithmetic.
        let threads = rayon::current_num_threads().max(1);
        if threads > 1 && self.inputs.len() > 1 {
            let group = self.inputs.len().div_ceil(threads);
            self.inputs
                .par_chunks_mut(group)
                .zip(input.par_chunks(group))
                .for_each(|(inps, xs)| inps.iter_mut().zip(xs.iter()).for_each(work));
        } else {
            self.inputs.iter_mut().zip(input.iter()).for_each(work);
        }
        // Both ears at once: each sums the inputs in channel order, then one inverse FFT.
        let inputs = &self.inputs;
        let c2r = self.c2r.as_ref();
        let [e0, e1] = &mut self.ears;
        let (l, r) = (&mut left[..frames], &mut right[..frames]);
        rayon::join(
            || e0.finish(inputs, 0, c2r, block, l),
            || e1.finish(inputs, 1, c2r, block, r),
        );
        Ok(())
    }
}

impl Input {
    /// Takes one block of input (zero-padded to the block length), updates the delay line and
    /// computes this input's contribution to both ears.
    fn push(
        &mut self,
        x: &[f32],
        block: usize,
        bins: usize,
        parts: usize,
        r2c: &dyn RealToComplex<f32>,
    ) {
        self.window.copy_within(block.., 0);
        self.window[block..block + x.len()].copy_from_slice(x);
        self.window[block + x.len()..].fill(0.0);
        self.time.copy_from_slice(&self.window);
        self.head = (self.head + parts - 1) % parts;
        let slot = &mut self.fdl[self.head * bins..(self.head + 1) * bins];
        r2c.process_with_scratch(&mut self.time, slot, &mut self.scratch)
            .expect("buffer sizes match the FFT plan");
        for ear in 0..2 {
            let out = &mut self.out[ear];
            out.fill(Complex32::default());
            for k in 0..parts {
                let age = (self.head + k) % parts;
                let xs = &self.fdl[age * bins..(age + 1) * bins];
                let hs = &self.filters[ear][k * bins..(k + 1) * bins];
                for ((o, x), h) in out.iter_mut().zip(xs).zip(hs) {
                    *o += x * h;
                }
            }
        }
    }
}

/// The `parts` partition spectra of `ir` (each `block` taps, zero-padded to `2 * block`), scaled.
pub(crate) fn partition_spectra(
    ir: &[f32],
    block: usize,
    parts: usize,
    scale: f32,
    r2c: &dyn RealToComplex<f32>,
) -> Vec<Complex32> {
    let bins = block + 1;
    let mut out = vec![Complex32::default(); parts * bins];
    let mut time = vec![0f32; 2 * block];
    let mut scratch = r2c.make_scratch_vec();
    for k in 0..parts {
        time.fill(0.0);
        let seg = ir
            .get(k * block..((k + 1) * block).min(ir.len()))
            .unwrap_or(&[]);
        for (t, v) in time.iter_mut().zip(seg) {
            *t = v * scale;
        }
        r2c.process_with_scratch(&mut time, &mut out[k * bins..(k + 1) * bins], &mut scratch)
            .expect("buffer sizes match the FFT plan");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct time-domain convolution in f64, truncated to the input length.
    fn direct(x: &[f32], h: &[f32]) -> Vec<f64> {
        (0..x.len())
            .map(|n| {
                (0..h.len().min(n + 1))
                    .map(|k| x[n - k] as f64 * h[k] as f64)
                    .sum()
            })
            .collect()
    }

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn matches_direct_convolution_for_several_partitions_and_a_short_last_block() {
        let block = 64;
        let x = [noise(1000, 1), noise(1000, 2), noise(1000, 3)];
        let irs = vec![
            (noise(200, 4), noise(150, 5)),
            (noise(64, 6), noise(1, 7)),
            (noise(129, 8), noise(300, 9)),
        ];
        let gains = [1.0, 0.5, 2.0];
        let mut c = Convolver::new(&irs, &gains, block).unwrap();
        assert_eq!(c.partitions(), 5);
        let mut l = vec![0f32; 1000];
        let mut r = vec![0f32; 1000];
        for start in (0..1000).step_by(block) {
            let end = (start + block).min(1000);
            let ins: Vec<&[f32]> = x.iter().map(|c| &c[start..end]).collect();
            c.process(&ins, &mut l[start..end], &mut r[start..end])
                .unwrap();
        }
        for (ear, got) in [(0, &l), (1, &r)] {
            let mut want = vec![0f64; 1000];
            for (i, (ir, g)) in irs.iter().zip(gains).enumerate() {
                let h = if ear == 0 { &ir.0 } else { &ir.1 };
                for (w, v) in want.iter_mut().zip(direct(&x[i], h)) {
                    *w += v * g as f64;
                }
            }
            let peak = want.iter().fold(0f64, |a, v| a.max(v.abs()));
            let err = want
                .iter()
                .zip(got.iter())
                .fold(0f64, |a, (w, g)| a.max((w - *g as f64).abs()));
            assert!(
                err / peak < 1e-5,
                "ear {ear}: relative error {}",
                err / peak
            );
        }
        let ins: Vec<&[f32]> = x.iter().map(|c| &c[..1]).collect();
        assert!(
            c.process(&ins, &mut l, &mut r).is_err(),
            "no block after the final one"
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(Convolver::new(&[], &[], 64).is_err());
        assert!(Convolver::new(&[(vec![1.0], vec![1.0])], &[1.0], 0).is_err());
        let mut c = Convolver::new(&[(vec![1.0], vec![1.0])], &[1.0], 4).unwrap();
        let x = [0f32; 5];
        let mut o = [0f32; 5];
        let mut o2 = [0f32; 5];
        assert!(c.process(&[&x[..]], &mut o, &mut o2).is_err());
        assert!(c.process(&[&x[..4], &x[..4]], &mut o, &mut o2).is_err());
    }
}
