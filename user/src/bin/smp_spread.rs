//! CPU affinity and placement. The CPU count is the number of bits sched_getaffinity(0)
//! gives. That many busy threads (then that many busy processes) spin calling getcpu()
//! until, between them, every CPU has been seen: the scheduler must put runnable tasks on
//! idle CPUs. Then, for every CPU i: after sched_setaffinity(0, {i}) returns the caller
//! is on i (Linux migrates it before returning), getaffinity says {i}, and a thread and a
//! child created now inherit {i}; a thread pinned by another thread (by tid) moves there.
//! And the argument checks Linux makes (measured on Linux 6.1 arm64 with 1 and 4 CPUs):
//! getaffinity needs len >= the kernel's cpumask size (8 bytes here) and a multiple of 8,
//! else -EINVAL, and returns 8 — the bytes it wrote, no more, however long the buffer;
//! setaffinity with an empty mask, or one with no existing CPU, is -EINVAL; CPUs that do
//! not exist are dropped from a mask that also has real ones; a short mask is
//! zero-extended; bad pointers are -EFAULT, unknown pids -ESRCH; getcpu's node is 0;
//! sched_yield returns 0. Passes with 1 CPU as well.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "smp_spread";
/// How long the busy tasks may take to cover every CPU.
const SPREAD_LIMIT_NS: u64 = 10_000_000_000;

/// CPUs seen by the busy threads; any anomaly they hit (bit 0: getcpu failed, bit 1: a
/// CPU outside the mask, bit 2: node != 0, bit 3: time limit).
static SEEN: AtomicU64 = AtomicU64::new(0);
static THREAD_BAD: AtomicU64 = AtomicU64::new(0);
static FULL: AtomicU64 = AtomicU64::new(0);

/// Spins calling getcpu until `seen` holds every CPU of `full`; 0, or the anomaly bits.
fn spin_until_all_seen(seen: &AtomicU64, full: u64) -> u64 {
    let start = clock_ns();
    loop {
        match getcpu() {
            Ok((cpu, node)) => {
                if cpu >= 64 || full & (1 << cpu) == 0 {
                    return 2;
                }
                if node != 0 {
                    return 4;
                }
                seen.fetch_or(1 << cpu, Ordering::AcqRel);
            }
            Err(_) => return 1,
        }
        if seen.load(Ordering::Acquire) & full == full {
            return 0;
        }
        if clock_ns() - start > SPREAD_LIMIT_NS {
            return 8;
        }
        // Stay busy between calls: a CPU hog, never sleeping, never yielding.
        for _ in 0..20_000 {
            core::hint::spin_loop();
        }
    }
}

extern "C" fn busy_thread(_: usize) -> i32 {
    let r = spin_until_all_seen(&SEEN, FULL.load(Ordering::Relaxed));
    THREAD_BAD.fetch_or(r, Ordering::AcqRel);
    0
}

/// What a thread created while its creator is pinned to one CPU finds (the CPU + 1 if
/// both getcpu and getaffinity agree with the creator's, else 1000).
static INHERIT: AtomicU64 = AtomicU64::new(0);

extern "C" fn inherit_thread(cpu: usize) -> i32 {
    let mut m = [0u64; 1];
    let ok =
        getcpu().map(|c| c.0) == Ok(cpu) && sched_getaffinity(0, &mut m) == 8 && m[0] == 1 << cpu;
    INHERIT.store(if ok { cpu as u64 + 1 } else { 1000 }, Ordering::Release);
    0
}

/// A thread that another thread pins: it reports its tid, then spins calling getcpu
/// until it runs on the CPU in TARGET (TARGET_SET = 1 once the pin call returned).
static TARGET: AtomicU64 = AtomicU64::new(0);
static TARGET_SET: AtomicU32 = AtomicU32::new(0);
static ARRIVED: AtomicU64 = AtomicU64::new(0);

