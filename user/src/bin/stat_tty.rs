//! fstat, newfstatat and the terminal ioctls a libc uses at start-up: the console is a
//! character device and a terminal (so stdout is line-buffered), pipes are FIFOs, the
//! program's own file is a regular file, and missing paths are -ENOENT.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "stat_tty";
const SYS_IOCTL: usize = 29;
const SYS_NEWFSTATAT: usize = 79;
const SYS_FSTAT: usize = 80;
const S_IFMT: u32 = 0o170000;

fn mode(st: &[u8; 128]) -> u32 {
    u32::from_le_bytes(st[16..20].try_into().unwrap())
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    let mut st = [0u8; 128];
    check!(
        T,
        syscall(SYS_FSTAT, &[1, st.as_mut_ptr() as usize]) == 0,
        "fstat(1)"
    );
    let stdout_mode = mode(&st) & S_IFMT;
    let mut termios = [0u8; 60];
    let tty = syscall(SYS_IOCTL, &[1, 0x5401, termios.as_mut_ptr() as usize]);
    if stdout_mode == 0o020000 {
        check!(
            T,
            tty == 0,
            "TCGETS on a character-device stdout gave {}",
            tty
        );
        let mut ws = [0u16; 4];
        check!(
            T,
            syscall(SYS_IOCTL, &[1, 0x5413, ws.as_mut_ptr() as usize]) == 0,
            "TIOCGWINSZ"
        );
    }
    let fds = pipe();
    check!(
        T,
        syscall(SYS_FSTAT, &[fds[0] as usize, st.as_mut_ptr() as usize]) == 0,
        "fstat(pipe)"
    );
    check!(
        T,
        mode(&st) & S_IFMT == 0o010000,
        "a pipe is a FIFO (mode {:o})",
        mode(&st)
    );
    check!(
        T,
        syscall(
            SYS_IOCTL,
            &[fds[0] as usize, 0x5401, termios.as_mut_ptr() as usize]
        ) == -25,
        "TCGETS on a pipe: -ENOTTY"
    );
    check!(
        T,
        syscall(SYS_FSTAT, &[99, st.as_mut_ptr() as usize]) == -EBADF,
        "fstat of a closed fd: -EBADF"
    );
    check!(
        T,
        syscall(SYS_FSTAT, &[1, 0x10]) == -EFAULT,
        "fstat into a bad pointer: -EFAULT"
    );
    // The program's own file (argv[0]) is a regular, non-empty file.
    let path = args.self_path();
    check!(
        T,
        syscall(
            SYS_NEWFSTATAT,
            &[
                usize::MAX - 99,
                path.as_ptr() as usize,
                st.as_mut_ptr() as usize,
                0
            ]
        ) == 0,
        "stat(argv[0])"
    );
    check!(
        T,
        mode(&st) & S_IFMT == 0o100000,
        "argv[0] is a regular file (mode {:o})",
        mode(&st)
    );
    check!(
        T,
        u64::from_le_bytes(st[48..56].try_into().unwrap()) > 0,
        "argv[0] has a size"
    );
    let root = b"/\0";
    check!(
        T,
        syscall(
            SYS_NEWFSTATAT,
            &[
                usize::MAX - 99,
                root.as_ptr() as usize,
                st.as_mut_ptr() as usize,
                0
            ]
        ) == 0,
        "stat(/)"
    );
    check!(T, mode(&st) & S_IFMT == 0o040000, "/ is a directory");
    let missing = b"/no/such/file\0";
    check!(
        T,
        syscall(
            SYS_NEWFSTATAT,
            &[
                usize::MAX - 99,
                missing.as_ptr() as usize,
                st.as_mut_ptr() as usize,
                0
            ]
        ) == -ENOENT,
        "missing: -ENOENT"
    );
    println!("{}: ok", T);
    0
}
