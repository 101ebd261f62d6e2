//! Signals, as far as this kernel goes: the handler table (shared with CLONE_SIGHAND,
//! read and written by rt_sigaction) and fatal delivery (SIGKILL, and any signal whose
//! default action terminates). Running user handlers is out of scope.

pub const NSIG: usize = 64;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGBUS: u32 = 7;
pub const SIGKILL: u32 = 9;
pub const SIGSEGV: u32 = 11;
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

/// Linux `struct sighand_struct`. Only actions that differ from SIG_DFL are stored, so
/// the copy fork makes without CLONE_SIGHAND is usually empty and cheap.
#[derive(Clone, Default)]
pub struct SigHand {
    actions: alloc::collections::BTreeMap<u32, SigAction>,
}

impl SigHand {
    pub fn new() -> SigHand {
        SigHand::default()
    }

    /// The action for signal `sig` (1..=NSIG).
    pub fn get(&self, sig: u32) -> SigAction {
        self.actions.get(&sig).copied().unwrap_or_default()
    }

    pub fn set(&mut self, sig: u32, action: SigAction) {
        if action == SigAction::default() {
            self.actions.remove(&sig);
        } else {
            self.actions.insert(sig, action);
        }
    }
}

/// Signals whose default action is to stop the process (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU).
pub fn default_stops(sig: u32) -> bool {
    matches!(sig, 19..=22)
}

/// Signals whose default action is to do nothing (SIGCHLD, SIGCONT, SIGURG, SIGWINCH).
pub fn default_ignored(sig: u32) -> bool {
    matches!(sig, 17 | 18 | 23 | 28)
}
