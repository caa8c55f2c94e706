//! `doctor --fix`: which printed fixes doctor may run by itself, and running them.
//!
//! A finding's fix is a line for a person's shell. doctor runs it only when it is a plain
//! command (words, quotes as `sh_quote` writes them, `&&` between steps: no pipes,
//! redirections, substitutions or globs), holds no placeholder, and every step is on a short
//! list of safe commands: herossh's own fixes (`fix-config`, `keys add`, `git-credential
//! install`, `validate --accept-new` for an UNKNOWN host key only), `chmod`/`chown` of the
//! user's own files, `ssh-add`, and `git remote set-url`. Anything else (a manual step, a
//! changed host key, `ssh-keygen -R`, `rm`) is listed for the person and never run.
//!
//! A fix is kept as argv (one per step) and executed without a shell, so what is printed is
//! exactly what runs: `~` is expanded from `$HOME` (as the shell the fix was printed for
//! would have) before it is shown.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::diagnose::{Finding, Severity, sh_quote};

/// Words that stand for a value the fix does not know.
const PLACEHOLDERS: &[&str] = &[
    "KEY", "APP", "HOST", "USER", "OWNER", "REPO", "FILE", "PATH", "NAME", "EMAIL", "IDENTITY",
    "PORT", "ALIAS", "ORG", "TEAM", "USERNAME", "KEYWORD", "VALUE", "PROJECT",
];

/// A fix doctor can run: its steps, in order, each an argv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    pub steps: Vec<Vec<String>>,
    /// The finding it fixes, and the host it was reported for (None: a local check).
    pub code: &'static str,
    pub host: Option<String>,
}

impl Fix {
    /// The command line, shell-quoted, exactly as it runs.
    pub fn display(&self) -> String {
        self.steps
            .iter()
            .map(|s| s.iter().map(|w| sh_quote(w)).collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(" && ")
    }

    /// Order of application: file modes first (a key must be usable before anything relies
    /// on it), then config pins, the agent, remotes, account and helper changes, and host keys
    /// last (their probe then also sees everything else fixed).
    fn rank(&self) -> u8 {
        let first = &self.steps[0];
        let program = Path::new(&first[0]).file_name().and_then(|n| n.to_str());
        match (
            program.unwrap_or_default(),
            first.get(1).map(String::as_str),
        ) {
            ("chmod" | "chown", _) => 0,
            (_, Some("fix-config")) => 1,
            ("ssh-add", _) => 2,
            ("git", _) => 3,
            (_, Some("validate")) => 5,
            _ => 4,
        }
    }
}

/// What doctor does with one finding's fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Run(Fix),
    /// Left to the person, with the reason.
    Manual {
        text: String,
        why: String,
    },
}

/// The plan for a finding (None when it is not a warning or error, or has no fix).
pub fn plan(f: &Finding, host: Option<&str>) -> Option<Plan> {
    if f.severity == Severity::Ok {
        return None;
    }
    let text = f.fix.as_deref()?;
    let manual = |why: &str| {
        Some(Plan::Manual {
            text: text.to_string(),
            why: why.to_string(),
        })
    };
    if matches!(f.code, "host-key-changed" | "host-key-revoked") {
        return manual("a changed host key is never replaced without you");
    }
    let Some(words) = split(text) else {
        return manual("not a plain command");
    };
    let mut steps: Vec<Vec<String>> = vec![Vec::new()];
    for w in words {
        match w {
            Word::And => steps.push(Vec::new()),
            Word::Text { text, quoted } => {
                if PLACEHOLDERS.iter().any(|p| has_token(&text, p)) {
                    return manual("it has a placeholder to fill in");
                }
                let text = if quoted {
                    text
                } else {
                    crate::paths::expand_tilde(&text).display().to_string()
                };
                if let Some(last) = steps.last_mut() {
                    last.push(text);
                }
            }
        }
    }
    if steps.iter().any(Vec::is_empty) {
        return manual("not a plain command");
    }
    for s in &mut steps {
        if let Err(why) = allowed(s, f.code) {
            return manual(&why);
        }
        if s[0] == "herossh" {
            s[0] = herossh_program();
        }
    }
    Some(Plan::Run(Fix {
        steps,
        code: f.code,
        host: host.map(str::to_string),
    }))
}

