//! The name space: mkdirat, unlinkat, getdents64, renameat2, linkat, symlinkat and
//! readlinkat, mknodat — their results and their errors, in the cases where Linux (and
//! POSIX) say exactly what happens.
//!
//! Everything lives under /tmp/fs_dirs and is removed at the end; the body runs twice in a
//! child process (a warm-up, then a run whose frames and heap must come back).
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::fmt::Write;

use ulib::*;

const T: &str = "fs_dirs";
const DIR: &CStr = c"/tmp/fs_dirs";

fn must_open(path: &CStr, flags: usize) -> i32 {
    let fd = open(path, flags, 0o644);
    check!(T, fd >= 0, "open({:?}) gave {}", path, fd);
    fd as i32
}

fn must_stat(path: &CStr) -> Stat {
    match lstat(path) {
        Ok(st) => st,
        Err(e) => fail!(T, "lstat({:?}) gave {}", path, e),
    }
}

fn must_write(path: &CStr, data: &[u8]) {
    let r = write_file(path, data);
    check!(
        T,
        r == data.len() as isize,
        "write_file({:?}) gave {}",
        path,
        r
    );
}

/// The file's contents must be exactly `want`.
fn check_contents(path: &CStr, want: &[u8]) {
    let mut buf = [0u8; 64];
    let n = read_file(path, &mut buf);
    check!(
        T,
        n >= 0 && &buf[..n as usize] == want,
        "{:?} holds {:?} ({}), want {:?}",
        path,
        core::str::from_utf8(&buf[..n.max(0) as usize]),
        n,
        core::str::from_utf8(want)
    );
}

fn gone(path: &CStr) -> bool {
    lstat(path).err() == Some(-ENOENT)
}

fn mkdir_unlink() {
    let before = must_stat(DIR).nlink;
    umask(0o022);
    check!(T, mkdir(c"/tmp/fs_dirs/d", 0o777) == 0, "mkdir d");
    let st = must_stat(c"/tmp/fs_dirs/d");
    check!(
        T,
        st.mode == S_IFDIR | 0o755,
        "mkdir 0777 under umask 022: mode {:o}",
        st.mode
    );
    check!(
        T,
        st.nlink == 2,
        "a new directory has nlink {} (want 2: its name and \".\")",
        st.nlink
    );
    let after = must_stat(DIR).nlink;
    check!(
        T,
        after == before + 1,
        "the parent's nlink went {} -> {} after mkdir (want +1 for the child's \"..\")",
        before,
        after
    );
    let r = mkdir(c"/tmp/fs_dirs/d", 0o755);
    check!(
        T,
        r == -EEXIST,
        "mkdir of an existing directory: got {} want {}",
        r,
        -EEXIST
    );
    must_write(c"/tmp/fs_dirs/f", b"x");
    let r = mkdir(c"/tmp/fs_dirs/f", 0o755);
    check!(
        T,
        r == -EEXIST,
        "mkdir over an existing file: got {} want {}",
        r,
        -EEXIST
    );
    let r = mkdir(c"/tmp/fs_dirs/f/sub", 0o755);
    check!(
        T,
        r == -ENOTDIR,
        "mkdir under a file: got {} want {}",
        r,
        -ENOTDIR
    );
    let r = mkdir(c"/tmp/fs_dirs/none/sub", 0o755);
    check!(
        T,
        r == -ENOENT,
        "mkdir under a missing directory: got {} want {}",
        r,
        -ENOENT
    );

    let r = unlinkat(AT_FDCWD, c"/tmp/fs_dirs/d", 0);
    check!(
        T,
        r == -EISDIR,
        "unlinkat(dir, 0): got {} want {}",
        r,
        -EISDIR
    );
    let r = unlinkat(AT_FDCWD, c"/tmp/fs_dirs/f", AT_REMOVEDIR);
    check!(
        T,
        r == -ENOTDIR,
        "unlinkat(file, AT_REMOVEDIR): got {} want {}",
        r,
        -ENOTDIR
    );
    let r = unlinkat(AT_FDCWD, c"/tmp/fs_dirs/d", 0x8000);
    check!(
        T,
        r == -EINVAL,
        "unlinkat with an unknown flag: got {} want {}",
        r,
        -EINVAL
    );
    check!(T, mkdir(c"/tmp/fs_dirs/d/e", 0o755) == 0, "mkdir d/e");
    let r = rmdir(c"/tmp/fs_dirs/d");
    check!(
        T,
        r == -ENOTEMPTY,
        "rmdir of a non-empty directory: got {} want {}",
        r,
        -ENOTEMPTY
    );
    let r = rmdir(c"/tmp/fs_dirs/d/e/.");
    check!(
        T,
        r == -EINVAL,
        "rmdir of \"d/e/.\": got {} want {}",
        r,
        -EINVAL
    );
    let dfd = must_open(c"/tmp/fs_dirs/d/e", O_RDONLY | O_DIRECTORY);
    let r = unlinkat(dfd, c".", AT_REMOVEDIR);
    check!(
        T,
        r == -EINVAL,
        "unlinkat(dirfd, \".\", AT_REMOVEDIR): got {} want {}",
        r,
        -EINVAL
    );
    let r = unlinkat(dfd, c"..", AT_REMOVEDIR);
    check!(
        T,
        r == -ENOTEMPTY,
        "unlinkat(dirfd, \"..\", AT_REMOVEDIR): got {} want {}",
        r,
        -ENOTEMPTY
    );
    close(dfd);
    check!(T, rmdir(c"/tmp/fs_dirs/d/e") == 0, "rmdir d/e");
    check!(T, rmdir(c"/tmp/fs_dirs/d") == 0, "rmdir d");
    let now = must_stat(DIR).nlink;
    check!(
        T,
        now == before,
        "the parent's nlink is {} after rmdir, want {}",
        now,
        before
    );
    check!(T, gone(c"/tmp/fs_dirs/d"), "d still exists after rmdir");
    let r = rmdir(c"/tmp/fs_dirs/d");
    check!(
        T,
        r == -ENOENT,
        "rmdir of a removed directory: got {} want {}",
        r,
        -ENOENT
    );
    check!(T, unlink(c"/tmp/fs_dirs/f") == 0, "unlink f");
    check!(T, gone(c"/tmp/fs_dirs/f"), "f still exists after unlink");
}

