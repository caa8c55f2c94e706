//! The ssh_config syntax tree is lossless: printing what was parsed gives back every byte.
#![no_main]

use herossh::sshconfig::syntax;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = syntax::parse(data);
    assert_eq!(config.print(), data, "print(parse(x)) != x");
    // Block grouping and EOL detection must not panic either.
    let _ = config.blocks();
    let _ = config.dominant_eol();
});
