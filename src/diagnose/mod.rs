//! Findings with fixes, shared by `validate` and `doctor`.
//!
//! A finding has a stable `code` (scripts and tests branch on it), a one-line message that
//! says what is wrong in this user's terms, and, when there is one, the exact command that
//! fixes it. This module is the one place that decides which findings a probe report yields,
//! so validate and doctor can never explain the same situation differently.

pub mod account;
pub mod keys;
pub mod local;

use serde::Serialize;

use crate::paths::display_tilde;
use crate::probe::client::{ConnectFailure, Verdict, describe};
use crate::probe::known_hosts::Status;
use crate::probe::plan::HostSettings;
use crate::probe::report::Report;

/// OpenSSH's default MaxAuthTries, assumed when the server did not show a lower one.
pub const DEFAULT_MAX_AUTH_TRIES: usize = 6;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: &'static str,
    #[serde(skip)]
    pub severity: Severity,
    pub message: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity,
            message: message.into(),
            fix: None,
        }
    }
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Quote a path or argument for a copy-pasted shell command (only when needed).
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-~:@%+=,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Is this one of Heroku's SSH endpoints (whose git transport is gone)?
pub fn is_heroku_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "heroku.com" || h.ends_with(".heroku.com")
}

/// Is the probe about Heroku (by the name typed or the `HostName` it resolves to)?
fn targets_heroku(s: &HostSettings) -> bool {
    is_heroku_host(&s.alias) || is_heroku_host(&s.hostname)
}

/// Is the probe about the platform whose account keys we can check?
fn targets_platform(s: &HostSettings) -> bool {
    account::is_platform_host(&s.alias) || account::is_platform_host(&s.hostname)
}

/// The finding for Heroku's retired SSH git transport.
pub fn heroku_ssh_git_ended(context: &str) -> Finding {
    Finding::new(
        "heroku-ssh-git-ended",
        Severity::Error,
        format!(
            "{context}: Heroku ended SSH git transport on 2021-11-30; git must use HTTPS \
             (account SSH keys still matter for `heroku run`/`ps:exec` into Shield and Fir dynos)"
        ),
    )
    .fix("git remote set-url heroku https://git.heroku.com/APP.git && herossh git-credential install")
}

/// The account's keys when the report is about the platform's SSH host and the server was
/// reached (blocking; call outside the probe's runtime).
pub fn account_for(r: &Report) -> account::AccountKeys {
    if matches!(r.connection, Some(Ok(_))) && targets_platform(&r.settings) {
        account::fetch()
    } else {
        account::AccountKeys::NoCredentials
    }
}

/// The agent socket is set but does not answer.
pub fn agent_unreachable(socket: &std::path::Path, error: &str) -> Finding {
    Finding::new(
        "agent-unreachable",
        Severity::Warning,
        format!(
            "the ssh-agent socket {} does not answer ({error}); its keys cannot be used",
            socket.display()
        ),
    )
    .fix("eval \"$(ssh-agent -s)\" && ssh-add")
}

/// All findings for one probe report, most important first.
pub fn for_report(r: &Report, account: &account::AccountKeys) -> Vec<Finding> {
    let mut out = Vec::new();
    let s = &r.settings;
    let target_arg = sh_quote(&r.target());

    if let crate::probe::agent::AgentState::Unreachable { socket, error } = &r.agent {
        out.push(agent_unreachable(socket, error));
    }

    // Connection-level outcomes.
    match &r.connection {
        Some(Err(e)) => {
            out.push(connection_finding(r, e));
            if targets_heroku(s) {
                out.push(heroku_ssh_git_ended(&format!(
                    "the SSH probe of {} failed",
                    s.hostname
                )));
            }
            out.extend(plan_findings(r));
            return out;
        }
        Some(Ok(server)) => {
            if let Some(Status::Unknown { other_types }) = &server.host_key_status {
                let fp = server.host_key_fingerprint().unwrap_or_default();
                match &r.accepted_new_into {
                    Some(file) => out.push(Finding::new(
                        "host-key-unknown",
                        Severity::Ok,
                        format!(
                            "the host key {fp} was not known; added it to {}",
                            display_tilde(file)
                        ),
                    )),
                    None => {
                        let also = if other_types.is_empty() {
                            String::new()
                        } else {
                            format!(" (known_hosts holds only {})", other_types.join(", "))
                        };
                        out.push(
                            Finding::new(
                                "host-key-unknown",
                                Severity::Warning,
                                format!(
                                    "the host key of {} ({} {fp}) is not in known_hosts{also}; \
                                     ssh will ask (and fail in BatchMode)",
                                    s.known_hosts_name(),
                                    server.host_key_type().unwrap_or_default()
                                ),
                            )
                            .fix(format!("herossh validate --accept-new {target_arg}")),
                        );
                    }
                }
            }
        }
        None => {}
    }

    if r.connection.is_some() {
        out.extend(auth_findings(r));
        out.extend(account::findings(r, account));
    }
    out.extend(plan_findings(r));
    out
}

