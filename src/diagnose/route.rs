//! Findings about the route ssh takes: a jump host that cannot be reached, whose host key ssh
//! refuses, that denies every key, that does not forward; a ProxyCommand that fails or that
//! was not run. A failure on the way means ssh fails for the target, so these are errors,
//! said in the target's terms, with the detail of the hop's own diagnosis and a fix for the
//! hop (its own pin, its host key, or `herossh validate HOP` to see everything about it).

use super::{Finding, Severity, account, config_arg, sh_quote};
use crate::probe::client::describe;
use crate::probe::report::Report;
use crate::probe::route::{HopStep, RouteFailure, Step};
use crate::probe::verdict::{Failure, Outcome, Prompt};

/// All route findings for a report (none for a direct route that needs nothing).
pub fn findings(r: &Report) -> Vec<Finding> {
    let Some(way) = &r.route else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Jump hosts ssh gets through, with a prompt on the way.
    for step in &way.steps {
        if let Step::Jump(h) = step
            && let Outcome::LoggedIn { prompts, .. } = &h.report.outcome
            && prompts.contains(&Prompt::ConfirmHostKey)
        {
            out.push(
                Finding::new(
                    "jump-host-key-unknown",
                    Severity::Warning,
                    format!(
                        "the host key of the jump host {} is not in known_hosts: ssh will ask \
                         you to confirm it (scripts and BatchMode fail)",
                        h.host.arg()
                    ),
                )
                .fix(validate_hop(r, h, " --accept-new")),
            );
        }
    }
    let Some(failure) = &way.failure else {
        return out;
    };
    let target = &r.settings.alias;
    let f = match failure {
        RouteFailure::NotFollowed {
            why, allow_exec, ..
        } => {
            let f = Finding::new(
                "route-not-followed",
                Severity::Error,
                format!(
                    "{why}; so herossh did not follow the route and cannot say whether ssh logs \
                     in (it does not connect to {} directly instead: ssh would not)",
                    r.settings.hostname
                ),
            );
            if *allow_exec {
                f.fix(format!(
                    "herossh validate --allow-exec{}{} {}",
                    config_arg(&r.settings),
                    jump_arg(way.jump.as_deref()),
                    sh_quote(&r.target())
                ))
            } else {
                f.fix(format!(
                    "manual: run `ssh -v{} {}` to see whether it logs in",
                    config_arg(&r.settings),
                    sh_quote(&r.target())
                ))
            }
        }
        RouteFailure::Invalid { code, message } => Finding::new(
            code,
            Severity::Error,
            format!(
                "ssh refuses the route to {target}: {}",
                message.replace('\n', "; ")
            ),
        )
        .fix(format!(
            "manual: correct the ProxyJump / ProxyCommand lines for {target} (see `herossh \
             config resolve{} {}`)",
            config_arg(&r.settings),
            sh_quote(target)
        )),
        RouteFailure::HopConfig { host, message } => Finding::new(
            "jump-host-config",
            Severity::Error,
            format!(
                "ssh refuses its configuration for the jump host {host}, so it never gets to \
                 {target}: {message}"
            ),
        )
        .fix(format!(
            "herossh validate{} {}",
            config_arg(&r.settings),
            sh_quote(host)
        )),
        RouteFailure::Hop { step } => match way.steps.get(*step) {
            Some(Step::Jump(h)) => hop_failure(r, h),
            _ => return out,
        },
        RouteFailure::Forward { step } => match way.steps.get(*step) {
            Some(Step::Jump(h)) => forward_failure(h),
            _ => return out,
        },
        RouteFailure::Command { step } => match way.steps.get(*step) {
            Some(Step::Command(c)) => {
                let how = match (&c.spawn_error, &c.status) {
                    (Some(e), _) => format!("could not be started ({e})"),
                    (None, Some(s)) if s.starts_with("signal") => {
                        format!("was killed ({s}) before the server spoke")
                    }
                    (None, Some(s)) => format!("exited with status {s} before the server spoke"),
                    (None, None) => "ended before the server spoke".to_string(),
                };
                let said = last_lines(&c.stderr, 3);
                Finding::new(
                    "proxy-command-failed",
                    Severity::Error,
                    format!(
                        "the ProxyCommand for {} (`{}`) {how}{}",
                        c.host,
                        c.command,
                        if said.is_empty() {
                            String::new()
                        } else {
                            format!("; it said: {said}")
                        }
                    ),
                )
            }
            _ => return out,
        },
    };
    out.push(f);
    out
}

/// `herossh validate [OPTS] [-F CONFIG] [-J HOPS] HOP`: everything about the hop, reached as
/// ssh reaches it.
fn validate_hop(r: &Report, h: &HopStep, opts: &str) -> String {
    format!(
        "herossh validate{}{}{} {}",
        opts,
        config_arg(&r.settings),
        jump_arg(h.jump.as_deref()),
        sh_quote(&h.host.arg())
    )
}

