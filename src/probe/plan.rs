//! The key plan: which identities `ssh` would offer to a host, in which order, and which of
//! them it would skip or fail to use, without touching the network.
//!
//! Order (OpenSSH sshconnect2.c `pubkey_prepare`): `CertificateFile` certificates, then the
//! agent keys that an identity file names (in the agent's order, not the config's), the other
//! agent keys (dropped with `IdentitiesOnly yes`; RSA keys under RequiredRSASize are ignored),
//! then the identity files not in the agent, each followed by its `KEY-cert.pub` when no
//! `CertificateFile` is set; last, every key whose type is not in PubkeyAcceptedAlgorithms is
//! dropped. What ssh knows of each file before connecting, and whether it can load the
//! private key when it must sign, comes from its loader model (`openssh::keys`): the plan
//! never trusts a key russh can parse but ssh cannot.

use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{Algorithm, PublicKey};
use serde::Serialize;

use super::agent::AgentState;
use crate::openssh::keys::cert::{self, CertLoad, CertProblem};
use crate::openssh::keys::{IdentityLoad, PrivateState, PublicFrom, Refusal, Rules};
use crate::paths;
use crate::sshconfig::Resolved;

/// The settings for one host that the plan and the probe need: what `ssh -G HOST` would say.
#[derive(Debug, Clone)]
pub struct HostSettings {
    /// The name as typed (what `Host` patterns and fix-config's `--host` match).
    pub alias: String,
    /// Where to connect (`HostName`).
    pub hostname: String,
    pub user: String,
    pub port: u16,
    pub identity_files: Vec<PathBuf>,
    /// Where the identity list came from: `-i`, the config, or OpenSSH's defaults.
    pub identity_source: Source,
    pub identities_only: bool,
    pub certificate_files: Vec<PathBuf>,
    /// `IdentityAgent` as written (None: use `SSH_AUTH_SOCK`).
    pub identity_agent: Option<String>,
    pub user_known_hosts_files: Vec<PathBuf>,
    pub global_known_hosts_files: Vec<PathBuf>,
    pub hash_known_hosts: bool,
    /// `HostKeyAlias`: the name known_hosts is searched under instead of the host.
    pub host_key_alias: Option<String>,
    pub pubkey_accepted_algorithms: Vec<String>,
    /// `RequiredRSASize` (OpenSSH 9.1+: 1024 when unset).
    pub required_rsa_size: u32,
    /// The effective `CASignatureAlgorithms`.
    pub ca_signature_algorithms: Vec<String>,
    /// `stricthostkeychecking` as ssh -G prints it: true, false, ask or accept-new.
    pub strict_host_key_checking: String,
    /// PubkeyAuthentication is on and PreferredAuthentications (when set) lists publickey.
    pub pubkey_authentication: bool,
    pub batch_mode: bool,
    pub no_host_authentication_for_localhost: bool,
    /// The whole `ssh -G` answer, for what the fields above do not carry.
    pub resolved: Resolved,
    /// `-F FILE` as given to herossh, repeated in the fixes it prints.
    pub config_file: Option<PathBuf>,
    /// What makes ssh refuse this configuration (the settings above were read past it).
    pub config_errors: Vec<crate::sshconfig::ConfigError>,
    /// The destination as given (`[user@]host`, port), when this is a target the user named:
    /// what the installed ssh is run with when the probe cannot speak what it negotiates.
    pub destination: Option<crate::openssh::Destination>,
    /// validate's `-i` files, passed on to that ssh.
    pub command_line_identities: Vec<PathBuf>,
}

