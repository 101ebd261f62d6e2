//! Pipes (Linux fs/pipe.c `pipe_read`, `pipe_write`): a ring of 16 page-sized buffers
//! (PIPE_DEF_BUFFERS, 64 KiB) shared by a read end and a write end. The pages come from
//! the frame allocator as data arrives and go back as it drains, so a pipe full of data
//! holds 16 frames and an empty one none; the kernel heap holds only the ring's
//! bookkeeping.
//!
//! Linux's rules, kept exactly (checked with linux-oracle.sh):
//! * a write first tops up the last page with its odd-sized head (`len % 4096` bytes) if
//!   that part fits whole — so writes of up to PIPE_BUF bytes are atomic — and then fills
//!   fresh pages; hence 64000 bytes fit as 100-byte writes, 65536 as 4096-byte ones;
//! * reading an empty pipe sleeps until data arrives or no writer is left (then 0);
//!   writing a full pipe sleeps until there is room; with O_NONBLOCK both are EAGAIN;
//! * writing with no reader left is EPIPE, with SIGPIPE;
//! * a read whose user buffer faults returns EFAULT and leaves the bytes in the pipe; a
//!   write whose source faults keeps only the pages it copied whole (EFAULT if none);
//! * no page for a new buffer is ENOMEM (or the bytes written so far);
//! * O_DIRECT makes a "packet" pipe: each write is its own buffer, and a read takes at
//!   most one packet, dropping what does not fit.
//!
//! poll (fs/poll.rs, Linux `pipe_poll`): the read side is ready with data (POLLIN) and
//! hung up with no writer left (POLLHUP); the write side is ready with a free buffer
//! (POLLOUT) and in error with no reader left (POLLERR). Two counters stand for Linux's
//! two wait queues, for epoll's edge-triggered mode: `rd_gen` moves when data arrives
//! (every write wakes `rd_wait` on Linux once the pipe was polled), `wr_gen` when a
//! reader empties a buffer of a full pipe; both when an end opens or closes.
//!
//! Readers and writers copy between user memory and the pages with the pipe's spin lock
//! released — a page fault may sleep — so, like Linux's `pipe->mutex`, one reader or
//! writer at a time holds the pipe's I/O lock (`busy`), a sleeping lock.

use core::sync::atomic::{AtomicUsize, Ordering};

use super::poll::{self, Readiness};
use super::{Sink, Source};
use crate::error::{Errno, KResult};
use crate::mm::frame::{PAGE_SIZE, PhysAddr};
use crate::sync::wait::{self, WaitChan, WakeReason};

/// POSIX PIPE_BUF: writes of at most this many bytes are never interleaved.
pub const PIPE_BUF: usize = 4096;
/// Buffers (pages) per pipe: Linux's PIPE_DEF_BUFFERS.
pub const PIPE_DEF_BUFFERS: usize = 16;

/// Where a pipe's pages come from: the frame allocator in the kernel, simulated memory in
/// host tests.
pub trait PageOps: Sync {
    /// A page whose contents are undefined (only bytes written to it are ever read).
    fn alloc(&self) -> Option<PhysAddr>;
    fn free(&self, page: PhysAddr);
}

/// Linux `struct pipe_buffer`.
#[derive(Clone, Copy, Default)]
struct Buf {
    page: Option<PhysAddr>,
    offset: usize,
    len: usize,
    /// PIPE_BUF_FLAG_PACKET: written by an O_DIRECT writer; never merged into.
    packet: bool,
}

/// The ring: `tail` is the oldest buffer, `head` the next free slot (both count up).
#[derive(Default)]
struct Ring {
    bufs: [Buf; PIPE_DEF_BUFFERS],
    head: usize,
    tail: usize,
}

impl Ring {
    /// A fingerprint of the contents: changes whenever bytes are written or read.
    fn stamp(&self) -> (usize, usize, usize) {
        let bytes = self.bufs.iter().map(|b| b.offset + b.len).sum();
        (self.head, self.tail, bytes)
    }

