//! One Objects audioBlockFormat written as JSON, for `mixstage gains --block`: fields named
//! as BS.2076 names the block's elements and the EBU ADM Renderer's `AudioBlockFormatObjects`
//! names its attributes, omitted fields at ADM's defaults.
//!
//! ```json
//! {"position": {"azimuth": 30, "elevation": 0, "distance": 1,
//!               "screenEdgeLock": {"horizontal": "left"}},
//!  "cartesian": false, "width": 40, "height": 20, "depth": 0, "gain": 1, "diffuse": 0.2,
//!  "channelLock": {"maxDistance": 0.5}, "objectDivergence": {"value": 0.5, "azimuthRange": 30},
//!  "zoneExclusion": [{"minAzimuth": -30, "maxAzimuth": 30, "minElevation": 0, "maxElevation": 90}],
//!  "screenRef": true,
//!  "referenceScreen": {"aspectRatio": 1.78,
//!                      "screenCentrePosition": {"azimuth": 0, "elevation": 0, "distance": 1},
//!                      "screenWidth": {"azimuth": 58}}}
//! ```
//!
//! The block goes through the same checks and conversions as a block read from an ADM file
//! (`select`), so `gains --block` gives exactly the gains a render uses.

use serde_json::{Map, Value};

use super::model::{Block, Coord, Divergence, PositionSet};
use crate::error::{Error, Result};
use crate::panner::screen::{EdgeLock, Screen};
use crate::panner::zone::Zone;
use crate::scene::{BlockTarget, MetaBlock};
use crate::time::Time;

/// Fields that describe timing or identity, accepted and ignored (they do not change gains).
const IGNORED: [&str; 6] = [
    "rtime",
    "duration",
    "jumpPosition",
    "interpolationLength",
    "importance",
    "audioBlockFormatID",
];

/// Parses one block (the JSON text of an object) into the metadata block a render uses: its
/// target and BS.2127 parameters, block gain included. `origin` names it in errors (e.g.
/// "--block" or "standard input line 3").
pub fn parse(text: &str, origin: &str) -> Result<MetaBlock> {
    let bad = |msg: String| Error::Invalid(format!("{origin}: {msg}"));
    let v: Value = serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON ({e})")))?;
    let o = v
        .as_object()
        .ok_or_else(|| bad("a block is a JSON object {...}".into()))?;
    let mut b = Block::new("the block", 0);
    let mut reference_screen = None;
    for (key, val) in o {
        let f = |what: &str| number(val, what).map_err(&bad);
        match key.as_str() {
            "position" => {
                let (p, lock) = position(val).map_err(&bad)?;
                b.position = p;
                b.edge_lock = lock;
            }
            "cartesian" => b.cartesian = flag(val, "cartesian").map_err(&bad)?,
            "width" => b.width = f("width")?,
            "height" => b.height = f("height")?,
            "depth" => b.depth = f("depth")?,
            "gain" => b.gain = f("gain")?,
            "diffuse" => b.diffuse = f("diffuse")?,
            "screenRef" => b.screen_ref = flag(val, "screenRef").map_err(&bad)?,
            "channelLock" => {
                let m = object(val, "channelLock", &["maxDistance"]).map_err(&bad)?;
                let max = m
                    .get("maxDistance")
                    .map(|x| number(x, "channelLock.maxDistance"))
                    .transpose()
                    .map_err(&bad)?;
                b.channel_lock = Some(max);
            }
            "objectDivergence" => {
                let m = object(
                    val,
                    "objectDivergence",
                    &["value", "azimuthRange", "positionRange"],
                )
                .map_err(&bad)?;
                let get = |k: &str| {
                    m.get(k)
                        .map(|x| number(x, &format!("objectDivergence.{k}")))
                        .transpose()
                };
                b.divergence = Some(Divergence {
                    value: get("value").map_err(&bad)?.unwrap_or(0.0),
                    azimuth_range: get("azimuthRange").map_err(&bad)?,
                    position_range: get("positionRange").map_err(&bad)?,
                });
            }
            "zoneExclusion" => {
                let list = val
                    .as_array()
                    .ok_or_else(|| bad("zoneExclusion is a list of zones [{...}, ...]".into()))?;
                b.zones = list
                    .iter()
                    .enumerate()
                    .map(|(i, z)| zone(z).map_err(|e| bad(format!("zoneExclusion[{i}]: {e}"))))
                    .collect::<Result<_>>()?;
            }
            "referenceScreen" => reference_screen = Some(screen(val).map_err(&bad)?),
            k if IGNORED.contains(&k) => {}
            k => {
                return Err(bad(format!(
                    "unknown field '{k}' (known: position, cartesian, width, height, depth, gain, \
                     diffuse, channelLock, objectDivergence, zoneExclusion, screenRef, referenceScreen)"
                )))
            }
        }
    }
    if !b.gain.is_finite() {
        return Err(bad(format!("gain {} is not finite", b.gain)));
    }
    let target = super::select::object_target(&b, origin)?;
    let distance = match &target {
        BlockTarget::Polar { .. } => super::select::object_distance(&b),
        _ => 1.0,
    };
    let mut params = super::select::object_params(&b, origin, distance)?;
    if let Some(s) = reference_screen {
        params.get_or_insert_with(Default::default).reference_screen = Some(s);
    }
    Ok(MetaBlock {
        start: Time::ZERO,
        end: None,
        interpolation: Time::ZERO,
        gain: b.gain,
        target,
        params,
    })
}

