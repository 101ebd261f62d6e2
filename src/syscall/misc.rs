//! Scheduling and information system calls, and the kernel's test statistics (the
//! clocks and sleeping are in time.rs).

use core::sync::atomic::Ordering;

use crate::error::{Errno, KResult};
use crate::mm::uaccess;
use crate::task::sched;

const GRND_NONBLOCK: u32 = 0x1;
const GRND_RANDOM: u32 = 0x2;
const GRND_INSECURE: u32 = 0x4;
/// Linux `MAX_RW_COUNT` (INT_MAX rounded down to a page): the most one call returns.
const MAX_RW_COUNT: usize = 0x7fff_f000;

/// getrandom(2) (Linux drivers/char/random.c): `len` bytes of the kernel's generator
/// (src/random.rs). The generator is seeded at boot, so no flag ever makes it wait;
/// the checks are Linux's, in its order. A request is cut to MAX_RW_COUNT; a long one
/// lets other tasks run every 64 KiB (Linux `cond_resched`: this kernel does not preempt
/// system calls, and 2 GiB take a minute under QEMU) and ends early, with what it has,
/// when a signal is pending.
pub fn getrandom(buf: usize, len: usize, flags: u32) -> KResult<usize> {
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & (GRND_INSECURE | GRND_RANDOM) == GRND_INSECURE | GRND_RANDOM {
        return Err(Errno::EINVAL);
    }
    let len = len.min(MAX_RW_COUNT);
    uaccess::UserSlice::new(buf, len)?;
    let (mut at, mut chunks) = (buf, 0u32);
    crate::random::fill_with(
        buf,
        len,
        |chunk| {
            uaccess::copy_to_user(at, chunk)?;
            at += chunk.len();
            Ok(())
        },
        || {
            // Chunks are 256 bytes at most: 256 of them are 64 KiB.
            chunks += 1;
            if chunks % 256 == 0 {
                sched::yield_now();
            }
            crate::task::signal::signal_pending()
        },
    )
}

/// sysinfo(2) (Linux `do_sysinfo`): uptime, load averages (0: not tracked yet), memory
/// in `mem_unit` = 1 bytes (free page frames, tmpfs pages as shared, no swap), and the
/// number of tasks. `struct sysinfo` is 112 bytes on arm64.
pub fn sysinfo(info: usize) -> KResult<usize> {
    let frames = crate::mm::global::frames();
    let page = crate::mm::frame::PAGE_SIZE as u64;
    let total = (frames.in_use() + frames.free_frames()) as u64 * page;
    let free = frames.free_frames() as u64 * page;
    let procs = sched::TASKS.lock().len() as u16;
    let mut b = [0u8; 112];
    // Seconds since boot, rounded up as Linux does.
    let up = crate::time::monotonic_ns().div_ceil(1_000_000_000);
    b[0..8].copy_from_slice(&up.to_le_bytes());
    b[32..40].copy_from_slice(&total.to_le_bytes());
    b[40..48].copy_from_slice(&free.to_le_bytes());
    b[80..82].copy_from_slice(&procs.to_le_bytes());
    b[104..108].copy_from_slice(&1u32.to_le_bytes());
    uaccess::copy_to_user(info, &b)?;
    Ok(0)
}

pub fn sched_yield() -> KResult<usize> {
    sched::yield_now();
    Ok(0)
}

pub fn uname(buf: usize) -> KResult<usize> {
    let mut u = [0u8; 6 * 65];
    for (i, field) in [
        "Linux",
        "teachos",
        "6.1.0-teachos",
        "#1",
        "aarch64",
        "(none)",
    ]
    .iter()
    .enumerate()
    {
        u[i * 65..i * 65 + field.len()].copy_from_slice(field.as_bytes());
    }
    uaccess::copy_to_user(buf, &u)?;
    Ok(0)
}

/// FAULT_INJECT (not Linux): `nth >= 1` arms the failure of the nth allocation of
/// `kind` (0 frame, 1 page table, 2 heap reservation) from now on; `nth = 0` disarms and
/// returns 1 if the failure happened. ENOSYS in a kernel built without the feature.
pub fn fault_inject(kind: usize, nth: usize) -> KResult<usize> {
    use crate::mm::inject::{self, Kind};
    let kind = Kind::from_usize(kind).ok_or(Errno::EINVAL)?;
    if nth == 0 {
        return Ok(inject::disarm() as usize);
    }
    if inject::arm(kind, nth) {
        Ok(0)
    } else {
        Err(Errno::ENOSYS)
    }
}

