//! Interpolated, time-aligned HRTFs: a response for any direction, not only measured ones.
//!
//! Summing two measured responses whose onsets differ by a few samples comb-filters the high
//! frequencies. So each measurement is split into its **onset** (a fractional delay per ear) and
//! an **aligned** response that starts at the same instant for every direction:
//!
//! * **Onset**: the first instant the response reaches -15 dB of its own peak, to a fraction of a
//!   sample (linear interpolation between the samples either side). The aligned response is
//!   the measurement moved earlier by its onset less a common lead-in of a few samples, with an
//!   exact band-limited fractional shift (a linear phase in the frequency domain, zero-padded so
//!   nothing wraps around); delay plus aligned response give back the measurement.
//! * **Triangulation**: the measured directions are the corners of their convex hull (a
//!   triangulation of the sphere), computed once. A grid with no measurement near a pole (the
//!   MIT KEMAR set has nothing below -40 degrees) gets a virtual corner there; a direction in a
//!   triangle touching it uses the two measured corners alone (their weights renormalised), so
//!   a source below the lowest measurement sounds as on that lowest ring at its azimuth.
//! * **Weights**: VBAP-style barycentric weights `w` of the three corners (`d = sum w_i p_i`),
//!   normalised to sum to one, interpolate both the aligned responses and the two ears' delays.
//! * **Energy compensation**: where neighbouring responses differ, their weighted sum has less
//!   power than its parts. Each ear's sum is scaled to the power interpolated from the corners'
//!   (`sum w_i P_i`), with powers and cross-powers measured for pink noise (1/f weighting,
//!   20 Hz to 20 kHz), so pink noise keeps the level interpolated between measurements.
//!
//! At a measured direction the weights are (1, 0, 0) and the result is the measurement itself.

use std::collections::HashMap;

use rayon::prelude::*;
use realfft::num_complex::Complex64;
use realfft::RealFftPlanner;

use super::hrtf::{HrirPair, Hrtf};
use crate::error::{Error, Result};
use crate::geometry::{self, Vec3};

thread_local! {
    /// FFT plans for [`Interpolated::hrir`] (planning is dearer than a short transform).
    static PLANNER: std::cell::RefCell<RealFftPlanner<f64>> = std::cell::RefCell::new(RealFftPlanner::new());
}

/// Onset threshold, relative to the response's own peak (dB).
pub const ONSET_DB: f64 = -15.0;
/// Lead-in kept before the aligned onset (samples at the mix rate), for the pre-ringing of the
/// fractional shift.
pub const LEAD_IN: f64 = 32.0;
/// Aligned responses are cut where less than this part of their energy remains (dB), with a
/// half-Hann fade over the last eighth.
pub const TAIL_DB: f64 = -60.0;
/// Smallest delay of any measurement after alignment (samples): the half-length of the
/// fractional delay lines of moving sources. Sets whose earliest onset is sooner are delayed as
/// a whole by the difference (at most this many samples: 0.17 ms at 48 kHz).
pub const MIN_DELAY: f64 = 8.0;
/// A pole (elevation +-90) within this angle of a measurement gets no virtual corner (degrees).
const POLE_DEG: f64 = 1.0;
/// Barycentric weights down to this (negative) value count as inside a triangle.
const INSIDE_EPS: f64 = 1e-9;

/// A triangulation of a set of directions on the sphere (their convex hull), with virtual
/// corners at uncovered poles. See the module docs.
#[derive(Debug, Clone)]
pub struct Grid {
    /// The corners: the measured directions, then the virtual ones.
    points: Vec<Vec3>,
    /// How many of `points` are measured (the rest are virtual).
    real: usize,
    /// Triangles as corner indices, counter-clockwise seen from outside.
    triangles: Vec<[usize; 3]>,
    /// Per triangle, the inverse of the matrix whose columns are its corners.
    inverses: Vec<nalgebra::Matrix3<f64>>,
    /// Per triangle and corner `k`: the triangle across the edge opposite corner `k`.
    neighbours: Vec<[usize; 3]>,
}

/// Where a direction falls in a [`Grid`]: up to three measured corners and their weights
/// (summing to one; unused corners have weight 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Location {
    /// The triangle (use as the hint of the next lookup).
    pub triangle: usize,
    /// Measured corner indices (a corner with weight 0 may repeat another).
    pub corners: [usize; 3],
    /// Their weights.
    pub weights: [f64; 3],
}

