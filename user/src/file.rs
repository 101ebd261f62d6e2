//! Files, directories and file systems: the Linux AArch64 system calls a VFS serves, with
//! the structures they fill in (arm64 layouts from include/uapi/asm-generic).
//!
//! Paths are `&CStr` (write `c"/tmp/x"`). Every call returns `isize` — a result >= 0, or
//! -errno — unless its comment says otherwise. Calls that are already in `sys.rs` (read,
//! write, close, dup3, pipe, mmap, execve, ...) are not repeated here.

use core::ffi::CStr;

use crate::sys::*;

// --- System call numbers (include/uapi/asm-generic/unistd.h) not already in sys.rs. ---

pub const SYS_IOCTL: usize = 29;
pub const SYS_MKNODAT: usize = 33;
pub const SYS_MKDIRAT: usize = 34;
pub const SYS_UNLINKAT: usize = 35;
pub const SYS_SYMLINKAT: usize = 36;
pub const SYS_LINKAT: usize = 37;
pub const SYS_RENAMEAT: usize = 38;
pub const SYS_UMOUNT2: usize = 39;
pub const SYS_MOUNT: usize = 40;
pub const SYS_STATFS: usize = 43;
pub const SYS_FSTATFS: usize = 44;
pub const SYS_TRUNCATE: usize = 45;
pub const SYS_FTRUNCATE: usize = 46;
pub const SYS_FALLOCATE: usize = 47;
pub const SYS_FACCESSAT: usize = 48;
pub const SYS_FCHDIR: usize = 50;
pub const SYS_CHROOT: usize = 51;
pub const SYS_FCHMOD: usize = 52;
pub const SYS_FCHMODAT: usize = 53;
pub const SYS_FCHOWNAT: usize = 54;
pub const SYS_FCHOWN: usize = 55;
pub const SYS_OPENAT: usize = 56;
pub const SYS_GETDENTS64: usize = 61;
pub const SYS_LSEEK: usize = 62;
pub const SYS_READV: usize = 65;
pub const SYS_PREAD64: usize = 67;
pub const SYS_PWRITE64: usize = 68;
pub const SYS_PREADV: usize = 69;
pub const SYS_PWRITEV: usize = 70;
pub const SYS_SENDFILE: usize = 71;
pub const SYS_READLINKAT: usize = 78;
pub const SYS_SYNC: usize = 81;
pub const SYS_FSYNC: usize = 82;
pub const SYS_FDATASYNC: usize = 83;
pub const SYS_UTIMENSAT: usize = 88;
pub const SYS_RENAMEAT2: usize = 276;
pub const SYS_STATX: usize = 291;
pub const SYS_CLOSE_RANGE: usize = 436;
pub const SYS_OPENAT2: usize = 437;
pub const SYS_FACCESSAT2: usize = 439;

// --- errno values (include/uapi/asm-generic/errno-base.h, errno.h) not in sys.rs. ---

pub const EIO: isize = 5;
pub const ENXIO: isize = 6;
pub const ENOEXEC: isize = 8;
pub const ENOTBLK: isize = 15;
pub const EBUSY: isize = 16;
pub const EEXIST: isize = 17;
pub const EXDEV: isize = 18;
pub const ENODEV: isize = 19;
pub const EISDIR: isize = 21;
pub const ENOTTY: isize = 25;
pub const ETXTBSY: isize = 26;
pub const EFBIG: isize = 27;
pub const ENOSPC: isize = 28;
pub const ESPIPE: isize = 29;
pub const EROFS: isize = 30;
pub const EMLINK: isize = 31;
pub const EDEADLK: isize = 35;
pub const ENOLCK: isize = 37;
pub const ENOTEMPTY: isize = 39;
pub const ELOOP: isize = 40;
pub const ENODATA: isize = 61;
pub const EOVERFLOW: isize = 75;
pub const EBADFD: isize = 77;
pub const EOPNOTSUPP: isize = 95;

