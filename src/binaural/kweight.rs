//! The K-weighting of ITU-R BS.1770 applied to energies of impulse responses.
//!
//! The loudness normalisation of the binaural renderer compares K-weighted energies, so that
//! the gain it picks is the one a BS.1770 loudness meter would agree with. The two filter
//! stages (a high shelf of about +4 dB above 1.5 kHz and a high-pass near 38 Hz) are those of
//! the QC meter ([`crate::qc::kweight`]), so both parts of mixstage weigh loudness alike.

use realfft::RealFftPlanner;

use crate::qc::kweight::KWeighting;

/// Squared magnitude of the BS.1770 K-weighting (the meter's own filter, [`KWeighting`]) at
/// `freq` Hz for `sample_rate`.
pub fn k_power(k: &KWeighting, freq: f64, sample_rate: f64) -> f64 {
    k.magnitude(freq, sample_rate).powi(2)
}

/// The power spectrum `|H(f)|^2` of an impulse response on a dense FFT grid (at least 8192
/// points and 8 times the response length): `(grid size, powers of bins 0 ..= n/2)`.
fn power_spectrum(ir: &[f32]) -> (usize, Vec<f64>) {
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
    (n, spec.iter().map(|s| s.norm_sqr()).collect())
}

/// K-weighted energy of an impulse response: `(1/2pi) * integral |H(w)|^2 |K(w)|^2 dw`,
/// evaluated on a dense FFT grid (at least 8192 points and 8 times the response length).
pub fn k_weighted_energy(ir: &[f32], sample_rate: f64) -> f64 {
    let (n, power) = power_spectrum(ir);
    let k = KWeighting::new(sample_rate as u32);
    let mut sum = 0.0;
    for (i, p) in power.iter().enumerate() {
        let weight = if i == 0 || i == n / 2 { 1.0 } else { 2.0 };
        sum += weight * p * k_power(&k, i as f64 * sample_rate / n as f64, sample_rate);
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
    pink_k_gains(&[ir], sample_rate)[0]
}

/// [`pink_k_gain`] of many responses at once: one FFT grid (sized for the longest), one plan
/// and one table of pink K-weights shared by all, the responses in parallel.
pub fn pink_k_gains(irs: &[&[f32]], sample_rate: f64) -> Vec<f64> {
    use rayon::prelude::*;
    let longest = irs.iter().map(|ir| ir.len()).max().unwrap_or(1);
    let n = (longest * 8).max(8192).next_power_of_two();
    let k = KWeighting::new(sample_rate as u32);
    let hi = PINK_BAND.1.min(sample_rate / 2.0);
    let weights: Vec<f64> = (0..=n / 2)
        .map(|i| {
            let f = i as f64 * sample_rate / n as f64;
            if f < PINK_BAND.0 || f > hi {
                0.0
            } else {
                k_power(&k, f, sample_rate) / f
            }
        })
        .collect();
    let den: f64 = weights.iter().sum();
    if den <= 0.0 {
        return vec![0.0; irs.len()];
    }
    let fft = RealFftPlanner::<f64>::new().plan_fft_forward(n);
    irs.par_iter()
        .map(|ir| {
            let mut time = vec![0f64; n];
            for (t, v) in time.iter_mut().zip(ir.iter()) {
                *t = *v as f64;
            }
            let mut spec = fft.make_output_vec();
            fft.process(&mut time, &mut spec)
                .expect("buffer sizes match the FFT plan");
            let num: f64 = spec
                .iter()
                .zip(&weights)
                .map(|(s, w)| w * s.norm_sqr())
                .sum();
            num / den
        })
        .collect()
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
    fn energy_of_an_impulse_is_the_mean_k_power_and_a_1k_tone_gain_is_near_0_db() {
        // A unit impulse has unit unweighted energy; K-weighting lifts the top octaves.
        let e = k_weighted_energy(&[1.0], 48000.0);
        assert!(e > 1.0 && e < 2.6, "{e}");
        // At 1 kHz the K-weighting is about +0.7 dB (BS.1770's -0.691 dB offset undoes it).
        let k = KWeighting::new(48000);
        let db = 10.0 * k_power(&k, 1000.0, 48000.0).log10();
        assert!((db - 0.691).abs() < 0.05, "{db}");
    }
}
