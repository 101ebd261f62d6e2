//! Open file descriptions and descriptor tables: a parent and a forked child writing
//! records through one shared description (with O_APPEND, and with a plain shared offset:
//! Linux updates the offset of a regular file atomically, so the records never overlap);
//! the offset is shared by fork and dup, not by a second open; fcntl F_DUPFD,
//! F_DUPFD_CLOEXEC, F_GETFD/F_SETFD, F_GETFL/F_SETFL and their errors; close_range;
//! CLONE_FILES (one table for two processes) against a copied table; execve closes the
//! close-on-exec descriptors and keeps the others (checked by this same program, re-run
//! with `exec-check` and reporting through its exit status).
//!
//! Files live under /tmp/fs_share and are removed at the end; the body runs twice in a
//! child process (a warm-up, then a run whose frames and heap must come back).
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use ulib::*;

const T: &str = "fs_share";
const DIR: &CStr = c"/tmp/fs_share";
const LOG: &CStr = c"/tmp/fs_share/log";
const F: &CStr = c"/tmp/fs_share/f";

/// Records per writer, and the size of one record (written with one write call).
const N: usize = 400;
const REC: usize = 32;

fn must_open(path: &CStr, flags: usize) -> i32 {
    let fd = open(path, flags, 0o644);
    check!(T, fd >= 0, "open({:?}, {:#o}) gave {}", path, flags, fd);
    fd as i32
}

fn offset(fd: i32) -> isize {
    lseek(fd, 0, SEEK_CUR)
}

fn size_of(fd: i32) -> i64 {
    match fstat(fd) {
        Ok(st) => st.size,
        Err(e) => fail!(T, "fstat({}) gave {}", fd, e),
    }
}

/// Record `i` of writer `tag`: the tag, four digits, filler that depends on both, '\n'.
fn record(tag: u8, i: usize) -> [u8; REC] {
    let mut r = [0u8; REC];
    r[0] = tag;
    for (k, d) in r[1..5].iter_mut().enumerate() {
        *d = b'0' + ((i / 10usize.pow(3 - k as u32)) % 10) as u8;
    }
    for (k, b) in r[5..REC - 1].iter_mut().enumerate() {
        *b = b'a' + ((i * 7 + k + tag as usize) % 26) as u8;
    }
    r[REC - 1] = b'\n';
    r
}

fn write_records(fd: i32, tag: u8) -> Result<(), isize> {
    for i in 0..N {
        let r = write(fd, &record(tag, i));
        if r != REC as isize {
            return Err(r);
        }
    }
    Ok(())
}

/// A parent and a child write N records each through one description (opened with
/// `flags`); every record must be there once, whole, each writer's in its order.
fn shared_writers(what: &str, flags: usize) {
    let fd = must_open(LOG, O_RDWR | O_CREAT | O_TRUNC | flags);
    let pid = spawn(|| match write_records(fd, b'C') {
        Ok(()) => 0,
        Err(r) => {
            println!("{}: FAILED {}: the child's write gave {}", T, what, r);
            1
        }
    });
    check!(T, pid > 0, "fork gave {}", pid);
    let mine = write_records(fd, b'P');
    let code = wait_exit_code(pid);
    if let Err(r) = mine {
        fail!(T, "{}: the parent's write gave {}", what, r);
    }
    if code == 1 {
        exit_group(1); // the child has printed why
    }
    check!(T, code == 0, "{}: the child ended with {}", what, code);

    let total = 2 * N * REC;
    check!(
        T,
        size_of(fd) == total as i64,
        "{}: the file has {} bytes, want {} (records overwrote each other)",
        what,
        size_of(fd),
        total
    );
    check!(
        T,
        offset(fd) == total as isize,
        "{}: the shared offset is {}, want {}",
        what,
        offset(fd),
        total
    );
    let buf = alloc_pages(total);
    // SAFETY: a fresh private mapping of `total` bytes.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf, total) };
    let r = pread(fd, buf, 0);
    check!(
        T,
        r == total as isize,
        "{}: pread of the file gave {}",
        what,
        r
    );
    let mut next = [0usize; 2]; // the next index expected from P and from C
    for (k, rec) in buf.chunks(REC).enumerate() {
        let w = match rec[0] {
            b'P' => 0,
            b'C' => 1,
            _ => fail!(T, "{}: record {} starts with {:#x}: torn", what, k, rec[0]),
        };
        let want = record(rec[0], next[w]);
        check!(
            T,
            rec == want,
            "{}: record {} at offset {} is {:?}, want {:?} (torn, lost or out of order)",
            what,
            k,
            k * REC,
            core::str::from_utf8(rec).unwrap_or("?"),
            core::str::from_utf8(&want).unwrap_or("?")
        );
        next[w] += 1;
    }
    check!(T, next == [N, N], "{}: records per writer {:?}", what, next);
    munmap(buf.as_ptr() as usize, total);
    close(fd);
    check!(T, unlink(LOG) == 0, "unlink log");
}