// --- open flags (arm64 uses the asm-generic values). O_NONBLOCK, O_DIRECT and O_CLOEXEC
// are in sys.rs. ---

pub const O_RDONLY: usize = 0;
pub const O_WRONLY: usize = 1;
pub const O_RDWR: usize = 2;
pub const O_ACCMODE: usize = 3;
pub const O_CREAT: usize = 0o100;
pub const O_EXCL: usize = 0o200;
pub const O_NOCTTY: usize = 0o400;
pub const O_TRUNC: usize = 0o1000;
pub const O_APPEND: usize = 0o2000;
pub const O_DSYNC: usize = 0o10000;
pub const O_ASYNC: usize = 0o20000;
pub const O_DIRECTORY: usize = 0o40000;
pub const O_NOFOLLOW: usize = 0o100000;
pub const O_LARGEFILE: usize = 0o400000;
pub const O_NOATIME: usize = 0o1000000;
pub const O_SYNC: usize = 0o4010000;
pub const O_PATH: usize = 0o10000000;
/// O_TMPFILE includes O_DIRECTORY (so that old kernels fail it instead of opening the dir).
pub const O_TMPFILE: usize = 0o20000000 | O_DIRECTORY;

// --- *at flags (include/uapi/linux/fcntl.h). ---

pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: usize = 0x100;
/// faccessat2: check with the effective ids (shares its value with AT_REMOVEDIR).
pub const AT_EACCESS: usize = 0x200;
pub const AT_REMOVEDIR: usize = 0x200;
pub const AT_SYMLINK_FOLLOW: usize = 0x400;
pub const AT_NO_AUTOMOUNT: usize = 0x800;
pub const AT_EMPTY_PATH: usize = 0x1000;
pub const AT_STATX_SYNC_AS_STAT: usize = 0;
pub const AT_STATX_FORCE_SYNC: usize = 0x2000;
pub const AT_STATX_DONT_SYNC: usize = 0x4000;

pub const RENAME_NOREPLACE: usize = 1;
pub const RENAME_EXCHANGE: usize = 2;
pub const RENAME_WHITEOUT: usize = 4;

// --- File types and permission bits (st_mode). ---

pub const S_IFMT: u32 = 0o170000;
pub const S_IFSOCK: u32 = 0o140000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_ISUID: u32 = 0o4000;
pub const S_ISGID: u32 = 0o2000;
pub const S_ISVTX: u32 = 0o1000;
pub const S_IRWXU: u32 = 0o700;
pub const S_IRUSR: u32 = 0o400;
pub const S_IWUSR: u32 = 0o200;
pub const S_IXUSR: u32 = 0o100;
pub const S_IRWXG: u32 = 0o070;
pub const S_IRGRP: u32 = 0o040;
pub const S_IWGRP: u32 = 0o020;
pub const S_IXGRP: u32 = 0o010;
pub const S_IRWXO: u32 = 0o007;
pub const S_IROTH: u32 = 0o004;
pub const S_IWOTH: u32 = 0o002;
pub const S_IXOTH: u32 = 0o001;

/// getdents64 d_type values.
pub const DT_UNKNOWN: u8 = 0;
pub const DT_FIFO: u8 = 1;
pub const DT_CHR: u8 = 2;
pub const DT_DIR: u8 = 4;
pub const DT_BLK: u8 = 6;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;
pub const DT_SOCK: u8 = 12;

pub const PATH_MAX: usize = 4096;
pub const NAME_MAX: usize = 255;

// --- lseek, fcntl, access, close_range, ioctl. ---

pub const SEEK_SET: usize = 0;
pub const SEEK_CUR: usize = 1;
pub const SEEK_END: usize = 2;
pub const SEEK_DATA: usize = 3;
pub const SEEK_HOLE: usize = 4;

