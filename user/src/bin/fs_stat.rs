//! File metadata: fstat, newfstatat and statx fields; fchmod(at), fchown(at), utimensat,
//! faccessat(2) as root, umask, statfs/fstatfs, and the times a write changes. Only what
//! Linux guarantees is asserted — no inode numbers, devices, block sizes or free counts,
//! and times only where the test set them or relative to the clock.
//!
//! Everything lives under /tmp/fs_stat and is removed at the end; the body runs twice in a
//! child process (a warm-up, then a run whose frames and heap must come back).
#![no_std]
#![no_main]

use core::ffi::CStr;

use ulib::*;

const T: &str = "fs_stat";
const DIR: &CStr = c"/tmp/fs_stat";
const F: &CStr = c"/tmp/fs_stat/f";
const LINK: &CStr = c"/tmp/fs_stat/link";

fn must_open(path: &CStr, flags: usize) -> i32 {
    let fd = open(path, flags, 0o644);
    check!(T, fd >= 0, "open({:?}) gave {}", path, fd);
    fd as i32
}

fn must_fstat(fd: i32) -> Stat {
    match fstat(fd) {
        Ok(st) => st,
        Err(e) => fail!(T, "fstat({}) gave {}", fd, e),
    }
}

fn must_lstat(path: &CStr) -> Stat {
    match lstat(path) {
        Ok(st) => st,
        Err(e) => fail!(T, "lstat({:?}) gave {}", path, e),
    }
}

/// CLOCK_REALTIME: the clock file times are taken from.
fn realtime() -> Timespec {
    let mut ts = Timespec::default();
    let r = syscall(SYS_CLOCK_GETTIME, &[0, &mut ts as *mut Timespec as usize]);
    check!(T, r == 0, "clock_gettime(CLOCK_REALTIME) gave {}", r);
    ts
}

/// A file time the kernel set to "now" must be within two seconds of the clock (file
/// times are taken from a coarse clock, so they may lag it a little).
fn near_now(what: &str, t: Timespec) {
    let now = realtime();
    check!(
        T,
        (t.sec - now.sec).abs() <= 2,
        "{} is {}.{:09}, but the time is {}.{:09}",
        what,
        t.sec,
        t.nsec,
        now.sec,
        now.nsec
    );
}

