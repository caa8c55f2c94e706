//! A stand-in for Apple's `/usr/bin/security`, so herossh's macOS keychain backend runs end
//! to end on Linux. It implements the documented behaviour of the commands herossh and the
//! Heroku CLI use, taken from Apple's sources (PLATFORMS.md §1; Security-61901
//! SecurityTool/macOS: security.c, readline.c, keychain_find.c, keychain_add.c,
//! keychain_utilities.c), not from herossh:
//!
//! - global options `-h -i -l -p PROMPT -q -v -R`; `-i` reads commands from stdin: lines of at
//!   most 4095 bytes (a longer line is split, the rest is the next command; a last line
//!   without `\n` is dropped), split by `split_line`'s tokenizer (whitespace; `"…"` / `'…'`
//!   only at the start of an argument, ending it; backslash escapes in and out of quotes; at
//!   most 32 arguments), `NAME: returned STATUS` on stderr after a failing command unless
//!   `-q`, the exit status being the last command's;
//! - commands matched by prefix in the real table's order;
//! - BSD `getopt` option parsing (clusters, attached values, `--`, the `:`-prefixed silent
//!   mode of add-generic-password);
//! - `find-generic-password` (`-a -c -C -D -G -j -l -s` match, `-g`, `-w`: the secret and one
//!   `\n`, or the whole secret as lowercase hex when any byte is not `isprint`), only the
//!   account+service primary key when both are given, first match only;
//! - `add-generic-password` (`-a -s` required, `-w`/`-p`, `-X HEX` with `convertHex`'s
//!   odd-length quirk, `-l` defaulting to the service, `-D -G -j -c -C`, `-T`/`-A` accepted,
//!   `-U` updating data and label, falling through to an add that is a duplicate (exit 45)
//!   when the update fails, `-w` as the last option prompting, which fails without a
//!   terminal);
//! - `delete-generic-password` (first match only; attributes on stdout, `password has been
//!   deleted.` on stderr);
//! - `dump-keychain [-d] [-o FILE]` in `print_keychain_item_attributes`' format;
//! - exit status = OSStatus & 0xFF: 44 not found, 45 duplicate, 36 interaction not allowed,
//!   128 user canceled, 2 usage, 50 no such keychain.
//!
//! What a Mac decides is set by a `fault` file next to the program: `locked` (no GUI session
//! to unlock the keychain: attributes stay searchable, but reading a secret, changing or
//! deleting an item and adding one fail with errSecInteractionNotAllowed), `refuse` (the user
//! presses Deny: reading, changing or deleting an existing item fails with
//! errSecUserCanceled) or `hang` (a dialog nobody answers: the program waits 60 s first).
//! Not modelled: ACLs and `-T` (every item trusts everyone unless `refuse`), other item
//! classes, several keychains (the only one is `login.keychain-db` next to the program), and
//! the other commands of the real tool (they fail with exit 1).
//!
//! State lives next to the program, which is a symlink the harness makes per test (its
//! directory comes from argv[0], the path the caller ran): the keychain file, and `argv.log`
//! with one `argv:` line per run and one `stdin:` line per `-i` command (secret values after
//! `-w`, `-p` and `-X` shown as `<secret>`: the argv lines are verbatim, they are what `ps`
//! shows).
//!
//! Built by the test harness with `rustc` (std only) at first use; see
//! `support::security::standin_binary` for why it is not a Cargo target. It is also a module
//! of the test crate, so fmt and clippy cover it and its unit tests run with the suite.

use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// OSStatus values (Security base/SecBase.h).
const ERR_ITEM_NOT_FOUND: i32 = -25300;
const ERR_DUPLICATE_ITEM: i32 = -25299;
const ERR_INTERACTION_NOT_ALLOWED: i32 = -25308;
const ERR_USER_CANCELED: i32 = -128;
const ERR_NO_SUCH_KEYCHAIN: i32 = -25294;
/// "Return 2 triggers usage message."
const SHOW_USAGE: i32 = 2;
/// security.c
const MAX_LINE_LEN: usize = 4096;
const MAX_ARGS: usize = 32;
const KEYCHAIN_FILE: &str = "login.keychain-db";

fn err_message(status: i32) -> &'static str {
    match status {
        ERR_ITEM_NOT_FOUND => "The specified item could not be found in the keychain.",
        ERR_DUPLICATE_ITEM => "The specified item already exists in the keychain.",
        ERR_INTERACTION_NOT_ALLOWED => "User interaction is not allowed.",
        ERR_USER_CANCELED => "User canceled the operation.",
        ERR_NO_SUCH_KEYCHAIN => "The specified keychain could not be found.",
        _ => "Unknown error.",
    }
}

/// The real tool's command table, in its order (prefix matching picks the first).
const COMMANDS: &[&str] = &[
    "help",
    "list-keychains",
    "list-smartcards",
    "default-keychain",
    "login-keychain",
    "create-keychain",
    "delete-keychain",
    "lock-keychain",
    "unlock-keychain",
    "set-keychain-settings",
    "set-keychain-password",
    "show-keychain-info",
    "dump-keychain",
    "recode-keychain",
    "create-keypair",
    "create-key-loop",
    "wait-for-notifications",
    "create-csr",
    "add-generic-password",
    "add-internet-password",
    "add-certificates",
    "find-generic-password",
    "delete-generic-password",
    "set-generic-password-partition-list",
    "find-internet-password",
    "delete-internet-password",
    "set-internet-password-partition-list",
    "find-key",
    "set-key-partition-list",
    "find-certificate",
    "find-identity",
    "delete-certificate",
    "delete-identity",
    "set-identity-preference",
    "get-identity-preference",
    "create-db",
    "export",
    "import",
    "export-smartcard",
    "cms",
    "install-mds",
    "add-trusted-cert",
    "remove-trusted-cert",
    "dump-trust-settings",
    "user-trust-settings-enable",
    "trust-settings-export",
    "trust-settings-import",
    "verify-cert",
    "authorize",
    "authorizationdb",
    "execute-with-privileges",
    "leaks",
    "error",
    "create-filevaultmaster-keychain",
    "smartcards",
    "translocate-policy-check",
    "translocate-status-check",
    "translocate-original-path",
    "requirement-evaluate",
    "filevault",
    "platformsso",
];

