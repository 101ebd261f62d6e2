//! Files: a small VFS (Linux fs/), read top-down from a system call to the inode:
//!
//! ```text
//!  syscall/file.rs, syscall/path.rs   openat, read, mkdirat, ...   (the system calls)
//!        │
//!  fs/mod.rs      FdTable: fd ─► File        FsStruct: root, cwd, umask
//!  fs/file.rs     File: inode + offset + flags; read/write of regular files
//!  fs/namei.rs    path ─► inode: components, "..", mounts, symlinks
//!  fs/inode.rs    Inode: attributes; tmpfs directories (name ─► inode)
//!  fs/page_cache.rs  a file's pages, in page frames
//!  fs/mount.rs    which file system is mounted where
//!  fs/dev.rs, fs/fifo.rs, fs/pipe.rs, fs/procfs.rs   devices, FIFOs, pipes, /proc
//!                 (whose files src/proc/ makes)
//!  fs/poll.rs     readiness of every kind of file; fs/epoll.rs, fs/eventfd.rs
//!  fs/initramfs.rs   the root tmpfs, filled from the initrd's cpio archive at boot
//! ```
//!
//! This file holds the per-process parts: the descriptor table (Linux `struct
//! files_struct`, shared with CLONE_FILES, with a close-on-exec flag per descriptor and
//! RLIMIT_NOFILE enforced by the caller's limit) and the root/cwd/umask triple (Linux
//! `struct fs_struct`, shared with CLONE_FS).

pub mod cpio;
pub mod dev;
pub mod epoll;
pub mod eventfd;
pub mod fifo;
pub mod file;
#[cfg(target_os = "none")]
pub mod initramfs;
pub mod inode;
pub mod lock;
pub mod mount;
pub mod namei;
pub mod page_cache;
pub mod pipe;
pub mod poll;
pub mod procfs;
pub mod tmpfs;

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::{Errno, KResult};
use crate::mm::frame::FrameAllocator;

pub use file::{File, FileKind, O_CLOEXEC, O_DIRECT, O_NONBLOCK, O_NOTIFICATION_PIPE};
use inode::Inode;

/// Longest path, NUL included (Linux PATH_MAX), and longest path component (NAME_MAX).
pub const PATH_MAX: usize = 4096;
pub const NAME_MAX: usize = 255;

/// The bytes a write takes (user memory, or a kernel buffer).
pub trait Source {
    fn remaining(&self) -> usize;
    /// Fills all of `dst` with the next bytes and moves past them; on a fault, EFAULT and
    /// nothing is consumed.
    fn read_into(&mut self, dst: &mut [u8]) -> KResult<()>;
    /// Bytes that can be taken in one piece (up to the end of the current iovec): a
    /// copy never spans two user buffers, so a fault in the second still lets the first
    /// count (writev's short count).
    fn contiguous(&self) -> usize {
        self.remaining()
    }
}

/// Where a read puts its bytes.
pub trait Sink {
    fn remaining(&self) -> usize;
    /// Stores all of `src` and moves past it; on a fault, EFAULT.
    fn write_from(&mut self, src: &[u8]) -> KResult<()>;
    /// Bytes that can be stored in one piece (see `Source::contiguous`).
    fn contiguous(&self) -> usize {
        self.remaining()
    }
}

/// "/" — the root of the root file system (fs/initramfs.rs makes it at boot).
static ROOT: spin::Once<Arc<Inode>> = spin::Once::new();

pub fn set_root(root: Arc<Inode>) {
    ROOT.call_once(|| root);
}

pub fn root() -> Arc<Inode> {
    ROOT.get().expect("no root file system").clone()
}

/// The frame allocator file data comes from.
#[cfg(target_os = "none")]
pub fn frames() -> &'static FrameAllocator {
    crate::mm::global::frames()
}

/// Host unit tests of the file system never store file data.
#[cfg(not(target_os = "none"))]
pub fn frames() -> &'static FrameAllocator {
    panic!("host tests of fs/ use no page frames")
}

/// Checks that the kernel heap can still give `bytes` at once, else ENOMEM (what Linux's
/// failed allocation returns). `Arc::new` cannot fail gracefully on stable Rust, so a
/// system call that is about to create a few small objects first reserves their total
/// as one block and gives it back.
pub fn heap_precheck(bytes: usize) -> KResult<()> {
    #[cfg(target_os = "none")]
    {
        crate::mm::heap::reserve(bytes) // grows the heap if it can; fault injection hooks here
    }
    #[cfg(not(target_os = "none"))]
    {
        let mut probe: Vec<u8> = Vec::new();
        probe.try_reserve_exact(bytes).map_err(|_| Errno::ENOMEM)
    }
}

