//! Job control and telling parents about children (Linux kernel/signal.c
//! `do_signal_stop`, `do_notify_parent_cldstop`, `do_notify_parent`; kernel/exit.c
//! `kill_orphaned_pgrp`): a stopped process, SIGCHLD with CLD_* codes, automatic reaping
//! when the parent ignores SIGCHLD, and SIGHUP + SIGCONT for stopped groups that lose
//! their last parent in the session.

use core::sync::atomic::Ordering;

use super::send::{CLD_DUMPED, CLD_EXITED, CLD_KILLED, CLD_STOPPED, send_to_pgrp};
use super::{SA_NOCLDSTOP, SA_NOCLDWAIT, SIG_IGN, SIGCHLD, SigInfo};
use crate::task::sched::{self, TASKS, current};
use crate::task::{TaskState, Tid, WaitChan};

/// Linux `do_notify_parent_cldstop`: the process `tgid` stopped or continued; its
/// parent gets SIGCHLD (unless it asked for SA_NOCLDSTOP) and its wait4 is woken.
pub(crate) fn notify_parent_cldstop(tgid: Tid, code: i32, status: i32) {
    let Some(child) = sched::find_task(tgid) else {
        return;
    };
    let parent = child.inner.lock().parent;
    if let Some(action) = super::send::sigchld_action(parent)
        && action.flags & SA_NOCLDSTOP == 0
    {
        let _ = super::send_to_process(parent, SigInfo::child(code, tgid, status, 0, 0));
    }
    crate::sync::wait::wakeup(WaitChan::Child(parent));
}

/// A stop signal with the default action was dequeued (Linux `do_signal_stop`): the
/// whole process stops. The first thread to get here marks the group stopped and tells
/// the parent; every thread (each notices through its sig_pending flag) then sleeps in
/// `stop_current_thread` until SIGCONT or SIGKILL.
pub(crate) fn do_signal_stop(sig: u32) {
    let cur = current();
    let signal = cur.inner.lock().signal.clone();
    let first = {
        let mut s = signal.inner.lock();
        if s.group_exit.is_some() {
            return;
        }
        let first = s.stopped.is_none();
        if first {
            s.stopped = Some(sig);
            s.stop_report = Some(sig);
            s.cont_report = false;
        }
        first
    };
    if first {
        for t in TASKS
            .lock()
            .values()
            .filter(|t| t.tgid == cur.tgid && t.tid != cur.tid)
        {
            t.sig_pending.store(true, Ordering::Release);
            sched::signal_wake_up(t, false);
        }
        notify_parent_cldstop(cur.tgid, CLD_STOPPED, sig as i32);
    }
    stop_current_thread();
}

/// Sleeps while the calling thread's process is stopped (Linux TASK_STOPPED): SIGCONT
/// (send.rs `continue_stopped_group`) wakes it, SIGKILL too.
pub(crate) fn stop_current_thread() {
    let cur = current();
    let signal = cur.inner.lock().signal.clone();
    loop {
        let seq = crate::sync::wait::prepare(WaitChan::Stopped(cur.tgid));
        if signal.inner.lock().stopped.is_none() {
            return;
        }
        let why = sched::sleep(WaitChan::Stopped(cur.tgid), None, seq);
        if why == crate::sync::wait::WakeReason::Killed {
            return;
        }
    }
}

/// Linux `do_notify_parent` at the end of a process: SIGCHLD (its exit signal) with
/// CLD_EXITED / CLD_KILLED / CLD_DUMPED to the parent, whose wait4 is woken. The child
/// is reaped at once if the parent ignores SIGCHLD or set SA_NOCLDWAIT (then no zombie
/// is left; with SIG_IGN no signal is sent either): `settle(autoreap)` is called with
/// that decision *before* the parent can hear of the exit, so that its wait4 (or a
/// SIGCHLD handler's) never sees a zombie that is about to be reaped at once, nor misses
/// one it may reap (Linux decides under tasklist_lock, which wait4 takes too).
pub(crate) fn notify_parent_exit(
    child: Tid,
    parent: Tid,
    exit_signal: u32,
    status: u32,
    settle: impl FnOnce(bool),
) {
    let (code, value) = if status & 0x7f == 0 {
        (CLD_EXITED, (status >> 8) as i32 & 0xff)
    } else if status & 0x80 != 0 {
        (CLD_DUMPED, (status & 0x7f) as i32)
    } else {
        (CLD_KILLED, (status & 0x7f) as i32)
    };
    let mut sig = exit_signal;
    let mut autoreap = false;
    if sig == SIGCHLD
        && let Some(action) = super::send::sigchld_action(parent)
        && (action.handler == SIG_IGN || action.flags & SA_NOCLDWAIT != 0)
    {
        autoreap = true;
        if action.handler == SIG_IGN {
            sig = 0;
        }
    }
    settle(autoreap);
    if sig != 0 && (sig as usize) <= super::NSIG {
        let mut info = SigInfo::child(code, child, value, 0, 0);
        info.signo = sig as i32;
        let _ = super::send_to_process(parent, info);
    }
    crate::sync::wait::wakeup(WaitChan::Child(parent));
}

/// Linux `kill_orphaned_pgrp`, when process `leaving` exits: a process group that this
/// exit orphans and that has stopped members gets SIGHUP then SIGCONT — nobody in the
/// session is left to continue it. Two groups can be affected: the leaving process's
/// own, and each of its children's (they are in their own groups).
pub(crate) fn kill_orphaned_pgrps(leaving: Tid, pgid: Tid, sid: Tid) {
    let check = |pg: Tid| {
        if has_stopped_jobs(pg) && super::send::pgrp_orphaned_without(pg, Some(leaving)) {
            let _ = send_to_pgrp(pg, SigInfo::kernel(super::SIGHUP));
            let _ = send_to_pgrp(pg, SigInfo::kernel(super::SIGCONT));
        }
    };
    // The parent of the leaving process may be in another group of the session: then
    // this exit may remove the group's last link to its session.
    let parent_outside = {
        let tasks = TASKS.lock();
        let parent = tasks
            .get(&leaving)
            .map(|t| t.inner.lock().parent)
            .and_then(|p| tasks.get(&p).cloned());
        parent.is_some_and(|p| {
            let inner = p.inner.lock();
            let s = inner.signal.inner.lock();
            s.pgid != pgid && s.sid == sid
        })
    };
    if parent_outside {
        check(pgid);
    }
    let mut next: Tid = 0;
    loop {
        let child_pgrp = {
            let tasks = TASKS.lock();
            tasks
                .range(next..)
                .map(|(_, t)| t)
                .filter(|t| t.is_group_leader())
                .find_map(|t| {
                    let inner = t.inner.lock();
                    let s = inner.signal.inner.lock();
                    (inner.parent == leaving && s.pgid != pgid && s.sid == sid)
                        .then_some((t.tid, s.pgid))
                })
        };
        let Some((tid, pg)) = child_pgrp else { break };
        next = tid + 1;
        check(pg);
    }
}

/// Whether some process of group `pgid` is stopped (Linux `has_stopped_jobs`).
fn has_stopped_jobs(pgid: Tid) -> bool {
    TASKS.lock().values().any(|t| {
        t.is_group_leader() && {
            let inner = t.inner.lock();
            let s = inner.signal.inner.lock();
            s.pgid == pgid
                && s.stopped.is_some()
                && !matches!(inner.state, TaskState::Zombie | TaskState::Dead)
        }
    })
}
