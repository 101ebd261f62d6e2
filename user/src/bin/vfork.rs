//! CLONE_VFORK: the parent sleeps until the child exits or execs; the child runs in the
//! parent's address space meanwhile (CLONE_VM), as posix_spawn relies on.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "vfork";

static STAGE: AtomicU64 = AtomicU64::new(0);

extern "C" fn slow_child(_: usize) -> i32 {
    STAGE.store(1, Ordering::SeqCst);
    nanosleep_ns(50_000_000);
    STAGE.store(2, Ordering::SeqCst);
    7
}

/// The child execs this very program (its path is argv[0]) with the argument "exit3".
extern "C" fn exec_child(self_path: usize) -> i32 {
    STAGE.store(3, Ordering::SeqCst);
    let arg = b"exit3\0";
    let argv = [self_path, arg.as_ptr() as usize, 0];
    syscall(SYS_EXECVE, &[self_path, argv.as_ptr() as usize, 0]);
    99 // only if execve failed
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    if args.get(1) == Some("exit3") {
        return 3; // the exec'd copy
    }
    let path = args.self_path();
    let flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
    let t0 = clock_ns();
    let tid = AtomicU32::new(0);
    let pid = clone_fn(flags, slow_child, 0, &tid);
    let waited = clock_ns() - t0;
    check!(T, pid > 0, "vfork gave {}", pid);
    check!(
        T,
        STAGE.load(Ordering::SeqCst) == 2,
        "the parent ran before the child exited"
    );
    check!(
        T,
        waited >= 50_000_000,
        "the parent did not sleep ({} ns)",
        waited
    );
    check!(T, wait_exit_code(pid) == 7, "child exit code");

    let pid = clone_fn(flags, exec_child, path.as_ptr() as usize, &tid);
    check!(
        T,
        pid > 0 && STAGE.load(Ordering::SeqCst) == 3,
        "vfork + execve"
    );
    check!(
        T,
        wait_exit_code(pid) == 3,
        "the exec'd program's exit code"
    );
    println!("{}: ok", T);
    0
}
