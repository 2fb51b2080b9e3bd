//! The time as the application sees it: the system clock in Unix seconds, plus an offset
//! that tests move forward instead of sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// The system time in Unix seconds (UTC).
pub fn system_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[derive(Debug, Default)]
pub struct Clock {
    offset: AtomicI64,
    /// Told when the clock is moved, so that a task sleeping until a moment of this clock
    /// (the mail sender) looks again.
    moved: tokio::sync::Notify,
}

impl Clock {
    /// Now, in Unix seconds.
    pub fn now(&self) -> i64 {
        system_now() + self.offset.load(Ordering::Relaxed)
    }

    /// A monotonic instant, moved forward by `advance` like `now` (for deadlines kept in
    /// memory: how long something has waited).
    pub fn instant(&self) -> Instant {
        let offset = self.offset.load(Ordering::Relaxed).max(0) as u64;
        Instant::now() + Duration::from_secs(offset)
    }

    /// Moves this clock `secs` seconds forward (tests: let time pass without waiting).
    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::Relaxed);
        self.moved.notify_one();
    }

    /// Resolves the next time the clock is moved (one waiter; a move while nobody waits
    /// is kept for the next one).
    pub async fn moved(&self) {
        self.moved.notified().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(3_600);
        let after = clock.now();
        assert!(
            (3_600..3_602).contains(&(after - before)),
            "{before} → {after}"
        );
    }
}
