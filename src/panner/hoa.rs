//! Spherical harmonics for scene-based (HOA, Ambisonics) audio, as ITU-R BS.2127 and the EBU
//! ADM Renderer (`ear/core/hoa.py`) define them: real spherical harmonics of order `n` and
//! degree `m` (`-n <= m <= n`), with the associated Legendre functions taken *without* the
//! Condon-Shortley phase, and three normalisations (N3D, SN3D, FuMa).
//!
//! Directions follow the ADM convention: azimuth positive to the left, elevation up.
//! Channels are numbered by ACN (`n^2 + n + m`); ambiX is ACN with SN3D.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The normalisation of a set of HOA signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Normalization {
    /// Schmidt semi-normalised (ambiX, the ADM default).
    #[default]
    SN3D,
    /// Fully normalised (orthonormal on the sphere, times `sqrt(4 pi)`).
    N3D,
    /// Furse-Malham (B-format), defined up to order 3.
    FuMa,
}

impl Normalization {
    /// From the ADM `normalization` value (`SN3D`, `N3D`, `FuMa`; exact, as the reference).
    pub fn parse(s: &str) -> Option<Normalization> {
        match s.trim() {
            "SN3D" => Some(Normalization::SN3D),
            "N3D" => Some(Normalization::N3D),
            "FuMa" => Some(Normalization::FuMa),
            _ => None,
        }
    }

    /// The ADM name.
    pub fn name(self) -> &'static str {
        match self {
            Normalization::SN3D => "SN3D",
            Normalization::N3D => "N3D",
            Normalization::FuMa => "FuMa",
        }
    }

    /// The highest order this normalisation is defined for (FuMa: 3), if limited.
    pub fn max_order(self) -> Option<u32> {
        match self {
            Normalization::FuMa => Some(3),
            _ => None,
        }
    }

    /// The normalisation factor for order `n` and degree `m` (only `|m|` matters). FuMa
    /// beyond order 3 is not defined: it returns NaN (callers check [`Self::max_order`]).
    pub fn factor(self, n: u32, m: i32) -> f64 {
        let am = m.unsigned_abs();
        let sn3d = || (factorial(n - am) / factorial(n + am)).sqrt();
        match self {
            Normalization::SN3D => sn3d(),
            Normalization::N3D => ((2 * n + 1) as f64).sqrt() * sn3d(),
            Normalization::FuMa => {
                let c = match (n, am) {
                    (0, 0) => 1.0 / 2f64.sqrt(),
                    (1, 0) | (1, 1) | (2, 0) | (3, 0) => 1.0,
                    (2, 1) | (2, 2) => 2.0 / 3f64.sqrt(),
                    (3, 1) => (45.0f64 / 32.0).sqrt(),
                    (3, 2) => 3.0 / 5f64.sqrt(),
                    (3, 3) => (8.0f64 / 5.0).sqrt(),
                    _ => f64::NAN,
                };
                sn3d() * c
            }
        }
    }
}

impl fmt::Display for Normalization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `k!` as a float (exact up to 22!, far beyond the orders used here).
fn factorial(k: u32) -> f64 {
    (1..=k).fold(1.0, |a, i| a * i as f64)
}

/// The associated Legendre function `P_n^m(x)` for `m >= 0`, *without* the Condon-Shortley
/// phase `(-1)^m` (as BS.2127 uses it).
pub fn legendre(n: u32, m: u32, x: f64) -> f64 {
    if m > n {
        return 0.0;
    }
    // P_m^m = (2m - 1)!! (1 - x^2)^(m/2)
    let s = (1.0 - x * x).max(0.0).sqrt();
    let mut pmm = 1.0;
    for i in 1..=m {
        pmm *= (2 * i - 1) as f64 * s;
    }
    if n == m {
        return pmm;
    }
    let mut p1 = x * (2 * m + 1) as f64 * pmm; // P_{m+1}^m
    let mut p0 = pmm;
    for l in (m + 2)..=n {
        let p = ((2 * l - 1) as f64 * x * p1 - (l + m - 1) as f64 * p0) / (l - m) as f64;
        p0 = p1;
        p1 = p;
    }
    p1
}

/// The Legendre polynomial `P_n(x)`.
pub fn legendre_polynomial(n: u32, x: f64) -> f64 {
    legendre(n, 0, x)
}

/// The real spherical harmonic `Y_n^m` at a direction (azimuth and elevation in radians,
/// azimuth positive to the left), in the normalisation `norm`.
pub fn sph_harm(n: u32, m: i32, azimuth: f64, elevation: f64, norm: Normalization) -> f64 {
    let am = m.unsigned_abs();
    let scale = match m.cmp(&0) {
        std::cmp::Ordering::Equal => 1.0,
        std::cmp::Ordering::Greater => 2f64.sqrt() * (m as f64 * azimuth).cos(),
        std::cmp::Ordering::Less => -(2f64.sqrt()) * (m as f64 * azimuth).sin(),
    };
    norm.factor(n, m) * legendre(n, am, elevation.sin()) * scale
}

/// The Ambisonics Channel Number of order `n` and degree `m`.
pub fn acn(n: u32, m: i32) -> usize {
    ((n * n + n) as i64 + m as i64) as usize
}

/// The order and degree of an Ambisonics Channel Number.
pub fn from_acn(acn: usize) -> (u32, i32) {
    let n = (acn as f64).sqrt().floor() as u32;
    // Guard against rounding of the square root.
    let n = if ((n + 1) * (n + 1)) as usize <= acn {
        n + 1
    } else if (n * n) as usize > acn {
        n - 1
    } else {
        n
    };
    (n, acn as i32 - (n * n + n) as i32)
}

