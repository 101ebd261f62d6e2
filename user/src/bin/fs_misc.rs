//! The smaller file calls: sendfile (file → pipe, file → file; without an offset pointer
//! it reads at and moves the file offset, with one it reads there, advances the pointer
//! and leaves the file offset alone; its errors), ioctl FIONREAD (a pipe: bytes waiting;
//! a regular file: bytes from the offset to EOF), FIONBIO (sets and clears O_NONBLOCK as
//! F_GETFL sees it), FIOCLEX/FIONCLEX, ENOTTY for a terminal ioctl (TCGETS) on a file or
//! a pipe, and sync/fsync/fdatasync (0 on a file or a directory, EINVAL on a pipe).
//!
//! Files live under /tmp/fs_misc and are removed at the end; the body runs twice in a
//! child process (a warm-up, then a run whose frames and heap must come back).
#![no_std]
#![no_main]

use core::ffi::CStr;

use ulib::*;

const T: &str = "fs_misc";
const DIR: &CStr = c"/tmp/fs_misc";
const SRC: &CStr = c"/tmp/fs_misc/src";
const DST: &CStr = c"/tmp/fs_misc/dst";
const DATA: &[u8] = b"0123456789abcdefghij";

fn must_open(path: &CStr, flags: usize) -> i32 {
    let fd = open(path, flags, 0o644);
    check!(T, fd >= 0, "open({:?}, {:#o}) gave {}", path, flags, fd);
    fd as i32
}

fn offset(fd: i32) -> isize {
    lseek(fd, 0, SEEK_CUR)
}

/// Reads what is in the pipe (at most `buf.len()` bytes, without blocking on an empty
/// pipe because the caller knows how much is there).
fn drain(fd: i32, buf: &mut [u8], n: usize) -> &[u8] {
    let r = read(fd, &mut buf[..n]);
    check!(
        T,
        r == n as isize,
        "read of {} bytes from the pipe gave {}",
        n,
        r
    );
    &buf[..n]
}

