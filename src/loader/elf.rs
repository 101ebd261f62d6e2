//! Loading a static AArch64 ELF executable into a fresh address space (Linux:
//! fs/binfmt_elf.c `load_elf_binary`). Parsing is done by the `elf` crate; what is the
//! subject of the course — turning PT_LOAD segments into VMAs and pages — is here.

use elf::ElfBytes;
use elf::abi::{EM_AARCH64, ET_EXEC, PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD, PT_PHDR};
use elf::endian::LittleEndian;

use crate::error::{Errno, KResult};
use crate::mm::addr_space::{AddressSpace, Prot, Vma, page_down, page_up};
use crate::mm::frame::FrameAllocator;
use crate::mm::pagetable::USER_TOP;

/// Where the image ended up, for the auxiliary vector and brk.
#[derive(Debug, PartialEq, Eq)]
pub struct LoadedImage {
    pub entry: usize,
    pub phdr: usize,
    pub phnum: usize,
    pub phent: usize,
    /// First page after the highest segment: the start of the heap (brk).
    pub brk: usize,
}

fn prot_of(p_flags: u32) -> Prot {
    let mut prot = Prot::empty();
    prot.set(Prot::READ, p_flags & PF_R != 0);
    prot.set(Prot::WRITE, p_flags & PF_W != 0);
    prot.set(Prot::EXEC, p_flags & PF_X != 0);
    prot
}

/// Where an executable's bytes come from: a file in the page cache, or (tests) a slice.
pub trait ElfSource {
    /// Reads up to `buf.len()` bytes at `off`; returns how many there were.
    fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<usize>;
}

