//! ITU-R BS.2127 gain calculation for point-source objects on one layout.
//!
//! [`PointGains`] answers the two questions an ADM object block asks of a layout:
//!
//! - **Polar** blocks (`cartesian="0"`): the point-source panner. On every layout but 0+2+0 that
//!   is mixstage's [`Panner`], which already equals BS.2127's (virtual speakers, triangles and
//!   quads; checked against the EBU ADM Renderer in `tests/panner.rs`). On 0+2+0 BS.2127 uses a
//!   rule of its own: pan on 0+5+0, downmix to two channels (the centre at `sqrt(1/3)` into each
//!   side so that the velocity vector is kept, each surround at `sqrt(1/2)` into its side),
//!   power-normalise, then lower the level smoothly from 0 dB for a source at the front to -3 dB
//!   at the back (by `0.5^(b / 2(f + b))`, with `f` and `b` the largest front and surround gains
//!   of the 0+5+0 pan). A layout counts as 0+2+0 when its only non-LFE speakers are `M+030` and
//!   `M-030`, whatever its name. The renderer pans RON objects (and the bed channels it pans as
//!   point sources) through [`PointGains`] too, so a scene and its ADM export pan alike; plain
//!   [`Panner`] (power-preserving stereo VBAP) remains `convert --method vbap`'s rule.
//! - **Cartesian** blocks (`cartesian="1"`): BS.2127's allocentric panner
//!   ([`super::allocentric`]) over the speakers' allocentric positions (the layout file's
//!   `allocentric` fields). The position is first clipped to the cube `[-1, 1]^3`, as BS.2127 does.
//!
//! LFE channels always get 0. Extent, divergence, channel lock, zone exclusion and screen
//! handling are later steps of BS.2127's chain and are not applied here.

use super::allocentric::AllocentricPanner;
use super::Panner;
use crate::error::{Error, Result};
use crate::layout::Layout;

pub use super::conversion::{cart_to_polar, polar_to_cart};

/// The 0+5+0 labels the 0+2+0 rule pans on, in the order of its downmix.
const STEREO_BASE: [&str; 5] = ["M+030", "M-030", "M+000", "M+110", "M-110"];

#[derive(Debug, Clone)]
enum Polar {
    /// The layout's own point-source panner.
    Direct(Panner),
    /// BS.2127's 0+2+0 rule: a 0+5+0 panner, the indices of STEREO_BASE in its output, and
    /// the layout's left and right channels.
    Stereo {
        base: Panner,
        base_channels: [usize; 5],
        left: usize,
        right: usize,
    },
}

#[derive(Debug, Clone)]
enum Allocentric {
    /// The panner and, for each of its speakers, the layout channel it feeds.
    Ready(AllocentricPanner, Vec<usize>),
    /// The label of the first non-LFE speaker without an allocentric position.
    Missing(String),
}

/// BS.2127 point-source gains (polar and allocentric) for one layout. Built once per layout;
/// cheap to query from many threads at once.
#[derive(Debug, Clone)]
pub struct PointGains {
    layout: String,
    channels: usize,
    polar: Polar,
    allocentric: Allocentric,
}

impl PointGains {
    /// Prepares the gain calculation for `layout`: its point-source panner (or BS.2127's 0+2+0
    /// rule) and, when every non-LFE speaker has an allocentric position, its allocentric panner.
    /// Errors if the layout cannot be triangulated or two speakers share an allocentric position.
    pub fn new(layout: &Layout) -> Result<PointGains> {
        let main: Vec<usize> = (0..layout.channels())
            .filter(|&i| !layout.speakers[i].lfe)
            .collect();
        let is_stereo = main.len() == 2
            && ["M+030", "M-030"]
                .iter()
                .all(|l| main.iter().any(|&i| layout.speakers[i].label == *l));
        let polar = if is_stereo {
            let base_layout = Layout::find_builtin("0+5+0").ok_or_else(|| {
                Error::Invalid("the built-in 0+5+0 layout is missing".to_string())
            })?;
            let mut base_channels = [0; 5];
            for (k, label) in STEREO_BASE.iter().enumerate() {
                base_channels[k] = base_layout.channel_index(label).ok_or_else(|| {
                    Error::Invalid(format!("the built-in 0+5+0 layout has no {label}"))
                })?;
            }
            let find = |label: &str| {
                main.iter()
                    .copied()
                    .find(|&i| layout.speakers[i].label == label)
            };
            Polar::Stereo {
                base: Panner::new(&base_layout)?,
                base_channels,
                left: find("M+030").unwrap_or(main[0]),
                right: find("M-030").unwrap_or(main[1]),
            }
        } else {
            Polar::Direct(Panner::new(layout)?)
        };
        let allocentric = match main
            .iter()
            .find(|&&i| layout.speakers[i].allocentric.is_none())
        {
            Some(&i) => Allocentric::Missing(layout.speakers[i].label.clone()),
            None => {
                let positions: Vec<[f64; 3]> = main
                    .iter()
                    .filter_map(|&i| layout.speakers[i].allocentric)
                    .collect();
                let panner = AllocentricPanner::new(&positions).map_err(|e| {
                    Error::Invalid(format!(
                        "layout '{}': {e} (allocentric positions are numbered among the non-LFE speakers)",
                        layout.name
                    ))
                })?;
                Allocentric::Ready(panner, main.clone())
            }
        };
        Ok(PointGains {
            layout: layout.name.clone(),
            channels: layout.channels(),
            polar,
            allocentric,
        })
    }

