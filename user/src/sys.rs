//! Linux AArch64 system calls (numbers from include/uapi/asm-generic/unistd.h).

use crate::arch::syscall6;

pub const SYS_GETCWD: usize = 17;
pub const SYS_DUP: usize = 23;
pub const SYS_DUP3: usize = 24;
pub const SYS_CHDIR: usize = 49;
pub const SYS_CLOSE: usize = 57;
pub const SYS_PIPE2: usize = 59;
pub const SYS_READ: usize = 63;
pub const SYS_WRITE: usize = 64;
pub const SYS_WRITEV: usize = 66;
pub const SYS_PPOLL: usize = 73;
pub const SYS_EXIT: usize = 93;
pub const SYS_EXIT_GROUP: usize = 94;
pub const SYS_SET_TID_ADDRESS: usize = 96;
pub const SYS_FUTEX: usize = 98;
pub const SYS_NANOSLEEP: usize = 101;
pub const SYS_CLOCK_GETTIME: usize = 113;
pub const SYS_UNAME: usize = 160;
pub const SYS_SCHED_YIELD: usize = 124;
pub const SYS_KILL: usize = 129;
pub const SYS_TGKILL: usize = 131;
pub const SYS_RT_SIGACTION: usize = 134;
pub const SYS_UMASK: usize = 166;
pub const SYS_GETPID: usize = 172;
pub const SYS_GETPPID: usize = 173;
pub const SYS_GETTID: usize = 178;
pub const SYS_BRK: usize = 214;
pub const SYS_MUNMAP: usize = 215;
pub const SYS_CLONE: usize = 220;
pub const SYS_EXECVE: usize = 221;
pub const SYS_MMAP: usize = 222;
pub const SYS_MPROTECT: usize = 226;
pub const SYS_WAIT4: usize = 260;
pub const SYS_CLONE3: usize = 435;
/// This kernel's statistics (not Linux): see kstat().
pub const SYS_KSTAT: usize = 1000;
pub const KSTAT_FRAMES: usize = 0;
pub const KSTAT_FREE: usize = 3;
pub const KSTAT_HEAP: usize = 4;
/// Frames the kernel heap has grown by since boot (it never gives them back).
pub const KSTAT_HEAP_FRAMES: usize = 9;
pub const KSTAT_MY_COPIES: usize = 5;
pub const KSTAT_MY_REUSES: usize = 6;

pub const EPERM: isize = 1;
pub const ENOENT: isize = 2;
pub const ESRCH: isize = 3;
pub const EINTR: isize = 4;
pub const EBADF: isize = 9;
pub const ECHILD: isize = 10;
pub const EAGAIN: isize = 11;
pub const ENOMEM: isize = 12;
pub const EFAULT: isize = 14;
pub const ENOTDIR: isize = 20;
pub const EINVAL: isize = 22;
pub const EPIPE: isize = 32;
pub const ERANGE: isize = 34;
pub const ENOSYS: isize = 38;
pub const ETIMEDOUT: isize = 110;

pub const SIGKILL: usize = 9;
pub const SIGSEGV: usize = 11;
pub const SIGCHLD: usize = 17;

pub const CLONE_VM: usize = 0x100;
pub const CLONE_FS: usize = 0x200;
pub const CLONE_FILES: usize = 0x400;
pub const CLONE_SIGHAND: usize = 0x800;
pub const CLONE_PIDFD: usize = 0x1000;
pub const CLONE_VFORK: usize = 0x4000;
pub const CLONE_PARENT: usize = 0x8000;
pub const CLONE_THREAD: usize = 0x10000;
pub const CLONE_NEWNS: usize = 0x20000;
pub const CLONE_SYSVSEM: usize = 0x40000;
pub const CLONE_SETTLS: usize = 0x80000;
pub const CLONE_PARENT_SETTID: usize = 0x100000;
pub const CLONE_CHILD_CLEARTID: usize = 0x200000;
pub const CLONE_DETACHED: usize = 0x400000;
pub const CLONE_CHILD_SETTID: usize = 0x1000000;
pub const CLONE_NEWUSER: usize = 0x10000000;
pub const CLONE_NEWPID: usize = 0x20000000;

pub const PROT_NONE: usize = 0;
pub const PROT_READ: usize = 1;
pub const PROT_WRITE: usize = 2;
pub const MAP_SHARED: usize = 1;
pub const MAP_PRIVATE: usize = 2;
pub const MAP_FIXED: usize = 0x10;
pub const MAP_ANONYMOUS: usize = 0x20;
pub const WNOHANG: usize = 1;
pub const FUTEX_WAIT: usize = 0;
pub const FUTEX_WAKE: usize = 1;
pub const FUTEX_PRIVATE: usize = 128;

