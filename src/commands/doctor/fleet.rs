//! Many probes at once on the current-thread runtime: at most `jobs` in flight, each with the
//! per-host timeout, and one deadline for the whole run. Network waits overlap, so a dead
//! host costs one timeout instead of one timeout per host in sequence, and a long inventory
//! cannot run forever. Each probe is the full validate probe (`probe::report::run` and
//! `diagnose::for_report`): a fleet check says exactly what validate says per host.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::commands::validate::block_on;
use crate::diagnose::{self, Finding, account};
use crate::error::Result;
use crate::probe::plan::HostSettings;
use crate::probe::report::{self, ProbeOptions, Report};
use crate::ui::Progress;

/// Probes in flight to one server at most: several aliases often name the same server
/// (github-work, github-personal), and sshd drops new connections beyond its `MaxStartups`
/// (10 unauthenticated by default), which would read as failed handshakes.
const PER_SERVER: usize = 4;

/// One host to probe.
pub struct Job {
    /// Its position in the caller's list (results are matched back by it).
    pub index: usize,
    pub label: String,
    pub settings: HostSettings,
}

/// What became of one probe.
#[derive(Debug, Clone)]
pub enum Outcome {
    Probed {
        report: Box<Report>,
        findings: Vec<Finding>,
    },
    /// The probe could not run at all (a local error, e.g. writing known_hosts).
    Failed(String),
    /// The run's deadline passed before it finished (or started).
    NotChecked,
}

pub struct Done {
    pub index: usize,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub jobs: usize,
    pub timeout: Duration,
    pub deadline: Duration,
    /// ssh would run at a terminal (see [`ProbeOptions::interactive`]).
    pub interactive: bool,
    /// `--allow-exec`: follow routes through a ProxyCommand.
    pub allow_exec: bool,
    /// `--max-extra`: queries about keys ssh would not offer, per host.
    pub max_extra: usize,
}

/// Probe every job; `on_done` sees each result as it finishes (for streaming output).
pub fn run(
    jobs: Vec<Job>,
    limits: Limits,
    progress: &Progress,
    mut on_done: impl FnMut(&Done),
) -> Result<Vec<Done>> {
    block_on(async move {
        let opts = Arc::new(ProbeOptions {
            timeout: limits.timeout,
            interactive: limits.interactive,
            allow_exec: limits.allow_exec,
            max_extra: limits.max_extra,
            ..Default::default()
        });
        let deadline = Instant::now() + limits.deadline;
        let mut queue: VecDeque<Job> = jobs.into();
        let mut set = JoinSet::new();
        let mut running: HashMap<tokio::task::Id, (usize, String, Server)> = HashMap::new();
        let mut order: Vec<tokio::task::Id> = Vec::new();
        let mut done: Vec<Done> = Vec::new();
        let mut unstarted: Vec<usize> = Vec::new();
        loop {
            while set.len() < limits.jobs.max(1) {
                // The next job whose server is not already busy with PER_SERVER probes.
                let busy = |s: &Server| running.values().filter(|r| r.2 == *s).count();
                let Some(pos) = queue.iter().position(|j| busy(&server(j)) < PER_SERVER) else {
                    break;
                };
                let Some(job) = queue.remove(pos) else { break };
                let o = opts.clone();
                let (index, label, srv) = (job.index, job.label.clone(), server(&job));
                let h = set.spawn(async move {
                    let t0 = Instant::now();
                    let outcome = probe_one(job.settings, &o).await;
                    (outcome, t0.elapsed())
                });
                running.insert(h.id(), (index, label, srv));
                order.push(h.id());
            }
            if set.is_empty() {
                break;
            }
            progress.set_pending(&pending(&running, &order));
            match tokio::time::timeout_at(deadline, set.join_next_with_id()).await {
                Ok(Some(res)) => {
                    let (id, outcome, elapsed) = match res {
                        Ok((id, (o, e))) => (id, o, e),
                        Err(e) => (
                            e.id(),
                            Outcome::Failed(format!("the probe failed: {e}")),
                            Duration::ZERO,
                        ),
                    };
                    let Some((index, _, _)) = running.remove(&id) else {
                        continue;
                    };
                    order.retain(|x| *x != id);
                    let d = Done {
                        index,
                        outcome,
                        elapsed,
                    };
                    on_done(&d);
                    done.push(d);
                    progress.advance(&pending(&running, &order));
                }
                Ok(None) => break,
                Err(_) => {
                    set.abort_all();
                    unstarted.extend(running.values().map(|r| r.0));
                    break;
                }
            }
        }
        unstarted.extend(queue.iter().map(|j| j.index));
        unstarted.sort_unstable();
        for index in unstarted {
            let d = Done {
                index,
                outcome: Outcome::NotChecked,
                elapsed: Duration::ZERO,
            };
            on_done(&d);
            done.push(d);
        }
        progress.clear();
        done
    })
}

fn pending(
    running: &HashMap<tokio::task::Id, (usize, String, Server)>,
    order: &[tokio::task::Id],
) -> Vec<String> {
    order
        .iter()
        .filter_map(|id| running.get(id).map(|r| r.1.clone()))
        .collect()
}

/// How many probes in a row a run needs at most (each `jobs` wide, and at most
/// [`PER_SERVER`] at a time to any one server): what the default deadline is scaled by.
pub fn rounds(jobs: &[Job], width: usize) -> usize {
    let mut per: HashMap<Server, usize> = HashMap::new();
    for j in jobs {
        *per.entry(server(j)).or_default() += 1;
    }
    let busiest = per
        .values()
        .map(|n| n.div_ceil(PER_SERVER))
        .max()
        .unwrap_or(0);
    jobs.len().div_ceil(width.max(1)).max(busiest)
}

/// Where a probe connects (ProxyJump/ProxyCommand hosts are the probe's business).
type Server = (String, u16);

fn server(j: &Job) -> Server {
    (j.settings.hostname.to_ascii_lowercase(), j.settings.port)
}

/// The validate probe and its findings for one host. The account cross-check (a blocking
/// API call with its own runtime) runs on the blocking pool, and only for `git@` the
/// platform host.
async fn probe_one(settings: HostSettings, opts: &ProbeOptions) -> Outcome {
    let report = match report::run(settings, opts).await {
        Ok(r) => r,
        Err(e) => return Outcome::Failed(e.message),
    };
    let s = &report.settings;
    // The platform's SSH endpoint logs everyone in as `git`: another user at the same
    // address (a stand-in server in tests, a bastion) is not about the account's keys.
    let platform = account::is_platform_host(&s.alias) || account::is_platform_host(&s.hostname);
    let (report, acct) = if platform && s.user == "git" {
        match tokio::task::spawn_blocking(move || {
            let a = diagnose::account_for(&report);
            (report, a)
        })
        .await
        {
            Ok(pair) => pair,
            Err(e) => return Outcome::Failed(format!("the account check failed: {e}")),
        }
    } else {
        (report, account::AccountKeys::NoCredentials)
    };
    let findings = diagnose::for_report(&report, &acct);
    Outcome::Probed {
        report: Box::new(report),
        findings,
    }
}
