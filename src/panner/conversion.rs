//! ITU-R BS.2127's conversion of a point between polar and Cartesian ADM positions.
//!
//! This is not the geometric conversion of [`crate::geometry`]: BS.2127 maps the sphere of
//! speaker directions onto the room cube `[-1, 1]^3` so that the BS.2051 0+5+0 speakers land
//! on the cube's corners and the front centre: M+000 at `(0, 1)`, M∓030 at `(±1, 1)`, M∓110
//! at `(±1, -1)` in the horizontal plane. Between two of those five anchors, the azimuth is
//! mapped to a position along the cube's edge by a tangent law; elevation is warped so that
//! 30 degrees (the upper layer) lands on the 45-degree diagonal of the cube (z = 1 at the
//! edge), and 30..90 degrees covers the top face. [`polar_to_cart`] and [`cart_to_polar`] are
//! each other's inverse.
//!
//! Conventions: azimuth in degrees, positive to the left; elevation in degrees, positive up;
//! x right, y front, z up.

/// The five anchors: (azimuth in degrees, (x, y) on the cube), in the order BS.2127 scans them.
const ANCHORS: [(f64, [f64; 2]); 5] = [
    (0.0, [0.0, 1.0]),
    (-30.0, [1.0, 1.0]),
    (-110.0, [1.0, -1.0]),
    (110.0, [-1.0, -1.0]),
    (30.0, [-1.0, 1.0]),
];

/// Elevation of the upper layer, and the elevation it is mapped to on the cube.
const EL_TOP: f64 = 30.0;
const EL_TOP_CUBE: f64 = 45.0;

/// `y` shifted by whole turns to be at or after `x` and less than a turn after it.
fn after(x: f64, mut y: f64) -> f64 {
    if (y - x).abs() > 720.0 {
        y = x + (y - x).rem_euclid(360.0);
    }
    while y - 360.0 >= x {
        y -= 360.0;
    }
    while y < x {
        y += 360.0;
    }
    y
}

/// True if angle `x` lies in the arc from `start` increasing to `end` (ends included).
fn in_arc(x: f64, start: f64, end: f64) -> bool {
    let mut end = end;
    while end - 360.0 > start {
        end -= 360.0;
    }
    while end < start {
        end += 360.0;
    }
    after(start, x) <= end
}

/// ADM azimuth (degrees) of a horizontal Cartesian vector.
fn azimuth_of(x: f64, y: f64) -> f64 {
    (-x).atan2(y).to_degrees()
}

/// BS.2127's polar-to-Cartesian conversion of a point: `(azimuth, elevation, distance)` in
/// degrees (azimuth positive to the left) to `(x, y, z)` in the room cube (x right, y front,
/// z up). Distance 1 lands on the cube's surface.
pub fn polar_to_cart(azimuth: f64, elevation: f64, distance: f64) -> (f64, f64, f64) {
    let (z, r_xy) = if elevation.abs() > EL_TOP {
        let el_cube =
            EL_TOP_CUBE + (90.0 - EL_TOP_CUBE) * (elevation.abs() - EL_TOP) / (90.0 - EL_TOP);
        (
            distance * elevation.signum(),
            distance * (90.0 - el_cube).to_radians().tan(),
        )
    } else {
        let el_cube = EL_TOP_CUBE * elevation / EL_TOP;
        (el_cube.to_radians().tan() * distance, distance)
    };
    let azimuth = if azimuth.is_finite() { azimuth } else { 0.0 };
    // The sector whose anchors (left, right) enclose the azimuth; right is the smaller angle.
    let (i, j) = (0..ANCHORS.len())
        .map(|i| (i, (i + 1) % ANCHORS.len()))
        .find(|&(i, j)| in_arc(azimuth, ANCHORS[j].0, ANCHORS[i].0))
        .unwrap_or((0, 1));
    let ((left_az, left), (right_az, right)) = (ANCHORS[i], ANCHORS[j]);
    let left_az = after(right_az, left_az);
    let az = after(right_az, azimuth);
    // Tangent law across the sector: p = 0 at the left anchor, 1 at the right one.
    let mid = (left_az + right_az) / 2.0;
    let half = right_az - mid;
    let gain_r = 0.5 + 0.5 * (az - mid).to_radians().tan() / half.to_radians().tan();
    let p = gain_r.atan2(1.0 - gain_r) * std::f64::consts::FRAC_2_PI;
    let x = r_xy * (left[0] + (right[0] - left[0]) * p);
    let y = r_xy * (left[1] + (right[1] - left[1]) * p);
    (x, y, z)
}

