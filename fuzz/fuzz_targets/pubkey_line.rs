//! Public-key line parsing returns a key or an error, never a panic; a parsed key prints back
//! to a line that parses to the same key.
#![no_main]

use herossh::sshkeys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = sshkeys::parse_public_key_line(line) {
        let printed = key.to_openssh().expect("a parsed key encodes");
        let again = sshkeys::parse_public_key_line(&printed).expect("printed key parses");
        assert_eq!(again.key_data(), key.key_data());
        let _ = sshkeys::fingerprint_md5(&key);
        let _ = sshkeys::key_bits(&key);
        let _ = sshkeys::key_type_label(&key);
    }
});
