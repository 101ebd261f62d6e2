//! The kernel's own address space, the TTBR1 half (Linux: arch/arm64/mm/mmu.c
//! `paging_init`, `map_kernel`), and the kernel stacks mapped in it (Linux:
//! CONFIG_VMAP_STACK, kernel/fork.c `alloc_thread_stack_node`, which takes stacks from
//! vmalloc space so that an overflow hits an unmapped guard page).
//!
//! At boot the tables from boot.S (1 GiB RWX blocks) are replaced by:
//!   * kernel text: read-only, executable;  rodata: read-only, never executable;
//!   * data, bss, the rest of RAM (the linear map): read-write, never executable;
//!     the boot stack's guard (below it, in the image) is left unmapped;
//!   * device windows (UART, GIC): Device-nGnRE, never executable;
//!   * the kernel-stack region (`arch::memory`): slots of THREAD_ALIGN (32 KiB), each
//!     a stack of THREAD_SIZE (16 KiB, four frames) above a guard that is never mapped.
//!
//! Built with the same `PageTable` and walker as user address spaces; the entries are
//! global (no nG bit), so they survive ASID switches. The tree stays reachable after
//! boot in `KERNEL_MAP` (with the stack slots, under one lock), so stacks can be mapped
//! and unmapped while the kernel runs.
//!
//! **Stacks.** One slot per possible task: as many as Linux's threads-max allows for the
//! RAM (kernel/fork.c `set_max_threads`: RAM / (8 × THREAD_SIZE), at least 20), so
//! 2048 slots (64 MiB of address space) for 256 MiB. The tables covering the whole
//! region are built at boot — one level-3 table per 64 slots — so that mapping a stack
//! never allocates a table, and freeing one gives back exactly its four frames: the
//! frame count returns to the boot baseline when the task is gone. No free slot:
//! -EAGAIN (as threads-max); no frame: -ENOMEM. Never a panic.

use alloc::vec::Vec;

use super::frame::{FrameAllocator, PAGE_SIZE, PhysAddr};
use super::pagetable::PageTable;
use super::walk::{LEAF_LEVEL, entry_span};
use crate::arch;
use crate::arch::memory::{
    KSTACK_REGION_SIZE, KSTACK_REGION_START, THREAD_ALIGN, THREAD_SIZE, stack_slot,
};
use crate::arch::pte::{Pte, PteFlags};
use crate::error::{Errno, KResult};

/// Kernel read-write data: the linear map and the stacks (global, never executable).
const KERNEL_DATA: PteFlags = PteFlags::AF
    .union(PteFlags::SH_INNER)
    .union(PteFlags::UXN)
    .union(PteFlags::PXN);

/// Frames in one kernel stack.
const STACK_PAGES: usize = THREAD_SIZE / PAGE_SIZE;

/// Linux `set_max_threads`: threads whose stacks would take at most an eighth of RAM
/// (and at least MIN_THREADS = 20), capped by the address space of the region.
pub fn stack_slots_for_ram(ram_bytes: usize) -> usize {
    (ram_bytes / (8 * THREAD_SIZE)).clamp(20, KSTACK_REGION_SIZE / THREAD_ALIGN)
}

/// The kernel's page table and the slots of its stack region.
pub struct KernelMap {
    pt: PageTable,
    /// One bit per slot of the stack region (1 = in use).
    slots: Vec<u64>,
    nslots: usize,
    /// Where the search for a free slot starts (the word after the last allocation).
    hint: usize,
    in_use: usize,
}

impl KernelMap {
    /// Takes over the kernel's tables and builds the (empty) tables of a stack region of
    /// `nslots` slots. `None` if the frames or the heap for them run out.
    pub fn new(mut pt: PageTable, frames: &FrameAllocator, nslots: usize) -> Option<Self> {
        let nslots = nslots.min(KSTACK_REGION_SIZE / THREAD_ALIGN);
        let end = KSTACK_REGION_START + nslots * THREAD_ALIGN;
        for va in (KSTACK_REGION_START..end).step_by(entry_span(LEAF_LEVEL - 1)) {
            pt.walk_alloc(frames, va, LEAF_LEVEL).ok()?;
        }
        let mut slots = Vec::new();
        slots.try_reserve_exact(nslots.div_ceil(64)).ok()?;
        slots.resize(nslots.div_ceil(64), 0);
        Some(KernelMap {
            pt,
            slots,
            nslots,
            hint: 0,
            in_use: 0,
        })
    }

    /// The kernel's page table, for later changes to the kernel half.
    pub fn page_table(&mut self) -> &mut PageTable {
        &mut self.pt
    }

    /// Slots in the stack region, and how many hold a stack.
    pub fn stack_slots(&self) -> (usize, usize) {
        (self.nslots, self.in_use)
    }

