//! Acting on pending signals on the way back to user mode (Linux kernel/signal.c
//! `get_signal`, `signal_delivered`, `restore_saved_sigmask`). The arch layer's
//! `do_signal` (arch/aarch64/signal.rs) calls `get_signal` — which carries out every
//! default action itself (ignore, stop, terminate) and returns only a signal with a
//! user handler — then builds the handler's frame and calls `signal_delivered`.

use core::sync::atomic::Ordering;

use super::send::recalc_sigpending;
use super::{
    AltStack, DefaultAction, QueuedSignal, SA_NODEFER, SA_RESETHAND, SIG_IGN, SigAction, SigSet,
    UNBLOCKABLE, default_action, sigmask,
};
use crate::task::coredump::{WCOREFLAG, do_coredump};
use crate::task::exit::{do_group_exit_status, killed_status};
use crate::task::sched::current;

/// Whether the return to user mode has signal work: a pending signal, or a mask to
/// restore (Linux TIF_SIGPENDING | TIF_RESTORE_SIGMASK).
pub fn signal_work_pending() -> bool {
    let cur = current();
    cur.sig_pending.load(Ordering::Acquire) || cur.restore_sigmask.load(Ordering::Relaxed)
}

/// A signal about to be handled by a user function (Linux `struct ksignal`). The caller
/// of `get_signal` provides it (`KSignal::new`), and the signal is dequeued straight
/// into it.
pub struct KSignal {
    pub sig: u32,
    /// The siginfo, and the exception syndrome of a fault (the frame's esr_context),
    /// else 0.
    pub q: QueuedSignal,
    pub action: SigAction,
    /// The mask the handler's frame saves (uc_sigmask): restored by rt_sigreturn.
    pub saved_mask: SigSet,
    /// The thread's alternate stack, for SA_ONSTACK and the frame's uc_stack.
    pub altstack: AltStack,
}

impl Default for KSignal {
    fn default() -> KSignal {
        KSignal::new()
    }
}

impl KSignal {
    /// An empty one for `get_signal` to fill.
    pub const fn new() -> KSignal {
        KSignal {
            sig: 0,
            q: QueuedSignal::EMPTY,
            action: SigAction {
                handler: 0,
                flags: 0,
                restorer: 0,
                mask: 0,
            },
            saved_mask: 0,
            altstack: AltStack {
                sp: 0,
                size: 0,
                flags: 0,
            },
        }
    }

    /// An interrupted call that returned ERESTARTSYS is restarted after this handler.
    pub fn restart_after_handler(&self) -> bool {
        self.action.flags & super::SA_RESTART != 0
    }
}

/// Linux `get_signal`: dequeues pending signals until one needs a user handler, into
/// `ksig`. Ignored ones are dropped; stop signals stop the process here (until SIGCONT);
/// fatal ones end it (this does not return then). false: nothing left to deliver.
pub fn get_signal(ksig: &mut KSignal) -> bool {
    let cur = current();
    loop {
        // Before anything is cloned onto this stack: do_exit_killed does not return,
        // so nothing held here would ever be dropped (a SIGKILL while stopped leaked
        // the process's SignalStruct this way; the fuzzer found it).
        if cur.kill_pending.load(Ordering::Relaxed) {
            crate::task::exit::do_exit_killed();
        }
        // One look under both locks: a group stop first, else the next signal, taken
        // straight into `ksig`. The process's SignalStruct is borrowed through our
        // guard (not cloned), next to our pending set.
        let (found, sighand, force_killable, pgid) = {
            let mut guard = cur.inner.lock();
            let inner = &mut *guard;
            let mut s = inner.signal.inner.lock();
            if s.stopped.is_some() {
                drop(s);
                drop(guard);
                super::job::stop_current_thread();
                continue; // and look for a kill again
            }
            let blocked = inner.blocked;
            let found = dequeue_locked(&mut inner.pending, &mut s, !blocked, &mut ksig.q);
            recalc_sigpending(&cur, inner, &s);
            ksig.saved_mask = inner.saved_sigmask.unwrap_or(blocked);
            ksig.altstack = inner.sas;
            (found, inner.sighand.clone(), s.force_killable, s.pgid)
        };
        if !found {
            return false;
        }
        let sig = ksig.q.info.signo as u32;
        let Some(sighand) = sighand else {
            return false;
        };
        let action = {
            let mut table = sighand.lock();
            let action = table.get(sig);
            if action.has_handler() && action.flags & SA_RESETHAND != 0 {
                table.set(sig, SigAction::default());
            }
            action
        };
        if action.handler == SIG_IGN {
            continue;
        }
        if action.has_handler() {
            ksig.sig = sig;
            ksig.action = action;
            return true;
        }
        // Init (unless a fault made it killable) ignores every default action but the
        // kernel's own SIGKILL and SIGSTOP (Linux: SIGNAL_UNKILLABLE in get_signal).
        let unkillable = cur.tgid == 1 && !force_killable;
        if unkillable && sig != super::SIGKILL && sig != super::SIGSTOP {
            continue;
        }
        match default_action(sig) {
            DefaultAction::Ignore | DefaultAction::Continue => {}
            DefaultAction::Stop => {
                // Linux: the terminal stops are discarded for an orphaned group, which
                // nobody could continue. SIGSTOP always stops.
                if sig != super::SIGSTOP && super::is_orphaned_pgrp(pgid) {
                    continue;
                }
                super::job::do_signal_stop(sig);
            }
            action @ (DefaultAction::Terminate | DefaultAction::Core) => {
                // do_group_exit_status does not return: what is held here must go now.
                drop(sighand);
                // Linux: do_coredump, then do_group_exit with the status it left.
                let core = action == DefaultAction::Core && do_coredump(sig);
                do_group_exit_status(killed_status(sig) | if core { WCOREFLAG } else { 0 });
            }
        }
    }
}

