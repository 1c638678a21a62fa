//! BS.2127's screen handling (ITU-R BS.2127-1 §7.3.3-7.3.4; the EBU ADM Renderer's
//! `core/screen_scale.py`, `screen_edge_lock.py`, `screen_common.py`).
//!
//! A screen is reduced to its edges as seen from the listener: the azimuths of its left and
//! right edges and the elevations of its top and bottom. **Screen scaling** (`screenRef`) maps
//! an object placed relative to the programme's reference screen onto the reproduction
//! screen: azimuth piecewise-linearly from the reference edges to the reproduction edges (and
//! +-180 to +-180), elevation likewise (+-90 fixed). **Screen edge lock** (`screenEdgeLock` on
//! a position coordinate) moves the object's azimuth onto the reproduction screen's left or
//! right edge, or its elevation onto the top or bottom. Cartesian positions are converted to
//! polar with BS.2127's point mapping first, and back afterwards, with an azimuth correction
//! on layouts with U+045 so that vertical movement stays vertical.

use super::conversion::{cart_to_polar, polar_to_cart};
use super::extent::{azimuth, elevation, interp, local_basis};
use crate::error::{Error, Result};
use crate::geometry::Vec3;

/// A screen (audioProgrammeReferenceScreen, or the reproduction room's), BS.2076's two forms.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Screen {
    /// Centre at a polar position, width as an angle.
    Polar {
        /// Width / height.
        aspect_ratio: f64,
        /// Centre azimuth, degrees.
        azimuth: f64,
        /// Centre elevation, degrees.
        elevation: f64,
        /// Centre distance.
        distance: f64,
        /// Width, degrees of azimuth.
        width_azimuth: f64,
    },
    /// Centre at a Cartesian position, width along X.
    Cartesian {
        /// Width / height.
        aspect_ratio: f64,
        /// Centre X.
        x: f64,
        /// Centre Y.
        y: f64,
        /// Centre Z.
        z: f64,
        /// Width along X.
        width_x: f64,
    },
}

impl Default for Screen {
    /// BS.2127's default screen: 58 degrees wide, 1.78:1, straight ahead at distance 1.
    fn default() -> Self {
        Screen::Polar {
            aspect_ratio: 1.78,
            azimuth: 0.0,
            elevation: 0.0,
            distance: 1.0,
            width_azimuth: 58.0,
        }
    }
}

/// A screen's edges as seen from the listener, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edges {
    /// Azimuth of the left edge.
    pub left: f64,
    /// Azimuth of the right edge.
    pub right: f64,
    /// Elevation of the bottom edge.
    pub bottom: f64,
    /// Elevation of the top edge.
    pub top: f64,
}

impl Edges {
    /// The edges of `screen`; an error for a screen reaching behind the listener or past
    /// straight up or down.
    pub fn of(screen: &Screen) -> Result<Edges> {
        let (centre, x_vec, z_vec) = match *screen {
            Screen::Polar {
                aspect_ratio,
                azimuth,
                elevation,
                distance,
                width_azimuth,
            } => {
                let centre = crate::geometry::polar_to_cartesian(azimuth, elevation, distance);
                let width = distance * (width_azimuth / 2.0).to_radians().tan();
                let height = width / aspect_ratio;
                let axes = local_basis(azimuth, elevation);
                (centre, axes[0] * width, axes[2] * height)
            }
            Screen::Cartesian {
                aspect_ratio,
                x,
                y,
                z,
                width_x,
            } => {
                let width = width_x / 2.0;
                let height = width / aspect_ratio;
                (
                    Vec3::new(x, y, z),
                    Vec3::new(width, 0.0, 0.0),
                    Vec3::new(0.0, 0.0, height),
                )
            }
        };
        let left = azimuth(&(centre - x_vec));
        let right = azimuth(&(centre + x_vec));
        if right > left {
            return Err(Error::Invalid(
                "invalid screen: it must not extend behind the listener".into(),
            ));
        }
        if azimuth(&(centre - z_vec)) - azimuth(&(centre + z_vec)) > 1e-3 {
            return Err(Error::Invalid(
                "invalid screen: it must not extend past straight up or down".into(),
            ));
        }
        Ok(Edges {
            left,
            right,
            bottom: elevation(&(centre - z_vec)),
            top: elevation(&(centre + z_vec)),
        })
    }
}

/// A layout's reproduction screen as the gain calculations see it: its edges (the layout's
/// `screen`, BS.2127's default when it has none) and whether the layout has U+045 (BS.2127's
/// correction of Cartesian screen positions). Objects and DirectSpeakers share it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reproduction {
    /// The screen's edges.
    pub edges: Edges,
    /// The layout has U+045.
    pub has_u045: bool,
}

