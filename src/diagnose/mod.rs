//! Findings with fixes, shared by `validate` and `doctor`.
//!
//! A finding has a stable `code` (scripts and tests branch on it), a one-line message that
//! says what is wrong in this user's terms, and, when there is one, the exact command that
//! fixes it. This module is the one place that decides which findings a probe report yields,
//! so validate and doctor can never explain the same situation differently.

pub mod account;
pub mod config;
pub mod keys;
pub mod local;
pub mod route;

use serde::Serialize;

use crate::paths::display_tilde;
use crate::probe::client::{ConnectFailure, Login, Verdict, describe};
use crate::probe::known_hosts::Status;
use crate::probe::plan::{HostSettings, SkipReason};
use crate::probe::report::Report;
use crate::probe::verdict::{self, Failure as VerdictFailure, Outcome, Prompt};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: &'static str,
    #[serde(skip)]
    pub severity: Severity,
    pub message: String,
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(code: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity,
            message: message.into(),
            fix: None,
        }
    }
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Quote a path or argument for a copy-pasted shell command (only when needed).
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-~:@%+=,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Is this one of Heroku's SSH endpoints (whose git transport is gone)?
pub fn is_heroku_host(host: &str) -> bool {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    h == "heroku.com" || h.ends_with(".heroku.com")
}

/// Is the probe about Heroku (by the name typed or the `HostName` it resolves to)?
fn targets_heroku(s: &HostSettings) -> bool {
    is_heroku_host(&s.alias) || is_heroku_host(&s.hostname)
}

/// Is the probe about the platform whose account keys we can check?
fn targets_platform(s: &HostSettings) -> bool {
    account::is_platform_host(&s.alias) || account::is_platform_host(&s.hostname)
}

/// The finding for Heroku's retired SSH git transport.
pub fn heroku_ssh_git_ended(context: &str) -> Finding {
    Finding::new(
        "heroku-ssh-git-ended",
        Severity::Error,
        format!(
            "{context}: Heroku ended SSH git transport on 2021-11-30; git must use HTTPS \
             (account SSH keys still matter for `heroku run`/`ps:exec` into Shield and Fir dynos)"
        ),
    )
    .fix("git remote set-url heroku https://git.heroku.com/APP.git && herossh git-credential install")
}

/// The account's keys when the report is about the platform's SSH host and the server was
/// reached (blocking; call outside the probe's runtime).
pub fn account_for(r: &Report) -> account::AccountKeys {
    if matches!(r.connection, Some(Ok(_))) && targets_platform(&r.settings) {
        account::fetch()
    } else {
        account::AccountKeys::NoCredentials
    }
}

/// The agent socket is set but does not answer.
pub fn agent_unreachable(socket: &std::path::Path, error: &str) -> Finding {
    let launchd = crate::probe::agent::is_launchd_socket(socket);
    Finding::new(
        "agent-unreachable",
        Severity::Warning,
        format!(
            "the ssh-agent socket {}{} does not answer ({error}); its keys cannot be used",
            socket.display(),
            if launchd {
                " (macOS's launchd agent)"
            } else {
                ""
            }
        ),
    )
    .fix(if launchd {
        "launchctl kickstart -k gui/$(id -u)/com.openssh.ssh-agent".to_string()
    } else {
        "manual: start an agent (eval \"$(ssh-agent -s)\"; ssh-add) or unset SSH_AUTH_SOCK"
            .to_string()
    })
}

