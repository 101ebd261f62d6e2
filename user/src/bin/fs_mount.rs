//! mount and umount2: a tmpfs mounted on a fresh directory hides what was under it and
//! takes its files away with it when unmounted; a busy mount (an open file, a cwd inside)
//! cannot be unmounted, but MNT_DETACH detaches it at once and the open file works on;
//! names cannot be renamed or linked across mounts (EXDEV); proc mounts anywhere; and the
//! errors: ENODEV, ENOTDIR, ENOENT, EINVAL.
//!
//! Everything lives under /tmp/fs_mount and is removed (and unmounted) at the end; the
//! body runs twice in a child process (a warm-up, then a run whose frames and heap must
//! come back — a tmpfs that was unmounted must free every page its files used).
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::fmt::Write;

use ulib::*;

const T: &str = "fs_mount";
const DIR: &CStr = c"/tmp/fs_mount";
const M: &CStr = c"/tmp/fs_mount/m";
const MF: &CStr = c"/tmp/fs_mount/m/f";
const UNDER: &CStr = c"/tmp/fs_mount/m/under";

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

fn mount_tmpfs() {
    let r = mount(c"none", M, c"tmpfs", 0, 0);
    check!(T, r == 0, "mount tmpfs on {:?}: got {}", M, r);
}

/// The names in directory `path` other than "." and "..".
fn entries(path: &CStr) -> usize {
    let fd = must_open(path, O_RDONLY | O_DIRECTORY);
    let mut buf = [0u8; 1024];
    let mut count = 0;
    loop {
        let n = getdents64(fd, &mut buf);
        check!(T, n >= 0, "getdents64({:?}) gave {}", path, n);
        if n == 0 {
            break;
        }
        count += dirents(&buf[..n as usize])
            .filter(|d| d.name != b"." && d.name != b"..")
            .count();
    }
    close(fd);
    count
}

fn tmpfs_mount() {
    check!(T, write_file(UNDER, b"u") == 1, "write m/under");
    let outer = must_stat(DIR);
    mount_tmpfs();
    // The mount point now shows the new file system's root: another device, empty, and
    // (tmpfs's default) mode 1777.
    let root = must_stat(M);
    check!(
        T,
        root.dev != outer.dev,
        "the mounted tmpfs has the st_dev of the file system below it"
    );
    check!(
        T,
        root.mode == S_IFDIR | 0o1777,
        "a new tmpfs's root has mode {:o}, want 41777",
        root.mode
    );
    match statfs(M) {
        Ok(s) => check!(
            T,
            s.ftype == TMPFS_MAGIC,
            "statfs of the mount: f_type {:#x}",
            s.ftype
        ),
        Err(e) => fail!(T, "statfs of the mount gave {}", e),
    }
    let r = lstat(UNDER).err();
    check!(
        T,
        r == Some(-ENOENT),
        "a file under the mount point is visible through the mount: {:?}",
        r
    );
    check!(
        T,
        entries(M) == 0,
        "a fresh tmpfs lists {} names",
        entries(M)
    );
    check!(T, write_file(MF, b"inside") == 6, "write m/f");
    check!(
        T,
        must_stat(MF).dev == root.dev,
        "a file in the mount has another st_dev than its root"
    );

    // No renames or links across mounts.
    let r = rename(MF, c"/tmp/fs_mount/g");
    check!(
        T,
        r == -EXDEV,
        "rename out of the mount: got {} want {}",
        r,
        -EXDEV
    );
    let r = linkat(AT_FDCWD, MF, AT_FDCWD, c"/tmp/fs_mount/g", 0);
    check!(
        T,
        r == -EXDEV,
        "linkat out of the mount: got {} want {}",
        r,
        -EXDEV
    );

    // Busy: an open file, or a cwd, inside; and a mount point cannot be removed.
    let fd = must_open(MF, O_RDONLY);
    let r = umount2(M, 0);
    check!(
        T,
        r == -EBUSY,
        "umount2 with a file open inside: got {} want {}",
        r,
        -EBUSY
    );
    close(fd);
    check!(T, chdir(M) == 0, "chdir into the mount");
    let r = umount2(M, 0);
    check!(
        T,
        r == -EBUSY,
        "umount2 with the cwd inside: got {} want {}",
        r,
        -EBUSY
    );
    check!(T, chdir(c"/") == 0, "chdir /");
    let r = rmdir(M);
    check!(
        T,
        r == -EBUSY,
        "rmdir of a mount point: got {} want {}",
        r,
        -EBUSY
    );

    let r = umount2(M, 0);
    check!(T, r == 0, "umount2 of the idle mount: got {}", r);
    let r = lstat(MF).err();
    check!(
        T,
        r == Some(-ENOENT),
        "m/f is still visible after umount2: {:?}",
        r
    );
    let mut buf = [0u8; 8];
    let n = read_file(UNDER, &mut buf);
    check!(
        T,
        n == 1 && buf[0] == b'u',
        "the file under the mount point after umount2: {}",
        n
    );
    check!(
        T,
        must_stat(M).dev == outer.dev,
        "after umount2 the mount point is still on another device"
    );
    let r = umount2(M, 0);
    check!(
        T,
        r == -EINVAL,
        "umount2 of what is no longer a mount: got {} want {}",
        r,
        -EINVAL
    );

    // MNT_DETACH: gone from the name space at once; an open file works until closed.
    mount_tmpfs();
    let fd = must_open(MF, O_CREAT | O_RDWR);
    check!(T, write(fd, b"detached") == 8, "write m/f");
    let r = umount2(M, MNT_DETACH);
    check!(T, r == 0, "umount2 MNT_DETACH with a file open: got {}", r);
    check!(
        T,
        lstat(UNDER).is_ok(),
        "after MNT_DETACH the mount point does not show the directory below"
    );
    check!(
        T,
        write(fd, b"!") == 1,
        "write to a file of a detached mount"
    );
    let n = pread(fd, &mut buf, 0);
    check!(
        T,
        n == 8 && &buf == b"detached",
        "pread from a file of a detached mount: {}",
        n
    );
    close(fd);
    check!(T, unlink(UNDER) == 0, "unlink m/under");
}