fn stat_fields() {
    let fd = must_open(F, O_CREAT | O_EXCL | O_RDWR);
    let st = must_fstat(fd);
    check!(
        T,
        st.mode == S_IFREG | 0o644 && st.nlink == 1 && st.size == 0,
        "a new file: mode {:o} nlink {} size {}",
        st.mode,
        st.nlink,
        st.size
    );
    check!(
        T,
        st.uid == 0 && st.gid == 0,
        "a file root created: uid {} gid {}",
        st.uid,
        st.gid
    );
    let data = [7u8; 5000];
    check!(T, write(fd, &data) == 5000, "write 5000 bytes");
    let st = must_fstat(fd);
    check!(
        T,
        st.size == 5000 && st.blocks > 0,
        "after writing 5000 bytes: size {} blocks {}",
        st.size,
        st.blocks
    );
    // A write past the end leaves a hole; the size counts it.
    check!(T, pwrite(fd, b"z", 9999) == 1, "pwrite at 9999");
    let st = must_fstat(fd);
    check!(
        T,
        st.size == 10000,
        "after pwrite at 9999: size {} want 10000",
        st.size
    );
    check!(T, ftruncate(fd, 3) == 0, "ftruncate 3");
    check!(
        T,
        must_fstat(fd).size == 3,
        "size after ftruncate(3): {}",
        must_fstat(fd).size
    );

    // newfstatat of the same file agrees with fstat.
    let by_path = match stat(F) {
        Ok(s) => s,
        Err(e) => fail!(T, "newfstatat(f) gave {}", e),
    };
    check!(
        T,
        by_path.ino == st.ino && by_path.dev == st.dev && by_path.size == 3,
        "newfstatat and fstat disagree"
    );
    // AT_EMPTY_PATH: the file the descriptor refers to; without it "" is ENOENT.
    match fstatat(fd, c"", AT_EMPTY_PATH) {
        Ok(s) => check!(
            T,
            s.ino == st.ino && s.kind() == S_IFREG,
            "fstatat(fd, \"\", AT_EMPTY_PATH) gave another file"
        ),
        Err(e) => fail!(T, "fstatat(fd, \"\", AT_EMPTY_PATH) gave {}", e),
    }
    let r = fstatat(fd, c"", 0).err();
    check!(
        T,
        r == Some(-ENOENT),
        "fstatat(fd, \"\", 0): got {:?} want {}",
        r,
        -ENOENT
    );
    check!(T, chdir(DIR) == 0, "chdir");
    let cwd = fstatat(AT_FDCWD, c"", AT_EMPTY_PATH);
    check!(
        T,
        matches!(cwd, Ok(s) if s.kind() == S_IFDIR),
        "fstatat(AT_FDCWD, \"\", AT_EMPTY_PATH) is not the cwd: {:?}",
        cwd.map(|s| s.mode)
    );
    check!(T, chdir(c"/") == 0, "chdir /");
    let r = fstatat(AT_FDCWD, c"/tmp/fs_stat/f", 0x8000).err();
    check!(
        T,
        r == Some(-EINVAL),
        "newfstatat with an unknown flag: got {:?} want {}",
        r,
        -EINVAL
    );

    // Bad pointers.
    let r = syscall(SYS_FSTAT, &[fd as usize, 0x10]);
    check!(
        T,
        r == -EFAULT,
        "fstat into address 0x10: got {} want {}",
        r,
        -EFAULT
    );
    let mut buf = Stat::default();
    let r = syscall(
        SYS_NEWFSTATAT,
        &[AT_FDCWD as usize, 0x10, &mut buf as *mut Stat as usize, 0],
    );
    check!(
        T,
        r == -EFAULT,
        "newfstatat of path pointer 0x10: got {} want {}",
        r,
        -EFAULT
    );
    let r = syscall(
        SYS_STATX,
        &[
            AT_FDCWD as usize,
            F.as_ptr() as usize,
            0,
            STATX_BASIC_STATS as usize,
            0x10,
        ],
    );
    check!(
        T,
        r == -EFAULT,
        "statx into address 0x10: got {} want {}",
        r,
        -EFAULT
    );
    let r = syscall(SYS_FSTAT, &[999, &mut buf as *mut Stat as usize]);
    check!(T, r == -EBADF, "fstat(999): got {} want {}", r, -EBADF);
    close(fd);

    // A directory: S_IFDIR, nlink 2 when it has no subdirectory.
    check!(T, mkdir(c"/tmp/fs_stat/d", 0o755) == 0, "mkdir d");
    let st = must_lstat(c"/tmp/fs_stat/d");
    check!(
        T,
        st.mode == S_IFDIR | 0o755 && st.nlink == 2,
        "a new directory: mode {:o} nlink {}",
        st.mode,
        st.nlink
    );
    check!(T, rmdir(c"/tmp/fs_stat/d") == 0, "rmdir d");

    // AT_SYMLINK_NOFOLLOW: the link itself, whose size is the length of its target.
    check!(T, symlinkat(c"f", AT_FDCWD, LINK) == 0, "symlink");
    check!(
        T,
        symlinkat(c"/tmp/fs_stat/f", AT_FDCWD, c"/tmp/fs_stat/abs") == 0,
        "symlink abs"
    );
    let l = must_lstat(c"/tmp/fs_stat/abs");
    check!(
        T,
        l.kind() == S_IFLNK && l.size == 14,
        "lstat of a symlink to \"/tmp/fs_stat/f\": mode {:o} size {} (want 14)",
        l.mode,
        l.size
    );
    check!(T, unlink(c"/tmp/fs_stat/abs") == 0, "unlink abs");
    let followed = stat(LINK);
    check!(
        T,
        matches!(followed, Ok(s) if s.kind() == S_IFREG && s.size == 3),
        "stat through a symlink: {:?}",
        followed.map(|s| (s.mode, s.size))
    );

    // Device files: /dev/null is character device 1,3.
    match stat(c"/dev/null") {
        Ok(s) => check!(
            T,
            s.kind() == S_IFCHR && s.rdev == makedev(1, 3),
            "/dev/null: mode {:o} rdev {}:{} (want S_IFCHR 1:3)",
            s.mode,
            major(s.rdev),
            minor(s.rdev)
        ),
        Err(e) => fail!(T, "stat /dev/null gave {}", e),
    }
}

