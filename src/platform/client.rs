//! The blocking Platform API client commands use.
//!
//! reqwest is async; herossh's commands are not. The client owns a current-thread tokio runtime
//! and its sync methods block on it, so callers need no async code and no runtime of their own
//! (and must not call it from inside one). Batch operations ([`Client::delete_keys`]) still run
//! their requests concurrently on that runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::Endpoint;
use super::errors::ApiFailure;
use super::models::{Account, Key};
use super::retry;
use super::timeouts::Timeouts;
use crate::credentials::Secret;
use crate::error::{Error, Result};

/// The media type that selects version 3 of the Platform API; without it Heroku refuses.
pub const ACCEPT_V3: &str = "application/vnd.heroku+json; version=3";

/// `herossh/<version>`, so Heroku can tell our traffic apart.
pub fn user_agent() -> String {
    format!("herossh/{}", env!("CARGO_PKG_VERSION"))
}

/// A Platform API session for one token.
pub struct Client {
    runtime: tokio::runtime::Runtime,
    inner: Arc<Inner>,
}

/// What a request needs; shared with the tasks of concurrent batches.
struct Inner {
    http: reqwest::Client,
    api_url: String,
    timeouts: Timeouts,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("api_url", &self.inner.api_url)
            .field("timeouts", &self.inner.timeouts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `endpoint` authenticated by `token`, with timeouts from `HEROSSH_TIMEOUT`
    /// (see [`Timeouts`]).
    pub fn new(endpoint: &Endpoint, token: &Secret) -> Result<Client> {
        Self::with_timeouts(endpoint, token, Timeouts::from_env()?)
    }

    /// Like [`Client::new`] with explicit timeouts (for callers and tests that must not depend
    /// on the environment).
    pub fn with_timeouts(
        endpoint: &Endpoint,
        token: &Secret,
        timeouts: Timeouts,
    ) -> Result<Client> {
        // A HEROKU_HOST that is not a URL is the user's to fix (exit 2), not a network error.
        reqwest::Url::parse(&endpoint.api_url).map_err(|e| {
            Error::usage(format!(
                "HEROKU_HOST gives the API URL {:?}, which is not a valid URL: {e}",
                endpoint.api_url
            ))
        })?;
        if endpoint.insecure() {
            if !super::insecure_http_allowed() {
                return Err(Error::usage(format!(
                    "refusing to send your Heroku API token over plain http to {}: anyone on \
                     the way could read it. Use https://, or pass --insecure if you mean it",
                    endpoint.api_url
                ))
                .with_code("insecure_transport"));
            }
            warn_once(&format!(
                "--insecure: sending your Heroku API token over plain http to {}",
                endpoint.api_url
            ));
        }
        if endpoint.userinfo_dropped {
            warn_once(
                "HEROKU_HOST holds a user name or password (not shown): herossh ignores it, \
                 the API token is the credential",
            );
        }
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", token.expose())).map_err(|_| {
                Error::auth(
                    "the Heroku API token contains characters not allowed in an HTTP header",
                )
            })?;
        // Keeps the token out of reqwest's and hyper's Debug output and logs.
        auth.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static(ACCEPT_V3));
        headers.insert(AUTHORIZATION, auth);
        let mut builder = reqwest::Client::builder()
            .user_agent(user_agent())
            .default_headers(headers)
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.total)
            // The Platform API answers in place; following a redirect elsewhere would only
            // hide a misconfigured HEROKU_HOST (a 3xx is reported as an unexpected response).
            .redirect(reqwest::redirect::Policy::none());
        if endpoint.api_url.starts_with("http://") {
            // Plain HTTP (a local stand-in or a test server) never checks a certificate, so
            // skip loading the system's root store: reading and parsing ~150 certificate files
            // is most of the start-up time of a command that talks to a local API.
            builder = builder.tls_certs_only(Vec::<reqwest::Certificate>::new());
        }
        let http = builder
            .build()
            .map_err(|e| Error::failed(format!("cannot set up the HTTP client: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::failed(format!("cannot start the async runtime: {e}")))?;
        Ok(Client {
            runtime,
            inner: Arc::new(Inner {
                http,
                api_url: endpoint.api_url.clone(),
                timeouts,
            }),
        })
    }

    /// `GET /account`: who the token belongs to.
    pub fn account(&self) -> Result<Account> {
        Ok(self
            .runtime
            .block_on(self.inner.call(Method::GET, "/account", None))?)
    }

    /// `GET /account/keys`.
    pub fn list_keys(&self) -> Result<Vec<Key>> {
        Ok(self
            .runtime
            .block_on(self.inner.call(Method::GET, "/account/keys", None))?)
    }

    /// `GET /account/keys` and `GET /account` at the same time: listing keys under the
    /// account's email then costs one round trip to Heroku instead of two. A failure of the
    /// key listing is reported first.
    pub fn list_keys_and_account(&self) -> Result<(Vec<Key>, Account)> {
        self.runtime.block_on(async {
            let (keys, account) = tokio::join!(
                self.inner.call(Method::GET, "/account/keys", None),
                self.inner.call(Method::GET, "/account", None)
            );
            Ok((keys?, account?))
        })
    }

    /// `POST /account/keys`. Retried only after a 429: see [`retry`].
    pub fn add_key(&self, public_key: &str) -> Result<Key> {
        Ok(self.try_add_key(public_key)?)
    }

    /// [`Client::add_key`] keeping the failure's status and API error id, for callers that
    /// explain particular refusals (a key in use by another account).
    pub fn try_add_key(&self, public_key: &str) -> Result<Key, ApiFailure> {
        let body = json!({ "public_key": public_key });
        self.runtime
            .block_on(self.inner.call(Method::POST, "/account/keys", Some(body)))
    }

    /// `DELETE /account/keys/{id_or_fingerprint}`.
    pub fn delete_key(&self, id_or_fingerprint: &str) -> Result<Key> {
        Ok(self
            .runtime
            .block_on(self.inner.clone().delete(id_or_fingerprint.to_string()))?)
    }

    /// Deletes several keys concurrently; one result per id, in the order given.
    pub fn delete_keys(&self, ids: &[String]) -> Vec<Result<Key>> {
        self.runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, id) in ids.iter().enumerate() {
                let inner = self.inner.clone();
                let id = id.clone();
                set.spawn(async move { (i, inner.delete(id).await) });
            }
            let mut results: Vec<Option<Result<Key>>> = vec![None; ids.len()];
            while let Some(joined) = set.join_next().await {
                match joined {
                    Ok((i, r)) => results[i] = Some(r.map_err(Error::from)),
                    // A task only ends without a result if it panicked; say so for that key.
                    Err(e) => tracing::debug!("delete task failed: {e}"),
                }
            }
            results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| Err(Error::failed("the delete request was lost"))))
                .collect()
        })
    }
}

