// entry.S — exception vectors, kernel_entry/kernel_exit, ret_to_user, ret_from_fork and
// cpu_switch_to (Linux: arch/arm64/kernel/entry.S).
//
// Every exception saves a full `TrapFrame` (arch/aarch64/context.rs) on the current
// thread's kernel stack: x0-x30, sp_el0, elr_el1 (pc), spsr_el1 (pstate), tpidr_el0. The
// offsets S_X0, S_LR (x30, followed by sp_el0), S_PC (followed by pstate), S_TPIDR and
// S_FRAME_SIZE, and CTX_X19/CTX_FP/CTX_LR of `CpuContext`, are not written here: mod.rs
// defines them from the Rust structs (offset_of!) in front of this file, so the layout
// has one source of truth. The FP/SIMD registers are not saved: the kernel never touches
// them (arch/aarch64/fpsimd.rs switches them between threads).
//
// Call-frame information (the .cfi_* directives; they add no instruction, only the
// .debug_frame table gdb unwinds with). An exception is not a call: the interrupted code
// has no return address in x30, so each entry path says `.cfi_undefined x30` — "no
// caller here" — and a plain gdb's `bt` ends at the exception vector instead of
// re-reading the same lr for ever (Linux's own unwinder stops at the final frame record
// its entry.S leaves in pt_regs: the same boundary, said in DWARF here). gdb/teachos.py
// goes one step further and shows the interrupted frame beneath, read from the saved
// TrapFrame. The linker script drops .eh_frame (nothing unwinds at run time), so the
// table goes to .debug_frame, a debug section that stays in the ELF and out of the Image.
.cfi_sections .debug_frame

// kernel_entry 1 (an exception taken at EL1) first checks that the frame fits on the
// stack (Linux: kernel_ventry with CONFIG_VMAP_STACK). Every kernel stack is 16 KiB in
// the upper half of a 32 KiB-aligned slot whose lower half is an unmapped guard
// (arch/aarch64/memory.rs), so an sp inside a stack has bit THREAD_SHIFT (14) set and
// one that ran into the guard has it clear. Such an sp cannot hold the frame (the first
// stp would fault again, for ever), and there is no free register to test it with: the
// add/sub trick swaps sp and x0 in place. On overflow: switch to this CPU's overflow
// stack and report (__bad_stack). Exceptions from EL0 skip the test: they find the
// kernel stack empty.
.macro kernel_entry, el
    sub     sp, sp, #S_FRAME_SIZE
.if \el == 1
    add     sp, sp, x0                  // sp' = sp + x0
    sub     x0, sp, x0                  // x0' = sp' - x0 = sp
    tbz     x0, #THREAD_SHIFT, 8f       // bit clear: sp is in a guard
    sub     x0, sp, x0                  // x0 = sp' - sp, restored
    sub     sp, sp, x0                  // sp = sp' - x0, restored
    b       9f
    // Either the stack overflowed, or sp is on the overflow stack (an exception while
    // reporting one). Nothing returns from here to the interrupted code, so the EL0
    // thread registers can be clobbered to free x0.
