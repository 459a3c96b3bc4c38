//! Giving freed memory back to the operating system after a burst.
//!
//! A slow consumer's backlog can reach `max_pending` (64 MiB by default). Once it is written or
//! dropped, Rust frees it, but glibc's allocator keeps the pages: its mmap threshold grows with
//! the largest block freed, so the backlog's 64 KiB buffers come from the heap, and freed heap
//! pages are only returned from its top. The daemon would stay at its peak footprint while
//! idle. The hub therefore asks the allocator to return every free page once the server has
//! been quiet for a moment after a large backlog ended ([`TRIM_DELAY`]), instead of tuning the
//! allocator globally, which would cost page faults on every large read buffer.

use std::time::Duration;

/// How long after the end of a large backlog the free memory is returned (re-armed by every
/// later one, so a busy server trims at most about once per delay).
pub(crate) const TRIM_DELAY: Duration = Duration::from_millis(500);

/// A connection's writer backlog at least this large counts as a burst worth trimming after.
pub(crate) const BURST: usize = 1024 * 1024;

/// Returns the allocator's free pages to the operating system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn release_free_memory() {
    // SAFETY: `malloc_trim` has no preconditions: it takes the allocator's own locks and only
    // releases pages that hold no live allocation.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Returns the allocator's free pages to the operating system (nothing to do here).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn release_free_memory() {}
