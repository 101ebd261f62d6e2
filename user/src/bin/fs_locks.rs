//! POSIX record locks (fcntl F_SETLK, F_SETLKW, F_GETLK) between a parent and a forked
//! child: a write lock excludes every other process's lock on its bytes (F_SETLK →
//! EAGAIN, F_GETLK names the holder's pid and range), read locks share, unlocking and
//! the holder's exit release, and so does closing *any* descriptor of the file; F_SETLKW
//! waits until the holder unlocks; a process's own locks never conflict with each other
//! (a new lock replaces the old one on the bytes they share); byte ranges (disjoint ranges
//! do not conflict, length 0 reaches past EOF, a negative length counts backwards); and
//! the errors (EINVAL for a bad type or whence, EBADF for a lock the access mode does not
//! allow). Processes are synchronised with pipes, never with sleeps.
//!
//! The file is /tmp/fs_locks, removed at the end; the body runs twice in a child process
//! (a warm-up, then a run whose frames and heap must come back).
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::sync::atomic::{AtomicU64, Ordering};

use ulib::*;

const T: &str = "fs_locks";
const F: &CStr = c"/tmp/fs_locks";

fn must_open(flags: usize) -> i32 {
    let fd = open(F, flags, 0o644);
    check!(T, fd >= 0, "open({:?}, {:#o}) gave {}", F, flags, fd);
    fd as i32
}

fn type_name(ty: i16) -> &'static str {
    match ty {
        F_RDLCK => "F_RDLCK",
        F_WRLCK => "F_WRLCK",
        F_UNLCK => "F_UNLCK",
        _ => "?",
    }
}

/// fcntl(fd, cmd, &flock{ty, SEEK_SET, start, len}): the result and the flock afterwards.
fn lock(fd: i32, cmd: usize, ty: i16, start: i64, len: i64) -> (isize, Flock) {
    let mut fl = Flock {
        ty,
        whence: SEEK_SET as i16,
        start,
        len,
        pid: 0,
    };
    let r = fcntl(fd, cmd, &mut fl as *mut Flock as usize);
    (r, fl)
}

/// F_SETLK of `ty` on [start, start+len) must give `want` (0 or -errno).
fn setlk(who: &str, fd: i32, ty: i16, start: i64, len: i64, want: isize) {
    let (r, _) = lock(fd, F_SETLK, ty, start, len);
    check!(
        T,
        r == want,
        "{}: F_SETLK {} start {} len {} gave {}, want {}",
        who,
        type_name(ty),
        start,
        len,
        r,
        want
    );
}

/// F_GETLK for `ty` on [start, start+len) must report `want`: None for no conflict
/// (l_type F_UNLCK), or the conflicting lock's (type, start, len, pid).
fn getlk(who: &str, fd: i32, ty: i16, start: i64, len: i64, want: Option<(i16, i64, i64, isize)>) {
    let (r, fl) = lock(fd, F_GETLK, ty, start, len);
    check!(
        T,
        r == 0,
        "{}: F_GETLK {} start {} len {} gave {}",
        who,
        type_name(ty),
        start,
        len,
        r
    );
    match want {
        None => check!(
            T,
            fl.ty == F_UNLCK,
            "{}: F_GETLK {} start {} len {}: want no conflict (F_UNLCK), got {} start {} len {} pid {}",
            who,
            type_name(ty),
            start,
            len,
            type_name(fl.ty),
            fl.start,
            fl.len,
            fl.pid
        ),
        Some((wty, wstart, wlen, wpid)) => check!(
            T,
            fl.ty == wty
                && fl.whence == SEEK_SET as i16
                && fl.start == wstart
                && fl.len == wlen
                && fl.pid as isize == wpid,
            "{}: F_GETLK {} start {} len {}: got {} whence {} start {} len {} pid {}, want {} start {} len {} pid {}",
            who,
            type_name(ty),
            start,
            len,
            type_name(fl.ty),
            fl.whence,
            fl.start,
            fl.len,
            fl.pid,
            type_name(wty),
            wstart,
            wlen,
            wpid
        ),
    }
}

/// Runs `f` in a forked child and waits for it; a child that failed has printed why.
fn in_child(what: &str, f: impl FnOnce() -> i32) {
    let code = wait_exit_code(spawn(f));
    if code == 1 {
        exit_group(1);
    }
    check!(T, code == 0, "{}: the child ended with {}", what, code);
}

