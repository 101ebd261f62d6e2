//! Reading and writing a regular file: read/write and the file offset (0 at EOF, two opens
//! have two offsets, a write of 0 bytes), pread64/pwrite64 (the offset stays put,
//! negative → EINVAL, a pipe → ESPIPE, O_APPEND makes pwrite append on Linux),
//! readv/writev/preadv/pwritev (segment order, zero-length segments, EFAULT for a bad
//! first segment and a short count for a later one, EINVAL for too many), lseek
//! (SEEK_SET/CUR/END, past EOF, holes read as zeros, EINVAL, ESPIPE, SEEK_DATA/SEEK_HOLE)
//! and truncate/ftruncate (grow, shrink then grow again, the errors).
//!
//! Everything lives under /tmp/fs_rw and is removed at the end; the body runs twice in a
//! child process (a warm-up, then a run whose frames and heap must come back).
#![no_std]
#![no_main]

use core::ffi::CStr;

use ulib::*;

const T: &str = "fs_rw";
const DIR: &CStr = c"/tmp/fs_rw";
const F: &CStr = c"/tmp/fs_rw/f";
const G: &CStr = c"/tmp/fs_rw/g";

fn must_open(path: &CStr, flags: usize) -> i32 {
    let fd = open(path, flags, 0o644);
    check!(T, fd >= 0, "open({:?}, {:#o}) gave {}", path, flags, fd);
    fd as i32
}

fn size_of(fd: i32) -> i64 {
    match fstat(fd) {
        Ok(st) => st.size,
        Err(e) => fail!(T, "fstat({}) gave {}", fd, e),
    }
}

/// The current offset of `fd` (lseek(fd, 0, SEEK_CUR)).
fn offset(fd: i32) -> isize {
    lseek(fd, 0, SEEK_CUR)
}

/// Reads exactly `buf.len()` bytes at `off` (pread) or fails the test naming `what`.
fn pread_exact(what: &str, fd: i32, buf: &mut [u8], off: i64) {
    let n = pread(fd, buf, off);
    check!(
        T,
        n == buf.len() as isize,
        "{}: pread(len {}, off {}) gave {}",
        what,
        buf.len(),
        off,
        n
    );
}

/// An address with nothing mapped at it: a page mapped and unmapped again.
fn unmapped_address() -> usize {
    let p = alloc_pages(4096) as usize;
    check!(T, munmap(p, 4096) == 0, "munmap");
    p
}

