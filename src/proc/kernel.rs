//! The values behind /proc's system-wide files: memory (Linux fs/proc/meminfo.c), CPUs
//! (arch/arm64/kernel/cpuinfo.c), counters (fs/proc/stat.c, loadavg.c, uptime.c) and
//! the mount table (fs/proc_namespace.c). format.rs turns them into text.

use alloc::sync::Arc;

use super::format::{self, KernelStat, MemInfo, Window};
use super::node;
use super::pid::state_of;
use crate::error::KResult;
use crate::fs::inode::{FsType, Inode};
use crate::fs::{mount, namei};
use crate::mm::frame::PAGE_SIZE;
use crate::task::KSTACK_SIZE;
use crate::task::sched::{self, TASKS};

const PAGE_KB: u64 = (PAGE_SIZE / 1024) as u64;

/// Pages tmpfs instances hold: each mounted tmpfs counted once (a tmpfs that is no
/// longer mounted but still has open files is not seen).
fn tmpfs_pages() -> KResult<u64> {
    let mounts = mount::snapshot()?;
    let mut pages = 0;
    for (i, (_, root, _, _)) in mounts.iter().enumerate() {
        let seen = mounts[..i]
            .iter()
            .any(|(_, r, _, _)| Arc::ptr_eq(&r.sb, &root.sb));
        if root.sb.fstype == FsType::Tmpfs && !seen {
            pages += root
                .sb
                .used_pages
                .load(core::sync::atomic::Ordering::Relaxed) as u64;
        }
    }
    Ok(pages)
}

pub fn meminfo(w: &mut Window) -> KResult<()> {
    let (total, free) =
        crate::mm::global::with_frames(|f| (f.in_use() + f.free_frames(), f.free_frames()));
    let cached = tmpfs_pages()?;
    let tasks = TASKS.lock().len() as u64;
    let heap_kb = (crate::mm::heap::in_use() as u64).div_ceil(1024);
    let m = MemInfo {
        total: total as u64 * PAGE_KB,
        free: free as u64 * PAGE_KB,
        // What could be had without swapping: the free frames. tmpfs pages cannot be
        // dropped (there is no swap), nor can the heap's frames be given back.
        available: free as u64 * PAGE_KB,
        cached: cached * PAGE_KB,
        shmem: cached * PAGE_KB,
        kernel_heap: heap_kb,
        // Each task has a kernel stack; the idle tasks run on their boot stacks.
        kernel_stack: tasks * (KSTACK_SIZE / 1024) as u64,
    };
    let _ = format::meminfo(w, &m);
    Ok(())
}

pub fn cpuinfo(w: &mut Window) -> KResult<()> {
    let online = sched::online_mask();
    let hz = crate::arch::timer::frequency();
    for cpu in (0..32).filter(|c| online & (1 << c) != 0) {
        if format::cpuinfo_block(w, cpu, hz).is_err() {
            break;
        }
    }
    Ok(())
}

pub fn uptime(w: &mut Window) -> KResult<()> {
    let online = sched::online_mask();
    let idle = (0..32)
        .filter(|c| online & (1 << c) != 0)
        .map(|c| crate::time::cputime::cpu_times(c).2)
        .sum();
    let _ = format::uptime(w, crate::arch::timer::now_ns(), idle);
    Ok(())
}

/// Counts of the task table.
struct Counts {
    total: usize,
    running: usize,
    blocked: usize,
    /// The largest tid: the last one handed out, unless tids have wrapped around
    /// PID_MAX (task/fork.rs keeps the real counter to itself).
    max_tid: u32,
}

fn count_tasks() -> Counts {
    let mut c = Counts {
        total: 0,
        running: 0,
        blocked: 0,
        max_tid: 0,
    };
    // TASKS, then each task's inner lock: the order the tick uses (sync/mod.rs).
    for t in TASKS.lock().values() {
        c.total += 1;
        c.max_tid = c.max_tid.max(t.tid);
        match state_of(t.inner.lock().state) {
            format::State::Running => c.running += 1,
            format::State::DiskSleep => c.blocked += 1,
            _ => {}
        }
    }
    c
}

pub fn stat(w: &mut Window) -> KResult<()> {
    let c = count_tasks();
    let s = KernelStat {
        online: sched::online_mask(),
        // Forks since boot are not counted; tids are handed out in increasing order from
        // 2, so the largest one is close (exact until they wrap at PID_MAX).
        processes: c.max_tid as u64,
        running: c.running,
        blocked: c.blocked,
        btime: (crate::time::realtime_ns() - crate::time::monotonic_ns()) / 1_000_000_000,
        cpus: core::array::from_fn(|cpu| {
            if sched::online_mask() & (1 << cpu) == 0 {
                return format::CpuTicks::default();
            }
            let (user, system, idle) = crate::time::cputime::cpu_times(cpu);
            let ticks = crate::time::cputime::ns_to_clock_t;
            format::CpuTicks {
                user: ticks(user),
                system: ticks(system),
                idle: ticks(idle),
            }
        }),
    };
    let _ = format::kernel_stat(w, &s);
    Ok(())
}

pub fn loadavg(w: &mut Window) -> KResult<()> {
    // Load averages are not computed: 0.00. Linux's "running" is the runnable tasks,
    // its total all threads.
    let c = count_tasks();
    let _ = format::loadavg(w, c.running, c.total, c.max_tid);
    Ok(())
}

pub fn filesystems(w: &mut Window) -> KResult<()> {
    let _ = format::filesystems(w);
    Ok(())
}

/// The mount table as seen from `root` (a process's root directory): each mount's path
/// from there; mounts outside it are left out, as Linux leaves them out of a chroot's
/// view.
pub fn mounts(w: &mut Window, root: &Arc<Inode>) -> KResult<()> {
    let mounts = mount::snapshot()?;
    for (mountpoint, mroot, source, fstype) in &mounts {
        let path = if Arc::ptr_eq(mroot, root) {
            Some(node::bytes(b"/")?)
        } else {
            match mountpoint {
                None => namei::path_of(mroot, root),
                Some(mp) => namei::path_of(mp, root),
            }
        };
        if let Some(path) = path
            && format::mount_line(w, source, &path, fstype).is_err()
        {
            break;
        }
    }
    Ok(())
}
