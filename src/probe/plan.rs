//! The key plan: which identities `ssh` would offer to a host, in which order, and which of
//! them it would skip or fail to use, without touching the network.
//!
//! Order (OpenSSH sshconnect2.c `pubkey_prepare`): certificate files from the config, agent
//! keys that the config names, the other agent keys (dropped with `IdentitiesOnly yes`), then
//! the identity files that are not in the agent. Whether a file key can be used is decided the
//! way ssh decides it: a private key with group/other permission bits is refused ("UNPROTECTED
//! PRIVATE KEY FILE"), a type not in the client's PubkeyAcceptedAlgorithms is never offered,
//! and an encrypted key outside the agent needs a passphrase (so BatchMode fails).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{Algorithm, PrivateKey, PublicKey};
use serde::Serialize;

use super::agent::AgentState;
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
        }
    }

    /// NoHostAuthenticationForLocalhost applies: ssh skips the host key check.
    pub fn no_host_auth_for_localhost(&self) -> bool {
        self.no_host_authentication_for_localhost
            && matches!(self.hostname.as_str(), "localhost" | "127.0.0.1" | "::1")
    }

    /// The name ssh looks the host key up under: `HostKeyAlias` as is, else `host` or
    /// `[host]:port` (sshconnect.c `get_hostfile_hostname_ipaddr`).
    pub fn known_hosts_name(&self) -> String {
        match &self.host_key_alias {
            Some(a) => a.clone(),
            None => super::known_hosts::lookup_name(&self.hostname, self.port),
        }
    }

    pub fn known_hosts_files(&self) -> Vec<PathBuf> {
        let mut v = self.user_known_hosts_files.clone();
        v.extend(self.global_known_hosts_files.iter().cloned());
        v
    }

    /// Would the client offer a key of this algorithm at all?
    pub fn accepts_algorithm(&self, alg: &Algorithm) -> bool {
        let names: &[&str] = match alg {
            Algorithm::Rsa { .. } => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
            _ => &[],
        };
        let own = alg.to_string();
        self.pubkey_accepted_algorithms
            .iter()
            .any(|a| *a == own || names.contains(&a.as_str()))
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
}

/// Why ssh would not (successfully, non-interactively) use an identity. The names are the
/// finding codes that explain them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// The identity file does not exist.
    Missing,
    /// The file is not a key ssh can read.
    Unreadable,
    /// Group/other permission bits: ssh refuses the private key.
    UnprotectedPrivateKey,
    /// The `.pub` next to the key holds another key (ssh offers the private key's own).
    PubMismatch,
    /// The type is not in the client's PubkeyAcceptedAlgorithms (e.g. ssh-dss).
    KeyTypeDisabled,
    /// Encrypted and not in the agent: ssh must ask for the passphrase.
    EncryptedNotInAgent,
    /// An agent key that `IdentitiesOnly yes` keeps ssh from offering (the probe may still
    /// ask about it, to recommend pinning it).
    HiddenByIdentitiesOnly,
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
            SkipReason::HiddenByIdentitiesOnly => "hidden-by-identities-only",
        }
    }

    /// Does ssh still send the public key to the server? (It does for keys it can only fail
    /// to sign with; it never sends a disabled type or a key it cannot read.)
    pub fn still_offered(self) -> bool {
        matches!(
            self,
            SkipReason::UnprotectedPrivateKey
                | SkipReason::PubMismatch
                | SkipReason::EncryptedNotInAgent
        )
    }
}

/// One identity in the plan.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The private key file (None for agent keys no config entry names).
    pub path: Option<PathBuf>,
    /// The agent's comment for agent keys (usually the file `ssh-add` read).
    pub agent_comment: Option<String>,
    pub key: Option<PublicKey>,
    pub source: Source,
    pub in_agent: bool,
    pub encrypted: bool,
    /// Mode bits of the private key file.
    pub mode: Option<u32>,
    pub skipped: Option<SkipReason>,
    /// 1-based position among the keys ssh sends; None when never sent.
    pub offered_order: Option<usize>,
}