fn jump_arg(jump: Option<&str>) -> String {
    jump.map(|j| format!(" -J {}", sh_quote(j)))
        .unwrap_or_default()
}

/// A jump host on the way fails: the hop's own first error, in the target's terms.
fn hop_failure(r: &Report, h: &HopStep) -> Finding {
    let hop = h.host.arg();
    let target = &r.settings.alias;
    let own = super::for_report(&h.report, &account::AccountKeys::NoCredentials);
    let first_error = own.iter().find(|f| f.severity == Severity::Error);
    let detail = first_error
        .map(|f| f.message.clone())
        .or_else(|| match &h.report.connection {
            Some(Err(e)) => Some(describe(e)),
            _ => None,
        })
        .unwrap_or_else(|| match &h.report.outcome {
            Outcome::Unknown { why } => why.clone(),
            other => format!("{other:?}"),
        });
    let (code, fix) = match &h.report.outcome {
        Outcome::Fails(Failure::Connect) => ("jump-host-unreachable", validate_hop(r, h, "")),
        Outcome::Fails(Failure::HostKeyUnknown) => {
            ("jump-host-key-unknown", validate_hop(r, h, " --accept-new"))
        }
        Outcome::Fails(Failure::HostKeyChanged) => {
            ("jump-host-key-changed", own_fix(first_error, r, h))
        }
        Outcome::Fails(Failure::HostKeyRevoked) => {
            ("jump-host-key-revoked", own_fix(first_error, r, h))
        }
        Outcome::Fails(Failure::Negotiation { .. }) => {
            ("jump-host-negotiation", own_fix(first_error, r, h))
        }
        Outcome::Fails(Failure::Config) => ("jump-host-config", own_fix(first_error, r, h)),
        Outcome::Fails(_) => ("jump-host-denied", own_fix(first_error, r, h)),
        Outcome::Unknown { .. } | Outcome::LoggedIn { .. } => {
            ("jump-host-unverified", own_fix(first_error, r, h))
        }
    };
    let lead = match code {
        "jump-host-unverified" => format!(
            "herossh cannot go on past the jump host {hop} to {target}, so it cannot say \
             whether ssh logs in"
        ),
        _ => format!("ssh fails before reaching {target}: at the jump host {hop}"),
    };
    Finding::new(code, Severity::Error, format!("{lead}: {detail}")).fix(fix)
}

/// The hop's own fix when it runs as printed for the hop as ssh reaches it (a pin, a
/// known_hosts edit, a config change); else validate the hop.
fn own_fix(first_error: Option<&Finding>, r: &Report, h: &HopStep) -> String {
    let chained = h.jump.is_some();
    match first_error.and_then(|f| f.fix.clone()) {
        // These reach the hop by its own route, which `-J` replaces for a chained hop.
        Some(fix)
            if !(chained
                && (fix.starts_with("ssh-copy-id") || fix.starts_with("herossh validate"))) =>
        {
            fix
        }
        _ => validate_hop(r, h, ""),
    }
}

/// The hop let us in but would not open the channel to the next host.
fn forward_failure(h: &HopStep) -> Finding {
    let hop = h.host.arg();
    let Some(fw) = &h.forward else {
        return Finding::new(
            "jump-host-cannot-reach",
            Severity::Error,
            format!("the jump host {hop} did not open a channel"),
        );
    };
    let said = fw.error.clone().unwrap_or_default();
    if fw.prohibited {
        Finding::new(
            "jump-host-forwarding-refused",
            Severity::Error,
            format!(
                "the jump host {hop} lets {} in but refuses to forward to {}:{} ({said}): its \
                 sshd has AllowTcpForwarding off (or DisableForwarding, or the key is \
                 restricted), so ssh -W and ProxyJump through it fail",
                h.report.settings.user, fw.host, fw.port
            ),
        )
        .fix(format!(
            "manual: ask the admin of {} to allow TCP forwarding (AllowTcpForwarding local) \
             for {}",
            h.report.settings.hostname, h.report.settings.user
        ))
    } else {
        Finding::new(
            "jump-host-cannot-reach",
            Severity::Error,
            format!(
                "the jump host {hop} could not connect to {}:{} for ssh ({said}); that name \
                 and port are resolved and connected to by {hop}, not by this machine",
                fw.host, fw.port
            ),
        )
        .fix(format!(
            "manual: check that {}:{} (the HostName and Port ssh uses after {hop}) is right \
             and reachable from {hop}",
            fw.host, fw.port
        ))
    }
}

/// The last `n` non-empty lines of a command's stderr, joined.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" / ")
}
