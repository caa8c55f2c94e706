//! One full probe of a host: agent, plan, known_hosts, connection, a verdict per key, a real
//! signed login with the first usable accepted key, and `--accept-new`. The result is plain
//! data that `diagnose` turns into findings and the commands render; validate and doctor both
//! run exactly this.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::agent::{self, AgentState};
use super::client::{ConnectFailure, Login, ProbeConfig, Prober, Proof, ServerInfo, Verdict};
use super::known_hosts::{self, KnownHosts, Status};
use super::plan::{self, HostSettings, Identity, SkipReason};
use super::{negotiate, route, unoffered, verdict};
use crate::credentials::Secret;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::openssh::keys::PrivateState;
use crate::openssh::login::{self, SshSaid};
use crate::paths;

/// What the caller wants beyond the plan.
#[derive(Debug, Clone, Default)]
pub struct ProbeOptions {
    /// Stop after the plan (no network).
    pub plan_only: bool,
    pub accept_new: bool,
    pub passphrase: Option<Secret>,
    pub timeout: Duration,
    /// ssh would run at a terminal and may ask (host key, passphrase); false for BatchMode,
    /// scripts, cron, CI.
    pub interactive: bool,
    /// At most this many queries about keys ssh would not offer (each rejected one is a failed
    /// login in the server's log).
    pub max_extra: usize,
    /// Run configured commands (`ProxyCommand`; `Match exec` is the resolver's).
    pub allow_exec: bool,
    /// Jump hosts as `ssh -J` gives them: replace the config's ProxyJump/ProxyCommand.
    pub jump: Option<String>,
}

/// The default bound on queries about keys ssh would not offer: enough to find the right key
/// among a few, few enough that no failed-login ban (fail2ban's default is 5) is reached.
pub const DEFAULT_MAX_EXTRA: usize = 3;

/// Did the signed login work?
#[derive(Debug, Clone)]
pub struct ProofOutcome {
    /// Index into the plan.
    pub index: usize,
    pub result: std::result::Result<Login, String>,
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
    /// ssh's negotiation with the server's offer (None when no offer was read).
    pub negotiation: Option<negotiate::Outcome>,
    pub methods: Vec<String>,
    pub observed_max_auth_tries: Option<usize>,
    pub connections: usize,
    /// Failed authentication attempts the probe caused (what the server logs).
    pub failed_attempts: usize,
    /// Publickey requests sent (one per key asked about, one for the signed login): each
    /// rejected one is a failed attempt in the server's log, so fleet checks report them.
    pub auth_attempts: usize,
    pub none_accepted: bool,
    pub proof: Option<ProofOutcome>,
    /// known_hosts file the new host key was added to (`--accept-new`).
    pub accepted_new_into: Option<PathBuf>,
    /// ssh runs at a terminal (see [`ProbeOptions::interactive`]).
    pub interactive: bool,
    /// What ssh would do.
    pub outcome: verdict::Outcome,
    /// The installed ssh's own answer, asked where the probe cannot speak what ssh
    /// negotiates with the server (see `openssh::login`).
    pub ssh_said: Option<SshAsked>,
    /// RSA keys the server refuses with SHA-2 signatures but takes with ssh-rsa (SHA-1).
    pub sha1_only: Vec<usize>,
    /// The way to the host (jump hosts, ProxyCommand); None for a jump host's own report.
    pub route: Option<route::RouteReport>,
    /// A running master connection at the ControlPath that ssh uses instead of logging in
    /// again (see [`HostSettings::control_socket`]).
    pub master: Option<PathBuf>,
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

    /// ssh, run as the user runs it, logs in (with a new connection, or through the running
    /// master connection it reuses).
    pub fn authenticated(&self) -> bool {
        self.outcome.logged_in() || self.through_master().is_some()
    }

