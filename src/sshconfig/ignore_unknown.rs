//! `fix-config --ignore-unknown KEYWORD`: make ssh skip a keyword it does not know (Apple's
//! `UseKeychain` read by any other ssh build: "Bad configuration option: usekeychain", and ssh
//! refuses to start).
//!
//! ssh checks a keyword against the `IgnoreUnknown` value it holds *when it reads the line*,
//! and `IgnoreUnknown` keeps the first value read (readconf.c), so the line must come before
//! every use, in read order across `Include`d files, and an earlier `IgnoreUnknown` must be
//! extended rather than shadowed by a new one. The smallest edit that does this:
//! - the first `IgnoreUnknown` ssh reads applies to every host (global, `Host *` or
//!   `Match all`, in a file included unconditionally) and comes before every use: append the
//!   keyword to its list, in place, in whatever file it sits;
//! - otherwise: a new `IgnoreUnknown` line above the first directive of the main config,
//!   listing the keyword and every pattern of the existing `IgnoreUnknown` lines (the new line
//!   shadows them all, so for every host the set of ignored keywords only grows).

use std::path::{Path, PathBuf};

use super::edit::Plan;
use super::eval::{self, Request};
use super::includes::{self, LineRef, ReadOrder};
use super::pattern::{self, ListMatch};
use super::syntax::{Config, Eol, Line};
use super::writer::Inputs;
use crate::error::{Error, Result};
use crate::paths::display_tilde;

#[derive(Debug, Clone)]
pub enum Outcome {
    /// Already ignored before every use: where.
    Already(String),
    /// The edit, the files it was planned from, and what ssh still says about the config
    /// afterwards, if anything.
    Edit {
        plan: Plan,
        inputs: Inputs,
        remaining: Option<String>,
    },
}

/// `--ignore-unknown` arguments: keyword names (comma-separated lists allowed), each unknown
/// to the installed ssh (IgnoreUnknown does nothing for a keyword it knows).
pub fn parse_keywords(args: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for a in args {
        for k in a.split(',').map(str::trim) {
            if k.is_empty() || !k.starts_with(|c: char| c.is_ascii_alphabetic()) {
                return Err(Error::usage(format!(
                    "--ignore-unknown {a:?}: expected a keyword such as UseKeychain"
                )));
            }
            if !k.chars().all(|c| c.is_ascii_alphanumeric()) {
                return Err(Error::usage(format!(
                    "--ignore-unknown {a:?}: `{k}` is not a keyword name"
                )));
            }
            if crate::openssh::installed()
                .keyword(&k.to_ascii_lowercase())
                .is_some()
            {
                return Err(Error::usage(format!(
                    "this ssh knows `{k}`: IgnoreUnknown only affects keywords it does not know"
                )));
            }
            if !out.iter().any(|o| o.eq_ignore_ascii_case(k)) {
                out.push(k.to_string());
            }
        }
    }
    Ok(out)
}

