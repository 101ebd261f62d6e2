//! Permission changes against a thread that is using the page on another CPU. A reader
//! thread spins reading a page (its CPU's TLB holds the translation) while another thread,
//! pinned to a different CPU when there is one, takes the access away: mprotect(PROT_NONE)
//! in the first variant, munmap in the second, and in a third a writer thread against
//! mprotect(PROT_READ). After the call has returned the thread sets a flag in a
//! MAP_SHARED page; the reader loops { f = flag (acquire); access the page; if f was set:
//! record a stale access in the shared page }. Linux flushes the TLB entry on every CPU
//! (broadcast TLBI + DSB) before mprotect/munmap return, so once the flag is seen the
//! next access faults: the process must die of SIGSEGV (no signal handlers here: each
//! round runs in a forked child) and the shared page must show no stale access. 50 rounds
//! of each variant (30 of the writer's), the CPUs rotating; frames and kernel heap back at
//! the baseline afterwards.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "smp_mprotect_race";
const VARIANTS: [(&str, u64); 3] = [
    ("mprotect(PROT_NONE) against a reader", 50),
    ("munmap against a reader", 50),
    ("mprotect(PROT_READ) against a writer", 30),
];
const MAGIC: u64 = 0x5eed_f00d_0bad_cafe;
/// How long the taker waits for the process to die once the flag is set.
const DEATH_TIMEOUT_NS: u64 = 3_000_000_000;

// Words of the shared page.
const FLAG: usize = 0; // 1 once mprotect/munmap has returned
const STALE: usize = 1; // accesses made after the flag was seen
const WRONG: usize = 2; // reads that did not give MAGIC (and the value in WRONG + 1)
const CALL_RESULT: usize = 4; // what mprotect/munmap returned, + 1000
const ACCESSES: usize = 5; // the reader's accesses so far

static PAGE: AtomicU64 = AtomicU64::new(0);
static SHARED: AtomicU64 = AtomicU64::new(0);
static CPU: AtomicU64 = AtomicU64::new(u64::MAX);

fn shared() -> &'static [AtomicU64; 512] {
    // SAFETY: set before the threads start to the never-unmapped shared page.
    unsafe { &*(SHARED.load(Ordering::Relaxed) as *const [AtomicU64; 512]) }
}

/// The reader (variants 0 and 1): reads until it faults.
extern "C" fn reader(_: usize) -> i32 {
    let cpu = CPU.load(Ordering::Relaxed);
    if cpu != u64::MAX {
        pin_to_cpu(cpu as usize);
    }
    let sh = shared();
    let p = PAGE.load(Ordering::Relaxed) as *const u64;
    let mut n = 0u64;
    loop {
        let f = sh[FLAG].load(Ordering::Acquire);
        // SAFETY: the page is mapped and readable until the other thread takes it away;
        // after that this load faults and the process dies, which is the point.
        let v = unsafe { p.add(n as usize % 512).read_volatile() };
        if f == 1 {
            sh[STALE].fetch_add(1, Ordering::Relaxed);
        }
        if v != MAGIC {
            sh[WRONG].fetch_add(1, Ordering::Relaxed);
            sh[WRONG + 1].store(v, Ordering::Relaxed);
        }
        n += 1;
        sh[ACCESSES].store(n, Ordering::Relaxed);
    }
}

/// The writer (variant 2): writes until it faults.
extern "C" fn writer(_: usize) -> i32 {
    let cpu = CPU.load(Ordering::Relaxed);
    if cpu != u64::MAX {
        pin_to_cpu(cpu as usize);
    }
    let sh = shared();
    let p = PAGE.load(Ordering::Relaxed) as *mut u64;
    let mut n = 0u64;
    loop {
        let f = sh[FLAG].load(Ordering::Acquire);
        // SAFETY: as in reader, for writes.
        unsafe { p.add(n as usize % 512).write_volatile(n) };
        if f == 1 {
            sh[STALE].fetch_add(1, Ordering::Relaxed);
        }
        n += 1;
        sh[ACCESSES].store(n, Ordering::Relaxed);
    }
}

