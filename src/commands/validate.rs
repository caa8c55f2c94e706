//! `herossh validate`: the key plan, the probe, and the findings for one host.

use std::time::Duration;

use serde_json::{Value, json};

use super::Ctx;
use crate::cli::ValidateArgs;
use crate::credentials::Secret;
use crate::diagnose::{self, Finding, Severity};
use crate::error::{Error, Kind, Result};
use crate::openssh::Destination;
use crate::paths::display_tilde;
use crate::probe::client::{Login, Verdict, describe};
use crate::probe::known_hosts::{Marker, Status};
use crate::probe::report::{self, ProbeOptions, Report};
use crate::probe::route::{RouteReport, Step, Via};
use crate::probe::verdict::Outcome;

use crate::ui::{Ui, untrusted};
use std::io::IsTerminal;

pub fn run(ctx: &Ctx, args: &ValidateArgs) -> Result<()> {
    let target = Destination::parse_with_port(&args.target)?;
    if args.timeout == 0 {
        return Err(Error::usage("--timeout must be at least 1 second"));
    }
    if let Some(j) = &args.jump {
        crate::probe::route::parse_jumps(j).map_err(Error::usage)?;
    }
    let settings = crate::probe::settings::resolve(
        &target,
        args.config.as_deref(),
        args.allow_exec,
        &args.identities,
    )?;
    let passphrase = if args.passphrase_stdin {
        Some(read_passphrase()?)
    } else {
        None
    };
    let opts = ProbeOptions {
        plan_only: args.plan,
        accept_new: args.accept_new,
        passphrase,
        timeout: Duration::from_secs(args.timeout),
        // A passphrase handed over on stdin is one the user types at ssh's prompt.
        interactive: !args.batch && (args.passphrase_stdin || std::io::stdin().is_terminal()),
        max_extra: args.max_extra,
        allow_exec: args.allow_exec,
        jump: args.jump.clone(),
    };
    let spinner = ctx.ui.spinner(format!("Probing {}", args.target));
    let report = block_on(report::run(settings, &opts))??;
    spinner.clear();
    let account = diagnose::account_for(&report);
    let findings = diagnose::for_report(&report, &account);

    if ctx.ui.json {
        ctx.ui.emit_json(&to_json(&report, &findings))?;
    } else {
        render(&ctx.ui, &report, &findings);
    }
    if args.plan {
        return Ok(());
    }
    outcome(&report, &findings)
}

/// Whether ssh, run as the user runs it, logs in with the configuration as it stands, and no
/// finding is an error: the one definition of "OK" behind validate's exit 0, its JSON
/// `authenticated` and doctor's `ok`.
pub fn logs_in(report: &Report, findings: &[Finding]) -> bool {
    // Through a running master connection ssh neither connects nor logs in again.
    let connects = report.through_master().is_some()
        || (report.settings.config_errors.is_empty()
            && !report.route.as_ref().is_some_and(|w| w.network_failure())
            && match &report.connection {
                Some(Err(e)) if e.server_answered() => false,
                // The installed ssh answered in the probe's place: its verdict, not the
                // probe's connection failure.
                Some(Err(_)) => report.ssh_said.is_some() && report.authenticated(),
                _ => report.authenticated(),
            });
    connects && !findings.iter().any(|f| f.severity == Severity::Error)
}

/// Exit 0 when [`logs_in`]; 3 when the host (or a jump host on the way) could not be reached;
/// 1 otherwise (denied, host key changed, negotiation, config).
pub fn outcome(report: &Report, findings: &[Finding]) -> Result<()> {
    if logs_in(report, findings) {
        return Ok(());
    }
    let unreachable = report.settings.config_errors.is_empty()
        && (report.route.as_ref().is_some_and(|w| w.network_failure())
            || matches!(&report.connection,
                Some(Err(e)) if report.ssh_said.is_none() && !e.server_answered()));
    Err(Error::reported(if unreachable {
        Kind::Network
    } else {
        Kind::Failed
    }))
}

