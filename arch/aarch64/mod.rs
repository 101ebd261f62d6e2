//! The AArch64 arch layer: everything that touches system registers, TLBs or assembly,
//! and every register and descriptor format. Linux's counterpart is arch/arm64/. The
//! assembly files next to this one are pulled in here.
//!
//! The contract with the portable kernel, in both directions:
//! * the kernel calls the functions and types exported here (`TrapFrame` accessors,
//!   `copy_thread`, `start_thread`, `switch_to`, TLB and cache maintenance, the timer,
//!   `copy_{from,to}_user`, `irq_disable`, `exit_qemu`);
//! * exception.rs calls into the kernel only through `crate::trap` (system calls, page
//!   faults, interrupts, the return to user mode) and prints through `crate::println!`.

pub mod cache;
pub mod context;
pub mod exception;
pub mod fpsimd;
pub mod hwcap;
pub mod irqsoff;
pub mod memory;
pub mod mmu;
pub mod percpu;
pub mod pte;
pub mod signal;
pub mod smp;
pub mod timer;

use core::arch::{asm, global_asm};

use aarch64_cpu::registers::{CNTKCTL_EL1, DAIF, ReadWriteable, Readable, SCTLR_EL1, Writeable};

pub use context::{
    CpuContext, ThreadStruct, TrapFrame, copy_thread, copy_thread_kernel, switch_to, trap_frame_at,
};

global_asm!(include_str!("boot.S"), options(raw));
// entry.S with the structure offsets it uses, computed from the Rust types.
global_asm!(
    ".equ S_X0, {S_X0}",
    ".equ S_LR, {S_LR}",
    ".equ S_PC, {S_PC}",
    ".equ S_TPIDR, {S_TPIDR}",
    ".equ S_SYSCALLNO, {S_SYSCALLNO}",
    ".equ S_FRAME_SIZE, {S_FRAME_SIZE}",
    ".equ CTX_X19, {CTX_X19}",
    ".equ CTX_FP, {CTX_FP}",
    ".equ CTX_LR, {CTX_LR}",
    ".equ THREAD_SHIFT, {THREAD_SHIFT}",
    ".equ PCPU_OVERFLOW_TOP, {PCPU_OVERFLOW_TOP}",
    ".equ OVERFLOW_STACK_SIZE, {OVERFLOW_STACK_SIZE}",
    include_str!("entry.S"),
    S_X0 = const context::offsets::S_X0,
    S_LR = const context::offsets::S_LR,
    S_PC = const context::offsets::S_PC,
    S_TPIDR = const context::offsets::S_TPIDR,
    S_SYSCALLNO = const context::offsets::S_SYSCALLNO,
    S_FRAME_SIZE = const context::offsets::S_FRAME_SIZE,
    CTX_X19 = const context::offsets::CTX_X19,
    CTX_FP = const context::offsets::CTX_FP,
    CTX_LR = const context::offsets::CTX_LR,
    THREAD_SHIFT = const memory::THREAD_SHIFT,
    PCPU_OVERFLOW_TOP = const percpu::PCPU_OVERFLOW_TOP,
    OVERFLOW_STACK_SIZE = const percpu::OVERFLOW_STACK_SIZE,
);
global_asm!(include_str!("uaccess.S"), options(raw));
global_asm!(include_str!("page.S"), options(raw));
global_asm!(include_str!("string.S"), options(raw));

