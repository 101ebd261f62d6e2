//! Waiting on many descriptors (Linux fs/select.c `do_sys_poll`, `core_sys_select`,
//! fs/eventpoll.c, fs/eventfd.c): ppoll, pselect6, epoll_create1, epoll_ctl,
//! epoll_pwait and eventfd2. This file decodes the user structures and errors in
//! Linux's order; readiness and the waiting loop are fs/poll.rs, the objects
//! fs/epoll.rs and fs/eventfd.rs.
//!
//! How a call ends when a signal arrives (Linux 6.1): ppoll and pselect6 return
//! ERESTARTNOHAND (restarted if no handler runs, else EINTR), epoll_pwait EINTR (never
//! restarted). A mask given to any of them is in force during the call
//! (`set_saved_sigmask`).

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::{Errno, KResult};
use crate::fs::epoll::{EPOLL_CTL_DEL, Epoll};
use crate::fs::eventfd::{EFD_SEMAPHORE, Eventfd};
use crate::fs::file::{O_PATH, O_RDWR};
use crate::fs::poll::{self, POLLEX_SET, POLLIN_SET, POLLNVAL, POLLOUT_SET, Timeout, Waited};
use crate::fs::{self, File, FileKind, O_CLOEXEC, O_NONBLOCK};
use crate::mm::uaccess::{self, UserSlice};
use crate::task::rlimit::RLIMIT_NOFILE;
use crate::task::sched::current;
use crate::task::signal;
use crate::time::monotonic_ns;

use super::file::{file, files, nofile_limit};

/// `sizeof(sigset_t)` in the kernel's ABI.
const SIGSET_SIZE: usize = 8;
/// `struct epoll_event` on arm64: u32 events, 4 bytes of padding, u64 data.
const EPOLL_EVENT_SIZE: usize = 16;
/// Linux `EP_MAX_EVENTS`.
const EP_MAX_EVENTS: usize = i32::MAX as usize / EPOLL_EVENT_SIZE;

/// Linux `set_user_sigmask`: no mask, or exactly a `sigset_t` (EINVAL) that can be read
/// (EFAULT), in force until the call returns to user mode.
fn set_user_sigmask(mask: usize, size: usize) -> KResult<()> {
    if mask == 0 {
        return Ok(());
    }
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let set = uaccess::get_user_u64(mask)?;
    signal::set_saved_sigmask(set);
    Ok(())
}

/// A `struct timespec` timeout (NULL: none): EFAULT, EINVAL for a bad one (Linux
/// `poll_select_set_timeout`).
fn get_timeout(tsp: usize) -> KResult<Timeout> {
    if tsp == 0 {
        return Ok(Timeout::Forever);
    }
    let ns = uaccess::get_timespec(tsp)?;
    Ok(poll::timeout_from_ns(ns, monotonic_ns()))
}

/// Linux `poll_select_finish`: the time left is written back to the caller's timespec
/// (not for a zero timeout). If that write fails the call cannot be restarted.
fn finish(timeout: Timeout, tsp: usize, ret: KResult<usize>) -> KResult<usize> {
    let Timeout::Until(deadline) = timeout else {
        return ret;
    };
    let left = poll::time_left(deadline, monotonic_ns());
    match uaccess::put_timespec(tsp, left) {
        Err(_) if ret == Err(Errno::ERESTARTNOHAND) => Err(Errno::EINTR),
        _ => ret,
    }
}

/// How poll and select end without a result: a signal is ERESTARTNOHAND.
fn poll_result(w: Waited<usize>) -> KResult<usize> {
    match w {
        Waited::Ready(n) => Ok(n),
        Waited::TimedOut => Ok(0),
        Waited::Signal => Err(Errno::ERESTARTNOHAND),
    }
}

/// The open file behind `fd` as poll sees it (Linux `fdget`): none for a closed or
/// O_PATH descriptor.
fn poll_file(fd: i32) -> Option<Arc<File>> {
    file(fd).ok().filter(|f| f.flags() & O_PATH == 0)
}

