//! Two threads ping-pong the turn through one futex word, pinned to different CPUs when
//! there are two: each waits (FUTEX_WAIT, private) until the word says it is its turn,
//! bumps a plain counter, hands the turn over and FUTEX_WAKEs the other. On SMP the waker
//! and the waiter run at the same time, so a FUTEX_WAIT that checks the word and goes to
//! sleep in two steps the waker can slip between loses the wake-up: Linux checks the
//! value under the hash-bucket lock the waker takes, so no wake is ever lost and this
//! never hangs. The counter must come out exact (the turn is a lock: one holder at a
//! time, each handover a release/acquire pair). Then the same between two processes on a
//! MAP_SHARED page with shared (non-private) futex operations. A hang — no turn taken for
//! 5 s — is reported with how far each side got.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "smp_futex_pingpong";
/// Round trips between the threads (two handovers each).
const THREAD_ROUNDS: u64 = 5000;
/// Round trips between the processes.
const PROCESS_ROUNDS: u64 = 2000;
/// A hang: no turn taken for this long (a slow, loaded host only makes turns slower).
const STALL_NS: u64 = 5_000_000_000;

/// The turn: 0 = side 0 may go, 1 = side 1.
static TURN: AtomicU32 = AtomicU32::new(0);
/// Only touched by the side that holds the turn.
static mut COUNTER: u64 = 0;
static DONE: [AtomicU64; 2] = [const { AtomicU64::new(0) }; 2];
static BAD: AtomicU64 = AtomicU64::new(0);
static CPUS: [AtomicU64; 2] = [const { AtomicU64::new(u64::MAX) }; 2];

/// Side `me` (0 or 1) of the game on `turn` for `rounds` round trips; `counter` is the
/// shared plain counter, `done` counts this side's turns. Returns 0, or 1 if the counter
/// was not what the alternation implies.
fn play(
    me: u32,
    turn: &AtomicU32,
    counter: *mut u64,
    done: &AtomicU64,
    rounds: u64,
    private: bool,
) -> u64 {
    for i in 0..rounds {
        loop {
            let v = turn.load(Ordering::Acquire);
            if v == me {
                break;
            }
            let r = futex_wait(turn, v, private);
            if r < 0 && r != -EAGAIN && r != -EINTR {
                return 2;
            }
        }
        // SAFETY: only the side whose turn it is touches the counter.
        unsafe {
            let c = counter.read_volatile();
            if c != 2 * i + me as u64 {
                return 1;
            }
            counter.write_volatile(c + 1);
        }
        done.fetch_add(1, Ordering::Relaxed);
        turn.store(1 - me, Ordering::Release);
        futex_wake(turn, 1, private);
    }
    0
}

