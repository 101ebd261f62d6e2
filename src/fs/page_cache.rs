//! A file's pages (Linux `struct address_space` and its xarray `i_pages`): page `i` of
//! the file holds bytes `[i * 4096, (i + 1) * 4096)`. The index is a radix tree whose
//! nodes are page frames too — 512 eight-byte slots each, like a page table — so a
//! file's data and its index are counted with every other frame, never come from the
//! kernel heap, and running out of memory is an error the caller returns (ENOSPC for
//! tmpfs, ENOMEM elsewhere). A missing page is a hole: it reads as zeros.
//!
//! ```text
//!   height 1: root ──► [512 slots] ──► data pages              (files up to 2 MiB)
//!   height 2: root ──► [512] ──► [512] ──► data pages           (up to 1 GiB)
//!   ...       the tree grows a level on top when a page beyond it is written
//! ```
//!
//! Each page in the cache holds one reference on its frame (mm/frame.rs). Whoever maps
//! or copies a page takes another, so truncating a file never frees a frame under a
//! reader — and a private mapping's write fault finds the count above one and copies
//! the page, exactly as after fork (mm/cow.rs).

use crate::mm::frame::{FrameAllocator, PAGE_SIZE, PhysAddr};

/// PAGE_SIZE for file offsets.
pub const PAGE_SIZE_U64: u64 = PAGE_SIZE as u64;

const SLOTS: usize = PAGE_SIZE / 8;
const SLOT_BITS: u32 = 9;
/// 4 levels of 9 bits: 2^36 pages, 256 TiB — more than MAX_LFS_FILESIZE needs here.
const MAX_HEIGHT: u32 = 4;

/// Out of page frames.
#[derive(Debug, PartialEq, Eq)]
pub struct NoMemory;

#[derive(Default)]
pub struct PageCache {
    /// The root node (a page of slots), or None while the file has no page.
    root: Option<PhysAddr>,
    /// Levels of nodes above the data pages (0 while `root` is None).
    height: u32,
    /// Data pages present.
    pages: usize,
    /// Node pages (the index's own cost).
    nodes: usize,
}

/// The slots of a node page.
///
/// # Safety
/// `node` is a node page of a tree the caller holds exclusively (`&mut PageCache`) or
/// shared (`&PageCache`, reading only).
unsafe fn slots<'a>(node: PhysAddr) -> &'a mut [u64; SLOTS] {
    // SAFETY: a whole page of the linear map, used as an array of slots only by its tree.
    unsafe { &mut *(node.as_ptr() as *mut [u64; SLOTS]) }
}

fn slot_of(index: usize, level: u32) -> usize {
    (index >> (SLOT_BITS * level)) & (SLOTS - 1)
}

impl PageCache {
    pub fn new() -> PageCache {
        PageCache::default()
    }

    /// Data pages present (what the file costs in frames, besides `nodes`).
    pub fn pages(&self) -> usize {
        self.pages
    }

    /// Frames the cache holds: data pages and index nodes.
    pub fn frames(&self) -> usize {
        self.pages + self.nodes
    }

    /// Page indices a tree of this height can hold.
    fn capacity(height: u32) -> usize {
        1usize << (SLOT_BITS * height)
    }

    /// The frame holding page `index`, if the page exists.
    pub fn lookup(&self, index: usize) -> Option<PhysAddr> {
        let mut node = self.root?;
        if index >= Self::capacity(self.height) {
            return None;
        }
        for level in (0..self.height).rev() {
            // SAFETY: `node` is a node of this tree, read under `&self`.
            let entry = unsafe { slots(node) }[slot_of(index, level)];
            if entry == 0 {
                return None;
            }
            node = PhysAddr(entry as usize);
        }
        Some(node)
    }

    /// The frame of page `index`, allocating a zeroed page (and the nodes on the way) if
    /// it is a hole. Returns the frame and whether it is new.
    pub fn get_or_insert(
        &mut self,
        frames: &FrameAllocator,
        index: usize,
    ) -> Result<(PhysAddr, bool), NoMemory> {
        if index >> (SLOT_BITS * MAX_HEIGHT) != 0 {
            return Err(NoMemory); // beyond any file this kernel can hold
        }
        // Grow the tree upwards until it covers `index`.
        while self.root.is_none() || index >= Self::capacity(self.height) {
            let node = frames.alloc_zeroed().ok_or(NoMemory)?;
            if let Some(old) = self.root {
                // SAFETY: `node` is fresh and ours.
                let s = unsafe { slots(node) };
                s[0] = old.as_usize() as u64;
            }
            self.root = Some(node);
            self.height += 1;
            self.nodes += 1;
        }
        let mut node = self.root.unwrap_or(PhysAddr(0));
        for level in (0..self.height).rev() {
            // SAFETY: a node of this tree, held through `&mut self`.
            let slot = &mut unsafe { slots(node) }[slot_of(index, level)];
            if *slot == 0 {
                let new = frames.alloc_zeroed().ok_or(NoMemory)?;
                *slot = new.as_usize() as u64;
                if level == 0 {
                    self.pages += 1;
                    return Ok((new, true));
                }
                self.nodes += 1;
            }
            node = PhysAddr(*slot as usize);
        }
        Ok((node, false))
    }

