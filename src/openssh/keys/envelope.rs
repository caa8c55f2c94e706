//! The OpenSSH private key format ("-----BEGIN OPENSSH PRIVATE KEY-----") exactly as ssh
//! reads it (sshkey.c `private2_uudecode`, `sshkey_parse_private2_pubkey`, and the BSD
//! `b64_pton` it decodes with). ssh is strict here where other readers are lenient, and the
//! strictness is what users trip over: the BEGIN marker must be the file's first bytes and be
//! followed by `\n` (no BOM, no leading blank line, no CRLF, no trailing space), the END
//! marker must follow a `\n` and be followed by one (a key without its final newline does not
//! load), while `\r`, blank lines and spaces inside the body and anything after the END line
//! are fine.

use russh::keys::ssh_key::PublicKey;

pub const MARK_BEGIN: &[u8] = b"-----BEGIN OPENSSH PRIVATE KEY-----\n";
pub const MARK_END: &[u8] = b"-----END OPENSSH PRIVATE KEY-----\n";
const AUTH_MAGIC: &[u8] = b"openssh-key-v1\0";

/// Why the envelope could not be read (ssh then falls back to the PEM reader, which fails
/// too: "error in libcrypto").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvelopeError {
    /// The file does not start with the BEGIN marker and a newline.
    NoBegin,
    /// No `\n-----END OPENSSH PRIVATE KEY-----\n` after it.
    NoEnd,
    /// The body is not base64 as `b64_pton` reads it.
    Base64,
    /// Decoded, but not `openssh-key-v1` or its header is cut short or holds more than one key.
    Header,
}

/// The clear part of the envelope: enough to know the key without a passphrase.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The whole decoded blob (`openssh-key-v1\0` onwards).
    pub decoded: Vec<u8>,
    pub cipher: String,
    pub kdf: String,
    pub public: Option<PublicKey>,
}

impl Envelope {
    pub fn encrypted(&self) -> bool {
        self.cipher != "none"
    }
}

/// Does the file look like it is meant to be this format (so its damage is worth naming)?
pub fn claims_format(bytes: &[u8]) -> bool {
    find(bytes, b"-----BEGIN OPENSSH PRIVATE KEY-----").is_some()
}

/// `private2_uudecode`: the base64 body between the markers, decoded.
pub fn uudecode(bytes: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    if bytes.len() < MARK_BEGIN.len() + MARK_END.len() || !bytes.starts_with(MARK_BEGIN) {
        return Err(EnvelopeError::NoBegin);
    }
    let mut encoded = Vec::with_capacity(bytes.len());
    let mut rest = &bytes[MARK_BEGIN.len()..];
    let mut found = false;
    while let Some((&c, tail)) = rest.split_first() {
        if c != b'\n' && c != b'\r' {
            encoded.push(c);
        }
        rest = tail;
        if c == b'\n' && rest.starts_with(MARK_END) {
            found = true;
            break;
        }
    }
    if !found {
        return Err(EnvelopeError::NoEnd);
    }
    // The body is handed to b64_pton as a C string: a NUL ends it.
    if let Some(nul) = encoded.iter().position(|&b| b == 0) {
        encoded.truncate(nul);
    }
    let decoded = b64_pton(&encoded).ok_or(EnvelopeError::Base64)?;
    if !decoded.starts_with(AUTH_MAGIC) {
        return Err(EnvelopeError::Header);
    }
    Ok(decoded)
}