    /// Number of output channels (the layout's, LFE included).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// BS.2127 point-source gains for a polar direction (azimuth positive to the left,
    /// elevation up, degrees), one per layout channel, 0 on LFE channels; unit power except on
    /// 0+2+0, whose level falls from 0 dB at the front to -3 dB at the back.
    pub fn polar(&self, azimuth: f64, elevation: f64) -> Vec<f64> {
        let mut out = vec![0.0; self.channels];
        self.polar_into(azimuth, elevation, &mut out);
        out
    }

    /// [`PointGains::polar`] written into `out` (length = [`PointGains::channels`]).
    pub fn polar_into(&self, azimuth: f64, elevation: f64, out: &mut [f64]) {
        self.direction_into(crate::geometry::direction(azimuth, elevation), out);
    }

    /// [`PointGains::polar`] for a direction vector (x right, y front, z up; any non-zero
    /// length), written into `out` (length = [`PointGains::channels`]). The renderer pans RON
    /// objects and beds with this, so a scene and its ADM export pan alike on every layout.
    pub fn direction_into(&self, direction: crate::geometry::Vec3, out: &mut [f64]) {
        assert_eq!(out.len(), self.channels, "gain buffer length");
        match &self.polar {
            Polar::Direct(p) => {
                p.gains_into(direction, out);
            }
            Polar::Stereo {
                base,
                base_channels,
                left,
                right,
            } => {
                let g = base.gains(direction);
                let (gl, gr) = stereo_downmix(base_channels.map(|i| g[i]));
                out.iter_mut().for_each(|g| *g = 0.0);
                out[*left] = gl;
                out[*right] = gr;
            }
        }
    }

    /// True if every non-LFE speaker has an allocentric position, so that
    /// [`PointGains::cartesian`] works.
    pub fn has_allocentric(&self) -> bool {
        matches!(self.allocentric, Allocentric::Ready(..))
    }

    /// BS.2127 allocentric gains for a Cartesian position (x right, y front, z up; clipped to
    /// `[-1, 1]`), one per layout channel, 0 on LFE channels, unit power.
    ///
    /// Errors (`Error::Invalid`, naming the layout and a speaker) when the layout lacks
    /// allocentric positions, and when a coordinate is not finite.
    pub fn cartesian(&self, x: f64, y: f64, z: f64) -> Result<Vec<f64>> {
        let mut out = vec![0.0; self.channels];
        self.cartesian_into(x, y, z, &mut out)?;
        Ok(out)
    }

    /// [`PointGains::cartesian`] written into `out` (length = [`PointGains::channels`]).
    pub fn cartesian_into(&self, x: f64, y: f64, z: f64, out: &mut [f64]) -> Result<()> {
        assert_eq!(out.len(), self.channels, "gain buffer length");
        let (panner, map) = match &self.allocentric {
            Allocentric::Ready(p, map) => (p, map),
            Allocentric::Missing(label) => {
                return Err(Error::Invalid(format!(
                    "layout '{}' has no allocentric position for speaker '{label}': a Cartesian \
                     (allocentric) object needs one for every non-LFE speaker; add \
                     `allocentric: (x, y, z)` to the layout file's speakers or render to a built-in layout",
                    self.layout
                )))
            }
        };
        if !(x.is_finite() && y.is_finite() && z.is_finite()) {
            return Err(Error::Invalid(format!(
                "Cartesian position ({x}, {y}, {z}) is not finite"
            )));
        }
        let g = panner.gains([x, y, z].map(|c| c.clamp(-1.0, 1.0)));
        out.iter_mut().for_each(|v| *v = 0.0);
        for (k, &ch) in map.iter().enumerate() {
            out[ch] = g[k];
        }
        Ok(())
    }
}

