//! execve and paths, as Linux 6.1 has them (every check passes on the Linux oracle too):
//! argument strings up to MAX_ARG_STRLEN (128 KiB) each, all of them with the file name
//! and their pointers up to a quarter of RLIMIT_STACK (exactly: one byte more is E2BIG),
//! 6 MiB with an unlimited stack, 200000 empty arguments; an empty argv becomes [""];
//! errors in Linux's order (the strings before the file); execve in a process with
//! other threads kills them first, and a thread other than the leader takes over the
//! process's pid; paths are bytes, up to PATH_MAX and NAME_MAX.
#![no_std]
#![no_main]

use core::sync::atomic::AtomicU32;

use ulib::*;

const T: &str = "exec_args";
const PAGE: usize = 4096;
const BIG: usize = 8 << 20;

/// Runs execve(path, argv, envp) in a child; returns the errno it failed with, or the
/// exit code of the program it started (0 for "noop").
fn try_exec(path: *const u8, argv: *const usize, envp: *const usize) -> i32 {
    let pid = fork();
    if pid == 0 {
        let r = execve(path, argv, envp);
        exit_group(-r as i32);
    }
    wait_exit_code(pid)
}

/// A NUL-terminated string of `len` bytes (NUL included) at the end of `big`.
fn string(big: usize, len: usize) -> usize {
    big + BIG - len
}

/// execve with `k` strings filling exactly `limit` bytes (file name, strings, pointers),
/// plus `delta`.
fn boundary(path: &[u8; 128], big: usize, limit: usize, delta: usize) -> i32 {
    let plen = path.iter().position(|&b| b == 0).unwrap() + 1;
    const K: usize = 60;
    let mut argv = [0usize; K + 3];
    argv[0] = path.as_ptr() as usize;
    argv[1] = c"noop".as_ptr() as usize;
    let envp = [c"A=1".as_ptr() as usize, c"BB=22".as_ptr() as usize, 0];
    let fixed = plen * 2 + 5 + 4 + 6;
    let ptrs = (K + 2 + 2) * 8;
    let avail = limit - ptrs - fixed + delta;
    let (per, rem) = (avail / K, avail % K);
    for (i, a) in argv[2..K + 2].iter_mut().enumerate() {
        *a = string(big, per + if i == 0 { rem } else { 0 });
    }
    try_exec(path.as_ptr(), argv.as_ptr(), envp.as_ptr())
}

