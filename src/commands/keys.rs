//! `herossh keys` and `keys add|remove|clear` (with the `keys:*` Heroku spellings).
//!
//! What the Heroku CLI gets wrong here is the reason these exist: the account header comes from
//! `GET /account` (not a key's deprecated `email`), a key without comment prints no
//! `undefined`, `add` works without `~/.ssh` and checks the file before any network call and
//! is idempotent, `remove` understands fingerprints and refuses to guess, and `clear` asks.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Ctx;
use crate::cli::{KeyType, KeysAddArgs, KeysClearArgs, KeysListArgs, KeysRemoveArgs};
use crate::credentials;
use crate::error::{Error, Kind, Result};
use crate::paths;
use crate::platform::{AccountKey, Client, Endpoint, KeyMatch, find_keys};
use crate::sshkeys::{self, KeySpec};
use crate::ui;

/// A client for the resolved token (exit 4 "not logged in" when there is none).
pub(super) fn client() -> Result<Client> {
    let creds = credentials::require()?;
    Client::new(&Endpoint::from_env(), &creds.token)
}

fn account_keys(client: &Client) -> Result<Vec<AccountKey>> {
    Ok(client
        .list_keys()?
        .into_iter()
        .map(AccountKey::new)
        .collect())
}

pub fn list(ctx: &Ctx, args: &KeysListArgs) -> Result<()> {
    let client = client()?;
    if ctx.ui.json {
        return ctx.ui.emit_json(&account_keys(&client)?);
    }
    let (keys, account) = client.list_keys_and_account()?;
    if keys.is_empty() {
        ctx.ui.info("You have no SSH keys.");
        return Ok(());
    }
    ctx.ui.out(
        ctx.ui
            .bold(&format!("=== {} keys", ui::untrusted(&account.email))),
    );
    for k in keys.into_iter().map(AccountKey::new) {
        ctx.ui.out(if args.long {
            format!(
                "{}  {}",
                ui::untrusted(k.key.public_key.trim()),
                sha256_or_note(&k)
            )
        } else {
            key_line(&k)
        });
    }
    Ok(())
}

/// `TYPE AAAAB3NzaC...lastten COMMENT  SHA256:...` — the Heroku CLI's abbreviation plus the
/// fingerprint people compare with `ssh-keygen -l`; no comment → nothing, not "undefined".
/// Every part comes from the API, so the line is escaped for the terminal.
fn key_line(k: &AccountKey) -> String {
    let mut fields = k.key.public_key.split_whitespace();
    let kind = fields.next().unwrap_or("?");
    let data = fields.next().unwrap_or("");
    let chars: Vec<char> = data.chars().collect();
    let short = if chars.len() > 20 {
        let head: String = chars[..10].iter().collect();
        let tail: String = chars[chars.len() - 10..].iter().collect();
        format!("{head}...{tail}")
    } else {
        data.to_string()
    };
    let mut line = format!("{kind} {short}");
    if let Some(c) = k.comment() {
        line.push(' ');
        line.push_str(c);
    }
    line.push_str("  ");
    line.push_str(&sha256_or_note(k));
    ui::untrusted(&line).into_owned()
}

fn sha256_or_note(k: &AccountKey) -> String {
    k.fingerprint_sha256
        .clone()
        .unwrap_or_else(|| "(the API's key text does not parse)".to_string())
}

/// `--json` of `keys add`: the key uploaded, or the one already there.
#[derive(Serialize)]
struct AddReport {
    added: Option<AccountKey>,
    already_present: Option<AccountKey>,
}

pub fn add(ctx: &Ctx, args: &KeysAddArgs) -> Result<()> {
    let client = client()?;
    let path = match &args.file {
        Some(f) => paths::expand_tilde_path(f),
        None => choose_key_file(ctx, args.yes)?,
    };
    upload(ctx, &client, &path)
}

