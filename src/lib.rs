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
pub mod ui;

use std::process::ExitCode;

use clap::Parser;

/// Parse the command line, run the command, print `herossh: <message>` on failure and turn
/// the outcome into the documented exit code.
pub fn main_entry() -> ExitCode {
    // clap prints help/version (exit 0) and usage errors (exit 2) itself.
    let cli = cli::Cli::parse();
    init_logging(cli.verbose);
    let ctx = commands::Ctx::new(&cli);
    match commands::run(&ctx, &cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if !err.message.is_empty() {
                eprintln!("herossh: {}", err.message);
            }
            ExitCode::from(err.exit_code())
        }
    }
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
        .try_init();
    // try_init installed the `log` bridge with the same level; narrow it for `-v`.
    if verbose < 2 {
        log::set_max_level(log::LevelFilter::Warn);
    }
}
