//! System calls that take a path (Linux fs/namei.c, fs/open.c, fs/namespace.c,
//! fs/utimes.c): open and create, make and remove names, links, permissions, the
//! current and root directories, mount. Each copies the path in (`getname`), picks the
//! directory a relative path starts from (`dirfd` or the cwd), and walks it
//! (fs/namei.rs).

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::{Errno, KResult};
use crate::fs::file::{
    O_ACCMODE, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOFOLLOW, O_PATH, O_RDONLY,
    O_TMPFILE, O_TRUNC,
};
use crate::fs::inode::{
    Inode, Kind, S_IALLUGO, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG,
};

const S_ISUID: u32 = 0o4000;
const S_ISGID: u32 = 0o2000;
const S_IXGRP: u32 = 0o010;
use crate::fs::namei::{self, MAXSYMLINKS, Start, Walked, Want};
use crate::fs::{self, File, FileKind, FsStruct, PATH_MAX, fifo, initramfs, mount, tmpfs};
use crate::mm::frame::PAGE_SIZE;
use crate::mm::uaccess::{self, UserSlice};
use crate::sync::ordered::OrderedMutex;
use crate::task::sched::current;

use super::file::{file, files, nofile_limit};

pub const AT_FDCWD: i32 = -100;
pub const AT_SYMLINK_NOFOLLOW: u32 = 0x100;
pub const AT_REMOVEDIR: u32 = 0x200;
pub const AT_SYMLINK_FOLLOW: u32 = 0x400;
pub const AT_NO_AUTOMOUNT: u32 = 0x800;
pub const AT_EMPTY_PATH: u32 = 0x1000;
pub const AT_EACCESS: u32 = 0x200;

/// Bytes are copied from user memory in pieces of at most this size, the first one of
/// FIRST_PIECE: most paths are short, and a copy costs by the byte copied, so a short
/// path is copied in one short piece; the pieces double for a long one.
const CHUNK: usize = 256;
const FIRST_PIECE: usize = 32;

fn fs_struct() -> KResult<Arc<OrderedMutex<FsStruct>>> {
    current().inner.lock().fs.clone().ok_or(Errno::EINVAL)
}

/// The caller's root directory.
pub(super) fn fs_root() -> KResult<Arc<Inode>> {
    Ok(fs_struct()?.lock().root.clone())
}

/// Linux `getname`/`strncpy_from_user`: a path from user memory, as bytes without the
/// NUL. ENAMETOOLONG when the first PATH_MAX bytes hold no NUL (nothing past them is
/// read), ENOENT for an empty path unless `empty_ok`. Reads never cross into a page the
/// string does not reach.
pub(super) fn getname(addr: usize, empty_ok: bool) -> KResult<Vec<u8>> {
    let mut name = Vec::new();
    let mut at = addr;
    let mut piece = FIRST_PIECE;
    while name.len() < PATH_MAX {
        let n = (PAGE_SIZE - at % PAGE_SIZE)
            .min(piece)
            .min(PATH_MAX - name.len());
        piece = (piece * 2).min(CHUNK);
        // Straight into the name's buffer: `n` more bytes, then cut at the NUL.
        let old = name.len();
        name.try_reserve(n).map_err(|_| Errno::ENOMEM)?;
        name.resize(old + n, 0);
        uaccess::copy_from_user(&mut name[old..], at)?;
        if let Some(end) = name[old..].iter().position(|&b| b == 0) {
            name.truncate(old + end);
            if name.is_empty() && !empty_ok {
                return Err(Errno::ENOENT);
            }
            return Ok(name);
        }
        at = at.checked_add(n).ok_or(Errno::EFAULT)?;
    }
    Err(Errno::ENAMETOOLONG)
}

/// Where a path given with `dirfd` starts (Linux `path_init`): the root for an absolute
/// path (`dirfd` is then ignored), the cwd for AT_FDCWD, else the directory `dirfd` is
/// open on (EBADF if it is not open, ENOTDIR if it is not a directory).
pub(super) fn start_at(dirfd: i32, path: &[u8]) -> KResult<Start> {
    let (root, cwd) = {
        let fs = fs_struct()?;
        let f = fs.lock();
        (f.root.clone(), f.cwd.clone())
    };
    let dir = if path.first() == Some(&b'/') || dirfd == AT_FDCWD {
        cwd
    } else {
        dir_of_fd(dirfd)?
    };
    Ok(Start { root, dir })
}

