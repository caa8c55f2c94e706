//! Safe file writes, used by every command that changes a file people cannot afford to lose
//! (~/.ssh/config, ~/.netrc, private keys, login.json).
//!
//! The rules, in one place: write a temp file in the same directory, fsync it, rename it over
//! the target, fsync the directory; keep (or set) the mode; when the target is a symlink,
//! replace the file it points to and leave the link alone. A failure at any step leaves the
//! original untouched.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io_error};
use crate::os::{perms, user};

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
    stage(path, contents, mode)?.commit()
}

/// Replace several files together (a private key and its `.pub`): every file is written and
/// synced beside its target before the first rename, so a failure while writing replaces
/// nothing, and a crash can only fall in the microseconds between two renames.
pub fn atomic_write_all(files: &[(&Path, &[u8], Mode)]) -> Result<Vec<PathBuf>> {
    let staged = files
        .iter()
        .map(|(path, contents, mode)| stage(path, contents, *mode))
        .collect::<Result<Vec<_>>>()?;
    staged.into_iter().map(Staged::commit).collect()
}

/// A file written and synced beside its target, not yet in place. Dropping it removes it.
struct Staged {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
    dir: PathBuf,
}

/// Every step of [`atomic_write`] but the rename: resolve symlinks, choose the mode, keep the
/// owner, write, fsync.
fn stage(path: &Path, contents: &[u8], mode: Mode) -> Result<Staged> {
    let target = resolve_target(path)?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existing = fs::metadata(&target).ok();
    let existing_mode = existing.as_ref().map(perms::mode);
    let mode = match mode {
        Mode::KeepOr(new) => existing_mode.unwrap_or(new),
        Mode::Exactly(m) => m,
    };

    let mut tmp = temp_beside(&target, &dir, mode)?;
    if let Some(md) = &existing {
        keep_owner(&target, md, tmp.as_file())?;
    }
    // keep_owner's chown may clear set-id bits: set the mode (again) after it.
    perms::set_mode(tmp.path(), mode).map_err(|e| io_error(tmp.path(), "set the mode of", e))?;
    tmp.write_all(contents)
        .map_err(|e| io_error(&target, "write", e))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| io_error(&target, "sync", e))?;
    Ok(Staged { tmp, target, dir })
}

impl Staged {
    /// Rename over the target and sync the directory. Returns the path written.
    fn commit(self) -> Result<PathBuf> {
        self.tmp
            .persist(&self.target)
            .map_err(|e| io_error(&self.target, "replace", e.error))?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(self.target)
    }
}

/// Random characters in a temp file's name (tempfile's default, spelled out because
/// [`leftover_temp_of`] recognises the names).
const TEMP_RAND_LEN: usize = 6;

/// `.NAME.XXXXXX.tmp` in `dir` (the directory of `target`, so the final rename or link stays
/// on one filesystem), with exactly `mode` (the umask may have narrowed the create mode).
/// Removed again when dropped, which is what cleans up after every failed write.
fn temp_beside(target: &Path, dir: &Path, mode: u32) -> Result<tempfile::NamedTempFile> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "herossh".into());
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .rand_bytes(TEMP_RAND_LEN)
        .permissions(perms::permissions(mode))
        .tempfile_in(dir)
        .map_err(|e| io_error(dir, "create a temporary file in", without_path(e)))?;
    perms::set_mode(tmp.path(), mode).map_err(|e| io_error(tmp.path(), "set the mode of", e))?;
    Ok(tmp)
}

/// When `file_name` is one of [`temp_beside`]'s names (`.NAME.XXXXXX.tmp`), the NAME it was
/// to replace. Only a killed or crashed herossh leaves one behind (every error path removes
/// it), so `doctor` reports them.
pub fn leftover_temp_of(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (name, random) = stem.rsplit_once('.')?;
    (!name.is_empty()
        && random.len() == TEMP_RAND_LEN
        && random.bytes().all(|b| b.is_ascii_alphanumeric()))
    .then_some(name)
}

/// tempfile's errors end in `at path "<random temp name>"`, noise next to the directory the
/// message already names: keep the OS error's own text.
fn without_path(e: std::io::Error) -> std::io::Error {
    let text = e.to_string();
    match text.split_once(" at path ") {
        Some((os, _)) => std::io::Error::new(e.kind(), os.to_string()),
        None => e,
    }
}