/// Plan the edit of `config` (the main file; `explicit` as for `-F`).
pub fn plan(config: &Path, explicit: bool, kws: &[String]) -> Result<Outcome> {
    let order = includes::read_order(config)?;
    let lower: Vec<String> = kws.iter().map(|k| k.to_ascii_lowercase()).collect();
    let keyword_is = |r: &LineRef, k: &str| order.directive(*r).is_some_and(|d| d.keyword == k);
    let first_ign = order
        .lines
        .iter()
        .position(|r| keyword_is(r, "ignoreunknown"));
    let first_use = lower
        .iter()
        .filter_map(|k| order.lines.iter().position(|r| keyword_is(r, k)))
        .min();
    let in_place = first_ign.and_then(|i| {
        let r = order.lines[i];
        let value = order.directive(r)?.args?.first()?;
        (r.unconditional && first_use.is_none_or(|u| u > i)).then_some((r, value))
    });
    let (file, after, description) = match in_place {
        Some((r, value)) => {
            let missing: Vec<&String> = kws
                .iter()
                .zip(&lower)
                .filter(|(_, l)| pattern::match_list(l, value, true) != ListMatch::Yes)
                .map(|(k, _)| k)
                .collect();
            if missing.is_empty() {
                return Ok(Outcome::Already(format!(
                    "`IgnoreUnknown {value}` at {} already covers {} before every use",
                    order.at(r),
                    kws.join(", ")
                )));
            }
            let f = &order.files[r.file];
            refuse_bom(f)?;
            let mut after = f.config.clone();
            let new_value = format!(
                "{value},{}",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            );
            after.lines[r.line] = replace_first_arg(&f.config.lines[r.line], &new_value);
            (
                r.file,
                after,
                format!(
                    "extended the first IgnoreUnknown ssh reads, at {}",
                    order.at(r)
                ),
            )
        }
        None => {
            let main = &order.files[0];
            refuse_bom(main)?;
            let value = merged(&order, kws);
            let at = main
                .config
                .lines
                .iter()
                .position(|l| l.directive().is_some())
                .unwrap_or(main.config.lines.len());
            let mut after = main.config.clone();
            insert_line(
                &mut after,
                at,
                &format!("{} {value}", keyword(&main.config)),
            );
            let description = if first_ign.is_some() {
                format!(
                    "added `IgnoreUnknown {value}` at {}:{}, before every use (it takes over the \
                     patterns of the IgnoreUnknown lines after it, which ssh no longer reads first)",
                    display_tilde(&main.path),
                    at + 1
                )
            } else {
                format!(
                    "added `IgnoreUnknown {value}` at {}:{}, before every use",
                    display_tilde(&main.path),
                    at + 1
                )
            };
            (0, after, description)
        }
    };
    let f = &order.files[file];
    let remaining = check(config, explicit, &f.path, &after, &lower)?;
    Ok(Outcome::Edit {
        plan: Plan {
            file: f.path.clone(),
            before: f.config.clone(),
            after,
            description,
            create: f.bytes.is_none(),
        },
        inputs: order.inputs(),
        remaining,
    })
}

/// A byte-order mark makes ssh reject the first line whatever else is done: fix it first.
fn refuse_bom(f: &includes::File) -> Result<()> {
    if f.bom {
        return Err(Error::failed(format!(
            "{} starts with a byte-order mark, which ssh cannot read; remove it first with \
             `herossh fix-config --remove-bom`",
            display_tilde(&f.path)
        )));
    }
    Ok(())
}

/// The keyword list for a new first `IgnoreUnknown`: every pattern of the existing lines (in
/// read order), then the keywords they do not cover yet.
fn merged(order: &ReadOrder, kws: &[String]) -> String {
    let mut items: Vec<String> = Vec::new();
    for r in &order.lines {
        let Some(d) = order.directive(*r) else {
            continue;
        };
        if d.keyword != "ignoreunknown" {
            continue;
        }
        let Some(v) = d.args.as_ref().and_then(|a| a.first()) else {
            continue;
        };
        for p in v.split(',').filter(|p| !p.is_empty()) {
            if !items.iter().any(|i| i == p) {
                items.push(p.to_string());
            }
        }
    }
    for k in kws {
        if pattern::match_list(&k.to_ascii_lowercase(), &items.join(","), true) != ListMatch::Yes {
            items.push(k.clone());
        }
    }
    items.join(",")
}

/// `IgnoreUnknown`, or `ignoreunknown` in a file that writes its keywords in lower case.
fn keyword(c: &Config) -> &'static str {
    let lower = c.lines.iter().find_map(|l| {
        let d = l.directive()?;
        Some(
            !l.raw[d.keyword_span.clone()]
                .iter()
                .any(u8::is_ascii_uppercase),
        )
    });
    if lower == Some(true) {
        "ignoreunknown"
    } else {
        "IgnoreUnknown"
    }
}

/// The line with its first argument replaced (IgnoreUnknown takes one pattern list).
fn replace_first_arg(l: &Line, value: &str) -> Line {
    let Some(d) = l.directive() else {
        return l.clone();
    };
    let b = &l.raw;
    let start = d.value_start;
    let end = super::syntax::word_spans(b, start)
        .first()
        .map_or(start, |w| w.end);
    let mut raw = b[..start].to_vec();
    raw.extend_from_slice(value.as_bytes());
    raw.extend_from_slice(&b[end..]);
    Line::new(raw, l.eol)
}

/// Insert `text` as line `at`, keeping a missing final newline missing.
fn insert_line(c: &mut Config, at: usize, text: &str) {
    let eol = c.dominant_eol();
    let mut line = Line::new(text.as_bytes().to_vec(), eol);
    if at == c.lines.len()
        && let Some(last) = c.lines.last_mut()
        && last.eol == Eol::None
    {
        last.eol = eol;
        line.eol = Eol::None;
    }
    c.lines.insert(at, line);
}