fn statx_fields() {
    let st = must_lstat(F);
    let sx = match statx(AT_FDCWD, F, 0, STATX_BASIC_STATS) {
        Ok(s) => s,
        Err(e) => fail!(T, "statx(f) gave {}", e),
    };
    check!(
        T,
        sx.mask & STATX_BASIC_STATS == STATX_BASIC_STATS,
        "statx mask {:#x} lacks basic stats",
        sx.mask
    );
    check!(
        T,
        sx.mode as u32 == st.mode
            && sx.size == st.size as u64
            && sx.nlink == st.nlink
            && sx.ino == st.ino
            && sx.uid == st.uid
            && sx.gid == st.gid
            && sx.blocks == st.blocks as u64,
        "statx and stat disagree: mode {:o}/{:o} size {}/{} nlink {}/{}",
        sx.mode,
        st.mode,
        sx.size,
        st.size,
        sx.nlink,
        st.nlink
    );
    check!(
        T,
        sx.mtime.sec == st.mtime.sec && sx.mtime.nsec as i64 == st.mtime.nsec,
        "statx mtime {}.{} vs stat {}.{}",
        sx.mtime.sec,
        sx.mtime.nsec,
        st.mtime.sec,
        st.mtime.nsec
    );
    let sx = match statx(AT_FDCWD, LINK, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_SIZE) {
        Ok(s) => s,
        Err(e) => fail!(T, "statx(link, AT_SYMLINK_NOFOLLOW) gave {}", e),
    };
    check!(
        T,
        sx.mask & (STATX_TYPE | STATX_SIZE) == STATX_TYPE | STATX_SIZE
            && sx.mode as u32 & S_IFMT == S_IFLNK
            && sx.size == 1,
        "statx of a symlink: mask {:#x} mode {:o} size {}",
        sx.mask,
        sx.mode,
        sx.size
    );
    let fd = must_open(F, O_RDONLY);
    let sx = statx(fd, c"", AT_EMPTY_PATH, STATX_BASIC_STATS);
    check!(
        T,
        matches!(sx, Ok(s) if s.ino == st.ino),
        "statx(fd, \"\", AT_EMPTY_PATH): {:?}",
        sx.map(|s| s.ino)
    );
    close(fd);
    let r = statx(AT_FDCWD, F, 0, 0x8000_0000).err();
    check!(
        T,
        r == Some(-EINVAL),
        "statx with the reserved mask bit: got {:?} want {}",
        r,
        -EINVAL
    );
    let r = statx(AT_FDCWD, c"/tmp/fs_stat/missing", 0, STATX_BASIC_STATS).err();
    check!(
        T,
        r == Some(-ENOENT),
        "statx of a missing file: got {:?} want {}",
        r,
        -ENOENT
    );
}

