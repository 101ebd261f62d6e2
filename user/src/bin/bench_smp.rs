//! `make bench`, second part: the benchmarks of bench.rs run by W workers at once, worker i
//! a process pinned to CPU i (sched_setaffinity, checked with getcpu before and after
//! every phase). Each benchmark is one or more timed phases: the workers meet at a barrier
//! (atomics in a MAP_SHARED page); the last to arrive reads the clock (T0) and releases
//! the others; each does its operations; the last to finish reads the clock again (T1).
//! The figure is (T1 - T0) summed over the phases, divided by the operations of all
//! workers together.
//!
//! Under QEMU `-icount shift=0` the virtual clock advances one ns for every instruction
//! *any* vCPU executes (QEMU runs the vCPUs in turns on one host thread), so the figure
//! is the instructions all CPUs executed per operation, time spent spinning on locks
//! included: W workers that do not slow each other down at all give the one-worker
//! figure. docs/benchmarks.md explains how QEMU 7.2 takes turns and what that does to
//! lock spinning.
//!
//! A phase stops early when its virtual time passes a budget (`budget=MS`, default 2000 ms
//! = 2e9 instructions): the per-operation figure is then over the operations done, and the
//! line says "capped".
//!
//!   usage: bench_smp [W...] [scale=PERCENT] [budget=MS] [only=KEY,KEY...]
//!   (default: W = 1 and 4, scale = 100, every benchmark)
//! Runs on Linux too: linux-oracle.sh --icount --smp 4 bench_smp 4.
#![no_std]
#![no_main]

use core::ptr::write_volatile;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};

use ulib::*;

const PAGE: usize = 4096;
const MAX_WORKERS: usize = 8;

// The shared page, as AtomicU64 slots.
const ARRIVED: usize = 0; // workers at the barrier
const GEN: usize = 1; // barrier generation
const T0: usize = 2; // clock_ns() when the current phase started
const DEADLINE: usize = 3; // CNTVCT_EL0 value at which the current phase stops early
const CAPPED: usize = 4; // a phase passed its budget: no more rounds
const BAD_CPU: usize = 5; // a worker found itself on another CPU than its own
const BUDGET: usize = 7; // the budget in counter ticks
const ACC: usize = 8; // [8..12): elapsed ns per phase kind, summed over rounds
const OPS: usize = 12; // [12..16): operations done per phase kind, all workers
const SEEN_CPU: usize = 16; // [16..24): 1 + the CPU each worker ran on
const FINISH: usize = 24; // [24..32): when each worker finished its last phase (ns after T0)
const LAST: usize = 32; // elapsed ns of the last phase
const SERIAL: usize = 33; // a user-space lock for `Team::serially`
const EXIT_TURN: usize = 34; // the worker that may exit now
const STOP: usize = 40; // [40..48): context switch: tells worker i's partner to stop

/// The CPU the caller runs on (getcpu(2)).
fn this_cpu() -> usize {
    getcpu().map_or(usize::MAX, |(cpu, _)| cpu)
}

/// The virtual counter (EL0 may read it, as on Linux): a budget check costs no system call.
fn counter() -> u64 {
    let v: u64;
    // SAFETY: reading CNTVCT_EL0 has no side effects.
    unsafe { core::arch::asm!("mrs {}, cntvct_el0", out(reg) v, options(nomem, nostack)) };
    v
}

fn counter_hz() -> u64 {
    let v: u64;
    // SAFETY: as above.
    unsafe { core::arch::asm!("mrs {}, cntfrq_el0", out(reg) v, options(nomem, nostack)) };
    v
}

/// The `yield` hint while waiting at a barrier: QEMU's round-robin moves on to the next
/// vCPU at once, so a waiting worker costs a few instructions per turn.
fn relax() {
    // SAFETY: a hint instruction without effects on registers or memory.
    unsafe { core::arch::asm!("yield", options(nomem, nostack)) };
}

/// `hint #100` / `hint #101` (NOPs): where an instruction-counting QEMU plugin may start
/// and stop counting (the measured part of each phase; docs/benchmarks.md).
fn mark(start: bool) {
    // SAFETY: unallocated hint space executes as a NOP.
    unsafe {
        if start {
            core::arch::asm!("hint #100", options(nomem, nostack));
        } else {
            core::arch::asm!("hint #101", options(nomem, nostack));
        }
    }
}

fn touch(p: *mut u8, pages: usize, v: u8) {
    for i in 0..pages {
        // SAFETY: p is a private read-write mapping of at least `pages` pages.
        unsafe { write_volatile(p.add(i * PAGE), v) };
    }
}

