//! `herossh auth`.

use super::Ctx;
use crate::cli::AuthArgs;
use crate::error::{Error, Result};

pub fn run(_ctx: &Ctx, _args: &AuthArgs) -> Result<()> {
    Err(Error::not_implemented("herossh auth"))
}