fn modes_and_owners() {
    let fd = must_open(F, O_RDWR);
    check!(T, fchmod(fd, 0o600) == 0, "fchmod 0600");
    check!(
        T,
        must_fstat(fd).mode == S_IFREG | 0o600,
        "after fchmod 0600: {:o}",
        must_fstat(fd).mode
    );
    // Type bits in the argument are ignored: a file stays a regular file.
    check!(T, fchmod(fd, S_IFDIR | 0o640) == 0, "fchmod S_IFDIR|0640");
    check!(
        T,
        must_fstat(fd).mode == S_IFREG | 0o640,
        "fchmod with type bits: {:o}",
        must_fstat(fd).mode
    );
    check!(T, fchmodat(AT_FDCWD, F, 0o4755) == 0, "fchmodat 04755");
    check!(
        T,
        must_fstat(fd).mode == S_IFREG | 0o4755,
        "after fchmodat 04755: {:o}",
        must_fstat(fd).mode
    );
    // fchmodat follows a symlink to its target.
    check!(
        T,
        fchmodat(AT_FDCWD, LINK, 0o4711) == 0,
        "fchmodat through the link"
    );
    check!(
        T,
        must_fstat(fd).mode == S_IFREG | 0o4711,
        "fchmodat via a symlink: {:o}",
        must_fstat(fd).mode
    );
    check!(T, mkdir(c"/tmp/fs_stat/d", 0o755) == 0, "mkdir d");
    check!(
        T,
        fchmodat(AT_FDCWD, c"/tmp/fs_stat/d", 0o700) == 0,
        "fchmodat d 0700"
    );
    check!(
        T,
        must_lstat(c"/tmp/fs_stat/d").mode == S_IFDIR | 0o700,
        "a directory after fchmodat 0700: {:o}",
        must_lstat(c"/tmp/fs_stat/d").mode
    );
    check!(T, rmdir(c"/tmp/fs_stat/d") == 0, "rmdir d");
    let r = fchmodat(AT_FDCWD, c"/tmp/fs_stat/missing", 0o644);
    check!(
        T,
        r == -ENOENT,
        "fchmodat of a missing file: got {} want {}",
        r,
        -ENOENT
    );

    // Root may give a file away; -1 leaves an id as it is. A chown clears set-user-ID.
    check!(T, fchown(fd, 1000, 2000) == 0, "fchown 1000:2000");
    let st = must_fstat(fd);
    check!(
        T,
        st.uid == 1000 && st.gid == 2000,
        "after fchown 1000:2000: {}:{}",
        st.uid,
        st.gid
    );
    check!(
        T,
        st.mode & S_ISUID == 0,
        "fchown kept the set-user-ID bit: {:o}",
        st.mode
    );
    check!(
        T,
        fchownat(AT_FDCWD, F, u32::MAX, 3000, 0) == 0,
        "fchownat -1:3000"
    );
    let st = must_fstat(fd);
    check!(
        T,
        st.uid == 1000 && st.gid == 3000,
        "after fchownat -1:3000: {}:{}",
        st.uid,
        st.gid
    );
    // AT_SYMLINK_NOFOLLOW changes the link, not its target.
    check!(
        T,
        fchownat(AT_FDCWD, LINK, 5, 6, AT_SYMLINK_NOFOLLOW) == 0,
        "fchownat(link, NOFOLLOW)"
    );
    let (l, st) = (must_lstat(LINK), must_fstat(fd));
    check!(
        T,
        l.uid == 5 && l.gid == 6 && st.uid == 1000,
        "fchownat AT_SYMLINK_NOFOLLOW: link {}:{}, file {}:{}",
        l.uid,
        l.gid,
        st.uid,
        st.gid
    );
    check!(
        T,
        fchownat(AT_FDCWD, LINK, 0, 0, 0) == 0,
        "fchownat(link) follows it"
    );
    let st = must_fstat(fd);
    check!(
        T,
        st.uid == 0 && st.gid == 0,
        "fchownat through a symlink: the file is {}:{}",
        st.uid,
        st.gid
    );
    let r = fchownat(AT_FDCWD, F, 0, 0, 0x8000);
    check!(
        T,
        r == -EINVAL,
        "fchownat with an unknown flag: got {} want {}",
        r,
        -EINVAL
    );
    let r = fchown(999, 0, 0);
    check!(T, r == -EBADF, "fchown(999): got {} want {}", r, -EBADF);
    close(fd);
}

