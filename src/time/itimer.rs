//! A process's timers: setitimer's three interval timers (Linux kernel/time/itimer.c)
//! and its POSIX timers (kernel/time/posix-timers.c). They belong to the process (the
//! thread group), as in Linux's `signal_struct`: fork does not copy them, execve
//! deletes the POSIX timers but keeps the interval timers, exit deletes them all
//! (`exit_itimers`).
//!
//! ITIMER_REAL and POSIX timers are entries of the timer queue (timer.rs), on
//! CLOCK_MONOTONIC: a CLOCK_REALTIME deadline is converted when armed (the wall clock
//! is only set at boot here, so it never jumps under an armed timer). ITIMER_VIRTUAL and
//! ITIMER_PROF count the process's CPU time and are checked by the scheduler's tick,
//! which stays on while they are armed (`cpu_timers_armed`).
//!
//! **Overruns, approximated.** Linux rearms a periodic timer only when its signal is
//! delivered, and counts the periods that expired meanwhile as the overrun
//! (`timer_getoverrun`, `si_overrun`). This kernel rearms when the timer fires, and
//! counts as overruns the periods that passed without a signal: those the interrupt came
//! too late for, and those skipped because a period is shorter than `MIN_PERIOD_NS` — a
//! stand-in for Linux's rearm-at-delivery, which keeps a 1 ns period from flooding a CPU
//! with interrupts. Expiries while an earlier signal is still pending are not counted
//! (the signal code would have to tell the timer when its signal is dequeued).

// The host build (unit tests) has the data structures but not the kernel functions
// that use them.
#![cfg_attr(not(target_os = "none"), allow(dead_code))]

use alloc::vec::Vec;

use super::timer::Key;
use crate::error::{Errno, KResult};

pub const ITIMER_REAL: u32 = 0;
pub const ITIMER_VIRTUAL: u32 = 1;
pub const ITIMER_PROF: u32 = 2;

pub const SIGALRM: u32 = 14;
pub const SIGVTALRM: u32 = 26;
pub const SIGPROF: u32 = 27;

/// How a POSIX timer tells its process (`sigev_notify`).
pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
/// glibc runs the function in a thread it makes; the kernel just signals the process.
pub const SIGEV_THREAD: i32 = 2;
pub const SIGEV_THREAD_ID: i32 = 4;

/// The shortest period a timer is rearmed for (see the module comment).
pub const MIN_PERIOD_NS: u64 = 100_000;

/// Whom an expired timer signals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Process(u32),
    Thread(u32),
}

/// A signal to send because a timer expired (the scheduler sends it: task/sched.rs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fire {
    pub target: Target,
    pub signo: u32,
    /// A POSIX timer's id, overrun and `sigev_value` (SI_TIMER); None: an interval
    /// timer's signal (SI_KERNEL).
    pub posix: Option<(i32, i32, u64)>,
}

/// A timer's setting: when it next expires (0: disarmed) and its period (0: once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Setting {
    pub expires: u64,
    pub interval: u64,
}

impl Setting {
    /// The next expiry after `now`, and how many periods were skipped to reach it;
    /// None for a one-shot timer that has expired. Periods shorter than MIN_PERIOD_NS
    /// advance by MIN_PERIOD_NS at least.
    fn forward(&self, now: u64) -> Option<(u64, u64)> {
        if self.expires > now {
            return Some((self.expires, 0));
        }
        if self.interval == 0 {
            return None;
        }
        let periods = (now - self.expires) / self.interval + 1;
        let next = self
            .expires
            .saturating_add(periods.saturating_mul(self.interval));
        // A period of MIN_PERIOD_NS or more is followed exactly (`next` is within one
        // period after `now`, as Linux's `hrtimer_forward`); only a shorter one is
        // stretched, so that the next expiry is MIN_PERIOD_NS away at least.
        let min = now.saturating_add(MIN_PERIOD_NS);
        if self.interval >= MIN_PERIOD_NS || next >= min {
            return Some((next, periods - 1));
        }
        let more = (min - next).div_ceil(self.interval);
        let next = next.saturating_add(more.saturating_mul(self.interval));
        Some((next, periods - 1 + more))
    }

