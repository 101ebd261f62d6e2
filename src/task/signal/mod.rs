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
pub const SIGINT: u32 = 2;
pub const SIGHUP: u32 = 1;
pub const SIGQUIT: u32 = 3;
pub const SIGPIPE: u32 = 13;
pub const SIGALRM: u32 = 14;
pub const SIGTSTP: u32 = 20;
pub const SIGTTIN: u32 = 21;
pub const SIGTTOU: u32 = 22;
pub const SIGWINCH: u32 = 28;
pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// A set of signals: bit `sig - 1` (Linux `sigset_t` on a 64-bit kernel, 8 bytes).
pub type SigSet = u64;

/// The bit of signal `sig` (1..=64) in a `SigSet`.
pub const fn sigmask(sig: u32) -> SigSet {
    1 << (sig - 1)
}

/// A signal's name for kernel messages ("SIGSEGV"), or "" for a real-time one.
pub fn signal_name(sig: u32) -> &'static str {
    const NAMES: [&str; 32] = [
        "",
        "SIGHUP",
        "SIGINT",
        "SIGQUIT",
        "SIGILL",
        "SIGTRAP",
        "SIGABRT",
        "SIGBUS",
        "SIGFPE",
        "SIGKILL",
        "SIGUSR1",
        "SIGSEGV",
        "SIGUSR2",
        "SIGPIPE",
        "SIGALRM",
        "SIGTERM",
        "SIGSTKFLT",
        "SIGCHLD",
        "SIGCONT",
        "SIGSTOP",
        "SIGTSTP",
        "SIGTTIN",
        "SIGTTOU",
        "SIGURG",
        "SIGXCPU",
        "SIGXFSZ",
        "SIGVTALRM",
        "SIGPROF",
        "SIGWINCH",
        "SIGIO",
        "SIGPWR",
        "SIGSYS",
    ];
    NAMES.get(sig as usize).copied().unwrap_or("")
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
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const BUS_ADRERR: i32 = 2;
pub const ILL_ILLOPC: i32 = 1;
pub const TRAP_BRKPT: i32 = 1;

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
    /// The siginfo_t as it is in memory: `#[repr(C)]` with siginfo_t's layout (no
    /// padding bytes: four i32 then fourteen u64), so a signal frame copies it as it is.
    pub fn as_bytes(&self) -> &[u8; 128] {
        const _: () = assert!(core::mem::size_of::<SigInfo>() == 128);
        // SAFETY: SigInfo is repr(C), 128 bytes with no padding, every byte initialised;
        // the little-endian memory image is the to_bytes image.
        unsafe { &*(self as *const SigInfo as *const [u8; 128]) }
    }

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

/// sa_flags bits (include/uapi/asm-generic/signal-defs.h).
pub const SA_NOCLDSTOP: u64 = 1;
pub const SA_NOCLDWAIT: u64 = 2;
pub const SA_SIGINFO: u64 = 4;
pub const SA_RESTORER: u64 = 0x0400_0000;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

impl SigAction {
    pub fn is_default(&self) -> bool {
        self.handler == SIG_DFL
    }

    /// A user function runs for the signal (neither SIG_DFL nor SIG_IGN).
    pub fn has_handler(&self) -> bool {
        self.handler != SIG_DFL && self.handler != SIG_IGN
    }
}

/// Linux `struct sighand_struct`. Only actions that differ from SIG_DFL are stored, so
/// the copy fork makes without CLONE_SIGHAND is usually empty and costs no memory (a
/// fixed table of 64 actions would add 2 KiB to every process).
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

    /// Whether `sig` is ignored: SIG_IGN, or SIG_DFL for a signal whose default is to
    /// do nothing (Linux `sig_handler_ignored`).
    pub fn ignores(&self, sig: u32) -> bool {
        let h = self.get(sig).handler;
        h == SIG_IGN || (h == SIG_DFL && default_action(sig) == DefaultAction::Ignore)
    }

    /// execve (Linux `flush_signal_handlers`): caught signals go back to SIG_DFL, ignored
    /// ones stay ignored; flags, masks and restorers are cleared.
    pub fn flush_handlers(&mut self) {
        self.actions.retain(|_, a| a.handler == SIG_IGN);
        for a in self.actions.values_mut() {
            *a = SigAction {
                handler: SIG_IGN,
                ..SigAction::default()
            };
        }
    }
}