impl HostSettings {
    /// The one adapter from the config evaluator (`ssh -G`'s view of HOST) to what the plan
    /// and the probe need. `-i` identities replace the configured list, as validate documents.
    pub fn from_resolved(alias: &str, r: &Resolved, identities: &[PathBuf]) -> HostSettings {
        let (identity_files, identity_source) = if !identities.is_empty() {
            (
                identities
                    .iter()
                    .map(|p| paths::expand_tilde(&p.to_string_lossy()))
                    .collect(),
                Source::CommandLine,
            )
        } else if r.identity_files_explicit() {
            (r.identity_files(), Source::Config)
        } else {
            (r.identity_files(), Source::Default)
        };
        HostSettings {
            alias: alias.to_string(),
            hostname: r.hostname().to_string(),
            user: r.user().to_string(),
            port: r.port(),
            identity_files,
            identity_source,
            identities_only: r.identities_only(),
            certificate_files: r.certificate_files(),
            identity_agent: r.identity_agent(),
            user_known_hosts_files: r.user_known_hosts_files(),
            global_known_hosts_files: r.global_known_hosts_files(),
            hash_known_hosts: r.hash_known_hosts(),
            host_key_alias: r.get("hostkeyalias").map(str::to_string),
            pubkey_accepted_algorithms: r
                .pubkey_accepted_algorithms()
                .unwrap_or_default()
                .split(',')
                .map(str::to_string)
                .collect(),
            required_rsa_size: r
                .get("requiredrsasize")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1024),
            ca_signature_algorithms: r
                .get("casignaturealgorithms")
                .unwrap_or_default()
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            strict_host_key_checking: r.get("stricthostkeychecking").unwrap_or("ask").to_string(),
            pubkey_authentication: r.get("pubkeyauthentication") != Some("false")
                && r.get("preferredauthentications")
                    .is_none_or(|p| p.split(',').any(|m| m == "publickey")),
            batch_mode: r.get("batchmode") == Some("yes"),
            no_host_authentication_for_localhost: r.get("nohostauthenticationforlocalhost")
                == Some("yes"),
            resolved: r.clone(),
            config_file: None,
            config_errors: r.skipped.clone(),
            destination: None,
            command_line_identities: identities.to_vec(),
        }
    }

    /// The loader rules of the installed ssh with this host's settings.
    pub fn rules(&self) -> Rules {
        let mut rules = Rules::installed();
        rules.pubkey_accepted = self.pubkey_accepted_algorithms.clone();
        rules.required_rsa_size = self.required_rsa_size;
        if !self.ca_signature_algorithms.is_empty() {
            rules.ca_signature_algorithms = self.ca_signature_algorithms.clone();
        }
        rules
    }

    /// NoHostAuthenticationForLocalhost applies: ssh accepts any host key, changed, revoked or
    /// unknown, from a loopback address when no HostKeyAlias is set (sshconnect.c
    /// `check_host_key`, by the connected address; here by the name: `localhost` or a
    /// loopback literal, 127.0.0.0/8 or ::1).
    pub fn no_host_auth_for_localhost(&self) -> bool {
        let loopback = self.hostname == "localhost"
            || self
                .hostname
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        self.no_host_authentication_for_localhost && self.host_key_alias.is_none() && loopback
    }

    /// The name ssh looks the host key up under: `HostKeyAlias` as is, else `host` or
    /// `[host]:port` (sshconnect.c `get_hostfile_hostname_ipaddr`).
    pub fn known_hosts_name(&self) -> String {
        match &self.host_key_alias {
            Some(a) => a.clone(),
            None => super::known_hosts::lookup_name(&self.hostname, self.port),
        }
    }

    /// StrictHostKeyChecking no: ssh warns about a changed or revoked host key and logs in all
    /// the same, only without password or keyboard-interactive authentication (sshconnect.c
    /// `continue_unsafe`).
    pub fn host_key_mismatch_goes_on(&self) -> bool {
        self.strict_host_key_checking == "false"
    }

    /// ssh goes past a host key known_hosts does not vouch for (changed or revoked): it warns
    /// and goes on ([`Self::host_key_mismatch_goes_on`]), or does not check the key at all
    /// ([`Self::no_host_auth_for_localhost`]). The probe then goes on too.
    pub fn host_key_mismatch_continues(&self) -> bool {
        self.host_key_mismatch_goes_on() || self.no_host_auth_for_localhost()
    }

    /// The ControlPath socket ssh tries before connecting (ssh.c `muxclient`): with
    /// ControlMaster no, auto or autoask; with yes or ask ssh becomes a master itself.
    pub fn control_socket(&self) -> Option<PathBuf> {
        let path = self.resolved.get("controlpath")?;
        let tries = matches!(
            self.resolved.get("controlmaster"),
            None | Some("false" | "auto" | "autoask")
        );
        (tries && path != "none").then(|| PathBuf::from(path))
    }

    /// `KnownHostsCommand`, when set: ssh adds its output to the known_hosts files.
    pub fn known_hosts_command(&self) -> Option<&str> {
        self.resolved.get("knownhostscommand")
    }

    /// [`Self::known_hosts_name`] with ssh's port-less second look.
    pub fn known_hosts_lookup(&self) -> super::known_hosts::Lookup {
        super::known_hosts::Lookup {
            name: self.known_hosts_name(),
            without_port: (self.host_key_alias.is_none() && self.port != 22)
                .then(|| super::known_hosts::lookup_name(&self.hostname, 22)),
            cert_name: match &self.host_key_alias {
                Some(a) => a.clone(),
                None => self.hostname.to_ascii_lowercase(),
            },
            ca_signature_algorithms: self.ca_signature_algorithms.clone(),
        }
    }

    pub fn known_hosts_files(&self) -> Vec<PathBuf> {
        let mut v = self.user_known_hosts_files.clone();
        v.extend(self.global_known_hosts_files.iter().cloned());
        v
    }

    /// Would the client offer a key of this algorithm at all?
    pub fn accepts_algorithm(&self, alg: &Algorithm) -> bool {
        let name = match alg {
            Algorithm::Rsa { .. } => "ssh-rsa".to_string(),
            other => other.to_string(),
        };
        let alts: &[&str] = match alg {
            Algorithm::Rsa { .. } => &["rsa-sha2-512", "rsa-sha2-256"],
            _ => &[],
        };
        self.pubkey_accepted_algorithms
            .iter()
            .any(|a| *a == name || alts.contains(&a.as_str()))
    }
}

