//! fix-config's editor: make HOST resolve to `IdentityFile IDENTITY` first and
//! `IdentitiesOnly yes`, changing the fewest lines of the user's file.
//!
//! Candidate edits are tried from the smallest to the largest (update the host's own block;
//! insert a stanza before the first block that would otherwise win; insert one at the top when
//! global lines pin other values; append one at the end). Each candidate is evaluated in
//! memory and kept only if HOST now resolves as wanted and no other host named in the files
//! resolves differently, so an edit that would surprise the user is never written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::eval::{self, Request};
use super::syntax::{self, Config, Eol, Line, LineKind};
use super::{pattern, tokens};
use crate::error::{Error, Result};

/// What to pin, and where.
#[derive(Debug, Clone)]
pub struct FixRequest {
    pub host: String,
    /// The identity as it will be written (`~/.ssh/id_heroku` or an absolute path).
    pub identity: String,
    /// The file to edit (`~/.ssh/config` by default).
    pub config: PathBuf,
    /// Whether `config` was given with `-F` (then only that file is read, as `ssh -F` does);
    /// otherwise the system file is evaluated after it, as plain `ssh` does.
    pub explicit_config: bool,
    /// HostName for a new stanza.
    pub hostname: Option<String>,
}

/// A verified edit of one file.
#[derive(Debug, Clone)]
pub struct Plan {
    pub file: PathBuf,
    pub before: Config,
    pub after: Config,
    /// What was done, for the report ("updated the Host heroku.com block at line 5").
    pub description: String,
    /// True when the file did not exist.
    pub create: bool,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    AlreadyPinned,
    Edit(Plan),
}

/// A file the edit may touch: the main config or one it includes.
struct Source {
    path: PathBuf,
    config: Config,
    exists: bool,
}

pub fn plan(req: &FixRequest) -> Result<Outcome> {
    let main = load(&req.config)?;
    let mut sources = vec![main];
    for inc in included_files(&sources[0].config) {
        if inc != req.config && inc.is_file() {
            sources.push(load(&inc)?);
        }
    }
    let hosts = hosts_to_compare(req, &sources);
    let cache = eval::ParseCache::default();
    // The baseline must evaluate: a config that does not parse is never rewritten.
    let baseline = resolve_all(req, &hosts, None, &cache).map_err(|e| {
        Error::failed(format!(
            "{} does not parse, so it was left untouched: {}",
            req.config.display(),
            e.message
        ))
    })?;
    let want = expand(&req.identity);
    if is_pinned(&baseline[0], &want) {
        return Ok(Outcome::AlreadyPinned);
    }
    // The host itself: only identityfile/identitiesonly (and HostName) may differ.
    let strip = |r: &eval::Resolved| -> Vec<String> {
        lines_of(r)
            .into_iter()
            .filter(|l| {
                !l.starts_with("identityfile ")
                    && !l.starts_with("identitiesonly ")
                    && !l.starts_with("hostname ")
                    && !l.starts_with("controlpath ")
            })
            .collect()
    };
    let mut tried = Vec::new();
    for (idx, description, after) in candidates(req, &sources, &baseline[0]) {
        let src = &sources[idx];
        let parsed = eval::prepare(&src.path, after.clone());
        let over = Some((&src.path, parsed));
        // HOST first (cheap), then every other host only for a candidate that pins it.
        let mine = match resolve_all(req, &hosts[..1], over.clone(), &cache) {
            Ok(r) => r,
            Err(e) => {
                tried.push(format!("{description}: {}", e.message));
                continue;
            }
        };
        if !is_pinned(&mine[0], &want) {
            tried.push(format!(
                "{description}: {} would still resolve to identityfile {} / identitiesonly {}",
                req.host,
                mine[0].get("identityfile").unwrap_or("?"),
                mine[0].get("identitiesonly").unwrap_or("?")
            ));
            continue;
        }
        if strip(&baseline[0]) != strip(&mine[0]) {
            tried.push(format!(
                "{description}: it would change other settings of {}",
                req.host
            ));
            continue;
        }
        // One host at a time, stopping at the first that would change.
        let mut changed = None;
        for (h, before) in hosts[1..].iter().zip(&baseline[1..]) {
            match resolve_all(req, std::slice::from_ref(h), over.clone(), &cache) {
                Ok(r) if same(before, &r[0]) => {}
                Ok(_) => {
                    changed = Some(format!("it would change how {h} resolves"));
                    break;
                }
                Err(e) => {
                    changed = Some(e.message);
                    break;
                }
            }
        }
        if let Some(why) = changed {
            tried.push(format!("{description}: {why}"));
            continue;
        }
        return Ok(Outcome::Edit(Plan {
            file: src.path.clone(),
            before: src.config.clone(),
            after,
            description,
            create: !src.exists,
        }));
    }
    Err(Error::failed(format!(
        "cannot pin {} in {} without changing other hosts; tried:\n  {}",
        req.host,
        req.config.display(),
        tried.join("\n  ")
    )))
}

