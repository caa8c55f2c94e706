//! The system keychain tier: where the Heroku CLI (v11.8+) keeps the token when it can, keyed
//! by service `heroku-cli` and the account email from login.json.
//!
//! Every backend speaks the same small [`Keychain`] trait so the resolver and `auth
//! login/logout/status` never know which one they talk to. Any failure to reach a keychain is
//! an [`Unavailable`] with a reason, never an [`crate::error::Error`]: the resolver falls back
//! to netrc and only `-v` / `auth status` mention why.
//!
//! - Linux (and other Unix): the Secret Service over D-Bus through the pure-Rust
//!   `secret-service` crate (zbus; no libdbus, no `secret-tool` child, so the token never sits
//!   on a command line). Items carry exactly the attributes `service=heroku-cli`,
//!   `account=EMAIL` and the label `Heroku CLI`, the item `secret-tool store --label='Heroku
//!   CLI' service heroku-cli account EMAIL` creates. (The `keyring` crate searches on a
//!   `username` attribute and would not see these items.)
//! - macOS: a generic password, service `heroku-cli`, account EMAIL, through the Security
//!   framework's C API. NOT BUILT OR TESTED HERE (this project builds and tests on Linux; the
//!   module was only type-checked in a scratch crate, never linked or run).
//! - Windows: the Heroku CLI uses the WinRT PasswordVault (resource `heroku-cli`); herossh has
//!   no binding for it and reports the keychain as unavailable, so netrc is used.

use std::fmt;
use std::sync::mpsc;
use std::time::Duration;

use crate::credentials::Secret;

/// The service name / resource every Heroku CLI keychain entry uses.
pub const SERVICE: &str = "heroku-cli";
/// The label the Heroku CLI gives its Secret Service item.
pub const LABEL: &str = "Heroku CLI";

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
    /// Human name for messages ("Secret Service", "macOS keychain").
    fn name(&self) -> &'static str;
    /// Whether tokens can be read and written now (connected and unlocked).
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

