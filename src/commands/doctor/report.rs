//! What one doctor pass found, and how it is shown: the local sections, a summary table of
//! the hosts (host, user, verdict, the key that works, finding codes), the details of the
//! hosts with problems (validate's own rendering), and the JSON forms (`--json` document,
//! `--json-lines` host objects, the `--fix` document).

use std::io::Write;
use std::time::Duration;

use serde_json::{Value, json};

use super::fixes::{Fix, Manual};
use super::fleet::Limits;
use super::targets::Target;
use crate::commands::validate::{self, render_findings_list};
use crate::diagnose::{Finding, Severity};
use crate::error::{Error, Result};
use crate::probe::client::{ConnectFailure, Verdict};
use crate::probe::plan::HostSettings;
use crate::probe::report::Report;
use crate::ui::Ui;

/// One local section.
pub struct Section {
    pub key: &'static str,
    pub title: String,
    pub findings: Vec<Finding>,
}

impl Section {
    pub fn new(key: &'static str, title: &str, findings: Vec<Finding>) -> Section {
        Section {
            key,
            title: title.to_string(),
            findings,
        }
    }
}

/// Where a host stands.
#[derive(Debug, Clone)]
pub enum HostState {
    /// Resolved, waiting for its probe.
    Pending(Box<HostSettings>),
    Probed {
        report: Box<Report>,
        findings: Vec<Finding>,
    },
    /// ssh refuses the configuration for this host (every error ssh would print).
    ConfigError {
        message: String,
    },
    Failed(String),
    NotChecked,
}

pub struct HostResult {
    pub target: Target,
    pub state: HostState,
    /// doctor's own hints (the alias to use).
    pub hints: Vec<Finding>,
    pub elapsed: Duration,
}

impl HostResult {
    pub fn new(target: Target, state: HostState) -> HostResult {
        HostResult {
            target,
            state,
            hints: Vec::new(),
            elapsed: Duration::ZERO,
        }
    }

    fn report(&self) -> Option<&Report> {
        match &self.state {
            HostState::Probed { report, .. } => Some(report),
            _ => None,
        }
    }

    /// Every finding for the host: the probe's (or the reason there was no probe), then the
    /// hints.
    pub fn findings(&self) -> Vec<Finding> {
        let mut out = match &self.state {
            HostState::Probed { findings, .. } => findings.clone(),
            HostState::ConfigError { message } => vec![Finding::new(
                "config-error",
                Severity::Error,
                format!(
                    "ssh refuses the configuration for {}: {message}",
                    self.target.label()
                ),
            )],
            HostState::Failed(m) => vec![Finding::new("probe-failed", Severity::Error, m.clone())],
            HostState::NotChecked | HostState::Pending(_) => vec![
                Finding::new(
                    "not-checked",
                    Severity::Error,
                    "the run's deadline passed before this host was checked",
                )
                .fix(format!(
                    "check it alone: herossh doctor {}",
                    crate::diagnose::sh_quote(&self.target.label())
                )),
            ],
        };
        out.extend(self.hints.iter().cloned());
        out
    }

