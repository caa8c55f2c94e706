//! When to try an idempotent Platform API call again.
//!
//! GET and DELETE are retried on 429 and 5xx. POST only on 429: the rate limiter turns a
//! request away before it does anything, whereas after a 5xx the key may or may not have been
//! added, and a blind second POST could add it twice or report a misleading "already exists".
//! At most [`MAX_TRIES`] tries, never sleeping more than [`SLEEP_BUDGET`] in total: a person is
//! waiting at the terminal, so a server that asks for a long pause gets an error that says how
//! long, not a hang.

use std::time::Duration;

/// Tries per call, the first included.
pub const MAX_TRIES: u32 = 3;
/// The most time spent sleeping between tries of one call.
pub const SLEEP_BUDGET: Duration = Duration::from_secs(10);
/// The first pause when the server does not say how long to wait; doubled each time.
const BASE_BACKOFF: Duration = Duration::from_millis(500);

/// Rate limiting and server errors are worth another try; anything else will not change.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..=599).contains(&status)
}

/// Whether a call with this method may be tried again after `status`: see the module comment.
pub fn may_retry(idempotent: bool, status: u16) -> bool {
    if idempotent {
        is_retryable_status(status)
    } else {
        status == 429
    }
}

/// `Retry-After` in its delay-seconds form. The HTTP-date form is not used by Heroku and is
/// treated as absent (so the default backoff applies).
pub fn parse_retry_after(value: Option<&str>) -> Option<u64> {
    value.and_then(|v| v.trim().parse::<u64>().ok())
}

/// The pause before try number `tried + 1`, or `None` to give up: tries exhausted, or the wait
/// would exceed the budget given what was already `slept`.
pub fn next_delay(tried: u32, retry_after: Option<u64>, slept: Duration) -> Option<Duration> {
    if tried >= MAX_TRIES {
        return None;
    }
    let delay = match retry_after {
        Some(secs) => Duration::from_secs(secs),
        None => BASE_BACKOFF * 2u32.saturating_pow(tried.saturating_sub(1)),
    };
    (slept + delay <= SLEEP_BUDGET).then_some(delay)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_429_and_5xx_are_retried() {
        assert!(is_retryable_status(429));
        assert!(is_retryable_status(500));
        assert!(is_retryable_status(503));
        assert!(!is_retryable_status(401));
        assert!(!is_retryable_status(404));
        assert!(!is_retryable_status(422));
    }

    #[test]
    fn post_is_retried_only_when_rate_limited() {
        assert!(may_retry(false, 429));
        assert!(!may_retry(false, 500));
        assert!(!may_retry(false, 503));
        assert!(may_retry(true, 503));
        assert!(!may_retry(true, 422));
    }

    #[test]
    fn retry_after_seconds_only() {
        assert_eq!(parse_retry_after(Some("3")), Some(3));
        assert_eq!(parse_retry_after(Some(" 0 ")), Some(0));
        assert_eq!(
            parse_retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            None
        );
        assert_eq!(parse_retry_after(None), None);
    }

    #[test]
    fn backoff_doubles_and_stops_after_max_tries() {
        let z = Duration::ZERO;
        assert_eq!(next_delay(1, None, z), Some(Duration::from_millis(500)));
        assert_eq!(next_delay(2, None, z), Some(Duration::from_millis(1000)));
        assert_eq!(next_delay(3, None, z), None);
    }

    #[test]
    fn retry_after_is_honoured_within_the_budget() {
        assert_eq!(
            next_delay(1, Some(2), Duration::ZERO),
            Some(Duration::from_secs(2))
        );
        assert_eq!(next_delay(1, Some(11), Duration::ZERO), None);
        assert_eq!(next_delay(2, Some(4), Duration::from_secs(7)), None);
        assert_eq!(next_delay(1, Some(0), Duration::ZERO), Some(Duration::ZERO));
    }
}