/// The components of full order `order` in ACN order: `(n, m)` for ACN 0 .. (order+1)^2.
pub fn acn_components(order: u32) -> Vec<(u32, i32)> {
    (0..((order + 1) * (order + 1)) as usize)
        .map(from_acn)
        .collect()
}

/// The channel order of a set of full-order Ambisonics signals in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ChannelOrder {
    /// Ambisonics Channel Number order (ambiX and every modern tool).
    #[default]
    ACN,
    /// Furse-Malham order (`.amb` B-format files): W X Y Z R S T U V K L M N O P Q, up to
    /// order 3.
    FuMa,
}

/// `(order, degree)` of the FuMa channels W X Y Z R S T U V K L M N O P Q.
const FUMA_ORDER: [(u32, i32); 16] = [
    (0, 0),
    (1, 1),
    (1, -1),
    (1, 0),
    (2, 0),
    (2, 1),
    (2, -1),
    (2, 2),
    (2, -2),
    (3, 0),
    (3, 1),
    (3, -1),
    (3, 2),
    (3, -2),
    (3, 3),
    (3, -3),
];

impl ChannelOrder {
    /// The components of full order `order` in this channel order (None for FuMa past
    /// order 3).
    pub fn components(self, order: u32) -> Option<Vec<(u32, i32)>> {
        match self {
            ChannelOrder::ACN => Some(acn_components(order)),
            ChannelOrder::FuMa if order <= 3 => {
                Some(FUMA_ORDER[..((order + 1) * (order + 1)) as usize].to_vec())
            }
            ChannelOrder::FuMa => None,
        }
    }
}

/// BS.2127's approximate max-rE weights per order `0..=max_order` (Zotter and Frank 2012):
/// `P_n(cos(137.9 deg / (N + 1.51)))`.
pub fn max_re_weights(max_order: u32) -> Vec<f64> {
    let re = (137.9f64 / (max_order as f64 + 1.51)).to_radians().cos();
    (0..=max_order)
        .map(|n| legendre_polynomial(n, re))
        .collect()
}

/// Encodes a plane wave from a direction (degrees, azimuth positive to the left) into
/// the components `comps`, in the normalisation `norm`: the gains of a point source.
pub fn encode(comps: &[(u32, i32)], azimuth: f64, elevation: f64, norm: Normalization) -> Vec<f64> {
    let (az, el) = (azimuth.to_radians(), elevation.to_radians());
    comps
        .iter()
        .map(|&(n, m)| sph_harm(n, m, az, el, norm))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acn_round_trips() {
        for k in 0..100 {
            let (n, m) = from_acn(k);
            assert!(m.unsigned_abs() <= n);
            assert_eq!(acn(n, m), k);
        }
        assert_eq!(from_acn(3), (1, 1));
        assert_eq!(from_acn(4), (2, -2));
    }

    #[test]
    fn fuma_order_holds_every_component_once() {
        let mut c = ChannelOrder::FuMa.components(3).unwrap();
        c.sort();
        let mut a = acn_components(3);
        a.sort();
        assert_eq!(c, a);
        assert!(ChannelOrder::FuMa.components(4).is_none());
        // X is the front, Y the left.
        let g = encode(
            &ChannelOrder::FuMa.components(1).unwrap(),
            0.0,
            0.0,
            Normalization::FuMa,
        );
        assert!((g[1] - 1.0).abs() < 1e-15 && g[2].abs() < 1e-15);
        assert!((g[0] - 1.0 / 2f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn first_order_sn3d_is_the_direction() {
        // ACN 1 = Y (left), 2 = Z (up), 3 = X (front) with SN3D.
        let g = encode(&acn_components(1), 90.0, 0.0, Normalization::SN3D);
        assert!((g[0] - 1.0).abs() < 1e-15 && (g[1] - 1.0).abs() < 1e-15);
        assert!(g[2].abs() < 1e-15 && g[3].abs() < 1e-15);
        let g = encode(&acn_components(1), 0.0, 90.0, Normalization::SN3D);
        assert!((g[2] - 1.0).abs() < 1e-15);
    }

    #[test]
    fn n3d_is_orthonormal_times_4pi() {
        // Mean of Y_a Y_b over a fine latitude-longitude grid (area weighted).
        let comps = acn_components(3);
        let (na, ne) = (72, 36);
        let mut gram = vec![vec![0.0; comps.len()]; comps.len()];
        let mut wsum = 0.0;
        for i in 0..ne {
            let el =
                -std::f64::consts::FRAC_PI_2 + (i as f64 + 0.5) * std::f64::consts::PI / ne as f64;
            let w = el.cos();
            for j in 0..na {
                let az = j as f64 * 2.0 * std::f64::consts::PI / na as f64;
                let y: Vec<f64> = comps
                    .iter()
                    .map(|&(n, m)| sph_harm(n, m, az, el, Normalization::N3D))
                    .collect();
                for a in 0..y.len() {
                    for b in 0..y.len() {
                        gram[a][b] += w * y[a] * y[b];
                    }
                }
                wsum += w;
            }
        }
        for (a, row) in gram.iter().enumerate() {
            for (b, v) in row.iter().enumerate() {
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((v / wsum - want).abs() < 5e-3, "{a} {b} {}", v / wsum);
            }
        }
    }
}
