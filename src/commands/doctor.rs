//! `herossh doctor`.

use super::Ctx;
use crate::cli::DoctorArgs;
use crate::error::{Error, Result};

pub fn run(_ctx: &Ctx, _args: &DoctorArgs) -> Result<()> {
    Err(Error::not_implemented("herossh doctor"))
}
