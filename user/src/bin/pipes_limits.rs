//! Pipes and descriptor limits, as Linux 6.1 has them (every check passes on the Linux
//! oracle too): the resource limits prlimit64/getrlimit/setrlimit report and check,
//! RLIMIT_NOFILE (EMFILE, EBADF), pipe2's flags, a pipe's 64 KiB in page frames and how
//! many bytes fit for each write size, O_NONBLOCK, faults on either side (a faulting read
//! keeps the data), O_DIRECT packets, close-on-exec through execve, and a pipe bomb:
//! pipes filled with 64 KiB each until pipe2 fails with EMFILE at 1024 and then at 4096
//! descriptors — after which frames and kernel heap are back where they were.
#![no_std]
#![no_main]

use core::sync::atomic::AtomicU32;

use ulib::*;

const T: &str = "pipes_limits";
const PAGE: usize = 4096;

fn bytes<'a>(p: *mut u8, len: usize) -> &'a mut [u8] {
    // SAFETY: `p` comes from alloc_pages(len) and is used by one test step at a time.
    unsafe { core::slice::from_raw_parts_mut(p, len) }
}

/// Reads everything a non-blocking pipe holds; returns the byte count.
fn drain(fd: i32, buf: &mut [u8]) -> usize {
    let mut total = 0;
    loop {
        let n = read(fd, buf);
        if n <= 0 {
            check!(T, n == -EAGAIN || n == 0, "draining gave {}", n);
            return total;
        }
        total += n as usize;
    }
}

fn close_all(fds: [i32; 2]) {
    close(fds[0]);
    close(fds[1]);
}