fn offsets() {
    // fork shares the description, so the child's write and lseek move the parent's offset.
    let fd = must_open(F, O_RDWR | O_CREAT | O_TRUNC);
    check!(T, write(fd, b"abc") == 3, "write abc");
    let pid = spawn(|| {
        if offset(fd) != 3 || write(fd, b"defg") != 4 {
            return 2;
        }
        0
    });
    let code = wait_exit_code(pid);
    check!(
        T,
        code == 0,
        "the child (at offset 3, writing 4 bytes) ended with {}",
        code
    );
    check!(
        T,
        offset(fd) == 7,
        "the parent's offset after the child wrote 4 bytes: {} (want 7)",
        offset(fd)
    );
    let pid = spawn(|| (lseek(fd, 1, SEEK_SET) != 1) as i32);
    check!(T, wait_exit_code(pid) == 0, "the child's lseek");
    check!(
        T,
        offset(fd) == 1,
        "the parent's offset after the child's lseek(1): {}",
        offset(fd)
    );

    // dup shares it too; a second open has its own.
    let d = dup(fd);
    check!(T, d >= 0, "dup gave {}", d);
    let d = d as i32;
    check!(T, lseek(fd, 5, SEEK_SET) == 5, "lseek(5)");
    check!(
        T,
        offset(d) == 5,
        "the dup's offset after lseek(fd, 5): {}",
        offset(d)
    );
    let mut c = [0u8; 1];
    check!(
        T,
        read(d, &mut c) == 1 && c[0] == b'f',
        "read through the dup"
    );
    check!(
        T,
        offset(fd) == 6,
        "offset after reading through the dup: {}",
        offset(fd)
    );
    let other = must_open(F, O_RDWR);
    check!(
        T,
        offset(other) == 0,
        "a second open starts at {}",
        offset(other)
    );
    check!(T, lseek(other, 2, SEEK_SET) == 2, "lseek(other, 2)");
    check!(
        T,
        offset(fd) == 6,
        "lseek of a second open moved the first to {}",
        offset(fd)
    );
    close(other);
    close(d);
    close(fd);
}

