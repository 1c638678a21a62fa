//! Geometry shared by every part of mixstage: one coordinate convention.
//!
//! Polar coordinates follow ITU-R BS.2051 / ADM: azimuth in degrees, 0 straight
//! ahead and **positive to the left** (counter-clockwise seen from above), in
//! (-180, 180]; elevation in degrees, 0 at ear level, +90 straight up; distance
//! 1.0 is the speaker radius.
//!
//! Cartesian coordinates: x to the right, y to the front, z up.

use nalgebra::Vector3;

/// A 3-vector of `f64` (Cartesian, x right, y front, z up).
pub type Vec3 = Vector3<f64>;

/// A position in ADM polar coordinates (degrees, distance relative to the speaker radius).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Polar {
    /// Azimuth in degrees, positive to the left.
    pub azimuth: f64,
    /// Elevation in degrees, positive up.
    pub elevation: f64,
    /// Distance; 1.0 is the speaker radius.
    pub distance: f64,
}

impl Polar {
    /// A direction at unit distance.
    pub fn new(azimuth: f64, elevation: f64) -> Self {
        Polar {
            azimuth,
            elevation,
            distance: 1.0,
        }
    }

    /// Cartesian coordinates of this position (x right, y front, z up).
    pub fn to_cartesian(self) -> Vec3 {
        polar_to_cartesian(self.azimuth, self.elevation, self.distance)
    }

    /// The polar position of a Cartesian point. The origin maps to distance 0,
    /// azimuth 0, elevation 0; the poles have azimuth 0.
    pub fn from_cartesian(v: Vec3) -> Self {
        let (azimuth, elevation, distance) = cartesian_to_polar(v);
        Polar {
            azimuth,
            elevation,
            distance,
        }
    }
}

/// Converts ADM polar coordinates (degrees) to Cartesian (x right, y front, z up).
pub fn polar_to_cartesian(azimuth: f64, elevation: f64, distance: f64) -> Vec3 {
    let (sa, ca) = azimuth.to_radians().sin_cos();
    let (se, ce) = elevation.to_radians().sin_cos();
    Vec3::new(-sa * ce * distance, ca * ce * distance, se * distance)
}

/// Unit vector of an ADM direction (degrees).
pub fn direction(azimuth: f64, elevation: f64) -> Vec3 {
    polar_to_cartesian(azimuth, elevation, 1.0)
}

/// Converts Cartesian (x right, y front, z up) to ADM polar `(azimuth, elevation, distance)`
/// in degrees. Azimuth is wrapped into (-180, 180]; at the poles and the origin it is 0.
pub fn cartesian_to_polar(v: Vec3) -> (f64, f64, f64) {
    let distance = v.norm();
    if distance == 0.0 {
        return (0.0, 0.0, 0.0);
    }
    let horizontal = v.x.hypot(v.y);
    let elevation = v.z.atan2(horizontal).to_degrees();
    let azimuth = if horizontal <= distance * 1e-12 {
        0.0
    } else {
        wrap_azimuth((-v.x).atan2(v.y).to_degrees())
    };
    (azimuth, elevation, distance)
}

/// Wraps an angle in degrees into (-180, 180]. Negative zero becomes zero.
pub fn wrap_azimuth(degrees: f64) -> f64 {
    if !degrees.is_finite() {
        return degrees;
    }
    let mut a = degrees % 360.0;
    if a <= -180.0 {
        a += 360.0;
    } else if a > 180.0 {
        a -= 360.0;
    }
    if a == 0.0 {
        0.0
    } else {
        a
    }
}

/// The signed shortest angular difference `to - from` in degrees, in (-180, 180].
pub fn azimuth_difference(from: f64, to: f64) -> f64 {
    wrap_azimuth(to - from)
}

/// Great-circle angle in degrees between two directions given in ADM polar degrees.
pub fn great_circle_deg(az1: f64, el1: f64, az2: f64, el2: f64) -> f64 {
    angle_between(&direction(az1, el1), &direction(az2, el2)).to_degrees()
}

