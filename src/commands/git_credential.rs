//! `herossh git-credential get|store|erase|install|uninstall`: git's credential-helper
//! protocol for Heroku's git HTTPS host, answered from the credential resolver.

use serde_json::json;

use super::Ctx;
use crate::cli::GitCredentialArgs;
use crate::credentials::{self, git_helper};
use crate::error::{Error, Result};
use crate::platform::Endpoint;

pub fn run(ctx: &Ctx, args: &GitCredentialArgs) -> Result<()> {
    let endpoint = Endpoint::from_env();
    match args.operation.as_str() {
        "get" => get(&endpoint),
        // herossh does not keep passwords git hands it, but the request must still be read
        // so git never writes into a closed pipe.
        "store" | "erase" => git_helper::read_request(request_input()).map(|_| ()),
        "install" => install(ctx, &endpoint),
        "uninstall" => uninstall(ctx, &endpoint),
        other => {
            // gitcredentials(7): "If a helper receives any other operation, it should silently
            // ignore the request", so future git operations do not break.
            tracing::debug!("git-credential: ignoring unknown operation {other:?}");
            Ok(())
        }
    }
}

/// git's request on stdin, at most 1 MiB (git's own attribute lines are far shorter): a
/// runaway writer cannot fill the memory.
fn request_input() -> impl std::io::BufRead {
    use std::io::Read;
    std::io::stdin().lock().take(1 << 20)
}

fn get(endpoint: &Endpoint) -> Result<()> {
    let req = git_helper::read_request(request_input())?;
    if !git_helper::answers(&req, &endpoint.git_host) {
        tracing::debug!(
            "git-credential: not for https://{} ({:?}, {:?}), no answer",
            endpoint.git_host,
            req.protocol,
            req.host
        );
        return Ok(());
    }
    let creds = credentials::require()?;
    // Echo the host as git sent it (with its `:443`, if any), so git matches the answer.
    let host = req.host.as_deref().unwrap_or(&endpoint.git_host);
    let answer = git_helper::answer(host, &creds.token)?;
    // A failed write is reported by main (git hanging up first is a closed pipe: quiet).
    crate::ui::output::write(crate::ui::output::Stream::Stdout, answer.as_bytes());
    Ok(())
}

fn install(ctx: &Ctx, endpoint: &Endpoint) -> Result<()> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::failed(format!("cannot find the herossh binary's path: {e}")))?;
    let key = git_helper::config_key(&endpoint.git_host);
    let value = git_helper::helper_value(&exe);
    let change = git_helper::install(&key, &value)?;
    let shown = crate::ui::untrusted(&value);
    if change == git_helper::Change::AlreadyThere {
        ctx.ui.info(format!("Already installed: {key} = {shown}"));
    } else {
        ctx.ui.info(format!(
            "Installed in the global git config: {key} = {shown}"
        ));
    }
    report(ctx, &key, Some(&value), change == git_helper::Change::Done)
}

fn uninstall(ctx: &Ctx, endpoint: &Endpoint) -> Result<()> {
    let key = git_helper::config_key(&endpoint.git_host);
    let change = git_helper::uninstall(&key)?;
    if change == git_helper::Change::Done {
        ctx.ui.info(format!("Removed herossh's {key} entries"));
    } else {
        ctx.ui
            .info(format!("Not installed: no herossh entry under {key}"));
    }
    report(ctx, &key, None, change == git_helper::Change::Done)
}

/// `--json` of install/uninstall: `{key, value, changed}` (the human lines stay on stderr).
fn report(ctx: &Ctx, key: &str, value: Option<&str>, changed: bool) -> Result<()> {
    if ctx.ui.json {
        ctx.ui
            .emit_json(&json!({"key": key, "value": value, "changed": changed}))?;
    }
    Ok(())
}