fn number(v: &Value, what: &str) -> std::result::Result<f64, String> {
    v.as_f64()
        .ok_or_else(|| format!("{what} must be a number, got {v}"))
}

fn flag(v: &Value, what: &str) -> std::result::Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
        _ => Err(format!("{what} must be true or false (or 0 / 1), got {v}")),
    }
}

/// `v` as an object whose keys are all in `known`.
fn object<'a>(
    v: &'a Value,
    what: &str,
    known: &[&str],
) -> std::result::Result<&'a Map<String, Value>, String> {
    let m = v
        .as_object()
        .ok_or_else(|| format!("{what} must be an object {{...}}, got {v}"))?;
    if let Some(k) = m.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "{what}: unknown field '{k}' (known: {})",
            known.join(", ")
        ));
    }
    Ok(m)
}

/// `position`: `{azimuth, elevation, distance}` or `{X, Y, Z}`, with an optional
/// `screenEdgeLock` `{horizontal: "left"|"right", vertical: "top"|"bottom"}`.
fn position(v: &Value) -> std::result::Result<(PositionSet, EdgeLock), String> {
    let m = object(
        v,
        "position",
        &[
            "azimuth",
            "elevation",
            "distance",
            "X",
            "Y",
            "Z",
            "screenEdgeLock",
        ],
    )?;
    let c = |k: &str| -> std::result::Result<Coord, String> {
        Ok(Coord {
            value: m
                .get(k)
                .map(|x| number(x, &format!("position.{k}")))
                .transpose()?,
            min: None,
            max: None,
        })
    };
    let mut p = PositionSet {
        azimuth: c("azimuth")?,
        elevation: c("elevation")?,
        distance: c("distance")?,
        x: c("X")?,
        y: c("Y")?,
        z: c("Z")?,
    };
    let polar =
        p.azimuth.value.is_some() || p.elevation.value.is_some() || p.distance.value.is_some();
    let cart = p.x.value.is_some() || p.y.value.is_some() || p.z.value.is_some();
    match (polar, cart) {
        (true, true) => {
            return Err(
                "position is polar (azimuth, elevation, distance) or Cartesian (X, Y, Z), not both"
                    .into(),
            )
        }
        (false, false) => {
            return Err("position needs azimuth (and elevation, distance) or X, Y, Z".into())
        }
        (true, false) if p.azimuth.value.is_none() => {
            return Err("a polar position needs an azimuth".into())
        }
        (true, false) => p.elevation.value = p.elevation.value.or(Some(0.0)),
        _ => {}
    }
    let mut lock = EdgeLock::default();
    if let Some(l) = m.get("screenEdgeLock") {
        let e = object(l, "position.screenEdgeLock", &["horizontal", "vertical"])?;
        let side = |k: &str, yes: &str, no: &str| -> std::result::Result<Option<bool>, String> {
            match e.get(k).map(|x| x.as_str()) {
                None => Ok(None),
                Some(Some(s)) if s == yes => Ok(Some(true)),
                Some(Some(s)) if s == no => Ok(Some(false)),
                _ => Err(format!(
                    "position.screenEdgeLock.{k} must be \"{yes}\" or \"{no}\", got {}",
                    e[k]
                )),
            }
        };
        lock.horizontal = side("horizontal", "left", "right")?;
        lock.vertical = side("vertical", "top", "bottom")?;
    }
    Ok((p, lock))
}

/// A zone: `{minAzimuth, maxAzimuth, minElevation, maxElevation}` or
/// `{minX, maxX, minY, maxY, minZ, maxZ}`, every bound given and min <= max.
fn zone(v: &Value) -> std::result::Result<Zone, String> {
    const POLAR: [&str; 4] = ["minAzimuth", "maxAzimuth", "minElevation", "maxElevation"];
    const CART: [&str; 6] = ["minX", "maxX", "minY", "maxY", "minZ", "maxZ"];
    let m = v
        .as_object()
        .ok_or_else(|| format!("a zone is an object {{...}}, got {v}"))?;
    let polar = m.contains_key("minAzimuth");
    let keys: &[&str] = if polar { &POLAR } else { &CART };
    if let Some(k) = m.keys().find(|k| !keys.contains(&k.as_str())) {
        return Err(format!(
            "unknown field '{k}' (a zone has {})",
            keys.join(", ")
        ));
    }
    let vals = keys
        .iter()
        .map(|k| {
            m.get(*k)
                .ok_or_else(|| format!("missing {k}"))
                .and_then(|x| number(x, k))
        })
        .collect::<std::result::Result<Vec<f64>, String>>()?;
    Ok(if polar {
        Zone::Polar {
            min_azimuth: vals[0],
            max_azimuth: vals[1],
            min_elevation: vals[2],
            max_elevation: vals[3],
        }
    } else {
        Zone::Cartesian {
            min: [vals[0], vals[2], vals[4]],
            max: [vals[1], vals[3], vals[5]],
        }
    })
}