/// The angle in radians between two non-zero vectors, accurate for tiny and near-pi angles.
pub fn angle_between(a: &Vec3, b: &Vec3) -> f64 {
    // atan2(|a x b|, a . b) keeps full precision at both ends, unlike acos.
    a.cross(b).norm().atan2(a.dot(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn axes_follow_the_adm_convention() {
        let front = direction(0.0, 0.0);
        assert!(close(front.x, 0.0) && close(front.y, 1.0) && close(front.z, 0.0));
        let left = direction(90.0, 0.0);
        assert!(close(left.x, -1.0) && close(left.y, 0.0));
        let right = direction(-90.0, 0.0);
        assert!(close(right.x, 1.0));
        let up = direction(0.0, 90.0);
        assert!(close(up.z, 1.0));
        let back = direction(180.0, 0.0);
        assert!(close(back.y, -1.0));
    }

    #[test]
    fn polar_cartesian_round_trip() {
        for az in (-179..=180).step_by(7) {
            for el in (-89..=89).step_by(11) {
                for &d in &[0.5, 1.0, 2.0] {
                    let v = polar_to_cartesian(az as f64, el as f64, d);
                    let (a, e, r) = cartesian_to_polar(v);
                    assert!(close(a, az as f64), "az {az} el {el} -> {a}");
                    assert!(close(e, el as f64));
                    assert!(close(r, d));
                }
            }
        }
    }

    #[test]
    fn cartesian_polar_round_trip() {
        let pts = [
            Vec3::new(0.3, -0.7, 0.2),
            Vec3::new(-1.0, -1.0, -1.0),
            Vec3::new(1.0, 0.0, 0.0),
            Vec3::new(0.0, -1.0, 0.5),
        ];
        for p in pts {
            let (a, e, r) = cartesian_to_polar(p);
            let q = polar_to_cartesian(a, e, r);
            assert!((p - q).norm() < 1e-12);
        }
    }

    #[test]
    fn poles_and_back() {
        assert_eq!(
            cartesian_to_polar(Vec3::new(0.0, 0.0, 2.0)),
            (0.0, 90.0, 2.0)
        );
        assert_eq!(
            cartesian_to_polar(Vec3::new(0.0, 0.0, -1.0)),
            (0.0, -90.0, 1.0)
        );
        // Straight behind is +180, never -180.
        let (a, _, _) = cartesian_to_polar(Vec3::new(0.0, -1.0, 0.0));
        assert_eq!(a, 180.0);
        let (a, _, _) = cartesian_to_polar(Vec3::new(-0.0, -1.0, 0.0));
        assert_eq!(a, 180.0);
        assert_eq!(cartesian_to_polar(Vec3::zeros()), (0.0, 0.0, 0.0));
    }

    #[test]
    fn wrapping() {
        assert_eq!(wrap_azimuth(-180.0), 180.0);
        assert_eq!(wrap_azimuth(180.0), 180.0);
        assert_eq!(wrap_azimuth(540.0), 180.0);
        assert_eq!(wrap_azimuth(190.0), -170.0);
        assert_eq!(wrap_azimuth(-190.0), 170.0);
        assert_eq!(wrap_azimuth(-0.0), 0.0);
        assert_eq!(wrap_azimuth(720.0), 0.0);
        assert_eq!(azimuth_difference(170.0, -170.0), 20.0);
        assert_eq!(azimuth_difference(-170.0, 170.0), -20.0);
    }

    #[test]
    fn great_circle() {
        assert!(close(great_circle_deg(0.0, 0.0, 90.0, 0.0), 90.0));
        assert!(close(great_circle_deg(170.0, 0.0, -170.0, 0.0), 20.0));
        assert!(close(great_circle_deg(0.0, 90.0, 123.0, 90.0), 0.0));
        assert!(close(great_circle_deg(0.0, 0.0, 180.0, 0.0), 180.0));
        assert!(close(great_circle_deg(30.0, 0.0, 30.0, 30.0), 30.0));
        let tiny = great_circle_deg(0.0, 0.0, 1e-7, 0.0);
        assert!((tiny - 1e-7).abs() < 1e-15);
    }
}
