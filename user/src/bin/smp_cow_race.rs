//! Copy-on-write under concurrent faults. A process with four threads (each pinned to
//! its own CPU when there are enough) forks while the threads wait on a flag; right after
//! fork returns, the parent sets the flag and its threads all write — every thread its
//! own slots of every one of 64 COW pages, in the same page order so that they fault on
//! the same page at the same time, plus atomic increments of two words per page that all
//! of them share. The child starts three threads of its own that do the same to its copy.
//! Once both sides are done, each checks every word of every page: its own final writes,
//! its own exact counter totals, the initial pattern where only the other side wrote —
//! and never a value of the other side's. Linux: the COW fault runs under the page-table
//! lock, rechecks the PTE after copying (the loser of two simultaneous faults frees its
//! copy), replaces a valid PTE break-before-make with a broadcast TLB flush, and fork
//! flushes the parent's TLB before it returns, so no thread of either side can write
//! through a stale writable translation into a frame the other side still uses. The
//! parent's threads spin reading the flag's page while the main thread's write breaks its
//! COW, so they must also see the new page (a CPU left with a stale translation would
//! spin forever: reported as a hang). Twelve rounds, each on fresh memory; frames and
//! kernel heap must be back at the baseline after each round and after the whole test
//! process has exited (on Linux, which has no KSTAT, those checks are skipped).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "smp_cow_race";
const ROUNDS: u64 = 12;
const PAGES: usize = 64;
const PASSES: u64 = 4;
/// Threads of the parent and of the child (sides 0 and 1).
const THREADS: [usize; 2] = [4, 3];
const SLOTS: usize = 8;
/// Page layout (64-bit words): two counters every thread of a side increments; the
/// common slots (thread t of either side writes words COMMON + t*SLOTS ..); slots only
/// the parent's / only the child's threads write; the rest keeps the initial pattern.
const COUNTERS: [usize; 2] = [0, 300];
const COMMON: usize = 8;
const ONLY: [usize; 2] = [72, 136];
const TIMEOUT_NS: u64 = 10_000_000_000;
const STACK: usize = 32 * 1024;

// Words of the MAP_SHARED page between the parent and the child of a round.
const PARENT_WRITTEN: usize = 0; // round + 1 once the parent's threads are done
const CHILD_WRITTEN: usize = 1;
const CHILD_BAD: usize = 2; // the child's first mismatch: 2 = page, 3 = word, 4 = got, 5 = want

static GO: AtomicU32 = AtomicU32::new(0);
static READY: AtomicU64 = AtomicU64::new(0);
static AREA: AtomicU64 = AtomicU64::new(0);
static ROUND: AtomicU64 = AtomicU64::new(0);
static SIDE: AtomicU64 = AtomicU64::new(0);
static MASK: AtomicU64 = AtomicU64::new(1);
static STACKS: AtomicU64 = AtomicU64::new(0);
static TIDS: [AtomicU32; 8] = [const { AtomicU32::new(0) }; 8];

const TAG: [u64; 2] = [0x5a << 56, 0xc3 << 56];

fn init_val(round: u64, page: usize, word: usize) -> u64 {
    0x11 << 56 | round << 40 | (page as u64) << 24 | word as u64
}

fn counter_init(page: usize, which: usize) -> u64 {
    (page * 1000 + which) as u64
}

fn val(side: usize, round: u64, page: usize, t: usize, k: usize, pass: u64) -> u64 {
    TAG[side] | round << 40 | (page as u64) << 24 | (t as u64) << 16 | (k as u64) << 8 | pass
}

/// What side `side` must find in word `w` of page `p` after round `round`.
fn expected(side: usize, round: u64, p: usize, w: usize) -> u64 {
    let n = THREADS[side];
    if let Some(which) = COUNTERS.iter().position(|&c| c == w) {
        return counter_init(p, which) + n as u64 * PASSES;
    }
    for region in [COMMON, ONLY[side]] {
        if (region..region + 8 * SLOTS).contains(&w) {
            let (t, k) = ((w - region) / SLOTS, (w - region) % SLOTS);
            if t < n {
                return val(side, round, p, t, k, PASSES - 1);
            }
        }
    }
    init_val(round, p, w)
}

fn page(p: usize) -> *mut u64 {
    (AREA.load(Ordering::Relaxed) as usize + p * 4096) as *mut u64
}

