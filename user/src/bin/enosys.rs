//! Unknown system call numbers return -ENOSYS (the kernel logs each number once).
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "enosys";

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    for n in [999usize, 999, 5000, usize::MAX, 0x7fff] {
        let r = syscall(n, &[1, 2, 3, 4, 5, 6]);
        check!(T, r == -ENOSYS, "syscall {} gave {}", n, r);
    }
    check!(T, getpid() > 0, "the process is fine afterwards");
    println!("{}: ok", T);
    0
}
