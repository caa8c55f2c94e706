//! Algorithm lists the way OpenSSH computes them: `kex_assemble_names` (a configured value
//! `+list` appends to the default, `-list` removes from it, `^list` puts first, and a plain
//! list replaces it; patterns expand against what the client supports) and the validity
//! checks `readconf.c` applies to `Ciphers`, `MACs`, `KexAlgorithms` and the key-type lists.
//! The default and supported lists come from the installed client ([`super::client`]).

use crate::sshconfig::pattern::{self, ListMatch};

/// The four list kinds, each checked by its own OpenSSH validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Cipher,
    Mac,
    Kex,
    /// HostKeyAlgorithms, PubkeyAcceptedAlgorithms, HostbasedAcceptedAlgorithms,
    /// CASignatureAlgorithms: names or wildcard patterns matching some key type.
    Key,
}

/// Would ssh accept this configured value (`+`, `^` and plain lists are checked; a `-` list
/// is not)? `names` is what the client supports of this kind.
pub fn valid(kind: ListKind, value: &str, names: &[String]) -> bool {
    if value.starts_with('-') {
        return true;
    }
    let list = value
        .strip_prefix('+')
        .or_else(|| value.strip_prefix('^'))
        .unwrap_or(value);
    if list.is_empty() {
        return false;
    }
    for item in list.split(',') {
        if item.is_empty() {
            // strsep stops at the first empty element.
            break;
        }
        let known = names.iter().any(|n| n == item);
        if known {
            continue;
        }
        let wildcard_ok = kind == ListKind::Key
            && names
                .iter()
                .any(|n| pattern::match_list(n, item, false) != ListMatch::No);
        if !wildcard_ok {
            return false;
        }
    }
    true
}

fn cat(a: &mut Vec<String>, b: impl IntoIterator<Item = String>) {
    for n in b {
        if !n.is_empty() && !a.contains(&n) {
            a.push(n);
        }
    }
}

fn names(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .collect()
}

/// Entries of `list` matching (allow) or not matching (deny) the pattern list `filter`.
pub fn filter(list: &[String], filter: &str, deny: bool) -> Vec<String> {
    list.iter()
        .filter(|n| (pattern::match_list(n, filter, false) == ListMatch::Yes) != deny)
        .cloned()
        .collect()
}

/// `kex_assemble_names(value, default, all)`: the effective list, or None when ssh would
/// refuse it (a negated pattern, or nothing left).
pub fn assemble(value: Option<&str>, default: &str, all: &[String]) -> Option<String> {
    let value = match value {
        None | Some("") => return Some(default.to_string()),
        Some(v) => v,
    };
    let list = if let Some(rest) = value.strip_prefix('+') {
        let mut l = names(default);
        cat(&mut l, names(rest));
        l
    } else if let Some(rest) = value.strip_prefix('-') {
        return Some(filter(&names(default), rest, true).join(","));
    } else if let Some(rest) = value.strip_prefix('^') {
        let mut l = names(rest);
        cat(&mut l, names(default));
        l
    } else {
        value.split(',').map(str::to_string).collect()
    };
    let mut out: Vec<String> = Vec::new();
    for pat in list {
        if pat.starts_with('!') {
            return None;
        }
        cat(&mut out, filter(all, &pat, false));
    }
    if out.is_empty() {
        return None;
    }
    Some(out.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEF: &str = "ssh-ed25519,rsa-sha2-512,rsa-sha2-256";

    fn all() -> Vec<String> {
        names(
            "ssh-ed25519,ssh-ed25519-cert-v01@openssh.com,ssh-dss,ssh-rsa,rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512",
        )
    }

    #[test]
    fn forms() {
        let a = all();
        assert_eq!(assemble(None, DEF, &a).unwrap(), DEF);
        assert_eq!(
            assemble(Some("+ssh-rsa"), DEF, &a).unwrap(),
            format!("{DEF},ssh-rsa")
        );
        assert_eq!(
            assemble(Some("ssh-ed25519,bogus"), DEF, &a).unwrap(),
            "ssh-ed25519"
        );
        assert_eq!(
            assemble(Some("rsa-sha2-*"), DEF, &a).unwrap(),
            "rsa-sha2-256,rsa-sha2-256-cert-v01@openssh.com,rsa-sha2-512"
        );
        assert_eq!(assemble(Some("-rsa*"), DEF, &a).unwrap(), "ssh-ed25519");
        assert!(
            assemble(Some("^ssh-rsa"), DEF, &a)
                .unwrap()
                .starts_with("ssh-rsa,ssh-ed25519")
        );
        assert_eq!(assemble(Some("bogus"), DEF, &a), None);
        assert_eq!(assemble(Some("!ssh-rsa"), DEF, &a), None);
    }

    #[test]
    fn validity() {
        let a = all();
        assert!(valid(ListKind::Key, "+ssh-rsa", &a));
        assert!(valid(ListKind::Key, "rsa-*", &a));
        assert!(!valid(ListKind::Key, "bogus", &a));
        assert!(valid(ListKind::Key, "-bogus", &a));
        assert!(!valid(ListKind::Cipher, "aes*", &names("aes128-ctr")));
        assert!(valid(ListKind::Cipher, "aes128-ctr,", &names("aes128-ctr")));
    }
}
