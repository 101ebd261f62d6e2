//! Thousands of threads created and exiting on all CPUs at once. Four creator threads
//! (on different CPUs when there are enough) each start batches of four threads
//! (musl's flags + PARENT_SETTID + CHILD_CLEARTID) and join them by a futex wait on the
//! tid word; the first thread of each batch starts and joins one more of its own. Each
//! thread checks that PARENT_SETTID had written its tid before it ran (Linux writes it
//! before the thread can be scheduled) and leaves a result the joiner checks. An exiting
//! thread's CHILD_CLEARTID store + futex wake races with the joiner's FUTEX_WAIT on
//! another CPU: Linux never loses that wake (a lost one hangs the join, reported after a
//! timeout). The count of threads that ran must be exact, and frames and kernel heap must
//! be back at the baseline both inside the process after the churn and after it exits.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "smp_thread_churn";
const CREATORS: usize = 4;
const BATCH: usize = 4;
const BATCHES: u64 = 300;
const STACK: usize = 16 * 1024;
/// Stack slots: one per creator, then BATCH + 1 per creator for its threads.
const SLOTS: usize = CREATORS * (BATCH + 2);
const TIMEOUT_NS: u64 = 10_000_000_000;

static STACKS: AtomicU64 = AtomicU64::new(0);
static MASK: AtomicU64 = AtomicU64::new(1);
static TIDS: [AtomicU32; SLOTS] = [const { AtomicU32::new(0) }; SLOTS];
static RESULT: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static RAN: AtomicU64 = AtomicU64::new(0);
static BATCHES_NOW: AtomicU64 = AtomicU64::new(0);
/// The first failure: 1 clone failed, 2 tid word not set when the thread ran, 3 wrong
/// result, 4 join hung; with (creator, batch, slot, value).
static BAD: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

