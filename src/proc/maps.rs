//! /proc/PID/maps (Linux fs/proc/task_mmu.c `show_map_vma`, `m_start`): one line per
//! VMA, with the file it maps, or "[heap]" / "[stack]".
//!
//! Which file a VMA maps: a file mmap records it in the address space (`vma_file`). The
//! executable's segments do not: the ELF loader copies them into anonymous memory
//! (loader/elf.rs), where Linux maps the file. So that maps reads as Linux's (ps, gdb and
//! the libcs look for the executable's lines), a VMA without a file that holds a part of
//! a PT_LOAD segment backed by the file is shown as a mapping of the executable, at the
//! offset Linux would map it from. (A program that unmapped its text and mapped
//! something else there would see its new memory named after the executable.)

use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};

use super::format::{self, MapLine, MapName, Window};
use crate::error::KResult;
use crate::fs::{File, Sink};
use crate::mm::addr_space::{Prot, STACK_TOP, Vma};
use crate::mm::frame::PAGE_SIZE;
use crate::mm::global::Mm;
use crate::mm::vm_file::VmFile;

/// The VMA holding the initial stack (Linux: the one containing `mm->start_stack`).
pub fn is_stack(v: &Vma) -> bool {
    v.start < STACK_TOP && STACK_TOP <= v.end
}

/// Where a sequential reader of maps left off (Linux `m_start`, which resumes at the
/// address the last read stopped at): the text offset of the line the next read begins
/// in, and that VMA's start, packed as `offset << 36 | start >> 12` (0: from the
/// beginning). Without it each read of a large maps would format every line before its
/// offset again. A node is made at each lookup, so each open() has its own, as each
/// Linux `seq_file` has its own position.
pub struct MapsResume(AtomicU64);

impl MapsResume {
    /// Text offsets that fit beside a 36-bit page number.
    const MAX_POS: u64 = 1 << 28;

    pub const fn new() -> MapsResume {
        MapsResume(AtomicU64::new(0))
    }

    /// Where to start for a read at `off`: (text offset, address).
    fn get(&self, off: u64) -> (u64, usize) {
        let v = self.0.load(Ordering::Relaxed);
        let (pos, start) = (v >> 36, ((v & ((1 << 36) - 1)) << 12) as usize);
        if pos <= off { (pos, start) } else { (0, 0) }
    }

    fn set(&self, pos: u64, start: usize) {
        let v = if pos < Self::MAX_POS {
            pos << 36 | (start as u64 >> 12)
        } else {
            0
        };
        self.0.store(v, Ordering::Relaxed);
    }
}

/// The most PT_LOAD segments of the executable that are looked at (static programs
/// have two to four).
const MAX_SEGMENTS: usize = 8;

/// The executable and the parts of it its PT_LOAD segments map: [start, end) backed by
/// the file from `offset` (page-aligned, as Linux's `elf_map` maps them).
struct ExeImage<'a> {
    file: &'a File,
    segments: [(usize, usize, u64); MAX_SEGMENTS],
    n: usize,
}

impl<'a> ExeImage<'a> {
    /// Reads the ELF and program headers of `file` (a static ELF64 executable, which is
    /// all exec loads); None if they cannot be read.
    fn read(file: &'a File) -> Option<ExeImage<'a>> {
        let mut eh = [0u8; 64];
        if file.read_at(0, &mut eh).ok()? < eh.len() || eh[..4] != *b"\x7fELF" {
            return None;
        }
        let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as usize;
        let u64_at = |b: &[u8], i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap());
        let (phoff, phentsize, phnum) = (u64_at(&eh, 0x20), u16_at(&eh, 0x36), u16_at(&eh, 0x38));
        if phentsize < 56 {
            return None;
        }
        let mut image = ExeImage {
            file,
            segments: [(0, 0, 0); MAX_SEGMENTS],
            n: 0,
        };
        let mut ph = [0u8; 56];
        for i in 0..phnum.min(32) {
            let at = phoff.checked_add((i * phentsize) as u64)?;
            if file.read_at(at, &mut ph).ok()? < ph.len() {
                return None;
            }
            const PT_LOAD: u32 = 1;
            let p_type = u32::from_le_bytes(ph[0..4].try_into().unwrap());
            let (offset, vaddr, filesz) =
                (u64_at(&ph, 8), u64_at(&ph, 16) as usize, u64_at(&ph, 32));
            if p_type != PT_LOAD || filesz == 0 || image.n == MAX_SEGMENTS {
                continue;
            }
            let page = PAGE_SIZE - 1;
            let start = vaddr & !page;
            let end = vaddr.checked_add(filesz as usize)?.checked_add(page)? & !page;
            image.segments[image.n] = (start, end, offset & !(page as u64));
            image.n += 1;
        }
        Some(image)
    }