fn limits(path: &[u8; 128]) {
    let big = alloc_pages(BIG) as usize;
    // SAFETY: a fresh private mapping of BIG bytes, ours alone.
    let bytes = unsafe { core::slice::from_raw_parts_mut(big as *mut u8, BIG) };
    bytes.fill(b'a');
    bytes[BIG - 1] = 0;
    let p = path.as_ptr();
    let me = p as usize;
    let noop = c"noop".as_ptr() as usize;
    let no_env = [0usize];
    let e = no_env.as_ptr();

    let argv = [me, noop, string(big, 131_072), 0];
    check!(T, try_exec(p, argv.as_ptr(), e) == 0, "a 128 KiB string");
    let argv = [me, noop, string(big, 131_073), 0];
    check!(
        T,
        try_exec(p, argv.as_ptr(), e) == E2BIG as i32,
        "one byte more: E2BIG"
    );
    check!(T, boundary(path, big, 2 << 20, 0) == 0, "exactly 2 MiB");
    check!(
        T,
        boundary(path, big, 2 << 20, 1) == E2BIG as i32,
        "2 MiB + 1: E2BIG"
    );
    check!(
        T,
        prlimit(0, RLIMIT_STACK, Some([RLIM_INFINITY, RLIM_INFINITY])).is_ok(),
        "unlimited stack"
    );
    check!(
        T,
        boundary(path, big, 6 << 20, 0) == 0,
        "6 MiB: 3/4 of _STK_LIM"
    );
    check!(
        T,
        boundary(path, big, 6 << 20, 1) == E2BIG as i32,
        "6 MiB + 1: E2BIG"
    );
    check!(
        T,
        prlimit(0, RLIMIT_STACK, Some([8 << 20, RLIM_INFINITY])).is_ok(),
        "8 MiB stack again"
    );

    // Many empty strings: 200000 fit (with their pointers), 250000 do not.
    let arr = alloc_pages(260_000 * 8) as *mut usize;
    // SAFETY: a fresh private mapping for 260000 pointers.
    let ptrs = unsafe { core::slice::from_raw_parts_mut(arr, 260_000) };
    let count = num_arg(200_003);
    ptrs[..3].copy_from_slice(&[me, c"count".as_ptr() as usize, count.as_ptr() as usize]);
    ptrs[3..].fill(string(big, 1));
    ptrs[200_003] = 0;
    check!(T, try_exec(p, arr, e) == 0, "200000 empty arguments");
    ptrs[200_003] = string(big, 1);
    ptrs[250_003] = 0;
    check!(
        T,
        try_exec(p, arr, e) == E2BIG as i32,
        "250000 empty arguments: E2BIG"
    );
    munmap(arr as usize, 260_000 * 8);

    // The order of the errors: the strings before the file.
    let bad = [me, 8, 0];
    let nonexistent = c"/nonexistent".as_ptr();
    let too_long = [me, noop, string(big, 131_073), 0];
    let bad_env = [8usize, 0];
    let ok = [me, noop, 0];
    let cases: [(&str, *const u8, *const usize, *const usize, isize); 6] = [
        ("bad string", p, bad.as_ptr(), e, EFAULT),
        (
            "bad argv array",
            p,
            core::ptr::without_provenance(8),
            e,
            EFAULT,
        ),
        ("no file, bad string", nonexistent, bad.as_ptr(), e, EFAULT),
        (
            "no file, long string",
            nonexistent,
            too_long.as_ptr(),
            e,
            E2BIG,
        ),
        ("env first", p, too_long.as_ptr(), bad_env.as_ptr(), EFAULT),
        ("a directory", c"/".as_ptr(), ok.as_ptr(), e, EACCES),
    ];
    for (what, path, argv, envp, errno) in cases {
        let got = try_exec(path, argv, envp);
        check!(
            T,
            got == errno as i32,
            "{}: {}, Linux: {}",
            what,
            got,
            errno
        );
    }
    check!(
        T,
        try_exec(p, ok.as_ptr(), core::ptr::null()) == 0,
        "a NULL envp"
    );
    check!(
        T,
        try_exec(p, core::ptr::null(), e) == 42,
        "a NULL argv: the program gets argc 1, argv[0] \"\""
    );
    check!(
        T,
        try_exec(c"".as_ptr(), ok.as_ptr(), e) == ENOENT as i32,
        "an empty path"
    );
    munmap(big, BIG);
}

static NEVER: AtomicU32 = AtomicU32::new(0);

extern "C" fn block(_: usize) -> i32 {
    loop {
        futex_wait(&NEVER, 0, true);
    }
}

/// The exec'd image: still pid `argv[2]`, now its only thread; the old threads gone.
fn after(args: &Args) -> i32 {
    let pid = args.get(2).and_then(parse_num).unwrap_or(0) as isize;
    if getpid() != pid || gettid() != pid {
        println!(
            "{}: FAILED after execve: pid {} tid {}, want {}",
            T,
            getpid(),
            gettid(),
            pid
        );
        return 1;
    }
    for i in 3..args.argc {
        let tid = args.get(i).and_then(parse_num).unwrap_or(0) as isize;
        if tid != pid && kill(tid, 0) != -ESRCH {
            println!("{}: FAILED thread {} survived execve", T, tid);
            return 2;
        }
    }
    7
}

struct ExecFrom {
    path: [u8; 128],
    argv: [usize; 6],
    nums: [[u8; 24]; 3],
}

