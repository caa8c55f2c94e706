//! `%` tokens and `${ENV}` references, expanded in the keywords where OpenSSH expands them.
//!
//! OpenSSH refuses unknown tokens and unset variables instead of guessing; so do we, with its
//! wording, because a silently half-expanded ControlPath or IdentityAgent is worse than an
//! error.

use std::collections::HashMap;

use crate::error::{Error, Result};

/// Values for the `%` tokens (`%C %d %h %i %k %L %l %n %p %r %u`), computed once per resolution.
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    map: HashMap<char, String>,
}

impl Tokens {
    pub fn new() -> Self {
        Tokens::default()
    }

    pub fn set(&mut self, key: char, value: impl Into<String>) {
        self.map.insert(key, value.into());
    }

    /// Expand `%x` tokens limited to `allowed` (every known token when `None`).
    pub fn percent(&self, s: &str, allowed: Option<&str>) -> Result<String> {
        let mut out = String::with_capacity(s.len());
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('%') => out.push('%'),
                Some(k) => match self.map.get(&k) {
                    Some(v) if allowed.is_none_or(|a| a.contains(k)) => out.push_str(v),
                    _ => {
                        return Err(Error::usage(format!(
                            "percent_expand: unknown key %{k} in \"{s}\""
                        )));
                    }
                },
                None => {
                    return Err(Error::usage(format!(
                        "percent_expand: invalid format \"{s}\""
                    )));
                }
            }
        }
        Ok(out)
    }
}

/// Expand `${NAME}` from the environment; `$` not followed by `{` is literal. An unset
/// variable is an error, as in OpenSSH's `dollar_expand`.
pub fn dollar(s: &str) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find("${") {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| Error::usage(format!("invalid environment reference in \"{s}\"")))?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(Error::usage(format!(
                "invalid environment variable name \"{name}\""
            )));
        }
        match std::env::var(name) {
            Ok(v) => out.push_str(&v),
            Err(_) => {
                return Err(Error::usage(format!("env var ${{{name}}} has no value")));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Would [`dollar`] succeed? OpenSSH checks this while reading IdentityAgent and ForwardAgent,
/// even in blocks that do not apply.
pub fn dollar_ok(s: &str) -> bool {
    dollar(s).is_ok()
}

/// `~` and `~/` from the home directory (see `paths`); anything else unchanged.
pub fn tilde(s: &str) -> String {
    if s == "~" || s.starts_with("~/") {
        crate::paths::expand_tilde(s).to_string_lossy().into_owned()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_tokens() {
        let mut t = Tokens::new();
        t.set('h', "example.com");
        t.set('p', "22");
        assert_eq!(t.percent("%h:%p%%", None).unwrap(), "example.com:22%");
        assert!(t.percent("%h", Some("p")).is_err());
        assert!(t.percent("%x", None).is_err());
        assert!(t.percent("50%", None).is_err());
    }

    #[test]
    fn dollar_refs() {
        // PATH is set in every test environment.
        let path = std::env::var("PATH").unwrap();
        assert_eq!(dollar("a${PATH}b").unwrap(), format!("a{path}b"));
        assert_eq!(dollar("$PATH").unwrap(), "$PATH");
        assert!(dollar("${HEROSSH_SURELY_UNSET_VAR}").is_err());
        assert!(dollar("${PATH").is_err());
    }
}
