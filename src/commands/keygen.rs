//! `herossh keygen`: ssh-keygen's prompts and report, without its sharp edges. Every question
//! (file, overwrite, passphrase) is settled before the slow prime search starts, and off a
//! terminal nothing is asked: the flags decide or the command says which flag is missing.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Ctx;
use crate::cli::{FixConfigArgs, KeyType, KeygenArgs};
use crate::credentials::Secret;
use crate::error::{Error, Result};
use crate::paths;
use crate::sshkeys::{self, KeySpec};
use crate::ui;
use russh::keys::ssh_key::{Algorithm, EcdsaCurve, PublicKey};

/// What `--json` prints (field names are part of the documented interface).
#[derive(Debug, Serialize)]
struct KeygenReport {
    path: PathBuf,
    public_path: PathBuf,
    #[serde(rename = "type")]
    key_type: &'static str,
    bits: u32,
    fingerprint_sha256: String,
    fingerprint_md5: String,
    comment: String,
    encrypted: bool,
    /// `--upload` added the key to the account (or found it already there).
    uploaded: bool,
    /// The host `--pin` pinned the key for.
    pinned: Option<String>,
    /// Why `--upload` or `--pin` failed after the key was saved (`{code, message, exit}`).
    error: Option<serde_json::Value>,
}

pub fn run(ctx: &Ctx, args: &KeygenArgs) -> Result<()> {
    // What --upload needs is settled before the slow part: no token → fail before generating.
    let client = if args.upload {
        Some(super::keys::client()?)
    } else {
        None
    };
    if args.pin.as_deref().is_some_and(|h| h.trim().is_empty()) {
        return Err(Error::usage("--pin needs a host name"));
    }
    let spec = KeySpec::new(args.key_type, args.bits)?;
    let ui = &ctx.ui;
    let comment = args
        .comment
        .clone()
        .unwrap_or_else(|| format!("{}@{}", paths::local_user(), paths::hostname()));
    if comment.chars().any(char::is_control) {
        // A line break would split the .pub file into two lines that are both invalid.
        return Err(Error::usage(
            "the comment (-C) must be a single line without control characters",
        ));
    }

    ui.info(format!(
        "Generating public/private {} key pair.",
        spec.type_name()
    ));
    warn_about_type(ctx, spec.key_type);

    let path = choose_path(ctx, args, &spec)?;
    sshkeys::check_parent_dir(&path)?;
    let overwrite = confirm_overwrite(ctx, args, &path)?;
    let passphrase = choose_passphrase(ctx, args)?;

    let spinner = (spec.key_type == KeyType::Rsa).then(|| {
        ui.spinner(format!(
            "Searching for {}-bit RSA primes on {} threads",
            spec.bits,
            sshkeys::rsa_search_threads()
        ))
    });
    let generated = sshkeys::generate(spec, &comment);
    if let Some(s) = spinner {
        s.clear();
    }
    let key = generated?;

    let pass = passphrase.as_ref().map(Secret::expose);
    let written = sshkeys::write_key_pair(&path, &key, pass, overwrite)?;
    let public = key.public_key();
    let mut report = KeygenReport {
        path: written.private.clone(),
        public_path: written.public.clone(),
        key_type: sshkeys::key_type_label(public),
        bits: sshkeys::key_bits(public),
        fingerprint_sha256: sshkeys::fingerprint_sha256(public),
        fingerprint_md5: sshkeys::fingerprint_md5(public),
        comment: comment.clone(),
        encrypted: pass.is_some_and(|p| !p.is_empty()),
        uploaded: false,
        pinned: None,
        error: None,
    };
    if !ui.json {
        print_report(ctx, args, &report, public);
    }
    // The follow-up steps report on stderr only, so `--json` stays one document on stdout.
    let quiet = Ctx {
        ui: ui::Ui {
            json: false,
            ..ctx.ui.clone()
        },
        verbose: ctx.verbose,
    };
    let mut outcome = Ok(());
    if let Some(client) = &client {
        outcome = super::keys::upload(&quiet, client, &written.public);
        report.uploaded = outcome.is_ok();
    }
    if let (Some(host), true) = (&args.pin, outcome.is_ok()) {
        let fix = FixConfigArgs {
            host: host.clone(),
            identity: Some(written.private.clone()),
            config: None,
            hostname: None,
            dry_run: false,
        };
        outcome = super::fix_config::pin(&quiet, &fix, &written.private);
        if outcome.is_ok() {
            report.pinned = Some(host.clone());
        }
    }
    let outcome = outcome.map_err(|e| {
        e.context(format!(
            "the key was saved in {}, but",
            written.private.display()
        ))
    });
    if ui.json {
        report.error = outcome.as_ref().err().map(|e| e.to_json()["error"].clone());
        ui.emit_json(&report)?;
    }
    outcome
}