fn fcntls() {
    let fd = must_open(F, O_RDWR | O_APPEND);
    // F_DUPFD: the lowest free descriptor >= arg.
    let ten = fcntl(fd, F_DUPFD, 10);
    check!(T, ten >= 10, "F_DUPFD 10 gave {}", ten);
    let r = fcntl(fd, F_DUPFD, ten as usize);
    check!(
        T,
        r == ten + 1,
        "F_DUPFD {} with {} taken gave {}",
        ten,
        ten,
        r
    );
    close(r as i32);
    let r = fcntl(fd, F_DUPFD, 0);
    check!(
        T,
        r >= 0 && r < ten,
        "F_DUPFD 0 gave {} (not the lowest free)",
        r
    );
    close(r as i32);
    // Its close-on-exec flag is clear; F_DUPFD_CLOEXEC sets it.
    let r = fcntl(ten as i32, F_GETFD, 0);
    check!(T, r == 0, "F_GETFD of an F_DUPFD copy gave {}", r);
    let ce = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    check!(
        T,
        ce == ten + 1,
        "F_DUPFD_CLOEXEC 10 gave {} (want {})",
        ce,
        ten + 1
    );
    let r = fcntl(ce as i32, F_GETFD, 0);
    check!(
        T,
        r == FD_CLOEXEC as isize,
        "F_GETFD of an F_DUPFD_CLOEXEC copy gave {}",
        r
    );
    // F_SETFD keeps only FD_CLOEXEC; the flag belongs to one descriptor, not its copies.
    check!(T, fcntl(ten as i32, F_SETFD, 3) == 0, "F_SETFD 3");
    let r = fcntl(ten as i32, F_GETFD, 0);
    check!(
        T,
        r == FD_CLOEXEC as isize,
        "F_GETFD after F_SETFD 3 gave {}",
        r
    );
    let r = fcntl(fd, F_GETFD, 0);
    check!(
        T,
        r == 0,
        "F_SETFD on a copy changed the original's flag to {}",
        r
    );
    check!(T, fcntl(ten as i32, F_SETFD, 0) == 0, "F_SETFD 0");
    check!(
        T,
        fcntl(ten as i32, F_GETFD, 0) == 0,
        "F_GETFD after F_SETFD 0"
    );
    close(ce as i32);

    // F_GETFL: the access mode and status flags; O_CREAT, O_TRUNC are not kept.
    const SHOWN: usize = O_ACCMODE | O_APPEND | O_NONBLOCK | O_CREAT | O_TRUNC | O_EXCL;
    let fl = fcntl(fd, F_GETFL, 0);
    check!(T, fl >= 0, "F_GETFL gave {}", fl);
    check!(
        T,
        fl as usize & SHOWN == O_RDWR | O_APPEND,
        "F_GETFL of an O_RDWR|O_APPEND fd gave {:#o}",
        fl
    );
    let wo = must_open(F, O_WRONLY | O_CREAT | O_NONBLOCK);
    let r = fcntl(wo, F_GETFL, 0);
    check!(
        T,
        r >= 0 && r as usize & SHOWN == O_WRONLY | O_NONBLOCK,
        "F_GETFL of an O_WRONLY|O_CREAT|O_NONBLOCK fd gave {:#o}",
        r
    );
    close(wo);
    // F_SETFL changes O_APPEND and O_NONBLOCK but not the access mode; the status flags
    // belong to the description, so a dup sees the change.
    let r = fcntl(fd, F_SETFL, O_RDONLY | O_NONBLOCK);
    check!(T, r == 0, "F_SETFL O_NONBLOCK gave {}", r);
    let r = fcntl(ten as i32, F_GETFL, 0);
    check!(
        T,
        r >= 0 && r as usize & SHOWN == O_RDWR | O_NONBLOCK,
        "F_GETFL (through a dup) after F_SETFL O_RDONLY|O_NONBLOCK gave {:#o}",
        r
    );
    // Without O_APPEND a write goes to the offset again.
    check!(T, lseek(fd, 0, SEEK_SET) == 0, "lseek(0)");
    check!(T, write(fd, b"A") == 1, "write without O_APPEND");
    check!(
        T,
        offset(fd) == 1,
        "write without O_APPEND went to {}",
        offset(fd) - 1
    );
    let r = fcntl(fd, F_SETFL, O_APPEND);
    check!(T, r == 0, "F_SETFL O_APPEND gave {}", r);
    let r = fcntl(fd, F_GETFL, 0);
    check!(
        T,
        r >= 0 && r as usize & SHOWN == O_RDWR | O_APPEND,
        "F_GETFL after F_SETFL O_APPEND gave {:#o}",
        r
    );
    let end = size_of(fd);
    check!(T, lseek(fd, 0, SEEK_SET) == 0, "lseek(0)");
    check!(
        T,
        write(fd, b"Z") == 1,
        "write with O_APPEND set by F_SETFL"
    );
    check!(
        T,
        offset(fd) == end as isize + 1,
        "with O_APPEND set by F_SETFL a write ended at {}, want {}",
        offset(fd),
        end + 1
    );
    close(ten as i32);

    // The errors.
    let r = fcntl(99, F_GETFD, 0);
    check!(T, r == -EBADF, "F_GETFD of a closed fd gave {}", r);
    let r = fcntl(99, F_DUPFD, 0);
    check!(T, r == -EBADF, "F_DUPFD of a closed fd gave {}", r);
    let r = fcntl(99, F_SETFL, 0);
    check!(T, r == -EBADF, "F_SETFL of a closed fd gave {}", r);
    let r = fcntl(-1, F_GETFL, 0);
    check!(T, r == -EBADF, "F_GETFL of fd -1 gave {}", r);
    let r = fcntl(fd, 9999, 0);
    check!(T, r == -EINVAL, "fcntl with command 9999 gave {}", r);
    let limit = rlimit_cur(RLIMIT_NOFILE);
    let r = fcntl(fd, F_DUPFD, limit as usize);
    check!(
        T,
        r == -EINVAL,
        "F_DUPFD at RLIMIT_NOFILE ({}) gave {}",
        limit,
        r
    );
    let r = fcntl(fd, F_DUPFD_CLOEXEC, usize::MAX);
    check!(T, r == -EINVAL, "F_DUPFD_CLOEXEC with arg -1 gave {}", r);
    close(fd);
}

