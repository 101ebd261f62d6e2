//! `make bench`: the fork path's cost in guest instructions. Run under QEMU with
//! `-icount shift=0`, one guest instruction advances the virtual clock by exactly 1 ns, so
//! clock_gettime differences are instruction counts and repeat exactly from run to run.
//! The same binary runs on real Linux (linux-oracle.sh --icount) for comparison.
//! The file figures (issue 11) use files under /tmp/bench, removed at the end.
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::fmt::Write;
use core::ptr::write_volatile;
use core::sync::atomic::AtomicU32;

use ulib::*;

const PAGE: usize = 4096;

/// Instructions per iteration of `f`, averaged over `n`, minus the clock's own cost.
fn measure(n: u64, overhead: u64, mut f: impl FnMut()) -> u64 {
    let t0 = clock_ns();
    for _ in 0..n {
        f();
    }
    (clock_ns() - t0 - overhead) / n
}

fn touch(p: *mut u8, pages: usize, v: u8) {
    for i in 0..pages {
        // SAFETY: p is a private read-write mapping of at least `pages` pages.
        unsafe { write_volatile(p.add(i * PAGE), v) };
    }
}

/// Stops the benchmark when a file operation it relies on did not do what it should.
fn expect(ok: bool, what: &str) {
    if !ok {
        println!("bench: FAILED: {}", what);
        exit(1);
    }
}

const DIR: &CStr = c"/tmp/bench";
const SMALL: &CStr = c"/tmp/bench/small";
const LIST: &CStr = c"/tmp/bench/list";
const BIG: &CStr = c"/tmp/bench/big";
const SMALL_LEN: usize = 100;
const ENTRIES: usize = 100;
const CHUNK: usize = 64 << 10;
const BIG_LEN: usize = 1 << 20;

/// The file figures, in instructions per operation.
struct FileFigures {
    open_read_close: u64,
    stat: u64,
    listing: u64,
    write_1m: u64,
    read_1m: u64,
}

fn list_path(p: &mut PathBuf, i: usize) -> &CStr {
    p.clear();
    write!(p, "/tmp/bench/list/f{:03}", i).unwrap();
    p.as_cstr()
}

