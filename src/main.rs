//! The kernel binary. Execution starts in arch/aarch64/boot.S (`_start`), which calls
//! `kernel::boot::kernel_main` once the MMU is on; see src/boot.rs.

#![no_std]
#![no_main]

/// Referencing the library's entry point makes the linker keep it (and the assembly that
/// calls it).
#[used]
static ENTRY: extern "C" fn(usize) -> ! = kernel::boot::kernel_main;