fn dir_of_fd(dirfd: i32) -> KResult<Arc<Inode>> {
    let f = file(dirfd)?;
    match f.inode() {
        Some(i) if i.is_dir() => Ok(i.clone()),
        _ => Err(Errno::ENOTDIR),
    }
}

/// The inode `path` names from `dirfd`; with AT_EMPTY_PATH and an empty path, the one
/// `dirfd` is open on (any file). `follow`: a final symlink is followed.
pub(super) fn lookup_at(
    dirfd: i32,
    path: &[u8],
    follow: bool,
    empty_path: bool,
) -> KResult<Arc<Inode>> {
    if path.is_empty() && empty_path {
        if dirfd == AT_FDCWD {
            return Ok(fs_struct()?.lock().cwd.clone());
        }
        let f = file(dirfd)?;
        return f.inode().cloned().ok_or(Errno::EBADF);
    }
    let start = start_at(dirfd, path)?;
    namei::lookup(&start, path, follow)
}

/// The caller's umask.
fn umask_now() -> KResult<u32> {
    Ok(fs_struct()?.lock().umask)
}

/// openat(2) (Linux `do_sys_openat2` → `path_openat`: the walk to the last component,
/// then `open_last_lookups` and `do_open`).
pub fn openat(dirfd: i32, path: usize, flags: u32, mode: u32) -> KResult<usize> {
    let name = getname(path, false)?;
    let mut flags = flags;
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & O_PATH != 0 {
        // Linux `build_open_flags`: O_PATH keeps only these.
        flags &= O_PATH | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW;
    }
    let start = start_at(dirfd, &name)?;
    let mut last = namei::Name::empty();
    let (inode, parent, followed_link) = open_last(&start, &name, flags, mode, &mut last)?;
    // The path the file reports (/proc/PID/fd, maps; Linux computes it from the dentry,
    // `d_path`). A plain path — absolute from the system's root, with no symlink
    // followed, no ".", ".." or "//" — already is that path, so the copy getname made
    // becomes the file's; only other paths are rebuilt from the directories upward
    // (`namei::path_of`, which scans each directory on the way for the name).
    let path = if !followed_link && is_plain(&name) && Arc::ptr_eq(&start.root, &fs::root()) {
        name
    } else {
        open_path(&inode, &parent, &last)
    };
    let file = do_open(inode, flags, path)?;
    let limit = nofile_limit();
    let fd = files()?
        .lock()
        .install(file, 0, limit, flags & O_CLOEXEC != 0)?;
    Ok(fd as usize)
}

/// Is `path` absolute and normalized: no empty, "." or ".." component, no '/' at the
/// end (except "/" itself)?
fn is_plain(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
        && (path.len() == 1
            || path[1..]
                .split(|&b| b == b'/')
                .all(|c| !matches!(c, b"" | b"." | b"..")))
}

