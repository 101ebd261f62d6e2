//! A pipe's other end closing while this end is about to sleep: a blocking read must see
//! EOF when the last writer exits, and a writer blocked on a full pipe must get EPIPE when
//! the last reader closes — however the close falls against the sleeper's own checks.
//! Thousands of rounds on four CPUs, each a fresh pipe and a child. (The ends are opened
//! and closed without the pipe's I/O lock: a close between a reader's "any writer left?"
//! and its going to sleep was once missed, and `cat f | wc -l` hung about one busybox
//! suite in ten.) A lost wakeup shows as the SIGALRM watchdog's message.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicUsize, Ordering};

use ulib::*;

const T: &str = "pipe_close_race";
const ROUNDS: usize = 1500;
const SYS_SETITIMER: usize = 103;
const SIGALRM: usize = 14;
const SIGPIPE: usize = 13;

/// Which case and round is running, for the watchdog's message.
static CASE: AtomicUsize = AtomicUsize::new(0);
static ROUND: AtomicUsize = AtomicUsize::new(0);

extern "C" fn watchdog(_: i32) {
    let case = ["a reader never saw EOF", "a writer never saw EPIPE"][CASE.load(Ordering::SeqCst)];
    println!(
        "{}: FAILED {} after its other end closed (round {}): a lost wakeup",
        T,
        case,
        ROUND.load(Ordering::SeqCst)
    );
    exit_group(1);
}

/// The watchdog fires `secs` from now (ITIMER_REAL); 0 disarms it.
fn arm(secs: usize) {
    let value = [0usize, 0, secs, 0]; // it_interval, it_value
    syscall(SYS_SETITIMER, &[0, value.as_ptr() as usize, 0]);
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    check!(
        T,
        sigaction(SIGALRM, watchdog as *const () as usize, 0, 0) == 0,
        "SIGALRM handler"
    );
    arm(60);

    // 1. The writer writes a little (0 to 3 small writes, as `cat a b c` does) and exits
    //    while the reader reads until EOF.
    CASE.store(0, Ordering::SeqCst);
    for round in 0..ROUNDS {
        ROUND.store(round, Ordering::SeqCst);
        let fds = pipe();
        let writes = round % 4;
        let pid = spawn(|| {
            close(fds[0]);
            for _ in 0..writes {
                write(fds[1], b"fifteen bytes!\n");
            }
            0
        });
        close(fds[1]);
        let (mut got, mut buf) = (0, [0u8; 64]);
        loop {
            let n = read(fds[0], &mut buf);
            check!(T, n >= 0, "read: {}", n);
            if n == 0 {
                break;
            }
            got += n as usize;
        }
        check!(
            T,
            got == 15 * writes,
            "round {}: {} bytes, want {}",
            round,
            got,
            15 * writes
        );
        check!(T, wait_exit_code(pid) == 0, "writer");
        close(fds[0]);
    }

    // 2. The writer fills the pipe and blocks; the reader closes its end (after reading
    //    nothing, or a little): the writer's write must end with EPIPE (SIGPIPE ignored).
    CASE.store(1, Ordering::SeqCst);
    check!(T, sigaction(SIGPIPE, 1, 0, 0) == 0, "ignore SIGPIPE"); // SIG_IGN, inherited
    let big = [b'x'; 70_000]; // more than the 64 KiB a pipe holds
    for round in 0..ROUNDS / 3 {
        ROUND.store(round, Ordering::SeqCst);
        let fds = pipe();
        let pid = spawn(|| {
            close(fds[0]);
            let n = write(fds[1], &big);
            // All of it cannot fit: a partial count or EPIPE, never a hang.
            if n == -EPIPE || (n > 0 && (n as usize) < big.len()) {
                0
            } else {
                1
            }
        });
        close(fds[1]);
        if round % 2 == 1 {
            let mut buf = [0u8; 100];
            read(fds[0], &mut buf);
        }
        close(fds[0]);
        check!(
            T,
            wait_exit_code(pid) == 0,
            "round {}: the writer's write did not end in EPIPE",
            round
        );
    }
    arm(0);
    println!("{}: ok", T);
    0
}
