//! Device files and FIFOs: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom,
//! /dev/console and /dev/tty (character devices with Linux's fixed numbers), and a FIFO
//! made by mknodat — a blocking writer child and reader parent, O_NONBLOCK opens on both
//! sides (a reader needs no writer, a writer needs a reader: ENXIO), FIONREAD, ESPIPE.
//!
//! The FIFO lives under /tmp/fs_dev and is removed at the end; the body runs twice in a
//! child process (a warm-up, then a run whose frames and heap must come back).
#![no_std]
#![no_main]

use core::ffi::CStr;

use ulib::*;

const T: &str = "fs_dev";
const DIR: &CStr = c"/tmp/fs_dev";
const FIFO: &CStr = c"/tmp/fs_dev/fifo";

fn must_open(path: &CStr, flags: usize) -> i32 {
    let fd = open(path, flags, 0);
    check!(T, fd >= 0, "open({:?}) gave {}", path, fd);
    fd as i32
}

/// `path` is character device major:minor (the numbers in Linux's devices.txt).
fn check_chr(path: &CStr, major_no: u64, minor_no: u64) {
    match stat(path) {
        Ok(s) => check!(
            T,
            s.kind() == S_IFCHR && s.rdev == makedev(major_no, minor_no),
            "{:?}: mode {:o} rdev {}:{}, want a character device {}:{}",
            path,
            s.mode,
            major(s.rdev),
            minor(s.rdev),
            major_no,
            minor_no
        ),
        Err(e) => fail!(T, "stat {:?} gave {}", path, e),
    }
}

fn memory_devices() {
    let mut buf = [0xaau8; 4096];
    check_chr(c"/dev/null", 1, 3);
    let fd = must_open(c"/dev/null", O_RDWR);
    let r = read(fd, &mut buf);
    check!(T, r == 0, "read /dev/null: got {} want 0 (end of file)", r);
    let r = write(fd, &buf[..100]);
    check!(T, r == 100, "write 100 bytes to /dev/null: got {}", r);
    let mut termios = [0u8; 60];
    let r = ioctl(fd, TCGETS, termios.as_mut_ptr() as usize);
    check!(
        T,
        r == -ENOTTY,
        "TCGETS on /dev/null: got {} want {}",
        r,
        -ENOTTY
    );
    close(fd);

    check_chr(c"/dev/zero", 1, 5);
    let fd = must_open(c"/dev/zero", O_RDWR);
    let r = read(fd, &mut buf);
    check!(T, r == 4096, "read 4096 bytes of /dev/zero: got {}", r);
    check!(
        T,
        buf.iter().all(|&b| b == 0),
        "/dev/zero gave a non-zero byte"
    );
    let r = write(fd, &buf[..10]);
    check!(T, r == 10, "write to /dev/zero: got {} want 10", r);
    // Mapping /dev/zero gives zero-filled memory (optional here: -ENODEV means the kernel
    // does not map this device).
    let p = mmap6(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd as usize, 0);
    if p != -ENODEV {
        check!(T, p > 0, "mmap of /dev/zero: got {}", p);
        // SAFETY: a fresh 8 KiB read-write private mapping.
        let m = unsafe { core::slice::from_raw_parts_mut(p as *mut u8, 8192) };
        check!(
            T,
            m.iter().all(|&b| b == 0),
            "a mapping of /dev/zero holds a non-zero byte"
        );
        m[100] = 1;
        check!(T, munmap(p as usize, 8192) == 0, "munmap");
    }
    close(fd);

    check_chr(c"/dev/full", 1, 7);
    let fd = must_open(c"/dev/full", O_RDWR);
    let r = write(fd, b"x");
    check!(
        T,
        r == -ENOSPC,
        "write to /dev/full: got {} want {}",
        r,
        -ENOSPC
    );
    buf.fill(0xaa);
    let r = read(fd, &mut buf[..100]);
    check!(
        T,
        r == 100 && buf[..100].iter().all(|&b| b == 0),
        "read /dev/full: got {} (want 100 zero bytes)",
        r
    );
    close(fd);

    for (path, minor_no) in [(c"/dev/random", 8), (c"/dev/urandom", 9)] {
        check_chr(path, 1, minor_no);
        let fd = must_open(path, O_RDONLY);
        let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
        let (ra, rb) = (read(fd, &mut a), read(fd, &mut b));
        check!(
            T,
            ra == 64 && rb == 64,
            "read 64 bytes of {:?} twice: got {} and {}",
            path,
            ra,
            rb
        );
        // Two 64-byte reads from a random source are equal with probability 2^-512.
        check!(T, a != b, "two reads of {:?} gave the same bytes", path);
        close(fd);
    }

    check_chr(c"/dev/tty", 5, 0);
    check_chr(c"/dev/console", 5, 1);
}

