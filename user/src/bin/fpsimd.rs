//! A program's FP/SIMD registers are never corrupted: all of V0-V31 (128 bits each), FPSR
//! and FPCR hold distinct patterns and are compared bit for bit after each of: a
//! demand-zero page fault (read, and write first), a copy-on-write fault, a system call that
//! returns at once (getppid), one that blocks (nanosleep), ones that copy to and from user
//! memory (clock_gettime, pipe write, a pipe read into fresh memory), sched_yield, fork (the
//! child sees the parent's values at the svc and the parent keeps its own while the child
//! runs other values), and clone of a thread (the same). Each pattern is loaded, the action
//! done and the registers stored in one assembly routine (`fp_probe`), so nothing else can
//! touch them in between. See fpsimd_preempt (another process) and fpsimd_exec (execve).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "fpsimd";

/// The first failure in detail, then the names of the others.
struct Report {
    first: Option<(&'static str, FpState, FpState, FpState)>,
    failed: [&'static str; 24],
    n: usize,
}

impl Report {
    /// Records `what`: `got` must equal `want`; `other` is what another party held.
    fn check(&mut self, what: &'static str, got: &FpState, want: &FpState, other: &FpState) {
        if got == want {
            return;
        }
        if self.first.is_none() {
            self.first = Some((what, *got, *want, *other));
        }
        if self.n < self.failed.len() {
            self.failed[self.n] = what;
            self.n += 1;
        }
    }
}

#[repr(C)]
struct ForkShared {
    /// The child's registers just after the fork svc.
    child_at_fork: FpState,
    /// The child's own other values, loaded afterwards and kept across a sched_yield.
    child_later: FpState,
    child_done: AtomicU64,
}

fn sys(nr: usize, a: &[usize]) -> [usize; 7] {
    let mut s = [0usize; 7];
    s[0] = nr;
    s[1..1 + a.len()].copy_from_slice(a);
    s
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let mut r = Report {
        first: None,
        failed: [""; 24],
        n: 0,
    };
    let mut got = FpState::ZERO;
    let none = FpState::ZERO;

    // 0. The round trip alone.
    let p = FpState::pattern(1);
    fp_probe(&p, &mut got, FpAction::None);
    r.check("round trip", &got, &p, &none);

    // 1. Demand-zero faults: a load then a store on each of 8 fresh pages, and a store
    //    first on 8 more.
    for (i, read_first) in [(2u64, 1usize), (3, 0)] {
        let mem = alloc_pages(8 * 4096);
        check!(T, mem as isize > 0, "mmap");
        let p = FpState::pattern(i);
        let sum = fp_probe(
            &p,
            &mut got,
            FpAction::Touch(&[mem as usize, 8, read_first]),
        );
        check!(T, sum == 0, "fresh memory read {:#x}, not 0", sum);
        for k in 0..8 {
            // SAFETY: inside the 8 pages just mapped.
            let v = unsafe { *(mem.add(k * 4096) as *const u64) };
            check!(
                T,
                v == k as u64 + 1,
                "page {} holds {} after the store",
                k,
                v
            );
        }
        let what = if read_first == 1 {
            "demand-zero fault (read, then write)"
        } else {
            "demand-zero fault (write)"
        };
        r.check(what, &got, &p, &none);
    }

    // 2. Copy-on-write faults: 4 pages written before a fork, shared with a child that
    //    waits on a pipe; the parent stores to each of them with its patterns live.
    {
        let mem = alloc_pages(4 * 4096);
        check!(T, mem as isize > 0, "mmap");
        for k in 0..4 {
            // SAFETY: inside the 4 pages just mapped.
            unsafe { *(mem.add(k * 4096) as *mut u64) = 0x1000 + k as u64 };
        }
        let go = pipe();
        let pid = spawn(|| {
            let mut b = [0u8; 1];
            read(go[0], &mut b);
            // The child's copies still hold the values from before the fork.
            for k in 0..4 {
                // SAFETY: the child's (copy-on-write) view of the same 4 pages.
                if unsafe { *(mem.add(k * 4096) as *const u64) } != 0x1000 + k as u64 {
                    return 1;
                }
            }
            0
        });
        check!(T, pid > 0, "fork");
        let copies = kstat_opt(KSTAT_MY_COPIES);
        let p = FpState::pattern(4);
        let sum = fp_probe(&p, &mut got, FpAction::Touch(&[mem as usize, 4, 1]));
        check!(T, sum == 0x4006, "the shared pages read {:#x}", sum);
        if let (Some(a), Some(b)) = (copies, kstat_opt(KSTAT_MY_COPIES)) {
            check!(
                T,
                b >= a + 4,
                "4 COW copies expected, the kernel counted {}",
                b - a
            );
        }
        r.check("COW fault", &got, &p, &none);
        write(go[1], b"g");
        check!(T, wait_exit_code(pid) == 0, "the child's pages changed");
        close(go[0]);
        close(go[1]);
    }

    // 3. System calls: one that returns at once, one that blocks, ones that copy data.
    {
        let ppid = getppid() as usize;
        let p = FpState::pattern(5);
        let res = fp_probe(&p, &mut got, FpAction::Syscall(&sys(SYS_GETPPID, &[])));
        check!(
            T,
            res == ppid,
            "getppid gave {} (want {})",
            res as isize,
            ppid
        );
        r.check("getppid", &got, &p, &none);

        let ts = [0i64, 2_000_000];
        let p = FpState::pattern(6);
        let t0 = clock_ns();
        let res = fp_probe(
            &p,
            &mut got,
            FpAction::Syscall(&sys(SYS_NANOSLEEP, &[ts.as_ptr() as usize, 0])),
        );
        let slept = clock_ns() - t0;
        check!(T, res == 0, "nanosleep gave {}", res as isize);
        check!(T, slept >= 2_000_000, "nanosleep(2 ms) took {} ns", slept);
        r.check("nanosleep", &got, &p, &none);

        let mut ts = [0i64; 2];
        let p = FpState::pattern(7);
        let t0 = clock_ns();
        let res = fp_probe(
            &p,
            &mut got,
            FpAction::Syscall(&sys(SYS_CLOCK_GETTIME, &[1, ts.as_mut_ptr() as usize])),
        );
        let t = ts[0] as u64 * 1_000_000_000 + ts[1] as u64;
        check!(T, res == 0, "clock_gettime gave {}", res as isize);
        check!(
            T,
            t >= t0 && t <= clock_ns(),
            "clock_gettime wrote {:?}",
            ts
        );
        r.check("clock_gettime", &got, &p, &none);

        let fds = pipe();
        let mut src = [0u8; 4096];
        for (i, b) in src.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        let p = FpState::pattern(8);
        let res = fp_probe(
            &p,
            &mut got,
            FpAction::Syscall(&sys(
                SYS_WRITE,
                &[fds[1] as usize, src.as_ptr() as usize, src.len()],
            )),
        );
        check!(T, res == 4096, "pipe write gave {}", res as isize);
        r.check("write to a pipe", &got, &p, &none);

        let dst = alloc_pages(4096);
        check!(T, dst as isize > 0, "mmap");
        let p = FpState::pattern(9);
        let res = fp_probe(
            &p,
            &mut got,
            FpAction::Syscall(&sys(SYS_READ, &[fds[0] as usize, dst as usize, 4096])),
        );
        // A pipe may return fewer bytes than were written (this kernel copies in pieces).
        check!(T, res > 0 && res <= 4096, "pipe read gave {}", res as isize);
        // SAFETY: the page just mapped, filled by read up to res.
        let back = unsafe { core::slice::from_raw_parts(dst, res) };
        check!(T, back == &src[..res], "the pipe returned other bytes");
        r.check("read from a pipe into fresh memory", &got, &p, &none);
        close(fds[0]);
        close(fds[1]);

        let p = FpState::pattern(10);
        let res = fp_probe(&p, &mut got, FpAction::Syscall(&sys(SYS_SCHED_YIELD, &[])));
        check!(T, res == 0, "sched_yield gave {}", res as isize);
        r.check("sched_yield", &got, &p, &none);
    }

    // 4. fork: the child stores its registers right after the svc, then loads other
    //    values and yields with them live; the parent waits (wait4) for the child to exit
    //    before storing its own.
    {
        let sh = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS);
        check!(T, sh > 0, "mmap MAP_SHARED");
        // SAFETY: a fresh shared zeroed page, large enough, used only as this struct.
        let sh = unsafe { &mut *(sh as *mut ForkShared) };
        let p = FpState::pattern(11);
        let q = FpState::pattern(12);
        let mut a = [&raw mut sh.child_at_fork as usize, 0, 0];
        let res = fp_probe(&p, &mut got, FpAction::Fork(&mut a));
        if res == 0 {
            let mut later = FpState::ZERO;
            fp_probe(
                &q,
                &mut later,
                FpAction::Syscall(&sys(SYS_SCHED_YIELD, &[])),
            );
            sh.child_later = later;
            sh.child_done.store(1, Ordering::SeqCst);
            exit(0);
        }
        let pid = a[1] as isize;
        check!(
            T,
            pid > 0 && res == pid as usize,
            "fork {}, wait4 {}",
            pid,
            res as isize
        );
        check!(
            T,
            a[2] == 0 && sh.child_done.load(Ordering::SeqCst) == 1,
            "child exit status {:#x}",
            a[2]
        );
        r.check("fork: the parent's registers", &got, &p, &q);
        r.check("fork: the child's registers", &sh.child_at_fork, &p, &none);
        r.check("fork: the child's later values", &sh.child_later, &q, &p);
    }

    // 5. A thread: it stores its registers right after the clone svc, then inverts them
    //    all and yields with them live before exiting; the parent futex-waits for its exit.
    {
        let mut child = FpState::ZERO;
        let tid = AtomicU32::new(0);
        let p = FpState::pattern(13);
        let res = fp_probe(
            &p,
            &mut got,
            FpAction::Thread(&[&raw mut child as usize, new_stack(), tid.as_ptr() as usize]),
        );
        check!(T, (res as isize) > 0, "clone gave {}", res as isize);
        check!(T, tid.load(Ordering::SeqCst) == 0, "the thread has exited");
        let mut inverted = p;
        for v in inverted.v.iter_mut() {
            *v = !*v;
        }
        r.check("clone thread: the parent's registers", &got, &p, &inverted);
        r.check("clone thread: the thread's registers", &child, &p, &none);
    }

    if let Some((what, got, want, other)) = r.first {
        let others = [("the other side", &other)];
        let d = fp_compare(&got, &want, &others).unwrap();
        print!("{}: FAILED after {}: {}", T, what, d);
        if r.n > 1 {
            print!("; also after");
            for (i, w) in r.failed[1..r.n].iter().enumerate() {
                print!("{} {}", if i == 0 { "" } else { "," }, w);
            }
        }
        println!();
        return 1;
    }
    println!("{}: ok", T);
    0
}