/// The child of one round: maps the page, starts the accessing thread on one CPU, takes
/// the access away from another, sets the flag and waits to be killed. Exit code 3: it
/// was not; 4: mmap failed; 5: clone failed; 6: the thread never started.
fn round_child(variant: usize, round: u64, mask: u64) -> ! {
    let sh = shared();
    let p = alloc_pages(4096);
    if (p as isize) < 0 {
        exit_group(4);
    }
    for i in 0..512 {
        // SAFETY: a fresh private page.
        unsafe { (p as *mut u64).add(i).write_volatile(MAGIC) };
    }
    PAGE.store(p as u64, Ordering::Relaxed);
    let n = mask.count_ones() as usize;
    if n > 1 {
        CPU.store(nth_cpu(mask, round as usize) as u64, Ordering::Relaxed);
        pin_to_cpu(nth_cpu(mask, round as usize + 1));
    }
    let tid = AtomicU32::new(0);
    let f = if variant == 2 { writer } else { reader };
    if clone_fn(JOINABLE_THREAD, f, 0, &tid) <= 0 {
        exit_group(5);
    }
    // Let it run a while (its TLB now holds the page), then a varying little delay.
    let start = clock_ns();
    while sh[ACCESSES].load(Ordering::Relaxed) < 200 {
        if clock_ns() - start > 5_000_000_000 {
            exit_group(6);
        }
        sched_yield();
    }
    for _ in 0..(round % 8) * 300 {
        core::hint::spin_loop();
    }
    let r = match variant {
        0 => mprotect(p as usize, 4096, PROT_NONE),
        1 => munmap(p as usize, 4096),
        _ => mprotect(p as usize, 4096, PROT_READ),
    };
    sh[FLAG].store(1, Ordering::Release);
    sh[CALL_RESULT].store((r + 1000) as u64, Ordering::Relaxed);
    let start = clock_ns();
    while clock_ns() - start < DEATH_TIMEOUT_NS {
        nanosleep_ns(1_000_000);
    }
    exit_group(3)
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let sh = shared_atomics();
    SHARED.store(sh.as_ptr() as u64, Ordering::Relaxed);
    let mask = cpu_mask().unwrap_or(1).max(1);
    let mut baseline = None;
    let mut after_flag = [0u64; 3];
    let start = clock_ns();
    // One warm-up round of each variant before the baseline.
    for warm in [true, false] {
        for (variant, &(what, rounds)) in VARIANTS.iter().enumerate() {
            for round in 0..if warm { 1 } else { rounds } {
                sh.iter().for_each(|w| w.store(0, Ordering::Relaxed));
                let pid = spawn(|| round_child(variant, round, mask));
                check!(T, pid > 0, "fork gave {}", pid);
                let (r, status) = wait4(pid, 0);
                check!(T, r == pid, "wait4 gave {}", r);
                let call = sh[CALL_RESULT].load(Ordering::Relaxed);
                check!(
                    T,
                    call == 0 || call == 1000,
                    "{}, round {}: the call returned {}",
                    what,
                    round,
                    call as i64 - 1000
                );
                let stale = sh[STALE].load(Ordering::Relaxed);
                check!(
                    T,
                    stale == 0,
                    "{}, round {}: {} accesses succeeded after the call had returned",
                    what,
                    round,
                    stale
                );
                check!(
                    T,
                    sh[WRONG].load(Ordering::Relaxed) == 0,
                    "{}, round {}: the reader read {:#x}, not {:#x}",
                    what,
                    round,
                    sh[WRONG + 1].load(Ordering::Relaxed),
                    MAGIC
                );
                check!(
                    T,
                    status_signal(status) == Some(SIGSEGV as i32),
                    "{}, round {}: the process ended with status {:#x}, not by SIGSEGV{}",
                    what,
                    round,
                    status,
                    match status_exit_code(status) {
                        Some(3) => " (the access never faulted)",
                        Some(4) => " (mmap failed)",
                        Some(5) => " (clone failed)",
                        Some(6) => " (the thread never ran)",
                        _ => "",
                    }
                );
                if call == 1000 && !warm {
                    after_flag[variant] += 1;
                }
            }
        }
        if warm {
            baseline = settled_mem_usage();
        }
    }
    if let Err((frames, heap)) = check_baseline(baseline) {
        let (f0, h0) = baseline.unwrap();
        fail!(
            T,
            "frames {} (baseline {}), kernel heap {} (baseline {})",
            frames,
            f0,
            heap,
            h0
        );
    }
    println!(
        "{}: {}/{}/{} rounds in {} ms on {} CPUs (the fault came after the flag in {}/{}/{})",
        T,
        VARIANTS[0].1,
        VARIANTS[1].1,
        VARIANTS[2].1,
        (clock_ns() - start) / 1_000_000,
        mask.count_ones(),
        after_flag[0],
        after_flag[1],
        after_flag[2]
    );
    println!("{}: ok", T);
    0
}
