//! The working directory, the root directory and who shares them: chdir, fchdir, getcwd
//! (ERANGE, the real path behind a symlink, a removed cwd), chroot (the new "/", ".."
//! cannot climb out of it), CLONE_FS (a child made with it shares cwd and umask both
//! ways; a fork gets copies), and the umask a fork inherits.
//!
//! Everything lives under /tmp/fs_cwd and is removed at the end; the body runs twice in a
//! child process (a warm-up, then a run whose frames and heap must come back).
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::sync::atomic::{AtomicU32, Ordering};

use ulib::*;

const T: &str = "fs_cwd";
const DIR: &CStr = c"/tmp/fs_cwd";
const REAL: &CStr = c"/tmp/fs_cwd/real";

/// getcwd into a 256-byte buffer; fails the test on an error.
fn cwd(buf: &mut [u8; 256]) -> &[u8] {
    let n = getcwd(buf);
    check!(T, n > 0, "getcwd gave {}", n);
    // The system call returns the length including the NUL.
    check!(
        T,
        buf[n as usize - 1] == 0,
        "getcwd's result ({} bytes) does not end in NUL",
        n
    );
    &buf[..n as usize - 1]
}

fn check_cwd(what: &str, want: &[u8]) {
    let mut buf = [0u8; 256];
    let got = cwd(&mut buf);
    check!(
        T,
        got == want,
        "{}: getcwd gave {:?}, want {:?}",
        what,
        core::str::from_utf8(got),
        core::str::from_utf8(want)
    );
}

fn must_open(path: &CStr, flags: usize) -> i32 {
    let fd = open(path, flags, 0o644);
    check!(T, fd >= 0, "open({:?}) gave {}", path, fd);
    fd as i32
}

/// The current umask (umask has no read-only form: set and put back).
fn umask_now() -> isize {
    let old = umask(0o022);
    umask(old as u32);
    old
}

fn chdir_getcwd() {
    check!(T, chdir(REAL) == 0, "chdir real");
    check_cwd("after chdir /tmp/fs_cwd/real", b"/tmp/fs_cwd/real");
    // The buffer must hold the path and its NUL: 16 + 1 bytes here.
    let mut buf = [0u8; 32];
    let r = getcwd(&mut buf[..16]);
    check!(
        T,
        r == -ERANGE,
        "getcwd into 16 bytes for a 16-byte path: got {} want {}",
        r,
        -ERANGE
    );
    let r = getcwd(&mut buf[..17]);
    check!(
        T,
        r == 17,
        "getcwd into 17 bytes for a 16-byte path: got {} want 17",
        r
    );
    let r = getcwd(&mut []);
    check!(
        T,
        r == -ERANGE,
        "getcwd into 0 bytes: got {} want {}",
        r,
        -ERANGE
    );
    let r = syscall(SYS_GETCWD, &[0x10, 64]);
    check!(
        T,
        r == -EFAULT,
        "getcwd into address 0x10: got {} want {}",
        r,
        -EFAULT
    );

    // Relative paths start at the cwd.
    check!(
        T,
        write_file(c"rel", b"r") == 1,
        "create a file by a relative name"
    );
    check!(
        T,
        lstat(c"/tmp/fs_cwd/real/rel").is_ok(),
        "a relative name did not land in the cwd"
    );
    check!(T, unlink(c"rel") == 0, "unlink rel");
    check!(T, chdir(c"..") == 0, "chdir ..");
    check_cwd("after chdir ..", b"/tmp/fs_cwd");
    check!(T, chdir(c"/") == 0 && chdir(c"..") == 0, "chdir / then ..");
    check_cwd("\"..\" of the root", b"/");

    let r = chdir(c"/tmp/fs_cwd/missing");
    check!(
        T,
        r == -ENOENT,
        "chdir to a missing directory: got {} want {}",
        r,
        -ENOENT
    );
    let r = chdir(c"/tmp/fs_cwd/file");
    check!(
        T,
        r == -ENOTDIR,
        "chdir to a file: got {} want {}",
        r,
        -ENOTDIR
    );
    let r = chdir(c"");
    check!(T, r == -ENOENT, "chdir(\"\"): got {} want {}", r, -ENOENT);
    let r = syscall(SYS_CHDIR, &[0x10]);
    check!(
        T,
        r == -EFAULT,
        "chdir of path pointer 0x10: got {} want {}",
        r,
        -EFAULT
    );
    check_cwd("after failed chdirs", b"/");

    // fchdir: a directory descriptor (also an O_PATH one); not a file, not a bad fd.
    let fd = must_open(REAL, O_RDONLY | O_DIRECTORY);
    check!(T, fchdir(fd) == 0, "fchdir(real)");
    check_cwd("after fchdir", b"/tmp/fs_cwd/real");
    close(fd);
    let fd = must_open(DIR, O_PATH | O_DIRECTORY);
    check!(T, fchdir(fd) == 0, "fchdir(O_PATH fd)");
    check_cwd("after fchdir of an O_PATH fd", b"/tmp/fs_cwd");
    close(fd);
    let fd = must_open(c"/tmp/fs_cwd/file", O_RDONLY);
    let r = fchdir(fd);
    check!(
        T,
        r == -ENOTDIR,
        "fchdir of a file: got {} want {}",
        r,
        -ENOTDIR
    );
    close(fd);
    let r = fchdir(999);
    check!(T, r == -EBADF, "fchdir(999): got {} want {}", r, -EBADF);

    // Through a symlink the cwd is the directory itself: getcwd gives the real path.
    check!(
        T,
        chdir(c"/tmp/fs_cwd/link") == 0,
        "chdir through the symlink"
    );
    check_cwd(
        "after chdir /tmp/fs_cwd/link (-> real)",
        b"/tmp/fs_cwd/real",
    );
    check!(T, chdir(c"..") == 0, "chdir .. from real");
    check_cwd("\"..\" after entering through a symlink", b"/tmp/fs_cwd");

    // A removed cwd: getcwd fails, nothing can be created in it, ".." still works.
    check!(T, mkdir(c"/tmp/fs_cwd/gone", 0o755) == 0, "mkdir gone");
    check!(T, chdir(c"/tmp/fs_cwd/gone") == 0, "chdir gone");
    check!(T, rmdir(c"/tmp/fs_cwd/gone") == 0, "rmdir of the cwd");
    let mut buf = [0u8; 64];
    let r = getcwd(&mut buf);
    check!(
        T,
        r == -ENOENT,
        "getcwd in a removed directory: got {} want {}",
        r,
        -ENOENT
    );
    let r = open(c"x", O_CREAT | O_WRONLY, 0o644);
    check!(
        T,
        r == -ENOENT,
        "create in a removed cwd: got {} want {}",
        r,
        -ENOENT
    );
    check!(T, chdir(c"..") == 0, "chdir .. from a removed cwd");
    check_cwd("\"..\" of a removed cwd", b"/tmp/fs_cwd");
    check!(T, chdir(c"/") == 0, "chdir /");
}

