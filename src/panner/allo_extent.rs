//! BS.2127's allocentric extent for Cartesian blocks (ITU-R BS.2127-1 §7.3.10; the EBU ADM
//! Renderer's `core/objectbased/allo_extent.py` is the reference it is tested against).
//!
//! The room cube is filled with a separable grid of virtual sources (40 along X and Y; 40 along
//! Z when the speakers stand on at least three heights, else 20 from the floor up), each with a
//! weight that falls off (to -130 dB at most) with its distance from the object, scaled by the
//! object's size along that axis. Each speaker gets `f = sum (g w)^p` per axis, where `g` is the
//! separable allocentric pan of the virtual source to that speaker (sine/cosine between the
//! neighbouring planes, rows and columns) and `p` falls from 6 to 2 as the object grows; the
//! product over the axes, normalised and mixed with the room's boundary terms, gives the
//! extent gains, crossfaded with the point gains of the same separable panner for small sizes.
//!
//! The sizes along X, Y and Z are the block's `width`, `height` and `depth`, in that order, as
//! ear 2.1.0 passes them.

/// Virtual sources per axis.
const NUM_VS: usize = 40;
const NEG130DB_EXP: f64 = 6.5;

/// `np.linspace(a, b, n)`: `a + i * step`, the last point exactly `b`.
fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    let step = (b - a) / (n - 1) as f64;
    let mut v: Vec<f64> = (0..n).map(|i| i as f64 * step + a).collect();
    v[n - 1] = b;
    v
}

fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    super::extent::interp(x, xp, fp)
}

fn scale_size(v: f64) -> f64 {
    interp(
        v.min(1.0),
        &[0.0, 0.2, 0.5, 0.75, 1.0],
        &[0.0, 0.3, 1.0, 1.8, 2.8],
    )
}

/// The effective size for the speakers' arrangement (a line, a plane or a cube).
fn s_eff(pos: &[[f64; 3]], sx: f64, sy: f64, sz: f64) -> f64 {
    let p0 = pos[0];
    if pos.iter().all(|p| p[1] == p0[1] && p[2] == p0[2]) {
        sx
    } else if pos.iter().all(|p| p[2] == p0[2]) {
        let (lo, hi) = (sx.min(sy), sx.max(sy));
        0.75 * hi + 0.25 * lo
    } else {
        let mut s = [sx, sy, sz];
        s.sort_by(|a, b| a.partial_cmp(b).expect("finite sizes"));
        (6.0 / 9.0) * s[2] + (2.0 / 9.0) * s[1] + (1.0 / 9.0) * s[0]
    }
}

fn exponent(s_eff: f64) -> f64 {
    if s_eff <= 0.5 {
        6.0
    } else {
        6.0 - 4.0 * ((s_eff - 0.5) / (2.8 - 0.5))
    }
}

fn h(s: f64, d_bound: f64) -> f64 {
    if d_bound >= 2.0 * s && d_bound >= 0.4 {
        let n = (2.0 * s).max(0.4);
        (n * n * n / (0.16 * 2.0 * s)).powf(1.0 / 3.0)
    } else {
        let a = d_bound / 0.4;
        (d_bound / 2.0 * (a * a)).powf(1.0 / 3.0)
    }
}

fn mu(dim: usize, s: [f64; 3], o: [f64; 3]) -> f64 {
    let bound = |k: usize| {
        (0..k)
            .map(|i| (o[i] + 1.0).min(1.0 - o[i]))
            .fold(f64::INFINITY, f64::min)
    };
    match dim {
        1 => {
            let n = h(s[0], bound(1));
            n * n * n
        }
        2 => {
            let d = bound(2);
            (h(s[0], d) * h(s[1], d)).powf(1.5)
        }
        _ => {
            let d = bound(3);
            h(s[0], d) * h(s[1], d) * h(s[2], d)
        }
    }
}

/// Number of axes along which the speakers are not all at the same coordinate.
fn dim(pos: &[[f64; 3]]) -> usize {
    (0..3)
        .filter(|&k| pos.iter().any(|p| p[k] != pos[0][k]))
        .count()
}