/// Run a future on a current-thread runtime (network I/O is the only async part).
pub fn block_on<F: std::future::Future>(f: F) -> Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))?;
    let out = rt.block_on(f);
    // A DNS lookup abandoned by a timeout still runs on a blocking thread: do not wait for it.
    rt.shutdown_timeout(Duration::from_millis(100));
    Ok(out)
}

fn read_passphrase() -> Result<Secret> {
    let line = crate::ui::read_stdin_line(crate::ui::STDIN_LINE_MAX)
        .map_err(|e| Error::usage(format!("cannot read the passphrase from stdin: {e}")))?;
    let p = line.trim_end_matches(['\n', '\r']);
    if p.is_empty() {
        return Err(Error::usage("--passphrase-stdin: stdin held no passphrase"));
    }
    Ok(Secret::new(p))
}

fn verdict_json(v: Option<&Verdict>) -> Value {
    match v {
        Some(Verdict::Accepted) => json!(true),
        Some(Verdict::Rejected) => json!(false),
        _ => Value::Null,
    }
}

/// The documented `--json` document.
pub fn to_json(r: &Report, findings: &[Finding]) -> Value {
    let server = r.server().map(|s| {
        let (known, status) = match &s.host_key_status {
            Some(Status::Known(_)) => (true, "known"),
            Some(Status::Changed(_)) => (false, "changed"),
            Some(Status::Revoked(_)) => (false, "revoked"),
            Some(Status::Unknown) if r.accepted_new_into.is_some() => (true, "added"),
            _ => (false, "unknown"),
        };
        json!({
            "version": s.version,
            "kex": s.kex,
            "cipher": s.cipher,
            "host_key": {
                "type": s.host_key_type(),
                "fingerprint": s.host_key_fingerprint(),
                "known": known,
                "status": status,
                // The @cert-authority line that vouched for the server's host certificate.
                "certificate_authority": match &s.host_key_status {
                    Some(Status::Known(e)) if e.marker == Some(Marker::CertAuthority) => {
                        Some(format!("{}:{}", e.path.display(), e.line_no))
                    }
                    _ => None,
                },
                "certificate_refused": s.host_certificate_refused,
            },
            "methods": r.methods,
        })
    });
    let keys: Vec<Value> = r
        .plan
        .iter()
        .enumerate()
        .map(|(i, id)| {
            json!({
                // A certificate's own file (its key's file is the signer's entry).
                "path": match &id.detail.cert {
                    Some(c) => Some(c.load.path.display().to_string()),
                    None => id.path.as_ref().map(|p| p.display().to_string()),
                },
                "agent_comment": id.agent_comment,
                "type": id.key_type(),
                "fingerprint": id.fingerprint(),
                "source": id.source,
                "in_agent": id.in_agent,
                "offered_order": id.offered_order,
                "skipped_reason": id.skipped.map(|s| s.code()),
                "accepted": verdict_json(r.verdict(i)),
            })
        })
        .collect();
    json!({
        "target": r.target(),
        "authenticated": logs_in(r, findings),
        // The running master connection ssh sends the session through (ControlPath).
        "control_master": r.through_master().map(|p| p.display().to_string()),
        "outcome": r.outcome,
        "interactive": r.interactive,
        "client": crate::openssh::installed().describe(),
        "attempts": {
            "connections": r.connections,
            "failed_logins": r.failed_attempts,
        },
        "negotiation": match &r.negotiation {
            Some(crate::probe::negotiate::Outcome::Agreed { kex, host_key, cipher, mac }) => json!({
                "kex": kex, "host_key": host_key, "cipher": cipher, "mac": mac,
            }),
            Some(crate::probe::negotiate::Outcome::NoMatch { what, their_offer, .. }) => json!({
                "failed": what, "their_offer": their_offer,
            }),
            None => Value::Null,
        },
        "server": server,
        "keys": keys,
        "route": r.route.as_ref().map(route_json),
        "findings": findings,
    })
}

