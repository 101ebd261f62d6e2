//! Both halves of copy-on-write (Linux mm/memory.c):
//!
//! * `copy_page_range` — at fork, duplicate the parent's TTBR0 tables for the child: a
//!   range walk (`walk::walk_range`) over the parts of the parent's tree its VMAs cover,
//!   building the child's tables alongside, and `copy_present_pte` for each page. Every
//!   private writable page is mapped to the same frame in the child, made read-only with
//!   the software COW bit in *both* tables, and its frame's reference count is raised.
//!   MAP_SHARED pages stay writable in both; read-only pages are simply shared.
//! * `resolve_cow` and `install_cow_copy` — the write-protect fault (Linux `do_wp_page`):
//!   a write hit a COW page. If nobody else maps the frame any more (count 1) the page is
//!   made writable in place; otherwise the 4 KiB are copied into a new frame (and the
//!   I-cache synchronised if EL0 may execute it) *with the lock released*, then, locked
//!   again, the entry is checked to be unchanged and replaced break-before-make, and the
//!   old frame loses a reference. Several CPUs may fault on one page at once:
//!
//! ```text
//!  CPU 1 (thread A)                        CPU 2 (thread B), same page
//!  lock; COW, count 2: get(F) -> 3; unlock lock; COW, count 3: get(F) -> 4; unlock
//!  copy F -> F1                            copy F -> F2
//!  lock; entry unchanged: install F1,      lock; entry changed (F1 now): free F2,
//!        put(F) twice -> 2; unlock               put(F) -> 1; unlock; retry: no fault
//! ```
//!
//! ```text
//!  before fork            after fork                    after the child writes
//!  parent  VA -> F (RW)   parent VA -> F (RO,COW)  F:2  parent VA -> F (RO,COW) F:1
//!                         child  VA -> F (RO,COW)       child  VA -> F' (RW)    F':1
//! ```

use core::sync::atomic::{AtomicUsize, Ordering};

use super::frame::{FrameAllocator, FrameRefs, PAGE_SIZE, PhysAddr};
use super::pagetable::PageTable;
use super::walk::{self, Entry, LEAF_LEVEL, Slot, Table, WalkOps};
use crate::arch;
use crate::arch::pte::{Pte, PteFlags};

/// Counters a test program can read through the kstat syscall.
pub static COW_COPIES: AtomicUsize = AtomicUsize::new(0);
pub static COW_REUSES: AtomicUsize = AtomicUsize::new(0);

/// What fork did to the pages it visited.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Private writable pages now copy-on-write in both address spaces.
    pub cow: usize,
    /// Pages shared as they are (MAP_SHARED, read-only, or already COW).
    pub shared: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CowOutcome {
    /// The frame had no other user: made writable in place.
    Reused,
    /// The page was copied into a new frame.
    Copied,
    /// The frame is shared: a copy must be made (outside the lock) and installed.
    MustCopy(CowCopy),
    /// The entry changed while the copy was made (another CPU got there first); the
    /// copy was thrown away and the access retries.
    Raced,
    /// The entry is not a COW page (missing, or COW bit clear).
    NotCow,
    /// No frame for the copy; nothing was changed.
    OutOfMemory,
}

#[derive(Debug, PartialEq, Eq)]
pub struct OutOfMemory;

impl PageTable {
    /// Fills the empty `child` with the parent's (self's) user mappings, copy-on-write.
    /// On error the child keeps what it had built so far; the caller destroys it.
    /// Only the parts of the tree inside `ranges` (the VMAs; `walk::coalesce`) are visited.
    pub fn copy_page_range(
        &mut self,
        frames: &FrameAllocator,
        child: &mut PageTable,
        ranges: impl Iterator<Item = (usize, usize)>,
    ) -> Result<CopyStats, OutOfMemory> {
        let child_root = child.root_table();
        let mut dup = Dup {
            frames,
            child,
            child_tables: [child_root; LEAF_LEVEL + 1],
            stats: CopyStats::default(),
        };
        let mut result = Ok(());
        for (start, end) in walk::coalesce(ranges) {
            result = walk::walk_range(self.root_table(), start, end, &mut dup);
            if result.is_err() {
                break;
            }
        }
        // Parent entries went from writable to read-only: drop the stale writable TLB
        // entries of the whole ASID once (dsb ishst; tlbi aside1is; dsb ish; isb).
        if dup.stats.cow > 0 {
            arch::flush_tlb_asid(self.asid());
        }
        result.map(|()| dup.stats)
    }

