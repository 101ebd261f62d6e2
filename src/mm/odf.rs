//! On-demand fork (ODF): fork in O(1) per 2 MiB by sharing last-level page tables
//! copy-on-write, as in Zhao et al., "On-demand-fork: a microsecond fork for
//! memory-intensive and latency-sensitive applications" (EuroSys '21). An option, off by
//! default: `fork=odf` on the kernel command line (`make run FORK=odf`). docs/odf.md has
//! the picture, the trade-off and the measured figures.
//!
//! Linux has no mainline equivalent: its fork always copies every level-3 entry
//! (`copy_pte_range`, cow.rs here). ODF changes one level up (the paper patches
//! `copy_pmd_range`): where classic fork would copy the 512 entries of a level-3 table,
//!
//! ```text
//!   parent's level-2 table           child's level-2 table
//!   [ table -> T, APTable=RO ]       [ table -> T, APTable=RO ]
//!                \                         /
//!                 +-- level-3 table T --- +       count(T) = 2 (the sharers)
//!                     512 entries, as they were (writable ones stay writable)
//!                     each frame counted once: by T
//! ```
//!
//! both level-2 descriptors point at the same table, with the hardware's hierarchical
//! write-protect (APTable[1], `arch::pte::APTABLE_NO_WRITE`) set, so that no write, by EL0
//! or by the kernel's uaccess, goes through any entry below — without touching them. The
//! table page's reference count (the frame allocator's) counts its sharers; the frames it
//! maps keep one reference each, the table's. A fork costs one `get` and two descriptor
//! writes per 2 MiB instead of 512 entry copies.
//!
//! The first write fault into the range (or any change of its entries: a page fault
//! that installs a page, munmap, mprotect, mremap, the kernel's own writes) *breaks* the
//! sharing for the faulting address space (`unshare_table`, the paper's fault-time
//! `copy_pte_range`): a new table gets the 512 entries, write-protected exactly as classic
//! fork would have (private writable pages become read-only + COW, in the shared table
//! too, and each frame takes a reference for the new table), the level-2 descriptor is
//! replaced break-before-make, and the shared table loses a reference. The last sharer
//! copies nothing: it clears APTable. Then the ordinary COW fault (cow.rs) follows.
//!
//! Reads never break the sharing. Exit drops the address space's reference
//! (`zap_shared_table`); the last holder releases the entries and the table.
//!
//! Only tables whose 2 MiB lie entirely in private anonymous VMAs (or holes) are shared:
//! file pages can be zapped from every address space at once (truncate,
//! `AddressSpace::zap_file_pages`), which must never meet a shared table.
//!
//! Lock order: everything here runs under the address space's lock. Sharers are
//! *different* address spaces, so two CPUs may drop one table at once: the drop is
//! `FrameAllocator::put_unless_last`, and only the holder that finds the count at 1 (and
//! it alone can then hold it) releases the entries. Entries of a shared table are only
//! ever tightened (writable → read-only + COW), by any sharer, and each writes the same
//! value: races between sharers breaking at once are benign.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::cow::OutOfMemory;
use super::frame::{FrameAllocator, PhysAddr};
use super::pagetable::PageTable;
use super::walk::{self, ENTRIES, Entry, LEAF_LEVEL, Slot, Table, WalkOps};
use crate::arch;
use crate::arch::pte::{Pte, PteFlags};

/// The level whose entries point at the shared (level-3) tables: Linux's pmd.
const PMD_LEVEL: usize = LEAF_LEVEL - 1;
/// Bytes one level-3 table maps.
pub const TABLE_SPAN: usize = walk::entry_span(PMD_LEVEL);

/// `fork=odf` was on the command line: fork shares level-3 tables.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Some table has been shared since boot: the hooks in the fault path look only then.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Counters (kstat): tables shared at fork, sharings broken by a copy, by the last sharer
/// (no copy), and shared tables dropped at exit/munmap.
pub static SHARED: AtomicUsize = AtomicUsize::new(0);
pub static UNSHARE_COPIES: AtomicUsize = AtomicUsize::new(0);
pub static UNSHARE_REUSES: AtomicUsize = AtomicUsize::new(0);
pub static DROPPED: AtomicUsize = AtomicUsize::new(0);

