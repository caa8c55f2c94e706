//! `<data dir>/login.json`, the Heroku CLI's record of which account's token is in the system
//! keychain. The keychain is keyed by email, and nothing else says which email to ask for, so
//! without this file the keychain tier cannot be read. herossh reads and writes exactly the
//! file the Heroku CLI (v11.8+) does, so a login with either tool is seen by the other.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Result, io_error};
use crate::fsutil::{self, Mode};

#[derive(Debug, Serialize, Deserialize)]
struct LoginJson {
    account: String,
}

/// The Heroku CLI's data directory: `HEROKU_DATA_DIR`, else `$XDG_DATA_HOME/heroku`, else
/// `~/.local/share/heroku`.
pub fn data_dir() -> PathBuf {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(d) = non_empty("HEROKU_DATA_DIR") {
        return PathBuf::from(d);
    }
    match non_empty("XDG_DATA_HOME") {
        Some(x) => PathBuf::from(x).join("heroku"),
        None => crate::paths::home_dir().join(".local/share/heroku"),
    }
}

pub fn path() -> PathBuf {
    data_dir().join("login.json")
}

/// The account recorded in `path`. A missing file is `None`; so is an unreadable or
/// malformed one (logged at `-v`): login.json only points at the keychain, so a broken one
/// must not stop the netrc tier from working.
pub fn read(path: &Path) -> Option<String> {
    let bytes = match fsutil::read_limited(path, fsutil::FileKind::LoginJson) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::debug!("credentials: cannot read {}: {e}", path.display());
            return None;
        }
    };
    match serde_json::from_slice::<LoginJson>(&bytes) {
        Ok(j) if !j.account.trim().is_empty() => Some(j.account),
        Ok(_) => None,
        Err(e) => {
            tracing::debug!("credentials: ignoring malformed {}: {e}", path.display());
            None
        }
    }
}

/// Record `account` (directory 0700, file 0600, as the Heroku CLI creates them).
pub fn write(path: &Path, account: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        fsutil::ensure_dir(dir, 0o700)?;
    }
    let json = serde_json::to_vec(&LoginJson {
        account: account.to_string(),
    })
    .map_err(|e| crate::error::Error::failed(format!("cannot encode login.json: {e}")))?;
    fsutil::atomic_write(path, &json, Mode::Exactly(0o600))?;
    Ok(())
}

/// Delete the file; returns whether it existed.
pub fn remove(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io_error(path, "remove", e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_modes_and_tolerance() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("heroku/login.json");
        assert_eq!(read(&p), None);
        write(&p, "u@example.com").unwrap();
        assert_eq!(
            std::fs::read(&p).unwrap(),
            br#"{"account":"u@example.com"}"#
        );
        assert_eq!(fsutil::mode_of(&p), Some(0o600));
        assert_eq!(fsutil::mode_of(p.parent().unwrap()), Some(0o700));
        assert_eq!(read(&p).as_deref(), Some("u@example.com"));
        std::fs::write(&p, b"{not json").unwrap();
        assert_eq!(read(&p), None);
        std::fs::write(&p, br#"{"account":""}"#).unwrap();
        assert_eq!(read(&p), None);
        assert!(remove(&p).unwrap());
        assert!(!remove(&p).unwrap());
    }
}
