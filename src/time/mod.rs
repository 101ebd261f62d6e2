//! The kernel's clocks (Linux kernel/time/): CLOCK_MONOTONIC is the generic timer's count
//! since boot; CLOCK_REALTIME adds the wall-clock time of boot, read from the PL031 RTC
//! (drivers/pl031.rs) — the real date — or 0 (1970) on a machine without one.
//!
//! The submodules: the timer queue and tickless idle (timer.rs), the processes'
//! interval and POSIX timers (itimer.rs), CPU-time accounting (cputime.rs). See
//! docs/time.md.

pub mod cputime;
pub mod itimer;
pub mod timer;

use core::sync::atomic::{AtomicU64, Ordering};

/// Nanoseconds since the epoch at boot (the RTC's reading minus the time since boot).
static BOOT_REALTIME_NS: AtomicU64 = AtomicU64::new(0);

/// Nanoseconds since boot.
pub fn monotonic_ns() -> u64 {
    #[cfg(target_os = "none")]
    {
        crate::arch::timer::now_ns()
    }
    #[cfg(not(target_os = "none"))]
    {
        0
    }
}

/// Nanoseconds since the epoch.
pub fn realtime_ns() -> u64 {
    BOOT_REALTIME_NS.load(Ordering::Relaxed) + monotonic_ns()
}

/// The RTC said `seconds` since the epoch now (boot).
pub fn set_realtime(seconds: u64) {
    let now = seconds.saturating_mul(1_000_000_000);
    let offset = now.saturating_sub(monotonic_ns());
    BOOT_REALTIME_NS.store(offset, Ordering::Relaxed);
    // The vDSO's copy, for CLOCK_REALTIME read in user space.
    crate::vdso::update_realtime(offset);
}
