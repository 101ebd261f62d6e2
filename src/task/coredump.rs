//! Core dumps (Linux fs/coredump.c `do_coredump`, fs/binfmt_elf.c `elf_core_dump`): when
//! a signal whose default action is "core" kills a process, the kernel writes an ELF
//! file named `core` into the process's current directory (Linux's core_pattern
//! "core") and the wait status gets the WCOREDUMP bit, 0x80. gdb reads the file
//! together with the program: `gdb PROG core` shows where it died.
//!
//! When (Linux's rules, in its order):
//! 1. The group's death is claimed first (`coredump_wait` → `zap_threads`): the other
//!    threads are killed with the signal's status. If the group is already dying
//!    (exit_group, another fatal signal, a dump in another thread) or a thread is in
//!    execve, nothing is dumped.
//! 2. RLIMIT_CORE below one page (the default is 0) means no dump.
//! 3. An existing `core` is unlinked first, then a new one is made as O_CREAT|O_EXCL
//!    would, mode 0600 less the umask: a symlink named core is replaced, never followed;
//!    a hard link to another file never leads the dump there; a directory named core
//!    stays and there is no dump. Linux also refuses a file whose mode came out other
//!    than 0600 (a umask taking the owner's bits).
//! 4. Once the file exists the dump counts as written — the bit is set — even if the
//!    limit, the file system's space (ENOSPC) or a SIGKILL cuts the file short, as
//!    Linux's `has_dumped` does. A SIGKILL during the dump takes the bit away again
//!    (`coredump_finish`).
//!
//! The file (ELF64, ET_CORE, EM_AARCH64), as `elf_core_dump` lays it out:
//!
//! ```text
//!   ELF header | PT_NOTE phdr | one PT_LOAD phdr per VMA | notes | pad to 4096 | memory
//! ```
//!
//! The notes, all named "CORE": NT_PRSTATUS (`struct elf_prstatus`, 392 bytes: the
//! signal, pids, signal masks, then `pr_reg` = arm64's `user_pt_regs`: x0-x30, sp, pc,
//! pstate, taken from the TrapFrame at the top of the kernel stack), NT_PRPSINFO
//! (`struct elf_prpsinfo`, 136 bytes: state, pids, the comm) and NT_FPREGSET
//! (`struct user_fpsimd_state`, 528 bytes: v0-v31, fpsr, fpcr). Linux adds NT_SIGINFO,
//! NT_AUXV, NT_FILE and the arm64 regsets (TLS, hardware breakpoints...); gdb needs
//! none of them for a static program's registers and backtrace, so they are left out.
//!
//! Which memory (Linux `vma_dump_size` with the default coredump_filter 0x33): each VMA
//! gets a PT_LOAD whose p_memsz is its size and whose p_filesz says how much of it the
//! file holds — the rest gdb takes from the program file, or reads as absent:
//! * not readable (PROT_NONE guards, reservations): nothing;
//! * the vDSO: all of it (`always_dump_vma`);
//! * shared anonymous memory: all; a shared file mapping: nothing (the file has it);
//! * private anonymous memory, and a private *writable* file mapping (.data): from
//!   the first to the last page present in the page table. Linux dumps such a VMA in
//!   full once it has an `anon_vma` (a page was ever faulted in) and nothing otherwise;
//!   keeping to the present pages makes the file, and the time spent, proportional to
//!   memory really used, whatever size a mapping claims. The stack is the case in
//!   point: its VMA here is RLIMIT_STACK-sized from exec on, where Linux's reaches down
//!   only as far as the stack was used — the PT_LOAD starting at the first present
//!   page gives the same view. Absent pages in between are zeros for anonymous memory
//!   (a hole in the file, as Linux's `dump_skip`) and the file's bytes for a file
//!   mapping (read through `copy_from_user`, which faults them in);
//! * a private read-only file mapping (text, rodata, RELRO): only its first page, if
//!   it maps the start of an ELF file — what tells a debugger which file was mapped
//!   (Linux's ELF_HEADERS filter). Linux also dumps RELRO data that was written
//!   before mprotect made it read-only; here it comes from the program file.
//!
//! The ELF loader copies a program's segments into anonymous memory (they are not file
//! mappings here), so its text and rodata are dumped in full: a bigger file than
//! Linux's, the same bytes for gdb.
//!
//! Present pages are copied straight from their frames under the address-space lock
//! (`AddressSpace::read_bytes`), one page at a time through one heap buffer; nothing
//! else is allocated per page. RLIMIT_CORE bounds the bytes written (holes are free, as
//! on Linux); a SIGKILL ends the dump between pages (`dump_interrupted`); the CPU is
//! given up every MiB, since the kernel is not preemptible.
//!
//! Only the thread that took the signal is dumped: Linux waits for the other threads
//! to stop and writes one NT_PRSTATUS (and NT_FPREGSET) for each. Here they are only
//! told to die, and may still run for an instant while memory is copied.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::exit::{killed_status, zap_other_threads};
use super::rlimit::RLIMIT_CORE;
use super::sched::{current, yield_now};
use crate::fs::file::{KernelSrc, write_regular};
use crate::fs::inode::{Inode, Kind, S_IFREG};
use crate::fs::tmpfs;
use crate::mm::addr_space::{AddressSpace, Prot, Vma};
use crate::mm::frame::PAGE_SIZE;
use crate::mm::global::Mm;
use crate::mm::uaccess::copy_from_user;

