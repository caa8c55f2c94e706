//! The evaluator: what `ssh -G HOST` computes, following the installed OpenSSH client
//! (`readconf.c` `read_config_file_depth`, `process_config_line_depth`, `match_cfg_line`,
//! `ssh.c` main): the files in ssh's order, `Host`/`Match` activation, `Include` (conditional,
//! globbed like ssh's `glob(GLOB_TILDE)`, permission-checked, depth 16), first value wins,
//! hostname substitution and canonicalisation, the final pass, then the defaults, checks and
//! token expansions `ssh` applies before `-G` prints (see `dump`).
//!
//! What each keyword means lives in `options`; which keywords and criteria exist is the
//! installed client's answer (`openssh::client`); this module only drives the reading.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::options::{LineError, Options};
use super::pattern::{self, ListMatch};
use super::syntax::{self, Args, Config, Directive};
use super::tokens::Tokens;
use crate::error::{Error, Result};
use crate::openssh::client::Client;
use crate::openssh::grammar::Op;

/// The machine's host name, looked up once per process.
pub(crate) fn this_host() -> String {
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

impl Origin {
    /// The destination or an option given to ssh itself, not a config line: never a config
    /// mistake, whatever it overrides.
    pub fn is_command_line(&self) -> bool {
        self.line == 0
    }
}

/// A value with its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Val {
    pub value: String,
    pub origin: Origin,
}

/// A `Match exec` that was not run (no `--allow-exec`): the answer depends on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingExec {
    pub command: String,
    pub origin: Origin,
}

/// What kind of configuration error ssh stops on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// "Bad configuration option: KEYWORD" (the keyword as ssh lower-cased it; a UTF-8
    /// byte-order mark shows as its first characters).
    UnknownKeyword(String),
    /// A keyword with a value ssh refuses, or a malformed line.
    BadValue,
    /// "Bad owner or permissions on FILE".
    Permissions,
    /// An Include that cannot be read, or includes nested too deep.
    Include,
    /// Any other fatal error (RefuseConnection, a bad token, a jumphost loop, ...).
    Fatal,
}

/// One error ssh reports while reading the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file and line (line 0: the file as a whole); None for errors after reading.
    pub file: Option<PathBuf>,
    pub line: usize,
    pub message: String,
    pub kind: ErrorKind,
}

/// ssh refuses the configuration: every error it would print, in order. `message` is the
/// whole text, one error per line, ending with ssh's "terminating" line when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub errors: Vec<ConfigError>,
    pub message: String,
}

impl From<Failure> for Error {
    fn from(f: Failure) -> Error {
        Error::usage(f.message)
    }
}

impl Failure {
    fn fatal(file: Option<&Path>, line: usize, message: String, kind: ErrorKind) -> Failure {
        Failure {
            errors: vec![ConfigError {
                file: file.map(Path::to_path_buf),
                line,
                message: message.clone(),
                kind,
            }],
            message,
        }
    }
}

/// What the caller asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The host as typed (after ssh's destination parsing: no `user@`, no `ssh://`).
    pub host: String,
    pub config: Option<PathBuf>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub allow_exec: bool,
    /// Parsed files to use instead of what is on disk: fix-config verifies an edit by
    /// evaluating it before anything is written (see [`prepare`]).
    pub overrides: Vec<(PathBuf, Arc<Prepared>)>,
    /// Files already read, shared between evaluations of many hosts (fix-config and doctor
    /// resolve every host named in the file; reading and checking each file once keeps that
    /// fast).
    pub cache: Option<ParseCache>,
    /// Read on past what ssh refuses: bad lines are skipped and files ssh would refuse (bad
    /// owner or permissions) are left out, each recorded in [`Resolved::skipped`]. ssh itself
    /// would not start; this is the configuration as it will be once those errors are fixed,
    /// so the rest of a report can still run.
    pub lenient: bool,
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
    /// Match, Include, unknown keywords, the keywords that act in inactive blocks: always
    /// evaluated in full.
    Dynamic,
    /// Any other option: its known op and validation outcome, host-independent (boxed: an
    /// error is rare, and this is kept for every line of every file).
    Checked(Option<Box<LineError>>),
}

