//! Exception handling: the Rust handlers entry.S calls, and decoded exception reports.
//! Linux: arch/arm64/kernel/entry-common.c, traps.c and arch/arm64/mm/fault.c.
//!
//! ESR_EL1 (ARM ARM D17.2.37) and SPSR_EL1 are decoded by field name through aarch64-cpu's
//! register definitions; the data-abort ISS fields, which aarch64-cpu leaves as one ISS
//! number, are defined below the same way. The handlers turn what they decode into
//! portable terms (an address and an `Access`, or a `UserException`) and hand it to
//! `crate::trap`, which decides what happens (resolve the fault, or which signal).

use aarch64_cpu::registers::{CNTVCT_EL0, ESR_EL1, FAR_EL1, Readable, SPSR_EL1};
use tock_registers::register_bitfields;
use tock_registers::registers::InMemoryRegister;

use core::mem::size_of;

use super::context::TrapFrame;
use super::irqsoff;
use super::memory::{THREAD_ALIGN, THREAD_SHIFT, THREAD_SIZE, stack_slot};
use super::percpu::{self, this_cpu};
use crate::trap::{self, Access, UserException};

register_bitfields! {u64,
    /// ISS of a data or instruction abort (ARM ARM D17.2.37, "ISS encoding for an
    /// exception from a Data Abort").
    pub ABORT_ISS [
        /// Cache maintenance: the fault came from a DC/IC instruction (reported as a read).
        CM OFFSET(8) NUMBITS(1) [],
        /// Write not Read.
        WNR OFFSET(6) NUMBITS(1) [],
        /// Data/Instruction Fault Status Code: the kind of fault (FSC_TYPE) and the
        /// translation level it happened at (FSC_LEVEL).
        FSC_TYPE OFFSET(2) NUMBITS(4) [
            AddressSize = 0b0000,
            Translation = 0b0001,
            AccessFlag = 0b0010,
            Permission = 0b0011,
            Alignment = 0b1000
        ],
        FSC_LEVEL OFFSET(0) NUMBITS(2) []
    ]
}

// The exception classes and fault status types the hot paths compare with, as numbers
// (aarch64-cpu's and the ISS's own names, so that a match reads as the ARM ARM does).
const EC_WFX: u64 = ESR_EL1::EC::Value::TrappedWFIorWFE as u64;
const EC_IABT_LOW: u64 = ESR_EL1::EC::Value::InstrAbortLowerEL as u64;
const EC_IABT_CUR: u64 = ESR_EL1::EC::Value::InstrAbortCurrentEL as u64;
const EC_PC_ALIGN: u64 = ESR_EL1::EC::Value::PCAlignmentFault as u64;
const EC_DABT_LOW: u64 = ESR_EL1::EC::Value::DataAbortLowerEL as u64;
const EC_DABT_CUR: u64 = ESR_EL1::EC::Value::DataAbortCurrentEL as u64;
const EC_SP_ALIGN: u64 = ESR_EL1::EC::Value::SPAlignmentFault as u64;
const EC_BRK64: u64 = ESR_EL1::EC::Value::Brk64 as u64;
const FSC_TRANSLATION: u64 = ABORT_ISS::FSC_TYPE::Value::Translation as u64;
const FSC_PERMISSION: u64 = ABORT_ISS::FSC_TYPE::Value::Permission as u64;
const FSC_ALIGNMENT: u64 = ABORT_ISS::FSC_TYPE::Value::Alignment as u64;

/// A saved ESR_EL1 value, decoded through aarch64-cpu's field definitions. A plain
/// `u64`, not an `InMemoryRegister`, whose volatile accesses would keep the value in
/// memory on the system-call path.
pub struct Esr(u64);

impl Esr {
    pub fn read() -> Esr {
        Esr(ESR_EL1.get())
    }

    pub fn raw(&self) -> u64 {
        self.0
    }

    pub fn ec(&self) -> Option<ESR_EL1::EC::Value> {
        ESR_EL1::EC.read_as_enum(self.0)
    }

