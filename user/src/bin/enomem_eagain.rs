//! Running out: too many tasks gives -EAGAIN, no memory for the child's page tables gives
//! -ENOMEM; in both cases nothing half-built is left behind.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "enomem_eagain";
const PAGE: usize = 4096;

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let Some(baseline) = kstat_opt(0) else {
        println!("{}: ok", T); // the limits are this kernel's (KSTAT); nothing to check on Linux
        return 0;
    };
    // -EAGAIN: children that block on a pipe until fork runs out of task ids.
    let fds = pipe();
    let mut n = 0;
    loop {
        let pid = fork();
        if pid == 0 {
            close(fds[1]); // only the parent holds the write end: its close is our EOF
            let mut b = [0u8; 1];
            read(fds[0], &mut b);
            exit(0);
        }
        if pid < 0 {
            check!(
                T,
                pid == -EAGAIN,
                "fork failed with {} instead of -EAGAIN",
                pid
            );
            break;
        }
        n += 1;
        check!(T, n < 10_000, "fork never failed");
    }
    check!(T, n > 10, "only {} tasks before -EAGAIN", n);
    close(fds[1]);
    for _ in 0..n {
        let (r, status) = wait4(-1, 0);
        check!(
            T,
            r > 0 && status == 0,
            "reap gave {} status {:#x}",
            r,
            status
        );
    }
    close(fds[0]);
    check!(
        T,
        frames_back_to(baseline),
        "frames after EAGAIN: {} -> {}",
        baseline,
        kstat(0)
    );

    // -ENOMEM: fill memory page by page until almost nothing is free, then fork.
    let free = kstat(3);
    let region = alloc_pages(free * PAGE);
    let mut touched = 0;
    while kstat(3) > 2 {
        // SAFETY: inside the mapping; each touch takes one frame (plus tables).
        unsafe { region.add(touched * PAGE).write_volatile(1) };
        touched += 1;
    }
    let r = fork();
    if r == 0 {
        exit(0);
    }
    check!(T, r == -ENOMEM, "fork with no free memory gave {}", r);
    check!(
        T,
        wait4(-1, WNOHANG).0 == -ECHILD,
        "no child exists after -ENOMEM"
    );
    check!(T, munmap(region as usize, free * PAGE) == 0, "munmap");
    let pid = spawn(|| 0);
    check!(
        T,
        pid > 0 && wait_exit_code(pid) == 0,
        "fork works again after freeing"
    );
    check!(
        T,
        frames_back_to(baseline),
        "frames after ENOMEM: {} -> {}",
        baseline,
        kstat(0)
    );
    println!("{}: ok", T);
    0
}
