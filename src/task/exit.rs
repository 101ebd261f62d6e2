//! Exit (Linux kernel/exit.c): `do_exit` tears a task down in Linux's order — mm_release
//! (CLONE_CHILD_CLEARTID, vfork), exit_mm, exit_files/fs/sighand, exit_notify (zombie,
//! reparenting to init) — then schedules away for good. `do_group_exit` (exit_group and
//! fatal signals) first kills the other threads of the group; execve's de_thread uses
//! `zap_other_threads`. The task table is walked under its lock (order: TASKS, then a
//! task's inner, then its signal struct), without snapshots.

use alloc::sync::Arc;
use core::sync::atomic::{AtomicI64, Ordering};

use super::sched::{self, current, wakeup};
use super::{Task, TaskState, WaitChan};

/// Wait-status encodings (include/uapi/linux/wait.h, the W* macros).
pub fn exited_status(code: u32) -> u32 {
    (code & 0xff) << 8
}
pub fn killed_status(sig: u32) -> u32 {
    sig & 0x7f
}

/// Called when a session leader's process ends (Linux `disassociate_ctty(1)` in
/// do_exit): the tty layer hangs up its controlling terminal. A hook, because the tty
/// code depends on the task code and not the other way round; set once at boot.
pub static SESSION_LEADER_EXIT: spin::Once<fn(sid: u32)> = spin::Once::new();

/// Init's wait status once it has exited (-1 while it runs).
static INIT_EXIT: AtomicI64 = AtomicI64::new(-1);

pub fn init_exit_status() -> Option<u32> {
    let v = INIT_EXIT.load(Ordering::Relaxed);
    (v >= 0).then_some(v as u32)
}

/// Marks `task` to die with `status` and wakes it if it sleeps.
pub fn kill_task(task: &Arc<Task>, status: u32) {
    let mut inner = task.inner.lock();
    if matches!(inner.state, TaskState::Zombie | TaskState::Dead) {
        return;
    }
    inner.killed.get_or_insert(status);
    task.kill_pending
        .store(true, core::sync::atomic::Ordering::Relaxed);
    drop(inner);
    sched::wake_task(task);
}

/// Kills every thread of `task`'s group with `status` (exit_group, SIGKILL).
pub fn kill_group(tgid: u32, status: u32) {
    let mut first = true;
    for t in sched::TASKS.lock().values().filter(|t| t.tgid == tgid) {
        if first {
            t.inner
                .lock()
                .signal
                .inner
                .lock()
                .group_exit
                .get_or_insert(status);
            first = false;
        }
        kill_task(t, status);
    }
}

/// execve's first step (Linux `zap_other_threads`): every other thread of the group is
/// killed — without a group exit status: the process lives on in the exec'ing thread.
pub fn zap_other_threads(tgid: u32, keep: u32) {
    for t in sched::TASKS
        .lock()
        .values()
        .filter(|t| t.tgid == tgid && t.tid != keep)
    {
        kill_task(t, killed_status(super::signal::SIGKILL));
    }
}

/// exit_group(2).
pub fn do_group_exit(code: u32) -> ! {
    do_group_exit_status(exited_status(code))
}

/// Linux `do_group_exit`: every thread of the process dies, and the process reports
/// `status` (a wait status: an exit code or the fatal signal).
pub fn do_group_exit_status(status: u32) -> ! {
    let cur = current();
    kill_group(cur.tgid, status);
    do_exit_killed()
}

/// The exit of a task whose death is already decided (pending `killed`).
pub fn do_exit_killed() -> ! {
    let cur = current();
    let status = {
        let inner = cur.inner.lock();
        let group = inner.signal.inner.lock().group_exit;
        group.or(inner.killed).unwrap_or(0)
    };

    do_exit(status)
}

/// CLONE_CHILD_CLEARTID (Linux `mm_release`): a thread that exits writes 0 to the word
/// `clear_tid` names and wakes one waiter with a *shared* futex wake — how pthread_join
/// learns the thread is gone. Only if someone else still uses the address space (the
/// exiting task's reference and the caller's copy are two): otherwise no one could join.
fn clear_child_tid(clear_tid: usize, mm: Option<&Arc<crate::mm::global::Mm>>) {
    if clear_tid != 0
        && let Some(mm) = mm
        && Arc::strong_count(mm) > 2
        && crate::mm::uaccess::put_user_u32(clear_tid, 0).is_ok()
    {
        super::futex::futex_wake_shared_addr(mm, clear_tid, 1);
    }
}

