//! `herossh fix-config`: make a host resolve to a pinned key and/or `--set` values, or fix a
//! config ssh refuses (`--ignore-unknown`, `--remove-bom`), changing nothing else: every edit
//! is verified by the evaluator before anything is written, written by `sshconfig::writer`
//! (lock, backup, compare-before-rename) and checked again on what was written.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::Ctx;
use crate::cli::FixConfigArgs;
use crate::error::{Error, Result, io_error};
use crate::openssh::Destination;
use crate::paths;
use crate::platform::{AccountKey, Client, Endpoint};
use crate::probe::agent;
use crate::sshconfig::edit::{self, FixRequest, HostPlan, Outcome, Plan, Setting};
use crate::sshconfig::writer::{self, FileEdit, Inputs, Written};
use crate::sshconfig::{self, ResolveOptions, Resolved, bom, diff, ignore_unknown};
use crate::{credentials, sshkeys};

/// What every path below needs to know about the file being edited.
struct Target {
    /// `-F` made absolute, else `~/.ssh/config`.
    config: PathBuf,
    /// Given with `-F`: only that file is read, as `ssh -F` does.
    explicit: bool,
}

pub fn run(ctx: &Ctx, args: &FixConfigArgs) -> Result<()> {
    if !args.ignore_unknown.is_empty() {
        return ignore_unknown(ctx, args);
    }
    if args.remove_bom {
        return remove_bom(ctx, args);
    }
    // Every usage error before anything is read, asked or written.
    let host = target_host(&args.host)?;
    let settings = parse_settings(&args.set)?;
    let target = target(args)?;
    let identity = if args.identity.is_some() || settings.is_empty() {
        Some(choose_identity(ctx, args, &host, &target)?)
    } else {
        None
    };
    fix_host(ctx, args, &host, &target, identity.as_deref(), settings)
}

/// Pin `identity_path` for `args.host` (the identity is already chosen): plan, verify, write.
/// Shared with `keygen --pin`, which pins the key it has just written (and checked the host
/// with [`target_host`] before generating it).
pub(super) fn pin(ctx: &Ctx, args: &FixConfigArgs, identity_path: &Path) -> Result<()> {
    let host = target_host(&args.host)?;
    let target = target(args)?;
    fix_host(ctx, args, &host, &target, Some(identity_path), Vec::new())
}

/// The host a `--host` (or `keygen --pin`) argument names, read as ssh reads its destination:
/// `user@host` pins for `host` (the user is ssh's business, not the stanza's). A port, or a
/// name ssh would refuse or that would turn the `Host` line into a pattern, is a usage error.
pub fn target_host(arg: &str) -> Result<String> {
    let d = Destination::parse(arg)?;
    if let Some(port) = d.port {
        return Err(Error::usage(format!(
            "`{arg}` names port {port}: a Host stanza is for a host name; pin the port with \
             --set 'Port {port}'"
        )));
    }
    if d.host.matches(':').count() == 1 {
        let (h, p) = d.host.split_once(':').unwrap_or_default();
        return Err(Error::usage(format!(
            "`{arg}`: ssh takes no port after a colon (it would look up a host literally named \
             `{}`); give --host {h} and --set 'Port {p}'",
            d.host
        )));
    }
    if d.host.contains(['*', '?', '!', ',']) {
        return Err(Error::usage(format!(
            "`{}` is not a host name: `*`, `?`, `!` and `,` make a Host line a pattern that \
             matches other hosts",
            d.host
        )));
    }
    if let Some(u) = &d.user {
        tracing::debug!(
            "fix-config: `{arg}`: editing the settings of {} (user {u} not written)",
            d.host
        );
    }
    Ok(d.host)
}

fn parse_settings(args: &[String]) -> Result<Vec<Setting>> {
    let settings: Vec<Setting> = args
        .iter()
        .map(|s| Setting::parse(s))
        .collect::<Result<_>>()?;
    for (i, s) in settings.iter().enumerate() {
        if !s.accumulates() && settings[..i].iter().any(|o| o.op == s.op) {
            return Err(Error::usage(format!(
                "--set gives {} twice; ssh keeps one value",
                s.keyword
            )));
        }
    }
    Ok(settings)
}

