//! Reading an OpenSSH public key from a `.pub` file or a pasted line, with errors that say
//! which line is wrong and why — and that catch the classic mistake of pointing at the
//! private key, before anything is sent anywhere.

use std::path::Path;

use russh::keys::ssh_key;

use crate::error::{Error, Result};

/// Parse one `TYPE BASE64 [COMMENT]` line (surrounding whitespace ignored).
pub fn parse_public_key_line(line: &str) -> Result<ssh_key::PublicKey> {
    parse_line(line).map_err(Error::failed)
}

/// Parse a public-key file: exactly one key line; blank lines and `#` comments are allowed
/// around it. Private keys, other encodings (SSH2/RFC 4716, PEM) and junk are rejected with
/// the file name, the line number and the reason.
pub fn parse_public_key_file(path: &Path) -> Result<ssh_key::PublicKey> {
    let bytes = std::fs::read(path).map_err(|e| crate::error::io_error(path, "read", e))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::failed(format!("{}: not a text file", path.display())))?;
    if let Some(why) = foreign_format(text) {
        return Err(Error::failed(format!("{}: {why}", path.display())));
    }
    let mut found: Option<(usize, ssh_key::PublicKey)> = None;
    for (index, line) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let key = parse_line(trimmed)
            .map_err(|why| Error::failed(format!("{} line {number}: {why}", path.display())))?;
        if let Some((first, _)) = found {
            return Err(Error::failed(format!(
                "{} line {number}: a second key (the first is on line {first}); a public-key \
                 file holds one key",
                path.display()
            )));
        }
        found = Some((number, key));
    }
    found
        .map(|(_, key)| key)
        .ok_or_else(|| Error::failed(format!("{}: empty, no public key in it", path.display())))
}

/// Recognise whole-file formats that are not a one-line OpenSSH public key.
fn foreign_format(text: &str) -> Option<&'static str> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    if first.starts_with("-----BEGIN") && first.contains("PRIVATE KEY") {
        Some(
            "this is a private key, not a public key; use the matching .pub file \
             (or recreate it with `ssh-keygen -y -f PRIVATE_KEY`)",
        )
    } else if first.starts_with("---- BEGIN SSH2 PUBLIC KEY") {
        Some(
            "an SSH2 (RFC 4716) public key; convert it with `ssh-keygen -i -f FILE` \
             to the OpenSSH one-line form",
        )
    } else if first.starts_with("-----BEGIN") {
        Some(
            "a PEM file, not an OpenSSH public key; convert it with \
             `ssh-keygen -i -m PKCS8 -f FILE`",
        )
    } else {
        None
    }
}

fn parse_line(line: &str) -> std::result::Result<ssh_key::PublicKey, String> {
    let line = line.trim();
    if line.is_empty() {
        return Err("empty, no public key".to_string());
    }
    if line.starts_with("-----BEGIN") || line.starts_with("---- BEGIN") {
        return Err(foreign_format(line)
            .unwrap_or("not an OpenSSH public key")
            .to_string());
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
fn describe_blob(blob: &str) -> String {
    let bad = blob
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')));
    match bad {
        Some(c) => format!("invalid base64 character {c:?}"),
        None => format!("{} base64 characters", blob.len()),
    }
}

/// Public-key algorithms OpenSSH writes in `.pub` files (certificates included).
const KNOWN_TYPES: &[&str] = &[
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
        assert!(e.message.contains("ssh-keygen -i -f"), "{}", e.message);
        std::fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
        let e = parse_public_key_file(&p).unwrap_err();
        assert!(e.message.contains("not a text file"), "{}", e.message);
        let e = parse_public_key_file(&dir.path().join("missing.pub")).unwrap_err();
        assert!(e.message.contains("cannot read"), "{}", e.message);
    }
}
