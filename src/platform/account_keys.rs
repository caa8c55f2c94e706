//! The account's keys as herossh reasons about them: each API key with the SHA256 fingerprint
//! OpenSSH prints (the API only sends the legacy MD5), and the rules for finding the key a
//! person means by a comment, a fingerprint, an id or a piece of the key.

use serde::Serialize;

use super::models::Key;
use crate::sshkeys;

/// An API key plus its locally computed SHA256 fingerprint (`None` when the API's
/// `public_key` does not parse — shown as such rather than hiding the key).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccountKey {
    #[serde(flatten)]
    pub key: Key,
    pub fingerprint_sha256: Option<String>,
}

impl AccountKey {
    pub fn new(key: Key) -> Self {
        let fingerprint_sha256 = sshkeys::parse_public_key_line(&key.public_key)
            .ok()
            .map(|k| sshkeys::fingerprint_sha256(&k));
        AccountKey {
            key,
            fingerprint_sha256,
        }
    }

    /// The comment, when there is a non-empty one (the API may send null or "").
    pub fn comment(&self) -> Option<&str> {
        self.key.comment.as_deref().filter(|c| !c.is_empty())
    }

    /// Whether this is the key with SHA256 fingerprint `sha256` (or, for a key whose text did
    /// not parse, MD5 `md5`).
    pub fn same_key_as(&self, sha256: &str, md5: &str) -> bool {
        match &self.fingerprint_sha256 {
            Some(f) => f == sha256,
            None => self
                .key
                .fingerprint
                .as_deref()
                .is_some_and(|f| normalize_md5(f) == normalize_md5(md5)),
        }
    }
}

/// What a `keys remove` argument designates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMatch {
    /// Exactly one key (indices into the list given).
    One(usize),
    /// Several keys share this exact comment: all of them are meant, but removing them needs
    /// a confirmation.
    SameComment(Vec<usize>),
    /// A piece of key text found in several keys: the person must be more specific.
    Ambiguous(Vec<usize>),
    NotFound,
}

/// Find the key(s) `query` names, most specific rule first: id, `SHA256:` fingerprint, MD5
/// fingerprint (with or without `MD5:`), exact comment, then a substring of the public key.
pub fn find(keys: &[AccountKey], query: &str) -> KeyMatch {
    let query = query.trim();
    if query.is_empty() {
        return KeyMatch::NotFound;
    }
    let md5 = normalize_md5(query);
    let exact = keys.iter().position(|k| {
        k.key.id == query
            || k.fingerprint_sha256.as_deref() == Some(query)
            || k.key
                .fingerprint
                .as_deref()
                .is_some_and(|f| normalize_md5(f) == md5)
    });
    if let Some(i) = exact {
        return KeyMatch::One(i);
    }
    let by_comment: Vec<usize> = indices(keys, |k| k.comment() == Some(query));
    match by_comment.len() {
        0 => {}
        1 => return KeyMatch::One(by_comment[0]),
        _ => return KeyMatch::SameComment(by_comment),
    }
    let by_text = indices(keys, |k| k.key.public_key.contains(query));
    match by_text.len() {
        0 => KeyMatch::NotFound,
        1 => KeyMatch::One(by_text[0]),
        _ => KeyMatch::Ambiguous(by_text),
    }
}

fn indices(keys: &[AccountKey], pred: impl Fn(&AccountKey) -> bool) -> Vec<usize> {
    keys.iter()
        .enumerate()
        .filter(|(_, k)| pred(k))
        .map(|(i, _)| i)
        .collect()
}

/// MD5 fingerprints compare without the `MD5:` prefix and case-insensitively.
fn normalize_md5(s: &str) -> String {
    s.strip_prefix("MD5:").unwrap_or(s).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFMDl0oDk0bfWb+AeDpd4tjZl7yjvFo5rcRcpKgvSkO7 work";

    fn key(id: &str, comment: Option<&str>, public_key: &str, md5: &str) -> AccountKey {
        AccountKey::new(Key {
            id: id.into(),
            comment: comment.map(Into::into),
            email: comment.map(Into::into),
            fingerprint: Some(md5.into()),
            public_key: public_key.into(),
            created_at: None,
            updated_at: None,
            extra: Default::default(),
        })
    }

    fn sample() -> Vec<AccountKey> {
        vec![
            key("id-1", Some("work"), ED_A, "aa:bb"),
            key(
                "id-2",
                Some("laptop"),
                "ssh-rsa AAAAB3xyzUNIQUE laptop",
                "cc:dd",
            ),
            key(
                "id-3",
                Some("laptop"),
                "ssh-rsa AAAAB3xyzOTHER laptop",
                "ee:ff",
            ),
            key("id-4", None, "ssh-rsa AAAAB3nocomment", "11:22"),
        ]
    }

    #[test]
    fn exact_identifiers_win() {
        let keys = sample();
        let sha = keys[0].fingerprint_sha256.clone().unwrap();
        assert!(sha.starts_with("SHA256:"));
        assert_eq!(find(&keys, &sha), KeyMatch::One(0));
        assert_eq!(find(&keys, "id-3"), KeyMatch::One(2));
        assert_eq!(find(&keys, "CC:DD"), KeyMatch::One(1));
        assert_eq!(find(&keys, "MD5:ee:ff"), KeyMatch::One(2));
        assert_eq!(find(&keys, "work"), KeyMatch::One(0));
    }

    #[test]
    fn shared_comment_and_ambiguous_text_are_distinguished() {
        let keys = sample();
        assert_eq!(find(&keys, "laptop"), KeyMatch::SameComment(vec![1, 2]));
        assert_eq!(find(&keys, "UNIQUE"), KeyMatch::One(1));
        assert_eq!(find(&keys, "AAAAB3xyz"), KeyMatch::Ambiguous(vec![1, 2]));
        assert_eq!(find(&keys, "nope"), KeyMatch::NotFound);
        assert_eq!(find(&keys, "  "), KeyMatch::NotFound);
    }

    #[test]
    fn unparseable_keys_have_no_sha256_and_compare_by_md5() {
        let keys = sample();
        assert_eq!(keys[1].fingerprint_sha256, None);
        assert!(keys[1].same_key_as("SHA256:whatever", "MD5:CC:DD"));
        assert!(!keys[0].same_key_as("SHA256:other", "aa:bb"));
        assert_eq!(keys[3].comment(), None);
    }
}
