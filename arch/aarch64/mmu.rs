//! The kernel's own translation tables (TTBR1) and switching user tables (TTBR0).
//! Linux: arch/arm64/mm/mmu.c (`map_kernel`, `paging_init`) and `cpu_switch_mm`.
//!
//! The boot tables from boot.S map RAM with 1 GiB RWX blocks. Here they are replaced by:
//!   * kernel text: read-only, executable;  rodata: read-only, never executable;
//!   * data, bss, the rest of RAM (the linear map): read-write, never executable;
//!   * device windows (UART, GIC): Device-nGnRE, never executable.
//!
//! Kernel entries are global (no nG bit), so they survive ASID switches. The tables are
//! built with the same walker as user tables (`PageTable::map`, `map_block_2m` →
//! `walk_alloc`); the descriptor bits are `pte.rs`.

use aarch64_cpu::registers::{TTBR0_EL1, TTBR1_EL1, Writeable};

use super::pte::PteFlags;
use super::{KERNEL_VA_OFFSET, virt_to_phys};
use crate::mm::frame::{FrameAllocator, PAGE_SIZE, PhysAddr};
use crate::mm::pagetable::PageTable;

const BLOCK_2M: usize = 2 << 20;

unsafe extern "C" {
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_end: u8;
    static __kernel_end: u8;
}

fn sym(s: &u8) -> usize {
    s as *const u8 as usize
}

/// Kernel image section boundaries (virtual addresses).
pub struct KernelLayout {
    pub text: (usize, usize),
    pub rodata_end: usize,
    pub end: usize,
}

pub fn kernel_layout() -> KernelLayout {
    // SAFETY: linker-script symbols; only their addresses are taken.
    unsafe {
        KernelLayout {
            text: (sym(&__text_start), sym(&__text_end)),
            rodata_end: sym(&__rodata_end),
            end: sym(&__kernel_end),
        }
    }
}

/// Builds the final kernel tables and switches TTBR1 to them.
/// `ram`: physical RAM range; `devices`: physical MMIO ranges.
pub fn init_kernel_tables(
    frames: &mut FrameAllocator,
    ram: (usize, usize),
    devices: &[(usize, usize)],
) -> PageTable {
    let mut pt = PageTable::new(frames, 0).expect("out of memory building kernel page tables");
    let k = kernel_layout();
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
                } else {
                    kernel_flags | PteFlags::UXN | PteFlags::PXN
                };
                pt.map(frames, v, PhysAddr(page), flags)
                    .expect("kernel map");
            }
        } else {
            pt.map_block_2m(
                frames,
                va,
                PhysAddr(pa),
                kernel_flags | PteFlags::UXN | PteFlags::PXN,
            )
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
    // SAFETY: the new tables map everything the kernel uses (image, stack, RAM, devices)
    // at the same addresses as the boot tables; the barriers make the walker see them.
    unsafe {
        core::arch::asm!("dsb ishst");
        TTBR1_EL1.set(pt.root().as_usize() as u64);
        core::arch::asm!("isb", "tlbi vmalle1is", "dsb ish", "isb");
    }
    pt
}

/// Points TTBR0 at a user address space (root | ASID << 48). With 16-bit ASIDs no TLB
/// flush is needed: entries of other address spaces are tagged with other ASIDs.
pub fn switch_ttbr0(ttbr: u64) {
    TTBR0_EL1.set(ttbr);
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}
