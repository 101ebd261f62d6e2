//! Signals (Linux kernel/signal.c): what a signal is (`SigInfo`), the sets and queues
//! that hold pending ones, the handler table (shared with CLONE_SIGHAND) and default
//! actions. The kernel side — sending (send.rs), delivering on the way back to user mode
//! (deliver.rs), job control (job.rs) — is in the submodules; the arch layer builds the
//! user-stack frame (arch/aarch64/signal.rs).

pub const NSIG: usize = 64;
pub const SIGCHLD: u32 = 17;
pub const SIGILL: u32 = 4;
pub const SIGTRAP: u32 = 5;
pub const SIGBUS: u32 = 7;
pub const SIGKILL: u32 = 9;
pub const SIGSEGV: u32 = 11;
pub const SIGSTOP: u32 = 19;
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// A set of signals: bit `sig - 1` (Linux `sigset_t` on a 64-bit kernel, 8 bytes).
pub type SigSet = u64;

/// The bit of signal `sig` (1..=64) in a `SigSet`.
pub const fn sigmask(sig: u32) -> SigSet {
    1 << (sig - 1)
}

/// `siginfo_t` as user space sees it (128 bytes, include/uapi/asm-generic/siginfo.h):
/// signo, errno, code, then a union whose layout depends on the signal's source. The
/// constructors below fill the union the way Linux does for each source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct SigInfo {
    pub signo: i32,
    pub errno: i32,
    pub code: i32,
    _pad: i32,
    /// The union, as 8-byte words: word 0 is at byte 16 of the siginfo.
    pub fields: [u64; 14],
}

/// si_code values (include/uapi/asm-generic/siginfo.h).
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TIMER: i32 = -2;
pub const SI_TKILL: i32 = -6;

impl SigInfo {
    fn new(signo: u32, code: i32) -> SigInfo {
        SigInfo {
            signo: signo as i32,
            errno: 0,
            code,
            _pad: 0,
            fields: [0; 14],
        }
    }

    /// Sent by the kernel itself (SI_KERNEL): SIGPIPE, SIGTTIN, a tty's SIGINT...
    pub fn kernel(signo: u32) -> SigInfo {
        SigInfo::new(signo, SI_KERNEL)
    }

    /// kill (SI_USER) or tkill/tgkill (SI_TKILL) from process `pid`: si_pid, si_uid.
    pub fn user(signo: u32, code: i32, pid: u32) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.fields[0] = pid as u64; // si_pid, si_uid = 0 (everyone is root)
        i
    }

    /// A fault (SIGSEGV, SIGBUS, SIGILL, SIGTRAP): si_addr.
    pub fn fault(signo: u32, code: i32, addr: u64) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.fields[0] = addr;
        i
    }

    /// A POSIX timer expired (SI_TIMER): si_tid (the timer id), si_overrun, si_value.
    pub fn timer(signo: u32, timer_id: i32, overrun: i32, value: u64) -> SigInfo {
        let mut i = SigInfo::new(signo, SI_TIMER);
        i.fields[0] = (timer_id as u32 as u64) | ((overrun as u32 as u64) << 32);
        i.fields[1] = value;
        i
    }

    /// SIGCHLD (CLD_* code): si_pid, si_uid, si_status, si_utime, si_stime (clock ticks).
    pub fn child(code: i32, pid: u32, status: i32, utime: u64, stime: u64) -> SigInfo {
        let mut i = SigInfo::new(SIGCHLD, code);
        i.fields[0] = pid as u64;
        i.fields[1] = status as u32 as u64;
        i.fields[2] = utime;
        i.fields[3] = stime;
        i
    }

    /// SIGIO/SIGPOLL (POLL_* code): si_band, si_fd.
    pub fn poll(signo: u32, code: i32, band: i64, fd: i32) -> SigInfo {
        let mut i = SigInfo::new(signo, code);
        i.fields[0] = band as u64;
        i.fields[1] = fd as u32 as u64;
        i
    }

    /// The 128 bytes user space reads.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[0..4].copy_from_slice(&self.signo.to_le_bytes());
        b[4..8].copy_from_slice(&self.errno.to_le_bytes());
        b[8..12].copy_from_slice(&self.code.to_le_bytes());
        for (k, w) in self.fields.iter().enumerate() {
            b[16 + 8 * k..24 + 8 * k].copy_from_slice(&w.to_le_bytes());
        }
        b
    }

    /// A siginfo read from user space (rt_sigqueueinfo), as given.
    pub fn from_bytes(b: &[u8; 128]) -> SigInfo {
        let w = |o: usize| i32::from_le_bytes(b[o..o + 4].try_into().unwrap());
        let mut i = SigInfo::new(w(0) as u32, w(8));
        i.errno = w(4);
        for (k, f) in i.fields.iter_mut().enumerate() {
            *f = u64::from_le_bytes(b[16 + 8 * k..24 + 8 * k].try_into().unwrap());
        }
        i
    }
}

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

#[cfg(target_os = "none")]
mod send;
#[cfg(target_os = "none")]
pub use send::*;
