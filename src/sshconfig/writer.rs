//! fix-config's safe writer: every edit of an ssh_config file (a pin, `--set`,
//! `--ignore-unknown`, `--remove-bom`) goes through here, so each gets the same guarantees.
//!
//! - **One lock for all of fix-config** ([`lock`]): an `flock` on
//!   `~/.ssh/.herossh-backups/.lock`. A plan is computed unlocked; the writer then takes the
//!   lock and, when any planned file changed meanwhile (another herossh run finished first), the
//!   caller plans again on top of it. Ten parallel runs therefore all land.
//! - **Compare before rename**: the new contents are staged and synced, the file is read once
//!   more and replaced only if it still holds the bytes the plan was made from
//!   ([`fsutil::replace_if_unchanged`]). A program that ignores the lock (an editor) makes the
//!   run fail loudly, never lose that program's change silently.
//! - **Read-only files are refused** unless forced ([`check_writable`]); a forced write keeps
//!   the mode.
//! - **Backups in one directory no `Include` glob reaches**: `~/.ssh/.herossh-backups/` (0700;
//!   a glob's `*` never matches a leading dot, and ssh skips directories), named after the
//!   edited file's full path and a UTC timestamp, the newest [`KEEP_BACKUPS`] per file kept.
//!   Backups beside the file used to be read back by `Include conf.d/*` as live config.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::fsutil::{self, FileLock, Mode};
use crate::paths;

/// Backups kept per edited file; older ones are removed after each successful write.
pub const KEEP_BACKUPS: usize = 10;

/// How long a run waits for another one holding the lock (each holds it for milliseconds).
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// One file to write: the bytes the plan was made from (`None`: the file did not exist) and
/// the new bytes.
#[derive(Debug, Clone)]
pub struct FileEdit {
    pub path: PathBuf,
    pub before: Option<Vec<u8>>,
    pub after: Vec<u8>,
}

/// What a write did: the file really written (a symlink's target) and the backup of the
/// original (none for a new file).
#[derive(Debug, Clone)]
pub struct Written {
    pub file: PathBuf,
    pub backup: Option<PathBuf>,
}

/// `~/.ssh/.herossh-backups`.
pub fn backups_dir() -> PathBuf {
    paths::ssh_dir().join(".herossh-backups")
}

/// Take fix-config's lock, creating `~/.ssh` and the backups directory (0700) if needed.
pub fn lock() -> Result<FileLock> {
    let dir = backups_dir();
    fsutil::ensure_dir(&paths::ssh_dir(), 0o700)?;
    fsutil::ensure_dir(&dir, 0o700)?;
    FileLock::acquire(&dir.join(".lock"), LOCK_WAIT)
}

/// What a plan was made from: every file it read, with a fingerprint of its bytes (`None`: it
/// did not exist). Under the lock, a plan stands only if all of them are unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs(Vec<(PathBuf, Option<u64>)>);

impl Inputs {
    /// Record that `path` was read as `bytes` (`None`: absent).
    pub fn add(&mut self, path: &Path, bytes: Option<&[u8]>) {
        if !self.0.iter().any(|(p, _)| p == path) {
            self.0.push((path.to_path_buf(), bytes.map(fnv1a)));
        }
    }

    /// Every file still reads as it did.
    pub fn unchanged(&self) -> bool {
        self.0.iter().all(|(p, h)| match super::includes::read(p) {
            Ok(now) => *h == Some(fnv1a(&now)),
            Err(e) => h.is_none() && e.kind() == std::io::ErrorKind::NotFound,
        })
    }
}

/// Refuse a file whose owner has no write permission (`chmod 444`: the user said "do not
/// change this") unless `force`. Root could write it anyway, so the mode bits decide, not
/// `access(2)`. A missing file is writable.
pub fn check_writable(path: &Path, force: bool) -> Result<()> {
    let target = fsutil::resolve_target(path)?;
    let Some(mode) = fsutil::mode_of(&target) else {
        return Ok(());
    };
    if mode & 0o200 == 0 && !force {
        return Err(Error::failed(format!(
            "{} is read-only (mode {mode:04o}): not editing it; pass --force to edit it anyway \
             (its mode is kept)",
            paths::display_tilde(&target)
        )));
    }
    Ok(())
}

/// Write one planned file: backup, compare-before-rename, rotation. The caller holds
/// [`lock`]. A failure leaves the original as it was and removes the backup just made.
pub fn write(edit: &FileEdit, force: bool) -> Result<Written> {
    let target = fsutil::resolve_target(&edit.path)?;
    let Some(original) = &edit.before else {
        let file =
            fsutil::replace_if_unchanged(&edit.path, None, &edit.after, Mode::KeepOr(0o600))?;
        return Ok(Written { file, backup: None });
    };
    check_writable(&target, force)?;
    let mode = fsutil::mode_of(&target).unwrap_or(0o600);
    let backup = backup_path(&target);
    fsutil::create_new(&backup, original, mode).map_err(|e| {
        e.context(format!(
            "{} was not changed: its backup could not be written",
            target.display()
        ))
    })?;
    match fsutil::replace_if_unchanged(&edit.path, Some(original), &edit.after, Mode::KeepOr(0o600))
    {
        Ok(file) => {
            rotate(&target);
            Ok(Written {
                file,
                backup: Some(backup),
            })
        }
        Err(e) => {
            // The original is untouched, so its copy is only clutter.
            let _ = std::fs::remove_file(&backup);
            Err(e)
        }
    }
}

