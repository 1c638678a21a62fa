//! BS.2127's object gains beyond a point (extent with distance and depth, objectDivergence,
//! channelLock, zoneExclusion) on polar blocks, the allocentric extent, divergence, channel lock
//! and zone exclusion on Cartesian blocks, and screenRef / screenEdgeLock with the default and a
//! moved reproduction screen, against the EBU ADM Renderer (ear 2.1.0) on 0+2+0, 0+5+0, 4+5+0,
//! 4+7+0 and 9+10+3. Data from `tools/gen_bs2127_gains.py`.

use mixstage::layout::Layout;
use mixstage::panner::object::ObjectGains;
use mixstage::panner::screen::{EdgeLock, Screen};
use mixstage::panner::zone::Zone;
use mixstage::scene::ObjectParams;

const TOL: f64 = 1e-6;

#[derive(serde::Deserialize)]
struct LayoutCases {
    layout: String,
    #[serde(default)]
    screen: Option<ScreenJson>,
    channels: Vec<String>,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct ScreenJson {
    aspect_ratio: f64,
    azimuth: f64,
    elevation: f64,
    distance: f64,
    width_azimuth: f64,
}

#[derive(serde::Deserialize, Debug, Default)]
struct EdgeLockJson {
    horizontal: Option<String>,
    vertical: Option<String>,
}

#[derive(serde::Deserialize)]
struct Case {
    block: Block,
    gains: Vec<f64>,
}

#[derive(serde::Deserialize, Debug)]
#[allow(non_snake_case)]
struct Block {
    #[serde(default)]
    cartesian: bool,
    #[serde(default)]
    azimuth: f64,
    #[serde(default)]
    elevation: f64,
    #[serde(default)]
    distance: f64,
    #[serde(default)]
    X: f64,
    #[serde(default)]
    Y: f64,
    #[serde(default)]
    Z: f64,
    #[serde(default)]
    zoneExclusion: Vec<std::collections::HashMap<String, f64>>,
    #[serde(default)]
    screenRef: bool,
    #[serde(default)]
    screenEdgeLock: EdgeLockJson,
    #[serde(default)]
    width: f64,
    #[serde(default)]
    height: f64,
    #[serde(default)]
    depth: f64,
    objectDivergence: Option<Divergence>,
    channelLock: Option<Lock>,
}

#[derive(serde::Deserialize, Debug)]
#[allow(non_snake_case)]
struct Divergence {
    value: f64,
    azimuthRange: Option<f64>,
    positionRange: Option<f64>,
}

fn zone(z: &std::collections::HashMap<String, f64>) -> Zone {
    if z.contains_key("minX") {
        Zone::Cartesian {
            min: [z["minX"], z["minY"], z["minZ"]],
            max: [z["maxX"], z["maxY"], z["maxZ"]],
        }
    } else {
        Zone::Polar {
            min_azimuth: z["minAzimuth"],
            max_azimuth: z["maxAzimuth"],
            min_elevation: z["minElevation"],
            max_elevation: z["maxElevation"],
        }
    }
}

#[derive(serde::Deserialize, Debug)]
#[allow(non_snake_case)]
struct Lock {
    maxDistance: Option<f64>,
}

#[test]
fn object_gains_match_the_ebu_adm_renderer() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bs2127/object_gains.json"
    );
    let data: Vec<LayoutCases> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut checked = 0;
    let mut worst = 0.0f64;
    for l in &data {
        let mut layout = Layout::resolve(&l.layout).unwrap();
        layout.screen = l.screen.as_ref().map(|s| Screen::Polar {
            aspect_ratio: s.aspect_ratio,
            azimuth: s.azimuth,
            elevation: s.elevation,
            distance: s.distance,
            width_azimuth: s.width_azimuth,
        });
        let og = ObjectGains::new(&layout).unwrap();
        // ear's channel k is mixstage's channel map[k].
        let map: Vec<usize> = l
            .channels
            .iter()
            .map(|n| {
                layout
                    .channel_index(n)
                    .unwrap_or_else(|| panic!("{}: no {n}", l.layout))
            })
            .collect();
        assert_eq!(map.len(), layout.channels());
        for c in &l.cases {
            let b = &c.block;
            let p = ObjectParams {
                distance: b.distance,
                width: b.width,
                height: b.height,
                depth: b.depth,
                divergence: b
                    .objectDivergence
                    .as_ref()
                    .filter(|d| d.value != 0.0)
                    .map(|d| {
                        let range = if b.cartesian {
                            d.positionRange.unwrap_or(0.0)
                        } else {
                            d.azimuthRange.unwrap_or(45.0)
                        };
                        (d.value, range)
                    }),
                channel_lock: b.channelLock.as_ref().map(|l| l.maxDistance),
                zone_exclusion: b.zoneExclusion.iter().map(zone).collect(),
                diffuse: 0.0,
                screen_ref: b.screenRef,
                screen_edge_lock: EdgeLock {
                    horizontal: b.screenEdgeLock.horizontal.as_deref().map(|h| h == "left"),
                    vertical: b.screenEdgeLock.vertical.as_deref().map(|v| v == "top"),
                },
                ..Default::default()
            };
            let g = if b.cartesian {
                og.cartesian(b.X, b.Y, b.Z, &p, false).unwrap()
            } else {
                og.polar(b.azimuth, b.elevation, &p).unwrap()
            };
            for (k, &want) in c.gains.iter().enumerate() {
                let got = g[map[k]];
                worst = worst.max((got - want).abs());
                assert!(
                    (got - want).abs() < TOL,
                    "{} {}: {b:?}: got {got}, ear {want}\n ours {g:?}\n ear {:?}",
                    l.layout,
                    l.channels[k],
                    c.gains
                );
            }
            checked += 1;
        }
    }
    println!("{checked} blocks, largest difference from ear {worst:.2e}");
    assert!(checked >= 700);
}