/// What a signal does when its action is SIG_DFL (include/linux/signal.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    /// Terminate with a core dump (the wait status's 0x80 bit only if a dump was written).
    Core,
    Stop,
    /// SIGCONT: continue a stopped process (done when the signal is sent), else nothing.
    Continue,
    Ignore,
}

pub fn default_action(sig: u32) -> DefaultAction {
    match sig {
        3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31 => DefaultAction::Core,
        19..=22 => DefaultAction::Stop,
        18 => DefaultAction::Continue,
        17 | 23 | 28 => DefaultAction::Ignore,
        _ => DefaultAction::Terminate,
    }
}

/// Signals whose default action is to stop the process (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU).
pub fn default_stops(sig: u32) -> bool {
    default_action(sig) == DefaultAction::Stop
}

/// The first real-time signal (glibc reserves 32-33 for itself, musl 32-34).
pub const SIGRTMIN: u32 = 32;
/// Signals that only the kernel decides about: never caught, blocked or ignored.
pub const UNBLOCKABLE: SigSet = sigmask(SIGKILL) | sigmask(SIGSTOP);
/// The stop signals and SIGCONT (each discards the others when sent).
pub const STOP_SIGNALS: SigSet = sigmask(19) | sigmask(20) | sigmask(21) | sigmask(22);
pub const SIGCONT: u32 = 18;
/// Synchronous signals, dequeued first (Linux SYNCHRONOUS_MASK): a fault's signal is
/// handled before an unrelated one that happened to be pending.
const SYNCHRONOUS: SigSet = sigmask(SIGSEGV)
    | sigmask(SIGBUS)
    | sigmask(SIGILL)
    | sigmask(SIGTRAP)
    | sigmask(8)
    | sigmask(31);

/// One queued signal: what user space will see, and for a fault the exception syndrome
/// the arch layer puts in the frame (0 otherwise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueuedSignal {
    pub info: SigInfo,
    pub esr: u64,
}

impl QueuedSignal {
    /// A place to dequeue into (`SigPending::dequeue_into`).
    pub const EMPTY: QueuedSignal = QueuedSignal {
        info: SigInfo {
            signo: 0,
            errno: 0,
            code: 0,
            _pad: 0,
            fields: [0; 14],
        },
        esr: 0,
    };
}

/// A siginfo could not be queued (RLIMIT_SIGPENDING reached, or no memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoRoom;

/// Linux `struct sigpending`: the set of pending signals and their queued siginfos. A
/// standard signal (< 32) is pending at most once; a real-time one queues every time.
#[derive(Default)]
pub struct SigPending {
    pub set: SigSet,
    queue: alloc::collections::VecDeque<QueuedSignal>,
}

impl SigPending {
    /// Adds a signal. A standard one already pending is merged (Ok(false)); Err when
    /// its siginfo cannot be queued (no memory): a standard signal is then still made
    /// pending, without its details, as Linux does; a real-time one is lost (the caller
    /// returns EAGAIN).
    pub fn add(&mut self, q: QueuedSignal, may_queue: bool) -> Result<bool, NoRoom> {
        let sig = q.info.signo as u32;
        if q.info.code == SI_TIMER {
            // A POSIX timer has one signal in flight (Linux preallocates its sigqueue):
            // an expiry while it is still queued counts as an overrun of that one.
            let id = q.info.fields[0] as u32;
            let queued = self.queue.iter_mut().find(|e| {
                e.info.signo == q.info.signo
                    && e.info.code == SI_TIMER
                    && e.info.fields[0] as u32 == id
            });
            if let Some(e) = queued {
                let overrun = (e.info.fields[0] >> 32) + 1 + (q.info.fields[0] >> 32);
                e.info.fields[0] = id as u64 | overrun.min(i32::MAX as u64) << 32;
                return Ok(false);
            }
        }
        if sig < SIGRTMIN && self.set & sigmask(sig) != 0 {
            return Ok(false);
        }
        let queued = may_queue && self.queue.try_reserve(1).is_ok();
        if queued {
            self.queue.push_back(q);
        } else if sig >= SIGRTMIN {
            return Err(NoRoom);
        }
        self.set |= sigmask(sig);
        if queued { Ok(true) } else { Err(NoRoom) }
    }