/// All findings for one probe report, most important first.
pub fn for_report(r: &Report, account: &account::AccountKeys) -> Vec<Finding> {
    let mut out = Vec::new();
    let s = &r.settings;
    let target_arg = sh_quote(&r.target());

    out.extend(config::error_findings(
        &s.config_errors,
        s.config_file.as_deref(),
    ));
    out.extend(config::shadowed_findings(
        &s.resolved,
        &s.alias,
        s.config_file.as_deref(),
    ));
    out.extend(config::home_findings());
    if let crate::probe::agent::AgentState::Unreachable {
        socket,
        error,
        hangs,
    } = &r.agent
    {
        let mut f = agent_unreachable(socket, error);
        if *hangs {
            f.severity = Severity::Error;
            f.message
                .push_str("; ssh waits for it forever (the connection hangs)");
        }
        out.push(f);
    }
    out.extend(route::findings(r));
    if let Some(socket) = r.through_master() {
        out.push(Finding::new(
            "control-master",
            Severity::Ok,
            format!(
                "ssh reuses the master connection running at {} (ControlPath, ControlMaster \
                 {}): it sends the session through it without connecting or logging in again; \
                 anything below is what a new connection meets once that master exits (ssh -O \
                 exit {} ends it)",
                display_tilde(socket),
                s.resolved.get("controlmaster").unwrap_or("no"),
                sh_quote(&s.alias)
            ),
        ));
    }

    // The probe could not speak what ssh negotiates; the installed ssh answered instead.
    if let Some(asked) = &r.ssh_said {
        out.extend(ssh_said_findings(r, asked));
        out.extend(plan_findings(r));
        calibrate(r, &mut out);
        return out;
    }

    // Connection-level outcomes.
    match &r.connection {
        Some(Err(e)) => {
            out.push(connection_finding(r, e));
            if targets_heroku(s) {
                out.push(heroku_ssh_git_ended(&format!(
                    "the SSH probe of {} failed",
                    s.hostname
                )));
            }
            out.extend(plan_findings(r));
            calibrate(r, &mut out);
            return out;
        }
        Some(Ok(server)) => match &server.host_key_status {
            Some(Status::Known(_)) | None => {}
            _ if s.no_host_auth_for_localhost() => out.push(Finding::new(
                "host-key-not-checked",
                Severity::Ok,
                format!(
                    "NoHostAuthenticationForLocalhost yes: ssh takes any host key from the \
                     loopback address {}, so known_hosts does not matter here",
                    s.hostname
                ),
            )),
            Some(Status::Unknown) => out.push(host_key_unknown(r, server, &target_arg)),
            // StrictHostKeyChecking no: ssh went on, and so did the probe.
            Some(Status::Changed(_)) => out.push(host_key_changed(s, server)),
            Some(Status::Revoked(_)) => out.push(host_key_revoked(s, server)),
        },
        None => {}
    }

    if r.connection.is_some() {
        out.extend(auth_findings(r, &account::foreign_keys(r, account)));
        out.extend(account::findings(r, account));
    }
    out.extend(plan_findings(r));
    // The outcome's passphrase-needed says what the plan's encrypted-not-in-agent says, with
    // the same fix, for the key that decides the login: one finding.
    let needed: Vec<Option<String>> = out
        .iter()
        .filter(|f| f.code == "passphrase-needed")
        .map(|f| f.fix.clone())
        .collect();
    out.retain(|f| f.code != "encrypted-not-in-agent" || !needed.contains(&f.fix));
    calibrate(r, &mut out);
    out
}

/// What the installed ssh said when asked in the probe's place: the verdict, and why the
/// per-key answers are missing.
fn ssh_said_findings(r: &Report, asked: &crate::probe::report::SshAsked) -> Vec<Finding> {
    use crate::openssh::login::SshSaid;
    let s = &r.settings;
    let why = format!(
        "herossh's probe cannot speak {}, which ssh negotiates with {}; the installed ssh was \
         asked instead (`ssh -v -N -o BatchMode=yes`)",
        asked.lacking, s.hostname
    );
    let mut out = vec![Finding::new(
        "probe-cannot-negotiate",
        Severity::Warning,
        format!("{why}, so which key gets in is not known"),
    )];
    match (&asked.said, &r.outcome) {
        (SshSaid::LoggedIn { method }, _) => out.push(Finding::new(
            "authenticated",
            Severity::Ok,
            format!(
                "ssh logs in to {} as {} (using {method})",
                s.hostname, s.user
            ),
        )),
        (SshSaid::Failed { line }, Outcome::Fails(_)) => out.push(Finding::new(
            "ssh-fails",
            Severity::Error,
            format!(
                "ssh fails: {}",
                if line.is_empty() {
                    "(it said nothing)"
                } else {
                    line
                }
            ),
        )),
        _ => {}
    }
    out
}

