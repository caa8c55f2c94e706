//! The loader: what ssh does with one `IdentityFile`, in two steps, as ssh does them.
//!
//! 1. Before connecting (ssh.c `load_public_identity_files`, authfile.c `sshkey_load_public`):
//!    the public key, from the file itself when it is a public-key line (an `IdentityFile
//!    KEY.pub`), else from `KEY.pub`, else from the clear envelope of an OpenSSH-format key.
//!    Nothing else counts: a PEM key without its `.pub` has no public key yet ("type -1"), so
//!    ssh cannot match it with the agent and must load the private key before it can offer
//!    anything ("Trying private key"). An RSA key under RequiredRSASize is dropped here with
//!    `load pubkey "KEY": Invalid key length`. Opening a FIFO blocks ssh right here (after the
//!    TCP connection, before the SSH handshake), for good.
//! 2. When it needs the private key (sshconnect2.c `load_identity_file`, authfile.c
//!    `sshkey_load_private_type`): `stat` (missing: "no such identity"), `open` (`Load key
//!    "KEY": Permission denied`), `sshkey_perm_ok` (a file owned by the user with any group or
//!    other bit: "UNPROTECTED PRIVATE KEY FILE", `bad permissions`; another user's file is
//!    not checked), read (a directory: `Is a directory`), parse with the empty passphrase
//!    (OpenSSH format, else OpenSSL's PEM reader; an encrypted key then needs its passphrase,
//!    which BatchMode never asks for), then RequiredRSASize again.
//!
//! Every rule here was checked against the real ssh (OpenSSH 9.2p1, OpenSSL 3.0): the
//! integration tests in tests/keyload.rs run each case through `ssh -v` against a real sshd
//! and compare.

use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{Algorithm, PrivateKey, PublicKey};
use serde::Serialize;

use super::damage::{self, Damage};
use super::envelope;
use super::pem::{self, Content};
use super::text::{self, KeyLine, Ppk};
use crate::fsutil::{self, FileKind};
use crate::os::files::{self, Kind};

/// ssh_err(SSH_ERR_LIBCRYPTO_ERROR): what OpenSSL 3 leaves when it finds no private key.
const LIBCRYPTO: &str = "error in libcrypto";
/// ssh_err(SSH_ERR_INVALID_FORMAT).
const INVALID_FORMAT: &str = "invalid format";

/// What the installed client's loader depends on.
#[derive(Debug, Clone)]
pub struct Rules {
    /// RequiredRSASize (`requiredrsasize` in `ssh -G`); RSA keys below 1024 bits are refused
    /// whatever it says.
    pub required_rsa_size: u32,
    /// The effective PubkeyAcceptedAlgorithms.
    pub pubkey_accepted: Vec<String>,
    /// The effective CASignatureAlgorithms (OpenSSH's default is also sshd's).
    pub ca_signature_algorithms: Vec<String>,
    /// OpenSSH ≥ 9.6 reads Ed25519 keys in PKCS#8 PEM.
    pub pem_ed25519: bool,
    /// The client knows DSA at all (`ssh -Q key` lists ssh-dss; gone in 10.0).
    pub dsa: bool,
    /// The real uid ssh runs as (`sshkey_perm_ok` compares the file's owner with it).
    pub uid: u32,
}

impl Rules {
    /// The rules of the installed ssh with its defaults.
    pub fn installed() -> Rules {
        let c = crate::openssh::installed();
        let list = |k: &str| -> Vec<String> {
            c.default(k)
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        Rules {
            required_rsa_size: c
                .default("requiredrsasize")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1024),
            pubkey_accepted: list("pubkeyacceptedalgorithms"),
            ca_signature_algorithms: list("casignaturealgorithms"),
            pem_ed25519: c.at_least(9, 6),
            dsa: c.supported.key.is_empty() || c.supported.key.iter().any(|k| k == "ssh-dss"),
            uid: crate::os::user::uid(),
        }
    }

    /// The smallest RSA modulus ssh uses.
    pub fn min_rsa_bits(&self) -> u32 {
        self.required_rsa_size.max(1024)
    }

