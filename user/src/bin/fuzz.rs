//! A system-call fuzzer: worker processes make random system calls with arguments biased
//! to the interesting (0, -1, small numbers, single flag bits, huge sizes, unaligned
//! values, unmapped, kernel, read-only and valid pointers, descriptors and addresses that
//! earlier calls returned), under a watchdog. The kernel must not panic or hang, and when
//! every worker is gone, frames and kernel heap must be exactly where they were.
//!
//!   usage: fuzz [SEED [CALLS [trace]]]     (default: seed 1, 50,000 calls)
//!
//! The first line printed is the seed and the command that replays the run; `trace` makes
//! each worker print every call before it makes it. Workers run in parallel and die in
//! many ways, so a replay makes the same calls in the same workers but their interleaving
//! and some return values (pids, addresses) may differ.
//!
//! The parent never makes a random call. A worker makes at most WORKER_CALLS calls and
//! exits; the parent kills (SIGKILL) a worker whose current call has not returned within
//! WATCHDOG_NS and starts another. Dying of a signal is fine for a worker. Calls that could
//! end the run, harm the parent or the machine, or leave something behind that outlives
//! the workers are never made, or are made with a sanitised argument: see `policy`. The
//! same binary runs on Linux (as root, in linux-oracle.sh's throwaway VM), so that list
//! must also hold there.
#![no_std]
#![no_main]

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use ulib::*;

const T: &str = "fuzz";
const WORKERS: usize = 8;
/// Calls one worker makes before it exits by itself (then a fresh one is forked).
const WORKER_CALLS: u64 = 400;
/// A call that has not returned after this long gets its worker killed.
const WATCHDOG_NS: u64 = 150_000_000;
/// A killed worker that is still not reaped after this long is a kernel bug (a task that
/// cannot be killed, or lost).
const DEATH_NS: u64 = 5_000_000_000;
const DEFAULT_SEED: u64 = 1;
const DEFAULT_CALLS: u64 = 50_000;
/// The worker's valid buffer: 16 pages followed by an unmapped page.
const BUF_LEN: usize = 16 * 4096;
/// Words per worker slot in the shared control page: [calls done, nr in progress, a0..a5].
const SLOT: usize = 8;
const IDLE: u64 = u64::MAX;

/// splitmix64: small, fast, and good enough to drive a fuzzer.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn parse(s: Option<&str>) -> Option<u64> {
    let s = s?;
    let (digits, radix) = match s.strip_prefix("0x") {
        Some(h) => (h, 16),
        None => (s, 10),
    };
    u64::from_str_radix(digits, radix).ok()
}

// ---------------------------------------------------------------------------------------
// What may be called, and how.

enum Policy {
    /// Any arguments.
    Free,
    /// Never called; the reason is the comment at the entry.
    Deny,
    /// Called after `sanitize` has fixed up the arguments.
    Sanitize,
    /// clone/clone3: made by `clone_and_exit`, whose child calls exit(0) at once.
    Clone,
}

