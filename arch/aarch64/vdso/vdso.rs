//! The vDSO ("virtual dynamic shared object", Linux arch/arm64/kernel/vdso/): a small
//! shared library the kernel maps into every process, exporting
//!
//! * `__kernel_rt_sigreturn`: the code a signal handler returns to (Linux sigreturn.S);
//! * `__kernel_clock_gettime`, `__kernel_gettimeofday`, `__kernel_clock_getres`: the time
//!   read at EL0 from the virtual counter and the kernel's data page, with no system call
//!   (Linux vgettimeofday.c over lib/vdso/gettimeofday.c).
//!
//! This is *user* code: it runs at EL0 in the process's address space, so it may only
//! read the counter (CNTKCTL_EL1.EL0VCTEN, set by arch::cpu_init) and its data page, and
//! it falls back to the real system call for anything else. It is compiled on its own
//! (build.rs) for the soft-float target — it never touches FP/SIMD registers, which belong
//! to the program — into position-independent code with no relocations, linked by
//! vdso.lds into an ELF shared object the kernel embeds (arch/aarch64/vdso.rs).
//! See docs/vdso.md.

#![no_std]

use core::arch::{asm, global_asm};

#[path = "../../../src/vdso/vvar.rs"]
#[allow(dead_code)] // the kernel's half (the writer) is unused here
mod vvar;

use vvar::VvarData;

/// Linux system-call numbers (include/uapi/asm-generic/unistd.h) for the fallbacks.
const NR_GETTIMEOFDAY: usize = 169;
const NR_CLOCK_GETTIME: usize = 113;
const NR_CLOCK_GETRES: usize = 114;
const NR_RT_SIGRETURN: usize = 139;

// The signal trampoline: a handler returns here (the kernel put this address in x30),
// and rt_sigreturn(2) restores what the signal interrupted. The `nop` before the label
// is Linux's: unwinders look up the caller's frame at "return address - 1", which must
// still be inside this function's unwind entry. The CFI tells them that this is a
// signal frame and where the interrupted frame record {x29, x30} is.
global_asm!(
    ".text",
    ".balign 4",
    "nop",
    ".globl __kernel_rt_sigreturn",
    ".type __kernel_rt_sigreturn, %function",
    "__kernel_rt_sigreturn:",
    ".cfi_startproc",
    ".cfi_signal_frame",
    ".cfi_def_cfa x29, 0",
    ".cfi_offset x29, 0 * 8",
    ".cfi_offset x30, 1 * 8",
    "mov x8, #{nr}",
    "svc #0",
    ".cfi_endproc",
    ".size __kernel_rt_sigreturn, . - __kernel_rt_sigreturn",
    nr = const NR_RT_SIGRETURN,
);

/// The data page, one page below this image (vdso.lds defines `_vvar`): addressed
/// PC-relatively, so wherever the kernel maps the pair, it is found.
fn vvar() -> &'static VvarData {
    let page: *const VvarData;
    // SAFETY: only computes an address (adrp/add against a link-time symbol).
    unsafe {
        asm!(
            "adrp {0}, _vvar",
            "add {0}, {0}, :lo12:_vvar",
            out(reg) page,
            options(pure, nomem, nostack, preserves_flags),
        );
    }
    // SAFETY: the kernel maps [vvar] readable, initialised and never unmapped while this
    // image is mapped (it maps both together), and only reads are made through it.
    unsafe { &*page }
}

/// The virtual counter (CNTVCT_EL0). The `isb` keeps the read from being executed early,
/// before the instructions that precede it (Linux `__arch_get_hw_counter`): without it a
/// read could return a value older than a time the program already saw.
fn counter() -> u64 {
    let ticks: u64;
    // SAFETY: reading CNTVCT_EL0 is allowed at EL0 (CNTKCTL_EL1.EL0VCTEN).
    unsafe { asm!("isb", "mrs {0}, cntvct_el0", out(reg) ticks, options(nomem, nostack)) };
    ticks
}

/// A system call with two arguments: the fallback for what the vDSO does not handle.
fn syscall2(nr: usize, a0: usize, a1: usize) -> isize {
    let ret: isize;
    // SAFETY: the kernel checks every argument; the calls made here write only to the
    // caller's own buffers.
    unsafe {
        asm!("svc #0", in("x8") nr, inlateout("x0") a0 => ret, in("x1") a1, options(nostack));
    }
    ret
}

/// The time of `clock` in ns, if the vDSO may answer it.
fn clock_ns(clock: i32) -> Option<u64> {
    let snapshot = vvar().read();
    VvarData::clock_ns(&snapshot, clock, counter())
}

/// `struct timespec` and `struct timeval` on arm64: two 64-bit words.
#[repr(C)]
pub struct Timespec {
    sec: i64,
    frac: i64,
}