pub fn syscall(n: usize, args: &[usize]) -> isize {
    let mut a = [0usize; 6];
    a[..args.len()].copy_from_slice(args);
    syscall6(n, a)
}

pub fn write(fd: i32, buf: &[u8]) -> isize {
    syscall(SYS_WRITE, &[fd as usize, buf.as_ptr() as usize, buf.len()])
}

/// `struct pollfd` (poll.h).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PollFd {
    pub fd: i32,
    pub events: i16,
    pub revents: i16,
}

pub const POLLIN: i16 = 0x1;
pub const POLLOUT: i16 = 0x4;
pub const POLLHUP: i16 = 0x10;

/// ppoll(fds, nfds, NULL timeout, NULL mask): waits until one is ready; the count of
/// ready descriptors, or -errno.
pub fn ppoll(fds: &mut [PollFd]) -> isize {
    syscall(SYS_PPOLL, &[fds.as_mut_ptr() as usize, fds.len(), 0, 0, 8])
}

pub fn read(fd: i32, buf: &mut [u8]) -> isize {
    syscall(
        SYS_READ,
        &[fd as usize, buf.as_mut_ptr() as usize, buf.len()],
    )
}

pub fn exit(code: i32) -> ! {
    syscall(SYS_EXIT, &[code as usize]);
    unreachable!()
}

pub fn exit_group(code: i32) -> ! {
    syscall(SYS_EXIT_GROUP, &[code as usize]);
    unreachable!()
}

pub fn getpid() -> isize {
    syscall(SYS_GETPID, &[])
}

pub fn getppid() -> isize {
    syscall(SYS_GETPPID, &[])
}

pub fn gettid() -> isize {
    syscall(SYS_GETTID, &[])
}

pub fn sched_yield() -> isize {
    syscall(SYS_SCHED_YIELD, &[])
}

/// fork() as every libc does it on arm64: clone(SIGCHLD, 0, 0, 0, 0).
pub fn fork() -> isize {
    syscall(SYS_CLONE, &[SIGCHLD, 0, 0, 0, 0])
}

pub fn clone(flags: usize, newsp: usize, ptid: usize, tls: usize, ctid: usize) -> isize {
    syscall(SYS_CLONE, &[flags, newsp, ptid, tls, ctid])
}

/// wait4(pid, &status, options, NULL); returns (result, status).
pub fn wait4(pid: isize, options: usize) -> (isize, i32) {
    let mut status = 0i32;
    let r = syscall(
        SYS_WAIT4,
        &[pid as usize, &mut status as *mut i32 as usize, options, 0],
    );
    (r, status)
}

/// Waits for `pid` and returns its exit code, or 128 + signal if it was killed.
pub fn wait_exit_code(pid: isize) -> i32 {
    let (r, status) = wait4(pid, 0);
    if r != pid {
        return -1000 + r as i32;
    }
    if status & 0x7f != 0 {
        128 + (status & 0x7f)
    } else {
        (status >> 8) & 0xff
    }
}

pub fn mmap(addr: usize, len: usize, prot: usize, flags: usize) -> isize {
    syscall(SYS_MMAP, &[addr, len, prot, flags, usize::MAX, 0])
}

pub fn munmap(addr: usize, len: usize) -> isize {
    syscall(SYS_MUNMAP, &[addr, len])
}

pub fn brk(addr: usize) -> isize {
    syscall(SYS_BRK, &[addr])
}

pub fn futex_wait(addr: &core::sync::atomic::AtomicU32, val: u32, private: bool) -> isize {
    let op = FUTEX_WAIT | if private { FUTEX_PRIVATE } else { 0 };
    syscall(
        SYS_FUTEX,
        &[addr.as_ptr() as usize, op, val as usize, 0, 0, 0],
    )
}

pub fn futex_wake(addr: &core::sync::atomic::AtomicU32, n: usize, private: bool) -> isize {
    let op = FUTEX_WAKE | if private { FUTEX_PRIVATE } else { 0 };
    syscall(SYS_FUTEX, &[addr.as_ptr() as usize, op, n, 0, 0, 0])
}

/// The kernel's counters: 0 frames in use, 1 COW copies, 2 COW reuses, 3 free frames,
/// 4 kernel heap bytes in use, 5/6 COW copies/reuses in the caller's address space.
pub fn kstat(which: usize) -> usize {
    syscall(SYS_KSTAT, &[which]) as usize
}

