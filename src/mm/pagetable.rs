//! Four-level AArch64 translation tables: 4 KiB granule, 48-bit virtual addresses.
//! (ARM ARM D8.2 "Translation process", D8.3 "Translation table descriptor formats";
//! Linux: arch/arm64/include/asm/pgtable-hwdef.h.)
//!
//! ```text
//!  VA bits  47..39   38..30   29..21   20..12   11..0
//!           L0 idx   L1 idx   L2 idx   L3 idx   offset
//! ```
//!
//! A `PageTable` owns its table frames and holds one reference on every frame its L3
//! entries map. The copy-on-write halves (`copy_page_range`, `resolve_cow`) are in `cow.rs`.

use bitflags::bitflags;

use super::frame::{FrameAllocator, PAGE_SIZE, PhysAddr};
use crate::arch;

bitflags! {
    /// Descriptor bits of a page/block/table entry.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct PteFlags: u64 {
        /// Valid descriptor.
        const VALID = 1 << 0;
        /// At L0-L2: table (1) or block (0). At L3 it must be 1 ("page").
        const TABLE_OR_PAGE = 1 << 1;
        /// AttrIndx = 1: MAIR attr1, Device-nGnRE (AttrIndx = 0 is normal memory).
        const DEVICE = 1 << 2;
        /// AP[1]: EL0 may access.
        const USER = 1 << 6;
        /// AP[2]: read-only (at every EL).
        const READ_ONLY = 1 << 7;
        /// Inner shareable.
        const SH_INNER = 3 << 8;
        /// Access flag: without it the first access faults.
        const AF = 1 << 10;
        /// Not global: the TLB entry is tagged with the ASID (every user mapping).
        const NG = 1 << 11;
        /// Privileged execute-never.
        const PXN = 1 << 53;
        /// Unprivileged (EL0) execute-never.
        const UXN = 1 << 54;
        /// Software bit: a private page that may share its frame; copy before writing.
        const COW = 1 << 55;
        /// Software bit: a MAP_SHARED page; fork shares it writable, never COW.
        const SHARED = 1 << 56;
    }
}

/// Output-address bits [47:12] of a descriptor.
pub const ADDR_MASK: u64 = 0x0000_ffff_ffff_f000;
const ENTRIES: usize = 512;
/// User addresses are below 2^48 (TTBR0, T0SZ = 16).
pub const USER_TOP: usize = 1 << 48;

/// A descriptor as read from a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pte(pub u64);

impl Pte {
    pub fn new(pa: PhysAddr, flags: PteFlags) -> Pte {
        Pte(pa.0 as u64 & ADDR_MASK | flags.bits())
    }
    pub fn is_valid(self) -> bool {
        self.0 & PteFlags::VALID.bits() != 0
    }
    /// At levels 0-2: does this entry point to a next-level table?
    pub fn is_table(self) -> bool {
        self.0 & 0b11 == 0b11
    }
    pub fn addr(self) -> PhysAddr {
        PhysAddr((self.0 & ADDR_MASK) as usize)
    }
    pub fn flags(self) -> PteFlags {
        PteFlags::from_bits_truncate(self.0 & !ADDR_MASK)
    }
}

/// Index of `va` in the table at `level` (0..=3).
pub fn table_index(va: usize, level: usize) -> usize {
    (va >> (39 - 9 * level)) & (ENTRIES - 1)
}

pub(super) fn read_pte(table: PhysAddr, idx: usize) -> Pte {
    debug_assert!(idx < ENTRIES);
    // SAFETY: `table` is a page-table frame owned by a PageTable (reachable through the
    // linear map) and idx < 512 keeps the read inside it.
    Pte(unsafe { core::ptr::read_volatile((table.as_ptr() as *const u64).add(idx)) })
}

pub(super) fn write_pte(table: PhysAddr, idx: usize, pte: Pte) {
    debug_assert!(idx < ENTRIES);
    // SAFETY: as in read_pte; the caller holds the address space exclusively. Volatile so
    // the store is not reordered past the TLB maintenance that follows it.
    unsafe { core::ptr::write_volatile((table.as_ptr() as *mut u64).add(idx), pte.0) }
}