    /// The write-protect fault on `va`, first half (Linux `do_wp_page`), called with the
    /// address space locked. If nobody else maps the frame any more (count 1), the page
    /// becomes writable in place (`wp_page_reuse`). Otherwise the copy must be made —
    /// outside the lock, so that other CPUs are not held up while 4 KiB are copied: this
    /// takes a reference that keeps the old frame alive until `install_cow_copy`.
    #[inline(never)] // a breakpoint target in gdb (`cowbreak`)
    pub fn resolve_cow(&mut self, frames: &FrameAllocator, va: usize) -> CowOutcome {
        let Some(entry) = self.walk(va) else {
            return CowOutcome::NotCow;
        };
        let old = entry.read();
        if !old.is_valid() || !old.flags().contains(PteFlags::COW) {
            return CowOutcome::NotCow;
        }
        let page_va = va & !(PAGE_SIZE - 1);
        let frame = PhysAddr(old.addr());
        // Count 1 cannot grow under us: only a mapping of this address space could
        // add a reference (fork, under the same lock).
        if frames.refcount(frame) == 1 {
            let writable = old.flags() - PteFlags::READ_ONLY - PteFlags::COW;
            // Only a permission relaxation: no break-before-make needed, but the stale
            // read-only TLB entry would fault again, so invalidate it.
            entry.write(Pte::new(old.addr(), writable));
            arch::flush_tlb_page(self.asid(), page_va);
            COW_REUSES.fetch_add(1, Ordering::Relaxed);
            return CowOutcome::Reused;
        }
        frames.get(frame);
        CowOutcome::MustCopy(CowCopy { va: page_va, old })
    }

    /// The write-protect fault, second half (the end of Linux `wp_page_copy`), with the
    /// address space locked again: `new` holds the copy `copy` describes. If the entry is
    /// no longer the one that faulted — another CPU resolved the same fault, or the page
    /// was unmapped or protected meanwhile — the copy is thrown away (Linux's `pte_same`
    /// check) and the access simply retries. Otherwise the new frame replaces the old
    /// break-before-make, and the old frame loses the entry's reference and ours.
    #[inline(never)] // a breakpoint target in gdb
    pub fn install_cow_copy(
        &mut self,
        frames: &FrameAllocator,
        copy: CowCopy,
        new: PhysAddr,
    ) -> CowOutcome {
        // Walked again: while the lock was released the page (and its tables) may have
        // been unmapped.
        let entry = self.walk(copy.va).filter(|e| e.read() == copy.old);
        let Some(entry) = entry else {
            frames.put(new);
            frames.put(copy.frame());
            return CowOutcome::Raced;
        };
        let writable = copy.old.flags() - PteFlags::READ_ONLY - PteFlags::COW;
        // Break-before-make (ARM ARM D8.14): invalid entry, TLB invalidate on every CPU,
        // new entry. No CPU may hold the old and the new translation at once.
        entry.clear();
        arch::flush_tlb_page(self.asid(), copy.va);
        entry.write(Pte::new(new.as_usize(), writable));
        frames.put_n(copy.frame(), 2); // the entry's reference and resolve_cow's
        COW_COPIES.fetch_add(1, Ordering::Relaxed);
        CowOutcome::Copied
    }

    /// Both halves at once, with the copy made under the caller's lock: for the kernel's
    /// own writes into a locked address space (`AddressSpace::fill`) and for tests.
    pub fn resolve_cow_now(&mut self, frames: &FrameAllocator, va: usize) -> CowOutcome {
        match self.resolve_cow(frames, va) {
            CowOutcome::MustCopy(copy) => match copy.copy_page(frames) {
                Some(new) => self.install_cow_copy(frames, copy, new),
                None => {
                    copy.abandon(frames);
                    CowOutcome::OutOfMemory
                }
            },
            other => other,
        }
    }
}