/// How to run herossh itself: `herossh` when that is this very program on `PATH`, else the
/// path of this program (the fix is shown as it runs, so it must be the same binary).
fn herossh_program() -> String {
    let me = std::env::current_exe().ok();
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("herossh"))
            .find(|c| c.is_file())
    });
    match (me, on_path) {
        (Some(me), Some(p))
            if std::fs::canonicalize(&p).ok() == std::fs::canonicalize(&me).ok() =>
        {
            "herossh".into()
        }
        (Some(me), _) => me.display().to_string(),
        (None, _) => "herossh".into(),
    }
}

/// Is `token` in `s` as a whole word (delimited by anything but letters, digits and `_`)?
fn has_token(s: &str, token: &str) -> bool {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == token)
}

fn allowed(argv: &[String], code: &str) -> Result<(), String> {
    let a: Vec<&str> = argv.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["chmod", mode, path] if is_mode(mode) => own_file(path),
        ["chown", owner, path] => {
            let me = crate::paths::local_user();
            if owner.split(':').next() == Some(me.as_str()) && under_home(path) {
                Ok(())
            } else {
                Err("it changes the owner to someone else, or outside your home".into())
            }
        }
        ["herossh", "fix-config", ..] => Ok(()),
        ["herossh", "keys", "add", ..] => Ok(()),
        ["herossh", "git-credential", "install"] => Ok(()),
        ["herossh", "validate", rest @ ..] if rest.contains(&"--accept-new") => {
            if code == "host-key-unknown" {
                Ok(())
            } else {
                Err("host keys are only added when they are unknown".into())
            }
        }
        ["ssh-add", rest @ ..] if rest.iter().all(|w| !w.starts_with('-')) => Ok(()),
        ["git", "remote", "set-url", ..] => Ok(()),
        _ => Err("not a command doctor runs by itself".into()),
    }
}

fn is_mode(m: &str) -> bool {
    !m.is_empty() && m.bytes().all(|c| c.is_ascii_digit() && c < b'8')
}

fn own_file(path: &str) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path) {
        Ok(md) if md.file_type().is_symlink() => Err("it is a symbolic link".into()),
        Ok(md) if md.uid() == crate::os::user::uid() => Ok(()),
        Ok(_) => Err("the file is not yours".into()),
        Err(e) => Err(format!("{path}: {e}")),
    }
}

fn under_home(path: &str) -> bool {
    Path::new(path).starts_with(crate::paths::home_dir())
        || Path::new(path).starts_with(crate::openssh::home::dir())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    Text { text: String, quoted: bool },
    And,
}

/// Split a printed command into words the way sh would, for the forms `sh_quote` writes:
/// bare words of safe characters, '...' and "..." without expansions inside, `&&` between
/// commands. Anything a shell would expand or redirect → None.
fn split(s: &str) -> Option<Vec<Word>> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            chars.next();
        }
        let Some(&c) = chars.peek() else { break };
        if c == '&' {
            chars.next();
            if chars.next() != Some('&') {
                return None;
            }
            out.push(Word::And);
            continue;
        }
        let mut text = String::new();
        let mut quoted = false;
        while let Some(&c) = chars.peek() {
            match c {
                ' ' | '\t' => break,
                '\'' => {
                    chars.next();
                    quoted = true;
                    loop {
                        match chars.next()? {
                            '\'' => break,
                            x => text.push(x),
                        }
                    }
                }
                '"' => {
                    chars.next();
                    quoted = true;
                    loop {
                        match chars.next()? {
                            '"' => break,
                            '$' | '`' | '\\' | '!' => return None,
                            x => text.push(x),
                        }
                    }
                }
                '\\' => {
                    chars.next();
                    text.push(chars.next()?);
                }
                c if c.is_ascii_alphanumeric() || "/._-~:@%+=,^".contains(c) => {
                    chars.next();
                    text.push(c);
                }
                c if !c.is_ascii() => {
                    chars.next();
                    text.push(c);
                }
                _ => return None,
            }
        }
        out.push(Word::Text { text, quoted });
    }
    Some(out)
}

/// A fix left to the person, and why doctor does not run it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manual {
    pub host: Option<String>,
    pub code: &'static str,
    pub text: String,
    pub why: String,
}

