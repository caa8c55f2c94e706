//! The lossless syntax tree of an ssh_config file.
//!
//! Users' configs are hand-formatted and precious, so the tree keeps every line's raw bytes
//! (indentation, keyword case, separator, quotes, trailing comments and whitespace, CRLF or LF,
//! a missing final newline, bytes that are not UTF-8) and `print(parse(x)) == x` for every
//! input. The parsed view of a line (keyword and arguments) is computed with OpenSSH's own
//! tokenising rules (`readconf.c`: `strdelim` for the keyword, `argv_split` for arguments) so
//! that the evaluator and the editor see exactly what `ssh` sees.

use std::ops::Range;

use crate::openssh::grammar::Keyword;

/// How a line ends. Kept per line: files mixing CRLF and LF are reproduced as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    Lf,
    CrLf,
    /// The last line of a file without a final newline.
    None,
}

impl Eol {
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Eol::Lf => b"\n",
            Eol::CrLf => b"\r\n",
            Eol::None => b"",
        }
    }
}

/// A keyword line as OpenSSH tokenises it: a view of the line, made on demand from what
/// [`Parsed`] stored.
#[derive(Debug, Clone)]
pub struct Directive<'a> {
    /// The keyword in lower case (`hostname`).
    pub keyword: &'a str,
    /// Its entry in the grammar, when any ssh build knows it (whether the installed one
    /// does is [`crate::openssh::client::Client::op`]'s answer).
    pub known: Option<&'static Keyword>,
    /// Byte range of the keyword as written in the line.
    pub keyword_span: Range<usize>,
    /// Byte offset where the value starts (after the separator: spaces, tabs, one `=`).
    pub value_start: usize,
    /// The value text with trailing whitespace removed: what `ProxyCommand` and the other
    /// command keywords take verbatim.
    pub rest: &'a str,
    /// The arguments after `argv_split`: quotes removed, escapes applied, stopped at a `#`
    /// that starts a word. `None` when the quotes do not balance (OpenSSH: "invalid quotes").
    pub args: Option<Args<'a>>,
}

/// What parsing stored for a keyword line. Kept small on purpose: a big config has thousands
/// of lines and `config resolve` reads all of them on every run, so the common line (no
/// quotes, no escapes, valid UTF-8) costs no allocation beyond its raw bytes: its value and
/// its words are slices of them, found again when asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    keyword: Kw,
    keyword_span: Range<usize>,
    value: Range<usize>,
    /// `None` for the common line: a UTF-8 value whose words are plain.
    unusual: Option<Box<Unusual>>,
}

/// The keyword of a line: found in the grammar when the line was read (so no later step
/// looks it up again), or as written, lower-cased, when no ssh knows it.
#[derive(Debug, Clone)]
enum Kw {
    Known(&'static Keyword),
    Other(Box<str>),
}

impl PartialEq for Kw {
    fn eq(&self, other: &Kw) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Kw {}

impl Kw {
    fn name(&self) -> &str {
        match self {
            Kw::Known(k) => k.name,
            Kw::Other(s) => s,
        }
    }
}

/// What a line that is not the common one needs stored.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Unusual {
    /// The value when its bytes are not UTF-8 (lossily converted once).
    lossy: Option<Box<str>>,
    words: Words,
}

/// How to find the arguments again.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Words {
    /// Unbalanced quotes.
    Invalid,
    /// No quote and no backslash: the words are the value split on blanks (up to a `#` that
    /// starts one), computed on demand.
    Plain,
    /// Quotes or escapes: the words as `argv_split` made them.
    Owned(Box<[String]>),
}

