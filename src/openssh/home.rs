//! The home directory as ssh sees it: the passwd entry of the real user id.
//!
//! ssh never reads `$HOME`: `~` in ssh_config, `%d`, the default `~/.ssh/config`, the default
//! identity files and known_hosts all come from `getpwuid(getuid())->pw_dir`. Under `sudo -E`,
//! in containers, or with a `HOME` exported by a script, `$HOME` points elsewhere, and a key
//! "put in ~/.ssh" there is invisible to ssh. So every ssh-related path herossh computes comes
//! from here, and `paths::home_dir` (`$HOME`, which shells and the Heroku CLI use) is kept for
//! what is not ssh's.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub use crate::os::user::Passwd;

/// The passwd entry of the real uid, looked up once per process, or None when there is none
/// (ssh itself then refuses to run: "No user exists for uid N").
pub fn passwd() -> Option<&'static Passwd> {
    static PW: OnceLock<Option<Passwd>> = OnceLock::new();
    PW.get_or_init(crate::os::user::passwd).as_ref()
}

/// ssh's home directory: the passwd entry's, else `$HOME` (where herossh has to answer
/// something, with [`home_mismatch`] saying so).
pub fn dir() -> PathBuf {
    match passwd() {
        Some(pw) => pw.home.clone(),
        None => crate::paths::home_dir(),
    }
}

/// `~/.ssh` as ssh means it.
pub fn ssh_dir() -> PathBuf {
    dir().join(".ssh")
}

/// ssh's `tilde_expand_filename`: `~` and `~/x` from ssh's home, `~user/x` from that user's
/// passwd entry; anything else unchanged. An unknown `~user` is left as is (ssh: fatal).
pub fn expand(s: &str) -> String {
    if s == "~" {
        return dir().display().to_string();
    }
    if let Some(rest) = s.strip_prefix("~/") {
        return dir().join(rest).display().to_string();
    }
    if let Some(rest) = s.strip_prefix('~') {
        let (user, tail) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if let Some(pw) = crate::os::user::passwd_named(user) {
            return format!("{}{tail}", pw.home.display());
        }
    }
    s.to_string()
}

/// A path as an ssh_config line names it: `~/…` under ssh's home (what `~` means to ssh, see
/// [`expand`]), else unchanged. A `~` written from `$HOME` would point elsewhere whenever
/// `$HOME` is not the passwd home.
pub fn contract(p: &Path) -> String {
    let home = dir();
    match p.strip_prefix(&home) {
        Ok(rest) if home != Path::new("/") && !rest.as_os_str().is_empty() => {
            format!("~/{}", rest.display())
        }
        _ => p.display().to_string(),
    }
}

/// `$HOME` differs from the passwd home: (HOME, passwd home). ssh reads the latter.
pub fn home_mismatch() -> Option<(PathBuf, PathBuf)> {
    let pw = passwd()?;
    let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
    let home = PathBuf::from(home);
    if same_dir(&home, &pw.home) {
        None
    } else {
        Some((home, pw.home.clone()))
    }
}

fn same_dir(a: &Path, b: &Path) -> bool {
    let norm = |p: &Path| p.components().collect::<PathBuf>();
    if norm(a) == norm(b) {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_forms() {
        let home = dir();
        assert_eq!(expand("~"), home.display().to_string());
        assert_eq!(
            expand("~/.ssh/id"),
            home.join(".ssh/id").display().to_string()
        );
        assert_eq!(expand("/abs/~x"), "/abs/~x");
        assert_eq!(expand("~herossh-no-such-user/x"), "~herossh-no-such-user/x");
        assert_eq!(contract(&home.join(".ssh/id")), "~/.ssh/id");
        assert_eq!(
            expand(&contract(&home.join("a b/k"))),
            home.join("a b/k").display().to_string()
        );
        assert_eq!(contract(Path::new("/elsewhere/k")), "/elsewhere/k");
        if let Some(root) = crate::os::user::passwd_named("root") {
            assert_eq!(expand("~root/k"), format!("{}/k", root.home.display()));
        }
    }
}
