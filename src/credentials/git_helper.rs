//! herossh as git's credential helper for Heroku's git HTTPS host: the request/answer
//! protocol (gitcredentials(7), "custom helpers") and the global git config that installs it.
//!
//! The Heroku CLI installs `credential.https://git.heroku.com.helper = !heroku
//! git:credentials`; herossh installs the same key pointing at itself, preceded by an empty
//! value, which tells git to forget helpers configured earlier (a system-wide
//! `credential.helper = store` would otherwise be asked first and could answer with a stale
//! password). The token is written only to git's pipe, never to a command line.

use std::io::BufRead;
use std::path::Path;
use std::process::Command;

use crate::credentials::Secret;
use crate::error::{Error, Result};

/// The username Heroku's git service expects with a token as the password.
pub const USERNAME: &str = "heroku";

/// The attributes of a request that matter here.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub protocol: Option<String>,
    pub host: Option<String>,
}

/// Read `key=value` lines up to a blank line or end of input (the protocol's framing).
/// Lines that are not `key=value` are ignored, as git ignores unknown attributes.
pub fn read_request(input: impl BufRead) -> Result<Request> {
    let mut req = Request::default();
    for line in input.lines() {
        let line = line.map_err(|e| Error::failed(format!("cannot read git's request: {e}")))?;
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once('=') {
            match k {
                "protocol" => req.protocol = Some(v.to_string()),
                "host" => req.host = Some(v.to_string()),
                _ => {}
            }
        }
    }
    Ok(req)
}

/// Whether this helper should answer: HTTPS to exactly `git_host` (case-insensitive, as host
/// names are). git sends the port when the remote URL names one, and
/// `https://git.heroku.com:443/app.git` is the same server, so `git_host:443` counts too
/// (unless `git_host` names a port of its own). Anything else gets no answer so git asks its
/// other helpers or the user.
pub fn answers(req: &Request, git_host: &str) -> bool {
    let Some(host) = req.host.as_deref() else {
        return false;
    };
    let has_port = git_host
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host = match host.strip_suffix(":443") {
        Some(bare) if !has_port => bare,
        _ => host,
    };
    req.protocol.as_deref() == Some("https") && host.eq_ignore_ascii_case(git_host)
}

/// The answer lines for `git_host`. A token with a line break would inject attributes into
/// the protocol, so it is refused.
pub fn answer(git_host: &str, token: &Secret) -> Result<String> {
    if token.expose().chars().any(|c| c.is_control()) {
        return Err(Error::failed(
            "the stored token contains control characters; log in again",
        ));
    }
    Ok(format!(
        "protocol=https\nhost={git_host}\nusername={USERNAME}\npassword={}\n",
        token.expose()
    ))
}

/// `credential.https://<git_host>.helper`.
pub fn config_key(git_host: &str) -> String {
    format!("credential.https://{git_host}.helper")
}

/// `!<path> git-credential`, the path shell-quoted when it needs it (git runs `!` helpers
/// through the shell).
pub fn helper_value(exe: &Path) -> String {
    let p = exe.to_string_lossy();
    let safe = p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._+-@%:,=".contains(c));
    if safe {
        format!("!{p} git-credential")
    } else {
        format!("!'{}' git-credential", p.replace('\'', r"'\''"))
    }
}

/// Whether a configured helper value is one herossh wrote (by any path to the binary, so a
/// moved or upgraded binary's entry is still recognised on uninstall).
pub fn is_ours(value: &str) -> bool {
    value.starts_with('!') && value.ends_with(" git-credential") && value.contains("herossh")
}

/// What install/uninstall did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Done,
    AlreadyThere,
    NothingToDo,
}

fn git(args: &[&str]) -> Result<std::process::Output> {
    Command::new("git")
        .args(args)
        .output()
        .map_err(|e| Error::failed(format!("cannot run git: {e}")))
}

/// The global values of `key`, in order (none when unset).
pub fn global_values(key: &str) -> Result<Vec<String>> {
    let out = git(&["config", "--global", "--get-all", key])?;
    match out.status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect()),
        // 1: the key is not set.
        Some(1) => Ok(Vec::new()),
        _ => Err(git_failed("read", &out)),
    }
}

