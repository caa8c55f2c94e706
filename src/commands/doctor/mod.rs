//! `herossh doctor`: every local check (credentials tier, agent, `~/.ssh` permissions, git
//! remotes), then every SSH host the user actually uses, probed concurrently, in one report:
//! a summary table and the details of the hosts that fail. `--fix` applies the fixes doctor
//! may run by itself and checks again. Local findings never depend on the network: offline,
//! they all still appear.
//!
//! Layout: `targets` (which hosts), `fleet` (probing them at once), `hints` (the alias the
//! user meant), `remotes` (git remote findings), `fixes` (what `--fix` runs), `report`
//! (rendering). The per-host answer is validate's (`probe::report::run`,
//! `diagnose::for_report`, `validate::to_json`), never a copy of it.

mod fixes;
mod fleet;
mod hints;
mod local;
mod remotes;
mod report;
mod targets;

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use super::Ctx;
use crate::cli::DoctorArgs;
use crate::diagnose::{Finding, Severity, account};
use crate::error::{Error, Kind, Result};
use crate::openssh::Destination;
use crate::platform::Endpoint;
use crate::probe::client::ConnectFailure;
use crate::probe::plan::HostSettings;
use fleet::{Job, Limits, Outcome};
use report::{HostResult, HostState, Run, Section};
use targets::{ConfigIndex, Resolver, Source, Target};

pub fn run(ctx: &Ctx, args: &DoctorArgs) -> Result<()> {
    if args.timeout == 0 {
        return Err(Error::usage("--timeout must be at least 1 second"));
    }
    if args.jobs == 0 {
        return Err(Error::usage("--jobs must be at least 1"));
    }
    if args.deadline == Some(0) {
        return Err(Error::usage("--deadline must be at least 1 second"));
    }
    let explicit = if args.hosts.is_empty() && args.hosts_from.is_none() {
        None
    } else {
        Some(targets::explicit(&args.hosts, args.hosts_from.as_deref())?)
    };
    let before = check(ctx, args, explicit.as_deref(), args.json_lines)?;
    if !args.fix {
        if args.json_lines {
            // Each host was printed as it finished.
        } else if ctx.ui.json {
            ctx.ui.emit_json(&report::document(&before))?;
        } else {
            report::render(&ctx.ui, &before);
        }
        return outcome(&before);
    }
    fix(ctx, args, explicit.as_deref(), before)
}

fn outcome(run: &Run) -> Result<()> {
    if run.counts().0 == 0 {
        Ok(())
    } else {
        Err(Error::reported(Kind::Failed))
    }
}

/// One full pass: local checks, targets, probes.
fn check(ctx: &Ctx, args: &DoctorArgs, explicit: Option<&[Target]>, stream: bool) -> Result<Run> {
    let started = Instant::now();
    let (credentials, logged_in) = local::credential_findings();
    let cwd = std::env::current_dir().unwrap_or_else(|_| crate::paths::home_dir());
    let repo = crate::git::remotes::read(&cwd);
    let index = ConfigIndex::read(args.config.as_deref());
    let (agent, agent_has_keys) = local::agent_findings()?;
    let mut sections = vec![
        Section::new("credentials", "Credentials", credentials),
        Section::new("agent", "SSH agent", agent),
        Section::new(
            "ssh-dir",
            &crate::paths::display_tilde(&crate::paths::ssh_dir()),
            local::ssh_dir_findings(agent_has_keys),
        ),
        Section::new(
            "git-remotes",
            "Git remotes",
            repo.as_ref()
                .map(|r| remotes::findings(r, &index))
                .unwrap_or_default(),
        ),
    ];
    let mut resolver = Resolver::new(args.config.clone(), args.allow_exec);
    let (mut list, notes) = match explicit {
        Some(t) => (t.to_vec(), Vec::new()),
        None => (
            targets::discovered(&index, repo.as_ref()),
            match_only_notes(&index),
        ),
    };
    let heroku = if logged_in {
        Some("credentials")
    } else if repo.as_ref().is_some_and(remotes::has_heroku_remote) {
        Some("a heroku remote")
    } else if heroku_stanza(&list, &mut resolver) {
        Some("a Host stanza for it")
    } else {
        None
    };
    match heroku {
        Some(why) if explicit.is_none() => list.push(Target::new(
            Destination {
                user: Some("git".into()),
                host: account::platform_ssh_host(&Endpoint::from_env()),
                port: None,
            },
            Source::Heroku { why },
        )),
        Some(_) => {}
        // Credentials only matter to someone who uses Heroku: not a warning for anyone else.
        None => local::not_needed(&mut sections[0].findings),
    }
    let mut hosts = merge(list, &mut resolver);
    let mut run = Run {
        sections,
        hosts: Vec::new(),
        notes,
        elapsed: started.elapsed(),
        limits: None,
        deadline_passed: false,
    };
    if args.offline {
        run.sections.push(offline_section(&hosts));
        return Ok(run);
    }
    let (limits, deadline_passed) =
        probe_all(ctx, args, &mut hosts, &index, &mut resolver, stream)?;
    run.hosts = hosts;
    run.limits = Some(limits);
    run.deadline_passed = deadline_passed;
    run.elapsed = started.elapsed();
    Ok(run)
}

