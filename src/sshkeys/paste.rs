//! What people paste or point `keys add` at, normalised to the one-line OpenSSH public key the
//! Platform API takes — or refused with the command that produces the right thing.
//!
//! Accepted, besides a plain `TYPE BASE64 [COMMENT]` line:
//! - a UTF-8 byte-order mark, CRLF line ends, trailing blanks, tabs or several spaces between
//!   the fields, blank lines and `#` comment lines around the key (editors and clipboards);
//! - an `authorized_keys` line with options (`from="10.0.0.1",no-pty ssh-ed25519 AAAA...`):
//!   the options are parsed as sshd parses them (commas between options, double quotes with
//!   `\"` inside) and dropped, with a note saying so: Heroku stores keys, not options;
//! - an RFC 4716 "SSH2" public key — the format PuTTYgen and ssh.com tools save — converted as
//!   `ssh-keygen -i -f FILE` converts it: header lines (`Tag: value`, continued by a trailing
//!   backslash) skipped, the base64 body lines joined. Its `Comment:` header becomes the key's
//!   comment (ssh-keygen drops it; on the account it is what `herossh keys` shows).
//!
//! Refused with what to do instead: private keys (OpenSSH, PEM, PuTTY `.ppk`, SSH2), PEM
//! public keys, certificates (naming the key they certify), more than one key, and anything
//! that does not decode. Nothing here touches the network or the file system.

use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{self, Algorithm, Certificate, PublicKey};

use super::pubfile::{KNOWN_TYPES, describe_blob};
use crate::ui::{untrusted, untrusted_path};

/// A key ready to upload.
#[derive(Debug, Clone)]
pub struct Pasted {
    /// The key, with its comment.
    pub key: PublicKey,
    /// What was changed on the way, in words (options dropped, format converted).
    pub notes: Vec<String>,
}

/// Normalise `bytes` (a file's contents or pasted text). `origin` is the file it came from,
/// used to name the files the hints talk about; errors do not repeat it (callers prefix it).
pub fn normalise(bytes: &[u8], origin: Option<&Path>) -> Result<Pasted, String> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    if bytes.starts_with(b"\xff\xfe") || bytes.starts_with(b"\xfe\xff") {
        return Err("UTF-16 text: save the key as UTF-8 (or plain ASCII) and try again".into());
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "not a text file".to_string())?;
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end()).collect();
    let Some((first_at, first)) = lines
        .iter()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i, l.trim_start()))
    else {
        return Err("empty, no public key in it".into());
    };
    let file = origin.map(untrusted_path);
    let file = file.as_deref().unwrap_or("FILE");
    if first.starts_with("PuTTY-User-Key-File-") {
        let ppk = origin.map_or_else(|| PathBuf::from("KEY.ppk"), Path::to_path_buf);
        return Err(format!(
            "a PuTTY private key (.ppk), not a public key; export its public half in OpenSSH \
             form and upload that: puttygen {} -O public-openssh -o {}",
            untrusted_path(&ppk),
            untrusted_path(&ppk.with_extension("pub"))
        ));
    }
    if first.starts_with("---- BEGIN SSH2 PUBLIC KEY") {
        return rfc4716(&lines[first_at..]);
    }
    if first.starts_with("---- BEGIN SSH2 ENCRYPTED PRIVATE KEY") {
        return Err(format!(
            "an SSH2 (ssh.com) private key, not a public key; convert it with \
             `ssh-keygen -i -f {file}` and upload the public key of the result"
        ));
    }
    if let Some(why) = pem(first, file) {
        return Err(why);
    }
    let mut found: Option<(usize, Pasted)> = None;
    for (index, line) in lines.iter().enumerate() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let pasted = key_line(line, origin).map_err(|why| format!("line {number}: {why}"))?;
        if let Some((first, _)) = found {
            return Err(format!(
                "line {number}: a second key (the first is on line {first}); upload one key \
                 at a time"
            ));
        }
        found = Some((number, pasted));
    }
    found
        .map(|(_, p)| p)
        .ok_or_else(|| "empty, no public key in it".into())
}