/// One descriptor: the open file and its close-on-exec flag (Linux keeps the flag in
/// the table's `close_on_exec` bitmap, not in the file).
#[derive(Clone)]
pub struct FdEntry {
    pub file: Arc<File>,
    pub cloexec: bool,
}

#[derive(Clone, Default)]
enum Slot {
    #[default]
    Free,
    /// Taken, not yet visible (Linux: set in `open_fds`, NULL in `fd[]`): pipe2 reserves
    /// both descriptors before it copies them to user memory.
    Reserved,
    Open(FdEntry),
}

/// A descriptor table: fd -> open file. A copy (fork without CLONE_FILES) shares the open
/// files but not the table. The table grows as needed (fallibly) up to the caller's
/// RLIMIT_NOFILE, which every allocating method takes as `limit`.
#[derive(Default)]
pub struct FdTable {
    fds: Vec<Slot>,
}

fn index(fd: i32) -> Option<usize> {
    usize::try_from(fd).ok()
}

impl FdTable {
    /// fds 0, 1 and 2 on the console.
    pub fn with_console() -> FdTable {
        let console = Arc::new(File::console());
        let open = |f: &Arc<File>| {
            Slot::Open(FdEntry {
                file: f.clone(),
                cloexec: false,
            })
        };
        FdTable {
            fds: alloc::vec![open(&console), open(&console), open(&console)],
        }
    }

    /// Linux `dup_fd`: a copy for fork, without descriptors a sibling thread has only
    /// reserved, and without the free tail. ENOMEM instead of a failed allocation.
    pub fn try_clone(&self) -> KResult<FdTable> {
        let used = self
            .fds
            .iter()
            .rposition(|s| matches!(s, Slot::Open(_)))
            .map_or(0, |i| i + 1);
        let mut fds = Vec::new();
        fds.try_reserve_exact(used).map_err(|_| Errno::ENOMEM)?;
        fds.extend(self.fds[..used].iter().map(|s| match s {
            Slot::Open(e) => Slot::Open(e.clone()),
            _ => Slot::Free,
        }));
        Ok(FdTable { fds })
    }

    pub fn get(&self, fd: i32) -> KResult<Arc<File>> {
        self.entry(fd).map(|e| e.file.clone())
    }

    pub fn entry(&self, fd: i32) -> KResult<&FdEntry> {
        match index(fd).and_then(|i| self.fds.get(i)) {
            Some(Slot::Open(e)) => Ok(e),
            _ => Err(Errno::EBADF),
        }
    }

    /// Makes room for descriptor `fd` (Linux `expand_files`).
    fn expand(&mut self, fd: usize) -> KResult<()> {
        if fd < self.fds.len() {
            return Ok(());
        }
        let want = (fd + 1).max(self.fds.len() * 2).max(8);
        self.fds
            .try_reserve_exact(want - self.fds.len())
            .or_else(|_| self.fds.try_reserve_exact(fd + 1 - self.fds.len()))
            .map_err(|_| Errno::ENOMEM)?;
        self.fds.resize(fd + 1, Slot::Free);
        Ok(())
    }

    /// Linux `alloc_fd`: reserves the lowest free descriptor in [`min`, `limit`).
    pub fn reserve(&mut self, min: usize, limit: usize) -> KResult<i32> {
        let fd = (min..limit.min(self.fds.len()))
            .find(|&i| matches!(self.fds[i], Slot::Free))
            .unwrap_or(self.fds.len().max(min));
        if fd >= limit || fd > i32::MAX as usize {
            return Err(Errno::EMFILE);
        }
        self.expand(fd)?;
        self.fds[fd] = Slot::Reserved;
        Ok(fd as i32)
    }

    /// Linux `fd_install`: makes a reserved descriptor refer to `file`.
    pub fn install_reserved(&mut self, fd: i32, file: Arc<File>, cloexec: bool) {
        let slot = &mut self.fds[fd as usize];
        debug_assert!(matches!(slot, Slot::Reserved));
        *slot = Slot::Open(FdEntry { file, cloexec });
    }

    /// Linux `put_unused_fd`: gives back a reserved descriptor.
    pub fn unreserve(&mut self, fd: i32) {
        if let Some(slot @ Slot::Reserved) = index(fd).and_then(|i| self.fds.get_mut(i)) {
            *slot = Slot::Free;
        }
    }

