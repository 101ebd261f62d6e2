//! System calls on descriptors (Linux fs/read_write.c, fs/file.c, fs/fcntl.c,
//! fs/ioctl.c, fs/pipe.c `do_pipe2`, fs/readdir.c, fs/sync.c): reading and writing at
//! the file offset or a given one, scattered (iovecs) or not; the descriptor table
//! (dup, fcntl, close_range) up to RLIMIT_NOFILE; directories listed with getdents64.
//! Name-based calls are in syscall/path.rs, stat and statfs in syscall/stat.rs.

use crate::sync::ordered::OrderedMutex;
use alloc::sync::Arc;

use crate::error::{Errno, KResult};
use crate::fs::file::{self as vfs, O_APPEND, O_RDONLY, O_WRONLY, SETFL_MASK};
use crate::fs::inode::{Inode, Kind};
use crate::fs::lock::{self, F_RDLCK, F_UNLCK, F_WRLCK, PosixLock};
use crate::fs::pipe::{self, Pipe};
use crate::fs::{
    self, FdTable, File, FileKind, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_NOTIFICATION_PIPE, Sink,
    Source,
};
use crate::mm::uaccess::{self, UserSlice};
use crate::task::rlimit::{NR_OPEN, RLIMIT_NOFILE};
use crate::task::sched::current;

const SIGPIPE: u32 = 13;
/// The most one read or write transfers (Linux MAX_RW_COUNT: INT_MAX & PAGE_MASK).
pub(super) const MAX_RW_COUNT: usize = 0x7fff_f000;
/// The most iovecs readv/writev take (UIO_MAXIOV).
const UIO_MAXIOV: usize = 1024;

pub(super) fn files() -> KResult<Arc<OrderedMutex<FdTable>>> {
    current().inner.lock().files.clone().ok_or(Errno::EBADF)
}

pub(super) fn file(fd: i32) -> KResult<Arc<File>> {
    files()?.lock().get(fd)
}

/// The caller's RLIMIT_NOFILE: descriptors must stay below it.
pub(super) fn nofile_limit() -> usize {
    current().rlimit(RLIMIT_NOFILE).cur.min(NR_OPEN) as usize
}

/// A user buffer as the source of a write or the sink of a read: copies go straight
/// between user memory and the file's pages (or a pipe's).
pub(super) struct UserBuf {
    addr: usize,
    len: usize,
    pos: usize,
}

impl UserBuf {
    pub(super) fn new(s: UserSlice) -> UserBuf {
        UserBuf {
            addr: s.addr(),
            len: s.len().min(MAX_RW_COUNT),
            pos: 0,
        }
    }
}

impl Source for UserBuf {
    fn remaining(&self) -> usize {
        self.len - self.pos
    }
    fn read_into(&mut self, dst: &mut [u8]) -> KResult<()> {
        uaccess::copy_from_user(dst, self.addr + self.pos)?;
        self.pos += dst.len();
        Ok(())
    }
}

impl Sink for UserBuf {
    fn remaining(&self) -> usize {
        self.len - self.pos
    }
    fn write_from(&mut self, src: &[u8]) -> KResult<()> {
        uaccess::copy_to_user(self.addr + self.pos, src)?;
        self.pos += src.len();
        Ok(())
    }
}

/// SIGPIPE for the writing thread (Linux `pipe_write`: `send_sig(SIGPIPE, current, 0)`);
/// its default action kills the process.
fn sigpipe() {
    let me = current();
    let info = crate::task::signal::SigInfo::user(SIGPIPE, crate::task::signal::SI_USER, me.tgid);
    let _ = crate::task::signal::send_to_thread(me.tid, info);
}