    /// A system call: tested first, with one mask-and-compare (the hot path).
    pub fn is_svc64(&self) -> bool {
        ESR_EL1::EC.read(self.0) == ESR_EL1::EC::Value::SVC64 as u64
    }

    fn abort_iss(&self) -> InMemoryRegister<u64, ABORT_ISS::Register> {
        InMemoryRegister::new(ESR_EL1::ISS.read(self.0))
    }

    /// The exception class as a number, for the hot paths: one shift. (`ec()` maps it
    /// onto aarch64-cpu's enum through a bounds-checked table, an out-of-line call that
    /// cost a fault 27 instructions when it was asked three times; reports still use it.)
    #[inline(always)]
    pub fn ec_raw(&self) -> u64 {
        ESR_EL1::EC.read(self.0)
    }

    /// The ISS's fault status type (ABORT_ISS::FSC_TYPE), as a number.
    #[inline(always)]
    fn fsc_type(&self) -> u64 {
        ABORT_ISS::FSC_TYPE.read(self.0)
    }

    fn is_abort(&self) -> bool {
        matches!(
            self.ec_raw(),
            EC_DABT_LOW | EC_DABT_CUR | EC_IABT_LOW | EC_IABT_CUR
        )
    }

    fn is_instruction_abort(&self) -> bool {
        matches!(self.ec_raw(), EC_IABT_LOW | EC_IABT_CUR)
    }

    /// Write not Read; cache maintenance (CM = 1) counts as a read, as in Linux.
    #[inline(always)]
    pub fn is_write(&self) -> bool {
        ABORT_ISS::WNR.read(self.0) != 0 && ABORT_ISS::CM.read(self.0) == 0
    }

    /// The access a page fault tried, if this is a translation, access-flag or
    /// permission fault (the kinds a page-table change can resolve).
    #[inline(always)]
    pub fn fault_access(&self) -> Option<Access> {
        if !self.is_abort() {
            return None;
        }
        if !matches!(self.fsc_type(), FSC_TRANSLATION | FSC_PERMISSION) {
            return None;
        }
        Some(if self.is_instruction_abort() {
            Access::Exec
        } else if self.is_write() {
            Access::Write
        } else {
            Access::Read
        })
    }

    /// An alignment fault (Linux: SIGBUS, BUS_ADRALN).
    fn is_alignment_fault(&self) -> bool {
        self.is_abort() && self.fsc_type() == FSC_ALIGNMENT
    }

    fn ec_name(&self) -> &'static str {
        use ESR_EL1::EC::Value::*;
        match self.ec() {
            Some(Unknown) => "unknown reason (undefined instruction)",
            Some(TrappedWFIorWFE) => "WFI/WFE trapped",
            Some(TrappedFP) => "FP/SIMD access trapped",
            Some(IllegalExecutionState) => "illegal execution state",
            Some(SVC64) => "SVC from AArch64",
            Some(TrappedMsrMrs) => "system register access trapped",
            Some(InstrAbortLowerEL) => "instruction abort from EL0",
            Some(InstrAbortCurrentEL) => "instruction abort from EL1",
            Some(PCAlignmentFault) => "PC alignment fault",
            Some(DataAbortLowerEL) => "data abort from EL0",
            Some(DataAbortCurrentEL) => "data abort from EL1",
            Some(SPAlignmentFault) => "SP alignment fault",
            Some(SError) => "SError interrupt",
            Some(Brk64) => "BRK instruction",
            _ => "other",
        }
    }

    fn fsc_name(&self) -> &'static str {
        use ABORT_ISS::FSC_TYPE::Value::*;
        match self.abort_iss().read_as_enum(ABORT_ISS::FSC_TYPE) {
            Some(AddressSize) => "address size fault",
            Some(Translation) => "translation fault",
            Some(AccessFlag) => "access flag fault",
            Some(Permission) => "permission fault",
            Some(Alignment) => "alignment fault",
            None => "other fault",
        }
    }
}

