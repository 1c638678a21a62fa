//! Biquad EQ filters (RBJ Audio EQ Cookbook forms) for objects and beds.
//!
//! A short chain of second-order sections: high-pass, low-pass, low and high shelf,
//! peaking. Coefficients are computed in `f64`; the state runs in `f64` (transposed
//! direct form II), so long renders do not accumulate rounding noise.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One EQ band as written in a scene file.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Band {
    /// Second-order high-pass at `freq` Hz (Q 0.707 = Butterworth).
    HighPass {
        /// Corner frequency in Hz.
        freq: f64,
        /// Quality factor (default 0.7071).
        #[serde(default = "default_q")]
        q: f64,
    },
    /// Second-order low-pass at `freq` Hz.
    LowPass {
        /// Corner frequency in Hz.
        freq: f64,
        /// Quality factor (default 0.7071).
        #[serde(default = "default_q")]
        q: f64,
    },
    /// Low shelf: `gain_db` below `freq` Hz.
    LowShelf {
        /// Shelf mid-point frequency in Hz.
        freq: f64,
        /// Shelf gain in dB.
        gain_db: f64,
        /// Quality factor (default 0.7071).
        #[serde(default = "default_q")]
        q: f64,
    },
    /// High shelf: `gain_db` above `freq` Hz.
    HighShelf {
        /// Shelf mid-point frequency in Hz.
        freq: f64,
        /// Shelf gain in dB.
        gain_db: f64,
        /// Quality factor (default 0.7071).
        #[serde(default = "default_q")]
        q: f64,
    },
    /// Peaking (bell) filter: `gain_db` at `freq` Hz with bandwidth set by `q`.
    Peak {
        /// Centre frequency in Hz.
        freq: f64,
        /// Gain at the centre in dB.
        gain_db: f64,
        /// Quality factor (default 1.0).
        #[serde(default = "one")]
        q: f64,
    },
}

fn default_q() -> f64 {
    std::f64::consts::FRAC_1_SQRT_2
}
fn one() -> f64 {
    1.0
}

impl Band {
    /// Checks the band's parameters against the sample rate; `at` names it in errors.
    pub fn validate(&self, sample_rate: u32, at: &str) -> Result<()> {
        let (freq, gain, q) = match *self {
            Band::HighPass { freq, q } | Band::LowPass { freq, q } => (freq, 0.0, q),
            Band::LowShelf { freq, gain_db, q }
            | Band::HighShelf { freq, gain_db, q }
            | Band::Peak { freq, gain_db, q } => (freq, gain_db, q),
        };
        let nyquist = sample_rate as f64 / 2.0;
        if !freq.is_finite() || freq <= 0.0 || freq >= nyquist {
            return Err(Error::Invalid(format!(
                "{at}: freq {freq} Hz must be between 0 and the Nyquist frequency ({nyquist} Hz)"
            )));
        }
        if !q.is_finite() || q <= 0.0 || q > 100.0 {
            return Err(Error::Invalid(format!("{at}: q {q} must be in (0, 100]")));
        }
        if !gain.is_finite() || gain.abs() > 48.0 {
            return Err(Error::Invalid(format!(
                "{at}: gain_db {gain} must be a finite number within +/-48 dB"
            )));
        }
        Ok(())
    }

