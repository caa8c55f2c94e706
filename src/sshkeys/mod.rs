//! SSH keys: generation, parsing, SHA256/MD5 fingerprints, randomart, default identities.
//!
//! Everything goes through russh's re-exported `ssh_key` so the types other modules hold
//! (probe, keys, validate) are the same ones generated and parsed here.

mod discover;
mod fingerprint;
mod generate;
pub mod paste;
mod pubfile;
mod randomart;
mod write;

pub use discover::discover_public_keys;
pub use fingerprint::{fingerprint, fingerprint_md5, fingerprint_sha256};
pub use generate::{KeySpec, generate, rsa_search_threads};
pub use paste::{Pasted, type_warning};
pub use pubfile::{parse_public_key_file, parse_public_key_line, read_public_key_file};
pub use randomart::randomart;
pub use write::{KeyPairPaths, check_parent_dir, public_path_for, write_key_pair};

use russh::keys::ssh_key::{self, Algorithm, EcdsaCurve, public::KeyData};

/// The algorithm name OpenSSH writes first on a public-key line ("ssh-ed25519", "ssh-rsa", ...).
pub fn key_type_label(key: &ssh_key::PublicKey) -> &'static str {
    match key.algorithm() {
        Algorithm::Dsa => "ssh-dss",
        Algorithm::Rsa { .. } => "ssh-rsa",
        Algorithm::Ed25519 => "ssh-ed25519",
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        } => "ecdsa-sha2-nistp256",
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP384,
        } => "ecdsa-sha2-nistp384",
        Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP521,
        } => "ecdsa-sha2-nistp521",
        Algorithm::SkEcdsaSha2NistP256 => "sk-ecdsa-sha2-nistp256@openssh.com",
        Algorithm::SkEd25519 => "sk-ssh-ed25519@openssh.com",
        _ => "unknown",
    }
}

/// The key size as `ssh-keygen -l` reports it: RSA/DSA modulus bits, the ECDSA curve size,
/// 256 for Ed25519.
pub fn key_bits(key: &ssh_key::PublicKey) -> u32 {
    match key.key_data() {
        KeyData::Rsa(rsa) => mpint_bits(rsa.n().as_positive_bytes()),
        KeyData::Dsa(dsa) => mpint_bits(dsa.p().as_positive_bytes()),
        KeyData::Ecdsa(ec) => match ec.curve() {
            EcdsaCurve::NistP256 => 256,
            EcdsaCurve::NistP384 => 384,
            EcdsaCurve::NistP521 => 521,
        },
        KeyData::SkEcdsaSha2NistP256(_) => 256,
        KeyData::Ed25519(_) | KeyData::SkEd25519(_) => 256,
        _ => 0,
    }
}

/// OpenSSH's short type name, used in randomart titles and `ssh-keygen -l` output.
pub fn key_short_name(key: &ssh_key::PublicKey) -> &'static str {
    match key.algorithm() {
        Algorithm::Dsa => "DSA",
        Algorithm::Rsa { .. } => "RSA",
        Algorithm::Ed25519 => "ED25519",
        Algorithm::Ecdsa { .. } => "ECDSA",
        Algorithm::SkEcdsaSha2NistP256 => "ECDSA-SK",
        Algorithm::SkEd25519 => "ED25519-SK",
        _ => "UNKNOWN",
    }
}

fn mpint_bits(bytes: Option<&[u8]>) -> u32 {
    let Some(bytes) = bytes else { return 0 };
    let bytes = {
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        &bytes[start..]
    };
    match bytes.first() {
        None => 0,
        Some(&top) => (bytes.len() as u32 - 1) * 8 + (8 - top.leading_zeros()),
    }
}
