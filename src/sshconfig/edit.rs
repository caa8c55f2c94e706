//! fix-config's editor for one host: make HOST resolve to the wanted settings — a pinned key
//! (`IdentityFile KEY` first, `IdentitiesOnly yes`) and/or any `--set 'KEYWORD VALUE'` — by
//! changing the fewest lines of the user's files.
//!
//! Candidate edits are tried from the smallest to the largest: update the host's own `Host`
//! block (in the file, or the `Include`d file, where it lives); insert a stanza before the
//! first block that would otherwise win (ssh keeps the first value it reads); append one at
//! the end; insert one at the top when global lines set the same keywords (those lines move
//! under `Host *`, which applies them to every host as before). Each candidate is evaluated in
//! memory, and kept only if ssh then takes every wanted keyword's value for HOST from its new
//! line, or from a line with the same effect on `ssh -G` (see [`verify`]; the evaluator names
//! the winning line of every keyword, also those `ssh -G` does not print).
//!
//! Other hosts are protected by construction rather than by evaluating each of them (which
//! made fix-config quadratic in the config's size): a candidate only adds or changes option
//! lines under a `Host` header whose positive patterns are literal names (no wildcards), so
//! only the hosts so named can see the change. A sibling on that header line is accepted only
//! when it provably takes every wanted keyword from an earlier line (and is then evaluated
//! before and after); otherwise HOST gets a stanza of its own. The top-of-file candidate
//! moves global lines under `Host *`, which is the same for every host. Hence a constant
//! number of evaluations per candidate: linear time. (The fixture and corpus tests check the
//! argument with the real `ssh -G` on every other host they know.)

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::eval::{self, Request, Resolved};
use super::syntax::{self, Config, Eol, Line, LineKind};
use super::{includes, options, pattern, tokens};
use crate::error::{Error, Result};
use crate::openssh::grammar::{self, Op};

/// One `KEYWORD VALUE` line to make win for the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The keyword as the user spelled it (`PubkeyAcceptedAlgorithms`), written that way.
    pub keyword: String,
    /// What it sets, as the installed ssh reads it (`PubkeyAcceptedKeyTypes` and
    /// `PubkeyAcceptedAlgorithms` are one op): lines that set the same op are the same setting.
    pub op: Op,
    /// The value exactly as it will be written (`+ssh-rsa`, quotes kept).
    pub value: String,
    /// The key `ssh -G` prints for it (None: `ssh -G` prints nothing for this value, e.g.
    /// `ProxyCommand none`, or never prints the keyword, e.g. Apple's `UseKeychain`). Either
    /// way the edit is verified by evaluation: the evaluator knows which line's value wins
    /// ([`Resolved::origin_of`]).
    pub printed: Option<String>,
    /// What `ssh -G` prints for it when this line wins, when that does not depend on the host
    /// (no `%` token in the value): another line with the same effect also satisfies it.
    pub expected: Option<Vec<String>>,
}

impl Setting {
    /// Parse `--set 'KEYWORD VALUE'` (or `KEYWORD=VALUE`) and check it the way the installed
    /// ssh would read it, on a one-line config: an unknown keyword or a bad value is a usage
    /// error here, before anything is read or written.
    pub fn parse(s: &str) -> Result<Setting> {
        let usage = |why: String| Error::usage(format!("--set {s:?}: {why}"));
        if s.chars().any(|c| c.is_control() && c != '\t') {
            return Err(usage("must be a single line".into()));
        }
        let t = s.trim_matches([' ', '\t']);
        let kw_end = t.find([' ', '\t', '=']).unwrap_or(t.len());
        let keyword = &t[..kw_end];
        let mut value = t[kw_end..].trim_start_matches([' ', '\t']);
        if let Some(v) = value.strip_prefix('=') {
            value = v.trim_start_matches([' ', '\t']);
        }
        if keyword.is_empty() || !keyword.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(usage(
                "expected 'KEYWORD VALUE', e.g. --set 'User git'".into(),
            ));
        }
        if value.is_empty() || value.starts_with('#') {
            return Err(usage(format!("no value for {keyword}")));
        }
        let lower = keyword.to_ascii_lowercase();
        let op = match lower.as_str() {
            "host" | "match" => {
                return Err(usage(format!(
                    "{keyword} starts a block; --set changes the settings of the --host given"
                )));
            }
            "include" => return Err(usage("--set cannot add an Include".into())),
            "ignoreunknown" => {
                return Err(usage(
                    "use --ignore-unknown KEYWORD: IgnoreUnknown must precede every use of the \
                     keyword, not sit in one host's block"
                        .into(),
                ));
            }
            _ => match crate::openssh::installed().keyword(&lower) {
                Some(op) if grammar::is_inert(op) => {
                    return Err(usage(format!(
                        "ssh ignores {keyword} (deprecated or not supported by this build)"
                    )));
                }
                Some(op) => op,
                None => {
                    return Err(usage(format!(
                        "Bad configuration option: {lower} (this ssh does not know {keyword})"
                    )));
                }
            },
        };
        let (printed, expected) = check_value(s, keyword, value)?;
        let expected = expected.filter(|_| !value.contains('%'));
        Ok(Setting {
            keyword: keyword.to_string(),
            op,
            value: value.to_string(),
            printed,
            expected,
        })
    }

    /// `IdentityFile KEY`, quoted when the path needs it.
    pub fn identity(identity: &str) -> Setting {
        Setting {
            keyword: "IdentityFile".into(),
            op: Op::IdentityFile,
            value: quote(identity),
            printed: Some("identityfile".into()),
            expected: None,
        }
    }

    pub fn identities_only() -> Setting {
        Setting {
            keyword: "IdentitiesOnly".into(),
            op: Op::IdentitiesOnly,
            value: "yes".into(),
            printed: Some("identitiesonly".into()),
            expected: Some(vec!["yes".into()]),
        }
    }

    /// `Keyword value`, as it would be written.
    pub fn line(&self) -> String {
        format!("{} {}", self.keyword, self.value)
    }

    /// Whether every line of the keyword adds a value (IdentityFile, SendEnv, forwards).
    pub fn accumulates(&self) -> bool {
        grammar::accumulates(self.op)
    }
}

