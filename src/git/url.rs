//! Remote URLs read exactly as git reads them, so doctor checks the host git really hands to
//! ssh. The rules are git's (v2.47 `transport.c` `transport_get`, `connect.c`
//! `url_is_local_not_ssh`, `parse_connect_url`, `host_end`, `get_host_and_port`, `get_port`,
//! `url.c` `is_url`, `url_decode`), and `git fetch-pack --diag-url URL` is the oracle the tests
//! compare with:
//!
//! - `helper::address` goes to a remote helper; a scheme other than `ssh`, `git+ssh`,
//!   `ssh+git`, `git` and `file` (https, http, ...) too.
//! - Without `://`, a colon before any slash makes it scp-like `[user@]host:path` (so
//!   `./a:b` and `dir/x:y` are local paths, `host:` and `host:~user/x` are ssh).
//! - `ssh://[user@]host[:port]/path` is percent-decoded first; `[...]` brackets are taken off
//!   (IPv6, or `[host:port]` in the scp form); a port is digits only and below 65536, and
//!   when the part after `:` is not one the colon stays in the host name, which is what makes
//!   `ssh://git@host:owner/repo.git` fail with "Could not resolve hostname host:owner".
//! - git then runs `ssh [-p PORT] USER_AND_HOST`, and ssh splits `user@host` at the last `@`.

/// Where git sends a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// git runs ssh.
    Ssh(SshUrl),
    /// A path or `file://` URL: no network.
    Local,
    /// `git://` (the git daemon, unauthenticated).
    GitDaemon,
    /// A remote helper (`https://`, `http://`, `helper::address`, any other scheme).
    Helper { scheme: String },
}

/// An SSH remote, split the way git splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshUrl {
    /// `ssh`, `git+ssh` or `ssh+git`; None for the scp-like form.
    pub scheme: Option<String>,
    /// The argument git gives ssh (`user@host`, brackets removed).
    pub user_and_host: String,
    /// The `-p` argument git gives ssh, verbatim.
    pub port: Option<String>,
    /// The path the server is asked for (git's view: `~user/x` for `/~user/x`); None when
    /// there is none (git: "no path specified").
    pub path: Option<String>,
    /// The authority as written (after percent-decoding, brackets kept), and the path as
    /// written after it: what a corrected URL is rebuilt from.
    pub raw_authority: String,
    pub raw_path: String,
}

impl SshUrl {
    /// The port git passes, as a number (None without one).
    pub fn port_number(&self) -> Option<u16> {
        self.port.as_deref().and_then(|p| p.trim().parse().ok())
    }

    /// For an `ssh://` URL whose authority holds a `:` that git could not read as a port
    /// (`ssh://git@host:owner/repo.git`): the text after the colon.
    pub fn unread_colon(&self) -> Option<&str> {
        self.scheme.as_ref()?;
        if self.port.is_some() {
            return None;
        }
        let start = host_end(&self.raw_authority);
        let colon = self.raw_authority[start..].find(':')? + start;
        let after = &self.raw_authority[colon + 1..];
        (!after.is_empty()).then_some(after)
    }

    /// The scp-like URL the writer of `ssh://user@host:owner/repo.git` meant:
    /// `user@host:owner/repo.git` (the same path, relative to the login directory, as the
    /// scp form always is).
    pub fn as_scp_like(&self) -> Option<String> {
        let after = self.unread_colon()?;
        if after.bytes().all(|c| c.is_ascii_digit()) {
            // A number: a port out of range, not a path.
            return None;
        }
        let before = &self.raw_authority[..self.raw_authority.len() - after.len() - 1];
        Some(format!("{before}:{after}{}", self.raw_path))
    }
}

