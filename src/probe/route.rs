//! The route ssh takes to a host: straight there, through `ProxyJump` hosts, or through a
//! `ProxyCommand`, followed the way the installed ssh follows it, so that the probe talks to
//! the server ssh would talk to, or says why it could not (never a direct connection instead).
//!
//! `ProxyJump a,b,c` is, to ssh 9.2 (ssh.c "If ProxyJump option specified"), the command
//! `ssh [-l USER] [-p PORT] [-J a,b] [-F CONFIG] -W '[%h]:%p' c`: the last hop is reached by
//! a second ssh, which resolves `c` with a config pass of its own (its User, Port,
//! IdentityFile, known_hosts...; `-l`/`-p` only when the ProxyJump entry names them) and
//! reaches it through `a,b` in the same way, the first hop of a list going wherever its own
//! config sends it. The probe does the same in-process: each hop is connected through the
//! previous one, its host key checked against its known_hosts like ssh checks it, logged in
//! to with the key ssh would use for it (the same plan, agent and signing code as the target,
//! see [`super::hop`]), and asked for a `direct-tcpip` channel to the next host, which
//! becomes the stream of the next SSH connection. The hop sessions stay alive as long as
//! anything goes through them (each [`Connector`] holds the one before it).
//!
//! `ProxyCommand` runs a program ([`super::proxy_command`]): only with `--allow-exec`.
//! Without it the route is not followed and the report says so (`route-not-followed`).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;

use super::client::{ConnectFailure, Prober};
use super::plan::HostSettings;
use super::proxy_command::{self, ProxyCommand};
use super::report::{ProbeOptions, Report};
use super::transport::{self, Stream};
use super::verdict::{Failure, Outcome};
use super::{hop, settings};
use crate::openssh::Destination;
use crate::openssh::destination::{valid_hostname, valid_ruser};

/// How deep ssh may nest (a hop whose own config jumps again...) before the probe calls it a
/// loop. ssh has no limit: a loop of ProxyJump stanzas starts ssh after ssh until something
/// gives out.
const MAX_DEPTH: usize = 8;

/// One entry of a `ProxyJump` list: `[user@]host[:port]` or `ssh://[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JumpHost {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl JumpHost {
    /// One entry, as ssh's `parse_jump` reads it (`parse_ssh_uri`, else
    /// `parse_user_host_port`: the user before the last `@`, `[addr]` or a name up to the
    /// first `:` or `/`, then a port).
    pub fn parse(s: &str) -> Result<JumpHost, String> {
        let bad = || format!("Invalid ProxyJump \"{s}\"");
        let (user, host, port) = crate::sshconfig::options::parse_hop(s).ok_or_else(bad)?;
        // ssh hands every hop to a second ssh on its command line, which refuses what its
        // own destination may not hold (shell metacharacters, a leading `-`).
        if !valid_hostname(&host) || user.as_deref().is_some_and(|u| !valid_ruser(u)) {
            return Err(bad());
        }
        Ok(JumpHost {
            user,
            host,
            port: u16::try_from(port).ok(),
        })
    }

    /// The hop as the second ssh gets it: `-l USER -p PORT HOST`.
    pub fn destination(&self) -> Destination {
        Destination {
            user: self.user.clone(),
            host: self.host.clone(),
            port: self.port,
        }
    }

    /// `[user@]host[:port]` (`[addr]:port` for an IPv6 address), as `herossh validate` and
    /// `ssh -J` take it.
    pub fn arg(&self) -> String {
        let mut s = String::new();
        if let Some(u) = &self.user {
            s.push_str(u);
            s.push('@');
        }
        match self.port {
            Some(p) if self.host.contains(':') => s.push_str(&format!("[{}]:{p}", self.host)),
            Some(p) => s.push_str(&format!("{}:{p}", self.host)),
            None => s.push_str(&self.host),
        }
        s
    }
}

/// A `ProxyJump` value (`a,b,c`), in the order the hops are connected.
pub fn parse_jumps(s: &str) -> Result<Vec<JumpHost>, String> {
    s.split(',').map(JumpHost::parse).collect()
}

