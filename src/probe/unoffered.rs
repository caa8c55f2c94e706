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
    /// The file `fix-config -i` would pin for it: the key file; for an agent key, the file its
    /// comment names when that file (or its `.pub`) holds the key. None for an agent key with
    /// no such file (a hardware key, 1Password): `IdentityFile` then needs its public key
    /// written to a file first (the agent's `ssh-add -L` line), which selects the agent key.
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
    list(
        &settings.rules(),
        &settings.identity_files,
        settings.identities_only,
        plan,
        agent,
        ssh_dir,
    )
}

fn list(
    rules: &Rules,
    identity_files: &[PathBuf],
    identities_only: bool,
    plan: &[Identity],
    agent: &AgentState,
    ssh_dir: &std::path::Path,
) -> Vec<Unoffered> {
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
    exclude.extend(identity_files.iter().cloned());
    let mut out = Vec::new();
    let mut seen: Vec<PublicKey> = Vec::new();
    for load in scan::private_keys(ssh_dir, &exclude, rules) {
        let Some(key) = load.key().cloned() else {
            continue;
        };
        if in_plan(&key) || seen.iter().any(|s| s.key_data() == key.key_data()) {
            continue;
        }
        seen.push(key.clone());
        let usable = allowed(rules, &key)
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
    if identities_only {
        for a in agent.keys() {
            if in_plan(&a.key) || seen.iter().any(|s| s.key_data() == a.key.key_data()) {
                continue;
            }
            seen.push(a.key.clone());
            let pin = agent_key_file(&a.comment, &a.key, rules);
            out.push(Unoffered {
                key: a.key.clone(),
                usable_when_pinned: allowed(rules, &a.key),
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
fn agent_key_file(comment: &str, key: &PublicKey, rules: &Rules) -> Option<PathBuf> {
    let p = PathBuf::from(crate::openssh::home::expand(comment));
    if !p.is_absolute() {
        return None;
    }
    let load = crate::openssh::keys::load_identity(&p, rules);
    load.public
        .as_ref()
        .is_some_and(|k| k.key_data() == key.key_data())
        .then_some(p)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::{Command, Stdio};

    use super::*;
    use crate::probe::plan::Identity;
    use crate::probe::plan::{self, Source};

    use crate::test_util::sh;

    /// OpenSSH 9.x's defaults, without asking the installed ssh (which would write its cache
    /// into the real home).
    pub(crate) fn rules() -> Rules {
        Rules {
            required_rsa_size: 1024,
            pubkey_accepted: [
                "ssh-ed25519",
                "ecdsa-sha2-nistp256",
                "ecdsa-sha2-nistp384",
                "ecdsa-sha2-nistp521",
                "rsa-sha2-512",
                "rsa-sha2-256",
            ]
            .map(str::to_string)
            .to_vec(),
            ca_signature_algorithms: Vec::new(),
            pem_ed25519: false,
            dsa: true,
            uid: crate::os::user::uid(),
        }
    }

    /// The configured identity, as the plan holds it.
    fn configured(path: &Path) -> Identity {
        let load = crate::openssh::keys::load_identity(path, &rules());
        Identity {
            path: Some(path.to_path_buf()),
            agent_comment: None,
            key: load.key().cloned(),
            source: Source::Config,
            in_agent: false,
            encrypted: false,
            mode: load.mode,
            skipped: None,
            offered_order: Some(1),
            detail: plan::Detail::default(),
        }
    }

    /// Private keys by content under any name (a PEM key without its .pub, one in a
    /// subdirectory, a .ppk, a damaged one), never the configured one or a copy of it, never
    /// public keys or other files; then the agent keys IdentitiesOnly hides, pinnable through
    /// the file ssh-add read.
    #[test]
    fn finds_other_private_keys_by_content_and_hidden_agent_keys() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        sh(
            "ssh-keygen -q -t ed25519 -N '' -f id_ed25519 \
             && cp id_ed25519 copy_of_configured \
             && ssh-keygen -q -t ed25519 -N '' -C gh -f github \
             && ssh-keygen -q -t rsa -b 2048 -N '' -f work.pem \
             && ssh-keygen -q -p -m PEM -N '' -P '' -f work.pem && rm work.pem.pub \
             && mkdir keys && ssh-keygen -q -t ecdsa -N '' -f keys/deploy \
             && ssh-keygen -q -t ed25519 -N secret -f locked \
             && ssh-keygen -q -t ed25519 -N '' -f forputty && puttygen forputty -O private -o putty.ppk && rm forputty* \
             && ssh-keygen -q -t ed25519 -N '' -f broken && printf 'x' >> broken && sed -i 's/$/\\r/' broken \
             && echo 'Host *' > config && echo 'notes' > notes.txt && chmod 600 *",
            d,
        );
        let configured_path = d.join("id_ed25519");
        let plan = vec![configured(&configured_path)];
        let ids = [configured_path.clone()];
        let found = list(&rules(), &ids, false, &plan, &AgentState::None, d);
        let names: Vec<(String, bool)> = found
            .iter()
            .map(|u| {
                let p = u.pin.as_ref().unwrap();
                (
                    p.strip_prefix(d).unwrap().display().to_string(),
                    u.usable_when_pinned,
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                ("broken".to_string(), false),
                ("github".to_string(), true),
                ("keys/deploy".to_string(), true),
                ("locked".to_string(), true),
                ("putty.ppk".to_string(), false),
                ("work.pem".to_string(), true),
            ]
        );

        // An agent with a key no IdentityFile names: hidden only with IdentitiesOnly.
        let sock = d.join("agent.sock");
        let mut agent = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        for _ in 0..200 {
            if sock.exists() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        // One added from a file whose comment is its path (pinnable), one whose comment is
        // just user@host (its public key has to be written out first).
        let other = tempfile::tempdir().unwrap();
        let named = other.path().join("agentonly");
        sh(
            &format!(
                "ssh-keygen -q -t ed25519 -N '' -C {} -f agentonly && ssh-keygen -q -t ed25519 -N '' -C me@laptop -f plain",
                named.display()
            ),
            other.path(),
        );
        for k in ["agentonly", "plain"] {
            let st = Command::new("ssh-add")
                .arg(other.path().join(k))
                .env("SSH_AUTH_SOCK", &sock)
                .output()
                .unwrap();
            assert!(st.status.success());
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let state = rt.block_on(crate::probe::agent::list(Some(sock.clone())));
        let _ = agent.kill();
        let _ = agent.wait();
        for (only, expect) in [(false, 0), (true, 2)] {
            let hidden: Vec<Unoffered> = list(&rules(), &ids, only, &plan, &state, d)
                .into_iter()
                .filter(|u| matches!(u.origin, Origin::HiddenAgentKey { .. }))
                .collect();
            assert_eq!(hidden.len(), expect, "IdentitiesOnly {only}");
            if only {
                assert_eq!(hidden[0].pin.as_deref(), Some(named.as_path()));
                assert_eq!(hidden[1].pin, None);
                assert!(hidden.iter().all(|h| h.usable_when_pinned));
            }
        }
    }
}
