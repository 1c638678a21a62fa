//! Whole files: the BW64/RF64/RIFF chunk scanner, the streaming WAV reader (every frame
//! read) and the ADM master loader (container, chna, axml, selection, timelines).
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use mixstage::adm::{self, bw64, AdmOptions};
use mixstage::io::{AudioSource, WavReader};

fuzz_target!(|data: &[u8]| {
    let mut f = tempfile::Builder::new()
        .suffix(".wav")
        .tempfile()
        .expect("temp file");
    f.write_all(data).expect("write");
    f.flush().expect("flush");
    let path = f.path();
    let _ = bw64::scan(path);
    if let Ok(mut r) = WavReader::open(path) {
        let ch = r.info().channels;
        let mut buf = vec![0f32; ch * 1024];
        let mut total = 0u64;
        while let Ok(n) = r.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        assert!(total <= r.info().frames.unwrap_or(u64::MAX));
    }
    if let Ok(m) = adm::load(path, &AdmOptions::default()) {
        let _ = m.to_scene();
        let _ = m.all_warnings();
    }
});
