//! A big file: 8 MiB written in odd-sized chunks (4093 bytes, so that no write starts or
//! ends on a page boundary) with a pseudo-random pattern, read back in other chunk sizes
//! (4096, 1000, 65537 and pread at scattered offsets) with every byte compared and an
//! FNV-1a checksum of the whole; its size seen by fstat and lseek(SEEK_END); then
//! unlinked while still open (the data stays readable until the last close) and closed.
//!
//! On teachos the test also checks that the file's memory is given back: the page frames
//! in use grow by at least 8 MiB while the file exists and are back where they were after
//! the unlink and close. On Linux (no KSTAT) that check is skipped.
#![no_std]
#![no_main]

use core::ffi::CStr;

use ulib::*;

const T: &str = "fs_big";
const F: &CStr = c"/tmp/fs_big";
const BIG: usize = 8 << 20;
const PAGE: usize = 4096;

/// The byte at `pos`: a hash of the position, so that any chunk can be checked alone and
/// a page written at the wrong offset or twice shows.
fn pattern(pos: usize) -> u8 {
    // splitmix64 of the 8-byte word number, byte `pos % 8` of it.
    let mut z = (pos as u64 / 8).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> ((pos % 8) * 8)) as u8
}

fn fill(buf: &mut [u8], start: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(start + i);
    }
}

