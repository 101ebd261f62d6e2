//! `make bench` (ci/bench.sh, part "sweep"): what fork, exit and a COW fault cost as the
//! process grows, in guest instructions (under `-icount shift=0` one instruction is one
//! ns of CLOCK_MONOTONIC). The same binary runs on this kernel (classic fork, and
//! `fork=odf` on the kernel command line) and on Linux 6.1 (ci/oracle.sh), so the three
//! curves of docs/pictures/bench/sweep-*.svg are measured in the same way.
//!
//! For each resident size S (MiB; default 0 1 2 4 8 16 32 64) the parent maps S MiB of
//! anonymous memory and writes every page (so every page is present), then:
//!   fork   the parent's time in fork(): clock before the call to clock after it returns
//!          in the parent. The child blocks at once on a pipe, so whichever of the two runs
//!          first, the figure is the parent's system call (plus a child's few instructions
//!          up to its read when a kernel runs the child first).
//!   exit   the child's exit, as both kernels let user space see it: the child writes the
//!          clock to a MAP_SHARED page and calls exit_group; the figure is from there to
//!          the return of the parent's wait4 (the child's exit_mm with its S MiB still
//!          shared with the parent, the switch, the parent's reaping). The parent wakes the
//!          child through the pipe and calls wait4; whichever of the two a kernel runs
//!          first after the wake-up (one CPU), the window starts at the child's clock.
//!   cow    per page: after a second fork (the child blocked on its pipe, so every page is
//!          shared), the parent writes one byte to every page; minus the same loop over
//!          pages that are already writable. None for S = 0.
//! Each is the mean of REPS rounds after one untimed round, minus the clock's own cost.
//! Output: one line per size, `bench-sweep: size=S pages=P fork=F exit=E cow=C`.
//!
//! `bench_sweep profile S N` (`make profile`, ci/profile.sh): N fork+exit+wait round
//! trips of an S-MiB-resident process, between calls of `profile_start` and
//! `profile_stop`, two functions of this program that do nothing else: the QEMU plugin
//! (ci/profile/insn_count.c) counts instructions only between their first executions.
#![no_std]
#![no_main]

use core::hint::black_box;
use core::ptr::{read_volatile, write_volatile};

use ulib::*;

const PAGE: usize = 4096;
const MIB: usize = 1 << 20;
const REPS: u64 = 3;
const DEFAULT_SIZES: [usize; 8] = [0, 1, 2, 4, 8, 16, 32, 64];

fn touch(p: *mut u8, pages: usize, v: u8) {
    for i in 0..pages {
        // SAFETY: p is a private read-write mapping of at least `pages` pages.
        unsafe { write_volatile(p.add(i * PAGE), v) };
    }
}

fn fail(what: &str) -> ! {
    println!("bench-sweep: FAILED: {}", what);
    exit_group(1);
}

/// A child that blocks until the parent writes a byte to `fds`, then writes the clock to
/// `stamp` and exits. Returns its pid.
fn blocked_child(fds: [i32; 2], stamp: *mut u64) -> isize {
    let pid = fork();
    if pid == 0 {
        let mut b = [0u8; 1];
        read(fds[0], &mut b);
        // SAFETY: stamp points into a MAP_SHARED page that stays mapped.
        unsafe { write_volatile(stamp, clock_ns()) };
        exit_group(0);
    }
    if pid < 0 {
        fail("fork");
    }
    pid
}

/// (fork, exit) in instructions, one round.
fn fork_exit_round(overhead: u64, stamp: *mut u64) -> (u64, u64) {
    let fds = pipe();
    let t0 = clock_ns();
    let pid = blocked_child(fds, stamp);
    let t1 = clock_ns();
    write(fds[1], b"x");
    let (r, _) = wait4(pid, 0);
    let t2 = clock_ns();
    if r != pid {
        fail("wait4");
    }
    close(fds[0]);
    close(fds[1]);
    // SAFETY: as in blocked_child; the child has exited, so the value is final.
    let child_exit = unsafe { read_volatile(stamp) };
    (t1 - t0 - overhead, t2.saturating_sub(child_exit + overhead))
}