pub const F_DUPFD: usize = 0;
pub const F_GETFD: usize = 1;
pub const F_SETFD: usize = 2;
pub const F_GETFL: usize = 3;
pub const F_SETFL: usize = 4;
pub const F_GETLK: usize = 5;
pub const F_SETLK: usize = 6;
pub const F_SETLKW: usize = 7;
pub const F_SETOWN: usize = 8;
pub const F_GETOWN: usize = 9;
pub const F_OFD_GETLK: usize = 36;
pub const F_OFD_SETLK: usize = 37;
pub const F_OFD_SETLKW: usize = 38;
pub const F_DUPFD_CLOEXEC: usize = 1030;
pub const F_SETPIPE_SZ: usize = 1031;
pub const F_GETPIPE_SZ: usize = 1032;
pub const FD_CLOEXEC: usize = 1;
pub const F_RDLCK: i16 = 0;
pub const F_WRLCK: i16 = 1;
pub const F_UNLCK: i16 = 2;

pub const F_OK: usize = 0;
pub const X_OK: usize = 1;
pub const W_OK: usize = 2;
pub const R_OK: usize = 4;

pub const CLOSE_RANGE_UNSHARE: usize = 2;
pub const CLOSE_RANGE_CLOEXEC: usize = 4;

pub const TCGETS: usize = 0x5401;
pub const FIONREAD: usize = 0x541b;
pub const FIONBIO: usize = 0x5421;
pub const FIONCLEX: usize = 0x5450;
pub const FIOCLEX: usize = 0x5451;

// --- mount, umount2, statfs. ---

pub const MS_RDONLY: usize = 1;
pub const MS_NOSUID: usize = 2;
pub const MS_NODEV: usize = 4;
pub const MS_NOEXEC: usize = 8;
pub const MS_REMOUNT: usize = 32;
pub const MS_BIND: usize = 4096;
pub const MS_MOVE: usize = 8192;
pub const MS_REC: usize = 16384;
pub const MS_PRIVATE: usize = 1 << 18;
pub const MNT_FORCE: usize = 1;
pub const MNT_DETACH: usize = 2;
pub const MNT_EXPIRE: usize = 4;
pub const UMOUNT_NOFOLLOW: usize = 8;

/// f_type values (include/uapi/linux/magic.h).
pub const TMPFS_MAGIC: i64 = 0x0102_1994;
pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
pub const RAMFS_MAGIC: i64 = 0x8584_58f6;
pub const DEVPTS_SUPER_MAGIC: i64 = 0x1cd1;

// --- utimensat. ---

pub const UTIME_NOW: i64 = (1 << 30) - 1;
pub const UTIME_OMIT: i64 = (1 << 30) - 2;

// --- statx mask bits (include/uapi/linux/stat.h). ---

pub const STATX_TYPE: u32 = 0x1;
pub const STATX_MODE: u32 = 0x2;
pub const STATX_NLINK: u32 = 0x4;
pub const STATX_UID: u32 = 0x8;
pub const STATX_GID: u32 = 0x10;
pub const STATX_ATIME: u32 = 0x20;
pub const STATX_MTIME: u32 = 0x40;
pub const STATX_CTIME: u32 = 0x80;
pub const STATX_INO: u32 = 0x100;
pub const STATX_SIZE: u32 = 0x200;
pub const STATX_BLOCKS: u32 = 0x400;
pub const STATX_BASIC_STATS: u32 = 0x7ff;
pub const STATX_BTIME: u32 = 0x800;

// --- Structures. ---

/// struct timespec (and the time fields of struct stat, which have the same layout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

/// struct stat as arm64 lays it out (asm-generic/stat.h, 128 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    _pad1: u64,
    pub size: i64,
    pub blksize: i32,
    _pad2: i32,
    pub blocks: i64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    _unused: [u32; 2],
}

