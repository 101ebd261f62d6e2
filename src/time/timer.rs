//! The timer queue: every deadline the kernel waits for, in order (Linux
//! kernel/time/hrtimer.c keeps one red-black tree per CPU and clock; here one sorted
//! vector for the whole machine, on CLOCK_MONOTONIC). Three kinds of entry:
//!
//! * a sleeper's deadline (nanosleep, futex and poll timeouts: `sched::sleep` with a
//!   deadline) — `Event::Wake(tid)`;
//! * a process's ITIMER_REAL (setitimer, alarm) — `Event::Process { tgid, Real }`;
//! * a POSIX timer (timer_create) — `Event::Process { tgid, Posix(id) }`.
//!
//! ```text
//!  entries (sorted, latest first)            this CPU's comparator (CNTV_CVAL)
//!  [ (9.30s,#7,Posix) (2.10s,#4,Wake 12) (1.25s,#9,Wake 3) ]   <- earliest at the end:
//!                                                   └─ programmed ─┘  pop is O(1)
//! ```
//!
//! **Sleeping costs nothing.** No CPU scans for expired deadlines. Whoever inserts the
//! new earliest entry programs its own CPU's timer for it (`arm`); an idle CPU programs
//! the earliest deadline and waits in `wfi`; a busy CPU adds a 10 ms tick only while it
//! has to share itself (`program`, decided by the scheduler). When a timer interrupt
//! comes, that CPU pops what expired (`pop_expired`) and the scheduler acts on it. An
//! entry is programmed on at least the CPU that inserted it until it expires, because
//! every reprogramming takes the queue's earliest deadline into account.
//!
//! **Bounded, and never allocating where it must not fail.** Waking a sleeper or arming
//! a timer happens where an allocation failure could not be reported (inside `sleep`,
//! in interrupt context). So room is reserved ahead (`reserve_slot`): one slot per task
//! that may exist (at boot), one per ITIMER_REAL and POSIX timer (when it is created,
//! where ENOMEM can be returned). Inserting then never grows the vector.

use alloc::vec::Vec;

use crate::error::{Errno, KResult};

/// What happens when a deadline passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// Wake task `tid` if it still sleeps with this deadline.
    Wake(u32),
    /// A timer of process `tgid` expired (time/itimer.rs decides what it sends).
    Process { tgid: u32, timer: TimerId },
}

/// Which of a process's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimerId {
    /// setitimer's ITIMER_REAL.
    Real,
    /// The POSIX timer with this id.
    Posix(i32),
}

/// An entry's identity, to cancel it: its deadline and a sequence number that orders
/// entries with equal deadlines (first armed, first fired) and tells them apart.
pub type Key = (u64, u64);

/// Deadlines in ns since boot, sorted latest first.
pub struct TimerQueue {
    entries: Vec<(Key, Event)>,
    /// Entries there may be (reserved with `reserve_slot`): the capacity is at least this.
    slots: usize,
    /// The slots reserved at boot (one per task there may be, `init`).
    boot_slots: usize,
    next_seq: u64,
}

impl Default for TimerQueue {
    fn default() -> Self {
        TimerQueue::new()
    }
}

impl TimerQueue {
    pub const fn new() -> TimerQueue {
        TimerQueue {
            entries: Vec::new(),
            slots: 0,
            boot_slots: 0,
            next_seq: 0,
        }
    }

    /// Makes room for `n` more entries ahead of time; ENOMEM if memory ran out.
    pub fn reserve_slots(&mut self, n: usize) -> KResult<()> {
        let slots = self.slots.checked_add(n).ok_or(Errno::ENOMEM)?;
        self.entries
            .try_reserve(slots.saturating_sub(self.entries.len()))
            .map_err(|_| Errno::ENOMEM)?;
        self.slots = slots;
        Ok(())
    }

    /// One more slot (a timer was created).
    pub fn reserve_slot(&mut self) -> KResult<()> {
        self.reserve_slots(1)
    }

    /// A timer was deleted: its slot is free (its entry, if any, was cancelled). Once at
    /// most half the room is reserved, the queue shrinks to what is (growing doubled it),
    /// so that the memory of a burst of timers comes back — and once the last timer is
    /// gone it shrinks back to its size at boot exactly (the heap returns to its
    /// baseline). If the smaller copy cannot be allocated, the queue stays as it is.
    pub fn release_slot(&mut self) {
        self.slots -= 1;
        let want = self.slots.max(self.entries.len());
        let cap = self.entries.capacity();
        if want <= cap / 2 || (self.slots == self.boot_slots && want < cap) {
            let mut smaller = Vec::new();
            if smaller.try_reserve_exact(want).is_ok() {
                smaller.append(&mut self.entries);
                self.entries = smaller;
            }
        }
    }

