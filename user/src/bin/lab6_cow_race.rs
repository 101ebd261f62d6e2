//! lab6_cow_race — lab 6 (docs/labs/lab6.md): the SMP copy-on-write race, as a stress test
//! that fails within seconds when the write fault installs its copy without checking that
//! the entry is still the one it copied from (Linux `wp_page_copy`'s `pte_same` recheck).
//!
//! Each round maps 64 fresh pages, fills them, starts four threads (one per CPU) and forks;
//! the child only waits. Then the parent's threads meet at every page in turn (a spin
//! barrier per page) and each writes its own word of it at the same moment: four write
//! faults on one COW page at once, so several CPUs copy it concurrently and all but the
//! first must throw their copy away. Then the parent checks that every thread's write is
//! there (a second copy installed over the first loses the writes made into the first),
//! and the child that its pages still hold exactly what they held at fork (a frame freed
//! while the child maps it gets reused and rewritten). Twenty rounds; after the test
//! process has exited, the kernel's frames and heap must be back where they were (each
//! lost race that was installed anyway leaks a frame). (A loaded host stops after 12 s,
//! once six rounds are done: without the recheck, a run fails in the first few.) On Linux, which has no KSTAT,
//! that last check is skipped.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "lab6_cow_race";
const ROUNDS: u64 = 20;
/// A slow (loaded) host stops after this long, once MIN_ROUNDS are done.
const BUDGET_NS: u64 = 12_000_000_000;
const MIN_ROUNDS: u64 = 6;
const PAGES: usize = 64;
const THREADS: usize = 4;
const STACK: usize = 32 * 1024;
const TIMEOUT_NS: u64 = 20_000_000_000;

/// Words of the MAP_SHARED page between the parent and the child.
const PARENT_DONE: usize = 0; // round + 1 once the parent checked its pages
const CHILD_BAD: usize = 1; // the child's first mismatch: page, word, value

static GO: AtomicU32 = AtomicU32::new(0);
static READY: AtomicU64 = AtomicU64::new(0);
static AREA: AtomicU64 = AtomicU64::new(0);
static ROUND: AtomicU64 = AtomicU64::new(0);
static MASK: AtomicU64 = AtomicU64::new(1);
static STACKS: AtomicU64 = AtomicU64::new(0);
/// ARRIVED[p]: the threads that reached page p (the per-page barrier).
static ARRIVED: [AtomicU32; PAGES] = [const { AtomicU32::new(0) }; PAGES];
static TIDS: [AtomicU32; THREADS] = [const { AtomicU32::new(0) }; THREADS];

fn init_val(round: u64, page: usize, word: usize) -> u64 {
    0x11 << 56 | round << 40 | (page as u64) << 24 | word as u64
}

/// Thread t's word of a page: its own cache line.
fn slot(t: usize) -> usize {
    8 * t
}

fn written(round: u64, page: usize, t: usize) -> u64 {
    0xab << 56 | round << 40 | (page as u64) << 24 | 0xf000 | t as u64
}

fn page(p: usize) -> *mut u64 {
    (AREA.load(Ordering::Relaxed) as usize + p * 4096) as *mut u64
}

/// Spins until all threads reached page p's barrier (yielding now and then, and always
/// on one CPU, so that a thread that is not running gets there).
fn barrier(p: usize, single_cpu: bool) {
    ARRIVED[p].fetch_add(1, Ordering::AcqRel);
    let mut spins = 0u64;
    while ARRIVED[p].load(Ordering::Acquire) < THREADS as u32 {
        spins += 1;
        if single_cpu || spins.is_multiple_of(4096) {
            sched_yield();
        }
        core::hint::spin_loop();
    }
}

/// Thread t: waits for GO, then writes its word of every page, all threads together.
extern "C" fn writer(t: usize) -> i32 {
    let round = ROUND.load(Ordering::Relaxed);
    let mask = MASK.load(Ordering::Relaxed);
    let single_cpu = mask.count_ones() == 1;
    if !single_cpu {
        pin_to_cpu(nth_cpu(mask, t));
    }
    READY.fetch_add(1, Ordering::AcqRel);
    while GO.load(Ordering::Acquire) == 0 {
        sched_yield();
    }
    for p in 0..PAGES {
        barrier(p, single_cpu);
        // SAFETY: inside the round's mapping; this word is only this thread's.
        unsafe { page(p).add(slot(t)).write_volatile(written(round, p, t)) };
    }
    0
}

/// What the parent must find in word w of page p after the round.
fn parent_expected(round: u64, p: usize, w: usize) -> u64 {
    match (0..THREADS).find(|&t| slot(t) == w) {
        Some(t) => written(round, p, t),
        None => init_val(round, p, w),
    }
}

/// The first word of the area that is not `want(page, word)`.
fn first_mismatch(want: impl Fn(usize, usize) -> u64) -> Option<(usize, usize, u64)> {
    for p in 0..PAGES {
        for w in 0..512 {
            // SAFETY: inside the mapping; every thread has exited.
            let got = unsafe { page(p).add(w).read_volatile() };
            if got != want(p, w) {
                return Some((p, w, got));
            }
        }
    }
    None
}

