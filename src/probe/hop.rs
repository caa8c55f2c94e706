//! One jump host, probed the way ssh's second ssh (`ssh -W NEXT HOP`) meets it: connect
//! through what comes before it, negotiate, check its host key against its own known_hosts
//! (changed or revoked: stop; unknown: per its StrictHostKeyChecking and whether ssh can
//! ask), then offer its keys in ssh's order until one gets in, and sign with that one. The
//! result is a full [`Report`] for the hop (its verdict comes from the same simulation as the
//! target's), and, when ssh gets in, the logged-in session the next connection goes through.
//!
//! Unlike the target's probe, it stops at the key ssh logs in with (every key asked about is
//! a login attempt in the hop's log); only when none of ssh's keys works does it ask about up
//! to `max_extra` others, so the finding can name the key to pin for the hop.

use std::sync::Arc;

use super::client::{Login, ProbeConfig, Prober, Verdict};
use super::known_hosts::KnownHosts;
use super::negotiate;
use super::plan::{self, HostSettings};
use super::report::{self, ProbeOptions, Report};
use super::route::Connector;
use super::verdict::{self, Failure, Outcome};

/// Probe the hop `settings` describes, reached through `via`. Returns its report and, when
/// ssh logs in and so did the probe, the session to go on through.
pub async fn probe(
    settings: HostSettings,
    via: Arc<Connector>,
    opts: &ProbeOptions,
) -> (Report, Option<Prober>) {
    let agent = report::agent_for(&settings, opts.timeout).await;
    let plan = plan::build(&settings, &agent);
    let interactive = opts.interactive && !settings.batch_mode;
    let mut r = Report {
        verdicts: vec![None; plan.len()],
        settings,
        agent,
        plan,
        connection: None,
        negotiation: None,
        methods: Vec::new(),
        observed_max_auth_tries: None,
        connections: 0,
        failed_attempts: 0,
        none_accepted: false,
        proof: None,
        accepted_new_into: None,
        interactive,
        outcome: Outcome::Unknown {
            why: "not probed".into(),
        },
        route: None,
        sha1_only: Vec::new(),
        auth_attempts: 0,
        ssh_said: None,
        master: None,
    };
    if !r.settings.config_errors.is_empty() {
        r.outcome = verdict::simulate(&r, interactive);
        return (r, None);
    }
    let known = Arc::new(KnownHosts::load(&r.settings.known_hosts_files()));
    let lookup = r.settings.known_hosts_lookup();
    let proposal = negotiate::Proposal::for_host(&r.settings.resolved, &known, &lookup.name);
    let mut prober = Prober::new(ProbeConfig {
        hostname: r.settings.hostname.clone(),
        port: r.settings.port,
        user: r.settings.user.clone(),
        timeout: opts.timeout,
        known_hosts: known,
        known_hosts_lookup: lookup,
        host_key_mismatch_continues: r.settings.host_key_mismatch_continues(),
        proposal: proposal.clone(),
        pubkey_accepted: r.settings.pubkey_accepted_algorithms.clone(),
        route: via,
    });
    let connected = prober.reconnect().await;
    r.connections = prober.connections;
    if let Some(offer) = prober.offer() {
        let outcome = proposal.negotiate(&offer);
        if let negotiate::Outcome::NoMatch {
            what,
            their_offer,
            supported,
        } = &outcome
        {
            r.negotiation = Some(outcome.clone());
            r.connection = Some(Err(super::client::ConnectFailure::Negotiation {
                what: *what,
                their_offer: their_offer.clone(),
                supported: supported.clone(),
                server: Box::new(prober.server_info()),
            }));
            prober.close().await;
            r.outcome = verdict::simulate(&r, interactive);
            return (r, None);
        }
        r.negotiation = Some(outcome);
    }
    if let Err(e) = connected {
        r.connection = Some(Err(e));
        r.outcome = verdict::simulate(&r, interactive);
        return (r, None);
    }
    r.connection = Some(Ok(prober.server_info()));
    r.none_accepted = prober.none_accepted;
    r.methods = prober.methods.clone();

    // What ssh stops at before offering any key (the host key, no publickey at all).
    let before_keys = verdict::simulate(&r, interactive);
    let stop = matches!(before_keys, Outcome::LoggedIn { key: None, .. })
        || matches!(
            before_keys,
            Outcome::Fails(
                Failure::HostKeyUnknown
                    | Failure::HostKeyChanged
                    | Failure::HostKeyRevoked
                    | Failure::NoPublickey
            )
        );
    if !stop {
        ask_about_keys(&mut r, &mut prober, opts.max_extra).await;
        report::prove(&mut r, &mut prober, None).await;
    }
    r.methods = prober.methods.clone();
    r.observed_max_auth_tries = prober.observed_max_auth_tries;
    r.connections = prober.connections;
    r.failed_attempts = prober.failed_attempts;
    r.connection = Some(Ok(prober.server_info()));
    r.outcome = verdict::simulate(&r, interactive);
    let through = match &r.outcome {
        Outcome::LoggedIn { key: None, .. } => true,
        Outcome::LoggedIn { key: Some(i), .. } => matches!(
            &r.proof,
            Some(p) if p.index == *i && p.result == Ok(Login::Success)
        ),
        _ => false,
    };
    if through {
        (r, Some(prober))
    } else {
        prober.close().await;
        (r, None)
    }
}

/// ssh's keys in its order until the first one it would log in with is accepted; when none
/// is, up to `max_extra` of the others.
async fn ask_about_keys(r: &mut Report, prober: &mut Prober, max_extra: usize) {
    let order = verdict::offer_order(r);
    let mut found = false;
    for &i in &order {
        let Some(v) = report::ask(prober, &r.plan[i]).await else {
            continue;
        };
        let accepted = v == Verdict::Accepted;
        r.verdicts[i] = Some(v);
        refresh_rsa(r, prober);
        if accepted && ssh_signs_with(r, i) {
            found = true;
            break;
        }
    }
    if found {
        return;
    }
    let mut budget = max_extra;
    for i in (0..r.plan.len()).filter(|i| !order.contains(i)) {
        if budget == 0 {
            break;
        }
        if !report::askable(&r.plan[i]) {
            continue;
        }
        budget -= 1;
        r.verdicts[i] = report::ask(prober, &r.plan[i]).await;
        refresh_rsa(r, prober);
    }
}

/// Would ssh log in with this accepted key without asking anything it cannot ask?
fn ssh_signs_with(r: &Report, i: usize) -> bool {
    match verdict::signing(r, i) {
        verdict::Signing::Yes => true,
        verdict::Signing::WithPassphrase => r.interactive,
        verdict::Signing::No | verdict::Signing::SecurityKey => false,
    }
}

fn refresh_rsa(r: &mut Report, prober: &Prober) {
    if let Some(Ok(s)) = &mut r.connection {
        s.rsa_sig = prober.server.rsa_sig;
    }
}
