//! openat and its flags: O_CREAT (mode & ~umask), O_EXCL (also on a dangling symlink),
//! O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, O_NONBLOCK, O_PATH, access
//! modes, directories opened for writing, path errors (ENOENT, ENOTDIR, EFAULT,
//! ENAMETOOLONG at NAME_MAX+1 and PATH_MAX), names that are not UTF-8, dirfd rules, the
//! lowest-free-descriptor rule and EMFILE at RLIMIT_NOFILE.
//!
//! Everything lives under /tmp/fs_open and is removed at the end; the body runs twice in a
//! child process (a warm-up, then a run whose frames and heap must come back).
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "fs_open";
const DIR: &core::ffi::CStr = c"/tmp/fs_open";
const FILE: &core::ffi::CStr = c"/tmp/fs_open/a";

/// Opens `path` and fails the test (naming `what`) unless it worked.
fn must_open(what: &str, dirfd: i32, path: &core::ffi::CStr, flags: usize, mode: u32) -> i32 {
    let fd = openat(dirfd, path, flags, mode);
    check!(T, fd >= 0, "{}: openat({:?}) gave {}", what, path, fd);
    fd as i32
}

fn must_stat(fd: i32) -> Stat {
    match fstat(fd) {
        Ok(st) => st,
        Err(e) => fail!(T, "fstat({}) gave {}", fd, e),
    }
}

fn creation_and_mode() {
    // The mode argument is masked by the umask.
    umask(0o022);
    let fd = must_open("O_CREAT", AT_FDCWD, FILE, O_CREAT | O_WRONLY, 0o666);
    let st = must_stat(fd);
    check!(
        T,
        st.mode == S_IFREG | 0o644,
        "O_CREAT mode 0666 under umask 022: st_mode {:o} want {:o}",
        st.mode,
        S_IFREG | 0o644
    );
    check!(
        T,
        st.size == 0 && st.nlink == 1,
        "new file: size {} nlink {}",
        st.size,
        st.nlink
    );
    close(fd);
    umask(0o077);
    let fd = must_open(
        "O_CREAT",
        AT_FDCWD,
        c"/tmp/fs_open/b",
        O_CREAT | O_RDWR,
        0o777,
    );
    let st = must_stat(fd);
    check!(
        T,
        st.mode == S_IFREG | 0o700,
        "O_CREAT mode 0777 under umask 077: st_mode {:o}",
        st.mode
    );
    close(fd);
    umask(0o022);
    // O_CREAT on an existing file opens it (the mode argument is ignored).
    let fd = must_open(
        "O_CREAT existing",
        AT_FDCWD,
        c"/tmp/fs_open/b",
        O_CREAT | O_RDONLY,
        0o666,
    );
    let st = must_stat(fd);
    check!(
        T,
        st.mode == S_IFREG | 0o700,
        "O_CREAT on an existing file changed its mode to {:o}",
        st.mode
    );
    close(fd);
    check!(T, unlink(c"/tmp/fs_open/b") == 0, "unlink b");

    // O_EXCL: the name must not exist, and a symlink (even a dangling one) counts.
    let r = open(FILE, O_CREAT | O_EXCL | O_WRONLY, 0o644);
    check!(
        T,
        r == -EEXIST,
        "openat O_CREAT|O_EXCL on an existing file: got {} want {}",
        r,
        -EEXIST
    );
    check!(
        T,
        symlinkat(c"nowhere", AT_FDCWD, c"/tmp/fs_open/dangle") == 0,
        "symlinkat dangle"
    );
    let r = open(c"/tmp/fs_open/dangle", O_CREAT | O_EXCL | O_WRONLY, 0o644);
    check!(
        T,
        r == -EEXIST,
        "openat O_CREAT|O_EXCL on a dangling symlink: got {} want {}",
        r,
        -EEXIST
    );
    // Without O_EXCL, O_CREAT follows the dangling link and creates its target.
    let fd = must_open(
        "O_CREAT through a dangling symlink",
        AT_FDCWD,
        c"/tmp/fs_open/dangle",
        O_CREAT | O_WRONLY,
        0o600,
    );
    close(fd);
    let r = fstatat(AT_FDCWD, c"/tmp/fs_open/nowhere", 0);
    check!(
        T,
        matches!(r, Ok(st) if st.kind() == S_IFREG),
        "O_CREAT through the dangling symlink did not create its target /tmp/fs_open/nowhere ({:?})",
        r.map(|s| s.mode)
    );
    check!(T, unlink(c"/tmp/fs_open/nowhere") == 0, "unlink nowhere");
    check!(T, unlink(c"/tmp/fs_open/dangle") == 0, "unlink dangle");
}

