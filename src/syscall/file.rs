//! File system calls over the console, pipes and the initrd's directories (Linux
//! fs/read_write.c, fs/pipe.c `do_pipe2`, fs/file.c `ksys_dup3`, fs/namei.c `getname`,
//! fs/stat.c): descriptors up to RLIMIT_NOFILE, per-descriptor close-on-exec, per-file
//! O_NONBLOCK/O_DIRECT, and paths as bytes up to PATH_MAX.

use crate::sync::ordered::OrderedMutex;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::{Errno, KResult};
use crate::fs::pipe::{self, Pipe};
use crate::fs::{
    self, FdTable, File, FileKind, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_NOTIFICATION_PIPE, PATH_MAX,
};
use crate::mm::frame::PAGE_SIZE;
use crate::mm::uaccess::{self, UserSlice};
use crate::task::rlimit::{NR_OPEN, RLIMIT_NOFILE};
use crate::task::sched::current;

const SIGPIPE: u32 = 13;
/// The most one read or write transfers (Linux MAX_RW_COUNT: INT_MAX & PAGE_MASK).
const MAX_RW_COUNT: usize = 0x7fff_f000;
/// The most iovecs readv/writev take (UIO_MAXIOV).
const UIO_MAXIOV: usize = 1024;

fn files() -> KResult<Arc<OrderedMutex<FdTable>>> {
    current().inner.lock().files.clone().ok_or(Errno::EBADF)
}

fn file(fd: i32) -> KResult<Arc<File>> {
    files()?.lock().get(fd)
}

/// The caller's RLIMIT_NOFILE: descriptors must stay below it.
fn nofile_limit() -> usize {
    current().rlimit(RLIMIT_NOFILE).cur.min(NR_OPEN) as usize
}

/// Bytes are copied through a kernel buffer in chunks of this size.
const CHUNK: usize = 256;

/// A user buffer as a pipe's source or sink: copies go straight between user memory and
/// the pipe's pages.
struct UserBuf {
    addr: usize,
    len: usize,
    pos: usize,
}

impl UserBuf {
    fn new(s: UserSlice) -> UserBuf {
        UserBuf {
            addr: s.addr(),
            len: s.len().min(MAX_RW_COUNT),
            pos: 0,
        }
    }
}

impl pipe::Source for UserBuf {
    fn remaining(&self) -> usize {
        self.len - self.pos
    }
    fn read_into(&mut self, dst: &mut [u8]) -> KResult<()> {
        uaccess::copy_from_user(dst, self.addr + self.pos)?;
        self.pos += dst.len();
        Ok(())
    }
}

impl pipe::Sink for UserBuf {
    fn remaining(&self) -> usize {
        self.len - self.pos
    }
    fn write_from(&mut self, src: &[u8]) -> KResult<()> {
        uaccess::copy_to_user(self.addr + self.pos, src)?;
        self.pos += src.len();
        Ok(())
    }
}

/// SIGPIPE for the writer (its default action kills it).
fn sigpipe() {
    let _ = super::process::send_signal(current().tgid, SIGPIPE);
}

fn console_write(src: UserSlice) -> KResult<usize> {
    let len = src.len().min(MAX_RW_COUNT);
    let mut done = 0;
    let mut chunk = [0u8; CHUNK];
    while done < len {
        let n = (len - done).min(CHUNK);
        if uaccess::copy_from_user(&mut chunk[..n], src.addr() + done).is_err() {
            return if done > 0 {
                Ok(done)
            } else {
                Err(Errno::EFAULT)
            };
        }
        crate::console::write_bytes(&chunk[..n]);
        done += n;
    }
    Ok(done)
}

