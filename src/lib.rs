//! A small AArch64 teaching kernel with a Linux-style fork/clone/copy-on-write path.
//!
//! Portable logic (memory management, loaders, flag checks) compiles for the host too and
//! is unit-tested there; the arch layer and everything that needs the hardware is built
//! only for `aarch64-unknown-none` (`target_os = "none"`). See docs/architecture.md.

#![cfg_attr(target_os = "none", no_std)]

extern crate alloc;

#[cfg(target_os = "none")]
#[path = "../arch/aarch64/mod.rs"]
pub mod arch;
#[cfg(not(target_os = "none"))]
#[path = "../arch/host/mod.rs"]
pub mod arch;

pub mod cmdline;
pub mod error;
pub mod fs;
pub mod lab;
pub mod loader;
pub mod mm;
pub mod proc; // only its text formatting (proc/format.rs) builds for the host
pub mod random;
pub mod sync;
pub mod syscall;
pub mod task;
pub mod time;
pub mod trace;
pub mod tty;
pub mod vdso;

#[cfg(target_os = "none")]
pub mod boot;
#[cfg(target_os = "none")]
pub mod console;
#[cfg(target_os = "none")]
pub mod drivers;
#[cfg(target_os = "none")]
pub mod initrd;
#[cfg(target_os = "none")]
pub mod irq;
#[cfg(target_os = "none")]
pub mod symbols;
#[cfg(target_os = "none")]
pub mod trap;

#[cfg(target_os = "none")]
pub use boot::{boot_args, shutdown};

#[cfg(target_os = "none")]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    arch::irq_disable();
    irq::stop_other_cpus();
    console::force_unlock();
    println!("KERNEL PANIC: {}", info);
    arch::exit_qemu(255)
}
