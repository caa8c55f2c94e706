//! Everything that talks to the person at the terminal: human vs JSON output, colour, spinners
//! and prompts. Commands go through here so the rules (data on stdout, messages on stderr,
//! colour and spinners only on a TTY, never with NO_COLOR, no prompt without a TTY) hold
//! everywhere without each command re-deciding them.

mod progress;
mod prompt;
mod spinner;

use std::io::{IsTerminal, Write};

use serde::Serialize;

pub use progress::Progress;
pub use prompt::{confirm, password, select, text};
pub use spinner::Spinner;

use crate::error::{Error, Result};

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
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{}", line.as_ref());
        }
    }

    /// A message for the person on stderr (kept in JSON mode too: stdout stays machine-only).
    pub fn info(&self, line: impl AsRef<str>) {
        eprintln!("{}", line.as_ref());
    }

    /// An error the command reports itself before going on (one of several keys could not be
    /// removed): the same `herossh: ` prefix as the error `main` prints, so scripts and people
    /// recognise every error line the same way.
    pub fn error(&self, line: impl AsRef<str>) {
        eprintln!("herossh: {}", line.as_ref());
    }

    /// A warning on stderr, prefixed so it stands out even without colour.
    pub fn warn(&self, line: impl AsRef<str>) {
        let prefix = if self.color {
            console::style(" ›   Warning:").yellow().to_string()
        } else {
            " ›   Warning:".to_string()
        };
        eprintln!("{prefix} {}", line.as_ref());
    }

    /// The JSON document on stdout, pretty-printed, in `--json` mode.
    pub fn emit_json<T: Serialize + ?Sized>(&self, value: &T) -> Result<()> {
        let text = serde_json::to_string_pretty(value)
            .map_err(|e| Error::failed(format!("cannot encode JSON output: {e}")))?;
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{text}");
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

    /// A progress bar over `total` items on stderr; invisible off a TTY and in JSON mode.
    pub fn progress(&self, total: u64, what: &str) -> Progress {
        Progress::start(self.stderr_tty && !self.json, total, what)
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
