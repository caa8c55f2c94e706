//! The private keys in ssh's `~/.ssh` that ssh is not told about: found by content, whatever
//! their names (`github`, `work.pem`, `id_ed25519.old`), so the probe can ask the server
//! about them and a finding can pin the one it takes.

use std::path::{Path, PathBuf};

use super::envelope;
use super::load::{IdentityLoad, Rules, load_identity};
use super::text;
use crate::os::files::{self, Kind};

/// At most this many entries are looked at (a `~/.ssh` full of files stays fast).
const MAX_ENTRIES: usize = 500;
/// A private key file is small; anything larger is not read.
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// Does this text hold a private key (any format ssh or PuTTY writes, damaged or not)?
pub fn looks_private(bytes: &[u8]) -> bool {
    envelope::claims_format(bytes)
        || text::ppk(bytes).is_some()
        || String::from_utf8_lossy(bytes)
            .lines()
            .any(|l| l.contains("-----BEGIN") && l.contains("PRIVATE KEY-----"))
}

/// Every private key file in `dir` and its direct subdirectories, sorted by path, except the
/// ones in `exclude` (compared after resolving symlinks). FIFOs and other special files are
/// never opened.
pub fn private_keys(dir: &Path, exclude: &[PathBuf], rules: &Rules) -> Vec<IdentityLoad> {
    let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let excluded: Vec<PathBuf> = exclude.iter().map(|p| canon(p)).collect();
    let mut candidates = Vec::new();
    let mut seen = 0;
    let mut dirs = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = dirs.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                break;
            }
            let p = e.path();
            let Ok(md) = std::fs::metadata(&p) else {
                continue;
            };
            match files::kind(&md) {
                Kind::Dir if depth == 0 => dirs.push((p, 1)),
                Kind::File if md.len() <= MAX_KEY_BYTES => candidates.push(p),
                _ => {}
            }
        }
    }
    candidates.sort();
    candidates
        .into_iter()
        .filter(|p| !excluded.contains(&canon(p)))
        .filter(
            |p| matches!(crate::fsutil::read_limited(p, crate::fsutil::FileKind::PrivateKey), Ok(b) if looks_private(&b)),
        )
        .map(|p| load_identity(&p, rules))
        .collect()
}