fn read_write_offsets() {
    let fd = must_open(F, O_RDWR | O_CREAT | O_TRUNC);
    check!(T, write(fd, b"hello, ") == 7, "write 7 bytes");
    check!(T, write(fd, b"world") == 5, "write 5 bytes");
    check!(
        T,
        offset(fd) == 12,
        "offset after 12 bytes written: {}",
        offset(fd)
    );
    // A write of 0 bytes succeeds, writes nothing and leaves the size alone.
    let r = write(fd, b"");
    check!(T, r == 0, "write of 0 bytes gave {}", r);
    check!(
        T,
        size_of(fd) == 12,
        "size after an empty write: {}",
        size_of(fd)
    );
    // At EOF read returns 0 (not an error).
    let mut buf = [0u8; 32];
    let r = read(fd, &mut buf);
    check!(T, r == 0, "read at EOF gave {}", r);
    check!(T, lseek(fd, 0, SEEK_SET) == 0, "lseek(0, SEEK_SET)");
    let r = read(fd, &mut buf);
    check!(
        T,
        r == 12 && &buf[..12] == b"hello, world",
        "read of the whole file gave {} bytes {:?}",
        r,
        &buf[..r.max(0) as usize]
    );
    // A read of 0 bytes returns 0 and does not move the offset.
    check!(T, lseek(fd, 3, SEEK_SET) == 3, "lseek(3)");
    let r = read(fd, &mut buf[..0]);
    check!(
        T,
        r == 0 && offset(fd) == 3,
        "read of 0 bytes: {}, offset {}",
        r,
        offset(fd)
    );

    // A second open of the same file has its own offset.
    let fd2 = must_open(F, O_RDWR);
    check!(
        T,
        offset(fd2) == 0,
        "a new open starts at 0: {}",
        offset(fd2)
    );
    let r = read(fd2, &mut buf[..5]);
    check!(
        T,
        r == 5 && &buf[..5] == b"hello",
        "read through the second open: {}",
        r
    );
    check!(
        T,
        offset(fd) == 3 && offset(fd2) == 5,
        "offsets of two opens: {} and {} (want 3 and 5)",
        offset(fd),
        offset(fd2)
    );
    // ...but both see the same data: a write through one is read through the other.
    check!(T, write(fd, b"LO") == 2, "write through the first open");
    let r = pread(fd2, &mut buf[..5], 0);
    check!(
        T,
        r == 5 && &buf[..5] == b"helLO",
        "pread after a write through another open: {:?}",
        &buf[..5]
    );
    close(fd2);

    // Access modes: reading a write-only descriptor and writing a read-only one are EBADF.
    let wo = must_open(F, O_WRONLY);
    let r = read(wo, &mut buf);
    check!(T, r == -EBADF, "read of an O_WRONLY fd gave {}", r);
    close(wo);
    let ro = must_open(F, O_RDONLY);
    let r = write(ro, b"x");
    check!(T, r == -EBADF, "write to an O_RDONLY fd gave {}", r);
    close(ro);
    // A directory can be opened but not read.
    let d = must_open(DIR, O_RDONLY | O_DIRECTORY);
    let r = read(d, &mut buf);
    check!(T, r == -EISDIR, "read of a directory gave {}", r);
    let r = pread(d, &mut buf, 0);
    check!(T, r == -EISDIR, "pread of a directory gave {}", r);
    close(d);
    close(fd);
}

fn pread_pwrite() {
    let fd = must_open(F, O_RDWR | O_CREAT | O_TRUNC);
    check!(T, write(fd, b"0123456789") == 10, "write");
    check!(T, lseek(fd, 4, SEEK_SET) == 4, "lseek(4)");
    // pread and pwrite use their own offset and leave the file's where it was.
    let mut buf = [0u8; 16];
    pread_exact("pread", fd, &mut buf[..3], 7);
    check!(T, &buf[..3] == b"789", "pread at 7: {:?}", &buf[..3]);
    check!(
        T,
        offset(fd) == 4,
        "offset after pread: {} (want 4)",
        offset(fd)
    );
    let r = pwrite(fd, b"ab", 1);
    check!(T, r == 2, "pwrite at 1 gave {}", r);
    check!(
        T,
        offset(fd) == 4,
        "offset after pwrite: {} (want 4)",
        offset(fd)
    );
    // pread past EOF returns what is left, then 0.
    let r = pread(fd, &mut buf, 8);
    check!(
        T,
        r == 2 && &buf[..2] == b"89",
        "pread across EOF gave {}",
        r
    );
    let r = pread(fd, &mut buf, 10);
    check!(T, r == 0, "pread at EOF gave {}", r);
    let r = pread(fd, &mut buf, 1000);
    check!(T, r == 0, "pread past EOF gave {}", r);
    // pwrite past EOF extends the file; the gap reads as zeros.
    let r = pwrite(fd, b"Z", 15);
    check!(
        T,
        r == 1 && size_of(fd) == 16,
        "pwrite at 15: {}, size {}",
        r,
        size_of(fd)
    );
    pread_exact("pread of the whole file", fd, &mut buf, 0);
    check!(
        T,
        &buf == b"0ab3456789\0\0\0\0\0Z",
        "file after pwrites: {:?}",
        &buf
    );
    // A negative offset is EINVAL; on a pipe there is no offset (ESPIPE).
    let r = pread(fd, &mut buf, -1);
    check!(T, r == -EINVAL, "pread at -1 gave {}", r);
    let r = pwrite(fd, b"x", -1);
    check!(T, r == -EINVAL, "pwrite at -1 gave {}", r);
    let p = pipe();
    check!(T, write(p[1], b"abc") == 3, "write to the pipe");
    let r = pread(p[0], &mut buf, 0);
    check!(T, r == -ESPIPE, "pread of a pipe gave {}", r);
    let r = pwrite(p[1], b"x", 0);
    check!(T, r == -ESPIPE, "pwrite to a pipe gave {}", r);
    close(p[0]);
    close(p[1]);
    close(fd);

    // O_APPEND: write goes to the end whatever the offset; on Linux pwrite does too (a
    // documented bug, "BUGS" in pwrite(2)): the offset argument is ignored.
    let fd = must_open(F, O_RDWR | O_APPEND);
    check!(T, lseek(fd, 0, SEEK_SET) == 0, "lseek(0) on O_APPEND");
    check!(T, write(fd, b"W") == 1, "write with O_APPEND");
    check!(
        T,
        size_of(fd) == 17,
        "size after an O_APPEND write: {}",
        size_of(fd)
    );
    check!(
        T,
        offset(fd) == 17,
        "offset after an O_APPEND write: {} (want 17)",
        offset(fd)
    );
    let r = pwrite(fd, b"P", 0);
    check!(T, r == 1, "pwrite with O_APPEND gave {}", r);
    let mut all = [0u8; 18];
    pread_exact("pread after O_APPEND writes", fd, &mut all, 0);
    check!(
        T,
        all[0] == b'0' && &all[16..] == b"WP",
        "pwrite(offset 0) on an O_APPEND fd must append (Linux): file {:?}",
        &all
    );
    check!(
        T,
        offset(fd) == 17,
        "pwrite with O_APPEND moved the offset to {}",
        offset(fd)
    );
    close(fd);
}