/// Evaluate `Host *` + the line for a throwaway host name: ssh's own check of the value (the
/// evaluator's message, without the throwaway file:line), the key `ssh -G` prints for it and
/// the values it prints.
fn check_value(
    s: &str,
    keyword: &str,
    value: &str,
) -> Result<(Option<String>, Option<Vec<String>>)> {
    let path = PathBuf::from("--set");
    let text = format!("Host *\n{keyword} {value}\n");
    let prepared = eval::prepare(&path, syntax::parse(text.as_bytes()));
    let r = eval::evaluate(&Request {
        host: "herossh-check.invalid".into(),
        config: Some(path.clone()),
        overrides: vec![(path.clone(), prepared)],
        ..Default::default()
    })
    .map_err(|e| {
        let first = e.message.lines().next().unwrap_or_default();
        let why = first
            .strip_prefix("--set: line 2: ")
            .or_else(|| first.strip_prefix("--set line 2: "))
            .unwrap_or(first);
        Error::usage(format!("--set {s:?}: {why}"))
    })?;
    let ours = |o: Option<&eval::Origin>| o.is_some_and(|o| o.file == path && o.line == 2);
    let printed = r
        .lines()
        .find(|(_, _, o)| ours(*o))
        .map(|(k, _, _)| k.to_string());
    let expected = printed.as_ref().map(|k| {
        r.get_all(k)
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
    });
    Ok((printed, expected))
}

/// What to make HOST resolve to, and where.
#[derive(Debug, Clone)]
pub struct FixRequest {
    pub host: String,
    /// The file to edit (`~/.ssh/config` by default).
    pub config: PathBuf,
    /// Whether `config` was given with `-F` (then only that file is read, as `ssh -F` does);
    /// otherwise the system file is evaluated after it, as plain `ssh` does.
    pub explicit_config: bool,
    /// HostName for a new stanza written for a pin.
    pub hostname: Option<String>,
    /// The identity to pin, as it will be written (`~/.ssh/id_heroku`), if any.
    pub identity: Option<String>,
    /// `--set` lines.
    pub settings: Vec<Setting>,
}

/// An edit of one file, verified in memory.
#[derive(Debug, Clone)]
pub struct Plan {
    pub file: PathBuf,
    pub before: Config,
    pub after: Config,
    /// What was done, for the report ("updated the `Host heroku.com` block at config:5").
    pub description: String,
    /// True when the file did not exist.
    pub create: bool,
}

/// A verified host edit: the plan, HOST's resolution with it, where each wanted line sits
/// (1-based line of `plan.file`), and other keys of HOST whose `ssh -G` value the edit changes
/// as a consequence (a new `User` changes a `%r` in ControlPath).
#[derive(Debug, Clone)]
pub struct HostPlan {
    pub plan: Plan,
    /// The files the plan was made from.
    pub inputs: super::writer::Inputs,
    pub resolved: Resolved,
    pub placed: Vec<(Setting, usize)>,
    pub also_changed: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// HOST already resolves as wanted: nothing to write.
    Already,
    Edit(Box<HostPlan>),
}

/// The outcome, with HOST's resolution before any edit (for messages and `Match exec`
/// warnings).
#[derive(Debug, Clone)]
pub struct Planned {
    pub baseline: Resolved,
    pub outcome: Outcome,
}

/// A file the edit may touch: the main config or one it includes, parsed and checked once
/// (the evaluator reads it from the shared cache instead of parsing it again).
struct Source {
    path: PathBuf,
    prepared: Arc<eval::Prepared>,
    exists: bool,
}

impl Source {
    fn config(&self) -> &Config {
        &self.prepared.config
    }
}

/// The tree inside a prepared file, without a copy when nothing else holds it.
fn into_config(p: Arc<eval::Prepared>) -> Config {
    Arc::try_unwrap(p)
        .map(|p| p.config)
        .unwrap_or_else(|p| p.config.clone())
}

