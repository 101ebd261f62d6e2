//! The ARM generic timer (ARM ARM D11): the virtual counter for clock_gettime and the
//! EL1 virtual timer (PPI 27 on QEMU virt), programmed one-shot for the next event
//! (the timer queue's earliest deadline or the scheduler's tick: src/time/timer.rs).

use aarch64_cpu::registers::{
    CNTFRQ_EL0, CNTV_CTL_EL0, CNTV_CVAL_EL0, CNTVCT_EL0, Readable, Writeable,
};

/// Interrupt ID of the EL1 virtual timer (a PPI: 16 + 11).
pub const VIRTUAL_TIMER_IRQ: u32 = 27;

pub fn frequency() -> u64 {
    CNTFRQ_EL0.get()
}

pub fn counter() -> u64 {
    CNTVCT_EL0.get()
}

/// Nanoseconds since boot: ⌊ticks × 10⁹ / freq⌋, computed as whole seconds plus the
/// remainder (below freq, a 32-bit value, so `rem × 10⁹` fits in 64 bits). Exactly the
/// 128-bit quotient, with two hardware divisions instead of a 128-bit division routine
/// (about a hundred instructions, twice per system call for the CPU-time accounting);
/// the vDSO computes it the same way (vdso/vvar.rs `ticks_to_ns`).
pub fn now_ns() -> u64 {
    ticks_to_ns(counter())
}

/// Counter ticks as nanoseconds (the conversion of `now_ns`; CPU times are kept in
/// ticks and converted by this when read).
pub fn ticks_to_ns(ticks: u64) -> u64 {
    let freq = frequency().max(1);
    (ticks / freq)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ticks % freq * 1_000_000_000 / freq)
}

/// Programs the timer to interrupt at `at_ns` (ns since boot; at once if past), or
/// stops it (None). The comparator is absolute (CNTV_CVAL), so a late write does not
/// push the event later. The interrupt is level-triggered: it stays pending until the
/// timer is reprogrammed or stopped, which the handler does (irq.rs `handle`).
pub fn program(at_ns: Option<u64>) {
    match at_ns {
        Some(ns) => {
            // Rounded up: when it fires, now_ns() >= at_ns.
            let ticks = (ns as u128 * frequency() as u128).div_ceil(1_000_000_000);
            CNTV_CVAL_EL0.set(ticks.min(u64::MAX as u128) as u64);
            CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
        }
        None => CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR),
    }
}