fn load(path: &Path) -> Result<Source> {
    match crate::fsutil::read_limited(path, crate::fsutil::FileKind::SshConfig) {
        Ok(b) => Ok(Source {
            path: path.to_path_buf(),
            config: syntax::parse(&b),
            exists: true,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Source {
            path: path.to_path_buf(),
            config: Config::default(),
            exists: false,
        }),
        Err(e) => Err(crate::error::io_error(path, "read", e)),
    }
}

fn expand(identity: &str) -> PathBuf {
    PathBuf::from(tokens::tilde(identity))
}

fn is_pinned(r: &eval::Resolved, want: &Path) -> bool {
    r.identities_only() && r.identity_files().first().is_some_and(|f| f == want)
}

fn same(a: &eval::Resolved, b: &eval::Resolved) -> bool {
    a.lines()
        .map(|(k, v, _)| (k, v))
        .eq(b.lines().map(|(k, v, _)| (k, v)))
}

fn lines_of(r: &eval::Resolved) -> Vec<String> {
    r.lines().map(|(k, v, _)| format!("{k} {v}")).collect()
}

/// HOST first, then every literal host named on a Host line, then a name nothing names
/// (to cover wildcards).
fn hosts_to_compare(req: &FixRequest, sources: &[Source]) -> Vec<String> {
    let mut hosts = vec![req.host.clone()];
    for s in sources {
        for l in &s.config.lines {
            let Some(d) = l.directive() else { continue };
            if d.keyword != "host" {
                continue;
            }
            for a in d.args.iter().flatten() {
                if !a.contains(['*', '?', '!', '%'])
                    && eval::valid_hostname(a)
                    && !a.is_empty()
                    && !hosts.contains(a)
                {
                    hosts.push(a.clone());
                }
            }
        }
    }
    hosts.push("herossh-unnamed-host.invalid".to_string());
    // Hosts that share a Host line with HOST are the likeliest to change: check them first,
    // so a candidate that would affect them is rejected early.
    let siblings: Vec<String> = sources
        .iter()
        .flat_map(|s| s.config.lines.iter())
        .filter_map(|l| l.directive())
        .filter(|d| d.keyword == "host")
        .filter_map(|d| d.args.as_ref())
        .filter(|args| args.contains(&req.host))
        .flatten()
        .cloned()
        .collect();
    hosts[1..].sort_by_key(|h| !siblings.contains(h));
    hosts
}

fn resolve_all(
    req: &FixRequest,
    hosts: &[String],
    over: Option<(&PathBuf, Arc<eval::Prepared>)>,
    cache: &eval::ParseCache,
) -> Result<Vec<eval::Resolved>> {
    let mut overrides = Vec::new();
    let replaces_main = over.as_ref().is_some_and(|(p, _)| **p == req.config);
    if let Some((p, c)) = over {
        overrides.push((p.clone(), c));
    }
    if !req.config.exists() && !replaces_main {
        // A missing config evaluates as an empty one.
        overrides.push((
            req.config.clone(),
            eval::prepare(&req.config, Config::default()),
        ));
    }
    hosts
        .iter()
        .map(|h| {
            eval::evaluate(&Request {
                host: h.clone(),
                config: if req.explicit_config {
                    Some(req.config.clone())
                } else {
                    None
                },
                user: None,
                port: None,
                allow_exec: false,
                overrides: overrides.clone(),
                cache: Some(cache.clone()),
                ..Default::default()
            })
        })
        .collect()
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
            let full = if a.starts_with('/') || a.starts_with('~') {
                tokens::tilde(a)
            } else {
                crate::paths::ssh_dir().join(a).display().to_string()
            };
            for p in eval::glob(&full) {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
        }
    }
    out
}

