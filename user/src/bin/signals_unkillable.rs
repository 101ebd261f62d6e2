//! Signals that must not end a process here: init (pid 1) ignores every signal it has
//! no handler for, SIGKILL included (Linux SIGNAL_UNKILLABLE), and the stop signals stop
//! a process (Linux) or are ignored (this kernel, until job control) — they never kill
//! it: after SIGCONT the child finishes its work and exits with its own status.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "signals_unkillable";
const SIGTERM: usize = 15;
const SIGCONT: usize = 18;
const SIGSTOP: usize = 19;
const SIGTSTP: usize = 20;
const SIGTTIN: usize = 21;
const SIGTTOU: usize = 22;

fn kill(pid: isize, sig: usize) -> isize {
    syscall(SYS_KILL, &[pid as usize, sig])
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // 1. Another process sends init the fatal signals: kill succeeds, init lives on.
    let pid = spawn(|| {
        for sig in [SIGKILL, SIGTERM, SIGSEGV] {
            if kill(1, sig) != 0 {
                return sig as i32;
            }
        }
        0
    });
    check!(T, pid > 0, "fork");
    let code = wait_exit_code(pid);
    check!(T, code == 0, "kill(1, {}) failed in the child", code);
    nanosleep_ns(10_000_000); // a fatal signal would have been acted on by now
    check!(T, getpid() > 0, "still here");

    // 2. Stop signals: the child is stopped (Linux) or not (here); SIGCONT; either way it
    //    finishes and exits with 7, never killed.
    let pid = spawn(|| {
        for _ in 0..10 {
            nanosleep_ns(20_000_000);
        }
        7
    });
    check!(T, pid > 0, "fork");
    nanosleep_ns(10_000_000);
    for sig in [SIGTSTP, SIGTTIN, SIGTTOU, SIGSTOP] {
        check!(T, kill(pid, sig) == 0, "kill(child, {})", sig);
    }
    nanosleep_ns(10_000_000);
    check!(T, kill(pid, SIGCONT) == 0, "kill(child, SIGCONT)");
    let (got, status) = wait4(pid, 0);
    check!(T, got == pid, "wait4 returned {}", got);
    check!(
        T,
        status == 7 << 8,
        "the child's wait status is {:#x}, want an exit with 7 (0x700)",
        status
    );
    println!("{}: ok", T);
    0
}
