//! The memory system calls' limits and errors, as Linux 6.1 has them: mmap, munmap,
//! mprotect, brk and mremap argument checks (each errno was first checked with
//! linux-oracle.sh), MAP_FIXED_NOREPLACE, PROT_NONE on present pages and
//! write-implies-read, merging of adjacent mappings, vm.max_map_count (the mapping bomb:
//! 200,000 one-page mmaps that cannot merge get ENOMEM once 65,531 VMAs exist, then
//! everything is unmapped and the frames are back), and clone3's struct checks. Every
//! check passes on Linux too; the frame counts (KSTAT) only here.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "mm_limits";
const PG: usize = 4096;
/// Linux TASK_SIZE with 48-bit virtual addresses.
const TOP: usize = 1 << 48;
const TIB: usize = 1 << 40;
const KERNEL: usize = 0xffff_0000_4000_0000;

const E2BIG: isize = 7;
const EEXIST: isize = 17;
const SIGBUS: i32 = 7;

const PROT_EXEC: usize = 4;
const PROT_SEM: usize = 0x8;
const PROT_GROWSDOWN: usize = 0x0100_0000;
const PROT_GROWSUP: usize = 0x0200_0000;
const MAP_SHARED_VALIDATE: usize = 0x03;
const MAP_GROWSDOWN: usize = 0x100;
const MAP_NORESERVE: usize = 0x4000;
const MAP_HUGETLB: usize = 0x4_0000;
const MAP_FIXED_NOREPLACE: usize = 0x10_0000;
const MREMAP_MAYMOVE: usize = 1;
const MREMAP_FIXED: usize = 2;
const MREMAP_DONTUNMAP: usize = 4;

const RW: usize = PROT_READ | PROT_WRITE;
const PA: usize = MAP_PRIVATE | MAP_ANONYMOUS;
const SA: usize = MAP_SHARED | MAP_ANONYMOUS;
/// mmap's "no file" descriptor.
const NOFD: usize = usize::MAX;

fn map(addr: usize, len: usize, prot: usize, flags: usize) -> isize {
    mmap6(addr, len, prot, flags, NOFD, 0)
}

/// Maps `len` bytes at the fixed address `addr` or fails the test.
fn map_at(addr: usize, len: usize, prot: usize, flags: usize) -> usize {
    let r = map(addr, len, prot, flags | MAP_FIXED);
    check!(T, r == addr as isize, "mmap fixed {:#x} gave {}", addr, r);
    addr
}

fn peek(addr: usize) -> u8 {
    // SAFETY: the callers pass addresses they mapped readable (or expect a fault in a
    // child process).
    unsafe { (addr as *const u8).read_volatile() }
}

fn poke(addr: usize, v: u8) {
    // SAFETY: as in `peek`, for writable mappings.
    unsafe { (addr as *mut u8).write_volatile(v) }
}

/// Runs `f` in a child; its exit code, or 128 + the signal that killed it.
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    wait_exit_code(spawn(f))
}

fn sys_read(fd: i32, addr: usize, len: usize) -> isize {
    syscall(SYS_READ, &[fd as usize, addr, len])
}

fn sys_write(fd: i32, addr: usize, len: usize) -> isize {
    syscall(SYS_WRITE, &[fd as usize, addr, len])
}

/// Touches 64 KiB of stack, so that the pages the deepest check needs are there before
/// the frame count is taken.
#[inline(never)]
fn touch_stack() {
    let mut buf = [0u8; 64 * 1024];
    for i in (0..buf.len()).step_by(PG) {
        // SAFETY: inside `buf`.
        unsafe { buf.as_mut_ptr().add(i).write_volatile(1) };
    }
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    touch_stack();
    let frames = kstat_opt(KSTAT_FRAMES);
    mmap_checks();
    fixed_noreplace();
    munmap_checks();
    mprotect_checks();
    prot_none_and_write_implies_read();
    brk_checks();
    mremap_checks();
    merging();
    huge_sparse_ranges();
    clone3_checks();
    mapping_bomb();
    if let (Some(before), Some(now)) = (frames, kstat_opt(KSTAT_FRAMES)) {
        check!(
            T,
            now == before,
            "frames back to the start ({} -> {})",
            before,
            now
        );
    }
    println!("{}: ok", T);
    0
}

