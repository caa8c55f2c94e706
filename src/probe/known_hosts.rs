//! Our own known_hosts reader, because russh's matcher misses wildcards, negation, tab
//! separators and the `@cert-authority` / `@revoked` markers (RESEARCH.md), and a wrong
//! answer here is either a false "host key changed" alarm or a missed one.
//!
//! Format (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): `[@marker] hostpatterns keytype base64
//! [comment]`, fields separated by spaces or tabs. Host patterns are a comma list of names,
//! `[host]:port` for non-default ports, `*`/`?` wildcards and `!` negations; or one hashed
//! entry `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`.

use std::path::{Path, PathBuf};

use data_encoding::BASE64;
use hmac::{Hmac, Mac};
use russh::keys::ssh_key::certificate::CertType;
use russh::keys::ssh_key::{Certificate, PublicKey};
use sha1::Sha1;

/// A line's marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// `@cert-authority`: the key signs host certificates; not a host key itself.
    CertAuthority,
    /// `@revoked`: this key must never be accepted.
    Revoked,
}

#[derive(Debug, Clone)]
enum Hosts {
    Hashed { salt: Vec<u8>, hash: Vec<u8> },
    Patterns(Vec<String>),
}

/// One usable known_hosts line.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    /// 1-based line number, as ssh prints it ("Offending key in FILE:LINE").
    pub line_no: usize,
    /// The line as written (for the "changed" warning).
    pub line: String,
    pub marker: Option<Marker>,
    hosts: Hosts,
    pub key: PublicKey,
}

/// What known_hosts says about the key a server presented.
#[derive(Debug, Clone)]
pub enum Status {
    /// A line for this host holds exactly this key.
    Known(Box<Entry>),
    /// Lines for this host hold a different key of the same type: possible man in the middle.
    Changed(Box<Entry>),
    /// This key is marked `@revoked`.
    Revoked(Box<Entry>),
    /// No line for this host at all (of any key type).
    Unknown,
}

/// The set of known_hosts files for one check (user files first, then global ones).
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    pub entries: Vec<Entry>,
}

impl KnownHosts {
    /// Read every file that exists; unreadable or missing files contribute nothing (ssh
    /// ignores them too), malformed lines are skipped.
    pub fn load(paths: &[PathBuf]) -> Self {
        let mut entries = Vec::new();
        for p in paths {
            if let Ok(text) =
                crate::fsutil::read_limited_text(p, crate::fsutil::FileKind::KnownHosts)
            {
                entries.extend(parse(&text, p));
            }
        }
        KnownHosts { entries }
    }

    /// Look up `key` under `name` (see [`lookup_name`], or the `HostKeyAlias`).
    pub fn check(&self, name: &str, key: &PublicKey) -> Status {
        let name = name.to_ascii_lowercase();
        // A revoked key is refused wherever its line is (ssh checks revocation first).
        if let Some(e) = self.entries.iter().find(|e| {
            e.marker == Some(Marker::Revoked)
                && e.key.key_data() == key.key_data()
                && e.matches(&name)
        }) {
            return Status::Revoked(Box::new(e.clone()));
        }
        // ssh (hostfile.c, check_hostkeys_by_key_or_type) calls any other key recorded for
        // the host a change, whatever its type: a server that dropped the ECDSA key a
        // known_hosts line holds gets "REMOTE HOST IDENTIFICATION HAS CHANGED", not a prompt.
        // It names the last such line ("Offending ... key in FILE:LINE").
        let mut changed = None;
        for e in self.entries.iter().filter(|e| e.matches(&name)) {
            if e.marker.is_some() {
                continue;
            }
            if e.key.key_data() == key.key_data() {
                return Status::Known(Box::new(e.clone()));
            }
            changed = Some(e);
        }
        match changed {
            Some(e) => Status::Changed(Box::new(e.clone())),
            None => Status::Unknown,
        }
    }

    /// The host key types recorded for this host, in file order: the probe asks the server
    /// for these first, otherwise it negotiates ed25519 while the file holds only an RSA line.
    pub fn key_types_for(&self, name: &str) -> Vec<String> {
        let name = name.to_ascii_lowercase();
        let mut out: Vec<String> = Vec::new();
        for e in &self.entries {
            if e.marker.is_none() && e.matches(&name) {
                let t = e.key.algorithm().to_string();
                if !out.contains(&t) {
                    out.push(t);
                }
            }
        }
        out
    }
}

