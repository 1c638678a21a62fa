//! The per-system meter: loudness, true peak, per-channel levels, stereo correlation,
//! channel-pair correlations and digital silence, fed block by block.

use std::sync::Arc;

use super::loudness::{Loudness, LoudnessMeter};
use super::system::{System, SystemKind};
use super::truepeak::{Interpolator, TruePeak};

/// A sample at or beyond this magnitude counts as clipped: the largest positive 16-bit code,
/// 32767/32768 (-0.00027 dBFS). Integer files at full scale and float overs both count.
pub const CLIP_LEVEL: f32 = 32767.0 / 32768.0;
/// A frame is digital silence when every channel is within one 24-bit LSB of zero.
pub const SILENCE_LEVEL: f32 = 1.0 / 8_388_608.0;

/// Plain measures of one channel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChannelLevels {
    /// Largest |sample|.
    pub peak: f32,
    /// True peak (linear).
    pub true_peak: f32,
    /// Mean square of the samples.
    pub mean_square: f64,
    /// Mean of the samples (DC offset, fraction of full scale).
    pub mean: f64,
    /// Samples at or beyond [`CLIP_LEVEL`].
    pub clipped: u64,
}

/// A run of digital silence: start frame and length in frames.
pub type Run = (u64, u64);

/// What a [`SystemMeter`] measured.
#[derive(Debug, Clone, Default)]
pub struct Measures {
    /// Frames measured.
    pub frames: u64,
    /// BS.1770 loudness of the system.
    pub loudness: Loudness,
    /// For two-channel systems: loudness of (L + R) / 2 as dual mono.
    pub mono_loudness: Option<Loudness>,
    /// Per channel levels.
    pub channels: Vec<ChannelLevels>,
    /// For two-channel systems: sum(L R) / sqrt(sum(L^2) sum(R^2)).
    pub correlation: Option<f64>,
    /// For the own system: means of x_i x_j over the programme, `pairs[i * n + j]` for i < j.
    pub pairs: Option<Vec<f64>>,
    /// Silence at the start (frames).
    pub leading_silence: u64,
    /// Silence at the end (frames).
    pub trailing_silence: u64,
    /// Runs of silence inside the programme at least the minimum length (at most 1000 kept).
    pub silences: Vec<Run>,
    /// Runs inside the programme that were found (including any beyond the 1000 kept).
    pub silence_count: u64,
}

/// Runs of frames in which every channel is silent.
#[derive(Debug, Clone, Default)]
struct SilenceTracker {
    min_frames: u64,
    run_start: Option<u64>,
    leading: Option<u64>,
    runs: Vec<Run>,
    count: u64,
}

impl SilenceTracker {
    fn frame(&mut self, at: u64, silent: bool) {
        match (silent, self.run_start) {
            (true, None) => self.run_start = Some(at),
            (false, Some(start)) => {
                self.run_start = None;
                if start == 0 {
                    self.leading = Some(at);
                } else if at - start >= self.min_frames {
                    self.count += 1;
                    if self.runs.len() < 1000 {
                        self.runs.push((start, at - start));
                    }
                }
            }
            (false, None) if self.leading.is_none() => self.leading = Some(0),
            _ => {}
        }
    }
}

/// Streaming meter of one playback system.
pub struct SystemMeter {
    channels: usize,
    loudness: LoudnessMeter,
    mono: Option<(LoudnessMeter, Vec<f32>)>,
    true_peaks: Vec<TruePeak>,
    levels: Vec<ChannelLevels>,
    sums: Vec<(f64, f64)>,
    lr: Option<[f64; 3]>,
    pairs: Option<Vec<f64>>,
    silence: SilenceTracker,
    frames: u64,
    /// One channel of the block, per channel.
    planar: Vec<Vec<f32>>,
    /// Scratch for the system's feed output.
    pub scratch: Vec<f32>,
}

