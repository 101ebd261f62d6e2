//! Inodes (Linux `struct inode`) and the tmpfs that keeps them (Linux mm/shmem.c,
//! fs/libfs.c): an inode is a file's attributes and contents; a directory's contents
//! are its entries, name → inode. There is no disk: a tmpfs inode lives as long as a
//! directory entry or an open file refers to it (`Arc`), and a regular file's data lives
//! in its page cache (fs/page_cache.rs), in page frames.
//!
//! ```text
//!   Dir "/"  ──entries──►  "bin" ─► Dir ──► "hello" ─► Regular (pages: 0 ─► frame, 1 ─► frame)
//!                          "tmp" ─► Dir                 ▲
//!                                                       └── File (open: offset, flags)
//! ```

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use super::page_cache::PageCache;
use crate::error::{Errno, KResult};
use crate::mm::frame::PAGE_SIZE;
use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;
use crate::sync::sleeplock::SleepLock;

/// File type bits of `st_mode` (include/uapi/linux/stat.h).
pub const S_IFMT: u32 = 0o170000;
pub const S_IFIFO: u32 = 0o010000;
pub const S_IFCHR: u32 = 0o020000;
pub const S_IFDIR: u32 = 0o040000;
pub const S_IFBLK: u32 = 0o060000;
pub const S_IFREG: u32 = 0o100000;
pub const S_IFLNK: u32 = 0o120000;
pub const S_IFSOCK: u32 = 0o140000;
/// The permission bits and set-id/sticky bits that chmod may change.
pub const S_IALLUGO: u32 = 0o7777;

/// Linux MAX_LFS_FILESIZE on 64-bit: the largest offset a file may reach.
pub const MAX_FILE_SIZE: u64 = i64::MAX as u64;

/// A time stamp (Linux `struct timespec64`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timespec {
    pub sec: i64,
    pub nsec: i64,
}

/// The time stamps get: the wall clock (CLOCK_REALTIME).
pub fn now() -> Timespec {
    let ns = crate::time::realtime_ns();
    Timespec {
        sec: (ns / 1_000_000_000) as i64,
        nsec: (ns % 1_000_000_000) as i64,
    }
}

/// Which file system an inode belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsType {
    Tmpfs,
    Proc,
}

/// One mounted file system instance (Linux `struct super_block`): its device number,
/// inode numbers and, for tmpfs, its limits (Linux's defaults: half of RAM in pages and
/// as many inodes as half of RAM's pages; beyond them ENOSPC).
pub struct SuperBlock {
    pub fstype: FsType,
    /// st_dev (anonymous devices 0:N, as Linux's tmpfs and proc get).
    pub dev: u64,
    next_ino: AtomicU64,
    pub max_pages: usize,
    pub used_pages: AtomicUsize,
    pub max_inodes: usize,
    pub used_inodes: AtomicUsize,
    /// The inode number of its root directory (mount.rs: is this inode a mount's root?).
    pub root_ino: AtomicU64,
}

static NEXT_DEV: AtomicU64 = AtomicU64::new(16);

impl SuperBlock {
    pub fn new(fstype: FsType, max_pages: usize) -> SuperBlock {
        SuperBlock {
            fstype,
            dev: NEXT_DEV.fetch_add(1, Ordering::Relaxed),
            next_ino: AtomicU64::new(1),
            max_pages,
            used_pages: AtomicUsize::new(0),
            // procfs makes an inode per lookup, freed with its last user: no budget.
            max_inodes: if fstype == FsType::Proc {
                usize::MAX
            } else {
                max_pages.max(64)
            },
            used_inodes: AtomicUsize::new(0),
            root_ino: AtomicU64::new(0),
        }
    }

    pub fn alloc_ino(&self) -> u64 {
        self.next_ino.fetch_add(1, Ordering::Relaxed)
    }

    /// Takes `n` pages of the file system's budget: ENOSPC beyond it.
    pub fn charge_pages(&self, n: usize) -> KResult<()> {
        let used = self.used_pages.fetch_add(n, Ordering::Relaxed);
        if used + n > self.max_pages {
            self.used_pages.fetch_sub(n, Ordering::Relaxed);
            return Err(Errno::ENOSPC);
        }
        Ok(())
    }

