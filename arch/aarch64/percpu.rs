//! The per-CPU area, found through TPIDR_EL1 (Linux: arch/arm64/include/asm/percpu.h,
//! which keeps each CPU's per-cpu offset in TPIDR_EL1 too).
//!
//! Each CPU has one `PerCpu`; at boot it writes the address of its own into TPIDR_EL1, a
//! register only EL1 can read, so `this_cpu()` costs one `mrs`. Fields are written only
//! by their own CPU with IRQs masked (the kernel is not preemptible), which is why plain
//! `Cell`s suffice; what other CPUs read (the irqsoff maximum) is atomic.

use core::cell::Cell;
use core::ptr;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};

use aarch64_cpu::registers::{Readable, TPIDR_EL1, Writeable};

use super::context::ThreadStruct;
use super::fpsimd::FpState;
use super::irqsoff::IrqsOff;

/// CPUs this kernel can drive (QEMU virt: up to 8 with GICv2).
pub const MAX_CPUS: usize = 8;

/// Bytes of each CPU's overflow stack: what `handle_bad_stack` runs on after a kernel
/// stack overflowed (Linux OVERFLOW_STACK_SIZE is 4 KiB; printing a decoded report with
/// core::fmt in a PROFILE=dev build needs more).
pub const OVERFLOW_STACK_SIZE: usize = 8192;

#[repr(C, align(16))]
struct OverflowStack([u8; OVERFLOW_STACK_SIZE]);

/// One overflow stack per CPU (Linux `DEFINE_PER_CPU(overflow_stack)`), in .bss.
static mut OVERFLOW_STACKS: [OverflowStack; MAX_CPUS] =
    [const { OverflowStack([0; OVERFLOW_STACK_SIZE]) }; MAX_CPUS];

#[repr(C)]
pub struct PerCpu {
    /// The top of this CPU's overflow stack; entry.S loads it (PCPU_OVERFLOW_TOP) when
    /// a kernel stack has overflowed. First, so that its offset is 0.
    overflow_stack_top: Cell<usize>,
    /// This CPU's number (0 = the boot CPU).
    pub id: u32,
    /// The ThreadStruct of the thread running here (Linux `current`'s thread).
    current_thread: Cell<*mut ThreadStruct>,
    /// The scheduler's task running here (Linux `current`); opaque to the arch layer.
    current_task: Cell<*const ()>,
    /// Whose FP/SIMD state this CPU's registers hold (Linux `fpsimd_last_state.st`);
    /// only ever compared, never dereferenced.
    fpsimd_last_state: Cell<*const FpState>,
    /// The longest interrupts-masked stretch (irqsoff.rs).
    pub irqs_off: IrqsOff,
    /// The running thread's CPU time not yet charged to it, in counter ticks.
    pub vtime: Vtime,
    /// Work the next return to EL0 on this CPU must do: TIF_* bits below. Only this CPU
    /// reads and writes it, with IRQs masked.
    exit_work: Cell<u32>,
    /// The lock levels this CPU holds, bit n = level n (sync/ordered.rs, checked builds).
    pub lock_levels: Cell<u32>,
}

// SAFETY: each PerCpu is used only by its own CPU, with IRQs masked (see module comment).
unsafe impl Sync for PerCpu {}

impl PerCpu {
    const fn new(id: u32) -> PerCpu {
        PerCpu {
            overflow_stack_top: Cell::new(0),
            id,
            current_thread: Cell::new(ptr::null_mut()),
            current_task: Cell::new(ptr::null()),
            fpsimd_last_state: Cell::new(ptr::null()),
            irqs_off: IrqsOff::new(),
            vtime: Vtime::new(),
            exit_work: Cell::new(0),
            lock_levels: Cell::new(0),
        }
    }

    pub fn current_thread(&self) -> *mut ThreadStruct {
        self.current_thread.get()
    }

    pub fn current_task(&self) -> *const () {
        self.current_task.get()
    }

    pub fn set_current_task(&self, task: *const ()) {
        self.current_task.set(task);
    }

    /// The TIF_* work bits (exception.rs `prepare_exit_to_user` tests them all at once).
    #[inline(always)]
    pub fn exit_work(&self) -> u32 {
        self.exit_work.get()
    }

    pub fn set_exit_work(&self, bits: u32) {
        self.exit_work.set(self.exit_work.get() | bits);
    }

    pub fn clear_exit_work(&self, bits: u32) {
        self.exit_work.set(self.exit_work.get() & !bits);
    }

    pub fn fpsimd_last_state(&self) -> *const FpState {
        self.fpsimd_last_state.get()
    }

    pub fn set_fpsimd_last_state(&self, st: *const FpState) {
        self.fpsimd_last_state.set(st);
    }
}

/// The work bits of `PerCpu::exit_work` (Linux's `_TIF_WORK_MASK` flags of
/// thread_info, kept per CPU here for the work that belongs to the CPU or to the moment:
/// the task's own flags — a kill, a signal — are tested next to them, trap.rs
/// `exit_work_pending`). Each bit only says "take the slow path": the work loop checks
/// the exact condition again, so a bit left set costs one slow return, never a wrong one.
///
/// The scheduler was asked to run (Linux TIF_NEED_RESCHED).
pub const TIF_NEED_RESCHED: u32 = 1 << 0;
/// A system call returned a restart code (-ERESTARTSYS and the like) to sort out.
pub const TIF_SYSCALL_RESTART: u32 = 1 << 1;
/// The CPU's FP/SIMD registers may not hold the thread's state (Linux
/// TIF_FOREIGN_FPSTATE; the exact flag is the thread's, fpsimd.rs).
pub const TIF_FOREIGN_FPSTATE: u32 = 1 << 2;