    /// What getitimer/timer_gettime report at `now`: time left and the period. An armed
    /// timer about to fire reports 1 µs at least, as Linux's `itimer_get_remtime`.
    pub fn remaining(&self, now: u64) -> Setting {
        match (self.expires, self.forward(now)) {
            (0, _) | (_, None) => Setting::default(),
            (_, Some((next, _))) => Setting {
                expires: (next - now).max(1000),
                interval: self.interval,
            },
        }
    }
}

/// How a POSIX timer notifies (`struct sigevent`, already checked).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    None,
    Signal {
        signo: u32,
        value: u64,
        /// SIGEV_THREAD_ID: this thread; else the process.
        thread: Option<u32>,
    },
}

struct PosixTimer {
    id: i32,
    clock: i32,
    notify: Notify,
    setting: Setting,
    key: Option<Key>,
    /// The overrun of the last signal sent (timer_getoverrun).
    overrun_last: i32,
}

/// One process's timers.
struct ProcTimers {
    tgid: u32,
    real: Setting,
    real_key: Option<Key>,
    /// A queue slot is reserved for ITIMER_REAL (from its first use until exit).
    real_slot: bool,
    /// ITIMER_VIRTUAL and ITIMER_PROF, `expires` in the process's CPU nanoseconds.
    cpu: [Setting; 2],
    posix: Vec<PosixTimer>,
    /// The next POSIX timer id to try (Linux `next_posix_timer_id`).
    next_id: i32,
}

impl ProcTimers {
    fn is_empty(&self) -> bool {
        !self.real_slot && self.posix.is_empty() && self.cpu.iter().all(|s| s.expires == 0)
    }

    fn posix(&mut self, id: i32) -> KResult<&mut PosixTimer> {
        self.posix
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or(Errno::EINVAL)
    }
}

/// Every process that has used a timer, sorted by tgid.
pub struct ProcTable {
    procs: Vec<ProcTimers>,
}

impl Default for ProcTable {
    fn default() -> Self {
        ProcTable::new()
    }
}

impl ProcTable {
    pub const fn new() -> ProcTable {
        ProcTable { procs: Vec::new() }
    }

    fn get(&mut self, tgid: u32) -> Option<&mut ProcTimers> {
        let i = self.procs.binary_search_by_key(&tgid, |p| p.tgid).ok()?;
        Some(&mut self.procs[i])
    }

    /// The process's entry, made if it has none (ENOMEM if that fails).
    fn get_or_add(&mut self, tgid: u32) -> KResult<&mut ProcTimers> {
        let i = match self.procs.binary_search_by_key(&tgid, |p| p.tgid) {
            Ok(i) => i,
            Err(i) => {
                self.procs.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                self.procs.insert(
                    i,
                    ProcTimers {
                        tgid,
                        real: Setting::default(),
                        real_key: None,
                        real_slot: false,
                        cpu: [Setting::default(); 2],
                        posix: Vec::new(),
                        next_id: 0,
                    },
                );
                i
            }
        };
        Ok(&mut self.procs[i])
    }

    /// Forgets a process with nothing armed.
    fn tidy(&mut self, tgid: u32) {
        if let Ok(i) = self.procs.binary_search_by_key(&tgid, |p| p.tgid)
            && self.procs[i].is_empty()
        {
            self.procs.remove(i);
            if self.procs.is_empty() {
                self.procs = Vec::new(); // its memory back, once no process has timers
            }
        }
    }
}

#[cfg(target_os = "none")]
pub use kernel::*;

#[cfg(target_os = "none")]
mod kernel {
    use super::*;
    use crate::time::timer::{self, Event, TIMERS, TimerId, Timers};