fn vectors() {
    let fd = must_open(F, O_RDWR | O_CREAT | O_TRUNC);
    // writev: segments are written in order, zero-length ones contribute nothing.
    let (a, b, c) = (b"first-", b"", b"second-third");
    let iov = [IoVec::of(a), IoVec::of(b), IoVec::of(c), IoVec::of(b"")];
    let r = writev(fd, &iov);
    check!(T, r == 18, "writev of 6+0+12+0 bytes gave {}", r);
    check!(T, offset(fd) == 18, "offset after writev: {}", offset(fd));
    // readv fills the segments in order.
    check!(T, lseek(fd, 0, SEEK_SET) == 0, "lseek(0)");
    let (mut x, mut y, mut z) = ([0u8; 4], [0u8; 0], [0u8; 20]);
    let iov = [
        IoVec::of_mut(&mut x),
        IoVec::of_mut(&mut y),
        IoVec::of_mut(&mut z),
    ];
    let r = readv(fd, &iov);
    check!(T, r == 18, "readv of an 18-byte file gave {}", r);
    check!(
        T,
        &x == b"firs" && &z[..14] == b"t-second-third",
        "readv: {:?} {:?}",
        &x,
        &z[..14]
    );
    check!(T, offset(fd) == 18, "offset after readv: {}", offset(fd));
    // No segments: 0.
    let r = readv(fd, &[]);
    check!(T, r == 0, "readv with 0 segments gave {}", r);
    let r = writev(fd, &[]);
    check!(T, r == 0, "writev with 0 segments gave {}", r);

    // pwritev/preadv: at an offset, without moving the file offset.
    let iov = [IoVec::of(b"AB"), IoVec::of(b""), IoVec::of(b"CD")];
    let r = pwritev(fd, &iov, 2);
    check!(T, r == 4, "pwritev at 2 gave {}", r);
    check!(
        T,
        offset(fd) == 18,
        "offset after pwritev: {} (want 18)",
        offset(fd)
    );
    let (mut x, mut y) = ([0u8; 3], [0u8; 5]);
    let iov = [IoVec::of_mut(&mut x), IoVec::of_mut(&mut y)];
    let r = preadv(fd, &iov, 1);
    check!(T, r == 8, "preadv at 1 gave {}", r);
    check!(
        T,
        &x == b"iAB" && &y == b"CDsec",
        "preadv: {:?} {:?}",
        &x,
        &y
    );
    check!(
        T,
        offset(fd) == 18,
        "offset after preadv: {} (want 18)",
        offset(fd)
    );
    let r = preadv(fd, &iov, -1);
    check!(T, r == -EINVAL, "preadv at -1 gave {}", r);

    // A bad address: EFAULT if nothing could be copied, otherwise the bytes done so far.
    let bad = unmapped_address();
    let iov = [IoVec { base: bad, len: 4 }, IoVec::of(b"ok")];
    let r = pwritev(fd, &iov, 0);
    check!(
        T,
        r == -EFAULT,
        "pwritev with a bad first segment gave {}",
        r
    );
    let iov = [IoVec::of(b"12345"), IoVec { base: bad, len: 4 }];
    let r = pwritev(fd, &iov, 0);
    check!(
        T,
        r == 5,
        "pwritev with a bad second segment gave {} (want 5, a short count)",
        r
    );
    let mut got = [0u8; 5];
    pread_exact("pread after a short pwritev", fd, &mut got, 0);
    check!(T, &got == b"12345", "the short pwritev wrote {:?}", &got);
    let mut ok = [0u8; 3];
    let iov = [IoVec { base: bad, len: 4 }, IoVec::of_mut(&mut ok)];
    let r = preadv(fd, &iov, 0);
    check!(
        T,
        r == -EFAULT,
        "preadv with a bad first segment gave {}",
        r
    );
    let iov = [IoVec::of_mut(&mut ok), IoVec { base: bad, len: 4 }];
    let r = preadv(fd, &iov, 0);
    check!(
        T,
        r == 3,
        "preadv with a bad second segment gave {} (want 3, a short count)",
        r
    );
    // The iovec array itself unreadable: EFAULT.
    let r = syscall(SYS_READV, &[fd as usize, bad, 1]);
    check!(
        T,
        r == -EFAULT,
        "readv with an unmapped iovec array gave {}",
        r
    );
    // More than IOV_MAX (1024) segments, or a length that is negative as an ssize_t: EINVAL.
    let r = syscall(SYS_WRITEV, &[fd as usize, iov.as_ptr() as usize, 1025]);
    check!(T, r == -EINVAL, "writev with 1025 segments gave {}", r);
    let mut one = [0u8; 1];
    let huge = [IoVec {
        base: one.as_mut_ptr() as usize,
        len: usize::MAX,
    }];
    let r = readv(fd, &huge);
    check!(
        T,
        r == -EINVAL,
        "readv with a segment length of -1 gave {}",
        r
    );
    close(fd);
}