extern "C" fn pinned_by_other(_: usize) -> i32 {
    let start = clock_ns();
    while clock_ns() - start < 5_000_000_000 {
        let set = TARGET_SET.load(Ordering::Acquire);
        let cpu = getcpu().map_or(usize::MAX, |c| c.0);
        if set == 1 && cpu == TARGET.load(Ordering::Relaxed) as usize {
            ARRIVED.store(1, Ordering::Release);
            return 0;
        }
        for _ in 0..1000 {
            core::hint::spin_loop();
        }
    }
    ARRIVED.store(2, Ordering::Release);
    0
}

fn cpus_of(mask: u64) -> impl Iterator<Item = usize> {
    (0..64).filter(move |c| mask & (1u64 << c) != 0)
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    check!(
        T,
        sched_yield() == 0,
        "sched_yield returned {}",
        sched_yield()
    );

    // --- sched_getaffinity's lengths and errors.
    let mut m = [0u64; 16];
    let r = sched_getaffinity(0, &mut m[..1]);
    check!(
        T,
        r == 8,
        "sched_getaffinity(0, 8 bytes) returned {} (Linux: 8)",
        r
    );
    let full = m[0];
    let n = full.count_ones() as usize;
    check!(T, n >= 1, "the affinity mask is empty");
    FULL.store(full, Ordering::Relaxed);
    for len in [16usize, 24, 128] {
        m.iter_mut().for_each(|w| *w = 0x5a5a);
        let r = sched_getaffinity_raw(0, len, m.as_mut_ptr() as usize);
        check!(
            T,
            r == 8 && m[0] == full && m[1] == 0x5a5a,
            "sched_getaffinity(0, {} bytes) returned {} with {:#x} {:#x} (Linux: 8, the mask, the rest untouched)",
            len,
            r,
            m[0],
            m[1]
        );
    }
    for len in [0usize, 1, 4, 7, 9, 12] {
        m[0] = 0x5a5a;
        let r = sched_getaffinity_raw(0, len, m.as_mut_ptr() as usize);
        check!(
            T,
            r == -EINVAL && m[0] == 0x5a5a,
            "sched_getaffinity(0, {} bytes) returned {} (Linux: -EINVAL, nothing written)",
            len,
            r
        );
    }
    let r = sched_getaffinity_raw(0, 8, 16);
    check!(
        T,
        r == -EFAULT,
        "sched_getaffinity to address 16 gave {}",
        r
    );
    let r = sched_getaffinity(99999, &mut m[..1]);
    check!(T, r == -ESRCH, "sched_getaffinity(pid 99999) gave {}", r);
    let r = sched_getaffinity(getpid(), &mut m[..1]);
    check!(
        T,
        r == 8 && m[0] == full,
        "sched_getaffinity(own pid) gave {} {:#x}",
        r,
        m[0]
    );
    match getcpu() {
        Ok((cpu, node)) => check!(
            T,
            cpu < 64 && full & (1 << cpu) != 0 && node == 0,
            "getcpu gave cpu {} node {} (mask {:#x})",
            cpu,
            node,
            full
        ),
        Err(e) => fail!(T, "getcpu failed with {}", e),
    }
    check!(
        T,
        syscall(SYS_GETCPU, &[0, 0, 0]) == 0,
        "getcpu(NULL, NULL, NULL) must succeed"
    );

    // --- sched_setaffinity's errors (the mask must not change).
    let r = sched_setaffinity(0, &[0]);
    check!(T, r == -EINVAL, "sched_setaffinity(empty mask) gave {}", r);
    let r = syscall(SYS_SCHED_SETAFFINITY, &[0, 0, m.as_ptr() as usize]);
    check!(T, r == -EINVAL, "sched_setaffinity(len 0) gave {}", r);
    if full & (1 << 63) == 0 {
        let r = sched_setaffinity(0, &[1 << 63]);
        check!(T, r == -EINVAL, "sched_setaffinity({{63}}) gave {}", r);
    }
    let r = sched_setaffinity(0, &[0, 1, 0, 0]);
    check!(
        T,
        r == -EINVAL,
        "sched_setaffinity({{64}}, 32 bytes) gave {}",
        r
    );
    let r = syscall(SYS_SCHED_SETAFFINITY, &[0, 8, 16]);
    check!(
        T,
        r == -EFAULT,
        "sched_setaffinity from address 16 gave {}",
        r
    );
    let r = sched_setaffinity(99999, &[full]);
    check!(T, r == -ESRCH, "sched_setaffinity(pid 99999) gave {}", r);
    let r = sched_getaffinity(0, &mut m[..1]);
    check!(
        T,
        r == 8 && m[0] == full,
        "the failed calls changed the mask to {:#x}",
        m[0]
    );

    // --- Spread: n busy threads, then n busy processes, must between them see every CPU.
    let start = clock_ns();
    let tids = [const { AtomicU32::new(0) }; 64];
    for tid in tids.iter().take(n) {
        let r = clone_fn(JOINABLE_THREAD, busy_thread, 0, tid);
        check!(T, r > 0, "clone of a busy thread gave {}", r);
    }
    for tid in tids.iter().take(n) {
        join(tid);
    }
    let bad = THREAD_BAD.load(Ordering::Acquire);
    check!(
        T,
        bad & 7 == 0,
        "a busy thread saw: {}{}{}",
        if bad & 1 != 0 { "getcpu failing; " } else { "" },
        if bad & 2 != 0 {
            "a CPU outside its mask; "
        } else {
            ""
        },
        if bad & 4 != 0 { "node != 0" } else { "" }
    );
    let seen = SEEN.load(Ordering::Acquire);
    check!(
        T,
        seen == full,
        "{} busy threads ran only on CPUs {:#x} of {:#x} in {} ms",
        n,
        seen,
        full,
        (clock_ns() - start) / 1_000_000
    );
    let threads_ms = (clock_ns() - start) / 1_000_000;

    let start = clock_ns();
    let shared = shared_atomics();
    let mut pids = [0isize; 64];
    for p in pids.iter_mut().take(n) {
        *p = spawn(|| spin_until_all_seen(&shared[0], full) as i32);
        check!(T, *p > 0, "fork of a busy process gave {}", *p);
    }
    for &p in pids.iter().take(n) {
        let code = wait_exit_code(p);
        check!(
            T,
            code & 7 == 0,
            "a busy process saw {} (1: getcpu failed, 2: CPU outside mask, 4: node != 0)",
            code
        );
    }
    let seen = shared[0].load(Ordering::Acquire);
    check!(
        T,
        seen == full,
        "{} busy processes ran only on CPUs {:#x} of {:#x} in {} ms",
        n,
        seen,
        full,
        (clock_ns() - start) / 1_000_000
    );
    let procs_ms = (clock_ns() - start) / 1_000_000;

    // --- Pinning to each CPU in turn.
    for cpu in cpus_of(full) {
        let r = pin_to_cpu(cpu);
        check!(T, r == 0, "sched_setaffinity(0, {{{}}}) gave {}", cpu, r);
        let now = getcpu().map(|c| c.0);
        check!(
            T,
            now == Ok(cpu),
            "after sched_setaffinity(0, {{{}}}) returned, getcpu gave {:?}",
            cpu,
            now
        );
        for _ in 0..3 {
            sched_yield();
            let now = getcpu().map(|c| c.0);
            check!(
                T,
                now == Ok(cpu),
                "pinned to {}, then ran on {:?}",
                cpu,
                now
            );
        }
        let r = sched_getaffinity(0, &mut m[..1]);
        check!(
            T,
            r == 8 && m[0] == 1 << cpu,
            "pinned to {}: sched_getaffinity gave {} {:#x}",
            cpu,
            r,
            m[0]
        );
        INHERIT.store(0, Ordering::Relaxed);
        let tid = AtomicU32::new(0);
        check!(
            T,
            clone_fn(JOINABLE_THREAD, inherit_thread, cpu, &tid) > 0,
            "clone"
        );
        join(&tid);
        let got = INHERIT.load(Ordering::Acquire);
        check!(
            T,
            got == cpu as u64 + 1,
            "a thread created while pinned to {} did not inherit the mask or run there",
            cpu
        );
        let pid = spawn(|| {
            let mut m = [0u64; 1];
            let ok = getcpu().map(|c| c.0) == Ok(cpu)
                && sched_getaffinity(0, &mut m) == 8
                && m[0] == 1 << cpu;
            if ok { 0 } else { 1 }
        });
        check!(
            T,
            wait_exit_code(pid) == 0,
            "a child forked while pinned to {} did not inherit the mask or run there",
            cpu
        );
    }
    // By tid (the caller's own), a mask with CPUs that do not exist (dropped), a short
    // mask (zero-extended), and back to everything with a long all-ones mask.
    let first = nth_cpu(full, 0);
    let r = sched_setaffinity(gettid(), &[1 << first]);
    check!(T, r == 0, "sched_setaffinity(own tid) gave {}", r);
    if full & (1 << 63) == 0 {
        let r = sched_setaffinity(0, &[1 << first | 1 << 63]);
        check!(
            T,
            r == 0,
            "sched_setaffinity({{{}, 63}}) gave {} (Linux: 0)",
            first,
            r
        );
        let r = sched_getaffinity(0, &mut m[..1]);
        check!(
            T,
            r == 8 && m[0] == 1 << first,
            "after sched_setaffinity({{{}, 63}}): {:#x} (Linux drops CPUs that do not exist)",
            first,
            m[0]
        );
    }
    if first < 32 {
        let short = [1u32 << first];
        let r = syscall(SYS_SCHED_SETAFFINITY, &[0, 4, short.as_ptr() as usize]);
        let g = sched_getaffinity(0, &mut m[..1]);
        check!(
            T,
            r == 0 && g == 8 && m[0] == 1 << first,
            "sched_setaffinity with a 4-byte mask gave {}, then {:#x}",
            r,
            m[0]
        );
    }
    let all = [u64::MAX; 16];
    let r = sched_setaffinity(0, &all);
    let g = sched_getaffinity(0, &mut m[..1]);
    check!(
        T,
        r == 0 && g == 8 && m[0] == full,
        "sched_setaffinity(all ones, 128 bytes) gave {}, then the mask {:#x} (want {:#x})",
        r,
        m[0],
        full
    );

    // --- Pinning another, running thread by its tid: it gets there.
    if n > 1 {
        let target = nth_cpu(full, n - 1);
        let tid = AtomicU32::new(0);
        let t = clone_fn(JOINABLE_THREAD, pinned_by_other, 0, &tid);
        check!(T, t > 0, "clone");
        TARGET.store(target as u64, Ordering::Relaxed);
        let r = sched_setaffinity(t, &[1 << target]);
        TARGET_SET.store(1, Ordering::Release);
        check!(T, r == 0, "sched_setaffinity(tid {}) gave {}", t, r);
        join(&tid);
        check!(
            T,
            ARRIVED.load(Ordering::Acquire) == 1,
            "a thread pinned by another to CPU {} was not running there within 5 s",
            target
        );
        let g = sched_getaffinity(0, &mut m[..1]);
        check!(
            T,
            g == 8 && m[0] == full,
            "pinning a sibling changed the caller's mask to {:#x}",
            m[0]
        );
    }
    println!(
        "{}: {} CPUs (mask {:#x}); threads covered them in {} ms, processes in {} ms",
        T, n, full, threads_ms, procs_ms
    );
    println!("{}: ok", T);
    0
}
