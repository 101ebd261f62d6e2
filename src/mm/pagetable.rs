//! A user (or the kernel's) tree of translation tables: 4 levels, 4 KiB granule, 48-bit
//! virtual addresses, tagged with an ASID (ARM ARM D8.2 "Translation process"; Linux:
//! `mm->pgd`, mm/memory.c, arch/arm64/mm/mmu.c).
//!
//! A `PageTable` owns its table frames and holds one reference on every frame its level-3
//! entries map. Every access to the tables goes through the walker (`walk.rs`); the
//! descriptor format is `arch::pte`. The copy-on-write halves (`copy_page_range`,
//! `resolve_cow`) are in `cow.rs`.

use core::convert::Infallible;

use super::cow::OutOfMemory;
use super::frame::{FrameAllocator, PAGE_SIZE, PhysAddr};
use super::walk::{self, Entry, LEAF_LEVEL, Slot, Table, VA_SPAN, WalkOps};
use crate::arch;
use crate::arch::pte::{Pte, PteFlags};

/// User addresses are below 2^48 (TTBR0, T0SZ = 16).
pub const USER_TOP: usize = 1 << 48;

#[derive(Debug, PartialEq, Eq)]
pub enum MapError {
    OutOfMemory,
    AlreadyMapped,
}

/// A TTBR-rooted tree of translation tables, tagged with its ASID.
pub struct PageTable {
    root: PhysAddr,
    asid: u16,
    /// Table frames below the root, so teardown can check it found them all.
    tables: usize,
}

impl PageTable {
    pub fn new(frames: &FrameAllocator, asid: u16) -> Option<PageTable> {
        if super::inject::should_fail(super::inject::Kind::Table) {
            return None;
        }
        Some(PageTable {
            root: frames.alloc_zeroed()?,
            asid,
            tables: 0,
        })
    }

    /// A zeroed frame for a table below the root, counted.
    pub(super) fn new_table(&mut self, frames: &FrameAllocator) -> Option<Table> {
        if super::inject::should_fail(super::inject::Kind::Table) {
            return None;
        }
        let pa = frames.alloc_zeroed()?;
        self.tables += 1;
        // SAFETY: a fresh zeroed frame, owned by this tree from now on.
        Some(unsafe { Table::from_frame(pa) })
    }

    /// A table shared with another tree (ODF fork, odf.rs) joined (+1) or left (-1) this
    /// one: `tables` counts every table below the root that this tree points at.
    pub(super) fn count_tables(&mut self, delta: isize) {
        self.tables = self.tables.wrapping_add_signed(delta);
    }

    pub fn root(&self) -> PhysAddr {
        self.root
    }

    /// The level-0 table (Linux: `mm->pgd`).
    pub fn root_table(&self) -> Table {
        // SAFETY: the root frame belongs to this tree until `destroy` consumes it.
        unsafe { Table::from_frame(self.root) }
    }

    pub fn asid(&self) -> u16 {
        self.asid
    }

    /// The value for TTBR0_EL1: table base and ASID.
    pub fn ttbr(&self) -> u64 {
        crate::arch::pte::ttbr(self.root.0, self.asid)
    }

    /// The level-3 entry for `va`, if the tables down to it exist (Linux: `pgd_offset`,
    /// `pud_offset`, `pmd_offset`, `pte_offset_map`, each level's table read from the
    /// entry above).
    pub fn walk(&self, va: usize) -> Option<Entry> {
        let mut table = self.root_table();
        for level in 0..LEAF_LEVEL {
            table = table.offset(va, level).next_table()?;
        }
        Some(table.offset(va, LEAF_LEVEL))
    }

    /// The entry for `va` at `level` (3 for a page, 2 for a 2 MiB block), allocating the
    /// missing tables on the way (Linux: `pud_alloc`, `pmd_alloc`, `pte_alloc`).
    pub fn walk_alloc(
        &mut self,
        frames: &FrameAllocator,
        va: usize,
        level: usize,
    ) -> Result<Entry, MapError> {
        let mut table = self.root_table();
        for l in 0..level {
            let entry = table.offset(va, l);
            table = match entry.next_table() {
                Some(next) => next,
                // A block mapping covers va.
                None if entry.read().is_valid() => return Err(MapError::AlreadyMapped),
                None => {
                    let next = self.new_table(frames).ok_or(MapError::OutOfMemory)?;
                    entry.write(Pte::table(next.pa().as_usize()));
                    next
                }
            };
        }
        Ok(table.offset(va, level))
    }