fn connection_finding(r: &Report, e: &ConnectFailure) -> Finding {
    let s = &r.settings;
    let t = format!("{}:{}", s.hostname, s.port);
    match e {
        ConnectFailure::Dns(m) => Finding::new(
            "dns-failure",
            Severity::Error,
            format!("cannot resolve {}: {m}", s.hostname),
        )
        .fix(format!(
            "check the host name (and any HostName in ~/.ssh/config) for {}",
            s.alias
        )),
        ConnectFailure::Refused(_) => Finding::new(
            "connection-refused",
            Severity::Error,
            format!("{t} refused the connection: no SSH server listens there"),
        )
        .fix("check the host and port (Port / HostName in ~/.ssh/config)"),
        ConnectFailure::Timeout => Finding::new(
            "connection-timeout",
            Severity::Error,
            format!("{t} did not complete an SSH handshake in time (firewall, proxy, or a server that never speaks)"),
        )
        .fix("check network access to the host (a firewall or a ProxyJump may be needed)"),
        ConnectFailure::Closed(_) | ConnectFailure::Handshake(_) => Finding::new(
            "handshake-failed",
            Severity::Error,
            format!("{t}: {}", describe(e)),
        ),
        ConnectFailure::HostKeyChanged { server } => {
            let (line, known_fp) = match &server.host_key_status {
                Some(Status::Changed(entry)) => (
                    format!("{}:{}: {}", display_tilde(&entry.path), entry.line_no, entry.line),
                    entry.fingerprint(),
                ),
                _ => (String::new(), String::new()),
            };
            let file = match &server.host_key_status {
                Some(Status::Changed(entry)) => sh_quote(&entry.path.display().to_string()),
                _ => "~/.ssh/known_hosts".into(),
            };
            Finding::new(
                "host-key-changed",
                Severity::Error,
                format!(
                    "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for {}: the server presents {} {} \
                     but known_hosts holds {known_fp} ({line}); someone could be intercepting the \
                     connection, so nothing was sent",
                    s.known_hosts_name(),
                    server.host_key_type().unwrap_or_default(),
                    server.host_key_fingerprint().unwrap_or_default(),
                ),
            )
            .fix(format!(
                "only after confirming the new key with the host's owner: ssh-keygen -R {} -f {file}",
                sh_quote(&s.known_hosts_name())
            ))
        }
        ConnectFailure::HostKeyRevoked { server } => Finding::new(
            "host-key-revoked",
            Severity::Error,
            format!(
                "the server's host key {} is marked @revoked in known_hosts; nothing was sent",
                server.host_key_fingerprint().unwrap_or_default()
            ),
        ),
    }
}

/// Per-key problems found by the plan (no network needed): see [`keys`].
pub fn plan_findings(r: &Report) -> Vec<Finding> {
    keys::plan_findings(r)
}

