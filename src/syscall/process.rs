//! Process system calls: identity, exit,
//! process groups and sessions (Linux kernel/sys.c setpgid/setsid), resource limits
//! (prlimit64), exec. (clone/wait4/futex live with the
//! task code they drive: task/fork.rs, task/wait.rs, task/futex.rs.)

use alloc::sync::Arc;

use crate::arch::TrapFrame;
use crate::error::{Errno, KResult};
use crate::mm::uaccess;
use crate::task::exec;
use crate::task::exit;
use crate::task::rlimit::{self, RLIM_NLIMITS, RLimit};
use crate::task::sched::{self, current};
use crate::task::{Task, Tid};

pub fn getpid() -> KResult<usize> {
    Ok(current().tgid as usize)
}

pub fn gettid() -> KResult<usize> {
    Ok(current().tid as usize)
}

/// getppid(2): the lock-free copy of the parent's pid (Task::ppid), as Linux reads
/// `current->real_parent` under RCU; a reparenting at the same moment gives the old or
/// the new parent, as it does there.
pub fn getppid() -> KResult<usize> {
    Ok(current().ppid.load(core::sync::atomic::Ordering::Relaxed) as usize)
}

pub fn exit(code: u32) -> KResult<usize> {
    exit::do_exit(exit::exited_status(code))
}

pub fn exit_group(code: u32) -> KResult<usize> {
    exit::do_group_exit(code)
}

/// set_tid_address(2): the word cleared and futex-woken at exit; returns the tid.
pub fn set_tid_address(addr: usize) -> KResult<usize> {
    let cur = current();
    cur.inner.lock().clear_child_tid = addr;
    Ok(cur.tid as usize)
}

/// The process group of a process (any thread of it).
fn pgid_of(t: &Task) -> Tid {
    t.inner.lock().signal.inner.lock().pgid
}

fn sid_of(t: &Task) -> Tid {
    t.inner.lock().signal.inner.lock().sid
}

/// Whether some process is in process group `pgid` (and, if given, in session `sid`).
fn group_exists(pgid: Tid, sid: Option<Tid>) -> bool {
    sched::TASKS
        .lock()
        .values()
        .any(|t| t.is_group_leader() && pgid_of(t) == pgid && sid.is_none_or(|s| sid_of(t) == s))
}

/// A task by the pid a system call names (0 = the caller); ESRCH if none.
fn task_by_pid(pid: i32) -> KResult<Arc<Task>> {
    match pid {
        0 => Ok(current().arc()),
        p if p > 0 => sched::find_task(p as u32).ok_or(Errno::ESRCH),
        _ => Err(Errno::ESRCH),
    }
}

/// getpgid(2): the process group of the process with task id `pid` (0: the caller).
pub fn getpgid(pid: i32) -> KResult<usize> {
    let task = task_by_pid(pid)?;
    Ok(pgid_of(&task) as usize)
}

/// getsid(2): its session.
pub fn getsid(pid: i32) -> KResult<usize> {
    let task = task_by_pid(pid)?;
    Ok(sid_of(&task) as usize)
}

/// setpgid(2) (Linux kernel/sys.c, checks in its order): `pid` is the caller or one of
/// its children (ESRCH), a process not a thread (EINVAL); a child must be in the caller's
/// session (EPERM) and must not have exec'd (EACCES); a session leader cannot move
/// (EPERM); the target group must exist in the caller's session (EPERM).
pub fn setpgid(pid: i32, pgid: i32) -> KResult<usize> {
    let cur = current();
    let pid = if pid == 0 { cur.tgid as i32 } else { pid };
    let pgid = if pgid == 0 { pid } else { pgid };
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let p = if pid > 0 {
        sched::find_task(pid as u32).ok_or(Errno::ESRCH)?
    } else {
        return Err(Errno::ESRCH);
    };
    if !p.is_group_leader() {
        return Err(Errno::EINVAL);
    }
    let my_sid = sid_of(&cur);
    let (p_parent, p_signal) = {
        let inner = p.inner.lock();
        (inner.parent, inner.signal.clone())
    };
    if p.tgid != cur.tgid && p_parent == cur.tgid {
        let s = p_signal.inner.lock();
        if s.sid != my_sid {
            return Err(Errno::EPERM);
        }
        if s.did_exec {
            return Err(Errno::EACCES);
        }
    } else if p.tgid != cur.tgid {
        return Err(Errno::ESRCH);
    }
    if p_signal.inner.lock().session_leader {
        return Err(Errno::EPERM);
    }
    if pgid != pid && !group_exists(pgid as Tid, Some(my_sid)) {
        return Err(Errno::EPERM);
    }
    p_signal.inner.lock().pgid = pgid as Tid;
    Ok(0)
}