/// The arguments of a keyword line: what `argv_split` returns, without copying the common case.
#[derive(Debug, Clone, Copy)]
pub enum Args<'a> {
    /// Words split on spaces and tabs, ending at a word that starts with `#`.
    Plain(&'a str),
    Owned(&'a [String]),
}

impl<'a> Args<'a> {
    /// No arguments.
    pub const EMPTY: Args<'static> = Args::Owned(&[]);

    pub fn iter(&self) -> ArgsIter<'a> {
        match *self {
            Args::Plain(s) => ArgsIter::Plain(s),
            Args::Owned(v) => ArgsIter::Owned(v.iter()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Args::Plain(_) => self.iter().count(),
            Args::Owned(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    pub fn get(&self, i: usize) -> Option<&'a str> {
        self.iter().nth(i)
    }

    pub fn first(&self) -> Option<&'a str> {
        self.get(0)
    }

    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl std::ops::Index<usize> for Args<'_> {
    type Output = str;
    fn index(&self, i: usize) -> &str {
        self.get(i).expect("argument index out of range")
    }
}

impl<'a> IntoIterator for Args<'a> {
    type Item = &'a str;
    type IntoIter = ArgsIter<'a>;
    fn into_iter(self) -> ArgsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Args<'a> {
    type Item = &'a str;
    type IntoIter = ArgsIter<'a>;
    fn into_iter(self) -> ArgsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Args`].
#[derive(Debug, Clone)]
pub enum ArgsIter<'a> {
    /// What is left of the value (emptied by a comment).
    Plain(&'a str),
    Owned(std::slice::Iter<'a, String>),
}

impl<'a> Iterator for ArgsIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        match self {
            ArgsIter::Plain(rest) => {
                let s = rest.trim_start_matches([' ', '\t']);
                // A comment ends the line: nothing after it is an argument.
                if s.is_empty() || s.starts_with('#') {
                    *rest = "";
                    return None;
                }
                let end = s
                    .bytes()
                    .position(|b| b == b' ' || b == b'\t')
                    .unwrap_or(s.len());
                *rest = &s[end..];
                Some(&s[..end])
            }
            ArgsIter::Owned(v) => v.next().map(String::as_str),
        }
    }
}

/// What a line is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    /// Empty or whitespace only.
    Blank,
    /// A `#` comment line.
    Comment,
    Directive(Parsed),
}

/// One line: its raw bytes (without the line ending) and its parsed view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub raw: Box<[u8]>,
    pub eol: Eol,
    pub kind: LineKind,
}

impl Line {
    pub fn new(raw: Vec<u8>, eol: Eol) -> Line {
        let kind = classify(&raw);
        Line {
            raw: raw.into_boxed_slice(),
            eol,
            kind,
        }
    }

    pub fn directive(&self) -> Option<Directive<'_>> {
        let LineKind::Directive(p) = &self.kind else {
            return None;
        };
        let (lossy, words) = match p.unusual.as_deref() {
            Some(u) => (u.lossy.as_deref(), &u.words),
            None => (None, &Words::Plain),
        };
        let rest = match lossy {
            Some(s) => s,
            // Checked when parsed; checked again (it is a few bytes) rather than trusted,
            // since `raw` is public.
            None => std::str::from_utf8(&self.raw[p.value.clone()]).unwrap_or(""),
        };
        let args = match words {
            Words::Invalid => None,
            Words::Plain => Some(Args::Plain(rest)),
            Words::Owned(v) => Some(Args::Owned(v)),
        };
        Some(Directive {
            keyword: p.keyword.name(),
            known: match p.keyword {
                Kw::Known(k) => Some(k),
                Kw::Other(_) => None,
            },
            keyword_span: p.keyword_span.clone(),
            value_start: p.value.start,
            rest,
            args,
        })
    }

    /// The leading whitespace of the line, as written.
    pub fn indent(&self) -> &[u8] {
        let n = self
            .raw
            .iter()
            .take_while(|b| **b == b' ' || **b == b'\t')
            .count();
        &self.raw[..n]
    }
}

/// A parsed file: its lines in order. Blocks are derived from the lines (see [`blocks`]).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    pub lines: Vec<Line>,
}

/// Where a line belongs: before the first `Host`/`Match`, or under one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    Global,
    Host,
    Match,
}

/// A block: its header line (none for the global block) and the lines it spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// Index of the `Host`/`Match` line.
    pub header: Option<usize>,
    /// Line indices covered, header included.
    pub lines: Range<usize>,
}

impl Config {
    /// The bytes of the file, exactly as read.
    pub fn print(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.lines.iter().map(|l| l.raw.len() + 2).sum());
        for l in &self.lines {
            out.extend_from_slice(&l.raw);
            out.extend_from_slice(l.eol.as_bytes());
        }
        out
    }

    /// The global block (possibly empty) followed by every `Host` and `Match` block.
    pub fn blocks(&self) -> Vec<Block> {
        let mut blocks = vec![Block {
            kind: BlockKind::Global,
            header: None,
            lines: 0..0,
        }];
        for (i, line) in self.lines.iter().enumerate() {
            let kind = match line.directive().map(|d| d.keyword) {
                Some("host") => Some(BlockKind::Host),
                Some("match") => Some(BlockKind::Match),
                _ => None,
            };
            if let Some(kind) = kind {
                blocks.push(Block {
                    kind,
                    header: Some(i),
                    lines: i..i + 1,
                });
            } else if let Some(last) = blocks.last_mut() {
                last.lines.end = i + 1;
            }
        }
        blocks
    }

    /// The line ending most lines use, for inserted lines (LF for an empty file).
    pub fn dominant_eol(&self) -> Eol {
        let crlf = self.lines.iter().filter(|l| l.eol == Eol::CrLf).count();
        let lf = self.lines.iter().filter(|l| l.eol == Eol::Lf).count();
        if crlf > lf { Eol::CrLf } else { Eol::Lf }
    }
}