    /// Maps the page at `va` to `pa`; the table takes over one reference to `pa`.
    pub fn map(
        &mut self,
        frames: &FrameAllocator,
        va: usize,
        pa: PhysAddr,
        flags: PteFlags,
    ) -> Result<(), MapError> {
        // ODF fork (odf.rs): a level-3 table shared with another address space becomes
        // this one's own before anything is written into it.
        if super::odf::unshare(self, frames, va).is_err() {
            return Err(MapError::OutOfMemory);
        }
        let entry = self.walk_alloc(frames, va, LEAF_LEVEL)?;
        if entry.read().is_valid() {
            return Err(MapError::AlreadyMapped);
        }
        entry.write(Pte::page(pa.as_usize(), flags));
        Ok(())
    }

    /// Maps a 2 MiB block at level 2 (the kernel's linear map).
    pub fn map_block_2m(
        &mut self,
        frames: &FrameAllocator,
        va: usize,
        pa: PhysAddr,
        flags: PteFlags,
    ) -> Result<(), MapError> {
        let entry = self.walk_alloc(frames, va, 2)?;
        entry.write(Pte::block(pa.as_usize(), flags));
        Ok(())
    }

    pub fn lookup(&self, va: usize) -> Option<(PhysAddr, PteFlags)> {
        let e = self.walk(va)?.read();
        e.is_valid().then(|| (PhysAddr(e.addr()), e.flags()))
    }

    /// Removes the mapping at `va`, invalidates its TLB entry, then drops the frame
    /// reference (in that order, so no stale TLB entry can reach a reused frame).
    pub fn unmap(&mut self, frames: &FrameAllocator, va: usize) -> Option<PhysAddr> {
        let entry = self.walk(va)?;
        let e = entry.read();
        if !e.is_valid() {
            return None;
        }
        entry.clear();
        arch::flush_tlb_page(self.asid, va);
        frames.put(PhysAddr(e.addr()));
        Some(PhysAddr(e.addr()))
    }

    /// `unmap` for every page in `[start, end)` (Linux `zap_page_range` → `zap_pte_range`).
    pub fn unmap_range(&mut self, frames: &FrameAllocator, start: usize, end: usize) {
        let asid = self.asid;
        walk::for_each_leaf(self.root_table(), start, end, |at| {
            at.entry.clear();
            arch::flush_tlb_page(asid, at.va);
            frames.put(PhysAddr(at.pte.addr()));
        });
    }

    /// Gives every page in `[start, end)` the flags `new_flags(old entry)` (mprotect;
    /// Linux `change_protection` → `change_pte_range`).
    pub fn change_protection(
        &mut self,
        start: usize,
        end: usize,
        mut new_flags: impl FnMut(Pte) -> PteFlags,
    ) {
        let asid = self.asid;
        walk::for_each_leaf(self.root_table(), start, end, |at| {
            at.entry.write(Pte::page(at.pte.addr(), new_flags(at.pte)));
            arch::flush_tlb_page(asid, at.va);
        });
    }