/// Check every line of `config` once, as `ssh` does even in blocks that do not apply.
pub fn prepare(path: &Path, config: Config) -> Arc<Prepared> {
    let client = crate::openssh::installed();
    let mut scratch = Options::default();
    let info = config
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| match l.directive() {
            None => LineInfo::Skip,
            Some(d) if d.rest.is_empty() || d.args.is_none() => LineInfo::Dynamic,
            Some(d) => match d.known.and_then(|k| client.op(k)) {
                Some(Op::Host)
                    if d.args
                        .as_ref()
                        .is_some_and(|a| !a.is_empty() && !a.iter().any(str::is_empty)) =>
                {
                    LineInfo::Host
                }
                None
                | Some(
                    Op::Host | Op::Match | Op::Include | Op::LogFacility | Op::StreamLocalBindMask,
                ) => LineInfo::Dynamic,
                Some(op) => {
                    let line = line_of(path, i + 1, &d, true);
                    LineInfo::Checked(scratch.apply(op, &line, false, client).err().map(Box::new))
                }
            },
        })
        .collect();
    Arc::new(Prepared { config, info })
}

fn line_of<'a>(
    path: &'a Path,
    lineno: usize,
    d: &'a Directive,
    user_conf: bool,
) -> super::options::Line<'a> {
    super::options::Line {
        file: path,
        lineno,
        keyword: d.keyword,
        rest: d.rest,
        args: d.args.unwrap_or(Args::EMPTY),
        user_conf,
    }
}

/// How reading a file went: read, absent (ssh skips it), or unreadable with errno text.
enum Opened {
    Read(Arc<Prepared>),
    Missing,
    Failed(std::io::Error),
}

impl Request {
    fn override_for(&self, path: &Path) -> Option<Arc<Prepared>> {
        self.overrides
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, c)| c.clone())
    }

    /// The prepared file: an override, a cached one, or the file read now. A directory
    /// "opens" but reads as nothing, as `fopen`+`getline` make it for ssh.
    fn load(
        &self,
        path: &Path,
        check_perm: bool,
        client: &Client,
    ) -> std::result::Result<Opened, Failure> {
        if let Some(c) = self.override_for(path) {
            return Ok(Opened::Read(c));
        }
        if let Some(cache) = &self.cache
            && let Ok(map) = cache.lock()
            && let Some(c) = map.get(path)
        {
            return Ok(Opened::Read(c.clone()));
        }
        let file = match crate::fsutil::open_nonblocking(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Opened::Missing),
            Err(e) => return Ok(Opened::Failed(e)),
        };
        let md = file.metadata().map_err(|e| {
            Failure::fatal(
                Some(path),
                0,
                format!("fstat {}: {e}", path.display()),
                ErrorKind::Fatal,
            )
        })?;
        if check_perm && !secure_permissions(&md, client) {
            return Err(Failure::fatal(
                Some(path),
                0,
                format!("Bad owner or permissions on {}", path.display()),
                ErrorKind::Permissions,
            ));
        }
        // A directory opens and reads as nothing (fopen+getline in ssh); anything else is read
        // without hanging on a FIFO and up to a size limit.
        let bytes = if md.is_dir() {
            Vec::new()
        } else {
            match crate::fsutil::read_open_limited(file, &md, crate::fsutil::FileKind::SshConfig) {
                Ok(b) => b,
                Err(e) => return Ok(Opened::Failed(e)),
            }
        };
        let prepared = prepare(path, syntax::parse(&bytes));
        if let Some(cache) = &self.cache
            && let Ok(mut map) = cache.lock()
        {
            map.insert(path.to_path_buf(), prepared.clone());
        }
        Ok(Opened::Read(prepared))
    }
}

/// misc.c `secure_permissions`: owned by the user or root, not writable by others; Debian's
/// `user-group-modes` patch also allows group write when the group has the owner as its
/// only member.
pub fn secure_permissions(md: &std::fs::Metadata, client: &Client) -> bool {
    use crate::os::perms;
    let uid = crate::os::user::uid();
    let owner = perms::owner(md);
    if owner.uid != 0 && owner.uid != uid {
        return false;
    }
    let mode = perms::mode(md);
    if mode & 0o002 != 0 {
        return false;
    }
    if mode & 0o020 != 0 {
        return client.has_user_group_modes() && crate::os::user::is_private_group(owner.gid, uid);
    }
    true
}

struct Evaluator<'a> {
    req: &'a Request,
    client: &'static Client,
    opts: Options,
    final_pass: bool,
    want_final_pass: bool,
    pending_exec: Vec<PendingExec>,
    /// Default config files that exist but cannot be read (see [`Resolved::unreadable`]).
    unreadable: Vec<(PathBuf, String)>,
    /// Non-fatal messages ssh prints ("Unsupported option").
    notes: Vec<String>,
    /// In lenient mode: the errors read past.
    skipped: Vec<ConfigError>,
    /// The chain of files being read, to name a loop when the depth limit stops it.
    stack: Vec<PathBuf>,
    local_user: String,
    home: PathBuf,
}

