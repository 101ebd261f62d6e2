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
mod process;
#[cfg(target_os = "none")]
mod sched;

/// Linux AArch64 system call numbers this kernel implements.
pub mod nr {
    pub const GETCWD: usize = 17;
    pub const IOCTL: usize = 29;
    pub const DUP: usize = 23;
    pub const DUP3: usize = 24;
    pub const CHDIR: usize = 49;
    pub const CLOSE: usize = 57;
    pub const PIPE2: usize = 59;
    pub const READ: usize = 63;
    pub const WRITE: usize = 64;
    pub const WRITEV: usize = 66;
    pub const NEWFSTATAT: usize = 79;
    pub const FSTAT: usize = 80;
    pub const EXIT: usize = 93;
    pub const EXIT_GROUP: usize = 94;
    pub const SET_TID_ADDRESS: usize = 96;
    pub const FUTEX: usize = 98;
    pub const SET_ROBUST_LIST: usize = 99;
    pub const NANOSLEEP: usize = 101;
    pub const CLOCK_GETTIME: usize = 113;
    pub const SCHED_SETAFFINITY: usize = 122;
    pub const SCHED_GETAFFINITY: usize = 123;
    pub const SCHED_YIELD: usize = 124;
    pub const KILL: usize = 129;
    pub const TKILL: usize = 130;
    pub const TGKILL: usize = 131;
    pub const RT_SIGACTION: usize = 134;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const SETPGID: usize = 154;
    pub const GETPGID: usize = 155;
    pub const GETSID: usize = 156;
    pub const SETSID: usize = 157;
    pub const UNAME: usize = 160;
    pub const GETRLIMIT: usize = 163;
    pub const SETRLIMIT: usize = 164;
    pub const UMASK: usize = 166;
    pub const GETCPU: usize = 168;
    pub const GETPID: usize = 172;
    pub const GETPPID: usize = 173;
    pub const GETUID: usize = 174;
    pub const GETEUID: usize = 175;
    pub const GETGID: usize = 176;
    pub const GETEGID: usize = 177;
    pub const GETTID: usize = 178;
    pub const BRK: usize = 214;
    pub const MUNMAP: usize = 215;
    pub const MREMAP: usize = 216;
    pub const CLONE: usize = 220;
    pub const EXECVE: usize = 221;
    pub const MMAP: usize = 222;
    pub const MPROTECT: usize = 226;
    pub const WAIT4: usize = 260;
    pub const PRLIMIT64: usize = 261;
    pub const CLONE3: usize = 435;
    /// Not Linux: this kernel's statistics for tests (frames in use, COW counters).
    pub const KSTAT: usize = 1000;
    /// Not Linux: the fault-injection test hook (mm/inject.rs).
    pub const FAULT_INJECT: usize = 1001;
}

#[cfg(target_os = "none")]
pub use dispatch_impl::dispatch;

#[cfg(target_os = "none")]
mod dispatch_impl {
    use super::{file, memory, misc, nr, process, sched};
    use crate::arch::TrapFrame;
    use crate::error::{Errno, KResult};

    /// A system call's handler: it decodes its arguments (x0-x5) and runs.
    type SyscallFn = fn(&mut TrapFrame) -> KResult<usize>;

    /// Table size: one past the highest Linux number implemented (clone3).
    const NR_SYSCALLS: usize = nr::CLONE3 + 1;

    /// Linux `sys_call_table` (arch/arm64/kernel/sys.c): the handler of each number.
    static SYS_CALL_TABLE: [Option<SyscallFn>; NR_SYSCALLS] = {
        let mut t: [Option<SyscallFn>; NR_SYSCALLS] = [None; NR_SYSCALLS];
        t[nr::GETCWD] = Some(|r| file::getcwd(r.arg(0), r.arg(1)));
        t[nr::DUP] = Some(|r| file::dup(r.arg(0) as u32));
        t[nr::DUP3] = Some(|r| file::dup3(r.arg(0) as u32, r.arg(1) as u32, r.arg(2) as u32));
        t[nr::CHDIR] = Some(|r| file::chdir(r.arg(0)));
        t[nr::CLOSE] = Some(|r| file::close(r.arg(0) as i32));
        t[nr::PIPE2] = Some(|r| file::pipe2(r.arg(0), r.arg(1) as u32));
        t[nr::READ] = Some(|r| file::read(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::WRITE] = Some(|r| file::write(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::WRITEV] = Some(|r| file::writev(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::UMASK] = Some(|r| file::umask(r.arg(0) as u32));
        t[nr::IOCTL] = Some(|r| file::ioctl(r.arg(0) as i32, r.arg(1) as u32, r.arg(2)));
        t[nr::FSTAT] = Some(|r| file::fstat(r.arg(0) as i32, r.arg(1)));
        t[nr::NEWFSTATAT] =
            Some(|r| file::newfstatat(r.arg(0) as i32, r.arg(1), r.arg(2), r.arg(3) as u32));
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
        t[nr::NANOSLEEP] = Some(|r| misc::nanosleep(r.arg(0), r.arg(1)));
        t[nr::CLOCK_GETTIME] = Some(|r| misc::clock_gettime(r.arg(0) as i32, r.arg(1)));
        t[nr::SCHED_YIELD] = Some(|_| misc::sched_yield());
        t[nr::SCHED_SETAFFINITY] =
            Some(|r| sched::sched_setaffinity(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::SCHED_GETAFFINITY] =
            Some(|r| sched::sched_getaffinity(r.arg(0) as i32, r.arg(1), r.arg(2)));
        t[nr::GETCPU] = Some(|r| sched::getcpu(r.arg(0), r.arg(1)));
        t[nr::KILL] = Some(|r| process::kill(r.arg(0) as i32, r.arg(1) as u32));
        t[nr::TKILL] = Some(|r| process::tgkill(-1, r.arg(0) as i32, r.arg(1) as u32));
        t[nr::TGKILL] =
            Some(|r| process::tgkill(r.arg(0) as i32, r.arg(1) as i32, r.arg(2) as u32));
        t[nr::RT_SIGACTION] =
            Some(|r| process::rt_sigaction(r.arg(0) as u32, r.arg(1), r.arg(2), r.arg(3)));
        t[nr::RT_SIGPROCMASK] =
            Some(|r| misc::rt_sigprocmask(r.arg(0) as u32, r.arg(1), r.arg(2), r.arg(3)));
        t[nr::UNAME] = Some(|r| misc::uname(r.arg(0)));
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
        let handler = SYS_CALL_TABLE.get(number).copied().flatten();
        let result = match handler {
            Some(f) => f(frame),
            None if number == nr::KSTAT => misc::kstat(frame.arg(0)),
            None if number == nr::FAULT_INJECT => misc::fault_inject(frame.arg(0), frame.arg(1)),
            None => {
                misc::log_unknown_once(number);
                Err(Errno::ENOSYS)
            }
        };
        // execve replaced the whole frame: its x0 is already the new program's.
        if number == nr::EXECVE && result.is_ok() {
            return;
        }
        frame.set_return_value(match result {
            Ok(v) => v as u64,
            Err(e) => e.as_ret() as u64,
        });
    }
}