/// SPSR's mode and interrupt masks, by name (for reports).
fn pstate_summary(pstate: u64) -> (&'static str, u64) {
    let spsr: InMemoryRegister<u64, SPSR_EL1::Register> = InMemoryRegister::new(pstate);
    let mode = match spsr.read_as_enum(SPSR_EL1::M) {
        Some(SPSR_EL1::M::Value::EL0t) => "EL0t",
        Some(SPSR_EL1::M::Value::EL1t) => "EL1t",
        Some(SPSR_EL1::M::Value::EL1h) => "EL1h",
        None => "reserved",
    };
    let daif = spsr.read(SPSR_EL1::D) << 3
        | spsr.read(SPSR_EL1::A) << 2
        | spsr.read(SPSR_EL1::I) << 1
        | spsr.read(SPSR_EL1::F);
    (mode, daif)
}

/// Prints a decoded exception report. `symbol` names the code at ELR if known.
pub fn report(who: &str, frame: &TrapFrame, esr: &Esr, far: u64, symbol: Option<(&str, usize)>) {
    crate::println!("--- exception in {} ---", who);
    crate::println!(
        "  ESR_EL1 {:#010x}: EC {:#04x} = {}, ISS {:#x}",
        esr.raw(),
        ESR_EL1::EC.read(esr.0),
        esr.ec_name(),
        ESR_EL1::ISS.read(esr.0)
    );
    if esr.is_abort() {
        let iss = esr.abort_iss();
        crate::println!(
            "  DFSC {:#04x} = {} (level {}), WnR={} -> a {}",
            iss.read(ABORT_ISS::FSC_TYPE) << 2 | iss.read(ABORT_ISS::FSC_LEVEL),
            esr.fsc_name(),
            iss.read(ABORT_ISS::FSC_LEVEL),
            esr.is_write() as u8,
            if esr.is_instruction_abort() {
                "instruction fetch"
            } else if esr.is_write() {
                "write"
            } else {
                "read"
            }
        );
        crate::println!("  FAR_EL1 {:#018x} (the faulting address)", far);
    }
    match symbol {
        Some((name, off)) => crate::println!("  ELR_EL1 {:#018x} <{}+{:#x}>", frame.pc, name, off),
        None => crate::println!("  ELR_EL1 {:#018x}", frame.pc),
    }
    let (mode, daif) = pstate_summary(frame.pstate);
    crate::println!(
        "  SPSR {:#x} ({}, DAIF {:04b})  SP {:#x}  LR {:#x}",
        frame.pstate,
        mode,
        daif,
        frame.sp,
        frame.regs[30]
    );
}

fn report_user(frame: &TrapFrame, esr: &Esr, far: u64) {
    let (who, image) = trap::current_task_for_report();
    let symbol = image
        .as_deref()
        .and_then(|img| trap::symbolize_user(img, frame.pc as usize));
    report(&who, frame, esr, far, symbol);
}

/// Synchronous exception from a user program: a system call or a fault. System calls
/// are by far the most frequent, so they take the shortest path (Linux
/// `el0t_64_sync_handler` → `el0_svc`).
#[unsafe(no_mangle)]
extern "C" fn el0_sync_handler(frame: &mut TrapFrame) {
    let esr = Esr::read();
    if esr.is_svc64() {
        el0_svc(frame);
    } else {
        enter_from_user_mode(irqsoff::CAUSE_EXCEPTION | ESR_EL1::EC.read(esr.0));
        el0_fault(frame, esr);
    }
}