    /// Installs `file` at the lowest free descriptor in [`min`, `limit`): EMFILE if none.
    pub fn install(
        &mut self,
        file: Arc<File>,
        min: usize,
        limit: usize,
        cloexec: bool,
    ) -> KResult<i32> {
        let fd = self.reserve(min, limit)?;
        self.install_reserved(fd, file, cloexec);
        Ok(fd)
    }

    /// Removes `fd`; the caller drops the returned file outside the table's lock (closing
    /// a pipe end wakes sleepers).
    pub fn remove(&mut self, fd: i32) -> KResult<Arc<File>> {
        let slot = index(fd)
            .and_then(|i| self.fds.get_mut(i))
            .ok_or(Errno::EBADF)?;
        match core::mem::take(slot) {
            Slot::Open(e) => Ok(e.file),
            other => {
                *slot = other;
                Err(Errno::EBADF)
            }
        }
    }

    /// Linux `ksys_dup3` after its flag checks: `new` refers to `old`'s file with the given
    /// close-on-exec flag; returns what `new` held before. `new` must be below `limit`
    /// (EBADF); a descriptor another thread has only reserved is EBUSY.
    pub fn dup_to(
        &mut self,
        old: i32,
        new: u32,
        limit: usize,
        cloexec: bool,
    ) -> KResult<Option<Arc<File>>> {
        let new = new as usize;
        if new >= limit {
            return Err(Errno::EBADF);
        }
        self.expand(new)?;
        let file = self.get(old)?;
        match core::mem::replace(&mut self.fds[new], Slot::Open(FdEntry { file, cloexec })) {
            Slot::Open(e) => Ok(Some(e.file)),
            Slot::Free => Ok(None),
            Slot::Reserved => {
                self.fds[new] = Slot::Reserved;
                Err(Errno::EBUSY)
            }
        }
    }

    /// The table's size as Linux's select sees it (`fdt->max_fds`): 64 descriptors,
    /// doubled as higher ones are opened. select looks no further.
    pub fn max_fds(&self) -> usize {
        if self.fds.len() <= 64 {
            64
        } else {
            self.fds.len().next_power_of_two()
        }
    }

    /// Who owns the POSIX locks taken through this table (fs/lock.rs): its address.
    pub fn lock_owner(&self) -> usize {
        self as *const FdTable as usize
    }

    /// fcntl(F_SETFD), FIOCLEX: sets or clears `fd`'s close-on-exec flag.
    pub fn set_cloexec(&mut self, fd: i32, on: bool) -> KResult<()> {
        match index(fd).and_then(|i| self.fds.get_mut(i)) {
            Some(Slot::Open(e)) => {
                e.cloexec = on;
                Ok(())
            }
            _ => Err(Errno::EBADF),
        }
    }

    /// close_range(CLOSE_RANGE_CLOEXEC): marks `first..=last` close-on-exec.
    pub fn set_cloexec_range(&mut self, first: usize, last: usize) {
        for slot in self.fds.iter_mut().take(last.saturating_add(1)).skip(first) {
            if let Slot::Open(e) = slot {
                e.cloexec = true;
            }
        }
    }

    /// close_range: removes the first open descriptor in `from..=last`, returning it and
    /// its file (closed by the caller outside the lock).
    pub fn take_open_in(&mut self, from: usize, last: usize) -> Option<(usize, Arc<File>)> {
        let end = self.fds.len().min(last.saturating_add(1));
        let fd = (from..end).find(|&i| matches!(self.fds[i], Slot::Open(_)))?;
        match core::mem::take(&mut self.fds[fd]) {
            Slot::Open(e) => Some((fd, e.file)),
            _ => None,
        }
    }

    /// The open files (for /proc/PID/fd and the lock release at exit).
    pub fn open_files(&self) -> impl Iterator<Item = (usize, &Arc<File>)> {
        self.fds.iter().enumerate().filter_map(|(i, s)| match s {
            Slot::Open(e) => Some((i, &e.file)),
            _ => None,
        })
    }

    /// execve (Linux `do_close_on_exec`): removes the first close-on-exec descriptor at or
    /// above `from`, returning it and its file so that the caller closes it outside the
    /// table's lock, then asks again from the next one.
    pub fn take_cloexec(&mut self, from: usize) -> Option<(usize, Arc<File>)> {
        let fd =
            (from..self.fds.len()).find(|&i| matches!(&self.fds[i], Slot::Open(e) if e.cloexec))?;
        match core::mem::take(&mut self.fds[fd]) {
            Slot::Open(e) => Some((fd, e.file)),
            _ => None,
        }
    }
}

