// uaccess.S — the only code that touches user memory (Linux: arch/arm64/lib/copy_*_user.S,
// copy_template.S).
//
// Loads and stores of user memory use the unprivileged forms (ldtr/sttr, ldtrb/sttrb), so
// the MMU checks the *user's* permissions: a pointer into kernel memory faults even though
// we run at EL1 (Linux does the same since 5.11: `user_ldp` is two ldtr). Each access that
// may fault has an entry in __ex_table (faulting pc -> fixup pc). The EL1 data-abort
// handler first tries to resolve the fault as a user page fault (demand-zero page, or a
// copy-on-write break: EC 0x25 with WnR=1) and retries the instruction; if that is
// impossible it resumes at the fixup.
//
// Why it is fast: the bulk of a copy moves 128 bytes a turn — sixteen 8-byte ldtr/sttr on
// the user side, eight ldp/stp on the kernel side, four instructions of loop — about 0.22
// instructions a byte, where a byte loop takes 5. Unaligned addresses are fine (SCTLR_EL1.A
// is 0, user memory is Normal memory); an 8-byte access may straddle two pages, and the
// fault handler resolves whichever of the two faulted (FAR names it).
//
// Why it is still precise: the pointers and the count move only at the end of a turn, so
// when an access of the bulk (or 8-byte) loop cannot be resolved, its fixup restarts the
// same turn in the byte loop. The byte loop copies again the bytes the turn had already
// moved (the same values: harmless) and stops at exactly the first byte that faults; its
// fixup returns the number of bytes NOT copied, and the caller turns that into -EFAULT.
// (Linux returns a count that may be short of what was copied; this one is exact.)

.macro _asm_extable insn, fixup
    .pushsection __ex_table, "a"
    .balign 8
    .quad   \insn, \fixup
    .popsection
.endm

// A user load (ldtr) at [\base, #\off] with its exception-table entry.
.macro uld reg, base, off, fixup
8888:
    ldtr    \reg, [\base, #\off]
    _asm_extable 8888b, \fixup
.endm

// A user store (sttr) at [\base, #\off] with its exception-table entry.
.macro ust reg, base, off, fixup
8888:
    sttr    \reg, [\base, #\off]
    _asm_extable 8888b, \fixup
.endm

.section .text, "ax"

// usize __arch_copy_from_user(void *to, const void __user *from, usize n)
// x0 = kernel destination, x1 = user source, x2 = bytes left. Returns 0, or the bytes
// not copied.
.global __arch_copy_from_user
.type __arch_copy_from_user, %function
__arch_copy_from_user:
    subs    x2, x2, #128                // x2 runs 128 below the count in the bulk loop
    b.lo    2f
1:  .irp off, 0, 16, 32, 48, 64, 80, 96, 112
    uld     x3, x1, \off, 7f
    uld     x4, x1, (\off + 8), 7f
    stp     x3, x4, [x0, #\off]
    .endr
    add     x1, x1, #128
    add     x0, x0, #128
    subs    x2, x2, #128
    b.hs    1b
2:  adds    x2, x2, #(128 - 8)          // 8 bytes at a time (x2 runs 8 below)
    b.lo    4f
3:  uld     x3, x1, 0, 8f
    str     x3, [x0], #8
    add     x1, x1, #8
    subs    x2, x2, #8
    b.hs    3b
4:  adds    x2, x2, #8                  // the last 0..7 bytes, one at a time
    b.eq    6f
5:  ldtrb   w3, [x1]                    // the byte loop: exact to the byte
    _asm_extable 5b, 9f
    strb    w3, [x0], #1
    add     x1, x1, #1
    subs    x2, x2, #1
    b.ne    5b
6:  mov     x0, #0
    ret
7:  add     x2, x2, #(128 - 8)          // a bulk turn faulted: x2 back to the true count
8:  add     x2, x2, #8                  // an 8-byte load faulted
    b       5b                          // redo the turn byte by byte (x2 > 0 here)
9:  mov     x0, x2                      // the byte at x1 cannot be read: x2 not copied
    ret
.size __arch_copy_from_user, . - __arch_copy_from_user

// usize __arch_copy_to_user(void __user *to, const void *from, usize n)
// x0 = user destination, x1 = kernel source, x2 = bytes left. Returns 0, or the bytes
// not copied.
.global __arch_copy_to_user
.type __arch_copy_to_user, %function
__arch_copy_to_user:
    subs    x2, x2, #128
    b.lo    2f
1:  .irp off, 0, 16, 32, 48, 64, 80, 96, 112
    ldp     x3, x4, [x1, #\off]
    ust     x3, x0, \off, 7f
    ust     x4, x0, (\off + 8), 7f
    .endr
    add     x1, x1, #128
    add     x0, x0, #128
    subs    x2, x2, #128
    b.hs    1b
2:  adds    x2, x2, #(128 - 8)
    b.lo    4f
3:  ldr     x3, [x1]
    ust     x3, x0, 0, 8f
    add     x0, x0, #8
    add     x1, x1, #8
    subs    x2, x2, #8
    b.hs    3b
4:  adds    x2, x2, #8
    b.eq    6f
5:  ldrb    w3, [x1]
10: sttrb   w3, [x0]
    _asm_extable 10b, 9f
    add     x0, x0, #1
    add     x1, x1, #1
    subs    x2, x2, #1
    b.ne    5b
6:  mov     x0, #0
    ret
7:  add     x2, x2, #(128 - 8)
8:  add     x2, x2, #8
    b       5b
9:  mov     x0, x2
    ret
.size __arch_copy_to_user, . - __arch_copy_to_user