/// `sshkey_parse_private2_pubkey`: the public key stored in clear in the envelope.
pub fn parse(bytes: &[u8]) -> Result<Envelope, EnvelopeError> {
    let decoded = uudecode(bytes)?;
    let mut r = Reader(&decoded[AUTH_MAGIC.len()..]);
    let cipher = r.string().ok_or(EnvelopeError::Header)?;
    let kdf = r.string().ok_or(EnvelopeError::Header)?;
    r.string().ok_or(EnvelopeError::Header)?;
    let nkeys = r.u32().ok_or(EnvelopeError::Header)?;
    if nkeys != 1 {
        return Err(EnvelopeError::Header);
    }
    let blob = r.string().ok_or(EnvelopeError::Header)?;
    let public = PublicKey::from_bytes(&blob).ok();
    if public.is_none() {
        return Err(EnvelopeError::Header);
    }
    Ok(Envelope {
        cipher: String::from_utf8_lossy(&cipher).into_owned(),
        kdf: String::from_utf8_lossy(&kdf).into_owned(),
        public,
        decoded,
    })
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn u32(&mut self) -> Option<u32> {
        let (head, tail) = self.0.split_at_checked(4)?;
        self.0 = tail;
        Some(u32::from_be_bytes(head.try_into().ok()?))
    }
    fn string(&mut self) -> Option<Vec<u8>> {
        let n = self.u32()? as usize;
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head.to_vec())
    }
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The BSD `b64_pton` OpenSSH uses for key files and public-key lines: whitespace anywhere is
/// skipped, padding must be well formed, nothing but whitespace may follow it, and the bits
/// past the last full byte must be zero. None where it returns -1.
pub fn b64_pton(src: &[u8]) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(src.len() * 3 / 4 + 3);
    let mut state = 0;
    let mut i = 0;
    let mut pad = false;
    while i < src.len() {
        let ch = src[i];
        i += 1;
        if is_c_space(ch) {
            continue;
        }
        if ch == b'=' {
            pad = true;
            break;
        }
        let v = B64.iter().position(|&b| b == ch)? as u8;
        match state {
            0 => {
                out.push(v << 2);
                state = 1;
            }
            1 => {
                *out.last_mut()? |= v >> 4;
                out.push((v & 0x0f) << 4);
                state = 2;
            }
            2 => {
                *out.last_mut()? |= v >> 2;
                out.push((v & 0x03) << 6);
                state = 3;
            }
            _ => {
                *out.last_mut()? |= v;
                state = 0;
            }
        }
    }
    // `out` holds one partial byte beyond the decoded length in states 1-3.
    let len = match state {
        0 => out.len(),
        _ => out.len() - 1,
    };
    if pad {
        let mut rest = src[i..].iter().copied();
        match state {
            0 | 1 => return None,
            2 => {
                // Skip spaces, then there must be a second '='.
                let mut next = rest.next();
                while next.is_some_and(is_c_space) {
                    next = rest.next();
                }
                if next != Some(b'=') {
                    return None;
                }
            }
            _ => {}
        }
        if rest.any(|c| !is_c_space(c)) {
            return None;
        }
        if out.get(len).copied().unwrap_or(0) != 0 {
            return None;
        }
    } else if state != 0 {
        return None;
    }
    out.truncate(len);
    Some(out)
}

/// C `isspace` in the C locale.
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64_pton_matches_bsd() {
        assert_eq!(b64_pton(b"").unwrap(), b"");
        assert_eq!(b64_pton(b"TWFu").unwrap(), b"Man");
        assert_eq!(b64_pton(b"TW Fu\n").unwrap(), b"Man");
        assert_eq!(b64_pton(b"TWE=").unwrap(), b"Ma");
        assert_eq!(b64_pton(b"TQ==").unwrap(), b"M");
        assert_eq!(b64_pton(b"TQ= =  ").unwrap(), b"M");
        // Missing padding: a partial group is an error.
        assert_eq!(b64_pton(b"TQ"), None);
        // Non-zero slop bits are an error.
        assert_eq!(b64_pton(b"TR=="), None);
        assert_eq!(b64_pton(b"TWE=x"), None);
        assert_eq!(b64_pton(b"T*Fu"), None);
        assert_eq!(b64_pton(b"=AAA"), None);
    }

    #[test]
    fn envelope_markers_are_strict() {
        let body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAAB";
        let good = format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"
        );
        assert!(uudecode(good.as_bytes()).is_ok());
        assert!(uudecode(format!("{good}trailing junk").as_bytes()).is_ok());
        assert!(uudecode(good.replace('\n', "\r\n").as_bytes()).is_err());
        assert_eq!(
            uudecode(good.trim_end().as_bytes()),
            Err(EnvelopeError::NoEnd)
        );
        assert_eq!(
            uudecode(format!("\u{feff}{good}").as_bytes()),
            Err(EnvelopeError::NoBegin)
        );
        assert_eq!(
            uudecode(format!("\n{good}").as_bytes()),
            Err(EnvelopeError::NoBegin)
        );
    }
}
