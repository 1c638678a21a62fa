//! VBAP point-source panning (Pulkki 1997) on any layout.
//!
//! The panner is built once per layout:
//!
//! 1. The non-LFE speakers are split into layers by elevation: middle (|el| <= 10),
//!    upper (10 < el < 70), lower (-70 < el < -10) and the poles (|el| >= 70).
//! 2. Where the middle layer leaves a gap of more than 160 degrees of azimuth
//!    (stereo, a front-only layout), virtual middle speakers are placed in the gap,
//!    each folded onto the nearer end of the gap (the middle one onto both).
//! 3. Where a layer above or below has no speakers, every middle speaker gets a
//!    virtual copy 30 degrees above (or below) it; where the layer has speakers that do
//!    not reach round to the back, the middle speakers at least 40 degrees further
//!    round than the layer's widest speaker get copies at the layer's mean elevation
//!    (the rule of ITU-R BS.2127). A copy is folded onto the speaker it copies, with
//!    gain 1, so a source up to 30 degrees off the middle layer plays only from the two
//!    middle speakers either side of its azimuth.
//! 4. A virtual speaker is placed at each pole without a real one (none at the top of a
//!    layout with UH+180, as BS.2127 says); its signal is shared equally (1/sqrt(n)) among
//!    its n neighbours on the hull.
//! 5. The convex hull of all those directions is computed once. Its facets are
//!    triangles (3D VBAP) or, where four speakers lie in one plane, quadrilaterals
//!    panned bilinearly so that mirror-symmetric layouts pan symmetrically (as BS.2127
//!    does). Larger coplanar facets are split into triangles around a virtual centre.
//!
//! For a direction, the facet containing it gives gains on its corners; virtual
//! corners are folded onto real speakers; the result is scaled to unit power (sum of
//! squares 1). Inside a facet of real speakers the gains are plain VBAP: the vector
//! sum of gain times speaker direction points at the source. LFE channels get 0.
//!
//! BS.2127's further steps for ADM objects live in submodules, one per algorithm:
//! [`allocentric`] (the panner for Cartesian objects), [`conversion`] (BS.2127's polar <->
//! Cartesian point mapping) and [`gain_calc`] (point-source gains per layout, including
//! BS.2127's own 0+2+0 rule).

pub mod allo_extent;
pub mod allocentric;
pub mod allrad;
pub mod channel_lock;
pub mod conversion;
pub mod divergence;
pub mod extent;
pub mod gain_calc;
pub mod hoa;
pub mod object;
pub mod screen;
pub mod zone;

pub mod direct_speakers;

use crate::error::{Error, Result};
use crate::geometry::{self, Vec3};
use crate::layout::Layout;

/// Tolerance for "on the plane" / "inside the facet" tests (unit vectors).
const EPS: f64 = 1e-9;

/// A corner of the hull: a real or virtual speaker, with where its signal goes.
#[derive(Debug, Clone)]
struct Vertex {
    dir: Vec3,
    /// (output channel, weight) pairs: identity for a real speaker, a fold-down for a virtual one.
    fold: Vec<(usize, f64)>,
    real: bool,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Rows of the inverse of the matrix whose columns are the corner directions.
    Triangle { inverse: [[f64; 3]; 3] },
    /// Four coplanar corners in cyclic order, panned bilinearly.
    Quad,
}

#[derive(Debug, Clone)]
struct Facet {
    corners: Vec<usize>,
    /// Inward-facing normals of the planes through the origin and each edge.
    edge_normals: Vec<Vec3>,
    kind: Kind,
    real: bool,
}

/// A VBAP panner for one layout. Cheap to query from many threads at once.
#[derive(Debug, Clone)]
pub struct Panner {
    channels: usize,
    vertices: Vec<Vertex>,
    facets: Vec<Facet>,
    labels: Vec<String>,
}

/// Which part of the panner produced a gain vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The direction lies in a triangle of three real speakers: plain 3D VBAP
    /// (two speakers on an edge, one on a speaker).
    RealTriangle,
    /// The direction lies in a quadrilateral of four coplanar real speakers: bilinear
    /// panning on the quad, whose gain-weighted vector sum still points at the source.
    RealQuad,
    /// The direction lies in a facet with a virtual corner: gains are folded down
    /// onto real speakers.
    Virtual,
}

impl Coverage {
    /// True inside the coverage of real speakers (no virtual speaker involved).
    pub fn is_real(self) -> bool {
        self != Coverage::Virtual
    }
}