    /// Normalised coefficients `[b0, b1, b2, a1, a2]` (a0 = 1) at `sample_rate`.
    pub fn coefficients(&self, sample_rate: u32) -> [f64; 5] {
        let fs = sample_rate as f64;
        let (freq, q) = match *self {
            Band::HighPass { freq, q } | Band::LowPass { freq, q } => (freq, q),
            Band::LowShelf { freq, q, .. }
            | Band::HighShelf { freq, q, .. }
            | Band::Peak { freq, q, .. } => (freq, q),
        };
        let w0 = 2.0 * std::f64::consts::PI * freq / fs;
        let (sn, cs) = w0.sin_cos();
        let alpha = sn / (2.0 * q);
        let (b0, b1, b2, a0, a1, a2) = match *self {
            Band::LowPass { .. } => (
                (1.0 - cs) / 2.0,
                1.0 - cs,
                (1.0 - cs) / 2.0,
                1.0 + alpha,
                -2.0 * cs,
                1.0 - alpha,
            ),
            Band::HighPass { .. } => (
                (1.0 + cs) / 2.0,
                -(1.0 + cs),
                (1.0 + cs) / 2.0,
                1.0 + alpha,
                -2.0 * cs,
                1.0 - alpha,
            ),
            Band::Peak { gain_db, .. } => {
                let a = 10f64.powf(gain_db / 40.0);
                (
                    1.0 + alpha * a,
                    -2.0 * cs,
                    1.0 - alpha * a,
                    1.0 + alpha / a,
                    -2.0 * cs,
                    1.0 - alpha / a,
                )
            }
            Band::LowShelf { gain_db, .. } => {
                let a = 10f64.powf(gain_db / 40.0);
                let s = 2.0 * a.sqrt() * alpha;
                (
                    a * ((a + 1.0) - (a - 1.0) * cs + s),
                    2.0 * a * ((a - 1.0) - (a + 1.0) * cs),
                    a * ((a + 1.0) - (a - 1.0) * cs - s),
                    (a + 1.0) + (a - 1.0) * cs + s,
                    -2.0 * ((a - 1.0) + (a + 1.0) * cs),
                    (a + 1.0) + (a - 1.0) * cs - s,
                )
            }
            Band::HighShelf { gain_db, .. } => {
                let a = 10f64.powf(gain_db / 40.0);
                let s = 2.0 * a.sqrt() * alpha;
                (
                    a * ((a + 1.0) + (a - 1.0) * cs + s),
                    -2.0 * a * ((a - 1.0) + (a + 1.0) * cs),
                    a * ((a + 1.0) + (a - 1.0) * cs - s),
                    (a + 1.0) - (a - 1.0) * cs + s,
                    2.0 * ((a - 1.0) - (a + 1.0) * cs),
                    (a + 1.0) - (a - 1.0) * cs - s,
                )
            }
        };
        [b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0]
    }
}

/// A running biquad section (transposed direct form II).
#[derive(Debug, Clone)]
pub struct Biquad {
    c: [f64; 5],
    z1: f64,
    z2: f64,
}

impl Biquad {
    /// A section with the given normalised coefficients and zero state.
    pub fn new(c: [f64; 5]) -> Self {
        Biquad {
            c,
            z1: 0.0,
            z2: 0.0,
        }
    }

    /// Filters one sample.
    #[inline]
    pub fn tick(&mut self, x: f64) -> f64 {
        let [b0, b1, b2, a1, a2] = self.c;
        let y = b0 * x + self.z1;
        self.z1 = b1 * x - a1 * y + self.z2;
        self.z2 = b2 * x - a2 * y;
        y
    }

    /// The magnitude response in dB at `freq` Hz for `sample_rate`.
    pub fn response_db(c: &[f64; 5], freq: f64, sample_rate: u32) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / sample_rate as f64;
        let (z1r, z1i) = (w.cos(), -w.sin());
        let (z2r, z2i) = ((2.0 * w).cos(), -(2.0 * w).sin());
        let nr = c[0] + c[1] * z1r + c[2] * z2r;
        let ni = c[1] * z1i + c[2] * z2i;
        let dr = 1.0 + c[3] * z1r + c[4] * z2r;
        let di = c[3] * z1i + c[4] * z2i;
        10.0 * ((nr * nr + ni * ni) / (dr * dr + di * di)).log10()
    }
}

/// A chain of biquads applied in order to one signal.
#[derive(Debug, Clone, Default)]
pub struct Chain {
    sections: Vec<Biquad>,
}

