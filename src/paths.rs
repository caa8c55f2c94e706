//! Where things live: the two home directories, ~/.ssh, tilde expansion for shell paths.
//!
//! Two homes, because two kinds of programs disagree: ssh (and ssh-keygen) take `~` from the
//! passwd entry, never from `$HOME`, so every ssh path (`~/.ssh`, keys, known_hosts, the
//! config) comes from [`crate::openssh::home`]; shells and the Heroku CLI (Node's
//! `os.homedir()`) use `$HOME`, so `~/.netrc`, the Heroku data directory, the cache and the
//! `~` in commands printed for a shell come from [`home_dir`]. For a normal login they are the
//! same directory; where they are not (`sudo -E`, containers, scripts exporting `HOME`),
//! doctor and validate say so.

use std::path::{Path, PathBuf};

use crate::os::user;

/// The user's home directory: `$HOME` when set and non-empty, else the passwd entry.
pub fn home_dir() -> PathBuf {
    match std::env::var_os("HOME") {
        Some(h) if !h.is_empty() => PathBuf::from(h),
        _ => crate::openssh::home::passwd()
            .map(|pw| pw.home.clone())
            .unwrap_or_else(|| PathBuf::from("/")),
    }
}

/// `~/.ssh` as ssh means it (the passwd home's).
pub fn ssh_dir() -> PathBuf {
    crate::openssh::home::ssh_dir()
}

/// Expand a leading `~` or `~/` to `$HOME`, as a shell would have (`~user` is left as is):
/// for paths given on herossh's command line.
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

/// Show a path under `$HOME` as `~/...`, so that a command printed for a shell means it.
pub fn display_tilde(p: &Path) -> String {
    let home = home_dir();
    match p.strip_prefix(&home) {
        Ok(rest) if home != Path::new("/") => format!("~/{}", rest.display()),
        _ => p.display().to_string(),
    }
}

/// The login name of the current user (passwd entry, else `$USER`).
pub fn local_user() -> String {
    crate::openssh::home::passwd()
        .map(|pw| pw.name.clone())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "user".to_string())
}

/// The machine's host name, as ssh-keygen uses for the default comment.
pub fn hostname() -> String {
    user::hostname().unwrap_or_else(|| "localhost".to_string())
}
