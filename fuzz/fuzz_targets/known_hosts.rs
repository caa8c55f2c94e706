//! known_hosts parsing skips what it cannot read and never panics; each entry keeps its line.
#![no_main]

use std::path::Path;

use herossh::probe::known_hosts;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    for e in known_hosts::parse(text, Path::new("known_hosts")) {
        assert_eq!(lines[e.line_no - 1], e.line);
        let _ = e.fingerprint();
    }
    // Host patterns from the input against the input.
    if let Some((p, t)) = text.split_once('\n') {
        let _ = known_hosts::wildcard_match(p, t);
    }
});