/// read(2) (Linux `ksys_read`): EBADF unless open for reading, EFAULT for a buffer
/// outside user space.
pub fn read(fd: i32, buf: usize, len: usize) -> KResult<usize> {
    let f = file(fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let dst = UserSlice::new(buf, len)?;
    vfs::read(&f, &mut UserBuf::new(dst), None)
}

/// write(2) (Linux `ksys_write`).
pub fn write(fd: i32, buf: usize, len: usize) -> KResult<usize> {
    let f = file(fd)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let src = UserSlice::new(buf, len)?;
    vfs::write(&f, &mut UserBuf::new(src), None, &mut sigpipe)
}

/// Linux `rw_verify_area` for pread/pwrite: a negative offset is EINVAL; pipes and
/// other streams are ESPIPE (the file layer says).
fn offset(off: i64) -> KResult<Option<u64>> {
    if off < 0 {
        return Err(Errno::EINVAL);
    }
    Ok(Some(off as u64))
}

pub fn pread64(fd: i32, buf: usize, len: usize, off: i64) -> KResult<usize> {
    let f = file(fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let dst = UserSlice::new(buf, len)?;
    stream_check(&f)?;
    vfs::read(&f, &mut UserBuf::new(dst), offset(off)?)
}

pub fn pwrite64(fd: i32, buf: usize, len: usize, off: i64) -> KResult<usize> {
    let f = file(fd)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let src = UserSlice::new(buf, len)?;
    stream_check(&f)?;
    vfs::write(&f, &mut UserBuf::new(src), offset(off)?, &mut sigpipe)
}

/// Positioned I/O on a stream (pipe, FIFO, terminal) is ESPIPE before anything else.
fn stream_check(f: &File) -> KResult<()> {
    match &f.kind {
        FileKind::Inode(i) if !matches!(i.kind, Kind::CharDev) || !is_tty(i) => Ok(()),
        _ => Err(Errno::ESPIPE),
    }
}

fn is_tty(inode: &Inode) -> bool {
    fs::dev::is_console(inode.data.lock().rdev)
}

/// The `i`th `struct iovec` of a user array.
fn get_iovec(iov: usize, i: usize) -> KResult<(usize, usize)> {
    let at = i
        .checked_mul(16)
        .and_then(|o| iov.checked_add(o))
        .ok_or(Errno::EFAULT)?;
    let base = uaccess::get_user_u64(at)? as usize;
    let len = uaccess::get_user_u64(at + 8)? as usize;
    Ok((base, len))
}

/// The segments of a readv or writev as one source or sink (Linux `iov_iter`): a pipe
/// write is one `pipe_write`, a file write one pass over the pages.
struct IovIter {
    iov: usize,
    count: usize,
    /// Current segment, its length and how far into it we are.
    seg: usize,
    base: usize,
    seg_len: usize,
    off: usize,
    remaining: usize,
}

impl IovIter {
    /// Linux `import_iovec`: at most UIO_MAXIOV segments (EINVAL), every iovec readable
    /// and no length negative, in order, then every range in user space (EFAULT); the
    /// total is clamped to MAX_RW_COUNT.
    fn new(iov: usize, iovcnt: usize) -> KResult<IovIter> {
        if iovcnt > UIO_MAXIOV {
            return Err(Errno::EINVAL);
        }
        for i in 0..iovcnt {
            if (get_iovec(iov, i)?.1 as isize) < 0 {
                return Err(Errno::EINVAL);
            }
        }
        let mut total = 0usize;
        for i in 0..iovcnt {
            let (base, len) = get_iovec(iov, i)?;
            UserSlice::new(base, len)?;
            total += len.min(MAX_RW_COUNT - total);
        }
        let mut it = IovIter {
            iov,
            count: iovcnt,
            seg: 0,
            base: 0,
            seg_len: 0,
            off: 0,
            remaining: total,
        };
        if iovcnt > 0 {
            (it.base, it.seg_len) = get_iovec(iov, 0)?;
        }
        Ok(it)
    }

    /// Runs `copy(user address, range of the kernel buffer)` piece by piece over `len`
    /// bytes. (The iovec is read again: another thread may have changed it.)
    fn each(
        &mut self,
        len: usize,
        mut copy: impl FnMut(usize, core::ops::Range<usize>) -> KResult<()>,
    ) -> KResult<()> {
        let mut done = 0;
        while done < len {
            while self.off == self.seg_len {
                self.seg += 1;
                if self.seg >= self.count {
                    return Err(Errno::EFAULT);
                }
                let (base, seg_len) = get_iovec(self.iov, self.seg)?;
                (self.base, self.seg_len, self.off) = (base, seg_len, 0);
            }
            let n = (self.seg_len - self.off).min(len - done);
            let at = self.base.checked_add(self.off).ok_or(Errno::EFAULT)?;
            copy(at, done..done + n)?;
            self.off += n;
            done += n;
        }
        self.remaining -= len;
        Ok(())
    }
}

impl IovIter {
    /// Bytes left in the current segment, or in the next non-empty one.
    fn segment_left(&self) -> usize {
        let mut left = self.seg_len - self.off;
        let mut seg = self.seg;
        while left == 0 && seg + 1 < self.count {
            seg += 1;
            left = get_iovec(self.iov, seg).map_or(self.remaining, |(_, len)| len);
        }
        left.min(self.remaining).max(1.min(self.remaining))
    }
}

impl Source for IovIter {
    fn remaining(&self) -> usize {
        self.remaining
    }
    fn contiguous(&self) -> usize {
        self.segment_left()
    }
    fn read_into(&mut self, dst: &mut [u8]) -> KResult<()> {
        let len = dst.len();
        self.each(len, |at, r| uaccess::copy_from_user(&mut dst[r], at))
    }
}

impl Sink for IovIter {
    fn remaining(&self) -> usize {
        self.remaining
    }
    fn contiguous(&self) -> usize {
        self.segment_left()
    }
    fn write_from(&mut self, src: &[u8]) -> KResult<()> {
        self.each(src.len(), |at, r| uaccess::copy_to_user(at, &src[r]))
    }
}

/// preadv/pwritev's offset, checked (ESPIPE for a stream, EINVAL if negative).
fn at_offset(f: &File, at: Option<i64>) -> KResult<Option<u64>> {
    match at {
        Some(off) => {
            stream_check(f)?;
            offset(off)
        }
        None => Ok(None),
    }
}

/// readv/preadv (`at`: the offset of preadv).
pub fn readv(fd: i32, iov: usize, iovcnt: usize, at: Option<i64>) -> KResult<usize> {
    let f = file(fd)?;
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    let mut it = IovIter::new(iov, iovcnt)?;
    let at = at_offset(&f, at)?;
    vfs::read(&f, &mut it, at)
}

/// writev/pwritev.
pub fn writev(fd: i32, iov: usize, iovcnt: usize, at: Option<i64>) -> KResult<usize> {
    let f = file(fd)?;
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    let mut it = IovIter::new(iov, iovcnt)?;
    let at = at_offset(&f, at)?;
    vfs::write(&f, &mut it, at, &mut sigpipe)
}

const SEEK_SET: u32 = 0;
const SEEK_CUR: u32 = 1;
const SEEK_END: u32 = 2;
const SEEK_DATA: u32 = 3;
const SEEK_HOLE: u32 = 4;

/// lseek(2) (Linux `generic_file_llseek`, tmpfs's `shmem_file_llseek` for SEEK_DATA and
/// SEEK_HOLE, `dcache_dir_lseek` for directories): a negative result is EINVAL; pipes,
/// FIFOs and terminals are ESPIPE; /dev/null and friends always answer 0.
pub fn lseek(fd: i32, off: i64, whence: u32) -> KResult<usize> {
    let f = file(fd)?;
    let inode = match &f.kind {
        FileKind::Inode(i) => i.clone(),
        _ => return Err(Errno::ESPIPE),
    };
    if whence > SEEK_HOLE {
        return Err(Errno::EINVAL);
    }
    match &inode.kind {
        Kind::CharDev if is_tty(&inode) => return Err(Errno::ESPIPE),
        Kind::CharDev => return Ok(0),
        _ => {}
    }
    let _pos = f.lock_pos();
    let size = inode.size() as i64;
    let new = match whence {
        SEEK_SET => Some(off),
        SEEK_CUR => (f.pos() as i64).checked_add(off),
        SEEK_END if inode.is_dir() => return Err(Errno::EINVAL),
        SEEK_END => size.checked_add(off),
        // SEEK_DATA: the next byte that is not in a hole; SEEK_HOLE: the next hole (the
        // end of the file counts as one). ENXIO at or past the end.
        _ => {
            if !matches!(inode.kind, Kind::Regular) || off < 0 || off >= size {
                return Err(Errno::ENXIO);
            }
            let page = fs::page_cache::PAGE_SIZE_U64;
            let d = inode.data.lock();
            let mut at = off as u64;
            if whence == SEEK_DATA {
                match d.pages.next_present((at / page) as usize) {
                    Some(i) => at = at.max(i as u64 * page),
                    None => return Err(Errno::ENXIO),
                }
            } else {
                while at < size as u64 && d.pages.lookup((at / page) as usize).is_some() {
                    at = (at / page + 1) * page;
                }
            }
            Some(at.min(size as u64) as i64)
        }
    };
    match new {
        Some(p) if p >= 0 => {
            f.set_pos(p as u64);
            Ok(p as usize)
        }
        _ => Err(Errno::EINVAL),
    }
}

/// The lock owner of a descriptor table (Linux `fl_owner`: the `files_struct`).
fn lock_owner(table: &Arc<OrderedMutex<FdTable>>) -> usize {
    table.lock().lock_owner()
}

/// Closing any descriptor of a file drops the process's locks on it (POSIX).
fn closed(table: &Arc<OrderedMutex<FdTable>>, f: Arc<File>) {
    if let Some(inode) = f.inode() {
        lock::release(lock_owner(table), Arc::as_ptr(inode) as usize);
    }
    drop(f); // outside the table lock: closing a pipe end wakes its peers
}

pub fn close(fd: i32) -> KResult<usize> {
    let table = files()?;
    let f = table.lock().remove(fd)?;
    closed(&table, f);
    Ok(0)
}

const CLOSE_RANGE_UNSHARE: u32 = 2;
const CLOSE_RANGE_CLOEXEC: u32 = 4;

/// close_range(2) (Linux `__close_range`): closes (or, with CLOSE_RANGE_CLOEXEC, marks
/// close-on-exec) the descriptors `first..=last`. CLOSE_RANGE_UNSHARE is accepted: the
/// table stays shared (there is no unshare(2) here yet).
pub fn close_range(first: u32, last: u32, flags: u32) -> KResult<usize> {
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    let table = files()?;
    let mut fd = first as usize;
    loop {
        let next = {
            let mut t = table.lock();
            if flags & CLOSE_RANGE_CLOEXEC != 0 {
                t.set_cloexec_range(first as usize, last as usize);
                None
            } else {
                t.take_open_in(fd, last as usize)
            }
        };
        match next {
            Some((at, f)) => {
                closed(&table, f);
                fd = at + 1;
            }
            None => return Ok(0),
        }
    }
}

/// dup(2): the lowest free descriptor, without close-on-exec; EBADF, then EMFILE.
pub fn dup(fd: u32) -> KResult<usize> {
    let limit = nofile_limit();
    let table = files()?;
    let mut t = table.lock();
    let f = t.get(fd as i32)?;
    t.install(f, 0, limit, false).map(|fd| fd as usize)
}

/// dup3(2) (Linux `ksys_dup3`): EINVAL for unknown flags or old == new, EBADF for a new
/// descriptor at or above RLIMIT_NOFILE, then for an old one that is not open.
pub fn dup3(old: u32, new: u32, flags: u32) -> KResult<usize> {
    if flags & !O_CLOEXEC != 0 || old == new {
        return Err(Errno::EINVAL);
    }
    let limit = nofile_limit();
    let table = files()?;
    let replaced = table
        .lock()
        .dup_to(old as i32, new, limit, flags & O_CLOEXEC != 0)?;
    if let Some(f) = replaced {
        closed(&table, f);
    }
    Ok(new as usize)
}

const F_DUPFD: u32 = 0;
const F_GETFD: u32 = 1;
const F_SETFD: u32 = 2;
const F_GETFL: u32 = 3;
const F_SETFL: u32 = 4;
const F_GETLK: u32 = 5;
const F_SETLK: u32 = 6;
const F_SETLKW: u32 = 7;
const F_DUPFD_CLOEXEC: u32 = 1030;
const F_GETPIPE_SZ: u32 = 1032;
const FD_CLOEXEC: usize = 1;

/// fcntl(2) (Linux `do_fcntl`).
pub fn fcntl(fd: i32, cmd: u32, arg: usize) -> KResult<usize> {
    let table = files()?;
    let f = table.lock().get(fd)?;
    // An O_PATH descriptor allows only the descriptor commands (Linux `check_fcntl_cmd`).
    if f.flags() & vfs::O_PATH != 0
        && !matches!(cmd, F_DUPFD | F_DUPFD_CLOEXEC | F_GETFD | F_SETFD | F_GETFL)
    {
        return Err(Errno::EBADF);
    }
    match cmd {
        F_DUPFD | F_DUPFD_CLOEXEC => {
            let limit = nofile_limit();
            if arg >= limit {
                return Err(Errno::EINVAL);
            }
            let fd = table
                .lock()
                .install(f, arg, limit, cmd == F_DUPFD_CLOEXEC)?;
            Ok(fd as usize)
        }
        F_GETFD => Ok(table.lock().entry(fd)?.cloexec as usize),
        F_SETFD => {
            table.lock().set_cloexec(fd, arg & FD_CLOEXEC != 0)?;
            Ok(0)
        }
        F_GETFL => Ok(f.flags() as usize),
        F_SETFL => {
            let arg = arg as u32;
            // Linux `setfl`: O_APPEND cannot be cleared on an append-only inode (none
            // here); O_DIRECT is refused by files that cannot do it (pipes can).
            let flags = (f.flags() & !SETFL_MASK) | (arg & SETFL_MASK);
            f.set_flags(flags);
            Ok(0)
        }
        F_GETLK | F_SETLK | F_SETLKW => posix_lock(&table, &f, cmd, arg),
        F_GETPIPE_SZ => match &f.kind {
            FileKind::PipeRead(_) | FileKind::PipeWrite(_) | FileKind::Fifo { .. } => {
                Ok(pipe::PIPE_DEF_BUFFERS * crate::mm::frame::PAGE_SIZE)
            }
            _ => Err(Errno::EBADF),
        },
        _ => Err(Errno::EINVAL),
    }
}

/// F_GETLK, F_SETLK, F_SETLKW: `struct flock` is { short l_type; short l_whence;
/// off_t l_start; off_t l_len; pid_t l_pid; } — 32 bytes on arm64.
fn posix_lock(
    table: &Arc<OrderedMutex<FdTable>>,
    f: &File,
    cmd: u32,
    arg: usize,
) -> KResult<usize> {
    let mut fl = [0u8; 32];
    uaccess::copy_from_user(&mut fl, arg)?;
    let ty = u16::from_le_bytes([fl[0], fl[1]]);
    let whence = u16::from_le_bytes([fl[2], fl[3]]) as u32;
    let start = i64::from_le_bytes(fl[8..16].try_into().unwrap_or_default());
    let len = i64::from_le_bytes(fl[16..24].try_into().unwrap_or_default());
    let Some(inode) = f.inode().filter(|i| matches!(i.kind, Kind::Regular)) else {
        return Err(Errno::EINVAL);
    };
    if ty > F_UNLCK {
        return Err(Errno::EINVAL);
    }
    // Linux `flock_to_posix_lock`: the range from whence, start and len.
    let base = match whence {
        SEEK_SET => 0,
        SEEK_CUR => f.pos() as i64,
        SEEK_END => inode.size() as i64,
        _ => return Err(Errno::EINVAL),
    };
    let start = base.checked_add(start).ok_or(Errno::EOVERFLOW)?;
    let (first, last) = match len {
        0 => (start, i64::MAX),
        l if l > 0 => (start, start.checked_add(l - 1).ok_or(Errno::EOVERFLOW)?),
        l => (start.checked_add(l).ok_or(Errno::EINVAL)?, start - 1),
    };
    if first < 0 {
        return Err(Errno::EINVAL);
    }
    let req = PosixLock {
        file: Arc::as_ptr(inode) as usize,
        owner: lock_owner(table),
        pid: current().tgid,
        ty,
        start: first as u64,
        end: last as u64,
    };
    if cmd == F_GETLK {
        if ty == F_UNLCK {
            return Err(Errno::EINVAL);
        }
        match lock::test(&req) {
            None => fl[0..2].copy_from_slice(&F_UNLCK.to_le_bytes()),
            Some(l) => {
                fl[0..2].copy_from_slice(&l.ty.to_le_bytes());
                fl[2..4].copy_from_slice(&0u16.to_le_bytes());
                fl[8..16].copy_from_slice(&(l.start as i64).to_le_bytes());
                let len = if l.end == i64::MAX as u64 {
                    0
                } else {
                    l.end - l.start + 1
                };
                fl[16..24].copy_from_slice(&(len as i64).to_le_bytes());
                fl[24..28].copy_from_slice(&l.pid.to_le_bytes());
            }
        }
        uaccess::copy_to_user(arg, &fl)?;
        return Ok(0);
    }
    // A read lock needs the file open for reading, a write lock for writing.
    match ty {
        F_RDLCK if !f.readable() => return Err(Errno::EBADF),
        F_WRLCK if !f.writable() => return Err(Errno::EBADF),
        _ => {}
    }
    lock::set(req, cmd == F_SETLKW)?;
    Ok(0)
}

/// pipe2(2) (Linux `do_pipe2`): flags first (O_NOTIFICATION_PIPE needs watch queues,
/// which Debian's 6.1 arm64 kernel is built without: ENOPKG), then two descriptors
/// reserved (EMFILE), copied out (EFAULT: nothing installed), installed.
pub fn pipe2(fds: usize, flags: u32) -> KResult<usize> {
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_DIRECT | O_NOTIFICATION_PIPE) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & O_NOTIFICATION_PIPE != 0 {
        return Err(Errno::ENOPKG);
    }
    // The pipe and its two files, with their reference counts (ArcInner).
    fs::heap_precheck(size_of::<Pipe>() + 2 * size_of::<File>() + 3 * 16)?;
    let pipe = Arc::new(Pipe::new(&pipe::FRAME_PAGES));
    let read_end = Arc::new(File::new(
        FileKind::PipeRead(pipe.clone()),
        O_RDONLY | (flags & O_NONBLOCK),
    ));
    let write_end = Arc::new(File::new(
        FileKind::PipeWrite(pipe),
        O_WRONLY | (flags & (O_NONBLOCK | O_DIRECT)),
    ));
    let limit = nofile_limit();
    let table = files()?;
    let (r, w) = {
        let mut t = table.lock();
        let r = t.reserve(0, limit)?;
        match t.reserve(0, limit) {
            Ok(w) => (r, w),
            Err(e) => {
                t.unreserve(r);
                return Err(e);
            }
        }
    };
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&r.to_le_bytes());
    out[4..].copy_from_slice(&w.to_le_bytes());
    let copied = uaccess::copy_to_user(fds, &out);
    let mut t = table.lock();
    if copied.is_err() {
        t.unreserve(r);
        t.unreserve(w);
        return Err(Errno::EFAULT); // the files are dropped after the lock
    }
    let cloexec = flags & O_CLOEXEC != 0;
    t.install_reserved(r, read_end, cloexec);
    t.install_reserved(w, write_end, cloexec);
    Ok(0)
}