    fn now() -> u64 {
        crate::time::monotonic_ns()
    }

    /// getitimer(2): ITIMER_REAL's time left, or a CPU timer's at the process's CPU time
    /// `cpu` ([user, user + system] ns).
    pub fn getitimer(tgid: u32, which: u32, cpu: [u64; 2]) -> KResult<Setting> {
        let mut t = TIMERS.lock();
        let Some(p) = t.procs.get(tgid) else {
            return match which {
                ITIMER_REAL..=ITIMER_PROF => Ok(Setting::default()),
                _ => Err(Errno::EINVAL),
            };
        };
        match which {
            ITIMER_REAL => Ok(p.real.remaining(now())),
            ITIMER_VIRTUAL | ITIMER_PROF => {
                let i = (which - 1) as usize;
                Ok(p.cpu[i].remaining(cpu[i]))
            }
            _ => Err(Errno::EINVAL),
        }
    }

    /// setitimer(2): arms (`new.expires` = time from now, 0 disarms) and returns the
    /// old setting as getitimer would have.
    pub fn setitimer(tgid: u32, which: u32, new: Setting, cpu: [u64; 2]) -> KResult<Setting> {
        if which > ITIMER_PROF {
            return Err(Errno::EINVAL);
        }
        let old = getitimer(tgid, which, cpu)?;
        let mut guard = TIMERS.lock();
        let Timers { queue, procs } = &mut *guard;
        let p = procs.get_or_add(tgid)?;
        if which == ITIMER_REAL {
            if let Some(key) = p.real_key.take() {
                queue.cancel(key);
            }
            p.real = Setting::default();
            if new.expires != 0 {
                if !p.real_slot {
                    queue.reserve_slot()?;
                    p.real_slot = true;
                }
                p.real = Setting {
                    expires: now().saturating_add(new.expires),
                    interval: new.interval,
                };
                let event = Event::Process {
                    tgid,
                    timer: TimerId::Real,
                };
                p.real_key = Some(timer::arm(queue, p.real.expires, event));
            }
        } else {
            let i = (which - 1) as usize;
            p.cpu[i] = match new.expires {
                0 => Setting::default(),
                v => Setting {
                    expires: cpu[i].saturating_add(v),
                    interval: new.interval,
                },
            };
            drop(guard);
            // The tick checks CPU timers: make sure this CPU has one.
            timer::restart_tick();
            return Ok(old);
        }
        procs.tidy(tgid);
        Ok(old)
    }

    /// The tick found the process running with CPU timers armed: which have expired at
    /// its CPU time `cpu` ([user, user + system]); those are rearmed or disarmed.
    pub fn cpu_timers_armed(tgid: u32) -> bool {
        TIMERS
            .lock()
            .procs
            .get(tgid)
            .is_some_and(|p| p.cpu.iter().any(|s| s.expires != 0))
    }

    /// Checks ITIMER_VIRTUAL and ITIMER_PROF against the CPU time `cpu`; the signals due.
    pub fn check_cpu_timers(tgid: u32, cpu: [u64; 2]) -> [Option<Fire>; 2] {
        let mut t = TIMERS.lock();
        let mut fire = [None, None];
        if let Some(p) = t.procs.get(tgid) {
            for (i, s) in p.cpu.iter_mut().enumerate() {
                if s.expires == 0 || s.expires > cpu[i] {
                    continue;
                }
                s.expires = s.forward(cpu[i]).map_or(0, |(next, _)| next);
                fire[i] = Some(Fire {
                    target: Target::Process(tgid),
                    signo: [SIGVTALRM, SIGPROF][i],
                    posix: None,
                });
            }
        }
        fire
    }