/// chroot in a child process (the test process keeps its root for the clean-up).
fn chroot_jail() {
    check!(T, mkdir(c"/tmp/fs_cwd/jail", 0o755) == 0, "mkdir jail");
    check!(
        T,
        mkdir(c"/tmp/fs_cwd/jail/sub", 0o755) == 0,
        "mkdir jail/sub"
    );
    check!(
        T,
        write_file(c"/tmp/fs_cwd/jail/inside", b"in") == 2,
        "write jail/inside"
    );
    check!(
        T,
        symlinkat(c"/inside", AT_FDCWD, c"/tmp/fs_cwd/jail/abs") == 0,
        "symlink jail/abs -> /inside"
    );
    let r = chroot(c"/tmp/fs_cwd/file");
    check!(
        T,
        r == -ENOTDIR,
        "chroot to a file: got {} want {}",
        r,
        -ENOTDIR
    );
    let r = chroot(c"/tmp/fs_cwd/missing");
    check!(
        T,
        r == -ENOENT,
        "chroot to a missing directory: got {} want {}",
        r,
        -ENOENT
    );
    let pid = spawn(|| {
        let r = chroot(c"/tmp/fs_cwd/jail");
        check!(T, r == 0, "chroot(/tmp/fs_cwd/jail) as root: got {}", r);
        check!(T, chdir(c"/") == 0, "chdir / in the jail");
        check_cwd("chdir / in the jail", b"/");
        let mut buf = [0u8; 8];
        let n = read_file(c"/inside", &mut buf);
        check!(
            T,
            n == 2 && &buf[..2] == b"in",
            "read /inside in the jail: {}",
            n
        );
        // An absolute symlink is resolved against the new root.
        let n = read_file(c"/abs", &mut buf);
        check!(T, n == 2, "read /abs (-> /inside) in the jail: {}", n);
        // ".." of the new root is the root itself.
        check!(
            T,
            chdir(c"..") == 0 && chdir(c"../..") == 0,
            "chdir .. in the jail"
        );
        check_cwd("chdir .. at the jail's root", b"/");
        let n = read_file(c"/../../../inside", &mut buf);
        check!(T, n == 2, "read /../../../inside in the jail: {}", n);
        let n = read_file(c"sub/../../inside", &mut buf);
        check!(T, n == 2, "read sub/../../inside in the jail: {}", n);
        let (root, up) = (stat(c"/"), stat(c"/.."));
        check!(
            T,
            matches!((root, up), (Ok(a), Ok(b)) if a.ino == b.ino && a.dev == b.dev),
            "\"/..\" in the jail is not \"/\""
        );
        let r = stat(c"/tmp").err();
        check!(
            T,
            r == Some(-ENOENT),
            "/tmp seen from the jail: got {:?} want {}",
            r,
            -ENOENT
        );
        check!(T, chdir(c"/sub") == 0, "chdir /sub");
        check_cwd("chdir /sub in the jail", b"/sub");
        0
    });
    check!(T, wait_exit_code(pid) == 0, "the chroot child failed");
    for path in [c"/tmp/fs_cwd/jail/inside", c"/tmp/fs_cwd/jail/abs"] {
        check!(T, unlink(path) == 0, "unlink {:?}", path);
    }
    check!(
        T,
        rmdir(c"/tmp/fs_cwd/jail/sub") == 0 && rmdir(c"/tmp/fs_cwd/jail") == 0,
        "rmdir jail"
    );
}