fn split(ns: u64, unit: u64) -> Timespec {
    Timespec {
        sec: (ns / 1_000_000_000) as i64,
        frac: (ns % 1_000_000_000 / unit) as i64,
    }
}

// clock_gettime(2) (Linux `__kernel_clock_gettime` → `__cvdso_clock_gettime`).
// CLOCK_MONOTONIC, the clock programs time things with, takes this path: the counter
// read, one multiply from the data page, the split into seconds — 13 instructions:
//
//   ns = ticks × (mult + mult_frac / 2⁶⁴)      vvar.rs `ticks_to_ns`, as the kernel's
//   ts = { ns / 10⁹, ns % 10⁹ }                 own clock (arch timer `now_ns`)
//
// Why there is no sequence count here, when Linux's vDSO has one: Linux's page holds a
// base time and the counter value it was taken at, rewritten at every tick, and a
// reader must not combine an old base with a new counter value. This page holds no
// base: the time is a function of the counter alone, and `mult`, `mult_frac` and
// `nsec_per_sec` are written once at boot (vdso::init, before the first exec, so before
// any process can map the page) and never change after — a rewrite of the realtime
// offset stores the same values again. There is nothing to tear. The other clocks go to
// the Rust path below, which reads the page under its sequence count (VvarData::read).
//
// The `isb` keeps the counter read from being executed before the instructions in front
// of it (Linux `__arch_get_hw_counter`): without it the time could be older than an
// event the program already saw. A bad `ts` faults in the caller (SIGSEGV), as with
// Linux's vDSO.
global_asm!(
    ".text",
    ".balign 4",
    ".globl __kernel_clock_gettime",
    ".type __kernel_clock_gettime, %function",
    "__kernel_clock_gettime:",
    ".cfi_startproc",
    "cmp w0, #{monotonic}",
    "b.ne {other}",
    "adrp x2, _vvar",                          // the data page (page-aligned)
    "ldp x3, x4, [x2, #{mult}]",               // mult, mult_frac
    "ldr x5, [x2, #{nsec_per_sec}]",
    "isb",
    "mrs x6, cntvct_el0",
    "mul x7, x6, x3",
    "umulh x6, x6, x4",
    "add x7, x7, x6",                          // ns since the counter read 0
    "udiv x6, x7, x5",                         // tv_sec
    "msub x7, x6, x5, x7",                     // tv_nsec
    "stp x6, x7, [x1]",
    "mov x0, #0",
    "ret",
    ".cfi_endproc",
    ".size __kernel_clock_gettime, . - __kernel_clock_gettime",
    monotonic = const vvar::CLOCK_MONOTONIC,
    mult = const vvar::VVAR_MULT,
    nsec_per_sec = const vvar::VVAR_NSEC_PER_SEC,
    other = sym clock_gettime_other,
);

// ldp above reads mult and mult_frac as a pair.
const _: () = assert!(vvar::VVAR_MULT_FRAC == vvar::VVAR_MULT + 8);

/// clock_gettime(2) for every clock but CLOCK_MONOTONIC (the assembly above): the page
/// read under its sequence count, or the system call.
///
/// # Safety
/// `ts` must be writable, as for the system call.
unsafe extern "C" fn clock_gettime_other(clock: i32, ts: *mut Timespec) -> isize {
    match clock_ns(clock) {
        // SAFETY: the caller's buffer (see above).
        Some(ns) => unsafe { ts.write(split(ns, 1)) },
        None => return syscall2(NR_CLOCK_GETTIME, clock as usize, ts as usize),
    }
    0
}

/// gettimeofday(2): the wall clock in microseconds; the obsolete timezone is zeros.
///
/// # Safety
/// `tv` and `tz` must be null or writable, as for the system call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __kernel_gettimeofday(tv: *mut Timespec, tz: *mut [i32; 2]) -> isize {
    if !tv.is_null() {
        match clock_ns(vvar::CLOCK_REALTIME) {
            // SAFETY: the caller's buffer.
            Some(ns) => unsafe { tv.write(split(ns, 1000)) },
            None => return syscall2(NR_GETTIMEOFDAY, tv as usize, tz as usize),
        }
    }
    if !tz.is_null() {
        // SAFETY: the caller's buffer.
        unsafe { tz.write([0, 0]) };
    }
    0
}

/// clock_getres(2).
///
/// # Safety
/// `res` must be null or writable, as for the system call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn __kernel_clock_getres(clock: i32, res: *mut Timespec) -> isize {
    match vvar::clock_res_ns(clock) {
        Some(ns) if !res.is_null() => {
            // SAFETY: the caller's buffer.
            unsafe { res.write(split(ns, 1)) }
        }
        Some(_) => {}
        None => return syscall2(NR_CLOCK_GETRES, clock as usize, res as usize),
    }
    0
}