fn read_byte(fd: i32) -> u8 {
    let mut b = [0u8; 1];
    let r = read(fd, &mut b);
    check!(T, r == 1, "read from the sync pipe gave {}", r);
    b[0]
}

fn write_byte(fd: i32, b: u8) {
    let r = write(fd, &[b]);
    check!(T, r == 1, "write to the sync pipe gave {}", r);
}

fn exclusion(fd: i32) {
    let me = getpid();
    // A write lock on [0, 100): the child can take neither kind of lock on those bytes,
    // but the bytes after them are free.
    setlk("parent", fd, F_WRLCK, 0, 100, 0);
    in_child("write lock held by the parent", || {
        let c = "child, parent holds F_WRLCK 0..100";
        setlk(c, fd, F_WRLCK, 50, 10, -EAGAIN);
        setlk(c, fd, F_RDLCK, 0, 1, -EAGAIN);
        setlk(c, fd, F_RDLCK, 99, 5, -EAGAIN);
        getlk(c, fd, F_WRLCK, 50, 10, Some((F_WRLCK, 0, 100, me)));
        getlk(c, fd, F_RDLCK, 90, 20, Some((F_WRLCK, 0, 100, me)));
        getlk(c, fd, F_WRLCK, 100, 50, None);
        setlk(c, fd, F_WRLCK, 100, 100, 0);
        0
    });
    // The child's lock on [100, 200) went away when it exited.
    setlk("parent after the child exited", fd, F_WRLCK, 100, 100, 0);

    // Read locks share with read locks, not with write locks.
    setlk("parent", fd, F_RDLCK, 0, 200, 0);
    in_child("read lock held by the parent", || {
        let c = "child, parent holds F_RDLCK 0..200";
        setlk(c, fd, F_RDLCK, 10, 10, 0);
        setlk(c, fd, F_WRLCK, 150, 10, -EAGAIN);
        getlk(c, fd, F_RDLCK, 0, 200, None);
        getlk(c, fd, F_WRLCK, 150, 10, Some((F_RDLCK, 0, 200, me)));
        0
    });

    // Unlocking releases: after F_UNLCK the child may take a write lock.
    setlk("parent", fd, F_UNLCK, 0, 200, 0);
    in_child("after the parent unlocked", || {
        let c = "child, after the parent's F_UNLCK";
        getlk(c, fd, F_WRLCK, 0, 0, None);
        setlk(c, fd, F_WRLCK, 0, 200, 0);
        0
    });
}

fn own_locks(fd: i32) {
    let me = getpid();
    // A process's locks never conflict with each other: a read lock inside its own write
    // lock succeeds and replaces the write lock on those bytes only (Linux splits it).
    setlk("parent", fd, F_WRLCK, 0, 100, 0);
    setlk("parent, inside its own F_WRLCK", fd, F_RDLCK, 50, 10, 0);
    setlk("parent, over its own locks", fd, F_WRLCK, 0, 40, 0);
    getlk("parent, its own locks", fd, F_WRLCK, 0, 100, None);
    in_child("after the parent split its lock", || {
        let c = "child, parent holds F_WRLCK 0..50, F_RDLCK 50..60, F_WRLCK 60..100";
        setlk(c, fd, F_RDLCK, 50, 10, 0);
        setlk(c, fd, F_RDLCK, 55, 10, -EAGAIN);
        setlk(c, fd, F_RDLCK, 45, 10, -EAGAIN);
        getlk(c, fd, F_RDLCK, 52, 3, None);
        getlk(c, fd, F_RDLCK, 58, 100, Some((F_WRLCK, 60, 40, me)));
        getlk(c, fd, F_WRLCK, 52, 3, Some((F_RDLCK, 50, 10, me)));
        0
    });
    setlk("parent", fd, F_UNLCK, 0, 0, 0);

    // Length 0 means "to EOF and beyond"; a negative length covers the bytes before start.
    setlk("parent", fd, F_WRLCK, 1000, 0, 0);
    setlk("parent", fd, F_WRLCK, 500, -100, 0);
    in_child("ranges", || {
        let c = "child, parent holds F_WRLCK 400..500 and 1000..";
        setlk(c, fd, F_WRLCK, 999, 1, 0);
        setlk(c, fd, F_WRLCK, 1 << 40, 1, -EAGAIN);
        getlk(c, fd, F_WRLCK, 5000, 1, Some((F_WRLCK, 1000, 0, me)));
        setlk(c, fd, F_WRLCK, 450, 1, -EAGAIN);
        getlk(c, fd, F_RDLCK, 300, 150, Some((F_WRLCK, 400, 100, me)));
        setlk(c, fd, F_WRLCK, 399, 1, 0);
        setlk(c, fd, F_WRLCK, 500, 1, 0);
        0
    });
    setlk("parent", fd, F_UNLCK, 0, 0, 0);
}