/// The names ssh looks a host key up under (sshconnect.c `check_host_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// `HostKeyAlias`, else `host` or `[host]:port` (see [`lookup_name`]).
    pub name: String,
    /// For a port other than 22 and no `HostKeyAlias`: plain `host`. When nothing is recorded
    /// under `name`, ssh takes this very key recorded under the port-less name ("found
    /// matching key w/out port"); anything else there changes nothing.
    pub without_port: Option<String>,
    /// The name a host certificate must list as a principal: `HostKeyAlias`, else the host
    /// name in lower case.
    pub cert_name: String,
    /// CASignatureAlgorithms: what a host certificate's CA may have signed with.
    pub ca_signature_algorithms: Vec<String>,
}

/// The key a server proved it holds, and the certificate it presented for it, if any.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub key: &'a PublicKey,
    pub certificate: Option<&'a Certificate>,
}

/// A host key check's answer, and why ssh set the server's certificate aside when it did
/// (its own words, which it prints before looking the plain key up).
#[derive(Debug, Clone)]
pub struct Checked {
    pub status: Status,
    pub certificate_refused: Option<String>,
}

impl KnownHosts {
    /// The server's host key as ssh checks it (sshconnect.c `check_host_key`). A certificate
    /// is accepted when an `@cert-authority` line for the host holds its CA key and the
    /// certificate is valid for the host (then the status is `Known` with that line); a CA
    /// key or certified key marked `@revoked` ends it there; otherwise ssh drops the
    /// certificate and looks the plain key up as usual. Each look under the name is followed,
    /// when nothing is recorded there, by one under the port-less name.
    pub fn check_presented(&self, lookup: &Lookup, presented: Presented, now: u64) -> Checked {
        let mut certificate_refused = None;
        if let Some(cert) = presented.certificate {
            let names = std::iter::once(&lookup.name).chain(&lookup.without_port);
            for (pass, name) in names.enumerate() {
                match self.certificate_authority(name, presented.key, cert) {
                    // Under the port-less name a revoked key only ends that second look.
                    CaLookup::Revoked(e) if pass == 0 => {
                        return Checked {
                            status: Status::Revoked(e),
                            certificate_refused: None,
                        };
                    }
                    CaLookup::Revoked(_) => break,
                    CaLookup::Found(e) => {
                        match host_certificate_refusal(cert, lookup, now) {
                            None => {
                                return Checked {
                                    status: Status::Known(e),
                                    certificate_refused: None,
                                };
                            }
                            Some(why) => certificate_refused = Some(why),
                        }
                        break;
                    }
                    CaLookup::None => {}
                }
            }
        }
        Checked {
            status: self.check_lookup(lookup, presented.key),
            certificate_refused,
        }
    }

    /// hostfile.c `check_hostkeys_by_key_or_type` for a certificate: an `@cert-authority`
    /// line for `name` holding the CA key, unless the CA key or the certified key is
    /// `@revoked` (`check_key_not_revoked`).
    fn certificate_authority(&self, name: &str, key: &PublicKey, cert: &Certificate) -> CaLookup {
        let name = name.to_ascii_lowercase();
        let ca = cert.signature_key();
        let mut found = None;
        for e in self.entries.iter().filter(|e| e.matches(&name)) {
            match e.marker {
                Some(Marker::Revoked)
                    if e.key.key_data() == key.key_data() || e.key.key_data() == ca =>
                {
                    return CaLookup::Revoked(Box::new(e.clone()));
                }
                Some(Marker::CertAuthority) if found.is_none() && e.key.key_data() == ca => {
                    found = Some(e);
                }
                _ => {}
            }
        }
        match found {
            Some(e) => CaLookup::Found(Box::new(e.clone())),
            None => CaLookup::None,
        }
    }
    /// [`KnownHosts::check`] the way ssh checks a connection: under the name, then, when
    /// nothing is recorded there, the same key under the port-less name.
    pub fn check_lookup(&self, lookup: &Lookup, key: &PublicKey) -> Status {
        match (self.check(&lookup.name, key), &lookup.without_port) {
            (Status::Unknown, Some(plain)) => match self.check(plain, key) {
                known @ Status::Known(_) => known,
                _ => Status::Unknown,
            },
            (status, _) => status,
        }
    }
}