    /// A queue entry of process `tgid` expired: rearm it if periodic, and say what to
    /// send (timer.rs `pop_expired`, with TIMERS held).
    pub(in crate::time) fn expire(
        t: &mut Timers,
        tgid: u32,
        which: TimerId,
        now: u64,
    ) -> Option<Fire> {
        let Timers { queue, procs } = t;
        let p = procs.get(tgid)?;
        let event = Event::Process { tgid, timer: which };
        match which {
            TimerId::Real => {
                p.real_key = None;
                p.real.expires = p.real.forward(now).map_or(0, |(next, _)| next);
                if p.real.expires != 0 {
                    p.real_key = Some(queue.insert(p.real.expires, event));
                }
                Some(Fire {
                    target: Target::Process(tgid),
                    signo: SIGALRM,
                    posix: None,
                })
            }
            TimerId::Posix(id) => {
                let pt = p.posix(id).ok()?;
                pt.key = None;
                let (next, skipped) = pt.setting.forward(now).unwrap_or((0, 0));
                pt.setting.expires = next;
                if next != 0 {
                    pt.key = Some(queue.insert(next, event));
                }
                pt.overrun_last = skipped.min(i32::MAX as u64) as i32;
                match pt.notify {
                    Notify::None => None,
                    Notify::Signal {
                        signo,
                        value,
                        thread,
                    } => Some(Fire {
                        target: thread.map_or(Target::Process(tgid), Target::Thread),
                        signo,
                        posix: Some((id, pt.overrun_last, value)),
                    }),
                }
            }
        }
    }

    /// timer_create(2) after the sigevent was checked: a new timer id, or EAGAIN when
    /// the process has `limit` timers already (Linux charges each against
    /// RLIMIT_SIGPENDING), ENOMEM when memory ran out. `notify` None: the default,
    /// SIGALRM with the timer's id as its value.
    pub fn timer_create(tgid: u32, clock: i32, notify: Option<Notify>, limit: u64) -> KResult<i32> {
        let mut guard = TIMERS.lock();
        let Timers { queue, procs } = &mut *guard;
        let p = procs.get_or_add(tgid)?;
        if p.posix.len() as u64 >= limit {
            procs.tidy(tgid);
            return Err(Errno::EAGAIN);
        }
        p.posix.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        queue.reserve_slot()?;
        // The next free id, counting up and wrapping at INT_MAX as Linux does.
        let mut id = p.next_id;
        while p.posix.iter().any(|t| t.id == id) {
            id = id.wrapping_add(1) & i32::MAX;
        }
        p.next_id = id.wrapping_add(1) & i32::MAX;
        let notify = notify.unwrap_or(Notify::Signal {
            signo: SIGALRM,
            value: id as u64,
            thread: None,
        });
        p.posix.push(PosixTimer {
            id,
            clock,
            notify,
            setting: Setting::default(),
            key: None,
            overrun_last: 0,
        });
        Ok(id)
    }

    /// The clock a timer was created on (for TIMER_ABSTIME), or EINVAL.
    pub fn timer_clock(tgid: u32, id: i32) -> KResult<i32> {
        let mut t = TIMERS.lock();
        let p = t.procs.get(tgid).ok_or(Errno::EINVAL)?;
        Ok(p.posix(id)?.clock)
    }

    /// timer_gettime(2).
    pub fn timer_gettime(tgid: u32, id: i32) -> KResult<Setting> {
        let mut t = TIMERS.lock();
        let p = t.procs.get(tgid).ok_or(Errno::EINVAL)?;
        Ok(p.posix(id)?.setting.remaining(now()))
    }