/// Linux `dequeue_signal`: the next signal of `wanted`, from the thread's own pending
/// signals first, then the process's, into `out`; false if there is none. Called with
/// both locks held.
fn dequeue_locked(
    pending: &mut super::SigPending,
    s: &mut crate::task::SignalInner,
    wanted: SigSet,
    out: &mut QueuedSignal,
) -> bool {
    let freed = if let Some(sig) = pending.next_signal(!wanted) {
        pending.dequeue_into(sig, out)
    } else if let Some(sig) = s.shared_pending.next_signal(!wanted) {
        s.shared_pending.dequeue_into(sig, out)
    } else {
        return false;
    };
    s.sigqueued = s.sigqueued.saturating_sub(freed);
    true
}

/// Takes a pending signal of `wanted` for the calling thread, blocked or not
/// (rt_sigtimedwait).
pub fn dequeue_signal(wanted: SigSet) -> Option<QueuedSignal> {
    let cur = current();
    let mut guard = cur.inner.lock();
    let inner = &mut *guard;
    let mut s = inner.signal.inner.lock();
    let mut q = QueuedSignal::EMPTY;
    let found = dequeue_locked(&mut inner.pending, &mut s, wanted, &mut q);
    recalc_sigpending(&cur, inner, &s);
    found.then_some(q)
}

/// rt_sigtimedwait's wait: the awaited signals are unblocked meanwhile (Linux
/// `real_blocked`), so sending one wakes the thread.
pub fn begin_sigwait(wanted: SigSet) {
    let cur = current();
    let mut inner = cur.inner.lock();
    inner.real_blocked = Some(inner.blocked);
    inner.blocked &= !wanted;
    // Borrowed, not cloned: the guard on `inner` keeps it alive.
    let s = inner.signal.inner.lock();
    recalc_sigpending(&cur, &inner, &s);
}

pub fn end_sigwait() {
    let cur = current();
    let mut inner = cur.inner.lock();
    if let Some(b) = inner.real_blocked.take() {
        inner.blocked = b;
    }
    // Borrowed, not cloned: the guard on `inner` keeps it alive.
    let s = inner.signal.inner.lock();
    recalc_sigpending(&cur, &inner, &s);
}

/// Linux `signal_delivered`: the handler's frame is built. While it runs, the thread
/// blocks the action's mask and the signal itself (unless SA_NODEFER); the mask saved
/// by ppoll/sigsuspend now lives in the frame; SS_AUTODISARM disarms the alt stack.
pub fn signal_delivered(ksig: &KSignal, on_altstack: bool) {
    let cur = current();
    let mut inner = cur.inner.lock();
    inner.saved_sigmask = None;
    cur.restore_sigmask.store(false, Ordering::Relaxed);
    let mut add = ksig.action.mask;
    if ksig.action.flags & SA_NODEFER == 0 {
        add |= sigmask(ksig.sig);
    }
    inner.blocked |= add & !UNBLOCKABLE;
    if on_altstack && ksig.altstack.flags & super::SS_AUTODISARM != 0 {
        inner.sas = AltStack::default();
    }
    // Borrowed, not cloned: the guard on `inner` keeps it alive.
    let s = inner.signal.inner.lock();
    recalc_sigpending(&cur, &inner, &s);
}

/// Linux `restore_saved_sigmask`: no handler ran after ppoll/pselect/sigsuspend, so
/// the mask they replaced comes back now.
pub fn restore_saved_sigmask() {
    let cur = current();
    let mut inner = cur.inner.lock();
    cur.restore_sigmask.store(false, Ordering::Relaxed);
    if let Some(mask) = inner.saved_sigmask.take() {
        inner.blocked = mask;
        // Borrowed, not cloned: the guard on `inner` keeps it alive.
        let s = inner.signal.inner.lock();
        recalc_sigpending(&cur, &inner, &s);
    }
}

/// Sets the calling thread's blocked mask (rt_sigprocmask, rt_sigreturn), never with
/// SIGKILL or SIGSTOP in it; returns the old one. Linux `set_current_blocked`.
pub fn set_current_blocked(mask: SigSet) -> SigSet {
    let cur = current();
    let mut inner = cur.inner.lock();
    let old = inner.blocked;
    inner.blocked = mask & !UNBLOCKABLE;
    // Borrowed, not cloned: the guard on `inner` keeps it alive.
    let s = inner.signal.inner.lock();
    recalc_sigpending(&cur, &inner, &s);
    old
}

/// A bad rt_sigreturn frame or a handler frame that could not be written (Linux
/// `force_sigsegv`): SIGSEGV, which the thread cannot handle this time.
pub fn force_sigsegv() {
    super::force_sig_fault(super::SIGSEGV, super::SI_KERNEL, 0, 0);
    // The handler (if any) was reset to SIG_DFL only if SIGSEGV was blocked; Linux
    // resets it unconditionally here, so that the next delivery kills.
    if let Some(h) = current().inner.lock().sighand.clone() {
        h.lock().set(super::SIGSEGV, SigAction::default());
    }
    current().inner.lock().signal.inner.lock().force_killable = true;
}
