//! OpenSSH's pattern matching (`match.c`): `*` and `?` wildcards, `!` negation, and
//! comma-separated pattern lists. One implementation for `Host`, `Match` criteria,
//! `IgnoreUnknown`, `SendEnv` removal and algorithm lists, so they cannot drift apart.

/// `match_pattern`: does `s` match the glob `pattern` (`*` any run, `?` one character)?
/// Case-sensitive, like OpenSSH (`Host` compares against the name as typed).
pub fn matches(s: &str, pattern: &str) -> bool {
    if s.is_ascii() && pattern.is_ascii() {
        // The common case, without allocating: hundreds of Host patterns per resolution.
        return glob(s.as_bytes(), pattern.as_bytes(), b'?', b'*');
    }
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    glob(&s, &p, '?', '*')
}

/// A `Host` line for `host` (`readconf.c`): it applies when one of its patterns matches and
/// no negated one (`!pattern`) does.
pub fn host_line<S: AsRef<str>>(host: &str, patterns: impl IntoIterator<Item = S>) -> bool {
    let mut hit = false;
    for p in patterns {
        let p = p.as_ref();
        match p.strip_prefix('!') {
            Some(neg) if matches(host, neg) => return false,
            Some(_) => {}
            None => hit |= matches(host, p),
        }
    }
    hit
}

fn glob<T: PartialEq + Copy>(s: &[T], p: &[T], one: T, any: T) -> bool {
    // Iterative glob with backtracking to the last `*`: linear in practice, no recursion.
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && (p[pi] == one || p[pi] == s[si]) {
            si += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == any {
            star = Some((pi, si));
            pi += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == any)
}

/// Result of matching a comma-separated pattern list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListMatch {
    /// A negated pattern matched: this always wins.
    Negated,
    /// A positive pattern matched and no negated one did.
    Yes,
    No,
}

/// `match_pattern_list`: `pattern` is `a,b*,!c`; `lower` lower-cases the patterns (host
/// names are compared case-insensitively in `Match host`).
pub fn match_list(s: &str, pattern: &str, lower: bool) -> ListMatch {
    let mut positive = false;
    for sub in pattern.split(',') {
        let (negated, sub) = match sub.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, sub),
        };
        let hit = if lower {
            matches(s, &sub.to_lowercase())
        } else {
            matches(s, sub)
        };
        if hit {
            if negated {
                return ListMatch::Negated;
            }
            positive = true;
        }
    }
    if positive {
        ListMatch::Yes
    } else {
        ListMatch::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(matches("heroku.com", "heroku.com"));
        assert!(matches("heroku.com", "*.com"));
        assert!(matches("heroku.com", "h?roku.*"));
        assert!(matches("", "*"));
        assert!(matches("abcabc", "*abc"));
        assert!(matches("a.b.c", "a*c"));
        assert!(!matches("Heroku.com", "heroku.com"));
        assert!(!matches("heroku.co", "heroku.com"));
        assert!(!matches("x", "?x"));
        assert!(matches("café.fr", "caf?.*"));
        assert!(!matches("café.fr", "caf??.*"));
    }

    #[test]
    fn lists() {
        assert_eq!(match_list("a", "b,a", false), ListMatch::Yes);
        assert_eq!(match_list("a", "*,!a", false), ListMatch::Negated);
        assert_eq!(match_list("c", "a,b", false), ListMatch::No);
        assert_eq!(match_list("abc", "ABC", true), ListMatch::Yes);
    }
}