/// File flags, as in readconf.c.
#[derive(Clone, Copy)]
struct Flags {
    user_conf: bool,
    never_match: bool,
    check_perm: bool,
}

type Step = std::result::Result<(), Failure>;

impl<'a> Evaluator<'a> {
    fn new(req: &'a Request) -> Self {
        let pw = crate::openssh::home::passwd();
        Evaluator {
            req,
            client: crate::openssh::installed(),
            opts: Options::default(),
            final_pass: false,
            want_final_pass: false,
            pending_exec: Vec::new(),
            unreadable: Vec::new(),
            notes: Vec::new(),
            skipped: Vec::new(),
            stack: Vec::new(),
            local_user: pw
                .map(|p| p.name.clone())
                .unwrap_or_else(crate::paths::local_user),
            home: crate::openssh::home::dir(),
        }
    }

    fn origin(file: &Path, line: usize) -> Origin {
        Origin {
            file: file.to_path_buf(),
            line,
        }
    }

    /// `read_config_file_depth`: Ok(false) when the file could not be opened.
    fn read_file(
        &mut self,
        path: &Path,
        flags: Flags,
        active: &mut bool,
        depth: usize,
    ) -> std::result::Result<bool, (Failure, Option<std::io::Error>)> {
        if depth > MAX_INCLUDE_DEPTH {
            let mut msg = "Too many recursive configuration includes".to_string();
            if let Some(start) = self.stack.iter().position(|p| p == path) {
                let chain: Vec<String> = self.stack[start..]
                    .iter()
                    .chain(std::iter::once(&path.to_path_buf()))
                    .map(|p| p.display().to_string())
                    .collect();
                msg.push_str(&format!(" (Include loop: {})", chain.join(" -> ")));
            }
            return Err((Failure::fatal(Some(path), 0, msg, ErrorKind::Include), None));
        }
        let parsed = match self.req.load(path, flags.check_perm, self.client) {
            Ok(Opened::Read(p)) => p,
            Ok(Opened::Missing) => return Ok(false),
            Ok(Opened::Failed(e)) => {
                return Err((
                    Failure {
                        errors: Vec::new(),
                        message: String::new(),
                    },
                    Some(e),
                ));
            }
            // Lenient: note what ssh refuses (bad owner or permissions) and read the file
            // anyway — its settings are the ones that apply once that is fixed.
            Err(f) if self.req.lenient => {
                self.skipped.extend(f.errors);
                match self.req.load(path, false, self.client) {
                    Ok(Opened::Read(p)) => p,
                    _ => return Ok(true),
                }
            }
            Err(f) => return Err((f, None)),
        };
        self.stack.push(path.to_path_buf());
        let mut errors: Vec<ConfigError> = Vec::new();
        for (i, line) in parsed.config.lines.iter().enumerate() {
            let Some(d) = line.directive() else { continue };
            let lineno = i + 1;
            let outcome = match &parsed.info[i] {
                LineInfo::Skip => continue,
                LineInfo::Checked(err) if !*active => match err {
                    Some(e) => Err(LineError::clone(e)),
                    None => Ok(()),
                },
                LineInfo::Host => {
                    if let Some(args) = d.args {
                        self.host_line(args, flags, active);
                    }
                    continue;
                }
                _ => match self.directive(path, lineno, &d, flags, active, depth) {
                    Ok(()) => Ok(()),
                    Err(Directed::Line(e)) => Err(e),
                    Err(Directed::Stop(f)) => {
                        self.stack.pop();
                        return Err((f, None));
                    }
                },
            };
            match outcome {
                Ok(()) => {}
                Err(LineError::Bad(m)) => errors.push(bad_line(path, lineno, m, &d)),
                Err(LineError::Fatal(m)) => {
                    self.stack.pop();
                    return Err((
                        Failure::fatal(Some(path), lineno, m, ErrorKind::Fatal),
                        None,
                    ));
                }
            }
        }
        self.stack.pop();
        if self.req.lenient {
            self.skipped.append(&mut errors);
        }
        if !errors.is_empty() {
            let n = errors.len();
            let mut message: Vec<String> = errors.iter().map(|e| e.message.clone()).collect();
            message.push(format!(
                "{}: terminating, {n} bad configuration options",
                path.display()
            ));
            return Err((
                Failure {
                    errors,
                    message: message.join("\n"),
                },
                None,
            ));
        }
        Ok(true)
    }

