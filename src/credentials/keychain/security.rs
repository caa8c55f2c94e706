//! The macOS keychain through Apple's `security` program, the way the Heroku CLI (and gh)
//! reach it, rather than through the Security framework in-process.
//!
//! Why a child process: a keychain item trusts the program that created it. The Heroku CLI's
//! items were created by `/usr/bin/security`, so `security` reads them without a dialog,
//! whereas herossh reading them in-process would get a permission dialog, and "Always Allow"
//! is tied to the reader's code signature, so every herossh upgrade would ask again; over SSH
//! or in cron there is no dialog and the read fails (PLATFORMS.md §1.9). Items herossh writes
//! through `security` trust `security` too, so the Heroku CLI reads them without a dialog.
//! Being ordinary Rust that runs a program, this backend builds everywhere and is tested on
//! Linux against the stand-in in tests/support.
//!
//! The calls (facts and sources in PLATFORMS.md §1):
//! - read: `security find-generic-password -a EMAIL -s heroku-cli -w`. The secret comes back
//!   on stdout followed by one `\n`; when any byte of it is not printable ASCII, `security`
//!   prints the whole secret as lowercase hex instead ([`decode_password`]). Exit 44 = no
//!   such item.
//! - write: `security -i`, with the command on stdin and the token as `-X HEX`, so the only
//!   argv anyone can see (`ps`) is `security -i`, and no quoting of the secret can go wrong.
//!   `-U` replaces an existing item, as the Heroku CLI's `add-generic-password -U` does.
//! - delete: `security delete-generic-password -a EMAIL -s heroku-cli` (one item per call;
//!   exit 44 = nothing (more) to delete).
//! - Exit 36 (errSecInteractionNotAllowed: locked, or no GUI session to ask in) and 128
//!   (errSecUserCanceled: the user refused in the dialog) make the keychain [`Unavailable`]
//!   with that reason, and the resolver falls back to netrc, as the Heroku CLI does.
//! - Every call has [`TIMEOUT`]; a program that has not finished by then is killed (a dialog
//!   nobody answers must not hang `git push` behind the credential helper).
//!
//! The email is on argv (as with the Heroku CLI); a token never is.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::{KcResult, Keychain, MACOS_KEYCHAIN, SERVICE, TIMEOUT, Unavailable};
use crate::credentials::Secret;

/// `security`'s exit status is the command's OSStatus & 0xFF (PLATFORMS.md §1.1).
const NOT_FOUND: i32 = 44; // errSecItemNotFound (-25300)
const DUPLICATE: i32 = 45; // errSecDuplicateItem (-25299)
const INTERACTION_NOT_ALLOWED: i32 = 36; // errSecInteractionNotAllowed (-25308)
const USER_CANCELED: i32 = 128; // errSecUserCanceled (-128)

/// The longest command `security -i` runs as one line: it reads 4095 bytes at most, and a
/// line of exactly 4095 leaves its `\n` to be read as an empty command whose status 0 would
/// hide the real one (security.c `MAX_LINE_LEN`, readline.c).
const MAX_LINE: usize = 4094;

/// `delete-generic-password` removes the first match only; more than one item per account
/// means several keychains in the search list. Bounded, in case one cannot really be deleted.
const MAX_DELETES: usize = 16;

pub struct SecurityKeychain {
    program: PathBuf,
}

impl SecurityKeychain {
    pub fn new(program: PathBuf) -> Self {
        SecurityKeychain { program }
    }

