//! POSIX record locks (Linux fs/locks.c `posix_lock_file`, `posix_test_lock`): fcntl's
//! F_SETLK/F_SETLKW/F_GETLK lock byte ranges of a file for reading (shared) or writing
//! (exclusive). A lock belongs to a descriptor table (Linux's `fl_owner` is the
//! `files_struct`): threads sharing one never conflict, and a process loses all its
//! locks on a file when it closes *any* descriptor of that file — POSIX's famous rule.
//! Advisory only: read and write ignore them.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{Errno, KResult};
use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;
use crate::sync::wait::{self, WaitChan, WakeReason};

pub const F_RDLCK: u16 = 0;
pub const F_WRLCK: u16 = 1;
pub const F_UNLCK: u16 = 2;

/// One lock: bytes `start..=end` of the file `file` (the inode's address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PosixLock {
    pub file: usize,
    pub owner: usize,
    /// The owner's process (F_GETLK reports it).
    pub pid: u32,
    pub ty: u16,
    pub start: u64,
    pub end: u64,
}

impl PosixLock {
    fn overlaps(&self, o: &PosixLock) -> bool {
        self.file == o.file && self.start <= o.end && o.start <= self.end
    }

    fn conflicts(&self, o: &PosixLock) -> bool {
        self.owner != o.owner && self.overlaps(o) && (self.ty == F_WRLCK || o.ty == F_WRLCK)
    }
}

static LOCKS: OrderedMutex<Vec<PosixLock>> = OrderedMutex::new(Level::Process, Vec::new());
/// Locks held anywhere: closing a file skips the table when there are none.
static COUNT: AtomicUsize = AtomicUsize::new(0);

fn chan(file: usize) -> WaitChan {
    WaitChan::SleepLock(file ^ 1) // a channel per file, distinct from its sleeping locks
}

/// F_GETLK: the first lock that would block `req`, if any.
pub fn test(req: &PosixLock) -> Option<PosixLock> {
    LOCKS.lock().iter().find(|l| l.conflicts(req)).copied()
}

/// Removes `owner`'s locks on `req`'s range of the file, keeping the parts outside it.
fn carve(locks: &mut Vec<PosixLock>, req: &PosixLock) -> KResult<()> {
    let mut i = 0;
    while i < locks.len() {
        let l = locks[i];
        if l.owner != req.owner || !l.overlaps(req) {
            i += 1;
            continue;
        }
        locks.remove(i);
        if l.start < req.start {
            locks.try_reserve(1).map_err(|_| Errno::ENOLCK)?;
            locks.insert(
                i,
                PosixLock {
                    end: req.start - 1,
                    ..l
                },
            );
            i += 1;
        }
        if l.end > req.end {
            locks.try_reserve(1).map_err(|_| Errno::ENOLCK)?;
            locks.insert(
                i,
                PosixLock {
                    start: req.end + 1,
                    ..l
                },
            );
            i += 1;
        }
    }
    Ok(())
}

/// F_SETLK (`wait`: F_SETLKW): takes, changes or (F_UNLCK) releases a lock. EAGAIN if
/// another owner's lock is in the way and we may not wait; EINTR if killed waiting.
pub fn set(req: PosixLock, wait_for_it: bool) -> KResult<()> {
    loop {
        let seq = wait::prepare(chan(req.file));
        {
            let mut locks = LOCKS.lock();
            if req.ty == F_UNLCK || !locks.iter().any(|l| l.conflicts(&req)) {
                locks.try_reserve(3).map_err(|_| Errno::ENOLCK)?;
                let before = locks.len();
                carve(&mut locks, &req)?;
                if req.ty != F_UNLCK {
                    locks.push(req);
                }
                let after = locks.len();
                COUNT.store(after, Ordering::Relaxed);
                drop(locks);
                if after <= before {
                    wait::wakeup(chan(req.file));
                }
                return Ok(());
            }
        }
        if !wait_for_it {
            return Err(Errno::EAGAIN);
        }
        match wait::sleep_interruptible(chan(req.file), None, seq) {
            WakeReason::Killed => return Err(Errno::EINTR),
            WakeReason::Interrupted => return Err(Errno::ERESTARTSYS),
            _ => {}
        }
    }
}

/// Drops every lock `owner` holds on `file` (a descriptor of it was closed).
pub fn release(owner: usize, file: usize) {
    if COUNT.load(Ordering::Relaxed) == 0 {
        return;
    }
    let removed = {
        let mut locks = LOCKS.lock();
        let before = locks.len();
        locks.retain(|l| !(l.owner == owner && l.file == file));
        COUNT.store(locks.len(), Ordering::Relaxed);
        before != locks.len()
    };
    if removed {
        wait::wakeup(chan(file));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock(owner: usize, ty: u16, start: u64, end: u64) -> PosixLock {
        PosixLock {
            file: 8,
            owner,
            pid: owner as u32,
            ty,
            start,
            end,
        }
    }

    #[test]
    fn ranges_conflict_split_and_release() {
        set(lock(1, F_WRLCK, 0, 99), false).unwrap();
        assert_eq!(set(lock(2, F_RDLCK, 50, 60), false), Err(Errno::EAGAIN));
        assert!(
            set(lock(2, F_RDLCK, 100, 200), false).is_ok(),
            "beyond the range"
        );
        assert_eq!(test(&lock(2, F_WRLCK, 10, 10)).map(|l| l.owner), Some(1));
        // Owner 1 unlocks the middle: two pieces are left.
        set(lock(1, F_UNLCK, 40, 59), false).unwrap();
        assert!(test(&lock(2, F_WRLCK, 40, 59)).is_none());
        assert!(test(&lock(2, F_WRLCK, 39, 39)).is_some());
        assert!(test(&lock(2, F_WRLCK, 60, 60)).is_some());
        // Read locks share.
        assert!(set(lock(3, F_RDLCK, 150, 160), false).is_ok());
        release(1, 8);
        release(2, 8);
        release(3, 8);
        assert!(LOCKS.lock().is_empty());
    }
}
