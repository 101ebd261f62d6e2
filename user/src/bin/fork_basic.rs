//! fork() returns the child's pid in the parent and 0 in the child; the child's parent is
//! the caller; wait4 reports the child's exit code.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "fork_basic";

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let results = shared_page();
    let me = getpid();
    let pid = fork();
    if pid == 0 {
        results[0] = getpid() as u64;
        results[1] = getppid() as u64;
        results[2] = 1;
        exit(42);
    }
    check!(T, pid > 0, "fork returned {}", pid);
    check!(T, wait_exit_code(pid) == 42, "child's exit code");
    check!(T, results[2] == 1, "the child ran");
    check!(
        T,
        results[0] == pid as u64,
        "the child's getpid() is the pid fork returned"
    );
    check!(
        T,
        results[1] == me as u64,
        "the child's getppid() is the parent"
    );
    check!(T, getpid() == me, "the parent is unchanged");
    println!("{}: ok", T);
    0
}