fn match_only_notes(index: &ConfigIndex) -> Vec<String> {
    index
        .match_only
        .iter()
        .map(|(name, file, line)| {
            format!(
                "`{name}` appears only in a Match line ({}:{line}), not as a Host alias: not \
                 checked (check it with `herossh doctor {name}`)",
                crate::paths::display_tilde(file)
            )
        })
        .collect()
}

/// `--offline`: the hosts that would have been probed.
fn offline_section(hosts: &[HostResult]) -> Section {
    let names: Vec<String> = hosts.iter().map(|h| h.target.label()).collect();
    Section::new(
        "network",
        "Network",
        vec![Finding::new(
            "offline",
            Severity::Warning,
            format!(
                "network checks skipped (--offline): not probed: {}",
                if names.is_empty() {
                    "no host".to_string()
                } else {
                    names.join(", ")
                }
            ),
        )],
    )
}

/// Probe every resolved host at once; each result (with its hints) lands in `hosts` as it
/// finishes, and is printed at once with `--json-lines`.
fn probe_all(
    ctx: &Ctx,
    args: &DoctorArgs,
    hosts: &mut [HostResult],
    index: &ConfigIndex,
    resolver: &mut Resolver,
    stream: bool,
) -> Result<(Limits, bool)> {
    let jobs: Vec<Job> = hosts
        .iter()
        .enumerate()
        .filter_map(|(i, h)| match &h.state {
            HostState::Pending(settings) => Some(Job {
                index: i,
                label: h.target.label(),
                settings: (**settings).clone(),
            }),
            _ => None,
        })
        .collect();
    let limits = Limits {
        jobs: args.jobs,
        timeout: Duration::from_secs(args.timeout),
        deadline: Duration::from_secs(args.deadline.unwrap_or_else(|| {
            let rounds = fleet::rounds(&jobs, args.jobs) as u64;
            (2 * args.timeout * rounds).max(60)
        })),
        interactive: !args.batch && std::io::stdin().is_terminal(),
        allow_exec: args.allow_exec,
        max_extra: args.max_extra,
    };
    if stream {
        // Hosts that never reach the probe (config errors) are printed first.
        for h in hosts
            .iter()
            .filter(|h| !matches!(h.state, HostState::Pending(_)))
        {
            report::emit_line(&h.to_json())?;
        }
    }
    let progress = ctx.ui.progress(jobs.len() as u64, "hosts");
    let mut write_error = None;
    let done = fleet::run(jobs, limits, &progress, |d| {
        let h = &mut hosts[d.index];
        h.elapsed = d.elapsed;
        h.state = match &d.outcome {
            Outcome::Probed { report, findings } => HostState::Probed {
                report: report.clone(),
                findings: findings.clone(),
            },
            Outcome::Failed(m) => HostState::Failed(m.clone()),
            Outcome::NotChecked => HostState::NotChecked,
        };
        h.hints = host_hints(h, index, resolver);
        if stream
            && write_error.is_none()
            && let Err(e) = report::emit_line(&h.to_json())
        {
            write_error = Some(e);
        }
    })?;
    drop(progress);
    if let Some(e) = write_error {
        return Err(e);
    }
    let deadline_passed = done
        .iter()
        .any(|d| matches!(d.outcome, Outcome::NotChecked));
    Ok((limits, deadline_passed))
}

/// Is one of the targets (an alias of the config, or a host named) the platform's SSH host?
fn heroku_stanza(list: &[Target], resolver: &mut Resolver) -> bool {
    list.iter().any(|t| {
        account::is_platform_host(&t.dest.host)
            || resolver
                .resolve(&t.dest)
                .as_ref()
                .is_ok_and(|r| account::is_platform_host(r.hostname()))
    })
}