fn rlimits() {
    let inf = RLIM_INFINITY;
    // Linux 6.1's INIT_RLIMITS, as /prog sees them on the oracle.
    let expect: [(usize, u64, u64); 14] = [
        (0, inf, inf),
        (1, inf, inf),
        (2, inf, inf),
        (3, 8 << 20, inf),
        (4, 0, inf),
        (5, inf, inf),
        (7, 1024, 4096),
        (8, 8 << 20, 8 << 20),
        (9, inf, inf),
        (10, inf, inf),
        (12, 819_200, 819_200),
        (13, 0, 0),
        (14, 0, 0),
        (15, inf, inf),
    ];
    for (r, cur, max) in expect {
        let got = prlimit(0, r, None);
        check!(
            T,
            got == Ok([cur, max]),
            "rlimit {}: {:?}, Linux has [{:#x}, {:#x}]",
            r,
            got,
            cur,
            max
        );
    }
    let nproc = prlimit(0, RLIMIT_NPROC, None);
    check!(
        T,
        matches!(nproc, Ok([c, m]) if c == m && (10..1 << 30).contains(&c)),
        "RLIMIT_NPROC is max_threads / 2: {:?}",
        nproc
    );
    check!(
        T,
        prlimit(0, RLIMIT_SIGPENDING, None) == nproc,
        "RLIMIT_SIGPENDING = RLIMIT_NPROC"
    );
    check!(
        T,
        prlimit(0, 16, None) == Err(-EINVAL),
        "resource 16: EINVAL"
    );
    let mut old = [0u64; 2];
    let p = old.as_mut_ptr() as usize;
    check!(
        T,
        syscall(SYS_GETRLIMIT, &[RLIMIT_NOFILE, p]) == 0 && old == [1024, 4096],
        "getrlimit(RLIMIT_NOFILE): {:?}",
        old
    );
    check!(
        T,
        syscall(SYS_GETRLIMIT, &[16, p]) == -EINVAL,
        "getrlimit(16)"
    );
    check!(
        T,
        syscall(SYS_GETRLIMIT, &[7, 8]) == -EFAULT,
        "getrlimit bad ptr"
    );
    check!(
        T,
        prlimit(99999, 7, None) == Err(-ESRCH),
        "no such pid: ESRCH"
    );
    check!(
        T,
        prlimit(99999, 16, None) == Err(-ESRCH),
        "ESRCH before EINVAL"
    );
    check!(T, prlimit(-1, 7, None) == Err(-ESRCH), "pid -1: ESRCH");
    check!(
        T,
        syscall(SYS_PRLIMIT64, &[0, 16, 8, p]) == -EFAULT,
        "a bad new value: EFAULT before EINVAL"
    );
    check!(
        T,
        syscall(SYS_PRLIMIT64, &[99999, 7, 8, 0]) == -EFAULT,
        "a bad new value: EFAULT before ESRCH"
    );
    let set = |cur: u64, max: u64| {
        let v = [cur, max];
        syscall(SYS_SETRLIMIT, &[RLIMIT_NOFILE, v.as_ptr() as usize])
    };
    check!(T, set(10, 5) == -EINVAL, "soft above hard: EINVAL");
    check!(T, set(10, 2_000_000) == -EPERM, "above fs.nr_open: EPERM");
    check!(T, set(1024, 1 << 20) == 0, "up to nr_open (we are root)");
    check!(T, set(1024, 4096) == 0, "back to 4096");
    check!(
        T,
        syscall(SYS_SETRLIMIT, &[16, 8]) == -EFAULT,
        "EFAULT first"
    );
    let v = [512u64, 4096];
    check!(
        T,
        syscall(SYS_PRLIMIT64, &[0, 7, v.as_ptr() as usize, 8]) == -EFAULT
            && rlimit_cur(RLIMIT_NOFILE) == 512,
        "the new limit is set before the old one is written out"
    );

    // fork copies the limits; prlimit64 reaches another process, and any thread.
    check!(T, set(300, 4096) == 0, "set 300");
    let pid = spawn(|| (rlimit_cur(RLIMIT_NOFILE) != 300) as i32);
    check!(
        T,
        wait_exit_code(pid) == 0,
        "a child inherits RLIMIT_NOFILE"
    );
    let fds = pipe();
    let pid = spawn(|| {
        close(fds[1]);
        let mut b = [0u8; 1];
        read(fds[0], &mut b);
        (prlimit(0, 7, None) != Ok([100, 200])) as i32
    });
    close(fds[0]);
    check!(
        T,
        prlimit(pid, 7, Some([100, 200])) == Ok([300, 4096]),
        "prlimit64 on a child"
    );
    check!(T, prlimit(pid, 7, None) == Ok([100, 200]), "and read back");
    close(fds[1]);
    check!(T, wait_exit_code(pid) == 0, "the child sees its new limit");
    check!(T, set(1024, 4096) == 0, "restore");

    // Limits are per process: a thread's change is the leader's.
    extern "C" fn set_777(_: usize) -> i32 {
        (prlimit(0, 7, Some([777, 4096])).is_err()) as i32
    }
    let tid = AtomicU32::new(0);
    let t = clone_fn(
        THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID,
        set_777,
        0,
        &tid,
    );
    check!(T, t > 0, "clone thread: {}", t);
    join(&tid);
    check!(
        T,
        rlimit_cur(RLIMIT_NOFILE) == 777,
        "a thread's setrlimit is the process's"
    );
    check!(T, set(1024, 4096) == 0, "restore");
}

fn fd_limits() {
    check!(T, prlimit(0, 7, Some([8, 4096])).is_ok(), "limit 8");
    let mut n = 0;
    loop {
        let d = syscall(SYS_DUP, &[0]);
        if d < 0 {
            check!(T, d == -EMFILE, "dup past the limit: {}", d);
            break;
        }
        check!(T, (3..8).contains(&d), "dup gave {}", d);
        n += 1;
    }
    check!(T, n == 5, "fds 3..7 under a limit of 8, got {}", n);
    check!(T, pipe2(0) == Err(-EMFILE), "pipe2 with no descriptor free");
    close(7);
    check!(
        T,
        pipe2(0) == Err(-EMFILE),
        "pipe2 with one descriptor free"
    );
    check!(T, syscall(SYS_DUP, &[0]) == 7, "and it is still free");
    check!(T, dup3(0, 8, 0) == -EBADF, "dup3 to the limit: EBADF");
    check!(T, dup3(0, 7, 0) == 7, "dup3 below it");
    check!(T, dup3(0, -1, 0) == -EBADF, "dup3 to -1");
    check!(T, prlimit(0, 7, Some([4, 4096])).is_ok(), "lower the limit");
    check!(
        T,
        fd_is_open(7),
        "open descriptors above a lowered limit stay"
    );
    check!(T, syscall(SYS_DUP, &[0]) == -EMFILE, "but no new one");
    check!(T, prlimit(0, 7, Some([1024, 4096])).is_ok(), "restore");
    (3..8).for_each(|fd| {
        close(fd);
    });
}

