//! Exception handling: the saved register frame, ESR decoding, and the Rust handlers that
//! entry.S calls. Linux: arch/arm64/kernel/entry-common.c and arch/arm64/mm/fault.c.
//! ESR_EL1 layout: ARM ARM D17.2.37; fault status codes: D17.2.37 "ISS encoding for an
//! exception from a Data Abort".

use aarch64_cpu::registers::{ESR_EL1, FAR_EL1, Readable};

use crate::mm::addr_space::{Access, FaultError};
use crate::mm::pagetable::USER_TOP;

/// The registers entry.S saves on the kernel stack (layout fixed by entry.S).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    pub regs: [u64; 31],
    pub sp: u64,
    pub pc: u64,
    pub pstate: u64,
    pub tpidr: u64,
    pub _pad: u64,
}

const _: () = assert!(core::mem::size_of::<TrapFrame>() == 288);

/// Exception classes (ESR_EL1.EC) this kernel names in its reports.
pub mod ec {
    pub const UNKNOWN: u64 = 0x00;
    pub const FP_ACCESS: u64 = 0x07;
    pub const ILLEGAL_STATE: u64 = 0x0e;
    pub const SVC64: u64 = 0x15;
    pub const SYS_REG: u64 = 0x18;
    pub const INSN_ABORT_LOWER: u64 = 0x20;
    pub const INSN_ABORT_SAME: u64 = 0x21;
    pub const PC_ALIGN: u64 = 0x22;
    pub const DATA_ABORT_LOWER: u64 = 0x24;
    pub const DATA_ABORT_SAME: u64 = 0x25;
    pub const SP_ALIGN: u64 = 0x26;
    pub const SERROR: u64 = 0x2f;
    pub const BRK64: u64 = 0x3c;
}

pub fn ec_name(ec: u64) -> &'static str {
    match ec {
        ec::UNKNOWN => "unknown reason (undefined instruction)",
        ec::FP_ACCESS => "FP/SIMD access trapped",
        ec::ILLEGAL_STATE => "illegal execution state",
        ec::SVC64 => "SVC from AArch64",
        ec::SYS_REG => "system register access trapped",
        ec::INSN_ABORT_LOWER => "instruction abort from EL0",
        ec::INSN_ABORT_SAME => "instruction abort from EL1",
        ec::PC_ALIGN => "PC alignment fault",
        ec::DATA_ABORT_LOWER => "data abort from EL0",
        ec::DATA_ABORT_SAME => "data abort from EL1",
        ec::SP_ALIGN => "SP alignment fault",
        ec::SERROR => "SError interrupt",
        ec::BRK64 => "BRK instruction",
        _ => "other",
    }
}

/// Data/instruction fault status code (ISS[5:0]) by name.
pub fn fsc_name(fsc: u64) -> &'static str {
    match fsc {
        0x00..=0x03 => "address size fault",
        0x04..=0x07 => "translation fault",
        0x08..=0x0b => "access flag fault",
        0x0c..=0x0f => "permission fault",
        0x10 => "synchronous external abort",
        0x21 => "alignment fault",
        _ => "other fault",
    }
}

/// The fields of ESR_EL1 a student needs, decoded.
#[derive(Clone, Copy, Debug)]
pub struct Esr(pub u64);

impl Esr {
    pub fn ec(self) -> u64 {
        (self.0 >> 26) & 0x3f
    }
    pub fn iss(self) -> u64 {
        self.0 & 0x1ff_ffff
    }
    pub fn fsc(self) -> u64 {
        self.0 & 0x3f
    }
    /// Level of the translation table walk that faulted (for translation/permission faults).
    pub fn fault_level(self) -> u64 {
        self.0 & 0x3
    }
    /// Write not Read; meaningless for cache maintenance (CM=1), which we count as reads.
    pub fn is_write(self) -> bool {
        self.0 & (1 << 6) != 0 && self.0 & (1 << 8) == 0
    }
    pub fn is_abort(self) -> bool {
        matches!(
            self.ec(),
            ec::INSN_ABORT_LOWER | ec::INSN_ABORT_SAME | ec::DATA_ABORT_LOWER | ec::DATA_ABORT_SAME
        )
    }
    /// The access a page fault tried, if this is a translation or permission fault.
    pub fn fault_access(self) -> Option<Access> {
        if !matches!(self.fsc(), 0x04..=0x07 | 0x0c..=0x0f) {
            return None;
        }
        Some(match self.ec() {
            ec::INSN_ABORT_LOWER | ec::INSN_ABORT_SAME => Access::Exec,
            _ if self.is_write() => Access::Write,
            _ => Access::Read,
        })
    }
}