fn usage_of(command: &str) -> (&'static str, &'static str) {
    match command {
        "find-generic-password" => (
            "[-h] [-a account] [-s service] [options...] [-g] [keychain...]",
            "Find a generic password item.",
        ),
        "add-generic-password" => (
            "[-h] [-a account] [-s service] [-w password] [options...] [-A|-T appPath] [keychain]",
            "Add a generic password item.",
        ),
        "delete-generic-password" => (
            "[-h] [-a account] [-s service] [options...] [keychain...]",
            "Delete a generic password item.",
        ),
        "dump-keychain" => (
            "[-adhir] [keychain...]",
            "Dump the contents of one or more keychains.",
        ),
        _ => ("", ""),
    }
}

// ---------------------------------------------------------------------------------------------
// The keychain file

/// A generic password item (class `genp`). `None` attributes dump as `<NULL>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Item {
    pub label: Option<Vec<u8>>,
    pub account: Option<Vec<u8>>,
    pub service: Option<Vec<u8>>,
    pub kind: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub comment: Option<Vec<u8>>,
    pub creator: Option<u32>,
    pub item_type: Option<u32>,
    /// `YYYYMMDDhhmmssZ`
    pub created: String,
    pub modified: String,
    pub data: Vec<u8>,
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// One item per line, every field hex (`-` for absent), so any byte survives.
fn item_line(it: &Item) -> String {
    let f = |v: &Option<Vec<u8>>| v.as_deref().map(hex_lower).unwrap_or_else(|| "-".into());
    let n = |v: Option<u32>| v.map(|x| format!("{x:08x}")).unwrap_or_else(|| "-".into());
    format!(
        "genp {} {} {} {} {} {} {} {} {} {} {}",
        f(&it.label),
        f(&it.account),
        f(&it.service),
        f(&it.kind),
        f(&it.value),
        f(&it.comment),
        n(it.creator),
        n(it.item_type),
        it.created,
        it.modified,
        hex_lower(&it.data)
    )
}

fn parse_item(line: &str) -> Option<Item> {
    let p: Vec<&str> = line.split(' ').collect();
    if p.len() != 12 || p[0] != "genp" {
        return None;
    }
    let f = |s: &str| {
        if s == "-" {
            Some(None)
        } else {
            unhex(s).map(Some)
        }
    };
    let n = |s: &str| {
        if s == "-" {
            Some(None)
        } else {
            u32::from_str_radix(s, 16).ok().map(Some)
        }
    };
    Some(Item {
        label: f(p[1])?,
        account: f(p[2])?,
        service: f(p[3])?,
        kind: f(p[4])?,
        value: f(p[5])?,
        comment: f(p[6])?,
        creator: n(p[7])?,
        item_type: n(p[8])?,
        created: p[9].to_string(),
        modified: p[10].to_string(),
        data: unhex(p[11])?,
    })
}

pub fn load(path: &Path) -> Vec<Item> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| parse_item(l).unwrap_or_else(|| panic!("corrupt stand-in keychain line {l:?}")))
        .collect()
}

fn save(path: &Path, items: &[Item]) {
    let text: String = items.iter().map(|i| item_line(i) + "\n").collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write the stand-in keychain");
    std::fs::rename(&tmp, path).expect("replace the stand-in keychain");
}

/// Now as a keychain timedate, `YYYYMMDDhhmmssZ` (UTC).
fn timedate_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

// ---------------------------------------------------------------------------------------------
// Output formats

/// keychain_utilities.c `print_buffer`: `"ascii"` with `\ooo` for other bytes, prefixed by
/// `0xHEX ` (uppercase) when any byte is not printable ASCII or is a backslash.
pub fn print_buffer(data: &[u8]) -> Vec<u8> {
    let plain = |c: u8| (b' '..=b'~').contains(&c) && c != b'\\';
    let ascii = data.iter().any(|&c| plain(c));
    let hex = data.iter().any(|&c| !plain(c));
    let mut out = Vec::new();
    if hex {
        out.extend_from_slice(b"0x");
        for c in data {
            out.extend_from_slice(format!("{c:02X}").as_bytes());
        }
        if ascii {
            out.push(b' ');
        }
        out.push(b' ');
    }
    if ascii {
        out.push(b'"');
        for &c in data {
            if plain(c) {
                out.push(c);
            } else {
                out.extend_from_slice(
                    format!("\\{}{}{}", (c >> 6) & 7, (c >> 3) & 7, c & 7).as_bytes(),
                );
            }
        }
        out.push(b'"');
    }
    out
}

/// `print_uint32`: the value's big-endian bytes through [`print_buffer`].
fn print_uint32(n: u32) -> Vec<u8> {
    print_buffer(&n.to_be_bytes())
}

