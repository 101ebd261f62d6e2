//! Sleeping and waking: xv6's `sleep(chan)` / `wakeup(chan)`, the one primitive every
//! subsystem uses to wait — pipes for data, wait4 for a child, futexes, nanosleep.
//!
//! A leaf module: it defines what a task can wait on (`WaitChan`) and the two operations,
//! and imports nothing of the kernel.
//!
//! # No lost wakeups on several CPUs
//!
//! A sleeper checks its condition (data in the pipe, a zombie child, the futex word),
//! then sleeps. On one CPU nothing can run in between; on four, the waker can change the
//! condition and call `wakeup` after the check but before the sleeper is marked asleep,
//! and the wakeup would find nobody (xv6 closes the gap by holding the condition's lock
//! into `sleep(chan, lk)`; Linux's `prepare_to_wait` marks the task first). Here every
//! channel hashes to one of `BUCKETS` *wakeup counters* (the idea of Linux's hashed
//! `bit_wait_table`): `wakeup` bumps the channel's counter before it looks for sleepers;
//! a sleeper reads the counter with `prepare` *before* it checks its condition, and
//! `sleep` gives up at once if the counter moved meanwhile. Either the waker finds the
//! sleeper marked, or the sleeper sees the new count:
//!
//! ```text
//!  sleeper                              waker
//!  seq = prepare(chan)                  change the condition
//!  check the condition: not yet         bump(chan)
//!  sleep(chan, seq): lock, mark asleep, ┐ for each task asleep on chan (its lock):
//!    counter != seq? -> return at once  ┘   make it runnable
//! ```
//! Two channels sharing a counter cause at most a spurious wakeup, which every caller
//! tolerates by checking its condition again.
//!
//! # Finding the sleepers cheaply
//!
//! Wakers used to look at every task, under its lock, to find the ones asleep on their
//! channel. Two cheap filters now come first (Linux keeps a wait queue per object; here
//! the xv6 scan stays, but it is rarely paid in full):
//! * each bucket also counts its sleepers (`sleeper_enter` before the sleeper marks
//!   itself, `sleeper_exit` after it woke): a waker that reads zero after its `bump`
//!   returns at once. The same SeqCst argument as above: either the waker sees the
//!   count, or the sleeper sees the bump and does not sleep;
//! * a sleeping task records its channel's `key` in an atomic (task/sched.rs), so that
//!   the scan skips tasks asleep elsewhere (or awake) without taking their locks.
//!
//! # Waiting on many channels (poll, select, epoll)
//!
//! A task sleeps on one channel, but ppoll waits on many objects at once. Every poller
//! sleeps on the one channel `Poll`, and every wakeup of a *pollable* object's channel
//! (`WaitChan::pollable`: pipes, eventfds, the tty) also wakes `Poll` — but only while
//! someone polls (`POLLERS`), so that pipe and futex hot paths pay one atomic load.
//! A woken poller looks at all its files again (fs/poll.rs):
//!
//! ```text
//!  poller                                  waker (pipe write, eventfd write, ...)
//!  POLLERS += 1                            change the object (under its lock)
//!  seq = prepare(Poll)                     wakeup(Pipe(id)): bump, wake its sleepers,
//!  poll every file: none ready               POLLERS > 0? -> wakeup(Poll)
//!  sleep(Poll, deadline, seq)  <-----------'
//!  poll every file again ... POLLERS -= 1
//! ```
//! No wakeup is lost: if the waker read POLLERS == 0, its change (made under the
//! object's lock) came before the poller's increment, so the poller's look at the object
//! (under the same lock) sees it; otherwise it bumps `Poll` after the poller's `prepare`.
//! The price is spurious wakeups: every poller wakes for every pollable change.
//!
//! The scheduler (task/sched.rs) provides them when it
//! starts (`install`), so a pipe can wake its reader without importing the scheduler, and
//! the dependency arrows keep pointing one way: fs → sync ← task.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

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
    /// A sleeping lock (sync/sleeplock.rs) at this address was released.
    SleepLock(usize),
    /// A FIFO gained a reader or a writer (fs/fifo open), by inode number.
    FifoOpen(u64),
    /// nanosleep: only the deadline wakes it.
    Timer,
    /// execve in the process `tgid` waiting for its other threads to exit.
    GroupExec(u32),
    /// A thread of the stopped process `tgid` (job control) waiting for SIGCONT.
    Stopped(u32),
    /// rt_sigsuspend, rt_sigtimedwait: only a signal (or the deadline) ends the sleep.
    Signal,
    /// An eventfd's counter changed (fs/eventfd.rs), by the eventfd's id.
    Eventfd(usize),
    /// ppoll, pselect6 and epoll_pwait: any object a poller may be waiting on changed
    /// (see "Waiting on many channels" above).
    Poll,
    /// A terminal's input (tty/tty_io.rs), by tty number: input became readable.
    Tty(u32),
}

