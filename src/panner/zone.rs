//! BS.2127's `zoneExclusion` (ITU-R BS.2127-1 §7.3.12; the EBU ADM Renderer's
//! `core/objectbased/zone.py` and `gain_calc.py`): keeping an object out of some speakers.
//!
//! Which speakers a zone excludes is decided on their nominal positions: a polar zone by
//! azimuth and elevation range (speakers at the poles match any azimuth), a Cartesian zone
//! by the box their unit direction vectors fall in (1e-6 tolerance either way). What happens
//! then depends on the block, not on the zone: a polar block is panned as usual and each
//! excluded speaker's power is handed to the nearest group of speakers still allowed
//! ([`ZoneExclusion::downmix`]: same layer first, then up before down; the same side of the
//! listener front to back; then the nearest; ties split evenly); a Cartesian block is panned
//! by the allocentric panner without the excluded speakers ([`allocentric_excluded`]).

use crate::geometry::Vec3;
use crate::layout::Layout;

const EPS: f64 = 1e-6;

/// One zone of a `zoneExclusion`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Zone {
    /// `minAzimuth maxAzimuth minElevation maxElevation` (degrees).
    Polar {
        /// minAzimuth.
        min_azimuth: f64,
        /// maxAzimuth.
        max_azimuth: f64,
        /// minElevation.
        min_elevation: f64,
        /// maxElevation.
        max_elevation: f64,
    },
    /// `minX maxX minY maxY minZ maxZ`.
    Cartesian {
        /// (minX, minY, minZ).
        min: [f64; 3],
        /// (maxX, maxY, maxZ).
        max: [f64; 3],
    },
}

impl Zone {
    /// Checks the bounds: finite, and each minimum no greater than its maximum, except
    /// azimuth (a polar zone with minAzimuth > maxAzimuth runs across +-180 degrees).
    pub fn check(&self) -> std::result::Result<(), String> {
        let pairs: Vec<(&str, f64, f64)> = match self {
            Zone::Polar {
                min_azimuth,
                max_azimuth,
                min_elevation,
                max_elevation,
            } => {
                if !min_azimuth.is_finite() || !max_azimuth.is_finite() {
                    return Err(format!(
                        "zone azimuths {min_azimuth}, {max_azimuth} must be finite"
                    ));
                }
                vec![("Elevation", *min_elevation, *max_elevation)]
            }
            Zone::Cartesian { min, max } => ["X", "Y", "Z"]
                .iter()
                .zip(min.iter().zip(max))
                .map(|(k, (a, b))| (*k, *a, *b))
                .collect(),
        };
        for (k, lo, hi) in pairs {
            if !lo.is_finite() || !hi.is_finite() || lo > hi {
                return Err(format!(
                    "zone min{k} {lo} must be a number no greater than max{k} {hi}"
                ));
            }
        }
        Ok(())
    }
}

use super::direct_speakers::inside_angle_range;

/// Zone exclusion for one layout's non-LFE speakers.
#[derive(Debug, Clone)]
pub struct ZoneExclusion {
    azimuths: Vec<f64>,
    elevations: Vec<f64>,
    positions: Vec<Vec3>,
    /// For each speaker, the groups of speakers its power may move to, best first.
    groups: Vec<Vec<Vec<usize>>>,
}

/// Layer of a speaker by nominal elevation: 0 bottom, 1 middle, 2 upper, 3 top.
fn layer(elevation: f64) -> usize {
    if elevation < -10.0 {
        0
    } else if elevation < 10.0 {
        1
    } else if elevation < 75.0 {
        2
    } else {
        3
    }
}

/// Preference for moving from one layer to another (lower first): the same layer, then
/// up before down.
const LAYER_PRIORITY: [[u8; 4]; 4] = [[0, 1, 2, 3], [3, 0, 1, 2], [3, 2, 0, 1], [3, 2, 1, 0]];

fn sign(x: f64) -> i32 {
    if x > EPS {
        1
    } else if x < -EPS {
        -1
    } else {
        0
    }
}

impl ZoneExclusion {
    /// Prepares the exclusion groups of `layout`'s non-LFE speakers.
    pub fn new(layout: &Layout) -> ZoneExclusion {
        let main: Vec<_> = layout.speakers.iter().filter(|s| !s.lfe).collect();
        let azimuths: Vec<f64> = main.iter().map(|s| s.azimuth).collect();
        let elevations: Vec<f64> = main.iter().map(|s| s.elevation).collect();
        let positions: Vec<Vec3> = main
            .iter()
            .map(|s| crate::geometry::direction(s.azimuth, s.elevation))
            .collect();
        let n = main.len();
        let key = |i: usize, j: usize| {
            let (a, b) = (&positions[i], &positions[j]);
            [
                LAYER_PRIORITY[layer(elevations[i])][layer(elevations[j])] as f64,
                (sign(a.y) - sign(b.y)).abs() as f64,
                (a - b).norm(),
                (a.y - b.y).abs(),
            ]
        };
        let groups = (0..n)
            .map(|i| {
                // Speakers with the same key (within EPS) share a group.
                let mut uniq: Vec<([f64; 4], Vec<usize>)> = Vec::new();
                for j in 0..n {
                    let k = key(i, j);
                    match uniq
                        .iter_mut()
                        .find(|(g, _)| g.iter().zip(&k).all(|(x, y)| (x - y).abs() < EPS))
                    {
                        Some((_, members)) => members.push(j),
                        None => uniq.push((k, vec![j])),
                    }
                }
                uniq.sort_by(|a, b| a.0.partial_cmp(&b.0).expect("finite keys"));
                uniq.into_iter().map(|(_, m)| m).collect()
            })
            .collect();
        ZoneExclusion {
            azimuths,
            elevations,
            positions,
            groups,
        }
    }