enum CaLookup {
    Found(Box<Entry>),
    Revoked(Box<Entry>),
    None,
}

/// Why ssh refuses a host certificate whose CA it trusts, in its words (sshkey.c
/// `sshkey_cert_check_host`, checked in this order), or None when it takes it. The CA's
/// signature itself is checked too: a certificate that does not verify is nobody's.
fn host_certificate_refusal(cert: &Certificate, lookup: &Lookup, now: u64) -> Option<String> {
    let why = if cert.cert_type() != CertType::Host {
        "Certificate invalid: not a host certificate"
    } else if now < cert.valid_after() {
        "Certificate invalid: not yet valid"
    } else if now >= cert.valid_before() {
        "Certificate invalid: expired"
    } else if !cert.valid_principals().is_empty()
        && !cert.valid_principals().contains(&lookup.cert_name)
    {
        "Certificate invalid: name is not a listed principal"
    } else if !cert.critical_options().is_empty() {
        "Certificate contains unsupported critical options"
    } else if !lookup.ca_signature_algorithms.is_empty()
        && !lookup
            .ca_signature_algorithms
            .contains(&cert.signature().algorithm().to_string())
    {
        "Certificate signed with disallowed algorithm"
    } else if cert.verify_signature().is_err() {
        "the certificate's CA signature does not verify"
    } else {
        return None;
    };
    Some(why.to_string())
}

/// The name ssh looks up: `host`, or `[host]:port` for a port other than 22.
pub fn lookup_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_ascii_lowercase()
    } else {
        format!("[{}]:{port}", host.to_ascii_lowercase())
    }
}

/// Parse known_hosts text; lines that are blank, comments or malformed are skipped.
pub fn parse(text: &str, path: &Path) -> Vec<Entry> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| parse_line(line, path, i + 1))
        .collect()
}

fn parse_line(line: &str, path: &Path, line_no: usize) -> Option<Entry> {
    let trimmed = line.trim_start_matches([' ', '\t']);
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return None;
    }
    let mut fields = trimmed.split([' ', '\t']).filter(|f| !f.is_empty());
    let mut first = fields.next()?;
    let marker = match first {
        "@cert-authority" => Some(Marker::CertAuthority),
        "@revoked" => Some(Marker::Revoked),
        m if m.starts_with('@') => return None,
        _ => None,
    };
    if marker.is_some() {
        first = fields.next()?;
    }
    let hosts = parse_hosts(first)?;
    let key_type = fields.next()?;
    let blob = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{key_type} {blob}")).ok()?;
    Some(Entry {
        path: path.to_path_buf(),
        line_no,
        line: line.to_string(),
        marker,
        hosts,
        key,
    })
}

fn parse_hosts(field: &str) -> Option<Hosts> {
    if let Some(rest) = field.strip_prefix("|1|") {
        let (salt, hash) = rest.split_once('|')?;
        let salt = BASE64.decode(salt.as_bytes()).ok()?;
        let hash = BASE64.decode(hash.as_bytes()).ok()?;
        return Some(Hosts::Hashed { salt, hash });
    }
    if field.starts_with('|') {
        return None;
    }
    Some(Hosts::Patterns(
        field.split(',').map(|p| p.to_ascii_lowercase()).collect(),
    ))
}

impl Entry {
    /// Does this line apply to `name` (already in lookup form)? A matching negated pattern
    /// excludes the host even when a positive pattern also matches (match_hostlist in ssh).
    pub fn matches(&self, name: &str) -> bool {
        match &self.hosts {
            Hosts::Hashed { salt, hash } => hmac_sha1(salt, name.as_bytes())
                .map(|h| h == *hash)
                .unwrap_or(false),
            Hosts::Patterns(patterns) => {
                let mut positive = false;
                for p in patterns {
                    if let Some(neg) = p.strip_prefix('!') {
                        if wildcard_match(neg, name) {
                            return false;
                        }
                    } else if wildcard_match(p, name) {
                        positive = true;
                    }
                }
                positive
            }
        }
    }

