//! Cross-check of the local keys with the Heroku account's keys (`GET /account/keys`), for
//! probes of the platform's SSH host: it tells "the key is not on your account" (add it) from
//! "it is on your account but the server still refuses it" and "the server accepts it but it
//! is not on your account" (it belongs to another account).

use russh::keys::ssh_key::PublicKey;

use super::{Finding, Severity, is_heroku_host, sh_quote};
use crate::paths::display_tilde;
use crate::platform::{Client, Endpoint};
use crate::probe::client::Verdict;
use crate::probe::report::Report;

/// What the account check found.
#[derive(Debug, Clone)]
pub enum AccountKeys {
    /// No credentials: the check was not made (not an error: many hosts are not Heroku).
    NoCredentials,
    /// Credentials resolved but the API call failed.
    Failed(String),
    Keys {
        account: Option<String>,
        keys: Vec<PublicKey>,
    },
}

/// The SSH host of the platform this invocation talks to: `heroku.com` by default, the
/// `HEROKU_HOST` domain otherwise (so a local stand-in API pairs with a local sshd).
pub fn platform_ssh_host(endpoint: &Endpoint) -> String {
    endpoint.ssh_host.clone()
}

/// Is `host` where the platform's account keys apply?
pub fn is_platform_host(host: &str) -> bool {
    is_heroku_host(host) || host.eq_ignore_ascii_case(&platform_ssh_host(&Endpoint::from_env()))
}

/// Fetch the account's keys when credentials resolve. Blocking (the API client has its own
/// runtime): call it outside the probe's runtime.
pub fn fetch() -> AccountKeys {
    let creds = match crate::credentials::resolve() {
        Ok(Some(c)) => c,
        Ok(None) => return AccountKeys::NoCredentials,
        Err(e) => return AccountKeys::Failed(e.message),
    };
    let result = Client::new(&Endpoint::from_env(), &creds.token).and_then(|c| c.list_keys());
    match result {
        Ok(keys) => AccountKeys::Keys {
            account: creds.account,
            keys: keys
                .iter()
                .filter_map(|k| crate::sshkeys::parse_public_key_line(&k.public_key).ok())
                .collect(),
        },
        Err(e) => AccountKeys::Failed(e.message),
    }
}

/// Findings from comparing the probe's verdicts with the account's keys.
/// Plan entries the server accepts that are not on the user's account: another account's
/// keys (empty when the account's keys are not known).
pub fn foreign_keys(r: &Report, account: &AccountKeys) -> Vec<usize> {
    let AccountKeys::Keys { keys, .. } = account else {
        return Vec::new();
    };
    (0..r.plan.len())
        .filter(|&i| r.verdict(i) == Some(&Verdict::Accepted))
        .filter(|&i| {
            r.plan[i]
                .key
                .as_ref()
                .is_some_and(|k| !keys.iter().any(|a| a.key_data() == k.key_data()))
        })
        .collect()
}

pub fn findings(r: &Report, account: &AccountKeys) -> Vec<Finding> {
    let (name, keys) = match account {
        AccountKeys::NoCredentials => return Vec::new(),
        AccountKeys::Failed(e) => {
            return vec![Finding::new(
                "account-check-failed",
                Severity::Warning,
                format!("could not compare with the account's keys: {e}"),
            )];
        }
        AccountKeys::Keys { account, keys } => (
            account
                .clone()
                .unwrap_or_else(|| "your account".to_string()),
            keys,
        ),
    };
    let on_account = |k: &PublicKey| keys.iter().any(|a| a.key_data() == k.key_data());
    let mut out = Vec::new();
    // Another account's key getting in is no reason to keep quiet about the user's own.
    let any_accepted = (0..r.plan.len()).any(|i| {
        r.verdict(i) == Some(&Verdict::Accepted) && r.plan[i].key.as_ref().is_some_and(&on_account)
    });
    for (i, id) in r.plan.iter().enumerate() {
        let Some(key) = &id.key else { continue };
        let fp = crate::sshkeys::fingerprint_sha256(key);
        match (r.verdict(i), on_account(key)) {
            (Some(Verdict::Accepted), false) => out.push(
                Finding::new(
                    "key-in-use-by-another-account",
                    Severity::Error,
                    format!(
                        "{} ({fp}) is accepted by {} but is not on {name}: it belongs to another Heroku account",
                        id.label(),
                        r.settings.hostname
                    ),
                )
                .fix("herossh keygen -t ed25519 --upload"),
            ),
            (Some(Verdict::Rejected), true) => out.push(Finding::new(
                "key-on-account-not-accepted",
                Severity::Error,
                format!(
                    "{} ({fp}) is on {name} but {} rejects it",
                    id.label(),
                    r.settings.hostname
                ),
            )),
            _ => {}
        }
    }
    if !any_accepted
        && let Some(id) = r
            .plan
            .iter()
            .enumerate()
            .find(|(i, id)| {
                id.usable()
                    && r.verdict(*i) != Some(&Verdict::Accepted)
                    && id.key.as_ref().is_some_and(|k| !on_account(k))
            })
            .map(|(_, id)| id)
    {
        let pub_path = id
            .path
            .as_ref()
            .map(|p| sh_quote(&display_tilde(&crate::sshkeys::public_path_for(p))))
            .unwrap_or_else(|| "KEY.pub".into());
        out.push(
            Finding::new(
                "key-not-on-account",
                Severity::Error,
                format!("{} is not on {name}", id.label()),
            )
            .fix(format!("herossh keys add {pub_path}")),
        );
    }
    out
}
