//! Findings about the configuration itself, before any key or server: what makes ssh refuse
//! to start (an unknown keyword, a byte-order mark, a bad value, a file others can write),
//! settings that lose to an earlier line (first value wins), and a `$HOME` that is not the
//! home ssh reads. Each with the fix that makes the real ssh accept the configuration.

use std::path::Path;

use super::{Finding, Severity, sh_quote};
use crate::openssh::grammar;
use crate::sshconfig::{ConfigError, ErrorKind, Resolved};

/// `-F FILE` for printed commands when the configuration came from one.
fn f_arg(config: Option<&Path>) -> String {
    match config {
        Some(p) => format!(" -F {}", sh_quote(&p.display().to_string())),
        None => String::new(),
    }
}

/// Where an error is, `FILE line N` (or just the message's own words).
fn at(e: &ConfigError) -> String {
    match &e.file {
        Some(f) if e.line > 0 => format!("{} line {}", f.display(), e.line),
        Some(f) => f.display().to_string(),
        None => "the command line".to_string(),
    }
}

/// One finding per error ssh stops on.
pub fn error_findings(errors: &[ConfigError], config: Option<&Path>) -> Vec<Finding> {
    let client = crate::openssh::installed();
    let mut out: Vec<Finding> = Vec::new();
    for e in errors {
        let f = match &e.kind {
            ErrorKind::UnknownKeyword(kw) if kw.starts_with('\u{feff}') => {
                let file = e
                    .file
                    .as_ref()
                    .map(|f| f.display().to_string())
                    .unwrap_or_default();
                if out
                    .iter()
                    .any(|f| f.code == "config-bom" && f.message.contains(&file))
                {
                    continue;
                }
                Finding::new(
                    "config-bom",
                    Severity::Error,
                    format!(
                        "{file} starts with a UTF-8 byte-order mark (a Windows editor wrote it): \
                         ssh reads it as part of the first keyword and refuses the whole \
                         configuration ({})",
                        e.message.lines().next().unwrap_or_default()
                    ),
                )
                .fix(format!(
                    "herossh fix-config --remove-bom{}",
                    f_arg(e.file.as_deref().or(config))
                ))
            }
            ErrorKind::UnknownKeyword(kw) => match grammar::lookup(kw) {
                Some(k) => {
                    let whose = match k.avail {
                        grammar::Avail::Apple => "Apple's ssh (macOS) knows it".to_string(),
                        grammar::Avail::Debian => "Debian's and Ubuntu's ssh know it".to_string(),
                        grammar::Avail::Since(a, b) => format!("OpenSSH {a}.{b} and later know it"),
                        grammar::Avail::Always => "other builds of OpenSSH know it".to_string(),
                    };
                    Finding::new(
                        "config-unknown-keyword",
                        Severity::Error,
                        format!(
                            "{}: this ssh ({}) does not know `{}` ({whose}) and refuses the whole \
                             configuration: \"Bad configuration option: {}\"",
                            at(e),
                            client.describe(),
                            kw,
                            kw
                        ),
                    )
                    .fix(format!(
                        "herossh fix-config --ignore-unknown {}{}",
                        canonical_case(kw),
                        f_arg(config)
                    ))
                }
                None => {
                    let hint = closest_keyword(kw)
                        .map(|k| format!(" (did you mean {k}?)"))
                        .unwrap_or_default();
                    Finding::new(
                        "config-unknown-keyword",
                        Severity::Error,
                        format!(
                            "{}: \"Bad configuration option: {kw}\"{hint}: ssh refuses the whole \
                             configuration",
                            at(e)
                        ),
                    )
                    .fix(format!("manual: correct or remove {}{hint}", at(e)))
                }
            },
            ErrorKind::Permissions => {
                let file = e.file.clone().unwrap_or_default();
                Finding::new(
                    "config-bad-permissions",
                    Severity::Error,
                    format!(
                        "\"Bad owner or permissions on {}\": ssh refuses a config that another \
                         user owns or others can write",
                        file.display()
                    ),
                )
                .fix(permission_fix(&file))
            }
            ErrorKind::BadValue | ErrorKind::Include | ErrorKind::Fatal => Finding::new(
                "config-error",
                Severity::Error,
                format!(
                    "ssh refuses the configuration: {}",
                    e.message.replace('\n', "; ")
                ),
            )
            .fix(format!("manual: correct {}", at(e))),
        };
        out.push(f);
    }
    out
}

/// `chown` when someone else owns the file, `chmod go-w` for the mode.
fn permission_fix(file: &Path) -> String {
    let q = sh_quote(&file.display().to_string());
    let me = crate::os::user::uid();
    let owner = std::fs::metadata(file)
        .map(|m| crate::os::perms::owner(&m).uid)
        .unwrap_or(me);
    if owner != me && owner != 0 {
        let name = crate::openssh::home::passwd()
            .map(|p| p.name.clone())
            .unwrap_or_else(|| me.to_string());
        format!("chown {} {q} && chmod go-w {q}", sh_quote(&name))
    } else {
        format!("chmod go-w {q}")
    }
}