const FIONREAD: u32 = 0x541b;
const FIONBIO: u32 = 0x5421;
const FIONCLEX: u32 = 0x5450;
const FIOCLEX: u32 = 0x5451;

fn is_console_file(f: &File) -> bool {
    match &f.kind {
        FileKind::Console => true,
        FileKind::Inode(i) => matches!(i.kind, Kind::CharDev) && is_tty(i),
        _ => false,
    }
}

/// ioctl(2) (Linux `do_vfs_ioctl`, then the file's own): the generic FIOCLEX, FIONCLEX,
/// FIONBIO and FIONREAD (regular files: bytes from the offset to the end; pipes: bytes
/// buffered; the terminal: what a read could return), then the terminal's own (tty/).
pub fn ioctl(fd: i32, request: u32, arg: usize) -> KResult<usize> {
    let table = files()?;
    let f = table.lock().get(fd)?;
    if f.flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    match request {
        FIOCLEX | FIONCLEX => {
            table.lock().set_cloexec(fd, request == FIOCLEX)?;
            return Ok(0);
        }
        FIONBIO => {
            let on = uaccess::get_user_u32(arg)? != 0;
            let flags = f.flags() & !O_NONBLOCK;
            f.set_flags(if on { flags | O_NONBLOCK } else { flags });
            return Ok(0);
        }
        FIONREAD => {
            let n = match &f.kind {
                FileKind::PipeRead(p) | FileKind::PipeWrite(p) | FileKind::Fifo { pipe: p, .. } => {
                    p.bytes_ready() as u64
                }
                FileKind::Inode(i) if matches!(i.kind, Kind::Regular) => {
                    i.size().saturating_sub(f.pos())
                }
                FileKind::Inode(i) if i.is_dir() => return Err(Errno::ENOTTY),
                _ if is_console_file(&f) => crate::tty::readable_bytes() as u64,
                _ => return Err(Errno::ENOTTY),
            };
            uaccess::put_user_u32(arg, n.min(i32::MAX as u64) as u32)?;
            return Ok(0);
        }
        _ => {}
    }
    if !is_console_file(&f) {
        return Err(Errno::ENOTTY);
    }
    crate::tty::ioctl(request, arg)
}