/// The nearest coordinates at or below and at or above `v` among `coords`.
fn bounds(v: f64, coords: impl Iterator<Item = f64>) -> (Option<f64>, Option<f64>) {
    let (mut lo, mut hi): (Option<f64>, Option<f64>) = (None, None);
    for c in coords {
        if c <= v {
            lo = Some(lo.map_or(c, |l| l.max(c)));
        }
        if c >= v {
            hi = Some(hi.map_or(c, |x| x.min(c)));
        }
    }
    (lo, hi)
}

/// The separable pan of coordinate `v` to a speaker at `own` between neighbours `lo`/`hi`.
fn axis_gain(v: f64, own: f64, (lo, hi): (Option<f64>, Option<f64>)) -> f64 {
    match (lo, hi) {
        (None, Some(h)) | (Some(h), None) => f64::from(u8::from(own == h)),
        (Some(l), Some(h)) if l <= own && own <= h => {
            if l == h {
                1.0
            } else if l == own {
                ((v - l) / (h - l) * std::f64::consts::FRAC_PI_2).cos()
            } else {
                ((v - l) / (h - l) * std::f64::consts::FRAC_PI_2).sin()
            }
        }
        _ => 0.0,
    }
}

/// Separable allocentric gains of the grid coordinates to each speaker: per speaker, its
/// gains along X (`xs`), Y (`ys`) and Z (`zs`).
type Separated = Vec<[Vec<f64>; 3]>;

fn separated(pos: &[[f64; 3]], xs: &[f64], ys: &[f64], zs: &[f64]) -> Separated {
    pos.iter()
        .map(|&[px, py, pz]| {
            let gz = zs
                .iter()
                .map(|&z| axis_gain(z, pz, bounds(z, pos.iter().map(|p| p[2]))))
                .collect();
            let gy = ys
                .iter()
                .map(|&y| {
                    let row = pos.iter().filter(|p| p[2] == pz).map(|p| p[1]);
                    axis_gain(y, py, bounds(y, row))
                })
                .collect();
            let gx = xs
                .iter()
                .map(|&x| {
                    let col = pos
                        .iter()
                        .filter(|p| p[2] == pz && p[1] == py)
                        .map(|p| p[0]);
                    axis_gain(x, px, bounds(x, col))
                })
                .collect();
            [gx, gy, gz]
        })
        .collect()
}

fn safe_normalise(v: &mut [f64]) {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if n > 1e-16 {
        v.iter_mut().for_each(|x| *x /= n);
    } else {
        v.iter_mut().for_each(|x| *x = 0.0);
    }
}

/// The grid of one set of speakers: coordinates and their separable gains, which depend only
/// on the speakers, so they are computed once per set.
#[derive(Debug, Clone)]
pub struct AlloExtent {
    positions: Vec<[f64; 3]>,
    grid: [Vec<f64>; 3],
    gains: Separated,
    /// Speakers stand on at least three heights: Z spans the whole cube.
    full_z: bool,
}

impl AlloExtent {
    /// Prepares the grid for speakers at allocentric `positions`.
    pub fn new(positions: &[[f64; 3]]) -> AlloExtent {
        let mut heights: Vec<f64> = positions.iter().map(|p| p[2]).collect();
        heights.sort_by(|a, b| a.partial_cmp(b).expect("finite positions"));
        heights.dedup();
        let full_z = heights.len() >= 3;
        let xs = linspace(-1.0, 1.0, NUM_VS);
        let ys = linspace(-1.0, 1.0, NUM_VS);
        let zs = if full_z {
            linspace(-1.0, 1.0, NUM_VS)
        } else {
            linspace(0.0, 1.0, NUM_VS / 2)
        };
        let gains = separated(positions, &xs, &ys, &zs);
        AlloExtent {
            positions: positions.to_vec(),
            grid: [xs, ys, zs],
            gains,
            full_z,
        }
    }

