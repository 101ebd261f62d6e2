//! The basic system calls of the Linux AArch64 ABI: identity, write/writev, time, yield,
//! uname.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "syscalls";

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    check!(
        T,
        args.argc >= 1 && args.get(0).is_some(),
        "argv[0] present"
    );
    check!(
        T,
        getpid() > 0 && gettid() == getpid(),
        "single-threaded: tid == pid"
    );
    check!(T, getppid() >= 0, "getppid");
    check!(T, write(1, b"") == 0, "empty write returns 0");
    let msg = b"syscalls: (a line through write)\n";
    check!(
        T,
        write(1, msg) == msg.len() as isize,
        "write returns the byte count"
    );
    check!(
        T,
        write(5, b"x") == -EBADF,
        "write to an unopened fd is -EBADF"
    );
    let parts: [&[u8]; 3] = [b"syscalls: ", b"(a line through ", b"writev)\n"];
    let iov: [[usize; 2]; 3] = parts.map(|p| [p.as_ptr() as usize, p.len()]);
    let total: usize = parts.iter().map(|p| p.len()).sum();
    check!(
        T,
        syscall(SYS_WRITEV, &[1, iov.as_ptr() as usize, 3]) == total as isize,
        "writev returns the total"
    );
    check!(T, sched_yield() == 0, "sched_yield");
    let t0 = clock_ns();
    check!(T, nanosleep_ns(20_000_000) == 0, "nanosleep");
    let t1 = clock_ns();
    check!(
        T,
        t1 >= t0 + 20_000_000,
        "slept at least 20 ms ({} ns)",
        t1 - t0
    );
    check!(
        T,
        t1 < t0 + 2_000_000_000,
        "slept less than 2 s ({} ns)",
        t1 - t0
    );
    let mut ts = [0i64; 2];
    check!(
        T,
        syscall(SYS_CLOCK_GETTIME, &[42, ts.as_mut_ptr() as usize]) == -EINVAL,
        "unknown clock is -EINVAL"
    );
    let bad_ts = [0i64, 2_000_000_000];
    check!(
        T,
        syscall(SYS_NANOSLEEP, &[bad_ts.as_ptr() as usize, 0]) == -EINVAL,
        "tv_nsec out of range is -EINVAL"
    );
    // uname(2): struct utsname, six NUL-padded fields of 65 bytes (sysname, nodename,
    // release, version, machine, domainname); a program reads each up to its NUL.
    let mut u = [0xffu8; 6 * 65];
    check!(
        T,
        syscall(SYS_UNAME, &[u.as_mut_ptr() as usize]) == 0,
        "uname returns 0"
    );
    let field = |i: usize| {
        let f = &u[i * 65..(i + 1) * 65];
        &f[..f.iter().position(|&b| b == 0).unwrap_or(65)]
    };
    check!(T, field(0) == b"Linux", "uname: sysname is Linux");
    check!(T, field(4) == b"aarch64", "uname: machine is aarch64");
    check!(
        T,
        (0..6).all(|i| u[i * 65 + field(i).len()..(i + 1) * 65]
            .iter()
            .all(|&b| b == 0)),
        "uname: every field is NUL-padded to 65 bytes"
    );
    println!("{}: ok", T);
    0
}