/// mmap: Linux's errno for each bad argument, in Linux's order.
fn mmap_checks() {
    let cases: [(&str, usize, usize, usize, usize, usize, isize); 17] = [
        ("len 0", 0, 0, RW, PA, 0, -EINVAL),
        ("len 0 before the offset", 0, 0, RW, PA, 1, -EINVAL),
        ("len 0 before the type", 0, 0, RW, MAP_ANONYMOUS, 0, -EINVAL),
        (
            "PAGE_ALIGN(len) wraps",
            0,
            usize::MAX - 10,
            RW,
            PA,
            0,
            -ENOMEM,
        ),
        ("len 2^60", 0, 1 << 60, PROT_NONE, PA, 0, -ENOMEM),
        ("len TASK_SIZE", 0, TOP, PROT_NONE, PA, 0, -ENOMEM),
        ("unaligned offset", 0, PG, RW, PA, 1, -EINVAL),
        ("no type", 0, PG, RW, MAP_ANONYMOUS, 0, -EINVAL),
        (
            "MAP_SHARED_VALIDATE anonymous",
            0,
            PG,
            RW,
            MAP_SHARED_VALIDATE | MAP_ANONYMOUS,
            0,
            -EINVAL,
        ),
        ("type 0xf", 0, PG, RW, 0xf | MAP_ANONYMOUS, 0, -EINVAL),
        (
            "fixed, unaligned",
            0x2_0000_0001,
            PG,
            RW,
            PA | MAP_FIXED,
            0,
            -EINVAL,
        ),
        (
            "fixed, end past TASK_SIZE",
            TOP - PG,
            2 * PG,
            RW,
            PA | MAP_FIXED,
            0,
            -ENOMEM,
        ),
        (
            "fixed at TASK_SIZE",
            TOP,
            PG,
            RW,
            PA | MAP_FIXED,
            0,
            -ENOMEM,
        ),
        (
            "fixed past TASK_SIZE, unaligned",
            TOP + 1,
            PG,
            RW,
            PA | MAP_FIXED,
            0,
            -ENOMEM,
        ),
        (
            "fixed, len wraps",
            0x2_0000_0000,
            usize::MAX,
            RW,
            PA | MAP_FIXED,
            0,
            -ENOMEM,
        ),
        (
            "MAP_SHARED | MAP_GROWSDOWN",
            0,
            PG,
            RW,
            SA | MAP_GROWSDOWN,
            0,
            -EINVAL,
        ),
        (
            "MAP_HUGETLB, none reserved",
            0,
            2 << 20,
            RW,
            PA | MAP_HUGETLB,
            0,
            -ENOMEM,
        ),
    ];
    for (what, addr, len, prot, flags, off, want) in cases {
        let r = mmap6(addr, len, prot, flags, NOFD, off);
        check!(T, r == want, "mmap {}: {} (want {})", what, r, want);
    }
    // A file mapping needs an open descriptor.
    for fd in [NOFD, 1000] {
        let r = mmap6(0, PG, RW, MAP_PRIVATE, fd, 0);
        check!(T, r == -EBADF, "mmap of fd {}: {}", fd as isize, r);
    }
    // Heuristic overcommit: one request may not commit more than all of RAM...
    check!(T, map(0, TIB, RW, PA) == -ENOMEM, "1 TiB private writable");
    check!(T, map(0, TIB, PROT_READ, SA) == -ENOMEM, "1 TiB shared");
    // ... but read-only, PROT_NONE and MAP_NORESERVE memory is not committed, and unknown
    // PROT and MAP bits are ignored.
    for (prot, flags) in [
        (PROT_READ, PA),
        (PROT_NONE, PA),
        (RW, PA | MAP_NORESERVE),
        (PROT_READ | 0x10 | 0x8000_0000, PA | 0x8000_0000),
    ] {
        let a = map(0, TIB, prot, flags);
        check!(T, a > 0, "1 TiB prot {:#x} flags {:#x}: {}", prot, flags, a);
        check!(T, munmap(a as usize, TIB) == 0, "munmap 1 TiB");
    }
    // A hint is rounded down to a page, and raised to vm.mmap_min_addr (32 KiB).
    let a = map(0x3_0000_0001, PG, RW, PA);
    check!(T, a == 0x3_0000_0000, "unaligned hint: {:#x}", a);
    let b = map(0x1000, PG, RW, PA);
    check!(T, b == 0x8000, "hint below mmap_min_addr: {:#x}", b);
    check!(
        T,
        munmap(a as usize, PG) == 0 && munmap(b as usize, PG) == 0,
        "munmap"
    );
}

fn fixed_noreplace() {
    let a = 0x4_0000_0000;
    let r = map(a, 2 * PG, RW, PA | MAP_FIXED_NOREPLACE);
    check!(
        T,
        r == a as isize,
        "MAP_FIXED_NOREPLACE on free space: {}",
        r
    );
    poke(a + PG, 42);
    let cases: [(&str, usize, usize, usize, isize); 5] = [
        ("overlapping", a + PG, 2 * PG, MAP_FIXED_NOREPLACE, -EEXIST),
        (
            "with MAP_FIXED too",
            a + PG,
            2 * PG,
            MAP_FIXED_NOREPLACE | MAP_FIXED,
            -EEXIST,
        ),
        ("unaligned", a + 1, PG, MAP_FIXED_NOREPLACE, -EINVAL),
        ("len 0", a + PG, 0, MAP_FIXED_NOREPLACE, -EINVAL),
        (
            "past TASK_SIZE",
            TOP - PG,
            2 * PG,
            MAP_FIXED_NOREPLACE,
            -ENOMEM,
        ),
    ];
    for (what, addr, len, flags, want) in cases {
        let r = map(addr, len, RW, PA | flags);
        check!(T, r == want, "MAP_FIXED_NOREPLACE {}: {}", what, r);
    }
    check!(T, peek(a + PG) == 42, "the existing page was kept");
    map_at(a + PG, PG, RW, PA);
    check!(T, peek(a + PG) == 0, "plain MAP_FIXED replaces");
    check!(T, munmap(a, 2 * PG) == 0, "munmap");
}