extern "C" fn side(me: usize) -> i32 {
    let cpus = CPUS[me].load(Ordering::Relaxed);
    if cpus != u64::MAX {
        pin_to_cpu(cpus as usize);
    }
    let r = play(
        me as u32,
        &TURN,
        &raw mut COUNTER,
        &DONE[me],
        THREAD_ROUNDS,
        true,
    );
    BAD.fetch_or(r, Ordering::Release);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let mask = cpu_mask().unwrap_or(1);
    let two = mask.count_ones() >= 2;
    if two {
        CPUS[0].store(nth_cpu(mask, 0) as u64, Ordering::Relaxed);
        CPUS[1].store(nth_cpu(mask, 1) as u64, Ordering::Relaxed);
    }

    // --- Two threads, private futex.
    let start = clock_ns();
    let tids = [AtomicU32::new(0), AtomicU32::new(0)];
    for (i, tid) in tids.iter().enumerate() {
        let r = clone_fn(JOINABLE_THREAD, side, i, tid);
        check!(T, r > 0, "clone gave {}", r);
    }
    let turns = || DONE[0].load(Ordering::Relaxed) + DONE[1].load(Ordering::Relaxed);
    if !wait_threads(&tids, turns, STALL_NS) {
        fail!(
            T,
            "threads hung: no turn for {} s; side 0 took {} turns, side 1 {} of {} (a lost wake-up)",
            STALL_NS / 1_000_000_000,
            DONE[0].load(Ordering::Relaxed),
            DONE[1].load(Ordering::Relaxed),
            THREAD_ROUNDS
        );
    }
    let bad = BAD.load(Ordering::Acquire);
    check!(
        T,
        bad == 0,
        "threads: {}",
        if bad & 1 != 0 {
            "the counter broke the alternation (two sides at once)"
        } else {
            "FUTEX_WAIT failed"
        }
    );
    // SAFETY: both threads have exited.
    let total = unsafe { (&raw const COUNTER).read_volatile() };
    check!(
        T,
        total == 2 * THREAD_ROUNDS
            && DONE[0].load(Ordering::Relaxed) == THREAD_ROUNDS
            && DONE[1].load(Ordering::Relaxed) == THREAD_ROUNDS,
        "threads: counter {} (want {}), turns {} and {}",
        total,
        2 * THREAD_ROUNDS,
        DONE[0].load(Ordering::Relaxed),
        DONE[1].load(Ordering::Relaxed)
    );
    let threads_ms = (clock_ns() - start) / 1_000_000;

    // --- Two processes, shared futex on a MAP_SHARED page.
    let start = clock_ns();
    let sh = shared_atomics();
    // Word 0: the turn (low 32 bits), 1: the counter, 2/3: turns taken, 4/5: results.
    // SAFETY: AtomicU64 and AtomicU32 share the page's memory; the turn is the low half.
    let turn: &'static AtomicU32 = unsafe { &*(sh[0].as_ptr() as *const AtomicU32) };
    let counter = sh[1].as_ptr();
    let mut pids = [0isize; 2];
    for (me, pid) in pids.iter_mut().enumerate() {
        *pid = spawn(|| {
            if two {
                pin_to_cpu(nth_cpu(mask, me));
            }
            let r = play(me as u32, turn, counter, &sh[2 + me], PROCESS_ROUNDS, false);
            sh[4 + me].store(r, Ordering::Release);
            r as i32
        });
        check!(T, *pid > 0, "fork gave {}", *pid);
    }
    let mut left = 2;
    let turns = || sh[2].load(Ordering::Relaxed) + sh[3].load(Ordering::Relaxed);
    let (mut last, mut since) = (turns(), clock_ns());
    while left > 0 {
        let (r, status) = wait4(-1, WNOHANG);
        if r > 0 {
            check!(
                T,
                status == 0,
                "processes: a side ended with status {:#x} (1: alternation broken, 2: FUTEX_WAIT failed)",
                status
            );
            left -= 1;
            continue;
        }
        if turns() != last {
            (last, since) = (turns(), clock_ns());
        } else if clock_ns() - since > STALL_NS {
            for p in pids {
                kill(p, SIGKILL);
            }
            fail!(
                T,
                "processes hung: no turn for {} s; side 0 took {} turns, side 1 {} of {} (a lost wake-up)",
                STALL_NS / 1_000_000_000,
                sh[2].load(Ordering::Relaxed),
                sh[3].load(Ordering::Relaxed),
                PROCESS_ROUNDS
            );
        }
        nanosleep_ns(2_000_000);
    }
    let total = sh[1].load(Ordering::Acquire);
    check!(
        T,
        total == 2 * PROCESS_ROUNDS
            && sh[2].load(Ordering::Relaxed) == PROCESS_ROUNDS
            && sh[3].load(Ordering::Relaxed) == PROCESS_ROUNDS,
        "processes: counter {} (want {}), turns {} and {}",
        total,
        2 * PROCESS_ROUNDS,
        sh[2].load(Ordering::Relaxed),
        sh[3].load(Ordering::Relaxed)
    );
    println!(
        "{}: {} thread round trips in {} ms, {} process round trips in {} ms{}",
        T,
        THREAD_ROUNDS,
        threads_ms,
        PROCESS_ROUNDS,
        (clock_ns() - start) / 1_000_000,
        if two { " (sides on two CPUs)" } else { "" }
    );
    println!("{}: ok", T);
    0
}
