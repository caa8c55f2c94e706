//! The findings about the current repository's remotes: URLs git reads differently from what
//! their writer meant (`ssh://git@host:owner/repo.git`, where `owner` would be a port),
//! Heroku's retired SSH git transport with the HTTPS URL of the same app, the wrong user for
//! a git host, an HTTPS remote where SSH would do, and what git runs instead of plain ssh.
//! Every URL is judged as git uses it (after `insteadOf` rewriting), and every fix is a
//! `git remote set-url` that runs as printed.

use super::targets::{ConfigIndex, destination};
use crate::diagnose::{Finding, Severity, heroku_ssh_git_ended, is_heroku_host, sh_quote};
use crate::git::remotes::{Remote, RemoteUrl, Repo};
use crate::git::url::{SshUrl, Transport, classify};

/// Git hosts that log everyone in as the shared user `git` (GitHub, GitLab, Azure DevOps,
/// Codeberg); Bitbucket also takes `username@` by design and is not listed.
const GIT_USER_HOSTS: &[&str] = &[
    "github.com",
    "gitlab.com",
    "ssh.dev.azure.com",
    "vs-ssh.visualstudio.com",
    "codeberg.org",
];

/// Git hosts that serve SSH as well as HTTPS.
const SSH_CAPABLE_HOSTS: &[&str] = &[
    "github.com",
    "gitlab.com",
    "bitbucket.org",
    "codeberg.org",
    "gitea.com",
    "git.sr.ht",
];

pub fn findings(repo: &Repo, index: &ConfigIndex) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(c) = &repo.ssh_command {
        out.push(Finding::new(
            "git-ssh-command",
            Severity::Ok,
            format!(
                "git runs `{}` ({}) instead of plain ssh; the host checks show what plain ssh does",
                c.command, c.source
            ),
        ));
    }
    for r in &repo.remotes {
        for u in &r.urls {
            if let Some(f) = url_finding(r, u, &u.effective, false, index) {
                out.push(f);
            }
            if let Some(p) = &u.push_effective
                && *p != u.effective
                && let Some(f) = url_finding(r, u, p, true, index)
            {
                out.push(f);
            }
        }
    }
    out
}

/// Is Heroku among the remotes (its SSH host or its git HTTPS host)?
pub fn has_heroku_remote(repo: &Repo) -> bool {
    repo.remotes
        .iter()
        .flat_map(|r| &r.urls)
        .any(|u| match classify(&u.effective) {
            Transport::Ssh(s) => {
                destination(&s.user_and_host, None).is_some_and(|d| is_heroku_host(&d.host))
            }
            Transport::Helper { .. } => {
                https_host(&u.effective).is_some_and(|h| is_heroku_host(&h))
            }
            _ => false,
        })
}