/// The backup name's stem for a file: its absolute path with `%` and `/` percent-encoded
/// (`home%2Fbob%2F.ssh%2Fconfig`), so every file has its own series and the name says which
/// file it restores. Very long paths keep their end, prefixed with a hash of the whole path
/// (a file name is at most 255 bytes).
fn stem(target: &Path) -> String {
    let abs = std::path::absolute(target).unwrap_or_else(|_| target.to_path_buf());
    let text = abs.to_string_lossy();
    let encoded = text
        .trim_start_matches('/')
        .replace('%', "%25")
        .replace('/', "%2F");
    const MAX: usize = 180;
    if encoded.len() <= MAX {
        return encoded;
    }
    let mut cut = encoded.len() - 150;
    while !encoded.is_char_boundary(cut) {
        cut += 1;
    }
    format!("{:016x}-{}", fnv1a(text.as_bytes()), &encoded[cut..])
}

/// FNV-1a, 64 bits: a stable name for a long path (std's hasher may change between releases)
/// and a cheap fingerprint of a file's bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `~/.ssh/.herossh-backups/<stem>.<YYYYMMDDTHHMMSS.ffffffZ>.bak` (a `-N` counter before
/// `.bak` in the unlikely case the name is taken).
fn backup_path(target: &Path) -> PathBuf {
    let dir = backups_dir();
    let stem = stem(target);
    let stamp = utc_stamp(std::time::SystemTime::now());
    let mut p = dir.join(format!("{stem}.{stamp}.bak"));
    let mut n = 1;
    while p.exists() {
        p = dir.join(format!("{stem}.{stamp}-{n}.bak"));
        n += 1;
    }
    p
}

/// The (timestamp, counter) of one of `stem`'s backups, None for any other name.
fn backup_order(stem: &str, name: &str) -> Option<(String, u32)> {
    let rest = name
        .strip_prefix(stem)?
        .strip_prefix('.')?
        .strip_suffix(".bak")?;
    let (stamp, counter) = match rest.split_once('-') {
        Some((s, c)) => (s, c.parse().ok()?),
        None => (rest, 0),
    };
    let shape = stamp.len() == 23
        && stamp.bytes().enumerate().all(|(i, b)| match i {
            8 => b == b'T',
            15 => b == b'.',
            22 => b == b'Z',
            _ => b.is_ascii_digit(),
        });
    shape.then(|| (stamp.to_string(), counter))
}

/// Keep the newest [`KEEP_BACKUPS`] backups of `target`. Best effort: a backup that cannot
/// be removed only takes space.
fn rotate(target: &Path) {
    let stem = stem(target);
    let Ok(rd) = std::fs::read_dir(backups_dir()) else {
        return;
    };
    let mut mine: Vec<((String, u32), PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            backup_order(&stem, &name).map(|o| (o, e.path()))
        })
        .collect();
    mine.sort();
    let excess = mine.len().saturating_sub(KEEP_BACKUPS);
    for (_, p) in mine.into_iter().take(excess) {
        if let Err(e) = std::fs::remove_file(&p) {
            tracing::debug!("could not remove the old backup {}: {e}", p.display());
        }
    }
}

/// `YYYYMMDDTHHMMSS.ffffffZ` in UTC: sorts by time, readable, unique per run under the lock.
fn utc_stamp(t: std::time::SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{day:02}T{:02}{:02}{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_micros()
    )
}

/// Where an error message points a user who wants the original back.
pub fn describe_backup(b: Option<&Path>) -> String {
    b.map(paths::display_tilde)
        .unwrap_or_else(|| "(no backup: the file was new)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_shape_and_known_date() {
        let t = std::time::UNIX_EPOCH + Duration::from_micros(1_795_435_200_000_042);
        assert_eq!(utc_stamp(t), "20261123T120000.000042Z");
        let s = utc_stamp(std::time::SystemTime::now());
        assert_eq!(backup_order("x", &format!("x.{s}.bak")), Some((s, 0)));
    }

    #[test]
    fn stems_are_per_file_and_orders_parse_only_their_own() {
        assert_eq!(stem(Path::new("/h/u/.ssh/config")), "h%2Fu%2F.ssh%2Fconfig");
        assert_eq!(stem(Path::new("/a%b/c")), "a%25b%2Fc");
        let s = "20261123T080000.000042Z";
        assert_eq!(
            backup_order("c", &format!("c.{s}.bak")),
            Some((s.to_string(), 0))
        );
        assert_eq!(
            backup_order("c", &format!("c.{s}-3.bak")),
            Some((s.to_string(), 3))
        );
        // `config.d`'s backups are not `config`'s.
        assert_eq!(backup_order("c", &format!("c.d.{s}.bak")), None);
        assert_eq!(backup_order("c", "c.bak"), None);
        assert_eq!(backup_order("c", ".lock"), None);
        let long = format!("/{}", "d/".repeat(200));
        let st = stem(Path::new(&long));
        assert!(st.len() < 200, "{st}");
        assert_ne!(st, stem(Path::new(&format!("/x{long}"))));
    }

    #[test]
    fn inputs_notice_any_change() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"x").unwrap();
        let mut i = Inputs::default();
        i.add(&a, Some(b"x"));
        i.add(&b, None);
        assert!(i.unchanged());
        std::fs::write(&b, b"").unwrap();
        assert!(!i.unchanged());
        std::fs::remove_file(&b).unwrap();
        std::fs::write(&a, b"y").unwrap();
        assert!(!i.unchanged());
    }
}
