//! Character devices (Linux drivers/char/mem.c, random.c, tty): a device inode carries
//! a device number (`st_rdev`); opening it reaches the driver chosen by that number, so
//! a `mknod c 1 3` anywhere is another /dev/null, as on Linux. /dev itself is a tmpfs
//! filled at boot with the nodes below (what devtmpfs would create).
//!
//! | node | major:minor | read | write |
//! |---|---|---|---|
//! | null | 1:3 | end of file | swallowed |
//! | zero | 1:5 | zeros | swallowed |
//! | full | 1:7 | zeros | ENOSPC |
//! | random, urandom | 1:8, 1:9 | the kernel's random generator (random.rs) | swallowed |
//! | tty | 5:0 | the caller's controlling terminal (the console tty) | the same |
//! | console | 5:1 | the console tty (src/tty) | the console tty |
//! | ttyAMA0 | 204:64 | the console tty (the PL011 UART) | the console tty |

use super::inode::Inode;
use super::{Sink, Source};
use crate::error::{Errno, KResult};

/// Linux's `new_encode_dev` (what stat's st_rdev holds on 64-bit).
pub const fn makedev(major: u64, minor: u64) -> u64 {
    (minor & 0xff) | (major << 8) | ((minor & !0xff) << 12)
}

pub const NULL: u64 = makedev(1, 3);
pub const ZERO: u64 = makedev(1, 5);
pub const FULL: u64 = makedev(1, 7);
pub const RANDOM: u64 = makedev(1, 8);
pub const URANDOM: u64 = makedev(1, 9);
pub const TTY: u64 = makedev(5, 0);
pub const CONSOLE: u64 = makedev(5, 1);
pub const TTY_AMA0: u64 = makedev(204, 64);

/// The nodes /dev gets at boot: name, device number, permissions.
pub const NODES: [(&str, u64, u32); 8] = [
    ("null", NULL, 0o666),
    ("zero", ZERO, 0o666),
    ("full", FULL, 0o666),
    ("random", RANDOM, 0o666),
    ("urandom", URANDOM, 0o666),
    ("tty", TTY, 0o666),
    ("console", CONSOLE, 0o600),
    ("ttyAMA0", TTY_AMA0, 0o620),
];

/// Does a driver exist for `rdev`? (open of an unknown device: ENXIO.)
pub fn exists(rdev: u64) -> bool {
    NODES.iter().any(|&(_, d, _)| d == rdev)
}

pub fn is_console(rdev: u64) -> bool {
    matches!(rdev, TTY | CONSOLE | TTY_AMA0)
}

fn rdev(inode: &Inode) -> u64 {
    inode.data.lock().rdev
}

/// Fills `dst` with bytes from `byte` (zeros, or the generator).
fn fill(dst: &mut dyn Sink, mut byte: impl FnMut() -> u8) -> KResult<usize> {
    let mut done = 0;
    let mut chunk = [0u8; 256];
    while dst.remaining() > 0 {
        let n = dst.remaining().min(chunk.len());
        chunk[..n].iter_mut().for_each(|b| *b = byte());
        if let Err(e) = dst.write_from(&chunk[..n]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += n;
    }
    Ok(done)
}

/// /dev/random and /dev/urandom: the kernel's generator (src/random.rs), which is
/// seeded at boot, so neither ever blocks (as on Linux 5.18+).
fn random_bytes(dst: &mut dyn Sink) -> KResult<usize> {
    let len = dst.remaining();
    crate::random::fill_with(0, len, |chunk| dst.write_from(chunk), || false)
}

pub fn read(inode: &Inode, dst: &mut dyn Sink, nonblock: bool) -> KResult<usize> {
    match rdev(inode) {
        NULL => Ok(0),
        ZERO | FULL => fill(dst, || 0),
        RANDOM | URANDOM => random_bytes(dst),
        d if is_console(d) => console_read(dst, nonblock),
        _ => Err(Errno::ENXIO),
    }
}

pub fn write(inode: &Inode, src: &mut dyn Source) -> KResult<usize> {
    match rdev(inode) {
        FULL => Err(Errno::ENOSPC),
        NULL | ZERO | RANDOM | URANDOM => Ok(src.remaining()),
        d if is_console(d) => console_write(src),
        _ => Err(Errno::ENXIO),
    }
}

/// The terminal's read and write (tty/tty_io.rs). The tty builds on task/, which
/// builds on fs/, so fs/ cannot call it by name: the tty installs these at boot, as the
/// scheduler installs the sleep operations (sync/wait.rs) — Linux's drivers register
/// their `file_operations` for a device number the same way (`register_chrdev`).
pub struct TtyOps {
    /// Reads input; the flag is O_NONBLOCK.
    pub read: fn(&mut dyn Sink, bool) -> KResult<usize>,
    pub write: fn(&mut dyn Source) -> KResult<usize>,
    /// Readiness for poll/epoll (fs/poll.rs).
    pub poll: fn() -> super::poll::Readiness,
}

static TTY_OPS: spin::Once<TtyOps> = spin::Once::new();

/// Called once by the tty at boot.
pub fn register_tty(ops: TtyOps) {
    TTY_OPS.call_once(|| ops);
}

/// The console's input, through the tty; end of file before it exists (host tests).
pub fn console_read(dst: &mut dyn Sink, nonblock: bool) -> KResult<usize> {
    match TTY_OPS.get() {
        Some(ops) => (ops.read)(dst, nonblock),
        None => Ok(0),
    }
}

/// The console's readiness for poll (fs/poll.rs), through the tty: readable when a
/// line (or, in raw mode, a byte) is waiting; before the tty exists, always ready.
pub fn console_poll() -> super::poll::Readiness {
    match TTY_OPS.get() {
        Some(ops) => (ops.poll)(),
        None => super::poll::Readiness::always(super::poll::DEFAULT_POLLMASK),
    }
}

/// The console's output, through the tty; swallowed before it exists.
pub fn console_write(src: &mut dyn Source) -> KResult<usize> {
    match TTY_OPS.get() {
        Some(ops) => (ops.write)(src),
        None => Ok(src.remaining()),
    }
}