    fn directive(
        &mut self,
        file: &Path,
        lineno: usize,
        d: &Directive,
        flags: Flags,
        active: &mut bool,
        depth: usize,
    ) -> std::result::Result<(), Directed> {
        let at = |msg: String| {
            Directed::Line(LineError::Bad(format!(
                "{} line {lineno}: {msg}",
                file.display()
            )))
        };
        let kw = d.keyword;
        if d.rest.is_empty() {
            return Err(at(format!("no argument after keyword \"{}\"", vis(kw))));
        }
        let op = match d.known.and_then(|k| self.client.op(k)) {
            Some(op) => op,
            None => {
                if let Some(ign) = self.opts.string(Op::IgnoreUnknown)
                    && pattern::match_list(kw, ign, true) == ListMatch::Yes
                {
                    return Ok(());
                }
                return Err(Directed::Line(LineError::Bad(format!(
                    "{}: line {lineno}: Bad configuration option: {}",
                    file.display(),
                    vis(kw)
                ))));
            }
        };
        let Some(args) = d.args else {
            return Err(at("invalid quotes".into()));
        };
        match op {
            Op::Host => {
                if args.iter().any(str::is_empty) {
                    *active = false;
                    return Err(at(format!("keyword {kw} empty argument")));
                }
                self.host_line(args, flags, active);
                Ok(())
            }
            Op::Match => {
                let m = self.match_line(d.rest, file, lineno)?;
                *active = !flags.never_match && m;
                Ok(())
            }
            Op::Include => {
                for a in args {
                    if a.is_empty() {
                        return Err(at(format!("keyword {kw} empty argument")));
                    }
                    self.include(a, file, lineno, flags, active, depth)?;
                }
                Ok(())
            }
            _ => {
                let line = line_of(file, lineno, d, flags.user_conf);
                match self.opts.apply(op, &line, *active, self.client) {
                    Ok(Some(note)) => {
                        self.notes.push(note);
                        Ok(())
                    }
                    Ok(None) => Ok(()),
                    Err(e) => Err(Directed::Line(e)),
                }
            }
        }
    }

    /// `Host`: active when a pattern matches the name as typed and no negated one does.
    fn host_line(&self, args: Args<'_>, flags: Flags, active: &mut bool) {
        *active = !flags.never_match && pattern::host_line(&self.req.host, args);
    }

    /// `Include`: each file the glob matches, read with the permission check; one that
    /// cannot be opened makes the Include line a bad option ("Can't open user config file").
    fn include(
        &mut self,
        arg: &str,
        file: &Path,
        lineno: usize,
        flags: Flags,
        active: &mut bool,
        depth: usize,
    ) -> std::result::Result<(), Directed> {
        if arg.starts_with('~') && !flags.user_conf {
            return Err(Directed::Line(LineError::Bad(format!(
                "{} line {lineno}: bad include path {arg}.",
                file.display()
            ))));
        }
        let oactive = *active;
        for p in include_paths(arg, flags.user_conf) {
            let nested = Flags {
                user_conf: flags.user_conf,
                never_match: flags.never_match || !oactive,
                check_perm: true,
            };
            match self.read_file(&p, nested, active, depth + 1) {
                Ok(true) => {}
                Ok(false) => {}
                Err((_, Some(e))) => {
                    *active = oactive;
                    return Err(Directed::Line(LineError::Bad(format!(
                        "Can't open user config file {}: {}",
                        p.display(),
                        io_text(&e)
                    ))));
                }
                Err((f, None)) => return Err(Directed::Stop(f)),
            }
            *active = oactive;
        }
        Ok(())
    }