fn git_failed(what: &str, out: &std::process::Output) -> Error {
    Error::failed(format!(
        "git config could not {what} the global configuration: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    ))
}

fn run_config(what: &str, args: &[&str]) -> Result<()> {
    let mut full = vec!["config", "--global"];
    full.extend_from_slice(args);
    let out = git(&full)?;
    // `--unset-all` exits 5 when nothing matched: not a failure for us.
    if out.status.success() || (args.contains(&"--unset-all") && out.status.code() == Some(5)) {
        Ok(())
    } else {
        Err(git_failed(what, &out))
    }
}

/// Install: leaves exactly `""` then `value` as the last two values of `key`; idempotent.
pub fn install(key: &str, value: &str) -> Result<Change> {
    let current = global_values(key)?;
    if current.len() >= 2 && current[current.len() - 2..] == ["", value] {
        return Ok(Change::AlreadyThere);
    }
    remove_values(key, &current)?;
    run_config("write", &["--add", key, ""])?;
    run_config("write", &["--add", key, value])?;
    Ok(Change::Done)
}

/// Uninstall: removes herossh's values and the empty reset that goes with them; other
/// helpers under the key stay.
pub fn uninstall(key: &str) -> Result<Change> {
    let current = global_values(key)?;
    if !current.iter().any(|v| is_ours(v)) {
        return Ok(Change::NothingToDo);
    }
    remove_values(key, &current)?;
    Ok(Change::Done)
}

fn remove_values(key: &str, current: &[String]) -> Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for v in current.iter().filter(|v| v.is_empty() || is_ours(v)) {
        if seen.insert(v.as_str()) {
            run_config("write", &["--fixed-value", "--unset-all", key, v])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_framing_and_matching() {
        let input =
            b"protocol=https\nhost=GIT.heroku.com\nwwwauth[]=Basic\nnonsense\n\nhost=evil\n";
        let req = read_request(&input[..]).unwrap();
        assert_eq!(req.protocol.as_deref(), Some("https"));
        assert_eq!(req.host.as_deref(), Some("GIT.heroku.com"));
        assert!(answers(&req, "git.heroku.com"));
        let http = read_request(&b"protocol=http\nhost=git.heroku.com\n"[..]).unwrap();
        assert!(!answers(&http, "git.heroku.com"));
        let other = read_request(&b"protocol=https\nhost=github.com"[..]).unwrap();
        assert!(!answers(&other, "git.heroku.com"));
        let port = |h: &str| Request {
            protocol: Some("https".into()),
            host: Some(h.into()),
        };
        assert!(answers(&port("git.heroku.com:443"), "git.heroku.com"));
        assert!(!answers(&port("git.heroku.com:8443"), "git.heroku.com"));
        assert!(!answers(&port("git.heroku.com:"), "git.heroku.com"));
        assert!(answers(&port("127.0.0.1:5000"), "127.0.0.1:5000"));
        assert!(!answers(&port("127.0.0.1:5000:443"), "127.0.0.1:5000"));
        assert!(!answers(&Request::default(), "git.heroku.com"));
    }

    #[test]
    fn answer_refuses_injection() {
        let a = answer("git.heroku.com", &Secret::new("t0k")).unwrap();
        assert_eq!(
            a,
            "protocol=https\nhost=git.heroku.com\nusername=heroku\npassword=t0k\n"
        );
        let e = answer("git.heroku.com", &Secret::new("t\nhost=x")).unwrap_err();
        assert!(!e.message.contains("host=x"));
    }

    #[test]
    fn helper_value_quotes_for_the_shell() {
        assert_eq!(
            helper_value(Path::new("/usr/local/bin/herossh")),
            "!/usr/local/bin/herossh git-credential"
        );
        assert_eq!(
            helper_value(Path::new("/opt/my tools/it's/herossh")),
            r"!'/opt/my tools/it'\''s/herossh' git-credential"
        );
        assert!(is_ours("!/usr/local/bin/herossh git-credential"));
        assert!(!is_ours("!heroku git:credentials"));
        assert!(!is_ours(""));
    }
}