fn fifo() {
    check!(
        T,
        mknodat(AT_FDCWD, FIFO, S_IFIFO | 0o600, 0) == 0,
        "mknodat S_IFIFO"
    );
    // Opening one end blocks until the other end is opened too; then data flows, and
    // the reader sees end of file when the writer closes.
    let pid = spawn(|| {
        let fd = open(FIFO, O_WRONLY, 0);
        check!(T, fd >= 0, "child: open the FIFO for writing gave {}", fd);
        check!(
            T,
            write(fd as i32, b"hello fifo") == 10,
            "child: write to the FIFO"
        );
        close(fd as i32);
        0
    });
    let fd = must_open(FIFO, O_RDONLY);
    let st = fstat(fd);
    check!(
        T,
        matches!(st, Ok(s) if s.kind() == S_IFIFO),
        "fstat of a FIFO fd: {:?}",
        st.map(|s| s.mode)
    );
    let mut buf = [0u8; 32];
    let mut got = 0;
    loop {
        let n = read(fd, &mut buf[got..]);
        check!(T, n >= 0, "read the FIFO gave {}", n);
        if n == 0 {
            break;
        }
        got += n as usize;
    }
    check!(
        T,
        &buf[..got] == b"hello fifo",
        "read {:?} from the FIFO",
        core::str::from_utf8(&buf[..got])
    );
    check!(T, wait_exit_code(pid) == 0, "the writer child failed");
    close(fd);

    // O_NONBLOCK: a reader opens at once without a writer (and reads end of file) ...
    let r = must_open(FIFO, O_RDONLY | O_NONBLOCK);
    let n = read(r, &mut buf);
    check!(
        T,
        n == 0,
        "read a FIFO that has no writer: got {} want 0",
        n
    );
    // ... a writer without a reader fails ...
    check!(T, close(r) == 0, "close the reader");
    let w = open(FIFO, O_WRONLY | O_NONBLOCK, 0);
    check!(
        T,
        w == -ENXIO,
        "O_NONBLOCK open for writing with no reader: got {} want {}",
        w,
        -ENXIO
    );
    // ... and succeeds once there is one.
    let r = must_open(FIFO, O_RDONLY | O_NONBLOCK);
    let w = must_open(FIFO, O_WRONLY | O_NONBLOCK);
    check!(T, write(w, b"abc") == 3, "write 3 bytes");
    let mut avail = 0i32;
    let res = ioctl(r, FIONREAD, &mut avail as *mut i32 as usize);
    check!(
        T,
        res == 0 && avail == 3,
        "FIONREAD on the FIFO: {} and {} bytes (want 3)",
        res,
        avail
    );
    let res = lseek(r, 0, SEEK_SET);
    check!(
        T,
        res == -ESPIPE,
        "lseek on a FIFO: got {} want {}",
        res,
        -ESPIPE
    );
    let n = read(r, &mut buf);
    check!(
        T,
        n == 3 && &buf[..3] == b"abc",
        "read through the FIFO: {}",
        n
    );
    // An empty FIFO with a writer: O_NONBLOCK read says EAGAIN, not end of file.
    let n = read(r, &mut buf);
    check!(
        T,
        n == -EAGAIN,
        "read an empty FIFO that has a writer: got {} want {}",
        n,
        -EAGAIN
    );
    close(w);
    let n = read(r, &mut buf);
    check!(T, n == 0, "read after the writer closed: got {} want 0", n);
    close(r);
    check!(T, unlink(FIFO) == 0, "unlink the FIFO");
}

fn body() -> i32 {
    umask(0o022);
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    memory_devices();
    fifo();
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    run_test_twice(T, body)
}