/// The keyword as documented (`UseKeychain`), for IgnoreUnknown lines people read.
fn canonical_case(kw: &str) -> String {
    const NAMES: &[&str] = &[
        "UseKeychain",
        "AppleMultipath",
        "NoHostAuthenticationForProxyCommand",
        "GSSAPIKeyExchange",
        "GSSAPITrustDNS",
        "GSSAPIClientIdentity",
        "GSSAPIServerIdentity",
        "GSSAPIRenewalForcesRekey",
        "GSSAPIKexAlgorithms",
        "Tag",
        "ObscureKeystrokeTiming",
        "ChannelTimeout",
        "VersionAddendum",
        "RefuseConnection",
        "WarnWeakCrypto",
        "RequiredRSASize",
        "EnableEscapeCommandline",
        "ProtocolKeepAlives",
        "SetupTimeOut",
    ];
    NAMES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(kw))
        .map(|n| n.to_string())
        .unwrap_or_else(|| kw.to_string())
}

/// A known keyword within two edits of a misspelled one.
fn closest_keyword(kw: &str) -> Option<&'static str> {
    grammar::KEYWORDS
        .iter()
        .map(|k| (edit_distance(kw, k.name), k.name))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Levenshtein distance (small strings).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Settings a block written for this host sets in vain: an earlier, broader line already set
/// them (ssh keeps the first value). The fix makes the intended value win.
pub fn shadowed_findings(r: &Resolved, alias: &str, config: Option<&Path>) -> Vec<Finding> {
    let mut out = Vec::new();
    for sh in &r.shadowed {
        let ignored_names_host =
            header_names(&sh.ignored.origin.file, sh.ignored.origin.line, alias);
        let winner_names_host = header_names(&sh.winner.origin.file, sh.winner.origin.line, alias);
        if !ignored_names_host || winner_names_host || sh.winner.origin.is_command_line() {
            continue;
        }
        if out.iter().any(|f: &Finding| {
            f.message
                .starts_with(&format!("{} for {alias}", sh.keyword))
        }) {
            continue;
        }
        out.push(
            Finding::new(
                "setting-shadowed",
                Severity::Warning,
                format!(
                    "{} for {alias}: ssh uses `{}` from {}:{} (an earlier, broader block); \
                     {}:{} sets `{}`, which ssh ignores (the first value wins)",
                    sh.keyword,
                    sh.winner.v,
                    sh.winner.origin.file.display(),
                    sh.winner.origin.line,
                    sh.ignored.origin.file.display(),
                    sh.ignored.origin.line,
                    sh.ignored.v
                ),
            )
            .fix(format!(
                "herossh fix-config --host {}{} --set {}",
                sh_quote(alias),
                f_arg(config),
                sh_quote(&format!("{} {}", sh.keyword, sh.ignored.v))
            )),
        );
    }
    out
}

/// Is the line under a `Host` line that names `alias` literally (no wildcard)?
fn header_names(file: &Path, line: usize, alias: &str) -> bool {
    let Ok(bytes) = std::fs::read(file) else {
        return false;
    };
    let config = crate::sshconfig::syntax::parse(&bytes);
    for l in config.lines[..line.min(config.lines.len())].iter().rev() {
        let Some(d) = l.directive() else { continue };
        match d.keyword {
            "host" => {
                return d
                    .args
                    .as_ref()
                    .is_some_and(|a| a.iter().any(|p| p == alias));
            }
            "match" => return false,
            _ => {}
        }
    }
    false
}

/// `$HOME` is not the home ssh reads: say which files ssh really uses.
pub fn home_findings() -> Vec<Finding> {
    let Some((home, passwd)) = crate::openssh::home::home_mismatch() else {
        return Vec::new();
    };
    let theirs = home.join(".ssh");
    let ssh_reads = passwd.join(".ssh");
    let has = |d: &Path| std::fs::read_dir(d).map(|r| r.count() > 0).unwrap_or(false);
    let severity = if has(&theirs) && !has(&ssh_reads) {
        Severity::Warning
    } else {
        Severity::Ok
    };
    vec![
        Finding::new(
            "home-mismatch",
            severity,
            format!(
                "$HOME is {} but ssh takes ~ from the passwd entry: it reads {}, not {}{}",
                home.display(),
                ssh_reads.display(),
                theirs.display(),
                if has(&theirs) {
                    " (which has files ssh will not see)"
                } else {
                    ""
                }
            ),
        )
        .fix(format!(
            "manual: keep your ssh files in {} (or pass them to ssh explicitly with -F and -i)",
            ssh_reads.display()
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(edit_distance("identityfle", "identityfile"), 1);
        assert_eq!(closest_keyword("identityfle"), Some("identityfile"));
        assert_eq!(closest_keyword("zzzzzzzzzz"), None);
        assert_eq!(canonical_case("usekeychain"), "UseKeychain");
    }
}