/// A rename replaces the file with one owned by whoever runs herossh. Keep the original's
/// owner and group: root (`sudo herossh ...` on a user's file) can hand them back; anyone
/// else must not silently take over a file that belongs to another user, so that is an error
/// before anything is written. A group we cannot set (not a member) is left as created.
fn keep_owner(target: &Path, original: &fs::Metadata, tmp: &File) -> Result<()> {
    let euid = user::euid();
    let was = perms::owner(original);
    if was.uid != euid && euid != 0 {
        return Err(Error::failed(format!(
            "{} belongs to another user (uid {}): not replacing it; give it back with \
             `sudo chown $(id -un) {}`",
            target.display(),
            was.uid,
            target.display()
        )));
    }
    let created = tmp.metadata().map_err(|e| io_error(target, "inspect", e))?;
    if perms::owner(&created) == was {
        return Ok(());
    }
    // Only root can give a file away; anyone else keeps their own uid and tries the group.
    let uid = (euid == 0).then_some(was.uid);
    match perms::chown(tmp, uid, was.gid) {
        Err(e) if euid == 0 => Err(io_error(target, "keep the owner of", e)),
        _ => Ok(()),
    }
}

/// Write a new file that must not exist yet, with `mode`, synced. Used where an overwrite
/// would be a bug rather than a choice (a backup). Written like [`atomic_write`] — a temp file
/// in the same directory, then a link that fails if the name exists — so a failed write leaves
/// no half file under the final name.
pub fn create_new(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = temp_beside(path, dir, mode)?;
    tmp.write_all(contents)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| io_error(path, "write", e))?;
    tmp.persist_noclobber(path)
        .map_err(|e| io_error(path, "create", e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Create `dir` (and parents) if missing; a directory herossh creates gets `mode` (0700 for
/// ~/.ssh and the Heroku data dir). An existing directory is left as it is.
pub fn ensure_dir(dir: &Path, mode: u32) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    perms::create_dir_all(dir, mode).map_err(|e| io_error(dir, "create directory", e))?;
    perms::set_mode(dir, mode).map_err(|e| io_error(dir, "set the mode of", e))
}

/// Mode bits of a file (without the type), or None when it cannot be read.
pub fn mode_of(path: &Path) -> Option<u32> {
    fs::metadata(path).ok().map(|m| perms::mode(&m))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn leftover_temp_names_are_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = temp_beside(&dir.path().join("config"), dir.path(), 0o600).unwrap();
        let name = tmp
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert_eq!(leftover_temp_of(&name), Some("config"));
        assert_eq!(leftover_temp_of("..netrc.Ab3dE9.tmp"), Some(".netrc"));
        assert_eq!(
            leftover_temp_of(".id_ed25519.pub.x1Y2z3.tmp"),
            Some("id_ed25519.pub")
        );
        for other in [
            "config",
            ".config.tmp",
            ".config.abc.tmp",
            "config.Ab3dE9.tmp",
            ".x.Ab-dE9.tmp",
        ] {
            assert_eq!(leftover_temp_of(other), None, "{other}");
        }
    }

    #[test]
    fn atomic_write_all_replaces_nothing_when_one_file_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("key"), dir.path().join("key.pub"));
        fs::write(&a, b"old private").unwrap();
        fs::write(&b, b"old public").unwrap();
        let missing = dir.path().join("no/such/dir/file");
        let err = atomic_write_all(&[
            (&a, b"new private", Mode::Exactly(0o600)),
            (&missing, b"x", Mode::Exactly(0o644)),
        ])
        .unwrap_err();
        assert!(err.message.contains("no/such/dir"), "{}", err.message);
        assert_eq!(fs::read(&a).unwrap(), b"old private");
        // No temp file stays behind either.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);

        let written = atomic_write_all(&[
            (&a, b"new private", Mode::Exactly(0o600)),
            (&b, b"new public", Mode::Exactly(0o644)),
        ])
        .unwrap();
        assert_eq!(written, [a.clone(), b.clone()]);
        assert_eq!(fs::read(&a).unwrap(), b"new private");
        assert_eq!(fs::read(&b).unwrap(), b"new public");
        assert_eq!((mode_of(&a), mode_of(&b)), (Some(0o600), Some(0o644)));
    }

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