    /// The lowest address of the stack in slot `i` (the guard is the THREAD_SIZE below).
    fn stack_base(i: usize) -> usize {
        KSTACK_REGION_START + i * THREAD_ALIGN + THREAD_SIZE
    }

    fn alloc_slot(&mut self) -> Option<usize> {
        let words = self.slots.len();
        for k in 0..words {
            let w = (self.hint + k) % words;
            let bits = self.slots[w];
            let bit = bits.trailing_ones() as usize;
            if bit < 64 && w * 64 + bit < self.nslots {
                self.slots[w] |= 1 << bit;
                self.hint = w;
                self.in_use += 1;
                return Some(w * 64 + bit);
            }
        }
        None
    }

    fn free_slot(&mut self, i: usize) {
        let (w, bit) = (i / 64, i % 64);
        assert!(
            self.slots[w] & 1 << bit != 0,
            "kernel stack slot {i} is not in use"
        );
        self.slots[w] &= !(1 << bit);
        self.in_use -= 1;
    }

    /// A new kernel stack: a free slot whose upper half is mapped to fresh frames.
    /// Returns the stack's lowest address (its top is that + THREAD_SIZE). The frames are
    /// not zeroed: the kernel writes a stack before it reads it, and user space never
    /// sees it.
    pub fn alloc_stack(&mut self, frames: &FrameAllocator) -> KResult<usize> {
        let slot = self.alloc_slot().ok_or(Errno::EAGAIN)?;
        let base = Self::stack_base(slot);
        for page in (base..base + THREAD_SIZE).step_by(PAGE_SIZE) {
            // The entries exist (tables built at boot) and are empty (the slot was free).
            let entry = self.pt.walk(page).filter(|e| !e.read().is_valid());
            let Some((entry, pa)) = entry.zip(frames.alloc_uninit()) else {
                self.free_stack(frames, base);
                return Err(Errno::ENOMEM);
            };
            entry.write(Pte::page(pa.as_usize(), KERNEL_DATA));
        }
        Ok(base)
    }

    /// Unmaps the stack at `base` (from `alloc_stack`), invalidates its TLB entries on
    /// every CPU, and only then gives its frames back and frees the slot (Linux
    /// `vfree` → `vunmap_range` + `flush_tlb_kernel_range`, then the pages).
    pub fn free_stack(&mut self, frames: &FrameAllocator, base: usize) {
        let pages = self.unmap_stack(base);
        arch::flush_tlb_kernel_range(base, base + THREAD_SIZE);
        self.release_stack(frames, base, pages);
    }

    /// `free_stack`'s first step: the stack's entries cleared, its frames returned (not
    /// freed yet: other CPUs may still hold the translations until the flush).
    pub fn unmap_stack(&mut self, base: usize) -> [Option<PhysAddr>; STACK_PAGES] {
        self.slot_of(base);
        let mut pages = [None; STACK_PAGES];
        for (i, page) in (base..base + THREAD_SIZE).step_by(PAGE_SIZE).enumerate() {
            if let Some(entry) = self.pt.walk(page) {
                let pte = entry.read();
                if pte.is_valid() {
                    entry.clear();
                    pages[i] = Some(PhysAddr(pte.addr()));
                }
            }
        }
        pages
    }

    /// `free_stack`'s last step, after the TLB flush: the frames and the slot go back.
    pub fn release_stack(
        &mut self,
        frames: &FrameAllocator,
        base: usize,
        pages: [Option<PhysAddr>; STACK_PAGES],
    ) {
        for pa in pages.into_iter().flatten() {
            frames.put(pa);
        }
        let slot = self.slot_of(base);
        self.free_slot(slot);
    }

    fn slot_of(&self, base: usize) -> usize {
        let slot = (stack_slot(base) - KSTACK_REGION_START) / THREAD_ALIGN;
        assert!(
            slot < self.nslots && base == Self::stack_base(slot),
            "{base:#x} is not a kernel stack"
        );
        slot
    }
}

#[cfg(target_os = "none")]
pub use boot::*;

#[cfg(target_os = "none")]
mod boot {

    use super::*;
    use crate::arch::{KERNEL_VA_OFFSET, virt_to_phys};

    const BLOCK_2M: usize = 2 << 20;

    /// The kernel's tables and stack slots. Lock order: KERNEL_MAP, then FRAMES
    /// (src/sync/mod.rs).
    static KERNEL_MAP: crate::sync::ordered::OrderedMutex<Option<KernelMap>> =
        crate::sync::ordered::OrderedMutex::new(crate::sync::Level::KernelMap, None);

    /// Runs `f` on the kernel's map with the frame allocator (locked in that order).
    pub fn with_kernel_map<R>(f: impl FnOnce(&mut KernelMap, &FrameAllocator) -> R) -> R {
        let mut map = KERNEL_MAP.lock();
        let map = map.as_mut().expect("kernel map not initialised");
        crate::mm::global::with_frames(|frames| f(map, frames))
    }

