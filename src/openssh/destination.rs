//! The destination argument, parsed the way `ssh` parses it (`ssh.c` main, `misc.c`
//! `parse_uri`): `ssh://[user[;params]@]host[:port][/]` or `[user@]host`, where the user is the
//! part before the LAST `@`. A plain `host:port` is NOT a port to ssh (`ssh foo:2222` looks up
//! a host called `foo:2222`); herossh's `validate` documents `HOST[:PORT]` as a convenience,
//! so it asks for that extension explicitly ([`Destination::parse_with_port`]).
//!
//! The checks ssh makes before reading any config are kept too: a host name with shell
//! metacharacters, whitespace or a leading `-` ("hostname contains invalid characters") and a
//! user name with shell metacharacters ("remote username contains invalid characters"), both
//! from the CVE-2023-51385 fix that Debian 12's 9.2p1 and every OpenSSH from 9.6 carry.

use crate::error::{Error, Result};

/// Where to connect, as the command line gives it. `user` and `port` come before the config:
/// like `-l`/`-p`, they win over `User`/`Port` lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Destination {
    /// Exactly ssh's reading of its destination argument.
    pub fn parse(s: &str) -> Result<Destination> {
        let d = match parse_uri(s) {
            Some(r) => r.map_err(|why| invalid(s, why))?,
            None => match s.rfind('@') {
                Some(0) => return Err(invalid(s, "empty user name")),
                Some(i) => Destination {
                    user: Some(s[..i].to_string()),
                    host: s[i + 1..].to_string(),
                    port: None,
                },
                None => Destination {
                    user: None,
                    host: s.to_string(),
                    port: None,
                },
            },
        };
        d.check()?;
        Ok(d)
    }

    /// [`Destination::parse`] plus herossh's `HOST:PORT` and `[ADDR]:PORT` forms (validate,
    /// doctor targets). A name with more than one `:` is an IPv6 address, as in ssh.
    pub fn parse_with_port(s: &str) -> Result<Destination> {
        if s.starts_with("ssh://") {
            return Self::parse(s);
        }
        let (user, rest) = match s.rfind('@') {
            Some(0) => return Err(invalid(s, "empty user name")),
            Some(i) => (Some(&s[..i]), &s[i + 1..]),
            None => (None, s),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (h, after) = inner
                .split_once(']')
                .ok_or_else(|| invalid(s, "missing `]`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(port_number(s, p)?),
                None if after.is_empty() => None,
                None => return Err(invalid(s, "unexpected text after `]`")),
            };
            (h.to_string(), port)
        } else if rest.matches(':').count() == 1 {
            let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
            (h.to_string(), Some(port_number(s, p)?))
        } else {
            (rest.to_string(), None)
        };
        let d = Destination {
            user: user.map(str::to_string),
            host,
            port,
        };
        d.check()?;
        Ok(d)
    }

    /// `user@host` as typed (no port), for messages and fix commands.
    pub fn user_host(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }

    fn check(&self) -> Result<()> {
        if self.host.is_empty() {
            return Err(invalid(&self.user_host(), "no host name"));
        }
        if !valid_hostname(&self.host) {
            return Err(Error::usage("hostname contains invalid characters"));
        }
        if let Some(u) = &self.user
            && !valid_ruser(u)
        {
            return Err(Error::usage("remote username contains invalid characters"));
        }
        Ok(())
    }
}

fn invalid(s: &str, why: &str) -> Error {
    Error::usage(format!("invalid destination `{s}`: {why}"))
}

fn port_number(s: &str, p: &str) -> Result<u16> {
    p.parse::<u16>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| invalid(s, &format!("bad port `{p}`")))
}

/// `parse_ssh_uri`: None when `s` is not an `ssh://` URI; Some(Err) when ssh would print its
/// usage for it.
fn parse_uri(s: &str) -> Option<std::result::Result<Destination, &'static str>> {
    let rest = s.strip_prefix("ssh://")?;
    Some(parse_uri_body(rest))
}

fn parse_uri_body(rest: &str) -> std::result::Result<Destination, &'static str> {
    let mut tmp = rest;
    let mut user = None;
    if let Some(at) = tmp.find('@') {
        let info = &tmp[..at];
        // Connection parameters after `;` are ignored, as ssh does.
        let name = info.split(';').next().unwrap_or("");
        if name.is_empty() {
            return Err("empty user name");
        }
        user = Some(urldecode(name).ok_or("bad %-escape in the user name")?);
        tmp = &tmp[at + 1..];
    }
    // hpdelim2: `[...]` or up to the first `:` or `/`.
    let (host_raw, delim, after) = if tmp.starts_with('[') {
        let end = tmp.find(']').ok_or("missing `]`")? + 1;
        match tmp.as_bytes().get(end) {
            None => (&tmp[..end], None, ""),
            Some(b':') => (&tmp[..end], Some(':'), &tmp[end + 1..]),
            Some(b'/') => (&tmp[..end], Some('/'), &tmp[end + 1..]),
            Some(_) => return Err("unexpected text after `]`"),
        }
    } else {
        match tmp.find([':', '/']) {
            Some(i) => (&tmp[..i], tmp[i..].chars().next(), &tmp[i + 1..]),
            None => (tmp, None, ""),
        }
    };
    if host_raw.is_empty() {
        return Err("no host name");
    }
    let host = host_raw
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host_raw);
    let host = valid_domain(host).ok_or("the host is not a valid domain name")?;
    let mut port = None;
    let mut path_part = after;
    if !after.is_empty() && delim == Some(':') {
        let (p, rest) = match after.find('/') {
            Some(i) => (&after[..i], &after[i + 1..]),
            None => (after, ""),
        };
        port = Some(p.parse::<u16>().ok().filter(|&n| n > 0).ok_or("bad port")?);
        path_part = rest;
    }
    if !path_part.is_empty() {
        // ssh accepts no path in its destination URI.
        return Err("a path is not allowed");
    }
    Ok(Destination { user, host, port })
}