fn pipe_flags() {
    match pipe2(O_DIRECT) {
        Ok(fds) => close_all(fds),
        Err(e) => fail!(T, "pipe2(O_DIRECT): {}", e),
    }
    check!(
        T,
        pipe2(0x80) == Err(-ENOPKG),
        "O_NOTIFICATION_PIPE: ENOPKG"
    );
    check!(T, pipe2(0x400) == Err(-EINVAL), "O_APPEND: EINVAL");
    check!(
        T,
        syscall(SYS_PIPE2, &[8, 0]) == -EFAULT,
        "bad array: EFAULT"
    );
    check!(
        T,
        syscall(SYS_PIPE2, &[8, 0x400]) == -EINVAL,
        "EINVAL first"
    );
    check!(T, syscall(SYS_PIPE2, &[8, 0x80]) == -ENOPKG, "ENOPKG first");
    let d = syscall(SYS_DUP, &[0]);
    check!(
        T,
        d == 3,
        "a failed pipe2 leaves no descriptor behind ({})",
        d
    );
    close(3);
}

fn capacity(big: &mut [u8], back: &mut [u8]) {
    // Linux 6.1: bytes a non-blocking writer gets in, by write size.
    for (chunk, want) in [(4096, 65536), (100, 64000), (5000, 54096), (70000, 65536)] {
        let fds = pipe2(O_NONBLOCK).unwrap_or_else(|e| fail!(T, "pipe2: {}", e));
        let frames = kstat_opt(KSTAT_FRAMES);
        let mut total = 0;
        let err = loop {
            let n = write(fds[1], &big[..chunk]);
            if n < 0 {
                break n;
            }
            total += n as usize;
        };
        check!(
            T,
            total == want && err == -EAGAIN,
            "{}-byte writes: {} bytes then {}, Linux: {} then EAGAIN",
            chunk,
            total,
            err,
            want
        );
        if let Some(f) = frames {
            check!(
                T,
                kstat(KSTAT_FRAMES) == f + 16,
                "a full pipe holds 16 frames: {} -> {}",
                f,
                kstat(KSTAT_FRAMES)
            );
        }
        check!(T, drain(fds[0], back) == want, "read back {}", want);
        if let Some(f) = frames {
            check!(T, kstat(KSTAT_FRAMES) == f, "a drained pipe holds none");
        }
        close_all(fds);
    }
}

fn blocking() {
    let fds = pipe2(O_NONBLOCK).unwrap_or_else(|e| fail!(T, "pipe2: {}", e));
    let mut b = [0u8; 16];
    check!(
        T,
        read(fds[0], &mut b) == -EAGAIN,
        "empty, a writer: EAGAIN"
    );
    close(fds[1]);
    check!(T, read(fds[0], &mut b) == 0, "empty, no writer: EOF");
    close(fds[0]);

    // Blocking: 200000 bytes through the 64 KiB pipe, the writer sleeping when full.
    let fds = pipe();
    let pid = spawn(|| {
        close(fds[0]);
        let mut chunk = [0u8; 1000];
        for i in 0..200 {
            chunk
                .iter_mut()
                .enumerate()
                .for_each(|(j, c)| *c = ((i * 1000 + j) % 251) as u8);
            if write(fds[1], &chunk) != 1000 {
                return 1;
            }
        }
        0
    });
    close(fds[1]);
    let mut total = 0usize;
    let mut buf = [0u8; 3000];
    loop {
        let n = read(fds[0], &mut buf);
        check!(T, n >= 0, "read: {}", n);
        if n == 0 {
            break;
        }
        for (j, &c) in buf[..n as usize].iter().enumerate() {
            check!(
                T,
                c == ((total + j) % 251) as u8,
                "byte {} wrong",
                total + j
            );
        }
        total += n as usize;
    }
    check!(T, total == 200_000, "got {} bytes", total);
    check!(T, wait_exit_code(pid) == 0, "writer");
    close(fds[0]);
}