    /// The signal to deliver next among those not in `blocked`: synchronous ones first,
    /// then the lowest number (Linux `next_signal`).
    pub fn next_signal(&self, blocked: SigSet) -> Option<u32> {
        let ready = self.set & !blocked;
        let pick = if ready & SYNCHRONOUS != 0 {
            ready & SYNCHRONOUS
        } else {
            ready
        };
        (pick != 0).then(|| pick.trailing_zeros() + 1)
    }

    /// Takes the first queued instance of `sig` (Linux `collect_signal`) into `out`;
    /// returns how many queue entries were freed with it (0 or 1). A signal pending
    /// without a queued siginfo yields a zeroed SI_USER one. Written in place rather
    /// than returned: a QueuedSignal is 136 bytes, and every move of one through a
    /// return value is another memcpy (delivery used to copy it five times).
    pub fn dequeue_into(&mut self, sig: u32, out: &mut QueuedSignal) -> usize {
        let pos = self.queue.iter().position(|q| q.info.signo as u32 == sig);
        let freed = match pos {
            Some(i) => {
                *out = self.queue[i];
                if i == 0 {
                    self.queue.pop_front();
                } else {
                    self.queue.remove(i);
                }
                1
            }
            None => {
                *out = QueuedSignal {
                    info: SigInfo::user(sig, SI_USER, 0),
                    esr: 0,
                };
                0
            }
        };
        if !self.queue.iter().any(|q| q.info.signo as u32 == sig) {
            self.set &= !sigmask(sig);
        }
        freed
    }

    /// `dequeue_into`, returning the signal and how many entries were freed.
    pub fn dequeue(&mut self, sig: u32) -> (QueuedSignal, usize) {
        let mut q = QueuedSignal::EMPTY;
        let freed = self.dequeue_into(sig, &mut q);
        (q, freed)
    }

    /// Discards every pending signal in `mask`; returns how many queue entries it freed.
    pub fn flush(&mut self, mask: SigSet) -> usize {
        if self.set & mask == 0 {
            return 0;
        }
        self.set &= !mask;
        let before = self.queue.len();
        self.queue
            .retain(|q| mask & sigmask(q.info.signo as u32) == 0);
        before - self.queue.len()
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }
}

/// A thread's alternate signal stack (Linux `sas_ss_sp`, `sas_ss_size`, `sas_ss_flags`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AltStack {
    pub sp: usize,
    pub size: usize,
    /// SS_AUTODISARM or 0 (SS_DISABLE is expressed as size 0).
    pub flags: u32,
}

pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
pub const SS_AUTODISARM: u32 = 1 << 31;
/// arm64's MINSIGSTKSZ: the frame (4688 bytes) and a little room.
pub const MINSIGSTKSZ: usize = 5120;

impl AltStack {
    /// Whether `sp` is on this stack (Linux `on_sig_stack`: the top itself counts as
    /// off it, since the stack grows down from there).
    pub fn contains(&self, sp: usize) -> bool {
        self.size != 0 && sp > self.sp && sp - self.sp <= self.size
    }

