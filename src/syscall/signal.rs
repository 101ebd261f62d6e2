//! Signal system calls (Linux kernel/signal.c `SYSCALL_DEFINE`s and arm64's
//! `sys_rt_sigreturn`): sending (kill, tkill, tgkill, rt_sigqueueinfo,
//! rt_tgsigqueueinfo), actions (rt_sigaction), masks and waiting (rt_sigprocmask,
//! rt_sigpending, rt_sigsuspend, rt_sigtimedwait), the alternate stack (sigaltstack) and
//! the way back from a handler (rt_sigreturn). Every sigset argument is 8 bytes
//! (`sigsetsize` = 8, else EINVAL).

use crate::arch::TrapFrame;
use crate::error::{Errno, KResult};
use crate::mm::uaccess;
use crate::sync::wait::{self, WaitChan, WakeReason};
use crate::task::Tid;
use crate::task::sched::{self, current};
use crate::task::signal::{
    self, AltStack, MINSIGSTKSZ, NSIG, SI_TKILL, SI_USER, SIGKILL, SIGSTOP, SS_AUTODISARM,
    SS_DISABLE, SS_ONSTACK, SigAction, SigInfo, SigSet, UNBLOCKABLE,
};

const SIGSET_SIZE: usize = 8;

/// A signal number from user space: 0 (only a check) to 64, else EINVAL.
fn valid_sig(sig: u32) -> KResult<u32> {
    if sig as usize > NSIG {
        return Err(Errno::EINVAL);
    }
    Ok(sig)
}

/// Sends `info` (or only checks that the target exists, for signal 0) to a process. The
/// signal number is checked only once a target is found: ESRCH comes before EINVAL, as
/// on Linux.
fn send_process(tgid: Tid, info: SigInfo) -> KResult<()> {
    valid_sig(info.signo as u32)?;
    if info.signo == 0 {
        return sched::find_task(tgid).map(|_| ()).ok_or(Errno::ESRCH);
    }
    signal::send_to_process(tgid, info)
}

/// kill(2) (Linux `kill_something_info`): pid > 0 is the process with that task id (any
/// thread of it), 0 the caller's process group, -1 every process but init and the
/// caller, < -1 the process group -pid.
pub fn kill(pid: i32, sig: u32) -> KResult<usize> {
    let me = current().tgid;
    let info = SigInfo::user(sig, SI_USER, me);
    if pid == i32::MIN {
        return Err(Errno::ESRCH); // -INT_MIN is not a pid
    }
    if pid > 0 {
        let task = sched::find_task(pid as u32).ok_or(Errno::ESRCH)?;
        // The usual case, pid names the process (its leader): the task found is the one
        // send_to_process would look up again, so it is used as it is.
        if task.tid == task.tgid && sig != 0 {
            valid_sig(sig)?;
            return signal::send_to_leader(&task, info).map(|_| 0);
        }
        return send_process(task.tgid, info).map(|_| 0);
    }
    if pid == -1 {
        // Linux: 0 if any process was signalled, else the last error (ESRCH if none).
        let (mut count, mut last) = (0, Errno::ESRCH);
        signal::for_each_process(
            |t, _| t.tgid > 1 && t.tgid != me,
            |t| match send_process(t.tgid, info) {
                Ok(()) => count += 1,
                Err(e) => last = e,
            },
        );
        return if count > 0 { Ok(0) } else { Err(last) };
    }
    let pgid = if pid == 0 {
        current().inner.lock().signal.inner.lock().pgid
    } else {
        pid.unsigned_abs()
    };
    if sig == 0 || valid_sig(sig).is_err() {
        let mut any = false;
        signal::for_each_process(|_, s| s.pgid == pgid, |_| any = true);
        return match any {
            false => Err(Errno::ESRCH),
            true => valid_sig(sig).map(|_| 0),
        };
    }
    signal::send_to_pgrp(pgid, info).map(|_| 0)
}

/// The thread `tid`, of process `tgid` unless tgid is None (tkill).
fn thread_of(tgid: Option<i32>, tid: i32) -> KResult<alloc::sync::Arc<crate::task::Task>> {
    if tid <= 0 || tgid.is_some_and(|g| g <= 0) {
        return Err(Errno::EINVAL);
    }
    let task = sched::find_task(tid as u32).ok_or(Errno::ESRCH)?;
    if tgid.is_some_and(|g| task.tgid != g as u32) {
        return Err(Errno::ESRCH);
    }
    Ok(task)
}

/// tgkill(2) / tkill(2) (tgid None): the signal goes to the one thread (si_code
/// SI_TKILL); its action is still the process's, so a fatal one ends the process.
pub fn tgkill(tgid: Option<i32>, tid: i32, sig: u32) -> KResult<usize> {
    let task = thread_of(tgid, tid)?;
    let sig = valid_sig(sig)?;
    if sig == 0 {
        return Ok(0);
    }
    signal::send_to_thread(task.tid, SigInfo::user(sig, SI_TKILL, current().tgid))?;
    Ok(0)
}

