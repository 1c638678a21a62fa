//! BS.2127's polar extent (ITU-R BS.2127-1 §7.3.9; the EBU ADM Renderer's
//! `core/objectbased/extent.py` is the reference it is tested against).
//!
//! An object with a `width` and `height` (degrees) is spread over a fixed grid of virtual
//! sources covering the sphere (37 rows, 5 degrees apart, each row with as many points as
//! its circumference holds at that spacing). A weighting function is 1 inside a rounded
//! rectangle of the object's width and height centred on its direction and fades to 0 over
//! 10 degrees outside it; the gains are the weighted sum of the virtual sources' point-source
//! gains, normalised to unit power. Below 10 degrees of extent the result is crossfaded in
//! power with the point-source gains. Distance changes the extent ([`extent_mod`]: nearer is
//! wider, 360 degrees at the centre of the room) and `depth` renders two distances,
//! `distance +- depth / 2`, combined in power.

use std::f64::consts::PI;

use super::gain_calc::PointGains;
use crate::geometry::Vec3;

/// Rows of the virtual-source grid (5-degree spacing).
const ROWS: usize = 37;
/// Width of the weighting function's fade, degrees.
const FADE_DEG: f64 = 10.0;

/// `np.interp`: piecewise linear through (xp, fp), clamped to the end values outside.
pub(crate) fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    if x <= xp[0] {
        return fp[0];
    }
    for k in 1..xp.len() {
        if x <= xp[k] {
            let t = (x - xp[k - 1]) / (xp[k] - xp[k - 1]);
            return fp[k - 1] + t * (fp[k] - fp[k - 1]);
        }
    }
    fp[xp.len() - 1]
}

/// ADM azimuth of a vector (degrees, positive to the left), as BS.2127 computes it.
pub(crate) fn azimuth(v: &Vec3) -> f64 {
    (-v.x).atan2(v.y).to_degrees()
}

/// ADM elevation of a vector (degrees).
pub(crate) fn elevation(v: &Vec3) -> f64 {
    v.z.atan2(v.x.hypot(v.y)).to_degrees()
}

/// BS.2127's local coordinate system at (az, el): rows are the unit vectors to the right,
/// towards (az, el), and up, so that `(0, 1, 0)` maps onto the direction.
pub(crate) fn local_basis(az: f64, el: f64) -> [Vec3; 3] {
    [
        crate::geometry::direction(az - 90.0, 0.0),
        crate::geometry::direction(az, el),
        crate::geometry::direction(az, el + 90.0),
    ]
}

/// A vector given in a local basis (x, y, z components) in world coordinates.
pub(crate) fn on_basis(basis: &[Vec3; 3], v: &Vec3) -> Vec3 {
    basis[0] * v.x + basis[1] * v.y + basis[2] * v.z
}

/// The extent (degrees) an object of `extent` at `distance` is rendered with: the angle a
/// fixed size subtends, 360 at distance 0, `extent` itself at distance 1, narrower beyond.
pub fn extent_mod(extent: f64, distance: f64) -> f64 {
    let size = interp(extent, &[0.0, 360.0], &[0.2, 1.0]);
    let extent_1 = 4.0 * size.atan2(1.0).to_degrees();
    interp(
        4.0 * size.atan2(distance).to_degrees(),
        &[0.0, extent_1, 360.0],
        &[0.0, extent, 360.0],
    )
}

/// The virtual-source grid: points spread evenly over the sphere, row by row from the bottom.
fn grid() -> Vec<Vec3> {
    let mut out = Vec::new();
    for k in 0..ROWS {
        let el = -90.0 + 180.0 * k as f64 / (ROWS - 1) as f64;
        let radius = el.to_radians().cos();
        let n = ((radius * 2.0 * (ROWS - 1) as f64).round_ties_even() as usize).max(1);
        let step = 360.0 / n as f64;
        for j in 0..n {
            out.push(crate::geometry::direction(j as f64 * step, el));
        }
    }
    out
}

/// The weighting function of an extent of `width` x `height` (degrees, each at least the
/// fade's half) around `position`: 1 inside, fading to 0 over [`FADE_DEG`] outside.
struct Weight {
    /// Basis whose +y is the source and whose x runs along the longer side.
    basis: [Vec3; 3],
    circle_radius: f64,
    circle_pos: f64,
    circles: [Vec3; 2],
    /// Cosine of the largest angle from the source at which the weight can be non-zero: the
    /// shape's half-length plus its radius plus the fade (triangle inequality on the sphere),
    /// with a margin; grid points further away are skipped without evaluating the weight.
    cos_reach: f64,
}

impl Weight {
    fn new(position: &Vec3, width: f64, height: f64) -> Weight {
        let (mut w, mut h) = (width.to_radians() / 2.0, height.to_radians() / 2.0);
        let n = position.norm();
        let dir = if n < 1e-10 {
            Vec3::new(0.0, 1.0, 0.0)
        } else {
            position / n
        };
        let el = elevation(&dir);
        let az = if el.abs() > 90.0 - 1e-5 {
            0.0
        } else {
            azimuth(&dir)
        };
        let mut basis = local_basis(az, el);
        let circle_radius = w.min(h);
        if h > w {
            std::mem::swap(&mut w, &mut h);
            basis = [basis[2], basis[1], basis[0]];
        }
        // Widen towards the back so that a full-width extent closes around the listener.
        let width_mod = interp(w, &[0.0, PI / 2.0, PI], &[0.0, PI / 2.0, PI + h]);
        let w = interp(
            h,
            &[0.0, PI / 4.0, PI / 2.0, PI],
            &[width_mod, width_mod, w, w],
        );
        let circle_pos = w - circle_radius;
        let at = |a: f64| on_basis(&basis, &Vec3::new(a.sin(), a.cos(), 0.0));
        let reach = circle_pos.max(0.0) + circle_radius + FADE_DEG.to_radians() + 1e-6;
        Weight {
            basis,
            circle_radius,
            circle_pos,
            circles: [at(-circle_pos), at(circle_pos)],
            cos_reach: if reach >= PI { -2.0 } else { reach.cos() },
        }
    }

