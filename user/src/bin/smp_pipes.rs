//! Pipes, exit/wait and vfork under SMP.
//!  1. Four producer processes and three consumer processes on one pipe. Producers write
//!     64-byte records of one byte value each (POSIX: a write of at most PIPE_BUF bytes
//!     is never interleaved with another's), consumers read 64 bytes at a time: every
//!     read gives one whole record, and the per-producer totals come out exact after EOF.
//!     Then 20,000-byte writes (not atomic) read 1,000 bytes at a time: exact byte totals.
//!  2. A token passed round a ring of four processes (one pipe each, pinned to different
//!     CPUs when there are several) for 750 laps: every hop seen, in order, no hang.
//!  3. Children that fork grandchildren and exit at once, so the grandchildren — spinning
//!     on other CPUs — are reparented while they run (to init on this kernel, where the
//!     test is init; on Linux to the test, a child subreaper): each grandchild sees
//!     getppid() become the test's pid, and the test reaps every child and grandchild
//!     with the right exit code, then wait4 says ECHILD.
//!  4. Four threads vfork in a loop at the same time; each child writes a word and
//!     _exits at once: vfork returns only after the child is gone (the word is written),
//!     and wait4 gives each child's code.
//!
//! Frames and kernel heap are at the baseline at the end.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "smp_pipes";
const PRODUCERS: usize = 4;
const CONSUMERS: usize = 3;
const RECORD: usize = 64;
const RECORDS: u64 = 1500;
const BIG: usize = 20_000;
const BIGS: u64 = 3;
const RING: usize = 4;
const LAPS: u64 = 750;
const STOP_TOKEN: u64 = u64::MAX;
const ORPHAN_ROUNDS: u64 = 8;
const CHILDREN: usize = 8;
const GRANDCHILDREN: usize = 4;
const CHILD_CODE: i32 = 7;
const GRANDCHILD_CODE: i32 = 9;
const VFORKERS: usize = 4;
const VFORKS: u64 = 150;
const STACK: usize = 16 * 1024;
const TIMEOUT_NS: u64 = 15_000_000_000;

/// Reaps `n` specific children; returns the first bad (pid, status) if any.
fn reap_all(pids: &[isize], want: i32) -> Option<(isize, i32)> {
    let mut bad = None;
    for &p in pids {
        let (r, status) = wait4(p, 0);
        if (r != p || status_exit_code(status) != Some(want)) && bad.is_none() {
            bad = Some((r, status));
        }
    }
    bad
}

fn write_all(fd: i32, buf: &[u8]) -> bool {
    write(fd, buf) == buf.len() as isize
}

/// Part 1. `big`: 20,000-byte writes and 1,000-byte reads instead of records.
fn many_to_many(sh: &'static [AtomicU64; 512], big: bool, scale: u64) {
    sh.iter().for_each(|w| w.store(0, Ordering::Relaxed));
    let fds = pipe();
    let mut pids = [0isize; PRODUCERS + CONSUMERS];
    for (p, pid) in pids.iter_mut().enumerate().take(PRODUCERS) {
        *pid = spawn(|| {
            close(fds[0]);
            let value = p as u8 + 1;
            if big {
                let buf = [value; BIG];
                for _ in 0..BIGS {
                    if !write_all(fds[1], &buf) {
                        return 2;
                    }
                }
            } else {
                let buf = [value; RECORD];
                for _ in 0..RECORDS / scale {
                    if !write_all(fds[1], &buf) {
                        return 2;
                    }
                }
            }
            0
        });
        check!(T, *pid > 0, "fork of a producer gave {}", *pid);
    }
    for pid in pids.iter_mut().skip(PRODUCERS) {
        *pid = spawn(|| {
            close(fds[1]);
            let mut counts = [0u64; PRODUCERS + 1];
            let mut buf = [0u8; 1000];
            let want = if big { buf.len() } else { RECORD };
            loop {
                let n = read(fds[0], &mut buf[..want]);
                if n == 0 {
                    break;
                }
                if n < 0 {
                    return 3;
                }
                let got = &buf[..n as usize];
                if !big {
                    // One whole record: 64 bytes of one producer's value.
                    if n as usize != RECORD || got.iter().any(|&b| b != got[0]) {
                        sh[10].store(n as u64, Ordering::Relaxed);
                        return 4;
                    }
                }
                for &b in got {
                    if b == 0 || b as usize > PRODUCERS {
                        return 5;
                    }
                    counts[b as usize] += 1;
                }
            }
            for (i, &c) in counts.iter().enumerate() {
                sh[i].fetch_add(c, Ordering::Relaxed);
            }
            0
        });
        check!(T, *pid > 0, "fork of a consumer gave {}", *pid);
    }
    close(fds[0]);
    close(fds[1]);
    let what = if big {
        "20,000-byte writes"
    } else {
        "64-byte records"
    };
    // Reap everyone first: a consumer's failure explains a producer's SIGPIPE.
    let producers = reap_all(&pids[..PRODUCERS], 0);
    if let Some((r, status)) = reap_all(&pids[PRODUCERS..], 0) {
        fail!(
            T,
            "{}: a consumer ended with {} / {:#x} (exit 3: read error, 4: a read of {} bytes that is not one whole record, 5: a stray byte)",
            what,
            r,
            status,
            sh[10].load(Ordering::Relaxed)
        );
    }
    if let Some((r, status)) = producers {
        fail!(
            T,
            "{}: a producer ended with {} / {:#x} (exit 2: a short write)",
            what,
            r,
            status
        );
    }
    let want = if big {
        BIG as u64 * BIGS
    } else {
        RECORD as u64 * (RECORDS / scale)
    };
    for (p, total) in sh.iter().enumerate().take(PRODUCERS + 1).skip(1) {
        let got = total.load(Ordering::Relaxed);
        check!(
            T,
            got == want,
            "{}: producer {}'s bytes read: {} of {}",
            what,
            p,
            got,
            want
        );
    }
}