/// The kernel parameter `fork=` (boot.rs): `odf` switches ODF on, `classic` off.
pub fn set_fork_mode(value: &str) {
    match value {
        "odf" => ENABLED.store(true, Ordering::Relaxed),
        "classic" => ENABLED.store(false, Ordering::Relaxed),
        _ => {}
    }
}

/// Does fork share tables (`fork=odf`)?
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// May some level-2 descriptor be write-protected? One load: with ODF off the hooks cost
/// nothing more.
#[inline]
pub fn active() -> bool {
    ACTIVE.load(Ordering::Relaxed)
}

/// Does `at` (a level-2 slot met by a walk) point at a table shared by ODF (or left
/// write-protected by a sharing whose other holders have gone)?
#[inline]
pub fn is_shared_table(at: &Slot) -> bool {
    at.level == PMD_LEVEL && at.pte.is_table() && at.pte.table_write_protected()
}

/// Fork's half (the ODF paper's `copy_pmd_range`): for each level-3 table of the parent
/// inside `ranges` (the VMAs) whose 2 MiB `shareable` accepts, the child's level-2 entry
/// points at the parent's very table, both write-protected by APTable, and the table
/// gains a reference. The child's upper tables are made on the way. Returns how many
/// tables were shared; `copy_page_range` then skips them (and copies the rest).
pub fn share_tables(
    parent: &mut PageTable,
    frames: &FrameAllocator,
    child: &mut PageTable,
    ranges: impl Iterator<Item = (usize, usize)>,
    shareable: impl Fn(usize) -> bool,
) -> Result<usize, OutOfMemory> {
    struct Share<'a, F> {
        frames: &'a FrameAllocator,
        child: &'a mut PageTable,
        child_tables: [Table; LEAF_LEVEL],
        shareable: F,
        shared: usize,
    }
    impl<F: Fn(usize) -> bool> WalkOps for Share<'_, F> {
        type Error = OutOfMemory;
        fn table(&mut self, at: &Slot) -> Result<bool, OutOfMemory> {
            let slot = self.child_tables[at.level].entry(at.index);
            if at.level == PMD_LEVEL {
                // Already shared when an earlier range passed through this 2 MiB, or not
                // shareable: classic fork's walk will see to it.
                if !slot.read().is_valid() && (self.shareable)(at.va) {
                    self.frames.get(at.next_table().pa());
                    let wp = at.pte.table_set_write_protect(true);
                    at.entry.write(wp); // TLB: flushed once, by the caller
                    slot.write(wp);
                    self.child.count_tables(1);
                    self.shared += 1;
                }
                return Ok(false);
            }
            self.child_tables[at.level + 1] = match slot.next_table() {
                Some(t) => t,
                None => {
                    let t = self.child.new_table(self.frames).ok_or(OutOfMemory)?;
                    slot.write(Pte::table(t.pa().as_usize()));
                    t
                }
            };
            Ok(true)
        }
    }
    let root = child.root_table();
    let mut share = Share {
        frames,
        child,
        child_tables: [root; LEAF_LEVEL],
        shareable,
        shared: 0,
    };
    let mut result = Ok(());
    for (start, end) in ranges {
        result = walk::walk_range(parent.root_table(), start, end, &mut share);
        if result.is_err() {
            break;
        }
    }
    let shared = share.shared;
    if shared > 0 {
        ACTIVE.store(true, Ordering::Relaxed);
        SHARED.fetch_add(shared, Ordering::Relaxed);
        // The parent's TLB may hold writable translations of the pages below: gone.
        arch::flush_tlb_asid(parent.asid());
    }
    result.map(|()| shared)
}

/// What `unshare` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unshared {
    /// The table was not write-protected: nothing.
    No,
    /// Shared: this address space now has a copy.
    Copied,
    /// This address space was the last sharer: APTable cleared, nothing copied (for the
    /// fault that asked, a COW "reuse": the pages there may be writable as they are).
    Reused,
}

/// The level-2 entry for `va`, if the tables down to it exist.
fn pmd_entry(pt: &PageTable, va: usize) -> Option<Entry> {
    let mut table = pt.root_table();
    for level in 0..PMD_LEVEL {
        table = table.offset(va, level).next_table()?;
    }
    Some(table.offset(va, PMD_LEVEL))
}

