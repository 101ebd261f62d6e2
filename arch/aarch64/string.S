// string.S — memcpy and memset for the kernel (Linux: arch/arm64/lib/memcpy.S, memset.S).
//
// The kernel is built soft-float, so the compiler's own memcpy/memset (compiler_builtins)
// move 8 bytes at a time through a generic loop; fork copies and clears whole task
// structures, where that showed up as ~2,500 instructions. These move 64 bytes per turn
// with ldp/stp of x registers (never FP/SIMD registers). Unaligned addresses are fine:
// SCTLR_EL1.A is 0 and all kernel memory these touch is Normal memory (MMIO goes through
// volatile register accesses, never memcpy).

.section .text, "ax"

// void *memcpy(void *dst, const void *src, size_t n): the areas do not overlap.
.global memcpy
.type memcpy, %function
memcpy:
    mov     x3, x0                      // x0 is the return value
1:  cmp     x2, #64
    b.lo    2f
    ldp     x4, x5, [x1]
    ldp     x6, x7, [x1, #16]
    ldp     x8, x9, [x1, #32]
    ldp     x10, x11, [x1, #48]
    add     x1, x1, #64
    sub     x2, x2, #64
    stp     x4, x5, [x3]
    stp     x6, x7, [x3, #16]
    stp     x8, x9, [x3, #32]
    stp     x10, x11, [x3, #48]
    add     x3, x3, #64
    b       1b
2:  cmp     x2, #16                     // 16 bytes at a time
    b.lo    3f
    ldp     x4, x5, [x1], #16
    sub     x2, x2, #16
    stp     x4, x5, [x3], #16
    b       2b
3:  tbz     x2, #3, 4f                  // the tail: 8, 4, 2, 1 bytes
    ldr     x4, [x1], #8
    str     x4, [x3], #8
4:  tbz     x2, #2, 5f
    ldr     w4, [x1], #4
    str     w4, [x3], #4
5:  tbz     x2, #1, 6f
    ldrh    w4, [x1], #2
    strh    w4, [x3], #2
6:  tbz     x2, #0, 7f
    ldrb    w4, [x1]
    strb    w4, [x3]
7:  ret
.size memcpy, . - memcpy

// void *memset(void *dst, int c, size_t n)
.global memset
.type memset, %function
memset:
    mov     x3, x0
    and     w1, w1, #0xff               // the byte, repeated 8 times in x1
    orr     w1, w1, w1, lsl #8
    orr     w1, w1, w1, lsl #16
    orr     x1, x1, x1, lsl #32
1:  cmp     x2, #64
    b.lo    2f
    stp     x1, x1, [x3]
    stp     x1, x1, [x3, #16]
    stp     x1, x1, [x3, #32]
    stp     x1, x1, [x3, #48]
    add     x3, x3, #64
    sub     x2, x2, #64
    b       1b
2:  cmp     x2, #16
    b.lo    3f
    stp     x1, x1, [x3], #16
    sub     x2, x2, #16
    b       2b
3:  tbz     x2, #3, 4f
    str     x1, [x3], #8
4:  tbz     x2, #2, 5f
    str     w1, [x3], #4
5:  tbz     x2, #1, 6f
    strh    w1, [x3], #2
6:  tbz     x2, #0, 7f
    strb    w1, [x3]
7:  ret
.size memset, . - memset