    /// One word for the summary table and the JSON `verdict`.
    pub fn verdict(&self) -> &'static str {
        let report = match &self.state {
            HostState::Probed { report, .. } => report,
            HostState::ConfigError { .. } => return "config-error",
            HostState::Failed(_) => return "probe-failed",
            HostState::NotChecked | HostState::Pending(_) => return "not-checked",
        };
        if !report.settings.config_errors.is_empty() {
            return "config-error";
        }
        if validate::logs_in(report, &self.findings()) {
            return "ok";
        }
        match &report.connection {
            // The installed ssh answered in the probe's place: its verdict is "denied".
            Some(Err(e)) if report.ssh_said.is_none() => match e {
                ConnectFailure::Dns(_) => "unresolved",
                ConnectFailure::Refused(_) => "refused",
                ConnectFailure::Timeout => "timeout",
                ConnectFailure::Closed(_) | ConnectFailure::Handshake(_) => "handshake-failed",
                ConnectFailure::HostKeyChanged { .. } => "host-key-changed",
                ConnectFailure::HostKeyRevoked { .. } => "host-key-revoked",
                ConnectFailure::Negotiation { .. } => "negotiation-failed",
            },
            _ => "denied",
        }
    }

    /// The login user (resolved), when known.
    pub fn user(&self) -> String {
        match &self.state {
            HostState::Pending(s) => s.user.clone(),
            HostState::Probed { report, .. } => report.settings.user.clone(),
            _ => self.target.dest.user.clone().unwrap_or_default(),
        }
    }

    /// The key the server let in (the signed login's), else the first it accepts.
    pub fn key(&self) -> Option<String> {
        let r = self.report()?;
        if r.none_accepted {
            return Some("(no key needed)".into());
        }
        // The key ssh logs in with, when it does.
        if let crate::probe::verdict::Outcome::LoggedIn { key: Some(i), .. } = &r.outcome {
            return r.plan.get(*i).map(|id| id.label());
        }
        (0..r.plan.len())
            .find(|&i| r.verdict(i) == Some(&Verdict::Accepted))
            .map(|i| r.plan[i].label())
    }

    /// validate's JSON report, plus where the host came from and what the probe cost.
    pub fn to_json(&self) -> Value {
        let findings = self.findings();
        let mut v = match self.report() {
            Some(r) => validate::to_json(r, &findings),
            None => json!({
                "target": self.target.label(),
                "authenticated": false,
                "server": null,
                "keys": [],
                "findings": findings,
            }),
        };
        if let Some(list) = v.get_mut("findings").and_then(Value::as_array_mut) {
            for (item, f) in list.iter_mut().zip(&findings) {
                item["severity"] = json!(f.severity);
            }
        }
        let r = self.report();
        v["label"] = json!(self.target.label());
        v["verdict"] = json!(self.verdict());
        v["user"] = json!(self.user());
        v["key"] = json!(self.key());
        v["sources"] = json!(
            self.target
                .sources
                .iter()
                .map(|s| s.describe())
                .collect::<Vec<_>>()
        );
        v["connections"] = json!(r.map_or(0, |r| r.connections));
        v["auth_attempts"] = json!(r.map_or(0, |r| r.auth_attempts));
        v["elapsed_ms"] = json!(self.elapsed.as_millis() as u64);
        v
    }
}

/// One doctor pass.
pub struct Run {
    pub sections: Vec<Section>,
    pub hosts: Vec<HostResult>,
    pub notes: Vec<String>,
    pub elapsed: Duration,
    /// None with --offline.
    pub limits: Option<Limits>,
    pub deadline_passed: bool,
}

impl Run {
    /// Every finding with the host it is about (None: a local check).
    pub fn all_findings(&self) -> Vec<(&Finding, Option<String>)> {
        let mut out: Vec<(&Finding, Option<String>)> = self
            .sections
            .iter()
            .flat_map(|s| s.findings.iter().map(|f| (f, None)))
            .collect();
        for h in &self.hosts {
            if let HostState::Probed { findings, .. } = &h.state {
                out.extend(findings.iter().map(|f| (f, Some(h.target.label()))));
            }
            out.extend(h.hints.iter().map(|f| (f, Some(h.target.label()))));
        }
        out
    }