/// write(2) (Linux `vfs_write`): EBADF unless open for writing, then EFAULT for a range
/// outside user space.
pub fn write(fd: i32, buf: usize, len: usize) -> KResult<usize> {
    let f = file(fd)?;
    if matches!(f.kind, FileKind::PipeRead(_)) {
        return Err(Errno::EBADF);
    }
    let src = UserSlice::new(buf, len)?;
    match &f.kind {
        FileKind::Console => console_write(src),
        FileKind::PipeWrite(p) => p.write(
            &mut UserBuf::new(src),
            f.nonblocking(),
            f.flags() & O_DIRECT != 0,
            &mut sigpipe,
        ),
        FileKind::PipeRead(_) => Err(Errno::EBADF),
    }
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

/// The segments of a writev, as one source (a pipe write is one `pipe_write`, as Linux's).
struct IovSource {
    iov: usize,
    count: usize,
    /// Current segment, its length and how far into it we are.
    seg: usize,
    base: usize,
    seg_len: usize,
    off: usize,
    remaining: usize,
}

impl pipe::Source for IovSource {
    fn remaining(&self) -> usize {
        self.remaining
    }
    fn read_into(&mut self, dst: &mut [u8]) -> KResult<()> {
        let mut done = 0;
        while done < dst.len() {
            while self.off == self.seg_len {
                self.seg += 1;
                if self.seg >= self.count {
                    return Err(Errno::EFAULT);
                }
                let (base, len) = get_iovec(self.iov, self.seg)?;
                (self.base, self.seg_len, self.off) = (base, len, 0);
            }
            let n = (self.seg_len - self.off).min(dst.len() - done);
            // (The iovec is read again: another thread may have changed it.)
            let at = self.base.checked_add(self.off).ok_or(Errno::EFAULT)?;
            uaccess::copy_from_user(&mut dst[done..done + n], at)?;
            self.off += n;
            done += n;
        }
        self.remaining -= dst.len();
        Ok(())
    }
}

/// writev(2) (Linux `import_iovec` + `vfs_writev`).
pub fn writev(fd: i32, iov: usize, iovcnt: usize) -> KResult<usize> {
    let f = file(fd)?;
    if matches!(f.kind, FileKind::PipeRead(_)) {
        return Err(Errno::EBADF);
    }
    if iovcnt > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    // Every iovec readable and no length negative, in order; then every range in user
    // space; the total is clamped to MAX_RW_COUNT.
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
    match &f.kind {
        FileKind::PipeWrite(p) => {
            let mut src = IovSource {
                iov,
                count: iovcnt,
                seg: 0,
                base: 0,
                seg_len: 0,
                off: 0,
                remaining: total,
            };
            if iovcnt > 0 {
                (src.base, src.seg_len) = get_iovec(iov, 0)?;
            }
            p.write(
                &mut src,
                f.nonblocking(),
                f.flags() & O_DIRECT != 0,
                &mut sigpipe,
            )
        }
        _ => {
            let mut done = 0;
            for i in 0..iovcnt {
                let (base, len) = get_iovec(iov, i)?;
                let len = len.min(MAX_RW_COUNT - done);
                if len == 0 {
                    continue;
                }
                match console_write(UserSlice::new(base, len)?) {
                    Ok(n) => done += n,
                    Err(e) if done == 0 => return Err(e),
                    Err(_) => break,
                }
            }
            Ok(done)
        }
    }
}

/// read(2) (Linux `vfs_read`).
pub fn read(fd: i32, buf: usize, len: usize) -> KResult<usize> {
    let f = file(fd)?;
    if matches!(f.kind, FileKind::PipeWrite(_)) {
        return Err(Errno::EBADF);
    }
    let dst = UserSlice::new(buf, len)?;
    match &f.kind {
        FileKind::Console => {
            // Whatever the UART has buffered; 0 (end of file) if nothing.
            let mut tmp = [0u8; CHUNK];
            let mut n = 0;
            while n < len.min(CHUNK) {
                match crate::console::try_getc() {
                    Some(c) => {
                        tmp[n] = c;
                        n += 1;
                    }
                    None => break,
                }
            }
            dst.write_from(&tmp[..n])?;
            Ok(n)
        }
        FileKind::PipeRead(p) => p.read(&mut UserBuf::new(dst), f.nonblocking()),
        FileKind::PipeWrite(_) => Err(Errno::EBADF),
    }
}

pub fn close(fd: i32) -> KResult<usize> {
    let f = files()?.lock().remove(fd)?;
    drop(f); // outside the table lock: closing a pipe end wakes its peers
    Ok(0)
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
    let replaced = files()?
        .lock()
        .dup_to(old as i32, new, limit, flags & O_CLOEXEC != 0)?;
    drop(replaced); // closed outside the table lock
    Ok(new as usize)
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
        flags & O_NONBLOCK,
    ));
    let write_end = Arc::new(File::new(
        FileKind::PipeWrite(pipe),
        flags & (O_NONBLOCK | O_DIRECT),
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

fn fs_struct() -> KResult<Arc<OrderedMutex<fs::FsStruct>>> {
    current().inner.lock().fs.clone().ok_or(Errno::EINVAL)
}

/// Linux `getname`/`strncpy_from_user`: a path from user memory, as bytes without the
/// NUL. ENAMETOOLONG when the first PATH_MAX bytes hold no NUL (nothing past them is
/// read), ENOENT for an empty path unless `empty_ok`. Reads never cross into a page the
/// string does not reach.
pub(super) fn getname(addr: usize, empty_ok: bool) -> KResult<Vec<u8>> {
    let mut name = Vec::new();
    let mut at = addr;
    while name.len() < PATH_MAX {
        let n = (PAGE_SIZE - at % PAGE_SIZE)
            .min(CHUNK)
            .min(PATH_MAX - name.len());
        let mut chunk = [0u8; CHUNK];
        uaccess::copy_from_user(&mut chunk[..n], at)?;
        let end = chunk[..n].iter().position(|&b| b == 0);
        let take = end.unwrap_or(n);
        name.try_reserve(take).map_err(|_| Errno::ENOMEM)?;
        name.extend_from_slice(&chunk[..take]);
        if end.is_some() {
            if name.is_empty() && !empty_ok {
                return Err(Errno::ENOENT);
            }
            return Ok(name);
        }
        at = at.checked_add(n).ok_or(Errno::EFAULT)?;
    }
    Err(Errno::ENAMETOOLONG)
}

/// Looks `path` up from the caller's cwd in the initrd.
pub(super) fn lookup(path: &[u8]) -> KResult<fs::Found> {
    let fs = fs_struct()?;
    let f = fs.lock();
    fs::lookup(&f.cwd, path, crate::initrd::kind)
}

pub fn umask(mask: u32) -> KResult<usize> {
    let fs = fs_struct()?;
    let mut f = fs.lock();
    let old = f.umask;
    f.umask = mask & 0o777;
    Ok(old as usize)
}

pub fn getcwd(buf: usize, size: usize) -> KResult<usize> {
    // A copy of the name, taken under the lock: no lock may be held across a user
    // access (its fault would take locks above FsStruct; src/sync/mod.rs).
    let cwd = {
        let fs = fs_struct()?;
        let f = fs.lock();
        let mut cwd = alloc::string::String::new();
        cwd.try_reserve(f.cwd.len()).map_err(|_| Errno::ENOMEM)?;
        cwd.push_str(&f.cwd);
        cwd
    };
    let len = cwd.len() + 1;
    if size < len {
        return Err(Errno::ERANGE);
    }
    // Two copies (no kernel buffer): the name, then its NUL.
    UserSlice::new(buf, len)?;
    uaccess::copy_to_user(buf, cwd.as_bytes())?;
    uaccess::copy_to_user(buf + len - 1, &[0])?;
    Ok(len)
}

pub fn chdir(path: usize) -> KResult<usize> {
    let name = getname(path, false)?;
    let found = lookup(&name)?;
    if !found.is_dir {
        return Err(Errno::ENOTDIR);
    }
    fs_struct()?.lock().cwd = found.path;
    Ok(0)
}

/// `struct stat` of the generic (arm64) ABI: 128 bytes; st_mode at 16, st_nlink at 20,
/// st_rdev at 32, st_size at 48, st_blksize at 56, st_blocks at 64.
fn stat_bytes(mode: u32, size: usize, rdev: u64) -> [u8; 128] {
    let mut st = [0u8; 128];
    st[16..20].copy_from_slice(&mode.to_le_bytes());
    st[20..24].copy_from_slice(&1u32.to_le_bytes());
    st[32..40].copy_from_slice(&rdev.to_le_bytes());
    st[48..56].copy_from_slice(&(size as u64).to_le_bytes());
    st[56..60].copy_from_slice(&4096u32.to_le_bytes());
    st[64..72].copy_from_slice(&(size.div_ceil(512) as u64).to_le_bytes());
    st
}

const S_IFIFO: u32 = 0o010000;
const S_IFCHR: u32 = 0o020000;
const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;
/// The console is /dev/ttyAMA0: major 204, minor 64.
const CONSOLE_RDEV: u64 = (204 << 8) | 64;

/// fstat(2): the console is a character device, pipes are FIFOs (so a libc decides that
/// stdout is a terminal and line-buffers it).
pub fn fstat(fd: i32, buf: usize) -> KResult<usize> {
    let st = match &file(fd)?.kind {
        FileKind::Console => stat_bytes(S_IFCHR | 0o620, 0, CONSOLE_RDEV),
        FileKind::PipeRead(_) | FileKind::PipeWrite(_) => stat_bytes(S_IFIFO | 0o600, 0, 0),
    };
    uaccess::copy_to_user(buf, &st)?;
    Ok(0)
}

const AT_FDCWD: i32 = -100;
const AT_EMPTY_PATH: u32 = 0x1000;

/// newfstatat(2): AT_EMPTY_PATH on a descriptor, or a path in the initrd.
pub fn newfstatat(dirfd: i32, path: usize, buf: usize, flags: u32) -> KResult<usize> {
    let name = getname(path, flags & AT_EMPTY_PATH != 0)?;
    if name.is_empty() {
        return fstat(dirfd, buf);
    }
    if dirfd != AT_FDCWD && name[0] != b'/' {
        file(dirfd)?;
        return Err(Errno::ENOTDIR); // directory descriptors do not exist here
    }
    let found = lookup(&name)?;
    let st = if found.is_dir {
        stat_bytes(S_IFDIR | 0o755, 0, 0)
    } else {
        stat_bytes(
            S_IFREG | 0o755,
            crate::initrd::find(&found.path).map_or(0, |d| d.len()),
            0,
        )
    };
    uaccess::copy_to_user(buf, &st)?;
    Ok(0)
}

const TCGETS: u32 = 0x5401;
const TIOCGWINSZ: u32 = 0x5413;

/// ioctl(2): just enough terminal for isatty() and the window size on the console.
pub fn ioctl(fd: i32, request: u32, arg: usize) -> KResult<usize> {
    let f = file(fd)?;
    if !matches!(f.kind, FileKind::Console) {
        return Err(Errno::ENOTTY);
    }
    match request {
        TCGETS => {
            // The kernel's struct termios (36 bytes: four flag words, c_line, c_cc[19]),
            // not libc's larger one: c_lflag = ICANON | ECHO, the rest zero.
            let mut t = [0u8; 36];
            t[12..16].copy_from_slice(&(0o2u32 | 0o10).to_le_bytes());
            uaccess::copy_to_user(arg, &t)?;
            Ok(0)
        }
        TIOCGWINSZ => {
            let ws: [u16; 4] = [24, 80, 0, 0];
            let mut b = [0u8; 8];
            for (i, v) in ws.iter().enumerate() {
                b[i * 2..i * 2 + 2].copy_from_slice(&v.to_le_bytes());
            }
            uaccess::copy_to_user(arg, &b)?;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}
