//! The system keychain tier: where the Heroku CLI (v11.8+) keeps the token when it can, keyed
//! by service `heroku-cli` and the account email from login.json.
//!
//! Every backend speaks the same small [`Keychain`] trait so the resolver and `auth
//! login/logout/status` never know which one they talk to. Any failure to reach a keychain is
//! an [`Unavailable`] with a reason, never an [`crate::error::Error`]: the resolver falls back
//! to netrc and only `-v` / `auth status` mention why. Only a wrong setting of the two
//! variables below is an error (a usage error), since silently ignoring it would store a
//! login somewhere the user did not ask for.
//!
//! The backends, one module each (the OS-specific part of the credential code):
//! - [`secret_service`] (Linux and other Unix except macOS): the freedesktop Secret Service.
//! - [`security`] (macOS): the macOS keychain through `/usr/bin/security`, exactly as the
//!   Heroku CLI reaches it. Plain Rust that runs a program, so it is built and tested on
//!   Linux too, against the stand-in in tests/support.
//! - Windows: the Heroku CLI uses the WinRT PasswordVault (resource `heroku-cli`); herossh has
//!   no binding for it yet and reports the keychain as unavailable, so netrc is used.
//!
//! Which one: `HEROSSH_KEYCHAIN=auto` (the default: this system's keychain), `secret-service`,
//! `macos` or `none`; `HEROSSH_SECURITY_PROGRAM` replaces `/usr/bin/security` (an absolute
//! path, never looked up on PATH, so a `security` earlier on PATH cannot see the token).

#[cfg(all(unix, not(target_os = "macos")))]
pub mod secret_service;
pub mod security;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use crate::credentials::Secret;
use crate::error::{Error, Result};

/// The service name / resource every Heroku CLI keychain entry uses.
pub const SERVICE: &str = "heroku-cli";
/// The label the Heroku CLI gives its Secret Service item.
pub const LABEL: &str = "Heroku CLI";
/// Backend names, as messages and `auth status` show them.
pub const SECRET_SERVICE: &str = "Secret Service";
pub const MACOS_KEYCHAIN: &str = "macOS keychain";
/// The `security` program the macOS backend runs unless `HEROSSH_SECURITY_PROGRAM` says
/// otherwise: Apple's, the one every Heroku CLI item trusts (PLATFORMS.md §1.9).
pub const DEFAULT_SECURITY_PROGRAM: &str = "/usr/bin/security";

/// Why the keychain cannot be used right now (no session bus, no provider, locked, ...).
/// The text never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type KcResult<T> = std::result::Result<T, Unavailable>;

/// A store of one token per account under the `heroku-cli` service.
pub trait Keychain {
    /// Human name for messages ([`SECRET_SERVICE`], [`MACOS_KEYCHAIN`]).
    fn name(&self) -> &'static str;
    /// Whether tokens can be read and written now, as far as can be told without touching an
    /// item (connected and unlocked; for `security`: the program is there).
    fn check(&self) -> KcResult<()>;
    /// The token stored for `account`, if any.
    fn get(&self, account: &str) -> KcResult<Option<Secret>>;
    /// Store (or replace) the token for `account`.
    fn set(&self, account: &str, token: &Secret) -> KcResult<()>;
    /// Delete the token for `account`; returns whether one existed.
    fn delete(&self, account: &str) -> KcResult<bool>;
}

/// How long herossh waits for the keychain before falling back to netrc. A provider that
/// never answers (a stopped daemon, an unlock dialog nobody sees) must not hang every API
/// command and every `git push` behind the credential helper.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// The keychain herossh uses, from `HEROSSH_KEYCHAIN` and `HEROSSH_SECURITY_PROGRAM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    SecretService,
    /// The macOS keychain through this `security` program (an absolute path).
    MacOs(PathBuf),
    /// No keychain, for this reason.
    Off(String),
}

impl Backend {
    /// The backend the environment selects. A value herossh does not understand is a usage
    /// error rather than a silent fallback to netrc.
    pub fn from_env() -> Result<Backend> {
        Self::choose(
            std::env::var_os("HEROSSH_KEYCHAIN"),
            std::env::var_os("HEROSSH_SECURITY_PROGRAM"),
        )
    }

    /// [`Backend::from_env`] for given values (unset or empty = the default).
    pub fn choose(keychain: Option<OsString>, program: Option<OsString>) -> Result<Backend> {
        let keychain = keychain.filter(|v| !v.is_empty());
        let name = match &keychain {
            None => "auto".to_string(),
            Some(v) => v
                .to_str()
                .map(|s| s.trim().to_ascii_lowercase())
                .unwrap_or_default(),
        };
        let security = || security_program(program.clone());
        match name.as_str() {
            "auto" => auto(security),
            "secret-service" => Ok(Backend::SecretService),
            "macos" => security().map(Backend::MacOs),
            "none" => Ok(Backend::Off(
                "turned off by HEROSSH_KEYCHAIN=none".to_string(),
            )),
            _ => Err(Error::usage(format!(
                "HEROSSH_KEYCHAIN={} is not one of auto, secret-service, macos, none",
                keychain.unwrap_or_default().to_string_lossy()
            ))),
        }
    }