/// Add the public key at `path` to the account: the whole of `keys add` once the file is
/// chosen, shared with `keygen --upload` so both check, deduplicate and explain the same way.
pub(super) fn upload(ctx: &Ctx, client: &Client, path: &Path) -> Result<()> {
    // Everything about the file is settled before the first request.
    let pasted = sshkeys::read_public_key_file(path)?;
    let local = &pasted.key;
    let sha256 = sshkeys::fingerprint_sha256(local);
    let md5 = sshkeys::fingerprint_md5(local);
    let shown = ui::untrusted(&paths::display_tilde(path)).into_owned();
    let line = local
        .to_openssh()
        .map_err(|e| Error::failed(format!("{shown}: cannot re-encode the key: {e}")))?;
    for note in &pasted.notes {
        ctx.ui.info(format!("{shown}: {note}"));
    }
    if let Some(w) = sshkeys::type_warning(&local.algorithm()) {
        ctx.ui.warn(w);
    }

    let existing = account_keys(client)?;
    if let Some(k) = existing.iter().find(|k| k.same_key_as(&sha256, &md5)) {
        ctx.ui.info(format!(
            "The SSH key {shown} ({sha256}) is already on your account; nothing to do."
        ));
        if ctx.ui.json {
            ctx.ui.emit_json(&AddReport {
                added: None,
                already_present: Some(k.clone()),
            })?;
        }
        return Ok(());
    }

    let message = format!("Uploading {shown} SSH key");
    let spinner = ctx.ui.spinner(message.clone());
    let uploaded = client.try_add_key(&line);
    match uploaded {
        Ok(key) => {
            finish(ctx, spinner, &message, "done");
            if ctx.ui.json {
                ctx.ui.emit_json(&AddReport {
                    added: Some(AccountKey::new(key)),
                    already_present: None,
                })?;
            }
            Ok(())
        }
        Err(failure) => {
            finish(ctx, spinner, &message, "failed");
            if failure.status == Some(422) && mentions_in_use(failure.api_message.as_deref()) {
                return Err(Error::failed(in_use_explanation(
                    &shown,
                    failure.error().message.as_str(),
                ))
                .with_code("key_in_use"));
            }
            Err(failure.into())
        }
    }
}

/// "Uploading X SSH key... done" on a terminal (the spinner's last frame) and off one (a plain
/// line), so scripts and logs see the same outcome.
fn finish(ctx: &Ctx, spinner: ui::Spinner, message: &str, outcome: &str) {
    if spinner.is_visible() {
        spinner.finish(outcome);
    } else {
        spinner.clear();
        ctx.ui.info(format!("{message}... {outcome}"));
    }
}

/// Heroku refuses a key used by another account with a 422 whose message says it exists or is
/// in use; the key is not on *this* account (checked before uploading), so that is the case.
fn mentions_in_use(api_message: Option<&str>) -> bool {
    api_message.is_some_and(|m| {
        let m = m.to_ascii_lowercase();
        ["already", "in use", "taken", "exists"]
            .iter()
            .any(|w| m.contains(w))
    })
}

fn in_use_explanation(shown: &str, api_error: &str) -> String {
    format!(
        "{api_error}\n\
         The key {shown} is already on another Heroku account. One SSH key can belong to only \
         one Heroku account, so this account needs its own key:\n  \
         herossh keygen -t ed25519 -f ~/.ssh/id_ed25519_heroku\n  \
         herossh keys add ~/.ssh/id_ed25519_heroku.pub\n\
         Then make ssh offer it for Heroku: herossh fix-config --host heroku.com -i ~/.ssh/id_ed25519_heroku"
    )
}

