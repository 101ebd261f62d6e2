//! stat and statfs (Linux fs/stat.c `cp_new_stat`, `cp_statx`, fs/statfs.c): an
//! inode's attributes in the layouts of the arm64 ABI.

use alloc::sync::Arc;

use crate::error::{Errno, KResult};
use crate::fs::inode::{FsType, Inode, S_IFCHR, S_IFIFO};
use crate::fs::{File, FileKind};
use crate::mm::uaccess;

use super::file::file;
use super::path::{AT_EMPTY_PATH, AT_NO_AUTOMOUNT, AT_SYMLINK_NOFOLLOW, getname, lookup_at};

/// What stat reports, from an inode or made up for a pipe or the console.
pub struct Kstat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: u64,
    pub blocks: u64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

pub fn stat_inode(inode: &Inode) -> Kstat {
    let d = inode.data.lock();
    Kstat {
        dev: inode.sb.dev,
        ino: inode.ino,
        mode: d.mode,
        nlink: d.nlink,
        uid: d.uid,
        gid: d.gid,
        rdev: d.rdev,
        size: d.size,
        // 512-byte blocks of the pages the file holds.
        blocks: (d.pages.pages() * 8) as u64,
        atime: (d.atime.sec, d.atime.nsec),
        mtime: (d.mtime.sec, d.mtime.nsec),
        ctime: (d.ctime.sec, d.ctime.nsec),
    }
}

/// The anonymous device of pipes (Linux's pipefs) and the console's device number.
const PIPEFS_DEV: u64 = 13;
const CONSOLE_RDEV: u64 = crate::fs::dev::TTY_AMA0;

fn stat_file(f: &File) -> Kstat {
    let made_up = |mode, ino, rdev| Kstat {
        dev: PIPEFS_DEV,
        ino,
        mode,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev,
        size: 0,
        blocks: 0,
        atime: (0, 0),
        mtime: (0, 0),
        ctime: (0, 0),
    };
    match &f.kind {
        FileKind::Inode(i) | FileKind::Fifo { inode: i, .. } => stat_inode(i),
        FileKind::Console => made_up(S_IFCHR | 0o620, 3, CONSOLE_RDEV),
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) => made_up(S_IFIFO | 0o600, p.id as u64, 0),
        // Linux's anonymous inode: no file type bits, mode 0600.
        FileKind::Eventfd(_) | FileKind::Epoll(_) => made_up(0o600, 0, 0),
    }
}

/// `struct stat` of the generic (arm64) ABI: 128 bytes.
/// arm64's `struct stat` (include/uapi/asm-generic/stat.h), 128 bytes: every field is
/// an integer and each sits at a multiple of its size, so `repr(C)` leaves no padding.
#[repr(C)]
struct Stat {
    st_dev: u64,
    st_ino: u64,
    st_mode: u32,
    st_nlink: u32,
    st_uid: u32,
    st_gid: u32,
    st_rdev: u64,
    __pad1: u64,
    st_size: u64,
    st_blksize: u32,
    __pad2: u32,
    st_blocks: u64,
    st_atime: i64,
    st_atime_nsec: i64,
    st_mtime: i64,
    st_mtime_nsec: i64,
    st_ctime: i64,
    st_ctime_nsec: i64,
    __unused: [u32; 2],
}

const _: () = assert!(size_of::<Stat>() == 128);

/// The `struct stat` of `k`, as bytes to copy out in one go (Linux `cp_new_stat`: a
/// `struct stat` filled on the stack, then one `copy_to_user`).
fn stat_bytes(k: &Kstat) -> [u8; 128] {
    let st = Stat {
        st_dev: k.dev,
        st_ino: k.ino,
        st_mode: k.mode,
        st_nlink: k.nlink,
        st_uid: k.uid,
        st_gid: k.gid,
        st_rdev: k.rdev,
        __pad1: 0,
        st_size: k.size,
        st_blksize: 4096,
        __pad2: 0,
        st_blocks: k.blocks,
        st_atime: k.atime.0,
        st_atime_nsec: k.atime.1,
        st_mtime: k.mtime.0,
        st_mtime_nsec: k.mtime.1,
        st_ctime: k.ctime.0,
        st_ctime_nsec: k.ctime.1,
        __unused: [0; 2],
    };
    // SAFETY: `Stat` is repr(C), 128 bytes of integers with no padding (see above), so
    // every byte of it is initialized; the target is little-endian, as the ABI's.
    unsafe { core::mem::transmute::<Stat, [u8; 128]>(st) }
}

