//! The K-weighting of ITU-R BS.1770 applied to energies of impulse responses.
//!
//! The loudness normalisation of the binaural renderer compares K-weighted energies, so that
//! the gain it picks is the one a BS.1770 loudness meter would agree with. The two filter
//! stages (a high shelf of about +4 dB above 1.5 kHz and a high-pass near 38 Hz) are the
//! standard's, designed for any sample rate from their analogue prototypes (as libebur128 does);
//! at 48 kHz they reproduce the coefficients printed in BS.1770.

use realfft::RealFftPlanner;

/// Biquad coefficients `(b0, b1, b2, a1, a2)` (a0 = 1) of the two K-weighting stages.
pub fn k_weighting(sample_rate: f64) -> [[f64; 5]; 2] {
    use std::f64::consts::PI;
    // Stage 1: high shelf.
    let f0 = 1_681.974_450_955_533;
    let g = 3.999_843_853_973_347;
    let q = 0.707_175_236_955_419_6;
    let k = (PI * f0 / sample_rate).tan();
    let vh = 10f64.powf(g / 20.0);
    let vb = vh.powf(0.499_666_774_154_541_6);
    let a0 = 1.0 + k / q + k * k;
    let shelf = [
        (vh + vb * k / q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ];
    // Stage 2: high-pass (RLB weighting).
    let f0 = 38.135_470_876_024_44;
    let q = 0.500_327_037_323_877_3;
    let k = (PI * f0 / sample_rate).tan();
    let a0 = 1.0 + k / q + k * k;
    let highpass = [
        1.0,
        -2.0,
        1.0,
        2.0 * (k * k - 1.0) / a0,
        (1.0 - k / q + k * k) / a0,
    ];
    [shelf, highpass]
}

/// Squared magnitude of the K-weighting at normalised angular frequency `w` (radians/sample).
pub fn k_power(coeffs: &[[f64; 5]; 2], w: f64) -> f64 {
    coeffs
        .iter()
        .map(|c| {
            let (z1, z2) = (num_c(-w), num_c(-2.0 * w));
            let num = add3(c[0], scale(z1, c[1]), scale(z2, c[2]));
            let den = add3(1.0, scale(z1, c[3]), scale(z2, c[4]));
            (num.0 * num.0 + num.1 * num.1) / (den.0 * den.0 + den.1 * den.1)
        })
        .product()
}

fn num_c(phase: f64) -> (f64, f64) {
    (phase.cos(), phase.sin())
}
fn scale(z: (f64, f64), s: f64) -> (f64, f64) {
    (z.0 * s, z.1 * s)
}
fn add3(a: f64, b: (f64, f64), c: (f64, f64)) -> (f64, f64) {
    (a + b.0 + c.0, b.1 + c.1)
}

/// K-weighted energy of an impulse response: `(1/2pi) * integral |H(w)|^2 |K(w)|^2 dw`,
/// evaluated on a dense FFT grid (at least 8192 points and 8 times the response length).
pub fn k_weighted_energy(ir: &[f32], sample_rate: f64) -> f64 {
    let n = (ir.len() * 8).max(8192).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut time = vec![0f64; n];
    for (t, v) in time.iter_mut().zip(ir) {
        *t = *v as f64;
    }
    let mut spec = fft.make_output_vec();
    fft.process(&mut time, &mut spec)
        .expect("buffer sizes match the FFT plan");
    let coeffs = k_weighting(sample_rate);
    let mut sum = 0.0;
    for (i, s) in spec.iter().enumerate() {
        let w = 2.0 * std::f64::consts::PI * i as f64 / n as f64;
        let weight = if i == 0 || i == n / 2 { 1.0 } else { 2.0 };
        sum += weight * s.norm_sqr() * k_power(&coeffs, w);
    }
    sum / n as f64
}

/// Lowest and highest frequency (Hz) of the pink reference spectrum of [`pink_k_gain`].
pub const PINK_BAND: (f64, f64) = (20.0, 20_000.0);

/// Power gain of a filter for K-weighted pink noise: `sum |H|^2 |K|^2 / f` over
/// `sum |K|^2 / f`, summed on a dense FFT grid between 20 Hz and 20 kHz (or half the sample
/// rate). Pink noise (equal power per octave) stands for programme material: an identity
/// filter has gain 1, and a filter with this gain leaves the BS.1770 loudness of pink noise
/// unchanged.
pub fn pink_k_gain(ir: &[f32], sample_rate: f64) -> f64 {
    let n = (ir.len() * 8).max(1 << 13).next_power_of_two();
    let mut planner = RealFftPlanner::<f64>::new();
    let fft = planner.plan_fft_forward(n);
    let mut time = vec![0f64; n];
    for (t, v) in time.iter_mut().zip(ir) {
        *t = *v as f64;
    }
    let mut spec = fft.make_output_vec();
    fft.process(&mut time, &mut spec)
        .expect("buffer sizes match the FFT plan");
    let coeffs = k_weighting(sample_rate);
    let hi = PINK_BAND.1.min(sample_rate / 2.0);
    let (mut num, mut den) = (0.0, 0.0);
    for (i, s) in spec.iter().enumerate() {
        let f = i as f64 * sample_rate / n as f64;
        if f < PINK_BAND.0 || f > hi {
            continue;
        }
        let w = k_power(&coeffs, 2.0 * std::f64::consts::PI * i as f64 / n as f64) / f;
        num += w * s.norm_sqr();
        den += w;
    }
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pink_gain_of_an_identity_and_of_a_gain_and_a_delay() {
        assert!((pink_k_gain(&[1.0], 48000.0) - 1.0).abs() < 1e-12);
        let g = pink_k_gain(&[0.0, 0.0, 0.0, 0.5], 44100.0);
        assert!((g - 0.25).abs() < 1e-12, "{g}");
    }

    #[test]
    fn coefficients_at_48k_match_bs1770() {
        let [s, h] = k_weighting(48000.0);
        let want_s = [
            1.535_124_859_586_97,
            -2.691_696_189_406_38,
            1.198_392_810_852_85,
            -1.690_659_293_182_41,
            0.732_480_774_215_85,
        ];
        let want_h = [1.0, -2.0, 1.0, -1.990_047_454_833_98, 0.990_072_250_366_12];
        for (a, b) in s.iter().zip(want_s).chain(h.iter().zip(want_h)) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn energy_of_an_impulse_is_the_mean_k_power_and_a_1k_tone_gain_is_near_0_db() {
        // A unit impulse has unit unweighted energy; K-weighting lifts the top octaves.
        let e = k_weighted_energy(&[1.0], 48000.0);
        assert!(e > 1.0 && e < 2.6, "{e}");
        // At 1 kHz the K-weighting is about +0.7 dB (BS.1770's -0.691 dB offset undoes it).
        let c = k_weighting(48000.0);
        let db = 10.0 * k_power(&c, 2.0 * std::f64::consts::PI * 1000.0 / 48000.0).log10();
        assert!((db - 0.691).abs() < 0.05, "{db}");
    }
}