    /// Queues `event` for `deadline`. The caller holds a slot, so this never allocates.
    pub fn insert(&mut self, deadline: u64, event: Event) -> Key {
        debug_assert!(
            self.entries.len() < self.slots,
            "timer entry without a slot"
        );
        let key = (deadline, self.next_seq);
        self.next_seq += 1;
        // Latest first: the position after every later-or-equal entry.
        let pos = self.entries.partition_point(|(k, _)| *k > key);
        self.entries.insert(pos, (key, event));
        key
    }

    /// Removes the entry `key` if it has not fired yet; whether it was there.
    pub fn cancel(&mut self, key: Key) -> bool {
        match self.entries.binary_search_by(|(k, _)| key.cmp(k)) {
            Ok(pos) => {
                self.entries.remove(pos);
                true
            }
            Err(_) => false,
        }
    }

    /// The earliest deadline queued.
    pub fn earliest(&self) -> Option<u64> {
        self.entries.last().map(|((d, _), _)| *d)
    }

    /// Takes the earliest entry if its deadline is `now` or earlier.
    pub fn pop_expired(&mut self, now: u64) -> Option<(Key, Event)> {
        if self.earliest()? <= now {
            self.entries.pop()
        } else {
            None
        }
    }
}

#[cfg(target_os = "none")]
pub use kernel::*;

#[cfg(target_os = "none")]
mod kernel {
    use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

    use super::{Event, Key, TimerQueue};
    use crate::arch::percpu::MAX_CPUS;
    use crate::arch::timer;
    use crate::sync::Level;
    use crate::sync::ordered::OrderedMutex;

    /// The queue and the processes' timers (time/itimer.rs), under one lock: arming a
    /// process timer inserts into the queue. A leaf: nothing else is locked under it.
    pub struct Timers {
        pub queue: TimerQueue,
        pub procs: super::super::itimer::ProcTable,
    }

    pub static TIMERS: OrderedMutex<Timers> = OrderedMutex::new(
        Level::Ids,
        Timers {
            queue: TimerQueue::new(),
            procs: super::super::itimer::ProcTable::new(),
        },
    );

    /// The scheduler tick of a CPU that shares itself between tasks: 100 Hz, Linux's
    /// HZ=100.
    pub const TICK_NS: u64 = 1_000_000_000 / 100;

