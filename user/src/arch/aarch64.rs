//! The user side of the system call ABI: `svc #0` with the number in x8, arguments in
//! x0-x5, result in x0 (Linux AArch64). And `_start`, which records the FP/SIMD registers
//! the program started with (see `initial_fp_state`) and passes the initial stack pointer
//! (argc, argv, envp, auxv) to Rust.

use core::arch::{asm, global_asm};

use crate::fp::FpState;

global_asm!(
    ".section .text._start, \"ax\"",
    ".global _start",
    "_start:",
    // Before any other instruction can touch them: V0-V31, FPSR, FPCR as execve left them.
    "    adrp x9, __ulib_initial_fp",
    "    add x9, x9, :lo12:__ulib_initial_fp",
    "    stp q0, q1, [x9, #0]",
    "    stp q2, q3, [x9, #32]",
    "    stp q4, q5, [x9, #64]",
    "    stp q6, q7, [x9, #96]",
    "    stp q8, q9, [x9, #128]",
    "    stp q10, q11, [x9, #160]",
    "    stp q12, q13, [x9, #192]",
    "    stp q14, q15, [x9, #224]",
    "    stp q16, q17, [x9, #256]",
    "    stp q18, q19, [x9, #288]",
    "    stp q20, q21, [x9, #320]",
    "    stp q22, q23, [x9, #352]",
    "    stp q24, q25, [x9, #384]",
    "    stp q26, q27, [x9, #416]",
    "    stp q28, q29, [x9, #448]",
    "    stp q30, q31, [x9, #480]",
    "    mrs x10, fpsr",
    "    str w10, [x9, #512]",
    "    mrs x10, fpcr",
    "    str w10, [x9, #516]",
    "    mov x29, xzr",
    "    mov x30, xzr",
    "    mov x0, sp",
    "    bl __ulib_start",
    "    b .",
);

#[inline(always)]
pub fn syscall6(n: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: a Linux system call; the kernel preserves every register except x0.
    unsafe {
        asm!("svc #0", in("x8") n, inlateout("x0") a[0] => ret, in("x1") a[1], in("x2") a[2],
             in("x3") a[3], in("x4") a[4], in("x5") a[5], options(nostack));
    }
    ret
}

/// Reads TPIDR_EL0 (the thread pointer CLONE_SETTLS sets).
pub fn thread_pointer() -> usize {
    let v: usize;
    // SAFETY: reading TPIDR_EL0 is always allowed at EL0.
    unsafe { asm!("mrs {}, tpidr_el0", out(reg) v) };
    v
}

/// Starts a thread with clone(2) on `stack`; the child runs `f(arg)` and then exit(2)s.
pub fn clone_thread(
    flags: usize,
    stack_top: usize,
    ptid: usize,
    tls: usize,
    ctid: usize,
    f: extern "C" fn(usize) -> i32,
    arg: usize,
) -> isize {
    spawn_on_new_stack(220, [flags, stack_top, ptid, tls, ctid], f, arg)
}

/// clone3(args, size) whose child runs `f(arg)` on the stack given in `args`, then exits.
pub fn clone3_fn(args: usize, size: usize, f: extern "C" fn(usize) -> i32, arg: usize) -> isize {
    spawn_on_new_stack(435, [args, size, 0, 0, 0], f, arg)
}

/// System call `nr` (clone or clone3) whose child calls `f(arg)` and exits with its result.
/// It must be assembly: after the svc the child runs on a new stack with no Rust frame to
/// return to, so it must not return from this function.
fn spawn_on_new_stack(
    nr: usize,
    a: [usize; 5],
    f: extern "C" fn(usize) -> i32,
    arg: usize,
) -> isize {
    let ret: isize;
    // SAFETY: the child half never returns into this function: it calls f and exits; the
    // parent half is an ordinary system call.
    unsafe {
        asm!(
            "svc #0",
            "cbnz x0, 1f",
            "mov x0, x10",
            "blr x9",
            "mov x8, #93",      // exit(f's return value)
            "svc #0",
            "1:",
            in("x8") nr, inlateout("x0") a[0] => ret, in("x1") a[1], in("x2") a[2],
            in("x3") a[3], in("x4") a[4], in("x9") f as usize, in("x10") arg,
            lateout("x30") _, options(nostack)
        );
    }
    ret
}

/// The FP/SIMD registers at the program's first instruction (stored by `_start`).
#[unsafe(no_mangle)]
static mut __ulib_initial_fp: FpState = FpState::ZERO;