/// Lists the directory open at `fd` from its current position with a `bufsize`-byte
/// buffer, counting how often each of the names f000..f099 appears in `seen`; returns
/// how many records there were and whether "." and ".." were among them.
fn list(fd: i32, bufsize: usize, seen: &mut [u32; 100]) -> (usize, bool, bool) {
    let mut buf = [0u8; 4096];
    let (mut records, mut dot, mut dotdot) = (0, false, false);
    loop {
        let n = getdents64(fd, &mut buf[..bufsize]);
        check!(
            T,
            n >= 0,
            "getdents64 with a {}-byte buffer gave {}",
            bufsize,
            n
        );
        if n == 0 {
            return (records, dot, dotdot);
        }
        for d in dirents(&buf[..n as usize]) {
            records += 1;
            match d.name {
                b"." => {
                    check!(T, d.kind == DT_DIR, "\".\" has d_type {}", d.kind);
                    dot = true;
                }
                b".." => {
                    check!(T, d.kind == DT_DIR, "\"..\" has d_type {}", d.kind);
                    dotdot = true;
                }
                [b'f', a, b, c] => {
                    check!(T, d.kind == DT_REG, "a regular file has d_type {}", d.kind);
                    let i = ((a - b'0') * 100 + (b - b'0') * 10 + (c - b'0')) as usize;
                    seen[i] += 1;
                }
                other => fail!(T, "getdents64 gave an unexpected name {:?}", other),
            }
        }
    }
}