    pub fn uncharge_pages(&self, n: usize) {
        self.used_pages.fetch_sub(n, Ordering::Relaxed);
    }
}

/// An inode's attributes (what stat reports) and a regular file's pages.
pub struct InodeData {
    /// Type and permission bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub nlink: u32,
    /// Bytes (regular files, symlinks); 0 for the rest.
    pub size: u64,
    pub atime: Timespec,
    pub mtime: Timespec,
    pub ctime: Timespec,
    /// Device number of a device inode (st_rdev).
    pub rdev: u64,
    /// A regular file's contents.
    pub pages: PageCache,
}

/// A directory entry.
pub struct DirEntry {
    pub name: Vec<u8>,
    pub inode: Arc<Inode>,
    /// Its position for getdents64 (`d_off`): entries keep increasing cookies, so a
    /// listing resumed after entries were removed skips none and repeats none.
    pub cookie: u64,
}

/// A tmpfs directory's contents.
pub struct Dir {
    pub entries: Vec<DirEntry>,
    next_cookie: u64,
    /// ".." (the root of a file system points to itself: `Weak::new()`).
    pub parent: Weak<Inode>,
}

/// The first cookies: "." is 0 and ".." 1 in a listing.
const FIRST_COOKIE: u64 = 2;

impl Dir {
    pub fn new(parent: Weak<Inode>) -> Dir {
        Dir {
            entries: Vec::new(),
            next_cookie: FIRST_COOKIE,
            parent,
        }
    }

    pub fn find(&self, name: &[u8]) -> Option<&DirEntry> {
        self.entries.iter().find(|e| e.name == name)
    }

    fn index(&self, name: &[u8]) -> Option<usize> {
        self.entries.iter().position(|e| e.name == name)
    }

    /// Adds `name` → `inode` (the caller checked that `name` is not there).
    pub fn insert(&mut self, name: &[u8], inode: Arc<Inode>) -> KResult<()> {
        let mut owned = Vec::new();
        owned
            .try_reserve_exact(name.len())
            .map_err(|_| Errno::ENOMEM)?;
        owned.extend_from_slice(name);
        self.entries.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        let cookie = self.next_cookie;
        self.next_cookie += 1;
        self.entries.push(DirEntry {
            name: owned,
            inode,
            cookie,
        });
        Ok(())
    }

    /// Removes `name`; returns its inode.
    pub fn remove(&mut self, name: &[u8]) -> Option<Arc<Inode>> {
        let i = self.index(name)?;
        let inode = self.entries.remove(i).inode;
        // Give memory back as the directory empties (a directory that once held many
        // files must not keep their room for ever: the leak checks would see it).
        if self.entries.len() <= self.entries.capacity() / 4 {
            self.entries.shrink_to(self.entries.len() * 2);
        }
        Some(inode)
    }

    /// Points the existing entry `name` at `inode`; returns what it held.
    pub fn replace(&mut self, name: &[u8], inode: Arc<Inode>) -> Option<Arc<Inode>> {
        let i = self.index(name)?;
        Some(core::mem::replace(&mut self.entries[i].inode, inode))
    }

