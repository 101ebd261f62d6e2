//! Physical frame allocator with a reference count per 4 KiB frame.
//!
//! Linux keeps a `struct page` per frame with a `_refcount`; copy-on-write depends on it
//! (mm/memory.c `do_wp_page` copies only when a frame is mapped more than once). Here the
//! counts live in one array indexed by frame number, and free frames on a stack, so
//! allocation and free are O(1). `in_use()` is what the leak checks compare against a
//! baseline after every test program.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;

use crate::arch;

pub const PAGE_SIZE: usize = 4096;
pub const PAGE_SHIFT: usize = 12;

/// A physical address. Kept distinct from virtual addresses so the two can't be mixed up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PhysAddr(pub usize);

impl PhysAddr {
    pub fn as_usize(self) -> usize {
        self.0
    }
    /// The kernel-virtual pointer to this physical address (through the linear map).
    pub fn as_ptr(self) -> *mut u8 {
        arch::phys_to_virt(self.0)
    }
}

/// Refcount value marking a frame the allocator must never hand out (kernel image, DTB,
/// initrd, holes).
const RESERVED: u32 = u32::MAX;

/// The frame allocator. Shared by every CPU without an outer lock (Linux: the
/// `_refcount` of each `struct page` is an atomic, and the free lists sit behind the
/// short `zone->lock`):
/// * a frame's **reference count** is an atomic: fork raises it and a COW fault drops it
///   while holding only their own address space's lock;
/// * the **free stack** has its own spin lock, held for a push or a pop only (or for the
///   heap's rare contiguous-run search). It is a leaf: nothing is allocated or locked
///   under it, so any code, the heap's growth included, may take it.
///
/// One invariant ties them together: a count is 0 exactly while the frame is on the free
/// stack, and it changes to or from 0 only with the free-stack lock held.
pub struct FrameAllocator {
    base: usize,
    refcount: Vec<AtomicU32>,
    free: OrderedMutex<Vec<u32>>,
    /// Frames on the free stack (readable without the lock, for statistics).
    nfree: AtomicUsize,
    managed: AtomicUsize,
    /// Fault injection for tests: fail every allocation after this many more succeed
    /// (`usize::MAX`: never).
    fail_after: AtomicUsize,
}

impl FrameAllocator {
    /// An allocator for the frames in `[base, base + nframes * PAGE_SIZE)`, all reserved
    /// until `add_free_range` releases them.
    pub fn new(base: PhysAddr, nframes: usize) -> Self {
        assert!(
            base.0.is_multiple_of(PAGE_SIZE),
            "frame allocator base must be page aligned"
        );
        FrameAllocator {
            base: base.0,
            refcount: (0..nframes).map(|_| AtomicU32::new(RESERVED)).collect(),
            free: OrderedMutex::new(Level::FreeFrames, Vec::with_capacity(nframes)),
            nfree: AtomicUsize::new(0),
            managed: AtomicUsize::new(0),
            fail_after: AtomicUsize::new(usize::MAX),
        }
    }

    /// Hands the frames of `[start, end)` (page aligned, within the allocator) to the pool.
    /// Boot-time only (`&mut`: before the allocator is shared).
    pub fn add_free_range(&mut self, start: PhysAddr, end: PhysAddr) {
        // Push in descending order so low frames are handed out first (easier to read in gdb).
        let (first, last) = (self.index(start), self.index(end));
        let free = self.free.get_mut();
        for idx in (first..last).rev() {
            let count = self.refcount[idx].get_mut();
            if *count == RESERVED {
                *count = 0;
                free.push(idx as u32);
                *self.managed.get_mut() += 1;
            }
        }
        *self.nfree.get_mut() = free.len();
    }

