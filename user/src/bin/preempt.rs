//! The timer preempts a user program that never yields: a child spinning on a counter in
//! shared memory makes progress while the parent spins too, then SIGKILL ends it.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use ulib::*;

const T: &str = "preempt";

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let shared = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    check!(T, shared > 0, "mmap MAP_SHARED");
    // SAFETY: a fresh shared page, only used through atomics.
    let counter = unsafe { &*(shared as *const AtomicU64) };
    let pid = spawn(|| {
        loop {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    let t0 = clock_ns();
    while counter.load(Ordering::Relaxed) < 1000 {
        check!(
            T,
            clock_ns() - t0 < 10_000_000_000,
            "the child never ran: no preemption"
        );
    }
    check!(T, syscall(SYS_KILL, &[pid as usize, SIGKILL]) == 0, "kill");
    let (r, status) = wait4(pid, 0);
    check!(
        T,
        r == pid && status & 0x7f == SIGKILL as i32,
        "killed child reports SIGKILL (status {:#x})",
        status
    );
    check!(
        T,
        syscall(SYS_KILL, &[pid as usize, 0]) == -ESRCH,
        "a reaped pid is gone"
    );
    println!("{}: ok", T);
    0
}
