//! One full probe of a host: agent, plan, known_hosts, connection, a verdict per key, a real
//! signed login with the first usable accepted key, and `--accept-new`. The result is plain
//! data that `diagnose` turns into findings and the commands render; validate and doctor both
//! run exactly this.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::agent::{self, AgentState};
use super::client::{ConnectFailure, ProbeConfig, Prober, Proof, ServerInfo, Verdict};
use super::known_hosts::{self, KnownHosts, Status};
use super::plan::{self, HostSettings, Identity, SkipReason};
use crate::credentials::Secret;
use crate::error::Result;
use crate::fsutil;

/// What the caller wants beyond the plan.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    /// Stop after the plan (no network).
    pub plan_only: bool,
    pub accept_new: bool,
    pub passphrase: Option<Secret>,
    pub timeout: Duration,
}

/// Did the signed login work?
#[derive(Debug, Clone)]
pub struct ProofOutcome {
    /// Index into the plan.
    pub index: usize,
    pub result: std::result::Result<bool, String>,
}

/// Everything one probe learned.
#[derive(Debug, Clone)]
pub struct Report {
    pub settings: HostSettings,
    pub agent: AgentState,
    pub plan: Vec<Identity>,
    /// Parallel to `plan`; None when the key was not asked about.
    pub verdicts: Vec<Option<Verdict>>,
    /// None with `--plan`.
    pub connection: Option<std::result::Result<ServerInfo, ConnectFailure>>,
    pub methods: Vec<String>,
    pub observed_max_auth_tries: Option<usize>,
    pub connections: usize,
    pub none_accepted: bool,
    pub proof: Option<ProofOutcome>,
    /// known_hosts file the new host key was added to (`--accept-new`).
    pub accepted_new_into: Option<PathBuf>,
}

impl Report {
    /// `user@host` or `user@host:port`.
    pub fn target(&self) -> String {
        let s = &self.settings;
        if s.port == 22 {
            format!("{}@{}", s.user, s.alias)
        } else {
            format!("{}@{}:{}", s.user, s.alias, s.port)
        }
    }

    pub fn authenticated(&self) -> bool {
        self.none_accepted || matches!(&self.proof, Some(p) if p.result == Ok(true))
    }

    pub fn server(&self) -> Option<&ServerInfo> {
        match &self.connection {
            Some(Ok(s)) => Some(s),
            Some(Err(ConnectFailure::HostKeyChanged { server }))
            | Some(Err(ConnectFailure::HostKeyRevoked { server })) => Some(server),
            _ => None,
        }
    }

    pub fn verdict(&self, i: usize) -> Option<&Verdict> {
        self.verdicts.get(i).and_then(Option::as_ref)
    }
}

/// Run the plan and, unless `plan_only`, the probe.
pub async fn run(settings: HostSettings, opts: &ProbeOptions) -> Result<Report> {
    let agent_state = agent::list(agent::socket_path(settings.identity_agent.as_deref())).await;
    let plan = plan::build_with_passphrase(
        &settings,
        &agent_state,
        opts.passphrase.as_ref().map(Secret::expose),
    );
    let mut report = Report {
        verdicts: vec![None; plan.len()],
        settings,
        agent: agent_state,
        plan,
        connection: None,
        methods: Vec::new(),
        observed_max_auth_tries: None,
        connections: 0,
        none_accepted: false,
        proof: None,
        accepted_new_into: None,
    };
    if opts.plan_only {
        return Ok(report);
    }
    let known = Arc::new(KnownHosts::load(&report.settings.known_hosts_files()));
    let cfg = ProbeConfig {
        hostname: report.settings.hostname.clone(),
        port: report.settings.port,
        user: report.settings.user.clone(),
        timeout: opts.timeout,
        known_hosts: known,
        known_hosts_name: report.settings.known_hosts_name(),
    };
    let mut prober = match Prober::connect(cfg).await {
        Ok(p) => p,
        Err(e) => {
            report.connection = Some(Err(e));
            return Ok(report);
        }
    };

    // Ask about every key the server could be asked about, in plan order.
    for (i, id) in report.plan.iter().enumerate() {
        if id.source == plan::Source::Certificate {
            continue;
        }
        if let Some(k) = &id.key {
            report.verdicts[i] = Some(prober.query(k).await);
        }
    }

    if let Some(index) = proof_candidate(&report, opts.passphrase.is_some()) {
        let id = &report.plan[index];
        let result = match (
            &id.key,
            proof_for(id, &report.agent, opts.passphrase.as_ref()),
        ) {
            (Some(k), Ok(proof)) => prober.prove(k, proof).await,
            (_, Err(e)) => Err(e),
            (None, _) => Err("no public key".into()),
        };
        report.proof = Some(ProofOutcome { index, result });
    }

    report.methods = prober.methods.clone();
    report.observed_max_auth_tries = prober.observed_max_auth_tries;
    report.connections = prober.connections;
    report.none_accepted = prober.none_accepted;
    let server = prober.server.clone();
    prober.close().await;

    if opts.accept_new
        && matches!(server.host_key_status, Some(Status::Unknown { .. }))
        && let Some(key) = &server.host_key
    {
        report.accepted_new_into = Some(add_known_host(&report.settings, key)?);
    }
    report.connection = Some(Ok(server));
    Ok(report)
}

/// The first accepted key, in offer order, that ssh could sign with (an encrypted one only
/// when we were given its passphrase).
fn proof_candidate(report: &Report, have_passphrase: bool) -> Option<usize> {
    let mut order: Vec<usize> = (0..report.plan.len())
        .filter(|&i| report.plan[i].offered_order.is_some())
        .collect();
    order.sort_by_key(|&i| report.plan[i].offered_order);
    order.into_iter().find(|&i| {
        let id = &report.plan[i];
        report.verdict(i) == Some(&Verdict::Accepted)
            && match id.skipped {
                None => true,
                Some(SkipReason::EncryptedNotInAgent) => have_passphrase,
                Some(_) => false,
            }
    })
}

fn proof_for<'a>(
    id: &Identity,
    agent: &'a AgentState,
    passphrase: Option<&Secret>,
) -> std::result::Result<Proof<'a>, String> {
    if id.in_agent {
        return agent
            .socket()
            .map(|s| Proof::Agent(s.as_path()))
            .ok_or_else(|| "the agent went away".to_string());
    }
    let path = id.path.as_ref().ok_or("no key file")?;
    let rules = crate::openssh::keys::Rules::installed();
    crate::openssh::keys::load_private(path, passphrase.map(Secret::expose), &rules)
        .map(|k| Proof::Key(Box::new(k)))
        .map_err(|e| e.to_string())
}

/// Append the host key to the first UserKnownHostsFile, hashed when `HashKnownHosts yes`.
fn add_known_host(
    settings: &HostSettings,
    key: &russh::keys::ssh_key::PublicKey,
) -> Result<PathBuf> {
    let file = settings
        .user_known_hosts_files
        .first()
        .cloned()
        .unwrap_or_else(|| crate::paths::ssh_dir().join("known_hosts"));
    if let Some(dir) = file.parent() {
        fsutil::ensure_dir(dir, 0o700)?;
    }
    let mut text = match std::fs::read(&file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(crate::error::io_error(&file, "read", e)),
    };
    if !text.is_empty() && !text.ends_with(b"\n") {
        text.push(b'\n');
    }
    let line =
        known_hosts::format_line(&settings.known_hosts_name(), key, settings.hash_known_hosts);
    text.extend_from_slice(line.as_bytes());
    text.push(b'\n');
    fsutil::atomic_write(&file, &text, fsutil::Mode::KeepOr(0o644))
}