    /// Gives frames reserved at boot to the pool once their contents are no longer
    /// needed — the initrd after it was unpacked (Linux `free_reserved_area`, called by
    /// `free_initrd_mem`). `[start, end)` is rounded inwards to whole frames; frames
    /// outside the allocator or not reserved are left alone. Returns how many were freed.
    pub fn free_reserved_range(&self, start: usize, end: usize) -> usize {
        let limit = self.base + (self.refcount.len() << PAGE_SHIFT);
        let start = start.max(self.base).next_multiple_of(PAGE_SIZE);
        let end = end.min(limit) & !(PAGE_SIZE - 1);
        if start >= end {
            return 0;
        }
        let mut free = self.free.lock();
        let mut n = 0;
        for idx in self.index(PhysAddr(start))..self.index(PhysAddr(end)) {
            // The free stack has room for every frame (its capacity is fixed at boot).
            if self.refcount[idx].load(Ordering::Relaxed) == RESERVED
                && free.len() < free.capacity()
            {
                self.refcount[idx].store(0, Ordering::Relaxed);
                free.push(idx as u32);
                n += 1;
            }
        }
        self.managed.fetch_add(n, Ordering::Relaxed);
        self.nfree.store(free.len(), Ordering::Relaxed);
        n
    }

    fn index(&self, pa: PhysAddr) -> usize {
        (pa.0 - self.base) >> PAGE_SHIFT
    }

    fn managed_index(&self, pa: PhysAddr) -> usize {
        let idx = self.index(pa);
        let count = self.refcount[idx].load(Ordering::Relaxed);
        assert!(
            count != RESERVED && count != 0,
            "frame {:#x} is not allocated",
            pa.0
        );
        idx
    }

