//! BS.2127's timing rules for metadata blocks (ADM input), as processing segments.
//!
//! Each metadata block becomes up to two segments over fractional sample times (BS.2127
//! §7 and the EBU ADM Renderer's `InterpGains` / `FixedGains`): a ramp from the previous
//! block's gains to this block's over the interpolation time, when the block starts exactly
//! where the previous one ended, then this block's gains held to its end. Sample `s` is
//! affected by a segment from `a` to `b` when `ceil(a) <= s < ceil(b)`; inside a ramp the
//! gain is `(1 - p) g_prev + p g_this` with `p = (s - a) / (b - a)`.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::panner::direct_speakers::DirectSpeakersPanner;
use crate::panner::gain_calc::{cart_to_polar, PointGains};
use crate::panner::object::ObjectGains;
use crate::scene::{BlockTarget, MetaBlock};
use crate::time::Time;

/// The gain calculators of one output layout.
pub struct BlockGains {
    object: ObjectGains,
    speakers: DirectSpeakersPanner,
    /// Cartesian objects are converted to polar (BS.2127's conversion) instead of
    /// allocentric panning: for the binaural virtual layout, which has no allocentric positions.
    cartesian_as_polar: bool,
    /// Gains come as direct then diffuse (2 x channels), for a render with a diffuse path.
    diffuse: bool,
}

impl BlockGains {
    /// Prepares the calculators for `layout`.
    /// With `diffuse`, [`BlockGains::gains`] returns each block's direct gains followed by its
    /// diffuse gains.
    pub fn new(
        layout: &crate::layout::Layout,
        cartesian_as_polar: bool,
        diffuse: bool,
    ) -> Result<BlockGains> {
        Ok(BlockGains {
            diffuse,
            object: ObjectGains::new(layout)?,
            speakers: DirectSpeakersPanner::new(layout)?,
            cartesian_as_polar,
        })
    }

    /// True if Cartesian objects can be rendered on this layout.
    pub fn takes_cartesian(&self) -> bool {
        self.cartesian_as_polar || self.point().has_allocentric()
    }

    fn point(&self) -> &PointGains {
        self.object.point()
    }

    /// The gains (one per output channel; with a diffuse path the direct gains then the
    /// diffuse ones) of a block, its block gain included.
    pub fn gains(&self, b: &MetaBlock) -> Result<Vec<f64>> {
        let mut g = match (&b.target, &b.params) {
            (BlockTarget::Polar { azimuth, elevation }, Some(p)) => {
                self.object.polar(*azimuth, *elevation, p)?
            }
            (BlockTarget::Cartesian { x, y, z }, Some(p)) => {
                self.object
                    .cartesian(*x, *y, *z, p, self.cartesian_as_polar)?
            }
            (BlockTarget::Polar { azimuth, elevation }, None) => {
                self.point().polar(*azimuth, *elevation)
            }
            (BlockTarget::Cartesian { x, y, z }, None) if self.cartesian_as_polar => {
                let (az, el, _) = cart_to_polar(*x, *y, *z);
                self.point().polar(az, el)
            }
            (BlockTarget::Cartesian { x, y, z }, None) => self.point().cartesian(*x, *y, *z)?,
            (BlockTarget::Speaker(ch), _) => self.speakers.gains(ch)?,
        };
        for v in g.iter_mut() {
            *v *= b.gain;
        }
        if self.diffuse {
            let d = b.params.as_ref().map_or(0.0, |p| p.diffuse);
            let direct: Vec<f64> = g.iter().map(|x| x * (1.0 - d).sqrt()).collect();
            let diffuse = g.iter().map(|x| x * d.sqrt());
            g = direct.into_iter().chain(diffuse).collect();
        }
        Ok(g)
    }
}

/// One processing segment: samples `first..last` get gains ramping from `from` (at the
/// fractional sample `a`) to `to` (at `b`), or `to` alone when `from` is None.
#[derive(Debug, Clone)]
struct Segment {
    a: f64,
    b: f64,
    first: i64,
    last: i64,
    from: Option<Arc<Vec<f64>>>,
    to: Arc<Vec<f64>>,
}

