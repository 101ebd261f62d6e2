//! Each CLONE_* flag, with and without it: VM (memory), FS (umask, cwd), FILES (close),
//! SIGHAND (rt_sigaction), THREAD (getpid/gettid, exit_group, leader reaped last).
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "clone_flags";

static SHARED_WORD: AtomicU64 = AtomicU64::new(0);
static DUP_FD: AtomicU64 = AtomicU64::new(0);

/// Runs `f` in a child made by clone(flags) on its own stack and waits for it.
fn run_child(flags: usize, f: extern "C" fn(usize) -> i32, arg: usize) -> i32 {
    let tid = AtomicU32::new(0);
    let pid = clone_fn(flags | SIGCHLD, f, arg, &tid);
    if pid <= 0 {
        return -1000 + pid as i32;
    }
    wait_exit_code(pid)
}

extern "C" fn write_word(_: usize) -> i32 {
    SHARED_WORD.store(77, Ordering::SeqCst);
    0
}

/// Directories that exist here (/tmp in this kernel's initrd) or on Linux (/dev, /root).
const DIRS: [&[u8]; 3] = [b"/tmp\0", b"/dev\0", b"/root\0"];
static DIR: AtomicU64 = AtomicU64::new(0);

fn chdir(path: &[u8]) -> isize {
    syscall(SYS_CHDIR, &[path.as_ptr() as usize])
}

extern "C" fn change_fs(_: usize) -> i32 {
    syscall(SYS_UMASK, &[0o077]);
    chdir(DIRS[DIR.load(Ordering::SeqCst) as usize]) as i32
}

extern "C" fn close_fd(_: usize) -> i32 {
    close(DUP_FD.load(Ordering::SeqCst) as i32) as i32
}

extern "C" fn set_handler(_: usize) -> i32 {
    let act = [0x1234usize, 0, 0, 0];
    syscall(SYS_RT_SIGACTION, &[10, act.as_ptr() as usize, 0, 8]) as i32
}

fn umask_now() -> usize {
    let old = syscall(SYS_UMASK, &[0o022]) as usize;
    syscall(SYS_UMASK, &[old]);
    old
}

fn cwd() -> [u8; 32] {
    let mut b = [0u8; 32];
    syscall(SYS_GETCWD, &[b.as_mut_ptr() as usize, 32]);
    b
}

fn handler_of_sigusr1() -> usize {
    let mut old = [0usize; 4];
    syscall(SYS_RT_SIGACTION, &[10, 0, old.as_mut_ptr() as usize, 8]);
    old[0]
}

fn reset() {
    syscall(SYS_UMASK, &[0o022]);
    let root = b"/\0";
    syscall(SYS_CHDIR, &[root.as_ptr() as usize]);
    let dfl = [0usize; 4];
    syscall(SYS_RT_SIGACTION, &[10, dfl.as_ptr() as usize, 0, 8]);
    SHARED_WORD.store(0, Ordering::SeqCst);
}

extern "C" fn thread_ids(out: usize) -> i32 {
    // SAFETY: `out` points at a [u64; 2] in the shared address space.
    let out = unsafe { &mut *(out as *mut [u64; 2]) };
    out[0] = getpid() as u64;
    out[1] = gettid() as u64;
    0
}

static GO: AtomicU32 = AtomicU32::new(0);

/// thread_ids once the parent has set GO.
extern "C" fn thread_ids_after_go(out: usize) -> i32 {
    while GO.load(Ordering::SeqCst) == 0 {
        sched_yield();
    }
    thread_ids(out)
}

extern "C" fn sleepy_thread(marker: usize) -> i32 {
    nanosleep_ns(100_000_000);
    // SAFETY: a word of a MAP_SHARED page.
    unsafe { (marker as *mut u64).write_volatile(1) };
    exit(9)
}