    /// Frees the intermediate tables left empty in `[start, end)` (after munmap), so an
    /// unmapped region costs no frames. The root is kept. (Linux `free_pgtables`.)
    ///
    /// Order matters on SMP: another CPU running a thread of this address space may hold
    /// the table entries in its TLB (walk caches; munmap's last-level `tlbi vale1is` does
    /// not drop them) and walk into a detached table. So the tables are unhooked first,
    /// the whole ASID is invalidated on every CPU, and only then are the frames freed
    /// (Linux's `tlb_remove_table`). Until then the unhooked tables wait on a list threaded
    /// through their own first entry: a page-aligned address there is an invalid
    /// descriptor, harmless to a walker that still reaches the table.
    pub fn free_empty_tables(&mut self, frames: &FrameAllocator, start: usize, end: usize) {
        /// Post-order: a table is looked at after the tables below it were pruned.
        struct Prune {
            /// The first unhooked table (0: none); each one's entry 0 holds the next.
            unhooked: usize,
            count: usize,
        }
        impl WalkOps for Prune {
            type Error = Infallible;
            fn table_done(&mut self, at: &Slot) -> Result<(), Infallible> {
                let table = at.next_table();
                if table.is_empty() {
                    at.entry.clear();
                    table
                        .entry(0)
                        .write(Pte::new(self.unhooked, PteFlags::empty()));
                    self.unhooked = table.pa().as_usize();
                    self.count += 1;
                }
                Ok(())
            }
        }
        let mut prune = Prune {
            unhooked: 0,
            count: 0,
        };
        let Ok(()) = walk::walk_range(self.root_table(), start, end, &mut prune);
        if prune.count == 0 {
            return;
        }
        arch::flush_tlb_asid(self.asid);
        let mut next = prune.unhooked;
        while next != 0 {
            // SAFETY: a table this tree owned and unhooked above; no CPU can reach it
            // any more (the ASID was flushed everywhere).
            let table = unsafe { Table::from_frame(PhysAddr(next)) };
            next = table.entry(0).read().addr();
            table.entry(0).clear();
            frames.put(table.pa());
        }
        self.tables -= prune.count;
    }

