//! Signal delivery at the level of the raw arm64 ABI, without a libc: a handler
//! installed with SA_SIGINFO | SA_RESTORER (ulib's `__restore_rt`, as musl does) gets
//! x0 = signo, x1 = &siginfo, x2 = &ucontext; the mask while it runs; a handler that
//! moves the saved pc past a faulting store; SA_RESTART on a blocking pipe read, EINTR
//! without it; a child stopped and continued, seen through wait4 WUNTRACED/WCONTINUED.
//! (The libc-level suite is in user/c/tests/sig_*.c.) Passes on the Linux oracle too.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use ulib::*;

const T: &str = "sig_raw";
const SIGUSR1: usize = 10;
const SIGUSR2: usize = 12;
const SIGCONT: usize = 18;
const SYS_RT_SIGPROCMASK: usize = 135;
const SYS_TGKILL: usize = 131;
const EINTR: isize = -4;

/// What the handlers saw, for main to check.
static SEEN_SIGNO: AtomicU64 = AtomicU64::new(0);
static SEEN_CODE: AtomicU64 = AtomicU64::new(0);
static SEEN_PID: AtomicU64 = AtomicU64::new(0);
static SEEN_MASK: AtomicU64 = AtomicU64::new(0);
static SEEN_FAULT: AtomicU64 = AtomicU64::new(0);
static CALLS: AtomicU64 = AtomicU64::new(0);

fn blocked_mask() -> u64 {
    let mut old = 0u64;
    syscall(
        SYS_RT_SIGPROCMASK,
        &[0, 0, &mut old as *mut u64 as usize, 8],
    );
    old
}

extern "C" fn on_usr1(sig: usize, info: *const u32, _uc: *const u8) {
    // SAFETY: the kernel passes a 128-byte siginfo (SA_SIGINFO).
    let (code, pid) = unsafe { (*info.add(2), *info.add(4)) };
    SEEN_SIGNO.store(sig as u64, Ordering::Relaxed);
    SEEN_CODE.store(code as u64, Ordering::Relaxed);
    SEEN_PID.store(pid as u64, Ordering::Relaxed);
    SEEN_MASK.store(blocked_mask(), Ordering::Relaxed);
    CALLS.fetch_add(1, Ordering::Relaxed);
}

/// SIGSEGV: record si_addr, then step the saved pc over the faulting instruction
/// (uc_mcontext.pc is at offset 0x1b8 of the ucontext: 0x238 of the frame - 0x80).
extern "C" fn on_segv(_sig: usize, info: *const u64, uc: *mut u64) {
    // SAFETY: siginfo and ucontext as the kernel laid them out.
    unsafe {
        SEEN_FAULT.store(*info.add(2), Ordering::Relaxed);
        let pc = uc.add(0x1b8 / 8);
        *pc += 4;
    }
}

extern "C" fn on_usr2(_sig: usize) {
    CALLS.fetch_add(1, Ordering::Relaxed);
}

