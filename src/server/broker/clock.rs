//! Wall-clock milliseconds and their conversion to and from `Instant`, for what the store
//! keeps (expiries, offline times) and what the admin API shows.

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One reading of both clocks, taken once, that every conversion between them goes through.
///
/// Reading both clocks at each conversion made the same `Instant` come out a millisecond apart
/// from one call to the next, so a message recorded for several sessions (or recorded again
/// when its delivery changes state) differed in its expiry and the store, which keeps equal
/// messages once, kept copies.
fn clock_anchor() -> (Instant, u64) {
    static ANCHOR: OnceLock<(Instant, u64)> = OnceLock::new();
    *ANCHOR.get_or_init(|| (Instant::now(), now_ms()))
}

/// An `Instant` as Unix milliseconds; the same `Instant` always gives the same milliseconds.
pub fn instant_to_ms(at: Instant) -> u64 {
    let (anchor, base) = clock_anchor();
    if at >= anchor {
        base + (at - anchor).as_millis() as u64
    } else {
        base.saturating_sub((anchor - at).as_millis() as u64)
    }
}

/// Unix milliseconds as an `Instant` (times before the anchor come out as it or earlier).
pub fn ms_to_instant(ms: u64) -> Instant {
    let (anchor, base) = clock_anchor();
    if ms >= base {
        anchor + Duration::from_millis(ms - base)
    } else {
        anchor
            .checked_sub(Duration::from_millis(base - ms))
            .unwrap_or(anchor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_always_converts_to_the_same_milliseconds() {
        let at = Instant::now() + Duration::from_secs(3600);
        let first = instant_to_ms(at);
        let started = Instant::now();
        // Long enough for the sub-millisecond phase of both clocks to move on many times.
        while started.elapsed() < Duration::from_millis(30) {
            assert_eq!(instant_to_ms(at), first);
        }
        let expected = now_ms() + 3_600_000;
        assert!(first.abs_diff(expected) < 1_000, "{first} vs {expected}");
        assert_eq!(instant_to_ms(ms_to_instant(first)), first);
    }
}
