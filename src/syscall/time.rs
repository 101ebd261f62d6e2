//! Time system calls (Linux kernel/time/posix-timers.c, posix-cpu-timers.c, hrtimer.c,
//! itimer.c, kernel/sys.c): the clocks, sleeping and restart_syscall, interval and
//! POSIX timers, and the CPU-time reports times and getrusage. The mechanisms are in
//! src/time/ (the timer queue, the process timers, CPU-time accounting); this file
//! decodes the user's structures and applies Linux's rules and errors.

use crate::error::{Errno, KResult};
use crate::mm::uaccess;
use crate::sync::wait::{self, WaitChan, WakeReason};
use crate::task::sched::{self, current};
use crate::task::{RestartBlock, group_cputime};
use crate::time::cputime::{Times, ns_to_clock_t, rusage_bytes};
use crate::time::itimer::{self, Notify, Setting};

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
const CLOCK_MONOTONIC_RAW: i32 = 4;
const CLOCK_REALTIME_COARSE: i32 = 5;
const CLOCK_MONOTONIC_COARSE: i32 = 6;
const CLOCK_BOOTTIME: i32 = 7;

const NSEC_PER_SEC: u64 = 1_000_000_000;
/// The resolution of the tick-based CPU clocks (Linux: TICK_NSEC; this kernel's HZ is
/// 100).
const TICK_NSEC: u64 = crate::time::timer::TICK_NS;

/// A CPU-time clock (Linux include/linux/posix-timers.h `CPUCLOCK_*`): which process
/// or thread, and what it counts. clock_getcpuclockid(pid) is `(~pid << 3) | 2`,
/// pthread_getcpuclockid(tid) `(~tid << 3) | 4 | 2`; pid 0 means the caller.
#[derive(Clone, Copy)]
enum CpuClock {
    Process(u32, Count),
    Thread(u32, Count),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Count {
    /// CPUCLOCK_PROF: user + system.
    Prof,
    /// CPUCLOCK_VIRT: user.
    Virt,
    /// CPUCLOCK_SCHED: all the time run (user + system here).
    Sched,
}

/// Decodes a CPU-time clock id; None if `clock` is not one, EINVAL if it names no
/// process or thread it may (Linux `pid_for_clock`: a thread of the caller's process,
/// any process).
fn cpu_clock(clock: i32) -> KResult<Option<CpuClock>> {
    let cur = current();
    match clock {
        CLOCK_PROCESS_CPUTIME_ID => return Ok(Some(CpuClock::Process(cur.tgid, Count::Sched))),
        CLOCK_THREAD_CPUTIME_ID => return Ok(Some(CpuClock::Thread(cur.tid, Count::Sched))),
        c if c >= 0 => return Ok(None),
        _ => {}
    }
    let count = match clock & 3 {
        0 => Count::Prof,
        1 => Count::Virt,
        2 => Count::Sched,
        _ => return Err(Errno::EINVAL), // CLOCKFD: a dynamic clock of a file (none here)
    };
    let pid = !(clock >> 3) as u32;
    let thread = clock & 4 != 0;
    let target = match (pid, thread) {
        (0, true) => CpuClock::Thread(cur.tid, count),
        (0, false) => CpuClock::Process(cur.tgid, count),
        (tid, true) => match sched::find_task(tid) {
            Some(t) if t.tgid == cur.tgid => CpuClock::Thread(tid, count),
            _ => return Err(Errno::EINVAL),
        },
        // The caller's own tid names its process too (clock_gettime only, in Linux).
        (tid, false) if tid == cur.tid => CpuClock::Process(cur.tgid, count),
        (pid, false) => match sched::find_task(pid) {
            Some(t) if t.is_group_leader() => CpuClock::Process(pid, count),
            _ => return Err(Errno::EINVAL),
        },
    };
    Ok(Some(target))
}

/// A CPU-time clock's reading in ns.
fn cpu_clock_now(c: CpuClock) -> KResult<u64> {
    let (t, count) = match c {
        CpuClock::Process(tgid, count) => (group_cputime(tgid).0, count),
        CpuClock::Thread(tid, count) => {
            let task = sched::find_task(tid).ok_or(Errno::EINVAL)?;
            (task.cputime_now(), count)
        }
    };
    Ok(match count {
        Count::Virt => t.user,
        Count::Prof | Count::Sched => t.total(),
    })
}

/// The time of `clock` in nanoseconds (src/time/): the wall clock for the REALTIME
/// clocks, time since boot for the others (no time is spent suspended here, so
/// BOOTTIME is MONOTONIC), CPU time for the CPU-time clocks.
fn clock_now(clock: i32) -> KResult<u64> {
    match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE => Ok(crate::time::realtime_ns()),
        CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
            Ok(crate::time::monotonic_ns())
        }
        _ => match cpu_clock(clock)? {
            Some(c) => cpu_clock_now(c),
            None => Err(Errno::EINVAL),
        },
    }
}

