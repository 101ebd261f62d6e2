//! eventfd (Linux fs/eventfd.c): a file that is a 64-bit counter, for one process or
//! thread to wake another. write(2) adds an 8-byte value to the counter; read(2) takes
//! the whole counter and leaves 0 — or, with EFD_SEMAPHORE, takes 1. A read of a zero
//! counter sleeps until a write (EAGAIN with EFD_NONBLOCK); a write that would reach
//! 0xffff_ffff_ffff_ffff sleeps until a read makes room. poll: readable when the counter
//! is above 0, writable while one more write of 1 fits.
//!
//! Readers and writers sleep on the eventfd's own channel (`WaitChan::Eventfd`), which
//! pollers hear too (sync/wait.rs).

use core::sync::atomic::{AtomicUsize, Ordering};

use super::poll::{POLLERR, POLLIN, POLLOUT, Readiness};
use super::{Sink, Source};
use crate::error::{Errno, KResult};
use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;
use crate::sync::wait::{self, WaitChan, WakeReason};

/// eventfd2's flags (include/linux/eventfd.h): EFD_CLOEXEC and EFD_NONBLOCK are
/// O_CLOEXEC and O_NONBLOCK.
pub const EFD_SEMAPHORE: u32 = 1;

struct Counter {
    count: u64,
    /// Writes so far (an input-side change) and reads so far (output side), for epoll.
    writes: u64,
    reads: u64,
}

pub struct Eventfd {
    /// Names the wait channel.
    id: usize,
    semaphore: bool,
    counter: OrderedMutex<Counter>,
}

static EVENTFD_IDS: AtomicUsize = AtomicUsize::new(1);

impl Eventfd {
    pub fn new(initval: u32, semaphore: bool) -> Eventfd {
        Eventfd {
            id: EVENTFD_IDS.fetch_add(1, Ordering::Relaxed),
            semaphore,
            counter: OrderedMutex::new(
                Level::Process,
                Counter {
                    count: initval as u64,
                    writes: 0,
                    reads: 0,
                },
            ),
        }
    }

    fn chan(&self) -> WaitChan {
        WaitChan::Eventfd(self.id)
    }

    /// Linux `eventfd_poll`.
    pub fn poll(&self) -> Readiness {
        let c = self.counter.lock();
        let mut mask = 0;
        if c.count > 0 {
            mask |= POLLIN;
        }
        if c.count == u64::MAX {
            mask |= POLLERR;
        }
        if u64::MAX - 1 > c.count {
            mask |= POLLOUT;
        }
        Readiness {
            mask,
            in_gen: c.writes,
            out_gen: c.reads,
        }
    }

    /// The counter's value (for /proc/PID/fdinfo and tests).
    pub fn count(&self) -> u64 {
        self.counter.lock().count
    }

    /// Sleeps until `ready` holds for the counter, then runs `take` on it under the
    /// lock; EAGAIN if it does not hold and `nonblock`. Interrupted by a signal:
    /// ERESTARTSYS (Linux's read and write wait in TASK_INTERRUPTIBLE).
    fn wait_and<T>(
        &self,
        nonblock: bool,
        ready: impl Fn(&Counter) -> bool,
        take: impl FnOnce(&mut Counter) -> T,
    ) -> KResult<T> {
        loop {
            let seq = wait::prepare(self.chan());
            {
                let mut c = self.counter.lock();
                if ready(&c) {
                    let t = take(&mut c);
                    drop(c);
                    wait::wakeup(self.chan());
                    return Ok(t);
                }
            }
            if nonblock {
                return Err(Errno::EAGAIN);
            }
            match wait::sleep_interruptible(self.chan(), None, seq) {
                WakeReason::Killed => return Err(Errno::EINTR),
                WakeReason::Interrupted => return Err(Errno::ERESTARTSYS),
                WakeReason::Woken | WakeReason::Timeout => {}
            }
        }
    }