/// Where an identity comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Agent,
    Config,
    CommandLine,
    Default,
    Certificate,
    /// A private key file in ssh's `~/.ssh` that no IdentityFile names (found by content):
    /// never offered, asked about only to recommend pinning it.
    Found,
}

/// Why ssh would not (successfully, non-interactively) use an identity. The names are the
/// finding codes that explain them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// The identity file does not exist.
    Missing,
    /// Not a key file ssh can read (a certificate file that holds no certificate).
    Unreadable,
    /// Group/other permission bits: ssh refuses the private key.
    UnprotectedPrivateKey,
    /// The `.pub` next to the key holds another key (ssh offers the `.pub`'s key).
    PubMismatch,
    /// The type is not in the client's PubkeyAcceptedAlgorithms (e.g. ssh-dss).
    KeyTypeDisabled,
    /// Encrypted and not in the agent: ssh must ask for the passphrase.
    EncryptedNotInAgent,
    /// `Load key "KEY": Permission denied`: another user's file, or no read permission.
    KeyPermissionDenied,
    /// A directory, socket or device where the key should be.
    NotAFile,
    /// A FIFO: ssh blocks reading it and never connects.
    Blocks,
    /// Neither OpenSSH's format nor PEM: damaged, or not a key.
    InvalidFormat,
    /// A PuTTY `.ppk` file.
    PuttyKey,
    /// Only a public key: ssh offers it but can sign only through an agent holding the key.
    PublicKeyOnly,
    /// A key form this ssh does not read (Ed25519 PKCS#8 before 9.6, Ed448...).
    FormatUnsupported,
    /// RSA under RequiredRSASize (or 1024 bits).
    RsaTooSmall,
    CertificateExpired,
    CertificateNotYetValid,
    /// The login user is not one of the certificate's principals.
    CertificatePrincipalMissing,
    /// No principals: sshd's TrustedUserCAKeys refuses it.
    CertificateNoPrincipals,
    /// The CA signed with an algorithm OpenSSH's default CASignatureAlgorithms refuses.
    CertificateCaSignatureRefused,
    /// A host certificate: ssh ignores it.
    CertificateNotUser,
    /// No private key ssh can sign the certificate with.
    CertificateNoPrivateKey,
    /// The key beside the certificate is another key.
    CertificateKeyMismatch,
    /// An agent key that `IdentitiesOnly yes` keeps ssh from offering (the probe may still
    /// ask about it, to recommend pinning it).
    HiddenByIdentitiesOnly,
    /// A private key in `~/.ssh` that neither an IdentityFile nor ssh's default names
    /// reach: ssh never reads it (the probe may still ask about it, to recommend pinning it).
    NotConfigured,
}