/// PEM files: private keys and public keys in the wrong encoding.
fn pem(first: &str, file: &str) -> Option<String> {
    if !first.starts_with("-----BEGIN") {
        return None;
    }
    Some(if first.contains("PRIVATE KEY") {
        "this is a private key, not a public key; use the matching .pub file (or recreate it \
         with `ssh-keygen -y -f PRIVATE_KEY`)"
            .to_string()
    } else if first.contains("RSA PUBLIC KEY") {
        format!(
            "a PEM (PKCS#1) public key, not an OpenSSH one; convert it with \
             `ssh-keygen -i -m PEM -f {file}`"
        )
    } else {
        format!(
            "a PEM file, not an OpenSSH public key; convert it with \
             `ssh-keygen -i -m PKCS8 -f {file}`"
        )
    })
}

/// One OpenSSH line: `TYPE BASE64 [COMMENT]`, or the same behind authorized_keys options.
fn key_line(line: &str, origin: Option<&Path>) -> Result<Pasted, String> {
    let first = line.split_ascii_whitespace().next().unwrap_or_default();
    if KNOWN_TYPES.contains(&first) || first.starts_with("-----BEGIN") {
        return plain_line(line, origin).map(|key| Pasted { key, notes: vec![] });
    }
    // Not a key type: maybe authorized_keys options in front of one.
    if let Some((options, rest)) = split_options(line) {
        let kind = rest.split_ascii_whitespace().next().unwrap_or_default();
        if KNOWN_TYPES.contains(&kind) {
            let key = plain_line(rest, origin)?;
            return Ok(Pasted {
                key,
                notes: vec![format!(
                    "the authorized_keys options `{}` were dropped: Heroku stores the key only",
                    untrusted(options)
                )],
            });
        }
    }
    let shown: String = first.chars().take(40).collect();
    Err(format!(
        "not an OpenSSH public key (unknown key type `{}`; expected e.g. ssh-ed25519 or \
         ssh-rsa)",
        untrusted(&shown)
    ))
}

/// sshd's option syntax (auth-options.c): options run to the first blank outside double
/// quotes; a quote may contain `\"`. None when the line ends inside the options or a quote.
fn split_options(line: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => {
                let rest = line[i..].trim_start();
                return (!rest.is_empty()).then_some((&line[..i], rest));
            }
            _ => {}
        }
    }
    None
}

/// `TYPE BASE64 [COMMENT]` with any blanks between the fields.
fn plain_line(line: &str, origin: Option<&Path>) -> Result<PublicKey, String> {
    let line = line.trim();
    if line.starts_with("-----BEGIN") {
        return Err(pem(line, "FILE").unwrap_or_default());
    }
    let (kind, rest) = split_field(line);
    if !KNOWN_TYPES.contains(&kind) {
        let shown: String = kind.chars().take(40).collect();
        return Err(format!(
            "not an OpenSSH public key (unknown key type `{}`; expected e.g. ssh-ed25519 or \
             ssh-rsa)",
            untrusted(&shown)
        ));
    }
    let (blob, comment) = split_field(rest);
    if blob.is_empty() {
        return Err(format!("`{kind}` is not followed by the base64 key data"));
    }
    // The decoder's errors quote what it read (a key type label): escaped like the rest.
    let malformed = |e: &dyn std::fmt::Display| {
        format!(
            "malformed `{kind}` key data ({}): {}",
            untrusted(&describe_blob(blob)),
            untrusted(&e.to_string())
        )
    };
    // Not base64 at all: what is wrong with it says enough.
    let bytes = data_encoding::BASE64.decode(blob.as_bytes()).map_err(|_| {
        format!(
            "malformed `{kind}` key data ({})",
            untrusted(&describe_blob(blob))
        )
    })?;
    if kind.ends_with("-cert-v01@openssh.com") {
        return Err(certificate(&bytes, origin).unwrap_or_else(|e| malformed(&e)));
    }
    let mut key = PublicKey::from_bytes(&bytes).map_err(|e| malformed(&e))?;
    if key.algorithm().as_str() != kind {
        return Err(format!(
            "the line says `{kind}` but the key data is `{}`",
            key.algorithm().as_str()
        ));
    }
    key.set_comment(comment);
    Ok(key)
}