/// A system call (Linux `el0_svc` → `el0_svc_common`): the entry's bookkeeping, then the
/// call. The frame's `syscallno` is set here only: kernel_entry leaves it alone (every
/// other entry from EL0 marks its frame "no system call" in its own handler, below).
#[inline(always)]
fn el0_svc(frame: &mut TrapFrame) {
    let nr = frame.syscall_nr();
    enter_from_user_mode(nr as u64);
    // Linux el0_svc_common: remember the call and its first argument for a restart.
    frame.orig_x0 = frame.regs[0];
    frame.syscallno = nr as i64;
    let ret = trap::syscall(frame);
    // A restart code (-ERESTARTSYS..-ERESTART_RESTARTBLOCK) for the way out to sort out
    // (do_signal): flag it, so that the return path tests one word, not the frame.
    if (-516..=-512).contains(&ret) {
        this_cpu().set_exit_work(percpu::TIF_SYSCALL_RESTART);
    }
}

/// What every entry from EL0 does first (Linux `enter_from_user_mode`): the masked
/// stretch begins (irqsoff.rs) and the user stretch of CPU time ends (percpu.rs
/// `Vtime`) — one counter read for both, and two stores.
#[inline(always)]
fn enter_from_user_mode(cause: u64) {
    let now = CNTVCT_EL0.get();
    let cpu = this_cpu();
    cpu.irqs_off.begin_at(now, cause);
    cpu.vtime.user_exit(now);
}

/// Everything from EL0 that is not a system call: page faults and the rest. The page
/// fault — the common case — is decoded from the one ESR value with shifts and masks and
/// goes straight to `trap::user_page_fault` (Linux `el0_da` → `do_mem_abort` →
/// `do_page_fault`). Everything else (a fault that stands, alignment, brk, undefined
/// instructions) is out of line, so that this function saves few registers.
#[inline(never)]
fn el0_fault(frame: &mut TrapFrame, esr: Esr) {
    frame.syscallno = -1; // not a system call: nothing to restart (Linux NO_SYSCALL)
    if matches!(esr.ec_raw(), EC_DABT_LOW | EC_IABT_LOW)
        && let Some(access) = esr.fault_access()
    {
        let far = FAR_EL1.get() as usize;
        if let Err(err) = trap::user_page_fault(far, access) {
            el0_fault_failed(frame, &esr, far as u64, err);
        }
        return;
    }
    el0_other(frame, esr);
}

/// A user page fault that could not be resolved: the signal, or a report and a kill.
#[cold]
#[inline(never)]
fn el0_fault_failed(frame: &mut TrapFrame, esr: &Esr, far: u64, err: trap::FaultError) {
    let report = || report_user(frame, esr, far);
    trap::user_fault_failed(err, far, esr.0, report);
}

/// The other synchronous exceptions from EL0: alignment faults, `brk`, WFI/WFE,
/// undefined or forbidden instructions.
#[cold]
#[inline(never)]
fn el0_other(frame: &mut TrapFrame, esr: Esr) {
    let kind = match esr.ec_raw() {
        // Linux emulates a WFI at EL0 as a no-op (traps.c wfi_handler): skip it.
        EC_WFX => {
            frame.pc += 4;
            return;
        }
        EC_DABT_LOW | EC_IABT_LOW => {
            let far = FAR_EL1.get();
            if esr.is_alignment_fault() {
                let report = || report_user(frame, &esr, far);
                return trap::user_exception(UserException::Alignment, far, esr.0, report);
            }
            // Neither a translation or permission fault nor an alignment fault (an
            // address-size or access-flag fault): nothing to resolve.
            return el0_fault_failed(frame, &esr, far, trap::FaultError::NotMapped);
        }
        EC_PC_ALIGN | EC_SP_ALIGN => UserException::Alignment,
        EC_BRK64 => UserException::Breakpoint,
        _ => UserException::Undefined,
    };
    // si_addr: the misaligned pc or sp for an alignment fault (FAR holds it), else the
    // instruction (Linux `force_signal_inject(..., regs->pc)`); no ESR in the frame.
    let addr = if kind == UserException::Alignment {
        FAR_EL1.get()
    } else {
        frame.pc
    };
    let far = FAR_EL1.get();
    trap::user_exception(kind, addr, 0, || report_user(frame, &esr, far));
}