/// A siginfo given by user space (rt_sigqueueinfo): it may not pretend to come from the
/// kernel or from kill/tkill when sent to someone else (Linux: EPERM).
fn user_siginfo(sig: u32, uinfo: usize, to_self: bool) -> KResult<SigInfo> {
    let mut b = [0u8; 128];
    uaccess::copy_from_user(&mut b, uinfo)?;
    let mut info = SigInfo::from_bytes(&b);
    if (info.code >= 0 || info.code == SI_TKILL) && !to_self {
        return Err(Errno::EPERM);
    }
    info.signo = sig as i32;
    Ok(info)
}

/// rt_sigqueueinfo(2): a signal with a siginfo of the caller's choosing (sigqueue).
pub fn rt_sigqueueinfo(tgid: i32, sig: u32, uinfo: usize) -> KResult<usize> {
    let sig = valid_sig(sig)?;
    let info = user_siginfo(sig, uinfo, tgid as u32 == current().tgid)?;
    if tgid <= 0 {
        return Err(Errno::ESRCH);
    }
    let task = sched::find_task(tgid as u32).ok_or(Errno::ESRCH)?;
    send_process(task.tgid, info)?;
    Ok(0)
}

/// rt_tgsigqueueinfo(2): the same for one thread.
pub fn rt_tgsigqueueinfo(tgid: i32, tid: i32, sig: u32, uinfo: usize) -> KResult<usize> {
    let sig = valid_sig(sig)?;
    let task = thread_of(Some(tgid), tid)?;
    let info = user_siginfo(sig, uinfo, task.tgid == current().tgid)?;
    if sig != 0 {
        signal::send_to_thread(task.tid, info)?;
    }
    Ok(0)
}

