//! The netrc parser never fails and keeps the bytes; `set` either writes an entry that reads
//! back exactly or leaves the text untouched; `remove` leaves no such machine behind.
#![no_main]

use herossh::credentials::netrc::Netrc;
use libfuzzer_sys::fuzz_target;

const MACHINE: &str = "api.heroku.com";

fuzz_target!(|data: &[u8]| {
    let mut n = Netrc::parse(data.to_vec());
    assert_eq!(n.as_bytes(), data);
    for e in n.entries() {
        let _ = (e.login(), e.password());
    }
    match n.set(MACHINE, "user@example.com", "tok-EN_123") {
        Ok(()) => {
            let again = Netrc::parse(n.as_bytes().to_vec());
            let e = again.machine(MACHINE).expect("entry written by set");
            assert_eq!(e.login(), Some("user@example.com"));
            assert_eq!(e.password(), Some("tok-EN_123"));
        }
        Err(_) => assert_eq!(n.as_bytes(), data, "a failed set changed the text"),
    }
    n.remove(MACHINE);
    assert!(
        Netrc::parse(n.as_bytes().to_vec())
            .machine(MACHINE)
            .is_none()
    );
});