impl Stat {
    /// The file type bits (S_IFREG, S_IFDIR, ...).
    pub fn kind(&self) -> u32 {
        self.mode & S_IFMT
    }
    /// The permission bits, with set-id and sticky bits.
    pub fn perm(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// struct statx_timestamp.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct StatxTimestamp {
    pub sec: i64,
    pub nsec: u32,
    _reserved: i32,
}

/// struct statx (include/uapi/linux/stat.h, 256 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Statx {
    pub mask: u32,
    pub blksize: u32,
    pub attributes: u64,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub mode: u16,
    _spare0: u16,
    pub ino: u64,
    pub size: u64,
    pub blocks: u64,
    pub attributes_mask: u64,
    pub atime: StatxTimestamp,
    pub btime: StatxTimestamp,
    pub ctime: StatxTimestamp,
    pub mtime: StatxTimestamp,
    pub rdev_major: u32,
    pub rdev_minor: u32,
    pub dev_major: u32,
    pub dev_minor: u32,
    pub mnt_id: u64,
    pub dio_mem_align: u32,
    pub dio_offset_align: u32,
    _spare: [u64; 12],
}

impl Default for Statx {
    fn default() -> Statx {
        // SAFETY: every field is an integer; all-zero is a valid value.
        unsafe { core::mem::zeroed() }
    }
}

/// struct statfs on a 64-bit architecture (asm-generic/statfs.h, 120 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Statfs {
    pub ftype: i64,
    pub bsize: i64,
    pub blocks: u64,
    pub bfree: u64,
    pub bavail: u64,
    pub files: u64,
    pub ffree: u64,
    pub fsid: [i32; 2],
    pub namelen: i64,
    pub frsize: i64,
    pub flags: i64,
    _spare: [i64; 4],
}

/// struct flock for F_GETLK / F_SETLK / F_SETLKW (64-bit layout, 32 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Flock {
    pub ty: i16,
    pub whence: i16,
    pub start: i64,
    pub len: i64,
    pub pid: i32,
}

/// struct iovec for readv/writev/preadv/pwritev.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct IoVec {
    pub base: usize,
    pub len: usize,
}

impl IoVec {
    pub fn of(buf: &[u8]) -> IoVec {
        IoVec {
            base: buf.as_ptr() as usize,
            len: buf.len(),
        }
    }
    pub fn of_mut(buf: &mut [u8]) -> IoVec {
        IoVec {
            base: buf.as_mut_ptr() as usize,
            len: buf.len(),
        }
    }
}

/// A device number in glibc's encoding (what st_rdev holds): makedev(1, 3) is /dev/null.
pub const fn makedev(major: u64, minor: u64) -> u64 {
    ((major & 0xffff_f000) << 32)
        | ((major & 0xfff) << 8)
        | ((minor & 0xffff_ff00) << 12)
        | (minor & 0xff)
}

pub const fn major(dev: u64) -> u64 {
    ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0xfff)
}

pub const fn minor(dev: u64) -> u64 {
    ((dev >> 12) & 0xffff_ff00) | (dev & 0xff)
}

fn p(path: &CStr) -> usize {
    path.as_ptr() as usize
}

/// A descriptor as a system call argument (sign-extended, so AT_FDCWD stays -100).
fn fd_arg(fd: i32) -> usize {
    fd as isize as usize
}

// --- Opening, closing, reading and writing. ---

pub fn openat(dirfd: i32, path: &CStr, flags: usize, mode: u32) -> isize {
    syscall(SYS_OPENAT, &[fd_arg(dirfd), p(path), flags, mode as usize])
}

/// open(2) is openat(AT_FDCWD, ...) on arm64 (there is no open system call).
pub fn open(path: &CStr, flags: usize, mode: u32) -> isize {
    openat(AT_FDCWD, path, flags, mode)
}

pub fn close_range(first: u32, last: u32, flags: usize) -> isize {
    syscall(SYS_CLOSE_RANGE, &[first as usize, last as usize, flags])
}

pub fn dup(fd: i32) -> isize {
    syscall(SYS_DUP, &[fd_arg(fd)])
}

pub fn pread(fd: i32, buf: &mut [u8], off: i64) -> isize {
    syscall(
        SYS_PREAD64,
        &[
            fd_arg(fd),
            buf.as_mut_ptr() as usize,
            buf.len(),
            off as usize,
        ],
    )
}

