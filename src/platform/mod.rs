//! The Heroku Platform API client: base URL, headers, error mapping, retries, timeouts.
//!
//! `Endpoint` is the one place that turns `HEROKU_HOST` / `HEROKU_GIT_HOST` into URLs and host
//! names, exactly as the Heroku CLI does, because the same names key the netrc entries and the
//! git credential helper: if they disagreed, herossh and the Heroku CLI would not share logins.
//!
//! [`Client`] talks to the API (`client`), with the account's keys and how a person names
//! one (`account_keys`), typed objects (`models`), one error mapping
//! (`errors`), a retry policy for idempotent calls (`retry`) and timeouts (`timeouts`,
//! overridable with `HEROSSH_TIMEOUT`).

mod account_keys;
mod client;
mod errors;
mod models;
mod retry;
mod timeouts;

pub use account_keys::{AccountKey, KeyMatch, find as find_keys};
pub use client::{ACCEPT_V3, Client, user_agent};
pub use errors::{ApiFailure, kind_for_status};
pub use models::{Account, ApiErrorBody, Key};
pub use timeouts::{TIMEOUT_ENV, Timeouts};

/// Where the Platform API and Heroku's git HTTPS service live for this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL of the API, without a trailing slash (`https://api.heroku.com`).
    pub api_url: String,
    /// The netrc machine / keychain host for the API (`api.heroku.com`, or `127.0.0.1:PORT`).
    pub api_host: String,
    /// Heroku's git HTTPS host (`git.heroku.com`).
    pub git_host: String,
}

impl Endpoint {
    /// From `HEROKU_HOST` and `HEROKU_GIT_HOST`.
    pub fn from_env() -> Self {
        let host = std::env::var("HEROKU_HOST").ok();
        let git = std::env::var("HEROKU_GIT_HOST").ok();
        Self::from_values(host.as_deref(), git.as_deref())
    }

    /// The rules, without touching the environment:
    /// unset → `https://api.heroku.com`; `example.com` → `https://api.example.com`;
    /// a value starting with `http` is the API URL itself (its `host[:port]` is the netrc
    /// machine). The git host is `git.<host>` unless `HEROKU_GIT_HOST` says otherwise.
    pub fn from_values(heroku_host: Option<&str>, git_host: Option<&str>) -> Self {
        let host = heroku_host
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .unwrap_or("heroku.com");
        let (api_url, api_host, base_host) = if host.starts_with("http") {
            let url = host.trim_end_matches('/').to_string();
            let authority = url
                .split_once("://")
                .map(|(_, rest)| rest)
                .unwrap_or(&url)
                .split('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let bare = authority
                .rsplit_once(':')
                .map(|(h, _)| h.to_string())
                .unwrap_or_else(|| authority.clone());
            let base = bare.strip_prefix("api.").unwrap_or(&bare).to_string();
            (url, authority, base)
        } else {
            let base = host.strip_prefix("api.").unwrap_or(host).to_string();
            (format!("https://api.{base}"), format!("api.{base}"), base)
        };
        let git_host = git_host
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("git.{base_host}"));
        Endpoint {
            api_url,
            api_host,
            git_host,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_heroku_com() {
        let e = Endpoint::from_values(None, None);
        assert_eq!(e.api_url, "https://api.heroku.com");
        assert_eq!(e.api_host, "api.heroku.com");
        assert_eq!(e.git_host, "git.heroku.com");
    }

    #[test]
    fn domain_gets_api_and_git_prefixes() {
        let e = Endpoint::from_values(Some("example.heroku.com"), None);
        assert_eq!(e.api_url, "https://api.example.heroku.com");
        assert_eq!(e.api_host, "api.example.heroku.com");
        assert_eq!(e.git_host, "git.example.heroku.com");
    }

    #[test]
    fn url_form_is_used_as_is_and_keys_netrc_by_authority() {
        let e = Endpoint::from_values(Some("http://127.0.0.1:5000/"), Some("git.local"));
        assert_eq!(e.api_url, "http://127.0.0.1:5000");
        assert_eq!(e.api_host, "127.0.0.1:5000");
        assert_eq!(e.git_host, "git.local");
        let e = Endpoint::from_values(Some("http://127.0.0.1:5000"), None);
        assert_eq!(e.git_host, "git.127.0.0.1");
    }
}