/// getdents64(2) (Linux fs/readdir.c, `dcache_readdir`): fills `buf` with `struct
/// linux_dirent64` records { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; name, NUL }
/// each padded to 8 bytes, from the directory's position on: "." and ".." first, then
/// the entries. EINVAL if not even one record fits.
pub fn getdents64(fd: i32, buf: usize, len: usize) -> KResult<usize> {
    let f = file(fd)?;
    let Some(dir) = f.inode().filter(|i| i.is_dir()).cloned() else {
        return Err(Errno::ENOTDIR);
    };
    if f.flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    UserSlice::new(buf, len)?;
    let _pos = f.lock_pos();
    let written = core::cell::Cell::new(0usize);
    let pos = core::cell::Cell::new(f.pos());
    let fault = core::cell::Cell::new(false);
    // Records are built in `kbuf` and copied out a buffer at a time (Linux `filldir64`
    // writes each record with unsafe_put_user; a copy here costs per call, so records
    // are batched). `flush` copies what is pending; on a fault the pending records are
    // dropped and the offset goes back to the first of them.
    let mut kbuf = [0u8; DIRENT_BATCH];
    let pending = core::cell::Cell::new(0usize);
    let batch_pos = core::cell::Cell::new(f.pos());
    let flush = |kbuf: &[u8; DIRENT_BATCH]| -> bool {
        let n = pending.get();
        if n > 0 && uaccess::copy_to_user(buf + written.get(), &kbuf[..n]).is_err() {
            fault.set(true);
            pos.set(batch_pos.get());
            pending.set(0);
            return false;
        }
        written.set(written.get() + n);
        pending.set(0);
        batch_pos.set(pos.get());
        true
    };
    // Adds one record; false when it does not fit in the user's buffer (or a fault
    // happened).
    let add = |kbuf: &mut [u8; DIRENT_BATCH], name: &[u8], ino: u64, dtype: u8, next: u64| {
        let reclen = dirent_reclen(name);
        if fault.get() || written.get() + pending.get() + reclen > len {
            return false;
        }
        if pending.get() + reclen > DIRENT_BATCH && !flush(kbuf) {
            return false;
        }
        let rec = &mut kbuf[pending.get()..pending.get() + reclen];
        rec[0..8].copy_from_slice(&ino.to_le_bytes());
        rec[8..16].copy_from_slice(&next.to_le_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
        rec[18] = dtype;
        rec[19..19 + name.len()].copy_from_slice(name);
        rec[19 + name.len()..].fill(0);
        pending.set(pending.get() + reclen);
        pos.set(next);
        true
    };
    match &dir.kind {
        // A tmpfs directory (Linux `dcache_readdir`): "." and "..", then as many
        // entries as fit, taken under the directory's lock a batch at a time — the
        // records are written into `kbuf` under it (no user memory is touched under the
        // lock, so no fault can happen while it is held), then copied out without it.
        Kind::Dir(d) => {
            let mut at = f.pos();
            if at < 2 {
                list_dir_dots(&dir, at, &mut |name, ino, dt, next| {
                    add(&mut kbuf, name, ino, dt, next)
                })?;
                at = pos.get();
            }
            while at >= 2 && !fault.get() {
                let (more, full) = {
                    let d = d.lock();
                    let mut entries = d.entries_from(at);
                    let mut full = false;
                    for e in entries.by_ref() {
                        if pending.get() + dirent_reclen(&e.name) > DIRENT_BATCH {
                            break; // the batch is full: copy it out unlocked
                        }
                        if !add(
                            &mut kbuf,
                            &e.name,
                            e.inode.ino,
                            dtype(&e.inode),
                            e.cookie + 1,
                        ) {
                            full = true; // the user's buffer is
                            break;
                        }
                    }
                    (pending.get() > 0, full)
                };
                if !more || !flush(&kbuf) || full {
                    break;
                }
                at = pos.get();
            }
        }
        _ => {
            list_dir(&dir, f.pos(), &mut |name, ino, dt, next| {
                add(&mut kbuf, name, ino, dt, next)
            })?;
        }
    }
    flush(&kbuf);
    if fault.get() && written.get() == 0 {
        return Err(Errno::EFAULT);
    }
    if written.get() == 0 && !dir_at_end(&dir, pos.get())? {
        return Err(Errno::EINVAL);
    }
    f.set_pos(pos.get());
    Ok(written.get())
}

/// The size of a `struct linux_dirent64` for `name`: 19 bytes of header, the name, its
/// NUL, rounded up to 8.
fn dirent_reclen(name: &[u8]) -> usize {
    (19 + name.len() + 1).next_multiple_of(8)
}

/// getdents64 builds its records in a buffer of this size on the stack and copies them
/// out a buffer at a time.
const DIRENT_BATCH: usize = 1024;

/// Is a listing at `pos` finished?
fn dir_at_end(dir: &Arc<Inode>, pos: u64) -> KResult<bool> {
    let mut more = false;
    list_dir(dir, pos, &mut |_, _, _, _| {
        more = true;
        false
    })?;
    Ok(!more)
}

/// `d_type` of a file type (`S_IFMT >> 12`, Linux `fs_umode_to_dtype`).
pub(super) fn dtype(inode: &Inode) -> u8 {
    (inode.file_type() >> 12) as u8
}

/// Emits "." (at `pos` 0) and ".." (at `pos` 0 or 1) of `dir`; false if `emit` refused
/// one.
fn list_dir_dots(dir: &Arc<Inode>, pos: u64, emit: &mut crate::fs::procfs::Emit) -> KResult<bool> {
    if pos == 0 && !emit(b".", dir.ino, 4, 1) {
        return Ok(false);
    }
    let parent = {
        let root = super::path::fs_root()?;
        fs::namei::parent_of(dir, &root)
    };
    Ok(emit(b"..", parent.ino, 4, 2))
}

/// Lists `dir` from `pos` (0 ".", 1 "..", then entry cookies), copying nothing under
/// its lock: entries are taken in small batches.
pub(super) fn list_dir(
    dir: &Arc<Inode>,
    mut pos: u64,
    emit: &mut crate::fs::procfs::Emit,
) -> KResult<()> {
    if pos < 2 && !list_dir_dots(dir, pos, emit)? {
        return Ok(());
    }
    pos = pos.max(2);
    match &dir.kind {
        Kind::Dir(d) => loop {
            // One entry at a time: its name copied out under the directory's lock,
            // then written to user memory with no lock held.
            let next = {
                let d = d.lock();
                d.entries_from(pos).next().map(|e| {
                    let mut name = [0u8; fs::NAME_MAX];
                    name[..e.name.len()].copy_from_slice(&e.name);
                    (name, e.name.len(), e.inode.clone(), e.cookie)
                })
            };
            let Some((name, n, inode, cookie)) = next else {
                return Ok(());
            };
            if !emit(&name[..n], inode.ino, dtype(&inode), cookie + 1) {
                return Ok(());
            }
            pos = cookie + 1;
        },
        Kind::Proc(p) => p.readdir(dir, pos, emit),
        _ => Err(Errno::ENOTDIR),
    }
}

/// ftruncate(2): EBADF unless open for writing (Linux: EINVAL for a descriptor that is
/// not open for writing but valid), EINVAL for a negative length or a non-regular file.
pub fn ftruncate(fd: i32, len: i64) -> KResult<usize> {
    let f = file(fd)?;
    if len < 0 {
        return Err(Errno::EINVAL);
    }
    if f.flags() & vfs::O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let inode = match &f.kind {
        FileKind::Inode(i) => i.clone(),
        _ => return Err(Errno::EINVAL), // pipes, FIFOs, the console
    };
    if inode.is_dir() || !matches!(inode.kind, Kind::Regular) || !f.writable() {
        return Err(Errno::EINVAL);
    }
    let _w = inode.rw.lock();
    inode.set_size(len as u64)?;
    Ok(0)
}

/// fsync/fdatasync (Linux `vfs_fsync`): nothing to write back in memory; EINVAL for
/// files without an fsync operation (pipes, terminals, devices).
pub fn fsync(fd: i32) -> KResult<usize> {
    let f = file(fd)?;
    match f.inode() {
        Some(i) if matches!(i.kind, Kind::Regular | Kind::Dir(_)) => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

/// posix_fadvise(2) (Linux `ksys_fadvise64_64` → `generic_fadvise`): advice about a
/// file's page cache, which here is only ever the file itself — nothing to do, once the
/// arguments pass Linux's checks: EBADF, ESPIPE for a pipe, EINVAL for a negative
/// length or an unknown advice.
pub fn fadvise64(fd: i32, _offset: i64, len: i64, advice: i32) -> KResult<usize> {
    const POSIX_FADV_NOREUSE: i32 = 5;
    let f = file(fd)?;
    match f.inode() {
        Some(i) if !matches!(i.kind, Kind::Fifo(_)) => {}
        _ => return Err(Errno::ESPIPE),
    }
    if len < 0 || !(0..=POSIX_FADV_NOREUSE).contains(&advice) {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// sendfile(2) (Linux `do_sendfile`): copies up to `count` bytes from `in_fd` (a file
/// that can be read at an offset) to `out_fd`, through a kernel buffer. With `offset`
/// the input is read there and the pointer advanced; the input's offset stays.
pub fn sendfile(out_fd: i32, in_fd: i32, offset_ptr: usize, count: usize) -> KResult<usize> {
    let input = file(in_fd)?;
    let output = file(out_fd)?;
    if !input.readable() || !output.writable() {
        return Err(Errno::EBADF);
    }
    if !matches!(&input.kind, FileKind::Inode(i) if matches!(i.kind, Kind::Regular | Kind::CharDev))
    {
        return Err(Errno::EINVAL);
    }
    if output.flags() & O_APPEND != 0 {
        return Err(Errno::EINVAL);
    }
    let mut off = match offset_ptr {
        0 => None,
        p => {
            let o = uaccess::get_user_u64(p)? as i64;
            if o < 0 {
                return Err(Errno::EINVAL);
            }
            Some(o as u64)
        }
    };
    let count = count.min(MAX_RW_COUNT);
    let mut done = 0;
    let mut buf = [0u8; 512];
    while done < count {
        let want = (count - done).min(buf.len());
        let mut dst = vfs::KernelDst {
            buf: &mut buf[..want],
            pos: 0,
        };
        let n = match vfs::read(&input, &mut dst, off) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        if n == 0 {
            break;
        }
        let mut src = vfs::KernelSrc {
            data: &buf[..n],
            pos: 0,
        };
        let w = match vfs::write(&output, &mut src, None, &mut sigpipe) {
            Ok(w) => w,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        };
        done += w;
        if let Some(o) = off.as_mut() {
            *o += w as u64;
        } else if w < n {
            // Not all of it went out: give the rest back to the input's offset.
            input.set_pos(input.pos() - (n - w) as u64);
        }
        // A short read ends the copy, as on Linux: from a file it is the end, and a
        // terminal gives one line per read — reading on would wait for the next one, or
        // swallow the ^D that ends the input of a `cat` (busybox's uses sendfile).
        if w < n || n < want {
            break;
        }
    }
    if let (Some(o), p) = (off, offset_ptr)
        && p != 0
    {
        uaccess::put_user_u64(p, o)?;
    }
    Ok(done)
}