impl Identity {
    pub fn key_type(&self) -> Option<String> {
        self.key.as_ref().map(|k| k.algorithm().to_string())
    }
    pub fn fingerprint(&self) -> Option<String> {
        self.key.as_ref().map(crate::sshkeys::fingerprint_sha256)
    }
    /// How to name it to a person: `~/.ssh/id_rsa`, or the agent comment.
    pub fn label(&self) -> String {
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

/// What a key file holds, as far as the plan is concerned.
#[derive(Debug, Clone, Default)]
pub struct FileKey {
    pub exists: bool,
    pub public: Option<PublicKey>,
    pub encrypted: bool,
    pub pub_mismatch: bool,
    pub unprotected: bool,
    pub mode: Option<u32>,
}

/// Read a private key file and its `.pub` (no passphrase needed: the public half of an
/// OpenSSH-format key is stored in clear; PEM keys fall back to the `.pub`).
pub fn inspect_file(path: &Path) -> FileKey {
    let mut fk = FileKey::default();
    let pub_path = crate::sshkeys::public_path_for(path);
    let from_pub = crate::fsutil::read_limited_text(&pub_path, crate::fsutil::FileKind::PublicKey)
        .ok()
        .and_then(|t| PublicKey::from_openssh(t.trim()).ok());
    let Ok(md) = std::fs::metadata(path) else {
        fk.public = from_pub;
        return fk;
    };
    fk.exists = true;
    let mode = md.mode() & 0o7777;
    fk.mode = Some(mode);
    // sshkey_perm_ok: only a file we own with group/other bits is refused.
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    fk.unprotected = md.is_file() && md.uid() == uid && mode & 0o077 != 0;
    let Ok(text) = crate::fsutil::read_limited_text(path, crate::fsutil::FileKind::PrivateKey)
    else {
        fk.public = from_pub;
        return fk;
    };
    let from_private = if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----") {
        PrivateKey::from_openssh(text.as_bytes()).ok().map(|k| {
            fk.encrypted = k.is_encrypted();
            k.public_key().clone()
        })
    } else {
        match russh::keys::decode_secret_key(&text, None) {
            Ok(k) => Some(k.public_key().clone()),
            Err(russh::keys::Error::KeyIsEncrypted) => {
                fk.encrypted = true;
                None
            }
            Err(_) => None,
        }
    };
    fk.pub_mismatch =
        matches!((&from_private, &from_pub), (Some(a), Some(b)) if a.key_data() != b.key_data());
    // ssh 9.x loads the `.pub` first and offers that key; a mismatch shows only when it
    // then fails to sign with the private key.
    fk.public = from_pub.or(from_private);
    fk
}

/// Build the plan in OpenSSH's order.
pub fn build(settings: &HostSettings, agent: &AgentState) -> Vec<Identity> {
    let agent_keys = agent.keys();
    let mut plan: Vec<Identity> = Vec::new();

    // Certificates are listed with their key; the probe does not ask about them (a query
    // with the bare key would not say whether the server trusts the certificate's CA).
    for cert in &settings.certificate_files {
        let key = std::fs::read_to_string(cert)
            .ok()
            .and_then(|t| russh::keys::ssh_key::Certificate::from_openssh(t.trim()).ok())
            .map(|c| PublicKey::from(c.public_key().clone()));
        plan.push(Identity {
            path: Some(cert.clone()),
            agent_comment: None,
            skipped: key.is_none().then_some(SkipReason::Unreadable),
            key,
            source: Source::Certificate,
            in_agent: false,
            encrypted: false,
            mode: None,
            offered_order: None,
        });
    }

    // Files first, to learn which agent keys the config names.
    let mut files: Vec<(PathBuf, FileKey)> = Vec::new();
    for f in &settings.identity_files {
        if files.iter().any(|(p, _)| p == f) {
            continue;
        }
        let fk = inspect_file(f);
        // ssh skips missing default files silently.
        if !fk.exists && fk.public.is_none() && settings.identity_source == Source::Default {
            continue;
        }
        files.push((f.clone(), fk));
    }
    let in_agent = |k: &Option<PublicKey>| {
        k.as_ref().and_then(|k| {
            agent_keys
                .iter()
                .position(|a| a.key.key_data() == k.key_data())
        })
    };

    // Agent keys named in the config, in config order.
    let mut used_agent = vec![false; agent_keys.len()];
    let mut file_only = Vec::new();
    for (path, fk) in files {
        match in_agent(&fk.public) {
            Some(i) if !used_agent[i] => {
                used_agent[i] = true;
                let mut id = file_identity(settings, &path, fk, settings.identity_source, true);
                id.agent_comment = Some(agent_keys[i].comment.clone());
                plan.push(id);
            }
            _ => file_only.push((path, fk)),
        }
    }
    // Other agent keys, unless IdentitiesOnly.
    if !settings.identities_only {
        for (i, a) in agent_keys.iter().enumerate() {
            if used_agent[i] {
                continue;
            }
            let skipped = (!settings.accepts_algorithm(&a.key.algorithm()))
                .then_some(SkipReason::KeyTypeDisabled);
            plan.push(Identity {
                path: None,
                agent_comment: Some(a.comment.clone()),
                key: Some(a.key.clone()),
                source: Source::Agent,
                in_agent: true,
                encrypted: false,
                mode: None,
                skipped,
                offered_order: None,
            });
        }
    }
    for (path, fk) in file_only {
        plan.push(file_identity(
            settings,
            &path,
            fk,
            settings.identity_source,
            false,
        ));
    }

    let mut n = 0;
    for id in &mut plan {
        let offered = id.key.is_some() && id.skipped.is_none_or(SkipReason::still_offered);
        if offered {
            n += 1;
            id.offered_order = Some(n);
        }
    }
    plan
}

fn file_identity(
    settings: &HostSettings,
    path: &Path,
    fk: FileKey,
    source: Source,
    in_agent: bool,
) -> Identity {
    let skipped = if fk.public.is_none() {
        Some(if fk.exists || fk.encrypted {
            SkipReason::Unreadable
        } else {
            SkipReason::Missing
        })
    } else if fk
        .public
        .as_ref()
        .is_some_and(|k| !settings.accepts_algorithm(&k.algorithm()))
    {
        Some(SkipReason::KeyTypeDisabled)
    } else if in_agent {
        // The agent signs: file permissions and passphrases do not matter.
        None
    } else if !fk.exists {
        Some(SkipReason::Missing)
    } else if fk.unprotected {
        Some(SkipReason::UnprotectedPrivateKey)
    } else if fk.pub_mismatch {
        Some(SkipReason::PubMismatch)
    } else if fk.encrypted {
        Some(SkipReason::EncryptedNotInAgent)
    } else {
        None
    };
    Identity {
        path: Some(path.to_path_buf()),
        agent_comment: None,
        key: fk.public,
        source,
        in_agent,
        encrypted: fk.encrypted,
        mode: fk.mode,
        skipped,
        offered_order: None,
    }
}