/// The policy for system call number `nr` (Linux uses the low 32 bits of x8 as the number,
/// so that is what decides, whatever the high bits are).
fn policy(nr: u32) -> Policy {
    use Policy::*;
    match nr {
        // exit, exit_group: a worker ends only on purpose (after its budget of calls).
        93 | 94 => Deny,
        // kill, tkill, tgkill, rt_sigqueueinfo, rt_tgsigqueueinfo: pid <= 0 reaches
        // process groups or every process, pid 1 and the parent must live: such pids are
        // replaced by the worker's own.
        129 | 130 | 131 | 138 | 240 => Sanitize,
        // pidfd_send_signal: a pidfd (pidfd_open of a random pid) can name the parent.
        424 => Deny,
        // pidfd_getfd: takes a descriptor from another process (the parent's console).
        438 => Deny,
        // rt_sigreturn: with no signal frame on the stack it loads the registers from
        // whatever is there and resumes anywhere: at a svc with arguments never checked.
        139 => Deny,
        // rt_sigaction: a handler is an address to jump to; only SIG_DFL, SIG_IGN and a
        // handler that returns are installed, and never with SA_RESTORER (its address).
        134 => Sanitize,
        // clone, clone3: the child must exit at once (it runs on a random stack).
        220 | 435 => Clone,
        // execve, execveat: only /bin/exit3 (on this kernel) or paths that do not run.
        221 | 281 => Sanitize,
        // ptrace: could stop or rewrite the parent or a sibling.
        117 => Deny,
        // process_vm_writev, process_madvise: write to / advise another process's memory.
        271 | 440 => Deny,
        // reboot, kexec_load, kexec_file_load: end the machine.
        142 | 104 | 294 => Deny,
        // init_module, delete_module, finit_module: change the kernel.
        105 | 106 | 273 => Deny,
        // clock_settime, settimeofday, adjtimex, clock_adjtime: time jumps break the
        // watchdog (and everyone else's timeouts).
        112 | 170 | 171 | 266 => Deny,
        // sched_setparam, sched_setscheduler, sched_setattr: a real-time worker can starve
        // the parent; setpriority can renice the parent.
        118 | 119 | 274 | 140 => Deny,
        // umount2, mount, pivot_root, open_tree, move_mount, fsopen, fsconfig, fsmount,
        // fspick, mount_setattr: change the machine's mounts.
        39 | 40 | 41 | 428..=433 | 442 => Deny,
        // swapon, swapoff: machine-wide.
        224 | 225 => Deny,
        // acct: process accounting writes a record to a file for every exit, machine-wide.
        89 => Deny,
        // quotactl, quotactl_fd: machine-wide.
        60 | 443 => Deny,
        // vhangup: hangs up the console the parent reports on.
        58 => Deny,
        // syslog: can clear the kernel log or silence the console.
        116 => Deny,
        // sethostname, setdomainname: machine-wide identity.
        161 | 162 => Deny,
        // bpf: as root, programs and maps that can outlive the worker.
        280 => Deny,
        // seccomp: a filter can make exit fail, for the worker and every child it clones
        // (which then never ends); prctl's PR_SET_SECCOMP and PR_SET_SYSCALL_USER_DISPATCH
        // likewise (replaced by PR_GET_SECCOMP).
        277 => Deny,
        167 => Sanitize,
        // msgget, semget, shmget, mq_open: System V / POSIX IPC objects outlive the worker
        // (they would count against the baseline and pile up in the oracle VM).
        186 | 190 | 194 | 180 => Deny,
        // add_key, request_key, keyctl: keys live in keyrings that outlive the worker.
        217..=219 => Deny,
        // mknodat, mkdirat, unlinkat, symlinkat, linkat, renameat, renameat2, truncate:
        // change the file tree; what they create or remove outlives the worker.
        33..=38 | 276 | 45 => Deny,
        // setxattr, lsetxattr, fsetxattr, removexattr, lremovexattr, fremovexattr: same.
        5..=7 | 14..=16 => Deny,
        // openat: O_CREAT and O_TRUNC are cleared (files would outlive the worker).
        56 => Sanitize,
        // openat2: its flags are in a struct (openat covers opening).
        437 => Deny,
        // fcntl: F_SETOWN, F_SETOWN_EX route SIGIO (or any F_SETSIG signal, even SIGKILL)
        // to another process: replaced by F_GETOWN.
        25 => Sanitize,
        // ioctl: FIOSETOWN, SIOCSPGRP, TIOCSPGRP, the same through sockets and ttys.
        29 => Sanitize,
        // madvise: MADV_HWPOISON and MADV_SOFT_OFFLINE take real page frames out of
        // service (as root): replaced by MADV_NORMAL.
        233 => Sanitize,
        // setrlimit, prlimit64: only the worker's own limits, and never RLIMIT_CORE (core
        // files of dying workers would fill the oracle's RAM-backed root).
        164 | 261 => Sanitize,
        // This kernel's fault_inject and the numbers reserved next to it: an armed
        // allocation failure would hit the parent (fault_inject tests it on its own).
        1001..=1099 => Deny,
        _ => Free,
    }
}