pub fn plan(req: &FixRequest) -> Result<Planned> {
    let cache = eval::ParseCache::default();
    let mut inputs = super::writer::Inputs::default();
    let mut sources = vec![load(&req.config, &cache, &mut inputs)?];
    for inc in included_files(sources[0].config()) {
        if inc != req.config && inc.is_file() {
            sources.push(load(&inc, &cache, &mut inputs)?);
        }
    }
    // The baseline must evaluate: a config that does not parse is never rewritten.
    let baseline = resolve(req, &req.host, None, &cache).map_err(|e| untouched(req, e))?;
    let pin = req.identity.as_deref().map(expand);
    let pinned = pin.as_ref().is_some_and(|p| is_pinned(&baseline, p));
    let mut wants = Vec::new();
    if let (Some(id), false) = (&req.identity, pinned) {
        wants.push(Setting::identity(id));
        wants.push(Setting::identities_only());
    }
    wants.extend(req.settings.iter().cloned());
    if wants.is_empty() {
        return Ok(Planned {
            baseline,
            outcome: Outcome::Already,
        });
    }
    let hostname = if req.identity.is_some() && !req.settings.iter().any(|s| s.op == Op::Hostname) {
        // Writing `HostName HOST` is harmless only when it already resolves to HOST.
        req.hostname
            .clone()
            .or_else(|| (baseline.hostname() == req.host.to_lowercase()).then(|| req.host.clone()))
    } else {
        req.hostname.clone()
    };
    let check = Check {
        req,
        sources: &sources,
        baseline: &baseline,
        wants: &wants,
        pin: if pinned { None } else { pin.as_deref() },
        cache: &cache,
    };
    let mut tried = Vec::new();
    let mut accepted = None;
    for spec in specs(req, &sources, &wants) {
        if let Err(why) = check.siblings_unaffected(&spec) {
            tried.push(format!(
                "editing the `Host` block at line {}: {why}",
                spec.line()
            ));
            continue;
        }
        let cand = build(req, &sources, &wants, hostname.as_deref(), &spec);
        let unchanged = same_lines(&cand.after, sources[cand.source].config());
        let description = cand.description.clone();
        match check.candidate(cand) {
            Ok(ok) => {
                accepted = Some((ok, unchanged));
                break;
            }
            Err(why) => tried.push(format!("{description}: {why}")),
        }
    }
    let Some(((cand, resolved), unchanged)) = accepted else {
        return Err(Error::failed(format!(
            "cannot make {} resolve as wanted in {} without changing other hosts; tried:\n  {}",
            req.host,
            req.config.display(),
            tried.join("\n  ")
        )));
    };
    if unchanged || (same(&baseline, &resolved) && unprinted_in_effect(&baseline, &wants)) {
        return Ok(Planned {
            baseline,
            outcome: Outcome::Already,
        });
    }
    let also_changed = changed_keys(&baseline, &resolved, &wants);
    let placed = wants
        .iter()
        .cloned()
        .zip(cand.placed.iter().map(|p| p + 1))
        .collect();
    drop(cache);
    let src = sources.swap_remove(cand.source);
    Ok(Planned {
        outcome: Outcome::Edit(Box::new(HostPlan {
            inputs,
            plan: Plan {
                file: src.path,
                before: into_config(src.prepared),
                after: cand.after,
                description: cand.description,
                create: !src.exists,
            },
            resolved,
            placed,
            also_changed,
        })),
        baseline,
    })
}

/// Same lines, same bytes: the edit would change nothing.
fn same_lines(a: &Config, b: &Config) -> bool {
    a.lines.len() == b.lines.len()
        && a.lines
            .iter()
            .zip(&b.lines)
            .all(|(x, y)| x.raw == y.raw && x.eol == y.eol)
}

fn untouched(req: &FixRequest, f: eval::Failure) -> Error {
    let mut msg = format!(
        "{} does not parse, so it was left untouched: {}",
        req.config.display(),
        f.message
    );
    for e in &f.errors {
        let eval::ErrorKind::UnknownKeyword(kw) = &e.kind else {
            continue;
        };
        msg.push_str(&if kw.starts_with('\u{feff}') {
            "\n(the file starts with a byte-order mark: `herossh fix-config --remove-bom` \
             removes it)"
                .to_string()
        } else if grammar::lookup(kw).is_some() {
            format!(
                "\n(another ssh build knows `{kw}`: `herossh fix-config --ignore-unknown {kw}` \
                 makes this one ignore it)"
            )
        } else {
            format!("\n(no ssh knows `{kw}`: correct or remove that line)")
        });
        break;
    }
    Error::failed(msg)
}

/// Check HOST's resolution against the placed lines: for each wanted keyword, the value ssh
/// uses comes from its line, or from another line with the same effect on what `ssh -G`
/// prints. Used in memory on every candidate and again on what was written.
pub fn verify(r: &Resolved, file: &Path, placed: &[(Setting, usize)]) -> Result<(), String> {
    for (w, line) in placed {
        let from = r.origin_of(w.op);
        if from.is_some_and(|o| o.file == file && o.line == *line) {
            continue;
        }
        if let (Some(k), Some(expected)) = (&w.printed, &w.expected)
            && !w.accumulates()
            && r.get_all(k) == *expected
        {
            continue;
        }
        let at = from
            .map(|o| format!("{}:{}", crate::paths::display_tilde(&o.file), o.line))
            .unwrap_or_else(|| "the default".into());
        let now = match &w.printed {
            Some(k) => format!("{k} {}", r.get(k).unwrap_or("(none)")),
            None => format!("the {} of {at}", w.keyword),
        };
        return Err(format!(
            "{} would still resolve to {now} (from {at})",
            r.host_arg
        ));
    }
    Ok(())
}

/// For the keywords `ssh -G` shows nothing of (see [`Setting::printed`]), an unchanged
/// `ssh -G` output does not mean ssh does the same: each must already take the wanted value
/// from some line.
fn unprinted_in_effect(r: &Resolved, wants: &[Setting]) -> bool {
    wants.iter().filter(|w| w.printed.is_none()).all(|w| {
        r.origin_of(w.op)
            .and_then(|o| line_at(&o.file, o.line))
            .is_some_and(|l| says(&l, w))
    })
}

/// Line `line` (1-based) of `file` as it is on disk.
fn line_at(file: &Path, line: usize) -> Option<Line> {
    let bytes = includes::read(file).ok()?;
    syntax::parse(&bytes)
        .lines
        .into_iter()
        .nth(line.checked_sub(1)?)
}

/// The identity is the first one ssh loads and IdentitiesOnly is on.
pub fn is_pinned(r: &Resolved, want: &Path) -> bool {
    r.identities_only() && r.identity_files().first().is_some_and(|f| f == want)
}

/// How a pinned identity is compared with the resolved list: `~` expanded.
pub fn expand(identity: &str) -> PathBuf {
    PathBuf::from(tokens::tilde(identity))
}

