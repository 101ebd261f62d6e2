//! fork in a multi-threaded process while other threads write. Two writer threads loop
//! forever: iteration c stores c into every word of the writer's 4-page region, in order,
//! then publishes c. Three forker threads meet at a barrier and fork at the same moment,
//! 20 times each. Each child (a copy of its forking thread only) checks it got a
//! consistent snapshot: 16 pattern pages intact; in each writer's region the words read
//! c, c, ..., c, c-1, ..., c-1 (a prefix of the writer's stores, c at least the count
//! published before fork) — Linux write-protects the parent's PTEs under the mm lock and
//! flushes the TLB before fork returns, so a writer's later stores fault and go to its
//! own copy and the child's view is the writer's stores up to one point — and the same
//! again a moment later (no store of the parent's writers reaches the child's frames
//! afterwards). Then it overwrites its copies, reads them back, and exits with a code the
//! forking thread checks. At the end the parent's regions hold exactly its writers' last
//! count, and its pattern pages are intact: no child's store reached them. Frames and
//! kernel heap are back at the baseline once the test process has exited.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "smp_fork_threads";
const WRITERS: usize = 2;
const FORKERS: usize = 3;
const FORKS_EACH: u64 = 20;
const REGION_PAGES: usize = 4;
const REGION_WORDS: usize = REGION_PAGES * 512;
const PATTERN_PAGES: usize = 16;
const STACK: usize = 32 * 1024;
const TIMEOUT_NS: u64 = 20_000_000_000;
const CHILD_MARK: u64 = 0xc0de << 48;

static REGIONS: AtomicU64 = AtomicU64::new(0);
static PATTERN: AtomicU64 = AtomicU64::new(0);
static DONE: [AtomicU64; WRITERS] = [const { AtomicU64::new(0) }; WRITERS];
static STOP: AtomicU32 = AtomicU32::new(0);
static ARRIVED: AtomicU64 = AtomicU64::new(0);
/// Forks whose child has been checked (the progress a hang is told by).
static FORKS_DONE: AtomicU64 = AtomicU64::new(0);
static FORKS: AtomicU64 = AtomicU64::new(FORKS_EACH);
static ONE_CPU: AtomicU32 = AtomicU32::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);
static SHARED: AtomicU64 = AtomicU64::new(0);
static TIDS: [AtomicU32; WRITERS + FORKERS] = [const { AtomicU32::new(0) }; WRITERS + FORKERS];

// Words of the shared page: the first failure any child or forker reports.
const BAD_KIND: usize = 0;
const BAD_ARGS: usize = 1; // 1..=4
const MID_ITERATION: usize = 8; // children whose snapshot fell inside a writer's iteration

fn shared() -> &'static [AtomicU64; 512] {
    // SAFETY: the never-unmapped shared page, set before any thread starts.
    unsafe { &*(SHARED.load(Ordering::Relaxed) as *const [AtomicU64; 512]) }
}

/// Records the first failure: kind and up to four numbers.
fn report(kind: u64, args: [u64; 4]) {
    let sh = shared();
    if sh[BAD_KIND]
        .compare_exchange(0, kind, Ordering::AcqRel, Ordering::Relaxed)
        .is_ok()
    {
        for (i, a) in args.into_iter().enumerate() {
            sh[BAD_ARGS + i].store(a, Ordering::Relaxed);
        }
    }
}

fn region(w: usize) -> *mut u64 {
    (REGIONS.load(Ordering::Relaxed) as usize + w * REGION_WORDS * 8) as *mut u64
}

fn pattern_word(i: usize) -> u64 {
    0x7a7a << 48 | (i as u64).wrapping_mul(0x9e37_79b9) & 0xffff_ffff_ffff
}

fn pattern() -> *mut u64 {
    PATTERN.load(Ordering::Relaxed) as *mut u64
}

