//! `herossh completions SHELL`: generated from the clap definitions, so they never drift.

use clap::CommandFactory;
use serde_json::json;

use super::Ctx;
use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;
use crate::ui::output::{self, Stream};

/// The script on stdout; with `--json`, `{shell, script}` (stdout carries only JSON).
pub fn run(ctx: &Ctx, args: &CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    // Rendered in memory, then written once through `output`: clap_complete writing to stdout
    // itself panics on a full disk or a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "herossh", &mut script);
    if ctx.ui.json {
        let script = String::from_utf8_lossy(&script);
        return ctx
            .ui
            .emit_json(&json!({"shell": args.shell.to_string(), "script": script}));
    }
    output::write(Stream::Stdout, &script);
    Ok(())
}
