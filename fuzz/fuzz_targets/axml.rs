//! The `axml` reader on arbitrary UTF-8: any input is an ADM document or an error, never
//! a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mixstage::adm::{xml, Warnings};

fuzz_target!(|text: &str| {
    let mut w = Warnings::default();
    let _ = xml::parse(text, "fuzz", false, &mut w);
});
