//! A streaming loudness meter: ITU-R BS.1770-4 / EBU R128 integrated loudness, EBU Tech 3342
//! loudness range, momentary (400 ms) and short-term (3 s) loudness.
//!
//! The K-weighted, channel-weighted signal power is summed into 10 ms sub-blocks (sample
//! exact: sub-block `k` ends at sample `floor((k + 1) * rate / 100)`). From them:
//! * momentary loudness is the mean over the last 40 sub-blocks, evaluated every 10 ms (so the
//!   maximum of a 400 ms tone is found whatever its start, as Tech 3341 case 13 asks);
//! * short-term loudness is the mean over the last 300 sub-blocks, also every 10 ms;
//! * BS.1770 gating blocks (400 ms, 75 % overlap) are the momentary windows that end on a
//!   100 ms boundary; integrated loudness gates them at -70 LUFS and then 10 LU below the
//!   absolute-gated level; incomplete blocks at the end are discarded;
//! * loudness range gates the short-term values every 100 ms at -70 LUFS and 20 LU below their
//!   power mean, then takes the 95th minus the 10th percentile (Tech 3342, nearest rank as in
//!   its MATLAB reference).
//!
//! Memory: a ring of 300 sub-blocks plus one `f64` per 100 ms for the gating blocks and the
//! short-term series (about 2.3 MB for a 10-hour programme).

use super::kweight::KWeighting;

/// Sub-blocks per second (10 ms each).
const SUB_PER_SECOND: u64 = 100;
/// Sub-blocks in a momentary window (400 ms).
const MOMENTARY_SUBS: usize = 40;
/// Sub-blocks in a short-term window (3 s).
const SHORT_TERM_SUBS: usize = 300;
/// Sub-blocks between gating blocks / short-term values kept for LRA (100 ms).
const HOP_SUBS: u64 = 10;
/// The absolute gate, LUFS.
pub const ABSOLUTE_GATE: f64 = -70.0;
/// The relative gate of BS.1770 integrated loudness, LU.
pub const RELATIVE_GATE: f64 = -10.0;
/// The relative gate of Tech 3342 loudness range, LU.
pub const LRA_RELATIVE_GATE: f64 = -20.0;

/// BS.1770 loudness of a weighted mean square: `-0.691 + 10 log10(z)`; `-inf` for zero.
pub fn lufs(mean_square: f64) -> f64 {
    -0.691 + 10.0 * mean_square.log10()
}

/// The mean square whose loudness is `l` LUFS (inverse of [`lufs`]).
pub fn mean_square(l: f64) -> f64 {
    10f64.powf((l + 0.691) / 10.0)
}

/// What a [`LoudnessMeter`] measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Loudness {
    /// Gated integrated loudness, LUFS; `None` when no block passes the gates.
    pub integrated: Option<f64>,
    /// Integrated loudness over the blocks where the dialogue channels are active (see
    /// [`LoudnessMeter::new`]); `None` without dialogue channels or dialogue.
    pub dialogue_gated: Option<f64>,
    /// Loudness range (EBU Tech 3342), LU; `None` when fewer than one short-term value passes.
    pub range: Option<f64>,
    /// Maximum momentary loudness, LUFS; `None` for programmes shorter than 400 ms or silence.
    pub max_momentary: Option<f64>,
    /// Maximum short-term loudness, LUFS; `None` for programmes shorter than 3 s or silence.
    pub max_short_term: Option<f64>,
    /// Momentary loudness every 100 ms (LUFS, `-inf` for silence); value `j` ends at `0.4 + 0.1 j` s.
    pub momentary: Vec<f64>,
    /// Short-term loudness every 100 ms (LUFS); value `j` ends at `3.0 + 0.1 j` s.
    pub short_term: Vec<f64>,
}

/// One finished 10 ms sub-block.
#[derive(Debug, Clone, Copy, Default)]
struct Sub {
    energy: f64,
    dialogue: f64,
    samples: u32,
}