impl Grid {
    /// Triangulates `directions` (unit vectors, at least three, not all on one great circle
    /// unless virtual poles close the hull). Duplicate directions are used once.
    pub fn new(directions: &[Vec3]) -> Result<Grid> {
        if directions.len() < 3 {
            return Err(Error::Invalid(format!(
                "{} measured directions: an HRTF set needs at least three to interpolate",
                directions.len()
            )));
        }
        let mut points: Vec<Vec3> = directions.iter().map(|d| d.normalize()).collect();
        let real = points.len();
        for z in [1.0, -1.0] {
            let pole = Vec3::new(0.0, 0.0, z);
            let near = points[..real]
                .iter()
                .any(|p| p.dot(&pole) > POLE_DEG.to_radians().cos());
            if !near {
                points.push(pole);
            }
        }
        // A deterministic jitter far below any measurement's precision breaks the ties of
        // co-planar corners (the rectangles between two elevation rings), so the hull is made of
        // triangles only; weights are computed with the exact directions.
        let jittered: Vec<Vec3> = points
            .iter()
            .enumerate()
            .map(|(i, p)| (p + 1e-7 * pseudo_random_unit(i as u64)).normalize())
            .collect();
        let triangles = convex_hull(&jittered)?;
        let inverses = triangles
            .iter()
            .map(|t| {
                let m =
                    nalgebra::Matrix3::from_columns(&[points[t[0]], points[t[1]], points[t[2]]]);
                m.try_inverse().unwrap_or_else(nalgebra::Matrix3::zeros)
            })
            .collect();
        let mut edges: HashMap<(usize, usize), usize> = HashMap::new();
        for (f, t) in triangles.iter().enumerate() {
            for k in 0..3 {
                edges.insert((t[k], t[(k + 1) % 3]), f);
            }
        }
        let neighbours = triangles
            .iter()
            .map(|t| {
                // Corner k is opposite the edge (k+1, k+2); its neighbour holds (k+2, k+1).
                std::array::from_fn(|k| {
                    let (a, b) = (t[(k + 1) % 3], t[(k + 2) % 3]);
                    edges.get(&(b, a)).copied().unwrap_or(0)
                })
            })
            .collect();
        Ok(Grid {
            points,
            real,
            triangles,
            inverses,
            neighbours,
        })
    }

    /// Number of triangles.
    pub fn triangles(&self) -> usize {
        self.triangles.len()
    }

    /// Number of virtual corners (0 to 2).
    pub fn virtual_corners(&self) -> usize {
        self.points.len() - self.real
    }

    /// The corner indices of triangle `t`.
    pub fn triangle(&self, t: usize) -> [usize; 3] {
        self.triangles[t]
    }

    fn barycentric(&self, t: usize, d: &Vec3) -> Vec3 {
        self.inverses[t] * d
    }

    /// Locates direction `d` (any length but zero), starting the search at triangle `hint`
    /// (the previous lookup's, for a moving source).
    pub fn locate(&self, d: Vec3, hint: usize) -> Location {
        let mut t = hint.min(self.triangles.len() - 1);
        let mut found = None;
        for _ in 0..64 {
            let g = self.barycentric(t, &d);
            let (k, min) = (0..3)
                .map(|k| (k, g[k]))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .expect("three corners");
            if min >= -INSIDE_EPS && g.sum() > 0.0 {
                found = Some((t, g));
                break;
            }
            t = self.neighbours[t][k];
        }
        let (t, g) = found.unwrap_or_else(|| {
            // The walk cycles only on degenerate input: search every triangle.
            (0..self.triangles.len())
                .map(|t| (t, self.barycentric(t, &d)))
                .max_by(|a, b| a.1.min().total_cmp(&b.1.min()))
                .expect("a hull has triangles")
        });
        self.weights(t, g)
    }