/// Is the level-3 table covering `va` write-protected by ODF (so that a COW copy made
/// with the lock released must not be installed into it: `AddressSpace::finish_cow`)?
/// (Inline: with ODF never used, one load; the walk is out of line.)
#[inline]
pub fn write_protected(pt: &PageTable, va: usize) -> bool {
    active() && pmd_write_protected(pt, va)
}

#[cold]
#[inline(never)]
fn pmd_write_protected(pt: &PageTable, va: usize) -> bool {
    pmd_entry(pt, va).is_some_and(|e| e.read().table_write_protected())
}

/// Makes the level-3 table covering `va` this address space's own before anything
/// writes an entry there: the write-fault half of ODF. Nothing to do (one walk) when the
/// table is not write-protected. Out of memory for the copy: nothing changed.
/// (Inline: with ODF never used since boot, one load; the rest is out of line, so that
/// the fault path it is called from keeps its shape.)
#[inline]
pub fn unshare(
    pt: &mut PageTable,
    frames: &FrameAllocator,
    va: usize,
) -> Result<Unshared, OutOfMemory> {
    if !active() {
        return Ok(Unshared::No);
    }
    unshare_at(pt, frames, va)
}

#[inline(never)]
fn unshare_at(
    pt: &mut PageTable,
    frames: &FrameAllocator,
    va: usize,
) -> Result<Unshared, OutOfMemory> {
    match pmd_entry(pt, va) {
        Some(pmd) => unshare_table(pt, frames, pmd),
        None => Ok(Unshared::No),
    }
}

/// `unshare` for every table meeting `[start, end)` (munmap, mprotect, mremap). Tables
/// that lie entirely inside the range when `zap` (munmap: every entry there is about to
/// go) are not copied: the reference is dropped and the level-2 entry cleared.
pub fn unshare_range(
    pt: &mut PageTable,
    frames: &FrameAllocator,
    start: usize,
    end: usize,
    zap: bool,
) -> Result<(), OutOfMemory> {
    if !active() || start >= end {
        return Ok(());
    }
    let mut va = start & !(TABLE_SPAN - 1);
    while va < end {
        if let Some(pmd) = pmd_entry(pt, va)
            && pmd.read().table_write_protected()
        {
            if zap && va >= start && va + TABLE_SPAN <= end {
                let table = pmd
                    .next_table()
                    .expect("a write-protected table descriptor");
                pmd.clear();
                arch::flush_tlb_asid(pt.asid());
                zap_shared_table(frames, table);
                pt.count_tables(-1);
            } else {
                unshare_table(pt, frames, pmd)?;
            }
        }
        va += TABLE_SPAN;
    }
    Ok(())
}

/// Breaks the sharing of the level-3 table `pmd` points at, for this address space (the
/// ODF paper's fault-time copy). Last sharer: APTable cleared, nothing copied. Otherwise:
/// a new table with the entries, write-protected as classic fork would have done (and so
/// tightened in the shared table too: its other sharers see through APTable anyway), each
/// frame referenced by the new table; then the level-2 entry replaced break-before-make.
#[cold]
#[inline(never)]
pub fn unshare_table(
    pt: &mut PageTable,
    frames: &FrameAllocator,
    pmd: Entry,
) -> Result<Unshared, OutOfMemory> {
    let desc = pmd.read();
    if !desc.is_table() || !desc.table_write_protected() {
        return Ok(Unshared::No);
    }
    let shared = pmd.next_table().expect("a table descriptor");
    // Count 1 cannot grow under us: only a fork of this address space could share the
    // table again, and it needs the lock we hold.
    if frames.refcount(shared.pa()) == 1 {
        // Permission relaxation: no break-before-make, but the TLB holds translations
        // made read-only by APTable (the combination is what it caches).
        pmd.write(desc.table_set_write_protect(false));
        arch::flush_tlb_asid(pt.asid());
        UNSHARE_REUSES.fetch_add(1, Ordering::Relaxed);
        return Ok(Unshared::Reused);
    }
    let new = pt.new_table(frames).ok_or(OutOfMemory)?;
    for (index, entry, pte) in shared.valid_entries(0, ENTRIES) {
        let mut flags = pte.flags();
        // copy_present_pte's rule (cow.rs): a private writable page becomes COW in both.
        if !flags.intersects(PteFlags::SHARED | PteFlags::READ_ONLY) {
            flags |= PteFlags::READ_ONLY | PteFlags::COW;
            entry.write(Pte::new(pte.addr(), flags));
        }
        frames.get(PhysAddr(pte.addr()));
        new.entry(index).write(Pte::new(pte.addr(), flags));
    }
    // Break-before-make (ARM ARM D8.14): the table's output address changes. The ASID
    // flush also drops the walk caches that hold the old level-2 entry.
    pmd.clear();
    arch::flush_tlb_asid(pt.asid());
    pmd.write(Pte::table(new.pa().as_usize()));
    zap_shared_table(frames, shared);
    pt.count_tables(-1);
    UNSHARE_COPIES.fetch_add(1, Ordering::Relaxed);
    Ok(Unshared::Copied)
}