impl SystemMeter {
    /// A meter for `system` at `rate` Hz; `min_silence` frames make a reported silence run.
    pub fn new(
        system: &System,
        rate: u32,
        interp: Arc<Interpolator>,
        min_silence: u64,
    ) -> SystemMeter {
        let n = system.channels();
        let stereo = n == 2 && matches!(system.kind, SystemKind::Own | SystemKind::FoldDown);
        SystemMeter {
            channels: n,
            loudness: LoudnessMeter::new(rate, system.weights.clone(), system.dialogue.clone()),
            mono: stereo.then(|| (LoudnessMeter::new(rate, vec![2.0], None), Vec::new())),
            true_peaks: (0..n).map(|_| TruePeak::new(interp.clone())).collect(),
            levels: vec![ChannelLevels::default(); n],
            sums: vec![(0.0, 0.0); n],
            lr: (n == 2).then_some([0.0; 3]),
            pairs: (system.kind == SystemKind::Own && n > 1).then(|| vec![0.0; n * n]),
            silence: SilenceTracker {
                min_frames: min_silence.max(1),
                ..Default::default()
            },
            frames: 0,
            planar: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Measures the system's channels in `block` (interleaved). The loudness meters, the
    /// cross-channel measures and each channel's levels and true peak run side by side on the
    /// thread pool; each keeps its own state, so the result does not depend on the thread count.
    pub fn push(&mut self, block: &[f32]) {
        use rayon::prelude::*;
        let n = self.channels;
        let frames = block.len() / n;
        let start = self.frames;
        let (loudness, mono, lr, pairs, silence) = (
            &mut self.loudness,
            &mut self.mono,
            &mut self.lr,
            &mut self.pairs,
            &mut self.silence,
        );
        if self.planar.len() != n {
            self.planar = vec![Vec::new(); n];
        }
        let per_channel = self
            .levels
            .par_iter_mut()
            .zip(self.sums.par_iter_mut())
            .zip(self.true_peaks.par_iter_mut())
            .zip(self.planar.par_iter_mut())
            .enumerate();
        rayon::join(
            || {
                loudness.push(block);
                if let Some((meter, buf)) = mono {
                    buf.clear();
                    buf.extend(block.chunks_exact(2).map(|f| 0.5 * (f[0] + f[1])));
                    meter.push(buf);
                }
                if let Some(lr) = lr {
                    for f in block.chunks_exact(2) {
                        let (l, r) = (f[0] as f64, f[1] as f64);
                        lr[0] += l * r;
                        lr[1] += l * l;
                        lr[2] += r * r;
                    }
                }
                if let Some(p) = pairs {
                    for f in block.chunks_exact(n) {
                        for i in 0..n {
                            let xi = f[i] as f64;
                            for j in i + 1..n {
                                p[i * n + j] += xi * f[j] as f64;
                            }
                        }
                    }
                }
                for (k, f) in block.chunks_exact(n).enumerate() {
                    let silent = f.iter().all(|x| x.abs() <= SILENCE_LEVEL);
                    silence.frame(start + k as u64, silent);
                }
            },
            || {
                per_channel.for_each(|(c, (((lv, sums), tp), planar))| {
                    planar.clear();
                    planar.extend(block.iter().skip(c).step_by(n));
                    let (mut sq, mut sum) = (0.0f64, 0.0f64);
                    for &x in planar.iter() {
                        let a = x.abs();
                        lv.peak = lv.peak.max(a);
                        if a >= CLIP_LEVEL {
                            lv.clipped += 1;
                        }
                        sq += (x as f64) * (x as f64);
                        sum += x as f64;
                    }
                    sums.0 += sq;
                    sums.1 += sum;
                    tp.push(planar);
                });
            },
        );
        self.frames += frames as u64;
    }

    /// Ends the measurement.
    pub fn finish(self) -> Measures {
        let frames = self.frames;
        let mut channels = self.levels;
        for ((lv, tp), (sq, sum)) in channels.iter_mut().zip(self.true_peaks).zip(self.sums) {
            lv.true_peak = tp.finish().max(lv.peak);
            if frames > 0 {
                lv.mean_square = sq / frames as f64;
                lv.mean = sum / frames as f64;
            }
        }
        let mut silence = self.silence;
        let (leading, trailing) = match (silence.run_start, silence.leading) {
            // Silent from start to end.
            (Some(0), _) => (frames, frames),
            (Some(start), lead) => (lead.unwrap_or(0), frames - start),
            (None, lead) => (lead.unwrap_or(0), 0),
        };
        silence.runs.sort();
        Measures {
            frames,
            loudness: self.loudness.finish(),
            mono_loudness: self.mono.map(|(m, _)| m.finish()),
            channels,
            correlation: self
                .lr
                .and_then(|[lr, ll, rr]| (ll > 0.0 && rr > 0.0).then(|| lr / (ll * rr).sqrt())),
            pairs: self.pairs.map(|p| {
                p.into_iter()
                    .map(|s| if frames > 0 { s / frames as f64 } else { 0.0 })
                    .collect()
            }),
            leading_silence: leading,
            trailing_silence: trailing,
            silences: silence.runs,
            silence_count: silence.count,
        }
    }
}
