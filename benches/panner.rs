//! Gain-query throughput of the VBAP panner (`cargo bench --bench panner`).
//!
//! Each iteration computes the gains of 10 000 directions spread over the sphere, so
//! directions per second = 10 000 / (time per iteration).

use mixstage::geometry::{direction, Vec3};
use mixstage::{Layout, Panner};

fn main() {
    divan::main();
}

fn directions() -> Vec<Vec3> {
    // A Fibonacci sphere: evenly spread, deterministic.
    let n = 10_000;
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n)
        .map(|i| {
            let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
            let az = (golden * i as f64).to_degrees();
            direction(az, z.asin().to_degrees())
        })
        .collect()
}

#[divan::bench(args = ["stereo", "5.1", "7.1.4", "9.1.6", "22.2"])]
fn gains_10k_directions(bencher: divan::Bencher, layout: &str) {
    let layout = Layout::resolve(layout).unwrap();
    let panner = Panner::new(&layout).unwrap();
    let dirs = directions();
    let mut out = vec![0.0; layout.channels()];
    bencher.bench_local(|| {
        let mut acc = 0.0;
        for d in &dirs {
            panner.gains_into(*d, &mut out);
            acc += out[0];
        }
        divan::black_box(acc)
    });
}

#[divan::bench(args = ["7.1.4", "22.2"])]
fn build_panner(bencher: divan::Bencher, layout: &str) {
    let layout = Layout::resolve(layout).unwrap();
    bencher.bench_local(|| Panner::new(divan::black_box(&layout)).unwrap());
}

/// 1 000 ADM Objects blocks of one kind, parsed as `gains --block` parses them.
fn blocks(kind: &str) -> Vec<mixstage::scene::MetaBlock> {
    (0..1000)
        .map(|i| {
            let az = -180.0 + 0.36 * i as f64;
            let el = -30.0 + (i % 90) as f64;
            let extra = match kind {
                "point" => String::new(),
                "extent" => r#", "width": 40, "height": 20"#.into(),
                "diffuse" => r#", "diffuse": 0.5"#.into(),
                "extent_divergence_lock" => {
                    r#", "width": 40, "height": 20, "objectDivergence": {"value": 0.5}, "channelLock": {"maxDistance": 0.3}"#.into()
                }
                "cartesian_extent" => r#", "cartesian": true, "width": 0.3, "height": 0.2, "depth": 0.1"#.into(),
                k => panic!("{k}"),
            };
            let text = format!(r#"{{"position": {{"azimuth": {az}, "elevation": {el}}}{extra}}}"#);
            mixstage::adm::block_json::parse(&text, "bench").unwrap()
        })
        .collect()
}

/// BS.2127 gain calculations per second on one core: 1 000 blocks per iteration, so blocks
/// per second = 1 000 / (time per iteration).
#[divan::bench(args = ["point", "extent", "diffuse", "extent_divergence_lock", "cartesian_extent"])]
fn gain_calc_1k_blocks_7_1_4(bencher: divan::Bencher, kind: &str) {
    let layout = Layout::resolve("7.1.4").unwrap();
    let calc = mixstage::render::timeline::BlockGains::new(&layout, false, true).unwrap();
    let bs = blocks(kind);
    calc.gains(&bs[0]).unwrap(); // build the extent grids outside the timing
    bencher.bench_local(|| {
        let mut acc = 0.0;
        for b in &bs {
            acc += calc.gains(b).unwrap()[0];
        }
        divan::black_box(acc)
    });
}
