//! How ssh resolves one host: the destination's user and port like `-l`/`-p`, the config
//! evaluated as ssh evaluates it, turned into the [`HostSettings`] the plan and the probe use.
//!
//! One home for it because it is needed for the target and for every jump host on its route
//! (ssh resolves each hop with a config pass of its own, `ssh -l USER -p PORT HOP`).

use std::path::{Path, PathBuf};

use super::plan::HostSettings;
use crate::error::{Error, Result};
use crate::openssh::Destination;
use crate::sshconfig::{self, ResolveOptions};

/// The settings for `target`. When ssh would refuse the config, the settings are read past
/// the errors (which travel with them, see `HostSettings::config_errors`), so the rest of a
/// report still runs. `allow_exec` runs `Match exec` commands (see `ResolveOptions`).
pub fn resolve(
    target: &Destination,
    config: Option<&Path>,
    allow_exec: bool,
    identities: &[PathBuf],
) -> Result<HostSettings> {
    let resolved = resolve_lenient(target, config, allow_exec).map_err(Error::from)?;
    let mut settings = HostSettings::from_resolved(&target.host, &resolved, identities);
    settings.config_file = config.map(Path::to_path_buf);
    settings.destination = Some(target.clone());
    Ok(settings)
}

/// `ssh -G` for `target`; when ssh would refuse the config, the config read past its errors,
/// with those errors (as ssh reports them) in [`sshconfig::Resolved::skipped`]. Fails only
/// when nothing can be read at all.
pub fn resolve_lenient(
    target: &Destination,
    config: Option<&Path>,
    allow_exec: bool,
) -> std::result::Result<sshconfig::Resolved, sshconfig::Failure> {
    let opts = ResolveOptions {
        config: config.map(Path::to_path_buf),
        allow_exec,
        ..Default::default()
    };
    match sshconfig::resolve_destination(target, &opts) {
        Ok(r) => Ok(r),
        Err(failure) => {
            let lenient = ResolveOptions {
                lenient: true,
                ..opts
            };
            let mut r =
                sshconfig::resolve_destination(target, &lenient).map_err(|_| failure.clone())?;
            // What ssh stops on, as ssh reports it (the lenient pass may see fewer).
            r.skipped = failure.errors;
            Ok(r)
        }
    }
}
