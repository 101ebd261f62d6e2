//! Which CPU a task runs on: getcpu, sched_getaffinity, sched_setaffinity (Linux:
//! kernel/sched/core.c `sys_sched_getaffinity`/`sys_sched_setaffinity`,
//! kernel/sys.c `getcpu`). A CPU mask is an array of bits in longs, bit n = CPU n.

use alloc::sync::Arc;
use core::sync::atomic::Ordering;

use crate::error::{Errno, KResult};
use crate::mm::uaccess;
use crate::task::Task;
use crate::task::sched::{self, current};

/// Bytes of Linux's `cpumask_size()` on the reference arm64 kernel (Debian's 6.1, as the
/// oracle measured it): what sched_getaffinity returns and at most what setaffinity
/// reads. Our masks hold MAX_CPUS (8) bits; the rest reads as zero.
const CPUMASK_BYTES: usize = 8;

/// The task `pid` names (0: the caller), or ESRCH.
fn task_by_pid(pid: i32) -> KResult<Arc<Task>> {
    match pid {
        0 => Ok(current().arc()),
        p if p > 0 => sched::find_task(p as u32).ok_or(Errno::ESRCH),
        _ => Err(Errno::ESRCH),
    }
}

/// getcpu(2): the CPU the caller runs on (it may change right after) and NUMA node 0.
pub fn getcpu(cpu: usize, node: usize) -> KResult<usize> {
    if cpu != 0 {
        uaccess::put_user_u32(cpu, crate::arch::percpu::this_cpu().id)?;
    }
    if node != 0 {
        uaccess::put_user_u32(node, 0)?;
    }
    Ok(0)
}

/// sched_getaffinity(2): the task's allowed CPUs among those online; returns the number
/// of bytes written. EINVAL if `len` cannot hold every CPU or is not a multiple of a long.
pub fn sched_getaffinity(pid: i32, len: usize, mask: usize) -> KResult<usize> {
    let cpus = 32 - sched::online_mask().leading_zeros() as usize;
    if len.saturating_mul(8) < cpus || !len.is_multiple_of(8) {
        return Err(Errno::EINVAL);
    }
    let task = task_by_pid(pid)?;
    let bits = task.cpus_allowed.load(Ordering::Relaxed) & sched::online_mask();
    let mut bytes = [0u8; CPUMASK_BYTES];
    bytes[..4].copy_from_slice(&bits.to_le_bytes());
    let n = len.min(CPUMASK_BYTES);
    uaccess::copy_to_user(mask, &bytes[..n])?;
    Ok(n)
}

/// sched_setaffinity(2): restrict the task to the CPUs in the mask that are online
/// (EINVAL if none is). The caller itself moves off a CPU it may no longer use before
/// returning; another task moves at its next switch.
pub fn sched_setaffinity(pid: i32, len: usize, mask: usize) -> KResult<usize> {
    let mut bytes = [0u8; CPUMASK_BYTES];
    let n = len.min(CPUMASK_BYTES);
    uaccess::copy_from_user(&mut bytes[..n], mask)?;
    let task = task_by_pid(pid)?;
    let wanted = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
    let allowed = wanted & sched::online_mask();
    if allowed == 0 {
        return Err(Errno::EINVAL);
    }
    task.cpus_allowed.store(allowed, Ordering::Relaxed);
    sched::affinity_changed(&task);
    Ok(0)
}