    /// Allocates a frame with refcount 1 whose contents are undefined.
    pub fn alloc_uninit(&self) -> Option<PhysAddr> {
        if super::inject::should_fail(super::inject::Kind::Frame) {
            return None;
        }
        // (The test hook costs one load when it is off: no read-modify-write.)
        if self.fail_after.load(Ordering::Relaxed) != usize::MAX
            && self
                .fail_after
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| match n {
                    usize::MAX => Some(n),
                    0 => None,
                    n => Some(n - 1),
                })
                .is_err()
        {
            return None;
        }
        let mut free = self.free.lock();
        let idx = free.pop()? as usize;
        self.nfree.store(free.len(), Ordering::Relaxed);
        self.refcount[idx].store(1, Ordering::Relaxed);
        drop(free);
        Some(PhysAddr(self.base + (idx << PAGE_SHIFT)))
    }

    /// Allocates `n` physically contiguous frames with refcount 1 each (the kernel heap
    /// grows by such runs). Scans for a free run from the top of memory down; rare and
    /// slow (it also takes the run's frames out of the free stack), never on a fast path.
    pub fn alloc_contiguous(&self, n: usize) -> Option<PhysAddr> {
        let mut free = self.free.lock();
        if n == 0 || n > free.len() {
            return None;
        }
        // Under the free-stack lock no count can leave or reach 0 (see the type's
        // comment), so the run found here stays free.
        let mut run = 0;
        let mut start = None;
        for idx in (0..self.refcount.len()).rev() {
            run = if self.refcount[idx].load(Ordering::Relaxed) == 0 {
                run + 1
            } else {
                0
            };
            if run == n {
                start = Some(idx);
                break;
            }
        }
        let start = start?;
        let range = start..start + n;
        free.retain(|&i| !range.contains(&(i as usize)));
        self.nfree.store(free.len(), Ordering::Relaxed);
        for idx in range {
            self.refcount[idx].store(1, Ordering::Relaxed);
        }
        Some(PhysAddr(self.base + (start << PAGE_SHIFT)))
    }

    /// Allocates a zero-filled frame with refcount 1.
    pub fn alloc_zeroed(&self) -> Option<PhysAddr> {
        let pa = self.alloc_uninit()?;
        // The frame was free until now, so nothing else references its memory.
        arch::zero_frame(pa.0);
        Some(pa)
    }

    /// Adds a reference (another mapping now points at the frame). The caller holds a
    /// reference already (a mapping, under its address space's lock), so the count is
    /// at least 1 and cannot reach 0 meanwhile.
    #[inline]
    pub fn get(&self, pa: PhysAddr) {
        let old = self.refcount[self.index(pa)].fetch_add(1, Ordering::Relaxed);
        // 32 bits: more mappings of one frame than that cannot exist.
        debug_assert!(
            old != 0 && old < RESERVED - 1,
            "frame {:#x}: get of a free frame",
            pa.0
        );
    }

    /// Drops a reference; returns true when this freed the frame. Release ordering, as
    /// Linux's `put_page`: whatever this CPU wrote to the frame happens before its reuse.
    #[inline]
    pub fn put(&self, pa: PhysAddr) -> bool {
        // Fast path, inlined: another reference remains; one compare-and-swap, no lock.
        let count = &self.refcount[self.index(pa)];
        let c = count.load(Ordering::Relaxed);
        if c > 1
            && c != RESERVED
            && count
                .compare_exchange(c, c - 1, Ordering::Release, Ordering::Relaxed)
                .is_ok()
        {
            return false;
        }
        self.put_slow(pa)
    }

    /// Drops `n` references at once (a COW copy replacing an entry drops the entry's
    /// and its own); returns true when this freed the frame.
    #[inline]
    pub fn put_n(&self, pa: PhysAddr, n: u32) -> bool {
        let count = &self.refcount[self.index(pa)];
        let c = count.load(Ordering::Relaxed);
        if c > n
            && c != RESERVED
            && count
                .compare_exchange(c, c - n, Ordering::Release, Ordering::Relaxed)
                .is_ok()
        {
            return false;
        }
        (0..n).fold(false, |_, _| self.put_slow(pa))
    }

    /// Drops a reference unless it is the last one (Linux `page_ref_add_unless(page, -1,
    /// 1)`): false, and nothing changed, when the count is 1 — the caller is then the only
    /// holder and must release what the frame holds before its `put`. ODF fork's shared
    /// page tables (odf.rs) need this: two address spaces dropping one table at once must
    /// not both believe another still holds it.
    pub fn put_unless_last(&self, pa: PhysAddr) -> bool {
        self.refcount[self.index(pa)]
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| {
                (c > 1).then(|| c - 1)
            })
            .is_ok()
    }

    /// The last reference (or a contended or invalid count): checked, under the
    /// free-stack lock when it may reach 0.
    #[cold]
    #[inline(never)]
    fn put_slow(&self, pa: PhysAddr) -> bool {
        let idx = self.managed_index(pa);
        let count = &self.refcount[idx];
        let mut c = count.load(Ordering::Relaxed);
        while c > 1 {
            match count.compare_exchange_weak(c, c - 1, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return false,
                Err(now) => c = now,
            }
        }
        // Possibly the last reference: 1 -> 0 only under the free-stack lock.
        let mut free = self.free.lock();
        if count.fetch_sub(1, Ordering::AcqRel) != 1 {
            return false; // someone took a reference meanwhile
        }
        free.push(idx as u32); // never reallocates: capacity for every frame
        self.nfree.store(free.len(), Ordering::Relaxed);
        true
    }

    /// The reference counts alone, for a loop that raises many of them (fork's
    /// `copy_pte_range`): `FrameRefs::get` is `get` with the allocator's fields read once
    /// for the whole loop instead of once per page (the loop's volatile stores to the
    /// page tables would otherwise make the compiler read them again every time).
    #[inline]
    pub fn refs(&self) -> FrameRefs<'_> {
        FrameRefs {
            base: self.base,
            counts: &self.refcount,
        }
    }

    /// Runs `body`, which drops references with `PutMany::put`, under one hold of the
    /// free-stack lock; returns how many frames were freed (Linux `release_pages`, which
    /// exit's `tlb_gather` batches end in). Fast because the lock is taken once for all
    /// of them — `put` takes it for every last reference — and the allocator's fields are
    /// read once. Correct for the reason `put_slow` is: under the lock a count may go from
    /// 1 to 0, and `fetch_sub` says whether it was this drop that did. `body` must not
    /// allocate or free frames itself (the lock is held).
    #[inline]
    pub fn put_many(&self, body: impl FnOnce(&mut PutMany<'_>)) -> usize {
        let mut free = self.free.lock();
        let len = free.len();
        let mut many = PutMany {
            refs: self.refs(),
            // The free stack has room for every frame (capacity fixed at boot), so for
            // every frame that can be freed here.
            spare: free.spare_capacity_mut(),
            freed: 0,
        };
        body(&mut many);
        let freed = many.freed;
        // SAFETY: the `freed` slots after `len` were written by `PutMany::put`.
        unsafe { free.set_len(len + freed) };
        self.nfree.store(len + freed, Ordering::Relaxed);
        freed
    }

    pub fn refcount(&self, pa: PhysAddr) -> u32 {
        match self
            .refcount
            .get(self.index(pa))
            .map(|c| c.load(Ordering::Relaxed))
        {
            Some(RESERVED) | None => 0,
            Some(n) => n,
        }
    }

    /// Frames handed out and not yet freed.
    pub fn in_use(&self) -> usize {
        self.managed.load(Ordering::Relaxed) - self.nfree.load(Ordering::Relaxed)
    }

    pub fn free_frames(&self) -> usize {
        self.nfree.load(Ordering::Relaxed)
    }

    /// Test hook: let `n` more allocations succeed, then fail (None = never fail).
    pub fn fail_after(&self, n: Option<usize>) {
        self.fail_after
            .store(n.unwrap_or(usize::MAX), Ordering::Relaxed);
    }
}