fn seeking() {
    let fd = must_open(F, O_RDWR | O_CREAT | O_TRUNC);
    check!(T, write(fd, b"0123456789") == 10, "write");
    let r = lseek(fd, 3, SEEK_SET);
    check!(T, r == 3, "lseek(3, SEEK_SET) gave {}", r);
    let r = lseek(fd, 4, SEEK_CUR);
    check!(T, r == 7, "lseek(4, SEEK_CUR) from 3 gave {}", r);
    let r = lseek(fd, -2, SEEK_CUR);
    check!(T, r == 5, "lseek(-2, SEEK_CUR) from 7 gave {}", r);
    let r = lseek(fd, -1, SEEK_END);
    check!(
        T,
        r == 9,
        "lseek(-1, SEEK_END) of a 10-byte file gave {}",
        r
    );
    let mut c = [0u8; 1];
    check!(
        T,
        read(fd, &mut c) == 1 && c[0] == b'9',
        "read after SEEK_END"
    );
    // A negative result is EINVAL and leaves the offset alone.
    let r = lseek(fd, -11, SEEK_END);
    check!(
        T,
        r == -EINVAL,
        "lseek(-11, SEEK_END) of a 10-byte file gave {}",
        r
    );
    let r = lseek(fd, -1, SEEK_SET);
    check!(T, r == -EINVAL, "lseek(-1, SEEK_SET) gave {}", r);
    let r = lseek(fd, -100, SEEK_CUR);
    check!(T, r == -EINVAL, "lseek(-100, SEEK_CUR) from 10 gave {}", r);
    check!(
        T,
        offset(fd) == 10,
        "offset after failed lseeks: {} (want 10)",
        offset(fd)
    );
    // An unknown whence is EINVAL.
    let r = lseek(fd, 0, 5);
    check!(T, r == -EINVAL, "lseek with whence 5 gave {}", r);
    let r = lseek(fd, 0, 99);
    check!(T, r == -EINVAL, "lseek with whence 99 gave {}", r);
    // On a pipe there is no offset.
    let p = pipe();
    let r = lseek(p[0], 0, SEEK_CUR);
    check!(T, r == -ESPIPE, "lseek on a pipe gave {}", r);
    close(p[0]);
    close(p[1]);
    let r = lseek(99, 0, SEEK_SET);
    check!(T, r == -EBADF, "lseek on a closed fd gave {}", r);

    // Seeking beyond EOF is allowed and changes nothing by itself; a write there leaves a
    // hole that reads as zeros.
    let r = lseek(fd, 5000, SEEK_SET);
    check!(T, r == 5000, "lseek past EOF gave {}", r);
    check!(
        T,
        size_of(fd) == 10,
        "size after seeking past EOF: {} (want 10)",
        size_of(fd)
    );
    let mut buf = [0u8; 8];
    check!(T, read(fd, &mut buf) == 0, "read past EOF is 0");
    check!(T, write(fd, b"end") == 3, "write past EOF");
    check!(
        T,
        size_of(fd) == 5003,
        "size after writing at 5000: {}",
        size_of(fd)
    );
    let mut hole = [0xffu8; 4990];
    pread_exact("pread of the hole", fd, &mut hole, 10);
    let bad = hole.iter().position(|&b| b != 0);
    check!(
        T,
        bad.is_none(),
        "the hole has a non-zero byte at {:?}",
        bad.map(|i| i + 10)
    );
    check!(
        T,
        lseek(fd, 0, SEEK_END) == 5003,
        "SEEK_END after the write"
    );
    close(fd);
}

