//! Safe file writes, used by every command that changes a file people cannot afford to lose
//! (~/.ssh/config, ~/.netrc, private keys, login.json).
//!
//! The rules, in one place: write a temp file in the same directory, fsync it, rename it over
//! the target, fsync the directory; keep (or set) the mode; when the target is a symlink,
//! replace the file it points to and leave the link alone. A failure at any step leaves the
//! original untouched. Only a regular file (or a symlink to one) is ever replaced: a device,
//! FIFO or socket at the target is refused, so `keygen --force -f /dev/null` run as root cannot
//! swap the system's /dev/null for a file holding a private key.
//!
//! Reading has its rules here too ([`read_limited`]): every file herossh reads that someone
//! else may have put there (keys, ssh_config and its Includes, known_hosts, netrc, login.json)
//! is opened without blocking on a FIFO, refused when it is a kind of file that makes no sense
//! for what it should hold, and read only up to a generous size limit per kind, so neither
//! `IdentityFile /some/fifo` (a hang) nor `Include /dev/zero` (gigabytes of memory) can hurt.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
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
/// target path (the file will be created there); a link loop is an error, and so is a target
/// that exists and is not a regular file (a directory, device, FIFO or socket): every writer
/// resolves its target here first, so none ever replaces one, or even opens it to read.
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
                ))
                .with_code("not_a_regular_file"));
            }
            Ok(md) => {
                if let Some(what) = special_kind(&md.file_type()) {
                    return Err(Error::failed(format!(
                        "{} is {what}, not a regular file: refusing to replace it",
                        current.display()
                    ))
                    .with_code("not_a_regular_file"));
                }
                return Ok(current);
            }
            Err(_) => return Ok(current),
        }
    }
    Err(Error::failed(format!(
        "{}: too many levels of symbolic links",
        path.display()
    )))
}

/// What an existing non-regular file is, in words ("a FIFO (named pipe)"); None for a regular
/// file. Used by the writers' refusal and the readers' errors so both name it the same way.
pub fn special_kind(file_type: &fs::FileType) -> Option<&'static str> {
    Some(if file_type.is_file() {
        return None;
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    })
}

/// The file a write to `path` would replace, after following symlinks; an error when it exists
/// and is not a regular file (see [`resolve_target`]). Nothing is changed either way.
pub fn check_replaceable(path: &Path) -> Result<PathBuf> {
    resolve_target(path)
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
    let target = check_replaceable(path)?;
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

/// What a file read with [`read_limited`] should hold: decides the size limit and which
/// special files are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// An identity (private key) file. ssh reads at most 1 MiB of one (`MAX_KEY_FILE_SIZE`).
    PrivateKey,
    /// A `.pub` file or a key someone pastes into `keys add`.
    PublicKey,
    /// An OpenSSH certificate (`CertificateFile`).
    Certificate,
    /// An ssh_config file or one it Includes. ssh reads `-F /dev/null` (the usual way to say
    /// "no config") and `-F <(...)` (a pipe), so devices and pipes are accepted.
    SshConfig,
    /// A known_hosts file: `UserKnownHostsFile /dev/null` is common, so devices are accepted.
    KnownHosts,
    /// `~/.netrc` (or `$NETRC`, which may be /dev/null).
    Netrc,
    /// The Heroku CLI's `login.json`.
    LoginJson,
}

impl FileKind {
    /// The most herossh reads of such a file: far above any real one, far below trouble.
    pub fn limit(self) -> u64 {
        const MIB: u64 = 1024 * 1024;
        match self {
            FileKind::PrivateKey | FileKind::PublicKey | FileKind::Certificate => MIB,
            FileKind::SshConfig | FileKind::Netrc => 16 * MIB,
            FileKind::KnownHosts => 64 * MIB,
            FileKind::LoginJson => 64 * 1024,
        }
    }

    /// How an error names such a file.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::PrivateKey => "private key",
            FileKind::PublicKey => "public key",
            FileKind::Certificate => "certificate",
            FileKind::SshConfig => "ssh_config",
            FileKind::KnownHosts => "known_hosts",
            FileKind::Netrc => "netrc",
            FileKind::LoginJson => "login.json",
        }
    }

    /// Whether a character device (/dev/null) is read like a file.
    fn accepts_devices(self) -> bool {
        matches!(
            self,
            FileKind::SshConfig | FileKind::KnownHosts | FileKind::Netrc
        )
    }

    /// Whether a FIFO or pipe is read (only where ssh users pass one: `-F <(...)`).
    fn accepts_pipes(self) -> bool {
        self == FileKind::SshConfig
    }
}