impl Reproduction {
    /// The reproduction screen of `layout`; an error naming the layout when its screen is
    /// not valid.
    pub fn of(layout: &crate::layout::Layout) -> Result<Reproduction> {
        Ok(Reproduction {
            edges: Edges::of(&layout.screen.unwrap_or_default())
                .map_err(|e| Error::Invalid(format!("layout '{}': {e}", layout.name)))?,
            has_u045: layout.speakers.iter().any(|s| !s.lfe && s.label == "U+045"),
        })
    }

    /// `pos` locked to the edges `lock` names ([`edge_lock`]).
    pub fn lock(&self, pos: Vec3, lock: EdgeLock, cartesian: bool) -> Vec3 {
        edge_lock(pos, lock, &self.edges, cartesian, self.has_u045)
    }

    /// `pos`, placed against the `reference` screen, scaled onto this one ([`scale`]).
    pub fn scale_from(&self, pos: Vec3, reference: &Edges, cartesian: bool) -> Vec3 {
        scale(pos, reference, &self.edges, cartesian, self.has_u045)
    }
}

/// `screenEdgeLock` of a block: which edges the position is locked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EdgeLock {
    /// `left` (true) or `right` (false), from the azimuth or X coordinate.
    pub horizontal: Option<bool>,
    /// `top` (true) or `bottom` (false), from the elevation or Z coordinate.
    pub vertical: Option<bool>,
}

/// The azimuth correction BS.2127 applies to Cartesian positions after screen handling on
/// layouts with U+045, so that panning between layers stays vertical.
fn compensate(az: f64, el: f64, has_u045: bool) -> (f64, f64) {
    if !has_u045 {
        return (az, el);
    }
    let right = interp(el, &[0.0, 30.0, 90.0], &[30.0, 30.0 * (30.0 / 45.0), 30.0]);
    (
        interp(
            az,
            &[-180.0, -30.0, 30.0, 180.0],
            &[-180.0, -right, right, 180.0],
        ),
        el,
    )
}

/// Applies `f` to a position's azimuth and elevation: polar positions keep their distance,
/// Cartesian ones go through BS.2127's point conversion (and [`compensate`]).
fn on_az_el(
    pos: Vec3,
    cartesian: bool,
    has_u045: bool,
    f: impl Fn(f64, f64) -> (f64, f64),
) -> Vec3 {
    if cartesian {
        let (az, el, d) = cart_to_polar(pos.x, pos.y, pos.z);
        let (az, el) = f(az, el);
        let (az, el) = compensate(az, el, has_u045);
        let (x, y, z) = polar_to_cart(az, el, d);
        Vec3::new(x, y, z)
    } else {
        let (az, el) = f(azimuth(&pos), elevation(&pos));
        crate::geometry::polar_to_cartesian(az, el, pos.norm())
    }
}

/// Screen scaling: `pos` placed against the `reference` screen, moved to the same place
/// against the `reproduction` screen.
pub fn scale(
    pos: Vec3,
    reference: &Edges,
    reproduction: &Edges,
    cartesian: bool,
    has_u045: bool,
) -> Vec3 {
    on_az_el(pos, cartesian, has_u045, |az, el| {
        (
            interp(
                az,
                &[-180.0, reference.right, reference.left, 180.0],
                &[-180.0, reproduction.right, reproduction.left, 180.0],
            ),
            interp(
                el,
                &[-90.0, reference.bottom, reference.top, 90.0],
                &[-90.0, reproduction.bottom, reproduction.top, 90.0],
            ),
        )
    })
}

/// Screen edge lock: `pos` with its azimuth and/or elevation moved onto the reproduction
/// screen's edges.
pub fn edge_lock(
    pos: Vec3,
    lock: EdgeLock,
    screen: &Edges,
    cartesian: bool,
    has_u045: bool,
) -> Vec3 {
    if lock == EdgeLock::default() {
        return pos;
    }
    on_az_el(pos, cartesian, has_u045, |az, el| {
        let az = match lock.horizontal {
            Some(true) => screen.left,
            Some(false) => screen.right,
            None => az,
        };
        let el = match lock.vertical {
            Some(true) => screen.top,
            Some(false) => screen.bottom,
            None => el,
        };
        (az, el)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_screen_is_58_degrees_wide() {
        let e = Edges::of(&Screen::default()).unwrap();
        assert!((e.left - 29.0).abs() < 1e-9 && (e.right + 29.0).abs() < 1e-9);
        assert!(e.top > 0.0 && (e.top + e.bottom).abs() < 1e-9);
        // Scaling between equal screens changes nothing.
        let p = crate::geometry::polar_to_cartesian(20.0, 10.0, 0.7);
        assert!((scale(p, &e, &e, false, false) - p).norm() < 1e-12);
    }
}
