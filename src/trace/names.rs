//! Names for the numbers events carry, so that a line reads like strace's: system calls
//! with their argument counts (Linux include/uapi/asm-generic/unistd.h and the
//! `SYSCALL_DEFINEn` of each), errno values (errno-base.h, errno.h) and clone flags
//! (include/uapi/linux/sched.h). Linux's trace events keep such tables in their print
//! formats too (`__print_flags`, `__print_symbolic`); the kernel's own definitions stay
//! where they are (syscall/mod.rs `nr`, error.rs, task/clone_flags.rs).

/// A system call's name and how many of x0..x5 it takes.
pub fn syscall(nr: u32) -> Option<(&'static str, usize)> {
    Some(match nr {
        8 => ("getxattr", 4),
        9 => ("lgetxattr", 4),
        10 => ("fgetxattr", 4),
        11 => ("listxattr", 3),
        12 => ("llistxattr", 3),
        13 => ("flistxattr", 3),
        17 => ("getcwd", 2),
        19 => ("eventfd2", 2),
        20 => ("epoll_create1", 1),
        21 => ("epoll_ctl", 4),
        22 => ("epoll_pwait", 6),
        23 => ("dup", 1),
        24 => ("dup3", 3),
        25 => ("fcntl", 3),
        29 => ("ioctl", 3),
        33 => ("mknodat", 4),
        34 => ("mkdirat", 3),
        35 => ("unlinkat", 3),
        36 => ("symlinkat", 3),
        37 => ("linkat", 5),
        38 => ("renameat", 4),
        39 => ("umount2", 2),
        40 => ("mount", 5),
        43 => ("statfs", 2),
        44 => ("fstatfs", 2),
        45 => ("truncate", 2),
        46 => ("ftruncate", 2),
        48 => ("faccessat", 3),
        49 => ("chdir", 1),
        50 => ("fchdir", 1),
        51 => ("chroot", 1),
        52 => ("fchmod", 2),
        53 => ("fchmodat", 3),
        54 => ("fchownat", 5),
        55 => ("fchown", 3),
        56 => ("openat", 4),
        57 => ("close", 1),
        59 => ("pipe2", 2),
        61 => ("getdents64", 3),
        62 => ("lseek", 3),
        63 => ("read", 3),
        64 => ("write", 3),
        65 => ("readv", 3),
        66 => ("writev", 3),
        67 => ("pread64", 4),
        68 => ("pwrite64", 4),
        69 => ("preadv", 4),
        70 => ("pwritev", 4),
        71 => ("sendfile", 4),
        72 => ("pselect6", 6),
        73 => ("ppoll", 5),
        78 => ("readlinkat", 4),
        79 => ("newfstatat", 4),
        80 => ("fstat", 2),
        81 => ("sync", 0),
        82 => ("fsync", 1),
        83 => ("fdatasync", 1),
        88 => ("utimensat", 4),
        93 => ("exit", 1),
        94 => ("exit_group", 1),
        96 => ("set_tid_address", 1),
        98 => ("futex", 6),
        99 => ("set_robust_list", 2),
        101 => ("nanosleep", 2),
        102 => ("getitimer", 2),
        103 => ("setitimer", 3),
        107 => ("timer_create", 3),
        108 => ("timer_gettime", 2),
        109 => ("timer_getoverrun", 1),
        110 => ("timer_settime", 4),
        111 => ("timer_delete", 1),
        113 => ("clock_gettime", 2),
        114 => ("clock_getres", 2),
        115 => ("clock_nanosleep", 4),
        122 => ("sched_setaffinity", 3),
        123 => ("sched_getaffinity", 3),
        124 => ("sched_yield", 0),
        128 => ("restart_syscall", 0),
        129 => ("kill", 2),
        130 => ("tkill", 2),
        131 => ("tgkill", 3),
        132 => ("sigaltstack", 2),
        133 => ("rt_sigsuspend", 2),
        134 => ("rt_sigaction", 4),
        135 => ("rt_sigprocmask", 4),
        136 => ("rt_sigpending", 2),
        137 => ("rt_sigtimedwait", 4),
        138 => ("rt_sigqueueinfo", 3),
        139 => ("rt_sigreturn", 0),
        142 => ("reboot", 4),
        153 => ("times", 1),
        154 => ("setpgid", 2),
        155 => ("getpgid", 1),
        156 => ("getsid", 1),
        157 => ("setsid", 0),
        158 => ("getgroups", 2),
        160 => ("uname", 1),
        163 => ("getrlimit", 2),
        164 => ("setrlimit", 2),
        165 => ("getrusage", 2),
        166 => ("umask", 1),
        167 => ("prctl", 5),
        168 => ("getcpu", 3),
        169 => ("gettimeofday", 2),
        172 => ("getpid", 0),
        173 => ("getppid", 0),
        174 => ("getuid", 0),
        175 => ("geteuid", 0),
        176 => ("getgid", 0),
        177 => ("getegid", 0),
        178 => ("gettid", 0),
        179 => ("sysinfo", 1),
        204 => ("getsockname", 3),
        205 => ("getpeername", 3),
        214 => ("brk", 1),
        215 => ("munmap", 2),
        216 => ("mremap", 5),
        220 => ("clone", 5),
        221 => ("execve", 3),
        222 => ("mmap", 6),
        223 => ("fadvise64", 4),
        226 => ("mprotect", 3),
        227 => ("msync", 3),
        240 => ("rt_tgsigqueueinfo", 4),
        260 => ("wait4", 4),
        261 => ("prlimit64", 4),
        267 => ("syncfs", 1),
        276 => ("renameat2", 5),
        278 => ("getrandom", 3),
        291 => ("statx", 5),
        435 => ("clone3", 2),
        436 => ("close_range", 3),
        439 => ("faccessat2", 4),
        1000 => ("kstat", 1),
        1001 => ("fault_inject", 2),
        _ => return None,
    })
}