fn munmap_checks() {
    let a = map(0, 2 * PG, RW, PA) as usize;
    let cases: [(&str, usize, usize); 7] = [
        ("unaligned", a + 1, PG),
        ("len 0", a, 0),
        ("at TASK_SIZE", TOP, PG),
        ("at TASK_SIZE, len 0", TOP, 0),
        ("past TASK_SIZE", TOP - PG, 2 * PG),
        ("len -1", a, usize::MAX),
        ("kernel address", KERNEL, PG),
    ];
    for (what, addr, len) in cases {
        let r = munmap(addr, len);
        check!(T, r == -EINVAL, "munmap {}: {}", what, r);
    }
    check!(T, munmap(0x5_0000_0000, PG) == 0, "munmap of nothing");
    check!(T, munmap(a, 1) == 0, "munmap rounds the length up");
    check!(
        T,
        in_child(|| peek(a) as i32) == 128 + SIGSEGV as i32,
        "the page is gone"
    );
    check!(T, peek(a + PG) == 0, "the next page is not");
    check!(T, munmap(a + PG, PG) == 0, "munmap");
}

fn mprotect_checks() {
    let a = map_at(0x6_0000_0000, 4 * PG, RW, PA);
    let hole = 0x7_0000_0000;
    let r = PROT_READ;
    let cases: [(&str, usize, usize, usize, isize); 17] = [
        ("unaligned", a + 1, PG, r, -EINVAL),
        ("unaligned, len 0", a + 1, 0, r, -EINVAL),
        ("len 0 on nothing", hole, 0, r, 0),
        ("len 0, bad prot", hole, 0, 0x10, 0),
        ("wraps", a, 0usize.wrapping_sub(PG), r, -ENOMEM),
        ("wraps, bad prot", a, 0usize.wrapping_sub(PG), 0x10, -ENOMEM),
        ("len -1", a, usize::MAX, r, -ENOMEM),
        ("bad prot", a, PG, 0x10, -EINVAL),
        ("bad prot on nothing", hole, PG, 0x10, -EINVAL),
        ("prot bit 32", a, PG, 1 << 32 | r, -EINVAL),
        (
            "GROWSDOWN | GROWSUP",
            a,
            PG,
            r | PROT_GROWSDOWN | PROT_GROWSUP,
            -EINVAL,
        ),
        (
            "GROWSDOWN, not a growsdown VMA",
            a,
            PG,
            r | PROT_GROWSDOWN,
            -EINVAL,
        ),
        ("GROWSUP", a, PG, r | PROT_GROWSUP, -EINVAL),
        ("nothing mapped", hole, PG, r, -ENOMEM),
        ("at TASK_SIZE", TOP, PG, r, -ENOMEM),
        ("kernel address", KERNEL, PG, r, -ENOMEM),
        ("hole at the start", a - PG, 2 * PG, r, -ENOMEM),
    ];
    for (what, addr, len, prot, want) in cases {
        let got = mprotect(addr, len, prot);
        check!(T, got == want, "mprotect {}: {}", what, got);
    }
    poke(a + 3 * PG, 1);
    check!(
        T,
        mprotect(a, PG, r | PROT_SEM) == 0,
        "PROT_SEM is accepted"
    );
    // A hole at the end: ENOMEM, yet the VMAs before it changed (Linux does not undo).
    check!(T, mprotect(a, 5 * PG, r) == -ENOMEM, "hole at the end");
    check!(
        T,
        in_child(|| {
            poke(a + 3 * PG, 2);
            0
        }) == 128 + SIGSEGV as i32,
        "read-only before the hole"
    );
    check!(T, munmap(a, 4 * PG) == 0, "munmap");
}