    /// `match_cfg_line`: every criterion must hold.
    fn match_line(
        &mut self,
        rest: &str,
        file: &Path,
        lineno: usize,
    ) -> std::result::Result<bool, Directed> {
        let bad = |msg: String| {
            Directed::Line(LineError::Bad(format!(
                "{msg}\n{} line {lineno}: Bad Match condition",
                file.display()
            )))
        };
        let words = if self.client.at_least(10, 0) {
            syntax::argv_split(rest)
        } else {
            syntax::strdelim_split(rest)
        }
        .ok_or_else(|| {
            Directed::Line(LineError::Bad(format!(
                "{} line {lineno}: invalid quotes",
                file.display()
            )))
        })?;
        let host_arg = self.req.host.as_str();
        let host = self.match_host_name().map_err(|e| {
            Directed::Stop(Failure::fatal(
                Some(file),
                lineno,
                e.message,
                ErrorKind::Fatal,
            ))
        })?;
        let ruser = self
            .opts
            .string(Op::User)
            .map(str::to_string)
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
                let next = words.get(i);
                if attributes > 1 || next.is_some_and(|a| !a.is_empty() && !a.starts_with('#')) {
                    return Err(bad(format!(
                        "{} line {lineno}: '{word}' cannot be combined with other Match attributes",
                        file.display()
                    )));
                }
                if result && negate {
                    result = false;
                }
                break;
            }
            attributes += 1;
            if attr == "canonical" || attr == "final" {
                if attr == "final" {
                    self.want_final_pass = true;
                }
                if self.final_pass == negate {
                    result = false;
                }
                continue;
            }
            let Some(arg) = words
                .get(i)
                .filter(|a| !a.is_empty() && !a.starts_with('#'))
            else {
                return Err(bad(format!("Missing Match criteria for {attr}")));
            };
            i += 1;
            if !self.client.knows_criterion(&attr) {
                return Err(bad(format!("Unsupported Match attribute {attr}")));
            }
            let r = match attr.as_str() {
                "host" => pattern::match_list(&host.to_lowercase(), arg, true) == ListMatch::Yes,
                "originalhost" => {
                    pattern::match_list(&host_arg.to_lowercase(), arg, true) == ListMatch::Yes
                }
                "user" => pattern::match_list(&ruser, arg, false) == ListMatch::Yes,
                "localuser" => pattern::match_list(&self.local_user, arg, false) == ListMatch::Yes,
                "tagged" => {
                    let tag = self.opts.string(Op::Tag).unwrap_or("");
                    pattern::match_list(tag, arg, false) == ListMatch::Yes
                }
                "version" => {
                    let v = self
                        .client
                        .version_text
                        .split([' ', ','])
                        .next()
                        .unwrap_or("");
                    pattern::match_list(v, arg, false) == ListMatch::Yes
                }
                "sessiontype" => {
                    let t = match self.opts.int(Op::SessionType) {
                        Some(0) => "none",
                        Some(1) => "subsystem",
                        _ => "shell",
                    };
                    pattern::match_list(t, arg, false) == ListMatch::Yes
                }
                "command" => {
                    let c = self.opts.string(Op::RemoteCommand).unwrap_or("");
                    pattern::match_list(c, arg, false) == ListMatch::Yes
                }
                "localnetwork" => local_network_matches(arg),
                "exec" => {
                    if !result {
                        // ssh skips the command when an earlier criterion already failed.
                        continue;
                    }
                    let cmd = self.exec_tokens(&host, &ruser).percent(arg).map_err(|e| {
                        Directed::Stop(Failure::fatal(
                            Some(file),
                            lineno,
                            e.message,
                            ErrorKind::Fatal,
                        ))
                    })?;
                    if self.req.allow_exec {
                        run_exec(&cmd).map_err(|m| {
                            Directed::Stop(Failure::fatal(
                                Some(file),
                                lineno,
                                format!("{} line {lineno}: {m}", file.display()),
                                ErrorKind::Fatal,
                            ))
                        })?
                    } else {
                        self.pending_exec.push(PendingExec {
                            command: cmd,
                            origin: Self::origin(file, lineno),
                        });
                        false
                    }
                }
                other => return Err(bad(format!("Unsupported Match attribute {other}"))),
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
            return Err(bad("One or more attributes required for Match".into()));
        }
        Ok(result)
    }

    fn exec_tokens(&self, host: &str, ruser: &str) -> Tokens {
        let mut t = Tokens::new();
        let port = self.opts.int(Op::Port).filter(|p| *p > 0).unwrap_or(22);
        let thishost = this_host();
        t.set('C', conn_hash(&thishost, host, &port.to_string(), ruser));
        t.set('L', thishost.split('.').next().unwrap_or("").to_string());
        t.set('d', self.home.display().to_string());
        t.set('h', host.to_string());
        t.set(
            'k',
            self.opts
                .string(Op::HostKeyAlias)
                .map(str::to_string)
                .unwrap_or_else(|| host.to_string()),
        );
        t.set('l', thishost.clone());
        t.set('n', self.req.host.clone());
        t.set('p', port.to_string());
        t.set('r', ruser.to_string());
        t.set('u', self.local_user.clone());
        t.set('i', crate::os::user::uid().to_string());
        t
    }

    /// The name `Match host` compares: the HostName (with `%h`) once set, else the alias.
    fn match_host_name(&self) -> Result<String> {
        match self.opts.string(Op::Hostname) {
            Some(v) if !self.final_pass => {
                let mut t = Tokens::new();
                t.set('h', self.req.host.clone());
                t.percent(v)
            }
            Some(v) => Ok(v.to_string()),
            None => Ok(self.req.host.clone()),
        }
    }
}