    /// Gains (one per speaker, unit power) of an object at `position` (clipped to the cube)
    /// with sizes `size` along X, Y and Z (0-1).
    pub fn gains(&self, position: [f64; 3], size: [f64; 3]) -> Vec<f64> {
        let pos = &self.positions;
        let [xo, yo, mut zo] = position;
        if !self.full_z {
            zo = zo.max(0.0);
        }
        let o = [xo, yo, zo];
        let n = |k: usize| self.grid[k].len();
        let s: [f64; 3] = std::array::from_fn(|k| scale_size(size[k]).max(2.0 / (n(k) - 1) as f64));
        let se = s_eff(pos, s[0], s[1], s[2]);
        let p = exponent(se);
        let m = mu(dim(pos), s, o);
        // Per-axis weights of the grid.
        let w: [Vec<f64>; 3] = std::array::from_fn(|k| {
            let scale = if k == 2 { s[2] } else { 2.0 * s[k] };
            self.grid[k]
                .iter()
                .map(|&v| {
                    let t = -(1.5 * (v - o[k]) / scale).powi(4).min(NEG130DB_EXP);
                    let w = 10f64.powf(t);
                    if k == 2 {
                        w * (v * std::f64::consts::PI * (3.0 / 7.0)).cos()
                    } else {
                        w
                    }
                })
                .collect()
        });
        let lim = 10f64.powf(-NEG130DB_EXP);
        let spk = pos.len();
        let f = |k: usize, i: usize| {
            let v: f64 = self.gains[i][k]
                .iter()
                .zip(&w[k])
                .map(|(g, w)| (g * w).powf(p))
                .sum();
            if v < lim {
                0.0
            } else {
                v
            }
        };
        let fx: Vec<f64> = (0..spk).map(|i| f(0, i)).collect();
        let fy: Vec<f64> = (0..spk).map(|i| f(1, i)).collect();
        let fz: Vec<f64> = (0..spk).map(|i| f(2, i)).collect();
        let mut inside: Vec<f64> = (0..spk).map(|i| fx[i] * fy[i] * fz[i]).collect();
        safe_normalise(&mut inside);
        let edge = |k: usize, i: usize, last: bool| {
            let j = if last { n(k) - 1 } else { 0 };
            (self.gains[i][k][j] * w[k][j]).powf(p)
        };
        let mut size_g: Vec<f64> = (0..spk)
            .map(|i| {
                let bound = edge(0, i, false) * fy[i] * fz[i]
                    + edge(0, i, true) * fy[i] * fz[i]
                    + fx[i] * edge(1, i, false) * fz[i]
                    + fx[i] * edge(1, i, true) * fz[i]
                    + fx[i] * fy[i] * edge(2, i, true)
                    + fx[i] * fy[i] * edge(2, i, false);
                (bound + m * inside[i]).powf(1.0 / p)
            })
            .collect();
        safe_normalise(&mut size_g);
        let (alpha, beta) = if se < 0.2 {
            let a = se * std::f64::consts::PI / (0.2 * 2.0);
            (a.cos(), a.sin())
        } else {
            (0.0, 1.0)
        };
        let point = separated(pos, &[xo], &[yo], &[zo]);
        let mut total: Vec<f64> = (0..spk)
            .map(|i| alpha * point[i][0][0] * point[i][1][0] * point[i][2][0] + beta * size_g[i])
            .collect();
        safe_normalise(&mut total);
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linspace_ends_exactly() {
        let v = linspace(-1.0, 1.0, 40);
        assert_eq!((v[0], v[39]), (-1.0, 1.0));
        assert_eq!(linspace(0.0, 1.0, 20)[19], 1.0);
    }

    #[test]
    fn a_big_object_in_the_middle_feeds_every_speaker() {
        let square = [
            [-1.0, 1.0, 0.0],
            [1.0, 1.0, 0.0],
            [-1.0, -1.0, 0.0],
            [1.0, -1.0, 0.0],
        ];
        let e = AlloExtent::new(&square);
        let g = e.gains([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]);
        assert!((g.iter().map(|x| x * x).sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(g.iter().all(|&x| (x - 0.5).abs() < 1e-9), "{g:?}");
    }
}
