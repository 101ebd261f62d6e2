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
    pub const SCHED_YIELD: usize = 124;
    pub const KILL: usize = 129;
    pub const TKILL: usize = 130;
    pub const TGKILL: usize = 131;
    pub const RT_SIGACTION: usize = 134;
    pub const RT_SIGPROCMASK: usize = 135;
    pub const UNAME: usize = 160;
    pub const UMASK: usize = 166;
    pub const GETPID: usize = 172;
    pub const GETPPID: usize = 173;
    pub const GETUID: usize = 174;
    pub const GETEUID: usize = 175;
    pub const GETGID: usize = 176;
    pub const GETEGID: usize = 177;
    pub const GETTID: usize = 178;
    pub const BRK: usize = 214;
    pub const MUNMAP: usize = 215;
    pub const CLONE: usize = 220;
    pub const EXECVE: usize = 221;
    pub const MMAP: usize = 222;
    pub const MPROTECT: usize = 226;
    pub const WAIT4: usize = 260;
    pub const CLONE3: usize = 435;
    /// Not Linux: this kernel's statistics for tests (frames in use, COW counters).
    pub const KSTAT: usize = 1000;
}

#[cfg(target_os = "none")]
pub use dispatch_impl::dispatch;

#[cfg(target_os = "none")]
mod dispatch_impl {
    use super::{file, memory, misc, nr, process};
    use crate::arch::TrapFrame;
    use crate::error::{Errno, KResult};

    /// Runs the system call in `frame` and stores its result in x0.
    pub fn dispatch(frame: &mut TrapFrame) {
        let [a0, a1, a2, a3, a4, a5] = frame.syscall_args();
        let number = frame.syscall_nr();
        let result: KResult<usize> = match number {
            nr::GETCWD => file::getcwd(a0, a1),
            nr::DUP => file::dup(a0 as i32),
            nr::DUP3 => file::dup3(a0 as i32, a1 as i32, a2 as u32),
            nr::CHDIR => file::chdir(a0),
            nr::CLOSE => file::close(a0 as i32),
            nr::PIPE2 => file::pipe2(a0, a1 as u32),
            nr::READ => file::read(a0 as i32, a1, a2),
            nr::WRITE => file::write(a0 as i32, a1, a2),
            nr::WRITEV => file::writev(a0 as i32, a1, a2),
            nr::UMASK => file::umask(a0 as u32),
            nr::IOCTL => file::ioctl(a0 as i32, a1 as u32, a2),
            nr::FSTAT => file::fstat(a0 as i32, a1),
            nr::NEWFSTATAT => file::newfstatat(a0 as i32, a1, a2, a3 as u32),
            nr::EXIT => process::exit(a0 as u32),
            nr::EXIT_GROUP => process::exit_group(a0 as u32),
            nr::SET_TID_ADDRESS => process::set_tid_address(a0),
            nr::FUTEX => crate::task::futex::sys_futex(a0, a1 as u32, a2 as u32, a3, a4, a5 as u32),
            nr::SET_ROBUST_LIST => Ok(0), // accepted; robust futexes are not walked at exit
            nr::NANOSLEEP => misc::nanosleep(a0, a1),
            nr::CLOCK_GETTIME => misc::clock_gettime(a0 as i32, a1),
            nr::SCHED_YIELD => misc::sched_yield(),
            nr::KILL => process::kill(a0 as i32, a1 as u32),
            nr::TKILL => process::tgkill(-1, a0 as i32, a1 as u32),
            nr::TGKILL => process::tgkill(a0 as i32, a1 as i32, a2 as u32),
            nr::RT_SIGACTION => process::rt_sigaction(a0 as u32, a1, a2, a3),
            nr::RT_SIGPROCMASK => misc::rt_sigprocmask(a0 as u32, a1, a2, a3),
            nr::UNAME => misc::uname(a0),
            nr::GETPID => process::getpid(),
            nr::GETPPID => process::getppid(),
            nr::GETUID | nr::GETEUID | nr::GETGID | nr::GETEGID => Ok(0),
            nr::GETTID => process::gettid(),
            nr::BRK => memory::brk(a0),
            nr::MUNMAP => memory::munmap(a0, a1),
            nr::MMAP => memory::mmap(a0, a1, a2 as u32, a3 as u32, a4 as i32, a5),
            nr::MPROTECT => memory::mprotect(a0, a1, a2 as u32),
            nr::CLONE => crate::task::fork::sys_clone(frame, a0 as u64, a1, a2, a3, a4),
            nr::CLONE3 => crate::task::fork::sys_clone3(frame, a0, a1),
            nr::EXECVE => process::execve(frame, a0, a1, a2),
            nr::WAIT4 => crate::task::wait::do_wait4(a0 as i32, a1, a2 as u32, a3),
            nr::KSTAT => misc::kstat(a0),
            _ => {
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
