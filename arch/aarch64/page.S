// page.S — copying and clearing whole 4 KiB pages (Linux: arch/arm64/lib/copy_page.S,
// clear_page.S). Both use only general-purpose registers: the kernel never touches the
// FP/SIMD registers, which hold the interrupted user program's values (docs/fpsimd.md).
// The COW fault (copy) and every table or demand-zero frame (clear) go through here.

.section .text, "ax"

// void copy_page(void *dst, const void *src): both page aligned, 4096 bytes.
// Sixteen x registers hold a 128-byte chunk. The loop is software-pipelined as in
// Linux's copy_page: each ldp fetches the next chunk right after the stp that freed its
// registers, and one iteration moves two chunks (256 bytes), so the loop overhead is 4
// instructions per 256 bytes: about 580 instructions a page.
.global copy_page
.type copy_page, %function
copy_page:
    ldp     x2, x3, [x1, #0]
    ldp     x4, x5, [x1, #16]
    ldp     x6, x7, [x1, #32]
    ldp     x8, x9, [x1, #48]
    ldp     x10, x11, [x1, #64]
    ldp     x12, x13, [x1, #80]
    ldp     x14, x15, [x1, #96]
    ldp     x16, x17, [x1, #112]
    add     x1, x1, #128
    add     x0, x0, #256                // x0 runs 256 bytes ahead: the loop ends
                                        // when it is page aligned again (15 turns)
1:
    stp     x2, x3, [x0, #-256]
    ldp     x2, x3, [x1, #0]
    stp     x4, x5, [x0, #-240]
    ldp     x4, x5, [x1, #16]
    stp     x6, x7, [x0, #-224]
    ldp     x6, x7, [x1, #32]
    stp     x8, x9, [x0, #-208]
    ldp     x8, x9, [x1, #48]
    stp     x10, x11, [x0, #-192]
    ldp     x10, x11, [x1, #64]
    stp     x12, x13, [x0, #-176]
    ldp     x12, x13, [x1, #80]
    stp     x14, x15, [x0, #-160]
    ldp     x14, x15, [x1, #96]
    stp     x16, x17, [x0, #-144]
    ldp     x16, x17, [x1, #112]
    stp     x2, x3, [x0, #-128]
    ldp     x2, x3, [x1, #128]
    stp     x4, x5, [x0, #-112]
    ldp     x4, x5, [x1, #144]
    stp     x6, x7, [x0, #-96]
    ldp     x6, x7, [x1, #160]
    stp     x8, x9, [x0, #-80]
    ldp     x8, x9, [x1, #176]
    stp     x10, x11, [x0, #-64]
    ldp     x10, x11, [x1, #192]
    stp     x12, x13, [x0, #-48]
    ldp     x12, x13, [x1, #208]
    stp     x14, x15, [x0, #-32]
    ldp     x14, x15, [x1, #224]
    stp     x16, x17, [x0, #-16]
    ldp     x16, x17, [x1, #240]
    add     x0, x0, #256
    add     x1, x1, #256
    tst     x0, #(4096 - 1)
    b.ne    1b
    stp     x2, x3, [x0, #-256]
    ldp     x2, x3, [x1, #0]
    stp     x4, x5, [x0, #-240]
    ldp     x4, x5, [x1, #16]
    stp     x6, x7, [x0, #-224]
    ldp     x6, x7, [x1, #32]
    stp     x8, x9, [x0, #-208]
    ldp     x8, x9, [x1, #48]
    stp     x10, x11, [x0, #-192]
    ldp     x10, x11, [x1, #64]
    stp     x12, x13, [x0, #-176]
    ldp     x12, x13, [x1, #80]
    stp     x14, x15, [x0, #-160]
    ldp     x14, x15, [x1, #96]
    stp     x16, x17, [x0, #-144]
    ldp     x16, x17, [x1, #112]
    stp     x2, x3, [x0, #-128]
    stp     x4, x5, [x0, #-112]
    stp     x6, x7, [x0, #-96]
    stp     x8, x9, [x0, #-80]
    stp     x10, x11, [x0, #-64]
    stp     x12, x13, [x0, #-48]
    stp     x14, x15, [x0, #-32]
    stp     x16, x17, [x0, #-16]
    ret
.size copy_page, . - copy_page

// void clear_page(void *dst): page aligned, 4096 bytes.
// DC ZVA zeroes a whole block (DCZID_EL0.BS: 4 << BS bytes, 64 on cortex-a72) per
// instruction when DCZID_EL0.DZP allows it. It takes no offset, so each block costs a
// `dc zva` and an `add`: 16 blocks per turn, about 140 instructions a page. Blocks larger
// than 256 bytes (not on QEMU's cores) take one per turn; without DC ZVA, stp xzr.
.global clear_page
.type clear_page, %function
clear_page:
    mrs     x1, dczid_el0
    tbnz    x1, #4, 4f                  // DZP: DC ZVA prohibited
    and     w1, w1, #0xf
    mov     x2, #4
    lsl     x1, x2, x1                  // block size in bytes
    add     x2, x0, #4096               // end
    cmp     x1, #256
    b.hi    2f
1:
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    dc      zva, x0
    add     x0, x0, x1
    cmp     x0, x2
    b.lo    1b
    ret
2:  dc      zva, x0                     // large blocks: one per turn
    add     x0, x0, x1
    cmp     x0, x2
    b.lo    2b
    ret
4:  mov     x2, #4096
5:  stp     xzr, xzr, [x0]
    stp     xzr, xzr, [x0, #16]
    stp     xzr, xzr, [x0, #32]
    stp     xzr, xzr, [x0, #48]
    add     x0, x0, #64
    subs    x2, x2, #64
    b.ne    5b
    ret
.size clear_page, . - clear_page