/// Connect to this platform's keychain and run `op` on it, on a helper thread: when the
/// keychain has not answered within [`TIMEOUT`] the result is [`Unavailable`] (the thread is
/// abandoned; it ends with the process).
pub fn with<T: Send + 'static>(
    op: impl FnOnce(&dyn Keychain) -> KcResult<T> + Send + 'static,
) -> KcResult<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keychain".into())
        .spawn(move || {
            let _ = tx.send(platform::open().and_then(|k| op(k.as_ref())));
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

#[cfg(all(unix, not(target_os = "macos")))]
mod platform {
    //! The freedesktop Secret Service (gnome-keyring, KeePassXC, KWallet's bridge).

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
            "Secret Service"
        }

        fn check(&self) -> KcResult<()> {
            self.collection().map(|_| ())
        }

        fn get(&self, account: &str) -> KcResult<Option<Secret>> {
            let Some(item) = self.items(account)?.into_iter().next() else {
                return Ok(None);
            };
            let bytes = item.get_secret().map_err(why)?;
            let token = String::from_utf8(bytes)
                .map_err(|_| Unavailable("the stored token is not UTF-8".into()))?;
            let token = token.trim();
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
}

#[cfg(target_os = "macos")]
mod platform {
    //! macOS keychain through the Security framework's C API (SecKeychain generic passwords:
    //! the same item `security add-generic-password -s heroku-cli -a EMAIL` makes, without
    //! putting the token on `security`'s command line).
    //!
    //! NOT BUILT OR TESTED: this project is built and tested on Linux only (this module was
    //! type-checked once in a scratch crate, never linked or run). Review and test on a Mac
    //! before relying on it.

    use std::ffi::c_void;
    use std::ptr;

    use super::{KcResult, Keychain, SERVICE, Unavailable};
    use crate::credentials::Secret;

    type OSStatus = i32;
    const ERR_SEC_SUCCESS: OSStatus = 0;
    const ERR_SEC_ITEM_NOT_FOUND: OSStatus = -25300;

    #[link(name = "Security", kind = "framework")]
    unsafe extern "C" {
        fn SecKeychainFindGenericPassword(
            keychain: *const c_void,
            service_len: u32,
            service: *const u8,
            account_len: u32,
            account: *const u8,
            password_len: *mut u32,
            password: *mut *mut c_void,
            item: *mut *mut c_void,
        ) -> OSStatus;
        fn SecKeychainAddGenericPassword(
            keychain: *const c_void,
            service_len: u32,
            service: *const u8,
            account_len: u32,
            account: *const u8,
            password_len: u32,
            password: *const u8,
            item: *mut *mut c_void,
        ) -> OSStatus;
        fn SecKeychainItemModifyAttributesAndData(
            item: *mut c_void,
            attrs: *const c_void,
            length: u32,
            data: *const u8,
        ) -> OSStatus;
        fn SecKeychainItemDelete(item: *mut c_void) -> OSStatus;
        fn SecKeychainItemFreeContent(attrs: *const c_void, data: *mut c_void) -> OSStatus;
    }
    #[link(name = "CoreFoundation", kind = "framework")]
    unsafe extern "C" {
        fn CFRelease(cf: *const c_void);
    }

    pub fn open() -> KcResult<Box<dyn Keychain>> {
        Ok(Box::new(MacKeychain))
    }

    struct MacKeychain;

    fn fail(status: OSStatus) -> Unavailable {
        Unavailable(format!("macOS keychain error (OSStatus {status})"))
    }

    /// Find the item; returns (item ref, password bytes) on success.
    fn find(account: &str) -> KcResult<Option<(*mut c_void, Vec<u8>)>> {
        let mut len: u32 = 0;
        let mut data: *mut c_void = ptr::null_mut();
        let mut item: *mut c_void = ptr::null_mut();
        // SAFETY: pointers and lengths describe live buffers; out-params are valid.
        let status = unsafe {
            SecKeychainFindGenericPassword(
                ptr::null(),
                SERVICE.len() as u32,
                SERVICE.as_ptr(),
                account.len() as u32,
                account.as_ptr(),
                &mut len,
                &mut data,
                &mut item,
            )
        };
        match status {
            ERR_SEC_SUCCESS => {
                // SAFETY: on success `data` holds `len` bytes owned by the framework.
                let bytes =
                    unsafe { std::slice::from_raw_parts(data as *const u8, len as usize) }.to_vec();
                unsafe { SecKeychainItemFreeContent(ptr::null(), data) };
                Ok(Some((item, bytes)))
            }
            ERR_SEC_ITEM_NOT_FOUND => Ok(None),
            s => Err(fail(s)),
        }
    }

    impl Keychain for MacKeychain {
        fn name(&self) -> &'static str {
            "macOS keychain"
        }
        fn check(&self) -> KcResult<()> {
            Ok(())
        }
        fn get(&self, account: &str) -> KcResult<Option<Secret>> {
            Ok(find(account)?.map(|(item, bytes)| {
                unsafe { CFRelease(item) };
                Secret::new(String::from_utf8_lossy(&bytes).trim().to_string())
            }))
        }
        fn set(&self, account: &str, token: &Secret) -> KcResult<()> {
            let pw = token.expose().as_bytes();
            let status = match find(account)? {
                Some((item, _)) => unsafe {
                    let s = SecKeychainItemModifyAttributesAndData(
                        item,
                        ptr::null(),
                        pw.len() as u32,
                        pw.as_ptr(),
                    );
                    CFRelease(item);
                    s
                },
                None => unsafe {
                    SecKeychainAddGenericPassword(
                        ptr::null(),
                        SERVICE.len() as u32,
                        SERVICE.as_ptr(),
                        account.len() as u32,
                        account.as_ptr(),
                        pw.len() as u32,
                        pw.as_ptr(),
                        ptr::null_mut(),
                    )
                },
            };
            if status == ERR_SEC_SUCCESS {
                Ok(())
            } else {
                Err(fail(status))
            }
        }
        fn delete(&self, account: &str) -> KcResult<bool> {
            match find(account)? {
                None => Ok(false),
                Some((item, _)) => {
                    let s = unsafe { SecKeychainItemDelete(item) };
                    unsafe { CFRelease(item) };
                    if s == ERR_SEC_SUCCESS {
                        Ok(true)
                    } else {
                        Err(fail(s))
                    }
                }
            }
        }
    }
}

#[cfg(windows)]
mod platform {
    //! The Heroku CLI stores its token in the WinRT PasswordVault (resource `heroku-cli`).
    //! herossh has no WinRT binding (NOT COMPILED OR TESTED HERE: Linux-only build), so the
    //! keychain is reported unavailable and the netrc tier (`%USERPROFILE%\_netrc` is not read
    //! either: herossh uses `~/.netrc` or `$NETRC`) is used.

    use super::{KcResult, Keychain, Unavailable};

    pub fn open() -> KcResult<Box<dyn Keychain>> {
        Err(Unavailable(
            "the Windows PasswordVault is not supported by herossh yet".into(),
        ))
    }
}