fn getdents() {
    check!(T, mkdir(c"/tmp/fs_dirs/big", 0o755) == 0, "mkdir big");
    let mut p = PathBuf::new(b"");
    for i in 0..100 {
        p.clear();
        let _ = write!(p, "/tmp/fs_dirs/big/f{:03}", i);
        let fd = must_open(p.as_cstr(), O_CREAT | O_EXCL | O_WRONLY);
        close(fd);
    }
    let fd = must_open(c"/tmp/fs_dirs/big", O_RDONLY | O_DIRECTORY);
    // A record for "f000" takes 24 bytes: 30 bytes hold one record, 64 hold two.
    for bufsize in [30, 64, 4096] {
        let mut seen = [0u32; 100];
        let r = lseek(fd, 0, SEEK_SET);
        check!(T, r == 0, "lseek(dir, 0, SEEK_SET) gave {}", r);
        let (records, dot, dotdot) = list(fd, bufsize, &mut seen);
        check!(
            T,
            dot && dotdot,
            "listing with {} bytes: \".\" {} \"..\" {}",
            bufsize,
            dot,
            dotdot
        );
        check!(
            T,
            records == 102,
            "listing with {} bytes gave {} records, want 102",
            bufsize,
            records
        );
        if let Some(i) = seen.iter().position(|&n| n != 1) {
            fail!(
                T,
                "listing with {} bytes: f{:03} seen {} times",
                bufsize,
                i,
                seen[i]
            );
        }
    }
    // A buffer too small for even one record.
    let r = lseek(fd, 0, SEEK_SET);
    check!(T, r == 0, "lseek(dir, 0, SEEK_SET) gave {}", r);
    let mut small = [0u8; 16];
    let r = getdents64(fd, &mut small);
    check!(
        T,
        r == -EINVAL,
        "getdents64 with a 16-byte buffer: got {} want {}",
        r,
        -EINVAL
    );
    let r = getdents64(fd, &mut []);
    check!(
        T,
        r == -EINVAL,
        "getdents64 with a 0-byte buffer: got {} want {}",
        r,
        -EINVAL
    );
    let r = syscall(SYS_GETDENTS64, &[fd as usize, 0x10, 4096]);
    check!(
        T,
        r == -EFAULT,
        "getdents64 into address 0x10: got {} want {}",
        r,
        -EFAULT
    );

    // Entries removed while the directory is being listed: the listing goes on without
    // error, and no name is given twice.
    let r = lseek(fd, 0, SEEK_SET);
    check!(T, r == 0, "lseek(dir, 0, SEEK_SET) gave {}", r);
    let mut buf = [0u8; 64];
    let n = getdents64(fd, &mut buf);
    check!(T, n > 0, "first getdents64 gave {}", n);
    let mut seen = [0u32; 100];
    for i in 0..100 {
        p.clear();
        let _ = write!(p, "/tmp/fs_dirs/big/f{:03}", i);
        check!(T, unlink(p.as_cstr()) == 0, "unlink big/f{:03}", i);
    }
    let _ = list(fd, 64, &mut seen);
    if let Some(i) = seen.iter().position(|&n| n > 1) {
        fail!(
            T,
            "listing while removing: f{:03} seen {} times",
            i,
            seen[i]
        );
    }
    // The emptied directory lists only "." and "..".
    let r = lseek(fd, 0, SEEK_SET);
    check!(T, r == 0, "lseek(dir, 0, SEEK_SET) gave {}", r);
    let (records, dot, dotdot) = list(fd, 4096, &mut seen);
    check!(
        T,
        records == 2 && dot && dotdot,
        "an emptied directory lists {} records",
        records
    );
    close(fd);
    check!(T, rmdir(c"/tmp/fs_dirs/big") == 0, "rmdir big");

    // d_type of each kind of file, and ENOTDIR on a file.
    check!(T, mkdir(c"/tmp/fs_dirs/k", 0o755) == 0, "mkdir k");
    check!(T, mkdir(c"/tmp/fs_dirs/k/dir", 0o755) == 0, "mkdir k/dir");
    must_write(c"/tmp/fs_dirs/k/reg", b"");
    check!(
        T,
        symlinkat(c"reg", AT_FDCWD, c"/tmp/fs_dirs/k/lnk") == 0,
        "symlink k/lnk"
    );
    check!(
        T,
        mknodat(AT_FDCWD, c"/tmp/fs_dirs/k/fifo", S_IFIFO | 0o644, 0) == 0,
        "mkfifo k/fifo"
    );
    let fd = must_open(c"/tmp/fs_dirs/k", O_RDONLY | O_DIRECTORY);
    let mut buf = [0u8; 1024];
    let n = getdents64(fd, &mut buf);
    check!(T, n > 0, "getdents64 of k gave {}", n);
    let mut found = 0;
    for d in dirents(&buf[..n as usize]) {
        let want = match d.name {
            b"dir" | b"." | b".." => DT_DIR,
            b"reg" => DT_REG,
            b"lnk" => DT_LNK,
            b"fifo" => DT_FIFO,
            other => fail!(T, "unexpected name {:?} in k", other),
        };
        check!(
            T,
            d.kind == want,
            "d_type of {:?} is {}, want {}",
            core::str::from_utf8(d.name),
            d.kind,
            want
        );
        found += 1;
    }
    check!(
        T,
        found == 6,
        "k listed {} entries in one call, want 6",
        found
    );
    check!(
        T,
        getdents64(fd, &mut buf) == 0,
        "a second getdents64 at the end gives 0"
    );
    close(fd);
    let fd = must_open(c"/tmp/fs_dirs/k/reg", O_RDONLY);
    let r = getdents64(fd, &mut buf);
    check!(
        T,
        r == -ENOTDIR,
        "getdents64 on a regular file: got {} want {}",
        r,
        -ENOTDIR
    );
    close(fd);
    for path in [
        c"/tmp/fs_dirs/k/reg",
        c"/tmp/fs_dirs/k/lnk",
        c"/tmp/fs_dirs/k/fifo",
    ] {
        check!(T, unlink(path) == 0, "unlink {:?}", path);
    }
    check!(T, rmdir(c"/tmp/fs_dirs/k/dir") == 0, "rmdir k/dir");
    check!(T, rmdir(c"/tmp/fs_dirs/k") == 0, "rmdir k");
}