/// `keys add` without FILE: the one `~/.ssh/*.pub` (confirmed), a choice among several, or a
/// new key when there is none — asked on a terminal, `-y` accepting, refused otherwise.
fn choose_key_file(ctx: &Ctx, yes: bool) -> Result<PathBuf> {
    let ssh_dir = paths::ssh_dir();
    let candidates = sshkeys::discover_public_keys(&ssh_dir);
    match candidates.as_slice() {
        [] => offer_new_key(ctx, yes, &ssh_dir),
        [one] => {
            ctx.ui.info(format!(
                "Found an SSH public key at {}",
                ui::untrusted(&paths::display_tilde(one))
            ));
            if yes
                || ui::confirm(
                    "Would you like to upload it to Heroku?",
                    true,
                    "pass -y to upload it, or give the FILE to upload",
                )?
            {
                Ok(one.clone())
            } else {
                Err(Error::failed("nothing uploaded").with_code("cancelled"))
            }
        }
        several => {
            let names: Vec<String> = several
                .iter()
                .map(|p| ui::untrusted(&paths::display_tilde(p)).into_owned())
                .collect();
            if !ctx.ui.interactive {
                return Err(Error::usage(format!(
                    "several SSH public keys found; say which one to upload: \
                     herossh keys add FILE\n  {}",
                    names.join("\n  ")
                )));
            }
            let i = ui::select(
                "Which SSH key would you like to upload?",
                &names,
                "give the FILE to upload",
            )?;
            several
                .get(i)
                .cloned()
                .ok_or_else(|| Error::usage("no key chosen"))
        }
    }
}

/// No public key anywhere in `~/.ssh` (or no `~/.ssh` at all): make one with herossh's own
/// generator, the way `heroku keys:add` does with ssh-keygen (RSA, no passphrase).
fn offer_new_key(ctx: &Ctx, yes: bool, ssh_dir: &Path) -> Result<PathBuf> {
    let spec = KeySpec::new(KeyType::Rsa, None)?;
    let private = ssh_dir.join(format!("id_{}", spec.type_name()));
    let shown = paths::display_tilde(&private);
    let what = format!(
        "{}-bit {} key without passphrase at {shown}",
        spec.bits,
        spec.type_name().to_ascii_uppercase()
    );
    ctx.ui.info(format!(
        "Could not find an SSH public key in {}.",
        paths::display_tilde(ssh_dir)
    ));
    if !yes {
        if !ctx.ui.interactive {
            return Err(Error::usage(format!(
                "no SSH public key to upload; pass -y to generate a {what}, or make one \
                 yourself with `herossh keygen` and run `herossh keys add FILE.pub`"
            )));
        }
        if !ui::confirm(
            &format!("Would you like to generate a {what}?"),
            true,
            "pass -y",
        )? {
            return Err(Error::failed(
                "nothing uploaded; make a key with `herossh keygen`, then run `herossh keys add`",
            )
            .with_code("cancelled"));
        }
    }
    ctx.ui.info(format!("Generating a {what}"));
    let comment = format!("{}@{}", paths::local_user(), paths::hostname());
    let key = sshkeys::generate(spec, &comment)?;
    let written = sshkeys::write_key_pair(&private, &key, None, false)?;
    Ok(written.public)
}

/// `--json` of `keys remove` / `keys clear`.
#[derive(Serialize)]
struct RemoveReport {
    removed: Vec<AccountKey>,
    failed: Vec<FailedRemoval>,
}

#[derive(Serialize)]
struct FailedRemoval {
    key: AccountKey,
    error: String,
}

