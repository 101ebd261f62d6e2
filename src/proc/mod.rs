//! /proc's files (Linux fs/proc/): made when looked up, formatted from the live state
//! of tasks, memory and the file system when read. The file layer's interface is
//! fs/procfs.rs.

use alloc::boxed::Box;
use alloc::sync::Arc;

use crate::error::{Errno, KResult};
use crate::fs::inode::{Inode, S_IFDIR};
use crate::fs::procfs::{self, ProcNode};

/// /proc itself.
struct Root;

impl ProcNode for Root {
    fn file_type(&self) -> u32 {
        S_IFDIR
    }
    fn lookup(&self, _: &Arc<Inode>, _: &[u8]) -> KResult<Arc<Inode>> {
        Err(Errno::ENOENT)
    }
    fn readdir(
        &self,
        _: &Arc<Inode>,
        _: u64,
        _: &mut dyn FnMut(&[u8], u64, u8, u64) -> bool,
    ) -> KResult<()> {
        Ok(())
    }
}

/// Registers /proc's root with the file layer (boot, before the root is mounted).
pub fn init() {
    procfs::register(|| Box::new(Root));
}