/// An errno's name ("ENOENT"); None for a number without one here.
pub fn errno(e: u32) -> Option<&'static str> {
    const BASE: [&str; 41] = [
        "",
        "EPERM",
        "ENOENT",
        "ESRCH",
        "EINTR",
        "EIO",
        "ENXIO",
        "E2BIG",
        "ENOEXEC",
        "EBADF",
        "ECHILD",
        "EAGAIN",
        "ENOMEM",
        "EACCES",
        "EFAULT",
        "ENOTBLK",
        "EBUSY",
        "EEXIST",
        "EXDEV",
        "ENODEV",
        "ENOTDIR",
        "EISDIR",
        "EINVAL",
        "ENFILE",
        "EMFILE",
        "ENOTTY",
        "ETXTBSY",
        "EFBIG",
        "ENOSPC",
        "ESPIPE",
        "EROFS",
        "EMLINK",
        "EPIPE",
        "EDOM",
        "ERANGE",
        "EDEADLK",
        "ENAMETOOLONG",
        "ENOLCK",
        "ENOSYS",
        "ENOTEMPTY",
        "ELOOP",
    ];
    Some(match e {
        1..=40 => BASE[e as usize],
        61 => "ENODATA",
        62 => "ETIME",
        65 => "ENOPKG",
        75 => "EOVERFLOW",
        80 => "ELIBBAD",
        88 => "ENOTSOCK",
        95 => "EOPNOTSUPP",
        110 => "ETIMEDOUT",
        // Never seen by user space: the signal code turns them into a restart or EINTR.
        512 => "ERESTARTSYS",
        513 => "ERESTARTNOINTR",
        514 => "ERESTARTNOHAND",
        516 => "ERESTART_RESTARTBLOCK",
        _ => return None,
    })
}

/// Clone flag bits and their names, lowest bit first (the low byte is the exit signal).
pub const CLONE_FLAGS: [(u64, &str); 26] = [
    (0x100, "CLONE_VM"),
    (0x200, "CLONE_FS"),
    (0x400, "CLONE_FILES"),
    (0x800, "CLONE_SIGHAND"),
    (0x1000, "CLONE_PIDFD"),
    (0x2000, "CLONE_PTRACE"),
    (0x4000, "CLONE_VFORK"),
    (0x8000, "CLONE_PARENT"),
    (0x1_0000, "CLONE_THREAD"),
    (0x2_0000, "CLONE_NEWNS"),
    (0x4_0000, "CLONE_SYSVSEM"),
    (0x8_0000, "CLONE_SETTLS"),
    (0x10_0000, "CLONE_PARENT_SETTID"),
    (0x20_0000, "CLONE_CHILD_CLEARTID"),
    (0x40_0000, "CLONE_DETACHED"),
    (0x80_0000, "CLONE_UNTRACED"),
    (0x100_0000, "CLONE_CHILD_SETTID"),
    (0x200_0000, "CLONE_NEWCGROUP"),
    (0x400_0000, "CLONE_NEWUTS"),
    (0x800_0000, "CLONE_NEWIPC"),
    (0x1000_0000, "CLONE_NEWUSER"),
    (0x2000_0000, "CLONE_NEWPID"),
    (0x4000_0000, "CLONE_NEWNET"),
    (0x8000_0000, "CLONE_IO"),
    (0x1_0000_0000, "CLONE_CLEAR_SIGHAND"),
    (0x2_0000_0000, "CLONE_INTO_CGROUP"),
];

/// Writes clone flags as strace does: `CLONE_VM|CLONE_FS|...|SIGCHLD` (the exit signal
/// last, by name if it is SIGCHLD; `0` for no flags and no signal).
pub fn write_clone_flags(w: &mut dyn core::fmt::Write, flags: u64) -> core::fmt::Result {
    let mut sep = "";
    for &(bit, name) in CLONE_FLAGS.iter() {
        if flags & bit != 0 {
            write!(w, "{}{}", sep, name)?;
            sep = "|";
        }
    }
    match flags & 0xff {
        0 if sep.is_empty() => w.write_str("0"),
        0 => Ok(()),
        17 => write!(w, "{}SIGCHLD", sep),
        sig => write!(w, "{}signal {}", sep, sig),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    #[test]
    fn clone_flags_read_like_strace() {
        let mut s = String::new();
        write_clone_flags(&mut s, 0x11).unwrap(); // fork() through clone
        assert_eq!(s, "SIGCHLD");
        s.clear();
        // glibc's pthread_create.
        write_clone_flags(&mut s, 0x3d0f00).unwrap();
        assert_eq!(
            s,
            "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|\
             CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID"
        );
        s.clear();
        write_clone_flags(&mut s, 0).unwrap();
        assert_eq!(s, "0");
        s.clear();
        write_clone_flags(&mut s, 0x4100 | 10).unwrap();
        assert_eq!(s, "CLONE_VM|CLONE_VFORK|signal 10");
    }

    #[test]
    fn names() {
        assert_eq!(syscall(56), Some(("openat", 4)));
        assert_eq!(syscall(2), None);
        assert_eq!(errno(2), Some("ENOENT"));
        assert_eq!(errno(40), Some("ELOOP"));
        assert_eq!(errno(0), None);
        assert_eq!(errno(41), None);
    }
}