/// A copy-on-write copy still to be made: the page and its entry as it was when the fault
/// was taken (which names the frame, on which `resolve_cow` holds a reference for us).
/// Two words: it travels in registers.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a CowCopy holds a frame reference: install it or abandon it"]
pub struct CowCopy {
    pub va: usize,
    pub old: Pte,
}

impl CowCopy {
    /// Linux `wp_page_copy`'s allocation and `copy_user_highpage`, run with no lock held:
    /// a new frame with the old one's contents. None when memory is short.
    pub fn copy_page(&self, frames: &FrameAllocator) -> Option<PhysAddr> {
        let new = frames.alloc_uninit()?;
        copy_user_frame(new, self.frame(), self.old);
        Some(new)
    }

    /// The shared frame (the old entry's), on which `resolve_cow` holds a reference.
    pub fn frame(&self) -> PhysAddr {
        PhysAddr(self.old.addr())
    }

    /// Gives up (out of memory): drops the reference `resolve_cow` took.
    pub fn abandon(self, frames: &FrameAllocator) {
        frames.put(self.frame());
    }
}

/// Fork's walk over the parent's tables (Linux `copy_page_range` → `copy_p4d_range` …
/// `copy_pte_range`): at each parent table entry, the child gets a table at the same place;
/// at each page, `copy_present_pte`.
struct Dup<'a> {
    frames: &'a FrameAllocator,
    child: &'a mut PageTable,
    /// The child's tables on the path the walk is on, by level: `child_tables[l]` is the
    /// child's counterpart of the parent table whose entries the walk visits at level l.
    child_tables: [Table; LEAF_LEVEL + 1],
    stats: CopyStats,
}

impl WalkOps for Dup<'_> {
    type Error = OutOfMemory;

    #[inline]
    fn table(&mut self, at: &Slot) -> Result<bool, OutOfMemory> {
        let slot = self.child_tables[at.level].entry(at.index);
        let next = match slot.next_table() {
            // ODF fork (odf.rs, `share_tables`): the child already shares this very
            // level-3 table; nothing to copy.
            Some(t) if at.level == LEAF_LEVEL - 1 && t == at.next_table() => return Ok(false),
            Some(t) => t, // made when an earlier range passed through here
            None => {
                let t = self.child.new_table(self.frames).ok_or(OutOfMemory)?;
                slot.write(Pte::table(t.pa().as_usize()));
                t
            }
        };
        self.child_tables[at.level + 1] = next;
        Ok(true)
    }

    #[inline]
    fn leaf(&mut self, at: &Slot) -> Result<(), OutOfMemory> {
        debug_assert_eq!(at.level, LEAF_LEVEL, "no block mappings in user tables");
        let child = self.child_tables[LEAF_LEVEL].entry(at.index);
        copy_present_pte(self.frames.refs(), at.entry, child, at.pte, &mut self.stats)
    }

    /// The entries of one parent page table at once (`table` made the child's).
    #[inline]
    fn pte_range(&mut self, pmd: &Slot, first: usize, end: usize) -> Result<bool, OutOfMemory> {
        let (src, dst) = (pmd.next_table(), self.child_tables[LEAF_LEVEL]);
        copy_pte_range(self.frames, src, dst, first, end, &mut self.stats)?;
        Ok(true)
    }
}

