//! Everything that talks to the person at the terminal: human vs JSON output, colour, spinners
//! and prompts. Commands go through here so the rules (data on stdout, messages on stderr,
//! colour and spinners only on a TTY, never with NO_COLOR, no prompt without a TTY) hold
//! everywhere without each command re-deciding them. All writing goes through [`output`]
//! (no panic, write errors recorded); text from outside (key comments, API fields, server
//! versions, file names) goes through [`untrusted`] before it reaches a terminal.

pub mod output;
mod prompt;
mod spinner;
mod untrusted;

use std::io::IsTerminal;

use serde::Serialize;

pub use prompt::{confirm, password, select, text};
pub use spinner::Spinner;
pub use untrusted::{untrusted, untrusted_lines, untrusted_path};

use crate::error::{Error, Result};

/// The first line of stdin (with its line break, as `read_line` gives it; empty at end of
/// input), at most `max` bytes: a token or passphrase piped in from `/dev/zero` or a runaway
/// program must not fill the memory. Longer is an `InvalidData` error that says the limit.
pub fn read_stdin_line(max: usize) -> std::io::Result<String> {
    use std::io::{BufRead, Read};
    let mut buf = Vec::new();
    std::io::stdin()
        .lock()
        .take(max as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    if buf.len() > max && !buf.ends_with(b"\n") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("its first line is longer than {max} bytes"),
        ));
    }
    String::from_utf8(buf).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        )
    })
}

/// How long a line of stdin herossh reads as a token or passphrase.
pub const STDIN_LINE_MAX: usize = 64 * 1024;

/// How this invocation presents its results.
#[derive(Debug, Clone)]
pub struct Ui {
    /// `--json`: stdout carries one JSON document and nothing else.
    pub json: bool,
    /// Colour on stderr/stdout (TTY, no `--no-color`, no `NO_COLOR`).
    pub color: bool,
    /// stderr is a terminal: spinners may draw there.
    pub stderr_tty: bool,
    /// stdin and stderr are terminals: prompts may be shown.
    pub interactive: bool,
}

impl Ui {
    pub fn new(json: bool, no_color: bool) -> Self {
        let stdout_tty = std::io::stdout().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let stdin_tty = std::io::stdin().is_terminal();
        let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = !no_color && !no_color_env && stdout_tty && stderr_tty;
        console::set_colors_enabled(color);
        console::set_colors_enabled_stderr(color);
        Ui {
            json,
            color,
            stderr_tty,
            interactive: stdin_tty && stderr_tty,
        }
    }

    /// A line of data on stdout (ignored in JSON mode, where `emit_json` is the only output).
    pub fn out(&self, line: impl AsRef<str>) {
        if !self.json {
            output::stdout_line(line.as_ref());
        }
    }

    /// A message for the person on stderr (kept in JSON mode too: stdout stays machine-only).
    /// Messages quote untrusted text (paths, comments, API messages), so control characters
    /// other than line breaks and tabs are escaped here, whatever the caller did.
    pub fn info(&self, line: impl AsRef<str>) {
        output::stderr_line(&untrusted_lines(line.as_ref()));
    }

    /// An error the command reports itself before going on (one of several keys could not be
    /// removed): the same `herossh: ` prefix as the error `main` prints, so scripts and people
    /// recognise every error line the same way.
    pub fn error(&self, line: impl AsRef<str>) {
        output::stderr_line(&format!("herossh: {}", untrusted_lines(line.as_ref())));
    }

    /// A warning on stderr, prefixed so it stands out even without colour.
    pub fn warn(&self, line: impl AsRef<str>) {
        let prefix = if self.color {
            console::style(" ›   Warning:").yellow().to_string()
        } else {
            " ›   Warning:".to_string()
        };
        output::stderr_line(&format!("{prefix} {}", untrusted_lines(line.as_ref())));
    }

    /// The JSON document on stdout, pretty-printed, in `--json` mode. JSON escapes control
    /// characters itself, so untrusted strings go in as they are.
    pub fn emit_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Error::failed(format!("cannot encode JSON output: {e}")))?;
        output::mark_json_emitted();
        output::stdout_line(&text);
        Ok(())
    }

    /// Style helpers that degrade to plain text without colour.
    pub fn bold(&self, s: &str) -> String {
        self.paint(s, |t| t.bold())
    }
    pub fn green(&self, s: &str) -> String {
        self.paint(s, |t| t.green())
    }
    pub fn red(&self, s: &str) -> String {
        self.paint(s, |t| t.red())
    }
    pub fn yellow(&self, s: &str) -> String {
        self.paint(s, |t| t.yellow())
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint(s, |t| t.dim())
    }

    fn paint(
        &self,
        s: &str,
        f: impl FnOnce(console::StyledObject<&str>) -> console::StyledObject<&str>,
    ) -> String {
        if self.color {
            f(console::style(s)).to_string()
        } else {
            s.to_string()
        }
    }

    /// A spinner on stderr for slow work; invisible off a TTY and in JSON mode.
    pub fn spinner(&self, message: impl Into<String>) -> Spinner {
        Spinner::start(self.stderr_tty && !self.json, message.into())
    }

    /// Fails with a usage error naming the flag to use when no prompt can be shown.
    pub fn require_interactive(&self, what: &str, flag_hint: &str) -> Result<()> {
        if self.interactive {
            Ok(())
        } else {
            Err(Error::usage(format!(
                "{what} needs a terminal to ask; {flag_hint}"
            )))
        }
    }
}