/// clock_gettime(2).
pub fn clock_gettime(clock: i32, ts: usize) -> KResult<usize> {
    let now = clock_now(clock)?;
    uaccess::put_timespec(ts, now)?;
    Ok(0)
}

/// clock_getres(2): the resolution Linux 6.1 reports — 1 ns for the high-resolution
/// clocks and CPUCLOCK_SCHED, a tick for the coarse ones (4 ms with Debian's HZ=250)
/// and the tick-sampled CPU clocks (Linux `posix_cpu_clock_getres`). A NULL `res`
/// only checks the clock.
pub fn clock_getres(clock: i32, res: usize) -> KResult<usize> {
    clock_now(clock)?;
    let ns = match clock {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => 4_000_000,
        c if c < 0 && c & 3 != 2 => TICK_NSEC,
        _ => 1,
    };
    if res != 0 {
        uaccess::put_timespec(res, ns)?;
    }
    Ok(0)
}

/// gettimeofday(2): the wall clock in microseconds; the timezone (obsolete) is zeros.
pub fn gettimeofday(tv: usize, tz: usize) -> KResult<usize> {
    if tv != 0 {
        put_timeval(tv, crate::time::realtime_ns())?;
    }
    if tz != 0 {
        uaccess::copy_to_user(tz, &[0u8; 8])?;
    }
    Ok(0)
}

// ---- Sleeping --------------------------------------------------------------------

const TIMER_ABSTIME: u32 = 1;

/// nanosleep(2): a relative sleep on CLOCK_MONOTONIC.
pub fn nanosleep(req: usize, rem: usize) -> KResult<usize> {
    current().inner.lock().restart_block = None;
    let ns = uaccess::get_timespec(req)?;
    let deadline = crate::time::monotonic_ns().saturating_add(ns);
    do_nanosleep(CLOCK_MONOTONIC, deadline, rem, true)
}

/// clock_nanosleep(2) (Linux `common_nsleep`): relative, or until an absolute time of
/// CLOCK_REALTIME, MONOTONIC or BOOTTIME (TIMER_ABSTIME). EINVAL for unknown clocks,
/// EOPNOTSUPP for the clocks Linux 6.1 cannot sleep on (RAW, COARSE, a thread's CPU
/// clock: checked with linux-oracle.sh) and for the process CPU clocks (Linux can; not
/// implemented here). The error is returned itself, not -1 (the libc's wrapper does
/// that).
pub fn clock_nanosleep(clock: i32, flags: u32, req: usize, rem: usize) -> KResult<usize> {
    match clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME => {}
        CLOCK_MONOTONIC_RAW | CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => {
            return Err(Errno::EOPNOTSUPP);
        }
        _ => {
            return match cpu_clock(clock)? {
                Some(_) => Err(Errno::EOPNOTSUPP),
                None => Err(Errno::EINVAL),
            };
        }
    }
    current().inner.lock().restart_block = None;
    let ns = uaccess::get_timespec(req)?;
    if flags & TIMER_ABSTIME != 0 {
        return do_nanosleep(clock, ns, 0, false);
    }
    // A relative sleep runs on CLOCK_MONOTONIC whatever the clock (Linux
    // `__hrtimer_init`): a change of the wall clock does not stretch it.
    let deadline = crate::time::monotonic_ns().saturating_add(ns);
    do_nanosleep(CLOCK_MONOTONIC, deadline, rem, true)
}

