//! Clone flags and the checks Linux's `copy_process` (kernel/fork.c) makes before it
//! allocates anything. Each rejected combination says why, so a student who gets -EINVAL
//! can read the reason in the kernel log.

use bitflags::bitflags;

use crate::error::Errno;

bitflags! {
    /// include/uapi/linux/sched.h. The low byte (CSIGNAL) is the exit signal, not a flag.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct CloneFlags: u64 {
        const VM = 0x0000_0100;
        const FS = 0x0000_0200;
        const FILES = 0x0000_0400;
        const SIGHAND = 0x0000_0800;
        const PIDFD = 0x0000_1000;
        const PTRACE = 0x0000_2000;
        const VFORK = 0x0000_4000;
        const PARENT = 0x0000_8000;
        const THREAD = 0x0001_0000;
        const NEWNS = 0x0002_0000;
        const SYSVSEM = 0x0004_0000;
        const SETTLS = 0x0008_0000;
        const PARENT_SETTID = 0x0010_0000;
        const CHILD_CLEARTID = 0x0020_0000;
        const DETACHED = 0x0040_0000;
        const UNTRACED = 0x0080_0000;
        const CHILD_SETTID = 0x0100_0000;
        const NEWCGROUP = 0x0200_0000;
        const NEWUTS = 0x0400_0000;
        const NEWIPC = 0x0800_0000;
        const NEWUSER = 0x1000_0000;
        const NEWPID = 0x2000_0000;
        const NEWNET = 0x4000_0000;
        const IO = 0x8000_0000;
        /// clone3 only.
        const CLEAR_SIGHAND = 0x1_0000_0000;
        /// clone3 only.
        const INTO_CGROUP = 0x2_0000_0000;
    }
}

pub const CSIGNAL: u64 = 0xff;
pub const SIGCHLD: u32 = 17;
/// Highest valid signal number (_NSIG).
pub const NSIG: u64 = 64;

/// The namespace flags; this kernel has no namespaces.
pub const NAMESPACES: CloneFlags = CloneFlags::NEWNS
    .union(CloneFlags::NEWCGROUP)
    .union(CloneFlags::NEWUTS)
    .union(CloneFlags::NEWIPC)
    .union(CloneFlags::NEWUSER)
    .union(CloneFlags::NEWPID)
    .union(CloneFlags::NEWNET);