/// open + read + close of a 100-byte file; newfstatat of it; the whole listing of a
/// 100-entry directory; 1 MiB written to a new file and read back, 64 KiB a call. All
/// on /tmp (tmpfs on both kernels). Each loop runs once untimed first. Not inlined, so
/// that its buffers do not grow `main`'s stack frame, which the fork figures copy.
#[inline(never)]
fn file_figures(overhead: u64) -> FileFigures {
    expect(mkdir(DIR, 0o755) == 0, "mkdir /tmp/bench");
    expect(
        write_file(SMALL, &[b'x'; SMALL_LEN]) == SMALL_LEN as isize,
        "write /tmp/bench/small",
    );

    let mut buf = [0u8; 128];
    let mut open_read_close = || {
        let fd = open(SMALL, O_RDONLY, 0) as i32;
        let n = read(fd, &mut buf);
        close(fd);
        n
    };
    expect(
        open_read_close() == SMALL_LEN as isize,
        "read /tmp/bench/small",
    );
    let open_read_close = measure(1000, overhead, || {
        open_read_close();
    });

    expect(
        stat(SMALL).is_ok_and(|st| st.size == SMALL_LEN as i64),
        "stat /tmp/bench/small",
    );
    let stat_one = measure(1000, overhead, || {
        let _ = stat(SMALL);
    });

    // getdents64 as `ls` calls it (a 32 KiB buffer, until it returns 0), from the start
    // of the directory: lseek(0) + one call that returns all 102 records ("." and ".."
    // too) + one that returns 0.
    expect(mkdir(LIST, 0o755) == 0, "mkdir /tmp/bench/list");
    let mut p = PathBuf::new(b"");
    for i in 0..ENTRIES {
        let fd = open(list_path(&mut p, i), O_WRONLY | O_CREAT | O_EXCL, 0o644);
        expect(fd >= 0, "create /tmp/bench/list/f*");
        close(fd as i32);
    }
    let dfd = open(LIST, O_RDONLY | O_DIRECTORY, 0) as i32;
    expect(dfd >= 0, "open /tmp/bench/list");
    let dents = alloc_pages(32 << 10);
    touch(dents, 8, 0);
    // SAFETY: a fresh private read-write mapping of 32 KiB, used only through this slice.
    let dents = unsafe { core::slice::from_raw_parts_mut(dents, 32 << 10) };
    let n = getdents64(dfd, dents);
    expect(
        n > 0 && dirents(&dents[..n as usize]).count() == ENTRIES + 2,
        "getdents64 /tmp/bench/list: 102 records in one call",
    );
    expect(getdents64(dfd, dents) == 0, "getdents64 at the end");
    let listing = measure(100, overhead, || {
        lseek(dfd, 0, SEEK_SET);
        getdents64(dfd, dents);
        getdents64(dfd, dents);
    });
    close(dfd);
    for i in 0..ENTRIES {
        expect(
            unlink(list_path(&mut p, i)) == 0,
            "unlink /tmp/bench/list/f*",
        );
    }
    expect(rmdir(LIST) == 0, "rmdir /tmp/bench/list");

    // 1 MiB: 16 writes of 64 KiB to a new file (the page cache's pages allocated on the
    // way), then 16 reads of it; open, close and unlink are not timed. Both buffers are
    // touched first, so no fault of them is counted.
    let src = alloc_pages(CHUNK);
    let dst = alloc_pages(CHUNK);
    // SAFETY: two fresh private read-write mappings of CHUNK bytes each.
    let (src, dst) = unsafe {
        (
            core::slice::from_raw_parts_mut(src, CHUNK),
            core::slice::from_raw_parts_mut(dst, CHUNK),
        )
    };
    src.fill(b'b');
    dst.fill(0);
    let reps = 8;
    let (mut tw, mut tr) = (0, 0);
    for rep in 0..=reps {
        let fd = open(BIG, O_WRONLY | O_CREAT | O_EXCL, 0o644) as i32;
        expect(fd >= 0, "create /tmp/bench/big");
        let mut ok = true;
        let t = clock_ns();
        for _ in 0..BIG_LEN / CHUNK {
            ok &= write(fd, src) == CHUNK as isize;
        }
        let w = clock_ns() - t - overhead;
        close(fd);
        expect(ok, "write 64 KiB to /tmp/bench/big");
        let fd = open(BIG, O_RDONLY, 0) as i32;
        let t = clock_ns();
        for _ in 0..BIG_LEN / CHUNK {
            ok &= read(fd, dst) == CHUNK as isize;
        }
        let r = clock_ns() - t - overhead;
        close(fd);
        expect(
            ok && dst[CHUNK - 1] == b'b',
            "read 64 KiB of /tmp/bench/big",
        );
        expect(unlink(BIG) == 0, "unlink /tmp/bench/big");
        // The first round is the warm-up.
        if rep > 0 {
            tw += w;
            tr += r;
        }
    }
    munmap(src.as_ptr() as usize, CHUNK);
    munmap(dst.as_ptr() as usize, CHUNK);
    munmap(dents.as_ptr() as usize, 32 << 10);

    expect(unlink(SMALL) == 0, "unlink /tmp/bench/small");
    expect(rmdir(DIR) == 0, "rmdir /tmp/bench (something left behind?)");
    FileFigures {
        open_read_close,
        stat: stat_one,
        listing,
        write_1m: tw / reps,
        read_1m: tr / reps,
    }
}

/// Issue 12: a signal sent to oneself, handled, and returned from (kill + delivery +
/// the frame + rt_sigreturn).
fn signal_round_trip(overhead: u64) -> u64 {
    static HANDLED: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);
    extern "C" fn on_usr1(_: usize) {
        HANDLED.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
    }
    const SIGUSR1: usize = 10;
    expect(
        sigaction(SIGUSR1, on_usr1 as *const () as usize, 0, 0) == 0,
        "sigaction",
    );
    let me = getpid();
    let cost = measure(1000, overhead, || {
        kill(me, SIGUSR1);
    });
    expect(
        HANDLED.load(core::sync::atomic::Ordering::Relaxed) == 1000,
        "every signal handled",
    );
    cost
}