/// A list of hops as `-J` takes it.
pub fn jump_arg(hops: &[JumpHost]) -> String {
    hops.iter().map(JumpHost::arg).collect::<Vec<_>>().join(",")
}

/// How ssh reaches a host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Via {
    Direct,
    ProxyJump {
        /// In connection order.
        hops: Vec<JumpHost>,
    },
    ProxyCommand {
        /// As configured (tokens not expanded).
        command: String,
        /// `ProxyUseFdpass yes`: the command hands back a connected socket.
        fdpass: bool,
    },
}

/// The route `ssh -J JUMP` (when given) or the config (`ProxyJump` wins over a later
/// `ProxyCommand`, as ssh's first-value-wins makes it) sends `s` on.
pub fn via_for(s: &HostSettings, jump: Option<&str>) -> Result<Via, String> {
    if let Some(j) = jump.or_else(|| s.resolved.get("proxyjump")) {
        if j.eq_ignore_ascii_case("none") {
            return Ok(Via::Direct);
        }
        return Ok(Via::ProxyJump {
            hops: parse_jumps(j)?,
        });
    }
    match s.resolved.get("proxycommand") {
        Some(c) if !c.eq_ignore_ascii_case("none") => Ok(Via::ProxyCommand {
            command: c.to_string(),
            fdpass: s.resolved.get("proxyusefdpass") == Some("yes"),
        }),
        _ => Ok(Via::Direct),
    }
}

/// The route as followed: every step in connection order, and where it failed.
#[derive(Debug, Clone)]
pub struct RouteReport {
    pub via: Via,
    /// `-J` as given to validate (repeated in the fixes that run validate again).
    pub jump: Option<String>,
    pub steps: Vec<Step>,
    pub failure: Option<RouteFailure>,
}

/// One step on the way to the target.
#[derive(Debug, Clone)]
pub enum Step {
    Jump(Box<HopStep>),
    Command(CommandStep),
}

/// A jump host: how ssh fares with it, as a full probe report of its own.
#[derive(Debug, Clone)]
pub struct HopStep {
    pub host: JumpHost,
    /// The hops before it on the same ProxyJump line: ssh hands them to the hop's ssh as
    /// `-J` (which then replaces the hop's own ProxyJump/ProxyCommand).
    pub jump: Option<String>,
    pub report: Report,
    /// The channel it was asked to open to the next host.
    pub forward: Option<Forward>,
}

/// A `direct-tcpip` channel a hop was asked for (what `ssh -W host:port` asks for).
#[derive(Debug, Clone, Serialize)]
pub struct Forward {
    pub host: String,
    pub port: u16,
    /// Why the hop refused (its own words), None when it opened.
    pub error: Option<String>,
    /// The hop does not forward at all (`AllowTcpForwarding no`, a `restrict` key, ...).
    pub prohibited: bool,
}

/// A ProxyCommand on the way.
#[derive(Debug, Clone, Serialize)]
pub struct CommandStep {
    /// The host it leads to (as typed).
    pub host: String,
    /// Expanded, as ssh would run it (after `exec `).
    pub command: String,
    /// How many times the probe ran it (0 without `--allow-exec`).
    pub runs: usize,
    /// Exit code (or `signal N`) of the last run, when it ended before the probe did.
    pub status: Option<String>,
    /// What it printed on stderr (the end of it).
    pub stderr: String,
    /// It could not be started.
    pub spawn_error: Option<String>,
}

/// Why ssh does not get through (or why the probe cannot say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "reason")]
pub enum RouteFailure {
    /// A ProxyCommand the probe did not run: it cannot say what ssh does. `allow_exec`:
    /// `--allow-exec` would have run it.
    NotFollowed {
        step: usize,
        why: String,
        allow_exec: bool,
    },
    /// ssh refuses the route itself (a bad ProxyJump entry, a jump host loop, a bad `%`
    /// token in ProxyCommand): `code` is the finding.
    Invalid { code: &'static str, message: String },
    /// ssh refuses the configuration it reads for a jump host.
    HopConfig { host: String, message: String },
    /// A jump host fails as its report says (connection, host key, login).
    Hop { step: usize },
    /// A jump host let us in but did not open the channel to the next host.
    Forward { step: usize },
    /// The ProxyCommand ended before the server spoke.
    Command { step: usize },
}

impl RouteReport {
    /// The direct route, nothing followed.
    pub fn direct() -> RouteReport {
        RouteReport {
            via: Via::Direct,
            jump: None,
            steps: Vec::new(),
            failure: None,
        }
    }