/// F_SETLKW: the child blocks on the parent's write lock and gets it only after the
/// parent unlocks. `flag` (shared memory) turns 1 just before the unlock, so a child that
/// got the lock earlier sees 0.
fn waiting(fd: i32, flag: &'static AtomicU64) {
    flag.store(0, Ordering::SeqCst);
    setlk("parent", fd, F_WRLCK, 0, 10, 0);
    let ready = pipe();
    let pid = spawn(|| {
        close(ready[0]);
        write_byte(ready[1], b'r');
        // Blocks until the parent unlocks (it has set the flag by then).
        let (r, _) = lock(fd, F_SETLKW, F_WRLCK, 5, 10);
        if r != 0 {
            println!(
                "{}: FAILED child: F_SETLKW F_WRLCK start 5 len 10 gave {}",
                T, r
            );
            return 1;
        }
        if flag.load(Ordering::SeqCst) != 1 {
            println!(
                "{}: FAILED child: F_SETLKW returned while the parent still held its write lock",
                T
            );
            return 1;
        }
        0
    });
    close(ready[1]);
    check!(T, read_byte(ready[0]) == b'r', "the child's ready byte");
    // Give the child every chance to reach F_SETLKW and sleep there (no timing matters:
    // if it has not got there yet, it finds the lock free and the test still holds).
    for _ in 0..50 {
        sched_yield();
    }
    flag.store(1, Ordering::SeqCst);
    setlk("parent", fd, F_UNLCK, 0, 10, 0);
    let code = wait_exit_code(pid);
    if code == 1 {
        exit_group(1);
    }
    check!(T, code == 0, "the F_SETLKW child ended with {}", code);
    close(ready[0]);

    // F_SETLKW on a free range (or one only read-locked by others, for a read lock)
    // returns at once.
    let (r, _) = lock(fd, F_SETLKW, F_RDLCK, 0, 100);
    check!(T, r == 0, "F_SETLKW F_RDLCK on a free range gave {}", r);
    in_child("F_SETLKW read lock beside a read lock", || {
        let (r, _) = lock(fd, F_SETLKW, F_RDLCK, 0, 100);
        check!(
            T,
            r == 0,
            "child: F_SETLKW F_RDLCK beside the parent's F_RDLCK gave {}",
            r
        );
        0
    });
    setlk("parent", fd, F_UNLCK, 0, 0, 0);
}

fn release_rules(fd: i32) {
    // Closing any descriptor of the file drops all of the process's locks on it, even one
    // from another open (the POSIX rule the OFD locks were invented to avoid).
    setlk("parent", fd, F_WRLCK, 0, 10, 0);
    let other = must_open(O_RDONLY);
    check!(T, close(other) == 0, "close of a second descriptor");
    in_child("after the parent closed another descriptor", || {
        getlk("child", fd, F_WRLCK, 0, 10, None);
        0
    });
    // A dup's close too.
    setlk("parent", fd, F_WRLCK, 0, 10, 0);
    let d = dup(fd);
    check!(T, d >= 0 && close(d as i32) == 0, "dup and close");
    in_child("after the parent closed a dup", || {
        getlk("child", fd, F_WRLCK, 0, 10, None);
        0
    });

    // The holder's exit releases: a child locks, the parent sees it held, the child exits.
    let held = pipe();
    let go = pipe();
    let pid = spawn(|| {
        close(held[0]);
        close(go[1]);
        let (r, _) = lock(fd, F_SETLK, F_WRLCK, 20, 5);
        write_byte(held[1], if r == 0 { b'y' } else { b'n' });
        // Wait for the parent's go (or its death: then read returns 0).
        let mut b = [0u8; 1];
        read(go[0], &mut b);
        0
    });
    close(held[1]);
    close(go[0]);
    check!(T, read_byte(held[0]) == b'y', "the child's F_SETLK failed");
    setlk(
        "parent, the child holds F_WRLCK 20..25",
        fd,
        F_WRLCK,
        22,
        1,
        -EAGAIN,
    );
    getlk("parent", fd, F_RDLCK, 0, 0, Some((F_WRLCK, 20, 5, pid)));
    write_byte(go[1], b'g');
    check!(T, wait_exit_code(pid) == 0, "the lock-holding child");
    setlk("parent, after the holder exited", fd, F_WRLCK, 22, 1, 0);
    setlk("parent", fd, F_UNLCK, 0, 0, 0);
    close(held[0]);
    close(go[1]);
}

