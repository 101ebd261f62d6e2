//! A user address space: the TTBR0 page table plus the list of mapped regions (VMAs).
//! Linux: `struct mm_struct` and `struct vm_area_struct` (include/linux/mm_types.h),
//! mm/mmap.c (mmap, munmap, brk), mm/mprotect.c, `dup_mmap` (kernel/fork.c) and the
//! VMA checks of `do_page_fault` (arch/arm64/mm/fault.c).
//!
//! Pages are mapped lazily: a VMA promises memory, the first touch faults and gets a zeroed
//! frame ("demand-zero"). MAP_SHARED anonymous memory is the exception: its frames are
//! allocated at mmap time so that a fork shares the very same frames.

use alloc::collections::BTreeMap;
use core::cell::Cell;

use bitflags::bitflags;

use super::cow::{CowOutcome, OutOfMemory};
use super::frame::{FrameAllocator, PAGE_SIZE, PhysAddr};
use super::pagetable::{MapError, PageTable, USER_TOP};
use super::walk::LEAF_LEVEL;
use crate::arch;
use crate::arch::pte::{Pte, PteFlags};
use crate::error::{Errno, KResult};

bitflags! {
    /// PROT_* bits of mmap/mprotect (Linux values).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Prot: u32 {
        const READ = 1;
        const WRITE = 2;
        const EXEC = 4;
    }
}

/// Top of the initial user stack, and how far it may grow.
pub const STACK_TOP: usize = 0x0000_ffff_ffff_0000;
pub const STACK_SIZE: usize = 8 << 20;
/// Where mmap starts looking for free space (first fit, upwards).
pub const MMAP_BASE: usize = 0x0000_0010_0000_0000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: usize,
    pub end: usize,
    pub prot: Prot,
    pub shared: bool,
}

/// What a faulting access tried to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

/// How a page fault was resolved.
#[derive(Debug, PartialEq, Eq)]
pub enum FaultFix {
    DemandZero,
    CowCopied,
    CowReused,
    /// The entry already allows the access (a stale TLB entry): nothing to do.
    Spurious,
}

/// Why a page fault could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub enum FaultError {
    /// No VMA covers the address (SEGV_MAPERR).
    NotMapped,
    /// The VMA forbids this access (SEGV_ACCERR), e.g. a write to text.
    AccessDenied,
    OutOfMemory,
}

pub fn page_down(x: usize) -> usize {
    x & !(PAGE_SIZE - 1)
}

pub fn page_up(x: usize) -> Option<usize> {
    x.checked_add(PAGE_SIZE - 1).map(page_down)
}

/// PTE flags for a user page of a VMA with `prot`.
pub fn user_pte_flags(prot: Prot, shared: bool) -> PteFlags {
    let mut f = PteFlags::USER | PteFlags::AF | PteFlags::SH_INNER | PteFlags::NG | PteFlags::PXN;
    if !prot.contains(Prot::WRITE) {
        f |= PteFlags::READ_ONLY;
    }
    if !prot.contains(Prot::EXEC) {
        f |= PteFlags::UXN;
    }
    if shared {
        f |= PteFlags::SHARED;
    }
    f
}

fn allows(flags: PteFlags, access: Access) -> bool {
    match access {
        Access::Read => true,
        Access::Write => !flags.contains(PteFlags::READ_ONLY),
        Access::Exec => !flags.contains(PteFlags::UXN),
    }
}

fn prot_allows(prot: Prot, access: Access) -> bool {
    match access {
        Access::Read => prot.contains(Prot::READ),
        Access::Write => prot.contains(Prot::WRITE),
        Access::Exec => prot.contains(Prot::EXEC),
    }
}

pub struct AddressSpace {
    pub pt: PageTable,
    /// The VMAs by start address. Changed only through `vmas_mut`, which forgets the
    /// cached lookup.
    vmas: BTreeMap<usize, Vma>,
    /// The VMA `find_vma` found last (Linux's former per-thread `vmacache`): page faults
    /// come in runs on the same region, and a tree lookup costs more than the rest of a
    /// demand-zero fault's bookkeeping.
    vma_cache: Cell<Option<Vma>>,
    pub brk_start: usize,
    pub brk: usize,
    /// Write faults on COW pages of this address space: copied / made writable in place.
    pub cow_copies: usize,
    pub cow_reuses: usize,
}

