//! Sending signals (Linux kernel/signal.c `send_signal_locked`, `prepare_signal`,
//! `complete_signal`, `kill_pgrp`, `signal_wake_up`): the functions every other subsystem
//! calls — a tty sending SIGINT to its foreground group, a timer sending SIGALRM, a
//! pipe's SIGPIPE, a fault's SIGSEGV.
//!
//! ```text
//!  send_to_process / send_to_thread / send_to_pgrp / force_sig_fault
//!    └─ send_signal
//!         ├─ prepare_signal   SIGCONT continues a stopped process, a stop signal
//!         │                   discards a pending SIGCONT; ignored signals end here
//!         ├─ queue it         shared_pending (process) or pending (thread)
//!         └─ complete_signal  pick a thread that does not block it; a fatal one
//!                             kills the whole group now; else mark it (sig_pending)
//!                             and wake it: it acts on the signal on its way back to
//!                             user mode (deliver.rs)
//! ```

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use super::{
    DefaultAction, QueuedSignal, SIGCHLD, SIGCONT, SIGKILL, SIGRTMIN, STOP_SIGNALS, SigInfo,
    SigSet, UNBLOCKABLE, default_action, sigmask,
};
use crate::error::{Errno, KResult};
use crate::task::exit::{kill_group, killed_status};
use crate::task::rlimit::RLIMIT_SIGPENDING;
use crate::task::sched::{self, TASKS, current};
use crate::task::{SignalInner, Task, TaskInner, TaskState, Tid, WaitChan};

/// Sends `info` to the process (thread group) `tgid` (Linux `group_send_sig_info`;
/// everyone is root, so there is no permission check): queued on its shared pending
/// set and handed to a thread that does not block it. ESRCH if there is no such
/// process.
pub fn send_to_process(tgid: Tid, info: SigInfo) -> KResult<()> {
    let task = sched::find_task(tgid).ok_or(Errno::ESRCH)?;
    send_signal(&task, QueuedSignal { info, esr: 0 }, true, false)
}

/// `send_to_process` for a caller that holds the process's leader already (kill(2) of
/// a pid: one task lookup, not two).
pub fn send_to_leader(leader: &Arc<Task>, info: SigInfo) -> KResult<()> {
    debug_assert_eq!(leader.tid, leader.tgid);
    send_signal(leader, QueuedSignal { info, esr: 0 }, true, false)
}

/// Sends `info` to the one thread `tid` (tgkill, SIGEV_THREAD_ID timers).
pub fn send_to_thread(tid: Tid, info: SigInfo) -> KResult<()> {
    let task = sched::find_task(tid).ok_or(Errno::ESRCH)?;
    send_signal(&task, QueuedSignal { info, esr: 0 }, false, false)
}

/// Sends `info` to every process of process group `pgid` (Linux `__kill_pgrp_info`):
/// Ok if any member got it, else the last error (ESRCH for an empty group).
pub fn send_to_pgrp(pgid: Tid, info: SigInfo) -> KResult<()> {
    let (mut any_ok, mut last) = (false, Errno::ESRCH);
    for_each_process(
        |_, s| s.pgid == pgid,
        |t| match send_signal(t, QueuedSignal { info, esr: 0 }, true, false) {
            Ok(()) => any_ok = true,
            Err(e) => last = e,
        },
    );
    if any_ok { Ok(()) } else { Err(last) }
}

/// Whether a fault's signal `sig` ends the current process (no handler it could run):
/// the arch layer prints its decoded report only then.
pub fn fault_is_fatal(sig: u32) -> bool {
    let cur = current();
    let (blocked, sighand) = {
        let inner = cur.inner.lock();
        (inner.blocked & sigmask(sig) != 0, inner.sighand.clone())
    };
    blocked || !sighand.is_some_and(|h| h.lock().get(sig).has_handler())
}

