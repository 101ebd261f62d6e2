//! mmap of files, as Linux 6.1 does it (every check passes on the Linux oracle too).
//! MAP_PRIVATE: the file's pages until the first store, then a private copy that neither
//! the file, read(), other mappings nor (after fork) the other process sees. MAP_SHARED:
//! one copy, the page cache's: stores are seen by read(), by every other shared mapping,
//! across fork in both directions, and pwrite is seen through the mapping. The argument
//! checks (EINVAL, EACCES, ENODEV, EBADF), msync, offsets, the zeros after EOF in the
//! last page and SIGBUS beyond it (also after ftruncate), and a mapping that outlives
//! its file's name.
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::ptr::{read_volatile, write_volatile};

use ulib::*;

const T: &str = "fs_mmap";
const PAGE: usize = 4096;
/// The test file: two pages and 100 bytes, so its last page is partly beyond EOF.
const SIZE: usize = 2 * PAGE + 100;
const FILE: &CStr = c"/tmp/fs_mmap.data";
const FILE2: &CStr = c"/tmp/fs_mmap.gone";

// msync is not among ulib's wrappers.
const SYS_MSYNC: usize = 227;
const MS_ASYNC: usize = 1;
const MS_SYNC: usize = 4;

fn msync(addr: usize, len: usize, flags: usize) -> isize {
    syscall(SYS_MSYNC, &[addr, len, flags])
}

/// The file's original bytes: never 0, so that the zeros after EOF stand out.
fn pattern(i: usize) -> u8 {
    (i % 251) as u8 + 1
}

/// The open test file and what its contents must be (every pwrite and every store
/// through a shared mapping is recorded here too).
struct Ctx {
    fd: i32,
    model: [u8; SIZE],
}

impl Ctx {
    fn pwrite(&mut self, off: usize, bytes: &[u8]) {
        let r = pwrite(self.fd, bytes, off as i64);
        check!(
            T,
            r == bytes.len() as isize,
            "pwrite at {} returned {}",
            off,
            r
        );
        self.model[off..off + bytes.len()].copy_from_slice(bytes);
    }

    /// The file's byte at `off`, by pread.
    fn file_byte(&self, off: usize) -> u8 {
        let mut b = [0u8; 1];
        let r = pread(self.fd, &mut b, off as i64);
        check!(T, r == 1, "pread of 1 byte at {} returned {}", off, r);
        b[0]
    }

    /// The whole file by pread must equal the model.
    fn check_file(&self, when: &str) {
        let mut buf = [0u8; SIZE + 1];
        let n = pread(self.fd, &mut buf, 0);
        check!(
            T,
            n == SIZE as isize,
            "{}: pread of the file returned {}",
            when,
            n
        );
        if let Some(i) = (0..SIZE).find(|&i| buf[i] != self.model[i]) {
            fail!(
                T,
                "{}: the file's byte {} is {}, want {}",
                when,
                i,
                buf[i],
                self.model[i]
            );
        }
    }
}

fn map(len: usize, prot: usize, flags: usize, fd: i32, off: usize) -> *mut u8 {
    let r = mmap6(0, len, prot, flags, fd as usize, off);
    check!(
        T,
        r > 0 && (r as usize).is_multiple_of(PAGE),
        "mmap(len {}, prot {}, flags {:#x}, fd {}, off {}) returned {}",
        len,
        prot,
        flags,
        fd,
        off,
        r
    );
    r as *mut u8
}

fn peek(m: *mut u8, i: usize) -> u8 {
    // SAFETY: callers pass offsets inside a mapping of theirs (or expect a SIGBUS).
    unsafe { read_volatile(m.add(i)) }
}

fn poke(m: *mut u8, i: usize, v: u8) {
    // SAFETY: as in peek, for a writable mapping.
    unsafe { write_volatile(m.add(i), v) }
}