    /// The step's name for people: the hop as written, or `ProxyCommand for HOST`.
    pub fn step_name(&self, i: usize) -> String {
        match self.steps.get(i) {
            Some(Step::Jump(h)) => h.host.arg(),
            Some(Step::Command(c)) => format!("ProxyCommand for {}", c.host),
            None => String::new(),
        }
    }

    /// What the route does to ssh's outcome: None when it gets through.
    pub fn outcome(&self) -> Option<Outcome> {
        let f = self.failure.as_ref()?;
        let fails = |hop: String, cause: &str| {
            Some(Outcome::Fails(Failure::Route {
                hop,
                cause: cause.to_string(),
            }))
        };
        match f {
            RouteFailure::NotFollowed { why, .. } => Some(Outcome::Unknown { why: why.clone() }),
            RouteFailure::Invalid { code, .. } => fails(String::new(), code),
            RouteFailure::HopConfig { host, .. } => fails(host.clone(), "config"),
            RouteFailure::Forward { step } => fails(self.step_name(*step), "forward"),
            RouteFailure::Command { step } => fails(self.step_name(*step), "proxy-command"),
            RouteFailure::Hop { step } => {
                let Some(Step::Jump(h)) = self.steps.get(*step) else {
                    return None;
                };
                match &h.report.outcome {
                    Outcome::Fails(f) => fails(h.host.arg(), hop_reason(f)),
                    Outcome::Unknown { why } => Some(Outcome::Unknown {
                        why: format!("jump host {}: {why}", h.host.arg()),
                    }),
                    Outcome::LoggedIn { .. } => Some(Outcome::Unknown {
                        why: format!(
                            "ssh logs in to the jump host {}, but herossh could not (it would \
                             need a prompt answered)",
                            h.host.arg()
                        ),
                    }),
                }
            }
        }
    }

    /// The route failed before the target for lack of a network path (exit 3, like a host
    /// that cannot be reached).
    pub fn network_failure(&self) -> bool {
        match &self.failure {
            Some(RouteFailure::Forward { step }) => !matches!(
                self.steps.get(*step),
                Some(Step::Jump(h)) if h.forward.as_ref().is_some_and(|f| f.prohibited)
            ),
            Some(RouteFailure::Hop { step }) => matches!(
                self.steps.get(*step),
                Some(Step::Jump(h)) if h.report.outcome == Outcome::Fails(Failure::Connect)
            ),
            _ => false,
        }
    }
}

/// The cause word for a jump host's failure (`Failure::Route::cause`).
pub fn hop_reason(f: &Failure) -> &'static str {
    match f {
        Failure::Config => "config",
        Failure::Connect => "unreachable",
        Failure::Negotiation { .. } => "negotiation",
        Failure::HostKeyChanged => "host-key-changed",
        Failure::HostKeyRevoked => "host-key-revoked",
        Failure::HostKeyUnknown => "host-key-unknown",
        Failure::Route { .. } => "route",
        _ => "denied",
    }
}

/// The way to a host, ready for connections: each call to [`Connector::open`] is one
/// connection ssh would make (a TCP connection, a channel through the last hop, a run of the
/// ProxyCommand).
pub struct Connector {
    link: Link,
    /// A stream already opened to (host, port): the channel the route was checked with.
    spare: Mutex<Option<Spare>>,
}

/// A stream opened ahead of use, and where it goes.
struct Spare {
    host: String,
    port: u16,
    stream: Box<dyn Stream>,
}