    /// ss_flags as sigaltstack and uc_stack report them for a thread at `sp`.
    pub fn flags_at(&self, sp: usize) -> u32 {
        if self.size == 0 {
            SS_DISABLE
        } else if self.contains(sp) {
            SS_ONSTACK
        } else {
            self.flags
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(sig: u32, value: u64) -> QueuedSignal {
        let mut info = SigInfo::user(sig, SI_QUEUE, 1);
        info.fields[1] = value;
        QueuedSignal { info, esr: 0 }
    }

    #[test]
    fn standard_signals_merge_realtime_ones_queue() {
        let mut p = SigPending::default();
        assert_eq!(p.add(q(10, 1), true), Ok(true));
        assert_eq!(p.add(q(10, 2), true), Ok(false));
        assert_eq!(p.add(q(40, 1), true), Ok(true));
        assert_eq!(p.add(q(40, 2), true), Ok(true));
        assert_eq!(p.queued(), 3);
        assert_eq!(p.next_signal(0), Some(10));
        assert_eq!(p.dequeue(10).0.info.fields[1], 1);
        assert_eq!(p.next_signal(0), Some(40));
        assert_eq!(p.dequeue(40).0.info.fields[1], 1);
        assert_eq!(p.set, sigmask(40), "one instance of 40 is still queued");
        assert_eq!(p.dequeue(40).0.info.fields[1], 2);
        assert_eq!((p.set, p.queued()), (0, 0));
    }

    #[test]
    fn a_timer_expiring_while_its_signal_waits_counts_overruns() {
        let mut p = SigPending::default();
        for _ in 0..4 {
            p.add(
                QueuedSignal {
                    info: SigInfo::timer(40, 7, 0, 99),
                    esr: 0,
                },
                true,
            )
            .unwrap();
        }
        p.add(
            QueuedSignal {
                info: SigInfo::timer(40, 8, 0, 1),
                esr: 0,
            },
            true,
        )
        .unwrap();
        assert_eq!(p.queued(), 2, "one entry per timer");
        let (first, _) = p.dequeue(40);
        assert_eq!(first.info.fields[0], 7 | 3 << 32, "timer 7 with 3 overruns");
    }

    #[test]
    fn synchronous_signals_first_and_blocked_ones_wait() {
        let mut p = SigPending::default();
        p.add(q(2, 0), true).unwrap();
        p.add(q(SIGSEGV, 0), true).unwrap();
        assert_eq!(p.next_signal(0), Some(SIGSEGV));
        assert_eq!(p.next_signal(sigmask(SIGSEGV)), Some(2));
        assert_eq!(p.next_signal(sigmask(SIGSEGV) | sigmask(2)), None);
        assert_eq!(p.flush(sigmask(2)), 1);
        assert_eq!(p.set, sigmask(SIGSEGV));
    }

    #[test]
    fn without_room_a_standard_signal_is_still_pending() {
        let mut p = SigPending::default();
        assert_eq!(p.add(q(15, 0), false), Err(NoRoom));
        assert_eq!(p.add(q(40, 0), false), Err(NoRoom));
        assert_eq!(p.set, sigmask(15));
        let (got, freed) = p.dequeue(15);
        assert_eq!((got.info.signo, got.info.code, freed), (15, SI_USER, 0));
    }

    #[test]
    fn exec_keeps_ignored_handlers_only() {
        let mut h = SigHand::new();
        h.set(
            2,
            SigAction {
                handler: SIG_IGN,
                flags: SA_RESTART,
                ..Default::default()
            },
        );
        h.set(
            10,
            SigAction {
                handler: 0x1234,
                ..Default::default()
            },
        );
        h.flush_handlers();
        assert_eq!(
            h.get(2),
            SigAction {
                handler: SIG_IGN,
                ..Default::default()
            }
        );
        assert_eq!(h.get(10), SigAction::default());
        assert!(h.ignores(2) && h.ignores(SIGCHLD) && !h.ignores(10));
    }

    #[test]
    fn siginfo_bytes_round_trip() {
        let i = SigInfo::child(1, 42, 3, 5, 6);
        let b = i.to_bytes();
        assert_eq!(&b[0..4], &17i32.to_le_bytes());
        assert_eq!(&b[16..20], &42u32.to_le_bytes());
        assert_eq!(&b[24..28], &3u32.to_le_bytes());
        assert_eq!(SigInfo::from_bytes(&b), i);
        assert_eq!(i.as_bytes(), &b, "the memory image is the siginfo_t");
    }

    #[test]
    fn altstack_flags() {
        let s = AltStack {
            sp: 0x1000,
            size: 0x2000,
            flags: 0,
        };
        assert!(s.contains(0x2000) && s.contains(0x3000) && !s.contains(0x1000));
        assert_eq!(s.flags_at(0x2000), SS_ONSTACK);
        assert_eq!(s.flags_at(0x9000), 0);
        assert_eq!(AltStack::default().flags_at(0), SS_DISABLE);
    }
}

#[cfg(target_os = "none")]
mod deliver;
#[cfg(target_os = "none")]
mod job;
#[cfg(target_os = "none")]
mod send;
#[cfg(target_os = "none")]
pub use deliver::*;
#[cfg(target_os = "none")]
pub(crate) use job::{kill_orphaned_pgrps, notify_parent_exit};
#[cfg(target_os = "none")]
pub use send::*;