    /// Run `security ARGS` with `stdin` (or nothing) on its standard input.
    fn run(&self, args: &[&str], stdin: Option<Zeroizing<Vec<u8>>>) -> KcResult<Finished> {
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Unavailable(format!("cannot run {}: {e}", self.program.display())))?;
        let deadline = Instant::now() + TIMEOUT;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A thread, so a child that writes before it reads can never deadlock with us.
            // A write error means the child exited early; its status says why.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        let code = match wait_until(&mut child, deadline) {
            Some(status) => status.code(),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Unavailable(format!(
                    "no answer from {} within {} s (stopped it)",
                    self.program.display(),
                    TIMEOUT.as_secs()
                )));
            }
        };
        let code = code.ok_or_else(|| {
            Unavailable(format!("{} was killed by a signal", self.program.display()))
        })?;
        // The pipes close when the child exits (unless it left a child of its own holding
        // them: then what was read so far is all there is).
        let left = deadline.saturating_duration_since(Instant::now()) + Duration::from_millis(100);
        Ok(Finished {
            code,
            stdout: Zeroizing::new(stdout.recv_timeout(left).unwrap_or_default()),
            stderr: stderr.recv_timeout(left).unwrap_or_default(),
        })
    }

    /// The reason for an exit status that is neither success nor "not found".
    fn failure(&self, command: &str, done: &Finished, show_stderr: bool) -> Unavailable {
        Unavailable(match done.code {
            INTERACTION_NOT_ALLOWED => format!(
                "the {MACOS_KEYCHAIN} is locked or needs a dialog that cannot be shown here \
                 (`security {command}` exit 36, errSecInteractionNotAllowed)"
            ),
            USER_CANCELED => format!(
                "access to the {MACOS_KEYCHAIN} item was refused in its permission dialog \
                 (`security {command}` exit 128, errSecUserCanceled)"
            ),
            DUPLICATE => format!(
                "the {MACOS_KEYCHAIN} item exists and could not be replaced \
                 (`security {command}` exit 45, errSecDuplicateItem)"
            ),
            code => {
                // `security`'s own messages name the failing call and the OSStatus; they
                // never hold a secret (nothing secret is on its argv). The `-i` run's stderr
                // is not shown all the same: it is the one that was handed the token.
                let said = String::from_utf8_lossy(&done.stderr);
                match said.lines().next().filter(|_| show_stderr) {
                    Some(line) if !line.trim().is_empty() => {
                        format!("`security {command}` failed (exit {code}): {}", line.trim())
                    }
                    _ => format!("`security {command}` failed (exit {code})"),
                }
            }
        })
    }
}

/// A finished `security` run.
struct Finished {
    code: i32,
    /// Holds the secret after a read: wiped on drop.
    stdout: Zeroizing<Vec<u8>>,
    stderr: Vec<u8>,
}

/// Read a pipe to its end on a thread; the bytes arrive on the returned channel.
fn drain(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut pipe) = pipe {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(buf);
        });
    }
    rx
}

/// The child's exit status, or None when it is still running at `deadline`.
fn wait_until(child: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => return None,
        }
    }
}