impl SkipReason {
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::Missing => "missing",
            SkipReason::Unreadable => "unreadable",
            SkipReason::UnprotectedPrivateKey => "unprotected-private-key",
            SkipReason::PubMismatch => "pub-mismatch",
            SkipReason::KeyTypeDisabled => "key-type-disabled",
            SkipReason::EncryptedNotInAgent => "encrypted-not-in-agent",
            SkipReason::KeyPermissionDenied => "key-permission-denied",
            SkipReason::NotAFile => "identity-not-a-file",
            SkipReason::Blocks => "identity-blocks",
            SkipReason::InvalidFormat => "key-invalid-format",
            SkipReason::PuttyKey => "putty-private-key",
            SkipReason::PublicKeyOnly => "identity-is-public-key",
            SkipReason::FormatUnsupported => "key-format-unsupported",
            SkipReason::RsaTooSmall => "rsa-key-too-small",
            SkipReason::CertificateExpired => "certificate-expired",
            SkipReason::CertificateNotYetValid => "certificate-not-yet-valid",
            SkipReason::CertificatePrincipalMissing => "certificate-principal-missing",
            SkipReason::CertificateNoPrincipals => "certificate-no-principals",
            SkipReason::CertificateCaSignatureRefused => "certificate-ca-signature-refused",
            SkipReason::CertificateNotUser => "certificate-not-user",
            SkipReason::CertificateNoPrivateKey => "certificate-no-private-key",
            SkipReason::CertificateKeyMismatch => "certificate-key-mismatch",
            SkipReason::HiddenByIdentitiesOnly => "hidden-by-identities-only",
            SkipReason::NotConfigured => "not-configured",
        }
    }

    /// Does ssh still send the public key to the server when it knows it before connecting?
    /// (It does for keys it can only fail to sign with; it never sends a disabled type.)
    pub fn still_offered(self) -> bool {
        !matches!(
            self,
            SkipReason::KeyTypeDisabled
                | SkipReason::Blocks
                | SkipReason::RsaTooSmall
                | SkipReason::CertificateNotUser
                | SkipReason::HiddenByIdentitiesOnly
                | SkipReason::NotConfigured
        )
    }
}

/// A certificate in the plan.
#[derive(Debug, Clone)]
pub struct CertEntry {
    pub load: CertLoad,
    /// Everything the client can tell against it (validity, principals, CA signature...).
    pub problems: Vec<CertProblem>,
    /// The plan entry (index) whose private key signs for it (sshconnect2.c
    /// `sign_and_send_pubkey`): a plain key with the same public half, else the identity
    /// file of the same name; None when ssh would try to load a private key from the
    /// certificate file itself.
    pub signer: Option<usize>,
}

/// What herossh learned about an identity beyond the plan's columns.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    /// How ssh's loader finds the identity file (None for agent keys and certificates).
    pub load: Option<IdentityLoad>,
    /// For certificate entries.
    pub cert: Option<CertEntry>,
}

/// One identity in the plan.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The private key file (None for agent keys no config entry names); for a certificate,
    /// the certificate file.
    pub path: Option<PathBuf>,
    /// The agent's comment for agent keys (usually the file `ssh-add` read).
    pub agent_comment: Option<String>,
    /// The key ssh sends (a certificate's certified key).
    pub key: Option<PublicKey>,
    pub source: Source,
    pub in_agent: bool,
    pub encrypted: bool,
    /// Mode bits of the private key file.
    pub mode: Option<u32>,
    pub skipped: Option<SkipReason>,
    /// 1-based position among the keys ssh sends; None when never sent.
    pub offered_order: Option<usize>,
    pub detail: Detail,
}

impl Identity {
    pub fn key_type(&self) -> Option<String> {
        if let Some(c) = &self.detail.cert {
            return Some(c.load.type_name());
        }
        self.key.as_ref().map(|k| k.algorithm().to_string())
    }
    pub fn fingerprint(&self) -> Option<String> {
        self.key.as_ref().map(crate::sshkeys::fingerprint_sha256)
    }
    /// How to name it to a person: `~/.ssh/id_rsa`, or the agent comment.
    pub fn label(&self) -> String {
        if let Some(c) = &self.detail.cert {
            return paths::display_tilde(&c.load.path);
        }
        match (&self.path, &self.agent_comment) {
            (Some(p), _) => paths::display_tilde(p),
            (None, Some(c)) if !c.is_empty() => format!("agent: {c}"),
            _ => "agent key".to_string(),
        }
    }
    /// Could ssh finish a login with it without asking anything?
    pub fn usable(&self) -> bool {
        self.offered_order.is_some() && self.skipped.is_none()
    }
    /// Is this a certificate?
    pub fn is_certificate(&self) -> bool {
        self.detail.cert.is_some()
    }

