//! User FP/SIMD state: v0-v31, FPSR and FPCR (Linux: arch/arm64/kernel/fpsimd.c,
//! entry-fpsimd.S; the design is explained in docs/fpsimd.md).
//!
//! The kernel is built for a soft-float target, so no kernel instruction touches these
//! registers: while a thread is in the kernel (system call, fault, interrupt) its FP/SIMD
//! values simply stay in the CPU. They only have to move when the CPU changes threads:
//!
//! * switch-out (`fpsimd_thread_switch`): if the registers hold prev's state, save them
//!   into prev's ThreadStruct (eager save);
//! * return to user (`fpsimd_restore_current_state`): if the registers do not hold the
//!   current thread's state (Linux's TIF_FOREIGN_FPSTATE), load it (lazy restore). A
//!   thread that sleeps and comes back to a CPU nobody else used for FP skips the load.
//!
//! Which thread's state a CPU holds is recorded per CPU (`fpsimd_last_state`) and per
//! thread (`fpsimd_cpu`); both must agree, as in Linux, so a stale copy is never reused.
//! The only instructions naming FP/SIMD registers are in `fpsimd_save_state` and
//! `fpsimd_load_state` below; `make test` disassembles the kernel to check that.

use core::arch::global_asm;
use core::mem::offset_of;

use super::context::ThreadStruct;
use super::percpu;

/// "No CPU holds this thread's FP/SIMD state."
pub const NO_CPU: u32 = u32::MAX;

/// Linux `struct user_fpsimd_state` (arch/arm64/include/uapi/asm/ptrace.h): 528 bytes,
/// the layout signal frames and ptrace use too.
#[repr(C, align(16))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FpState {
    pub vregs: [u128; 32],
    pub fpsr: u32,
    /// 0 after execve: round to nearest, no flush-to-zero, default NaN off.
    pub fpcr: u32,
    pub _reserved: [u32; 2],
}

const _: () = assert!(core::mem::size_of::<FpState>() == 528);

global_asm!(
    // The kernel's target has no FP/SIMD; this block alone may name those registers.
    ".arch_extension fp",
    ".arch_extension simd",
    ".section .text, \"ax\"",
    // void fpsimd_save_state(struct FpState *st)  (Linux: fpsimd_save macro)
    ".global fpsimd_save_state",
    ".type fpsimd_save_state, %function",
    "fpsimd_save_state:",
    "    stp q0, q1, [x0, #32 * 0]",
    "    stp q2, q3, [x0, #32 * 1]",
    "    stp q4, q5, [x0, #32 * 2]",
    "    stp q6, q7, [x0, #32 * 3]",
    "    stp q8, q9, [x0, #32 * 4]",
    "    stp q10, q11, [x0, #32 * 5]",
    "    stp q12, q13, [x0, #32 * 6]",
    "    stp q14, q15, [x0, #32 * 7]",
    "    stp q16, q17, [x0, #32 * 8]",
    "    stp q18, q19, [x0, #32 * 9]",
    "    stp q20, q21, [x0, #32 * 10]",
    "    stp q22, q23, [x0, #32 * 11]",
    "    stp q24, q25, [x0, #32 * 12]",
    "    stp q26, q27, [x0, #32 * 13]",
    "    stp q28, q29, [x0, #32 * 14]",
    "    stp q30, q31, [x0, #32 * 15]",
    "    mrs x1, fpsr",
    "    mrs x2, fpcr",
    "    str w1, [x0, #{fpsr}]",
    "    str w2, [x0, #{fpcr}]",
    "    ret",
    ".size fpsimd_save_state, . - fpsimd_save_state",
    // void fpsimd_load_state(const struct FpState *st)  (Linux: fpsimd_restore macro)
    ".global fpsimd_load_state",
    ".type fpsimd_load_state, %function",
    "fpsimd_load_state:",
    "    ldp q0, q1, [x0, #32 * 0]",
    "    ldp q2, q3, [x0, #32 * 1]",
    "    ldp q4, q5, [x0, #32 * 2]",
    "    ldp q6, q7, [x0, #32 * 3]",
    "    ldp q8, q9, [x0, #32 * 4]",
    "    ldp q10, q11, [x0, #32 * 5]",
    "    ldp q12, q13, [x0, #32 * 6]",
    "    ldp q14, q15, [x0, #32 * 7]",
    "    ldp q16, q17, [x0, #32 * 8]",
    "    ldp q18, q19, [x0, #32 * 9]",
    "    ldp q20, q21, [x0, #32 * 10]",
    "    ldp q22, q23, [x0, #32 * 11]",
    "    ldp q24, q25, [x0, #32 * 12]",
    "    ldp q26, q27, [x0, #32 * 13]",
    "    ldp q28, q29, [x0, #32 * 14]",
    "    ldp q30, q31, [x0, #32 * 15]",
    "    ldr w1, [x0, #{fpsr}]",
    "    ldr w2, [x0, #{fpcr}]",
    "    msr fpsr, x1",
    // Writing FPCR may be self-synchronising (slow): skip it when unchanged, as Linux.
    "    mrs x3, fpcr",
    "    cmp x2, x3",
    "    b.eq 1f",
    "    msr fpcr, x2",
    "1:  ret",
    ".size fpsimd_load_state, . - fpsimd_load_state",
    fpsr = const offset_of!(FpState, fpsr),
    fpcr = const offset_of!(FpState, fpcr),
);