fn is_open(fd: i32) -> bool {
    fcntl(fd, F_GETFD, 0) >= 0
}

fn close_ranges() {
    let fd = must_open(F, O_RDONLY);
    for n in 20..=25 {
        check!(T, dup3(fd, n, 0) == n as isize, "dup3 to {}", n);
    }
    let r = close_range(21, 23, 0);
    check!(T, r == 0, "close_range(21, 23) gave {}", r);
    for n in 20..=25 {
        let want = !(21..=23).contains(&n);
        check!(
            T,
            is_open(n) == want,
            "after close_range(21, 23): fd {} open: {}",
            n,
            is_open(n)
        );
    }
    // CLOSE_RANGE_CLOEXEC marks instead of closing.
    let r = close_range(24, 30, CLOSE_RANGE_CLOEXEC);
    check!(T, r == 0, "close_range(24, 30, CLOEXEC) gave {}", r);
    check!(
        T,
        fcntl(24, F_GETFD, 0) == 1 && fcntl(25, F_GETFD, 0) == 1,
        "after close_range CLOEXEC: F_GETFD {} and {}",
        fcntl(24, F_GETFD, 0),
        fcntl(25, F_GETFD, 0)
    );
    check!(
        T,
        fcntl(20, F_GETFD, 0) == 0,
        "close_range CLOEXEC marked fd 20"
    );
    // first > last is EINVAL, and so is an unknown flag; a range with nothing open is fine.
    let r = close_range(25, 24, 0);
    check!(T, r == -EINVAL, "close_range(25, 24) gave {}", r);
    let r = close_range(20, 25, 0x80);
    check!(T, r == -EINVAL, "close_range with flag 0x80 gave {}", r);
    check!(
        T,
        is_open(20) && is_open(25),
        "a failed close_range closed something"
    );
    let r = close_range(200, 300, 0);
    check!(
        T,
        r == 0,
        "close_range of a range with nothing open gave {}",
        r
    );
    // Up to ~0: everything from 20 on.
    let r = close_range(20, u32::MAX, 0);
    check!(T, r == 0, "close_range(20, ~0) gave {}", r);
    check!(
        T,
        !is_open(20) && !is_open(24) && !is_open(25),
        "close_range(20, ~0) left some open"
    );
    check!(T, is_open(fd), "close_range(20, ~0) closed fd {}", fd);
    close(fd);
}

/// Shared with the CLONE_VM children below (they run in this address space).
static THEIRS: AtomicI32 = AtomicI32::new(-1);

/// Runs in a child that shares (or not) the table: opens F, closes `fd`, and says which
/// descriptor it got.
extern "C" fn open_and_close(fd: usize) -> i32 {
    let r = open(F, O_RDWR, 0);
    if r < 0 {
        return 2;
    }
    THEIRS.store(r as i32, Ordering::Release);
    if close(fd as i32) != 0 {
        return 3;
    }
    0
}

