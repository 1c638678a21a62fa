//! BS.2127's HOA decoder design (AllRAD, Zotter and Frank 2012), as the EBU ADM Renderer's
//! `ear/core/scenebased/design.py` and `hoa.allrad_design` do it:
//!
//! 1. 5200 virtual speakers on the sphere (the design `data/hoa/Design_5200_100_random.dat`);
//! 2. each panned onto the layout with BS.2127's point-source panner ([`PointGains`], the
//!    0+2+0 rule included; LFE channels get nothing): `G` (speakers x virtual speakers);
//! 3. a sampling decoder onto the virtual speakers in N3D, `Y^T / K`, and `D = G Y^T / K`;
//! 4. `D` scaled by `sqrt(K) / |D Y|_F` (the energy the panning loses), then each column by
//!    `N3D(n, m) / norm(n, m)` for the input's normalisation;
//! 5. optionally the max-rE weights (off by default, as in the reference);
//! 6. normalised so that the mean power over the virtual speakers' directions is 1.
//!
//! The matrix is static: BS.2127 renders an HOA item as one matrix for its whole duration.

use std::sync::OnceLock;

use super::gain_calc::PointGains;
use super::hoa::{max_re_weights, sph_harm, Normalization};
use crate::error::{Error, Result};
use crate::layout::Layout;

/// The spherical design of the virtual speakers (azimuth and polar angle, radians, from the
/// EBU ADM Renderer; see `data/hoa/README.md`).
const DESIGN: &str = include_str!("../../data/hoa/Design_5200_100_random.dat");

/// The virtual speakers as (azimuth, elevation) in radians, ADM convention, with their unit
/// vectors (x right, y front, z up).
fn virtual_speakers() -> &'static [([f64; 3], f64, f64)] {
    static POINTS: OnceLock<Vec<([f64; 3], f64, f64)>> = OnceLock::new();
    POINTS.get_or_init(|| {
        DESIGN
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut it = l.split_whitespace().map(|v| {
                    v.parse::<f64>()
                        .expect("the built-in spherical design is numbers")
                });
                let phi = it.next().expect("two columns");
                let theta = it.next().expect("two columns");
                let p = [
                    theta.sin() * phi.cos(),
                    theta.sin() * phi.sin(),
                    theta.cos(),
                ];
                let az = -p[0].atan2(p[1]);
                let el = p[2].atan2(p[0].hypot(p[1]));
                (p, az, el)
            })
            .collect()
    })
}

/// The number of virtual speakers of the design (5200).
pub fn virtual_speaker_count() -> usize {
    virtual_speakers().len()
}

/// The set of HOA signals a decoder is designed for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HoaFormat {
    /// `(order, degree)` of each input channel, in the input's channel order.
    pub components: Vec<(u32, i32)>,
    /// The normalisation of every channel.
    pub normalization: Normalization,
}

impl HoaFormat {
    /// Checks the components: degrees within `-order..=order`, no duplicates, orders the
    /// normalisation defines. The message says what is wrong (the caller names the origin).
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.components.is_empty() {
            return Err("no HOA channels".into());
        }
        let mut seen = std::collections::HashSet::new();
        for &(n, m) in &self.components {
            if m.unsigned_abs() > n {
                return Err(format!("degree {m} is outside -{n}..{n} for order {n}"));
            }
            if n > MAX_ORDER {
                return Err(format!(
                    "order {n} is above the highest supported ({MAX_ORDER})"
                ));
            }
            if let Some(max) = self.normalization.max_order() {
                if n > max {
                    return Err(format!(
                        "order {n}: the {} normalisation is defined only up to order {max}",
                        self.normalization
                    ));
                }
            }
            if !seen.insert((n, m)) {
                return Err(format!("order {n} degree {m} appears twice"));
            }
        }
        Ok(())
    }
}

/// The highest HOA order accepted (the common definitions go to 6; the design's 5200
/// points sample far beyond that).
pub const MAX_ORDER: u32 = 20;

/// The AllRAD design for one layout: the virtual speakers panned onto it, computed once.
#[derive(Debug, Clone)]
pub struct AllRad {
    channels: usize,
    /// `g[k * channels + l]`: the gain of virtual speaker `k` on layout channel `l`.
    g: Vec<f64>,
}

impl AllRad {
    /// Pans the design's virtual speakers onto `layout` (LFE channels get 0).
    pub fn new(layout: &Layout) -> Result<AllRad> {
        let panner = PointGains::new(layout)?;
        let channels = layout.channels();
        if layout.speakers.iter().all(|s| s.lfe) {
            return Err(Error::Invalid(format!(
                "layout '{}' has no speakers but LFE: an HOA decoder needs some",
                layout.name
            )));
        }
        let pts = virtual_speakers();
        let mut g = vec![0.0; pts.len() * channels];
        for (k, (p, _, _)) in pts.iter().enumerate() {
            panner.direction_into(
                crate::geometry::Vec3::new(p[0], p[1], p[2]),
                &mut g[k * channels..(k + 1) * channels],
            );
        }
        Ok(AllRad { channels, g })
    }