/// A rejected clone request: the errno and the rule it broke.
#[derive(Debug, PartialEq, Eq)]
pub struct Rejected(pub Errno, pub &'static str);

/// Splits a legacy clone() flags word into flags and exit signal. Like Linux, the upper 32
/// bits and unknown flags are ignored.
pub fn split_legacy(raw: u64) -> (CloneFlags, u32) {
    let low = raw & 0xffff_ffff;
    (
        CloneFlags::from_bits_truncate(low & !CSIGNAL),
        (low & CSIGNAL) as u32,
    )
}

/// The rules of copy_process, in Linux's order. `caller_is_init`: the caller is pid 1.
pub fn check(flags: CloneFlags, caller_is_init: bool) -> Result<(), Rejected> {
    use CloneFlags as F;
    let einval = |why| Err(Rejected(Errno::EINVAL, why));
    if flags.contains(F::NEWNS | F::FS) {
        return einval("CLONE_NEWNS with CLONE_FS: a new mount namespace cannot share fs_struct");
    }
    if flags.contains(F::NEWUSER | F::FS) {
        return einval("CLONE_NEWUSER with CLONE_FS: a new user namespace cannot share fs_struct");
    }
    if flags.contains(F::THREAD) && !flags.contains(F::SIGHAND) {
        return einval("CLONE_THREAD requires CLONE_SIGHAND: threads share signal handlers");
    }
    if flags.contains(F::SIGHAND) && !flags.contains(F::VM) {
        return einval(
            "CLONE_SIGHAND requires CLONE_VM: handlers point into a shared address space",
        );
    }
    if flags.contains(F::PARENT) && caller_is_init {
        return einval("CLONE_PARENT from init: init's siblings would have no reaper");
    }
    if flags.contains(F::THREAD) && flags.intersects(F::NEWUSER | F::NEWPID) {
        return einval(
            "CLONE_THREAD with a new user/pid namespace: a thread group spans one namespace",
        );
    }
    if flags.contains(F::PIDFD) && flags.intersects(F::DETACHED | F::THREAD) {
        return einval("CLONE_PIDFD with CLONE_DETACHED or CLONE_THREAD");
    }
    if flags.contains(F::SIGHAND) && flags.contains(F::CLEAR_SIGHAND) {
        return einval(
            "CLONE_CLEAR_SIGHAND with CLONE_SIGHAND: cannot reset handlers that are shared",
        );
    }
    // What Linux would accept but this kernel does not implement.
    if flags.intersects(NAMESPACES) {
        return einval("namespaces (CLONE_NEW*) are not supported by this kernel");
    }
    if flags.intersects(F::PIDFD | F::INTO_CGROUP) {
        return einval("CLONE_PIDFD / CLONE_INTO_CGROUP are not supported by this kernel");
    }
    Ok(())
}

/// The legacy clone() rule on top of `check`: with CLONE_PIDFD the pidfd is returned through
/// parent_tid, so CLONE_PARENT_SETTID would write the same word twice.
pub fn check_legacy(flags: CloneFlags, caller_is_init: bool) -> Result<(), Rejected> {
    if flags.contains(CloneFlags::PIDFD | CloneFlags::PARENT_SETTID) {
        return Err(Rejected(
            Errno::EINVAL,
            "CLONE_PIDFD with CLONE_PARENT_SETTID share parent_tid",
        ));
    }
    check(flags, caller_is_init)
}

/// clone3's extra rules (kernel/fork.c `clone3_args_valid`).
pub fn check_clone3(
    raw_flags: u64,
    exit_signal: u64,
    caller_is_init: bool,
) -> Result<CloneFlags, Rejected> {
    let flags = CloneFlags::from_bits(raw_flags)
        .ok_or(Rejected(Errno::EINVAL, "clone3: unknown flag bits"))?;
    if raw_flags & CSIGNAL != 0 {
        return Err(Rejected(
            Errno::EINVAL,
            "clone3: the exit signal goes in exit_signal, not flags",
        ));
    }
    if exit_signal > NSIG {
        return Err(Rejected(
            Errno::EINVAL,
            "clone3: exit_signal is not a valid signal",
        ));
    }
    if flags.intersects(CloneFlags::THREAD | CloneFlags::PARENT) && exit_signal != 0 {
        return Err(Rejected(
            Errno::EINVAL,
            "clone3: CLONE_THREAD/CLONE_PARENT take no exit_signal",
        ));
    }
    check(flags, caller_is_init)?;
    Ok(flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use CloneFlags as F;

    #[test]
    fn libc_flag_sets_are_accepted() {
        let musl_thread = 0x7d0f00;
        let (f, sig) = split_legacy(musl_thread);
        assert_eq!(sig, 0);
        assert!(f.contains(
            F::VM | F::FS | F::FILES | F::SIGHAND | F::THREAD | F::SYSVSEM | F::DETACHED
        ));
        assert_eq!(check_legacy(f, false), Ok(()));
        let glibc_fork = (F::CHILD_SETTID | F::CHILD_CLEARTID).bits() | SIGCHLD as u64;
        assert_eq!(
            split_legacy(glibc_fork),
            (F::CHILD_SETTID | F::CHILD_CLEARTID, SIGCHLD)
        );
        let vfork = (F::VM | F::VFORK).bits() | SIGCHLD as u64;
        assert_eq!(check_legacy(split_legacy(vfork).0, true), Ok(()));
    }

    #[test]
    fn every_einval_rule() {
        let bad = [
            F::NEWNS | F::FS,
            F::NEWUSER | F::FS,
            F::THREAD | F::VM,
            F::SIGHAND,
            F::THREAD | F::SIGHAND | F::VM | F::NEWPID,
            F::PIDFD | F::DETACHED,
            F::PIDFD | F::THREAD | F::SIGHAND | F::VM,
            F::NEWPID,
        ];
        for flags in bad {
            let r = check(flags, false);
            assert!(
                matches!(r, Err(Rejected(Errno::EINVAL, _))),
                "{flags:?} gave {r:?}"
            );
        }
        assert!(check(F::PARENT, true).is_err(), "init may not CLONE_PARENT");
        assert_eq!(check(F::PARENT, false), Ok(()));
        assert!(check_legacy(F::PIDFD | F::PARENT_SETTID, false).is_err());
    }

    #[test]
    fn legacy_ignores_unknown_and_high_bits_clone3_does_not() {
        let (f, sig) = split_legacy(0xdead_0000_0000_0011);
        assert_eq!((f, sig), (F::empty(), 17));
        assert!(check_clone3(1 << 40, 17, false).is_err());
        assert!(check_clone3(17, 0, false).is_err(), "signal in flags");
        assert!(check_clone3(0, 65, false).is_err());
        assert!(check_clone3((F::THREAD | F::SIGHAND | F::VM).bits(), 17, false).is_err());
        assert_eq!(check_clone3(F::VM.bits(), 17, false), Ok(F::VM));
    }
}