    /// Bytes in the buffers between `tail` and `head`.
    fn bytes(&self) -> usize {
        (0..self.occupancy())
            .map(|i| self.bufs[self.tail.wrapping_add(i) % PIPE_DEF_BUFFERS].len)
            .sum()
    }

    fn occupancy(&self) -> usize {
        self.head.wrapping_sub(self.tail)
    }
    fn is_empty(&self) -> bool {
        self.occupancy() == 0
    }
    fn is_full(&self) -> bool {
        self.occupancy() >= PIPE_DEF_BUFFERS
    }
    fn front(&mut self) -> &mut Buf {
        &mut self.bufs[self.tail % PIPE_DEF_BUFFERS]
    }
    fn last(&mut self) -> &mut Buf {
        &mut self.bufs[self.head.wrapping_sub(1) % PIPE_DEF_BUFFERS]
    }
    fn push(&mut self, buf: Buf) {
        self.bufs[self.head % PIPE_DEF_BUFFERS] = buf;
        self.head = self.head.wrapping_add(1);
    }
    /// Removes the oldest buffer; returns its page to free.
    fn pop(&mut self) -> Option<PhysAddr> {
        if self.is_empty() {
            return None;
        }
        let page = core::mem::take(self.front()).page;
        self.tail = self.tail.wrapping_add(1);
        page
    }
}

pub struct PipeInner {
    ring: Ring,
    pub readers: usize,
    pub writers: usize,
    /// The I/O lock (Linux `pipe->mutex`) is held.
    busy: bool,
    /// Tasks asleep (or about to be) waiting for the I/O lock, and waiting for data or
    /// room: counted under this lock before they sleep, so a waker that reads 0 here
    /// knows no one sleeps on the channel and skips the wakeup — a scan of every task
    /// (Linux's `wq_has_sleeper` test before `wake_up`).
    lock_waiters: u32,
    io_waiters: u32,
    /// Changes a reader's poll sees (data came, an end opened or closed).
    rd_gen: u64,
    /// Changes a writer's poll sees (room made in a full pipe, an end opened or closed).
    wr_gen: u64,
    /// Writers that ever opened (Linux `w_counter`): a FIFO reader opened with O_NONBLOCK
    /// before any writer sees no POLLHUP until one came (fs/fifo.rs).
    w_counter: u64,
}

pub struct Pipe {
    /// Names the pipe's wait channel.
    pub id: usize,
    pages: &'static dyn PageOps,
    inner: crate::sync::ordered::OrderedMutex<PipeInner>,
}

static PIPE_IDS: AtomicUsize = AtomicUsize::new(1);

/// `len` bytes of `page` from `offset`.
///
/// # Safety
/// The page belongs to a pipe whose I/O lock the caller holds (so no one else touches its
/// bytes), and `offset + len <= PAGE_SIZE`.
unsafe fn page_bytes<'a>(page: PhysAddr, offset: usize, len: usize) -> &'a mut [u8] {
    debug_assert!(offset + len <= PAGE_SIZE);
    // SAFETY: the caller's guarantees: a whole page of the linear map, used by one task.
    unsafe { core::slice::from_raw_parts_mut(page.as_ptr().add(offset), len) }
}

/// The I/O lock, released when dropped. Who is woken then: one task waiting for the
/// lock, and — only if bytes moved — every task waiting for data or room. (Waking all
/// waiters at every release would make N blocked readers wake each other N² times.)
struct IoGuard<'a> {
    pipe: &'a Pipe,
    stamp: (usize, usize, usize),
    /// Held by a writer (else a reader), and whether the ring was full when taken.
    write: bool,
    was_full: bool,
}

impl Drop for IoGuard<'_> {
    fn drop(&mut self) {
        let (changed, lock_waiters, io_waiters) = {
            let mut inner = self.pipe.inner.lock();
            inner.busy = false;
            let changed = inner.ring.stamp() != self.stamp;
            if changed && self.write {
                inner.rd_gen += 1;
            } else if changed && self.was_full {
                inner.wr_gen += 1;
            }
            (changed, inner.lock_waiters, inner.io_waiters)
        };
        // Sleepers are counted under `inner` before they sleep (`lock_io`, `wait`): a
        // count of 0 read after the change means none can miss it.
        if lock_waiters > 0 {
            wait::wake_n(WaitChan::PipeLock(self.pipe.id), 1);
        }
        if changed {
            if io_waiters > 0 {
                wait::wakeup(WaitChan::Pipe(self.pipe.id)); // and the pollers
            } else {
                wait::wake_pollers();
            }
        }
    }
}

