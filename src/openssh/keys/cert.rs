//! User certificates as ssh finds and offers them.
//!
//! Where they come from (ssh.c `load_public_identity_files`): every `CertificateFile`, and,
//! only when no `CertificateFile` is configured, `KEY-cert` / `KEY-cert.pub` beside each
//! identity file. ssh offers `CertificateFile` certificates before everything else and a
//! beside-the-key certificate right after its key (sshconnect2.c `pubkey_prepare`); a host
//! certificate is ignored ("not a user certificate"), and a certificate type outside
//! PubkeyAcceptedAlgorithms is never offered.
//!
//! The client does not check a user certificate's validity or principals; the server does,
//! and refuses (sshd logs "Certificate invalid: expired", "not yet valid", "name is not a
//! listed principal", "Certificate lacks principal list", and for a CA signature outside its
//! CASignatureAlgorithms "signature algorithm not supported"). Those checks are the same in
//! every OpenSSH server, so they are reported here, before anything is sent.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use russh::keys::ssh_key::certificate::CertType;
use russh::keys::ssh_key::{Certificate, PublicKey};
use serde::Serialize;

use super::load::{Rules, pub_path};
use super::text::{self, KeyLine};
use crate::os::files::{self, Kind};

/// A certificate file as ssh loaded it.
#[derive(Debug, Clone)]
pub struct CertLoad {
    /// The file the certificate was read from.
    pub path: PathBuf,
    pub cert: Box<Certificate>,
}

impl CertLoad {
    /// The certified key.
    pub fn key(&self) -> PublicKey {
        PublicKey::from(self.cert.public_key().clone())
    }

    /// The certificate's algorithm name, e.g. `ssh-ed25519-cert-v01@openssh.com`.
    pub fn type_name(&self) -> String {
        self.cert.algorithm().to_certificate_type().to_string()
    }

    /// `ssh-keygen -L -f PATH`'s fields that matter for a login.
    pub fn summary(&self) -> CertSummary {
        let c = &self.cert;
        CertSummary {
            key_id: c.key_id().to_string(),
            serial: c.serial(),
            principals: c.valid_principals().to_vec(),
            valid_after: c.valid_after(),
            valid_before: c.valid_before(),
            ca: crate::sshkeys::fingerprint_sha256(&PublicKey::from(c.signature_key().clone())),
            signature_algorithm: c.signature().algorithm().to_string(),
        }
    }
}

/// What a report shows about a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertSummary {
    pub key_id: String,
    pub serial: u64,
    pub principals: Vec<String>,
    /// Seconds since the epoch; 0 = always.
    pub valid_after: u64,
    /// Seconds since the epoch; u64::MAX = forever.
    pub valid_before: u64,
    /// The CA key's SHA256 fingerprint.
    pub ca: String,
    /// The algorithm the CA signed with (`ssh-rsa` is SHA-1).
    pub signature_algorithm: String,
}

/// Why a certificate will not get this user in, as the client can tell beforehand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "problem")]
pub enum CertProblem {
    /// A host certificate: ssh ignores it.
    NotUserCertificate,
    /// Its type is not in PubkeyAcceptedAlgorithms: ssh never offers it.
    TypeNotAccepted {
        type_name: String,
    },
    /// RSA under RequiredRSASize: dropped at load (`load certificate "..." : Invalid key length`).
    RsaTooSmall {
        bits: u32,
    },
    Expired {
        valid_before: u64,
    },
    NotYetValid {
        valid_after: u64,
    },
    /// No principals: sshd's TrustedUserCAKeys refuses it ("Certificate lacks principal list").
    NoPrincipals,
    /// The login user is not a principal (sshd: "name is not a listed principal"), unless the
    /// server maps principals with AuthorizedPrincipalsFile.
    PrincipalMissing {
        user: String,
    },
    /// The CA signed with an algorithm OpenSSH's default CASignatureAlgorithms refuses
    /// (`ssh-rsa`, SHA-1, since 8.2): the server says "signature algorithm not supported".
    CaSignatureRefused {
        algorithm: String,
    },
}