pub fn nanosleep_ns(ns: u64) -> isize {
    let ts = [(ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as i64];
    syscall(SYS_NANOSLEEP, &[ts.as_ptr() as usize, 0])
}

pub fn clock_ns() -> u64 {
    let mut ts = [0i64; 2];
    syscall(SYS_CLOCK_GETTIME, &[1, ts.as_mut_ptr() as usize]);
    ts[0] as u64 * 1_000_000_000 + ts[1] as u64
}

/// The kernel's counter `which`, or None on a kernel without KSTAT (real Linux), so the
/// same test binaries can be checked against Linux with linux-oracle.sh.
pub fn kstat_opt(which: usize) -> Option<usize> {
    let r = syscall(SYS_KSTAT, &[which]);
    (r >= 0).then_some(r as usize)
}

/// Anonymous private read-write memory.
pub fn alloc_pages(len: usize) -> *mut u8 {
    mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS) as *mut u8
}

/// Forks a child that runs `f` and exits with its return value; returns the child's pid.
pub fn spawn(f: impl FnOnce() -> i32) -> isize {
    let pid = fork();
    if pid == 0 {
        exit_group(f());
    }
    pid
}

/// A page of MAP_SHARED memory (stays shared across fork: for results from children).
pub fn shared_page() -> &'static mut [u64; 512] {
    let p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    assert!(p > 0, "mmap MAP_SHARED failed");
    // SAFETY: a fresh, zeroed, page-aligned mapping that is never unmapped.
    unsafe { &mut *(p as *mut [u64; 512]) }
}

/// The flags musl's pthread_create passes to clone.
pub const THREAD_FLAGS: usize =
    CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;