/// git's reading of `url`.
pub fn classify(url: &str) -> Transport {
    let b = url.as_bytes();
    let mut p = 0;
    while p < b.len() && is_urlschemechar(p == 0, b[p]) {
        p += 1;
    }
    if url[p..].starts_with("::") {
        return Transport::Helper {
            scheme: url[..p].to_string(),
        };
    }
    if url.starts_with("rsync:") {
        return Transport::Helper {
            scheme: "rsync".into(),
        };
    }
    if url_is_local_not_ssh(url) {
        return Transport::Local;
    }
    let builtin = ["file://", "git://", "ssh://", "git+ssh://", "ssh+git://"];
    if is_url(url) && !builtin.iter().any(|s| url.starts_with(s)) {
        return Transport::Helper {
            scheme: url.split(':').next().unwrap_or_default().to_string(),
        };
    }
    parse_connect_url(url)
}

/// `url_is_local_not_ssh` (without the DOS drive prefix rule, which is Windows-only).
fn url_is_local_not_ssh(url: &str) -> bool {
    match (url.find(':'), url.find('/')) {
        (None, _) => true,
        (Some(c), Some(s)) => s < c,
        (Some(_), None) => false,
    }
}

fn is_urlschemechar(first: bool, c: u8) -> bool {
    c.is_ascii_alphanumeric() || (!first && matches!(c, b'+' | b'-' | b'.'))
}

/// `is_url`: a scheme of URL characters, then `://`.
pub fn is_url(url: &str) -> bool {
    let b = url.as_bytes();
    if b.is_empty() || !is_urlschemechar(true, b[0]) {
        return false;
    }
    let mut i = 1;
    while i < b.len() && b[i] != b':' {
        if !is_urlschemechar(false, b[i]) {
            return false;
        }
        i += 1;
    }
    url[i..].starts_with("://")
}

