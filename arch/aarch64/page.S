// page.S — copying and clearing whole 4 KiB pages (Linux: arch/arm64/lib/copy_page.S,
// clear_page.S). Both use only general-purpose registers: the kernel never touches the
// FP/SIMD registers, which hold the interrupted user program's values (docs/fpsimd.md).
// The COW fault (copy) and every table or demand-zero frame (clear) go through here.

.section .text, "ax"

// void copy_page(void *dst, const void *src): both page aligned, 4096 bytes.
// The floor with 16-byte ldp/stp is 256 + 256 instructions; this reaches it with the page
// fully unrolled: eight 512-byte blocks, each sixteen x registers (x2-x17) filled by eight
// ldp and emptied by eight stp four times, then both pointers advance (ldp/stp offsets
// reach only 504 bytes). 512 + 16 + 1 = 529 instructions, no loop to count; the
// software-pipelined loop it replaces (Linux's copy_page shape) took about 575.
.macro copy_128 off
    ldp     x2, x3, [x1, #\off]
    ldp     x4, x5, [x1, #\off + 16]
    ldp     x6, x7, [x1, #\off + 32]
    ldp     x8, x9, [x1, #\off + 48]
    ldp     x10, x11, [x1, #\off + 64]
    ldp     x12, x13, [x1, #\off + 80]
    ldp     x14, x15, [x1, #\off + 96]
    ldp     x16, x17, [x1, #\off + 112]
    stp     x2, x3, [x0, #\off]
    stp     x4, x5, [x0, #\off + 16]
    stp     x6, x7, [x0, #\off + 32]
    stp     x8, x9, [x0, #\off + 48]
    stp     x10, x11, [x0, #\off + 64]
    stp     x12, x13, [x0, #\off + 80]
    stp     x14, x15, [x0, #\off + 96]
    stp     x16, x17, [x0, #\off + 112]
.endm

.global copy_page
.type copy_page, %function
copy_page:
    .rept 7
    copy_128 0
    copy_128 128
    copy_128 256
    copy_128 384
    add     x0, x0, #512
    add     x1, x1, #512
    .endr
    copy_128 0
    copy_128 128
    copy_128 256
    copy_128 384
    ret
.size copy_page, . - copy_page

// void clear_page(void *dst): page aligned, 4096 bytes.
// DC ZVA zeroes a whole block (DCZID_EL0.BS: 4 << BS bytes, 64 on cortex-a72) per
// instruction when DCZID_EL0.DZP allows it. It takes no offset, so each block costs a
// `dc zva` and an `add`: with 64-byte blocks the floor is 64 + 63 instructions, which the
// fully unrolled first path reaches (about 132 a page with the check). Other block sizes
// take the loop (16 blocks a turn; blocks larger than 256 bytes one a turn); without
// DC ZVA, stp xzr.
.global clear_page
.type clear_page, %function
clear_page:
    mrs     x1, dczid_el0
    and     w2, w1, #0x1f               // DZP and BS
    cmp     w2, #4                      // DC ZVA allowed, 64-byte blocks
    b.ne    0f
    .rept 63
    dc      zva, x0
    add     x0, x0, #64
    .endr
    dc      zva, x0
    ret
0:  tbnz    x1, #4, 4f                  // DZP: DC ZVA prohibited
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