/// The CPU time of the thread running on this CPU since it was switched in, kept in raw
/// counter ticks (Linux `struct vtime`, kernel/sched/cputime.c with
/// CONFIG_VIRT_CPU_ACCOUNTING_GEN). Why here and in ticks: the two transitions every
/// system call makes must be cheap. Entering the kernel from EL0 stores the counter in
/// `kstamp` (one `str`, the counter already read for irqsoff.rs); returning to EL0 adds
/// `now - kstamp` to `stime` and clears `kstamp` (an `ldp`, a `sub`, an `add`, an
/// `stp`): no conversion to nanoseconds, no atomic read-modify-write, not even a load of
/// the current task. User time is not counted at all on the hot path: it is whatever
/// part of the stretch since `start` was not kernel time. The scheduler charges both to
/// the thread (and the CPU's totals) when it switches away (time/cputime.rs
/// `account_switch`), converting to nanoseconds only when somebody reads them.
///
/// Only this CPU writes, with IRQs masked. Others read (a running thread's times, from
/// /proc or a sibling's getrusage): atomics, relaxed — plain `ldr`/`str` — and `seq`, a
/// sequence count made odd while `account_switch` changes `owner`, tells them whether
/// the fields belonged to one thread throughout their read.
#[repr(C)]
pub struct Vtime {
    /// Counter at the entry from EL0, or at the switch to this thread; 0 while the CPU
    /// runs at EL0 (Linux `vtime->state == VTIME_USER`).
    pub kstamp: AtomicU64,
    /// Kernel ticks of the running thread since `start`, up to `kstamp`.
    pub stime: AtomicU64,
    /// Counter when the running thread was switched in.
    pub start: AtomicU64,
    /// Sequence count of `owner` changes (odd: a switch is under way).
    pub seq: AtomicU32,
    /// Address of the running thread's `CpuTime` (0: the idle task).
    pub owner: AtomicUsize,
}

impl Vtime {
    const fn new() -> Vtime {
        Vtime {
            kstamp: AtomicU64::new(0),
            stime: AtomicU64::new(0),
            start: AtomicU64::new(0),
            seq: AtomicU32::new(0),
            owner: AtomicUsize::new(0),
        }
    }

    /// Entry from EL0 at counter `now` (Linux `vtime_user_exit`: the user stretch ends).
    #[inline(always)]
    pub fn user_exit(&self, now: u64) {
        self.kstamp.store(now, Relaxed);
    }

    /// Return to EL0 at counter `now` (Linux `vtime_user_enter`): the kernel stretch
    /// since `kstamp` becomes system time.
    ///
    /// Four instructions: `kstamp` and `stime` are next to each other, loaded and stored
    /// as a pair. Written as assembly because LLVM never pairs atomic accesses, and the
    /// fields must stay atomics for the readers on other CPUs; each half of an `ldp`/
    /// `stp` of X registers is a single-copy-atomic 64-bit access, as their loads
    /// expect (ARM ARM B2.2.1).
    #[inline(always)]
    pub fn user_enter(&self, now: u64) {
        // SAFETY: reads and writes the two u64 fields at the start of this CPU's own
        // Vtime (repr(C), checked below); only this CPU writes them, with IRQs masked.
        unsafe {
            core::arch::asm!(
                "ldp {k}, {s}, [{v}]",
                "sub {k}, {now}, {k}",
                "add {s}, {s}, {k}",
                "stp xzr, {s}, [{v}]",
                v = in(reg) self as *const Vtime,
                now = in(reg) now,
                k = out(reg) _,
                s = out(reg) _,
                options(nostack, preserves_flags),
            );
        }
    }
}

// `Vtime::user_enter` loads and stores kstamp and stime as a pair.
const _: () =
    assert!(core::mem::offset_of!(Vtime, kstamp) == 0 && core::mem::offset_of!(Vtime, stime) == 8);

static PER_CPU: [PerCpu; MAX_CPUS] = {
    let mut i = 0;
    let mut cpus = [const { PerCpu::new(0) }; MAX_CPUS];
    while i < MAX_CPUS {
        cpus[i] = PerCpu::new(i as u32);
        i += 1;
    }
    cpus
};

/// Offset of the overflow stack's top in `PerCpu`, for entry.S.
pub const PCPU_OVERFLOW_TOP: usize = core::mem::offset_of!(PerCpu, overflow_stack_top);

/// Points TPIDR_EL1 at CPU `id`'s area; the CPU's first step after the MMU is on.
pub fn init(id: usize) {
    let cpu = &PER_CPU[id];
    // SAFETY: only the address of this CPU's own overflow stack is taken; only this CPU
    // ever runs on it.
    let stack = unsafe { &raw mut OVERFLOW_STACKS[id] } as usize;
    cpu.overflow_stack_top.set(stack + OVERFLOW_STACK_SIZE);
    TPIDR_EL1.set(cpu as *const PerCpu as u64);
}

/// This CPU's overflow stack, [bottom, top), for reports.
pub fn overflow_stack() -> (usize, usize) {
    let top = this_cpu().overflow_stack_top.get();
    (top - OVERFLOW_STACK_SIZE, top)
}

/// The running CPU's area.
pub fn this_cpu() -> &'static PerCpu {
    // SAFETY: `init` stored the address of a static PerCpu in TPIDR_EL1 at boot; nothing
    // else writes that register.
    unsafe { &*(TPIDR_EL1.get() as *const PerCpu) }
}

/// Every CPU's area. Only fields meant for it (atomics, or `id`) may be read from
/// another CPU.
pub fn all() -> impl Iterator<Item = &'static PerCpu> {
    PER_CPU.iter()
}

/// Records the thread now running on this CPU (`switch_to`, and the boot thread).
pub fn set_current_thread(t: *mut ThreadStruct) {
    this_cpu().current_thread.set(t);
}
