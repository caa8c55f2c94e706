//! herossh: SSH key and connection diagnostics for Heroku and any SSH host.
//!
//! Layout (see DESIGN.md): `cli` is the clap surface, `commands` orchestrate one command each,
//! and the knowledge lives in one place per topic: `credentials` (token resolution), `platform`
//! (the API client), `sshkeys`, `sshconfig`, `probe`, `diagnose`, `git` (remotes as git reads
//! them); `ui` renders; `os` holds what differs between operating systems, one small module
//! per concern.

pub mod cli;
pub mod commands;
pub mod credentials;
pub mod diagnose;
pub mod error;
pub mod fsutil;
pub mod git;
pub mod openssh;
pub mod os;
pub mod paths;
pub mod platform;
pub mod probe;
pub mod sshconfig;
pub mod sshkeys;
#[cfg(test)]
mod test_util;
pub mod ui;

use std::process::ExitCode;

use clap::Parser;

/// Parse the command line, run the command, print `herossh: <message>` on failure and turn
/// the outcome into the documented exit code. With `--json`, a failure also prints
/// `{"error": {"code", "message", "exit"}}` on stdout unless the command printed its own JSON
/// report (validate, doctor, keys remove: the report says what failed). Write failures on
/// stdout or stderr are errors, except a closed pipe, which ends the program quietly (see
/// `ui::output`).
pub fn main_entry() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    init_logging(cli.verbose);
    platform::set_insecure_http_allowed(cli.insecure);
    let ctx = commands::Ctx::new(&cli);
    let result = commands::run(&ctx, &cli.command);
    finish(cli.json, result)
}

/// The exit code, after reporting `result` and any write failure.
fn finish(json: bool, result: error::Result<()>) -> ExitCode {
    use ui::output::{self, Stream};
    let failures = output::failures();
    let stdout_failed = failures.iter().any(|f| f.stream == Stream::Stdout);
    // A write failure other than a closed pipe is an error of its own; it wins over success.
    let write_error = failures.iter().find(|f| !f.is_closed_pipe()).map(|f| {
        error::Error::failed(format!("cannot write to {}: {}", f.stream.name(), f.error))
            .with_code("output_error")
    });
    let err = match (result, write_error) {
        (Err(e), _) => e,
        (Ok(()), Some(w)) => w,
        (Ok(()), None) => return ExitCode::SUCCESS,
    };
    if !err.message.is_empty() {
        output::stderr_line(&format!("herossh: {}", ui::untrusted_lines(&err.message)));
    }
    if json && !stdout_failed && !output::json_emitted() {
        output::stdout_line(&err.to_json_line());
    }
    ExitCode::from(err.exit_code())
}

/// A command line clap refused (exit 2), or `--help`/`--version` (exit 0). With `--json`
/// anywhere on the line a usage error is also the JSON error object on stdout.
fn clap_exit(e: clap::Error) -> ExitCode {
    use std::io::IsTerminal;
    use ui::output::{self, Stream};
    let rendered = e.render().to_string();
    let tty = if e.use_stderr() {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    if !e.use_stderr() {
        if tty {
            // clap's own printing keeps its colours; a terminal does not fill up.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // Help and version: stdout, and a failed write is still an error.
        if output::write(Stream::Stdout, rendered.as_bytes()) {
            return ExitCode::SUCCESS;
        }
        return finish(false, Ok(()));
    }
    if tty {
        let _ = e.print();
    } else {
        output::write(Stream::Stderr, rendered.as_bytes());
    }
    let json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if json {
        let message = rendered
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string();
        output::stdout_line(&error::Error::usage(message).to_json_line());
    }
    ExitCode::from(2)
}

/// `-v` shows herossh's own debug logs, `-vv` adds trace level and what russh logs through the
/// `log` crate (its key exchange, the auth methods the server answers), which is often the
/// missing piece when a probe surprises. Below `-vv` russh is held to warnings: it is noisy.
/// Logs go to stderr and never carry secrets: the modules that handle tokens and passphrases
/// log only where they came from, and the secrets audit runs every command at `-vv`.
fn init_logging(verbose: u8) {
    use tracing_subscriber::filter::LevelFilter;
    let level = match verbose {
        0 => return,
        1 => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_target(verbose > 1)
        .with_ansi(false)
        .without_time()
        // Its own complaint about a failed write would be an eprintln!, which panics when
        // stderr is the thing that failed.
        .log_internal_errors(false)
        .try_init();
    // try_init installed the `log` bridge with the same level; narrow it for `-v`.
    if verbose < 2 {
        log::set_max_level(log::LevelFilter::Warn);
    }
}
