//! The keys ssh does not offer to a host: the other private keys in ssh's `~/.ssh` (found by
//! content, any file name) and the agent keys `IdentitiesOnly yes` hides. When none of the
//! keys ssh offers gets in, the probe can ask the server about these (bounded: every rejected
//! query is a failed attempt in the server's log), and a finding can pin the one it takes
//! with `herossh fix-config --host H -i KEY`.
//!
//! Only the listing lives here; how many to ask and when is the probe's decision.

use std::path::PathBuf;

use russh::keys::ssh_key::PublicKey;

use super::agent::AgentState;
use super::plan::{HostSettings, Identity};
use crate::openssh::keys::{IdentityLoad, PrivateState, Rules, scan};

/// Where an unoffered key is.
#[derive(Debug, Clone)]
pub enum Origin {
    /// A private key file in `~/.ssh` (or a subdirectory) that no IdentityFile names.
    File(Box<IdentityLoad>),
    /// An agent key that IdentitiesOnly keeps ssh from offering.
    HiddenAgentKey { comment: String },
}

/// A key ssh would not offer, that the server could be asked about.
#[derive(Debug, Clone)]
pub struct Unoffered {
    pub key: PublicKey,
    pub origin: Origin,
    /// The file `fix-config -i` would pin for it (the key file; for an agent key, the file its
    /// comment names when that or its `.pub` exists), when there is one.
    pub pin: Option<PathBuf>,
    /// Pinned, would ssh be able to use it without anything else changing (it loads, or the
    /// agent holds it; its type is accepted)? An encrypted key counts: ssh asks at a terminal.
    pub usable_when_pinned: bool,
}

/// Every key ssh does not offer for these settings: files first (sorted by path), then hidden
/// agent keys in the agent's order; keys the plan already holds are left out.
pub fn unoffered(
    settings: &HostSettings,
    plan: &[Identity],
    agent: &AgentState,
    ssh_dir: &std::path::Path,
) -> Vec<Unoffered> {
    let rules = settings.rules();
    let in_plan = |k: &PublicKey| {
        plan.iter()
            .filter_map(|id| id.key.as_ref())
            .any(|p| p.key_data() == k.key_data())
    };
    let in_agent = |k: &PublicKey| {
        agent
            .keys()
            .iter()
            .any(|a| a.key.key_data() == k.key_data())
    };
    let mut exclude: Vec<PathBuf> = plan.iter().filter_map(|id| id.path.clone()).collect();
    exclude.extend(settings.identity_files.iter().cloned());
    let mut out = Vec::new();
    let mut seen: Vec<PublicKey> = Vec::new();
    for load in scan::private_keys(ssh_dir, &exclude, &rules) {
        let Some(key) = load.key().cloned() else {
            continue;
        };
        if in_plan(&key) || seen.iter().any(|s| s.key_data() == key.key_data()) {
            continue;
        }
        seen.push(key.clone());
        let usable = allowed(&rules, &key)
            && (in_agent(&key)
                || matches!(
                    load.private,
                    PrivateState::Loads | PrivateState::NeedsPassphrase
                ));
        out.push(Unoffered {
            pin: Some(load.path.clone()),
            key,
            origin: Origin::File(Box::new(load)),
            usable_when_pinned: usable,
        });
    }
    if settings.identities_only {
        for a in agent.keys() {
            if in_plan(&a.key) || seen.iter().any(|s| s.key_data() == a.key.key_data()) {
                continue;
            }
            seen.push(a.key.clone());
            let pin = agent_key_file(&a.comment, &a.key);
            out.push(Unoffered {
                key: a.key.clone(),
                usable_when_pinned: allowed(&rules, &a.key) && pin.is_some(),
                pin,
                origin: Origin::HiddenAgentKey {
                    comment: a.comment.clone(),
                },
            });
        }
    }
    out
}

fn allowed(rules: &Rules, key: &PublicKey) -> bool {
    let name = match key.algorithm() {
        russh::keys::ssh_key::Algorithm::Rsa { .. } => "ssh-rsa".to_string(),
        a => a.to_string(),
    };
    rules.type_allowed(&name) && rules.rsa_too_small(key).is_none()
}

/// The file an agent key's comment names (ssh-add records the path it read), when that file
/// or its `.pub` holds this key: `IdentityFile` on it selects the agent key.
fn agent_key_file(comment: &str, key: &PublicKey) -> Option<PathBuf> {
    let p = PathBuf::from(crate::openssh::home::expand(comment));
    if !p.is_absolute() {
        return None;
    }
    let load = crate::openssh::keys::load_identity(&p, &Rules::installed());
    load.public
        .as_ref()
        .is_some_and(|k| k.key_data() == key.key_data())
        .then_some(p)
}
