//! `herossh completions SHELL`: generated from the clap definitions, so they never drift.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;
use crate::ui::output::{self, Stream};

pub fn run(args: &CompletionsArgs) -> Result<()> {
    let mut cmd = Cli::command();
    // Rendered in memory, then written once through `output`: clap_complete writing to stdout
    // itself panics on a full disk or a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "herossh", &mut script);
    output::write(Stream::Stdout, &script);
    Ok(())
}