/// How a directive failed: a bad line, or everything stops (an include failed fatally).
enum Directed {
    Line(LineError),
    Stop(Failure),
}

impl From<LineError> for Directed {
    fn from(e: LineError) -> Self {
        Directed::Line(e)
    }
}

fn bad_line(path: &Path, lineno: usize, message: String, d: &Directive) -> ConfigError {
    let kind = if message.contains("Bad configuration option:") {
        ErrorKind::UnknownKeyword(d.keyword.to_string())
    } else if message.starts_with("Can't open user config file") || message.is_empty() {
        ErrorKind::Include
    } else {
        ErrorKind::BadValue
    };
    ConfigError {
        file: Some(path.to_path_buf()),
        line: lineno,
        message,
        kind,
    }
}

fn io_text(e: &std::io::Error) -> String {
    // strerror's words, without Rust's " (os error N)".
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// ssh prints untrusted text through `strnvis(VIS_SAFE|VIS_OCTAL)`: control characters and
/// bytes outside ASCII as `\ooo`.
pub fn vis(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if (0x20..0x7f).contains(&b) || b == b'\t' {
            out.push(b as char);
        } else {
            out.push_str(&format!("\\{b:03o}"));
        }
    }
    out
}

/// Run a `Match exec` command the way ssh does (`$SHELL -c`, stdin and stdout on /dev/null):
/// true when it exits 0; Err when the shell cannot run or the command dies by a signal.
fn run_exec(cmd: &str) -> std::result::Result<bool, String> {
    use std::os::unix::fs::PermissionsExt;
    let shell = std::env::var("SHELL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".into());
    let runnable = std::fs::metadata(&shell).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
    if !runnable {
        return Err(format!("Shell \"{shell}\" is not executable"));
    }
    let status = std::process::Command::new(&shell)
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("match exec '{cmd}' error: {e}"))?;
    match status.code() {
        Some(c) => Ok(c == 0),
        None => Err(format!("match exec '{cmd}' error")),
    }
}

/// `Match localnetwork`: does any interface address fall in one of the CIDR blocks?
fn local_network_matches(list: &str) -> bool {
    crate::os::net::interface_addresses()
        .iter()
        .any(|a| cidr_list_matches(a, list))
}

fn cidr_list_matches(addr: &std::net::IpAddr, list: &str) -> bool {
    list.split(',').any(|cidr| {
        let (net, bits) = match cidr.split_once('/') {
            Some((n, b)) => (n, b.parse::<u32>().ok()),
            None => (cidr, None),
        };
        match (addr, net.parse::<std::net::IpAddr>()) {
            (std::net::IpAddr::V4(a), Ok(std::net::IpAddr::V4(n))) => {
                let bits = bits.unwrap_or(32).min(32);
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                u32::from(*a) & mask == u32::from(n) & mask
            }
            (std::net::IpAddr::V6(a), Ok(std::net::IpAddr::V6(n))) => {
                let bits = bits.unwrap_or(128).min(128);
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                u128::from(*a) & mask == u128::from(n) & mask
            }
            _ => false,
        }
    })
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

/// The files an `Include` argument names, in the order ssh reads them: a relative path is
/// under `~/.ssh` in a user config (`-F` too) and under `/etc/ssh` in the system one, then
/// globbed (see [`glob`]). fix-config's file-level fixes follow the same list.
pub(crate) fn include_paths(arg: &str, user_conf: bool) -> Vec<PathBuf> {
    let full = if arg.starts_with('/') || arg.starts_with('~') {
        arg.to_string()
    } else if user_conf {
        format!("~/.ssh/{arg}")
    } else {
        format!("/etc/ssh/{arg}")
    };
    glob(&full)
}

/// glob(3) as OpenSSH calls it for Include (`GLOB_TILDE`: the C library expands `~` from
/// `$HOME`, unlike the rest of ssh): sorted matches; no match gives nothing.
pub(crate) fn glob(pattern: &str) -> Vec<PathBuf> {
    crate::os::glob::glob_tilde(pattern)
}

pub(crate) use crate::openssh::destination::valid_hostname;

pub(crate) enum Readability {
    Readable,
    Absent,
    Unreadable(String),
}

/// Whether a default config file can be read: absent (also a dangling symlink) is normal,
/// anything else that stops `open` is worth a warning (ssh skips it without a word).
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

/// The result of resolving a host: the values `ssh -G` would print, with their origins.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub host_arg: String,
    pub(crate) hostname: String,
    pub(crate) user: String,
    pub(crate) port: u16,
    /// Every printed line: keyword, value, origin (None for a default).
    pub(crate) lines: Vec<(String, String, Option<Origin>)>,
    pub(crate) identity_files: Vec<Val>,
    pub(crate) certificate_files: Vec<Val>,
    pub(crate) tokens: Tokens,
    /// `Match exec` commands not run: the answer may be different when they succeed.
    pub pending_exec: Vec<PendingExec>,
    /// `~/.ssh/config` or `/etc/ssh/ssh_config` present but unreadable (a symlink loop, no
    /// permission), with the reason. ssh skips such a file without a word (readconf.c
    /// ignores a failed fopen), so the answer skips it too; callers warn about it.
    pub unreadable: Vec<(PathBuf, String)>,
    /// Non-fatal errors ssh prints while reading ("Unsupported option").
    pub notes: Vec<String>,
    /// Errors read past in lenient mode (see [`Request::lenient`]).
    pub skipped: Vec<ConfigError>,
    /// Values later lines gave that ssh ignores (first value wins).
    pub shadowed: Vec<super::options::Shadowed>,
    /// The options as read (the winning line of every keyword, printed or not: see
    /// [`Resolved::origin_of`]).
    pub(crate) opts: super::options::Options,
    /// The algorithm lists as configured (before `+`/`-`/`^` are applied), by printed keyword:
    /// ssh orders host key algorithms by known_hosts only when HostKeyAlgorithms is not set
    /// or only appended to / removed from.
    pub(crate) configured: std::collections::BTreeMap<&'static str, String>,
}

