//! The portable side of the exception path: the few functions the arch layer's exception
//! handlers (arch/aarch64/exception.rs) call, and the policy they apply — which fault is
//! resolved, which signal a failure becomes (Linux: arch/arm64/mm/fault.c
//! `do_page_fault`/`__do_user_fault`, kernel/signal.c `force_sig_fault`). The arch layer
//! decodes the hardware's report into an address and an `Access` or a `UserException`;
//! it never decides what happens to a task, and this module never reads a register.

use alloc::string::String;

use crate::arch::TrapFrame;
use crate::irq::Irq;
pub use crate::mm::addr_space::{Access, FaultError};
use crate::mm::global::Mm;
use crate::mm::pagetable::USER_TOP;
use crate::task::oom::{self, OomOutcome};
use crate::task::signal::{self, SIGBUS, SIGILL, SIGKILL, SIGSEGV, SIGTRAP};
use crate::task::{exit, sched};

/// A synchronous exception from EL0 other than a system call or a page fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserException {
    /// An undefined or forbidden instruction (an EL1 register, the physical counter...).
    Undefined,
    /// A misaligned pc, sp, or data access.
    Alignment,
    /// A `brk` instruction.
    Breakpoint,
    /// An exception class the kernel never expects from EL0 (SError, AArch32, FIQ).
    Unexpected,
}

/// A system call (`svc #0`): run it; the result goes to x0, and is returned.
#[inline]
pub fn syscall(regs: &mut TrapFrame) -> i64 {
    crate::syscall::dispatch(regs)
}

/// A translation or permission fault on `addr`, from EL0 or from a uaccess routine at
/// EL1: resolve it in the current address space (demand-zero page, copy-on-write).
///
/// The address space is borrowed, not cloned (Linux reads `current->mm` without taking
/// a reference): only the running task itself ever replaces or drops its own mm (execve,
/// exit), and it is busy here; so the `Arc` in its task keeps the `Mm` alive until this
/// returns. That saves an atomic increment and decrement on every fault.
#[inline(always)]
pub fn page_fault(addr: usize, access: Access) -> Result<(), FaultError> {
    if addr >= USER_TOP {
        return Err(FaultError::NotMapped);
    }
    let cur = sched::current();
    let mm: *const Mm = match cur.inner.lock().mm.as_deref() {
        Some(mm) => mm,
        None => return Err(FaultError::NotMapped),
    };
    // SAFETY: see above — the task's own reference outlives this call, which runs on
    // the task's behalf and cannot be interleaved with its execve or exit.
    let mm = unsafe { &*mm };
    mm.handle_fault(addr, access).map(|_| ())
}

/// A translation or permission fault from EL0 (see `page_fault`); out of memory runs the
/// OOM killer, and the access is retried if someone else was killed. Err: the fault
/// stands, and the arch layer reports it (then calls `user_fault_failed`).
#[inline]
pub fn user_page_fault(addr: usize, access: Access) -> Result<(), FaultError> {
    loop {
        match page_fault(addr, access) {
            Err(FaultError::OutOfMemory) if oom::out_of_memory() == OomOutcome::Retry => {}
            Err(FaultError::OutOfMemory) => return Ok(()), // killed: it dies on the way out
            other => return other,
        }
    }
}

/// A user page fault that could not be resolved: the thread gets the signal Linux
/// sends, with si_addr = `addr` and the exception syndrome `esr` for its frame. If the
/// signal will end the process (no handler), `report` prints the arch layer's decoded
/// report first; a handled fault (a program catching SIGSEGV) stays quiet.
pub fn user_fault_failed(err: FaultError, addr: u64, esr: u64, report: impl FnOnce()) {
    use crate::task::signal::{BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR};
    let (sig, code, why) = match err {
        FaultError::NotMapped => (
            SIGSEGV,
            SEGV_MAPERR,
            "no mapping at that address (SEGV_MAPERR)",
        ),
        FaultError::AccessDenied => (
            SIGSEGV,
            SEGV_ACCERR,
            "the mapping forbids this access (SEGV_ACCERR)",
        ),
        FaultError::PastEndOfFile => (
            SIGBUS,
            BUS_ADRERR,
            "the mapped file ends before this page (BUS_ADRERR)",
        ),
        FaultError::OutOfMemory => {
            report();
            crate::println!("  -> out of memory while resolving the fault: killing the process");
            let cur = sched::current();
            exit::kill_group(cur.tgid, exit::killed_status(SIGKILL));
            return;
        }
    };
    send_fault_signal(sig, code, addr, esr, why, report);
}

fn send_fault_signal(sig: u32, code: i32, addr: u64, esr: u64, why: &str, report: impl FnOnce()) {
    if signal::fault_is_fatal(sig) {
        report();
        crate::println!("  -> {}: killing the process with signal {}", why, sig);
    }
    signal::force_sig_fault(sig, code, addr, esr);
}

