//! Process groups and sessions, as Linux 6.1 has them (every check passes on the Linux
//! oracle too): getpgid/getsid, setpgid's errors in Linux's order (ESRCH, EINVAL for a
//! thread, EPERM across sessions or for a session leader, EACCES once the child exec'd),
//! setsid, inheritance through fork and execve, wait4 by process group (pid < -1 and 0),
//! kill of a group, of every process (-1) and of any thread id of a process.
#![no_std]
#![no_main]

use core::sync::atomic::AtomicU32;

use ulib::*;

const T: &str = "proc_groups";

fn wait_byte(fd: i32) {
    let mut b = [0u8; 1];
    read(fd, &mut b);
}

fn byte(fd: i32, v: u8) {
    write(fd, &[v]);
}

/// Reads until end of file (every writer gone).
fn wait_eof(fd: i32) {
    let mut b = [0u8; 16];
    while read(fd, &mut b) > 0 {}
}

/// wait4(pid) -> (pid reaped, exit code or 128 + signal).
fn reap(pid: isize) -> (isize, i32) {
    let (r, st) = wait4(pid, 0);
    let code = if st & 0x7f != 0 {
        128 + (st & 0x7f)
    } else {
        (st >> 8) & 0xff
    };
    (r, code)
}

fn basics() -> (isize, isize) {
    let me = getpid();
    let (pg, sid) = (getpgid(0), getsid(0));
    check!(T, pg >= 0 && sid >= 0, "getpgid {} getsid {}", pg, sid);
    check!(T, getpgid(me) == pg && getsid(me) == sid, "by pid");
    check!(T, getpgid(99999) == -ESRCH, "getpgid: ESRCH");
    check!(T, getsid(99999) == -ESRCH, "getsid: ESRCH");
    check!(T, getpgid(-1) == -ESRCH, "getpgid(-1): ESRCH");
    check!(T, setpgid(0, -1) == -EINVAL, "negative pgid: EINVAL");
    check!(T, setpgid(99999, 0) == -ESRCH, "no such process: ESRCH");
    check!(T, setpgid(0, 99999) == -EPERM, "no such group: EPERM");
    let pid = spawn(|| {
        if getpgid(0) != pg || getsid(0) != sid {
            1
        } else if setpgid(getppid(), 0) != -ESRCH {
            2 // not our child
        } else {
            0
        }
    });
    check!(
        T,
        reap(pid) == (pid, 0),
        "a child inherits the group and session, and cannot move its parent"
    );
    (pg, sid)
}

fn setpgid_setsid(me: isize) {
    // A process group of our own first: group 0 (init's) cannot be named by setpgid.
    check!(T, setpgid(0, 0) == 0 && getpgid(0) == me, "setpgid(0, 0)");
    check!(T, setsid() == -EPERM, "setsid by a group leader: EPERM");
    let go = pipe();
    let back = pipe();
    let c = spawn(|| {
        close(go[1]);
        wait_byte(go[0]);
        byte(back[1], (setsid() == -EPERM) as u8); // we lead a group
        wait_byte(go[0]);
        let me = getpid();
        let ok = setsid() == me
            && getsid(0) == me
            && getpgid(0) == me
            && setsid() == -EPERM // a session leader
            && setpgid(0, 0) == -EPERM;
        let gc = spawn(|| (getsid(0) != getppid() || getpgid(0) != getppid()) as i32);
        let inherited = reap(gc) == (gc, 0);
        byte(back[1], (ok && inherited) as u8);
        wait_byte(go[0]);
        0
    });
    check!(
        T,
        setpgid(c, c) == 0 && getpgid(c) == c,
        "setpgid(child, child)"
    );
    check!(
        T,
        setpgid(c, 0) == 0 && getpgid(c) == c,
        "setpgid(child, 0)"
    );
    byte(go[1], 1);
    let mut b = [0u8; 1];
    check!(
        T,
        read(back[0], &mut b) == 1 && b[0] == 1,
        "setsid in a group leader: EPERM"
    );
    check!(
        T,
        setpgid(c, me) == 0 && getpgid(c) == me,
        "back to our group"
    );
    check!(
        T,
        setpgid(0, c) == -EPERM,
        "group c no longer exists: EPERM"
    );
    byte(go[1], 2);
    check!(
        T,
        read(back[0], &mut b) == 1 && b[0] == 1,
        "setsid: a new session and group, errors after, inherited by fork"
    );
    check!(T, getsid(c) == c && getpgid(c) == c, "seen from outside");
    check!(
        T,
        setpgid(c, c) == -EPERM,
        "a child in another session: EPERM"
    );
    check!(T, setpgid(c, me) == -EPERM, "still EPERM");
    check!(
        T,
        setpgid(0, c) == -EPERM,
        "a group of another session: EPERM"
    );
    byte(go[1], 3);
    check!(T, reap(c) == (c, 0), "child");
    for fd in go.iter().chain(back.iter()) {
        close(*fd);
    }
}