/// ppoll(2) (Linux `do_sys_poll`): `struct pollfd { int fd; short events; short
/// revents; }`.
pub fn ppoll(ufds: usize, nfds: u32, tsp: usize, mask: usize, masksize: usize) -> KResult<usize> {
    let timeout = get_timeout(tsp)?;
    set_user_sigmask(mask, masksize)?;
    let ret = do_sys_poll(ufds, nfds as usize, timeout);
    finish(timeout, tsp, ret)
}

fn do_sys_poll(ufds: usize, nfds: usize, timeout: Timeout) -> KResult<usize> {
    if nfds as u64 > current().rlimit(RLIMIT_NOFILE).cur {
        return Err(Errno::EINVAL);
    }
    // The table of `struct pollfd`s: on the stack for up to POLL_STACK entries, on the
    // heap beyond (Linux `do_sys_poll`'s `stack_pps`, then `kmalloc`), copied from user
    // memory as it is (PollFd has pollfd's layout), POLL_STACK entries at a time.
    let mut stack = [PollFd::default(); POLL_STACK];
    let mut heap: Vec<PollFd> = Vec::new();
    let table: &mut [PollFd] = if nfds <= POLL_STACK {
        &mut stack[..nfds]
    } else {
        heap.try_reserve_exact(nfds).map_err(|_| Errno::ENOMEM)?;
        heap.resize(nfds, PollFd::default());
        &mut heap
    };
    for (k, part) in table.chunks_mut(POLL_STACK).enumerate() {
        uaccess::copy_from_user(PollFd::as_bytes_mut(part), ufds + k * POLL_STACK * 8)?;
    }
    // Linux `do_poll`: one look at every descriptor; done if any is ready.
    let scan = || {
        let mut count = 0;
        for p in table.iter_mut() {
            p.revents = if p.fd < 0 {
                0
            } else {
                match poll_file(p.fd) {
                    None => POLLNVAL as u16,
                    Some(f) => poll::poll_filter(poll::vfs_poll(&f).mask, p.events),
                }
            };
            count += (p.revents != 0) as usize;
        }
        Ok((count > 0).then_some(count))
    };
    let waited = poll::wait_events(timeout, &signal::signal_pending, scan);
    let ret = poll_result(waited?);
    for (i, p) in table.iter().enumerate() {
        uaccess::copy_to_user(ufds + i * 8 + 6, &p.revents.to_le_bytes())?;
    }
    ret
}

/// `struct pollfd` (include/uapi/asm-generic/poll.h), in its user-memory layout.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PollFd {
    fd: i32,
    events: u16,
    revents: u16,
}

const _: () = assert!(core::mem::size_of::<PollFd>() == 8);

impl PollFd {
    /// The entries as the bytes user memory holds (this machine is little-endian, as
    /// the user's structures are).
    fn as_bytes_mut(fds: &mut [PollFd]) -> &mut [u8] {
        // SAFETY: PollFd is repr(C), 8 bytes of integers with no padding (checked
        // above): its bytes are initialised, and any bytes are valid PollFds.
        unsafe { core::slice::from_raw_parts_mut(fds.as_mut_ptr() as *mut u8, fds.len() * 8) }
    }
}

/// Entries of a poll table kept on the stack (128 bytes of `struct pollfd`; Linux keeps
/// 256, POLL_STACK_ALLOC, but here the table is cleared first, so a smaller one costs
/// less for the usual few descriptors); a longer table is allocated.
const POLL_STACK: usize = 16;