    /// The file offset VMA `v` would be mapped from, if it lies in a file-backed part of
    /// a segment.
    fn offset_of(&self, v: &Vma) -> Option<u64> {
        self.segments[..self.n]
            .iter()
            .find(|&&(start, end, _)| start <= v.start && v.start < end)
            .map(|&(start, _, offset)| offset + (v.start - start) as u64)
    }
}

/// A read of maps at `off`.
pub fn read(mm: &Mm, resume: &MapsResume, off: u64, dst: &mut dyn Sink) -> KResult<usize> {
    // The executable's headers are read first: reading a file takes its inode's lock,
    // which comes after the address space's (sync/mod.rs) but must not be held long.
    let exe: Option<Arc<dyn VmFile>> = mm.exe.clone();
    let image = exe
        .as_ref()
        .and_then(|f| f.as_any().downcast_ref::<File>())
        .and_then(ExeImage::read);
    let (pos, from) = resume.get(off);
    let mut w = Window::resume(pos, off, dst.remaining())?;
    lines(mm, image.as_ref(), &mut w, resume, from);
    let text = w.bytes();
    if !text.is_empty() {
        dst.write_from(text)?;
    }
    Ok(text.len())
}

/// Formats the lines from the VMA at or above address `from`, under the address space's
/// lock: the window's buffer was reserved beforehand, so nothing here allocates, and the
/// walk stops once the read has its bytes (at most READ_CAP: some hundreds of lines;
/// Linux formats a page at a time).
fn lines(mm: &Mm, image: Option<&ExeImage>, w: &mut Window, resume: &MapsResume, from: usize) {
    mm.with(|space, _| {
        let (start_brk, brk) = (space.brk_start, space.brk);
        for v in space.vmas().filter(|v| v.start >= from) {
            let line_start = w.pos();
            if w.is_full() {
                resume.set(line_start, v.start);
                return;
            }
            // The space keeps its own reference to the file: ours is never the last,
            // so dropping it here, under the lock, frees nothing.
            let mapped = space.vma_file(v.start);
            let mut line = MapLine {
                start: v.start,
                end: v.end,
                read: v.prot.contains(Prot::READ),
                write: v.prot.contains(Prot::WRITE),
                exec: v.prot.contains(Prot::EXEC),
                shared: v.shared,
                offset: 0,
                dev: 0,
                ino: 0,
                name: MapName::None,
            };
            // The file, and where in it the VMA starts.
            let file: Option<(Option<&File>, u64)> = match &mapped {
                Some((f, pgoff)) => Some((
                    f.as_any().downcast_ref::<File>(),
                    (*pgoff * PAGE_SIZE) as u64,
                )),
                None if !v.shared => image.and_then(|i| Some((Some(i.file), i.offset_of(&v)?))),
                None => None,
            };
            match file {
                Some((file, offset)) => {
                    line.offset = offset;
                    if let Some(file) = file {
                        if let Some(inode) = file.inode() {
                            line.dev = inode.sb.dev;
                            line.ino = inode.ino;
                        }
                        line.name = MapName::Path(&file.path);
                    }
                }
                // Linux's test, which also names a region ending where the heap starts.
                None if start_brk != 0 && v.start <= brk && v.end >= start_brk => {
                    line.name = MapName::Special("[heap]");
                }
                None if is_stack(&v) => line.name = MapName::Special("[stack]"),
                None => {}
            }
            // The vDSO's pages (Linux: the `vm_special_mapping`'s name).
            if let Some(name) = mapped
                .as_ref()
                .and_then(|(f, _)| crate::vdso::special_name(&**f))
            {
                line.name = MapName::Special(name);
            }
            if format::map_line(w, &line).is_err() {
                // The window filled inside this line: the next read starts with it.
                resume.set(line_start, v.start);
                return;
            }
        }
        // The end: a read from here on finds nothing left.
        resume.set(w.pos(), usize::MAX);
    });
}
