//! Unix permission bits and file owners: what ssh checks on keys and configs, and what
//! herossh keeps when it replaces a file.

use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::Path;

/// The permission bits of `md` (with set-id and sticky bits, without the file type).
pub fn mode(md: &Metadata) -> u32 {
    md.permissions().mode() & 0o7777
}

/// Permissions with exactly these mode bits.
pub fn permissions(mode: u32) -> fs::Permissions {
    fs::Permissions::from_mode(mode)
}

/// chmod.
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::set_permissions(path, permissions(mode))
}

/// `mkdir -p` where every directory created gets `mode` (before the umask).
pub fn create_dir_all(dir: &Path, mode: u32) -> io::Result<()> {
    fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

/// Whether any execute bit is set.
pub fn is_executable(md: &Metadata) -> bool {
    md.permissions().mode() & 0o111 != 0
}

/// Owner and group ids of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

pub fn owner(md: &Metadata) -> Owner {
    Owner {
        uid: md.uid(),
        gid: md.gid(),
    }
}

/// fchown on an open file; `uid: None` leaves the owner as it is.
pub fn chown(file: &File, uid: Option<u32>, gid: u32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // (uid_t)-1 is "leave unchanged" for fchown.
    let uid = uid.unwrap_or(u32::MAX);
    // SAFETY: the descriptor belongs to the open file for the duration of the call.
    let rc = unsafe { libc::fchown(file.as_raw_fd(), uid, gid) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
