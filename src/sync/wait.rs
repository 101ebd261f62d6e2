//! Sleeping and waking: xv6's `sleep(chan)` / `wakeup(chan)`, the one primitive every
//! subsystem uses to wait — pipes for data, wait4 for a child, futexes, nanosleep.
//!
//! A leaf module: it defines what a task can wait on (`WaitChan`) and the two operations,
//! and imports nothing of the kernel. The scheduler (task/sched.rs) provides them when it
//! starts (`install`), so a pipe can wake its reader without importing the scheduler, and
//! the dependency arrows keep pointing one way: fs → sync ← task.

use spin::Once;

/// What a sleeping task waits for (xv6's "channel"). Equal channels wake each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitChan {
    /// wait4 in the process `tgid`: a child changed state.
    Child(u32),
    /// A vfork parent waiting for the child `tid` to exit or exec.
    Vfork(u32),
    /// A futex word (task/futex.rs computes the key).
    Futex(FutexKey),
    /// A pipe's buffer or its set of readers/writers changed.
    Pipe(usize),
    /// A pipe's I/O lock was released.
    PipeLock(usize),
    /// nanosleep: only the deadline wakes it.
    Timer,
}

/// A futex word's identity (Linux `union futex_key`): private to an address space, or
/// shared through a physical frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FutexKey {
    Private { mm: usize, addr: usize },
    MmShared { mm: usize, addr: usize },
    Physical { pa: usize },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WakeReason {
    Woken,
    Timeout,
    /// A fatal signal is pending: the caller returns -EINTR and dies on the way out.
    Killed,
}

/// The scheduler's implementation of the two operations.
pub struct WaitOps {
    /// Puts the current task to sleep on `chan` until woken, the deadline (ns since
    /// boot) passes, or it is killed.
    pub sleep: fn(WaitChan, Option<u64>) -> WakeReason,
    /// Wakes up to `n` tasks sleeping on the channel, longest sleeper first; returns how
    /// many.
    pub wake_n: fn(WaitChan, usize) -> usize,
}

static OPS: Once<WaitOps> = Once::new();

/// Called once by the scheduler at boot.
pub fn install(ops: WaitOps) {
    OPS.call_once(|| ops);
}

/// Sleeps on `chan` (see `WaitOps::sleep`).
pub fn sleep(chan: WaitChan, deadline: Option<u64>) -> WakeReason {
    let ops = OPS.get().expect("sleep before the scheduler started");
    (ops.sleep)(chan, deadline)
}

/// Wakes every task sleeping on `chan`. Before the scheduler runs (and in host unit
/// tests) nobody can be asleep, so it does nothing.
pub fn wakeup(chan: WaitChan) {
    wake_n(chan, usize::MAX);
}

/// Wakes up to `n` tasks sleeping on `chan`; returns how many.
pub fn wake_n(chan: WaitChan, n: usize) -> usize {
    OPS.get().map_or(0, |ops| (ops.wake_n)(chan, n))
}
