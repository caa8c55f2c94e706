//! Shell-style file name patterns, through the C library's glob(3) as OpenSSH calls it.

use std::ffi::{CStr, CString};
use std::path::PathBuf;

/// glob.h's `GLOB_TILDE`: glibc's value, and the BSD one (Apple's libc, which the libc crate
/// does not export).
#[cfg(target_vendor = "apple")]
const GLOB_TILDE: libc::c_int = 0x0800;
#[cfg(not(target_vendor = "apple"))]
const GLOB_TILDE: libc::c_int = libc::GLOB_TILDE;

/// `glob(pattern, GLOB_TILDE)`: the sorted matches (none when nothing matches). With
/// `GLOB_TILDE` the C library expands a leading `~` from `$HOME` (glibc, and the BSD libc
/// of macOS), which is what `Include ~/...` means to ssh, unlike the rest of its paths.
pub fn glob_tilde(pattern: &str) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = CString::new(pattern) else {
        return Vec::new();
    };
    // SAFETY: `c` is a valid NUL-terminated string and `g` a zeroed glob_t owned here,
    // released with globfree on every path.
    let mut g: libc::glob_t = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::glob(c.as_ptr(), GLOB_TILDE, None, &mut g) };
    let mut out = Vec::new();
    if rc == 0 {
        for i in 0..g.gl_pathc as usize {
            // SAFETY: glob filled gl_pathv with gl_pathc valid C strings.
            let p = unsafe { CStr::from_ptr(*g.gl_pathv.add(i)) };
            out.push(PathBuf::from(std::ffi::OsStr::from_bytes(p.to_bytes())));
        }
    }
    unsafe { libc::globfree(&mut g) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_sorted_and_none() {
        let d = tempfile::tempdir().unwrap();
        for n in ["b.conf", "a.conf", "c.txt"] {
            std::fs::write(d.path().join(n), "").unwrap();
        }
        let got = glob_tilde(&format!("{}/*.conf", d.path().display()));
        assert_eq!(got, vec![d.path().join("a.conf"), d.path().join("b.conf")]);
        assert!(glob_tilde(&format!("{}/*.none", d.path().display())).is_empty());
    }
}