extern "C" fn thread_exit_now(_: usize) -> i32 {
    0
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    let t0 = clock_ns();
    let overhead = clock_ns() - t0;

    // Warm up (first faults of code, stack and data pages).
    for _ in 0..5 {
        let pid = spawn(|| 0);
        wait_exit_code(pid);
    }

    // The cheapest system call there is: svc, kernel_entry, dispatch, kernel_exit, eret.
    let null_syscall = measure(1000, overhead, || {
        getppid();
    });

    // First touch of an anonymous page: a demand-zero fault (allocate, clear, map).
    let fresh_pages = 1024;
    let fresh = alloc_pages(fresh_pages * PAGE);
    let t = clock_ns();
    touch(fresh, fresh_pages, 1);
    let first_touch_loop = (clock_ns() - t - overhead) / fresh_pages as u64;
    let t = clock_ns();
    touch(fresh, fresh_pages, 2);
    let first_touch =
        first_touch_loop.saturating_sub((clock_ns() - t - overhead) / fresh_pages as u64);
    munmap(fresh as usize, fresh_pages * PAGE);

    // Context switch: two processes hand the CPU to each other with sched_yield. Each
    // switch saves the FP/SIMD registers of the one and loads those of the other (both
    // have live FP state). Minus a sched_yield with nobody else to run.
    let alone = measure(1000, overhead, || {
        sched_yield();
    });
    let yields = 1000;
    let partner = spawn(move || {
        for _ in 0..yields + 1 {
            sched_yield();
        }
        0
    });
    sched_yield(); // let the partner start its loop
    let ping_pong = measure(yields, overhead, || {
        sched_yield();
    });
    wait4(partner, 0);
    let switch = (ping_pong.saturating_sub(alone)) / 2;

    let fork_rt = measure(200, overhead, || {
        let pid = fork();
        if pid == 0 {
            exit(0);
        }
        wait4(pid, 0);
    });

    let (mut tf, mut tw) = (0, 0);
    for _ in 0..20 {
        let a = clock_ns();
        let pid = fork();
        if pid == 0 {
            exit(0);
        }
        let b = clock_ns();
        wait4(pid, 0);
        let c = clock_ns();
        tf += b - a;
        tw += c - b;
    }
    let (fork_only, wait_only) = (tf / 20, tw / 20);
    let pages = 16 << 20 >> 12;
    let big = alloc_pages(pages * PAGE);
    touch(big, pages, 1);
    let fork_16m = measure(10, overhead, || {
        let pid = fork();
        if pid == 0 {
            exit(0);
        }
        wait4(pid, 0);
    });

    // COW write faults: a child keeps sharing every page while the parent writes them.
    let fds = pipe();
    let pid = spawn(|| {
        let mut b = [0u8; 1];
        read(fds[0], &mut b);
        0
    });
    let t = clock_ns();
    touch(big, pages, 2);
    let cow_fault = (clock_ns() - t - overhead) / pages as u64;
    write(fds[1], b"x");
    wait4(pid, 0);

    // Without a fault: the same loop over pages that are already writable.
    let t = clock_ns();
    touch(big, pages, 3);
    let plain_loop = (clock_ns() - t - overhead) / pages as u64;

    let thread_rt = measure(100, overhead, || {
        let tid = AtomicU32::new(0);
        let flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
        clone_fn(flags, thread_exit_now, 0, &tid);
        join(&tid);
    });

    let files = file_figures(overhead);
    let signal_rt = signal_round_trip(overhead);

    // Pipe ping-pong through ppoll: the parent and a child pass one byte back and forth
    // on two pipes, each waiting in ppoll before it reads. A round trip is two
    // ppoll+read+write and two wakeups of a poller (WaitChan::Poll, fs/poll.rs).
    let ping = pipe();
    let pong = pipe();
    let rounds = 200;
    let echo = spawn(move || {
        let mut b = [0u8; 1];
        let mut fds = [PollFd {
            fd: ping[0],
            events: POLLIN,
            revents: 0,
        }];
        for _ in 0..rounds + 1 {
            if ppoll(&mut fds) != 1 || read(ping[0], &mut b) != 1 {
                return 1;
            }
            write(pong[1], &b);
        }
        0
    });
    let mut pong_fds = [PollFd {
        fd: pong[0],
        events: POLLIN,
        revents: 0,
    }];
    let mut one_round = || {
        let mut b = [0u8; 1];
        write(ping[1], b"p");
        let ok = ppoll(&mut pong_fds) == 1 && read(pong[0], &mut b) == 1;
        expect(ok, "ppoll ping-pong");
    };
    one_round(); // untimed: the child's first faults
    let poll_ping_pong = measure(rounds, overhead, &mut one_round);
    expect(wait_exit_code(echo) == 0, "ppoll ping-pong partner");

    // The fork alone and the exit alone of the 16 MiB-resident process (measured last,
    // so that the figures above are taken in the same state as before they existed). Fork: the
    // parent's time in fork() (on one CPU the child has not run yet). Exit: from the
    // child's exit() to the parent's return from wait4 (the child's clock reading passes
    // through a MAP_SHARED page): exit_mmap, exit_notify, the switch, the reaping. The
    // child's pages are its parent's, copy-on-write, so its exit only drops references;
    // a second child unmaps them, touches 16 MiB of its own and exits, freeing each frame.
    let stamp = shared_page().as_mut_ptr();
    let (mut t_fork, mut t_exit, mut t_exit_own) = (0, 0, 0);
    let reps = 10;
    for _ in 0..reps {
        let a = clock_ns();
        let pid = fork();
        if pid == 0 {
            // SAFETY: the MAP_SHARED page, shared with the parent, which waits for us.
            unsafe { write_volatile(stamp, clock_ns()) };
            exit(0);
        }
        let b = clock_ns();
        wait4(pid, 0);
        let c = clock_ns();
        t_fork += b - a - overhead;
        // SAFETY: as above; the child has exited.
        t_exit += c - unsafe { core::ptr::read_volatile(stamp) } - overhead;
    }
    let own_reps = 4;
    for _ in 0..own_reps {
        let pid = fork();
        if pid == 0 {
            munmap(big as usize, pages * PAGE);
            let mine = alloc_pages(pages * PAGE);
            touch(mine, pages, 1);
            // SAFETY: as above.
            unsafe { write_volatile(stamp, clock_ns()) };
            exit(0);
        }
        wait4(pid, 0);
        let c = clock_ns();
        // SAFETY: as above.
        t_exit_own += c - unsafe { core::ptr::read_volatile(stamp) } - overhead;
    }
    let (fork_16m_alone, exit_16m_shared, exit_16m_own) =
        (t_fork / reps, t_exit / reps, t_exit_own / own_reps);

    println!(
        "bench: null system call (getppid)       {:>9} instructions",
        null_syscall
    );
    println!(
        "bench: first touch of an anonymous page {:>9} instructions",
        first_touch
    );
    println!(
        "bench: context switch (sched_yield ping-pong, with FP/SIMD save+load) {} instructions",
        switch
    );
    println!(
        "bench: fork+exit+wait round trip        {:>9} instructions",
        fork_rt
    );
    println!(
        "bench: fork+exit+wait with 16 MiB touched {:>7} instructions",
        fork_16m
    );
    println!(
        "bench: fork of a 16 MiB-resident process (parent's time in fork) {} instructions",
        fork_16m_alone
    );
    println!(
        "bench: exit of that child, 16 MiB shared (exit to the parent's wait4 return) {} instructions",
        exit_16m_shared
    );
    println!(
        "bench: exit of a process with 16 MiB of its own (exit to wait4 return) {} instructions",
        exit_16m_own
    );
    println!(
        "bench: COW write fault, per page         {:>9} instructions",
        cow_fault.saturating_sub(plain_loop)
    );
    println!(
        "bench: thread create+join                {:>9} instructions",
        thread_rt
    );
    println!(
        "bench: open+read 100 bytes+close         {:>9} instructions",
        files.open_read_close
    );
    println!(
        "bench: stat (newfstatat) of a file       {:>9} instructions",
        files.stat
    );
    println!(
        "bench: getdents64 of 100 entries (lseek 0, 32 KiB buffer, to the end) {} instructions",
        files.listing
    );
    println!(
        "bench: 1 MiB sequential write (64 KiB writes, new file) {} instructions",
        files.write_1m
    );
    println!(
        "bench: 1 MiB sequential read (64 KiB reads) {:>9} instructions",
        files.read_1m
    );
    println!(
        "bench: signal to self, handled and returned (kill + frame + rt_sigreturn) {} instructions",
        signal_rt
    );
    println!(
        "bench: pipe ping-pong through ppoll, per round trip {} instructions",
        poll_ping_pong
    );
    println!(
        "bench:   (of the round trip: fork() returns in the parent after {}, wait4 takes {})",
        fork_only, wait_only
    );
    vdso_figures(&args, overhead);
    0
}