fn sendfile_to_pipe() {
    let src = must_open(SRC, O_RDWR | O_CREAT | O_TRUNC);
    check!(T, write(src, DATA) == 20, "write src");
    check!(T, lseek(src, 0, SEEK_SET) == 0, "lseek(0)");
    let p = pipe();
    let mut buf = [0u8; 64];

    // No offset pointer: read at the file offset and move it.
    let r = sendfile(p[1], src, None, 5);
    check!(T, r == 5, "sendfile(pipe, file, NULL, 5) gave {}", r);
    check!(
        T,
        offset(src) == 5,
        "file offset after sendfile without a pointer: {} (want 5)",
        offset(src)
    );
    let got = drain(p[0], &mut buf, 5);
    check!(T, got == b"01234", "the pipe got {:?}", got);

    // With an offset pointer: read there, advance the pointer, leave the file offset.
    let mut off: i64 = 10;
    let r = sendfile(p[1], src, Some(&mut off), 4);
    check!(T, r == 4, "sendfile(pipe, file, &10, 4) gave {}", r);
    check!(
        T,
        off == 14,
        "the offset pointer after sendfile: {} (want 14)",
        off
    );
    check!(
        T,
        offset(src) == 5,
        "sendfile with a pointer moved the file offset to {} (want 5)",
        offset(src)
    );
    let got = drain(p[0], &mut buf, 4);
    check!(T, got == b"abcd", "the pipe got {:?}", got);

    // Near EOF it sends what is left; at or past EOF it sends nothing.
    let mut off: i64 = 17;
    let r = sendfile(p[1], src, Some(&mut off), 100);
    check!(
        T,
        r == 3 && off == 20,
        "sendfile of 100 bytes from 17 of 20 gave {}, pointer {}",
        r,
        off
    );
    let got = drain(p[0], &mut buf, 3);
    check!(T, got == b"hij", "the pipe got {:?}", got);
    let mut off: i64 = 20;
    let r = sendfile(p[1], src, Some(&mut off), 10);
    check!(
        T,
        r == 0 && off == 20,
        "sendfile at EOF gave {}, pointer {}",
        r,
        off
    );
    let mut off: i64 = 1000;
    let r = sendfile(p[1], src, Some(&mut off), 10);
    check!(
        T,
        r == 0 && off == 1000,
        "sendfile past EOF gave {}, pointer {}",
        r,
        off
    );
    let r = sendfile(p[1], src, None, 0);
    check!(
        T,
        r == 0 && offset(src) == 5,
        "sendfile of 0 bytes gave {}",
        r
    );

    // The errors.
    let mut off: i64 = -1;
    let r = sendfile(p[1], src, Some(&mut off), 1);
    check!(T, r == -EINVAL, "sendfile with offset -1 gave {}", r);
    let r = syscall(SYS_SENDFILE, &[p[1] as usize, src as usize, 8, 1]);
    check!(
        T,
        r == -EFAULT,
        "sendfile with an unmapped offset pointer gave {}",
        r
    );
    let r = sendfile(99, src, None, 1);
    check!(T, r == -EBADF, "sendfile to a closed fd gave {}", r);
    let r = sendfile(p[1], 99, None, 1);
    check!(T, r == -EBADF, "sendfile from a closed fd gave {}", r);
    let wo = must_open(SRC, O_WRONLY);
    let r = sendfile(p[1], wo, None, 1);
    check!(T, r == -EBADF, "sendfile from an O_WRONLY fd gave {}", r);
    close(wo);
    let r = sendfile(p[0], src, None, 1);
    check!(
        T,
        r == -EBADF,
        "sendfile to the read end of a pipe gave {}",
        r
    );
    // A pipe as the source: Linux 6.1 cannot read a pipe this way (EINVAL).
    check!(T, write(p[1], b"xy") == 2, "write to the pipe");
    let r = sendfile(src, p[0], None, 2);
    check!(T, r == -EINVAL, "sendfile from a pipe gave {}", r);
    close(p[0]);
    close(p[1]);
    close(src);
}

fn sendfile_to_file() {
    // A source bigger than a page, copied whole (in as many calls as it takes).
    let src = must_open(SRC, O_RDWR | O_CREAT | O_TRUNC);
    let mut big = [0u8; 10000];
    for (i, b) in big.iter_mut().enumerate() {
        *b = (i * 13 % 256) as u8;
    }
    check!(T, write(src, &big) == 10000, "write src");
    let dst = must_open(DST, O_RDWR | O_CREAT | O_TRUNC);
    let mut off: i64 = 0;
    let mut total = 0;
    loop {
        let r = sendfile(dst, src, Some(&mut off), 1 << 20);
        check!(T, r >= 0, "sendfile(file, file) at {} gave {}", off, r);
        if r == 0 {
            break;
        }
        total += r;
        check!(
            T,
            off == total as i64,
            "the offset pointer {} after {} bytes",
            off,
            total
        );
    }
    check!(
        T,
        total == 10000,
        "sendfile copied {} bytes of 10000",
        total
    );
    check!(
        T,
        offset(src) == 10000,
        "the source offset moved to {} (want 10000, from the write)",
        offset(src)
    );
    check!(
        T,
        offset(dst) == 10000,
        "the destination offset is {} (want 10000)",
        offset(dst)
    );
    let mut back = [0u8; 10000];
    let r = pread(dst, &mut back, 0);
    check!(
        T,
        r == 10000 && back == big,
        "the copy differs ({} bytes read)",
        r
    );

    // Without a pointer, from the source's offset to the destination's offset.
    check!(T, lseek(src, 9990, SEEK_SET) == 9990, "lseek src");
    check!(T, lseek(dst, 2, SEEK_SET) == 2, "lseek dst");
    let r = sendfile(dst, src, None, 4);
    check!(T, r == 4, "sendfile(file, file, NULL, 4) gave {}", r);
    check!(
        T,
        offset(src) == 9994 && offset(dst) == 6,
        "offsets after sendfile: source {} (want 9994), destination {} (want 6)",
        offset(src),
        offset(dst)
    );
    let mut four = [0u8; 4];
    check!(
        T,
        pread(dst, &mut four, 2) == 4 && four == big[9990..9994],
        "the 4 bytes copied"
    );
    close(dst);

    // Linux refuses an O_APPEND destination (EINVAL) and a read-only one (EBADF).
    let app = must_open(DST, O_WRONLY | O_APPEND);
    let r = sendfile(app, src, None, 1);
    check!(T, r == -EINVAL, "sendfile to an O_APPEND file gave {}", r);
    close(app);
    let ro = must_open(DST, O_RDONLY);
    let r = sendfile(ro, src, None, 1);
    check!(T, r == -EBADF, "sendfile to an O_RDONLY file gave {}", r);
    close(ro);
    close(src);
    check!(T, unlink(DST) == 0, "unlink dst");
}

