//! No FP/SIMD value crosses from one process to another: a child runs SIMD and FP
//! instructions on its own patterns (V0-V31, FPSR, FPCR), checks them all on every
//! iteration (counting differences, and loading its patterns again after one) and
//! increments a counter in shared memory, while this process holds other patterns and (1) spins until the timer has
//! preempted it for the child several times — it sees the counter change 3 times inside
//! the same assembly routine that loaded its registers, so the child really ran while they
//! were live; (2) calls sched_yield until the same; (3) sleeps in nanosleep while the child
//! runs. After each, all of this process's registers are compared, and at the end the
//! child's.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use ulib::*;

const T: &str = "fpsimd_preempt";

#[repr(C)]
struct Shared {
    counter: AtomicU64,
    stop: AtomicU64,
    /// The child's registers when it stopped, and how often it found them changed.
    child: FpState,
    child_differences: AtomicU64,
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let sh = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
    check!(T, sh > 0, "mmap MAP_SHARED");
    // SAFETY: a fresh shared zeroed page, large enough, used only as this struct.
    let sh = unsafe { &mut *(sh as *mut Shared) };
    let q = FpState::pattern(31);
    let mut noise = [
        sh.counter.as_ptr() as usize,
        sh.stop.as_ptr() as usize,
        &raw const q as usize,
        0,
    ];
    let child_store = &raw mut sh.child;
    let differences = &sh.child_differences;
    let pid = spawn(|| {
        let mut st = FpState::ZERO;
        fp_probe(&q, &mut st, FpAction::Noise(&mut noise));
        // SAFETY: only this child writes the shared page's `child`, before it exits.
        unsafe { child_store.write(st) };
        differences.store(noise[3] as u64, Ordering::SeqCst);
        0
    });
    check!(T, pid > 0, "fork");
    let t0 = clock_ns();
    while sh.counter.load(Ordering::SeqCst) == 0 {
        check!(T, clock_ns() - t0 < 5_000_000_000, "the child never ran");
        sched_yield();
    }
    let others = [("the other process", &q)];
    let mut got = FpState::ZERO;

    // 1. Timer preemption: no system call at all between load and store.
    let p = FpState::pattern(21);
    let mut spin = [sh.counter.as_ptr() as usize, 3, 300_000_000, 0, 0, 0];
    fp_probe(&p, &mut got, FpAction::Spin(&mut spin));
    if spin[4] < 3 {
        sh.stop.store(1, Ordering::SeqCst);
        fail!(
            T,
            "not preempted: the other process ran {} times in {} iterations",
            spin[4],
            spin[5]
        );
    }
    if let Some(d) = fp_compare(&got, &p, &others) {
        sh.stop.store(1, Ordering::SeqCst);
        fail!(T, "after timer preemption: {}", d);
    }

    // 2. sched_yield to the other process.
    let p = FpState::pattern(22);
    let mut spin = [sh.counter.as_ptr() as usize, 3, 100_000, 1, 0, 0];
    fp_probe(&p, &mut got, FpAction::Spin(&mut spin));
    if spin[4] < 3 {
        sh.stop.store(1, Ordering::SeqCst);
        fail!(T, "sched_yield: the other process ran {} times", spin[4]);
    }
    if let Some(d) = fp_compare(&got, &p, &others) {
        sh.stop.store(1, Ordering::SeqCst);
        fail!(T, "after sched_yield: {}", d);
    }

    // 3. Blocked in nanosleep while the other process runs.
    let p = FpState::pattern(23);
    let ts = [0i64, 20_000_000];
    let a = [SYS_NANOSLEEP, ts.as_ptr() as usize, 0, 0, 0, 0, 0];
    let before = sh.counter.load(Ordering::SeqCst);
    let res = fp_probe(&p, &mut got, FpAction::Syscall(&a));
    let after = sh.counter.load(Ordering::SeqCst);
    sh.stop.store(1, Ordering::SeqCst);
    check!(T, res == 0, "nanosleep gave {}", res as isize);
    check!(
        T,
        after != before,
        "the other process did not run during the sleep"
    );
    if let Some(d) = fp_compare(&got, &p, &others) {
        fail!(T, "after nanosleep: {}", d);
    }

    check!(T, wait_exit_code(pid) == 0, "the other process's exit");
    let n = sh.child_differences.load(Ordering::SeqCst);
    check!(
        T,
        n == 0,
        "the other process found its registers changed {} times",
        n
    );
    let mine = [("this process", &p)];
    if let Some(d) = fp_compare(&sh.child, &q, &mine) {
        fail!(T, "the other process's registers: {}", d);
    }
    println!("{}: ok", T);
    0
}
