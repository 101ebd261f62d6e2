//! Signal frames on the user stack, and system-call restart (Linux
//! arch/arm64/kernel/signal.c: `do_signal`, `handle_signal`, `setup_rt_frame`,
//! `restore_sigframe`, `sys_rt_sigreturn`). Which signal to deliver and what its action
//! is, the portable kernel decides (task/signal, reached through trap.rs); this module
//! owns only what depends on the registers and the arm64 `struct rt_sigframe`:
//!
//! ```text
//!  old sp ──► ┌──────────────────────────────┐
//!             │ frame record {x29, x30}      │  16 bytes, for unwinders (x29 points here)
//!             ├──────────────────────────────┤
//!             │ (padding to 16)              │
//!  new sp ──► ├──────────────────────────────┤ ◄── frame (x1 = &info, x2 = &uc)
//!   +0x000    │ siginfo (128)                │
//!   +0x080    │ ucontext: uc_flags, uc_link  │
//!   +0x090    │   uc_stack {sp, flags, size} │
//!   +0x0a8    │   uc_sigmask (8, room 128)   │  the mask rt_sigreturn restores
//!   +0x130    │   mcontext: fault_address    │
//!   +0x138    │     regs[31], sp, pc, pstate │  the interrupted registers
//!   +0x250    │     __reserved[4096]:        │
//!             │       fpsimd_context (528)   │  v0-v31, fpsr, fpcr
//!             │       esr_context (16)       │  only for a fault
//!             │       terminator (16)        │
//!   +0x1250   └──────────────────────────────┘  sizeof(struct rt_sigframe) = 4688
//! ```
//!
//! The handler starts with x0 = signal number, x1/x2 = &info/&uc (SA_SIGINFO), sp =
//! the frame, x29 = the frame record, x30 = the restorer (SA_RESTORER) or the vDSO's
//! `__kernel_rt_sigreturn`, which calls rt_sigreturn(2) to come back here.

use super::context::TrapFrame;
use super::fpsimd::{self, FpState};
use super::percpu;
use crate::trap::{self, KSignal};

/// A signal frame that cannot be written (the stack is bad) or, for rt_sigreturn, one
/// that is unreadable or malformed: the thread gets SIGSEGV.
#[derive(Debug)]
pub struct BadFrame;

impl From<crate::error::Errno> for BadFrame {
    fn from(_: crate::error::Errno) -> BadFrame {
        BadFrame
    }
}

const SIGFRAME_SIZE: usize = 0x1250;
const UC: usize = 0x80;
const UC_STACK: usize = UC + 0x10;
const UC_SIGMASK: usize = UC + 0x28;
const MC_FAULT_ADDRESS: usize = 0x130;
const MC_REGS: usize = 0x138;
const MC_SP: usize = MC_REGS + 31 * 8;
const MC_PC: usize = MC_SP + 8;
const MC_PSTATE: usize = MC_PC + 8;
const MC_RESERVED: usize = 0x250;
const RESERVED_SIZE: usize = 4096;

const FPSIMD_MAGIC: u32 = 0x4650_8001;
const FPSIMD_SIZE: usize = 528;
const ESR_MAGIC: u32 = 0x4553_5201;
const ESR_SIZE: usize = 16;
/// The part of the frame this kernel writes: up to the terminator record.
const WRITTEN: usize = MC_RESERVED + FPSIMD_SIZE + ESR_SIZE + 16;

const _: () =
    assert!(SIGFRAME_SIZE.is_multiple_of(16) && MC_RESERVED + RESERVED_SIZE == SIGFRAME_SIZE);

/// Linux's restart errnos as x0 holds them (error.rs has the values).
const ERESTARTSYS: i64 = -512;
const ERESTARTNOINTR: i64 = -513;
const ERESTARTNOHAND: i64 = -514;
const ERESTART_RESTARTBLOCK: i64 = -516;
const EINTR: i64 = -4;
const NR_RESTART_SYSCALL: u64 = 128;

/// PSTATE bits a user program may not set: M[4:0] (only EL0t, AArch64) and D, A, I, F.
const PSR_PRIVILEGED_BITS: u64 = 0x3df;
/// The condition flags N, Z, C, V: all a forged PSTATE keeps.
const PSR_NZCV: u64 = 0xf000_0000;

