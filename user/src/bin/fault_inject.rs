//! Allocation failures on every allocation of an operation, one at a time, through this
//! kernel's test hook fault_inject(kind, nth) (system call 1001: the nth allocation of
//! `kind` from now on, system-wide, fails once; nth = 0 disarms and returns 1 if it did).
//! For each operation and each kind (0 any page frame, 1 page-table frames, 2 kernel heap),
//! nth walks 1, 2, 3, ... until an iteration completes without the failure firing; each
//! iteration must end in success or in the right error, with nothing left behind: no
//! child, and frames and heap exactly at their baseline.
//!
//! Each iteration runs in a fresh child (the runner), which arms, runs the operation and
//! disarms in one stretch of assembly that touches no memory of its own, so the only
//! allocations counted are the operation's (and, for the execve, the new program's start
//! up to its first system call; for the mmap, the faults of the touches). What is accepted:
//!   fork (+ the child's exit + wait4), thread (clone + exit + join by CLONE_CHILD_CLEARTID):
//!       success, or -ENOMEM / -EAGAIN.
//!   execve (of this program, which disarms and exits with 100 + fired): success; -ENOMEM;
//!       or, if the failure came after the point of no return, death by SIGSEGV (Linux's
//!       execve: force_fatal_sig(SIGSEGV)); or SIGKILL if a page fault of the new program
//!       met the failure and the OOM killer took it (the largest process that isn't init).
//!   mmap of 16 pages (at a hint far from everything else, so that the faults need new
//!       page tables) + a write to each + munmap: success; -ENOMEM from mmap; or SIGKILL
//!       (OOM killer) for a failed page fault. Linux 6.1 retries such a fault (arm64
//!       do_page_fault: VM_FAULT_OOM -> pagefault_out_of_memory(), which no longer kills),
//!       which is a success here too. Never SIGSEGV or SIGBUS: Linux raises those for bad
//!       addresses and I/O errors, never for a lack of memory.
//!   pipe2(O_NONBLOCK) + write of 64 KiB (Linux's default pipe size) + reading it back:
//!       success; -ENOMEM, -ENFILE (Linux's pipe2 when the pipe inode can't be had) or
//!       -EMFILE from pipe2; a short write or -ENOMEM from the write.
//! A failure that fired inside a successful operation (it was retried, or was optional)
//! counts as "absorbed". The number of allocations walked per operation and kind is the
//! number of allocation sites covered.
//!
//! On Linux (no KSTAT, no fault_inject) it checks that 1001 gives -ENOSYS and runs each
//! operation once without injection.
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::AtomicU64;
use core::sync::atomic::Ordering::{Acquire, Relaxed};

use ulib::*;

const T: &str = "fault_inject";
const PAGE: usize = 4096;
const PIPE_BYTES: usize = 64 * 1024;
/// An iteration that takes longer than this is a hang.
const ITERATION_NS: u64 = 10_000_000_000;
/// More failures than this in one operation is a loop that never ends.
const MAX_N: usize = 5000;
/// The exec'd program's exit status: EXEC_BASE + fired.
const EXEC_BASE: i32 = 100;

// Words of the page shared between the test and the runner.
const R1: usize = 0; // the operation's first result
const R2: usize = 1; // its second result
const FIRED: usize = 2; // what the runner's disarm returned (if it got there)
const DISARMED: usize = 3; // 1 once the runner has disarmed
const STATUS: usize = 4; // wait4's status word (fork)
const TID: usize = 5; // PARENT_SETTID / CHILD_CLEARTID word (thread)
const FDS: usize = 6; // pipe2's two descriptors
const BAD: usize = 7; // the runner's own check failed (which)

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Fork,
    Thread,
    Execve,
    Mmap,
    Pipe,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Fork => "fork",
            Op::Thread => "thread",
            Op::Execve => "execve",
            Op::Mmap => "mmap",
            Op::Pipe => "pipe",
        }
    }
}

const KIND_NAMES: [&str; 3] = ["frame", "page-table", "heap"];

fn word(sh: &[AtomicU64; 512], i: usize) -> *mut u64 {
    sh[i].as_ptr()
}

