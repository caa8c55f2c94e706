//! The evaluator: what `ssh -G HOST` computes, following OpenSSH 9.x (`readconf.c`,
//! `ssh.c`): files in order, `Host`/`Match` activation, `Include` (conditional, globbed,
//! depth 16), first value wins except for the accumulating keywords, then the defaults and
//! the token expansions `ssh` applies before printing.

use std::collections::{BTreeMap, HashMap};
use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::keywords::{self, Known};
use super::pattern::{self, ListMatch};
use super::syntax::{self, Config, Directive};
use super::tokens::{self, Tokens};
use crate::error::{Error, Result};

/// The local user and host name, looked up once per process: fix-config evaluates hundreds
/// of hosts and each lookup goes through NSS.
fn local_user() -> String {
    static USER: OnceLock<String> = OnceLock::new();
    USER.get_or_init(crate::paths::local_user).clone()
}

fn this_host() -> String {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(crate::paths::hostname).clone()
}

/// OpenSSH's READCONF_MAX_DEPTH.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Where a value came from (`--explain`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

/// A value with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Val {
    pub value: String,
    pub origin: Origin,
}

/// A `LocalForward`/`RemoteForward`/`DynamicForward` after OpenSSH's `parse_forward`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub listen_host: Option<String>,
    pub listen_port: i32,
    pub listen_path: Option<String>,
    pub connect_host: Option<String>,
    pub connect_port: i32,
    pub connect_path: Option<String>,
}

impl Forward {
    fn dynamic(&self) -> bool {
        self.connect_host.as_deref() == Some("socks")
    }

    /// The `ssh -G` rendering (`8080 [localhost]:80`).
    fn render(&self, with_connect: bool) -> String {
        let mut s = match (&self.listen_path, &self.listen_host) {
            (Some(p), _) => p.clone(),
            (None, None) => self.listen_port.to_string(),
            (None, Some(h)) => format!("[{h}]:{}", self.listen_port),
        };
        if with_connect {
            s.push(' ');
            s.push_str(&match (&self.connect_path, &self.connect_host) {
                (Some(p), _) => p.clone(),
                (None, None) => self.connect_port.to_string(),
                (None, Some(h)) => format!("[{h}]:{}", self.connect_port),
            });
        }
        s
    }
}

/// A `Match exec` that was not run (no `--allow-exec`): the answer depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingExec {
    pub command: String,
    pub origin: Origin,
}

/// The options read so far: the first value obtained for each keyword, and the lists.
#[derive(Debug, Default)]
struct Opts {
    single: BTreeMap<&'static str, Val>,
    identity_files: Vec<Val>,
    certificate_files: Vec<Val>,
    local_forwards: Vec<(Forward, Origin)>,
    remote_forwards: Vec<(Forward, Origin)>,
    send_env: Vec<Val>,
    user_known_hosts: Option<(Vec<String>, Origin)>,
    global_known_hosts: Option<(Vec<String>, Origin)>,
    ignore_unknown: Option<String>,
    /// ProxyJump as parsed: (extra hops, user, host, port).
    jump: Option<(Jump, Origin)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Jump {
    extra: Option<String>,
    user: Option<String>,
    host: String,
    port: i32,
}

/// What the caller asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub host: String,
    pub config: Option<PathBuf>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub allow_exec: bool,
    /// Parsed files to use instead of what is on disk: fix-config verifies an edit by
    /// evaluating it before anything is written (see [`prepare`]).
    pub overrides: Vec<(PathBuf, Arc<Prepared>)>,
    /// Files already read, shared between evaluations of many hosts (fix-config compares
    /// every host named in the file; reading and checking each file once keeps that fast).
    pub cache: Option<ParseCache>,
}

/// Prepared files by path.
pub type ParseCache = Arc<Mutex<HashMap<PathBuf, Arc<Prepared>>>>;

/// A parsed file plus what every line means regardless of the host: most lines of a big
/// config do not apply to the host being resolved, and for those only this is needed.
#[derive(Debug)]
pub struct Prepared {
    pub config: Config,
    info: Vec<LineInfo>,
}

#[derive(Debug, Clone)]
enum LineInfo {
    /// Not a directive.
    Skip,
    /// A well-formed `Host` line: only its patterns matter.
    Host,
    /// Match, Include, unknown keywords and malformed Host lines: always evaluated in full.
    Dynamic,
    /// Any other option: its validation outcome, host-independent.
    Checked(Option<String>),
}

/// Check every line of `config` once, as `ssh` does even in blocks that do not apply.
pub fn prepare(path: &Path, config: Config) -> Arc<Prepared> {
    static EMPTY: OnceLock<Request> = OnceLock::new();
    let req = EMPTY.get_or_init(Request::default);
    let mut scratch = Evaluator::new(req, PathBuf::new());
    let flags = Flags {
        user_conf: true,
        never_match: true,
    };
    let info = config
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| match l.directive() {
            None => LineInfo::Skip,
            Some(d) => match keywords::lookup(&d.keyword) {
                Some(Known::Option("host"))
                    if d.args
                        .as_ref()
                        .is_some_and(|a| !a.is_empty() && !a.iter().any(String::is_empty)) =>
                {
                    LineInfo::Host
                }
                None | Some(Known::Option("host" | "match" | "include")) => LineInfo::Dynamic,
                Some(_) => {
                    let mut inactive = false;
                    LineInfo::Checked(
                        scratch
                            .directive(path, i + 1, d, flags, &mut inactive, 0)
                            .err()
                            .map(|e| e.message),
                    )
                }
            },
        })
        .collect();
    Arc::new(Prepared { config, info })
}