/// Paths the generator hands out (NUL-terminated, in read-only memory).
static PATHS: [&[u8]; 10] = [
    b"/\0",
    b".\0",
    b"..\0",
    b"\0",
    b"/bin\0",
    b"/tmp\0",
    b"/nonexistent\0",
    b"/bin/nonexistent/x\0",
    b"bin\0",
    b"/proc/self\0",
];
/// A path longer than PATH_MAX and one with a component longer than NAME_MAX.
static LONG_PATH: [u8; 5001] = {
    let mut p = [b'a'; 5001];
    p[5000] = 0;
    p
};
static LONG_NAME: [u8; 302] = {
    let mut p = [b'n'; 302];
    p[0] = b'/';
    p[301] = 0;
    p
};
static EXIT3: &[u8] = b"/bin/exit3\0";
static EXIT3_ARG0: &[u8] = b"exit3\0";

/// The one signal handler a worker may install: it returns (through the kernel's
/// sigreturn trampoline, since SA_RESTORER is never set).
extern "C" fn on_signal(_sig: i32) {}

/// State of one worker.
struct Worker {
    rng: Rng,
    buf: usize,
    me: usize,
    parent: usize,
    /// Return values of earlier calls that looked like descriptors or addresses.
    recent: [usize; 8],
}

/// The calls this kernel implements, and those Linux programs make most: 40% of all.
const FAVOURITES: [usize; 56] = [
    17, 23, 24, 25, 29, 49, 56, 57, 59, 62, 63, 64, 65, 66, 67, 73, 79, 80, 95, 96, 98, 99, 101,
    113, 115, 124, 129, 130, 131, 134, 135, 154, 155, 160, 163, 166, 172, 173, 178, 214, 215, 216,
    220, 221, 222, 226, 233, 260, 261, 278, 435, 436, 1000, 220, 222, 435,
];
/// clone's flag bits (CLONE_NEWTIME, VM .. NEWNET, IO, CLEAR_SIGHAND, INTO_CGROUP).
const CLONE_BITS: [usize; 26] = [
    0x80,
    0x100,
    0x200,
    0x400,
    0x800,
    0x1000,
    0x2000,
    0x4000,
    0x8000,
    0x10000,
    0x20000,
    0x40000,
    0x80000,
    0x100000,
    0x200000,
    0x400000,
    0x800000,
    0x1000000,
    0x2000000,
    0x4000000,
    0x8000000,
    0x10000000,
    0x20000000,
    0x40000000,
    0x80000000,
    0x1_0000_0000,
];

const KERNEL_POINTERS: [usize; 4] = [
    0xffff_0000_0000_0000,
    0xffff_8000_0000_0000,
    0xffff_ffff_ffff_f000,
    0xffff_0000_4000_0000,
];
const HUGE: [usize; 14] = [
    1 << 31,
    1 << 32,
    (1 << 32) + 1,
    1 << 47,
    1 << 48,
    1 << 63,
    u32::MAX as usize,
    i32::MAX as usize,
    0x7fff_ffff_f000,
    usize::MAX - 4095,
    4095,
    4097,
    65536,
    usize::MAX / 2,
];

impl Worker {
    fn text(&mut self) -> usize {
        let fns = [
            main as *const () as usize,
            on_signal as *const () as usize,
            worker as *const () as usize,
        ];
        fns[self.rng.below(3) as usize] + (self.rng.below(64) as usize) * 4
    }

    /// A pointer into the valid buffer: anywhere, aligned or not, or near its end so
    /// that an access runs into the unmapped page after it.
    fn valid(&mut self) -> usize {
        match self.rng.below(4) {
            0 => self.buf,
            1 => self.buf + BUF_LEN - 1 - self.rng.below(64) as usize,
            2 => self.buf + (self.rng.below(BUF_LEN as u64) as usize & !7),
            _ => self.buf + self.rng.below(BUF_LEN as u64) as usize,
        }
    }

    fn path(&mut self) -> usize {
        match self.rng.below(12) {
            10 => LONG_PATH.as_ptr() as usize,
            11 => LONG_NAME.as_ptr() as usize,
            i => PATHS[i as usize % PATHS.len()].as_ptr() as usize,
        }
    }

    /// An address nothing is mapped at: the first page, a region far from where either
    /// kernel puts mappings (this one from 0x10_0000_0000 up, Linux from just below the
    /// stack down), or just past the end of the user address space. (Never the top of
    /// the user range: that is the stack, whose top page holds the program's own path —
    /// an execve of it would start a second fuzzer.)
    fn unmapped(&mut self) -> usize {
        match self.rng.below(3) {
            0 => 0x1000 + self.rng.below(16) as usize,
            1 => 0x4000_0000_0000 + (self.rng.below(1 << 30) as usize) * 4096,
            _ => (1 << 48) + self.rng.below(4096) as usize,
        }
    }