/// The child of a round: waits until the parent has checked its pages, then checks that
/// its own still hold what they held at fork. Exit 0, 2 (a mismatch, in the shared page),
/// or 3 (the parent never finished).
fn child(sh: &'static [AtomicU64; 512], round: u64) -> ! {
    let start = clock_ns();
    while sh[PARENT_DONE].load(Ordering::Acquire) != round + 1 {
        if clock_ns() - start > TIMEOUT_NS {
            exit_group(3);
        }
        nanosleep_ns(1_000_000);
    }
    if let Some((p, w, got)) = first_mismatch(|p, w| init_val(round, p, w)) {
        for (i, v) in [p as u64, w as u64, got].into_iter().enumerate() {
            sh[CHILD_BAD + i].store(v, Ordering::Relaxed);
        }
        exit_group(2);
    }
    exit_group(0)
}

fn round(sh: &'static [AtomicU64; 512], round: u64) {
    let area = alloc_pages(PAGES * 4096) as isize;
    check!(T, area > 0, "mmap of {} pages gave {}", PAGES, area);
    AREA.store(area as u64, Ordering::Relaxed);
    ROUND.store(round, Ordering::Relaxed);
    for (p, arrived) in ARRIVED.iter().enumerate() {
        arrived.store(0, Ordering::Relaxed);
        for w in 0..512 {
            // SAFETY: inside the fresh mapping.
            unsafe { page(p).add(w).write_volatile(init_val(round, p, w)) };
        }
    }
    GO.store(0, Ordering::Release);
    READY.store(0, Ordering::Release);
    let stacks = STACKS.load(Ordering::Relaxed) as usize;
    for (t, tid) in TIDS.iter().enumerate() {
        let r = thread_on(stacks + (t + 1) * STACK, writer, t, tid);
        check!(T, r > 0, "round {}: clone gave {}", round, r);
    }
    let start = clock_ns();
    while READY.load(Ordering::Acquire) < THREADS as u64 {
        check!(
            T,
            clock_ns() - start < TIMEOUT_NS,
            "round {}: the threads did not start",
            round
        );
        sched_yield();
    }
    // Every page is copy-on-write from here on, in both processes.
    let pid = fork();
    if pid == 0 {
        child(sh, round);
    }
    check!(T, pid > 0, "round {}: fork gave {}", round, pid);
    GO.store(1, Ordering::Release);
    check!(
        T,
        TIDS.iter().all(|t| join_timeout(t, TIMEOUT_NS)),
        "round {}: the writer threads hung",
        round
    );
    if let Some((p, w, got)) = first_mismatch(|p, w| parent_expected(round, p, w)) {
        let want = parent_expected(round, p, w);
        let why = if got == init_val(round, p, w) {
            " — a write was lost: it went into a copy that another CPU's copy then replaced (no recheck under the lock?)"
        } else {
            ""
        };
        fail!(
            T,
            "round {}: parent: page {} word {} is {:#x}, not {:#x}{}",
            round,
            p,
            w,
            got,
            want,
            why
        );
    }
    sh[PARENT_DONE].store(round + 1, Ordering::Release);
    let code = wait_exit_code(pid);
    if code == 2 {
        let (p, w, got) = (
            sh[CHILD_BAD].load(Ordering::Relaxed),
            sh[CHILD_BAD + 1].load(Ordering::Relaxed),
            sh[CHILD_BAD + 2].load(Ordering::Relaxed),
        );
        fail!(
            T,
            "round {}: child: page {} word {} is {:#x}, not {:#x} as at fork — the frame the child maps was changed (freed while still mapped: a reference dropped twice?)",
            round,
            p,
            w,
            got,
            init_val(round, p as usize, w as usize)
        );
    }
    check!(
        T,
        code == 0,
        "round {}: the child exited with {} (3: the parent never finished)",
        round,
        code
    );
    check!(
        T,
        munmap(area as usize, PAGES * 4096) == 0,
        "munmap of the area"
    );
}

fn test_process() -> i32 {
    MASK.store(cpu_mask().unwrap_or(1).max(1), Ordering::Relaxed);
    let stacks = stack_pool(THREADS, STACK);
    check!(T, stacks > 0, "mmap of the stacks gave {}", stacks);
    STACKS.store(stacks as u64, Ordering::Relaxed);
    let sh = shared_atomics();
    let start = clock_ns();
    for r in 0..ROUNDS {
        if r >= MIN_ROUNDS && clock_ns() - start > BUDGET_NS {
            break;
        }
        round(sh, r);
    }
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let baseline = settled_mem_usage();
    let start = clock_ns();
    // KSTAT 1: the COW copies installed, machine-wide (None on Linux).
    let copies_before = kstat_opt(1);
    run_test_process(T, baseline, test_process);
    println!(
        "{}: up to {} rounds of {} pages, {} threads, {} CPUs, {} ms, {:?} COW copies installed",
        T,
        ROUNDS,
        PAGES,
        THREADS,
        cpu_count(),
        (clock_ns() - start) / 1_000_000,
        copies_before.zip(kstat_opt(1)).map(|(a, b)| b - a)
    );
    println!("{}: ok", T);
    0
}