/// BS.2127's Cartesian-to-polar conversion of a point: `(x, y, z)` in the room cube to
/// `(azimuth, elevation, distance)` in degrees, the inverse of [`polar_to_cart`].
///
/// Azimuth is in mixstage's range (-180, 180] (BS.2127's reference renderer reports straight
/// behind as -180; the direction is the same). A point on the vertical axis gets azimuth 0 and
/// elevation ±90; the origin maps to `(0, 0, 0)`.
pub fn cart_to_polar(x: f64, y: f64, z: f64) -> (f64, f64, f64) {
    const EPS: f64 = 1e-10;
    if x.abs() < EPS && y.abs() < EPS {
        return if z.abs() < EPS {
            (0.0, 0.0, 0.0)
        } else {
            (0.0, 90.0 * z.signum(), z.abs())
        };
    }
    let az_xy = azimuth_of(x, y);
    let (i, j) = (0..ANCHORS.len())
        .map(|i| (i, (i + 1) % ANCHORS.len()))
        .find(|&(i, j)| {
            let (l, r) = (ANCHORS[i].1, ANCHORS[j].1);
            in_arc(az_xy, azimuth_of(r[0], r[1]), azimuth_of(l[0], l[1]))
        })
        .unwrap_or((0, 1));
    let ((left_az, left), (right_az, right)) = (ANCHORS[i], ANCHORS[j]);
    // (x, y) = g_l * left + g_r * right.
    let det = left[0] * right[1] - left[1] * right[0];
    let g_l = (x * right[1] - y * right[0]) / det;
    let g_r = (left[0] * y - left[1] * x) / det;
    let r_xy = g_l + g_r;
    // Inverse tangent law.
    let left_az = after(right_az, left_az);
    let mid = (left_az + right_az) / 2.0;
    let half = right_az - mid;
    let t = g_r / r_xy * std::f64::consts::FRAC_PI_2;
    let share_r = t.sin() / (t.cos() + t.sin());
    let rel = (2.0 * (share_r - 0.5) * half.to_radians().tan())
        .atan()
        .to_degrees();
    let mut azimuth = after(-180.0, mid + rel);
    if azimuth == -180.0 {
        azimuth = 180.0;
    }
    let el_cube = (z / r_xy).atan().to_degrees();
    let (elevation, distance) = if el_cube.abs() > EL_TOP_CUBE {
        let el = EL_TOP + (90.0 - EL_TOP) * (el_cube.abs() - EL_TOP_CUBE) / (90.0 - EL_TOP_CUBE);
        (el * el_cube.signum(), z.abs())
    } else {
        (EL_TOP * el_cube / EL_TOP_CUBE, r_xy)
    };
    (azimuth, elevation, distance)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64, f64), b: (f64, f64, f64)) -> bool {
        (a.0 - b.0).abs() < 1e-9 && (a.1 - b.1).abs() < 1e-9 && (a.2 - b.2).abs() < 1e-9
    }

    #[test]
    fn anchors_land_on_the_cube() {
        for (az, el, want) in [
            (0.0, 0.0, (0.0, 1.0, 0.0)),
            (30.0, 0.0, (-1.0, 1.0, 0.0)),
            (-30.0, 0.0, (1.0, 1.0, 0.0)),
            (110.0, 0.0, (-1.0, -1.0, 0.0)),
            (-110.0, 0.0, (1.0, -1.0, 0.0)),
            (180.0, 0.0, (0.0, -1.0, 0.0)),
            (30.0, 30.0, (-1.0, 1.0, 1.0)),
            (0.0, 90.0, (0.0, 0.0, 1.0)),
            (0.0, -90.0, (0.0, 0.0, -1.0)),
        ] {
            let got = polar_to_cart(az, el, 1.0);
            assert!(close(got, want), "({az}, {el}): {got:?}");
            let back = cart_to_polar(want.0, want.1, want.2);
            assert!(close(back, (az, el, 1.0)), "{want:?}: {back:?}");
        }
    }

    #[test]
    fn round_trips() {
        for az in (-175..=180).step_by(5) {
            for el in (-85..=85).step_by(17) {
                for d in [0.25, 1.0, 1.5] {
                    let (x, y, z) = polar_to_cart(az as f64, el as f64, d);
                    let back = cart_to_polar(x, y, z);
                    assert!(
                        close(back, (az as f64, el as f64, d)),
                        "{az} {el} {d}: {back:?}"
                    );
                }
            }
        }
    }
}