impl Keychain for SecurityKeychain {
    fn name(&self) -> &'static str {
        MACOS_KEYCHAIN
    }

    /// The program is there. Whether the keychain is unlocked only shows when an item is
    /// read or written (exit 36).
    fn check(&self) -> KcResult<()> {
        match std::fs::metadata(&self.program) {
            Ok(md) if md.is_file() => Ok(()),
            Ok(_) => Err(Unavailable(format!(
                "{} is not a program",
                self.program.display()
            ))),
            Err(e) => Err(Unavailable(format!(
                "cannot run {}: {e}",
                self.program.display()
            ))),
        }
    }

    fn get(&self, account: &str) -> KcResult<Option<Secret>> {
        tracing::debug!(
            "keychain: {} find-generic-password -a {account} -s {SERVICE} -w",
            self.program.display()
        );
        let args = ["find-generic-password", "-a", account, "-s", SERVICE, "-w"];
        let done = self.run(&args, None)?;
        match done.code {
            0 => {
                let bytes = decode_password(&done.stdout);
                let text = std::str::from_utf8(&bytes).map_err(|_| {
                    Unavailable(format!(
                        "the token in the {MACOS_KEYCHAIN} is not UTF-8 text"
                    ))
                })?;
                let token = text.trim();
                Ok((!token.is_empty()).then(|| Secret::new(token)))
            }
            NOT_FOUND => Ok(None),
            _ => Err(self.failure("find-generic-password", &done, true)),
        }
    }

    fn set(&self, account: &str, token: &Secret) -> KcResult<()> {
        tracing::debug!(
            "keychain: {} -i, stdin: add-generic-password -U -a {account} -s {SERVICE} -X <token as hex>",
            self.program.display()
        );
        let line = add_command(account, token)?;
        let done = self.run(&["-i"], Some(line))?;
        match done.code {
            0 => Ok(()),
            _ => Err(self.failure("-i add-generic-password", &done, false)),
        }
    }

    fn delete(&self, account: &str) -> KcResult<bool> {
        tracing::debug!(
            "keychain: {} delete-generic-password -a {account} -s {SERVICE}",
            self.program.display()
        );
        let args = ["delete-generic-password", "-a", account, "-s", SERVICE];
        let mut found = false;
        for _ in 0..MAX_DELETES {
            let done = self.run(&args, None)?;
            match done.code {
                0 => found = true,
                NOT_FOUND => return Ok(found),
                _ => return Err(self.failure("delete-generic-password", &done, true)),
            }
        }
        Ok(found)
    }
}

/// The one line `security -i` reads to store `token` for `account`, newline included:
/// `add-generic-password -U -a "ACCOUNT" -s "heroku-cli" -X HEX`. The token goes as hex, so
/// whatever it contains it cannot end an argument or a line.
fn add_command(account: &str, token: &Secret) -> KcResult<Zeroizing<Vec<u8>>> {
    let hex = Zeroizing::new(data_encoding::HEXLOWER.encode(token.expose().as_bytes()));
    let mut line = Zeroizing::new(String::new());
    line.push_str("add-generic-password -U -a ");
    line.push_str(&quote(account)?);
    line.push_str(" -s ");
    line.push_str(&quote(SERVICE)?);
    line.push_str(" -X ");
    line.push_str(&hex);
    if line.len() > MAX_LINE {
        return Err(Unavailable(format!(
            "the token is too long for `security -i` ({} bytes in its command line, at most {MAX_LINE})",
            line.len()
        )));
    }
    line.push('\n');
    Ok(Zeroizing::new(std::mem::take(&mut *line).into_bytes()))
}

/// One argument for `security -i`'s tokenizer: in double quotes, with `\` and `"` escaped by
/// a backslash (security.c `split_line`). A line break or NUL cannot be passed at all.
fn quote(arg: &str) -> KcResult<String> {
    if arg.contains(['\n', '\r', '\0']) {
        return Err(Unavailable(format!(
            "{arg:?} contains a line break or NUL, which `security -i` cannot take"
        )));
    }
    let mut out = String::with_capacity(arg.len() + 2);
    out.push('"');
    for c in arg.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    Ok(out)
}

