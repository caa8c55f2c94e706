//! `[USER@]HOST[:PORT]` as validate takes it (also `[v6addr]:PORT`).

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Target {
    pub fn parse(s: &str) -> Result<Target> {
        let s = s.trim();
        let (user, rest) = match s.rsplit_once('@') {
            Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
            Some(_) => return Err(Error::usage(format!("invalid target `{s}`: empty user"))),
            None => (None, s),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (h, after) = inner
                .split_once(']')
                .ok_or_else(|| Error::usage(format!("invalid target `{s}`: missing `]`")))?;
            let port = match after.strip_prefix(':') {
                Some(p) => Some(parse_port(s, p)?),
                None if after.is_empty() => None,
                None => return Err(Error::usage(format!("invalid target `{s}`"))),
            };
            (h.to_string(), port)
        } else if rest.matches(':').count() == 1 {
            let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
            (h.to_string(), Some(parse_port(s, p)?))
        } else {
            (rest.to_string(), None)
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(Error::usage(format!("invalid target `{s}`: no host")));
        }
        Ok(Target { user, host, port })
    }
}

fn parse_port(target: &str, p: &str) -> Result<u16> {
    p.parse::<u16>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| Error::usage(format!("invalid port `{p}` in `{target}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = Target::parse("git@heroku.com").unwrap();
        assert_eq!(
            (t.user.as_deref(), t.host.as_str(), t.port),
            (Some("git"), "heroku.com", None)
        );
        let t = Target::parse("root@127.0.0.1:2222").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", Some(2222)));
        let t = Target::parse("[::1]:22").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", Some(22)));
        let t = Target::parse("::1").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", None));
        assert!(Target::parse("host:0").is_err());
        assert!(Target::parse("host:99999").is_err());
        assert!(Target::parse("@host").is_err());
        assert!(Target::parse("user@").is_err());
    }
}
