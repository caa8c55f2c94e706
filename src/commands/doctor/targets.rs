//! Which hosts doctor checks: the user's own. By default every concrete `Host` alias in the
//! config files ssh reads (Include followed as ssh follows it), the SSH hosts of the current
//! repository's remotes, and the platform's git host only where there is Heroku context; or
//! exactly the hosts named on the command line or in an inventory (`--hosts-from`).
//!
//! An alias only counts when ssh would apply its stanza to that very name: an alias in a file
//! included under `Host p` needs to match `p` as well (ssh reads that Include only for hosts
//! matching `p`). Wildcard and negated patterns name no host. A name that only appears in a
//! `Match host`/`Match originalhost` criterion is not an alias (`ssh name` would not be
//! written by anyone reading that line as one), so it is skipped with a note.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::git::remotes::Repo;
use crate::git::url::{Transport, classify};
use crate::openssh::Destination;
use crate::paths::display_tilde;
use crate::sshconfig::{self, Failure, Resolved, pattern, syntax};

/// OpenSSH's READCONF_MAX_DEPTH.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Why a host is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Config { file: PathBuf, line: usize },
    Remote { name: String, url: String },
    Argument,
    HostsFile { file: String, line: usize },
    Heroku { why: &'static str },
}

impl Source {
    pub fn describe(&self) -> String {
        match self {
            Source::Config { file, line } => format!("{}:{line}", display_tilde(file)),
            Source::Remote { name, .. } => format!("git remote {name}"),
            Source::Argument => "command line".into(),
            Source::HostsFile { file, line } => format!("{file}:{line}"),
            Source::Heroku { why } => format!("Heroku ({why})"),
        }
    }
}

/// One host to check, as it would be typed after `ssh` (user and port like `-l`/`-p`).
#[derive(Debug, Clone)]
pub struct Target {
    pub dest: Destination,
    pub sources: Vec<Source>,
}

impl Target {
    pub fn new(dest: Destination, source: Source) -> Target {
        Target {
            dest,
            sources: vec![source],
        }
    }

    /// `user@host:port` as given (only the parts that were given).
    pub fn label(&self) -> String {
        let user = self
            .dest
            .user
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let host = &self.dest.host;
        match self.dest.port {
            Some(p) if host.contains(':') => format!("{user}[{host}]:{p}"),
            Some(p) => format!("{user}{host}:{p}"),
            None => format!("{user}{host}"),
        }
    }
}

/// What an Include depends on: the `Host` or `Match` line of the block it sits in.
#[derive(Debug, Clone)]
enum Cond {
    Host(Vec<String>),
    /// The Match line's words (criteria and arguments).
    Match(Vec<String>),
}

impl Cond {
    /// Could ssh read this block for the name `host`? A `Host` line is decided; of a `Match`
    /// line only `all` and `originalhost` (the name as typed) are: the other criteria depend
    /// on the rest of the configuration (`host` sees HostName) or on the world (`exec`,
    /// `user`), so they count as possibly matching.
    fn may_apply(&self, host: &str) -> bool {
        match self {
            Cond::Host(patterns) => pattern::host_line(host, patterns),
            Cond::Match(words) => {
                let mut i = 0;
                while i < words.len() {
                    let (negate, kw) = match words[i].strip_prefix('!') {
                        Some(k) => (true, k.to_ascii_lowercase()),
                        None => (false, words[i].to_ascii_lowercase()),
                    };
                    match kw.as_str() {
                        "all" => return !negate,
                        "canonical" | "final" => i += 1,
                        "originalhost" => {
                            let arg = words.get(i + 1).map(String::as_str).unwrap_or("");
                            let hit =
                                pattern::match_list(host, arg, true) == pattern::ListMatch::Yes;
                            if hit == negate {
                                return false;
                            }
                            i += 2;
                        }
                        _ => i += 2,
                    }
                }
                true
            }
        }
    }
}

/// A `Host` line: its patterns and the blocks an Include it sits under depends on.
#[derive(Debug, Clone)]
struct HostLine {
    patterns: Vec<String>,
    conditions: Vec<Cond>,
}

/// What the config files say about host names, without evaluating any host.
#[derive(Debug, Clone, Default)]
pub struct ConfigIndex {
    /// Concrete aliases in file order, with where they are written.
    pub aliases: Vec<(String, PathBuf, usize)>,
    host_lines: Vec<HostLine>,
    /// Names only a `Match host`/`originalhost` criterion mentions.
    pub match_only: Vec<(String, PathBuf, usize)>,
}

fn is_concrete(p: &str) -> bool {
    !p.is_empty() && !p.starts_with('!') && !p.contains(['*', '?'])
}