impl AddressSpace {
    pub fn new(frames: &mut FrameAllocator, asid: u16) -> Option<AddressSpace> {
        Some(AddressSpace {
            pt: PageTable::new(frames, asid)?,
            vmas: BTreeMap::new(),
            vma_cache: Cell::new(None),
            brk_start: 0,
            brk: 0,
            cow_copies: 0,
            cow_reuses: 0,
        })
    }

    /// The VMA containing `va` (Linux `find_vma`, which also checks `vm_start <= va`).
    pub fn find_vma(&self, va: usize) -> Option<Vma> {
        if let Some(v) = self.vma_cache.get()
            && v.start <= va
            && va < v.end
        {
            return Some(v);
        }
        let found = self
            .vmas
            .range(..=va)
            .next_back()
            .map(|(_, v)| *v)
            .filter(|v| va < v.end);
        if found.is_some() {
            self.vma_cache.set(found);
        }
        found
    }

    /// The VMA tree, for a change: the cached lookup is forgotten.
    fn vmas_mut(&mut self) -> &mut BTreeMap<usize, Vma> {
        self.vma_cache.set(None);
        &mut self.vmas
    }

    pub fn vmas(&self) -> impl Iterator<Item = &Vma> {
        self.vmas.values()
    }

    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.vmas
            .range(..end)
            .next_back()
            .is_some_and(|(_, v)| v.end > start)
    }

    /// Adds a VMA over a range that must be free.
    pub fn insert_vma(&mut self, vma: Vma) -> KResult<()> {
        if vma.start >= vma.end
            || vma.end > USER_TOP
            || !vma.start.is_multiple_of(PAGE_SIZE)
            || !vma.end.is_multiple_of(PAGE_SIZE)
        {
            return Err(Errno::EINVAL);
        }
        if self.overlaps(vma.start, vma.end) {
            return Err(Errno::ENOMEM);
        }
        self.vmas_mut().insert(vma.start, vma);
        Ok(())
    }

    /// Grows the VMA starting at `start` to `end` with permissions `prot`, keeping its
    /// pages (the ELF loader, when two segments share a page).
    pub fn widen_vma(
        &mut self,
        frames: &FrameAllocator,
        start: usize,
        end: usize,
        prot: Prot,
    ) -> KResult<()> {
        let old = self.vmas_mut().remove(&start).ok_or(Errno::EINVAL)?;
        if self.overlaps(old.end, end) {
            self.vmas_mut().insert(start, old);
            return Err(Errno::ENOMEM);
        }
        self.vmas_mut().insert(start, Vma { end, prot, ..old });
        self.mprotect(frames, start, end - start, prot)
    }

    /// Splits the VMA containing `at` so that a VMA boundary falls on `at`.
    fn split_at(&mut self, at: usize) {
        let Some(v) = self.find_vma(at) else { return };
        if v.start == at {
            return;
        }
        self.vmas_mut().insert(v.start, Vma { end: at, ..v });
        self.vmas_mut().insert(at, Vma { start: at, ..v });
    }

    fn checked_range(addr: usize, len: usize) -> KResult<(usize, usize)> {
        if !addr.is_multiple_of(PAGE_SIZE) || len == 0 {
            return Err(Errno::EINVAL);
        }
        let end = page_up(len)
            .and_then(|l| addr.checked_add(l))
            .ok_or(Errno::EINVAL)?;
        if end > USER_TOP {
            return Err(Errno::EINVAL);
        }
        Ok((addr, end))
    }

    /// First free gap of `len` bytes at or above MMAP_BASE.
    fn find_free(&self, len: usize) -> KResult<usize> {
        let mut addr = MMAP_BASE;
        for v in self.vmas.range(MMAP_BASE..).map(|(_, v)| v) {
            if v.start >= addr + len {
                break;
            }
            addr = addr.max(v.end);
        }
        if addr + len > STACK_TOP - STACK_SIZE {
            return Err(Errno::ENOMEM);
        }
        Ok(addr)
    }

    /// Anonymous mmap. `fixed` places it at `addr` (replacing what was there); otherwise
    /// `addr` is only a hint and the first free gap is used.
    pub fn mmap_anon(
        &mut self,
        frames: &mut FrameAllocator,
        addr: usize,
        len: usize,
        prot: Prot,
        shared: bool,
        fixed: bool,
    ) -> KResult<usize> {
        let len = page_up(len)
            .filter(|&l| l != 0 && l < USER_TOP)
            .ok_or(Errno::EINVAL)?;
        let start = if fixed {
            let (s, e) = Self::checked_range(addr, len)?;
            self.munmap(frames, s, e - s)?;
            s
        } else if addr != 0
            && addr.is_multiple_of(PAGE_SIZE)
            && addr.checked_add(len).is_some_and(|e| e <= USER_TOP)
            && !self.overlaps(addr, addr + len)
        {
            addr
        } else {
            self.find_free(len)?
        };
        self.insert_vma(Vma {
            start,
            end: start + len,
            prot,
            shared,
        })?;
        if shared {
            // Shared anonymous memory is populated now, so a later fork shares frames.
            if self.populate(frames, start, start + len).is_err() {
                let _ = self.munmap(frames, start, len);
                return Err(Errno::ENOMEM);
            }
        }
        Ok(start)
    }

    fn populate(
        &mut self,
        frames: &mut FrameAllocator,
        start: usize,
        end: usize,
    ) -> Result<(), OutOfMemory> {
        for va in (start..end).step_by(PAGE_SIZE) {
            if self.pt.lookup(va).is_none() {
                self.fault_in(frames, va)?;
            }
        }
        Ok(())
    }

    /// Maps a fresh zeroed frame at `va` with its VMA's permissions.
    fn fault_in(
        &mut self,
        frames: &mut FrameAllocator,
        va: usize,
    ) -> Result<PhysAddr, OutOfMemory> {
        let vma = self.find_vma(va).expect("fault_in outside a VMA");
        let page = frames.alloc_zeroed().ok_or(OutOfMemory)?;
        match self.pt.map(
            frames,
            page_down(va),
            page,
            user_pte_flags(vma.prot, vma.shared),
        ) {
            Ok(()) => Ok(page),
            Err(e) => {
                frames.put(page);
                debug_assert_eq!(e, MapError::OutOfMemory);
                Err(OutOfMemory)
            }
        }
    }

    pub fn munmap(&mut self, frames: &mut FrameAllocator, addr: usize, len: usize) -> KResult<()> {
        let (start, end) = Self::checked_range(addr, len)?;
        self.split_at(start);
        self.split_at(end);
        let doomed: alloc::vec::Vec<usize> = self.vmas.range(start..end).map(|(&s, _)| s).collect();
        for s in doomed {
            let v = self.vmas_mut().remove(&s).unwrap();
            self.pt.unmap_range(frames, v.start, v.end);
        }
        self.pt.free_empty_tables(frames, start, end);
        Ok(())
    }

    pub fn mprotect(
        &mut self,
        frames: &FrameAllocator,
        addr: usize,
        len: usize,
        prot: Prot,
    ) -> KResult<()> {
        let (start, end) = Self::checked_range(addr, len)?;
        // Linux: the whole range must be mapped, else ENOMEM.
        let mut cursor = start;
        while cursor < end {
            cursor = self.find_vma(cursor).ok_or(Errno::ENOMEM)?.end;
        }
        self.split_at(start);
        self.split_at(end);
        self.vma_cache.set(None);
        for (_, v) in self.vmas.range_mut(start..end) {
            v.prot = prot;
            let shared = v.shared;
            self.pt.change_protection(v.start, v.end, |pte| {
                let mut flags = user_pte_flags(prot, shared);
                // A private page whose frame someone else maps must stay copy-on-write.
                let cow = !shared
                    && (pte.flags().contains(PteFlags::COW)
                        || frames.refcount(PhysAddr(pte.addr())) > 1);
                if cow && prot.contains(Prot::WRITE) {
                    flags |= PteFlags::READ_ONLY | PteFlags::COW;
                } else if cow {
                    flags |= PteFlags::COW;
                }
                flags
            });
        }
        Ok(())
    }

    /// brk(2): moves the program break; returns the new (or, on failure, the old) break.
    pub fn brk(&mut self, frames: &mut FrameAllocator, new: usize) -> usize {
        if new < self.brk_start || new >= STACK_TOP - STACK_SIZE {
            return self.brk;
        }
        let (Some(old_end), Some(new_end)) = (page_up(self.brk), page_up(new)) else {
            return self.brk;
        };
        if new_end > old_end {
            if self.overlaps(old_end, new_end) {
                return self.brk;
            }
            let brk_start = self.brk_start;
            match self.vmas_mut().get_mut(&brk_start) {
                Some(v) if v.end == old_end => v.end = new_end,
                _ => {
                    let vma = Vma {
                        start: old_end,
                        end: new_end,
                        prot: Prot::READ | Prot::WRITE,
                        shared: false,
                    };
                    self.vmas_mut().insert(old_end, vma);
                }
            }
        } else if new_end < old_end && self.munmap(frames, new_end, old_end - new_end).is_err() {
            return self.brk;
        }
        self.brk = new;
        self.brk
    }

    /// Resolves a user page fault at `va` (Linux `do_page_fault` -> `handle_mm_fault`).
    pub fn handle_fault(
        &mut self,
        frames: &mut FrameAllocator,
        va: usize,
        access: Access,
    ) -> Result<FaultFix, FaultError> {
        let vma = self.find_vma(va).ok_or(FaultError::NotMapped)?;
        if !prot_allows(vma.prot, access) {
            return Err(FaultError::AccessDenied);
        }
        // One walk down to the entry; only if a table is missing, a second one that makes
        // it (Linux `__handle_mm_fault`: p4d_alloc ... pte_alloc, then `handle_pte_fault`).
        let entry = match self.pt.walk(va) {
            Some(entry) => entry,
            None => self
                .pt
                .walk_alloc(frames, page_down(va), LEAF_LEVEL)
                .map_err(|_| FaultError::OutOfMemory)?,
        };
        let pte = entry.read();
        match pte.is_valid().then(|| pte.flags()) {
            // Linux `do_anonymous_page`: a fresh zeroed frame.
            None => {
                let page = frames.alloc_zeroed().ok_or(FaultError::OutOfMemory)?;
                entry.write(Pte::page(
                    page.as_usize(),
                    user_pte_flags(vma.prot, vma.shared),
                ));
                Ok(FaultFix::DemandZero)
            }
            Some(flags) if allows(flags, access) => {
                arch::flush_tlb_page(self.pt.asid(), page_down(va));
                Ok(FaultFix::Spurious)
            }
            Some(_) => match self.pt.resolve_cow(frames, va) {
                CowOutcome::Copied => {
                    self.cow_copies += 1;
                    Ok(FaultFix::CowCopied)
                }
                CowOutcome::Reused => {
                    self.cow_reuses += 1;
                    Ok(FaultFix::CowReused)
                }
                CowOutcome::OutOfMemory => Err(FaultError::OutOfMemory),
                CowOutcome::NotCow => Err(FaultError::AccessDenied),
            },
        }
    }

    /// Pages mapped in this address space (Linux `get_mm_rss`): what the OOM killer
    /// weighs. Walks the tables of every VMA, so it is for rare paths only.
    pub fn resident_pages(&self) -> usize {
        let mut n = 0;
        for v in self.vmas.values() {
            super::walk::for_each_leaf(self.pt.root_table(), v.start, v.end, |_| n += 1);
        }
        n
    }

    /// The child's copy for fork (Linux `dup_mmap`): same VMAs, tables copy-on-write.
    pub fn fork(&mut self, frames: &mut FrameAllocator, child_asid: u16) -> KResult<AddressSpace> {
        let mut child = AddressSpace::new(frames, child_asid).ok_or(Errno::ENOMEM)?;
        child.vmas = self.vmas.clone();
        child.brk_start = self.brk_start;
        child.brk = self.brk;
        let ranges = self.vmas.values().map(|v| (v.start, v.end));
        match self.pt.copy_page_range(frames, &mut child.pt, ranges) {
            Ok(_) => Ok(child),
            Err(OutOfMemory) => {
                child.destroy(frames);
                Err(Errno::ENOMEM)
            }
        }
    }

    pub fn destroy(self, frames: &mut FrameAllocator) {
        let ranges = self.vmas.values().map(|v| (v.start, v.end));
        self.pt.destroy_ranges(frames, ranges);
    }

    /// Kernel-side write into this address space (the ELF loader, the initial stack),
    /// through the linear map. Pages are faulted in as needed, COW pages broken.
    pub fn write_bytes(
        &mut self,
        frames: &mut FrameAllocator,
        va: usize,
        data: &[u8],
    ) -> KResult<()> {
        self.fill(frames, va, data.len(), Some(data))
    }

    /// Kernel-side zeroing of `len` bytes at `va`, like `write_bytes` (Linux `clear_user`;
    /// the ELF loader's bss).
    pub fn zero_bytes(
        &mut self,
        frames: &mut FrameAllocator,
        va: usize,
        len: usize,
    ) -> KResult<()> {
        self.fill(frames, va, len, None)
    }

    /// Writes `data` (or zeroes) over `len` bytes at `va`, one page at a time.
    fn fill(
        &mut self,
        frames: &mut FrameAllocator,
        va: usize,
        len: usize,
        data: Option<&[u8]>,
    ) -> KResult<()> {
        let mut done = 0;
        while done < len {
            let at = va + done;
            let exec = self
                .find_vma(at)
                .ok_or(Errno::EFAULT)?
                .prot
                .contains(Prot::EXEC);
            let frame = match self.pt.lookup(at) {
                None => self.fault_in(frames, at).map_err(|_| Errno::ENOMEM)?,
                Some((_, f)) if f.contains(PteFlags::COW) => {
                    if self.pt.resolve_cow(frames, at) == CowOutcome::OutOfMemory {
                        return Err(Errno::ENOMEM);
                    }
                    self.pt.lookup(at).unwrap().0
                }
                Some((pa, _)) => pa,
            };
            let offset = at % PAGE_SIZE;
            let n = (PAGE_SIZE - offset).min(len - done);
            let dst = frame.as_ptr().wrapping_add(offset);
            match data {
                // SAFETY: `frame` is mapped by this address space (we hold a reference
                // through the page table), offset + n <= PAGE_SIZE, and `data` is a kernel
                // buffer, not this frame.
                Some(data) => unsafe {
                    core::ptr::copy_nonoverlapping(data[done..].as_ptr(), dst, n)
                },
                // SAFETY: as above.
                None => unsafe { core::ptr::write_bytes(dst, 0, n) },
            }
            // Instructions written for EL0 must reach its instruction fetch: once per
            // frame, now that all of this call's bytes for it are written.
            if exec {
                arch::sync_icache_frame(frame.as_usize());
            }
            done += n;
        }
        Ok(())
    }

    /// Kernel-side read of mapped memory (tests, futex keys); unmapped bytes are an error.
    pub fn read_bytes(&self, va: usize, out: &mut [u8]) -> KResult<()> {
        let mut done = 0;
        while done < out.len() {
            let at = va + done;
            let (frame, _) = self.pt.lookup(at).ok_or(Errno::EFAULT)?;
            let offset = at % PAGE_SIZE;
            let n = (PAGE_SIZE - offset).min(out.len() - done);
            // SAFETY: as in write_bytes.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    frame.as_ptr().add(offset),
                    out[done..].as_mut_ptr(),
                    n,
                )
            };
            done += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::frame::sim::SimMemory;

    const RW: Prot = Prot::READ.union(Prot::WRITE);

    fn space(m: &mut SimMemory) -> AddressSpace {
        AddressSpace::new(&mut m.frames, 1).unwrap()
    }

    #[test]
    fn demand_zero_then_cow_after_fork() {
        let mut m = SimMemory::new(64);
        let f = &mut m.frames;
        let mut parent = AddressSpace::new(f, 1).unwrap();
        let a = parent
            .mmap_anon(f, 0, 3 * PAGE_SIZE, RW, false, false)
            .unwrap();
        assert_eq!(a, MMAP_BASE);
        assert_eq!(parent.pt.lookup(a), None, "lazy");
        assert_eq!(
            parent.handle_fault(f, a + 8, Access::Write),
            Ok(FaultFix::DemandZero)
        );
        parent.write_bytes(f, a, b"parent").unwrap();
        let mut child = parent.fork(f, 2).unwrap();
        assert_eq!(
            child.handle_fault(f, a, Access::Write),
            Ok(FaultFix::CowCopied)
        );
        child.write_bytes(f, a, b"child!").unwrap();
        let mut buf = [0u8; 6];
        parent.read_bytes(a, &mut buf).unwrap();
        assert_eq!(&buf, b"parent");
        child.read_bytes(a, &mut buf).unwrap();
        assert_eq!(&buf, b"child!");
        assert_eq!(
            parent.handle_fault(f, a, Access::Write),
            Ok(FaultFix::CowReused)
        );
        // A page never touched before fork is demand-zeroed separately in each.
        assert_eq!(
            child.handle_fault(f, a + PAGE_SIZE, Access::Read),
            Ok(FaultFix::DemandZero)
        );
        parent.destroy(f);
        child.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn faults_outside_or_against_the_vma_are_refused() {
        let mut m = SimMemory::new(64);
        let mut s = space(&mut m);
        let f = &mut m.frames;
        let text = 0x40_0000;
        s.insert_vma(Vma {
            start: text,
            end: text + PAGE_SIZE,
            prot: Prot::READ | Prot::EXEC,
            shared: false,
        })
        .unwrap();
        s.write_bytes(f, text, &[1, 2, 3]).unwrap();
        assert_eq!(
            s.handle_fault(f, text, Access::Write),
            Err(FaultError::AccessDenied)
        );
        assert_eq!(
            s.handle_fault(f, 0x10, Access::Read),
            Err(FaultError::NotMapped)
        );
        let none = s
            .mmap_anon(f, 0, PAGE_SIZE, Prot::empty(), false, false)
            .unwrap();
        assert_eq!(
            s.handle_fault(f, none, Access::Read),
            Err(FaultError::AccessDenied)
        );
        let data = s.mmap_anon(f, 0, PAGE_SIZE, RW, false, false).unwrap();
        assert_eq!(
            s.handle_fault(f, data, Access::Exec),
            Err(FaultError::AccessDenied)
        );
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn shared_mappings_stay_shared_across_fork() {
        let mut m = SimMemory::new(64);
        let f = &mut m.frames;
        let mut parent = AddressSpace::new(f, 1).unwrap();
        let a = parent
            .mmap_anon(f, 0, 2 * PAGE_SIZE, RW, true, false)
            .unwrap();
        assert!(
            parent.pt.lookup(a + PAGE_SIZE).is_some(),
            "populated at mmap"
        );
        let mut child = parent.fork(f, 2).unwrap();
        child.write_bytes(f, a, b"hi").unwrap();
        let mut buf = [0u8; 2];
        parent.read_bytes(a, &mut buf).unwrap();
        assert_eq!(&buf, b"hi");
        assert_eq!(parent.pt.lookup(a), child.pt.lookup(a));
        parent.destroy(f);
        child.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn munmap_splits_and_frees() {
        let mut m = SimMemory::new(64);
        let f = &mut m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let a = s.mmap_anon(f, 0, 4 * PAGE_SIZE, RW, false, false).unwrap();
        for i in 0..4 {
            s.handle_fault(f, a + i * PAGE_SIZE, Access::Write).unwrap();
        }
        let tables = f.in_use() - 4;
        s.munmap(f, a + PAGE_SIZE, 2 * PAGE_SIZE).unwrap();
        assert_eq!(f.in_use(), tables + 2);
        s.munmap(f, a, 4 * PAGE_SIZE).unwrap();
        assert_eq!(f.in_use(), 1, "empty tables freed; only the root is left");
        let a = s.mmap_anon(f, 0, 4 * PAGE_SIZE, RW, false, false).unwrap();
        s.munmap(f, a + PAGE_SIZE, 2 * PAGE_SIZE).unwrap();
        assert!(s.find_vma(a).is_some() && s.find_vma(a + PAGE_SIZE).is_none());
        assert!(s.find_vma(a + 3 * PAGE_SIZE).is_some());
        assert_eq!(
            s.handle_fault(f, a + PAGE_SIZE, Access::Read),
            Err(FaultError::NotMapped)
        );
        assert_eq!(s.munmap(f, a + 1, PAGE_SIZE), Err(Errno::EINVAL));
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn mprotect_keeps_shared_frames_copy_on_write() {
        let mut m = SimMemory::new(64);
        let f = &mut m.frames;
        let mut parent = AddressSpace::new(f, 1).unwrap();
        let a = parent
            .mmap_anon(f, 0, PAGE_SIZE, Prot::READ, false, false)
            .unwrap();
        parent.handle_fault(f, a, Access::Read).unwrap();
        let mut child = parent.fork(f, 2).unwrap();
        child.mprotect(f, a, PAGE_SIZE, RW).unwrap();
        let (_, flags) = child.pt.lookup(a).unwrap();
        assert!(
            flags.contains(PteFlags::READ_ONLY | PteFlags::COW),
            "frame still shared with parent"
        );
        assert_eq!(
            child.handle_fault(f, a, Access::Write),
            Ok(FaultFix::CowCopied)
        );
        assert_eq!(
            parent.mprotect(f, a, 2 * PAGE_SIZE, RW),
            Err(Errno::ENOMEM),
            "hole in range"
        );
        parent.destroy(f);
        child.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// The kernel writing into an executable VMA (the ELF loader) synchronises the I-cache
    /// once per frame written, after its bytes; writes to data pages do not.
    #[test]
    fn writes_to_executable_pages_sync_the_icache() {
        let mut m = SimMemory::new(64);
        let f = &mut m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let text = 0x40_0000;
        s.insert_vma(Vma {
            start: text,
            end: text + 3 * PAGE_SIZE,
            prot: Prot::READ | Prot::EXEC,
            shared: false,
        })
        .unwrap();
        let data = s.mmap_anon(f, 0, 2 * PAGE_SIZE, RW, false, false).unwrap();
        arch::take_icache_log();
        // 2 pages and a bit: three frames, each synchronised once.
        s.write_bytes(f, text + 8, &[0xd5; 2 * PAGE_SIZE]).unwrap();
        let frames: alloc::vec::Vec<usize> = (0..3)
            .map(|i| s.pt.lookup(text + i * PAGE_SIZE).unwrap().0.as_usize())
            .collect();
        assert_eq!(arch::take_icache_log(), frames);
        s.zero_bytes(f, text + PAGE_SIZE, 16).unwrap();
        assert_eq!(
            arch::take_icache_log(),
            [frames[1]],
            "zeroing code is writing code"
        );
        s.write_bytes(f, data, &[1; 2 * PAGE_SIZE]).unwrap();
        assert_eq!(
            arch::take_icache_log(),
            [],
            "data pages need no I-cache sync"
        );
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn brk_grows_and_shrinks() {
        let mut m = SimMemory::new(64);
        let f = &mut m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        s.brk_start = 0x60_0000;
        s.brk = 0x60_0000;
        assert_eq!(s.brk(f, 0), 0x60_0000);
        assert_eq!(s.brk(f, 0x60_2010), 0x60_2010);
        s.write_bytes(f, 0x60_2000, &[1; 16]).unwrap();
        assert_eq!(
            s.handle_fault(f, 0x60_3000, Access::Read),
            Err(FaultError::NotMapped)
        );
        assert_eq!(s.brk(f, 0x60_1000), 0x60_1000);
        assert_eq!(
            s.handle_fault(f, 0x60_2000, Access::Read),
            Err(FaultError::NotMapped)
        );
        assert_eq!(s.brk(f, 0x10), 0x60_1000, "below the start: unchanged");
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn fork_out_of_memory_frees_everything() {
        for fail_at in 0..8 {
            let mut m = SimMemory::new(64);
            let f = &mut m.frames;
            let mut s = AddressSpace::new(f, 1).unwrap();
            let a = s.mmap_anon(f, 0, 2 * PAGE_SIZE, RW, false, false).unwrap();
            s.write_bytes(f, a, &[5; 2 * PAGE_SIZE]).unwrap();
            let baseline = f.in_use();
            f.fail_after(Some(fail_at));
            let child = s.fork(f, 2);
            f.fail_after(None);
            match child {
                Ok(c) => c.destroy(f),
                Err(e) => assert_eq!(e, Errno::ENOMEM),
            }
            assert_eq!(f.in_use(), baseline, "fail_at={fail_at}");
            s.destroy(f);
        }
    }
}
