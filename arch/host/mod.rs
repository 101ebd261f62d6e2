//! The host fake of the arch layer (in the spirit of Hubris's `arch` fakes): lets the
//! portable kernel logic run under `cargo test` on x86_64.
//!
//! "Physical" addresses in tests are host heap addresses, so the linear map is the
//! identity; TLB maintenance is recorded so tests can check what would have been flushed.

use std::cell::RefCell;
use std::vec::Vec;

pub fn phys_to_virt(pa: usize) -> *mut u8 {
    pa as *mut u8
}

pub fn copy_frame(dst: usize, src: usize) {
    // SAFETY: tests pass two distinct frames of their simulated memory.
    unsafe { core::ptr::copy_nonoverlapping(src as *const u8, dst as *mut u8, 4096) }
}

pub fn zero_frame(pa: usize) {
    // SAFETY: tests pass a frame of their simulated memory.
    unsafe { core::ptr::write_bytes(pa as *mut u8, 0, 4096) }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlbOp {
    Page(u16, usize),
    Asid(u16),
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
