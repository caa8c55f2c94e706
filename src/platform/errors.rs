//! Turning what went wrong on the wire into an [`Error`] a person can act on.
//!
//! One mapping for every call ([`code_for_status`], documented by [`HTTP_OUTCOMES`] in the
//! man page and README): the API's own `{id, message}` becomes the message plus `Error ID:
//! <id>` (what Heroku support asks for), and the HTTP outcome decides the error code and so
//! the exit code. 401/403 are authentication (4); whatever says the server or the way to it
//! failed — no answer, 5xx, 429, a proxy's 407/408, a redirect (the Platform API never
//! redirects; a captive portal or a wrong HEROKU_HOST does) and a success status whose body is
//! not the API's JSON (an HTML page) — is network/server (3); any other 4xx (400, 404, 409,
//! 422, ...) is the API refusing the request itself (1). Nothing here ever sees the token:
//! requests carry it in a header that no message quotes.

use std::time::Duration;

use super::models::ApiErrorBody;
use crate::error::{Error, Kind};

/// Why a Platform API call failed. Converts into the user-facing [`Error`]; commands that must
/// react to a particular failure (a 422 on upload, a 404 on delete) look at `status` and `id`
/// instead of parsing the message.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    /// The HTTP status when the server answered at all.
    pub status: Option<u16>,
    /// The API's error id (`invalid_params`, `not_found`, ...) when the body was its error JSON.
    pub id: Option<String>,
    /// The API's own message, as sent.
    pub api_message: Option<String>,
    error: Error,
}

impl ApiFailure {
    /// The error to report.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// A failed response: the API's error JSON when there is one, otherwise "unexpected".
    pub(crate) fn from_response(status: u16, body: &[u8], retry_after: Option<u64>) -> Self {
        let Ok(api) = serde_json::from_slice::<ApiErrorBody>(body) else {
            return Self::unexpected(status);
        };
        if (300..400).contains(&status) {
            return Self::unexpected(status);
        }
        let mut message = format!("{}\nError ID: {}", api.message.trim(), api.id);
        if let Some(url) = api.url.as_deref().filter(|u| !u.is_empty()) {
            message.push_str(&format!("\nSee {url}"));
        }
        match status {
            401 => message.push_str(
                "\nThe Platform API refused your token: log in again with `herossh auth login`, \
                 or check HEROKU_API_KEY.",
            ),
            429 => {
                if let Some(secs) = retry_after {
                    message.push_str(&format!("\nTry again in {secs} s."));
                }
            }
            _ => {}
        }
        ApiFailure {
            status: Some(status),
            id: Some(api.id),
            api_message: Some(api.message),
            error: Error::new(Kind::Failed, message).with_code(code_for_status(status)),
        }
    }

    /// A body that is not what the API sends (not JSON, truncated, wrong shape, an HTML page).
    /// On a success status the server is at fault, so it counts as a server error; a redirect
    /// says HEROKU_HOST (or a proxy, or a captive portal) is not the API.
    pub(crate) fn unexpected(status: u16) -> Self {
        let code = if (200..300).contains(&status) {
            "server_error"
        } else {
            code_for_status(status)
        };
        let mut message = format!("unexpected response from the Platform API (HTTP {status})");
        if code == "redirect" {
            message.push_str(
                ": it redirects elsewhere, so HEROKU_HOST does not name the Platform API (or a \
                 proxy or captive portal answered)",
            );
        }
        ApiFailure {
            status: Some(status),
            id: None,
            api_message: None,
            error: Error::new(Kind::Failed, message).with_code(code),
        }
    }

