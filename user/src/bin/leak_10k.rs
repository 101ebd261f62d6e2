//! 10,000 processes one after the other, in turn: fork + exit; fork + execve (this
//! program, which exits at once through exit_group); a thread created and joined; fork of
//! a child that starts a thread and calls exit_group while the thread still runs. After
//! each thousand, frames and kernel heap are exactly at their baseline.
//!   usage: leak_10k [N]    (N processes, default 10000; `leak_10k exec-child` is the
//!                           execve'd program)
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use ulib::*;

const T: &str = "leak_10k";
const STACK: usize = 64 * 1024;
/// The exit status of the execve'd program.
const EXEC_CODE: i32 = 42;
/// What the kind-3 child exits with (exit_group, its thread still alive).
const GROUP_CODE: i32 = 5;

extern "C" fn thread_returns(arg: usize) -> i32 {
    arg as i32
}

static NEVER: AtomicU32 = AtomicU32::new(0);

extern "C" fn thread_waits(_arg: usize) -> i32 {
    loop {
        futex_wait(&NEVER, 0, true);
    }
}

fn one(i: usize, path: &[u8; 128], stack_top: usize) {
    match i % 4 {
        0 => {
            let pid = fork();
            if pid == 0 {
                exit((i % 200) as i32);
            }
            check!(T, pid > 0, "process {}: fork failed with {}", i, pid);
            let code = wait_exit_code(pid);
            check!(
                T,
                code == (i % 200) as i32,
                "process {}: exit code {}",
                i,
                code
            );
        }
        1 => {
            let pid = fork();
            if pid == 0 {
                let argv = [path.as_ptr(), c"exec-child".as_ptr(), core::ptr::null()];
                let r = execve_slices(path.as_ptr(), &argv, &[core::ptr::null()]);
                exit_group(100 + (-r) as i32);
            }
            check!(T, pid > 0, "process {}: fork failed with {}", i, pid);
            let code = wait_exit_code(pid);
            check!(
                T,
                code == EXEC_CODE,
                "process {}: the execve'd program exited with {} (100 + errno: execve failed)",
                i,
                code
            );
        }
        2 => {
            let tid = AtomicU32::new(0);
            let flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
            let t = tid.as_ptr() as usize;
            let r = arch::clone_thread(flags, stack_top, t, 0, t, thread_returns, i);
            check!(T, r > 0, "thread {}: clone failed with {}", i, r);
            join(&tid);
        }
        _ => {
            let pid = fork();
            if pid == 0 {
                let tid = AtomicU32::new(0);
                let t = tid.as_ptr() as usize;
                let flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
                if arch::clone_thread(flags, stack_top, t, 0, t, thread_waits, 0) <= 0 {
                    exit_group(99);
                }
                while tid.load(Ordering::Acquire) == 0 {
                    sched_yield();
                }
                exit_group(GROUP_CODE);
            }
            check!(T, pid > 0, "process {}: fork failed with {}", i, pid);
            let code = wait_exit_code(pid);
            check!(
                T,
                code == GROUP_CODE,
                "process {}: exit_group with a live thread gave {}",
                i,
                code
            );
        }
    }
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    if args.get(1) == Some("exec-child") {
        return EXEC_CODE;
    }
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let path = args.self_path();
    // One stack for the threads of kinds 2 and 3: used by one thread at a time (a joined
    // thread is off it; the kind-3 child has its own copy of the address space).
    let stack = alloc_pages(STACK);
    check!(T, (stack as isize) > 0, "mmap of the thread stack");
    let stack_top = stack as usize + STACK;
    for i in 0..8 {
        one(i, &path, stack_top);
    }
    let baseline = mem_usage();
    let start = clock_ns();
    let mut lap = start;
    let mut slowest = 0;
    for i in 0..n {
        one(i, &path, stack_top);
        if (i + 1) % 1000 == 0 || i + 1 == n {
            let now = clock_ns();
            slowest = slowest.max(now - lap);
            lap = now;
            if let Err((frames, heap)) = check_baseline(baseline) {
                let (f0, h0) = baseline.unwrap();
                fail!(
                    T,
                    "after {} processes: frames {} (baseline {}), kernel heap {} bytes (baseline {})",
                    i + 1,
                    frames,
                    f0,
                    heap,
                    h0
                );
            }
        }
    }
    println!(
        "{}: {} processes in {} ms (slowest thousand {} ms), frames and heap at baseline after each thousand",
        T,
        n,
        (clock_ns() - start) / 1_000_000,
        slowest / 1_000_000
    );
    println!("{}: ok", T);
    0
}
