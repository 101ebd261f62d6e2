//! Starting the secondary CPUs (Linux: arch/arm64/kernel/smp.c `__cpu_up`, psci.c
//! `cpu_psci_cpu_boot`, head.S `secondary_entry`; the PSCI calls are Arm DEN 0022), and
//! the machine's power-off and reset through PSCI (Linux drivers/firmware/psci/psci.c
//! `psci_sys_poweroff`, `psci_sys_reset`).
//!
//! ```text
//!  boot CPU                                    CPU n (powered off until CPU_ON)
//!  secondary_data = { stack top, TTBR1 }
//!  dsb ish
//!  PSCI CPU_ON(mpidr, phys(secondary_entry), n) ─► secondary_entry (boot.S, MMU off)
//!  wait for CPU n to come online                   EL2→EL1, FP/SIMD for EL0, MMU on
//!    (the scheduler's online mask)                 TTBR1 = secondary_data.ttbr1,
//!                                                  sp = secondary_data.stack_top
//!                                                  secondary_start_kernel(n) (Rust)
//! ```
//! One CPU starts at a time, so one `secondary_data` suffices (as in Linux).

use core::arch::asm;
use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use aarch64_cpu::registers::{Readable, TTBR1_EL1};

/// What a starting CPU reads once its MMU is on (boot.S `__secondary_switched`).
#[repr(C)]
pub struct SecondaryData {
    stack_top: AtomicU64,
    ttbr1: AtomicU64,
}

#[unsafe(no_mangle)]
static secondary_data: SecondaryData = SecondaryData {
    stack_top: AtomicU64::new(0),
    ttbr1: AtomicU64::new(0),
};

/// How PSCI calls reach the firmware: the device tree's /psci `method` ("hvc" when QEMU
/// starts the kernel at EL1, "smc" with virtualization=on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conduit {
    Hvc,
    Smc,
}

const PSCI_CPU_ON_64: u64 = 0xc400_0003;
const PSCI_SYSTEM_OFF: u64 = 0x8400_0008;
const PSCI_SYSTEM_RESET: u64 = 0x8400_0009;

/// The conduit the device tree named (0: none yet, 1: hvc, 2: smc), kept for the
/// power-off and reset calls, which come long after boot.
static PSCI_CONDUIT: AtomicU8 = AtomicU8::new(0);

/// Records how PSCI calls reach the firmware (boot, from the device tree's /psci node).
pub fn set_psci_conduit(conduit: Conduit) {
    let v = match conduit {
        Conduit::Hvc => 1,
        Conduit::Smc => 2,
    };
    PSCI_CONDUIT.store(v, Ordering::Relaxed);
}

fn psci_conduit() -> Option<Conduit> {
    match PSCI_CONDUIT.load(Ordering::Relaxed) {
        1 => Some(Conduit::Hvc),
        2 => Some(Conduit::Smc),
        _ => None,
    }
}

/// PSCI SYSTEM_OFF: the firmware powers the machine off (QEMU exits with status 0).
/// Returns only when there is no PSCI, or the call failed.
pub fn psci_system_off() {
    if let Some(conduit) = psci_conduit() {
        psci_call(conduit, PSCI_SYSTEM_OFF, 0, 0, 0);
    }
}

/// PSCI SYSTEM_RESET: the firmware resets the machine (QEMU started with -no-reboot
/// exits instead, with status 0). Returns only when there is no PSCI, or it failed.
pub fn psci_system_reset() {
    if let Some(conduit) = psci_conduit() {
        psci_call(conduit, PSCI_SYSTEM_RESET, 0, 0, 0);
    }
}

/// A PSCI call with up to three arguments; returns x0.
fn psci_call(conduit: Conduit, func: u64, a1: u64, a2: u64, a3: u64) -> i64 {
    let ret: u64;
    // SAFETY: a firmware call by the SMC calling convention: x0-x3 in, x0 out, x4-x17
    // may be clobbered (SMCCC v1.0), nothing else is touched.
    unsafe {
        match conduit {
            Conduit::Hvc => asm!("hvc #0", inout("x0") func => ret, inout("x1") a1 => _,
                inout("x2") a2 => _, inout("x3") a3 => _, out("x4") _, out("x5") _,
                out("x6") _, out("x7") _, out("x8") _, out("x9") _, out("x10") _,
                out("x11") _, out("x12") _, out("x13") _, out("x14") _, out("x15") _,
                out("x16") _, out("x17") _),
            Conduit::Smc => asm!("smc #0", inout("x0") func => ret, inout("x1") a1 => _,
                inout("x2") a2 => _, inout("x3") a3 => _, out("x4") _, out("x5") _,
                out("x6") _, out("x7") _, out("x8") _, out("x9") _, out("x10") _,
                out("x11") _, out("x12") _, out("x13") _, out("x14") _, out("x15") _,
                out("x16") _, out("x17") _),
        }
    }
    ret as i64
}

/// Asks the firmware to start the CPU with affinity `mpidr` as CPU number `cpu`, on the
/// kernel stack whose top is `stack_top`. Err: PSCI's error code (−4: already on).
pub fn boot_secondary(
    conduit: Conduit,
    mpidr: u64,
    cpu: usize,
    stack_top: usize,
) -> Result<(), i64> {
    secondary_data
        .stack_top
        .store(stack_top as u64, Ordering::Relaxed);
    secondary_data
        .ttbr1
        .store(TTBR1_EL1.get(), Ordering::Relaxed);
    // SAFETY: a barrier only: the data above is in memory before the CPU can start.
    unsafe { asm!("dsb ish") };
    // .text.boot is linked at its physical address (linker.ld), below 4 GiB, too far
    // for a pc-relative `adrp` from the high half: load the absolute address.
    let entry: u64;
    // SAFETY: only computes an address.
    unsafe {
        asm!("movz {0}, #:abs_g1:secondary_entry", "movk {0}, #:abs_g0_nc:secondary_entry",
            out(reg) entry)
    };
    match psci_call(conduit, PSCI_CPU_ON_64, mpidr, entry, cpu as u64) {
        0 => Ok(()),
        err => Err(err),
    }
}

/// This CPU's affinity (MPIDR_EL1's Aff3..Aff0 fields), to find it in the device tree.
pub fn this_mpidr() -> u64 {
    aarch64_cpu::registers::MPIDR_EL1.get() & 0xff_00ff_ffff
}