    fn arg(&mut self) -> usize {
        let r = &mut self.rng;
        match r.below(100) {
            0..=9 => 0,
            10..=14 => usize::MAX,
            15..=26 => r.below(17) as usize,
            27..=30 => (r.below(200) as usize).wrapping_neg(),
            31..=40 => 1 << r.below(64),
            41..=45 => (1 << r.below(64)) | (1 << r.below(64)) | (1 << r.below(32)),
            46..=48 => HUGE[r.below(HUGE.len() as u64) as usize],
            49..=51 => (1 + r.below(64) as usize) * 4096,
            52..=55 => {
                let p = self.valid();
                p | (1 + self.rng.below(7) as usize)
            }
            56..=60 => self.unmapped(),
            61..=65 => KERNEL_POINTERS[r.below(4) as usize] + r.below(1 << 20) as usize,
            66..=69 => self.text(),
            70..=83 => self.valid(),
            84..=88 => self.path(),
            89..=94 => self.recent[r.below(8) as usize],
            _ => r.next() as usize,
        }
    }

    fn number(&mut self) -> usize {
        let r = &mut self.rng;
        match r.below(100) {
            0..=39 => FAVOURITES[r.below(FAVOURITES.len() as u64) as usize],
            40..=84 => r.below(451) as usize,
            85..=94 => 451 + r.below(550) as usize, // up to 1000, this kernel's KSTAT
            // Linux takes the low 32 bits as the number: with high bits set, these are
            // real calls on Linux (and policy() judges them by the low bits).
            _ => ((r.next() as usize) << 32) | (r.below(1100) as usize),
        }
    }

    /// Half of the time, gives the calls that take a structure one shaped like it, its
    /// fields drawn like arguments (else they get a pointer to random words like others).
    fn shape(&mut self, nr: u32, a: &mut [usize; 6], keep: &mut [usize; 16]) {
        if self.rng.below(2) == 0 {
            return;
        }
        match nr {
            // clone3(struct clone_args *, size): flags, pidfd, child_tid, parent_tid,
            // exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup.
            435 => {
                let mut flags = 0;
                for _ in 0..self.rng.below(4) {
                    flags |= CLONE_BITS[self.rng.below(CLONE_BITS.len() as u64) as usize];
                }
                keep[0] = if self.rng.below(8) == 0 {
                    self.arg()
                } else {
                    flags
                };
                for p in keep[1..4].iter_mut() {
                    *p = self.pointer_or_arg();
                }
                keep[4] = match self.rng.below(3) {
                    0 => self.arg(),
                    _ => self.rng.below(70) as usize,
                };
                keep[5] = self.pointer_or_arg();
                keep[6] = match self.rng.below(3) {
                    0 => self.arg(),
                    1 => HUGE[self.rng.below(HUGE.len() as u64) as usize],
                    _ => (1 + self.rng.below(16) as usize) * 4096,
                };
                keep[7] = self.arg();
                keep[8] = self.pointer_or_arg();
                keep[9] = match self.rng.below(2) {
                    0 => self.arg(),
                    _ => self.rng.below(40) as usize,
                };
                keep[10] = self.arg();
                keep[11] = if self.rng.below(4) == 0 {
                    self.arg()
                } else {
                    0
                };
                a[0] = keep.as_ptr() as usize;
                a[1] = [64, 80, 88, 96, 4096, 4097, a[1]][self.rng.below(7) as usize];
            }
            // readv, writev, preadv, pwritev, process_vm_readv's local side: iovecs.
            65 | 66 | 69 | 70 => {
                for k in 0..8 {
                    keep[2 * k] = self.pointer_or_arg();
                    keep[2 * k + 1] = match self.rng.below(2) {
                        0 => self.arg(),
                        _ => self.rng.below(8192) as usize,
                    };
                }
                a[1] = keep.as_ptr() as usize;
                a[2] = self.rng.below(10) as usize;
            }
            // nanosleep, clock_nanosleep's request: a timespec, valid or not.
            101 | 115 => {
                let ts = if nr == 101 { 0 } else { 2 };
                keep[0] = [0, 0, 0, usize::MAX, self.arg()][self.rng.below(5) as usize];
                keep[1] = match self.rng.below(3) {
                    0 => self.arg(),
                    _ => self.rng.below(2_000_000) as usize,
                };
                a[ts] = keep.as_ptr() as usize;
            }
            _ => {}
        }
    }

