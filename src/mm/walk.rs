//! The page-table walker: the one way the kernel reads and writes translation tables.
//! Fork's duplicator, the fault handler, munmap/mprotect, teardown, lookups and the
//! kernel's own map all go through it. Linux: the `pgd_offset` → `pud_offset` →
//! `pmd_offset` → `pte_offset` helpers (include/linux/pgtable.h) for one address, and
//! `walk_page_range` with its `struct mm_walk_ops` (mm/pagewalk.c) for a range. ARM ARM
//! D8.2 "Translation process"; the descriptor format itself is `arch::pte`.
//!
//! ```text
//!  VA bits   47..39     38..30     29..21     20..12     11..0
//!            level 0    level 1    level 2    level 3    offset in the page
//!  Linux     pgd        pud        pmd        pte        (arm64, 4 levels: no p4d)
//!  an entry  512 GiB    1 GiB      2 MiB      4 KiB
//! ```
//!
//! **Aliasing.** The MMU reads these tables behind the compiler's back, and the kernel
//! rewrites entries in the middle of walking them. So nothing here ever makes a `&` or
//! `&mut` to a table or an entry: `Table` and `Entry` hold raw pointers, and every access
//! is one volatile read or write of one descriptor (Linux: `READ_ONCE`, `WRITE_ONCE`,
//! `set_pte`). A reference to a table kept alive while one of its entries is written
//! would be undefined behaviour (the compiler may assume memory behind a `&` does not
//! change), and Miri reports exactly that (`make miri`).

use core::convert::Infallible;

use super::frame::{PAGE_SHIFT, PhysAddr};
use crate::arch::pte::Pte;

/// Descriptors per table: 4 KiB / 8 bytes.
pub const ENTRIES: usize = 512;
/// The level whose entries map pages.
pub const LEAF_LEVEL: usize = 3;
/// Bytes of virtual address space one tree maps (48-bit VAs: T0SZ = T1SZ = 16).
pub const VA_SPAN: usize = entry_span(0) * ENTRIES;

/// Bytes of virtual address space one entry at `level` maps.
pub const fn entry_span(level: usize) -> usize {
    1 << (PAGE_SHIFT + 9 * (LEAF_LEVEL - level))
}

/// Index of `va` in the table at `level` (0..=3).
pub fn table_index(va: usize, level: usize) -> usize {
    (va / entry_span(level)) % ENTRIES
}

/// One translation table: a frame of 512 descriptors, reached through the linear map.
/// It is only an address (Copy, no borrow); entries are read and written through `Entry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    pa: PhysAddr,
    entries: *mut u64,
}

impl Table {
    /// The table held by the frame `pa`.
    ///
    /// # Safety
    /// `pa` is a frame holding a translation table (or zeroes), and it stays allocated for
    /// as long as this `Table`, and the `Entry`s made from it, are used.
    #[inline]
    pub unsafe fn from_frame(pa: PhysAddr) -> Table {
        Table {
            pa,
            entries: pa.as_ptr().cast(),
        }
    }

    #[inline]
    pub fn pa(self) -> PhysAddr {
        self.pa
    }

    /// The entry at `index`.
    #[inline]
    pub fn entry(self, index: usize) -> Entry {
        assert!(index < ENTRIES, "table index {index} out of range");
        Entry {
            ptr: self.entries.wrapping_add(index),
        }
    }

    /// The entry for `va` in this table, which is at `level` (Linux `pgd_offset`,
    /// `pud_offset`, `pmd_offset`, `pte_offset_kernel`).
    #[inline]
    pub fn offset(self, va: usize, level: usize) -> Entry {
        self.entry(table_index(va, level))
    }

    /// The valid entries whose index is in `first..end`, in order.
    #[inline]
    pub fn valid_entries(self, first: usize, end: usize) -> ValidEntries {
        assert!(first <= end && end <= ENTRIES);
        ValidEntries {
            table: self,
            next: first,
            end,
        }
    }

