//! The per-CPU area, found through TPIDR_EL1 (Linux: arch/arm64/include/asm/percpu.h,
//! which keeps each CPU's per-cpu offset in TPIDR_EL1 too).
//!
//! Each CPU has one `PerCpu`; at boot it writes the address of its own into TPIDR_EL1, a
//! register only EL1 can read, so `this_cpu()` costs one `mrs`. Fields are written only
//! by their own CPU with IRQs masked (the kernel is not preemptible), which is why plain
//! `Cell`s suffice; what other CPUs read (the irqsoff maximum) is atomic.

use core::cell::Cell;
use core::ptr;

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

    pub fn fpsimd_last_state(&self) -> *const FpState {
        self.fpsimd_last_state.get()
    }

    pub fn set_fpsimd_last_state(&self, st: *const FpState) {
        self.fpsimd_last_state.set(st);
    }
}

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