fn faults(back: &mut [u8]) {
    let fds = pipe2(O_NONBLOCK).unwrap_or_else(|e| fail!(T, "pipe2: {}", e));
    let (r, w) = (fds[0] as usize, fds[1] as usize);
    check!(T, write(fds[1], b"hello world") == 11, "write");
    check!(
        T,
        syscall(SYS_READ, &[r, 8, 5]) == -EFAULT,
        "read to NULL+8"
    );
    let m = alloc_pages(3 * PAGE) as usize;
    check!(T, munmap(m + 2 * PAGE, PAGE) == 0, "munmap");
    check!(
        T,
        syscall(SYS_READ, &[r, m + 2 * PAGE - 3, 11]) == -EFAULT,
        "read into a buffer running into a hole"
    );
    let mut buf = [0u8; 100];
    let n = read(fds[0], &mut buf);
    check!(
        T,
        n == 11 && &buf[..11] == b"hello world",
        "the data stayed in the pipe ({})",
        n
    );
    check!(
        T,
        syscall(SYS_WRITE, &[w, 8, 5]) == -EFAULT,
        "write from NULL+8"
    );
    check!(
        T,
        syscall(SYS_WRITE, &[w, m, 3 * PAGE]) == 8192,
        "3 pages, the third unmapped: the two whole pages"
    );
    check!(T, drain(fds[0], back) == 8192, "8192 in the pipe");
    check!(
        T,
        syscall(SYS_WRITE, &[w, m + 2 * PAGE - 10, 20]) == -EFAULT,
        "a short write running into the hole"
    );
    check!(T, read(fds[0], &mut buf) == -EAGAIN, "wrote nothing");
    check!(T, write(fds[1], b"abc") == 3, "abc");
    check!(
        T,
        syscall(SYS_WRITE, &[w, m + 2 * PAGE - 10, 20]) == -EFAULT,
        "the same, merging into the last page"
    );
    check!(T, read(fds[0], &mut buf) == 3, "only abc");
    check!(
        T,
        syscall(SYS_WRITE, &[w, m + 2 * PAGE - 5000, 5001]) == 4096,
        "5001 bytes, the last unmapped: the first page"
    );
    check!(T, drain(fds[0], back) == 4096, "4096 in the pipe");
    close_all(fds);
    munmap(m, 2 * PAGE);
}

/// writev into a pipe is one write of all its segments.
fn vectored() {
    let fds = pipe2(O_NONBLOCK).unwrap_or_else(|e| fail!(T, "pipe2: {}", e));
    let (a, b) = (b"vectored ", b"write");
    let iov = [
        a.as_ptr() as usize,
        a.len(),
        0,
        0,
        b.as_ptr() as usize,
        b.len(),
    ];
    let v =
        |iov: &[usize], n: usize| syscall(SYS_WRITEV, &[fds[1] as usize, iov.as_ptr() as usize, n]);
    check!(T, v(&iov, 3) == 14, "writev of 3 segments (one empty)");
    let mut buf = [0u8; 32];
    check!(
        T,
        read(fds[0], &mut buf) == 14 && &buf[..14] == b"vectored write",
        "in order"
    );
    check!(T, v(&iov, 0) == 0, "no segment");
    check!(T, v(&iov, 1025) == -EINVAL, "more than UIO_MAXIOV");
    let negative = [
        a.as_ptr() as usize,
        a.len(),
        b.as_ptr() as usize,
        usize::MAX,
    ];
    check!(T, v(&negative, 2) == -EINVAL, "a negative length");
    let kernel = [a.as_ptr() as usize, a.len(), 0xffff_0000_4000_0000, 1];
    check!(T, v(&kernel, 2) == -EFAULT, "a kernel address");
    check!(
        T,
        read(fds[0], &mut buf) == -EAGAIN,
        "nothing written by those"
    );
    close_all(fds);
}

