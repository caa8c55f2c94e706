//! `herossh auth status|whoami|token|login|logout`: the credential resolver and storage in
//! `crate::credentials`, shown and driven from the command line.

use serde_json::json;

use super::Ctx;
use crate::cli::{AuthAction, AuthArgs, LoginArgs};
use crate::credentials::{self, Secret, git_helper, storage};
use crate::error::{Error, Kind, Result};
use crate::platform::{Client, Endpoint};
use crate::ui;

pub fn run(ctx: &Ctx, args: &AuthArgs) -> Result<()> {
    match &args.action {
        AuthAction::Status => status(ctx),
        AuthAction::Whoami => whoami(ctx),
        AuthAction::Token => token(ctx),
        AuthAction::Login(a) => login(ctx, a),
        AuthAction::Logout => logout(ctx),
    }
}

/// Report every tier; exit 0 when the token works, 4 when there is none or the Platform API
/// rejects it, 3 when it could not be checked (unreachable, server error): `herossh auth
/// status || herossh auth login` then logs in again exactly when it has to.
fn status(ctx: &Ctx) -> Result<()> {
    let st = credentials::status()?;
    let warnings = st.warnings.clone();
    // The account: the API's answer when it can be reached, else what the tier recorded.
    let mut account = st.resolved.as_ref().and_then(|c| c.account.clone());
    let mut verified = None;
    let mut failure: Option<Error> = None;
    if let Some(c) = &st.resolved {
        let spinner = ctx
            .ui
            .spinner("Asking the Platform API who this token belongs to");
        let answer = Client::new(&st.endpoint, &c.token).and_then(|cl| cl.account());
        drop(spinner);
        match answer {
            Ok(a) => {
                account = Some(a.email);
                verified = Some(true);
            }
            Err(e) if e.kind == Kind::Auth => {
                verified = Some(false);
                let why = e.message.lines().next().unwrap_or_default().to_string();
                failure = Some(
                    Error::new(
                        e.kind,
                        format!(
                            "the Platform API rejected this token ({why}): log in again with \
                             `herossh auth login`"
                        ),
                    )
                    .with_code(e.code()),
                );
            }
            // Unreachable, or an answer that says nothing about the token (5xx, garbage, a
            // 4xx other than 401/403: GET /account does not refuse a good token that way):
            // status still reports what is stored, says why the account is unconfirmed, and
            // exits 3 — or 2 when the settings themselves are wrong (HEROSSH_TIMEOUT,
            // HEROKU_HOST), which no retry fixes.
            Err(e) => {
                tracing::debug!("auth status: account lookup failed: {e}");
                let why = e.message.lines().next().unwrap_or_default();
                let code = match e.kind {
                    Kind::Usage | Kind::Network => e.code(),
                    _ => "server_error",
                };
                failure = Some(
                    Error::new(e.kind, format!("could not confirm the account: {why}"))
                        .with_code(code),
                );
            }
        }
    } else {
        failure = Some(credentials::not_logged_in());
    }
    let keychain = match &st.keychain {
        Ok(name) => format!("available ({name})"),
        Err(why) => format!("unavailable: {why}"),
    };
    let source = st.resolved.as_ref().map(|c| c.source);

    if ctx.ui.json {
        ctx.ui.emit_json(&json!({
            "source": source,
            "account": account,
            "verified": verified,
            "api_host": st.endpoint.api_host,
            "stored": st.stored,
            "keychain": match &st.keychain {
                Ok(_) => "available".to_string(),
                Err(why) => format!("unavailable: {why}"),
            },
            "login_json_account": st.login_account,
            "netrc": st.netrc_path,
            "warnings": warnings,
            "error": failure.as_ref().map(|e| e.to_json()["error"].clone()),
        }))?;
    } else {
        let source_text = match source {
            Some(s) => serde_json::to_value(s)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            None => "none (not logged in)".to_string(),
        };
        ctx.ui.out(format!("Source:    {source_text}"));
        if let Some(a) = &account {
            let note = match verified {
                Some(true) => " (confirmed by the Platform API)",
                Some(false) => " (token rejected by the Platform API)",
                None => "",
            };
            ctx.ui.out(format!("Account:   {}{note}", ui::untrusted(a)));
        }
        if let Some(s) = &st.stored {
            ctx.ui.out(format!("Stored in: {}", ui::untrusted(s)));
        }
        ctx.ui.out(format!("API host:  {}", st.endpoint.api_host));
        ctx.ui
            .out(format!("Keychain:  {}", ui::untrusted(&keychain)));
        for w in &warnings {
            ctx.ui.warn(ui::untrusted(w));
        }
    }
    match failure {
        None => Ok(()),
        // The report says it; the error line repeats only what went wrong.
        Some(e) => Err(e),
    }
}

fn whoami(ctx: &Ctx) -> Result<()> {
    let creds = credentials::require()?;
    let endpoint = Endpoint::from_env();
    let account = Client::new(&endpoint, &creds.token)?
        .account()
        .map_err(|e| e.context("GET /account"))?;
    if ctx.ui.json {
        ctx.ui
            .emit_json(&json!({"email": account.email, "id": account.id}))
    } else {
        ctx.ui.out(ui::untrusted(&account.email));
        Ok(())
    }
}