    /// `f(index, entry, value)` for each valid entry whose index is in `first..end`, in
    /// order: the loop of the last-level fast paths (`copy_pte_range`, `zap_pte_range`).
    /// What `valid_entries` gives, faster: each aligned group of 8 entries (one 64-byte
    /// cache line) is read once (four `ldp`), skipped if all are zero, otherwise handed
    /// out from the values read, unrolled — no entry is read twice and no iterator state
    /// goes through memory. `f` may write the entries it is given (no reference to the
    /// table is held). For callers that hold the tables exclusively, so that nothing else
    /// writes them meanwhile (fork holds the parent's address-space lock, exit owns the
    /// dying tree; no hardware Access-flag/dirty updates: TCR_EL1.HA is 0): that is why
    /// the groups may be plain reads, which the compiler pairs, not volatile ones.
    #[inline(always)]
    pub fn for_each_valid<E>(
        self,
        first: usize,
        end: usize,
        mut f: impl FnMut(usize, Entry, Pte) -> Result<(), E>,
    ) -> Result<(), E> {
        assert!(first <= end && end <= ENTRIES);
        let mut one = |i: usize, pte: Pte| {
            if pte.is_valid() {
                let entry = Entry {
                    ptr: self.entries.wrapping_add(i),
                };
                f(i, entry, pte)?;
            }
            Ok(())
        };
        // Head and tail (the parts of a group the range cuts) entry by entry; whole
        // groups between.
        let mut i = first;
        let head_end = first.next_multiple_of(8).min(end);
        while i < head_end {
            one(i, self.entry(i).read())?;
            i += 1;
        }
        let groups_end = end & !7;
        while i < groups_end {
            // SAFETY: 8 aligned entries inside this live table (`from_frame`'s contract),
            // read by value through the raw pointer: no reference is made. Nothing writes
            // them meanwhile (this function's contract).
            let g = unsafe { core::ptr::read(self.entries.add(i).cast::<[u64; 8]>()) };
            if (g[0] | g[1]) | (g[2] | g[3]) | (g[4] | g[5]) | (g[6] | g[7]) == 0 {
                // Most groups of a small process's tables are empty, and empty groups
                // come in runs: those are skipped in a loop of their own, which reads
                // nothing else (see `skip_zero_groups`). A full table (a large process)
                // never gets here: each group is tested once, above.
                i = self.skip_zero_groups(i + 8, groups_end);
                continue;
            }
            one(i, Pte(g[0]))?;
            one(i + 1, Pte(g[1]))?;
            one(i + 2, Pte(g[2]))?;
            one(i + 3, Pte(g[3]))?;
            one(i + 4, Pte(g[4]))?;
            one(i + 5, Pte(g[5]))?;
            one(i + 6, Pte(g[6]))?;
            one(i + 7, Pte(g[7]))?;
            i += 8;
        }
        while i < end {
            one(i, self.entry(i).read())?;
            i += 1;
        }
        Ok(())
    }

    /// The first index from `i` whose group of 8 entries is not all zero, or `end` if
    /// every group in `i..end` is zero (both multiples of 8, `end` ≤ 512). The inner loop
    /// of `for_each_valid` over runs of empty groups, kept apart from the handling of the
    /// entries so that the compiler spends nothing on them here: two groups a turn, 16
    /// entries read with 8 `ldp`, ~15 instructions per group (fork's loop that also
    /// prepared the entries of a group for their handling took ~38). Not inlined: its 16
    /// live values inlined into fork's per-page loop made the compiler spill that loop's
    /// values and rematerialise its constants (16 MiB fork: 113,000 → 135,000); a call
    /// per run of empty groups costs a few instructions. For `for_each_valid`'s callers.
    #[inline(never)]
    fn skip_zero_groups(self, mut i: usize, end: usize) -> usize {
        debug_assert!(i.is_multiple_of(8) && end.is_multiple_of(8) && i <= end && end <= ENTRIES);
        let or = |g: &[u64]| g.iter().fold(0, |acc, &e| acc | e);
        while i + 16 <= end {
            // SAFETY: 16 aligned entries inside this live table (`from_frame`'s contract,
            // end <= 512), read by value through the raw pointer: no reference to the
            // table is made. Nothing writes them meanwhile (`for_each_valid`'s contract).
            let g = unsafe { core::ptr::read(self.entries.add(i).cast::<[u64; 16]>()) };
            if or(&g[..8]) != 0 {
                return i;
            }
            if or(&g[8..]) != 0 {
                return i + 8;
            }
            i += 16;
        }
        if i < end && self.group_is_zero(i) {
            i += 8;
        }
        i
    }

    /// No valid entry left: the table can be freed.
    pub fn is_empty(self) -> bool {
        self.valid_entries(0, ENTRIES).next().is_none()
    }

