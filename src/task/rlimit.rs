//! Resource limits (Linux `struct rlimit` in `signal_struct->rlim`, kernel/sys.c
//! `do_prlimit`, include/asm-generic/resource.h `INIT_RLIMITS`): the per-process table
//! that fork copies and getrlimit/setrlimit/prlimit64 read and write, with Linux's
//! defaults and checks, and the execve argument limit derived from RLIMIT_STACK
//! (fs/exec.c `bprm_stack_limits`).
//!
//! Portable: the kernel keeps one `Limits` per thread group (task/mod.rs `SignalInner`).

use crate::error::{Errno, KResult};

pub const RLIMIT_CPU: usize = 0;
pub const RLIMIT_FSIZE: usize = 1;
pub const RLIMIT_DATA: usize = 2;
pub const RLIMIT_STACK: usize = 3;
pub const RLIMIT_CORE: usize = 4;
pub const RLIMIT_RSS: usize = 5;
pub const RLIMIT_NPROC: usize = 6;
pub const RLIMIT_NOFILE: usize = 7;
pub const RLIMIT_MEMLOCK: usize = 8;
pub const RLIMIT_AS: usize = 9;
pub const RLIMIT_LOCKS: usize = 10;
pub const RLIMIT_SIGPENDING: usize = 11;
pub const RLIMIT_MSGQUEUE: usize = 12;
pub const RLIMIT_NICE: usize = 13;
pub const RLIMIT_RTPRIO: usize = 14;
pub const RLIMIT_RTTIME: usize = 15;
/// Number of resources (Linux RLIM_NLIMITS).
pub const RLIM_NLIMITS: usize = 16;
/// "No limit" (RLIM64_INFINITY, ~0).
pub const RLIM_INFINITY: u64 = u64::MAX;

/// fs.nr_open: the most descriptors RLIMIT_NOFILE may allow (Linux sysctl_nr_open).
pub const NR_OPEN: u64 = 1024 * 1024;
/// INR_OPEN_CUR / INR_OPEN_MAX: RLIMIT_NOFILE's defaults.
pub const NOFILE_CUR: u64 = 1024;
pub const NOFILE_MAX: u64 = 4096;
/// _STK_LIM: RLIMIT_STACK's default soft limit.
pub const STK_LIM: u64 = 8 << 20;
/// MLOCK_LIMIT (8 MiB since Linux 5.16).
pub const MLOCK_LIMIT: u64 = 8 << 20;
/// MQ_BYTES_MAX.
pub const MQ_BYTES_MAX: u64 = 819_200;

/// One limit: soft (`cur`, what is enforced) and hard (`max`, the ceiling for `cur`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RLimit {
    pub cur: u64,
    pub max: u64,
}

impl RLimit {
    const fn both(v: u64) -> RLimit {
        RLimit { cur: v, max: v }
    }

    /// `struct rlimit64` as user memory holds it: two little-endian u64.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.cur.to_le_bytes());
        b[8..].copy_from_slice(&self.max.to_le_bytes());
        b
    }

    pub fn from_bytes(b: [u8; 16]) -> RLimit {
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(w)
        };
        RLimit {
            cur: word(0),
            max: word(8),
        }
    }
}

/// A process's limits, indexed by RLIMIT_*.
pub type Limits = [RLimit; RLIM_NLIMITS];

/// Linux `set_max_threads` (kernel/fork.c): thread structures may take at most an eighth
/// of RAM, counted in 16 KiB kernel stacks (arm64 THREAD_SIZE), clamped to
/// [MIN_THREADS, MAX_THREADS].
pub fn max_threads(ram_pages: usize) -> u64 {
    const THREAD_SIZE: u64 = 16 * 1024;
    const MIN_THREADS: u64 = 20;
    const MAX_THREADS: u64 = 0x3fff_ffff; // FUTEX_TID_MASK
    let threads = (ram_pages as u64).saturating_mul(4096) / (THREAD_SIZE * 8);
    threads.clamp(MIN_THREADS, MAX_THREADS)
}