/// Linux `do_signal` (arm64): the syscall-restart rules, then one signal's handler. Called
/// by `prepare_exit_to_user` while `trap::signal_work` says there is something to do.
pub fn do_signal(regs: &mut TrapFrame) {
    let in_syscall = regs.syscallno >= 0;
    let (continue_addr, restart_addr) = (regs.pc, regs.pc.wrapping_sub(4));
    let retval = regs.regs[0] as i64;
    if in_syscall {
        // Never restart twice (this function may run again for a second signal).
        regs.syscallno = -1;
        if matches!(
            retval,
            ERESTARTNOHAND | ERESTARTSYS | ERESTARTNOINTR | ERESTART_RESTARTBLOCK
        ) {
            // Prepare to run the `svc` again, with its original first argument.
            regs.regs[0] = regs.orig_x0;
            regs.pc = restart_addr;
        }
    }
    let mut ksig = KSignal::new();
    if trap::get_signal(&mut ksig) {
        // A handler runs: some interrupted calls fail with EINTR instead.
        if in_syscall
            && regs.pc == restart_addr
            && (retval == ERESTARTNOHAND
                || retval == ERESTART_RESTARTBLOCK
                || (retval == ERESTARTSYS && !ksig.restart_after_handler()))
        {
            regs.regs[0] = EINTR as u64;
            regs.pc = continue_addr;
        }
        handle_signal(&ksig, regs);
        return;
    }
    // No handler: the call is restarted; nanosleep through restart_syscall(2), which
    // continues with the time that was left.
    if in_syscall && regs.pc == restart_addr && retval == ERESTART_RESTARTBLOCK {
        regs.regs[8] = NR_RESTART_SYSCALL;
    }
    trap::restore_saved_sigmask();
}

/// Whether x0 holds a restart code of the system call this frame returns from: then
/// `do_signal` must run even without a pending signal (another thread took it), or the
/// code would reach user space.
pub fn needs_restart_check(regs: &TrapFrame) -> bool {
    regs.syscallno >= 0 && (-516..=-512).contains(&(regs.regs[0] as i64))
}

/// Linux `handle_signal` → `setup_rt_frame`: build the frame; if it cannot be written
/// (stack overflow, bad sp) the thread gets SIGSEGV instead.
fn handle_signal(ksig: &KSignal, regs: &mut TrapFrame) {
    let trampoline = if ksig.action.flags & trap::SA_RESTORER != 0 {
        Some(ksig.action.restorer)
    } else {
        trap::vdso_sigreturn_trampoline().map(|a| a as u64)
    };
    let on_altstack = ksig.action.flags & trap::SA_ONSTACK != 0
        && ksig.altstack.size != 0
        && !ksig.altstack.contains(regs.sp as usize);
    let stack_top = if on_altstack {
        (ksig.altstack.sp + ksig.altstack.size) as u64
    } else {
        regs.sp
    };
    match (trampoline, setup_rt_frame(ksig, regs, stack_top)) {
        (Some(restorer), Ok((frame, record))) => {
            regs.regs[0] = ksig.sig as u64;
            if ksig.action.flags & trap::SA_SIGINFO != 0 {
                regs.regs[1] = frame;
                regs.regs[2] = frame + UC as u64;
            }
            regs.sp = frame;
            regs.regs[29] = record;
            regs.regs[30] = restorer;
            regs.pc = ksig.action.handler;
            trap::signal_delivered(ksig, on_altstack);
        }
        _ => trap::force_sigsegv(),
    }
}