    /// SHA256 fingerprint of the recorded key.
    pub fn fingerprint(&self) -> String {
        crate::sshkeys::fingerprint_sha256(&self.key)
    }
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Option<Vec<u8>> {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key).ok()?;
    mac.update(msg);
    Some(mac.finalize().into_bytes().to_vec())
}

/// `*` any run of characters, `?` one character; everything else literal. known_hosts host
/// patterns use OpenSSH's `match_pattern`, the same matcher as ssh_config's `Host` lines.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    crate::sshconfig::pattern::matches(text, pattern)
}

/// The line to append for a newly accepted key, hashed when `HashKnownHosts yes`.
pub fn format_line(name: &str, key: &PublicKey, hash: bool) -> String {
    let name = name.to_ascii_lowercase();
    let hosts = if hash {
        let salt: [u8; 20] = rand::random();
        match hmac_sha1(&salt, name.as_bytes()) {
            Some(h) => format!("|1|{}|{}", BASE64.encode(&salt), BASE64.encode(&h)),
            None => name,
        }
    } else {
        name
    };
    let mut key = key.clone();
    key.set_comment("");
    let text = key
        .to_openssh()
        .unwrap_or_else(|_| key.algorithm().to_string());
    format!("{hosts} {}", text.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJiHUBp+nF747F4ASZmTUZRJqZ9wlTgDKyOnS/e4NKOI";
    const ED2: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIL3TBtkoC7Pxkxq9yunGjYJ08p/VfOlzAdVSURYLhTHu";

    fn key(b64: &str) -> PublicKey {
        PublicKey::from_openssh(&format!("ssh-ed25519 {b64}")).unwrap()
    }

    fn kh(text: &str) -> KnownHosts {
        KnownHosts {
            entries: parse(text, Path::new("/kh")),
        }
    }

    fn is_known(s: Status) -> bool {
        matches!(s, Status::Known(_))
    }

    #[test]
    fn plain_comma_lists_ports_and_tabs() {
        let k = kh(&format!(
            "# comment\n\nalpha,beta.example ssh-ed25519 {ED}\n[gamma]:2222\tssh-ed25519\t{ED} c\n"
        ));
        assert!(is_known(
            k.check(&lookup_name("beta.example", 22), &key(ED))
        ));
        assert!(is_known(k.check(&lookup_name("ALPHA", 22), &key(ED))));
        assert!(is_known(k.check(&lookup_name("gamma", 2222), &key(ED))));
        assert!(matches!(
            k.check(&lookup_name("gamma", 22), &key(ED)),
            Status::Unknown
        ));
        assert_eq!(k.entries[1].line_no, 4);
    }

    #[test]
    fn a_line_without_the_port_serves_only_for_the_same_key() {
        let look = |alias: bool| Lookup {
            name: lookup_name("h", 2222),
            without_port: (!alias).then(|| lookup_name("h", 22)),
            cert_name: "h".into(),
            ca_signature_algorithms: Vec::new(),
        };
        let k = kh(&format!("h ssh-ed25519 {ED}\n"));
        assert!(is_known(k.check_lookup(&look(false), &key(ED))));
        // Another key under the plain name is not a change for [h]:2222: nothing is known.
        assert!(matches!(
            k.check_lookup(&look(false), &key(ED2)),
            Status::Unknown
        ));
        // HostKeyAlias: no second look.
        assert!(matches!(
            k.check_lookup(&look(true), &key(ED)),
            Status::Unknown
        ));
        // Anything recorded under [h]:2222 decides alone.
        let k = kh(&format!("[h]:2222 ssh-ed25519 {ED2}\nh ssh-ed25519 {ED}\n"));
        assert!(matches!(
            k.check_lookup(&look(false), &key(ED)),
            Status::Changed(_)
        ));
    }

    #[test]
    fn wildcards_and_negation() {
        let k = kh(&format!(
            "*.example.com,!bad.example.com ssh-ed25519 {ED}\n"
        ));
        assert!(is_known(
            k.check(&lookup_name("a.example.com", 22), &key(ED))
        ));
        assert!(matches!(
            k.check(&lookup_name("bad.example.com", 22), &key(ED)),
            Status::Unknown
        ));
        assert!(wildcard_match("h?st*", "host-1"));
        assert!(!wildcard_match("h?st", "hoost"));
        assert!(wildcard_match("[127.0.0.1]:*", "[127.0.0.1]:2200"));
    }

    #[test]
    fn hashed_entries_match_and_round_trip() {
        let line = format_line(&lookup_name("example.org", 2200), &key(ED), true);
        assert!(line.starts_with("|1|"));
        let k = kh(&line);
        assert!(is_known(
            k.check(&lookup_name("example.org", 2200), &key(ED))
        ));
        assert!(matches!(
            k.check(&lookup_name("example.org", 22), &key(ED)),
            Status::Unknown
        ));
        assert_eq!(
            format_line(&lookup_name("example.org", 22), &key(ED), false),
            format!("example.org ssh-ed25519 {ED}")
        );
    }

    /// A public ECDSA P-256 key (the known_hosts line of a type the server no longer serves).
    const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBPiHYxS+9DEuEw3MtjZbivRyJZBwRbTg5oPelMfYw+RVW+RdYmGnhLhlGV+Y/sCumW5kJ10UlVrtFd9qFAifbOk=";

    #[test]
    fn changed_revoked_and_markers() {
        let k = kh(&format!("host ssh-ed25519 {ED}\n"));
        match k.check(&lookup_name("host", 22), &key(ED2)) {
            Status::Changed(e) => assert_eq!(e.line_no, 1),
            other => panic!("{other:?}"),
        }
        // Any other key for the host is a change, whatever its type, and ssh names the last
        // such line; a line with this very key, wherever it is, makes it known.
        let k = kh(&format!(
            "host {ECDSA}\nhost ssh-ed25519 {ED2}\nother ssh-ed25519 {ED}\n"
        ));
        match k.check(&lookup_name("host", 22), &key(ED)) {
            Status::Changed(e) => assert_eq!(e.line_no, 2),
            other => panic!("{other:?}"),
        }
        let k = kh(&format!("host {ECDSA}\nhost ssh-ed25519 {ED}\n"));
        assert!(is_known(k.check(&lookup_name("host", 22), &key(ED))));
        let k = kh(&format!("host {ECDSA}\n"));
        assert!(matches!(
            k.check(&lookup_name("host", 22), &key(ED)),
            Status::Changed(_)
        ));
        let k = kh(&format!(
            "host ssh-ed25519 {ED2}\n@revoked * ssh-ed25519 {ED2}\n@cert-authority host ssh-ed25519 {ED}\n"
        ));
        assert!(matches!(
            k.check(&lookup_name("host", 22), &key(ED2)),
            Status::Revoked(_)
        ));
        // A CA key is not a host key: presenting it is neither known nor changed.
        let k = kh(&format!("@cert-authority host ssh-ed25519 {ED}\n"));
        assert!(matches!(
            k.check(&lookup_name("host", 22), &key(ED)),
            Status::Unknown
        ));
        assert!(k.key_types_for(&lookup_name("host", 22)).is_empty());
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let k = kh(&format!(
            "|1|notbase64|x ssh-ed25519 {ED}\nhost ssh-ed25519 !!!\n@bogus host ssh-ed25519 {ED}\nonlyhost\n"
        ));
        assert!(k.entries.is_empty());
    }

    /// Junk never panics the parser: every prefix of tricky lines, with bytes flipped.
    #[test]
    fn junk_lines_never_panic() {
        let seeds = [
            format!("|1|{}|{} ssh-ed25519 {ED}", "QUJD", "REVG"),
            format!("@revoked [h]:22,!*,?? ssh-ed25519 {ED} c"),
            format!("\t@cert-authority\t*\tssh-ed25519\t{ED}"),
            "|1|||".to_string(),
            "@".to_string(),
        ];
        let mut state: u32 = 7;
        for seed in &seeds {
            let bytes = seed.as_bytes();
            for cut in 0..=bytes.len() {
                let mut b = bytes[..cut].to_vec();
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if let Some(x) = b.get_mut(state as usize % (cut + 1)) {
                    *x ^= (state >> 16) as u8;
                }
                let text = String::from_utf8_lossy(&b);
                let k = kh(&text);
                let _ = k.check(&lookup_name("h", 22), &key(ED));
                let _ = k.key_types_for("h");
            }
        }
    }
}