/// FNV-1a, 64 bits, continued from `h`.
fn fnv(mut h: u64, data: &[u8]) -> u64 {
    for &b in data {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h
}
const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// Fails unless `buf` holds the pattern for the bytes starting at `start`.
fn verify(what: &str, buf: &[u8], start: usize) {
    if let Some(i) = (0..buf.len()).find(|&i| buf[i] != pattern(start + i)) {
        fail!(
            T,
            "{}: byte {} of the file is {:#04x}, want {:#04x}",
            what,
            start + i,
            buf[i],
            pattern(start + i)
        );
    }
}

/// Reads the whole file from offset 0 with read() calls of `chunk` bytes; returns its
/// checksum after checking every byte.
fn read_back(fd: i32, buf: &mut [u8], chunk: usize, size: usize) -> u64 {
    check!(T, lseek(fd, 0, SEEK_SET) == 0, "lseek(0)");
    let (mut pos, mut h) = (0, FNV_START);
    loop {
        let n = read(fd, &mut buf[..chunk]);
        check!(T, n >= 0, "read of {} bytes at {} gave {}", chunk, pos, n);
        if n == 0 {
            break;
        }
        let n = n as usize;
        // A regular file gives the whole request except at EOF.
        check!(
            T,
            n == chunk.min(size - pos),
            "read of {} bytes at {} of {} gave {}",
            chunk,
            pos,
            size,
            n
        );
        verify("read", &buf[..n], pos);
        h = fnv(h, &buf[..n]);
        pos += n;
    }
    check!(
        T,
        pos == size,
        "reading in {}-byte chunks got {} bytes of {}",
        chunk,
        pos,
        size
    );
    h
}

/// Frames and heap bytes in use as one byte count (None on Linux).
fn memory_in_use() -> Option<usize> {
    mem_usage().map(|(frames, heap)| frames * PAGE + heap)
}

/// Touches 32 KiB of stack, so that the stack pages this test uses later are already
/// there when the frames in use are counted.
#[inline(never)]
fn touch_stack() {
    let mut a = [0u8; 32 * 1024];
    core::hint::black_box(&mut a);
}

fn body(size: usize) -> i32 {
    let buf = alloc_pages(128 * 1024);
    check!(
        T,
        (buf as isize) > 0,
        "mmap of a buffer gave {}",
        buf as isize
    );
    // SAFETY: a fresh private mapping of 128 KiB, ours alone.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, 128 * 1024) };
    // The buffer and the stack are in place before the count, so that afterwards only
    // the file's frames can make a difference.
    buf.fill(1);
    touch_stack();
    // So is a descriptor slot: the first open grows the descriptor table, which stays
    // grown (as Linux's does).
    let probe = open(c"/dev/null", O_RDONLY, 0);
    close(probe as i32);
    let before = settled_mem_usage();

    let fd = open(F, O_RDWR | O_CREAT | O_EXCL, 0o600);
    check!(T, fd >= 0, "open({:?}, O_CREAT|O_EXCL) gave {}", F, fd);
    let fd = fd as i32;
    const CHUNK: usize = 4093;
    let (mut pos, mut want) = (0, FNV_START);
    while pos < size {
        let n = CHUNK.min(size - pos);
        fill(&mut buf[..n], pos);
        want = fnv(want, &buf[..n]);
        let r = write(fd, &buf[..n]);
        check!(
            T,
            r == n as isize,
            "write of {} bytes at {} gave {}",
            n,
            pos,
            r
        );
        pos += n;
    }
    match fstat(fd) {
        Ok(st) => check!(
            T,
            st.size == size as i64,
            "fstat size {} want {}",
            st.size,
            size
        ),
        Err(e) => fail!(T, "fstat gave {}", e),
    }
    let end = lseek(fd, 0, SEEK_END);
    check!(
        T,
        end == size as isize,
        "lseek(0, SEEK_END) gave {} want {}",
        end,
        size
    );
    if let (Some(b), Some(now)) = (before, memory_in_use()) {
        let grown = now.saturating_sub(b.0 * PAGE + b.1);
        check!(
            T,
            grown >= size,
            "memory in use grew by only {} bytes with a {}-byte file in tmpfs",
            grown,
            size
        );
    }

    for chunk in [4096, 1000, 65537] {
        let h = read_back(fd, buf, chunk, size);
        check!(
            T,
            h == want,
            "checksum reading in {}-byte chunks: {:#x} want {:#x}",
            chunk,
            h,
            want
        );
    }
    // pread at offsets that cross page boundaries, from the end backwards.
    let mut off = size as i64 - 3000;
    while off > 0 {
        let r = pread(fd, &mut buf[..5000], off);
        let expect = 5000.min(size - off as usize) as isize;
        check!(
            T,
            r == expect,
            "pread of 5000 at {} gave {} want {}",
            off,
            r,
            expect
        );
        verify("pread", &buf[..r as usize], off as usize);
        off -= 777_777;
    }

    // Unlinked while open: the name is gone, the data is not (until the last close).
    check!(T, unlink(F) == 0, "unlink {:?}", F);
    let r = open(F, O_RDONLY, 0);
    check!(T, r == -ENOENT, "open after unlink gave {}", r);
    match fstat(fd) {
        Ok(st) => check!(
            T,
            st.nlink == 0 && st.size == size as i64,
            "fstat of the open, unlinked file: nlink {} size {}",
            st.nlink,
            st.size
        ),
        Err(e) => fail!(T, "fstat of the open, unlinked file gave {}", e),
    }
    let h = read_back(fd, buf, 32768, size);
    check!(
        T,
        h == want,
        "checksum after unlink: {:#x} want {:#x}",
        h,
        want
    );
    check!(T, close(fd) == 0, "close");

    // Now the file's frames must be free again (teachos only).
    if let Some((frames, heap)) = before {
        if !frames_back_to(frames) {
            fail!(
                T,
                "after unlink and close of a {}-byte file: {} frames in use, {} before",
                size,
                kstat(KSTAT_FRAMES),
                frames
            );
        }
        let now = kstat(KSTAT_HEAP);
        check!(
            T,
            now == heap,
            "after unlink and close: kernel heap {} bytes, {} before",
            now,
            heap
        );
    }
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // A small warm-up fills whatever caches the kernel keeps; the big run must give back
    // every frame and heap byte it takes.
    run_test_process(T, None, || body(100_000));
    let baseline = settled_mem_usage();
    run_test_process(T, baseline, || body(BIG));
    println!("{}: ok", T);
    0
}