impl Request {
    fn override_for(&self, path: &Path) -> Option<Arc<Prepared>> {
        self.overrides
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, c)| c.clone())
    }

    /// The prepared file: an override, a cached one, or the file read now.
    fn load(&self, path: &Path) -> Result<Arc<Prepared>> {
        if let Some(c) = self.override_for(path) {
            return Ok(c);
        }
        if let Some(cache) = &self.cache
            && let Ok(map) = cache.lock()
            && let Some(c) = map.get(path)
        {
            return Ok(c.clone());
        }
        let bytes =
            crate::fsutil::read_limited(path, crate::fsutil::FileKind::SshConfig).map_err(|e| {
                Error::usage(format!(
                    "Can't open user config file {}: {e}",
                    path.display()
                ))
            })?;
        let prepared = prepare(path, syntax::parse(&bytes));
        if let Some(cache) = &self.cache
            && let Ok(mut map) = cache.lock()
        {
            map.insert(path.to_path_buf(), prepared.clone());
        }
        Ok(prepared)
    }
}

struct Evaluator<'a> {
    req: &'a Request,
    opts: Opts,
    final_pass: bool,
    want_final_pass: bool,
    pending_exec: Vec<PendingExec>,
    /// Default config files that exist but cannot be read (see [`Resolved::unreadable`]).
    unreadable: Vec<(PathBuf, String)>,
    /// The chain of files being read, for loop detection.
    stack: Vec<PathBuf>,
    /// Set when an included file failed: reading stops there.
    fatal: Option<Error>,
    local_user: String,
    home: PathBuf,
}

/// File flags, as in readconf.c.
#[derive(Clone, Copy)]
struct Flags {
    user_conf: bool,
    never_match: bool,
}

impl<'a> Evaluator<'a> {
    fn new(req: &'a Request, home: PathBuf) -> Self {
        Evaluator {
            req,
            opts: Opts::default(),
            final_pass: false,
            want_final_pass: false,
            pending_exec: Vec::new(),
            unreadable: Vec::new(),
            stack: Vec::new(),
            fatal: None,
            local_user: local_user(),
            home,
        }
    }

    fn origin(file: &Path, line: usize) -> Origin {
        Origin {
            file: file.to_path_buf(),
            line,
        }
    }

    fn read_file(
        &mut self,
        path: &Path,
        flags: Flags,
        active: &mut bool,
        depth: usize,
    ) -> Result<()> {
        if depth > MAX_INCLUDE_DEPTH {
            return Err(Error::usage(format!(
                "{}: too many recursive configuration includes (more than {MAX_INCLUDE_DEPTH})",
                path.display()
            )));
        }
        if self.stack.iter().any(|p| p == path) {
            let chain: Vec<String> = self
                .stack
                .iter()
                .chain(std::iter::once(&path.to_path_buf()))
                .map(|p| p.display().to_string())
                .collect();
            return Err(Error::usage(format!(
                "Include loop: {}",
                chain.join(" -> ")
            )));
        }
        let parsed = self.req.load(path)?;
        self.stack.push(path.to_path_buf());
        let mut errors = Vec::new();
        for (i, line) in parsed.config.lines.iter().enumerate() {
            let Some(d) = line.directive() else { continue };
            match &parsed.info[i] {
                LineInfo::Checked(err) if !*active => {
                    // Not for this host: only its (host-independent) check matters.
                    if let Some(e) = err {
                        errors.push(e.clone());
                    }
                    continue;
                }
                LineInfo::Skip => continue,
                LineInfo::Host => {
                    if let Some(args) = &d.args {
                        self.host_line(args, flags, active);
                    }
                    continue;
                }
                _ => {}
            }
            if let Err(e) = self.directive(path, i + 1, d, flags, active, depth) {
                errors.push(e.message);
            }
            if let Some(fatal) = self.fatal.take() {
                // An included file failed: ssh's fatal() stops everything at once.
                self.stack.pop();
                return Err(fatal);
            }
        }
        self.stack.pop();
        if !errors.is_empty() {
            errors.push(format!(
                "{}: terminating, {} bad configuration options",
                path.display(),
                errors.len()
            ));
            return Err(Error::usage(errors.join("\n")));
        }
        Ok(())
    }

