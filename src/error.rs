//! The one error type every command returns, and its mapping to exit codes.
//!
//! DESIGN.md fixes the exit codes so scripts can branch on them: 0 success, 1 the check failed
//! (the thing is wrong), 2 usage error, 3 network or server error, 4 authentication. Keeping the
//! code next to the message means no command can print one kind of failure and exit with another.
//!
//! Every error also has a stable machine-readable `code` (the `--json` error object's
//! `{"error": {"code", "message", "exit"}}`): the kind's own code (`failed`, `usage`,
//! `network`, `auth`) unless the place that knows better set a precise one with
//! [`Error::with_code`]. [`CODES`] lists them all; the man page and README document them.

use std::fmt;

use serde::Serialize;

/// Why a command failed, which decides the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The check ran and the answer is "no" (exit 1).
    Failed,
    /// The command line or the interaction was wrong (exit 2).
    Usage,
    /// The network or a server failed us (exit 3).
    Network,
    /// No credentials, or the server refused them (exit 4).
    Auth,
}

impl Kind {
    /// The code an error of this kind has when nothing more precise was said.
    pub fn code(self) -> &'static str {
        match self {
            Kind::Failed => "failed",
            Kind::Usage => "usage",
            Kind::Network => "network",
            Kind::Auth => "auth",
        }
    }

    pub fn exit_code(self) -> u8 {
        match self {
            Kind::Failed => 1,
            Kind::Usage => 2,
            Kind::Network => 3,
            Kind::Auth => 4,
        }
    }
}

/// A failure with a message for the user. `message` is printed as `herossh: <message>`;
/// an empty message means the command already reported the failure itself (e.g. a validate
/// report that ends in "denied") and only the exit code is left to give.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    /// A precise code (one of [`CODES`]); `None` means the kind's code.
    code: Option<&'static str>,
}

/// Every error code herossh prints in `--json` error objects, with its exit code and meaning.
/// Stable: scripts branch on them. A test checks every code used in the sources is listed.
#[rustfmt::skip]
pub const CODES: &[(&str, u8, &str)] = &[
    ("failed", 1, "the check failed or the thing is wrong (no more precise code)"),
    ("file_error", 1, "a local file cannot be read or written"),
    ("not_a_regular_file", 1, "a file to write is a device, FIFO, socket or directory"),
    ("invalid_key", 1, "the key file or pasted key is not a usable public key"),
    ("key_not_found", 1, "no key on the account matches"),
    ("ambiguous_key", 1, "several keys on the account match; nothing was changed"),
    ("key_in_use", 1, "the key belongs to another Heroku account"),
    ("api_refused", 1, "the Platform API refused the request itself (400, 404, 422, other 4xx)"),
    ("cancelled", 1, "the answer to a question was no; nothing was changed"),
    ("output_error", 1, "standard output or standard error could not be written"),
    ("usage", 2, "the command line, the environment or the interaction is wrong"),
    ("file_exists", 2, "the file to create exists and nothing said to replace it (--force)"),
    ("insecure_transport", 2, "a token would go over plain http to a host that is not loopback"),
    ("network", 3, "the Platform API could not be reached (DNS, refused, timeout, TLS)"),
    ("server_error", 3, "the Platform API failed (5xx) or answered something that is not its JSON"),
    ("redirect", 3, "the Platform API answered with a redirect (3xx): HEROKU_HOST is not the API"),
    ("rate_limited", 3, "the Platform API's rate limit is exhausted (429)"),
    ("auth", 4, "no credentials, or credentials that cannot be used"),
    ("not_logged_in", 4, "no token in any tier (HEROKU_API_KEY, keychain, netrc)"),
    ("unauthorized", 4, "the Platform API rejected the token (401)"),
    ("forbidden", 4, "the Platform API refused this account (403: forbidden, suspended)"),
];

/// The top-level `--help` / man page text about outcomes: exit codes, the HTTP mapping and
/// the `--json` error codes, generated from the tables the code itself uses.
pub fn long_help() -> String {
    let mut t = String::from(
        "Exit codes: 0 success, 1 the check failed, 2 usage error, 3 network or server error, \
         4 authentication.\n\n\
         Platform API outcomes, the same for every command (HTTP outcome: error code, exit):\n",
    );
    for (what, code, exit) in crate::platform::HTTP_OUTCOMES {
        t.push_str(&format!("  {what}: {code}, {exit}\n"));
    }
    t.push_str(
        "\nWith --json, stdout holds exactly one JSON document: the command's report, or when \
         it failed before one, {\"error\": {\"code\", \"message\", \"exit\"}}. Error codes:\n",
    );
    for (code, exit, meaning) in CODES {
        t.push_str(&format!("  {code} ({exit}): {meaning}\n"));
    }
    t.push_str(
        "\nA closed pipe on stdout (`herossh keys | head -1`) ends herossh quietly, with the \
         command's own exit status; any other failure to write stdout or stderr is an error \
         (output_error).",
    );
    t
}

