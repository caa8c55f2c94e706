//! ssh_config: the lossless syntax tree (`syntax`), the `ssh -G` evaluator (`eval`), and
//! fix-config's editors (`edit` for a host's settings, `ignore_unknown`, `bom`), its diff
//! (`diff`), the files in ssh's read order (`includes`) and its safe writer (`writer`).
//!
//! Written in-house because every existing library either merges `Match` blocks into the
//! wrong `Host`, rewrites the user's formatting, or drops comments (see issue 6); herossh must
//! never lose a byte and must always agree with OpenSSH.

pub mod bom;
pub mod canonical;
pub mod diff;
mod dump;
pub mod edit;
pub mod eval;
pub mod ignore_unknown;
pub mod includes;
pub mod options;
pub mod pattern;
pub mod syntax;
pub mod tokens;
pub mod writer;

use std::path::PathBuf;

pub use eval::{ConfigError, ErrorKind, Failure, Origin, PendingExec, Resolved};

/// What to resolve against: like ssh's `-F`, `-l`, `-p`, plus whether `Match exec` may run.
#[derive(Debug, Clone, Default)]
pub struct ResolveOptions {
    /// `-F FILE` (default: `~/.ssh/config` then `/etc/ssh/ssh_config`; `none` for no file).
    pub config: Option<PathBuf>,
    pub user: Option<String>,
    pub port: Option<u16>,
    /// Run `Match exec` commands. Without it they count as not matching and are listed in
    /// [`Resolved::pending_exec`], so callers can say the answer depends on them.
    pub allow_exec: bool,
    /// Read past the errors ssh stops on (see `eval::Request::lenient`).
    pub lenient: bool,
    /// Files already read (see `eval::Request::cache`).
    pub cache: Option<eval::ParseCache>,
}

/// The effective configuration for `host` as `ssh -G host` computes it (`host` without
/// `user@`: see [`resolve_destination`]).
pub fn resolve(host: &str, opts: &ResolveOptions) -> crate::error::Result<Resolved> {
    resolve_detailed(host, opts).map_err(crate::error::Error::from)
}

/// [`resolve`], with every error ssh would print when it refuses the configuration.
pub fn resolve_detailed(host: &str, opts: &ResolveOptions) -> Result<Resolved, Failure> {
    eval::evaluate_detailed(&eval::Request {
        host: host.to_string(),
        config: opts.config.clone(),
        user: opts.user.clone(),
        port: opts.port,
        allow_exec: opts.allow_exec,
        overrides: Vec::new(),
        cache: opts.cache.clone(),
        lenient: opts.lenient,
    })
}

/// `ssh -G DESTINATION`: the destination parsed as ssh parses it (`user@host`,
/// `ssh://user@host:port`), its user and port applied like `-l`/`-p` unless the options
/// already give them (the command line wins over the destination, as in ssh).
pub fn resolve_destination(
    dest: &crate::openssh::Destination,
    opts: &ResolveOptions,
) -> Result<Resolved, Failure> {
    let mut o = opts.clone();
    if o.user.is_none() {
        o.user = dest.user.clone();
    }
    if o.port.is_none() {
        o.port = dest.port;
    }
    resolve_detailed(&dest.host, &o)
}