/// Checks `m[i] == want` for every i in `range` and says where it is not.
fn expect_bytes(
    what: &str,
    m: *mut u8,
    range: core::ops::Range<usize>,
    want: impl Fn(usize) -> u8,
) {
    for i in range {
        let got = peek(m, i);
        check!(
            T,
            got == want(i),
            "{}: byte {} of the mapping is {}, want {}",
            what,
            i,
            got,
            want(i)
        );
    }
}

/// Touches `m[i]` in a child; the exit code (128 + 7 for SIGBUS).
fn touch_in_child(m: *mut u8, i: usize) -> i32 {
    wait_exit_code(spawn(|| {
        peek(m, i);
        0
    }))
}

fn wait_byte(fd: i32) {
    let mut b = [0u8; 1];
    check!(T, read(fd, &mut b) == 1, "read of the sync pipe");
}

fn private_maps(c: &mut Ctx) {
    let a = map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, c.fd, 0);
    // Pages 0 and 2 now; page 1 is left untouched for the pwrite below.
    expect_bytes("MAP_PRIVATE, page 0", a, 0..PAGE, pattern);
    expect_bytes("MAP_PRIVATE, page 2", a, 2 * PAGE..SIZE, pattern);
    expect_bytes(
        "MAP_PRIVATE, after EOF in the last page",
        a,
        SIZE..3 * PAGE,
        |_| 0,
    );

    // A file write before the private page is first touched shows through it.
    c.pwrite(PAGE + 5, b"F1");
    check!(
        T,
        peek(a, PAGE + 5) == b'F' && peek(a, PAGE + 6) == b'1',
        "MAP_PRIVATE: a pwrite before the first touch is not seen"
    );
    // A store makes the page private: the file, read() and other mappings keep theirs.
    poke(a, PAGE + 5, b'P');
    check!(
        T,
        c.file_byte(PAGE + 5) == b'F',
        "a store to a MAP_PRIVATE mapping reached the file: pread gives {}",
        c.file_byte(PAGE + 5)
    );
    let b = map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, c.fd, 0);
    check!(
        T,
        peek(b, PAGE + 5) == b'F',
        "another MAP_PRIVATE mapping sees the first one's store: {}",
        peek(b, PAGE + 5)
    );
    // Once the page is private, file writes no longer show through it.
    c.pwrite(PAGE + 5, b"G2");
    check!(
        T,
        peek(a, PAGE + 5) == b'P' && peek(a, PAGE + 6) == b'1',
        "MAP_PRIVATE: after a store, a pwrite to the same page shows through: {} {}",
        peek(a, PAGE + 5),
        peek(a, PAGE + 6)
    );
    check!(
        T,
        peek(b, PAGE + 5) == b'G' && peek(b, PAGE + 6) == b'2',
        "MAP_PRIVATE, untouched: a pwrite is not seen: {} {}",
        peek(b, PAGE + 5),
        peek(b, PAGE + 6)
    );

    // fork: the child starts with the parent's private copy, and each side's later
    // stores stay its own (copy-on-write, as for anonymous memory).
    let (to_parent, to_child) = (pipe(), pipe());
    let pid = spawn(|| {
        check!(
            T,
            peek(a, PAGE + 5) == b'P',
            "the child does not see the parent's private copy: {}",
            peek(a, PAGE + 5)
        );
        poke(a, PAGE + 5, b'C');
        write(to_parent[1], b"1");
        wait_byte(to_child[0]);
        check!(
            T,
            peek(a, PAGE + 5) == b'C',
            "the child sees {} after the parent's store, want its own 'C'",
            peek(a, PAGE + 5)
        );
        check!(
            T,
            peek(b, PAGE + 5) == b'G',
            "the child's untouched MAP_PRIVATE page: {}",
            peek(b, PAGE + 5)
        );
        0
    });
    wait_byte(to_parent[0]);
    check!(
        T,
        peek(a, PAGE + 5) == b'P',
        "the parent sees the child's private store: {}",
        peek(a, PAGE + 5)
    );
    poke(a, PAGE + 5, b'Q');
    write(to_child[1], b"1");
    let code = wait_exit_code(pid);
    if code == 1 {
        exit_group(1); // the child said why
    }
    check!(T, code == 0, "the forked child ended with {}", code);
    check!(
        T,
        peek(a, PAGE + 5) == b'Q',
        "the parent's store after fork: {}",
        peek(a, PAGE + 5)
    );
    for fd in to_parent.into_iter().chain(to_child) {
        close(fd);
    }
    check!(
        T,
        munmap(a as usize, 3 * PAGE) == 0 && munmap(b as usize, 3 * PAGE) == 0,
        "munmap"
    );
    c.check_file("after the MAP_PRIVATE mappings");
}

