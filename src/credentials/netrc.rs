//! A lossless `~/.netrc` reader and editor.
//!
//! The Heroku CLI keeps its token in `~/.netrc` (`machine api.heroku.com` / `login EMAIL` /
//! `password TOKEN`, and the same for `git.heroku.com`), and that file is shared with curl, ftp,
//! git and whatever else the user has set up. The published Rust netrc crates rewrite the file
//! from their own model and lose comments, order or `macdef` bodies, so this module keeps the
//! file as bytes plus spans: an edit replaces or removes exactly the bytes of the entries it
//! changes, and every other byte of the file is written back unchanged.
//!
//! Grammar (as ftp(1), curl and the npm `netrc-parser` the Heroku CLI uses read it): tokens are
//! separated by any whitespace including newlines; an entry starts at `machine NAME` or
//! `default` and holds `login`, `password`, `account` (and, leniently, any other `key value`)
//! pairs; `macdef NAME` is followed by a body that ends at the first empty line; a `#` where a
//! keyword is expected starts a comment to the end of the line; a value may be double-quoted
//! (curl) with `\` escaping the next character. The parser never fails: whatever it cannot
//! understand it skips, because a netrc written for another tool must not stop herossh from
//! reading (or editing) its own entries.
//!
//! Edits are checked by re-reading the result: if the new entry would not read back as
//! written, or any other entry would read differently (the file ends inside a quote, or with
//! `machine` and no name), the original bytes are kept and the edit is refused with a clear
//! error. Known byte-level differences after an add and a remove: a file without a final
//! newline keeps the one added before the appended entry, and a file ending inside an
//! unterminated `macdef` body keeps the blank line added to close it. In CRLF files a macdef
//! body only ends at a bare `\n\n` (as in ftp on Unix). Lines herossh writes end like the
//! file's first line (CRLF stays CRLF, as Windows-edited files are), except the bare `\n`
//! that closes an unterminated macdef, which must be bare to close it.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result, io_error};
use crate::fsutil::{self, Mode};

/// The file, the bytes it held, and the entries found in them.
#[derive(Debug, Clone)]
pub struct Netrc {
    text: Vec<u8>,
    entries: Vec<Entry>,
}

/// What starts an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Machine(String),
    Default,
    /// A `macdef NAME` and its body (kept only so edits can step around it).
    Macdef(String),
}

/// One `machine`/`default`/`macdef` entry with the byte range it covers: from the first byte
/// of its keyword to the last byte of its last token.
#[derive(Debug, Clone)]
pub struct Entry {
    pub kind: EntryKind,
    start: usize,
    end: usize,
    fields: Vec<Field>,
}

#[derive(Debug, Clone)]
struct Field {
    key: String,
    value: String,
}

impl Entry {
    /// The first value of `key` (`login`, `password`, `account`) in this entry.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value.as_str())
    }
    pub fn login(&self) -> Option<&str> {
        self.get("login")
    }
    pub fn password(&self) -> Option<&str> {
        self.get("password")
    }
}

/// The netrc file herossh reads and writes: `$NETRC` when set and non-empty (as curl and
/// git-credential-netrc allow), else `~/.netrc` as the Heroku CLI uses.
pub fn default_path() -> PathBuf {
    match std::env::var_os("NETRC") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => crate::paths::home_dir().join(".netrc"),
    }
}

impl Netrc {
    /// Parse bytes. Never fails; see the module comment.
    pub fn parse(text: impl Into<Vec<u8>>) -> Netrc {
        let text = text.into();
        let entries = Parser::new(&text).entries();
        Netrc { text, entries }
    }