/// `iterations` turns of a two-instruction loop.
fn busy_loop(iterations: u64) {
    // SAFETY: arithmetic on a register only.
    unsafe {
        core::arch::asm!("1: subs {0}, {0}, #1", "b.ne 1b", inout(reg) iterations => _,
                         options(nomem, nostack))
    };
}

extern "C" fn thread_exit_now(_: usize) -> i32 {
    0
}

/// The workers of one benchmark, as worker `i` sees them.
struct Team {
    sh: &'static [AtomicU64; 512],
    w: usize,
    i: usize,
}

impl Team {
    /// Waits until all W workers have arrived; the last one runs `last` first.
    fn barrier(&self, last: impl FnOnce()) {
        let sh = self.sh;
        let g = sh[GEN].load(Acquire);
        if sh[ARRIVED].fetch_add(1, AcqRel) as usize == self.w - 1 {
            last();
            sh[ARRIVED].store(0, Relaxed);
            sh[GEN].store(g + 1, Release);
        } else {
            while sh[GEN].load(Acquire) == g {
                relax();
            }
        }
    }

    /// One timed phase: every worker runs `work` at once, which returns how many
    /// operations it did; the time from the last arrival to the last finish is added to
    /// ACC[kind]. Returns false once a phase has passed its budget (the same answer in
    /// every worker), so the caller stops its rounds.
    fn phase(&self, kind: usize, work: impl FnOnce() -> usize) -> bool {
        let sh = self.sh;
        if this_cpu() != self.i {
            sh[BAD_CPU].fetch_add(1, Relaxed);
        }
        self.barrier(|| {
            sh[DEADLINE].store(counter() + sh[BUDGET].load(Relaxed), Relaxed);
            sh[T0].store(clock_ns(), Relaxed);
        });
        mark(true);
        let ops = work();
        let mine = clock_ns();
        sh[OPS + kind].fetch_add(ops as u64, Relaxed);
        self.barrier(|| {
            mark(false);
            let elapsed = clock_ns() - sh[T0].load(Relaxed);
            sh[ACC + kind].fetch_add(elapsed, Relaxed);
            sh[LAST].store(elapsed, Relaxed);
            if counter() > sh[DEADLINE].load(Relaxed) {
                sh[CAPPED].store(1, Relaxed);
            }
        });
        sh[FINISH + self.i].store(mine - sh[T0].load(Relaxed), Relaxed);
        if this_cpu() != self.i {
            sh[BAD_CPU].fetch_add(1, Relaxed);
        }
        self.barrier(|| {}); // everyone has read CAPPED and LAST before the next phase
        sh[CAPPED].load(Relaxed) == 0
    }

    /// Runs `f` while no other worker runs its own `f`: for untimed teardown (children
    /// exiting) that would otherwise run on four CPUs at once. On this kernel that is
    /// slow under QEMU for reasons of no interest outside the timed phases (a global
    /// lock around kernel-stack frees; docs/benchmarks.md).
    fn serially<R>(&self, f: impl FnOnce() -> R) -> R {
        let lock = &self.sh[SERIAL];
        while lock.compare_exchange(0, 1, Acquire, Relaxed).is_err() {
            relax();
        }
        let r = f();
        lock.store(0, Release);
        r
    }

    /// Runs `op(k)` for k = 0, 1, ... n - 1, fewer if the phase's budget runs out (checked
    /// every `every` operations); returns how many it ran.
    fn ops(&self, n: usize, every: usize, mut op: impl FnMut(usize)) -> usize {
        let deadline = self.sh[DEADLINE].load(Relaxed);
        let mut done = 0;
        while done < n {
            if done % every == 0 && counter() > deadline {
                break;
            }
            op(done);
            done += 1;
        }
        done
    }
}

/// What one benchmark measured: elapsed ns and operations per phase kind.
struct Measured {
    acc: [u64; 4],
    ops: [u64; 4],
    capped: bool,
    /// Each worker's finish time in the last phase, in per cent of that phase.
    finish: [u64; MAX_WORKERS],
}

impl Measured {
    fn per_op(&self, kind: usize) -> u64 {
        self.acc[kind] / self.ops[kind].max(1)
    }
}

