//! Layout conversion throughput.
//!
//! `cargo bench --bench convert` measures the matrix alone (one second of 7.1.4 at 48 kHz
//! to 5.1 and to stereo, in blocks) and a whole-file conversion of 10 s of 7.1.4 f32 to 5.1
//! (read, convert, write; files in the system temp folder). The realtime factor is audio
//! seconds over wall seconds. For the 60 s CLI figure with peak memory see
//! `tools/bench_convert.sh`.

mod common;

use mixstage::convert::{conversion_matrix, convert_file, ConvertOptions, LfeMode, Method};
use mixstage::io::{write_all, SampleFormat};
use mixstage::Layout;

fn main() {
    divan::main();
}

const RATE: usize = 48_000;

fn bench_matrix(bencher: divan::Bencher, to: &str, method: Method) {
    let from = Layout::resolve("7.1.4").unwrap();
    let to = Layout::resolve(to).unwrap();
    let m = conversion_matrix(&from, &to, method, LfeMode::Keep).unwrap();
    let mixer = m.mixer();
    let block = 8192;
    let input = common::noise(RATE * from.channels(), 7);
    let mut out = vec![0f32; block * to.channels()];
    bencher.bench_local(|| {
        for chunk in input.chunks(block * from.channels()) {
            let frames = chunk.len() / from.channels();
            mixer.apply(chunk, &mut out[..frames * to.channels()]);
        }
        divan::black_box(&out);
    });
}

/// One second of 7.1.4 to 5.1 (VBAP matrix).
#[divan::bench]
fn matrix_714_to_51_one_second(bencher: divan::Bencher) {
    bench_matrix(bencher, "5.1", Method::Vbap);
}

/// One second of 7.1.4 to stereo (ITU matrix).
#[divan::bench]
fn matrix_714_to_stereo_itu_one_second(bencher: divan::Bencher) {
    bench_matrix(bencher, "stereo", Method::Itu);
}

/// Ten seconds of 7.1.4 f32 to 5.1 f32, file to file.
#[divan::bench(sample_count = 5, sample_size = 1)]
fn file_714_to_51_ten_seconds(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.wav");
    let output = dir.path().join("out.wav");
    let from = Layout::resolve("7.1.4").unwrap();
    let chans: Vec<Vec<f32>> = (0..from.channels())
        .map(|c| common::noise(10 * RATE, c as u64 + 1))
        .collect();
    write_all(&input, RATE as u32, &chans, SampleFormat::F32, 0).unwrap();
    let to = Layout::resolve("5.1").unwrap();
    bencher.bench_local(|| {
        convert_file(
            &input,
            Some(&from),
            &to,
            &output,
            &ConvertOptions::default(),
        )
        .unwrap();
    });
}
