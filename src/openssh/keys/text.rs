//! One-line public keys and certificates the way ssh reads them from a file
//! (authfile.c `sshkey_try_load_public` and sshkey.c `sshkey_read`), and PuTTY's `.ppk`
//! files, which ssh cannot read at all but whose header says what they hold.

use russh::keys::ssh_key::{Certificate, PublicKey};

use super::envelope::b64_pton;

/// A key line: a plain public key or a certificate.
#[derive(Debug, Clone)]
pub enum KeyLine {
    Key(PublicKey),
    Cert(Box<Certificate>),
}

impl KeyLine {
    /// The key itself (a certificate's certified key).
    pub fn public(&self) -> PublicKey {
        match self {
            KeyLine::Key(k) => k.clone(),
            KeyLine::Cert(c) => PublicKey::from(c.public_key().clone()),
        }
    }
}

/// `sshkey_try_load_public`: the first line of the file that is a key, skipping comments and
/// blank lines and stopping at a `-----BEGIN` line (a private key is not a public key file).
pub fn first_key_line(bytes: &[u8]) -> Option<KeyLine> {
    for raw in bytes.split_inclusive(|&b| b == b'\n') {
        match raw.first() {
            None | Some(b'#') | Some(b'\n') | Some(0) => continue,
            _ => {}
        }
        if raw.starts_with(b"-----BEGIN") || raw == b"SSH PRIVATE KEY FILE" {
            return None;
        }
        let line = trim_leading_blanks(raw);
        if line.is_empty() {
            continue;
        }
        if let Some(k) = read_key(line) {
            return Some(k);
        }
    }
    None
}

fn trim_leading_blanks(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|&c| c != b' ' && c != b'\t')
        .unwrap_or(b.len());
    &b[start..]
}

/// `sshkey_read`: `TYPE BASE64 [COMMENT]`, the blob's type matching TYPE.
pub fn read_key(line: &[u8]) -> Option<KeyLine> {
    let split = |b: &[u8]| {
        let n = b
            .iter()
            .position(|&c| c == b' ' || c == b'\t')
            .unwrap_or(b.len());
        (b[..n].to_vec(), b[n..].to_vec())
    };
    let (type_name, rest) = split(line);
    if rest.is_empty() {
        return None;
    }
    let type_name = String::from_utf8(type_name).ok()?;
    let (b64, _) = split(trim_leading_blanks(&rest));
    // A line ending is not whitespace to strcspn(" \t"): strip it the way the comment would be.
    let b64: Vec<u8> = b64
        .into_iter()
        .take_while(|&c| c != b'\r' && c != b'\n')
        .collect();
    let blob = b64_pton(&b64)?;
    if type_name.ends_with("-cert-v01@openssh.com") {
        let cert = Certificate::from_bytes(&blob).ok()?;
        return (cert.algorithm().to_certificate_type() == type_name)
            .then(|| KeyLine::Cert(Box::new(cert)));
    }
    let key = PublicKey::from_bytes(&blob).ok()?;
    (key.algorithm().as_str() == type_name).then_some(KeyLine::Key(key))
}

/// A PuTTY private key file's header.
#[derive(Debug, Clone)]
pub struct Ppk {
    /// 2 or 3 (`PuTTY-User-Key-File-N`).
    pub version: u32,
    pub encrypted: bool,
    /// From the `Public-Lines` (stored in clear).
    pub public: Option<PublicKey>,
}

/// Recognise a `.ppk` by content.
pub fn ppk(bytes: &[u8]) -> Option<Ppk> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.lines().next()?;
    let version = first
        .strip_prefix("PuTTY-User-Key-File-")?
        .split(':')
        .next()?
        .trim()
        .parse()
        .ok()?;
    let mut encrypted = false;
    let mut public = None;
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if let Some(v) = l.strip_prefix("Encryption:") {
            encrypted = v.trim() != "none";
        }
        if let Some(n) = l.strip_prefix("Public-Lines:") {
            let n: usize = n.trim().parse().unwrap_or(0);
            let b64: String = lines.by_ref().take(n).collect::<Vec<_>>().concat();
            public = b64_pton(b64.as_bytes()).and_then(|blob| PublicKey::from_bytes(&blob).ok());
        }
    }
    Some(Ppk {
        version,
        encrypted,
        public,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPVha/FG5e+weYz5kVUq2gP1JaT3K14EUxUSqdcc4v/6 c";

    #[test]
    fn key_lines_as_sshkey_read_takes_them() {
        assert!(matches!(read_key(ED.as_bytes()), Some(KeyLine::Key(_))));
        assert!(read_key(format!("{ED}\r\n").as_bytes()).is_some());
        // The type must match the blob.
        assert!(read_key(ED.replace("ssh-ed25519 ", "ssh-rsa ").as_bytes()).is_none());
        // A BOM makes the type unknown.
        assert!(read_key(format!("\u{feff}{ED}").as_bytes()).is_none());
        let file = format!("# comment\n\n  {ED}\n");
        assert!(first_key_line(file.as_bytes()).is_some());
        let private = format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{ED}\n");
        assert!(first_key_line(private.as_bytes()).is_none());
    }
}