/// An error finding means ssh fails; when ssh logs in, the rest are warnings (a spare key
/// with a bad mode costs nothing), and when it fails, at least one finding says so.
fn calibrate(r: &Report, out: &mut Vec<Finding>) {
    if r.authenticated() {
        for f in out.iter_mut() {
            if f.severity == Severity::Error {
                f.severity = Severity::Warning;
            }
        }
    } else if r.connection.is_some() && !out.iter().any(|f| f.severity == Severity::Error) {
        let why = match &r.outcome {
            Outcome::Unknown { why } => why.clone(),
            other => format!("{other:?}"),
        };
        out.push(Finding::new(
            "outcome-unknown",
            Severity::Error,
            format!(
                "herossh cannot say that ssh logs in to {}: {why}",
                r.target()
            ),
        ));
    }
}

/// For a host key the known_hosts files do not vouch for: ssh also asks KnownHostsCommand,
/// which herossh does not run (the verdict is then unknown, not a failure).
fn known_hosts_command_note(s: &HostSettings) -> String {
    match s.known_hosts_command() {
        Some(c) => format!(
            "; ssh also runs KnownHostsCommand `{c}`, which may vouch for the key (herossh does \
             not run it)"
        ),
        None => String::new(),
    }
}

/// Why ssh did not take the server's host certificate from a CA known_hosts trusts (it then
/// judged the plain key), for a host key message.
fn certificate_set_aside(server: &crate::probe::client::ServerInfo) -> String {
    match &server.host_certificate_refused {
        Some(why) => format!(
            " (its host certificate comes from a CA known_hosts trusts, but ssh sets it aside: \"{why}\")"
        ),
        None => String::new(),
    }
}

/// The host key is not in known_hosts: ssh asks at a terminal, fails without one (or with
/// StrictHostKeyChecking yes).
fn host_key_unknown(
    r: &Report,
    server: &crate::probe::client::ServerInfo,
    target_arg: &str,
) -> Finding {
    let s = &r.settings;
    let fp = server.host_key_fingerprint().unwrap_or_default();
    if let Some(file) = &r.accepted_new_into {
        return Finding::new(
            "host-key-unknown",
            Severity::Ok,
            format!(
                "the host key {fp} was not known; added it to {}",
                display_tilde(file)
            ),
        );
    }
    if s.user_known_hosts_files.is_empty() {
        // Recorded where ssh reads it again, then accepted.
        return Finding::new(
            "host-key-unknown",
            Severity::Error,
            format!(
                "the host key of {} ({} {fp}) is not in known_hosts{}; with UserKnownHostsFile \
                 none ssh has nowhere to record it and refuses it whatever \
                 StrictHostKeyChecking says: \"Host key verification failed.\"",
                s.known_hosts_name(),
                server.host_key_type().unwrap_or_default(),
                certificate_set_aside(server)
            ),
        )
        .fix(format!(
            "{} && herossh validate --accept-new{} {target_arg}",
            fix_config(s, "--set 'UserKnownHostsFile ~/.ssh/known_hosts'"),
            config_arg(s)
        ));
    }
    let (severity, consequence) = match s.strict_host_key_checking.as_str() {
        "false" | "accept-new" => (
            Severity::Ok,
            "ssh adds it without asking (StrictHostKeyChecking)".to_string(),
        ),
        "true" => (
            Severity::Error,
            "StrictHostKeyChecking yes: ssh refuses it (\"Host key verification failed.\")".into(),
        ),
        _ if r.interactive => (
            Severity::Warning,
            "ssh will ask you to confirm it; scripts and BatchMode fail".into(),
        ),
        _ => (
            Severity::Error,
            "ssh cannot ask here (BatchMode or no terminal): \"Host key verification failed.\""
                .into(),
        ),
    };
    let (severity, consequence) = match s.known_hosts_command() {
        Some(_) if severity == Severity::Error => (
            Severity::Warning,
            format!("{consequence}{}", known_hosts_command_note(s)),
        ),
        _ => (severity, consequence),
    };
    Finding::new(
        "host-key-unknown",
        severity,
        format!(
            "the host key of {} ({} {fp}) is not in known_hosts{}; {consequence}",
            s.known_hosts_name(),
            server.host_key_type().unwrap_or_default(),
            certificate_set_aside(server)
        ),
    )
    .fix(format!(
        "herossh validate --accept-new{} {target_arg}",
        config_arg(s)
    ))
}

/// ` -F FILE` when the probe ran with one, for commands that must read the same config.
pub fn config_arg(s: &HostSettings) -> String {
    match &s.config_file {
        Some(f) => format!(" -F {}", sh_quote(&f.display().to_string())),
        None => String::new(),
    }
}

