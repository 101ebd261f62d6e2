//! On-demand fork against classic fork (src/mm/odf.rs, docs/odf.md), in guest
//! instructions: boot it under `-icount shift=0` once as it is and once with `fork=odf` on
//! the kernel command line (it says which mode it found: kstat 11 counts shared tables).
//! For a process with 16 MiB and 64 MiB resident (private anonymous, every page touched):
//!   fork            the parent's fork() alone (the child exits at once);
//!   fork+exit+wait  the whole cycle, as bench.rs's "fork+exit+wait with 16 MiB touched";
//!   first write     the parent's first write into each 2 MiB after a fork, while the
//!                   child still shares: under ODF the table copy (512 entries) + the COW
//!                   copy of the page; classic, the COW copy alone;
//!   next write      a second page of the same 2 MiB: a COW copy in both modes;
//!   touch all       writing every page after a fork (the sum of all those faults).
//! Runs on Linux too (linux-oracle.sh --icount): there, classic fork.
#![no_std]
#![no_main]

use core::ptr::write_volatile;

use ulib::*;

const PAGE: usize = 4096;
const TABLE: usize = 2 << 20;

fn touch(p: *mut u8, pages: usize, v: u8) {
    for i in 0..pages {
        // SAFETY: p is a private read-write mapping of at least `pages` pages.
        unsafe { write_volatile(p.add(i * PAGE), v) };
    }
}

/// A child that waits for a byte on `fds[0]` (so it keeps sharing), then exits.
fn sleeper(fds: [i32; 2]) -> isize {
    spawn(|| {
        let mut b = [0u8; 1];
        read(fds[0], &mut b);
        0
    })
}

fn bench(mib: usize, overhead: u64) {
    let len = mib << 20;
    let pages = len / PAGE;
    // 2 MiB-aligned, so that every level-3 table is wholly this mapping's.
    let raw = alloc_pages(len + TABLE) as usize;
    let big = ((raw + TABLE - 1) & !(TABLE - 1)) as *mut u8;
    touch(big, pages, 1);

    let n = 10u64;
    let (mut tf, mut tall) = (0, 0);
    for _ in 0..n {
        let a = clock_ns();
        let pid = fork();
        if pid == 0 {
            exit(0);
        }
        let b = clock_ns();
        wait4(pid, 0);
        let c = clock_ns();
        tf += b - a - overhead;
        tall += c - a - overhead;
    }
    println!(
        "bench-odf: {:>2} MiB fork            {:>9} instructions",
        mib,
        tf / n
    );
    println!(
        "bench-odf: {:>2} MiB fork+exit+wait  {:>9} instructions",
        mib,
        tall / n
    );

    // First and second write into each 2 MiB, while a child shares it.
    let tables = len / TABLE;
    let fds = pipe();
    let pid = sleeper(fds);
    let (mut first, mut next) = (0, 0);
    for t in 0..tables {
        let p = big.wrapping_add(t * TABLE);
        let a = clock_ns();
        touch(p, 1, 2);
        let b = clock_ns();
        touch(p.wrapping_add(PAGE), 1, 2);
        let c = clock_ns();
        first += b - a - overhead;
        next += c - b - overhead;
    }
    write(fds[1], b"x");
    wait4(pid, 0);
    println!(
        "bench-odf: {:>2} MiB first write      {:>9} instructions (per 2 MiB, while shared)",
        mib,
        first / tables as u64
    );
    println!(
        "bench-odf: {:>2} MiB next write       {:>9} instructions (same 2 MiB)",
        mib,
        next / tables as u64
    );

    // Every page written after a fork.
    let pid = sleeper(fds);
    let a = clock_ns();
    touch(big, pages, 3);
    let all = clock_ns() - a - overhead;
    write(fds[1], b"x");
    wait4(pid, 0);
    println!(
        "bench-odf: {:>2} MiB touch all        {:>9} instructions ({} per page)",
        mib,
        all,
        all / pages as u64
    );
    close(fds[0]);
    close(fds[1]);
    munmap(raw, len + TABLE);
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let t = clock_ns();
    let overhead = clock_ns() - t;
    let shared = kstat_opt(11);
    bench(16, overhead);
    let mode = match (shared, kstat_opt(11)) {
        (Some(a), Some(b)) if b > a => "fork=odf",
        (Some(_), _) => "classic fork",
        _ => "Linux (classic fork)",
    };
    println!("bench-odf: mode {}", mode);
    bench(64, overhead);
    println!("bench-odf: done");
    0
}
