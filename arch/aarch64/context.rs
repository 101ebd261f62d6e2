//! A thread's register state, owned by the arch layer (Linux: arch/arm64/include/asm/
//! processor.h `struct thread_struct`, ptrace.h `struct pt_regs`, kernel/process.c
//! `copy_thread`, `start_thread`, `__switch_to`, kernel/asm-offsets.c).
//!
//! A thread has three kinds of register state, kept in three places:
//!
//! ```text
//!  TrapFrame   x0-x30, sp_el0, pc, pstate, tpidr_el0   top of the kernel stack, saved by
//!                                                       kernel_entry on every exception
//!  CpuContext  x19-x29, sp, lr (kernel side)           ThreadStruct, saved by cpu_switch_to
//!  FpState     v0-v31, fpsr, fpcr                      ThreadStruct, saved only when the
//!                                                       CPU switches threads (fpsimd.rs)
//! ```
//!
//! The portable kernel treats all three as opaque: it calls `copy_thread` (fork/clone),
//! `copy_thread_kernel` (kernel threads), `start_thread` (execve), `switch_to` (the
//! scheduler) and the TrapFrame accessors (system-call arguments and result). The offsets
//! entry.S uses are computed here from the Rust types (`offset_of!`) and handed to the
//! assembler as `const` operands (see mod.rs), so the layout has one source of truth.

use core::mem::{offset_of, size_of};

use super::fpsimd::{self, FpState};
use crate::error::Errno;

/// The user registers entry.S saves on the kernel stack at every exception (Linux
/// `struct pt_regs`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    /// x0-x30 (x30 is the link register).
    pub regs: [u64; 31],
    /// SP_EL0: the user stack pointer.
    pub sp: u64,
    /// ELR_EL1: where `eret` returns to.
    pub pc: u64,
    /// SPSR_EL1: the user PSTATE (NZCV, DAIF, mode).
    pub pstate: u64,
    /// TPIDR_EL0: the user thread pointer (CLONE_SETTLS).
    pub tpidr: u64,
    /// x0 as the system call received it: the system call's result overwrites x0, and
    /// a restarted call needs its first argument back (Linux `orig_x0`).
    pub orig_x0: u64,
    /// The number of the system call this frame entered with, or -1 when it is not a
    /// system call (an interrupt, a fault) or must not be restarted (Linux `syscallno`).
    pub syscallno: i64,
    /// Keeps the frame a multiple of 16 bytes, so sp stays 16-byte aligned.
    pub _pad: u64,
}

/// SPSR value for "return to EL0, AArch64, interrupts unmasked" (M[3:0] = EL0t).
const PSR_MODE_EL0T: u64 = 0;

impl TrapFrame {
    /// The system call number (x8, Linux AArch64 ABI).
    pub fn syscall_nr(&self) -> usize {
        self.regs[8] as usize
    }

    /// System call argument `n` (x0-x5), read where it is: the handlers take them one
    /// by one (copying all six into an array cost a 48-byte `memcpy` per call).
    #[inline(always)]
    pub fn arg(&self, n: usize) -> usize {
        self.regs[n] as usize
    }

    /// The user stack pointer.
    pub fn user_sp(&self) -> usize {
        self.sp as usize
    }

    /// The user registers in Linux's `struct user_pt_regs` order (x0-x30, sp, pc,
    /// pstate: this frame's first 34 words), as a core dump's NT_PRSTATUS holds them.
    pub fn user_pt_regs(&self) -> [u64; 34] {
        let mut r = [0u64; 34];
        r[..31].copy_from_slice(&self.regs);
        r[31] = self.sp;
        r[32] = self.pc;
        r[33] = self.pstate;
        r
    }

    /// Sets the value the system call returns in x0.
    pub fn set_return_value(&mut self, v: u64) {
        self.regs[0] = v;
    }

    /// Linux `start_thread`: the registers a freshly exec'd program starts with — all
    /// zero except pc (the ELF entry), sp (argc, argv, envp, auxv), and EL0t mode.
    pub fn start_thread(&mut self, pc: usize, sp: usize) {
        *self = TrapFrame {
            pc: pc as u64,
            sp: sp as u64,
            pstate: PSR_MODE_EL0T,
            syscallno: -1, // execve's own call is not to be restarted
            ..TrapFrame::default()
        };
    }
}

