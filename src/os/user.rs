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
    pub uid: u32,
    pub home: PathBuf,
}

/// The passwd entry of the real user, or None when there is none (a uid without an entry, as
/// in some containers).
pub fn passwd() -> Option<Passwd> {
    let uid = uid();
    lookup(|pw, buf, res| {
        // SAFETY: all pointers are valid for the call; getpwuid_r writes only into `pw` and
        // `buf`.
        unsafe { libc::getpwuid_r(uid, pw, buf.as_mut_ptr(), buf.len(), res) }
    })
}

/// The passwd entry of the user called `name` (for `~name/...`).
pub fn passwd_named(name: &str) -> Option<Passwd> {
    let c = std::ffi::CString::new(name).ok()?;
    lookup(|pw, buf, res| {
        // SAFETY: as in `passwd`; `c` is a valid NUL-terminated string.
        unsafe { libc::getpwnam_r(c.as_ptr(), pw, buf.as_mut_ptr(), buf.len(), res) }
    })
}

fn lookup(
    call: impl Fn(&mut libc::passwd, &mut [libc::c_char], &mut *mut libc::passwd) -> libc::c_int,
) -> Option<Passwd> {
    // SAFETY: a zeroed passwd is a valid out-parameter.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    if call(&mut pw, &mut buf, &mut result) != 0 || result.is_null() {
        return None;
    }
    // SAFETY: on success pw_name and pw_dir point at NUL-terminated strings inside `buf`,
    // which outlives these reads.
    let (name, home) = unsafe { (CStr::from_ptr(pw.pw_name), CStr::from_ptr(pw.pw_dir)) };
    Some(Passwd {
        name: name.to_string_lossy().into_owned(),
        uid: pw.pw_uid,
        home: PathBuf::from(home.to_string_lossy().into_owned()),
    })
}

/// Is `gid` a group whose only member (by primary group or listed as a supplementary member)
/// is the user `uid`? Debian's OpenSSH accepts a group-writable config in that case.
pub fn is_private_group(gid: u32, uid: u32) -> bool {
    let mut members = 0;
    // SAFETY: setpwent/getpwent/endpwent iterate the passwd database; each returned pointer
    // is read before the next call. getgrgid returns NULL or static storage read at once.
    unsafe {
        libc::setpwent();
        loop {
            let pw = libc::getpwent();
            if pw.is_null() {
                break;
            }
            if (*pw).pw_gid == gid {
                members += 1;
                if (*pw).pw_uid != uid {
                    libc::endpwent();
                    return false;
                }
            }
        }
        libc::endpwent();
        let gr = libc::getgrgid(gid);
        if gr.is_null() {
            return false;
        }
        let mem = (*gr).gr_mem;
        if !mem.is_null() && !(*mem).is_null() {
            members += 1;
            let name = CStr::from_ptr(*mem).to_string_lossy().into_owned();
            let me = passwd().map(|p| p.name);
            if me.as_deref() != Some(name.as_str()) || !(*mem.add(1)).is_null() {
                return false;
            }
        }
    }
    members > 0
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