/// SEEK_DATA/SEEK_HOLE (tmpfs supports them). A file system may treat the whole file as
/// data (lseek(2)), so a hole may be reported anywhere from the end of the written
/// bytes up to EOF; what is fixed: data at 0 is found at 0, EOF is a hole, and from EOF
/// on both are ENXIO.
fn data_and_holes() {
    let fd = must_open(F, O_RDWR | O_CREAT | O_TRUNC);
    const FAR: i64 = 1 << 20;
    check!(T, write(fd, b"head") == 4, "write");
    check!(T, pwrite(fd, b"tail", FAR) == 4, "pwrite at 1 MiB");
    let size = FAR + 4;
    let r = lseek(fd, 0, SEEK_DATA);
    check!(T, r == 0, "SEEK_DATA from 0 gave {}", r);
    let h = lseek(fd, 0, SEEK_HOLE);
    check!(
        T,
        h >= 4 && (h as i64 <= FAR || h as i64 == size),
        "SEEK_HOLE from 0 gave {} (want a hole after the first 4 bytes)",
        h
    );
    check!(
        T,
        offset(fd) == h,
        "SEEK_HOLE set the offset to {} (want {})",
        offset(fd),
        h
    );
    let d = lseek(fd, 500_000, SEEK_DATA);
    check!(
        T,
        (500_000..=FAR as isize).contains(&d),
        "SEEK_DATA from inside the hole gave {} (want 500000..=1 MiB)",
        d
    );
    let r = lseek(fd, FAR, SEEK_HOLE);
    check!(
        T,
        r == size as isize,
        "SEEK_HOLE from the last data gave {} (want EOF {})",
        r,
        size
    );
    let r = lseek(fd, size, SEEK_DATA);
    check!(T, r == -ENXIO, "SEEK_DATA at EOF gave {}", r);
    let r = lseek(fd, size, SEEK_HOLE);
    check!(T, r == -ENXIO, "SEEK_HOLE at EOF gave {}", r);
    let r = lseek(fd, size + 100, SEEK_DATA);
    check!(T, r == -ENXIO, "SEEK_DATA past EOF gave {}", r);
    // An empty file has no data at all.
    check!(T, ftruncate(fd, 0) == 0, "ftruncate(0)");
    let r = lseek(fd, 0, SEEK_DATA);
    check!(T, r == -ENXIO, "SEEK_DATA in an empty file gave {}", r);
    close(fd);
}