    /// Run `op` on this keychain. Every call is bounded by [`TIMEOUT`]: the `security`
    /// backend kills a program that has not answered in time; a Secret Service call cannot be
    /// cancelled, so it runs on a helper thread that is abandoned when it has not answered
    /// (it ends with the process).
    pub fn with<T: Send + 'static>(
        &self,
        op: impl FnOnce(&dyn Keychain) -> KcResult<T> + Send + 'static,
    ) -> KcResult<T> {
        match self {
            Backend::Off(why) => Err(Unavailable(why.clone())),
            Backend::MacOs(program) => op(&security::SecurityKeychain::new(program.clone())),
            Backend::SecretService => {
                on_watched_thread(move || op(open_secret_service()?.as_ref()))
            }
        }
    }
}

/// `HEROSSH_SECURITY_PROGRAM`, else [`DEFAULT_SECURITY_PROGRAM`]. Never a PATH lookup: a
/// relative name is refused, so no `security` planted earlier on PATH receives the token.
fn security_program(program: Option<OsString>) -> Result<PathBuf> {
    match program.filter(|p| !p.is_empty()).map(PathBuf::from) {
        None => Ok(PathBuf::from(DEFAULT_SECURITY_PROGRAM)),
        Some(p) if p.is_absolute() => Ok(p),
        Some(p) => Err(Error::usage(format!(
            "HEROSSH_SECURITY_PROGRAM must be an absolute path (herossh never looks it up on PATH), not {}",
            p.display()
        ))),
    }
}

/// `HEROSSH_KEYCHAIN=auto`: this system's keychain.
#[cfg(target_os = "macos")]
fn auto(security: impl FnOnce() -> Result<PathBuf>) -> Result<Backend> {
    security().map(Backend::MacOs)
}

#[cfg(all(unix, not(target_os = "macos")))]
fn auto(_security: impl FnOnce() -> Result<PathBuf>) -> Result<Backend> {
    Ok(Backend::SecretService)
}

#[cfg(not(unix))]
fn auto(_security: impl FnOnce() -> Result<PathBuf>) -> Result<Backend> {
    Ok(Backend::Off(
        "the Windows PasswordVault is not supported by herossh yet".to_string(),
    ))
}

#[cfg(all(unix, not(target_os = "macos")))]
fn open_secret_service() -> KcResult<Box<dyn Keychain>> {
    secret_service::open()
}

#[cfg(not(all(unix, not(target_os = "macos"))))]
fn open_secret_service() -> KcResult<Box<dyn Keychain>> {
    Err(Unavailable(
        "this herossh is built without Secret Service support".to_string(),
    ))
}

/// Run `op` on a helper thread and give up on it after [`TIMEOUT`].
fn on_watched_thread<T: Send + 'static>(
    op: impl FnOnce() -> KcResult<T> + Send + 'static,
) -> KcResult<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keychain".into())
        .spawn(move || {
            let _ = tx.send(op());
        })
        .map_err(|e| Unavailable(format!("cannot start the keychain thread: {e}")))?;
    match rx.recv_timeout(TIMEOUT) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(Unavailable(format!(
            "no answer from the keychain within {} s",
            TIMEOUT.as_secs()
        ))),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(Unavailable(
            "the keychain thread stopped without an answer".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choose(keychain: Option<&str>, program: Option<&str>) -> Result<Backend> {
        Backend::choose(keychain.map(Into::into), program.map(Into::into))
    }

    #[test]
    fn selection_follows_the_two_variables() {
        let default_program = PathBuf::from("/usr/bin/security");
        #[cfg(target_os = "macos")]
        let auto = Backend::MacOs(default_program.clone());
        #[cfg(not(target_os = "macos"))]
        let auto = Backend::SecretService;
        for unset in [None, Some(""), Some("auto"), Some(" AUTO ")] {
            assert_eq!(choose(unset, None).unwrap(), auto, "{unset:?}");
        }
        assert_eq!(
            choose(Some("secret-service"), Some("/elsewhere/security")).unwrap(),
            Backend::SecretService
        );
        assert_eq!(
            choose(Some("macos"), None).unwrap(),
            Backend::MacOs(default_program)
        );
        assert_eq!(
            choose(Some("macOS"), Some("/opt/x/security")).unwrap(),
            Backend::MacOs("/opt/x/security".into())
        );
        assert_eq!(
            choose(Some("none"), Some("relative")).unwrap(),
            Backend::Off("turned off by HEROSSH_KEYCHAIN=none".into())
        );
    }

    #[test]
    fn wrong_settings_are_usage_errors() {
        let e = choose(Some("keychain"), None).unwrap_err();
        assert_eq!(e.kind, crate::error::Kind::Usage);
        assert_eq!(
            e.message,
            "HEROSSH_KEYCHAIN=keychain is not one of auto, secret-service, macos, none"
        );
        for relative in ["security", "bin/security", "./security"] {
            let e = choose(Some("macos"), Some(relative)).unwrap_err();
            assert_eq!(e.kind, crate::error::Kind::Usage);
            assert_eq!(
                e.message,
                format!(
                    "HEROSSH_SECURITY_PROGRAM must be an absolute path (herossh never looks it up on PATH), not {relative}"
                )
            );
        }
    }

    #[test]
    fn off_says_why_without_running_anything() {
        let r = Backend::Off("turned off by HEROSSH_KEYCHAIN=none".into())
            .with(|_| -> KcResult<()> { panic!("never called") });
        assert_eq!(
            r.unwrap_err(),
            Unavailable("turned off by HEROSSH_KEYCHAIN=none".into())
        );
    }
}
