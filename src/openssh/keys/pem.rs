//! PEM private keys as ssh reads them: ssh hands every file that is not in its own format to
//! OpenSSL's `PEM_read_bio_PrivateKey` (sshkey.c `sshkey_parse_private_pem_fileblob`), and
//! keeps RSA, DSA and NIST-curve EC keys (Ed25519 too from OpenSSH 9.6).
//!
//! OpenSSL 3's reader is lenient where ssh's own format is strict, as the real ssh shows (see
//! the loader's tests): a UTF-8 BOM at the very start of the file, text lines before the BEGIN
//! line, CRLF line endings, trailing blanks on a marker line, body lines of any length and a
//! missing final newline are all fine; a BEGIN line that does not start in column 0 (leading
//! blanks, a BOM on a later line, the whole key on one line), a missing or different END line,
//! and a body that is not base64 are not. Which structure the DER holds decides the key type
//! (the label is only a name: OpenSSL 3 tries its decoders on any block).
//!
//! herossh then needs the key itself: the public half for the probe, the private half to sign
//! with `--passphrase-stdin`. russh reads PKCS#1 RSA, SEC1 EC and PKCS#8 (plain, and PBES2
//! encrypted); this module adds DSA and the legacy "Proc-Type: 4,ENCRYPTED" encryption
//! (AES-128/192/256-CBC, DES-EDE3-CBC, DES-CBC with OpenSSL's MD5 key derivation), so every
//! format `ssh-keygen` writes can be used. PKCS#8 with PBES1 or DES ciphers is the one thing
//! ssh reads that herossh cannot decrypt; the loader says so.

use russh::keys::ssh_key::private::{DsaKeypair, DsaPrivateKey, KeypairData};
use russh::keys::ssh_key::public::DsaPublicKey;
use russh::keys::ssh_key::{Mpint, PrivateKey, PublicKey};

/// One PEM block, as OpenSSL's reader found it.
#[derive(Debug, Clone)]
pub struct Block {
    pub label: String,
    /// `Proc-Type: 4,ENCRYPTED` + `DEK-Info: CIPHER,IV`, when present.
    pub dek: Option<(String, String)>,
    pub der: Vec<u8>,
}

/// Why OpenSSL found no usable block (ssh: "error in libcrypto").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockError {
    /// No line starting with `-----BEGIN ` in column 0.
    NoBegin,
    /// No END line after it.
    NoEnd,
    /// The END line names another label.
    EndMismatch,
    /// The body is not base64.
    Base64,
}

/// What the DER holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    Rsa {
        bits: u32,
    },
    Dsa,
    Ec {
        curve: Option<&'static str>,
    },
    Ed25519,
    /// PKCS#8 of an algorithm ssh has no key type for (Ed448, X25519, RSA-PSS...).
    OtherPkcs8,
    /// PKCS#8 EncryptedPrivateKeyInfo: the type is known only after decryption.
    EncryptedPkcs8,
    /// Legacy `Proc-Type: 4,ENCRYPTED` with this DEK-Info cipher.
    EncryptedLegacy {
        cipher: String,
    },
    /// Well-formed DER that is not a private key (a public key, a certificate...).
    NotAPrivateKey,
    /// DER that does not parse (cut short, damaged): ssh says "invalid format".
    Asn1Error,
}

/// OpenSSL's PEM reader: the first block in the file.
pub fn read_block(bytes: &[u8]) -> Result<Block, BlockError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut lines = bytes.split(|&b| b == b'\n').map(trim_end);
    let label = loop {
        let Some(line) = lines.next() else {
            return Err(BlockError::NoBegin);
        };
        if let Some(l) = line
            .strip_prefix(b"-----BEGIN ")
            .and_then(|l| l.strip_suffix(b"-----"))
        {
            break String::from_utf8_lossy(l).into_owned();
        }
    };
    let mut dek = None;
    let mut proc_encrypted = false;
    let mut body = Vec::new();
    let mut in_headers = true;
    let mut end = None;
    for line in lines.by_ref() {
        if let Some(l) = line
            .strip_prefix(b"-----END ")
            .and_then(|l| l.strip_suffix(b"-----"))
        {
            end = Some(String::from_utf8_lossy(l).into_owned());
            break;
        }
        if in_headers {
            if let Some(v) = header(line, "Proc-Type") {
                proc_encrypted = v.contains("ENCRYPTED");
                continue;
            }
            if let Some(v) = header(line, "DEK-Info") {
                let (c, iv) = v.split_once(',').unwrap_or((v.as_str(), ""));
                dek = Some((c.trim().to_string(), iv.trim().to_string()));
                continue;
            }
            if line.is_empty() {
                continue;
            }
            in_headers = false;
        }
        body.extend(line.iter().copied().filter(|b| !b.is_ascii_whitespace()));
    }
    let end = end.ok_or(BlockError::NoEnd)?;
    if end != label {
        return Err(BlockError::EndMismatch);
    }
    let der = decode_base64(&body).ok_or(BlockError::Base64)?;
    Ok(Block {
        label,
        dek: if proc_encrypted { dek } else { None },
        der,
    })
}

