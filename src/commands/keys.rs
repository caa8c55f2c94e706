//! `herossh keys` and `keys add|remove|clear` (with the `keys:*` Heroku spellings).

use super::Ctx;
use crate::cli::{KeysAddArgs, KeysClearArgs, KeysListArgs, KeysRemoveArgs};
use crate::error::{Error, Result};

pub fn list(_ctx: &Ctx, _args: &KeysListArgs) -> Result<()> {
    Err(Error::not_implemented("herossh keys"))
}

pub fn add(_ctx: &Ctx, _args: &KeysAddArgs) -> Result<()> {
    Err(Error::not_implemented("herossh keys add"))
}

pub fn remove(_ctx: &Ctx, _args: &KeysRemoveArgs) -> Result<()> {
    Err(Error::not_implemented("herossh keys remove"))
}

pub fn clear(_ctx: &Ctx, _args: &KeysClearArgs) -> Result<()> {
    Err(Error::not_implemented("herossh keys clear"))
}