    /// The request never got a complete answer: refused, DNS, TLS, timeout.
    pub(crate) fn transport(err: &reqwest::Error, api_url: &str, total: Duration) -> Self {
        let message = if err.is_timeout() {
            format!(
                "the Platform API at {api_url} did not answer within {} \
                 (set HEROSSH_TIMEOUT to the number of seconds to wait)",
                human_duration(total)
            )
        } else if err.is_connect() {
            let cause = root_cause(err);
            match untrusted_certificate(&cause) {
                Some(why) => format!(
                    "cannot connect to the Platform API at {api_url}: its TLS certificate is \
                     not trusted ({why}); if a proxy intercepts HTTPS, add its CA certificate \
                     to the system trust store or point SSL_CERT_FILE at a bundle holding it"
                ),
                // hyper-rustls's words when the peer hangs up before the handshake completes.
                None if cause == "tls handshake eof" => format!(
                    "cannot connect to the Platform API at {api_url}: the connection closed \
                     during the TLS handshake (is something other than an HTTPS server, or a \
                     proxy, answering there?)"
                ),
                None => format!("cannot connect to the Platform API at {api_url}: {cause}"),
            }
        } else {
            format!(
                "request to the Platform API at {api_url} failed: {}",
                root_cause(err)
            )
        };
        ApiFailure {
            status: None,
            id: None,
            api_message: None,
            error: Error::network(message).with_code("network"),
        }
    }
}

impl From<ApiFailure> for Error {
    fn from(f: ApiFailure) -> Error {
        f.error
    }
}

/// The error code (see `error::CODES`, which gives its exit code) of an HTTP status that is
/// not a success with the expected body. The one mapping every API call uses.
pub fn code_for_status(status: u16) -> &'static str {
    match status {
        401 => "unauthorized",
        403 => "forbidden",
        429 => "rate_limited",
        // Proxy authentication and request timeouts are about the way to the API.
        407 | 408 => "network",
        300..=399 => "redirect",
        400..=499 => "api_refused",
        // 5xx, 1xx, and statuses no server should send.
        _ => "server_error",
    }
}

/// The exit-code class of an HTTP error status (from [`code_for_status`]).
pub fn kind_for_status(status: u16) -> Kind {
    Error::failed("").with_code(code_for_status(status)).kind
}

/// The documented mapping, one row per outcome: (HTTP outcome, error code, exit code). The man
/// page and README print it; a unit test checks it against [`code_for_status`].
pub const HTTP_OUTCOMES: &[(&str, &str, u8)] = &[
    ("2xx with the API's JSON", "-", 0),
    (
        "2xx with another body (an HTML page, truncated JSON)",
        "server_error",
        3,
    ),
    ("3xx (redirects are not followed)", "redirect", 3),
    ("401", "unauthorized", 4),
    ("403", "forbidden", 4),
    ("407, 408", "network", 3),
    ("429 (after the retries)", "rate_limited", 3),
    ("other 4xx (400, 404, 409, 422, ...)", "api_refused", 1),
    ("5xx and any other status", "server_error", 3),
    (
        "no answer (DNS, refused, timeout, TLS, hang-up)",
        "network",
        3,
    ),
];

/// The innermost cause ("Connection refused (os error 111)"), which is what tells the person
/// what happened; reqwest's outer layers only repeat the URL.
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// rustls reports a rejected certificate as `invalid peer certificate: <Debug of its enum>`
/// (`UnknownIssuer`, `Other(OtherError(CaUsedAsEndEntity))`, ...). Say in words what the
/// innermost variant means; None when the cause is not a certificate rejection.
fn untrusted_certificate(cause: &str) -> Option<String> {
    let detail = cause.strip_prefix("invalid peer certificate: ")?;
    let variant = detail
        .split(|c: char| !c.is_ascii_alphanumeric())
        .rfind(|w| !w.is_empty())
        .unwrap_or(detail);
    Some(
        match variant {
            "UnknownIssuer" => "issued by an authority this system does not trust",
            "Expired" | "ExpiredContext" => "expired",
            "NotValidYet" | "NotValidYetContext" => "not valid yet",
            "NotValidForName" | "NotValidForNameContext" => "not issued for this host name",
            "Revoked" => "revoked",
            "CaUsedAsEndEntity" => "a CA certificate presented as the server's own",
            "BadSignature" => "its signature does not verify",
            other => other,
        }
        .to_string(),
    )
}

fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs.fract() == 0.0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{secs:.1} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classes_follow_design() {
        for (status, kind) in [
            (401, Kind::Auth),
            (403, Kind::Auth),
            (404, Kind::Failed),
            (422, Kind::Failed),
            (400, Kind::Failed),
            (301, Kind::Network),
            (302, Kind::Network),
            (307, Kind::Network),
            (407, Kind::Network),
            (429, Kind::Network),
            (500, Kind::Network),
            (503, Kind::Network),
            (102, Kind::Network),
        ] {
            assert_eq!(kind_for_status(status), kind, "HTTP {status}");
        }
    }

    #[test]
    fn documented_table_matches_the_mapping() {
        let code_exit = |code: &str| {
            crate::error::CODES
                .iter()
                .find(|(c, ..)| *c == code)
                .map(|(_, e, _)| *e)
        };
        for (statuses, code) in [
            (&[401][..], "unauthorized"),
            (&[403], "forbidden"),
            (&[407, 408], "network"),
            (&[429], "rate_limited"),
            (&[300, 302, 307, 308], "redirect"),
            (&[400, 404, 409, 410, 422], "api_refused"),
            (&[500, 502, 503, 599, 100], "server_error"),
        ] {
            for &s in statuses {
                assert_eq!(code_for_status(s), code, "HTTP {s}");
            }
        }
        for (what, code, exit) in HTTP_OUTCOMES {
            if *code != "-" {
                assert_eq!(code_exit(code), Some(*exit), "{what}");
            }
        }
        assert_eq!(ApiFailure::unexpected(200).error().code(), "server_error");
        assert_eq!(ApiFailure::unexpected(302).error().code(), "redirect");
        assert_eq!(ApiFailure::unexpected(302).error().exit_code(), 3);
    }

    #[test]
    fn api_error_json_gives_message_and_error_id() {
        let f = ApiFailure::from_response(
            422,
            br#"{"id":"invalid_params","message":"Key is invalid.","url":"https://x/y"}"#,
            None,
        );
        assert_eq!(
            f.error().message,
            "Key is invalid.\nError ID: invalid_params\nSee https://x/y"
        );
        assert_eq!(f.error().kind, Kind::Failed);
        assert_eq!(f.id.as_deref(), Some("invalid_params"));
        assert_eq!(f.status, Some(422));
    }

    #[test]
    fn non_json_bodies_are_unexpected_responses() {
        let f = ApiFailure::from_response(502, b"<html>Bad gateway</html>", None);
        assert_eq!(
            f.error().message,
            "unexpected response from the Platform API (HTTP 502)"
        );
        assert_eq!(f.error().kind, Kind::Network);
        assert_eq!(ApiFailure::unexpected(200).error().kind, Kind::Network);
        assert_eq!(ApiFailure::unexpected(404).error().kind, Kind::Failed);
        // A redirect's body may be JSON too: it is still not the API answering.
        let f = ApiFailure::from_response(302, br#"{"id":"x","message":"moved"}"#, None);
        assert_eq!(f.error().code(), "redirect");
    }

    #[test]
    fn rate_limit_says_when_to_come_back() {
        let f = ApiFailure::from_response(
            429,
            br#"{"id":"rate_limit","message":"Your account reached the API rate limit"}"#,
            Some(60),
        );
        assert_eq!(
            f.error().message,
            "Your account reached the API rate limit\nError ID: rate_limit\nTry again in 60 s."
        );
    }

    #[test]
    fn certificate_rejections_read_as_words() {
        assert_eq!(
            untrusted_certificate("invalid peer certificate: UnknownIssuer").as_deref(),
            Some("issued by an authority this system does not trust")
        );
        assert_eq!(
            untrusted_certificate("invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))")
                .as_deref(),
            Some("a CA certificate presented as the server's own")
        );
        assert_eq!(
            untrusted_certificate("invalid peer certificate: SomethingNew").as_deref(),
            Some("SomethingNew")
        );
        assert_eq!(
            untrusted_certificate("Connection refused (os error 111)"),
            None
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(30)), "30 s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
    }
}