enum Link {
    /// DNS and TCP from here, with the addresses of this family only (AddressFamily).
    Direct(transport::Family),
    Jump {
        name: String,
        /// The hop's step in the route.
        step: usize,
        prober: Box<Prober>,
        /// What the hop's own connection goes through: kept alive with it.
        _via: Arc<Connector>,
    },
    Command {
        command: ProxyCommand,
        step: usize,
        /// `ProxyUseFdpass yes`.
        fdpass: bool,
    },
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.link {
            Link::Direct(_) => f.write_str("Connector::Direct"),
            Link::Jump { name, .. } => write!(f, "Connector::Jump({name})"),
            Link::Command { command, .. } => write!(f, "Connector::Command({})", command.command),
        }
    }
}

/// Why a hop did not open a channel.
#[derive(Debug, Clone)]
pub struct ChannelFailure {
    pub prohibited: bool,
    pub message: String,
}

impl Connector {
    fn new(link: Link) -> Arc<Connector> {
        Arc::new(Connector {
            link,
            spare: Mutex::new(None),
        })
    }

    /// Straight to the host (DNS, then TCP) as ssh goes for `s`: only the addresses its
    /// AddressFamily allows.
    pub fn direct_for(s: &HostSettings) -> Arc<Connector> {
        Self::new(Link::Direct(transport::Family::of(s)))
    }