/// What `cpu_switch_to` saves and restores: the callee-saved registers, sp and lr of
/// the kernel side of a thread (Linux `struct cpu_context`).
#[repr(C)]
#[derive(Default, Debug)]
pub struct CpuContext {
    pub x19_x28: [u64; 10],
    pub fp: u64,
    pub sp: u64,
    /// Where the thread resumes: inside `schedule()`, or `ret_from_fork` for a new one.
    pub lr: u64,
}

/// Everything the arch layer keeps per thread outside the kernel stack (Linux
/// `struct thread_struct`).
#[repr(C)]
pub struct ThreadStruct {
    pub cpu_context: CpuContext,
    /// The user FP/SIMD registers while they are not live in a CPU (fpsimd.rs).
    pub fpsimd_state: FpState,
    /// The CPU whose registers last held `fpsimd_state` (`fpsimd::NO_CPU`: none).
    pub fpsimd_cpu: u32,
    /// Linux TIF_FOREIGN_FPSTATE: the CPU's FP/SIMD registers do not hold this thread's
    /// latest user state, so it must be loaded before returning to user mode. True for
    /// new threads, kernel threads and after execve.
    pub foreign_fpstate: bool,
}

impl ThreadStruct {
    /// Writes `ThreadStruct::default()` at `t` without building it elsewhere first:
    /// zeroes (the FP/SIMD registers, the kernel context), then the two fields that are
    /// not zero (`Task::new` builds a task in its heap block this way).
    ///
    /// # Safety
    /// `t` is valid for writes and aligned; whatever it held is overwritten, not dropped
    /// (a ThreadStruct has nothing to drop).
    pub unsafe fn init_in_place(t: *mut ThreadStruct) {
        // SAFETY: the caller's guarantees; all-zero bytes are a valid CpuContext and
        // FpState (plain integers), and the other two fields are written right after.
        unsafe {
            core::ptr::write_bytes(t, 0, 1);
            (*t).fpsimd_cpu = fpsimd::NO_CPU;
            (*t).foreign_fpstate = true;
        }
    }
}

impl Default for ThreadStruct {
    fn default() -> Self {
        ThreadStruct {
            cpu_context: CpuContext::default(),
            fpsimd_state: FpState::default(),
            fpsimd_cpu: fpsimd::NO_CPU,
            foreign_fpstate: true,
        }
    }
}

unsafe extern "C" {
    /// entry.S: saves prev's CpuContext, loads next's, "returns" into next.
    fn cpu_switch_to(prev: *mut CpuContext, next: *const CpuContext);
    /// entry.S: the first instruction of every new thread.
    fn ret_from_fork();
}

/// Where the TrapFrame sits on a kernel stack whose top is `kstack_top`.
pub fn trap_frame_at(kstack_top: usize) -> *mut TrapFrame {
    (kstack_top - size_of::<TrapFrame>()) as *mut TrapFrame
}

/// Makes a new thread's first switch land in ret_from_fork, on its own kernel stack whose
/// top holds `regs`. `kfn`/`arg` (x19/x20) make it run a kernel function first.
///
/// # Safety
/// `thread` and the stack below `kstack_top` belong to a thread no CPU runs yet.
unsafe fn start_at_ret_from_fork(
    thread: &mut ThreadStruct,
    kstack_top: usize,
    regs: TrapFrame,
    kfn: u64,
    arg: u64,
) {
    let frame = trap_frame_at(kstack_top);
    // SAFETY: the top of the new thread's unused kernel stack is reserved for its frame.
    unsafe { frame.write(regs) };
    thread.cpu_context = CpuContext::default();
    thread.cpu_context.x19_x28[0] = kfn;
    thread.cpu_context.x19_x28[1] = arg;
    thread.cpu_context.sp = frame as u64;
    thread.cpu_context.lr = ret_from_fork as unsafe extern "C" fn() as usize as u64;
}