fn sigmask(sig: usize) -> u64 {
    1 << (sig - 1)
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // 1. A handler with siginfo; the mask inside it.
    check!(
        T,
        sigaction(
            SIGUSR1,
            on_usr1 as *const () as usize,
            SA_SIGINFO,
            sigmask(SIGUSR2)
        ) == 0,
        "sigaction"
    );
    check!(T, kill(getpid(), SIGUSR1) == 0, "kill");
    check!(
        T,
        CALLS.load(Ordering::Relaxed) == 1,
        "handler ran once, not {}",
        CALLS.load(Ordering::Relaxed)
    );
    check!(
        T,
        SEEN_SIGNO.load(Ordering::Relaxed) == SIGUSR1 as u64,
        "signo"
    );
    check!(
        T,
        SEEN_CODE.load(Ordering::Relaxed) == 0,
        "si_code SI_USER, not {}",
        SEEN_CODE.load(Ordering::Relaxed)
    );
    check!(
        T,
        SEEN_PID.load(Ordering::Relaxed) == getpid() as u64,
        "si_pid"
    );
    check!(
        T,
        SEEN_MASK.load(Ordering::Relaxed) == sigmask(SIGUSR1) | sigmask(SIGUSR2),
        "mask in the handler {:#x}",
        SEEN_MASK.load(Ordering::Relaxed)
    );
    check!(
        T,
        blocked_mask() == 0,
        "mask restored after the handler: {:#x}",
        blocked_mask()
    );
    let tid = gettid() as usize;
    check!(
        T,
        syscall(SYS_TGKILL, &[getpid() as usize, tid, SIGUSR1]) == 0,
        "tgkill"
    );
    check!(
        T,
        SEEN_CODE.load(Ordering::Relaxed) as i32 == -6,
        "si_code SI_TKILL"
    );

    // 2. A fault handled by moving pc on.
    check!(
        T,
        sigaction(SIGSEGV, on_segv as *const () as usize, SA_SIGINFO, 0) == 0,
        "sigaction SEGV"
    );
    // SAFETY: deliberately faults; the handler skips the store.
    unsafe { core::ptr::write_volatile(0x10 as *mut u64, 1) };
    check!(
        T,
        SEEN_FAULT.load(Ordering::Relaxed) == 0x10,
        "si_addr {:#x}",
        SEEN_FAULT.load(Ordering::Relaxed)
    );

    // 3. A blocking read interrupted: EINTR without SA_RESTART, the data with it.
    for restart in [false, true] {
        let p = pipe();
        CALLS.store(0, Ordering::Relaxed);
        let flags = if restart { SA_RESTART } else { 0 };
        check!(
            T,
            sigaction(SIGUSR2, on_usr2 as *const () as usize, flags, 0) == 0,
            "sigaction USR2"
        );
        let parent = getpid();
        let child = spawn(move || {
            nanosleep_ns(50_000_000);
            kill(parent, SIGUSR2);
            nanosleep_ns(50_000_000);
            write(p[1], b"x");
            0
        });
        let mut b = [0u8; 1];
        let r = read(p[0], &mut b);
        check!(
            T,
            CALLS.load(Ordering::Relaxed) == 1,
            "handler ran during the read"
        );
        if restart {
            check!(
                T,
                r == 1 && b[0] == b'x',
                "SA_RESTART: read restarted and returned {}",
                r
            );
        } else {
            check!(
                T,
                r == EINTR,
                "no SA_RESTART: read returned {} (want EINTR)",
                r
            );
        }
        wait_exit_code(child);
        close(p[0]);
        close(p[1]);
    }

    // 4. Job control: stopped, continued, then exits.
    let p = pipe();
    let child = spawn(move || {
        let mut b = [0u8; 1];
        read(p[0], &mut b);
        5
    });
    check!(T, kill(child, SIGSTOP) == 0, "SIGSTOP");
    let (pid, status) = wait4(child, 2); // WUNTRACED
    check!(
        T,
        pid == child && status == (19 << 8) | 0x7f,
        "stopped status {:#x}",
        status
    );
    check!(T, kill(child, SIGCONT) == 0, "SIGCONT");
    let (pid, status) = wait4(child, 8); // WCONTINUED
    check!(
        T,
        pid == child && status == 0xffff,
        "continued status {:#x}",
        status
    );
    write(p[1], b"g");
    check!(T, wait_exit_code(child) == 5, "exit code after continue");

    // 5. Default actions seen by the parent: terminate (SIGTERM), core (SIGQUIT).
    for sig in [15usize, 3] {
        let child = spawn(|| {
            loop {
                nanosleep_ns(1_000_000);
            }
        });
        kill(child, sig);
        let (_, status) = wait4(child, 0);
        check!(
            T,
            status & 0x7f == sig as i32,
            "killed by {}: status {:#x}",
            sig,
            status
        );
    }
    println!("{}: ok", T);
    0
}