    /// Measured corners and normalised weights from barycentric coordinates `g` in triangle `t`.
    fn weights(&self, t: usize, g: Vec3) -> Location {
        let tri = self.triangles[t];
        let mut w = [0.0; 3];
        for k in 0..3 {
            if tri[k] < self.real {
                w[k] = g[k].max(0.0);
            }
        }
        let sum: f64 = w.iter().sum();
        let mut corners = tri;
        if sum > 0.0 {
            w.iter_mut().for_each(|x| *x /= sum);
        } else {
            // Only virtual corners carry weight (cannot happen with two virtual poles at most
            // and measured corners elsewhere); fall back to the first measured corner.
            let k = (0..3).find(|&k| tri[k] < self.real).unwrap_or(0);
            w = [0.0; 3];
            w[k] = 1.0;
        }
        // Virtual corners get weight 0; point them at a measured corner of the triangle.
        let measured = (0..3)
            .find(|&k| tri[k] < self.real)
            .map(|k| tri[k])
            .unwrap_or(0);
        for c in corners.iter_mut() {
            if *c >= self.real {
                *c = measured;
            }
        }
        Location {
            triangle: t,
            corners,
            weights: w,
        }
    }
}

/// A deterministic pseudo-random unit vector (splitmix64 hash of `seed`).
fn pseudo_random_unit(seed: u64) -> Vec3 {
    let mut s = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x2545_F491_4F6C_DD1D);
    let mut next = || {
        s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    let v = Vec3::new(next(), next(), next());
    if v.norm() < 1e-3 {
        Vec3::new(1.0, 0.0, 0.0)
    } else {
        v.normalize()
    }
}

/// Convex hull of points around the origin (incremental; `O(n * faces)`), as triangles
/// counter-clockwise seen from outside. Points inside the hull so far are skipped.
fn convex_hull(p: &[Vec3]) -> Result<Vec<[usize; 3]>> {
    let n = p.len();
    let degenerate = || {
        Error::Invalid(
            "the measured directions do not surround the listener (all on one plane)".into(),
        )
    };
    // A first tetrahedron: two far apart points, the farthest from their line, the farthest
    // from their plane.
    let a = 0;
    let b = (0..n)
        .max_by(|&i, &j| (p[i] - p[a]).norm().total_cmp(&(p[j] - p[a]).norm()))
        .ok_or_else(degenerate)?;
    let line = |i: usize| (p[i] - p[a]).cross(&(p[b] - p[a])).norm();
    let c = (0..n)
        .max_by(|&i, &j| line(i).total_cmp(&line(j)))
        .ok_or_else(degenerate)?;
    let normal = (p[b] - p[a]).cross(&(p[c] - p[a]));
    let plane = |i: usize| normal.dot(&(p[i] - p[a])).abs();
    let d = (0..n)
        .max_by(|&i, &j| plane(i).total_cmp(&plane(j)))
        .ok_or_else(degenerate)?;
    if line(c) < 1e-9 || plane(d) < 1e-9 {
        return Err(degenerate());
    }
    let inside = (p[a] + p[b] + p[c] + p[d]) / 4.0;
    let outward = |f: [usize; 3]| -> [usize; 3] {
        let nrm = (p[f[1]] - p[f[0]]).cross(&(p[f[2]] - p[f[0]]));
        if nrm.dot(&(p[f[0]] - inside)) < 0.0 {
            [f[0], f[2], f[1]]
        } else {
            f
        }
    };
    let mut faces: Vec<[usize; 3]> = [[a, b, c], [a, b, d], [a, c, d], [b, c, d]]
        .into_iter()
        .map(outward)
        .collect();
    let mut normals: Vec<Vec3> = faces.iter().map(|f| face_normal(p, f)).collect();
    for q in 0..n {
        if [a, b, c, d].contains(&q) {
            continue;
        }
        let visible: Vec<bool> = faces
            .iter()
            .zip(&normals)
            .map(|(f, nrm)| nrm.dot(&(p[q] - p[f[0]])) > 1e-15)
            .collect();
        if !visible.iter().any(|&v| v) {
            continue;
        }
        let mut lit: std::collections::HashSet<(usize, usize)> = std::collections::HashSet::new();
        for (f, _) in faces.iter().zip(&visible).filter(|(_, &v)| v) {
            for k in 0..3 {
                lit.insert((f[k], f[(k + 1) % 3]));
            }
        }
        let mut horizon: Vec<(usize, usize)> = Vec::new();
        for (f, _) in faces.iter().zip(&visible).filter(|(_, &v)| v) {
            for k in 0..3 {
                let (u, v) = (f[k], f[(k + 1) % 3]);
                if !lit.contains(&(v, u)) {
                    horizon.push((u, v));
                }
            }
        }
        let mut kept = Vec::with_capacity(faces.len() + horizon.len());
        let mut kept_normals = Vec::with_capacity(kept.capacity());
        for ((f, nrm), v) in faces.iter().zip(&normals).zip(&visible) {
            if !v {
                kept.push(*f);
                kept_normals.push(*nrm);
            }
        }
        for (u, v) in horizon {
            let f = [u, v, q];
            kept_normals.push(face_normal(p, &f));
            kept.push(f);
        }
        faces = kept;
        normals = kept_normals;
    }
    Ok(faces)
}