/// The limits init starts with (INIT_RLIMITS, and `fork_init`'s RLIMIT_NPROC =
/// RLIMIT_SIGPENDING = max_threads / 2). Checked against Linux 6.1 (linux-oracle.sh).
pub fn defaults(max_threads: u64) -> Limits {
    let inf = RLimit::both(RLIM_INFINITY);
    let nproc = RLimit::both(max_threads / 2);
    let mut l = [inf; RLIM_NLIMITS];
    l[RLIMIT_STACK] = RLimit {
        cur: STK_LIM,
        max: RLIM_INFINITY,
    };
    l[RLIMIT_CORE] = RLimit {
        cur: 0,
        max: RLIM_INFINITY,
    };
    l[RLIMIT_NPROC] = nproc;
    l[RLIMIT_NOFILE] = RLimit {
        cur: NOFILE_CUR,
        max: NOFILE_MAX,
    };
    l[RLIMIT_MEMLOCK] = RLimit::both(MLOCK_LIMIT);
    l[RLIMIT_SIGPENDING] = nproc;
    l[RLIMIT_MSGQUEUE] = RLimit::both(MQ_BYTES_MAX);
    l[RLIMIT_NICE] = RLimit::both(0);
    l[RLIMIT_RTPRIO] = RLimit::both(0);
    l
}

/// Linux `do_prlimit`'s checks for a new value (the caller already checked `resource`):
/// the soft limit may not exceed the hard one (EINVAL), nor RLIMIT_NOFILE's hard limit
/// nr_open (EPERM). Raising a hard limit needs CAP_SYS_RESOURCE, which every process has
/// here (everyone is root).
pub fn check_new(resource: usize, new: RLimit) -> KResult<()> {
    if new.cur > new.max {
        return Err(Errno::EINVAL);
    }
    if resource == RLIMIT_NOFILE && new.max > NR_OPEN {
        return Err(Errno::EPERM);
    }
    Ok(())
}

/// Most bytes of execve strings, including the pointers to them (Linux
/// `bprm_stack_limits`): a quarter of the stack limit, but at most 3/4 of _STK_LIM and
/// at least ARG_MAX (32 pages).
pub fn arg_limit(stack_cur: u64) -> usize {
    const ARG_MAX: u64 = 32 * 4096;
    let limit = (STK_LIM / 4 * 3).min(stack_cur / 4).max(ARG_MAX);
    limit as usize
}

/// Longest single execve string, NUL included (MAX_ARG_STRLEN).
pub const MAX_ARG_STRLEN: usize = 32 * 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_linux_6_1() {
        // Linux 6.1 with 512 MiB reports RLIMIT_NPROC = RLIMIT_SIGPENDING = 1640.
        let l = defaults(3280);
        assert_eq!(
            l[RLIMIT_STACK],
            RLimit {
                cur: 8 << 20,
                max: RLIM_INFINITY
            }
        );
        assert_eq!(
            l[RLIMIT_NOFILE],
            RLimit {
                cur: 1024,
                max: 4096
            }
        );
        assert_eq!(l[RLIMIT_NPROC], RLimit::both(1640));
        assert_eq!(l[RLIMIT_SIGPENDING], l[RLIMIT_NPROC]);
        assert_eq!(l[RLIMIT_CORE].cur, 0);
        assert_eq!(l[RLIMIT_AS], RLimit::both(RLIM_INFINITY));
        assert_eq!(l[RLIMIT_MSGQUEUE], RLimit::both(819_200));
        assert_eq!(l[RLIMIT_MEMLOCK], RLimit::both(8 << 20));
        assert_eq!(l[RLIMIT_NICE], RLimit::both(0));
    }

    #[test]
    fn threads_scale_with_memory() {
        assert_eq!(max_threads(0), 20, "at least MIN_THREADS");
        assert_eq!(max_threads(65536), 2048, "256 MiB: one thread per 128 KiB");
    }

    #[test]
    fn new_limits_are_checked() {
        assert_eq!(
            check_new(RLIMIT_NOFILE, RLimit { cur: 10, max: 5 }),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            check_new(RLIMIT_NOFILE, RLimit::both(NR_OPEN + 1)),
            Err(Errno::EPERM)
        );
        assert_eq!(check_new(RLIMIT_NOFILE, RLimit::both(NR_OPEN)), Ok(()));
        assert_eq!(check_new(RLIMIT_STACK, RLimit::both(RLIM_INFINITY)), Ok(()));
        let r = RLimit {
            cur: 3,
            max: RLIM_INFINITY,
        };
        assert_eq!(RLimit::from_bytes(r.to_bytes()), r);
    }

    #[test]
    fn execve_string_limit() {
        assert_eq!(arg_limit(8 << 20), 2 << 20, "a quarter of 8 MiB");
        assert_eq!(arg_limit(RLIM_INFINITY), 6 << 20, "3/4 of _STK_LIM");
        assert_eq!(arg_limit(32 << 20), 6 << 20);
        assert_eq!(arg_limit(100_000), 128 * 1024, "ARG_MAX at least");
    }
}