/// Resolve every target as ssh would and merge the ones that are the same connection (the
/// same name typed, user and port): an alias that is also a remote is checked once.
fn merge(list: Vec<Target>, resolver: &mut Resolver) -> Vec<HostResult> {
    let config = resolver.config().map(std::path::Path::to_path_buf);
    let mut out: Vec<HostResult> = Vec::new();
    let mut keys: Vec<(String, String, u16)> = Vec::new();
    for t in list {
        let (key, state) = match resolver.resolve(&t.dest) {
            Ok(r) => {
                let mut settings = HostSettings::from_resolved(&t.dest.host, r, &[]);
                settings.config_file = config.clone();
                settings.destination = Some(t.dest.clone());
                (
                    Some((t.dest.host.clone(), r.user().to_string(), r.port())),
                    HostState::Pending(Box::new(settings)),
                )
            }
            Err(f) => (
                None,
                HostState::ConfigError {
                    message: f.message.clone(),
                },
            ),
        };
        let same = match &key {
            Some(k) => keys.iter().position(|x| x == k),
            None => out.iter().position(|h| {
                matches!(h.state, HostState::ConfigError { .. }) && h.target.dest == t.dest
            }),
        };
        match same {
            Some(i) => {
                let existing = &mut out[i].target.sources;
                for s in t.sources {
                    if !existing.contains(&s) {
                        existing.push(s);
                    }
                }
            }
            None => {
                if let Some(k) = key {
                    keys.push(k);
                } else {
                    keys.push((String::new(), String::new(), 0));
                }
                out.push(HostResult::new(t, state));
            }
        }
    }
    out
}

/// The alias hints for a host, once its probe is done.
fn host_hints(h: &HostResult, index: &ConfigIndex, resolver: &mut Resolver) -> Vec<Finding> {
    let mut out = Vec::new();
    let failing = h.verdict() != "ok";
    let aliases = hints::aliases_for_hostname(&h.target, index, resolver);
    if !aliases.is_empty() {
        out.push(hints::use_alias(&h.target, &aliases, failing));
    }
    if let HostState::Probed { report, .. } = &h.state
        && matches!(report.connection, Some(Err(ConnectFailure::Dns(_))))
        && aliases.is_empty()
    {
        let close = hints::close_aliases(&h.target.dest.host, index);
        if !close.is_empty() {
            out.push(hints::did_you_mean(&h.target.dest.host, &close));
        }
    }
    out
}

/// `--fix`: list or apply the runnable fixes, then check again and compare.
fn fix(ctx: &Ctx, args: &DoctorArgs, explicit: Option<&[Target]>, before: Run) -> Result<()> {
    let ui = &ctx.ui;
    let (runs, manual) = fixes::collect(before.all_findings());
    if !ui.json {
        report::render(ui, &before);
        ui.out("");
    }
    let mut results: Vec<(fixes::Fix, &'static str, Option<String>)> = Vec::new();
    if runs.is_empty() {
        if !ui.json {
            ui.out(ui.bold("== Fixes"));
            ui.out(" nothing doctor can fix by itself");
            report::render_manual(ui, &manual);
        }
        if ui.json {
            ui.emit_json(&report::fix_document(&before, None, &results, &manual))?;
        }
        return outcome(&before);
    }
    if !args.yes && !ui.interactive {
        for f in &runs {
            results.push((f.clone(), "not-run", None));
        }
        if ui.json {
            ui.emit_json(&report::fix_document(&before, None, &results, &manual))?;
        } else {
            ui.out(ui.bold("== Fixes doctor would run (nothing changed: no terminal to confirm; -y applies them)"));
            for f in &runs {
                ui.out(format!(" {}", f.display()));
            }
            report::render_manual(ui, &manual);
        }
        return outcome(&before);
    }
    if !ui.json {
        ui.out(ui.bold("== Fixes"));
    }
    for f in &runs {
        let shown = f.display();
        let go = args.yes || crate::ui::confirm(&format!("Run `{shown}`?"), false, "use -y")?;
        if !go {
            results.push((f.clone(), "declined", None));
            ui.out(format!(" - skipped: {shown}"));
            continue;
        }
        ui.out(format!(" $ {shown}"));
        match fixes::apply(f) {
            Ok(()) => results.push((f.clone(), "applied", None)),
            Err(e) => {
                ui.out(format!("   {} {e}", ui.red("failed:")));
                results.push((f.clone(), "failed", Some(e)));
            }
        }
    }
    let after = check(ctx, args, explicit, false)?;
    if ui.json {
        ui.emit_json(&report::fix_document(
            &after,
            Some(&before),
            &results,
            &manual,
        ))?;
    } else {
        report::render_manual(ui, &manual);
        ui.out("");
        ui.out(ui.bold("== After the fixes"));
        report::render(ui, &after);
        report::render_changes(ui, &before, &after);
    }
    outcome(&after)
}