pub fn pwrite(fd: i32, buf: &[u8], off: i64) -> isize {
    syscall(
        SYS_PWRITE64,
        &[fd_arg(fd), buf.as_ptr() as usize, buf.len(), off as usize],
    )
}

pub fn readv(fd: i32, iov: &[IoVec]) -> isize {
    syscall(SYS_READV, &[fd_arg(fd), iov.as_ptr() as usize, iov.len()])
}

pub fn writev(fd: i32, iov: &[IoVec]) -> isize {
    syscall(SYS_WRITEV, &[fd_arg(fd), iov.as_ptr() as usize, iov.len()])
}

/// preadv: on a 64-bit kernel the offset is one register (the high half argument is 0).
pub fn preadv(fd: i32, iov: &[IoVec], off: i64) -> isize {
    syscall(
        SYS_PREADV,
        &[
            fd_arg(fd),
            iov.as_ptr() as usize,
            iov.len(),
            off as usize,
            0,
        ],
    )
}

pub fn pwritev(fd: i32, iov: &[IoVec], off: i64) -> isize {
    syscall(
        SYS_PWRITEV,
        &[
            fd_arg(fd),
            iov.as_ptr() as usize,
            iov.len(),
            off as usize,
            0,
        ],
    )
}

/// The new offset, or -errno.
pub fn lseek(fd: i32, off: i64, whence: usize) -> isize {
    syscall(SYS_LSEEK, &[fd_arg(fd), off as usize, whence])
}

pub fn truncate(path: &CStr, len: i64) -> isize {
    syscall(SYS_TRUNCATE, &[p(path), len as usize])
}

pub fn ftruncate(fd: i32, len: i64) -> isize {
    syscall(SYS_FTRUNCATE, &[fd_arg(fd), len as usize])
}

pub fn fallocate(fd: i32, mode: usize, off: i64, len: i64) -> isize {
    syscall(
        SYS_FALLOCATE,
        &[fd_arg(fd), mode, off as usize, len as usize],
    )
}

pub fn sendfile(out_fd: i32, in_fd: i32, off: Option<&mut i64>, count: usize) -> isize {
    let off = off.map_or(0, |o| o as *mut i64 as usize);
    syscall(SYS_SENDFILE, &[fd_arg(out_fd), fd_arg(in_fd), off, count])
}

pub fn fcntl(fd: i32, cmd: usize, arg: usize) -> isize {
    syscall(SYS_FCNTL, &[fd_arg(fd), cmd, arg])
}

pub fn ioctl(fd: i32, req: usize, arg: usize) -> isize {
    syscall(SYS_IOCTL, &[fd_arg(fd), req, arg])
}

pub fn sync() -> isize {
    syscall(SYS_SYNC, &[])
}

pub fn fsync(fd: i32) -> isize {
    syscall(SYS_FSYNC, &[fd_arg(fd)])
}

pub fn fdatasync(fd: i32) -> isize {
    syscall(SYS_FDATASYNC, &[fd_arg(fd)])
}

// --- Metadata. ---

pub fn fstat(fd: i32) -> Result<Stat, isize> {
    let mut st = Stat::default();
    match syscall(SYS_FSTAT, &[fd_arg(fd), &mut st as *mut Stat as usize]) {
        0 => Ok(st),
        e => Err(e),
    }
}

/// newfstatat(dirfd, path, &st, flags): flags AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
pub fn fstatat(dirfd: i32, path: &CStr, flags: usize) -> Result<Stat, isize> {
    let mut st = Stat::default();
    match syscall(
        SYS_NEWFSTATAT,
        &[fd_arg(dirfd), p(path), &mut st as *mut Stat as usize, flags],
    ) {
        0 => Ok(st),
        e => Err(e),
    }
}

/// stat(path) (follows symlinks).
pub fn stat(path: &CStr) -> Result<Stat, isize> {
    fstatat(AT_FDCWD, path, 0)
}

/// lstat(path) (the link itself).
pub fn lstat(path: &CStr) -> Result<Stat, isize> {
    fstatat(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW)
}

