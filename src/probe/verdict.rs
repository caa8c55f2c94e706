//! What the installed ssh would do with everything the probe learned: one simulated `ssh`
//! run, step by step as `ssh` takes them — connect, negotiate, check the host key, then offer
//! its keys in its order against the server's answers and its MaxAuthTries — ending in the
//! outcome the user would see. The probe's own extra effort (reconnecting past MaxAuthTries,
//! asking about keys ssh would not offer) never counts toward this outcome: it only feeds the
//! findings that say what to change.

use russh::keys::ssh_key::{Algorithm, HashAlg};
use serde::Serialize;

use super::agent::AgentState;
use super::client::{ConnectFailure, Login, Verdict};
use super::known_hosts::Status;
use super::negotiate::{self, Category};
use super::plan::{Identity, SkipReason};
use super::report::Report;
use crate::openssh::keys::PrivateState;
use crate::openssh::login::SshSaid;

/// OpenSSH's default MaxAuthTries, assumed when the server did not show a lower one.
pub const DEFAULT_MAX_AUTH_TRIES: usize = 6;

/// What ssh needs from the person at the terminal on the way to success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Prompt {
    /// "Are you sure you want to continue connecting (yes/no/[fingerprint])?"
    ConfirmHostKey,
    /// "Enter passphrase for key '…':" (plan index of the key).
    Passphrase { key: usize },
}

/// Why ssh stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum Failure {
    /// ssh refuses the configuration and does not start (see the config findings).
    Config,
    /// The agent socket accepts but never answers: ssh waits forever.
    AgentHangs,
    /// DNS, TCP or the SSH handshake (see the connection).
    Connect,
    /// "Unable to negotiate …: no matching … found".
    Negotiation {
        what: Category,
    },
    HostKeyChanged,
    HostKeyRevoked,
    /// "Host key verification failed." (unknown key, and ssh may not ask).
    HostKeyUnknown,
    /// The server does not offer `publickey`, or ssh is configured not to use it.
    NoPublickey,
    /// No offered key is accepted ("Permission denied (publickey)").
    NoKeyAccepted,
    /// The server disconnects before the accepted key's turn.
    TooManyAuthFailures {
        accepted_key: usize,
        position: usize,
        limit: usize,
    },
    /// The key is accepted, the server requires more (`AuthenticationMethods`).
    PartialSuccess {
        key: usize,
        remaining: Vec<String>,
    },
    /// The accepted key could not sign or its signature was refused.
    SignatureFailed {
        key: usize,
        why: String,
    },
    /// An accepted key needs a passphrase and ssh cannot ask (BatchMode, no terminal).
    PassphraseNeeded {
        key: usize,
    },
    /// ssh does not get to the host: a jump host (`hop`, as written in ProxyJump) or the
    /// ProxyCommand fails, or ssh refuses the route (`hop` empty). `cause`: `unreachable`,
    /// `host-key-unknown`, `host-key-changed`, `host-key-revoked`, `negotiation`, `config`,
    /// `denied`, `forward`, `proxy-command`, or the code of an invalid route.
    Route {
        hop: String,
        cause: String,
    },
    /// The installed ssh, asked in the probe's place (see `Report::ssh_said`), fails with
    /// this line.
    SshFails {
        line: String,
    },
}

/// The predicted outcome of `ssh` as the user runs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "outcome")]
pub enum Outcome {
    /// ssh logs in (after the prompts, when there are any).
    LoggedIn {
        /// Plan index of the key that gets in (None: the server let `none` in).
        key: Option<usize>,
        prompts: Vec<Prompt>,
    },
    Fails(Failure),
    /// The probe could not find out (a key without an answer, a handshake russh cannot do).
    Unknown {
        why: String,
    },
}