    fn directive(
        &mut self,
        file: &Path,
        lineno: usize,
        d: &Directive,
        flags: Flags,
        active: &mut bool,
        depth: usize,
    ) -> Result<()> {
        let at = |msg: String| Error::usage(format!("{} line {lineno}: {msg}", file.display()));
        let kw = d.keyword.as_str();
        if d.rest.is_empty() {
            return Err(at(format!("no argument after keyword \"{kw}\"")));
        }
        let canonical = match keywords::lookup(kw) {
            Some(Known::Option(c)) => c,
            Some(Known::Ignored) => return Ok(()),
            None => {
                if let Some(ign) = &self.opts.ignore_unknown
                    && pattern::match_list(kw, ign, true) == ListMatch::Yes
                {
                    return Ok(());
                }
                return Err(Error::usage(format!(
                    "{}: line {lineno}: Bad configuration option: {kw}",
                    file.display()
                )));
            }
        };
        // Match criteria use strdelim in 9.2, everything else argv_split.
        if canonical == "match" {
            let m = self.match_line(&d.rest, file, lineno)?;
            *active = !flags.never_match && m;
            return Ok(());
        }
        let args: &[String] = d
            .args
            .as_deref()
            .ok_or_else(|| at("invalid quotes".to_string()))?;
        // Built only for lines that apply: most lines of a big file do not.
        let origin = || Self::origin(file, lineno);
        let first: &str = args.first().map(String::as_str).unwrap_or("");
        match canonical {
            "host" => {
                if args.iter().any(String::is_empty) {
                    *active = false;
                    return Err(at("keyword host empty argument".into()));
                }
                self.host_line(args, flags, active);
            }
            "include" => {
                for a in args {
                    self.include(a, file, lineno, flags, active, depth)?;
                }
            }
            "identityfile" | "certificatefile" => {
                if *active {
                    let list = if canonical == "identityfile" {
                        &mut self.opts.identity_files
                    } else {
                        &mut self.opts.certificate_files
                    };
                    if !list.iter().any(|v| v.value == first) {
                        list.push(Val {
                            value: first.to_string(),
                            origin: origin(),
                        });
                    }
                }
            }
            "localforward" | "remoteforward" | "dynamicforward" => {
                let remote = canonical == "remoteforward";
                let mut dynamic = canonical == "dynamicforward";
                let spec = if dynamic {
                    first.to_string()
                } else {
                    match args.get(1) {
                        Some(a2) if !a2.is_empty() => format!("{first}:{a2}"),
                        _ if remote => {
                            dynamic = true;
                            first.to_string()
                        }
                        _ => return Err(at("Missing target argument.".into())),
                    }
                };
                let fwd = parse_forward(&spec, dynamic, remote)
                    .ok_or_else(|| at("Bad forwarding specification.".into()))?;
                if *active {
                    let list = if remote {
                        &mut self.opts.remote_forwards
                    } else {
                        &mut self.opts.local_forwards
                    };
                    if !list.iter().any(|(f, _)| *f == fwd) {
                        list.push((fwd, origin()));
                    }
                }
            }
            "sendenv" => {
                for a in args {
                    if let Some(pat) = a.strip_prefix('-') {
                        if *active {
                            self.opts
                                .send_env
                                .retain(|v| !pattern::matches(&v.value, pat));
                        }
                    } else if *active && !self.opts.send_env.iter().any(|v| v.value == *a) {
                        self.opts.send_env.push(Val {
                            value: a.clone(),
                            origin: origin(),
                        });
                    }
                }
            }
            "userknownhostsfile" | "globalknownhostsfile" => {
                let slot = if canonical == "userknownhostsfile" {
                    &mut self.opts.user_known_hosts
                } else {
                    &mut self.opts.global_known_hosts
                };
                if *active && slot.is_none() {
                    *slot = Some((args.to_vec(), origin()));
                }
            }
            "ignoreunknown" => {
                if *active && self.opts.ignore_unknown.is_none() {
                    self.opts.ignore_unknown = Some(first.to_string());
                }
            }
            "proxycommand" | "localcommand" | "remotecommand" | "knownhostscommand" => {
                // The rest of the line, verbatim (quotes and comments included).
                let value = d.rest.trim_start_matches([' ', '\t', '=']).to_string();
                let blocked = canonical == "proxycommand" && self.opts.jump.is_some();
                if *active && !blocked {
                    self.set_single(canonical, value, origin());
                }
            }
            "proxyjump" => {
                let still = *active
                    && !self.opts.single.contains_key("proxycommand")
                    && self.opts.jump.is_none();
                let jump = parse_jump(first)
                    .ok_or_else(|| at(format!("Invalid ProxyJump \"{first}\"")))?;
                if still {
                    self.opts.jump = Some((jump, origin()));
                }
            }
            "connecttimeout" if first.eq_ignore_ascii_case("none") => {
                // "none" is ssh's "unset": a later line may still set a timeout.
            }
            _ => {
                let value = normalize(canonical, args).map_err(at)?;
                if matches!(canonical, "identityagent" | "forwardagent")
                    && !tokens::dollar_ok(&value)
                {
                    return Err(at(format!("Invalid environment expansion {value}.")));
                }
                if *active {
                    self.set_single(canonical, value, origin());
                }
            }
        }
        Ok(())
    }

    /// `Host`: active when a pattern matches the name as typed and no negated one does.
    fn host_line(&self, args: &[String], flags: Flags, active: &mut bool) {
        *active = false;
        if flags.never_match {
            return;
        }
        for a in args {
            let (neg, pat) = match a.strip_prefix('!') {
                Some(p) => (true, p),
                None => (false, a.as_str()),
            };
            if pattern::matches(&self.req.host, pat) {
                if neg {
                    *active = false;
                    return;
                }
                *active = true;
            }
        }
    }

    fn set_single(&mut self, keyword: &'static str, value: String, origin: Origin) {
        self.opts
            .single
            .entry(keyword)
            .or_insert(Val { value, origin });
    }

    fn include(
        &mut self,
        arg: &str,
        file: &Path,
        lineno: usize,
        flags: Flags,
        active: &mut bool,
        depth: usize,
    ) -> Result<()> {
        if arg.starts_with('~') && !flags.user_conf {
            return Err(Error::usage(format!(
                "{} line {lineno}: bad include path {arg}.",
                file.display()
            )));
        }
        let full = if arg.starts_with('/') || arg.starts_with('~') {
            tokens::tilde(arg)
        } else if flags.user_conf {
            format!("{}/.ssh/{arg}", self.home.display())
        } else {
            format!("/etc/ssh/{arg}")
        };
        let oactive = *active;
        for p in glob(&full) {
            let nested = Flags {
                user_conf: flags.user_conf,
                never_match: flags.never_match || !oactive,
            };
            match self.read_file(&p, nested, active, depth + 1) {
                Ok(()) => {}
                Err(e) if e.message.starts_with("Can't open") && !p.exists() => {}
                Err(e) => {
                    self.fatal = Some(e);
                    return Ok(());
                }
            }
            *active = oactive;
        }
        Ok(())
    }

