//! clone3(2): struct clone_args from user memory, with its own validation: -EFAULT for a
//! bad pointer, -EINVAL for a short struct, unknown flags or a bad exit signal.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use ulib::*;

const T: &str = "clone3";
const KERNEL: usize = 0xffff_0000_4020_0000;

/// struct clone_args (include/uapi/linux/sched.h), CLONE_ARGS_SIZE_VER2 = 88 bytes.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

fn clone3(args: &CloneArgs, size: usize) -> isize {
    syscall(SYS_CLONE3, &[args as *const CloneArgs as usize, size])
}

static SEEN: AtomicU64 = AtomicU64::new(0);

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // A fork through clone3.
    let a = CloneArgs {
        exit_signal: SIGCHLD as u64,
        ..Default::default()
    };
    let pid = clone3(&a, 88);
    if pid == 0 {
        exit(12);
    }
    check!(T, pid > 0, "clone3 fork gave {}", pid);
    check!(T, wait_exit_code(pid) == 12, "clone3 child");
    // The older 64-byte struct is accepted too.
    let pid = clone3(&a, 64);
    if pid == 0 {
        exit(13);
    }
    check!(
        T,
        pid > 0 && wait_exit_code(pid) == 13,
        "clone3 with size 64"
    );

    // CLONE_VM with a stack given as (lowest address, size): the child writes our memory.
    let stack = new_stack() - 64 * 1024;
    let a = CloneArgs {
        flags: CLONE_VM as u64,
        exit_signal: SIGCHLD as u64,
        stack: stack as u64,
        stack_size: 64 * 1024,
        ..Default::default()
    };
    extern "C" fn mark(v: usize) -> i32 {
        SEEN.store(v as u64, Ordering::SeqCst);
        0
    }
    let pid = arch::clone3_fn(&a as *const CloneArgs as usize, 88, mark, 1);
    check!(
        T,
        pid > 0 && wait_exit_code(pid) == 0,
        "clone3 CLONE_VM child"
    );
    check!(
        T,
        SEEN.load(Ordering::SeqCst) == 1,
        "the CLONE_VM child's write is not visible"
    );

    // Errors.
    check!(
        T,
        syscall(SYS_CLONE3, &[KERNEL, 88]) == -EFAULT,
        "kernel pointer: -EFAULT"
    );
    check!(T, syscall(SYS_CLONE3, &[0, 88]) == -EFAULT, "NULL: -EFAULT");
    check!(T, clone3(&a, 8) == -EINVAL, "short struct: -EINVAL");
    let bad = CloneArgs {
        flags: 1 << 40,
        exit_signal: SIGCHLD as u64,
        ..Default::default()
    };
    check!(T, clone3(&bad, 88) == -EINVAL, "unknown flag: -EINVAL");
    let bad = CloneArgs {
        exit_signal: 65,
        ..Default::default()
    };
    check!(T, clone3(&bad, 88) == -EINVAL, "exit signal 65: -EINVAL");
    let bad = CloneArgs {
        flags: SIGCHLD as u64,
        ..Default::default()
    };
    check!(T, clone3(&bad, 88) == -EINVAL, "signal in flags: -EINVAL");
    let bad = CloneArgs {
        flags: (CLONE_THREAD | CLONE_VM) as u64,
        ..Default::default()
    };
    check!(
        T,
        clone3(&bad, 88) == -EINVAL,
        "THREAD without SIGHAND: -EINVAL"
    );
    let bad = CloneArgs {
        stack: stack as u64,
        exit_signal: SIGCHLD as u64,
        ..Default::default()
    };
    check!(
        T,
        clone3(&bad, 88) == -EINVAL,
        "stack without a size: -EINVAL"
    );
    check!(T, wait4(-1, WNOHANG).0 == -ECHILD, "no stray children");
    println!("{}: ok", T);
    0
}