/// PROT_NONE makes present pages inaccessible, to the program and to the kernel's
/// copies; write-only and execute-only pages are readable (arm64).
fn prot_none_and_write_implies_read() {
    let p = map(0, PG, RW, PA) as usize;
    poke(p, b'x');
    check!(T, mprotect(p, PG, PROT_NONE) == 0, "mprotect PROT_NONE");
    check!(
        T,
        in_child(|| peek(p) as i32) == 128 + SIGSEGV as i32,
        "reading a present PROT_NONE page is SIGSEGV"
    );
    check!(
        T,
        in_child(|| {
            poke(p, 1);
            0
        }) == 128 + SIGSEGV as i32,
        "writing it too"
    );
    let fds = pipe();
    check!(
        T,
        sys_write(fds[1], p, 1) == -EFAULT,
        "write() from PROT_NONE"
    );
    check!(
        T,
        sys_write(fds[1], b"abc".as_ptr() as usize, 3) == 3,
        "write"
    );
    check!(
        T,
        sys_read(fds[0], p, 3) == -EFAULT,
        "read() into PROT_NONE"
    );
    check!(T, mprotect(p, PG, PROT_READ) == 0, "mprotect PROT_READ");
    check!(T, peek(p) == b'x', "the page kept its contents");
    check!(T, close(fds[0]) == 0 && close(fds[1]) == 0, "close");

    let ro = map(0, PG, PROT_READ, PA) as usize;
    let fds = pipe();
    check!(
        T,
        sys_write(fds[1], b"abc".as_ptr() as usize, 3) == 3,
        "write"
    );
    check!(
        T,
        sys_read(fds[0], ro, 3) == -EFAULT,
        "read() into PROT_READ"
    );
    check!(T, close(fds[0]) == 0 && close(fds[1]) == 0, "close");

    let w = map(0, PG, PROT_WRITE, PA) as usize;
    check!(T, peek(w) == 0, "a PROT_WRITE page is readable");
    poke(w, b'w');
    check!(T, peek(w) == b'w', "and writable");
    let fds = pipe();
    check!(
        T,
        sys_write(fds[1], w, 1) == 1,
        "write() from a PROT_WRITE page"
    );
    check!(T, sys_read(fds[0], w + 1, 1) == 1, "read() into it");
    check!(T, peek(w + 1) == b'w', "the byte went through");
    check!(T, close(fds[0]) == 0 && close(fds[1]) == 0, "close");
    let x = map(0, PG, PROT_EXEC, PA) as usize;
    check!(T, peek(x) == 0, "a PROT_EXEC page is readable");
    check!(
        T,
        in_child(|| {
            poke(x, 1);
            0
        }) == 128 + SIGSEGV as i32,
        "but not writable"
    );
    for a in [p, ro, w, x] {
        check!(T, munmap(a, PG) == 0, "munmap");
    }
}

/// brk never fails with an errno: a refused break returns the old one.
fn brk_checks() {
    let b0 = brk(0) as usize;
    check!(
        T,
        b0 > 0 && b0.is_multiple_of(PG),
        "initial break {:#x}",
        b0
    );
    for bad in [usize::MAX, 1 << 60, TOP, 1] {
        check!(T, brk(bad) as usize == b0, "brk({:#x}) is refused", bad);
    }
    check!(T, brk(b0 + PG + 5) as usize == b0 + PG + 5, "grow");
    poke(b0 + PG + 4, 9);
    check!(T, brk(b0 + 5) as usize == b0 + 5, "shrink");
    check!(T, brk(b0) as usize == b0, "back to the start");
    // The break must stay one page below the next mapping.
    let m = map_at(b0 + 4 * PG, PG, RW, PA);
    check!(
        T,
        brk(b0 + 3 * PG) as usize == b0 + 3 * PG,
        "up to a page below it"
    );
    check!(T, brk(b0) as usize == b0, "shrink");
    check!(T, brk(b0 + 4 * PG) as usize == b0, "not up to it");
    check!(T, munmap(m, PG) == 0, "munmap");
    check!(T, brk(b0 + 2 * PG) as usize == b0 + 2 * PG, "grow");
    poke(b0 + PG, 1);
    // A heap the program unmapped itself cannot shrink: there is nothing to unmap.
    check!(T, munmap(b0, 2 * PG) == 0, "munmap the heap");
    check!(
        T,
        brk(b0) as usize == b0 + 2 * PG,
        "shrinking nothing is refused"
    );
    check!(
        T,
        brk(b0 + 3 * PG) as usize == b0 + 3 * PG,
        "it can still grow"
    );
    check!(
        T,
        brk(b0 + 2 * PG) as usize == b0 + 2 * PG,
        "and shrink again"
    );
}