/// Everything a candidate is checked against.
struct Check<'a> {
    req: &'a FixRequest,
    sources: &'a [Source],
    baseline: &'a Resolved,
    wants: &'a [Setting],
    /// The identity to pin, unless already pinned.
    pin: Option<&'a Path>,
    cache: &'a eval::ParseCache,
}

impl Check<'_> {
    /// Evaluate HOST with the candidate: the candidate back and HOST's resolution; or why the
    /// candidate is rejected.
    fn candidate(&self, cand: Candidate) -> Result<(Candidate, Resolved), String> {
        let src = &self.sources[cand.source];
        let Candidate {
            source,
            description,
            after,
            placed,
            siblings,
            kind,
        } = cand;
        let over = (src.path.clone(), eval::prepare(&src.path, after));
        let r = resolve(self.req, &self.req.host, Some(over.clone()), self.cache)
            .map_err(|e| e.message)?;
        let placed_lines: Vec<(Setting, usize)> = self
            .wants
            .iter()
            .cloned()
            .zip(placed.iter().map(|p| p + 1))
            .collect();
        verify(&r, &src.path, &placed_lines)?;
        if let Some(p) = self.pin
            && !is_pinned(&r, p)
        {
            return Err(format!(
                "{} would still resolve to identityfile {} / identitiesonly {}",
                self.req.host,
                r.get("identityfile").unwrap_or("?"),
                r.get("identitiesonly").unwrap_or("?")
            ));
        }
        if self.req.settings.is_empty() && strip(self.baseline) != strip(&r) {
            return Err(format!(
                "it would change other settings of {}",
                self.req.host
            ));
        }
        for h in &siblings {
            let before = resolve(self.req, h, None, self.cache).map_err(|e| e.message)?;
            let after =
                resolve(self.req, h, Some(over.clone()), self.cache).map_err(|e| e.message)?;
            if !same(&before, &after) {
                return Err(format!("it would change how {h} resolves"));
            }
        }
        let after = into_config(over.1);
        Ok((
            Candidate {
                source,
                description,
                after,
                placed,
                siblings,
                kind,
            },
            r,
        ))
    }

    /// Before building an edit of a block shared with other names: each of them must get
    /// every wanted keyword from a line above the block already (then the edit cannot reach
    /// it; the full check after the edit confirms). Anything else would change that name, or
    /// could not be shown to leave it alone (a keyword that accumulates), so the block is left
    /// alone and a stanza of HOST's own is written instead.
    fn siblings_unaffected(&self, spec: &Spec) -> Result<(), String> {
        let Kind::OwnBlock(header, _) = spec.kind else {
            return Ok(());
        };
        let file = &self.sources[spec.source].path;
        for h in &spec.siblings {
            let r = resolve(self.req, h, None, self.cache).map_err(|e| e.message)?;
            for w in self.wants {
                let earlier = !w.accumulates()
                    && r.origin_of(w.op)
                        .is_some_and(|o| o.file == *file && o.line <= header);
                if !earlier {
                    return Err(format!("it would change how {h} resolves"));
                }
            }
        }
        Ok(())
    }
}

