//! System calls: the Linux AArch64 ABI — `svc #0`, number in x8, arguments in x0-x5,
//! result or -errno in x0. Numbers are Linux's (include/uapi/asm-generic/unistd.h).
//! User pointers are read and written through mm::uaccess.

#[cfg(target_os = "none")]
mod file;
#[cfg(target_os = "none")]
mod memory;
#[cfg(target_os = "none")]
mod misc;
#[cfg(target_os = "none")]
mod path;
#[cfg(target_os = "none")]
mod poll;
#[cfg(target_os = "none")]
mod process;
#[cfg(target_os = "none")]
mod reboot;
#[cfg(target_os = "none")]
mod sched;
#[cfg(target_os = "none")]
mod signal;
#[cfg(target_os = "none")]
mod stat;
#[cfg(target_os = "none")]
mod time;

/// Linux AArch64 system call numbers this kernel implements.
pub mod nr {
    pub const GETXATTR: usize = 8;
    pub const LGETXATTR: usize = 9;
    pub const FGETXATTR: usize = 10;
    pub const LISTXATTR: usize = 11;
    pub const LLISTXATTR: usize = 12;
    pub const FLISTXATTR: usize = 13;
    pub const GETCWD: usize = 17;
    pub const EVENTFD2: usize = 19;
    pub const EPOLL_CREATE1: usize = 20;
    pub const EPOLL_CTL: usize = 21;
    pub const EPOLL_PWAIT: usize = 22;
    pub const DUP: usize = 23;
    pub const DUP3: usize = 24;
    pub const FCNTL: usize = 25;
    pub const IOCTL: usize = 29;
    pub const MKNODAT: usize = 33;
    pub const MKDIRAT: usize = 34;
    pub const UNLINKAT: usize = 35;
    pub const SYMLINKAT: usize = 36;
    pub const LINKAT: usize = 37;
    pub const RENAMEAT: usize = 38;
    pub const UMOUNT2: usize = 39;
    pub const MOUNT: usize = 40;
    pub const STATFS: usize = 43;
    pub const FSTATFS: usize = 44;
    pub const TRUNCATE: usize = 45;
    pub const FTRUNCATE: usize = 46;
    pub const FACCESSAT: usize = 48;
    pub const CHDIR: usize = 49;
    pub const FCHDIR: usize = 50;
    pub const CHROOT: usize = 51;
    pub const FCHMOD: usize = 52;
    pub const FCHMODAT: usize = 53;
    pub const FCHOWNAT: usize = 54;
    pub const FCHOWN: usize = 55;
    pub const OPENAT: usize = 56;
    pub const CLOSE: usize = 57;
    pub const PIPE2: usize = 59;
    pub const GETDENTS64: usize = 61;
    pub const LSEEK: usize = 62;
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const READV: usize = 65;
    pub const WRITEV: usize = 66;
    pub const PREAD64: usize = 67;
    pub const PWRITE64: usize = 68;
    pub const PREADV: usize = 69;
    pub const PWRITEV: usize = 70;
    pub const SENDFILE: usize = 71;
    pub const PSELECT6: usize = 72;
    pub const PPOLL: usize = 73;
    pub const READLINKAT: usize = 78;
    pub const NEWFSTATAT: usize = 79;
    pub const FSTAT: usize = 80;
    pub const SYNC: usize = 81;
    pub const FSYNC: usize = 82;
    pub const FDATASYNC: usize = 83;
    pub const UTIMENSAT: usize = 88;
    pub const EXIT: usize = 93;
    pub const EXIT_GROUP: usize = 94;
    pub const SET_TID_ADDRESS: usize = 96;
    pub const FUTEX: usize = 98;
    pub const SET_ROBUST_LIST: usize = 99;
    pub const NANOSLEEP: usize = 101;
    pub const GETITIMER: usize = 102;
    pub const SETITIMER: usize = 103;
    pub const TIMER_CREATE: usize = 107;
    pub const TIMER_GETTIME: usize = 108;
    pub const TIMER_GETOVERRUN: usize = 109;
    pub const TIMER_SETTIME: usize = 110;
    pub const TIMER_DELETE: usize = 111;
    pub const CLOCK_GETTIME: usize = 113;
    pub const CLOCK_GETRES: usize = 114;
    pub const CLOCK_NANOSLEEP: usize = 115;
    pub const SCHED_SETAFFINITY: usize = 122;
    pub const SCHED_GETAFFINITY: usize = 123;
    pub const SCHED_YIELD: usize = 124;
    pub const RESTART_SYSCALL: usize = 128;
    pub const KILL: usize = 129;
    pub const TKILL: usize = 130;
    pub const TGKILL: usize = 131;
    pub const SIGALTSTACK: usize = 132;
    pub const RT_SIGSUSPEND: usize = 133;
    pub const RT_SIGACTION: usize = 134;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const TIMES: usize = 153;
    pub const RT_SIGPENDING: usize = 136;
    pub const RT_SIGTIMEDWAIT: usize = 137;
    pub const RT_SIGQUEUEINFO: usize = 138;
    pub const RT_SIGRETURN: usize = 139;
    pub const REBOOT: usize = 142;
    pub const RT_TGSIGQUEUEINFO: usize = 240;
    pub const SETPGID: usize = 154;
    pub const GETPGID: usize = 155;
    pub const GETSID: usize = 156;
    pub const SETSID: usize = 157;
    pub const UNAME: usize = 160;
    pub const GETRLIMIT: usize = 163;
    pub const SETRLIMIT: usize = 164;
    pub const GETRUSAGE: usize = 165;
    pub const UMASK: usize = 166;
    pub const PRCTL: usize = 167;
    pub const GETCPU: usize = 168;
    pub const GETTIMEOFDAY: usize = 169;
    pub const GETGROUPS: usize = 158;
    pub const GETPID: usize = 172;
    pub const GETPPID: usize = 173;
    pub const GETUID: usize = 174;
    pub const GETEUID: usize = 175;
    pub const GETGID: usize = 176;
    pub const GETEGID: usize = 177;
    pub const GETTID: usize = 178;
    pub const SYSINFO: usize = 179;
    pub const GETSOCKNAME: usize = 204;
    pub const GETPEERNAME: usize = 205;
    pub const BRK: usize = 214;
    pub const MUNMAP: usize = 215;
    pub const MREMAP: usize = 216;
    pub const CLONE: usize = 220;
    pub const EXECVE: usize = 221;
    pub const MMAP: usize = 222;
    pub const FADVISE64: usize = 223;
    pub const MPROTECT: usize = 226;
    pub const MSYNC: usize = 227;
    pub const WAIT4: usize = 260;
    pub const PRLIMIT64: usize = 261;
    pub const SYNCFS: usize = 267;
    pub const RENAMEAT2: usize = 276;
    pub const GETRANDOM: usize = 278;
    pub const STATX: usize = 291;
    pub const CLONE3: usize = 435;
    pub const CLOSE_RANGE: usize = 436;
    pub const FACCESSAT2: usize = 439;
    /// Not Linux: this kernel's statistics for tests (frames in use, COW counters).
    pub const KSTAT: usize = 1000;
    /// Not Linux: the fault-injection test hook (mm/inject.rs).
    pub const FAULT_INJECT: usize = 1001;
}