pub fn statx(dirfd: i32, path: &CStr, flags: usize, mask: u32) -> Result<Statx, isize> {
    let mut stx = Statx::default();
    match syscall(
        SYS_STATX,
        &[
            fd_arg(dirfd),
            p(path),
            flags,
            mask as usize,
            &mut stx as *mut Statx as usize,
        ],
    ) {
        0 => Ok(stx),
        e => Err(e),
    }
}

pub fn statfs(path: &CStr) -> Result<Statfs, isize> {
    let mut sf = Statfs::default();
    match syscall(SYS_STATFS, &[p(path), &mut sf as *mut Statfs as usize]) {
        0 => Ok(sf),
        e => Err(e),
    }
}

pub fn fstatfs(fd: i32) -> Result<Statfs, isize> {
    let mut sf = Statfs::default();
    match syscall(SYS_FSTATFS, &[fd_arg(fd), &mut sf as *mut Statfs as usize]) {
        0 => Ok(sf),
        e => Err(e),
    }
}

pub fn faccessat(dirfd: i32, path: &CStr, mode: usize) -> isize {
    syscall(SYS_FACCESSAT, &[fd_arg(dirfd), p(path), mode])
}

pub fn faccessat2(dirfd: i32, path: &CStr, mode: usize, flags: usize) -> isize {
    syscall(SYS_FACCESSAT2, &[fd_arg(dirfd), p(path), mode, flags])
}

pub fn fchmod(fd: i32, mode: u32) -> isize {
    syscall(SYS_FCHMOD, &[fd_arg(fd), mode as usize])
}

pub fn fchmodat(dirfd: i32, path: &CStr, mode: u32) -> isize {
    syscall(SYS_FCHMODAT, &[fd_arg(dirfd), p(path), mode as usize])
}

/// uid or gid u32::MAX (-1) leaves that id unchanged.
pub fn fchown(fd: i32, uid: u32, gid: u32) -> isize {
    syscall(SYS_FCHOWN, &[fd_arg(fd), uid as usize, gid as usize])
}

pub fn fchownat(dirfd: i32, path: &CStr, uid: u32, gid: u32, flags: usize) -> isize {
    syscall(
        SYS_FCHOWNAT,
        &[fd_arg(dirfd), p(path), uid as usize, gid as usize, flags],
    )
}

/// utimensat(dirfd, path or NULL, times or NULL, flags): times[0] is atime, times[1]
/// mtime; nsec may be UTIME_NOW or UTIME_OMIT. NULL times sets both to now.
pub fn utimensat(
    dirfd: i32,
    path: Option<&CStr>,
    times: Option<&[Timespec; 2]>,
    flags: usize,
) -> isize {
    let path = path.map_or(0, p);
    let times = times.map_or(0, |t| t.as_ptr() as usize);
    syscall(SYS_UTIMENSAT, &[fd_arg(dirfd), path, times, flags])
}

/// The previous mask (umask cannot fail).
pub fn umask(mask: u32) -> isize {
    syscall(SYS_UMASK, &[mask as usize])
}

// --- Directories and names. ---

pub fn mkdirat(dirfd: i32, path: &CStr, mode: u32) -> isize {
    syscall(SYS_MKDIRAT, &[fd_arg(dirfd), p(path), mode as usize])
}

pub fn mkdir(path: &CStr, mode: u32) -> isize {
    mkdirat(AT_FDCWD, path, mode)
}

/// mode holds the file type (S_IFIFO, S_IFREG, S_IFCHR, ...) and the permission bits.
pub fn mknodat(dirfd: i32, path: &CStr, mode: u32, dev: u64) -> isize {
    syscall(
        SYS_MKNODAT,
        &[fd_arg(dirfd), p(path), mode as usize, dev as usize],
    )
}

pub fn unlinkat(dirfd: i32, path: &CStr, flags: usize) -> isize {
    syscall(SYS_UNLINKAT, &[fd_arg(dirfd), p(path), flags])
}

pub fn unlink(path: &CStr) -> isize {
    unlinkat(AT_FDCWD, path, 0)
}