/// WCOREDUMP: the wait status's "core dumped" bit.
pub const WCOREFLAG: u32 = 0x80;

// ELF constants (include/uapi/linux/elf.h, elf-em.h).
const ET_CORE: u16 = 4;
const EM_AARCH64: u16 = 183;
const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const PF_R: u32 = 4;
const NT_PRSTATUS: u32 = 1;
const NT_FPREGSET: u32 = 2;
const NT_PRPSINFO: u32 = 3;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// arm64's `sizeof(struct elf_prstatus)`, `struct elf_prpsinfo`, `user_fpsimd_state`.
const PRSTATUS_SIZE: usize = 392;
const PRPSINFO_SIZE: usize = 136;
const FPREGSET_SIZE: usize = 528;
/// ELF_EXEC_PAGESIZE: the memory starts at this alignment, and no smaller limit allows
/// a dump (Linux `elf_format.min_coredump`).
const ELF_EXEC_PAGESIZE: usize = 4096;
/// e_phnum is 16 bits; Linux switches to extended numbering (PN_XNUM) beyond. With
/// vm.max_map_count at 65,530 that never happens here; VMAs past it would be left out.
const MAX_PHNUM: usize = 0xfffe;
/// Pages copied between two `yield_now`s (1 MiB).
const PAGES_PER_YIELD: usize = 256;

/// Linux `do_coredump`, for the signal `sig` that is killing the calling thread's
/// process. Returns whether a core file was written: the caller then adds WCOREFLAG to
/// the exit status (it is already in the group's status).
pub fn do_coredump(sig: u32) -> bool {
    let cur = current();
    let signal = cur.inner.lock().signal.clone();
    // coredump_wait → zap_threads: this death becomes the group's, the others die.
    {
        let mut s = signal.inner.lock();
        if s.group_exit.is_some() || s.group_exec_task.is_some() {
            return false;
        }
        s.group_exit = Some(killed_status(sig));
    }
    zap_other_threads(cur.tgid, cur.tid);

    if cur.rlimit(RLIMIT_CORE).cur < ELF_EXEC_PAGESIZE as u64 {
        return false;
    }
    let Some(mm) = cur.mm() else {
        return false;
    };
    let Ok(inode) = create_core_file() else {
        return false;
    };
    if inode.get_write_access().is_err() {
        return false;
    }
    elf_core_dump(&inode, &mm, sig);
    inode.put_write_access();

    // coredump_finish: a SIGKILL meanwhile (which cut the dump short) takes the bit.
    if cur.kill_pending.load(Ordering::Relaxed) {
        return false;
    }
    let mut s = signal.inner.lock();
    s.group_exit = Some(killed_status(sig) | WCOREFLAG);
    true
}

/// Makes a new, empty `core` in the current directory (rule 3 of the module comment).
fn create_core_file() -> crate::error::KResult<Arc<Inode>> {
    let fs = current()
        .inner
        .lock()
        .fs
        .clone()
        .ok_or(crate::error::Errno::EINVAL)?;
    let (cwd, umask) = {
        let f = fs.lock();
        (f.cwd.clone(), f.umask)
    };
    let perm = 0o600 & !umask;
    let (removed, created) = {
        let _ns = tmpfs::lock();
        // Linux `do_unlinkat` first: fails harmlessly if there is none, or a directory.
        let removed = tmpfs::remove(&cwd, b"core", false).ok();
        let created = tmpfs::create(&cwd, b"core", |dir| {
            Inode::new(&dir.sb, S_IFREG | perm, Kind::Regular)
        });
        (removed, created)
    };
    drop(removed); // its last reference frees its pages, with no lock held
    let inode = created?;
    if perm & 0o677 != 0o600 {
        return Err(crate::error::Errno::EACCES);
    }
    Ok(inode)
}