fn rename() {
    let a = c"/tmp/fs_dirs/a";
    let b = c"/tmp/fs_dirs/b";
    must_write(a, b"AAA");
    must_write(b, b"B");
    // A plain rename replaces the target.
    let r = renameat2(AT_FDCWD, a, AT_FDCWD, b, 0);
    check!(T, r == 0, "rename a -> existing b: got {}", r);
    check!(T, gone(a), "a still exists after rename");
    check_contents(b, b"AAA");
    // Onto itself, or onto another link to the same file: nothing happens (POSIX).
    let r = renameat2(AT_FDCWD, b, AT_FDCWD, b, 0);
    check!(T, r == 0, "rename b -> b: got {}", r);
    check_contents(b, b"AAA");
    check!(T, linkat(AT_FDCWD, b, AT_FDCWD, a, 0) == 0, "link b a");
    let r = renameat2(AT_FDCWD, a, AT_FDCWD, b, 0);
    check!(T, r == 0, "rename a -> b, two links to one file: got {}", r);
    check!(
        T,
        !gone(a) && must_stat(b).nlink == 2,
        "rename between two links of one file must do nothing (a gone: {}, nlink {})",
        gone(a),
        must_stat(b).nlink
    );
    check!(T, unlink(a) == 0, "unlink a");

    // RENAME_NOREPLACE refuses an existing target, and works without one.
    must_write(a, b"A");
    let r = renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE);
    check!(
        T,
        r == -EEXIST,
        "RENAME_NOREPLACE onto an existing file: got {} want {}",
        r,
        -EEXIST
    );
    check_contents(b, b"AAA");
    let c = c"/tmp/fs_dirs/c";
    let r = renameat2(AT_FDCWD, a, AT_FDCWD, c, RENAME_NOREPLACE);
    check!(T, r == 0, "RENAME_NOREPLACE onto a new name: got {}", r);
    check_contents(c, b"A");
    let r = renameat2(AT_FDCWD, c, AT_FDCWD, a, RENAME_NOREPLACE | RENAME_EXCHANGE);
    check!(
        T,
        r == -EINVAL,
        "RENAME_NOREPLACE|RENAME_EXCHANGE: got {} want {}",
        r,
        -EINVAL
    );

    // RENAME_EXCHANGE swaps two names atomically, even a file and a directory.
    let d = c"/tmp/fs_dirs/dir";
    check!(T, mkdir(d, 0o755) == 0, "mkdir dir");
    must_write(c"/tmp/fs_dirs/dir/inner", b"I");
    let r = renameat2(AT_FDCWD, c, AT_FDCWD, d, RENAME_EXCHANGE);
    check!(
        T,
        r == 0,
        "RENAME_EXCHANGE of a file and a directory: got {}",
        r
    );
    check!(
        T,
        must_stat(c).kind() == S_IFDIR && must_stat(d).kind() == S_IFREG,
        "after RENAME_EXCHANGE c is {:o} and dir is {:o}",
        must_stat(c).mode,
        must_stat(d).mode
    );
    check_contents(d, b"A");
    check_contents(c"/tmp/fs_dirs/c/inner", b"I");
    let r = renameat2(
        AT_FDCWD,
        c,
        AT_FDCWD,
        c"/tmp/fs_dirs/missing",
        RENAME_EXCHANGE,
    );
    check!(
        T,
        r == -ENOENT,
        "RENAME_EXCHANGE with a missing target: got {} want {}",
        r,
        -ENOENT
    );
    let r = renameat2(AT_FDCWD, c, AT_FDCWD, d, 0x80);
    check!(
        T,
        r == -EINVAL,
        "renameat2 with an unknown flag: got {} want {}",
        r,
        -EINVAL
    );
    check!(T, unlink(d) == 0, "unlink dir (now a file)");

    // Directories: c holds "inner"; e is an empty directory.
    let e = c"/tmp/fs_dirs/e";
    check!(T, mkdir(e, 0o755) == 0, "mkdir e");
    let r = renameat2(AT_FDCWD, e, AT_FDCWD, c, 0);
    check!(
        T,
        r == -ENOTEMPTY,
        "rename a directory onto a non-empty one: got {} want {}",
        r,
        -ENOTEMPTY
    );
    let r = renameat2(AT_FDCWD, c, AT_FDCWD, c"/tmp/fs_dirs/c/sub", 0);
    check!(
        T,
        r == -EINVAL,
        "rename a directory into itself: got {} want {}",
        r,
        -EINVAL
    );
    check!(T, mkdir(c"/tmp/fs_dirs/c/sub", 0o755) == 0, "mkdir c/sub");
    let r = renameat2(AT_FDCWD, c, AT_FDCWD, c"/tmp/fs_dirs/c/sub/x", 0);
    check!(
        T,
        r == -EINVAL,
        "rename a directory into its own subdirectory: got {} want {}",
        r,
        -EINVAL
    );
    let r = renameat2(AT_FDCWD, b, AT_FDCWD, e, 0);
    check!(
        T,
        r == -EISDIR,
        "rename a file onto a directory: got {} want {}",
        r,
        -EISDIR
    );
    let r = renameat2(AT_FDCWD, e, AT_FDCWD, b, 0);
    check!(
        T,
        r == -ENOTDIR,
        "rename a directory onto a file: got {} want {}",
        r,
        -ENOTDIR
    );
    // Moving a directory to another parent moves its ".." link: both parents' nlink change.
    let (c_before, sub_before) = (must_stat(c).nlink, must_stat(c"/tmp/fs_dirs/c/sub").nlink);
    let r = renameat2(AT_FDCWD, e, AT_FDCWD, c"/tmp/fs_dirs/c/sub/e", 0);
    check!(T, r == 0, "rename e into c/sub: got {}", r);
    check!(
        T,
        must_stat(c"/tmp/fs_dirs/c/sub").nlink == sub_before + 1 && must_stat(c).nlink == c_before,
        "nlink of c/sub {} -> {} (want +1)",
        sub_before,
        must_stat(c"/tmp/fs_dirs/c/sub").nlink
    );
    // A directory onto an empty directory replaces it.
    check!(T, mkdir(e, 0o755) == 0, "mkdir e again");
    let r = renameat2(AT_FDCWD, c"/tmp/fs_dirs/c/sub/e", AT_FDCWD, e, 0);
    check!(
        T,
        r == 0,
        "rename a directory onto an empty directory: got {}",
        r
    );
    check!(
        T,
        gone(c"/tmp/fs_dirs/c/sub/e"),
        "c/sub/e still exists after it was renamed"
    );
    let r = renameat2(AT_FDCWD, c"/tmp/fs_dirs/missing", AT_FDCWD, e, 0);
    check!(
        T,
        r == -ENOENT,
        "rename a missing name: got {} want {}",
        r,
        -ENOENT
    );
    for path in [c"/tmp/fs_dirs/c/sub", e] {
        check!(T, rmdir(path) == 0, "rmdir {:?}", path);
    }
    check!(T, unlink(c"/tmp/fs_dirs/c/inner") == 0, "unlink c/inner");
    check!(T, rmdir(c) == 0, "rmdir c");
    check!(T, unlink(b) == 0, "unlink b");
}