/// Returns the partial count if something was transferred, else the error.
fn partial(done: usize, err: Errno) -> KResult<usize> {
    if done > 0 { Ok(done) } else { Err(err) }
}

impl Pipe {
    /// A pipe with one reader and one writer; no page is allocated until data arrives.
    pub fn new(pages: &'static dyn PageOps) -> Pipe {
        Pipe::with_ends(pages, 1, 1)
    }

    fn with_ends(pages: &'static dyn PageOps, readers: usize, writers: usize) -> Pipe {
        let w_counter = writers as u64;
        Pipe {
            id: PIPE_IDS.fetch_add(1, Ordering::Relaxed),
            pages,
            inner: crate::sync::ordered::OrderedMutex::new(
                crate::sync::Level::Process,
                PipeInner {
                    ring: Ring::default(),
                    readers,
                    writers,
                    busy: false,
                    lock_waiters: 0,
                    io_waiters: 0,
                    rd_gen: 0,
                    wr_gen: 0,
                    w_counter,
                },
            ),
        }
    }

    /// A FIFO's pipe (fs/fifo.rs): no reader or writer until they open it.
    pub fn new_fifo(pages: &'static dyn PageOps) -> Pipe {
        Pipe::with_ends(pages, 0, 0)
    }

    /// A FIFO end was opened.
    pub fn open_end(&self, write: bool) {
        {
            let mut p = self.inner.lock();
            if write {
                p.writers += 1;
                p.w_counter += 1;
            } else {
                p.readers += 1;
            }
            p.rd_gen += 1;
            p.wr_gen += 1;
        }
        wait::wakeup(WaitChan::Pipe(self.id));
    }

    /// Bytes waiting to be read (FIONREAD).
    pub fn bytes_ready(&self) -> usize {
        self.inner.lock().ring.bytes()
    }

    /// One end was closed (the last descriptor of a `File` went away).
    pub fn close_end(&self, write: bool) {
        {
            let mut p = self.inner.lock();
            if write {
                p.writers -= 1;
            } else {
                p.readers -= 1;
            }
            p.rd_gen += 1;
            p.wr_gen += 1;
        }
        wait::wakeup(WaitChan::Pipe(self.id));
    }

    /// Writers that ever opened the pipe (Linux `w_counter`).
    pub fn w_counter(&self) -> u64 {
        self.inner.lock().w_counter
    }

    /// Linux `pipe_poll`, for a file that reads (`read`) and/or writes (`write`) the
    /// pipe. `version` is the file's `w_counter` at open (0 but for a FIFO reader opened
    /// before any writer): POLLHUP only once a writer came after it.
    pub fn poll(&self, read: bool, write: bool, version: u64) -> Readiness {
        let p = self.inner.lock();
        let mut r = Readiness::default();
        if read {
            if !p.ring.is_empty() {
                r.mask |= poll::POLLIN | poll::POLLRDNORM;
            }
            if p.writers == 0 && p.w_counter != version {
                r.mask |= poll::POLLHUP;
            }
            r.in_gen = p.rd_gen;
        }
        if write {
            if !p.ring.is_full() {
                r.mask |= poll::POLLOUT | poll::POLLWRNORM;
            }
            if p.readers == 0 {
                r.mask |= poll::POLLERR;
            }
            r.out_gen = p.wr_gen;
        }
        r
    }

    /// Pages the pipe holds now.
    pub fn pages_held(&self) -> usize {
        self.inner.lock().ring.occupancy()
    }

