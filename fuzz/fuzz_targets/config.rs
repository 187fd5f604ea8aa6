//! Fuzzes the configuration parser: any bytes must give a config or a positioned error,
//! never a panic, a hang or unbounded memory (alias bombs are refused by the budget).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = provision::config::parse(Path::new("fuzz.yaml"), text);
    }
});