    /// Drops every page at or after `first` (truncate), and the nodes left empty.
    pub fn truncate_pages(&mut self, frames: &FrameAllocator, first: usize) {
        let Some(root) = self.root else { return };
        if first >= Self::capacity(self.height) {
            return;
        }
        let (mut pages, mut nodes) = (0, 0);
        let empty = Self::prune(
            frames,
            root,
            self.height - 1,
            0,
            first,
            &mut pages,
            &mut nodes,
        );
        self.pages -= pages;
        self.nodes -= nodes;
        if empty {
            frames.put(root);
            self.nodes -= 1;
            self.root = None;
            self.height = 0;
        }
    }

    /// Frees the pages `>= first` below `node` (which covers indices from `base`);
    /// returns whether the node is now empty (its caller frees it).
    fn prune(
        frames: &FrameAllocator,
        node: PhysAddr,
        level: u32,
        base: usize,
        first: usize,
        pages: &mut usize,
        nodes: &mut usize,
    ) -> bool {
        let span = 1usize << (SLOT_BITS * level);
        // SAFETY: a node of the tree the caller holds through `&mut PageCache`.
        let s = unsafe { slots(node) };
        let mut empty = true;
        for (i, slot) in s.iter_mut().enumerate() {
            if *slot == 0 {
                continue;
            }
            let start = base + i * span;
            let child = PhysAddr(*slot as usize);
            if start + span <= first {
                empty = false; // wholly kept
            } else if level == 0 {
                frames.put(child); // a data page at or after `first`
                *slot = 0;
                *pages += 1;
            } else if Self::prune(frames, child, level - 1, start, first, pages, nodes) {
                frames.put(child);
                *slot = 0;
                *nodes += 1;
            } else {
                empty = false;
            }
        }
        empty
    }

    /// Drops every page (the inode is freed).
    pub fn clear(&mut self, frames: &FrameAllocator) {
        self.truncate_pages(frames, 0);
    }

    /// The first page at or after `index` that exists (SEEK_DATA), if any.
    pub fn next_present(&self, index: usize) -> Option<usize> {
        let root = self.root?;
        Self::find_from(root, self.height - 1, 0, index)
    }

    fn find_from(node: PhysAddr, level: u32, base: usize, from: usize) -> Option<usize> {
        let span = 1usize << (SLOT_BITS * level);
        // SAFETY: a node of the tree, read under `&PageCache`.
        let s = unsafe { slots(node) };
        for (i, &slot) in s.iter().enumerate() {
            let start = base + i * span;
            if slot == 0 || start + span <= from {
                continue;
            }
            if level == 0 {
                return Some(start);
            }
            if let Some(found) = Self::find_from(PhysAddr(slot as usize), level - 1, start, from) {
                return Some(found);
            }
        }
        None
    }
}

/// `len` bytes of a cache page from `offset`, for copying.
///
/// # Safety
/// The caller holds a reference on `page` (so it is not freed meanwhile) and accepts
/// that another task may write the same bytes concurrently (as Linux's readers do: a
/// read racing a write sees old bytes, new bytes or a mix, never freed memory).
pub unsafe fn page_bytes<'a>(page: PhysAddr, offset: usize, len: usize) -> &'a mut [u8] {
    assert!(offset + len <= PAGE_SIZE);
    // SAFETY: the caller's guarantees; a page of the linear map.
    unsafe { core::slice::from_raw_parts_mut(page.as_ptr().add(offset), len) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::sim::SimMemory;

    #[test]
    fn pages_grow_the_tree_and_truncate_frees_them() {
        let mem = SimMemory::new(64);
        let f = &mem.frames;
        let base = f.in_use();
        let mut pc = PageCache::new();
        assert_eq!(pc.lookup(0), None);
        let (p0, new) = pc.get_or_insert(f, 0).unwrap();
        assert!(new);
        assert_eq!(pc.get_or_insert(f, 0).unwrap(), (p0, false));
        // SAFETY: the test holds the cache.
        unsafe { page_bytes(p0, 0, 4) }.copy_from_slice(b"abcd");
        // Index 600 needs a second level; 600 * 512 a third.
        let (p600, _) = pc.get_or_insert(f, 600).unwrap();
        let (pbig, _) = pc.get_or_insert(f, 600 * 512).unwrap();
        assert_eq!(
            pc.lookup(0),
            Some(p0),
            "the old root moved under the new one"
        );
        assert_eq!(pc.lookup(600), Some(p600));
        assert_eq!(pc.lookup(600 * 512), Some(pbig));
        assert_eq!(pc.lookup(601), None, "a hole");
        assert_eq!(pc.pages(), 3);
        assert_eq!(f.in_use() - base, pc.frames());
        assert_eq!(pc.next_present(1), Some(600));
        assert_eq!(pc.next_present(601), Some(600 * 512));
        pc.truncate_pages(f, 1);
        assert_eq!(pc.pages(), 1);
        assert_eq!(pc.lookup(0), Some(p0));
        assert_eq!(pc.lookup(600), None);
        assert_eq!(pc.next_present(1), None);
        // SAFETY: as above.
        assert_eq!(unsafe { page_bytes(p0, 0, 4) }, b"abcd");
        pc.clear(f);
        assert_eq!(pc.frames(), 0);
        assert_eq!(f.in_use(), base, "every node and page given back");
    }

    #[test]
    fn out_of_frames_is_an_error_and_leaks_nothing() {
        let mem = SimMemory::new(3);
        let f = &mem.frames;
        let mut pc = PageCache::new();
        let mut got = 0;
        for i in 0..10 {
            match pc.get_or_insert(f, i * 512) {
                Ok(_) => got += 1,
                Err(NoMemory) => break,
            }
        }
        assert!(got >= 1);
        assert_eq!(f.in_use(), pc.frames());
        pc.clear(f);
        assert_eq!(f.in_use(), 0);
    }
}