fn times() {
    let set = [
        Timespec {
            sec: 1000,
            nsec: 500,
        },
        Timespec {
            sec: 2000,
            nsec: 999_999_999,
        },
    ];
    let r = utimensat(AT_FDCWD, Some(F), Some(&set), 0);
    check!(T, r == 0, "utimensat explicit times: got {}", r);
    let st = must_lstat(F);
    check!(
        T,
        st.atime == set[0] && st.mtime == set[1],
        "after utimensat: atime {:?} mtime {:?}",
        st.atime,
        st.mtime
    );
    // Changing times changes ctime to now.
    near_now("ctime after utimensat", st.ctime);
    // UTIME_OMIT leaves a time alone; UTIME_NOW sets it to the current time.
    let t = [
        Timespec {
            sec: 0,
            nsec: UTIME_OMIT,
        },
        Timespec { sec: 3000, nsec: 0 },
    ];
    check!(
        T,
        utimensat(AT_FDCWD, Some(F), Some(&t), 0) == 0,
        "utimensat OMIT/3000"
    );
    let st = must_lstat(F);
    check!(
        T,
        st.atime == set[0] && st.mtime == t[1],
        "UTIME_OMIT atime: atime {:?} mtime {:?}",
        st.atime,
        st.mtime
    );
    let t = [
        Timespec {
            sec: 0,
            nsec: UTIME_NOW,
        },
        Timespec {
            sec: 0,
            nsec: UTIME_OMIT,
        },
    ];
    check!(
        T,
        utimensat(AT_FDCWD, Some(F), Some(&t), 0) == 0,
        "utimensat NOW/OMIT"
    );
    let st = must_lstat(F);
    near_now("atime after UTIME_NOW", st.atime);
    check!(
        T,
        st.mtime.sec == 3000,
        "UTIME_OMIT mtime changed it to {:?}",
        st.mtime
    );
    // NULL times: both now. On a descriptor (futimens) the path is NULL.
    let fd = must_open(F, O_RDONLY);
    check!(T, utimensat(fd, None, Some(&set), 0) == 0, "futimens");
    check!(
        T,
        must_fstat(fd).mtime == set[1],
        "futimens mtime {:?}",
        must_fstat(fd).mtime
    );
    check!(T, utimensat(fd, None, None, 0) == 0, "futimens(NULL)");
    let st = must_fstat(fd);
    near_now("mtime after futimens(NULL)", st.mtime);
    near_now("atime after futimens(NULL)", st.atime);
    close(fd);
    // nsec must be below a second (or one of the two UTIME_ values).
    let bad = [
        Timespec {
            sec: 0,
            nsec: 1_000_000_000,
        },
        Timespec { sec: 0, nsec: 0 },
    ];
    let r = utimensat(AT_FDCWD, Some(F), Some(&bad), 0);
    check!(
        T,
        r == -EINVAL,
        "utimensat with nsec 1e9: got {} want {}",
        r,
        -EINVAL
    );
    let bad = [Timespec { sec: 0, nsec: 0 }, Timespec { sec: 0, nsec: -1 }];
    let r = utimensat(AT_FDCWD, Some(F), Some(&bad), 0);
    check!(
        T,
        r == -EINVAL,
        "utimensat with nsec -1: got {} want {}",
        r,
        -EINVAL
    );
    let r = utimensat(AT_FDCWD, Some(F), Some(&set), 0x8000);
    check!(
        T,
        r == -EINVAL,
        "utimensat with an unknown flag: got {} want {}",
        r,
        -EINVAL
    );
    // AT_SYMLINK_NOFOLLOW sets the link's own times.
    check!(
        T,
        utimensat(AT_FDCWD, Some(LINK), Some(&set), AT_SYMLINK_NOFOLLOW) == 0,
        "utimensat(link, NOFOLLOW)"
    );
    let l = must_lstat(LINK);
    check!(
        T,
        l.mtime == set[1],
        "the link's mtime after utimensat NOFOLLOW: {:?}",
        l.mtime
    );

    // A write changes mtime and ctime; a read leaves mtime alone.
    check!(
        T,
        utimensat(AT_FDCWD, Some(F), Some(&set), 0) == 0,
        "utimensat"
    );
    let fd = must_open(F, O_RDWR);
    let mut buf = [0u8; 8];
    check!(T, read(fd, &mut buf) >= 0, "read");
    check!(
        T,
        must_fstat(fd).mtime == set[1],
        "a read changed mtime to {:?}",
        must_fstat(fd).mtime
    );
    check!(T, write(fd, b"new") == 3, "write");
    let st = must_fstat(fd);
    check!(T, st.mtime != set[1], "mtime did not change after a write");
    near_now("mtime after a write", st.mtime);
    near_now("ctime after a write", st.ctime);
    // So does a truncate that changes the size.
    check!(T, utimensat(fd, None, Some(&set), 0) == 0, "futimens");
    check!(T, ftruncate(fd, 1) == 0, "ftruncate");
    check!(
        T,
        must_fstat(fd).mtime != set[1],
        "mtime did not change after ftruncate"
    );
    close(fd);
}