    /// Read `path`; a missing file is an empty netrc.
    pub fn load(path: &Path) -> Result<Netrc> {
        match fsutil::read_limited(path, fsutil::FileKind::Netrc) {
            Ok(bytes) => Ok(Netrc::parse(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Netrc::parse(Vec::new())),
            Err(e) => Err(io_error(path, "read", e)),
        }
    }

    /// Write atomically to `path` (or the file a symlinked `path` points to), mode 0600: the
    /// file holds passwords, so a looser mode is tightened on every rewrite.
    pub fn save(&self, path: &Path) -> Result<PathBuf> {
        fsutil::atomic_write(path, &self.text, Mode::Exactly(0o600))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The first `machine NAME` entry (netrc semantics: the first match wins). `default` is
    /// deliberately not a fallback: a catch-all password written for some FTP server must
    /// never be sent to the Heroku API as a token.
    pub fn machine(&self, name: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| matches!(&e.kind, EntryKind::Machine(m) if m == name))
    }

    /// Set `login` and `password` for `machine`. An existing entry is rewritten in the Heroku
    /// CLI's layout in place (its position in the file is kept); a new one is added in that
    /// layout before a `default` entry (which must stay last) or at the end of the file.
    pub fn set(&mut self, machine: &str, login: &str, password: &str) -> Result<()> {
        for (what, v) in [("machine name", machine), ("login", login)] {
            check_token(what, v, false)?;
        }
        check_token("password", password, true)?;
        let original = self.text.clone();
        let nl = self.line_ending();
        let block = format!("machine {machine}{nl}  login {login}{nl}  password {password}");
        if let Some(e) = self.machine(machine) {
            let (start, end) = (e.start, e.end);
            self.text.splice(start..end, block.into_bytes());
        } else if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.kind == EntryKind::Default)
        {
            // On the lines before the `default` line when it starts its line; otherwise
            // (other tokens before it on its line) right before `default` itself.
            let default_at = self.entries[i].start;
            let line = line_start(&self.text, default_at);
            let mut b = block.into_bytes();
            if self.text[line..default_at]
                .iter()
                .all(u8::is_ascii_whitespace)
            {
                b.extend_from_slice(nl.as_bytes());
                self.text.splice(line..line, b);
            } else {
                // A separating blank, which `remove` takes back.
                b.push(b' ');
                self.text.splice(default_at..default_at, b);
            }
        } else {
            if !self.text.is_empty() && !self.text.ends_with(b"\n") {
                self.text.extend_from_slice(nl.as_bytes());
            }
            // A macdef body runs to the first empty line: end an unterminated one first.
            let open_macdef = self.entries.last().is_some_and(|e| {
                matches!(e.kind, EntryKind::Macdef(_)) && !self.text[e.end..].starts_with(b"\n\n")
            });
            if open_macdef {
                self.text.push(b'\n');
            }
            self.text.extend_from_slice(block.as_bytes());
            self.text.extend_from_slice(nl.as_bytes());
        }
        self.verify(machine, login, password, original)
    }

