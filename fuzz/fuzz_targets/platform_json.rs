//! Platform API bodies decode into the models or fail cleanly; a decoded model serialises to
//! JSON that decodes to the same value (what `--json` passes through is what was read).
#![no_main]

use herossh::platform::{Account, ApiErrorBody, Key};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(keys) = serde_json::from_slice::<Vec<Key>>(data) {
        let json = serde_json::to_vec(&keys).expect("keys serialise");
        let again: Vec<Key> = serde_json::from_slice(&json).expect("serialised keys decode");
        assert_eq!(again, keys);
    }
    if let Ok(account) = serde_json::from_slice::<Account>(data) {
        let json = serde_json::to_vec(&account).expect("account serialises");
        let again: Account = serde_json::from_slice(&json).expect("serialised account decodes");
        assert_eq!(again, account);
    }
    let _ = serde_json::from_slice::<ApiErrorBody>(data);
});