impl Resolved {
    /// The first value of a (lower-case) keyword, as `ssh -G` prints it.
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(k, _, _)| *k == keyword)
            .map(|(_, v, _)| v.as_str())
    }

    /// An algorithm list as the configuration wrote it (`+ssh-rsa`), None when not set.
    pub fn configured(&self, keyword: &str) -> Option<&str> {
        self.configured.get(keyword).map(String::as_str)
    }

    /// Every value of an accumulating keyword (`identityfile`, `sendenv`, ...).
    pub fn get_all(&self, keyword: &str) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|(k, _, _)| *k == keyword)
            .map(|(_, v, _)| v.as_str())
            .collect()
    }

    /// The printed lines in `ssh -G` order: keyword, value, where it came from (None: default).
    pub fn lines(&self) -> impl Iterator<Item = (&str, &str, Option<&Origin>)> {
        self.lines
            .iter()
            .map(|(k, v, o)| (k.as_str(), v.as_str(), o.as_ref()))
    }

    pub fn hostname(&self) -> &str {
        &self.hostname
    }
    pub fn user(&self) -> &str {
        &self.user
    }
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The identity files ssh would load, `~` and `%` tokens expanded; OpenSSH 9.x's
    /// defaults when the config names none; `IdentityFile none` entries dropped.
    pub fn identity_files(&self) -> Vec<PathBuf> {
        let raw: Vec<String> = if self.identity_files.is_empty() {
            self.get_all("identityfile")
                .into_iter()
                .map(str::to_string)
                .collect()
        } else {
            self.identity_files
                .iter()
                .map(|v| v.value.clone())
                .collect()
        };
        raw.iter()
            .filter(|s| !s.eq_ignore_ascii_case("none"))
            .map(|s| self.expand_path(s))
            .collect()
    }

    /// True when the configuration set any `IdentityFile`.
    pub fn identity_files_explicit(&self) -> bool {
        !self.identity_files.is_empty()
    }

    pub fn identities_only(&self) -> bool {
        self.get("identitiesonly") == Some("yes")
    }

    pub fn certificate_files(&self) -> Vec<PathBuf> {
        self.certificate_files
            .iter()
            .filter(|v| !v.value.eq_ignore_ascii_case("none"))
            .map(|v| self.expand_path(&v.value))
            .collect()
    }

    /// `IdentityAgent`, expanded. None: use `SSH_AUTH_SOCK`; `Some("none")`: no agent.
    pub fn identity_agent(&self) -> Option<String> {
        self.get("identityagent").map(str::to_string)
    }

    pub fn user_known_hosts_files(&self) -> Vec<PathBuf> {
        split_files(self.get("userknownhostsfile"))
    }

    /// GlobalKnownHostsFile with `~` expanded: ssh -G prints these before ssh expands them
    /// (ssh.c `tilde_expand_paths`, after the dump), while it prints the user files expanded.
    pub fn global_known_hosts_files(&self) -> Vec<PathBuf> {
        split_files(self.get("globalknownhostsfile"))
            .into_iter()
            .map(|p| PathBuf::from(tokens::tilde(&p.to_string_lossy())))
            .collect()
    }

    pub fn hash_known_hosts(&self) -> bool {
        self.get("hashknownhosts") == Some("yes")
    }

    /// The effective PubkeyAcceptedAlgorithms, as ssh -G prints it.
    pub fn pubkey_accepted_algorithms(&self) -> Option<&str> {
        self.get("pubkeyacceptedalgorithms")
    }

    /// The file and line the winning value of `keyword` came from (None for a default).
    pub fn explain(&self, keyword: &str) -> Option<(PathBuf, usize)> {
        self.lines
            .iter()
            .find(|(k, _, _)| *k == keyword)
            .and_then(|(_, _, o)| o.as_ref())
            .map(|o| (o.file.clone(), o.line))
    }

    /// The config line whose value of `op` ssh uses for this host (for a keyword that
    /// accumulates, its first value), whether or not `ssh -G` prints it: `explain` for any
    /// keyword. None: no line set it (a default, or the command line's `-l`/`-p`).
    pub fn origin_of(&self, op: crate::openssh::grammar::Op) -> Option<&Origin> {
        self.opts.origin(op).filter(|o| !o.is_command_line())
    }

    /// `~`, `%` tokens and `${VAR}` the way ssh expands IdentityFile and CertificateFile when
    /// it loads them. An unknown token makes ssh refuse the file; keep it unexpanded here.
    fn expand_path(&self, s: &str) -> PathBuf {
        let t = tokens::tilde(s);
        let p = self.tokens.percent_dollar(&t).unwrap_or(t);
        PathBuf::from(p)
    }
}

/// A known-hosts list as printed; `none` means no file at all.
fn split_files(v: Option<&str>) -> Vec<PathBuf> {
    match v {
        Some(s) if !s.eq_ignore_ascii_case("none") => s.split(' ').map(PathBuf::from).collect(),
        _ => Vec::new(),
    }
}
