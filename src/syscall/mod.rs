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

    /// A system call's handler: it decodes its arguments (x0-x5) and runs.
    type SyscallFn = fn(&mut TrapFrame) -> KResult<usize>;

    /// Table size: one past the highest Linux number implemented (faccessat2).
    const NR_SYSCALLS: usize = nr::FACCESSAT2 + 1;

    /// Linux `sys_call_table` (arch/arm64/kernel/sys.c): the handler of each number.
    static SYS_CALL_TABLE: [Option<SyscallFn>; NR_SYSCALLS] = {
        let mut t: [Option<SyscallFn>; NR_SYSCALLS] = [None; NR_SYSCALLS];
        // Files: descriptors (syscall/file.rs).
        t[nr::DUP] = Some(|r| file::dup(r.arg(0) as u32));
        t[nr::DUP3] = Some(|r| file::dup3(r.arg(0) as u32, r.arg(1) as u32, r.arg(2) as u32));
        t[nr::FCNTL] = Some(|r| file::fcntl(r.arg(0) as i32, r.arg(1) as u32, r.arg(2)));
        t[nr::IOCTL] = Some(|r| file::ioctl(r.arg(0) as i32, r.arg(1) as u32, r.arg(2)));
        t[nr::CLOSE] = Some(|r| file::close(r.arg(0) as i32));
        t[nr::CLOSE_RANGE] =
            Some(|r| file::close_range(r.arg(0) as u32, r.arg(1) as u32, r.arg(2) as u32));
        t[nr::PIPE2] = Some(|r| file::pipe2(r.arg(0), r.arg(1) as u32));
        t[nr::GETDENTS64] = Some(|r| file::getdents64(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::LSEEK] = Some(|r| file::lseek(r.arg(0) as i32, r.arg(1) as i64, r.arg(2) as u32));
        t[nr::READ] = Some(|r| file::read(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::WRITE] = Some(|r| file::write(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::READV] = Some(|r| file::readv(r.arg(0) as i32, r.arg(1), r.arg(2), None));
        t[nr::WRITEV] = Some(|r| file::writev(r.arg(0) as i32, r.arg(1), r.arg(2), None));
        t[nr::PREAD64] =
            Some(|r| file::pread64(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3) as i64));
        t[nr::PWRITE64] =
            Some(|r| file::pwrite64(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3) as i64));
        t[nr::PREADV] =
            Some(|r| file::readv(r.arg(0) as i32, r.arg(1), r.arg(2), Some(r.arg(3) as i64)));
        t[nr::PWRITEV] =
            Some(|r| file::writev(r.arg(0) as i32, r.arg(1), r.arg(2), Some(r.arg(3) as i64)));
        t[nr::SENDFILE] =
            Some(|r| file::sendfile(r.arg(0) as i32, r.arg(1) as i32, r.arg(2), r.arg(3)));
        t[nr::FTRUNCATE] = Some(|r| file::ftruncate(r.arg(0) as i32, r.arg(1) as i64));
        t[nr::FSYNC] = Some(|r| file::fsync(r.arg(0) as i32));
        // There are no sockets: a descriptor is bad or no socket (bash asks whether its
        // input is one, getpeername, to read ~/.bashrc when started by rshd).
        t[nr::GETSOCKNAME] = Some(|r| file::file(r.arg(0) as i32).and(Err(Errno::ENOTSOCK)));
        t[nr::GETPEERNAME] = Some(|r| file::file(r.arg(0) as i32).and(Err(Errno::ENOTSOCK)));
        t[nr::FADVISE64] = Some(|r| {
            file::fadvise64(
                r.arg(0) as i32,
                r.arg(1) as i64,
                r.arg(2) as i64,
                r.arg(3) as i32,
            )
        });
        t[nr::FDATASYNC] = Some(|r| file::fsync(r.arg(0) as i32));
        t[nr::SYNCFS] = Some(|r| file::fsync(r.arg(0) as i32).or(Ok(0)));
        // Waiting on many descriptors (syscall/poll.rs).
        t[nr::PPOLL] =
            Some(|r| poll::ppoll(r.arg(0), r.arg(1) as u32, r.arg(2), r.arg(3), r.arg(4)));
        t[nr::PSELECT6] = Some(|r| {
            poll::pselect6(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2),
                r.arg(3),
                r.arg(4),
                r.arg(5),
            )
        });
        t[nr::EPOLL_CREATE1] = Some(|r| poll::epoll_create1(r.arg(0) as u32));
        t[nr::EPOLL_CTL] =
            Some(|r| poll::epoll_ctl(r.arg(0) as i32, r.arg(1) as i32, r.arg(2) as i32, r.arg(3)));
        t[nr::EPOLL_PWAIT] = Some(|r| {
            poll::epoll_pwait(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as i32,
                r.arg(3) as i32,
                r.arg(4),
                r.arg(5),
            )
        });
        t[nr::EVENTFD2] = Some(|r| poll::eventfd2(r.arg(0) as u32, r.arg(1) as u32));
        // Files: by name (syscall/path.rs).
        t[nr::OPENAT] =
            Some(|r| path::openat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, r.arg(3) as u32));
        t[nr::MKNODAT] =
            Some(|r| path::mknodat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, r.arg(3) as u64));
        t[nr::MKDIRAT] = Some(|r| path::mkdirat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32));
        t[nr::UNLINKAT] = Some(|r| path::unlinkat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32));
        t[nr::SYMLINKAT] = Some(|r| path::symlinkat(r.arg(0), r.arg(1) as i32, r.arg(2)));
        t[nr::LINKAT] = Some(|r| {
            path::linkat(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as i32,
                r.arg(3),
                r.arg(4) as u32,
            )
        });
        t[nr::RENAMEAT] =
            Some(|r| path::renameat2(r.arg(0) as i32, r.arg(1), r.arg(2) as i32, r.arg(3), 0));
        t[nr::RENAMEAT2] = Some(|r| {
            path::renameat2(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as i32,
                r.arg(3),
                r.arg(4) as u32,
            )
        });
        t[nr::READLINKAT] =
            Some(|r| path::readlinkat(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3)));
        t[nr::FACCESSAT] = Some(|r| path::faccessat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, 0));
        t[nr::FACCESSAT2] =
            Some(|r| path::faccessat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, r.arg(3) as u32));
        t[nr::FCHMOD] = Some(|r| path::fchmod(r.arg(0) as i32, r.arg(1) as u32));
        t[nr::FCHMODAT] = Some(|r| path::fchmodat(r.arg(0) as i32, r.arg(1), r.arg(2) as u32));
        t[nr::FCHOWN] = Some(|r| path::fchown(r.arg(0) as i32, r.arg(1) as u32, r.arg(2) as u32));
        t[nr::FCHOWNAT] = Some(|r| {
            path::fchownat(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as u32,
                r.arg(3) as u32,
                r.arg(4) as u32,
            )
        });
        t[nr::UTIMENSAT] =
            Some(|r| path::utimensat(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3) as u32));
        t[nr::GETCWD] = Some(|r| path::getcwd(r.arg(0), r.arg(1)));
        t[nr::CHDIR] = Some(|r| path::chdir(r.arg(0)));
        t[nr::FCHDIR] = Some(|r| path::fchdir(r.arg(0) as i32));
        t[nr::CHROOT] = Some(|r| path::chroot(r.arg(0)));
        t[nr::UMASK] = Some(|r| path::umask(r.arg(0) as u32));
        t[nr::TRUNCATE] = Some(|r| path::truncate(r.arg(0), r.arg(1) as i64));
        t[nr::MOUNT] =
            Some(|r| path::mount(r.arg(0), r.arg(1), r.arg(2), r.arg(3) as u64, r.arg(4)));
        t[nr::UMOUNT2] = Some(|r| path::umount2(r.arg(0), r.arg(1) as u32));
        t[nr::SYNC] = Some(|_| path::sync());
        // stat and statfs (syscall/stat.rs).
        t[nr::FSTAT] = Some(|r| stat::fstat(r.arg(0) as i32, r.arg(1)));
        t[nr::NEWFSTATAT] =
            Some(|r| stat::newfstatat(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3) as u32));
        t[nr::STATX] = Some(|r| {
            stat::statx(
                r.arg(0) as i32,
                r.arg(1),
                r.arg(2) as u32,
                r.arg(3) as u32,
                r.arg(4),
            )
        });
        t[nr::STATFS] = Some(|r| stat::statfs(r.arg(0), r.arg(1)));
        // Extended attributes: none are kept (syscall/stat.rs).
        t[nr::GETXATTR] = Some(|r| stat::getxattr(Some(r.arg(0)), true, None, r.arg(1)));
        t[nr::LGETXATTR] = Some(|r| stat::getxattr(Some(r.arg(0)), false, None, r.arg(1)));
        t[nr::FGETXATTR] = Some(|r| stat::getxattr(None, false, Some(r.arg(0) as i32), r.arg(1)));
        t[nr::LISTXATTR] = Some(|r| stat::listxattr(Some(r.arg(0)), true, None));
        t[nr::LLISTXATTR] = Some(|r| stat::listxattr(Some(r.arg(0)), false, None));
        t[nr::FLISTXATTR] = Some(|r| stat::listxattr(None, false, Some(r.arg(0) as i32)));
        t[nr::FSTATFS] = Some(|r| stat::fstatfs(r.arg(0) as i32, r.arg(1)));
        t[nr::EXIT] = Some(|r| process::exit(r.arg(0) as u32));
        t[nr::EXIT_GROUP] = Some(|r| process::exit_group(r.arg(0) as u32));
        t[nr::SET_TID_ADDRESS] = Some(|r| process::set_tid_address(r.arg(0)));
        t[nr::FUTEX] = Some(|r| {
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
        t[nr::SET_ROBUST_LIST] = Some(|_| Ok(0));
        // Time (syscall/time.rs).
        t[nr::NANOSLEEP] = Some(|r| time::nanosleep(r.arg(0), r.arg(1)));
        t[nr::CLOCK_GETTIME] = Some(|r| time::clock_gettime(r.arg(0) as i32, r.arg(1)));
        t[nr::CLOCK_GETRES] = Some(|r| time::clock_getres(r.arg(0) as i32, r.arg(1)));
        t[nr::CLOCK_NANOSLEEP] =
            Some(|r| time::clock_nanosleep(r.arg(0) as i32, r.arg(1) as u32, r.arg(2), r.arg(3)));
        t[nr::RESTART_SYSCALL] = Some(|_| time::restart_syscall());
        t[nr::GETTIMEOFDAY] = Some(|r| time::gettimeofday(r.arg(0), r.arg(1)));
        t[nr::GETITIMER] = Some(|r| time::getitimer(r.arg(0) as u32, r.arg(1)));
        t[nr::SETITIMER] = Some(|r| time::setitimer(r.arg(0) as u32, r.arg(1), r.arg(2)));
        t[nr::TIMER_CREATE] = Some(|r| time::timer_create(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::TIMER_SETTIME] =
            Some(|r| time::timer_settime(r.arg(0) as i32, r.arg(1) as u32, r.arg(2), r.arg(3)));
        t[nr::TIMER_GETTIME] = Some(|r| time::timer_gettime(r.arg(0) as i32, r.arg(1)));
        t[nr::TIMER_GETOVERRUN] = Some(|r| time::timer_getoverrun(r.arg(0) as i32));
        t[nr::TIMER_DELETE] = Some(|r| time::timer_delete(r.arg(0) as i32));
        t[nr::TIMES] = Some(|r| time::times(r.arg(0)));
        t[nr::GETRUSAGE] = Some(|r| time::getrusage(r.arg(0) as i32, r.arg(1)));
        t[nr::SYSINFO] = Some(|r| misc::sysinfo(r.arg(0)));
        t[nr::GETRANDOM] = Some(|r| misc::getrandom(r.arg(0), r.arg(1), r.arg(2) as u32));
        t[nr::SCHED_YIELD] = Some(|_| misc::sched_yield());
        t[nr::SCHED_SETAFFINITY] =
            Some(|r| sched::sched_setaffinity(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::SCHED_GETAFFINITY] =
            Some(|r| sched::sched_getaffinity(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::GETCPU] = Some(|r| sched::getcpu(r.arg(0), r.arg(1)));
        // Signals (syscall/signal.rs).
        t[nr::KILL] = Some(|r| signal::kill(r.arg(0) as i32, r.arg(1) as u32));
        t[nr::TKILL] = Some(|r| signal::tgkill(None, r.arg(0) as i32, r.arg(1) as u32));
        t[nr::TGKILL] =
            Some(|r| signal::tgkill(Some(r.arg(0) as i32), r.arg(1) as i32, r.arg(2) as u32));
        t[nr::RT_SIGQUEUEINFO] =
            Some(|r| signal::rt_sigqueueinfo(r.arg(0) as i32, r.arg(1) as u32, r.arg(2)));
        t[nr::RT_TGSIGQUEUEINFO] = Some(|r| {
            signal::rt_tgsigqueueinfo(r.arg(0) as i32, r.arg(1) as i32, r.arg(2) as u32, r.arg(3))
        });
        t[nr::RT_SIGACTION] =
            Some(|r| signal::rt_sigaction(r.arg(0) as u32, r.arg(1), r.arg(2), r.arg(3)));
        t[nr::RT_SIGPROCMASK] =
            Some(|r| signal::rt_sigprocmask(r.arg(0) as u32, r.arg(1), r.arg(2), r.arg(3)));
        t[nr::RT_SIGPENDING] = Some(|r| signal::rt_sigpending(r.arg(0), r.arg(1)));
        t[nr::RT_SIGSUSPEND] = Some(|r| signal::rt_sigsuspend(r.arg(0), r.arg(1)));
        t[nr::RT_SIGTIMEDWAIT] =
            Some(|r| signal::rt_sigtimedwait(r.arg(0), r.arg(1), r.arg(2), r.arg(3)));
        t[nr::RT_SIGRETURN] = Some(signal::rt_sigreturn);
        t[nr::SIGALTSTACK] = Some(|r| signal::sigaltstack(r, r.arg(0), r.arg(1)));
        t[nr::UNAME] = Some(|r| misc::uname(r.arg(0)));
        t[nr::REBOOT] =
            Some(|r| reboot::reboot(r.arg(0) as u32, r.arg(1) as u32, r.arg(2) as u32, r.arg(3)));
        t[nr::PRCTL] = Some(|r| misc::prctl(r.arg(0), r.arg(1)));
        t[nr::SETPGID] = Some(|r| process::setpgid(r.arg(0) as i32, r.arg(1) as i32));
        t[nr::GETPGID] = Some(|r| process::getpgid(r.arg(0) as i32));
        t[nr::GETSID] = Some(|r| process::getsid(r.arg(0) as i32));
        t[nr::SETSID] = Some(|_| process::setsid());
        t[nr::GETRLIMIT] = Some(|r| process::getrlimit(r.arg(0) as u32, r.arg(1)));
        t[nr::SETRLIMIT] = Some(|r| process::setrlimit(r.arg(0) as u32, r.arg(1)));
        t[nr::PRLIMIT64] =
            Some(|r| process::prlimit64(r.arg(0) as i32, r.arg(1) as u32, r.arg(2), r.arg(3)));
        t[nr::GETPID] = Some(|_| process::getpid());
        t[nr::GETPPID] = Some(|_| process::getppid());
        t[nr::GETUID] = Some(|_| Ok(0)); // everyone is root
        t[nr::GETEUID] = Some(|_| Ok(0));
        t[nr::GETGID] = Some(|_| Ok(0));
        t[nr::GETEGID] = Some(|_| Ok(0));
        // No supplementary groups (Linux: init's group_info is empty).
        t[nr::GETGROUPS] = Some(|r| {
            if (r.arg(0) as i32) < 0 {
                Err(Errno::EINVAL)
            } else {
                Ok(0)
            }
        });
        t[nr::GETTID] = Some(|_| process::gettid());
        t[nr::BRK] = Some(|r| memory::brk(r.arg(0)));
        t[nr::MUNMAP] = Some(|r| memory::munmap(r.arg(0), r.arg(1)));
        t[nr::MREMAP] = Some(|r| memory::mremap(r.arg(0), r.arg(1), r.arg(2), r.arg(3), r.arg(4)));
        t[nr::MMAP] = Some(|r| {
            memory::mmap(
                r.arg(0),
                r.arg(1),
                r.arg(2),
                r.arg(3),
                r.arg(4) as i32,
                r.arg(5),
            )
        });
        t[nr::MPROTECT] = Some(|r| memory::mprotect(r.arg(0), r.arg(1), r.arg(2)));
        t[nr::MSYNC] = Some(|r| memory::msync(r.arg(0), r.arg(1), r.arg(2)));
        t[nr::CLONE] = Some(|regs| {
            let (flags, sp, ptid, tls, ctid) = (
                regs.arg(0) as u64,
                regs.arg(1),
                regs.arg(2),
                regs.arg(3),
                regs.arg(4),
            );
            crate::task::fork::sys_clone(regs, flags, sp, ptid, tls, ctid)
        });
        t[nr::CLONE3] = Some(|regs| {
            let (args, size) = (regs.arg(0), regs.arg(1));
            crate::task::fork::sys_clone3(regs, args, size)
        });
        t[nr::EXECVE] = Some(|regs| {
            let (path, argv, envp) = (regs.arg(0), regs.arg(1), regs.arg(2));
            process::execve(regs, path, argv, envp)
        });
        t[nr::WAIT4] = Some(|r| {
            crate::task::wait::do_wait4(r.arg(0) as i32, r.arg(1), r.arg(2) as u32, r.arg(3))
        });
        t
    };

    /// Runs the system call in `frame` and stores its result in x0 (Linux
    /// `invoke_syscall`, arch/arm64/kernel/syscall.c).
    pub fn dispatch(frame: &mut TrapFrame) {
        let number = frame.syscall_nr();
        // The tracepoints sys_enter/sys_exit around the call (trace/mod.rs).
        let result = crate::trace::syscall(number, frame, |r, i| r.arg(i), |r| invoke(r, number));
        // execve replaced the whole frame: its x0 is already the new program's.
        if number == nr::EXECVE && result.is_ok() {
            return;
        }
        frame.set_return_value(match result {
            Ok(v) => v as u64,
            Err(e) => e.as_ret() as u64,
        });
    }

    /// The handler of system call `number`, run.
    #[inline(always)]
    fn invoke(frame: &mut TrapFrame, number: usize) -> KResult<usize> {
        match SYS_CALL_TABLE.get(number).copied().flatten() {
            Some(f) => f(frame),
            None if number == nr::KSTAT => misc::kstat(frame.arg(0)),
            None if number == nr::FAULT_INJECT => misc::fault_inject(frame.arg(0), frame.arg(1)),
            None => {
                misc::log_unknown_once(number);
                Err(Errno::ENOSYS)
            }
        }
    }
}
