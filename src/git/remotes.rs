//! The remotes of a repository, each URL as written in the config and as git uses it after
//! `url.<base>.insteadOf` / `pushInsteadOf` rewriting. The rewriting is git's own answer
//! (`git remote get-url --all` / `--push --all`), not a re-implementation: rewrite rules
//! have corner cases (longest match, push-only rules, explicit pushurls) that only git gets
//! right by definition.

use std::path::Path;
use std::process::{Command, Stdio};

/// One URL of a remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUrl {
    /// As written (`remote.NAME.url` or `remote.NAME.pushurl`).
    pub raw: String,
    /// What git connects to for fetches (url) or pushes (pushurl).
    pub effective: String,
    /// For a `url` of a remote without pushurls: what pushes use (pushInsteadOf applied).
    pub push_effective: Option<String>,
    /// A `pushurl` entry (changed with `git remote set-url --push`).
    pub is_push: bool,
    /// Its position among the remote's urls (or pushurls): `set-url` changes the first one
    /// unless told which.
    pub index: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub name: String,
    pub urls: Vec<RemoteUrl>,
}

/// What git would run instead of plain `ssh`, and where that comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshCommand {
    pub command: String,
    /// `GIT_SSH_COMMAND`, `core.sshCommand` or `GIT_SSH`.
    pub source: &'static str,
}

/// A repository's remotes (None outside a repository or without git).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Repo {
    pub remotes: Vec<Remote>,
    pub ssh_command: Option<SshCommand>,
}

fn git(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    o.status.success().then_some(o.stdout)
}

fn lines(out: Option<Vec<u8>>) -> Vec<String> {
    out.map(|o| {
        String::from_utf8_lossy(&o)
            .lines()
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// The repository around `dir`, read through git itself.
pub fn read(dir: &Path) -> Option<Repo> {
    git(dir, &["rev-parse", "--git-dir"])?;
    let config = git(
        dir,
        &[
            "config",
            "-z",
            "--get-regexp",
            r"^(remote\..*\.(url|pushurl)|core\.sshcommand)$",
        ],
    )
    .unwrap_or_default();
    let mut raw: Vec<(String, bool, String)> = Vec::new();
    let mut core_ssh = None;
    for entry in config.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let text = String::from_utf8_lossy(entry);
        let (key, value) = text.split_once('\n').unwrap_or((&text, ""));
        if key == "core.sshcommand" {
            core_ssh = Some(value.to_string());
            continue;
        }
        let Some(rest) = key.strip_prefix("remote.") else {
            continue;
        };
        if let Some(name) = rest.strip_suffix(".pushurl") {
            raw.push((name.to_string(), true, value.to_string()));
        } else if let Some(name) = rest.strip_suffix(".url") {
            raw.push((name.to_string(), false, value.to_string()));
        }
    }
    let mut names: Vec<String> = Vec::new();
    for (n, _, _) in &raw {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    let remotes = names
        .into_iter()
        .map(|name| {
            let fetch_raw: Vec<&String> = raw
                .iter()
                .filter(|(n, p, _)| *n == name && !p)
                .map(|(_, _, u)| u)
                .collect();
            let push_raw: Vec<&String> = raw
                .iter()
                .filter(|(n, p, _)| *n == name && *p)
                .map(|(_, _, u)| u)
                .collect();
            let fetch_eff = lines(git(dir, &["remote", "get-url", "--all", &name]));
            let push_eff = lines(git(dir, &["remote", "get-url", "--push", "--all", &name]));
            let mut urls = Vec::new();
            for (i, r) in fetch_raw.iter().enumerate() {
                urls.push(RemoteUrl {
                    raw: (*r).clone(),
                    effective: fetch_eff.get(i).cloned().unwrap_or_else(|| (*r).clone()),
                    push_effective: if push_raw.is_empty() {
                        push_eff.get(i).cloned()
                    } else {
                        None
                    },
                    is_push: false,
                    index: i,
                });
            }
            for (i, r) in push_raw.iter().enumerate() {
                urls.push(RemoteUrl {
                    raw: (*r).clone(),
                    effective: push_eff.get(i).cloned().unwrap_or_else(|| (*r).clone()),
                    push_effective: None,
                    is_push: true,
                    index: i,
                });
            }
            Remote { name, urls }
        })
        .collect();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let ssh_command = if let Some(c) = env("GIT_SSH_COMMAND") {
        Some(SshCommand {
            command: c,
            source: "GIT_SSH_COMMAND",
        })
    } else if let Some(c) = core_ssh {
        Some(SshCommand {
            command: c,
            source: "core.sshCommand",
        })
    } else {
        env("GIT_SSH").map(|c| SshCommand {
            command: c,
            source: "GIT_SSH",
        })
    };
    Some(Repo {
        remotes,
        ssh_command,
    })
}