fn errors(fd: i32) {
    let (r, _) = lock(fd, F_SETLK, 7, 0, 1);
    check!(T, r == -EINVAL, "F_SETLK with l_type 7 gave {}", r);
    let (r, _) = lock(fd, F_GETLK, 7, 0, 1);
    check!(T, r == -EINVAL, "F_GETLK with l_type 7 gave {}", r);
    let (r, _) = lock(fd, F_GETLK, F_UNLCK, 0, 1);
    check!(T, r == -EINVAL, "F_GETLK with l_type F_UNLCK gave {}", r);
    let mut fl = Flock {
        ty: F_WRLCK,
        whence: 7,
        start: 0,
        len: 1,
        pid: 0,
    };
    let r = fcntl(fd, F_SETLK, &mut fl as *mut Flock as usize);
    check!(T, r == -EINVAL, "F_SETLK with l_whence 7 gave {}", r);
    let (r, _) = lock(fd, F_SETLK, F_WRLCK, -1, 1);
    check!(T, r == -EINVAL, "F_SETLK at start -1 gave {}", r);
    let (r, _) = lock(fd, F_SETLK, F_WRLCK, 5, -10);
    check!(
        T,
        r == -EINVAL,
        "F_SETLK start 5 len -10 (before byte 0) gave {}",
        r
    );
    // The lock's type must be allowed by the access mode.
    let ro = must_open(O_RDONLY);
    let (r, _) = lock(ro, F_SETLK, F_WRLCK, 0, 1);
    check!(
        T,
        r == -EBADF,
        "F_SETLK F_WRLCK on an O_RDONLY fd gave {}",
        r
    );
    let (r, _) = lock(ro, F_SETLK, F_RDLCK, 0, 1);
    check!(T, r == 0, "F_SETLK F_RDLCK on an O_RDONLY fd gave {}", r);
    let wo = must_open(O_WRONLY);
    let (r, _) = lock(wo, F_SETLK, F_RDLCK, 0, 1);
    check!(
        T,
        r == -EBADF,
        "F_SETLK F_RDLCK on an O_WRONLY fd gave {}",
        r
    );
    // F_GETLK only asks, so any access mode will do.
    let (r, _) = lock(ro, F_GETLK, F_WRLCK, 0, 1);
    check!(T, r == 0, "F_GETLK F_WRLCK on an O_RDONLY fd gave {}", r);
    close(wo); // (drops the read lock taken through `ro`, too)
    close(ro);
    let (r, _) = lock(99, F_SETLK, F_RDLCK, 0, 1);
    check!(T, r == -EBADF, "F_SETLK on a closed fd gave {}", r);
    let r = fcntl(fd, F_SETLK, 8);
    check!(
        T,
        r == -EFAULT,
        "F_SETLK with an unmapped struct flock gave {}",
        r
    );
}

fn body() -> i32 {
    let fd = open(F, O_RDWR | O_CREAT | O_EXCL, 0o644);
    check!(T, fd >= 0, "open({:?}, O_CREAT|O_EXCL) gave {}", F, fd);
    let fd = fd as i32;
    let flag = &shared_atomics()[0];
    exclusion(fd);
    own_locks(fd);
    waiting(fd, flag);
    release_rules(fd);
    errors(fd);
    close(fd);
    check!(T, unlink(F) == 0, "unlink {:?}", F);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    run_test_twice(T, body)
}
