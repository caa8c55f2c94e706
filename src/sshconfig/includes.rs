//! The files of a user config in the order ssh reads them: the file itself, with each
//! `Include`d file's lines spliced in where its `Include` line stands (depth-first, globs
//! sorted as `glob(3)` sorts them, directories skipped, at most 16 levels as in readconf.c).
//!
//! The file-level fixes need this order, not one host's evaluation: `IgnoreUnknown` keeps the
//! first value ssh reads and must come before every line that uses the keyword, in whatever
//! file ("an earlier Include can defeat it"), and a byte-order mark can sit in any of the
//! files. Which files an `Include` names is the evaluator's answer ([`eval::include_paths`]:
//! relative paths under `~/.ssh` for every user config, `-F` too, globbed as ssh globs them),
//! and files are read as the evaluator reads them ([`read`]). This is a walk over the file
//! structure, not an evaluation: what the lines mean is left to `eval`.

use std::path::{Path, PathBuf};

use super::eval;
use super::syntax::{self, Config, Directive};
use crate::error::{Result, io_error};

/// readconf.c's READCONF_MAX_DEPTH.
const MAX_DEPTH: usize = 16;

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xef\xbb\xbf";

/// One file as read.
#[derive(Debug, Clone)]
pub struct File {
    pub path: PathBuf,
    /// The bytes on disk (None: the main file does not exist).
    pub bytes: Option<Vec<u8>>,
    /// The lines, parsed after a leading UTF-8 byte-order mark so that the structure (its
    /// `Include`s) is seen even while the mark makes ssh reject the first line.
    pub config: Config,
    /// Whether `config` starts after a byte-order mark (its line `i` is line `i` of the file
    /// either way: the mark only shifts the first line's bytes).
    pub bom: bool,
}

/// A directive in read order.
#[derive(Debug, Clone, Copy)]
pub struct LineRef {
    /// Index into [`ReadOrder::files`].
    pub file: usize,
    /// Index of the line in that file.
    pub line: usize,
    /// True when the line applies to every host: before any `Host`/`Match` of its file, in
    /// a file whose `Include` lines were all in that position too.
    pub unconditional: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ReadOrder {
    pub files: Vec<File>,
    pub lines: Vec<LineRef>,
}

impl ReadOrder {
    pub fn directive(&self, r: LineRef) -> Option<Directive<'_>> {
        self.files[r.file].config.lines[r.line].directive()
    }

    /// Every file read, for re-checking under fix-config's lock.
    pub fn inputs(&self) -> super::writer::Inputs {
        let mut i = super::writer::Inputs::default();
        for f in &self.files {
            i.add(&f.path, f.bytes.as_deref());
        }
        i
    }

    /// `file:line` (1-based) for messages.
    pub fn at(&self, r: LineRef) -> String {
        format!(
            "{}:{}",
            crate::paths::display_tilde(&self.files[r.file].path),
            r.line + 1
        )
    }
}

/// Read `main` and everything it includes. A missing main file reads as empty; a missing or
/// unreadable included file is skipped (the evaluation reports what ssh would say).
pub fn read_order(main: &Path) -> Result<ReadOrder> {
    let mut out = ReadOrder::default();
    let bytes = match read(main) {
        Ok(b) => Some(b),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error(main, "read", e)),
    };
    let mut stack = Vec::new();
    visit(&mut out, main, bytes, true, 0, &mut stack);
    Ok(out)
}

fn visit(
    out: &mut ReadOrder,
    path: &Path,
    bytes: Option<Vec<u8>>,
    unconditional: bool,
    depth: usize,
    stack: &mut Vec<PathBuf>,
) {
    if depth > MAX_DEPTH || stack.iter().any(|p| p == path) {
        return;
    }
    let raw = bytes.as_deref().unwrap_or_default();
    let bom = raw.starts_with(BOM);
    let config = syntax::parse(if bom { &raw[BOM.len()..] } else { raw });
    let idx = out.files.len();
    out.files.push(File {
        path: path.to_path_buf(),
        bytes,
        config: config.clone(),
        bom,
    });
    stack.push(path.to_path_buf());
    // Whether the current block applies to every host (the global block, `Host *`,
    // `Match all`).
    let mut every_host = true;
    for (i, line) in config.lines.iter().enumerate() {
        let Some(d) = line.directive() else { continue };
        let global = unconditional && every_host;
        out.lines.push(LineRef {
            file: idx,
            line: i,
            unconditional: global,
        });
        match d.keyword {
            "host" | "match" => every_host = applies_to_every_host(&d),
            "include" => {
                for arg in d.args.iter().flatten() {
                    for p in expand(arg) {
                        if p.is_dir() {
                            continue;
                        }
                        if let Ok(b) = read(&p) {
                            visit(out, &p, Some(b), global, depth + 1, stack);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    stack.pop();
}

/// `Host *` (no negation) and `Match all`: blocks that hold for any host, so their lines are
/// as unconditional as global ones.
fn applies_to_every_host(d: &Directive) -> bool {
    let Some(args) = &d.args else { return false };
    match d.keyword {
        "host" => args.iter().any(|a| a == "*") && !args.iter().any(|a| a.starts_with('!')),
        _ => args.len() == 1 && args[0].eq_ignore_ascii_case("all"),
    }
}

/// A config file, read the way the evaluator reads one (no hang on a FIFO, a size limit).
pub fn read(path: &Path) -> std::io::Result<Vec<u8>> {
    crate::fsutil::read_limited(path, crate::fsutil::FileKind::SshConfig)
}

/// An `Include` argument as ssh expands it for a user config (the evaluator's own list).
pub fn expand(arg: &str) -> Vec<PathBuf> {
    eval::include_paths(arg, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_order_splices_includes_and_tracks_conditions() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&b, b"\xef\xbb\xbfUser x\nHost h\n  Port 1\n").unwrap();
        std::fs::write(
            &a,
            format!(
                "Include {b}\nHost z\n  Include {b}\nInclude {a}\nHost *\n  User y\n",
                a = a.display(),
                b = b.display()
            ),
        )
        .unwrap();
        let r = read_order(&a).unwrap();
        let seen: Vec<(usize, usize, bool)> = r
            .lines
            .iter()
            .map(|l| (l.file, l.line, l.unconditional))
            .collect();
        assert_eq!(
            seen,
            vec![
                (0, 0, true),
                (1, 0, true),
                (1, 1, true),
                (1, 2, false),
                (0, 1, true),
                (0, 2, false),
                (2, 0, false),
                (2, 1, false),
                (2, 2, false),
                // Including itself: a loop, not read again.
                (0, 3, false),
                (0, 4, false),
                (0, 5, true),
            ]
        );
        assert!(r.files[1].bom);
        assert_eq!(r.directive(r.lines[1]).unwrap().keyword, "user");
    }
}