    /// sshconnect2.c `key_type_allowed_by_config`: would ssh offer a key (or certificate)
    /// of this algorithm name at all?
    pub fn type_allowed(&self, name: &str) -> bool {
        let alts: &[&str] = match name {
            "ssh-rsa" => &["rsa-sha2-512", "rsa-sha2-256"],
            "ssh-rsa-cert-v01@openssh.com" => &[
                "rsa-sha2-512-cert-v01@openssh.com",
                "rsa-sha2-256-cert-v01@openssh.com",
            ],
            _ => &[],
        };
        self.pubkey_accepted
            .iter()
            .any(|a| a == name || alts.contains(&a.as_str()))
    }

    /// Is `key` an RSA key below the limit? Its bit count then.
    pub fn rsa_too_small(&self, key: &PublicKey) -> Option<u32> {
        let bits = crate::sshkeys::key_bits(key);
        (matches!(key.algorithm(), Algorithm::Rsa { .. }) && bits < self.min_rsa_bits())
            .then_some(bits)
    }
}

/// Where ssh found the public key before connecting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PublicFrom {
    /// The identity file itself is a public key (`IdentityFile KEY.pub`).
    File,
    /// `KEY.pub` beside it.
    PubFile,
    /// The clear envelope of an OpenSSH-format private key.
    Envelope,
}

/// The file format, as far as it could be told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `-----BEGIN OPENSSH PRIVATE KEY-----` (possibly damaged).
    Openssh,
    /// A PEM block: PKCS#1 RSA, SEC1 EC, DSA, PKCS#8 (the label as written).
    Pem(String),
    /// PuTTY's `.ppk`.
    Putty,
    /// A one-line public key or certificate.
    PublicKey,
    Unknown,
}

/// Why ssh cannot use the private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// `stat` fails.
    Missing,
    /// `open` fails with EACCES: another user's file, or no read bit for us.
    PermissionDenied,
    /// sshkey_perm_ok: ours, with group/other bits.
    BadPermissions { mode: u32 },
    /// A directory: "bad permissions" when it has group/other bits and is ours, else
    /// "Is a directory".
    IsDirectory { bad_permissions: bool },
    /// A FIFO: ssh blocks opening it.
    Blocks,
    /// A socket or device.
    NotAFile,
    /// Neither format reads it.
    InvalidFormat {
        damage: Vec<Damage>,
        /// `perl -0777 -pi -e` program that repairs it (checked in the model).
        repair: Option<String>,
        /// ssh's reason text: OpenSSL's "error in libcrypto" when it finds no private key
        /// block (ssh's own format falls back to it), "invalid format" for a block whose
        /// ASN.1 is damaged; None for damage inside an intact OpenSSH envelope, whose text
        /// depends on where the damage is.
        says: Option<&'static str>,
    },
    /// A PuTTY private key.
    Putty(PpkInfo),
    /// The file holds a public key (or certificate), not a private key.
    PublicKeyFile,
    /// A well-formed key of a type or form this ssh does not read (Ed25519 in PKCS#8 before
    /// 9.6, DSA on a client built without it, Ed448, a non-NIST curve...).
    Unsupported(String),
    /// RSA under RequiredRSASize (or 1024).
    RsaTooSmall { bits: u32, min: u32 },
}

/// What a `.ppk` holds (its public half is stored in clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PpkInfo {
    pub version: u32,
    pub encrypted: bool,
    pub public: Option<String>,
}

impl From<Ppk> for PpkInfo {
    fn from(p: Ppk) -> Self {
        PpkInfo {
            version: p.version,
            encrypted: p.encrypted,
            public: p.public.as_ref().map(crate::sshkeys::fingerprint_sha256),
        }
    }
}

impl Refusal {
    /// What ssh prints (at its default log level) when it gives up on this file at sign
    /// time, exactly; None when it says nothing there.
    pub fn ssh_message(&self, path: &Path) -> Option<String> {
        let p = path.display();
        let load = |m: &str| Some(format!("Load key \"{p}\": {m}"));
        match self {
            Refusal::Missing => Some(format!("no such identity: {p}: No such file or directory")),
            Refusal::PermissionDenied => load("Permission denied"),
            Refusal::BadPermissions { .. } => load("bad permissions"),
            Refusal::IsDirectory {
                bad_permissions: true,
            } => load("bad permissions"),
            Refusal::IsDirectory { .. } => load("Is a directory"),
            Refusal::Blocks | Refusal::NotAFile => None,
            Refusal::InvalidFormat { says, .. } => says.and_then(load),
            Refusal::Putty(_) | Refusal::PublicKeyFile => load(LIBCRYPTO),
            Refusal::Unsupported(_) => load(INVALID_FORMAT),
            Refusal::RsaTooSmall { bits, .. } if *bits < 1024 => load("Invalid key length"),
            Refusal::RsaTooSmall { .. } => None,
        }
    }
}

