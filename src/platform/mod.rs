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
pub use errors::{ApiFailure, HTTP_OUTCOMES, code_for_status, kind_for_status};
pub use models::{Account, ApiErrorBody, Key};
pub use timeouts::{TIMEOUT_ENV, Timeouts};

/// Where the Platform API and Heroku's git HTTPS service live for this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Base URL of the API, without a trailing slash (`https://api.heroku.com`) and without
    /// any `user:password@` HEROKU_HOST carried (see `userinfo_dropped`).
    pub api_url: String,
    /// The netrc machine / keychain host for the API (`api.heroku.com`, or `127.0.0.1:PORT`).
    pub api_host: String,
    /// Heroku's git HTTPS host and its netrc machine (`git.heroku.com`; for a URL-form
    /// HEROKU_HOST the URL's `host[:port]`, as the Heroku CLI's `httpGitHost`).
    pub git_host: String,
    /// The platform's SSH host (`heroku.com`), for the checks that probe it.
    pub ssh_host: String,
    /// HEROKU_HOST held `user[:password]@`: never printed, never sent (the API token is the
    /// credential), and worth a warning.
    pub userinfo_dropped: bool,
}

impl Endpoint {
    /// From `HEROKU_HOST` and `HEROKU_GIT_HOST`.
    pub fn from_env() -> Self {
        let host = std::env::var("HEROKU_HOST").ok();
        let git = std::env::var("HEROKU_GIT_HOST").ok();
        Self::from_values(host.as_deref(), git.as_deref())
    }

    /// The rules (the Heroku CLI's `vars.ts`), without touching the environment:
    /// unset → `https://api.heroku.com`; `example.com` → `https://api.example.com`;
    /// a value starting with `http` is the API URL itself, and its `host[:port]` is the netrc
    /// machine of both the API and git (the Heroku CLI's `apiHost` and `httpGitHost` are both
    /// `url.parse(HEROKU_HOST).host` then, so one netrc entry serves both). Otherwise the git
    /// host is `git.<host>`. `HEROKU_GIT_HOST` overrides the git host either way.
    pub fn from_values(heroku_host: Option<&str>, git_host: Option<&str>) -> Self {
        let host = heroku_host
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .unwrap_or("heroku.com");
        let git_override = git_host
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_string);
        let mut userinfo_dropped = false;
        let (api_url, api_host, default_git, base_host) = if host.starts_with("http") {
            let (scheme, rest) = host.split_once("://").unwrap_or(("", host));
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            let authority = match authority.rsplit_once('@') {
                Some((_, after)) => {
                    userinfo_dropped = true;
                    after
                }
                None => authority,
            };
            // Host names are case-insensitive; Node's url.parse lower-cases them too.
            let authority = authority.to_ascii_lowercase();
            let url = if scheme.is_empty() {
                format!("{authority}{path}")
            } else {
                format!("{scheme}://{authority}{path}")
            };
            let bare = strip_port(&authority);
            let base = bare.strip_prefix("api.").unwrap_or(bare).to_string();
            let url = url.trim_end_matches('/').to_string();
            (url, authority.clone(), authority, base)
        } else {
            let base = host.strip_prefix("api.").unwrap_or(host).to_string();
            (
                format!("https://api.{base}"),
                format!("api.{base}"),
                format!("git.{base}"),
                base,
            )
        };
        let ssh_host = match &git_override {
            Some(g) => strip_port(g.strip_prefix("git.").unwrap_or(g)).to_string(),
            None => base_host,
        };
        Endpoint {
            api_url,
            api_host,
            git_host: git_override.unwrap_or(default_git),
            ssh_host,
            userinfo_dropped,
        }
    }

    /// Whether the API URL is plain `http://` to a host other than this machine: a token sent
    /// there can be read by anyone on the way.
    pub fn insecure(&self) -> bool {
        let Some(rest) = self.api_url.strip_prefix("http://") else {
            return false;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        !is_loopback(strip_port(authority))
    }
}

/// `host` without a trailing `:PORT` (an IPv6 literal keeps its brackets).
fn strip_port(authority: &str) -> &str {
    match authority.rsplit_once(':') {
        Some((h, port))
            if port.bytes().all(|b| b.is_ascii_digit())
                && (!h.contains(':') || h.ends_with(']')) =>
        {
            h
        }
        _ => authority,
    }
}

/// `localhost` (and its subdomains, RFC 6761), 127.0.0.0/8 and ::1.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

static INSECURE_HTTP_ALLOWED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// `--insecure`: let [`Client`] send the token over plain http to a host that is not loopback.
pub fn set_insecure_http_allowed(allowed: bool) {
    INSECURE_HTTP_ALLOWED.store(allowed, std::sync::atomic::Ordering::SeqCst);
}

pub(crate) fn insecure_http_allowed() -> bool {
    INSECURE_HTTP_ALLOWED.load(std::sync::atomic::Ordering::SeqCst)
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
        assert_eq!(e.ssh_host, "local");
        // The Heroku CLI's httpGitHost for a URL is url.parse(HEROKU_HOST).host.
        let e = Endpoint::from_values(Some("http://127.0.0.1:5000"), None);
        assert_eq!(e.git_host, "127.0.0.1:5000");
        assert_eq!(e.ssh_host, "127.0.0.1");
        let e = Endpoint::from_values(Some("https://api.Example.com/"), None);
        assert_eq!(
            (e.api_url.as_str(), e.api_host.as_str(), e.git_host.as_str()),
            (
                "https://api.example.com",
                "api.example.com",
                "api.example.com"
            )
        );
        assert_eq!(e.ssh_host, "example.com");
        assert_eq!(Endpoint::from_values(None, None).ssh_host, "heroku.com");
    }

    #[test]
    fn userinfo_is_dropped_everywhere() {
        let e = Endpoint::from_values(Some("http://bob:s3cret@127.0.0.1:5000/v3/"), None);
        assert!(e.userinfo_dropped);
        assert_eq!(e.api_url, "http://127.0.0.1:5000/v3");
        assert_eq!(e.api_host, "127.0.0.1:5000");
        assert_eq!(e.git_host, "127.0.0.1:5000");
        assert!(!format!("{e:?}").contains("s3cret"));
        assert!(!Endpoint::from_values(Some("http://127.0.0.1:5000"), None).userinfo_dropped);
    }

    #[test]
    fn plain_http_is_insecure_unless_loopback() {
        for (host, insecure) in [
            ("http://127.0.0.1:5000", false),
            ("http://127.8.9.10", false),
            ("http://localhost:80/x", false),
            ("http://api.localhost", false),
            ("http://[::1]:8080", false),
            ("http://example.com", true),
            ("http://10.0.0.1:5000", true),
            ("http://u:p@example.com", true),
            ("https://example.com", false),
            ("example.com", false),
        ] {
            assert_eq!(
                Endpoint::from_values(Some(host), None).insecure(),
                insecure,
                "{host}"
            );
        }
    }
}