impl Inner {
    async fn delete(self: Arc<Self>, id_or_fingerprint: String) -> Result<Key, ApiFailure> {
        let path = format!("/account/keys/{}", encode_segment(&id_or_fingerprint));
        self.call(Method::DELETE, &path, None).await
    }

    /// One API call with the retry policy of [`retry`].
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Result<T, ApiFailure> {
        let url = format!("{}{}", self.api_url, path);
        let idempotent = method != Method::POST;
        let mut slept = Duration::ZERO;
        let mut tried = 0;
        loop {
            tried += 1;
            let started = Instant::now();
            let mut request = self.http.request(method.clone(), &url);
            if let Some(b) = &body {
                // Also sets `Content-Type: application/json`.
                request = request.json(b);
            }
            let response = request
                .send()
                .await
                .map_err(|e| ApiFailure::transport(&e, &self.api_url, self.timeouts.total))?;
            let status = response.status().as_u16();
            let retry_after = retry::parse_retry_after(
                response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
            );
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(e) if e.is_timeout() => {
                    return Err(ApiFailure::transport(
                        &e,
                        &self.api_url,
                        self.timeouts.total,
                    ));
                }
                // The body broke off (connection closed before Content-Length was reached).
                Err(_) => return Err(ApiFailure::unexpected(status)),
            };
            tracing::debug!(
                "{method} {path} -> HTTP {status}, {} bytes in {} ms (try {tried})",
                bytes.len(),
                started.elapsed().as_millis()
            );
            if (200..300).contains(&status) {
                return serde_json::from_slice(&bytes).map_err(|e| {
                    tracing::debug!("{method} {path}: body is not the expected JSON: {e}");
                    ApiFailure::unexpected(status)
                });
            }
            if retry::may_retry(idempotent, status) {
                if let Some(delay) = retry::next_delay(tried, retry_after, slept) {
                    tracing::debug!("{method} {path}: retrying in {} ms", delay.as_millis());
                    tokio::time::sleep(delay).await;
                    slept += delay;
                    continue;
                }
            }
            return Err(ApiFailure::from_response(status, &bytes, retry_after));
        }
    }
}

/// A warning on stderr, once per run however many clients a command makes.
fn warn_once(text: &str) {
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|s| s == text) {
        said.push(text.to_string());
        crate::ui::output::stderr_line(&format!(" ›   Warning: {text}"));
    }
}

/// Percent-encodes a path segment, so a key argument like `a/b?c` cannot change the route.
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_ids_and_md5_fingerprints_and_escape_the_rest() {
        assert_eq!(
            encode_segment("01234567-89ab-cdef-0123-456789abcdef"),
            "01234567-89ab-cdef-0123-456789abcdef"
        );
        assert_eq!(encode_segment("aa:bb:cc"), "aa:bb:cc");
        assert_eq!(encode_segment("a/b?c d"), "a%2Fb%3Fc%20d");
    }

    #[test]
    fn an_invalid_api_url_is_a_usage_error() {
        for host in ["http://[::1", "https://exa mple.com"] {
            let e = Client::with_timeouts(
                &Endpoint::from_values(Some(host), None),
                &Secret::new("t"),
                Timeouts::default(),
            )
            .unwrap_err();
            assert_eq!(e.exit_code(), 2, "{host}");
            assert!(
                e.message.starts_with("HEROKU_HOST gives the API URL"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn plain_http_to_another_host_is_refused_without_insecure() {
        let e = Client::with_timeouts(
            &Endpoint::from_values(Some("http://user:pw@example.com"), None),
            &Secret::new("t"),
            Timeouts::default(),
        )
        .unwrap_err();
        assert_eq!((e.exit_code(), e.code()), (2, "insecure_transport"));
        assert_eq!(
            e.message,
            "refusing to send your Heroku API token over plain http to http://example.com: \
             anyone on the way could read it. Use https://, or pass --insecure if you mean it"
        );
    }

    #[test]
    fn token_with_newline_is_refused_without_echoing_it() {
        let e = Client::with_timeouts(
            &Endpoint::from_values(Some("http://127.0.0.1:9"), None),
            &Secret::new("abc\nsecret-part"),
            Timeouts::default(),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 4);
        assert!(!e.message.contains("secret-part"));
    }
}