/// A value of the vDSO image at `addr`.
fn peek<T: Copy>(addr: usize) -> T {
    // SAFETY: callers read only inside the vDSO image the kernel mapped, at offsets its
    // own ELF headers give (aligned: the image is a page-aligned ELF file).
    unsafe { *(addr as *const T) }
}

/// `__kernel_clock_gettime` of the vDSO (docs/vdso.md), found as a libc finds it:
/// AT_SYSINFO_EHDR, PT_DYNAMIC, then the symbol in DT_SYMTAB (DT_HASH gives the count).
fn vdso_clock_gettime(args: &Args) -> Option<VdsoClockGettime> {
    const AT_SYSINFO_EHDR: usize = 33;
    const PT_DYNAMIC: u32 = 2;
    const DT_HASH: u64 = 4;
    const DT_STRTAB: u64 = 5;
    const DT_SYMTAB: u64 = 6;
    let base = args.auxv(AT_SYSINFO_EHDR).filter(|&b| b != 0)?;
    // The ELF header's e_phoff and e_phnum; each program header is 56 bytes.
    let (phoff, phnum) = (
        peek::<u64>(base + 32) as usize,
        peek::<u16>(base + 56) as usize,
    );
    let dynamic = (0..phnum)
        .map(|i| base + phoff + i * 56)
        .find(|&ph| peek::<u32>(ph) == PT_DYNAMIC)
        .map(|ph| base + peek::<u64>(ph + 16) as usize)?;
    // Dynamic entries are (tag, value) pairs up to DT_NULL; the values are offsets.
    let tag = |t: u64| {
        (0..)
            .map(|i| dynamic + i * 16)
            .take_while(|&d| peek::<u64>(d) != 0)
            .find(|&d| peek::<u64>(d) == t)
            .map(|d| base + peek::<u64>(d + 8) as usize)
    };
    let (hash, strtab, symtab) = (tag(DT_HASH)?, tag(DT_STRTAB)?, tag(DT_SYMTAB)?);
    // DT_HASH is nbucket, nchain, ...: nchain is the number of symbols (24 bytes each).
    let count = peek::<u32>(hash + 4) as usize;
    let sym = (0..count).map(|i| symtab + i * 24).find(|&sym| {
        let name = strtab + peek::<u32>(sym) as usize;
        // SAFETY: the string table's strings are NUL-terminated.
        let name = unsafe { CStr::from_ptr(name as *const core::ffi::c_char) };
        name == c"__kernel_clock_gettime"
    })?;
    let addr = base + peek::<u64>(sym + 8) as usize;
    // SAFETY: the address of the vDSO's clock_gettime, which has this C signature.
    Some(unsafe { core::mem::transmute::<usize, VdsoClockGettime>(addr) })
}

type VdsoClockGettime = extern "C" fn(i32, *mut [i64; 2]) -> isize;

/// clock_gettime(CLOCK_MONOTONIC) through the vDSO, next to the system call.
fn vdso_figures(args: &Args, overhead: u64) {
    let syscall_cost = measure(1000, overhead, || {
        clock_ns();
    });
    println!(
        "bench: clock_gettime(CLOCK_MONOTONIC), system call {:>5} instructions",
        syscall_cost
    );
    match vdso_clock_gettime(args) {
        Some(f) => {
            let mut ts = [0i64; 2];
            let vdso_cost = measure(1000, overhead, || {
                f(1, &mut ts);
            });
            println!(
                "bench: clock_gettime(CLOCK_MONOTONIC), vDSO {:>12} instructions",
                vdso_cost
            );
        }
        None => println!("bench: clock_gettime through the vDSO: no vDSO"),
    }
}
