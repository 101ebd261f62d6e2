//! Starting a program (Linux fs/exec.c `do_execve` + binfmt_elf): a fresh address space
//! with the ELF loaded and the initial stack built, then the current task's TrapFrame is
//! reset so that returning to user mode enters the program.

use alloc::sync::Arc;

use super::sched::current;
use super::{WaitChan, sched};
use crate::arch::{self, TrapFrame};
use crate::error::{Errno, KResult};
use crate::loader::{self, stack};
use crate::mm::addr_space::{Prot, STACK_SIZE, STACK_TOP, Vma};
use crate::mm::frame::PAGE_SIZE;
use crate::mm::global::Mm;

/// Builds the address space for `image` with `argv`/`envp`; returns (mm, entry, sp).
pub fn build_mm(
    image: &'static [u8],
    argv: &[&str],
    envp: &[&str],
) -> KResult<(Arc<Mm>, usize, usize)> {
    let mm = Mm::new(image)?;
    let (entry, sp) = mm.with(|space, frames| -> KResult<(usize, usize)> {
        let img = loader::elf::load(frames, space, image)?;
        space.insert_vma(Vma {
            start: STACK_TOP - STACK_SIZE,
            end: STACK_TOP,
            prot: Prot::READ | Prot::WRITE,
            shared: false,
        })?;
        let auxv = [
            (stack::AT_PHDR, img.phdr as u64),
            (stack::AT_PHENT, img.phent as u64),
            (stack::AT_PHNUM, img.phnum as u64),
            (stack::AT_PAGESZ, PAGE_SIZE as u64),
            (stack::AT_ENTRY, img.entry as u64),
            (stack::AT_UID, 0),
            (stack::AT_EUID, 0),
            (stack::AT_GID, 0),
            (stack::AT_EGID, 0),
            (stack::AT_HWCAP, 0),
            (stack::AT_CLKTCK, 100),
            (stack::AT_SECURE, 0),
        ];
        let seed = crate::arch::timer::counter().to_le_bytes();
        let mut random = [0u8; 16];
        random[..8].copy_from_slice(&seed);
        random[8..].copy_from_slice(&(img.entry as u64 ^ 0x9e37_79b9_7f4a_7c15).to_le_bytes());
        let (sp, bytes) = stack::build(STACK_TOP, argv, envp, &auxv, random);
        space.write_bytes(frames, sp, &bytes)?;
        Ok((img.entry, sp))
    })?;
    Ok((mm, entry, sp))
}

/// Replaces the current task's program with `path` from the initrd.
pub fn exec_current(
    frame: &mut TrapFrame,
    path: &str,
    argv: &[&str],
    envp: &[&str],
) -> KResult<()> {
    let image = crate::initrd::find(path).ok_or(Errno::ENOENT)?;
    // The new address space's bookkeeping (VMAs, the Mm) comes from the heap.
    crate::mm::heap::reserve(32 << 10)?;
    let (mm, entry, sp) = build_mm(image, argv, envp)?;
    let cur = current();
    // Point of no return: swap the address space.
    arch::mmu::switch_ttbr0(mm.ttbr());
    let (old, vfork_parent) = {
        let mut inner = cur.inner.lock();
        inner.name = alloc::string::String::from(path.rsplit('/').next().unwrap_or(path));
        (inner.mm.replace(mm), inner.vfork_parent.take())
    };
    drop(old);
    if vfork_parent.is_some() {
        sched::wakeup(WaitChan::Vfork(cur.tid)); // exec releases a vfork parent
    }
    frame.start_thread(entry, sp);
    // SAFETY: the current task's own ThreadStruct, used only by this CPU.
    arch::fpsimd::fpsimd_flush_thread(unsafe { &mut *cur.thread_ptr() });
    Ok(())
}