/// The first whitespace-separated field and the rest (leading blanks removed).
fn split_field(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find([' ', '\t']) {
        Some(i) => (&s[..i], s[i..].trim_start()),
        None => (s, ""),
    }
}

/// Why a certificate is not uploaded, naming the key it certifies.
fn certificate(bytes: &[u8], origin: Option<&Path>) -> Result<String, ssh_key::Error> {
    let cert = Certificate::from_bytes(bytes)?;
    let key = PublicKey::from(cert.public_key().clone());
    let fingerprint = super::fingerprint_sha256(&key);
    // ssh-keygen -s writes KEY-cert.pub next to KEY.pub.
    let plain = origin.and_then(|p| {
        let name = p.file_name()?.to_str()?;
        let stem = name.strip_suffix("-cert.pub")?;
        Some(p.with_file_name(format!("{stem}.pub")))
    });
    let upload = match plain {
        Some(p) => format!("herossh keys add {}", untrusted_path(&p)),
        None => "herossh keys add KEY.pub (the public key the certificate was made for)".into(),
    };
    Ok(format!(
        "an OpenSSH certificate, not a key: Heroku stores plain public keys. Upload the key it \
         certifies ({fingerprint}) instead: {upload}"
    ))
}

/// RFC 4716: `---- BEGIN SSH2 PUBLIC KEY ----`, headers, base64 body, `---- END ...`.
fn rfc4716(lines: &[&str]) -> Result<Pasted, String> {
    let mut body = String::new();
    let mut comment: Option<String> = None;
    let mut continued: Option<String> = None;
    let mut in_headers = true;
    let mut end_at = None;
    for (i, raw) in lines.iter().enumerate().skip(1) {
        let line = raw.trim();
        if let Some(mut header) = continued.take() {
            // A header continued from the line before (which ended in `\`).
            header.push_str(line);
            finish_header(header, &mut continued, &mut comment);
            continue;
        }
        if line.starts_with("---- END SSH2 PUBLIC KEY") {
            end_at = Some(i);
            break;
        }
        if line.starts_with("----") {
            return Err(format!(
                "unexpected line in the SSH2 public key: {}",
                untrusted(line)
            ));
        }
        if in_headers && line.contains(':') {
            finish_header(line.to_string(), &mut continued, &mut comment);
            continue;
        }
        in_headers = false;
        body.push_str(line);
    }
    let Some(end_at) = end_at else {
        return Err("an SSH2 public key without its `---- END SSH2 PUBLIC KEY ----` line".into());
    };
    if lines[end_at + 1..].iter().any(|l| !l.trim().is_empty()) {
        return Err(
            "text after the `---- END SSH2 PUBLIC KEY ----` line; upload one key at a time".into(),
        );
    }
    let bytes = data_encoding::BASE64
        .decode(body.as_bytes())
        .map_err(|e| format!("malformed SSH2 public key body: {e}"))?;
    let mut key = PublicKey::from_bytes(&bytes).map_err(|e| {
        format!(
            "malformed SSH2 public key body: {}",
            untrusted(&e.to_string())
        )
    })?;
    // ssh_key decodes any algorithm name as an opaque key: only the ones OpenSSH writes count.
    let algorithm = key.algorithm();
    if !KNOWN_TYPES.contains(&algorithm.as_str()) {
        return Err(format!(
            "the SSH2 public key holds an unknown key type `{}`",
            untrusted(algorithm.as_str())
        ));
    }
    let mut note = "converted from the SSH2 (RFC 4716) format, as `ssh-keygen -i` does".to_string();
    // Trimmed: an OpenSSH line cannot carry blanks around its comment.
    let comment = comment.map(|c| c.trim().to_string());
    if let Some(c) = comment.filter(|c| !c.is_empty() && !c.chars().any(char::is_control)) {
        note.push_str(&format!("; its Comment header {c:?} is the key's comment"));
        key.set_comment(c);
    }
    Ok(Pasted {
        key,
        notes: vec![note],
    })
}

