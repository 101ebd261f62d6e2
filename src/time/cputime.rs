//! CPU-time accounting: how long each thread ran in user mode and in the kernel, and
//! how long each CPU sat idle (Linux kernel/sched/cputime.c with
//! CONFIG_VIRT_CPU_ACCOUNTING_GEN: `vtime_user_enter`, `vtime_user_exit`,
//! `vtime_task_switch`).
//!
//! Why timestamps and not tick sampling: IRQs are masked while a CPU runs in the
//! kernel, so a tick never lands there, and sampling would call every kernel moment
//! user time. Instead the counter is read at each transition and the time since the
//! previous one is charged to the mode the thread was in:
//!
//! ```text
//!   user ──svc/fault/IRQ──► kernel ──eret──► user        (trap.rs)
//!        enter_kernel:           exit_to_user:
//!        user += now - stamp     system += now - stamp
//!   kernel ──schedule()──► other task                     (task/sched.rs)
//!        switch: prev's system += now - stamp (or the CPU's idle time, for its idle
//!        task); next's stamp = now
//! ```
//! A thread's times are atomics: only the CPU running it writes them, and anyone may
//! read them (/proc, getrusage, times, the CPU-time clocks).

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

/// One thread's CPU time (Linux `task->utime`, `stime`, `vtime`).
pub struct CpuTime {
    user_ns: AtomicU64,
    system_ns: AtomicU64,
    /// When the time not yet charged began.
    stamp: AtomicU64,
    /// The thread runs (or last ran) in user mode since `stamp`.
    in_user: AtomicBool,
}

/// User and system nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Times {
    pub user: u64,
    pub system: u64,
}

impl Times {
    pub fn total(&self) -> u64 {
        self.user.saturating_add(self.system)
    }
}

impl core::ops::AddAssign for Times {
    fn add_assign(&mut self, o: Times) {
        self.user = self.user.saturating_add(o.user);
        self.system = self.system.saturating_add(o.system);
    }
}

impl Default for CpuTime {
    fn default() -> Self {
        CpuTime::new()
    }
}

impl CpuTime {
    pub const fn new() -> CpuTime {
        CpuTime {
            user_ns: AtomicU64::new(0),
            system_ns: AtomicU64::new(0),
            stamp: AtomicU64::new(0),
            in_user: AtomicBool::new(false),
        }
    }

    /// Time since the last transition, which now becomes `now`.
    fn elapsed(&self, now: u64) -> u64 {
        now.saturating_sub(self.stamp.swap(now, Relaxed))
    }

    /// Entry from EL0: the time since the return to user mode was user time. Returns the
    /// time charged (for the CPU's totals). A no-op (0) if the thread was in the kernel
    /// already (an interrupt taken in the idle loop).
    pub fn enter_kernel(&self, now: u64) -> u64 {
        if !self.in_user.swap(false, Relaxed) {
            return 0;
        }
        let d = self.elapsed(now);
        self.user_ns.fetch_add(d, Relaxed);
        d
    }

    /// Return to EL0: the time since entry (or since the switch to this thread) was
    /// system time; returns it.
    pub fn exit_to_user(&self, now: u64) -> u64 {
        let d = self.elapsed(now);
        self.system_ns.fetch_add(d, Relaxed);
        self.in_user.store(true, Relaxed);
        d
    }

    /// The thread is switched away from (in the kernel): system time until now.
    pub fn switch_out(&self, now: u64) -> u64 {
        let d = self.elapsed(now);
        self.system_ns.fetch_add(d, Relaxed);
        d
    }

    /// The thread is switched to: its clock starts now.
    pub fn switch_in(&self, now: u64) {
        self.stamp.store(now, Relaxed);
        self.in_user.store(false, Relaxed);
    }

    /// The thread's times; `running`: it is on a CPU now, so the time since its last
    /// transition counts too (Linux `task_cputime` adds the running delta the same way).
    pub fn read(&self, now: u64, running: bool) -> Times {
        let mut t = Times {
            user: self.user_ns.load(Relaxed),
            system: self.system_ns.load(Relaxed),
        };
        if running {
            let d = now.saturating_sub(self.stamp.load(Relaxed));
            if self.in_user.load(Relaxed) {
                t.user += d;
            } else {
                t.system += d;
            }
        }
        t
    }
}

/// Nanoseconds as clock ticks of USER_HZ (100 a second: what times(2), /proc and
/// SIGCHLD's si_utime count in, on every Linux architecture).
pub const USER_HZ: u64 = 100;

