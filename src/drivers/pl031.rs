//! ARM PrimeCell PL031 real-time clock (ARM DDI 0224): QEMU virt's wall clock. Its data
//! register counts seconds since 1970 from the host's time at reset; the kernel reads it
//! once at boot and keeps CLOCK_REALTIME as that moment plus the generic timer's count
//! (Linux reads the RTC only at boot too, in `rtc_hctosys`).

use tock_registers::interfaces::Readable;
use tock_registers::register_structs;
use tock_registers::registers::ReadOnly;

register_structs! {
    Registers {
        /// RTCDR: the current time in seconds.
        (0x00 => dr: ReadOnly<u32>),
        (0x04 => @END),
    }
}

/// Seconds since the epoch, read from the RTC at `base`.
///
/// # Safety
/// `base` is the kernel-virtual address of a PL031's registers, mapped as device memory.
pub unsafe fn read_seconds(base: usize) -> u64 {
    // SAFETY: the caller's guarantee; the register block is four bytes, read once.
    let regs = unsafe { &*(base as *const Registers) };
    regs.dr.get() as u64
}
