//! The file layer's side of /proc (Linux fs/proc/): what an inode of a procfs needs to
//! be walked, listed, read and followed. The files themselves describe processes and
//! the kernel, so they are made in src/proc/, which may look at tasks and memory; it
//! registers its root here at boot (as the scheduler registers its wait operations in
//! sync/wait.rs), and the file layer never names a task.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::Sink;
use super::inode::Inode;
use crate::error::{Errno, KResult};

/// A directory listing's callback: `emit(name, ino, d_type, next_pos)`, false when the
/// reader's buffer is full.
pub type Emit<'a> = dyn FnMut(&[u8], u64, u8, u64) -> bool + 'a;

/// One /proc file, directory or symlink: made when looked up, formatted when read.
pub trait ProcNode: Send + Sync {
    /// S_IFDIR, S_IFREG or S_IFLNK.
    fn file_type(&self) -> u32;

    /// The entry `name` of this directory (`dir` is its inode), as a new inode.
    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> KResult<Arc<Inode>> {
        let _ = (dir, name);
        Err(Errno::ENOTDIR)
    }

    /// Lists this directory from position `pos` (2 is the first entry after "." and
    /// ".."): `emit(name, ino, d_type, next_pos)` returns false when the caller's buffer
    /// is full.
    fn readdir(&self, dir: &Arc<Inode>, pos: u64, emit: &mut Emit) -> KResult<()> {
        let _ = (dir, pos, emit);
        Err(Errno::ENOTDIR)
    }

    /// The directory above (None at the root of /proc).
    fn parent(&self) -> Option<Arc<Inode>> {
        None
    }

    /// The name of `child` in this directory (for paths such as getcwd's).
    fn name_of(&self, child: &Arc<Inode>) -> Option<Vec<u8>> {
        let _ = child;
        None
    }

    /// A symlink's target.
    fn read_link(&self) -> KResult<Vec<u8>> {
        Err(Errno::EINVAL)
    }

    /// The open file a /proc/PID/fd/N link stands for (Linux `proc_fd_link`: a "magic"
    /// link, which open follows to the file itself, not to the path its text names).
    fn magic_file(&self) -> Option<Arc<super::File>> {
        None
    }

    /// A file's text from `off` (formatted from the live state at each read).
    fn read(&self, inode: &Inode, off: u64, dst: &mut dyn Sink) -> KResult<usize> {
        let _ = (inode, off, dst);
        Err(Errno::EISDIR)
    }

    /// A write (a control file such as /proc/trace; the others have no write bit).
    fn write(&self, src: &mut dyn super::Source) -> KResult<usize> {
        let _ = src;
        Err(Errno::EACCES)
    }
}

/// Makes the node of /proc's root (registered by src/proc at boot).
static ROOT_NODE: spin::Once<fn() -> Box<dyn ProcNode>> = spin::Once::new();

pub fn register(root: fn() -> Box<dyn ProcNode>) {
    ROOT_NODE.call_once(|| root);
}

/// A fresh root node for a new procfs mount: an empty directory if nobody registered.
pub fn root_node() -> Box<dyn ProcNode> {
    match ROOT_NODE.get() {
        Some(make) => make(),
        None => Box::new(EmptyDir),
    }
}

struct EmptyDir;

impl ProcNode for EmptyDir {
    fn file_type(&self) -> u32 {
        super::inode::S_IFDIR
    }
    fn lookup(&self, _: &Arc<Inode>, _: &[u8]) -> KResult<Arc<Inode>> {
        Err(Errno::ENOENT)
    }
    fn readdir(&self, _: &Arc<Inode>, _: u64, _: &mut Emit) -> KResult<()> {
        Ok(())
    }
}
