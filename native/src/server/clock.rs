//! The host clock: core [`Instant`]s measured from the moment the server started.

use skiff_core::Instant;

/// Converts between the monotonic system clock and the core's [`Instant`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    epoch: std::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub(crate) fn start() -> Self {
        Self {
            epoch: std::time::Instant::now(),
        }
    }

    /// The current time as a core instant.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_since_epoch(self.epoch.elapsed())
    }

    /// The system instant matching a core instant (for arming timers).
    pub(crate) fn to_std(self, at: Instant) -> std::time::Instant {
        self.epoch + at.since_epoch()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_monotonic() {
        let clock = Clock::start();
        let a = clock.now();
        let b = clock.now();
        assert!(b >= a);
        assert_eq!(clock.to_std(Instant::ZERO), clock.epoch);
        assert!(clock.to_std(b) <= std::time::Instant::now());
    }
}