    /// `match_cfg_line`: every criterion must hold.
    fn match_line(&mut self, rest: &str, file: &Path, lineno: usize) -> Result<bool> {
        let at = |msg: String| Error::usage(format!("{} line {lineno}: {msg}", file.display()));
        let words = syntax::strdelim_split(rest).ok_or_else(|| at("invalid quotes".into()))?;
        let host_arg = self.req.host.as_str();
        let host = self.match_host_name();
        let ruser = self
            .opts
            .single
            .get("user")
            .map(|v| v.value.clone())
            .unwrap_or_else(|| self.local_user.clone());
        let mut result = true;
        let mut attributes = 0;
        let mut i = 0;
        while i < words.len() {
            let word = &words[i];
            i += 1;
            if word.starts_with('#') {
                break;
            }
            let (negate, attr) = match word.strip_prefix('!') {
                Some(a) => (true, a.to_ascii_lowercase()),
                None => (false, word.to_ascii_lowercase()),
            };
            if attr == "all" {
                // `all` stands alone, though it may follow canonical/final.
                if attributes > 1 || words.len() - i > 0 && !words[i].starts_with('#') {
                    return Err(at(
                        "'all' cannot be combined with other Match attributes".into()
                    ));
                }
                if negate {
                    result = false;
                }
                break;
            }
            attributes += 1;
            if attr == "canonical" || attr == "final" {
                if attr == "final" {
                    self.want_final_pass = true;
                }
                let r = self.final_pass;
                if r == negate {
                    result = false;
                }
                continue;
            }
            let Some(arg) = words
                .get(i)
                .filter(|a| !a.is_empty() && !a.starts_with('#'))
            else {
                return Err(at(format!("Missing Match criteria for {attr}")));
            };
            i += 1;
            let r = match attr.as_str() {
                "host" => pattern::match_list(&host.to_lowercase(), arg, true) == ListMatch::Yes,
                "originalhost" => {
                    pattern::match_list(&host_arg.to_lowercase(), arg, true) == ListMatch::Yes
                }
                "user" => pattern::match_list(&ruser, arg, false) == ListMatch::Yes,
                "localuser" => pattern::match_list(&self.local_user, arg, false) == ListMatch::Yes,
                "exec" => {
                    if !result {
                        // ssh skips the command when an earlier criterion already failed.
                        continue;
                    }
                    let mut t = Tokens::new();
                    let port = self.current_port();
                    let thishost = this_host();
                    t.set('C', conn_hash(&thishost, &host, &port.to_string(), &ruser));
                    t.set('L', thishost.split('.').next().unwrap_or("").to_string());
                    t.set('d', self.home.display().to_string());
                    t.set('h', host.clone());
                    t.set('l', thishost.clone());
                    t.set('n', host_arg.to_string());
                    t.set('p', port.to_string());
                    t.set('r', ruser.clone());
                    t.set('u', self.local_user.clone());
                    t.set('i', unsafe { libc::getuid() }.to_string());
                    let cmd = t.percent(arg, None).map_err(|e| at(e.message))?;
                    if self.req.allow_exec {
                        run_exec(&cmd)
                    } else {
                        self.pending_exec.push(PendingExec {
                            command: cmd,
                            origin: Self::origin(file, lineno),
                        });
                        false
                    }
                }
                other => return Err(at(format!("Unsupported Match attribute {other}"))),
            };
            if r == negate {
                result = false;
            }
        }
        if attributes == 0
            && !words
                .iter()
                .any(|w| w.eq_ignore_ascii_case("all") || w.eq_ignore_ascii_case("!all"))
        {
            return Err(at("One or more attributes required for Match".into()));
        }
        Ok(result)
    }

    /// The name `Match host` compares: the HostName (with `%h`) once set, else the alias.
    fn match_host_name(&self) -> String {
        match self.opts.single.get("hostname") {
            Some(v) if !self.final_pass => v
                .value
                .replace("%%", "\u{1}")
                .replace("%h", &self.req.host)
                .replace('\u{1}', "%"),
            Some(v) => v.value.clone(),
            None => self.req.host.clone(),
        }
    }

    fn current_port(&self) -> u16 {
        self.opts
            .single
            .get("port")
            .and_then(|v| v.value.parse().ok())
            .unwrap_or(22)
    }
}

/// Run a `Match exec` command the way ssh does (`$SHELL -c`, stdin and stdout on /dev/null):
/// true when it exits 0.
fn run_exec(cmd: &str) -> bool {
    let shell = std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    std::process::Command::new(shell)
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// `%C`: SHA-1 of local host, remote host, port and remote user, as ssh computes it.
pub fn conn_hash(thishost: &str, host: &str, port: &str, user: &str) -> String {
    use sha1::{Digest, Sha1};
    let mut h = Sha1::new();
    h.update(thishost.as_bytes());
    h.update(host.as_bytes());
    h.update(port.as_bytes());
    h.update(user.as_bytes());
    let mut hex = String::with_capacity(40);
    for b in h.finalize() {
        hex.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    hex
}

/// glob(3) as OpenSSH calls it for Include: sorted matches; no match gives nothing.
pub(crate) fn glob(pattern: &str) -> Vec<PathBuf> {
    let Ok(c) = CString::new(pattern) else {
        return Vec::new();
    };
    let mut g: libc::glob_t = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated string and `g` a zeroed glob_t owned here,
    // released with globfree on every path.
    let rc = unsafe { libc::glob(c.as_ptr(), 0, None, &mut g) };
    let mut out = Vec::new();
    if rc == 0 {
        for i in 0..g.gl_pathc {
            // SAFETY: glob filled gl_pathv with gl_pathc valid C strings.
            let p = unsafe { CStr::from_ptr(*g.gl_pathv.add(i)) };
            out.push(PathBuf::from(p.to_string_lossy().into_owned()));
        }
    }
    unsafe { libc::globfree(&mut g) };
    out
}

/// OpenSSH's multistate tables: accepted words → the word `ssh -G` prints for them.
fn multistate(keyword: &str, arg: &str) -> Option<Option<&'static str>> {
    let a = arg.to_ascii_lowercase();
    let table: &[(&str, &str)] = match keyword {
        "batchmode"
        | "identitiesonly"
        | "hashknownhosts"
        | "passwordauthentication"
        | "kbdinteractiveauthentication"
        | "compression"
        | "tcpkeepalive"
        | "checkhostip"
        | "forwardx11"
        | "exitonforwardfailure"
        | "gatewayports"
        | "visualhostkey"
        | "permitlocalcommand"
        | "proxyusefdpass"
        | "stdinnull"
        | "forkafterauthentication"
        | "enablesshkeysign"
        | "clearallforwardings"
        | "hostbasedauthentication"
        | "nohostauthenticationforlocalhost"
        | "forwardx11trusted"
        | "streamlocalbindunlink"
        | "canonicalizefallbacklocal"
        | "enableescapecommandline"
        | "gssapiauthentication"
        | "gssapidelegatecredentials" => &[
            ("true", "yes"),
            ("false", "no"),
            ("yes", "yes"),
            ("no", "no"),
        ],
        "pubkeyauthentication" => &[
            ("true", "true"),
            ("false", "false"),
            ("yes", "true"),
            ("no", "false"),
            ("unbound", "unbound"),
            ("host-bound", "host-bound"),
        ],
        "stricthostkeychecking" => &[
            ("true", "true"),
            ("false", "false"),
            ("yes", "true"),
            ("no", "false"),
            ("ask", "ask"),
            ("off", "false"),
            ("accept-new", "accept-new"),
        ],
        "controlmaster" => &[
            ("true", "true"),
            ("yes", "true"),
            ("false", "false"),
            ("no", "false"),
            ("auto", "auto"),
            ("ask", "ask"),
            ("autoask", "autoask"),
        ],
        "requesttty" => &[
            ("true", "true"),
            ("false", "false"),
            ("yes", "true"),
            ("no", "false"),
            ("force", "force"),
            ("auto", "auto"),
        ],
        _ => return None,
    };
    Some(table.iter().find(|(k, _)| *k == a).map(|(_, v)| *v))
}

/// `convtime`: `90`, `10m`, `1h30m`... in seconds.
fn convtime(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            if chars.peek().is_none() {
                total = total.checked_add(num.parse::<i64>().ok()?)?;
                num.clear();
            }
            continue;
        }
        let mult = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            'w' => 604800,
            _ => return None,
        };
        if num.is_empty() {
            return None;
        }
        total = total.checked_add(num.parse::<i64>().ok()?.checked_mul(mult)?)?;
        num.clear();
    }
    if total > i32::MAX as i64 {
        return None;
    }
    Some(total)
}

