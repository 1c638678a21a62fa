//! QC meter throughput.
//!
//! `cargo bench --bench qc` measures one second of 7.1.4 noise at 48 kHz through: the
//! loudness meter alone (12 channels), the true-peak meter alone (12 channels, worst case:
//! a rising level defeats the skip test), and the whole analysis on the default systems
//! (7.1.4, 5.1, stereo, mono). The realtime factor is 1 s over the time per iteration. For
//! the 60 s CLI figure with peak memory see `tools/bench_qc.sh`.

mod common;

use std::sync::Arc;

use mixstage::qc::loudness::LoudnessMeter;
use mixstage::qc::system::{default_system_names, systems_by_name};
use mixstage::qc::truepeak::{oversampling, Interpolator, TruePeak};
use mixstage::qc::{Analyzer, QcOptions};
use mixstage::Layout;

fn main() {
    divan::main();
}

const RATE: usize = 48_000;
const BLOCK: usize = 8192;

#[divan::bench]
fn loudness_714_one_second(bencher: divan::Bencher) {
    let input = common::noise(RATE * 12, 3);
    bencher.bench_local(|| {
        let mut m = LoudnessMeter::new(RATE as u32, vec![1.0; 12], None);
        for c in input.chunks(BLOCK * 12) {
            m.push(c);
        }
        m.finish()
    });
}

#[divan::bench]
fn true_peak_714_one_second_rising(bencher: divan::Bencher) {
    let x: Vec<f32> = common::noise(RATE, 4)
        .iter()
        .enumerate()
        .map(|(k, v)| v * k as f32 / RATE as f32)
        .collect();
    let interp = Arc::new(Interpolator::new(oversampling(RATE as u32)));
    bencher.bench_local(|| {
        let mut peak = 0f32;
        for _ in 0..12 {
            let mut t = TruePeak::new(interp.clone());
            for c in x.chunks(BLOCK) {
                t.push(c);
            }
            peak = peak.max(t.finish());
        }
        peak
    });
}

#[divan::bench]
fn analysis_714_default_systems_one_second(bencher: divan::Bencher) {
    let layout = Layout::resolve("7.1.4").unwrap();
    let input = common::noise(RATE * 12, 5);
    bencher.bench_local(|| {
        let systems =
            systems_by_name(&layout, &default_system_names(&layout), 48000, None).unwrap();
        let mut a = Analyzer::new(RATE as u32, 12, systems, QcOptions::default()).unwrap();
        for c in input.chunks(BLOCK * 12) {
            a.push(c).unwrap();
        }
        a.finish()
    });
}