    /// One connection to `host:port` along this route.
    pub async fn open(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Box<dyn Stream>, ConnectFailure> {
        if let Ok(mut spare) = self.spare.lock()
            && spare
                .as_ref()
                .is_some_and(|s| s.host == host && s.port == port)
            && let Some(s) = spare.take()
        {
            return Ok(s.stream);
        }
        match &self.link {
            Link::Direct(family) => Ok(Box::new(
                transport::connect_direct(host, port, *family, timeout).await?,
            )),
            Link::Jump { name, .. } => self
                .channel(host, port, timeout)
                .await
                .map_err(|e| channel_failure(name, host, port, &e)),
            Link::Command {
                command,
                fdpass: false,
                ..
            } => command
                .spawn()
                .map(|s| Box::new(s) as Box<dyn Stream>)
                .map_err(|e| ConnectFailure::Closed(format!("cannot run the ProxyCommand: {e}"))),
            Link::Command {
                command,
                fdpass: true,
                ..
            } => command
                .connect_fdpass(timeout)
                .await
                .map(|s| Box::new(s) as Box<dyn Stream>)
                .map_err(|e| ConnectFailure::Closed(format!("ProxyCommand (ProxyUseFdpass): {e}"))),
        }
    }

    /// A `direct-tcpip` channel through the hop (only for a jump connector).
    async fn channel(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<Box<dyn Stream>, ChannelFailure> {
        let Link::Jump { prober, .. } = &self.link else {
            return Err(ChannelFailure {
                prohibited: false,
                message: "not a jump host".into(),
            });
        };
        match tokio::time::timeout(timeout, prober.open_direct_tcpip(host, port)).await {
            Ok(Ok(ch)) => Ok(Box::new(ch.into_stream())),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ChannelFailure {
                prohibited: false,
                message: "timed out waiting for the channel".into(),
            }),
        }
    }

    /// Open the channel to `host:port` now (kept for the first [`Connector::open`]), so a
    /// hop that cannot reach the next host is found out as the hop's failure.
    async fn check_forward(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<(), ChannelFailure> {
        if !matches!(self.link, Link::Jump { .. }) {
            return Ok(());
        }
        let s = self.channel(host, port, timeout).await?;
        if let Ok(mut spare) = self.spare.lock() {
            *spare = Some(Spare {
                host: host.to_string(),
                port,
                stream: s,
            });
        }
        Ok(())
    }
}

/// A channel refusal as a connection failure (for a later connection through a hop that
/// opened the first channel fine).
fn channel_failure(hop: &str, host: &str, port: u16, e: &ChannelFailure) -> ConnectFailure {
    ConnectFailure::Closed(format!(
        "the jump host {hop} did not open a channel to {host}:{port}: {}",
        e.message
    ))
}

/// The route, followed as far as it goes.
pub struct Established {
    pub report: RouteReport,
    /// How to connect to the target; None when the route failed (the report says why).
    pub connector: Option<Arc<Connector>>,
}

/// The route without following it (`--plan`).
pub fn planned(s: &HostSettings, opts: &ProbeOptions) -> RouteReport {
    match via_for(s, opts.jump.as_deref()) {
        Ok(via) => RouteReport {
            via,
            jump: opts.jump.clone(),
            steps: Vec::new(),
            failure: None,
        },
        Err(message) => RouteReport {
            via: Via::Direct,
            jump: opts.jump.clone(),
            steps: Vec::new(),
            failure: Some(RouteFailure::Invalid {
                code: "proxyjump-invalid",
                message,
            }),
        },
    }
}

/// Follow the route to the target `s` describes: every hop connected, checked and logged in
/// to as ssh would, and a channel open to the target. A proxied target's
/// `NoHostAuthenticationForLocalhost` is cleared (ssh applies it only to a socket it
/// connected itself to a loopback address).
pub async fn establish(s: &mut HostSettings, opts: &ProbeOptions) -> Established {
    let mut report = planned(s, opts);
    if report.failure.is_some() {
        return Established {
            report,
            connector: None,
        };
    }
    if report.via != Via::Direct {
        s.no_host_authentication_for_localhost = false;
    }
    let mut walk = Walk {
        opts,
        config: s.config_file.clone(),
        steps: Vec::new(),
        stack: Vec::new(),
    };
    let reached = walk.reach(s, report.via.clone()).await;
    let reached = match reached {
        Ok(c) => match walk.forward(&c, &s.hostname, s.port).await {
            Ok(()) => Ok(c),
            Err(f) => Err(f),
        },
        Err(f) => Err(f),
    };
    report.steps = walk.steps;
    match reached {
        Ok(c) => Established {
            report,
            connector: Some(c),
        },
        Err(f) => {
            report.failure = Some(f);
            Established {
                report,
                connector: None,
            }
        }
    }
}

/// After the target's connection (`failure`: how it failed): what the target's ProxyCommand
/// did, and whether it is why the connection failed (then it becomes the route's failure and
/// true is returned).
pub async fn finish(
    report: &mut RouteReport,
    connector: &Connector,
    failure: Option<&ConnectFailure>,
) -> bool {
    let Link::Command { command, step, .. } = &connector.link else {
        return false;
    };
    let (info, blamed) = command_outcome(command, failure).await;
    if let Some(Step::Command(c)) = report.steps.get_mut(*step) {
        fill(c, &info);
    }
    if blamed {
        report.failure = Some(RouteFailure::Command { step: *step });
    }
    blamed
}

/// What a ProxyCommand did, and whether the connection through it failed because it ended:
/// the server's side closed (not our timeout, after which the probe hangs it up itself) and
/// the command is gone or could not start.
async fn command_outcome(
    command: &ProxyCommand,
    failure: Option<&ConnectFailure>,
) -> (proxy_command::RunInfo, bool) {
    match failure {
        None | Some(ConnectFailure::Timeout) => (command.info(), false),
        Some(_) => {
            let info = command.settle(Duration::from_secs(1)).await;
            let ended =
                (info.status.is_some() && !info.passed_socket) || info.spawn_error.is_some();
            (info, ended)
        }
    }
}

fn fill(c: &mut CommandStep, info: &proxy_command::RunInfo) {
    c.runs = info.runs;
    c.status = info.status.clone();
    c.stderr = info.stderr.clone();
    c.spawn_error = info.spawn_error.clone();
}

/// State while following a route.
struct Walk<'a> {
    opts: &'a ProbeOptions,
    config: Option<PathBuf>,
    steps: Vec<Step>,
    /// The hops being reached, outermost first (for loops).
    stack: Vec<String>,
}

type Reached<'a> = Pin<Box<dyn Future<Output = Result<Arc<Connector>, RouteFailure>> + Send + 'a>>;

impl Walk<'_> {
    /// A connector to the host `s` describes, going `via`: every step before it followed.
    fn reach<'b>(&'b mut self, s: &'b HostSettings, via: Via) -> Reached<'b> {
        Box::pin(async move {
            match via {
                Via::Direct => Ok(Connector::direct_for(s)),
                Via::ProxyCommand { command, fdpass } => self.command(s, &command, fdpass),
                Via::ProxyJump { hops } => self.jump(s, &hops).await,
            }
        })
    }

