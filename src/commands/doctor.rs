//! `herossh doctor`: every local check (credentials tier, agent, `~/.ssh` permissions, git
//! remotes) and the probe of the platform's SSH host and of the repository's SSH remotes, in
//! one report. Local findings never depend on the network: offline, they all still appear.

use std::time::Duration;

use serde_json::{Value, json};

use super::Ctx;
use super::validate::{block_on, render, to_json};
use crate::cli::DoctorArgs;
use crate::diagnose::{self, Finding, Severity, account, local};
use crate::error::{Error, Kind, Result};
use crate::platform::Endpoint;
use crate::probe::agent::{self, AgentState};
use crate::probe::report::{self, ProbeOptions, Report};

/// One section of the report.
struct Section {
    title: String,
    findings: Vec<Finding>,
    /// The probe behind a probe section (rendered with validate's report).
    probe: Option<Report>,
}

pub fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<()> {
    if args.timeout == 0 {
        return Err(Error::usage("--timeout must be at least 1 second"));
    }
    let mut sections = vec![
        Section {
            title: "Credentials".into(),
            findings: credential_findings(),
            probe: None,
        },
        Section {
            title: "SSH agent".into(),
            findings: agent_findings(&block_on(agent::list(agent::socket_path(None)))?),
            probe: None,
        },
        Section {
            title: crate::paths::display_tilde(&crate::paths::ssh_dir()),
            findings: {
                let (ssh, home) = (crate::paths::ssh_dir(), crate::paths::home_dir());
                let mut f = local::ssh_dir_findings(&ssh);
                f.extend(local::leftover_temp_findings(&ssh, &home));
                f
            },
            probe: None,
        },
    ];
    let cwd = std::env::current_dir().unwrap_or_else(|_| crate::paths::home_dir());
    let remotes = local::ssh_remotes(&cwd);
    sections.push(Section {
        title: "Git remotes".into(),
        findings: local::remote_findings(&remotes),
        probe: None,
    });

    // The hosts to probe: the platform's SSH host, then the repository's other SSH hosts.
    let platform = account::platform_ssh_host(&Endpoint::from_env());
    let mut targets: Vec<(String, Option<String>, Option<u16>)> =
        vec![(platform, Some("git".to_string()), None)];
    for r in &remotes {
        if diagnose::is_heroku_host(&r.host) {
            continue;
        }
        let t = (r.host.clone(), r.user.clone(), r.port);
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    if args.offline {
        sections.push(Section {
            title: "Network".into(),
            findings: vec![Finding::new(
                "offline",
                Severity::Warning,
                format!(
                    "network checks skipped (--offline): not probed: {}",
                    targets
                        .iter()
                        .map(|(h, u, _)| match u {
                            Some(u) => format!("{u}@{h}"),
                            None => h.clone(),
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )],
            probe: None,
        });
    } else {
        let spinner = ctx.ui.spinner("Probing SSH hosts");
        for (i, (host, user, port)) in targets.into_iter().enumerate() {
            // Only the platform probe (the first) is about the Heroku account's keys.
            sections.push(probe_section(args, &host, user, port, i == 0)?);
        }
        spinner.clear();
    }

    // A problem seen by a local check and again by a probe is told once.
    let mut seen: Vec<(&'static str, String)> = Vec::new();
    for s in &mut sections {
        s.findings.retain(|f| {
            let k = (f.code, f.message.clone());
            let new = !seen.contains(&k);
            if new {
                seen.push(k);
            }
            new
        });
    }

    let errors = sections
        .iter()
        .flat_map(|s| &s.findings)
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = sections
        .iter()
        .flat_map(|s| &s.findings)
        .filter(|f| f.severity == Severity::Warning)
        .count();

    if ctx.ui.json {
        let all: Vec<&Finding> = sections.iter().flat_map(|s| &s.findings).collect();
        let probes: Vec<Value> = sections
            .iter()
            .filter_map(|s| s.probe.as_ref().map(|r| to_json(r, &s.findings)))
            .collect();
        ctx.ui.emit_json(&json!({
            "ok": errors == 0,
            "errors": errors,
            "warnings": warnings,
            "findings": all,
            "probes": probes,
        }))?;
    } else {
        let ui = &ctx.ui;
        for s in &sections {
            ui.out(ui.bold(&format!("== {}", crate::ui::untrusted(&s.title))));
            match &s.probe {
                Some(r) => render(ui, r, &s.findings),
                None if s.findings.is_empty() => ui.out(format!(" {} no problems", ui.green("✓"))),
                None => super::validate::render_findings_list(ui, &s.findings),
            }
            ui.out("");
        }
        ui.out(format!("{} error(s), {} warning(s)", errors, warnings));
    }
    if errors == 0 {
        Ok(())
    } else {
        Err(Error::reported(Kind::Failed))
    }
}

fn probe_section(
    args: &DoctorArgs,
    host: &str,
    user: Option<String>,
    port: Option<u16>,
    check_account: bool,
) -> Result<Section> {
    let dest = crate::openssh::Destination {
        user,
        host: host.to_string(),
        port,
    };
    let settings = super::validate::settings_for(&dest, args.config.as_deref(), &[])?;
    let opts = ProbeOptions {
        timeout: Duration::from_secs(args.timeout),
        interactive: std::io::IsTerminal::is_terminal(&std::io::stdin()),
        max_extra: crate::probe::report::DEFAULT_MAX_EXTRA,
        ..Default::default()
    };
    let report = block_on(report::run(settings, &opts))??;
    let acct = if check_account {
        diagnose::account_for(&report)
    } else {
        account::AccountKeys::NoCredentials
    };
    let findings = diagnose::for_report(&report, &acct);
    Ok(Section {
        title: format!("Probe {}", report.target()),
        findings,
        probe: Some(report),
    })
}

/// The credential tier: who is logged in and from where, and anything surprising.
fn credential_findings() -> Vec<Finding> {
    let status = match crate::credentials::status() {
        Ok(s) => s,
        Err(e) => {
            return vec![Finding::new(
                "credentials-unreadable",
                Severity::Error,
                e.message,
            )];
        }
    };
    let mut out = Vec::new();
    match &status.resolved {
        Some(c) => out.push(Finding::new(
            "logged-in",
            Severity::Ok,
            format!(
                "logged in{} (token from {})",
                c.account
                    .as_ref()
                    .map(|a| format!(" as {a}"))
                    .unwrap_or_default(),
                status
                    .stored
                    .clone()
                    .unwrap_or_else(|| format!("{:?}", c.source).to_lowercase())
            ),
        )),
        None => out.push(
            Finding::new(
                "not-logged-in",
                Severity::Warning,
                "no Heroku credentials (HEROKU_API_KEY, keychain or ~/.netrc): the account's keys cannot be checked",
            )
            .fix("herossh auth login"),
        ),
    }
    for w in status.warnings {
        out.push(Finding::new("credentials-warning", Severity::Warning, w));
    }
    out
}

fn agent_findings(state: &AgentState) -> Vec<Finding> {
    match state {
        AgentState::None => vec![Finding::new(
            "no-agent",
            Severity::Ok,
            "no ssh-agent (SSH_AUTH_SOCK is not set): encrypted keys need their passphrase each time",
        )],
        AgentState::Unreachable { socket, error, .. } => {
            vec![diagnose::agent_unreachable(socket, error)]
        }
        AgentState::Keys { keys, .. } => vec![Finding::new(
            "agent-keys",
            Severity::Ok,
            format!(
                "the ssh-agent holds {} key(s){}",
                keys.len(),
                if keys.len() > crate::probe::verdict::DEFAULT_MAX_AUTH_TRIES {
                    " — more than a server's default MaxAuthTries (6): use IdentitiesOnly per host"
                } else {
                    ""
                }
            ),
        )],
    }
}
