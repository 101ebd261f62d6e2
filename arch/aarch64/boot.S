// boot.S — the first instructions of the kernel (Linux: arch/arm64/kernel/head.S).
//
// QEMU loads the raw Image at RAM base + 2 MiB (0x4020_0000) because of the arm64 Image
// header below, sets x0 to the physical address of the device tree, and jumps here with
// the MMU off, at EL1 (or EL2 with -M virt,virtualization=on).
//
// This file is linked at its physical address (section .text.boot), so gdb can break on
// `_start` and `primary_entry`. It
//   1. drops from EL2 to EL1 if needed,
//   2. lets EL0 use FP/SIMD without trapping (CPACR_EL1.FPEN; the kernel itself is
//      built soft-float and never uses those registers, see docs/fpsimd.md),
//   3. builds a tiny boot page table that maps RAM twice with 1 GiB blocks: at its
//      physical address (TTBR0, so the next instruction after enabling the MMU still
//      fetches) and in the high half at KERNEL_VA_OFFSET + phys (TTBR1),
//   4. turns on the MMU and jumps to the high-half `__primary_switched`, which clears BSS,
//      sets up the boot stack and calls the Rust `kernel_main(dtb_phys)`.
// The Rust side then replaces these tables by fine-grained ones (see arch/aarch64/mmu.rs).

.equ KERNEL_VA_OFFSET,   0xffff000000000000

// Page-table descriptor bits (ARM ARM D8.3, "Translation table descriptor formats")
.equ PTE_TABLE,          0b11            // valid table descriptor (levels 0-2)
.equ PTE_BLOCK,          0b01            // valid block descriptor
.equ PTE_ATTR_NORMAL,    (0 << 2)        // MAIR index 0
.equ PTE_ATTR_DEVICE,    (1 << 2)        // MAIR index 1
.equ PTE_SH_INNER,       (3 << 8)
.equ PTE_AF,             (1 << 10)
.equ PTE_PXN,            (1 << 53)
.equ PTE_UXN,            (1 << 54)

// MAIR_EL1: attr0 = Normal write-back RW-allocate, attr1 = Device-nGnRE
.equ MAIR_VALUE,         0x04ff
// TCR_EL1: T0SZ=T1SZ=16 (48-bit VAs), 4 KiB granules, inner-shareable write-back walks,
// IPS=40 bits, AS=1 (16-bit ASIDs).
.equ TCR_T0SZ,           16
.equ TCR_T1SZ,           (16 << 16)
.equ TCR_WALK0,          ((1 << 8) | (1 << 10) | (3 << 12))
.equ TCR_WALK1,          ((1 << 24) | (1 << 26) | (3 << 28))
.equ TCR_TG1_4K,         (2 << 30)
.equ TCR_IPS_40BIT,      (2 << 32)
.equ TCR_AS16,           (1 << 36)
// SCTLR_EL1: M (MMU), C (data cache), I (instruction cache), plus the RES1 bits.
.equ SCTLR_RES1,         0x30d00800
.equ SCTLR_MMU_ON,       (SCTLR_RES1 | (1 << 0) | (1 << 2) | (1 << 12))
// HCR_EL2.RW: EL1 runs AArch64. SPSR for "EL1h with DAIF masked".
.equ HCR_RW,             (1 << 31)
.equ SPSR_EL1H_MASKED,   0x3c5
.equ CPACR_FPEN,         (3 << 20)

.section .text.boot, "ax"
.global _start
_start:
    // arm64 Image header (Linux Documentation/arch/arm64/booting.rst).
    b       primary_entry               // code0
    .long   0                           // code1
    .quad   0x200000                    // text_offset: load us at RAM base + 2 MiB
    .quad   __image_size                // image_size (from linker.ld)
    .quad   0x2                         // flags: little-endian, 4 KiB pages
    .quad   0, 0, 0                     // reserved
    .ascii  "ARM\x64"                   // magic
    .long   0                           // reserved

// Every CPU's first steps: leave EL2 if started there (run EL1 in AArch64, give it the
// counters), and let EL0 use FP/SIMD without trapping. Clobbers x0.
.macro el2_to_el1_and_fpsimd
    mrs     x0, CurrentEL
    cmp     x0, #(2 << 2)
    b.ne    1f
    ldr     x0, =HCR_RW
    msr     hcr_el2, x0
    mov     x0, #3                      // CNTHCTL_EL2.EL1PCTEN | EL1PCEN
    msr     cnthctl_el2, x0
    msr     cntvoff_el2, xzr
    mov     x0, #SPSR_EL1H_MASKED
    msr     spsr_el2, x0
    adr     x0, 1f
    msr     elr_el2, x0
    eret
1:
    ldr     x0, =CPACR_FPEN
    msr     cpacr_el1, x0
    isb