impl Segment {
    /// The gain of channel `c` at sample `s` (s may be `last`, the end of a piece).
    fn gain(&self, c: usize, s: i64) -> f64 {
        match &self.from {
            None => self.to[c],
            Some(from) => {
                let p = (s as f64 - self.a) / (self.b - self.a);
                (1.0 - p) * from[c] + p * self.to[c]
            }
        }
    }
}

fn ceil_or_max(t: Option<Time>, rate: u32) -> (f64, i64) {
    match t {
        Some(t) => (t.samples_f64(rate), t.ceil_samples(rate)),
        None => (f64::INFINITY, i64::MAX),
    }
}

/// The state of one item's timeline during a render.
pub struct TimelineState {
    blocks: Arc<Vec<MetaBlock>>,
    next: usize,
    last_end: Option<Option<Time>>,
    last_gains: Option<Arc<Vec<f64>>>,
    queue: VecDeque<Segment>,
    rate: u32,
    /// What names the item in messages.
    who: String,
}

impl TimelineState {
    /// A timeline at its start.
    pub fn new(blocks: Vec<MetaBlock>, rate: u32, who: String) -> TimelineState {
        TimelineState {
            blocks: Arc::new(blocks),
            next: 0,
            last_end: None,
            last_gains: None,
            queue: VecDeque::new(),
            rate,
            who,
        }
    }

    /// Interprets the next block into segments.
    fn interpret(&mut self, gains: &BlockGains) -> Result<()> {
        let b = &self.blocks[self.next];
        self.next += 1;
        let to = Arc::new(
            gains
                .gains(b)
                .map_err(|e| Error::Invalid(format!("{}: {e}", self.who)))?,
        );
        let continues = self.last_end == Some(Some(b.start));
        let target = if continues {
            Some(b.start.add(b.interpolation))
        } else {
            Some(b.start)
        };
        let (a, first) = ceil_or_max(Some(b.start), self.rate);
        let (tb, tlast) = ceil_or_max(target, self.rate);
        let (_, last) = ceil_or_max(b.end, self.rate);
        if continues && target != Some(b.start) {
            self.queue.push_back(Segment {
                a,
                b: tb,
                first,
                last: tlast,
                from: self.last_gains.clone(),
                to: to.clone(),
            });
        }
        if target != b.end {
            self.queue.push_back(Segment {
                a: tb,
                b: f64::INFINITY,
                first: tlast,
                last,
                from: None,
                to: to.clone(),
            });
        }
        self.last_end = Some(b.end);
        self.last_gains = Some(to);
        Ok(())
    }

