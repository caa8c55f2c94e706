//! `herossh config`.

use super::Ctx;
use crate::cli::ConfigArgs;
use crate::error::{Error, Result};

pub fn run(_ctx: &Ctx, _args: &ConfigArgs) -> Result<()> {
    Err(Error::not_implemented("herossh config"))
}
