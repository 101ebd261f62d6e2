//! Files, as much as fork needs to show sharing: open files (Linux `struct file`, with
//! their status flags), the per-process descriptor table (Linux `struct files_struct`,
//! shared with CLONE_FILES, with a close-on-exec flag per descriptor and RLIMIT_NOFILE
//! enforced by the caller's limit), the console, pipes, the umask/cwd pair (Linux
//! `struct fs_struct`, shared with CLONE_FS), and path lookup over the initrd's
//! directories (Linux fs/namei.c `path_lookupat`: paths are bytes, PATH_MAX and NAME_MAX
//! as Linux's).

pub mod pipe;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Errno, KResult};

/// open(2) status flags this kernel knows (include/uapi/asm-generic/fcntl.h, arm64).
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DIRECT: u32 = 0o200000;
pub const O_CLOEXEC: u32 = 0o2000000;
/// O_EXCL, which pipe2 reads as O_NOTIFICATION_PIPE.
pub const O_NOTIFICATION_PIPE: u32 = 0o200;

/// Longest path, NUL included (Linux PATH_MAX), and longest path component (NAME_MAX).
pub const PATH_MAX: usize = 4096;
pub const NAME_MAX: usize = 255;

/// Checks that the kernel heap can still give `bytes` at once, else ENOMEM (what Linux's
/// failed allocation returns). `Arc::new` cannot fail gracefully on stable Rust, so a
/// system call that is about to create a few small objects first reserves their total
/// as one block and gives it back: with one CPU and a kernel that is not preempted,
/// nothing else allocates in between, and the block can be split for them.
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

/// What an open file is.
pub enum FileKind {
    Console,
    PipeRead(Arc<pipe::Pipe>),
    PipeWrite(Arc<pipe::Pipe>),
}

/// An open file (Linux `struct file`): shared by the descriptors dup and fork make.
pub struct File {
    pub kind: FileKind,
    /// Status flags (Linux `f_flags`): O_NONBLOCK, O_DIRECT. Per open file, so that a
    /// later fcntl(F_SETFL) changes them for every descriptor sharing the file.
    flags: AtomicU32,
}

impl File {
    pub fn new(kind: FileKind, flags: u32) -> File {
        File {
            kind,
            flags: AtomicU32::new(flags),
        }
    }

    pub fn console() -> File {
        File::new(FileKind::Console, 0)
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
}

impl Drop for File {
    fn drop(&mut self) {
        match &self.kind {
            FileKind::Console => {}
            FileKind::PipeRead(p) => p.close_end(false),
            FileKind::PipeWrite(p) => p.close_end(true),
        }
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

/// Linux `struct fs_struct`: what CLONE_FS shares.
#[derive(Clone)]
pub struct FsStruct {
    pub umask: u32,
    /// Always an existing directory of the initrd, absolute and normalised.
    pub cwd: String,
}

impl FsStruct {
    pub fn new() -> FsStruct {
        FsStruct {
            umask: 0o022,
            cwd: String::from("/"),
        }
    }
}

impl Default for FsStruct {
    fn default() -> Self {
        Self::new()
    }
}

/// What a path names.
#[derive(Debug, PartialEq, Eq)]
pub struct Found {
    /// Absolute and normalised ("." and ".." gone).
    pub path: String,
    pub is_dir: bool,
}

/// Linux `path_lookupat`, component by component, over a tree that `kind` describes:
/// `kind(absolute path)` is Some(true) for a directory, Some(false) for a file, None if
/// nothing is there. `path` is bytes (PATH_MAX was checked when it was copied in) and is
/// resolved against `cwd` unless absolute. Errors as Linux's: ENOENT for a missing
/// component or an empty path, ENOTDIR when a file is followed by anything (even "/", "."
/// or ".."), ENAMETOOLONG for a component longer than NAME_MAX that has to be looked up.
/// The initrd's names are ASCII, so a name that is not UTF-8 is simply not there.
pub fn lookup(cwd: &str, path: &[u8], kind: impl Fn(&str) -> Option<bool>) -> KResult<Found> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut at = String::new();
    let start = if path[0] == b'/' {
        ""
    } else {
        cwd.trim_end_matches('/')
    };
    at.try_reserve(start.len() + path.len() + 1)
        .map_err(|_| Errno::ENOMEM)?;
    at.push_str(start);
    let mut is_dir = true;
    for comp in path.split(|&b| b == b'/') {
        if !is_dir {
            return Err(Errno::ENOTDIR);
        }
        match comp {
            b"" | b"." => {}
            b".." => {
                let parent = at.rfind('/').unwrap_or(0);
                at.truncate(parent);
            }
            name => {
                if name.len() > NAME_MAX {
                    return Err(Errno::ENAMETOOLONG);
                }
                let name = core::str::from_utf8(name).map_err(|_| Errno::ENOENT)?;
                at.push('/');
                at.push_str(name);
                is_dir = kind(&at).ok_or(Errno::ENOENT)?;
            }
        }
    }
    if at.is_empty() {
        at.push('/');
    }
    Ok(Found { path: at, is_dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(p: &str) -> Option<bool> {
        match p {
            "/bin" | "/tmp" | "/tmp/x" => Some(true),
            "/bin/hello" | "/init" => Some(false),
            _ => None,
        }
    }

    fn look(cwd: &str, path: &[u8]) -> KResult<(String, bool)> {
        lookup(cwd, path, tree).map(|f| (f.path, f.is_dir))
    }

    #[test]
    fn resolves_paths() {
        assert_eq!(look("/", b"bin"), Ok(("/bin".into(), true)));
        assert_eq!(look("/bin", b".."), Ok(("/".into(), true)));
        assert_eq!(look("/bin", b"../tmp/./x/"), Ok(("/tmp/x".into(), true)));
        assert_eq!(look("/bin", b"/"), Ok(("/".into(), true)));
        assert_eq!(look("/", b"../.."), Ok(("/".into(), true)));
        assert_eq!(look("/bin", b"hello"), Ok(("/bin/hello".into(), false)));
        assert_eq!(look("/", b"//bin//hello"), Ok(("/bin/hello".into(), false)));
    }

    #[test]
    fn lookup_errors_are_linux_s() {
        assert_eq!(look("/", b""), Err(Errno::ENOENT));
        assert_eq!(look("/", b"/nope"), Err(Errno::ENOENT));
        assert_eq!(look("/", b"/init/"), Err(Errno::ENOTDIR));
        assert_eq!(look("/", b"/init/."), Err(Errno::ENOTDIR));
        assert_eq!(look("/", b"/init/.."), Err(Errno::ENOTDIR));
        assert_eq!(look("/", b"/init/x"), Err(Errno::ENOTDIR));
        assert_eq!(
            look("/", b"/\xff\xfe"),
            Err(Errno::ENOENT),
            "bytes, not UTF-8"
        );
        let mut long = std::vec![b'/'];
        long.extend([b'a'; 255]);
        assert_eq!(look("/", &long), Err(Errno::ENOENT), "255 bytes is a name");
        long.push(b'a');
        assert_eq!(look("/", &long), Err(Errno::ENAMETOOLONG));
        let mut deeper = b"/nope/".to_vec();
        deeper.extend([b'a'; 300]);
        assert_eq!(
            look("/", &deeper),
            Err(Errno::ENOENT),
            "the missing directory first"
        );
        let dots: std::vec::Vec<u8> = b"/"
            .iter()
            .chain(b"./".repeat(2000).iter())
            .copied()
            .collect();
        assert_eq!(look("/", &dots), Ok(("/".into(), true)));
    }

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