/// keychain_utilities.c `print_keychain_item_attributes` for a `genp` item (the attribute
/// order is the generic-password schema's, as the real tool prints it).
fn print_item(out: &mut Vec<u8>, keychain: &Path, it: &Item, show_data: bool) {
    out.extend_from_slice(b"keychain: ");
    out.extend(print_buffer(keychain.as_os_str().as_bytes()));
    out.extend_from_slice(b"\nversion: 512\nclass: ");
    out.extend(print_buffer(b"genp"));
    out.extend_from_slice(b"\nattributes:\n");
    let blob = |v: &Option<Vec<u8>>| match v {
        Some(b) => print_buffer(b),
        None => b"<NULL>".to_vec(),
    };
    let uint = |v: Option<u32>| v.map(print_uint32).unwrap_or_else(|| b"<NULL>".to_vec());
    let time = |t: &str| {
        let mut b = t.as_bytes().to_vec();
        b.push(0);
        print_buffer(&b)
    };
    let null = b"<NULL>".to_vec();
    let rows: [(Vec<u8>, &str, Vec<u8>); 16] = [
        (print_uint32(7), "blob", blob(&it.label)),
        (print_uint32(8), "blob", null.clone()),
        (print_buffer(b"acct"), "blob", blob(&it.account)),
        (print_buffer(b"cdat"), "timedate", time(&it.created)),
        (print_buffer(b"crtr"), "uint32", uint(it.creator)),
        (print_buffer(b"cusi"), "sint32", null.clone()),
        (print_buffer(b"desc"), "blob", blob(&it.kind)),
        (print_buffer(b"gena"), "blob", blob(&it.value)),
        (print_buffer(b"icmt"), "blob", blob(&it.comment)),
        (print_buffer(b"invi"), "sint32", null.clone()),
        (print_buffer(b"mdat"), "timedate", time(&it.modified)),
        (print_buffer(b"nega"), "sint32", null.clone()),
        (print_buffer(b"prot"), "blob", null.clone()),
        (print_buffer(b"scrp"), "sint32", null.clone()),
        (print_buffer(b"svce"), "blob", blob(&it.service)),
        (print_buffer(b"type"), "uint32", uint(it.item_type)),
    ];
    for (tag, format, value) in rows {
        out.extend_from_slice(b"    ");
        out.extend(tag);
        out.extend_from_slice(format!("<{format}>=").as_bytes());
        out.extend(value);
        out.push(b'\n');
    }
    if show_data {
        out.extend_from_slice(b"data:\n");
        out.extend(print_buffer(&it.data));
        out.push(b'\n');
    }
}

/// keychain_find.c `do_password_item_printing` with `-w`: the secret, or all of it as
/// lowercase hex when a byte fails `isprint` (C locale: 0x20..=0x7e), then `\n`.
pub fn password_line(data: &[u8]) -> Vec<u8> {
    let mut out = if data.iter().all(|c| (0x20..=0x7e).contains(c)) {
        data.to_vec()
    } else {
        hex_lower(data).into_bytes()
    };
    out.push(b'\n');
    out
}

/// keychain_utilities.c `convertHex`, quirks included: digits of either case; an odd number
/// of digits puts the first in a byte of its own and then pairs the rest from the wrong
/// offset, reading the terminating NUL as the value 16.
pub fn convert_hex(s: &[u8]) -> Option<Vec<u8>> {
    let digit = |c: Option<&u8>, error: &mut bool| -> u32 {
        match c {
            None => 16, // strchr(digits, '\0') finds the terminator
            Some(c) => match (*c as char).to_ascii_lowercase().to_digit(16) {
                Some(v) => v,
                None => {
                    *error = true;
                    0
                }
            },
        }
    };
    let pad = s.len() % 2;
    let n = s.len() / 2 + pad;
    let mut out = vec![0u8; n];
    let mut error = false;
    if pad == 1 {
        out[0] = digit(s.first(), &mut error) as u8;
    }
    for (i, byte) in out.iter_mut().enumerate().skip(pad) {
        let hi = digit(s.get(2 * i), &mut error);
        let lo = digit(s.get(2 * i + 1), &mut error);
        *byte = (hi << 4 | lo) as u8;
    }
    (!error).then_some(out)
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// BSD `getopt(3)` (what macOS's libc has): no argument permutation; any argument starting
/// with `--` ends the options and is consumed; a lone `-` ends them and is kept.
pub struct Getopt<'a> {
    args: &'a [Vec<u8>],
    spec: &'a [u8],
    pub optind: usize,
    place: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Opt {
    /// An option and its argument, if it takes one.
    Flag(u8, Option<Vec<u8>>),
    /// `?`: unknown option or (without a leading `:` in the spec) a missing argument.
    Bad(u8),
    /// `:`: missing argument, when the spec starts with `:`.
    Missing(u8),
}

impl<'a> Getopt<'a> {
    /// `args[0]` is the command name, as for C's getopt.
    pub fn new(args: &'a [Vec<u8>], spec: &'a str) -> Self {
        Getopt {
            args,
            spec: spec.as_bytes(),
            optind: 1,
            place: 0,
        }
    }

    /// The next option, or None at the end of the options; messages go to `err`.
    pub fn next(&mut self, err: &mut Vec<u8>) -> Option<Opt> {
        let silent = self.spec.first() == Some(&b':');
        if self.place == 0 {
            let arg = self.args.get(self.optind)?;
            if arg.first() != Some(&b'-') {
                return None;
            }
            if arg.len() > 1 && arg[1] == b'-' {
                self.optind += 1;
                return None;
            }
            self.place = 1;
        }
        let arg = &self.args[self.optind];
        let c = arg.get(self.place).copied().unwrap_or(0);
        self.place += 1;
        let at_end = self.place >= arg.len();
        let known = c != b':' && c != 0 && self.spec.contains(&c);
        if !known {
            if c == b'-' || c == 0 {
                self.place = 0;
                return None;
            }
            if at_end {
                self.optind += 1;
                self.place = 0;
            }
            if !silent {
                err.extend_from_slice(
                    format!("security: illegal option -- {}\n", c as char).as_bytes(),
                );
            }
            return Some(Opt::Bad(c));
        }
        let pos = self.spec.iter().position(|&s| s == c).unwrap();
        if self.spec.get(pos + 1) != Some(&b':') {
            if at_end {
                self.optind += 1;
                self.place = 0;
            }
            return Some(Opt::Flag(c, None));
        }
        let value = if !at_end {
            arg[self.place..].to_vec()
        } else {
            self.optind += 1;
            match self.args.get(self.optind) {
                Some(v) => v.clone(),
                None => {
                    self.place = 0;
                    if silent {
                        return Some(Opt::Missing(c));
                    }
                    err.extend_from_slice(
                        format!("security: option requires an argument -- {}\n", c as char)
                            .as_bytes(),
                    );
                    return Some(Opt::Bad(c));
                }
            }
        };
        self.optind += 1;
        self.place = 0;
        Some(Opt::Flag(c, Some(value)))
    }

    /// The arguments after the options.
    pub fn rest(&self) -> &'a [Vec<u8>] {
        &self.args[self.optind.min(self.args.len())..]
    }
}

