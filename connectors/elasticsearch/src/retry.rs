//! Backoff between retries, as Confluent's `RetryUtil`: attempt `n` (from 0) waits a random time
//! in `[0, backoff * 2^n)` ("full jitter"), capped at 24 hours; a zero backoff never waits.

use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest wait (Confluent's `MAX_RETRY_TIME_MS`).
const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// The upper bound of the wait before retry `attempt` (0-based).
pub fn max_wait(attempt: u32, backoff: Duration) -> Duration {
    let factor = 1u64.checked_shl(attempt).unwrap_or(u64::MAX);
    let millis = u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX).saturating_mul(factor);
    Duration::from_millis(millis).min(MAX_WAIT)
}

/// A random wait in `[0, max_wait(attempt, backoff))`.
pub fn wait(attempt: u32, backoff: Duration) -> Duration {
    let bound = u64::try_from(max_wait(attempt, backoff).as_millis()).unwrap_or(u64::MAX);
    if bound == 0 {
        return Duration::ZERO;
    }
    Duration::from_millis(random() % bound)
}

/// xorshift64*, seeded per thread from the clock: jitter needs no cryptographic randomness.
fn random() -> u64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0x9e37_79b9, |d| d.as_nanos() as u64) | 1,
        );
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_below_the_bound() {
        let b = Duration::from_millis(100);
        assert_eq!(max_wait(0, b), b);
        assert_eq!(max_wait(3, b), Duration::from_millis(800));
        assert_eq!(max_wait(200, b), MAX_WAIT);
        assert_eq!(wait(5, Duration::ZERO), Duration::ZERO);
        let waits: Vec<Duration> = (0..50).map(|_| wait(4, b)).collect();
        assert!(waits.iter().all(|w| *w < Duration::from_millis(1600)), "{waits:?}");
        assert!(waits.iter().any(|w| *w != waits[0]), "jitter varies: {waits:?}");
    }
}