fn face_normal(p: &[Vec3], f: &[usize; 3]) -> Vec3 {
    (p[f[1]] - p[f[0]]).cross(&(p[f[2]] - p[f[0]]))
}

/// The onset of an impulse response in samples (fractional): the first crossing of
/// [`ONSET_DB`] below its peak. 0 for a silent response.
pub fn onset(ir: &[f32]) -> f64 {
    let peak = ir.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
    if peak == 0.0 {
        return 0.0;
    }
    let thr = peak * 10f64.powf(ONSET_DB / 20.0);
    let i = ir.iter().position(|v| v.abs() as f64 >= thr).unwrap_or(0);
    if i == 0 {
        return 0.0;
    }
    let (y0, y1) = (ir[i - 1].abs() as f64, ir[i].abs() as f64);
    let frac = if y1 > y0 { (thr - y0) / (y1 - y0) } else { 1.0 };
    (i - 1) as f64 + frac.clamp(0.0, 1.0)
}

/// `ir` delayed by `by` samples (negative: moved earlier), a band-limited fractional shift,
/// cut or zero-padded to `len` samples.
pub fn shift(ir: &[f32], by: f64, len: usize, planner: &mut RealFftPlanner<f64>) -> Vec<f32> {
    let n = (2 * (ir.len().max(len) + by.abs().ceil() as usize + 8)).next_power_of_two();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut t = vec![0f64; n];
    for (a, b) in t.iter_mut().zip(ir) {
        *a = *b as f64;
    }
    let mut s = fwd.make_output_vec();
    fwd.process(&mut t, &mut s).expect("FFT sizes");
    let bins = s.len();
    // The linear phase, by a rotation per bin, renormalised every 64 bins against drift.
    let step = Complex64::from_polar(1.0, -2.0 * std::f64::consts::PI * by / n as f64);
    let mut rot = Complex64::new(1.0, 0.0);
    for (k, x) in s.iter_mut().enumerate() {
        if k % 64 == 0 {
            rot =
                Complex64::from_polar(1.0, -2.0 * std::f64::consts::PI * k as f64 * by / n as f64);
        }
        *x *= rot;
        rot *= step;
    }
    // The Nyquist bin of a real signal is real: keep its real part (a cosine, no wrap-around).
    s[0].im = 0.0;
    s[bins - 1].im = 0.0;
    inv.process(&mut s, &mut t).expect("FFT sizes");
    let mut out: Vec<f32> = t.iter().take(len).map(|v| (v / n as f64) as f32).collect();
    out.resize(len, 0.0);
    out
}

/// Pink-noise weighted (1/f, 20 Hz to 20 kHz) inner products of responses, from their spectra.
fn pink_dot(a: &[Complex64], b: &[Complex64], rate: f64) -> f64 {
    let n = 2 * (a.len() - 1);
    let mut acc = 0.0;
    for k in 1..a.len() {
        let f = k as f64 * rate / n as f64;
        if !(20.0..=20_000.0).contains(&f) {
            continue;
        }
        acc += (a[k] * b[k].conj()).re / f;
    }
    acc
}

/// What [`Interpolated::at`] gives for one direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pan {
    /// Where the direction falls.
    pub location: Location,
    /// Per ear, the gain of each corner's aligned response (weight times the ear's energy
    /// compensation).
    pub gains: [[f64; 3]; 2],
    /// Per ear, the delay in samples at the mix rate (interpolated onsets).
    pub delays: [f64; 2],
}