/// The valid entries of a table as (index, entry). Most entries of a user table are empty,
/// so it looks at 8 entries (one 64-byte cache line) at a time and skips empty groups.
pub(super) fn for_each_valid<E>(
    table: PhysAddr,
    f: impl FnMut(usize, Pte) -> Result<(), E>,
) -> Result<(), E> {
    for_each_valid_in(table, 0, ENTRIES - 1, f)
}

/// Like `for_each_valid`, for the entries `first..=last` only.
pub(super) fn for_each_valid_in<E>(
    table: PhysAddr,
    first: usize,
    last: usize,
    mut f: impl FnMut(usize, Pte) -> Result<(), E>,
) -> Result<(), E> {
    // SAFETY: a page-table frame owned by a PageTable; it is only read here, by the one
    // CPU, while the caller holds the address space.
    let entries: &[u64; ENTRIES] = unsafe { &*(table.as_ptr() as *const [u64; ENTRIES]) };
    let mut i = first;
    while i <= last {
        if i.is_multiple_of(8) && i + 7 <= last {
            let g = &entries[i..i + 8];
            if (g[0] | g[1]) | (g[2] | g[3]) | (g[4] | g[5]) | (g[6] | g[7]) == 0 {
                i += 8;
                continue;
            }
        }
        if entries[i] & PteFlags::VALID.bits() != 0 {
            f(i, Pte(entries[i]))?;
        }
        i += 1;
    }
    Ok(())
}

