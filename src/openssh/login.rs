//! Ask the installed ssh itself whether it logs in. The probe speaks SSH through russh, which
//! lacks a few algorithms OpenSSH still negotiates (hmac-md5, umac, some old key exchanges):
//! against a server whose only common choice is one of them, the probe cannot connect while
//! ssh can. herossh's verdict must still be ssh's, so there (and only there) it runs
//! `ssh -v -N -o BatchMode=yes` for the same destination, options and files the user's ssh
//! would use, and reads what ssh reports: `Authenticated to …` (then it is stopped at once:
//! no session, no command), or its last words before it exits.
//!
//! The run never changes anything: no command, no TTY, no forwarding, no control master, no
//! LocalCommand, no prompt (BatchMode); it uses the user's agent and files, as ssh would.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

/// What the installed ssh said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshSaid {
    /// `Authenticated to HOST ([ADDR]:PORT) using "METHOD".` (before 8.5:
    /// `debug1: Authentication succeeded (METHOD).`)
    LoggedIn { method: String },
    /// It exited without logging in; `line` is its last non-debug line (e.g.
    /// `git@host: Permission denied (publickey).`).
    Failed { line: String },
    /// It could not be run, or did not finish in time.
    NotRun { why: String },
}

/// The destination and the options the user's ssh would get.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// `[user@]host` as typed (with `-p` below for a port).
    pub destination: String,
    pub port: Option<u16>,
    /// `-F FILE`.
    pub config: Option<PathBuf>,
    /// `-i FILE` (validate's `-i`).
    pub identities: Vec<PathBuf>,
    /// `-J HOPS` (validate's `-J`).
    pub jump: Option<String>,
}

/// Options that keep the run to authentication alone: they come first on the command line,
/// so they win over the config (ssh keeps the first value).
const QUIET: &[&str] = &[
    "-v",
    "-N",
    "-n",
    "-T",
    "-a",
    "-x",
    "-o",
    "BatchMode=yes",
    "-o",
    "ControlMaster=no",
    "-o",
    "ControlPath=none",
    "-o",
    "ClearAllForwardings=yes",
    "-o",
    "PermitLocalCommand=no",
    "-o",
    "ExitOnForwardFailure=no",
];

/// Run the installed ssh for `inv`, at most `timeout` (plus a moment to reap it).
pub async fn ask(inv: &Invocation, timeout: Duration) -> SshSaid {
    let Some(program) = super::installed().program.clone() else {
        return SshSaid::NotRun {
            why: "no ssh program is installed".into(),
        };
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(QUIET)
        .arg("-o")
        .arg(format!("ConnectTimeout={}", timeout.as_secs().max(1)));
    if let Some(f) = &inv.config {
        cmd.arg("-F").arg(f);
    }
    for i in &inv.identities {
        cmd.arg("-i").arg(i);
    }
    if let Some(j) = &inv.jump {
        cmd.arg("-J").arg(j);
    }
    if let Some(p) = inv.port {
        cmd.arg("-p").arg(p.to_string());
    }
    cmd.arg("--")
        .arg(&inv.destination)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            return SshSaid::NotRun {
                why: format!("cannot run ssh: {e}"),
            };
        }
    };
    let Some(stderr) = child.stderr.take() else {
        return SshSaid::NotRun {
            why: "no stderr from ssh".into(),
        };
    };
    let read = async {
        let mut lines = BufReader::new(stderr).lines();
        let mut last = String::new();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = line.trim_end_matches('\r').to_string();
            if let Some(method) = authenticated(&line) {
                return SshSaid::LoggedIn { method };
            }
            if !line.starts_with("debug") && !line.trim().is_empty() {
                last = line;
            }
        }
        SshSaid::Failed { line: last }
    };
    // Connecting, the host key, each key: a few round trips past the connect timeout.
    let said = match tokio::time::timeout(timeout * 3, read).await {
        Ok(s) => s,
        Err(_) => SshSaid::NotRun {
            why: format!("ssh did not finish within {} s", (timeout * 3).as_secs()),
        },
    };
    let _ = child.start_kill();
    let _ = child.wait().await;
    said
}

/// The method of ssh's success line at `-v`, if this is one.
fn authenticated(line: &str) -> Option<String> {
    let line = line.strip_prefix("debug1: ").unwrap_or(line);
    if let Some(rest) = line.strip_prefix("Authenticated to ") {
        return Some(
            rest.rsplit_once("using \"")
                .map(|(_, m)| m.trim_end_matches(['"', '.']).to_string())
                .unwrap_or_default(),
        );
    }
    line.strip_prefix("Authentication succeeded (")
        .map(|m| m.trim_end_matches(['.', ')']).to_string())
}

#[cfg(test)]
mod tests {
    use super::authenticated;

    #[test]
    fn success_lines_of_every_version() {
        assert_eq!(
            authenticated("Authenticated to 127.0.0.1 ([127.0.0.1]:22) using \"publickey\"."),
            Some("publickey".into())
        );
        assert_eq!(
            authenticated("Authenticated to h (via proxy) using \"publickey\"."),
            Some("publickey".into())
        );
        assert_eq!(
            authenticated("debug1: Authentication succeeded (publickey)."),
            Some("publickey".into())
        );
        assert_eq!(
            authenticated("debug1: Authentications that can continue: publickey"),
            None
        );
    }
}
