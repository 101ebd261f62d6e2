//! Loading an AArch64 ELF program into a fresh address space (Linux: fs/binfmt_elf.c
//! `load_elf_binary` and `load_elf_interp`). Parsing is done by the `elf` crate; what is
//! the subject of the course — turning PT_LOAD segments into VMAs and pages, and where a
//! position-independent program and its dynamic loader go — is here.
//!
//! * ET_EXEC: the segments go where their p_vaddr says (bias 0).
//! * ET_DYN with a PT_INTERP (a PIE): at ELF_ET_DYN_BASE, aligned to the largest p_align
//!   (Linux without randomisation: 0xaaaa_aaaa_0000 for Debian's 64 KiB-aligned programs).
//! * The interpreter (ld-linux-aarch64.so.1, ET_DYN), and an ET_DYN run without one:
//!   wherever mmap would put a mapping of its whole span, so it does not collide with
//!   the program, the stack or the libraries it maps next.

use alloc::sync::Arc;
use alloc::vec::Vec;

use elf::ElfBytes;
use elf::abi::{EM_AARCH64, ET_DYN, ET_EXEC, PF_R, PF_W, PF_X, PT_INTERP, PT_LOAD};
use elf::endian::LittleEndian;
use elf::segment::ProgramHeader;

use crate::error::{Errno, KResult};
use crate::mm::addr_space::{AddressSpace, Prot, Vma, page_down, page_up};
use crate::mm::frame::{FrameAllocator, PAGE_SIZE};
use crate::mm::pagetable::USER_TOP;
use crate::mm::vm_file::VmFile;

/// Linux arm64 `ELF_ET_DYN_BASE`: two thirds of the 48-bit user address space, where a
/// PIE is placed (far from the mmap area and the stack, with room for its brk).
pub const ELF_ET_DYN_BASE: usize = 2 * (1 << 48) / 3;
/// Linux `PATH_MAX`: the longest PT_INTERP accepted, its NUL included.
pub const PATH_MAX: usize = 4096;
/// `sizeof(struct elf64_phdr)`: the only e_phentsize Linux accepts.
const PHDR_SIZE: usize = 56;
const ELFMAG: &[u8; 4] = b"\x7fELF";

/// Where the image ended up, for the auxiliary vector and brk.
#[derive(Debug, PartialEq, Eq)]
pub struct LoadedImage {
    /// The entry point, biased.
    pub entry: usize,
    /// Where the program headers are in memory (AT_PHDR), 0 if no segment holds them.
    pub phdr: usize,
    pub phnum: usize,
    pub phent: usize,
    /// First page after the highest segment: the start of the heap (brk).
    pub brk: usize,
    /// What was added to every p_vaddr (0 for ET_EXEC; AT_BASE for the interpreter).
    pub bias: usize,
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
    /// The size in bytes.
    fn size(&self) -> u64;
}

impl ElfSource for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_at(&self, off: u64, buf: &mut [u8]) -> KResult<usize> {
        let data = self.get(off as usize..).unwrap_or(&[]);
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

/// mmap's MAP_PRIVATE and MAP_FIXED (Linux's values), for `elf_map`.
const MAP_PRIVATE: u32 = 0x02;
const MAP_FIXED: u32 = 0x10;

/// The most bytes of program headers read (Linux `load_elf_phdrs`: 64 KiB).
const MAX_PHDRS_BYTES: usize = 65536;
/// Bytes copied from the file to the new address space at a time.
const COPY_CHUNK: usize = 4096;

fn vec_zeroed(n: usize) -> KResult<Vec<u8>> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(n).map_err(|_| Errno::ENOMEM)?;
    buf.resize(n, 0);
    Ok(buf)
}