/// Part 2: the ring.
fn ring(laps: u64, mask: u64) {
    let mut pipes = [[0i32; 2]; RING];
    for p in pipes.iter_mut() {
        *p = pipe();
    }
    let mut pids = [0isize; RING];
    for (i, pid) in pids.iter_mut().enumerate() {
        *pid = spawn(|| {
            if mask.count_ones() > 1 {
                pin_to_cpu(nth_cpu(mask, i));
            }
            let (rd, wr) = (pipes[i][0], pipes[(i + 1) % RING][1]);
            for (j, p) in pipes.iter().enumerate() {
                if j != i {
                    close(p[0]);
                }
                if j != (i + 1) % RING {
                    close(p[1]);
                }
            }
            let mut seen = 0u64;
            loop {
                let mut b = [0u8; 8];
                if read(rd, &mut b) != 8 {
                    return 2;
                }
                let t = u64::from_le_bytes(b);
                if t == STOP_TOKEN {
                    if i != RING - 1 && !write_all(wr, &b) {
                        return 3;
                    }
                    return if seen == laps { 0 } else { 4 };
                }
                if t % RING as u64 != i as u64 || t / RING as u64 != seen {
                    return 5;
                }
                seen += 1;
                let next = if t + 1 == laps * RING as u64 {
                    STOP_TOKEN
                } else {
                    t + 1
                };
                if !write_all(wr, &next.to_le_bytes()) {
                    return 3;
                }
            }
        });
        check!(T, *pid > 0, "fork of ring process {} gave {}", i, *pid);
    }
    check!(
        T,
        write_all(pipes[0][1], &0u64.to_le_bytes()),
        "the first token"
    );
    for p in pipes {
        close(p[0]);
        close(p[1]);
    }
    if let Some((r, status)) = reap_all(&pids, 0) {
        fail!(
            T,
            "ring: process {} ended with status {:#x} (2: short read, 3: short write, 4: wrong number of laps, 5: token out of order)",
            r,
            status
        );
    }
}

/// Part 3: orphans reparented while they run.
fn orphans(rounds: u64, root: isize) {
    for round in 0..rounds {
        for _ in 0..CHILDREN {
            let pid = spawn(|| {
                for _ in 0..GRANDCHILDREN {
                    let g = spawn(|| {
                        let start = clock_ns();
                        while getppid() != root {
                            if clock_ns() - start > 5_000_000_000 {
                                return 3;
                            }
                            core::hint::spin_loop();
                        }
                        for _ in 0..3 {
                            sched_yield();
                        }
                        GRANDCHILD_CODE
                    });
                    if g < 0 {
                        return 2;
                    }
                }
                CHILD_CODE
            });
            check!(T, pid > 0, "fork gave {}", pid);
        }
        let (mut children, mut grandchildren) = (0, 0);
        let start = clock_ns();
        loop {
            let (r, status) = wait4(-1, 0);
            if r == -ECHILD {
                break;
            }
            check!(T, r > 0, "wait4(-1) gave {}", r);
            match status_exit_code(status) {
                Some(CHILD_CODE) => children += 1,
                Some(GRANDCHILD_CODE) => grandchildren += 1,
                Some(3) => fail!(
                    T,
                    "round {}: a grandchild's getppid() never became {} (the reaper)",
                    round,
                    root
                ),
                _ => fail!(
                    T,
                    "round {}: pid {} ended with status {:#x} (exit 2: fork failed)",
                    round,
                    r,
                    status
                ),
            }
            check!(
                T,
                clock_ns() - start < TIMEOUT_NS,
                "round {}: reaping takes too long",
                round
            );
        }
        check!(
            T,
            children == CHILDREN && grandchildren == CHILDREN * GRANDCHILDREN,
            "round {}: reaped {} children and {} grandchildren, not {} and {}",
            round,
            children,
            grandchildren,
            CHILDREN,
            CHILDREN * GRANDCHILDREN
        );
    }
}

