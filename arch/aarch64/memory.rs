//! Where kernel stacks live, and the one property of their addresses the exception entry
//! relies on (Linux: arch/arm64/include/asm/memory.h `THREAD_SHIFT`, `THREAD_SIZE`,
//! `THREAD_ALIGN`, and the vmalloc area that CONFIG_VMAP_STACK takes stacks from).
//!
//! Every kernel stack — each task's, and the boot stack the idle task keeps — is
//! `THREAD_SIZE` bytes in the *upper* half of a `THREAD_ALIGN`-aligned slot; the lower
//! half is never mapped (the guard):
//!
//! ```text
//!  slot + 32 KiB ┬─────────────┐ stack top: the TrapFrame sits just below it
//!                │ stack 16 KiB│ every address here has bit 14 (THREAD_SHIFT) set
//!  slot + 16 KiB ├─────────────┤
//!                │ guard 16 KiB│ never mapped; every address here has bit 14 clear
//!  slot          ┴─────────────┘ (32 KiB aligned)
//! ```
//!
//! (An unoptimised PROFILE=dev build makes both halves 64 KiB: THREAD_SHIFT 16, below.)
//!
//! A stack that overflows runs into its guard and faults; entry.S tests bit 14 of the
//! stack pointer before it saves anything (kernel_entry for EL1), so it can switch to
//! the per-CPU overflow stack instead of faulting again on the same bad sp. Pure
//! constants, no register: the host fake (arch/host) includes this file too.

/// log2 of a kernel stack's size: 16 KiB, as on Linux arm64.
#[cfg(not(big_kernel_stacks))]
pub const THREAD_SHIFT: usize = 14;
/// log2 of a kernel stack's size in an unoptimised (opt-level 0, PROFILE=dev) build: 64 KiB,
/// because unoptimised frames are several times larger (build.rs sets the cfg and gives
/// linker.ld the same size for the boot stack; Linux arm64 doubles it under KASAN).
#[cfg(big_kernel_stacks)]
pub const THREAD_SHIFT: usize = 16;
/// A kernel stack's size.
pub const THREAD_SIZE: usize = 1 << THREAD_SHIFT;
/// The alignment (and size) of a stack's slot: the stack and its guard below it.
pub const THREAD_ALIGN: usize = 2 * THREAD_SIZE;

/// The region of the kernel half (TTBR1) where task stacks are mapped: the first
/// level-0 entry of the upper half of TTBR1's range, far from the linear map
/// (0xffff_0000_xxxx_xxxx).
pub const KSTACK_REGION_START: usize = 0xffff_8000_0000_0000;
/// Bytes of virtual address space the region may use (one level-0 entry, 512 GiB).
pub const KSTACK_REGION_SIZE: usize = 1 << 39;

/// The slot holding the stack address `addr` (its guard starts there).
pub const fn stack_slot(addr: usize) -> usize {
    addr & !(THREAD_ALIGN - 1)
}

/// Whether `addr` lies in the guard half of its slot (bit THREAD_SHIFT clear): the test
/// entry.S makes with `tbz` on the stack pointer.
pub const fn in_stack_guard(addr: usize) -> bool {
    addr & THREAD_SIZE == 0
}

const _: () = assert!(KSTACK_REGION_START.is_multiple_of(THREAD_ALIGN));
