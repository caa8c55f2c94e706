//! `herossh validate`.

use super::Ctx;
use crate::cli::ValidateArgs;
use crate::error::{Error, Result};

pub fn run(_ctx: &Ctx, _args: &ValidateArgs) -> Result<()> {
    Err(Error::not_implemented("herossh validate"))
}