/// The private key as `load_identity_file` finds it, with BatchMode's empty passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivateState {
    /// ssh loads it without asking anything.
    Loads,
    /// Encrypted: ssh asks for the passphrase at a terminal (BatchMode skips it silently).
    NeedsPassphrase,
    Refused(Refusal),
}

/// `KEY.pub` beside the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PubFile {
    Absent,
    /// Present but not a key line ssh reads (it then ignores it).
    Unusable,
    /// Holds this key (compare with the private key's).
    Key(PublicKey),
}

/// One identity file, examined the way ssh's loader would.
#[derive(Debug, Clone)]
pub struct IdentityLoad {
    pub path: PathBuf,
    /// What ssh knows before connecting; it offers this key (None: "Trying private key").
    pub public: Option<PublicKey>,
    pub public_from: Option<PublicFrom>,
    /// `load pubkey "KEY": Invalid key length`: the public key was found and dropped.
    pub public_dropped_rsa_bits: Option<u32>,
    pub pub_file: PubFile,
    /// ssh opens a FIFO here while it prepares its keys and never returns.
    pub blocks_at: Option<PathBuf>,
    pub private: PrivateState,
    /// The private key's own public half when herossh can tell without a passphrase (an
    /// unencrypted key, or the envelope of an encrypted OpenSSH key).
    pub own_public: Option<PublicKey>,
    pub format: Format,
    /// Mode bits, when it exists.
    pub mode: Option<u32>,
    /// Owner uid, when it exists.
    pub owner: Option<u32>,
    /// Why the passphrase given to herossh did not open it (wrong, or an encryption herossh
    /// cannot undo), when one was tried.
    pub decrypt_error: Option<String>,
}

impl IdentityLoad {
    /// The key the probe asks about: the one ssh offers, else the one it would sign with.
    pub fn key(&self) -> Option<&PublicKey> {
        self.public.as_ref().or(self.own_public.as_ref())
    }

    /// The `.pub` ssh offers holds another key than the private one: ssh offers the `.pub`'s
    /// key and, when the server takes it, fails with "private key KEY contents do not match
    /// public".
    pub fn pub_mismatch(&self) -> bool {
        self.public_from == Some(PublicFrom::PubFile)
            && matches!((&self.public, &self.own_public), (Some(a), Some(b)) if a.key_data() != b.key_data())
    }

    pub fn encrypted(&self) -> bool {
        self.private == PrivateState::NeedsPassphrase
    }
}

/// Read a file the way ssh's loader would, never blocking.
enum Read {
    Missing,
    Fifo,
    Dir,
    Special,
    Denied,
    Bytes(Vec<u8>),
    /// Larger than any key.
    Huge,
}

struct Stat {
    kind: Kind,
    mode: u32,
    uid: u32,
}

fn stat(path: &Path) -> Option<Stat> {
    let md = std::fs::metadata(path).ok()?;
    Some(Stat {
        kind: files::kind(&md),
        mode: crate::os::perms::mode(&md),
        uid: crate::os::perms::owner(&md).uid,
    })
}

fn read(path: &Path) -> Read {
    let Some(st) = stat(path) else {
        return Read::Missing;
    };
    match st.kind {
        Kind::Fifo => return Read::Fifo,
        Kind::Dir => return Read::Dir,
        Kind::File => {}
        _ => return Read::Special,
    }
    match fsutil::read_limited(path, FileKind::PrivateKey) {
        Ok(b) => Read::Bytes(b),
        Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge => Read::Huge,
        Err(_) => Read::Denied,
    }
}