/// Split bytes into lines. Never fails: anything is a file.
pub fn parse(bytes: &[u8]) -> Config {
    let mut lines = Vec::with_capacity(bytes.iter().filter(|b| **b == b'\n').count() + 1);
    for chunk in bytes.split_inclusive(|b| *b == b'\n') {
        let (raw, eol) = match chunk {
            [body @ .., b'\r', b'\n'] => (body, Eol::CrLf),
            [body @ .., b'\n'] => (body, Eol::Lf),
            body => (body, Eol::None),
        };
        lines.push(Line::new(raw.to_vec(), eol));
    }
    Config { lines }
}

const WS: &[u8] = b" \t\r\n";

/// Classify one line the way `process_config_line` does.
fn classify(raw: &[u8]) -> LineKind {
    // OpenSSH strips trailing whitespace (and form feeds) before anything else.
    let mut len = raw.len();
    while len > 0 && (WS.contains(&raw[len - 1]) || raw[len - 1] == 0x0c) {
        len -= 1;
    }
    let line = &raw[..len];
    let mut pos = line
        .iter()
        .take_while(|b| WS.contains(b) || **b == b'=')
        .count();
    // A leading `=` is a separator before an empty keyword; strdelim then skips to the next
    // token. Only the first one is swallowed, but a keyword starting with `=` is invalid
    // anyway, so treating them alike is safe.
    if pos >= line.len() {
        return LineKind::Blank;
    }
    if line[pos] == b'#' {
        return LineKind::Comment;
    }
    let kw_start = pos;
    while pos < line.len() && !WS.contains(&line[pos]) && line[pos] != b'=' && line[pos] != b'"' {
        pos += 1;
    }
    let kw_end = pos;
    // Separator: whitespace, at most one `=`, whitespace.
    while pos < line.len() && WS.contains(&line[pos]) {
        pos += 1;
    }
    if pos < line.len() && line[pos] == b'=' {
        pos += 1;
        while pos < line.len() && WS.contains(&line[pos]) {
            pos += 1;
        }
    }
    let written = String::from_utf8_lossy(&line[kw_start..kw_end]);
    let keyword = match crate::openssh::grammar::lookup_ci(&written) {
        Some(k) => Kw::Known(k),
        None => Kw::Other(written.to_ascii_lowercase().into_boxed_str()),
    };
    let (rest, lossy) = match std::str::from_utf8(&line[pos..]) {
        Ok(s) => (std::borrow::Cow::Borrowed(s), None),
        Err(_) => {
            let s = String::from_utf8_lossy(&line[pos..]).into_owned();
            (std::borrow::Cow::Owned(s.clone()), Some(s.into_boxed_str()))
        }
    };
    let words = if !rest.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\'')) {
        Words::Plain
    } else {
        match argv_split(&rest) {
            Some(v) => Words::Owned(v.into_boxed_slice()),
            None => Words::Invalid,
        }
    };
    let unusual =
        (lossy.is_some() || words != Words::Plain).then(|| Box::new(Unusual { lossy, words }));
    LineKind::Directive(Parsed {
        keyword,
        keyword_span: kw_start..kw_end,
        value: pos..len,
        unusual,
    })
}

