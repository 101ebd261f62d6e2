//! Open files (Linux `struct file` and fs/read_write.c): what a descriptor refers to —
//! an inode (or a pipe, or the console) with the file offset, the access mode and the
//! status flags. dup and fork share one `File`, and with it the offset; a second open
//! makes another. Reading and writing a regular file goes through its page cache: the
//! bytes are copied between user memory and the cache's pages while a reference on the
//! page — not a lock — keeps it alive (a copy may fault, and the fault may need locks).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::inode::{Inode, Kind, MAX_FILE_SIZE};
use super::page_cache::page_bytes;
use super::pipe::Pipe;
use super::{Sink, Source};
use crate::error::{Errno, KResult};
use crate::mm::frame::{PAGE_SIZE, PhysAddr};
use crate::mm::vm_file::{NoPage, VmFile};
use crate::sync::sleeplock::SleepLock;

/// open(2) flags (include/uapi/asm-generic/fcntl.h and arch/arm64's fcntl.h).
pub const O_ACCMODE: u32 = 0o3;
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 0o1;
pub const O_RDWR: u32 = 0o2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DSYNC: u32 = 0o10000;
pub const O_ASYNC: u32 = 0o20000;
pub const O_DIRECTORY: u32 = 0o40000;
pub const O_NOFOLLOW: u32 = 0o100000;
pub const O_DIRECT: u32 = 0o200000;
pub const O_LARGEFILE: u32 = 0o400000;
pub const O_NOATIME: u32 = 0o1000000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_SYNC: u32 = 0o4010000;
pub const O_PATH: u32 = 0o10000000;
pub const O_TMPFILE: u32 = 0o20000000 | O_DIRECTORY;
/// O_EXCL, which pipe2 reads as O_NOTIFICATION_PIPE.
pub const O_NOTIFICATION_PIPE: u32 = O_EXCL;
/// The flags F_SETFL may change (Linux `SETFL_MASK`).
pub const SETFL_MASK: u32 = O_APPEND | O_NONBLOCK | O_NDELAY | O_DIRECT | O_NOATIME | O_ASYNC;
const O_NDELAY: u32 = O_NONBLOCK;

/// What an open file is.
pub enum FileKind {
    /// fds 0-2 of init: the UART.
    Console,
    PipeRead(Arc<Pipe>),
    PipeWrite(Arc<Pipe>),
    /// A FIFO opened for reading, writing or both (the access mode says which ends):
    /// the pipe and the inode it was opened through, and the pipe's writer count at open
    /// for poll's POLLHUP (Linux `f_version`, fs/fifo.rs).
    Fifo {
        inode: Arc<Inode>,
        pipe: Arc<Pipe>,
        w_version: u64,
    },
    /// An eventfd (fs/eventfd.rs).
    Eventfd(super::eventfd::Eventfd),
    /// An epoll instance (fs/epoll.rs).
    Epoll(super::epoll::Epoll),
    /// A regular file, directory, device, symlink (O_PATH) or /proc file.
    Inode(Arc<Inode>),
}

/// An open file (Linux `struct file`).
pub struct File {
    pub kind: FileKind,
    /// Access mode and status flags (Linux `f_flags`), per open file: fcntl(F_SETFL)
    /// changes them for every descriptor sharing the file.
    flags: AtomicU32,
    /// The file offset (Linux `f_pos`); for a directory, the position of the next entry.
    pos: AtomicU64,
    /// Linux `f_pos_lock`: a read or write of a regular file or directory holds it from
    /// reading the offset to storing the new one, so descriptors shared by dup or fork
    /// never read or write the same bytes twice.
    pos_lock: SleepLock,
    /// The path it was opened by (absolute), for /proc/PID/fd, maps and exe.
    pub path: Vec<u8>,
    /// What it holds on its inode's write count (fs/inode.rs): +1 if opened for
    /// writing, -1 as a running program's file, 0 otherwise; given back when dropped.
    write_hold: core::sync::atomic::AtomicI8,
}

impl File {
    pub fn new(kind: FileKind, flags: u32) -> File {
        File::with_path(kind, flags, Vec::new())
    }

    pub fn with_path(kind: FileKind, flags: u32, path: Vec<u8>) -> File {
        File {
            kind,
            flags: AtomicU32::new(flags),
            pos: AtomicU64::new(0),
            pos_lock: SleepLock::new(),
            path,
            write_hold: core::sync::atomic::AtomicI8::new(0),
        }
    }

    pub fn console() -> File {
        File::new(FileKind::Console, O_RDWR)
    }