/// Examine `path` as ssh would use it as an `IdentityFile`.
pub fn load_identity(path: &Path, rules: &Rules) -> IdentityLoad {
    let pub_path = pub_path(path);
    let main = read(path);
    let pubr = read(&pub_path);
    let st = stat(path);

    let mut blocks_at = None;
    if matches!(main, Read::Fifo) {
        blocks_at = Some(path.to_path_buf());
    } else if matches!(pubr, Read::Fifo) {
        blocks_at = Some(pub_path.clone());
    }

    let main_bytes = match &main {
        Read::Bytes(b) => Some(b.as_slice()),
        _ => None,
    };
    let pub_file = match &pubr {
        Read::Missing => PubFile::Absent,
        Read::Bytes(b) => match text::first_key_line(b) {
            Some(KeyLine::Key(k)) => PubFile::Key(k),
            _ => PubFile::Unusable,
        },
        _ => PubFile::Unusable,
    };

    // Step 1: sshkey_load_public.
    let itself = main_bytes.and_then(text::first_key_line);
    let envelope = main_bytes.and_then(|b| envelope::parse(b).ok());
    let (mut public, public_from) = if blocks_at.is_some() {
        (None, None)
    } else if let Some(k) = &itself {
        (Some(k.public()), Some(PublicFrom::File))
    } else if let PubFile::Key(k) = &pub_file {
        (Some(k.clone()), Some(PublicFrom::PubFile))
    } else if let Some(k) = envelope.as_ref().and_then(|e| e.public.clone()) {
        (Some(k), Some(PublicFrom::Envelope))
    } else {
        (None, None)
    };
    // A certificate given as IdentityFile is loaded as the key it certifies.
    let mut public_dropped_rsa_bits = None;
    if let Some(bits) = public.as_ref().and_then(|k| rules.rsa_too_small(k)) {
        public_dropped_rsa_bits = Some(bits);
        public = None;
    }

    // Step 2: load_identity_file.
    let (private, own_public, format) = match (&main, &st) {
        (Read::Missing, _) | (_, None) => (
            PrivateState::Refused(Refusal::Missing),
            None,
            Format::Unknown,
        ),
        (Read::Fifo, _) => (
            PrivateState::Refused(Refusal::Blocks),
            None,
            Format::Unknown,
        ),
        (Read::Special, _) => (
            PrivateState::Refused(Refusal::NotAFile),
            None,
            Format::Unknown,
        ),
        (Read::Denied, _) => (
            PrivateState::Refused(Refusal::PermissionDenied),
            None,
            Format::Unknown,
        ),
        (Read::Dir, Some(s)) => (
            PrivateState::Refused(Refusal::IsDirectory {
                bad_permissions: s.uid == rules.uid && s.mode & 0o077 != 0,
            }),
            None,
            Format::Unknown,
        ),
        (_, Some(s)) if s.uid == rules.uid && s.mode & 0o077 != 0 => {
            // Refused before reading, but the format still says what the file is.
            let (_, own, format) = main_bytes
                .map_or((PrivateState::Loads, None, Format::Unknown), |b| {
                    parse_private(b, rules)
                });
            (
                PrivateState::Refused(Refusal::BadPermissions { mode: s.mode }),
                own,
                format,
            )
        }
        (Read::Huge, _) => (
            PrivateState::Refused(Refusal::InvalidFormat {
                damage: vec![Damage::Binary],
                repair: None,
                says: None,
            }),
            None,
            Format::Unknown,
        ),
        (Read::Bytes(b), _) => parse_private(b, rules),
    };
    // The RSA size check after loading.
    let private = match (&private, &own_public) {
        (PrivateState::Loads, Some(k)) => match rules.rsa_too_small(k) {
            Some(bits) => PrivateState::Refused(Refusal::RsaTooSmall {
                bits,
                min: rules.min_rsa_bits(),
            }),
            None => private,
        },
        _ => private,
    };
    IdentityLoad {
        path: path.to_path_buf(),
        public,
        public_from,
        public_dropped_rsa_bits,
        pub_file,
        blocks_at,
        private,
        own_public,
        format,
        mode: st.as_ref().map(|s| s.mode),
        owner: st.as_ref().map(|s| s.uid),
        decrypt_error: None,
    }
}