/// `-F` (made absolute; its directory must exist: fix-config never creates directories for
/// it), else `~/.ssh/config`.
fn target(args: &FixConfigArgs) -> Result<Target> {
    let Some(f) = &args.config else {
        return Ok(Target {
            config: paths::ssh_dir().join("config"),
            explicit: false,
        });
    };
    let abs = std::path::absolute(f).map_err(|e| io_error(f, "resolve", e))?;
    if abs.is_dir() {
        return Err(Error::usage(format!("-F {}: is a directory", f.display())));
    }
    if let Some(dir) = abs.parent()
        && !dir.is_dir()
    {
        return Err(Error::usage(format!(
            "-F {}: the directory {} does not exist (fix-config does not create directories \
             for -F)",
            f.display(),
            dir.display()
        )));
    }
    Ok(Target {
        config: abs,
        explicit: true,
    })
}

fn resolve_opts(target: &Target) -> ResolveOptions {
    ResolveOptions {
        config: target.explicit.then(|| target.config.clone()),
        ..Default::default()
    }
}

fn fix_host(
    ctx: &Ctx,
    args: &FixConfigArgs,
    host: &str,
    target: &Target,
    identity: Option<&Path>,
    settings: Vec<Setting>,
) -> Result<()> {
    // Written the way ssh reads it: `~` is the passwd entry's home (openssh::home), which is
    // not $HOME under `sudo -E` or in some containers. Shown the way a shell reads it.
    let identity_line = identity.map(crate::openssh::home::contract);
    let identity_shown = identity.map(paths::display_tilde);
    let req = FixRequest {
        host: host.to_string(),
        config: target.config.clone(),
        explicit_config: target.explicit,
        hostname: args.hostname.clone(),
        identity: identity_line,
        settings: settings.clone(),
    };
    let planned = edit::plan(&req)?;
    warn_pending_exec(ctx, host, &planned.baseline);
    let report = HostReport {
        host,
        identity: identity_shown.as_deref(),
        settings: &settings,
        config: &target.config,
    };
    let hp = match planned.outcome {
        Outcome::Already => return report.already(ctx, &planned.baseline),
        Outcome::Edit(hp) => *hp,
    };
    if args.dry_run {
        return report.dry_run(ctx, &hp, &patch_of(&hp.plan));
    }
    let written = write_locked(
        args.force,
        hp,
        |h: &HostPlan| (vec![&h.plan], &h.inputs),
        || {
            Ok(match edit::plan(&req)?.outcome {
                Outcome::Already => None,
                Outcome::Edit(h) => Some(*h),
            })
        },
    )?;
    let Some((hp, written)) = written else {
        // Another run made the same change while this one waited for the lock.
        let now = sshconfig::resolve(host, &resolve_opts(target))?;
        return report.already(ctx, &now);
    };
    let w = &written[0];
    // The evaluator verified these very bytes before they were written (HostPlan::resolved);
    // what is on disk now must be them, byte for byte.
    let on_disk = sshconfig::includes::read(&w.file).map_err(|e| io_error(&w.file, "read", e))?;
    if on_disk != hp.plan.after.print() {
        return Err(Error::failed(format!(
            "wrote {} but it does not hold what was verified (another program wrote it since?); \
             the original is in {}",
            w.file.display(),
            writer::describe_backup(w.backup.as_deref())
        )));
    }
    report.written(ctx, &hp, w, &patch_of(&hp.plan))
}

/// How the outcome of a host edit is told.
struct HostReport<'a> {
    host: &'a str,
    identity: Option<&'a str>,
    settings: &'a [Setting],
    config: &'a Path,
}