/// The ELF header and program headers of `src`, in a buffer of their own: the parser
/// gets only these (the section headers, for linkers and debuggers, are not read).
/// Linux's checks (`load_elf_binary`, `load_elf_phdrs`): e_phentsize must be 56 and the
/// headers at most 64 KiB; anything else, or a file too short for them, is ENOEXEC.
fn read_headers<S: ElfSource + ?Sized>(src: &S) -> KResult<Vec<u8>> {
    let mut ehdr = [0u8; 64];
    if src.read_at(0, &mut ehdr)? < 64 || &ehdr[..4] != ELFMAG {
        return Err(Errno::ENOEXEC);
    }
    let phoff = u64::from_le_bytes(ehdr[32..40].try_into().map_err(|_| Errno::ENOEXEC)?) as usize;
    let phentsize = u16::from_le_bytes([ehdr[54], ehdr[55]]) as usize;
    let phnum = u16::from_le_bytes([ehdr[56], ehdr[57]]) as usize;
    if phentsize != PHDR_SIZE || phnum == 0 || phnum * PHDR_SIZE > MAX_PHDRS_BYTES {
        return Err(Errno::ENOEXEC);
    }
    let need = phoff
        .checked_add(phentsize * phnum)
        .filter(|&n| n <= MAX_PHDRS_BYTES + 64)
        .ok_or(Errno::ENOEXEC)?
        .max(64);
    let mut buf = vec_zeroed(need)?;
    if src.read_at(0, &mut buf)? < need {
        return Err(Errno::ENOEXEC);
    }
    // No section headers: e_shoff, e_shnum and e_shstrndx zeroed in our copy.
    buf[40..48].fill(0);
    buf[60..64].fill(0);
    Ok(buf)
}

/// The program's PT_INTERP, without its NUL (Linux `load_elf_binary`'s first loop):
/// None for a static program. ENOEXEC if the path is shorter than 2 or longer than
/// PATH_MAX bytes, is not NUL-terminated, or lies outside the file. The path ends at
/// its first NUL, as the C string Linux opens does.
pub fn interp_path<S: ElfSource + ?Sized>(src: &S) -> KResult<Option<Vec<u8>>> {
    let headers = read_headers(src)?;
    let file = ElfBytes::<LittleEndian>::minimal_parse(&headers).map_err(|_| Errno::ENOEXEC)?;
    let segments = file.segments().ok_or(Errno::ENOEXEC)?;
    let Some(seg) = segments.iter().find(|s| s.p_type == PT_INTERP) else {
        return Ok(None);
    };
    let len = seg.p_filesz as usize;
    if !(2..=PATH_MAX).contains(&len) {
        return Err(Errno::ENOEXEC);
    }
    let mut path = vec_zeroed(len)?;
    if src.read_at(seg.p_offset, &mut path)? != len {
        return Err(Errno::EIO); // Linux `elf_read`: a short read
    }
    if path[len - 1] != 0 {
        return Err(Errno::ENOEXEC);
    }
    let end = path.iter().position(|&b| b == 0).unwrap_or(len);
    path.truncate(end);
    Ok(Some(path))
}

/// Linux's checks of the interpreter before the point of no return: its header must be
/// readable (EIO), and it must be an AArch64 ELF file with readable program headers
/// (ELIBBAD); `load_elf_interp` then wants ET_EXEC or ET_DYN (EINVAL; Linux, past the
/// point of no return, also kills the process).
pub fn check_interp<S: ElfSource + ?Sized>(src: &S) -> KResult<()> {
    let mut ehdr = [0u8; 64];
    if src.read_at(0, &mut ehdr)? < 64 {
        return Err(Errno::EIO);
    }
    if &ehdr[..4] != ELFMAG || u16::from_le_bytes([ehdr[18], ehdr[19]]) != EM_AARCH64 {
        return Err(Errno::ELIBBAD);
    }
    let headers = read_headers(src).map_err(|e| {
        if e == Errno::ENOMEM {
            e
        } else {
            Errno::ELIBBAD
        }
    })?;
    let file = ElfBytes::<LittleEndian>::minimal_parse(&headers).map_err(|_| Errno::ELIBBAD)?;
    if !matches!(file.ehdr.e_type, ET_EXEC | ET_DYN) {
        return Err(Errno::EINVAL);
    }
    Ok(())
}