static PHASE: AtomicU32 = AtomicU32::new(0);

fn wait_phase(want: u32) {
    while PHASE.load(Ordering::Acquire) != want {
        sched_yield();
    }
}

/// A CLONE_VM|CLONE_FS child: sees the parent's chdir and umask made after it started,
/// then makes its own for the parent to see.
extern "C" fn fs_sharer(_: usize) -> i32 {
    wait_phase(1);
    check_cwd(
        "CLONE_FS child after the parent's chdir",
        b"/tmp/fs_cwd/real",
    );
    let m = umask_now();
    check!(
        T,
        m == 0o027,
        "CLONE_FS child: umask {:o} after the parent set 027",
        m
    );
    check!(T, chdir(DIR) == 0, "chdir in the CLONE_FS child");
    umask(0o011);
    0
}

fn sharing() {
    check!(T, chdir(c"/") == 0, "chdir /");
    umask(0o022);
    PHASE.store(0, Ordering::Release);
    let tid = AtomicU32::new(0);
    let pid = clone_fn(CLONE_VM | CLONE_FS | SIGCHLD, fs_sharer, 0, &tid);
    check!(T, pid > 0, "clone(CLONE_VM|CLONE_FS) gave {}", pid);
    // Let the child go before checking anything: a failing parent must not leave it
    // spinning. Its chdir and umask outlive it (the parent shares them), so waiting for
    // it to exit is enough.
    let r = chdir(REAL);
    umask(0o027);
    PHASE.store(1, Ordering::Release);
    check!(T, r == 0, "chdir real gave {}", r);
    check!(T, wait_exit_code(pid) == 0, "the CLONE_FS child failed");
    check_cwd("after the CLONE_FS child's chdir", b"/tmp/fs_cwd");
    let m = umask_now();
    check!(
        T,
        m == 0o011,
        "umask {:o} after the CLONE_FS child set 011",
        m
    );

    // A fork copies cwd and umask: later changes on either side stay on that side.
    check!(T, chdir(c"/") == 0, "chdir /");
    umask(0o027);
    let go = pipe();
    let done = pipe();
    // Each side closes the pipe ends it does not use, so that if the other fails it
    // reads end of file instead of waiting for ever.
    let pid = spawn(|| {
        close(go[1]);
        close(done[0]);
        let m = umask_now();
        check!(
            T,
            m == 0o027,
            "a forked child's umask is {:o}, want the parent's 027",
            m
        );
        let mut b = [0u8; 1];
        check!(T, read(go[0], &mut b) == 1, "child: read go");
        check_cwd("a forked child after the parent's chdir", b"/");
        check!(
            T,
            umask_now() == 0o027,
            "a forked child saw the parent's later umask"
        );
        check!(T, chdir(REAL) == 0, "chdir in the forked child");
        umask(0o077);
        check!(T, write(done[1], b"x") == 1, "child: write done");
        0
    });
    close(go[0]);
    close(done[1]);
    check!(T, chdir(DIR) == 0, "chdir in the parent");
    umask(0o002);
    check!(T, write(go[1], b"x") == 1, "write go");
    let mut b = [0u8; 1];
    check!(T, read(done[0], &mut b) == 1, "read done");
    check_cwd("the parent after the forked child's chdir", b"/tmp/fs_cwd");
    check!(
        T,
        umask_now() == 0o002,
        "the parent saw the forked child's umask"
    );
    check!(T, wait_exit_code(pid) == 0, "the forked child failed");
    close(go[1]);
    close(done[0]);
    check!(T, chdir(c"/") == 0, "chdir /");
    umask(0o022);
}

fn body() -> i32 {
    umask(0o022);
    check!(T, chdir(c"/") == 0, "chdir /");
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    check!(T, mkdir(REAL, 0o755) == 0, "mkdir real");
    check!(
        T,
        symlinkat(c"real", AT_FDCWD, c"/tmp/fs_cwd/link") == 0,
        "symlink link -> real"
    );
    check!(T, write_file(c"/tmp/fs_cwd/file", b"f") == 1, "write file");
    chdir_getcwd();
    chroot_jail();
    sharing();
    check!(
        T,
        unlink(c"/tmp/fs_cwd/file") == 0 && unlink(c"/tmp/fs_cwd/link") == 0,
        "unlink file, link"
    );
    check!(T, rmdir(REAL) == 0, "rmdir real");
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    run_test_twice(T, body)
}