/// Validate a single-valued keyword's argument and turn it into what `ssh -G` prints.
/// Keywords herossh does not interpret keep their first argument.
fn normalize(keyword: &str, args: &[String]) -> std::result::Result<String, String> {
    let first = args.first().map(String::as_str).unwrap_or("");
    if let Some(found) = multistate(keyword, first) {
        return found
            .map(str::to_string)
            .ok_or_else(|| format!("unsupported option \"{first}\"."));
    }
    match keyword {
        "port" => match first.parse::<u16>() {
            Ok(p) if p > 0 => Ok(p.to_string()),
            _ => Err("Badly formatted port number.".into()),
        },
        "connecttimeout" | "serveraliveinterval" => convtime(first)
            .map(|t| t.to_string())
            .ok_or_else(|| "invalid time value.".into()),
        "loglevel" => {
            let l = first.to_ascii_uppercase();
            match l.as_str() {
                "QUIET" | "FATAL" | "ERROR" | "INFO" | "VERBOSE" | "DEBUG2" | "DEBUG3" => Ok(l),
                "DEBUG" | "DEBUG1" => Ok("DEBUG".into()),
                _ => Err(format!("unsupported log level '{first}'")),
            }
        }
        "addkeystoagent" => {
            let table = [
                ("true", "yes"),
                ("false", "false"),
                ("yes", "yes"),
                ("no", "false"),
                ("ask", "ask"),
                ("confirm", "confirm"),
            ];
            let word = table
                .iter()
                .find(|(k, _)| first.eq_ignore_ascii_case(k))
                .map(|(_, v)| *v);
            let second = args.get(1);
            match (word, second) {
                (Some("confirm"), Some(t)) => convtime(t)
                    .map(|t| format!("confirm {t}"))
                    .ok_or_else(|| format!("invalid time value \"{t}\".")),
                (Some(w), None) => Ok(if w == "yes" { "true" } else { w }.to_string()),
                (None, None) => convtime(first)
                    .map(|t| t.to_string())
                    .ok_or_else(|| format!("invalid time value \"{first}\".")),
                _ => Err("unsupported option".into()),
            }
        }
        "forwardagent" => Ok(match multistate("batchmode", first) {
            Some(Some(w)) => w.to_string(),
            _ => first.to_string(),
        }),
        _ => Ok(first.to_string()),
    }
}

/// `a2port`: 1..=65535 (0 is valid syntax for remote forwards), else -1.
fn a2port(s: &str) -> i32 {
    s.parse::<u16>().map(i32::from).unwrap_or(-1)
}

/// `parse_forward` for the `[listen_host:]port:host:hostport` and socket-path forms.
fn parse_forward(spec: &str, dynamic: bool, remote: bool) -> Option<Forward> {
    let mut fields: Vec<(String, bool)> = Vec::new();
    let b: Vec<char> = spec.trim_start().chars().collect();
    let mut i = 0;
    while i < b.len() && fields.len() < 4 {
        if b[i] == '[' {
            let mut j = i + 1;
            let mut is_path = false;
            while j < b.len() && b[j] != ']' {
                if b[j] == '/' {
                    is_path = true;
                }
                j += 1;
            }
            if j >= b.len() || (j + 1 < b.len() && b[j + 1] != ':') {
                return None;
            }
            fields.push((b[i + 1..j].iter().collect(), is_path));
            i = j + 2;
            continue;
        }
        let mut arg = String::new();
        let mut is_path = false;
        while i < b.len() {
            match b[i] {
                '\\' => {
                    i += 1;
                    arg.push(*b.get(i)?);
                }
                '/' => {
                    is_path = true;
                    arg.push('/');
                }
                ':' => {
                    i += 1;
                    break;
                }
                c => arg.push(c),
            }
            i += 1;
        }
        fields.push((arg, is_path));
    }
    if i < b.len() {
        return None;
    }
    let mut f = Forward {
        listen_host: None,
        listen_port: 0,
        listen_path: None,
        connect_host: None,
        connect_port: 0,
        connect_path: None,
    };
    const STREAMLOCAL: i32 = -2;
    match fields.len() {
        1 => {
            if fields[0].1 {
                f.listen_path = Some(fields[0].0.clone());
                f.listen_port = STREAMLOCAL;
            } else {
                f.listen_port = a2port(&fields[0].0);
            }
            f.connect_host = Some("socks".into());
        }
        2 => {
            if fields[0].1 && fields[1].1 {
                f.listen_path = Some(fields[0].0.clone());
                f.listen_port = STREAMLOCAL;
                f.connect_path = Some(fields[1].0.clone());
                f.connect_port = STREAMLOCAL;
            } else if fields[1].1 {
                f.listen_port = a2port(&fields[0].0);
                f.connect_path = Some(fields[1].0.clone());
                f.connect_port = STREAMLOCAL;
            } else {
                f.listen_host = Some(fields[0].0.clone());
                f.listen_port = a2port(&fields[1].0);
                f.connect_host = Some("socks".into());
            }
        }
        3 => {
            if fields[0].1 {
                f.listen_path = Some(fields[0].0.clone());
                f.listen_port = STREAMLOCAL;
                f.connect_host = Some(fields[1].0.clone());
                f.connect_port = a2port(&fields[2].0);
            } else if fields[2].1 {
                f.listen_host = Some(fields[0].0.clone());
                f.listen_port = a2port(&fields[1].0);
                f.connect_path = Some(fields[2].0.clone());
                f.connect_port = STREAMLOCAL;
            } else {
                f.listen_port = a2port(&fields[0].0);
                f.connect_host = Some(fields[1].0.clone());
                f.connect_port = a2port(&fields[2].0);
            }
        }
        4 => {
            f.listen_host = Some(fields[0].0.clone());
            f.listen_port = a2port(&fields[1].0);
            f.connect_host = Some(fields[2].0.clone());
            f.connect_port = a2port(&fields[3].0);
        }
        _ => return None,
    }
    if dynamic {
        if !(fields.len() == 1 || fields.len() == 2) {
            return None;
        }
    } else {
        if !(fields.len() == 3 || fields.len() == 4)
            && f.connect_path.is_none()
            && f.listen_path.is_none()
        {
            return None;
        }
        if f.connect_port <= 0 && f.connect_path.is_none() {
            return None;
        }
    }
    if (f.listen_port < 0 && f.listen_path.is_none()) || (!remote && f.listen_port == 0) {
        return None;
    }
    Some(f)
}