pub fn rmdir(path: &CStr) -> isize {
    unlinkat(AT_FDCWD, path, AT_REMOVEDIR)
}

pub fn renameat2(olddir: i32, old: &CStr, newdir: i32, new: &CStr, flags: usize) -> isize {
    syscall(
        SYS_RENAMEAT2,
        &[fd_arg(olddir), p(old), fd_arg(newdir), p(new), flags],
    )
}

pub fn rename(old: &CStr, new: &CStr) -> isize {
    renameat2(AT_FDCWD, old, AT_FDCWD, new, 0)
}

pub fn linkat(olddir: i32, old: &CStr, newdir: i32, new: &CStr, flags: usize) -> isize {
    syscall(
        SYS_LINKAT,
        &[fd_arg(olddir), p(old), fd_arg(newdir), p(new), flags],
    )
}

pub fn symlinkat(target: &CStr, dirfd: i32, path: &CStr) -> isize {
    syscall(SYS_SYMLINKAT, &[p(target), fd_arg(dirfd), p(path)])
}

/// The number of bytes placed in buf (no NUL is added; a longer target is cut short).
pub fn readlinkat(dirfd: i32, path: &CStr, buf: &mut [u8]) -> isize {
    syscall(
        SYS_READLINKAT,
        &[fd_arg(dirfd), p(path), buf.as_mut_ptr() as usize, buf.len()],
    )
}

/// getdents64: the number of bytes of records placed in buf, 0 at the end.
pub fn getdents64(fd: i32, buf: &mut [u8]) -> isize {
    syscall(
        SYS_GETDENTS64,
        &[fd_arg(fd), buf.as_mut_ptr() as usize, buf.len()],
    )
}

/// One linux_dirent64 record.
#[derive(Clone, Copy, Debug)]
pub struct Dirent<'a> {
    pub ino: u64,
    pub off: i64,
    pub kind: u8,
    /// The name without its NUL.
    pub name: &'a [u8],
}

/// Iterates over the records getdents64 put in `buf` (pass `&buf[..n]`).
pub fn dirents(buf: &[u8]) -> Dirents<'_> {
    Dirents { buf }
}

pub struct Dirents<'a> {
    buf: &'a [u8],
}

impl<'a> Iterator for Dirents<'a> {
    type Item = Dirent<'a>;
    fn next(&mut self) -> Option<Dirent<'a>> {
        // d_ino (8), d_off (8), d_reclen (2), d_type (1), d_name (NUL-terminated).
        if self.buf.len() < 19 {
            return None;
        }
        let b = self.buf;
        let reclen = u16::from_le_bytes([b[16], b[17]]) as usize;
        if reclen < 19 || reclen > b.len() {
            return None;
        }
        let name = &b[19..reclen];
        let name = &name[..name.iter().position(|&c| c == 0).unwrap_or(name.len())];
        let d = Dirent {
            ino: u64::from_le_bytes(b[0..8].try_into().unwrap()),
            off: i64::from_le_bytes(b[8..16].try_into().unwrap()),
            kind: b[18],
            name,
        };
        self.buf = &b[reclen..];
        Some(d)
    }
}

// --- Working directory, root, mounts. ---

pub fn chdir(path: &CStr) -> isize {
    syscall(SYS_CHDIR, &[p(path)])
}

pub fn fchdir(fd: i32) -> isize {
    syscall(SYS_FCHDIR, &[fd_arg(fd)])
}

/// The raw system call: the length of the path including its NUL, or -errno.
pub fn getcwd(buf: &mut [u8]) -> isize {
    syscall(SYS_GETCWD, &[buf.as_mut_ptr() as usize, buf.len()])
}

pub fn chroot(path: &CStr) -> isize {
    syscall(SYS_CHROOT, &[p(path)])
}

/// mount(source, target, fstype, flags, data); data is a pointer (0 for none).
pub fn mount(src: &CStr, target: &CStr, fstype: &CStr, flags: usize, data: usize) -> isize {
    syscall(SYS_MOUNT, &[p(src), p(target), p(fstype), flags, data])
}

