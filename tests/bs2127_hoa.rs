//! BS.2127's HOA decoder (AllRAD) against the EBU ADM Renderer (ear 2.1.0): the matrices of
//! orders 1 to 3 in SN3D, N3D and FuMa, and a mixed-order set, on 0+2+0,
//! 0+5+0, 4+7+0 and 9+10+3. Data from `tools/gen_hoa_reference.py`.

use mixstage::panner::allrad::{AllRad, HoaFormat};
use mixstage::panner::hoa::Normalization;
use mixstage::Layout;

#[derive(serde::Deserialize)]
struct Data {
    layouts: Vec<LayoutCases>,
}

#[derive(serde::Deserialize)]
struct LayoutCases {
    name: String,
    channels: Vec<String>,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    orders: Vec<u32>,
    degrees: Vec<i32>,
    normalization: String,
    max_re: bool,
    matrix: Vec<Vec<f64>>,
}

fn data() -> Data {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bs2127/hoa_decoders.json"
    );
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn decoders_match_the_ebu_adm_renderer() {
    let mut worst = 0.0f64;
    let mut n_cases = 0;
    for l in data().layouts {
        let layout = Layout::resolve(&l.name).unwrap();
        let design = AllRad::new(&layout).unwrap();
        // ear's channel order -> ours, by label.
        let map: Vec<usize> = l
            .channels
            .iter()
            .map(|c| {
                layout
                    .channel_index(c)
                    .unwrap_or_else(|| panic!("{}: no {c}", l.name))
            })
            .collect();
        assert_eq!(map.len(), layout.channels());
        for case in &l.cases {
            let format = HoaFormat {
                components: case
                    .orders
                    .iter()
                    .copied()
                    .zip(case.degrees.iter().copied())
                    .collect(),
                normalization: Normalization::parse(&case.normalization).unwrap(),
            };
            let got = design.design(&format, case.max_re).unwrap();
            for (r, want_row) in case.matrix.iter().enumerate() {
                let ours = &got[map[r]];
                assert_eq!(ours.len(), want_row.len());
                for (c, (&a, &b)) in ours.iter().zip(want_row).enumerate() {
                    let d = (a - b).abs();
                    worst = worst.max(d);
                    assert!(
                        d < 1e-6,
                        "{} {} row {} ({}) col {c}: {a} vs ear {b}",
                        l.name,
                        case.name,
                        r,
                        l.channels[r]
                    );
                }
            }
            n_cases += 1;
        }
    }
    assert_eq!(n_cases, 4 * 10);
    eprintln!("HOA decoders: {n_cases} cases, largest difference from ear {worst:e}");
}

#[test]
fn lfe_channels_get_nothing() {
    let layout = Layout::resolve("22.2").unwrap();
    let d = AllRad::new(&layout)
        .unwrap()
        .design(
            &HoaFormat {
                components: mixstage::panner::hoa::acn_components(2),
                normalization: Normalization::SN3D,
            },
            false,
        )
        .unwrap();
    for c in layout.lfe_channels() {
        assert!(d[c].iter().all(|&g| g == 0.0));
    }
}

#[test]
fn max_re_weights_each_order_by_its_legendre_value() {
    // The reference's own max-rE option weights by `a_n[n][n]` (an indexing slip), so the
    // check is against the definition: order n's columns scaled by P_n(rE) before the
    // mean-power normalisation, which leaves the ratio between orders.
    let layout = Layout::resolve("7.1.4").unwrap();
    let design = AllRad::new(&layout).unwrap();
    let f = HoaFormat {
        components: mixstage::panner::hoa::acn_components(3),
        normalization: Normalization::SN3D,
    };
    let plain = design.design(&f, false).unwrap();
    let re = design.design(&f, true).unwrap();
    let w = mixstage::panner::hoa::max_re_weights(3);
    let r_e = (137.9f64 / 4.51).to_radians().cos();
    assert!((w[1] - r_e).abs() < 1e-15 && (w[0] - 1.0).abs() < 1e-15);
    for (p, q) in plain.iter().zip(&re) {
        for (c, &(n, _)) in f.components.iter().enumerate() {
            if p[0].abs() > 1e-9 {
                let want = w[n as usize] * p[c] / p[0];
                assert!((q[c] / q[0] - want).abs() < 1e-9);
            }
        }
    }
}