    /// Are the 8 entries from `first` (one 64-byte cache line) all zero?
    #[inline]
    fn group_is_zero(self, first: usize) -> bool {
        assert!(first.is_multiple_of(8) && first + 8 <= ENTRIES);
        // SAFETY: 8 aligned entries inside this live table (`from_frame`'s contract). A
        // plain read by value through the raw pointer: no reference to the table is made.
        // It is only a hint for skipping; the entries that matter are then each read with
        // `Entry::read`, and nothing else writes the table while the walk runs.
        let group = unsafe { core::ptr::read(self.entries.add(first).cast::<[u64; 8]>()) };
        (group[0] | group[1])
            | (group[2] | group[3])
            | (group[4] | group[5])
            | (group[6] | group[7])
            == 0
    }
}

/// Where one descriptor lives (Linux: a `pte_t *`, `pmd_t *`, ...). Holds a raw pointer,
/// never a reference, so entries may be written while the table is being walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    ptr: *mut u64,
}

impl Entry {
    /// Reads the descriptor once (Linux `READ_ONCE(*ptep)`, `ptep_get`).
    #[inline]
    pub fn read(self) -> Pte {
        // SAFETY: only `Table::entry` and `ValidEntries` make entries, with an index below
        // 512, so the pointer is inside a table frame that `from_frame`'s contract keeps live.
        Pte(unsafe { core::ptr::read_volatile(self.ptr) })
    }

    /// Writes the descriptor once (Linux `set_pte`, `WRITE_ONCE`). Volatile because the
    /// MMU, not the program, reads it: the store must happen, as one 64-bit store, before
    /// the TLB maintenance that follows (whose `asm!` is a compiler barrier).
    #[inline]
    pub fn write(self, pte: Pte) {
        // SAFETY: as in `read`; the caller holds the address space exclusively.
        unsafe { core::ptr::write_volatile(self.ptr, pte.0) }
    }

    /// The entry at the same index in `table` (fork: the child's entry for the parent's).
    /// Tables are whole frames, so the index is the pointer's offset in its page.
    #[inline]
    pub fn same_in(self, table: Table) -> Entry {
        Entry {
            ptr: table
                .entries
                .wrapping_byte_add(self.ptr as usize & (ENTRIES * 8 - 1)),
        }
    }

    /// Makes the entry invalid (Linux `pte_clear`).
    #[inline]
    pub fn clear(self) {
        self.write(Pte::EMPTY);
    }

    /// The next-level table, if this (level 0-2) entry is a table descriptor.
    #[inline]
    pub fn next_table(self) -> Option<Table> {
        let pte = self.read();
        pte.is_table().then(|| table_of(pte))
    }
}

/// The table a table descriptor points to.
#[inline]
fn table_of(pte: Pte) -> Table {
    // SAFETY: table descriptors are written only by the walks that allocate tables
    // (`PageTable::walk_alloc`, fork's duplicator), each with a frame of its own that stays
    // allocated until teardown clears the descriptor or frees the whole tree.
    unsafe { Table::from_frame(PhysAddr(pte.addr())) }
}

/// Iterator over the valid entries of a table: (index, entry, its value). Most entries of
/// a user table are empty, so it looks at 8 entries (a 64-byte cache line) at once and
/// skips empty groups. It reads each entry when it reaches it and holds no reference, so
/// the caller may write the entries it is given.
pub struct ValidEntries {
    table: Table,
    next: usize,
    end: usize,
}

impl Iterator for ValidEntries {
    type Item = (usize, Entry, Pte);

    #[inline]
    fn next(&mut self) -> Option<(usize, Entry, Pte)> {
        while self.next < self.end {
            let i = self.next;
            if i.is_multiple_of(8) && i + 8 <= self.end && self.table.group_is_zero(i) {
                self.next += 8;
                continue;
            }
            self.next += 1;
            // In bounds without `entry`'s check: `valid_entries` asserted end <= ENTRIES.
            let entry = Entry {
                ptr: self.table.entries.wrapping_add(i),
            };
            let pte = entry.read();
            if pte.is_valid() {
                return Some((i, entry, pte));
            }
        }
        None
    }
}

/// One valid entry met by `walk_range`: where it is, what it held, what it maps.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    pub entry: Entry,
    /// The descriptor as read when the walk reached it.
    pub pte: Pte,
    pub level: usize,
    pub index: usize,
    /// The first virtual address the entry maps.
    pub va: usize,
}