/// readline.c `readline` into security.c's `MAX_LINE_LEN` buffer: bytes up to `\n`, at most
/// 4095 of them (the rest stays for the next call); None at EOF, even after a partial line.
pub fn read_line(input: &mut impl Read) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if line.len() == MAX_LINE_LEN - 1 {
            return Some(line);
        }
        match input.read(&mut byte) {
            Ok(1) if byte[0] == b'\n' => return Some(line),
            Ok(1) => line.push(byte[0]),
            _ => return None,
        }
    }
}

/// security.c `split_line`. The line is a C string: it ends at a NUL.
pub fn split_line(line: &[u8]) -> Vec<Vec<u8>> {
    #[derive(PartialEq)]
    enum State {
        SkipWs,
        Arg,
        ArgEscaped,
        Quoted,
        QuotedEscaped,
    }
    let line = line.split(|&b| b == 0).next().unwrap_or_default();
    let space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut args: Vec<Vec<u8>> = Vec::new();
    let mut cur = Vec::new();
    let mut state = State::SkipWs;
    let mut quote = 0u8;
    for &c in line {
        if state == State::SkipWs {
            if space(c) {
                continue;
            }
            if c == b'"' || c == b'\'' {
                quote = c;
                state = State::Quoted;
                continue;
            }
            state = State::Arg;
        }
        match state {
            State::Arg if c == b'\\' => state = State::ArgEscaped,
            State::Arg if space(c) => {
                args.push(std::mem::take(&mut cur));
                state = State::SkipWs;
                if args.len() >= MAX_ARGS {
                    return args;
                }
            }
            State::Quoted if c == b'\\' => state = State::QuotedEscaped,
            State::Quoted if c == quote => {
                args.push(std::mem::take(&mut cur));
                state = State::SkipWs;
                if args.len() >= MAX_ARGS {
                    return args;
                }
            }
            State::Arg | State::Quoted => cur.push(c),
            State::ArgEscaped => {
                cur.push(c);
                state = State::Arg;
            }
            State::QuotedEscaped => {
                cur.push(c);
                state = State::Quoted;
            }
            State::SkipWs => unreachable!(),
        }
    }
    if state != State::SkipWs {
        args.push(cur);
    }
    args
}

