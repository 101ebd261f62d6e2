//! Cache maintenance and the cache-geometry registers (ARM ARM D7.5 "Cache maintenance",
//! D17.2.34 CTR_EL0, D17.2.39 DCZID_EL0; Linux: arch/arm64/mm/cache.S
//! `caches_clean_inval_pou`, `__sync_icache_dcache`).
//!
//! When the kernel writes instructions into memory that EL0 will execute (the ELF loader,
//! a copy-on-write copy of an executable page), the data cache must be cleaned to the
//! Point of Unification and the instruction cache invalidated, or the CPU may fetch stale
//! instructions. QEMU's TCG keeps caches coherent and would run without it; real cores
//! do not.

use core::arch::asm;

use tock_registers::interfaces::Readable;
use tock_registers::register_bitfields;
use tock_registers::registers::InMemoryRegister;

register_bitfields! {u64,
    /// Cache Type Register: the smallest line sizes, as log2(words).
    pub CTR_EL0 [
        /// log2 of the smallest data/unified cache line, in 4-byte words.
        DminLine OFFSET(16) NUMBITS(4) [],
        /// log2 of the smallest instruction cache line, in 4-byte words.
        IminLine OFFSET(0) NUMBITS(4) []
    ],
    /// Data Cache Zero ID: may `DC ZVA` be used, and how many bytes it zeroes.
    pub DCZID_EL0 [
        /// Prohibited: DC ZVA is not permitted.
        DZP OFFSET(4) NUMBITS(1) [],
        /// log2 of the block size in 4-byte words.
        BS OFFSET(0) NUMBITS(4) []
    ]
}

/// CTR_EL0, decoded.
pub fn ctr_el0() -> InMemoryRegister<u64, CTR_EL0::Register> {
    let v: u64;
    // SAFETY: reading an ID register has no side effects.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) v, options(nomem, nostack)) };
    InMemoryRegister::new(v)
}

/// DCZID_EL0, decoded.
pub fn dczid_el0() -> InMemoryRegister<u64, DCZID_EL0::Register> {
    let v: u64;
    // SAFETY: reading an ID register has no side effects.
    unsafe { asm!("mrs {}, dczid_el0", out(reg) v, options(nomem, nostack)) };
    InMemoryRegister::new(v)
}

/// Makes instructions just written to the 4 KiB frame `pa` visible to instruction fetch
/// on every CPU: clean each D-cache line to PoU, then invalidate each I-cache line.
pub fn sync_icache_frame(pa: usize) {
    let va = super::phys_to_virt(pa) as usize;
    let ctr = ctr_el0();
    let dline = 4usize << ctr.read(CTR_EL0::DminLine);
    let iline = 4usize << ctr.read(CTR_EL0::IminLine);
    for line in (va..va + 4096).step_by(dline) {
        // SAFETY: cleaning a cache line of mapped kernel memory changes no data.
        unsafe { asm!("dc cvau, {}", in(reg) line, options(nostack)) };
    }
    // SAFETY: barriers only.
    unsafe { asm!("dsb ish", options(nostack)) };
    for line in (va..va + 4096).step_by(iline) {
        // SAFETY: invalidating instruction-cache lines only drops cached copies.
        unsafe { asm!("ic ivau, {}", in(reg) line, options(nostack)) };
    }
    // SAFETY: barriers only.
    unsafe { asm!("dsb ish", "isb", options(nostack)) };
}