/// BS.2127's 0+2+0 downmix of 0+5+0 gains `[M+030, M-030, M+000, M+110, M-110]`: the centre at
/// `sqrt(1/3)` and each surround at `sqrt(1/2)` into its side, power-normalised, then lowered from
/// 0 dB (a source at the front) to -3 dB (at the back) by `0.5^(b / 2(f + b))`.
fn stereo_downmix([l, r, c, ls, rs]: [f64; 5]) -> (f64, f64) {
    let centre = (1.0f64 / 3.0).sqrt();
    let surround = 0.5f64.sqrt();
    let mut gl = l + centre * c + surround * ls;
    let mut gr = r + centre * c + surround * rs;
    let norm = gl.hypot(gr);
    let front = l.max(r).max(c);
    let back = ls.max(rs);
    let level = 0.5f64.powf(0.5 * back / (front + back));
    if norm > 0.0 && level.is_finite() {
        gl *= level / norm;
        gr *= level / norm;
    }
    (gl, gr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn power(g: &[f64]) -> f64 {
        g.iter().map(|g| g * g).sum()
    }

    #[test]
    fn every_builtin_layout_has_allocentric_positions() {
        for l in Layout::builtin() {
            let p = PointGains::new(&l).unwrap();
            assert!(p.has_allocentric(), "{}", l.name);
            for (i, s) in l.speakers.iter().enumerate() {
                let [x, y, z] = s.allocentric.unwrap();
                let g = p.cartesian(x, y, z).unwrap();
                if s.lfe {
                    continue;
                }
                for (j, &gj) in g.iter().enumerate() {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert_eq!(
                        gj, want,
                        "{} {} -> {}",
                        l.name, s.label, l.speakers[j].label
                    );
                }
            }
            for &ch in &l.lfe_channels() {
                assert_eq!(p.cartesian(0.3, -0.2, 0.1).unwrap()[ch], 0.0);
                assert_eq!(p.polar(20.0, 10.0)[ch], 0.0);
            }
            for (x, y, z) in [
                (0.0, 0.0, 0.0),
                (0.3, -0.7, 0.5),
                (-1.0, 0.2, 1.0),
                (5.0, 5.0, -5.0),
            ] {
                let g = p.cartesian(x, y, z).unwrap();
                assert!((power(&g) - 1.0).abs() < 1e-12, "{} {g:?}", l.name);
            }
        }
    }

    #[test]
    fn cartesian_clips_to_the_cube_and_refuses_nan() {
        let p = PointGains::new(&Layout::resolve("7.1.4").unwrap()).unwrap();
        assert_eq!(
            p.cartesian(3.0, -2.0, 1.5).unwrap(),
            p.cartesian(1.0, -1.0, 1.0).unwrap()
        );
        assert!(p.cartesian(f64::NAN, 0.0, 0.0).is_err());
    }

    #[test]
    fn a_layout_without_allocentric_positions_is_a_clear_error() {
        let mut l = Layout::resolve("5.1").unwrap();
        l.name = "my room".into();
        l.speakers[4].allocentric = None;
        let p = PointGains::new(&l).unwrap();
        assert!(!p.has_allocentric());
        let e = p.cartesian(0.0, 1.0, 0.0).unwrap_err();
        assert!(matches!(e, Error::Invalid(_)));
        let e = e.to_string();
        assert!(e.contains("'my room'") && e.contains("M+110"), "{e}");
        // An LFE without a position does not matter.
        let mut l = Layout::resolve("5.1").unwrap();
        l.speakers[3].allocentric = None;
        assert!(PointGains::new(&l).unwrap().has_allocentric());
    }

    #[test]
    fn polar_equals_the_panner_except_on_stereo() {
        for l in Layout::builtin() {
            let p = PointGains::new(&l).unwrap();
            let vbap = Panner::new(&l).unwrap();
            let g = p.polar(70.0, 15.0);
            if l.name == "stereo" {
                assert_ne!(g, vbap.gains_polar(70.0, 15.0));
            } else {
                assert_eq!(g, vbap.gains_polar(70.0, 15.0), "{}", l.name);
            }
        }
    }

    #[test]
    fn stereo_rule_levels() {
        let p = PointGains::new(&Layout::resolve("0+2+0").unwrap()).unwrap();
        // On a front speaker: that speaker alone at 0 dB.
        let g = p.polar(30.0, 0.0);
        assert!((g[0] - 1.0).abs() < 1e-12 && g[1].abs() < 1e-12, "{g:?}");
        // Centre: equal, 0 dB.
        let g = p.polar(0.0, 0.0);
        assert!((g[0] - g[1]).abs() < 1e-12 && (power(&g) - 1.0).abs() < 1e-12);
        // On a surround: -3 dB, all in its side.
        let g = p.polar(110.0, 0.0);
        assert!(
            (power(&g) - 0.5).abs() < 1e-12 && g[1].abs() < 1e-12,
            "{g:?}"
        );
        // Straight behind: -3 dB, equal.
        let g = p.polar(180.0, 0.0);
        assert!((power(&g) - 0.5).abs() < 1e-12 && (g[0] - g[1]).abs() < 1e-12);
    }
}