    /// timer_settime(2) with the first expiry as a CLOCK_MONOTONIC time (`expires` 0:
    /// disarm); returns the old setting.
    pub fn timer_settime(tgid: u32, id: i32, new: Setting) -> KResult<Setting> {
        let mut guard = TIMERS.lock();
        let Timers { queue, procs } = &mut *guard;
        let p = procs.get(tgid).ok_or(Errno::EINVAL)?;
        let pt = p.posix(id)?;
        let old = pt.setting.remaining(now());
        if let Some(key) = pt.key.take() {
            queue.cancel(key);
        }
        pt.setting = new;
        pt.overrun_last = 0;
        // SIGEV_NONE timers are never queued: timer_gettime computes their state.
        if new.expires != 0 && pt.notify != Notify::None {
            let event = Event::Process {
                tgid,
                timer: TimerId::Posix(id),
            };
            // An expiry already past fires at the next interrupt.
            pt.key = Some(timer::arm(queue, new.expires, event));
        }
        Ok(old)
    }

    /// timer_getoverrun(2).
    pub fn timer_getoverrun(tgid: u32, id: i32) -> KResult<i32> {
        let mut t = TIMERS.lock();
        let p = t.procs.get(tgid).ok_or(Errno::EINVAL)?;
        Ok(p.posix(id)?.overrun_last)
    }

    /// timer_delete(2).
    pub fn timer_delete(tgid: u32, id: i32) -> KResult<()> {
        let mut guard = TIMERS.lock();
        let Timers { queue, procs } = &mut *guard;
        let p = procs.get(tgid).ok_or(Errno::EINVAL)?;
        let i = p
            .posix
            .iter()
            .position(|t| t.id == id)
            .ok_or(Errno::EINVAL)?;
        let pt = p.posix.remove(i);
        if let Some(key) = pt.key {
            queue.cancel(key);
        }
        queue.release_slot();
        procs.tidy(tgid);
        Ok(())
    }

    /// Deletes the POSIX timers of `tgid` (`keep_itimers`: execve, which keeps the
    /// interval timers), or all its timers (exit). Linux `exit_itimers`.
    pub fn exit_itimers(tgid: u32, keep_itimers: bool) {
        let mut guard = TIMERS.lock();
        let Timers { queue, procs } = &mut *guard;
        let Some(p) = procs.get(tgid) else { return };
        for pt in p.posix.drain(..) {
            if let Some(key) = pt.key {
                queue.cancel(key);
            }
            queue.release_slot();
        }
        if !keep_itimers {
            if let Some(key) = p.real_key.take() {
                queue.cancel(key);
            }
            if core::mem::take(&mut p.real_slot) {
                queue.release_slot();
            }
            p.real = Setting::default();
            p.cpu = [Setting::default(); 2];
        }
        procs.tidy(tgid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_skips_missed_periods() {
        let s = Setting {
            expires: 1_000_000,
            interval: 1_000_000,
        };
        assert_eq!(s.forward(500), Some((1_000_000, 0)));
        // At 3.5 ms the expiries at 1 and 2 ms... : 1 ms fired, 2 and 3 ms were missed.
        assert_eq!(s.forward(3_500_000), Some((4_000_000, 2)));
        // Just before an expiry the next one is that expiry, never a period beyond:
        // timer_gettime never reports more than the interval left.
        assert_eq!(s.forward(3_999_990), Some((4_000_000, 2)));
        assert_eq!(s.remaining(3_999_990).expires, 1000);
        let once = Setting {
            expires: 10,
            interval: 0,
        };
        assert_eq!(once.forward(10), None);
        assert_eq!(once.remaining(20), Setting::default());
        // A 1 ns period advances by MIN_PERIOD_NS at least, counting what it skips.
        let fast = Setting {
            expires: 100,
            interval: 1,
        };
        let (next, skipped) = fast.forward(100).unwrap();
        assert_eq!(next, 100 + MIN_PERIOD_NS);
        assert_eq!(skipped, MIN_PERIOD_NS - 1);
    }

    #[test]
    fn remaining_reports_at_least_a_microsecond() {
        let s = Setting {
            expires: 5000,
            interval: 7,
        };
        assert_eq!(s.remaining(4990).expires, 1000);
        assert_eq!(s.remaining(0).expires, 5000);
    }
}