impl ConfigIndex {
    /// Read the files ssh reads: `-F FILE` (`none`: no file), else `~/.ssh/config` then
    /// `/etc/ssh/ssh_config`.
    pub fn read(config: Option<&Path>) -> ConfigIndex {
        let mut idx = ConfigIndex::default();
        match config {
            Some(p) if p.as_os_str() == "none" => {}
            Some(p) => idx.walk(p, true, &[], 0),
            None => {
                idx.walk(
                    &crate::openssh::home::ssh_dir().join("config"),
                    true,
                    &[],
                    0,
                );
                idx.walk(Path::new("/etc/ssh/ssh_config"), false, &[], 0);
            }
        }
        let known: Vec<String> = idx.aliases.iter().map(|(a, _, _)| a.clone()).collect();
        idx.match_only.retain(|(n, _, _)| !known.contains(n));
        let mut seen = Vec::new();
        idx.match_only.retain(|(n, _, _)| {
            let new = !seen.contains(n);
            seen.push(n.clone());
            new
        });
        idx
    }

    fn walk(&mut self, path: &Path, user_conf: bool, conds: &[Cond], depth: usize) {
        if depth > MAX_INCLUDE_DEPTH {
            return;
        }
        let Ok(bytes) = std::fs::read(path) else {
            return;
        };
        let parsed = syntax::parse(&bytes);
        // The line the current block sits under (None: the top of the file).
        let mut current: Option<Cond> = None;
        for (i, line) in parsed.lines.iter().enumerate() {
            let Some(d) = line.directive() else { continue };
            let Some(args) = d.args.as_ref() else {
                continue;
            };
            match d.keyword {
                "host" => {
                    if args.is_empty() || args.iter().any(str::is_empty) {
                        current = None;
                        continue;
                    }
                    self.host_lines.push(HostLine {
                        patterns: args.to_vec(),
                        conditions: conds.to_vec(),
                    });
                    for a in args.iter().filter(|a| is_concrete(a)) {
                        let ok = pattern::host_line(a, args)
                            && conds.iter().all(|c| c.may_apply(a))
                            && Destination::parse(a).is_ok();
                        if ok && !self.aliases.iter().any(|(x, _, _)| x == a) {
                            self.aliases.push((a.to_owned(), path.to_path_buf(), i + 1));
                        }
                    }
                    current = Some(Cond::Host(args.to_vec()));
                }
                "match" => {
                    current = syntax::argv_split(d.rest).map(Cond::Match);
                    self.match_names(d.rest, path, i + 1);
                }
                "include" => {
                    let mut nested = conds.to_vec();
                    if let Some(h) = &current {
                        nested.push(h.clone());
                    }
                    for a in args {
                        for f in include_paths(a, user_conf) {
                            self.walk(&f, user_conf, &nested, depth + 1);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// Concrete names in `host`/`originalhost` criteria of a Match line.
    fn match_names(&mut self, rest: &str, file: &Path, line: usize) {
        let Some(words) = syntax::argv_split(rest) else {
            return;
        };
        let mut i = 0;
        while i < words.len() {
            let kw = words[i].to_ascii_lowercase();
            if matches!(kw.as_str(), "all" | "canonical" | "final") {
                i += 1;
                continue;
            }
            if let Some(arg) = words.get(i + 1)
                && matches!(kw.as_str(), "host" | "originalhost")
            {
                for n in arg.split(',').filter(|n| is_concrete(n)) {
                    self.match_only
                        .push((n.to_string(), file.to_path_buf(), line));
                }
            }
            i += 2;
        }
    }

    /// Does any `Host` line (other than a bare `*`) apply to `host` as typed?
    pub fn has_stanza_for(&self, host: &str) -> bool {
        self.host_lines.iter().any(|l| {
            l.patterns.iter().any(|p| p != "*" && !p.starts_with('!'))
                && pattern::host_line(host, &l.patterns)
                && l.conditions.iter().all(|c| c.may_apply(host))
        })
    }

    pub fn alias_names(&self) -> impl Iterator<Item = &str> {
        self.aliases.iter().map(|(a, _, _)| a.as_str())
    }
}

/// The files an `Include` argument names, as ssh computes them (the evaluator's list; `~` is
/// not allowed in the system config, where ssh refuses the line).
fn include_paths(arg: &str, user_conf: bool) -> Vec<PathBuf> {
    if arg.starts_with('~') && !user_conf {
        return Vec::new();
    }
    sshconfig::eval::include_paths(arg, user_conf)
}

/// The evaluations doctor needs, each done once (`ssh -G` for a target, and for the aliases
/// the hints compare with).
pub struct Resolver {
    config: Option<PathBuf>,
    /// Run `Match exec` commands (`--allow-exec`).
    allow_exec: bool,
    cache: HashMap<DestKey, Resolution>,
}

type DestKey = (String, Option<String>, Option<u16>);
type Resolution = std::result::Result<Resolved, Failure>;

impl Resolver {
    pub fn new(config: Option<PathBuf>, allow_exec: bool) -> Resolver {
        Resolver {
            config,
            allow_exec,
            cache: HashMap::new(),
        }
    }

    /// The `-F` file, repeated in the fixes the probe prints.
    pub fn config(&self) -> Option<&Path> {
        self.config.as_deref()
    }

    pub fn resolve(&mut self, dest: &Destination) -> &Resolution {
        let key = (dest.host.clone(), dest.user.clone(), dest.port);
        let (config, allow_exec) = (self.config.clone(), self.allow_exec);
        // Read past what ssh refuses (the errors travel in `skipped` and become findings),
        // so a config error does not hide every other problem of the host.
        self.cache.entry(key).or_insert_with(|| {
            crate::probe::settings::resolve_lenient(dest, config.as_deref(), allow_exec)
        })
    }
}

/// `HOST...` and `--hosts-from` entries: `[user@]host[:port]` or `ssh://...`, one per line
/// in a file (blank lines and `#` comments skipped). Every bad entry is named at once.
pub fn explicit(args: &[String], hosts_from: Option<&Path>) -> Result<Vec<Target>> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for a in args {
        match Destination::parse_with_port(a) {
            Ok(d) => out.push(Target::new(d, Source::Argument)),
            Err(e) => bad.push(format!("{a}: {}", e.message)),
        }
    }
    if let Some(file) = hosts_from {
        let (name, text) = if file.as_os_str() == "-" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
                .map_err(|e| Error::usage(format!("--hosts-from -: cannot read stdin: {e}")))?;
            ("stdin".to_string(), s)
        } else {
            let t = std::fs::read_to_string(file)
                .map_err(|e| Error::usage(format!("--hosts-from {}: {e}", file.display())))?;
            (file.display().to_string(), t)
        };
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            match Destination::parse_with_port(l) {
                Ok(d) => out.push(Target::new(
                    d,
                    Source::HostsFile {
                        file: name.clone(),
                        line: i + 1,
                    },
                )),
                Err(e) => bad.push(format!("{name}:{}: {}", i + 1, e.message)),
            }
        }
    }
    if !bad.is_empty() {
        return Err(Error::usage(format!(
            "not a host to check:\n  {}",
            bad.join("\n  ")
        )));
    }
    if out.is_empty() {
        return Err(Error::usage("no host to check (the list is empty)"));
    }
    Ok(out)
}

/// The default targets: the config's aliases, then the repository's SSH remotes.
pub fn discovered(index: &ConfigIndex, repo: Option<&Repo>) -> Vec<Target> {
    let mut out: Vec<Target> = index
        .aliases
        .iter()
        .filter_map(|(a, f, l)| {
            Destination::parse(a).ok().map(|d| {
                Target::new(
                    d,
                    Source::Config {
                        file: f.clone(),
                        line: *l,
                    },
                )
            })
        })
        .collect();
    for (name, url, dest) in repo.map(remote_destinations).unwrap_or_default() {
        out.push(Target::new(dest, Source::Remote { name, url }));
    }
    out
}

/// Where each SSH remote URL connects, as git runs ssh for it. A URL git would reject, or
/// that ssh cannot parse, connects nowhere; a malformed `ssh://user@host:owner/...` is
/// checked as the host it was meant for (the remote findings carry the corrected URL).
/// Heroku's retired SSH git host is left to the platform target.
pub fn remote_destinations(repo: &Repo) -> Vec<(String, String, Destination)> {
    let mut out = Vec::new();
    for r in &repo.remotes {
        for u in &r.urls {
            let urls = std::iter::once(&u.effective).chain(u.push_effective.as_ref());
            for url in urls {
                let Transport::Ssh(s) = classify(url) else {
                    continue;
                };
                if s.path.is_none() {
                    continue;
                }
                let dest = match (s.unread_colon(), s.as_scp_like()) {
                    (Some(_), Some(fixed)) => match classify(&fixed) {
                        Transport::Ssh(f) => destination(&f.user_and_host, f.port_number()),
                        _ => None,
                    },
                    // A port git cannot read (out of range): ssh is never reached.
                    (Some(_), None) => None,
                    (None, _) => destination(&s.user_and_host, s.port_number()),
                };
                let Some(dest) = dest else { continue };
                if crate::diagnose::is_heroku_host(&dest.host) {
                    continue;
                }
                if !out
                    .iter()
                    .any(|(n, _, d): &(String, String, Destination)| *n == r.name && *d == dest)
                {
                    out.push((r.name.clone(), url.clone(), dest));
                }
            }
        }
    }
    out
}

/// ssh's reading of the `user@host` git passes it, with git's `-p`.
pub fn destination(user_and_host: &str, port: Option<u16>) -> Option<Destination> {
    if user_and_host.starts_with('-') {
        return None;
    }
    let mut d = Destination::parse(user_and_host).ok()?;
    d.port = port;
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_line_semantics() {
        let l = |s: &str| s.split(' ').map(str::to_string).collect::<Vec<_>>();
        assert!(pattern::host_line("web", l("web db")));
        assert!(!pattern::host_line("web", l("* !web")));
        assert!(pattern::host_line("db", l("* !web")));
        assert!(is_concrete("web.example.com"));
        assert!(!is_concrete("*.example.com"));
        assert!(!is_concrete("!web"));
        assert!(!is_concrete("web?"));
    }
}
