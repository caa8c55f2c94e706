//! `herossh fix-config`: pin IdentityFile and IdentitiesOnly for a host, changing nothing
//! else, verified by the evaluator before anything is written.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::Ctx;
use crate::cli::FixConfigArgs;
use crate::error::{Error, Result, io_error};
use crate::fsutil::{self, Mode};
use crate::paths;
use crate::platform::{AccountKey, Client, Endpoint};
use crate::sshconfig::edit::{self, FixRequest, Outcome};
use crate::sshconfig::{self, ResolveOptions, diff};
use crate::{credentials, sshkeys};

pub fn run(ctx: &Ctx, args: &FixConfigArgs) -> Result<()> {
    let identity_path = choose_identity(ctx, args)?;
    pin(ctx, args, &identity_path)
}

/// Pin `identity_path` for `args.host` (the identity is already chosen): plan, verify, write.
/// Shared with `keygen --pin`, which pins the key it has just written.
pub(super) fn pin(ctx: &Ctx, args: &FixConfigArgs, identity_path: &Path) -> Result<()> {
    let config = args
        .config
        .clone()
        .unwrap_or_else(|| paths::ssh_dir().join("config"));
    let identity = paths::display_tilde(identity_path);
    let req = FixRequest {
        host: args.host.clone(),
        identity: identity.clone(),
        config: config.clone(),
        explicit_config: args.config.is_some(),
        hostname: args.hostname.clone(),
    };
    // fix-config never runs `Match exec` commands; say so when the answer depends on one.
    let probe_opts = ResolveOptions {
        config: args.config.clone(),
        ..Default::default()
    };
    if let Ok(r) = sshconfig::resolve(&args.host, &probe_opts) {
        for p in &r.pending_exec {
            ctx.ui.warn(format!(
                "`Match exec {}` ({}:{}) was not run and counted as not matching; check the result with `ssh -G {}`",
                p.command,
                p.origin.file.display(),
                p.origin.line,
                args.host
            ));
        }
    }
    let plan = match edit::plan(&req)? {
        Outcome::AlreadyPinned => {
            if ctx.ui.json {
                ctx.ui.emit_json(&json!({
                    "host": args.host, "identity": identity, "file": config.display().to_string(),
                    "changed": false, "already_pinned": true,
                }))?;
            } else {
                ctx.ui.info(format!(
                    "already pinned: {} resolves to identityfile {identity} first with identitiesonly yes ({})",
                    args.host,
                    config.display()
                ));
            }
            return Ok(());
        }
        Outcome::Edit(plan) => plan,
    };
    let name = plan
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let patch = diff::unified(&name, &plan.before, &plan.after);
    if args.dry_run {
        if ctx.ui.json {
            ctx.ui.emit_json(&json!({
                "host": args.host, "identity": identity, "file": plan.file.display().to_string(),
                "changed": false, "dry_run": true, "action": plan.description, "diff": patch,
            }))?;
        } else {
            ctx.ui.out(patch.trim_end_matches('\n'));
            ctx.ui.info(format!(
                "dry run: would have {}; nothing written",
                plan.description
            ));
        }
        return Ok(());
    }
    let (written, backup) = write(&plan)?;
    // Belt and braces: what is on disk now must resolve as planned.
    let opts = ResolveOptions {
        config: args.config.clone(),
        ..Default::default()
    };
    let now = sshconfig::resolve(&args.host, &opts)?;
    if !(now.identities_only()
        && now.identity_files().first().map(PathBuf::as_path) == Some(identity_path))
    {
        return Err(Error::failed(format!(
            "wrote {} but {} does not resolve as planned; the original is in {}",
            written.display(),
            args.host,
            backup
                .as_ref()
                .map(|b| b.display().to_string())
                .unwrap_or_else(|| "(no backup: the file was new)".into())
        )));
    }
    if ctx.ui.json {
        ctx.ui.emit_json(&json!({
            "host": args.host, "identity": identity, "file": written.display().to_string(),
            "changed": true, "action": plan.description,
            "backup": backup.map(|b| b.display().to_string()), "diff": patch,
        }))?;
    } else {
        ctx.ui.info(format!(
            "{}: {}; {} now offers {identity} first with IdentitiesOnly yes",
            written.display(),
            plan.description,
            args.host
        ));
        if let Some(b) = backup {
            ctx.ui.info(format!("backup: {}", b.display()));
        }
    }
    Ok(())
}

/// Write the plan safely: a backup next to the real file first (so a failure leaves both the
/// original and nothing half-written), then temp file + fsync + rename keeping the mode.
/// A symlinked config is edited at its target. Returns the file written and the backup.
fn write(plan: &edit::Plan) -> Result<(PathBuf, Option<PathBuf>)> {
    let target = fsutil::resolve_target(&plan.file)?;
    if plan.create {
        if let Some(dir) = target.parent()
            && !dir.as_os_str().is_empty()
        {
            fsutil::ensure_dir(dir, 0o700)?;
        }
        let written = fsutil::atomic_write(&plan.file, &plan.after.print(), Mode::KeepOr(0o600))?;
        return Ok((written, None));
    }
    let original = std::fs::read(&target).map_err(|e| io_error(&target, "read", e))?;
    if original != plan.before.print() {
        return Err(Error::failed(format!(
            "{} changed while herossh was editing it; nothing written, run again",
            target.display()
        )));
    }
    let backup = backup_path(&target);
    let mode = fsutil::mode_of(&target).unwrap_or(0o600);
    fsutil::create_new(&backup, &original, mode)?;
    match fsutil::atomic_write(&plan.file, &plan.after.print(), Mode::KeepOr(0o600)) {
        Ok(written) => Ok((written, Some(backup))),
        Err(e) => {
            // The original is untouched, so its copy is only clutter.
            let _ = std::fs::remove_file(&backup);
            Err(e)
        }
    }
}

