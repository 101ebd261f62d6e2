//! The AArch64 arch layer: everything that touches system registers, TLBs or assembly.
//! Linux's counterpart is arch/arm64/. The assembly files next to this one are pulled in
//! here; the portable kernel only uses the functions below.

pub mod cache;
pub mod exception;
pub mod mmu;
pub mod pte;
pub mod timer;

use core::arch::{asm, global_asm};

use aarch64_cpu::registers::{DAIF, Readable, Writeable};

global_asm!(include_str!("boot.S"), options(raw));
global_asm!(include_str!("entry.S"), options(raw));
global_asm!(include_str!("uaccess.S"), options(raw));
global_asm!(include_str!("page.S"), options(raw));

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

/// The context `cpu_switch_to` saves and restores: callee-saved registers, sp and lr.
#[repr(C)]
#[derive(Default, Debug)]
pub struct CpuContext {
    pub x19_x28: [u64; 10],
    pub fp: u64,
    pub sp: u64,
    /// Where the task resumes: inside `schedule()`, or `ret_from_fork` for a new task.
    pub lr: u64,
}

unsafe extern "C" {
    /// arch/aarch64/entry.S.
    pub fn cpu_switch_to(prev: *mut CpuContext, next: *const CpuContext);
    /// arch/aarch64/entry.S: the first instruction of every new task.
    pub fn ret_from_fork();
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

/// Waits for an interrupt with IRQs briefly unmasked (the idle loop).
pub fn wait_for_interrupt() {
    // SAFETY: unmasking IRQs here is the point; the handler runs on this stack and returns.
    unsafe { asm!("msr daifclr, #2", "wfi", "msr daifset, #2") };
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

pub use cache::sync_icache_frame;