impl HostReport<'_> {
    fn json_base(&self) -> serde_json::Value {
        json!({
            "host": self.host,
            "identity": self.identity,
            "set": self.settings.iter().map(Setting::line).collect::<Vec<_>>(),
        })
    }

    fn already(&self, ctx: &Ctx, r: &Resolved) -> Result<()> {
        if ctx.ui.json {
            let mut v = self.json_base();
            v["file"] = json!(self.config.display().to_string());
            v["changed"] = json!(false);
            v["already"] = json!(true);
            if self.identity.is_some() {
                v["already_pinned"] = json!(true);
            }
            return ctx.ui.emit_json(&v);
        }
        if let Some(id) = self.identity {
            ctx.ui.info(format!(
                "already pinned: {} resolves to identityfile {id} first with identitiesonly yes ({})",
                self.host,
                self.config.display()
            ));
        }
        for s in self.settings {
            let from = r.origin_of(s.op);
            let at = from.map(|o| format!("{}:{}", paths::display_tilde(&o.file), o.line));
            let what = match (s.printed.as_deref(), at) {
                (Some(k), at) => format!(
                    "ssh -G {} prints {k} {}{}",
                    self.host,
                    r.get(k).unwrap_or(""),
                    at.map(|a| format!(" (from {a})")).unwrap_or_default()
                ),
                (None, Some(at)) => format!(
                    "{} takes `{}` from {at} (ssh -G does not print it)",
                    self.host,
                    s.line()
                ),
                (None, None) => format!(
                    "ssh -G {} prints no {} line, as with `{}`",
                    self.host,
                    s.keyword.to_ascii_lowercase(),
                    s.line()
                ),
            };
            ctx.ui.info(format!("already set: {what}; nothing changed"));
        }
        Ok(())
    }

    fn dry_run(&self, ctx: &Ctx, hp: &HostPlan, patch: &str) -> Result<()> {
        if ctx.ui.json {
            let mut v = self.json_base();
            v["file"] = json!(hp.plan.file.display().to_string());
            v["changed"] = json!(false);
            v["already"] = json!(false);
            v["dry_run"] = json!(true);
            v["action"] = json!(hp.plan.description);
            v["diff"] = json!(patch);
            return ctx.ui.emit_json(&v);
        }
        ctx.ui.out(patch.trim_end_matches('\n'));
        ctx.ui.info(format!(
            "dry run: would have {}; nothing written",
            hp.plan.description
        ));
        if let Err(e) = writer::check_writable(&hp.plan.file, false) {
            ctx.ui.warn(e.message);
        }
        Ok(())
    }

    fn written(&self, ctx: &Ctx, hp: &HostPlan, w: &Written, patch: &str) -> Result<()> {
        let now = &hp.resolved;
        if ctx.ui.json {
            let mut v = self.json_base();
            v["file"] = json!(w.file.display().to_string());
            v["changed"] = json!(true);
            v["already"] = json!(false);
            v["action"] = json!(hp.plan.description);
            v["backup"] = json!(w.backup.as_ref().map(|b| b.display().to_string()));
            v["diff"] = json!(patch);
            v["also_changed"] = json!(hp.also_changed);
            return ctx.ui.emit_json(&v);
        }
        let mut outcome = Vec::new();
        if let Some(id) = self.identity {
            outcome.push(format!(
                "{} now offers {id} first with IdentitiesOnly yes",
                self.host
            ));
        }
        for (s, line) in hp.placed.iter().filter(|(s, _)| self.settings.contains(s)) {
            match s.printed.as_deref() {
                Some(k) => outcome.push(format!(
                    "ssh -G {} now prints {k} {}",
                    self.host,
                    now.get(k).unwrap_or("")
                )),
                None => outcome.push(format!(
                    "{} now takes `{}` from line {line} (ssh -G does not print it)",
                    self.host,
                    s.line(),
                )),
            }
        }
        ctx.ui.info(format!(
            "{}: {}; {}",
            w.file.display(),
            hp.plan.description,
            outcome.join("; ")
        ));
        if !hp.also_changed.is_empty() {
            ctx.ui.info(format!(
                "this also changes what ssh -G {} prints for: {}",
                self.host,
                hp.also_changed.join(", ")
            ));
        }
        if let Some(b) = &w.backup {
            ctx.ui.info(format!("backup: {}", b.display()));
        }
        Ok(())
    }
}