/// What is dumped of one VMA (Linux `struct core_vma_metadata`).
#[derive(Clone, Copy)]
struct VmaMeta {
    vma: Vma,
    /// Where the PT_LOAD starts (p_vaddr): the VMA's start, or its first present page.
    start: usize,
    /// Bytes from `start` that the file holds (p_filesz).
    dump_size: usize,
    /// A file is mapped: its absent pages are read from it (faulted in), not zeros.
    file: bool,
}

/// A candidate for the ELF_HEADERS rule: the first page if it starts with "\x7fELF".
const HEADER_ONLY: usize = usize::MAX;

/// Linux `vma_dump_size` (see the module comment): what to dump of `vma`, with
/// `dump_size` HEADER_ONLY when the answer needs the first bytes, which cannot be read
/// under the address-space lock.
fn vma_dump_size(space: &AddressSpace, vma: Vma) -> VmaMeta {
    let file = space.vma_file(vma.start);
    let whole = |dump_size| VmaMeta {
        vma,
        start: vma.start,
        dump_size,
        file: file.is_some(),
    };
    if !vma.prot.contains(Prot::READ) {
        return whole(0);
    }
    if space.vdso_base != 0 && vma.start == space.vdso_base {
        return whole(vma.end - vma.start);
    }
    if vma.shared {
        return whole(if file.is_some() {
            0
        } else {
            vma.end - vma.start
        });
    }
    if let Some((_, pgoff)) = &file
        && !vma.prot.contains(Prot::WRITE)
    {
        return whole(if *pgoff == 0 { HEADER_ONLY } else { 0 });
    }
    // Private memory: from the first to the last present page.
    let mut present: Option<(usize, usize)> = None;
    crate::mm::walk::for_each_leaf(space.pt.root_table(), vma.start, vma.end, |slot| {
        present = Some((present.map_or(slot.va, |p| p.0), slot.va));
    });
    match present {
        None => whole(0),
        Some((first, last)) => VmaMeta {
            start: first,
            dump_size: (last + PAGE_SIZE).min(vma.end) - first,
            ..whole(0)
        },
    }
}

/// The VMAs and what to dump of each (Linux `dump_vma_snapshot`); None if memory for
/// the list is short.
fn vma_snapshot(mm: &Mm) -> Option<Vec<VmaMeta>> {
    let n = mm.with(|s, _| s.map_count()).min(MAX_PHNUM - 1);
    let mut metas = Vec::new();
    metas.try_reserve_exact(n).ok()?;
    mm.with(|s, _| {
        // Within the capacity: no allocation under the lock. A VMA another (dying)
        // thread added meanwhile is left out.
        for vma in s.vmas().take(n) {
            metas.push(vma_dump_size(s, vma));
        }
    });
    for m in metas.iter_mut().filter(|m| m.dump_size == HEADER_ONLY) {
        let mut magic = [0u8; 4];
        let elf = copy_from_user(&mut magic, m.vma.start).is_ok() && magic == *b"\x7fELF";
        m.dump_size = if elf {
            PAGE_SIZE.min(m.vma.end - m.vma.start)
        } else {
            0
        };
    }
    Some(metas)
}

/// Writes the core file, stopping at the first write that fails or would pass the
/// limit (Linux `dump_emit`): the bytes up to there stay.
struct CoreWriter<'a> {
    inode: &'a Inode,
    /// Where the next byte goes; past the end of the file after a skip.
    pos: u64,
    /// Bytes written (not skipped), against RLIMIT_CORE.
    written: u64,
    limit: u64,
}

impl CoreWriter<'_> {
    /// Linux `dump_emit`: false when the dump must end.
    fn emit(&mut self, data: &[u8]) -> bool {
        if self.written.saturating_add(data.len() as u64) > self.limit
            || current().kill_pending.load(Ordering::Relaxed)
        {
            return false;
        }
        let _w = self.inode.rw.lock();
        let mut src = KernelSrc { data, pos: 0 };
        match write_regular(self.inode, self.pos, &mut src) {
            Ok(n) if n == data.len() => {
                self.pos += n as u64;
                self.written += n as u64;
                true
            }
            _ => false, // ENOSPC, EFBIG, a partial write
        }
    }

    /// Linux `dump_skip`: a hole, which reads as zeros and takes no space.
    fn skip(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n as u64);
    }

    /// Linux `dump_skip_to`.
    fn skip_to(&mut self, pos: u64) {
        self.pos = self.pos.max(pos);
    }

    /// A dump that ends in a hole still has the file's full size: its last byte is
    /// written (as Linux does after `binfmt->core_dump`).
    fn finish(&mut self) {
        if self.pos > self.inode.size() {
            self.pos -= 1;
            self.emit(&[0]);
        }
    }
}

