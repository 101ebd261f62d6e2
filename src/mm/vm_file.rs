//! What memory management needs of a file (Linux: a VMA's `vm_file` and its
//! `vm_operations_struct`): the file layer implements it for open files, so that mm
//! never names a file-system type (imports point inward: fs uses mm, not the reverse).

use alloc::vec::Vec;
use core::any::Any;

use super::frame::PhysAddr;

/// Out of page frames.
#[derive(Debug, PartialEq, Eq)]
pub struct NoPage;

pub trait VmFile: Send + Sync {
    /// Page `index` of the file (its bytes `index * 4096 ..`), with a reference taken
    /// for the caller (Linux `filemap_fault` → `find_get_page`). `Ok(None)` past the end
    /// of the file (the access is SIGBUS). `create`: a hole inside the file gets a page
    /// (a shared writable mapping stores into it); otherwise too.
    fn get_page(&self, index: usize) -> Result<Option<PhysAddr>, NoPage>;

    /// The whole file (fault reports read an executable's symbols from it); None if it
    /// is too large or memory is short.
    fn contents(&self) -> Option<Vec<u8>>;

    /// The object itself, for the file layer's own reports (/proc/PID/maps, exe).
    fn as_any(&self) -> &dyn Any;

    /// Which file this is (two open files of one inode give the same number): truncate
    /// unmaps the pages past the new end from every mapping of the file.
    fn file_id(&self) -> usize;
}
