//! Threads (musl's clone flags) share memory; a counter protected by a futex mutex comes
//! out exact; pthread_join-style joins through CLONE_CHILD_CLEARTID + a futex wait.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "threads_futex";
const THREADS: usize = 4;
const ROUNDS: u64 = 500;

static LOCK: FutexMutex = FutexMutex::new();
static mut COUNTER: u64 = 0;
static RUNNING_IN_LOCK: AtomicU64 = AtomicU64::new(0);
static TIDS: [AtomicU32; THREADS] = [const { AtomicU32::new(0) }; THREADS];
static SEEN_PID: [AtomicU64; THREADS] = [const { AtomicU64::new(0) }; THREADS];

/// Set once the main thread has checked every PARENT_SETTID word: a worker that ran to
/// its exit first (on another CPU) would have cleared its word (CHILD_CLEARTID).
static GO: AtomicU32 = AtomicU32::new(0);

extern "C" fn worker(i: usize) -> i32 {
    SEEN_PID[i].store(getpid() as u64, Ordering::SeqCst);
    while GO.load(Ordering::Acquire) == 0 {
        sched_yield();
    }
    for r in 0..ROUNDS {
        LOCK.lock();
        if RUNNING_IN_LOCK.fetch_add(1, Ordering::SeqCst) != 0 {
            exit_group(99); // two threads inside the lock
        }
        // SAFETY: COUNTER is only touched with LOCK held.
        unsafe {
            let v = core::ptr::read_volatile(&raw const COUNTER);
            if r % 16 == 0 {
                sched_yield(); // let others pile up on the futex
            }
            core::ptr::write_volatile(&raw mut COUNTER, v + 1);
        }
        RUNNING_IN_LOCK.fetch_sub(1, Ordering::SeqCst);
        LOCK.unlock();
    }
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let flags = THREAD_FLAGS | CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    for (i, tid) in TIDS.iter().enumerate() {
        let r = clone_fn(flags, worker, i, tid);
        check!(T, r > 0, "clone thread {} gave {}", i, r);
        check!(
            T,
            tid.load(Ordering::SeqCst) == r as u32,
            "PARENT_SETTID wrote {} not {}",
            tid.load(Ordering::SeqCst),
            r
        );
    }
    GO.store(1, Ordering::Release);
    for tid in &TIDS {
        join(tid);
    }
    // SAFETY: every thread has exited.
    let total = unsafe { core::ptr::read_volatile(&raw const COUNTER) };
    check!(
        T,
        total == THREADS as u64 * ROUNDS,
        "counter {} != {}",
        total,
        THREADS as u64 * ROUNDS
    );
    for s in &SEEN_PID {
        check!(
            T,
            s.load(Ordering::SeqCst) == getpid() as u64,
            "a thread's getpid() is not the group's"
        );
    }
    check!(
        T,
        wait4(-1, WNOHANG).0 == -ECHILD,
        "threads are not waitable children"
    );
    println!("{}: ok", T);
    0
}
