//! `%` tokens, `${ENV}` references and `~`, expanded where OpenSSH expands them, with its
//! words when it refuses (`misc.c` `vdollar_percent_expand` and its three wrappers).
//!
//! OpenSSH refuses unknown tokens and unset variables instead of guessing; so do we, because a
//! silently half-expanded ControlPath or IdentityAgent is worse than an error.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// Values for the `%` tokens (`%C %d %h %i %k %L %l %n %p %r %u`), computed once per resolution.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    map: HashMap<char, String>,
}

/// Why an expansion failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Failure {
    /// A malformed string ("unknown key %Q", "invalid format", a `${` without `}`).
    Parse(String),
    /// `${VAR}` names an unset variable.
    MissingVar(String),
}

fn expand(s: &str, dollar: bool, tokens: Option<&Tokens>) -> std::result::Result<String, Failure> {
    let mut out = String::with_capacity(s.len());
    let mut missing = None;
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if dollar && let Some(after) = rest.strip_prefix("${") {
            let Some(end) = after.find('}') else {
                return Err(Failure::Parse(format!(
                    "environment variable '{after}' missing closing '}}'"
                )));
            };
            let name = &after[..end];
            if name.is_empty() {
                return Err(Failure::Parse("zero-length environment variable".into()));
            }
            match std::env::var(name) {
                Ok(v) => out.push_str(&v),
                Err(_) => {
                    missing.get_or_insert_with(|| format!("env var ${{{name}}} has no value"));
                }
            }
            rest = &after[end + 1..];
            continue;
        }
        let Some(t) = tokens.filter(|_| c == '%') else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        let mut it = rest[1..].chars();
        match it.next() {
            Some('%') => out.push('%'),
            Some(k) => match t.map.get(&k) {
                Some(v) => out.push_str(v),
                None => return Err(Failure::Parse(format!("unknown key %{k}"))),
            },
            None => return Err(Failure::Parse("invalid format".into())),
        }
        let skip = 1 + rest[1..].chars().next().map_or(0, char::len_utf8);
        rest = &rest[skip..];
    }
    match missing {
        Some(m) => Err(Failure::MissingVar(m)),
        None => Ok(out),
    }
}

fn vdollar(msg: &str) -> String {
    format!("vdollar_percent_expand: {msg}")
}

impl Tokens {
    pub fn new() -> Self {
        Tokens::default()
    }

    pub fn set(&mut self, key: char, value: impl Into<String>) {
        self.map.insert(key, value.into());
    }

    /// `percent_expand`: `%x` tokens (HostName, Match exec, RemoteCommand, forward paths).
    pub fn percent(&self, s: &str) -> Result<String> {
        expand(s, false, Some(self)).map_err(|f| match f {
            Failure::Parse(m) | Failure::MissingVar(m) => {
                Error::usage(format!("{}\npercent_expand: failed", vdollar(&m)))
            }
        })
    }

    /// `default_client_percent_dollar_expand`: `%x` tokens and `${VAR}` in one pass (an
    /// environment value is not scanned for tokens): ControlPath, IdentityAgent, known_hosts
    /// files, ForwardAgent sockets, identity files.
    pub fn percent_dollar(&self, s: &str) -> Result<String> {
        expand(s, true, Some(self)).map_err(|f| match f {
            Failure::Parse(m) => {
                Error::usage(format!("{}\npercent_dollar_expand: failed", vdollar(&m)))
            }
            Failure::MissingVar(m) => Error::usage(format!(
                "{}\ninvalid environment variable expansion",
                vdollar(&m)
            )),
        })
    }
}

/// `dollar_expand`: `${NAME}` from the environment; `$` not followed by `{` is literal. The
/// error is ssh's first line ("vdollar_percent_expand: env var ${X} has no value").
pub fn dollar(s: &str) -> Result<String> {
    expand(s, true, None).map_err(|f| match f {
        Failure::Parse(m) | Failure::MissingVar(m) => Error::usage(vdollar(&m)),
    })
}

/// ssh's `tilde_expand_filename`: `~`, `~/x` and `~user/x` from the passwd entries (never
/// `$HOME`, see `openssh::home`); anything else unchanged.
pub fn tilde(s: &str) -> String {
    crate::openssh::home::expand(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_tokens() {
        let mut t = Tokens::new();
        t.set('h', "example.com");
        t.set('p', "22");
        assert_eq!(t.percent("%h:%p%%").unwrap(), "example.com:22%");
        assert_eq!(
            t.percent("%x").unwrap_err().message,
            "vdollar_percent_expand: unknown key %x\npercent_expand: failed"
        );
        assert!(t.percent("50%").is_err());
        assert_eq!(t.percent("${HOME}").unwrap(), "${HOME}");
    }

    #[test]
    fn dollar_refs() {
        // PATH is set in every test environment.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(dollar("a${PATH}b").unwrap(), format!("a{path}b"));
        assert_eq!(dollar("$PATH").unwrap(), "$PATH");
        assert_eq!(
            dollar("${HEROSSH_SURELY_UNSET_VAR}").unwrap_err().message,
            "vdollar_percent_expand: env var ${HEROSSH_SURELY_UNSET_VAR} has no value"
        );
        assert!(dollar("${PATH").is_err());
        let t = Tokens::new();
        assert_eq!(
            t.percent_dollar("${HEROSSH_SURELY_UNSET_VAR}")
                .unwrap_err()
                .message,
            "vdollar_percent_expand: env var ${HEROSSH_SURELY_UNSET_VAR} has no value\n\
             invalid environment variable expansion"
        );
    }
}