#[cfg(target_os = "none")]
pub use dispatch_impl::dispatch;

#[cfg(target_os = "none")]
mod dispatch_impl {
    use super::{file, memory, misc, nr, path, poll, process, reboot, sched, signal, stat, time};
    use crate::arch::TrapFrame;
    use crate::error::{Errno, KResult};

    /// A system call's handler: it decodes its arguments (x0-x5), runs, and returns
    /// what x0 gets — the result, or -errno (Linux's handlers return a `long` too).
    /// Returned in a register: a `KResult<usize>` is 16 bytes and comes back through
    /// memory, which cost every system call half a dozen instructions.
    type SyscallFn = fn(&mut TrapFrame) -> i64;

    /// A table entry: the closure `|regs| handler(...)`, whose `KResult` becomes x0's
    /// value right there (`syscall_ret`).
    macro_rules! sys {
        (|$r:pat_param| $body:expr) => {
            Some(|$r: &mut TrapFrame| -> i64 { syscall_ret($body) })
        };
    }

    /// A handler's result as the value x0 gets: the value, or -errno.
    #[inline(always)]
    fn syscall_ret(r: KResult<usize>) -> i64 {
        match r {
            Ok(v) => v as i64,
            Err(e) => e.as_ret() as i64,
        }
    }

    /// Table size: one past the highest Linux number implemented (faccessat2).
    const NR_SYSCALLS: usize = nr::FACCESSAT2 + 1;

