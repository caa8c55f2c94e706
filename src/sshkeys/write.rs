//! Writing a new key pair without ssh-keygen's sharp edges: never over an existing key unless
//! asked, never into a directory other users can write to (they could swap the file under
//! us), each file atomically (a crash leaves the old file or the new one, never half a key),
//! the private key 0600 and encrypted with bcrypt-pbkdf + aes256-ctr like ssh-keygen.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{LineEnding, PrivateKey};

use crate::error::{Error, Result};
use crate::fsutil::{self, Mode};

/// Where a key pair was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPairPaths {
    pub private: PathBuf,
    pub public: PathBuf,
}

/// `FILE.pub` next to `FILE`, as ssh-keygen names it.
pub fn public_path_for(private: &Path) -> PathBuf {
    let mut name = OsString::from(private.as_os_str());
    name.push(".pub");
    PathBuf::from(name)
}

/// Refuse a directory that group or others may write to. Checked on the directory the key
/// will really land in (after following a symlinked key path). A missing directory is fine:
/// it will be created 0700.
///
/// Also refuses, before anything is generated, a key path (or its `.pub`) that exists and is
/// not a regular file: a device, FIFO or socket is never replaced by a key.
pub fn check_parent_dir(private: &Path) -> Result<()> {
    fsutil::check_replaceable(&public_path_for(private))?;
    let target = fsutil::check_replaceable(private)?;
    let dir = parent_of(&target);
    match fsutil::mode_of(&dir) {
        Some(mode) if mode & 0o022 != 0 => Err(Error::failed(format!(
            "refusing to write a key into {}: the directory is writable by {} (mode {:o}); \
             use a private directory such as ~/.ssh, or `chmod go-w {}`",
            dir.display(),
            if mode & 0o002 != 0 {
                "everyone"
            } else {
                "its group"
            },
            mode,
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Write `key` (encrypted when `passphrase` is non-empty) to `private` and its public half to
/// `private.pub`. Without `overwrite`, an existing file at either path is an error and
/// nothing is written.
pub fn write_key_pair(
    private: &Path,
    key: &PrivateKey,
    passphrase: Option<&str>,
    overwrite: bool,
) -> Result<KeyPairPaths> {
    let public = public_path_for(private);
    if !overwrite {
        for p in [private, public.as_path()] {
            if std::fs::symlink_metadata(p).is_ok() {
                return Err(Error::failed(format!(
                    "{} already exists; pass --force to overwrite it",
                    p.display()
                ))
                .with_code("file_exists"));
            }
        }
    }
    let dir = parent_of(private);
    if !dir.exists() {
        fsutil::ensure_dir(&dir, 0o700)?;
    }
    check_parent_dir(private)?;

    let private_text = match passphrase {
        Some(pass) if !pass.is_empty() => key
            .encrypt(&mut rand::rng(), pass)
            .and_then(|k| k.to_openssh(LineEnding::LF)),
        _ => key.to_openssh(LineEnding::LF),
    }
    .map_err(|e| Error::failed(format!("cannot encode the private key: {e}")))?;
    let public_text = key
        .public_key()
        .to_openssh()
        .map_err(|e| Error::failed(format!("cannot encode the public key: {e}")))?;

    let public_line = format!("{public_text}\n");
    fsutil::atomic_write_all(&[
        (private, private_text.as_bytes(), Mode::Exactly(0o600)),
        (&public, public_line.as_bytes(), Mode::Exactly(0o644)),
    ])?;
    Ok(KeyPairPaths {
        private: private.to_path_buf(),
        public,
    })
}

fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::KeyType;
    use crate::sshkeys::{KeySpec, generate};

    #[test]
    fn writes_modes_creates_dir_and_refuses_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new/.ssh/id_ed25519");
        let key = generate(KeySpec::new(KeyType::Ed25519, None).unwrap(), "a@b").unwrap();
        let paths = write_key_pair(&path, &key, None, false).unwrap();
        assert_eq!(paths.public, dir.path().join("new/.ssh/id_ed25519.pub"));
        assert_eq!(fsutil::mode_of(&paths.private), Some(0o600));
        assert_eq!(fsutil::mode_of(&paths.public), Some(0o644));
        assert_eq!(fsutil::mode_of(&dir.path().join("new/.ssh")), Some(0o700));
        let before = std::fs::read(&paths.private).unwrap();
        let other = generate(KeySpec::new(KeyType::Ed25519, None).unwrap(), "x").unwrap();
        let e = write_key_pair(&path, &other, None, false).unwrap_err();
        assert!(
            e.message.contains("already exists; pass --force"),
            "{}",
            e.message
        );
        assert_eq!(std::fs::read(&paths.private).unwrap(), before);
        write_key_pair(&path, &other, None, true).unwrap();
        assert_ne!(std::fs::read(&paths.private).unwrap(), before);
    }

    #[test]
    fn refuses_group_or_world_writable_directory() {
        let dir = tempfile::tempdir().unwrap();
        let shared = dir.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        crate::os::perms::set_mode(&shared, 0o777).unwrap();
        let key = generate(KeySpec::new(KeyType::Ed25519, None).unwrap(), "").unwrap();
        let e = write_key_pair(&shared.join("k"), &key, None, false).unwrap_err();
        assert!(
            e.message.contains("writable by everyone (mode 777)"),
            "{}",
            e.message
        );
        crate::os::perms::set_mode(&shared, 0o770).unwrap();
        let e = write_key_pair(&shared.join("k"), &key, None, false).unwrap_err();
        assert!(e.message.contains("writable by its group"), "{}", e.message);
        assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);
    }
}
