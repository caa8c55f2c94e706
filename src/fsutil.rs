//! Safe file writes, used by every command that changes a file people cannot afford to lose
//! (~/.ssh/config, ~/.netrc, private keys, login.json).
//!
//! The rules, in one place: write a temp file in the same directory, fsync it, rename it over
//! the target, fsync the directory; keep (or set) the mode; when the target is a symlink,
//! replace the file it points to and leave the link alone. A failure at any step leaves the
//! original untouched.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io_error};

/// How the written file's mode is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Keep the existing file's mode; use the given one for a new file.
    KeepOr(u32),
    /// Always this mode (e.g. 0600 for secrets, tightening a looser existing mode).
    Exactly(u32),
}

/// Follow symlinks to the file that will really be written. A dangling link resolves to its
/// target path (the file will be created there); a link loop is an error.
pub fn resolve_target(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&current) {
            Ok(md) if md.file_type().is_symlink() => {
                let link =
                    fs::read_link(&current).map_err(|e| io_error(&current, "read link", e))?;
                current = if link.is_absolute() {
                    link
                } else {
                    current.parent().unwrap_or(Path::new(".")).join(link)
                };
            }
            Ok(md) if md.is_dir() => {
                return Err(Error::failed(format!(
                    "{} is a directory, not a file",
                    current.display()
                )));
            }
            _ => return Ok(current),
        }
    }
    Err(Error::failed(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// Atomically replace (or create) `path` with `contents`. Returns the path actually written
/// (the symlink target when `path` is a link).
pub fn atomic_write(path: &Path, contents: &[u8], mode: Mode) -> Result<PathBuf> {
    let target = resolve_target(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existing_mode = fs::metadata(&target)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777);
    let mode = match mode {
        Mode::KeepOr(new) => existing_mode.unwrap_or(new),
        Mode::Exactly(m) => m,
    };

    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "herossh".into())
        ))
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(&dir)
        .map_err(|e| io_error(&dir, "create a temporary file in", e))?;
    // The umask may have narrowed the mode the temp file was created with; set it exactly.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
        .map_err(|e| io_error(tmp.path(), "set the mode of", e))?;
    tmp.write_all(contents)
        .map_err(|e| io_error(&target, "write", e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| io_error(&target, "sync", e))?;
    tmp.persist(&target)
        .map_err(|e| io_error(&target, "replace", e.error))?;
    if let Ok(d) = File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(target)
}

/// Write a new file that must not exist yet (`O_EXCL`), with `mode`, synced. Used where an
/// overwrite would be a bug rather than a choice.
pub fn create_new(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| io_error(path, "create", e))?;
    f.write_all(contents)
        .and_then(|_| f.sync_all())
        .map_err(|e| io_error(path, "write", e))
}

/// Create `dir` (and parents) if missing; a directory herossh creates gets `mode` (0700 for
/// ~/.ssh and the Heroku data dir). An existing directory is left as it is.
pub fn ensure_dir(dir: &Path, mode: u32) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| io_error(dir, "create directory", e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(|e| io_error(dir, "set the mode of", e))
}

/// Mode bits of a file (without the type), or None when it cannot be read.
pub fn mode_of(path: &Path) -> Option<u32> {
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_creates_with_mode_and_replaces_keeping_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config");
        atomic_write(&p, b"one\n", Mode::KeepOr(0o600)).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one\n");
        assert_eq!(mode_of(&p), Some(0o600));
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        atomic_write(&p, b"two\n", Mode::KeepOr(0o600)).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two\n");
        assert_eq!(mode_of(&p), Some(0o640));
        atomic_write(&p, b"three\n", Mode::Exactly(0o600)).unwrap();
        assert_eq!(mode_of(&p), Some(0o600));
        // No temp files left behind.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn atomic_write_edits_symlink_target_and_keeps_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("dotfiles-config");
        fs::write(&real, b"old").unwrap();
        let link = dir.path().join("config");
        std::os::unix::fs::symlink("dotfiles-config", &link).unwrap();
        let written = atomic_write(&link, b"new", Mode::KeepOr(0o600)).unwrap();
        assert_eq!(written, real);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&real).unwrap(), b"new");
    }

    #[test]
    fn symlink_loop_and_directory_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let e = atomic_write(&a, b"x", Mode::KeepOr(0o600)).unwrap_err();
        assert!(e.message.contains("too many levels"), "{}", e.message);
        let e = atomic_write(dir.path(), b"x", Mode::KeepOr(0o600)).unwrap_err();
        assert!(e.message.contains("is a directory"), "{}", e.message);
    }

    #[test]
    fn failed_write_leaves_original_intact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("netrc");
        fs::write(&p, b"original").unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o500)).unwrap();
        let r = atomic_write(&p, b"new", Mode::KeepOr(0o600));
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
        // As root the read-only directory does not stop the write; either way nothing is lost.
        if let Err(e) = r {
            assert!(e.message.contains("temporary file"), "{}", e.message);
            assert_eq!(fs::read(&p).unwrap(), b"original");
        } else {
            assert_eq!(fs::read(&p).unwrap(), b"new");
        }
    }
}