    /// Tears down an address space whose mappings all lie in `ranges` (its VMAs, in
    /// ascending order): visits only those parts of the tree, releasing each page and then,
    /// post-order, each table that no later range reaches (nothing else maps into it, so
    /// it is empty now; no scan needed). Allocates nothing, so an exit cannot fail. If
    /// some table was not reached (a bug), falls back to walking the whole tree, so nothing
    /// can leak.
    pub fn destroy_ranges(
        mut self,
        frames: &FrameAllocator,
        ranges: impl Iterator<Item = (usize, usize)>,
    ) {
        struct Release<'a> {
            frames: &'a FrameAllocator,
            freed: usize,
            /// Where the next range starts (usize::MAX after the last one).
            next_start: usize,
            /// The first table unhooked for freeing (0: none); each one's entry 0 holds
            /// the next, as in `free_empty_tables`. They are freed together at the end,
            /// under one hold of the free-stack lock (`put_many`), not one each.
            unhooked: usize,
        }
        impl WalkOps for Release<'_> {
            type Error = Infallible;
            fn table(&mut self, at: &Slot) -> Result<bool, Infallible> {
                // ODF fork (odf.rs): a shared level-3 table loses this sharer's reference;
                // its pages go with the last one.
                if super::odf::is_shared_table(at) {
                    at.entry.clear();
                    super::odf::zap_shared_table(self.frames, at.next_table());
                    self.freed += 1;
                    return Ok(false);
                }
                Ok(true)
            }
            #[inline]
            fn leaf(&mut self, at: &Slot) -> Result<(), Infallible> {
                if at.level == LEAF_LEVEL {
                    self.frames.put(PhysAddr(at.pte.addr()));
                    at.entry.clear(); // so the fallback below does not put it again
                }
                Ok(())
            }
            #[inline]
            fn pte_range(
                &mut self,
                pmd: &Slot,
                first: usize,
                end: usize,
            ) -> Result<bool, Infallible> {
                zap_pte_range(self.frames, pmd.next_table(), first, end);
                Ok(true)
            }
            fn table_done(&mut self, at: &Slot) -> Result<(), Infallible> {
                let table_end = at.va.saturating_add(walk::entry_span(at.level));
                if table_end <= self.next_start {
                    at.entry.clear();
                    let table = at.next_table();
                    table
                        .entry(0)
                        .write(Pte::new(self.unhooked, PteFlags::empty()));
                    self.unhooked = table.pa().as_usize();
                    self.freed += 1;
                }
                Ok(())
            }
        }
        let mut release = Release {
            frames,
            freed: 0,
            next_start: 0,
            unhooked: 0,
        };
        let mut ranges = walk::coalesce(ranges).peekable();
        while let Some((start, end)) = ranges.next() {
            release.next_start = ranges.peek().map_or(usize::MAX, |&(s, _)| s);
            let Ok(()) = walk::walk_range(self.root_table(), start, end, &mut release);
        }
        let Release {
            frames,
            freed,
            unhooked,
            ..
        } = release;
        self.tables -= freed;
        let root = (self.tables == 0).then_some(self.root);
        // The unhooked tables, and the root if nothing is left under it, in one batch.
        frames.put_many(|many| {
            let mut next = unhooked;
            while next != 0 {
                // SAFETY: a table of this tree, unhooked above: nothing reaches it any
                // more (the address space is dead; its ASID is flushed before reuse).
                let table = unsafe { Table::from_frame(PhysAddr(next)) };
                next = table.entry(0).read().addr();
                table.entry(0).clear();
                many.put(table.pa());
            }
            if let Some(root) = root {
                many.put(root);
            }
        });
        if root.is_none() {
            self.destroy(frames); // leaves are already released: this frees the tables
        }
    }

    /// Moves the pages of `[old, old + len)` to `[new, new + len)` (mremap; Linux
    /// `move_page_tables` → `move_ptes`): each entry is cleared at its old place, its TLB
    /// entry invalidated, and written at the new place with the frame reference it holds.
    /// With `dup` the old entries stay and each new one takes a reference of its own (a
    /// shared mapping mapped twice). The ranges must not overlap and nothing may be mapped
    /// at the new place. Costs the pages mapped in the old range. Out of memory for a new
    /// table, what was done is undone and nothing has changed.
    pub fn move_range(
        &mut self,
        frames: &FrameAllocator,
        old: usize,
        new: usize,
        len: usize,
        dup: bool,
    ) -> Result<(), OutOfMemory> {
        struct Move<'a> {
            pt: &'a mut PageTable,
            frames: &'a FrameAllocator,
            old: usize,
            new: usize,
            dup: bool,
            /// The old address whose move failed.
            failed_at: usize,
        }
        impl WalkOps for Move<'_> {
            type Error = OutOfMemory;
            fn leaf(&mut self, at: &Slot) -> Result<(), OutOfMemory> {
                debug_assert_eq!(at.level, LEAF_LEVEL, "no block mappings in user tables");
                let to = at.va - self.old + self.new;
                // The walk may meet the table this makes only outside [old, old + len): the
                // ranges do not overlap, so it never visits a moved entry twice.
                let Ok(dst) = self.pt.walk_alloc(self.frames, to, LEAF_LEVEL) else {
                    self.failed_at = at.va;
                    return Err(OutOfMemory);
                };
                debug_assert!(!dst.read().is_valid(), "mremap onto a mapped page");
                if self.dup {
                    self.frames.get(PhysAddr(at.pte.addr()));
                } else {
                    at.entry.clear();
                    arch::flush_tlb_page(self.pt.asid, at.va);
                }
                dst.write(at.pte);
                Ok(())
            }
        }
        let root = self.root_table();
        let mut mv = Move {
            pt: self,
            frames,
            old,
            new,
            dup,
            failed_at: old,
        };
        let Err(OutOfMemory) = walk::walk_range(root, old, old + len, &mut mv) else {
            return Ok(());
        };
        let done = mv.failed_at - old;
        if dup {
            self.unmap_range(frames, new, new + done);
        } else {
            // Back where they came from: those tables exist, so this allocates nothing.
            self.move_range(frames, new, old, done, false)
                .expect("moving pages back needs no new table");
        }
        // The tables made for the moved pages, and those made before the failure.
        self.free_empty_tables(frames, new, new + done + PAGE_SIZE);
        Err(OutOfMemory)
    }

    /// Drops every mapped frame's reference and frees all table frames.
    pub fn destroy(self, frames: &FrameAllocator) {
        struct Free<'a>(&'a FrameAllocator);
        impl WalkOps for Free<'_> {
            type Error = Infallible;
            fn table(&mut self, at: &Slot) -> Result<bool, Infallible> {
                // ODF fork (odf.rs): a shared level-3 table loses this tree's reference.
                if super::odf::is_shared_table(at) {
                    super::odf::zap_shared_table(self.0, at.next_table());
                    return Ok(false);
                }
                Ok(true)
            }
            fn table_done(&mut self, at: &Slot) -> Result<(), Infallible> {
                self.0.put(at.next_table().pa());
                Ok(())
            }
            #[inline]
            fn leaf(&mut self, at: &Slot) -> Result<(), Infallible> {
                // Blocks map memory that is not the frame allocator's (the linear map).
                if at.level == LEAF_LEVEL {
                    self.0.put(PhysAddr(at.pte.addr()));
                }
                Ok(())
            }
        }
        let Ok(()) = walk::walk_range(self.root_table(), 0, VA_SPAN, &mut Free(frames));
        frames.put(self.root);
    }

    /// Number of table frames (not data frames) in this tree, counted by walking it; tests
    /// compare it with what the allocator handed out.
    pub fn table_frames(&self) -> usize {
        struct Count(usize);
        impl WalkOps for Count {
            type Error = Infallible;
            fn table(&mut self, _: &Slot) -> Result<bool, Infallible> {
                self.0 += 1;
                Ok(true)
            }
        }
        let mut count = Count(1); // the root
        let Ok(()) = walk::walk_range(self.root_table(), 0, VA_SPAN, &mut count);
        count.0
    }
}

