//! Every flag combination Linux's copy_process rejects gives -EINVAL here too, and bad
//! TID pointers behave as on Linux (legacy clone ignores a failed PARENT_SETTID write).
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "clone_einval";
const KERNEL: usize = 0xffff_0000_4020_0000;

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let rules: [(usize, &str); 8] = [
        (
            CLONE_THREAD | CLONE_VM,
            "CLONE_THREAD without CLONE_SIGHAND",
        ),
        (CLONE_SIGHAND, "CLONE_SIGHAND without CLONE_VM"),
        (
            CLONE_SIGHAND | CLONE_THREAD,
            "CLONE_SIGHAND|CLONE_THREAD without CLONE_VM",
        ),
        (CLONE_NEWNS | CLONE_FS, "CLONE_NEWNS with CLONE_FS"),
        (CLONE_NEWUSER | CLONE_FS, "CLONE_NEWUSER with CLONE_FS"),
        (
            CLONE_PIDFD | CLONE_DETACHED,
            "CLONE_PIDFD with CLONE_DETACHED",
        ),
        (
            CLONE_PIDFD | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM,
            "CLONE_PIDFD with CLONE_THREAD",
        ),
        (
            CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWPID,
            "CLONE_THREAD with CLONE_NEWPID",
        ),
    ];
    for (flags, rule) in rules {
        let r = clone(flags | SIGCHLD, 0, 0, 0, 0);
        if r == 0 {
            exit(100); // a child must never exist for these
        }
        check!(T, r == -EINVAL, "{}: got {}", rule, r);
    }
    let mut pidfd = 0u32;
    let r = clone(
        CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD,
        0,
        &mut pidfd as *mut u32 as usize,
        0,
        0,
    );
    check!(
        T,
        r == -EINVAL,
        "CLONE_PIDFD with CLONE_PARENT_SETTID: got {}",
        r
    );
    // CLONE_PARENT from init is refused (init's siblings would have no reaper).
    if getpid() == 1 {
        check!(
            T,
            clone(CLONE_PARENT | SIGCHLD, 0, 0, 0, 0) == -EINVAL,
            "CLONE_PARENT from init"
        );
    }
    check!(
        T,
        wait4(-1, WNOHANG).0 == -ECHILD,
        "no child was created by a rejected clone"
    );

    // Legacy clone ignores a PARENT_SETTID write that faults.
    let pid = clone(CLONE_PARENT_SETTID | SIGCHLD, 0, KERNEL, 0, 0);
    if pid == 0 {
        exit(4);
    }
    check!(T, pid > 0, "clone with a bad parent_tid gave {}", pid);
    check!(T, wait_exit_code(pid) == 4, "that child ran");
    // A bad CHILD_SETTID pointer: the child's write fails silently, the child runs.
    let pid = clone(CLONE_CHILD_SETTID | SIGCHLD, 0, 0, 0, 0x10);
    if pid == 0 {
        exit(5);
    }
    check!(
        T,
        pid > 0 && wait_exit_code(pid) == 5,
        "clone with a bad child_tid"
    );
    // Unknown flags are ignored by legacy clone.
    let pid = clone((1 << 40) | SIGCHLD, 0, 0, 0, 0);
    if pid == 0 {
        exit(6);
    }
    check!(
        T,
        pid > 0 && wait_exit_code(pid) == 6,
        "clone with unknown high bits gave {}",
        pid
    );
    println!("{}: ok", T);
    0
}
