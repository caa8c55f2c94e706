//! Key fingerprints in the two forms people compare: OpenSSH's `SHA256:base64` (what
//! `ssh-keygen -l` and sshd logs print) and the legacy MD5 colon hex (what Heroku's API returns
//! as `fingerprint` and what older docs show).

use russh::keys::ssh_key::{self, HashAlg};

use crate::cli::FingerprintHash;

/// `SHA256:` + unpadded base64 of the SHA-256 of the public-key blob, as `ssh-keygen -l`.
pub fn fingerprint_sha256(key: &ssh_key::PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Lower-case colon-separated hex of the MD5 of the public-key blob, without the `MD5:` prefix
/// `ssh-keygen -E md5` adds (Heroku's `fingerprint` field has none).
pub fn fingerprint_md5(key: &ssh_key::PublicKey) -> String {
    md5_digest(key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The fingerprint exactly as `ssh-keygen -l -E <hash>` prints it (`SHA256:...` / `MD5:aa:..`).
pub fn fingerprint(key: &ssh_key::PublicKey, hash: FingerprintHash) -> String {
    match hash {
        FingerprintHash::Sha256 => fingerprint_sha256(key),
        FingerprintHash::Md5 => format!("MD5:{}", fingerprint_md5(key)),
    }
}

/// The raw digest of the public-key blob (the randomart walks these bytes).
pub(crate) fn digest(key: &ssh_key::PublicKey, hash: FingerprintHash) -> Vec<u8> {
    match hash {
        FingerprintHash::Sha256 => key.fingerprint(HashAlg::Sha256).as_bytes().to_vec(),
        FingerprintHash::Md5 => md5_digest(key).to_vec(),
    }
}

fn md5_digest(key: &ssh_key::PublicKey) -> [u8; 16] {
    use ssh_key::encoding::Encode;
    // Encoding a key held in memory cannot fail short of a bug in ssh-key; an empty blob then
    // gives a visibly wrong fingerprint rather than a panic.
    let blob = key.key_data().encode_vec().unwrap_or_default();
    md5::compute(blob).0
}
