//! The vDSO's data page, `[vvar]` (Linux include/vdso/datapage.h `struct vdso_data` and
//! lib/vdso/gettimeofday.c): what the kernel publishes so that user code can tell the
//! time without a system call. This one file is compiled twice: into the kernel, which
//! writes the page, and into the vDSO image (arch/aarch64/vdso/), which reads it — so
//! both sides agree on the layout and on the arithmetic by construction.
//!
//! A sequence counter protects the page (Linux `vdso_write_begin`/`vdso_read_begin`/
//! `vdso_read_retry`, a seqlock): the writer makes it odd, changes the fields and makes
//! it even again; a reader retries while it is odd or if it changed during the read, so
//! it never combines an old field with a new one. Readers never write: the page is
//! mapped read-only into every process.
//!
//! Only `core` may be used here: the vDSO links nothing else.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering, fence};

/// Linux clock ids (include/uapi/linux/time.h) the vDSO answers itself; the others (the
/// CPU-time clocks, bad ids) go to the system call.
pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;
pub const CLOCK_MONOTONIC_RAW: i32 = 4;
pub const CLOCK_REALTIME_COARSE: i32 = 5;
pub const CLOCK_MONOTONIC_COARSE: i32 = 6;
pub const CLOCK_BOOTTIME: i32 = 7;

/// `clock_mode`: the page holds nothing yet, use the system call (Linux
/// `VDSO_CLOCKMODE_NONE`).
pub const CLOCKMODE_NONE: u32 = 0;
/// `clock_mode`: read the generic timer's virtual counter (Linux
/// `VDSO_CLOCKMODE_ARCHTIMER`).
pub const CLOCKMODE_ARCHTIMER: u32 = 1;

/// The data page's contents. Every field is an atomic: the kernel writes while other
/// CPUs read, and the sequence counter only makes a torn *combination* detectable.
#[repr(C)]
pub struct VvarData {
    /// Even when the fields are consistent, odd while the kernel changes them.
    pub seq: AtomicU32,
    /// CLOCKMODE_NONE or CLOCKMODE_ARCHTIMER.
    pub clock_mode: AtomicU32,
    /// Counter ticks per second (CNTFRQ_EL0).
    pub freq: AtomicU64,
    /// CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds: the wall-clock time at which
    /// the counter read 0 (the kernel's `BOOT_REALTIME_NS`, src/time.rs).
    pub realtime_offset_ns: AtomicU64,
    /// Nanoseconds per counter tick, whole part and fraction (× 2⁶⁴): `ns_per_tick(freq)`,
    /// the one multiply of `ticks_to_ns`. Next to each other for one `ldp`.
    pub mult: AtomicU64,
    pub mult_frac: AtomicU64,
    /// 10⁹, for the division into seconds (one load instead of building the constant).
    pub nsec_per_sec: AtomicU64,
}

/// Byte offsets the assembly fast path of the vDSO reads (arch/aarch64/vdso/vdso.rs).
pub const VVAR_SEQ: usize = core::mem::offset_of!(VvarData, seq);
pub const VVAR_MULT: usize = core::mem::offset_of!(VvarData, mult);
pub const VVAR_MULT_FRAC: usize = core::mem::offset_of!(VvarData, mult_frac);
pub const VVAR_NSEC_PER_SEC: usize = core::mem::offset_of!(VvarData, nsec_per_sec);
pub const VVAR_REALTIME_OFFSET: usize = core::mem::offset_of!(VvarData, realtime_offset_ns);

/// A consistent copy of the fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub clock_mode: u32,
    pub freq: u64,
    pub realtime_offset_ns: u64,
    /// `ns_per_tick(freq)`.
    pub mult: u64,
    pub mult_frac: u64,
}

impl Snapshot {
    /// The page's contents for a counter of `freq` Hz (`mult` computed from it).
    pub fn new(clock_mode: u32, freq: u64, realtime_offset_ns: u64) -> Snapshot {
        let (mult, mult_frac) = ns_per_tick(freq);
        Snapshot {
            clock_mode,
            freq,
            realtime_offset_ns,
            mult,
            mult_frac,
        }
    }
}

impl VvarData {
    pub const fn new() -> VvarData {
        VvarData {
            seq: AtomicU32::new(0),
            clock_mode: AtomicU32::new(CLOCKMODE_NONE),
            freq: AtomicU64::new(0),
            realtime_offset_ns: AtomicU64::new(0),
            mult: AtomicU64::new(0),
            mult_frac: AtomicU64::new(0),
            nsec_per_sec: AtomicU64::new(1_000_000_000),
        }
    }