/// Which image is being loaded, for where an ET_DYN one goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The program execve named; `has_interp`: it has a PT_INTERP.
    Program { has_interp: bool },
    /// Its dynamic loader.
    Interpreter,
}

/// Maps every PT_LOAD segment of the static executable `src` into `space` (which must
/// be empty), copying the file's bytes into fresh pages.
pub fn load(
    frames: &FrameAllocator,
    space: &mut AddressSpace,
    src: &(impl ElfSource + ?Sized),
) -> KResult<LoadedImage> {
    load_image(
        frames,
        space,
        src,
        Role::Program { has_interp: false },
        None,
    )
}

/// Maps the PT_LOAD segments of `src` into `space` as `role` says (Linux
/// `load_elf_binary`'s mapping loop for the program, `load_elf_interp` for its loader);
/// the program's end becomes the brk. With `mapped` (the same file as a mappable object),
/// a segment whose offset and address agree within a page is mapped from the file,
/// private and copy-on-write, as Linux's `elf_map` does: its pages come from the page
/// cache when first touched, shared by every process running the program. Otherwise —
/// and for tests, which load from a byte slice — its bytes are copied into fresh pages.
pub fn load_image(
    frames: &FrameAllocator,
    space: &mut AddressSpace,
    src: &(impl ElfSource + ?Sized),
    role: Role,
    mapped: Option<&Arc<dyn VmFile>>,
) -> KResult<LoadedImage> {
    let headers = read_headers(src)?;
    let file = ElfBytes::<LittleEndian>::minimal_parse(&headers).map_err(|_| Errno::ENOEXEC)?;
    let ehdr = file.ehdr;
    if ehdr.e_machine != EM_AARCH64 || !matches!(ehdr.e_type, ET_EXEC | ET_DYN) {
        return Err(Errno::ENOEXEC);
    }
    let segments = file.segments().ok_or(Errno::ENOEXEC)?;
    // The span of the PT_LOADs (Linux `total_mapping_size`) and their largest alignment
    // (`maximum_alignment`: powers of two only).
    let loads = || segments.iter().filter(|s| s.p_type == PT_LOAD);
    let first = loads().next().ok_or(Errno::ENOEXEC)?.p_vaddr as usize;
    let mut last_end = 0usize;
    let mut align = PAGE_SIZE;
    for s in loads() {
        let end = (s.p_vaddr as usize)
            .checked_add(s.p_memsz as usize)
            .ok_or(Errno::ENOEXEC)?;
        last_end = last_end.max(end);
        if (s.p_align as usize).is_power_of_two() {
            align = align.max(s.p_align as usize);
        }
    }
    let span = page_up(last_end)
        .and_then(|e| e.checked_sub(page_down(first)))
        .filter(|&n| n > 0 && n <= USER_TOP)
        .ok_or(Errno::ENOEXEC)?;
    let bias = match (ehdr.e_type, role) {
        (ET_EXEC, _) => 0,
        // A PIE with its loader: ELF_ET_DYN_BASE, aligned, less the first p_vaddr.
        (_, Role::Program { has_interp: true }) => (ELF_ET_DYN_BASE & !(align - 1))
            .checked_sub(page_down(first))
            .ok_or(Errno::ENOEXEC)?,
        // The loader, or a program that is its own loader: where mmap would put it.
        _ => space
            .free_area(span)?
            .checked_sub(page_down(first))
            .ok_or(Errno::ENOEXEC)?,
    };
    // AT_PHDR (Linux 6.1): the headers' address in the first PT_LOAD whose file bytes
    // hold e_phoff.
    let mut phdr = 0;
    let mut brk = 0;
    // The pages a segment spans; one that shares a page with another is copied, both
    // into one VMA (a file mapping would give that page one segment's bytes only).
    let pages_of = |s: &ProgramHeader| {
        let v = s.p_vaddr as usize;
        let e = v.saturating_add(s.p_memsz as usize);
        (page_down(v), page_up(e).unwrap_or(usize::MAX))
    };
    let shares_a_page = |seg: &ProgramHeader| {
        let (a0, a1) = pages_of(seg);
        loads().filter(|o| o != seg && o.p_memsz > 0).any(|o| {
            let (b0, b1) = pages_of(&o);
            a0 < b1 && b0 < a1
        })
    };
    for seg in segments
        .iter()
        .filter(|s| s.p_type == PT_LOAD && s.p_memsz > 0)
    {
        let (memsz, filesz) = (seg.p_memsz as usize, seg.p_filesz as usize);
        let vaddr = (seg.p_vaddr as usize)
            .checked_add(bias)
            .ok_or(Errno::ENOEXEC)?;
        let end = vaddr
            .checked_add(memsz)
            .filter(|&e| e <= USER_TOP)
            .ok_or(Errno::ENOEXEC)?;
        if filesz > memsz {
            return Err(Errno::ENOEXEC);
        }
        let holds_phdrs =
            seg.p_offset <= ehdr.e_phoff && ehdr.e_phoff - seg.p_offset < seg.p_filesz;
        if phdr == 0 && holds_phdrs {
            phdr = (ehdr.e_phoff - seg.p_offset) as usize + vaddr;
        }
        let start = page_down(vaddr);
        let end = page_up(end).ok_or(Errno::ENOEXEC)?;
        let prot = prot_of(seg.p_flags);
        let file_end = page_up(vaddr + filesz).ok_or(Errno::ENOEXEC)?;
        // Mapped from the file when it can be: offset and address agree within a page,
        // it shares no page with another segment, the bytes lie inside the file (past its end
        // a page would be SIGBUS, where Linux's loader fails the exec), and a bss in the
        // last file page can be zeroed in a private copy (the segment is writable).
        let mappable = filesz > 0
            && (seg.p_offset as usize) % PAGE_SIZE == vaddr % PAGE_SIZE
            && !shares_a_page(&seg)
            && seg
                .p_offset
                .checked_add(seg.p_filesz)
                .is_some_and(|e| e <= src.size())
            && (memsz == filesz || prot.contains(Prot::WRITE));
        match mapped {
            Some(mapped) if mappable => {
                // Linux `elf_map`: the file's pages from the segment's page on.
                let pgoff = seg.p_offset as usize / PAGE_SIZE;
                let flags = MAP_PRIVATE | MAP_FIXED;
                space.mmap_file(
                    frames,
                    start,
                    file_end - start,
                    prot,
                    flags,
                    mapped.clone(),
                    pgoff,
                    false,
                )?;
                // `padzero`: the rest of the last file page is bss, not the file's next
                // bytes — zeroed to the end of the page (written through a private copy
                // of it): ld.so's first allocations use the memory after its `_end`.
                if memsz > filesz {
                    space.zero_bytes(frames, vaddr + filesz, file_end - (vaddr + filesz))?;
                }
                // `set_brk`: the bss past the file's pages, demand-zero.
                if end > file_end {
                    space.insert_vma(Vma {
                        start: file_end,
                        end,
                        prot,
                        shared: false,
                    })?;
                }
            }
            _ => {
                // Segments may share a page (text end / data start): widen the first VMA.
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
            }
        }
        brk = brk.max(end);
    }
    if brk == 0 {
        return Err(Errno::ENOEXEC);
    }
    if matches!(role, Role::Program { .. }) {
        space.brk_start = brk;
        space.brk = brk;
    }
    Ok(LoadedImage {
        entry: (ehdr.e_entry as usize).wrapping_add(bias),
        phdr,
        phnum: ehdr.e_phnum as usize,
        phent: ehdr.e_phentsize as usize,
        brk,
        bias,
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
                brk: 0x413000,
                bias: 0,
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

    /// `tiny_elf` made an ET_DYN with segments at 0 and 0x11000 (64 KiB aligned) and a
    /// PT_INTERP naming `interp` (its NUL included if `nul`).
    fn tiny_pie(interp: &[u8], nul: bool) -> std::vec::Vec<u8> {
        let mut f = tiny_elf();
        f[16..18].copy_from_slice(&3u16.to_le_bytes()); // ET_DYN
        f[24..32].copy_from_slice(&0x78u64.to_le_bytes()); // entry
        f[56..58].copy_from_slice(&3u16.to_le_bytes()); // phnum
        for (i, vaddr) in [(0usize, 0u64), (1, 0x11000)] {
            let p = &mut f[64 + 56 * i..64 + 56 * (i + 1)];
            p[16..24].copy_from_slice(&vaddr.to_le_bytes());
            p[24..32].copy_from_slice(&vaddr.to_le_bytes());
            p[48..56].copy_from_slice(&0x10000u64.to_le_bytes());
        }
        let mut path = interp.to_vec();
        if nul {
            path.push(0);
        }
        let p = &mut f[64 + 112..64 + 168];
        p[..4].copy_from_slice(&PT_INTERP.to_le_bytes());
        p[8..16].copy_from_slice(&0x800u64.to_le_bytes()); // p_offset
        p[32..40].copy_from_slice(&(path.len() as u64).to_le_bytes());
        f[0x800..0x800 + path.len()].copy_from_slice(&path);
        f
    }

    #[test]
    fn interp_path_is_read_with_linux_checks() {
        assert_eq!(interp_path(&tiny_elf()[..]), Ok(None), "static");
        let path = interp_path(&tiny_pie(b"/lib/ld-linux-aarch64.so.1", true)[..]);
        assert_eq!(path.unwrap().unwrap(), b"/lib/ld-linux-aarch64.so.1");
        assert_eq!(
            interp_path(&tiny_pie(b"/lib/ld.so", false)[..]),
            Err(Errno::ENOEXEC),
            "not NUL-terminated"
        );
        assert_eq!(
            interp_path(&tiny_pie(b"", true)[..]),
            Err(Errno::ENOEXEC),
            "p_filesz 1"
        );
        let mut long = tiny_pie(b"/x", true);
        long[64 + 112 + 32..64 + 112 + 40].copy_from_slice(&(PATH_MAX as u64 + 1).to_le_bytes());
        assert_eq!(
            interp_path(&long[..]),
            Err(Errno::ENOEXEC),
            "longer than PATH_MAX"
        );
        let embedded = interp_path(&tiny_pie(b"/a\0b", true)[..]);
        assert_eq!(embedded.unwrap().unwrap(), b"/a", "ends at its first NUL");
    }

    #[test]
    fn interpreter_checks() {
        assert_eq!(check_interp(&tiny_pie(b"/x", true)[..]), Ok(()));
        assert_eq!(check_interp(&b"\x7fELF short"[..]), Err(Errno::EIO));
        let text = [b'#'; 100];
        assert_eq!(check_interp(&text[..]), Err(Errno::ELIBBAD));
        let mut x86 = tiny_elf();
        x86[18] = 62;
        assert_eq!(check_interp(&x86[..]), Err(Errno::ELIBBAD));
        let mut core = tiny_elf();
        core[16] = 4; // ET_CORE
        assert_eq!(check_interp(&core[..]), Err(Errno::EINVAL));
    }

    /// A PIE with an interpreter goes at ELF_ET_DYN_BASE aligned to its 64 KiB p_align
    /// (0xaaaa_aaaa_0000, as on Linux without randomisation); its loader where mmap
    /// would put it; entry and AT_PHDR are biased; the brk follows the program only.
    #[test]
    fn pie_and_interpreter_placement() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let prog = load_image(
            f,
            &mut s,
            &tiny_pie(b"/ld", true)[..],
            Role::Program { has_interp: true },
            None,
        )
        .unwrap();
        assert_eq!(prog.bias, 0xaaaa_aaaa_0000);
        assert_eq!(prog.entry, 0xaaaa_aaaa_0078);
        assert_eq!(prog.phdr, 0xaaaa_aaaa_0040);
        assert_eq!(prog.brk, 0xaaaa_aaab_3000);
        let mut buf = [0u8; 4];
        s.read_bytes(0xaaaa_aaab_1000, &mut buf).unwrap();
        assert_eq!(&buf, b"data");
        let ld = load_image(
            f,
            &mut s,
            &tiny_pie(b"/ld", true)[..],
            Role::Interpreter,
            None,
        )
        .unwrap();
        assert_eq!(
            ld.bias,
            crate::mm::addr_space::MMAP_BASE,
            "the first free mmap address"
        );
        assert_eq!(ld.entry, ld.bias + 0x78);
        assert_eq!(s.brk, 0xaaaa_aaab_3000, "the loader does not move the brk");
        let next = s.free_area(PAGE_SIZE).unwrap();
        assert!(next >= ld.bias + 0x13000, "mmap goes past the loader");
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// A file in "page cache" frames, for loads that map it.
    struct PagedFile {
        pages: std::vec::Vec<crate::mm::frame::PhysAddr>,
        frames: *const FrameAllocator,
    }
    // SAFETY: tests only, one thread.
    unsafe impl Send for PagedFile {}
    // SAFETY: as above.
    unsafe impl Sync for PagedFile {}
    impl VmFile for PagedFile {
        fn get_page(
            &self,
            index: usize,
        ) -> Result<Option<crate::mm::frame::PhysAddr>, crate::mm::vm_file::NoPage> {
            // SAFETY: the allocator outlives the file in the test.
            let frames = unsafe { &*self.frames };
            Ok(self.pages.get(index).map(|&p| {
                frames.get(p);
                p
            }))
        }
        fn contents(&self) -> Option<std::vec::Vec<u8>> {
            None
        }
        fn as_any(&self) -> &dyn core::any::Any {
            self
        }
        fn file_id(&self) -> usize {
            1
        }
    }

    /// The real dynamic loader, loaded once from its file's pages and once copied: every
    /// page of every segment reads the same (if the cross toolchain is installed).
    #[test]
    #[cfg_attr(
        miri,
        ignore = "reads the host's ld.so, which Miri's isolation forbids"
    )]
    fn mapped_and_copied_loads_agree() {
        // Debian's cross toolchain's loader on a PC; an AArch64 host's own one.
        let Some(ld) = [
            "/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1",
            "/lib/ld-linux-aarch64.so.1",
        ]
        .iter()
        .find_map(|path| std::fs::read(path).ok()) else {
            return;
        };
        let m = SimMemory::new(512);
        let f = &m.frames;
        let pages: std::vec::Vec<_> = ld
            .chunks(PAGE_SIZE)
            .map(|c| {
                let p = f.alloc_zeroed().unwrap();
                // SAFETY: a fresh frame of the simulated RAM.
                unsafe { core::ptr::copy_nonoverlapping(c.as_ptr(), p.as_ptr(), c.len()) };
                p
            })
            .collect();
        let file: Arc<dyn VmFile> = Arc::new(PagedFile {
            pages: pages.clone(),
            frames: f,
        });
        let mut a = AddressSpace::new(f, 1).unwrap();
        let mut b = AddressSpace::new(f, 2).unwrap();
        let x = load_image(f, &mut a, &ld[..], Role::Interpreter, Some(&file)).unwrap();
        let y = load_image(f, &mut b, &ld[..], Role::Interpreter, None).unwrap();
        assert_eq!(x, y);
        let vmas: std::vec::Vec<_> = b.vmas().collect();
        for v in vmas {
            for va in (v.start..v.end).step_by(PAGE_SIZE) {
                a.handle_fault(f, va, crate::mm::addr_space::Access::Read)
                    .unwrap();
                let (mut p, mut q) = ([0u8; PAGE_SIZE], [0u8; PAGE_SIZE]);
                a.read_bytes(va, &mut p).unwrap();
                b.read_bytes(va, &mut q).unwrap();
                assert!(p == q, "page {:#x} differs", va - x.bias);
            }
        }
        a.destroy(f);
        b.destroy(f);
        drop(file);
        for p in pages {
            f.put(p);
        }
        assert_eq!(f.in_use(), 0);
    }
}
