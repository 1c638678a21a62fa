//! The K-weighting pre-filter of ITU-R BS.1770 (Annex 1), for any sample rate.
//!
//! BS.1770 gives the two biquads (a high shelf modelling the head, then the RLB high-pass)
//! only at 48 kHz and asks other rates for "the same frequency response". We derive that
//! response ourselves: each 48 kHz biquad is mapped back through the inverse bilinear
//! transform to its analog prototype, the prototype is normalised at its natural frequency
//! `w0`, and it is discretised again at the target rate with the bilinear transform
//! pre-warped at `w0`. At 48 kHz this round trip returns the table's coefficients exactly
//! (tested); at other rates the response matches the 48 kHz one across the audio band.

/// A second-order IIR section (direct form II transposed, `f64` state).
#[derive(Debug, Clone, PartialEq)]
pub struct Biquad {
    /// Numerator coefficients b0, b1, b2 (a0 normalised to 1).
    pub b: [f64; 3],
    /// Denominator coefficients a1, a2 (a0 = 1).
    pub a: [f64; 2],
    s1: f64,
    s2: f64,
}

impl Biquad {
    /// A biquad with the given coefficients (a0 = 1) and zero state.
    pub fn new(b: [f64; 3], a: [f64; 2]) -> Biquad {
        Biquad {
            b,
            a,
            s1: 0.0,
            s2: 0.0,
        }
    }

    /// Filters one sample.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.s1;
        self.s1 = self.b[1] * x - self.a[0] * y + self.s2;
        self.s2 = self.b[2] * x - self.a[1] * y;
        y
    }

    /// The magnitude response at `freq` Hz for sample rate `rate`.
    pub fn magnitude(&self, freq: f64, rate: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / rate;
        let (c1, s1) = (w.cos(), -w.sin());
        let (c2, s2) = ((2.0 * w).cos(), -(2.0 * w).sin());
        let num = (
            self.b[0] + self.b[1] * c1 + self.b[2] * c2,
            self.b[1] * s1 + self.b[2] * s2,
        );
        let den = (
            1.0 + self.a[0] * c1 + self.a[1] * c2,
            self.a[0] * s1 + self.a[1] * s2,
        );
        (num.0.hypot(num.1)) / (den.0.hypot(den.1))
    }
}

/// BS.1770 Table 1: stage 1 (head shelf) at 48 kHz: b0, b1, b2, a1, a2.
pub const STAGE1_48K: ([f64; 3], [f64; 2]) = (
    [1.53512485958697, -2.69169618940638, 1.19839281085285],
    [-1.69065929318241, 0.73248077421585],
);
/// BS.1770 Table 2: stage 2 (RLB high-pass) at 48 kHz: b0, b1, b2, a1, a2.
pub const STAGE2_48K: ([f64; 3], [f64; 2]) =
    ([1.0, -2.0, 1.0], [-1.99004745483398, 0.99007225036621]);

/// The rate at which BS.1770 tabulates the filters.
const REFERENCE_RATE: f64 = 48000.0;

/// Re-designs a biquad given at `from_rate` for `to_rate` (see the module notes).
pub fn redesign(b: [f64; 3], a: [f64; 2], from_rate: f64, to_rate: f64) -> Biquad {
    let a = [1.0, a[0], a[1]];
    // Inverse bilinear, s = c (1 - 1/z) / (1 + 1/z), c = 2 fs: polynomials in s (s^2, s, 1).
    let c = 2.0 * from_rate;
    let analog = |p: [f64; 3]| {
        [
            p[0] - p[1] + p[2],
            2.0 * c * (p[0] - p[2]),
            c * c * (p[0] + p[1] + p[2]),
        ]
    };
    let (n, d) = (analog(b), analog(a));
    // Natural frequency of the denominator and the prototype normalised at it (p = s / w0).
    let w0 = (d[2] / d[0]).sqrt();
    let norm = |q: [f64; 3]| [q[0] * w0 * w0, q[1] * w0, q[2]];
    let (n, d) = (norm(n), norm(d));
    // The digital frequency that w0 maps to at the source rate, pre-warped at the target rate.
    let f0 = from_rate / std::f64::consts::PI * (w0 / c).atan();
    let k = (std::f64::consts::PI * f0 / to_rate).tan();
    // Bilinear with p = (1/k) (1 - 1/z) / (1 + 1/z), multiplied through by k^2 (1 + 1/z)^2.
    let digital = |q: [f64; 3]| {
        let (q2, q1, q0) = (q[0], q[1] * k, q[2] * k * k);
        [q2 + q1 + q0, 2.0 * (q0 - q2), q2 - q1 + q0]
    };
    let (nb, da) = (digital(n), digital(d));
    Biquad::new(
        [nb[0] / da[0], nb[1] / da[0], nb[2] / da[0]],
        [da[1] / da[0], da[2] / da[0]],
    )
}