/// The runner: arms (kind, n) — n = 0 runs the operation without arming —, runs `op`,
/// disarms, records the results in the shared page and exits 0 (or, for a successful
/// execve, the new program exits with EXEC_BASE + fired).
fn runner(op: Op, kind: usize, n: usize, sh: &'static [AtomicU64; 512], path: &[u8; 128]) -> i32 {
    // Everything the kernel will write during the operation is in the shared page, and
    // everything it reads is in memory this process has written: no COW or demand fault
    // of our own inside the window.
    for w in sh.iter().take(16) {
        w.store(0, Relaxed);
    }
    let (r1, r2, fired): (isize, isize, isize);
    match op {
        Op::Fork => {
            // SAFETY: system calls only; the child exits at once without touching memory.
            unsafe {
                asm!(
                    "mov x0, {kind}", "mov x1, {n}", "mov x8, #1001", "svc #0",
                    "mov x0, #17", "mov x1, #0", "mov x2, #0", "mov x3, #0", "mov x4, #0",
                    "mov x8, #220", "svc #0",       // clone(SIGCHLD, 0, 0, 0, 0)
                    "cbnz x0, 1f",
                    "mov x8, #93", "svc #0",        // the child: exit(0)
                    "1: mov {r1}, x0",
                    "mov {r2}, #0",
                    "cmp x0, #0",
                    "b.le 2f",
                    "mov x1, {status}", "mov x2, #0", "mov x3, #0",
                    "mov x8, #260", "svc #0",       // wait4(pid, &status, 0, NULL)
                    "mov {r2}, x0",
                    "2: mov x0, {kind}", "mov x1, #0", "mov x8, #1001", "svc #0",
                    "mov {fired}, x0",
                    kind = in(reg) kind, n = in(reg) n, status = in(reg) word(sh, STATUS),
                    r1 = out(reg) r1, r2 = out(reg) r2, fired = out(reg) fired,
                    out("x0") _, out("x1") _, out("x2") _, out("x3") _, out("x4") _,
                    out("x8") _, options(nostack)
                );
            }
        }
        Op::Thread => {
            let stack = alloc_pages(16 * PAGE);
            if (stack as isize) < 0 {
                return 2;
            }
            let flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
            // SAFETY: system calls only; the thread exits at once without touching memory;
            // the tid word is in the shared page (a shared futex, as the kernel's wake).
            unsafe {
                asm!(
                    "mov x0, {kind}", "mov x1, {n}", "mov x8, #1001", "svc #0",
                    "mov x0, {flags}", "mov x1, {stack}", "mov x2, {tid}", "mov x3, #0",
                    "mov x4, {tid}", "mov x8, #220", "svc #0",
                    "cbnz x0, 1f",
                    "mov x8, #93", "svc #0",        // the thread: exit(0)
                    "1: mov {r1}, x0",
                    "cmp x0, #0",
                    "b.le 3f",
                    "2: ldr w2, [{tid}]",           // join: wait for CHILD_CLEARTID
                    "cbz w2, 3f",
                    "mov x0, {tid}", "mov x1, #0", "mov x3, #0",
                    "mov x8, #98", "svc #0",        // futex(tid, FUTEX_WAIT, w2, NULL)
                    "b 2b",
                    "3: mov x0, {kind}", "mov x1, #0", "mov x8, #1001", "svc #0",
                    "mov {fired}, x0",
                    kind = in(reg) kind, n = in(reg) n, flags = in(reg) flags,
                    stack = in(reg) stack as usize + 16 * PAGE, tid = in(reg) word(sh, TID),
                    r1 = out(reg) r1, fired = out(reg) fired,
                    out("x0") _, out("x1") _, out("x2") _, out("x3") _, out("x4") _,
                    out("x8") _, options(nostack)
                );
            }
            r2 = 0;
        }
        Op::Execve => {
            let mut arg1 = *b"exec-child\0";
            let mut arg2 = [b'0' + kind as u8, 0];
            let mut path = *path;
            let argv = [
                path.as_mut_ptr(),
                arg1.as_mut_ptr(),
                arg2.as_mut_ptr(),
                core::ptr::null_mut(),
            ];
            let envp = [core::ptr::null_mut::<u8>()];
            // SAFETY: system calls only; on success this process is replaced.
            unsafe {
                asm!(
                    "mov x0, {kind}", "mov x1, {n}", "mov x8, #1001", "svc #0",
                    "mov x0, {path}", "mov x1, {argv}", "mov x2, {envp}",
                    "mov x8, #221", "svc #0",       // execve(path, argv, envp)
                    "mov {r1}, x0",
                    "mov x0, {kind}", "mov x1, #0", "mov x8, #1001", "svc #0",
                    "mov {fired}, x0",
                    kind = in(reg) kind, n = in(reg) n, path = in(reg) path.as_ptr(),
                    argv = in(reg) argv.as_ptr(), envp = in(reg) envp.as_ptr(),
                    r1 = out(reg) r1, fired = out(reg) fired,
                    out("x0") _, out("x1") _, out("x2") _, out("x8") _, options(nostack)
                );
            }
            r2 = 0;
        }
        Op::Mmap => {
            // SAFETY: system calls, and stores into the mapping that mmap just returned.
            unsafe {
                asm!(
                    "mov x0, {kind}", "mov x1, {n}", "mov x8, #1001", "svc #0",
                    "mov x0, #0x5000000000", "mov x1, #0x10000", "mov x2, #3", "mov x3, #0x22",
                    "mov x4, #-1", "mov x5, #0", "mov x8, #222", "svc #0",
                    "mov {r1}, x0",
                    "mov {r2}, #0",
                    "tbnz x0, #63, 3f",             // mmap failed
                    "mov x9, #16",
                    "2: strb w9, [x0]",
                    "add x0, x0, #4096",
                    "subs x9, x9, #1",
                    "b.ne 2b",
                    "mov x0, {r1}", "mov x1, #0x10000", "mov x8, #215", "svc #0",
                    "mov {r2}, x0",                 // munmap's result
                    "3: mov x0, {kind}", "mov x1, #0", "mov x8, #1001", "svc #0",
                    "mov {fired}, x0",
                    kind = in(reg) kind, n = in(reg) n,
                    r1 = out(reg) r1, r2 = out(reg) r2, fired = out(reg) fired,
                    out("x0") _, out("x1") _, out("x2") _, out("x3") _, out("x4") _,
                    out("x5") _, out("x8") _, out("x9") _, options(nostack)
                );
            }
        }
        Op::Pipe => {
            let buf = alloc_pages(PIPE_BYTES);
            if (buf as isize) < 0 {
                return 2;
            }
            // SAFETY: a fresh private mapping of PIPE_BYTES.
            unsafe { (0..PIPE_BYTES).for_each(|i| buf.add(i).write_volatile(i as u8 ^ 0x5a)) };
            // SAFETY: system calls only.
            unsafe {
                asm!(
                    "mov x0, {kind}", "mov x1, {n}", "mov x8, #1001", "svc #0",
                    "mov x0, {fds}", "mov x1, #0x800", "mov x8, #59", "svc #0",
                    "mov {r1}, x0",                 // pipe2(fds, O_NONBLOCK)
                    "mov {r2}, #0",
                    "cbnz x0, 3f",
                    "ldr w0, [{fds}, #4]", "mov x1, {buf}", "mov x2, #0x10000",
                    "mov x8, #64", "svc #0",        // write(fds[1], buf, 64 KiB)
                    "mov {r2}, x0",
                    "3: mov x0, {kind}", "mov x1, #0", "mov x8, #1001", "svc #0",
                    "mov {fired}, x0",
                    kind = in(reg) kind, n = in(reg) n, fds = in(reg) word(sh, FDS),
                    buf = in(reg) buf,
                    r1 = out(reg) r1, r2 = out(reg) r2, fired = out(reg) fired,
                    out("x0") _, out("x1") _, out("x2") _, out("x8") _, options(nostack)
                );
            }
            if r1 == 0 {
                // Read back what was written: every byte, in order, nothing more.
                // SAFETY: the shared page's FDS word holds the two i32 descriptors.
                let fds = unsafe { *(word(sh, FDS) as *const [i32; 2]) };
                let mut got = [0u8; 4096];
                let mut at = 0usize;
                let written = r2.max(0) as usize;
                loop {
                    let k = read(fds[0], &mut got);
                    if k <= 0 {
                        break;
                    }
                    for (j, &b) in got[..k as usize].iter().enumerate() {
                        if b != (at + j) as u8 ^ 0x5a {
                            sh[BAD].store(1, Relaxed);
                        }
                    }
                    at += k as usize;
                    if at >= written {
                        break;
                    }
                }
                if at != written {
                    sh[BAD].store(2, Relaxed);
                }
                close(fds[0]);
                close(fds[1]);
            }
        }
    }
    sh[R1].store(r1 as u64, Relaxed);
    sh[R2].store(r2 as u64, Relaxed);
    sh[FIRED].store(fired as u64, Relaxed);
    sh[DISARMED].store(1, Relaxed);
    0
}

