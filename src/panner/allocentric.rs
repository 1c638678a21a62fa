//! ITU-R BS.2127's allocentric point-source panner, for Cartesian (`cartesian="1"`) objects.
//!
//! An allocentric ("room-centric") object is placed in the room cube `[-1, 1]^3` (x right,
//! y front, z up) and panned over the speakers' *allocentric* positions, not over their
//! directions. BS.2127 arranges the speakers in a three-level tree:
//!
//! - **planes**: speakers with the same z, in ascending z;
//! - **rows**: within a plane, speakers with the same y, in ascending y;
//! - **columns**: within a row, the speakers in ascending x.
//!
//! For a source at `(x, y, z)` the panner brackets z between two adjacent planes (or picks one
//! plane, when z equals a plane's z or lies beyond the outermost), then inside each chosen plane
//! brackets y between two rows, and inside each chosen row brackets x between two columns.
//! Each bracket is a sine/cosine balance: with `a` the source's fraction of the way from the
//! lower to the upper coordinate, the lower side gets `cos(a·π/2)` and the upper `sin(a·π/2)`; a
//! single pick gets 1. A speaker's gain is the product of its plane's, row's and column's gains.
//! Every level keeps unit power, so the gains are power-normalised (sum of squares 1) by
//! construction, and a source exactly at a speaker's position plays from that speaker alone.
//!
//! Coordinates are grouped by exact equality, as BS.2127 does: speakers meant to share a plane
//! or a row must carry identical numbers. This module knows nothing of layouts or LFE channels;
//! [`crate::panner::gain_calc::PointGains`] maps its output onto a layout's channels.

use crate::error::{Error, Result};

/// One bracket on an axis: either one index with gain 1, or two indices with cos/sin gains.
#[derive(Debug, Clone, Copy)]
enum Bracket {
    One(usize),
    Two(usize, usize, f64, f64),
}

impl Bracket {
    /// Brackets `value` in the ascending list `coords` (at least one element).
    fn find(coords: impl ExactSizeIterator<Item = f64>, value: f64) -> Bracket {
        let n = coords.len();
        let mut previous: Option<f64> = None;
        for (i, c) in coords.enumerate() {
            if c == value {
                return Bracket::One(i);
            }
            if c > value {
                return match previous {
                    // Below the lowest coordinate: the first one alone.
                    None => Bracket::One(0),
                    Some(lo) => {
                        let a = (value - lo) / (c - lo) * std::f64::consts::FRAC_PI_2;
                        Bracket::Two(i - 1, i, a.cos(), a.sin())
                    }
                };
            }
            previous = Some(c);
        }
        // Beyond the highest coordinate: the last one alone.
        Bracket::One(n - 1)
    }

    /// The (index, gain) pairs of this bracket.
    fn parts(self) -> impl Iterator<Item = (usize, f64)> {
        let (a, b) = match self {
            Bracket::One(i) => ((i, 1.0), None),
            Bracket::Two(i, j, gi, gj) => ((i, gi), Some((j, gj))),
        };
        std::iter::once(a).chain(b)
    }
}

#[derive(Debug, Clone)]
struct Row {
    y: f64,
    /// (x, speaker index), ascending x.
    columns: Vec<(f64, usize)>,
}

#[derive(Debug, Clone)]
struct Plane {
    z: f64,
    /// Ascending y.
    rows: Vec<Row>,
}

/// BS.2127's allocentric panner over a set of speaker positions in the room cube.
///
/// Built once from the positions (the tree of planes, rows and columns), then queried for any
/// number of source positions. Gains come out in the order of the positions given to
/// [`AllocentricPanner::new`].
#[derive(Debug, Clone)]
pub struct AllocentricPanner {
    speakers: usize,
    /// Ascending z.
    planes: Vec<Plane>,
}