    /// The pieces of the block of `n` frames at absolute frame `pos`: (offset, end offset,
    /// gains at the offset, gains at the end offset), flattened into `pieces` and `rows`
    /// (`2 * channels` values per piece).
    pub fn pieces(
        &mut self,
        gains: &BlockGains,
        pos: u64,
        n: usize,
        channels: usize,
        pieces: &mut Vec<(usize, usize)>,
        rows: &mut Vec<f64>,
    ) -> Result<()> {
        pieces.clear();
        rows.clear();
        let (p0, p1) = (pos as i64, pos as i64 + n as i64);
        loop {
            while self.queue.front().is_some_and(|s| s.last <= p0) {
                self.queue.pop_front();
            }
            let covered = self.queue.back().is_some_and(|s| s.last >= p1);
            if covered || self.next >= self.blocks.len() {
                break;
            }
            self.interpret(gains)?;
        }
        for s in &self.queue {
            if s.first >= p1 {
                break;
            }
            let lo = s.first.max(p0);
            let hi = s.last.min(p1);
            if lo >= hi {
                continue;
            }
            pieces.push(((lo - p0) as usize, (hi - p0) as usize));
            rows.extend((0..channels).map(|c| s.gain(c, lo)));
            rows.extend((0..channels).map(|c| s.gain(c, hi)));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Layout;

    fn block(start: (i128, i128), end: (i128, i128), interp: (i128, i128), az: f64) -> MetaBlock {
        MetaBlock {
            start: Time::new(start.0, start.1),
            end: Some(Time::new(end.0, end.1)),
            interpolation: Time::new(interp.0, interp.1),
            gain: 1.0,
            target: BlockTarget::Polar {
                azimuth: az,
                elevation: 0.0,
            },
            params: None,
        }
    }

    /// Per-sample gains of channel `c` over `frames` samples, rendered in blocks of `bs`.
    fn trace(blocks: Vec<MetaBlock>, c: usize, frames: usize, bs: usize) -> Vec<f64> {
        let layout = Layout::resolve("5.1").unwrap();
        let g = BlockGains::new(&layout, false, false).unwrap();
        let mut t = TimelineState::new(blocks, 100, "t".into());
        let mut out = vec![0.0; frames];
        let (mut pieces, mut rows) = (Vec::new(), Vec::new());
        let mut pos = 0;
        while pos < frames {
            let n = bs.min(frames - pos);
            t.pieces(&g, pos as u64, n, 6, &mut pieces, &mut rows)
                .unwrap();
            for (k, &(lo, hi)) in pieces.iter().enumerate() {
                let (g0, g1) = (rows[k * 12 + c], rows[k * 12 + 6 + c]);
                for s in lo..hi {
                    out[pos + s] = g0 + (g1 - g0) * (s - lo) as f64 / (hi - lo) as f64;
                }
            }
            pos += n;
        }
        out
    }

    #[test]
    fn ramps_over_the_block_then_holds_and_gaps_are_silent() {
        // Rate 100: block 1 at L (0..0.1 s), block 2 ramps to R over its whole 0.1 s,
        // then a gap (silence), then block 3 at R without a ramp.
        let blocks = vec![
            block((0, 1), (1, 10), (1, 10), 30.0),
            block((1, 10), (2, 10), (1, 10), -30.0),
            block((3, 10), (4, 10), (1, 10), -30.0),
        ];
        for bs in [1, 3, 7, 64] {
            let l = trace(blocks.clone(), 0, 45, bs);
            let r = trace(blocks.clone(), 1, 45, bs);
            assert!((l[0] - 1.0).abs() < 1e-12 && (l[9] - 1.0).abs() < 1e-12);
            // Sample 10 + k: p = k / 10.
            for k in 0..10 {
                assert!(
                    (l[10 + k] - (1.0 - k as f64 / 10.0)).abs() < 1e-12,
                    "bs {bs} k {k}"
                );
                assert!((r[10 + k] - k as f64 / 10.0).abs() < 1e-12);
            }
            assert!(l[20..30].iter().chain(&r[20..30]).all(|&x| x == 0.0));
            assert!(r[30..40].iter().all(|&x| (x - 1.0).abs() < 1e-12));
            assert!(r[40..].iter().all(|&x| x == 0.0));
        }
    }

    #[test]
    fn jump_position_ramps_over_the_interpolation_length() {
        let blocks = vec![
            block((0, 1), (1, 10), (0, 1), 30.0),
            block((1, 10), (3, 10), (1, 20), -30.0),
        ];
        let r = trace(blocks, 1, 30, 4);
        for k in 0..5 {
            assert!((r[10 + k] - k as f64 / 5.0).abs() < 1e-12);
        }
        assert!(r[15..30].iter().all(|&x| (x - 1.0).abs() < 1e-12));
    }

    #[test]
    fn fractional_boundaries_follow_ceil() {
        // A block from 0.105 s to 0.2 s at rate 100: samples 11..20 (ceil(10.5) = 11).
        let blocks = vec![block((105, 1000), (2, 10), (0, 1), 30.0)];
        let l = trace(blocks, 0, 25, 5);
        assert_eq!(l[10], 0.0);
        assert!((l[11] - 1.0).abs() < 1e-12);
        assert!((l[19] - 1.0).abs() < 1e-12);
        assert_eq!(l[20], 0.0);
    }
}