    /// The file to pin with `IdentityFile` for this key: its path, or for an agent key the
    /// file `ssh-add` read it from (its comment), when that still holds the key.
    pub fn pin_path(&self) -> Option<PathBuf> {
        if let Some(p) = &self.path {
            return Some(p.clone());
        }
        let key = self.key.as_ref()?;
        let holds = |p: &Path| {
            inspect_file(p)
                .public
                .is_some_and(|a| a.key_data() == key.key_data())
        };
        if let Some(c) = self.agent_comment.as_deref() {
            let p = PathBuf::from(c);
            if p.is_absolute() && p.is_file() && holds(&p) {
                return Some(p);
            }
        }
        find_key_file(key)
    }
}

/// The private key file in ssh's `~/.ssh` that holds `key` (by content, any file name), so an
/// agent key can be pinned by the file it came from.
pub fn find_key_file(key: &PublicKey) -> Option<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(paths::ssh_dir())
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "pub"))
        .collect();
    entries.sort();
    entries.into_iter().find(|p| {
        let fk = inspect_file(p);
        fk.exists && !fk.pub_mismatch && fk.public.is_some_and(|a| a.key_data() == key.key_data())
    })
}

/// What a key file holds, as far as the plan is concerned (kept for callers of
/// [`inspect_file`]; the loader's [`IdentityLoad`] has the whole story).
#[derive(Debug, Clone, Default)]
pub struct FileKey {
    pub exists: bool,
    pub public: Option<PublicKey>,
    pub encrypted: bool,
    pub pub_mismatch: bool,
    pub unprotected: bool,
    pub mode: Option<u32>,
}

/// Read a private key file and its `.pub` the way ssh's loader does.
pub fn inspect_file(path: &Path) -> FileKey {
    let l = crate::openssh::keys::load_identity(path, &Rules::installed());
    FileKey {
        exists: l.mode.is_some(),
        public: l.key().cloned(),
        encrypted: l.encrypted(),
        pub_mismatch: l.pub_mismatch(),
        unprotected: matches!(
            l.private,
            PrivateState::Refused(Refusal::BadPermissions { .. })
        ),
        mode: l.mode,
    }
}

/// Build the plan in OpenSSH's order.
pub fn build(settings: &HostSettings, agent: &AgentState) -> Vec<Identity> {
    build_with_passphrase(settings, agent, None)
}

/// [`build`], learning the public half of encrypted keys that have no `.pub` with the
/// passphrase given to validate (`--passphrase-stdin`), so they can be asked about.
pub fn build_with_passphrase(
    settings: &HostSettings,
    agent: &AgentState,
    passphrase: Option<&str>,
) -> Vec<Identity> {
    let rules = settings.rules();
    let mut plan = certificate_files(settings, &rules);
    let files = identity_files(settings, &rules, passphrase);
    let (mut named, others, file_only) = match_agent(settings, &rules, agent, files);
    plan.append(&mut named);
    plan.extend(others);
    plan.extend(file_only);
    resolve_signers(settings, &rules, &mut plan);
    number_offers(&mut plan);
    plan
}

/// `CertificateFile`s, first in ssh's order; ones ssh cannot load are listed as unreadable.
fn certificate_files(settings: &HostSettings, rules: &Rules) -> Vec<Identity> {
    settings
        .certificate_files
        .iter()
        .map(|path| match cert::certificate_file(path) {
            Some(c) => cert_identity(settings, rules, c, path),
            None => Identity {
                path: Some(path.clone()),
                agent_comment: None,
                key: None,
                source: Source::Certificate,
                in_agent: false,
                encrypted: false,
                mode: None,
                skipped: Some(SkipReason::Unreadable),
                offered_order: None,
                detail: Detail::default(),
            },
        })
        .collect()
}

fn cert_identity(settings: &HostSettings, rules: &Rules, c: CertLoad, shown: &Path) -> Identity {
    let problems = cert::problems(&c, &settings.user, rules, cert::now());
    Identity {
        path: Some(shown.to_path_buf()),
        agent_comment: None,
        key: Some(c.key()),
        source: Source::Certificate,
        in_agent: false,
        encrypted: false,
        mode: None,
        skipped: cert_skip(&problems),
        offered_order: None,
        detail: Detail {
            load: None,
            cert: Some(CertEntry {
                load: c,
                problems,
                signer: None,
            }),
        },
    }
}

