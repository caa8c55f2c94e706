//! Where things live: the home directory, ~/.ssh, tilde expansion.
//!
//! herossh takes the home directory from `$HOME` (falling back to the passwd entry), unlike
//! OpenSSH, which always uses the passwd home. That is deliberate: it lets every test run in a
//! temporary home, and for a normal login `$HOME` and the passwd home are the same directory.

use std::path::{Path, PathBuf};

use crate::os::user;

/// The user's home directory: `$HOME` when set and non-empty, else the passwd entry.
pub fn home_dir() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(h) if !h.is_empty() => PathBuf::from(h),
        _ => passwd_home().unwrap_or_else(|| PathBuf::from("/")),
    }
}

/// `~/.ssh`.
pub fn ssh_dir() -> PathBuf {
    home_dir().join(".ssh")
}

/// Expand a leading `~` or `~/` to the home directory (`~user` is left as is).
pub fn expand_tilde(p: &str) -> PathBuf {
    if p == "~" {
        home_dir()
    } else if let Some(rest) = p.strip_prefix("~/") {
        home_dir().join(rest)
    } else {
        PathBuf::from(p)
    }
}

/// [`expand_tilde`] for a path given on the command line (a non-UTF-8 path is used as is).
pub fn expand_tilde_path(p: &Path) -> PathBuf {
    match p.to_str() {
        Some(s) => expand_tilde(s),
        None => p.to_path_buf(),
    }
}

/// Show a path under the home directory as `~/...`, the way users write it in configs.
pub fn display_tilde(p: &Path) -> String {
    let home = home_dir();
    match p.strip_prefix(&home) {
        Ok(rest) if home != Path::new("/") => format!("~/{}", rest.display()),
        _ => p.display().to_string(),
    }
}

/// The login name of the current user (passwd entry, else `$USER`).
pub fn local_user() -> String {
    user::passwd()
        .map(|pw| pw.name)
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "user".to_string())
}

/// The machine's host name, as ssh-keygen uses for the default comment.
pub fn hostname() -> String {
    user::hostname().unwrap_or_else(|| "localhost".to_string())
}

fn passwd_home() -> Option<PathBuf> {
    user::passwd().map(|pw| pw.home)
}