/// `urldecode`: `+` is a space, `%XX` a byte; a bad escape fails, and so does `%00`
/// (OpenSSH 10.1, CVE-2025-61985, backported by distributions).
fn urldecode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                if v == 0 {
                    return None;
                }
                out.push(v);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// `valid_domain(name, 0)`: letters, digits, `.`, `-`, `_`, starting with a letter or digit,
/// no `..`; a trailing dot is dropped.
fn valid_domain(name: &str) -> Option<String> {
    let first = name.chars().next()?;
    if !first.is_ascii_alphanumeric() || name.contains("..") {
        return None;
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return None;
    }
    Some(name.strip_suffix('.').unwrap_or(name).to_string())
}

/// ssh.c `valid_hostname`, with the comma OpenSSH 10.0 added (Debian backports it to 9.2 as
/// prohibit-comma-in-hostnames). Older clients took a comma, but no real host name has one:
/// herossh applies the current rules to every client.
pub fn valid_hostname(s: &str) -> bool {
    !s.starts_with('-')
        && !s
            .chars()
            .any(|c| "'`\"$\\;&<>|(){},".contains(c) || c.is_whitespace() || c.is_control())
}

/// ssh.c `valid_ruser`.
pub fn valid_ruser(s: &str) -> bool {
    if s.starts_with('-') {
        return false;
    }
    let b: Vec<char> = s.chars().collect();
    for (i, &c) in b.iter().enumerate() {
        if c.is_control() || "'`\";&<>|(){}".contains(c) {
            return false;
        }
        if c.is_whitespace() && b.get(i + 1) == Some(&'-') {
            return false;
        }
        if c == '\\' && i + 1 == b.len() {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (Option<String>, String, Option<u16>) {
        let d = Destination::parse(s).unwrap();
        (d.user, d.host, d.port)
    }

    #[test]
    fn ssh_forms() {
        assert_eq!(p("foo"), (None, "foo".into(), None));
        assert_eq!(p("bob@foo"), (Some("bob".into()), "foo".into(), None));
        // The last @ separates; a port is not a port without ssh://.
        assert_eq!(p("a@b@foo"), (Some("a@b".into()), "foo".into(), None));
        assert_eq!(
            p("bob@foo:2022"),
            (Some("bob".into()), "foo:2022".into(), None)
        );
        assert_eq!(
            p("ssh://bob@foo:2022"),
            (Some("bob".into()), "foo".into(), Some(2022))
        );
        assert_eq!(
            p("ssh://bob;fp=x@foo/"),
            (Some("bob".into()), "foo".into(), None)
        );
        assert_eq!(
            p("ssh://a%41+b@foo."),
            (Some("aA b".into()), "foo".into(), None)
        );
        for bad in [
            "@foo",
            "ssh://@foo",
            "ssh://foo:0",
            "ssh://foo/path",
            "ssh://[::1]:22",
            "ssh://-x",
            "a;b",
            "a;b@foo",
            "-oProxyCommand=x",
        ] {
            assert!(Destination::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn port_forms() {
        let d = Destination::parse_with_port("git@heroku.com").unwrap();
        assert_eq!(
            (d.user.as_deref(), d.host.as_str(), d.port),
            (Some("git"), "heroku.com", None)
        );
        let d = Destination::parse_with_port("root@127.0.0.1:2222").unwrap();
        assert_eq!((d.host.as_str(), d.port), ("127.0.0.1", Some(2222)));
        let d = Destination::parse_with_port("[::1]:22").unwrap();
        assert_eq!((d.host.as_str(), d.port), ("::1", Some(22)));
        let d = Destination::parse_with_port("::1").unwrap();
        assert_eq!((d.host.as_str(), d.port), ("::1", None));
        let d = Destination::parse_with_port("ssh://root@host:2200").unwrap();
        assert_eq!(
            (d.user.as_deref(), d.host.as_str(), d.port),
            (Some("root"), "host", Some(2200))
        );
        for bad in ["host:0", "host:99999", "@host", "user@", "a b"] {
            assert!(Destination::parse_with_port(bad).is_err(), "{bad}");
        }
    }
}