/// Evaluate, with ssh's errors as one usage error.
pub fn evaluate(req: &Request) -> Result<Resolved> {
    evaluate_detailed(req).map_err(Error::from)
}

/// Evaluate; on failure, every error ssh would print.
pub fn evaluate_detailed(req: &Request) -> std::result::Result<Resolved, Failure> {
    if !valid_hostname(&req.host) {
        return Err(Failure::fatal(
            None,
            0,
            "hostname contains invalid characters".into(),
            ErrorKind::Fatal,
        ));
    }
    if let Some(u) = &req.user
        && !crate::openssh::destination::valid_ruser(u)
    {
        return Err(Failure::fatal(
            None,
            0,
            "remote username contains invalid characters".into(),
            ErrorKind::Fatal,
        ));
    }
    let mut ev = Evaluator::new(req);
    let cmdline = Origin {
        file: PathBuf::from("(command line)"),
        line: 0,
    };
    if let Some(u) = &req.user {
        ev.opts.strings.insert(
            Op::User,
            super::options::At {
                v: u.clone(),
                origin: cmdline.clone(),
            },
        );
    }
    if let Some(p) = req.port {
        ev.opts.ints.insert(
            Op::Port,
            super::options::At {
                v: i64::from(p),
                origin: cmdline,
            },
        );
    }
    run_pass(&mut ev)?;
    super::dump::finish(ev_parts(ev, req)?)
}

/// Read the config files in ssh's order (`process_config_files`).
fn run_pass(ev: &mut Evaluator) -> Step {
    let files: Vec<(PathBuf, Flags, bool)> = match &ev.req.config {
        Some(p) if p.as_os_str() == "none" => Vec::new(),
        Some(p) => vec![(
            p.clone(),
            Flags {
                user_conf: true,
                never_match: false,
                check_perm: false,
            },
            true,
        )],
        None => vec![
            (
                ev.home.join(".ssh/config"),
                Flags {
                    user_conf: true,
                    never_match: false,
                    check_perm: true,
                },
                false,
            ),
            (
                PathBuf::from("/etc/ssh/ssh_config"),
                Flags {
                    user_conf: false,
                    never_match: false,
                    check_perm: false,
                },
                false,
            ),
        ],
    };
    for (path, flags, required) in &files {
        if !required && ev.req.override_for(path).is_none() {
            match readability(path) {
                Readability::Readable => {}
                Readability::Absent => continue,
                Readability::Unreadable(why) => {
                    // ssh reads nothing from it (a directory reads as empty).
                    if !ev.unreadable.iter().any(|(p, _)| p == path) {
                        ev.unreadable.push((path.clone(), why));
                    }
                    continue;
                }
            }
        }
        let mut active = true;
        match ev.read_file(path, *flags, &mut active, 0) {
            Ok(true) => {}
            Ok(false) if *required => {
                return Err(Failure::fatal(
                    Some(path),
                    0,
                    format!(
                        "Can't open user config file {}: No such file or directory",
                        path.display()
                    ),
                    ErrorKind::Fatal,
                ));
            }
            Ok(false) => {}
            Err((_, Some(e))) if *required => {
                return Err(Failure::fatal(
                    Some(path),
                    0,
                    format!(
                        "Can't open user config file {}: {}",
                        path.display(),
                        io_text(&e)
                    ),
                    ErrorKind::Fatal,
                ));
            }
            Err((_, Some(_))) => {}
            Err((f, None)) => return Err(f),
        }
    }
    Ok(())
}

