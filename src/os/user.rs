//! Who runs herossh: user ids, the passwd entry and the host name, from libc.

use std::ffi::CStr;
use std::path::PathBuf;

/// The real user id (what `%i` in ssh_config and ssh's own file checks use).
pub fn uid() -> u32 {
    // SAFETY: getuid has no preconditions and cannot fail.
    unsafe { libc::getuid() }
}

/// The effective user id (who owns the files herossh creates).
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The fields of the real user's passwd entry that herossh uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passwd {
    pub name: String,
    pub home: PathBuf,
}

/// The passwd entry of the real user, or None when there is none (a uid without an entry, as
/// in some containers).
pub fn passwd() -> Option<Passwd> {
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all pointers are valid for the call; getpwuid_r writes only into `pw` and `buf`.
    let rc = unsafe { libc::getpwuid_r(uid(), &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_name and pw_dir point at NUL-terminated strings inside `buf`,
    // which outlives these reads.
    let (name, home) = unsafe { (CStr::from_ptr(pw.pw_name), CStr::from_ptr(pw.pw_dir)) };
    Some(Passwd {
        name: name.to_string_lossy().into_owned(),
        home: PathBuf::from(home.to_string_lossy().into_owned()),
    })
}

/// The machine's host name (ssh-keygen's default comment is `user@hostname`).
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Some(String::from_utf8_lossy(&buf[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passwd_entry_is_the_real_users() {
        // `id -un` reads the same entry through the C library.
        let out = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        let name = String::from_utf8(out.stdout).unwrap();
        let pw = passwd().expect("the test user has a passwd entry");
        assert_eq!(pw.name, name.trim());
        assert!(pw.home.is_absolute(), "{:?}", pw.home);
        let out = std::process::Command::new("id").arg("-u").output().unwrap();
        assert_eq!(
            uid().to_string(),
            String::from_utf8(out.stdout).unwrap().trim()
        );
    }
}