fn mremap_checks() {
    let a = map_at(0x1_0000_0000, 4 * PG, RW, PA);
    for i in 0..4 {
        poke(a + i * PG, b'a' + i as u8);
    }
    let (mm, fx, du) = (MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP);
    let unmapped = 0x7_0000_0000;
    let cases: [(&str, usize, usize, usize, usize, usize, isize); 20] = [
        ("unknown flag", a, PG, PG, 8, 0, -EINVAL),
        ("flags before the address", a + 1, PG, PG, 8, 0, -EINVAL),
        ("flag bit 32", a, PG, PG, 1 << 32, 0, -EINVAL),
        (
            "FIXED without MAYMOVE",
            a,
            PG,
            PG,
            fx,
            0x2_0000_0000,
            -EINVAL,
        ),
        ("DONTUNMAP without MAYMOVE", a, PG, PG, du, 0, -EINVAL),
        ("DONTUNMAP resizing", a, PG, 2 * PG, mm | du, 0, -EINVAL),
        ("unaligned", a + 1, PG, PG, 0, 0, -EINVAL),
        ("new_len 0", a, PG, 0, 0, 0, -EINVAL),
        ("new_len wraps", a, PG, usize::MAX, mm, 0, -EINVAL),
        ("nothing mapped", unmapped, PG, PG, 0, 0, -EFAULT),
        ("nothing mapped, new_len 0", unmapped, PG, 0, 0, 0, -EINVAL),
        (
            "across the end of the VMA",
            a,
            5 * PG,
            6 * PG,
            mm,
            0,
            -EFAULT,
        ),
        ("huge old_len", a, 1 << 60, 1 << 61, mm, 0, -EFAULT),
        ("old_len 0, private", a, 0, PG, mm, 0, -EINVAL),
        ("grow to 1 TiB, committed", a, PG, TIB, mm, 0, -ENOMEM),
        ("FIXED onto itself", a, PG, PG, mm | fx, a, -EINVAL),
        (
            "FIXED overlapping",
            a,
            2 * PG,
            2 * PG,
            mm | fx,
            a + PG,
            -EINVAL,
        ),
        (
            "FIXED unaligned",
            a,
            PG,
            PG,
            mm | fx,
            0x3_0000_0001,
            -EINVAL,
        ),
        ("FIXED at TASK_SIZE", a, PG, PG, mm | fx, TOP, -EINVAL),
        (
            "FIXED past TASK_SIZE",
            a,
            PG,
            2 * PG,
            mm | fx,
            TOP - PG,
            -EINVAL,
        ),
    ];
    for (what, addr, old, new, flags, to, want) in cases {
        let r = mremap(addr, old, new, flags, to);
        check!(T, r == want, "mremap {}: {} (want {})", what, r, want);
    }
    // Same size is nothing to do, even across the end (it is the shrinking path).
    check!(
        T,
        mremap(a, 4 * PG - 5, 4 * PG - 3, 0, 0) == a as isize,
        "same size"
    );
    check!(
        T,
        mremap(a, 5 * PG, 5 * PG, 0, 0) == a as isize,
        "same size, across"
    );
    // Grow and shrink in place.
    check!(
        T,
        mremap(a, 4 * PG, 5 * PG, 0, 0) == a as isize,
        "grow in place"
    );
    check!(
        T,
        peek(a + 4 * PG) == 0 && peek(a + 3 * PG) == b'd',
        "grown"
    );
    check!(
        T,
        mremap(a, 5 * PG, 4 * PG, 0, 0) == a as isize,
        "shrink in place"
    );
    check!(T, munmap(a + 4 * PG, PG) == 0, "the tail is unmapped");
    // Blocked by a mapping: ENOMEM, or a move with MREMAP_MAYMOVE.
    let b = map_at(a + 4 * PG, PG, PROT_READ, PA);
    check!(T, mremap(a, 4 * PG, 5 * PG, 0, 0) == -ENOMEM, "blocked");
    let m = mremap(a, 4 * PG, 8 * PG, mm, 0);
    check!(T, m > 0 && m as usize != a, "moved to {:#x}", m);
    let m = m as usize;
    check!(
        T,
        peek(m + 3 * PG) == b'd' && peek(m + 7 * PG) == 0,
        "contents moved"
    );
    check!(
        T,
        mremap(a, PG, PG, 0, 0) == -EFAULT,
        "the old place is unmapped"
    );
    // MREMAP_FIXED to a given place.
    let f = 0x3_0000_0000;
    check!(
        T,
        mremap(m, 2 * PG, 2 * PG, mm | fx, f) == f as isize,
        "MREMAP_FIXED"
    );
    check!(T, peek(f + PG) == b'b', "contents at the fixed place");
    check!(T, peek(m + 2 * PG) == b'c', "the rest stayed");
    // MREMAP_DONTUNMAP: the pages move, the old range stays mapped and reads zero.
    let d = mremap(f, 2 * PG, 2 * PG, mm | du, 0);
    check!(T, d > 0 && d as usize != f, "MREMAP_DONTUNMAP: {}", d);
    let d = d as usize;
    check!(
        T,
        peek(d) == b'a' && peek(f) == 0,
        "moved, and the old page is new"
    );
    // A MAP_SHARED mapping mapped a second time is the same memory.
    let s = map(0, 2 * PG, RW, SA) as usize;
    poke(s, b'S');
    let dup = mremap(s, 0, 2 * PG, mm, 0);
    check!(T, dup > 0, "old_len 0 on shared memory: {}", dup);
    let dup = dup as usize;
    check!(T, peek(dup) == b'S', "the copy sees the data");
    let sd = mremap(s, 2 * PG, 2 * PG, mm | du, 0);
    check!(T, sd > 0, "MREMAP_DONTUNMAP on shared memory: {}", sd);
    let sd = sd as usize;
    poke(sd + 1, b'T');
    check!(
        T,
        peek(s + 1) == b'T' && peek(dup + 1) == b'T',
        "one memory, three places"
    );
    // Grown past its end, shared memory has nothing there: Linux sends SIGBUS, this
    // kernel SIGSEGV.
    let g = mremap(s, 2 * PG, 4 * PG, mm, 0);
    check!(T, g > 0, "grow shared memory: {}", g);
    let g = g as usize;
    let sig = in_child(|| peek(g + 3 * PG) as i32) - 128;
    check!(
        T,
        sig == SIGBUS || sig == SIGSEGV as i32,
        "past the end: signal {}",
        sig
    );
    check!(T, peek(g) == b'S', "the start is still there");
    // Growing PROT_NONE memory commits nothing (8 TiB up: free on both kernels).
    let n = map_at(0x800_0000_0000, PG, PROT_NONE, PA);
    check!(
        T,
        mremap(n, PG, TIB, mm, 0) == n as isize,
        "PROT_NONE grows to 1 TiB"
    );
    for (addr, len) in [
        (b, PG),
        (m + 2 * PG, 6 * PG),
        (f, 2 * PG),
        (d, 2 * PG),
        (dup, 2 * PG),
        (sd, 2 * PG),
        (g, 4 * PG),
        (n, TIB),
    ] {
        check!(T, munmap(addr, len) == 0, "munmap {:#x}", addr);
    }
}