/// The signature algorithm ssh 8.8+ signs with for `alg`, or None when it has none in common
/// with the server ("no mutual signature algorithm": ssh skips the key). `rsa_sig`: what
/// server-sig-algs said (see `ServerInfo::rsa_sig`); `accepted`: PubkeyAcceptedAlgorithms.
pub fn signature_algorithm(
    alg: &Algorithm,
    rsa_sig: Option<Option<HashAlg>>,
    accepted: &[String],
) -> Option<String> {
    let own = match alg {
        Algorithm::Rsa { .. } => "ssh-rsa".to_string(),
        other => other.to_string(),
    };
    if !matches!(alg, Algorithm::Rsa { .. }) || rsa_sig.is_none() {
        // No server-sig-algs (or not RSA): the key's own name, if allowed.
        return accepted.contains(&own).then_some(own);
    }
    // The first RSA algorithm in PubkeyAcceptedAlgorithms the server also lists.
    let server: &[&str] = match rsa_sig.flatten() {
        Some(HashAlg::Sha512) => &["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
        Some(_) => &["rsa-sha2-256", "ssh-rsa"],
        // server-sig-algs without rsa-sha2-*: at most ssh-rsa.
        None => &["ssh-rsa"],
    };
    accepted
        .iter()
        .filter(|a| negotiate::key_class(a) == Some("rsa") && !a.contains("-cert-"))
        .find(|a| server.contains(&a.as_str()))
        .cloned()
}

/// Does ssh send this identity to the server, and with which signature algorithm?
pub fn offered(r: &Report, id: &Identity) -> bool {
    let Some(key) = &id.key else { return false };
    if id.offered_order.is_none() || !id.skipped.is_none_or(SkipReason::still_offered) {
        return false;
    }
    let rsa_sig = r.server().and_then(|s| s.rsa_sig);
    signature_algorithm(
        &key.algorithm(),
        rsa_sig,
        &r.settings.pubkey_accepted_algorithms,
    )
    .is_some()
}

/// The plan indices ssh offers, in its order.
pub fn offer_order(r: &Report) -> Vec<usize> {
    let mut order: Vec<usize> = (0..r.plan.len())
        .filter(|&i| offered(r, &r.plan[i]))
        .collect();
    order.sort_by_key(|&i| r.plan[i].offered_order);
    order
}

/// Can ssh sign with this key once the server accepts it (and what must the user do)?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signing {
    Yes,
    WithPassphrase,
    /// ssh cannot (it fails to load the private key, and goes on with the next key).
    No,
    /// Only through the FIDO security key that holds it (`sk-*` keys, from a file or an
    /// agent): ssh signs when the device is plugged in (and touched, unless the key was made
    /// `no-touch-required`), else says "device not found" and goes on. The probe cannot.
    SecurityKey,
}

/// [`Signing`] for plan entry `i`. A certificate signs with its signer (the plan entry ssh
/// pairs it with, else the key file of its own name). A key ssh does not offer (hidden by
/// IdentitiesOnly, or not configured) answers for the day it is pinned.
pub(crate) fn signing(r: &Report, i: usize) -> Signing {
    let id = &r.plan[i];
    match &id.detail.cert {
        None => key_signing(id),
        Some(_) if id.skipped.is_some() => Signing::No,
        Some(c) => match c.signer {
            Some(s) => key_signing(&r.plan[s]),
            None => match id
                .path
                .as_ref()
                .map(|p| crate::openssh::keys::load_identity(p, &r.settings.rules()).private)
            {
                Some(PrivateState::Loads) => Signing::Yes,
                Some(PrivateState::NeedsPassphrase) => Signing::WithPassphrase,
                _ => Signing::No,
            },
        },
    }
}

fn key_signing(id: &Identity) -> Signing {
    let signing = file_or_agent_signing(id);
    let security_key = id.key.as_ref().is_some_and(|k| {
        matches!(
            k.algorithm(),
            Algorithm::SkEd25519 | Algorithm::SkEcdsaSha2NistP256
        )
    });
    if security_key && signing != Signing::No {
        Signing::SecurityKey
    } else {
        signing
    }
}

fn file_or_agent_signing(id: &Identity) -> Signing {
    if id.in_agent {
        return Signing::Yes;
    }
    match id.skipped {
        None => Signing::Yes,
        Some(SkipReason::EncryptedNotInAgent) => Signing::WithPassphrase,
        Some(SkipReason::NotConfigured) => match id.detail.load.as_ref().map(|l| &l.private) {
            Some(PrivateState::Loads) => Signing::Yes,
            Some(PrivateState::NeedsPassphrase) => Signing::WithPassphrase,
            _ => Signing::No,
        },
        Some(_) => Signing::No,
    }
}