/// pselect6(2) (Linux `do_pselect`): the sixth argument points to `{ const sigset_t
/// *ss; size_t ss_len; }`.
pub fn pselect6(
    n: i32,
    inp: usize,
    outp: usize,
    exp: usize,
    tsp: usize,
    sig: usize,
) -> KResult<usize> {
    let (mask, masksize) = match sig {
        0 => (0, 0),
        p => (
            uaccess::get_user_u64(p)? as usize,
            uaccess::get_user_u64(p + 8)? as usize,
        ),
    };
    let timeout = get_timeout(tsp)?;
    set_user_sigmask(mask, masksize)?;
    let ret = core_sys_select(n, [inp, outp, exp], timeout);
    finish(timeout, tsp, ret)
}

/// One `fd_set` of `words` longs from user memory (zeros for NULL).
fn get_fd_set(ptr: usize, words: usize) -> KResult<Vec<u64>> {
    let mut set = Vec::new();
    set.try_reserve_exact(words).map_err(|_| Errno::ENOMEM)?;
    set.resize(words, 0u64);
    if ptr != 0 {
        for (i, w) in set.iter_mut().enumerate() {
            *w = uaccess::get_user_u64(ptr + i * 8)?;
        }
    }
    Ok(set)
}

/// Linux `core_sys_select`: `n` is clamped to the descriptor table's size; a set bit
/// on a descriptor that is not open is EBADF; then `do_select`'s loop. The sets are
/// written back unless a signal ended the wait.
fn core_sys_select(n: i32, ptrs: [usize; 3], timeout: Timeout) -> KResult<usize> {
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let table = files()?;
    let n = (n as usize).min(table.lock().max_fds());
    let words = n.div_ceil(64);
    let sets = [
        get_fd_set(ptrs[0], words)?,
        get_fd_set(ptrs[1], words)?,
        get_fd_set(ptrs[2], words)?,
    ];
    let mut res = [
        get_fd_set(0, words)?,
        get_fd_set(0, words)?,
        get_fd_set(0, words)?,
    ];
    let wanted = |fd: usize| -> [bool; 3] {
        core::array::from_fn(|k| sets[k][fd / 64] >> (fd % 64) & 1 != 0)
    };
    // Linux `max_select_fd`: every descriptor asked about must be open.
    {
        let t = table.lock();
        for fd in 0..n {
            if wanted(fd).contains(&true) && t.get(fd as i32).is_err() {
                return Err(Errno::EBADF);
            }
        }
    }
    const SETS: [u32; 3] = [POLLIN_SET, POLLOUT_SET, POLLEX_SET];
    let scan = || {
        let mut count = 0;
        for fd in 0..n {
            let want = wanted(fd);
            if !want.contains(&true) {
                continue;
            }
            let mask = poll_file(fd as i32).map_or(POLLNVAL, |f| poll::vfs_poll(&f).mask);
            for k in 0..3 {
                if want[k] && mask & SETS[k] != 0 {
                    res[k][fd / 64] |= 1 << (fd % 64);
                    count += 1;
                }
            }
        }
        Ok((count > 0).then_some(count))
    };
    let ret = poll_result(poll::wait_events(timeout, &signal::signal_pending, scan)?)?;
    for k in 0..3 {
        if ptrs[k] != 0 {
            for (i, w) in res[k].iter().enumerate() {
                uaccess::put_user_u64(ptrs[k] + i * 8, *w)?;
            }
        }
    }
    Ok(ret)
}

/// Installs a new file at the lowest free descriptor.
fn install(kind: FileKind, flags: u32, cloexec: bool) -> KResult<usize> {
    fs::heap_precheck(size_of::<File>() + 16)?;
    let f = Arc::new(File::new(kind, flags));
    let limit = nofile_limit();
    let fd = files()?.lock().install(f, 0, limit, cloexec)?;
    Ok(fd as usize)
}

/// epoll_create1(2): EPOLL_CLOEXEC (O_CLOEXEC) is the only flag.
pub fn epoll_create1(flags: u32) -> KResult<usize> {
    if flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    install(FileKind::Epoll(Epoll::new()), O_RDWR, flags != 0)
}