impl Panner {
    /// Builds the panner (virtual speakers and triangulation) for a layout.
    pub fn new(layout: &Layout) -> Result<Panner> {
        let vertices = extended_vertices(layout);
        let hull = convex_hull(&vertices.iter().map(|v| v.dir).collect::<Vec<_>>());
        let mut vertices = vertices;
        resolve_pole_folds(&mut vertices, &hull);
        let mut facets = Vec::new();
        for polygon in hull {
            add_facet(&mut vertices, &mut facets, polygon);
        }
        if facets.is_empty() {
            return Err(Error::Invalid(format!(
                "layout '{}': its speakers do not span a triangulation",
                layout.name
            )));
        }
        Ok(Panner {
            channels: layout.channels(),
            vertices,
            facets,
            labels: layout.labels(),
        })
    }

    /// Number of output channels (the layout's, LFE included).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The output channel labels.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Gains for a direction in ADM polar degrees, in channel order.
    pub fn gains_polar(&self, azimuth: f64, elevation: f64) -> Vec<f64> {
        self.gains(geometry::direction(azimuth, elevation))
    }

    /// Gains for a Cartesian direction (any length), in channel order.
    pub fn gains(&self, direction: Vec3) -> Vec<f64> {
        let mut out = vec![0.0; self.channels];
        self.gains_into(direction, &mut out);
        out
    }

    /// Writes the gains for `direction` into `out` (length = channels) and says which
    /// kind of facet produced them. A zero or non-finite direction is treated as
    /// straight ahead, so the result is never NaN.
    pub fn gains_into(&self, direction: Vec3, out: &mut [f64]) -> Coverage {
        assert_eq!(out.len(), self.channels, "gain buffer length");
        let n = direction.norm();
        let d = if n.is_finite() && n > 0.0 {
            direction / n
        } else {
            Vec3::new(0.0, 1.0, 0.0)
        };
        out.iter_mut().for_each(|g| *g = 0.0);
        let (fi, local) = self.locate(&d);
        let facet = &self.facets[fi];
        for (k, &vi) in facet.corners.iter().enumerate() {
            let g = local[k];
            if g != 0.0 {
                for &(ch, w) in &self.vertices[vi].fold {
                    out[ch] += g * w;
                }
            }
        }
        let power: f64 = out.iter().map(|g| g * g).sum();
        if power > 0.0 && power.is_finite() {
            let s = power.sqrt().recip();
            // Rounding leaves ~1e-17 on speakers a facet edge passes through: make them 0.
            out.iter_mut()
                .for_each(|g| *g = if *g * s < 1e-12 { 0.0 } else { *g * s });
        } else {
            // Unreachable for a valid hull; keep the promise of never silence.
            let nearest = self.nearest_real(&d);
            out[nearest] = 1.0;
        }
        match (facet.real, &facet.kind) {
            (false, _) => Coverage::Virtual,
            (true, Kind::Triangle { .. }) => Coverage::RealTriangle,
            (true, Kind::Quad) => Coverage::RealQuad,
        }
    }

    /// Finds the facet containing `d` and the gains on its corners (not normalised).
    fn locate(&self, d: &Vec3) -> (usize, [f64; 4]) {
        // First pass: the first facet whose edges all face `d` (a facet is rejected at its
        // first edge that does not, so most cost one dot product).
        for (fi, f) in self.facets.iter().enumerate() {
            if f.edge_normals.iter().all(|e| e.dot(d) >= -EPS) {
                if let Some(g) = facet_gains(f, &self.vertices, d) {
                    return (fi, g);
                }
            }
        }
        let mut best = (0usize, f64::NEG_INFINITY);
        for (fi, f) in self.facets.iter().enumerate() {
            let worst = f
                .edge_normals
                .iter()
                .map(|e| e.dot(d))
                .fold(f64::INFINITY, f64::min);
            if worst > best.1 {
                best = (fi, worst);
            }
        }
        // Numerical corner case: take the facet the direction is nearest to.
        let f = &self.facets[best.0];
        let g = facet_gains(f, &self.vertices, d).unwrap_or([1.0, 0.0, 0.0, 0.0]);
        (best.0, g)
    }

    fn nearest_real(&self, d: &Vec3) -> usize {
        self.vertices
            .iter()
            .filter(|v| v.real)
            .max_by(|a, b| a.dir.dot(d).total_cmp(&b.dir.dot(d)))
            .map(|v| v.fold[0].0)
            .unwrap_or(0)
    }

    /// Number of hull facets (triangles and quads), virtual ones included.
    pub fn facet_count(&self) -> usize {
        self.facets.len()
    }

    /// Number of virtual speakers the layout needed.
    pub fn virtual_speaker_count(&self) -> usize {
        self.vertices.iter().filter(|v| !v.real).count()
    }
}