/// V0-V31, FPSR and FPCR as they were at `_start`: what execve gave this program.
pub fn initial_fp_state() -> FpState {
    // SAFETY: written once by `_start` before any Rust code runs, read-only afterwards.
    unsafe { (&raw const __ulib_initial_fp).read() }
}

// __ulib_fp_probe(load, store, action, arg) -> action's result
//
// Loads V0-V31, FPSR and FPCR from `load`, calls `action(arg, store)`, stores V0-V31, FPSR
// and FPCR to the pointer the action returns, then sets FPCR and FPSR to 0 for the Rust
// code that follows. Nothing but the action runs between the load and the store, so any
// difference is the kernel's doing. An action is assembly that follows this contract:
//   in:  x0 = arg, x1 = store;  may clobber x0-x17 (never V registers, FPSR, FPCR);
//        preserves x19-x28, sp and x30 (it is called with blr and returns with ret)
//   out: x0 = where to store, x1 = result for Rust, x2 = 1 if this is a new thread on its
//        own stack that must exit after storing (it inverts V0-V31, yields, and exits)
global_asm!(
    ".section .text.__ulib_fp_probe, \"ax\"",
    ".global __ulib_fp_probe",
    "__ulib_fp_probe:",
    "    stp x29, x30, [sp, #-32]!",
    "    mov x29, sp",
    "    stp x19, x20, [sp, #16]",
    "    mov x19, x1",
    "    mov x20, x2",
    "    ldp q0, q1, [x0, #0]",
    "    ldp q2, q3, [x0, #32]",
    "    ldp q4, q5, [x0, #64]",
    "    ldp q6, q7, [x0, #96]",
    "    ldp q8, q9, [x0, #128]",
    "    ldp q10, q11, [x0, #160]",
    "    ldp q12, q13, [x0, #192]",
    "    ldp q14, q15, [x0, #224]",
    "    ldp q16, q17, [x0, #256]",
    "    ldp q18, q19, [x0, #288]",
    "    ldp q20, q21, [x0, #320]",
    "    ldp q22, q23, [x0, #352]",
    "    ldp q24, q25, [x0, #384]",
    "    ldp q26, q27, [x0, #416]",
    "    ldp q28, q29, [x0, #448]",
    "    ldp q30, q31, [x0, #480]",
    "    ldr w9, [x0, #512]",
    "    msr fpsr, x9",
    "    ldr w9, [x0, #516]",
    "    msr fpcr, x9",
    "    isb",
    "    mov x0, x3",
    "    mov x1, x19",
    "    blr x20",
    "    stp q0, q1, [x0, #0]",
    "    stp q2, q3, [x0, #32]",
    "    stp q4, q5, [x0, #64]",
    "    stp q6, q7, [x0, #96]",
    "    stp q8, q9, [x0, #128]",
    "    stp q10, q11, [x0, #160]",
    "    stp q12, q13, [x0, #192]",
    "    stp q14, q15, [x0, #224]",
    "    stp q16, q17, [x0, #256]",
    "    stp q18, q19, [x0, #288]",
    "    stp q20, q21, [x0, #320]",
    "    stp q22, q23, [x0, #352]",
    "    stp q24, q25, [x0, #384]",
    "    stp q26, q27, [x0, #416]",
    "    stp q28, q29, [x0, #448]",
    "    stp q30, q31, [x0, #480]",
    "    mrs x9, fpsr",
    "    str w9, [x0, #512]",
    "    mrs x9, fpcr",
    "    str w9, [x0, #516]",
    "    msr fpcr, xzr",
    "    msr fpsr, xzr",
    "    isb",
    "    cbnz x2, 1f",
    "    mov x0, x1",
    "    ldp x19, x20, [sp, #16]",
    "    ldp x29, x30, [sp], #32",
    "    ret",
    // A thread started by the action, on a stack with no frame of ours: make its V
    // registers differ from the parent's (so a kernel that let them leak is caught), give
    // the CPU away once with those values live, and exit(0).
    "1:  not v0.16b, v0.16b",
    "    not v1.16b, v1.16b",
    "    not v2.16b, v2.16b",
    "    not v3.16b, v3.16b",
    "    not v4.16b, v4.16b",
    "    not v5.16b, v5.16b",
    "    not v6.16b, v6.16b",
    "    not v7.16b, v7.16b",
    "    not v8.16b, v8.16b",
    "    not v9.16b, v9.16b",
    "    not v10.16b, v10.16b",
    "    not v11.16b, v11.16b",
    "    not v12.16b, v12.16b",
    "    not v13.16b, v13.16b",
    "    not v14.16b, v14.16b",
    "    not v15.16b, v15.16b",
    "    not v16.16b, v16.16b",
    "    not v17.16b, v17.16b",
    "    not v18.16b, v18.16b",
    "    not v19.16b, v19.16b",
    "    not v20.16b, v20.16b",
    "    not v21.16b, v21.16b",
    "    not v22.16b, v22.16b",
    "    not v23.16b, v23.16b",
    "    not v24.16b, v24.16b",
    "    not v25.16b, v25.16b",
    "    not v26.16b, v26.16b",
    "    not v27.16b, v27.16b",
    "    not v28.16b, v28.16b",
    "    not v29.16b, v29.16b",
    "    not v30.16b, v30.16b",
    "    not v31.16b, v31.16b",
    "    mov x8, #124", // sched_yield
    "    svc #0",
    "    mov x0, #0",
    "    mov x8, #93", // exit(0)
    "    svc #0",
    "    b .",
);

