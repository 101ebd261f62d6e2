//! Support for the coursework labs (docs/labs/). In a student skeleton, each removed
//! solution region calls `todo`, which says in the kernel log what is missing and where
//! to read about it, and gives the caller an error to return.

use crate::error::Errno;

/// Logs that lab `lab`'s `what` is not implemented yet; returns -ENOSYS for the caller.
pub fn todo(lab: u32, what: &str) -> Errno {
    log::warn!(
        "LAB {}: {} is not implemented yet (docs/labs/lab{}.md)",
        lab,
        what,
        lab
    );
    Errno::ENOSYS
}