    fn command(
        &mut self,
        s: &HostSettings,
        command: &str,
        fdpass: bool,
    ) -> Result<Arc<Connector>, RouteFailure> {
        let expanded =
            proxy_command::expand(command, s).map_err(|message| RouteFailure::Invalid {
                code: "proxy-command-invalid",
                message: format!("ProxyCommand for {}: {message}", s.alias),
            })?;
        let step = self.steps.len();
        self.steps.push(Step::Command(CommandStep {
            host: s.alias.clone(),
            command: expanded.clone(),
            runs: 0,
            status: None,
            stderr: String::new(),
            spawn_error: None,
        }));
        let why = if expanded == "-" {
            Some((
                false,
                format!(
                    "ssh reaches {} through its own stdin and stdout (ProxyCommand -), which only \
                 the program that runs ssh can provide",
                    s.alias
                ),
            ))
        } else if !self.opts.allow_exec {
            Some((
                true,
                format!(
                    "ssh reaches {} by running its ProxyCommand `{expanded}`, and herossh runs the \
                 commands a configuration names only with --allow-exec",
                    s.alias
                ),
            ))
        } else {
            None
        };
        if let Some((allow_exec, why)) = why {
            return Err(RouteFailure::NotFollowed {
                step,
                why,
                allow_exec,
            });
        }
        Ok(Connector::new(Link::Command {
            command: ProxyCommand::new(expanded),
            step,
            fdpass,
        }))
    }

    async fn jump(
        &mut self,
        s: &HostSettings,
        hops: &[JumpHost],
    ) -> Result<Arc<Connector>, RouteFailure> {
        let Some((last, before)) = hops.split_last() else {
            return Ok(Connector::direct_for(s));
        };
        // ssh.c: "jumphost loop via %s".
        if last.host == s.hostname
            && last.port.unwrap_or(22) == s.port
            && last.user.as_deref().unwrap_or(&s.user) == s.user
        {
            return Err(RouteFailure::Invalid {
                code: "jump-host-loop",
                message: format!("jumphost loop via {}", last.host),
            });
        }
        let key = format!("{}|{}", last.arg(), jump_arg(before));
        if self.stack.contains(&key) || self.stack.len() >= MAX_DEPTH {
            let mut chain = self.stack.clone();
            chain.push(key);
            return Err(RouteFailure::Invalid {
                code: "jump-host-loop",
                message: format!(
                    "the jump hosts lead back to themselves: {}",
                    chain
                        .iter()
                        .map(|k| k.split('|').next().unwrap_or_default())
                        .collect::<Vec<_>>()
                        .join(" ← ")
                ),
            });
        }
        let mut hop_settings = settings::resolve(
            &last.destination(),
            self.config.as_deref(),
            self.opts.allow_exec,
            &[],
        )
        .map_err(|e| RouteFailure::HopConfig {
            host: last.arg(),
            message: e.to_string(),
        })?;
        // The hops before it on the line replace its own route (`-J`); the first goes
        // wherever its own config sends it.
        let jump = (!before.is_empty()).then(|| jump_arg(before));
        let via = match &jump {
            Some(_) => Via::ProxyJump {
                hops: before.to_vec(),
            },
            None => via_for(&hop_settings, None).map_err(|message| RouteFailure::Invalid {
                code: "proxyjump-invalid",
                message: format!("{message} (in the configuration of {})", last.host),
            })?,
        };
        if via != Via::Direct {
            hop_settings.no_host_authentication_for_localhost = false;
        }
        self.stack.push(key);
        let prev = self.reach(&hop_settings, via).await;
        self.stack.pop();
        let prev = prev?;
        self.forward(&prev, &hop_settings.hostname, hop_settings.port)
            .await?;

        let (report, prober) = hop::probe(hop_settings, prev.clone(), self.opts).await;
        let failed_connect = match &report.connection {
            Some(Err(e)) => Some(e.clone()),
            _ => None,
        };
        let step = self.steps.len();
        self.steps.push(Step::Jump(Box::new(HopStep {
            host: last.clone(),
            jump,
            report,
            forward: None,
        })));
        match prober {
            Some(prober) => Ok(Connector::new(Link::Jump {
                name: last.arg(),
                step,
                prober: Box::new(prober),
                _via: prev,
            })),
            None => {
                // Through a ProxyCommand that ended first, the command is what failed.
                if let Some(e) = &failed_connect
                    && let Link::Command { command, step, .. } = &prev.link
                {
                    let (info, blamed) = command_outcome(command, Some(e)).await;
                    if let Some(Step::Command(c)) = self.steps.get_mut(*step) {
                        fill(c, &info);
                    }
                    if blamed {
                        return Err(RouteFailure::Command { step: *step });
                    }
                }
                Err(RouteFailure::Hop { step })
            }
        }
    }