    /// Linux `eventfd_read`: EINVAL for a buffer under 8 bytes; the value is taken
    /// before it is copied out, so a bad buffer loses it (EFAULT), as on Linux.
    pub fn read(&self, dst: &mut dyn Sink, nonblock: bool) -> KResult<usize> {
        if dst.remaining() < 8 {
            return Err(Errno::EINVAL);
        }
        let semaphore = self.semaphore;
        let value = self.wait_and(
            nonblock,
            |c| c.count > 0,
            |c| {
                let v = if semaphore { 1 } else { c.count };
                c.count -= v;
                c.reads = c.reads.wrapping_add(1);
                v
            },
        )?;
        dst.write_from(&value.to_ne_bytes())?;
        Ok(8)
    }

    /// Linux `eventfd_write`: EINVAL for fewer than 8 bytes or the value
    /// 0xffff_ffff_ffff_ffff; sleeps while the sum would reach that value.
    pub fn write(&self, src: &mut dyn Source, nonblock: bool) -> KResult<usize> {
        if src.remaining() < 8 {
            return Err(Errno::EINVAL);
        }
        let mut b = [0u8; 8];
        src.read_into(&mut b)?;
        let value = u64::from_ne_bytes(b);
        if value == u64::MAX {
            return Err(Errno::EINVAL);
        }
        self.wait_and(
            nonblock,
            |c| u64::MAX - c.count > value,
            |c| {
                c.count += value;
                c.writes = c.writes.wrapping_add(1);
            },
        )?;
        Ok(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::file::{KernelDst, KernelSrc};

    fn write(e: &Eventfd, v: u64) -> KResult<usize> {
        let b = v.to_ne_bytes();
        e.write(&mut KernelSrc { data: &b, pos: 0 }, true)
    }

    fn read(e: &Eventfd) -> KResult<u64> {
        let mut b = [0u8; 8];
        e.read(
            &mut KernelDst {
                buf: &mut b,
                pos: 0,
            },
            true,
        )?;
        Ok(u64::from_ne_bytes(b))
    }

    #[test]
    fn counter() {
        let e = Eventfd::new(3, false);
        assert_eq!(e.poll().mask, POLLIN | POLLOUT);
        assert_eq!(write(&e, 4), Ok(8));
        assert_eq!(read(&e), Ok(7), "a read takes the whole counter");
        assert_eq!(read(&e), Err(Errno::EAGAIN));
        assert_eq!(e.poll().mask, POLLOUT);
        assert_eq!(write(&e, 0), Ok(8), "adding 0 is a write");
        assert_eq!(read(&e), Err(Errno::EAGAIN));
    }

    #[test]
    fn semaphore() {
        let e = Eventfd::new(2, true);
        assert_eq!(read(&e), Ok(1));
        assert_eq!(read(&e), Ok(1));
        assert_eq!(read(&e), Err(Errno::EAGAIN));
    }

    #[test]
    fn limits() {
        let e = Eventfd::new(0, false);
        assert_eq!(write(&e, u64::MAX), Err(Errno::EINVAL));
        assert_eq!(write(&e, u64::MAX - 1), Ok(8));
        assert_eq!(e.poll().mask, POLLIN, "full: not writable");
        assert_eq!(write(&e, 1), Err(Errno::EAGAIN), "would overflow");
        assert_eq!(write(&e, 0), Ok(8));
        let mut small = [0u8; 7];
        assert_eq!(
            e.read(
                &mut KernelDst {
                    buf: &mut small,
                    pos: 0
                },
                true
            ),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            e.write(
                &mut KernelSrc {
                    data: &small,
                    pos: 0
                },
                true
            ),
            Err(Errno::EINVAL)
        );
        assert_eq!(read(&e), Ok(u64::MAX - 1));
    }

    #[test]
    fn edges() {
        let e = Eventfd::new(0, false);
        let before = e.poll();
        write(&e, 1).unwrap();
        let after = e.poll();
        assert_ne!(before.in_gen, after.in_gen);
        assert_eq!(before.out_gen, after.out_gen);
        read(&e).unwrap();
        assert_ne!(after.out_gen, e.poll().out_gen);
    }
}