/// A fault's signal for the current thread (Linux `force_sig_fault`): if the thread
/// blocks or ignores it, it is unblocked and reset to SIG_DFL so that the fault cannot
/// repeat for ever, and even init loses its protection and dies of it.
pub fn force_sig_fault(sig: u32, code: i32, addr: u64, esr: u64) {
    let cur = current().arc();
    let (signal, sighand) = {
        let mut inner = cur.inner.lock();
        let blocked = inner.blocked & sigmask(sig) != 0;
        inner.blocked &= !sigmask(sig);
        (
            inner.signal.clone(),
            inner.sighand.clone().map(|h| (h, blocked)),
        )
    };
    if let Some((sighand, blocked)) = sighand {
        let mut table = sighand.lock();
        let mut action = table.get(sig);
        if blocked || action.handler == super::SIG_IGN {
            action.handler = super::SIG_DFL;
            table.set(sig, action);
        }
        if action.is_default() {
            drop(table);
            signal.inner.lock().force_killable = true;
        }
    }
    let q = QueuedSignal {
        info: SigInfo::fault(sig, code, addr),
        esr,
    };
    let _ = send_signal(&cur, q, false, true);
}

/// Calls `f` on every process (thread-group leader, zombies included) that `pick`
/// selects by its signal struct, in tid order, without holding the task table's lock
/// while `f` runs (and without allocating: the next one is looked up after the last).
pub fn for_each_process(
    mut pick: impl FnMut(&Task, &SignalInner) -> bool,
    mut f: impl FnMut(&Arc<Task>),
) {
    let mut next: Tid = 0;
    loop {
        let found = TASKS
            .lock()
            .range(next..)
            .map(|(_, t)| t)
            .find(|t| {
                t.is_group_leader() && {
                    let inner = t.inner.lock();
                    let s = inner.signal.inner.lock();
                    pick(t, &s)
                }
            })
            .cloned();
        let Some(t) = found else { return };
        next = t.tid + 1;
        f(&t);
    }
}

/// Whether process group `pgid` is orphaned (Linux `will_become_orphaned_pgrp` with no
/// process ignored): no live member has a parent in another group of the same session.
/// A tty discards job-control stops aimed at such a group, and the reads of its
/// background members fail with EIO.
pub fn is_orphaned_pgrp(pgid: Tid) -> bool {
    pgrp_orphaned_without(pgid, None)
}

/// `is_orphaned_pgrp` as if process `leaving` were already gone (exit).
pub(crate) fn pgrp_orphaned_without(pgid: Tid, leaving: Option<Tid>) -> bool {
    let tasks = TASKS.lock();
    let member_with_outside_parent = tasks.values().any(|t| {
        if !t.is_group_leader() || Some(t.tgid) == leaving {
            return false;
        }
        let (parent, pg, sid, alive) = {
            let inner = t.inner.lock();
            let s = inner.signal.inner.lock();
            let alive = !matches!(inner.state, TaskState::Zombie | TaskState::Dead);
            (inner.parent, s.pgid, s.sid, alive)
        };
        if pg != pgid || !alive || Some(parent) == leaving {
            return false;
        }
        tasks.get(&parent).is_some_and(|p| {
            let inner = p.inner.lock();
            let ps = inner.signal.inner.lock();
            ps.pgid != pgid && ps.sid == sid
        })
    });
    !member_with_outside_parent
}

/// Whether the calling thread ignores or blocks `sig` (a tty's SIGTTIN/SIGTTOU check).
pub fn current_ignores_or_blocks(sig: u32) -> bool {
    let cur = current();
    let (blocked, sighand) = {
        let inner = cur.inner.lock();
        (inner.blocked, inner.sighand.clone())
    };
    blocked & sigmask(sig) != 0
        || sighand.is_some_and(|h| h.lock().get(sig).handler == super::SIG_IGN)
}

/// Whether a signal the calling thread does not block is pending.
pub fn signal_pending() -> bool {
    current().sig_pending.load(Ordering::Acquire)
}

/// Linux `set_user_sigmask`: ppoll, pselect6, epoll_pwait and rt_sigsuspend block
/// `mask` (SIGKILL and SIGSTOP never) for the duration of the call. The old mask is
/// saved and comes back on the return to user mode — after a handler ran with the new
/// mask in force, through the handler's frame (Linux `restore_saved_sigmask`).
pub fn set_saved_sigmask(mask: SigSet) {
    let cur = current();
    let mut inner = cur.inner.lock();
    if inner.saved_sigmask.is_none() {
        inner.saved_sigmask = Some(inner.blocked);
        cur.restore_sigmask.store(true, Ordering::Relaxed);
    }
    inner.blocked = mask & !UNBLOCKABLE;
    // Borrowed, not cloned: the guard on `inner` keeps it alive.
    let s = inner.signal.inner.lock();
    recalc_sigpending(&cur, &inner, &s);
}

