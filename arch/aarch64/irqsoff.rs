//! The longest stretch with interrupts masked, per CPU (in the spirit of Linux's irqsoff
//! tracer, kernel/trace/trace_irqsoff.c, reduced to one maximum and its cause).
//!
//! IRQs are masked whenever this CPU is at EL1, except in the idle loop's `wfi` window
//! (docs/architecture.md). So a masked stretch starts when an exception is taken from
//! EL0, when an interrupt is taken in the idle window, or when idle masks IRQs again; it
//! ends when the CPU returns to EL0, when idle unmasks, or when the interrupt taken in
//! idle returns. The stretch belongs to the CPU, not to a task: a system call that
//! sleeps ends in another task's return to user mode (or in idle's `wfi`), and the
//! whole time counts — the tick could not be taken in between.
//!
//! Time is CNTVCT_EL0 in counter ticks (62.5 MHz on QEMU virt: 16 ns a tick). Under
//! `-icount shift=0` QEMU advances virtual time by exactly 1 ns per guest instruction,
//! so one tick is 16 instructions there. The stretch is read in the handlers, so the
//! vector, `kernel_entry` and `kernel_exit` (about 70 instructions) are left out of it.
//! Measuring starts with the first exception from EL0: kernel_main and init's exec in
//! its kernel thread (boot, masked from reset) are not counted.
//!
//! Cost on the hot path (a system call): one counter read and two stores on entry; a
//! counter read, a subtraction and a compare on the way out.

use core::cell::Cell;
use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use aarch64_cpu::registers::{CNTVCT_EL0, Readable};

use super::percpu::this_cpu;

/// What a stretch started with, as KSTAT reports it: a system call number, or one of
/// these tags with the details in the low 16 bits.
pub const CAUSE_EXCEPTION: u64 = 1 << 16; // | ESR_EL1.EC of an exception from EL0
pub const CAUSE_IRQ: u64 = 2 << 16;
pub const CAUSE_IDLE: u64 = 3 << 16; // idle (or the scheduler it called) with IRQs masked

/// One CPU's record (a field of `PerCpu`; only its own CPU touches it, IRQs masked).
/// The order of the fields lets `begin` store `cause` and `since` with one `stp` and
/// `end` load `since` and `max` with one `ldp`.
#[repr(C)]
pub struct IrqsOff {
    /// What started the current stretch.
    cause: Cell<u64>,
    /// Counter value at the start of the current stretch (0: not measuring yet).
    since: Cell<u64>,
    /// The longest stretch so far, in counter ticks, and what started it. Atomics
    /// (relaxed: plain loads and stores): other CPUs read them for reports.
    max: AtomicU64,
    max_cause: AtomicU64,
}

impl IrqsOff {
    pub(super) const fn new() -> IrqsOff {
        IrqsOff {
            cause: Cell::new(0),
            since: Cell::new(0),
            max: AtomicU64::new(0),
            max_cause: AtomicU64::new(0),
        }
    }
}

/// IRQs have just been masked (an exception was taken, or idle masked them).
#[inline(always)]
pub fn begin(cause: u64) {
    this_cpu().irqs_off.begin_at(CNTVCT_EL0.get(), cause);
}

/// IRQs are about to be unmasked (the return to EL0, idle's `wfi`).
#[inline(always)]
pub fn end() {
    this_cpu().irqs_off.end_at(CNTVCT_EL0.get());
}

impl IrqsOff {
    /// `begin` with the counter already read (`now`): the entry from EL0 shares one
    /// read with the CPU-time accounting (exception.rs `enter_from_user_mode`).
    #[inline(always)]
    pub fn begin_at(&self, now: u64, cause: u64) {
        self.since.set(now);
        self.cause.set(cause);
    }

    /// `end` with the counter already read.
    #[inline(always)]
    pub fn end_at(&self, now: u64) {
        let len = now.wrapping_sub(self.since.get());
        if len > self.max.load(Ordering::Relaxed) {
            new_max(self, len);
        }
    }
}

#[inline(never)]
#[cold]
fn new_max(r: &IrqsOff, len: u64) {
    if r.since.get() != 0 {
        r.max.store(len, Ordering::Relaxed);
        r.max_cause.store(r.cause.get(), Ordering::Relaxed);
    }
}

/// The longest stretch on any CPU: (counter ticks, cause).
pub fn longest() -> (u64, u64) {
    super::percpu::all()
        .map(|c| {
            (
                c.irqs_off.max.load(Ordering::Relaxed),
                c.irqs_off.max_cause.load(Ordering::Relaxed),
            )
        })
        .max_by_key(|&(len, _)| len)
        .unwrap_or((0, 0))
}

/// A cause as words, for the shutdown report.
pub struct Cause(pub u64);

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let detail = self.0 & 0xffff;
        match self.0 & !0xffff {
            0 => write!(f, "system call {}", self.0),
            CAUSE_EXCEPTION => write!(f, "exception from EL0, class {:#04x}", detail),
            CAUSE_IRQ => write!(f, "interrupt"),
            _ => write!(f, "idle, switching to a woken task"),
        }
    }
}