/// A 64 KiB stack for a thread or a CLONE_VM child; returns its top.
pub fn new_stack() -> usize {
    let size = 64 * 1024;
    let p = mmap(0, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    assert!(p > 0, "mmap stack failed");
    p as usize + size
}

/// Starts `f(arg)` on a new stack with clone(`flags`); the child exits with f's result.
/// The `tid` word gets PARENT_SETTID/CHILD_CLEARTID when those flags are given.
pub fn clone_fn(
    flags: usize,
    f: extern "C" fn(usize) -> i32,
    arg: usize,
    tid: &core::sync::atomic::AtomicU32,
) -> isize {
    let t = tid.as_ptr() as usize;
    crate::arch::clone_thread(flags, new_stack(), t, 0, t, f, arg)
}

/// Waits until the CLONE_CHILD_CLEARTID word of a thread becomes 0 (pthread_join):
/// a shared futex wait, because the kernel's wake at thread exit is a shared wake.
pub fn join(tid: &core::sync::atomic::AtomicU32) {
    loop {
        let v = tid.load(core::sync::atomic::Ordering::Acquire);
        if v == 0 {
            return;
        }
        let r = futex_wait(tid, v, false);
        if r < 0 && r != -EAGAIN && r != -EINTR {
            crate::println!("join: futex wait failed with {}", r);
            exit_group(90);
        }
    }
}

/// A futex-based mutex (Drepper's "Futexes Are Tricky", mutex 2).
pub struct FutexMutex {
    state: core::sync::atomic::AtomicU32,
}

impl FutexMutex {
    pub const fn new() -> FutexMutex {
        FutexMutex {
            state: core::sync::atomic::AtomicU32::new(0),
        }
    }

    pub fn lock(&self) {
        use core::sync::atomic::Ordering::*;
        if self.state.compare_exchange(0, 1, Acquire, Relaxed).is_ok() {
            return;
        }
        while self.state.swap(2, Acquire) != 0 {
            futex_wait(&self.state, 2, true);
        }
    }

    pub fn unlock(&self) {
        use core::sync::atomic::Ordering::*;
        if self.state.swap(0, Release) == 2 {
            futex_wake(&self.state, 1, true);
        }
    }
}

impl Default for FutexMutex {
    fn default() -> Self {
        Self::new()
    }
}

pub fn pipe() -> [i32; 2] {
    let mut fds = [0i32; 2];
    let r = syscall(SYS_PIPE2, &[fds.as_mut_ptr() as usize, 0]);
    assert!(r == 0, "pipe2 failed");
    fds
}

pub fn close(fd: i32) -> isize {
    syscall(SYS_CLOSE, &[fd as usize])
}

// mm_limits: mremap and the full mmap/mprotect argument lists.
pub const SYS_MREMAP: usize = 216;

/// mmap with every argument (file descriptor and offset too).
pub fn mmap6(addr: usize, len: usize, prot: usize, flags: usize, fd: usize, off: usize) -> isize {
    syscall(SYS_MMAP, &[addr, len, prot, flags, fd, off])
}

pub fn mprotect(addr: usize, len: usize, prot: usize) -> isize {
    syscall(SYS_MPROTECT, &[addr, len, prot])
}

pub fn mremap(addr: usize, old_len: usize, new_len: usize, flags: usize, new_addr: usize) -> isize {
    syscall(SYS_MREMAP, &[addr, old_len, new_len, flags, new_addr])
}

// Descriptors, pipes, limits, process groups, execve (issue 9).

pub const SYS_NEWFSTATAT: usize = 79;
pub const SYS_FSTAT: usize = 80;
pub const SYS_SETPGID: usize = 154;
pub const SYS_GETPGID: usize = 155;
pub const SYS_GETSID: usize = 156;
pub const SYS_SETSID: usize = 157;
pub const SYS_GETRLIMIT: usize = 163;
pub const SYS_SETRLIMIT: usize = 164;
pub const SYS_PRLIMIT64: usize = 261;

pub const E2BIG: isize = 7;
pub const EACCES: isize = 13;
pub const EMFILE: isize = 24;
pub const ENAMETOOLONG: isize = 36;
pub const ENOPKG: isize = 65;

pub const O_NONBLOCK: usize = 0o4000;
pub const O_DIRECT: usize = 0o200000;
pub const O_CLOEXEC: usize = 0o2000000;

pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_NPROC: usize = 6;
pub const RLIMIT_NOFILE: usize = 7;
pub const RLIMIT_SIGPENDING: usize = 11;
pub const RLIM_INFINITY: u64 = u64::MAX;

/// In a child about to run `path`: makes `stdio` its fds 0, 1 and 2, closes every other
/// descriptor below 64 (whatever started the test may have left some open), and execs
/// `path` with `argv` and the environment `PATH=/bin`; exits 126 if that fails.
pub fn exec_with_stdio(path: &core::ffi::CStr, argv: &[&core::ffi::CStr], stdio: [i32; 3]) -> ! {
    for (to, fd) in stdio.into_iter().enumerate() {
        dup3(fd, to as i32, 0);
    }
    for fd in 3..64 {
        close(fd);
    }
    let mut ptrs = [core::ptr::null(); 8];
    for (p, a) in ptrs.iter_mut().zip(argv) {
        *p = a.as_ptr();
    }
    execve_slices(
        path.as_ptr(),
        &ptrs,
        &[c"PATH=/bin".as_ptr(), core::ptr::null()],
    );
    exit_group(126)
}

/// pipe2(flags): the two descriptors, or -errno.
pub fn pipe2(flags: usize) -> Result<[i32; 2], isize> {
    let mut fds = [0i32; 2];
    match syscall(SYS_PIPE2, &[fds.as_mut_ptr() as usize, flags]) {
        0 => Ok(fds),
        e => Err(e),
    }
}

/// prlimit64(pid, resource, new, &old): the old (soft, hard) pair, or -errno.
pub fn prlimit(pid: isize, resource: usize, new: Option<[u64; 2]>) -> Result<[u64; 2], isize> {
    let mut old = [0u64; 2];
    let new_ptr = new.as_ref().map_or(0, |n| n.as_ptr() as usize);
    match syscall(
        SYS_PRLIMIT64,
        &[pid as usize, resource, new_ptr, old.as_mut_ptr() as usize],
    ) {
        0 => Ok(old),
        e => Err(e),
    }
}

/// The caller's soft limit for `resource` (RLIM_INFINITY if prlimit64 fails).
pub fn rlimit_cur(resource: usize) -> u64 {
    prlimit(0, resource, None).map_or(RLIM_INFINITY, |l| l[0])
}

pub fn setpgid(pid: isize, pgid: isize) -> isize {
    syscall(SYS_SETPGID, &[pid as usize, pgid as usize])
}

pub fn getpgid(pid: isize) -> isize {
    syscall(SYS_GETPGID, &[pid as usize])
}

pub fn getsid(pid: isize) -> isize {
    syscall(SYS_GETSID, &[pid as usize])
}

pub fn setsid() -> isize {
    syscall(SYS_SETSID, &[])
}

pub fn kill(pid: isize, sig: usize) -> isize {
    syscall(SYS_KILL, &[pid as usize, sig])
}

pub fn dup3(old: i32, new: i32, flags: usize) -> isize {
    syscall(SYS_DUP3, &[old as usize, new as usize, flags])
}

/// execve with NUL-terminated strings (pointers in NULL-terminated arrays).
pub fn execve(path: *const u8, argv: *const usize, envp: *const usize) -> isize {
    syscall(SYS_EXECVE, &[path as usize, argv as usize, envp as usize])
}

/// fstat(fd) succeeds: the descriptor is open.
pub fn fd_is_open(fd: i32) -> bool {
    let mut st = [0u8; 128];
    syscall(SYS_FSTAT, &[fd as usize, st.as_mut_ptr() as usize]) == 0
}

/// newfstatat(AT_FDCWD, path): 0 or -errno.
pub fn stat_path(path: *const u8) -> isize {
    let mut st = [0u8; 128];
    syscall(
        SYS_NEWFSTATAT,
        &[
            -100isize as usize,
            path as usize,
            st.as_mut_ptr() as usize,
            0,
        ],
    )
}

/// A decimal number from the start of `s` (a command-line argument).
pub fn parse_num(s: &str) -> Option<usize> {
    if s.is_empty() {
        return None;
    }
    s.bytes().try_fold(0usize, |n, b| {
        b.is_ascii_digit().then(|| n * 10 + (b - b'0') as usize)
    })
}

/// `n` in decimal with a NUL after it, for argv.
pub fn num_arg(n: usize) -> [u8; 24] {
    let mut digits = [0u8; 24];
    let mut len = 0;
    let mut v = n;
    loop {
        digits[len] = b'0' + (v % 10) as u8;
        len += 1;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let mut out = [0u8; 24];
    for i in 0..len {
        out[i] = digits[len - 1 - i];
    }
    out
}

// --- Issue 9's robustness programs (fuzz, fork_bomb, thread_bomb, mem_hog, leak_10k,
// fault_inject): a few more calls and constants. ---

pub const SYS_FCNTL: usize = 25;
pub const SYS_PRCTL: usize = 167;
/// This kernel's allocation-failure test hook (not Linux): see fault_inject().
pub const SYS_FAULT_INJECT: usize = 1001;
/// fault_inject kinds: any page frame, page-table frames only, kernel heap allocations.
pub const FAULT_FRAME: usize = 0;
pub const FAULT_PAGE_TABLE: usize = 1;
pub const FAULT_HEAP: usize = 2;

pub const ENFILE: isize = 23;
pub const SIGBUS: usize = 7;
pub const SIGSTOP: usize = 19;
pub const SIG_DFL: usize = 0;
pub const SIG_IGN: usize = 1;
pub const PR_SET_CHILD_SUBREAPER: usize = 36;
/// wait4 option: children of any kind (also those whose exit signal is not SIGCHLD).
pub const WALL: usize = 0x4000_0000;

core::arch::global_asm!(
    // The return path of our handlers, as musl's `__restore_rt`: rt_sigreturn.
    ".global ulib_restore_rt",
    "ulib_restore_rt:",
    "    mov x8, #139",
    "    svc #0",
);

unsafe extern "C" {
    fn ulib_restore_rt();
}

pub const SA_SIGINFO: usize = 4;
pub const SA_RESTORER: usize = 0x0400_0000;
pub const SA_RESTART: usize = 0x1000_0000;

/// rt_sigaction(sig, {handler, flags | SA_RESTORER, ulib's restorer, mask}, NULL): how
/// musl installs a handler (it always gives its own restorer).
pub fn sigaction(sig: usize, handler: usize, flags: usize, mask: u64) -> isize {
    let act = [
        handler,
        flags | SA_RESTORER,
        ulib_restore_rt as *const () as usize,
        mask as usize,
    ];
    syscall(SYS_RT_SIGACTION, &[sig, act.as_ptr() as usize, 0, 8])
}

/// rt_sigaction(sig, {handler, flags 0, no restorer, empty mask}, NULL).
pub fn set_signal_handler(sig: usize, handler: usize) -> isize {
    let act = [handler, 0, 0, 0];
    syscall(SYS_RT_SIGACTION, &[sig, act.as_ptr() as usize, 0, 8])
}

/// execve(path, argv, envp) with NUL-terminated strings; returns only on failure.
pub fn execve_slices(path: *const u8, argv: &[*const u8], envp: &[*const u8]) -> isize {
    syscall(
        SYS_EXECVE,
        &[
            path as usize,
            argv.as_ptr() as usize,
            envp.as_ptr() as usize,
        ],
    )
}

/// pipe2(flags): the two descriptors, or -errno.
/// fault_inject(kind, nth) (this kernel's test hook, number 1001): nth >= 1 makes the
/// nth allocation of `kind` from now on, system-wide, fail once; nth = 0 disarms it and
/// returns 1 if that failure happened, else 0. -ENOSYS on a kernel built without it.
pub fn fault_inject(kind: usize, nth: usize) -> isize {
    syscall(SYS_FAULT_INJECT, &[kind, nth])
}

/// The signal that ended a wait status, if a signal did.
pub fn status_signal(status: i32) -> Option<i32> {
    let sig = status & 0x7f;
    (sig != 0 && sig != 0x7f).then_some(sig)
}

/// The exit code of a wait status, if the process exited.
pub fn status_exit_code(status: i32) -> Option<i32> {
    (status & 0x7f == 0).then_some((status >> 8) & 0xff)
}

/// Frames in use and kernel heap bytes in use (KSTAT 0 and 4); None on Linux.
pub fn mem_usage() -> Option<(usize, usize)> {
    Some((kstat_opt(KSTAT_FRAMES)?, kstat_opt(KSTAT_HEAP)?))
}

/// Whether the frames in use (KSTAT 0) are back at `want`, waiting up to a second: a
/// reaped child's kernel stack is freed when the other CPU it last ran on has finished
/// switching away from it, a moment after wait4 returned.
pub fn frames_back_to(want: usize) -> bool {
    let start = clock_ns();
    while kstat(0) != want {
        if clock_ns() - start > 1_000_000_000 {
            return false;
        }
        nanosleep_ns(1_000_000);
    }
    true
}

/// `mem_usage` once it has stopped changing (the same reading 10 ms apart): a baseline
/// taken right after threads exited must not count a kernel stack that another CPU is
/// still switching away from.
pub fn settled_mem_usage() -> Option<(usize, usize)> {
    let mut last = mem_usage()?;
    for _ in 0..100 {
        nanosleep_ns(10_000_000);
        let now = mem_usage()?;
        if now == last {
            return Some(now);
        }
        last = now;
    }
    Some(last)
}

/// Compares frames and heap with `baseline` (from mem_usage); Ok on Linux (no KSTAT).
/// It polls for up to a second before it gives up: a task that wait4 has reaped may still
/// be on its way off a CPU (on SMP the last switch away from it finishes on the other
/// CPU), and its kernel stack is freed after that switch. The amounts must be exact.
pub fn check_baseline(baseline: Option<(usize, usize)>) -> Result<(), (usize, usize)> {
    let Some(want) = baseline else {
        return Ok(());
    };
    let start = clock_ns();
    loop {
        let now = mem_usage().unwrap_or(want);
        if now == want {
            return Ok(());
        }
        if clock_ns() - start > 1_000_000_000 {
            return Err(now);
        }
        nanosleep_ns(1_000_000);
    }
}

/// A page of MAP_SHARED memory as atomic words (counters shared with children).
pub fn shared_atomics() -> &'static [core::sync::atomic::AtomicU64; 512] {
    let page = shared_page();
    // SAFETY: a shared, never unmapped page; AtomicU64 has u64's size and alignment.
    unsafe { &*(page.as_mut_ptr() as *const [core::sync::atomic::AtomicU64; 512]) }
}

// --- SMP (issue "SMP: four CPUs"): CPU affinity, getcpu, and helpers the smp_* stress
// tests share. ---

pub const SYS_SCHED_SETAFFINITY: usize = 122;
pub const SYS_SCHED_GETAFFINITY: usize = 123;
pub const SYS_GETCPU: usize = 168;

/// sched_getaffinity(pid, len, ptr) with a raw length and pointer: the number of bytes
/// the kernel wrote (Linux: min(len, its cpumask size)), or -errno.
pub fn sched_getaffinity_raw(pid: isize, len: usize, ptr: usize) -> isize {
    syscall(SYS_SCHED_GETAFFINITY, &[pid as usize, len, ptr])
}

/// sched_getaffinity(pid, mask): bytes written or -errno (the length is mask's size).
pub fn sched_getaffinity(pid: isize, mask: &mut [u64]) -> isize {
    sched_getaffinity_raw(pid, mask.len() * 8, mask.as_mut_ptr() as usize)
}

/// sched_setaffinity(pid, mask) (pid 0: the calling thread; a tid: that thread): 0 or
/// -errno. Linux moves the caller onto an allowed CPU before it returns.
pub fn sched_setaffinity(pid: isize, mask: &[u64]) -> isize {
    syscall(
        SYS_SCHED_SETAFFINITY,
        &[pid as usize, mask.len() * 8, mask.as_ptr() as usize],
    )
}

/// getcpu(&cpu, &node, NULL): (cpu, node) the caller is running on, or -errno.
pub fn getcpu() -> Result<(usize, usize), isize> {
    let (mut cpu, mut node) = (u32::MAX, u32::MAX);
    let r = syscall(
        SYS_GETCPU,
        &[
            &mut cpu as *mut u32 as usize,
            &mut node as *mut u32 as usize,
            0,
        ],
    );
    if r < 0 {
        Err(r)
    } else {
        Ok((cpu as usize, node as usize))
    }
}

/// The CPUs the calling thread may run on, as a bit mask of CPUs 0-63 (CPUs beyond 63
/// are ignored), or -errno from sched_getaffinity (e.g. -ENOSYS on a kernel without it).
pub fn cpu_mask() -> Result<u64, isize> {
    let mut mask = [0u64; 16];
    let r = sched_getaffinity(0, &mut mask);
    if r < 0 { Err(r) } else { Ok(mask[0]) }
}

/// How many CPUs the caller may run on; 1 if sched_getaffinity is not implemented.
pub fn cpu_count() -> usize {
    cpu_mask().map_or(1, |m| (m.count_ones() as usize).max(1))
}

/// The `n`th CPU (counting from 0, wrapping around) of `mask`.
pub fn nth_cpu(mask: u64, n: usize) -> usize {
    let count = mask.count_ones() as usize;
    let mut want = if count == 0 { 0 } else { n % count };
    for cpu in 0..64 {
        if mask & (1 << cpu) != 0 {
            if want == 0 {
                return cpu;
            }
            want -= 1;
        }
    }
    0
}

/// Pins the calling thread to `cpu` (sched_setaffinity(0, {cpu})): 0 or -errno.
pub fn pin_to_cpu(cpu: usize) -> isize {
    sched_setaffinity(0, &[1u64 << cpu])
}

/// A pool of `n` thread stacks of `size` bytes each in one mapping, every page touched
/// (so that using them later allocates no frame); returns the base (stack i's top is
/// base + (i + 1) * size), or -errno from mmap.
pub fn stack_pool(n: usize, size: usize) -> isize {
    let base = mmap(
        0,
        n * size,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
    );
    if base > 0 {
        for page in (0..n * size).step_by(4096) {
            // SAFETY: inside the fresh mapping.
            unsafe { ((base as usize + page) as *mut u8).write_volatile(0) };
        }
    }
    base
}

/// Waits for a CLONE_CHILD_CLEARTID word to become 0 like `join`, but for at most
/// `timeout_ns` in all: false if the deadline passes first — also when the thread has
/// exited by then, but its exit's futex wake never came (a lost wake-up, which a plain
/// `join` would turn into a hang).
pub fn join_timeout(tid: &core::sync::atomic::AtomicU32, timeout_ns: u64) -> bool {
    let start = clock_ns();
    loop {
        let v = tid.load(core::sync::atomic::Ordering::Acquire);
        if v == 0 {
            return true;
        }
        let elapsed = clock_ns() - start;
        if elapsed >= timeout_ns
            || futex_wait_timeout(tid, v, false, timeout_ns - elapsed) == -ETIMEDOUT
        {
            return false;
        }
    }
}

/// FUTEX_WAIT with a relative timeout: 0, or -EAGAIN (the word differs), -ETIMEDOUT,
/// -EINTR.
pub fn futex_wait_timeout(
    addr: &core::sync::atomic::AtomicU32,
    val: u32,
    private: bool,
    timeout_ns: u64,
) -> isize {
    let op = FUTEX_WAIT | if private { FUTEX_PRIVATE } else { 0 };
    let ts = [
        (timeout_ns / 1_000_000_000) as i64,
        (timeout_ns % 1_000_000_000) as i64,
    ];
    syscall(
        SYS_FUTEX,
        &[
            addr.as_ptr() as usize,
            op,
            val as usize,
            ts.as_ptr() as usize,
            0,
            0,
        ],
    )
}

/// musl's pthread_create flags plus the tid word (PARENT_SETTID, CHILD_CLEARTID): a
/// thread that `join` can wait for.
pub const JOINABLE_THREAD: usize = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;

/// Starts a joinable thread running `f(arg)` on the stack whose top is `stack_top`;
/// `tid` gets its thread id and is cleared (with a futex wake) when it exits.
pub fn thread_on(
    stack_top: usize,
    f: extern "C" fn(usize) -> i32,
    arg: usize,
    tid: &core::sync::atomic::AtomicU32,
) -> isize {
    let t = tid.as_ptr() as usize;
    crate::arch::clone_thread(JOINABLE_THREAD, stack_top, t, 0, t, f, arg)
}

/// Waits until every CLONE_CHILD_CLEARTID word in `tids` is 0, polling; false once
/// `progress()` has not changed for `stall_ns` (a hang, told apart from a slow run on a
/// loaded host by the work counter the threads advance).
pub fn wait_threads(
    tids: &[core::sync::atomic::AtomicU32],
    progress: impl Fn() -> u64,
    stall_ns: u64,
) -> bool {
    let (mut last, mut since) = (progress(), clock_ns());
    loop {
        if tids
            .iter()
            .all(|t| t.load(core::sync::atomic::Ordering::Acquire) == 0)
        {
            return true;
        }
        let now = progress();
        if now != last {
            (last, since) = (now, clock_ns());
        } else if clock_ns() - since > stall_ns {
            return false;
        }
        nanosleep_ns(5_000_000);
    }
}

// --- Issue 13's init and shell (init.rs, tsh.rs): sessions, the terminal, signals, reboot. ---

pub const SYS_RT_SIGPROCMASK: usize = 135;
pub const SYS_REBOOT: usize = 142;

pub const SIGHUP: usize = 1;
pub const SIGINT: usize = 2;
pub const SIGQUIT: usize = 3;
pub const SIGUSR1: usize = 10;
pub const SIGUSR2: usize = 12;
pub const SIGPIPE: usize = 13;
pub const SIGTERM: usize = 15;
pub const SIGCONT: usize = 18;
pub const SIGTSTP: usize = 20;
pub const SIGTTIN: usize = 21;
pub const SIGTTOU: usize = 22;
/// wait4 option: also report children that stopped.
pub const WUNTRACED: usize = 2;
/// rt_sigprocmask's `how`.
pub const SIG_BLOCK: usize = 0;
pub const SIG_UNBLOCK: usize = 1;
pub const SIG_SETMASK: usize = 2;

/// ioctls of a terminal: make it the caller's controlling terminal, set and get its
/// foreground process group.
pub const TIOCSCTTY: usize = 0x540e;
pub const TIOCGPGRP: usize = 0x540f;
pub const TIOCSPGRP: usize = 0x5410;

/// reboot(2)'s magic numbers and commands (include/uapi/linux/reboot.h).
pub const LINUX_REBOOT_MAGIC1: usize = 0xfee1_dead;
pub const LINUX_REBOOT_MAGIC2: usize = 672_274_793;
pub const LINUX_REBOOT_MAGIC2A: usize = 85_072_278;
pub const LINUX_REBOOT_MAGIC2B: usize = 369_367_448;
pub const LINUX_REBOOT_MAGIC2C: usize = 537_993_216;
pub const LINUX_REBOOT_CMD_RESTART: usize = 0x0123_4567;
pub const LINUX_REBOOT_CMD_HALT: usize = 0xcdef_0123;
pub const LINUX_REBOOT_CMD_CAD_ON: usize = 0x89ab_cdef;
pub const LINUX_REBOOT_CMD_CAD_OFF: usize = 0;
pub const LINUX_REBOOT_CMD_POWER_OFF: usize = 0x4321_fedc;
pub const LINUX_REBOOT_CMD_RESTART2: usize = 0xa1b2_c3d4;

/// reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, 0): returns only on failure
/// (or for CAD_ON/CAD_OFF).
pub fn reboot(cmd: usize) -> isize {
    syscall(
        SYS_REBOOT,
        &[LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, cmd, 0],
    )
}

/// rt_sigprocmask(how, &set, NULL): changes the blocked signals (bit n-1 = signal n).
pub fn sigprocmask(how: usize, set: u64) -> isize {
    syscall(
        SYS_RT_SIGPROCMASK,
        &[how, &set as *const u64 as usize, 0, 8],
    )
}

/// The bit of signal `sig` in a signal set.
pub const fn sigbit(sig: usize) -> u64 {
    1 << (sig - 1)
}

/// tcsetpgrp(fd, pgrp): makes `pgrp` the terminal's foreground process group.
pub fn tcsetpgrp(fd: i32, pgrp: isize) -> isize {
    let p = pgrp as i32;
    crate::file::ioctl(fd, TIOCSPGRP, &p as *const i32 as usize)
}

/// tcgetpgrp(fd): the terminal's foreground process group, or -errno.
pub fn tcgetpgrp(fd: i32) -> isize {
    let mut p = 0i32;
    let r = crate::file::ioctl(fd, TIOCGPGRP, &mut p as *mut i32 as usize);
    if r < 0 { r } else { p as isize }
}

/// Whether `fd` is a terminal (isatty: TCGETS succeeds).
pub fn isatty(fd: i32) -> bool {
    let mut termios = [0u8; 60];
    crate::file::ioctl(fd, crate::file::TCGETS, termios.as_mut_ptr() as usize) == 0
}