impl AllocentricPanner {
    /// Builds the panner for speakers at `positions` (`[x, y, z]`, x right, y front, z up).
    ///
    /// Errors if there are no positions, a coordinate is not finite, or two speakers share a
    /// position (BS.2127 needs every speaker at its own place).
    pub fn new(positions: &[[f64; 3]]) -> Result<AllocentricPanner> {
        if positions.is_empty() {
            return Err(Error::Invalid(
                "the allocentric panner needs at least one speaker position".into(),
            ));
        }
        let mut planes: Vec<Plane> = Vec::new();
        for (index, p) in positions.iter().enumerate() {
            if p.iter().any(|c| !c.is_finite()) {
                return Err(Error::Invalid(format!(
                    "allocentric position {} ({}, {}, {}) is not finite",
                    index + 1,
                    p[0],
                    p[1],
                    p[2]
                )));
            }
            let [x, y, z] = *p;
            let pi = match planes.iter().position(|pl| pl.z >= z) {
                Some(i) if planes[i].z == z => i,
                at => {
                    let i = at.unwrap_or(planes.len());
                    planes.insert(i, Plane { z, rows: vec![] });
                    i
                }
            };
            let rows = &mut planes[pi].rows;
            let ri = match rows.iter().position(|r| r.y >= y) {
                Some(i) if rows[i].y == y => i,
                at => {
                    let i = at.unwrap_or(rows.len());
                    rows.insert(i, Row { y, columns: vec![] });
                    i
                }
            };
            let columns = &mut rows[ri].columns;
            let ci = match columns.iter().position(|&(cx, _)| cx >= x) {
                Some(i) if columns[i].0 == x => {
                    return Err(Error::Invalid(format!(
                        "allocentric positions {} and {} are the same point ({x}, {y}, {z}); each speaker needs its own",
                        columns[i].1 + 1,
                        index + 1
                    )));
                }
                at => at.unwrap_or(columns.len()),
            };
            columns.insert(ci, (x, index));
        }
        Ok(AllocentricPanner {
            speakers: positions.len(),
            planes,
        })
    }

    /// Number of speakers (the length of every gain vector).
    pub fn speakers(&self) -> usize {
        self.speakers
    }

    /// Gains for a source at `position` (`[x, y, z]`), one per speaker in the order given to
    /// [`AllocentricPanner::new`]. A position outside the speakers' span on an axis is treated
    /// as being at the outermost speakers on that axis. A NaN coordinate is treated as 0.
    pub fn gains(&self, position: [f64; 3]) -> Vec<f64> {
        let mut out = vec![0.0; self.speakers];
        self.gains_into(position, &mut out);
        out
    }

    /// Writes the gains for `position` into `out` (length = [`AllocentricPanner::speakers`]).
    pub fn gains_into(&self, position: [f64; 3], out: &mut [f64]) {
        assert_eq!(out.len(), self.speakers, "gain buffer length");
        let [x, y, z] = position.map(|c| if c.is_nan() { 0.0 } else { c });
        out.iter_mut().for_each(|g| *g = 0.0);
        let planes = Bracket::find(self.planes.iter().map(|p| p.z), z);
        for (pi, gz) in planes.parts() {
            let plane = &self.planes[pi];
            let rows = Bracket::find(plane.rows.iter().map(|r| r.y), y);
            for (ri, gy) in rows.parts() {
                let row = &plane.rows[ri];
                let columns = Bracket::find(row.columns.iter().map(|c| c.0), x);
                for (ci, gx) in columns.parts() {
                    out[row.columns[ci].1] = gz * gy * gx;
                }
            }
        }
    }
}