impl Chain {
    /// Builds the chain for `bands` at `sample_rate` (bands must be validated).
    pub fn new(bands: &[Band], sample_rate: u32) -> Self {
        Chain {
            sections: bands
                .iter()
                .map(|b| Biquad::new(b.coefficients(sample_rate)))
                .collect(),
        }
    }

    /// A fourth-order Linkwitz-Riley low-pass (two Butterworth sections) at `freq` Hz.
    pub fn linkwitz_riley_lowpass(freq: f64, sample_rate: u32) -> Self {
        let b = Band::LowPass {
            freq,
            q: default_q(),
        };
        Chain::new(&[b, b], sample_rate)
    }

    /// True if the chain has no sections.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// Filters a block in place.
    pub fn process(&mut self, block: &mut [f32]) {
        if self.sections.is_empty() {
            return;
        }
        for x in block.iter_mut() {
            let mut v = *x as f64;
            for s in &mut self.sections {
                v = s.tick(v);
            }
            *x = v as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Measures a filter's gain at `f` by filtering a sine and comparing RMS after settling.
    fn measured_db(band: Band, f: f64) -> f64 {
        let fs = 48000;
        let mut c = Chain::new(&[band], fs);
        let n = 48000;
        let mut x: Vec<f32> = (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * f * i as f64 / fs as f64).sin() as f32)
            .collect();
        c.process(&mut x);
        let tail = &x[n / 2..];
        let rms =
            (tail.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / tail.len() as f64).sqrt();
        20.0 * (rms * 2f64.sqrt()).log10()
    }

    #[test]
    fn responses_match_their_definitions() {
        let hp = Band::HighPass {
            freq: 100.0,
            q: default_q(),
        };
        assert!((measured_db(hp, 100.0) + 3.01).abs() < 0.05);
        assert!(measured_db(hp, 25.0) < -23.0); // 12 dB/octave: two octaves below ~ -24 dB
        assert!(measured_db(hp, 5000.0).abs() < 0.01);
        let lp = Band::LowPass {
            freq: 1000.0,
            q: default_q(),
        };
        assert!((measured_db(lp, 1000.0) + 3.01).abs() < 0.05);
        assert!(measured_db(lp, 100.0).abs() < 0.01);
        let pk = Band::Peak {
            freq: 2000.0,
            gain_db: 6.0,
            q: 1.0,
        };
        assert!((measured_db(pk, 2000.0) - 6.0).abs() < 0.05);
        assert!(measured_db(pk, 100.0).abs() < 0.1);
        let ls = Band::LowShelf {
            freq: 200.0,
            gain_db: -8.0,
            q: default_q(),
        };
        assert!((measured_db(ls, 30.0) + 8.0).abs() < 0.2);
        assert!(measured_db(ls, 8000.0).abs() < 0.05);
        let hs = Band::HighShelf {
            freq: 4000.0,
            gain_db: 5.0,
            q: default_q(),
        };
        assert!((measured_db(hs, 15000.0) - 5.0).abs() < 0.2);
        assert!(measured_db(hs, 200.0).abs() < 0.05);
        // The analytic response agrees with the measurement.
        let c = pk.coefficients(48000);
        assert!((Biquad::response_db(&c, 2000.0, 48000) - 6.0).abs() < 1e-9);
    }

    #[test]
    fn bad_bands_are_rejected() {
        let e = Band::LowPass {
            freq: 30000.0,
            q: 0.7,
        }
        .validate(48000, "object 'x' eq band 1")
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("object 'x' eq band 1") && e.contains("Nyquist"),
            "{e}"
        );
        assert!(Band::Peak {
            freq: 100.0,
            gain_db: f64::NAN,
            q: 1.0
        }
        .validate(48000, "b")
        .is_err());
        assert!(Band::HighPass {
            freq: 100.0,
            q: 0.0
        }
        .validate(48000, "b")
        .is_err());
    }
}