fn clone_files() {
    // CLONE_FILES: one table. The child's close is the parent's close, the descriptor it
    // opens is the parent's too, and stays open after the child has exited.
    let a = must_open(F, O_RDONLY);
    let tid = AtomicU32::new(0);
    let pid = clone_fn(
        CLONE_VM | CLONE_FILES | SIGCHLD,
        open_and_close,
        a as usize,
        &tid,
    );
    check!(T, pid > 0, "clone(CLONE_VM|CLONE_FILES) gave {}", pid);
    let code = wait_exit_code(pid);
    check!(T, code == 0, "the CLONE_FILES child ended with {}", code);
    let r = fcntl(a, F_GETFD, 0);
    check!(
        T,
        r == -EBADF,
        "fd {} closed by a CLONE_FILES child: F_GETFD gave {}",
        a,
        r
    );
    let b = THEIRS.load(Ordering::Acquire);
    let r = pwrite(b, b"B", 0);
    check!(
        T,
        r == 1,
        "fd {} opened by a CLONE_FILES child: pwrite gave {}",
        b,
        r
    );
    close(b);

    // Without CLONE_FILES (CLONE_VM alone, and fork) the child has a copy of the table.
    let a = must_open(F, O_RDONLY);
    THEIRS.store(-1, Ordering::Release);
    let pid = clone_fn(CLONE_VM | SIGCHLD, open_and_close, a as usize, &tid);
    check!(T, pid > 0, "clone(CLONE_VM) gave {}", pid);
    let code = wait_exit_code(pid);
    check!(T, code == 0, "the CLONE_VM child ended with {}", code);
    check!(
        T,
        is_open(a),
        "a CLONE_VM child (own table) closed the parent's fd {}",
        a
    );
    let b = THEIRS.load(Ordering::Acquire);
    let r = fcntl(b, F_GETFD, 0);
    check!(
        T,
        r == -EBADF,
        "fd {} opened by a CLONE_VM child (own table) is in the parent's: F_GETFD gave {}",
        b,
        r
    );
    // A fork: the child's close and its new pipe (which takes the freed number) stay in
    // the child; the parent's `a` is still the file.
    let pid = spawn(|| {
        if close(a) != 0 {
            return 2;
        }
        let fds = pipe();
        (fds[0] != a) as i32 * 3
    });
    check!(
        T,
        wait_exit_code(pid) == 0,
        "the forked child's close or pipe"
    );
    match fstat(a) {
        Ok(st) => check!(
            T,
            st.kind() == S_IFREG,
            "a forked child's close and pipe changed the parent's fd {} to mode {:o}",
            a,
            st.mode
        ),
        Err(e) => fail!(
            T,
            "a forked child's close closed the parent's fd {} (fstat gave {})",
            a,
            e
        ),
    }
    close(a);
}

/// The program re-run by execve: `exec-check open N... closed M...`; exits 0 if the
/// descriptors are as listed, else 100 + N for a descriptor N that should be open and
/// writable with FD_CLOEXEC clear but is not, 50 + M for one that should be closed. Each
/// descriptor kept open also gets one byte written through it, so that the parent sees
/// the description itself survived (its offset moves).
fn exec_check(args: &Args) -> i32 {
    let mut want_open = true;
    for i in 2..args.argc {
        match args.get(i) {
            Some("open") => want_open = true,
            Some("closed") => want_open = false,
            Some(s) => {
                let fd = parse_num(s).unwrap_or(9999) as i32;
                let flags = fcntl(fd, F_GETFD, 0);
                let ok = if want_open {
                    flags == 0 && write(fd, b"x") == 1
                } else {
                    flags == -EBADF
                };
                if !ok {
                    return if want_open { 100 } else { 50 } + fd;
                }
            }
            None => return 99,
        }
    }
    0
}

