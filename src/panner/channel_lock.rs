//! BS.2127's `channelLock` (ITU-R BS.2127-1 §7.3.6): an object within `maxDistance` of a
//! speaker is moved onto the nearest one, so it plays from exactly one speaker.
//!
//! Polar (egocentric) blocks measure plain distances to the speakers' unit direction vectors;
//! Cartesian (allocentric) blocks measure to the allocentric positions, with the axes weighted
//! (x by 1/16, y by 4, z by 32, squared), so that a speaker in the same row and layer wins.
//! `maxDistance` always applies to the unweighted distance. Ties (within 1e-5) go to the
//! speaker with the smallest |elevation|, then elevation, then |azimuth|, then azimuth.

use crate::geometry::Vec3;
use crate::layout::Layout;

const TOL: f64 = 1e-5;

/// The speakers a layout locks to.
#[derive(Debug, Clone)]
pub struct ChannelLock {
    positions: Vec<Vec3>,
    /// Rank of each speaker in the tie-break order (0 first).
    priority: Vec<usize>,
    /// Squared-axis weights of the distance that picks the nearest speaker.
    weights: [f64; 3],
}

impl ChannelLock {
    fn build(layout: &Layout, positions: Vec<Vec3>, weights: [f64; 3]) -> ChannelLock {
        let main: Vec<_> = layout.speakers.iter().filter(|s| !s.lfe).collect();
        let mut order: Vec<usize> = (0..main.len()).collect();
        let key = |i: usize| {
            let s = main[i];
            [s.elevation.abs(), s.elevation, s.azimuth.abs(), s.azimuth]
        };
        order.sort_by(|&a, &b| {
            key(a)
                .partial_cmp(&key(b))
                .expect("finite speaker positions")
        });
        let mut priority = vec![0; main.len()];
        for (rank, &i) in order.iter().enumerate() {
            priority[i] = rank;
        }
        ChannelLock {
            positions,
            priority,
            weights,
        }
    }

    /// Channel lock for polar blocks: the non-LFE speakers' directions.
    pub fn egocentric(layout: &Layout) -> ChannelLock {
        let positions = layout
            .speakers
            .iter()
            .filter(|s| !s.lfe)
            .map(|s| crate::geometry::direction(s.azimuth, s.elevation))
            .collect();
        Self::build(layout, positions, [1.0, 1.0, 1.0])
    }

    /// Channel lock for Cartesian blocks: the non-LFE speakers' allocentric positions, or
    /// None when a speaker has none.
    pub fn allocentric(layout: &Layout) -> Option<ChannelLock> {
        let positions = layout
            .speakers
            .iter()
            .filter(|s| !s.lfe)
            .map(|s| s.allocentric.map(|[x, y, z]| Vec3::new(x, y, z)))
            .collect::<Option<Vec<_>>>()?;
        Some(Self::build(layout, positions, [1.0 / 16.0, 4.0, 32.0]))
    }

    /// The locked position: the nearest speaker's position when one lies within
    /// `max_distance` (None: any distance), else `position` unchanged. Speakers marked in
    /// `excluded` (non-LFE speakers in layout order; empty: none) are not candidates.
    pub fn lock(&self, position: Vec3, max_distance: Option<f64>, excluded: &[bool]) -> Vec3 {
        let w = self.weights;
        let weighted = |p: &Vec3| {
            let d = position - p;
            (w[0] * d.x * d.x + w[1] * d.y * d.y + w[2] * d.z * d.z).sqrt()
        };
        let candidates: Vec<(usize, f64)> = self
            .positions
            .iter()
            .enumerate()
            .filter(|(i, _)| !excluded.get(*i).copied().unwrap_or(false))
            .filter(|(_, p)| max_distance.is_none_or(|m| (position - *p).norm() < m + TOL))
            .map(|(i, p)| (i, weighted(p)))
            .collect();
        let Some(min) = candidates.iter().map(|c| c.1).reduce(f64::min) else {
            return position;
        };
        let best = candidates
            .iter()
            .filter(|c| c.1 < min + TOL)
            .min_by_key(|c| self.priority[c.0])
            .expect("the nearest is a candidate");
        self.positions[best.0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_to_the_nearest_speaker_and_breaks_ties_by_priority() {
        let l = Layout::resolve("5.1").unwrap();
        let cl = ChannelLock::egocentric(&l);
        let near_left = crate::geometry::direction(25.0, 0.0);
        let locked = cl.lock(near_left, None, &[]);
        assert!((locked - crate::geometry::direction(30.0, 0.0)).norm() < 1e-12);
        // Exactly between M+000 and M+030: the centre (smaller |azimuth|) wins.
        let mid = crate::geometry::direction(15.0, 0.0);
        assert!((cl.lock(mid, None, &[]) - Vec3::new(0.0, 1.0, 0.0)).norm() < 1e-12);
        // Too far for maxDistance: unchanged.
        assert_eq!(cl.lock(mid, Some(0.1), &[]), mid);
    }
}
