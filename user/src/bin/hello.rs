//! The demo `make run` boots: says hello, forks, and waits for its child.
#![no_std]
#![no_main]

use ulib::*;

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    println!("hello from user space: pid {}, tid {}", getpid(), gettid());
    let pid = fork();
    if pid == 0 {
        println!(
            "  child: fork() returned 0; my pid is {}, my parent is {}",
            getpid(),
            getppid()
        );
        exit(7);
    }
    let code = wait_exit_code(pid);
    println!(
        "  parent: fork() returned {}; the child exited with {}",
        pid, code
    );
    println!(
        "frames in use: {}; copy-on-write copies so far: {}",
        kstat(0),
        kstat(1)
    );
    0
}
