//! wait4 (Linux kernel/exit.c `do_wait`): reap a zombie child, or sleep until one exists.

use alloc::sync::Arc;

use super::sched::{self, WakeReason, all_tasks, current};
use super::{Task, TaskState, WaitChan};
use crate::error::{Errno, KResult};
use crate::mm::uaccess;

pub const WNOHANG: u32 = 1;
/// Options wait4 understands (WNOHANG, WUNTRACED, WCONTINUED, __WNOTHREAD, __WALL, __WCLONE).
const KNOWN_OPTIONS: u32 = 1 | 2 | 8 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;

/// Whether `t` is a child process of `me` that `pid` selects.
fn selects(pid: i32, me: u32, t: &Task) -> bool {
    t.is_group_leader() && t.inner.lock().parent == me && (pid <= 0 || t.tid == pid as u32)
}

fn reapable(t: &Task) -> bool {
    let inner = t.inner.lock();
    inner.state == TaskState::Zombie && inner.signal.inner.lock().live == 0
}

pub fn do_wait4(pid: i32, status_addr: usize, options: u32, rusage: usize) -> KResult<usize> {
    if options & !KNOWN_OPTIONS != 0 {
        return Err(Errno::EINVAL);
    }
    let me = current().tgid;
    loop {
        let children: alloc::vec::Vec<Arc<Task>> = all_tasks()
            .into_iter()
            .filter(|t| selects(pid, me, t))
            .collect();
        if children.is_empty() {
            return Err(Errno::ECHILD);
        }
        if let Some(z) = children.iter().find(|t| reapable(t)) {
            let status = z.inner.lock().exit_status;
            if status_addr != 0 {
                uaccess::put_user_u32(status_addr, status)?;
            }
            if rusage != 0 {
                uaccess::copy_to_user(rusage, &[0u8; 144])?; // struct rusage: all zero
            }
            z.inner.lock().state = TaskState::Dead;
            sched::TASKS.lock().remove(&z.tid);
            return Ok(z.tid as usize);
        }
        if options & WNOHANG != 0 {
            return Ok(0);
        }
        if sched::sleep(WaitChan::Child(me), None) == WakeReason::Killed {
            return Err(Errno::EINTR);
        }
    }
}