impl Slot {
    /// The next-level table of a table entry (the slots `WalkOps::table` is given).
    #[inline]
    pub fn next_table(&self) -> Table {
        debug_assert!(self.level < LEAF_LEVEL && self.pte.is_table());
        table_of(self.pte)
    }
}

/// What `walk_range` does at each valid entry (Linux: `struct mm_walk_ops`; `table` is its
/// `pud_entry`/`pmd_entry`, `leaf` its `pte_entry`). Each method may write `at.entry`.
pub trait WalkOps {
    type Error;

    /// A table descriptor at level 0-2: return `true` to walk into its table.
    fn table(&mut self, at: &Slot) -> Result<bool, Self::Error> {
        let _ = at;
        Ok(true)
    }

    /// After walking into the table of `at` (post-order): where teardown frees tables.
    fn table_done(&mut self, at: &Slot) -> Result<(), Self::Error> {
        let _ = at;
        Ok(())
    }

    /// A page descriptor (level 3), or a block descriptor (levels 1-2).
    fn leaf(&mut self, at: &Slot) -> Result<(), Self::Error> {
        let _ = at;
        Ok(())
    }

    /// Called after `table` accepted a level-2 entry, with the indices `first..end` of
    /// the last-level table under it that the range covers: return `true` if this handled
    /// those entries itself in one loop, and the walk does not call `leaf` for them
    /// (`table_done` still follows). Linux: a `pmd_entry` that does the PTEs itself, as
    /// `copy_pte_range` and `zap_pte_range` do. The fast paths of fork and exit: one tight
    /// loop over 512 entries instead of a `Slot` and a call per page.
    fn pte_range(&mut self, pmd: &Slot, first: usize, end: usize) -> Result<bool, Self::Error> {
        let _ = (pmd, first, end);
        Ok(false)
    }
}

/// Calls `ops` for every valid entry, in address order, of the part of the tree under
/// `root` that maps `[start, end)` (Linux `walk_page_range`). Only that part is read: a
/// fork or an exit walks its VMAs, not the 2^48-byte space.
pub fn walk_range<O: WalkOps>(
    root: Table,
    start: usize,
    end: usize,
    ops: &mut O,
) -> Result<(), O::Error> {
    walk_table(root, 0, 0, (start, end), ops)
}

/// The gaps between VMAs (bytes) that a walk over them crosses rather than starting a new
/// walk from the root: see `coalesce`.
pub const MAX_GAP: usize = 256 << 10;

/// `ranges` (ascending, not overlapping: an address space's VMAs) with neighbours no more
/// than `MAX_GAP` apart joined into one range, for the walks of fork and exit. Each range
/// is a walk from the root, ~70 instructions a level before the first entry is looked at;
/// a small process has six VMAs in two clusters (text, rodata, data; stack, vvar, vdso),
/// so two walks do the work of six. Crossing a gap costs about 2 instructions a page
/// (empty groups of entries are skipped 16 at a time), ~120 for the largest gap joined.
/// Nothing is mapped in a gap (every mapping lies in a VMA), so the walk finds nothing
/// more there; and were something there, the tree owns its reference all the same.
pub fn coalesce(
    ranges: impl Iterator<Item = (usize, usize)>,
) -> impl Iterator<Item = (usize, usize)> {
    let mut ranges = ranges.peekable();
    core::iter::from_fn(move || {
        let (start, mut end) = ranges.next()?;
        while let Some(&(next_start, next_end)) = ranges.peek() {
            if next_start < end || next_start - end > MAX_GAP {
                break;
            }
            end = next_end;
            ranges.next();
        }
        Some((start, end))
    })
}

/// `walk_range` one level down: `table` is at `level` and maps from `base`.
fn walk_table<O: WalkOps>(
    table: Table,
    level: usize,
    base: usize,
    range: (usize, usize),
    ops: &mut O,
) -> Result<(), O::Error> {
    let span = entry_span(level);
    let Some((first, end)) = index_range(level, base, range) else {
        return Ok(());
    };
    for (index, entry, pte) in table.valid_entries(first, end) {
        let at = Slot {
            entry,
            pte,
            level,
            index,
            va: base + index * span,
        };
        if level < LEAF_LEVEL && pte.is_table() {
            if ops.table(&at)? {
                let done = level + 1 == LEAF_LEVEL
                    && match index_range(LEAF_LEVEL, at.va, range) {
                        Some((first, end)) => ops.pte_range(&at, first, end)?,
                        None => true,
                    };
                if !done {
                    walk_table(at.next_table(), level + 1, at.va, range, ops)?;
                }
                ops.table_done(&at)?;
            }
        } else {
            ops.leaf(&at)?;
        }
    }
    Ok(())
}