fn trim_end(line: &[u8]) -> &[u8] {
    let n = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    &line[..n]
}

fn header(line: &[u8], name: &str) -> Option<String> {
    let s = std::str::from_utf8(line).ok()?;
    let (k, v) = s.split_once(':')?;
    (k.trim() == name).then(|| v.trim().to_string())
}

/// Standard base64, padding optional (whitespace already removed).
fn decode_base64(body: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = body.to_vec();
    let mut s = String::from_utf8(trimmed).ok()?;
    while s.len() % 4 != 0 {
        if s.len() % 4 == 1 {
            return None;
        }
        s.push('=');
    }
    data_encoding::BASE64.decode(s.as_bytes()).ok()
}

/// What the block's DER holds.
pub fn classify(block: &Block) -> Content {
    if let Some((cipher, _)) = &block.dek {
        return Content::EncryptedLegacy {
            cipher: cipher.clone(),
        };
    }
    classify_der(&block.der)
}

pub fn classify_der(der: &[u8]) -> Content {
    // Not DER at all (no decoder takes it) is OpenSSL's "no key found", not an ASN.1 error.
    if der.first() != Some(&der::SEQUENCE) {
        return Content::NotAPrivateKey;
    }
    let Some(items) = der::sequence(der) else {
        return Content::Asn1Error;
    };
    let ints = items.iter().take_while(|(t, _)| *t == der::INTEGER).count();
    let first_int = items
        .first()
        .filter(|(t, _)| *t == der::INTEGER)
        .map(|(_, v)| *v);
    match (first_int, items.get(1).map(|(t, _)| *t)) {
        (Some([0]), Some(der::INTEGER)) if ints == items.len() && ints >= 9 => Content::Rsa {
            bits: der::uint_bits(items[1].1),
        },
        (Some([0]), Some(der::INTEGER)) if ints == items.len() && ints == 6 => Content::Dsa,
        (Some([1]), Some(der::OCTET_STRING)) => Content::Ec {
            curve: items
                .iter()
                .find(|(t, _)| *t == 0xa0)
                .and_then(|(_, v)| der::tlv(v))
                .and_then(|(_, oid)| curve_name(oid)),
        },
        (Some([0] | [1]), Some(der::SEQUENCE)) => pkcs8(&items),
        (None, Some(der::OCTET_STRING)) if items[0].0 == der::SEQUENCE => Content::EncryptedPkcs8,
        _ => Content::NotAPrivateKey,
    }
}

const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_DSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01];
const OID_ED25519: &[u8] = &[0x2b, 0x65, 0x70];

fn curve_name(oid: &[u8]) -> Option<&'static str> {
    match oid {
        [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07] => Some("nistp256"),
        [0x2b, 0x81, 0x04, 0x00, 0x22] => Some("nistp384"),
        [0x2b, 0x81, 0x04, 0x00, 0x23] => Some("nistp521"),
        _ => None,
    }
}

