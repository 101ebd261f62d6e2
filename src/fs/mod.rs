//! Files, as much as fork needs to show sharing: the per-process descriptor table
//! (Linux `struct files_struct`, shared with CLONE_FILES), the console, pipes, and the
//! umask/cwd pair (Linux `struct fs_struct`, shared with CLONE_FS). Directories are those
//! of the initrd.

pub mod pipe;

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::{Errno, KResult};

pub enum File {
    Console,
    PipeRead(Arc<pipe::Pipe>),
    PipeWrite(Arc<pipe::Pipe>),
}

impl Drop for File {
    fn drop(&mut self) {
        match self {
            File::Console => {}
            File::PipeRead(p) => p.close_end(false),
            File::PipeWrite(p) => p.close_end(true),
        }
    }
}

/// Most descriptors a process may have open (RLIMIT_NOFILE).
pub const MAX_FDS: usize = 64;

/// A descriptor table: fd -> open file. Cloning it (fork without CLONE_FILES) shares the
/// open files but not the table.
#[derive(Clone, Default)]
pub struct FdTable {
    fds: Vec<Option<Arc<File>>>,
}

impl FdTable {
    /// fds 0, 1 and 2 on the console.
    pub fn with_console() -> FdTable {
        let console = Arc::new(File::Console);
        FdTable {
            fds: alloc::vec![Some(console.clone()), Some(console.clone()), Some(console)],
        }
    }

    pub fn get(&self, fd: i32) -> KResult<Arc<File>> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.fds.get(i))
            .and_then(|f| f.clone())
            .ok_or(Errno::EBADF)
    }

    /// Installs `file` at the lowest free descriptor >= `min`.
    pub fn install(&mut self, file: Arc<File>, min: usize) -> KResult<i32> {
        let slot = (min..MAX_FDS)
            .find(|&i| self.fds.get(i).is_none_or(|f| f.is_none()))
            .ok_or(Errno::EMFILE)?;
        if self.fds.len() <= slot {
            self.fds.resize(slot + 1, None);
        }
        self.fds[slot] = Some(file);
        Ok(slot as i32)
    }

    /// Removes `fd`; the caller drops the returned file outside the table's lock (closing
    /// a pipe end wakes sleepers).
    pub fn remove(&mut self, fd: i32) -> KResult<Arc<File>> {
        let slot = usize::try_from(fd)
            .ok()
            .and_then(|i| self.fds.get_mut(i))
            .ok_or(Errno::EBADF)?;
        slot.take().ok_or(Errno::EBADF)
    }

    /// dup3: `new` refers to `old`'s file; returns what `new` held before.
    pub fn dup_to(&mut self, old: i32, new: i32) -> KResult<Option<Arc<File>>> {
        let file = self.get(old)?;
        let new = usize::try_from(new)
            .ok()
            .filter(|&n| n < MAX_FDS)
            .ok_or(Errno::EBADF)?;
        if self.fds.len() <= new {
            self.fds.resize(new + 1, None);
        }
        Ok(self.fds[new].replace(file))
    }
}

/// Linux `struct fs_struct`: what CLONE_FS shares.
#[derive(Clone)]
pub struct FsStruct {
    pub umask: u32,
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

/// Resolves `path` against `cwd` into an absolute, normalised path ("." and ".." removed).
pub fn resolve(cwd: &str, path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        [path, ""]
    } else {
        [cwd, path]
    };
    for comp in joined.iter().flat_map(|p| p.split('/')) {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    let mut out = String::from("/");
    out.push_str(&parts.join("/"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths() {
        assert_eq!(resolve("/", "bin"), "/bin");
        assert_eq!(resolve("/bin", ".."), "/");
        assert_eq!(resolve("/bin", "../tmp/./x/"), "/tmp/x");
        assert_eq!(resolve("/bin", "/"), "/");
        assert_eq!(resolve("/", "../.."), "/");
    }

    #[test]
    fn descriptor_table_lowest_free_and_dup() {
        let mut t = FdTable::with_console();
        assert!(matches!(*t.get(1).unwrap(), File::Console));
        assert_eq!(t.get(3).err(), Some(Errno::EBADF));
        assert_eq!(t.get(-1).err(), Some(Errno::EBADF));
        let _old = t.remove(1).unwrap();
        assert_eq!(t.install(Arc::new(File::Console), 0), Ok(1));
        assert_eq!(t.install(Arc::new(File::Console), 0), Ok(3));
        assert!(t.dup_to(0, 10).unwrap().is_none());
        assert!(t.get(10).is_ok());
        assert!(t.remove(10).is_ok());
        assert_eq!(t.remove(10).err(), Some(Errno::EBADF));
        let copy = t.clone();
        t.remove(0).unwrap();
        assert!(copy.get(0).is_ok(), "a copied table is independent");
    }
}