/// The secret bytes from what `find-generic-password -w` printed. `security` prints the
/// secret itself when every byte is printable ASCII (`isprint` in the C locale), else the
/// whole secret as lowercase hex; then one `\n` (keychain_find.c
/// `do_password_item_printing`).
///
/// The two forms can collide: a printable secret that happens to be an even run of lowercase
/// hex digits (`0a`) prints exactly like the secret whose hex it is (`"\n"`). A hex line is
/// taken as the hex form only when it decodes to what `security` would have hex-printed
/// (a non-printable byte) and to a usable token: UTF-8 text, not just white space, with no
/// control character inside.
/// A printable token (UUID, `HRKU-…`, 40 hex digits) practically never decodes to that, and a
/// secret herossh wrote is never printable-and-hex-looking unless its token was.
pub fn decode_password(stdout: &[u8]) -> Zeroizing<Vec<u8>> {
    let line = stdout.strip_suffix(b"\n").unwrap_or(stdout);
    let hex_form = !line.is_empty()
        && line.len() % 2 == 0
        && line
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    if hex_form {
        if let Ok(bytes) = data_encoding::HEXLOWER.decode(line) {
            let bytes = Zeroizing::new(bytes);
            let hidden = bytes.iter().any(|&b| !(0x20..=0x7e).contains(&b));
            let usable = std::str::from_utf8(&bytes)
                .is_ok_and(|t| !t.trim().is_empty() && !t.trim().chars().any(char::is_control));
            if hidden && usable {
                return bytes;
            }
        }
    }
    Zeroizing::new(line.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(s: &[u8]) -> Vec<u8> {
        decode_password(s).to_vec()
    }

    #[test]
    fn printable_secrets_come_back_verbatim_without_the_newline() {
        assert_eq!(decoded(b"HRKU-abc\n"), b"HRKU-abc");
        assert_eq!(
            decoded(b"tok\n\n"),
            b"tok\n",
            "only one newline is security's"
        );
        assert_eq!(decoded(b"no-newline"), b"no-newline");
        assert_eq!(decoded(b"\n"), b"");
        // Printable secrets that look like hex stay as they are: a UUID has dashes, 40 hex
        // digits decode to bytes that are not UTF-8 text, `deadbeef` to non-text too.
        let uuid = b"01234567-89ab-cdef-0123-456789abcdef\n";
        assert_eq!(decoded(uuid), &uuid[..36]);
        let hex40 = b"3f2a9c1d5e7b8a6f4c2d1e0f9a8b7c6d5e4f3a2b\n";
        assert_eq!(decoded(hex40), &hex40[..40]);
        assert_eq!(decoded(b"deadbeef\n"), b"deadbeef");
        // Decodes to printable bytes, so security would have printed those instead.
        assert_eq!(decoded(b"6869\n"), b"6869");
        // Uppercase is never security's hex form.
        assert_eq!(decoded(b"C3A9\n"), b"C3A9");
    }

    #[test]
    fn the_hex_form_of_a_non_printable_secret_is_decoded() {
        // "tøken€" (non-ASCII UTF-8), "tok" + a trailing newline, a tab inside.
        assert_eq!(decoded(b"74c3b86b656ee282ac\n"), "tøken€".as_bytes());
        assert_eq!(decoded(b"746f6b0a\n"), b"tok\n");
        assert_eq!(decoded(b"0974\n"), b"\tt");
        // A control character inside, or nothing but white space, is no token: such output
        // is taken literally (the printable secrets `0a` and `61076263`).
        assert_eq!(decoded(b"61076263\n"), b"61076263");
        assert_eq!(decoded(b"0a\n"), b"0a");
        assert_eq!(decoded(b"2009\n"), b"2009");
    }

    #[test]
    fn the_add_command_quotes_the_account_and_hexes_the_token() {
        let line = add_command("a\"b\\c@example.com", &Secret::new("tok \"x\"\n")).unwrap();
        assert_eq!(
            std::str::from_utf8(&line).unwrap(),
            "add-generic-password -U -a \"a\\\"b\\\\c@example.com\" -s \"heroku-cli\" -X 746f6b202278220a\n"
        );
        assert!(add_command("a\nb", &Secret::new("t")).is_err());
        assert!(add_command("a\0b", &Secret::new("t")).is_err());
        // The longest line security reads whole, and one byte more.
        let fixed = "add-generic-password -U -a \"x\" -s \"heroku-cli\" -X ".len();
        let fits = "t".repeat((MAX_LINE - fixed) / 2);
        let line = add_command("x", &Secret::new(fits.clone())).unwrap();
        assert_eq!(line.len(), MAX_LINE + 1);
        let e = add_command("x", &Secret::new(format!("{fits}u"))).unwrap_err();
        assert_eq!(
            e.0,
            "the token is too long for `security -i` (4096 bytes in its command line, at most 4094)"
        );
    }
}