fn packets() {
    let fds = pipe2(O_DIRECT | O_NONBLOCK).unwrap_or_else(|e| fail!(T, "pipe2: {}", e));
    check!(
        T,
        write(fds[1], b"abcdef") == 6 && write(fds[1], b"gh") == 2,
        "packets"
    );
    let mut buf = [0u8; 10];
    check!(
        T,
        read(fds[0], &mut buf[..3]) == 3 && &buf[..3] == b"abc",
        "a short read takes part of a packet"
    );
    check!(
        T,
        read(fds[0], &mut buf) == 2 && &buf[..2] == b"gh",
        "and drops the rest"
    );
    let mut n = 0;
    while write(fds[1], b"x") == 1 {
        n += 1;
    }
    check!(T, n == 16, "a packet per page: {} one-byte packets", n);
    close_all(fds);
}

fn cloexec(args: &Args) {
    let fds = pipe2(O_CLOEXEC).unwrap_or_else(|e| fail!(T, "pipe2: {}", e));
    check!(T, fds == [3, 4], "pipe2 gave {:?}", fds);
    check!(T, dup3(0, 10, O_CLOEXEC) == 10, "dup3 O_CLOEXEC");
    check!(T, dup3(0, 11, 0) == 11, "dup3");
    check!(T, syscall(SYS_DUP, &[3]) == 5, "dup of a close-on-exec fd");
    check!(T, dup3(0, 12, 1) == -EINVAL, "dup3 unknown flag");
    check!(T, dup3(12, 12, 0) == -EINVAL, "dup3 to itself");
    check!(T, dup3(0, 1024, 0) == -EBADF, "dup3 to RLIMIT_NOFILE");
    check!(T, dup3(999, 50, 0) == -EBADF, "dup3 from a closed fd");
    let path = args.self_path();
    let pid = fork();
    if pid == 0 {
        let argv = [path.as_ptr() as usize, c"cloexec".as_ptr() as usize, 0];
        let r = execve(path.as_ptr(), argv.as_ptr(), [0usize].as_ptr());
        println!("{}: FAILED execve: {}", T, r);
        exit_group(99);
    }
    check!(
        T,
        wait_exit_code(pid) == 0,
        "close-on-exec descriptors are closed by execve, the others are not"
    );
    for fd in [3, 4, 5, 10, 11] {
        close(fd);
    }
}

/// The exec'd image of `cloexec`: 3, 4 and 10 were close-on-exec; 5 and 11 not.
fn after_exec() -> i32 {
    let open = [3, 4, 5, 10, 11].map(fd_is_open);
    if open != [false, false, true, false, true] {
        println!(
            "{}: FAILED after execve, fds 3 4 5 10 11 open: {:?}",
            T, open
        );
        return 1;
    }
    0
}

/// Fills pipes with 64 KiB each until pipe2 or write fails; returns (pipes, error).
fn fill(big: &[u8], pipes: &mut usize) -> isize {
    loop {
        match pipe2(O_NONBLOCK) {
            Err(e) => return e,
            Ok(fds) => {
                let n = write(fds[1], &big[..65536]);
                if n != 65536 {
                    return if n < 0 { n } else { -ENOMEM };
                }
                *pipes += 1;
            }
        }
    }
}

/// A forked child's stack pages are shared with its parent until written: this writes
/// 32 KiB below the caller's frame, where the calls that follow will run, so that no
/// copy-on-write fault adds a frame while frames are being counted.
#[inline(never)]
fn prefault_stack() {
    let mut stack = [0u8; 32 * 1024];
    // black_box: the whole array must exist (else only the bytes written are kept).
    let base = core::hint::black_box(stack.as_mut_ptr());
    for i in (0..stack.len()).step_by(PAGE) {
        // SAFETY: inside our own local array; volatile so that the write happens.
        unsafe { base.add(i).write_volatile(1) };
    }
}