/// The fixes to run and the manual steps, from every finding (deduplicated; the runnable
/// ones in the order they should run).
pub fn collect(findings: Vec<(&Finding, Option<String>)>) -> (Vec<Fix>, Vec<Manual>) {
    let mut runs: Vec<Fix> = Vec::new();
    let mut manual: Vec<Manual> = Vec::new();
    for (f, host) in findings {
        match plan(f, host.as_deref()) {
            Some(Plan::Run(fix)) if !runs.iter().any(|r| r.steps == fix.steps) => runs.push(fix),
            Some(Plan::Manual { text, why }) if !manual.iter().any(|m| m.text == text) => manual
                .push(Manual {
                    host,
                    code: f.code,
                    text,
                    why,
                }),
            _ => {}
        }
    }
    runs.sort_by_key(Fix::rank);
    (runs, manual)
}

/// Run a fix's steps in order, without a shell; stop at the first that fails. Their output
/// goes to stderr (stdout stays doctor's), their stdin is ours (ssh-add may ask for a
/// passphrase).
pub fn apply(fix: &Fix) -> Result<(), String> {
    for step in &fix.steps {
        let stdout = {
            use std::os::fd::AsFd;
            std::io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null())
        };
        let status = Command::new(&step[0])
            .args(&step[1..])
            .stdout(stdout)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", step[0]))?;
        if !status.success() {
            return Err(match status.code() {
                Some(c) => format!("`{}` exited with {c}", step[0]),
                None => format!("`{}` was killed", step[0]),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(code: &'static str, fix: &str) -> Finding {
        Finding::new(code, Severity::Error, "m").fix(fix)
    }

    fn steps(p: Option<Plan>) -> Vec<Vec<String>> {
        match p {
            Some(Plan::Run(f)) => f.steps,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_commands_become_argv() {
        let s = steps(plan(
            &f(
                "heroku-ssh-git-ended",
                "git remote set-url heroku https://git.heroku.com/my-app.git && herossh git-credential install",
            ),
            None,
        ));
        assert_eq!(
            s[0],
            [
                "git",
                "remote",
                "set-url",
                "heroku",
                "https://git.heroku.com/my-app.git"
            ]
        );
        assert_eq!(s[1][0], herossh_program());
        assert_eq!(s[1][1..], ["git-credential", "install"]);
        let s = steps(plan(
            &f(
                "x",
                "herossh fix-config --host 'my host' -i '/a b/it'\\''s'",
            ),
            None,
        ));
        assert_eq!(
            s[0][1..],
            ["fix-config", "--host", "my host", "-i", "/a b/it's"]
        );
    }

    #[test]
    fn manual_steps_are_never_run() {
        for (code, fix) in [
            ("agent-unreachable", "eval \"$(ssh-agent -s)\" && ssh-add"),
            ("pub-mismatch", "ssh-keygen -y -f k > k.pub"),
            (
                "no-key-accepted",
                "add k.pub to ~root/.ssh/authorized_keys on h (e.g. ssh-copy-id -i k.pub)",
            ),
            ("no-key-accepted", "herossh keys add KEY.pub"),
            (
                "heroku-ssh-git-ended",
                "git remote set-url heroku https://git.heroku.com/APP.git",
            ),
            (
                "host-key-changed",
                "only after confirming the new key with the host's owner: ssh-keygen -R h",
            ),
            ("host-key-changed", "herossh validate --accept-new h"),
            ("x", "herossh validate --accept-new h"),
            ("interrupted-write", "rm ~/.ssh/config.tmp"),
            ("x", "sudo chown -R me ~/.ssh"),
            ("x", "chmod 600 ~/.ssh/*"),
        ] {
            assert!(
                matches!(plan(&f(code, fix), None), Some(Plan::Manual { .. })),
                "{fix}"
            );
        }
        let ok = Finding::new("remote-uses-https", Severity::Ok, "m").fix("git remote set-url o u");
        assert_eq!(plan(&ok, None), None);
    }

    #[test]
    fn unknown_host_key_is_accepted() {
        let s = steps(plan(
            &f(
                "host-key-unknown",
                "herossh validate --accept-new me@h:2222",
            ),
            None,
        ));
        assert_eq!(s[0][1..], ["validate", "--accept-new", "me@h:2222"]);
    }
}