/// The most decisive certificate problem.
fn cert_skip(problems: &[CertProblem]) -> Option<SkipReason> {
    let rank = |p: &CertProblem| match p {
        CertProblem::NotUserCertificate => (0, SkipReason::CertificateNotUser),
        CertProblem::TypeNotAccepted { .. } => (1, SkipReason::KeyTypeDisabled),
        CertProblem::RsaTooSmall { .. } => (2, SkipReason::RsaTooSmall),
        CertProblem::Expired { .. } => (3, SkipReason::CertificateExpired),
        CertProblem::NotYetValid { .. } => (4, SkipReason::CertificateNotYetValid),
        CertProblem::NoPrincipals => (5, SkipReason::CertificateNoPrincipals),
        CertProblem::PrincipalMissing { .. } => (6, SkipReason::CertificatePrincipalMissing),
        CertProblem::CaSignatureRefused { .. } => (7, SkipReason::CertificateCaSignatureRefused),
    };
    problems
        .iter()
        .map(rank)
        .min_by_key(|(r, _)| *r)
        .map(|(_, s)| s)
}

/// The identity files (deduplicated), each followed by its `KEY-cert.pub` when no
/// `CertificateFile` is configured; missing default files are left out, as ssh skips them
/// without a word.
fn identity_files(
    settings: &HostSettings,
    rules: &Rules,
    passphrase: Option<&str>,
) -> Vec<Identity> {
    let mut out: Vec<Identity> = Vec::new();
    let mut seen: Vec<&PathBuf> = Vec::new();
    for f in &settings.identity_files {
        if seen.contains(&f) {
            continue;
        }
        seen.push(f);
        let mut load = crate::openssh::keys::load_identity(f, rules);
        if load.encrypted()
            && let Some(p) = passphrase
        {
            match crate::openssh::keys::load_private(f, Some(p), rules) {
                Ok(k) => load.own_public = Some(k.public_key().clone()),
                Err(e) => load.decrypt_error = Some(e.to_string()),
            }
        }
        // ssh also opens KEY-cert and KEY-cert.pub (when no CertificateFile is set): a FIFO
        // there hangs it just the same.
        if load.blocks_at.is_none() && settings.certificate_files.is_empty() {
            load.blocks_at = cert::blocks_at(&cert::beside_base(f));
        }
        let missing = matches!(load.private, PrivateState::Refused(Refusal::Missing));
        if missing && load.public.is_none() && settings.identity_source == Source::Default {
            continue;
        }
        out.push(file_identity(settings, rules, load));
        if settings.certificate_files.is_empty()
            && let Some(c) = cert::beside(f)
        {
            let mut id = cert_identity(settings, rules, c, f);
            // ssh names it by the key file; the certificate file is in the detail.
            id.path = Some(f.clone());
            out.push(id);
        }
    }
    out
}

fn file_identity(settings: &HostSettings, rules: &Rules, load: IdentityLoad) -> Identity {
    let skipped = file_skip(&load, rules);
    Identity {
        path: Some(load.path.clone()),
        agent_comment: None,
        key: load.key().cloned(),
        source: settings.identity_source,
        in_agent: false,
        encrypted: load.encrypted(),
        mode: load.mode,
        skipped,
        offered_order: None,
        detail: Detail {
            load: Some(load),
            cert: None,
        },
    }
}

