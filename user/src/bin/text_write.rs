//! A write to a read-only, non-COW page (program text) kills only the writer, with SIGSEGV;
//! its parent and a sibling sharing the same text frames carry on.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "text_write";

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let text = main as *const () as *mut u32;
    let sibling = spawn(|| {
        nanosleep_ns(30_000_000);
        // SAFETY: reading our own code is allowed.
        if unsafe { text.read_volatile() } != 0 {
            0
        } else {
            1
        }
    });
    let writer = spawn(|| {
        // SAFETY: deliberately invalid: text is read-only.
        unsafe { text.write_volatile(0xd503201f) };
        0
    });
    check!(
        T,
        wait_exit_code(writer) == 128 + SIGSEGV as i32,
        "the text writer was not killed by SIGSEGV"
    );
    check!(T, wait_exit_code(sibling) == 0, "the sibling was affected");
    // SAFETY: reading our own code.
    check!(
        T,
        unsafe { text.read_volatile() } != 0xd503201f,
        "the text was modified"
    );
    println!("{}: ok", T);
    0
}
