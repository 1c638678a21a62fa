//! BS.2127's `objectDivergence` (ITU-R BS.2127-1 §7.3.7): an object split into three, itself
//! and two copies either side, so that it spreads as a phantom image between them.
//!
//! With divergence value `v`, the centre copy has gain `(1 - v) / (1 + v)` and each side copy
//! `v / (1 + v)` (the gains sum to 1; the three are panned separately and combined in power).
//! Polar blocks place the side copies `azimuthRange` degrees (default 45) either side of the
//! object, in the object's own frame (so an elevated object diverges along its own horizon);
//! Cartesian blocks place them `positionRange` (default 0) to the left and right along X,
//! clipped to the room.

use super::extent::{azimuth, elevation, local_basis, on_basis};
use crate::geometry::Vec3;

/// The (gain, position) of each copy of an object at `position` (Cartesian; its length the
/// polar distance) with divergence `value` and `range`; one copy when `value` is 0.
pub fn diverge(position: Vec3, value: f64, range: f64, cartesian: bool) -> Vec<(f64, Vec3)> {
    if value == 0.0 {
        return vec![(1.0, position)];
    }
    let side = value / (value + 1.0);
    let centre = (1.0 - value) / (value + 1.0);
    if cartesian {
        let clip = |v: Vec3| v.map(|c| c.clamp(-1.0, 1.0));
        let dx = Vec3::new(range, 0.0, 0.0);
        return vec![
            (side, clip(position + dx)),
            (centre, clip(position)),
            (side, clip(position - dx)),
        ];
    }
    let d = position.norm();
    let basis = local_basis(azimuth(&position), elevation(&position));
    let at = |az: f64| on_basis(&basis, &crate::geometry::polar_to_cartesian(az, 0.0, d));
    vec![(side, at(range)), (centre, position), (side, at(-range))]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_divergence_moves_the_copies_by_the_range() {
        let p = crate::geometry::direction(10.0, 0.0);
        let c = diverge(p, 1.0, 30.0, false);
        assert_eq!(c.len(), 3);
        assert!((c[0].0 - 0.5).abs() < 1e-12 && c[1].0.abs() < 1e-12);
        assert!((azimuth(&c[0].1) - 40.0).abs() < 1e-9);
        assert!((azimuth(&c[2].1) + 20.0).abs() < 1e-9);
        let g: f64 = c.iter().map(|x| x.0).sum();
        assert!((g - 1.0).abs() < 1e-12);
        let c = diverge(Vec3::new(0.9, 0.0, 0.0), 0.5, 0.3, true);
        assert_eq!(c[0].1.x, 1.0);
        assert!((c[2].1.x - 0.6).abs() < 1e-12);
    }
}