/// rt_sigaction(2): reads and writes the (possibly CLONE_SIGHAND-shared) handler table.
/// Setting SIG_IGN (or SIG_DFL for a signal ignored by default) discards the signal
/// wherever it is pending (POSIX, Linux `do_sigaction`).
pub fn rt_sigaction(sig: u32, act: usize, oldact: usize, sigsetsize: usize) -> KResult<usize> {
    if sigsetsize != SIGSET_SIZE || sig == 0 || sig as usize > NSIG {
        return Err(Errno::EINVAL);
    }
    let new = if act != 0 {
        if sig == SIGKILL || sig == SIGSTOP {
            return Err(Errno::EINVAL);
        }
        let mut b = [0u8; 32];
        uaccess::copy_from_user(&mut b, act)?;
        let w = |i: usize| u64::from_le_bytes(b[i * 8..i * 8 + 8].try_into().unwrap());
        Some(SigAction {
            handler: w(0),
            flags: w(1),
            restorer: w(2),
            mask: w(3) & !UNBLOCKABLE,
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
    let (old, now_ignored) = {
        let mut table = sighand.lock();
        let old = table.get(sig);
        if let Some(n) = new {
            table.set(sig, n);
        }
        (old, new.is_some() && table.ignores(sig))
    };
    if now_ignored {
        signal::discard_pending(current().tgid, signal::sigmask(sig));
    }
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

const SIG_BLOCK: u32 = 0;
const SIG_UNBLOCK: u32 = 1;
const SIG_SETMASK: u32 = 2;

/// rt_sigprocmask(2). `how` is only checked when a new set is given, as on Linux.
pub fn rt_sigprocmask(how: u32, set: usize, oldset: usize, sigsetsize: usize) -> KResult<usize> {
    if sigsetsize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let old = current().inner.lock().blocked;
    if set != 0 {
        let new = uaccess::get_user_u64(set)?;
        let mask = match how {
            SIG_BLOCK => old | new,
            SIG_UNBLOCK => old & !new,
            SIG_SETMASK => new,
            _ => return Err(Errno::EINVAL),
        };
        signal::set_current_blocked(mask);
    }
    if oldset != 0 {
        uaccess::put_user_u64(oldset, old)?;
    }
    Ok(0)
}

/// rt_sigpending(2): the signals pending for the caller (its own and its process's)
/// that it blocks.
pub fn rt_sigpending(set: usize, sigsetsize: usize) -> KResult<usize> {
    if sigsetsize > SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let pending = {
        let cur = current();
        let inner = cur.inner.lock();
        let shared = inner.signal.inner.lock().shared_pending.set;
        (inner.pending.set | shared) & inner.blocked
    };
    uaccess::copy_to_user(set, &pending.to_le_bytes()[..sigsetsize])?;
    Ok(0)
}

/// rt_sigsuspend(2): wait with `mask` blocked until a signal is delivered; the old mask
/// comes back when the handler returns. Always "fails" with EINTR.
pub fn rt_sigsuspend(mask: usize, sigsetsize: usize) -> KResult<usize> {
    if sigsetsize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let mask = uaccess::get_user_u64(mask)?;
    signal::set_saved_sigmask(mask);
    loop {
        let seq = wait::prepare(WaitChan::Signal);
        if sched::sleep_interruptible(WaitChan::Signal, None, seq).by_signal() {
            return Err(Errno::ERESTARTNOHAND);
        }
    }
}

/// rt_sigtimedwait(2) (sigwaitinfo, sigtimedwait): takes a pending signal of `set`
/// (normally blocked) without running its handler; EAGAIN when the timeout passes,
/// EINTR if another signal interrupts the wait.
pub fn rt_sigtimedwait(
    set: usize,
    uinfo: usize,
    timeout: usize,
    sigsetsize: usize,
) -> KResult<usize> {
    if sigsetsize != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let wanted: SigSet = uaccess::get_user_u64(set)? & !UNBLOCKABLE;
    let deadline = if timeout != 0 {
        Some(crate::time::monotonic_ns().saturating_add(uaccess::get_timespec(timeout)?))
    } else {
        None
    };
    let deliver = |q: signal::QueuedSignal| -> KResult<usize> {
        if uinfo != 0 {
            uaccess::copy_to_user(uinfo, &q.info.to_bytes())?;
        }
        Ok(q.info.signo as usize)
    };
    if let Some(q) = signal::dequeue_signal(wanted) {
        return deliver(q);
    }
    if deadline.is_some_and(|d| d <= crate::time::monotonic_ns()) {
        return Err(Errno::EAGAIN);
    }
    // Wait with the wanted signals unblocked, so that sending one wakes us (and is not
    // judged fatal: Linux `real_blocked`), then put the mask back.
    signal::begin_sigwait(wanted);
    let why = loop {
        let seq = wait::prepare(WaitChan::Signal);
        let why = sched::sleep_interruptible(WaitChan::Signal, deadline, seq);
        if why != WakeReason::Woken {
            break why;
        }
    };
    signal::end_sigwait();
    match signal::dequeue_signal(wanted) {
        Some(q) => deliver(q),
        None if why == WakeReason::Timeout => Err(Errno::EAGAIN),
        None => Err(Errno::EINTR),
    }
}

/// rt_sigreturn(2): back from a handler, through the frame it was given. A bad frame
/// kills with SIGSEGV (Linux `arm64_notify_segfault`).
pub fn rt_sigreturn(regs: &mut TrapFrame) -> KResult<usize> {
    current().inner.lock().restart_block = None;
    match crate::arch::signal::restore_rt_frame(regs) {
        Ok(f) => {
            signal::set_current_blocked(f.mask);
            // Errors other than a bad address are ignored, as in Linux `restore_altstack`.
            let _ = do_sigaltstack(
                Some(AltStack {
                    sp: f.altstack_sp as usize,
                    size: f.altstack_size as usize,
                    flags: f.altstack_flags,
                }),
                regs.user_sp(),
            );
            Ok(regs.arg(0))
        }
        Err(crate::arch::signal::BadFrame) => {
            signal::force_sigsegv();
            Ok(0)
        }
    }
}

/// sigaltstack(2).
pub fn sigaltstack(regs: &TrapFrame, uss: usize, uoss: usize) -> KResult<usize> {
    let new = if uss != 0 {
        let mut b = [0u8; 24];
        uaccess::copy_from_user(&mut b, uss)?;
        Some(AltStack {
            sp: u64::from_le_bytes(b[0..8].try_into().unwrap()) as usize,
            flags: u32::from_le_bytes(b[8..12].try_into().unwrap()),
            size: u64::from_le_bytes(b[16..24].try_into().unwrap()) as usize,
        })
    } else {
        None
    };
    let old = do_sigaltstack(new, regs.user_sp())?;
    if uoss != 0 {
        let mut b = [0u8; 24];
        b[0..8].copy_from_slice(&(old.sp as u64).to_le_bytes());
        b[8..12].copy_from_slice(&old.flags_at(regs.user_sp()).to_le_bytes());
        b[16..24].copy_from_slice(&(old.size as u64).to_le_bytes());
        uaccess::copy_to_user(uoss, &b)?;
    }
    Ok(0)
}

/// Linux `do_sigaltstack`: installs `new` (flags as user space gives them) unless the
/// thread runs on its alternate stack now (EPERM); returns the old one.
fn do_sigaltstack(new: Option<AltStack>, sp: usize) -> KResult<AltStack> {
    let cur = current();
    let mut inner = cur.inner.lock();
    let old = inner.sas;
    if let Some(mut ss) = new {
        if old.contains(sp) {
            return Err(Errno::EPERM);
        }
        let mode = ss.flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_ONSTACK && mode != SS_DISABLE {
            return Err(Errno::EINVAL);
        }
        if mode == SS_DISABLE {
            ss = AltStack::default();
        } else if ss.size < MINSIGSTKSZ {
            return Err(Errno::ENOMEM);
        } else {
            ss.flags &= SS_AUTODISARM;
        }
        inner.sas = ss;
    }
    Ok(old)
}