#[derive(Debug, Serialize)]
struct JsonErrorDocument<'a> {
    error: JsonError<'a>,
}

/// The `--json` error object's payload.
#[derive(Debug, Serialize)]
pub struct JsonError<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub exit: u8,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            code: None,
        }
    }

    /// Give this error a precise code from [`CODES`]; the kind (and so the exit code) becomes
    /// the one the table gives the code, so a code and its exit can never disagree.
    pub fn with_code(mut self, code: &'static str) -> Self {
        match CODES.iter().find(|(c, ..)| *c == code) {
            Some((_, exit, _)) => {
                self.kind = match exit {
                    2 => Kind::Usage,
                    3 => Kind::Network,
                    4 => Kind::Auth,
                    _ => Kind::Failed,
                };
                self.code = Some(code);
            }
            None => debug_assert!(false, "error code {code} is not in error::CODES"),
        }
        self
    }

    /// The machine-readable code: the precise one, else the kind's.
    pub fn code(&self) -> &'static str {
        self.code.unwrap_or(self.kind.code())
    }

    /// `{"error": {"code", "message", "exit"}}`, the one JSON document a failed `--json`
    /// command prints on stdout. A reported error (empty message) says what its kind means.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.json_document()).unwrap_or_default()
    }

    /// [`Error::to_json`] as one line, fields in the documented order.
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(&self.json_document()).unwrap_or_default()
    }

    fn json_document(&self) -> JsonErrorDocument<'_> {
        let message = if self.message.is_empty() {
            CODES
                .iter()
                .find(|(c, ..)| *c == self.code())
                .map_or("failed", |(_, _, m)| *m)
        } else {
            self.message.as_str()
        };
        JsonErrorDocument {
            error: JsonError {
                code: self.code(),
                message,
                exit: self.exit_code(),
            },
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Kind::Failed, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(Kind::Network, message)
    }
    pub fn auth(message: impl Into<String>) -> Self {
        Self::new(Kind::Auth, message)
    }
    /// The command has printed its own report; exit with `kind`'s code and say nothing more.
    pub fn reported(kind: Kind) -> Self {
        Self::new(kind, String::new())
    }
    /// A command whose issue has not landed yet answers this instead of faking output.
    pub fn not_implemented(what: &str) -> Self {
        Self::usage(format!("`{what}` is not implemented yet"))
    }

    /// Prefix the message with what we were doing, keeping the kind.
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        if !self.message.is_empty() {
            self.message = format!("{what}: {}", self.message);
        }
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Local file-system failures are "the thing is wrong" (exit 1), with the path in the message
/// because an `io::Error` alone never says which file.
pub fn io_error(path: &std::path::Path, action: &str, err: std::io::Error) -> Error {
    Error::failed(format!("cannot {action} {}: {err}", path.display())).with_code("file_error")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_design() {
        assert_eq!(Error::failed("x").exit_code(), 1);
        assert_eq!(Error::usage("x").exit_code(), 2);
        assert_eq!(Error::network("x").exit_code(), 3);
        assert_eq!(Error::auth("x").exit_code(), 4);
        assert_eq!(Error::not_implemented("doctor").exit_code(), 2);
    }

    #[test]
    fn codes_are_unique_and_match_their_exit_codes() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, exit, _) in CODES {
            assert!(seen.insert(*code), "{code} listed twice");
            let kind_default = [Kind::Failed, Kind::Usage, Kind::Network, Kind::Auth]
                .into_iter()
                .find(|k| k.code() == *code);
            if let Some(k) = kind_default {
                assert_eq!(k.exit_code(), *exit, "{code}");
            }
        }
        let e = Error::auth("x").with_code("unauthorized");
        assert_eq!(
            e.to_json(),
            serde_json::json!({"error": {"code": "unauthorized", "message": "x", "exit": 4}})
        );
        assert_eq!(
            Error::reported(Kind::Network).to_json()["error"]["code"],
            "network"
        );
    }

    /// Every `with_code("...")` in the sources names a listed code (the debug assertion only
    /// catches the ones a test happens to reach).
    #[test]
    fn every_code_used_in_the_sources_is_listed() {
        let mut stack = vec![std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut used = 0;
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                    continue;
                }
                let text = std::fs::read_to_string(&p).unwrap();
                for part in text.split("with_code(\"").skip(1) {
                    let code = part.split('"').next().unwrap();
                    if code == "..." || code.is_empty() {
                        continue;
                    }
                    used += 1;
                    assert!(
                        CODES.iter().any(|(c, ..)| *c == code),
                        "{}: code {code:?} is not in CODES",
                        p.display()
                    );
                }
            }
        }
        assert!(used > 10, "found only {used} uses");
    }

    #[test]
    fn context_keeps_kind_and_skips_reported() {
        let e = Error::network("timed out").context("GET /account");
        assert_eq!(e.message, "GET /account: timed out");
        assert_eq!(e.kind, Kind::Network);
        let r = Error::reported(Kind::Failed).context("ignored");
        assert!(r.message.is_empty());
    }
}