/// The entries of a table at `level` whose VA range (the table maps from `base`)
/// intersects `[start, end)`: (first index, last index, bytes per entry).
pub(super) fn index_range(
    level: usize,
    base: usize,
    start: usize,
    end: usize,
) -> Option<(usize, usize, usize)> {
    let shift = 39 - 9 * level;
    let span = 1usize << shift;
    let (lo, hi) = (start.max(base), end.min(base + (span << 9)));
    (lo < hi).then(|| ((lo - base) >> shift, (hi - 1 - base) >> shift, span))
}

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
    pub fn new(frames: &mut FrameAllocator, asid: u16) -> Option<PageTable> {
        Some(PageTable {
            root: frames.alloc_zeroed()?,
            asid,
            tables: 0,
        })
    }

    /// A zeroed frame for a table below the root, counted.
    pub(super) fn new_table(&mut self, frames: &mut FrameAllocator) -> Option<PhysAddr> {
        let t = frames.alloc_zeroed()?;
        self.tables += 1;
        Some(t)
    }

    pub fn root(&self) -> PhysAddr {
        self.root
    }

    pub fn asid(&self) -> u16 {
        self.asid
    }

    /// The value for TTBR0_EL1: table base and ASID.
    pub fn ttbr(&self) -> u64 {
        self.root.0 as u64 | (self.asid as u64) << 48
    }

    /// The (table, index) holding the L3 entry for `va`, if its tables exist.
    pub fn leaf_slot(&self, va: usize) -> Option<(PhysAddr, usize)> {
        let mut table = self.root;
        for level in 0..3 {
            let e = read_pte(table, table_index(va, level));
            if !e.is_table() {
                return None;
            }
            table = e.addr();
        }
        Some((table, table_index(va, 3)))
    }

    /// Like `leaf_slot`, allocating missing tables.
    pub fn leaf_slot_alloc(
        &mut self,
        frames: &mut FrameAllocator,
        va: usize,
    ) -> Result<(PhysAddr, usize), MapError> {
        let mut table = self.root;
        for level in 0..3 {
            let idx = table_index(va, level);
            let e = read_pte(table, idx);
            table = if e.is_table() {
                e.addr()
            } else if e.is_valid() {
                return Err(MapError::AlreadyMapped); // a block mapping covers va
            } else {
                let next = self.new_table(frames).ok_or(MapError::OutOfMemory)?;
                write_pte(
                    table,
                    idx,
                    Pte::new(next, PteFlags::VALID | PteFlags::TABLE_OR_PAGE),
                );
                next
            };
        }
        Ok((table, table_index(va, 3)))
    }

    /// Maps the page at `va` to `pa`; the table takes over one reference to `pa`.
    pub fn map(
        &mut self,
        frames: &mut FrameAllocator,
        va: usize,
        pa: PhysAddr,
        flags: PteFlags,
    ) -> Result<(), MapError> {
        let (table, idx) = self.leaf_slot_alloc(frames, va)?;
        if read_pte(table, idx).is_valid() {
            return Err(MapError::AlreadyMapped);
        }
        write_pte(
            table,
            idx,
            Pte::new(pa, flags | PteFlags::VALID | PteFlags::TABLE_OR_PAGE),
        );
        Ok(())
    }

    /// Maps a 2 MiB block at level 2 (the kernel's linear map).
    pub fn map_block_2m(
        &mut self,
        frames: &mut FrameAllocator,
        va: usize,
        pa: PhysAddr,
        flags: PteFlags,
    ) -> Result<(), MapError> {
        let mut table = self.root;
        for level in 0..2 {
            let idx = table_index(va, level);
            let e = read_pte(table, idx);
            table = if e.is_table() {
                e.addr()
            } else {
                let next = self.new_table(frames).ok_or(MapError::OutOfMemory)?;
                write_pte(
                    table,
                    idx,
                    Pte::new(next, PteFlags::VALID | PteFlags::TABLE_OR_PAGE),
                );
                next
            };
        }
        write_pte(
            table,
            table_index(va, 2),
            Pte::new(pa, (flags | PteFlags::VALID) - PteFlags::TABLE_OR_PAGE),
        );
        Ok(())
    }

    pub fn lookup(&self, va: usize) -> Option<(PhysAddr, PteFlags)> {
        let (table, idx) = self.leaf_slot(va)?;
        let e = read_pte(table, idx);
        e.is_valid().then(|| (e.addr(), e.flags()))
    }

    /// Removes the mapping at `va`, invalidates its TLB entry, then drops the frame
    /// reference (in that order, so no stale TLB entry can reach a reused frame).
    pub fn unmap(&mut self, frames: &mut FrameAllocator, va: usize) -> Option<PhysAddr> {
        let (table, idx) = self.leaf_slot(va)?;
        let e = read_pte(table, idx);
        if !e.is_valid() {
            return None;
        }
        write_pte(table, idx, Pte(0));
        arch::flush_tlb_page(self.asid, va);
        frames.put(e.addr());
        Some(e.addr())
    }

    /// Rewrites the flags of the page at `va` (mprotect); returns false if unmapped.
    pub fn set_flags(&mut self, va: usize, flags: PteFlags) -> bool {
        let Some((table, idx)) = self.leaf_slot(va) else {
            return false;
        };
        let e = read_pte(table, idx);
        if !e.is_valid() {
            return false;
        }
        write_pte(
            table,
            idx,
            Pte::new(e.addr(), flags | PteFlags::VALID | PteFlags::TABLE_OR_PAGE),
        );
        arch::flush_tlb_page(self.asid, va);
        true
    }

    /// Calls `f(va, pte)` for every valid L3 entry in `[start, end)`.
    pub fn for_each_mapped(&self, start: usize, end: usize, mut f: impl FnMut(usize, Pte)) {
        let mut va = start;
        while va < end {
            match self.leaf_slot(va) {
                Some((table, idx)) => {
                    let e = read_pte(table, idx);
                    if e.is_valid() {
                        f(va, e);
                    }
                    va += PAGE_SIZE;
                }
                // No L3 table: skip to the next 2 MiB boundary.
                None => va = (va | (PAGE_SIZE * ENTRIES - 1)) + 1,
            }
        }
    }

    /// Frees the intermediate tables left empty in `[start, end)` (after munmap), so an
    /// unmapped region costs no frames. The root is kept.
    pub fn free_empty_tables(&mut self, frames: &mut FrameAllocator, start: usize, end: usize) {
        /// Returns true if `table` has no valid entry left; counts the tables it frees.
        fn prune(
            frames: &mut FrameAllocator,
            table: PhysAddr,
            level: usize,
            base: usize,
            range: (usize, usize),
            freed: &mut usize,
        ) -> bool {
            let span = 1usize << (39 - 9 * level);
            let mut empty = true;
            let _ = for_each_valid(table, |idx, e| -> Result<(), ()> {
                let va = base + idx * span;
                if level < 3
                    && e.is_table()
                    && va < range.1
                    && va + span > range.0
                    && prune(frames, e.addr(), level + 1, va, range, freed)
                {
                    write_pte(table, idx, Pte(0));
                    frames.put(e.addr());
                    *freed += 1;
                } else {
                    empty = false;
                }
                Ok(())
            });
            empty
        }
        let mut freed = 0;
        prune(frames, self.root, 0, 0, (start, end), &mut freed);
        self.tables -= freed;
    }

    /// Tears down an address space whose mappings all lie in `ranges` (its VMAs): visits
    /// only those parts of the tree. If some table was not reached (a bug), falls back to
    /// walking the whole tree, so nothing can leak.
    pub fn destroy_ranges(
        self,
        frames: &mut FrameAllocator,
        ranges: impl Iterator<Item = (usize, usize)>,
    ) {
        fn release(
            frames: &mut FrameAllocator,
            table: PhysAddr,
            level: usize,
            base: usize,
            range: (usize, usize),
            seen: &mut alloc::vec::Vec<PhysAddr>,
        ) {
            let Some((first, last, span)) = index_range(level, base, range.0, range.1) else {
                return;
            };
            let _ = for_each_valid_in(table, first, last, |idx, e| -> Result<(), ()> {
                if level < 3 && e.is_table() {
                    seen.push(e.addr());
                    release(frames, e.addr(), level + 1, base + idx * span, range, seen);
                } else if level == 3 {
                    frames.put(e.addr());
                    write_pte(table, idx, Pte(0));
                }
                Ok(())
            });
        }
        let mut seen = alloc::vec::Vec::with_capacity(self.tables);
        for range in ranges {
            release(frames, self.root, 0, 0, range, &mut seen);
        }
        seen.sort_unstable();
        seen.dedup();
        if seen.len() == self.tables {
            for t in seen {
                frames.put(t);
            }
            frames.put(self.root);
        } else {
            self.destroy(frames); // leaves are already released: this frees the tables
        }
    }

    /// Drops every mapped frame's reference and frees all table frames.
    pub fn destroy(self, frames: &mut FrameAllocator) {
        fn free_level(frames: &mut FrameAllocator, table: PhysAddr, level: usize) {
            let _ = for_each_valid(table, |_, e| -> Result<(), ()> {
                if level < 3 && e.is_table() {
                    free_level(frames, e.addr(), level + 1);
                } else if level == 3 {
                    frames.put(e.addr());
                }
                Ok(())
            });
            frames.put(table);
        }
        free_level(frames, self.root, 0);
    }

    /// Number of table frames (not data frames) in this tree, counted by walking it; tests
    /// compare it with what the allocator handed out.
    pub fn table_frames(&self) -> usize {
        fn count(table: PhysAddr, level: usize) -> usize {
            1 + if level < 3 {
                (0..ENTRIES)
                    .map(|i| read_pte(table, i))
                    .filter(|e| e.is_table())
                    .map(|e| count(e.addr(), level + 1))
                    .sum()
            } else {
                0
            }
        }
        count(self.root, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::sim::SimMemory;

    const RW: PteFlags = PteFlags::USER.union(PteFlags::AF);

    #[test]
    fn map_lookup_unmap_round_trip() {
        let mut m = SimMemory::new(16);
        let f = &mut m.frames;
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
    fn indices_split_the_address() {
        let va = (3 << 39) | (5 << 30) | (7 << 21) | (9 << 12) | 0x123;
        assert_eq!([0, 1, 2, 3].map(|l| table_index(va, l)), [3, 5, 7, 9]);
    }

    #[test]
    fn out_of_memory_while_building_tables() {
        let mut m = SimMemory::new(16);
        let f = &mut m.frames;
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
    fn for_each_mapped_skips_holes() {
        let mut m = SimMemory::new(32);
        let f = &mut m.frames;
        let mut pt = PageTable::new(f, 1).unwrap();
        for va in [0x1000, 0x20_0000, 0x4000_0000] {
            let p = f.alloc_zeroed().unwrap();
            pt.map(f, va, p, RW).unwrap();
        }
        let mut seen = alloc::vec::Vec::new();
        pt.for_each_mapped(0, 0x8000_0000, |va, _| seen.push(va));
        assert_eq!(seen, [0x1000, 0x20_0000, 0x4000_0000]);
        pt.destroy(f);
        assert_eq!(f.in_use(), 0);
    }
}