    pub fn flags(&self) -> u32 {
        self.flags.load(Ordering::Relaxed)
    }

    pub fn set_flags(&self, flags: u32) {
        self.flags.store(flags, Ordering::Relaxed);
    }

    pub fn nonblocking(&self) -> bool {
        self.flags() & O_NONBLOCK != 0
    }

    pub fn readable(&self) -> bool {
        self.flags() & O_PATH == 0 && self.flags() & O_ACCMODE != O_WRONLY
    }

    pub fn writable(&self) -> bool {
        self.flags() & O_PATH == 0 && matches!(self.flags() & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    pub fn pos(&self) -> u64 {
        self.pos.load(Ordering::Relaxed)
    }

    pub fn set_pos(&self, pos: u64) {
        self.pos.store(pos, Ordering::Relaxed);
    }

    pub fn lock_pos(&self) -> crate::sync::sleeplock::SleepGuard<'_> {
        self.pos_lock.lock()
    }

    /// The inode behind the file, if it has one.
    pub fn inode(&self) -> Option<&Arc<Inode>> {
        match &self.kind {
            FileKind::Inode(i) | FileKind::Fifo { inode: i, .. } => Some(i),
            _ => None,
        }
    }
}

impl File {
    /// Takes write access to a regular file opened for writing (ETXTBSY if it runs).
    pub fn hold_write_access(&self) -> KResult<()> {
        if let Some(i) = self.inode().filter(|i| matches!(i.kind, Kind::Regular)) {
            i.get_write_access()?;
            self.write_hold.store(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Denies writes while this file runs as a program (ETXTBSY if open for writing).
    pub fn hold_exec_access(&self) -> KResult<()> {
        if let Some(i) = self.inode() {
            i.deny_write_access()?;
            self.write_hold.store(-1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Ends `hold_exec_access` early (Linux `allow_write_access`): exec is done with a
    /// dynamic loader once it is mapped, and its mapping does not keep writers out.
    pub fn allow_write_access(&self) {
        if self.write_hold.swap(0, Ordering::Relaxed) == -1
            && let Some(i) = self.inode()
        {
            i.allow_write_access();
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        if let Some(i) = self.inode() {
            match self.write_hold.load(Ordering::Relaxed) {
                1 => i.put_write_access(),
                -1 => i.allow_write_access(),
                _ => {}
            }
        }
        match &self.kind {
            FileKind::PipeRead(p) => p.close_end(false),
            FileKind::PipeWrite(p) => p.close_end(true),
            FileKind::Fifo { inode, pipe, .. } => super::fifo::release(inode, pipe, self.flags()),
            FileKind::Console | FileKind::Inode(_) | FileKind::Eventfd(_) | FileKind::Epoll(_) => {}
        }
    }
}

/// A page of zeros: what a hole reads as.
static ZEROS: [u8; 256] = [0; 256];

/// Reads a regular file from `off` into `dst` (Linux `filemap_read`): up to the end of
/// the file; holes read as zeros. Returns the bytes read (0 at or past the end).
pub fn read_regular(inode: &Inode, mut off: u64, dst: &mut dyn Sink) -> KResult<usize> {
    let frames = super::frames();
    let mut done = 0;
    while dst.remaining() > 0 {
        let (page, size) = {
            let d = inode.data.lock();
            let page = d.pages.lookup((off / PAGE_SIZE as u64) as usize);
            if let Some(p) = page {
                frames.get(p); // keeps the page alive while it is copied unlocked
            }
            (page, d.size)
        };
        let in_page = (off % PAGE_SIZE as u64) as usize;
        let n = (PAGE_SIZE - in_page)
            .min(dst.contiguous())
            .min(size.saturating_sub(off) as usize);
        let copied = match page {
            _ if n == 0 => Ok(()),
            // SAFETY: we hold a reference on the page (taken above).
            Some(p) => dst.write_from(unsafe { page_bytes(p, in_page, n) }),
            None => {
                let mut left = n;
                let mut r = Ok(());
                while left > 0 && r.is_ok() {
                    let k = left.min(ZEROS.len());
                    r = dst.write_from(&ZEROS[..k]);
                    left -= k;
                }
                r
            }
        };
        if let Some(p) = page {
            frames.put(p);
        }
        if n == 0 {
            break;
        }
        if let Err(e) = copied {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        off += n as u64;
        done += n;
    }
    Ok(done)
}

/// Writes `src` into a regular file at `off` (Linux `generic_perform_write`), growing it.
/// The caller holds `inode.rw`. ENOSPC when the file system's budget or the frames run
/// out, EFBIG past the largest file size; a partial count if some bytes were written.
pub fn write_regular(inode: &Inode, mut off: u64, src: &mut dyn Source) -> KResult<usize> {
    let frames = super::frames();
    let mut done = 0;
    let result = loop {
        if src.remaining() == 0 {
            break Ok(());
        }
        if off >= MAX_FILE_SIZE {
            break Err(Errno::EFBIG);
        }
        let index = (off / PAGE_SIZE as u64) as usize;
        let in_page = (off % PAGE_SIZE as u64) as usize;
        let n = (PAGE_SIZE - in_page)
            .min(src.contiguous())
            .min((MAX_FILE_SIZE - off) as usize);
        let page = {
            let mut d = inode.data.lock();
            let page = match d.pages.lookup(index) {
                Some(p) => Ok(p),
                None => match inode.sb.charge_pages(1) {
                    Err(e) => Err(e),
                    Ok(()) => {
                        let before = d.pages.frames();
                        match d.pages.get_or_insert(frames, index) {
                            Ok((p, _)) => Ok(p),
                            Err(_) => {
                                // The nodes made on the way stay (they are reused).
                                let _ = before;
                                inode.sb.uncharge_pages(1);
                                Err(Errno::ENOSPC)
                            }
                        }
                    }
                },
            };
            if let Ok(p) = page {
                frames.get(p);
            }
            page
        };
        let page = match page {
            Ok(p) => p,
            Err(e) => break Err(e),
        };
        // SAFETY: we hold a reference on the page; concurrent writers are excluded by
        // `inode.rw`, readers may see a mix of old and new bytes (as on Linux).
        let copied = src.read_into(unsafe { page_bytes(page, in_page, n) });
        frames.put(page);
        if let Err(e) = copied {
            break Err(e);
        }
        off += n as u64;
        done += n;
        let mut d = inode.data.lock();
        if off > d.size {
            d.size = off;
        }
    };
    if done > 0 {
        inode.touch_mtime();
    }
    match result {
        Err(e) if done == 0 => Err(e),
        _ => Ok(done),
    }
}

/// Reads from `file` at its offset (or `at`, for pread) into `dst` (Linux `vfs_read`).
pub fn read(file: &File, dst: &mut dyn Sink, at: Option<u64>) -> KResult<usize> {
    if !file.readable() {
        return Err(Errno::EBADF);
    }
    match &file.kind {
        FileKind::Console => super::dev::console_read(dst, file.nonblocking()),
        FileKind::PipeRead(p) | FileKind::Fifo { pipe: p, .. } => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            p.read(dst, file.nonblocking())
        }
        FileKind::PipeWrite(_) => Err(Errno::EBADF),
        FileKind::Eventfd(e) => e.read(dst, file.nonblocking()),
        FileKind::Epoll(_) => Err(Errno::EINVAL), // no ->read
        FileKind::Inode(inode) => match &inode.kind {
            Kind::Regular => positioned(file, at, |off| read_regular(inode, off, dst)),
            Kind::Dir(_) => Err(Errno::EISDIR),
            Kind::CharDev => super::dev::read(inode, dst, file.nonblocking()),
            Kind::Proc(p) => positioned(file, at, |off| p.read(inode, off, dst)),
            Kind::Symlink(_) | Kind::Fifo(_) => Err(Errno::EINVAL),
        },
    }
}

/// Writes `src` to `file` at its offset, at the end (O_APPEND), or at `at` (pwrite)
/// (Linux `vfs_write`). `sigpipe` runs when a pipe has no reader.
pub fn write(
    file: &File,
    src: &mut dyn Source,
    at: Option<u64>,
    sigpipe: &mut dyn FnMut(),
) -> KResult<usize> {
    if !file.writable() {
        return Err(Errno::EBADF);
    }
    match &file.kind {
        FileKind::Console => super::dev::console_write(src),
        FileKind::PipeWrite(p) | FileKind::Fifo { pipe: p, .. } => {
            if at.is_some() {
                return Err(Errno::ESPIPE);
            }
            p.write(
                src,
                file.nonblocking(),
                file.flags() & O_DIRECT != 0,
                sigpipe,
            )
        }
        FileKind::PipeRead(_) => Err(Errno::EBADF),
        FileKind::Eventfd(e) => e.write(src, file.nonblocking()),
        FileKind::Epoll(_) => Err(Errno::EINVAL), // no ->write
        FileKind::Inode(inode) => match &inode.kind {
            Kind::Regular => {
                let _writer = inode.rw.lock();
                // Linux: O_APPEND writes go to the end even for pwrite.
                let append = file.flags() & O_APPEND != 0;
                positioned(file, at, |off| {
                    let off = if append { inode.size() } else { off };
                    let n = write_regular(inode, off, src)?;
                    Ok(n)
                })
                .inspect(|_| {
                    if append && at.is_none() {
                        file.set_pos(inode.size());
                    }
                })
            }
            Kind::Dir(_) => Err(Errno::EISDIR),
            Kind::CharDev => super::dev::write(inode, src),
            Kind::Proc(p) => p.write(src),
            Kind::Symlink(_) | Kind::Fifo(_) => Err(Errno::EINVAL),
        },
    }
}

/// Runs `io` at the file offset (advancing it, under the offset lock) or at `at`.
fn positioned(
    file: &File,
    at: Option<u64>,
    io: impl FnOnce(u64) -> KResult<usize>,
) -> KResult<usize> {
    match at {
        Some(off) => io(off),
        None => {
            let _pos = file.lock_pos();
            let off = file.pos();
            let n = io(off)?;
            file.set_pos(off + n as u64);
            Ok(n)
        }
    }
}

/// A kernel buffer as a source (initramfs, exec's `#!` line).
pub struct KernelSrc<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl Source for KernelSrc<'_> {
    fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
    fn read_into(&mut self, dst: &mut [u8]) -> KResult<()> {
        dst.copy_from_slice(&self.data[self.pos..self.pos + dst.len()]);
        self.pos += dst.len();
        Ok(())
    }
}

/// A kernel buffer as a sink.
pub struct KernelDst<'a> {
    pub buf: &'a mut [u8],
    pub pos: usize,
}

impl Sink for KernelDst<'_> {
    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    fn write_from(&mut self, src: &[u8]) -> KResult<()> {
        self.buf[self.pos..self.pos + src.len()].copy_from_slice(src);
        self.pos += src.len();
        Ok(())
    }
}

/// Reads `buf.len()` bytes of a regular file at `off` into a kernel buffer; returns how
/// many there were.
pub fn kernel_read(inode: &Inode, off: u64, buf: &mut [u8]) -> KResult<usize> {
    read_regular(inode, off, &mut KernelDst { buf, pos: 0 })
}

impl File {
    /// Reads a regular file's bytes at `off` into a kernel buffer (exec, fault reports).
    pub fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<usize> {
        match self.inode() {
            Some(i) if matches!(i.kind, Kind::Regular) => kernel_read(i, off, buf),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// exec loads a program from its file.
impl crate::loader::elf::ElfSource for File {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<usize> {
        File::read_at(self, off, buf)
    }
    fn size(&self) -> u64 {
        self.inode().map_or(0, |i| i.data.lock().size)
    }
}

/// The largest file a fault report reads whole for its symbols.
const MAX_SYMBOL_FILE: u64 = 64 << 20;

/// A mapped file's pages are its page cache's (mm/vm_file.rs).
impl VmFile for File {
    fn get_page(&self, index: usize) -> Result<Option<PhysAddr>, NoPage> {
        let Some(inode) = self.inode().filter(|i| matches!(i.kind, Kind::Regular)) else {
            return Ok(None);
        };
        let frames = super::frames();
        let mut d = inode.data.lock();
        if index as u64 >= d.size.div_ceil(PAGE_SIZE as u64) {
            return Ok(None); // past the end of the file: SIGBUS
        }
        let page = match d.pages.lookup(index) {
            Some(p) => p,
            None => {
                // A hole: it gets a zeroed page, charged to the file system.
                inode.sb.charge_pages(1).map_err(|_| NoPage)?;
                match d.pages.get_or_insert(frames, index) {
                    Ok((p, _)) => p,
                    Err(_) => {
                        inode.sb.uncharge_pages(1);
                        return Err(NoPage);
                    }
                }
            }
        };
        frames.get(page);
        Ok(Some(page))
    }

    fn contents(&self) -> Option<Vec<u8>> {
        let size = self.inode()?.size();
        if size > MAX_SYMBOL_FILE {
            return None;
        }
        let mut v = Vec::new();
        v.try_reserve_exact(size as usize).ok()?;
        v.resize(size as usize, 0);
        let n = self.read_at(0, &mut v).ok()?;
        v.truncate(n);
        Some(v)
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }

    fn file_id(&self) -> usize {
        self.inode()
            .map_or(self as *const File as usize, |i| Arc::as_ptr(i) as usize)
    }
}