/// Keys of HOST's `ssh -G` output that the edit changes besides the wanted ones.
fn changed_keys(before: &Resolved, after: &Resolved, wants: &[Setting]) -> Vec<String> {
    let mut keys: Vec<&str> = Vec::new();
    for (k, _, _) in before.lines().chain(after.lines()) {
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys.into_iter()
        .filter(|k| !wants.iter().any(|w| w.printed.as_deref() == Some(*k)))
        .filter(|k| before.get_all(k) != after.get_all(k))
        .map(str::to_string)
        .collect()
}

fn load(
    path: &Path,
    cache: &eval::ParseCache,
    inputs: &mut super::writer::Inputs,
) -> Result<Source> {
    let (config, exists) = match includes::read(path) {
        Ok(b) => {
            inputs.add(path, Some(&b));
            (syntax::parse(&b), true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            inputs.add(path, None);
            (Config::default(), false)
        }
        Err(e) => return Err(crate::error::io_error(path, "read", e)),
    };
    let prepared = eval::prepare(path, config);
    if exists && let Ok(mut map) = cache.lock() {
        map.insert(path.to_path_buf(), prepared.clone());
    }
    Ok(Source {
        path: path.to_path_buf(),
        prepared,
        exists,
    })
}

fn same(a: &Resolved, b: &Resolved) -> bool {
    a.lines()
        .map(|(k, v, _)| (k, v))
        .eq(b.lines().map(|(k, v, _)| (k, v)))
}

/// A pin may change only identityfile/identitiesonly (and HostName, and what derives from it).
fn strip(r: &Resolved) -> Vec<String> {
    r.lines()
        .filter(|(k, _, _)| {
            !matches!(
                *k,
                "identityfile" | "identitiesonly" | "hostname" | "controlpath"
            )
        })
        .map(|(k, v, _)| format!("{k} {v}"))
        .collect()
}

fn resolve(
    req: &FixRequest,
    host: &str,
    over: Option<(PathBuf, Arc<eval::Prepared>)>,
    cache: &eval::ParseCache,
) -> std::result::Result<Resolved, eval::Failure> {
    let mut overrides = Vec::new();
    let replaces_main = over.as_ref().is_some_and(|(p, _)| *p == req.config);
    if let Some(o) = over {
        overrides.push(o);
    }
    if !replaces_main && !req.config.exists() {
        // A missing config evaluates as an empty one.
        overrides.push((
            req.config.clone(),
            eval::prepare(&req.config, Config::default()),
        ));
    }
    eval::evaluate_detailed(&Request {
        host: host.to_string(),
        config: req.explicit_config.then(|| req.config.clone()),
        user: None,
        port: None,
        allow_exec: false,
        overrides,
        cache: Some(cache.clone()),
        ..Default::default()
    })
}

/// Files named by the main file's Include lines (relative ones under ~/.ssh).
fn included_files(c: &Config) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for l in &c.lines {
        let Some(d) = l.directive() else { continue };
        if d.keyword != "include" {
            continue;
        }
        for a in d.args.iter().flatten() {
            for p in includes::expand(a) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// Which kind of edit a candidate is, and where.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// The host's own block: header and end.
    OwnBlock(usize, usize),
    /// A new stanza inserted at this line, before the first block that would win.
    BeforeWinner(usize),
    Append,
    /// A new stanza inserted at this line, with the global lines after it under `Host *`.
    AboveGlobals(usize),
}

/// A candidate before its tree is built (built one at a time: most plans need the first).
struct Spec {
    source: usize,
    kind: Kind,
    /// Other names the edited header matches literally: they must not change.
    siblings: Vec<String>,
}

impl Spec {
    /// 1-based line of the edited block's header (for messages).
    fn line(&self) -> usize {
        match self.kind {
            Kind::OwnBlock(h, _) | Kind::BeforeWinner(h) | Kind::AboveGlobals(h) => h + 1,
            Kind::Append => 0,
        }
    }
}

struct Candidate {
    source: usize,
    description: String,
    after: Config,
    /// 0-based line of each wanted setting in `after`.
    placed: Vec<usize>,
    siblings: Vec<String>,
    kind: Kind,
}

/// The candidate edits, smallest first.
fn specs(req: &FixRequest, sources: &[Source], wants: &[Setting]) -> Vec<Spec> {
    let mut out = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        if let Some((header, end, siblings)) = own_block(s.config(), &req.host) {
            out.push(Spec {
                source: i,
                kind: Kind::OwnBlock(header, end),
                siblings,
            });
        }
    }
    let main = sources[0].config();
    let kws: Vec<Op> = wants.iter().map(|w| w.op).collect();
    let new = |kind| Spec {
        source: 0,
        kind,
        siblings: Vec::new(),
    };
    if let Some(header) = first_winner(main, &req.host, &kws) {
        out.push(new(Kind::BeforeWinner(above_comments(main, header))));
    }
    out.push(new(Kind::Append));
    if let Some(at) = first_global_setter(main, &kws) {
        out.push(new(Kind::AboveGlobals(at)));
    }
    out
}

/// The tree of one candidate.
fn build(
    req: &FixRequest,
    sources: &[Source],
    wants: &[Setting],
    hostname: Option<&str>,
    spec: &Spec,
) -> Candidate {
    let src = &sources[spec.source];
    let main = src.config();
    let shown = crate::paths::display_tilde(&src.path);
    let eol = main.dominant_eol();
    let stanza = || stanza_lines(main, &req.host, hostname, wants);
    let (description, after, placed) = match spec.kind {
        Kind::OwnBlock(header, end) => {
            let (after, placed) = edit_block(main, header, end, wants);
            (
                format!(
                    "updated the `Host {}` block at {shown}:{}",
                    req.host,
                    header + 1
                ),
                after,
                placed,
            )
        }
        Kind::BeforeWinner(at) | Kind::AboveGlobals(at) => {
            let (mut lines, offsets) = stanza();
            let description = if let Kind::BeforeWinner(_) = spec.kind {
                lines.push(Line::new(Vec::new(), eol));
                format!(
                    "inserted a `Host {}` stanza at {shown}:{}, before the first block that would otherwise win",
                    req.host,
                    at + 1
                )
            } else {
                lines.push(Line::new(b"Host *".to_vec(), eol));
                format!(
                    "inserted a `Host {}` stanza at {shown}:{}, above global lines that set the same keywords for every host (they now sit under `Host *`, which applies them to every host as before)",
                    req.host,
                    at + 1
                )
            };
            let mut after = Config {
                lines: Vec::with_capacity(main.lines.len() + lines.len()),
            };
            after.lines.extend_from_slice(&main.lines[..at]);
            after.lines.extend(lines);
            after.lines.extend_from_slice(&main.lines[at..]);
            (description, after, offsets.iter().map(|o| at + o).collect())
        }
        Kind::Append => {
            let mut after = main.clone();
            let (lines, offsets) = stanza();
            let at = append(&mut after, lines);
            (
                format!("added a `Host {}` stanza at the end of {shown}", req.host),
                after,
                offsets.iter().map(|o| at + o).collect(),
            )
        }
    };
    Candidate {
        source: spec.source,
        description,
        after,
        placed,
        siblings: spec.siblings.clone(),
        kind: spec.kind,
    }
}

/// The first `Host` block naming HOST literally whose positive patterns are all literal
/// names, so an edit there reaches only those names: (header, end, the other names).
fn own_block(c: &Config, host: &str) -> Option<(usize, usize, Vec<String>)> {
    c.blocks().into_iter().find_map(|b| {
        let h = b.header?;
        let d = c.lines[h].directive()?;
        let args = d.args.as_ref()?;
        if d.keyword != "host" || !args.iter().any(|a| a == host) || !pattern::host_line(host, args)
        {
            return None;
        }
        let positive: Vec<&str> = args.iter().filter(|a| !a.starts_with('!')).collect();
        if positive.iter().any(|a| a.contains(['*', '?'])) {
            return None;
        }
        let mut siblings: Vec<String> = Vec::new();
        for a in positive {
            if a != host && !siblings.iter().any(|s| s == a) {
                siblings.push(a.to_owned());
            }
        }
        Some((h, b.lines.end, siblings))
    })
}

/// What a line sets, as the installed ssh reads it (None: not a directive, unknown to this
/// ssh, or accepted without effect).
fn op_of(l: &Line) -> Option<Op> {
    crate::openssh::installed()
        .keyword(l.directive()?.keyword)
        .filter(|op| !grammar::is_inert(*op))
}

/// Indentation and separator to copy: from the first option line of the block, else the
/// file's first indented option, else two spaces and one space.
fn style(c: &Config, range: Option<(usize, usize)>) -> (Vec<u8>, Vec<u8>, bool) {
    let pick = |l: &Line| -> Option<(Vec<u8>, Vec<u8>, bool)> {
        let d = l.directive()?;
        if d.keyword == "host" || d.keyword == "match" {
            return None;
        }
        let sep = l.raw[d.keyword_span.end..d.value_start].to_vec();
        let kw = &l.raw[d.keyword_span.clone()];
        let lower = kw.iter().all(|b| !b.is_ascii_uppercase());
        Some((l.indent().to_vec(), sep, lower))
    };
    if let Some((s, e)) = range
        && let Some(found) = c.lines[s + 1..e].iter().find_map(pick)
    {
        return found;
    }
    c.lines
        .iter()
        .filter(|l| !l.indent().is_empty())
        .find_map(pick)
        .unwrap_or_else(|| (b"  ".to_vec(), b" ".to_vec(), false))
}

/// A path as an ssh_config value: quoted when it holds a space, `#` or a quote.
pub fn quote(v: &str) -> String {
    if v.contains([' ', '\t', '#', '"', '\'']) {
        format!("\"{}\"", v.replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

/// A new option line; `value` is written as given.
fn option_line(indent: &[u8], sep: &[u8], lower: bool, kw: &str, value: &str, eol: Eol) -> Line {
    let mut raw = indent.to_vec();
    if lower {
        raw.extend_from_slice(kw.to_ascii_lowercase().as_bytes());
    } else {
        raw.extend_from_slice(kw.as_bytes());
    }
    raw.extend_from_slice(sep);
    raw.extend_from_slice(value.as_bytes());
    Line::new(raw, eol)
}

/// Where a line's value ends: the rest of the line (trailing blanks aside) for command
/// keywords, else the end of the last argument before a `#` comment.
fn value_end(l: &Line, start: usize, command: bool) -> usize {
    if command {
        return syntax::value_end(&l.raw, start);
    }
    syntax::word_spans(&l.raw, start)
        .last()
        .map_or(start, |w| w.end)
}

/// The line with its value replaced, keyword spelling, separator and trailing comment kept.
fn replace_value(l: &Line, value: &str, command: bool) -> Line {
    let Some(d) = l.directive() else {
        return l.clone();
    };
    let end = value_end(l, d.value_start, command);
    let mut raw = l.raw[..d.value_start].to_vec();
    raw.extend_from_slice(value.as_bytes());
    raw.extend_from_slice(&l.raw[end..]);
    Line::new(raw, l.eol)
}

/// Whether an existing line already says what `w` says.
fn says(l: &Line, w: &Setting) -> bool {
    let Some(have) = l.directive().and_then(|d| d.args) else {
        return false;
    };
    let Some(want) = syntax::argv_split(&w.value) else {
        return false;
    };
    if w.op == Op::IdentityFile {
        return have.first().map(expand) == want.first().map(|a| expand(a));
    }
    have.iter().eq(want.iter().map(String::as_str))
}

/// Set every wanted keyword in the block `header..end`: a single-valued keyword's first line
/// gets the new value in place (nothing else of the line changes); an accumulating one gets
/// a new line before its first; anything missing goes right under the header, in order.
/// Returns the new tree and the 0-based line of each wanted setting.
fn edit_block(c: &Config, header: usize, end: usize, wants: &[Setting]) -> (Config, Vec<usize>) {
    let (indent, sep, lower) = style(c, Some((header, end)));
    let eol = c.dominant_eol();
    // Per wanted setting: an existing line it sits on (maybe replaced), or a new line
    // inserted before old line `at`.
    enum Place {
        On(usize, Option<Line>),
        Before(usize, Line),
    }
    let places: Vec<Place> = wants
        .iter()
        .map(|w| {
            let first = (header + 1..end).find(|&i| op_of(&c.lines[i]) == Some(w.op));
            let new = || option_line(&indent, &sep, lower, &w.keyword, &w.value, eol);
            match first {
                Some(i) if says(&c.lines[i], w) => Place::On(i, None),
                Some(i) if w.accumulates() => Place::Before(i, new()),
                Some(i) => Place::On(
                    i,
                    Some(replace_value(
                        &c.lines[i],
                        &w.value,
                        options::value_is_rest_of_line(w.op),
                    )),
                ),
                None => Place::Before(header + 1, new()),
            }
        })
        .collect();
    let mut lines = Vec::with_capacity(c.lines.len() + wants.len());
    let mut placed = vec![0; wants.len()];
    for i in 0..=c.lines.len() {
        for (wi, p) in places.iter().enumerate() {
            if let Place::Before(at, line) = p
                && *at == i
            {
                placed[wi] = lines.len();
                lines.push(line.clone());
            }
        }
        if i == c.lines.len() {
            break;
        }
        let mut line = c.lines[i].clone();
        for (wi, p) in places.iter().enumerate() {
            if let Place::On(at, new) = p
                && *at == i
            {
                placed[wi] = lines.len();
                if let Some(n) = new {
                    line = n.clone();
                }
            }
        }
        lines.push(line);
    }
    let mut after = Config { lines };
    keep_missing_final_newline(c, &mut after);
    (after, placed)
}

/// When lines were added after a last line that had no newline, the new last line takes
/// over the "no newline" and the old one gets the file's usual ending.
fn keep_missing_final_newline(before: &Config, after: &mut Config) {
    let Some(old_last) = before.lines.last() else {
        return;
    };
    if old_last.eol != Eol::None || after.lines.last().map(|l| &l.raw) == Some(&old_last.raw) {
        return;
    }
    let eol = before.dominant_eol();
    for l in after.lines.iter_mut() {
        if l.eol == Eol::None {
            l.eol = eol;
        }
    }
    if let Some(l) = after.lines.last_mut() {
        l.eol = Eol::None;
    }
}

/// `Host HOST`, HostName (for a pin), then the wanted lines; and each wanted line's offset.
fn stanza_lines(
    c: &Config,
    host: &str,
    hostname: Option<&str>,
    wants: &[Setting],
) -> (Vec<Line>, Vec<usize>) {
    let (indent, sep, lower) = style(c, None);
    let eol = c.dominant_eol();
    let mut v = vec![option_line(b"", b" ", lower, "Host", host, eol)];
    if let Some(h) = hostname {
        v.push(option_line(
            &indent,
            &sep,
            lower,
            "HostName",
            &quote(h),
            eol,
        ));
    }
    let mut offsets = Vec::new();
    for w in wants {
        offsets.push(v.len());
        v.push(option_line(&indent, &sep, lower, &w.keyword, &w.value, eol));
    }
    (v, offsets)
}

/// Append a stanza after a blank line; returns the index of its first line.
fn append(c: &mut Config, lines: Vec<Line>) -> usize {
    let eol = c.dominant_eol();
    let had_final_newline = c.lines.last().is_none_or(|l| l.eol != Eol::None);
    if let Some(last) = c.lines.last_mut() {
        if last.eol == Eol::None {
            last.eol = eol;
        }
        if !matches!(last.kind, LineKind::Blank) {
            c.lines.push(Line::new(Vec::new(), eol));
        }
    }
    let at = c.lines.len();
    c.lines.extend(lines);
    if !had_final_newline && let Some(last) = c.lines.last_mut() {
        last.eol = Eol::None;
    }
    at
}

/// The header of the first block that applies to HOST and could set one of `kws` before a
/// stanza at the end would: a matching `Host` block or any `Match` block with such lines
/// (or an Include).
fn first_winner(c: &Config, host: &str, kws: &[Op]) -> Option<usize> {
    for b in c.blocks() {
        let Some(h) = b.header else { continue };
        let Some(d) = c.lines[h].directive() else {
            continue;
        };
        let applies = match d.keyword {
            "host" => pattern::host_line(host, d.args.unwrap_or(syntax::Args::EMPTY)),
            _ => true,
        };
        if applies && c.lines[h + 1..b.lines.end].iter().any(|l| sets(l, kws)) {
            return Some(h);
        }
    }
    None
}

/// Where to insert above line `at`: above the comment lines directly on top of it.
fn above_comments(c: &Config, mut at: usize) -> usize {
    while at > 0 && matches!(c.lines[at - 1].kind, LineKind::Comment) {
        at -= 1;
    }
    at
}

fn sets(l: &Line, kws: &[Op]) -> bool {
    l.directive().is_some_and(|d| d.keyword == "include")
        || op_of(l).is_some_and(|k| kws.contains(&k))
}

/// The first global line (before any Host/Match) when global lines set one of `kws` or
/// include files: a stanza can only win above it.
fn first_global_setter(c: &Config, kws: &[Op]) -> Option<usize> {
    let global = c.blocks().into_iter().next()?;
    let first_directive = global
        .lines
        .clone()
        .find(|&i| c.lines[i].directive().is_some())?;
    let any = global.lines.clone().any(|i| sets(&c.lines[i], kws));
    any.then_some(first_directive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sshconfig::syntax::parse;

    fn pin_wants(id: &str) -> Vec<Setting> {
        vec![Setting::identity(id), Setting::identities_only()]
    }

    #[test]
    fn edits_a_block_in_its_own_style() {
        let c = parse(b"Host a\n\tUser=x\n\tIdentitiesOnly=no # keep\nHost b\n  User y\n");
        let (after, placed) = edit_block(&c, 0, 3, &pin_wants("/k/id"));
        assert_eq!(
            after.print(),
            b"Host a\n\tIdentityFile=/k/id\n\tUser=x\n\tIdentitiesOnly=yes # keep\nHost b\n  User y\n"
        );
        assert_eq!(placed, vec![1, 3]);
    }

    #[test]
    fn insert_before_existing_identity_and_keep_no_final_newline() {
        let c = parse(b"host a\n  identityfile /old");
        let (after, placed) = edit_block(&c, 0, 2, &pin_wants("/new key"));
        assert_eq!(
            after.print(),
            b"host a\n  identityfile \"/new key\"\n  identitiesonly yes\n  identityfile /old"
        );
        assert_eq!(placed, vec![1, 2]);
        let c = parse(b"Host a");
        let (after, _) = edit_block(&c, 0, 1, &pin_wants("/k"));
        assert_eq!(
            after.print(),
            b"Host a\n  IdentityFile /k\n  IdentitiesOnly yes"
        );
    }

    #[test]
    fn values_are_replaced_in_place_keeping_comments_and_quotes() {
        let set = |kw: &str, v: &str| Setting {
            keyword: kw.into(),
            op: crate::openssh::installed()
                .keyword(&kw.to_ascii_lowercase())
                .unwrap(),
            value: v.into(),
            printed: None,
            expected: None,
        };
        let c = parse(
            b"Host a\n  user \"old name\"   # who\n  ProxyCommand nc %h %p # not a comment\n",
        );
        let (after, placed) = edit_block(
            &c,
            0,
            3,
            &[set("User", "git"), set("ProxyCommand", "ssh -W %h:%p j")],
        );
        assert_eq!(
            after.print(),
            b"Host a\n  user git   # who\n  ProxyCommand ssh -W %h:%p j\n"
        );
        assert_eq!(placed, vec![1, 2]);
        // Already saying it: not a byte changes.
        let (same, _) = edit_block(&after, 0, 3, &[set("User", "git")]);
        assert_eq!(same.print(), after.print());
    }

    #[test]
    fn winner_and_global_setter() {
        let c = parse(b"User u\n# defaults\nHost *\n  IdentityFile /x\n");
        let k = [Op::IdentityFile, Op::IdentitiesOnly];
        assert_eq!(first_winner(&c, "h", &k), Some(2));
        assert_eq!(above_comments(&c, 2), 1);
        assert_eq!(first_global_setter(&c, &k), None);
        assert_eq!(first_global_setter(&c, &[Op::User]), Some(0));
        let g = parse(b"# top\nIdentitiesOnly no\nHost x\n");
        assert_eq!(first_global_setter(&g, &k), Some(1));
    }

    #[test]
    fn own_block_needs_literal_names() {
        let c = parse(b"Host a *.b\n  User x\nHost a c !d\n  User y\n");
        assert_eq!(own_block(&c, "a"), Some((2, 4, vec!["c".to_string()])));
        assert_eq!(own_block(&c, "z"), None);
    }

    /// `Host *` plus `lines`, evaluated for a throwaway host.
    fn eval_text(lines: &str) -> Resolved {
        let path = PathBuf::from("/herossh-test/cfg");
        let text = format!("Host *\n{lines}");
        eval::evaluate(&Request {
            host: "h.invalid".into(),
            config: Some(path.clone()),
            overrides: vec![(path.clone(), eval::prepare(&path, parse(text.as_bytes())))],
            ..Default::default()
        })
        .unwrap()
    }

    /// Every edit is verified by evaluation: for every keyword the installed ssh knows, the
    /// evaluator names the line whose value it uses, printed by `ssh -G` or not.
    #[test]
    fn every_keyword_this_ssh_knows_is_verified_by_evaluation() {
        let client = crate::openssh::installed();
        let mut checked = 0;
        for k in grammar::KEYWORDS {
            let Some(op) = client.keyword(k.name) else {
                continue;
            };
            if grammar::is_inert(op)
                || matches!(
                    op,
                    Op::Host | Op::Match | Op::Include | Op::IgnoreUnknown | Op::RefuseConnection
                )
            {
                continue;
            }
            let r = eval_text(&format!("{} {}\n", k.name, k.sample));
            let o = r.origin_of(op);
            assert_eq!(o.map(|o| o.line), Some(2), "{}", k.name);
            checked += 1;
        }
        assert!(checked > 80, "{checked}");
    }

    /// grammar::accumulates agrees with the evaluator: those keywords print every line's
    /// value, the others keep the first line's.
    #[test]
    fn accumulating_keywords_are_the_evaluators() {
        for (kw, a, b, printed) in [
            ("IdentityFile", "/a", "/b", "identityfile"),
            ("CertificateFile", "/a", "/b", "certificatefile"),
            ("LocalForward", "1 h:1", "2 h:2", "localforward"),
            ("RemoteForward", "1 h:1", "2 h:2", "remoteforward"),
            ("DynamicForward", "1", "2", "dynamicforward"),
            ("SendEnv", "A", "B", "sendenv"),
            ("SetEnv", "A=1", "B=2", "setenv"),
            ("User", "a", "b", "user"),
            ("UserKnownHostsFile", "/a", "/b", "userknownhostsfile"),
            (
                "CanonicalDomains",
                "a.example",
                "b.example",
                "canonicaldomains",
            ),
            ("PermitRemoteOpen", "h:1", "h:2", "permitremoteopen"),
        ] {
            let op = crate::openssh::installed()
                .keyword(&kw.to_ascii_lowercase())
                .unwrap();
            let r = eval_text(&format!("{kw} {a}\n{kw} {b}\n"));
            let n = r.get_all(printed).len();
            assert_eq!(
                n == 2,
                grammar::accumulates(op),
                "{kw}: {:?}",
                r.get_all(printed)
            );
            assert_eq!(r.origin_of(op).map(|o| o.line), Some(2), "{kw}");
        }
    }

    #[test]
    fn settings_parse_like_ssh_reads_them() {
        let s = Setting::parse("PubkeyAcceptedKeyTypes=+ssh-rsa").unwrap();
        assert_eq!(
            (s.keyword.as_str(), s.op, s.value.as_str()),
            (
                "PubkeyAcceptedKeyTypes",
                Op::PubkeyAcceptedAlgorithms,
                "+ssh-rsa"
            )
        );
        assert_eq!(s.printed.as_deref(), Some("pubkeyacceptedalgorithms"));
        let s = Setting::parse("  User   git  ").unwrap();
        assert_eq!(s.line(), "User git");
        assert_eq!(s.expected, Some(vec!["git".to_string()]));
        for (bad, says) in [
            ("User", "no value"),
            ("Bogus yes", "Bad configuration option: bogus"),
            ("Host x", "starts a block"),
            ("Include x", "cannot add an Include"),
            ("IgnoreUnknown X", "--ignore-unknown"),
            ("Port banana", "Bad port 'banana'"),
            ("User a\nHost b", "single line"),
            ("= x", "expected"),
            ("Protocol 2", "ssh ignores"),
        ] {
            let e = Setting::parse(bad).unwrap_err();
            assert_eq!(e.kind, crate::error::Kind::Usage, "{bad}");
            assert!(e.message.contains(says), "{bad}: {}", e.message);
        }
    }
}