/// `sshkey_parse_private_fileblob_type` with the empty passphrase: the state, the key's own
/// public half when known, and the format.
fn parse_private(bytes: &[u8], rules: &Rules) -> (PrivateState, Option<PublicKey>, Format) {
    // ssh's own format first; any failure to read its envelope falls back to OpenSSL.
    match envelope::parse(bytes) {
        Ok(env) if env.encrypted() => {
            return (PrivateState::NeedsPassphrase, env.public, Format::Openssh);
        }
        Ok(env) => {
            return match PrivateKey::from_bytes(&env.decoded) {
                Ok(k)
                    if env.public.as_ref().map(|p| p.key_data())
                        == Some(k.public_key().key_data()) =>
                {
                    (
                        PrivateState::Loads,
                        Some(k.public_key().clone()),
                        Format::Openssh,
                    )
                }
                _ => (
                    PrivateState::Refused(Refusal::InvalidFormat {
                        damage: vec![Damage::Corrupt],
                        repair: None,
                        says: None,
                    }),
                    env.public,
                    Format::Openssh,
                ),
            };
        }
        // OpenSSL has no decoder for ssh's format: a damaged one fails there too.
        Err(_) if envelope::claims_format(bytes) => return not_a_key(bytes, rules),
        Err(_) => {}
    }
    match pem::read_block(bytes) {
        Ok(block) => {
            let format = Format::Pem(block.label.clone());
            let refuse = |r: Refusal| (PrivateState::Refused(r), None, format.clone());
            match pem::classify(&block) {
                Content::EncryptedLegacy { .. } | Content::EncryptedPkcs8 => {
                    (PrivateState::NeedsPassphrase, None, format)
                }
                Content::Rsa { bits } if bits < 1024 => refuse(Refusal::RsaTooSmall {
                    bits,
                    min: rules.min_rsa_bits(),
                }),
                Content::Ed25519 if !rules.pem_ed25519 => refuse(Refusal::Unsupported(
                    "an Ed25519 key in PKCS#8 PEM form (OpenSSH reads those from 9.6 on)".into(),
                )),
                Content::Dsa if !rules.dsa => refuse(Refusal::Unsupported(
                    "a DSA key (this ssh has no DSA support)".into(),
                )),
                Content::OtherPkcs8 => refuse(Refusal::Unsupported(
                    "a PKCS#8 key of a type OpenSSH has no key type for".into(),
                )),
                Content::Ec { curve: None } => refuse(Refusal::Unsupported(
                    "an EC key on a curve other than NIST P-256/384/521".into(),
                )),
                Content::NotAPrivateKey => refuse(Refusal::InvalidFormat {
                    damage: vec![Damage::NotAPrivateKey],
                    repair: None,
                    says: Some(LIBCRYPTO),
                }),
                Content::Asn1Error => refuse(Refusal::InvalidFormat {
                    damage: vec![Damage::Corrupt],
                    repair: None,
                    says: Some(INVALID_FORMAT),
                }),
                _ => match pem::public(&block) {
                    Some(k) => (PrivateState::Loads, Some(k), format),
                    // ssh (OpenSSL) reads it; herossh's decoder does not: say it loads.
                    None => (PrivateState::Loads, None, format),
                },
            }
        }
        Err(_) => not_a_key(bytes, rules),
    }
}

/// Neither format: a `.ppk`, a public key, or damage to name.
fn not_a_key(bytes: &[u8], rules: &Rules) -> (PrivateState, Option<PublicKey>, Format) {
    if let Some(ppk) = text::ppk(bytes) {
        let public = ppk.public.clone();
        return (
            PrivateState::Refused(Refusal::Putty(ppk.into())),
            public,
            Format::Putty,
        );
    }
    if let Some(line) = text::first_key_line(bytes) {
        return (
            PrivateState::Refused(Refusal::PublicKeyFile),
            Some(line.public()),
            Format::PublicKey,
        );
    }
    let format = if envelope::claims_format(bytes) {
        Format::Openssh
    } else if let Some(l) = pem_label(bytes) {
        Format::Pem(l)
    } else {
        Format::Unknown
    };
    let d = damage::diagnose(bytes, |fixed| {
        matches!(
            parse_private(fixed, rules).0,
            PrivateState::Loads | PrivateState::NeedsPassphrase
        )
    });
    (
        PrivateState::Refused(Refusal::InvalidFormat {
            damage: d.damage,
            repair: d.repair,
            says: Some(LIBCRYPTO),
        }),
        None,
        format,
    )
}

