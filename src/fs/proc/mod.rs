//! procfs (Linux fs/proc/): files made up when they are read, describing the kernel's
//! state — processes, memory, CPUs, mounts. Nothing is stored: a lookup makes an inode
//! for the name, a read formats the text from the live state.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::Sink;
use super::inode::{Inode, S_IFDIR};
use crate::error::{Errno, KResult};

/// What a /proc inode shows.
pub enum ProcNode {
    /// /proc itself.
    Root,
}

impl ProcNode {
    pub fn file_type(&self) -> u32 {
        match self {
            ProcNode::Root => S_IFDIR,
        }
    }

    /// The entry `name` of directory `dir` (whose node is `self`).
    pub fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> KResult<Arc<Inode>> {
        let _ = (dir, name);
        Err(Errno::ENOENT)
    }

    /// The directory above (None at /proc's root).
    pub fn parent(&self) -> Option<Arc<Inode>> {
        None
    }

    /// The name of `child` in this directory (for paths).
    pub fn name_of(&self, child: &Arc<Inode>) -> Option<Vec<u8>> {
        let _ = child;
        None
    }

    pub fn read_link(&self) -> KResult<Vec<u8>> {
        Err(Errno::EINVAL)
    }

    /// Reads the file's text from `off`.
    pub fn read(&self, inode: &Inode, off: u64, dst: &mut dyn Sink) -> KResult<usize> {
        let _ = (inode, off, dst);
        Err(Errno::EISDIR)
    }

    /// Lists the directory from position `pos`: `emit(name, ino, d_type, next_pos)`
    /// returns false when the caller's buffer is full.
    pub fn readdir(
        &self,
        dir: &Arc<Inode>,
        pos: u64,
        emit: &mut dyn FnMut(&[u8], u64, u8, u64) -> bool,
    ) -> KResult<()> {
        let _ = (dir, pos, emit);
        Ok(())
    }
}