/// Per-CPU set-up after the MMU is on (Linux `cpu_setup` + `arch_counter_set_user_access`):
/// the per-CPU area, and what EL0 may do without trapping, as on Linux:
/// * CNTKCTL_EL1.EL0VCTEN: read CNTVCT_EL0 and CNTFRQ_EL0 (the vDSO's clock);
/// * SCTLR_EL1.UCT: read CTR_EL0 (cache line sizes, for JITs and memcpy);
/// * SCTLR_EL1.UCI: `DC CVAU`, `IC IVAU` (a JIT making new code visible);
/// * SCTLR_EL1.DZE: `DC ZVA` (memset of whole cache lines);
/// * SCTLR_EL1.nTWE: `WFE` (spin-wait loops). `WFI` still traps, and exception.rs skips
///   it, as Linux does.
///
/// Everything else stays trapped: the physical counter, the timers, any EL1 register.
#[inline(never)] // a breakpoint target, like Linux's cpu_setup
pub fn cpu_init(cpu: usize) {
    percpu::init(cpu);
    CNTKCTL_EL1.write(CNTKCTL_EL1::EL0VCTEN::SET);
    SCTLR_EL1.modify(
        SCTLR_EL1::UCT::SET + SCTLR_EL1::UCI::SET + SCTLR_EL1::DZE::SET + SCTLR_EL1::NTWE::DontTrap,
    );
    aarch64_cpu::asm::barrier::isb(aarch64_cpu::asm::barrier::SY);
}

/// The TTBR1 linear map: kernel VA = physical address + KERNEL_VA_OFFSET.
pub const KERNEL_VA_OFFSET: usize = 0xffff_0000_0000_0000;

pub fn phys_to_virt(pa: usize) -> *mut u8 {
    (pa + KERNEL_VA_OFFSET) as *mut u8
}

pub fn virt_to_phys(va: usize) -> usize {
    va - KERNEL_VA_OFFSET
}

/// Invalidates one page of one ASID in every CPU's TLB (ARM ARM D8.13 "TLB maintenance").
pub fn flush_tlb_page(asid: u16, va: usize) {
    let arg = (va >> 12) as u64 & ((1 << 44) - 1) | (asid as u64) << 48;
    // SAFETY: TLB maintenance has no memory effects beyond dropping cached translations.
    unsafe { asm!("dsb ishst", "tlbi vale1is, {}", "dsb ish", "isb", in(reg) arg) };
}

/// Invalidates every entry of one ASID.
pub fn flush_tlb_asid(asid: u16) {
    // SAFETY: as above.
    unsafe {
        asm!("dsb ishst", "tlbi aside1is, {}", "dsb ish", "isb", in(reg) (asid as u64) << 48)
    };
}

/// Invalidates the kernel's (global) last-level entries for `[start, end)` in every CPU's
/// TLB, whatever ASID they were cached under (Linux `flush_tlb_kernel_range`: `tlbi
/// vaale1is` per page). Called after a kernel mapping is removed (a freed kernel stack)
/// and before its frames go back to the allocator.
pub fn flush_tlb_kernel_range(start: usize, end: usize) {
    // SAFETY: TLB maintenance has no memory effects beyond dropping cached translations.
    unsafe { asm!("dsb ishst") };
    for va in (start..end).step_by(4096) {
        let arg = (va >> 12) as u64 & ((1 << 44) - 1);
        // SAFETY: as above.
        unsafe { asm!("tlbi vaale1is, {}", in(reg) arg) };
    }
    // SAFETY: as above; completes the invalidations before the frames are reused.
    unsafe { asm!("dsb ish", "isb") };
}

unsafe extern "C" {
    fn __arch_copy_from_user(to: *mut u8, from: usize, n: usize) -> usize;
    fn __arch_copy_to_user(to: usize, from: *const u8, n: usize) -> usize;
}

unsafe extern "C" {
    fn copy_page(dst: *mut u8, src: *const u8);
    fn clear_page(dst: *mut u8);
}

/// Copies one 4 KiB frame to another (both physical, through the linear map).
pub fn copy_frame(dst: usize, src: usize) {
    // SAFETY: callers pass two distinct, page-aligned frames they own.
    unsafe { copy_page(phys_to_virt(dst), phys_to_virt(src)) }
}

/// Zero-fills one 4 KiB frame.
pub fn zero_frame(pa: usize) {
    // SAFETY: callers pass a page-aligned frame they own.
    unsafe { clear_page(phys_to_virt(pa)) }
}