/// `config.herossh-20261123T120000Z.bak` next to the file (a counter is added if taken).
fn backup_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    let stamp = utc_stamp();
    let mut p = target.with_file_name(format!("{name}.herossh-{stamp}.bak"));
    let mut n = 1;
    while p.exists() {
        p = target.with_file_name(format!("{name}.herossh-{stamp}-{n}.bak"));
        n += 1;
    }
    p
}

fn utc_stamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The identity to pin: `-i`, else the key on the user's account, else the only key pair in
/// ~/.ssh, else ask (TTY) or list the candidates.
fn choose_identity(ctx: &Ctx, args: &FixConfigArgs) -> Result<PathBuf> {
    if let Some(i) = &args.identity {
        let expanded = paths::expand_tilde_path(i);
        let abs = if expanded.is_absolute() {
            expanded
        } else {
            std::env::current_dir()
                .map_err(|e| io_error(Path::new("."), "read the current directory", e))?
                .join(expanded)
        };
        if abs.extension().is_some_and(|e| e == "pub") {
            return Err(Error::usage(format!(
                "{} is a public key; give the private key file (without .pub)",
                abs.display()
            )));
        }
        if !abs.is_file() {
            return Err(Error::usage(format!(
                "identity {} does not exist",
                abs.display()
            )));
        }
        if !pub_of(&abs).is_file() {
            ctx.ui.warn(format!(
                "{} has no {}: ssh can still use the key, but herossh cannot check it against your account",
                abs.display(),
                pub_of(&abs).display()
            ));
        }
        return Ok(abs);
    }
    if let Some(p) = identity_from_account(ctx)? {
        return Ok(p);
    }
    let candidates = local_key_pairs(&paths::ssh_dir());
    match candidates.len() {
        0 => Err(Error::failed(format!(
            "no key pair (private key with a .pub next to it) in {}; create one with `herossh keygen` or pass -i IDENTITY",
            paths::display_tilde(&paths::ssh_dir())
        ))),
        1 => Ok(candidates[0].clone()),
        _ => {
            let names: Vec<String> = candidates.iter().map(|p| paths::display_tilde(p)).collect();
            if ctx.ui.interactive {
                let i = crate::ui::select(
                    &format!("Which key should {} use?", args.host),
                    &names,
                    "pass -i IDENTITY",
                )?;
                Ok(candidates[i].clone())
            } else {
                Err(Error::usage(format!(
                    "several keys could be pinned; pass -i with one of: {}",
                    names.join(", ")
                )))
            }
        }
    }
}

/// The local key pair whose public key is on the user's Heroku account, when credentials
/// resolve and exactly one local pair is there. API trouble is a warning, not an error: the
/// account is a hint for choosing, and the local rules still decide without it.
fn identity_from_account(ctx: &Ctx) -> Result<Option<PathBuf>> {
    let Some(creds) = credentials::resolve().unwrap_or(None) else {
        return Ok(None);
    };
    let keys = match Client::new(&Endpoint::from_env(), &creds.token).and_then(|c| c.list_keys()) {
        Ok(keys) => keys.into_iter().map(AccountKey::new).collect::<Vec<_>>(),
        // Logged in but the API cannot answer: carry on with the local choice (pinning does
        // not need the network), and say so, since the account could have changed the choice.
        Err(e) => {
            let why = e.message.lines().next().unwrap_or_default();
            ctx.ui.warn(format!(
                "could not ask the Platform API which key is on your account ({why}); \
                 choosing among the keys in ~/.ssh"
            ));
            return Ok(None);
        }
    };
    let on_account: Vec<PathBuf> = local_key_pairs(&paths::ssh_dir())
        .into_iter()
        .filter(|p| {
            sshkeys::parse_public_key_file(&pub_of(p)).is_ok_and(|k| {
                let (sha, md5) = (
                    sshkeys::fingerprint_sha256(&k),
                    sshkeys::fingerprint_md5(&k),
                );
                keys.iter().any(|a| a.same_key_as(&sha, &md5))
            })
        })
        .collect();
    Ok(match on_account.as_slice() {
        [one] => {
            tracing::debug!("fix-config: {} is on the account", one.display());
            Some(one.clone())
        }
        _ => None,
    })
}

fn pub_of(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// Private keys in `dir` that have a `.pub` beside them, sorted.
fn local_key_pairs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "pub"))
        .filter(|p| pub_of(p).is_file())
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_shape() {
        let s = utc_stamp();
        assert_eq!(s.len(), 16, "{s}");
        assert!(s.ends_with('Z') && s.as_bytes()[8] == b'T');
    }
}
