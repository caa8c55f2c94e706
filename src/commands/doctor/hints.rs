//! Help finding the host, when the name typed is not the one the config was written for:
//! `ssh 10.0.0.5` skips the stanza written as `Host work / HostName 10.0.0.5`, and a
//! mistyped alias (`plat` for `platform`) fails DNS with nothing to suggest the alias.

use super::targets::{ConfigIndex, Resolver, Target};
use crate::diagnose::{Finding, Severity};
use crate::openssh::Destination;

/// The aliases whose stanza's HostName (and port, when the target gives one) is the target,
/// when the target itself matches no stanza (a bare `Host *` does not count).
pub fn aliases_for_hostname(
    target: &Target,
    index: &ConfigIndex,
    resolver: &mut Resolver,
) -> Vec<String> {
    let host = &target.dest.host;
    if index.has_stanza_for(host) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let names: Vec<String> = index.alias_names().map(str::to_string).collect();
    for alias in names {
        if alias.eq_ignore_ascii_case(host) {
            continue;
        }
        let dest = Destination {
            user: None,
            host: alias.clone(),
            port: None,
        };
        if let Ok(r) = resolver.resolve(&dest)
            && r.hostname().eq_ignore_ascii_case(host)
            && target.dest.port.is_none_or(|p| p == r.port())
        {
            out.push(alias);
        }
    }
    out
}

/// "Use the alias": the settings written for it are not applied to the name typed.
pub fn use_alias(target: &Target, aliases: &[String], failing: bool) -> Finding {
    let host = &target.dest.host;
    let list = aliases
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(" or ");
    Finding::new(
        "use-host-alias",
        if failing {
            Severity::Warning
        } else {
            Severity::Ok
        },
        format!(
            "{host} matches no Host stanza, so ssh does not apply the settings written for \
             {list} (whose HostName is {host}); connect as {list} instead"
        ),
    )
    .fix(format!("use the alias: ssh {}", aliases[0]))
}

/// Aliases that are a close edit of `host` (a typo, or a shortened name), best first.
pub fn close_aliases(host: &str, index: &ConfigIndex) -> Vec<String> {
    if index.has_stanza_for(host) {
        return Vec::new();
    }
    let h = host.to_ascii_lowercase();
    let mut scored: Vec<(usize, String)> = index
        .alias_names()
        .filter_map(|a| {
            let l = a.to_ascii_lowercase();
            if l == h {
                return None;
            }
            let d = distance(&h, &l);
            let shorter = h.chars().count().min(l.chars().count());
            let limit = if shorter <= 4 { 1 } else { 2 };
            let prefix = shorter >= 3 && (l.starts_with(&h) || h.starts_with(&l));
            (d <= limit || prefix).then(|| (d, a.to_string()))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, a)| a).collect()
}

/// The DNS failure of a name that is not an alias, with the aliases it may have meant.
pub fn did_you_mean(host: &str, candidates: &[String]) -> Finding {
    let list = candidates
        .iter()
        .map(|a| format!("`{a}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Finding::new(
        "did-you-mean-alias",
        Severity::Warning,
        format!(
            "no Host stanza is named `{host}` and the name does not resolve; did you mean {list}?"
        ),
    )
    .fix(format!(
        "if you meant it, use the alias: ssh {}",
        candidates[0]
    ))
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance() {
        assert_eq!(distance("platform", "platfrom"), 1);
        assert_eq!(distance("plat", "platform"), 4);
        assert_eq!(distance("web", "wbe"), 1);
        assert_eq!(distance("db", "db"), 0);
    }
}