/// `herossh fix-config --host ALIAS [-F FILE] ARGS`.
pub fn fix_config(s: &HostSettings, args: &str) -> String {
    format!(
        "herossh fix-config --host {}{} {args}",
        sh_quote(&s.alias),
        config_arg(s)
    )
}

/// How bad a changed or revoked host key is, and what ssh does next: it stops before sending
/// anything, or, with StrictHostKeyChecking no, warns and logs in all the same.
fn past_mismatch(s: &HostSettings) -> (Severity, &'static str) {
    if s.host_key_mismatch_goes_on() {
        (
            Severity::Warning,
            "StrictHostKeyChecking is off, so ssh warns and logs in all the same (only password \
             and keyboard-interactive authentication are disabled), to whoever answers at this \
             address",
        )
    } else {
        (Severity::Error, "nothing was sent")
    }
}

/// The server's host key is not the one known_hosts holds for it.
fn host_key_changed(s: &HostSettings, server: &crate::probe::client::ServerInfo) -> Finding {
    let (line, known) = match &server.host_key_status {
        Some(Status::Changed(entry)) => {
            let known_type = entry.key.algorithm().to_string();
            // ssh calls any other recorded key a change, even of another type (a server that
            // dropped the key type the file holds): say which.
            let other_type = if server.host_key_type().as_deref() == Some(&known_type) {
                ""
            } else {
                ", another key type, which ssh counts as a change too"
            };
            (
                format!(
                    "{}:{}: {}",
                    display_tilde(&entry.path),
                    entry.line_no,
                    entry.line
                ),
                format!("{known_type} {}{other_type}", entry.fingerprint()),
            )
        }
        _ => (String::new(), String::new()),
    };
    let file = match &server.host_key_status {
        Some(Status::Changed(entry)) => sh_quote(&entry.path.display().to_string()),
        _ => "~/.ssh/known_hosts".into(),
    };
    let (severity, then) = match past_mismatch(s) {
        // KnownHostsCommand may vouch for the key: the verdict is open, not a failure.
        (Severity::Error, then) if s.known_hosts_command().is_some() => (Severity::Warning, then),
        other => other,
    };
    Finding::new(
        "host-key-changed",
        severity,
        format!(
            "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for {}: the server presents {} {}{} \
             but known_hosts holds {known} ({line}); someone could be intercepting the \
             connection: {then}{}",
            s.known_hosts_name(),
            server.host_key_type().unwrap_or_default(),
            server.host_key_fingerprint().unwrap_or_default(),
            certificate_set_aside(server),
            known_hosts_command_note(s),
        ),
    )
    .fix(format!(
        "only after confirming the new key with the host's owner: ssh-keygen -R {} -f {file}",
        sh_quote(&s.known_hosts_name())
    ))
}

/// The server's host key (or its certificate's CA) is marked `@revoked`.
fn host_key_revoked(s: &HostSettings, server: &crate::probe::client::ServerInfo) -> Finding {
    let fp = server.host_key_fingerprint().unwrap_or_default();
    let what = match &server.host_key_status {
        // The CA that signed the server's host certificate.
        Some(Status::Revoked(e)) if e.fingerprint() != fp => format!(
            "the CA key {} that signed the server's host certificate (for {fp}) is marked \
             @revoked in known_hosts ({}:{})",
            e.fingerprint(),
            display_tilde(&e.path),
            e.line_no
        ),
        Some(Status::Revoked(e)) => format!(
            "the server's host key {fp} is marked @revoked in known_hosts ({}:{})",
            display_tilde(&e.path),
            e.line_no
        ),
        _ => format!("the server's host key {fp} is marked @revoked in known_hosts"),
    };
    let (severity, then) = past_mismatch(s);
    Finding::new("host-key-revoked", severity, format!("{what}: {then}"))
}