fn links() {
    let f = c"/tmp/fs_dirs/f";
    let g = c"/tmp/fs_dirs/g";
    must_write(f, b"one");
    check!(T, linkat(AT_FDCWD, f, AT_FDCWD, g, 0) == 0, "linkat f g");
    let (sf, sg) = (must_stat(f), must_stat(g));
    check!(
        T,
        sf.nlink == 2 && sg.nlink == 2,
        "nlink after link: {} {} (want 2 2)",
        sf.nlink,
        sg.nlink
    );
    check!(T, sf.ino == sg.ino, "two links have different inodes");
    // The two names share contents: a write through one is read through the other.
    let fd = must_open(g, O_WRONLY | O_APPEND);
    check!(T, write(fd, b" two") == 4, "write via g");
    close(fd);
    check_contents(f, b"one two");
    let r = linkat(AT_FDCWD, f, AT_FDCWD, g, 0);
    check!(
        T,
        r == -EEXIST,
        "linkat onto an existing name: got {} want {}",
        r,
        -EEXIST
    );
    let r = linkat(AT_FDCWD, DIR, AT_FDCWD, c"/tmp/fs_dirs/dl", 0);
    check!(
        T,
        r == -EPERM,
        "linkat of a directory: got {} want {}",
        r,
        -EPERM
    );
    let r = linkat(
        AT_FDCWD,
        c"/tmp/fs_dirs/missing",
        AT_FDCWD,
        c"/tmp/fs_dirs/x",
        0,
    );
    check!(
        T,
        r == -ENOENT,
        "linkat of a missing file: got {} want {}",
        r,
        -ENOENT
    );
    let r = linkat(AT_FDCWD, f, AT_FDCWD, c"/tmp/fs_dirs/x", 0x8000);
    check!(
        T,
        r == -EINVAL,
        "linkat with an unknown flag: got {} want {}",
        r,
        -EINVAL
    );
    check!(T, unlink(g) == 0, "unlink g");
    check!(
        T,
        must_stat(f).nlink == 1,
        "nlink after unlinking one link: {}",
        must_stat(f).nlink
    );
    check_contents(f, b"one two");

    // linkat of a symlink: without AT_SYMLINK_FOLLOW the new name is the link itself.
    let s = c"/tmp/fs_dirs/s";
    check!(T, symlinkat(c"f", AT_FDCWD, s) == 0, "symlink s -> f");
    check!(T, linkat(AT_FDCWD, s, AT_FDCWD, g, 0) == 0, "linkat s g");
    check!(
        T,
        must_stat(g).kind() == S_IFLNK,
        "linkat of a symlink without AT_SYMLINK_FOLLOW: g is {:o}",
        must_stat(g).mode
    );
    check!(T, unlink(g) == 0, "unlink g");
    check!(
        T,
        linkat(AT_FDCWD, s, AT_FDCWD, g, AT_SYMLINK_FOLLOW) == 0,
        "linkat s g AT_SYMLINK_FOLLOW"
    );
    check!(
        T,
        must_stat(g).kind() == S_IFREG && must_stat(f).nlink == 2,
        "linkat AT_SYMLINK_FOLLOW: g is {:o}, f's nlink {}",
        must_stat(g).mode,
        must_stat(f).nlink
    );
    for path in [g, s, f] {
        check!(T, unlink(path) == 0, "unlink {:?}", path);
    }
}