impl Drop for FdTable {
    /// The table's last user is gone (exit, exec's unshare): its POSIX locks go too
    /// (Linux: `filp_close` of every descriptor → `locks_remove_posix`).
    fn drop(&mut self) {
        let owner = self.lock_owner();
        for slot in &self.fds {
            if let Slot::Open(e) = slot
                && let Some(inode) = e.file.inode()
            {
                lock::release(owner, Arc::as_ptr(inode) as usize);
            }
        }
    }
}

/// Linux `struct fs_struct`: what CLONE_FS shares — the root (chroot), the current
/// directory and the umask.
#[derive(Clone)]
pub struct FsStruct {
    pub umask: u32,
    pub root: Arc<Inode>,
    pub cwd: Arc<Inode>,
}

impl FsStruct {
    /// Root and cwd at the root of the file system.
    pub fn new(root: Arc<Inode>) -> FsStruct {
        FsStruct {
            umask: 0o022,
            cwd: root.clone(),
            root,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_table_lowest_free_and_dup() {
        let mut t = FdTable::with_console();
        assert!(matches!(t.get(1).unwrap().kind, FileKind::Console));
        assert_eq!(t.get(3).err(), Some(Errno::EBADF));
        assert_eq!(t.get(-1).err(), Some(Errno::EBADF));
        let _old = t.remove(1).unwrap();
        let console = || Arc::new(File::console());
        assert_eq!(t.install(console(), 0, 1024, false), Ok(1));
        assert_eq!(t.install(console(), 0, 1024, false), Ok(3));
        assert!(t.dup_to(0, 10, 1024, false).unwrap().is_none());
        assert!(t.get(10).is_ok());
        assert!(t.remove(10).is_ok());
        assert_eq!(t.remove(10).err(), Some(Errno::EBADF));
        let copy = t.try_clone().unwrap();
        t.remove(0).unwrap();
        assert!(copy.get(0).is_ok(), "a copied table is independent");
    }

    #[test]
    fn descriptor_limit_and_reservations() {
        let mut t = FdTable::with_console();
        let console = || Arc::new(File::console());
        assert_eq!(t.install(console(), 0, 4, false), Ok(3));
        assert_eq!(t.install(console(), 0, 4, false), Err(Errno::EMFILE));
        assert_eq!(
            t.dup_to(0, 4, 4, false).err(),
            Some(Errno::EBADF),
            "new >= limit"
        );
        assert_eq!(
            t.dup_to(9, 3, 4, false).err(),
            Some(Errno::EBADF),
            "old not open"
        );
        assert_eq!(t.dup_to(0, u32::MAX, 4, false).err(), Some(Errno::EBADF));
        // Lowering the limit below open descriptors leaves them open.
        assert!(t.get(3).is_ok());
        assert_eq!(t.install(console(), 0, 2, false), Err(Errno::EMFILE));

        let mut t = FdTable::with_console();
        let r = t.reserve(0, 1024).unwrap();
        assert_eq!(r, 3);
        assert_eq!(t.get(3).err(), Some(Errno::EBADF), "reserved is not open");
        assert_eq!(t.remove(3).err(), Some(Errno::EBADF));
        assert_eq!(t.dup_to(0, 3, 1024, false).err(), Some(Errno::EBUSY));
        assert_eq!(t.reserve(0, 1024), Ok(4));
        let copy = t.try_clone().unwrap();
        assert_eq!(copy.fds.len(), 3, "reservations are not copied");
        t.unreserve(4);
        t.install_reserved(3, console(), true);
        assert!(t.get(3).is_ok());
        assert_eq!(t.install(console(), 0, 1024, false), Ok(4));
    }

    #[test]
    fn close_on_exec() {
        let mut t = FdTable::with_console();
        let console = || Arc::new(File::console());
        t.install(console(), 0, 64, true).unwrap();
        t.install(console(), 0, 64, false).unwrap();
        t.dup_to(0, 40, 64, true).unwrap();
        let mut closed = std::vec::Vec::new();
        let mut from = 0;
        while let Some((fd, _file)) = t.take_cloexec(from) {
            closed.push(fd);
            from = fd + 1;
        }
        assert_eq!(closed, [3, 40]);
        assert!(t.get(4).is_ok() && t.get(3).is_err() && t.get(40).is_err());
        // The flag belongs to the descriptor, not to the file.
        assert!(!t.entry(0).unwrap().cloexec);
    }
}
