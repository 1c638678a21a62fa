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