/// Adjacent compatible mappings merge: 70,000 one-page mmaps side by side with the same
/// protection are one VMA, far below the limit; mprotect and munmap split it, and
/// mprotect back merges it again.
fn merging() {
    let base = 0x1_0000_0000;
    let n = 70_000;
    for i in 0..n {
        let r = map(base + i * PG, PG, PROT_READ, PA | MAP_FIXED);
        check!(
            T,
            r == (base + i * PG) as isize,
            "adjacent mmap {}: {}",
            i,
            r
        );
    }
    for i in (0..n).step_by(1000) {
        check!(
            T,
            mprotect(base + i * PG, PG, PROT_NONE) == 0,
            "split {}",
            i
        );
    }
    for i in (0..n).step_by(1000) {
        check!(
            T,
            mprotect(base + i * PG, PG, PROT_READ) == 0,
            "merge {}",
            i
        );
    }
    check!(T, munmap(base, n * PG) == 0, "munmap the merged region");
}

/// A huge, almost empty range costs what is mapped in it, not its size.
fn huge_sparse_ranges() {
    let a = map(0, TIB, RW, PA | MAP_NORESERVE);
    check!(T, a > 0, "1 TiB, MAP_NORESERVE: {}", a);
    let a = a as usize;
    for i in 0..16 {
        poke(a + (i << 36), i as u8 + 1);
    }
    check!(T, mprotect(a, TIB, PROT_READ) == 0, "mprotect 1 TiB");
    check!(T, peek(a + (15 << 36)) == 16, "contents");
    check!(T, munmap(a, TIB) == 0, "munmap 1 TiB");
}

/// struct clone_args (include/uapi/linux/sched.h), 88 bytes, in a page of its own so that
/// sizes up to 4096 can be given.
#[repr(C)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

fn clone3(args: *const CloneArgs, size: usize) -> isize {
    let r = syscall(SYS_CLONE3, &[args as usize, size]);
    if r == 0 {
        exit_group(0);
    }
    if r > 0 {
        wait_exit_code(r);
    }
    r
}

