//! wait4: zombies, WNOHANG, -ECHILD, a specific pid, kill status, NULL status, and
//! orphans reparented to init (pid 1).
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "wait_semantics";

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    check!(T, wait4(-1, 0).0 == -ECHILD, "no children: -ECHILD");
    check!(
        T,
        wait4(-1, WNOHANG).0 == -ECHILD,
        "no children with WNOHANG: -ECHILD"
    );

    let fds = pipe();
    let blocked = spawn(|| {
        let mut b = [0u8; 1];
        read(fds[0], &mut b);
        0
    });
    check!(
        T,
        wait4(blocked, WNOHANG).0 == 0,
        "WNOHANG on a running child returns 0"
    );
    check!(
        T,
        wait4(blocked + 1000, 0).0 == -ECHILD,
        "a pid that is not our child: -ECHILD"
    );

    // A zombie waits for us; its exit code is encoded as code << 8.
    let z = spawn(|| 42);
    nanosleep_ns(20_000_000);
    let (r, status) = wait4(z, 0);
    check!(
        T,
        r == z && status == 42 << 8,
        "zombie: r={} status={:#x}",
        r,
        status
    );
    check!(T, wait4(z, WNOHANG).0 == -ECHILD, "a reaped child is gone");

    write(fds[1], b"x");
    check!(
        T,
        syscall(SYS_WAIT4, &[blocked as usize, 0, 0, 0]) == blocked,
        "NULL status pointer"
    );
    check!(
        T,
        syscall(SYS_WAIT4, &[usize::MAX, 0, 0x100_0000, 0]) == -EINVAL,
        "unknown options: -EINVAL"
    );

    // Killed by a signal: the low 7 bits hold the signal.
    let k = spawn(|| {
        loop {
            nanosleep_ns(1_000_000_000);
        }
    });
    syscall(SYS_KILL, &[k as usize, SIGKILL]);
    let (r, status) = wait4(k, 0);
    check!(
        T,
        r == k && status == SIGKILL as i32,
        "killed: status {:#x}",
        status
    );

    // Orphans: the middle process exits, its child is reparented to init.
    let orphan_pid = shared_page();
    let middle = spawn(|| {
        let g = spawn(|| {
            nanosleep_ns(50_000_000);
            if getppid() == 1 { 0 } else { 1 }
        });
        orphan_pid[0] = g as u64;
        0
    });
    check!(T, wait_exit_code(middle) == 0, "middle process");
    if getpid() == 1 {
        let g = orphan_pid[0] as isize;
        let (r, status) = wait4(-1, 0);
        check!(T, r == g, "init reaps the orphan (got {})", r);
        check!(
            T,
            status == 0,
            "the orphan saw getppid() == 1 (status {:#x})",
            status
        );
    }
    println!("{}: ok", T);
    0
}
