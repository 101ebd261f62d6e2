//! Three processes share a page copy-on-write (parent A, child B, grandchild C: count 3)
//! and write it in turn: B copies, C copies, and A — the last one left on the original
//! frame — makes it writable in place. Each counts only its own faults (KSTAT 5/6).
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};

use ulib::*;

const T: &str = "cow_three";

/// Waits for `turn`, checks the old value, writes `v`, records (copies, reuses) at
/// `out`, passes the turn on.
fn take_turn(turn: &mut [u64; 512], mine: u64, page: *mut u64, v: u64, out: usize) -> bool {
    while unsafe { read_volatile(&turn[0]) } != mine {
        sched_yield();
    }
    let (c, r) = (kstat_opt(KSTAT_MY_COPIES), kstat_opt(KSTAT_MY_REUSES));
    // SAFETY: our view of the shared-then-COW page.
    let ok = unsafe { read_volatile(page) } == 1;
    unsafe { write_volatile(page, v) };
    if let (Some(c), Some(r)) = (c, r) {
        turn[out] = (kstat(KSTAT_MY_COPIES) - c) as u64;
        turn[out + 1] = (kstat(KSTAT_MY_REUSES) - r) as u64;
    }
    // SAFETY: a valid reference into the shared page.
    unsafe { write_volatile(&mut turn[0], mine + 1) };
    ok
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let page = alloc_pages(4096) as *mut u64;
    // SAFETY: a fresh private page.
    unsafe { write_volatile(page, 1) };
    let turn = shared_page();
    let b = spawn(|| {
        let c = spawn(|| {
            if take_turn(turn, 2, page, 3, 12) {
                0
            } else {
                1
            }
        });
        let ok = take_turn(turn, 1, page, 2, 10);
        let c_ok = wait_exit_code(c) == 0;
        // SAFETY: our view of the page.
        if ok && c_ok && unsafe { read_volatile(page) } == 2 {
            0
        } else {
            1
        }
    });
    nanosleep_ns(20_000_000); // B and C exist; the page is now mapped three times
    // SAFETY: a valid reference into the shared page.
    unsafe { write_volatile(&mut turn[0], 1) };
    check!(
        T,
        wait_exit_code(b) == 0,
        "child or grandchild saw the wrong value"
    );
    check!(
        T,
        take_turn(turn, 3, page, 4, 14),
        "the parent's page changed"
    );
    if kstat_opt(0).is_some() {
        check!(
            T,
            (turn[10], turn[11]) == (1, 0),
            "B: expected a copy, got ({}, {})",
            turn[10],
            turn[11]
        );
        check!(
            T,
            (turn[12], turn[13]) == (1, 0),
            "C: expected a copy, got ({}, {})",
            turn[12],
            turn[13]
        );
        check!(
            T,
            (turn[14], turn[15]) == (0, 1),
            "A: expected reuse, got ({}, {})",
            turn[14],
            turn[15]
        );
    }
    println!("{}: ok", T);
    0
}
