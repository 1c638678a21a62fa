//! BS.2127 point-source gain calculation against the EBU ADM Renderer (ear 2.1.0): allocentric
//! gains on every layout ear has allocentric positions for, BS.2127's 0+2+0 rule, and the
//! polar <-> Cartesian point conversion. Data from `tools/gen_bs2127_point_reference.py`.

use mixstage::layout::{Layout, Speaker};
use mixstage::panner::gain_calc::{cart_to_polar, polar_to_cart, PointGains};

const TOL: f64 = 1e-6;

#[derive(serde::Deserialize)]
struct Reference {
    ear_version: String,
    allocentric: Vec<AlloLayout>,
    stereo: Stereo,
    conversion: Conversion,
}

#[derive(serde::Deserialize)]
struct AlloLayout {
    name: String,
    channels: Vec<Channel>,
    cases: Vec<AlloCase>,
}

#[derive(serde::Deserialize)]
struct Channel {
    label: String,
    azimuth: f64,
    elevation: f64,
    lfe: bool,
    allocentric: Option<[f64; 3]>,
}

#[derive(serde::Deserialize)]
struct AlloCase {
    position: [f64; 3],
    gains: Vec<f64>,
}

#[derive(serde::Deserialize)]
struct Stereo {
    channels: Vec<String>,
    cases: Vec<PolarCase>,
}

#[derive(serde::Deserialize)]
struct PolarCase {
    azimuth: f64,
    elevation: f64,
    gains: Vec<f64>,
}

#[derive(serde::Deserialize)]
struct Conversion {
    polar_to_cart: Vec<PolarToCart>,
    cart_to_polar: Vec<CartToPolar>,
}

#[derive(serde::Deserialize)]
struct PolarToCart {
    polar: [f64; 3],
    cart: [f64; 3],
}

#[derive(serde::Deserialize)]
struct CartToPolar {
    cart: [f64; 3],
    polar: [f64; 3],
}

fn reference() -> Reference {
    let r: Reference =
        serde_json::from_str(include_str!("data/bs2127_point_reference.json")).unwrap();
    assert_eq!(r.ear_version, "2.1.0");
    r
}

/// The built-in layout with ear's name as an alias, else (4+5+1, 3+7+0, 4+9+0) a custom layout
/// from ear's channels and allocentric positions.
fn layout_for(r: &AlloLayout) -> Layout {
    Layout::find_builtin(&r.name).unwrap_or_else(|| Layout {
        name: r.name.clone(),
        aliases: vec![],
        description: "from ear".into(),
        screen: None,
        speakers: r
            .channels
            .iter()
            .map(|c| Speaker {
                label: c.label.clone(),
                aliases: vec![],
                azimuth: c.azimuth,
                elevation: c.elevation,
                lfe: c.lfe,
                allocentric: c.allocentric,
            })
            .collect(),
    })
}

/// Our channel index for each of ear's channels, by label.
fn channel_map(l: &Layout, labels: impl Iterator<Item = String>) -> Vec<usize> {
    labels
        .map(|n| {
            l.channel_index(&n)
                .unwrap_or_else(|| panic!("{}: no channel {n}", l.name))
        })
        .collect()
}

#[test]
fn builtin_allocentric_positions_are_bs2127s_table() {
    let r = reference();
    let mut seen = 0;
    for rl in &r.allocentric {
        let Some(l) = Layout::find_builtin(&rl.name) else {
            continue;
        };
        assert_eq!(l.channels(), rl.channels.len(), "{}", rl.name);
        for c in &rl.channels {
            let s = &l.speakers[l.channel_index(&c.label).unwrap()];
            assert_eq!(s.allocentric, c.allocentric, "{} {}", rl.name, c.label);
        }
        seen += 1;
    }
    assert_eq!(seen, 10, "all ten BS.2051 layouts are built in");
}

#[test]
fn untabulated_builtins_take_each_labels_tabulated_position() {
    let r = reference();
    for name in ["7.1.2", "9.1.6"] {
        let l = Layout::resolve(name).unwrap();
        for s in &l.speakers {
            let tabulated: Vec<[f64; 3]> = r
                .allocentric
                .iter()
                .flat_map(|rl| rl.channels.iter())
                .filter(|c| c.label == s.label)
                .filter_map(|c| c.allocentric)
                .collect();
            assert!(
                !tabulated.is_empty(),
                "{name} {}: label not tabulated",
                s.label
            );
            assert!(
                tabulated.iter().all(|p| Some(*p) == s.allocentric),
                "{name} {}: {:?} vs {tabulated:?}",
                s.label,
                s.allocentric
            );
        }
    }
}