/// OpenSSH's `argv_split(s, .., terminate_on_comment = 1)`: whitespace-separated words,
/// single and double quotes group, `\'` `\"` `\\` and (outside quotes) `\ ` escape, a `#`
/// at the start of a word ends the line. `None` for an unterminated quote.
pub fn argv_split(s: &str) -> Option<Vec<String>> {
    // Every character that matters here is ASCII, so the bytes of other characters are
    // copied through untouched and each argument stays valid UTF-8.
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(2);
    let mut i = 0;
    while i < b.len() {
        if b[i] == b' ' || b[i] == b'\t' {
            i += 1;
            continue;
        }
        if b[i] == b'#' {
            break;
        }
        // Most words have no quotes or escapes: they are taken as they are, in one copy.
        let start = i;
        while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\\' | b'"' | b'\'') {
            i += 1;
        }
        if i == b.len() || b[i] == b' ' || b[i] == b'\t' {
            out.push(s[start..i].to_owned());
            continue;
        }
        i = start;
        let mut quote: Option<u8> = None;
        let mut arg: Vec<u8> = Vec::new();
        while i < b.len() {
            let c = b[i];
            if c == b'\\' {
                match b.get(i + 1).copied() {
                    Some(b'\'' | b'"' | b'\\') => {
                        i += 1;
                        arg.push(b[i]);
                    }
                    Some(b' ') if quote.is_none() => {
                        i += 1;
                        arg.push(b' ');
                    }
                    _ => arg.push(c),
                }
            } else if quote.is_none() && (c == b' ' || c == b'\t') {
                break;
            } else if quote.is_none() && (c == b'"' || c == b'\'') {
                quote = Some(c);
            } else if quote == Some(c) {
                quote = None;
            } else {
                arg.push(c);
            }
            i += 1;
        }
        if quote.is_some() {
            return None;
        }
        out.push(String::from_utf8(arg).ok()?);
    }
    Some(out)
}

/// Where the value starting at `start` ends in `raw` (a line's bytes): before the trailing
/// blanks, carriage returns and form feeds ssh strips.
pub fn value_end(raw: &[u8], start: usize) -> usize {
    let mut end = raw.len();
    while end > start && matches!(raw[end - 1], b' ' | b'\t' | b'\r' | 0x0c) {
        end -= 1;
    }
    end
}

/// Where in `raw` (a line's bytes) the words `argv_split` makes of the value starting at
/// `start` stand, as written (quotes and escapes included), up to a `#` that starts a word;
/// trailing blanks, carriage returns and form feeds are not part of the value. For edits
/// that replace words and keep the rest of the line (a trailing comment) as it is.
pub fn word_spans(raw: &[u8], start: usize) -> Vec<Range<usize>> {
    let end = value_end(raw, start);
    let mut spans = Vec::new();
    let mut i = start;
    while i < end {
        if matches!(raw[i], b' ' | b'\t') {
            i += 1;
            continue;
        }
        if raw[i] == b'#' {
            break;
        }
        let word = i;
        let mut quote: Option<u8> = None;
        while i < end {
            let c = raw[i];
            if c == b'\\' && i + 1 < end {
                i += 2;
                continue;
            }
            if quote.is_none() && matches!(c, b' ' | b'\t') {
                break;
            }
            if quote.is_none() && matches!(c, b'"' | b'\'') {
                quote = Some(c);
            } else if quote == Some(c) {
                quote = None;
            }
            i += 1;
        }
        spans.push(word..i.min(end));
    }
    spans
}