    fn pointer_or_arg(&mut self) -> usize {
        match self.rng.below(3) {
            0 => self.arg(),
            _ => self.valid() & !7,
        }
    }

    /// A pid that is not the parent, not 1 and not a group (<= 0): else the worker's own
    /// or one that does not exist (pid_t is 32 bits; Linux's pids stay below 2^22).
    fn safe_pid(&mut self, pid: usize) -> usize {
        let p = pid as i32;
        if p > 1 && p as usize != self.parent {
            pid
        } else if self.rng.below(4) == 0 {
            self.me
        } else {
            0x7fff_0000 + self.rng.below(0x1000) as usize
        }
    }

    /// Makes the arguments of a `Sanitize` call safe; false to skip the call. `keep`
    /// holds what the arguments point to, for as long as the call runs.
    fn sanitize(&mut self, nr: u32, a: &mut [usize; 6], keep: &mut [usize; 16]) -> bool {
        match nr {
            129 | 130 | 138 => a[0] = self.safe_pid(a[0]),
            131 | 240 => {
                a[0] = self.safe_pid(a[0]);
                a[1] = self.safe_pid(a[1]);
            }
            134 => {
                const SA_RESTORER: usize = 0x0400_0000;
                let handler = match self.rng.below(3) {
                    0 => SIG_DFL,
                    1 => SIG_IGN,
                    _ => on_signal as *const () as usize,
                };
                let (flags, mask) = (self.arg() & !SA_RESTORER, self.arg());
                keep[..4].copy_from_slice(&[handler, flags, 0, mask]);
                a[1] = match self.rng.below(6) {
                    0 => 0,
                    1 => self.unmapped(),
                    2 => KERNEL_POINTERS[self.rng.below(4) as usize],
                    _ => keep.as_ptr() as usize,
                };
            }
            221 | 281 => {
                let path_arg = if nr == 221 { 0 } else { 1 };
                a[path_arg] = match self.rng.below(6) {
                    0 => EXIT3.as_ptr() as usize,
                    1 => 0,
                    2 => self.unmapped(),
                    3 => KERNEL_POINTERS[0],
                    _ => PATHS[[0, 3, 4, 6][self.rng.below(4) as usize]].as_ptr() as usize,
                };
                keep[0] = EXIT3_ARG0.as_ptr() as usize;
                keep[1] = 0;
                let argv = keep.as_ptr() as usize;
                let null = keep[1..].as_ptr() as usize;
                for i in [path_arg + 1, path_arg + 2] {
                    a[i] = match self.rng.below(5) {
                        0 => 0,
                        1 => argv,
                        2 => null,
                        3 => self.unmapped(),
                        _ => self.valid(),
                    };
                }
            }
            56 => a[2] &= !(0o100 | 0o1000), // O_CREAT, O_TRUNC
            25 => {
                if matches!(a[1] as u32, 8 | 15) {
                    a[1] = 9; // F_SETOWN, F_SETOWN_EX -> F_GETOWN
                }
            }
            29 => {
                if matches!(a[1] as u32, 0x8901 | 0x8902 | 0x5410) {
                    a[1] = 0x541b; // FIOSETOWN, SIOCSPGRP, TIOCSPGRP -> FIONREAD
                }
            }
            167 => {
                if matches!(a[0] as u32, 22 | 59) {
                    a[0] = 21;
                }
            }
            233 => {
                if matches!(a[2] as u32, 100 | 101) {
                    a[2] = 0;
                }
            }
            164 => {
                if a[0] as u32 == 4 {
                    a[1] = 0; // RLIMIT_CORE: read-only (NULL -> EFAULT)
                }
            }
            261 => {
                a[0] = 0; // this process
                if a[1] as u32 == 4 {
                    a[2] = 0;
                }
            }
            _ => return false,
        }
        true
    }
}