/// `parse_jump`: `[user@]host[:port]` hops separated by commas; the last hop is the one
/// connected to first, the rest is kept as "extra".
fn parse_jump(s: &str) -> Option<Jump> {
    let s = s.split('#').next().unwrap_or("").trim_end();
    if s.eq_ignore_ascii_case("none") {
        return Some(Jump {
            extra: None,
            user: None,
            host: "none".into(),
            port: 0,
        });
    }
    let (extra, last) = match s.rfind(',') {
        Some(i) => (Some(&s[..i]), &s[i + 1..]),
        None => (None, s),
    };
    if let Some(extra) = extra {
        for hop in extra.split(',') {
            parse_user_host_port(hop)?;
        }
    }
    let (user, host, port) = parse_user_host_port(last)?;
    Some(Jump {
        extra: extra.filter(|e| !e.is_empty()).map(str::to_string),
        user,
        host,
        port,
    })
}

fn parse_user_host_port(s: &str) -> Option<(Option<String>, String, i32)> {
    let s = s.strip_prefix("ssh://").unwrap_or(s);
    let (user, hp) = match s.rfind('@') {
        Some(i) => (Some(s[..i].to_string()), &s[i + 1..]),
        None => (None, s),
    };
    let (host, port) = if let Some(rest) = hp.strip_prefix('[') {
        let end = rest.find(']')?;
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return None,
        };
        (rest[..end].to_string(), port)
    } else {
        match hp.split_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hp.to_string(), None),
        }
    };
    if host.is_empty() {
        return None;
    }
    let port = match port {
        Some(p) => {
            let n = a2port(p);
            if n <= 0 {
                return None;
            }
            n
        }
        None => -1,
    };
    Some((user, host, port))
}

