//! The kernel's instances of the memory-management types: the frame allocator, the heap,
//! ASIDs, and `Mm` — a reference-counted user address space shared by CLONE_VM tasks
//! (Linux: `struct mm_struct` with `mm_users`; here `Arc<Mm>`).

use core::sync::atomic::{AtomicUsize, Ordering};

use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;

use super::addr_space::{Access, AddressSpace, FaultError, FaultFix};
use super::cow::CowCopy;
use super::frame::FrameAllocator;
use super::vm_file::VmFile;
use crate::arch;
use crate::error::{Errno, KResult};

/// The frame allocator, set once at boot. It needs no outer lock: counts are atomics and
/// the free stack has its own short lock (mm/frame.rs).
pub static FRAMES: spin::Once<FrameAllocator> = spin::Once::new();

/// The frame allocator.
pub fn frames() -> &'static FrameAllocator {
    FRAMES.get().expect("frame allocator not initialised")
}

/// Runs `f` with the frame allocator.
pub fn with_frames<R>(f: impl FnOnce(&FrameAllocator) -> R) -> R {
    f(frames())
}

/// Frames in use by everything but the kernel heap (whose frames stay with it: see
/// mm/heap.rs) and the cache of freed kernel stacks (mm/kernel_map.rs); with `heap_in_use`, what the leak checks compare with the boot baseline.
pub fn frames_in_use() -> usize {
    with_frames(|f| f.in_use()) - super::heap::frames() - super::kernel_map::cached_stack_frames()
}

/// Kernel heap bytes allocated now.
pub fn heap_in_use() -> usize {
    super::heap::in_use()
}

/// ASIDs 1..=MAX_ASID; 0 is the kernel's (TTBR1 entries are global anyway).
const MAX_ASID: usize = 4096;
static ASIDS: OrderedMutex<Vec<u64>> = OrderedMutex::new(Level::Ids, Vec::new());

fn alloc_asid() -> Option<u16> {
    let mut map = ASIDS.lock();
    if map.is_empty() {
        map.resize(MAX_ASID / 64, 0);
        map[0] = 1; // ASID 0 reserved
    }
    let (word, bits) = map.iter_mut().enumerate().find(|(_, w)| **w != u64::MAX)?;
    let bit = bits.trailing_ones() as usize;
    *bits |= 1 << bit;
    Some((word * 64 + bit) as u16)
}

fn free_asid(asid: u16) {
    ASIDS.lock()[asid as usize / 64] &= !(1 << (asid % 64));
}

/// Heap one VMA may take in the tree (an entry and its share of a B-tree node), rounded up.
pub const VMA_HEAP_BYTES: usize = 160;

/// Counter of address spaces ever made, to tell them apart in logs and futex keys.
static MM_IDS: AtomicUsize = AtomicUsize::new(1);

/// A user address space as tasks hold it.
pub struct Mm {
    pub id: usize,
    pub asid: u16,
    space: OrderedMutex<Option<AddressSpace>>,
    /// The program the address space was loaded from (Linux `mm->exe_file`): for
    /// /proc/PID/exe and for symbols in fault reports.
    pub exe: Option<Arc<dyn VmFile>>,
}

impl Mm {
    fn wrap(space: AddressSpace, exe: Option<Arc<dyn VmFile>>) -> Arc<Mm> {
        let asid = space.pt.asid();
        Arc::new(Mm {
            id: MM_IDS.fetch_add(1, Ordering::Relaxed),
            asid,
            space: OrderedMutex::new(Level::Mm, Some(space)),
            exe,
        })
    }

    /// A new, empty address space.
    pub fn new(exe: Option<Arc<dyn VmFile>>) -> KResult<Arc<Mm>> {
        let asid = alloc_asid().ok_or(Errno::EAGAIN)?;
        match with_frames(|f| AddressSpace::new(f, asid)) {
            Some(space) => Ok(Mm::wrap(space, exe)),
            None => {
                free_asid(asid);
                Err(Errno::ENOMEM)
            }
        }
    }

    /// Runs `f` on the address space, its lock held (Linux's mmap_lock and page-table
    /// lock in one), with the frame allocator. Never call uaccess inside.
    pub fn with<R>(&self, f: impl FnOnce(&mut AddressSpace, &FrameAllocator) -> R) -> R {
        let mut space = self.space.lock();
        f(space.as_mut().expect("mm already torn down"), frames())
    }