/// The route in `--json`: how ssh goes, each step (a jump host with its own validate
/// document, a ProxyCommand), and where it failed.
fn route_json(w: &RouteReport) -> Value {
    let steps: Vec<Value> = w
        .steps
        .iter()
        .map(|st| match st {
            Step::Jump(h) => {
                let own =
                    diagnose::for_report(&h.report, &diagnose::account::AccountKeys::NoCredentials);
                json!({
                    "type": "jump",
                    "host": h.host.arg(),
                    "jump": h.jump,
                    "report": to_json(&h.report, &own),
                    "forward": h.forward,
                })
            }
            Step::Command(c) => {
                let mut v = json!(c);
                v["type"] = json!("proxy-command");
                v
            }
        })
        .collect();
    json!({
        "via": w.via,
        "jump": w.jump,
        "steps": steps,
        "failure": w.failure,
    })
}

/// The human report: server, plan table with verdicts, findings, fixes.
pub fn render(ui: &Ui, r: &Report, findings: &[Finding]) {
    // Server strings, agent comments, file names and findings quoting them are untrusted.
    ui.out(format!("{} {}", ui.bold("Target:"), untrusted(&r.target())));
    ui.out(format!(
        "Client: {}, {}",
        untrusted(&crate::openssh::installed().describe()),
        if r.interactive {
            "run at a terminal"
        } else {
            "run as a script would (BatchMode: no prompts)"
        }
    ));
    render_route(ui, r);
    if let Some(s) = r.server() {
        let status = match &s.host_key_status {
            Some(Status::Known(e)) if e.marker == Some(Marker::CertAuthority) => format!(
                "known: a host certificate from the @cert-authority in {}:{}",
                display_tilde(&e.path),
                e.line_no
            ),
            Some(Status::Known(_)) => "known".to_string(),
            Some(Status::Changed(_)) => ui.red("CHANGED"),
            Some(Status::Revoked(_)) => ui.red("REVOKED"),
            _ if r.accepted_new_into.is_some() => "added to known_hosts".to_string(),
            _ => ui.yellow("unknown"),
        };
        if !s.version.is_empty() {
            // What ssh negotiates (its lists against the server's offer), not what the
            // probe's own client happened to.
            let agreed = match &r.negotiation {
                Some(crate::probe::negotiate::Outcome::Agreed {
                    kex,
                    host_key,
                    cipher,
                    ..
                }) => format!(" (ssh negotiates kex {kex}, host key {host_key}, cipher {cipher})"),
                _ => String::new(),
            };
            ui.out(format!("Server: {}{agreed}", untrusted(&s.version)));
        }
        ui.out(format!(
            "Host key: {} {} ({status})",
            s.host_key_type().unwrap_or_default(),
            s.host_key_fingerprint().unwrap_or_default()
        ));
        if !r.methods.is_empty() {
            ui.out(format!(
                "Allowed methods: {}",
                untrusted(&r.methods.join(","))
            ));
        }
    }
    ui.out("");
    render_plan(ui, r);
    render_findings(ui, findings);
    if r.connections > 0 {
        ui.out("");
        ui.out(format!(
            "Probe: {} connection(s), {} failed login(s) in the server's log",
            r.connections, r.failed_attempts
        ));
    }
}

