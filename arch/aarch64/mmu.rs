//! Loading the kernel's translation tables (TTBR1) and switching user tables (TTBR0).
//! Linux: arch/arm64/mm/mmu.c (`map_kernel`, `paging_init`) and `cpu_switch_mm`.
//!
//! The boot tables from boot.S map RAM with 1 GiB RWX blocks. mm/kernel_map.rs replaces
//! them by:
//!   * kernel text: read-only, executable;  rodata: read-only, never executable;
//!   * data, bss, the rest of RAM (the linear map): read-write, never executable; the
//!     boot stack's guard pages not at all;
//!   * device windows (UART, GIC): Device-nGnRE, never executable;
//!   * kernel stacks with guards in their own region (memory.rs).
//!
//! Kernel entries are global (no nG bit), so they survive ASID switches. The tables are
//! built by mm/kernel_map.rs with the same walker as user tables; the descriptor bits are
//! `pte.rs`. This file only supplies the image layout and loads the registers.

use aarch64_cpu::registers::{TTBR0_EL1, TTBR1_EL1, Writeable};

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __kernel_end: u8;
    static __boot_stack_guard: u8;
    static __boot_stack_bottom: u8;
}

fn sym(s: &u8) -> usize {
    s as *const u8 as usize
}

/// Kernel image section boundaries (virtual addresses).
pub struct KernelLayout {
    pub text: (usize, usize),
    pub rodata_end: usize,
    pub end: usize,
    /// The boot stack's guard (arch/aarch64/memory.rs), left unmapped.
    pub boot_stack_guard: (usize, usize),
}

pub fn kernel_layout() -> KernelLayout {
    // SAFETY: linker-script symbols; only their addresses are taken.
    unsafe {
        KernelLayout {
            text: (sym(&__text_start), sym(&__text_end)),
            rodata_end: sym(&__rodata_end),
            end: sym(&__kernel_end),
            boot_stack_guard: (sym(&__boot_stack_guard), sym(&__boot_stack_bottom)),
        }
    }
}

/// Switches TTBR1 (the kernel half) to the tables rooted at `root` (physical).
///
/// # Safety
/// The new tables must map everything the kernel uses (image, stacks, RAM, devices) at
/// the addresses it uses now.
pub unsafe fn install_kernel_tables(root: usize) {
    // SAFETY: the caller guarantees the mapping; the barriers make the walker see the
    // new tables and drop every cached translation of the old ones.
    unsafe {
        core::arch::asm!("dsb ishst");
        TTBR1_EL1.set(root as u64);
        core::arch::asm!("isb", "tlbi vmalle1is", "dsb ish", "isb");
    }
}

/// Points TTBR0 at a user address space (root | ASID << 48). With 16-bit ASIDs no TLB
/// flush is needed: entries of other address spaces are tagged with other ASIDs.
pub fn switch_ttbr0(ttbr: u64) {
    TTBR0_EL1.set(ttbr);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}