/// COW fault cost per page, one round: fork, write every page in the parent, let the
/// child go.
fn cow_round(overhead: u64, big: *mut u8, pages: usize, stamp: *mut u64, v: u8) -> u64 {
    let fds = pipe();
    let pid = blocked_child(fds, stamp);
    let t = clock_ns();
    touch(big, pages, v);
    let faults = clock_ns() - t - overhead;
    write(fds[1], b"x");
    wait4(pid, 0);
    close(fds[0]);
    close(fds[1]);
    let t = clock_ns();
    touch(big, pages, v.wrapping_add(1));
    let plain = clock_ns() - t - overhead;
    faults.saturating_sub(plain) / pages as u64
}

fn sweep(sizes: &[usize], overhead: u64, stamp: *mut u64) {
    for &mib in sizes {
        let pages = mib * MIB / PAGE;
        let big = if pages > 0 {
            let p = alloc_pages(pages * PAGE);
            if (p as isize) < 0 {
                fail("mmap");
            }
            touch(p, pages, 1);
            p
        } else {
            core::ptr::null_mut()
        };
        fork_exit_round(overhead, stamp); // untimed
        let (mut tf, mut te) = (0, 0);
        for _ in 0..REPS {
            let (f, e) = fork_exit_round(overhead, stamp);
            tf += f;
            te += e;
        }
        print!(
            "bench-sweep: size={} pages={} fork={} exit={}",
            mib,
            pages,
            tf / REPS,
            te / REPS
        );
        if pages > 0 {
            cow_round(overhead, big, pages, stamp, 2); // untimed
            let mut tc = 0;
            for r in 0..REPS {
                tc += cow_round(overhead, big, pages, stamp, 4 + 2 * r as u8);
            }
            println!(" cow={}", tc / REPS);
            munmap(big as usize, pages * PAGE);
        } else {
            println!(" cow=-");
        }
    }
}

/// The profile window's markers (ci/profile/insn_count.c looks their addresses up in
/// this program's symbol table). Not inlined, and different, so that each has an address
/// of its own.
#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn profile_start() -> u64 {
    black_box(1)
}

#[unsafe(no_mangle)]
#[inline(never)]
pub extern "C" fn profile_stop() -> u64 {
    black_box(2)
}

fn profile(mib: usize, n: usize) {
    let pages = mib * MIB / PAGE;
    if pages > 0 {
        let p = alloc_pages(pages * PAGE);
        if (p as isize) < 0 {
            fail("mmap");
        }
        touch(p, pages, 1);
    }
    // Warm up: the first forks fault in code, stack and data pages.
    for _ in 0..3 {
        let pid = spawn(|| 0);
        wait4(pid, 0);
    }
    let t = clock_ns();
    black_box(profile_start());
    for _ in 0..n {
        let pid = fork();
        if pid == 0 {
            exit_group(0);
        }
        wait4(pid, 0);
    }
    black_box(profile_stop());
    let total = clock_ns() - t;
    println!(
        "bench-sweep: profile size={} rounds={} per-round={}",
        mib,
        n,
        total / n.max(1) as u64
    );
}

fn number(s: &str) -> usize {
    s.parse()
        .unwrap_or_else(|_| fail("arguments: sizes in MiB, or profile MIB N"))
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    let t0 = clock_ns();
    let overhead = clock_ns() - t0;
    if args.get(1) == Some("profile") {
        profile(
            args.get(2).map_or(0, number),
            args.get(3).map_or(10, number),
        );
        return 0;
    }
    let stamp = shared_page().as_mut_ptr();
    let mut sizes = [0usize; 16];
    let mut n = 0;
    for i in 1..args.argc.min(17) {
        sizes[n] = number(args.get(i).unwrap_or(""));
        n += 1;
    }
    if n == 0 {
        sweep(&DEFAULT_SIZES, overhead, stamp);
    } else {
        sweep(&sizes[..n], overhead, stamp);
    }
    println!("bench-sweep: done");
    0
}