impl ElfSource for [u8] {
    fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<usize> {
        let data = self.get(off as usize..).unwrap_or(&[]);
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

/// The most bytes of program headers read (Linux `load_elf_phdrs`: 64 KiB).
const MAX_PHDRS_BYTES: usize = 65536;
/// Bytes copied from the file to the new address space at a time.
const COPY_CHUNK: usize = 4096;

/// The ELF header and program headers of `src`, in a buffer of their own: the parser
/// gets only these (the section headers, for linkers and debuggers, are not read).
fn read_headers<S: ElfSource + ?Sized>(src: &S) -> KResult<alloc::vec::Vec<u8>> {
    let mut ehdr = [0u8; 64];
    if src.read_at(0, &mut ehdr)? < 64 {
        return Err(Errno::ENOEXEC);
    }
    let phoff = u64::from_le_bytes(ehdr[32..40].try_into().map_err(|_| Errno::ENOEXEC)?) as usize;
    let phentsize = u16::from_le_bytes([ehdr[54], ehdr[55]]) as usize;
    let phnum = u16::from_le_bytes([ehdr[56], ehdr[57]]) as usize;
    let need = phoff
        .checked_add(phentsize * phnum)
        .filter(|&n| phentsize * phnum <= MAX_PHDRS_BYTES && n <= MAX_PHDRS_BYTES + 64)
        .ok_or(Errno::ENOEXEC)?
        .max(64);
    let mut buf = alloc::vec::Vec::new();
    buf.try_reserve_exact(need).map_err(|_| Errno::ENOMEM)?;
    buf.resize(need, 0);
    if src.read_at(0, &mut buf)? < need {
        return Err(Errno::ENOEXEC);
    }
    // No section headers: e_shoff, e_shnum and e_shstrndx zeroed in our copy.
    buf[40..48].fill(0);
    buf[60..64].fill(0);
    Ok(buf)
}

/// Maps every PT_LOAD segment of the executable `src` into `space` (which must be
/// empty), copying the file's bytes into fresh pages.
pub fn load(
    frames: &FrameAllocator,
    space: &mut AddressSpace,
    src: &(impl ElfSource + ?Sized),
) -> KResult<LoadedImage> {
    let headers = read_headers(src)?;
    let file = ElfBytes::<LittleEndian>::minimal_parse(&headers).map_err(|_| Errno::ENOEXEC)?;
    let ehdr = file.ehdr;
    if ehdr.e_machine != EM_AARCH64 || ehdr.e_type != ET_EXEC {
        return Err(Errno::ENOEXEC); // only static, non-PIE AArch64 executables
    }
    let segments = file.segments().ok_or(Errno::ENOEXEC)?;
    let mut phdr = None;
    let mut brk = 0;
    for seg in segments.iter() {
        match seg.p_type {
            PT_INTERP => return Err(Errno::ENOEXEC), // dynamically linked
            PT_PHDR => phdr = Some(seg.p_vaddr as usize),
            PT_LOAD if seg.p_memsz > 0 => {
                let (vaddr, memsz, filesz) = (
                    seg.p_vaddr as usize,
                    seg.p_memsz as usize,
                    seg.p_filesz as usize,
                );
                let end = vaddr
                    .checked_add(memsz)
                    .filter(|&e| e <= USER_TOP)
                    .ok_or(Errno::ENOEXEC)?;
                if filesz > memsz {
                    return Err(Errno::ENOEXEC);
                }
                let start = page_down(vaddr);
                let end = page_up(end).ok_or(Errno::ENOEXEC)?;
                if seg.p_offset == 0 && phdr.is_none() {
                    phdr = Some(vaddr + ehdr.e_phoff as usize);
                }
                // Segments may share a page (text end / data start): widen the first VMA.
                let prot = prot_of(seg.p_flags);
                match space.find_vma(start) {
                    Some(v) => space.widen_vma(frames, v.start, end.max(v.end), v.prot | prot)?,
                    None => space.insert_vma(Vma {
                        start,
                        end,
                        prot,
                        shared: false,
                    })?,
                }
                // A bss-only segment (p_filesz = 0) reads nothing from the file, so its
                // p_offset need not lie inside it (Linux maps no file pages for it).
                copy_segment(frames, space, src, seg.p_offset, vaddr, filesz)?;
                // Zero the bss (the bytes past p_filesz), pre-faulting its pages, so a
                // loaded program starts with its pages present.
                space.zero_bytes(frames, vaddr + filesz, memsz - filesz)?;
                brk = brk.max(end);
            }
            _ => {}
        }
    }
    if brk == 0 {
        return Err(Errno::ENOEXEC);
    }
    space.brk_start = brk;
    space.brk = brk;
    Ok(LoadedImage {
        entry: ehdr.e_entry as usize,
        phdr: phdr.unwrap_or(0),
        phnum: ehdr.e_phnum as usize,
        phent: ehdr.e_phentsize as usize,
        brk,
    })
}

/// Copies `len` bytes at `offset` of the file to `vaddr` in the new address space.
fn copy_segment(
    frames: &FrameAllocator,
    space: &mut AddressSpace,
    src: &(impl ElfSource + ?Sized),
    offset: u64,
    vaddr: usize,
    len: usize,
) -> KResult<()> {
    if len == 0 {
        return Ok(());
    }
    let mut buf = alloc::vec::Vec::new();
    buf.try_reserve_exact(COPY_CHUNK.min(len))
        .map_err(|_| Errno::ENOMEM)?;
    buf.resize(COPY_CHUNK.min(len), 0);
    let mut done = 0;
    while done < len {
        let n = (len - done).min(COPY_CHUNK);
        if src.read_at(offset + done as u64, &mut buf[..n])? < n {
            return Err(Errno::ENOEXEC); // the segment runs past the end of the file
        }
        space.write_bytes(frames, vaddr + done, &buf[..n])?;
        done += n;
    }
    Ok(())
}

/// The function symbol containing `addr`, with the offset into it (for fault reports).
pub fn symbolize(image: &[u8], addr: usize) -> Option<(&str, usize)> {
    let file = ElfBytes::<LittleEndian>::minimal_parse(image).ok()?;
    let (symtab, strtab) = file.symbol_table().ok()??;
    // Functions, and untyped labels from assembly (like _start): the closest one below.
    symtab
        .iter()
        .filter(|s| {
            matches!(s.st_symtype(), elf::abi::STT_FUNC | elf::abi::STT_NOTYPE) && s.st_name != 0
        })
        .filter(|s| {
            s.st_value as usize <= addr
                && (s.st_size == 0 || addr < (s.st_value + s.st_size) as usize)
        })
        .max_by_key(|s| s.st_value)
        .and_then(|s| {
            Some((
                strtab.get(s.st_name as usize).ok()?,
                addr - s.st_value as usize,
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::pte::PteFlags;
    use crate::mm::frame::sim::SimMemory;

    /// A minimal static AArch64 executable: one RX segment at 0x400000 holding the headers
    /// and 8 bytes of code, one RW segment at 0x411000 with 4 bytes of data and a bss.
    fn tiny_elf() -> std::vec::Vec<u8> {
        let mut f = std::vec![0u8; 0x1100];
        let ehdr: &mut [u8] = &mut f[..64];
        ehdr[..4].copy_from_slice(b"\x7fELF");
        ehdr[4] = 2; // 64-bit
        ehdr[5] = 1; // little endian
        ehdr[6] = 1;
        ehdr[16..18].copy_from_slice(&2u16.to_le_bytes()); // ET_EXEC
        ehdr[18..20].copy_from_slice(&183u16.to_le_bytes()); // EM_AARCH64
        ehdr[20..24].copy_from_slice(&1u32.to_le_bytes());
        ehdr[24..32].copy_from_slice(&0x400078u64.to_le_bytes()); // entry
        ehdr[32..40].copy_from_slice(&64u64.to_le_bytes()); // phoff
        ehdr[52..54].copy_from_slice(&64u16.to_le_bytes());
        ehdr[54..56].copy_from_slice(&56u16.to_le_bytes());
        ehdr[56..58].copy_from_slice(&2u16.to_le_bytes()); // phnum
        let mut ph = |i: usize, flags: u32, off: u64, vaddr: u64, filesz: u64, memsz: u64| {
            let p = &mut f[64 + 56 * i..64 + 56 * (i + 1)];
            p[..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
            p[4..8].copy_from_slice(&flags.to_le_bytes());
            p[8..16].copy_from_slice(&off.to_le_bytes());
            p[16..24].copy_from_slice(&vaddr.to_le_bytes());
            p[24..32].copy_from_slice(&vaddr.to_le_bytes());
            p[32..40].copy_from_slice(&filesz.to_le_bytes());
            p[40..48].copy_from_slice(&memsz.to_le_bytes());
            p[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
        };
        ph(0, PF_R | PF_X, 0, 0x400000, 0x80, 0x80);
        ph(1, PF_R | PF_W, 0x1000, 0x411000, 4, 0x2000);
        f[0x1000..0x1004].copy_from_slice(b"data");
        f
    }

    #[test]
    fn loads_segments_with_their_permissions() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let img = load(f, &mut s, &tiny_elf()[..]).unwrap();
        assert_eq!(
            img,
            LoadedImage {
                entry: 0x400078,
                phdr: 0x400040,
                phnum: 2,
                phent: 56,
                brk: 0x413000
            }
        );
        let (_, text) = s.pt.lookup(0x400000).unwrap();
        assert!(text.contains(PteFlags::READ_ONLY) && !text.contains(PteFlags::UXN));
        let (_, data) = s.pt.lookup(0x411000).unwrap();
        assert!(!data.contains(PteFlags::READ_ONLY) && data.contains(PteFlags::UXN));
        assert!(s.pt.lookup(0x412000).is_some(), "bss pre-faulted");
        let mut buf = [0u8; 8];
        s.read_bytes(0x411000, &mut buf).unwrap();
        assert_eq!(&buf, b"data\0\0\0\0");
        assert_eq!(s.brk, 0x413000);
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// A bss-only PT_LOAD (p_filesz = 0) whose p_offset lies past the end of the file
    /// loads as on Linux: zero-filled pages, nothing read from the file.
    #[test]
    fn bss_only_segment_with_offset_past_the_file() {
        let mut img = tiny_elf();
        img[56..58].copy_from_slice(&3u16.to_le_bytes()); // phnum
        let p = &mut img[64 + 112..64 + 168];
        p[..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        p[4..8].copy_from_slice(&(PF_R | PF_W).to_le_bytes());
        p[8..16].copy_from_slice(&0x10_0000u64.to_le_bytes()); // p_offset: past the end
        p[16..24].copy_from_slice(&0x420000u64.to_le_bytes());
        p[24..32].copy_from_slice(&0x420000u64.to_le_bytes());
        p[32..40].copy_from_slice(&0u64.to_le_bytes()); // p_filesz
        p[40..48].copy_from_slice(&0x1800u64.to_le_bytes()); // p_memsz
        p[48..56].copy_from_slice(&0x1000u64.to_le_bytes());
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let loaded = load(f, &mut s, &img[..]).unwrap();
        assert_eq!(loaded.brk, 0x422000, "brk after the bss-only segment");
        let vma = s.find_vma(0x421000).unwrap();
        assert_eq!((vma.start, vma.end), (0x420000, 0x422000));
        assert_eq!(vma.prot, Prot::READ | Prot::WRITE);
        let mut buf = [0xffu8; 0x1800];
        s.read_bytes(0x420000, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 0), "zero-filled");
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// The loader's writes of text synchronise the I-cache once per text frame; data and
    /// bss frames are not synchronised.
    #[test]
    fn loading_text_syncs_the_icache_once_per_frame() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        crate::arch::take_icache_log();
        load(f, &mut s, &tiny_elf()[..]).unwrap();
        let (text, _) = s.pt.lookup(0x400000).unwrap();
        assert_eq!(crate::arch::take_icache_log(), [text.as_usize()]);
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn segments_sharing_a_page_keep_both_contents() {
        let mut img = tiny_elf();
        // Text covers the headers plus "CODE" at 0xb8; data moves into the same page
        // (vaddr 0x400100, file offset 0x100).
        let text = &mut img[64..64 + 56];
        text[32..40].copy_from_slice(&0xc0u64.to_le_bytes());
        text[40..48].copy_from_slice(&0xc0u64.to_le_bytes());
        let data = &mut img[64 + 56..64 + 112];
        data[8..16].copy_from_slice(&0x100u64.to_le_bytes());
        data[16..24].copy_from_slice(&0x400100u64.to_le_bytes());
        data[24..32].copy_from_slice(&0x400100u64.to_le_bytes());
        img[0xb8..0xbc].copy_from_slice(b"CODE");
        img[0x100..0x104].copy_from_slice(b"DATA");
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        load(f, &mut s, &img[..]).unwrap();
        let mut buf = [0u8; 4];
        s.read_bytes(0x4000b8, &mut buf).unwrap();
        assert_eq!(&buf, b"CODE", "the first segment survives the second");
        s.read_bytes(0x400100, &mut buf).unwrap();
        assert_eq!(&buf, b"DATA");
        let (_, flags) = s.pt.lookup(0x400000).unwrap();
        assert!(
            !flags.contains(PteFlags::READ_ONLY) && !flags.contains(PteFlags::UXN),
            "RWX union of both"
        );
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn rejects_what_it_cannot_run() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let mut wrong_machine = tiny_elf();
        wrong_machine[18] = 62; // x86_64
        assert_eq!(load(f, &mut s, &wrong_machine[..]), Err(Errno::ENOEXEC));
        assert_eq!(load(f, &mut s, &b"#!/bin/sh\n"[..]), Err(Errno::ENOEXEC));
        let mut truncated = tiny_elf();
        truncated.truncate(0x1002);
        assert_eq!(load(f, &mut s, &truncated[..]), Err(Errno::ENOEXEC));
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }
}