    /// The master connection ssh reuses: it sends the session through it, with no new
    /// connection, host key check or login; only a configuration ssh refuses stops it first.
    pub fn through_master(&self) -> Option<&Path> {
        self.master
            .as_deref()
            .filter(|_| self.settings.config_errors.is_empty())
    }

    pub fn server(&self) -> Option<&ServerInfo> {
        match &self.connection {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => e.server(),
            None => None,
        }
    }

    pub fn verdict(&self, i: usize) -> Option<&Verdict> {
        self.verdicts.get(i).and_then(Option::as_ref)
    }
}

/// The installed ssh, asked in the probe's place.
#[derive(Debug, Clone)]
pub struct SshAsked {
    /// The algorithm ssh negotiates that the probe lacks.
    pub lacking: String,
    pub said: SshSaid,
}

/// How the user's ssh would be run for this target, or None when running it would do more
/// than the user allowed: a ProxyCommand or a `Match exec` without `--allow-exec` (ssh would
/// run them), or a host herossh found rather than the user named.
fn ssh_invocation(s: &HostSettings, opts: &ProbeOptions) -> Option<login::Invocation> {
    let dest = s.destination.as_ref()?;
    let runs_commands = !s.resolved.pending_exec.is_empty()
        || (opts.jump.is_none()
            && matches!(route::via_for(s, None), Ok(route::Via::ProxyCommand { .. })));
    if runs_commands && !opts.allow_exec {
        return None;
    }
    Some(login::Invocation {
        destination: dest.user_host(),
        port: dest.port,
        config: s.config_file.clone(),
        identities: s.command_line_identities.clone(),
        jump: opts.jump.clone(),
    })
}

/// How long to wait for the agent: a socket that accepts but never answers must not hang
/// the probe (it is the `agent-unreachable` finding).
const AGENT_TIMEOUT: Duration = Duration::from_secs(3);

/// The agent ssh uses for this host, and its keys (bounded: see [`AGENT_TIMEOUT`]).
pub(crate) async fn agent_for(settings: &HostSettings, timeout: Duration) -> AgentState {
    let socket = agent::socket_path(settings.identity_agent.as_deref());
    match tokio::time::timeout(
        AGENT_TIMEOUT.min(timeout.max(Duration::from_secs(1))),
        agent::list(socket.clone()),
    )
    .await
    {
        Ok(s) => s,
        Err(_) => AgentState::Unreachable {
            socket: socket.unwrap_or_default(),
            error: "it accepted the connection but did not answer".into(),
            hangs: true,
        },
    }
}

