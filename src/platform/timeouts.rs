//! How long herossh waits for the Platform API.
//!
//! Defaults suit an interactive tool on a bad connection (10 s to connect, 30 s per request);
//! `HEROSSH_TIMEOUT=SECONDS` (fractions allowed) replaces the per-request limit — and caps the
//! connect limit — for slow networks, CI, and tests that need a timeout to happen quickly.

use std::time::Duration;

use crate::error::{Error, Result};

/// The environment variable that overrides the per-request timeout, in seconds.
pub const TIMEOUT_ENV: &str = "HEROSSH_TIMEOUT";

const DEFAULT_CONNECT: Duration = Duration::from_secs(10);
const DEFAULT_TOTAL: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing the TCP (and TLS) connection.
    pub connect: Duration,
    /// One request, from sending to the last byte of the body.
    pub total: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: DEFAULT_CONNECT,
            total: DEFAULT_TOTAL,
        }
    }
}

impl Timeouts {
    /// The defaults, or `HEROSSH_TIMEOUT` when set.
    pub fn from_env() -> Result<Self> {
        Self::from_value(std::env::var(TIMEOUT_ENV).ok().as_deref())
    }

    /// The rules without the environment: a positive number of seconds, else a usage error.
    pub fn from_value(value: Option<&str>) -> Result<Self> {
        let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(Self::default());
        };
        let secs: f64 = raw
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
            .ok_or_else(|| {
                Error::usage(format!(
                    "{TIMEOUT_ENV} must be a number of seconds greater than 0 and at most 86400 \
                     (fractions allowed, e.g. 2.5), not {raw:?}"
                ))
            })?;
        let total = Duration::from_secs_f64(secs);
        Ok(Timeouts {
            connect: total.min(DEFAULT_CONNECT),
            total,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_unset_or_empty() {
        assert_eq!(Timeouts::from_value(None).unwrap(), Timeouts::default());
        assert_eq!(
            Timeouts::from_value(Some(" ")).unwrap(),
            Timeouts::default()
        );
    }

    #[test]
    fn override_sets_total_and_caps_connect() {
        let t = Timeouts::from_value(Some("1.5")).unwrap();
        assert_eq!(t.total, Duration::from_millis(1500));
        assert_eq!(t.connect, Duration::from_millis(1500));
        let t = Timeouts::from_value(Some("120")).unwrap();
        assert_eq!(t.connect, Duration::from_secs(10));
    }

    #[test]
    fn nonsense_is_a_usage_error() {
        for bad in ["0", "0.0", "-1", "abc", "NaN", "inf", "1e9", "86400.5"] {
            let e = Timeouts::from_value(Some(bad)).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert_eq!(
                e.message,
                format!(
                    "HEROSSH_TIMEOUT must be a number of seconds greater than 0 and at most \
                     86400 (fractions allowed, e.g. 2.5), not {bad:?}"
                )
            );
        }
        // The bounds the message states are the bounds applied.
        assert!(Timeouts::from_value(Some("86400")).is_ok());
        assert!(Timeouts::from_value(Some("0.001")).is_ok());
    }
}
