//! CPU-time accounting: how long each thread ran in user mode and in the kernel, and
//! how long each CPU sat idle (Linux kernel/sched/cputime.c with
//! CONFIG_VIRT_CPU_ACCOUNTING_GEN: `vtime_user_enter`, `vtime_user_exit`,
//! `vtime_task_switch`).
//!
//! Why timestamps and not tick sampling: IRQs are masked while a CPU runs in the
//! kernel, so a tick never lands there, and sampling would call every kernel moment
//! user time. Instead the counter is read at each transition, and kept in raw counter
//! ticks until somebody asks (Linux keeps its vtime deltas cheap the same way):
//!
//! ```text
//!   user ──svc/fault/IRQ──► kernel ──eret──► user      (arch/aarch64/exception.rs)
//!        kstamp = now            stime += now - kstamp; kstamp = 0
//!   kernel ──schedule()──► other task                   (task/sched.rs → account_switch)
//!        prev: system += stime + (now - kstamp), user += the rest of (now - start)
//!        next: start = kstamp = now, stime = 0
//! ```
//! The per-CPU fields (`kstamp`, `stime`, `start`: arch/aarch64/percpu.rs `Vtime`)
//! belong to the thread running there; `account_switch` charges them to the thread's
//! `CpuTime` and to the CPU's totals. A system call thus pays one store on entry and
//! four instructions on return — no conversion, no atomic read-modify-write — and user
//! time costs nothing at all until the switch: it is the part of the running stretch
//! that was not kernel time.
//!
//! A thread's times are atomics: only the CPU running it writes them, and anyone may
//! read them (/proc, getrusage, times, the CPU-time clocks); a running thread's reader
//! adds the stretch not yet charged, read from its CPU's `Vtime` (`CpuTime::read`).

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One thread's CPU time, in counter ticks, charged up to its last switch away (Linux
/// `task->utime`, `stime`).
pub struct CpuTime {
    user: AtomicU64,
    system: AtomicU64,
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

/// The part of a running stretch not yet charged, in ticks: (user, system). The
/// stretch began at `start`; `stime` kernel ticks were counted up to `kstamp`, and if
/// `kstamp` is not 0 the thread is in the kernel since then.
pub fn live_split(now: u64, start: u64, kstamp: u64, stime: u64) -> (u64, u64) {
    let system = if kstamp != 0 {
        stime + now.saturating_sub(kstamp)
    } else {
        stime
    };
    (now.saturating_sub(start).saturating_sub(system), system)
}

impl CpuTime {
    pub const fn new() -> CpuTime {
        CpuTime {
            user: AtomicU64::new(0),
            system: AtomicU64::new(0),
        }
    }

    /// Charges a stretch (ticks). Only the CPU that ran the thread calls it.
    pub fn charge(&self, user: u64, system: u64) {
        self.user.store(self.user.load(Relaxed) + user, Relaxed);
        self.system
            .store(self.system.load(Relaxed) + system, Relaxed);
    }