fn trunc_and_append() {
    check!(T, write_file(FILE, b"hello") == 5, "write_file a");
    let fd = must_open("O_TRUNC", AT_FDCWD, FILE, O_WRONLY | O_TRUNC, 0);
    let st = must_stat(fd);
    check!(T, st.size == 0, "O_TRUNC left st_size {}", st.size);
    check!(T, write(fd, b"hello") == 5, "write after O_TRUNC");
    close(fd);

    // O_APPEND: every write goes to the end, wherever the offset was put.
    let fd = must_open("O_APPEND", AT_FDCWD, FILE, O_WRONLY | O_APPEND, 0);
    check!(T, write(fd, b" world") == 6, "O_APPEND write");
    let r = lseek(fd, 0, SEEK_SET);
    check!(T, r == 0, "lseek(0, SEEK_SET) on O_APPEND fd gave {}", r);
    check!(T, write(fd, b"!") == 1, "second O_APPEND write");
    let r = lseek(fd, 0, SEEK_CUR);
    check!(
        T,
        r == 12,
        "offset after an O_APPEND write: {} want 12 (the end)",
        r
    );
    close(fd);
    let mut buf = [0u8; 32];
    let n = read_file(FILE, &mut buf);
    check!(
        T,
        n == 12 && &buf[..12] == b"hello world!",
        "O_APPEND: file holds {:?} ({} bytes), want \"hello world!\"",
        core::str::from_utf8(&buf[..n.max(0) as usize]),
        n
    );
}

fn type_flags() {
    let r = open(FILE, O_RDONLY | O_DIRECTORY, 0);
    check!(
        T,
        r == -ENOTDIR,
        "O_DIRECTORY on a regular file: got {} want {}",
        r,
        -ENOTDIR
    );
    let fd = must_open(
        "O_DIRECTORY on a directory",
        AT_FDCWD,
        DIR,
        O_RDONLY | O_DIRECTORY,
        0,
    );
    close(fd);

    check!(
        T,
        symlinkat(c"a", AT_FDCWD, c"/tmp/fs_open/link") == 0,
        "symlinkat link"
    );
    let r = open(c"/tmp/fs_open/link", O_RDONLY | O_NOFOLLOW, 0);
    check!(
        T,
        r == -ELOOP,
        "O_NOFOLLOW on a symlink: got {} want {}",
        r,
        -ELOOP
    );
    // O_NOFOLLOW only concerns the last component; and O_PATH|O_NOFOLLOW opens the link.
    let fd = must_open(
        "O_PATH|O_NOFOLLOW on a symlink",
        AT_FDCWD,
        c"/tmp/fs_open/link",
        O_PATH | O_NOFOLLOW,
        0,
    );
    let st = must_stat(fd);
    check!(
        T,
        st.kind() == S_IFLNK,
        "fstat of an O_PATH|O_NOFOLLOW symlink fd: mode {:o}",
        st.mode
    );
    close(fd);
    let fd = must_open(
        "through a symlink",
        AT_FDCWD,
        c"/tmp/fs_open/link",
        O_RDONLY,
        0,
    );
    close(fd);
    check!(T, unlink(c"/tmp/fs_open/link") == 0, "unlink link");

    // Opening a directory for writing is refused, also with O_CREAT.
    for (flags, what) in [
        (O_WRONLY, "O_WRONLY"),
        (O_RDWR, "O_RDWR"),
        (O_CREAT | O_RDONLY, "O_CREAT"),
        (O_CREAT | O_WRONLY, "O_CREAT|O_WRONLY"),
    ] {
        let r = open(DIR, flags, 0o644);
        check!(
            T,
            r == -EISDIR,
            "open a directory {}: got {} want {}",
            what,
            r,
            -EISDIR
        );
    }
}

