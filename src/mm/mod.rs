//! Memory management: physical frames, page tables (one walker, `walk`), copy-on-write
//! and address spaces.
//! Everything here is portable and runs under host `cargo test` over simulated memory;
//! the kernel's global instances live in `mm::global` (bare-metal only).

pub mod addr_space;
pub mod cow;
pub mod frame;
#[cfg(target_os = "none")]
pub mod heap;
pub mod inject;
pub mod kernel_map;
pub mod odf;
pub mod pagetable;
pub mod uaccess;
pub mod vm_file;
pub mod walk;

#[cfg(target_os = "none")]
pub mod global;
