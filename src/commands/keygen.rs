//! `herossh keygen`.

use super::Ctx;
use crate::cli::KeygenArgs;
use crate::error::{Error, Result};

pub fn run(_ctx: &Ctx, _args: &KeygenArgs) -> Result<()> {
    Err(Error::not_implemented("herossh keygen"))
}