fn pem_label(bytes: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(bytes);
    let i = s.find("-----BEGIN ")?;
    let rest = &s[i + 11..];
    let j = rest.find("-----")?;
    Some(rest[..j].to_string())
}

/// `KEY.pub`.
pub fn pub_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// Why a private key could not be produced for signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignKeyError {
    /// ssh refuses the file (the same refusal the plan reports).
    Refused(PathBuf, Refusal),
    /// Encrypted, and no passphrase was given.
    Encrypted,
    WrongPassphrase,
    /// ssh can decrypt it but herossh cannot: the scheme, and the file.
    CannotDecrypt(String, PathBuf),
    /// ssh reads it but herossh's decoder does not.
    Unreadable(String),
}

impl std::fmt::Display for SignKeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignKeyError::Refused(path, r) => match r.ssh_message(path) {
                Some(m) => write!(f, "ssh cannot load the key ({m})"),
                None => write!(f, "ssh cannot load the key"),
            },
            SignKeyError::Encrypted => write!(f, "the key is encrypted"),
            SignKeyError::WrongPassphrase => write!(f, "wrong passphrase"),
            SignKeyError::CannotDecrypt(what, path) => write!(
                f,
                "herossh cannot decrypt {what} (ssh can); `ssh-keygen -p -f {}` rewrites it in OpenSSH format, which herossh reads",
                crate::diagnose::sh_quote(&crate::paths::display_tilde(path))
            ),
            SignKeyError::Unreadable(why) => write!(f, "herossh cannot read this key: {why}"),
        }
    }
}

/// The private key ssh would sign with, decrypted with `passphrase` when it is encrypted;
/// refused exactly when ssh's loader refuses it.
pub fn load_private(
    path: &Path,
    passphrase: Option<&str>,
    rules: &Rules,
) -> Result<PrivateKey, SignKeyError> {
    let id = load_identity(path, rules);
    match &id.private {
        PrivateState::Refused(r) => {
            return Err(SignKeyError::Refused(path.to_path_buf(), r.clone()));
        }
        PrivateState::NeedsPassphrase if passphrase.is_none() => {
            return Err(SignKeyError::Encrypted);
        }
        _ => {}
    }
    let bytes = match fsutil::read_limited(path, FileKind::PrivateKey) {
        Ok(b) => b,
        _ => {
            return Err(SignKeyError::Refused(
                path.to_path_buf(),
                Refusal::PermissionDenied,
            ));
        }
    };
    if let Ok(env) = envelope::parse(&bytes) {
        let key = PrivateKey::from_bytes(&env.decoded)
            .map_err(|e| SignKeyError::Unreadable(e.to_string()))?;
        return match (key.is_encrypted(), passphrase) {
            (false, _) => Ok(key),
            (true, Some(p)) => key.decrypt(p.as_bytes()).map_err(|e| match e {
                russh::keys::ssh_key::Error::Crypto | russh::keys::ssh_key::Error::Decrypted => {
                    SignKeyError::WrongPassphrase
                }
                other => {
                    // bcrypt/aes256-ctr is what ssh-keygen writes; other ciphers may be
                    // missing from herossh's build.
                    let cipher = env.cipher.clone();
                    tracing::debug!("decrypting {cipher}: {other}");
                    SignKeyError::WrongPassphrase
                }
            }),
            (true, None) => Err(SignKeyError::Encrypted),
        };
    }
    let block = pem::read_block(&bytes).map_err(|e| SignKeyError::Unreadable(format!("{e:?}")))?;
    let pass = if id.encrypted() { passphrase } else { None };
    pem::decode(&block, pass).map_err(|e| match e {
        pem::DecodeError::Encrypted => SignKeyError::Encrypted,
        pem::DecodeError::WrongPassphrase => SignKeyError::WrongPassphrase,
        pem::DecodeError::Unsupported(what) => {
            SignKeyError::CannotDecrypt(what, path.to_path_buf())
        }
        pem::DecodeError::Invalid(why) => SignKeyError::Unreadable(why),
    })
}