/// Evaluate with the edit (for any host: the new line applies to all): none of the keywords
/// may still be refused. Returns what ssh would still refuse, if anything.
fn check(
    config: &Path,
    explicit: bool,
    file: &Path,
    after: &Config,
    lower: &[String],
) -> Result<Option<String>> {
    let mut overrides = vec![(file.to_path_buf(), eval::prepare(file, after.clone()))];
    if file != config && !config.exists() {
        overrides.push((
            config.to_path_buf(),
            eval::prepare(config, Config::default()),
        ));
    }
    let r = eval::evaluate(&Request {
        host: "herossh-unnamed-host.invalid".into(),
        config: explicit.then(|| PathBuf::from(config)),
        overrides,
        ..Default::default()
    });
    let Err(e) = r else { return Ok(None) };
    if let Some(k) = lower.iter().find(|k| {
        e.message
            .contains(&format!("Bad configuration option: {k}"))
    }) {
        return Err(Error::failed(format!(
            "could not make ssh ignore {k}: the edited config still fails: {}",
            e.message
        )));
    }
    Ok(Some(e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_text(files: &[(&str, &str)], kws: &[&str]) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in files {
            let body = body.replace("DIR", &dir.path().display().to_string());
            std::fs::write(dir.path().join(name), body).unwrap();
        }
        let kws: Vec<String> = kws.iter().map(|s| s.to_string()).collect();
        match plan(&dir.path().join(files[0].0), true, &kws).unwrap() {
            Outcome::Already(w) => ("already".into(), w),
            Outcome::Edit { plan, .. } => (
                plan.file
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                String::from_utf8(plan.after.print()).unwrap(),
            ),
        }
    }

    #[test]
    fn new_line_above_the_first_directive() {
        let (f, t) = plan_text(
            &[("c", "# mine\n\nHost x\n  UseKeychain yes\n")],
            &["UseKeychain"],
        );
        assert_eq!(f, "c");
        assert_eq!(
            t,
            "# mine\n\nIgnoreUnknown UseKeychain\nHost x\n  UseKeychain yes\n"
        );
    }

    #[test]
    fn an_earlier_global_one_is_extended_in_its_file() {
        let (f, t) = plan_text(
            &[
                ("c", "Include DIR/inc\nHost x\n  UseKeychain yes\n"),
                ("inc", "Host *\n  IgnoreUnknown AddKeysToAgentX # k\n"),
            ],
            &["UseKeychain"],
        );
        assert_eq!(f, "inc");
        assert_eq!(
            t,
            "Host *\n  IgnoreUnknown AddKeysToAgentX,UseKeychain # k\n"
        );
        let (f, w) = plan_text(
            &[("c", "IgnoreUnknown Use*\nUseKeychain yes\n")],
            &["UseKeychain"],
        );
        assert_eq!(f, "already");
        assert!(w.contains("IgnoreUnknown Use*"), "{w}");
    }

    #[test]
    fn a_conditional_or_late_one_is_shadowed_with_its_patterns_kept() {
        let (f, t) = plan_text(
            &[(
                "c",
                "Host a\n  IgnoreUnknown Foo\nHost b\n  UseKeychain yes\n",
            )],
            &["UseKeychain"],
        );
        assert_eq!(f, "c");
        assert_eq!(
            t,
            "IgnoreUnknown Foo,UseKeychain\nHost a\n  IgnoreUnknown Foo\nHost b\n  UseKeychain yes\n"
        );
        let (_, t) = plan_text(
            &[("c", "usekeychain yes\nignoreunknown usekeychain")],
            &["UseKeychain"],
        );
        assert_eq!(
            t,
            "ignoreunknown usekeychain\nusekeychain yes\nignoreunknown usekeychain"
        );
    }

    #[test]
    fn keywords_are_checked() {
        let k = |a: &[&str]| parse_keywords(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            k(&["UseKeychain,Foo", "usekeychain"]).unwrap(),
            vec!["UseKeychain", "Foo"]
        );
        for bad in ["User", "", "a b", "Use*"] {
            assert_eq!(
                k(&[bad]).unwrap_err().kind,
                crate::error::Kind::Usage,
                "{bad}"
            );
        }
    }
}