/// How one iteration ended: whether the injected failure fired, and what it became.
struct Outcome {
    fired: bool,
    how: usize,
}

/// What a failure became (Outcome::how).
const HOW: [&str; 7] = [
    "absorbed",
    "ENOMEM",
    "EAGAIN",
    "ENFILE/EMFILE",
    "short write",
    "SIGSEGV",
    "SIGKILL",
];
const ABSORBED: usize = 0;
const HOW_ENOMEM: usize = 1;
const HOW_EAGAIN: usize = 2;
const HOW_ENFILE: usize = 3;
const HOW_SHORT: usize = 4;
const HOW_SIGSEGV: usize = 5;
const HOW_SIGKILL: usize = 6;

/// Runs one iteration in a runner and checks it; Err(why) if it ended wrongly.
fn iteration(
    op: Op,
    kind: usize,
    n: usize,
    sh: &'static [AtomicU64; 512],
    path: &[u8; 128],
) -> Result<Outcome, &'static str> {
    let pid = fork();
    if pid == 0 {
        exit_group(runner(op, kind, n, sh, path));
    }
    if pid < 0 {
        return Err("fork of the runner failed");
    }
    let start = clock_ns();
    let status = loop {
        let (r, status) = wait4(pid, WNOHANG);
        if r == pid {
            break status;
        }
        if r != 0 {
            return Err("wait4 for the runner failed");
        }
        if clock_ns() - start > ITERATION_NS {
            kill(pid, SIGKILL);
            wait4(pid, 0);
            return Err("the operation did not finish within 10 s");
        }
        nanosleep_ns(200_000);
    };
    // The runner disarmed and recorded what it saw, unless the operation ended it.
    let runner_disarmed = sh[DISARMED].load(Acquire) == 1;
    let fired = if runner_disarmed {
        sh[FIRED].load(Relaxed) == 1
    } else {
        fault_inject(kind, 0) == 1
    };
    // Nothing may be left behind: no child of the runner (it would be ours now).
    if wait4(-1, WNOHANG | WALL).0 != -ECHILD {
        return Err("a child of the runner was left behind");
    }
    let (r1, r2) = (sh[R1].load(Relaxed) as isize, sh[R2].load(Relaxed) as isize);
    let exited0 = status == 0 && runner_disarmed;
    let killed = |sig: usize| status == sig as i32 && !runner_disarmed;
    let how = match op {
        Op::Fork => {
            if !exited0 {
                return Err("the runner did not exit normally");
            }
            if r1 > 0 {
                if r2 != r1 || sh[STATUS].load(Relaxed) as u32 != 0 {
                    return Err("fork succeeded but wait4 did not reap the child's exit(0)");
                }
                ABSORBED
            } else if r1 == -ENOMEM {
                HOW_ENOMEM
            } else if r1 == -EAGAIN {
                HOW_EAGAIN
            } else {
                return Err("fork failed with an errno other than ENOMEM/EAGAIN");
            }
        }
        Op::Thread => {
            if !exited0 {
                return Err("the runner did not exit normally");
            }
            if r1 > 0 {
                ABSORBED
            } else if r1 == -ENOMEM {
                HOW_ENOMEM
            } else if r1 == -EAGAIN {
                HOW_EAGAIN
            } else {
                return Err("clone of a thread failed with an errno other than ENOMEM/EAGAIN");
            }
        }
        Op::Execve => {
            if let Some(code) = status_exit_code(status)
                && !runner_disarmed
                && (code == EXEC_BASE || code == EXEC_BASE + 1)
            {
                // The new program ran and disarmed: its own answer counts.
                return Ok(Outcome {
                    fired: code == EXEC_BASE + 1,
                    how: ABSORBED,
                });
            }
            if exited0 {
                if r1 != -ENOMEM {
                    return Err("execve failed with an errno other than ENOMEM");
                }
                HOW_ENOMEM
            } else if killed(SIGSEGV) {
                HOW_SIGSEGV
            } else if killed(SIGKILL) {
                HOW_SIGKILL
            } else {
                return Err("the execve'd process ended other than by exit, SIGSEGV or SIGKILL");
            }
        }
        Op::Mmap => {
            if exited0 {
                if r1 >= 0 {
                    if r2 != 0 {
                        return Err("munmap failed");
                    }
                    ABSORBED
                } else if r1 == -ENOMEM {
                    HOW_ENOMEM
                } else {
                    return Err("mmap failed with an errno other than ENOMEM");
                }
            } else if killed(SIGKILL) {
                HOW_SIGKILL
            } else {
                return Err("the runner ended other than by exit or SIGKILL (OOM)");
            }
        }
        Op::Pipe => {
            if !exited0 {
                return Err("the runner did not exit normally");
            }
            if sh[BAD].load(Relaxed) != 0 {
                return Err("what was read back from the pipe is not what was written");
            }
            if r1 == 0 {
                if r2 == PIPE_BYTES as isize {
                    ABSORBED
                } else if r2 == -ENOMEM {
                    HOW_ENOMEM
                } else if (0..PIPE_BYTES as isize).contains(&r2) {
                    HOW_SHORT
                } else {
                    return Err("write of 64 KiB into an empty pipe: not 64 KiB, short, or ENOMEM");
                }
            } else if r1 == -ENOMEM {
                HOW_ENOMEM
            } else if r1 == -ENFILE || r1 == -EMFILE {
                HOW_ENFILE
            } else {
                return Err("pipe2 failed with an errno other than ENOMEM/ENFILE/EMFILE");
            }
        }
    };
    // A failure is only allowed if the injected failure is what made it fail.
    if how != ABSORBED && !fired {
        return Err("the operation failed but the injected failure did not fire");
    }
    Ok(Outcome { fired, how })
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    if args.get(1) == Some("exec-child") {
        let kind = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0);
        return EXEC_BASE + (fault_inject(kind, 0) == 1) as i32;
    }
    let path = args.self_path();
    let sh = shared_atomics();
    let ops = [Op::Fork, Op::Thread, Op::Execve, Op::Mmap, Op::Pipe];
    let linux = kstat_opt(KSTAT_FRAMES).is_none();
    let r = fault_inject(FAULT_FRAME, 0);
    if linux {
        check!(
            T,
            r == -ENOSYS,
            "fault_inject on Linux gave {}, not -ENOSYS",
            r
        );
    } else {
        check!(
            T,
            r != -ENOSYS,
            "this kernel was built without fault injection (fault_inject gave -ENOSYS)"
        );
        check!(T, r == 0 || r == 1, "fault_inject(0, 0) gave {}", r);
    }
    if linux {
        // All there is to do on Linux: each operation once, without injection.
        for &op in &ops {
            if let Err(why) = iteration(op, 0, 0, sh, &path) {
                fail!(T, "{} without injection: {}", op.name(), why);
            }
        }
        println!(
            "{}: Linux: fault_inject is -ENOSYS; each operation ran once",
            T
        );
        println!("{}: ok", T);
        return 0;
    }
    let mut total = 0;
    for &op in &ops {
        // Twice without injection (warm-up), then the baseline for this operation.
        for _ in 0..2 {
            match iteration(op, 0, 0, sh, &path) {
                Ok(o) if !o.fired => {}
                Ok(_) => fail!(T, "{} without injection: a failure fired", op.name()),
                Err(why) => fail!(T, "{} without injection: {}", op.name(), why),
            }
        }
        let baseline = mem_usage();
        let mut sites = [0usize; 3];
        let mut hows = [0usize; HOW.len()];
        for (kind, covered) in sites.iter_mut().enumerate() {
            let mut n = 1;
            loop {
                let o = match iteration(op, kind, n, sh, &path) {
                    Ok(o) => o,
                    Err(why) => fail!(
                        T,
                        "{}, {} allocation {} failing: {}",
                        op.name(),
                        KIND_NAMES[kind],
                        n,
                        why
                    ),
                };
                if let Err((frames, heap)) = check_baseline(baseline) {
                    let (f0, h0) = baseline.unwrap();
                    fail!(
                        T,
                        "{}, {} allocation {} failing: frames {} (baseline {}), kernel heap {} bytes (baseline {})",
                        op.name(),
                        KIND_NAMES[kind],
                        n,
                        frames,
                        f0,
                        heap,
                        h0
                    );
                }
                if !o.fired {
                    break;
                }
                hows[o.how] += 1;
                *covered += 1;
                n += 1;
                check!(
                    T,
                    n <= MAX_N,
                    "{}: {} {} allocations failed and it still allocates",
                    op.name(),
                    MAX_N,
                    KIND_NAMES[kind]
                );
            }
        }
        total += sites.iter().sum::<usize>();
        let mut line = Out::new(1);
        {
            use core::fmt::Write;
            let _ = write!(
                line,
                "{}: {}: {} frame, {} page-table, {} heap allocation sites failed in turn; they became:",
                T,
                op.name(),
                sites[0],
                sites[1],
                sites[2]
            );
            for (k, &c) in hows.iter().enumerate().filter(|(_, c)| **c > 0) {
                let _ = write!(line, " {} {}", c, HOW[k]);
            }
            let _ = writeln!(line);
        }
        line.flush();
    }
    println!("{}: {} allocation sites covered", T, total);
    println!("{}: ok", T);
    0
}