/// OpenSSH's `strdelim` tokeniser, which 9.2 still uses for `Match` criteria: words split on
/// whitespace or one `=`, a double-quoted word kept whole. `None` on an unmatched quote.
pub fn strdelim_split(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = s.trim_start_matches([' ', '\t', '\r', '\n']);
    while !rest.is_empty() {
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"')?;
            out.push(q[..end].to_string());
            rest = q[end + 1..].trim_start_matches([' ', '\t', '\r', '\n']);
            continue;
        }
        let end = rest
            .find([' ', '\t', '\r', '\n', '=', '"'])
            .unwrap_or(rest.len());
        out.push(rest[..end].to_string());
        let mut after = &rest[end..];
        let mut took_equals = false;
        if let Some(a) = after.strip_prefix('=') {
            took_equals = true;
            after = a;
        } else if !after.starts_with('"') && !after.is_empty() {
            after = &after[1..];
        }
        after = after.trim_start_matches([' ', '\t', '\r', '\n']);
        if !took_equals && let Some(a) = after.strip_prefix('=') {
            after = a.trim_start_matches([' ', '\t', '\r', '\n']);
        }
        rest = after;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line's keyword, value and arguments (`None`: invalid quotes).
    fn d(line: &str) -> (String, String, Option<Vec<String>>) {
        let l = Line::new(line.as_bytes().to_vec(), Eol::Lf);
        let Some(d) = l.directive() else {
            panic!("{line:?} is {:?}", l.kind)
        };
        (
            d.keyword.to_owned(),
            d.rest.to_owned(),
            d.args.map(|a| a.to_vec()),
        )
    }

    #[test]
    fn separators_and_case() {
        for l in [
            "HostName x",
            "hostname=x",
            "  HOSTNAME = x",
            "\tHostName\tx  ",
            "HostName =x",
        ] {
            let (keyword, rest, args) = d(l);
            assert_eq!(keyword, "hostname", "{l:?}");
            assert_eq!(args, Some(vec!["x".to_string()]), "{l:?}");
            assert_eq!(rest, "x");
        }
    }

    #[test]
    fn quotes_escapes_and_comments() {
        assert_eq!(
            d(r#"User "a b" c\ d 'e"f' # tail"#).2.unwrap(),
            vec!["a b", "c d", "e\"f"]
        );
        assert_eq!(d("User a#b").2.unwrap(), vec!["a#b"]);
        assert_eq!(d("User a  b\t#c d").2.unwrap(), vec!["a", "b"]);
        assert_eq!(d("User \"open").2, None);
        assert_eq!(
            d("ProxyCommand ssh -W %h:%p \"j\" # x  ").1,
            "ssh -W %h:%p \"j\" # x"
        );
    }

    #[test]
    fn stored_words_are_what_argv_split_makes() {
        // The common line keeps no copy of its words; whichever way a line is stored, its
        // arguments must be exactly `argv_split` of its value.
        for line in [
            "Host a b\tc",
            "Host  a   b  ",
            "IdentityFile ~/.ssh/id # comment 'x",
            "User #only-comment",
            "User a# b #c",
            "User a\rb",
            "User a\x0cb",
            "HostName \"quoted name\" plain",
            "User a\\ b",
            "User 'x",
            "LocalForward 1 \"\"",
            "ProxyCommand sh -c 'exec nc %h %p' # tail",
            "User \u{e9}t\u{e9} b",
            "IgnoreUnknown a\\ b,c # x\t",
            "User",
        ] {
            let l = Line::new(line.as_bytes().to_vec(), Eol::Lf);
            let d = l.directive().unwrap();
            assert_eq!(d.args.map(|a| a.to_vec()), argv_split(d.rest), "{line:?}");
            if let Some(a) = d.args {
                let words = a.to_vec();
                assert_eq!(a.len(), words.len(), "{line:?}");
                assert_eq!(a.is_empty(), words.is_empty(), "{line:?}");
                // The editors' spans are those very words, as written.
                let spans = word_spans(&l.raw, d.value_start);
                assert_eq!(spans.len(), words.len(), "{line:?}");
                for (w, arg) in spans.into_iter().zip(words) {
                    let text = std::str::from_utf8(&l.raw[w]).unwrap();
                    assert_eq!(argv_split(text), Some(vec![arg]), "{line:?}");
                }
            }
        }
        let l = Line::new(b"User b\xffc d".to_vec(), Eol::Lf);
        let d = l.directive().unwrap();
        assert_eq!(d.rest, "b\u{fffd}c d");
        assert_eq!(d.args.unwrap().to_vec(), vec!["b\u{fffd}c", "d"]);
    }

    #[test]
    fn a_line_stays_small() {
        // A big config has thousands of lines and `config resolve` keeps them all: the common
        // line costs its raw bytes and this much.
        assert!(
            std::mem::size_of::<Line>() <= 88,
            "{}",
            std::mem::size_of::<Line>()
        );
    }

    #[test]
    fn blank_and_comment_lines() {
        assert_eq!(classify(b"   \t"), LineKind::Blank);
        assert_eq!(classify(b"  # hi"), LineKind::Comment);
        assert_eq!(classify(b"#"), LineKind::Comment);
    }

    #[test]
    fn round_trip_edge_cases() {
        for input in [
            &b""[..],
            b"\n",
            b"Host a\r\n  User b\nHost c",
            b"\xff\xfe Host \x80\n",
            b"\r\r\n\r",
            b"a=b\n\n\n",
        ] {
            assert_eq!(parse(input).print(), input);
        }
    }

    #[test]
    fn blocks_follow_host_and_match() {
        let c = parse(b"User a\nHost x\n Port 1\n\nMatch all\n User b\n");
        let b = c.blocks();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].lines, 0..1);
        assert_eq!(b[1].header, Some(1));
        assert_eq!(b[1].lines, 1..4);
        assert_eq!(b[2].kind, BlockKind::Match);
        assert_eq!(b[2].lines, 4..6);
    }

    #[test]
    fn strdelim_for_match() {
        assert_eq!(
            strdelim_split("host=a,b exec \"x y\" !user u").unwrap(),
            vec!["host", "a,b", "exec", "x y", "!user", "u"]
        );
    }
}
