//! `herossh validate`: the key plan, the probe, and the findings for one host.

use std::time::Duration;

use serde_json::{Value, json};

use super::Ctx;
use crate::cli::ValidateArgs;
use crate::credentials::Secret;
use crate::diagnose::{self, Finding, Severity};
use crate::error::{Error, Kind, Result};
use crate::openssh::Destination;
use crate::probe::client::{ConnectFailure, Login, Verdict};
use crate::probe::known_hosts::Status;
use crate::probe::plan::HostSettings;
use crate::probe::report::{self, ProbeOptions, Report};
use crate::sshconfig::{self, ResolveOptions};
use crate::ui::{Ui, untrusted};
use std::io::IsTerminal;

pub fn run(ctx: &Ctx, args: &ValidateArgs) -> Result<()> {
    let target = Destination::parse_with_port(&args.target)?;
    if args.timeout == 0 {
        return Err(Error::usage("--timeout must be at least 1 second"));
    }
    let settings = settings_for(&target, args.config.as_deref(), &args.identities)?;
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

/// The host as ssh sees it: the destination's user and port like `-l`/`-p`, the config
/// evaluated as ssh evaluates it. When ssh would refuse the config, the settings are read
/// past the errors (which travel with them, see `HostSettings::config_errors`), so the rest
/// of the report still runs.
pub fn settings_for(
    target: &Destination,
    config: Option<&std::path::Path>,
    identities: &[std::path::PathBuf],
) -> Result<HostSettings> {
    let opts = ResolveOptions {
        config: config.map(std::path::Path::to_path_buf),
        ..Default::default()
    };
    let resolved = match sshconfig::resolve_destination(target, &opts) {
        Ok(r) => r,
        Err(failure) => {
            let lenient = ResolveOptions {
                lenient: true,
                ..opts
            };
            let mut r = sshconfig::resolve_destination(target, &lenient)
                .map_err(|_| Error::from(failure.clone()))?;
            // What ssh stops on, as ssh reports it (the lenient pass may see fewer).
            r.skipped = failure.errors;
            r
        }
    };
    let mut settings = HostSettings::from_resolved(&target.host, &resolved, identities);
    settings.config_file = config.map(std::path::Path::to_path_buf);
    Ok(settings)
}

/// Exit 0 when ssh, run as the user runs it, logs in (and no finding is an error); 3 when
/// the host could not be reached; 1 otherwise (denied, host key changed, negotiation, config).
pub fn outcome(report: &Report, findings: &[Finding]) -> Result<()> {
    let error = findings.iter().any(|f| f.severity == Severity::Error);
    match &report.connection {
        _ if !report.settings.config_errors.is_empty() => Err(Error::reported(Kind::Failed)),
        Some(Err(
            ConnectFailure::HostKeyChanged { .. }
            | ConnectFailure::HostKeyRevoked { .. }
            | ConnectFailure::Negotiation { .. },
        )) => Err(Error::reported(Kind::Failed)),
        Some(Err(_)) => Err(Error::reported(Kind::Network)),
        _ if report.authenticated() && !error => Ok(()),
        _ => Err(Error::reported(Kind::Failed)),
    }
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
            Some(Status::Unknown { .. }) if r.accepted_new_into.is_some() => (true, "added"),
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
                "path": id.path.as_ref().map(|p| p.display().to_string()),
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
    let error = findings.iter().any(|f| f.severity == Severity::Error);
    json!({
        "target": r.target(),
        "authenticated": r.authenticated() && !error,
        "outcome": r.outcome,
        "interactive": r.interactive,
        "client": crate::openssh::installed().describe(),
        "attempts": {
            "connections": r.connections,
            "failed_logins": r.failed_attempts,
        },
        "server": server,
        "keys": keys,
        "findings": findings,
    })
}

/// The human report: server, plan table with verdicts, findings, fixes.
pub fn render(ui: &Ui, r: &Report, findings: &[Finding]) {
    // Server strings, agent comments, file names and findings quoting them are untrusted.
    ui.out(format!("{} {}", ui.bold("Target:"), untrusted(&r.target())));
    if let Some(s) = r.server() {
        let status = match &s.host_key_status {
            Some(Status::Known(_)) => "known".to_string(),
            Some(Status::Changed(_)) => ui.red("CHANGED"),
            Some(Status::Revoked(_)) => ui.red("REVOKED"),
            _ if r.accepted_new_into.is_some() => "added to known_hosts".to_string(),
            _ => ui.yellow("unknown"),
        };
        if !s.version.is_empty() {
            ui.out(format!(
                "Server: {} (kex {}, cipher {})",
                untrusted(&s.version),
                untrusted(&s.kex),
                untrusted(&s.cipher)
            ));
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
