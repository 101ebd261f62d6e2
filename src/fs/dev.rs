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
//! | tty | 5:0 | the console (the controlling terminal, later) | the console |
//! | console | 5:1 | the console | the console |
//! | ttyAMA0 | 204:64 | the console (the PL011 UART) | the console |

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

pub fn read(inode: &Inode, dst: &mut dyn Sink) -> KResult<usize> {
    match rdev(inode) {
        NULL => Ok(0),
        ZERO | FULL => fill(dst, || 0),
        RANDOM | URANDOM => random_bytes(dst),
        d if is_console(d) => console_read(dst),
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

/// The console's input: whatever the UART has buffered; 0 (end of file) if nothing (a
/// line discipline that waits comes with the tty issue).
pub fn console_read(dst: &mut dyn Sink) -> KResult<usize> {
    #[cfg(target_os = "none")]
    {
        let mut tmp = [0u8; 256];
        let mut n = 0;
        while n < dst.remaining().min(tmp.len()) {
            match crate::console::try_getc() {
                Some(c) => {
                    tmp[n] = c;
                    n += 1;
                }
                None => break,
            }
        }
        dst.write_from(&tmp[..n])?;
        Ok(n)
    }
    #[cfg(not(target_os = "none"))]
    {
        let _ = dst;
        Ok(0)
    }
}

/// The console's readiness for poll (fs/poll.rs). Today's console read never blocks —
/// it returns what the UART has, or end of file — so it is always readable and
/// writable. The tty (src/tty) replaces this with its line discipline's answer
/// (`crate::tty::poll_mask`): readable when a line (or, raw, a byte) is waiting.
pub fn console_poll() -> super::poll::Readiness {
    super::poll::Readiness::always(super::poll::DEFAULT_POLLMASK)
}

/// The console's output: every byte to the UART.
pub fn console_write(src: &mut dyn Source) -> KResult<usize> {
    let mut done = 0;
    let mut chunk = [0u8; 256];
    while src.remaining() > 0 {
        let n = src.remaining().min(chunk.len());
        if let Err(e) = src.read_into(&mut chunk[..n]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        #[cfg(target_os = "none")]
        crate::console::write_bytes(&chunk[..n]);
        done += n;
    }
    Ok(done)
}