fn clone3_checks() {
    let page = map(0, 2 * PG, RW, PA) as usize;
    let args = page as *mut CloneArgs;
    let set = |f: &dyn Fn(&mut CloneArgs)| {
        // SAFETY: `page` is a fresh read-write mapping of two pages: room for the struct.
        let a = unsafe { &mut *args };
        *a = CloneArgs {
            flags: 0,
            pidfd: 0,
            child_tid: 0,
            parent_tid: 0,
            exit_signal: SIGCHLD as u64,
            stack: 0,
            stack_size: 0,
            tls: 0,
            set_tid: 0,
            set_tid_size: 0,
            cgroup: 0,
        };
        f(a);
    };
    set(&|_| {});
    for (size, want) in [
        (63, -EINVAL),
        (0, -EINVAL),
        (4097, -E2BIG),
        (usize::MAX, -E2BIG),
    ] {
        let r = clone3(args, size);
        check!(T, r == want, "clone3 size {}: {}", size as isize, r);
    }
    for size in [64, 88, 96, 4096] {
        check!(T, clone3(args, size) > 0, "clone3 size {}, zero tail", size);
    }
    for (at, size) in [(95, 96), (4095, 4096), (88, 89)] {
        poke(page + at, 1);
        let r = clone3(args, size);
        check!(
            T,
            r == -E2BIG,
            "clone3 size {} with byte {} set: {}",
            size,
            at,
            r
        );
        poke(page + at, 0);
    }
    poke(page + 95, 1);
    check!(
        T,
        clone3(args, 88) > 0,
        "bytes past the size are not looked at"
    );
    poke(page + 95, 0);
    // The tail past the known struct is read: unmapped, EFAULT.
    check!(T, munmap(page + PG, PG) == 0, "munmap");
    let end = (page + PG - 88) as *mut CloneArgs;
    // SAFETY: the last 88 bytes of the mapped page.
    unsafe { core::ptr::copy_nonoverlapping(args, end, 1) };
    check!(T, clone3(end, 100) == -EFAULT, "tail unmapped");
    check!(
        T,
        clone3(0x10 as *const CloneArgs, 88) == -EFAULT,
        "bad pointer"
    );
    check!(
        T,
        clone3(KERNEL as *const CloneArgs, 88) == -EFAULT,
        "kernel pointer"
    );
    check!(
        T,
        clone3(0x10 as *const CloneArgs, 63) == -EINVAL,
        "size before pointer"
    );
    type Setter<'a> = &'a dyn Fn(&mut CloneArgs);
    let cases: [(&str, Setter, isize); 14] = [
        ("stack without size", &|a| a.stack = 0x10000, -EINVAL),
        ("size without stack", &|a| a.stack_size = 0x1000, -EINVAL),
        (
            "stack + size overflows",
            &|a| {
                a.stack = 0u64.wrapping_sub(4096);
                a.stack_size = 8192
            },
            -EINVAL,
        ),
        (
            "stack past TASK_SIZE",
            &|a| {
                a.stack = (TOP - 4096) as u64;
                a.stack_size = 8192
            },
            -EINVAL,
        ),
        (
            "kernel stack",
            &|a| {
                a.stack = KERNEL as u64;
                a.stack_size = 8192
            },
            -EINVAL,
        ),
        (
            "huge stack size",
            &|a| {
                a.stack = 0x1000;
                a.stack_size = u64::MAX
            },
            -EINVAL,
        ),
        (
            "set_tid_size without set_tid",
            &|a| a.set_tid_size = 1,
            -EINVAL,
        ),
        ("set_tid without size", &|a| a.set_tid = 0x1000, -EINVAL),
        (
            "set_tid_size 33",
            &|a| {
                a.set_tid = 0x1000;
                a.set_tid_size = 33
            },
            -EINVAL,
        ),
        ("exit_signal 65", &|a| a.exit_signal = 65, -EINVAL),
        (
            "exit_signal upper bits",
            &|a| a.exit_signal |= 1 << 32,
            -EINVAL,
        ),
        (
            "CLONE_INTO_CGROUP, cgroup > INT_MAX",
            &|a| {
                a.flags = 0x2_0000_0000;
                a.cgroup = 1 << 31
            },
            -EINVAL,
        ),
        (
            "CLONE_DETACHED",
            &|a| a.flags = CLONE_DETACHED as u64,
            -EINVAL,
        ),
        ("CSIGNAL bits in flags", &|a| a.flags = 17, -EINVAL),
    ];
    for (what, f, want) in cases {
        set(f);
        let r = clone3(args, 88);
        check!(T, r == want, "clone3 {}: {}", what, r);
    }
    set(&|a| {
        a.flags = 0x2_0000_0000;
        a.cgroup = 3;
    });
    check!(
        T,
        clone3(args, 64) == -EINVAL,
        "CLONE_INTO_CGROUP needs size 88"
    );
    check!(
        T,
        clone3(args, 88) == -EBADF,
        "CLONE_INTO_CGROUP, not a cgroup"
    );
    set(&|a| {
        a.stack = 0u64.wrapping_sub(4096);
        a.stack_size = 8192;
    });
    poke(page + 95, 1);
    check!(T, clone3(args, 96) == -E2BIG, "the tail is checked first");
    poke(page + 95, 0);
    check!(T, munmap(page, PG) == 0, "munmap");
}