/// A time of `clock` as CLOCK_MONOTONIC ns (the wall clock is set only at boot, so
/// the difference is fixed).
fn to_monotonic(clock: i32, ns: u64) -> u64 {
    match clock {
        CLOCK_REALTIME => {
            let offset = crate::time::realtime_ns().saturating_sub(crate::time::monotonic_ns());
            ns.saturating_sub(offset)
        }
        _ => ns,
    }
}

/// Linux `do_nanosleep` + `hrtimer_nanosleep`: sleeps until `deadline` of `clock`. A
/// signal ends it: a relative sleep stores the time left at `rmtp` (if not 0) and
/// remembers where it was for restart_syscall (-ERESTART_RESTARTBLOCK: restarted if no
/// handler ran, else EINTR); an absolute one is simply restarted (-ERESTARTNOHAND).
fn do_nanosleep(clock: i32, deadline: u64, rmtp: usize, relative: bool) -> KResult<usize> {
    let until = to_monotonic(clock, deadline);
    loop {
        if crate::time::monotonic_ns() >= until {
            return Ok(0);
        }
        // Only the deadline wakes a Timer sleep; a wakeup of a channel sharing its
        // counter is spurious, hence the loop.
        let seq = wait::prepare(WaitChan::Timer);
        match wait::sleep_interruptible(WaitChan::Timer, Some(until), seq) {
            WakeReason::Killed => return Err(Errno::EINTR),
            WakeReason::Interrupted => break,
            _ => {}
        }
    }
    let left = until.saturating_sub(crate::time::monotonic_ns());
    if left == 0 {
        return Ok(0);
    }
    if !relative {
        return Err(Errno::ERESTARTNOHAND);
    }
    if rmtp != 0 {
        uaccess::put_timespec(rmtp, left)?;
    }
    current().inner.lock().restart_block = Some(RestartBlock::Nanosleep {
        clockid: clock,
        deadline_ns: deadline,
        rmtp,
    });
    Err(Errno::ERESTART_RESTARTBLOCK)
}

/// restart_syscall(2): what the return path runs instead of a system call that a
/// signal interrupted with -ERESTART_RESTARTBLOCK and no handler ran for; it continues
/// the call from its restart block (Linux `sys_restart_syscall`), or -EINTR if there is
/// none (`do_no_restart_syscall`).
pub fn restart_syscall() -> KResult<usize> {
    let block = current().inner.lock().restart_block.take();
    match block {
        Some(RestartBlock::Nanosleep {
            clockid,
            deadline_ns,
            rmtp,
        }) => do_nanosleep(clockid, deadline_ns, rmtp, true),
        None => Err(Errno::EINTR),
    }
}

// ---- Interval timers ----------------------------------------------------------------

/// A `struct timeval` (EINVAL unless 0 <= tv_usec < 1000000 and tv_sec >= 0).
fn get_timeval(addr: usize) -> KResult<u64> {
    let (sec, usec) = (
        uaccess::get_user_u64(addr)? as i64,
        uaccess::get_user_u64(addr + 8)? as i64,
    );
    if sec < 0 || !(0..1_000_000).contains(&usec) {
        return Err(Errno::EINVAL);
    }
    Ok((sec as u64)
        .saturating_mul(NSEC_PER_SEC)
        .saturating_add(usec as u64 * 1000))
}