/// clone or clone3 whose child calls exit(0) at once, touching no memory (it may be on a
/// random stack, sharing the worker's memory or not).
fn clone_and_exit(nr: usize, a: [usize; 6]) -> isize {
    let ret: isize;
    // SAFETY: a system call; the child half never returns from the asm block (it exits
    // without touching memory), the parent half is an ordinary call.
    unsafe {
        asm!(
            "svc #0",
            "cbnz x0, 1f",
            "mov x8, #93",
            "svc #0",
            "mov x8, #94",      // (exit can't fail: the policy keeps seccomp away)
            "svc #0",
            "2: b 2b",
            "1:",
            in("x8") nr, inlateout("x0") a[0] => ret, in("x1") a[1], in("x2") a[2],
            in("x3") a[3], in("x4") a[4], in("x5") a[5], options(nostack)
        );
    }
    ret
}

fn ctl_words(ctl: &mut [u64; 512]) -> &'static [AtomicU64; 512] {
    // SAFETY: a shared, never unmapped page; AtomicU64 has u64's layout.
    unsafe { &*(ctl.as_mut_ptr() as *const [AtomicU64; 512]) }
}

/// A worker: `calls` random system calls, reported in `slot`, then exit_group(0).
fn worker(seed: u64, index: u64, calls: u64, slot: &[AtomicU64], trace: bool) -> i32 {
    // Default dispositions (the parent ignores most signals), stdio on a pipe of our own
    // (random writes to the console would garble the log; ioctls could stop it).
    for sig in 1..=64 {
        if sig != SIGKILL && sig != SIGSTOP {
            set_signal_handler(sig, SIG_DFL);
        }
    }
    let trace_fd = 63; // within this kernel's 64 descriptors; rarely hit by the generator
    if trace {
        dup3(1, trace_fd, 0);
    }
    if let Ok(p) = pipe2(O_NONBLOCK) {
        dup3(p[0], 0, 0);
        dup3(p[1], 1, 0);
        dup3(p[1], 2, 0);
        close(p[0]);
        close(p[1]);
    }
    let buf = alloc_pages(BUF_LEN + 4096);
    if (buf as isize) < 0 {
        return 2;
    }
    munmap(buf as usize + BUF_LEN, 4096);
    let mut w = Worker {
        rng: Rng(seed ^ index.wrapping_mul(0x2545_f491_4f6c_dd1d)),
        buf: buf as usize,
        me: getpid() as usize,
        parent: getppid() as usize,
        recent: [0; 8],
    };
    // The buffer holds words drawn like arguments (structures the kernel reads from it
    // get interesting fields: zeros, small numbers, flag bits, sizes, pointers into the
    // buffer and elsewhere); a few words are redrawn before every call.
    let words = buf as *mut usize;
    let nwords = BUF_LEN / 8;
    for i in 0..nwords {
        let v = w.arg();
        // SAFETY: inside the buffer, which is BUF_LEN bytes of fresh, writable memory.
        unsafe { words.add(i).write_volatile(v) };
    }
    w.recent = [0, 1, 2, 3, w.buf, w.buf + 4096, w.me, w.parent];
    for i in 0..calls {
        for _ in 0..4 {
            let (k, v) = (w.rng.below(nwords as u64) as usize, w.arg());
            // SAFETY: as above. (The buffer may have been unmapped or made read-only by an
            // earlier call: then the worker dies of SIGSEGV, which is fine.)
            unsafe { words.add(k).write_volatile(v) };
        }
        let nr = w.number();
        let mut a = [0usize; 6];
        for x in a.iter_mut() {
            *x = w.arg();
        }
        let mut keep = [0usize; 16];
        w.shape(nr as u32, &mut a, &mut keep);
        let pol = policy(nr as u32);
        match pol {
            Policy::Deny => continue,
            Policy::Sanitize if !w.sanitize(nr as u32, &mut a, &mut keep) => continue,
            _ => {}
        }
        slot[2..8]
            .iter()
            .zip(a)
            .for_each(|(s, v)| s.store(v as u64, Ordering::Relaxed));
        slot[1].store(nr as u64, Ordering::Release);
        if trace {
            let mut out = Out::new(trace_fd);
            use core::fmt::Write;
            let _ = writeln!(
                out,
                "fuzz: worker {} call {}: {}({:#x}, {:#x}, {:#x}, {:#x}, {:#x}, {:#x})",
                index, i, nr, a[0], a[1], a[2], a[3], a[4], a[5]
            );
            out.flush();
        }
        let r = match pol {
            Policy::Clone => {
                let r = clone_and_exit(nr, a);
                if r > 0 {
                    // Reap the child (or the thread's nothing) so zombies don't pile up.
                    while wait4(-1, WNOHANG | WALL).0 > 0 {}
                }
                r
            }
            _ => ulib::arch::syscall6(nr, a),
        };
        slot[1].store(IDLE, Ordering::Relaxed);
        slot[0].store(i + 1, Ordering::Release);
        // Descriptors and addresses are worth reusing as arguments.
        if r > 0 && (r < 1024 || r as usize & 0xfff == 0) {
            w.recent[w.rng.below(8) as usize] = r as usize;
        }
    }
    0
}