/// The candidate edits, smallest first: (source index, description, new tree).
fn candidates(
    req: &FixRequest,
    sources: &[Source],
    before: &eval::Resolved,
) -> Vec<(usize, String, Config)> {
    let mut out = Vec::new();
    for (i, s) in sources.iter().enumerate() {
        if let Some((header, end)) = exact_block(&s.config, &req.host) {
            let after = edit_block(&s.config, header, end, &req.identity);
            out.push((
                i,
                format!(
                    "updated the `Host {}` block at {}:{}",
                    req.host,
                    s.path.display(),
                    header + 1
                ),
                after,
            ));
        }
    }
    let main = &sources[0].config;
    let hostname = req.hostname.clone().or_else(|| {
        // Writing `HostName HOST` is harmless only when it already resolves to HOST.
        (before.hostname() == req.host.to_lowercase()).then(|| req.host.clone())
    });
    let stanza = |c: &Config| stanza_lines(c, &req.host, hostname.as_deref(), &req.identity);
    if let Some(at) = first_winner(main, &req.host) {
        let mut after = main.clone();
        let mut lines = stanza(main);
        lines.push(Line::new(Vec::new(), main.dominant_eol()));
        after.lines.splice(at..at, lines);
        out.push((
            0,
            format!(
                "inserted a `Host {}` stanza at {}:{}, before the first block that would otherwise win",
                req.host,
                req.config.display(),
                at + 1
            ),
            after,
        ));
    }
    let mut after = main.clone();
    append(&mut after, stanza(main));
    out.push((
        0,
        format!(
            "added a `Host {}` stanza at the end of {}",
            req.host,
            req.config.display()
        ),
        after,
    ));
    if let Some(at) = first_global_pin(main) {
        let mut after = main.clone();
        let eol = main.dominant_eol();
        let mut lines = stanza(main);
        lines.push(Line::new(b"Host *".to_vec(), eol));
        after.lines.splice(at..at, lines);
        out.push((
            0,
            format!(
                "inserted a `Host {}` stanza at {}:{}, above global lines that pin IdentityFile/IdentitiesOnly for every host (they now sit under `Host *`, which applies them to every host as before)",
                req.host,
                req.config.display(),
                at + 1
            ),
            after,
        ));
    }
    out
}

/// The `Host` block whose pattern list names HOST literally: (header index, end).
fn exact_block(c: &Config, host: &str) -> Option<(usize, usize)> {
    c.blocks().into_iter().find_map(|b| {
        let h = b.header?;
        let d = c.lines[h].directive()?;
        (d.keyword == "host" && d.args.as_ref()?.iter().any(|a| a == host))
            .then_some((h, b.lines.end))
    })
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

fn quote(v: &str) -> String {
    if v.contains([' ', '\t', '#', '"', '\'']) {
        format!("\"{}\"", v.replace('"', "\\\""))
    } else {
        v.to_string()
    }
}

fn option_line(indent: &[u8], sep: &[u8], lower: bool, kw: &str, value: &str, eol: Eol) -> Line {
    let mut raw = indent.to_vec();
    raw.extend_from_slice(
        if lower {
            kw.to_ascii_lowercase().into_bytes()
        } else {
            kw.as_bytes().to_vec()
        }
        .as_slice(),
    );
    raw.extend_from_slice(sep);
    raw.extend_from_slice(quote(value).as_bytes());
    Line::new(raw, eol)
}

fn edit_block(c: &Config, header: usize, end: usize, identity: &str) -> Config {
    let (indent, sep, lower) = style(c, Some((header, end)));
    let eol = c.dominant_eol();
    let mut after = c.clone();
    let want = expand(identity);
    let first_if = (header + 1..end).find(|&i| {
        c.lines[i]
            .directive()
            .is_some_and(|d| d.keyword == "identityfile")
    });
    let already_first = first_if.is_some_and(|i| {
        c.lines[i]
            .directive()
            .and_then(|d| d.args.as_ref()?.first().cloned())
            .is_some_and(|a| expand(&a) == want)
    });
    let only = (header + 1..end).find(|&i| {
        c.lines[i]
            .directive()
            .is_some_and(|d| d.keyword == "identitiesonly")
    });
    // Work from the bottom up so indices stay valid.
    let mut inserts: Vec<(usize, Line)> = Vec::new();
    match only {
        Some(i) => {
            let l = &c.lines[i];
            if let Some(d) = l.directive() {
                let yes = d.args.as_ref().and_then(|a| a.first()).is_some_and(|v| {
                    v.eq_ignore_ascii_case("yes") || v.eq_ignore_ascii_case("true")
                });
                if !yes {
                    let vstart = d.value_start;
                    let vend = vstart
                        + l.raw[vstart..]
                            .iter()
                            .take_while(|b| !matches!(b, b' ' | b'\t' | b'#' | b'\r'))
                            .count();
                    let mut raw = l.raw[..vstart].to_vec();
                    raw.extend_from_slice(b"yes");
                    raw.extend_from_slice(&l.raw[vend..]);
                    after.lines[i] = Line::new(raw, l.eol);
                }
            }
        }
        None => {
            let at = match first_if {
                Some(i) if already_first => i + 1,
                Some(i) => i,
                None => header + 1,
            };
            inserts.push((
                at,
                option_line(&indent, &sep, lower, "IdentitiesOnly", "yes", eol),
            ));
        }
    }
    if !already_first {
        let at = first_if.unwrap_or(header + 1);
        inserts.push((
            at,
            option_line(&indent, &sep, lower, "IdentityFile", identity, eol),
        ));
    }
    // IdentityFile goes before IdentitiesOnly when both land at the same place.
    inserts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.raw.cmp(&b.1.raw)));
    for (at, line) in inserts {
        insert_line(&mut after, at, line);
    }
    after
}

