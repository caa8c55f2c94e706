//! `herossh git-credential`.

use super::Ctx;
use crate::cli::GitCredentialArgs;
use crate::error::{Error, Result};

pub fn run(_ctx: &Ctx, _args: &GitCredentialArgs) -> Result<()> {
    Err(Error::not_implemented("herossh git-credential"))
}
