//! True-peak level per ITU-R BS.1770 Annex 2: the signal is oversampled to at least 192 kHz
//! (4x at 44.1/48 kHz, 2x at 88.2/96 kHz, none at 192 kHz) by a polyphase windowed-sinc
//! interpolator and the largest absolute value of the original and interpolated samples is
//! taken. All arithmetic is floating point, so the 12.04 dB headroom attenuation of the
//! Annex is not needed.
//!
//! The interpolator is our own design: each phase `p/L` uses `2 * HALF` taps of
//! `sinc(p/L - k)` under a Kaiser window (beta 7), normalised to unit DC gain; phase 0 is the
//! sample itself. Its gain error is below 0.01 dB up to 0.42 fs (20 kHz at 48 kHz), see the tests.
//!
//! Speed: interpolation is skipped (exactly, without changing the result) for stretches whose
//! largest sample times the interpolator's largest absolute tap sum cannot beat the peak
//! found so far.

/// Taps on each side of an interpolated point, in input samples.
const HALF: usize = 12;
/// Kaiser window shape parameter.
const BETA: f64 = 7.0;
/// Input samples per skip-test chunk.
const CHUNK: usize = 64;

/// The oversampling factor for `rate`: the smallest that reaches 192 kHz, at least 1.
pub fn oversampling(rate: u32) -> usize {
    (192_000u32.div_ceil(rate.max(1)) as usize).max(1)
}

/// Zeroth-order modified Bessel function of the first kind (series).
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-17 * sum {
        term *= (x / (2.0 * k)) * (x / (2.0 * k));
        sum += term;
        k += 1.0;
    }
    sum
}

/// A Kaiser-windowed sinc interpolator's `2 * half` taps for the value at `m + frac`
/// (`0 <= frac <= 1`), normalised to sum to one: tap `i` weights `x[m - half + 1 + i]`. Shared by
/// the true-peak oversampler and the binaural fractional delay lines.
pub fn kaiser_sinc_taps(frac: f64, half: usize, beta: f64) -> Vec<f64> {
    let taps: Vec<f64> = (0..2 * half)
        .map(|i| {
            // Distance from input sample m - half + 1 + i to the point m + frac.
            let d = frac + half as f64 - 1.0 - i as f64;
            let sinc = if d == 0.0 {
                1.0
            } else {
                (std::f64::consts::PI * d).sin() / (std::f64::consts::PI * d)
            };
            let u = d / half as f64;
            sinc * bessel_i0(beta * (1.0 - u * u).max(0.0).sqrt()) / bessel_i0(beta)
        })
        .collect();
    let sum: f64 = taps.iter().sum();
    taps.into_iter().map(|t| t / sum).collect()
}

/// The polyphase interpolator: `phases[p - 1][k]` weights `x[m - HALF + 1 + k]` for the value at
/// `m + p / L`, `p = 1 .. L-1`.
#[derive(Debug, Clone)]
pub struct Interpolator {
    phases: Vec<[f32; 2 * HALF]>,
    /// The largest sum of absolute taps over the phases (bounds |interpolated| / max |x|).
    pub bound: f64,
}

impl Interpolator {
    /// The interpolator for oversampling factor `l`.
    pub fn new(l: usize) -> Interpolator {
        let mut phases = Vec::new();
        let mut bound: f64 = 1.0;
        for p in 1..l {
            let taps = kaiser_sinc_taps(p as f64 / l as f64, HALF, BETA);
            let mut out = [0f32; 2 * HALF];
            let mut abs = 0.0;
            for (o, t) in out.iter_mut().zip(taps) {
                *o = t as f32;
                abs += t.abs();
            }
            bound = bound.max(abs);
            phases.push(out);
        }
        Interpolator {
            phases,
            bound: bound * (1.0 + 1e-5),
        }
    }

    /// The oversampling factor.
    pub fn factor(&self) -> usize {
        self.phases.len() + 1
    }

    /// The largest |interpolated value| between `x[HALF-1+j]` and `x[HALF+j]` for all `j` such
    /// that the window fits in `x` (the original samples themselves are not included).
    fn peak(&self, x: &[f32]) -> f32 {
        let mut peak = 0f32;
        if x.len() < 2 * HALF {
            return peak;
        }
        for w in x.windows(2 * HALF) {
            for ph in &self.phases {
                peak = peak.max(dot(ph, w).abs());
            }
        }
        peak
    }
}

/// Dot product of the taps with a window, in eight independent lanes (vectorises; the
/// summation order is fixed, so results do not depend on the machine's thread count).
#[inline]
fn dot(taps: &[f32; 2 * HALF], w: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    for (t, x) in taps.chunks_exact(8).zip(w.chunks_exact(8)) {
        for l in 0..8 {
            lanes[l] += t[l] * x[l];
        }
    }
    lanes.iter().sum()
}

