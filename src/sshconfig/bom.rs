//! `fix-config --remove-bom`: rewrite a config, and every file it includes, without a
//! byte-order mark. Windows editors and PowerShell's `>` put one in front; ssh then reads the
//! first keyword as `\u{feff}host` and refuses the file ("Bad configuration option"). A UTF-16
//! file (PowerShell 5's default) is converted to UTF-8 as well: ssh cannot read it at all.
//! Nothing but the mark (or the encoding) changes.

use std::path::{Path, PathBuf};

use super::edit::Plan;
use super::eval::{self, Request};
use super::includes::{self, BOM};
use super::syntax;
use crate::error::{Error, Result};
use crate::paths::display_tilde;

#[derive(Debug, Clone)]
pub enum Outcome {
    /// No file has a mark: how many were looked at.
    Already(usize),
    /// The edits, and the files they were planned from.
    Edit(Vec<Plan>, super::writer::Inputs),
}

/// Plan the edits for `config` and the files it includes.
pub fn plan(config: &Path, explicit: bool) -> Result<Outcome> {
    let order = includes::read_order(config)?;
    if order.files[0].bytes.is_none() {
        return Err(Error::usage(format!(
            "{} does not exist",
            display_tilde(config)
        )));
    }
    let mut plans = Vec::new();
    for f in &order.files {
        let Some(bytes) = &f.bytes else { continue };
        if plans.iter().any(|p: &Plan| p.file == f.path) {
            continue;
        }
        let Some((after, what)) = without_mark(bytes) else {
            continue;
        };
        plans.push(Plan {
            file: f.path.clone(),
            before: syntax::parse(bytes),
            after: syntax::parse(&after),
            description: format!("{what} from {}", display_tilde(&f.path)),
            create: false,
        });
    }
    if plans.is_empty() {
        return Ok(Outcome::Already(order.files.len()));
    }
    check(config, explicit, &plans)?;
    Ok(Outcome::Edit(plans, order.inputs()))
}

/// The bytes without their mark, and what was done; None when there is no mark.
fn without_mark(bytes: &[u8]) -> Option<(Vec<u8>, &'static str)> {
    if let Some(rest) = bytes.strip_prefix(BOM) {
        return Some((rest.to_vec(), "removed the UTF-8 byte-order mark"));
    }
    let le = bytes.starts_with(b"\xff\xfe");
    if !(le || bytes.starts_with(b"\xfe\xff")) || bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes[2..]
        .chunks_exact(2)
        .map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        })
        .collect();
    let text = String::from_utf16(&units).ok()?;
    Some((
        text.into_bytes(),
        if le {
            "converted UTF-16LE (with byte-order mark) to UTF-8"
        } else {
            "converted UTF-16BE (with byte-order mark) to UTF-8"
        },
    ))
}

/// With the edits, ssh must no longer stumble on a mark.
fn check(config: &Path, explicit: bool, plans: &[Plan]) -> Result<()> {
    let overrides = plans
        .iter()
        .map(|p| (p.file.clone(), eval::prepare(&p.file, p.after.clone())))
        .collect();
    let r = eval::evaluate(&Request {
        host: "herossh-unnamed-host.invalid".into(),
        config: explicit.then(|| PathBuf::from(config)),
        overrides,
        ..Default::default()
    });
    match r {
        Err(e) if e.message.contains('\u{feff}') => Err(Error::failed(format!(
            "a byte-order mark is still in the way: {}",
            e.message
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_are_removed_and_utf16_converted() {
        assert_eq!(
            without_mark(b"\xef\xbb\xbfHost a\r\n").unwrap().0,
            b"Host a\r\n"
        );
        assert!(without_mark(b"Host a\n").is_none());
        let mut le = vec![0xff, 0xfe];
        for u in "Host é\r\n".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(without_mark(&le).unwrap().0, "Host é\r\n".as_bytes());
        let mut be = vec![0xfe, 0xff];
        for u in "User x\n".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(without_mark(&be).unwrap().0, b"User x\n");
        // An odd length is not UTF-16.
        assert!(without_mark(b"\xff\xfeH").is_none());
    }

    #[test]
    fn plans_cover_included_files() {
        let dir = tempfile::tempdir().unwrap();
        let inc = dir.path().join("inc");
        std::fs::write(&inc, b"\xef\xbb\xbfHost x\n  User y\n").unwrap();
        let main = dir.path().join("c");
        std::fs::write(
            &main,
            format!("\u{feff}Include {}\n", inc.display()).as_bytes(),
        )
        .unwrap();
        let Outcome::Edit(plans, _) = plan(&main, true).unwrap() else {
            panic!("no edit")
        };
        assert_eq!(plans.len(), 2);
        assert_eq!(plans[1].after.print(), b"Host x\n  User y\n");
        assert_eq!(plans[0].before.print(), std::fs::read(&main).unwrap());
    }
}
