//! The host fake of the arch layer (in the spirit of Hubris's `arch` fakes): lets the
//! portable kernel logic run under `cargo test` on the host (x86_64 or aarch64 Linux).
//!
//! "Physical" addresses in tests are host heap addresses, so the linear map is the
//! identity; TLB and cache maintenance is recorded so tests can check what would have been
//! done. The descriptor format is the real one: this module includes arch/aarch64/pte.rs.

use std::cell::RefCell;
use std::vec::Vec;

#[path = "../aarch64/memory.rs"]
pub mod memory;
#[path = "../aarch64/pte.rs"]
pub mod pte;

thread_local! {
    /// The blocks of host memory that stand for RAM in this thread's test: (start, length).
    static SIM_RAM: RefCell<Vec<(*mut u8, usize)>> = const { RefCell::new(Vec::new()) };
}

/// Makes `len` bytes at `base` simulated RAM for this thread (mm::frame::sim::SimMemory).
///
/// The linear map hands out pointers *derived from `base`* (strict provenance) rather
/// than casting integers back to pointers: that way Miri knows which allocation each
/// access belongs to and checks it against that allocation's bounds and borrows, where an
/// integer-to-pointer cast would make it guess.
pub fn sim_ram_add(base: *mut u8, len: usize) {
    SIM_RAM.with(|r| r.borrow_mut().push((base, len)));
}

/// Undoes `sim_ram_add` (the block is about to be freed).
pub fn sim_ram_remove(base: *mut u8) {
    SIM_RAM.with(|r| r.borrow_mut().retain(|&(b, _)| b != base));
}

/// The linear map of the host fake: `pa` must lie in a block given to `sim_ram_add`.
pub fn phys_to_virt(pa: usize) -> *mut u8 {
    SIM_RAM.with(|r| {
        r.borrow()
            .iter()
            .find(|&&(b, len)| (b.addr()..b.addr() + len).contains(&pa))
            .map(|&(b, _)| b.with_addr(pa))
            .unwrap_or_else(|| panic!("{pa:#x} is not simulated RAM"))
    })
}

pub fn copy_frame(dst: usize, src: usize) {
    // SAFETY: tests pass two distinct frames of their simulated memory.
    unsafe { core::ptr::copy_nonoverlapping(phys_to_virt(src), phys_to_virt(dst), 4096) }
}

pub fn zero_frame(pa: usize) {
    // SAFETY: tests pass a frame of their simulated memory.
    unsafe { core::ptr::write_bytes(phys_to_virt(pa), 0, 4096) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlbOp {
    Page(u16, usize),
    Asid(u16),
    /// A global (kernel) page, every ASID: `flush_tlb_kernel_range`, one per page.
    KernelPage(usize),
}

thread_local! {
    static TLB_LOG: RefCell<Vec<TlbOp>> = const { RefCell::new(Vec::new()) };
}

pub fn flush_tlb_page(asid: u16, va: usize) {
    TLB_LOG.with(|l| l.borrow_mut().push(TlbOp::Page(asid, va)));
}

pub fn flush_tlb_asid(asid: u16) {
    TLB_LOG.with(|l| l.borrow_mut().push(TlbOp::Asid(asid)));
}

pub fn flush_tlb_kernel_range(start: usize, end: usize) {
    TLB_LOG.with(|l| {
        let mut l = l.borrow_mut();
        l.extend((start..end).step_by(4096).map(TlbOp::KernelPage))
    });
}

/// The TLB operations recorded on this thread since the last call.
pub fn take_tlb_log() -> Vec<TlbOp> {
    TLB_LOG.with(|l| core::mem::take(&mut *l.borrow_mut()))
}

thread_local! {
    static ICACHE_LOG: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Host fake of the I-cache synchronisation after the kernel writes instructions into
/// the frame `pa`: recorded, so tests can check that it happens.
pub fn sync_icache_frame(pa: usize) {
    ICACHE_LOG.with(|l| l.borrow_mut().push(pa));
}

/// The frames synchronised on this thread since the last call.
pub fn take_icache_log() -> Vec<usize> {
    ICACHE_LOG.with(|l| core::mem::take(&mut *l.borrow_mut()))
}