/// Gains of a facet's corners for direction `d`, or `None` if `d` is not inside it.
fn facet_gains(f: &Facet, vertices: &[Vertex], d: &Vec3) -> Option<[f64; 4]> {
    match &f.kind {
        Kind::Triangle { inverse } => {
            let mut g = [0.0; 4];
            for (k, row) in inverse.iter().enumerate() {
                let v = row[0] * d.x + row[1] * d.y + row[2] * d.z;
                if v < -1e-7 {
                    return None;
                }
                g[k] = v.max(0.0);
            }
            Some(g)
        }
        Kind::Quad => {
            let p: Vec<Vec3> = f.corners.iter().map(|&i| vertices[i].dir).collect();
            let x = quad_parameter(d, &p[0], &p[1], &p[3], &p[2])?;
            let y = quad_parameter(d, &p[0], &p[3], &p[1], &p[2])?;
            let g = [(1.0 - x) * (1.0 - y), x * (1.0 - y), x * y, (1.0 - x) * y];
            let sum = g[0] * p[0] + g[1] * p[1] + g[2] * p[2] + g[3] * p[3];
            if sum.dot(d) <= 0.0 {
                return None;
            }
            Some(g)
        }
    }
}

/// For a quad with edges a0->a1 and b0->b1 (opposite, same direction), the parameter t in
/// [0, 1] such that `d` lies in the plane through the origin, lerp(a0, a1, t) and lerp(b0, b1, t).
fn quad_parameter(d: &Vec3, a0: &Vec3, a1: &Vec3, b0: &Vec3, b1: &Vec3) -> Option<f64> {
    // d . (A(t) x B(t)) = p (1-t)^2 + q t (1-t) + r t^2
    let p = d.dot(&a0.cross(b0));
    let q = d.dot(&(a0.cross(b1) + a1.cross(b0)));
    let r = d.dot(&a1.cross(b1));
    let qa = p - q + r;
    let qb = q - 2.0 * p;
    let qc = p;
    let tol = 1e-7;
    let ok = |t: f64| t.is_finite() && t >= -tol && t <= 1.0 + tol;
    let scale = qa.abs().max(qb.abs()).max(qc.abs());
    if scale == 0.0 {
        return None;
    }
    let mut roots = [f64::NAN; 2];
    if qa.abs() <= 1e-12 * scale {
        roots[0] = -qc / qb;
    } else {
        let disc = qb * qb - 4.0 * qa * qc;
        if disc < -1e-12 * scale * scale {
            return None;
        }
        let s = disc.max(0.0).sqrt();
        // Numerically stable pair of roots.
        let t = -0.5 * (qb + qb.signum() * s);
        if t != 0.0 {
            roots[0] = t / qa;
            roots[1] = qc / t;
        } else {
            roots[0] = 0.0;
        }
    }
    roots
        .into_iter()
        .filter(|&t| ok(t))
        .min_by(|a, b| (a - 0.5).abs().total_cmp(&(b - 0.5).abs()))
        .map(|t| t.clamp(0.0, 1.0))
}

/// Elevation bands of the layers (degrees).
const MID_LIMIT: f64 = 10.0;
const POLE_LIMIT: f64 = 70.0;