/// Linux `recalc_sigpending`: sets or clears the thread's sig_pending flag from its
/// private and the process's shared pending signals, its mask and a group stop.
/// Called with the thread's lock and its signal struct's lock held.
pub(crate) fn recalc_sigpending(task: &Task, inner: &TaskInner, s: &SignalInner) {
    let pending =
        (inner.pending.set | s.shared_pending.set) & !inner.blocked != 0 || s.stopped.is_some();
    task.sig_pending.store(pending, Ordering::Release);
}

/// The heart of sending (Linux `send_signal_locked` → `prepare_signal`, `__send_signal`,
/// `complete_signal`). `group`: the signal is for the whole process `target` belongs
/// to; `forced`: a fault, which init's protection does not stop.
pub(crate) fn send_signal(
    target: &Arc<Task>,
    q: QueuedSignal,
    group: bool,
    forced: bool,
) -> KResult<()> {
    let sig = q.info.signo as u32;
    // One look under the task's lock: its state, its process, its handlers, and whether
    // it blocks the signal (prepare_signal's side effects below do not change the mask).
    let (signal, sighand, blocked) = {
        let inner = target.inner.lock();
        if matches!(inner.state, TaskState::Zombie | TaskState::Dead) {
            return Ok(()); // Linux: a zombie takes the signal and ignores it
        }
        let blocked = inner.blocked & sigmask(sig) != 0;
        (inner.signal.clone(), inner.sighand.clone(), blocked)
    };
    let Some(sighand) = sighand else {
        return Ok(()); // exiting
    };
    let (action, ignored) = {
        let table = sighand.lock();
        (table.get(sig), table.ignores(sig))
    };
    let tgid = target.tgid;

    // prepare_signal: the side effects of stop and continue happen at sending time.
    // SIGCONT resumes the group only once the signal is queued (below): Linux does both
    // under one siglock, so a continued thread never runs before SIGCONT is pending —
    // resuming first let it handle an earlier signal (the orphaned group's SIGHUP) and
    // exit before SIGCONT was queued.
    let cont = sig == SIGCONT;
    if cont {
        flush_group_pending(tgid, &signal, STOP_SIGNALS);
    } else if STOP_SIGNALS & sigmask(sig) != 0 {
        flush_group_pending(tgid, &signal, sigmask(SIGCONT));
    }
    // Linux `sig_ignored`: a blocked signal is never ignored (its action may change
    // before it is unblocked). Otherwise an ignored one ends here, and so does any
    // signal init has no handler for (Linux SIGNAL_UNKILLABLE), unless forced.
    let init_drops = tgid == 1 && action.is_default() && !signal.inner.lock().force_killable;
    if !blocked && !forced && (ignored || init_drops) {
        if cont {
            continue_stopped_group(tgid, &signal);
        }
        return Ok(());
    }

    // Queue it. User-sent real-time signals are bounded by RLIMIT_SIGPENDING (EAGAIN);
    // the kernel's own and the standard ones always get through, the latter maybe
    // without their siginfo (Linux `__sigqueue_alloc` with override_rlimit).
    {
        let mut inner = target.inner.lock();
        let mut s = signal.inner.lock();
        // The limit is read under the process's lock already held (not `target.rlimit`,
        // which takes both locks again), and only when it matters.
        let may_queue = sig < SIGRTMIN
            || q.info.code > 0
            || s.sigqueued < s.rlim[RLIMIT_SIGPENDING].cur as usize;
        let queue = if group {
            &mut s.shared_pending
        } else {
            &mut inner.pending
        };
        let added = queue.add(q, may_queue);
        match added {
            Ok(true) => s.sigqueued += 1,
            Ok(false) if !cont => return Ok(()), // already pending
            Ok(false) => {}
            Err(super::NoRoom) if sig >= SIGRTMIN => return Err(Errno::EAGAIN),
            Err(super::NoRoom) => {}
        }
    }
    if cont {
        continue_stopped_group(tgid, &signal);
    }
    complete_signal(target, sig, group, &signal, action.is_default(), forced);
    Ok(())
}