/// Why ssh cannot use a file identity on its own (no agent holding it).
fn file_skip(load: &IdentityLoad, rules: &Rules) -> Option<SkipReason> {
    if load.blocks_at.is_some() {
        return Some(SkipReason::Blocks);
    }
    if let Some(k) = &load.public
        && !rules.type_allowed(&type_name(k))
    {
        return Some(SkipReason::KeyTypeDisabled);
    }
    // The file itself is a public key: whatever ssh then says about it as a private key
    // ("bad permissions" for a 0644 .pub, "error in libcrypto"), the story is that the
    // private half is elsewhere.
    if load.public_from == Some(PublicFrom::File) {
        return Some(SkipReason::PublicKeyOnly);
    }
    let only_public = load.public_from == Some(PublicFrom::PubFile);
    let reason = match &load.private {
        PrivateState::Refused(r) => match r {
            Refusal::Missing if only_public => SkipReason::PublicKeyOnly,
            Refusal::Missing => SkipReason::Missing,
            Refusal::PermissionDenied => SkipReason::KeyPermissionDenied,
            Refusal::BadPermissions { .. } => SkipReason::UnprotectedPrivateKey,
            Refusal::IsDirectory { .. } | Refusal::NotAFile => SkipReason::NotAFile,
            Refusal::Blocks => SkipReason::Blocks,
            Refusal::InvalidFormat { .. } => SkipReason::InvalidFormat,
            Refusal::Putty(_) => SkipReason::PuttyKey,
            Refusal::PublicKeyFile => SkipReason::PublicKeyOnly,
            Refusal::Unsupported(_) => SkipReason::FormatUnsupported,
            Refusal::RsaTooSmall { .. } => SkipReason::RsaTooSmall,
        },
        _ if load.pub_mismatch() => SkipReason::PubMismatch,
        PrivateState::NeedsPassphrase => SkipReason::EncryptedNotInAgent,
        PrivateState::Loads => match &load.own_public {
            // Loaded only at sign time ("Trying private key"): a disabled type then fails
            // with "no mutual signature supported" and nothing is sent.
            Some(k) if load.public.is_none() && !rules.type_allowed(&type_name(k)) => {
                SkipReason::KeyTypeDisabled
            }
            _ => return None,
        },
    };
    Some(reason)
}

/// The name ssh matches against PubkeyAcceptedAlgorithms (`ssh-rsa` for every RSA key).
fn type_name(k: &PublicKey) -> String {
    match k.algorithm() {
        Algorithm::Rsa { .. } => "ssh-rsa".into(),
        a => a.to_string(),
    }
}

/// Agent keys: the ones an identity file names move to the front (in the agent's order),
/// the others follow unless IdentitiesOnly; returns (named, other agent keys, file-only).
fn match_agent(
    settings: &HostSettings,
    rules: &Rules,
    agent: &AgentState,
    mut files: Vec<Identity>,
) -> (Vec<Identity>, Vec<Identity>, Vec<Identity>) {
    let mut named = Vec::new();
    let mut others = Vec::new();
    for a in agent.keys() {
        if rules.rsa_too_small(&a.key).is_some() {
            // pubkey_prepare: "ignoring ssh-rsa agent key" (RequiredRSASize), before it looks
            // for the key among the identity files. Listed (never offered) so the report can
            // say why, unless IdentitiesOnly would have hidden it anyway.
            if !settings.identities_only {
                others.push(agent_identity(a, Some(SkipReason::RsaTooSmall)));
            }
            continue;
        }
        // Only what ssh knew before connecting can match (a PEM key without its .pub cannot).
        let pos = files.iter().position(|id| {
            !id.is_certificate()
                && id
                    .detail
                    .load
                    .as_ref()
                    .and_then(|l| l.public.as_ref())
                    .is_some_and(|k| k.key_data() == a.key.key_data())
        });
        match pos {
            Some(i) => {
                let mut id = files.remove(i);
                id.in_agent = true;
                id.agent_comment = Some(a.comment.clone());
                // The agent signs: file permissions, format and passphrase do not matter.
                id.skipped = (!rules.type_allowed(&type_name(&a.key)))
                    .then_some(SkipReason::KeyTypeDisabled);
                named.push(id);
            }
            None if !settings.identities_only => {
                let skipped = (!rules.type_allowed(&type_name(&a.key)))
                    .then_some(SkipReason::KeyTypeDisabled);
                others.push(agent_identity(a, skipped));
            }
            None => {}
        }
    }
    (named, others, files)
}

fn agent_identity(a: &super::agent::AgentKey, skipped: Option<SkipReason>) -> Identity {
    Identity {
        path: None,
        agent_comment: Some(a.comment.clone()),
        key: Some(a.key.clone()),
        source: Source::Agent,
        in_agent: true,
        encrypted: false,
        mode: None,
        skipped,
        offered_order: None,
        detail: Detail::default(),
    }
}