/// `url_decode`: `%XY` becomes the byte (not `%00`, not a bad hex pair); the scheme is kept.
fn url_decode(url: &str) -> String {
    let b = url.as_bytes();
    let start = url.find(':').unwrap_or(0);
    let mut out = b[..start].to_vec();
    let mut i = start;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hexval(b[i + 1]), hexval(b[i + 2]))
            && (h << 4 | l) != 0
        {
            out.push(h << 4 | l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// `host_end(host, 0)`: the byte index of the closing `]` when the host (after any `user@`)
/// is bracketed, else 0.
fn host_end(s: &str) -> usize {
    let start = s.find("@[").map(|i| i + 1).unwrap_or(0);
    if s[start..].starts_with('[')
        && let Some(e) = s[start + 1..].find(']')
    {
        return start + 1 + e;
    }
    0
}

fn parse_connect_url(url_orig: &str) -> Transport {
    let url = if is_url(url_orig) {
        url_decode(url_orig)
    } else {
        url_orig.to_string()
    };
    let (scheme, host) = match url.find("://") {
        Some(i) => (Some(url[..i].to_string()), url[i + 3..].to_string()),
        None => (None, url.clone()),
    };
    match scheme.as_deref() {
        Some("file") => return Transport::Local,
        Some("git") => return Transport::GitDaemon,
        _ => {}
    }
    let separator = if scheme.is_some() { '/' } else { ':' };
    let end = host_end(&host);
    let (authority, raw_path, path) = match host[end..].find(separator) {
        Some(i) => {
            let at = end + i;
            let after_sep = if separator == ':' { at + 1 } else { at };
            let raw = &host[after_sep..];
            let mut path = raw;
            // `ssh://host/~user/x` and `host:/~user/x` ask for `~user/x`.
            if path.len() > 1 && path.as_bytes()[1] == b'~' {
                path = &path[1..];
            }
            (
                host[..at].to_string(),
                raw.to_string(),
                Some(path.to_string()),
            )
        }
        None => (host.clone(), String::new(), None),
    };
    let (user_and_host, port) = host_and_port(&authority);
    Transport::Ssh(SshUrl {
        scheme,
        user_and_host,
        port,
        path,
        raw_authority: authority,
        raw_path,
    })
}

/// `get_host_and_port`, then `get_port` when no port was found.
fn host_and_port(authority: &str) -> (String, Option<String>) {
    // host_end(…, 1): take the brackets off.
    let start = authority.find("@[").map(|i| i + 1).unwrap_or(0);
    let (host, rest_from) = if authority[start..].starts_with('[') {
        match authority[start + 1..].find(']') {
            Some(e) => {
                let close = start + 1 + e;
                let mut h = authority[..start].to_string();
                h.push_str(&authority[start + 1..close]);
                (h, Some(authority[close + 1..].to_string()))
            }
            None => (authority.to_string(), None),
        }
    } else {
        (authority.to_string(), None)
    };
    // The colon is searched after the brackets when there were some, else in the whole text.
    let (mut host, tail) = match rest_from {
        Some(t) => (host, t),
        None => (String::new(), host),
    };
    let mut port = None;
    match tail.find(':') {
        Some(c) => {
            let cand = &tail[c + 1..];
            if valid_port(cand) {
                port = Some(cand.to_string());
                host.push_str(&tail[..c]);
            } else if cand.is_empty() {
                host.push_str(&tail[..c]);
            } else {
                host.push_str(&tail);
            }
        }
        None => host.push_str(&tail),
    }
    if port.is_none()
        && let Some(c) = host.find(':')
        && valid_port(&host[c + 1..])
    {
        port = Some(host[c + 1..].to_string());
        host.truncate(c);
    }
    (host, port)
}

/// `strtol(s, &end, 10)` consumed digits, stopped at the end, and the value is 0..65535.
fn valid_port(s: &str) -> bool {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return false;
    }
    match digits.parse::<u64>() {
        Ok(v) if neg => v == 0,
        Ok(v) => v < 65536,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh(url: &str) -> SshUrl {
        match classify(url) {
            Transport::Ssh(s) => s,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn transports() {
        assert_eq!(classify("./a:b"), Transport::Local);
        assert_eq!(classify("/srv/x.git"), Transport::Local);
        assert_eq!(classify("dir/x:y"), Transport::Local);
        assert_eq!(classify("file:///srv/x"), Transport::Local);
        assert_eq!(classify("git://h/x"), Transport::GitDaemon);
        assert_eq!(
            classify("https://github.com/a/b"),
            Transport::Helper {
                scheme: "https".into()
            }
        );
        assert_eq!(
            classify("heroku::my-app"),
            Transport::Helper {
                scheme: "heroku".into()
            }
        );
        assert!(matches!(classify("host:path"), Transport::Ssh(_)));
        assert!(matches!(classify("git+ssh://h/p"), Transport::Ssh(_)));
    }

    #[test]
    fn hosts_and_ports_as_git_reads_them() {
        let s = ssh("ssh://git@host:owner/repo.git");
        assert_eq!(
            (s.user_and_host.as_str(), s.port.as_deref()),
            ("git@host:owner", None)
        );
        assert_eq!(s.unread_colon(), Some("owner"));
        assert_eq!(s.as_scp_like().as_deref(), Some("git@host:owner/repo.git"));
        let s = ssh("[host:22]:path");
        assert_eq!(
            (s.user_and_host.as_str(), s.port.as_deref()),
            ("host", Some("22"))
        );
        let s = ssh("ssh://git@[::1]:2222/p");
        assert_eq!(
            (
                s.user_and_host.as_str(),
                s.port.as_deref(),
                s.path.as_deref()
            ),
            ("git@::1", Some("2222"), Some("/p"))
        );
        let s = ssh("ssh://host/~user/repo");
        assert_eq!(s.path.as_deref(), Some("~user/repo"));
        let s = ssh("ssh://u%40x@h/p");
        assert_eq!(s.user_and_host, "u@x@h");
        let s = ssh("ssh://host:99999/p");
        assert_eq!(
            (s.user_and_host.as_str(), s.port.as_deref()),
            ("host:99999", None)
        );
        let s = ssh("git@[::1]:owner/x");
        assert_eq!(s.user_and_host, "git@::1");
        assert_eq!(s.path.as_deref(), Some("owner/x"));
        assert_eq!(ssh("ssh://host").path, None);
    }
}