fn access() {
    // Root passes read and write checks whatever the mode says, but execute needs at
    // least one x bit on a regular file.
    let fd = must_open(F, O_RDONLY);
    check!(T, fchmod(fd, 0) == 0, "fchmod 0");
    for (mode, what) in [
        (F_OK, "F_OK"),
        (R_OK, "R_OK"),
        (W_OK, "W_OK"),
        (R_OK | W_OK, "R_OK|W_OK"),
    ] {
        let r = faccessat(AT_FDCWD, F, mode);
        check!(
            T,
            r == 0,
            "faccessat {} on a mode-0 file as root: got {}",
            what,
            r
        );
    }
    let r = faccessat(AT_FDCWD, F, X_OK);
    check!(
        T,
        r == -EACCES,
        "faccessat X_OK with no x bit: got {} want {}",
        r,
        -EACCES
    );
    check!(T, fchmod(fd, 0o001) == 0, "fchmod 0001");
    let r = faccessat(AT_FDCWD, F, X_OK);
    check!(
        T,
        r == 0,
        "faccessat X_OK with only o+x, as root: got {}",
        r
    );
    check!(T, fchmod(fd, 0o644) == 0, "fchmod 0644");
    close(fd);
    // Directories can always be searched by root.
    check!(T, mkdir(c"/tmp/fs_stat/d", 0) == 0, "mkdir d 0");
    let r = faccessat(AT_FDCWD, c"/tmp/fs_stat/d", X_OK | R_OK | W_OK);
    check!(
        T,
        r == 0,
        "faccessat rwx on a mode-0 directory as root: got {}",
        r
    );
    check!(T, rmdir(c"/tmp/fs_stat/d") == 0, "rmdir d");

    let r = faccessat(AT_FDCWD, c"/tmp/fs_stat/missing", F_OK);
    check!(
        T,
        r == -ENOENT,
        "faccessat F_OK of a missing file: got {} want {}",
        r,
        -ENOENT
    );
    let r = faccessat(AT_FDCWD, F, 8);
    check!(
        T,
        r == -EINVAL,
        "faccessat with mode 8: got {} want {}",
        r,
        -EINVAL
    );
    let r = faccessat2(AT_FDCWD, F, R_OK, 0x8000);
    check!(
        T,
        r == -EINVAL,
        "faccessat2 with an unknown flag: got {} want {}",
        r,
        -EINVAL
    );
    let r = faccessat2(AT_FDCWD, F, R_OK, AT_EACCESS);
    check!(T, r == 0, "faccessat2 AT_EACCESS: got {}", r);
    // A dangling symlink: followed it is missing, not followed it exists.
    check!(
        T,
        symlinkat(c"nowhere", AT_FDCWD, c"/tmp/fs_stat/dangle") == 0,
        "symlink dangle"
    );
    let r = faccessat(AT_FDCWD, c"/tmp/fs_stat/dangle", F_OK);
    check!(
        T,
        r == -ENOENT,
        "faccessat of a dangling symlink: got {} want {}",
        r,
        -ENOENT
    );
    let r = faccessat2(AT_FDCWD, c"/tmp/fs_stat/dangle", F_OK, AT_SYMLINK_NOFOLLOW);
    check!(
        T,
        r == 0,
        "faccessat2 AT_SYMLINK_NOFOLLOW of a dangling symlink: got {}",
        r
    );
    check!(T, unlink(c"/tmp/fs_stat/dangle") == 0, "unlink dangle");
    let fd = must_open(F, O_RDONLY);
    let r = faccessat2(fd, c"", R_OK, AT_EMPTY_PATH);
    check!(T, r == 0, "faccessat2(fd, \"\", AT_EMPTY_PATH): got {}", r);
    close(fd);
}

