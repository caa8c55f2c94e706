//! The credential resolver: the one place that knows where a Heroku API token comes from and
//! where login stores it. Every command that calls the Platform API gets its token from
//! [`require`], so precedence can never differ between commands.
//!
//! Tiers, first hit wins (DESIGN.md, and the Heroku CLI v11.8+ order, so both tools agree):
//! 1. `HEROKU_API_KEY` (non-empty);
//! 2. `HEROKU_NETRC_WRITE=true` (any case): netrc only, the keychain is skipped;
//! 3. the system keychain ([`keychain`]), for the account recorded in login.json
//!    ([`login_state`]);
//! 4. `~/.netrc` ([`netrc`]), `machine <api host>`.
//!
//! A keychain that cannot be reached (no session bus, no provider, locked) is not an error:
//! the resolver falls through to netrc and says why only at `-v`.

pub mod git_helper;
pub mod keychain;
pub mod login_state;
pub mod netrc;
pub mod storage;

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::platform::Endpoint;

/// Which tier supplied the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Env,
    Netrc,
    Keychain,
}

/// A token or passphrase that cannot be printed by accident: `Debug` and `Display` redact it,
/// the only way to read it is [`Secret::expose`], which is easy to grep for, and its bytes are
/// wiped when it is dropped (so a core dump or swapped page taken later does not hold it).
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

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
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