unsafe extern "C" {
    fn fpsimd_save_state(st: *mut FpState);
    fn fpsimd_load_state(st: *const FpState);
}

/// Saves the CPU's registers into `t` if they hold t's state (Linux `fpsimd_save`).
fn fpsimd_save(t: &mut ThreadStruct) {
    if !t.foreign_fpstate {
        // SAFETY: writes 528 bytes into t's own, 16-byte aligned save area.
        unsafe { fpsimd_save_state(&mut t.fpsimd_state) };
    }
}

/// Called by `switch_to` before the stacks change (Linux `fpsimd_thread_switch`). Never
/// inlined: a breakpoint target in gdb (ci/gdb-fpsimd-check.py `finish`es out of it to
/// read the save area; inlined into `schedule`, gdb's `finish` left before the save ran).
#[inline(never)]
pub fn fpsimd_thread_switch(prev: &mut ThreadStruct, next: &mut ThreadStruct) {
    fpsimd_save(prev);
    let cpu = percpu::this_cpu();
    let still_loaded =
        core::ptr::eq(cpu.fpsimd_last_state(), &next.fpsimd_state) && next.fpsimd_cpu == cpu.id;
    next.foreign_fpstate = !still_loaded;
    if !still_loaded {
        cpu.set_exit_work(percpu::TIF_FOREIGN_FPSTATE); // load on the way out
    }
}

/// Called on the way back to user mode (Linux `fpsimd_restore_current_state`): makes the
/// CPU's registers hold the current thread's state. Usually they already do.
#[inline]
pub fn fpsimd_restore_current_state() {
    let cpu = percpu::this_cpu();
    // SAFETY: the current thread's ThreadStruct is touched only by the CPU running it.
    let cur = unsafe { &mut *cpu.current_thread() };
    if cur.foreign_fpstate {
        fpsimd_bind_and_load(cur, cpu);
    }
}

/// Loads `cur`'s saved state into this CPU's registers and records that they hold it.
#[inline(never)]
fn fpsimd_bind_and_load(cur: &mut ThreadStruct, cpu: &percpu::PerCpu) {
    // SAFETY: reads 528 bytes from the thread's own save area.
    unsafe { fpsimd_load_state(&cur.fpsimd_state) };
    cpu.set_fpsimd_last_state(&cur.fpsimd_state);
    cur.fpsimd_cpu = cpu.id;
    cur.foreign_fpstate = false;
}

/// Makes `t`'s save area current (Linux `fpsimd_preserve_current_state`): fork copies it.
pub fn fpsimd_preserve_current_state(t: &mut ThreadStruct) {
    fpsimd_save(t);
}

/// The calling thread's user FP/SIMD registers as the bytes of `struct
/// user_fpsimd_state` (a core dump's NT_FPREGSET): saved first if the CPU holds them.
pub fn user_fpsimd_state(t: &mut ThreadStruct) -> [u8; 528] {
    fpsimd_preserve_current_state(t);
    let st = &t.fpsimd_state;
    let mut b = [0u8; 528];
    for (i, v) in st.vregs.iter().enumerate() {
        b[i * 16..i * 16 + 16].copy_from_slice(&v.to_le_bytes());
    }
    b[512..516].copy_from_slice(&st.fpsr.to_le_bytes());
    b[516..520].copy_from_slice(&st.fpcr.to_le_bytes());
    b
}

/// fork/clone: the child starts with exactly the parent's registers at the svc (Linux
/// `arch_dup_task_struct`), and must load them before it first returns to user mode.
pub fn copy_fpsimd_state(child: &mut ThreadStruct, parent: &mut ThreadStruct) {
    fpsimd_preserve_current_state(parent);
    child.fpsimd_state = parent.fpsimd_state;
    child.fpsimd_cpu = NO_CPU;
    child.foreign_fpstate = true;
}

/// rt_sigreturn (Linux `restore_fpsimd_context` → `fpsimd_update_current_state`): the
/// frame's FP/SIMD state becomes the thread's, loaded on the way back to user mode.
pub fn fpsimd_set_current_state(t: &mut ThreadStruct, st: &FpState) {
    // Said to be a copy between distinct objects, so that it is our memcpy
    // (arch/aarch64/string.S): a plain assignment here compiled to compiler_builtins'
    // slower memmove.
    // SAFETY: `st` is a shared borrow and `t` a unique one: they cannot overlap, and
    // both are valid, aligned FpStates.
    unsafe { core::ptr::copy_nonoverlapping(st, &mut t.fpsimd_state, 1) };
    t.fpsimd_cpu = NO_CPU;
    t.foreign_fpstate = true;
    percpu::this_cpu().set_exit_work(percpu::TIF_FOREIGN_FPSTATE); // t runs here
}

/// execve (Linux `fpsimd_flush_thread`): the new program starts with all registers zero
/// and the default FPCR; the next return to user mode loads that.
pub fn fpsimd_flush_thread(t: &mut ThreadStruct) {
    t.fpsimd_state = FpState::default();
    t.fpsimd_cpu = NO_CPU;
    t.foreign_fpstate = true;
    percpu::this_cpu().set_exit_work(percpu::TIF_FOREIGN_FPSTATE); // t runs here
}