/// A fault in a uaccess routine: resolved (Ok: retry the access), or the copy stops and
/// the system call returns -EFAULT. Out of memory runs the OOM killer; if it killed the
/// caller, the copy stops and the caller dies on its way out.
pub fn uaccess_fault(addr: usize, access: Access) -> Result<(), FaultError> {
    loop {
        match page_fault(addr, access) {
            Err(FaultError::OutOfMemory) if oom::out_of_memory() == OomOutcome::Retry => {}
            other => return other,
        }
    }
}

/// Any other user exception: the signal Linux sends for it. `addr` is si_addr (the
/// faulting address for an alignment fault, else the pc); `esr` goes into the frame
/// only for data aborts (0 otherwise), as on Linux.
pub fn user_exception(kind: UserException, addr: u64, esr: u64, report: impl FnOnce()) {
    use crate::task::signal::{BUS_ADRALN, ILL_ILLOPC, TRAP_BRKPT};
    let (sig, code, why) = match kind {
        UserException::Undefined => (SIGILL, ILL_ILLOPC, "undefined or privileged instruction"),
        UserException::Alignment => (SIGBUS, BUS_ADRALN, "misaligned access"),
        UserException::Breakpoint => (SIGTRAP, TRAP_BRKPT, "breakpoint"),
        UserException::Unexpected => {
            report();
            crate::println!("  -> unexpected exception: killing the process");
            let cur = sched::current();
            exit::kill_group(cur.tgid, exit::killed_status(SIGKILL));
            return;
        }
    };
    send_fault_signal(sig, code, addr, esr, why, report);
}

/// An interrupt (from EL0, or from EL1 while idle).
pub fn irq() {
    crate::irq::handle(|irq| {
        crate::trace::irq_handler_entry(irq as u32);
        match irq {
            Irq::Tick => sched::timer_tick(crate::arch::timer::now_ns()),
            Irq::Reschedule => sched::reschedule_ipi(),
            Irq::Uart => crate::tty::uart_interrupt(),
        }
    });
}

/// Signals on the way back to EL0: the arch layer's `do_signal` asks these (they are
/// the portable half of Linux's arch/arm64/kernel/signal.c).
pub use crate::task::signal::{
    KSignal, SA_ONSTACK, SA_RESTORER, SA_SIGINFO, force_sigsegv, get_signal, restore_saved_sigmask,
    signal_delivered, signal_work_pending,
};

/// The user address of the vDSO's `__kernel_rt_sigreturn` in the current process, the
/// return address of a handler installed without SA_RESTORER.
pub fn vdso_sigreturn_trampoline() -> Option<usize> {
    let mm = sched::current().mm()?;
    crate::vdso::sigreturn_trampoline(&mm)
}

/// Copies to user memory for the arch layer (the signal frame): EFAULT for a bad address.
pub use crate::mm::uaccess::{copy_from_user, copy_to_user};

/// Before every return to EL0: reschedule if asked, die if killed.
#[inline]
pub fn exit_to_user_mode() {
    crate::mm::heap::refill_if_low();
    sched::prepare_exit_to_user();
}

/// Whether the return to EL0 has portable work to do besides the arch layer's per-CPU
/// work bits (Linux `exit_to_user_mode_prepare`'s `ti_work & EXIT_TO_USER_MODE_WORK`):
/// a heap to refill, a kill, a signal or a sigmask to restore. One combined test, with
/// no branch per item; the flags are read relaxed, and the work loop reads each again
/// as it acts on it.
#[inline(always)]
pub fn exit_work_pending() -> bool {
    use core::sync::atomic::Ordering::Relaxed;
    let cur = sched::current();
    crate::mm::heap::is_low()
        | cur.kill_pending.load(Relaxed)
        | cur.sig_pending.load(Relaxed)
        | cur.restore_sigmask.load(Relaxed)
}

/// "user task TID (NAME)" and the program's bytes (read from its file), for a fault
/// report.
pub fn current_task_for_report() -> (String, Option<alloc::vec::Vec<u8>>) {
    let task = sched::current();
    let exe = task.mm().and_then(|mm| mm.exe.clone());
    (
        alloc::format!("user task {} ({})", task.tid, task.name()),
        exe.and_then(|f| f.contents()),
    )
}

/// Calls `f` with the running task's tid and name, for a report from code that may have
/// interrupted anything (a kernel stack overflow): it waits for no lock — the name is
/// "?" if the task's lock is held — and allocates nothing.
pub fn with_current_task_ident<R>(f: impl FnOnce(u32, &str) -> R) -> R {
    let task = sched::current();
    match task.inner.try_lock() {
        Some(inner) => f(task.tid, &inner.name),
        None => f(task.tid, "?"),
    }
}

/// The symbol containing `pc` in a user program's ELF image.
pub fn symbolize_user(image: &[u8], pc: usize) -> Option<(&str, usize)> {
    crate::loader::elf::symbolize(image, pc)
}

/// The kernel symbol containing `pc` (from the System.map in the initrd).
pub fn symbolize_kernel(pc: usize) -> Option<(&'static str, usize)> {
    crate::symbols::lookup(pc)
}