/// `HEROKU_API_KEY`, when set and non-empty.
fn env_key() -> Option<Secret> {
    std::env::var("HEROKU_API_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
        .map(|k| Secret::new(k.trim()))
}

/// `HEROKU_NETRC_WRITE=true` (case-insensitive) forces netrc for reading and writing.
pub fn netrc_forced() -> bool {
    std::env::var("HEROKU_NETRC_WRITE").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

/// The Heroku CLI's hint for a common typo: `HEROKU_API_TOKEN` is not read by either tool.
fn api_token_warning() -> Option<String> {
    let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    (set("HEROKU_API_TOKEN") && !set("HEROKU_API_KEY"))
        .then(|| "HEROKU_API_TOKEN is set but you probably meant HEROKU_API_KEY".to_string())
}

/// Resolve the token through the tiers; `Ok(None)` when no tier has one. Prints the
/// `HEROKU_API_TOKEN` warning on stderr, like the Heroku CLI.
pub fn resolve() -> Result<Option<Credentials>> {
    if let Some(w) = api_token_warning() {
        // Same prefix as `Ui::warn` without colour: the resolver has no Ui, and this one
        // line must reach every API command.
        crate::ui::output::stderr_line(&format!(" ›   Warning: {w}"));
    }
    resolve_tiers(&Endpoint::from_env())
}

/// Like [`resolve`], but "not logged in" (exit 4) when nothing is found.
pub fn require() -> Result<Credentials> {
    resolve()?.ok_or_else(not_logged_in)
}

/// The exit-4 error for "no tier has a token".
pub fn not_logged_in() -> Error {
    Error::auth(
        "not logged in: run `herossh auth login` (or `heroku login`), or set HEROKU_API_KEY",
    )
    .with_code("not_logged_in")
}

/// The tiers in order, without printing anything.
fn resolve_tiers(endpoint: &Endpoint) -> Result<Option<Credentials>> {
    if let Some(token) = env_key() {
        tracing::debug!("credentials: token from HEROKU_API_KEY");
        return Ok(Some(Credentials {
            token,
            source: Source::Env,
            account: None,
        }));
    }
    if netrc_forced() {
        tracing::debug!("credentials: HEROKU_NETRC_WRITE=true, keychain skipped");
    } else if let Some(c) = keychain_tier()? {
        return Ok(Some(c));
    }
    netrc_tier(endpoint)
}

/// The keychain tier; every reason it has nothing is logged at `-v` and falls through. Only
/// a wrong `HEROSSH_KEYCHAIN` / `HEROSSH_SECURITY_PROGRAM` is an error.
fn keychain_tier() -> Result<Option<Credentials>> {
    let backend = keychain::Backend::from_env()?;
    let login_json = login_state::path();
    let Some(account) = login_state::read(&login_json) else {
        tracing::debug!(
            "credentials: no account in {}, keychain skipped",
            login_json.display()
        );
        return Ok(None);
    };
    let who = account.clone();
    Ok(match backend.with(move |k| k.get(&who)) {
        Ok(Some(token)) => {
            tracing::debug!("credentials: token from the keychain for {account}");
            Some(Credentials {
                token,
                source: Source::Keychain,
                account: Some(account),
            })
        }
        Ok(None) => {
            tracing::debug!("credentials: no keychain item for {account}, trying netrc");
            None
        }
        Err(why) => {
            tracing::debug!("credentials: keychain unavailable ({why}), trying netrc");
            None
        }
    })
}

fn netrc_tier(endpoint: &Endpoint) -> Result<Option<Credentials>> {
    let path = netrc::default_path();
    let file = netrc::Netrc::load(&path)?;
    let Some(entry) = file.machine(&endpoint.api_host) else {
        tracing::debug!(
            "credentials: no `machine {}` in {}",
            endpoint.api_host,
            path.display()
        );
        return Ok(None);
    };
    match entry.password().filter(|p| !p.is_empty()) {
        Some(p) => {
            tracing::debug!(
                "credentials: token from {} (machine {})",
                path.display(),
                endpoint.api_host
            );
            Ok(Some(Credentials {
                token: Secret::new(p),
                source: Source::Netrc,
                account: entry.login().map(str::to_string),
            }))
        }
        None => {
            tracing::debug!(
                "credentials: `machine {}` in {} has no password",
                endpoint.api_host,
                path.display()
            );
            Ok(None)
        }
    }
}

/// What `auth status` reports: the winning tier and everything that could surprise the user
/// about the others.
#[derive(Debug)]
pub struct Status {
    pub resolved: Option<Credentials>,
    pub endpoint: Endpoint,
    /// `Ok` when the keychain can be used now, else why not.
    pub keychain: std::result::Result<&'static str, keychain::Unavailable>,
    /// The account login.json names, if any.
    pub login_account: Option<String>,
    pub netrc_path: PathBuf,
    /// Where the winning token is kept, in words.
    pub stored: Option<String>,
    pub warnings: Vec<String>,
}

/// Inspect every tier. The winner comes from the same [`resolve_tiers`] every command uses.
pub fn status() -> Result<Status> {
    let endpoint = Endpoint::from_env();
    let resolved = resolve_tiers(&endpoint)?;
    let login_account = login_state::read(&login_state::path());
    let netrc_path = netrc::default_path();
    let netrc_file = netrc::Netrc::load(&netrc_path)?;
    let netrc_token = netrc_file
        .machine(&endpoint.api_host)
        .and_then(|e| e.password())
        .filter(|p| !p.is_empty())
        .map(Secret::new);
    let netrc_shown = crate::paths::display_tilde(&netrc_path);

    let who = login_account.clone();
    let probe = keychain::Backend::from_env()?.with(move |k| {
        k.check()?;
        // A read that fails (the macOS keychain only shows it is locked when an item is
        // read) makes the keychain unavailable here too, as it did for the resolver.
        let token = match who {
            Some(a) => k.get(&a)?,
            None => None,
        };
        Ok((k.name(), token))
    });
    let (availability, kc_token) = match probe {
        Ok((name, token)) => (Ok(name), token),
        Err(why) => (Err(why), None),
    };

    let mut warnings: Vec<String> = api_token_warning().into_iter().collect();
    let source = resolved.as_ref().map(|c| c.source);
    if source == Some(Source::Env) {
        let mut stored = Vec::new();
        if kc_token.is_some() {
            stored.push("the keychain".to_string());
        }
        if netrc_token.is_some() {
            stored.push(netrc_shown.clone());
        }
        if !stored.is_empty() {
            warnings.push(format!(
                "HEROKU_API_KEY is set and overrides the login stored in {}",
                stored.join(" and ")
            ));
        }
    }
    if netrc_path.exists() {
        if let Some(mode) = crate::fsutil::mode_of(&netrc_path).filter(|m| m & 0o077 != 0) {
            warnings.push(format!(
                "{netrc_shown} is readable or writable by other users (mode {mode:04o}): run `chmod 600 {netrc_shown}`"
            ));
        }
    }
    if let (Some(k), Some(n)) = (&kc_token, &netrc_token) {
        let host = &endpoint.api_host;
        warnings.push(if k == n {
            format!(
                "{netrc_shown} holds a plaintext copy of the keychain token (machine {host}): remove that entry"
            )
        } else if source == Some(Source::Netrc) {
            format!(
                "the plaintext token in {netrc_shown} (machine {host}) shadows a different token in the keychain"
            )
        } else {
            format!(
                "{netrc_shown} holds a different, unused plaintext token for machine {host} (the keychain wins): remove that entry"
            )
        });
    }

    let stored = resolved.as_ref().map(|c| match c.source {
        Source::Env => "the HEROKU_API_KEY environment variable".to_string(),
        Source::Keychain => format!(
            "the {} (service {}, account {})",
            availability.as_ref().copied().unwrap_or("keychain"),
            keychain::SERVICE,
            c.account.as_deref().unwrap_or("?")
        ),
        Source::Netrc => format!("{netrc_shown} (machine {})", endpoint.api_host),
    });

    Ok(Status {
        resolved,
        endpoint,
        keychain: availability,
        login_account,
        netrc_path,
        stored,
        warnings,
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