/// After execve: 20 tells the parent we exec'd, 21 holds us until the parent closes it.
fn held() -> i32 {
    let code = if getpgid(0) == getpid() { 0 } else { 3 };
    byte(20, 1);
    wait_eof(21);
    code
}

fn after_exec(args: &Args) {
    let sync = pipe2(O_CLOEXEC).unwrap_or_else(|e| fail!(T, "pipe2 {}", e));
    let hold = pipe2(O_CLOEXEC).unwrap_or_else(|e| fail!(T, "pipe2 {}", e));
    let path = args.self_path();
    let c = fork();
    if c == 0 {
        setpgid(0, 0);
        dup3(sync[1], 20, 0);
        dup3(hold[0], 21, 0);
        let argv = [path.as_ptr() as usize, c"held".as_ptr() as usize, 0];
        let r = execve(path.as_ptr(), argv.as_ptr(), [0usize].as_ptr());
        println!("{}: FAILED execve {}", T, r);
        exit_group(99);
    }
    wait_byte(sync[0]);
    check!(
        T,
        setpgid(c, c) == -EACCES,
        "setpgid after the child exec'd: EACCES"
    );
    close(hold[1]);
    check!(T, reap(c) == (c, 0), "the group survives execve");
    close(sync[0]);
    close(sync[1]);
    close(hold[0]);
}

fn wait_by_group(me: isize) {
    let fds = pipe();
    let child = |code: i32, own_group: bool| {
        let pid = fork();
        if pid == 0 {
            close(fds[1]);
            if own_group {
                setpgid(0, 0);
            }
            wait_eof(fds[0]);
            exit_group(code);
        }
        check!(T, pid > 0, "fork");
        pid
    };
    let g1 = child(11, true);
    check!(T, setpgid(g1, g1) == 0, "g1 leads a group");
    let g2 = child(12, false);
    check!(T, setpgid(g2, g1) == 0, "g2 joins it");
    let g3 = child(13, false);
    let g4 = child(14, true);
    check!(T, setpgid(g4, g4) == 0, "g4 leads another");
    check!(T, getpgid(g3) == me, "g3 stays in ours");
    check!(T, wait4(-g1, WNOHANG).0 == 0, "WNOHANG on a live group");
    check!(
        T,
        wait4(-99999, WNOHANG).0 == -ECHILD,
        "no child in that group"
    );
    close(fds[1]);
    let (a, b) = (reap(-g1), reap(-g1));
    let mut got = [a, b];
    got.sort_unstable();
    check!(
        T,
        got == [(g1, 11), (g2, 12)],
        "wait4(-g1) reaps g1 and g2: {:?}",
        got
    );
    check!(T, wait4(-g1, 0).0 == -ECHILD, "then ECHILD");
    check!(T, reap(0) == (g3, 13), "wait4(0): our own group");
    check!(T, wait4(0, 0).0 == -ECHILD, "nothing else in our group");
    check!(T, wait4(i32::MIN as isize, 0).0 == -ESRCH, "INT_MIN: ESRCH");
    check!(T, reap(-1) == (g4, 14), "wait4(-1): the rest");
    close(fds[0]);
}

