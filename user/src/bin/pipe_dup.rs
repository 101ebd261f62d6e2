//! Pipes and descriptor duplication: data through a pipe between processes, EOF when the
//! last writer closes, -EPIPE when no reader is left, dup/dup3/close semantics.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "pipe_dup";

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let fds = pipe();
    let pid = spawn(|| {
        close(fds[0]);
        let big = [b'z'; 10000]; // more than the 4 KiB buffer: the writer must block
        if write(fds[1], b"through the pipe") != 16 || write(fds[1], &big) != 10000 {
            return 1;
        }
        0
    });
    close(fds[1]);
    let mut buf = [0u8; 16];
    check!(
        T,
        read(fds[0], &mut buf) == 16 && &buf == b"through the pipe",
        "read"
    );
    let mut total = 0;
    let mut chunk = [0u8; 1000];
    loop {
        let n = read(fds[0], &mut chunk);
        check!(T, n >= 0, "read error {}", n);
        if n == 0 {
            break;
        }
        total += n;
    }
    check!(T, total == 10000, "got {} of 10000 bytes before EOF", total);
    check!(T, wait_exit_code(pid) == 0, "writer");
    close(fds[0]);

    // No reader left: SIGPIPE kills the writer (its default action) ...
    let fds = pipe();
    close(fds[0]);
    let w = spawn(|| write(fds[1], b"x") as i32);
    check!(
        T,
        wait4(w, 0).1 == 13,
        "a write with no reader is killed by SIGPIPE"
    );
    // ... and with SIGPIPE ignored the write fails with -EPIPE.
    let ignore = [1usize, 0, 0, 0]; // SIG_IGN
    check!(
        T,
        syscall(SYS_RT_SIGACTION, &[13, ignore.as_ptr() as usize, 0, 8]) == 0,
        "ignore SIGPIPE"
    );
    check!(
        T,
        write(fds[1], b"x") == -EPIPE,
        "write with no reader and SIGPIPE ignored: -EPIPE"
    );
    close(fds[1]);

    let d = syscall(SYS_DUP, &[1]);
    check!(T, d >= 3, "dup gave {}", d);
    check!(T, syscall(SYS_DUP3, &[d as usize, 20, 0]) == 20, "dup3");
    check!(T, write(20, b"") == 0, "write through the dup3'd fd");
    check!(
        T,
        syscall(SYS_DUP3, &[20, 20, 0]) == -EINVAL,
        "dup3 to itself: -EINVAL"
    );
    check!(T, close(20) == 0 && close(20) == -EBADF, "close twice");
    check!(T, close(d as i32) == 0, "close dup");
    check!(T, syscall(SYS_DUP, &[99]) == -EBADF, "dup of a closed fd");
    println!("{}: ok", T);
    0
}