/// Copies from user memory; returns the number of bytes that could NOT be copied.
/// The caller has checked that `[from, from + n)` lies below USER_TOP.
pub fn copy_from_user(to: &mut [u8], from: usize) -> usize {
    // SAFETY: `to` is a valid kernel buffer of to.len() bytes; user-side faults are
    // resolved or fixed up by the EL1 abort handler through __ex_table.
    unsafe { __arch_copy_from_user(to.as_mut_ptr(), from, to.len()) }
}

/// Copies to user memory; returns the number of bytes that could NOT be copied.
pub fn copy_to_user(to: usize, from: &[u8]) -> usize {
    // SAFETY: as for copy_from_user.
    unsafe { __arch_copy_to_user(to, from.as_ptr(), from.len()) }
}

/// Masks IRQs; returns whether they were enabled.
pub fn irq_disable() -> bool {
    let was = !DAIF.is_set(DAIF::I);
    DAIF.write(DAIF::I::Masked + DAIF::F::Masked + DAIF::A::Masked + DAIF::D::Masked);
    was
}

/// Waits for an interrupt, then takes it with IRQs briefly unmasked (the idle loop):
/// the one place where a masked stretch ends without a return to EL0 (irqsoff.rs).
///
/// `wfi` runs with IRQs still masked: a pending interrupt ends it even so (ARM ARM
/// D1.6.2, "WFI wake-up events"; Linux's `cpu_do_idle` relies on the same). Unmasking
/// first would let an interrupt that arrived just before (a reschedule IPI) be taken
/// before the `wfi`, which would then sleep until the next tick.
pub fn wait_for_interrupt() {
    irqsoff::end();
    // SAFETY: unmasking IRQs here is the point; the handler runs on this stack and
    // returns; the `isb` makes the unmasking take effect before IRQs are masked again.
    unsafe { asm!("wfi", "msr daifclr, #2", "isb", "msr daifset, #2") };
    irqsoff::begin(irqsoff::CAUSE_IDLE);
}

/// Waits for an event with IRQs as they are (a stopped CPU's loop).
pub fn halt() {
    aarch64_cpu::asm::wfe();
}

/// Whether QEMU runs with semihosting (kernel command line `semihosting`).
pub static SEMIHOSTING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Ends the QEMU run with `code` as QEMU's exit status, through semihosting SYS_EXIT
/// (QEMU needs `-semihosting-config enable=on,target=native`). Falls back to PSCI
/// SYSTEM_OFF (status 0) when semihosting is off.
pub fn exit_qemu(code: u32) -> ! {
    const SYS_EXIT: u64 = 0x18;
    const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;
    const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
    let block = [ADP_STOPPED_APPLICATION_EXIT, code as u64];
    if SEMIHOSTING.load(core::sync::atomic::Ordering::Relaxed) {
        // SAFETY: the semihosting call only reads `block`; QEMU exits and never returns.
        unsafe { asm!("hlt #0xf000", in("w0") SYS_EXIT as u32, in("x1") block.as_ptr()) };
    }
    // SAFETY: PSCI SYSTEM_OFF powers the machine off.
    unsafe { asm!("hvc #0", in("x0") PSCI_SYSTEM_OFF) };
    loop {
        aarch64_cpu::asm::wfe();
    }
}

/// Powers the machine off (Linux arm64 `machine_power_off`, whose `pm_power_off` is
/// PSCI's). The caller has stopped the other CPUs; returns only if there is no way to
/// power off (no PSCI), and the caller then halts.
pub fn machine_power_off() {
    irq_disable();
    smp::psci_system_off();
}

/// Resets the machine (Linux arm64 `machine_restart` → `do_kernel_restart` → PSCI
/// SYSTEM_RESET). Returns only if that is impossible.
pub fn machine_restart() {
    irq_disable();
    smp::psci_system_reset();
}

/// Stops this CPU for good with IRQs masked (Linux arm64 `machine_halt`: the machine
/// stays on, doing nothing, until QEMU is quit: Ctrl-A x).
pub fn machine_halt() -> ! {
    irq_disable();
    loop {
        aarch64_cpu::asm::wfe();
    }
}

pub use cache::sync_icache_frame;
