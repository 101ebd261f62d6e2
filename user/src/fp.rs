//! FP/SIMD register state for the tests of "a program's registers are never corrupted":
//! distinct patterns per register and per process, and a readable report of differences.
//! Loading, acting and storing happen in one assembly routine: `arch::fp_probe`.

use core::fmt;

/// V0-V31, FPSR and FPCR, laid out as Linux's `struct user_fpsimd_state` (528 bytes).
#[repr(C, align(16))]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FpState {
    pub v: [u128; 32],
    pub fpsr: u32,
    pub fpcr: u32,
    pub reserved: [u32; 2],
}

/// FPSR bits that hold a value on QEMU's cortex-a72 (written all-ones, read back under
/// Linux 6.1): N Z C V (31:28), QC (27), IDC (7), IXC (4), UFC (3), OFC (2), DZC (1), IOC (0).
pub const FPSR_BITS: u32 = 0xf800_009f;
/// FPCR bits used by the patterns: AHP (26), DN (25), FZ (24), RMode (23:22).
pub const FPCR_BITS: u32 = 0x07c0_0000;

impl FpState {
    pub const ZERO: FpState = FpState {
        v: [0; 32],
        fpsr: 0,
        fpcr: 0,
        reserved: [0; 2],
    };

    /// A pattern of all 32 × 128 bits, FPSR and FPCR, different for every `seed` and every
    /// register (splitmix64), with FPSR and FPCR never 0.
    pub fn pattern(seed: u64) -> FpState {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x7e57_f95d;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let mut s = FpState::ZERO;
        for v in s.v.iter_mut() {
            *v = (next() as u128) << 64 | next() as u128;
        }
        let h = next();
        // Rotate through the bits so that each bit is set in some patterns and clear in
        // others; never all-zero (a zero would not show a kernel that zeroes the register).
        s.fpsr = (h as u32 & FPSR_BITS) | [1, 1 << 27, 1 << 7, 1 << 31][(seed % 4) as usize];
        s.fpcr = ((h >> 32) as u32 & FPCR_BITS)
            | [1 << 22, 1 << 24, 1 << 25, 1 << 26][(seed % 4) as usize];
        s
    }

    /// The registers that differ from `want`: bit i = V<i>, bit 32 = FPSR, bit 33 = FPCR.
    pub fn diff_mask(&self, want: &FpState) -> u64 {
        let mut m = 0u64;
        for i in 0..32 {
            if self.v[i] != want.v[i] {
                m |= 1 << i;
            }
        }
        if self.fpsr != want.fpsr {
            m |= 1 << 32;
        }
        if self.fpcr != want.fpcr {
            m |= 1 << 33;
        }
        m
    }
}

/// Compares `got` with `want`: None if equal, else a description of what differs — which
/// registers, the first one's value, and whether that value belongs to one of `others`
/// (the patterns another process or thread held: a value that crossed over).
pub fn fp_compare<'a>(
    got: &'a FpState,
    want: &'a FpState,
    others: &'a [(&'a str, &'a FpState)],
) -> Option<FpDiff<'a>> {
    let mask = got.diff_mask(want);
    (mask != 0).then_some(FpDiff {
        got,
        want,
        others,
        mask,
    })
}

pub struct FpDiff<'a> {
    got: &'a FpState,
    want: &'a FpState,
    others: &'a [(&'a str, &'a FpState)],
    mask: u64,
}

impl fmt::Display for FpDiff<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // Ranges of differing V registers: "v0-v7,v16".
        let mut i = 0;
        let mut first = true;
        let n = (self.mask & 0xffff_ffff).count_ones();
        while i < 32 {
            if self.mask & (1 << i) == 0 {
                i += 1;
                continue;
            }
            let mut j = i;
            while j + 1 < 32 && self.mask & (1 << (j + 1)) != 0 {
                j += 1;
            }
            write!(f, "{}v{}", if first { "" } else { "," }, i)?;
            if j > i {
                write!(f, "-v{}", j)?;
            }
            first = false;
            i = j + 1;
        }
        if n > 0 {
            let r = self.mask.trailing_zeros() as usize;
            write!(
                f,
                " differ{} (v{} = {:#034x}, want {:#034x}",
                if n == 1 { "s" } else { "" },
                r,
                self.got.v[r],
                self.want.v[r]
            )?;
            if self.got.v[r] == 0 {
                write!(f, ": zeroed")?;
            }
            for (name, o) in self.others.iter().filter(|_| self.got.v[r] != 0) {
                if let Some(k) = o.v.iter().position(|&x| x == self.got.v[r]) {
                    write!(f, ": {}'s v{}", name, k)?;
                }
            }
            write!(f, ")")?;
        }
        if self.mask & (1 << 32) != 0 {
            write!(
                f,
                "{}fpsr {:#x} want {:#x}",
                if n > 0 { ", " } else { "" },
                self.got.fpsr,
                self.want.fpsr
            )?;
        }
        if self.mask & (1 << 33) != 0 {
            write!(
                f,
                "{}fpcr {:#x} want {:#x}",
                if self.mask & 0x1_ffff_ffff != 0 {
                    ", "
                } else {
                    ""
                },
                self.got.fpcr,
                self.want.fpcr
            )?;
        }
        Ok(())
    }
}