/// The result of resolving a host: the values `ssh -G` would print, with their origins.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub host_arg: String,
    pub(crate) hostname: String,
    pub(crate) user: String,
    pub(crate) port: u16,
    /// Every printed line: keyword, value, origin (None for a default).
    pub(crate) lines: Vec<(&'static str, String, Option<Origin>)>,
    pub(crate) identity_files: Vec<Val>,
    pub(crate) certificate_files: Vec<Val>,
    pub(crate) tokens: Tokens,
    /// `Match exec` commands not run: the answer may be different when they succeed.
    pub pending_exec: Vec<PendingExec>,
    /// `~/.ssh/config` or `/etc/ssh/ssh_config` present but unreadable (a directory, a symlink
    /// loop, no permission), with the reason. ssh skips such a file without a word (readconf.c
    /// ignores a failed fopen or read), so the answer skips it too; callers warn about it.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// OpenSSH 9.x's default identity files, in the order `ssh` tries them.
pub const DEFAULT_IDENTITY_FILES: &[&str] = &[
    "~/.ssh/id_rsa",
    "~/.ssh/id_ecdsa",
    "~/.ssh/id_ecdsa_sk",
    "~/.ssh/id_ed25519",
    "~/.ssh/id_ed25519_sk",
    "~/.ssh/id_xmss",
    "~/.ssh/id_dsa",
];

/// The keywords herossh prints, in `ssh -G`'s order.
pub const PRINTED: &[&str] = &[
    "host",
    "user",
    "hostname",
    "port",
    "batchmode",
    "controlmaster",
    "hashknownhosts",
    "identitiesonly",
    "passwordauthentication",
    "pubkeyauthentication",
    "requesttty",
    "stricthostkeychecking",
    "serveraliveinterval",
    "controlpath",
    "hostkeyalias",
    "identityagent",
    "loglevel",
    "preferredauthentications",
    "pubkeyacceptedalgorithms",
    "dynamicforward",
    "localforward",
    "remoteforward",
    "identityfile",
    "certificatefile",
    "globalknownhostsfile",
    "userknownhostsfile",
    "sendenv",
    "addkeystoagent",
    "forwardagent",
    "connecttimeout",
    "proxycommand",
    "proxyjump",
];

/// ssh refuses command-line host names with shell metacharacters (CVE-2023-51385 fix).
pub(crate) fn valid_hostname(s: &str) -> bool {
    !s.starts_with('-')
        && !s
            .chars()
            .any(|c| "'`\"$\\;&<>|(){}".contains(c) || c.is_whitespace() || c.is_control())
}

pub(crate) enum Readability {
    Readable,
    Absent,
    Unreadable(String),
}

/// Whether a default config file can be read: absent (also a dangling symlink) is normal,
/// anything else that stops `open` or `read` is worth a warning.
pub(crate) fn readability(path: &Path) -> Readability {
    match crate::fsutil::open_nonblocking(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Readability::Absent,
        Err(e) => Readability::Unreadable(e.to_string()),
        Ok(f) => match f.metadata() {
            Ok(md) if md.is_dir() => Readability::Unreadable("it is a directory".into()),
            Ok(_) => Readability::Readable,
            Err(e) => Readability::Unreadable(e.to_string()),
        },
    }
}

pub fn evaluate(req: &Request) -> Result<Resolved> {
    if !valid_hostname(&req.host) {
        return Err(Error::usage(format!(
            "hostname contains invalid characters: {:?}",
            req.host
        )));
    }
    let home = crate::paths::home_dir();
    let mut ev = Evaluator::new(req, home.clone());
    let cmdline = Origin {
        file: PathBuf::from("(command line)"),
        line: 0,
    };
    if let Some(u) = &req.user {
        ev.set_single("user", u.clone(), cmdline.clone());
    }
    if let Some(p) = req.port {
        ev.set_single("port", p.to_string(), cmdline);
    }
    let files: Vec<(PathBuf, bool, bool)> = match &req.config {
        Some(p) if p.as_os_str() == "none" => Vec::new(),
        Some(p) => vec![(p.clone(), true, true)],
        None => vec![
            (home.join(".ssh/config"), true, false),
            (PathBuf::from("/etc/ssh/ssh_config"), false, false),
        ],
    };
    let run_pass = |ev: &mut Evaluator| -> Result<()> {
        for (path, user_conf, required) in &files {
            if !required && ev.req.override_for(path).is_none() {
                match readability(path) {
                    Readability::Readable => {}
                    Readability::Absent => continue,
                    Readability::Unreadable(why) => {
                        if !ev.unreadable.iter().any(|(p, _)| p == path) {
                            ev.unreadable.push((path.clone(), why));
                        }
                        continue;
                    }
                }
            }
            let mut active = true;
            let flags = Flags {
                user_conf: *user_conf,
                never_match: false,
            };
            ev.read_file(path, flags, &mut active, 0)?;
        }
        Ok(())
    };
    run_pass(&mut ev)?;
    // ssh lower-cases the HostName (after %h) and re-reads the files when asked to.
    let hostname = match ev.opts.single.get("hostname") {
        Some(v) => {
            let mut t = Tokens::new();
            t.set('h', req.host.clone());
            t.percent(&v.value, Some("h"))?.to_lowercase()
        }
        None => req.host.to_lowercase(),
    };
    let canon = ev
        .opts
        .single
        .get("canonicalizehostname")
        .is_some_and(|v| !matches!(v.value.to_ascii_lowercase().as_str(), "no" | "false"));
    if canon || ev.want_final_pass {
        let origin = ev
            .opts
            .single
            .get("hostname")
            .map(|v| v.origin.clone())
            .unwrap_or(Origin {
                file: PathBuf::from("(default)"),
                line: 0,
            });
        ev.opts.single.insert(
            "hostname",
            Val {
                value: hostname.clone(),
                origin,
            },
        );
        ev.final_pass = true;
        ev.pending_exec.clear();
        run_pass(&mut ev)?;
    }
    finish(ev, hostname, &home)
}

fn finish(ev: Evaluator, hostname: String, home: &Path) -> Result<Resolved> {
    let o = ev.opts;
    let get = |k: &str| o.single.get(k);
    let user = get("user")
        .map(|v| v.value.clone())
        .unwrap_or_else(|| ev.local_user.clone());
    let port: u16 = get("port").and_then(|v| v.value.parse().ok()).unwrap_or(22);
    let thishost = this_host();
    let mut t = Tokens::new();
    t.set(
        'C',
        conn_hash(&thishost, &hostname, &port.to_string(), &user),
    );
    t.set('L', thishost.split('.').next().unwrap_or("").to_string());
    t.set('i', unsafe { libc::getuid() }.to_string());
    t.set(
        'k',
        get("hostkeyalias")
            .map(|v| v.value.clone())
            .unwrap_or_else(|| hostname.clone()),
    );
    t.set('l', thishost);
    t.set('n', ev.req.host.clone());
    t.set('p', port.to_string());
    t.set('d', home.display().to_string());
    t.set('h', hostname.clone());
    t.set('r', user.clone());
    t.set('u', ev.local_user.clone());
    // Tilde, then %tokens and ${ENV}: what ssh.c does to these before `-G` prints them.
    let expand =
        |s: &str| -> Result<String> { tokens::dollar(&t.percent(&tokens::tilde(s), None)?) };

    let mut lines: Vec<(&'static str, String, Option<Origin>)> = Vec::new();
    let mut push = |k: &'static str, v: String, o: Option<&Origin>| lines.push((k, v, o.cloned()));
    let defaults: &[(&str, &str)] = &[
        ("batchmode", "no"),
        ("controlmaster", "false"),
        ("hashknownhosts", "no"),
        ("identitiesonly", "no"),
        ("passwordauthentication", "yes"),
        ("pubkeyauthentication", "true"),
        ("requesttty", "auto"),
        ("stricthostkeychecking", "ask"),
        ("serveraliveinterval", "0"),
        ("loglevel", "INFO"),
        ("addkeystoagent", "false"),
        ("forwardagent", "no"),
    ];
    for &k in PRINTED {
        match k {
            "host" => push(k, ev.req.host.clone(), None),
            "user" => push(k, user.clone(), get("user").map(|v| &v.origin)),
            "hostname" => push(k, hostname.clone(), get("hostname").map(|v| &v.origin)),
            "port" => push(k, port.to_string(), get("port").map(|v| &v.origin)),
            "controlpath" | "identityagent" => {
                if let Some(v) = get(k)
                    && !(k == "controlpath" && v.value == "none")
                {
                    push(k, expand(&v.value)?, Some(&v.origin));
                }
            }
            "forwardagent" => match get(k) {
                Some(v) if v.value == "yes" || v.value == "no" => {
                    push(k, v.value.clone(), Some(&v.origin))
                }
                Some(v) => push(k, expand(&v.value)?, Some(&v.origin)),
                None => push(k, "no".into(), None),
            },
            "connecttimeout" => match get(k) {
                Some(v) => push(k, v.value.clone(), Some(&v.origin)),
                None => push(k, "none".into(), None),
            },
            "pubkeyacceptedalgorithms" if get(k).is_some() => {
                if let Some(v) = get(k) {
                    push(k, super::algorithms::assemble(&v.value), Some(&v.origin));
                }
            }
            "dynamicforward" | "localforward" => {
                for (f, origin) in &o.local_forwards {
                    // ssh -G's own filter: a forward without a connect host (socket to
                    // socket) is printed under both keywords.
                    let shown = if k == "dynamicforward" {
                        f.connect_host.is_none() || f.dynamic()
                    } else {
                        !f.dynamic()
                    };
                    if shown {
                        let mut f = f.clone();
                        if let Some(p) = &f.listen_path {
                            f.listen_path = Some(t.percent(&tokens::tilde(p), None)?);
                        }
                        if let Some(p) = &f.connect_path {
                            f.connect_path = Some(t.percent(&tokens::tilde(p), None)?);
                        }
                        push(k, f.render(k == "localforward"), Some(origin));
                    }
                }
            }
            "remoteforward" => {
                for (f, origin) in &o.remote_forwards {
                    let mut f = f.clone();
                    if let Some(p) = &f.listen_path {
                        f.listen_path = Some(t.percent(&tokens::tilde(p), None)?);
                    }
                    if let Some(p) = &f.connect_path {
                        f.connect_path = Some(t.percent(&tokens::tilde(p), None)?);
                    }
                    push(k, f.render(true), Some(origin));
                }
            }
            "identityfile" => {
                if o.identity_files.is_empty() {
                    for d in DEFAULT_IDENTITY_FILES {
                        push(k, d.to_string(), None);
                    }
                }
                for v in &o.identity_files {
                    push(k, v.value.clone(), Some(&v.origin));
                }
            }
            "certificatefile" => {
                for v in &o.certificate_files {
                    push(k, v.value.clone(), Some(&v.origin));
                }
            }
            "userknownhostsfile" => match &o.user_known_hosts {
                Some((list, origin)) => {
                    let files: Result<Vec<String>> = list.iter().map(|f| expand(f)).collect();
                    push(k, files?.join(" "), Some(origin));
                }
                None => push(
                    k,
                    format!("{0}/.ssh/known_hosts {0}/.ssh/known_hosts2", home.display()),
                    None,
                ),
            },
            "globalknownhostsfile" => match &o.global_known_hosts {
                Some((list, origin)) => push(k, list.join(" "), Some(origin)),
                None => push(
                    k,
                    "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2".into(),
                    None,
                ),
            },
            "sendenv" => {
                for v in &o.send_env {
                    push(k, v.value.clone(), Some(&v.origin));
                }
            }
            "proxycommand" => {
                if o.jump.is_none()
                    && let Some(v) = get(k)
                    && v.value != "none"
                {
                    push(k, v.value.clone(), Some(&v.origin));
                }
            }
            "proxyjump" => {
                if let Some((j, origin)) = &o.jump
                    && !(j.host == "none" && j.user.is_none() && j.port <= 0)
                {
                    let numeric = j.host.contains(':')
                        || j.host.chars().all(|c| c.is_ascii_digit() || c == '.');
                    let mut s = String::new();
                    if let Some(e) = &j.extra {
                        s.push_str(e);
                        s.push(',');
                    }
                    if let Some(u) = &j.user {
                        s.push_str(u);
                        s.push('@');
                    }
                    if numeric {
                        s.push_str(&format!("[{}]", j.host));
                    } else {
                        s.push_str(&j.host);
                    }
                    if j.port > 0 {
                        s.push_str(&format!(":{}", j.port));
                    }
                    push(k, s, Some(origin));
                }
            }
            // Debian's keepalive patch: BatchMode without ServerAliveInterval means 300 s.
            "serveraliveinterval"
                if get(k).is_none() && get("batchmode").is_some_and(|b| b.value == "yes") =>
            {
                push(k, "300".into(), get("batchmode").map(|b| &b.origin));
            }
            "pubkeyacceptedalgorithms" if get(k).is_none() => {
                push(k, super::algorithms::DEFAULT_PUBKEY.into(), None);
            }
            _ => match get(k) {
                Some(v) => push(k, v.value.clone(), Some(&v.origin)),
                None => {
                    if let Some((_, d)) = defaults.iter().find(|(dk, _)| *dk == k) {
                        push(k, d.to_string(), None);
                    }
                }
            },
        }
    }
    Ok(Resolved {
        host_arg: ev.req.host.clone(),
        hostname,
        user,
        port,
        lines,
        identity_files: o.identity_files,
        certificate_files: o.certificate_files,
        tokens: t,
        pending_exec: ev.pending_exec,
        unreadable: ev.unreadable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(convtime("90"), Some(90));
        assert_eq!(convtime("10m"), Some(600));
        assert_eq!(convtime("1h30m"), Some(5400));
        assert_eq!(convtime("x"), None);
        assert_eq!(convtime(""), None);
    }

    #[test]
    fn forwards() {
        let f = parse_forward("localhost:8080:127.0.0.1:80", false, false).unwrap();
        assert_eq!(f.render(true), "[localhost]:8080 [127.0.0.1]:80");
        let f = parse_forward("8080:localhost:80", false, false).unwrap();
        assert_eq!(f.render(true), "8080 [localhost]:80");
        let f = parse_forward("9000:/tmp/sock", false, true).unwrap();
        assert_eq!(f.render(true), "9000 /tmp/sock");
        let f = parse_forward("1080", true, false).unwrap();
        assert_eq!(f.render(false), "1080");
        assert!(parse_forward("x:y", false, false).is_none());
    }

    #[test]
    fn jumps() {
        let j = parse_jump("a@b:2222").unwrap();
        assert_eq!(
            (j.user.as_deref(), j.host.as_str(), j.port),
            (Some("a"), "b", 2222)
        );
        let j = parse_jump("x,y,z").unwrap();
        assert_eq!(j.extra.as_deref(), Some("x,y"));
        assert!(parse_jump("a:0").is_none());
    }
}