fn umask_rules() {
    let old = umask(0o027);
    check!(
        T,
        old == 0o022,
        "umask returned {:o}, want the previous mask 022",
        old
    );
    let r = umask(0o027);
    check!(T, r == 0o027, "umask returned {:o}, want 027", r);
    let fd = must_open(c"/tmp/fs_stat/m", O_CREAT | O_EXCL | O_WRONLY);
    check!(
        T,
        must_fstat(fd).mode == S_IFREG | 0o640,
        "a file made with 0644 under umask 027: {:o}",
        must_fstat(fd).mode
    );
    close(fd);
    check!(T, unlink(c"/tmp/fs_stat/m") == 0, "unlink m");
    check!(T, mkdir(c"/tmp/fs_stat/m", 0o777) == 0, "mkdir m");
    check!(
        T,
        must_lstat(c"/tmp/fs_stat/m").mode == S_IFDIR | 0o750,
        "mkdir 0777 under umask 027: {:o}",
        must_lstat(c"/tmp/fs_stat/m").mode
    );
    check!(T, rmdir(c"/tmp/fs_stat/m") == 0, "rmdir m");
    // Only the permission bits are kept.
    umask(0o1777);
    let r = umask(0o022);
    check!(
        T,
        r == 0o777,
        "umask(01777) then umask gave {:o}, want 777",
        r
    );
}

fn file_systems() {
    match statfs(c"/tmp") {
        Ok(s) => check!(
            T,
            s.ftype == TMPFS_MAGIC && s.namelen == 255 && s.bsize > 0,
            "statfs(/tmp): f_type {:#x} (want tmpfs {:#x}) namelen {} bsize {}",
            s.ftype,
            TMPFS_MAGIC,
            s.namelen,
            s.bsize
        ),
        Err(e) => fail!(T, "statfs(/tmp) gave {}", e),
    }
    match statfs(c"/proc") {
        Ok(s) => check!(
            T,
            s.ftype == PROC_SUPER_MAGIC,
            "statfs(/proc): f_type {:#x} want {:#x}",
            s.ftype,
            PROC_SUPER_MAGIC
        ),
        Err(e) => fail!(T, "statfs(/proc) gave {}", e),
    }
    let fd = must_open(F, O_RDONLY);
    match fstatfs(fd) {
        Ok(s) => check!(
            T,
            s.ftype == TMPFS_MAGIC,
            "fstatfs of a file in /tmp: f_type {:#x}",
            s.ftype
        ),
        Err(e) => fail!(T, "fstatfs gave {}", e),
    }
    let r = syscall(SYS_FSTATFS, &[fd as usize, 0x10]);
    check!(
        T,
        r == -EFAULT,
        "fstatfs into address 0x10: got {} want {}",
        r,
        -EFAULT
    );
    close(fd);
    let r = statfs(c"/tmp/fs_stat/missing").err();
    check!(
        T,
        r == Some(-ENOENT),
        "statfs of a missing path: got {:?} want {}",
        r,
        -ENOENT
    );
    let r = fstatfs(999).err();
    check!(
        T,
        r == Some(-EBADF),
        "fstatfs(999): got {:?} want {}",
        r,
        -EBADF
    );
}

fn body() -> i32 {
    umask(0o022);
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    stat_fields();
    statx_fields();
    modes_and_owners();
    times();
    access();
    umask_rules();
    file_systems();
    check!(T, unlink(LINK) == 0 && unlink(F) == 0, "unlink link and f");
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    run_test_twice(T, body)
}
