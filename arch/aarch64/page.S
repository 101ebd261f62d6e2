// page.S — copying and clearing whole 4 KiB pages (Linux: arch/arm64/lib/copy_page.S,
// clear_page.S). The compiler's memcpy/memset for a bare-metal target moves 8 bytes per
// step; with 128-bit q registers a page takes 32 iterations. The COW fault (copy) and
// every table or demand-zero frame (clear) go through here.

.section .text, "ax"

// void copy_page(void *dst, const void *src): both page aligned, 4096 bytes.
.global copy_page
copy_page:
    mov     x2, #4096
1:  ldp     q0, q1, [x1]
    ldp     q2, q3, [x1, #32]
    ldp     q4, q5, [x1, #64]
    ldp     q6, q7, [x1, #96]
    add     x1, x1, #128
    stp     q0, q1, [x0]
    stp     q2, q3, [x0, #32]
    stp     q4, q5, [x0, #64]
    stp     q6, q7, [x0, #96]
    add     x0, x0, #128
    subs    x2, x2, #128
    b.ne    1b
    ret

// void clear_page(void *dst): page aligned, 4096 bytes.
.global clear_page
clear_page:
    movi    v0.2d, #0
    mov     x2, #4096
1:  stp     q0, q0, [x0]
    stp     q0, q0, [x0, #32]
    stp     q0, q0, [x0, #64]
    stp     q0, q0, [x0, #96]
    add     x0, x0, #128
    subs    x2, x2, #128
    b.ne    1b
    ret