fn exec_closes(self_path: &[u8; 128]) {
    let keep = must_open(F, O_WRONLY | O_TRUNC);
    let cloexec = must_open(F, O_RDONLY | O_CLOEXEC);
    let setfd = must_open(F, O_RDONLY);
    check!(
        T,
        fcntl(setfd, F_SETFD, FD_CLOEXEC) == 0,
        "F_SETFD FD_CLOEXEC"
    );
    let dupfd = fcntl(keep, F_DUPFD_CLOEXEC, 0);
    check!(T, dupfd >= 0, "F_DUPFD_CLOEXEC gave {}", dupfd);
    let dupfd = dupfd as i32;
    let ranged = dup(keep);
    check!(T, ranged >= 0, "dup gave {}", ranged);
    let ranged = ranged as i32;
    check!(
        T,
        close_range(ranged as u32, ranged as u32, CLOSE_RANGE_CLOEXEC) == 0,
        "close_range CLOEXEC"
    );
    // A copy of a close-on-exec descriptor (dup) does not inherit the flag.
    let copy = dup(dupfd);
    check!(T, copy >= 0, "dup gave {}", copy);
    let copy = copy as i32;
    // dup3 with O_CLOEXEC onto an open descriptor replaces it with a close-on-exec one.
    let other = dup(keep) as i32;
    check!(
        T,
        dup3(keep, other, O_CLOEXEC) == other as isize,
        "dup3 O_CLOEXEC"
    );

    let nums = [
        num_arg(keep as usize),
        num_arg(copy as usize),
        num_arg(cloexec as usize),
        num_arg(setfd as usize),
        num_arg(dupfd as usize),
        num_arg(ranged as usize),
        num_arg(other as usize),
    ];
    let argv: [*const u8; 12] = [
        self_path.as_ptr(),
        c"exec-check".as_ptr().cast(),
        c"open".as_ptr().cast(),
        nums[0].as_ptr(),
        nums[1].as_ptr(),
        c"closed".as_ptr().cast(),
        nums[2].as_ptr(),
        nums[3].as_ptr(),
        nums[4].as_ptr(),
        nums[5].as_ptr(),
        nums[6].as_ptr(),
        core::ptr::null(),
    ];
    let envp: [*const u8; 1] = [core::ptr::null()];
    let pid = fork();
    if pid == 0 {
        let r = execve_slices(self_path.as_ptr(), &argv, &envp);
        println!("{}: FAILED execve of itself gave {}", T, r);
        exit_group(1);
    }
    let code = wait_exit_code(pid);
    if code == 1 {
        exit_group(1); // execve failed and the child has said so
    }
    let what = match code {
        100.. => "is not open (or not writable, or has FD_CLOEXEC set)",
        50..100 => "is still open",
        _ => "?",
    };
    check!(
        T,
        code == 0,
        "after execve, fd {} {} (open {} {}, closed {} {} {} {} {}; exit code {})",
        if code >= 100 { code - 100 } else { code - 50 },
        what,
        keep,
        copy,
        cloexec,
        setfd,
        dupfd,
        ranged,
        other,
        code
    );
    // The kept descriptors are the same descriptions: the exec'd program's two writes
    // moved this offset.
    check!(
        T,
        offset(keep) == 2,
        "offset after the exec'd program wrote twice: {}",
        offset(keep)
    );
    for fd in [keep, copy, cloexec, setfd, dupfd, ranged, other] {
        close(fd);
    }
}

fn body(self_path: &[u8; 128]) -> i32 {
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    shared_writers("O_APPEND", O_APPEND);
    shared_writers("shared offset", 0);
    offsets();
    fcntls();
    close_ranges();
    clone_files();
    exec_closes(self_path);
    check!(T, unlink(F) == 0, "unlink f");
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    if args.get(1) == Some("exec-check") {
        return exec_check(&args);
    }
    let path = args.self_path();
    // The first run fills whatever caches the kernel keeps; the second must give back
    // every frame and heap byte it takes.
    run_test_process(T, None, || body(&path));
    let baseline = settled_mem_usage();
    run_test_process(T, baseline, || body(&path));
    println!("{}: ok", T);
    0
}
