//! BS.2127 DirectSpeakers gains compared with the EBU ADM Renderer (ear 2.1.0), case by case.
//! Data: `tests/data/direct_speakers_reference.json`, made by
//! `tools/gen_direct_speakers_reference.py` (see that script for the cases).

use std::collections::BTreeMap;

use mixstage::panner::direct_speakers::{
    common_pack_layout, is_lfe, DirectSpeakersPanner, SpeakerChannel, SpeakerPosition,
};
use mixstage::{Layout, Speaker};

#[derive(serde::Deserialize)]
struct Reference {
    ear_version: String,
    itu_packs: BTreeMap<String, String>,
    layouts: Vec<RefLayout>,
}

#[derive(serde::Deserialize)]
struct RefLayout {
    name: String,
    channels: Vec<RefChannel>,
    cases: Vec<RefCase>,
}

#[derive(serde::Deserialize)]
struct RefChannel {
    label: String,
    azimuth: f64,
    elevation: f64,
    lfe: bool,
    allocentric: [f64; 3],
}

#[derive(serde::Deserialize)]
struct RefCase {
    group: String,
    labels: Vec<String>,
    position: RefPosition,
    #[serde(default)]
    screen_edge_lock: Option<RefLock>,
    low_pass: Option<f64>,
    high_pass: Option<f64>,
    packs: Vec<String>,
    lfe: bool,
    gains: BTreeMap<String, f64>,
}

#[derive(serde::Deserialize)]
struct RefLock {
    horizontal: Option<String>,
    vertical: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
enum RefPosition {
    Polar {
        azimuth: f64,
        elevation: f64,
        distance: f64,
        azimuth_range: Option<(f64, f64)>,
        elevation_range: Option<(f64, f64)>,
        distance_range: Option<(f64, f64)>,
    },
    Cartesian {
        x: f64,
        y: f64,
        z: f64,
        x_range: Option<(f64, f64)>,
        y_range: Option<(f64, f64)>,
        z_range: Option<(f64, f64)>,
    },
}

impl RefPosition {
    fn to_ours(&self) -> SpeakerPosition {
        match *self {
            RefPosition::Polar {
                azimuth,
                elevation,
                distance,
                azimuth_range,
                elevation_range,
                distance_range,
            } => SpeakerPosition::Polar {
                azimuth,
                elevation,
                distance,
                azimuth_range,
                elevation_range,
                distance_range,
            },
            RefPosition::Cartesian {
                x,
                y,
                z,
                x_range,
                y_range,
                z_range,
            } => SpeakerPosition::Cartesian {
                x,
                y,
                z,
                x_range,
                y_range,
                z_range,
            },
        }
    }
}

fn reference() -> Reference {
    serde_json::from_str(include_str!("data/direct_speakers_reference.json")).unwrap()
}

/// The built-in layout with ear's BS.2051 name, or (3+7+0, 4+9+0, 4+5+1, which mixstage does
/// not ship) one built from ear's channel list, allocentric positions included.
fn layout_for(r: &RefLayout) -> Layout {
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
                allocentric: Some(c.allocentric),
            })
            .collect(),
    })
}

#[test]
fn agrees_with_the_ebu_adm_renderer() {
    let r = reference();
    assert_eq!(r.ear_version, "2.1.0");
    let mut compared = 0;
    let mut locked = 0;
    let mut failures = Vec::new();
    for rl in &r.layouts {
        let layout = layout_for(rl);
        // Every output channel ear knows is in our layout, and no other.
        let mut ours = layout.labels();
        let mut theirs: Vec<String> = rl.channels.iter().map(|c| c.label.clone()).collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{}", rl.name);
        let panner = DirectSpeakersPanner::new(&layout).unwrap();
        for c in &rl.cases {
            let lfe = is_lfe(c.low_pass, c.high_pass, &c.labels);
            assert_eq!(
                lfe, c.lfe,
                "{} {} {:?}: LFE decision",
                rl.name, c.group, c.labels
            );
            let lock = c.screen_edge_lock.as_ref();
            let ch = SpeakerChannel {
                labels: c.labels.clone(),
                position: c.position.to_ours(),
                lfe,
                packs: c.packs.clone(),
                edge_lock: mixstage::panner::screen::EdgeLock {
                    horizontal: lock
                        .and_then(|l| l.horizontal.as_deref())
                        .map(|h| h == "left"),
                    vertical: lock.and_then(|l| l.vertical.as_deref()).map(|v| v == "top"),
                },
            };
            if lock.is_some() {
                locked += 1;
            }
            let routing = panner.route(&ch).unwrap();
            let bad: Vec<String> = layout
                .speakers
                .iter()
                .zip(&routing.gains)
                .filter_map(|(s, &g)| {
                    let want = c.gains.get(&s.label).copied().unwrap_or(0.0);
                    ((g - want).abs() > 1e-6).then(|| format!("{} ours {g} ear {want}", s.label))
                })
                .collect();
            if !bad.is_empty() {
                failures.push(format!(
                    "{} [{}] {:?} packs {:?} ({:?}): {}",
                    rl.name,
                    c.group,
                    c.labels,
                    c.packs,
                    routing.step,
                    bad.join("; ")
                ));
            }
            compared += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} cases differ from ear:\n{}",
        failures.len(),
        failures[..failures.len().min(40)].join("\n")
    );
    assert!(compared > 3000, "only {compared} cases");
    assert!(locked >= 80, "only {locked} screenEdgeLock cases");
}

#[test]
fn common_pack_table_is_ears() {
    let r = reference();
    for (id, code) in &r.itu_packs {
        assert_eq!(common_pack_layout(id), Some(code.as_str()), "{id}");
        assert_eq!(
            common_pack_layout(&id.to_ascii_lowercase()),
            Some(code.as_str())
        );
    }
    for id in [
        "AP_0001000A",
        "AP_0001000B",
        "AP_0001000D",
        "AP_00010016",
        "AP_00011001",
    ] {
        assert!(!r.itu_packs.contains_key(id));
        assert_eq!(common_pack_layout(id), None, "{id}");
    }
}

/// Properties every answer has, whatever the rule: one gain per channel, finite, non-negative;
/// LFE channels only on LFE speakers and the others never on them.
#[test]
fn lfe_and_main_channels_stay_apart() {
    let r = reference();
    for rl in &r.layouts {
        let layout = layout_for(rl);
        let panner = DirectSpeakersPanner::new(&layout).unwrap();
        for c in &rl.cases {
            let lfe = is_lfe(c.low_pass, c.high_pass, &c.labels);
            let ch = SpeakerChannel {
                labels: c.labels.clone(),
                position: c.position.to_ours(),
                lfe,
                edge_lock: Default::default(),
                packs: c.packs.clone(),
            };
            let g = panner.gains(&ch).unwrap();
            assert_eq!(g.len(), layout.channels());
            for (s, &x) in layout.speakers.iter().zip(&g) {
                assert!(x.is_finite() && x >= 0.0, "{} {:?}", rl.name, c.labels);
                if x != 0.0 {
                    assert_eq!(s.lfe, lfe, "{} {:?} -> {}", rl.name, c.labels, s.label);
                }
            }
            // A layout with an LFE speaker never drops an LFE channel.
            if lfe && !layout.lfe_channels().is_empty() {
                assert!(g.iter().any(|&x| x > 0.0), "{} {:?}", rl.name, c.labels);
            }
        }
    }
}