/// exit(2) of one thread, or the last step of every death. `status` is a wait status.
pub fn do_exit(status: u32) -> ! {
    crate::trace::sched_process_exit(status, super::signal::signal_name(status & 0x7f));
    let cur = current();
    // mm_release: CLONE_CHILD_CLEARTID (set_tid_address) and the vfork parent.
    let (clear_tid, mm, vfork_parent) = {
        let mut inner = cur.inner.lock();
        (
            core::mem::take(&mut inner.clear_child_tid),
            inner.mm.clone(),
            inner.vfork_parent.take(),
        )
    };
    clear_child_tid(clear_tid, mm.as_ref());
    drop(mm);
    if vfork_parent.is_some() {
        wakeup(WaitChan::Vfork(cur.tid));
    }
    // exit_mm: stop using the user page tables before they may be freed.
    crate::arch::mmu::switch_ttbr0(crate::mm::global::empty_ttbr0());
    let (mm, files, fs, sighand, signal) = {
        let mut inner = cur.inner.lock();
        (
            inner.mm.take(),
            inner.files.take(),
            inner.fs.take(),
            inner.sighand.take(),
            inner.signal.clone(),
        )
    };
    drop((mm, files, fs, sighand));

    // exit_notify. A thread other than the leader leaves the task table first (Linux:
    // release_task of an autoreaped thread): once the group's live count reaches zero
    // the parent may reap the process, and the thread's tid must be gone by then.
    if !cur.is_group_leader() {
        sched::TASKS.lock().remove(&cur.tid);
    }
    let group_done = {
        let mut sig = signal.inner.lock();
        sig.cputime_dead += cur.cputime_now(); // the process's total outlives the thread
        sig.live -= 1;
        sig.live == 0
    };
    let status = signal.inner.lock().group_exit.unwrap_or(status);
    if group_done {
        crate::time::itimer::exit_itimers(cur.tgid, false);
        let (pgid, sid, session_leader) = {
            let s = signal.inner.lock();
            (s.pgid, s.sid, s.session_leader)
        };
        if session_leader && let Some(hangup) = SESSION_LEADER_EXIT.get() {
            hangup(sid);
        }
        super::signal::kill_orphaned_pgrps(cur.tgid, pgid, sid);
        reparent_children(cur.tgid);
        if !cur.is_group_leader() {
            // The leader exited first and is a zombie already: the group reports the
            // status of its last thread, as Linux 6.1 does (checked with linux-oracle.sh).
            if let Some(leader) = sched::find_task(cur.tgid) {
                leader.inner.lock().exit_status = status;
            }
        }
    }
    {
        let mut inner = cur.inner.lock();
        inner.exit_status = status;
        inner.state = if cur.is_group_leader() {
            TaskState::Zombie
        } else {
            TaskState::Dead
        };
    }
    if group_done && cur.tgid == 1 {
        INIT_EXIT.store(status as i64, Ordering::Relaxed);
        // The boot CPU may sleep in its idle loop with no tick: wake it to power off.
        crate::irq::send_reschedule(0);
        // Like a container's init: when it dies, everything else dies too.
        for t in sched::TASKS.lock().values() {
            kill_task(t, killed_status(super::signal::SIGKILL));
        }
    }
    // The parent may reap once the group is empty *and* the leader is a zombie. On
    // several CPUs the last thread can empty the group while the leader, which exited
    // first, has not yet marked itself a zombie; so both try, and the one that finds
    // both true tells the parent (Linux: release_task's do_notify_parent for a zombie
    // leader).
    if group_done || cur.is_group_leader() {
        notify_parent_if_done(cur.tgid);
    }
    // A thread in execve waits for the others to be gone (Linux: exit_notify wakes
    // `signal->group_exec_task`).
    let exec_task = signal.inner.lock().group_exec_task;
    if exec_task.is_some_and(|t| t != cur.tid) {
        wakeup(WaitChan::GroupExec(cur.tgid));
    }
    drop(signal);

    sched::schedule();
    unreachable!("a dead task was scheduled");
}

/// Linux `exit_notify` → `do_notify_parent`, once the process `tgid` has no live thread
/// left and its leader is a zombie: SIGCHLD to the parent, or — if the parent ignores
/// SIGCHLD or set SA_NOCLDWAIT — no zombie at all (Linux `release_task` right away).
fn notify_parent_if_done(tgid: u32) {
    let Some(leader) = sched::find_task(tgid) else {
        return;
    };
    let (parent, exit_signal, status, ready) = {
        let inner = leader.inner.lock();
        let mut s = inner.signal.inner.lock();
        let ready = inner.state == TaskState::Zombie && s.live == 0 && !s.exit_notified;
        if ready {
            s.exit_notified = true;
        }
        (inner.parent, inner.exit_signal, inner.exit_status, ready)
    };
    if !ready {
        return;
    }
    super::signal::notify_parent_exit(tgid, parent, exit_signal, status, |autoreap| {
        if autoreap {
            // No zombie: gone before the parent's wait4 is woken (it then finds no
            // child left and returns ECHILD).
            leader.inner.lock().state = TaskState::Dead;
            sched::TASKS.lock().remove(&tgid);
        } else {
            leader.inner.lock().signal.inner.lock().reapable = true;
        }
    });
}

/// Orphans of `tgid` get init (pid 1) as their parent; init is told about zombies.
fn reparent_children(tgid: u32) {
    let mut any = false;
    for t in sched::TASKS.lock().values() {
        let mut inner = t.inner.lock();
        if inner.parent == tgid && t.tgid != tgid {
            inner.parent = 1;
            t.ppid.store(1, core::sync::atomic::Ordering::Relaxed);
            any = true;
        }
    }
    if any {
        wakeup(WaitChan::Child(1));
    }
}