fn symlinks() {
    let target = c"some/where/else";
    let s = c"/tmp/fs_dirs/s";
    check!(
        T,
        symlinkat(target, AT_FDCWD, s) == 0,
        "symlinkat to a dangling target"
    );
    let st = must_stat(s);
    check!(
        T,
        st.kind() == S_IFLNK && st.size == 15,
        "a symlink: mode {:o} size {} (want 15)",
        st.mode,
        st.size
    );
    let mut buf = [0xaau8; 32];
    let n = readlinkat(AT_FDCWD, s, &mut buf);
    check!(
        T,
        n == 15 && &buf[..15] == target.to_bytes(),
        "readlinkat gave {} {:?}",
        n,
        core::str::from_utf8(&buf[..n.max(0) as usize])
    );
    check!(
        T,
        buf[15] == 0xaa,
        "readlinkat wrote a byte after the contents ({:#x}): no NUL is added",
        buf[15]
    );
    let mut short = [0u8; 4];
    let n = readlinkat(AT_FDCWD, s, &mut short);
    check!(
        T,
        n == 4 && &short == b"some",
        "readlinkat into 4 bytes gave {} {:?}",
        n,
        short
    );
    let r = readlinkat(AT_FDCWD, s, &mut []);
    check!(
        T,
        r == -EINVAL,
        "readlinkat with a 0-byte buffer: got {} want {}",
        r,
        -EINVAL
    );
    let r = open(s, O_RDONLY, 0);
    check!(
        T,
        r == -ENOENT,
        "open a dangling symlink: got {} want {}",
        r,
        -ENOENT
    );
    let r = symlinkat(target, AT_FDCWD, s);
    check!(
        T,
        r == -EEXIST,
        "symlinkat onto an existing name: got {} want {}",
        r,
        -EEXIST
    );
    let r = symlinkat(c"", AT_FDCWD, c"/tmp/fs_dirs/empty");
    check!(
        T,
        r == -ENOENT,
        "symlinkat with an empty target: got {} want {}",
        r,
        -ENOENT
    );
    check!(T, unlink(s) == 0, "unlink s");
    must_write(c"/tmp/fs_dirs/f", b"file");
    let r = readlinkat(AT_FDCWD, c"/tmp/fs_dirs/f", &mut buf);
    check!(
        T,
        r == -EINVAL,
        "readlinkat of a regular file: got {} want {}",
        r,
        -EINVAL
    );
    // readlinkat(fd, "") reads the link an O_PATH|O_NOFOLLOW descriptor refers to.
    check!(T, symlinkat(c"f", AT_FDCWD, s) == 0, "symlink s -> f");
    let fd = must_open(s, O_PATH | O_NOFOLLOW);
    let n = readlinkat(fd, c"", &mut buf);
    check!(
        T,
        n == 1 && buf[0] == b'f',
        "readlinkat(O_PATH fd, \"\") gave {}",
        n
    );
    close(fd);
    check!(T, unlink(s) == 0, "unlink s");

    // A relative target is resolved against the link's directory, not the cwd.
    check!(T, mkdir(c"/tmp/fs_dirs/sub", 0o755) == 0, "mkdir sub");
    check!(
        T,
        symlinkat(c"../f", AT_FDCWD, c"/tmp/fs_dirs/sub/up") == 0,
        "symlink sub/up -> ../f"
    );
    check!(T, chdir(c"/") == 0, "chdir /");
    check_contents(c"/tmp/fs_dirs/sub/up", b"file");
    check!(T, unlink(c"/tmp/fs_dirs/sub/up") == 0, "unlink sub/up");
    check!(T, rmdir(c"/tmp/fs_dirs/sub") == 0, "rmdir sub");

    // A loop never resolves.
    check!(
        T,
        symlinkat(c"l2", AT_FDCWD, c"/tmp/fs_dirs/l1") == 0,
        "symlink l1 -> l2"
    );
    check!(
        T,
        symlinkat(c"l1", AT_FDCWD, c"/tmp/fs_dirs/l2") == 0,
        "symlink l2 -> l1"
    );
    let r = open(c"/tmp/fs_dirs/l1", O_RDONLY, 0);
    check!(
        T,
        r == -ELOOP,
        "open a symlink loop: got {} want {}",
        r,
        -ELOOP
    );
    let r = stat(c"/tmp/fs_dirs/l1/x").err();
    check!(
        T,
        r == Some(-ELOOP),
        "stat through a symlink loop: got {:?} want {}",
        r,
        -ELOOP
    );
    check!(
        T,
        unlink(c"/tmp/fs_dirs/l1") == 0 && unlink(c"/tmp/fs_dirs/l2") == 0,
        "unlink the loop"
    );

    // Linux follows at most 40 links (MAXSYMLINKS) in one lookup: c1 -> f, c2 -> c1, ...
    let mut p = PathBuf::new(b"");
    let mut t = PathBuf::new(b"");
    for i in 1..=41 {
        p.clear();
        let _ = write!(p, "/tmp/fs_dirs/c{}", i);
        t.clear();
        if i == 1 {
            t.push(b"f");
        } else {
            let _ = write!(t, "c{}", i - 1);
        }
        check!(
            T,
            symlinkat(t.as_cstr(), AT_FDCWD, p.as_cstr()) == 0,
            "symlink c{}",
            i
        );
    }
    let r = open(c"/tmp/fs_dirs/c40", O_RDONLY, 0);
    check!(T, r >= 0, "open through a chain of 40 symlinks: got {}", r);
    close(r as i32);
    let r = open(c"/tmp/fs_dirs/c41", O_RDONLY, 0);
    check!(
        T,
        r == -ELOOP,
        "open through a chain of 41 symlinks: got {} want {}",
        r,
        -ELOOP
    );
    for i in 1..=41 {
        p.clear();
        let _ = write!(p, "/tmp/fs_dirs/c{}", i);
        check!(T, unlink(p.as_cstr()) == 0, "unlink c{}", i);
    }
    check!(T, unlink(c"/tmp/fs_dirs/f") == 0, "unlink f");
}

