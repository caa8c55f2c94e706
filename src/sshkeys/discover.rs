//! Finding the public keys a user probably means, the way `heroku keys:add` looks for them:
//! every `*.pub` in `~/.ssh`, with id_ed25519.pub and id_rsa.pub first.

use std::path::{Path, PathBuf};

/// Names offered first, in this order; everything else follows alphabetically.
const PREFERRED: &[&str] = &["id_ed25519.pub", "id_rsa.pub"];

/// Regular files (symlinks followed) named `*.pub` directly in `ssh_dir`, preferred first.
/// A missing or unreadable directory simply has no candidates.
pub fn discover_public_keys(ssh_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(ssh_dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".pub") && name.len() > ".pub".len())
        .collect();
    names.sort_by_key(|name| {
        let rank = PREFERRED
            .iter()
            .position(|p| p == name)
            .unwrap_or(PREFERRED.len());
        (rank, name.clone())
    });
    names.into_iter().map(|n| ssh_dir.join(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_ed25519_then_rsa_then_alphabetical() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in [
            "zeta.pub",
            "id_rsa.pub",
            "a.pub",
            "id_ed25519.pub",
            "id_rsa",
            "config",
            ".pub",
        ] {
            std::fs::write(d.join(name), "x").unwrap();
        }
        std::fs::create_dir(d.join("dir.pub")).unwrap();
        std::os::unix::fs::symlink(d.join("zeta.pub"), d.join("link.pub")).unwrap();
        std::os::unix::fs::symlink(d.join("gone"), d.join("dangling.pub")).unwrap();
        let found: Vec<String> = discover_public_keys(d)
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            found,
            [
                "id_ed25519.pub",
                "id_rsa.pub",
                "a.pub",
                "link.pub",
                "zeta.pub"
            ]
        );
        assert!(discover_public_keys(&d.join("missing")).is_empty());
    }
}