/// setsid(2): a new session and process group named after the caller; EPERM for a
/// session leader or when a process group with the caller's id exists.
pub fn setsid() -> KResult<usize> {
    let cur = current();
    let signal = cur.inner.lock().signal.clone();
    let leader = signal.inner.lock().session_leader;
    // (group_exists locks every process's signal struct, ours too: not while we hold it.)
    if leader || group_exists(cur.tgid, None) {
        return Err(Errno::EPERM);
    }
    let mut s = signal.inner.lock();
    s.session_leader = true;
    s.sid = cur.tgid;
    s.pgid = cur.tgid;
    s.tty = None; // a new session has no controlling terminal
    Ok(cur.tgid as usize)
}

/// Linux `do_prlimit`: reads and optionally replaces one limit of `task`'s process.
fn do_prlimit(task: &Task, resource: u32, new: Option<RLimit>) -> KResult<RLimit> {
    let resource = resource as usize;
    if resource >= RLIM_NLIMITS {
        return Err(Errno::EINVAL);
    }
    if let Some(new) = new {
        rlimit::check_new(resource, new)?;
    }
    // A zombie still has its limits (Linux 6.1 reads and sets them until it is reaped).
    let signal = task.inner.lock().signal.clone();
    let mut s = signal.inner.lock();
    let old = s.rlim[resource];
    if let Some(new) = new {
        s.rlim[resource] = new;
    }
    Ok(old)
}

fn get_rlimit(addr: usize) -> KResult<RLimit> {
    let mut b = [0u8; 16];
    uaccess::copy_from_user(&mut b, addr)?;
    Ok(RLimit::from_bytes(b))
}

/// prlimit64(2): `pid` 0 is the caller, otherwise any task id (everyone may, being root);
/// the new value is read first (EFAULT), the old one written last (after the change).
pub fn prlimit64(pid: i32, resource: u32, new: usize, old: usize) -> KResult<usize> {
    let new = if new != 0 {
        Some(get_rlimit(new)?)
    } else {
        None
    };
    let task = task_by_pid(pid)?;
    let prev = do_prlimit(&task, resource, new)?;
    if old != 0 {
        uaccess::copy_to_user(old, &prev.to_bytes())?;
    }
    Ok(0)
}

/// getrlimit(2).
pub fn getrlimit(resource: u32, rlim: usize) -> KResult<usize> {
    let value = do_prlimit(&current(), resource, None)?;
    uaccess::copy_to_user(rlim, &value.to_bytes())?;
    Ok(0)
}

/// setrlimit(2).
pub fn setrlimit(resource: u32, rlim: usize) -> KResult<usize> {
    let new = get_rlimit(rlim)?;
    do_prlimit(&current(), resource, Some(new))?;
    Ok(0)
}

/// execve(2) (Linux `do_execveat_common`, in its order): the filename (EFAULT,
/// ENAMETOOLONG, ENOENT if empty), the argv and envp arrays (EFAULT), the size limits
/// and every string (E2BIG, EFAULT), and only then the file (ENOENT, ENOTDIR, EACCES for
/// a directory or a file without an execute bit, ENOEXEC for an unknown format).
pub fn execve(frame: &mut TrapFrame, path: usize, argv: usize, envp: usize) -> KResult<usize> {
    let filename = super::path::getname(path, false)?;
    let argv = exec::Strings::from_user(argv)?;
    let envp = exec::Strings::from_user(envp)?;
    exec::do_execve(frame, &filename, argv, envp)?;
    Ok(0)
}