fn mknod() {
    umask(0o022);
    let p = c"/tmp/fs_dirs/fifo";
    check!(
        T,
        mknodat(AT_FDCWD, p, S_IFIFO | 0o666, 0) == 0,
        "mknodat S_IFIFO"
    );
    let st = must_stat(p);
    check!(
        T,
        st.mode == S_IFIFO | 0o644,
        "mknodat S_IFIFO|0666: mode {:o}",
        st.mode
    );
    let r = mknodat(AT_FDCWD, p, S_IFIFO | 0o666, 0);
    check!(
        T,
        r == -EEXIST,
        "mknodat onto an existing name: got {} want {}",
        r,
        -EEXIST
    );
    check!(T, unlink(p) == 0, "unlink fifo");
    let r = mknodat(AT_FDCWD, p, S_IFREG | 0o600, 0);
    check!(T, r == 0, "mknodat S_IFREG: got {}", r);
    let st = must_stat(p);
    check!(
        T,
        st.mode == S_IFREG | 0o600 && st.size == 0,
        "mknodat S_IFREG: mode {:o} size {}",
        st.mode,
        st.size
    );
    check!(T, unlink(p) == 0, "unlink the mknod'ed file");
    // A zero file type means a regular file.
    check!(
        T,
        mknodat(AT_FDCWD, p, 0o600, 0) == 0,
        "mknodat with type 0"
    );
    check!(
        T,
        must_stat(p).kind() == S_IFREG,
        "mknodat type 0 made {:o}",
        must_stat(p).mode
    );
    check!(T, unlink(p) == 0, "unlink");
    let r = mknodat(AT_FDCWD, p, S_IFDIR | 0o755, 0);
    check!(T, r == -EPERM, "mknodat S_IFDIR: got {} want {}", r, -EPERM);
}

fn body() -> i32 {
    umask(0o022);
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    mkdir_unlink();
    getdents();
    rename();
    links();
    symlinks();
    mknod();
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    run_test_twice(T, body)
}