/// Real speakers plus the virtual speakers the layout needs (gap fill, layer copies, poles).
fn extended_vertices(layout: &Layout) -> Vec<Vertex> {
    let mut vs: Vec<Vertex> = Vec::new();
    // (azimuth, fold) of the middle ring, real and virtual.
    let mut ring: Vec<(f64, Vec<(usize, f64)>)> = Vec::new();
    let mut upper: Vec<(f64, f64)> = Vec::new();
    let mut lower: Vec<(f64, f64)> = Vec::new();
    let (mut has_top, mut has_bottom) = (false, false);
    for (ch, s) in layout.speakers.iter().enumerate() {
        if s.lfe {
            continue;
        }
        vs.push(Vertex {
            dir: s.direction(),
            fold: vec![(ch, 1.0)],
            real: true,
        });
        let el = s.elevation;
        if el.abs() <= MID_LIMIT {
            ring.push((geometry::wrap_azimuth(s.azimuth), vec![(ch, 1.0)]));
        } else if el >= POLE_LIMIT {
            has_top = true;
        } else if el <= -POLE_LIMIT {
            has_bottom = true;
        } else if el > 0.0 {
            upper.push((s.azimuth, el));
        } else {
            lower.push((s.azimuth, el));
        }
    }
    if ring.is_empty() {
        // No middle layer: treat the lowest-|elevation| speakers' azimuths as the ring.
        let min_el = layout
            .speakers
            .iter()
            .filter(|s| !s.lfe)
            .map(|s| s.elevation.abs())
            .fold(f64::INFINITY, f64::min);
        for (ch, s) in layout.speakers.iter().enumerate() {
            if !s.lfe && s.elevation.abs() <= min_el + MID_LIMIT {
                ring.push((geometry::wrap_azimuth(s.azimuth), vec![(ch, 1.0)]));
            }
        }
    }
    ring.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Fill gaps of more than 160 degrees in the ring with virtual middle speakers.
    let mut fills = Vec::new();
    for i in 0..ring.len() {
        let (a, fa) = &ring[i];
        let (b, fb) = &ring[(i + 1) % ring.len()];
        let mut gap = b - a;
        if gap <= 0.0 {
            gap += 360.0;
        }
        if gap > 160.0 {
            let k = (gap / 140.0).ceil() as usize - 1;
            let k = k.max(1);
            for j in 1..=k {
                let t = j as f64 / (k + 1) as f64;
                let az = geometry::wrap_azimuth(a + gap * t);
                let fold = if (t - 0.5).abs() < 1e-9 {
                    let h = std::f64::consts::FRAC_1_SQRT_2;
                    scale_fold(fa, h)
                        .into_iter()
                        .chain(scale_fold(fb, h))
                        .collect()
                } else if t < 0.5 {
                    fa.clone()
                } else {
                    fb.clone()
                };
                fills.push((az, fold));
            }
        }
    }
    for (az, fold) in fills {
        vs.push(Vertex {
            dir: geometry::direction(az, 0.0),
            fold: fold.clone(),
            real: false,
        });
        ring.push((az, fold));
    }
    // Copies of middle speakers above and below where a layer is missing or partial.
    for (layer, sign) in [(&upper, 1.0), (&lower, -1.0)] {
        let (limit, el) = if layer.is_empty() {
            (f64::NEG_INFINITY, 30.0 * sign)
        } else {
            let widest = layer.iter().map(|(a, _)| a.abs()).fold(0.0, f64::max);
            let mean = layer.iter().map(|(_, e)| e).sum::<f64>() / layer.len() as f64;
            (widest + 40.0, mean)
        };
        for (az, fold) in &ring {
            if az.abs() >= limit {
                vs.push(Vertex {
                    dir: geometry::direction(*az, el),
                    fold: fold.clone(),
                    real: false,
                });
            }
        }
    }
    // Virtual poles; their folds are filled in once the hull is known. As in BS.2127, a
    // layout with UH+180 gets no virtual top: that speaker may really be overhead, and a
    // virtual one beside it would put a step in the gains.
    let has_uh180 = layout
        .speakers
        .iter()
        .any(|s| !s.lfe && s.label.eq_ignore_ascii_case("UH+180"));
    if !has_top && !has_uh180 {
        vs.push(Vertex {
            dir: Vec3::new(0.0, 0.0, 1.0),
            fold: Vec::new(),
            real: false,
        });
    }
    if !has_bottom {
        vs.push(Vertex {
            dir: Vec3::new(0.0, 0.0, -1.0),
            fold: Vec::new(),
            real: false,
        });
    }
    vs
}

fn scale_fold(fold: &[(usize, f64)], s: f64) -> Vec<(usize, f64)> {
    fold.iter().map(|&(c, w)| (c, w * s)).collect()
}

/// Gives each virtual pole (empty fold) an equal share onto its hull neighbours.
fn resolve_pole_folds(vertices: &mut [Vertex], hull: &[Vec<usize>]) {
    let poles: Vec<usize> = (0..vertices.len())
        .filter(|&i| vertices[i].fold.is_empty())
        .collect();
    for &p in &poles {
        let mut neighbours: Vec<usize> = Vec::new();
        for poly in hull {
            if let Some(k) = poly.iter().position(|&v| v == p) {
                let n = poly.len();
                for nb in [poly[(k + 1) % n], poly[(k + n - 1) % n]] {
                    if !neighbours.contains(&nb) && !poles.contains(&nb) {
                        neighbours.push(nb);
                    }
                }
            }
        }
        neighbours.sort_unstable();
        let w = 1.0 / (neighbours.len().max(1) as f64).sqrt();
        let mut fold: Vec<(usize, f64)> = Vec::new();
        for nb in neighbours {
            for &(ch, x) in &vertices[nb].fold {
                match fold.iter_mut().find(|(c, _)| *c == ch) {
                    Some(e) => e.1 += w * x,
                    None => fold.push((ch, w * x)),
                }
            }
        }
        vertices[p].fold = fold;
    }
}