fn put_timeval(addr: usize, ns: u64) -> KResult<()> {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&(ns / NSEC_PER_SEC).to_le_bytes());
    b[8..].copy_from_slice(&(ns % NSEC_PER_SEC / 1000).to_le_bytes());
    uaccess::copy_to_user(addr, &b)
}

/// `struct itimerval` / `struct itimerspec`: the interval, then the value. `us`: the
/// timeval form.
fn put_setting(addr: usize, s: Setting, us: bool) -> KResult<()> {
    let put = if us {
        put_timeval
    } else {
        uaccess::put_timespec
    };
    put(addr, s.interval)?;
    // A value of a few ns would read as 0 µs: "disarmed". Linux rounds up.
    let value = if us && s.expires != 0 {
        s.expires.div_ceil(1000) * 1000
    } else {
        s.expires
    };
    put(addr + 16, value)
}

/// The process's CPU time as the CPU timers count it: [user, user + system].
fn process_cpu() -> [u64; 2] {
    let t = group_cputime(current().tgid).0;
    [t.user, t.total()]
}

/// getitimer(2).
pub fn getitimer(which: u32, value: usize) -> KResult<usize> {
    let s = itimer::getitimer(current().tgid, which, process_cpu())?;
    put_setting(value, s, true)?;
    Ok(0)
}

/// setitimer(2) (glibc's alarm() too). A NULL new value disarms, as Linux 6.1 still
/// accepts.
pub fn setitimer(which: u32, new: usize, old: usize) -> KResult<usize> {
    let setting = if new != 0 {
        Setting {
            interval: get_timeval(new)?,
            expires: get_timeval(new + 16)?,
        }
    } else {
        Setting::default()
    };
    let prev = itimer::setitimer(current().tgid, which, setting, process_cpu())?;
    if old != 0 {
        put_setting(old, prev, true)?;
    }
    Ok(0)
}

// ---- POSIX timers -------------------------------------------------------------------

/// timer_create(2) (Linux `do_timer_create` and `good_sigevent`). Clocks: REALTIME,
/// MONOTONIC, BOOTTIME; EOPNOTSUPP for the clocks Linux has no timers on and for CPU-time
/// clocks (Linux has them; not implemented here), EINVAL for unknown ones.
pub fn timer_create(clock: i32, sevp: usize, timerid: usize) -> KResult<usize> {
    let cur = current();
    let mut sev = [0u8; 64];
    if sevp != 0 {
        uaccess::copy_from_user(&mut sev, sevp)?;
    }
    match clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME => {}
        CLOCK_MONOTONIC_RAW | CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => {
            return Err(Errno::EOPNOTSUPP);
        }
        _ if cpu_clock(clock)?.is_some() => return Err(Errno::EOPNOTSUPP),
        _ => return Err(Errno::EINVAL),
    }
    let notify = if sevp != 0 {
        let word = |o: usize| i32::from_le_bytes(sev[o..o + 4].try_into().unwrap());
        let value = u64::from_le_bytes(sev[0..8].try_into().unwrap());
        let (signo, how, tid) = (word(8), word(12), word(16));
        let valid_signo = (1..=64).contains(&signo);
        Some(match how {
            itimer::SIGEV_NONE => Notify::None,
            itimer::SIGEV_SIGNAL | itimer::SIGEV_THREAD if valid_signo => Notify::Signal {
                signo: signo as u32,
                value,
                thread: None,
            },
            itimer::SIGEV_THREAD_ID if valid_signo => match sched::find_task(tid as u32) {
                Some(t) if tid > 0 && t.tgid == cur.tgid => Notify::Signal {
                    signo: signo as u32,
                    value,
                    thread: Some(tid as u32),
                },
                _ => return Err(Errno::EINVAL),
            },
            _ => return Err(Errno::EINVAL),
        })
    } else {
        None
    };
    let limit = cur.rlimit(crate::task::rlimit::RLIMIT_SIGPENDING).cur;
    let id = itimer::timer_create(cur.tgid, clock, notify, limit)?;
    if let Err(e) = uaccess::put_user_u32(timerid, id as u32) {
        let _ = itimer::timer_delete(cur.tgid, id);
        return Err(e);
    }
    Ok(0)
}