/// Linux `copy_pte_range`: the entries `first..end` of the parent's page table `src`
/// into the child's `dst`, one `copy_present_pte` each. Why it is fast: one loop over
/// the table with `copy_present_pte` inlined — per page a load, the write-protect, two
/// stores and the frame's count (an atomic increment) — instead of the generic walk's
/// `Slot` and `leaf` call per page; runs of 8 empty entries (a cache line) are skipped
/// with one test (`Table::for_each_valid`). Same work per page as `leaf`, so just as correct.
#[inline]
fn copy_pte_range(
    frames: &FrameAllocator,
    src: Table,
    dst: Table,
    first: usize,
    end: usize,
    stats: &mut CopyStats,
) -> Result<(), OutOfMemory> {
    // The counters in registers for the loop (a store per page through `stats`
    // otherwise), the allocator's fields read once (`FrameAllocator::refs`).
    let mut counted = CopyStats::default();
    let refs = frames.refs();
    let result = src.for_each_valid(first, end, |_, entry, pte| {
        copy_present_pte(refs, entry, entry.same_in(dst), pte, &mut counted)
    });
    stats.cow += counted.cow;
    stats.shared += counted.shared;
    result
}

/// Shares one page with the child (Linux `copy_present_pte`): `parent` holds `pte`,
/// `child` is the child's empty entry for the same address.
#[inline]
fn copy_present_pte(
    frames: FrameRefs<'_>,
    parent: Entry,
    child: Entry,
    pte: Pte,
    stats: &mut CopyStats,
) -> Result<(), OutOfMemory> {
    let mut flags = pte.flags();
    if !flags.intersects(PteFlags::SHARED | PteFlags::READ_ONLY) {
        flags |= PteFlags::READ_ONLY | PteFlags::COW;
        parent.write(Pte::new(pte.addr(), flags));
        stats.cow += 1;
    } else {
        stats.shared += 1;
    }
    frames.get(PhysAddr(pte.addr()));
    child.write(Pte::new(pte.addr(), flags));
    Ok(())
}