/// The two-stage K-weighting filter for one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct KWeighting {
    /// Stage 1: the high shelf modelling the head.
    pub shelf: Biquad,
    /// Stage 2: the RLB high-pass.
    pub highpass: Biquad,
}

impl KWeighting {
    /// The K-weighting filter for `rate` Hz.
    pub fn new(rate: u32) -> KWeighting {
        let rate = rate as f64;
        KWeighting {
            shelf: redesign(STAGE1_48K.0, STAGE1_48K.1, REFERENCE_RATE, rate),
            highpass: redesign(STAGE2_48K.0, STAGE2_48K.1, REFERENCE_RATE, rate),
        }
    }

    /// Filters one sample.
    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        self.highpass.process(self.shelf.process(x))
    }

    /// The magnitude response (linear) at `freq` Hz for sample rate `rate`.
    pub fn magnitude(&self, freq: f64, rate: f64) -> f64 {
        self.shelf.magnitude(freq, rate) * self.highpass.magnitude(freq, rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reproduces_the_bs1770_table_at_48k() {
        let k = KWeighting::new(48000);
        for (got, want) in k
            .shelf
            .b
            .iter()
            .chain(&k.shelf.a)
            .zip(STAGE1_48K.0.iter().chain(&STAGE1_48K.1))
        {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        for (got, want) in k
            .highpass
            .b
            .iter()
            .chain(&k.highpass.a)
            .zip(STAGE2_48K.0.iter().chain(&STAGE2_48K.1))
        {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn other_rates_match_the_48k_response() {
        let reference = KWeighting::new(48000);
        for rate in [32000u32, 44100, 88200, 96000, 192000] {
            let k = KWeighting::new(rate);
            for f in [
                20.0, 40.0, 100.0, 500.0, 997.0, 1500.0, 3000.0, 6000.0, 10000.0, 14000.0,
            ] {
                if f > 0.45 * rate as f64 {
                    continue;
                }
                let db = |m: f64| 20.0 * m.log10();
                let d = db(k.magnitude(f, rate as f64)) - db(reference.magnitude(f, 48000.0));
                // Within 0.02 dB up to 6 kHz, 0.1 dB above (bilinear warping near Nyquist).
                let tol = if f <= 6000.0 { 0.02 } else { 0.1 };
                assert!(d.abs() < tol, "{rate} Hz at {f} Hz: {d} dB");
            }
        }
    }

    #[test]
    fn known_shape_at_48k() {
        // The shelf lifts highs by ~+4 dB; the high-pass removes lows; 997 Hz sits near +0.69 dB
        // (the constant -0.691 in BS.1770 eq. 2 cancels it).
        let k = KWeighting::new(48000);
        let db = |f: f64| 20.0 * k.magnitude(f, 48000.0).log10();
        assert!((db(997.0) - 0.691).abs() < 0.01, "{}", db(997.0));
        assert!((db(10000.0) - 4.0).abs() < 0.2, "{}", db(10000.0));
        assert!(db(20.0) < -10.0, "{}", db(20.0));
    }
}