/// Thread `t` of the current side: waits for GO, then writes its slots of every page and
/// bumps the shared counters, PASSES times.
extern "C" fn writer(t: usize) -> i32 {
    let side = SIDE.load(Ordering::Relaxed) as usize;
    let round = ROUND.load(Ordering::Relaxed);
    let mask = MASK.load(Ordering::Relaxed);
    if mask.count_ones() > 1 {
        pin_to_cpu(nth_cpu(mask, t + side));
    }
    READY.fetch_add(1, Ordering::AcqRel);
    let mut spins = 0u64;
    while GO.load(Ordering::Acquire) == 0 {
        spins += 1;
        if mask.count_ones() == 1 || spins.is_multiple_of(1024) {
            sched_yield();
        }
        core::hint::spin_loop();
    }
    for pass in 0..PASSES {
        for i in 0..PAGES {
            // Half the passes go backwards: threads meet on pages from both ends.
            let p = if (t as u64 + pass).is_multiple_of(2) {
                i
            } else {
                PAGES - 1 - i
            };
            let base = page(p);
            for k in 0..SLOTS {
                let v = val(side, round, p, t, k, pass);
                // SAFETY: inside the round's mapping; these words are only this thread's.
                unsafe {
                    base.add(COMMON + t * SLOTS + k).write_volatile(v);
                    base.add(ONLY[side] + t * SLOTS + k).write_volatile(v);
                }
            }
            for c in COUNTERS {
                // SAFETY: an aligned word of the mapping, only accessed atomically while
                // the threads run.
                let a = unsafe { &*(base.add(c) as *const AtomicU64) };
                a.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    0
}

/// Starts this side's threads (they wait for GO) and waits until they all run.
fn start_threads(side: usize) -> Result<(), isize> {
    SIDE.store(side as u64, Ordering::Relaxed);
    READY.store(0, Ordering::Release);
    let stacks = STACKS.load(Ordering::Relaxed) as usize;
    for (t, tid) in TIDS.iter().enumerate().take(THREADS[side]) {
        let r = thread_on(stacks + (t + 1) * STACK, writer, t, tid);
        if r <= 0 {
            return Err(r);
        }
    }
    Ok(())
}

fn wait_ready(n: usize) -> bool {
    let start = clock_ns();
    while READY.load(Ordering::Acquire) < n as u64 {
        if clock_ns() - start > TIMEOUT_NS {
            return false;
        }
        sched_yield();
    }
    true
}

fn join_all(side: usize) -> bool {
    TIDS[..THREADS[side]]
        .iter()
        .all(|t| join_timeout(t, TIMEOUT_NS))
}

/// The first word of the area that differs from what `side` must see.
fn verify(side: usize, round: u64) -> Option<(usize, usize, u64, u64)> {
    for p in 0..PAGES {
        let base = page(p);
        for w in 0..512 {
            // SAFETY: inside the mapping; every thread has exited.
            let got = unsafe { base.add(w).read_volatile() };
            let want = expected(side, round, p, w);
            if got != want {
                return Some((p, w, got, want));
            }
        }
    }
    None
}

fn describe(side: usize, page: usize, word: usize, got: u64) -> &'static str {
    if let Some(which) = COUNTERS.iter().position(|&c| c == word) {
        let n = got.wrapping_sub(counter_init(page, which));
        let (mine, other) = (
            THREADS[side] as u64 * PASSES,
            THREADS[1 - side] as u64 * PASSES,
        );
        return if n == other || n == mine + other {
            " — the other side's increments reached this counter"
        } else if n < mine {
            " — increments of its own threads were lost"
        } else {
            ""
        };
    }
    if got >> 56 == TAG[1 - side] >> 56 {
        if side == 0 {
            " — the child's write leaked into the parent"
        } else {
            " — the parent's write leaked into the child"
        }
    } else if got >> 56 == TAG[side] >> 56 {
        " — an older write of its own (a lost write)"
    } else {
        ""
    }
}

/// The child of a round: its own threads write its copy; then it checks it. Exits 0,
/// or 2 with the mismatch in the shared page, 3 if its threads hung, 4 if clone failed,
/// 5 if the parent never finished.
fn child(sh: &'static [AtomicU64; 512], round: u64) -> ! {
    GO.store(0, Ordering::Release);
    if start_threads(1).is_err() {
        exit_group(4);
    }
    if !wait_ready(THREADS[1]) {
        exit_group(3);
    }
    GO.store(1, Ordering::Release);
    if !join_all(1) {
        exit_group(3);
    }
    sh[CHILD_WRITTEN].store(round + 1, Ordering::Release);
    let start = clock_ns();
    while sh[PARENT_WRITTEN].load(Ordering::Acquire) != round + 1 {
        if clock_ns() - start > TIMEOUT_NS {
            exit_group(5);
        }
        nanosleep_ns(1_000_000);
    }
    if let Some((p, w, got, want)) = verify(1, round) {
        for (i, v) in [p as u64, w as u64, got, want].into_iter().enumerate() {
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
    for p in 0..PAGES {
        for w in 0..512 {
            let v = if let Some(which) = COUNTERS.iter().position(|&c| c == w) {
                counter_init(p, which)
            } else {
                init_val(round, p, w)
            };
            // SAFETY: inside the fresh mapping.
            unsafe { page(p).add(w).write_volatile(v) };
        }
    }
    GO.store(0, Ordering::Release);
    if let Err(e) = start_threads(0) {
        fail!(T, "round {}: clone gave {}", round, e);
    }
    check!(
        T,
        wait_ready(THREADS[0]),
        "round {}: the threads did not start",
        round
    );
    let pid = fork();
    if pid == 0 {
        child(sh, round);
    }
    GO.store(1, Ordering::Release);
    check!(T, pid > 0, "round {}: fork gave {}", round, pid);
    check!(
        T,
        join_all(0),
        "round {}: the parent's threads hung (a thread that never sees GO = 1 reads the flag's page through a stale translation)",
        round
    );
    sh[PARENT_WRITTEN].store(round + 1, Ordering::Release);
    let start = clock_ns();
    // The child's exit status, if wait4 already collected it.
    let mut reaped = None;
    while sh[CHILD_WRITTEN].load(Ordering::Acquire) != round + 1 {
        if let (r, status) = wait4(pid, WNOHANG)
            && r == pid
        {
            // The child may have written, seen our flag and exited between our load
            // above and the wait4: that is a normal end, not a failure.
            if sh[CHILD_WRITTEN].load(Ordering::Acquire) == round + 1 {
                reaped = Some(status);
                break;
            }
            fail!(
                T,
                "round {}: the child ended with status {:#x} before its threads were done (3: they hung, 4: clone failed)",
                round,
                status
            );
        }
        check!(
            T,
            clock_ns() - start < TIMEOUT_NS,
            "round {}: the child's threads did not finish",
            round
        );
        nanosleep_ns(1_000_000);
    }
    if let Some((p, w, got, want)) = verify(0, round) {
        fail!(
            T,
            "round {}: parent: page {} word {} is {:#x}, not {:#x}{}",
            round,
            p,
            w,
            got,
            want,
            describe(0, p, w, got)
        );
    }
    let code = match reaped {
        // A normal exit's status: the code in bits 8-15.
        Some(status) if status & 0x7f == 0 => (status >> 8) & 0xff,
        Some(status) => 128 + (status & 0x7f),
        None => wait_exit_code(pid),
    };
    if code == 2 {
        let (p, w) = (
            sh[CHILD_BAD].load(Ordering::Relaxed) as usize,
            sh[CHILD_BAD + 1].load(Ordering::Relaxed) as usize,
        );
        let got = sh[CHILD_BAD + 2].load(Ordering::Relaxed);
        fail!(
            T,
            "round {}: child: page {} word {} is {:#x}, not {:#x}{}",
            round,
            p,
            w,
            got,
            sh[CHILD_BAD + 3].load(Ordering::Relaxed),
            describe(1, p, w, got)
        );
    }
    check!(
        T,
        code == 0,
        "round {}: the child exited with {} (3: its threads hung, 4: clone failed, 5: the parent never finished)",
        round,
        code
    );
    check!(
        T,
        munmap(area as usize, PAGES * 4096) == 0,
        "munmap of the area"
    );
}

/// The test process: ROUNDS rounds (`rounds` for the warm-up); frames and heap are
/// back at the level after round 0 after every later round.
fn test_process(rounds: u64) -> i32 {
    MASK.store(cpu_mask().unwrap_or(1).max(1), Ordering::Relaxed);
    let stacks = stack_pool(8, STACK);
    check!(T, stacks > 0, "mmap of the stacks gave {}", stacks);
    STACKS.store(stacks as u64, Ordering::Relaxed);
    let sh = shared_atomics();
    let mut baseline = None;
    for r in 0..rounds {
        round(sh, r);
        if r == 0 {
            baseline = settled_mem_usage();
        } else if let Err((frames, heap)) = check_baseline(baseline) {
            let (f0, h0) = baseline.unwrap();
            fail!(
                T,
                "after round {}: frames {} (after round 0: {}), kernel heap {} (after round 0: {})",
                r,
                frames,
                f0,
                heap,
                h0
            );
        }
    }
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // A warm-up process of two rounds, then the baseline, then the real one.
    let warm = spawn(|| test_process(2));
    let code = wait_exit_code(warm);
    if code == 1 {
        return 1; // it printed why
    }
    check!(T, code == 0, "the warm-up test process ended with {}", code);
    let baseline = settled_mem_usage();
    let start = clock_ns();
    run_test_process(T, baseline, || test_process(ROUNDS));
    println!(
        "{}: {} rounds of {} pages, {}+{} threads, in {} ms",
        T,
        ROUNDS,
        PAGES,
        THREADS[0],
        THREADS[1],
        (clock_ns() - start) / 1_000_000
    );
    println!("{}: ok", T);
    0
}