/// An HRTF set split into aligned responses and onsets, triangulated: the response for any
/// direction by interpolation. See the module docs.
#[derive(Debug, Clone)]
pub struct Interpolated {
    grid: Grid,
    rate: u32,
    /// Aligned responses at the mix rate, per measurement `[left, right]`.
    aligned: Vec<[Vec<f32>; 2]>,
    /// Per measurement, per ear: the delay (samples at the mix rate) that restores the onset.
    delays: Vec<[f64; 2]>,
    /// Per triangle, per ear: pink-weighted powers `[P0, P1, P2]` and cross-powers
    /// `[P01, P02, P12]`.
    gram: Vec<[[f64; 6]; 2]>,
    origin: String,
}

impl Interpolated {
    /// Prepares every measurement of `hrtf` (at its mix rate, diffuse-field equalised as
    /// [`Hrtf::pairs`] delivers them), for sources anywhere.
    pub fn new(hrtf: &Hrtf) -> Result<Interpolated> {
        let all: Vec<usize> = (0..hrtf.measurements().len()).collect();
        let pairs = hrtf.pairs(&all)?;
        let directions: Vec<Vec3> = hrtf.measurements().iter().map(|m| m.direction()).collect();
        Self::from_pairs(&directions, &pairs, hrtf.sample_rate(), hrtf.origin())
    }

    /// Prepares only the measurements around the directions `wanted` (fixed virtual
    /// loudspeakers): [`Interpolated::at`] and [`Interpolated::hrir`] are then valid for those
    /// directions alone. Much faster than [`Interpolated::new`] when the mix rate differs from
    /// the set's (only a few responses are resampled).
    pub fn for_directions(hrtf: &Hrtf, wanted: &[Vec3]) -> Result<Interpolated> {
        let directions: Vec<Vec3> = hrtf.measurements().iter().map(|m| m.direction()).collect();
        let grid = Grid::new(&directions)?;
        let mut used = vec![false; directions.len()];
        let mut tris = Vec::new();
        for d in wanted {
            let loc = grid.locate(*d, 0);
            tris.push(loc.triangle);
            for c in grid.triangle(loc.triangle) {
                if c < directions.len() {
                    used[c] = true;
                }
            }
        }
        let chosen: Vec<usize> = (0..directions.len()).filter(|&i| used[i]).collect();
        let pairs = hrtf.pairs(&chosen)?;
        Self::build(
            grid,
            &chosen,
            &pairs,
            hrtf.sample_rate(),
            hrtf.origin(),
            Some(&tris),
        )
    }

    /// Prepares responses `pairs` measured at `directions`, at `rate`.
    pub fn from_pairs(
        directions: &[Vec3],
        pairs: &[HrirPair],
        rate: u32,
        origin: &str,
    ) -> Result<Interpolated> {
        if directions.len() != pairs.len() {
            return Err(Error::Invalid(format!(
                "{} directions for {} responses",
                directions.len(),
                pairs.len()
            )));
        }
        let grid = Grid::new(directions)?;
        let chosen: Vec<usize> = (0..pairs.len()).collect();
        Self::build(grid, &chosen, pairs, rate, origin, None)
    }

