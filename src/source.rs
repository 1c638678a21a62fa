//! Signal sources for objects and beds: audio files and built-in generators.
//!
//! A source fills blocks of planar `f32` samples; generators compute each sample from
//! its absolute index, so a render is identical however it is cut into blocks.

use std::path::Path;

use crate::error::{Error, Result};
use crate::io::{open_audio, AudioSource};
use crate::scene::{db_to_gain, Generator};

/// A running generator.
#[derive(Debug, Clone)]
pub struct GeneratorState {
    kind: Generator,
    rate: f64,
    n: u64,
    amp: f64,
    rng: u64,
    pink: [f64; 7],
}

impl GeneratorState {
    /// Starts `kind` at sample 0; `decorrelate` varies the noise seed (per bed channel).
    pub fn new(kind: &Generator, sample_rate: u32, decorrelate: u64) -> Self {
        let level = match kind {
            Generator::Sine { level_db, .. }
            | Generator::PinkNoise { level_db, .. }
            | Generator::Sweep { level_db, .. }
            | Generator::Clicks { level_db, .. } => *level_db,
            Generator::Silence => f64::NEG_INFINITY,
        };
        let seed = match kind {
            Generator::PinkNoise { seed, .. } => *seed,
            _ => 1,
        };
        // splitmix64 of the seed, never zero (xorshift state).
        let mut z = seed
            .wrapping_add(decorrelate.wrapping_mul(0x9E37_79B9_7F4A_7C15))
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        GeneratorState {
            kind: kind.clone(),
            rate: sample_rate as f64,
            n: 0,
            amp: if level.is_finite() {
                db_to_gain(level)
            } else {
                0.0
            },
            rng: z.max(1),
            pink: [0.0; 7],
        }
    }

    fn white(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        // Uniform in [-1, 1): variance 1/3.
        (self.rng >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        use std::f64::consts::TAU;
        let rate = self.rate;
        match self.kind.clone() {
            Generator::Sine { freq, .. } => {
                for (i, o) in out.iter_mut().enumerate() {
                    let n = self.n + i as u64;
                    // Phase from the integer index modulo the period keeps precision for hours.
                    let cycles = (freq * n as f64 / rate).fract();
                    *o = (self.amp * (TAU * cycles).sin()) as f32;
                }
            }
            Generator::PinkNoise { .. } => {
                // Paul Kellett's refined pink filter on white noise; scaled to unit RMS.
                const NORM: f64 = 0.11 * 1.7320508 / 0.363;
                for o in out.iter_mut() {
                    let w = self.white();
                    let b = &mut self.pink;
                    b[0] = 0.99886 * b[0] + w * 0.0555179;
                    b[1] = 0.99332 * b[1] + w * 0.0750759;
                    b[2] = 0.96900 * b[2] + w * 0.1538520;
                    b[3] = 0.86650 * b[3] + w * 0.3104856;
                    b[4] = 0.55000 * b[4] + w * 0.5329522;
                    b[5] = -0.7616 * b[5] - w * 0.0168980;
                    let p = b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362;
                    b[6] = w * 0.115926;
                    *o = (self.amp * p * NORM) as f32;
                }
            }
            Generator::Sweep {
                from, to, period, ..
            } => {
                let k = (to / from).ln();
                for (i, o) in out.iter_mut().enumerate() {
                    let n = self.n + i as u64;
                    let per = (period * rate).round().max(1.0) as u64;
                    let t = (n % per) as f64 / rate;
                    let phase = TAU * from * period / k * ((t / period * k).exp() - 1.0);
                    *o = (self.amp * phase.sin()) as f32;
                }
            }
            Generator::Clicks { bpm, .. } => {
                let beat = (60.0 / bpm * rate).round().max(1.0) as u64;
                let len = ((0.005 * rate) as u64).max(1);
                for (i, o) in out.iter_mut().enumerate() {
                    let n = (self.n + i as u64) % beat;
                    *o = if n < len {
                        let t = n as f64 / rate;
                        let w = 0.5 - 0.5 * (TAU * n as f64 / len as f64).cos();
                        (self.amp * w * (TAU * 2000.0 * t).sin()) as f32
                    } else {
                        0.0
                    };
                }
            }
            Generator::Silence => out.iter_mut().for_each(|o| *o = 0.0),
        }
        self.n += out.len() as u64;
    }
}

/// A file being streamed, de-interleaved into planar blocks.
pub struct FileSource {
    reader: Box<dyn AudioSource>,
    path: std::path::PathBuf,
    channels: usize,
    frames: Option<u64>,
    interleaved: Vec<f32>,
    ended: bool,
    /// Frames read so far (for error messages).
    position: u64,
}

impl FileSource {
    /// Opens `path`, checking its sample rate against the scene's; `at` names the user in errors.
    pub fn open(path: &Path, sample_rate: u32, at: &str) -> Result<FileSource> {
        let reader = open_audio(path).map_err(|e| Error::Invalid(format!("{at}: {e}")))?;
        let info = reader.info().clone();
        if info.sample_rate != sample_rate {
            return Err(Error::Invalid(format!(
                "{at}: {} is at {} Hz but the scene's sample_rate is {} Hz; resample the file or change sample_rate",
                path.display(),
                info.sample_rate,
                sample_rate
            )));
        }
        Ok(FileSource {
            path: path.to_path_buf(),
            position: 0,
            channels: info.channels,
            frames: info.frames,
            reader,
            interleaved: Vec::new(),
            ended: false,
        })
    }