/// Run the plan and, unless `plan_only`, the probe.
pub async fn run(settings: HostSettings, opts: &ProbeOptions) -> Result<Report> {
    let agent_state = agent_for(&settings, opts.timeout).await;
    let mut plan = plan::build_with_passphrase(
        &settings,
        &agent_state,
        opts.passphrase.as_ref().map(Secret::expose),
    );
    // Agent keys IdentitiesOnly hides: part of the plan (ssh knows of them), asked about to
    // recommend pinning one (not those under RequiredRSASize: ssh ignores them even pinned).
    let rules = settings.rules();
    for a in agent_state
        .keys()
        .iter()
        .filter(|a| rules.rsa_too_small(&a.key).is_none())
    {
        let known = plan.iter().any(|id| {
            id.key
                .as_ref()
                .is_some_and(|k| k.key_data() == a.key.key_data())
        });
        if !known {
            plan.push(Identity {
                path: None,
                agent_comment: Some(a.comment.clone()),
                key: Some(a.key.clone()),
                source: plan::Source::Agent,
                in_agent: true,
                encrypted: false,
                mode: None,
                skipped: Some(SkipReason::HiddenByIdentitiesOnly),
                offered_order: None,
                detail: plan::Detail::default(),
            });
        }
    }
    let interactive = opts.interactive && !settings.batch_mode;
    let mut report = Report {
        verdicts: vec![None; plan.len()],
        settings,
        agent: agent_state,
        plan,
        connection: None,
        negotiation: None,
        methods: Vec::new(),
        observed_max_auth_tries: None,
        connections: 0,
        failed_attempts: 0,
        auth_attempts: 0,
        none_accepted: false,
        proof: None,
        accepted_new_into: None,
        interactive,
        outcome: verdict::Outcome::Unknown {
            why: "not probed (--plan)".into(),
        },
        sha1_only: Vec::new(),
        route: None,
        ssh_said: None,
        master: None,
    };
    report.master = report
        .settings
        .control_socket()
        .filter(|p| std::os::unix::net::UnixStream::connect(p).is_ok());
    if opts.plan_only {
        report.route = Some(route::planned(&report.settings, opts));
        return Ok(report);
    }
    // The way ssh goes (jump hosts, ProxyCommand): followed first, or the reason it is not.
    let way = route::establish(&mut report.settings, opts).await;
    report.route = Some(way.report);
    let Some(connector) = way.connector else {
        report.outcome = verdict::simulate(&report, interactive);
        return Ok(report);
    };
    let known = Arc::new(KnownHosts::load(&report.settings.known_hosts_files()));
    let lookup = report.settings.known_hosts_lookup();
    let proposal = negotiate::Proposal::for_host(&report.settings.resolved, &known, &lookup.name);
    let cfg = ProbeConfig {
        hostname: report.settings.hostname.clone(),
        port: report.settings.port,
        user: report.settings.user.clone(),
        timeout: opts.timeout,
        known_hosts: known,
        known_hosts_lookup: lookup,
        host_key_mismatch_continues: report.settings.host_key_mismatch_continues(),
        proposal: proposal.clone(),
        pubkey_accepted: report.settings.pubkey_accepted_algorithms.clone(),
        route: connector.clone(),
    };
    let mut prober = Prober::new(cfg);
    let connected = prober.reconnect().await;
    // ssh's negotiation, from the server's offer (read even when russh's handshake failed).
    if let Some(offer) = prober.offer() {
        let outcome = proposal.negotiate(&offer);
        if let negotiate::Outcome::NoMatch {
            what,
            their_offer,
            supported,
        } = &outcome
        {
            report.negotiation = Some(outcome.clone());
            report.connections = prober.connections;
            report.connection = Some(Err(ConnectFailure::Negotiation {
                what: *what,
                their_offer: their_offer.clone(),
                supported: supported.clone(),
                server: Box::new(prober.server_info()),
            }));
            prober.close().await;
            report.outcome = verdict::simulate(&report, interactive);
            return Ok(report);
        }
        report.negotiation = Some(outcome);
    }
    if let Some(way) = report.route.as_mut()
        && route::finish(way, &connector, connected.as_ref().err()).await
    {
        // The ProxyCommand ended before the server spoke: the route's failure.
        report.outcome = verdict::simulate(&report, interactive);
        return Ok(report);
    }
    if let Err(e) = connected {
        // ssh agrees with the server on an algorithm the probe cannot speak: ssh's answer
        // comes from ssh itself.
        if matches!(e, ConnectFailure::Handshake(_) | ConnectFailure::Closed(_))
            && let Some(offer) = prober.offer()
            && let Some(lacking) = report
                .negotiation
                .as_ref()
                .and_then(|n| n.probe_lacks(&offer))
            && let Some(inv) = ssh_invocation(&report.settings, opts)
        {
            let said = login::ask(&inv, opts.timeout).await;
            report.ssh_said = Some(SshAsked { lacking, said });
        }
        report.connection = Some(Err(e));
        report.outcome = verdict::simulate(&report, interactive);
        return Ok(report);
    }
    report.connection = Some(Ok(prober.server_info()));

    // Private keys in ~/.ssh no IdentityFile names: asked about (bounded) to say which to pin.
    let found = found_entries(&report.settings, &report.plan, &report.agent);
    report.verdicts.extend(found.iter().map(|_| None));
    report.plan.extend(found);

    // The keys ssh offers, in its order, then (bounded) the ones it would not offer.
    let order = verdict::offer_order(&report);
    let mut extra_budget = opts.max_extra;
    let rest: Vec<usize> = (0..report.plan.len())
        .filter(|i| !order.contains(i))
        .collect();
    for i in order.iter().copied().chain(rest) {
        if !askable(&report.plan[i]) {
            continue;
        }
        if !order.contains(&i) {
            if extra_budget == 0 {
                continue;
            }
            extra_budget -= 1;
        }
        report.verdicts[i] = ask(&mut prober, &report.plan[i]).await;
        report.server_rsa_refresh(&prober);
    }
    // Files ssh never reads that the budget left unasked say nothing: out of the report.
    // (They were appended last, so no index before them moves.)
    while report
        .plan
        .last()
        .is_some_and(|id| id.source == plan::Source::Found)
        && report.verdicts.last().is_some_and(Option::is_none)
    {
        report.plan.pop();
        report.verdicts.pop();
    }
    // An RSA key refused with the SHA-2 signature ssh would use: does the server take it
    // with ssh-rsa (SHA-1)? (A server whose PubkeyAcceptedAlgorithms is only ssh-rsa.)
    let rsa_sha2 = matches!(prober.server.rsa_sig, Some(Some(_)));
    for i in 0..report.plan.len() {
        let Some(k) = report.plan[i].key.clone() else {
            continue;
        };
        let is_rsa = matches!(k.algorithm(), russh::keys::ssh_key::Algorithm::Rsa { .. });
        if !is_rsa
            || !rsa_sha2
            || report.verdict(i) != Some(&Verdict::Rejected)
            || extra_budget == 0
        {
            continue;
        }
        extra_budget -= 1;
        if prober.query_with_hash(&k, None).await == Verdict::Accepted {
            report.sha1_only.push(i);
        }
    }

    prove(&mut report, &mut prober, opts.passphrase.as_ref()).await;

    report.methods = prober.methods.clone();
    report.observed_max_auth_tries = prober.observed_max_auth_tries;
    report.connections = prober.connections;
    report.failed_attempts = prober.failed_attempts;
    report.auth_attempts =
        report.verdicts.iter().flatten().count() + usize::from(report.proof.is_some());
    report.none_accepted = prober.none_accepted;
    let server = prober.server_info();
    prober.close().await;
    if let Some(way) = report.route.as_mut() {
        route::finish(way, &connector, None).await;
    }

    // (With UserKnownHostsFile none there is no file ssh would read it from again.)
    if opts.accept_new
        && matches!(server.host_key_status, Some(Status::Unknown))
        && !report.settings.user_known_hosts_files.is_empty()
        && let Some(key) = &server.host_key
    {
        report.accepted_new_into = Some(add_known_host(&report.settings, key)?);
    }
    report.connection = Some(Ok(server));
    report.outcome = verdict::simulate(&report, interactive);
    Ok(report)
}