    /// Aligns the responses `pairs` of measurements `chosen` and measures the Gram matrices of
    /// `triangles` (all when None).
    fn build(
        grid: Grid,
        chosen: &[usize],
        pairs: &[HrirPair],
        rate: u32,
        origin: &str,
        triangles: Option<&[usize]>,
    ) -> Result<Interpolated> {
        let total = grid.real;
        let onsets: Vec<[f64; 2]> = pairs.iter().map(|(l, r)| [onset(l), onset(r)]).collect();
        let earliest = onsets
            .iter()
            .flat_map(|o| o.iter().copied())
            .fold(f64::INFINITY, f64::min);
        let lead = LEAD_IN.min((earliest - MIN_DELAY).floor()).max(0.0);
        // Delays of at least MIN_DELAY let a fractional delay line read its taps causally; a
        // set whose onsets are earlier is delayed as a whole by the difference.
        let extra = (MIN_DELAY - (earliest - lead)).max(0.0).ceil();
        let len = pairs
            .iter()
            .map(|(l, r)| l.len().max(r.len()))
            .max()
            .unwrap_or(1);
        let shifted: Vec<([Vec<f32>; 2], [f64; 2])> = pairs
            .par_iter()
            .zip(&onsets)
            .map_init(RealFftPlanner::<f64>::new, |planner, ((l, r), o)| {
                let d = [o[0] - lead, o[1] - lead];
                (
                    [shift(l, -d[0], len, planner), shift(r, -d[1], len, planner)],
                    [d[0] + extra, d[1] + extra],
                )
            })
            .collect();
        let mut picked: Vec<[Vec<f32>; 2]> = Vec::with_capacity(shifted.len());
        let mut delays = vec![[0.0; 2]; total];
        for ((a, d), &i) in shifted.into_iter().zip(chosen) {
            picked.push(a);
            delays[i] = d;
        }
        let keep = needed_len(&picked);
        for pair in picked.iter_mut() {
            for ir in pair.iter_mut() {
                ir.truncate(keep);
                let fade = (keep / 8).max(1);
                for (i, v) in ir[keep - fade..].iter_mut().enumerate() {
                    let x = (i + 1) as f32 / fade as f32;
                    *v *= 0.5 * (1.0 + (std::f32::consts::PI * x).cos());
                }
            }
        }
        let mut planner = RealFftPlanner::<f64>::new();
        let spectra = spectra_of(&picked, &mut planner);
        let mut aligned: Vec<[Vec<f32>; 2]> = vec![[Vec::new(), Vec::new()]; total];
        let mut spec_of: Vec<Option<usize>> = vec![None; total];
        for (k, (a, &i)) in picked.into_iter().zip(chosen).enumerate() {
            aligned[i] = a;
            spec_of[i] = Some(k);
        }
        let fs = rate as f64;
        let all: Vec<usize> = (0..grid.triangles()).collect();
        let wanted = triangles.unwrap_or(&all);
        let mut gram = vec![[[0.0; 6]; 2]; grid.triangles()];
        let rows: Vec<(usize, [[f64; 6]; 2])> = wanted
            .par_iter()
            .map(|&t| {
                // Virtual corners have weight 0: any measured corner's spectrum stands in.
                let tri = grid.triangle(t);
                let any = tri.iter().find_map(|&c| spec_of.get(c).copied().flatten());
                let c = tri.map(|i| spec_of.get(i).copied().flatten().or(any).unwrap_or(0));
                let row = std::array::from_fn(|ear| {
                    let s = |k: usize| &spectra[c[k]][ear];
                    [
                        pink_dot(s(0), s(0), fs),
                        pink_dot(s(1), s(1), fs),
                        pink_dot(s(2), s(2), fs),
                        pink_dot(s(0), s(1), fs),
                        pink_dot(s(0), s(2), fs),
                        pink_dot(s(1), s(2), fs),
                    ]
                });
                (t, row)
            })
            .collect();
        for (t, row) in rows {
            gram[t] = row;
        }
        Ok(Interpolated {
            grid,
            rate,
            aligned,
            delays,
            gram,
            origin: origin.to_string(),
        })
    }

    /// The triangulation.
    pub fn grid(&self) -> &Grid {
        &self.grid
    }

    /// The mix rate.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// Where the set came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Number of measurements.
    pub fn len(&self) -> usize {
        self.aligned.len()
    }

    /// True when there are no measurements (never for a built set).
    pub fn is_empty(&self) -> bool {
        self.aligned.is_empty()
    }

    /// Length of every aligned response (samples).
    pub fn aligned_len(&self) -> usize {
        self.aligned.iter().map(|a| a[0].len()).max().unwrap_or(0)
    }

    /// The aligned response of measurement `i` at `ear` (0 left, 1 right).
    pub fn aligned(&self, i: usize, ear: usize) -> &[f32] {
        &self.aligned[i][ear]
    }

    /// The delays (samples) of measurement `i`, `[left, right]`.
    pub fn delays(&self, i: usize) -> [f64; 2] {
        self.delays[i]
    }

    /// The largest delay of any measurement (samples).
    pub fn max_delay(&self) -> f64 {
        self.delays
            .iter()
            .flat_map(|d| d.iter().copied())
            .fold(0.0, f64::max)
    }