    /// Freed kernel stacks kept mapped for the next fork or clone (Linux keeps two per
    /// CPU, `NR_CACHED_STACKS` in kernel/fork.c): most forks and exits then neither map
    /// nor unmap a stack, and — what matters with several CPUs — broadcast no TLB
    /// invalidation. Their frames are not counted as in use (`cached_stack_frames`), as
    /// the heap's are not: the leak checks see a cached stack as freed.
    const CACHED_STACKS: usize = 2 * crate::arch::percpu::MAX_CPUS;

    struct StackCache {
        bases: [usize; CACHED_STACKS],
        len: usize,
    }

    static STACK_CACHE: crate::sync::ordered::OrderedMutex<StackCache> =
        crate::sync::ordered::OrderedMutex::new(
            crate::sync::Level::KernelMap,
            StackCache {
                bases: [0; CACHED_STACKS],
                len: 0,
            },
        );

    /// Frames held by cached kernel stacks.
    pub fn cached_stack_frames() -> usize {
        STACK_CACHE.lock().len * STACK_PAGES
    }

    /// A new kernel stack: a cached one, or a fresh one (`KernelMap::alloc_stack`).
    pub fn alloc_kernel_stack() -> KResult<usize> {
        let cached = {
            let mut c = STACK_CACHE.lock();
            c.len.checked_sub(1).map(|i| {
                c.len = i;
                c.bases[i]
            })
        };
        match cached {
            Some(base) => Ok(base),
            None => with_kernel_map(|map, frames| map.alloc_stack(frames)),
        }
    }

    /// Frees a kernel stack no CPU runs on any more: into the cache if it has room.
    /// Otherwise it is unmapped; the broadcast TLB flush runs without the KERNEL_MAP lock,
    /// so other CPUs forking or exiting meanwhile do not wait for every CPU's TLB, and the
    /// slot stays taken until the flush is done, so its addresses cannot be reused early.
    pub fn free_kernel_stack(base: usize) {
        {
            let mut c = STACK_CACHE.lock();
            if c.len < CACHED_STACKS {
                let i = c.len;
                c.bases[i] = base;
                c.len = i + 1;
                return;
            }
        }
        let pages = with_kernel_map(|map, _| map.unmap_stack(base));
        arch::flush_tlb_kernel_range(base, base + THREAD_SIZE);
        with_kernel_map(|map, frames| map.release_stack(frames, base, pages));
    }

