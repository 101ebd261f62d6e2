//! Many processes and threads forking at once: 6 children, each with 2 threads that fork
//! grandchildren while the process itself does too. Everything is reaped, nothing leaks.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, Ordering};

use ulib::*;

const T: &str = "fork_many";

extern "C" fn thread_body(seed: usize) -> i32 {
    let mut bad = 0;
    for k in 0..3 {
        let pid = fork();
        if pid == 0 {
            let p = alloc_pages(4096);
            // SAFETY: fresh private page.
            unsafe { p.write_volatile((seed + k) as u8) };
            exit((seed + k) as i32 % 100);
        }
        // Threads share the process's children: wait for this exact one.
        if pid < 0 || wait_exit_code(pid) != (seed + k) as i32 % 100 {
            bad += 1;
        }
    }
    bad
}

fn child_process(n: usize) -> i32 {
    let tids = [AtomicU32::new(0), AtomicU32::new(0)];
    let flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    for (i, t) in tids.iter().enumerate() {
        if clone_fn(flags, thread_body, n * 10 + i, t) <= 0 {
            return 1;
        }
    }
    let mine = thread_body(n * 10 + 5);
    for t in &tids {
        join(t);
    }
    mine
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let baseline = kstat_opt(0);
    let mut pids = [0isize; 6];
    for (n, p) in pids.iter_mut().enumerate() {
        *p = spawn(|| child_process(n));
        check!(T, *p > 0, "fork {}", n);
    }
    for p in pids {
        let code = wait_exit_code(p);
        check!(T, code == 0, "child {} reported {}", p, code);
    }
    check!(T, wait4(-1, 0).0 == -ECHILD, "everything reaped");
    if let Some(b) = baseline {
        check!(
            T,
            frames_back_to(b),
            "frames: {} before, {} after",
            b,
            kstat(0)
        );
    }
    println!("{}: ok", T);
    let _ = Ordering::SeqCst;
    0
}