/// Turns a hull polygon (corners in counter-clockwise order seen from outside) into facets.
fn add_facet(vertices: &mut Vec<Vertex>, facets: &mut Vec<Facet>, polygon: Vec<usize>) {
    match polygon.len() {
        3 => facets.push(triangle(vertices, [polygon[0], polygon[1], polygon[2]])),
        4 => facets.push(make_facet(vertices, polygon, Kind::Quad)),
        _ => {
            // Split a larger coplanar polygon around a virtual speaker at its centre,
            // shared equally among the polygon's corners.
            let centre: Vec3 = polygon.iter().map(|&i| vertices[i].dir).sum::<Vec3>();
            let w = 1.0 / (polygon.len() as f64).sqrt();
            let mut fold: Vec<(usize, f64)> = Vec::new();
            for &i in &polygon {
                for &(ch, x) in &vertices[i].fold {
                    match fold.iter_mut().find(|(c, _)| *c == ch) {
                        Some(e) => e.1 += w * x,
                        None => fold.push((ch, w * x)),
                    }
                }
            }
            vertices.push(Vertex {
                dir: centre.normalize(),
                fold,
                real: false,
            });
            let c = vertices.len() - 1;
            for k in 0..polygon.len() {
                let t = triangle(vertices, [polygon[k], polygon[(k + 1) % polygon.len()], c]);
                facets.push(t);
            }
        }
    }
}

fn triangle(vertices: &[Vertex], c: [usize; 3]) -> Facet {
    let m = nalgebra::Matrix3::from_columns(&[
        vertices[c[0]].dir,
        vertices[c[1]].dir,
        vertices[c[2]].dir,
    ]);
    let inv = m.try_inverse().unwrap_or_else(nalgebra::Matrix3::zeros);
    let inverse = [
        [inv[(0, 0)], inv[(0, 1)], inv[(0, 2)]],
        [inv[(1, 0)], inv[(1, 1)], inv[(1, 2)]],
        [inv[(2, 0)], inv[(2, 1)], inv[(2, 2)]],
    ];
    make_facet(vertices, c.to_vec(), Kind::Triangle { inverse })
}

fn make_facet(vertices: &[Vertex], corners: Vec<usize>, kind: Kind) -> Facet {
    let n = corners.len();
    let edge_normals = (0..n)
        .map(|k| {
            let a = vertices[corners[k]].dir;
            let b = vertices[corners[(k + 1) % n]].dir;
            a.cross(&b).normalize()
        })
        .collect();
    let real = corners.iter().all(|&i| vertices[i].real);
    Facet {
        corners,
        edge_normals,
        kind,
        real,
    }
}

/// Convex hull of unit vectors around the origin, as polygons of coplanar points with
/// corners in counter-clockwise order seen from outside. Brute force: layouts have at
/// most a few dozen speakers and this runs once per layout.
fn convex_hull(points: &[Vec3]) -> Vec<Vec<usize>> {
    let n = points.len();
    let tol = 1e-7;
    let mut seen: Vec<Vec<usize>> = Vec::new();
    let mut out = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            for k in j + 1..n {
                let mut normal = (points[j] - points[i]).cross(&(points[k] - points[i]));
                let len = normal.norm();
                if len < 1e-9 {
                    continue;
                }
                normal /= len;
                let mut offset = normal.dot(&points[i]);
                if offset.abs() < tol {
                    continue; // plane through the listener: never a face of a surrounding hull
                }
                if offset < 0.0 {
                    normal = -normal;
                    offset = -offset;
                }
                if points.iter().any(|p| normal.dot(p) > offset + tol) {
                    continue;
                }
                let mut on: Vec<usize> = (0..n)
                    .filter(|&m| (normal.dot(&points[m]) - offset).abs() <= tol)
                    .collect();
                on.sort_unstable();
                if seen.contains(&on) {
                    continue;
                }
                seen.push(on.clone());
                out.push(order_polygon(points, on, &normal));
            }
        }
    }
    out
}

/// Orders coplanar points counter-clockwise seen from outside (along `normal`).
fn order_polygon(points: &[Vec3], mut idx: Vec<usize>, normal: &Vec3) -> Vec<usize> {
    let centre: Vec3 = idx.iter().map(|&i| points[i]).sum::<Vec3>() / idx.len() as f64;
    let u = (points[idx[0]] - centre).normalize();
    let v = normal.cross(&u);
    let angle = |i: usize| {
        let w = points[i] - centre;
        w.dot(&v).atan2(w.dot(&u))
    };
    idx.sort_by(|&a, &b| angle(a).total_cmp(&angle(b)));
    idx
}
