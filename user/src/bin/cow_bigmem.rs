//! Fork a process that has written more than half of the free memory: only copy-on-write
//! makes this fork possible (an eager copy needs more frames than are free). Then each
//! side writes all of it in turn — the second writer after the first has exited, so every
//! write is the no-copy path. Done twice in each order; no frame may leak.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};

use ulib::*;

const T: &str = "cow_bigmem";
const PAGE: usize = 4096;

/// Writes `v` into the first word of every page and checks the previous value.
fn write_all(p: *mut u64, pages: usize, old: u64, v: u64) -> bool {
    let mut ok = true;
    for i in 0..pages {
        // SAFETY: p..p+pages*PAGE is a private read-write mapping of this process.
        unsafe {
            let w = p.add(i * PAGE / 8);
            ok &= read_volatile(w) == old + i as u64;
            write_volatile(w, v + i as u64);
        }
    }
    ok
}

/// One round in a fresh process `P`: P allocates and writes > half of free memory, forks
/// C. If `child_first`, P exits at once and C writes everything; otherwise C exits and P
/// writes everything.
fn round(child_first: bool) -> i32 {
    let Some(free) = kstat_opt(3) else { return 0 };
    let pages = free * 55 / 100;
    let p = alloc_pages(pages * PAGE) as *mut u64;
    write_all(p, pages, 0, 100);
    let me = getpid();
    let c = fork();
    if c < 0 {
        return 10; // fork failed: the duplicator copied instead of sharing
    }
    if c == 0 {
        if child_first {
            // Wait for P to exit: our parent becomes init (or another reaper).
            while getppid() == me {
                sched_yield();
            }
            let before = kstat(KSTAT_MY_COPIES);
            let ok = write_all(p, pages, 100, 200);
            exit(if !ok {
                20
            } else if kstat(KSTAT_MY_COPIES) != before {
                21
            } else {
                0
            });
        }
        exit(0);
    }
    if child_first {
        exit(0); // P exits; C finishes the round (the test waits for it via status)
    }
    if wait_exit_code(c) != 0 {
        return 11;
    }
    let before = kstat(KSTAT_MY_COPIES);
    if !write_all(p, pages, 100, 300) {
        return 12;
    }
    if kstat(KSTAT_MY_COPIES) != before {
        return 13; // the parent's writes after the child exited must not copy
    }
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    if kstat_opt(0).is_none() {
        println!("{}: ok", T); // needs KSTAT (this kernel); nothing to check on Linux
        return 0;
    }
    let baseline = kstat(0);
    for iteration in 0..2 {
        for child_first in [false, true] {
            let p = spawn(|| round(child_first));
            let code = wait_exit_code(p);
            check!(
                T,
                code == 0,
                "iteration {} child_first={}: round failed with {}",
                iteration,
                child_first,
                code
            );
            if child_first {
                // The orphaned writer C is reparented to us (init); reap it.
                let (r, st) = wait4(-1, 0);
                check!(
                    T,
                    r > 0 && st == 0,
                    "the writer after its parent exited: {} status {:#x}",
                    r,
                    st
                );
            }
            check!(
                T,
                frames_back_to(baseline),
                "frames leaked: {} -> {}",
                baseline,
                kstat(0)
            );
        }
    }
    println!("{}: ok", T);
    0
}