impl Report {
    /// Keep the server's RSA signature support current (learned on the first connection).
    fn server_rsa_refresh(&mut self, prober: &Prober) {
        if let Some(Ok(s)) = &mut self.connection {
            s.rsa_sig = prober.server.rsa_sig;
        }
    }
}

/// The private keys in ssh's `~/.ssh` that no IdentityFile names (and the plan does not
/// hold), as plan entries; only those that would work once pinned (a key ssh refuses to load
/// stays refused when pinned).
fn found_entries(settings: &HostSettings, plan: &[Identity], agent: &AgentState) -> Vec<Identity> {
    unoffered::unoffered(settings, plan, agent, &paths::ssh_dir())
        .into_iter()
        .filter(|u| u.usable_when_pinned)
        .filter_map(|u| {
            let unoffered::Origin::File(load) = u.origin else {
                return None;
            };
            Some(Identity {
                path: Some(load.path.clone()),
                agent_comment: None,
                key: Some(u.key),
                source: plan::Source::Found,
                in_agent: false,
                encrypted: matches!(load.private, PrivateState::NeedsPassphrase),
                mode: load.mode,
                skipped: Some(SkipReason::NotConfigured),
                offered_order: None,
                detail: plan::Detail {
                    load: Some(*load),
                    cert: None,
                },
            })
        })
        .collect()
}