/// BS.2127 allocentric gains for one source position over `positions`, without keeping the
/// panner (see [`AllocentricPanner`] to pan many positions over the same speakers).
pub fn pan(positions: &[[f64; 3]], position: [f64; 3]) -> Result<Vec<f64>> {
    Ok(AllocentricPanner::new(positions)?.gains(position))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 4+7+0's allocentric positions (BS.2127), LFE left out.
    const P470: [[f64; 3]; 11] = [
        [-1.0, 1.0, 0.0],
        [1.0, 1.0, 0.0],
        [0.0, 1.0, 0.0],
        [-1.0, 0.0, 0.0],
        [1.0, 0.0, 0.0],
        [-1.0, -1.0, 0.0],
        [1.0, -1.0, 0.0],
        [-1.0, 1.0, 1.0],
        [1.0, 1.0, 1.0],
        [-1.0, -1.0, 1.0],
        [1.0, -1.0, 1.0],
    ];

    fn power(g: &[f64]) -> f64 {
        g.iter().map(|g| g * g).sum()
    }

    #[test]
    fn a_source_at_a_speaker_plays_from_it_alone() {
        let p = AllocentricPanner::new(&P470).unwrap();
        for (i, pos) in P470.iter().enumerate() {
            let g = p.gains(*pos);
            for (j, &gj) in g.iter().enumerate() {
                assert_eq!(gj, if i == j { 1.0 } else { 0.0 }, "{i} {j} {g:?}");
            }
        }
    }

    #[test]
    fn gains_have_unit_power_everywhere() {
        let p = AllocentricPanner::new(&P470).unwrap();
        let mut s = 0x9e3779b97f4a7c15u64;
        let mut r = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 * 2.4 - 1.2
        };
        for _ in 0..2000 {
            let g = p.gains([r(), r(), r()]);
            assert!((power(&g) - 1.0).abs() < 1e-12, "{g:?}");
            assert!(g.iter().all(|&v| v >= 0.0));
        }
    }

    #[test]
    fn balance_is_sine_cosine_per_axis() {
        let p = AllocentricPanner::new(&P470).unwrap();
        // Halfway between M+030 (x -1) and M+000 (x 0) on the front row, ear level.
        let g = p.gains([-0.5, 1.0, 0.0]);
        let h = std::f64::consts::FRAC_1_SQRT_2;
        assert!(
            (g[0] - h).abs() < 1e-15 && (g[2] - h).abs() < 1e-15,
            "{g:?}"
        );
        // Halfway up at the front-left corner: M+030 and U+045 equally.
        let g = p.gains([-1.0, 1.0, 0.5]);
        assert!(
            (g[0] - h).abs() < 1e-15 && (g[7] - h).abs() < 1e-15,
            "{g:?}"
        );
        // A quarter of the way from the back row to the side row, at the left wall.
        let g = p.gains([-1.0, -0.75, 0.0]);
        let a = 0.25 * std::f64::consts::FRAC_PI_2;
        assert!((g[5] - a.cos()).abs() < 1e-15 && (g[3] - a.sin()).abs() < 1e-15);
        // The upper plane has no side row: y brackets between its back and front rows.
        let g = p.gains([1.0, 0.0, 1.0]);
        assert!(
            (g[8] - h).abs() < 1e-15 && (g[10] - h).abs() < 1e-15,
            "{g:?}"
        );
    }

    #[test]
    fn outside_the_span_clamps_to_the_outermost_speakers() {
        let p = AllocentricPanner::new(&P470).unwrap();
        assert_eq!(p.gains([-1.0, 1.0, -1.0]), p.gains([-1.0, 1.0, 0.0]));
        assert_eq!(p.gains([-3.0, 2.0, 5.0]), p.gains([-1.0, 1.0, 1.0]));
    }

    #[test]
    fn duplicates_and_non_finite_positions_are_refused() {
        let e = AllocentricPanner::new(&[[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]])
            .unwrap_err()
            .to_string();
        assert!(e.contains("1 and 2") && e.contains("same point"), "{e}");
        assert!(AllocentricPanner::new(&[[f64::NAN, 1.0, 0.0]]).is_err());
        assert!(AllocentricPanner::new(&[]).is_err());
    }
}