impl WaitChan {
    /// A number for hashing the channel (`bucket`); the scheduler also keeps it, made
    /// non-zero, in each sleeping task (`Task::sleeping_on`), so that a waker passes
    /// over tasks asleep on other channels without taking their locks. Two channels
    /// with the same key would only cost a look under the lock.
    pub fn key(&self) -> u64 {
        let (kind, v) = match *self {
            WaitChan::Child(t) => (1, t as u64),
            WaitChan::Vfork(t) => (2, t as u64),
            WaitChan::Futex(FutexKey::Private { mm, addr }) => (3, (mm as u64) << 40 ^ addr as u64),
            WaitChan::Futex(FutexKey::MmShared { mm, addr }) => {
                (3, (mm as u64) << 40 ^ addr as u64)
            }
            WaitChan::Futex(FutexKey::Physical { pa }) => (3, pa as u64),
            WaitChan::Pipe(id) => (4, id as u64),
            WaitChan::PipeLock(id) => (5, id as u64),
            WaitChan::Timer => (6, 0),
            WaitChan::GroupExec(t) => (7, t as u64),
            WaitChan::SleepLock(a) => (8, a as u64),
            WaitChan::FifoOpen(ino) => (9, ino),
            WaitChan::Stopped(t) => (10, t as u64),
            WaitChan::Signal => (11, 0),
            WaitChan::Eventfd(id) => (12, id as u64),
            WaitChan::Poll => (13, 0),
            WaitChan::Tty(n) => (14, n as u64),
        };
        v.wrapping_add(kind).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    /// Whether the channel belongs to an object that poll(2) can wait on, so that its
    /// wakeups also wake the pollers. Every variant is listed: a new kind of channel
    /// must decide (a tty's input and output channels answer true).
    fn pollable(&self) -> bool {
        match self {
            WaitChan::Pipe(_) | WaitChan::Eventfd(_) | WaitChan::Tty(_) => true,
            WaitChan::Child(_)
            | WaitChan::Vfork(_)
            | WaitChan::Futex(_)
            | WaitChan::PipeLock(_)
            | WaitChan::SleepLock(_)
            | WaitChan::FifoOpen(_)
            | WaitChan::Timer
            | WaitChan::GroupExec(_)
            | WaitChan::Stopped(_)
            | WaitChan::Signal
            | WaitChan::Poll => false,
        }
    }
}

/// Number of wakeup counters (a power of two).
const BUCKETS: usize = 64;

static WAKE_SEQ: [AtomicU64; BUCKETS] = [const { AtomicU64::new(0) }; BUCKETS];

fn bucket(chan: WaitChan) -> &'static AtomicU64 {
    &WAKE_SEQ[(chan.key() >> 58) as usize % BUCKETS]
}

/// A reading of a channel's wakeup counter, taken before the sleeper checks its
/// condition (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WakeSeq(u64);

/// Reads `chan`'s wakeup counter; call it *before* checking the condition to sleep on.
pub fn prepare(chan: WaitChan) -> WakeSeq {
    WakeSeq(bucket(chan).load(Ordering::SeqCst))
}

/// Whether a wakeup may have been sent on `chan` since `seq` was read. The scheduler
/// asks this after marking the sleeper asleep, under the sleeper's lock.
pub fn woken_since(chan: WaitChan, seq: WakeSeq) -> bool {
    bucket(chan).load(Ordering::SeqCst) != seq.0
}

/// Records a wakeup on `chan`: every waker calls it before it looks for sleepers.
pub fn bump(chan: WaitChan) {
    bump_key(chan.key());
}

/// `bump` for a channel whose `key` the caller has computed already.
pub fn bump_key(key: u64) {
    WAKE_SEQ[(key >> 58) as usize % BUCKETS].fetch_add(1, Ordering::SeqCst);
}

/// How many tasks sleep (or are about to sleep) on a channel of each bucket: a waker
/// that finds its bucket's count at zero has nobody to look for, and skips the scan of
/// the task table (a pipe write with no reader asleep, a futex wake with no waiter).
static SLEEPERS: [AtomicUsize; BUCKETS] = [const { AtomicUsize::new(0) }; BUCKETS];

fn sleepers(key: u64) -> &'static AtomicUsize {
    &SLEEPERS[(key >> 58) as usize % BUCKETS]
}

