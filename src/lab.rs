//! Support for the coursework labs (docs/labs/, labs/). In a student skeleton the
//! functions labs/labN.toml names are stubs that call `todo`, which says in the kernel log
//! what is missing and where to read about it, and gives the caller an error to return.
//! Nothing in the finished kernel calls it.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::error::Errno;

/// The stubs already reported: a stub on a hot path (every system call) logs once.
static LOGGED: [AtomicU64; 32] = [const { AtomicU64::new(0) }; 32];

/// Logs, the first time, that lab `lab`'s `what` is not implemented yet; returns -ENOSYS
/// for the caller.
pub fn todo(lab: u32, what: &str) -> Errno {
    // FNV-1a of (lab, what); 0 marks a free slot.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(lab);
    for b in what.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let h = h.max(1);
    for slot in &LOGGED {
        match slot.compare_exchange(0, h, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break,
            Err(seen) if seen == h => return Errno::ENOSYS,
            Err(_) => {}
        }
    }
    log::warn!(
        "LAB {}: {} is not implemented yet (docs/labs/lab{}.md)",
        lab,
        what,
        lab
    );
    Errno::ENOSYS
}
