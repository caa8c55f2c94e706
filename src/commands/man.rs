//! `herossh generate-man --out DIR`: renders man/ from the clap definitions. A test compares
//! the checked-in pages with a fresh rendering so they cannot go stale.

use std::path::Path;

use clap::CommandFactory;

use crate::cli::{Cli, GenerateManArgs};
use crate::error::{Result, io_error};

pub fn run(args: &GenerateManArgs) -> Result<()> {
    write_pages(&args.out)
}

/// Write `herossh.1` and `herossh-<sub>.1` (recursively) into `dir`.
pub fn write_pages(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, "create directory", e))?;
    let cmd = Cli::command();
    clap_mangen::generate_to(cmd, dir).map_err(|e| io_error(dir, "write man pages in", e))
}
