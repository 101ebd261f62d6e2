//! Kernel errors: Linux errno values (include/uapi/asm-generic/errno-base.h). A leaf module
//! every subsystem may import; system calls return `-errno` in x0.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ESRCH: Errno = Errno(3);
    pub const EINTR: Errno = Errno(4);
    pub const EIO: Errno = Errno(5);
    pub const ENXIO: Errno = Errno(6);
    pub const E2BIG: Errno = Errno(7);
    pub const ENOEXEC: Errno = Errno(8);
    pub const EBADF: Errno = Errno(9);
    pub const ECHILD: Errno = Errno(10);
    pub const EAGAIN: Errno = Errno(11);
    pub const ENOMEM: Errno = Errno(12);
    pub const EACCES: Errno = Errno(13);
    pub const EFAULT: Errno = Errno(14);
    pub const EBUSY: Errno = Errno(16);
    pub const EEXIST: Errno = Errno(17);
    pub const EXDEV: Errno = Errno(18);
    pub const ENODEV: Errno = Errno(19);
    pub const ENOTDIR: Errno = Errno(20);
    pub const EISDIR: Errno = Errno(21);
    pub const EINVAL: Errno = Errno(22);
    pub const ENFILE: Errno = Errno(23);
    pub const EMFILE: Errno = Errno(24);
    pub const ENOTTY: Errno = Errno(25);
    pub const ETXTBSY: Errno = Errno(26);
    pub const EFBIG: Errno = Errno(27);
    pub const ENOSPC: Errno = Errno(28);
    pub const ESPIPE: Errno = Errno(29);
    pub const EROFS: Errno = Errno(30);
    pub const EMLINK: Errno = Errno(31);
    pub const EPIPE: Errno = Errno(32);
    pub const ERANGE: Errno = Errno(34);
    pub const ENAMETOOLONG: Errno = Errno(36);
    pub const ENOLCK: Errno = Errno(37);
    pub const ENOSYS: Errno = Errno(38);
    pub const ENOTEMPTY: Errno = Errno(39);
    pub const ELOOP: Errno = Errno(40);
    /// No such extended attribute (getxattr).
    pub const ENODATA: Errno = Errno(61);
    pub const ENOPKG: Errno = Errno(65);
    /// A shared library (here: the dynamic loader) is no AArch64 ELF file.
    pub const ELIBBAD: Errno = Errno(80);
    pub const EOVERFLOW: Errno = Errno(75);
    /// A socket call on a descriptor that is no socket.
    pub const ENOTSOCK: Errno = Errno(88);
    pub const EOPNOTSUPP: Errno = Errno(95);
    pub const ETIMEDOUT: Errno = Errno(110);

    // Never seen by user space (include/linux/errno.h): a system call interrupted by a
    // signal returns one of these, and the return path to user mode (task/signal.rs
    // `do_signal`) turns it into a restart of the call or into EINTR.
    /// Restart if the handler has SA_RESTART (or no handler runs), else EINTR.
    pub const ERESTARTSYS: Errno = Errno(512);
    /// Always restart (the call had no side effect a handler could observe).
    pub const ERESTARTNOINTR: Errno = Errno(513);
    /// Restart only if no handler runs (ppoll, pselect6, rt_sigsuspend), else EINTR.
    pub const ERESTARTNOHAND: Errno = Errno(514);
    /// Restart through restart_syscall(2) with the remaining time (nanosleep), else
    /// EINTR.
    pub const ERESTART_RESTARTBLOCK: Errno = Errno(516);

    /// The value a system call leaves in x0.
    pub fn as_ret(self) -> isize {
        -(self.0 as isize)
    }
}

pub type KResult<T> = Result<T, Errno>;
