//! BS.2127's gain calculation for Objects blocks that are more than a point (ITU-R BS.2127-1
//! §7.3, the EBU ADM Renderer's `core/objectbased/gain_calc.py`), in BS.2127's order:
//! channel lock ([`super::channel_lock`]), divergence ([`super::divergence`]), then each copy
//! panned (polar blocks through the extent panner, [`super::extent`]; Cartesian blocks through
//! the allocentric point-source panner) and the copies combined in power, with zone exclusion
//! ([`super::zone`]) after panning for polar blocks and before it for Cartesian ones.
//!
//! Cartesian blocks with a size go through the allocentric extent ([`super::allo_extent`]).
//!
//! Before all of these the position goes through screen scaling (`screenRef`) and screen edge
//! lock ([`super::screen`]), against the layout's screen (BS.2127's default when it has none).
//! The diffuse split is the renderer's (`render::diffuse`).

use std::sync::OnceLock;

use super::allo_extent::AlloExtent;
use super::channel_lock::ChannelLock;
use super::divergence::diverge;
use super::extent::PolarExtent;
use super::gain_calc::PointGains;
use super::screen::{Edges, Reproduction};
use super::zone::{allocentric_excluded, ZoneExclusion};
use crate::error::Result;
use crate::geometry::Vec3;
use crate::layout::Layout;
use crate::scene::ObjectParams;

/// The object gain calculation of one layout; the extent grid is built on first use.
#[derive(Debug)]
pub struct ObjectGains {
    point: PointGains,
    extent: OnceLock<PolarExtent>,
    ego_lock: ChannelLock,
    allo_lock: Option<ChannelLock>,
    zones: ZoneExclusion,
    /// Layout channel of each non-LFE speaker.
    main: Vec<usize>,
    /// Allocentric positions of the non-LFE speakers, when the layout has them.
    allo_positions: Option<Vec<[f64; 3]>>,
    /// The allocentric extent grid of all of them, built on first use.
    allo_extent: OnceLock<AlloExtent>,
    /// The reproduction screen.
    screen: Reproduction,
}

impl ObjectGains {
    /// Prepares the calculation for `layout`; an error when its screen is not valid.
    pub fn new(layout: &Layout) -> Result<ObjectGains> {
        Ok(ObjectGains {
            screen: Reproduction::of(layout)?,
            point: PointGains::new(layout)?,
            extent: OnceLock::new(),
            ego_lock: ChannelLock::egocentric(layout),
            allo_lock: ChannelLock::allocentric(layout),
            zones: ZoneExclusion::new(layout),
            main: (0..layout.channels())
                .filter(|&i| !layout.speakers[i].lfe)
                .collect(),
            allo_positions: layout
                .speakers
                .iter()
                .filter(|s| !s.lfe)
                .map(|s| s.allocentric)
                .collect(),
            allo_extent: OnceLock::new(),
        })
    }

    /// The point-source gains underneath.
    pub fn point(&self) -> &PointGains {
        &self.point
    }

    /// `pos` after screen scaling and screen edge lock.
    fn screen_handled(&self, pos: Vec3, p: &ObjectParams, cartesian: bool) -> Result<Vec3> {
        let mut pos = pos;
        if p.screen_ref {
            let reference = Edges::of(&p.reference_screen.unwrap_or_default())?;
            pos = self.screen.scale_from(pos, &reference, cartesian);
        }
        Ok(self.screen.lock(pos, p.screen_edge_lock, cartesian))
    }

    fn extent(&self) -> &PolarExtent {
        self.extent.get_or_init(|| PolarExtent::new(&self.point))
    }