// Part 4: vfork from several threads.
static VSTACKS: AtomicU64 = AtomicU64::new(0);
static VFORKS_NOW: AtomicU64 = AtomicU64::new(0);
static VWORD: [AtomicU64; VFORKERS] = [const { AtomicU64::new(0) }; VFORKERS];
static VBAD: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
static VTIDS: [AtomicU32; VFORKERS] = [const { AtomicU32::new(0) }; VFORKERS];

/// The vfork child: arg = thread << 16 | k; writes k + 1 into the thread's word (the
/// parent's memory: CLONE_VM) and exits with (k % 100) + 1.
extern "C" fn vchild(arg: usize) -> i32 {
    let (t, k) = (arg >> 16, (arg & 0xffff) as u64);
    VWORD[t].store(k + 1, Ordering::Release);
    (k % 100) as i32 + 1
}

extern "C" fn vforker(t: usize) -> i32 {
    // Stacks: 0..VFORKERS for the threads, VFORKERS.. for their children.
    let child_stack = VSTACKS.load(Ordering::Relaxed) as usize + (VFORKERS + t + 1) * STACK;
    for k in 0..VFORKS_NOW.load(Ordering::Relaxed) {
        VWORD[t].store(0, Ordering::Release);
        let pid = arch::clone_thread(
            CLONE_VM | CLONE_VFORK | SIGCHLD,
            child_stack,
            0,
            0,
            0,
            vchild,
            t << 16 | k as usize,
        );
        let word = VWORD[t].load(Ordering::Acquire);
        if pid <= 0 || word != k + 1 {
            let _ = VBAD[0].compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed);
            VBAD[1].store(pid as u64, Ordering::Relaxed);
            VBAD[2].store(word, Ordering::Relaxed);
            return 1;
        }
        let (r, status) = wait4(pid, 0);
        if r != pid || status_exit_code(status) != Some((k % 100) as i32 + 1) {
            let _ = VBAD[0].compare_exchange(0, 2, Ordering::AcqRel, Ordering::Relaxed);
            VBAD[1].store(r as u64, Ordering::Relaxed);
            VBAD[2].store(status as u64, Ordering::Relaxed);
            return 1;
        }
    }
    0
}

fn vforks(n: u64) {
    VFORKS_NOW.store(n, Ordering::Relaxed);
    let stacks = VSTACKS.load(Ordering::Relaxed) as usize;
    for (t, tid) in VTIDS.iter().enumerate() {
        let r = thread_on(stacks + (t + 1) * STACK, vforker, t, tid);
        check!(T, r > 0, "clone of a vfork thread gave {}", r);
    }
    for tid in &VTIDS {
        check!(T, join_timeout(tid, TIMEOUT_NS), "a vfork thread hung");
    }
    match VBAD[0].load(Ordering::Acquire) {
        0 => {}
        1 => fail!(
            T,
            "vfork gave {} and the child's word was {} when it returned (the parent must sleep until the child exits)",
            VBAD[1].load(Ordering::Relaxed) as i64,
            VBAD[2].load(Ordering::Relaxed)
        ),
        _ => fail!(
            T,
            "wait4 for a vfork child gave {} with status {:#x}",
            VBAD[1].load(Ordering::Relaxed) as i64,
            VBAD[2].load(Ordering::Relaxed)
        ),
    }
    check!(
        T,
        wait4(-1, WNOHANG).0 == -ECHILD,
        "a vfork child left over"
    );
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // Orphans come to the test: it is init here, and a subreaper on Linux.
    syscall(SYS_PRCTL, &[PR_SET_CHILD_SUBREAPER, 1]);
    let root = getpid();
    let mask = cpu_mask().unwrap_or(1).max(1);
    let sh = shared_atomics();
    let vstacks = stack_pool(2 * VFORKERS, STACK);
    check!(T, vstacks > 0, "mmap of the stacks gave {}", vstacks);
    VSTACKS.store(vstacks as u64, Ordering::Relaxed);
    // Warm-up: a little of everything, then the baseline.
    many_to_many(sh, false, 100);
    many_to_many(sh, true, 1);
    ring(2, mask);
    orphans(1, root);
    vforks(2);
    let baseline = settled_mem_usage();
    let start = clock_ns();
    let mut ms = [0u64; 4];
    many_to_many(sh, false, 1);
    many_to_many(sh, true, 1);
    ms[0] = (clock_ns() - start) / 1_000_000;
    ring(LAPS, mask);
    ms[1] = (clock_ns() - start) / 1_000_000;
    orphans(ORPHAN_ROUNDS, root);
    ms[2] = (clock_ns() - start) / 1_000_000;
    vforks(VFORKS);
    ms[3] = (clock_ns() - start) / 1_000_000;
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
        "{}: producers/consumers {} ms, ring {} ms, orphans {} ms, vforks {} ms",
        T,
        ms[0],
        ms[1] - ms[0],
        ms[2] - ms[1],
        ms[3] - ms[2]
    );
    println!("{}: ok", T);
    0
}