unsafe extern "C" {
    static __ex_table_start: [u64; 0];
    static __ex_table_end: [u64; 0];
}

/// The fixup address for a faulting uaccess instruction at `pc`, from __ex_table.
fn search_exception_table(pc: u64) -> Option<u64> {
    // SAFETY: the linker places (insn, fixup) pairs of u64 between these two symbols.
    let table = unsafe {
        let start = __ex_table_start.as_ptr();
        let len = (__ex_table_end.as_ptr() as usize - start as usize) / 8;
        core::slice::from_raw_parts(start, len)
    };
    table.chunks_exact(2).find(|e| e[0] == pc).map(|e| e[1])
}

/// Synchronous exception taken from EL1: a uaccess fault on user memory (resolved, or
/// fixed up to return -EFAULT), or a kernel bug (panic with a decoded report).
#[unsafe(no_mangle)]
extern "C" fn el1h_sync_handler(frame: &mut TrapFrame) {
    let esr = Esr::read();
    let far = FAR_EL1.get();
    if esr.ec_raw() == EC_DABT_CUR
        && let Some(fixup) = search_exception_table(frame.pc)
    {
        let resolved = match esr.fault_access() {
            Some(access) => trap::uaccess_fault(far as usize, access),
            None => Err(trap::FaultError::NotMapped),
        };
        if resolved.is_ok() {
            return; // retry the same ldtrb/sttrb
        }
        frame.pc = fixup; // the copy routine returns "bytes not copied"
        return;
    }
    // A fault in the guard of the stack this frame is on: an overflow by more than the
    // frame entry.S tests for (a function's locals reached past the stack's bottom).
    let frame_at = frame as *const TrapFrame as usize;
    if far as usize >> THREAD_SHIFT == stack_slot(frame_at) >> THREAD_SHIFT {
        stack_overflow(frame, &esr, far, frame_at + size_of::<TrapFrame>());
    }
    report(
        "the kernel",
        frame,
        &esr,
        far,
        trap::symbolize_kernel(frame.pc as usize),
    );
    panic!("unhandled exception in the kernel");
}

/// entry.S found that an exception at EL1 had no room for its frame: the stack pointer
/// is in a kernel stack's guard. It switched to this CPU's overflow stack and saved the
/// registers there; `sp` is the stack pointer at the exception (Linux
/// `handle_bad_stack`, arch/arm64/kernel/traps.c).
#[unsafe(no_mangle)]
extern "C" fn handle_bad_stack(frame: &TrapFrame, sp: u64) -> ! {
    stack_overflow(frame, &Esr::read(), FAR_EL1.get(), sp as usize)
}

/// Reports a kernel stack overflow — which task, its stack and guard, sp and FAR — and
/// panics. It may have interrupted any code, holding any lock: it takes no lock it
/// would wait for and allocates nothing.
fn stack_overflow(frame: &TrapFrame, esr: &Esr, far: u64, sp: usize) -> ! {
    crate::console::force_unlock();
    crate::println!("Insufficient stack space to handle exception!");
    report(
        "the kernel",
        frame,
        esr,
        far,
        trap::symbolize_kernel(frame.pc as usize),
    );
    let slot = stack_slot(sp);
    let (ov_bottom, ov_top) = super::percpu::overflow_stack();
    crate::println!(
        "  task stack [{:#x}..{:#x}), its guard [{:#x}..{:#x}), overflow stack [{:#x}..{:#x})",
        slot + THREAD_SIZE,
        slot + THREAD_ALIGN,
        slot,
        slot + THREAD_SIZE,
        ov_bottom,
        ov_top
    );
    let die = |tid: u32, name: &str| -> ! {
        panic!("kernel stack overflow in task {tid} ({name}): sp {sp:#x}, FAR {far:#x}")
    };
    if super::percpu::this_cpu().current_task().is_null() {
        die(0, "boot") // before the idle task exists
    }
    trap::with_current_task_ident(die)
}