/// The loader against ssh's own loader, file by file: `ssh-keygen -y -P '' -f FILE` runs the
/// same `sshkey_load_private` (permission check, OpenSSH format, OpenSSL's PEM reader) and
/// prints the same `Load key "FILE": REASON` line ssh prints. Observed with OpenSSH 9.2p1 /
/// OpenSSL 3.0 (the integration tests in tests/keyload.rs repeat every case through a real
/// ssh login):
/// - ssh's format is strict: CRLF, a BOM, a blank or indented first line, a blank after a
///   marker, a lost final newline, newlines turned into spaces, a changed footer, UTF-16, a
///   cut or altered body are all "error in libcrypto" (ssh's format fails, then OpenSSL's);
///   blank lines inside, spaces inside the body, bytes after the END line are fine;
/// - PEM (OpenSSL) forgives CRLF, a BOM at the start, text lines before BEGIN, a blank after
///   a marker, long lines, a lost final newline; not an indented BEGIN, a changed footer, a
///   cut file ("error in libcrypto") or a body cut inside the DER ("invalid format");
/// - PKCS#8 Ed25519 is "invalid format" before 9.6; RSA under 1024 bits "Invalid key length";
/// - PuTTY files, public keys and empty files are "error in libcrypto"; a 0644 file of ours
///   "bad permissions"; every encrypted form asks for its passphrase.
#[cfg(test)]
mod oracle {
    use super::*;
    use std::process::Command;

    use crate::test_util::sh;

    fn edit(p: &Path, f: impl FnOnce(Vec<u8>) -> Vec<u8>) {
        let b = std::fs::read(p).unwrap();
        std::fs::write(p, f(b)).unwrap();
    }

    fn text(p: &Path, f: impl FnOnce(String) -> String) {
        edit(p, |b| f(String::from_utf8(b).unwrap()).into_bytes());
    }