fn shared_maps(c: &mut Ctx) {
    let s1 = map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
    let s2 = map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, c.fd, 0);
    expect_bytes("MAP_SHARED", s1, 0..SIZE, |i| c.model[i]);
    expect_bytes(
        "MAP_SHARED, after EOF in the last page",
        s1,
        SIZE..3 * PAGE,
        |_| 0,
    );
    poke(s1, 7, b'S');
    c.model[7] = b'S';
    check!(
        T,
        c.file_byte(7) == b'S',
        "a store through MAP_SHARED is not seen by pread: {}",
        c.file_byte(7)
    );
    check!(
        T,
        peek(s2, 7) == b'S',
        "a store through MAP_SHARED is not seen by another MAP_SHARED mapping: {}",
        peek(s2, 7)
    );
    c.pwrite(2 * PAGE + 8, b"W");
    check!(
        T,
        peek(s1, 2 * PAGE + 8) == b'W' && peek(s2, 2 * PAGE + 8) == b'W',
        "a pwrite is not seen through MAP_SHARED: {} {}",
        peek(s1, 2 * PAGE + 8),
        peek(s2, 2 * PAGE + 8)
    );

    let s = s1 as usize;
    check!(
        T,
        msync(s, 3 * PAGE, MS_SYNC) == 0,
        "msync(MS_SYNC) returned {}",
        msync(s, 3 * PAGE, MS_SYNC)
    );
    check!(
        T,
        msync(s, PAGE, MS_ASYNC) == 0,
        "msync(MS_ASYNC) returned {}",
        msync(s, PAGE, MS_ASYNC)
    );
    let both = msync(s, PAGE, MS_SYNC | MS_ASYNC);
    check!(
        T,
        both == -EINVAL,
        "msync(MS_SYNC | MS_ASYNC) returned {}, Linux: -EINVAL",
        both
    );
    let unknown = msync(s, PAGE, 8);
    check!(
        T,
        unknown == -EINVAL,
        "msync with an unknown flag returned {}, Linux: -EINVAL",
        unknown
    );
    let unaligned = msync(s + 1, PAGE, MS_SYNC);
    check!(
        T,
        unaligned == -EINVAL,
        "msync of an unaligned address returned {}, Linux: -EINVAL",
        unaligned
    );

    // Across fork a shared file mapping stays one copy, both ways.
    let (to_parent, to_child) = (pipe(), pipe());
    let pid = spawn(|| {
        poke(s1, PAGE + 9, b'c');
        write(to_parent[1], b"1");
        wait_byte(to_child[0]);
        check!(
            T,
            peek(s1, PAGE + 10) == b'p',
            "the child does not see the parent's store to MAP_SHARED: {}",
            peek(s1, PAGE + 10)
        );
        0
    });
    wait_byte(to_parent[0]);
    c.model[PAGE + 9] = b'c';
    check!(
        T,
        peek(s1, PAGE + 9) == b'c' && peek(s2, PAGE + 9) == b'c',
        "the parent does not see the child's store to MAP_SHARED: {} {}",
        peek(s1, PAGE + 9),
        peek(s2, PAGE + 9)
    );
    check!(
        T,
        c.file_byte(PAGE + 9) == b'c',
        "the child's store to MAP_SHARED is not in the file: {}",
        c.file_byte(PAGE + 9)
    );
    poke(s2, PAGE + 10, b'p');
    c.model[PAGE + 10] = b'p';
    write(to_child[1], b"1");
    let code = wait_exit_code(pid);
    if code == 1 {
        exit_group(1);
    }
    check!(T, code == 0, "the forked child ended with {}", code);
    for fd in to_parent.into_iter().chain(to_child) {
        close(fd);
    }
    check!(
        T,
        munmap(s, 3 * PAGE) == 0 && munmap(s2 as usize, 3 * PAGE) == 0,
        "munmap"
    );
    c.check_file("after munmap of the MAP_SHARED mappings");
}