/// KSTAT (not Linux): 0 = frames in use, 1 = COW copies, 2 = COW reuses (no copy),
/// 3 = free frames, 4 = kernel heap bytes in use; 5 and 6 = COW copies and reuses of
/// the caller's own address space; 7 = the longest interrupts-masked stretch so far, in
/// counter ticks (16 instructions each under `-icount shift=0`), and 8 = what it was:
/// a system call number, or `arch::irqsoff::CAUSE_EXCEPTION | EC` (an exception from
/// EL0), `CAUSE_IRQ`, `CAUSE_IDLE`; 9 = frames the kernel heap has grown by; 10 = timer
/// interrupts taken since boot (all CPUs); 11-14 = ODF fork's counters (mm/odf.rs:
/// tables shared, sharings broken by a copy, by the last sharer, shared tables dropped).
pub fn kstat(which: usize) -> KResult<usize> {
    use crate::mm::{cow, global};
    Ok(match which {
        0 => global::frames_in_use(),
        1 => cow::COW_COPIES.load(Ordering::Relaxed),
        2 => cow::COW_REUSES.load(Ordering::Relaxed),
        3 => global::with_frames(|f| f.free_frames()),
        4 => global::heap_in_use(),
        9 => crate::mm::heap::frames(),
        5 | 6 => {
            let mm = crate::task::sched::current().mm().ok_or(Errno::EINVAL)?;
            mm.with(|space, _| {
                if which == 5 {
                    space.cow_copies
                } else {
                    space.cow_reuses
                }
            })
        }
        7 => crate::arch::irqsoff::longest().0 as usize,
        8 => crate::arch::irqsoff::longest().1 as usize,
        10 => crate::irq::TIMER_IRQS.load(Ordering::Relaxed) as usize,
        // ODF fork (mm/odf.rs): tables shared at fork, sharings broken by a copy, by the
        // last sharer (no copy), shared tables dropped.
        11 => crate::mm::odf::SHARED.load(Ordering::Relaxed),
        12 => crate::mm::odf::UNSHARE_COPIES.load(Ordering::Relaxed),
        13 => crate::mm::odf::UNSHARE_REUSES.load(Ordering::Relaxed),
        14 => crate::mm::odf::DROPPED.load(Ordering::Relaxed),
        _ => return Err(Errno::EINVAL),
    })
}

/// System call numbers below this are remembered in a fixed bitmap, each logged once;
/// above it (not Linux numbers) only the first few are logged at all. Either way the
/// memory is fixed: a program calling millions of distinct numbers costs nothing.
const LOGGED_BITS: usize = 1024;
static LOGGED: crate::sync::ordered::OrderedMutex<[u64; LOGGED_BITS / 64]> =
    crate::sync::ordered::OrderedMutex::new(crate::sync::Level::Ids, [0; LOGGED_BITS / 64]);
static LOGGED_HIGH: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Logs an unimplemented system call number the first time it is seen.
pub fn log_unknown_once(number: usize) {
    let first = if number < LOGGED_BITS {
        let mut bits = LOGGED.lock();
        let (word, bit) = (number / 64, 1u64 << (number % 64));
        let first = bits[word] & bit == 0;
        bits[word] |= bit;
        first
    } else {
        LOGGED_HIGH.fetch_add(1, Ordering::Relaxed) < 8
    };
    if first {
        log::warn!(
            "unimplemented system call {} -> -ENOSYS (logged once)",
            number
        );
    }
}

const PR_SET_NAME: usize = 15;
const PR_GET_NAME: usize = 16;
/// Linux TASK_COMM_LEN: a task's name with its NUL.
const TASK_COMM_LEN: usize = 16;

/// prctl(2) (Linux kernel/sys.c), the name options: PR_SET_NAME sets the calling
/// thread's name (its first 15 bytes), PR_GET_NAME copies it out with its NUL. Other
/// options: EINVAL.
pub fn prctl(option: usize, arg2: usize) -> KResult<usize> {
    match option {
        PR_SET_NAME => {
            let mut buf = [0u8; TASK_COMM_LEN];
            // Read byte by byte up to the NUL: the name may end just before a hole.
            let mut n = 0;
            while n < TASK_COMM_LEN - 1 {
                let mut b = [0u8];
                uaccess::copy_from_user(&mut b, arg2 + n)?;
                if b[0] == 0 {
                    break;
                }
                buf[n] = b[0];
                n += 1;
            }
            let mut name = alloc::string::String::new();
            name.try_reserve(n * 3).map_err(|_| Errno::ENOMEM)?;
            for chunk in buf[..n].utf8_chunks() {
                name.push_str(chunk.valid());
                if !chunk.invalid().is_empty() {
                    name.push('\u{fffd}');
                }
            }
            crate::task::sched::current().inner.lock().name = name;
            Ok(0)
        }
        PR_GET_NAME => {
            let name = crate::task::sched::current().name();
            let mut buf = [0u8; TASK_COMM_LEN];
            let n = name.len().min(TASK_COMM_LEN - 1);
            buf[..n].copy_from_slice(&name.as_bytes()[..n]);
            uaccess::copy_to_user(arg2, &buf)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}
