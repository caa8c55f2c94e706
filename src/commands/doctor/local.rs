//! The local checks: who is logged in to Heroku and from where, the ssh-agent, and `~/.ssh`
//! (permissions, keys ssh would refuse, leftovers of interrupted writes). No network.

use crate::commands::validate::block_on;
use crate::diagnose::{self, Finding, Severity, local};
use crate::error::Result;
use crate::probe::agent::{self, AgentState};

/// `~/.ssh` (the passwd home's, which ssh reads; a `$HOME` elsewhere is said first, since
/// every host the config there names is then invisible to ssh and to the host list), whether
/// ssh has any key to offer (`agent_has_keys`: the agent's answer), and the leftovers of
/// interrupted writes there and in the home.
pub fn ssh_dir_findings(agent_has_keys: bool) -> Vec<Finding> {
    let (ssh, home) = (crate::paths::ssh_dir(), crate::paths::home_dir());
    let mut f = diagnose::config::home_findings();
    f.extend(local::ssh_dir_findings(&ssh, agent_has_keys));
    f.extend(local::leftover_temp_findings(&ssh, &home));
    f
}

/// The agent `SSH_AUTH_SOCK` names, and whether it holds a key.
pub fn agent_findings() -> Result<(Vec<Finding>, bool)> {
    let state = block_on(agent::list(agent::socket_path(None)))?;
    let has_keys = matches!(&state, AgentState::Keys { keys, .. } if !keys.is_empty());
    Ok((agent_state_findings(&state), has_keys))
}

/// The credential tier: who is logged in and from where, and anything surprising; and
/// whether credentials resolved (Heroku context for the targets).
pub fn credential_findings() -> (Vec<Finding>, bool) {
    let status = match crate::credentials::status() {
        Ok(s) => s,
        Err(e) => {
            return (
                vec![Finding::new(
                    "credentials-unreadable",
                    Severity::Error,
                    e.message,
                )],
                false,
            );
        }
    };
    let mut out = Vec::new();
    match &status.resolved {
        Some(c) => out.push(Finding::new(
            "logged-in",
            Severity::Ok,
            format!(
                "logged in{} (token from {})",
                c.account
                    .as_ref()
                    .map(|a| format!(" as {a}"))
                    .unwrap_or_default(),
                status
                    .stored
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", c.source).to_lowercase())
            ),
        )),
        None => out.push(
            Finding::new(
                "not-logged-in",
                Severity::Warning,
                "no Heroku credentials (HEROKU_API_KEY, keychain or ~/.netrc): the account's keys cannot be checked",
            )
            .fix("herossh auth login"),
        ),
    }
    for w in status.warnings {
        out.push(Finding::new("credentials-warning", Severity::Warning, w));
    }
    (out, status.resolved.is_some())
}

fn agent_state_findings(state: &AgentState) -> Vec<Finding> {
    match state {
        AgentState::None => vec![Finding::new(
            "no-agent",
            Severity::Ok,
            "no ssh-agent (SSH_AUTH_SOCK is not set): encrypted keys need their passphrase each time",
        )],
        AgentState::Unreachable { socket, error, .. } => {
            vec![diagnose::agent_unreachable(socket, error)]
        }
        AgentState::Keys { keys, .. } => vec![Finding::new(
            "agent-keys",
            Severity::Ok,
            format!(
                "the ssh-agent holds {} key(s){}",
                keys.len(),
                if keys.len() > crate::probe::verdict::DEFAULT_MAX_AUTH_TRIES {
                    " — more than a server's default MaxAuthTries (6): use IdentitiesOnly per host"
                } else {
                    ""
                }
            ),
        )],
    }
}

/// Without Heroku context, no credentials is how it should be: say so, without a warning.
pub fn not_needed(credentials: &mut [Finding]) {
    for f in credentials.iter_mut().filter(|f| f.code == "not-logged-in") {
        f.severity = Severity::Ok;
        f.message = "no Heroku credentials (HEROKU_API_KEY, keychain or ~/.netrc): not needed, \
                     nothing here uses Heroku"
            .into();
        f.fix = None;
    }
}