/// Linux `elf_core_dump`: the headers, the notes, then each VMA's pages.
fn elf_core_dump(inode: &Inode, mm: &Mm, sig: u32) {
    let mut w = CoreWriter {
        inode,
        pos: 0,
        written: 0,
        limit: current().rlimit(RLIMIT_CORE).cur,
    };
    let Some(metas) = vma_snapshot(mm) else {
        return;
    };
    let Some(notes) = fill_notes(sig) else {
        return;
    };
    let phnum = metas.len() + 1;
    let notes_at = EHDR_SIZE + phnum * PHDR_SIZE;
    let data_at = (notes_at + notes.len()).next_multiple_of(ELF_EXEC_PAGESIZE);

    if !w.emit(&elf_header(phnum as u16)) {
        return;
    }
    let note_phdr = phdr(PT_NOTE, 0, notes_at, 0, notes.len(), 0, 0); // p_align 0, as 6.1
    if !w.emit(&note_phdr) {
        return;
    }
    let mut offset = data_at;
    for m in &metas {
        let v = &m.vma;
        let flags = [(Prot::READ, PF_R), (Prot::WRITE, PF_W), (Prot::EXEC, PF_X)]
            .iter()
            .filter(|(p, _)| v.prot.contains(*p))
            .fold(0, |f, (_, pf)| f | pf);
        let h = phdr(
            PT_LOAD,
            flags,
            offset,
            m.start,
            m.dump_size,
            v.end - m.start,
            ELF_EXEC_PAGESIZE,
        );
        if !w.emit(&h) {
            return;
        }
        offset += m.dump_size;
    }
    if !w.emit(&notes) {
        return;
    }
    w.skip_to(data_at as u64);
    if dump_memory(&mut w, mm, &metas) {
        w.finish();
    }
}

/// Linux `dump_user_range` for each VMA: present pages from their frames, absent ones
/// as holes or (file mappings) faulted in. False when the dump ended early.
fn dump_memory(w: &mut CoreWriter, mm: &Mm, metas: &[VmaMeta]) -> bool {
    let mut page = Vec::new();
    if page.try_reserve_exact(PAGE_SIZE).is_err() {
        return false;
    }
    page.resize(PAGE_SIZE, 0u8);
    let mut copied = 0;
    for m in metas {
        let start = m.start;
        for va in (start..start + m.dump_size).step_by(PAGE_SIZE) {
            let n = PAGE_SIZE.min(start + m.dump_size - va);
            let buf = &mut page[..n];
            let present = mm.with(|s, _| s.read_bytes(va, buf).is_ok());
            // uaccess only outside `Mm::with`: a fault takes the same lock.
            let ok = present || (m.file && copy_from_user(buf, va).is_ok());
            if ok {
                if !w.emit(buf) {
                    return false;
                }
            } else {
                w.skip(n);
            }
            copied += 1;
            if copied % PAGES_PER_YIELD == 0 {
                yield_now();
            }
        }
    }
    true
}

fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// `Elf64_Ehdr` of a core file (Linux `fill_elf_header`).
fn elf_header(phnum: u16) -> [u8; EHDR_SIZE] {
    let mut h = [0u8; EHDR_SIZE];
    // e_ident: magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT, ELFOSABI_NONE.
    h[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    put_u16(&mut h, 16, ET_CORE); // e_type
    put_u16(&mut h, 18, EM_AARCH64); // e_machine
    put_u32(&mut h, 20, 1); // e_version
    put_u64(&mut h, 32, EHDR_SIZE as u64); // e_phoff: right after this header
    put_u16(&mut h, 52, EHDR_SIZE as u16); // e_ehsize
    put_u16(&mut h, 54, PHDR_SIZE as u16); // e_phentsize
    put_u16(&mut h, 56, phnum); // e_phnum
    h
}

/// One `Elf64_Phdr`.
fn phdr(
    ty: u32,
    flags: u32,
    offset: usize,
    vaddr: usize,
    filesz: usize,
    memsz: usize,
    align: usize,
) -> [u8; PHDR_SIZE] {
    let mut h = [0u8; PHDR_SIZE];
    put_u32(&mut h, 0, ty);
    put_u32(&mut h, 4, flags);
    put_u64(&mut h, 8, offset as u64);
    put_u64(&mut h, 16, vaddr as u64); // p_vaddr (p_paddr stays 0)
    put_u64(&mut h, 32, filesz as u64);
    put_u64(&mut h, 40, memsz as u64);
    put_u64(&mut h, 48, align as u64);
    h
}

/// Bytes of one note: header, name and descriptor, each padded to 4 bytes.
fn note_size(desc: usize) -> usize {
    12 + 8 + desc.next_multiple_of(4) // "CORE\0" pads to 8
}

/// Appends a "CORE" note (`Elf64_Nhdr`, name, descriptor); `out` has the room.
fn push_note(out: &mut Vec<u8>, ty: u32, desc: &[u8]) {
    let mut h = [0u8; 12];
    put_u32(&mut h, 0, 5); // n_namesz: "CORE" and its NUL
    put_u32(&mut h, 4, desc.len() as u32);
    put_u32(&mut h, 8, ty);
    out.extend_from_slice(&h);
    out.extend_from_slice(b"CORE\0\0\0\0");
    out.extend_from_slice(desc);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// The notes of the calling thread (Linux `fill_note_info`, `fill_prstatus`,
/// `fill_psinfo`): NT_PRSTATUS, NT_PRPSINFO, NT_FPREGSET. None if memory is short.
fn fill_notes(sig: u32) -> Option<Vec<u8>> {
    let cur = current();
    let (comm, ppid, pending, blocked, pgid, sid) = {
        let inner = cur.inner.lock();
        let s = inner.signal.inner.lock();
        let mut comm = [0u8; 16]; // TASK_COMM_LEN, NUL-terminated
        let n = inner.name.len().min(15);
        comm[..n].copy_from_slice(&inner.name.as_bytes()[..n]);
        (
            comm,
            inner.parent,
            inner.pending.set,
            inner.blocked,
            s.pgid,
            s.sid,
        )
    };

    // struct elf_prstatus: elf_siginfo (signo, code, errno), pr_cursig, pr_sigpend,
    // pr_sighold, pr_pid, pr_ppid, pr_pgrp, pr_sid, four timevals (left 0), pr_reg,
    // pr_fpvalid.
    let mut prstatus = [0u8; PRSTATUS_SIZE];
    put_u32(&mut prstatus, 0, sig); // pr_info.si_signo
    put_u16(&mut prstatus, 12, sig as u16); // pr_cursig
    put_u64(&mut prstatus, 16, pending);
    put_u64(&mut prstatus, 24, blocked);
    put_u32(&mut prstatus, 32, cur.tid); // the thread (Linux task_pid_vnr)
    put_u32(&mut prstatus, 36, ppid);
    put_u32(&mut prstatus, 40, pgid);
    put_u32(&mut prstatus, 44, sid);
    // SAFETY: the TrapFrame at the top of our own kernel stack holds our user registers
    // as the exception saved them; only this thread touches it while it runs.
    let regs = unsafe { &*crate::arch::trap_frame_at(cur.kstack_top()) }.user_pt_regs();
    for (i, r) in regs.iter().enumerate() {
        put_u64(&mut prstatus, 112 + i * 8, *r);
    }
    put_u32(&mut prstatus, 384, 1); // pr_fpvalid: NT_FPREGSET follows

    // struct elf_prpsinfo: pr_state 0 and pr_sname 'R' (running: it is dumping),
    // pr_zomb, pr_nice, pr_flag, uid and gid 0 (root), pids, fname, psargs.
    let mut prpsinfo = [0u8; PRPSINFO_SIZE];
    prpsinfo[1] = b'R';
    put_u32(&mut prpsinfo, 24, cur.tgid);
    put_u32(&mut prpsinfo, 28, ppid);
    put_u32(&mut prpsinfo, 32, pgid);
    put_u32(&mut prpsinfo, 36, sid);
    prpsinfo[40..56].copy_from_slice(&comm);
    // pr_psargs: Linux copies the command line from the stack (mm->arg_start); the
    // kernel does not record where it is (only /proc's cmdline reader looks for it),
    // so the comm stands in for it.
    prpsinfo[56..72].copy_from_slice(&comm);

    // SAFETY: the calling thread's own ThreadStruct, touched only by the CPU running it.
    let fpregs = crate::arch::fpsimd::user_fpsimd_state(unsafe { &mut *cur.thread_ptr() });

    let total = note_size(PRSTATUS_SIZE) + note_size(PRPSINFO_SIZE) + note_size(FPREGSET_SIZE);
    let mut notes = Vec::new();
    notes.try_reserve_exact(total).ok()?;
    push_note(&mut notes, NT_PRSTATUS, &prstatus);
    push_note(&mut notes, NT_PRPSINFO, &prpsinfo);
    push_note(&mut notes, NT_FPREGSET, &fpregs);
    debug_assert_eq!(notes.len(), total);
    Some(notes)
}
