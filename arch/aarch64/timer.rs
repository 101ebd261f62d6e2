//! The ARM generic timer (ARM ARM D11): the virtual counter for clock_gettime and the
//! EL1 virtual timer (PPI 27 on QEMU virt), programmed one-shot for the next event
//! (the timer queue's earliest deadline or the scheduler's tick: src/time/timer.rs).

use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

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

/// Nanoseconds since boot: `ticks_to_ns` of the counter.
pub fn now_ns() -> u64 {
    ticks_to_ns(counter())
}

/// ns per tick as a whole part and a fraction × 2⁶⁴ (src/vdso/vvar.rs `ns_per_tick`,
/// which computes the same from the same CNTFRQ for the vDSO's page; src/vdso checks at
/// boot that both agree). Cached: CNTFRQ never changes.
static MULT: AtomicU64 = AtomicU64::new(0);
static MULT_FRAC: AtomicU64 = AtomicU64::new(0);

/// `(mult, frac)`: 10⁹/freq = mult + frac/2⁶⁴, frac rounded down (long division, no
/// 128-bit division routine).
pub fn ns_per_tick() -> (u64, u64) {
    let (m, f) = (MULT.load(Relaxed), MULT_FRAC.load(Relaxed));
    if m != 0 || f != 0 {
        return (m, f);
    }
    let freq = frequency().max(1);
    let (m, mut rem) = (1_000_000_000 / freq, 1_000_000_000 % freq);
    let mut f = 0u64;
    for _ in 0..64 {
        rem <<= 1; // rem < freq < 2⁶³
        f <<= 1;
        if rem >= freq {
            rem -= freq;
            f |= 1;
        }
    }
    // Any CPU may compute it first: all compute the same values.
    MULT.store(m, Relaxed);
    MULT_FRAC.store(f, Relaxed);
    (m, f)
}

/// Counter ticks as nanoseconds: ticks × (mult + frac/2⁶⁴), rounded down — one multiply
/// and one multiply-high (Linux's clocksource `(cycles * mult) >> shift`), the vDSO's
/// formula (vvar.rs `ticks_to_ns`). Exact when the frequency divides 10⁹ (QEMU's
/// 62.5 MHz: 16 ns a tick); otherwise ⌊ticks × 10⁹ / freq⌋ or one less. CPU times are
/// kept in ticks and converted by this when read.
pub fn ticks_to_ns(ticks: u64) -> u64 {
    let (m, f) = ns_per_tick();
    ticks
        .wrapping_mul(m)
        .wrapping_add(((ticks as u128 * f as u128) >> 64) as u64)
}

/// Programs the timer to interrupt at `at_ns` (ns since boot; at once if past), or
/// stops it (None). The comparator is absolute (CNTV_CVAL), so a late write does not
/// push the event later. The interrupt is level-triggered: it stays pending until the
/// timer is reprogrammed or stopped, which the handler does (irq.rs `handle`).
pub fn program(at_ns: Option<u64>) {
    match at_ns {
        Some(ns) => {
            // Rounded up: when it fires, now_ns() >= at_ns (now_ns may be one below the
            // exact quotient: one more tick then).
            let ticks = (ns as u128 * frequency() as u128).div_ceil(1_000_000_000);
            let mut ticks = ticks.min(u64::MAX as u128) as u64;
            if ticks < u64::MAX && ticks_to_ns(ticks) < ns {
                ticks += 1;
            }
            CNTV_CVAL_EL0.set(ticks);
            CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
        }
        None => CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR),
    }
}