/// Runs `body` in W worker processes, worker i pinned to CPU i, and waits for them.
fn team(sh: &'static [AtomicU64; 512], w: usize, budget: u64, body: impl Fn(&Team)) -> Measured {
    for s in sh.iter() {
        s.store(0, Relaxed);
    }
    sh[BUDGET].store(budget, Relaxed);
    let mut pids = [0isize; MAX_WORKERS];
    for (i, pid) in pids.iter_mut().enumerate().take(w) {
        let body = &body;
        *pid = spawn(move || {
            if pin_to_cpu(i) != 0 {
                println!("bench-smp: sched_setaffinity to CPU {} failed", i);
                return 1;
            }
            sh[SEEN_CPU + i].store(this_cpu() as u64 + 1, Relaxed);
            body(&Team { sh, w, i });
            // One at a time, each after the previous one has been reaped.
            while sh[EXIT_TURN].load(Acquire) != i as u64 {
                relax();
            }
            0
        });
    }
    let mut failed = false;
    for (i, &pid) in pids.iter().enumerate().take(w) {
        failed |= wait_exit_code(pid) != 0;
        sh[EXIT_TURN].store(i as u64 + 1, Release);
    }
    let misplaced = (0..w).any(|i| sh[SEEN_CPU + i].load(Relaxed) != i as u64 + 1);
    if failed || misplaced || sh[BAD_CPU].load(Relaxed) != 0 {
        println!(
            "bench-smp: FAILED: a worker failed {} / started on another CPU {} / ran on another CPU {} times",
            failed,
            misplaced,
            sh[BAD_CPU].load(Relaxed)
        );
        exit_group(1);
    }
    let last = sh[LAST].load(Relaxed).max(1);
    Measured {
        acc: core::array::from_fn(|k| sh[ACC + k].load(Relaxed)),
        ops: core::array::from_fn(|k| sh[OPS + k].load(Relaxed)),
        capped: sh[CAPPED].load(Relaxed) != 0,
        finish: core::array::from_fn(|i| sh[FINISH + i].load(Relaxed) * 100 / last),
    }
}

fn report(w: usize, key: &str, per_op: u64, r: &Measured, kind: usize) {
    let (lo, hi) = (0..w).fold((u64::MAX, 0), |(lo, hi), i| {
        (lo.min(r.finish[i]), hi.max(r.finish[i]))
    });
    println!(
        "bench-smp: W={} {:<11} {:>11} instructions per op ({} ns, {} ops; workers finished at {}-{} %{})",
        w,
        key,
        per_op,
        r.acc[kind],
        r.ops[kind],
        lo,
        hi,
        if r.capped { "; capped" } else { "" }
    );
}

/// `base` scaled by `scale` per cent (at least 1).
fn sc(base: usize, scale: usize) -> usize {
    (base * scale / 100).max(1)
}