fn connection_finding(r: &Report, e: &ConnectFailure) -> Finding {
    let s = &r.settings;
    let t = format!("{}:{}", s.hostname, s.port);
    match e {
        ConnectFailure::Dns(m) => Finding::new(
            "dns-failure",
            Severity::Error,
            format!("cannot resolve {}: {m}", s.hostname),
        )
        .fix(format!(
            "check the host name (and any HostName in ~/.ssh/config) for {}",
            s.alias
        )),
        ConnectFailure::Refused(_) => Finding::new(
            "connection-refused",
            Severity::Error,
            format!("{t} refused the connection: no SSH server listens there"),
        )
        .fix("check the host and port (Port / HostName in ~/.ssh/config)"),
        ConnectFailure::Timeout => Finding::new(
            "connection-timeout",
            Severity::Error,
            format!("{t} did not complete an SSH handshake in time (firewall, proxy, or a server that never speaks)"),
        )
        .fix("check network access to the host (a firewall or a ProxyJump may be needed)"),
        ConnectFailure::Closed(_) | ConnectFailure::Handshake(_) => Finding::new(
            "handshake-failed",
            Severity::Error,
            format!("{t}: {}", describe(e)),
        ),
        ConnectFailure::HostKeyChanged { server } => host_key_changed(s, server),
        ConnectFailure::HostKeyRevoked { server } => host_key_revoked(s, server),
        ConnectFailure::Negotiation {
            what,
            their_offer,
            supported,
            ..
        } => negotiation_finding(r, *what, their_offer, supported),
    }
}

/// ssh and the server have no algorithm in common: ssh's message, and the per-host edit
/// that enables one the server offers (when this ssh supports one), else a manual step.
fn negotiation_finding(
    r: &Report,
    what: crate::probe::negotiate::Category,
    their_offer: &[String],
    supported: &[String],
) -> Finding {
    use crate::probe::negotiate::Category;
    let s = &r.settings;
    let code = match what {
        Category::Kex => "no-matching-kex",
        Category::HostKey => "no-matching-host-key-type",
        Category::Cipher => "no-matching-cipher",
        Category::Mac => "no-matching-mac",
        Category::Compression => "no-matching-compression",
    };
    let f = Finding::new(
        code,
        Severity::Error,
        format!(
            "Unable to negotiate with {} port {}: no matching {} found. Their offer: {} \
             (the server offers only algorithms this ssh no longer enables by default)",
            s.hostname,
            s.port,
            what.words(),
            their_offer.join(",")
        ),
    );
    match (what, supported.first()) {
        (Category::Compression, _) | (_, None) => f.fix(format!(
            "manual: ask the admin of {} to enable a current {} on the server (this ssh supports none of {})",
            s.hostname,
            what.keyword(),
            their_offer.join(",")
        )),
        (_, Some(alg)) => {
            let mut fix = fix_config(s, &format!("--set '{} +{alg}'", what.keyword()));
            // An ssh-rsa host key usually means ssh-rsa user signatures too.
            if what == Category::HostKey && alg == "ssh-rsa" {
                fix.push_str(" --set 'PubkeyAcceptedAlgorithms +ssh-rsa'");
            }
            f.fix(fix)
        }
    }
}

/// Per-key problems found by the plan (no network needed): see [`keys`].
pub fn plan_findings(r: &Report) -> Vec<Finding> {
    keys::plan_findings(r)
}