    /// Linux `sys_call_table` (arch/arm64/kernel/sys.c): the handler of each number.
    static SYS_CALL_TABLE: [Option<SyscallFn>; NR_SYSCALLS] = {
        let mut t: [Option<SyscallFn>; NR_SYSCALLS] = [None; NR_SYSCALLS];
        // Files: descriptors (syscall/file.rs).
        t[nr::DUP] = sys!(|r| file::dup(r.arg(0) as u32));
        t[nr::DUP3] = sys!(|r| file::dup3(r.arg(0) as u32, r.arg(1) as u32, r.arg(2) as u32));
        t[nr::FCNTL] = sys!(|r| file::fcntl(r.arg(0) as i32, r.arg(1) as u32, r.arg(2)));
        t[nr::IOCTL] = sys!(|r| file::ioctl(r.arg(0) as i32, r.arg(1) as u32, r.arg(2)));
        t[nr::CLOSE] = sys!(|r| file::close(r.arg(0) as i32));
        t[nr::CLOSE_RANGE] =
            sys!(|r| file::close_range(r.arg(0) as u32, r.arg(1) as u32, r.arg(2) as u32));
        t[nr::PIPE2] = sys!(|r| file::pipe2(r.arg(0), r.arg(1) as u32));
        t[nr::GETDENTS64] = sys!(|r| file::getdents64(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::LSEEK] = sys!(|r| file::lseek(r.arg(0) as i32, r.arg(1) as i64, r.arg(2) as u32));
        t[nr::READ] = sys!(|r| file::read(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::WRITE] = sys!(|r| file::write(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::READV] = sys!(|r| file::readv(r.arg(0) as i32, r.arg(1), r.arg(2), None));
        t[nr::WRITEV] = sys!(|r| file::writev(r.arg(0) as i32, r.arg(1), r.arg(2), None));
        t[nr::PREAD64] =
            sys!(|r| file::pread64(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3) as i64));
        t[nr::PWRITE64] =
            sys!(|r| file::pwrite64(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3) as i64));
        t[nr::PREADV] =
            sys!(|r| file::readv(r.arg(0) as i32, r.arg(1), r.arg(2), Some(r.arg(3) as i64)));
        t[nr::PWRITEV] =
            sys!(|r| file::writev(r.arg(0) as i32, r.arg(1), r.arg(2), Some(r.arg(3) as i64)));
        t[nr::SENDFILE] =
            sys!(|r| file::sendfile(r.arg(0) as i32, r.arg(1) as i32, r.arg(2), r.arg(3)));
        t[nr::FTRUNCATE] = sys!(|r| file::ftruncate(r.arg(0) as i32, r.arg(1) as i64));
        t[nr::FSYNC] = sys!(|r| file::fsync(r.arg(0) as i32));
        // There are no sockets: a descriptor is bad or no socket (bash asks whether its
        // input is one, getpeername, to read ~/.bashrc when started by rshd).
        t[nr::GETSOCKNAME] = sys!(|r| file::file(r.arg(0) as i32).and(Err(Errno::ENOTSOCK)));
        t[nr::GETPEERNAME] = sys!(|r| file::file(r.arg(0) as i32).and(Err(Errno::ENOTSOCK)));
        t[nr::FADVISE64] = sys!(|r| {
            file::fadvise64(
                r.arg(0) as i32,
                r.arg(1) as i64,
                r.arg(2) as i64,
                r.arg(3) as i32,
            )
        });
        t[nr::FDATASYNC] = sys!(|r| file::fsync(r.arg(0) as i32));
        t[nr::SYNCFS] = sys!(|r| file::fsync(r.arg(0) as i32).or(Ok(0)));
        // Waiting on many descriptors (syscall/poll.rs).
        t[nr::PPOLL] =
            sys!(|r| poll::ppoll(r.arg(0), r.arg(1) as u32, r.arg(2), r.arg(3), r.arg(4)));
        t[nr::PSELECT6] = sys!(|r| {
            poll::pselect6(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2),
                r.arg(3),
                r.arg(4),
                r.arg(5),
            )
        });
        t[nr::EPOLL_CREATE1] = sys!(|r| poll::epoll_create1(r.arg(0) as u32));
        t[nr::EPOLL_CTL] =
            sys!(|r| poll::epoll_ctl(r.arg(0) as i32, r.arg(1) as i32, r.arg(2) as i32, r.arg(3)));
        t[nr::EPOLL_PWAIT] = sys!(|r| {
            poll::epoll_pwait(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as i32,
                r.arg(3) as i32,
                r.arg(4),
                r.arg(5),
            )
        });
        t[nr::EVENTFD2] = sys!(|r| poll::eventfd2(r.arg(0) as u32, r.arg(1) as u32));
        // Files: by name (syscall/path.rs).
        t[nr::OPENAT] =
            sys!(|r| path::openat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, r.arg(3) as u32));
        t[nr::MKNODAT] =
            sys!(|r| path::mknodat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, r.arg(3) as u64));
        t[nr::MKDIRAT] = sys!(|r| path::mkdirat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32));
        t[nr::UNLINKAT] = sys!(|r| path::unlinkat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32));
        t[nr::SYMLINKAT] = sys!(|r| path::symlinkat(r.arg(0), r.arg(1) as i32, r.arg(2)));
        t[nr::LINKAT] = sys!(|r| {
            path::linkat(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as i32,
                r.arg(3),
                r.arg(4) as u32,
            )
        });
        t[nr::RENAMEAT] =
            sys!(|r| path::renameat2(r.arg(0) as i32, r.arg(1), r.arg(2) as i32, r.arg(3), 0));
        t[nr::RENAMEAT2] = sys!(|r| {
            path::renameat2(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as i32,
                r.arg(3),
                r.arg(4) as u32,
            )
        });
        t[nr::READLINKAT] =
            sys!(|r| path::readlinkat(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3)));
        t[nr::FACCESSAT] = sys!(|r| path::faccessat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, 0));
        t[nr::FACCESSAT2] =
            sys!(|r| path::faccessat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, r.arg(3) as u32));
        t[nr::FCHMOD] = sys!(|r| path::fchmod(r.arg(0) as i32, r.arg(1) as u32));
        t[nr::FCHMODAT] = sys!(|r| path::fchmodat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32));
        t[nr::FCHOWN] = sys!(|r| path::fchown(r.arg(0) as i32, r.arg(1) as u32, r.arg(2) as u32));
        t[nr::FCHOWNAT] = sys!(|r| {
            path::fchownat(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as u32,
                r.arg(3) as u32,
                r.arg(4) as u32,
            )
        });
        t[nr::UTIMENSAT] =
            sys!(|r| path::utimensat(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3) as u32));
        t[nr::GETCWD] = sys!(|r| path::getcwd(r.arg(0), r.arg(1)));
        t[nr::CHDIR] = sys!(|r| path::chdir(r.arg(0)));
        t[nr::FCHDIR] = sys!(|r| path::fchdir(r.arg(0) as i32));
        t[nr::CHROOT] = sys!(|r| path::chroot(r.arg(0)));
        t[nr::UMASK] = sys!(|r| path::umask(r.arg(0) as u32));
        t[nr::TRUNCATE] = sys!(|r| path::truncate(r.arg(0), r.arg(1) as i64));
        t[nr::MOUNT] =
            sys!(|r| path::mount(r.arg(0), r.arg(1), r.arg(2), r.arg(3) as u64, r.arg(4)));
        t[nr::UMOUNT2] = sys!(|r| path::umount2(r.arg(0), r.arg(1) as u32));
        t[nr::SYNC] = sys!(|_| path::sync());
        // stat and statfs (syscall/stat.rs).
        t[nr::FSTAT] = sys!(|r| stat::fstat(r.arg(0) as i32, r.arg(1)));
        t[nr::NEWFSTATAT] =
            sys!(|r| stat::newfstatat(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3) as u32));
        t[nr::STATX] = sys!(|r| {
            stat::statx(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as u32,
                r.arg(3) as u32,
                r.arg(4),
            )
        });
        t[nr::STATFS] = sys!(|r| stat::statfs(r.arg(0), r.arg(1)));
        // Extended attributes: none are kept (syscall/stat.rs).
        t[nr::GETXATTR] = sys!(|r| stat::getxattr(Some(r.arg(0)), true, None, r.arg(1)));
        t[nr::LGETXATTR] = sys!(|r| stat::getxattr(Some(r.arg(0)), false, None, r.arg(1)));
        t[nr::FGETXATTR] = sys!(|r| stat::getxattr(None, false, Some(r.arg(0) as i32), r.arg(1)));
        t[nr::LISTXATTR] = sys!(|r| stat::listxattr(Some(r.arg(0)), true, None));
        t[nr::LLISTXATTR] = sys!(|r| stat::listxattr(Some(r.arg(0)), false, None));
        t[nr::FLISTXATTR] = sys!(|r| stat::listxattr(None, false, Some(r.arg(0) as i32)));
        t[nr::FSTATFS] = sys!(|r| stat::fstatfs(r.arg(0) as i32, r.arg(1)));
        t[nr::EXIT] = sys!(|r| process::exit(r.arg(0) as u32));
        t[nr::EXIT_GROUP] = sys!(|r| process::exit_group(r.arg(0) as u32));
        t[nr::SET_TID_ADDRESS] = sys!(|r| process::set_tid_address(r.arg(0)));
        t[nr::FUTEX] = sys!(|r| {
            crate::task::futex::sys_futex(
                r.arg(0),
                r.arg(1) as u32,
                r.arg(2) as u32,
                r.arg(3),
                r.arg(4),
                r.arg(5) as u32,
            )
        });
        // Accepted; robust futex lists are not walked at exit.
        t[nr::SET_ROBUST_LIST] = sys!(|_| Ok(0));
        // Time (syscall/time.rs).
        t[nr::NANOSLEEP] = sys!(|r| time::nanosleep(r.arg(0), r.arg(1)));
        t[nr::CLOCK_GETTIME] = sys!(|r| time::clock_gettime(r.arg(0) as i32, r.arg(1)));
        t[nr::CLOCK_GETRES] = sys!(|r| time::clock_getres(r.arg(0) as i32, r.arg(1)));
        t[nr::CLOCK_NANOSLEEP] =
            sys!(|r| time::clock_nanosleep(r.arg(0) as i32, r.arg(1) as u32, r.arg(2), r.arg(3)));
        t[nr::RESTART_SYSCALL] = sys!(|_| time::restart_syscall());
        t[nr::GETTIMEOFDAY] = sys!(|r| time::gettimeofday(r.arg(0), r.arg(1)));
        t[nr::GETITIMER] = sys!(|r| time::getitimer(r.arg(0) as u32, r.arg(1)));
        t[nr::SETITIMER] = sys!(|r| time::setitimer(r.arg(0) as u32, r.arg(1), r.arg(2)));
        t[nr::TIMER_CREATE] = sys!(|r| time::timer_create(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::TIMER_SETTIME] =
            sys!(|r| time::timer_settime(r.arg(0) as i32, r.arg(1) as u32, r.arg(2), r.arg(3)));
        t[nr::TIMER_GETTIME] = sys!(|r| time::timer_gettime(r.arg(0) as i32, r.arg(1)));
        t[nr::TIMER_GETOVERRUN] = sys!(|r| time::timer_getoverrun(r.arg(0) as i32));
        t[nr::TIMER_DELETE] = sys!(|r| time::timer_delete(r.arg(0) as i32));
        t[nr::TIMES] = sys!(|r| time::times(r.arg(0)));
        t[nr::GETRUSAGE] = sys!(|r| time::getrusage(r.arg(0) as i32, r.arg(1)));
        t[nr::SYSINFO] = sys!(|r| misc::sysinfo(r.arg(0)));
        t[nr::GETRANDOM] = sys!(|r| misc::getrandom(r.arg(0), r.arg(1), r.arg(2) as u32));
        t[nr::SCHED_YIELD] = sys!(|_| misc::sched_yield());
        t[nr::SCHED_SETAFFINITY] =
            sys!(|r| sched::sched_setaffinity(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::SCHED_GETAFFINITY] =
            sys!(|r| sched::sched_getaffinity(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::GETCPU] = sys!(|r| sched::getcpu(r.arg(0), r.arg(1)));
        // Signals (syscall/signal.rs).
        t[nr::KILL] = sys!(|r| signal::kill(r.arg(0) as i32, r.arg(1) as u32));
        t[nr::TKILL] = sys!(|r| signal::tgkill(None, r.arg(0) as i32, r.arg(1) as u32));
        t[nr::TGKILL] =
            sys!(|r| signal::tgkill(Some(r.arg(0) as i32), r.arg(1) as i32, r.arg(2) as u32));
        t[nr::RT_SIGQUEUEINFO] =
            sys!(|r| signal::rt_sigqueueinfo(r.arg(0) as i32, r.arg(1) as u32, r.arg(2)));
        t[nr::RT_TGSIGQUEUEINFO] = sys!(|r| {
            signal::rt_tgsigqueueinfo(r.arg(0) as i32, r.arg(1) as i32, r.arg(2) as u32, r.arg(3))
        });
        t[nr::RT_SIGACTION] =
            sys!(|r| signal::rt_sigaction(r.arg(0) as u32, r.arg(1), r.arg(2), r.arg(3)));
        t[nr::RT_SIGPROCMASK] =
            sys!(|r| signal::rt_sigprocmask(r.arg(0) as u32, r.arg(1), r.arg(2), r.arg(3)));
        t[nr::RT_SIGPENDING] = sys!(|r| signal::rt_sigpending(r.arg(0), r.arg(1)));
        t[nr::RT_SIGSUSPEND] = sys!(|r| signal::rt_sigsuspend(r.arg(0), r.arg(1)));
        t[nr::RT_SIGTIMEDWAIT] =
            sys!(|r| signal::rt_sigtimedwait(r.arg(0), r.arg(1), r.arg(2), r.arg(3)));
        t[nr::RT_SIGRETURN] = sys!(|r| signal::rt_sigreturn(r));
        t[nr::SIGALTSTACK] = sys!(|r| signal::sigaltstack(r, r.arg(0), r.arg(1)));
        t[nr::UNAME] = sys!(|r| misc::uname(r.arg(0)));
        t[nr::REBOOT] =
            sys!(|r| reboot::reboot(r.arg(0) as u32, r.arg(1) as u32, r.arg(2) as u32, r.arg(3)));
        t[nr::PRCTL] = sys!(|r| misc::prctl(r.arg(0), r.arg(1)));
        t[nr::SETPGID] = sys!(|r| process::setpgid(r.arg(0) as i32, r.arg(1) as i32));
        t[nr::GETPGID] = sys!(|r| process::getpgid(r.arg(0) as i32));
        t[nr::GETSID] = sys!(|r| process::getsid(r.arg(0) as i32));
        t[nr::SETSID] = sys!(|_| process::setsid());
        t[nr::GETRLIMIT] = sys!(|r| process::getrlimit(r.arg(0) as u32, r.arg(1)));
        t[nr::SETRLIMIT] = sys!(|r| process::setrlimit(r.arg(0) as u32, r.arg(1)));
        t[nr::PRLIMIT64] =
            sys!(|r| process::prlimit64(r.arg(0) as i32, r.arg(1) as u32, r.arg(2), r.arg(3)));
        t[nr::GETPID] = sys!(|_| process::getpid());
        t[nr::GETPPID] = sys!(|_| process::getppid());
        t[nr::GETUID] = sys!(|_| Ok(0)); // everyone is root
        t[nr::GETEUID] = sys!(|_| Ok(0));
        t[nr::GETGID] = sys!(|_| Ok(0));
        t[nr::GETEGID] = sys!(|_| Ok(0));
        // No supplementary groups (Linux: init's group_info is empty).
        t[nr::GETGROUPS] = sys!(|r| {
            if (r.arg(0) as i32) < 0 {
                Err(Errno::EINVAL)
            } else {
                Ok(0)
            }
        });
        t[nr::GETTID] = sys!(|_| process::gettid());
        t[nr::BRK] = sys!(|r| memory::brk(r.arg(0)));
        t[nr::MUNMAP] = sys!(|r| memory::munmap(r.arg(0), r.arg(1)));
        t[nr::MREMAP] = sys!(|r| memory::mremap(r.arg(0), r.arg(1), r.arg(2), r.arg(3), r.arg(4)));
        t[nr::MMAP] = sys!(|r| {
            memory::mmap(
                r.arg(0),
                r.arg(1),
                r.arg(2),
                r.arg(3),
                r.arg(4) as i32,
                r.arg(5),
            )
        });
        t[nr::MPROTECT] = sys!(|r| memory::mprotect(r.arg(0), r.arg(1), r.arg(2)));
        t[nr::MSYNC] = sys!(|r| memory::msync(r.arg(0), r.arg(1), r.arg(2)));
        t[nr::CLONE] = sys!(|regs| {
            let (flags, sp, ptid, tls, ctid) = (
                regs.arg(0) as u64,
                regs.arg(1),
                regs.arg(2),
                regs.arg(3),
                regs.arg(4),
            );
            crate::task::fork::sys_clone(regs, flags, sp, ptid, tls, ctid)
        });
        t[nr::CLONE3] = sys!(|regs| {
            let (args, size) = (regs.arg(0), regs.arg(1));
            crate::task::fork::sys_clone3(regs, args, size)
        });
        // execve replaced the whole frame: its x0 is already the new program's.
        t[nr::EXECVE] = Some(|regs| {
            let (path, argv, envp) = (regs.arg(0), regs.arg(1), regs.arg(2));
            match process::execve(regs, path, argv, envp) {
                Ok(_) => regs.regs[0] as i64,
                Err(e) => e.as_ret() as i64,
            }
        });
        t[nr::WAIT4] = sys!(|r| {
            crate::task::wait::do_wait4(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, r.arg(3))
        });
        t
    };

    /// Runs the system call in `frame`, stores its result in x0 and returns it (Linux
    /// `invoke_syscall`, arch/arm64/kernel/syscall.c).
    pub fn dispatch(frame: &mut TrapFrame) -> i64 {
        let number = frame.syscall_nr();
        // The tracepoints sys_enter/sys_exit around the call (trace/mod.rs).
        let ret = crate::trace::syscall(number, frame, |r, i| r.arg(i), |r| invoke(r, number));
        frame.set_return_value(ret as u64);
        ret
    }

    /// The handler of system call `number`, run.
    #[inline(always)]
    fn invoke(frame: &mut TrapFrame, number: usize) -> i64 {
        match SYS_CALL_TABLE.get(number).copied().flatten() {
            Some(f) => f(frame),
            None => syscall_ret(invoke_other(frame, number)),
        }
    }

    /// The numbers that are not Linux's (or not implemented).
    #[inline(never)]
    fn invoke_other(frame: &mut TrapFrame, number: usize) -> KResult<usize> {
        match number {
            nr::KSTAT => misc::kstat(frame.arg(0)),
            nr::FAULT_INJECT => misc::fault_inject(frame.arg(0), frame.arg(1)),
            _ => {
                misc::log_unknown_once(number);
                Err(Errno::ENOSYS)
            }
        }
    }
}