    /// (errors, warnings), each problem counted once however many hosts show it.
    pub fn counts(&self) -> (usize, usize) {
        let mut seen: Vec<(&'static str, String, Severity)> = Vec::new();
        let host_findings: Vec<Finding> = self.hosts.iter().flat_map(|h| h.findings()).collect();
        for f in self
            .sections
            .iter()
            .flat_map(|s| &s.findings)
            .chain(host_findings.iter())
        {
            let k = (f.code, f.message.clone(), f.severity);
            if !seen.contains(&k) {
                seen.push(k);
            }
        }
        let n = |s: Severity| seen.iter().filter(|k| k.2 == s).count();
        (n(Severity::Error), n(Severity::Warning))
    }

    fn totals(&self) -> (usize, usize) {
        self.hosts
            .iter()
            .filter_map(HostResult::report)
            .fold((0, 0), |(c, a), r| (c + r.connections, a + r.auth_attempts))
    }
}

/// The `--json` document.
pub fn document(run: &Run) -> Value {
    let (errors, warnings) = run.counts();
    let (connections, attempts) = run.totals();
    let local: Vec<Value> = run
        .sections
        .iter()
        .flat_map(|s| {
            s.findings.iter().map(move |f| {
                json!({
                    "section": s.key,
                    "code": f.code,
                    "severity": f.severity,
                    "message": f.message,
                    "fix": f.fix,
                })
            })
        })
        .collect();
    json!({
        "ok": errors == 0,
        "errors": errors,
        "warnings": warnings,
        "local": local,
        "hosts": run.hosts.iter().map(HostResult::to_json).collect::<Vec<_>>(),
        "notes": run.notes,
        "stats": {
            "hosts": run.hosts.len(),
            "connections": connections,
            "auth_attempts": attempts,
            "elapsed_ms": run.elapsed.as_millis() as u64,
            "jobs": run.limits.map(|l| l.jobs),
            "timeout": run.limits.map(|l| l.timeout.as_secs()),
            "deadline": run.limits.map(|l| l.deadline.as_secs()),
            "deadline_passed": run.deadline_passed,
        },
    })
}

/// The `--fix` document: the final state, what was run, what is left to the person, and
/// each host's verdict before and after.
pub fn fix_document(
    run: &Run,
    before: Option<&Run>,
    results: &[(Fix, &'static str, Option<String>)],
    manual: &[Manual],
) -> Value {
    let mut v = document(run);
    v["fixes"] = json!(
        results
            .iter()
            .map(|(f, result, error)| json!({
                "command": f.display(),
                "argv": f.steps,
                "finding": f.code,
                "host": f.host,
                "result": result,
                "error": error,
            }))
            .collect::<Vec<_>>()
    );
    v["manual"] = json!(
        manual
            .iter()
            .map(|m| json!({"host": m.host, "finding": m.code, "fix": m.text, "why": m.why}))
            .collect::<Vec<_>>()
    );
    v["changes"] = json!(
        before
            .map(|b| changes(b, run))
            .unwrap_or_default()
            .iter()
            .map(|(t, a, b)| json!({"target": t, "before": a, "after": b}))
            .collect::<Vec<_>>()
    );
    v
}

/// One host's JSON object on one line, flushed (a closed pipe ends the run quietly).
pub fn emit_line(v: &Value) -> Result<()> {
    let line = serde_json::to_string(v)
        .map_err(|e| Error::failed(format!("cannot encode JSON output: {e}")))?;
    let mut o = std::io::stdout().lock();
    match writeln!(o, "{line}").and_then(|()| o.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(Error::reported(crate::error::Kind::Failed))
        }
        Err(e) => Err(Error::failed(format!("cannot write to stdout: {e}"))),
    }
}

/// The human report.
pub fn render(ui: &Ui, run: &Run) {
    for s in &run.sections {
        ui.out(ui.bold(&format!("== {}", s.title)));
        if s.findings.is_empty() {
            ui.out(format!(" {} no problems", ui.green("✓")));
        } else {
            render_findings_list(ui, &s.findings);
        }
        ui.out("");
    }
    if run.limits.is_some() {
        render_table(ui, run);
        render_details(ui, run);
    }
    let (errors, warnings) = run.counts();
    ui.out(format!("{errors} error(s), {warnings} warning(s)"));
}

fn render_table(ui: &Ui, run: &Run) {
    let (connections, attempts) = run.totals();
    let jobs = run.limits.map_or(1, |l| l.jobs);
    ui.out(ui.bold(&format!(
        "== Hosts: {} checked in {:.1} s ({} at a time): {connections} connection(s), {attempts} auth attempt(s)",
        run.hosts.len(),
        run.elapsed.as_secs_f64(),
        jobs
    )));
    if run.hosts.is_empty() {
        ui.out(" no host to check: no Host alias in your ssh config, no SSH remote here (name one: herossh doctor HOST)");
    } else {
        let rows: Vec<[String; 5]> = run
            .hosts
            .iter()
            .map(|h| {
                let codes: Vec<&str> = h
                    .findings()
                    .iter()
                    .filter(|f| f.severity != Severity::Ok)
                    .map(|f| f.code)
                    .collect();
                // Labels, users and key names come from configs, agents and remotes.
                let safe = |x: String| crate::ui::untrusted(&x).into_owned();
                [
                    safe(h.target.label()),
                    safe(h.user()),
                    h.verdict().to_string(),
                    h.key().map_or_else(|| "-".into(), safe),
                    if codes.is_empty() {
                        "-".into()
                    } else {
                        codes.join(", ")
                    },
                ]
            })
            .collect();
        let header = ["HOST", "USER", "VERDICT", "KEY", "FINDINGS"];
        let w = |c: usize| {
            rows.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        };
        let (w0, w1, w2, w3) = (w(0), w(1), w(2), w(3));
        ui.out(format!(
            " {:<w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {}",
            header[0], header[1], header[2], header[3], header[4]
        ));
        for r in &rows {
            let verdict = format!("{:<w2$}", r[2]);
            let verdict = if r[2] == "ok" {
                ui.green(&verdict)
            } else {
                ui.red(&verdict)
            };
            ui.out(format!(
                " {:<w0$}  {:<w1$}  {verdict}  {:<w3$}  {}",
                r[0], r[1], r[3], r[4]
            ));
        }
    }
    for n in &run.notes {
        ui.out(format!(" note: {n}"));
    }
    if run.deadline_passed {
        ui.out(format!(
            " note: the run's deadline ({} s) passed; the hosts not checked are marked so (--deadline raises it)",
            run.limits.map_or(0, |l| l.deadline.as_secs())
        ));
    }
    ui.out("");
}

/// Each host with an error or a warning, as validate shows it (findings already shown in
/// the local sections are not repeated).
fn render_details(ui: &Ui, run: &Run) {
    let shown: Vec<(&str, &str)> = run
        .sections
        .iter()
        .flat_map(|s| &s.findings)
        .map(|f| (f.code, f.message.as_str()))
        .collect();
    for h in &run.hosts {
        let findings: Vec<Finding> = h
            .findings()
            .into_iter()
            .filter(|f| !shown.contains(&(f.code, f.message.as_str())))
            .collect();
        if !findings.iter().any(|f| f.severity != Severity::Ok) {
            continue;
        }
        ui.out(ui.bold(&format!(
            "== {} ({})",
            crate::ui::untrusted(&h.target.label()),
            h.verdict()
        )));
        match &h.state {
            HostState::Probed { report, .. } => validate::render(ui, report, &findings),
            _ => render_findings_list(ui, &findings),
        }
        ui.out("");
    }
}

/// Fixes left to the person.
pub fn render_manual(ui: &Ui, manual: &[Manual]) {
    if manual.is_empty() {
        return;
    }
    ui.out("");
    ui.out(ui.bold("== Left to you"));
    for m in manual {
        let at = m
            .host
            .as_ref()
            .map(|h| format!("{}: ", crate::ui::untrusted(h)))
            .unwrap_or_default();
        ui.out(format!(" {at}{}: {}", m.code, m.text));
        ui.out(format!("     ({})", m.why));
    }
}

/// Each host's verdict before and after (matched by label), and the local problem count.
fn changes(before: &Run, after: &Run) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for h in &after.hosts {
        let label = h.target.label();
        let was = before
            .hosts
            .iter()
            .find(|b| b.target.label() == label)
            .map(|b| b.verdict().to_string())
            .unwrap_or_else(|| "-".into());
        out.push((label, was, h.verdict().to_string()));
    }
    out
}

pub fn render_changes(ui: &Ui, before: &Run, after: &Run) {
    ui.out("");
    ui.out(ui.bold("== Before → after"));
    let rows: Vec<_> = changes(before, after)
        .into_iter()
        .map(|(label, was, now)| (crate::ui::untrusted(&label).into_owned(), was, now))
        .collect();
    let w = rows.iter().map(|r| r.0.chars().count()).max().unwrap_or(0);
    for (label, was, now) in &rows {
        ui.out(format!(" {label:<w$}  {was} → {now}"));
    }
    let (e0, w0) = before.counts();
    let (e1, w1) = after.counts();
    ui.out(format!(
        " {:<w$}  {e0} error(s), {w0} warning(s) → {e1} error(s), {w1} warning(s)",
        "all"
    ));
}
