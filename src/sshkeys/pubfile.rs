//! Reading an OpenSSH public key from a `.pub` file or a pasted line, with errors that say
//! which line is wrong and why — and that catch the classic mistake of pointing at the
//! private key, before anything is sent anywhere.

use std::path::Path;

use russh::keys::ssh_key;

use super::paste::Pasted;
use crate::error::{Error, Result};

/// Parse one `TYPE BASE64 [COMMENT]` line (surrounding whitespace ignored).
pub fn parse_public_key_line(line: &str) -> Result<ssh_key::PublicKey> {
    parse_line(line).map_err(Error::failed)
}

/// Parse a public-key file as `keys add` reads it (see [`super::paste`]: authorized_keys
/// options, SSH2/PuTTY public keys, BOM, CRLF are accepted; private keys, certificates and
/// junk are refused before anything is sent anywhere), read with the public-key size limit.
/// Errors name the file (escaped for the terminal) and, for a bad line, its number.
pub fn read_public_key_file(path: &Path) -> Result<Pasted> {
    let shown = crate::ui::untrusted_path(path);
    let bytes = crate::fsutil::read_limited(path, crate::fsutil::FileKind::PublicKey)
        .map_err(|e| Error::failed(format!("cannot read {shown}: {e}")).with_code("file_error"))?;
    super::paste::normalise(&bytes, Some(path)).map_err(|why| {
        // "FILE line 3: ..." for a bad line, "FILE: ..." for the file as a whole.
        let message = match why.strip_prefix("line ") {
            Some(rest) => format!("{shown} line {rest}"),
            None => format!("{shown}: {why}"),
        };
        Error::failed(message).with_code("invalid_key")
    })
}

/// [`read_public_key_file`]'s key.
pub fn parse_public_key_file(path: &Path) -> Result<ssh_key::PublicKey> {
    read_public_key_file(path).map(|p| p.key)
}

fn parse_line(line: &str) -> std::result::Result<ssh_key::PublicKey, String> {
    let line = line.trim();
    if line.is_empty() {
        return Err("empty, no public key".to_string());
    }
    if line.starts_with("-----BEGIN") || line.starts_with("---- BEGIN") {
        return Err(super::paste::normalise(line.as_bytes(), None)
            .err()
            .unwrap_or_else(|| "not an OpenSSH public key".to_string()));
    }
    let mut fields = line.split_whitespace();
    let kind = fields.next().unwrap_or_default();
    if !KNOWN_TYPES.contains(&kind) {
        let shown: String = kind.chars().take(40).collect();
        return Err(format!(
            "not an OpenSSH public key (unknown key type `{shown}`; expected e.g. ssh-ed25519 \
             or ssh-rsa)"
        ));
    }
    let Some(blob) = fields.next() else {
        return Err(format!("`{kind}` is not followed by the base64 key data"));
    };
    match ssh_key::PublicKey::from_openssh(line) {
        Ok(key) => {
            if key.algorithm().as_str() != kind {
                return Err(format!(
                    "the line says `{kind}` but the key data is `{}`",
                    key.algorithm().as_str()
                ));
            }
            Ok(key)
        }
        Err(e) => Err(format!(
            "malformed `{kind}` key data ({}): {e}",
            describe_blob(blob)
        )),
    }
}

/// A hint at what is wrong with the base64 part without echoing it back.
pub(super) fn describe_blob(blob: &str) -> String {
    let bad = blob
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')));
    match bad {
        Some(c) => format!("invalid base64 character {c:?}"),
        None => format!("{} base64 characters", blob.len()),
    }
}

/// Public-key algorithms OpenSSH writes in `.pub` files (certificates included).
pub(super) const KNOWN_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ssh-dss",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa-cert-v01@openssh.com",
    "ssh-dss-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
];

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFMDl0oDk0bfWb+AeDpd4tjZl7yjvFo5rcRcpKgvSkO7 me@host";

    #[test]
    fn parses_a_line_with_comment() {
        let key = parse_public_key_line(ED).unwrap();
        assert_eq!(key.comment().as_str_lossy(), "me@host");
        assert_eq!(super::super::key_type_label(&key), "ssh-ed25519");
    }

    #[test]
    fn rejects_bad_lines_with_reasons() {
        let e = parse_public_key_line("").unwrap_err();
        assert!(e.message.contains("empty"), "{}", e.message);
        let e = parse_public_key_line("ssh-foo AAAA").unwrap_err();
        assert!(
            e.message.contains("unknown key type `ssh-foo`"),
            "{}",
            e.message
        );
        let e = parse_public_key_line("ssh-ed25519").unwrap_err();
        assert!(e.message.contains("not followed by"), "{}", e.message);
        let e = parse_public_key_line("ssh-ed25519 AAAA!bad").unwrap_err();
        assert!(
            e.message.contains("invalid base64 character '!'"),
            "{}",
            e.message
        );
        // The type word must match the blob inside.
        let lie = ED.replacen("ssh-ed25519", "ssh-rsa", 1);
        let e = parse_public_key_line(&lie).unwrap_err();
        assert!(
            e.message.contains("malformed") || e.message.contains("says"),
            "{}",
            e.message
        );
        let e = parse_public_key_line("-----BEGIN OPENSSH PRIVATE KEY-----").unwrap_err();
        assert!(e.message.contains("private key"), "{}", e.message);
    }

    #[test]
    fn file_errors_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pub");
        std::fs::write(&p, format!("# mine\n\n{ED}\n")).unwrap();
        assert!(parse_public_key_file(&p).is_ok());
        std::fs::write(&p, format!("{ED}\nnonsense here\n")).unwrap();
        let e = parse_public_key_file(&p).unwrap_err();
        assert!(e.message.ends_with("k.pub line 2: not an OpenSSH public key (unknown key type `nonsense`; expected e.g. ssh-ed25519 or ssh-rsa)"), "{}", e.message);
        assert_eq!(e.code(), "invalid_key");
        std::fs::write(&p, format!("{ED}\n{ED}\n")).unwrap();
        let e = parse_public_key_file(&p).unwrap_err();
        assert!(e.message.contains("line 2: a second key"), "{}", e.message);
        std::fs::write(&p, "\n  \n").unwrap();
        let e = parse_public_key_file(&p).unwrap_err();
        assert!(
            e.message.ends_with("k.pub: empty, no public key in it"),
            "{}",
            e.message
        );
        std::fs::write(
            &p,
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n",
        )
        .unwrap();
        let e = parse_public_key_file(&p).unwrap_err();
        assert!(e.message.contains("this is a private key"), "{}", e.message);
        std::fs::write(
            &p,
            "---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n---- END SSH2 PUBLIC KEY ----\n",
        )
        .unwrap();
        let e = parse_public_key_file(&p).unwrap_err();
        assert!(
            e.message.contains("malformed SSH2 public key body"),
            "{}",
            e.message
        );
        std::fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
        let e = parse_public_key_file(&p).unwrap_err();
        assert!(e.message.contains("UTF-16"), "{}", e.message);
        std::fs::write(&p, [b'a', 0xff, 0x00]).unwrap();
        let e = parse_public_key_file(&p).unwrap_err();
        assert!(e.message.contains("not a text file"), "{}", e.message);
        let e = parse_public_key_file(&dir.path().join("missing.pub")).unwrap_err();
        assert!(e.message.contains("cannot read"), "{}", e.message);
        assert_eq!(e.code(), "file_error");
    }
}