/// A complete header line, or the start of one that continues (trailing `\`).
fn finish_header(header: String, continued: &mut Option<String>, comment: &mut Option<String>) {
    if let Some(open) = header.strip_suffix('\\') {
        *continued = Some(open.to_string());
        return;
    }
    let Some((tag, value)) = header.split_once(':') else {
        return;
    };
    if tag.trim().eq_ignore_ascii_case("Comment") {
        let v = value.trim();
        *comment = Some(
            match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                // A quoted value escapes `"` and `\` with a backslash (PuTTYgen writes them so).
                Some(quoted) => {
                    let mut out = String::new();
                    let mut chars = quoted.chars();
                    while let Some(c) = chars.next() {
                        out.push(if c == '\\' {
                            chars.next().unwrap_or(c)
                        } else {
                            c
                        });
                    }
                    out
                }
                None => v.to_string(),
            },
        );
    }
}

/// The warning keygen prints for a key type, also given when such a key is uploaded: keys
/// that will be accepted but then not work where people expect them to.
pub fn type_warning(algorithm: &Algorithm) -> Option<&'static str> {
    match algorithm {
        Algorithm::Dsa => Some(
            "DSA: OpenSSH 7.0+ clients do not offer ssh-dss keys by default and OpenSSH 10 \
             removed DSA; GitHub rejects DSA. Prefer -t ed25519 or -t rsa.",
        ),
        Algorithm::Ecdsa { .. } => Some(
            "ECDSA: Heroku does not accept ECDSA keys. Prefer -t ed25519 or -t rsa for Heroku.",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFMDl0oDk0bfWb+AeDpd4tjZl7yjvFo5rcRcpKgvSkO7 me@host";
    const BLOB: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIFMDl0oDk0bfWb+AeDpd4tjZl7yjvFo5rcRcpKgvSkO7";

    fn line_of(p: &Pasted) -> String {
        p.key.to_openssh().unwrap()
    }

    #[test]
    fn odd_whitespace_bom_and_crlf() {
        for text in [
            format!("{ED}\n"),
            format!("\u{feff}{ED}\r\n"),
            format!("  {ED}   \t\r\n\r\n"),
            format!("# my key\n\nssh-ed25519\t{BLOB}   me@host\n"),
        ] {
            let p = normalise(text.as_bytes(), None).unwrap();
            assert_eq!(line_of(&p), ED, "{text:?}");
            assert!(p.notes.is_empty());
        }
    }

    #[test]
    fn authorized_keys_options_are_dropped_with_a_note() {
        let text = format!(r#"from="10.0.0.1,::1",command="echo \"hi there\"",no-pty {ED}"#);
        let p = normalise(text.as_bytes(), None).unwrap();
        assert_eq!(line_of(&p), ED);
        assert_eq!(
            p.notes,
            [
                r#"the authorized_keys options `from="10.0.0.1,::1",command="echo \"hi there\"",no-pty` were dropped: Heroku stores the key only"#
            ]
        );
        let e = normalise(b"no-pty,from=\"x y\"", None).unwrap_err();
        assert!(e.contains("unknown key type"), "{e}");
    }

    #[test]
    fn rfc4716_with_continued_headers() {
        let text = format!(
            "---- BEGIN SSH2 PUBLIC KEY ----\r\nComment: \"rsa-key-2024 \\\r\nwith more\"\r\n\
             x-Private: yes\r\n{}\r\n{}\r\n---- END SSH2 PUBLIC KEY ----\r\n",
            &BLOB[..30],
            &BLOB[30..]
        );
        let p = normalise(text.as_bytes(), None).unwrap();
        assert_eq!(
            line_of(&p),
            format!("ssh-ed25519 {BLOB} rsa-key-2024 with more")
        );
        let e = normalise(b"---- BEGIN SSH2 PUBLIC KEY ----\nAAAA\n", None).unwrap_err();
        assert!(e.contains("without its `---- END"), "{e}");
    }

    #[test]
    fn rfc4716_quoted_comment_is_unescaped() {
        let text = format!(
            "---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"a \\\"b\\\" \\\\c\"\n{BLOB}\n\
             ---- END SSH2 PUBLIC KEY ----\n"
        );
        let p = normalise(text.as_bytes(), None).unwrap();
        assert_eq!(p.key.comment().as_str_lossy(), r#"a "b" \c"#);
    }

    #[test]
    fn refusals_say_what_to_do() {
        let ppk = b"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\n";
        let e = normalise(ppk, Some(Path::new("/k/me.ppk"))).unwrap_err();
        assert!(
            e.ends_with("puttygen /k/me.ppk -O public-openssh -o /k/me.pub"),
            "{e}"
        );
        let e = normalise(b"-----BEGIN OPENSSH PRIVATE KEY-----\nx\n", None).unwrap_err();
        assert!(e.starts_with("this is a private key"), "{e}");
        let e = normalise(format!("{ED}\n{ED}\n").as_bytes(), None).unwrap_err();
        assert!(e.starts_with("line 2: a second key"), "{e}");
        let e = normalise(b"\x1b]0;title\x07 AAAA", None).unwrap_err();
        assert!(e.contains("`\\033]0;title\\007`"), "{e}");
        assert!(!e.contains('\x1b'));
        let e = normalise(b"\xff\xfes\x00", None).unwrap_err();
        assert!(e.starts_with("UTF-16"), "{e}");
        assert_eq!(
            normalise(b"\n \n", None).unwrap_err(),
            "empty, no public key in it"
        );
    }

    /// The fuzz target's property (fuzz/fuzz_targets/pasted_key.rs) over mutations of its
    /// seeds, so the default test run exercises it too: never a panic, a key reads back from
    /// its own line, a refusal carries no raw control character.
    #[test]
    fn mutated_pastes_keep_the_fuzz_property() {
        let seeds_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/seeds/pasted_key");
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(seeds_dir)
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        seeds.sort();
        assert!(seeds.len() >= 7);
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |m: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % m as u64) as usize
        };
        const NASTY: &[u8] = b" \t\r\n\"\\,=:-#\x1b\x00\x7f\xc2\x9bAa+/";
        for _ in 0..20_000 {
            let mut data = seeds[next(seeds.len())].clone();
            for _ in 0..1 + next(4) {
                let at = next(data.len() + 1);
                match next(4) {
                    0 if at < data.len() => {
                        data.remove(at);
                    }
                    1 if at < data.len() => data[at] = NASTY[next(NASTY.len())],
                    2 => data.insert(at, NASTY[next(NASTY.len())]),
                    _ => data.truncate(at),
                }
            }
            match normalise(&data, Some(Path::new("/k/pasted-cert.pub"))) {
                Ok(p) => {
                    let line = p.key.to_openssh().unwrap();
                    let again = normalise(line.as_bytes(), None)
                        .unwrap_or_else(|e| panic!("{line:?} from {data:?}: {e}"));
                    assert_eq!(again.key.key_data(), p.key.key_data(), "{data:?}");
                    assert_eq!(again.key.comment(), p.key.comment(), "{data:?}");
                    assert!(again.notes.is_empty(), "{data:?}");
                }
                Err(why) => assert!(!why.chars().any(char::is_control), "{why:?}"),
            }
        }
    }

    #[test]
    fn warnings_match_keygen_types() {
        assert!(type_warning(&Algorithm::Dsa).unwrap().starts_with("DSA:"));
        let ec = Algorithm::Ecdsa {
            curve: ssh_key::EcdsaCurve::NistP384,
        };
        assert!(type_warning(&ec).unwrap().starts_with("ECDSA:"));
        assert_eq!(type_warning(&Algorithm::Ed25519), None);
    }
}