/// Linux `copy_thread` (arch/arm64/kernel/process.c) for a user thread or process: the
/// child's user registers are a copy of the parent's (x0 is zeroed by ret_from_fork), on
/// `stack` if non-zero and with TPIDR_EL0 = `tls` if given; its FP/SIMD registers are the
/// parent's at the svc; its kernel side starts at ret_from_fork.
///
/// # Safety
/// `child` and the kernel stack below `child_kstack_top` belong to a thread that is not
/// yet visible to the scheduler; `parent` is the calling thread's ThreadStruct.
pub unsafe fn copy_thread(
    child: &mut ThreadStruct,
    child_kstack_top: usize,
    parent: &mut ThreadStruct,
    parent_regs: &TrapFrame,
    stack: usize,
    tls: Option<usize>,
) -> Result<(), Errno> {
    let mut regs = *parent_regs;
    if stack != 0 {
        regs.sp = stack as u64;
    }
    if let Some(tls) = tls {
        regs.tpidr = tls as u64;
    }
    // SAFETY: the caller guarantees the child is not running.
    unsafe { start_at_ret_from_fork(child, child_kstack_top, regs, 0, 0) };
    fpsimd::copy_fpsimd_state(child, parent);
    Ok(())
}

/// `copy_thread` for a kernel thread (Linux: PF_KTHREAD): it first runs `kfn(arg)` in the
/// kernel; if `kfn` returns, ret_from_fork continues to user mode with the TrapFrame that
/// `kfn` prepared (that is how init gets from the kernel to /init).
///
/// # Safety
/// As for `copy_thread`.
pub unsafe fn copy_thread_kernel(
    child: &mut ThreadStruct,
    child_kstack_top: usize,
    kfn: extern "C" fn(usize),
    arg: usize,
) {
    let regs = TrapFrame::default();
    // SAFETY: the caller guarantees the child is not running.
    unsafe {
        start_at_ret_from_fork(
            child,
            child_kstack_top,
            regs,
            kfn as usize as u64,
            arg as u64,
        )
    };
}

/// Linux `__switch_to`: hands the CPU from `prev` to `next`. Saves prev's live FP/SIMD
/// registers, notes whether next's are still in this CPU, then switches kernel stacks;
/// returns when some later switch_to comes back to `prev`.
///
/// # Safety
/// Both are live threads' ThreadStructs; `prev` is the running thread; IRQs are masked
/// and the caller holds no lock (the next thread may take any).
pub unsafe fn switch_to(prev: *mut ThreadStruct, next: *mut ThreadStruct) {
    // SAFETY: the caller guarantees both point to live, distinct ThreadStructs that only
    // this CPU touches during the switch.
    unsafe {
        fpsimd::fpsimd_thread_switch(&mut *prev, &mut *next);
        super::percpu::set_current_thread(next);
        cpu_switch_to(&raw mut (*prev).cpu_context, &raw const (*next).cpu_context);
    }
}

/// Byte offsets used by entry.S, as (name, value) pairs turned into `.equ` lines.
pub mod offsets {
    use super::*;
    pub const S_X0: usize = offset_of!(TrapFrame, regs);
    pub const S_LR: usize = offset_of!(TrapFrame, regs) + 30 * 8;
    pub const S_SP: usize = offset_of!(TrapFrame, sp);
    pub const S_PC: usize = offset_of!(TrapFrame, pc);
    pub const S_PSTATE: usize = offset_of!(TrapFrame, pstate);
    pub const S_TPIDR: usize = offset_of!(TrapFrame, tpidr);
    pub const S_SYSCALLNO: usize = offset_of!(TrapFrame, syscallno);
    pub const S_FRAME_SIZE: usize = size_of::<TrapFrame>();
    pub const CTX_X19: usize = offset_of!(CpuContext, x19_x28);
    pub const CTX_FP: usize = offset_of!(CpuContext, fp);
    pub const CTX_LR: usize = offset_of!(CpuContext, lr);

    // entry.S stores pairs with stp/ldp: x30 next to sp_el0, pc next to pstate, fp next
    // to the saved sp. These asserts fail the build if a field moves apart.
    const _: () = assert!(S_SP == S_LR + 8 && S_PSTATE == S_PC + 8);
    const _: () = assert!(offset_of!(CpuContext, sp) == CTX_FP + 8);
    const _: () = assert!(S_FRAME_SIZE.is_multiple_of(16) && S_X0 == 0);
}