/// Is there something to ask the server about (a public key; for a certificate entry, the
/// certificate)?
pub(crate) fn askable(id: &Identity) -> bool {
    id.key.is_some() && (id.source != plan::Source::Certificate || id.detail.cert.is_some())
}

/// Ask the server whether it would take plan entry `id`, as ssh offers it (a certificate as
/// a certificate). None when there is nothing to offer.
pub(crate) async fn ask(prober: &mut Prober, id: &Identity) -> Option<Verdict> {
    if !askable(id) {
        return None;
    }
    Some(match (&id.detail.cert, &id.key) {
        (Some(c), _) => prober.query_cert(&c.load.cert).await,
        (None, Some(k)) => prober.query(k).await,
        (None, None) => return None,
    })
}

/// Log in for real with the [`proof_candidate`], if there is one, and record the result.
pub(crate) async fn prove(report: &mut Report, prober: &mut Prober, passphrase: Option<&Secret>) {
    let Some(index) = proof_candidate(report, passphrase.is_some()) else {
        return;
    };
    let id = &report.plan[index];
    let result = match (
        &id.key,
        &id.detail.cert,
        proof_for(report, index, passphrase),
    ) {
        (_, Some(c), Ok(proof)) => prober.prove_cert(&c.load.cert, proof).await,
        (Some(k), None, Ok(proof)) => prober.prove(k, proof).await,
        (_, _, Err(e)) => Err(e),
        (None, None, _) => Err("no public key".into()),
    };
    report.proof = Some(ProofOutcome { index, result });
}

/// The key to prove with a real signature: the first accepted one in ssh's order that ssh
/// could sign with (an encrypted one only when we were given its passphrase); else the first
/// accepted key the probe can sign with at all, so the finding that pins it is proven.
pub(crate) fn proof_candidate(report: &Report, have_passphrase: bool) -> Option<usize> {
    let signable = |i: usize| {
        report.verdict(i) == Some(&Verdict::Accepted)
            && match verdict::signing(report, i) {
                verdict::Signing::Yes => true,
                verdict::Signing::WithPassphrase => have_passphrase,
                verdict::Signing::No | verdict::Signing::SecurityKey => false,
            }
    };
    let order = verdict::offer_order(report);
    order
        .iter()
        .copied()
        .find(|&i| signable(i))
        .or_else(|| (0..report.plan.len()).find(|&i| signable(i)))
}

/// How to sign for plan entry `i`: through the agent, or with the private key (for a
/// certificate, its signer's; see [`verdict::signing`]).
pub(crate) fn proof_for<'a>(
    report: &'a Report,
    i: usize,
    passphrase: Option<&Secret>,
) -> std::result::Result<Proof<'a>, String> {
    let id = &report.plan[i];
    let signer = match id.detail.cert.as_ref().and_then(|c| c.signer) {
        Some(s) => &report.plan[s],
        None => id,
    };
    if signer.in_agent {
        return report
            .agent
            .socket()
            .map(|s| Proof::Agent(s.as_path()))
            .ok_or_else(|| "the agent went away".to_string());
    }
    let path = signer.path.as_ref().ok_or("no key file")?;
    crate::openssh::keys::load_private(
        path,
        passphrase.map(Secret::expose),
        &report.settings.rules(),
    )
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
        .ok_or_else(|| Error::failed("UserKnownHostsFile is none: no file to add the key to"))?;
    if let Some(dir) = file.parent() {
        fsutil::ensure_dir(dir, 0o700)?;
    }
    let mut text = match fsutil::read_limited(&file, fsutil::FileKind::KnownHosts) {
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