    /// The ticks charged so far: (user, system).
    pub fn charged(&self) -> (u64, u64) {
        (self.user.load(Relaxed), self.system.load(Relaxed))
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

    use super::{CpuTime, Times, live_split};
    use crate::arch::percpu::{self, MAX_CPUS, Vtime};
    use crate::arch::timer::{counter, ticks_to_ns};

    /// One CPU's totals for /proc/stat's "cpuN" line (Linux `kernel_cpustat`), in
    /// ticks, charged at each switch.
    struct CpuStat {
        user: AtomicU64,
        system: AtomicU64,
        idle: AtomicU64,
    }

    static CPU_STAT: [CpuStat; MAX_CPUS] = [const {
        CpuStat {
            user: AtomicU64::new(0),
            system: AtomicU64::new(0),
            idle: AtomicU64::new(0),
        }
    }; MAX_CPUS];

    fn ns(t: (u64, u64)) -> Times {
        Times {
            user: ticks_to_ns(t.0),
            system: ticks_to_ns(t.1),
        }
    }

    /// The scheduler, switching `prev` → `next` on this CPU (either may be the idle
    /// task, whose time is the CPU's idle time: Linux `vtime_task_switch`). prev's
    /// stretch since it was switched in is charged to it and to the CPU's totals; next's
    /// begins. `seq` is odd meanwhile, so that a reader on another CPU never adds this
    /// CPU's stretch to a thread it no longer belongs to.
    pub fn account_switch(prev: &CpuTime, prev_idle: bool, next: &CpuTime, next_idle: bool) {
        let cpu = percpu::this_cpu();
        let v = &cpu.vtime;
        let stat = &CPU_STAT[cpu.id as usize];
        let now = counter();
        let seq = v.seq.load(Relaxed);
        v.seq.store(seq.wrapping_add(1), Relaxed);
        core::sync::atomic::fence(core::sync::atomic::Ordering::Release);
        let (user, system) = live_split(
            now,
            v.start.load(Relaxed),
            v.kstamp.load(Relaxed),
            v.stime.load(Relaxed),
        );
        // Only this CPU writes its totals: a load and a store, no read-modify-write.
        let add = |a: &AtomicU64, d: u64| a.store(a.load(Relaxed) + d, Relaxed);
        if prev_idle {
            add(&stat.idle, user + system);
        } else {
            prev.charge(user, system);
            add(&stat.user, user);
            add(&stat.system, system);
        }
        v.start.store(now, Relaxed);
        v.kstamp.store(now, Relaxed);
        v.stime.store(0, Relaxed);
        v.owner.store(
            if next_idle {
                0
            } else {
                next as *const CpuTime as usize
            },
            Relaxed,
        );
        v.seq
            .store(seq.wrapping_add(2), core::sync::atomic::Ordering::Release);
    }

    /// Reads a CPU's stretch if it belongs to `owner` (0: the idle task), consistently
    /// (Linux `vtime_delta` under `vtime->seqcount`): Some((user, system)) in ticks, or
    /// None if another thread runs there. `also` reads, inside the same window, what
    /// the caller adds to it (the charged times), so that a switch charging the stretch
    /// meanwhile is never counted twice or missed.
    fn read_stretch<R>(v: &Vtime, owner: usize, also: impl Fn() -> R) -> Option<((u64, u64), R)> {
        use core::sync::atomic::{Ordering::Acquire, fence};
        loop {
            let seq = v.seq.load(Acquire);
            if seq & 1 != 0 {
                core::hint::spin_loop();
                continue;
            }
            let mine = v.owner.load(Relaxed) == owner;
            let start = v.start.load(Relaxed);
            // start 0: no thread was ever switched in there (a CPU not started).
            let split = match start {
                0 => (0, 0),
                _ => live_split(
                    counter(),
                    start,
                    v.kstamp.load(Relaxed),
                    v.stime.load(Relaxed),
                ),
            };
            let extra = also();
            fence(Acquire);
            if v.seq.load(Relaxed) == seq {
                return mine.then_some((split, extra));
            }
        }
    }

    impl CpuTime {
        /// The thread's times in ns; `running`: it may be on a CPU now, so the stretch
        /// not yet charged counts too (Linux `task_cputime` adds it the same way). The
        /// reader's own thread, on its own CPU, is exact; another CPU's running thread
        /// is read as that CPU last wrote its fields (plain loads: within one stretch a
        /// few ticks may show as user before they show as system).
        pub fn read(&self, running: bool) -> Times {
            if running {
                let me = self as *const CpuTime as usize;
                for cpu in percpu::all() {
                    if let Some(((u, s), (cu, cs))) =
                        read_stretch(&cpu.vtime, me, || self.charged())
                    {
                        return ns((cu + u, cs + s));
                    }
                }
            }
            ns(self.charged())
        }
    }

    /// CPU `cpu`'s user, system and idle nanoseconds (/proc/stat, /proc/uptime): its
    /// totals, and the stretch of whatever runs there now (the idle task's is idle).
    pub fn cpu_times(cpu: usize) -> (u64, u64, u64) {
        let s = &CPU_STAT[cpu];
        let v = &percpu::all().nth(cpu).expect("a CPU number").vtime;
        let totals = || {
            (
                s.user.load(Relaxed),
                s.system.load(Relaxed),
                s.idle.load(Relaxed),
            )
        };
        loop {
            let owner = v.owner.load(Relaxed);
            if let Some(((u, sy), (user, system, idle))) = read_stretch(v, owner, totals) {
                return if owner == 0 {
                    tri(user, system, idle + u + sy)
                } else {
                    tri(user + u, system + sy, idle)
                };
            }
        }
    }

    fn tri(user: u64, system: u64, idle: u64) -> (u64, u64, u64) {
        (ticks_to_ns(user), ticks_to_ns(system), ticks_to_ns(idle))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stretch_splits_into_user_and_kernel_time() {
        // Switched in at 100, 30 ticks in the kernel before eret (stime 30 after it).
        assert_eq!(live_split(130, 100, 0, 30), (0, 30));
        // Back at EL0 since 130: the ticks since then are user time.
        assert_eq!(live_split(1130, 100, 0, 30), (1000, 30));
        // In the kernel again since 1130: those ticks are system time.
        assert_eq!(live_split(1200, 100, 1130, 30), (1000, 100));
        let t = CpuTime::new();
        t.charge(1000, 100);
        t.charge(5, 6);
        assert_eq!(t.charged(), (1005, 106));
        assert_eq!(ns_to_clock_t(1_234_567_890), 123);
    }
}