// ---------------------------------------------------------------------------------------
// The parent.

#[derive(Clone, Copy)]
struct Running {
    pid: isize,
    budget: u64,
    index: u64,
    done: u64,
    since: u64,
    killed_at: u64,
}

struct Stats {
    workers: u64,
    finished: u64,
    exec_exit3: u64,
    watchdog: u64,
    signals: [u64; 65],
    other_exit: u64,
    last_other: i32,
    strays: u64,
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    let seed = parse(args.get(1)).unwrap_or(DEFAULT_SEED);
    let calls = parse(args.get(2)).unwrap_or(DEFAULT_CALLS);
    let trace = args.get(3) == Some("trace");
    println!(
        "{}: seed {} calls {} (replay: fuzz {} {} [trace])",
        T, seed, calls, seed, calls
    );
    // A worker's signals can't reach the parent (policy), but ignore what can be ignored
    // anyway: the parent must outlive everything. SIGCHLD stays default (wait4 needs it).
    for sig in 1..=31 {
        if sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD {
            set_signal_handler(sig, SIG_IGN);
        }
    }
    // Orphans of workers come back to us on Linux too (here the parent is init anyway).
    syscall(SYS_PRCTL, &[PR_SET_CHILD_SUBREAPER, 1]);
    let ctl = ctl_words(shared_page());
    for _ in 0..3 {
        let pid = spawn(|| 0);
        check!(T, wait_exit_code(pid) == 0, "warm-up child");
    }
    let baseline = mem_usage();
    let start = clock_ns();
    let mut slots: [Option<Running>; WORKERS] = [None; WORKERS];
    let mut st = Stats {
        workers: 0,
        finished: 0,
        exec_exit3: 0,
        watchdog: 0,
        signals: [0; 65],
        other_exit: 0,
        last_other: 0,
        strays: 0,
    };
    let mut done_total = 0u64;
    let mut index = 0u64;
    let mut fork_failing_since = 0u64;
    let mut no_call_streak = 0;
    loop {
        let now = clock_ns();
        // Reap whatever ended: workers, and strays (children of workers that got the
        // parent as theirs through CLONE_PARENT or reparenting).
        loop {
            let (pid, status) = wait4(-1, WNOHANG | WALL);
            if pid <= 0 {
                break;
            }
            let Some(k) = slots.iter().position(|s| s.is_some_and(|r| r.pid == pid)) else {
                st.strays += 1;
                continue;
            };
            let r = slots[k].take().unwrap();
            let done = ctl[k * SLOT].load(Ordering::Acquire).min(r.budget);
            done_total += done;
            no_call_streak = if done == 0 { no_call_streak + 1 } else { 0 };
            check!(
                T,
                no_call_streak < 100,
                "100 workers in a row died before their first call (last status {:#x})",
                status
            );
            if r.killed_at != 0 {
                st.watchdog += 1;
            } else if let Some(sig) = status_signal(status) {
                st.signals[sig as usize % 65] += 1;
            } else {
                match status_exit_code(status) {
                    Some(0) => st.finished += 1,
                    Some(3) => st.exec_exit3 += 1,
                    Some(code) => {
                        st.other_exit += 1;
                        st.last_other = code;
                    }
                    None => st.other_exit += 1,
                }
            }
        }
        // The watchdog.
        for (k, s) in slots.iter_mut().enumerate() {
            let Some(r) = s else { continue };
            let done = ctl[k * SLOT].load(Ordering::Acquire);
            if r.killed_at != 0 {
                if now - r.killed_at > DEATH_NS {
                    let w = &ctl[k * SLOT..k * SLOT + SLOT];
                    fail!(
                        T,
                        "worker {} (pid {}) still there {} s after SIGKILL, in call {}({:#x}, {:#x}, {:#x}, ...)",
                        r.index,
                        r.pid,
                        DEATH_NS / 1_000_000_000,
                        w[1].load(Ordering::Relaxed),
                        w[2].load(Ordering::Relaxed),
                        w[3].load(Ordering::Relaxed),
                        w[4].load(Ordering::Relaxed)
                    );
                }
            } else if done != r.done {
                r.done = done;
                r.since = now;
            } else if now - r.since > WATCHDOG_NS {
                kill(r.pid, SIGKILL);
                r.killed_at = now;
            }
        }
        // Start workers while calls remain.
        let running: u64 = slots.iter().flatten().map(|r| r.budget).sum();
        let remaining = calls.saturating_sub(done_total + running);
        if let Some(k) = slots.iter().position(|s| s.is_none())
            && remaining > 0
        {
            let budget = remaining.min(WORKER_CALLS);
            ctl[k * SLOT].store(0, Ordering::Release);
            ctl[k * SLOT + 1].store(IDLE, Ordering::Release);
            let slot = &ctl[k * SLOT..k * SLOT + SLOT];
            let pid = fork();
            if pid == 0 {
                exit_group(worker(seed, index, budget, slot, trace));
            }
            if pid > 0 {
                slots[k] = Some(Running {
                    pid,
                    budget,
                    index,
                    done: 0,
                    since: now,
                    killed_at: 0,
                });
                index += 1;
                st.workers += 1;
                fork_failing_since = 0;
                continue;
            }
            check!(
                T,
                pid == -EAGAIN || pid == -ENOMEM,
                "fork of a worker failed with {}",
                pid
            );
            if fork_failing_since == 0 {
                fork_failing_since = now;
            }
            check!(
                T,
                now - fork_failing_since < 10_000_000_000,
                "fork of a worker failed for 10 s (last {})",
                pid
            );
        }
        if slots.iter().all(|s| s.is_none()) && remaining == 0 {
            break;
        }
        nanosleep_ns(2_000_000);
    }
    // Strays still on their way (a worker's last children): reap until none is left.
    let t0 = clock_ns();
    loop {
        let (pid, _) = wait4(-1, WNOHANG | WALL);
        if pid > 0 {
            st.strays += 1;
        } else if pid == -ECHILD {
            break;
        } else {
            check!(
                T,
                clock_ns() - t0 < DEATH_NS,
                "children still alive {} s after the last worker",
                DEATH_NS / 1_000_000_000
            );
            nanosleep_ns(2_000_000);
        }
    }
    let ms = (clock_ns() - start) / 1_000_000;
    let mut sigs = Out::new(1);
    {
        use core::fmt::Write;
        let _ = write!(
            sigs,
            "{}: {} calls in {} ms by {} workers: {} finished, {} ran exit3, {} killed by the watchdog, {} other exits (last {}), {} strays reaped; died of signals:",
            T,
            done_total,
            ms,
            st.workers,
            st.finished,
            st.exec_exit3,
            st.watchdog,
            st.other_exit,
            st.last_other,
            st.strays
        );
        for (sig, n) in st.signals.iter().enumerate().filter(|(_, n)| **n > 0) {
            let _ = write!(sigs, " {}x{}", n, sig);
        }
        let _ = writeln!(sigs);
    }
    sigs.flush();
    if let Err((frames, heap)) = check_baseline(baseline) {
        let (f0, h0) = baseline.unwrap();
        fail!(
            T,
            "after the run: frames {} (baseline {}), kernel heap {} bytes (baseline {})",
            frames,
            f0,
            heap,
            h0
        );
    }
    println!("{}: ok", T);
    0
}