    /// What each CPU's timer is programmed for (ns since boot; u64::MAX: nothing).
    static PROGRAMMED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(u64::MAX) }; MAX_CPUS];

    /// CPUs whose timer is not ticking (bit n = CPU n): idle, or running one task with
    /// nobody waiting for the CPU (Linux NO_HZ). A task queued with no idle CPU to take
    /// it needs one of them to start ticking again (task/sched.rs).
    pub static TICK_STOPPED: AtomicU32 = AtomicU32::new(0);

    fn this_cpu() -> usize {
        crate::arch::percpu::this_cpu().id as usize
    }

    /// Programs this CPU's timer for `at` (or nothing) unless it is due earlier anyway.
    fn program_at_most(at: u64) {
        let cpu = this_cpu();
        if at < PROGRAMMED[cpu].load(Ordering::Relaxed) {
            PROGRAMMED[cpu].store(at, Ordering::Relaxed);
            timer::program(Some(at));
        }
    }

    /// Reprograms this CPU's timer (after a timer interrupt, before idling): for the
    /// earliest deadline queued, and for a tick in `TICK_NS` if `tick` (the scheduler
    /// wants to preempt the running task in time, or to charge CPU timers).
    pub fn program(now: u64, tick: bool) {
        let cpu = this_cpu();
        let earliest = TIMERS.lock().queue.earliest();
        let tick_at = tick.then(|| now.saturating_add(TICK_NS));
        let at = match (earliest, tick_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if tick {
            TICK_STOPPED.fetch_and(!(1 << cpu), Ordering::Relaxed);
        } else {
            TICK_STOPPED.fetch_or(1 << cpu, Ordering::Relaxed);
        }
        PROGRAMMED[cpu].store(at.unwrap_or(u64::MAX), Ordering::Relaxed);
        timer::program(at);
    }

    /// Starts this CPU's tick now (a task is waiting for it, or a CPU timer was armed).
    pub fn restart_tick() {
        let cpu = this_cpu();
        if TICK_STOPPED.fetch_and(!(1 << cpu), Ordering::Relaxed) & (1 << cpu) != 0 {
            program_at_most(crate::time::monotonic_ns().saturating_add(TICK_NS));
        }
    }

    /// Queues `event` at `deadline` (its slot reserved) and makes sure this CPU's timer
    /// fires by then.
    pub fn arm(queue: &mut TimerQueue, deadline: u64, event: Event) -> Key {
        let key = queue.insert(deadline, event);
        program_at_most(deadline);
        key
    }

    /// Boot: a slot for every task there may be (each sleeps with one deadline at most).
    pub fn init(max_tasks: usize) {
        let queue = &mut TIMERS.lock().queue;
        queue
            .reserve_slots(max_tasks)
            .expect("no memory for the timer queue");
        queue.boot_slots = queue.slots;
    }

    /// The sleeper `tid` waits until `deadline`: its entry, to cancel when it wakes.
    /// Called with the sleeper's lock held (task/sched.rs `do_sleep`), so the entry cannot
    /// fire before the task is marked asleep.
    pub fn arm_sleep(tid: u32, deadline: u64) -> Key {
        arm(&mut TIMERS.lock().queue, deadline, Event::Wake(tid))
    }

    /// The sleep ended: drop its entry if it has not fired.
    pub fn cancel(key: Key) {
        TIMERS.lock().queue.cancel(key);
    }

    /// What expired by `now`, one entry at a time, so that the caller acts on it (wakes
    /// a task, sends a signal) with the lock released. Process timers are rearmed here
    /// (itimer.rs); the result says whom to signal.
    pub fn pop_expired(now: u64) -> Option<Expired> {
        let mut t = TIMERS.lock();
        loop {
            let (_, event) = t.queue.pop_expired(now)?;
            match event {
                Event::Wake(tid) => return Some(Expired::Wake(tid)),
                Event::Process { tgid, timer } => {
                    if let Some(fire) = super::super::itimer::expire(&mut t, tgid, timer, now) {
                        return Some(Expired::Signal(fire));
                    }
                }
            }
        }
    }

    /// An expired entry for the scheduler to act on.
    pub enum Expired {
        Wake(u32),
        Signal(super::super::itimer::Fire),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order_and_cancels() {
        let mut q = TimerQueue::new();
        q.reserve_slots(4).unwrap();
        let a = q.insert(30, Event::Wake(1));
        q.insert(10, Event::Wake(2));
        q.insert(20, Event::Wake(3));
        q.insert(10, Event::Wake(4));
        assert_eq!(q.earliest(), Some(10));
        assert!(q.cancel(a));
        assert!(!q.cancel(a));
        assert_eq!(q.pop_expired(5), None);
        // Equal deadlines: first armed, first fired.
        assert_eq!(q.pop_expired(25).map(|e| e.1), Some(Event::Wake(2)));
        assert_eq!(q.pop_expired(25).map(|e| e.1), Some(Event::Wake(4)));
        assert_eq!(q.pop_expired(25).map(|e| e.1), Some(Event::Wake(3)));
        assert_eq!(q.pop_expired(100), None);
        assert_eq!(q.earliest(), None);
    }

    #[test]
    fn slots_reserve_capacity() {
        let mut q = TimerQueue::new();
        q.reserve_slots(2).unwrap();
        let cap = q.entries.capacity();
        q.insert(1, Event::Wake(1));
        q.insert(2, Event::Wake(2));
        assert_eq!(q.entries.capacity(), cap, "insert must not allocate");
        q.release_slot();
        assert!(q.reserve_slots(usize::MAX).is_err());
    }

    #[test]
    fn capacity_returns_to_the_boot_reservation() {
        let mut q = TimerQueue::new();
        q.reserve_slots(64).unwrap();
        q.boot_slots = q.slots;
        let boot_cap = q.entries.capacity();
        // A burst of timers doubles the room; deleting most shrinks it to what is
        // reserved (above the boot size: the hysteresis keeps some room) ...
        for _ in 0..100 {
            q.reserve_slot().unwrap();
        }
        for _ in 0..52 {
            q.release_slot();
        }
        assert!(q.entries.capacity() > boot_cap);
        // ... and deleting the last one gives back exactly the boot-time size.
        for _ in 0..48 {
            q.release_slot();
        }
        assert_eq!(q.entries.capacity(), boot_cap);
    }
}