/// Streaming BS.1770 meter over interleaved blocks.
#[derive(Debug, Clone)]
pub struct LoudnessMeter {
    rate: u64,
    weights: Vec<f64>,
    dialogue: Option<Vec<f64>>,
    filters: Vec<KWeighting>,
    /// Frames consumed.
    pos: u64,
    /// Sub-blocks completed.
    subs_done: u64,
    acc: f64,
    acc_dialogue: f64,
    ring: Vec<Sub>,
    blocks: Vec<f64>,
    dialogue_blocks: Vec<f64>,
    short_term: Vec<f64>,
    max_momentary: f64,
    max_short_term: f64,
    channel_sums: Vec<f64>,
}

impl LoudnessMeter {
    /// A meter for `weights.len()` interleaved channels at `rate` Hz. `weights` are the BS.1770
    /// channel weights (0 for LFE). `dialogue`, when given, weights the channels that carry
    /// dialogue (e.g. the centre); its blocks gate [`Loudness::dialogue_gated`].
    pub fn new(rate: u32, weights: Vec<f64>, dialogue: Option<Vec<f64>>) -> LoudnessMeter {
        let n = weights.len();
        LoudnessMeter {
            rate: rate as u64,
            filters: vec![KWeighting::new(rate); n],
            weights,
            dialogue,
            pos: 0,
            subs_done: 0,
            acc: 0.0,
            acc_dialogue: 0.0,
            ring: Vec::with_capacity(SHORT_TERM_SUBS),
            blocks: Vec::new(),
            dialogue_blocks: Vec::new(),
            short_term: Vec::new(),
            max_momentary: f64::NEG_INFINITY,
            max_short_term: f64::NEG_INFINITY,
            channel_sums: vec![0.0; n],
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.weights.len()
    }

    /// The end (exclusive, in frames) of the sub-block in progress.
    fn sub_end(&self) -> u64 {
        (self.subs_done + 1) * self.rate / SUB_PER_SECOND
    }

    /// Feeds interleaved frames (`block.len()` must be a multiple of the channel count).
    pub fn push(&mut self, block: &[f32]) {
        let n = self.channels();
        let frames = block.len() / n;
        let mut f = 0usize;
        while f < frames {
            let take = ((self.sub_end() - self.pos) as usize).min(frames - f);
            let chunk = &block[f * n..(f + take) * n];
            for (c, filt) in self.filters.iter_mut().enumerate() {
                let mut s = 0.0f64;
                for frame in chunk.chunks_exact(n) {
                    let y = filt.process(frame[c] as f64);
                    s += y * y;
                }
                self.channel_sums[c] = s;
            }
            for (c, s) in self.channel_sums.iter().enumerate() {
                self.acc += self.weights[c] * s;
            }
            if let Some(d) = &self.dialogue {
                for (c, s) in self.channel_sums.iter().enumerate() {
                    self.acc_dialogue += d[c] * s;
                }
            }
            self.pos += take as u64;
            f += take;
            if self.pos == self.sub_end() {
                self.finish_sub();
            }
        }
    }

    fn finish_sub(&mut self) {
        let start = self.subs_done * self.rate / SUB_PER_SECOND;
        let sub = Sub {
            energy: self.acc,
            dialogue: self.acc_dialogue,
            samples: (self.pos - start) as u32,
        };
        self.acc = 0.0;
        self.acc_dialogue = 0.0;
        if self.ring.len() == SHORT_TERM_SUBS {
            self.ring.remove(0);
        }
        self.ring.push(sub);
        self.subs_done += 1;
        let window = |subs: &[Sub]| {
            let (mut e, mut d, mut n) = (0.0, 0.0, 0u64);
            for s in subs {
                e += s.energy;
                d += s.dialogue;
                n += s.samples as u64;
            }
            (e / n as f64, d / n as f64)
        };
        let hop = self.subs_done.is_multiple_of(HOP_SUBS);
        if self.ring.len() >= MOMENTARY_SUBS {
            let (ms, md) = window(&self.ring[self.ring.len() - MOMENTARY_SUBS..]);
            self.max_momentary = self.max_momentary.max(lufs(ms));
            if hop {
                self.blocks.push(ms);
                self.dialogue_blocks.push(md);
            }
        }
        if self.ring.len() == SHORT_TERM_SUBS {
            let (ms, _) = window(&self.ring);
            let l = lufs(ms);
            self.max_short_term = self.max_short_term.max(l);
            if hop {
                self.short_term.push(l);
            }
        }
    }

    /// Ends the measurement (the incomplete sub-block is discarded) and returns the results.
    pub fn finish(self) -> Loudness {
        let finite = |x: f64| if x.is_finite() { Some(x) } else { None };
        Loudness {
            integrated: integrated(&self.blocks, None),
            dialogue_gated: self
                .dialogue
                .as_ref()
                .and_then(|_| integrated(&self.blocks, Some(&self.dialogue_blocks))),
            range: loudness_range(&self.short_term),
            max_momentary: finite(self.max_momentary),
            max_short_term: finite(self.max_short_term),
            momentary: self.blocks.iter().map(|&z| lufs(z)).collect(),
            short_term: self.short_term,
        }
    }
}

/// Power mean of the blocks passing `pass`, or `None` when none pass.
fn gated_mean(blocks: &[f64], pass: impl Fn(usize) -> bool) -> Option<f64> {
    let (mut sum, mut n) = (0.0, 0usize);
    for (j, &z) in blocks.iter().enumerate() {
        if pass(j) {
            sum += z;
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

/// BS.1770 gated integrated loudness of gating-block mean squares. With `gate_by`, the gates
/// are decided on those blocks instead (the dialogue channels) and applied to `blocks`.
pub fn integrated(blocks: &[f64], gate_by: Option<&[f64]>) -> Option<f64> {
    let gate = gate_by.unwrap_or(blocks);
    let above_abs = |j: usize| lufs(gate[j]) > ABSOLUTE_GATE;
    let relative = lufs(gated_mean(gate, above_abs)?) + RELATIVE_GATE;
    let pass =
        |j: usize| above_abs(j) && lufs(gate[j]) > relative && lufs(blocks[j]) > ABSOLUTE_GATE;
    gated_mean(blocks, pass).map(lufs)
}

/// EBU Tech 3342 loudness range of short-term loudness values (LUFS, >= 10 per second).
pub fn loudness_range(short_term: &[f64]) -> Option<f64> {
    let above: Vec<f64> = short_term
        .iter()
        .copied()
        .filter(|&l| l >= ABSOLUTE_GATE)
        .collect();
    if above.is_empty() {
        return None;
    }
    let power = above.iter().map(|&l| 10f64.powf(l / 10.0)).sum::<f64>() / above.len() as f64;
    let threshold = 10.0 * power.log10() + LRA_RELATIVE_GATE;
    let mut kept: Vec<f64> = above.into_iter().filter(|&l| l >= threshold).collect();
    kept.sort_by(f64::total_cmp);
    let n = kept.len();
    let at = |p: f64| kept[((n - 1) as f64 * p).round() as usize];
    Some(at(0.95) - at(0.10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lufs_round_trip() {
        assert!((lufs(mean_square(-23.0)) + 23.0).abs() < 1e-12);
        assert_eq!(lufs(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn lra_percentiles_follow_the_matlab_reference() {
        // 100 values -10.0, -10.1, ..., -19.9; nearest-rank indices round(99*0.1)=10, round(99*0.95)=94:
        // -18.9 and -10.5.
        let v: Vec<f64> = (0..100).map(|i| -10.0 - i as f64 * 0.1).collect();
        let lra = loudness_range(&v).unwrap();
        assert!((lra - 8.4).abs() < 1e-9, "{lra}");
        assert_eq!(loudness_range(&[-80.0, -90.0]), None);
    }

    #[test]
    fn integrated_gates() {
        // Blocks at -20 and -40 LUFS in equal number: the -40 ones fall under the relative gate.
        let mut b = vec![mean_square(-20.0); 10];
        b.extend(vec![mean_square(-40.0); 10]);
        assert!((integrated(&b, None).unwrap() + 20.0).abs() < 1e-9);
        assert_eq!(integrated(&[mean_square(-75.0)], None), None);
    }
}