fn proc_mount() {
    let p = c"/tmp/fs_mount/p";
    check!(T, mkdir(p, 0o755) == 0, "mkdir p");
    let r = mount(c"proc", p, c"proc", 0, 0);
    check!(T, r == 0, "mount proc on {:?}: got {}", p, r);
    match statfs(p) {
        Ok(s) => check!(
            T,
            s.ftype == PROC_SUPER_MAGIC,
            "statfs of the proc mount: f_type {:#x}",
            s.ftype
        ),
        Err(e) => fail!(T, "statfs of the proc mount gave {}", e),
    }
    // p/self is a symlink to the reader's pid.
    let st = must_stat(c"/tmp/fs_mount/p/self");
    check!(
        T,
        st.kind() == S_IFLNK,
        "p/self has mode {:o}, want a symlink",
        st.mode
    );
    let mut want = PathBuf::new(b"");
    let _ = write!(want, "{}", getpid());
    let mut buf = [0u8; 32];
    let n = readlinkat(AT_FDCWD, c"/tmp/fs_mount/p/self", &mut buf);
    check!(
        T,
        n > 0 && &buf[..n as usize] == want.as_bytes(),
        "readlink p/self gave {:?}, want {:?}",
        core::str::from_utf8(&buf[..n.max(0) as usize]),
        core::str::from_utf8(want.as_bytes())
    );
    let r = umount2(p, 0);
    check!(T, r == 0, "umount2 of the proc mount: got {}", r);
    check!(
        T,
        entries(p) == 0,
        "the proc mount's directory is not empty after umount2"
    );
    check!(T, rmdir(p) == 0, "rmdir p");
}

fn errors() {
    let r = mount(c"none", M, c"nosuchfs", 0, 0);
    check!(
        T,
        r == -ENODEV,
        "mount of an unknown file system type: got {} want {}",
        r,
        -ENODEV
    );
    let file = c"/tmp/fs_mount/file";
    check!(T, write_file(file, b"") == 0, "create file");
    let r = mount(c"none", file, c"tmpfs", 0, 0);
    check!(
        T,
        r == -ENOTDIR,
        "mount tmpfs on a regular file: got {} want {}",
        r,
        -ENOTDIR
    );
    check!(T, unlink(file) == 0, "unlink file");
    let r = mount(c"none", c"/tmp/fs_mount/missing", c"tmpfs", 0, 0);
    check!(
        T,
        r == -ENOENT,
        "mount on a missing directory: got {} want {}",
        r,
        -ENOENT
    );
    let r = umount2(DIR, 0);
    check!(
        T,
        r == -EINVAL,
        "umount2 of a directory that is not a mount: got {} want {}",
        r,
        -EINVAL
    );
    let r = umount2(c"/tmp/fs_mount/missing", 0);
    check!(
        T,
        r == -ENOENT,
        "umount2 of a missing path: got {} want {}",
        r,
        -ENOENT
    );
    mount_tmpfs();
    let r = umount2(M, MNT_EXPIRE | MNT_DETACH);
    check!(
        T,
        r == -EINVAL,
        "umount2 MNT_EXPIRE|MNT_DETACH: got {} want {}",
        r,
        -EINVAL
    );
    let r = umount2(M, 0x100);
    check!(
        T,
        r == -EINVAL,
        "umount2 with an unknown flag: got {} want {}",
        r,
        -EINVAL
    );
    check!(T, umount2(M, 0) == 0, "umount2");
}

fn body() -> i32 {
    umask(0o022);
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    check!(T, mkdir(M, 0o755) == 0, "mkdir m");
    tmpfs_mount();
    proc_mount();
    errors();
    check!(T, rmdir(M) == 0, "rmdir m");
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    run_test_twice(T, body)
}