fn run_all(sh: &'static [AtomicU64; 512], w: usize, scale: usize, budget: u64, only: &str) {
    let want = |key: &str| only.is_empty() || only.split(',').any(|k| k == key);

    // The clock model: an operation of exactly 2,000,000 user instructions. If virtual time
    // advances with the instructions of every vCPU, W workers give 2,000,000 per operation
    // (plus the phase's own few hundred), whatever W is.
    if want("calibrate") {
        let n = sc(2, scale);
        let r = team(sh, w, budget, |t| {
            t.phase(0, || t.ops(n, 1, |_| busy_loop(1_000_000)));
        });
        report(w, "calibrate", r.per_op(0), &r, 0);
    }

    if want("getppid") {
        let n = sc(40_000, scale);
        let r = team(sh, w, budget, |t| {
            t.phase(0, || {
                t.ops(n, 64, |_| {
                    getppid();
                })
            });
        });
        report(w, "getppid", r.per_op(0), &r, 0);
    }

    // First touch: a demand-zero fault per page, minus the same loop once the pages are
    // there. Each worker has its own mapping (its own address space).
    if want("first-touch") {
        let (pages, rounds) = (1024, sc(4, scale));
        let r = team(sh, w, budget, |t| {
            for _ in 0..rounds {
                let p = alloc_pages(pages * PAGE);
                let more = t.phase(0, || {
                    touch(p, pages, 1);
                    pages
                });
                t.phase(1, || {
                    touch(p, pages, 2);
                    pages
                });
                munmap(p as usize, pages * PAGE);
                if !more {
                    break;
                }
            }
        });
        report(
            w,
            "first-touch",
            r.per_op(0).saturating_sub(r.per_op(1)),
            &r,
            0,
        );
    }

    // Copy-on-write: each worker writes its own pages while a child of its own, asleep on
    // a pipe, still shares them; minus the same loop once they are private.
    if want("cow") {
        let (pages, rounds) = (1024, sc(4, scale));
        let r = team(sh, w, budget, |t| {
            let p = alloc_pages(pages * PAGE);
            touch(p, pages, 1);
            for _ in 0..rounds {
                let fds = pipe();
                let holder = spawn(|| {
                    let mut b = [0u8; 1];
                    read(fds[0], &mut b);
                    0
                });
                let more = t.phase(0, || {
                    touch(p, pages, 2);
                    pages
                });
                t.phase(1, || {
                    touch(p, pages, 3);
                    pages
                });
                t.serially(|| {
                    write(fds[1], b"x");
                    wait4(holder, 0)
                });
                close(fds[0]);
                close(fds[1]);
                if !more {
                    break;
                }
            }
        });
        report(w, "cow", r.per_op(0).saturating_sub(r.per_op(1)), &r, 0);
    }

    let fork_exit_wait = |_| {
        let pid = fork();
        if pid == 0 {
            exit(0);
        }
        wait4(pid, 0);
    };

    if want("fork") {
        let n = sc(400, scale);
        let r = team(sh, w, budget, |t| {
            t.phase(0, || t.ops(n, 1, fork_exit_wait));
        });
        report(w, "fork", r.per_op(0), &r, 0);
    }

    // The same with 16 MiB touched in each worker.
    if want("fork-16MiB") {
        let n = sc(10, scale);
        let r = team(sh, w, budget, |t| {
            let pages = 16 << 20 >> 12;
            let big = alloc_pages(pages * PAGE);
            touch(big, pages, 1);
            t.phase(0, || t.ops(n, 1, fork_exit_wait));
            munmap(big as usize, pages * PAGE);
        });
        report(w, "fork-16MiB", r.per_op(0), &r, 0);
    }

    // Thread create + join, as bench.rs: a fresh 64 KiB stack for each, unmapped between
    // phases.
    if want("thread") {
        let rounds = sc(4, scale);
        let r = team(sh, w, budget, |t| {
            let mut stacks = [0usize; 100];
            for _ in 0..rounds {
                let mut made = 0;
                let more = t.phase(0, || {
                    made = t.ops(stacks.len(), 1, |k| {
                        let tid = AtomicU32::new(0);
                        let flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
                        let tp = tid.as_ptr() as usize;
                        let stack = new_stack();
                        arch::clone_thread(flags, stack, tp, 0, tp, thread_exit_now, 0);
                        join(&tid);
                        stacks[k] = stack;
                    });
                    made
                });
                for &s in &stacks[..made] {
                    munmap(s - 64 * 1024, 64 * 1024);
                }
                if !more {
                    break;
                }
            }
        });
        report(w, "thread", r.per_op(0), &r, 0);
    }

    // Context switch: on each CPU a pair of processes hands the CPU back and forth with
    // sched_yield; minus sched_yield with nobody else to run; halved.
    if want("switch") {
        let n = sc(4000, scale);
        let r = team(sh, w, budget, |t| {
            t.phase(0, || {
                t.ops(n, 64, |_| {
                    sched_yield();
                })
            });
            let partner = spawn(|| {
                while sh[STOP + t.i].load(Acquire) == 0 {
                    sched_yield();
                }
                0
            });
            sched_yield(); // let the partner start its loop
            t.phase(1, || {
                t.ops(n, 64, |_| {
                    sched_yield();
                })
            });
            t.serially(|| {
                sh[STOP + t.i].store(1, Release);
                wait4(partner, 0)
            });
        });
        let switch = r.per_op(1).saturating_sub(r.per_op(0)) / 2;
        report(w, "switch", switch, &r, 1);
    }
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    let mut workers = [0usize; 8];
    let (mut nw, mut scale, mut budget_ms, mut only) = (0, 100, 2000, "");
    for i in 1..args.argc {
        let a = args.get(i).unwrap_or("");
        if let Some(s) = a.strip_prefix("only=") {
            only = s;
        } else if let Some(s) = a.strip_prefix("scale=") {
            scale = parse_num(s).unwrap_or(100).max(1);
        } else if let Some(s) = a.strip_prefix("budget=") {
            budget_ms = parse_num(s).unwrap_or(2000).max(1);
        } else if let Some(w) = parse_num(a).filter(|&w| (1..=MAX_WORKERS).contains(&w)) {
            if nw < workers.len() {
                workers[nw] = w;
                nw += 1;
            }
        } else {
            println!("bench-smp: unknown argument {}", a);
            return 2;
        }
    }
    if nw == 0 {
        workers[..2].copy_from_slice(&[1, 4]);
        nw = 2;
    }
    let budget = counter_hz() * budget_ms as u64 / 1000;
    let sh = shared_atomics();
    // Warm up (first faults of code, stack and data pages).
    for _ in 0..5 {
        let pid = spawn(|| 0);
        wait_exit_code(pid);
    }
    for &w in &workers[..nw] {
        run_all(sh, w, scale, budget, only);
    }
    0
}