pub fn fstat(fd: i32, buf: usize) -> KResult<usize> {
    let st = stat_bytes(&stat_file(&*file(fd)?));
    uaccess::copy_to_user(buf, &st)?;
    Ok(0)
}

/// What `path` from `dirfd` names (with AT_EMPTY_PATH and an empty path: the file
/// `dirfd` is open on, which may be a pipe), as stat reports it.
fn stat_at(dirfd: i32, path: usize, flags: u32) -> KResult<Kstat> {
    let name = getname(path, flags & AT_EMPTY_PATH != 0)?;
    if name.is_empty() && dirfd != super::path::AT_FDCWD {
        return Ok(stat_file(&*file(dirfd)?));
    }
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let inode = lookup_at(dirfd, &name, follow, flags & AT_EMPTY_PATH != 0)?;
    Ok(stat_inode(&inode))
}

/// newfstatat(2) (Linux `vfs_fstatat`).
pub fn newfstatat(dirfd: i32, path: usize, buf: usize, flags: u32) -> KResult<usize> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT) != 0 {
        return Err(Errno::EINVAL);
    }
    let k = stat_at(dirfd, path, flags)?;
    uaccess::copy_to_user(buf, &stat_bytes(&k))?;
    Ok(0)
}

const STATX_BASIC_STATS: u32 = 0x7ff;
const STATX_MNT_ID: u32 = 0x1000;
const STATX_RESERVED: u32 = 0x8000_0000;
const AT_STATX_SYNC_TYPE: u32 = 0x6000;

/// statx(2) (Linux `do_statx` → `cp_statx`): `struct statx`, 256 bytes; the basic
/// fields and the mount id are always filled (as Linux 6.1 does), the birth time never.
pub fn statx(dirfd: i32, path: usize, flags: u32, mask: u32, buf: usize) -> KResult<usize> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE) != 0
        || flags & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
        || mask & STATX_RESERVED != 0
    {
        return Err(Errno::EINVAL);
    }
    let k = stat_at(dirfd, path, flags)?;
    let mut sx = [0u8; 256];
    let mut put = |at: usize, bytes: &[u8]| sx[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, &(STATX_BASIC_STATS | STATX_MNT_ID).to_le_bytes());
    put(4, &4096u32.to_le_bytes());
    put(16, &k.nlink.to_le_bytes());
    put(20, &k.uid.to_le_bytes());
    put(24, &k.gid.to_le_bytes());
    put(28, &(k.mode as u16).to_le_bytes());
    put(32, &k.ino.to_le_bytes());
    put(40, &k.size.to_le_bytes());
    put(48, &k.blocks.to_le_bytes());
    for (at, (s, ns)) in [(64, k.atime), (96, k.ctime), (112, k.mtime)] {
        put(at, &s.to_le_bytes());
        put(at + 8, &(ns as u32).to_le_bytes());
    }
    let (major, minor) = major_minor(k.rdev);
    put(128, &major.to_le_bytes());
    put(132, &minor.to_le_bytes());
    put(136, &0u32.to_le_bytes());
    put(140, &(k.dev as u32).to_le_bytes());
    put(144, &(k.dev).to_le_bytes());
    uaccess::copy_to_user(buf, &sx)?;
    Ok(0)
}

/// Linux `MAJOR`/`MINOR` of a `new_encode_dev` number.
fn major_minor(d: u64) -> (u32, u32) {
    (
        ((d >> 8) & 0xfff) as u32,
        ((d & 0xff) | ((d >> 12) & !0xff)) as u32,
    )
}

