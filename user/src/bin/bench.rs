//! `make bench`: the fork path's cost in guest instructions. Run under QEMU with
//! `-icount shift=0`, one guest instruction advances the virtual clock by exactly 1 ns, so
//! clock_gettime differences are instruction counts and repeat exactly from run to run.
//! The same binary runs on real Linux (linux-oracle.sh --icount) for comparison.
#![no_std]
#![no_main]

use core::ptr::write_volatile;
use core::sync::atomic::AtomicU32;

use ulib::*;

const PAGE: usize = 4096;

/// Instructions per iteration of `f`, averaged over `n`, minus the clock's own cost.
fn measure(n: u64, overhead: u64, mut f: impl FnMut()) -> u64 {
    let t0 = clock_ns();
    for _ in 0..n {
        f();
    }
    (clock_ns() - t0 - overhead) / n
}

fn touch(p: *mut u8, pages: usize, v: u8) {
    for i in 0..pages {
        // SAFETY: p is a private read-write mapping of at least `pages` pages.
        unsafe { write_volatile(p.add(i * PAGE), v) };
    }
}

extern "C" fn thread_exit_now(_: usize) -> i32 {
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let t0 = clock_ns();
    let overhead = clock_ns() - t0;

    // Warm up (first faults of code, stack and data pages).
    for _ in 0..5 {
        let pid = spawn(|| 0);
        wait_exit_code(pid);
    }

    // The cheapest system call there is: svc, kernel_entry, dispatch, kernel_exit, eret.
    let null_syscall = measure(1000, overhead, || {
        getppid();
    });

    // First touch of an anonymous page: a demand-zero fault (allocate, clear, map).
    let fresh_pages = 1024;
    let fresh = alloc_pages(fresh_pages * PAGE);
    let t = clock_ns();
    touch(fresh, fresh_pages, 1);
    let first_touch_loop = (clock_ns() - t - overhead) / fresh_pages as u64;
    let t = clock_ns();
    touch(fresh, fresh_pages, 2);
    let first_touch =
        first_touch_loop.saturating_sub((clock_ns() - t - overhead) / fresh_pages as u64);
    munmap(fresh as usize, fresh_pages * PAGE);

    // Context switch: two processes hand the CPU to each other with sched_yield. Each
    // switch saves the FP/SIMD registers of the one and loads those of the other (both
    // have live FP state). Minus a sched_yield with nobody else to run.
    let alone = measure(1000, overhead, || {
        sched_yield();
    });
    let yields = 1000;
    let partner = spawn(move || {
        for _ in 0..yields + 1 {
            sched_yield();
        }
        0
    });
    sched_yield(); // let the partner start its loop
    let ping_pong = measure(yields, overhead, || {
        sched_yield();
    });
    wait4(partner, 0);
    let switch = (ping_pong.saturating_sub(alone)) / 2;

    let fork_rt = measure(200, overhead, || {
        let pid = fork();
        if pid == 0 {
            exit(0);
        }
        wait4(pid, 0);
    });

    let (mut tf, mut tw) = (0, 0);
    for _ in 0..20 {
        let a = clock_ns();
        let pid = fork();
        if pid == 0 {
            exit(0);
        }
        let b = clock_ns();
        wait4(pid, 0);
        let c = clock_ns();
        tf += b - a;
        tw += c - b;
    }
    let (fork_only, wait_only) = (tf / 20, tw / 20);
    let pages = 16 << 20 >> 12;
    let big = alloc_pages(pages * PAGE);
    touch(big, pages, 1);
    let fork_16m = measure(10, overhead, || {
        let pid = fork();
        if pid == 0 {
            exit(0);
        }
        wait4(pid, 0);
    });

    // COW write faults: a child keeps sharing every page while the parent writes them.
    let fds = pipe();
    let pid = spawn(|| {
        let mut b = [0u8; 1];
        read(fds[0], &mut b);
        0
    });
    let t = clock_ns();
    touch(big, pages, 2);
    let cow_fault = (clock_ns() - t - overhead) / pages as u64;
    write(fds[1], b"x");
    wait4(pid, 0);

    // Without a fault: the same loop over pages that are already writable.
    let t = clock_ns();
    touch(big, pages, 3);
    let plain_loop = (clock_ns() - t - overhead) / pages as u64;

    let thread_rt = measure(100, overhead, || {
        let tid = AtomicU32::new(0);
        let flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
        clone_fn(flags, thread_exit_now, 0, &tid);
        join(&tid);
    });

    println!(
        "bench: null system call (getppid)       {:>9} instructions",
        null_syscall
    );
    println!(
        "bench: first touch of an anonymous page {:>9} instructions",
        first_touch
    );
    println!(
        "bench: context switch (sched_yield ping-pong, with FP/SIMD save+load) {} instructions",
        switch
    );
    println!(
        "bench: fork+exit+wait round trip        {:>9} instructions",
        fork_rt
    );
    println!(
        "bench: fork+exit+wait with 16 MiB touched {:>7} instructions",
        fork_16m
    );
    println!(
        "bench: COW write fault, per page         {:>9} instructions",
        cow_fault.saturating_sub(plain_loop)
    );
    println!(
        "bench: thread create+join                {:>9} instructions",
        thread_rt
    );
    println!(
        "bench:   (of the round trip: fork() returns in the parent after {}, wait4 takes {})",
        fork_only, wait_only
    );
    0
}
