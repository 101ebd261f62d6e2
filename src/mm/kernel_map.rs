//! The kernel's own address space, the TTBR1 half (Linux: arch/arm64/mm/mmu.c
//! `paging_init`, `map_kernel`). The boot tables from boot.S map RAM with 1 GiB RWX
//! blocks; here they are replaced by:
//!   * kernel text: read-only, executable;  rodata: read-only, never executable;
//!   * data, bss, the rest of RAM (the linear map): read-write, never executable;
//!   * device windows (UART, GIC): Device-nGnRE, never executable.
//!
//! Built with the same `PageTable` and walker as user address spaces; the entries are
//! global (no nG bit), so they survive ASID switches.

use super::frame::{FrameAllocator, PAGE_SIZE, PhysAddr};
use super::pagetable::PageTable;
use crate::arch::pte::PteFlags;
use crate::arch::{self, KERNEL_VA_OFFSET, virt_to_phys};

const BLOCK_2M: usize = 2 << 20;

/// Builds the final kernel tables and switches TTBR1 to them.
/// `ram`: physical RAM range; `devices`: physical MMIO ranges.
pub fn init_kernel_tables(
    frames: &mut FrameAllocator,
    ram: (usize, usize),
    devices: &[(usize, usize)],
) -> PageTable {
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
    // at the same addresses as the boot tables.
    unsafe { arch::mmu::install_kernel_tables(pt.root().as_usize()) };
    pt
}
