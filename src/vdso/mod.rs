//! The vDSO from the kernel's side (Linux arch/arm64/kernel/vdso.c and the special
//! mappings of mm/mmap.c): the image built from arch/aarch64/vdso/ is copied into frames
//! once at boot, next to a data page (`[vvar]`, vvar.rs) that the kernel keeps up to date;
//! execve maps both into every new address space (Linux `arch_setup_additional_pages`)
//! and tells the program where through AT_SYSINFO_EHDR. See docs/vdso.md.
//!
//! ```text
//!   USER_TOP                  end of user space (2^48)
//!   VDSO_END = USER_TOP - 4K  (guard page)
//!   VDSO_END - n pages        [vdso]  r-xp  the ELF image: headers, symbols, code
//!   VDSO_END - (1 + n) pages  [vvar]  r--p  the data page (one frame for every process)
//!   STACK_TOP                 (guard: the rest of the 64 KiB above the stack)
//!   STACK_TOP - STACK_SIZE    [stack]
//! ```
//! Above the stack, the pair shares the stack's last-level page table: no page-table
//! frame of its own in any process.
//!
//! Every process maps the *same* frames: the kernel holds a reference on each forever,
//! so unmapping never frees them, and the copy-on-write rules never let a process write
//! into them (a debugger's breakpoint after mprotect gets a private copy, as on Linux).
//! The mappings are ordinary VMAs of a `SpecialMapping` object (Linux `struct
//! vm_special_mapping`): fork copies them, munmap, mprotect and mremap treat them as
//! Linux treats special mappings, with one difference noted at `sigreturn_trampoline`.

#[cfg(target_os = "none")]
mod mapping;
pub mod vvar;

#[cfg(target_os = "none")]
pub use mapping::{init, setup_additional_pages, sigreturn_trampoline, special_name};

use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;
use vvar::{CLOCKMODE_ARCHTIMER, Snapshot, VvarData};

/// The data page as the kernel writes it, once `init` made it.
static VVAR: spin::Once<&'static VvarData> = spin::Once::new();

/// Serialises writers of the data page (Linux: the timekeeper's lock). The realtime
/// offset is kept here too, for `init` to publish if it was set before.
static VVAR_WRITER: OrderedMutex<u64> = OrderedMutex::new(Level::Ids, 0);

/// The wall clock changed: CLOCK_REALTIME is now CLOCK_MONOTONIC + `offset_ns` (Linux
/// `update_vsyscall`). src/time.rs calls this whenever it sets the clock.
pub fn update_realtime(offset_ns: u64) {
    let mut writer = VVAR_WRITER.lock();
    *writer = offset_ns;
    if let Some(data) = VVAR.get() {
        data.write(Snapshot::new(
            CLOCKMODE_ARCHTIMER,
            counter_frequency(),
            offset_ns,
        ));
    }
}

/// The counter's frequency, after checking that the page's conversion is the kernel's.
fn counter_frequency() -> u64 {
    #[cfg(target_os = "none")]
    {
        let freq = crate::arch::timer::frequency();
        assert_eq!(
            vvar::ns_per_tick(freq),
            crate::arch::timer::ns_per_tick(),
            "the vDSO's clock must be the kernel's"
        );
        freq
    }
    #[cfg(not(target_os = "none"))]
    {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::vvar::*;

    /// The multiply conversion is ⌊ticks × 10⁹ / freq⌋ (mod 2⁶⁴), exactly when freq
    /// divides 10⁹ and otherwise at most one below.
    #[test]
    fn ticks_to_ns_is_the_quotient() {
        let exact = |t: u64, f: u64| (t as u128 * 1_000_000_000 / f as u128) as u64;
        let mut x = 0x0123_4567_89ab_cdefu64;
        for freq in [
            62_500_000u64,
            24_000_000,
            19_200_000,
            1_000_000_000,
            1,
            u32::MAX as u64,
        ] {
            let (m, f) = ns_per_tick(freq);
            let divides = 1_000_000_000 % freq == 0;
            let check = |t: u64| {
                let (got, want) = (ticks_to_ns(t, m, f), exact(t, freq));
                assert!(
                    got == want || (!divides && got == want.wrapping_sub(1)),
                    "{t} at {freq}: {got} != {want}"
                );
            };
            for t in [0, 1, freq - 1, freq, freq + 1, u64::MAX, u64::MAX / 3] {
                check(t);
            }
            for _ in 0..1000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                check(x);
            }
        }
    }

    #[test]
    fn clocks_from_a_snapshot() {
        let data = VvarData::new();
        let s = data.read();
        assert_eq!(
            VvarData::clock_ns(&s, CLOCK_MONOTONIC, 10),
            None,
            "not set yet"
        );
        data.write(Snapshot::new(CLOCKMODE_ARCHTIMER, 62_500_000, 1_000));
        let s = data.read();
        assert_eq!(data.seq.load(core::sync::atomic::Ordering::Relaxed), 2);
        // The assembly path divides by it (vdso.rs): it must be there after a write,
        // even on a page that started as zeroes.
        assert_eq!(
            data.nsec_per_sec
                .load(core::sync::atomic::Ordering::Relaxed),
            1_000_000_000
        );
        assert_eq!(VvarData::clock_ns(&s, CLOCK_MONOTONIC, 10), Some(160));
        assert_eq!(VvarData::clock_ns(&s, CLOCK_BOOTTIME, 10), Some(160));
        assert_eq!(VvarData::clock_ns(&s, CLOCK_REALTIME, 10), Some(1_160));
        assert_eq!(
            VvarData::clock_ns(&s, 2, 10),
            None,
            "CPU time: the system call"
        );
        assert_eq!(VvarData::clock_ns(&s, -6, 10), None);
        assert_eq!(clock_res_ns(CLOCK_MONOTONIC_COARSE), Some(4_000_000));
        assert_eq!(clock_res_ns(3), None);
    }
}