    /// Gains (one per layout channel, LFE 0; block gain not applied) of a polar block at
    /// (`azimuth`, `elevation`) with `params`.
    /// Errors only for an invalid reference screen.
    pub fn polar(&self, azimuth: f64, elevation: f64, p: &ObjectParams) -> Result<Vec<f64>> {
        let pos = crate::geometry::polar_to_cartesian(azimuth, elevation, p.distance);
        let mut pos = self.screen_handled(pos, p, false)?;
        if let Some(max) = p.channel_lock {
            pos = self.ego_lock.lock(pos, max, &[]);
        }
        let (value, range) = p.divergence.unwrap_or((0.0, 0.0));
        let copies = diverge(pos, value, range, false);
        let mut g = combine(&copies, self.point.channels(), |q| {
            Ok(self
                .extent()
                .gains(&self.point, q, p.width, p.height, p.depth))
        })
        .expect("polar panning does not fail");
        if !p.zone_exclusion.is_empty() {
            let excluded = self.zones.excluded(&p.zone_exclusion);
            let main: Vec<f64> = self.main.iter().map(|&c| g[c]).collect();
            for (&c, x) in self.main.iter().zip(self.zones.downmix(&main, &excluded)) {
                g[c] = x;
            }
        }
        Ok(g)
    }

    /// Gains of a Cartesian block at (x, y, z) with `params` (zone exclusion, channel lock,
    /// divergence, and the allocentric extent when it has a size). `as_polar`: each copy is
    /// converted to a direction (BS.2127's conversion) and panned as a point, for layouts
    /// without allocentric positions; zones, channel lock and size then need them and are
    /// skipped.
    pub fn cartesian(
        &self,
        x: f64,
        y: f64,
        z: f64,
        p: &ObjectParams,
        as_polar: bool,
    ) -> Result<Vec<f64>> {
        let pos = Vec3::new(x, y, z).map(|c| c.clamp(-1.0, 1.0));
        let mut pos = self.screen_handled(pos, p, true)?;
        // Zone exclusion removes speakers from the allocentric panner (and from channel lock).
        let excluded = match (
            &self.allo_positions,
            p.zone_exclusion.is_empty() || as_polar,
        ) {
            (Some(ap), false) => allocentric_excluded(ap, &self.zones.excluded(&p.zone_exclusion)),
            _ => Vec::new(),
        };
        if let (Some(max), Some(lock)) = (p.channel_lock, &self.allo_lock) {
            pos = lock.lock(pos, max, &excluded);
        }
        let (value, range) = p.divergence.unwrap_or((0.0, 0.0));
        let copies = diverge(pos, value, range, true);
        let channels = self.point.channels();
        combine(&copies, channels, |q| {
            if as_polar {
                let (az, el, _) = super::conversion::cart_to_polar(q.x, q.y, q.z);
                return Ok(self.point.polar(az, el));
            }
            let sized = p.width != 0.0 || p.height != 0.0 || p.depth != 0.0;
            let size = [p.width, p.height, p.depth];
            match (&self.allo_positions, excluded.iter().any(|&e| e)) {
                (Some(ap), true) => {
                    let (keep, pos): (Vec<usize>, Vec<[f64; 3]>) = ap
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !excluded[*i])
                        .map(|(i, a)| (self.main[i], *a))
                        .unzip();
                    let g = if sized {
                        AlloExtent::new(&pos).gains([q.x, q.y, q.z], size)
                    } else {
                        super::allocentric::pan(&pos, [q.x, q.y, q.z])?
                    };
                    let mut out = vec![0.0; channels];
                    for (c, x) in keep.into_iter().zip(g) {
                        out[c] = x;
                    }
                    Ok(out)
                }
                (Some(ap), false) if sized => {
                    let e = self.allo_extent.get_or_init(|| AlloExtent::new(ap));
                    let mut out = vec![0.0; channels];
                    for (&c, x) in self.main.iter().zip(e.gains([q.x, q.y, q.z], size)) {
                        out[c] = x;
                    }
                    Ok(out)
                }
                _ => self.point.cartesian(q.x, q.y, q.z),
            }
        })
    }
}

/// Pans each (gain, position) copy and combines them in power: `sqrt(sum g_i p_i^2)`.
fn combine(
    copies: &[(f64, Vec3)],
    channels: usize,
    mut pan: impl FnMut(&Vec3) -> Result<Vec<f64>>,
) -> Result<Vec<f64>> {
    if let [(g, q)] = copies {
        if *g == 1.0 {
            return pan(q);
        }
    }
    let mut acc = vec![0.0; channels];
    for (g, q) in copies {
        for (a, x) in acc.iter_mut().zip(pan(q)?) {
            *a += g * x * x;
        }
    }
    Ok(acc
        .into_iter()
        .map(|a| if a.is_finite() { a.sqrt() } else { 0.0 })
        .collect())
}