extern "C" fn writer(w: usize) -> i32 {
    let r = region(w);
    let mut c = 0u64;
    while STOP.load(Ordering::Acquire) == 0 {
        c += 1;
        for i in 0..REGION_WORDS {
            // SAFETY: inside this writer's region.
            unsafe { r.add(i).write_volatile(c) };
        }
        DONE[w].store(c, Ordering::Release);
        if ONE_CPU.load(Ordering::Relaxed) != 0 {
            sched_yield();
        }
    }
    0
}

/// The child's view of writer `w`'s region: (c, boundary) where words [0, boundary) hold
/// c and the rest c - 1 (boundary = REGION_WORDS: all c); None if it is not that shape.
fn region_shape(w: usize) -> Option<(u64, usize)> {
    let r = region(w);
    // SAFETY: inside the region (this process's copy).
    let read = |i: usize| unsafe { r.add(i).read_volatile() };
    let c = read(0);
    let mut boundary = REGION_WORDS;
    for i in 0..REGION_WORDS {
        let v = read(i);
        if boundary == REGION_WORDS {
            if v == c {
                continue;
            }
            if c == 0 || v != c - 1 {
                return None;
            }
            boundary = i;
        } else if c == 0 || v != c - 1 {
            return None;
        }
    }
    Some((c, boundary))
}

/// Child of forker `f`, fork number `k`: checks its snapshot, writes its copy, exits with
/// success_code(f, k) or reports what it found and exits with 1.
fn child(f: usize, k: u64, lo: [u64; WRITERS]) -> ! {
    for i in 0..PATTERN_PAGES * 512 {
        // SAFETY: inside the pattern pages.
        let v = unsafe { pattern().add(i).read_volatile() };
        if v != pattern_word(i) {
            report(1, [i as u64, v, pattern_word(i), 0]);
            exit_group(1);
        }
    }
    let mut shapes = [(0u64, 0usize); WRITERS];
    for (w, shape) in shapes.iter_mut().enumerate() {
        match region_shape(w) {
            Some((c, b)) if c - (b < REGION_WORDS) as u64 >= lo[w] => *shape = (c, b),
            Some((c, b)) => {
                report(2, [w as u64, c, b as u64, lo[w]]);
                exit_group(1);
            }
            None => {
                // SAFETY: inside the region.
                let (a, z) = unsafe {
                    (
                        region(w).read_volatile(),
                        region(w).add(REGION_WORDS - 1).read_volatile(),
                    )
                };
                report(3, [w as u64, a, z, lo[w]]);
                exit_group(1);
            }
        }
    }
    if shapes.iter().any(|&(_, b)| b < REGION_WORDS) {
        shared()[MID_ITERATION].fetch_add(1, Ordering::Relaxed);
    }
    // A moment later (the parent's writers keep going): the same.
    for _ in 0..3 {
        sched_yield();
    }
    nanosleep_ns(1_000_000);
    for (w, &shape) in shapes.iter().enumerate() {
        let again = region_shape(w);
        if again != Some(shape) {
            let (c, b) = again.unwrap_or((u64::MAX, 0));
            report(4, [w as u64, shape.0, c, (shape.1 as u64) << 32 | b as u64]);
            exit_group(1);
        }
    }
    // Our own stores to our copies.
    let me = CHILD_MARK | (f as u64) << 16 | k;
    for w in 0..WRITERS {
        for i in 0..REGION_WORDS {
            // SAFETY: inside the region.
            unsafe { region(w).add(i).write_volatile(me + i as u64) };
        }
    }
    for i in 0..PATTERN_PAGES * 512 {
        // SAFETY: inside the pattern pages.
        unsafe { pattern().add(i).write_volatile(me ^ i as u64) };
    }
    for w in 0..WRITERS {
        for i in 0..REGION_WORDS {
            // SAFETY: inside the region.
            let v = unsafe { region(w).add(i).read_volatile() };
            if v != me + i as u64 {
                report(5, [w as u64, i as u64, v, me + i as u64]);
                exit_group(1);
            }
        }
    }
    for i in 0..PATTERN_PAGES * 512 {
        // SAFETY: inside the pattern pages.
        let v = unsafe { pattern().add(i).read_volatile() };
        if v != me ^ i as u64 {
            report(5, [99, i as u64, v, me ^ i as u64]);
            exit_group(1);
        }
    }
    exit_group(success_code(f, k))
}