8:  msr     tpidr_el0, x0               // the bad sp (minus the frame)
    sub     x0, sp, x0                  // the original x0
    msr     tpidrro_el0, x0
    mrs     x0, tpidr_el1               // this CPU's PerCpu
    ldr     x0, [x0, #PCPU_OVERFLOW_TOP]
    mov     sp, x0
    mrs     x0, tpidr_el0               // already on the overflow stack?
    sub     x0, sp, x0                  // top - sp
    tst     x0, #~(OVERFLOW_STACK_SIZE - 1)
    b.ne    __bad_stack                 // no: a kernel stack overflowed
    sub     sp, sp, x0                  // yes: carry on there (the report panics anyway)
    mrs     x0, tpidrro_el0
9:
.endif
    stp     x0, x1, [sp, #S_X0 + 16 * 0]
    stp     x2, x3, [sp, #S_X0 + 16 * 1]
    stp     x4, x5, [sp, #S_X0 + 16 * 2]
    stp     x6, x7, [sp, #S_X0 + 16 * 3]
    stp     x8, x9, [sp, #S_X0 + 16 * 4]
    stp     x10, x11, [sp, #S_X0 + 16 * 5]
    stp     x12, x13, [sp, #S_X0 + 16 * 6]
    stp     x14, x15, [sp, #S_X0 + 16 * 7]
    stp     x16, x17, [sp, #S_X0 + 16 * 8]
    stp     x18, x19, [sp, #S_X0 + 16 * 9]
    stp     x20, x21, [sp, #S_X0 + 16 * 10]
    stp     x22, x23, [sp, #S_X0 + 16 * 11]
    stp     x24, x25, [sp, #S_X0 + 16 * 12]
    stp     x26, x27, [sp, #S_X0 + 16 * 13]
    stp     x28, x29, [sp, #S_X0 + 16 * 14]
    mrs     x21, sp_el0
    mrs     x22, elr_el1
    mrs     x23, spsr_el1
    mrs     x24, tpidr_el0
    stp     x30, x21, [sp, #S_LR]
    stp     x22, x23, [sp, #S_PC]
    str     x24, [sp, #S_TPIDR]
    // Linux also stores NO_SYSCALL into S_SYSCALLNO here for every entry from EL0. This
    // kernel leaves it to the handlers: el0_svc stores the number (with orig_x0, in one
    // stp), and every other EL0 handler marks its frame "no system call" first thing
    // (exception.rs) — a system call, the common entry, skips a store it would overwrite.
.endm

.macro kernel_exit
    ldp     x22, x23, [sp, #S_PC]
    ldp     x30, x21, [sp, #S_LR]
    ldr     x24, [sp, #S_TPIDR]
    msr     elr_el1, x22
    msr     spsr_el1, x23
    msr     sp_el0, x21
    msr     tpidr_el0, x24
    ldp     x0, x1, [sp, #S_X0 + 16 * 0]
    ldp     x2, x3, [sp, #S_X0 + 16 * 1]
    ldp     x4, x5, [sp, #S_X0 + 16 * 2]
    ldp     x6, x7, [sp, #S_X0 + 16 * 3]
    ldp     x8, x9, [sp, #S_X0 + 16 * 4]
    ldp     x10, x11, [sp, #S_X0 + 16 * 5]
    ldp     x12, x13, [sp, #S_X0 + 16 * 6]
    ldp     x14, x15, [sp, #S_X0 + 16 * 7]
    ldp     x16, x17, [sp, #S_X0 + 16 * 8]
    ldp     x18, x19, [sp, #S_X0 + 16 * 9]
    ldp     x20, x21, [sp, #S_X0 + 16 * 10]
    ldp     x22, x23, [sp, #S_X0 + 16 * 11]
    ldp     x24, x25, [sp, #S_X0 + 16 * 12]
    ldp     x26, x27, [sp, #S_X0 + 16 * 13]
    ldp     x28, x29, [sp, #S_X0 + 16 * 14]
    add     sp, sp, #S_FRAME_SIZE
    eret
.endm

// One vector slot is 0x80 bytes; each just branches to its handler below.
.macro ventry label
    .balign 0x80
    b       \label
.endm

// An exception the kernel never expects: report it (decoded) and stop.
.macro invalid_entry name, kind
\name:
    .cfi_startproc
    .cfi_undefined x30
    kernel_entry 0
    mov     x0, sp
    mov     x1, #\kind
    bl      bad_mode                    // panics, or kills a user task
    b       ret_to_user
    .cfi_endproc
.endm

.section .text, "ax"
.balign 0x800
.global vectors
vectors:
    ventry  el1t_sync_invalid           // current EL, SP_EL0: never used
    ventry  el1t_irq_invalid
    ventry  el1t_fiq_invalid
    ventry  el1t_error_invalid
    ventry  el1h_sync                   // current EL, SP_ELx: the kernel itself
    ventry  el1h_irq
    ventry  el1h_fiq_invalid
    ventry  el1h_error_invalid
    ventry  el0_sync                    // lower EL, AArch64: user programs
    ventry  el0_irq
    ventry  el0_fiq_invalid
    ventry  el0_error_invalid
    ventry  el0_32_invalid              // lower EL, AArch32: not supported
    ventry  el0_32_invalid
    ventry  el0_32_invalid
    ventry  el0_32_invalid

invalid_entry el1t_sync_invalid, 0
invalid_entry el1t_irq_invalid, 1
invalid_entry el1t_fiq_invalid, 2
invalid_entry el1t_error_invalid, 3
invalid_entry el1h_fiq_invalid, 6
invalid_entry el1h_error_invalid, 7
invalid_entry el0_fiq_invalid, 10
invalid_entry el0_error_invalid, 11
invalid_entry el0_32_invalid, 12

el1h_sync:
    .cfi_startproc
    .cfi_undefined x30             // an exception entry: no caller (see the top)
    kernel_entry 1
    mov     x0, sp
    bl      el1h_sync_handler           // page faults in uaccess, or a kernel bug
    kernel_exit
    .cfi_endproc

el1h_irq:
    .cfi_startproc
    .cfi_undefined x30             // an exception entry: no caller (see the top)
    kernel_entry 1
    mov     x0, sp
    bl      el1h_irq_handler            // only taken while idling in wfi
    kernel_exit
    .cfi_endproc

el0_sync:
    .cfi_startproc
    .cfi_undefined x30             // an exception entry: no caller (see the top)
    kernel_entry 0
    mov     x0, sp
    bl      el0_sync_handler            // svc, page faults, everything else a user does
    b       ret_to_user
    .cfi_endproc

el0_irq:
    .cfi_startproc
    .cfi_undefined x30             // an exception entry: no caller (see the top)
    kernel_entry 0
    mov     x0, sp
    bl      el0_irq_handler             // timer tick: may reschedule
    b       ret_to_user
    .cfi_endproc

// A kernel stack overflowed: kernel_entry 1 switched to this CPU's overflow stack with
// the bad sp in TPIDR_EL0 and x0 in TPIDRRO_EL0. Save the registers there and report
// (Linux __bad_stack, handle_bad_stack).
__bad_stack:
    .cfi_startproc
    .cfi_undefined x30             // an exception entry: no caller (see the top)
    mrs     x0, tpidrro_el0             // x0 as it was at the exception
    kernel_entry 0
    mov     x0, sp                      // the registers at the exception
    mrs     x1, tpidr_el0
    add     x1, x1, #S_FRAME_SIZE       // the stack pointer at the exception
    bl      handle_bad_stack            // panics
    brk     #0x800
    .cfi_endproc

// The one way back to EL0: syscalls, faults, interrupts and new tasks all leave here.
.global ret_to_user
ret_to_user:
    .cfi_startproc
    .cfi_undefined x30             // an exception entry: no caller (see the top)
    mov     x0, sp
    bl      prepare_exit_to_user        // preemption and pending SIGKILL (may not return)
    kernel_exit
    .cfi_endproc

// A new task's first instruction: copy_thread() points its saved lr here, so the first
// cpu_switch_to() into the child "returns" to ret_from_fork on the child's kernel stack,
// whose top holds a copy of the parent's user TrapFrame.
.global ret_from_fork
.type ret_from_fork, %function
ret_from_fork:
    .cfi_startproc
    .cfi_undefined x30             // an exception entry: no caller (see the top)
    bl      schedule_tail               // finish the switch; CLONE_CHILD_SETTID write
    cbz     x19, 1f                     // x19 != 0: a kernel thread, fn in x19, arg in x20
    mov     x0, x20
    blr     x19                         // kernel threads never return
1:  str     xzr, [sp, #S_X0]            // the child's fork()/clone() returns 0
    b       ret_to_user
    .cfi_endproc
.size ret_from_fork, . - ret_from_fork

// cpu_switch_to(prev: *mut CpuContext, next: *const CpuContext)
// Saves the callee-saved registers, sp and lr of the running task into *prev and loads
// those of *next. "Returning" then continues wherever next last called cpu_switch_to
// (or in ret_from_fork for a new task). x0 (prev) is preserved for the caller.
.global cpu_switch_to
.type cpu_switch_to, %function
cpu_switch_to:
    .cfi_startproc                      // a leaf: the default rules (caller's pc in x30)
    mov     x10, sp
    stp     x19, x20, [x0, #CTX_X19 + 16 * 0]
    stp     x21, x22, [x0, #CTX_X19 + 16 * 1]
    stp     x23, x24, [x0, #CTX_X19 + 16 * 2]
    stp     x25, x26, [x0, #CTX_X19 + 16 * 3]
    stp     x27, x28, [x0, #CTX_X19 + 16 * 4]
    stp     x29, x10, [x0, #CTX_FP]     // fp, then the saved sp
    str     x30, [x0, #CTX_LR]
    ldp     x19, x20, [x1, #CTX_X19 + 16 * 0]
    ldp     x21, x22, [x1, #CTX_X19 + 16 * 1]
    ldp     x23, x24, [x1, #CTX_X19 + 16 * 2]
    ldp     x25, x26, [x1, #CTX_X19 + 16 * 3]
    ldp     x27, x28, [x1, #CTX_X19 + 16 * 4]
    ldp     x29, x10, [x1, #CTX_FP]
    ldr     x30, [x1, #CTX_LR]
    mov     sp, x10
    ret
    .cfi_endproc
.size cpu_switch_to, . - cpu_switch_to