extern "C" fn exec_from_thread(arg: usize) -> i32 {
    // SAFETY: the spawning thread's ExecFrom, alive (it blocks forever).
    let x = unsafe { &mut *(arg as *mut ExecFrom) };
    x.nums[2] = num_arg(gettid() as usize);
    x.argv[4] = x.nums[2].as_ptr() as usize;
    let r = execve(x.path.as_ptr(), x.argv.as_ptr(), [0usize].as_ptr());
    println!("{}: FAILED execve from a thread: {}", T, r);
    exit_group(99);
}

fn de_thread(path: &[u8; 128]) {
    // The leader execs while two threads sleep in the kernel.
    let pid = fork();
    if pid == 0 {
        let (t1, t2) = (AtomicU32::new(0), AtomicU32::new(0));
        let a = clone_fn(THREAD_FLAGS, block, 0, &t1);
        let b = clone_fn(THREAD_FLAGS, block, 0, &t2);
        let (me, na, nb) = (
            num_arg(getpid() as usize),
            num_arg(a as usize),
            num_arg(b as usize),
        );
        let argv = [
            path.as_ptr() as usize,
            c"after".as_ptr() as usize,
            me.as_ptr() as usize,
            na.as_ptr() as usize,
            nb.as_ptr() as usize,
            0,
        ];
        sched_yield(); // let them reach their futex waits
        let r = execve(path.as_ptr(), argv.as_ptr(), [0usize].as_ptr());
        println!("{}: FAILED execve: {}", T, r);
        exit_group(99);
    }
    check!(T, wait_exit_code(pid) == 7, "the leader's execve");

    // A thread execs while the leader and another thread sleep: it becomes pid.
    let pid = fork();
    if pid == 0 {
        let t1 = AtomicU32::new(0);
        let a = clone_fn(THREAD_FLAGS, block, 0, &t1);
        let mut x = ExecFrom {
            path: *path,
            argv: [0; 6],
            nums: [num_arg(getpid() as usize), num_arg(a as usize), [0; 24]],
        };
        x.argv[0] = x.path.as_ptr() as usize;
        x.argv[1] = c"after".as_ptr() as usize;
        x.argv[2] = x.nums[0].as_ptr() as usize;
        x.argv[3] = x.nums[1].as_ptr() as usize;
        let t2 = AtomicU32::new(0);
        clone_fn(THREAD_FLAGS, exec_from_thread, &raw mut x as usize, &t2);
        loop {
            futex_wait(&NEVER, 0, true);
        }
    }
    check!(
        T,
        wait_exit_code(pid) == 7,
        "a non-leader's execve: the program runs as the process's pid"
    );
}

/// newfstatat of `len` bytes of `fill` after a "/" (NUL-terminated), or of `s`.
fn stat_bytes(s: &[u8]) -> isize {
    let mut buf = [0u8; 4200];
    buf[..s.len()].copy_from_slice(s);
    buf[s.len()] = 0;
    stat_path(buf.as_ptr())
}