.endm

// Every CPU: MAIR, TCR, both TTBRs = boot_l0 (x0), MMU and caches on. Clobbers x2.
.macro enable_mmu_boot_tables
    ldr     x2, =MAIR_VALUE
    msr     mair_el1, x2
    ldr     x2, =(TCR_T0SZ | TCR_T1SZ | TCR_WALK0 | TCR_WALK1 | TCR_TG1_4K | TCR_IPS_40BIT | TCR_AS16)
    msr     tcr_el1, x2
    msr     ttbr0_el1, x0
    msr     ttbr1_el1, x0
    tlbi    vmalle1
    dsb     ish
    isb
    ldr     x2, =SCTLR_MMU_ON
    msr     sctlr_el1, x2
    isb
.endm

.global primary_entry
primary_entry:
    mov     x19, x0                     // keep the device-tree pointer
    el2_to_el1_and_fpsimd

    // Boot tables: L0[0] -> L1; L1[0] = 0..1 GiB device (UART, GIC), L1[1..4] = RAM.
    adrp    x0, boot_l0
    adrp    x1, boot_l1
    orr     x2, x1, #PTE_TABLE
    str     x2, [x0]
    ldr     x2, =(PTE_BLOCK | PTE_ATTR_DEVICE | PTE_AF | PTE_PXN | PTE_UXN)
    str     x2, [x1]
    ldr     x2, =(PTE_BLOCK | PTE_ATTR_NORMAL | PTE_SH_INNER | PTE_AF)
    mov     x3, #1
2:  lsl     x4, x3, #30
    orr     x4, x4, x2
    str     x4, [x1, x3, lsl #3]
    add     x3, x3, #1
    cmp     x3, #4
    b.lo    2b

    enable_mmu_boot_tables
    ldr     x0, =__primary_switched     // an absolute, high-half address
    br      x0

// A secondary CPU starts here when the boot CPU asks PSCI CPU_ON for it (Linux:
// head.S `secondary_entry`): MMU off, x0 = the context id = this CPU's number. The boot
// tables are still in place (written with the MMU off, so they are in RAM, not only in
// the boot CPU's cache); the kernel's real tables come from `secondary_data` once this
// CPU's MMU and caches are on and it sees memory as the boot CPU does.
.global secondary_entry
secondary_entry:
    mov     x19, x0                     // CPU number
    el2_to_el1_and_fpsimd
    adrp    x0, boot_l0
    enable_mmu_boot_tables
    ldr     x0, =__secondary_switched
    br      x0

    .ltorg

// Boot page tables live inside the loaded image (not BSS) so they are zero before use.
.section .data.boot, "aw"
.balign 4096
boot_l0: .space 4096
boot_l1: .space 4096

// The first frames of the boot CPU and of each secondary: nothing called them, which the
// call-frame information says (`.cfi_undefined x30`, in .debug_frame as entry.S's), so
// gdb's `bt` from anywhere in the kernel ends here cleanly.
.cfi_sections .debug_frame
.section .text, "ax"
__primary_switched:
    .cfi_startproc
    .cfi_undefined x30                  // the outermost frame: no caller
    ldr     x0, =__boot_stack_top
    mov     sp, x0
    ldr     x0, =__bss_start
    ldr     x1, =__bss_end
3:  cmp     x0, x1
    b.hs    4f
    stp     xzr, xzr, [x0], #16
    b       3b
4:  ldr     x0, =vectors
    msr     vbar_el1, x0
    isb
    mov     x29, xzr                    // terminate the frame-pointer chain for gdb
    mov     x30, xzr
    mov     x0, x19                     // kernel_main(dtb_phys)
    bl      kernel_main
5:  wfe
    b       5b
    .cfi_endproc

// High half, boot tables: switch TTBR1 to the kernel's tables, take the stack the boot
// CPU allocated (arch/aarch64/smp.rs `secondary_data`), install the vectors, and call
// the Rust `secondary_start_kernel(cpu)`.
__secondary_switched:
    .cfi_startproc
    .cfi_undefined x30                  // the outermost frame: no caller
    ldr     x1, =secondary_data
    ldr     x2, [x1, #8]                // the kernel's TTBR1 value
    dsb     ishst
    msr     ttbr1_el1, x2
    isb
    tlbi    vmalle1                     // drop this CPU's boot-table translations
    dsb     nsh
    isb
    ldr     x2, [x1]                    // stack top
    mov     sp, x2
    ldr     x0, =vectors
    msr     vbar_el1, x0
    isb
    mov     x29, xzr                    // terminate the frame-pointer chain for gdb
    mov     x30, xzr
    mov     x0, x19
    bl      secondary_start_kernel
6:  wfe
    b       6b
    .cfi_endproc