// The actions (see __ulib_fp_probe for their contract).
global_asm!(
    ".section .text.__ulib_fp_actions, \"ax\"",
    // Nothing: the load/store round trip itself.
    ".global __ulib_fp_act_none",
    "__ulib_fp_act_none:",
    "    mov x0, x1",
    "    mov x1, #0",
    "    mov x2, #0",
    "    ret",
    // One system call: arg -> [nr, a0, a1, a2, a3, a4, a5]; result: its x0.
    ".global __ulib_fp_act_syscall",
    "__ulib_fp_act_syscall:",
    "    mov x9, x0",
    "    mov x10, x1",
    "    ldr x8, [x9]",
    "    ldp x0, x1, [x9, #8]",
    "    ldp x2, x3, [x9, #24]",
    "    ldp x4, x5, [x9, #40]",
    "    svc #0",
    "    mov x1, x0",
    "    mov x0, x10",
    "    mov x2, #0",
    "    ret",
    // Page faults: arg -> [addr, pages, read_first]; for each 4 KiB page, an optional load
    // (the first touch of fresh memory is a read) and a store of the page index + 1.
    // Result: the sum of the values read (0 for fresh memory).
    ".global __ulib_fp_act_touch",
    "__ulib_fp_act_touch:",
    "    ldp x11, x12, [x0]",
    "    ldr x13, [x0, #16]",
    "    mov x0, x1",
    "    mov x1, #0",
    "    mov x14, #0",
    "2:  cbz x12, 4f",
    "    cbz x13, 3f",
    "    ldr x15, [x11]",
    "    add x1, x1, x15",
    "3:  add x14, x14, #1",
    "    str x14, [x11]",
    "    add x11, x11, #4096",
    "    sub x12, x12, #1",
    "    b 2b",
    "4:  mov x2, #0",
    "    ret",
    // fork, then the parent waits for the child to exit (the child runs Rust code and
    // loads other values meanwhile). arg -> [child_store, pid (out), status (out)].
    // Result: 0 in the child, wait4's result in the parent.
    ".global __ulib_fp_act_fork",
    "__ulib_fp_act_fork:",
    "    mov x9, x0",
    "    mov x10, x1",
    "    mov x0, #17", // SIGCHLD
    "    mov x1, #0",
    "    mov x2, #0",
    "    mov x3, #0",
    "    mov x4, #0",
    "    mov x8, #220", // clone
    "    svc #0",
    "    cbz x0, 2f",
    "    str x0, [x9, #8]",
    "    add x1, x9, #16",
    "    mov x2, #0",
    "    mov x3, #0",
    "    mov x8, #260", // wait4(pid, &status, 0, NULL)
    "    svc #0",
    "    mov x1, x0",
    "    mov x0, x10",
    "    mov x2, #0",
    "    ret",
    "2:  ldr x0, [x9]",
    "    mov x1, #0",
    "    mov x2, #0",
    "    ret",
    // A thread (musl's pthread_create flags + PARENT_SETTID + CHILD_CLEARTID), then the
    // parent futex-waits until it has exited. arg -> [child_store, stack_top, &tid_word].
    // The thread stores its registers to child_store and exits. Result: the tid.
    ".global __ulib_fp_act_thread",
    "__ulib_fp_act_thread:",
    "    mov x9, x0",
    "    mov x10, x1",
    "    movz x0, #0x0f00",          // VM FS FILES SIGHAND
    "    movk x0, #0x0035, lsl #16", // THREAD SYSVSEM PARENT_SETTID CHILD_CLEARTID
    "    ldr x1, [x9, #8]",
    "    ldr x2, [x9, #16]",
    "    mov x3, #0",
    "    mov x4, x2",
    "    mov x8, #220", // clone
    "    svc #0",
    "    cbz x0, 3f",
    "    mov x11, x0",
    "    ldr x12, [x9, #16]",
    "2:  ldar w2, [x12]",
    "    cbz w2, 4f",
    "    mov x0, x12",
    "    mov x1, #0", // FUTEX_WAIT (shared: the kernel's exit wake is shared)
    "    mov x3, #0",
    "    mov x8, #98", // futex
    "    svc #0",
    "    b 2b",
    "3:  ldr x0, [x9]",
    "    mov x1, #0",
    "    mov x2, #1",
    "    ret",
    "4:  mov x0, x10",
    "    mov x1, x11",
    "    mov x2, #0",
    "    ret",
    // execve(path, argv, envp): arg -> [path, argv, envp]; returns only if it failed.
    ".global __ulib_fp_act_execve",
    "__ulib_fp_act_execve:",
    "    mov x10, x1",
    "    mov x9, x0",
    "    ldp x0, x1, [x9]",
    "    ldr x2, [x9, #16]",
    "    mov x8, #221",
    "    svc #0",
    "    mov x1, x0",
    "    mov x0, x10",
    "    mov x2, #0",
    "    ret",
    // Spin with the registers live until a counter that another process increments has
    // been seen to change `want` times (each change means that process ran while these
    // registers were loaded), or `max_iters` iterations. With `yield` != 0 each iteration
    // also calls sched_yield. arg -> [&counter, want, max_iters, yield, seen (out),
    // iters (out)]. Result: the number of changes seen.
    ".global __ulib_fp_act_spin",
    "__ulib_fp_act_spin:",
    "    mov x9, x0",
    "    mov x10, x1",
    "    ldr x11, [x9]",
    "    ldar x12, [x11]",
    "    mov x13, #0",
    "    mov x14, #0",
    "    ldp x15, x16, [x9, #8]",
    "    ldr x17, [x9, #24]",
    "2:  cbz x17, 3f",
    "    mov x8, #124", // sched_yield
    "    svc #0",
    "3:  add x14, x14, #1",
    "    ldar x0, [x11]",
    "    cmp x0, x12",
    "    b.eq 4f",
    "    mov x12, x0",
    "    add x13, x13, #1",
    "4:  cmp x13, x15",
    "    b.hs 5f",
    "    cmp x14, x16",
    "    b.lo 2b",
    "5:  stp x13, x14, [x9, #32]",
    "    mov x0, x10",
    "    mov x1, x13",
    "    mov x2, #0",
    "    ret",
    // The other process of the preemption test: loop until *stop != 0, each time
    // incrementing a counter, running SIMD and FP instructions in pairs that leave every
    // register as it was (eor twice with the same operand, fneg twice, ext by 8 bytes
    // twice, rev64 twice), and checking all of V0-V31, FPSR and FPCR against the pattern
    // it was loaded with (the `load` of fp_probe); on a difference it counts one and loads
    // the pattern again, so its own values keep going back into the registers.
    // arg -> [&counter, &stop, &pattern, differences (out)]. Result: iterations.
    ".global __ulib_fp_act_noise",
    "__ulib_fp_act_noise:",
    "    mov x9, x0",
    "    mov x10, x1",
    "    ldp x11, x12, [x9]",
    "    ldr x17, [x9, #16]",
    "    mov x1, #0",
    "2:  ldr x13, [x11]",
    "    add x13, x13, #1",
    "    stlr x13, [x11]",
    "    add x1, x1, #1",
    "    eor v0.16b, v0.16b, v31.16b",
    "    fneg v1.2d, v1.2d",
    "    ext v2.16b, v2.16b, v2.16b, #8",
    "    rev64 v3.16b, v3.16b",
    "    eor v16.16b, v16.16b, v15.16b",
    "    fneg v17.4s, v17.4s",
    "    eor v0.16b, v0.16b, v31.16b",
    "    fneg v1.2d, v1.2d",
    "    ext v2.16b, v2.16b, v2.16b, #8",
    "    rev64 v3.16b, v3.16b",
    "    eor v16.16b, v16.16b, v15.16b",
    "    fneg v17.4s, v17.4s",
    ".irp i, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31",
    "    mov x13, v\\i\\().d[0]",
    "    mov x14, v\\i\\().d[1]",
    "    ldp x15, x16, [x17, #(\\i * 16)]",
    "    cmp x13, x15",
    "    ccmp x14, x16, #0, eq",
    "    b.ne 3f",
    ".endr",
    "    mrs x13, fpsr",
    "    ldr w15, [x17, #512]",
    "    cmp x13, x15",
    "    mrs x13, fpcr",
    "    ldr w15, [x17, #516]",
    "    ccmp x13, x15, #0, eq",
    "    b.eq 4f",
    "3:  ldr x13, [x9, #24]",
    "    add x13, x13, #1",
    "    str x13, [x9, #24]",
    "    ldp q0, q1, [x17, #0]",
    "    ldp q2, q3, [x17, #32]",
    "    ldp q4, q5, [x17, #64]",
    "    ldp q6, q7, [x17, #96]",
    "    ldp q8, q9, [x17, #128]",
    "    ldp q10, q11, [x17, #160]",
    "    ldp q12, q13, [x17, #192]",
    "    ldp q14, q15, [x17, #224]",
    "    ldp q16, q17, [x17, #256]",
    "    ldp q18, q19, [x17, #288]",
    "    ldp q20, q21, [x17, #320]",
    "    ldp q22, q23, [x17, #352]",
    "    ldp q24, q25, [x17, #384]",
    "    ldp q26, q27, [x17, #416]",
    "    ldp q28, q29, [x17, #448]",
    "    ldp q30, q31, [x17, #480]",
    "    ldr w13, [x17, #512]",
    "    msr fpsr, x13",
    "    ldr w13, [x17, #516]",
    "    msr fpcr, x13",
    "4:  ldar x14, [x12]",
    "    cbz x14, 2b",
    "    mov x0, x10",
    "    mov x2, #0",
    "    ret",
);

