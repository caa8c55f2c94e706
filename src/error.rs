//! The one error type every command returns, and its mapping to exit codes.
//!
//! DESIGN.md fixes the exit codes so scripts can branch on them: 0 success, 1 the check failed
//! (the thing is wrong), 2 usage error, 3 network or server error, 4 authentication. Keeping the
//! code next to the message means no command can print one kind of failure and exit with another.

use std::fmt;

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
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
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
    Error::failed(format!("cannot {action} {}: {err}", path.display()))
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
    fn context_keeps_kind_and_skips_reported() {
        let e = Error::network("timed out").context("GET /account");
        assert_eq!(e.message, "GET /account: timed out");
        assert_eq!(e.kind, Kind::Network);
        let r = Error::reported(Kind::Failed).context("ignored");
        assert!(r.message.is_empty());
    }
}