fn pkcs8(items: &[(u8, &[u8])]) -> Content {
    let Some(alg) = der::sequence_body(items[1].1) else {
        return Content::Asn1Error;
    };
    let oid = alg.first().filter(|(t, _)| *t == der::OID).map(|(_, v)| *v);
    let inner = items
        .get(2)
        .filter(|(t, _)| *t == der::OCTET_STRING)
        .map(|(_, v)| *v);
    match (oid, inner) {
        (Some(OID_RSA), Some(inner)) => match classify_der(inner) {
            c @ Content::Rsa { .. } => c,
            _ => Content::Asn1Error,
        },
        (Some(OID_DSA), Some(_)) => Content::Dsa,
        (Some(OID_EC), Some(_)) => Content::Ec {
            curve: alg
                .get(1)
                .filter(|(t, _)| *t == der::OID)
                .and_then(|(_, v)| curve_name(v)),
        },
        (Some(OID_ED25519), Some(_)) => Content::Ed25519,
        (Some(_), Some(_)) => Content::OtherPkcs8,
        _ => Content::Asn1Error,
    }
}

/// Why herossh could not produce the private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Encrypted and no passphrase given.
    Encrypted,
    /// The passphrase does not decrypt it.
    WrongPassphrase,
    /// An encryption herossh cannot undo (ssh can): the cipher or scheme.
    Unsupported(String),
    /// The key material itself does not parse.
    Invalid(String),
}

/// The private key in `block`, decrypting with `passphrase` when it is encrypted.
pub fn decode(block: &Block, passphrase: Option<&str>) -> Result<PrivateKey, DecodeError> {
    match classify(block) {
        Content::EncryptedLegacy { cipher } => {
            let pass = passphrase.ok_or(DecodeError::Encrypted)?;
            let iv = block.dek.as_ref().map(|(_, iv)| iv.as_str()).unwrap_or("");
            let der = legacy_decrypt(&cipher, iv, pass, &block.der)?;
            // A wrong passphrase mostly fails the padding check; when it does not, the
            // plaintext is not the DER structure the label promised.
            match classify_der(&der) {
                Content::Asn1Error | Content::NotAPrivateKey => Err(DecodeError::WrongPassphrase),
                _ => plain(&der).map_err(|_| DecodeError::WrongPassphrase),
            }
        }
        Content::EncryptedPkcs8 => {
            let pass = passphrase.ok_or(DecodeError::Encrypted)?;
            let text = rewrap("ENCRYPTED PRIVATE KEY", &block.der);
            russh::keys::decode_secret_key(&text, Some(pass))
                .map_err(|e| pkcs8_error(&block.der, e))
        }
        _ => plain(&block.der),
    }
}

/// The public half of an unencrypted block (None when encrypted or unreadable).
pub fn public(block: &Block) -> Option<PublicKey> {
    decode(block, None).ok().map(|k| k.public_key().clone())
}

fn plain(der: &[u8]) -> Result<PrivateKey, DecodeError> {
    let pkcs8 = der::sequence(der).is_some_and(|i| i.get(1).is_some_and(|x| x.0 == der::SEQUENCE));
    let label = match (classify_der(der), pkcs8) {
        (Content::Dsa, false) => return dsa(der),
        (Content::Dsa, true) => {
            return Err(DecodeError::Unsupported("DSA in PKCS#8 form".into()));
        }
        (
            Content::Rsa { .. } | Content::Ec { .. } | Content::Ed25519 | Content::OtherPkcs8,
            true,
        ) => "PRIVATE KEY",
        (Content::Rsa { .. }, false) => "RSA PRIVATE KEY",
        (Content::Ec { .. }, false) => "EC PRIVATE KEY",
        (other, _) => return Err(DecodeError::Invalid(format!("{other:?}"))),
    };
    russh::keys::decode_secret_key(&rewrap(label, der), None)
        .map_err(|e| DecodeError::Invalid(e.to_string()))
}

/// `DSAPrivateKey ::= SEQUENCE { version, p, q, g, y, x }` (OpenSSL's traditional DSA form).
fn dsa(der: &[u8]) -> Result<PrivateKey, DecodeError> {
    let items = der::sequence(der).ok_or_else(|| DecodeError::Invalid("DSA".into()))?;
    let m = |i: usize| Mpint::from_positive_bytes(items[i].1);
    let bad = |e: russh::keys::ssh_key::Error| DecodeError::Invalid(e.to_string());
    let public = DsaPublicKey::new(m(1), m(2), m(3), m(4)).map_err(bad)?;
    let private = DsaPrivateKey::new(m(5)).map_err(bad)?;
    let pair = DsaKeypair::new(public, private).map_err(bad)?;
    PrivateKey::new(KeypairData::Dsa(pair), "").map_err(bad)
}