fn fd_flags() {
    let fd = must_open("O_CLOEXEC", AT_FDCWD, FILE, O_RDONLY | O_CLOEXEC, 0);
    let r = fcntl(fd, F_GETFD, 0);
    check!(
        T,
        r == FD_CLOEXEC as isize,
        "F_GETFD after O_CLOEXEC: got {} want {}",
        r,
        FD_CLOEXEC
    );
    close(fd);
    let fd = must_open("plain", AT_FDCWD, FILE, O_RDONLY, 0);
    let r = fcntl(fd, F_GETFD, 0);
    check!(T, r == 0, "F_GETFD without O_CLOEXEC: got {}", r);
    close(fd);

    let fd = must_open("O_NONBLOCK", AT_FDCWD, FILE, O_RDWR | O_NONBLOCK, 0);
    let r = fcntl(fd, F_GETFL, 0);
    check!(
        T,
        r >= 0 && r as usize & (O_ACCMODE | O_NONBLOCK | O_APPEND) == O_RDWR | O_NONBLOCK,
        "F_GETFL after O_RDWR|O_NONBLOCK: got {:o}",
        r
    );
    close(fd);

    // Access modes: a descriptor only does what it was opened for.
    let mut buf = [0u8; 4];
    let fd = must_open("O_RDONLY", AT_FDCWD, FILE, O_RDONLY, 0);
    let r = write(fd, b"x");
    check!(
        T,
        r == -EBADF,
        "write to an O_RDONLY fd: got {} want {}",
        r,
        -EBADF
    );
    close(fd);
    let fd = must_open("O_WRONLY", AT_FDCWD, FILE, O_WRONLY, 0);
    let r = read(fd, &mut buf);
    check!(
        T,
        r == -EBADF,
        "read from an O_WRONLY fd: got {} want {}",
        r,
        -EBADF
    );
    close(fd);

    // O_PATH: a location only — no I/O, but fstat and use as a dirfd work.
    let fd = must_open("O_PATH", AT_FDCWD, FILE, O_PATH, 0);
    let r = read(fd, &mut buf);
    check!(
        T,
        r == -EBADF,
        "read from an O_PATH fd: got {} want {}",
        r,
        -EBADF
    );
    let r = write(fd, b"x");
    check!(
        T,
        r == -EBADF,
        "write to an O_PATH fd: got {} want {}",
        r,
        -EBADF
    );
    let st = must_stat(fd);
    check!(
        T,
        st.kind() == S_IFREG && st.size == 12,
        "fstat of an O_PATH fd: mode {:o} size {}",
        st.mode,
        st.size
    );
    let r = fcntl(fd, F_GETFL, 0);
    check!(
        T,
        r >= 0 && r as usize & O_PATH != 0,
        "F_GETFL of an O_PATH fd: {:o} lacks O_PATH",
        r
    );
    close(fd);
    let dfd = must_open("O_PATH dir", AT_FDCWD, DIR, O_PATH | O_DIRECTORY, 0);
    let fd = must_open("openat relative to an O_PATH dirfd", dfd, c"a", O_RDONLY, 0);
    check!(
        T,
        read(fd, &mut buf) == 4 && &buf == b"hell",
        "read via an O_PATH dirfd"
    );
    close(fd);
    close(dfd);
}