/// `git remote set-url [--push] NAME URL [OLD]`: OLD (an anchored, escaped regex) only when
/// the URL is not the remote's first one, which set-url would change otherwise.
fn set_url(r: &Remote, u: &RemoteUrl, new: &str) -> String {
    let mut cmd = "git remote set-url".to_string();
    if u.is_push {
        cmd.push_str(" --push");
    }
    cmd.push_str(&format!(" {} {}", sh_quote(&r.name), sh_quote(new)));
    if u.index > 0 {
        cmd.push_str(&format!(
            " {}",
            sh_quote(&format!("^{}$", regex_escape(&u.raw)))
        ));
    }
    cmd
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// How the URL is named in a message: as written, and how git rewrote it.
fn shown(r: &Remote, u: &RemoteUrl, url: &str, push: bool) -> String {
    let kind = if u.is_push || push { "push URL" } else { "URL" };
    if url == u.raw {
        format!("remote `{}` {kind} {url}", r.name)
    } else {
        format!(
            "remote `{}` {kind} {url} (rewritten from {} by url.*.{})",
            r.name,
            u.raw,
            if push { "pushInsteadOf" } else { "insteadOf" }
        )
    }
}

/// A fix that runs as printed, or a manual step when the URL came from a rewrite rule
/// (changing the remote would not change the rule) or only pushes see it.
fn fix_for(r: &Remote, u: &RemoteUrl, url: &str, push: bool, new: &str) -> String {
    if push || url != u.raw {
        format!(
            "change the url.*.{} rule that produces {url} so that it gives {new}",
            if push { "pushInsteadOf" } else { "insteadOf" }
        )
    } else {
        set_url(r, u, new)
    }
}

fn url_finding(
    r: &Remote,
    u: &RemoteUrl,
    url: &str,
    push: bool,
    index: &ConfigIndex,
) -> Option<Finding> {
    match classify(url) {
        Transport::Ssh(s) => ssh_url_finding(r, u, url, push, &s),
        Transport::Helper { scheme } if scheme == "https" || scheme == "http" => {
            https_finding(r, u, url, push, index)
        }
        _ => None,
    }
}

fn ssh_url_finding(
    r: &Remote,
    u: &RemoteUrl,
    url: &str,
    push: bool,
    s: &SshUrl,
) -> Option<Finding> {
    let what = shown(r, u, url, push);
    if s.path.is_none() {
        return Some(Finding::new(
            "malformed-remote-url",
            Severity::Error,
            format!("{what} has no path: git stops with \"no path specified\""),
        ));
    }
    if let Some(after) = s.unread_colon() {
        let host = &s.user_and_host;
        return Some(match s.as_scp_like() {
            Some(fixed) => Finding::new(
                "malformed-ssh-url",
                Severity::Error,
                format!(
                    "{what} mixes the two URL forms: in ssh:// URLs a `:` starts a port, so git \
                     asks ssh for the host `{host}` (\"Could not resolve hostname\"); `{after}` \
                     belongs to the path"
                ),
            )
            .fix(fix_for(r, u, url, push, &fixed)),
            None => Finding::new(
                "malformed-ssh-url",
                Severity::Error,
                format!(
                    "{what}: port {after} is out of range (1-65535), so git passes `{host}` to ssh as the host name"
                ),
            ),
        });
    }
    if s.user_and_host.starts_with('-') {
        return Some(Finding::new(
            "malformed-remote-url",
            Severity::Error,
            format!("{what}: git refuses a host starting with `-` (\"strange hostname blocked\")"),
        ));
    }
    let dest = match crate::openssh::Destination::parse(&s.user_and_host) {
        Ok(d) => d,
        Err(e) => {
            return Some(Finding::new(
                "malformed-remote-url",
                Severity::Error,
                format!("{what}: ssh refuses `{}`: {}", s.user_and_host, e.message),
            ));
        }
    };
    let path = s.path.clone().unwrap_or_default();
    if is_heroku_host(&dest.host) {
        let app = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_string();
        let mut f = heroku_ssh_git_ended(&what);
        if !app.is_empty() && !app.contains('/') {
            let new = format!("https://git.heroku.com/{app}.git");
            f.fix = Some(if push || url != u.raw {
                fix_for(r, u, url, push, &new)
            } else {
                format!("{} && herossh git-credential install", set_url(r, u, &new))
            });
        }
        return Some(f);
    }
    if let Some(user) = &dest.user
        && user != "git"
        && GIT_USER_HOSTS.contains(&dest.host.to_ascii_lowercase().as_str())
    {
        let new = match &s.scheme {
            None => format!(
                "git@{}:{path}",
                s.user_and_host.rsplit_once('@').map_or("", |x| x.1)
            ),
            Some(scheme) => {
                let port = s.port.as_ref().map(|p| format!(":{p}")).unwrap_or_default();
                format!("{scheme}://git@{}{port}{}", dest.host, s.raw_path)
            }
        };
        return Some(
            Finding::new(
                "wrong-ssh-user-for-git-host",
                Severity::Warning,
                format!(
                    "{what} logs in as `{user}`, but {} takes every key as the user `git` \
                     (it tells accounts apart by the key)",
                    dest.host
                ),
            )
            .fix(fix_for(r, u, url, push, &new)),
        );
    }
    None
}

/// The host of an `http(s)://[user@]host[:port]/path` URL.
fn https_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    let host = authority.rsplit_once('@').map_or(authority, |x| x.1);
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn https_finding(
    r: &Remote,
    u: &RemoteUrl,
    url: &str,
    push: bool,
    index: &ConfigIndex,
) -> Option<Finding> {
    let host = https_host(url)?;
    if is_heroku_host(&host) {
        return None;
    }
    let known = SSH_CAPABLE_HOSTS.contains(&host.as_str());
    if !known && !index.has_stanza_for(&host) {
        return None;
    }
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, p)| p)
        .unwrap_or_default();
    let ssh_url = format!("git@{host}:{path}");
    Some(
        Finding::new(
            "remote-uses-https",
            Severity::Ok,
            format!(
                "{} uses HTTPS, so your SSH keys are not used for it (git asks for a token instead)",
                shown(r, u, url, push)
            ),
        )
        .fix(format!("to use SSH: {}", set_url(r, u, &ssh_url))),
    )
}