fn rewrap(label: &str, der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

fn pkcs8_error(der: &[u8], e: russh::keys::Error) -> DecodeError {
    let scheme = pkcs8_scheme(der);
    match scheme.as_deref() {
        Some("PBES2 with AES-CBC") => {
            tracing::debug!("PKCS#8 decryption failed: {e}");
            DecodeError::WrongPassphrase
        }
        Some(other) => DecodeError::Unsupported(format!("PKCS#8 encrypted with {other}")),
        None => DecodeError::Invalid(e.to_string()),
    }
}

/// The encryption scheme of an EncryptedPrivateKeyInfo, named for people.
fn pkcs8_scheme(der: &[u8]) -> Option<String> {
    const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
    const AES_CBC_PREFIX: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01];
    let items = der::sequence(der)?;
    let alg = der::sequence_body(items.first()?.1)?;
    let oid = alg.first()?.1;
    if oid != PBES2 {
        // PBES1 (pbeWithMD5AndDES-CBC, pbeWithSHAAnd3-KeyTripleDES-CBC, ...).
        return Some("PBES1 (a DES or RC2 cipher)".into());
    }
    let params = der::sequence_body(alg.get(1)?.1)?;
    let enc = der::sequence_body(params.get(1)?.1)?;
    let cipher = enc.first()?.1;
    if cipher.starts_with(AES_CBC_PREFIX) {
        Some("PBES2 with AES-CBC".into())
    } else {
        Some("PBES2 with a DES cipher".into())
    }
}

/// OpenSSL's `PEM_do_header`: `EVP_BytesToKey(MD5, salt = IV[..8], count 1)` and CBC.
fn legacy_decrypt(
    cipher: &str,
    iv_hex: &str,
    pass: &str,
    data: &[u8],
) -> Result<Vec<u8>, DecodeError> {
    use cbc::cipher::block_padding::Pkcs7;
    use cbc::cipher::{BlockModeDecrypt, KeyIvInit};

    let iv = data_encoding::HEXUPPER_PERMISSIVE
        .decode(iv_hex.to_ascii_uppercase().as_bytes())
        .map_err(|_| DecodeError::Invalid(format!("bad DEK-Info IV {iv_hex:?}")))?;
    let key_len = match cipher {
        "AES-128-CBC" => 16,
        "AES-192-CBC" => 24,
        "AES-256-CBC" => 32,
        "DES-EDE3-CBC" => 24,
        "DES-CBC" => 8,
        other => {
            return Err(DecodeError::Unsupported(format!(
                "PEM encrypted with {other}"
            )));
        }
    };
    if iv.len() < 8 {
        return Err(DecodeError::Invalid("DEK-Info IV too short".into()));
    }
    let key = bytes_to_key(pass.as_bytes(), &iv[..8], key_len);
    let bad = |_| DecodeError::WrongPassphrase;
    let wrong_len = |_| DecodeError::Invalid("bad key or IV length".into());
    let out = match cipher {
        "AES-128-CBC" => cbc::Decryptor::<aes::Aes128>::new_from_slices(&key, &iv)
            .map_err(wrong_len)?
            .decrypt_padded_vec::<Pkcs7>(data)
            .map_err(bad)?,
        "AES-192-CBC" => cbc::Decryptor::<aes::Aes192>::new_from_slices(&key, &iv)
            .map_err(wrong_len)?
            .decrypt_padded_vec::<Pkcs7>(data)
            .map_err(bad)?,
        "AES-256-CBC" => cbc::Decryptor::<aes::Aes256>::new_from_slices(&key, &iv)
            .map_err(wrong_len)?
            .decrypt_padded_vec::<Pkcs7>(data)
            .map_err(bad)?,
        "DES-EDE3-CBC" => cbc::Decryptor::<des::TdesEde3>::new_from_slices(&key, &iv)
            .map_err(wrong_len)?
            .decrypt_padded_vec::<Pkcs7>(data)
            .map_err(bad)?,
        _ => cbc::Decryptor::<des::Des>::new_from_slices(&key, &iv)
            .map_err(wrong_len)?
            .decrypt_padded_vec::<Pkcs7>(data)
            .map_err(bad)?,
    };
    Ok(out)
}