fn path_errors() {
    let r = open(c"/tmp/fs_open/missing/x", O_CREAT | O_WRONLY, 0o644);
    check!(
        T,
        r == -ENOENT,
        "O_CREAT with a missing parent: got {} want {}",
        r,
        -ENOENT
    );
    let r = open(c"/tmp/fs_open/missing", O_RDONLY, 0);
    check!(
        T,
        r == -ENOENT,
        "open a missing file: got {} want {}",
        r,
        -ENOENT
    );
    let r = open(c"/tmp/fs_open/a/x", O_RDONLY, 0);
    check!(
        T,
        r == -ENOTDIR,
        "a regular file used as a directory: got {} want {}",
        r,
        -ENOTDIR
    );
    let r = open(c"/tmp/fs_open/a/", O_RDONLY, 0);
    check!(
        T,
        r == -ENOTDIR,
        "a regular file with a trailing slash: got {} want {}",
        r,
        -ENOTDIR
    );
    let r = open(c"", O_RDONLY, 0);
    check!(T, r == -ENOENT, "open(\"\"): got {} want {}", r, -ENOENT);
    let r = syscall(SYS_OPENAT, &[AT_FDCWD as usize, 0x10, O_RDONLY, 0]);
    check!(
        T,
        r == -EFAULT,
        "openat with path pointer 0x10: got {} want {}",
        r,
        -EFAULT
    );

    // A component may be NAME_MAX bytes long, not one more.
    let mut p = PathBuf::new(b"/tmp/fs_open/");
    p.push(&[b'n'; NAME_MAX]);
    let fd = must_open(
        "a NAME_MAX-byte name",
        AT_FDCWD,
        p.as_cstr(),
        O_CREAT | O_WRONLY,
        0o644,
    );
    close(fd);
    check!(T, unlink(p.as_cstr()) == 0, "unlink the NAME_MAX-byte name");
    p.push(b"n");
    let r = open(p.as_cstr(), O_CREAT | O_WRONLY, 0o644);
    check!(
        T,
        r == -ENAMETOOLONG,
        "O_CREAT of a NAME_MAX+1-byte name: got {} want {}",
        r,
        -ENAMETOOLONG
    );
    let r = open(p.as_cstr(), O_RDONLY, 0);
    check!(
        T,
        r == -ENAMETOOLONG,
        "open of a NAME_MAX+1-byte name: got {} want {}",
        r,
        -ENAMETOOLONG
    );

    // A whole path must fit in PATH_MAX bytes with its NUL: "/./././..." of 4095 bytes
    // is the root directory, one more byte is too long.
    let mut p = PathBuf::new(b"/");
    for _ in 0..(PATH_MAX - 2) / 2 {
        p.push(b"./");
    }
    check!(
        T,
        p.as_bytes().len() == PATH_MAX - 1,
        "built {} bytes",
        p.as_bytes().len()
    );
    let fd = must_open(
        "a path of PATH_MAX-1 bytes",
        AT_FDCWD,
        p.as_cstr(),
        O_RDONLY | O_DIRECTORY,
        0,
    );
    close(fd);
    p.push(b".");
    let r = open(p.as_cstr(), O_RDONLY | O_DIRECTORY, 0);
    check!(
        T,
        r == -ENAMETOOLONG,
        "a path of PATH_MAX bytes: got {} want {}",
        r,
        -ENAMETOOLONG
    );
}

/// A name that is not UTF-8 is just bytes: it can be created, listed and removed.
fn non_utf8_names() {
    let name: &[u8] = &[0x80, b'x', 0xff, 0xfe, 0xc3];
    let mut p = PathBuf::new(b"/tmp/fs_open/");
    p.push(name);
    let fd = must_open(
        "a non-UTF-8 name",
        AT_FDCWD,
        p.as_cstr(),
        O_CREAT | O_EXCL | O_WRONLY,
        0o644,
    );
    close(fd);
    let dfd = must_open("the directory", AT_FDCWD, DIR, O_RDONLY | O_DIRECTORY, 0);
    let mut buf = [0u8; 1024];
    let mut seen = 0;
    loop {
        let n = getdents64(dfd, &mut buf);
        check!(T, n >= 0, "getdents64 gave {}", n);
        if n == 0 {
            break;
        }
        seen += dirents(&buf[..n as usize])
            .filter(|d| d.name == name)
            .count();
    }
    close(dfd);
    check!(
        T,
        seen == 1,
        "the non-UTF-8 name was listed {} times, want 1",
        seen
    );
    check!(T, unlink(p.as_cstr()) == 0, "unlink the non-UTF-8 name");
}

