//! Where `auth login` puts a verified token and what `auth logout` takes away, decided exactly
//! as the Heroku CLI decides it so the two tools share one login: the keychain plus
//! login.json when a keychain is usable and `HEROKU_NETRC_WRITE` is not true, otherwise the
//! netrc entries for both the API host and the git host.

use std::path::PathBuf;

use crate::credentials::{Secret, keychain, login_state, netrc, netrc_forced};
use crate::error::Result;
use crate::platform::Endpoint;

/// Where a login was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// The named keychain, plus login.json at this path.
    Keychain(&'static str, PathBuf),
    /// This netrc file (the symlink target when ~/.netrc is a link).
    Netrc(PathBuf),
}

/// Store `token` for `account`.
pub fn store(endpoint: &Endpoint, account: &str, token: &Secret) -> Result<Stored> {
    if netrc_forced() {
        tracing::debug!("credentials: HEROKU_NETRC_WRITE=true, storing in netrc");
    } else {
        let (who, secret) = (account.to_string(), token.clone());
        let kc = keychain::Backend::from_env()?.with(move |k| {
            k.check()?;
            k.set(&who, &secret)?;
            Ok(k.name())
        });
        match kc {
            Ok(name) => {
                let path = login_state::path();
                login_state::write(&path, account)?;
                return Ok(Stored::Keychain(name, path));
            }
            Err(why) => {
                tracing::debug!("credentials: keychain unavailable ({why}), storing in netrc");
            }
        }
    }
    let path = netrc::default_path();
    let mut file = netrc::Netrc::load(&path)?;
    file.set(&endpoint.api_host, account, token.expose())?;
    file.set(&endpoint.git_host, account, token.expose())?;
    Ok(Stored::Netrc(file.save(&path)?))
}

/// What logout removed, and what it had to leave.
#[derive(Debug, Default)]
pub struct Forgotten {
    /// The keychain item (account) that was deleted.
    pub keychain_account: Option<String>,
    pub login_json: Option<PathBuf>,
    /// The netrc file that lost its Heroku entries.
    pub netrc: Option<PathBuf>,
    /// Things that could not be removed, in words.
    pub problems: Vec<String>,
}

impl Forgotten {
    pub fn anything(&self) -> bool {
        self.keychain_account.is_some() || self.login_json.is_some() || self.netrc.is_some()
    }
}

/// Remove the keychain item of the login.json account, login.json itself, and both netrc
/// machines. When the keychain item cannot be deleted (keychain locked or gone), login.json
/// is kept: it is the only record of which item to delete on the next try.
pub fn forget(endpoint: &Endpoint) -> Result<Forgotten> {
    let mut done = Forgotten::default();
    let login_json = login_state::path();
    if let Some(account) = login_state::read(&login_json) {
        let who = account.clone();
        match keychain::Backend::from_env()?.with(move |k| k.delete(&who)) {
            Ok(found) => {
                if found {
                    done.keychain_account = Some(account);
                }
                if login_state::remove(&login_json)? {
                    done.login_json = Some(login_json);
                }
            }
            Err(why) => done.problems.push(format!(
                "could not remove the keychain item for {account} ({why}); kept {} so a later logout can",
                crate::paths::display_tilde(&login_json)
            )),
        }
    } else if login_state::remove(&login_json)? {
        // A malformed login.json points at nothing; removing it is safe.
        done.login_json = Some(login_json);
    }

    let path = netrc::default_path();
    let mut file = netrc::Netrc::load(&path)?;
    let api = file.remove(&endpoint.api_host);
    let git = file.remove(&endpoint.git_host);
    if api || git {
        done.netrc = Some(file.save(&path)?);
    }
    Ok(done)
}
