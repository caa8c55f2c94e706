//! The pasted-key normaliser (`keys add`) returns a key or a reason, never a panic; a key it
//! returns prints to an OpenSSH line that it reads back as the same key and comment; and a
//! refusal never carries a raw control character to the terminal.
#![no_main]

use herossh::sshkeys::paste;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match paste::normalise(data, Some(std::path::Path::new("/k/pasted-cert.pub"))) {
        Ok(p) => {
            let line = p.key.to_openssh().expect("a normalised key encodes");
            let again = paste::normalise(line.as_bytes(), None).expect("its line reads back");
            assert_eq!(again.key.key_data(), p.key.key_data());
            assert_eq!(again.key.comment(), p.key.comment());
            assert!(again.notes.is_empty(), "a plain line needs no conversion");
        }
        Err(why) => assert!(
            !why.chars().any(|c| c.is_control()),
            "unescaped control character in {why:?}"
        ),
    }
});