/// The way ssh goes, one line per step (nothing for a direct route).
pub fn render_route(ui: &Ui, r: &Report) {
    let Some(w) = &r.route else { return };
    let via = match &w.via {
        Via::Direct => return,
        Via::ProxyJump { hops } => format!("ProxyJump {}", crate::probe::route::jump_arg(hops)),
        Via::ProxyCommand { command, .. } => format!("ProxyCommand {command}"),
    };
    ui.out(format!("{} {via}", ui.bold("Route:")));
    for (n, st) in w.steps.iter().enumerate() {
        let line = match st {
            Step::Jump(h) => {
                let s = &h.report.settings;
                let key = match h.report.server().map(|x| &x.host_key_status) {
                    Some(Some(Status::Known(_))) => "host key known".to_string(),
                    Some(Some(Status::Changed(_))) => ui.red("host key CHANGED"),
                    Some(Some(Status::Revoked(_))) => ui.red("host key REVOKED"),
                    Some(_) => ui.yellow("host key unknown"),
                    None => String::new(),
                };
                let how = match &h.report.outcome {
                    Outcome::LoggedIn { key: Some(i), .. } => {
                        ui.green(&format!("✓ ssh logs in with {}", h.report.plan[*i].label()))
                    }
                    Outcome::LoggedIn { key: None, .. } => ui.green("✓ ssh logs in"),
                    Outcome::Fails(f) => match &h.report.connection {
                        Some(Err(e)) => ui.red(&format!("✗ {}", describe(e))),
                        _ => ui.red(&format!(
                            "✗ ssh fails ({})",
                            crate::probe::route::hop_reason(f)
                        )),
                    },
                    Outcome::Unknown { why } => ui.yellow(&format!("? {why}")),
                };
                let fw = match &h.forward {
                    Some(f) if f.error.is_none() => format!("; forwards to {}:{}", f.host, f.port),
                    Some(f) => ui.red(&format!(
                        "; ✗ no channel to {}:{}: {}",
                        f.host,
                        f.port,
                        f.error.as_deref().unwrap_or_default()
                    )),
                    None => String::new(),
                };
                format!(
                    "{}@{} ({}:{}): {}{}{how}{fw}",
                    s.user,
                    h.host.host,
                    s.hostname,
                    s.port,
                    key,
                    if key.is_empty() { "" } else { ", " }
                )
            }
            Step::Command(c) if c.runs == 0 => {
                format!("ProxyCommand for {}: `{}` (not run)", c.host, c.command)
            }
            Step::Command(c) => format!(
                "ProxyCommand for {}: `{}` (ran {}×{})",
                c.host,
                c.command,
                c.runs,
                c.status
                    .as_ref()
                    .map(|s| format!(", exit {s}"))
                    .unwrap_or_default()
            ),
        };
        ui.out(format!("  {}. {line}", n + 1));
    }
}

pub fn render_plan(ui: &Ui, r: &Report) {
    if r.plan.is_empty() {
        ui.out("Keys: none (no identity file, no agent key)");
        return;
    }
    ui.out(ui.bold("Keys, in the order ssh offers them:"));
    let rows: Vec<[String; 4]> = r
        .plan
        .iter()
        .map(|id| {
            [
                untrusted(&id.label()).into_owned(),
                id.key_type().unwrap_or_else(|| "-".into()),
                id.fingerprint().unwrap_or_else(|| "-".into()),
                serde_json::to_value(id.source)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2, w3) = (width(0), width(1), width(2), width(3));
    for (i, (id, row)) in r.plan.iter().zip(&rows).enumerate() {
        let order = id
            .offered_order
            .map(|o| format!("{o:>2}"))
            .unwrap_or_else(|| " -".to_string());
        let mark = match r.verdict(i) {
            Some(Verdict::Accepted) => ui.green("✓ accepted"),
            Some(Verdict::Rejected) => ui.red("✗ rejected"),
            Some(Verdict::Unknown(why)) => ui.yellow(&format!("? {}", untrusted(why))),
            None => String::new(),
        };
        let proven = match &r.proof {
            Some(p) if p.index == i && p.result == Ok(Login::Success) => " (signed login OK)",
            _ => "",
        };
        let skipped = id
            .skipped
            .map(|s| format!(" [ssh: {}]", s.code()))
            .unwrap_or_default();
        let line = format!(
            " {order}  {:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {mark}{proven}{skipped}",
            row[0], row[1], row[2], row[3]
        );
        ui.out(line.trim_end());
    }
}

pub fn render_findings(ui: &Ui, findings: &[Finding]) {
    if findings.is_empty() {
        return;
    }
    ui.out("");
    ui.out(ui.bold("Findings:"));
    render_findings_list(ui, findings);
}

/// Findings, one per line with the fix below.
pub fn render_findings_list(ui: &Ui, findings: &[Finding]) {
    for f in findings {
        let mark = match f.severity {
            Severity::Ok => ui.green("✓"),
            Severity::Warning => ui.yellow("!"),
            Severity::Error => ui.red("✗"),
        };
        ui.out(format!(" {mark} {}: {}", f.code, untrusted(&f.message)));
        if let Some(fix) = &f.fix {
            ui.out(format!("     fix: {}", untrusted(fix)));
        }
    }
}
