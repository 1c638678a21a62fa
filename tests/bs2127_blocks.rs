//! Whole Objects audioBlockFormats, read exactly as `mixstage gains --block` reads them (the
//! JSON named as BS.2076 and the EBU ADM Renderer name the fields), against ear 2.1.0's
//! `GainCalc` direct and diffuse gains: 300 random blocks on each of the ten BS.2051 layouts
//! (gain and diffuse included) and ear's own 1072 frozen cases on 4+5+0. Data from
//! `tools/gen_bs2127_blocks.py`.

use mixstage::adm::block_json;
use mixstage::layout::Layout;
use mixstage::render::timeline::BlockGains;

const TOL: f64 = 1e-6;

#[derive(serde::Deserialize)]
struct LayoutCases {
    layout: String,
    #[serde(default)]
    source: Option<String>,
    channels: Vec<String>,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    block: serde_json::Value,
    direct: Vec<f64>,
    diffuse: Vec<f64>,
}

#[test]
fn blocks_match_the_ebu_adm_renderer_on_every_bs2051_layout() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bs2127/block_gains.json"
    );
    let data: Vec<LayoutCases> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut layouts = std::collections::BTreeSet::new();
    let (mut checked, mut frozen, mut diffuse_cases, mut powered) = (0, 0, 0, 0);
    let mut worst = 0.0f64;
    for l in &data {
        let layout = Layout::resolve(&l.layout).unwrap();
        layouts.insert(layout.name.clone());
        let calc = BlockGains::new(&layout, false, true).unwrap();
        let n = layout.channels();
        let map: Vec<usize> = l
            .channels
            .iter()
            .map(|c| {
                layout
                    .channel_index(c)
                    .unwrap_or_else(|| panic!("{}: no {c}", l.layout))
            })
            .collect();
        assert_eq!(map.len(), n);
        for c in &l.cases {
            let text = c.block.to_string();
            let b = block_json::parse(&text, "case").unwrap_or_else(|e| panic!("{text}: {e}"));
            let g = calc.gains(&b).unwrap();
            for (k, (&want_direct, &want_diffuse)) in c.direct.iter().zip(&c.diffuse).enumerate() {
                for (got, want, what) in [
                    (g[map[k]], want_direct, "direct"),
                    (g[n + map[k]], want_diffuse, "diffuse"),
                ] {
                    worst = worst.max((got - want).abs());
                    assert!(
                        (got - want).abs() < TOL,
                        "{} {} {what}: {text}: got {got}, ear {want}",
                        l.layout,
                        l.channels[k]
                    );
                }
            }
            // Power (direct plus diffuse) is the block gain squared: point, extent, divergence,
            // channel lock, zone downmix and the diffuse split all preserve it. The exception is
            // BS.2127's stereo rule (a 0+5+0 downmix, not normalised behind the listener).
            if l.layout != "0+2+0" {
                let gain = c.block.get("gain").and_then(|g| g.as_f64()).unwrap_or(1.0);
                let power: f64 = g.iter().map(|x| x * x).sum();
                assert!(
                    (power - gain * gain).abs() < 1e-9 * gain.max(1.0).powi(2),
                    "{}: {text}: power {power}, gain^2 {}",
                    l.layout,
                    gain * gain
                );
                powered += 1;
            }
            if c.diffuse.iter().any(|&x| x > 0.0) {
                diffuse_cases += 1;
            }
            checked += 1;
            if l.source.is_some() {
                frozen += 1;
            }
        }
    }
    println!(
        "{checked} blocks on {} layouts ({frozen} of ear's frozen cases, {diffuse_cases} diffuse), \
         largest difference from ear {worst:.2e}",
        layouts.len()
    );
    assert_eq!(layouts.len(), 10, "{layouts:?}");
    assert!(checked >= 4000 && frozen == 1072 && diffuse_cases > 500 && powered > 3500);
}