    /// Have the last hop (when `via` is one) open the channel to `host:port` now, and record
    /// the answer on its step.
    async fn forward(
        &mut self,
        via: &Connector,
        host: &str,
        port: u16,
    ) -> Result<(), RouteFailure> {
        let Link::Jump { step, .. } = via.link else {
            return Ok(());
        };
        let result = via.check_forward(host, port, self.opts.timeout).await;
        if let Some(Step::Jump(h)) = self.steps.get_mut(step) {
            h.forward = Some(Forward {
                host: host.to_string(),
                port,
                error: result.as_ref().err().map(|e| e.message.clone()),
                prohibited: result.as_ref().is_err_and(|e| e.prohibited),
            });
        }
        result.map_err(|_| RouteFailure::Forward { step })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(user: Option<&str>, host: &str, port: Option<u16>) -> JumpHost {
        JumpHost {
            user: user.map(str::to_string),
            host: host.to_string(),
            port,
        }
    }

    #[test]
    fn jump_entries_parse_like_ssh() {
        assert_eq!(
            JumpHost::parse("bastion").unwrap(),
            j(None, "bastion", None)
        );
        assert_eq!(
            JumpHost::parse("me@bastion:2222").unwrap(),
            j(Some("me"), "bastion", Some(2222))
        );
        // The user is everything before the LAST `@`.
        assert_eq!(
            JumpHost::parse("a@b@host").unwrap(),
            j(Some("a@b"), "host", None)
        );
        assert_eq!(
            JumpHost::parse("u@[::1]:22").unwrap(),
            j(Some("u"), "::1", Some(22))
        );
        assert_eq!(
            JumpHost::parse("[1.2.3.4]:5").unwrap(),
            j(None, "1.2.3.4", Some(5))
        );
        // hpdelim: a port may be a service name; `/` is not a port separator here.
        assert_eq!(
            JumpHost::parse("host:ssh").unwrap(),
            j(None, "host", Some(22))
        );
        assert_eq!(JumpHost::parse("host:").unwrap(), j(None, "host", None));
        assert_eq!(
            JumpHost::parse("ssh://u@h:33").unwrap(),
            j(Some("u"), "h", Some(33))
        );
        for bad in [
            "@h",
            "h:0",
            "h:99999",
            "h:x",
            ":22",
            "[::1",
            "[::1]x",
            "h:1:2",
            "-oops",
            "a;b",
            "u;x@h",
            "host/2200",
            "[::1]/22",
            "a,b",
        ] {
            assert!(JumpHost::parse(bad).is_err(), "{bad}");
        }
        let hops = parse_jumps("a,u@b:2,ssh://c").unwrap();
        assert_eq!(jump_arg(&hops), "a,u@b:2,c");
        assert_eq!(j(None, "::1", Some(2)).arg(), "[::1]:2");
    }
}
