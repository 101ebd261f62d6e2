//! The ARM generic timer (ARM ARM D11): the virtual counter for clock_gettime and the
//! EL1 virtual timer (PPI 27 on QEMU virt) for the scheduler tick.

use aarch64_cpu::registers::{
    CNTFRQ_EL0, CNTV_CTL_EL0, CNTV_TVAL_EL0, CNTVCT_EL0, Readable, Writeable,
};

/// Interrupt ID of the EL1 virtual timer (a PPI: 16 + 11).
pub const VIRTUAL_TIMER_IRQ: u32 = 27;
/// Scheduler tick: 100 Hz, as Linux's HZ=100.
pub const TICK_HZ: u64 = 100;

pub fn frequency() -> u64 {
    CNTFRQ_EL0.get()
}

pub fn counter() -> u64 {
    CNTVCT_EL0.get()
}

/// Nanoseconds since boot.
pub fn now_ns() -> u64 {
    let (ticks, freq) = (counter() as u128, frequency() as u128);
    (ticks * 1_000_000_000 / freq) as u64
}

/// Arms the next tick.
pub fn rearm() {
    CNTV_TVAL_EL0.set(frequency() / TICK_HZ);
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
}