unsafe extern "C" {
    fn __ulib_fp_probe(
        load: *const FpState,
        store: *mut FpState,
        action: usize,
        arg: usize,
    ) -> usize;
    fn __ulib_fp_act_none();
    fn __ulib_fp_act_syscall();
    fn __ulib_fp_act_touch();
    fn __ulib_fp_act_fork();
    fn __ulib_fp_act_thread();
    fn __ulib_fp_act_execve();
    fn __ulib_fp_act_spin();
    fn __ulib_fp_act_noise();
}

/// What runs between loading and storing the FP/SIMD registers in `fp_probe`.
pub enum FpAction<'a> {
    /// Nothing (the round trip alone).
    None,
    /// One system call: [nr, a0..a5]; the result is its return value.
    Syscall(&'a [usize; 7]),
    /// [addr, pages, read_first]: a load (optional) and a store on each page.
    Touch(&'a [usize; 3]),
    /// [child_store, pid out, status out]: fork; the parent waits for the child.
    Fork(&'a mut [usize; 3]),
    /// [child_store, stack_top, &tid_word]: a thread; the parent waits for it to exit.
    Thread(&'a [usize; 3]),
    /// [path, argv, envp]: execve (returns only on failure).
    Execve(&'a [usize; 3]),
    /// [&counter, want, max_iters, yield, seen out, iters out].
    Spin(&'a mut [usize; 6]),
    /// [&counter, &stop, &pattern loaded, differences out].
    Noise(&'a mut [usize; 4]),
}

/// Loads `load` into V0-V31/FPSR/FPCR, runs `action`, and stores the registers into
/// `store` (or, in a fork child, the action's child_store). Returns the action's result.
pub fn fp_probe(load: &FpState, store: &mut FpState, action: FpAction) -> usize {
    let (f, arg): (unsafe extern "C" fn(), usize) = match action {
        FpAction::None => (__ulib_fp_act_none, 0),
        FpAction::Syscall(a) => (__ulib_fp_act_syscall, a.as_ptr() as usize),
        FpAction::Touch(a) => (__ulib_fp_act_touch, a.as_ptr() as usize),
        FpAction::Fork(a) => (__ulib_fp_act_fork, a.as_mut_ptr() as usize),
        FpAction::Thread(a) => (__ulib_fp_act_thread, a.as_ptr() as usize),
        FpAction::Execve(a) => (__ulib_fp_act_execve, a.as_ptr() as usize),
        FpAction::Spin(a) => (__ulib_fp_act_spin, a.as_mut_ptr() as usize),
        FpAction::Noise(a) => (__ulib_fp_act_noise, a.as_mut_ptr() as usize),
    };
    // SAFETY: the probe and the actions follow the contract above; every pointer in `arg`
    // was given by the caller for exactly this use.
    unsafe { __ulib_fp_probe(load, store, f as usize, arg) }
}