extern "C" fn group_exiter(_: usize) -> i32 {
    nanosleep_ns(10_000_000);
    exit_group(5)
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // CLONE_VM
    reset();
    check!(T, run_child(CLONE_VM, write_word, 0) == 0, "VM child");
    check!(
        T,
        SHARED_WORD.load(Ordering::SeqCst) == 77,
        "CLONE_VM: the child's write is not visible"
    );
    reset();
    check!(T, run_child(0, write_word, 0) == 0, "plain child");
    check!(
        T,
        SHARED_WORD.load(Ordering::SeqCst) == 0,
        "without CLONE_VM the child's write leaked"
    );

    // CLONE_FS
    let Some(d) = DIRS.iter().position(|d| chdir(d) == 0) else {
        fail!(T, "no directory to chdir to")
    };
    DIR.store(d as u64, Ordering::SeqCst);
    let dir = DIRS[d];
    reset();
    check!(T, run_child(CLONE_FS, change_fs, 0) == 0, "FS child");
    check!(T, umask_now() == 0o077, "CLONE_FS: umask not shared");
    check!(T, cwd().starts_with(dir), "CLONE_FS: cwd not shared");
    reset();
    check!(T, run_child(0, change_fs, 0) == 0, "plain FS child");
    check!(
        T,
        umask_now() == 0o022 && cwd().starts_with(b"/\0"),
        "without CLONE_FS umask/cwd leaked"
    );

    // CLONE_FILES
    let fd = syscall(SYS_DUP, &[1]);
    DUP_FD.store(fd as u64, Ordering::SeqCst);
    check!(T, run_child(0, close_fd, 0) == 0, "plain close child");
    check!(
        T,
        write(fd as i32, b"") == 0,
        "without CLONE_FILES the child's close leaked"
    );
    check!(
        T,
        run_child(CLONE_FILES, close_fd, 0) == 0,
        "FILES close child"
    );
    check!(
        T,
        write(fd as i32, b"") == -EBADF,
        "CLONE_FILES: the child's close is not seen"
    );

    // CLONE_SIGHAND (needs CLONE_VM)
    reset();
    check!(
        T,
        run_child(CLONE_VM | CLONE_SIGHAND, set_handler, 0) == 0,
        "SIGHAND child"
    );
    check!(
        T,
        handler_of_sigusr1() == 0x1234,
        "CLONE_SIGHAND: handler not shared"
    );
    reset();
    check!(T, run_child(CLONE_VM, set_handler, 0) == 0, "VM-only child");
    check!(
        T,
        handler_of_sigusr1() == 0,
        "without CLONE_SIGHAND the handler leaked"
    );

    // CLONE_THREAD: same tgid, own tid; not a waitable child.
    let ids = shared_page();
    let tid = AtomicU32::new(0);
    let flags = THREAD_FLAGS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
    let t = clone_fn(flags, thread_ids_after_go, ids.as_mut_ptr() as usize, &tid);
    check!(T, t > 0, "thread clone");
    // The join below waits only while the word holds the tid: without CLONE_PARENT_SETTID
    // it would not wait at all, and what follows would race the thread. (The thread waits
    // for GO, so it cannot have exited and cleared the word yet.)
    let settid = tid.load(Ordering::SeqCst);
    check!(
        T,
        settid == t as u32,
        "CLONE_PARENT_SETTID stored the thread's tid before clone returned (got {})",
        settid
    );
    GO.store(1, Ordering::SeqCst);
    join(&tid);
    check!(
        T,
        ids[0] == getpid() as u64,
        "a thread's getpid() is the group id"
    );
    check!(
        T,
        ids[1] == t as u64 && ids[1] != getpid() as u64,
        "a thread's gettid() is its own"
    );
    ids[0] = 0;
    let p = spawn(|| {
        let t2 = AtomicU32::new(0);
        clone_fn(THREAD_FLAGS, thread_ids, ids.as_mut_ptr() as usize, &t2);
        nanosleep_ns(50_000_000);
        0
    });
    check!(
        T,
        wait_exit_code(p) == 0 && ids[0] == p as u64,
        "thread in a forked process"
    );

    // exit_group from a thread ends the whole group with its code.
    let p = spawn(|| {
        let t2 = AtomicU32::new(0);
        clone_fn(THREAD_FLAGS, group_exiter, 0, &t2);
        loop {
            nanosleep_ns(1_000_000_000);
        }
    });
    check!(T, wait_exit_code(p) == 5, "exit_group from a thread");

    // The leader exits first: the group is reaped only after its last thread exits.
    let marker = shared_page();
    let p = spawn(|| {
        let t2 = AtomicU32::new(0);
        clone_fn(
            THREAD_FLAGS,
            sleepy_thread,
            marker.as_mut_ptr() as usize,
            &t2,
        );
        exit(3) // only the leader
    });
    nanosleep_ns(30_000_000);
    check!(
        T,
        wait4(p, WNOHANG).0 == 0,
        "the group was reaped while a thread still ran"
    );
    let code = wait_exit_code(p);
    check!(T, marker[0] == 1, "reaped before the last thread exited");
    check!(
        T,
        code == 9,
        "the group reports its last thread's exit code, as Linux does (got {})",
        code
    );
    println!("{}: ok", T);
    0
}