/// Insert keeping a missing final newline missing: a line added after the last one takes
/// over its "no newline" and the old last line gets the file's usual ending.
fn insert_line(c: &mut Config, at: usize, mut line: Line) {
    if at == c.lines.len()
        && let Some(last) = c.lines.last_mut()
        && last.eol == Eol::None
    {
        last.eol = line.eol;
        line.eol = Eol::None;
    }
    c.lines.insert(at, line);
}

fn stanza_lines(c: &Config, host: &str, hostname: Option<&str>, identity: &str) -> Vec<Line> {
    let (indent, sep, lower) = style(c, None);
    let eol = c.dominant_eol();
    let mut v = vec![option_line(b"", b" ", lower, "Host", host, eol)];
    if let Some(h) = hostname {
        v.push(option_line(&indent, &sep, lower, "HostName", h, eol));
    }
    v.push(option_line(
        &indent,
        &sep,
        lower,
        "IdentityFile",
        identity,
        eol,
    ));
    v.push(option_line(
        &indent,
        &sep,
        lower,
        "IdentitiesOnly",
        "yes",
        eol,
    ));
    v
}

fn append(c: &mut Config, lines: Vec<Line>) {
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
    c.lines.extend(lines);
    if !had_final_newline && let Some(last) = c.lines.last_mut() {
        last.eol = Eol::None;
    }
}

/// The first block that applies to HOST and could set IdentityFile/IdentitiesOnly before a
/// stanza at the end would: a matching `Host` block or any `Match` block with such lines (or
/// an Include). Returns where to insert: above the comment lines directly on top of it.
fn first_winner(c: &Config, host: &str) -> Option<usize> {
    for b in c.blocks() {
        let Some(h) = b.header else { continue };
        let Some(d) = c.lines[h].directive() else {
            continue;
        };
        let applies = match d.keyword.as_str() {
            "host" => host_matches(d.args.as_deref().unwrap_or(&[]), host),
            _ => true,
        };
        let sets = c.lines[h + 1..b.lines.end].iter().any(|l| {
            l.directive().is_some_and(|d| {
                matches!(
                    d.keyword.as_str(),
                    "identityfile" | "identitiesonly" | "include"
                )
            })
        });
        if applies && sets {
            let mut at = h;
            while at > 0 && matches!(c.lines[at - 1].kind, LineKind::Comment) {
                at -= 1;
            }
            return Some(at);
        }
    }
    None
}

fn host_matches(patterns: &[String], host: &str) -> bool {
    let mut hit = false;
    for p in patterns {
        match p.strip_prefix('!') {
            Some(n) if pattern::matches(host, n) => return false,
            Some(_) => {}
            None => hit |= pattern::matches(host, p),
        }
    }
    hit
}

/// The first global line (before any Host/Match) that sets IdentityFile/IdentitiesOnly or
/// includes files, if any: a stanza can only win above it.
fn first_global_pin(c: &Config) -> Option<usize> {
    let global = c.blocks().into_iter().next()?;
    let first_directive = global
        .lines
        .clone()
        .find(|&i| c.lines[i].directive().is_some())?;
    let pins = global.lines.clone().any(|i| {
        c.lines[i].directive().is_some_and(|d| {
            matches!(
                d.keyword.as_str(),
                "identityfile" | "identitiesonly" | "include"
            )
        })
    });
    pins.then_some(first_directive)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sshconfig::syntax::parse;

    #[test]
    fn edits_a_block_in_its_own_style() {
        let c = parse(b"Host a\n\tUser=x\n\tIdentitiesOnly=no # keep\nHost b\n  User y\n");
        let after = edit_block(&c, 0, 3, "/k/id");
        assert_eq!(
            after.print(),
            b"Host a\n\tIdentityFile=/k/id\n\tUser=x\n\tIdentitiesOnly=yes # keep\nHost b\n  User y\n"
        );
    }

    #[test]
    fn insert_before_existing_identity_and_keep_no_final_newline() {
        let c = parse(b"host a\n  identityfile /old");
        let after = edit_block(&c, 0, 2, "/new key");
        assert_eq!(
            after.print(),
            b"host a\n  identityfile \"/new key\"\n  identitiesonly yes\n  identityfile /old"
        );
    }

    #[test]
    fn winner_and_global_pin() {
        let c = parse(b"User u\n# defaults\nHost *\n  IdentityFile /x\n");
        assert_eq!(first_winner(&c, "h"), Some(1));
        assert_eq!(first_global_pin(&c), None);
        let g = parse(b"# top\nIdentitiesOnly no\nHost x\n");
        assert_eq!(first_global_pin(&g), Some(1));
    }
}
