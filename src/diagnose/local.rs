//! Checks that need no network: `~/.ssh` permissions, private keys ssh would refuse, the git
//! remotes of the current repository (dead Heroku SSH remotes, SSH hosts to probe).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::{Finding, Severity, heroku_ssh_git_ended, is_heroku_host, sh_quote};
use crate::paths::display_tilde;

/// `~/.ssh` itself, `~/.ssh/config`, and every private key in `~/.ssh`.
pub fn ssh_dir_findings(ssh_dir: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    let shown = display_tilde(ssh_dir);
    let Ok(md) = std::fs::metadata(ssh_dir) else {
        out.push(
            Finding::new(
                "no-ssh-dir",
                Severity::Warning,
                format!("{shown} does not exist: there are no SSH keys"),
            )
            .fix("herossh keygen"),
        );
        return out;
    };
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
    if let Ok(cm) = std::fs::metadata(&config) {
        let m = cm.mode() & 0o7777;
        if m & 0o022 != 0 {
            let c = display_tilde(&config);
            out.push(
                Finding::new(
                    "config-permissions",
                    Severity::Error,
                    format!("{c} has mode {m:04o}: ssh refuses it (\"Bad owner or permissions\")"),
                )
                .fix(format!("chmod 600 {}", sh_quote(&c))),
            );
        }
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

fn is_private_key(p: &Path) -> bool {
    std::fs::read_to_string(p)
        .map(|t| t.trim_start().starts_with("-----BEGIN") && t.contains("PRIVATE KEY-----"))
        .unwrap_or(false)
}

/// A git remote that uses SSH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshRemote {
    pub name: String,
    pub url: String,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The path part (for Heroku: `APP.git`).
    pub path: String,
}

/// Parse an SSH remote URL: `ssh://[user@]host[:port]/path`, `git+ssh://...`, or the scp-like
/// `[user@]host:path` (no `://`, and a colon before any slash). Other URLs → None.
pub fn parse_ssh_url(url: &str) -> Option<(Option<String>, String, Option<u16>, String)> {
    let split_user = |s: &str| match s.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h.to_string()),
        None => (None, s.to_string()),
    };
    if let Some(rest) = url
        .strip_prefix("ssh://")
        .or_else(|| url.strip_prefix("git+ssh://"))
        .or_else(|| url.strip_prefix("ssh+git://"))
    {
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (user, hostport) = split_user(authority);
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.contains(']') || h.ends_with(']') => {
                (h.trim_matches(['[', ']']).to_string(), p.parse().ok())
            }
            _ => (hostport.trim_matches(['[', ']']).to_string(), None),
        };
        return (!host.is_empty()).then_some((user, host, port, path.to_string()));
    }
    if url.contains("://") {
        return None;
    }
    let colon = url.find(':')?;
    if url[..colon].contains('/') {
        return None;
    }
    let (user, host) = split_user(&url[..colon]);
    (!host.is_empty()).then_some((user, host, None, url[colon + 1..].to_string()))
}

/// The SSH remotes of the git repository in `dir` (none outside a repository or without git).
pub fn ssh_remotes(dir: &Path) -> Vec<SshRemote> {
    let Ok(o) = std::process::Command::new("git")
        .args(["remote", "-v"])
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return Vec::new();
    };
    if !o.status.success() {
        return Vec::new();
    }
    let mut out: Vec<SshRemote> = Vec::new();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let mut f = line.split_whitespace();
        let (Some(name), Some(url)) = (f.next(), f.next()) else {
            continue;
        };
        if out.iter().any(|r| r.name == name && r.url == url) {
            continue;
        }
        if let Some((user, host, port, path)) = parse_ssh_url(url) {
            out.push(SshRemote {
                name: name.to_string(),
                url: url.to_string(),
                user,
                host,
                port,
                path,
            });
        }
    }
    out
}

/// Heroku SSH remotes are dead: each gets its exact HTTPS replacement.
pub fn remote_findings(remotes: &[SshRemote]) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in remotes.iter().filter(|r| is_heroku_host(&r.host)) {
        let app = r
            .path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_string();
        let mut f = heroku_ssh_git_ended(&format!("git remote `{}` is {}", r.name, r.url));
        f.fix = Some(format!(
            "git remote set-url {} https://git.heroku.com/{}.git && herossh git-credential install",
            sh_quote(&r.name),
            app
        ));
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_urls() {
        assert_eq!(
            parse_ssh_url("git@heroku.com:my-app.git"),
            Some((
                Some("git".into()),
                "heroku.com".into(),
                None,
                "my-app.git".into()
            ))
        );
        assert_eq!(
            parse_ssh_url("ssh://git@heroku.com/my-app.git"),
            Some((
                Some("git".into()),
                "heroku.com".into(),
                None,
                "my-app.git".into()
            ))
        );
        assert_eq!(
            parse_ssh_url("ssh://root@127.0.0.1:2222/srv/x.git"),
            Some((
                Some("root".into()),
                "127.0.0.1".into(),
                Some(2222),
                "srv/x.git".into()
            ))
        );
        assert_eq!(
            parse_ssh_url("host:path"),
            Some((None, "host".into(), None, "path".into()))
        );
        assert_eq!(parse_ssh_url("https://git.heroku.com/app.git"), None);
        assert_eq!(parse_ssh_url("./local/repo"), None);
        assert_eq!(parse_ssh_url("/abs/path:with-colon"), None);
    }

    #[test]
    fn heroku_remote_gets_its_https_replacement() {
        let r = SshRemote {
            name: "heroku".into(),
            url: "git@heroku.com:my-app.git".into(),
            user: Some("git".into()),
            host: "heroku.com".into(),
            port: None,
            path: "my-app.git".into(),
        };
        let f = remote_findings(&[r]);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].code, "heroku-ssh-git-ended");
        assert_eq!(
            f[0].fix.as_deref(),
            Some(
                "git remote set-url heroku https://git.heroku.com/my-app.git && herossh git-credential install"
            )
        );
    }
}