/// The epoll instance behind `epfd`: EBADF, or EINVAL if it is another kind of file.
fn epoll_file(epfd: i32) -> KResult<Arc<File>> {
    let f = poll_file(epfd).ok_or(Errno::EBADF)?;
    match f.kind {
        FileKind::Epoll(_) => Ok(f),
        _ => Err(Errno::EINVAL),
    }
}

/// epoll_ctl(2) (Linux `do_epoll_ctl`): the event is read first (not for DEL), then
/// EBADF for either descriptor, EPERM for a file that cannot be polled, EINVAL if
/// `epfd` is not an epoll instance; the rest is the instance's (fs/epoll.rs).
pub fn epoll_ctl(epfd: i32, op: i32, fd: i32, event: usize) -> KResult<usize> {
    let ev = match op {
        EPOLL_CTL_DEL => None,
        _ => {
            let events = uaccess::get_user_u32(event)?;
            Some((events, uaccess::get_user_u64(event + 8)?))
        }
    };
    let ep_file = poll_file(epfd).ok_or(Errno::EBADF)?;
    let target = poll_file(fd).ok_or(Errno::EBADF)?;
    if !poll::can_poll(&target) {
        return Err(Errno::EPERM);
    }
    let FileKind::Epoll(ep) = &ep_file.kind else {
        return Err(Errno::EINVAL);
    };
    ep.ctl(op, fd, &target, ev)?;
    Ok(0)
}

/// epoll_pwait(2) (Linux `do_epoll_pwait`): the mask first, then EINVAL for
/// `maxevents` out of range, EFAULT for a buffer outside user space, EBADF/EINVAL for
/// `epfd`; `timeout` in ms (negative: none). EINTR on a signal, never restarted.
pub fn epoll_pwait(
    epfd: i32,
    events: usize,
    maxevents: i32,
    timeout_ms: i32,
    mask: usize,
    masksize: usize,
) -> KResult<usize> {
    set_user_sigmask(mask, masksize)?;
    if maxevents <= 0 || maxevents as usize > EP_MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let max = maxevents as usize;
    UserSlice::new(events, max * EPOLL_EVENT_SIZE)?;
    let f = epoll_file(epfd)?;
    let FileKind::Epoll(ep) = &f.kind else {
        return Err(Errno::EINVAL);
    };
    let timeout = match timeout_ms {
        t if t < 0 => Timeout::Forever,
        t => poll::timeout_from_ns(t as u64 * 1_000_000, monotonic_ns()),
    };
    let mut fault = false;
    let scan = || {
        let mut k = 0;
        let n = ep.report(max, &mut |revents, data| {
            let at = events + k * EPOLL_EVENT_SIZE;
            let mut b = [0u8; EPOLL_EVENT_SIZE];
            b[..4].copy_from_slice(&revents.to_le_bytes());
            b[8..].copy_from_slice(&data.to_le_bytes());
            if fault || uaccess::copy_to_user(at, &b).is_err() {
                fault = true;
                return false;
            }
            k += 1;
            true
        });
        match n {
            0 if fault => Err(Errno::EFAULT),
            0 => Ok(None),
            n => Ok(Some(n)),
        }
    };
    match poll::wait_events(timeout, &|| false, scan)? {
        Waited::Ready(n) => Ok(n),
        Waited::TimedOut => Ok(0),
        Waited::Signal => Err(Errno::EINTR),
    }
}

/// eventfd2(2): the counter starts at `initval`; EFD_SEMAPHORE, EFD_NONBLOCK
/// (O_NONBLOCK), EFD_CLOEXEC (O_CLOEXEC), else EINVAL.
pub fn eventfd2(initval: u32, flags: u32) -> KResult<usize> {
    if flags & !(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let e = Eventfd::new(initval, flags & EFD_SEMAPHORE != 0);
    install(
        FileKind::Eventfd(e),
        O_RDWR | (flags & O_NONBLOCK),
        flags & O_CLOEXEC != 0,
    )
}