/// `referenceScreen`: `{aspectRatio, screenCentrePosition: {azimuth, elevation, distance} or
/// {X, Y, Z}, screenWidth: {azimuth} or {X}}`, as audioProgrammeReferenceScreen.
fn screen(v: &Value) -> std::result::Result<Screen, String> {
    let m = object(
        v,
        "referenceScreen",
        &["aspectRatio", "screenCentrePosition", "screenWidth"],
    )?;
    let get = |o: &Map<String, Value>, k: &str, what: &str| {
        o.get(k)
            .ok_or_else(|| format!("referenceScreen: missing {what}"))
            .and_then(|x| number(x, &format!("referenceScreen.{what}")))
    };
    let aspect_ratio = get(m, "aspectRatio", "aspectRatio")?;
    let centre = object(
        m.get("screenCentrePosition")
            .ok_or("referenceScreen: missing screenCentrePosition")?,
        "referenceScreen.screenCentrePosition",
        &["azimuth", "elevation", "distance", "X", "Y", "Z"],
    )?;
    let width = object(
        m.get("screenWidth")
            .ok_or("referenceScreen: missing screenWidth")?,
        "referenceScreen.screenWidth",
        &["azimuth", "X"],
    )?;
    if centre.contains_key("azimuth") {
        Ok(Screen::Polar {
            aspect_ratio,
            azimuth: get(centre, "azimuth", "screenCentrePosition.azimuth")?,
            elevation: get(centre, "elevation", "screenCentrePosition.elevation")?,
            distance: get(centre, "distance", "screenCentrePosition.distance")?,
            width_azimuth: get(width, "azimuth", "screenWidth.azimuth")?,
        })
    } else {
        Ok(Screen::Cartesian {
            aspect_ratio,
            x: get(centre, "X", "screenCentrePosition.X")?,
            y: get(centre, "Y", "screenCentrePosition.Y")?,
            z: get(centre, "Z", "screenCentrePosition.Z")?,
            width_x: get(width, "X", "screenWidth.X")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_a_point_at_the_front() {
        let b = parse(r#"{"position": {"azimuth": 0}}"#, "t").unwrap();
        assert_eq!(
            b.target,
            BlockTarget::Polar {
                azimuth: 0.0,
                elevation: 0.0
            }
        );
        assert!(b.params.is_none());
        assert_eq!(b.gain, 1.0);
    }

    #[test]
    fn forms_and_flags_are_independent() {
        let b = parse(
            r#"{"position": {"azimuth": 90, "elevation": 0}, "cartesian": true}"#,
            "t",
        )
        .unwrap();
        match b.target {
            BlockTarget::Cartesian { x, y, z } => {
                assert!((x + 1.0).abs() < 1e-12 && y.abs() < 1e-12 && z == 0.0)
            }
            t => panic!("{t:?}"),
        }
        let b = parse(r#"{"position": {"X": 1, "Y": 1, "Z": 0}}"#, "t").unwrap();
        match b.target {
            BlockTarget::Polar { azimuth, elevation } => {
                assert!((azimuth + 45.0).abs() < 1e-12 && elevation == 0.0)
            }
            t => panic!("{t:?}"),
        }
        assert!((b.params.unwrap().distance - 2f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn bad_blocks_name_what_is_wrong() {
        for (text, needle) in [
            ("[1]", "JSON object"),
            ("{", "not valid JSON"),
            (
                r#"{"position": {"azimuth": 0}, "widht": 3}"#,
                "unknown field 'widht'",
            ),
            (r#"{"position": {"azimuth": 0}, "width": 400}"#, "width 400"),
            (r#"{"position": {"azimuth": 0, "X": 1}}"#, "not both"),
            (r#"{"position": {"elevation": 3}}"#, "needs an azimuth"),
            (
                r#"{"position": {"azimuth": 0}, "objectDivergence": {"value": 2}}"#,
                "objectDivergence 2",
            ),
            (
                r#"{"position": {"azimuth": 0}, "zoneExclusion": [{"minX": 1, "maxX": 0, "minY": 0, "maxY": 0, "minZ": 0, "maxZ": 0}]}"#,
                "zone 1: zone minX 1 must be a number no greater than maxX 0",
            ),
            (
                r#"{"position": {"azimuth": 0}, "zoneExclusion": [{"minAzimuth": 1}]}"#,
                "missing maxAzimuth",
            ),
            (
                r#"{"position": {"azimuth": 0, "screenEdgeLock": {"horizontal": "top"}}}"#,
                "\"left\" or \"right\"",
            ),
            (
                r#"{"position": {"azimuth": "x"}}"#,
                "position.azimuth must be a number",
            ),
            (
                r#"{"position": {"azimuth": 0}, "diffuse": 1.5}"#,
                "diffuse 1.5",
            ),
        ] {
            let e = parse(text, "input").unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
            assert!(e.contains("input"), "{text}: {e}");
        }
    }
}