/// See `FrameAllocator::refs`.
#[derive(Clone, Copy)]
pub struct FrameRefs<'a> {
    base: usize,
    counts: &'a [AtomicU32],
}

impl FrameRefs<'_> {
    /// `FrameAllocator::get`: the caller holds a reference already.
    #[inline]
    pub fn get(self, pa: PhysAddr) {
        let old = self.counts[(pa.0 - self.base) >> PAGE_SHIFT].fetch_add(1, Ordering::Relaxed);
        debug_assert!(
            old != 0 && old < RESERVED - 1,
            "frame {:#x}: get of a free frame",
            pa.0
        );
    }
}

/// See `FrameAllocator::put_many`.
pub struct PutMany<'a> {
    refs: FrameRefs<'a>,
    spare: &'a mut [core::mem::MaybeUninit<u32>],
    freed: usize,
}

impl PutMany<'_> {
    /// `FrameAllocator::put`, with the free-stack lock already held.
    #[inline]
    pub fn put(&mut self, pa: PhysAddr) {
        let idx = (pa.0 - self.refs.base) >> PAGE_SHIFT;
        let old = self.refs.counts[idx].fetch_sub(1, Ordering::AcqRel);
        if old == 1 {
            self.spare[self.freed].write(idx as u32);
            self.freed += 1;
        } else if old == 0 || old == RESERVED {
            panic!("frame {:#x} is not allocated", pa.0);
        }
    }
}

/// Simulated physical memory for host tests: the "physical" addresses are real host heap
/// addresses, and the host arch layer maps them 1:1 (with the pointer's provenance: see
/// `arch::sim_ram_add`).
#[cfg(test)]
pub mod sim {
    use super::*;

    pub struct SimMemory {
        backing: Vec<u8>,
        pub frames: FrameAllocator,
    }

    impl SimMemory {
        pub fn new(nframes: usize) -> Self {
            let mut backing = alloc::vec![0xa5u8; (nframes + 1) * PAGE_SIZE];
            arch::sim_ram_add(backing.as_mut_ptr(), backing.len());
            let base = backing.as_ptr().addr().next_multiple_of(PAGE_SIZE);
            let mut frames = FrameAllocator::new(PhysAddr(base), nframes);
            frames.add_free_range(PhysAddr(base), PhysAddr(base + nframes * PAGE_SIZE));
            SimMemory { backing, frames }
        }
    }