/// ioctl(fd, req, &int): the result and the int.
fn ioctl_int(fd: i32, req: usize, val: i32) -> (isize, i32) {
    let mut v = val;
    let r = ioctl(fd, req, &mut v as *mut i32 as usize);
    (r, v)
}

fn ioctls() {
    // FIONREAD on a pipe: the bytes waiting in it.
    let p = pipe();
    let (r, n) = ioctl_int(p[0], FIONREAD, -1);
    check!(
        T,
        r == 0 && n == 0,
        "FIONREAD of an empty pipe: {} -> {}",
        r,
        n
    );
    check!(T, write(p[1], b"twelve bytes") == 12, "write to the pipe");
    let (r, n) = ioctl_int(p[0], FIONREAD, -1);
    check!(
        T,
        r == 0 && n == 12,
        "FIONREAD of a pipe holding 12 bytes: {} -> {}",
        r,
        n
    );
    let mut buf = [0u8; 5];
    check!(T, read(p[0], &mut buf) == 5, "read 5");
    let (r, n) = ioctl_int(p[0], FIONREAD, -1);
    check!(
        T,
        r == 0 && n == 7,
        "FIONREAD after reading 5 of 12: {} -> {}",
        r,
        n
    );

    // FIONBIO sets and clears O_NONBLOCK, as F_GETFL and read see it.
    let (r, _) = ioctl_int(p[0], FIONBIO, 1);
    check!(T, r == 0, "FIONBIO 1 gave {}", r);
    let fl = fcntl(p[0], F_GETFL, 0);
    check!(
        T,
        fl >= 0 && fl as usize & O_NONBLOCK != 0,
        "F_GETFL after FIONBIO 1: {:#o}",
        fl
    );
    let mut rest = [0u8; 16];
    check!(T, read(p[0], &mut rest) == 7, "read the rest");
    let r = read(p[0], &mut rest);
    check!(
        T,
        r == -EAGAIN,
        "read of an empty pipe after FIONBIO 1 gave {}",
        r
    );
    let (r, _) = ioctl_int(p[0], FIONBIO, 0);
    check!(T, r == 0, "FIONBIO 0 gave {}", r);
    let fl = fcntl(p[0], F_GETFL, 0);
    check!(
        T,
        fl >= 0 && fl as usize & O_NONBLOCK == 0,
        "F_GETFL after FIONBIO 0: {:#o}",
        fl
    );

    // FIOCLEX / FIONCLEX set and clear the close-on-exec flag (no argument).
    check!(T, ioctl(p[1], FIOCLEX, 0) == 0, "FIOCLEX");
    check!(
        T,
        fcntl(p[1], F_GETFD, 0) == FD_CLOEXEC as isize,
        "F_GETFD after FIOCLEX: {}",
        fcntl(p[1], F_GETFD, 0)
    );
    check!(T, ioctl(p[1], FIONCLEX, 0) == 0, "FIONCLEX");
    check!(
        T,
        fcntl(p[1], F_GETFD, 0) == 0,
        "F_GETFD after FIONCLEX: {}",
        fcntl(p[1], F_GETFD, 0)
    );

    // Terminal ioctls on what is not a terminal: ENOTTY.
    let mut termios = [0u8; 64];
    let r = ioctl(p[0], TCGETS, termios.as_mut_ptr() as usize);
    check!(T, r == -ENOTTY, "TCGETS on a pipe gave {}", r);

    // FIONREAD on a regular file: the bytes from the offset to EOF.
    let f = must_open(SRC, O_RDWR | O_CREAT | O_TRUNC);
    check!(T, write(f, DATA) == 20, "write src");
    let (r, n) = ioctl_int(f, FIONREAD, -1);
    check!(
        T,
        r == 0 && n == 0,
        "FIONREAD of a file at its EOF: {} -> {}",
        r,
        n
    );
    check!(T, lseek(f, 6, SEEK_SET) == 6, "lseek(6)");
    let (r, n) = ioctl_int(f, FIONREAD, -1);
    check!(
        T,
        r == 0 && n == 14,
        "FIONREAD of a 20-byte file at offset 6: {} -> {}",
        r,
        n
    );
    let r = ioctl(f, TCGETS, termios.as_mut_ptr() as usize);
    check!(T, r == -ENOTTY, "TCGETS on a regular file gave {}", r);
    let r = ioctl(f, 0x1234_5678, 0);
    check!(
        T,
        r == -ENOTTY,
        "an unknown ioctl on a regular file gave {}",
        r
    );
    let (r, _) = ioctl_int(f, FIONBIO, 1);
    check!(T, r == 0, "FIONBIO on a regular file gave {}", r);
    let fl = fcntl(f, F_GETFL, 0);
    check!(
        T,
        fl >= 0 && fl as usize & O_NONBLOCK != 0,
        "F_GETFL of a file after FIONBIO 1: {:#o}",
        fl
    );
    let r = ioctl(99, FIONREAD, termios.as_mut_ptr() as usize);
    check!(T, r == -EBADF, "ioctl on a closed fd gave {}", r);
    let r = ioctl(p[0], FIONREAD, 8);
    check!(T, r == -EFAULT, "FIONREAD into an unmapped int gave {}", r);

    // sync cannot fail; fsync and fdatasync succeed on files and directories (tmpfs has
    // nothing to write back) and are EINVAL on a pipe.
    check!(T, sync() == 0, "sync");
    let r = fsync(f);
    check!(T, r == 0, "fsync of a file gave {}", r);
    let r = fdatasync(f);
    check!(T, r == 0, "fdatasync of a file gave {}", r);
    let ro = must_open(SRC, O_RDONLY);
    let r = fsync(ro);
    check!(T, r == 0, "fsync of an O_RDONLY file gave {}", r);
    close(ro);
    let d = must_open(DIR, O_RDONLY | O_DIRECTORY);
    let r = fsync(d);
    check!(T, r == 0, "fsync of a directory gave {}", r);
    close(d);
    let r = fsync(p[1]);
    check!(T, r == -EINVAL, "fsync of a pipe gave {}", r);
    let r = fdatasync(p[0]);
    check!(T, r == -EINVAL, "fdatasync of a pipe gave {}", r);
    let r = fsync(99);
    check!(T, r == -EBADF, "fsync of a closed fd gave {}", r);
    close(f);
    close(p[0]);
    close(p[1]);
}

fn body() -> i32 {
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    sendfile_to_pipe();
    sendfile_to_file();
    ioctls();
    check!(T, unlink(SRC) == 0, "unlink src");
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    run_test_twice(T, body)
}
