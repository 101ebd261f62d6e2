//! The kernel heap (Linux: the slab allocators over the page allocator, mm/slub.c): a
//! buddy allocator (buddy_system_allocator) that starts small and grows on demand with
//! runs of page frames from the frame allocator, so the kernel's own memory is not a
//! fixed share of RAM set at boot.
//!
//! ```text
//!  kmalloc-like request ─► buddy heap ── enough? ─► yes: done
//!                                       └─ no ─► take a run of free frames (64 KiB or
//!                                                more) from the frame allocator, add it
//!                                                to the heap, retry; no frames: NULL
//! ```
//!
//! Frames given to the heap stay with it (a buddy allocator cannot give memory back);
//! they are counted separately (`heap_frames`), so the leak checks compare the frames
//! everything else uses, and the heap's bytes in use, against their boot baselines.
//!
//! Rust's `alloc` collections treat a failed allocation as fatal, so the paths a user
//! can trigger first *reserve* what they will need (`reserve`): that is where running out
//! becomes ENOMEM, and where fault injection makes heap allocations fail in tests.
//!
//! Lock order: HEAP before the frame allocator's free-stack lock, which is a leaf (it
//! never allocates), so the heap can always grow, on any CPU, whatever locks its caller
//! holds. The headroom `reserve` and `refill` keep is for paths that allocate through
//! Rust's infallible collections after a fallible `reserve`.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;
use buddy_system_allocator::Heap;

use super::frame::PAGE_SIZE;
use super::global::FRAMES;
use super::inject::{self, Kind};
use crate::arch::phys_to_virt;
use crate::error::{Errno, KResult};

/// The smallest run of frames the heap grows by.
const GROW_BYTES: usize = 64 << 10;
/// Free heap kept in reserve for allocations made while the frame allocator is locked.
const HEADROOM: usize = 256 << 10;

pub struct KernelHeap {
    heap: OrderedMutex<Heap<32>>,
    /// Frames the heap owns (never returned to the frame allocator).
    frames: AtomicUsize,
    /// Free heap fell below half the headroom: `refill_if_low` tops it up.
    low: AtomicBool,
}

#[global_allocator]
pub static HEAP: KernelHeap = KernelHeap {
    heap: OrderedMutex::new(Level::Heap, Heap::empty()),
    frames: AtomicUsize::new(0),
    low: AtomicBool::new(false),
};

impl KernelHeap {
    /// The first region, before the frame allocator exists.
    ///
    /// # Safety
    /// `[start, start + size)` is kernel-mapped memory nothing else uses, for ever.
    pub unsafe fn init(&self, start: usize, size: usize) {
        // SAFETY: the caller guarantees the region is ours.
        unsafe { self.heap.lock().init(start, size) };
    }

    /// Adds a run of `bytes` of contiguous frames to `heap`, if the frame allocator has
    /// such a run.
    fn grow(&self, heap: &mut Heap<32>, bytes: usize) -> bool {
        let pages = bytes.div_ceil(PAGE_SIZE);
        let Some(run) = FRAMES.get().and_then(|f| f.alloc_contiguous(pages)) else {
            return false;
        };
        self.frames.fetch_add(pages, Ordering::Relaxed);
        let start = phys_to_virt(run.as_usize()) as usize;
        // SAFETY: the frames were free and now belong to the heap for ever; the linear
        // map covers them.
        unsafe { heap.add_to_heap(start, start + pages * PAGE_SIZE) };
        true
    }

    fn free_bytes(heap: &Heap<32>) -> usize {
        heap.stats_total_bytes() - heap.stats_alloc_actual()
    }
}

// SAFETY: allocations come from the buddy heap under its lock; `grow` only ever adds
// memory the heap owns exclusively.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let mut heap = self.heap.lock();
        if let Ok(p) = heap.alloc(layout) {
            if Self::free_bytes(&heap) < HEADROOM / 2 {
                self.low.store(true, Ordering::Relaxed);
            }
            return p.as_ptr();
        }
        let want = layout.size().max(layout.align()).next_power_of_two() * 2;
        if self.grow(&mut heap, want.max(GROW_BYTES))
            && let Ok(p) = heap.alloc(layout)
        {
            return p.as_ptr();
        }
        ptr::null_mut()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: `ptr` came from `alloc` with this layout.
            unsafe { self.heap.lock().dealloc(p, layout) };
        }
    }
}

/// Makes sure `bytes` more can be allocated from the heap, growing it if needed: the
/// fallible step of every user-triggered path that then allocates with Rust's
/// (infallible) collections. ENOMEM when memory is short, or when fault injection says
/// so. Call it without holding the frame allocator.
pub fn reserve(bytes: usize) -> KResult<()> {
    if inject::should_fail(Kind::Heap) {
        return Err(Errno::ENOMEM);
    }
    let need = bytes + HEADROOM;
    let mut heap = HEAP.heap.lock();
    // (Fault injection does not count this top-up: it is not a user's request.)
    while KernelHeap::free_bytes(&heap) < need {
        let short = need - KernelHeap::free_bytes(&heap);
        if !HEAP.grow(&mut heap, short.max(GROW_BYTES)) {
            return Err(Errno::ENOMEM);
        }
    }
    Ok(())
}

/// Tops the headroom up if allocations ate into it. Called where no lock is held: on the
/// way back to user mode (one load when there is nothing to do).
/// Whether `refill_if_low` has work (the return-to-user path's quick test).
#[inline(always)]
pub fn is_low() -> bool {
    HEAP.low.load(Ordering::Relaxed)
}

pub fn refill_if_low() {
    if HEAP.low.swap(false, Ordering::Relaxed) {
        let _ = reserve(0);
    }
}

/// Bytes allocated from the heap now.
pub fn in_use() -> usize {
    HEAP.heap.lock().stats_alloc_actual()
}

/// Frames the heap has taken from the frame allocator.
pub fn frames() -> usize {
    HEAP.frames.load(Ordering::Relaxed)
}