pub fn umount2(target: &CStr, flags: usize) -> isize {
    syscall(SYS_UMOUNT2, &[p(target), flags])
}

// --- Conveniences. ---

/// Reads the whole file at `path` into `buf` (up to its size): the bytes read, or -errno.
pub fn read_file(path: &CStr, buf: &mut [u8]) -> isize {
    let fd = open(path, O_RDONLY | O_CLOEXEC, 0);
    if fd < 0 {
        return fd;
    }
    let mut total = 0;
    while total < buf.len() {
        let n = read(fd as i32, &mut buf[total..]);
        if n < 0 {
            close(fd as i32);
            return n;
        }
        if n == 0 {
            break;
        }
        total += n as usize;
    }
    close(fd as i32);
    total as isize
}

/// Creates or truncates `path` (mode 0644 before the umask) and writes `data` into it:
/// the bytes written, or -errno.
pub fn write_file(path: &CStr, data: &[u8]) -> isize {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644);
    if fd < 0 {
        return fd;
    }
    let mut total = 0;
    while total < data.len() {
        let n = write(fd as i32, &data[total..]);
        if n <= 0 {
            close(fd as i32);
            return if n < 0 { n } else { -EIO };
        }
        total += n as usize;
    }
    let r = close(fd as i32);
    if r < 0 { r } else { total as isize }
}

/// A path built at run time (`write!(p, "/tmp/d/f{}", i)` or `push`), NUL-terminated, up
/// to PATH_MAX bytes plus some room to build over-long paths.
pub struct PathBuf {
    buf: [u8; PATH_MAX + 64],
    len: usize,
}

impl PathBuf {
    pub fn new(start: &[u8]) -> PathBuf {
        let mut p = PathBuf {
            buf: [0; PATH_MAX + 64],
            len: 0,
        };
        p.push(start);
        p
    }
    /// Appends raw bytes (any byte but NUL; a path need not be UTF-8).
    pub fn push(&mut self, bytes: &[u8]) -> &mut PathBuf {
        let room = self.buf.len() - 1 - self.len;
        assert!(bytes.len() <= room, "PathBuf overflow");
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        self
    }
    pub fn clear(&mut self) -> &mut PathBuf {
        self.buf[..self.len].fill(0);
        self.len = 0;
        self
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
    pub fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.buf[..=self.len]).expect("NUL inside a PathBuf")
    }
}

impl core::fmt::Write for PathBuf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

// The layouts the kernel writes must match Linux's byte for byte.
const _: () = assert!(core::mem::size_of::<Stat>() == 128);
const _: () = assert!(core::mem::size_of::<Statx>() == 256);
const _: () = assert!(core::mem::size_of::<Statfs>() == 120);
const _: () = assert!(core::mem::size_of::<Flock>() == 32);
const _: () = assert!(core::mem::offset_of!(Stat, size) == 48);
const _: () = assert!(core::mem::offset_of!(Stat, atime) == 72);
const _: () = assert!(core::mem::offset_of!(Statx, atime) == 64);
const _: () = assert!(core::mem::offset_of!(Statx, rdev_major) == 128);

/// The end of a file-system test's body: removes its directory, which fails (and fails
/// the test) if the test left anything in it.
pub fn remove_test_dir(name: &str, dir: &CStr) {
    let r = rmdir(dir);
    crate::check!(
        name,
        r == 0,
        "rmdir {:?} gave {} (something left behind?)",
        dir,
        r
    );
}

/// Runs a file-system test's `body` twice, each in a test process: the first run fills
/// whatever caches the kernel keeps, the second must give back every frame and heap byte
/// it takes. Then prints `NAME: ok`.
pub fn run_test_twice(name: &str, body: fn() -> i32) -> i32 {
    crate::run_test_process(name, None, body);
    let baseline = crate::settled_mem_usage();
    crate::run_test_process(name, baseline, body);
    crate::println!("{}: ok", name);
    0
}