    /// The line ending of the file's first line (LF for a file without one).
    fn line_ending(&self) -> &'static str {
        match self.text.iter().position(|&b| b == b'\n') {
            Some(i) if i > 0 && self.text[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// Re-read the edited text and make sure the entry reads back as written and nothing else
    /// changed meaning; otherwise put the original bytes back and say why. This catches files
    /// whose end would swallow an appended entry (an unterminated quote, `machine` without a
    /// name), which no placement rule can fix without rewriting the user's text.
    fn verify(
        &mut self,
        machine: &str,
        login: &str,
        password: &str,
        original: Vec<u8>,
    ) -> Result<()> {
        let others = |n: &Netrc| -> Vec<(EntryKind, Vec<(String, String)>)> {
            n.entries
                .iter()
                .filter(|e| !matches!(&e.kind, EntryKind::Machine(m) if m == machine))
                .map(|e| {
                    let f = e.fields.iter().map(|f| (f.key.clone(), f.value.clone()));
                    (e.kind.clone(), f.collect())
                })
                .collect()
        };
        let before = others(self);
        self.reparse();
        let ok = self.machine(machine).is_some_and(|e| {
            e.fields.len() == 2 && e.login() == Some(login) && e.password() == Some(password)
        }) && others(self) == before;
        if ok {
            return Ok(());
        }
        self.text = original;
        self.reparse();
        Err(Error::failed(format!(
            "cannot add `machine {machine}` to the netrc file without changing how its existing text reads (an unterminated quote, or `machine`/`macdef` without a name, near its end?): fix the file by hand"
        )))
    }

    /// Remove every `machine NAME` entry (all of them: removing only the first would uncover a
    /// shadowed duplicate). An entry alone on its lines takes those lines with it; other bytes
    /// stay. Returns whether anything was removed.
    pub fn remove(&mut self, machine: &str) -> bool {
        let mut removed = false;
        while let Some(e) = self.machine(machine) {
            let (mut start, mut end) = (e.start, e.end);
            let ls = line_start(&self.text, start);
            let le = line_end(&self.text, end);
            let blank_before = self.text[ls..start].iter().all(u8::is_ascii_whitespace);
            let blank_after = self.text[end..le].iter().all(u8::is_ascii_whitespace);
            if blank_before && blank_after {
                start = ls;
                end = (le + 1).min(self.text.len());
            } else if blank_after {
                // Last on a line shared with another entry: take the blanks before it.
                while start > ls && matches!(self.text[start - 1], b' ' | b'\t') {
                    start -= 1;
                }
            } else {
                // Followed by more tokens on its line: take the blanks after it.
                while end < le && matches!(self.text[end], b' ' | b'\t') {
                    end += 1;
                }
            }
            self.text.drain(start..end);
            self.reparse();
            removed = true;
        }
        removed
    }

    fn reparse(&mut self) {
        self.entries = Parser::new(&self.text).entries();
    }
}

/// Values herossh writes must read back as the same single token in every netrc parser.
fn check_token(what: &str, v: &str, secret: bool) -> Result<()> {
    let bad = v.is_empty()
        || v.chars().any(|c| c.is_whitespace() || c.is_control())
        || v.starts_with('"')
        || v.starts_with('#');
    if bad {
        // Never echo a password back, even a malformed one.
        let shown = if secret {
            String::new()
        } else {
            format!(" {v:?}")
        };
        return Err(Error::usage(format!(
            "cannot store{shown} as the netrc {what}: it must be non-empty, without spaces, and not start with '\"' or '#'"
        )));
    }
    Ok(())
}

fn line_start(text: &[u8], at: usize) -> usize {
    text[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1)
}

/// Index of the `\n` ending the line `at` is on (or the text length).
fn line_end(text: &[u8], at: usize) -> usize {
    text[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| at + i)
}

/// A token and where it lies.
struct Token {
    value: String,
    start: usize,
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn new(text: &'a [u8]) -> Self {
        Parser { text, pos: 0 }
    }

    fn skip_blanks(&mut self) {
        while self.pos < self.text.len() && self.text[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    /// The next keyword-position token, skipping whitespace and `#` comments.
    fn keyword(&mut self) -> Option<Token> {
        loop {
            self.skip_blanks();
            if self.text.get(self.pos) == Some(&b'#') {
                self.pos = line_end(self.text, self.pos);
                continue;
            }
            return self.raw_token(false);
        }
    }

    /// The next value-position token (may be quoted; `#` is an ordinary character here).
    fn value(&mut self) -> Option<Token> {
        self.skip_blanks();
        self.raw_token(true)
    }

    fn raw_token(&mut self, allow_quotes: bool) -> Option<Token> {
        let start = self.pos;
        if start >= self.text.len() {
            return None;
        }
        let mut value = Vec::new();
        if allow_quotes && self.text[start] == b'"' {
            self.pos += 1;
            while self.pos < self.text.len() {
                match self.text[self.pos] {
                    b'"' => {
                        self.pos += 1;
                        break;
                    }
                    b'\\' if self.pos + 1 < self.text.len() => {
                        value.push(self.text[self.pos + 1]);
                        self.pos += 2;
                    }
                    b => {
                        value.push(b);
                        self.pos += 1;
                    }
                }
            }
        } else {
            while self.pos < self.text.len() && !self.text[self.pos].is_ascii_whitespace() {
                value.push(self.text[self.pos]);
                self.pos += 1;
            }
        }
        Some(Token {
            value: String::from_utf8_lossy(&value).into_owned(),
            start,
        })
    }

    /// A macdef body runs from the line after `macdef NAME` to the first empty line.
    fn skip_macdef_body(&mut self) -> usize {
        // The rest of the `macdef NAME` line is not part of the body, but of the macdef.
        self.pos = line_end(self.text, self.pos);
        let mut end = self.pos;
        while self.pos < self.text.len() {
            // self.pos is at a '\n'; the next line is empty when another '\n' follows.
            let next = self.pos + 1;
            if next >= self.text.len() || self.text[next] == b'\n' {
                break;
            }
            self.pos = line_end(self.text, next);
            end = self.pos;
        }
        end
    }

    fn entries(mut self) -> Vec<Entry> {
        let mut entries = Vec::new();
        let mut current: Option<Entry> = None;
        while let Some(tok) = self.keyword() {
            match tok.value.as_str() {
                "machine" | "default" | "macdef" => {
                    if let Some(e) = current.take() {
                        entries.push(e);
                    }
                    let kind = match tok.value.as_str() {
                        "default" => EntryKind::Default,
                        kw => {
                            let name = self.value();
                            let n = name.as_ref().map(|t| t.value.clone()).unwrap_or_default();
                            if kw == "machine" {
                                EntryKind::Machine(n)
                            } else {
                                EntryKind::Macdef(n)
                            }
                        }
                    };
                    let mut end = self.pos;
                    if matches!(kind, EntryKind::Macdef(_)) {
                        end = self.skip_macdef_body();
                        entries.push(Entry {
                            kind,
                            start: tok.start,
                            end,
                            fields: Vec::new(),
                        });
                        continue;
                    }
                    current = Some(Entry {
                        kind,
                        start: tok.start,
                        end,
                        fields: Vec::new(),
                    });
                }
                _ => {
                    let value = self.value();
                    match current.as_mut() {
                        Some(e) => {
                            e.end = self.pos;
                            e.fields.push(Field {
                                key: tok.value,
                                value: value.map(|v| v.value).unwrap_or_default(),
                            });
                        }
                        // A pair outside any entry: not meaningful to any reader; skip it.
                        None => continue,
                    }
                }
            }
        }
        if let Some(e) = current {
            entries.push(e);
        }
        entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSY: &str = "# my netrc\n\
        machine example.com login alice password \"p w\\\"d\"  # trailing words\n\
        \n\
        macdef init\n\
        cd /pub\n\
        machine not-an-entry\n\
        \n\
        machine\tftp.gnu.org\n\t\tlogin anonymous\n  password me@\n\
        default login guest password guest\n";

    #[test]
    fn parses_machines_quotes_macdef_comments_and_default() {
        let n = Netrc::parse(MESSY);
        let kinds: Vec<_> = n.entries().iter().map(|e| e.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                EntryKind::Machine("example.com".into()),
                EntryKind::Macdef("init".into()),
                EntryKind::Machine("ftp.gnu.org".into()),
                EntryKind::Default,
            ]
        );
        let e = n.machine("example.com").unwrap();
        assert_eq!(e.login(), Some("alice"));
        assert_eq!(e.password(), Some("p w\"d"));
        // The macdef body's `machine not-an-entry` is not an entry.
        assert!(n.machine("not-an-entry").is_none());
        assert_eq!(n.machine("ftp.gnu.org").unwrap().password(), Some("me@"));
        assert!(n.machine("api.heroku.com").is_none());
    }

    #[test]
    fn set_then_remove_restores_every_byte_and_goes_before_default() {
        let mut n = Netrc::parse(MESSY);
        n.set("api.heroku.com", "u@example.com", "tok-1").unwrap();
        n.set("git.heroku.com", "u@example.com", "tok-1").unwrap();
        let text = String::from_utf8(n.as_bytes().to_vec()).unwrap();
        assert!(
            text.ends_with(
                "  password me@\n\
                 machine api.heroku.com\n  login u@example.com\n  password tok-1\n\
                 machine git.heroku.com\n  login u@example.com\n  password tok-1\n\
                 default login guest password guest\n"
            ),
            "{text}"
        );
        assert_eq!(
            n.machine("api.heroku.com").unwrap().password(),
            Some("tok-1")
        );
        assert!(n.remove("api.heroku.com"));
        assert!(n.remove("git.heroku.com"));
        assert!(!n.remove("git.heroku.com"));
        assert_eq!(n.as_bytes(), MESSY.as_bytes());
    }

    #[test]
    fn update_in_place_keeps_position_and_neighbours() {
        let src = "machine a login x password y\nmachine api.heroku.com login old password old-tok account z\nmachine b login q password r";
        let mut n = Netrc::parse(src);
        n.set("api.heroku.com", "new@example.com", "new-tok")
            .unwrap();
        assert_eq!(
            String::from_utf8(n.as_bytes().to_vec()).unwrap(),
            "machine a login x password y\nmachine api.heroku.com\n  login new@example.com\n  password new-tok\nmachine b login q password r"
        );
    }

    #[test]
    fn remove_all_duplicates_and_entries_sharing_a_line() {
        let src = "machine a login x password y machine api.heroku.com login e password t1\n\
                   # keep me\n\
                   machine api.heroku.com\n  login e\n  password t2\n";
        let mut n = Netrc::parse(src);
        assert_eq!(n.machine("api.heroku.com").unwrap().password(), Some("t1"));
        assert!(n.remove("api.heroku.com"));
        assert_eq!(
            String::from_utf8(n.as_bytes().to_vec()).unwrap(),
            "machine a login x password y\n# keep me\n"
        );
    }

    #[test]
    fn appends_to_empty_and_to_file_without_final_newline() {
        let mut n = Netrc::parse("");
        n.set("api.heroku.com", "e", "t").unwrap();
        assert_eq!(
            n.as_bytes(),
            b"machine api.heroku.com\n  login e\n  password t\n"
        );
        let mut n = Netrc::parse("machine a login b password c");
        n.set("api.heroku.com", "e", "t").unwrap();
        assert_eq!(
            n.as_bytes(),
            b"machine a login b password c\nmachine api.heroku.com\n  login e\n  password t\n"
        );
    }

    #[test]
    fn crlf_file_keeps_its_other_lines() {
        let src = "machine a\r\n  login b\r\n  password c\r\n";
        let mut n = Netrc::parse(src);
        assert_eq!(n.machine("a").unwrap().password(), Some("c"));
        n.set("api.heroku.com", "e", "t").unwrap();
        assert!(n.remove("api.heroku.com"));
        assert_eq!(n.as_bytes(), src.as_bytes());
    }

    #[test]
    fn crlf_file_gets_crlf_lines() {
        let src = "machine a\r\n  login b\r\n  password c";
        let mut n = Netrc::parse(src);
        n.set("api.heroku.com", "e", "t").unwrap();
        assert_eq!(
            String::from_utf8_lossy(n.as_bytes()),
            "machine a\r\n  login b\r\n  password c\r\n\
             machine api.heroku.com\r\n  login e\r\n  password t\r\n"
        );
        // Before a `default`, and rewriting an entry in place, too.
        let mut n = Netrc::parse("default login x password y\r\n");
        n.set("git.heroku.com", "e", "t").unwrap();
        n.set("git.heroku.com", "e2", "t2").unwrap();
        assert_eq!(
            String::from_utf8_lossy(n.as_bytes()),
            "machine git.heroku.com\r\n  login e2\r\n  password t2\r\n\
             default login x password y\r\n"
        );
        // An LF file stays LF.
        let mut n = Netrc::parse("machine a login b password c\n");
        n.set("api.heroku.com", "e", "t").unwrap();
        assert!(!n.as_bytes().contains(&b'\r'));
    }

    #[test]
    fn rejects_values_that_would_not_read_back_and_never_echoes_passwords() {
        let mut n = Netrc::parse("");
        let e = n.set("api.heroku.com", "a b", "t").unwrap_err();
        assert!(e.message.contains("\"a b\""), "{}", e.message);
        let e = n.set("api.heroku.com", "e", "sec ret").unwrap_err();
        assert!(!e.message.contains("sec"), "{}", e.message);
        assert!(n.as_bytes().is_empty());
    }

    /// Generated files from netrc's own vocabulary (quotes, comments, macdefs, CRLF, tabs):
    /// parsing never panics, `set` makes the entry readable without changing what any other
    /// entry reads as, and `remove` then gives back the original bytes.
    #[test]
    fn generated_files_round_trip() {
        const WORDS: &[&str] = &[
            "machine",
            "default",
            "macdef",
            "login",
            "password",
            "account",
            "a.example",
            "b",
            "\"q w\"",
            "#c",
            " ",
            "\n",
            "\t",
            "\n\n",
            "\r\n",
            "\"",
            "\\",
            "tok",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let view = |n: &Netrc| -> Vec<(EntryKind, Option<String>, Option<String>)> {
            n.entries()
                .iter()
                .filter(|e| e.kind != EntryKind::Machine("api.heroku.com".into()))
                .map(|e| {
                    (
                        e.kind.clone(),
                        e.login().map(Into::into),
                        e.password().map(Into::into),
                    )
                })
                .collect()
        };
        let mut refused = 0;
        for _ in 0..3000 {
            let len = (next() % 24) as usize;
            let mut text = String::new();
            for _ in 0..len {
                text.push_str(WORDS[(next() % WORDS.len() as u64) as usize]);
                if next() % 2 == 0 {
                    text.push(' ');
                }
            }
            text.push('\n');
            let mut n = Netrc::parse(text.clone());
            let before = view(&n);
            let ends_in_macdef = n.entries().last().is_some_and(|e| {
                matches!(e.kind, EntryKind::Macdef(_)) && !text[e.end..].starts_with("\n\n")
            }) && !n.entries().iter().any(|e| e.kind == EntryKind::Default);
            if n.set("api.heroku.com", "e@x", "T0K").is_err() {
                refused += 1;
                assert_eq!(String::from_utf8_lossy(n.as_bytes()), text);
                continue;
            }
            assert_eq!(
                n.machine("api.heroku.com").unwrap().password(),
                Some("T0K"),
                "{text:?}"
            );
            assert_eq!(view(&n), before, "{text:?}");
            assert!(n.remove("api.heroku.com"));
            let mut expected = text.clone();
            if ends_in_macdef {
                // The blank line that ends the macdef body stays.
                expected.push('\n');
            }
            assert_eq!(String::from_utf8_lossy(n.as_bytes()), expected, "{text:?}");
        }
        // Refusals happen only for garbage whose tokens would swallow an added entry (a
        // stray key before `default`, an unterminated quote): well-formed files never refuse.
        assert!(refused < 3000, "everything refused");
    }

    /// Well-formed files in every layout people write (one-line and multi-line entries, tabs,
    /// CRLF, comments, macdefs, `default` last, with or without a final newline) are never
    /// refused, and come back byte for byte.
    #[test]
    fn well_formed_files_are_never_refused() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % m
        };
        for _ in 0..2000 {
            let nl = if next(4) == 0 { "\r\n" } else { "\n" };
            let mut text = String::new();
            for i in 0..next(6) {
                match next(5) {
                    0 => text.push_str(&format!("# comment {i}{nl}")),
                    1 => text.push_str(nl),
                    2 => text.push_str(&format!("macdef m{i}{nl}cd /pub{nl}machine x{nl}\n")),
                    3 => text.push_str(&format!(
                        "machine h{i}.example login u{i} password \"p {i}\"{nl}"
                    )),
                    _ => text.push_str(&format!(
                        "machine\th{i}.example{nl}\tlogin u{i}{nl}  account a{nl}  password p{i}{nl}"
                    )),
                }
            }
            let has_default = next(2) == 0;
            if has_default {
                text.push_str(&format!("default login anonymous password guest{nl}"));
            }
            if next(3) == 0 && !text.trim_end().ends_with("machine x") {
                text.truncate(text.trim_end_matches(['\r', '\n']).len());
            }
            let mut n = Netrc::parse(text.clone());
            n.set("api.heroku.com", "e@x", "T0K")
                .unwrap_or_else(|e| panic!("{text:?}: {}", e.message));
            n.set("git.heroku.com", "e@x", "T0K").unwrap();
            assert!(n.remove("api.heroku.com") && n.remove("git.heroku.com"));
            let got = String::from_utf8_lossy(n.as_bytes()).into_owned();
            if has_default || text.is_empty() || text.ends_with('\n') {
                assert_eq!(got, text);
            } else {
                // Known: a file without a final newline gains one (in the file's line ending)
                // when an entry is appended.
                let crlf = text.find('\n').is_some_and(|i| text[..i].ends_with('\r'));
                let added = if crlf { "\r\n" } else { "\n" };
                assert_eq!(got, format!("{text}{added}"), "{text:?}");
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        for s in [
            "machine",
            "macdef",
            "macdef x",
            "login",
            "\"",
            "machine \"unterminated",
            "machine a password \"x\\",
            "#",
            "\n\n\nmacdef m\nbody\n",
            "default",
            "\u{feff}machine a",
        ] {
            let mut n = Netrc::parse(s);
            let _ = n.machine("a");
            if n.set("api.heroku.com", "e", "t").is_ok() {
                assert!(n.remove("api.heroku.com"));
            } else {
                assert_eq!(n.as_bytes(), s.as_bytes());
            }
            n.remove("a");
        }
    }
}