fn arguments(c: &mut Ctx) {
    // An offset picks the file's page; it must be a multiple of the page size.
    let m = map(PAGE, PROT_READ, MAP_SHARED, c.fd, PAGE);
    expect_bytes("offset 4096", m, 0..PAGE, |i| c.model[PAGE + i]);
    munmap(m as usize, PAGE);
    let r = mmap6(0, PAGE, PROT_READ, MAP_SHARED, c.fd as usize, 100);
    check!(
        T,
        r == -EINVAL,
        "mmap at offset 100 returned {}, Linux: -EINVAL",
        r
    );
    let r = mmap6(0, 0, PROT_READ, MAP_SHARED, c.fd as usize, 0);
    check!(
        T,
        r == -EINVAL,
        "mmap of length 0 returned {}, Linux: -EINVAL",
        r
    );

    // The descriptor's access mode limits the mapping: a shared writable mapping needs
    // O_RDWR (also later, through mprotect); a private one only needs read access.
    let ro = open(FILE, O_RDONLY, 0) as i32;
    check!(T, ro >= 0, "open O_RDONLY returned {}", ro);
    let r = mmap6(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, ro as usize, 0);
    check!(
        T,
        r == -EACCES,
        "MAP_SHARED PROT_WRITE of an O_RDONLY fd returned {}, Linux: -EACCES",
        r
    );
    let m = map(PAGE, PROT_READ, MAP_SHARED, ro, 0);
    let r = mprotect(m as usize, PAGE, PROT_READ | PROT_WRITE);
    check!(
        T,
        r == -EACCES,
        "mprotect(PROT_WRITE) of a MAP_SHARED O_RDONLY mapping returned {}, Linux: -EACCES",
        r
    );
    munmap(m as usize, PAGE);
    let m = map(PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
    poke(m, 0, b'X');
    check!(
        T,
        peek(m, 0) == b'X',
        "a store to MAP_PRIVATE of an O_RDONLY fd"
    );
    munmap(m as usize, PAGE);
    close(ro);
    let wo = open(FILE, O_WRONLY, 0) as i32;
    check!(T, wo >= 0, "open O_WRONLY returned {}", wo);
    let r = mmap6(0, PAGE, PROT_READ, MAP_SHARED, wo as usize, 0);
    check!(
        T,
        r == -EACCES,
        "mmap of an O_WRONLY fd returned {}, Linux: -EACCES",
        r
    );
    close(wo);
    let r = mmap6(0, PAGE, PROT_READ, MAP_SHARED, wo as usize, 0);
    check!(
        T,
        r == -EBADF,
        "mmap of a closed fd returned {}, Linux: -EBADF",
        r
    );

    // Directories and pipes cannot be mapped.
    let dir = open(c"/tmp", O_RDONLY | O_DIRECTORY, 0) as i32;
    check!(T, dir >= 0, "open /tmp returned {}", dir);
    let r = mmap6(0, PAGE, PROT_READ, MAP_PRIVATE, dir as usize, 0);
    check!(
        T,
        r == -ENODEV,
        "mmap of a directory returned {}, Linux: -ENODEV",
        r
    );
    close(dir);
    let p = pipe();
    let r = mmap6(0, PAGE, PROT_READ, MAP_SHARED, p[0] as usize, 0);
    check!(
        T,
        r == -ENODEV,
        "mmap of a pipe returned {}, Linux: -ENODEV",
        r
    );
    close(p[0]);
    close(p[1]);
    c.check_file("after the argument checks");
}

fn beyond_eof(c: &mut Ctx) {
    // A mapping may be longer than the file: the last page's tail reads zeros, a page
    // wholly beyond EOF is SIGBUS.
    let m = map(4 * PAGE, PROT_READ, MAP_SHARED, c.fd, 0);
    expect_bytes("a long mapping", m, 0..SIZE, |i| c.model[i]);
    expect_bytes("after EOF in the last page", m, SIZE..3 * PAGE, |_| 0);
    let code = touch_in_child(m, 3 * PAGE);
    check!(
        T,
        code == 128 + SIGBUS as i32,
        "a load a page beyond EOF: the child ended with {}, Linux: killed by SIGBUS (128 + 7)",
        code
    );
    // After ftruncate shrinks the file, the pages past the new end are SIGBUS too...
    check!(T, ftruncate(c.fd, PAGE as i64) == 0, "ftruncate to 4096");
    let code = touch_in_child(m, PAGE);
    check!(
        T,
        code == 128 + SIGBUS as i32,
        "a load beyond EOF after ftruncate: the child ended with {}, Linux: killed by SIGBUS (128 + 7)",
        code
    );
    expect_bytes("the page before the new EOF", m, 0..PAGE, |i| c.model[i]);
    // ...and when it grows again they read zeros (the old bytes are gone).
    check!(
        T,
        ftruncate(c.fd, 4 * PAGE as i64) == 0,
        "ftruncate to 16384"
    );
    expect_bytes("after ftruncate down and up", m, PAGE..4 * PAGE, |_| 0);
    munmap(m as usize, 4 * PAGE);
    // Put the file back as the model says.
    check!(T, ftruncate(c.fd, SIZE as i64) == 0, "ftruncate back");
    let model = c.model;
    c.pwrite(PAGE, &model[PAGE..]);
    c.check_file("rewritten after the ftruncates");
}

fn after_unlink() {
    // A mapping keeps the file alive after its name and descriptor are gone.
    let fd = open(FILE2, O_RDWR | O_CREAT | O_TRUNC, 0o600) as i32;
    check!(T, fd >= 0, "open({:?}) returned {}", FILE2, fd);
    check!(T, write(fd, b"still here") == 10, "write to {:?}", FILE2);
    let m = map(PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    let r = unlink(FILE2);
    check!(T, r == 0, "unlink({:?}) returned {}", FILE2, r);
    expect_bytes("after unlink", m, 0..10, |i| b"still here"[i]);
    poke(m, 0, b'S');
    check!(T, peek(m, 0) == b'S', "a store after unlink");
    munmap(m as usize, PAGE);
}

fn test() -> i32 {
    let fd = open(FILE, O_RDWR | O_CREAT | O_TRUNC, 0o600) as i32;
    check!(T, fd >= 0, "open({:?}, O_CREAT) returned {}", FILE, fd);
    let mut c = Ctx {
        fd,
        model: [0; SIZE],
    };
    for (i, b) in c.model.iter_mut().enumerate() {
        *b = pattern(i);
    }
    let model = c.model;
    c.pwrite(0, &model);
    private_maps(&mut c);
    shared_maps(&mut c);
    arguments(&mut c);
    beyond_eof(&mut c);
    after_unlink();
    // Everything unmapped: the file holds what was written through pwrite and MAP_SHARED.
    c.check_file("at the end");
    close(fd);
    0
}

fn cleanup() {
    for f in [FILE, FILE2] {
        unlink(f);
    }
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    cleanup(); // a previous run that crashed may have left files behind
    let baseline = settled_mem_usage();
    // The test runs in a child; its parent removes the files whatever happened, and then
    // the frames must be back (a file left in tmpfs, or a page of a mapping, would
    // still hold them).
    run_test_process(T, baseline, || {
        let code = wait_exit_code(spawn(test));
        cleanup();
        code
    });
    println!("{}: ok", T);
    0
}