/// Which entry signs for each certificate, and whether it can (sshconnect2.c
/// `sign_and_send_pubkey`, `id_filename_matches`, `identity_sign`).
fn resolve_signers(settings: &HostSettings, rules: &Rules, plan: &mut [Identity]) {
    for i in 0..plan.len() {
        let Some(entry) = &plan[i].detail.cert else {
            continue;
        };
        let key = entry.load.key();
        let beside = plan[i].source == Source::Certificate
            && !settings
                .certificate_files
                .iter()
                .any(|c| Some(c) == plan[i].path.as_ref());
        let cert_name = plan[i].path.clone().unwrap_or_default();
        let startup_key = |id: &Identity| {
            if id.in_agent && id.path.is_none() {
                id.key.clone()
            } else {
                id.detail.load.as_ref().and_then(|l| l.public.clone())
            }
        };
        // Only identities still in ssh's list can sign (disabled types and ignored agent keys
        // were dropped from it).
        let by_key = plan.iter().position(|id| {
            !id.is_certificate()
                && id.skipped.is_none_or(SkipReason::still_offered)
                && startup_key(id).is_some_and(|k| k.key_data() == key.key_data())
        });
        let by_name = || {
            plan.iter().position(|id| {
                !id.is_certificate()
                    && startup_key(id).is_none()
                    && id
                        .path
                        .as_ref()
                        .is_some_and(|p| filename_matches(&cert_name, p))
            })
        };
        let signer = by_key.or_else(by_name);
        let own = match signer {
            Some(s) => signer_problem(&plan[s], &key),
            // The certificate's own name: the key beside it, or the certificate file.
            None if beside => {
                let load = crate::openssh::keys::load_identity(&cert_name, rules);
                match (&load.private, &load.own_public) {
                    (PrivateState::Loads, Some(k)) if k.key_data() != key.key_data() => {
                        Some(SkipReason::CertificateKeyMismatch)
                    }
                    (PrivateState::Loads | PrivateState::NeedsPassphrase, _) => None,
                    _ => Some(SkipReason::CertificateNoPrivateKey),
                }
            }
            None => Some(SkipReason::CertificateNoPrivateKey),
        };
        let id = &mut plan[i];
        if let Some(c) = id.detail.cert.as_mut() {
            c.signer = signer;
        }
        // A certificate that cannot be signed for fails before the server's checks matter,
        // unless ssh never sends it at all.
        if let Some(p) = own
            && id.skipped.is_none_or(SkipReason::still_offered)
        {
            id.skipped = Some(p);
        }
    }
}

/// Can this plan entry sign for a certificate of `key`?
fn signer_problem(signer: &Identity, key: &PublicKey) -> Option<SkipReason> {
    if signer.in_agent {
        return None;
    }
    match signer.skipped {
        None | Some(SkipReason::EncryptedNotInAgent) => {
            let own = signer
                .detail
                .load
                .as_ref()
                .and_then(|l| l.own_public.clone());
            match own {
                Some(k) if k.key_data() != key.key_data() => {
                    Some(SkipReason::CertificateKeyMismatch)
                }
                _ => None,
            }
        }
        Some(_) => Some(SkipReason::CertificateNoPrivateKey),
    }
}

/// sshconnect2.c `id_filename_matches`: the same name, or the certificate named `KEY.pub` /
/// `KEY-cert.pub`.
fn filename_matches(cert: &Path, key: &Path) -> bool {
    let (c, k) = (
        cert.as_os_str().as_encoded_bytes(),
        key.as_os_str().as_encoded_bytes(),
    );
    c == k
        || [b".pub".as_slice(), b"-cert.pub"]
            .iter()
            .any(|s| c.len() == k.len() + s.len() && c.starts_with(k) && c.ends_with(s))
}

/// Number the keys ssh sends, in order.
fn number_offers(plan: &mut [Identity]) {
    let mut n = 0;
    for id in plan.iter_mut() {
        let sent = id.key.is_some() && sent_by_ssh(id);
        if sent {
            n += 1;
            id.offered_order = Some(n);
        }
    }
}

/// Does ssh put this key on the wire? A key it knew before connecting is offered (a query)
/// whatever happens when it then loads the private key; one it learns only from the private
/// key ("Trying private key") goes out only when the private key loads (an encrypted one
/// once the passphrase is typed); a disabled type, a host certificate and an ignored small
/// RSA agent key never do.
fn sent_by_ssh(id: &Identity) -> bool {
    let Some(reason) = id.skipped else {
        return true;
    };
    if !reason.still_offered() {
        return false;
    }
    match &id.detail.load {
        // An encrypted key whose public half herossh learned with the passphrase: at a
        // terminal ssh asks for it, loads the key and sends it.
        Some(l) if !id.in_agent => l.public.is_some() || reason == SkipReason::EncryptedNotInAgent,
        _ => true,
    }
}