    fn at(&self, v: &Vec3) -> f64 {
        let c = |k: usize| self.basis[k].dot(v).clamp(-1.0, 1.0);
        let az = c(0).atan2(c(1));
        let distance = if az.abs() <= self.circle_pos {
            c(2).asin().abs() - self.circle_radius
        } else {
            let d = |p: &Vec3| p.dot(v).clamp(-1.0, 1.0).acos();
            d(&self.circles[0]).min(d(&self.circles[1])) - self.circle_radius
        };
        interp(distance, &[0.0, FADE_DEG.to_radians()], &[1.0, 0.0])
    }
}

/// BS.2127's polar extent panner for one layout: the virtual-source grid with its
/// point-source gains, computed once.
#[derive(Debug, Clone)]
pub struct PolarExtent {
    positions: Vec<Vec3>,
    /// Point-source gains of each grid position, `channels` per position.
    gains: Vec<f64>,
    channels: usize,
}

impl PolarExtent {
    /// Pans every grid position with `point` (BS.2127's point-source panner of the layout).
    pub fn new(point: &PointGains) -> PolarExtent {
        let positions = grid();
        let channels = point.channels();
        let mut gains = vec![0.0; positions.len() * channels];
        for (p, g) in positions.iter().zip(gains.chunks_mut(channels)) {
            point.direction_into(*p, g);
        }
        PolarExtent {
            positions,
            gains,
            channels,
        }
    }

    /// The spread gains (unit power) of a weighting function over the grid.
    fn spread(&self, w: &Weight) -> Vec<f64> {
        let mut total = vec![0.0; self.channels];
        for (p, g) in self.positions.iter().zip(self.gains.chunks(self.channels)) {
            // Outside the reach the weight is exactly 0 (nothing would be added).
            if w.basis[1].dot(p) < w.cos_reach {
                continue;
            }
            let k = w.at(p);
            if k != 0.0 {
                for (t, &x) in total.iter_mut().zip(g) {
                    *t += k * x;
                }
            }
        }
        let norm = total.iter().map(|x| x * x).sum::<f64>().sqrt();
        total.iter_mut().for_each(|x| *x /= norm);
        total
    }

    /// Gains for a direction `position` with an extent of `width` x `height` degrees (after
    /// the distance rule): point-source gains below the fade, spread gains above, crossfaded
    /// in power in between.
    pub fn spread_gains(
        &self,
        point: &PointGains,
        position: &Vec3,
        width: f64,
        height: f64,
    ) -> Vec<f64> {
        let spread = interp(width.max(height), &[0.0, FADE_DEG], &[0.0, 1.0]);
        let direct = 1.0 - spread;
        let mut pv = vec![0.0; self.channels];
        if direct > 1e-10 {
            let mut g = vec![0.0; self.channels];
            point.direction_into(*position, &mut g);
            for (p, x) in pv.iter_mut().zip(&g) {
                *p += direct * x * x;
            }
        }
        if spread > 1e-10 {
            let w = Weight::new(
                position,
                width.max(FADE_DEG / 2.0),
                height.max(FADE_DEG / 2.0),
            );
            for (p, x) in pv.iter_mut().zip(self.spread(&w)) {
                *p += spread * x * x;
            }
        }
        pv.iter_mut().for_each(|x| *x = x.sqrt());
        pv
    }

    /// BS.2127's polar extent gains for an object at `position` (Cartesian, its length the
    /// ADM distance) with `width`, `height` (degrees) and `depth`.
    pub fn gains(
        &self,
        point: &PointGains,
        position: &Vec3,
        width: f64,
        height: f64,
        depth: f64,
    ) -> Vec<f64> {
        let d = position.norm();
        let at = |dist: f64| {
            self.spread_gains(
                point,
                position,
                extent_mod(width, dist),
                extent_mod(height, dist),
            )
        };
        if depth == 0.0 {
            return at(d);
        }
        let (a, b) = (
            at((d + depth / 2.0).max(0.0)),
            at((d - depth / 2.0).max(0.0)),
        );
        a.iter()
            .zip(&b)
            .map(|(x, y)| ((x * x + y * y) / 2.0).sqrt())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_covers_the_sphere_evenly() {
        let g = grid();
        // One point at each pole, 72 on the equator.
        assert_eq!(g.iter().filter(|p| p.z.abs() < 1e-12).count(), 72);
        assert_eq!(g.iter().filter(|p| (p.z - 1.0).abs() < 1e-12).count(), 1);
        assert!(g.iter().all(|p| (p.norm() - 1.0).abs() < 1e-12));
    }

    #[test]
    fn distance_widens_and_narrows_the_extent() {
        assert!((extent_mod(30.0, 1.0) - 30.0).abs() < 1e-9);
        assert!((extent_mod(0.0, 1.0)).abs() < 1e-9);
        assert!((extent_mod(30.0, 0.0) - 360.0).abs() < 1e-9);
        assert!(extent_mod(30.0, 0.5) > 30.0 && extent_mod(30.0, 2.0) < 30.0);
    }
}