/// What `dump` needs from a finished reading (the second pass included).
pub(crate) struct Parts {
    pub opts: Options,
    pub host_arg: String,
    /// The host name after substitution, lower-casing and canonicalisation.
    pub host: String,
    pub local_user: String,
    pub home: PathBuf,
    pub client: &'static Client,
    pub pending_exec: Vec<PendingExec>,
    pub unreadable: Vec<(PathBuf, String)>,
    pub notes: Vec<String>,
    pub skipped: Vec<ConfigError>,
}

/// ssh.c between the first pass and `fill_default_options`: HostName substitution,
/// lower-casing, canonicalisation, and the final pass when asked for.
fn ev_parts(mut ev: Evaluator, req: &Request) -> std::result::Result<Parts, Failure> {
    let fatal = |m: String| Failure::fatal(None, 0, m, ErrorKind::Fatal);
    let mut host = req.host.clone();
    if let Some(h) = ev.opts.string(Op::Hostname) {
        let mut t = Tokens::new();
        t.set('h', host.clone());
        host = t.percent(h).map_err(|e| fatal(e.message))?;
    }
    let family = ev.opts.int(Op::AddressFamily).unwrap_or(0) as i32;
    let was_addr = super::canonical::is_addr(&host, family);
    if !was_addr {
        host = host.to_lowercase();
    }
    let mode = ev.opts.int(Op::CanonicalizeHostname).unwrap_or(0);
    let direct = ev
        .opts
        .string(Op::ProxyCommand)
        .is_none_or(|p| p.eq_ignore_ascii_case("none"))
        && ev.opts.jump.as_ref().is_none_or(|j| j.v.is_none());
    let domains: Vec<String> = ev
        .opts
        .canonical_domains
        .iter()
        .map(|a| a.v.clone())
        .collect();
    let cnames: Vec<(String, String)> = ev
        .opts
        .permitted_cnames
        .iter()
        .map(|a| a.v.clone())
        .collect();
    let settings = super::canonical::Settings {
        family,
        mode,
        max_dots: ev.opts.int(Op::CanonicalizeMaxDots).unwrap_or(1),
        fallback_local: ev.opts.int(Op::CanonicalizeFallbackLocal).unwrap_or(1) != 0,
        domains: &domains,
        permitted_cnames: &cnames,
        direct,
    };
    match super::canonical::canonicalize(&host, &settings) {
        super::canonical::Outcome::Unchanged => {}
        super::canonical::Outcome::Renamed(n) => host = n,
        super::canonical::Outcome::Fatal(m) => return Err(fatal(m)),
    }
    if mode != 0 {
        ev.want_final_pass = true;
    }
    if ev.want_final_pass {
        let origin = ev
            .opts
            .strings
            .get(&Op::Hostname)
            .map(|v| v.origin.clone())
            .unwrap_or(Origin {
                file: PathBuf::from("(default)"),
                line: 0,
            });
        ev.opts.strings.insert(
            Op::Hostname,
            super::options::At {
                v: host.clone(),
                origin,
            },
        );
        ev.final_pass = true;
        ev.pending_exec.clear();
        run_pass(&mut ev)?;
    }
    Ok(Parts {
        opts: ev.opts,
        host_arg: req.host.clone(),
        host,
        local_user: ev.local_user,
        home: ev.home,
        client: ev.client,
        pending_exec: ev.pending_exec,
        unreadable: ev.unreadable,
        notes: ev.notes,
        skipped: ev.skipped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vis_encodes_like_ssh() {
        assert_eq!(vis("\u{feff}host"), "\\357\\273\\277host");
        assert_eq!(vis("usekeychain"), "usekeychain");
    }

    #[test]
    fn cidr() {
        let a: std::net::IpAddr = "10.1.2.3".parse().unwrap();
        assert!(cidr_list_matches(&a, "192.168.0.0/16,10.0.0.0/8"));
        assert!(!cidr_list_matches(&a, "10.2.0.0/16"));
    }
}