fn bytes_to_key(pass: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut key = Vec::with_capacity(len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while key.len() < len {
        let mut input = prev.clone();
        input.extend_from_slice(pass);
        input.extend_from_slice(salt);
        prev = md5::compute(&input).0.to_vec();
        key.extend_from_slice(&prev);
    }
    key.truncate(len);
    key
}

/// Just enough DER to tell the key structures apart.
mod der {
    pub const INTEGER: u8 = 0x02;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OID: u8 = 0x06;
    pub const SEQUENCE: u8 = 0x30;

    /// One TLV at the start of `b`: (tag, value), and nothing is read past the end.
    pub fn tlv(b: &[u8]) -> Option<(u8, &[u8])> {
        tlv_rest(b).map(|(t, v, _)| (t, v))
    }

    fn tlv_rest(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = b.split_first()?;
        let (&l0, rest) = rest.split_first()?;
        let (len, rest) = if l0 < 0x80 {
            (l0 as usize, rest)
        } else {
            let n = (l0 & 0x7f) as usize;
            if n == 0 || n > 4 {
                return None;
            }
            let (lb, rest) = rest.split_at_checked(n)?;
            (lb.iter().fold(0usize, |a, &x| (a << 8) | x as usize), rest)
        };
        let (v, rest) = rest.split_at_checked(len)?;
        Some((tag, v, rest))
    }

    /// The items of a SEQUENCE that makes up all of `b`.
    pub fn sequence(b: &[u8]) -> Option<Vec<(u8, &[u8])>> {
        let (tag, body, rest) = tlv_rest(b)?;
        if tag != SEQUENCE || !rest.is_empty() {
            return None;
        }
        sequence_body_items(body)
    }

    /// The items of a SEQUENCE given its encoding (`tlv` value of an item).
    pub fn sequence_body(b: &[u8]) -> Option<Vec<(u8, &[u8])>> {
        sequence_body_items(b)
    }

    fn sequence_body_items(mut body: &[u8]) -> Option<Vec<(u8, &[u8])>> {
        let mut items = Vec::new();
        while !body.is_empty() {
            let (t, v, rest) = tlv_rest(body)?;
            items.push((t, v));
            body = rest;
        }
        Some(items)
    }

    /// Bit length of an unsigned INTEGER's value bytes.
    pub fn uint_bits(v: &[u8]) -> u32 {
        let start = v.iter().position(|&b| b != 0).unwrap_or(v.len());
        let v = &v[start..];
        match v.first() {
            None => 0,
            Some(&top) => (v.len() as u32 - 1) * 8 + (8 - top.leading_zeros()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_md5_key_derivation() {
        // `openssl enc -aes-128-cbc -P -md md5 -S 0001020304050607 -pass pass:secret1`
        let key = bytes_to_key(b"secret1", &[0, 1, 2, 3, 4, 5, 6, 7], 16);
        assert_eq!(key.len(), 16);
        let longer = bytes_to_key(b"secret1", &[0, 1, 2, 3, 4, 5, 6, 7], 32);
        assert_eq!(&longer[..16], &key[..]);
    }

    #[test]
    fn block_reader_tolerates_what_openssl_does() {
        let der = [0x30, 0x03, 0x02, 0x01, 0x00];
        let b64 = data_encoding::BASE64.encode(&der);
        let ok = format!("-----BEGIN X-----\n{b64}\n-----END X-----\n");
        assert_eq!(read_block(ok.as_bytes()).unwrap().der, der);
        let crlf = ok.replace('\n', "\r\n");
        assert_eq!(read_block(crlf.as_bytes()).unwrap().der, der);
        let bom = format!("\u{feff}{ok}");
        assert!(read_block(bom.as_bytes()).is_ok());
        let before = format!("junk line\n{ok}");
        assert!(read_block(before.as_bytes()).is_ok());
        assert_eq!(
            read_block(format!("  {ok}").as_bytes()).unwrap_err(),
            BlockError::NoBegin
        );
        assert_eq!(
            read_block(ok.replace("END X", "END Y").as_bytes()).unwrap_err(),
            BlockError::EndMismatch
        );
        assert_eq!(
            read_block(ok.replace("-----END X-----\n", "").as_bytes()).unwrap_err(),
            BlockError::NoEnd
        );
    }
}
