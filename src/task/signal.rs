//! Signals, as far as this kernel goes: the handler table (shared with CLONE_SIGHAND,
//! read and written by rt_sigaction) and fatal delivery (SIGKILL, and any signal whose
//! default action terminates). Running user handlers is out of scope.

use crate::arch::exception::TrapFrame;

pub const NSIG: usize = 64;
pub const SIGKILL: u32 = 9;
pub const SIGSTOP: u32 = 19;
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// `struct sigaction` as the arm64 kernel sees it (handler, flags, restorer, mask).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub restorer: u64,
    pub mask: u64,
}

/// Linux `struct sighand_struct`.
#[derive(Clone)]
pub struct SigHand {
    pub actions: [SigAction; NSIG],
}

impl Default for SigHand {
    fn default() -> Self {
        Self::new()
    }
}

impl SigHand {
    pub fn new() -> SigHand {
        SigHand {
            actions: [SigAction::default(); NSIG],
        }
    }
}

/// Signals whose default action is to do nothing (SIGCHLD, SIGCONT, SIGURG, SIGWINCH).
pub fn default_ignored(sig: u32) -> bool {
    matches!(sig, 17 | 18 | 23 | 28)
}

/// Unused; keeps the frame type in the signal module's vocabulary for future handlers.
pub type Frame = TrapFrame;
