//! futex(2) FUTEX_WAIT / FUTEX_WAKE (Linux kernel/futex/). A futex is a wait queue keyed
//! by the address of a user word. As in Linux's `get_futex_key`:
//!   * FUTEX_PRIVATE_FLAG: key = (address space, address);
//!   * shared, in a MAP_SHARED page: key = physical address (same word in every process);
//!   * shared, in a private page: key = (address space, address), but a *different* key
//!     from the private one — so a private wait is not woken by a shared wake. The
//!     kernel's CLONE_CHILD_CLEARTID wake is shared, which is why libcs join threads with
//!     a shared wait.

use alloc::sync::Arc;

use super::WaitChan;
use super::sched::{self, current};
use crate::error::{Errno, KResult};
use crate::mm::global::Mm;
use crate::mm::uaccess;
use crate::sync::wait::{FutexKey, WakeReason};

pub const FUTEX_WAIT: u32 = 0;
pub const FUTEX_WAKE: u32 = 1;
pub const FUTEX_WAIT_BITSET: u32 = 9;
pub const FUTEX_WAKE_BITSET: u32 = 10;
pub const FUTEX_PRIVATE_FLAG: u32 = 128;
pub const FUTEX_CLOCK_REALTIME: u32 = 256;

fn key_for(mm: &Arc<Mm>, addr: usize, private: bool) -> FutexKey {
    if private {
        return FutexKey::Private { mm: mm.id, addr };
    }
    let physical = mm.with(|space, _| {
        let shared = space.find_vma(addr).is_some_and(|v| v.shared);
        shared
            .then(|| {
                space
                    .pt
                    .lookup(addr)
                    .map(|(pa, _)| pa.as_usize() + addr % 4096)
            })
            .flatten()
    });
    match physical {
        Some(pa) => FutexKey::Physical { pa },
        None => FutexKey::MmShared { mm: mm.id, addr },
    }
}

/// The wake CLONE_CHILD_CLEARTID does at thread exit.
pub fn futex_wake_shared_addr(mm: &Arc<Mm>, addr: usize, n: usize) -> usize {
    sched::wake_n(WaitChan::Futex(key_for(mm, addr, false)), n)
}

pub fn sys_futex(
    uaddr: usize,
    op: u32,
    val: u32,
    timeout: usize,
    _uaddr2: usize,
    val3: u32,
) -> KResult<usize> {
    if !uaddr.is_multiple_of(4) {
        return Err(Errno::EINVAL);
    }
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let cmd = op & !(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    let mm = current().mm().ok_or(Errno::EFAULT)?;
    match cmd {
        FUTEX_WAIT | FUTEX_WAIT_BITSET => {
            if cmd == FUTEX_WAIT_BITSET && val3 == 0 {
                return Err(Errno::EINVAL);
            }
            let deadline = match timeout {
                0 => None,
                t => {
                    let ts = uaccess::get_timespec(t)?;
                    // FUTEX_WAIT's timeout is relative; FUTEX_WAIT_BITSET's is absolute.
                    Some(if cmd == FUTEX_WAIT {
                        crate::arch::timer::now_ns().saturating_add(ts)
                    } else {
                        ts
                    })
                }
            };
            futex_wait(mm, uaddr, val, deadline, private)
        }
        FUTEX_WAKE | FUTEX_WAKE_BITSET => futex_wake(&mm, uaddr, val, private),
        _ => Err(Errno::ENOSYS),
    }
}

/// FUTEX_WAIT (Linux `futex_wait`): sleep on the word at `uaddr` as long as it holds
/// `val`, until a FUTEX_WAKE on the same key, the `deadline` (monotonic ns) or a signal.
/// The check of the value and the sleep must not race a wake from another CPU.
fn futex_wait(
    mm: Arc<Mm>,
    uaddr: usize,
    val: u32,
    deadline: Option<u64>,
    private: bool,
) -> KResult<usize> {
    // Reading the word faults it in, so the key below sees the final page.
    uaccess::get_user_u32(uaddr)?;
    let key = key_for(&mm, uaddr, private);
    drop(mm);
    // The wakeup count is read before the value: a FUTEX_WAKE on another CPU
    // after our check cannot be lost (sync/wait.rs; Linux orders the two through
    // the hash bucket's lock and waiter count).
    let seq = crate::sync::wait::prepare(WaitChan::Futex(key));
    if uaccess::get_user_u32(uaddr)? != val {
        return Err(Errno::EAGAIN);
    }
    // Interrupted: restarted after a SA_RESTART handler if there is no timeout
    // (Linux restarts a timed wait too, with its absolute deadline; here it
    // returns EINTR, which futex(2) allows and every libc loop handles).
    match sched::sleep_interruptible(WaitChan::Futex(key), deadline, seq) {
        WakeReason::Woken => Ok(0),
        WakeReason::Timeout => Err(Errno::ETIMEDOUT),
        WakeReason::Killed => Err(Errno::EINTR),
        WakeReason::Interrupted if deadline.is_none() => Err(Errno::ERESTARTSYS),
        WakeReason::Interrupted => Err(Errno::EINTR),
    }
}

/// FUTEX_WAKE (Linux `futex_wake`): wake up to `val` sleepers on the word's key; returns
/// how many were woken.
fn futex_wake(mm: &Arc<Mm>, uaddr: usize, val: u32, private: bool) -> KResult<usize> {
    let key = key_for(mm, uaddr, private);
    Ok(sched::wake_n(WaitChan::Futex(key), val as usize))
}