pub fn remove(ctx: &Ctx, args: &KeysRemoveArgs) -> Result<()> {
    let client = client()?;
    let keys = account_keys(&client)?;
    let chosen: Vec<usize> = match find_keys(&keys, &args.key) {
        KeyMatch::One(i) => vec![i],
        KeyMatch::SameComment(all) => {
            ctx.ui.info(format!(
                "{} SSH keys have the comment \"{}\":",
                all.len(),
                ui::untrusted(&args.key)
            ));
            for &i in &all {
                ctx.ui.info(format!("  {}", key_line(&keys[i])));
            }
            if !args.yes
                && !ui::confirm(
                    &format!("Remove all {} of them?", all.len()),
                    false,
                    "pass -y to remove them all, or name one by its SHA256 fingerprint",
                )?
            {
                return Err(Error::failed("nothing removed").with_code("cancelled"));
            }
            all
        }
        KeyMatch::Ambiguous(all) => {
            let lines: Vec<String> = all.iter().map(|&i| key_line(&keys[i])).collect();
            return Err(Error::failed(format!(
                "\"{}\" matches {} SSH keys; nothing removed. Name one by its comment, SHA256 \
                 fingerprint or id:\n  {}",
                ui::untrusted(&args.key),
                all.len(),
                lines.join("\n  ")
            ))
            .with_code("ambiguous_key"));
        }
        KeyMatch::NotFound => {
            let mut message = format!("SSH key {} not found", ui::untrusted(&args.key));
            if keys.is_empty() {
                message.push_str("; you have no SSH keys");
            } else {
                message.push_str(". Your SSH keys:");
                for k in &keys {
                    message.push_str(&format!("\n  {}", key_line(k)));
                }
            }
            return Err(Error::failed(message).with_code("key_not_found"));
        }
    };
    delete_and_report(ctx, &client, &keys, &chosen)
}

pub fn clear(ctx: &Ctx, args: &KeysClearArgs) -> Result<()> {
    let client = client()?;
    let keys = account_keys(&client)?;
    if keys.is_empty() {
        ctx.ui.info("You have no SSH keys.");
        if ctx.ui.json {
            ctx.ui.emit_json(&RemoveReport {
                removed: vec![],
                failed: vec![],
            })?;
        }
        return Ok(());
    }
    ctx.ui.info(format!(
        "This removes {} from your Heroku account:",
        count(keys.len())
    ));
    for k in &keys {
        ctx.ui.info(format!("  {}", key_line(k)));
    }
    if !args.yes {
        if !ctx.ui.interactive {
            return Err(Error::usage(
                "nothing removed: `keys clear` needs a terminal to confirm; pass -y to remove \
                 them all",
            ));
        }
        if !ui::confirm("Remove them all?", false, "pass -y")? {
            return Err(Error::failed("nothing removed").with_code("cancelled"));
        }
    }
    let all: Vec<usize> = (0..keys.len()).collect();
    delete_and_report(ctx, &client, &keys, &all)
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 SSH key".to_string()
    } else {
        format!("{n} SSH keys")
    }
}

/// Deletes `chosen` (concurrently when several), reports each outcome, and fails with the
/// first failure's class when any failed.
fn delete_and_report(
    ctx: &Ctx,
    client: &Client,
    keys: &[AccountKey],
    chosen: &[usize],
) -> Result<()> {
    let ids: Vec<String> = chosen.iter().map(|&i| keys[i].key.id.clone()).collect();
    let spinner = ctx.ui.spinner(format!("Removing {}", count(ids.len())));
    let results = client.delete_keys(&ids);
    spinner.clear();
    let mut report = RemoveReport {
        removed: vec![],
        failed: vec![],
    };
    let mut first_failure: Option<Kind> = None;
    for (&i, result) in chosen.iter().zip(results) {
        let k = &keys[i];
        match result {
            Ok(_) => {
                ctx.ui.info(format!("Removed {}", key_line(k)));
                report.removed.push(k.clone());
            }
            Err(e) => {
                ctx.ui.error(format!(
                    "could not remove {}: {}",
                    key_line(k),
                    ui::untrusted(&e.message.replace('\n', " "))
                ));
                first_failure.get_or_insert(e.kind);
                report.failed.push(FailedRemoval {
                    key: k.clone(),
                    error: e.message,
                });
            }
        }
    }
    if ctx.ui.json {
        ctx.ui.emit_json(&report)?;
    }
    match first_failure {
        Some(kind) => Err(Error::reported(kind)),
        None => Ok(()),
    }
}