/// fix-config never runs `Match exec` commands; say so when the answer depends on one.
fn warn_pending_exec(ctx: &Ctx, host: &str, r: &Resolved) {
    for p in &r.pending_exec {
        ctx.ui.warn(format!(
            "`Match exec {}` ({}:{}) was not run and counted as not matching; check the result with `ssh -G {host}`",
            p.command,
            p.origin.file.display(),
            p.origin.line,
        ));
    }
}

fn patch_of(plan: &Plan) -> String {
    let name = plan
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "config".into());
    diff::unified(&name, &plan.before, &plan.after)
}

/// Write what was planned without the lock: refuse read-only files before any side effect,
/// take the lock, plan again if any file the plan read changed meanwhile (another run
/// finished first: its edit is kept and this one applied on top), then write each file.
/// `None`: the new plan has nothing left to do.
fn write_locked<T>(
    force: bool,
    first: T,
    files: impl Fn(&T) -> (Vec<&Plan>, &Inputs),
    replan: impl FnOnce() -> Result<Option<T>>,
) -> Result<Option<(T, Vec<Written>)>> {
    let before = |p: &Plan| (!p.create).then(|| p.before.print());
    for p in files(&first).0 {
        writer::check_writable(&p.file, force)?;
    }
    let _lock = writer::lock()?;
    let current = if files(&first).1.unchanged() {
        first
    } else {
        tracing::debug!(
            "fix-config: a file changed between planning and taking the lock; planning again"
        );
        match replan()? {
            Some(t) => t,
            None => return Ok(None),
        }
    };
    let mut written = Vec::new();
    for p in files(&current).0 {
        let edit = FileEdit {
            path: p.file.clone(),
            before: before(p),
            after: p.after.print(),
        };
        written.push(writer::write(&edit, force)?);
    }
    Ok(Some((current, written)))
}

/// `--ignore-unknown KEYWORD...`.
fn ignore_unknown(ctx: &Ctx, args: &FixConfigArgs) -> Result<()> {
    let kws = ignore_unknown::parse_keywords(&args.ignore_unknown)?;
    let target = target(args)?;
    let plan_now = || ignore_unknown::plan(&target.config, target.explicit, &kws);
    let json_base = || {
        json!({
            "fix": "ignore-unknown",
            "keywords": kws,
            "file": target.config.display().to_string(),
        })
    };
    let (plan, inputs, remaining) = match plan_now()? {
        ignore_unknown::Outcome::Already(why) => return file_fix_already(ctx, json_base(), &why),
        ignore_unknown::Outcome::Edit {
            plan,
            inputs,
            remaining,
        } => (plan, inputs, remaining),
    };
    if args.dry_run {
        return file_fix_dry_run(ctx, json_base(), std::slice::from_ref(&plan));
    }
    let written = write_locked(
        args.force,
        (plan, inputs, remaining),
        |(p, i, _)| (vec![p], i),
        || {
            Ok(match plan_now()? {
                ignore_unknown::Outcome::Already(_) => None,
                ignore_unknown::Outcome::Edit {
                    plan,
                    inputs,
                    remaining,
                } => Some((plan, inputs, remaining)),
            })
        },
    )?;
    let Some(((plan, _, remaining), written)) = written else {
        return file_fix_already(ctx, json_base(), "another run made the same change");
    };
    // What is on disk: ssh must not refuse any of the keywords any more.
    if let Err(e) = sshconfig::resolve("herossh-unnamed-host.invalid", &resolve_opts(&target))
        && let Some(k) = kws.iter().find(|k| {
            e.message.contains(&format!(
                "Bad configuration option: {}",
                k.to_ascii_lowercase()
            ))
        })
    {
        return Err(Error::failed(format!(
            "wrote {} but ssh still refuses {k}; the original is in {}",
            written[0].file.display(),
            writer::describe_backup(written[0].backup.as_deref())
        )));
    }
    file_fix_written(
        ctx,
        json_base(),
        &[plan],
        &written,
        &format!("ssh now ignores {}", kws.join(", ")),
    )?;
    if let Some(r) = remaining {
        ctx.ui.warn(format!("ssh still refuses the config: {r}"));
    }
    Ok(())
}

