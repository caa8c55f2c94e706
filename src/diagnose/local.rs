//! Checks that need no network: `~/.ssh` permissions, private keys ssh would refuse, leftovers
//! of interrupted writes. (The git remotes: `crate::git` and doctor's `remotes`.)

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{Finding, Severity, sh_quote};
use crate::paths::display_tilde;

/// `~/.ssh` itself, `~/.ssh/config`, and every private key in `~/.ssh`; and, when the agent
/// holds no key either, that ssh has no key of its own to offer (the first thing a new
/// machine lacks, and with `doctor --offline` nothing else would say it).
pub fn ssh_dir_findings(ssh_dir: &Path, agent_has_keys: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let shown = display_tilde(ssh_dir);
    let Ok(md) = std::fs::metadata(ssh_dir) else {
        // ssh makes the directory itself when it first records a host key.
        if !agent_has_keys {
            out.push(
                Finding::new(
                    "no-ssh-dir",
                    Severity::Warning,
                    format!(
                        "{shown} does not exist and no ssh-agent holds a key: ssh has no key \
                         to offer unless the config names one elsewhere (IdentityFile)"
                    ),
                )
                .fix("herossh keygen"),
            );
        }
        return out;
    };
    if !agent_has_keys && md.is_dir() && !has_private_key(ssh_dir) {
        out.push(
            Finding::new(
                "no-private-key",
                Severity::Warning,
                format!(
                    "no private key in {shown} and none in an ssh-agent: ssh has no key to \
                     offer unless the config names one elsewhere (IdentityFile)"
                ),
            )
            .fix("herossh keygen"),
        );
    }
    let mode = md.mode() & 0o7777;
    if mode & 0o022 != 0 {
        out.push(
            Finding::new(
                "ssh-dir-permissions",
                Severity::Warning,
                format!("{shown} has mode {mode:04o}: other users can replace your keys or config"),
            )
            .fix(format!("chmod 700 {}", sh_quote(&shown))),
        );
    }
    let config = ssh_dir.join("config");
    // ssh skips a config it cannot read without a word: every setting in it is silently off.
    if let crate::sshconfig::eval::Readability::Unreadable(why) =
        crate::sshconfig::eval::readability(&config)
    {
        let c = display_tilde(&config);
        out.push(Finding::new(
            "config-unreadable",
            Severity::Error,
            format!("{c} cannot be read ({why}): ssh ignores it, so none of its settings apply"),
        ));
    }
    // The check ssh makes (Debian's ssh also takes a group-writable file of the user's own
    // private group): one place, the evaluator's.
    if let Ok(cm) = std::fs::metadata(&config)
        && !crate::sshconfig::eval::secure_permissions(&cm, crate::openssh::installed())
    {
        let m = cm.mode() & 0o7777;
        let c = sh_quote(&display_tilde(&config));
        let owner = crate::os::perms::owner(&cm).uid;
        let uid = crate::os::user::uid();
        let fix = if owner != 0 && owner != uid {
            format!(
                "sudo chown {} {c} && chmod 600 {c}",
                sh_quote(&crate::paths::local_user())
            )
        } else {
            format!("chmod 600 {c}")
        };
        out.push(
            Finding::new(
                "config-permissions",
                Severity::Error,
                format!(
                    "{} has mode {m:04o}{}: ssh refuses it (\"Bad owner or permissions\")",
                    display_tilde(&config),
                    if owner != 0 && owner != uid {
                        format!(" and belongs to uid {owner}")
                    } else {
                        String::new()
                    }
                ),
            )
            .fix(fix),
        );
    }
    let mut entries: Vec<_> = std::fs::read_dir(ssh_dir)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    for p in entries {
        let Ok(m) = std::fs::metadata(&p) else {
            continue;
        };
        if !m.is_file() || m.len() > 64 * 1024 || !is_private_key(&p) {
            continue;
        }
        let mode = m.mode() & 0o7777;
        if m.uid() == uid && mode & 0o077 != 0 {
            let shown = display_tilde(&p);
            out.push(
                Finding::new(
                    "unprotected-private-key",
                    Severity::Error,
                    format!(
                        "{shown} has mode {mode:04o}: ssh says \"UNPROTECTED PRIVATE KEY FILE\" and ignores it"
                    ),
                )
                .fix(format!("chmod 600 {}", sh_quote(&shown))),
            );
        }
    }
    out
}

/// Whether `ssh_dir` holds a private key in any format (whatever its name or mode).
fn has_private_key(ssh_dir: &Path) -> bool {
    std::fs::read_dir(ssh_dir).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            let p = e.path();
            std::fs::metadata(&p).is_ok_and(|m| m.is_file() && m.len() <= 64 * 1024)
                && is_private_key(&p)
        })
    })
}

/// Temp files an interrupted herossh write left (a SIGKILL or power loss between writing and
/// renaming): harmless, but they hold a copy of what was being written (a key, a token), so
/// they are worth deleting. In `ssh_dir` every temp name of ours counts (herossh writes keys,
/// the config and its backups there); in `home` only one beside the file it was to replace
/// (`~/.netrc`), since other tools' files live there too.
pub fn leftover_temp_findings(ssh_dir: &Path, home: &Path) -> Vec<Finding> {
    let in_dir = |d: &Path, need_target: bool| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(d)
            .map(|rd| rd.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(crate::fsutil::leftover_temp_of)
                    .is_some_and(|of| !need_target || p.with_file_name(of).exists())
                    && p.is_file()
            })
            .collect()
    };
    let mut found = in_dir(ssh_dir, false);
    found.extend(in_dir(home, true));
    found.sort();
    found
        .into_iter()
        .map(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let of = crate::fsutil::leftover_temp_of(name).unwrap_or_default();
            let shown = display_tilde(&p);
            Finding::new(
                "interrupted-write",
                Severity::Warning,
                format!(
                    "{shown} is left over from an interrupted write of {of} (the original was \
                     not changed)"
                ),
            )
            .fix(format!("rm {}", sh_quote(&shown)))
        })
        .collect()
}

/// A private key in any format ssh or PuTTY writes (the key loader's test), read through the
/// bounded reader.
fn is_private_key(p: &Path) -> bool {
    crate::fsutil::read_limited(p, crate::fsutil::FileKind::PrivateKey)
        .is_ok_and(|b| crate::openssh::keys::scan::looks_private(&b))
}
