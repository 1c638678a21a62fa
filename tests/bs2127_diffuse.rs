//! BS.2127's decorrelation filters (the diffuse path) against the EBU ADM Renderer (ear
//! 2.1.0): its MT19937 output, each channel's seed, and the 512-tap filters. Data from
//! `tools/gen_decorrelators.py`.

use mixstage::render::decorrelate::{filter, seeds, Mt19937};

#[derive(serde::Deserialize)]
struct Data {
    mt19937: std::collections::HashMap<String, Vec<u32>>,
    layouts: Vec<LayoutFilters>,
}

#[derive(serde::Deserialize)]
struct LayoutFilters {
    layout: String,
    channels: Vec<String>,
    seeds: Vec<u32>,
    #[serde(default)]
    filters: Vec<Vec<f64>>,
}

fn data() -> Data {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bs2127/decorrelators.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn the_generator_draws_numpys_legacy_sequence() {
    for (seed, want) in data().mt19937 {
        let mut r = Mt19937::new(seed.parse().unwrap());
        let got: Vec<u32> = (0..want.len()).map(|_| r.next_u32()).collect();
        assert_eq!(got, want, "seed {seed}");
    }
}

#[test]
fn filters_and_seeds_match_the_ebu_adm_renderer() {
    let mut worst = 0.0f64;
    for l in data().layouts {
        assert_eq!(seeds(&l.channels), l.seeds, "{}", l.layout);
        for (c, want) in l.filters.iter().enumerate() {
            let got = filter(l.seeds[c]);
            for (a, b) in got.iter().zip(want) {
                worst = worst.max((a - b).abs());
            }
        }
    }
    println!("largest filter difference from ear: {worst:.2e}");
    assert!(worst < 1e-12, "{worst}");
}