/// Copies a user page into the frame `dst`, just allocated, so nothing else aliases it
/// (Linux `copy_user_highpage`). If EL0 may execute the page (its entry `pte` lacks UXN),
/// the copied instructions must reach the instruction cache before the new entry is used
/// (Linux: `set_pte_at` → `__sync_icache_dcache`).
pub fn copy_user_frame(dst: PhysAddr, src: PhysAddr, pte: Pte) {
    arch::copy_frame(dst.as_usize(), src.as_usize());
    if !pte.flags().contains(PteFlags::UXN) {
        arch::sync_icache_frame(dst.as_usize());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::sim::SimMemory;

    use crate::mm::pagetable::USER_TOP;

    /// The whole user half.
    const ALL: [(usize, usize); 1] = [(0, USER_TOP)];

    fn base() -> PteFlags {
        PteFlags::USER | PteFlags::AF | PteFlags::NG | PteFlags::PXN
    }

    fn page_with(f: &FrameAllocator, byte: u8) -> PhysAddr {
        let p = f.alloc_zeroed().unwrap();
        // SAFETY: a fresh frame of the simulated memory.
        unsafe { core::ptr::write_bytes(p.as_ptr(), byte, PAGE_SIZE) };
        p
    }

    fn byte_at(pa: PhysAddr) -> u8 {
        // SAFETY: a frame of the simulated memory.
        unsafe { *pa.as_ptr() }
    }

    /// Every permission combination: (flags before fork, flags expected in both after).
    #[test]
    fn duplicator_handles_each_kind_of_page() {
        let cases = [
            (base(), base() | PteFlags::READ_ONLY | PteFlags::COW, true),
            (
                base() | PteFlags::UXN,
                base() | PteFlags::UXN | PteFlags::READ_ONLY | PteFlags::COW,
                true,
            ),
            (
                base() | PteFlags::READ_ONLY,
                base() | PteFlags::READ_ONLY,
                false,
            ),
            (
                base() | PteFlags::READ_ONLY | PteFlags::UXN,
                base() | PteFlags::READ_ONLY | PteFlags::UXN,
                false,
            ),
            (base() | PteFlags::SHARED, base() | PteFlags::SHARED, false),
            (
                base() | PteFlags::SHARED | PteFlags::READ_ONLY,
                base() | PteFlags::SHARED | PteFlags::READ_ONLY,
                false,
            ),
            (
                base() | PteFlags::READ_ONLY | PteFlags::COW,
                base() | PteFlags::READ_ONLY | PteFlags::COW,
                false,
            ),
        ];
        for (before, after, counted_cow) in cases {
            let m = SimMemory::new(32);
            let f = &m.frames;
            let mut parent = PageTable::new(f, 1).unwrap();
            let page = page_with(f, 7);
            parent.map(f, 0x1000, page, before).unwrap();
            let mut child = PageTable::new(f, 2).unwrap();
            arch::take_tlb_log();
            let stats = parent
                .copy_page_range(f, &mut child, ALL.into_iter())
                .unwrap();
            assert_eq!(stats.cow, counted_cow as usize, "{before:?}");
            assert_eq!(stats.shared, !counted_cow as usize);
            let expect = after | PteFlags::VALID | PteFlags::TABLE_OR_PAGE;
            assert_eq!(
                parent.lookup(0x1000),
                Some((page, expect)),
                "parent for {before:?}"
            );
            assert_eq!(
                child.lookup(0x1000),
                Some((page, expect)),
                "child for {before:?}"
            );
            assert_eq!(f.refcount(page), 2);
            let flushed = arch::take_tlb_log();
            assert_eq!(
                flushed.contains(&arch::TlbOp::Asid(1)),
                counted_cow,
                "ASID flush only if needed"
            );
            parent.destroy(f);
            child.destroy(f);
            assert_eq!(f.in_use(), 0);
        }
    }

    #[test]
    fn write_fault_copies_when_shared_and_reuses_when_alone() {
        let m = SimMemory::new(32);
        let f = &m.frames;
        let mut parent = PageTable::new(f, 1).unwrap();
        let page = page_with(f, 0x11);
        parent.map(f, 0x5000, page, base()).unwrap();
        let mut child = PageTable::new(f, 2).unwrap();
        parent
            .copy_page_range(f, &mut child, ALL.into_iter())
            .unwrap();

        arch::take_tlb_log();
        assert_eq!(child.resolve_cow_now(f, 0x5abc), CowOutcome::Copied);
        assert_eq!(arch::take_tlb_log(), [arch::TlbOp::Page(2, 0x5000)]);
        let (new, flags) = child.lookup(0x5000).unwrap();
        assert_ne!(new, page);
        assert!(!flags.intersects(PteFlags::READ_ONLY | PteFlags::COW));
        assert_eq!(byte_at(new), 0x11, "contents copied");
        assert_eq!((f.refcount(page), f.refcount(new)), (1, 1));

        // The parent is now the only user: no copy.
        let frames_before = f.in_use();
        assert_eq!(parent.resolve_cow_now(f, 0x5000), CowOutcome::Reused);
        assert_eq!(parent.lookup(0x5000).unwrap().0, page);
        assert_eq!(f.in_use(), frames_before);
        assert_eq!(
            parent.resolve_cow_now(f, 0x5000),
            CowOutcome::NotCow,
            "second write: plain RW"
        );
        parent.destroy(f);
        child.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// Two threads of the child fault on the same page at once (on two CPUs): both find
    /// it shared and copy it; the first installs its copy, the second finds the entry
    /// changed and throws its copy away. Nothing leaks; the parent's frame ends at 1.
    #[test]
    fn concurrent_faults_on_one_page_install_one_copy() {
        let m = SimMemory::new(32);
        let f = &m.frames;
        let mut parent = PageTable::new(f, 1).unwrap();
        let page = page_with(f, 0x5a);
        parent.map(f, 0x5000, page, base()).unwrap();
        let mut child = PageTable::new(f, 2).unwrap();
        parent
            .copy_page_range(f, &mut child, ALL.into_iter())
            .unwrap();
        let CowOutcome::MustCopy(a) = child.resolve_cow(f, 0x5008) else {
            panic!("shared page: a copy is needed")
        };
        let CowOutcome::MustCopy(b) = child.resolve_cow(f, 0x5ff0) else {
            panic!("still shared: the second fault asks for a copy too")
        };
        assert_eq!(f.refcount(page), 4, "two mappings and two pending copies");
        let (copy_a, copy_b) = (a.copy_page(f).unwrap(), b.copy_page(f).unwrap());
        assert_eq!(child.install_cow_copy(f, a, copy_a), CowOutcome::Copied);
        assert_eq!(child.install_cow_copy(f, b, copy_b), CowOutcome::Raced);
        assert_eq!(child.lookup(0x5000).unwrap().0, copy_a);
        assert_eq!(byte_at(copy_a), 0x5a);
        assert_eq!((f.refcount(page), f.refcount(copy_b)), (1, 0));
        assert_eq!(parent.resolve_cow(f, 0x5000), CowOutcome::Reused);
        parent.destroy(f);
        child.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// The page is unmapped (and its tables freed) while the copy is made: the copy is
    /// dropped, and the entry found before is not trusted (its table is gone).
    #[test]
    fn copy_for_an_unmapped_page_is_dropped() {
        let m = SimMemory::new(32);
        let f = &m.frames;
        let mut parent = PageTable::new(f, 1).unwrap();
        let page = page_with(f, 1);
        parent.map(f, 0x5000, page, base()).unwrap();
        let mut child = PageTable::new(f, 2).unwrap();
        parent
            .copy_page_range(f, &mut child, ALL.into_iter())
            .unwrap();
        let CowOutcome::MustCopy(c) = child.resolve_cow(f, 0x5000) else {
            panic!("shared page")
        };
        let new = c.copy_page(f).unwrap();
        child.unmap_range(f, 0x5000, 0x6000);
        child.free_empty_tables(f, 0, USER_TOP);
        assert_eq!(child.install_cow_copy(f, c, new), CowOutcome::Raced);
        assert_eq!(f.refcount(page), 1);
        child.destroy(f);
        parent.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn out_of_memory_in_fault_changes_nothing() {
        let m = SimMemory::new(32);
        let f = &m.frames;
        let mut parent = PageTable::new(f, 1).unwrap();
        let page = page_with(f, 3);
        parent.map(f, 0x5000, page, base()).unwrap();
        let mut child = PageTable::new(f, 2).unwrap();
        parent
            .copy_page_range(f, &mut child, ALL.into_iter())
            .unwrap();
        let before = child.lookup(0x5000);
        f.fail_after(Some(0));
        assert_eq!(child.resolve_cow_now(f, 0x5000), CowOutcome::OutOfMemory);
        assert_eq!(child.lookup(0x5000), before);
        assert_eq!(f.refcount(page), 2);
        f.fail_after(None);
        parent.destroy(f);
        child.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// A COW copy of a page EL0 may execute (no UXN) synchronises the I-cache for the new
    /// frame; a copy of a data page (UXN) and a reuse in place do not.
    #[test]
    fn copying_an_executable_page_syncs_the_icache() {
        for (flags, executable) in [(base(), true), (base() | PteFlags::UXN, false)] {
            let m = SimMemory::new(32);
            let f = &m.frames;
            let mut parent = PageTable::new(f, 1).unwrap();
            let page = page_with(f, 0x42);
            parent.map(f, 0x7000, page, flags).unwrap();
            let mut child = PageTable::new(f, 2).unwrap();
            parent
                .copy_page_range(f, &mut child, ALL.into_iter())
                .unwrap();
            arch::take_icache_log();
            assert_eq!(child.resolve_cow_now(f, 0x7000), CowOutcome::Copied);
            let (new, _) = child.lookup(0x7000).unwrap();
            let expect = if executable {
                alloc::vec![new.as_usize()]
            } else {
                alloc::vec![]
            };
            assert_eq!(arch::take_icache_log(), expect, "{flags:?}");
            assert_eq!(parent.resolve_cow_now(f, 0x7000), CowOutcome::Reused);
            assert_eq!(arch::take_icache_log(), [], "a reuse copies nothing");
            parent.destroy(f);
            child.destroy(f);
            assert_eq!(f.in_use(), 0);
        }
    }

    #[test]
    fn unmapped_and_plain_pages_are_not_cow() {
        let m = SimMemory::new(16);
        let f = &m.frames;
        let mut pt = PageTable::new(f, 1).unwrap();
        assert_eq!(pt.resolve_cow_now(f, 0x9000), CowOutcome::NotCow);
        let page = page_with(f, 0);
        pt.map(f, 0x9000, page, base() | PteFlags::READ_ONLY)
            .unwrap();
        assert_eq!(
            pt.resolve_cow_now(f, 0x9000),
            CowOutcome::NotCow,
            "text pages are not COW"
        );
        pt.destroy(f);
    }

    /// Out of memory at every allocation the duplicator makes: no leak, parent intact.
    #[test]
    fn duplicator_out_of_memory_at_each_allocation() {
        for fail_at in 0..6 {
            let m = SimMemory::new(64);
            let f = &m.frames;
            let mut parent = PageTable::new(f, 1).unwrap();
            for (i, va) in [0x1000usize, 0x40_0000, 0x80_0000_0000]
                .into_iter()
                .enumerate()
            {
                let p = page_with(f, i as u8);
                parent.map(f, va, p, base()).unwrap();
            }
            let baseline = f.in_use();
            let mut child = PageTable::new(f, 2).unwrap();
            f.fail_after(Some(fail_at));
            let result = parent.copy_page_range(f, &mut child, ALL.into_iter());
            f.fail_after(None);
            child.destroy(f);
            assert_eq!(f.in_use(), baseline, "fail_at={fail_at}: leak");
            if result.is_err() {
                // Parent pages that were already marked COW resolve by reuse (count 1).
                for va in [0x1000usize, 0x40_0000, 0x80_0000_0000] {
                    let (pa, _) = parent.lookup(va).unwrap();
                    assert_eq!(f.refcount(pa), 1);
                    assert_ne!(parent.resolve_cow_now(f, va), CowOutcome::Copied);
                }
            }
            parent.destroy(f);
            assert_eq!(f.in_use(), 0);
        }
    }

    #[test]
    fn only_pages_inside_the_ranges_are_copied() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut parent = PageTable::new(f, 1).unwrap();
        for va in [0x1000usize, 0x2000, 0x40_0000, 0xffff_ffff_0000] {
            let p = page_with(f, 1);
            parent.map(f, va, p, base()).unwrap();
        }
        let mut child = PageTable::new(f, 2).unwrap();
        let ranges = [(0x2000, 0x3000), (0xffff_fff0_0000, USER_TOP)];
        let stats = parent
            .copy_page_range(f, &mut child, ranges.into_iter())
            .unwrap();
        assert_eq!(stats.cow, 2);
        assert!(child.lookup(0x1000).is_none() && child.lookup(0x40_0000).is_none());
        assert!(child.lookup(0x2000).is_some() && child.lookup(0xffff_ffff_0000).is_some());
        child.destroy_ranges(f, ranges.into_iter());
        parent.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn teardown_by_ranges_falls_back_when_a_table_is_outside() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut pt = PageTable::new(f, 1).unwrap();
        for va in [0x1000usize, 0x80_0000_0000] {
            let p = page_with(f, 1);
            pt.map(f, va, p, base()).unwrap();
        }
        // The second mapping is outside the only range given: its table is not reached,
        // the count gives that away, and the full walk frees everything.
        pt.destroy_ranges(f, [(0, 0x2000)].into_iter());
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn three_way_sharing_copies_twice_then_reuses() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut a = PageTable::new(f, 1).unwrap();
        let page = page_with(f, 9);
        a.map(f, 0x1000, page, base()).unwrap();
        let mut b = PageTable::new(f, 2).unwrap();
        a.copy_page_range(f, &mut b, ALL.into_iter()).unwrap();
        let mut c = PageTable::new(f, 3).unwrap();
        b.copy_page_range(f, &mut c, ALL.into_iter()).unwrap();
        assert_eq!(f.refcount(page), 3);
        assert_eq!(b.resolve_cow_now(f, 0x1000), CowOutcome::Copied);
        assert_eq!(c.resolve_cow_now(f, 0x1000), CowOutcome::Copied);
        assert_eq!(a.resolve_cow_now(f, 0x1000), CowOutcome::Reused);
        for pt in [a, b, c] {
            pt.destroy(f);
        }
        assert_eq!(f.in_use(), 0);
    }
}