    /// Takes the I/O lock, sleeping while another reader or writer has it.
    fn lock_io(&self, write: bool) -> KResult<IoGuard<'_>> {
        loop {
            let seq = wait::prepare(WaitChan::PipeLock(self.id));
            {
                let mut inner = self.inner.lock();
                if !inner.busy {
                    inner.busy = true;
                    let stamp = inner.ring.stamp();
                    let was_full = inner.ring.is_full();
                    return Ok(IoGuard {
                        pipe: self,
                        stamp,
                        write,
                        was_full,
                    });
                }
                inner.lock_waiters += 1;
            }
            let why = wait::sleep(WaitChan::PipeLock(self.id), None, seq);
            self.inner.lock().lock_waiters -= 1;
            if why == WakeReason::Killed {
                return Err(Errno::EINTR);
            }
        }
    }

    /// Releases the I/O lock, sleeps until something changes, takes it again. The
    /// contents cannot change while we hold the I/O lock, so the wakeup count read before
    /// releasing it catches every change made after (sync/wait.rs); the sleeper is
    /// counted before it releases the lock too, so that every waker after sees it.
    /// The ends, though, are opened and closed without the I/O lock (`close_end`): the
    /// other side is looked at again *after* the count is read. A close between the
    /// caller's check and `prepare` would otherwise be missed for good — a reader asleep
    /// on an empty pipe whose last writer has gone (it happened: `cat f | wc -l`, about
    /// one boot in ten of the busybox suite). Then the caller's loop sees the close.
    fn wait<'a>(&'a self, io: IoGuard<'a>) -> KResult<IoGuard<'a>> {
        let seq = wait::prepare(WaitChan::Pipe(self.id));
        let write = io.write;
        {
            let mut inner = self.inner.lock();
            let other_side_gone = if write {
                inner.readers == 0
            } else {
                inner.writers == 0
            };
            if other_side_gone {
                return Ok(io);
            }
            inner.io_waiters += 1;
        }
        drop(io);
        // A signal ends the wait: the call returns what it has done so far, or is
        // restarted after a SA_RESTART handler (Linux `pipe_read`: -ERESTARTSYS).
        let why = wait::sleep_interruptible(WaitChan::Pipe(self.id), None, seq);
        self.inner.lock().io_waiters -= 1;
        match why {
            WakeReason::Killed => return Err(Errno::EINTR),
            WakeReason::Interrupted => return Err(Errno::ERESTARTSYS),
            _ => {}
        }
        self.lock_io(write)
    }

    /// Linux `pipe_write`. `sigpipe` is called when no reader is left (the caller sends
    /// SIGPIPE); `packet` is the writer's O_DIRECT.
    pub fn write(
        &self,
        src: &mut dyn Source,
        nonblock: bool,
        packet: bool,
        sigpipe: &mut dyn FnMut(),
    ) -> KResult<usize> {
        let total = src.remaining();
        if total == 0 {
            return Ok(0);
        }
        let mut io = self.lock_io(true)?;
        if self.inner.lock().readers == 0 {
            sigpipe();
            return Err(Errno::EPIPE);
        }
        let mut done = 0;
        // The odd-sized head goes into the last page if it fits there whole.
        let chars = total % PAGE_SIZE;
        let last = {
            let mut inner = self.inner.lock();
            (!inner.ring.is_empty()).then(|| *inner.ring.last())
        };
        if chars != 0
            && let Some(Buf {
                page: Some(page),
                offset,
                len,
                packet: false,
            }) = last
            && offset + len + chars <= PAGE_SIZE
        {
            // SAFETY: our page, our I/O lock, within the page (checked above).
            src.read_into(unsafe { page_bytes(page, offset + len, chars) })?;
            self.inner.lock().ring.last().len += chars;
            done = chars;
            if src.remaining() == 0 {
                return Ok(done);
            }
        }
        loop {
            if self.inner.lock().readers == 0 {
                sigpipe();
                return partial(done, Errno::EPIPE);
            }
            if !self.inner.lock().ring.is_full() {
                let Some(page) = self.pages.alloc() else {
                    return partial(done, Errno::ENOMEM);
                };
                self.inner.lock().ring.push(Buf {
                    page: Some(page),
                    offset: 0,
                    len: 0,
                    packet,
                });
                let n = src.remaining().min(PAGE_SIZE);
                // SAFETY: a page we just added to our ring, our I/O lock.
                if src.read_into(unsafe { page_bytes(page, 0, n) }).is_err() {
                    // Linux keeps the empty buffer; readers skip it.
                    return partial(done, Errno::EFAULT);
                }
                self.inner.lock().ring.last().len = n;
                done += n;
                if src.remaining() == 0 {
                    return Ok(done);
                }
                continue;
            }
            if nonblock {
                return partial(done, Errno::EAGAIN);
            }
            io = match self.wait(io) {
                Ok(io) => io,
                Err(e) => return partial(done, e),
            };
        }
    }

    /// Linux `pipe_read`.
    pub fn read(&self, dst: &mut dyn Sink, nonblock: bool) -> KResult<usize> {
        let mut total = dst.remaining();
        if total == 0 {
            return Ok(0);
        }
        let mut io = self.lock_io(false)?;
        let mut done = 0;
        loop {
            let front = {
                let mut inner = self.inner.lock();
                (!inner.ring.is_empty()).then(|| *inner.ring.front())
            };
            if let Some(buf) = front {
                let chars = buf.len.min(total);
                if chars > 0 {
                    let page = buf.page.ok_or(Errno::EFAULT)?;
                    // SAFETY: a buffer of our ring, our I/O lock, within the page.
                    if dst
                        .write_from(unsafe { page_bytes(page, buf.offset, chars) })
                        .is_err()
                    {
                        return partial(done, Errno::EFAULT); // the bytes stay
                    }
                }
                done += chars;
                let freed = {
                    let mut inner = self.inner.lock();
                    let b = inner.ring.front();
                    b.offset += chars;
                    b.len -= chars;
                    if b.packet {
                        total = chars; // one packet per read; the rest is dropped
                        b.len = 0;
                    }
                    if b.len == 0 { inner.ring.pop() } else { None }
                };
                if let Some(page) = freed {
                    self.pages.free(page);
                }
                total -= chars;
                if total == 0 {
                    break;
                }
                if !self.inner.lock().ring.is_empty() {
                    continue;
                }
            }
            if self.inner.lock().writers == 0 || done > 0 {
                break;
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            io = self.wait(io)?;
        }
        drop(io);
        Ok(done)
    }
}