impl CertProblem {
    /// Does ssh still send it to the server?
    pub fn still_offered(&self) -> bool {
        !matches!(
            self,
            CertProblem::NotUserCertificate
                | CertProblem::TypeNotAccepted { .. }
                | CertProblem::RsaTooSmall { .. }
        )
    }
}

/// `sshkey_load_public(KEY-cert)`: the certificate beside an identity file (`KEY-cert`,
/// then `KEY-cert.pub`), when it is a certificate.
pub fn beside(key_path: &Path) -> Option<CertLoad> {
    load_public_cert(&beside_base(key_path))
}

/// `KEY-cert`: where ssh looks (itself, then with `.pub`) for the certificate beside KEY.
pub fn beside_base(key_path: &Path) -> PathBuf {
    let mut base = key_path.as_os_str().to_owned();
    base.push("-cert");
    PathBuf::from(base)
}

/// A `CertificateFile`: None when ssh would not load a certificate from it (missing, not a
/// certificate: ssh skips it with a debug message).
pub fn certificate_file(path: &Path) -> Option<CertLoad> {
    load_public_cert(path)
}

/// A FIFO where ssh looks for a certificate (`base`, `base.pub`): ssh blocks opening it while
/// it loads its keys, before the SSH handshake.
pub fn blocks_at(base: &Path) -> Option<PathBuf> {
    [base.to_path_buf(), pub_path(base)]
        .into_iter()
        .find(|p| std::fs::metadata(p).is_ok_and(|md| files::kind(&md) == Kind::Fifo))
}

fn load_public_cert(path: &Path) -> Option<CertLoad> {
    for p in [path.to_path_buf(), pub_path(path)] {
        let Ok(bytes) = crate::fsutil::read_limited(&p, crate::fsutil::FileKind::Certificate)
        else {
            continue;
        };
        match text::first_key_line(&bytes) {
            Some(KeyLine::Cert(cert)) => return Some(CertLoad { path: p, cert }),
            // A plain key there: ssh loads it and then skips it ("is not a certificate").
            Some(KeyLine::Key(_)) => return None,
            None => {}
        }
    }
    // (The envelope of an OpenSSH private key holds a plain key, never a certificate.)
    None
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Everything the client can tell about `cert` for logging in as `user` at `now`.
pub fn problems(cert: &CertLoad, user: &str, rules: &Rules, now: u64) -> Vec<CertProblem> {
    let c = &cert.cert;
    let mut out = Vec::new();
    if c.cert_type() != CertType::User {
        return vec![CertProblem::NotUserCertificate];
    }
    let type_name = cert.type_name();
    if !rules.type_allowed(&type_name) {
        out.push(CertProblem::TypeNotAccepted { type_name });
    }
    if let Some(bits) = rules.rsa_too_small(&cert.key()) {
        out.push(CertProblem::RsaTooSmall { bits });
    }
    if now >= c.valid_before() {
        out.push(CertProblem::Expired {
            valid_before: c.valid_before(),
        });
    } else if now < c.valid_after() {
        out.push(CertProblem::NotYetValid {
            valid_after: c.valid_after(),
        });
    }
    if c.valid_principals().is_empty() {
        out.push(CertProblem::NoPrincipals);
    } else if !c.valid_principals().iter().any(|p| p == user) {
        out.push(CertProblem::PrincipalMissing {
            user: user.to_string(),
        });
    }
    let alg = c.signature().algorithm().to_string();
    if !rules.ca_signature_algorithms.is_empty() && !rules.ca_signature_algorithms.contains(&alg) {
        out.push(CertProblem::CaSignatureRefused { algorithm: alg });
    }
    out
}

/// `ssh-keygen -L` style time: `2026-01-02T03:04:05` (UTC), "forever", "always".
pub fn format_time(t: u64) -> String {
    if t == u64::MAX {
        return "forever".into();
    }
    if t == 0 {
        return "always".into();
    }
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_like_ssh_keygen() {
        assert_eq!(format_time(0), "always");
        assert_eq!(format_time(u64::MAX), "forever");
        assert_eq!(format_time(1_577_836_800), "2020-01-01T00:00:00Z");
        assert_eq!(format_time(4_070_908_800), "2099-01-01T00:00:00Z");
    }
}