/// The mapping bomb: one-page mmaps that cannot merge (alternating protection) until
/// ENOMEM. Linux refuses an mmap once the count is above vm.max_map_count (65,530), so
/// the count is exactly 65,531 then, whatever the program had mapped before.
fn mapping_bomb() {
    const TRIES: usize = 200_000;
    const CAP: usize = 70_000;
    let frames = kstat_opt(KSTAT_FRAMES);
    // A three-page mapping to split at the limit, and a page for mremap.
    let three = map(0, 3 * PG, RW, PA) as usize;
    poke(three + PG, 3);
    let list = map(0, CAP * 8, RW, PA);
    check!(T, list > 0, "mmap the address list: {}", list);
    // SAFETY: a fresh read-write mapping of CAP words, used only here.
    let addrs = unsafe { core::slice::from_raw_parts_mut(list as *mut usize, CAP) };
    let mut n = 0;
    let mut err = 0;
    for i in 0..TRIES {
        let prot = if i % 2 == 0 { PROT_NONE } else { PROT_READ };
        let r = map(0, PG, prot, PA);
        if r < 0 {
            err = r;
            break;
        }
        check!(T, n < CAP, "more than {} mappings", CAP);
        addrs[n] = r as usize;
        n += 1;
        if i % 16 == 1 {
            peek(r as usize); // some pages present, so page tables too
        }
    }
    check!(
        T,
        err == -ENOMEM,
        "the bomb ended with {} after {} mmaps",
        err,
        n
    );
    check!(
        T,
        (65_400..=65_531).contains(&n),
        "{} mmaps before ENOMEM",
        n
    );
    // At the limit (65,531 VMAs): nothing that adds a VMA.
    check!(T, map(0, PG, PROT_READ, PA) == -ENOMEM, "one more mmap");
    check!(
        T,
        map(addrs[1], PG, PROT_READ, PA | MAP_FIXED) == -ENOMEM,
        "MAP_FIXED checks the count first"
    );
    check!(
        T,
        mprotect(three + PG, PG, PROT_READ) == -ENOMEM,
        "mprotect split"
    );
    check!(T, munmap(three + PG, PG) == -ENOMEM, "munmap split");
    check!(T, peek(three + PG) == 3, "nothing changed");
    let b0 = brk(0) as usize;
    check!(T, brk(b0 + PG) as usize == b0, "brk cannot grow");
    check!(
        T,
        mremap(
            addrs[5],
            PG,
            PG,
            MREMAP_MAYMOVE | MREMAP_FIXED,
            0x7_0000_0000
        ) == -ENOMEM,
        "mremap move"
    );
    // Unmapping a whole VMA frees one slot: one mmap fits again, not two.
    check!(T, munmap(addrs[n - 1], PG) == 0, "munmap a whole VMA");
    // (The new mappings' protections differ from each other and from the bomb's, so
    // that none of them can merge with a neighbour.)
    let again = map(0, PG, RW, PA);
    check!(T, again > 0, "mmap after munmap: {}", again);
    check!(T, map(0, PG, PROT_WRITE, PA) == -ENOMEM, "and no more");
    // A merge needs no new VMA: protecting a page like both its neighbours frees two.
    // (Neighbours never touched: Linux does not merge two pages touched separately.)
    let k = (16..n - 16)
        .find(|&k| {
            k % 16 == 8
                && addrs[k - 1].abs_diff(addrs[k]) == PG
                && addrs[k + 1].abs_diff(addrs[k]) == PG
        })
        .unwrap_or(0);
    check!(
        T,
        k != 0,
        "no PROT_NONE page between two PROT_READ neighbours"
    );
    check!(
        T,
        mprotect(addrs[k], PG, PROT_READ) == 0,
        "mprotect that merges"
    );
    let m1 = map(0, PG, PROT_EXEC, PA);
    let m2 = map(0, PG, RW | PROT_EXEC, PA);
    check!(
        T,
        m1 > 0 && m2 > 0,
        "two mmaps fit after the merge: {} {}",
        m1,
        m2
    );
    check!(T, map(0, PG, PROT_WRITE, PA) == -ENOMEM, "a third does not");
    // Below the limit by enough, mremap may move again.
    for i in 0..12 {
        check!(T, munmap(addrs[n - 2 - i], PG) == 0, "munmap");
    }
    let moved = mremap(
        addrs[5],
        PG,
        PG,
        MREMAP_MAYMOVE | MREMAP_FIXED,
        0x7_0000_0000,
    );
    check!(
        T,
        moved == 0x7_0000_0000,
        "mremap below the limit: {}",
        moved
    );
    // Everything goes.
    for &a in &addrs[..n - 13] {
        if a != addrs[5] {
            check!(T, munmap(a, PG) == 0, "munmap {:#x}", a);
        }
    }
    for (a, len) in [
        (0x7_0000_0000, PG),
        (again as usize, PG),
        (m1 as usize, PG),
        (m2 as usize, PG),
        (three, 3 * PG),
        (list as usize, CAP * 8),
    ] {
        check!(T, munmap(a, len) == 0, "munmap {:#x}", a);
    }
    let last = map(0, PG, RW, PA);
    check!(T, last > 0, "mmap works again: {}", last);
    check!(T, munmap(last as usize, PG) == 0, "munmap");
    if let (Some(before), Some(now)) = (frames, kstat_opt(KSTAT_FRAMES)) {
        check!(T, now == before, "frames back ({} -> {})", before, now);
    }
}