    /// Channels in the file.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Frames in the file, if the header says.
    pub fn frames(&self) -> Option<u64> {
        self.frames
    }

    /// Reads the next `out[0].len()` frames into the planar buffers for the given channels
    /// (`pick[k]` = file channel for `out[k]`); past the end of the file, silence.
    pub fn fill(&mut self, pick: &[usize], out: &mut [Vec<f32>]) -> Result<()> {
        let n = out.first().map(|o| o.len()).unwrap_or(0);
        if let Some(wav) = self.reader.as_wav_mut() {
            // WAV: decode only the picked channels, straight into their buffers.
            let got = if self.ended {
                for o in out.iter_mut() {
                    o.iter_mut().for_each(|x| *x = 0.0);
                }
                0
            } else {
                wav.read_planar(pick, out, n)?
            };
            self.ended |= got < n;
            self.position += got as u64;
            return Ok(());
        }
        let ch = self.channels;
        self.interleaved.resize(n * ch, 0.0);
        let got = if self.ended {
            0
        } else {
            crate::io::read_frames(self.reader.as_mut(), &mut self.interleaved[..n * ch])?
        };
        self.ended |= got < n;
        if let Some(i) = self.interleaved[..got * ch]
            .iter()
            .position(|x| !x.is_finite())
        {
            return Err(Error::malformed(
                self.path.display().to_string(),
                format!(
                    "non-finite sample (NaN or infinity) in channel {} at frame {}; audio must be finite",
                    i % ch,
                    self.position + (i / ch) as u64
                ),
            ));
        }
        self.position += got as u64;
        for (k, &c) in pick.iter().enumerate() {
            let o = &mut out[k];
            for (dst, frame) in o[..got].iter_mut().zip(self.interleaved.chunks_exact(ch)) {
                *dst = frame[c];
            }
            o[got..].iter_mut().for_each(|x| *x = 0.0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rms(x: &[f32]) -> f64 {
        (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn generators_have_their_levels_and_are_block_independent() {
        let sine = Generator::Sine {
            freq: 1000.0,
            level_db: -6.0,
        };
        let mut g = GeneratorState::new(&sine, 48000, 0);
        let mut whole = vec![0.0; 48000];
        g.fill(&mut whole);
        assert!((rms(&whole) - 0.5012 / 2f64.sqrt()).abs() < 1e-3);
        let mut g = GeneratorState::new(&sine, 48000, 0);
        let mut parts = vec![0.0; 48000];
        for c in parts.chunks_mut(777) {
            g.fill(c);
        }
        assert_eq!(whole, parts);

        let pink = Generator::PinkNoise {
            level_db: -20.0,
            seed: 7,
        };
        let mut g = GeneratorState::new(&pink, 48000, 0);
        let mut x = vec![0.0; 480000];
        g.fill(&mut x);
        let db = 20.0 * rms(&x).log10();
        assert!((db + 20.0).abs() < 1.0, "pink RMS {db} dB");
        let mut g2 = GeneratorState::new(&pink, 48000, 1);
        let mut y = vec![0.0; 480000];
        g2.fill(&mut y);
        let corr: f64 = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (*a as f64) * (*b as f64))
            .sum::<f64>()
            / (rms(&x) * rms(&y) * x.len() as f64);
        assert!(corr.abs() < 0.05, "decorrelated channels: {corr}");
    }
}