/// Walks to the last component of `name` and looks it up — following a final symlink
/// unless O_NOFOLLOW, creating a regular file if O_CREAT and it is missing. Returns the
/// inode and the directory it was found under (its name there left in `last`), for
/// /proc's paths, and whether a symbolic link was followed on the way.
fn open_last(
    start: &Start,
    name: &[u8],
    flags: u32,
    mode: u32,
    last: &mut namei::Name,
) -> KResult<(Arc<Inode>, Arc<Inode>, bool)> {
    let creat = flags & O_CREAT != 0;
    let mut links = 0;
    let (mut dir, mut must_dir, walked_link) = match namei::walk(start, name, Want::Parent, last)? {
        Walked::Parent {
            dir,
            must_be_dir,
            followed_link,
        } => (dir, must_be_dir, followed_link),
        Walked::Inode(_) => return Err(Errno::ENOENT),
    };
    loop {
        // A path ending in ".", ".." or "/" names a directory, never a new file.
        if matches!(&last[..], b"" | b"." | b"..") {
            let inode = match &last[..] {
                b".." => namei::parent_of(&dir, &start.root),
                _ => dir.clone(),
            };
            if creat {
                return Err(Errno::EISDIR);
            }
            return Ok((inode, dir, walked_link || links > 0));
        }
        match namei::lookup_child(&dir, last) {
            Ok(child) => {
                if creat && flags & O_EXCL != 0 {
                    return Err(Errno::EEXIST);
                }
                if namei::is_symlink(&child) && (flags & O_NOFOLLOW == 0 || must_dir) {
                    if magic_pipe(&child).is_some() {
                        return Ok((child, dir, true)); // do_open opens the pipe itself
                    }
                    links += 1;
                    if links > MAXSYMLINKS {
                        return Err(Errno::ELOOP);
                    }
                    let target = namei::read_link(&child)?;
                    let at = Start {
                        root: start.root.clone(),
                        dir: dir.clone(),
                    };
                    let next = namei::lookup_parent(&at, &target)?;
                    must_dir |= next.2;
                    (dir, *last) = (next.0, next.1);
                    continue;
                }
                if must_dir && !child.is_dir() && !namei::is_symlink(&child) {
                    return Err(Errno::ENOTDIR);
                }
                return Ok((child, dir, walked_link || links > 0));
            }
            Err(Errno::ENOENT) if creat => {
                if must_dir {
                    return Err(Errno::EISDIR);
                }
                let perm = mode & S_IALLUGO & !umask_now()?;
                let _ns = tmpfs::lock();
                match tmpfs::create(&dir, last, |p| {
                    Inode::new(&p.sb, S_IFREG | perm, Kind::Regular)
                }) {
                    Ok(inode) => return Ok((inode, dir, walked_link || links > 0)),
                    Err(Errno::EEXIST) => continue, // made meanwhile: open that one
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Linux `do_open` + `vfs_open`: the checks on what was found, O_TRUNC, and the open
/// file with the flags it keeps.
fn do_open(inode: Arc<Inode>, flags: u32, path: Vec<u8>) -> KResult<Arc<File>> {
    let acc = flags & O_ACCMODE;
    let keep = (flags & !(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | crate::fs::file::O_NOCTTY))
        | O_LARGEFILE;
    if flags & O_PATH != 0 {
        if flags & O_DIRECTORY != 0 && !inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        return new_file(
            FileKind::Inode(inode),
            O_PATH | (flags & (O_DIRECTORY | O_NOFOLLOW)),
            path,
        );
    }
    if namei::is_symlink(&inode) {
        if let Some(pipe) = magic_pipe(&inode).filter(|_| flags & O_NOFOLLOW == 0) {
            return reopen_pipe(pipe, flags);
        }
        return Err(Errno::ELOOP); // O_NOFOLLOW on a symlink
    }
    if flags & O_DIRECTORY != 0 && !inode.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if inode.is_dir() && flags & O_CREAT != 0 {
        return Err(Errno::EISDIR);
    }
    if inode.is_dir() && acc != O_RDONLY {
        return Err(Errno::EISDIR);
    }
    if acc == O_ACCMODE {
        return Err(Errno::EINVAL); // the "3" access mode is for ioctl-only opens
    }
    match &inode.kind {
        Kind::Fifo(_) => {
            let (pipe, w_version) = fifo::open(&inode, flags)?;
            new_file(
                FileKind::Fifo {
                    inode,
                    pipe,
                    w_version,
                },
                keep,
                path,
            )
        }
        Kind::CharDev => {
            let rdev = inode.data.lock().rdev;
            if !fs::dev::exists(rdev) {
                return Err(Errno::ENXIO);
            }
            if fs::dev::is_console(rdev) {
                crate::tty::open(rdev, flags & crate::fs::file::O_NOCTTY != 0)?;
            }
            new_file(FileKind::Inode(inode), keep, path)
        }
        // Only a /proc file with a write bit takes writes (/proc/trace).
        Kind::Proc(_) if acc != O_RDONLY && inode.mode() & 0o200 == 0 => Err(Errno::EACCES),
        Kind::Regular => {
            let file = new_file(FileKind::Inode(inode.clone()), keep, path)?;
            // Linux truncates even for O_RDONLY (POSIX leaves it open), but not a
            // running program.
            if flags & O_TRUNC != 0 {
                if inode.is_running() {
                    return Err(Errno::ETXTBSY);
                }
                let _w = inode.rw.lock();
                inode.set_size(0)?;
            }
            Ok(file)
        }
        _ => new_file(FileKind::Inode(inode), keep, path),
    }
}

/// The path an open file reports (/proc/PID/fd, maps): a directory's own, else its
/// directory's plus its name.
fn open_path(inode: &Arc<Inode>, parent: &Arc<Inode>, name: &[u8]) -> Vec<u8> {
    let root = fs::root();
    let mut path = if inode.is_dir() {
        return namei::path_of(inode, &root).unwrap_or_default();
    } else {
        namei::path_of(parent, &root).unwrap_or_default()
    };
    if path.len() + name.len() + 1 > PATH_MAX || path.try_reserve(name.len() + 1).is_err() {
        return Vec::new();
    }
    if path.last() != Some(&b'/') {
        path.push(b'/');
    }
    path.extend_from_slice(name);
    path
}

/// The pipe a /proc/PID/fd/N link stands for, if it stands for one. Linux follows such
/// links to the open file itself (`proc_fd_link`); for files with a path, following the
/// link's text gets there too, but a pipe has no path: bash's process substitution
/// (`<(cmd)`) opens /dev/fd/63 → /proc/self/fd/63, a pipe.
fn magic_pipe(link: &Inode) -> Option<Arc<crate::fs::pipe::Pipe>> {
    let Kind::Proc(node) = &link.kind else {
        return None;
    };
    match &node.magic_file()?.kind {
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) => Some(p.clone()),
        _ => None,
    }
}

/// A new open file on an existing pipe (Linux: `fifo_open` of the pipe's inode), read
/// or write end as the access mode says (O_RDWR is both on Linux; here the read end).
fn reopen_pipe(pipe: Arc<crate::fs::pipe::Pipe>, flags: u32) -> KResult<Arc<File>> {
    use crate::fs::file::{O_NONBLOCK, O_WRONLY};
    let write = flags & O_ACCMODE == O_WRONLY;
    fs::heap_precheck(size_of::<File>() + 16)?;
    pipe.open_end(write);
    let (kind, acc) = if write {
        (FileKind::PipeWrite(pipe), O_WRONLY)
    } else {
        (FileKind::PipeRead(pipe), O_RDONLY)
    };
    Ok(Arc::new(File::new(kind, acc | (flags & O_NONBLOCK))))
}

fn new_file(kind: FileKind, flags: u32, path: Vec<u8>) -> KResult<Arc<File>> {
    fs::heap_precheck(size_of::<File>() + 16)?;
    let file = Arc::new(File::with_path(kind, flags, path));
    if file.writable() {
        file.hold_write_access()?;
    }
    Ok(file)
}

/// mkdirat(2) (Linux `do_mkdirat`).
pub fn mkdirat(dirfd: i32, path: usize, mode: u32) -> KResult<usize> {
    let name = getname(path, false)?;
    let start = start_at(dirfd, &name)?;
    let (dir, last, _) = namei::lookup_parent(&start, &name)?;
    let perm = mode & 0o1777 & !umask_now()?;
    let _ns = tmpfs::lock();
    tmpfs::create(&dir, &last, |p| tmpfs::new_dir(p, perm))?;
    Ok(0)
}

/// mknodat(2) (Linux `do_mknodat`): regular files, FIFOs and character devices (any
/// device number; opening one without a driver is ENXIO). Sockets and block devices:
/// EPERM here (no driver could use them).
pub fn mknodat(dirfd: i32, path: usize, mode: u32, dev: u64) -> KResult<usize> {
    let name = getname(path, false)?;
    let kind = tmpfs::file_type(mode);
    if !matches!(kind, S_IFREG | S_IFIFO | S_IFCHR) {
        return Err(if kind == S_IFDIR {
            Errno::EPERM
        } else {
            Errno::EINVAL
        });
    }
    let start = start_at(dirfd, &name)?;
    let (dir, last, must_dir) = namei::lookup_parent(&start, &name)?;
    if must_dir {
        return Err(Errno::ENOENT);
    }
    let perm = mode & S_IALLUGO & !umask_now()?;
    let _ns = tmpfs::lock();
    let inode = tmpfs::create(&dir, &last, |p| {
        let k = match kind {
            S_IFIFO => Kind::Fifo(fifo::Fifo::new()),
            S_IFCHR => Kind::CharDev,
            _ => Kind::Regular,
        };
        Inode::new(&p.sb, kind | perm, k)
    })?;
    if kind == S_IFCHR {
        // The user's dev_t (new_encode_dev form, as glibc's makedev gives).
        inode.data.lock().rdev = dev;
    }
    Ok(0)
}

/// unlinkat(2) (Linux `do_unlinkat` / `do_rmdir`).
pub fn unlinkat(dirfd: i32, path: usize, flags: u32) -> KResult<usize> {
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let name = getname(path, false)?;
    let start = start_at(dirfd, &name)?;
    let (dir, last, must_dir) = namei::lookup_parent(&start, &name)?;
    let want_dir = flags & AT_REMOVEDIR != 0;
    if must_dir && !want_dir && !matches!(&last[..], b"" | b"." | b"..") {
        // "file/" names a directory: unlink of it is EISDIR if one, else ENOTDIR.
        let child = namei::lookup_child(&dir, &last)?;
        return Err(if child.is_dir() {
            Errno::EISDIR
        } else {
            Errno::ENOTDIR
        });
    }
    let removed = {
        let _ns = tmpfs::lock();
        tmpfs::remove(&dir, &last, want_dir)?
    };
    drop(removed); // its last reference frees its pages, with no lock held
    Ok(0)
}

/// renameat2(2) (Linux `do_renameat2`).
pub fn renameat2(
    olddirfd: i32,
    oldpath: usize,
    newdirfd: i32,
    newpath: usize,
    flags: u32,
) -> KResult<usize> {
    use tmpfs::{RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT};
    if flags & !(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT) != 0
        || (flags & RENAME_EXCHANGE != 0 && flags & (RENAME_NOREPLACE | RENAME_WHITEOUT) != 0)
    {
        return Err(Errno::EINVAL);
    }
    if flags & RENAME_WHITEOUT != 0 {
        return Err(Errno::EINVAL); // whiteouts are for overlay file systems
    }
    let old = getname(oldpath, false)?;
    let new = getname(newpath, false)?;
    let (odir, oname, omust) = namei::lookup_parent(&start_at(olddirfd, &old)?, &old)?;
    let (ndir, nname, nmust) = namei::lookup_parent(&start_at(newdirfd, &new)?, &new)?;
    let replaced = {
        let _ns = tmpfs::lock();
        // A trailing slash requires a directory.
        if omust || nmust {
            let o = namei::lookup_child(&odir, &oname)?;
            if !o.is_dir() {
                return Err(Errno::ENOTDIR);
            }
        }
        tmpfs::rename(&odir, &oname, &ndir, &nname, flags)?
    };
    drop(replaced);
    Ok(0)
}

/// linkat(2) (Linux `do_linkat`): AT_SYMLINK_FOLLOW follows a final symlink of the old
/// name (by default the link itself gets the new name), AT_EMPTY_PATH links a
/// descriptor's file.
pub fn linkat(
    olddirfd: i32,
    oldpath: usize,
    newdirfd: i32,
    newpath: usize,
    flags: u32,
) -> KResult<usize> {
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old = getname(oldpath, flags & AT_EMPTY_PATH != 0)?;
    let new = getname(newpath, false)?;
    let inode = lookup_at(
        olddirfd,
        &old,
        flags & AT_SYMLINK_FOLLOW != 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let (dir, last, must_dir) = namei::lookup_parent(&start_at(newdirfd, &new)?, &new)?;
    if must_dir {
        return Err(if inode.is_dir() {
            Errno::EPERM
        } else {
            Errno::ENOENT
        });
    }
    let _ns = tmpfs::lock();
    tmpfs::link(&dir, &last, &inode)?;
    Ok(0)
}

/// symlinkat(2) (Linux `do_symlinkat`): the target is stored as given (ENOENT if
/// empty), up to PATH_MAX.
pub fn symlinkat(target: usize, newdirfd: i32, linkpath: usize) -> KResult<usize> {
    let target = getname(target, false)?;
    let name = getname(linkpath, false)?;
    let (dir, last, must_dir) = namei::lookup_parent(&start_at(newdirfd, &name)?, &name)?;
    if must_dir {
        return Err(Errno::ENOENT);
    }
    let len = target.len() as u64;
    let _ns = tmpfs::lock();
    let link = tmpfs::create(&dir, &last, |p| {
        Inode::new(&p.sb, S_IFLNK | 0o777, Kind::Symlink(target))
    })?;
    link.data.lock().size = len;
    Ok(0)
}

/// readlinkat(2) (Linux `do_readlinkat`): the target, not NUL-terminated, truncated to
/// the buffer; EINVAL if not a symlink or the size is not positive.
pub fn readlinkat(dirfd: i32, path: usize, buf: usize, size: usize) -> KResult<usize> {
    if (size as isize) <= 0 {
        return Err(Errno::EINVAL);
    }
    let name = getname(path, true)?;
    let inode = lookup_at(dirfd, &name, false, true)?;
    if !namei::is_symlink(&inode) {
        return Err(Errno::EINVAL);
    }
    let target = namei::read_link(&inode)?;
    let n = target.len().min(size);
    UserSlice::new(buf, n)?;
    uaccess::copy_to_user(buf, &target[..n])?;
    Ok(n)
}

const F_OK: u32 = 0;
const X_OK: u32 = 1;

/// faccessat/faccessat2 (Linux `do_faccessat`): everyone is root, so read and write
/// are always allowed; execute needs an x bit somewhere (or a directory).
pub fn faccessat(dirfd: i32, path: usize, mode: u32, flags: u32) -> KResult<usize> {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = getname(path, flags & AT_EMPTY_PATH != 0)?;
    let inode = lookup_at(
        dirfd,
        &name,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    if mode & X_OK != 0 && !inode.is_dir() && inode.mode() & 0o111 == 0 {
        return Err(Errno::EACCES);
    }
    let _ = F_OK;
    Ok(0)
}

/// chmod: the permission bits change, the type stays; ctime now.
fn set_mode(inode: &Inode, mode: u32) -> KResult<usize> {
    if matches!(inode.kind, Kind::Proc(_)) {
        return Err(Errno::EPERM);
    }
    let mut d = inode.data.lock();
    d.mode = (d.mode & !S_IALLUGO) | (mode & S_IALLUGO);
    d.ctime = crate::fs::inode::now();
    Ok(0)
}

pub fn fchmod(fd: i32, mode: u32) -> KResult<usize> {
    let f = file(fd)?;
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    set_mode(f.inode().ok_or(Errno::EINVAL)?, mode)
}

/// fchmodat(2): no flags in the system call (glibc handles AT_SYMLINK_NOFOLLOW).
pub fn fchmodat(dirfd: i32, path: usize, mode: u32) -> KResult<usize> {
    let name = getname(path, false)?;
    set_mode(&*lookup_at(dirfd, &name, true, false)?, mode)
}

/// chown: -1 (u32::MAX) leaves an id as it is; root may give any file away.
fn set_owner(inode: &Inode, uid: u32, gid: u32) -> KResult<usize> {
    if matches!(inode.kind, Kind::Proc(_)) {
        return Err(Errno::EPERM);
    }
    let mut d = inode.data.lock();
    // Linux `chown_common`: a file that is given away loses its set-user-ID bit, and
    // its set-group-ID bit if that one means "run as the group" (group execute set).
    if d.mode & S_IFMT != S_IFDIR {
        d.mode &= !S_ISUID;
        if d.mode & S_IXGRP != 0 {
            d.mode &= !S_ISGID;
        }
    }
    if uid != u32::MAX {
        d.uid = uid;
    }
    if gid != u32::MAX {
        d.gid = gid;
    }
    d.ctime = crate::fs::inode::now();
    Ok(0)
}

pub fn fchown(fd: i32, uid: u32, gid: u32) -> KResult<usize> {
    let f = file(fd)?;
    if f.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    set_owner(f.inode().ok_or(Errno::EINVAL)?, uid, gid)
}

pub fn fchownat(dirfd: i32, path: usize, uid: u32, gid: u32, flags: u32) -> KResult<usize> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let name = getname(path, flags & AT_EMPTY_PATH != 0)?;
    let inode = lookup_at(
        dirfd,
        &name,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    set_owner(&inode, uid, gid)
}

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

/// utimensat(2) (Linux `do_utimes`): times[0] is the access time, times[1] the
/// modification time; NULL means both now; UTIME_NOW and UTIME_OMIT per entry. A NULL
/// path sets the times of `dirfd`'s file.
pub fn utimensat(dirfd: i32, path: usize, times: usize, flags: u32) -> KResult<usize> {
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let mut ts = [(0i64, UTIME_NOW); 2];
    if times != 0 {
        for (i, t) in ts.iter_mut().enumerate() {
            let sec = uaccess::get_user_u64(times + i * 16)? as i64;
            let nsec = uaccess::get_user_u64(times + i * 16 + 8)? as i64;
            if nsec != UTIME_NOW && nsec != UTIME_OMIT && !(0..1_000_000_000).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
            *t = (sec, nsec);
        }
    }
    let inode = if path == 0 {
        if flags & AT_SYMLINK_NOFOLLOW != 0 {
            return Err(Errno::EINVAL);
        }
        lookup_at(dirfd, b"", true, true)?
    } else {
        let name = getname(path, flags & AT_EMPTY_PATH != 0)?;
        lookup_at(
            dirfd,
            &name,
            flags & AT_SYMLINK_NOFOLLOW == 0,
            flags & AT_EMPTY_PATH != 0,
        )?
    };
    if ts.iter().all(|t| t.1 == UTIME_OMIT) {
        return Ok(0);
    }
    let now = crate::fs::inode::now();
    let pick = |(sec, nsec): (i64, i64)| match nsec {
        UTIME_NOW => Some(now),
        UTIME_OMIT => None,
        _ => Some(crate::fs::inode::Timespec { sec, nsec }),
    };
    let mut d = inode.data.lock();
    if let Some(t) = pick(ts[0]) {
        d.atime = t;
    }
    if let Some(t) = pick(ts[1]) {
        d.mtime = t;
    }
    d.ctime = now;
    Ok(0)
}

/// getcwd(2) (Linux `sys_getcwd` → `d_path`): ENOENT if the cwd was removed, ERANGE if
/// the buffer is too small.
pub fn getcwd(buf: usize, size: usize) -> KResult<usize> {
    let (root, cwd) = {
        let fs = fs_struct()?;
        let f = fs.lock();
        (f.root.clone(), f.cwd.clone())
    };
    if cwd.data.lock().nlink == 0 {
        return Err(Errno::ENOENT);
    }
    let path = namei::path_of(&cwd, &root).ok_or(Errno::ENOENT)?;
    let len = path.len() + 1;
    if size < len {
        return Err(Errno::ERANGE);
    }
    UserSlice::new(buf, len)?;
    uaccess::copy_to_user(buf, &path)?;
    uaccess::copy_to_user(buf + len - 1, &[0])?;
    Ok(len)
}

/// The directory `path` names (ENOTDIR if it is something else).
fn dir_at(path: usize) -> KResult<Arc<Inode>> {
    let name = getname(path, false)?;
    let dir = lookup_at(AT_FDCWD, &name, true, false)?;
    if !dir.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(dir)
}

pub fn chdir(path: usize) -> KResult<usize> {
    fs_struct()?.lock().cwd = dir_at(path)?;
    Ok(0)
}

pub fn fchdir(fd: i32) -> KResult<usize> {
    let f = file(fd)?;
    let dir = f.inode().cloned().ok_or(Errno::ENOTDIR)?;
    if !dir.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    fs_struct()?.lock().cwd = dir;
    Ok(0)
}

/// chroot(2): the process's "/" becomes `path` (the cwd stays, as on Linux).
pub fn chroot(path: usize) -> KResult<usize> {
    fs_struct()?.lock().root = dir_at(path)?;
    Ok(0)
}

pub fn umask(mask: u32) -> KResult<usize> {
    let fs = fs_struct()?;
    let mut f = fs.lock();
    let old = f.umask;
    f.umask = mask & 0o777;
    Ok(old as usize)
}

/// truncate(2): like ftruncate, by name (EISDIR for a directory).
pub fn truncate(path: usize, len: i64) -> KResult<usize> {
    let name = getname(path, false)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    let inode = lookup_at(AT_FDCWD, &name, true, false)?;
    if inode.is_dir() {
        return Err(Errno::EISDIR);
    }
    if !matches!(inode.kind, Kind::Regular) {
        return Err(Errno::EINVAL);
    }
    if inode.is_running() {
        return Err(Errno::ETXTBSY);
    }
    let _w = inode.rw.lock();
    inode.set_size(len as u64)?;
    Ok(0)
}

const MS_RDONLY: u64 = 1;
const MS_REMOUNT: u64 = 32;
const MS_BIND: u64 = 4096;
const MNT_FORCE: u32 = 1;
const MNT_DETACH: u32 = 2;
const MNT_EXPIRE: u32 = 4;
const UMOUNT_NOFOLLOW: u32 = 8;

/// mount(2) (Linux `do_new_mount`), for the two file systems there are: tmpfs and
/// proc, each mounted fresh on a directory. ENODEV for another type; remounts and bind
/// mounts are not supported (EINVAL).
pub fn mount(
    source: usize,
    target: usize,
    fstype: usize,
    flags: u64,
    data: usize,
) -> KResult<usize> {
    let _ = (source, data);
    let dir_name = getname(target, false)?;
    if flags & (MS_REMOUNT | MS_BIND) != 0 {
        return Err(Errno::EINVAL);
    }
    let _ = MS_RDONLY;
    let ty = getname(fstype, false)?;
    let dir = lookup_at(AT_FDCWD, &dir_name, true, false)?;
    if !dir.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let (root, source, fstype) = match &ty[..] {
        b"tmpfs" => (initramfs::new_tmpfs(0o1777)?, "none", "tmpfs"),
        b"proc" => (initramfs::new_proc()?, "proc", "proc"),
        _ => return Err(Errno::ENODEV),
    };
    let _ns = tmpfs::lock();
    mount::mount(Some(dir), root, source, fstype)?;
    Ok(0)
}

/// umount2(2) (Linux `ksys_umount`): `target` must be the root of a mount (EINVAL);
/// EBUSY while a process has its cwd or root or an open file in it, or something is
/// mounted inside (MNT_DETACH, a lazy unmount, is not supported).
pub fn umount2(target: usize, flags: u32) -> KResult<usize> {
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0
        || (flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0)
    {
        return Err(Errno::EINVAL);
    }
    let name = getname(target, false)?;
    let root = lookup_at(AT_FDCWD, &name, flags & UMOUNT_NOFOLLOW == 0, false)?;
    if mount::mountpoint_of(&root).is_none() {
        return Err(Errno::EINVAL);
    }
    let detach = flags & MNT_DETACH != 0;
    if !detach && fs_in_use(&root.sb) {
        return Err(Errno::EBUSY);
    }
    let gone = {
        let _ns = tmpfs::lock();
        mount::umount(&root, detach)?
    };
    drop(gone);
    Ok(0)
}

/// Does any process have its root, cwd or an open file in the file system `sb`?
fn fs_in_use(sb: &Arc<crate::fs::inode::SuperBlock>) -> bool {
    let on = |i: &Arc<Inode>| Arc::ptr_eq(&i.sb, sb);
    let tasks = crate::task::sched::TASKS.lock();
    tasks.values().any(|t| {
        let (fs, files) = {
            let inner = t.inner.lock();
            (inner.fs.clone(), inner.files.clone())
        };
        fs.is_some_and(|f| {
            let f = f.lock();
            on(&f.cwd) || on(&f.root)
        }) || files.is_some_and(|t| {
            t.lock()
                .open_files()
                .any(|(_, f)| f.inode().is_some_and(on))
        })
    })
}

/// sync(2): nothing is cached on its way to a disk here.
pub fn sync() -> KResult<usize> {
    Ok(0)
}