/// Simulate ssh. `interactive`: ssh runs at a terminal without BatchMode (it may ask).
pub fn simulate(r: &Report, interactive: bool) -> Outcome {
    if !r.settings.config_errors.is_empty() {
        return Outcome::Fails(Failure::Config);
    }
    if matches!(r.agent, AgentState::Unreachable { hangs: true, .. }) {
        return Outcome::Fails(Failure::AgentHangs);
    }
    if let Some(o) = r.route.as_ref().and_then(|way| way.outcome()) {
        return o;
    }
    if let Some(asked) = &r.ssh_said {
        return match &asked.said {
            SshSaid::LoggedIn { .. } => Outcome::LoggedIn {
                key: None,
                prompts: Vec::new(),
            },
            // Asked without prompts: the answer is the script's; at a terminal ssh may still
            // ask its way in (a host key, a passphrase).
            SshSaid::Failed { line } if !interactive => {
                Outcome::Fails(Failure::SshFails { line: line.clone() })
            }
            SshSaid::Failed { line } => Outcome::Unknown {
                why: format!(
                    "ssh without prompts fails (`{line}`); at a terminal it may ask and get in"
                ),
            },
            SshSaid::NotRun { why } => Outcome::Unknown {
                why: format!(
                    "the probe cannot speak {}, which ssh negotiates here, and ssh could not be \
                     asked: {why}",
                    asked.lacking
                ),
            },
        };
    }
    let Some(conn) = &r.connection else {
        return Outcome::Unknown {
            why: "not probed (--plan)".into(),
        };
    };
    // ssh adds what KnownHostsCommand prints to the known_hosts files, so a key the files
    // do not hold (or hold another of) may still be known to it; the probe does not run it.
    // It matters only where the files alone make ssh stop.
    let command_decides = |status: Option<&Status>| {
        let strict = r.settings.strict_host_key_checking.as_str();
        let matters = match status {
            Some(Status::Unknown) => !matches!(strict, "false" | "accept-new"),
            Some(Status::Changed(_)) => !r.settings.host_key_mismatch_goes_on(),
            _ => false,
        };
        matters
            .then(|| r.settings.known_hosts_command())
            .flatten()
            .map(|c| Outcome::Unknown {
                why: format!(
                    "the known_hosts files do not vouch for the host key, and ssh also asks \
                     KnownHostsCommand `{c}`, which herossh does not run"
                ),
            })
    };
    let server = match conn {
        Ok(s) => s,
        Err(ConnectFailure::HostKeyChanged { server }) => {
            if let Some(o) = command_decides(server.host_key_status.as_ref()) {
                return o;
            }
            if !r.settings.host_key_mismatch_goes_on() {
                return Outcome::Fails(Failure::HostKeyChanged);
            }
            return Outcome::Unknown {
                why: "the host key changed and StrictHostKeyChecking is off; the probe stopped"
                    .into(),
            };
        }
        Err(ConnectFailure::HostKeyRevoked { .. }) => {
            return Outcome::Fails(Failure::HostKeyRevoked);
        }
        Err(ConnectFailure::Negotiation { what, .. }) => {
            return Outcome::Fails(Failure::Negotiation { what: *what });
        }
        Err(_) => return Outcome::Fails(Failure::Connect),
    };
    if !r.settings.no_host_auth_for_localhost()
        && let Some(o) = command_decides(server.host_key_status.as_ref())
    {
        return o;
    }
    let mut prompts = Vec::new();
    if let Some(Status::Unknown) = &server.host_key_status
        && r.accepted_new_into.is_none()
        && !r.settings.no_host_auth_for_localhost()
    {
        // UserKnownHostsFile none: nowhere to record a new key, so ssh refuses it whatever
        // StrictHostKeyChecking says, without asking (sshconnect.c: read-only host files).
        if r.settings.user_known_hosts_files.is_empty() {
            return Outcome::Fails(Failure::HostKeyUnknown);
        }
        match r.settings.strict_host_key_checking.as_str() {
            "false" | "accept-new" => {}
            "ask" if interactive => prompts.push(Prompt::ConfirmHostKey),
            _ => return Outcome::Fails(Failure::HostKeyUnknown),
        }
    }
    if r.none_accepted {
        return Outcome::LoggedIn { key: None, prompts };
    }
    if !r.settings.pubkey_authentication || !r.methods.iter().any(|m| m == "publickey") {
        return Outcome::Fails(Failure::NoPublickey);
    }
    let limit = r.observed_max_auth_tries.unwrap_or(DEFAULT_MAX_AUTH_TRIES);
    let mut failures = 0;
    let mut position = 0;
    for i in offer_order(r) {
        position += 1;
        let id = &r.plan[i];
        match r.verdict(i) {
            Some(Verdict::Rejected) => {
                failures += 1;
            }
            Some(Verdict::Accepted) => {
                if failures >= limit {
                    return Outcome::Fails(Failure::TooManyAuthFailures {
                        accepted_key: i,
                        position,
                        limit,
                    });
                }
                match signing(r, i) {
                    Signing::No => continue,
                    // With the device ssh logs in with this key; without it, with the next
                    // accepted one, if any: either way it logs in when there is one.
                    Signing::SecurityKey if first_later_success(r, i).is_some() => continue,
                    Signing::SecurityKey => {
                        return Outcome::Unknown {
                            why: format!(
                                "the server accepts {}, and ssh signs with it only through the \
                                 FIDO security key that holds it: plugged in, and touched when \
                                 ssh asks (unless the key was made no-touch-required); herossh \
                                 cannot use the device (without it ssh says \"device not \
                                 found\" and is denied)",
                                id.label()
                            ),
                        };
                    }
                    Signing::WithPassphrase if !interactive => {
                        // ssh cannot ask: it moves on to the next key.
                        if first_later_success(r, i).is_none() {
                            return Outcome::Fails(Failure::PassphraseNeeded { key: i });
                        }
                        continue;
                    }
                    Signing::WithPassphrase => prompts.push(Prompt::Passphrase { key: i }),
                    Signing::Yes => {}
                }
                return match &r.proof {
                    Some(p) if p.index == i => match &p.result {
                        Ok(Login::Success) => Outcome::LoggedIn {
                            key: Some(i),
                            prompts,
                        },
                        Ok(Login::Partial(remaining)) => Outcome::Fails(Failure::PartialSuccess {
                            key: i,
                            remaining: remaining.clone(),
                        }),
                        Ok(Login::Refused) => Outcome::Fails(Failure::SignatureFailed {
                            key: i,
                            why: "the server refused the signature".into(),
                        }),
                        // Tried and failed (a wrong passphrase given, an agent that will
                        // not sign, a key that does not load).
                        Err(e) => Outcome::Fails(Failure::SignatureFailed {
                            key: i,
                            why: e.clone(),
                        }),
                    },
                    _ if signing(r, i) == Signing::WithPassphrase => Outcome::LoggedIn {
                        key: Some(i),
                        prompts,
                    },
                    _ => Outcome::Unknown {
                        why: format!("{} is accepted but the login was not tried", id.label()),
                    },
                };
            }
            Some(Verdict::Unknown(why)) => {
                return Outcome::Unknown {
                    why: format!("no answer about {}: {why}", id.label()),
                };
            }
            None => {
                return Outcome::Unknown {
                    why: format!("{} was not asked about", id.label()),
                };
            }
        }
        if failures >= limit {
            // The server hangs up after this failure: nothing after it is tried.
            let later_accepted = offer_order(r)
                .into_iter()
                .skip(position)
                .find(|&j| r.verdict(j) == Some(&Verdict::Accepted));
            return match later_accepted {
                Some(j) => Outcome::Fails(Failure::TooManyAuthFailures {
                    accepted_key: j,
                    position: position
                        + 1
                        + offer_order(r)
                            .into_iter()
                            .skip(position)
                            .position(|k| k == j)
                            .unwrap_or(0),
                    limit,
                }),
                None => Outcome::Fails(Failure::NoKeyAccepted),
            };
        }
    }
    Outcome::Fails(Failure::NoKeyAccepted)
}

