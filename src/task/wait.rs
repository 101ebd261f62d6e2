//! wait4 (Linux kernel/exit.c `kernel_wait4` + `do_wait`): reap a zombie child, or sleep
//! until one exists. Which children: pid > 0 that one, -1 any, 0 those in the caller's
//! process group (as it is when wait4 starts), < -1 those in process group -pid. With
//! WUNTRACED / WCONTINUED it also reports a child's job-control stop and continue.

use alloc::sync::Arc;

use super::sched::{self, WakeReason, current};
use super::{Task, TaskState, Tid, WaitChan};
use crate::error::{Errno, KResult};
use crate::mm::uaccess;

pub const WNOHANG: u32 = 1;
pub const WUNTRACED: u32 = 2;
pub const WCONTINUED: u32 = 8;
const WCLONE: u32 = 0x8000_0000;
const WALL: u32 = 0x4000_0000;
/// Options wait4 understands (WNOHANG, WUNTRACED, WCONTINUED, __WNOTHREAD, __WALL, __WCLONE).
const KNOWN_OPTIONS: u32 = 1 | 2 | 8 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;

/// Linux `enum pid_type` as do_wait uses it.
#[derive(Clone, Copy)]
enum Which {
    Any,
    Pid(Tid),
    Pgid(Tid),
}

/// Whether `t` is a child process of `me` that `which` selects. A "clone" child (one
/// whose exit signal is not SIGCHLD) is waited for only with __WCLONE, the others only
/// without it; __WALL takes both (Linux `eligible_child`).
fn selects(which: Which, me: Tid, t: &Task, options: u32) -> bool {
    if !t.is_group_leader() {
        return false;
    }
    let inner = t.inner.lock();
    let clone_child = inner.exit_signal != crate::task::signal::SIGCHLD;
    if options & WALL == 0 && clone_child != (options & WCLONE != 0) {
        return false;
    }
    inner.parent == me
        && match which {
            Which::Any => true,
            Which::Pid(pid) => t.tid == pid,
            Which::Pgid(pgid) => inner.signal.inner.lock().pgid == pgid,
        }
}

/// A zombie whose parent was told (and does not ignore SIGCHLD): wait4 may reap it.
fn reapable(t: &Task) -> bool {
    let inner = t.inner.lock();
    inner.state == TaskState::Zombie && inner.signal.inner.lock().reapable
}

/// A stop (WUNTRACED) or continue (WCONTINUED) of `t` not yet reported: its wait
/// status, which is consumed (Linux `wait_task_stopped`, `wait_task_continued`).
fn take_job_report(t: &Task, options: u32) -> Option<u32> {
    let inner = t.inner.lock();
    if matches!(inner.state, TaskState::Zombie | TaskState::Dead) {
        return None;
    }
    let mut s = inner.signal.inner.lock();
    if options & WUNTRACED != 0
        && let Some(sig) = s.stop_report.take()
    {
        return Some((sig << 8) | 0x7f);
    }
    if options & WCONTINUED != 0 && s.cont_report {
        s.cont_report = false;
        return Some(0xffff);
    }
    None
}

pub fn do_wait4(pid: i32, status_addr: usize, options: u32, rusage: usize) -> KResult<usize> {
    if options & !KNOWN_OPTIONS != 0 {
        return Err(Errno::EINVAL);
    }
    let which = match pid {
        i32::MIN => return Err(Errno::ESRCH), // -INT_MIN is not a pid
        -1 => Which::Any,
        0 => Which::Pgid(current().inner.lock().signal.inner.lock().pgid),
        p if p < 0 => Which::Pgid(p.unsigned_abs()),
        p => Which::Pid(p as Tid),
    };
    let me = current().tgid;
    loop {
        let seq = crate::sync::wait::prepare(WaitChan::Child(me));
        // One pass over the task table (no snapshot): any child selected, and a zombie
        // or a stop/continue to report.
        let (any, zombie, report) = {
            let tasks = sched::TASKS.lock();
            let mut any = false;
            let mut zombie: Option<Arc<Task>> = None;
            let mut report = None;
            for t in tasks.values().filter(|t| selects(which, me, t, options)) {
                any = true;
                if reapable(t) {
                    zombie = Some(t.clone());
                    break;
                }
                if let Some(status) = take_job_report(t, options) {
                    report = Some((t.tid, status));
                    break;
                }
            }
            (any, zombie, report)
        };
        if !any {
            return Err(Errno::ECHILD);
        }
        if let Some((tid, status)) = report {
            if status_addr != 0 {
                uaccess::put_user_u32(status_addr, status)?;
            }
            if rusage != 0 {
                uaccess::copy_to_user(rusage, &[0u8; 144])?;
            }
            return Ok(tid as usize);
        }
        if let Some(z) = zombie {
            // Claim the zombie: another thread of this process may be reaping the same
            // child on another CPU (Linux: the exit_state cmpxchg in wait_task_zombie).
            let status = {
                let mut zi = z.inner.lock();
                if zi.state != TaskState::Zombie {
                    continue; // someone else reaped it: look again
                }
                zi.state = TaskState::Dead;
                zi.exit_status
            };
            // The child's CPU time with its own reaped children's (Linux
            // `wait_task_zombie`: getrusage(RUSAGE_BOTH) for the caller, and the sums
            // that become the parent's cutime/cstime). Every thread has exited, so the
            // group's total is in its signal struct.
            let (own, children) = {
                let zs = z.inner.lock().signal.clone();
                let zs = zs.inner.lock();
                (zs.cputime_dead, zs.cputime_children)
            };
            let mut both = own;
            both += children;
            let copied = (|| {
                if status_addr != 0 {
                    uaccess::put_user_u32(status_addr, status)?;
                }
                if rusage != 0 {
                    let ru = crate::time::cputime::rusage_bytes(both, 0);
                    uaccess::copy_to_user(rusage, &ru)?;
                }
                Ok(())
            })();
            if let Err(e) = copied {
                z.inner.lock().state = TaskState::Zombie; // not reaped: a later wait may
                return Err(e);
            }
            sched::TASKS.lock().remove(&z.tid);
            current().inner.lock().signal.inner.lock().cputime_children += both;
            // The zombie may still be switching away on another CPU: wait until it is
            // off (its registers saved, its stack no longer in use). That CPU drops its
            // last reference a moment later; waiting for our reference to be the last
            // instead could wait for ever (a vfork parent holds its child's while it
            // sleeps).
            while z.on_cpu.load(core::sync::atomic::Ordering::Acquire) {
                crate::sync::ordered::cpu_relax();
            }
            return Ok(z.tid as usize);
        }
        if options & WNOHANG != 0 {
            return Ok(0);
        }
        match sched::sleep_interruptible(WaitChan::Child(me), None, seq) {
            WakeReason::Killed => return Err(Errno::EINTR),
            WakeReason::Interrupted => return Err(Errno::ERESTARTSYS),
            _ => {}
        }
    }
}