const TMPFS_MAGIC: u64 = 0x0102_1994;
const PROC_SUPER_MAGIC: u64 = 0x9fa0;
const PIPEFS_MAGIC: u64 = 0x5049_5045;

/// `struct statfs` (arm64, 120 bytes): type, block size, blocks total/free/available,
/// inodes total/free, fsid, the longest name, fragment size, mount flags.
fn statfs_bytes(inode: Option<&Arc<Inode>>) -> [u8; 120] {
    let mut sf = [0u8; 120];
    let mut put = |at: usize, v: u64| sf[at..at + 8].copy_from_slice(&v.to_le_bytes());
    match inode {
        Some(i) => {
            let sb = &i.sb;
            let used = sb.used_pages.load(core::sync::atomic::Ordering::Relaxed) as u64;
            let inodes = sb.used_inodes.load(core::sync::atomic::Ordering::Relaxed) as u64;
            match sb.fstype {
                FsType::Tmpfs => {
                    put(0, TMPFS_MAGIC);
                    put(16, sb.max_pages as u64);
                    put(24, (sb.max_pages as u64).saturating_sub(used));
                    put(32, (sb.max_pages as u64).saturating_sub(used));
                    put(40, sb.max_inodes as u64);
                    put(48, (sb.max_inodes as u64).saturating_sub(inodes));
                }
                FsType::Proc => put(0, PROC_SUPER_MAGIC),
            }
            put(56, sb.dev);
        }
        None => put(0, PIPEFS_MAGIC),
    }
    put(8, 4096);
    put(64, 255);
    put(72, 4096);
    put(80, 0x20); // ST_VALID: f_flags holds the mount's flags (none: read-write)
    sf
}

pub fn statfs(path: usize, buf: usize) -> KResult<usize> {
    let name = getname(path, false)?;
    let inode = lookup_at(super::path::AT_FDCWD, &name, true, false)?;
    uaccess::copy_to_user(buf, &statfs_bytes(Some(&inode)))?;
    Ok(0)
}

pub fn fstatfs(fd: i32, buf: usize) -> KResult<usize> {
    let f = file(fd)?;
    uaccess::copy_to_user(buf, &statfs_bytes(f.inode()))?;
    Ok(0)
}

/// The file getxattr/listxattr ask about: `path` (a final symlink followed if `follow`),
/// or the open file `fd`.
fn xattr_target(path: Option<usize>, follow: bool, fd: Option<i32>) -> KResult<()> {
    match (path, fd) {
        (Some(p), _) => {
            let name = getname(p, false)?;
            lookup_at(super::path::AT_FDCWD, &name, follow, false).map(drop)
        }
        (None, Some(fd)) => file(fd).map(drop),
        (None, None) => Err(Errno::EBADF),
    }
}

/// getxattr, lgetxattr, fgetxattr (Linux `path_getxattr` → `getxattr` → `vfs_getxattr`):
/// no file here has extended attributes. After the file is found, the name must be 1 to
/// 255 bytes (ERANGE); a namespace tmpfs knows (security., system., trusted.) then has
/// no such attribute (ENODATA), any other is not supported (EOPNOTSUPP). `ls -l` asks
/// for security.selinux and system.posix_acl_access.
pub fn getxattr(path: Option<usize>, follow: bool, fd: Option<i32>, name: usize) -> KResult<usize> {
    xattr_target(path, follow, fd)?;
    let name = getname(name, true)?;
    if name.is_empty() || name.len() > 255 {
        return Err(Errno::ERANGE);
    }
    let known = [&b"security."[..], b"system.", b"trusted."];
    if known.iter().any(|p| name.starts_with(p)) {
        Err(Errno::ENODATA)
    } else {
        Err(Errno::EOPNOTSUPP)
    }
}

/// listxattr, llistxattr, flistxattr (Linux `listxattr`): the names of a file's extended
/// attributes — none, so 0 bytes.
pub fn listxattr(path: Option<usize>, follow: bool, fd: Option<i32>) -> KResult<usize> {
    xattr_target(path, follow, fd)?;
    Ok(0)
}