impl Drop for Pipe {
    /// The last end is gone: the pages still holding data go back.
    fn drop(&mut self) {
        let inner = self.inner.get_mut();
        while !inner.ring.is_empty() {
            if let Some(page) = inner.ring.pop() {
                self.pages.free(page);
            }
        }
    }
}

/// The kernel's pages: frames from the frame allocator, counted in frames-in-use.
pub struct FramePages;

impl PageOps for FramePages {
    fn alloc(&self) -> Option<PhysAddr> {
        super::frames().alloc_uninit()
    }
    fn free(&self, page: PhysAddr) {
        super::frames().put(page);
    }
}

pub static FRAME_PAGES: FramePages = FramePages;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::sim::SimMemory;
    use std::vec::Vec;

    struct TestPages(spin::Mutex<Option<SimMemory>>);

    impl PageOps for TestPages {
        fn alloc(&self) -> Option<PhysAddr> {
            self.0.lock().as_mut().unwrap().frames.alloc_uninit()
        }
        fn free(&self, page: PhysAddr) {
            self.0.lock().as_mut().unwrap().frames.put(page);
        }
    }

    static PAGES: TestPages = TestPages(spin::Mutex::new(None));
    /// The tests share PAGES: one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    /// Runs `f` with `nframes` of simulated memory for pipes; checks nothing leaked.
    fn with_pages(nframes: usize, f: impl FnOnce()) {
        let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        *PAGES.0.lock() = Some(SimMemory::new(nframes));
        f();
        let sim = PAGES.0.lock().take().unwrap();
        assert_eq!(sim.frames.in_use(), 0, "pages leaked");
    }

    fn in_use() -> usize {
        PAGES.0.lock().as_ref().unwrap().frames.in_use()
    }

    /// A user buffer: bytes, with an optional address where it stops being mapped.
    struct Mem<'a> {
        data: &'a mut [u8],
        pos: usize,
        fault_at: usize,
    }

    impl<'a> Mem<'a> {
        fn new(data: &'a mut [u8]) -> Mem<'a> {
            let fault_at = data.len();
            Mem {
                data,
                pos: 0,
                fault_at,
            }
        }
        fn faulting(data: &'a mut [u8], fault_at: usize) -> Mem<'a> {
            Mem {
                data,
                pos: 0,
                fault_at,
            }
        }
    }

    impl Source for Mem<'_> {
        fn remaining(&self) -> usize {
            self.data.len() - self.pos
        }
        fn read_into(&mut self, dst: &mut [u8]) -> KResult<()> {
            if self.pos + dst.len() > self.fault_at {
                return Err(Errno::EFAULT);
            }
            dst.copy_from_slice(&self.data[self.pos..self.pos + dst.len()]);
            self.pos += dst.len();
            Ok(())
        }
    }

    impl Sink for Mem<'_> {
        fn remaining(&self) -> usize {
            self.data.len() - self.pos
        }
        fn write_from(&mut self, src: &[u8]) -> KResult<()> {
            if self.pos + src.len() > self.fault_at {
                return Err(Errno::EFAULT);
            }
            self.data[self.pos..self.pos + src.len()].copy_from_slice(src);
            self.pos += src.len();
            Ok(())
        }
    }

    fn write(p: &Pipe, bytes: &[u8]) -> KResult<usize> {
        write_flags(p, bytes, false)
    }

    fn write_flags(p: &Pipe, bytes: &[u8], packet: bool) -> KResult<usize> {
        let mut data = bytes.to_vec();
        p.write(&mut Mem::new(&mut data), true, packet, &mut || {})
    }

    fn read(p: &Pipe, n: usize) -> KResult<Vec<u8>> {
        let mut buf = std::vec![0u8; n];
        let got = p.read(&mut Mem::new(&mut buf), true)?;
        buf.truncate(got);
        Ok(buf)
    }

    /// Bytes a non-blocking writer gets into an empty pipe in `chunk`-sized writes.
    fn capacity(chunk: usize) -> usize {
        let p = Pipe::new(&PAGES);
        let data = std::vec![7u8; chunk];
        let mut total = 0;
        loop {
            match write(&p, &data) {
                Ok(n) => total += n,
                Err(e) => {
                    assert_eq!(e, Errno::EAGAIN);
                    break;
                }
            }
        }
        assert_eq!(p.pages_held(), PIPE_DEF_BUFFERS);
        total
    }

    #[test]
    fn capacity_as_linux() {
        with_pages(32, || {
            // Linux 6.1 (linux-oracle.sh): 65536, 64000, 54096, 65536.
            assert_eq!(capacity(4096), 65536);
            assert_eq!(capacity(100), 64000);
            assert_eq!(capacity(5000), 54096);
            assert_eq!(capacity(70000), 65536);
            assert_eq!(in_use(), 0, "a dropped pipe frees its pages");
        });
    }

    #[test]
    fn pages_come_and_go_with_the_data() {
        with_pages(32, || {
            let p = Pipe::new(&PAGES);
            assert_eq!(in_use(), 0, "an empty pipe holds no page");
            assert_eq!(write(&p, &[1u8; 10000]), Ok(10000));
            assert_eq!(in_use(), 3);
            assert_eq!(read(&p, 5000).unwrap().len(), 5000);
            assert_eq!(in_use(), 2, "a drained page goes back");
            assert_eq!(read(&p, 100000).unwrap().len(), 5000);
            assert_eq!(in_use(), 0);
            assert_eq!(read(&p, 10), Err(Errno::EAGAIN), "empty, a writer left");
            p.close_end(true);
            assert_eq!(read(&p, 10), Ok(std::vec![]), "EOF");
            assert_eq!(write(&p, b""), Ok(0), "empty writes always succeed");
            assert_eq!(read(&p, 0), Ok(std::vec![]));
        });
    }

    #[test]
    fn no_reader_is_epipe_with_sigpipe() {
        with_pages(8, || {
            let p = Pipe::new(&PAGES);
            p.close_end(false);
            let mut signalled = 0;
            let mut data = *b"x";
            let r = p.write(&mut Mem::new(&mut data), false, false, &mut || {
                signalled += 1
            });
            assert_eq!((r, signalled), (Err(Errno::EPIPE), 1));
        });
    }

    #[test]
    fn read_fault_keeps_the_data() {
        with_pages(8, || {
            let p = Pipe::new(&PAGES);
            write(&p, b"hello world").unwrap();
            let mut buf = [0u8; 11];
            assert_eq!(
                p.read(&mut Mem::faulting(&mut buf, 3), true),
                Err(Errno::EFAULT)
            );
            assert_eq!(read(&p, 100).unwrap(), b"hello world");
            // A fault in the second page: the first page's bytes are returned.
            write(&p, &[1u8; 4096]).unwrap();
            write(&p, &[2u8; 4096]).unwrap();
            let mut buf = std::vec![0u8; 8192];
            assert_eq!(p.read(&mut Mem::faulting(&mut buf, 5000), true), Ok(4096));
            assert_eq!(read(&p, 8192).unwrap(), [2u8; 4096]);
        });
    }

    #[test]
    fn write_fault_keeps_whole_pages_only() {
        with_pages(8, || {
            // As on Linux 6.1: 3 pages with the third unmapped -> 8192.
            let p = Pipe::new(&PAGES);
            let mut data = std::vec![5u8; 3 * 4096];
            let mut src = Mem::faulting(&mut data, 2 * 4096 + 100);
            assert_eq!(p.write(&mut src, true, false, &mut || {}), Ok(8192));
            assert_eq!(read(&p, 70000).unwrap().len(), 8192);
            // Nothing of a short faulting write, into an empty pipe or into the last page.
            let mut data = [1u8; 20];
            assert_eq!(
                p.write(&mut Mem::faulting(&mut data, 10), true, false, &mut || {}),
                Err(Errno::EFAULT)
            );
            assert_eq!(
                read(&p, 100),
                Err(Errno::EAGAIN),
                "the empty buffer is skipped"
            );
            write(&p, b"abc").unwrap();
            assert_eq!(
                p.write(&mut Mem::faulting(&mut data, 10), true, false, &mut || {}),
                Err(Errno::EFAULT)
            );
            assert_eq!(read(&p, 100).unwrap(), b"abc");
            // 5001 bytes, the last one unmapped: the first page only.
            let mut data = [3u8; 5001];
            assert_eq!(
                p.write(&mut Mem::faulting(&mut data, 5000), true, false, &mut || {}),
                Ok(4096)
            );
            assert_eq!(read(&p, 70000).unwrap().len(), 4096);
        });
    }

    #[test]
    fn out_of_pages_is_enomem() {
        with_pages(2, || {
            let p = Pipe::new(&PAGES);
            assert_eq!(write(&p, &[0u8; 3 * 4096]), Ok(2 * 4096), "what fitted");
            assert_eq!(write(&p, &[0u8; 4096]), Err(Errno::ENOMEM));
            assert_eq!(read(&p, 4096).unwrap().len(), 4096);
            assert_eq!(write(&p, &[0u8; 4096]), Ok(4096), "memory came back");
        });
    }

    #[test]
    fn packets() {
        with_pages(20, || {
            let p = Pipe::new(&PAGES);
            write_flags(&p, b"abcdef", true).unwrap();
            write_flags(&p, b"gh", true).unwrap();
            assert_eq!(
                read(&p, 3).unwrap(),
                b"abc",
                "the rest of the packet is dropped"
            );
            assert_eq!(read(&p, 10).unwrap(), b"gh", "one packet per read");
            let mut n = 0;
            while write_flags(&p, b"x", true).is_ok() {
                n += 1;
            }
            assert_eq!(n, 16, "one page per packet, as on Linux");
        });
    }
}
