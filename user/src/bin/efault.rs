//! Bad user pointers give -EFAULT and never crash the kernel: NULL, kernel addresses,
//! unmapped memory, ranges that wrap or cross into the kernel half, read-only pages.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "efault";
const KERNEL: usize = 0xffff_0000_4020_0000;

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let text = main as *const () as usize; // a read-only (text) page
    for (addr, what) in [
        (0usize, "NULL"),
        (KERNEL, "kernel address"),
        (0x10_0000_0000_0000, "unmapped"),
        (text, "text page"),
    ] {
        let r = syscall(SYS_CLOCK_GETTIME, &[1, addr]);
        check!(T, r == -EFAULT, "clock_gettime into {} gave {}", what, r);
    }
    for (addr, what) in [
        (0usize, "NULL"),
        (KERNEL, "kernel address"),
        (text, "text page"),
    ] {
        let r = syscall(SYS_UNAME, &[addr]);
        check!(T, r == -EFAULT, "uname into {} gave {}", what, r);
    }
    for (addr, what) in [
        (0usize, "NULL"),
        (KERNEL, "kernel address"),
        (0x10_0000_0000_0000, "unmapped"),
    ] {
        let r = syscall(SYS_WRITE, &[1, addr, 16]);
        check!(T, r == -EFAULT, "write from {} gave {}", what, r);
    }
    let r = syscall(SYS_WRITE, &[1, usize::MAX - 4, 16]);
    check!(T, r == -EFAULT, "write from a wrapping range gave {}", r);
    let r = syscall(SYS_WRITE, &[1, (1 << 48) - 8, 16]);
    check!(
        T,
        r == -EFAULT,
        "write across the top of user space gave {}",
        r
    );
    let bad_iov = [[KERNEL, 8usize]];
    check!(
        T,
        syscall(SYS_WRITEV, &[1, KERNEL, 1]) == -EFAULT,
        "writev with a kernel iov array"
    );
    check!(
        T,
        syscall(SYS_WRITEV, &[1, bad_iov.as_ptr() as usize, 1]) == -EFAULT,
        "writev with a kernel buffer"
    );
    check!(
        T,
        syscall(SYS_NANOSLEEP, &[KERNEL, 0]) == -EFAULT,
        "nanosleep reading a kernel address"
    );
    // A pipe's contents read into a read-only page: the kernel's store faults.
    let mut fds = [0i32; 2];
    check!(
        T,
        syscall(SYS_PIPE2, &[fds.as_mut_ptr() as usize, 0]) == 0,
        "pipe2"
    );
    check!(T, write(fds[1], b"data") == 4, "write to pipe");
    let r = syscall(SYS_READ, &[fds[0] as usize, text, 4]);
    check!(T, r == -EFAULT, "read into a text page gave {}", r);
    check!(
        T,
        syscall(SYS_PIPE2, &[KERNEL, 0]) == -EFAULT,
        "pipe2 into kernel memory"
    );
    let (r, _) = (syscall(SYS_WAIT4, &[usize::MAX, KERNEL, 0, 0]), 0);
    check!(T, r == -ECHILD || r == -EFAULT, "wait4 with no children");
    // The kernel is still fine: an ordinary call works.
    check!(
        T,
        write(1, b"efault: kernel still alive\n") == 27,
        "write after the faults"
    );
    println!("{}: ok", T);
    0
}