/// Streaming true-peak meter for one channel.
#[derive(Debug, Clone)]
pub struct TruePeak {
    interp: std::sync::Arc<Interpolator>,
    /// The last `2 * HALF - 1` samples (zeros before the start).
    history: Vec<f32>,
    buf: Vec<f32>,
    peak: f32,
}

impl TruePeak {
    /// A meter sharing `interp`.
    pub fn new(interp: std::sync::Arc<Interpolator>) -> TruePeak {
        TruePeak {
            interp,
            history: vec![0.0; 2 * HALF - 1],
            buf: Vec::new(),
            peak: 0.0,
        }
    }

    /// Feeds consecutive samples of the channel.
    pub fn push(&mut self, samples: &[f32]) {
        for &s in samples {
            self.peak = self.peak.max(s.abs());
        }
        if self.interp.factor() == 1 {
            return;
        }
        self.buf.clear();
        self.buf.extend_from_slice(&self.history);
        self.buf.extend_from_slice(samples);
        self.scan();
        let keep = self.buf.len() - (2 * HALF - 1);
        self.history.clear();
        self.history.extend_from_slice(&self.buf[keep..]);
    }

    /// Interpolates every window of `buf`, skipping chunks that cannot raise the peak.
    fn scan(&mut self) {
        let span = 2 * HALF;
        if self.buf.len() < span {
            return;
        }
        let windows = self.buf.len() - span + 1;
        let mut start = 0;
        while start < windows {
            let end = (start + CHUNK).min(windows);
            let slice = &self.buf[start..end + span - 1];
            let m = slice.iter().fold(0f32, |a, &b| a.max(b.abs()));
            if (m as f64) * self.interp.bound > self.peak as f64 {
                self.peak = self.peak.max(self.interp.peak(slice));
            }
            start = end;
        }
    }

    /// Flushes the interpolator with zeros and returns the true peak (linear).
    pub fn finish(mut self) -> f32 {
        if self.interp.factor() > 1 {
            let zeros = vec![0f32; HALF];
            self.push(&zeros);
        }
        self.peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;
    use std::sync::Arc;

    fn tp(rate: u32, x: &[f32]) -> f32 {
        let mut m = TruePeak::new(Arc::new(Interpolator::new(oversampling(rate))));
        for c in x.chunks(1000) {
            m.push(c);
        }
        m.finish()
    }

    #[test]
    fn factors() {
        assert_eq!(oversampling(48000), 4);
        assert_eq!(oversampling(44100), 5);
        assert_eq!(oversampling(96000), 2);
        assert_eq!(oversampling(192000), 1);
    }

    #[test]
    fn interpolates_band_limited_sines_to_their_peak() {
        // A unit sine at many frequencies and phases up to 0.42 fs: the true peak is 1.
        let rate = 48000;
        for f in [997.0, 5000.0, 12000.0, 17000.0, 20000.0] {
            for phase in [0.1, 0.37, 0.77] {
                // 0.2 s with 10 ms fades (a hard cut would ring: a real overshoot, not a meter error).
                let x: Vec<f32> = (0..9600)
                    .map(|n| {
                        let fade = (n.min(9599 - n) as f64 / 480.0).min(1.0);
                        (fade * (2.0 * PI * f * n as f64 / rate as f64 + phase).sin()) as f32
                    })
                    .collect();
                let db = 20.0 * (tp(rate, &x) as f64).log10();
                // 4x oversampling under-reads by at most 1 - cos(pi f / (4 fs)) on a sine.
                let under = 20.0 * (PI * f / (4.0 * rate as f64)).cos().log10();
                assert!(
                    db < 0.01 && db > under - 0.01,
                    "{f} Hz phase {phase}: {db} dB (floor {under})"
                );
            }
        }
    }

    #[test]
    fn skipping_does_not_change_the_result() {
        let x: Vec<f32> = (0..20000)
            .map(|n| ((n as f64 * 0.9).sin() * (n as f64 * 0.0003).cos()) as f32)
            .collect();
        let fast = tp(48000, &x);
        let interp = Interpolator::new(4);
        let mut padded = vec![0f32; 2 * HALF - 1];
        padded.extend_from_slice(&x);
        padded.extend(vec![0f32; HALF]);
        let slow = interp
            .peak(&padded)
            .max(x.iter().fold(0f32, |a, &b| a.max(b.abs())));
        assert_eq!(fast, slow);
    }
}
