// uaccess.S — the only code that touches user memory (Linux: arch/arm64/lib/copy_*_user.S).
//
// Loads and stores use the unprivileged forms (ldtrb/sttrb), so the MMU checks the *user's*
// permissions: a pointer into kernel memory faults even though we run at EL1. Each access
// that may fault has an entry in __ex_table (faulting pc -> fixup pc). The EL1 data-abort
// handler first tries to resolve the fault as a user page fault (demand-zero page, or a
// copy-on-write break: EC 0x25 with WnR=1); if that is impossible it resumes at the fixup,
// which returns the number of bytes NOT copied, and the caller turns that into -EFAULT.

.macro _asm_extable insn, fixup
    .pushsection __ex_table, "a"
    .balign 8
    .quad   \insn, \fixup
    .popsection
.endm

.section .text, "ax"

// usize __arch_copy_from_user(void *to, const void __user *from, usize n)
.global __arch_copy_from_user
__arch_copy_from_user:
    cbz     x2, 2f
1:  ldtrb   w3, [x1]
    _asm_extable 1b, 9f
    strb    w3, [x0], #1
    add     x1, x1, #1
    subs    x2, x2, #1
    b.ne    1b
2:  mov     x0, #0
    ret
9:  mov     x0, x2
    ret

// usize __arch_copy_to_user(void __user *to, const void *from, usize n)
.global __arch_copy_to_user
__arch_copy_to_user:
    cbz     x2, 2f
1:  ldrb    w3, [x1], #1
3:  sttrb   w3, [x0]
    _asm_extable 3b, 9f
    add     x0, x0, #1
    subs    x2, x2, #1
    b.ne    1b
2:  mov     x0, #0
    ret
9:  mov     x0, x2
    ret