/// Drops one sharer's reference on a level-3 table no longer reachable from its address
/// space (exit, munmap of the whole 2 MiB, the end of `unshare_table`). The last holder
/// releases each mapped frame's reference, then the table (Linux's zap of a page-table
/// page, `zap_pte_range` + `pte_free`, done once for all the sharers).
pub fn zap_shared_table(frames: &FrameAllocator, table: Table) {
    DROPPED.fetch_add(1, Ordering::Relaxed);
    if frames.put_unless_last(table.pa()) {
        return;
    }
    for (_, _, pte) in table.valid_entries(0, ENTRIES) {
        frames.put(PhysAddr(pte.addr()));
    }
    frames.put(table.pa());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::PAGE_SIZE;
    use crate::mm::frame::sim::SimMemory;
    use crate::mm::pagetable::USER_TOP;

    fn rw() -> PteFlags {
        PteFlags::USER | PteFlags::AF | PteFlags::NG | PteFlags::PXN
    }

    #[test]
    fn shared_table_is_copied_on_break_and_released_by_the_last() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut parent = PageTable::new(f, 1).unwrap();
        let pages: alloc::vec::Vec<_> = (0..3).map(|_| f.alloc_zeroed().unwrap()).collect();
        for (i, &p) in pages.iter().enumerate() {
            parent.map(f, 0x20_0000 + i * PAGE_SIZE, p, rw()).unwrap();
        }
        let mut child = PageTable::new(f, 2).unwrap();
        let n = share_tables(
            &mut parent,
            f,
            &mut child,
            [(0, USER_TOP)].into_iter(),
            |_| true,
        )
        .unwrap();
        assert_eq!(n, 1);
        assert_eq!(parent.lookup(0x20_0000), child.lookup(0x20_0000));
        assert!(write_protected(&parent, 0x20_0000) && write_protected(&child, 0x20_1000));
        assert_eq!(f.refcount(pages[0]), 1, "frames counted once, by the table");
        // The child breaks the sharing: a copy, every entry COW, frames referenced twice.
        unshare(&mut child, f, 0x20_1000).unwrap();
        assert!(!write_protected(&child, 0x20_0000));
        let (pa, flags) = child.lookup(0x20_1000).unwrap();
        assert_eq!(pa, pages[1]);
        assert!(flags.contains(PteFlags::COW | PteFlags::READ_ONLY));
        assert_eq!(f.refcount(pages[1]), 2);
        // The parent is now the last sharer: APTable cleared, nothing copied.
        let before = f.in_use();
        unshare(&mut parent, f, 0x20_0000).unwrap();
        assert!(!write_protected(&parent, 0x20_0000));
        assert_eq!(f.in_use(), before);
        parent.destroy(f);
        child.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn exit_of_sharers_releases_everything_once() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut parent = PageTable::new(f, 1).unwrap();
        for i in 0..4 {
            let p = f.alloc_zeroed().unwrap();
            parent.map(f, 0x40_0000 + i * PAGE_SIZE, p, rw()).unwrap();
        }
        let mut child = PageTable::new(f, 2).unwrap();
        let mut grandchild = PageTable::new(f, 3).unwrap();
        let all = || [(0, USER_TOP)].into_iter();
        share_tables(&mut parent, f, &mut child, all(), |_| true).unwrap();
        share_tables(&mut child, f, &mut grandchild, all(), |_| true).unwrap();
        child.destroy_ranges(f, all());
        assert!(parent.lookup(0x40_3000).is_some());
        parent.destroy_ranges(f, all());
        assert_eq!(
            grandchild.lookup(0x40_3000).map(|l| f.refcount(l.0)),
            Some(1)
        );
        grandchild.destroy(f);
        assert_eq!(f.in_use(), 0);
    }
}