/// The pipe bomb, in a child process: EMFILE at 1024 descriptors, then at 4096 (or out
/// of memory first), then everything closed and the frames back.
fn bomb(big: &[u8]) -> i32 {
    prefault_stack();
    // The kernel heap may grow during the bomb and keeps the frames it grew by (as a
    // slab cache keeps its pages): at most that many frames may stay in use.
    let heap_frames = kstat_opt(KSTAT_HEAP_FRAMES).unwrap_or(0);
    let frames = kstat_opt(KSTAT_FRAMES);
    let mut pipes = 0;
    let e = fill(big, &mut pipes);
    check!(
        T,
        e == -EMFILE,
        "pipe bomb at 1024 fds: {} after {} pipes",
        e,
        pipes
    );
    check!(
        T,
        3 + 2 * pipes >= 1023,
        "only {} pipes below 1024 fds",
        pipes
    );
    let first = pipes;
    check!(
        T,
        prlimit(0, 7, Some([4096, 4096])).is_ok(),
        "raise to 4096"
    );
    let e = fill(big, &mut pipes);
    check!(
        T,
        e == -EMFILE || e == -ENOMEM,
        "pipe bomb at 4096 fds: {} after {} pipes",
        e,
        pipes
    );
    if e == -EMFILE {
        check!(
            T,
            3 + 2 * pipes >= 4095,
            "only {} pipes below 4096 fds",
            pipes
        );
    }
    let used = frames.map(|f| kstat(KSTAT_FRAMES) - f);
    for fd in 3..(3 + 2 * pipes as i32) {
        close(fd);
    }
    if let Some(f) = frames {
        let after = kstat(KSTAT_FRAMES);
        let heap_grew = kstat(KSTAT_HEAP_FRAMES) - heap_frames;
        check!(
            T,
            after >= f && after - f <= heap_grew,
            "frames after closing the pipes: {} -> {} (the heap grew by {})",
            f,
            after,
            heap_grew
        );
    }
    // (Printed last: a deeper stack page is a copy-on-write fault, one more frame.)
    println!(
        "{}: pipe bomb: {} pipes at 1024 fds, {} at 4096 ({}), {} MiB buffered, frames +{:?}",
        T,
        first,
        pipes,
        if e == -EMFILE { "EMFILE" } else { "ENOMEM" },
        (pipes * 65536) >> 20,
        used
    );
    0
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    if args.get(1) == Some("cloexec") {
        return after_exec();
    }
    // Only 0, 1 and 2 open (Linux's oracle init leaves its /args open as 3).
    (3..64).for_each(|fd| {
        close(fd);
    });
    let big = bytes(alloc_pages(80 * 1024), 80 * 1024);
    let back = bytes(alloc_pages(80 * 1024), 80 * 1024);
    big.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
    back.fill(0);

    rlimits();
    fd_limits();
    pipe_flags();
    capacity(big, back);
    blocking();
    faults(back);
    vectored();
    packets();
    cloexec(&args);

    // Baselines after a first child (lazily sized tables are at their size by then).
    let pid = spawn(|| 0);
    wait_exit_code(pid);
    let (frames, heap) = (kstat_opt(KSTAT_FRAMES), kstat_opt(KSTAT_HEAP));
    let pid = spawn(|| bomb(big));
    check!(T, wait_exit_code(pid) == 0, "the pipe bomb child");
    if let (Some(f), Some(h)) = (frames, heap) {
        check!(
            T,
            kstat(KSTAT_FRAMES) == f,
            "frames: {} before, {} after",
            f,
            kstat(0)
        );
        check!(
            T,
            kstat(KSTAT_HEAP) == h,
            "heap: {} before, {} after",
            h,
            kstat(4)
        );
    }
    println!("{}: ok", T);
    0
}
