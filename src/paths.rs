//! Where things live: the home directory, ~/.ssh, tilde expansion.
//!
//! herossh takes the home directory from `$HOME` (falling back to the passwd entry), unlike
//! OpenSSH, which always uses the passwd home. That is deliberate: it lets every test run in a
//! temporary home, and for a normal login `$HOME` and the passwd home are the same directory.

use std::ffi::CStr;
use std::path::{Path, PathBuf};

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
    passwd_field(|pw| {
        unsafe { CStr::from_ptr(pw.pw_name) }
            .to_string_lossy()
            .into_owned()
    })
    .or_else(|| std::env::var("USER").ok())
    .unwrap_or_else(|| "user".to_string())
}

/// The machine's host name, as ssh-keygen uses for the default comment.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "localhost".to_string()
    }
}

fn passwd_home() -> Option<PathBuf> {
    passwd_field(|pw| {
        PathBuf::from(
            unsafe { CStr::from_ptr(pw.pw_dir) }
                .to_string_lossy()
                .into_owned(),
        )
    })
}

fn passwd_field<T>(f: impl FnOnce(&libc::passwd) -> T) -> Option<T> {
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all pointers are valid for the call; getpwuid_r writes only into `pw` and `buf`.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::getuid(),
            &mut pw,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return None;
    }
    Some(f(&pw))
}