/// Linux `zap_pte_range` as `exit_mmap` runs it (`tlb_gather_mmu_fullmm`): clears the
/// entries `first..end` of the page table `table` and drops their frames' references, all
/// under one hold of the free-stack lock (`FrameAllocator::put_many`; at most 512 pages,
/// ~20 instructions each), not one per freed page. No TLB invalidation per page: the
/// whole address space goes, no CPU runs it any more, and its ASID is invalidated once
/// before it is reused (`Mm::drop`), as Linux's full-mm gather flushes once.
#[inline]
fn zap_pte_range(frames: &FrameAllocator, table: Table, first: usize, end: usize) {
    frames.put_many(|many| {
        let Ok(()) = table.for_each_valid(first, end, |_, entry, pte| {
            entry.clear(); // so that `destroy`, if it has to run after, does not put it again
            many.put(PhysAddr(pte.addr()));
            Ok::<(), Infallible>(())
        });
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::sim::SimMemory;

    const RW: PteFlags = PteFlags::USER.union(PteFlags::AF);

    #[test]
    fn map_lookup_unmap_round_trip() {
        let m = SimMemory::new(16);
        let f = &m.frames;
        let mut pt = PageTable::new(f, 7).unwrap();
        let page = f.alloc_zeroed().unwrap();
        pt.map(f, 0x40_1000, page, RW).unwrap();
        assert_eq!(f.in_use(), 5, "root + L1 + L2 + L3 + data");
        let (pa, flags) = pt.lookup(0x40_1000).unwrap();
        assert_eq!(pa, page);
        assert!(flags.contains(PteFlags::USER | PteFlags::VALID | PteFlags::TABLE_OR_PAGE));
        assert_eq!(pt.lookup(0x40_2000), None);
        assert_eq!(pt.map(f, 0x40_1000, page, RW), Err(MapError::AlreadyMapped));
        assert_eq!(pt.unmap(f, 0x40_1000), Some(page));
        assert_eq!(f.refcount(page), 0);
        assert_eq!(pt.table_frames(), 4);
        pt.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn out_of_memory_while_building_tables() {
        let m = SimMemory::new(16);
        let f = &m.frames;
        let mut pt = PageTable::new(f, 1).unwrap();
        let page = f.alloc_zeroed().unwrap();
        f.fail_after(Some(1));
        assert_eq!(pt.map(f, 0x1000, page, RW), Err(MapError::OutOfMemory));
        f.fail_after(None);
        f.put(page);
        pt.destroy(f);
        assert_eq!(f.in_use(), 0, "partially built tables are freed by destroy");
    }

    #[test]
    fn leaf_walk_skips_holes() {
        let m = SimMemory::new(32);
        let f = &m.frames;
        let mut pt = PageTable::new(f, 1).unwrap();
        for va in [0x1000, 0x20_0000, 0x4000_0000] {
            let p = f.alloc_zeroed().unwrap();
            pt.map(f, va, p, RW).unwrap();
        }
        let mut seen = alloc::vec::Vec::new();
        walk::for_each_leaf(pt.root_table(), 0, 0x8000_0000, |at| seen.push(at.va));
        assert_eq!(seen, [0x1000, 0x20_0000, 0x4000_0000]);
        pt.destroy(f);
        assert_eq!(f.in_use(), 0);
    }
}