fn report(kind: u64, a: u64, b: u64, c: u64, d: u64) {
    if BAD[0]
        .compare_exchange(0, kind, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
    {
        for (i, v) in [a, b, c, d].into_iter().enumerate() {
            BAD[1 + i].store(v, Ordering::Relaxed);
        }
    }
}

fn stack_top(slot: usize) -> usize {
    STACKS.load(Ordering::Relaxed) as usize + (slot + 1) * STACK
}

fn slot_of(creator: usize, j: usize) -> usize {
    CREATORS + creator * (BATCH + 1) + j
}

/// arg = slot | nested << 16 | token << 20.
extern "C" fn worker(arg: usize) -> i32 {
    let slot = arg & 0xffff;
    let token = (arg >> 20) as u64;
    let tid = gettid() as u32;
    if TIDS[slot].load(Ordering::Acquire) != tid {
        report(
            2,
            0,
            0,
            slot as u64,
            TIDS[slot].load(Ordering::Relaxed) as u64,
        );
    }
    RAN.fetch_add(1, Ordering::Relaxed);
    if arg & 0x10000 != 0 {
        // The batch's first thread: start one more (in the creator's spare slot, after
        // its batch) and join it.
        let extra = slot + BATCH;
        let r = thread_on(
            stack_top(extra),
            worker,
            extra | (token as usize + 1) << 20,
            &TIDS[extra],
        );
        if r <= 0 {
            report(1, 0, 0, extra as u64, r as u64);
        } else if !join_timeout(&TIDS[extra], TIMEOUT_NS) {
            report(4, 0, 0, extra as u64, 0);
        } else if RESULT[extra].load(Ordering::Acquire) != token + 1 {
            report(3, 0, 0, extra as u64, RESULT[extra].load(Ordering::Relaxed));
        }
    }
    if token.is_multiple_of(3) {
        sched_yield();
    }
    RESULT[slot].store(token, Ordering::Release);
    0
}

extern "C" fn creator(c: usize) -> i32 {
    let mask = MASK.load(Ordering::Relaxed);
    if mask.count_ones() > 1 {
        pin_to_cpu(nth_cpu(mask, c));
    }
    for b in 0..BATCHES_NOW.load(Ordering::Relaxed) {
        for j in 0..BATCH {
            let slot = slot_of(c, j);
            let token = (c as u64) << 24 | b << 4 | j as u64;
            RESULT[slot].store(u64::MAX, Ordering::Relaxed);
            let nested = if j == 0 { 0x10000 } else { 0 };
            let r = thread_on(
                stack_top(slot),
                worker,
                slot | nested | (token as usize) << 20,
                &TIDS[slot],
            );
            if r <= 0 {
                report(1, c as u64, b, slot as u64, r as u64);
                return 1;
            }
        }
        for j in 0..BATCH {
            let slot = slot_of(c, j);
            if !join_timeout(&TIDS[slot], TIMEOUT_NS) {
                report(4, c as u64, b, slot as u64, 0);
                return 1;
            }
            let token = (c as u64) << 24 | b << 4 | j as u64;
            let got = RESULT[slot].load(Ordering::Acquire);
            if got != token {
                report(3, c as u64, b, slot as u64, got);
                return 1;
            }
        }
        if BAD[0].load(Ordering::Relaxed) != 0 {
            return 1;
        }
    }
    0
}

/// One churn: CREATORS creators, `batches` batches each; returns the threads that ran.
fn churn(batches: u64) -> u64 {
    BATCHES_NOW.store(batches, Ordering::Relaxed);
    RAN.store(0, Ordering::Relaxed);
    for (c, tid) in TIDS.iter().enumerate().take(CREATORS) {
        let r = thread_on(stack_top(c), creator, c, tid);
        check!(T, r > 0, "clone of creator {} gave {}", c, r);
    }
    if !wait_threads(
        &TIDS[..CREATORS],
        || RAN.load(Ordering::Relaxed),
        TIMEOUT_NS,
    ) {
        fail!(
            T,
            "the creators hung ({} threads ran so far)",
            RAN.load(Ordering::Relaxed)
        );
    }
    let b: [u64; 5] = core::array::from_fn(|i| BAD[i].load(Ordering::Acquire));
    match b[0] {
        0 => {}
        1 => fail!(
            T,
            "creator {} batch {}: clone for slot {} gave {}",
            b[1],
            b[2],
            b[3],
            b[4] as i64
        ),
        2 => fail!(
            T,
            "a thread (slot {}) ran before PARENT_SETTID stored its tid (word: {})",
            b[3],
            b[4]
        ),
        3 => fail!(
            T,
            "creator {} batch {}: slot {} left {:#x}, not its token",
            b[1],
            b[2],
            b[3],
            b[4]
        ),
        _ => fail!(
            T,
            "creator {} batch {}: joining slot {} hung (a lost CHILD_CLEARTID wake?)",
            b[1],
            b[2],
            b[3]
        ),
    }
    let ran = RAN.load(Ordering::Acquire);
    let want = batches * (CREATORS * (BATCH + 1)) as u64;
    check!(T, ran == want, "{} threads ran, not {}", ran, want);
    ran + CREATORS as u64
}

fn test_process(batches: u64) -> i32 {
    MASK.store(cpu_mask().unwrap_or(1).max(1), Ordering::Relaxed);
    let stacks = stack_pool(SLOTS, STACK);
    check!(T, stacks > 0, "mmap of the stacks gave {}", stacks);
    STACKS.store(stacks as u64, Ordering::Relaxed);
    churn(2);
    let baseline = settled_mem_usage();
    let n = churn(batches);
    if let Err((frames, heap)) = check_baseline(baseline) {
        let (f0, h0) = baseline.unwrap();
        fail!(
            T,
            "after {} threads: frames {} (before: {}), kernel heap {} (before: {})",
            n,
            frames,
            f0,
            heap,
            h0
        );
    }
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let warm = spawn(|| test_process(2));
    let code = wait_exit_code(warm);
    if code == 1 {
        return 1; // it printed why
    }
    check!(T, code == 0, "the warm-up test process ended with {}", code);
    let baseline = settled_mem_usage();
    let start = clock_ns();
    run_test_process(T, baseline, || test_process(BATCHES));
    println!(
        "{}: {} threads by {} creators in {} ms",
        T,
        BATCHES * (CREATORS * (BATCH + 1)) as u64 + CREATORS as u64,
        CREATORS,
        (clock_ns() - start) / 1_000_000
    );
    println!("{}: ok", T);
    0
}