fn success_code(f: usize, k: u64) -> i32 {
    64 + (f as i32) * 16 + k as i32
}

extern "C" fn forker(f: usize) -> i32 {
    for k in 0..FORKS.load(Ordering::Relaxed) {
        // Everyone arrives, then all fork at once.
        let target = (k + 1) * FORKERS as u64;
        ARRIVED.fetch_add(1, Ordering::AcqRel);
        let start = clock_ns();
        while ARRIVED.load(Ordering::Acquire) < target {
            if FAILED.load(Ordering::Acquire) != 0 {
                return 1; // another forker failed: it will not arrive
            }
            if clock_ns() - start > TIMEOUT_NS {
                report(6, [f as u64, k, 0, 0]);
                FAILED.store(1, Ordering::Release);
                return 1;
            }
            if ONE_CPU.load(Ordering::Relaxed) != 0 {
                sched_yield();
            }
            core::hint::spin_loop();
        }
        let lo = [
            DONE[0].load(Ordering::Acquire),
            DONE[1].load(Ordering::Acquire),
        ];
        let pid = fork();
        if pid == 0 {
            child(f, k, lo);
        }
        if pid < 0 {
            report(7, [f as u64, k, pid as u64, 0]);
            FAILED.store(1, Ordering::Release);
            return 1;
        }
        let (r, status) = wait4(pid, 0);
        if r != pid || status_exit_code(status) != Some(success_code(f, k)) {
            if status_exit_code(status) != Some(1) {
                report(8, [f as u64, k, r as u64, status as u64]);
            }
            FAILED.store(1, Ordering::Release);
            return 1;
        }
        FORKS_DONE.fetch_add(1, Ordering::Relaxed);
    }
    0
}

fn explain() -> ! {
    let sh = shared();
    let a: [u64; 4] = core::array::from_fn(|i| sh[BAD_ARGS + i].load(Ordering::Relaxed));
    match sh[BAD_KIND].load(Ordering::Relaxed) {
        1 => fail!(
            T,
            "a child's pattern page word {} is {:#x}, not {:#x}",
            a[0],
            a[1],
            a[2]
        ),
        2 => fail!(
            T,
            "a child's copy of writer {}'s region reads {} up to word {} (then one less), but {} iterations were complete before fork",
            a[0],
            a[1],
            a[2],
            a[3]
        ),
        3 => fail!(
            T,
            "a child's copy of writer {}'s region is not a snapshot (first word {}, last {}, {} complete before fork): torn",
            a[0],
            a[1],
            a[2],
            a[3]
        ),
        4 => fail!(
            T,
            "a child's copy of writer {}'s region changed under it: count {} then {} (boundaries {:#x}) — the parent's stores reached the child's frames",
            a[0],
            a[1],
            a[2],
            a[3]
        ),
        5 => fail!(
            T,
            "a child read back {:#x} at word {} of region {}, not its own {:#x}",
            a[2],
            a[1],
            a[0],
            a[3]
        ),
        6 => fail!(T, "forker {} waited too long at barrier {}", a[0], a[1]),
        7 => fail!(T, "forker {}'s fork {} gave {}", a[0], a[1], a[2] as i64),
        8 => fail!(
            T,
            "forker {}'s child {}: wait4 gave {} with status {:#x}",
            a[0],
            a[1],
            a[2] as i64,
            a[3]
        ),
        k => fail!(T, "failure {}", k),
    }
}