    /// A page fault on `va` in this address space (Linux `handle_mm_fault`). Resolved
    /// under the lock, except a shared copy-on-write page: its copy is made with the lock
    /// released — other CPUs keep faulting and mapping meanwhile — and installed only if
    /// the entry has not changed (mm/cow.rs). Inlined into the fault handler (trap.rs
    /// `page_fault`): one stack frame less on every fault.
    #[inline(always)]
    pub fn handle_fault(&self, va: usize, access: Access) -> Result<FaultFix, FaultError> {
        let fix = match self.with(|space, frames| space.handle_fault(frames, va, access)) {
            Ok(FaultFix::CowCopy(copy)) => return self.copy_on_write(va, access, copy),
            fix => fix,
        };
        self.trace_fault(va, access, &fix, None);
        fix
    }

    /// The copy of a shared COW page, made with the lock released, then installed.
    fn copy_on_write(
        &self,
        va: usize,
        access: Access,
        copy: CowCopy,
    ) -> Result<FaultFix, FaultError> {
        let old = copy.frame().as_usize();
        let result = match copy.copy_page(frames()) {
            Some(new) => Ok(self.with(|space, frames| space.finish_cow(frames, copy, new))),
            None => {
                copy.abandon(frames());
                Err(FaultError::OutOfMemory)
            }
        };
        self.trace_fault(va, access, &result, Some(old));
        result
    }

    /// The page-fault tracepoint (trace/mod.rs `mm_fault`): how the fault ended and the
    /// frame now mapped, computed only if it is enabled.
    #[inline(always)]
    fn trace_fault(
        &self,
        va: usize,
        access: Access,
        result: &Result<FaultFix, FaultError>,
        cow_old: Option<usize>,
    ) {
        let frame_now = || {
            self.with(|space, _| space.pt.lookup(va))
                .map(|(pa, _)| pa.as_usize())
        };
        crate::trace::mm_fault(
            va,
            access as u8,
            || trace_fault_kind(result),
            cow_old,
            frame_now,
        );
    }

    /// The value for TTBR0_EL1.
    pub fn ttbr(&self) -> u64 {
        self.space.lock().as_ref().map(|s| s.pt.ttbr()).unwrap_or(0)
    }

    /// fork's copy (Linux `dup_mm`): copy-on-write duplicate with a new ASID.
    pub fn dup(&self) -> KResult<Arc<Mm>> {
        // The child's VMA tree is a clone of ours: about 100 bytes of heap a VMA (65,530
        // at most), reserved first so that a big tree gives -ENOMEM, not a failed
        // allocation inside the clone.
        let vmas = self.with(|space, _| space.map_count());
        super::heap::reserve(vmas * VMA_HEAP_BYTES)?;
        let asid = alloc_asid().ok_or(Errno::EAGAIN)?;
        match self.with(|space, frames| space.fork(frames, asid)) {
            Ok(child) => Ok(Mm::wrap(child, self.exe.clone())),
            Err(e) => {
                free_asid(asid);
                Err(e)
            }
        }
    }
}

/// How a fault ended, in the tracepoint's terms (trace/mod.rs `mm_fault`).
fn trace_fault_kind(result: &Result<FaultFix, FaultError>) -> crate::trace::Fault {
    use crate::trace::Fault;
    match result {
        Ok(FaultFix::DemandZero) => Fault::DemandZero,
        Ok(FaultFix::FilePage) => Fault::FilePage,
        Ok(FaultFix::FileCopied) => Fault::FileCopied,
        Ok(FaultFix::Spurious) => Fault::Spurious,
        Ok(FaultFix::CowCopied | FaultFix::CowCopy(_)) => Fault::CowCopied,
        Ok(FaultFix::CowReused) => Fault::CowReused,
        Ok(FaultFix::CowRaced) => Fault::CowRaced,
        Err(FaultError::NotMapped) => Fault::NotMapped,
        Err(FaultError::AccessDenied) => Fault::AccessDenied,
        Err(FaultError::PastEndOfFile) => Fault::PastEndOfFile,
        Err(FaultError::OutOfMemory) => Fault::OutOfMemory,
    }
}

impl Drop for Mm {
    fn drop(&mut self) {
        if let Some(space) = self.space.get_mut().take() {
            with_frames(|frames| space.destroy(frames));
        }
        // No TLB entry of this ASID may survive into its next owner.
        arch::flush_tlb_asid(self.asid);
        free_asid(self.asid);
    }
}

static EMPTY_TTBR0: spin::Once<u64> = spin::Once::new();

/// A table with no entries, loaded in TTBR0 when no user address space is (so that a
/// stray user access from the kernel faults instead of reading freed tables).
pub fn init_empty_ttbr0(frames: &FrameAllocator) {
    let root = frames
        .alloc_zeroed()
        .expect("no frame for the empty TTBR0 table");
    EMPTY_TTBR0.call_once(|| root.as_usize() as u64);
}

pub fn empty_ttbr0() -> u64 {
    *EMPTY_TTBR0.get().expect("empty TTBR0 not initialised")
}