fn paths(path: &[u8; 128]) {
    let plen = path.iter().position(|&b| b == 0).unwrap();
    let me = &path[..plen];
    let mut p = [0u8; 4200];
    // PATH_MAX: 4095 bytes and the NUL fit; without a NUL in 4096 bytes: ENAMETOOLONG.
    p[0] = b'/';
    for (i, b) in p[1..4095].iter_mut().enumerate() {
        *b = if i % 2 == 0 { b'.' } else { b'/' };
    }
    check!(T, stat_bytes(&p[..4095]) == 0, "a 4095-byte path");
    p[4095] = b'.';
    check!(
        T,
        stat_bytes(&p[..4096]) == -ENAMETOOLONG,
        "4096 bytes: ENAMETOOLONG"
    );
    // NAME_MAX.
    p[..300].fill(b'y');
    p[0] = b'/';
    check!(T, stat_bytes(&p[..256]) == -ENOENT, "a 255-byte name");
    check!(
        T,
        stat_bytes(&p[..257]) == -ENAMETOOLONG,
        "256 bytes: ENAMETOOLONG"
    );
    p[257] = b'/';
    p[258] = b'a';
    check!(
        T,
        stat_bytes(&p[..259]) == -ENAMETOOLONG,
        "in the middle too"
    );
    p[259] = 0;
    check!(
        T,
        syscall(SYS_CHDIR, &[p.as_ptr() as usize]) == -ENAMETOOLONG,
        "chdir too"
    );
    let mut q = [b'z'; 300];
    q[..13].copy_from_slice(b"/nonexistent/");
    check!(
        T,
        stat_bytes(&q[..270]) == -ENOENT,
        "a missing directory comes first"
    );
    check!(
        T,
        stat_bytes(b"/\xff\xfe") == -ENOENT,
        "any bytes: not there"
    );
    check!(T, stat_bytes(b"") == -ENOENT, "empty");
    check!(
        T,
        stat_path(core::ptr::without_provenance(8)) == -EFAULT,
        "bad pointer"
    );
    check!(
        T,
        syscall(SYS_CHDIR, &[c"".as_ptr() as usize]) == -ENOENT,
        "chdir empty"
    );
    // A path that runs into an unmapped page after 4096 bytes: only those are read.
    let m = alloc_pages(2 * PAGE) as usize;
    check!(T, munmap(m + PAGE, PAGE) == 0, "munmap");
    // SAFETY: the first page of our mapping.
    let page = unsafe { core::slice::from_raw_parts_mut(m as *mut u8, PAGE) };
    page.fill(b'q');
    page[0] = b'/';
    check!(
        T,
        stat_path(m as *const u8) == -ENAMETOOLONG,
        "no NUL before the hole"
    );
    munmap(m, PAGE);
    // A file is not a directory, whatever follows it.
    let mut s = [0u8; 200];
    for tail in [&b"/"[..], b"/.", b"/..", b"/x"] {
        s[..plen].copy_from_slice(me);
        s[plen..plen + tail.len()].copy_from_slice(tail);
        check!(
            T,
            stat_bytes(&s[..plen + tail.len()]) == -ENOTDIR,
            "ENOTDIR after the program's path"
        );
    }
    let noop = [path.as_ptr() as usize, c"noop".as_ptr() as usize, 0];
    s[..plen].copy_from_slice(me);
    s[plen] = b'/';
    s[plen + 1] = 0;
    check!(
        T,
        try_exec(s.as_ptr(), noop.as_ptr(), [0usize].as_ptr()) == ENOTDIR as i32,
        "execve of path/"
    );
    check!(
        T,
        syscall(SYS_CHDIR, &[path.as_ptr() as usize]) == -ENOTDIR,
        "chdir to a file"
    );
    // Relative paths from "/", and doubled slashes.
    check!(
        T,
        syscall(SYS_CHDIR, &[c"/".as_ptr() as usize]) == 0,
        "chdir /"
    );
    check!(T, stat_bytes(&me[1..]) == 0, "a relative path");
    s[0] = b'/';
    s[1..plen + 1].copy_from_slice(me);
    s[plen + 1] = 0;
    check!(T, stat_path(s.as_ptr()) == 0, "//path");
    s[..plen - 1].copy_from_slice(&me[1..]);
    s[plen - 1] = 0;
    check!(
        T,
        try_exec(s.as_ptr(), noop.as_ptr(), [0usize].as_ptr()) == 0,
        "execve of a relative path"
    );
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    match args.get(1) {
        Some("noop") => return 0,
        Some("count") => {
            let want = args.get(2).and_then(parse_num).unwrap_or(0);
            return (args.argc != want) as i32;
        }
        Some("after") => return after(&args),
        _ if args.argc == 1 && args.get(0) == Some("") => return 42,
        _ => {}
    }
    let path = args.self_path();
    let frames = kstat_opt(KSTAT_FRAMES);
    limits(&path);
    let heap = kstat_opt(KSTAT_HEAP);
    de_thread(&path);
    if let Some(h) = heap {
        check!(
            T,
            kstat(KSTAT_HEAP) == h,
            "heap after de_thread: {} -> {}",
            h,
            kstat(4)
        );
    }
    paths(&path);
    if let Some(f) = frames {
        check!(T, kstat(KSTAT_FRAMES) <= f, "frames: {} -> {}", f, kstat(0));
    }
    println!("{}: ok", T);
    0
}
