//! `herossh fix-config`.

use super::Ctx;
use crate::cli::FixConfigArgs;
use crate::error::{Error, Result};

pub fn run(_ctx: &Ctx, _args: &FixConfigArgs) -> Result<()> {
    Err(Error::not_implemented("herossh fix-config"))
}
