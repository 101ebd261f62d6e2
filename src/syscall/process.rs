//! Process system calls: identity, exit, signals, exec. (clone/wait4/futex live with the
//! task code they drive: task/fork.rs, task/wait.rs, task/futex.rs.)

use alloc::string::String;
use alloc::vec::Vec;

use crate::arch::TrapFrame;
use crate::error::{Errno, KResult};
use crate::mm::uaccess;
use crate::task::exit::{self, killed_status};
use crate::task::sched::{self, current};
use crate::task::signal::{self, NSIG, SIG_IGN, SigAction};

pub fn getpid() -> KResult<usize> {
    // LAB 1 BEGIN: getpid returns the thread-group id
    Ok(current().tgid as usize)
    // LAB 1 STUB
    // Err(crate::lab::todo(1, "getpid"))
    // LAB 1 END
}

pub fn gettid() -> KResult<usize> {
    // LAB 1 BEGIN: gettid returns the task's own id
    Ok(current().tid as usize)
    // LAB 1 STUB
    // Err(crate::lab::todo(1, "gettid"))
    // LAB 1 END
}

pub fn getppid() -> KResult<usize> {
    // LAB 1 BEGIN: getppid returns the parent process
    Ok(current().inner.lock().parent as usize)
    // LAB 1 STUB
    // Err(crate::lab::todo(1, "getppid"))
    // LAB 1 END
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

/// Delivers `sig` to the thread group `tgid`: SIGKILL and default-fatal signals kill it;
/// ignored ones do nothing. Running user handlers is not implemented (logged).
pub(super) fn send_signal(tgid: u32, sig: u32) -> KResult<usize> {
    if sig == 0 {
        return Ok(0);
    }
    if sig as usize > NSIG {
        return Err(Errno::EINVAL);
    }
    let leader = sched::find_task(tgid).ok_or(Errno::ESRCH)?;
    let handler = leader
        .inner
        .lock()
        .sighand
        .as_ref()
        .map(|h| h.lock().get(sig).handler)
        .unwrap_or(0);
    // Linux SIGNAL_UNKILLABLE (`sig_task_ignored`): init ignores every signal it has no
    // handler for, SIGKILL included, whoever sends it. (A fault in init is different: a
    // forced signal, see trap.rs.)
    if tgid == 1 && handler == signal::SIG_DFL {
        return Ok(0);
    }
    // Stop signals stop a process on Linux. Until job control exists they are ignored:
    // never fatal.
    if signal::default_stops(sig) && (handler == signal::SIG_DFL || sig == signal::SIGSTOP) {
        log::info!(
            "signal {} to {}: stopping is not implemented; ignored",
            sig,
            tgid
        );
        return Ok(0);
    }
    if sig != signal::SIGKILL && sig != signal::SIGSTOP {
        if handler == SIG_IGN || (handler == signal::SIG_DFL && signal::default_ignored(sig)) {
            return Ok(0);
        }
        if handler != signal::SIG_DFL {
            log::warn!(
                "signal {} to {}: user handlers are not delivered by this kernel; dropped",
                sig,
                tgid
            );
            return Ok(0);
        }
    }
    exit::kill_group(tgid, killed_status(sig));
    Ok(0)
}

pub fn kill(pid: i32, sig: u32) -> KResult<usize> {
    if pid <= 0 {
        return Err(Errno::EINVAL); // process groups are not implemented
    }
    let task = sched::find_task(pid as u32).ok_or(Errno::ESRCH)?;
    if !task.is_group_leader() {
        return Err(Errno::ESRCH);
    }
    send_signal(task.tgid, sig)
}

/// tgkill(2) / tkill(2) (tgid = -1): fatal signals end the whole group, as in Linux.
pub fn tgkill(tgid: i32, tid: i32, sig: u32) -> KResult<usize> {
    if tid <= 0 || (tgid != -1 && tgid <= 0) {
        return Err(Errno::EINVAL);
    }
    let task = sched::find_task(tid as u32).ok_or(Errno::ESRCH)?;
    if tgid != -1 && task.tgid != tgid as u32 {
        return Err(Errno::ESRCH);
    }
    send_signal(task.tgid, sig)
}

/// rt_sigaction(2): reads/writes the (possibly CLONE_SIGHAND-shared) handler table.
pub fn rt_sigaction(sig: u32, act: usize, oldact: usize, sigsetsize: usize) -> KResult<usize> {
    if sigsetsize != 8 || sig == 0 || sig as usize > NSIG {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        if sig == signal::SIGKILL || sig == signal::SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let mut b = [0u8; 32];
        uaccess::copy_from_user(&mut b, act)?;
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
        Some(SigAction {
            handler: w(0),
            flags: w(1),
            restorer: w(2),
            mask: w(3),
        })
    } else {
        None
    };
    let sighand = current()
        .inner
        .lock()
        .sighand
        .clone()
        .ok_or(Errno::EINVAL)?;
    let old = {
        let mut table = sighand.lock();
        let old = table.get(sig);
        if let Some(n) = new {
            table.set(sig, n);
        }
        old
    };
    if oldact != 0 {
        let mut b = [0u8; 32];
        for (i, v) in [old.handler, old.flags, old.restorer, old.mask]
            .iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&v.to_le_bytes());
        }
        uaccess::copy_to_user(oldact, &b)?;
    }
    Ok(0)
}

fn read_string_array(addr: usize) -> KResult<Vec<String>> {
    let mut out = Vec::new();
    if addr == 0 {
        return Ok(out);
    }
    for i in 0..64 {
        let p = uaccess::get_user_u64(addr + i * 8)? as usize;
        if p == 0 {
            return Ok(out);
        }
        out.push(uaccess::get_user_str(p, 4096)?);
    }
    Err(Errno::E2BIG)
}

/// execve(2) over the initrd's files.
pub fn execve(frame: &mut TrapFrame, path: usize, argv: usize, envp: usize) -> KResult<usize> {
    let path = uaccess::get_user_str(path, 256)?;
    let argv = read_string_array(argv)?;
    let envp = read_string_array(envp)?;
    let cwd = current()
        .inner
        .lock()
        .fs
        .as_ref()
        .map(|f| f.lock().cwd.clone())
        .unwrap_or_default();
    let full = crate::fs::resolve(&cwd, &path);
    let argv: Vec<&str> = argv.iter().map(|s| s.as_str()).collect();
    let envp: Vec<&str> = envp.iter().map(|s| s.as_str()).collect();
    crate::task::exec::exec_current(frame, &full, &argv, &envp)?;
    Ok(0)
}
