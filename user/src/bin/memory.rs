//! brk, anonymous mmap/munmap/mprotect, demand paging, and their error cases.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "memory";
const PAGE: usize = 4096;

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // brk
    let start = brk(0) as usize;
    check!(
        T,
        start > 0 && start.is_multiple_of(PAGE),
        "initial break {:#x}",
        start
    );
    check!(
        T,
        brk(start + 3 * PAGE + 100) as usize == start + 3 * PAGE + 100,
        "grow the break"
    );
    // SAFETY: the break was just moved past these bytes.
    unsafe {
        let p = start as *mut u8;
        for i in 0..3 * PAGE + 100 {
            p.add(i).write_volatile(i as u8);
        }
        check!(
            T,
            p.add(2 * PAGE + 7).read_volatile() == (2 * PAGE + 7) as u8,
            "heap contents"
        );
    }
    check!(
        T,
        brk(start + PAGE) as usize == start + PAGE,
        "shrink the break"
    );
    check!(
        T,
        brk(start - PAGE) as usize == start + PAGE,
        "below the start: unchanged"
    );

    // mmap: lazily populated, zero-filled, unmappable
    let before = kstat_opt(0);
    let len = 64 * PAGE;
    let p = alloc_pages(len);
    check!(T, (p as isize) > 0, "mmap returned {}", p as isize);
    if let (Some(b), Some(now)) = (before, kstat_opt(0)) {
        check!(
            T,
            now <= b + 4,
            "mmap alone allocates no data frames ({} -> {})",
            b,
            now
        );
    }
    // SAFETY: p..p+len was just mapped read-write.
    unsafe {
        check!(
            T,
            p.add(len - 1).read_volatile() == 0,
            "fresh memory reads zero"
        );
        for i in (0..len).step_by(PAGE) {
            p.add(i).write_volatile(0x5a);
        }
    }
    check!(T, munmap(p as usize, len) == 0, "munmap");
    check!(
        T,
        munmap(p as usize + 1, PAGE) == -EINVAL,
        "unaligned munmap"
    );
    if let (Some(b), Some(now)) = (before, kstat_opt(0)) {
        check!(
            T,
            now == b,
            "munmap returned every frame ({} -> {})",
            b,
            now
        );
    }
    // Touching unmapped memory kills only the child that does it.
    let pid = spawn(|| {
        // SAFETY: deliberately invalid: the page was unmapped.
        unsafe { p.read_volatile() as i32 }
    });
    check!(
        T,
        wait_exit_code(pid) == 128 + SIGSEGV as i32,
        "access after munmap is SIGSEGV"
    );

    // PROT_NONE, then mprotect to read-write (how libcs allocate thread stacks)
    let g = mmap(0, 4 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
    check!(T, g > 0, "mmap PROT_NONE");
    let pid = spawn(|| {
        // SAFETY: deliberately invalid: PROT_NONE.
        unsafe { (g as *const u8).read_volatile() as i32 }
    });
    check!(
        T,
        wait_exit_code(pid) == 128 + SIGSEGV as i32,
        "PROT_NONE access is SIGSEGV"
    );
    check!(
        T,
        syscall(
            SYS_MPROTECT,
            &[g as usize + PAGE, 2 * PAGE, PROT_READ | PROT_WRITE]
        ) == 0,
        "mprotect"
    );
    // SAFETY: now read-write.
    unsafe { ((g as usize + PAGE) as *mut u64).write_volatile(42) };
    check!(
        T,
        syscall(SYS_MPROTECT, &[0x7000_0000_0000, PAGE, PROT_READ]) == -ENOMEM,
        "mprotect of unmapped memory"
    );
    // Bad arguments
    check!(
        T,
        mmap(0, PAGE, PROT_READ, MAP_ANONYMOUS) == -EINVAL,
        "neither SHARED nor PRIVATE"
    );
    check!(
        T,
        mmap(0, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS) == -EINVAL,
        "zero length"
    );
    check!(
        T,
        mmap(0, usize::MAX - 10, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS) < 0,
        "huge length"
    );
    let fixed = 0x20_0000_0000usize;
    check!(
        T,
        mmap(
            fixed,
            PAGE,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED
        ) == fixed as isize,
        "MAP_FIXED"
    );
    check!(
        T,
        munmap(fixed, PAGE) == 0 && munmap(g as usize, 4 * PAGE) == 0,
        "cleanup"
    );
    println!("{}: ok", T);
    0
}