fn kill_groups() {
    check!(T, kill(i32::MIN as isize, 0) == -ESRCH, "kill(INT_MIN)");
    check!(T, kill(-99999, 0) == -ESRCH, "an empty group: ESRCH");
    check!(T, kill(0, 0) == 0, "our group");
    check!(T, kill(0, 65) == -EINVAL, "bad signal: EINVAL");
    check!(T, kill(99999, 65) == -ESRCH, "ESRCH before EINVAL");
    let fds = pipe();
    let g1 = spawn(|| {
        setpgid(0, 0);
        wait_eof(fds[0]);
        0
    });
    check!(T, setpgid(g1, g1) == 0, "g1's group");
    let g2 = spawn(|| {
        wait_eof(fds[0]);
        0
    });
    check!(T, setpgid(g2, g1) == 0, "g2 in it");
    check!(T, kill(-1, 0) == 0, "kill(-1, 0) reaches our children");
    check!(T, kill(-g1, 0) == 0, "signal 0 to the group");
    check!(T, kill(-g1, SIGKILL) == 0, "SIGKILL to the group");
    check!(T, reap(g1) == (g1, 128 + 9), "g1 killed");
    check!(T, reap(g2) == (g2, 128 + 9), "g2 killed");
    check!(T, kill(-g1, 0) == -ESRCH, "the group is gone");
    close(fds[0]);
    close(fds[1]);
}

static NEVER: AtomicU32 = AtomicU32::new(0);

extern "C" fn block_forever(_: usize) -> i32 {
    loop {
        futex_wait(&NEVER, 0, true);
    }
}

fn kill_thread() {
    let shared = shared_page();
    let word = &raw mut shared[0];
    // SAFETY: a word of our MAP_SHARED page, which the child writes across fork.
    let get = || unsafe { word.read_volatile() };
    let c = fork();
    if c == 0 {
        let tid = AtomicU32::new(0);
        let t = clone_fn(THREAD_FLAGS, block_forever, 0, &tid);
        // SAFETY: the same shared word, written once for the parent to see.
        unsafe { word.write_volatile(t as u64) };
        loop {
            futex_wait(&NEVER, 0, true);
        }
    }
    let mut spins = 0;
    while (get() as isize) <= 0 {
        sched_yield();
        spins += 1;
        check!(T, spins < 1_000_000, "the thread never started");
    }
    let tid = get() as isize;
    check!(T, tid != c, "a thread of its own");
    check!(T, kill(tid, 0) == 0, "kill(thread id, 0)");
    check!(T, getpgid(tid) == getpgid(c), "a thread's process group");
    check!(T, setpgid(tid, 0) == -EINVAL, "setpgid of a thread: EINVAL");
    check!(
        T,
        prlimit(tid, RLIMIT_NOFILE, None).is_ok(),
        "prlimit64 of a thread"
    );
    check!(
        T,
        wait4(tid, WNOHANG).0 == -ECHILD,
        "wait4 of a thread: ECHILD"
    );
    check!(T, kill(tid, SIGKILL) == 0, "SIGKILL through the thread id");
    check!(T, reap(c) == (c, 128 + 9), "the whole process died");
    check!(T, kill(tid, 0) == -ESRCH, "and the thread with it");
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    if args.get(1) == Some("held") {
        return held();
    }
    let me = getpid();
    basics();
    setpgid_setsid(me);
    after_exec(&args);
    wait_by_group(me);
    kill_groups();
    kill_thread();
    println!("{}: ok", T);
    0
}
