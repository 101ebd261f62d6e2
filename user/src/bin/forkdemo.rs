//! The program the gdb walkthrough (docs/gdb-walkthrough.md) and the gdb test follow: one
//! page-aligned private buffer, written before fork, so at the child's ret_from_fork the
//! buffer's page is read-only + COW in both processes with a frame count of 2. Then the
//! child writes it (a copy), and the parent writes it after the child exited (a reuse).
#![no_std]
#![no_main]

use core::ptr::{addr_of_mut, read_volatile, write_volatile};

use ulib::*;

const T: &str = "forkdemo";

#[repr(C, align(4096))]
struct Page([u8; 4096]);

/// The page the walkthrough looks at (`ptwalk &COW_PAGE`).
#[unsafe(no_mangle)]
static mut COW_PAGE: Page = Page([0; 4096]);

fn page() -> *mut u8 {
    addr_of_mut!(COW_PAGE) as *mut u8
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // SAFETY: this process's own static page.
    unsafe { write_volatile(page(), b'P') };
    let pid = fork();
    if pid == 0 {
        // SAFETY: our COW view of the page; this write makes the child's copy.
        unsafe { write_volatile(page(), b'C') };
        exit(if unsafe { read_volatile(page()) } == b'C' {
            0
        } else {
            1
        });
    }
    check!(T, pid > 0, "fork gave {}", pid);
    check!(T, wait_exit_code(pid) == 0, "the child saw its own write");
    // SAFETY: as above.
    check!(
        T,
        unsafe { read_volatile(page()) } == b'P',
        "the child's write leaked into the parent"
    );
    unsafe { write_volatile(page(), b'Q') }; // the child has exited: no copy
    println!("{}: ok", T);
    0
}