/// Prints a decoded exception report. `symbol` names the code at ELR if known.
pub fn report(who: &str, frame: &TrapFrame, esr: Esr, far: u64, symbol: Option<(&str, usize)>) {
    crate::println!("--- exception in {} ---", who);
    crate::println!(
        "  ESR_EL1 {:#010x}: EC {:#04x} = {}, ISS {:#x}",
        esr.0,
        esr.ec(),
        ec_name(esr.ec()),
        esr.iss()
    );
    if esr.is_abort() {
        crate::println!(
            "  DFSC {:#04x} = {} (level {}), WnR={} -> a {}",
            esr.fsc(),
            fsc_name(esr.fsc()),
            esr.fault_level(),
            esr.is_write() as u8,
            if esr.ec() == ec::INSN_ABORT_LOWER || esr.ec() == ec::INSN_ABORT_SAME {
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
    crate::println!(
        "  SPSR {:#x}  SP {:#x}  LR {:#x}",
        frame.pstate,
        frame.sp,
        frame.regs[30]
    );
}

/// Synchronous exception from a user program: a system call or a fault.
#[unsafe(no_mangle)]
extern "C" fn el0_sync_handler(frame: &mut TrapFrame) {
    let esr = Esr(ESR_EL1.get());
    match esr.ec() {
        ec::SVC64 => crate::syscall::dispatch(frame),
        ec::DATA_ABORT_LOWER | ec::INSN_ABORT_LOWER => {
            let far = FAR_EL1.get();
            let fixed = match esr.fault_access() {
                Some(access) if (far as usize) < USER_TOP => {
                    crate::mm::global::handle_user_fault(far as usize, access)
                }
                _ => Err(FaultError::NotMapped),
            };
            if let Err(e) = fixed {
                user_fault_kill(frame, esr, far, e);
            }
        }
        _ => {
            let far = FAR_EL1.get();
            report_user(frame, esr, far);
            let sig = if esr.ec() == ec::PC_ALIGN || esr.ec() == ec::SP_ALIGN {
                SIGBUS
            } else {
                SIGILL
            };
            crate::task::exit::force_sig(sig);
        }
    }
}

pub const SIGILL: u32 = 4;
pub const SIGBUS: u32 = 7;
pub const SIGKILL: u32 = 9;
pub const SIGSEGV: u32 = 11;

fn report_user(frame: &TrapFrame, esr: Esr, far: u64) {
    let task = crate::task::sched::current();
    let who = alloc::format!("user task {} ({})", task.tid, task.name());
    let image = task.image();
    report(
        &who,
        frame,
        esr,
        far,
        image.and_then(|img| crate::loader::elf::symbolize(img, frame.pc as usize)),
    );
}

fn user_fault_kill(frame: &TrapFrame, esr: Esr, far: u64, err: FaultError) {
    report_user(frame, esr, far);
    let (sig, why) = match err {
        FaultError::NotMapped => (SIGSEGV, "no mapping at that address (SEGV_MAPERR)"),
        FaultError::AccessDenied => (SIGSEGV, "the mapping forbids this access (SEGV_ACCERR)"),
        FaultError::OutOfMemory => (SIGKILL, "out of memory while resolving the fault"),
    };
    crate::println!("  -> {}: killing the process with signal {}", why, sig);
    crate::task::exit::force_sig(sig);
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
    let esr = Esr(ESR_EL1.get());
    let far = FAR_EL1.get();
    if esr.ec() == ec::DATA_ABORT_SAME
        && let Some(fixup) = search_exception_table(frame.pc)
    {
        let resolved = match esr.fault_access() {
            Some(access) if (far as usize) < USER_TOP => {
                crate::mm::global::handle_user_fault(far as usize, access)
            }
            _ => Err(FaultError::NotMapped),
        };
        match resolved {
            Ok(_) => return, // retry the same ldtrb/sttrb
            Err(FaultError::OutOfMemory) => crate::task::exit::mark_killed_current(),
            Err(_) => {}
        }
        frame.pc = fixup; // the copy routine returns "bytes not copied"
        return;
    }
    report(
        "the kernel",
        frame,
        esr,
        far,
        crate::symbols::lookup(frame.pc as usize),
    );
    panic!("unhandled exception in the kernel");
}

#[unsafe(no_mangle)]
extern "C" fn el0_irq_handler(_frame: &mut TrapFrame) {
    crate::irq::handle();
}

#[unsafe(no_mangle)]
extern "C" fn el1h_irq_handler(_frame: &mut TrapFrame) {
    crate::irq::handle();
}

/// Called by ret_to_user before every return to EL0.
#[unsafe(no_mangle)]
extern "C" fn prepare_exit_to_user(_frame: &mut TrapFrame) {
    crate::task::sched::prepare_exit_to_user();
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
    let esr = Esr(ESR_EL1.get());
    let name = NAMES.get(kind as usize).copied().unwrap_or("?");
    if kind >= 8 {
        report_user(frame, esr, FAR_EL1.get());
        crate::println!("  -> unexpected {} from a user program: killing it", name);
        crate::task::exit::force_sig(SIGKILL);
        return;
    }
    report(
        "the kernel",
        frame,
        esr,
        FAR_EL1.get(),
        crate::symbols::lookup(frame.pc as usize),
    );
    panic!("unexpected exception: {}", name);
}