/// The indices `first..end` of the entries of a table at `level` mapping from `base` that
/// `range` covers, if any.
#[inline]
fn index_range(level: usize, base: usize, range: (usize, usize)) -> Option<(usize, usize)> {
    let span = entry_span(level);
    let (lo, hi) = (range.0.max(base), range.1.min(base + span * ENTRIES));
    (lo < hi).then(|| ((lo - base) / span, (hi - 1 - base) / span + 1))
}

/// `walk_range` for the leaves only: `f(slot)` for every page (or block) in `[start, end)`.
pub fn for_each_leaf(root: Table, start: usize, end: usize, f: impl FnMut(&Slot)) {
    struct Leaves<F>(F);
    impl<F: FnMut(&Slot)> WalkOps for Leaves<F> {
        type Error = Infallible;
        fn leaf(&mut self, at: &Slot) -> Result<(), Infallible> {
            (self.0)(at);
            Ok(())
        }
    }
    let Ok(()) = walk_range(root, start, end, &mut Leaves(f));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::pte::PteFlags;
    use crate::mm::frame::sim::SimMemory;
    use crate::mm::pagetable::PageTable;

    #[test]
    fn spans_and_indices() {
        assert_eq!(
            [0, 1, 2, 3].map(entry_span),
            [1 << 39, 1 << 30, 2 << 20, 4096]
        );
        assert_eq!(VA_SPAN, 1 << 48);
        let va = (3 << 39) | (5 << 30) | (7 << 21) | (9 << 12) | 0x123;
        assert_eq!([0, 1, 2, 3].map(|l| table_index(va, l)), [3, 5, 7, 9]);
    }

    /// The pattern that was undefined behaviour with a `&[u64; 512]` over the table:
    /// writing each entry while iterating over the table.
    #[test]
    fn entries_can_be_written_while_iterating() {
        let m = SimMemory::new(4);
        let f = &m.frames;
        let pa = f.alloc_zeroed().unwrap();
        // SAFETY: a zeroed frame of this test, freed at the end.
        let table = unsafe { Table::from_frame(pa) };
        for i in [0, 9, 15, 500] {
            table.entry(i).write(Pte::page(0x1000 * i, PteFlags::AF));
        }
        let mut seen = alloc::vec::Vec::new();
        for (i, entry, pte) in table.valid_entries(0, ENTRIES) {
            assert_eq!(pte.addr(), 0x1000 * i);
            entry.clear();
            seen.push(i);
        }
        assert_eq!(seen, [0, 9, 15, 500]);
        assert!(table.is_empty());
        assert_eq!(table.valid_entries(10, 16).count(), 0);
        f.put(pa);
    }

    /// The fast loop sees exactly what `valid_entries` sees, for ranges that start and
    /// end inside groups of 8, and `same_in` names the same index in another table.
    #[test]
    fn for_each_valid_matches_valid_entries() {
        let m = SimMemory::new(4);
        let f = &m.frames;
        let (pa, other) = (f.alloc_zeroed().unwrap(), f.alloc_zeroed().unwrap());
        // SAFETY: zeroed frames of this test, freed at the end.
        let (table, other) = unsafe { (Table::from_frame(pa), Table::from_frame(other)) };
        for i in [0, 3, 7, 8, 15, 16, 100, 101, 255, 256, 504, 510, 511] {
            table.entry(i).write(Pte::page(0x1000 * i, PteFlags::AF));
        }
        for (first, end) in [
            (0, ENTRIES),
            (3, 16),
            (5, 8),
            (9, 15),
            (100, 257),
            (505, 512),
        ] {
            let mut seen = alloc::vec::Vec::new();
            let Ok(()) = table.for_each_valid(first, end, |i, entry, pte| {
                assert_eq!(entry.read(), pte);
                assert_eq!(entry.same_in(other), other.entry(i));
                seen.push(i);
                Ok::<(), Infallible>(())
            });
            let want: alloc::vec::Vec<usize> =
                table.valid_entries(first, end).map(|(i, _, _)| i).collect();
            assert_eq!(seen, want, "{first}..{end}");
        }
        for i in 0..ENTRIES {
            table.entry(i).clear();
        }
        f.put(pa);
        f.put(other.pa());
    }

    /// `coalesce` joins neighbours at most `MAX_GAP` apart, and nothing else.
    #[test]
    fn coalesce_joins_close_ranges() {
        let g = MAX_GAP;
        let joined: alloc::vec::Vec<_> = coalesce(
            [
                (0x40_0000, 0x40_3000),
                (0x40_3000, 0x40_4000),
                (0x40_4000 + g, 0x40_5000 + g),
                (0x40_5000 + 2 * g + 0x1000, 0x50_0000 + 2 * g),
                (1 << 40, 2 << 40),
            ]
            .into_iter(),
        )
        .collect();
        assert_eq!(
            joined,
            [
                (0x40_0000, 0x40_5000 + g),
                (0x40_5000 + 2 * g + 0x1000, 0x50_0000 + 2 * g),
                (1 << 40, 2 << 40),
            ]
        );
        assert_eq!(coalesce(core::iter::empty()).count(), 0);
    }

    /// `skip_zero_groups` stops at the first group with a nonzero entry, whatever its
    /// place in a turn of 16, and at `end`.
    #[test]
    fn skip_zero_groups_finds_the_first_nonzero_group() {
        let m = SimMemory::new(2);
        let f = &m.frames;
        let pa = f.alloc_zeroed().unwrap();
        // SAFETY: a zeroed frame of this test, freed at the end.
        let table = unsafe { Table::from_frame(pa) };
        assert_eq!(table.skip_zero_groups(0, ENTRIES), ENTRIES);
        assert_eq!(table.skip_zero_groups(8, 8), 8);
        for i in [0, 7, 8, 15, 16, 100, 263, 504, 511] {
            table.entry(i).write(Pte(0x40)); // not valid, but not zero
            let group = i & !7;
            assert_eq!(table.skip_zero_groups(0, ENTRIES), group, "entry {i}");
            assert_eq!(table.skip_zero_groups(group, ENTRIES), group);
            if group >= 8 {
                assert_eq!(table.skip_zero_groups(0, group), group);
                assert_eq!(table.skip_zero_groups(8, group), group);
            }
            assert_eq!(table.skip_zero_groups(group + 8, ENTRIES), ENTRIES);
            table.entry(i).clear();
        }
        f.put(pa);
    }

    /// A range walk reads only the tables that map the range, in address order, and
    /// calls `table_done` after each table's entries.
    #[test]
    fn range_walk_visits_only_the_range() {
        #[derive(Default)]
        struct Log(alloc::vec::Vec<(&'static str, usize, usize)>);
        impl WalkOps for Log {
            type Error = Infallible;
            fn table(&mut self, at: &Slot) -> Result<bool, Infallible> {
                self.0.push(("table", at.level, at.va));
                Ok(true)
            }
            fn table_done(&mut self, at: &Slot) -> Result<(), Infallible> {
                self.0.push(("done", at.level, at.va));
                Ok(())
            }
            fn leaf(&mut self, at: &Slot) -> Result<(), Infallible> {
                self.0.push(("leaf", at.level, at.va));
                Ok(())
            }
        }
        let m = SimMemory::new(32);
        let f = &m.frames;
        let mut pt = PageTable::new(f, 1).unwrap();
        for va in [0x1000, 0x3000, 0x20_0000, 0x80_0000_0000] {
            let p = f.alloc_zeroed().unwrap();
            pt.map(f, va, p, PteFlags::AF).unwrap();
        }
        let mut log = Log::default();
        let Ok(()) = walk_range(pt.root_table(), 0x2000, 0x20_1000, &mut log);
        assert_eq!(
            log.0,
            [
                ("table", 0, 0),
                ("table", 1, 0),
                ("table", 2, 0),
                ("leaf", 3, 0x3000),
                ("done", 2, 0),
                ("table", 2, 0x20_0000),
                ("leaf", 3, 0x20_0000),
                ("done", 2, 0x20_0000),
                ("done", 1, 0),
                ("done", 0, 0),
            ]
        );
        pt.destroy(f);
        assert_eq!(f.in_use(), 0);
    }
}