    /// The kernel's update (Linux `vdso_write_begin` … `vdso_write_end`). Writers must
    /// be serialised by the caller.
    pub fn write(&self, s: Snapshot) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        // The odd count is visible before any field changes.
        fence(Ordering::Release);
        self.clock_mode.store(s.clock_mode, Ordering::Relaxed);
        self.freq.store(s.freq, Ordering::Relaxed);
        self.mult.store(s.mult, Ordering::Relaxed);
        self.mult_frac.store(s.mult_frac, Ordering::Relaxed);
        // A constant, stored here too: the kernel's page starts as a zeroed frame, not
        // as `VvarData::new()`.
        self.nsec_per_sec.store(1_000_000_000, Ordering::Relaxed);
        self.realtime_offset_ns
            .store(s.realtime_offset_ns, Ordering::Relaxed);
        // The fields are visible before the even count.
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// A reader's copy (Linux `vdso_read_begin` … `vdso_read_retry`).
    pub fn read(&self) -> Snapshot {
        loop {
            let seq = self.seq.load(Ordering::Acquire);
            if seq & 1 != 0 {
                // The kernel is in the middle of an update.
                core::hint::spin_loop();
                continue;
            }
            let s = Snapshot {
                clock_mode: self.clock_mode.load(Ordering::Relaxed),
                freq: self.freq.load(Ordering::Relaxed),
                realtime_offset_ns: self.realtime_offset_ns.load(Ordering::Relaxed),
                mult: self.mult.load(Ordering::Relaxed),
                mult_frac: self.mult_frac.load(Ordering::Relaxed),
            };
            // The field loads complete before the second look at the count.
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) == seq {
                return s;
            }
        }
    }

    /// The time of `clock` in nanoseconds, with the counter reading `ticks` (taken by the
    /// caller *after* `read` returned, so that it is never older than the snapshot), or
    /// None if the vDSO does not handle the clock: the caller makes the system call.
    /// The clocks and their values are those of the kernel's `clock_now`
    /// (src/syscall/misc.rs): BOOTTIME is MONOTONIC (nothing suspends), and the coarse
    /// clocks are as precise as the others.
    pub fn clock_ns(s: &Snapshot, clock: i32, ticks: u64) -> Option<u64> {
        if s.clock_mode != CLOCKMODE_ARCHTIMER {
            return None;
        }
        let mono = ticks_to_ns(ticks, s.mult, s.mult_frac);
        match clock {
            CLOCK_REALTIME | CLOCK_REALTIME_COARSE => Some(s.realtime_offset_ns.wrapping_add(mono)),
            CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_MONOTONIC_COARSE | CLOCK_BOOTTIME => {
                Some(mono)
            }
            _ => None,
        }
    }
}

impl Default for VvarData {
    fn default() -> Self {
        Self::new()
    }
}

/// The resolution clock_getres(2) reports for `clock`, if the vDSO handles it: the
/// values of the kernel's `clock_getres` (1 ns; a 4 ms tick for the coarse clocks, as
/// Linux 6.1 with Debian's HZ=250).
pub fn clock_res_ns(clock: i32) -> Option<u64> {
    match clock {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => Some(4_000_000),
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_MONOTONIC_RAW | CLOCK_BOOTTIME => Some(1),
        _ => None,
    }
}

/// Nanoseconds per counter tick as a whole part and a 64-bit binary fraction:
/// 10⁹/freq = mult + frac/2⁶⁴ (frac rounded down). Computed once, when the kernel
/// writes the page, by long division (no 128-bit division routine in either image).
pub fn ns_per_tick(freq: u64) -> (u64, u64) {
    if freq == 0 {
        return (0, 0);
    }
    let (mult, mut rem) = (1_000_000_000 / freq, 1_000_000_000 % freq);
    let mut frac = 0u64;
    for _ in 0..64 {
        // rem < freq, and a counter frequency is far below 2⁶³: rem << 1 cannot overflow.
        rem <<= 1;
        frac <<= 1;
        if rem >= freq {
            rem -= freq;
            frac |= 1;
        }
    }
    (mult, frac)
}

/// Counter ticks to nanoseconds, modulo 2⁶⁴: ticks × (mult + frac/2⁶⁴), rounded down —
/// one multiply and one multiply-high (Linux's `(cycles * mult) >> shift` with a shift
/// of 64). For a frequency that divides 10⁹ (QEMU's 62.5 MHz: 16 ns a tick) frac is 0
/// and the result is exact; otherwise it is the exact ⌊ticks × 10⁹ / freq⌋ or one less.
/// The kernel's clock (arch timer `now_ns`) computes the same formula, so the vDSO and
/// the system call never disagree.
pub fn ticks_to_ns(ticks: u64, mult: u64, frac: u64) -> u64 {
    ticks
        .wrapping_mul(mult)
        .wrapping_add(((ticks as u128 * frac as u128) >> 64) as u64)
}