#[unsafe(no_mangle)]
extern "C" fn el0_irq_handler(frame: &mut TrapFrame) {
    frame.syscallno = -1; // not a system call: nothing to restart (Linux NO_SYSCALL)
    enter_from_user_mode(irqsoff::CAUSE_IRQ);
    trap::irq();
}

/// An interrupt in the idle loop's `wfi` window; it returns there with IRQs unmasked,
/// so its masked stretch ends here.
#[unsafe(no_mangle)]
extern "C" fn el1h_irq_handler(_frame: &mut TrapFrame) {
    irqsoff::begin(irqsoff::CAUSE_IRQ);
    trap::irq();
    irqsoff::end();
}

/// Called by ret_to_user before every return to EL0 (Linux `exit_to_user_mode`): the
/// kernel's work, if there is any (reschedule, pending kills and signals, the FP/SIMD
/// registers to load), then the end of the kernel stretch of CPU time and of the
/// masked stretch that began when the CPU left EL0 (or idle).
///
/// Why it is fast: with no work, all this costs one test of the work flags
/// (`trap::exit_work_pending`, Linux's `ti_work & EXIT_TO_USER_MODE_WORK`), one counter
/// read and a few loads and stores of this CPU's area. The loop only runs when the test
/// says there is work, and then does exactly what it did before.
#[unsafe(no_mangle)]
extern "C" fn prepare_exit_to_user(frame: &mut TrapFrame) {
    if (this_cpu().exit_work() != 0) | trap::exit_work_pending() {
        exit_to_user_mode_loop(frame); // may switch tasks: this may be another CPU after
    }
    let now = CNTVCT_EL0.get();
    let cpu = this_cpu();
    cpu.vtime.user_enter(now);
    cpu.irqs_off.end_at(now);
}

/// The work before a return to EL0 (Linux `exit_to_user_mode_loop`).
#[inline(never)]
fn exit_to_user_mode_loop(frame: &mut TrapFrame) {
    // The hints are acted on below from the exact state (the frame, the thread's
    // foreign_fpstate); need_resched stays until `schedule` clears it.
    this_cpu().clear_exit_work(percpu::TIF_SYSCALL_RESTART | percpu::TIF_FOREIGN_FPSTATE);
    loop {
        trap::exit_to_user_mode();
        // Linux do_notify_resume's loop: a signal (or a restart to sort out) first, then
        // check again — delivering may have woken or stopped us, or queued another.
        if !trap::signal_work_pending() && !super::signal::needs_restart_check(frame) {
            break;
        }
        super::signal::do_signal(frame);
    }
    super::fpsimd::fpsimd_restore_current_state();
}

/// Exceptions that should never happen (FIQ, SError, AArch32, EL1t).
#[unsafe(no_mangle)]
extern "C" fn bad_mode(frame: &mut TrapFrame, kind: u64) {
    const NAMES: [&str; 13] = [
        "EL1t sync",
        "EL1t IRQ",
        "EL1t FIQ",
        "EL1t SError",
        "EL1h sync",
        "EL1h IRQ",
        "EL1h FIQ",
        "EL1h SError",
        "EL0 sync",
        "EL0 IRQ",
        "EL0 FIQ",
        "EL0 SError",
        "EL0 AArch32",
    ];
    let esr = Esr::read();
    let name = NAMES.get(kind as usize).copied().unwrap_or("?");
    if kind >= 8 {
        frame.syscallno = -1;
        enter_from_user_mode(irqsoff::CAUSE_EXCEPTION | ESR_EL1::EC.read(esr.0));
        crate::println!("unexpected {} from a user program:", name);
        let far = FAR_EL1.get();
        trap::user_exception(UserException::Unexpected, 0, 0, || {
            report_user(frame, &esr, far)
        });
        return;
    }
    report(
        "the kernel",
        frame,
        &esr,
        FAR_EL1.get(),
        trap::symbolize_kernel(frame.pc as usize),
    );
    panic!("unexpected exception: {}", name);
}