    /// Corner gains and ear delays for direction `d` (ADM axes: x right, y front, z up),
    /// searching from triangle `hint`.
    pub fn at(&self, d: Vec3, hint: usize) -> Pan {
        let location = self.grid.locate(d, hint);
        let w = location.weights;
        let c = location.corners;
        let g = &self.gram[location.triangle];
        let mut gains = [[0.0; 3]; 2];
        let mut delays = [0.0; 2];
        // Which Gram slots belong to the triangle's corners: virtual corners were replaced by
        // a measured one with weight 0, so the triangle's own order still applies.
        for ear in 0..2 {
            let p = &g[ear];
            let target = w[0] * p[0] + w[1] * p[1] + w[2] * p[2];
            let sum = w[0] * w[0] * p[0]
                + w[1] * w[1] * p[1]
                + w[2] * w[2] * p[2]
                + 2.0 * (w[0] * w[1] * p[3] + w[0] * w[2] * p[4] + w[1] * w[2] * p[5]);
            let comp = if sum > 0.0 && target > 0.0 {
                (target / sum).sqrt()
            } else {
                1.0
            };
            for k in 0..3 {
                gains[ear][k] = w[k] * comp;
                delays[ear] += w[k] * self.delays[c[k]][ear];
            }
        }
        Pan {
            location,
            gains,
            delays,
        }
    }

    /// The interpolated response pair for a fixed direction `(azimuth, elevation)` (degrees),
    /// with its delays applied (band-limited): for virtual loudspeakers.
    pub fn hrir(&self, azimuth: f64, elevation: f64) -> HrirPair {
        let pan = self.at(geometry::direction(azimuth, elevation), 0);
        let len = self.aligned_len() + self.max_delay().ceil() as usize + 8;
        PLANNER.with(|planner| self.hrir_with(&pan, len, &mut planner.borrow_mut()))
    }

    fn hrir_with(&self, pan: &Pan, len: usize, planner: &mut RealFftPlanner<f64>) -> HrirPair {
        let mut ears: [Vec<f32>; 2] = [Vec::new(), Vec::new()];
        for (ear, out) in ears.iter_mut().enumerate() {
            let mut sum = vec![0f32; self.aligned_len()];
            for k in 0..3 {
                let g = pan.gains[ear][k] as f32;
                if g == 0.0 {
                    continue;
                }
                for (s, a) in sum
                    .iter_mut()
                    .zip(&self.aligned[pan.location.corners[k]][ear])
                {
                    *s += g * a;
                }
            }
            *out = shift(&sum, pan.delays[ear], len, planner);
        }
        let [l, r] = ears;
        (l, r)
    }
}

/// The length that keeps all but [`TAIL_DB`] of every aligned response's energy (rounded up
/// to 16 samples).
fn needed_len(aligned: &[[Vec<f32>; 2]]) -> usize {
    let full = aligned.first().map(|a| a[0].len()).unwrap_or(1);
    let limit = 10f64.powf(TAIL_DB / 10.0);
    let mut need = 16;
    for ir in aligned.iter().flat_map(|p| p.iter()) {
        let total: f64 = ir.iter().map(|v| (*v as f64).powi(2)).sum();
        let mut tail = 0.0;
        let mut cut = ir.len();
        for (i, v) in ir.iter().enumerate().rev() {
            tail += (*v as f64).powi(2);
            if tail > limit * total {
                cut = i + 1;
                break;
            }
        }
        need = need.max(cut);
    }
    (need.div_ceil(16) * 16).min(full)
}