/// The sleeper is about to mark itself asleep on the channel whose `key` this is (and
/// later checks `woken_since`): counted first, so that a waker either sees the count or
/// the sleeper sees the waker's `bump` — both are SeqCst, the same argument as for the
/// counters (module comment).
pub fn sleeper_enter(key: u64) {
    sleepers(key).fetch_add(1, Ordering::SeqCst);
}

/// The sleeper woke (or never slept): no longer counted.
pub fn sleeper_exit(key: u64) {
    sleepers(key).fetch_sub(1, Ordering::SeqCst);
}

/// Whether a task may sleep on the channel with this `key`; false means surely none.
/// Call it after `bump`.
pub fn may_have_sleepers(key: u64) -> bool {
    sleepers(key).load(Ordering::SeqCst) != 0
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
    /// A signal the task does not block is pending (only `sleep_interruptible`): the
    /// caller gives up and returns -EINTR or a restart code (error.rs), and the signal
    /// is delivered on the way back to user mode.
    Interrupted,
}

impl WakeReason {
    /// Killed or interrupted: the caller must stop waiting.
    pub fn by_signal(self) -> bool {
        matches!(self, WakeReason::Killed | WakeReason::Interrupted)
    }
}

/// The scheduler's implementation of the two operations.
pub struct WaitOps {
    /// Puts the current task to sleep on `chan` until woken, the deadline (ns since
    /// boot) passes, or it is killed; returns at once if `chan` was woken since `seq`.
    pub sleep: fn(WaitChan, Option<u64>, WakeSeq) -> WakeReason,
    /// The same, but a pending signal also ends the sleep (Linux TASK_INTERRUPTIBLE;
    /// `sleep` is TASK_KILLABLE).
    pub sleep_interruptible: fn(WaitChan, Option<u64>, WakeSeq) -> WakeReason,
    /// Wakes up to `n` tasks sleeping on the channel, longest sleeper first; returns how
    /// many.
    pub wake_n: fn(WaitChan, usize) -> usize,
}

static OPS: Once<WaitOps> = Once::new();

/// Called once by the scheduler at boot.
pub fn install(ops: WaitOps) {
    OPS.call_once(|| ops);
}

/// Sleeps on `chan` (see `WaitOps::sleep`); `seq` is what `prepare(chan)` returned
/// before the caller checked its condition.
pub fn sleep(chan: WaitChan, deadline: Option<u64>, seq: WakeSeq) -> WakeReason {
    let ops = OPS.get().expect("sleep before the scheduler started");
    (ops.sleep)(chan, deadline, seq)
}

/// Sleeps on `chan` until woken, the deadline, a kill, or any signal the task does not
/// block (Linux TASK_INTERRUPTIBLE): what a blocking read or wait does.
pub fn sleep_interruptible(chan: WaitChan, deadline: Option<u64>, seq: WakeSeq) -> WakeReason {
    let ops = OPS.get().expect("sleep before the scheduler started");
    (ops.sleep_interruptible)(chan, deadline, seq)
}

/// Wakes every task sleeping on `chan`. Before the scheduler runs (and in host unit
/// tests) nobody can be asleep, so it does nothing.
pub fn wakeup(chan: WaitChan) {
    wake_n(chan, usize::MAX);
}

/// Wakes up to `n` tasks sleeping on `chan`; returns how many. A pollable channel also
/// wakes every poller, if there is one (see "Waiting on many channels").
pub fn wake_n(chan: WaitChan, n: usize) -> usize {
    let Some(ops) = OPS.get() else {
        return 0;
    };
    let woken = (ops.wake_n)(chan, n);
    // SeqCst: this load is ordered after the caller's change to the object (see the
    // module comment).
    if chan.pollable() && POLLERS.load(Ordering::SeqCst) != 0 {
        (ops.wake_n)(WaitChan::Poll, usize::MAX);
    }
    woken
}

/// How many tasks are polling now (in ppoll, pselect6 or epoll_pwait).
static POLLERS: AtomicUsize = AtomicUsize::new(0);

/// Counts the caller as a poller until the guard is dropped: from now on every pollable
/// wakeup also wakes `WaitChan::Poll`. Take it *before* `prepare(WaitChan::Poll)`.
pub struct Poller(());

impl Poller {
    pub fn enter() -> Poller {
        POLLERS.fetch_add(1, Ordering::SeqCst);
        Poller(())
    }
}

impl Drop for Poller {
    fn drop(&mut self) {
        POLLERS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Wakes the pollers directly: something changed that only they wait for (an epoll
/// instance's interest list).
pub fn wake_pollers() {
    if POLLERS.load(Ordering::SeqCst) != 0 {
        wakeup(WaitChan::Poll);
    }
}
