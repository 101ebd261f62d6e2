//! The CPU features user programs are told about through AT_HWCAP and AT_HWCAP2 (Linux
//! arch/arm64/kernel/cpufeature.c `arm64_elf_hwcaps`): each capability is an ID register
//! field at or above a value. glibc's dynamic loader picks its string functions by them.
//!
//! HWCAP_CPUID (EL0 reads of the ID registers, which Linux emulates) and HWCAP_EVTSTRM
//! (the timer's event stream, which this kernel does not enable) are never set.

use aarch64_cpu::registers::{ID_AA64ISAR0_EL1, ID_AA64ISAR1_EL1, ID_AA64PFR0_EL1, Readable};

/// Which ID register a capability's field is in.
#[derive(Clone, Copy)]
enum Reg {
    Pfr0,
    Isar0,
    Isar1,
}

/// (register, field shift, signed field, minimum value, HWCAP2?, bit): Linux's
/// `HWCAP_CAP(reg, field, sign, min, cap)` rows for the features of ARMv8.0-8.4.
const CAPS: &[(Reg, u32, bool, i64, bool, u32)] = &[
    (Reg::Pfr0, 16, true, 0, false, 0),    // FP
    (Reg::Pfr0, 16, true, 1, false, 9),    // FPHP
    (Reg::Pfr0, 20, true, 0, false, 1),    // ASIMD
    (Reg::Pfr0, 20, true, 1, false, 10),   // ASIMDHP
    (Reg::Pfr0, 48, false, 1, false, 24),  // DIT
    (Reg::Isar0, 4, false, 2, false, 4),   // PMULL
    (Reg::Isar0, 4, false, 1, false, 3),   // AES
    (Reg::Isar0, 8, false, 1, false, 5),   // SHA1
    (Reg::Isar0, 12, false, 1, false, 6),  // SHA2
    (Reg::Isar0, 12, false, 2, false, 21), // SHA512
    (Reg::Isar0, 16, false, 1, false, 7),  // CRC32
    (Reg::Isar0, 20, false, 2, false, 8),  // ATOMICS
    (Reg::Isar0, 28, false, 1, false, 12), // ASIMDRDM
    (Reg::Isar0, 32, false, 1, false, 17), // SHA3
    (Reg::Isar0, 36, false, 1, false, 18), // SM3
    (Reg::Isar0, 40, false, 1, false, 19), // SM4
    (Reg::Isar0, 44, false, 1, false, 20), // ASIMDDP
    (Reg::Isar0, 48, false, 1, false, 23), // ASIMDFHM
    (Reg::Isar0, 52, false, 1, false, 27), // FLAGM
    (Reg::Isar0, 52, false, 2, true, 7),   // HWCAP2_FLAGM2
    (Reg::Isar0, 60, false, 1, true, 16),  // HWCAP2_RNG
    (Reg::Isar1, 0, false, 1, false, 16),  // DCPOP
    (Reg::Isar1, 0, false, 2, true, 0),    // HWCAP2_DCPODP
    (Reg::Isar1, 12, false, 1, false, 13), // JSCVT
    (Reg::Isar1, 16, false, 1, false, 14), // FCMA
    (Reg::Isar1, 20, false, 1, false, 15), // LRCPC
    (Reg::Isar1, 20, false, 2, false, 26), // ILRCPC
    (Reg::Isar1, 36, false, 1, false, 29), // SB
];

/// (AT_HWCAP, AT_HWCAP2) for this CPU.
pub fn elf_hwcap() -> (u64, u64) {
    let regs = [
        ID_AA64PFR0_EL1.get(),
        ID_AA64ISAR0_EL1.get(),
        ID_AA64ISAR1_EL1.get(),
    ];
    let (mut hwcap, mut hwcap2) = (0u64, 0u64);
    for &(reg, shift, signed, min, second, bit) in CAPS {
        let raw = (regs[reg as usize] >> shift) & 0xf;
        // A signed field (FP, AdvSIMD): 0xf means "not implemented", i.e. -1.
        let value = if signed && raw >= 8 {
            raw as i64 - 16
        } else {
            raw as i64
        };
        if value >= min {
            if second {
                hwcap2 |= 1 << bit;
            } else {
                hwcap |= 1 << bit;
            }
        }
    }
    (hwcap, hwcap2)
}