    /// Which non-LFE speakers (in layout order) the zones exclude.
    pub fn excluded(&self, zones: &[Zone]) -> Vec<bool> {
        let mut out = vec![false; self.positions.len()];
        for z in zones {
            for (i, ex) in out.iter_mut().enumerate() {
                let inside = match *z {
                    Zone::Cartesian { min, max } => {
                        let p = self.positions[i];
                        (0..3).all(|k| p[k] - EPS < max[k] && p[k] + EPS > min[k])
                    }
                    Zone::Polar {
                        min_azimuth,
                        max_azimuth,
                        min_elevation,
                        max_elevation,
                    } => {
                        let el = self.elevations[i];
                        el - EPS < max_elevation
                            && el + EPS > min_elevation
                            && (el.abs() > 90.0 - EPS
                                || inside_angle_range(
                                    self.azimuths[i],
                                    min_azimuth,
                                    max_azimuth,
                                    EPS,
                                ))
                    }
                };
                *ex |= inside;
            }
        }
        out
    }

    /// Polar blocks: `gains` (non-LFE speakers, layout order) with the power of each excluded
    /// speaker moved to its best group of allowed speakers, split evenly. Nothing moves when
    /// no speaker or every speaker is excluded.
    pub fn downmix(&self, gains: &[f64], excluded: &[bool]) -> Vec<f64> {
        if excluded.iter().all(|&e| e) || !excluded.iter().any(|&e| e) {
            return gains.to_vec();
        }
        let mut power = vec![0.0; gains.len()];
        for (i, groups) in self.groups.iter().enumerate() {
            let group = groups
                .iter()
                .find(|g| g.iter().any(|&j| !excluded[j]))
                .expect("some speaker is allowed");
            let allowed: Vec<usize> = group.iter().copied().filter(|&j| !excluded[j]).collect();
            let share = 1.0 / allowed.len() as f64;
            for j in allowed {
                power[j] += gains[i] * gains[i] * share;
            }
        }
        power.into_iter().map(f64::sqrt).collect()
    }
}

/// Cartesian blocks: the speakers (by allocentric position, non-LFE, layout order) the
/// allocentric panner leaves out for the zones' `excluded` set. An excluded speaker on a side
/// wall (|x| = 1) that is not in a corner (|y| != 1) takes every speaker of its row and layer
/// with it, so the panner's rows stay whole; if nothing would be left, nothing is excluded.
pub fn allocentric_excluded(positions: &[[f64; 3]], excluded: &[bool]) -> Vec<bool> {
    let mut out = excluded.to_vec();
    for (ex, c) in excluded.iter().zip(positions) {
        if *ex && c[0].abs() == 1.0 && c[1].abs() != 1.0 {
            for (k, c2) in positions.iter().enumerate() {
                if c2[1] == c[1] && c2[2] == c[2] {
                    out[k] = true;
                }
            }
        }
    }
    if out.iter().all(|&e| e) {
        out.iter_mut().for_each(|e| *e = false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn angle_ranges_wrap() {
        assert!(inside_angle_range(170.0, 150.0, -150.0, 0.0));
        assert!(inside_angle_range(-170.0, 150.0, -150.0, 0.0));
        assert!(!inside_angle_range(0.0, 150.0, -150.0, 0.0));
        assert!(inside_angle_range(42.0, -180.0, 180.0, 0.0));
    }

    #[test]
    fn an_excluded_centre_moves_to_left_and_right() {
        let l = Layout::resolve("5.1").unwrap();
        let z = ZoneExclusion::new(&l);
        let main: Vec<&str> = l
            .speakers
            .iter()
            .filter(|s| !s.lfe)
            .map(|s| s.label.as_str())
            .collect();
        let c = main.iter().position(|&s| s == "M+000").unwrap();
        let ex = z.excluded(&[Zone::Polar {
            min_azimuth: -5.0,
            max_azimuth: 5.0,
            min_elevation: -10.0,
            max_elevation: 10.0,
        }]);
        assert_eq!(ex.iter().filter(|&&e| e).count(), 1);
        assert!(ex[c]);
        let mut g = vec![0.0; main.len()];
        g[c] = 1.0;
        let d = z.downmix(&g, &ex);
        let l30 = main.iter().position(|&s| s == "M+030").unwrap();
        let r30 = main.iter().position(|&s| s == "M-030").unwrap();
        assert!((d[l30] - 0.5f64.sqrt()).abs() < 1e-12 && (d[r30] - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(d[c], 0.0);
    }
}
