//! The `chna` chunk reader on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixstage::adm::bw64;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = bw64::parse_chna(data, "fuzz") {
        assert!(rows.len() <= (data.len().saturating_sub(4)) / 40);
        assert!(rows.iter().all(|r| r.track_index > 0));
    }
});
