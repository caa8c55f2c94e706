//! The ssh-agent, through russh's agent client: which keys it holds, and signing with them.

use std::path::PathBuf;

use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::PublicKey;

/// What we learned from the agent named by `IdentityAgent` / `SSH_AUTH_SOCK`.
#[derive(Debug, Clone)]
pub enum AgentState {
    /// No socket configured (`SSH_AUTH_SOCK` unset, or `IdentityAgent none`).
    None,
    /// A socket is configured but does not answer. `hangs`: it accepted the connection and
    /// then said nothing — ssh waits for it forever; otherwise ssh goes on without an agent.
    Unreachable {
        socket: PathBuf,
        error: String,
        hangs: bool,
    },
    /// The agent answered with these keys (certificates are listed by their key).
    Keys {
        socket: PathBuf,
        keys: Vec<AgentKey>,
    },
}

/// One key the agent holds, with the comment `ssh-add` gave it (usually the file's path).
#[derive(Debug, Clone)]
pub struct AgentKey {
    pub key: PublicKey,
    pub comment: String,
}

impl AgentState {
    pub fn keys(&self) -> &[AgentKey] {
        match self {
            AgentState::Keys { keys, .. } => keys,
            _ => &[],
        }
    }
    pub fn socket(&self) -> Option<&PathBuf> {
        match self {
            AgentState::Keys { socket, .. } | AgentState::Unreachable { socket, .. } => {
                Some(socket)
            }
            AgentState::None => None,
        }
    }
}

/// Is this macOS's launchd-managed agent (`/private/tmp/com.apple.launchd.XXXX/Listeners`,
/// started on demand; PLATFORMS.md §2.5)?
pub fn is_launchd_socket(socket: &std::path::Path) -> bool {
    let s = socket.to_string_lossy();
    (s.starts_with("/private/tmp/com.apple.launchd.") || s.starts_with("/tmp/com.apple.launchd."))
        && s.ends_with("/Listeners")
}

/// The agent socket ssh would use: `IdentityAgent` (`none` disables, `SSH_AUTH_SOCK` means
/// the variable) else `$SSH_AUTH_SOCK`.
pub fn socket_path(identity_agent: Option<&str>) -> Option<PathBuf> {
    match identity_agent {
        Some("none") => None,
        Some("SSH_AUTH_SOCK") | None => std::env::var_os("SSH_AUTH_SOCK")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
        Some(p) => Some(crate::paths::expand_tilde(p)),
    }
}

/// Ask the agent for its keys.
pub async fn list(socket: Option<PathBuf>) -> AgentState {
    let Some(socket) = socket else {
        return AgentState::None;
    };
    let mut client = match AgentClient::connect_uds(&socket).await {
        Ok(c) => c,
        Err(e) => {
            return AgentState::Unreachable {
                socket,
                error: e.to_string(),
                hangs: false,
            };
        }
    };
    match client.request_identities().await {
        Ok(ids) => AgentState::Keys {
            socket,
            keys: ids
                .iter()
                .map(|id| AgentKey {
                    key: id.public_key().into_owned(),
                    comment: match id {
                        AgentIdentity::PublicKey { comment, .. }
                        | AgentIdentity::Certificate { comment, .. } => comment.clone(),
                    },
                })
                .collect(),
        },
        Err(e) => AgentState::Unreachable {
            socket,
            error: e.to_string(),
            hangs: false,
        },
    }
}