/// Which key got in, which should have, and why ssh would not get there.
fn auth_findings(r: &Report) -> Vec<Finding> {
    let mut out = Vec::new();
    let s = &r.settings;
    let accepted: Vec<usize> = (0..r.plan.len())
        .filter(|&i| r.verdict(i) == Some(&Verdict::Accepted))
        .collect();

    if r.none_accepted {
        out.push(Finding::new(
            "authenticated",
            Severity::Ok,
            format!("{} lets {} in without any key", s.hostname, s.user),
        ));
        return out;
    }
    if let Some(p) = &r.proof {
        let id = &r.plan[p.index];
        match &p.result {
            Ok(true) => out.push(Finding::new(
                "authenticated",
                Severity::Ok,
                format!(
                    "authenticated as {} with {} ({})",
                    s.user,
                    id.label(),
                    id.fingerprint().unwrap_or_default()
                ),
            )),
            Ok(false) => out.push(Finding::new(
                "signature-rejected",
                Severity::Error,
                format!(
                    "the server accepts {} but refused the signed login",
                    id.label()
                ),
            )),
            Err(e) => out.push(Finding::new(
                "signature-failed",
                Severity::Error,
                format!("could not sign with {}: {e}", id.label()),
            )),
        }
    }

    if accepted.is_empty() {
        if r.plan.iter().all(|id| id.key.is_none()) {
            out.push(
                Finding::new(
                    "no-key-accepted",
                    Severity::Error,
                    "there is no key to offer: no identity file and no agent key".to_string(),
                )
                .fix("herossh keygen"),
            );
        } else {
            let candidate = r
                .plan
                .iter()
                .find(|id| id.usable() && id.path.is_some())
                .and_then(|id| id.path.as_ref())
                .map(|p| sh_quote(&format!("{}.pub", display_tilde(p))))
                .unwrap_or_else(|| "KEY.pub".to_string());
            let fix = if targets_platform(s) {
                format!("herossh keys add {candidate}")
            } else {
                format!(
                    "add {candidate} to ~{}/.ssh/authorized_keys on {} (e.g. ssh-copy-id -i {candidate})",
                    s.user, s.hostname
                )
            };
            out.push(
                Finding::new(
                    "no-key-accepted",
                    Severity::Error,
                    format!(
                        "{} accepts none of the {} key(s) offered for {} (Permission denied (publickey))",
                        s.hostname,
                        r.verdicts.iter().flatten().count(),
                        s.user
                    ),
                )
                .fix(fix),
            );
            if targets_heroku(s) {
                out.push(heroku_ssh_git_ended(&format!(
                    "{} denied every key",
                    s.hostname
                )));
            }
        }
        return out;
    }

    // The first accepted key ssh could really use, and where it sits in ssh's offer order.
    let best = accepted
        .iter()
        .copied()
        .filter(|&i| r.plan[i].usable())
        .min_by_key(|&i| r.plan[i].offered_order);
    let Some(best) = best else {
        return out;
    };
    let id = &r.plan[best];
    let order = id.offered_order.unwrap_or(0);
    let fix = id.path.as_ref().map(|p| {
        format!(
            "herossh fix-config --host {} -i {}",
            sh_quote(&s.alias),
            sh_quote(&display_tilde(p))
        )
    });
    let rejected_before: Vec<String> = r
        .plan
        .iter()
        .enumerate()
        .filter(|(i, other)| {
            other.offered_order.is_some_and(|o| o < order)
                && r.verdict(*i) == Some(&Verdict::Rejected)
        })
        .map(|(_, other)| other.label())
        .collect();
    if !rejected_before.is_empty() {
        let mut f = Finding::new(
            "wrong-key-offered-first",
            Severity::Warning,
            format!(
                "{} is accepted but ssh offers {} first ({} rejected before it)",
                id.label(),
                rejected_before[0],
                rejected_before.len()
            ),
        );
        if let Some(fix) = &fix {
            f = f.fix(fix.clone());
        }
        out.push(f);
    }
    let limit = r.observed_max_auth_tries.unwrap_or(DEFAULT_MAX_AUTH_TRIES);
    if order > limit {
        let mut f = Finding::new(
            "too-many-auth-failures",
            Severity::Error,
            format!(
                "{} is key #{order} in ssh's offer order but the server allows {limit} attempts: \
                 ssh fails with \"Too many authentication failures\" before reaching it",
                id.label()
            ),
        );
        f =
            f.fix(fix.clone().unwrap_or_else(|| {
                format!("set IdentitiesOnly yes and IdentityFile for {}", s.alias)
            }));
        out.push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_heroku_hosts() {
        assert_eq!(sh_quote("~/.ssh/id_rsa"), "~/.ssh/id_rsa");
        assert_eq!(sh_quote("/a b/it's"), "'/a b/it'\\''s'");
        assert!(is_heroku_host("heroku.com"));
        assert!(is_heroku_host("ssh.Heroku.com."));
        assert!(!is_heroku_host("notheroku.com"));
    }
}