    impl Drop for SimMemory {
        fn drop(&mut self) {
            arch::sim_ram_remove(self.backing.as_mut_ptr());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sim::SimMemory;
    use super::*;

    #[test]
    fn reserved_frames_can_be_freed_once() {
        let m = SimMemory::new(8);
        let f = &m.frames;
        let free = f.free_frames();
        let a = f.alloc_zeroed().unwrap();
        // Frames already managed (free or in use) are not freed again.
        assert_eq!(
            f.free_reserved_range(a.as_usize() - PAGE_SIZE, a.as_usize() + 2 * PAGE_SIZE),
            0
        );
        assert_eq!((f.free_frames(), f.in_use()), (free - 1, 1));
        assert!(f.put(a));
    }

    #[test]
    fn alloc_counts_and_frees() {
        let m = SimMemory::new(4);
        let f = &m.frames;
        assert_eq!(f.in_use(), 0);
        let a = f.alloc_zeroed().unwrap();
        let b = f.alloc_zeroed().unwrap();
        assert_ne!(a, b);
        assert_eq!(f.in_use(), 2);
        // SAFETY: `a` is a frame of the simulated memory, owned by this test.
        assert!(
            unsafe { core::slice::from_raw_parts(a.as_ptr(), PAGE_SIZE) }
                .iter()
                .all(|&x| x == 0)
        );
        f.get(a);
        assert_eq!(f.refcount(a), 2);
        assert!(!f.put(a));
        assert!(f.put(a));
        assert_eq!(f.refcount(a), 0);
        assert!(f.put(b));
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn put_many_frees_the_last_references_only() {
        let m = SimMemory::new(4);
        let f = &m.frames;
        let (a, b, c) = (
            f.alloc_zeroed().unwrap(),
            f.alloc_zeroed().unwrap(),
            f.alloc_zeroed().unwrap(),
        );
        f.get(b);
        let freed = f.put_many(|many| {
            for pa in [a, b, c] {
                many.put(pa);
            }
        });
        assert_eq!(freed, 2);
        assert_eq!((f.refcount(a), f.refcount(b), f.refcount(c)), (0, 1, 0));
        assert_eq!(f.in_use(), 1);
        assert!(f.put(b));
        // The freed frames are allocatable again.
        assert!(f.alloc_uninit().is_some() && f.alloc_uninit().is_some());
    }

    #[test]
    fn exhaustion_returns_none() {
        let m = SimMemory::new(2);
        assert!(m.frames.alloc_uninit().is_some());
        assert!(m.frames.alloc_uninit().is_some());
        assert!(m.frames.alloc_uninit().is_none());
    }

    #[test]
    fn fault_injection() {
        let m = SimMemory::new(8);
        m.frames.fail_after(Some(1));
        assert!(m.frames.alloc_uninit().is_some());
        assert!(m.frames.alloc_uninit().is_none());
        m.frames.fail_after(None);
        assert!(m.frames.alloc_uninit().is_some());
    }

    #[test]
    fn reserved_frames_are_never_handed_out() {
        let backing = alloc::vec![0u8; 5 * PAGE_SIZE];
        let base = backing.as_ptr().addr().next_multiple_of(PAGE_SIZE);
        let mut f = FrameAllocator::new(PhysAddr(base), 4);
        f.add_free_range(PhysAddr(base + PAGE_SIZE), PhysAddr(base + 2 * PAGE_SIZE));
        assert_eq!(f.alloc_uninit(), Some(PhysAddr(base + PAGE_SIZE)));
        assert_eq!(f.alloc_uninit(), None);
        assert_eq!(f.refcount(PhysAddr(base)), 0);
    }

    #[test]
    #[should_panic(expected = "not allocated")]
    fn double_free_is_caught() {
        let m = SimMemory::new(1);
        let a = m.frames.alloc_uninit().unwrap();
        m.frames.put(a);
        m.frames.put(a);
    }
}