pub fn ns_to_clock_t(ns: u64) -> u64 {
    ns / (1_000_000_000 / USER_HZ)
}

/// `struct rusage` (144 bytes on arm64): ru_utime and ru_stime as timevals, ru_maxrss
/// in KiB, the other counters 0 (not kept here).
pub fn rusage_bytes(t: Times, maxrss_kb: u64) -> [u8; 144] {
    let mut b = [0u8; 144];
    for (i, ns) in [t.user, t.system].into_iter().enumerate() {
        b[16 * i..16 * i + 8].copy_from_slice(&(ns / 1_000_000_000).to_le_bytes());
        b[16 * i + 8..16 * i + 16].copy_from_slice(&(ns % 1_000_000_000 / 1000).to_le_bytes());
    }
    b[32..40].copy_from_slice(&maxrss_kb.to_le_bytes());
    b
}

#[cfg(target_os = "none")]
pub use kernel::*;

#[cfg(target_os = "none")]
mod kernel {
    use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

    use super::CpuTime;
    use crate::arch::percpu::MAX_CPUS;

    /// One CPU's totals for /proc/stat's "cpuN" line (Linux `kernel_cpustat`).
    struct CpuStat {
        user: AtomicU64,
        system: AtomicU64,
        idle: AtomicU64,
        /// When the CPU went idle, or u64::MAX while it runs a task.
        idle_since: AtomicU64,
    }

    static CPU_STAT: [CpuStat; MAX_CPUS] = [const {
        CpuStat {
            user: AtomicU64::new(0),
            system: AtomicU64::new(0),
            idle: AtomicU64::new(0),
            idle_since: AtomicU64::new(u64::MAX),
        }
    }; MAX_CPUS];

    fn this_cpu() -> &'static CpuStat {
        &CPU_STAT[crate::arch::percpu::this_cpu().id as usize]
    }

    /// trap.rs, on every entry from EL0: charge the user time that just ended.
    pub fn account_enter_kernel(t: &CpuTime) {
        let d = t.enter_kernel(crate::time::monotonic_ns());
        this_cpu().user.fetch_add(d, Relaxed);
    }

    /// trap.rs, on every return to EL0: charge the kernel time that just ended.
    pub fn account_exit_to_user(t: &CpuTime) {
        let d = t.exit_to_user(crate::time::monotonic_ns());
        this_cpu().system.fetch_add(d, Relaxed);
    }

    /// The scheduler, switching `prev` → `next` on this CPU (either may be the idle
    /// task, whose time is the CPU's idle time: Linux `vtime_task_switch`).
    pub fn account_switch(prev: &CpuTime, prev_idle: bool, next: &CpuTime, next_idle: bool) {
        let now = crate::time::monotonic_ns();
        let stat = this_cpu();
        let d = prev.switch_out(now);
        if prev_idle {
            stat.idle.fetch_add(d, Relaxed);
        } else {
            stat.system.fetch_add(d, Relaxed);
        }
        next.switch_in(now);
        stat.idle_since
            .store(if next_idle { now } else { u64::MAX }, Relaxed);
    }

    /// CPU `cpu`'s user, system and idle nanoseconds (/proc/stat, /proc/uptime).
    pub fn cpu_times(cpu: usize) -> (u64, u64, u64) {
        let s = &CPU_STAT[cpu];
        let mut idle = s.idle.load(Relaxed);
        let since = s.idle_since.load(Relaxed);
        if since != u64::MAX {
            idle += crate::time::monotonic_ns().saturating_sub(since);
        }
        (s.user.load(Relaxed), s.system.load(Relaxed), idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_charge_the_right_mode() {
        let t = CpuTime::new();
        t.switch_in(100);
        assert_eq!(t.exit_to_user(130), 30); // 30 ns in the kernel before eret
        assert_eq!(t.enter_kernel(1130), 1000); // 1000 ns in user mode
        assert_eq!(t.enter_kernel(1200), 0); // already in the kernel: nothing
        assert_eq!(t.switch_out(1150 + 100), 120);
        assert_eq!(
            t.read(5000, false),
            Times {
                user: 1000,
                system: 150
            }
        );
        t.switch_in(6000);
        t.exit_to_user(6000);
        // Running in user mode since 6000: a reader sees that time as user time.
        assert_eq!(t.read(6500, true).user, 1500);
        assert_eq!(ns_to_clock_t(1_234_567_890), 123);
    }
}
