//! Writes one line and exits with status 3 (checks `make run INIT=...` end to end).
#![no_std]
#![no_main]

use ulib::*;

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    write(1, b"exit3: this line, then exit status 3\n");
    3
}
