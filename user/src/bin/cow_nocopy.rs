//! A write to a COW page after the other side has exited takes the no-copy path: the
//! frame's count is back to 1, so the page is made writable in place. While both sides
//! still map it, the first writer copies and the other then reuses the original frame.
//! Counted per address space (KSTAT 5 = copies, 6 = reuses).
#![no_std]
#![no_main]

use core::ptr::write_volatile;

use ulib::*;

const T: &str = "cow_nocopy";

/// Writes `v` to `p` and returns (copies, reuses) that this one write caused here.
fn counted_write(p: *mut u64, v: u64) -> (usize, usize) {
    let (c, r) = (kstat(KSTAT_MY_COPIES), kstat(KSTAT_MY_REUSES));
    // SAFETY: p points into a private mapping of this process.
    unsafe { write_volatile(p, v) };
    (kstat(KSTAT_MY_COPIES) - c, kstat(KSTAT_MY_REUSES) - r)
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    if kstat_opt(0).is_none() {
        println!("{}: ok", T); // counters are this kernel's; nothing to check on Linux
        return 0;
    }
    let page = alloc_pages(2 * 4096) as *mut u64;
    // SAFETY: fresh private mapping of 2 pages.
    unsafe { (0..2).for_each(|i| write_volatile(page.add(i * 512), 1)) };

    // 1. The child exits without touching the page; then the parent writes: no copy.
    let pid = spawn(|| 0);
    check!(T, wait_exit_code(pid) == 0, "child");
    check!(
        T,
        counted_write(page, 2) == (0, 1),
        "after the child exited: expected (0 copies, 1 reuse)"
    );

    // 2. Both alive: the parent's write copies; the child's later write finds the
    //    original frame with count 1 and reuses it.
    let (go, done) = (pipe(), pipe());
    let result = shared_page();
    // SAFETY: page + 512 is the second page of the mapping.
    let second = unsafe { page.add(512) };
    let pid = spawn(|| {
        let mut b = [0u8; 1];
        read(go[0], &mut b);
        let (c, r) = counted_write(second, 7);
        result[0] = c as u64;
        result[1] = r as u64;
        write(done[1], b"x");
        0
    });
    check!(
        T,
        counted_write(second, 5) == (1, 0),
        "parent write while shared: expected (1 copy, 0 reuses)"
    );
    write(go[1], b"x");
    let mut b = [0u8; 1];
    read(done[0], &mut b);
    check!(T, wait_exit_code(pid) == 0, "child 2");
    check!(
        T,
        (result[0], result[1]) == (0, 1),
        "child write after the parent copied: got ({}, {})",
        result[0],
        result[1]
    );
    // SAFETY: as above.
    unsafe {
        check!(
            T,
            core::ptr::read_volatile(second) == 5,
            "parent keeps its value"
        )
    };
    println!("{}: ok", T);
    0
}