    #[test]
    fn every_case_matches_ssh_keygen() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        sh(
            "ssh-keygen -q -t ed25519 -N '' -f ed && ssh-keygen -q -t rsa -b 2048 -N '' -f rsa \
             && ssh-keygen -q -t ecdsa -N '' -f ec && cp rsa rsapem && cp ec ecpem \
             && ssh-keygen -q -p -m PEM -N '' -P '' -f rsapem && ssh-keygen -q -p -m PEM -N '' -P '' -f ecpem",
            d,
        );
        let mut cases: Vec<PathBuf> = Vec::new();
        let mut add = |name: &str, from: &str, f: &dyn Fn(&Path)| {
            let p = d.join(name);
            std::fs::copy(d.join(from), &p).unwrap();
            crate::os::perms::set_mode(&p, 0o600).unwrap();
            f(&p);
            cases.push(p);
        };
        for base in ["ed", "rsapem", "ecpem"] {
            add(&format!("{base}-plain"), base, &|_| {});
            add(&format!("{base}-crlf"), base, &|p| {
                text(p, |t| t.replace('\n', "\r\n"))
            });
            add(&format!("{base}-nonl"), base, &|p| {
                text(p, |t| t.trim_end().to_string())
            });
            add(&format!("{base}-bom"), base, &|p| {
                edit(p, |b| [b"\xEF\xBB\xBF".as_slice(), &b].concat())
            });
            add(&format!("{base}-blankfirst"), base, &|p| {
                text(p, |t| format!("\n{t}"))
            });
            add(&format!("{base}-indented"), base, &|p| {
                text(p, |t| format!("  {t}"))
            });
            add(&format!("{base}-textbefore"), base, &|p| {
                text(p, |t| format!("note\n{t}"))
            });
            add(&format!("{base}-markerblank"), base, &|p| {
                text(p, |t| t.replacen("KEY-----\n", "KEY----- \n", 1))
            });
            add(&format!("{base}-oneline"), base, &|p| {
                text(p, |t| t.trim_end().replace('\n', " "))
            });
            add(&format!("{base}-bodyspaces"), base, &|p| {
                text(p, |t| {
                    let l: Vec<&str> = t.lines().collect();
                    format!(
                        "{}\n{}\n{}\n",
                        l[0],
                        l[1..l.len() - 1].join(" "),
                        l[l.len() - 1]
                    )
                })
            });
            add(&format!("{base}-footer"), base, &|p| {
                text(p, |t| {
                    let i = t.find("-----END ").unwrap();
                    format!("{}-----END DSA PRIVATE KEY-----\n", &t[..i])
                })
            });
            add(&format!("{base}-cut"), base, &|p| {
                edit(p, |b| b[..b.len() / 2].to_vec())
            });
            add(&format!("{base}-star"), base, &|p| {
                text(p, |t| {
                    let mut l: Vec<String> = t.lines().map(str::to_string).collect();
                    l[2].replace_range(5..6, "*");
                    l.join("\n") + "\n"
                })
            });
            add(&format!("{base}-lostline"), base, &|p| {
                text(p, |t| {
                    let mut l: Vec<&str> = t.lines().collect();
                    l.remove(l.len() / 2);
                    l.join("\n") + "\n"
                })
            });
            add(&format!("{base}-trailing"), base, &|p| {
                text(p, |t| format!("{t}junk\n"))
            });
            add(&format!("{base}-utf16"), base, &|p| {
                edit(p, |b| {
                    let mut v = vec![0xFF, 0xFE];
                    for c in b {
                        v.extend([c, 0]);
                    }
                    v
                })
            });
            add(&format!("{base}-0644"), base, &|p| {
                crate::os::perms::set_mode(p, 0o644).unwrap()
            });
        }
        add("pubkey", "ed.pub", &|_| {});
        add("empty", "ed", &|p| std::fs::write(p, "").unwrap());
        sh(
            "openssl genrsa -traditional -out ossl-rsa 2048 2>/dev/null \
             && openssl genpkey -algorithm ed25519 -out ossl-ed \
             && openssl genrsa -traditional -out ossl-rsa512 512 2>/dev/null \
             && openssl genpkey -algorithm ed448 -out ossl-ed448 \
             && openssl ecparam -name secp256k1 -genkey -noout -out ossl-k256 \
             && openssl pkey -in ossl-rsa -aes256 -passout pass:pw -out ossl-p8enc \
             && openssl rsa -in ossl-rsa -traditional -des3 -passout pass:pw -out ossl-des3 2>/dev/null \
             && puttygen ed -O private -o ed.ppk && chmod 600 ossl-* ed.ppk",
            d,
        );
        for n in [
            "ossl-rsa",
            "ossl-ed",
            "ossl-rsa512",
            "ossl-ed448",
            "ossl-k256",
            "ossl-p8enc",
            "ossl-des3",
            "ed.ppk",
        ] {
            cases.push(d.join(n));
        }
        // The installed ssh's version, asked directly (Rules::installed() would cache its
        // answers in the real home).
        let v = Command::new("ssh").arg("-V").output().unwrap();
        let version = crate::openssh::client::parse_version(&String::from_utf8_lossy(&v.stderr))
            .unwrap_or((0, 0));
        let rules = Rules {
            required_rsa_size: 1024,
            pubkey_accepted: Vec::new(),
            ca_signature_algorithms: Vec::new(),
            pem_ed25519: version >= (9, 6),
            dsa: version < (10, 0),
            uid: crate::os::user::uid(),
        };
        for p in cases {
            let o = Command::new("ssh-keygen")
                .args(["-y", "-P", "", "-f"])
                .arg(&p)
                .output()
                .unwrap();
            let said = String::from_utf8_lossy(&o.stderr)
                .lines()
                .find(|l| l.starts_with("Load key"))
                .unwrap_or_default()
                .to_string();
            let l = load_identity(&p, &rules);
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            match &l.private {
                PrivateState::Loads => {
                    assert!(o.status.success(), "{name}: ssh-keygen refuses it: {said}");
                    let printed = String::from_utf8_lossy(&o.stdout).into_owned();
                    if let Some(k) = &l.own_public {
                        let theirs = PublicKey::from_openssh(printed.trim()).unwrap();
                        assert_eq!(theirs.key_data(), k.key_data(), "{name}");
                    }
                }
                PrivateState::NeedsPassphrase => assert!(
                    said.ends_with("incorrect passphrase supplied to decrypt private key"),
                    "{name}: {said}"
                ),
                PrivateState::Refused(r) => {
                    assert!(
                        !o.status.success(),
                        "{name}: ssh-keygen loads it; herossh says {r:?}"
                    );
                    if let Some(m) = r.ssh_message(&p) {
                        assert_eq!(m, said, "{name}");
                    }
                }
            }
        }
    }
}