    /// The entries from position `pos` on (getdents64).
    pub fn entries_from(&self, pos: u64) -> impl Iterator<Item = &DirEntry> {
        let start = self.entries.partition_point(|e| e.cookie < pos);
        self.entries[start..].iter()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What an inode is. The variant never changes.
pub enum Kind {
    Regular,
    Dir(OrderedMutex<Dir>),
    /// The link's target, as given to symlink(2).
    Symlink(Vec<u8>),
    /// A FIFO (named pipe): the pipe exists while it is open (fs/fifo.rs).
    Fifo(super::fifo::Fifo),
    /// A character device; `InodeData::rdev` says which (fs/dev.rs).
    CharDev,
    /// A file, directory or symlink of /proc, made up when it is looked up
    /// (fs/procfs.rs, src/proc/).
    Proc(alloc::boxed::Box<dyn super::procfs::ProcNode>),
}

pub struct Inode {
    pub ino: u64,
    pub sb: Arc<SuperBlock>,
    pub kind: Kind,
    pub data: OrderedMutex<InodeData>,
    /// Linux `i_rwsem`: held by a writer of a regular file for the whole write (so that
    /// O_APPEND writes do not interleave) and by truncate.
    pub rw: SleepLock,
    /// A file system is mounted on this directory (fs/mount.rs has which).
    pub mounted: AtomicBool,
    /// Linux `i_writecount`: open files that may write it (> 0), or programs running
    /// from it (< 0). One excludes the other: ETXTBSY.
    write_count: core::sync::atomic::AtomicI32,
    /// The address spaces that map this file (Linux `i_mmap`, the reverse map of a
    /// file): truncate unmaps the pages past the new end from each.
    #[cfg(target_os = "none")]
    pub mappers: OrderedMutex<Vec<Weak<crate::mm::global::Mm>>>,
}

impl Inode {
    /// A new inode of `sb` with `mode` (type included). Checks the inode budget.
    pub fn new(sb: &Arc<SuperBlock>, mode: u32, kind: Kind) -> KResult<Arc<Inode>> {
        Inode::with_ino(sb, sb.alloc_ino(), mode, kind)
    }

    /// The same with a given inode number (procfs numbers its inodes after what they
    /// show, so that a file keeps its number from one lookup to the next).
    pub fn with_ino(sb: &Arc<SuperBlock>, ino: u64, mode: u32, kind: Kind) -> KResult<Arc<Inode>> {
        if sb.used_inodes.fetch_add(1, Ordering::Relaxed) >= sb.max_inodes {
            sb.used_inodes.fetch_sub(1, Ordering::Relaxed);
            return Err(Errno::ENOSPC);
        }
        let t = now();
        let inode = Inode {
            ino,
            sb: sb.clone(),
            kind,
            data: OrderedMutex::new(
                Level::Inode,
                InodeData {
                    mode,
                    uid: 0,
                    gid: 0,
                    nlink: if mode & S_IFMT == S_IFDIR { 2 } else { 1 },
                    size: 0,
                    atime: t,
                    mtime: t,
                    ctime: t,
                    rdev: 0,
                    pages: PageCache::new(),
                },
            ),
            rw: SleepLock::new(),
            mounted: AtomicBool::new(false),
            write_count: core::sync::atomic::AtomicI32::new(0),
            #[cfg(target_os = "none")]
            mappers: OrderedMutex::new(Level::Process, Vec::new()),
        };
        // On failure the half-built inode's Drop gives the inode budget back.
        super::heap_precheck(size_of::<Inode>() + 16)?;
        Ok(Arc::new(inode))
    }

    /// A new empty directory below `parent` (None: the root of its file system).
    pub fn new_dir(
        sb: &Arc<SuperBlock>,
        perm: u32,
        parent: Option<&Arc<Inode>>,
    ) -> KResult<Arc<Inode>> {
        let is_root = parent.is_none();
        let parent = parent.map_or_else(Weak::new, Arc::downgrade);
        let dir = Inode::new(
            sb,
            S_IFDIR | (perm & S_IALLUGO),
            Kind::Dir(OrderedMutex::new(Level::Process, Dir::new(parent))),
        )?;
        if is_root {
            sb.root_ino.store(dir.ino, Ordering::Relaxed);
        }
        Ok(dir)
    }

    pub fn mode(&self) -> u32 {
        self.data.lock().mode
    }

    pub fn file_type(&self) -> u32 {
        match &self.kind {
            Kind::Regular => S_IFREG,
            Kind::Dir(_) => S_IFDIR,
            Kind::Symlink(_) => S_IFLNK,
            Kind::Fifo(_) => S_IFIFO,
            Kind::CharDev => S_IFCHR,
            Kind::Proc(p) => p.file_type(),
        }
    }

    pub fn is_dir(&self) -> bool {
        self.file_type() == S_IFDIR
    }

    pub fn dir(&self) -> KResult<&OrderedMutex<Dir>> {
        match &self.kind {
            Kind::Dir(d) => Ok(d),
            _ => Err(Errno::ENOTDIR),
        }
    }

    pub fn size(&self) -> u64 {
        self.data.lock().size
    }

    /// Marks the inode's contents changed (mtime and ctime now).
    pub fn touch_mtime(&self) {
        let t = now();
        let mut d = self.data.lock();
        d.mtime = t;
        d.ctime = t;
    }

    pub fn touch_ctime(&self) {
        self.data.lock().ctime = now();
    }

    /// Sets a regular file's size (truncate, ftruncate, O_TRUNC): pages past the end are
    /// dropped, and the part of the last page past the end zeroed, so that growing the
    /// file again reads zeros there. Needs `rw` held (no concurrent write).
    pub fn set_size(&self, size: u64) -> KResult<()> {
        if size > MAX_FILE_SIZE {
            return Err(Errno::EFBIG);
        }
        let frames = super::frames();
        let mut d = self.data.lock();
        if size < d.size {
            let before = d.pages.pages();
            let keep = (size as usize).div_ceil(PAGE_SIZE);
            d.pages.truncate_pages(frames, keep);
            let tail = size as usize % PAGE_SIZE;
            if tail != 0
                && let Some(page) = d.pages.lookup(size as usize / PAGE_SIZE)
            {
                // SAFETY: a page of this file, under its data lock, which writers also
                // take to update the page's bytes... they copy without it, but hold
                // `rw`, which the caller holds: no writer runs.
                unsafe { super::page_cache::page_bytes(page, tail, PAGE_SIZE - tail) }.fill(0);
            }
            self.sb.uncharge_pages(before - d.pages.pages());
        }
        let shrunk = size < d.size;
        d.size = size;
        let t = now();
        d.mtime = t;
        d.ctime = t;
        drop(d);
        #[cfg(target_os = "none")]
        if shrunk {
            self.unmap_from(size.div_ceil(PAGE_SIZE as u64) as usize);
        }
        #[cfg(not(target_os = "none"))]
        let _ = shrunk;
        Ok(())
    }

    /// Linux `get_write_access`: an open for writing; ETXTBSY while it runs as a program.
    pub fn get_write_access(&self) -> KResult<()> {
        self.write_count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n >= 0).then_some(n + 1)
            })
            .map(|_| ())
            .map_err(|_| Errno::ETXTBSY)
    }

    pub fn put_write_access(&self) {
        self.write_count.fetch_sub(1, Ordering::AcqRel);
    }

    /// Linux `deny_write_access`: exec; ETXTBSY while it is open for writing.
    pub fn deny_write_access(&self) -> KResult<()> {
        self.write_count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n <= 0).then_some(n - 1)
            })
            .map(|_| ())
            .map_err(|_| Errno::ETXTBSY)
    }

    pub fn allow_write_access(&self) {
        self.write_count.fetch_add(1, Ordering::AcqRel);
    }

    /// Is it running as a program now? (truncate: ETXTBSY.)
    pub fn is_running(&self) -> bool {
        self.write_count.load(Ordering::Acquire) < 0
    }

    /// Records that `mm` maps this file (mmap).
    #[cfg(target_os = "none")]
    pub fn add_mapper(&self, mm: &Arc<crate::mm::global::Mm>) -> KResult<()> {
        let mut m = self.mappers.lock();
        m.retain(|w| w.strong_count() > 0);
        if m.iter().any(|w| core::ptr::eq(w.as_ptr(), Arc::as_ptr(mm))) {
            return Ok(());
        }
        m.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        m.push(Arc::downgrade(mm));
        Ok(())
    }

    /// Unmaps pages from `first` on from every address space mapping this file.
    #[cfg(target_os = "none")]
    fn unmap_from(&self, first: usize) {
        let mms: Vec<_> = self
            .mappers
            .lock()
            .iter()
            .filter_map(|w| w.upgrade())
            .collect();
        let id = self as *const Inode as usize;
        for mm in mms {
            mm.with(|space, frames| space.zap_file_pages(frames, id, first));
        }
    }
}

impl Drop for Inode {
    fn drop(&mut self) {
        let d = self.data.get_mut();
        let pages = d.pages.pages();
        if d.pages.frames() > 0 {
            d.pages.clear(super::frames());
        }
        self.sb.uncharge_pages(pages);
        self.sb.used_inodes.fetch_sub(1, Ordering::Relaxed);
    }
}
