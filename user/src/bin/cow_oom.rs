//! Out of memory during a copy-on-write fault kills the faulting process (SIGKILL), never
//! the kernel; the other process keeps its memory, and every frame comes back.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};

use ulib::*;

const T: &str = "cow_oom";
const PAGE: usize = 4096;

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let Some(free) = kstat_opt(3) else {
        println!("{}: ok", T); // needs KSTAT: this kernel only
        return 0;
    };
    let baseline = kstat(0);
    let pages = free * 60 / 100;
    let p = alloc_pages(pages * PAGE) as *mut u64;
    // SAFETY: p is a private mapping of `pages` pages.
    unsafe { (0..pages).for_each(|i| write_volatile(p.add(i * 512), i as u64)) };
    let pid = spawn(|| {
        // SAFETY: our COW view of the same mapping; the copies exhaust memory.
        unsafe { (0..pages).for_each(|i| write_volatile(p.add(i * 512), 0xdead)) };
        0
    });
    let (r, status) = wait4(pid, 0);
    check!(
        T,
        r == pid && status & 0x7f == SIGKILL as i32,
        "the child should die of SIGKILL, status {:#x}",
        status
    );
    // SAFETY: as above.
    let intact = unsafe { (0..pages).all(|i| read_volatile(p.add(i * 512)) == i as u64) };
    check!(T, intact, "the parent's memory changed");
    check!(T, munmap(p as usize, pages * PAGE) == 0, "munmap");
    check!(
        T,
        frames_back_to(baseline),
        "frames leaked: {} -> {}",
        baseline,
        kstat(0)
    );
    println!("{}: ok", T);
    0
}
