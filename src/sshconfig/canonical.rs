//! Host name canonicalisation, as `ssh.c` does it before the final config pass: numeric
//! addresses are rewritten to their canonical form (`127.1` → `127.0.0.1`), and with
//! `CanonicalizeHostname` the name is tried with each `CanonicalDomains` suffix through the
//! system resolver (the same `getaddrinfo` ssh calls, so `/etc/hosts`, DNS and NSS answer
//! alike), following CNAMEs only where `CanonicalizePermittedCNAMEs` allows.

use std::ffi::{CStr, CString};

/// What canonicalisation needs from the options read so far.
pub struct Settings<'a> {
    /// `AddressFamily` as stored (0 any, 2 inet, 10 inet6).
    pub family: i32,
    /// 0 no, 1 yes, 2 always.
    pub mode: i64,
    pub max_dots: i64,
    pub fallback_local: bool,
    pub domains: &'a [String],
    pub permitted_cnames: &'a [(String, String)],
    /// No ProxyCommand / ProxyJump: the name is looked up locally.
    pub direct: bool,
}

/// The outcome: the (possibly new) host name, or ssh's fatal message.
pub enum Outcome {
    Unchanged,
    Renamed(String),
    Fatal(String),
}

/// `is_addr`: a single numeric address.
pub fn is_addr(name: &str, family: i32) -> bool {
    numeric(name, family).is_some()
}

/// `resolve_addr`'s canonical text of a numeric address.
fn numeric(name: &str, family: i32) -> Option<String> {
    let c = CString::new(name).ok()?;
    let port = c"22";
    // SAFETY: zeroed addrinfo is a valid hints value; getaddrinfo fills `res` on success and
    // it is freed with freeaddrinfo on every path below.
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_flags = libc::AI_NUMERICHOST | libc::AI_NUMERICSERV;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    let rc = unsafe { libc::getaddrinfo(c.as_ptr(), port.as_ptr(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    let out = unsafe {
        if !(*res).ai_next.is_null() {
            None
        } else {
            let mut buf = [0 as libc::c_char; 1025];
            let r = libc::getnameinfo(
                (*res).ai_addr,
                (*res).ai_addrlen,
                buf.as_mut_ptr(),
                buf.len() as libc::socklen_t,
                std::ptr::null_mut(),
                0,
                libc::NI_NUMERICHOST,
            );
            (r == 0).then(|| CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
        }
    };
    unsafe { libc::freeaddrinfo(res) };
    out
}

/// `resolve_host`: does the name resolve, and to which canonical name (AI_CANONNAME)?
fn resolve(name: &str, family: i32) -> Option<String> {
    let c = CString::new(name).ok()?;
    let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = libc::SOCK_STREAM;
    hints.ai_flags = libc::AI_CANONNAME;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: as in `numeric`.
    let rc = unsafe { libc::getaddrinfo(c.as_ptr(), c"22".as_ptr(), &hints, &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    let cname = unsafe {
        let p = (*res).ai_canonname;
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    unsafe { libc::freeaddrinfo(res) };
    Some(cname)
}

/// `is_addr_fast`: looks like an address (so no DNS suffixes are tried).
fn looks_like_addr(name: &str) -> bool {
    name.contains('%') || name.contains(':') || name.chars().all(|c| c.is_ascii_digit() || c == '.')
}

fn permitted(s: &Settings) -> bool {
    !(s.permitted_cnames.is_empty()
        || (s.permitted_cnames.len() == 1
            && s.permitted_cnames[0].0.eq_ignore_ascii_case("none")
            && s.permitted_cnames[0].1.is_empty()))
}

/// `check_follow_cname`.
fn follow_cname(s: &Settings, name: &str, cname: &str) -> Option<String> {
    use super::pattern::{ListMatch, match_list};
    if cname.is_empty() || !permitted(s) || name == cname || s.mode == 0 {
        return None;
    }
    if !s.direct && s.mode != 2 {
        return None;
    }
    s.permitted_cnames
        .iter()
        .any(|(src, dst)| {
            match_list(name, src, true) == ListMatch::Yes
                && match_list(cname, dst, true) == ListMatch::Yes
        })
        .then(|| cname.to_string())
}

/// `resolve_canonicalize` (when requested or the name is an address), then the
/// CanonicalizePermittedCNAMEs lookup ssh.c does when nothing else happened.
pub fn canonicalize(host: &str, s: &Settings) -> Outcome {
    let was_addr = is_addr(host, s.family);
    if s.mode != 0 || was_addr {
        if let Some(addr) = numeric(host, s.family) {
            return if addr.eq_ignore_ascii_case(host) {
                Outcome::Unchanged
            } else {
                Outcome::Renamed(addr)
            };
        }
        if looks_like_addr(host) {
            return Outcome::Unchanged;
        }
        if s.direct || s.mode == 2 {
            let candidates: Vec<String> = if host.ends_with('.') {
                vec![host.to_string()]
            } else if host.matches('.').count() as i64 > s.max_dots {
                Vec::new()
            } else {
                s.domains
                    .iter()
                    .take_while(|d| !d.eq_ignore_ascii_case("none"))
                    .map(|d| format!("{host}.{d}."))
                    .collect()
            };
            let skip = !host.ends_with('.') && host.matches('.').count() as i64 > s.max_dots;
            if !skip {
                for full in &candidates {
                    if let Some(cname) = resolve(full, s.family) {
                        let trimmed = full.trim_end_matches('.').to_string();
                        let renamed = follow_cname(s, &trimmed, &cname).unwrap_or(trimmed);
                        return Outcome::Renamed(renamed);
                    }
                }
                if !s.fallback_local {
                    return Outcome::Fatal(format!("ssh: Could not resolve host \"{host}\""));
                }
            }
            return Outcome::Unchanged;
        }
        return Outcome::Unchanged;
    }
    if permitted(s) && (s.direct || s.mode == 2) {
        match resolve(host, s.family) {
            None if s.direct => {
                return Outcome::Fatal(format!(
                    "ssh: Could not resolve hostname {host}: Name or service not known"
                ));
            }
            None => {}
            Some(cname) => {
                if let Some(n) = follow_cname(s, host, &cname) {
                    return Outcome::Renamed(n);
                }
            }
        }
    }
    Outcome::Unchanged
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(is_addr("127.0.0.1", 0));
        assert!(is_addr("::1", 0));
        assert!(!is_addr("example.com", 0));
        assert_eq!(numeric("127.1", 0).as_deref(), Some("127.0.0.1"));
        assert_eq!(numeric("::0001", 0).as_deref(), Some("::1"));
    }
}