#[test]
fn allocentric_gains_agree_with_the_ebu_adm_renderer() {
    let r = reference();
    let mut compared = 0;
    for rl in &r.allocentric {
        let l = layout_for(rl);
        let p = PointGains::new(&l).unwrap();
        assert!(p.has_allocentric(), "{}", rl.name);
        let idx = channel_map(&l, rl.channels.iter().map(|c| c.label.clone()));
        for c in &rl.cases {
            let [x, y, z] = c.position;
            let g = p.cartesian(x, y, z).unwrap();
            assert_eq!(g.len(), idx.len());
            for (k, &i) in idx.iter().enumerate() {
                assert!(
                    (g[i] - c.gains[k]).abs() < TOL,
                    "{} at {:?}, {}: ours {} ear {}",
                    rl.name,
                    c.position,
                    rl.channels[k].label,
                    g[i],
                    c.gains[k]
                );
            }
            compared += 1;
        }
    }
    assert!(compared >= 2000, "{compared}");
}

#[test]
fn stereo_gains_follow_bs2127s_0_2_0_rule() {
    let r = reference();
    let l = Layout::resolve("0+2+0").unwrap();
    let p = PointGains::new(&l).unwrap();
    let idx = channel_map(&l, r.stereo.channels.iter().cloned());
    for c in &r.stereo.cases {
        let g = p.polar(c.azimuth, c.elevation);
        for (k, &i) in idx.iter().enumerate() {
            assert!(
                (g[i] - c.gains[k]).abs() < TOL,
                "({}, {}) {}: ours {} ear {}",
                c.azimuth,
                c.elevation,
                r.stereo.channels[k],
                g[i],
                c.gains[k]
            );
        }
    }
    assert!(r.stereo.cases.len() >= 100);
}

/// Azimuths compared as directions (ear reports straight behind as -180, mixstage as 180).
fn same_azimuth(a: f64, b: f64) -> bool {
    let d = (a - b).rem_euclid(360.0);
    d < TOL || 360.0 - d < TOL
}

#[test]
fn point_conversions_agree_with_the_ebu_adm_renderer() {
    let r = reference();
    for c in &r.conversion.polar_to_cart {
        let [az, el, d] = c.polar;
        let (x, y, z) = polar_to_cart(az, el, d);
        for (ours, ear) in [x, y, z].iter().zip(c.cart) {
            assert!(
                (ours - ear).abs() < TOL,
                "{:?}: ours {:?} ear {:?}",
                c.polar,
                (x, y, z),
                c.cart
            );
        }
    }
    for c in &r.conversion.cart_to_polar {
        let [x, y, z] = c.cart;
        let (az, el, d) = cart_to_polar(x, y, z);
        assert!(
            (-180.0..=180.0).contains(&az) && az != -180.0,
            "{:?}: azimuth {az} outside (-180, 180]",
            c.cart
        );
        assert!(
            same_azimuth(az, c.polar[0])
                && (el - c.polar[1]).abs() < TOL
                && (d - c.polar[2]).abs() < TOL,
            "{:?}: ours {:?} ear {:?}",
            c.cart,
            (az, el, d),
            c.polar
        );
    }
    assert!(r.conversion.polar_to_cart.len() >= 100 && r.conversion.cart_to_polar.len() >= 100);
}

#[test]
fn a_cartesian_object_at_a_speaker_plays_from_that_speaker_alone() {
    for l in Layout::builtin() {
        let p = PointGains::new(&l).unwrap();
        for (i, s) in l.speakers.iter().enumerate().filter(|(_, s)| !s.lfe) {
            let [x, y, z] = s.allocentric.unwrap();
            let g = p.cartesian(x, y, z).unwrap();
            for (j, &gj) in g.iter().enumerate() {
                assert_eq!(gj, if i == j { 1.0 } else { 0.0 }, "{} {}", l.name, s.label);
            }
        }
    }
}

#[test]
fn allocentric_gains_have_unit_power() {
    let mut seed = 12345u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    };
    for l in Layout::builtin() {
        let p = PointGains::new(&l).unwrap();
        for _ in 0..500 {
            let g = p.cartesian(next(), next(), next()).unwrap();
            let power: f64 = g.iter().map(|g| g * g).sum();
            assert!((power - 1.0).abs() < 1e-12, "{}: {power}", l.name);
        }
    }
}
