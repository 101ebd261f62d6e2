//! A sleeping lock (xv6 `sleeplock`, Linux `struct mutex`): a task that finds it taken
//! sleeps instead of spinning, so it may be held across work that sleeps or faults —
//! copying a file's data from or to user memory, where a page fault may run. Spin locks
//! (`OrderedMutex`) may not be held there (sync/mod.rs). Uninterruptible, like Linux's
//! `mutex_lock`: the holder never waits for anything but memory, so it lets go soon.

use core::sync::atomic::{AtomicU32, Ordering};

use super::wait::{self, WaitChan};

/// The lock word, as in Ulrich Drepper's "Futexes Are Tricky" mutex: an uncontended
/// release then needs no wakeup (which would scan the task table).
const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const LOCKED_WAITERS: u32 = 2;

pub struct SleepLock {
    state: AtomicU32,
}

/// The held lock; released when dropped.
pub struct SleepGuard<'a>(&'a SleepLock);

impl SleepLock {
    pub const fn new() -> SleepLock {
        SleepLock {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    fn chan(&self) -> WaitChan {
        WaitChan::SleepLock(self as *const SleepLock as usize)
    }

    /// Takes the lock, sleeping while another task holds it. Take it with no spin lock
    /// held (sleeping under one is a bug the checked build reports).
    pub fn lock(&self) -> SleepGuard<'_> {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return SleepGuard(self);
        }
        loop {
            // The wakeup count is read before the lock word, so a release between the
            // two is not missed (sync/wait.rs). Having waited, we take the lock as
            // "with waiters": there may be others.
            let seq = wait::prepare(self.chan());
            if self.state.swap(LOCKED_WAITERS, Ordering::Acquire) == UNLOCKED {
                return SleepGuard(self);
            }
            // A fatal signal does not interrupt the wait: the holder will let go.
            let _ = wait::sleep(self.chan(), None, seq);
        }
    }
}

impl Default for SleepLock {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for SleepGuard<'_> {
    fn drop(&mut self) {
        if self.0.state.swap(UNLOCKED, Ordering::Release) == LOCKED_WAITERS {
            wait::wake_n(self.0.chan(), 1);
        }
    }
}