/// timer_settime(2): TIMER_ABSTIME takes the value as a time of the timer's clock; a
/// zero value disarms. The old setting is written if asked.
pub fn timer_settime(id: i32, flags: u32, new: usize, old: usize) -> KResult<usize> {
    let tgid = current().tgid;
    if new == 0 {
        return Err(Errno::EINVAL);
    }
    let (interval, value) = (
        uaccess::get_timespec(new)?,
        uaccess::get_timespec(new + 16)?,
    );
    let clock = itimer::timer_clock(tgid, id)?;
    let expires = match value {
        0 => 0,
        v if flags & TIMER_ABSTIME != 0 => to_monotonic(clock, v).max(1),
        v => crate::time::monotonic_ns().saturating_add(v),
    };
    let prev = itimer::timer_settime(tgid, id, Setting { expires, interval })?;
    if old != 0 {
        put_setting(old, prev, false)?;
    }
    Ok(0)
}

/// timer_gettime(2).
pub fn timer_gettime(id: i32, value: usize) -> KResult<usize> {
    let s = itimer::timer_gettime(current().tgid, id)?;
    put_setting(value, s, false)?;
    Ok(0)
}

/// timer_getoverrun(2) (see time/itimer.rs for what counts as an overrun here).
pub fn timer_getoverrun(id: i32) -> KResult<usize> {
    Ok(itimer::timer_getoverrun(current().tgid, id)? as usize)
}

/// timer_delete(2).
pub fn timer_delete(id: i32) -> KResult<usize> {
    itimer::timer_delete(current().tgid, id)?;
    Ok(0)
}

// ---- CPU-time reports ---------------------------------------------------------------

/// times(2) (Linux kernel/sys.c `do_sys_times`): the process's and its reaped
/// children's user and system time in clock ticks (USER_HZ); returns the ticks since
/// boot (Linux starts its count 5 minutes before 0 to catch wraparound bugs; only
/// differences mean anything).
pub fn times(buf: usize) -> KResult<usize> {
    if buf != 0 {
        let (me, children) = group_cputime(current().tgid);
        let mut b = [0u8; 32];
        for (i, ns) in [me.user, me.system, children.user, children.system]
            .into_iter()
            .enumerate()
        {
            b[8 * i..8 * i + 8].copy_from_slice(&ns_to_clock_t(ns).to_le_bytes());
        }
        uaccess::copy_to_user(buf, &b)?;
    }
    Ok(ns_to_clock_t(crate::time::monotonic_ns()) as usize)
}

const RUSAGE_SELF: i32 = 0;
const RUSAGE_CHILDREN: i32 = -1;
const RUSAGE_THREAD: i32 = 1;

/// getrusage(2) (Linux `getrusage`): the CPU times; ru_maxrss is the caller's resident
/// set now in KiB (no high-water mark is kept), 0 for the children; the fault and
/// context-switch counters are not kept (0).
pub fn getrusage(who: i32, usage: usize) -> KResult<usize> {
    let cur = current();
    let rss_kb = || {
        cur.mm().map_or(0, |mm| {
            mm.with(|space, _| space.resident_pages()) as u64
                * (crate::mm::frame::PAGE_SIZE as u64 / 1024)
        })
    };
    let (t, maxrss): (Times, u64) = match who {
        RUSAGE_SELF => (group_cputime(cur.tgid).0, rss_kb()),
        RUSAGE_CHILDREN => (group_cputime(cur.tgid).1, 0),
        RUSAGE_THREAD => (cur.cputime_now(), rss_kb()),
        _ => return Err(Errno::EINVAL),
    };
    uaccess::copy_to_user(usage, &rusage_bytes(t, maxrss))?;
    Ok(0)
}