/// Linux `complete_signal`: find a thread that wants the signal and wake it, or — for a
/// fatal one — end the whole process now.
fn complete_signal(
    target: &Arc<Task>,
    sig: u32,
    group: bool,
    signal: &Arc<crate::task::SignalStruct>,
    default: bool,
    forced: bool,
) {
    let wants = |t: &Task| {
        let inner = t.inner.lock();
        inner.blocked & sigmask(sig) == 0
            && inner.killed.is_none()
            && !matches!(inner.state, TaskState::Zombie | TaskState::Dead)
    };
    let chosen = if wants(target) {
        Some(target.clone())
    } else if group {
        TASKS
            .lock()
            .values()
            .find(|t| t.tgid == target.tgid && wants(t))
            .cloned()
    } else {
        None
    };
    let Some(chosen) = chosen else {
        return; // every thread blocks it: it waits in the pending set
    };
    // A signal whose default action dumps core is not fatal here (Linux:
    // `!sig_kernel_coredump`): a thread must dequeue it, in `get_signal`, to write the
    // core file with its own registers (task/coredump.rs).
    let fatal = sig == SIGKILL
        || (default
            && default_action(sig) == DefaultAction::Terminate
            && (target.tgid != 1 || forced || signal.inner.lock().force_killable));
    let awaited = chosen
        .inner
        .lock()
        .real_blocked
        .is_some_and(|b| b & sigmask(sig) != 0);
    if fatal && !awaited && signal.inner.lock().group_exit.is_none() {
        // Linux: "This signal will be fatal to the whole group" — every thread is
        // killed now, without waiting for one of them to dequeue it.
        kill_group(target.tgid, killed_status(sig));
        return;
    }
    {
        let inner = chosen.inner.lock();
        let s = signal.inner.lock();
        recalc_sigpending(&chosen, &inner, &s);
    }
    sched::signal_wake_up(&chosen, false);
}

/// SIGCONT sent (Linux `prepare_signal`), after its stop signals were discarded and it
/// was queued: resume a stopped group and tell the parent (CLD_CONTINUED).
fn continue_stopped_group(tgid: Tid, signal: &Arc<crate::task::SignalStruct>) {
    let was_stopped = {
        let mut s = signal.inner.lock();
        let was = s.stopped.take().is_some();
        if was {
            s.stop_report = None;
            s.cont_report = true;
        }
        was
    };
    if was_stopped {
        crate::sync::wait::wakeup(WaitChan::Stopped(tgid));
        super::job::notify_parent_cldstop(tgid, super::CLD_CONTINUED, SIGCONT as i32);
    }
}

/// Discards the signals in `mask` wherever they are pending in process `tgid` (an
/// action set to SIG_IGN: Linux `flush_sigqueue_mask` in `do_sigaction`).
pub fn discard_pending(tgid: Tid, mask: SigSet) {
    if let Some(t) = sched::find_task(tgid) {
        let signal = t.inner.lock().signal.clone();
        flush_group_pending(tgid, &signal, mask);
    }
}

/// Removes the signals in `mask` from the process's shared set and every thread's own.
fn flush_group_pending(tgid: Tid, signal: &Arc<crate::task::SignalStruct>, mask: SigSet) {
    let freed = signal.inner.lock().shared_pending.flush(mask);
    let mut freed_private = 0;
    for t in TASKS.lock().values().filter(|t| t.tgid == tgid) {
        freed_private += t.inner.lock().pending.flush(mask);
    }
    let mut s = signal.inner.lock();
    s.sigqueued = s.sigqueued.saturating_sub(freed + freed_private);
}

/// SIGCHLD's siginfo codes (CLD_*).
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// The action the parent process `tgid` has for SIGCHLD.
pub(crate) fn sigchld_action(tgid: Tid) -> Option<super::SigAction> {
    let parent = sched::find_task(tgid)?;
    let sighand = parent.inner.lock().sighand.clone()?;
    let a = sighand.lock().get(SIGCHLD);
    Some(a)
}