/// Which key got in, which should have, and why ssh would not get there.
/// `foreign`: plan entries the account check says belong to another account (pinning one
/// would log in as someone else, so they are never the fix).
fn auth_findings(r: &Report, foreign: &[usize]) -> Vec<Finding> {
    let mut out = Vec::new();
    let s = &r.settings;
    let order = verdict::offer_order(r);
    let accepted: Vec<usize> = (0..r.plan.len())
        .filter(|&i| r.verdict(i) == Some(&Verdict::Accepted))
        .filter(|i| order.contains(i) || !foreign.contains(i))
        .collect();

    match &r.outcome {
        Outcome::LoggedIn { key: None, .. } => {
            out.push(Finding::new(
                "authenticated",
                Severity::Ok,
                format!("{} lets {} in without any key", s.hostname, s.user),
            ));
            return out;
        }
        Outcome::LoggedIn {
            key: Some(i),
            prompts,
        } => {
            let id = &r.plan[*i];
            let after = if prompts.is_empty() {
                String::new()
            } else {
                let p: Vec<&str> = prompts
                    .iter()
                    .map(|p| match p {
                        Prompt::ConfirmHostKey => "you confirm the host key",
                        Prompt::Passphrase { .. } => "you enter the key's passphrase",
                    })
                    .collect();
                format!(" (after {})", p.join(" and "))
            };
            let proven =
                matches!(&r.proof, Some(p) if p.index == *i && p.result == Ok(Login::Success));
            out.push(Finding::new(
                "authenticated",
                Severity::Ok,
                format!(
                    "ssh logs in as {} with {} ({}){after}{}",
                    s.user,
                    id.label(),
                    id.fingerprint().unwrap_or_default(),
                    if proven {
                        "; signed login verified"
                    } else {
                        ""
                    }
                ),
            ));
        }
        Outcome::Fails(failure) => out.extend(failure_findings(r, failure, &accepted)),
        Outcome::Unknown { .. } => {}
    }

    // The accepted key ssh uses, and what it tries (and the server refuses) before it.
    if let Some(&best) = order
        .iter()
        .find(|&&i| r.verdict(i) == Some(&Verdict::Accepted))
    {
        let id = &r.plan[best];
        let pos = order.iter().position(|&i| i == best).unwrap_or(0);
        // A certificate comes after its own plain key in ssh's list whatever the config
        // says: that rejection is not a wrong key first.
        let own_key = |i: usize| {
            id.is_certificate()
                && !r.plan[i].is_certificate()
                && r.plan[i].key.as_ref().map(|k| k.key_data())
                    == id.key.as_ref().map(|k| k.key_data())
        };
        let rejected_before: Vec<String> = order[..pos]
            .iter()
            .filter(|&&i| r.verdict(i) == Some(&Verdict::Rejected) && !own_key(i))
            .map(|&i| r.plan[i].label())
            .collect();
        if !rejected_before.is_empty() && r.outcome.logged_in() {
            let mut f = Finding::new(
                "wrong-key-offered-first",
                Severity::Warning,
                format!(
                    "{} is accepted but ssh offers {} first ({} rejected before it; each is a \
                     failed login in the server's log)",
                    id.label(),
                    rejected_before[0],
                    rejected_before.len()
                ),
            );
            if let Some(p) = &id.path {
                f = f.fix(fix_config(
                    s,
                    &format!("-i {}", sh_quote(&display_tilde(p))),
                ));
            }
            out.push(f);
        }
    }
    out
}

/// The findings that explain why ssh fails.
fn failure_findings(r: &Report, failure: &VerdictFailure, accepted: &[usize]) -> Vec<Finding> {
    let s = &r.settings;
    let mut out = Vec::new();
    let pin = |i: usize| {
        r.plan[i]
            .pin_path()
            .map(|p| fix_config(s, &format!("-i {}", sh_quote(&display_tilde(&p)))))
    };
    match failure {
        VerdictFailure::Config
        | VerdictFailure::AgentHangs
        | VerdictFailure::Connect
        | VerdictFailure::Negotiation { .. }
        | VerdictFailure::HostKeyChanged
        | VerdictFailure::HostKeyRevoked
        | VerdictFailure::HostKeyUnknown
        | VerdictFailure::Route { .. }
        | VerdictFailure::SshFails { .. } => {}
        VerdictFailure::NoPublickey => {
            let f = Finding::new(
                "publickey-not-offered",
                Severity::Error,
                if s.pubkey_authentication {
                    format!(
                        "{} does not take public keys for {} (it offers: {}); no key can help",
                        s.hostname,
                        s.user,
                        if r.methods.is_empty() {
                            "nothing".to_string()
                        } else {
                            r.methods.join(",")
                        }
                    )
                } else {
                    format!(
                        "the configuration for {} turns public keys off \
                         (PubkeyAuthentication no, or PreferredAuthentications without publickey)",
                        s.alias
                    )
                },
            );
            out.push(if s.pubkey_authentication {
                f.fix(format!(
                    "manual: ask the admin of {} to enable PubkeyAuthentication for {}",
                    s.hostname, s.user
                ))
            } else {
                f.fix(fix_config(
                    s,
                    "--set 'PubkeyAuthentication yes' --set 'PreferredAuthentications publickey'",
                ))
            });
        }
        VerdictFailure::TooManyAuthFailures {
            accepted_key,
            position,
            limit,
        } => {
            let id = &r.plan[*accepted_key];
            let mut f = Finding::new(
                "too-many-auth-failures",
                Severity::Error,
                format!(
                    "{} is accepted, but it is key #{position} in ssh's offer order and the \
                     server allows {limit} attempts: ssh fails with \"Too many authentication \
                     failures\" before reaching it",
                    id.label()
                ),
            );
            if let Some(fix) = pin(*accepted_key) {
                f = f.fix(fix);
            } else {
                f = f.fix(fix_config(s, "--set 'IdentitiesOnly yes'"));
            }
            out.push(f);
        }
        VerdictFailure::PartialSuccess { key, remaining } => {
            out.push(
                Finding::new(
                    "partial-success",
                    Severity::Error,
                    format!(
                        "{} is accepted, but {} also requires {} (AuthenticationMethods): the key \
                         alone does not log in, and herossh cannot check the rest",
                        r.plan[*key].label(),
                        s.hostname,
                        remaining.join(" or ")
                    ),
                )
                .fix(format!(
                    "manual: complete the second step in an interactive ssh{} {}",
                    config_arg(s),
                    sh_quote(&r.target())
                )),
            );
        }
        VerdictFailure::SignatureFailed { key, why } => {
            let id = &r.plan[*key];
            let code = if id.in_agent {
                "agent-refused-signature"
            } else {
                "signature-rejected"
            };
            let mut f = Finding::new(
                code,
                Severity::Error,
                format!(
                    "the server accepts {} but the signed login failed: {why}",
                    id.label()
                ),
            );
            if id.in_agent {
                f = f.fix(match &id.path {
                    Some(p) => format!(
                        "ssh-add -d {0} && ssh-add {0}",
                        sh_quote(&display_tilde(p))
                    ),
                    None => "manual: unlock or confirm the key in your agent (a hardware key may need a touch)".into(),
                });
            }
            out.push(f);
        }
        VerdictFailure::PassphraseNeeded { key } => {
            let id = &r.plan[*key];
            out.push(
                Finding::new(
                    "passphrase-needed",
                    Severity::Error,
                    format!(
                        "{} is accepted but encrypted, and ssh cannot ask for its passphrase here \
                         (BatchMode or no terminal)",
                        id.label()
                    ),
                )
                .fix(keys::add_to_agent(id)),
            );
        }
        VerdictFailure::NoKeyAccepted => {
            out.extend(no_key_accepted(r, accepted));
        }
    }
    out
}