/// Show arguments in the log, secret values (after `-w`, `-p`, `-X`) hidden.
fn redacted(args: &[Vec<u8>]) -> String {
    let mut out = String::new();
    let mut hide_next = false;
    for a in args {
        let shown = if hide_next {
            hide_next = false;
            "<secret>".to_string()
        } else if a.len() > 2 && a[0] == b'-' && matches!(a[1], b'w' | b'p' | b'X') {
            format!("{}<secret>", String::from_utf8_lossy(&a[..2]))
        } else {
            hide_next = matches!(a.as_slice(), b"-w" | b"-p" | b"-X");
            String::from_utf8_lossy(a).into_owned()
        };
        out.push_str(&format!(" [{shown}]"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The tool

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Locked,
    Refuse,
    Hang,
}

pub struct Tool {
    dir: PathBuf,
    pub keychain: PathBuf,
    fault: Option<Fault>,
    verbose: bool,
    pub out: Vec<u8>,
    pub err: Vec<u8>,
}

/// The attributes find/delete/add match on.
#[derive(Default)]
struct Query {
    account: Option<Vec<u8>>,
    service: Option<Vec<u8>>,
    kind: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    comment: Option<Vec<u8>>,
    label: Option<Vec<u8>>,
    creator: Option<u32>,
    item_type: Option<u32>,
}

impl Query {
    fn any(&self) -> bool {
        self.account.is_some()
            || self.service.is_some()
            || self.kind.is_some()
            || self.value.is_some()
            || self.comment.is_some()
            || self.label.is_some()
            || self.creator.is_some()
            || self.item_type.is_some()
    }

    /// keychain_find.c `find_first_generic_password`: account and service are the primary
    /// key; when both are given nothing else is searched on.
    fn matches(&self, it: &Item) -> bool {
        let primary = self.account.is_some() && self.service.is_some();
        let eq = |q: &Option<Vec<u8>>, v: &Option<Vec<u8>>| q.is_none() || q == v;
        let eqn = |q: Option<u32>, v: Option<u32>| q.is_none() || q == v;
        let others = primary
            || (eqn(self.creator, it.creator)
                && eqn(self.item_type, it.item_type)
                && eq(&self.kind, &it.kind)
                && eq(&self.value, &it.value)
                && eq(&self.comment, &it.comment)
                && eq(&self.label, &it.label));
        others && eq(&self.service, &it.service) && eq(&self.account, &it.account)
    }
}

impl Tool {
    pub fn new(dir: &Path) -> Tool {
        let fault = match std::fs::read_to_string(dir.join("fault"))
            .unwrap_or_default()
            .trim()
        {
            "locked" => Some(Fault::Locked),
            "refuse" => Some(Fault::Refuse),
            "hang" => Some(Fault::Hang),
            _ => None,
        };
        Tool {
            dir: dir.to_path_buf(),
            keychain: dir.join(KEYCHAIN_FILE),
            fault,
            verbose: false,
            out: Vec::new(),
            err: Vec::new(),
        }
    }

    fn log(&self, line: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("argv.log"))
            .expect("open argv.log");
        writeln!(f, "{line}").expect("write argv.log");
    }

    fn perror(&mut self, what: &str, status: i32) {
        self.err
            .extend_from_slice(format!("security: {what}: {}\n", err_message(status)).as_bytes());
    }

    /// security.c `main` minus the process: returns the exit status.
    pub fn main(&mut self, args: &[Vec<u8>], stdin: &mut impl Read, tty: bool) -> i32 {
        self.log(&format!("argv:{}", {
            let shown: Vec<String> = args[1..]
                .iter()
                .map(|a| format!(" [{}]", String::from_utf8_lossy(a)))
                .collect();
            shown.concat()
        }));
        if self.fault == Some(Fault::Hang) {
            self.log(&format!("hang: pid {}", std::process::id()));
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
        let (mut help, mut interactive, mut quiet) = (false, false, false);
        let mut prompt = b"security> ".to_vec();
        let mut g = Getopt::new(args, "hilp:qvR");
        let mut err = Vec::new();
        while let Some(opt) = g.next(&mut err) {
            match opt {
                Opt::Flag(b'h', _) => help = true,
                Opt::Flag(b'i', _) => interactive = true,
                Opt::Flag(b'p', v) => {
                    interactive = true;
                    prompt = v.unwrap_or_default();
                }
                Opt::Flag(b'q', _) => quiet = true,
                Opt::Flag(b'v', _) => self.verbose = true,
                Opt::Flag(_, _) => {}
                Opt::Bad(_) | Opt::Missing(_) => {
                    self.err.append(&mut err);
                    return self.usage();
                }
            }
        }
        let rest = g.rest().to_vec();
        let result = if help {
            for c in COMMANDS {
                self.out.extend_from_slice(format!("    {c}\n").as_bytes());
            }
            0
        } else if !rest.is_empty() {
            self.execute(&rest)
        } else if interactive {
            let mut result = 0;
            loop {
                if tty {
                    self.err.extend_from_slice(&prompt);
                    self.flush();
                }
                let Some(line) = read_line(stdin) else { break };
                let av = split_line(&line);
                self.log(&format!("stdin:{}", redacted(&av)));
                result = self.execute(&av);
                if result != 0 && !quiet {
                    let name = String::from_utf8_lossy(&av[0]).into_owned();
                    self.err
                        .extend_from_slice(format!("{name}: returned {result}\n").as_bytes());
                }
                self.flush();
            }
            result
        } else {
            self.usage()
        };
        self.log(&format!("exit: {}", result & 0xff));
        result & 0xff
    }

    /// Write what the commands printed so far (interactive mode prints as it goes).
    pub fn flush(&mut self) {
        if !self.out.is_empty() {
            let _ = std::io::stdout().write_all(&std::mem::take(&mut self.out));
        }
        if !self.err.is_empty() {
            let _ = std::io::stderr().write_all(&std::mem::take(&mut self.err));
        }
    }

    fn usage(&mut self) -> i32 {
        self.out.extend_from_slice(
            b"Usage: security [-h] [-i] [-l] [-p prompt] [-q] [-v] [command] [opt ...]\n",
        );
        SHOW_USAGE
    }

    /// security.c `execute_command`.
    fn execute(&mut self, av: &[Vec<u8>]) -> i32 {
        let Some(name) = av.first() else { return 0 };
        let Some(command) = COMMANDS.iter().find(|c| c.as_bytes().starts_with(name)) else {
            self.err.extend_from_slice(
                format!(
                    "security: unknown command \"{}\"\n",
                    String::from_utf8_lossy(name)
                )
                .as_bytes(),
            );
            return 1;
        };
        if self.verbose {
            let mut line = command.to_string();
            for a in &av[1..] {
                line.push_str(&format!(" \"{}\"", String::from_utf8_lossy(a)));
            }
            self.err.extend_from_slice(format!("{line}\n").as_bytes());
        }
        let result = match *command {
            "find-generic-password" => self.find(av),
            "add-generic-password" => self.add(av),
            "delete-generic-password" => self.delete(av),
            "dump-keychain" => self.dump(av),
            other => {
                self.err.extend_from_slice(
                    format!("security (stand-in): {other} is not modelled\n").as_bytes(),
                );
                1
            }
        };
        if result == SHOW_USAGE {
            let (usage, help) = usage_of(command);
            self.err.extend_from_slice(
                format!("Usage: {command} {usage}\n        {help}\n").as_bytes(),
            );
        }
        result
    }

    /// `parse_fourcharcode`.
    fn four_cc(&mut self, v: &[u8]) -> Option<u32> {
        if v.len() != 4 {
            self.err.extend_from_slice(
                b"Error: four-character types must be exactly 4 characters long.\n",
            );
            return None;
        }
        Some(v.iter().fold(0u32, |cc, &b| cc << 8 | u32::from(b)))
    }

    /// Trailing keychain arguments: this stand-in has one keychain.
    fn keychains_ok(&self, names: &[Vec<u8>]) -> bool {
        names.iter().all(|n| {
            n.as_slice() == self.keychain.as_os_str().as_bytes()
                || n.as_slice() == KEYCHAIN_FILE.as_bytes()
        })
    }

    /// The match options shared by find and delete; Err(status) when one is bad.
    fn query_option(&mut self, q: &mut Query, c: u8, v: Vec<u8>) -> Result<(), i32> {
        match c {
            b'a' => q.account = Some(v),
            b's' => q.service = Some(v),
            b'D' => q.kind = Some(v),
            b'G' => q.value = Some(v),
            b'j' => q.comment = Some(v),
            b'l' => q.label = Some(v),
            b'c' => q.creator = Some(self.four_cc(&v).ok_or(1)?),
            b'C' => q.item_type = Some(self.four_cc(&v).ok_or(1)?),
            _ => return Err(SHOW_USAGE),
        }
        Ok(())
    }

    /// `find_first_generic_password`: the index of the first match. A search that fails
    /// (no such keychain) finds nothing, as in the real tool.
    fn find_first(&mut self, q: &Query, keychains: &[Vec<u8>]) -> Option<usize> {
        if !self.keychains_ok(keychains) {
            self.perror(
                "SecKeychainSearchCreateFromAttributes",
                ERR_NO_SUCH_KEYCHAIN,
            );
            return None;
        }
        load(&self.keychain).iter().position(|it| q.matches(it))
    }

    /// keychain_find.c `keychain_find_generic_password`.
    fn find(&mut self, av: &[Vec<u8>]) -> i32 {
        let mut q = Query::default();
        let (mut get_password, mut to_stdout) = (false, false);
        let mut g = Getopt::new(av, "ha:c:C:D:G:j:l:s:wg");
        let mut err = Vec::new();
        while let Some(opt) = g.next(&mut err) {
            match opt {
                Opt::Flag(b'w', _) => (get_password, to_stdout) = (true, true),
                Opt::Flag(b'g', _) => get_password = true,
                Opt::Flag(c, Some(v)) => {
                    if let Err(status) = self.query_option(&mut q, c, v) {
                        self.err.append(&mut err);
                        return status;
                    }
                }
                _ => {
                    self.err.append(&mut err);
                    return SHOW_USAGE;
                }
            }
        }
        let Some(ix) = self.find_first(&q, g.rest()) else {
            self.perror("SecKeychainSearchCopyNext", ERR_ITEM_NOT_FOUND);
            return ERR_ITEM_NOT_FOUND;
        };
        let item = load(&self.keychain).swap_remove(ix);
        if get_password {
            // SecKeychainItemCopyContent; its failure is returned without a message.
            match self.fault {
                Some(Fault::Locked) => return ERR_INTERACTION_NOT_ALLOWED,
                Some(Fault::Refuse) => return ERR_USER_CANCELED,
                _ => {}
            }
        }
        if to_stdout {
            self.out.extend(password_line(&item.data));
        } else {
            let mut text = Vec::new();
            print_item(&mut text, &self.keychain, &item, false);
            self.out.extend(text);
            if get_password {
                self.err.extend_from_slice(b"password: ");
                self.err.extend(print_buffer(&item.data));
                self.err.push(b'\n');
            }
        }
        0
    }

    /// keychain_add.c `keychain_add_generic_password`.
    fn add(&mut self, av: &[Vec<u8>]) -> i32 {
        let mut q = Query::default();
        let mut password: Option<Vec<u8>> = None;
        let mut update = false;
        let mut g = Getopt::new(av, ":a:c:C:D:G:j:l:s:p:w:X:UAT:h");
        let mut err = Vec::new();
        while let Some(opt) = g.next(&mut err) {
            match opt {
                Opt::Flag(b'p' | b'w', v) => password = v,
                Opt::Flag(b'X', Some(v)) => match convert_hex(&v) {
                    Some(data) => password = Some(data),
                    None => {
                        self.err.extend_from_slice(
                            b"security: Unable to convert password data (-X must specify valid hex digits)\n",
                        );
                        return SHOW_USAGE;
                    }
                },
                Opt::Flag(b'U', _) => update = true,
                // Access control is not modelled: -A and -T are accepted and ignored.
                Opt::Flag(b'A' | b'T', _) => {}
                Opt::Flag(b'h', _) => return SHOW_USAGE,
                Opt::Flag(c, Some(v)) => {
                    if let Err(status) = self.query_option(&mut q, c, v) {
                        return status;
                    }
                }
                // `-w`/`-p` last with no value: getpass() prompts on the controlling
                // terminal, twice. A test has none, so getpass fails: result 1, no usage.
                Opt::Missing(b'w' | b'p') | Opt::Bad(b'w' | b'p') => {
                    let terminal = std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open("/dev/tty");
                    if terminal.is_err() {
                        return 1;
                    }
                    self.err.extend_from_slice(
                        b"security (stand-in): prompting for a password is not modelled\n",
                    );
                    return 1;
                }
                _ => return SHOW_USAGE,
            }
        }
        let rest = g.rest();
        let (Some(account), Some(service)) = (q.account.clone(), q.service.clone()) else {
            return SHOW_USAGE;
        };
        if rest.len() > 1 || rest.first().is_some_and(|k| k.is_empty()) {
            return SHOW_USAGE;
        }
        if !self.keychains_ok(rest) {
            self.err.extend_from_slice(
                format!(
                    "security: SecKeychainOpen {}: {}\n",
                    String::from_utf8_lossy(&rest[0]),
                    err_message(ERR_NO_SUCH_KEYCHAIN)
                )
                .as_bytes(),
            );
            return 1;
        }
        let label = q.label.clone().unwrap_or_else(|| service.clone());
        let now = timedate_now();
        let mut items = load(&self.keychain);
        // do_update_generic_password, then (whatever made it fail) do_add_generic_password.
        if update {
            let key = Query {
                account: Some(account.clone()),
                service: Some(service.clone()),
                ..Query::default()
            };
            if let Some(ix) = items.iter().position(|it| key.matches(it)) {
                let status = match self.fault {
                    Some(Fault::Locked) => ERR_INTERACTION_NOT_ALLOWED,
                    Some(Fault::Refuse) => ERR_USER_CANCELED,
                    _ => 0,
                };
                if status == 0 {
                    let it = &mut items[ix];
                    it.creator = q.creator.or(it.creator);
                    it.item_type = q.item_type.or(it.item_type);
                    it.kind = q.kind.clone().or(it.kind.take());
                    it.value = q.value.clone().or(it.value.take());
                    it.comment = q.comment.clone().or(it.comment.take());
                    it.label = Some(label);
                    if let Some(data) = password {
                        it.data = data;
                    }
                    it.modified = now;
                    save(&self.keychain, &items);
                    return 0;
                }
                self.perror("SecKeychainItemModifyContent", status);
            }
        }
        let status = if self.fault == Some(Fault::Locked) {
            ERR_INTERACTION_NOT_ALLOWED
        } else if items.iter().any(|it| {
            it.account.as_ref() == Some(&account) && it.service.as_ref() == Some(&service)
        }) {
            ERR_DUPLICATE_ITEM
        } else {
            0
        };
        if status != 0 {
            self.perror("SecKeychainItemCreateFromContent (<default>)", status);
            return status;
        }
        items.push(Item {
            label: Some(label),
            account: Some(account),
            service: Some(service),
            kind: q.kind,
            value: q.value,
            comment: q.comment,
            creator: q.creator,
            item_type: q.item_type,
            created: now.clone(),
            modified: now,
            data: password.unwrap_or_default(),
        });
        save(&self.keychain, &items);
        0
    }

    /// keychain_find.c `keychain_delete_generic_password`.
    fn delete(&mut self, av: &[Vec<u8>]) -> i32 {
        let mut q = Query::default();
        // `g` is in the spec but not handled: it ends in the usage message, as in the tool.
        let mut g = Getopt::new(av, "ha:c:C:D:G:j:l:s:g");
        let mut err = Vec::new();
        while let Some(opt) = g.next(&mut err) {
            match opt {
                Opt::Flag(c, Some(v)) => {
                    if let Err(status) = self.query_option(&mut q, c, v) {
                        self.err.append(&mut err);
                        return status;
                    }
                }
                _ => {
                    self.err.append(&mut err);
                    return SHOW_USAGE;
                }
            }
        }
        if !q.any() {
            return SHOW_USAGE;
        }
        let Some(ix) = self.find_first(&q, g.rest()) else {
            self.perror("SecKeychainSearchCopyNext", ERR_ITEM_NOT_FOUND);
            return ERR_ITEM_NOT_FOUND;
        };
        let mut items = load(&self.keychain);
        let mut text = Vec::new();
        print_item(&mut text, &self.keychain, &items[ix], false);
        self.out.extend(text);
        let status = match self.fault {
            Some(Fault::Locked) => ERR_INTERACTION_NOT_ALLOWED,
            Some(Fault::Refuse) => ERR_USER_CANCELED,
            _ => {
                items.remove(ix);
                save(&self.keychain, &items);
                0
            }
        };
        // Printed whatever SecKeychainItemDelete returned.
        self.err.extend_from_slice(b"password has been deleted.\n");
        status
    }

    /// keychain_find.c `keychain_dump`.
    fn dump(&mut self, av: &[Vec<u8>]) -> i32 {
        let (mut show_data, mut output) = (false, None);
        let mut g = Getopt::new(av, "adhiro:");
        let mut err = Vec::new();
        while let Some(opt) = g.next(&mut err) {
            match opt {
                Opt::Flag(b'd', _) => show_data = true,
                Opt::Flag(b'o', v) => output = v,
                Opt::Flag(b'a' | b'i' | b'r', _) => {
                    self.err.extend_from_slice(
                        b"security (stand-in): ACLs and raw data (-a, -i, -r) are not modelled\n",
                    );
                    return 1;
                }
                _ => {
                    self.err.append(&mut err);
                    return SHOW_USAGE;
                }
            }
        }
        if !self.keychains_ok(g.rest()) {
            self.perror(
                "SecKeychainSearchCreateFromAttributes",
                ERR_NO_SUCH_KEYCHAIN,
            );
            return 1;
        }
        let mut text = Vec::new();
        for it in load(&self.keychain) {
            if show_data && self.fault.is_some_and(|f| f != Fault::Hang) {
                // The header lines are out before the data read fails; the dump goes on.
                let mut head = Vec::new();
                print_item(&mut head, &self.keychain, &it, false);
                let end = head
                    .windows(12)
                    .position(|w| w == b"attributes:\n")
                    .map_or(head.len(), |p| p + 12);
                text.extend_from_slice(&head[..end]);
                let status = if self.fault == Some(Fault::Locked) {
                    ERR_INTERACTION_NOT_ALLOWED
                } else {
                    ERR_USER_CANCELED
                };
                self.perror("SecKeychainItemCopyAttributesAndData", status);
            } else {
                print_item(&mut text, &self.keychain, &it, show_data);
            }
        }
        match output {
            Some(path) => {
                std::fs::write(PathBuf::from(OsString::from_vec(path)), text)
                    .expect("write the dump");
            }
            None => self.out.extend(text),
        }
        0
    }
}

pub fn main() {
    let args: Vec<Vec<u8>> = std::env::args_os().map(OsString::into_vec).collect();
    let program = PathBuf::from(OsString::from_vec(args[0].clone()));
    let dir = match program.parent() {
        Some(d) if program.is_absolute() => d.to_path_buf(),
        _ => {
            eprintln!("security (stand-in): run me by my absolute path (my state lives beside me)");
            std::process::exit(1);
        }
    };
    let mut tool = Tool::new(&dir);
    let tty = std::io::stdin().is_terminal();
    let code = tool.main(&args, &mut std::io::stdin().lock(), tty);
    tool.flush();
    std::process::exit(code);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_line(line.as_bytes())
            .into_iter()
            .map(|a| String::from_utf8(a).unwrap())
            .collect()
    }

    #[test]
    fn split_line_is_security_c_not_a_posix_shell() {
        assert_eq!(words("  a  b\tc "), ["a", "b", "c"]);
        assert_eq!(words(r#""a b" 'c d'"#), ["a b", "c d"]);
        // A quote ends its argument; a quote inside an argument is literal.
        assert_eq!(words("'a'b"), ["a", "b"]);
        assert_eq!(words(r#"a"b c"#), [r#"a"b"#, "c"]);
        // Backslash escapes the next character in and out of quotes.
        assert_eq!(words(r#""a\"b\\c" d\ e"#), [r#"a"b\c"#, "d e"]);
        // An unterminated quote runs to the end; a trailing backslash is dropped.
        assert_eq!(words(r#""open quote"#), ["open quote"]);
        assert_eq!(words(r"x\"), ["x"]);
        // A NUL ends the C string.
        assert_eq!(split_line(b"a b\0c d"), [b"a".to_vec(), b"b".to_vec()]);
        // At most 32 arguments.
        let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
        assert_eq!(words(&many.join(" ")).len(), 32);
        assert_eq!(words(""), Vec::<String>::new());
    }

    #[test]
    fn read_line_splits_long_lines_and_drops_an_unterminated_one() {
        let mut input: &[u8] = b"one\ntwo";
        assert_eq!(read_line(&mut input), Some(b"one".to_vec()));
        assert_eq!(read_line(&mut input), None);
        let long = vec![b'x'; 5000];
        let mut text = long.clone();
        text.push(b'\n');
        let mut input: &[u8] = &text;
        assert_eq!(read_line(&mut input).unwrap().len(), 4095);
        assert_eq!(read_line(&mut input).unwrap().len(), 905);
        assert_eq!(read_line(&mut input), None);
        // Exactly 4095 bytes: the newline is left for an empty second line.
        let mut text = vec![b'y'; 4095];
        text.push(b'\n');
        let mut input: &[u8] = &text;
        assert_eq!(read_line(&mut input).unwrap().len(), 4095);
        assert_eq!(read_line(&mut input), Some(Vec::new()));
    }

    fn opts(args: &[&str], spec: &str) -> (Vec<Opt>, Vec<String>, String) {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let mut g = Getopt::new(&args, spec);
        let mut err = Vec::new();
        let mut found = Vec::new();
        while let Some(o) = g.next(&mut err) {
            found.push(o);
        }
        let rest = g
            .rest()
            .iter()
            .map(|a| String::from_utf8(a.clone()).unwrap())
            .collect();
        (found, rest, String::from_utf8(err).unwrap())
    }

    #[test]
    fn getopt_is_bsd_getopt() {
        let v = |s: &str| Some(s.as_bytes().to_vec());
        let (o, rest, _) = opts(&["find", "-wa", "me", "-sSVC", "kc"], "a:s:w");
        assert_eq!(
            o,
            [
                Opt::Flag(b'w', None),
                Opt::Flag(b'a', v("me")),
                Opt::Flag(b's', v("SVC"))
            ]
        );
        assert_eq!(rest, ["kc"]);
        // An option's value may start with a dash; options stop at the first operand.
        let (o, rest, _) = opts(&["add", "-a", "-x", "kc", "-s", "y"], "a:s:");
        assert_eq!(o, [Opt::Flag(b'a', v("-x"))]);
        assert_eq!(rest, ["kc", "-s", "y"]);
        let (o, rest, _) = opts(&["x", "--", "-a"], "a:");
        assert_eq!((o, rest), (vec![], vec!["-a".to_string()]));
        let (o, _, err) = opts(&["x", "-z"], "a:");
        assert_eq!(
            (o, err.as_str()),
            (vec![Opt::Bad(b'z')], "security: illegal option -- z\n")
        );
        let (o, _, err) = opts(&["x", "-a"], "a:");
        assert_eq!(
            (o, err.as_str()),
            (
                vec![Opt::Bad(b'a')],
                "security: option requires an argument -- a\n"
            )
        );
        let (o, _, err) = opts(&["x", "-U", "-w"], ":w:U");
        assert_eq!(
            (o, err.as_str()),
            (vec![Opt::Flag(b'U', None), Opt::Missing(b'w')], "")
        );
    }

    #[test]
    fn output_formats_follow_the_tool() {
        assert_eq!(print_buffer(b"heroku-cli"), b"\"heroku-cli\"");
        assert_eq!(print_buffer(&7u32.to_be_bytes()), b"0x00000007 ");
        assert_eq!(print_buffer(b"a\\b"), b"0x615C62  \"a\\134b\"");
        assert_eq!(
            print_buffer(b"20260731040502Z\0"),
            b"0x32303236303733313034303530325A00  \"20260731040502Z\\000\"".to_vec()
        );
        assert_eq!(password_line(b"tok"), b"tok\n");
        assert_eq!(password_line("tø".as_bytes()), b"74c3b8\n");
        assert_eq!(
            password_line(b"a\\b"),
            b"a\\b\n",
            "isprint, unlike print_buffer"
        );
        assert_eq!(convert_hex(b"74Ab"), Some(vec![0x74, 0xab]));
        assert_eq!(convert_hex(b""), Some(vec![]));
        assert_eq!(convert_hex(b"7g"), None);
        // convertHex's odd-length path: "FFF" is not 0x0FFF but 0x0F, then 'F' and NUL (16).
        assert_eq!(convert_hex(b"FFF"), Some(vec![0x0f, 0xf0]));
        assert_eq!(timedate_now().len(), 15);
    }
}
