//! The freedesktop Secret Service (gnome-keyring, KeePassXC, KWallet's bridge) over D-Bus
//! through the pure-Rust `secret-service` crate (zbus; no libdbus, no `secret-tool` child, so
//! the token never sits on a command line). Items carry exactly the attributes
//! `service=heroku-cli`, `account=EMAIL` and the label `Heroku CLI`: the item `secret-tool
//! store --label='Heroku CLI' service heroku-cli account EMAIL` creates, which is how the
//! Heroku CLI stores its token on Linux. (The `keyring` crate searches on a `username`
//! attribute and would not see these items.)
//!
//! Built on Unix except macOS (where no Secret Service runs and the crate is not a
//! dependency).

use std::collections::HashMap;

use secret_service::blocking::{Collection, Item, SecretService};
use secret_service::{EncryptionType, Error as SsError};

use super::{KcResult, Keychain, LABEL, SERVICE, Unavailable};
use crate::credentials::Secret;

pub fn open() -> KcResult<Box<dyn Keychain>> {
    // Dh: the token crosses the bus encrypted, not in the clear.
    let ss = SecretService::connect(EncryptionType::Dh).map_err(why)?;
    Ok(Box::new(SecretServiceKeychain { ss }))
}

struct SecretServiceKeychain {
    ss: SecretService<'static>,
}

fn why(e: SsError) -> Unavailable {
    Unavailable(match e {
        SsError::Unavailable => "no Secret Service on the session bus".to_string(),
        SsError::Locked => "the keyring is locked".to_string(),
        SsError::Prompt => "unlocking the keyring needs a prompt that was dismissed".into(),
        SsError::NoResult => "no default keyring collection".to_string(),
        other => format!("Secret Service error: {other}"),
    })
}

fn attributes(account: &str) -> HashMap<&str, &str> {
    HashMap::from([("service", SERVICE), ("account", account)])
}

impl SecretServiceKeychain {
    fn collection(&self) -> KcResult<Collection<'_>> {
        let c = self.ss.get_default_collection().map_err(why)?;
        // Unlocking would pop up a password prompt; a command-line tool (or a git helper
        // running under git) must not block on one, so a locked keyring is "unavailable".
        if c.is_locked().map_err(why)? {
            return Err(why(SsError::Locked));
        }
        Ok(c)
    }

    /// Items for `account`; a match that is only found locked makes the keychain unavailable.
    fn items(&self, account: &str) -> KcResult<Vec<Item<'_>>> {
        let found = self.ss.search_items(attributes(account)).map_err(why)?;
        if found.unlocked.is_empty() && !found.locked.is_empty() {
            return Err(why(SsError::Locked));
        }
        Ok(found.unlocked)
    }
}

impl Keychain for SecretServiceKeychain {
    fn name(&self) -> &'static str {
        super::SECRET_SERVICE
    }

    fn check(&self) -> KcResult<()> {
        self.collection().map(|_| ())
    }

    fn get(&self, account: &str) -> KcResult<Option<Secret>> {
        let Some(item) = self.items(account)?.into_iter().next() else {
            return Ok(None);
        };
        let bytes = zeroize::Zeroizing::new(item.get_secret().map_err(why)?);
        let token = std::str::from_utf8(&bytes)
            .map_err(|_| Unavailable("the stored token is not UTF-8".into()))?
            .trim();
        Ok((!token.is_empty()).then(|| Secret::new(token)))
    }

    fn set(&self, account: &str, token: &Secret) -> KcResult<()> {
        self.collection()?
            .create_item(
                LABEL,
                attributes(account),
                token.expose().as_bytes(),
                true,
                "text/plain",
            )
            .map(|_| ())
            .map_err(why)
    }

    fn delete(&self, account: &str) -> KcResult<bool> {
        let items = self.items(account)?;
        let found = !items.is_empty();
        for item in items {
            item.delete().map_err(why)?;
        }
        Ok(found)
    }
}