fn truncation() {
    let fd = must_open(F, O_RDWR | O_CREAT | O_TRUNC);
    let mut data = [0u8; 6000];
    for (i, b) in data.iter_mut().enumerate() {
        *b = (i % 251) as u8 + 1; // never 0, so that stale bytes show
    }
    check!(T, write(fd, &data) == 6000, "write 6000 bytes");
    // Growing adds zeros.
    check!(T, ftruncate(fd, 9000) == 0, "ftruncate(9000)");
    check!(
        T,
        size_of(fd) == 9000,
        "size after growing: {}",
        size_of(fd)
    );
    let mut buf = [0xffu8; 3000];
    pread_exact("pread of the grown part", fd, &mut buf, 6000);
    check!(
        T,
        buf.iter().all(|&b| b == 0),
        "the grown part is not all zeros"
    );
    // Shrinking to the middle of a page and growing again must not bring the old bytes
    // back: the rest of the page is cleared.
    check!(T, ftruncate(fd, 100) == 0, "ftruncate(100)");
    check!(
        T,
        size_of(fd) == 100,
        "size after shrinking: {}",
        size_of(fd)
    );
    check!(T, truncate(F, 6000) == 0, "truncate(path, 6000)");
    let mut back = [0xffu8; 6000];
    pread_exact("pread after shrink and grow", fd, &mut back, 0);
    check!(T, back[..100] == data[..100], "the first 100 bytes changed");
    let stale = back[100..].iter().position(|&b| b != 0);
    check!(
        T,
        stale.is_none(),
        "after shrinking to 100 and growing again, byte {:?} is not 0 (old data came back)",
        stale.map(|i| i + 100)
    );
    // The offset is not changed by a truncation, even when it is now past EOF.
    check!(
        T,
        offset(fd) == 6000,
        "offset after truncations: {}",
        offset(fd)
    );
    check!(T, ftruncate(fd, 10) == 0, "ftruncate(10)");
    check!(
        T,
        read(fd, &mut buf) == 0,
        "read with the offset past the new EOF"
    );
    check!(
        T,
        offset(fd) == 6000,
        "offset after reading past EOF: {}",
        offset(fd)
    );

    // The errors.
    let r = ftruncate(fd, -1);
    check!(T, r == -EINVAL, "ftruncate(-1) gave {}", r);
    let r = truncate(F, -1);
    check!(T, r == -EINVAL, "truncate(path, -1) gave {}", r);
    let ro = must_open(F, O_RDONLY);
    let r = ftruncate(ro, 0);
    check!(
        T,
        r == -EINVAL,
        "ftruncate of an O_RDONLY fd gave {} (Linux: EINVAL)",
        r
    );
    close(ro);
    let r = truncate(DIR, 0);
    check!(T, r == -EISDIR, "truncate of a directory gave {}", r);
    let r = truncate(c"/tmp/fs_rw/none", 0);
    check!(T, r == -ENOENT, "truncate of a missing file gave {}", r);
    let p = pipe();
    let r = ftruncate(p[1], 0);
    check!(T, r == -EINVAL, "ftruncate of a pipe gave {}", r);
    close(p[0]);
    close(p[1]);
    let r = ftruncate(99, 0);
    check!(T, r == -EBADF, "ftruncate of a closed fd gave {}", r);
    // O_TRUNC on open empties the file.
    let t = must_open(G, O_WRONLY | O_CREAT | O_TRUNC);
    check!(T, write(t, b"abc") == 3, "write g");
    close(t);
    let t = must_open(G, O_RDONLY | O_TRUNC);
    check!(
        T,
        size_of(t) == 0,
        "O_RDONLY|O_TRUNC left size {}",
        size_of(t)
    );
    close(t);
    check!(T, unlink(G) == 0, "unlink g");
    close(fd);
}

fn body() -> i32 {
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    read_write_offsets();
    pread_pwrite();
    vectors();
    seeking();
    data_and_holes();
    truncation();
    check!(T, unlink(F) == 0, "unlink f");
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    run_test_twice(T, body)
}