/// `limit` in words: "1 MiB", "64 KiB".
fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes % 1024 == 0 {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// Read a file someone else may have put there, safely (see the module comment): opened with
/// `O_NONBLOCK` so a FIFO cannot hang the open, then checked with `fstat` on the open file
/// (no race with a swapped path): a directory is always refused, a device or pipe unless
/// `kind` accepts one, and more than `kind.limit()` bytes is an error naming the limit.
///
/// Errors are `io::Error`s without the path (callers already name the file in their
/// messages, as they did for `std::fs::read`); a missing file keeps `ErrorKind::NotFound`.
pub fn read_limited(path: &Path, kind: FileKind) -> std::io::Result<Vec<u8>> {
    use std::io::{Error as IoError, ErrorKind};
    let file = open_nonblocking(path).map_err(|e| {
        match fs::metadata(path)
            .ok()
            .and_then(|m| special_kind(&m.file_type()))
        {
            // open(2) on a socket says "No such device or address": name what it is instead.
            Some(what) if e.raw_os_error() == Some(libc::ENXIO) => IoError::new(
                ErrorKind::InvalidInput,
                format!("it is {what}, not a regular file"),
            ),
            _ => e,
        }
    })?;
    let md = file.metadata()?;
    read_open_limited(file, &md, kind)
}

/// The second half of [`read_limited`], for callers that opened the file themselves (with
/// [`open_nonblocking`]) to look at it first (ssh_config's permission check): the same checks
/// of what kind of file it is, and the same size limit.
pub fn read_open_limited(
    file: File,
    md: &fs::Metadata,
    kind: FileKind,
) -> std::io::Result<Vec<u8>> {
    use std::io::{Error as IoError, ErrorKind};
    let refuse = |what: &str| {
        IoError::new(
            ErrorKind::InvalidInput,
            format!("it is {what}, not a regular file"),
        )
    };
    let ft = md.file_type();
    if let Some(what) = special_kind(&ft) {
        let accepted = (ft.is_char_device() && kind.accepts_devices())
            || (ft.is_fifo() && kind.accepts_pipes());
        if ft.is_dir() {
            return Err(IoError::new(ErrorKind::IsADirectory, "it is a directory"));
        }
        if !accepted {
            return Err(refuse(what));
        }
        // From here a blocking read is what the user asked for (ssh reads it the same way);
        // O_NONBLOCK was only there so that open could not hang.
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a descriptor this function owns, with integer arguments only.
        unsafe {
            let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
            if flags >= 0 {
                libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
            }
        }
    }
    let limit = kind.limit();
    let too_large = || {
        IoError::new(
            ErrorKind::FileTooLarge,
            format!(
                "larger than {}, the limit for {} files",
                human_size(limit),
                kind.name()
            ),
        )
    };
    if ft.is_file() && md.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(if ft.is_file() { md.len() as usize } else { 0 });
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// `open(2)` for reading with `O_NONBLOCK`, for a look at a file (is it there, what is it)
/// that must not hang when the path is a FIFO with no writer.
pub fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

/// [`read_limited`] as UTF-8 text (`ErrorKind::InvalidData` otherwise, like
/// `std::fs::read_to_string`).
pub fn read_limited_text(path: &Path, kind: FileKind) -> std::io::Result<String> {
    String::from_utf8(read_limited(path, kind)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
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

    fn mkfifo(p: &Path) {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    #[test]
    fn read_limited_caps_sizes_and_refuses_special_files() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("k.pub");
        fs::write(&small, b"ssh-ed25519 AAAA x\n").unwrap();
        assert_eq!(
            read_limited(&small, FileKind::PublicKey).unwrap(),
            b"ssh-ed25519 AAAA x\n"
        );
        // One byte over the limit, as a regular file and as an endless device.
        let big = dir.path().join("big");
        let f = File::create(&big).unwrap();
        f.set_len(FileKind::PublicKey.limit() + 1).unwrap();
        let e = read_limited(&big, FileKind::PublicKey).unwrap_err();
        assert_eq!(
            e.to_string(),
            "larger than 1 MiB, the limit for public key files"
        );
        let e = read_limited(Path::new("/dev/zero"), FileKind::SshConfig).unwrap_err();
        assert_eq!(
            e.to_string(),
            "larger than 16 MiB, the limit for ssh_config files"
        );
        assert_eq!(
            read_limited(Path::new("/dev/null"), FileKind::KnownHosts).unwrap(),
            b""
        );
        let e = read_limited(Path::new("/dev/null"), FileKind::PrivateKey).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it is a character device, not a regular file"
        );
        let e = read_limited(dir.path(), FileKind::SshConfig).unwrap_err();
        assert_eq!(e.to_string(), "it is a directory");
        let e = read_limited(&dir.path().join("missing"), FileKind::Netrc).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        // A FIFO nobody writes to: refused for a key, empty for a config, and no hang.
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let started = std::time::Instant::now();
        let e = read_limited(&fifo, FileKind::PrivateKey).unwrap_err();
        assert_eq!(
            e.to_string(),
            "it is a FIFO (named pipe), not a regular file"
        );
        assert_eq!(read_limited(&fifo, FileKind::SshConfig).unwrap(), b"");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn writers_refuse_special_files_and_change_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        mkfifo(&fifo);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/dev/null", &link).unwrap();
        for (target, shown, what) in [
            (fifo.clone(), fifo.clone(), "a FIFO (named pipe)"),
            (
                link.clone(),
                PathBuf::from("/dev/null"),
                "a character device",
            ),
        ] {
            let e = atomic_write(&target, b"secret", Mode::Exactly(0o600)).unwrap_err();
            assert_eq!(
                e.message,
                format!(
                    "{} is {what}, not a regular file: refusing to replace it",
                    shown.display()
                )
            );
            assert_eq!(e.code(), "not_a_regular_file");
        }
        assert!(fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo());
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(
            fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
        // Nothing new in the directory (no temp file left behind).
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
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