fn token(ctx: &Ctx) -> Result<()> {
    let creds = credentials::require()?;
    if ctx.ui.json {
        ctx.ui
            .emit_json(&json!({"token": creds.token.expose(), "source": creds.source}))
    } else {
        ctx.ui.out(creds.token.expose());
        Ok(())
    }
}

/// The token to log in with: the flag, the first line of stdin, or a hidden prompt.
fn login_token(ctx: &Ctx, args: &LoginArgs) -> Result<Secret> {
    let raw = if let Some(t) = &args.token {
        t.clone()
    } else if args.token_stdin {
        ui::read_stdin_line(ui::STDIN_LINE_MAX)
            .map_err(|e| Error::usage(format!("cannot read the token from stdin: {e}")))?
    } else {
        ctx.ui.require_interactive(
            "login",
            "pass the token with --token-stdin (e.g. `heroku auth:token | herossh auth login --token-stdin`)",
        )?;
        crate::ui::password("Heroku API token", None, "use --token-stdin")?
    };
    let token = raw.trim();
    if token.is_empty() {
        return Err(Error::usage("the token is empty"));
    }
    Ok(Secret::new(token))
}

pub fn login(ctx: &Ctx, args: &LoginArgs) -> Result<()> {
    if std::env::var("HEROKU_API_KEY").is_ok_and(|k| !k.trim().is_empty()) {
        return Err(Error::usage(
            "Cannot log in with HEROKU_API_KEY set: unset it first (it would override the stored login)",
        ));
    }
    let token = login_token(ctx, args)?;
    let endpoint = Endpoint::from_env();
    let spinner = ctx.ui.spinner("Verifying the token with the Platform API");
    let account = Client::new(&endpoint, &token).and_then(|c| c.account());
    drop(spinner);
    let account = account.map_err(|e| e.context("verifying the token (GET /account)"))?;
    let stored = storage::store(&endpoint, &account.email, &token)?;
    let (kind, place) = match &stored {
        storage::Stored::Keychain(name, login_json) => (
            "keychain",
            format!(
                "the {name} (account {}, {})",
                account.email,
                crate::paths::display_tilde(login_json)
            ),
        ),
        storage::Stored::Netrc(path) => (
            "netrc",
            match netrc_machines(&endpoint) {
                (names, true) => {
                    format!("{} (machines {names})", crate::paths::display_tilde(path))
                }
                (name, false) => format!("{} (machine {name})", crate::paths::display_tilde(path)),
            },
        ),
    };
    if ctx.ui.json {
        ctx.ui
            .emit_json(&json!({"account": account.email, "stored": kind, "location": place}))
    } else {
        ctx.ui
            .out(format!("Logged in as {}", ui::untrusted(&account.email)));
        ctx.ui
            .info(format!("Token stored in {}", ui::untrusted(&place)));
        Ok(())
    }
}

/// The netrc machines login writes: api and git, or one when a URL-form HEROKU_HOST makes
/// them the same machine (as the Heroku CLI names them). Returns the names and whether there
/// are two, for "machines A and B" / "machine A".
fn netrc_machines(endpoint: &Endpoint) -> (String, bool) {
    if endpoint.api_host == endpoint.git_host {
        (endpoint.api_host.clone(), false)
    } else {
        (
            format!("{} and {}", endpoint.api_host, endpoint.git_host),
            true,
        )
    }
}

fn logout(ctx: &Ctx) -> Result<()> {
    let endpoint = Endpoint::from_env();
    let done = storage::forget(&endpoint)?;
    let key = git_helper::config_key(&endpoint.git_host);
    let helper = match git_helper::uninstall(&key) {
        Ok(change) => change == git_helper::Change::Done,
        Err(e) => {
            tracing::debug!("logout: git helper config left alone: {e}");
            false
        }
    };
    let mut removed = Vec::new();
    if let Some(a) = &done.keychain_account {
        removed.push(format!("the keychain item for {a}"));
    }
    if let Some(p) = &done.login_json {
        removed.push(crate::paths::display_tilde(p));
    }
    if let Some(p) = &done.netrc {
        let (names, two) = netrc_machines(&endpoint);
        let entries = if two { "entries" } else { "entry" };
        removed.push(format!(
            "the {names} {entries} of {}",
            crate::paths::display_tilde(p)
        ));
    }
    if helper {
        removed.push(format!("the git credential helper ({key})"));
    }
    if ctx.ui.json {
        ctx.ui
            .emit_json(&json!({"removed": removed, "problems": done.problems}))?;
    } else {
        if removed.is_empty() && done.problems.is_empty() {
            ctx.ui.info("Nothing to remove: not logged in");
        } else if !removed.is_empty() {
            ctx.ui
                .info(format!("Removed {}", ui::untrusted(&removed.join(", "))));
        }
        for p in &done.problems {
            ctx.ui.warn(ui::untrusted(p));
        }
    }
    if std::env::var("HEROKU_API_KEY").is_ok_and(|k| !k.trim().is_empty()) {
        ctx.ui
            .warn("HEROKU_API_KEY is still set: herossh will keep using it");
    }
    if done.problems.is_empty() {
        Ok(())
    } else {
        Err(Error::reported(Kind::Failed))
    }
}