/// The spectra (FFT of twice the length, next power of two) of aligned responses.
fn spectra_of(
    aligned: &[[Vec<f32>; 2]],
    planner: &mut RealFftPlanner<f64>,
) -> Vec<[Vec<Complex64>; 2]> {
    let len = aligned.first().map(|a| a[0].len()).unwrap_or(1);
    let n = (2 * len).next_power_of_two();
    let fwd = planner.plan_fft_forward(n);
    let mut t = vec![0f64; n];
    aligned
        .iter()
        .map(|pair| {
            std::array::from_fn(|ear| {
                t.fill(0.0);
                for (a, b) in t.iter_mut().zip(&pair[ear]) {
                    *a = *b as f64;
                }
                let mut s = fwd.make_output_vec();
                fwd.process(&mut t, &mut s).expect("FFT sizes");
                s
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kemar() -> Hrtf {
        Hrtf::builtin(48000).unwrap()
    }

    #[test]
    fn kemar_interaural_delays_grow_with_azimuth_at_ear_level() {
        let h = kemar();
        let ip = Interpolated::new(&h).unwrap();
        let mut last = f64::NEG_INFINITY;
        for az in (0..=90).step_by(5) {
            let i = h.nearest(az as f64, 0.0).index;
            let d = ip.delays(i);
            let itd_ms = (d[1] - d[0]) / 48.0;
            eprintln!("az {az}: itd {itd_ms:.3} ms");
            assert!(itd_ms >= last - 0.005, "az {az}: {itd_ms} after {last}");
            last = itd_ms;
        }
        assert!((0.55..0.85).contains(&last), "ITD at 90 degrees: {last} ms");
    }

    #[test]
    fn the_hull_of_kemar_covers_the_sphere_and_every_measurement_is_a_corner() {
        let h = kemar();
        let dirs: Vec<Vec3> = h.measurements().iter().map(|m| m.direction()).collect();
        let g = Grid::new(&dirs).unwrap();
        assert_eq!(g.virtual_corners(), 1, "KEMAR has a zenith but no nadir");
        // Euler: a triangulated sphere of V corners has 2V - 4 triangles.
        assert_eq!(g.triangles(), 2 * (dirs.len() + 1) - 4);
        let mut used = vec![false; dirs.len() + 1];
        for t in 0..g.triangles() {
            for c in g.triangle(t) {
                used[c] = true;
            }
        }
        assert!(used.iter().all(|&u| u));
        // Every measured direction is found with weight 1 on itself.
        for (i, d) in dirs.iter().enumerate() {
            let loc = g.locate(*d, 0);
            let k = loc.weights.iter().position(|&w| w > 1.0 - 1e-6).unwrap();
            assert_eq!(loc.corners[k], i);
        }
        // Random directions: weights non-negative, sum 1, and reproduce the direction's
        // projection onto the triangle.
        for i in 0..2000u64 {
            let d = pseudo_random_unit(i + 99);
            let loc = g.locate(d, (i as usize * 7) % g.triangles());
            assert!(loc.weights.iter().all(|&w| w >= 0.0));
            assert!((loc.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn shifting_there_and_back_restores_a_response() {
        let mut planner = RealFftPlanner::new();
        // A band-limited pulse (Gaussian-windowed cosine) centred on sample 30.
        let ir: Vec<f32> = (0..96)
            .map(|i| {
                let t = i as f32 - 30.0;
                (-(t / 3.0).powi(2)).exp() * (0.7 * t).cos()
            })
            .collect();
        let a = shift(&ir, -7.3, 96, &mut planner);
        let b = shift(&a, 7.3, 96, &mut planner);
        for (x, y) in ir.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5, "{x} {y}");
        }
        // The onset of a smooth pulse moves with the shift.
        let g: Vec<f32> = (0..96)
            .map(|i| (-((i as f32 - 30.0) / 3.0).powi(2)).exp())
            .collect();
        let a = shift(&g, -7.3, 96, &mut planner);
        assert!(
            (onset(&a) - (onset(&g) - 7.3)).abs() < 0.1,
            "{} {}",
            onset(&a),
            onset(&g)
        );
    }

    #[test]
    fn at_a_measured_direction_the_interpolated_response_is_the_measurement() {
        let h = kemar();
        let ip = Interpolated::new(&h).unwrap();
        let d: Vec<f64> = (0..ip.len()).flat_map(|i| ip.delays(i)).collect();
        eprintln!(
            "delays {:.2}..{:.2} samples, aligned length {}",
            d.iter().copied().fold(f64::INFINITY, f64::min),
            ip.max_delay(),
            ip.aligned_len()
        );
        for (az, el) in [
            (30.0, 0.0),
            (-110.0, 0.0),
            (0.0, 90.0),
            (45.0, -40.0),
            (150.0, 20.0),
        ] {
            let sel = h.nearest(az, el);
            assert!(sel.error_deg < 1e-3);
            let (l, r) = h.pairs(&[sel.index]).unwrap().remove(0);
            let (il, ir) = ip.hrir(az, el);
            for (m, i) in [(&l, &il), (&r, &ir)] {
                let e: f64 = m.iter().map(|v| (*v as f64).powi(2)).sum();
                let diff: f64 = m
                    .iter()
                    .zip(i.iter())
                    .map(|(a, b)| (*a as f64 - *b as f64).powi(2))
                    .sum();
                assert!(
                    diff / e < 1e-5,
                    "({az}, {el}): error {:.1} dB",
                    10.0 * (diff / e).log10()
                );
            }
        }
    }
}