/// `--remove-bom`.
fn remove_bom(ctx: &Ctx, args: &FixConfigArgs) -> Result<()> {
    let target = target(args)?;
    let plan_now = || bom::plan(&target.config, target.explicit);
    let json_base = || {
        json!({
            "fix": "remove-bom",
            "file": target.config.display().to_string(),
        })
    };
    let plans = match plan_now()? {
        bom::Outcome::Already(n) => {
            let why = format!(
                "no byte-order mark in {}{}",
                paths::display_tilde(&target.config),
                if n > 1 {
                    format!(" or the {} file(s) it includes", n - 1)
                } else {
                    String::new()
                }
            );
            return file_fix_already(ctx, json_base(), &why);
        }
        bom::Outcome::Edit(plans, inputs) => (plans, inputs),
    };
    if args.dry_run {
        return file_fix_dry_run(ctx, json_base(), &plans.0);
    }
    let written = write_locked(
        args.force,
        plans,
        |(p, i): &(Vec<Plan>, Inputs)| (p.iter().collect(), i),
        || {
            Ok(match plan_now()? {
                bom::Outcome::Already(_) => None,
                bom::Outcome::Edit(p, i) => Some((p, i)),
            })
        },
    )?;
    let Some(((plans, _), written)) = written else {
        return file_fix_already(ctx, json_base(), "another run removed it");
    };
    for w in &written {
        let now = sshconfig::includes::read(&w.file).map_err(|e| io_error(&w.file, "read", e))?;
        if now.starts_with(sshconfig::includes::BOM) {
            return Err(Error::failed(format!(
                "wrote {} but it still starts with a byte-order mark; the original is in {}",
                w.file.display(),
                writer::describe_backup(w.backup.as_deref())
            )));
        }
    }
    file_fix_written(ctx, json_base(), &plans, &written, "ssh can read it")
}

fn file_fix_already(ctx: &Ctx, mut v: serde_json::Value, why: &str) -> Result<()> {
    if ctx.ui.json {
        v["changed"] = json!(false);
        v["already"] = json!(true);
        v["action"] = json!(why);
        return ctx.ui.emit_json(&v);
    }
    ctx.ui.info(format!("already done: {why}; nothing changed"));
    Ok(())
}

fn file_fix_dry_run(ctx: &Ctx, mut v: serde_json::Value, plans: &[Plan]) -> Result<()> {
    if ctx.ui.json {
        v["changed"] = json!(false);
        v["already"] = json!(false);
        v["dry_run"] = json!(true);
        v["edits"] = json!(
            plans
                .iter()
                .map(|p| json!({"file": p.file.display().to_string(), "action": p.description, "diff": patch_of(p)}))
                .collect::<Vec<_>>()
        );
        return ctx.ui.emit_json(&v);
    }
    for p in plans {
        ctx.ui.out(patch_of(p).trim_end_matches('\n'));
        ctx.ui.info(format!(
            "dry run: would have {}; nothing written",
            p.description
        ));
    }
    Ok(())
}

fn file_fix_written(
    ctx: &Ctx,
    mut v: serde_json::Value,
    plans: &[Plan],
    written: &[Written],
    result: &str,
) -> Result<()> {
    if ctx.ui.json {
        v["changed"] = json!(true);
        v["already"] = json!(false);
        v["edits"] = json!(
            plans
                .iter()
                .zip(written)
                .map(|(p, w)| json!({
                    "file": w.file.display().to_string(),
                    "action": p.description,
                    "diff": patch_of(p),
                    "backup": w.backup.as_ref().map(|b| b.display().to_string()),
                }))
                .collect::<Vec<_>>()
        );
        return ctx.ui.emit_json(&v);
    }
    for (p, w) in plans.iter().zip(written) {
        ctx.ui
            .info(format!("{}: {}; {result}", w.file.display(), p.description));
        if let Some(b) = &w.backup {
            ctx.ui.info(format!("backup: {}", b.display()));
        }
    }
    Ok(())
}