fn dirfd_rules() {
    let dfd = must_open("the directory", AT_FDCWD, DIR, O_RDONLY | O_DIRECTORY, 0);
    let fd = must_open("openat(dirfd, \"a\")", dfd, c"a", O_RDONLY, 0);
    close(fd);
    // An absolute path ignores dirfd, even a bad one.
    let fd = must_open("absolute path with dirfd 999", 999, FILE, O_RDONLY, 0);
    close(fd);
    let r = openat(999, c"a", O_RDONLY, 0);
    check!(
        T,
        r == -EBADF,
        "openat(999, relative): got {} want {}",
        r,
        -EBADF
    );
    let ffd = must_open("a", AT_FDCWD, FILE, O_RDONLY, 0);
    let r = openat(ffd, c"a", O_RDONLY, 0);
    check!(
        T,
        r == -ENOTDIR,
        "openat(file fd, relative): got {} want {}",
        r,
        -ENOTDIR
    );
    close(ffd);
    // AT_FDCWD means the working directory.
    check!(T, chdir(DIR) == 0, "chdir /tmp/fs_open");
    let fd = must_open("openat(AT_FDCWD, \"a\")", AT_FDCWD, c"a", O_RDONLY, 0);
    close(fd);
    let fd = must_open(
        "openat(AT_FDCWD, \"../fs_open/./a\")",
        AT_FDCWD,
        c"../fs_open/./a",
        O_RDONLY,
        0,
    );
    close(fd);
    check!(T, chdir(c"/") == 0, "chdir /");
    let r = openat(AT_FDCWD, c"a", O_RDONLY, 0);
    check!(
        T,
        r == -ENOENT,
        "openat(AT_FDCWD, \"a\") after chdir /: got {}",
        r
    );
    close(dfd);
}

fn descriptor_numbers() {
    // POSIX: open returns the lowest-numbered free descriptor.
    let a = must_open("a1", AT_FDCWD, FILE, O_RDONLY, 0);
    let b = must_open("a2", AT_FDCWD, FILE, O_RDONLY, 0);
    let c = must_open("a3", AT_FDCWD, FILE, O_RDONLY, 0);
    check!(
        T,
        a < b && b < c,
        "descriptors {} {} {} are not increasing",
        a,
        b,
        c
    );
    close(b);
    let d = must_open("a4", AT_FDCWD, FILE, O_RDONLY, 0);
    check!(T, d == b, "after closing {} open gave {}", b, d);
    close(a);
    close(d);
    let e = must_open("a5", AT_FDCWD, FILE, O_RDONLY, 0);
    check!(T, e == a, "after closing {} and {} open gave {}", a, d, e);
    close(e);
    close(c);

    // EMFILE once every descriptor below RLIMIT_NOFILE is in use (the hard limit stays).
    let old = match prlimit(0, RLIMIT_NOFILE, None) {
        Ok(old) => old,
        Err(e) => fail!(T, "prlimit(RLIMIT_NOFILE) gave {}", e),
    };
    let r = prlimit(0, RLIMIT_NOFILE, Some([16, old[1]]));
    check!(T, r.is_ok(), "prlimit(RLIMIT_NOFILE, 16) gave {:?}", r);
    let mut last = -1;
    let mut err = 0;
    for _ in 0..20 {
        let r = open(FILE, O_RDONLY, 0);
        if r < 0 {
            err = r;
            break;
        }
        last = r;
    }
    check!(
        T,
        err == -EMFILE && last == 15,
        "with RLIMIT_NOFILE 16: last fd {} then {} (want 15 then {})",
        last,
        err,
        -EMFILE
    );
    let r = close_range(3, u32::MAX, 0);
    check!(T, r == 0, "close_range(3, ~0) gave {}", r);
    let r = prlimit(0, RLIMIT_NOFILE, Some(old));
    check!(T, r.is_ok(), "restoring RLIMIT_NOFILE: {:?}", r);
}

fn body() -> i32 {
    umask(0o022);
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    creation_and_mode();
    trunc_and_append();
    type_flags();
    fd_flags();
    path_errors();
    non_utf8_names();
    dirfd_rules();
    descriptor_numbers();
    check!(T, unlink(FILE) == 0, "unlink a");
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    run_test_twice(T, body)
}