/// Nothing ssh offers gets it in: a key the server takes that ssh does not offer (pin it),
/// an RSA key ssh cannot sign for this server, or no key at all (add one). A key ssh offers
/// and the server accepts, but that ssh then cannot sign with (a damaged, unprotected or
/// unreadable private file beside its `.pub`), already has its own finding with the fix: "the
/// server accepts none" would be false there, and adding the key to the server again would
/// change nothing.
fn no_key_accepted(r: &Report, accepted: &[usize]) -> Vec<Finding> {
    let s = &r.settings;
    let mut out = Vec::new();
    let order = verdict::offer_order(r);
    let rsa_sig = r.server().and_then(|x| x.rsa_sig);
    // Accepted keys ssh does not send.
    for &i in accepted.iter().filter(|i| !order.contains(i)) {
        let id = &r.plan[i];
        let no_sig = id.key.as_ref().is_some_and(|k| {
            matches!(k.algorithm(), russh::keys::ssh_key::Algorithm::Rsa { .. })
                && verdict::signature_algorithm(
                    &k.algorithm(),
                    rsa_sig,
                    &s.pubkey_accepted_algorithms,
                )
                .is_none()
        });
        if no_sig && id.skipped.is_none_or(SkipReason::still_offered) {
            out.push(
                Finding::new(
                    "no-mutual-signature",
                    Severity::Error,
                    format!(
                        "{} is accepted, but {} only verifies ssh-rsa (SHA-1) signatures, which \
                         this ssh no longer sends (\"no mutual signature algorithm\"): it skips \
                         the key",
                        id.label(),
                        s.hostname
                    ),
                )
                .fix(fix_config(s, "--set 'PubkeyAcceptedAlgorithms +ssh-rsa'")),
            );
        } else if id.skipped.is_none()
            || id.in_agent
            || id.skipped == Some(SkipReason::NotConfigured)
        {
            let why = match id.skipped {
                Some(SkipReason::HiddenByIdentitiesOnly) => {
                    " (it is in the agent, and IdentitiesOnly yes offers only the listed files)"
                }
                Some(SkipReason::NotConfigured) if r.settings.identities_only => {
                    " (no IdentityFile names it, and IdentitiesOnly yes offers only the listed files)"
                }
                Some(SkipReason::NotConfigured) => {
                    " (no IdentityFile names it: ssh reads only the configured files and the \
                     default names ~/.ssh/id_*)"
                }
                _ => "",
            };
            let f = Finding::new(
                "key-not-offered",
                Severity::Error,
                format!(
                    "{} is accepted by {}, but ssh does not offer it for {}{why}",
                    id.label(),
                    s.hostname,
                    s.alias
                ),
            );
            out.push(match id.pin_path() {
                Some(p) => f.fix(fix_config(
                    s,
                    &format!("-i {}", sh_quote(&display_tilde(&p))),
                )),
                None => f.fix(format!(
                    "manual: save the agent key's public half (ssh-add -L) to a file and run {}",
                    fix_config(s, "-i FILE.pub")
                )),
            });
        }
    }
    for &i in &r.sha1_only {
        let id = &r.plan[i];
        out.push(
            Finding::new(
                "server-wants-ssh-rsa",
                Severity::Error,
                format!(
                    "{} takes {} only with ssh-rsa (SHA-1) signatures; ssh signs with SHA-2 (the \
                     server says it supports it) and is refused",
                    s.hostname,
                    id.label()
                ),
            )
            .fix(fix_config(s, "--set 'PubkeyAcceptedAlgorithms ^ssh-rsa'")),
        );
    }
    if !out.is_empty() {
        return out;
    }
    let accepted_but_unsigned = order.iter().any(|&i| {
        accepted.contains(&i)
            && r.plan[i].skipped.is_some()
            && verdict::signing(r, i) == verdict::Signing::No
    });
    if accepted_but_unsigned {
        return out;
    }
    if r.plan.iter().all(|id| id.key.is_none()) {
        out.push(
            Finding::new(
                "no-key-accepted",
                Severity::Error,
                "there is no key to offer: no identity file and no agent key".to_string(),
            )
            .fix("herossh keygen"),
        );
        return out;
    }
    let candidate = order
        .iter()
        .map(|&i| &r.plan[i])
        .chain(r.plan.iter())
        .find(|id| id.path.is_some() && id.key.is_some())
        .and_then(|id| id.path.as_ref())
        .map(|p| sh_quote(&format!("{}.pub", display_tilde(p))));
    let copy_id = |identity: &str| {
        format!(
            "ssh-copy-id{identity}{} -p {} {}@{}",
            match &s.config_file {
                Some(f) => format!(" -F {}", sh_quote(&f.display().to_string())),
                None => String::new(),
            },
            s.port,
            s.user,
            s.alias
        )
    };
    // Only agent keys (no file ssh reads): ssh-copy-id without -i installs the agent's keys;
    // the Platform API needs a file.
    let fix = match candidate {
        Some(c) if targets_platform(s) => format!("herossh keys add {c}"),
        Some(c) => copy_id(&format!(" -i {c}")),
        None if targets_platform(s) => "manual: save the agent key's public half to a file \
                                        (ssh-add -L > FILE.pub) and run herossh keys add FILE.pub"
            .to_string(),
        None => copy_id(""),
    };
    let hint = match r.server().and_then(|x| x.offer.as_ref()) {
        Some(o)
            if !o.host_key.iter().any(|a| a == "ssh-ed25519")
                && order
                    .iter()
                    .any(|&i| r.plan[i].key_type().as_deref() == Some("ssh-ed25519")) =>
        {
            " (the server does not use Ed25519 itself: if it is old, it may not take Ed25519 keys either)"
        }
        _ => "",
    };
    out.push(
        Finding::new(
            "no-key-accepted",
            Severity::Error,
            format!(
                "{} accepts none of the {} key(s) ssh offers for {} (Permission denied (publickey)){hint}",
                s.hostname,
                order.len(),
                s.user
            ),
        )
        .fix(fix),
    );
    if targets_heroku(s) {
        out.push(heroku_ssh_git_ended(&format!(
            "{} denied every key",
            s.hostname
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_and_heroku_hosts() {
        assert_eq!(sh_quote("~/.ssh/id_rsa"), "~/.ssh/id_rsa");
        assert_eq!(sh_quote("/a b/it's"), "'/a b/it'\\''s'");
        assert!(is_heroku_host("heroku.com"));
        assert!(is_heroku_host("ssh.Heroku.com."));
        assert!(!is_heroku_host("notheroku.com"));
    }
}