    /// The output channels (the layout's, LFE included).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The decoder for `format`: `matrix[out][in]`, one row per layout channel (LFE rows are
    /// zero), one column per HOA input channel. `max_re` applies BS.2127's approximate
    /// max-rE weights (the reference renderer's default is without).
    pub fn design(&self, format: &HoaFormat, max_re: bool) -> Result<Vec<Vec<f64>>> {
        format.check().map_err(Error::Invalid)?;
        let pts = virtual_speakers();
        let k = pts.len();
        let l = self.channels;
        let comps = &format.components;
        let c = comps.len();
        let norm = format.normalization;
        // Y_virt in N3D and in the input's normalisation: y[i * k + p].
        let y_n3d: Vec<f64> = comps
            .iter()
            .flat_map(|&(n, m)| {
                pts.iter()
                    .map(move |&(_, az, el)| sph_harm(n, m, az, el, Normalization::N3D))
            })
            .collect();
        // D = G Y^T / K  (l x c)
        let mut d = vec![vec![0.0; c]; l];
        for p in 0..k {
            let gp = &self.g[p * l..(p + 1) * l];
            for (row, &gv) in d.iter_mut().zip(gp) {
                if gv == 0.0 {
                    continue;
                }
                for (i, v) in row.iter_mut().enumerate() {
                    *v += gv * y_n3d[i * k + p];
                }
            }
        }
        for row in d.iter_mut() {
            for v in row.iter_mut() {
                *v /= k as f64;
            }
        }
        // Scale by sqrt(K) / |D Y_virt|_F.
        let fro = frobenius_of_product(&d, &y_n3d, k);
        let s = (k as f64).sqrt() / fro;
        for (i, &(n, m)) in comps.iter().enumerate() {
            let conv = Normalization::N3D.factor(n, m) / norm.factor(n, m);
            for row in d.iter_mut() {
                row[i] *= s * conv;
            }
        }
        if max_re {
            let max_order = comps.iter().map(|x| x.0).max().unwrap_or(0);
            let w = max_re_weights(max_order);
            for (i, &(n, _)) in comps.iter().enumerate() {
                for row in d.iter_mut() {
                    row[i] *= w[n as usize];
                }
            }
        }
        // Mean power over the virtual speakers' directions, in the input's normalisation.
        let y_in: Vec<f64> = if norm == Normalization::N3D {
            y_n3d
        } else {
            comps
                .iter()
                .flat_map(|&(n, m)| {
                    pts.iter()
                        .map(move |&(_, az, el)| sph_harm(n, m, az, el, norm))
                })
                .collect()
        };
        let fro = frobenius_of_product(&d, &y_in, k);
        let mean = fro / (k as f64).sqrt();
        for row in d.iter_mut() {
            for v in row.iter_mut() {
                *v /= mean;
            }
        }
        Ok(d)
    }
}

/// `|D Y|_F` with `D` (l x c) and `Y` (c x k, flattened row-major).
fn frobenius_of_product(d: &[Vec<f64>], y: &[f64], k: usize) -> f64 {
    let mut sum = 0.0;
    let mut col = vec![0.0; k];
    for row in d {
        col.iter_mut().for_each(|x| *x = 0.0);
        for (i, &dv) in row.iter().enumerate() {
            if dv == 0.0 {
                continue;
            }
            for (x, &yv) in col.iter_mut().zip(&y[i * k..(i + 1) * k]) {
                *x += dv * yv;
            }
        }
        sum += col.iter().map(|x| x * x).sum::<f64>();
    }
    sum.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_has_5200_unit_points() {
        assert_eq!(virtual_speaker_count(), 5200);
        let (p, az, el) = virtual_speakers()[0];
        let n = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        assert!((n - 1.0).abs() < 1e-12);
        let q = crate::geometry::direction(az.to_degrees(), el.to_degrees());
        assert!((q.x - p[0]).abs() < 1e-12 && (q.y - p[1]).abs() < 1e-12);
    }

    #[test]
    fn bad_formats_are_refused() {
        let f = |c: Vec<(u32, i32)>, n| HoaFormat {
            components: c,
            normalization: n,
        };
        assert!(f(vec![(1, 2)], Normalization::SN3D).check().is_err());
        assert!(f(vec![(1, 1), (1, 1)], Normalization::SN3D)
            .check()
            .is_err());
        assert!(f(vec![(4, 0)], Normalization::FuMa).check().is_err());
        assert!(f(vec![(4, 0)], Normalization::N3D).check().is_ok());
    }
}
