//! The diffuse path of BS.2127's object renderer (ITU-R BS.2127-1 §7.4, the EBU ADM
//! Renderer's `ObjectRenderer`): an object's diffuse gains feed a second bus per output
//! channel, which is filtered by that channel's decorrelation filter
//! ([`super::decorrelate`]) and added to the direct bus.
//!
//! The filters are centred on tap [`DELAY`] (255), so the direct bus is delayed by as much and
//! the renderer runs that many frames ahead of its output (see `Renderer`): the output has no
//! added latency and stays aligned with DirectSpeakers and HOA, as in the reference. Filtering
//! is by FFT (8192 points, overlap-add), skipped while a bus and its tail are silent.

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};

use super::decorrelate::{filter, DELAY, TAPS};

/// FFT length: a whole block (at most `BLOCK` = 4096 frames) plus the filter's tail.
const FFT: usize = 8192;

/// The state of one stem on one channel.
#[derive(Clone)]
struct Stem {
    /// The last DELAY direct samples, oldest first.
    delay: Vec<f32>,
    /// The filter tail carried into the next block (TAPS - 1 samples).
    tail: Vec<f64>,
    tail_live: bool,
}

/// The diffuse path of one output channel, for every stem.
pub struct DiffuseChannel {
    spectrum: Vec<Complex<f64>>,
    forward: Arc<dyn RealToComplex<f64>>,
    inverse: Arc<dyn ComplexToReal<f64>>,
    stems: Vec<Stem>,
    time: Vec<f64>,
    freq: Vec<Complex<f64>>,
}

impl DiffuseChannel {
    /// The path of a channel whose decorrelation filter has `seed`, for `stems` stems.
    pub fn new(seed: u32, stems: usize) -> DiffuseChannel {
        let mut planner = RealFftPlanner::<f64>::new();
        let forward = planner.plan_fft_forward(FFT);
        let inverse = planner.plan_fft_inverse(FFT);
        let mut time = vec![0.0; FFT];
        time[..TAPS].copy_from_slice(&filter(seed));
        let mut spectrum = forward.make_output_vec();
        forward
            .process(&mut time, &mut spectrum)
            .expect("buffer sizes match the plan");
        // The inverse FFT is unnormalised: fold 1/FFT into the filter.
        spectrum.iter_mut().for_each(|x| *x /= FFT as f64);
        let freq = forward.make_output_vec();
        DiffuseChannel {
            spectrum,
            forward,
            inverse,
            stems: vec![
                Stem {
                    delay: vec![0.0; DELAY],
                    tail: vec![0.0; TAPS - 1],
                    tail_live: false,
                };
                stems
            ],
            time: vec![0.0; FFT],
            freq,
        }
    }

    /// Replaces `direct` (stem `g`'s direct bus, this block) by the stem's output: the
    /// direct bus delayed by [`DELAY`] plus the diffuse bus filtered.
    pub fn process(&mut self, g: usize, direct: &mut [f32], diffuse: &[f32]) {
        let n = direct.len();
        assert!(
            n + TAPS - 1 <= FFT,
            "block longer than the diffuse path's FFT"
        );
        let st = &mut self.stems[g];
        // Delay the direct bus.
        let mut joined = std::mem::take(&mut st.delay);
        joined.extend_from_slice(direct);
        direct.copy_from_slice(&joined[..n]);
        st.delay = joined.split_off(n);
        let live = diffuse.iter().any(|&x| x != 0.0);
        if !live && !st.tail_live {
            return;
        }
        self.time.iter_mut().for_each(|x| *x = 0.0);
        for (t, &x) in self.time.iter_mut().zip(diffuse) {
            *t = x as f64;
        }
        if live {
            self.forward
                .process(&mut self.time, &mut self.freq)
                .expect("buffer sizes match the plan");
            for (f, h) in self.freq.iter_mut().zip(&self.spectrum) {
                *f *= h;
            }
            self.inverse
                .process(&mut self.freq, &mut self.time)
                .expect("buffer sizes match the plan");
        }
        // time[..n + TAPS - 1] is this block's convolution; add the carried tail.
        for (t, &x) in self.time.iter_mut().zip(&st.tail) {
            *t += x;
        }
        for (d, &y) in direct.iter_mut().zip(&self.time[..n]) {
            *d += y as f32;
        }
        st.tail.copy_from_slice(&self.time[n..n + TAPS - 1]);
        st.tail_live = st.tail.iter().any(|&x| x != 0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An impulse on the diffuse bus comes out as the filter, advanced by DELAY against the
    /// direct bus, across block boundaries.
    #[test]
    fn an_impulse_comes_out_as_the_filter() {
        let h = filter(0);
        let mut ch = DiffuseChannel::new(0, 1);
        let mut out = Vec::new();
        let total = 1500;
        let mut pos = 0;
        for n in [100, 700, 300, 400] {
            let mut direct = vec![0.0f32; n];
            let mut diffuse = vec![0.0f32; n];
            if pos == 0 {
                direct[0] = 1.0;
                diffuse[0] = 1.0;
            }
            ch.process(0, &mut direct, &diffuse);
            out.extend_from_slice(&direct);
            pos += n;
        }
        assert_eq!(out.len(), total);
        for (k, &y) in out.iter().enumerate() {
            let want = if k < TAPS { h[k] } else { 0.0 } + if k == DELAY { 1.0 } else { 0.0 };
            assert!((y as f64 - want).abs() < 1e-6, "{k}: {y} vs {want}");
        }
    }
}