/// The identity to pin: `-i` (checked: something ssh can use), else the key on the user's
/// account, else the only key pair in ~/.ssh, else ask (TTY) or list the candidates.
fn choose_identity(
    ctx: &Ctx,
    args: &FixConfigArgs,
    host: &str,
    target: &Target,
) -> Result<PathBuf> {
    if let Some(i) = &args.identity {
        let expanded = paths::expand_tilde_path(i);
        let abs = std::path::absolute(&expanded).map_err(|e| io_error(&expanded, "resolve", e))?;
        let checked = check_identity(&abs, host, target)?;
        if let Some(w) = checked.warning {
            ctx.ui.warn(w);
        }
        if !checked.public && !pub_of(&abs).is_file() {
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
                    &format!("Which key should {host} use?"),
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

/// What `-i` names, as ssh's loader sees it (see [`check_identity`]).
struct IdentityCheck {
    /// A public key or certificate (the agent holds its private key).
    public: bool,
    /// Something ssh will say about the key as it is, worth a warning (its mode).
    warning: Option<String>,
}

/// `-i` must be something ssh can authenticate with, judged by ssh's own loader rules
/// (`openssh::keys::load_identity`, with this host's RequiredRSASize and
/// PubkeyAcceptedAlgorithms): a private key ssh loads (or asks the passphrase of), or a public
/// key / certificate whose private key the agent holds (`IdentityFile X.pub` then selects
/// that agent key). Anything else is a usage error that says why, in ssh's terms.
fn check_identity(path: &Path, host: &str, target: &Target) -> Result<IdentityCheck> {
    use crate::openssh::keys::load::Format;
    use crate::openssh::keys::{PrivateState, PublicFrom, Refusal, Rules, load_identity};
    let shown = paths::display_tilde(path);
    let resolved = sshconfig::resolve(host, &resolve_opts(target)).ok();
    let rules = resolved
        .as_ref()
        .map(|r| crate::probe::plan::HostSettings::from_resolved(host, r, &[]).rules())
        .unwrap_or_else(Rules::installed);
    let mut load = load_identity(path, &rules);
    // A mode ssh refuses ("UNPROTECTED PRIVATE KEY FILE") is fixed with chmod, not by another
    // -i: say so, and judge the content as ssh will once the mode is fixed (its permission
    // check applies only to the user's own files).
    let mut warning = None;
    if let PrivateState::Refused(Refusal::BadPermissions { mode }) = load.private {
        warning = Some(format!(
            "ssh refuses {shown} as it is (mode {mode:04o}: \"UNPROTECTED PRIVATE KEY FILE\"); \
             make it private with `chmod 600 {}`",
            crate::diagnose::sh_quote(&shown)
        ));
        load = load_identity(
            path,
            &Rules {
                uid: rules.uid.wrapping_add(1),
                ..rules.clone()
            },
        );
    }
    let usage = |why: &str| Err(Error::usage(format!("identity {shown} {why}")));
    let public_file =
        load.public_from == Some(PublicFrom::File) || load.format == Format::PublicKey;
    if !public_file {
        let refusal = match &load.private {
            PrivateState::Loads | PrivateState::NeedsPassphrase => {
                return Ok(IdentityCheck {
                    public: false,
                    warning,
                });
            }
            PrivateState::Refused(r) => r,
        };
        return match refusal {
            Refusal::Missing => Err(Error::usage(format!(
                "identity {} does not exist",
                path.display()
            ))),
            Refusal::IsDirectory { .. } => usage("is a directory, not a key"),
            Refusal::Blocks => usage("is a FIFO: ssh would wait on it forever"),
            Refusal::NotAFile => usage("is not a regular file"),
            Refusal::PermissionDenied => usage("cannot be read (permission denied), by ssh either"),
            Refusal::Putty(_) => usage(
                "is a PuTTY key, which ssh cannot load; convert it with \
                 `puttygen KEY -O private-openssh -o NEWKEY`",
            ),
            Refusal::Unsupported(what) => usage(&format!("is {what}, which this ssh cannot load")),
            Refusal::RsaTooSmall { bits, min } => usage(&format!(
                "is a {bits}-bit RSA key; this ssh refuses RSA keys under {min} bits"
            )),
            Refusal::InvalidFormat { .. }
            | Refusal::PublicKeyFile
            | Refusal::BadPermissions { .. } => usage(&format!(
                "is not a key ssh can load (neither a private key nor a public key or \
                 certificate){}",
                refusal
                    .ssh_message(path)
                    .map(|m| format!(": ssh says `{m}`"))
                    .unwrap_or_default()
            )),
        };
    }
    let Some(key) = load.public.clone() else {
        return match load.public_dropped_rsa_bits {
            Some(bits) => usage(&format!(
                "is a {bits}-bit RSA key; this ssh refuses RSA keys under {} bits",
                rules.min_rsa_bits()
            )),
            None => usage("is not a key ssh can load"),
        };
    };
    let cert = crate::fsutil::read_limited(path, crate::fsutil::FileKind::PublicKey)
        .ok()
        .and_then(|b| crate::openssh::keys::text::first_key_line(&b))
        .is_some_and(|l| matches!(l, crate::openssh::keys::text::KeyLine::Cert(_)));
    // The agent ssh would ask for this host (IdentityAgent, else SSH_AUTH_SOCK).
    let identity_agent = resolved.and_then(|r| r.identity_agent());
    let socket = agent::socket_path(identity_agent.as_deref());
    let state = super::validate::block_on(agent::list(socket.clone()))?;
    if state
        .keys()
        .iter()
        .any(|a| a.key.key_data() == key.key_data())
    {
        return Ok(IdentityCheck {
            public: true,
            warning: None,
        });
    }
    let private = private_for(path, cert);
    let what = if cert {
        "a certificate"
    } else {
        "a public key"
    };
    let agent_says = match &state {
        agent::AgentState::None => "no agent is available (SSH_AUTH_SOCK is not set)".to_string(),
        agent::AgentState::Unreachable { socket, error, .. } => {
            format!(
                "the agent at {} does not answer ({error})",
                socket.display()
            )
        }
        agent::AgentState::Keys { socket, .. } => {
            format!(
                "the agent at {} does not hold its private key",
                socket.display()
            )
        }
    };
    Err(Error::usage(format!(
        "identity {shown} is {what}, and {agent_says}, so ssh could not sign with it; give the \
         private key ({}) or load it with `ssh-add {}` first",
        paths::display_tilde(&private),
        paths::display_tilde(&private)
    )))
}

/// `id.pub` → `id`, `id-cert.pub` → `id`.
fn private_for(path: &Path, cert: bool) -> PathBuf {
    let s = path.to_string_lossy();
    let stem = if cert {
        s.strip_suffix("-cert.pub")
    } else {
        s.strip_suffix(".pub")
    };
    PathBuf::from(stem.unwrap_or(&s).to_string())
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
    fn targets_are_read_like_ssh_reads_them() {
        assert_eq!(target_host("git@heroku.com").unwrap(), "heroku.com");
        assert_eq!(target_host("heroku.com").unwrap(), "heroku.com");
        assert_eq!(target_host("::1").unwrap(), "::1");
        for bad in [
            "host:22",
            "git@host:22",
            "ssh://git@host:2222",
            "",
            "-oProxyCommand=x",
            "a b",
            "h;rm",
            "*.example.com",
            "a,b",
            "!a",
        ] {
            let e = target_host(bad).unwrap_err();
            assert_eq!(e.kind, crate::error::Kind::Usage, "{bad}: {}", e.message);
        }
        assert!(
            target_host("ssh://h:22")
                .unwrap_err()
                .message
                .contains("--set 'Port 22'")
        );
    }

    #[test]
    fn certificates_and_public_keys_name_their_private_key() {
        assert_eq!(
            private_for(Path::new("/k/id-cert.pub"), true),
            PathBuf::from("/k/id")
        );
        assert_eq!(
            private_for(Path::new("/k/id.pub"), false),
            PathBuf::from("/k/id")
        );
    }
}