    /// Builds the final kernel tables, switches TTBR1 to them and keeps them in
    /// KERNEL_MAP. `ram`: physical RAM range; `devices`: physical MMIO ranges.
    pub fn init_kernel_tables(
        frames: &FrameAllocator,
        ram: (usize, usize),
        devices: &[(usize, usize)],
    ) {
        let mut pt = PageTable::new(frames, 0).expect("out of memory building kernel page tables");
        let k = arch::mmu::kernel_layout();
        let kernel_flags = PteFlags::AF | PteFlags::SH_INNER;
        let (img_start, img_end) = (
            virt_to_phys(k.text.0) & !(BLOCK_2M - 1),
            virt_to_phys(k.end),
        );
        let mut pa = ram.0 & !(BLOCK_2M - 1);
        while pa < ram.1 {
            let va = pa + KERNEL_VA_OFFSET;
            if pa + BLOCK_2M > img_start && pa < img_end {
                // The 2 MiB blocks holding the kernel image get per-page permissions.
                for page in (pa..pa + BLOCK_2M).step_by(PAGE_SIZE) {
                    let v = page + KERNEL_VA_OFFSET;
                    let flags = if v >= k.text.0 && v < k.text.1 {
                        kernel_flags | PteFlags::READ_ONLY | PteFlags::UXN
                    } else if v >= k.text.1 && v < k.rodata_end {
                        kernel_flags | PteFlags::READ_ONLY | PteFlags::UXN | PteFlags::PXN
                    } else if v >= k.boot_stack_guard.0 && v < k.boot_stack_guard.1 {
                        continue; // the guard below the boot stack: never mapped
                    } else {
                        KERNEL_DATA
                    };
                    pt.map(frames, v, PhysAddr(page), flags)
                        .expect("kernel map");
                }
            } else {
                pt.map_block_2m(frames, va, PhysAddr(pa), KERNEL_DATA)
                    .expect("kernel map");
            }
            pa += BLOCK_2M;
        }
        for &(start, end) in devices {
            let mut pa = start & !(BLOCK_2M - 1);
            while pa < end {
                let flags = PteFlags::AF | PteFlags::DEVICE | PteFlags::UXN | PteFlags::PXN;
                pt.map_block_2m(frames, pa + KERNEL_VA_OFFSET, PhysAddr(pa), flags)
                    .expect("device map");
                pa += BLOCK_2M;
            }
        }
        let nslots = stack_slots_for_ram(ram.1 - ram.0);
        let root = pt.root().as_usize();
        let map = KernelMap::new(pt, frames, nslots)
            .expect("out of memory building the kernel-stack tables");
        // SAFETY: the new tables map everything the kernel uses (image, stack, RAM,
        // devices) at the same addresses as the boot tables.
        unsafe { arch::mmu::install_kernel_tables(root) };
        *KERNEL_MAP.lock() = Some(map);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::memory::in_stack_guard;
    use crate::arch::{TlbOp, take_tlb_log};
    use crate::mm::frame::sim::SimMemory;

    fn kernel_map(m: &mut SimMemory, nslots: usize) -> KernelMap {
        let pt = PageTable::new(&m.frames, 0).unwrap();
        KernelMap::new(pt, &m.frames, nslots).unwrap()
    }

    #[test]
    fn slots_follow_linux_threads_max() {
        assert_eq!(stack_slots_for_ram(256 << 20), 2048);
        assert_eq!(stack_slots_for_ram(1 << 20), 20);
    }

    #[test]
    fn stacks_have_guards_and_give_their_frames_back() {
        let mut m = SimMemory::new(64);
        let mut km = kernel_map(&mut m, 100);
        // Root, level 1, level 2, two level-3 tables (100 slots × 32 KiB > 2 MiB).
        let baseline = m.frames.in_use();
        assert_eq!(baseline, 5);
        let a = km.alloc_stack(&m.frames).unwrap();
        let b = km.alloc_stack(&m.frames).unwrap();
        assert_eq!(
            m.frames.in_use(),
            baseline + 2 * STACK_PAGES,
            "only the stack frames"
        );
        assert_eq!(b, a + THREAD_ALIGN);
        for base in [a, b] {
            assert_eq!((base - THREAD_SIZE) % THREAD_ALIGN, 0);
            for va in (base..base + THREAD_SIZE).step_by(PAGE_SIZE) {
                let (_, flags) = km.page_table().lookup(va).expect("stack page mapped");
                assert!(!flags.contains(PteFlags::NG) && !flags.contains(PteFlags::USER));
                assert!(flags.contains(PteFlags::PXN | PteFlags::UXN | PteFlags::AF));
                assert!(!in_stack_guard(va) && !in_stack_guard(va + PAGE_SIZE - 1));
            }
            for va in (base - THREAD_SIZE..base).step_by(PAGE_SIZE) {
                assert_eq!(km.page_table().lookup(va), None, "guard page unmapped");
                assert!(in_stack_guard(va) && in_stack_guard(va + PAGE_SIZE - 1));
            }
        }
        take_tlb_log();
        km.free_stack(&m.frames, a);
        assert_eq!(
            take_tlb_log(),
            (a..a + THREAD_SIZE)
                .step_by(PAGE_SIZE)
                .map(TlbOp::KernelPage)
                .collect::<Vec<_>>(),
            "every page invalidated"
        );
        assert_eq!(km.page_table().lookup(a), None);
        km.free_stack(&m.frames, b);
        assert_eq!(m.frames.in_use(), baseline);
        assert_eq!(km.stack_slots(), (100, 0));
        let KernelMap { pt, .. } = km;
        pt.destroy(&m.frames);
        assert_eq!(m.frames.in_use(), 0);
    }

    #[test]
    fn out_of_slots_is_eagain_and_out_of_frames_is_enomem() {
        let mut m = SimMemory::new(64);
        let mut km = kernel_map(&mut m, 3);
        let baseline = m.frames.in_use();
        let stacks: Vec<usize> = (0..3).map(|_| km.alloc_stack(&m.frames).unwrap()).collect();
        assert_eq!(km.alloc_stack(&m.frames), Err(Errno::EAGAIN));
        km.free_stack(&m.frames, stacks[1]);
        assert_eq!(
            km.alloc_stack(&m.frames),
            Ok(stacks[1]),
            "a freed slot is reused"
        );
        for &s in &stacks {
            km.free_stack(&m.frames, s);
        }
        // The third frame of a stack fails: the first two go back, the slot is free.
        m.frames.fail_after(Some(2));
        assert_eq!(km.alloc_stack(&m.frames), Err(Errno::ENOMEM));
        m.frames.fail_after(None);
        assert_eq!(m.frames.in_use(), baseline);
        assert_eq!(km.stack_slots(), (3, 0));
        let KernelMap { pt, .. } = km;
        pt.destroy(&m.frames);
    }

    #[test]
    #[should_panic(expected = "not a kernel stack")]
    fn freeing_a_stranger_is_caught() {
        let mut m = SimMemory::new(16);
        let mut km = kernel_map(&mut m, 4);
        km.free_stack(&m.frames, KSTACK_REGION_START);
    }
}