fn test_process(forks_each: u64) -> i32 {
    FORKS.store(forks_each, Ordering::Relaxed);
    let sh = shared();
    let mask = cpu_mask().unwrap_or(1).max(1);
    ONE_CPU.store((mask.count_ones() == 1) as u32, Ordering::Relaxed);
    let regions = alloc_pages(WRITERS * REGION_WORDS * 8) as isize;
    let pat = alloc_pages(PATTERN_PAGES * 4096) as isize;
    let stacks = stack_pool(WRITERS + FORKERS, STACK);
    check!(
        T,
        regions > 0 && pat > 0 && stacks > 0,
        "mmap gave {} {} {}",
        regions,
        pat,
        stacks
    );
    REGIONS.store(regions as u64, Ordering::Relaxed);
    PATTERN.store(pat as u64, Ordering::Relaxed);
    for i in 0..PATTERN_PAGES * 512 {
        // SAFETY: inside the fresh mapping.
        unsafe { pattern().add(i).write_volatile(pattern_word(i)) };
    }
    let top = |i: usize| stacks as usize + (i + 1) * STACK;
    for (w, tid) in TIDS.iter().enumerate().take(WRITERS) {
        let r = thread_on(top(w), writer, w, tid);
        check!(T, r > 0, "clone of writer {} gave {}", w, r);
    }
    // The forkers start once the writers are well under way.
    let start = clock_ns();
    while DONE.iter().any(|d| d.load(Ordering::Acquire) < 2) {
        check!(T, clock_ns() - start < TIMEOUT_NS, "the writers do not run");
        sched_yield();
    }
    for f in 0..FORKERS {
        let r = thread_on(top(WRITERS + f), forker, f, &TIDS[WRITERS + f]);
        check!(T, r > 0, "clone of forker {} gave {}", f, r);
    }
    let progress = || FORKS_DONE.load(Ordering::Relaxed) + ARRIVED.load(Ordering::Relaxed);
    if !wait_threads(&TIDS[WRITERS..], progress, TIMEOUT_NS / 2) {
        STOP.store(1, Ordering::Release);
        if shared()[BAD_KIND].load(Ordering::Acquire) != 0 {
            explain();
        }
        fail!(
            T,
            "the forkers hung after {} forks",
            FORKS_DONE.load(Ordering::Relaxed)
        );
    }
    STOP.store(1, Ordering::Release);
    for t in &TIDS[..WRITERS] {
        check!(T, join_timeout(t, TIMEOUT_NS), "a writer hung");
    }
    if FAILED.load(Ordering::Acquire) != 0 || sh[BAD_KIND].load(Ordering::Acquire) != 0 {
        explain();
    }
    for (w, done) in DONE.iter().enumerate() {
        let last = done.load(Ordering::Acquire);
        for i in 0..REGION_WORDS {
            // SAFETY: inside the region; the writers have exited.
            let v = unsafe { region(w).add(i).read_volatile() };
            check!(
                T,
                v == last,
                "the parent's region {} word {} is {:#x}, not its writer's last count {}{}",
                w,
                i,
                v,
                last,
                if v & CHILD_MARK == CHILD_MARK {
                    " — a child's store"
                } else {
                    ""
                }
            );
        }
    }
    for i in 0..PATTERN_PAGES * 512 {
        // SAFETY: inside the pattern pages.
        let v = unsafe { pattern().add(i).read_volatile() };
        check!(
            T,
            v == pattern_word(i),
            "the parent's pattern word {} is {:#x}, not {:#x}{}",
            i,
            v,
            pattern_word(i),
            if v & CHILD_MARK == CHILD_MARK {
                " — a child's store"
            } else {
                ""
            }
        );
    }
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let sh = shared_atomics();
    SHARED.store(sh.as_ptr() as u64, Ordering::Relaxed);
    let warm = spawn(|| test_process(2));
    let code = wait_exit_code(warm);
    if code == 1 {
        return 1; // it printed why
    }
    check!(T, code == 0, "the warm-up test process ended with {}", code);
    let baseline = settled_mem_usage();
    let start = clock_ns();
    sh[MID_ITERATION].store(0, Ordering::Relaxed);
    run_test_process(T, baseline, || test_process(FORKS_EACH));
    println!(
        "{}: {} forks ({} threads at once) beside {} writers in {} ms; {} snapshots fell inside an iteration",
        T,
        FORKERS as u64 * FORKS_EACH,
        FORKERS,
        WRITERS,
        (clock_ns() - start) / 1_000_000,
        sh[MID_ITERATION].load(Ordering::Relaxed)
    );
    println!("{}: ok", T);
    0
}
