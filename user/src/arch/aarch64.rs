//! The user side of the system call ABI: `svc #0` with the number in x8, arguments in
//! x0-x5, result in x0 (Linux AArch64). And `_start`, which passes the initial stack
//! pointer (argc, argv, envp, auxv) to Rust.

use core::arch::{asm, global_asm};

global_asm!(
    ".section .text._start, \"ax\"",
    ".global _start",
    "_start:",
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
