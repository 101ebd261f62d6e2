//! Fault injection for tests (Linux: CONFIG_FAULT_INJECTION, `failslab`, `fail_page_alloc`):
//! make the N-th allocation of one kind fail, once, so a test can walk N over every
//! allocation a system call makes and check that each failure becomes the right errno
//! and leaks nothing. Armed through the `fault_inject` test system call (1001) when the
//! kernel is built with the `fault-injection` feature (the Makefile's default; `make
//! FAULT_INJECTION=0` leaves it out, and then `should_fail` is a constant `false`).

#[cfg(feature = "fault-injection")]
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// What can be made to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any page frame (user pages, page tables, pipe buffers, kernel stacks).
    Frame = 0,
    /// Page-table frames only.
    Table = 1,
    /// Kernel heap reservations (`heap::reserve`), where heap use becomes fallible.
    Heap = 2,
}

impl Kind {
    pub fn from_usize(n: usize) -> Option<Kind> {
        [Kind::Frame, Kind::Table, Kind::Heap].get(n).copied()
    }
}

#[cfg(feature = "fault-injection")]
static ARMED: AtomicUsize = AtomicUsize::new(usize::MAX);
#[cfg(feature = "fault-injection")]
static COUNTDOWN: AtomicUsize = AtomicUsize::new(0);
#[cfg(feature = "fault-injection")]
static FIRED: AtomicBool = AtomicBool::new(false);

/// Arms: the `nth` (1-based) allocation of `kind` from now on fails. Returns false when
/// the kernel is built without fault injection.
pub fn arm(kind: Kind, nth: usize) -> bool {
    #[cfg(feature = "fault-injection")]
    {
        FIRED.store(false, Ordering::Relaxed);
        COUNTDOWN.store(nth, Ordering::Relaxed);
        ARMED.store(kind as usize, Ordering::Relaxed);
        true
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = (kind, nth);
        false
    }
}

/// Disarms; returns whether the armed failure happened.
pub fn disarm() -> bool {
    #[cfg(feature = "fault-injection")]
    {
        ARMED.store(usize::MAX, Ordering::Relaxed);
        FIRED.load(Ordering::Relaxed)
    }
    #[cfg(not(feature = "fault-injection"))]
    false
}

/// Called by each allocator before it allocates: true = pretend to be out of memory.
#[inline]
pub fn should_fail(kind: Kind) -> bool {
    #[cfg(feature = "fault-injection")]
    {
        // (A page-table frame is also counted as a Frame, by the frame allocator.)
        if ARMED.load(Ordering::Relaxed) != kind as usize {
            return false;
        }
        if COUNTDOWN.fetch_sub(1, Ordering::Relaxed) == 1 {
            ARMED.store(usize::MAX, Ordering::Relaxed);
            FIRED.store(true, Ordering::Relaxed);
            return true;
        }
        false
    }
    #[cfg(not(feature = "fault-injection"))]
    {
        let _ = kind;
        false
    }
}