fn put_u64(buf: &mut [u8], off: usize, v: u64) {
    buf[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(buf: &mut [u8], off: usize, v: u32) {
    buf[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn get_u64(buf: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(buf[off..off + 8].try_into().unwrap())
}

/// The registers x0-x30, sp, pc, pstate of a trap frame as the bytes of `struct
/// sigcontext`'s regs[31], sp, pc, pstate: TrapFrame keeps them in that order (as Linux's
/// `struct pt_regs` does, for the same reason), so the frame takes them in one copy.
const SIGCONTEXT_REGS: usize = MC_PSTATE + 8 - MC_REGS;
const _: () = assert!(
    core::mem::offset_of!(TrapFrame, regs) == 0
        && core::mem::offset_of!(TrapFrame, pstate) == SIGCONTEXT_REGS - 8
);

fn regs_bytes(regs: &TrapFrame) -> &[u8] {
    // SAFETY: TrapFrame is repr(C) with regs, sp, pc, pstate first (checked above): plain
    // u64s, no padding, so its first SIGCONTEXT_REGS bytes are initialised.
    unsafe { core::slice::from_raw_parts(regs as *const TrapFrame as *const u8, SIGCONTEXT_REGS) }
}

fn regs_bytes_mut(regs: &mut TrapFrame) -> &mut [u8] {
    // SAFETY: as in `regs_bytes`; any bytes are valid u64s.
    unsafe { core::slice::from_raw_parts_mut(regs as *mut TrapFrame as *mut u8, SIGCONTEXT_REGS) }
}

/// The 32 V registers as the 512 bytes of `fpsimd_context.vregs` (little-endian u128s).
fn vregs_bytes(fp: &FpState) -> &[u8] {
    // SAFETY: [u128; 32] is 512 initialised bytes; on this little-endian machine its
    // memory image is each register's to_le_bytes in turn.
    unsafe { core::slice::from_raw_parts(fp.vregs.as_ptr() as *const u8, 16 * 32) }
}

fn vregs_bytes_mut(fp: &mut FpState) -> &mut [u8] {
    // SAFETY: as in `vregs_bytes`; any bytes are valid u128s.
    unsafe { core::slice::from_raw_parts_mut(fp.vregs.as_mut_ptr() as *mut u8, 16 * 32) }
}

/// Writes the frame below `stack_top`; returns (frame address, frame record address).
///
/// Why it is fast: the frame is written in a few large copies straight from where the
/// values live — the siginfo from the KSignal, the registers from the trap frame (one
/// 272-byte block), the 512 bytes of V registers from the thread's saved FP/SIMD state —
/// and small buffers only for what must be built (ucontext's fields, the record headers,
/// the frame record), each through the 128-bytes-a-turn copy_to_user; not a frame-sized
/// buffer zeroed, filled field by field and copied again.
fn setup_rt_frame(
    ksig: &KSignal,
    regs: &TrapFrame,
    stack_top: u64,
) -> Result<(u64, u64), BadFrame> {
    let record = (stack_top.checked_sub(16).ok_or(BadFrame)?) & !15;
    let frame = record.checked_sub(SIGFRAME_SIZE as u64).ok_or(BadFrame)?;
    trap::copy_to_user(record as usize, &{
        let mut r = [0u8; 16];
        put_u64(&mut r, 0, regs.regs[29]);
        put_u64(&mut r, 8, regs.regs[30]);
        r
    })?;

    // The FP/SIMD registers as they were in user mode (Linux
    // `fpsimd_signal_preserve_current_state`).
    // SAFETY: only the CPU running the thread touches its ThreadStruct.
    let thread = unsafe { &mut *percpu::this_cpu().current_thread() };
    fpsimd::fpsimd_preserve_current_state(thread);
    let fp = &thread.fpsimd_state;

    // (1) siginfo, straight from the KSignal (SigInfo has siginfo_t's layout).
    let frame_at = frame as usize;
    trap::copy_to_user(frame_at, ksig.q.info.as_bytes())?;
    // (2) ucontext up to the registers: uc_flags and uc_link 0, uc_stack, uc_sigmask (the
    // rest of its 128 bytes 0), then the mcontext's fault_address.
    let mut uc = [0u8; MC_REGS - UC];
    put_u64(&mut uc, UC_STACK - UC, ksig.altstack.sp as u64);
    put_u32(
        &mut uc,
        UC_STACK + 8 - UC,
        ksig.altstack.flags_at(regs.sp as usize),
    );
    put_u64(&mut uc, UC_STACK + 16 - UC, ksig.altstack.size as u64);
    put_u64(&mut uc, UC_SIGMASK - UC, ksig.saved_mask);
    put_u64(&mut uc, MC_FAULT_ADDRESS - UC, fault_address(ksig));
    trap::copy_to_user(frame_at + UC, &uc)?;
    // (3) regs[31], sp, pc, pstate: straight from the trap frame.
    trap::copy_to_user(frame_at + MC_REGS, regs_bytes(regs))?;
    // (4) the padding up to __reserved, the fpsimd_context header {magic, size, fpsr,
    // fpcr}, then its 512 bytes of V registers straight from the saved FP/SIMD state.
    const PAD: usize = MC_RESERVED - (MC_PSTATE + 8);
    let mut hdr = [0u8; PAD + 16];
    put_u32(&mut hdr, PAD, FPSIMD_MAGIC);
    put_u32(&mut hdr, PAD + 4, FPSIMD_SIZE as u32);
    put_u32(&mut hdr, PAD + 8, fp.fpsr);
    put_u32(&mut hdr, PAD + 12, fp.fpcr);
    trap::copy_to_user(frame_at + MC_PSTATE + 8, &hdr)?;
    let at = MC_RESERVED;
    trap::copy_to_user(frame_at + at + 16, vregs_bytes(fp))?;
    // (5) esr_context for a fault, then the terminator (16 zero bytes).
    let mut tail = [0u8; WRITTEN - MC_RESERVED - FPSIMD_SIZE];
    let mut len = 16;
    if ksig.q.esr != 0 {
        put_u32(&mut tail, 0, ESR_MAGIC);
        put_u32(&mut tail, 4, ESR_SIZE as u32);
        put_u64(&mut tail, 8, ksig.q.esr);
        len += ESR_SIZE;
    }
    trap::copy_to_user(frame_at + at + FPSIMD_SIZE, &tail[..len])?;
    Ok((frame, record))
}

/// The faulting address a fault's frame reports (si_addr of SIGSEGV/SIGBUS), else 0.
fn fault_address(ksig: &KSignal) -> u64 {
    if ksig.q.esr != 0 {
        ksig.q.info.fields[0]
    } else {
        0
    }
}

/// What rt_sigreturn found in the frame besides the registers: the mask and the
/// alternate stack (uc_stack) for the portable kernel to restore.
pub struct RestoredFrame {
    pub mask: u64,
    pub altstack_sp: u64,
    pub altstack_flags: u32,
    pub altstack_size: u64,
}

/// Linux `sys_rt_sigreturn` → `restore_sigframe`: the frame at sp (which must be
/// 16-byte aligned) gives back every register and the FP/SIMD state. A frame that is
/// unreadable, malformed, or whose PSTATE would leave EL0t is refused (the caller
/// sends SIGSEGV); the registers are then left as they are.
pub fn restore_rt_frame(regs: &mut TrapFrame) -> Result<RestoredFrame, BadFrame> {
    let frame = regs.sp as usize;
    if !frame.is_multiple_of(16) {
        return Err(BadFrame);
    }
    // Only what is read back: uc_stack and uc_sigmask (32 bytes), and the registers (272):
    // two copies into small buffers, not the whole 592-byte head.
    let mut uc = [0u8; UC_SIGMASK + 8 - UC_STACK];
    trap::copy_from_user(&mut uc, frame + UC_STACK)?;
    let mut sc = [0u8; SIGCONTEXT_REGS];
    trap::copy_from_user(&mut sc, frame + MC_REGS)?;
    let pstate = get_u64(&sc, MC_PSTATE - MC_REGS);
    if pstate & PSR_PRIVILEGED_BITS != 0 {
        return Err(BadFrame);
    }
    // Read in place: the 528-byte FpState stays where it was built (no Result to move
    // it through), and fpsimd_set_current_state copies it once into the thread.
    let mut fp = FpState::default();
    read_fpsimd_record(frame + MC_RESERVED, &mut fp)?;
    // x0-x30, sp, pc and pstate in one copy (TrapFrame's order is sigcontext's).
    regs_bytes_mut(regs).copy_from_slice(&sc);
    debug_assert_eq!(regs.pc, get_u64(&sc, MC_PC - MC_REGS));
    regs.pstate = pstate & PSR_NZCV;
    // The frame is not a system call to restart.
    regs.syscallno = -1;
    // SAFETY: only the CPU running the thread touches its ThreadStruct.
    let thread = unsafe { &mut *percpu::this_cpu().current_thread() };
    fpsimd::fpsimd_set_current_state(thread, &fp);
    Ok(RestoredFrame {
        mask: get_u64(&uc, UC_SIGMASK - UC_STACK),
        altstack_sp: get_u64(&uc, 0),
        altstack_flags: u32::from_le_bytes(uc[8..12].try_into().unwrap()),
        altstack_size: get_u64(&uc, 16),
    })
}

/// Walks the records of `__reserved` at `at` (Linux `parse_user_sigframe`): the
/// fpsimd_context must be there exactly once with its exact size; esr_context is
/// skipped; anything unknown, misaligned or running past the area is a bad frame. Each
/// record's header is read as one u64; the fpsimd_context's registers are read straight
/// into `fp` (512 bytes, one copy), not byte by byte through a buffer.
fn read_fpsimd_record(start: usize, fp: &mut FpState) -> Result<(), BadFrame> {
    let mut found = false;
    let mut off = 0;
    loop {
        if off + 8 > RESERVED_SIZE {
            return Err(BadFrame);
        }
        let mut hdr = [0u8; 8];
        trap::copy_from_user(&mut hdr, start + off)?;
        let magic = u32::from_le_bytes(hdr[0..4].try_into().unwrap());
        let size = u32::from_le_bytes(hdr[4..8].try_into().unwrap()) as usize;
        if magic == 0 && size == 0 {
            return if found { Ok(()) } else { Err(BadFrame) };
        }
        if size < 8 || !size.is_multiple_of(16) || off + size > RESERVED_SIZE {
            return Err(BadFrame);
        }
        match magic {
            FPSIMD_MAGIC if size == FPSIMD_SIZE && !found => {
                let mut status = [0u8; 8];
                trap::copy_from_user(&mut status, start + off + 8)?;
                fp.fpsr = u32::from_le_bytes(status[0..4].try_into().unwrap());
                fp.fpcr = u32::from_le_bytes(status[4..8].try_into().unwrap());
                trap::copy_from_user(vregs_bytes_mut(fp), start + off + 16)?;
                found = true;
            }
            ESR_MAGIC => {}
            _ => return Err(BadFrame),
        }
        off += size;
    }
}