/// Is there an accepted, signable key after `i` in ssh's order?
fn first_later_success(r: &Report, i: usize) -> Option<usize> {
    let order = offer_order(r);
    let pos = order.iter().position(|&k| k == i)?;
    order[pos + 1..]
        .iter()
        .copied()
        .find(|&k| r.verdict(k) == Some(&Verdict::Accepted) && signing(r, k) == Signing::Yes)
}

impl Outcome {
    pub fn logged_in(&self) -> bool {
        matches!(self, Outcome::LoggedIn { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(s: &str) -> Vec<String> {
        s.split(',').map(str::to_string).collect()
    }

    #[test]
    fn rsa_signatures_as_ssh_8_8_chooses_them() {
        let acc = list("ssh-ed25519,rsa-sha2-512,rsa-sha2-256");
        let rsa = Algorithm::Rsa { hash: None };
        assert_eq!(
            signature_algorithm(&rsa, Some(Some(HashAlg::Sha512)), &acc).as_deref(),
            Some("rsa-sha2-512")
        );
        assert_eq!(
            signature_algorithm(&rsa, Some(Some(HashAlg::Sha256)), &acc).as_deref(),
            Some("rsa-sha2-256")
        );
        // An old server: no server-sig-algs, or one without SHA-2: no mutual algorithm.
        assert_eq!(signature_algorithm(&rsa, None, &acc), None);
        assert_eq!(signature_algorithm(&rsa, Some(None), &acc), None);
        // Unless the host allows ssh-rsa again.
        let plus = list("ssh-ed25519,rsa-sha2-512,rsa-sha2-256,ssh-rsa");
        assert_eq!(
            signature_algorithm(&rsa, Some(None), &plus).as_deref(),
            Some("ssh-rsa")
        );
        assert_eq!(
            signature_algorithm(&Algorithm::Ed25519, None, &acc).as_deref(),
            Some("ssh-ed25519")
        );
        assert_eq!(signature_algorithm(&Algorithm::Dsa, None, &acc), None);
    }
}