/// ssh-keygen's report: where the files went, the fingerprint and the randomart.
fn print_report(ctx: &Ctx, args: &KeygenArgs, report: &KeygenReport, public: &PublicKey) {
    let ui = &ctx.ui;
    ui.out(format!(
        "Your identification has been saved in {}",
        ui::untrusted_path(&report.path)
    ));
    ui.out(format!(
        "Your public key has been saved in {}",
        ui::untrusted_path(&report.public_path)
    ));
    ui.out("The key fingerprint is:");
    ui.out(format!(
        "{} {}",
        sshkeys::fingerprint(public, args.hash),
        report.comment
    ));
    ui.out("The key's randomart image is:");
    ui.out(sshkeys::randomart(public, args.hash));
}

/// Keys that will be generated but then not work where people expect them to (the same
/// words `keys add` uses for such a key).
fn warn_about_type(ctx: &Ctx, key_type: KeyType) {
    let algorithm = match key_type {
        KeyType::Dsa => Algorithm::Dsa,
        KeyType::Ecdsa => Algorithm::Ecdsa {
            curve: EcdsaCurve::NistP256,
        },
        KeyType::Rsa | KeyType::Ed25519 => return,
    };
    if let Some(w) = sshkeys::type_warning(&algorithm) {
        ctx.ui.warn(w);
    }
}

/// `-f FILE` (tilde expanded), else ask on a terminal with `~/.ssh/id_<type>` as the default,
/// else that default.
fn choose_path(ctx: &Ctx, args: &KeygenArgs, spec: &KeySpec) -> Result<PathBuf> {
    if let Some(f) = &args.file {
        return Ok(paths::expand_tilde_path(f));
    }
    let default = paths::ssh_dir().join(format!("id_{}", spec.type_name()));
    if !ctx.ui.interactive {
        return Ok(default);
    }
    let answer = ui::text(
        &format!(
            "Enter file in which to save the key ({})",
            paths::display_tilde(&default)
        ),
        "",
        "pass -f FILE",
    )?;
    let answer = answer.trim();
    Ok(if answer.is_empty() {
        default
    } else {
        paths::expand_tilde_path(Path::new(answer))
    })
}

/// Whether an existing key may be replaced: `--force`, or a yes on the terminal; off a
/// terminal an existing file is an error naming `--force`. Nothing exists → no question.
fn confirm_overwrite(ctx: &Ctx, args: &KeygenArgs, path: &Path) -> Result<bool> {
    let public = sshkeys::public_path_for(path);
    let existing = [path, public.as_path()]
        .into_iter()
        .find(|p| std::fs::symlink_metadata(p).is_ok());
    let Some(existing) = existing else {
        return Ok(false);
    };
    if args.force {
        return Ok(true);
    }
    if !ctx.ui.interactive {
        return Err(Error::usage(format!(
            "{} already exists; pass --force to overwrite it",
            existing.display()
        ))
        .with_code("file_exists"));
    }
    if ui::confirm(
        &format!("{} already exists.\nOverwrite", existing.display()),
        false,
        "pass --force",
    )? {
        Ok(true)
    } else {
        Err(Error::failed(format!(
            "kept the existing {}; nothing was written",
            existing.display()
        ))
        .with_code("cancelled"))
    }
}

/// The passphrase, from (in order) `-N`, `--no-passphrase`, `--passphrase-stdin`, the
/// terminal prompt (twice, hidden). `None` or empty means an unencrypted key.
fn choose_passphrase(ctx: &Ctx, args: &KeygenArgs) -> Result<Option<Secret>> {
    if let Some(p) = &args.passphrase {
        return Ok(Some(Secret::new(p.clone())));
    }
    if args.no_passphrase {
        return Ok(None);
    }
    if args.passphrase_stdin {
        if std::io::stdin().is_terminal() {
            // Reading a line from the terminal would echo the passphrase for all to see.
            return Err(Error::usage(
                "--passphrase-stdin reads a pipe, but standard input is a terminal; leave the \
                 flag out to be asked with hidden input",
            ));
        }
        let line = ui::read_stdin_line(ui::STDIN_LINE_MAX)
            .map_err(|e| Error::usage(format!("cannot read the passphrase from stdin: {e}")))?;
        if line.is_empty() {
            return Err(Error::usage(
                "--passphrase-stdin: standard input is empty (an empty line means no passphrase)",
            ));
        }
        let trimmed = line.strip_suffix('\n').unwrap_or(&line);
        let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
        return Ok(Some(Secret::new(trimmed)));
    }
    if !ctx.ui.interactive {
        return Err(Error::usage(
            "no terminal to ask for a passphrase; pass --passphrase-stdin (passphrase on the \
             first line of stdin), or --no-passphrase (or -N '') for an unencrypted key",
        ));
    }
    let pass = ui::password(
        "Enter passphrase (empty for no passphrase)",
        Some("Enter same passphrase again"),
        "pass --passphrase-stdin or --no-passphrase",
    )?;
    Ok(Some(Secret::new(pass)))
}
