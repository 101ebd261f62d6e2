//! A user address space: the TTBR0 page table plus the list of mapped regions (VMAs).
//! Linux: `struct mm_struct` and `struct vm_area_struct` (include/linux/mm_types.h),
//! mm/mmap.c (`do_mmap`, `mmap_region`, `get_unmapped_area`, `do_munmap`, `vma_merge`,
//! `split_vma`, `sys_brk`), mm/mprotect.c (`do_mprotect_pkey`, `mprotect_fixup`),
//! mm/mremap.c (`sys_mremap`, `mremap_to`, `move_vma`), `dup_mmap` (kernel/fork.c) and the
//! VMA checks of `do_page_fault` (arch/arm64/mm/fault.c).
//!
//! Pages are mapped lazily: a VMA promises memory, the first touch faults and gets a zeroed
//! frame ("demand-zero"). MAP_SHARED anonymous memory is the exception: its frames are
//! allocated at mmap time so that a fork shares the very same frames (Linux keeps them in
//! a shmem object instead; here the page table is the object, so a page of a shared VMA
//! that is not present lies past the object's end: Linux's SIGBUS, a SIGSEGV here).
//!
//! **Validation and limits are Linux 6.1's**, each checked against the real kernel
//! (linux-oracle.sh; user/src/bin/mm_limits.rs asserts them on both): the order of
//! the checks, the errno of each, `vm.max_map_count` (65,530 VMAs; `do_mmap` refuses once
//! the count is *above* it, a split once it is *at* it), `vm.mmap_min_addr` for hints, and
//! the heuristic overcommit check (a single private writable or shared request larger than
//! all of RAM is ENOMEM unless MAP_NORESERVE).
//!
//! **Merging** (Linux `vma_merge`): two adjacent VMAs become one when everything Linux
//! compares is equal — protection, the `vm_flags` that matter here (`VmFlags`), the
//! object mapped and a continuous page offset in it. So adjacent private anonymous
//! mappings with the same protection merge (after mmap, mprotect, mremap); each MAP_SHARED
//! mapping is its own object and never merges with another one, only with its own pieces;
//! the brk heap never merges with an mmap (its flags differ on arm64, as on the oracle).
//! Linux also compares `anon_vma`s, which differ after a fork; that is not modelled: a
//! forked child may merge a little more than Linux would.
//!
//! **Costs** are proportional to what is mapped, never to the size of a range: VMA walks
//! visit the VMAs in the range (a B-tree), page-table walks the tables that exist
//! (`walk.rs`), and the free-area search resumes where the last one ended (Linux 2.6's
//! `free_area_cache`), so a run of mmaps costs O(log n) each.
//!
//! **Heap use**: each VMA is one entry of a `BTreeMap`; creating one (mmap of a new region,
//! a split by munmap/mprotect/mremap) inserts and may allocate a tree node, merging and
//! unmapping only remove. `max_map_count` bounds the entries, so one process's VMA tree
//! is bounded (about 100 bytes a VMA: 6.4 MiB at the limit, measured).

use alloc::collections::BTreeMap;
use alloc::sync::Arc;
use core::cell::Cell;

use bitflags::bitflags;

use super::cow::{CowCopy, CowOutcome, OutOfMemory};
use super::frame::{FrameAllocator, PAGE_SHIFT, PAGE_SIZE, PhysAddr};
use super::odf;
use super::pagetable::{MapError, PageTable, USER_TOP};
use super::vm_file::VmFile;
use super::walk::{Entry, LEAF_LEVEL};
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

/// mprotect's other PROT_* bits (include/uapi/asm-generic/mman-common.h): PROT_SEM is
/// accepted and means nothing; PROT_GROWSDOWN/UP extend the range to the VMA's end.
pub const PROT_SEM: usize = 0x8;
pub const PROT_GROWSDOWN: usize = 0x0100_0000;
pub const PROT_GROWSUP: usize = 0x0200_0000;

bitflags! {
    /// mmap's flags (Linux values, include/uapi/asm-generic/mman*.h). Bits not named here
    /// are kept and ignored, as Linux ignores them (MAP_POPULATE, MAP_STACK, ...).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct MapFlags: u32 {
        const SHARED = 0x01;
        const PRIVATE = 0x02;
        const FIXED = 0x10;
        const ANONYMOUS = 0x20;
        const GROWSDOWN = 0x100;
        const LOCKED = 0x2000;
        const NORESERVE = 0x4000;
        const HUGETLB = 0x4_0000;
        const FIXED_NOREPLACE = 0x10_0000;
        const _ = !0;
    }
}

/// The mapping type: the low four bits of mmap's flags. Only MAP_SHARED and MAP_PRIVATE
/// are anonymous types (MAP_SHARED_VALIDATE, 3, is for files: EINVAL here, as on Linux).
const MAP_TYPE: u32 = 0x0f;
/// MAP_SHARED that refuses unknown flags (files only).
const MAP_SHARED_VALIDATE: u32 = 0x03;

bitflags! {
    /// mremap's flags (include/uapi/linux/mman.h).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct MremapFlags: u32 {
        const MAYMOVE = 1;
        const FIXED = 2;
        const DONTUNMAP = 4;
    }
}

/// Linux `DEFAULT_MAX_MAP_COUNT` (include/linux/mm.h), the default `vm.max_map_count`.
pub const MAX_MAP_COUNT: usize = 65_530;
/// `vm.mmap_min_addr` (Debian's 32768): a hint below it is raised to it. MAP_FIXED may go
/// lower (Linux: with CAP_SYS_RAWIO, which every process here has).
pub const MMAP_MIN_ADDR: usize = 0x8000;
/// Linux `TASK_SIZE`: the user half of a 48-bit address space.
pub const TASK_SIZE: usize = USER_TOP;

/// Top of the initial user stack, and how far it may grow.
pub const STACK_TOP: usize = 0x0000_ffff_ffff_0000;
pub const STACK_SIZE: usize = 8 << 20;
/// Where mmap starts looking for free space (first fit, upwards).
pub const MMAP_BASE: usize = 0x0000_0010_0000_0000;

/// A VMA as the rest of the kernel sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vma {
    pub start: usize,
    pub end: usize,
    pub prot: Prot,
    pub shared: bool,
}

bitflags! {
    /// The `vm_flags` bits besides the protection that Linux keeps per VMA and compares
    /// before merging two (include/linux/mm.h).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    struct VmFlags: u8 {
        /// VM_SHARED: MAP_SHARED.
        const SHARED = 1 << 0;
        /// VM_GROWSDOWN: MAP_GROWSDOWN (the region does not grow here; the flag only
        /// keeps it apart, and allows mprotect's PROT_GROWSDOWN).
        const GROWSDOWN = 1 << 1;
        /// VM_LOCKED: MAP_LOCKED (nothing is ever swapped here; kept for merging).
        const LOCKED = 1 << 2;
        /// VM_ACCOUNT: the memory was committed — private and writable once (kept when
        /// mprotect takes the write permission away, as Linux keeps it).
        const ACCOUNT = 1 << 3;
        /// VM_NORESERVE: MAP_NORESERVE, never committed.
        const NORESERVE = 1 << 4;
        /// The brk heap: arm64's VM_DATA_DEFAULT_FLAGS carry VM_MTE_ALLOWED, which an
        /// anonymous mmap lacks on a CPU without MTE, so the two never merge.
        const DATA = 1 << 5;
        /// A shared mapping of a file not open for writing: mprotect may not make it
        /// writable (Linux: VM_MAYWRITE is missing).
        const NO_MAYWRITE = 1 << 6;
    }
}

/// One VMA as the tree holds it, keyed by its start (Linux `struct vm_area_struct`:
/// `vm_end`, the protection and `vm_flags`, `vm_file`, `vm_pgoff`). 32 bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct VmArea {
    end: usize,
    /// Page offset of the start in `object` (Linux `vm_pgoff`). For private anonymous
    /// memory, the page number the region was first mapped at: a region mremap moved
    /// keeps it, so it does not merge with its new neighbours (nor does Linux's).
    pgoff: usize,
    prot: Prot,
    /// What is mapped (Linux `vm_file`): 0 for private anonymous memory; otherwise an
    /// object of this address space — one per MAP_SHARED mapping (Linux: its shmem file)
    /// and one per region the loader or exec inserts (Linux: the ELF file, the stack).
    object: u32,
    flags: VmFlags,
}

/// Private anonymous memory (Linux: `vm_file == NULL`).
const ANON: u32 = 0;

impl VmArea {
    fn vma(&self, start: usize) -> Vma {
        Vma {
            start,
            end: self.end,
            prot: self.prot,
            shared: self.flags.contains(VmFlags::SHARED),
        }
    }

    fn shared(&self) -> bool {
        self.flags.contains(VmFlags::SHARED)
    }
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
    /// A shared COW page: the copy is to be made with the lock released, then installed
    /// with `finish_cow` (Mm::handle_fault does both).
    CowCopy(CowCopy),
    CowCopied,
    CowReused,
    /// The entry changed while a COW copy was made: dropped, the access retries.
    CowRaced,
    /// The entry already allows the access (a stale TLB entry): nothing to do.
    Spurious,
    /// A page of a mapped file was mapped (shared, or private and copy-on-write).
    FilePage,
    /// A write to a private file mapping: the file's page was copied at once.
    FileCopied,
}

/// Why a page fault could not be resolved.
#[derive(Debug, PartialEq, Eq)]
pub enum FaultError {
    /// No VMA covers the address (SEGV_MAPERR).
    NotMapped,
    /// The VMA forbids this access (SEGV_ACCERR), e.g. a write to text.
    AccessDenied,
    /// A file mapping's page lies past the end of the file (SIGBUS, BUS_ADRERR).
    PastEndOfFile,
    OutOfMemory,
}

pub fn page_down(x: usize) -> usize {
    x & !(PAGE_SIZE - 1)
}

pub fn page_up(x: usize) -> Option<usize> {
    x.checked_add(PAGE_SIZE - 1).map(page_down)
}

/// Linux `PAGE_ALIGN`: rounds up, wrapping to 0 past the top (the callers test for it).
fn page_align(x: usize) -> usize {
    page_down(x.wrapping_add(PAGE_SIZE - 1))
}

fn pages(len: usize) -> usize {
    len / PAGE_SIZE
}

/// PTE flags for a user page of a VMA with `prot`: the arch layer's encoding (PROT_NONE
/// inaccessible to EL0 and uaccess; write or execute permission implies read).
pub fn user_pte_flags(prot: Prot, shared: bool) -> PteFlags {
    PteFlags::user_page(
        prot.contains(Prot::READ),
        prot.contains(Prot::WRITE),
        prot.contains(Prot::EXEC),
        shared,
    )
}

/// Does the entry already allow the access? (Then a fault on it was spurious.)
fn allows(flags: PteFlags, access: Access) -> bool {
    match access {
        Access::Read => flags.user_readable(),
        Access::Write => flags.user_writable(),
        Access::Exec => flags.user_executable(),
    }
}

/// Does the VMA allow the access? (arm64 `do_page_fault`: a read is allowed by any of
/// VM_READ, VM_WRITE ("write implies read") and VM_EXEC ("exec implies read" without
/// Enhanced PAN); a write needs VM_WRITE, an instruction fetch VM_EXEC.)
fn prot_allows(prot: Prot, access: Access) -> bool {
    match access {
        Access::Read => !prot.is_empty(),
        Access::Write => prot.contains(Prot::WRITE),
        Access::Exec => prot.contains(Prot::EXEC),
    }
}

/// Linux `round_hint_to_min`: a hint is rounded down to a page, and raised to
/// `mmap_min_addr` if it is below it.
fn round_hint_to_min(hint: usize) -> usize {
    let hint = page_down(hint);
    if hint != 0 && hint < MMAP_MIN_ADDR {
        MMAP_MIN_ADDR
    } else {
        hint
    }
}

/// Linux `__vm_enough_memory` with the default `vm.overcommit_memory = 0` (heuristic):
/// one request may not commit more pages than there is RAM (no swap here).
fn vm_enough_memory(frames: &FrameAllocator, pages: usize) -> bool {
    pages <= frames.in_use() + frames.free_frames()
}

pub struct AddressSpace {
    pub pt: PageTable,
    /// The VMAs by start address. Changed only through `vmas_mut`, which forgets the
    /// cached lookup.
    vmas: BTreeMap<usize, VmArea>,
    /// The VMA `find_vma` found last (Linux's former per-thread `vmacache`): page faults
    /// come in runs on the same region, and a tree lookup costs more than the rest of a
    /// demand-zero fault's bookkeeping.
    vma_cache: Cell<Option<(usize, VmArea)>>,
    /// Where the last free-area search ended, and the largest hole it passed over below
    /// that (Linux 2.6's `mm->free_area_cache` and `cached_hole_size`): the next search
    /// resumes there unless the request would fit a hole below it.
    free_area_cache: usize,
    cached_hole_size: usize,
    /// The last object number handed out (see `VmArea::object`).
    last_object: u32,
    /// The files mapped, by object number (Linux: each VMA's `vm_file`; here the VMAs of
    /// one mmap share an object, and so their file).
    files: BTreeMap<u32, Arc<dyn VmFile>>,
    /// `vm.max_map_count`: MAX_MAP_COUNT (tests lower it to stay quick under Miri).
    pub max_map_count: usize,
    pub brk_start: usize,
    pub brk: usize,
    /// Where execve mapped the vDSO (Linux `mm->context.vdso`), 0 if nowhere (vdso/).
    pub vdso_base: usize,
    /// Write faults on COW pages of this address space: copied / made writable in place.
    pub cow_copies: usize,
    pub cow_reuses: usize,
}

impl AddressSpace {
    pub fn new(frames: &FrameAllocator, asid: u16) -> Option<AddressSpace> {
        Some(AddressSpace {
            pt: PageTable::new(frames, asid)?,
            vmas: BTreeMap::new(),
            vma_cache: Cell::new(None),
            free_area_cache: MMAP_BASE,
            cached_hole_size: 0,
            last_object: ANON,
            files: BTreeMap::new(),
            max_map_count: MAX_MAP_COUNT,
            brk_start: 0,
            brk: 0,
            vdso_base: 0,
            cow_copies: 0,
            cow_reuses: 0,
        })
    }

    // ---- The VMA tree -------------------------------------------------------------------

    /// The VMA containing `va`, as the tree holds it.
    fn vma_at(&self, va: usize) -> Option<(usize, VmArea)> {
        if let Some((start, v)) = self.vma_cache.get()
            && start <= va
            && va < v.end
        {
            return Some((start, v));
        }
        let found = self
            .vmas
            .range(..=va)
            .next_back()
            .map(|(&s, &v)| (s, v))
            .filter(|(_, v)| va < v.end);
        if found.is_some() {
            self.vma_cache.set(found);
        }
        found
    }

    /// The VMA containing `va` (Linux `vma_lookup`).
    pub fn find_vma(&self, va: usize) -> Option<Vma> {
        self.vma_at(va).map(|(s, v)| v.vma(s))
    }

    /// The first VMA that ends above `va` (Linux `find_vma`: it may start above `va`).
    fn vma_ending_above(&self, va: usize) -> Option<(usize, VmArea)> {
        self.vma_at(va)
            .or_else(|| self.vmas.range(va..).next().map(|(&s, &v)| (s, v)))
    }

    /// The VMA that ends exactly at `va`, if any.
    fn vma_ending_at(&self, va: usize) -> Option<(usize, VmArea)> {
        self.vmas
            .range(..va)
            .next_back()
            .map(|(&s, &v)| (s, v))
            .filter(|(_, v)| v.end == va)
    }

    /// The VMA tree, for a change: the cached lookup is forgotten.
    fn vmas_mut(&mut self) -> &mut BTreeMap<usize, VmArea> {
        self.vma_cache.set(None);
        &mut self.vmas
    }

    pub fn vmas(&self) -> impl Iterator<Item = Vma> + '_ {
        self.vmas.iter().map(|(&s, v)| v.vma(s))
    }

    /// Number of VMAs (Linux `mm->map_count`).
    /// The file mapped by the VMA starting at `start`, with the page offset of that
    /// start in the file (Linux `vm_file`, `vm_pgoff`); None for anonymous memory.
    pub fn vma_file(&self, start: usize) -> Option<(Arc<dyn VmFile>, usize)> {
        let area = self.vmas.get(&start)?;
        self.files
            .get(&area.object)
            .map(|f| (f.clone(), area.pgoff))
    }

    pub fn map_count(&self) -> usize {
        self.vmas.len()
    }

    /// Does any VMA overlap `[start, end)`? (Linux `find_vma_intersection`.)
    fn overlaps(&self, start: usize, end: usize) -> bool {
        self.vmas
            .range(..end)
            .next_back()
            .is_some_and(|(_, v)| v.end > start)
    }

    fn new_object(&mut self) -> u32 {
        // Objects only need to differ within this address space; after 2^32 of them a
        // number comes back, which could at worst let two shared mappings merge.
        self.last_object = self.last_object.wrapping_add(1).max(1);
        self.last_object
    }

    /// Could `(bs, b)` follow `(a_start, a)` as one VMA? (Linux `is_mergeable_vma` and the
    /// page-offset test of `can_vma_merge_after`.)
    fn can_merge(a_start: usize, a: &VmArea, b_start: usize, b: &VmArea) -> bool {
        a.end == b_start
            && a.prot == b.prot
            && a.flags == b.flags
            && a.object == b.object
            && a.pgoff.wrapping_add(pages(a.end - a_start)) == b.pgoff
    }

    /// Merges the VMA ending at `at` with the one starting there, if they are compatible
    /// (the two halves of Linux's `vma_merge`). Only removes from the tree.
    fn merge_at(&mut self, at: usize) {
        let (Some((ps, p)), Some(&n)) = (self.vma_ending_at(at), self.vmas.get(&at)) else {
            return;
        };
        if Self::can_merge(ps, &p, at, &n) {
            let vmas = self.vmas_mut();
            vmas.remove(&at);
            if let Some(p) = vmas.get_mut(&ps) {
                p.end = n.end;
            }
        }
    }

    /// Adds `area` at `start` over a free range, merged with its neighbours when they are
    /// compatible (Linux `mmap_region`'s `vma_expand`, `copy_vma`'s `vma_merge`): growing
    /// the previous VMA allocates nothing.
    fn vma_link(&mut self, start: usize, area: VmArea) {
        debug_assert!(!self.overlaps(start, area.end));
        if let Some((ps, p)) = self.vma_ending_at(start)
            && Self::can_merge(ps, &p, start, &area)
        {
            if let Some(p) = self.vmas_mut().get_mut(&ps) {
                p.end = area.end;
            }
        } else {
            self.vmas_mut().insert(start, area);
        }
        self.merge_at(area.end);
    }

    /// Splits the VMA containing `at` so that a VMA boundary falls on `at`, with no limit
    /// (Linux `__split_vma`). The one allocation of the VMA paths besides a new VMA.
    fn split_vma_unchecked(&mut self, at: usize) {
        let Some((start, v)) = self.vma_at(at) else {
            return;
        };
        if start == at {
            return;
        }
        let tail = VmArea {
            pgoff: v.pgoff + pages(at - start),
            ..v
        };
        let vmas = self.vmas_mut();
        if let Some(head) = vmas.get_mut(&start) {
            head.end = at;
        }
        vmas.insert(at, tail);
    }

    /// `split_vma_unchecked` within `vm.max_map_count` (Linux `split_vma`).
    fn split_vma(&mut self, at: usize) -> KResult<()> {
        if self.map_count() >= self.max_map_count {
            return Err(Errno::ENOMEM);
        }
        self.split_vma_unchecked(at);
        Ok(())
    }

    // ---- Regions made by the kernel (ELF loader, exec) ----------------------------------

    /// Adds a VMA over a range that must be free. It maps an object of its own, like the
    /// file or stack region it stands for, so it never merges with anonymous memory.
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
        let area = VmArea {
            end: vma.end,
            pgoff: pages(vma.start),
            prot: vma.prot,
            object: self.new_object(),
            flags: if vma.shared {
                VmFlags::SHARED
            } else {
                VmFlags::empty()
            },
        };
        self.vmas_mut().insert(vma.start, area);
        Ok(())
    }

    /// Maps the pages of `object` — kernel pages every process shares, like the vDSO —
    /// privately at `[start, start + len)`, which must be free (Linux
    /// `_install_special_mapping`). The pages come on demand from `object` as a file's
    /// would; `may_write` says whether mprotect may add PROT_WRITE (then a write copies
    /// the page, never changing the shared one) or must refuse it with EACCES.
    pub fn install_special_mapping(
        &mut self,
        start: usize,
        len: usize,
        prot: Prot,
        object: Arc<dyn VmFile>,
        may_write: bool,
    ) -> KResult<()> {
        let end = start.checked_add(len).ok_or(Errno::EINVAL)?;
        if len == 0 || end > USER_TOP || !start.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if self.overlaps(start, end) {
            return Err(Errno::ENOMEM);
        }
        let id = self.new_object();
        self.files.insert(id, object);
        let area = VmArea {
            end: page_align(end),
            pgoff: 0,
            prot,
            object: id,
            flags: if may_write {
                VmFlags::empty()
            } else {
                VmFlags::NO_MAYWRITE
            },
        };
        self.vmas_mut().insert(start, area);
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
        let old = *self.vmas.get(&start).ok_or(Errno::EINVAL)?;
        if end < old.end || !end.is_multiple_of(PAGE_SIZE) || self.overlaps(old.end, end) {
            return Err(Errno::ENOMEM);
        }
        if let Some(v) = self.vmas_mut().get_mut(&start) {
            v.end = end;
        }
        self.mprotect(frames, start, end - start, prot)
    }

    // ---- mmap ---------------------------------------------------------------------------

    /// Linux `get_unmapped_area` → `arch_get_unmapped_area`: checks a fixed address, tries
    /// a hint, or finds a free range of `len` (page-aligned) bytes.
    fn get_unmapped_area(&mut self, addr: usize, len: usize, fixed: bool) -> KResult<usize> {
        if len > TASK_SIZE || len > TASK_SIZE - MMAP_MIN_ADDR {
            return Err(Errno::ENOMEM);
        }
        let addr = if fixed {
            addr
        } else if addr != 0
            && let Some(hint) = page_up(addr)
            && hint <= TASK_SIZE - len
            && hint >= MMAP_MIN_ADDR
            && !self.overlaps(hint, hint + len)
        {
            hint
        } else {
            self.find_free_area(len).ok_or(Errno::ENOMEM)?
        };
        if addr > TASK_SIZE - len {
            return Err(Errno::ENOMEM);
        }
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        Ok(addr)
    }

    /// Where an mmap of `len` bytes with no hint would go (the ELF loader places the
    /// dynamic loader there, as Linux's `load_elf_interp` maps it with no address).
    pub fn free_area(&mut self, len: usize) -> KResult<usize> {
        self.get_unmapped_area(0, len, false)
    }

    /// First fit upwards from MMAP_BASE, resuming where the last search ended (Linux 2.6
    /// `arch_get_unmapped_area` with `free_area_cache`): a run of mmaps costs a tree lookup
    /// each, not a walk over every VMA below.
    fn find_free_area(&mut self, len: usize) -> Option<usize> {
        let limit = TASK_SIZE.checked_sub(len)?; // the highest start that still fits
        let mut start_addr = if len > self.cached_hole_size {
            self.free_area_cache.max(MMAP_BASE)
        } else {
            self.cached_hole_size = 0;
            MMAP_BASE
        };
        loop {
            let mut addr = self.vma_at(start_addr).map_or(start_addr, |(_, v)| v.end);
            let mut found = None;
            for (&s, v) in self.vmas.range(addr..) {
                if addr > limit {
                    break;
                }
                if addr + len <= s {
                    found = Some(addr);
                    break;
                }
                if addr + self.cached_hole_size < s {
                    self.cached_hole_size = s - addr;
                }
                addr = v.end;
            }
            if found.is_none() && addr <= limit {
                found = Some(addr);
            }
            if let Some(addr) = found {
                self.free_area_cache = addr + len;
                return Some(addr);
            }
            if start_addr == MMAP_BASE {
                return None;
            }
            // Start again from the bottom, in case a hole was missed.
            start_addr = MMAP_BASE;
            self.cached_hole_size = 0;
        }
    }

    /// A new hole at `addr` (Linux 2.6 `arch_unmap_area`): the next search may start there.
    fn unmap_area(&mut self, addr: usize) {
        if addr >= MMAP_BASE && addr < self.free_area_cache {
            self.free_area_cache = addr;
        }
    }

    /// The first half of Linux `do_mmap`, for anonymous memory and files alike: the
    /// length (EINVAL if 0, ENOMEM if rounding it up wraps), the file offset of the end
    /// (EOVERFLOW), `vm.max_map_count` (ENOMEM), then the place (MAP_FIXED, or a hole
    /// from the hint up) — MAP_FIXED_NOREPLACE refusing to replace (EEXIST). Returns the
    /// address, the page-aligned length and the flags (FIXED_NOREPLACE implies FIXED).
    fn place_mapping(
        &mut self,
        addr: usize,
        len: usize,
        flags: u32,
        pgoff: usize,
    ) -> KResult<(usize, usize, MapFlags)> {
        let mut flags = MapFlags::from_bits_retain(flags);
        if len == 0 {
            return Err(Errno::EINVAL);
        }
        if flags.contains(MapFlags::FIXED_NOREPLACE) {
            flags |= MapFlags::FIXED;
        }
        let fixed = flags.contains(MapFlags::FIXED);
        let addr = if fixed { addr } else { round_hint_to_min(addr) };
        let len = page_align(len);
        if len == 0 {
            return Err(Errno::ENOMEM); // PAGE_ALIGN wrapped: larger than everything
        }
        if pgoff
            .checked_add(pages(len))
            .is_none_or(|e| e > usize::MAX >> PAGE_SHIFT)
        {
            return Err(Errno::EOVERFLOW);
        }
        if self.map_count() > self.max_map_count {
            return Err(Errno::ENOMEM);
        }
        let addr = self.get_unmapped_area(addr, len, fixed)?;
        if flags.contains(MapFlags::FIXED_NOREPLACE) && self.overlaps(addr, addr + len) {
            return Err(Errno::EEXIST);
        }
        Ok((addr, len, flags))
    }

    /// mmap(2) of anonymous memory (Linux `do_mmap` → `mmap_region`), Linux's checks in
    /// Linux's order. `flags` are mmap's raw flags (MAP_ANONYMOUS and the file checks are
    /// the system call's business); unknown `prot` bits must already be dropped.
    pub fn do_mmap(
        &mut self,
        frames: &FrameAllocator,
        addr: usize,
        len: usize,
        prot: Prot,
        flags: u32,
    ) -> KResult<usize> {
        let (addr, len, flags) = self.place_mapping(addr, len, flags, 0)?;
        // Linux `calc_vm_flag_bits` and the mapping type.
        let mut vm_flags = VmFlags::empty();
        if flags.contains(MapFlags::GROWSDOWN) {
            vm_flags |= VmFlags::GROWSDOWN;
        }
        if flags.contains(MapFlags::LOCKED) {
            vm_flags |= VmFlags::LOCKED;
        }
        match flags.bits() & MAP_TYPE {
            t if t == MapFlags::SHARED.bits() => {
                if vm_flags.contains(VmFlags::GROWSDOWN) {
                    return Err(Errno::EINVAL);
                }
                vm_flags |= VmFlags::SHARED;
            }
            t if t == MapFlags::PRIVATE.bits() => {}
            _ => return Err(Errno::EINVAL),
        }
        if flags.contains(MapFlags::NORESERVE) {
            vm_flags |= VmFlags::NORESERVE;
        }
        self.mmap_region(frames, addr, len, prot, vm_flags)
    }

    /// Linux `mmap_region`: replaces what is at `[addr, addr + len)` by a new anonymous
    /// VMA, merged with its neighbours if they are compatible.
    fn mmap_region(
        &mut self,
        frames: &FrameAllocator,
        addr: usize,
        len: usize,
        prot: Prot,
        mut flags: VmFlags,
    ) -> KResult<usize> {
        let end = addr + len;
        // MAP_FIXED: unmap what is there first (Linux: any failure is ENOMEM).
        if self.overlaps(addr, end) {
            self.munmap_range(frames, addr, end)
                .map_err(|_| Errno::ENOMEM)?;
        }
        let shared = flags.contains(VmFlags::SHARED);
        // Commit accounting: private writable memory (`accountable_mapping`) and shared
        // memory (`shmem_acct_size`), unless MAP_NORESERVE.
        if !flags.contains(VmFlags::NORESERVE) && (shared || prot.contains(Prot::WRITE)) {
            if !vm_enough_memory(frames, pages(len)) {
                return Err(Errno::ENOMEM);
            }
            if !shared {
                flags |= VmFlags::ACCOUNT;
            }
        }
        let (object, pgoff) = if shared {
            // Shared memory is populated now: it cannot be if there are not enough free
            // frames, so do not zero every free frame first to find out.
            if pages(len) > frames.free_frames() {
                return Err(Errno::ENOMEM);
            }
            (self.new_object(), 0)
        } else {
            (ANON, pages(addr))
        };
        let area = VmArea {
            end,
            pgoff,
            prot,
            object,
            flags,
        };
        self.vma_link(addr, area);
        if shared && self.populate(frames, addr, end).is_err() {
            let _ = self.munmap_range(frames, addr, end);
            return Err(Errno::ENOMEM);
        }
        Ok(addr)
    }

    /// Anonymous mmap for kernel code and tests: private or shared, read-write as `prot`
    /// says; `fixed` places it at `addr` (replacing what was there).
    pub fn mmap_anon(
        &mut self,
        frames: &FrameAllocator,
        addr: usize,
        len: usize,
        prot: Prot,
        shared: bool,
        fixed: bool,
    ) -> KResult<usize> {
        let mut flags = if shared {
            MapFlags::SHARED
        } else {
            MapFlags::PRIVATE
        } | MapFlags::ANONYMOUS;
        if fixed {
            flags |= MapFlags::FIXED;
        }
        self.do_mmap(frames, addr, len, prot, flags.bits())
    }

    fn populate(
        &mut self,
        frames: &FrameAllocator,
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
    fn fault_in(&mut self, frames: &FrameAllocator, va: usize) -> Result<PhysAddr, OutOfMemory> {
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

    // ---- munmap -------------------------------------------------------------------------

    /// munmap(2) (Linux `do_mas_munmap`): Linux's EINVAL checks, then `munmap_range`.
    pub fn munmap(&mut self, frames: &FrameAllocator, addr: usize, len: usize) -> KResult<()> {
        if !addr.is_multiple_of(PAGE_SIZE) || addr > TASK_SIZE || len > TASK_SIZE - addr {
            return Err(Errno::EINVAL);
        }
        let end = addr + page_align(len);
        if end == addr {
            return Err(Errno::EINVAL);
        }
        self.munmap_range(frames, addr, end)
    }

    /// Unmaps the page-aligned `[start, end)` (Linux `do_mas_align_munmap`): splits the
    /// VMAs at both ends, removes those inside with their pages, frees the page tables
    /// left empty. Costs the VMAs and tables in the range, not its size.
    fn munmap_range(&mut self, frames: &FrameAllocator, start: usize, end: usize) -> KResult<()> {
        let Some((first, v)) = self.vma_ending_above(start).filter(|&(s, _)| s < end) else {
            return Ok(());
        };
        // ODF fork (odf.rs): shared tables in the range are dropped (whole 2 MiB) or
        // copied (partly unmapped) first — the other sharers keep their pages.
        odf::unshare_range(&mut self.pt, frames, start, end, true)
            .map_err(|OutOfMemory| Errno::ENOMEM)?;
        if first < start {
            // Splitting one VMA in three: only within the limit (Linux lets a munmap that
            // splits at one end only go one above it, to free memory as asked).
            if end < v.end && self.map_count() >= self.max_map_count {
                return Err(Errno::ENOMEM);
            }
            self.split_vma_unchecked(start);
        }
        self.split_vma_unchecked(end);
        let mut removed_file_vma = false;
        while let Some((&s, &v)) = self.vmas.range(start..end).next() {
            self.vmas_mut().remove(&s);
            self.pt.unmap_range(frames, s, v.end);
            removed_file_vma |= self.files.contains_key(&v.object);
        }
        self.pt.free_empty_tables(frames, start, end);
        self.unmap_area(start);
        // (Only if a file's VMA went: the check walks every VMA, and a process with the
        // vDSO always has files, so doing it for every munmap would make a run of them
        // quadratic.)
        if removed_file_vma {
            self.forget_unmapped_files();
        }
        Ok(())
    }

    /// The file `file_id` was truncated to `first_index` pages (Linux
    /// `unmap_mapping_range(..., even_cows = 1)`): its pages from there on, and private
    /// copies of them, leave this address space; touching them again faults, past the
    /// end of the file: SIGBUS.
    pub fn zap_file_pages(&mut self, frames: &FrameAllocator, file_id: usize, first_index: usize) {
        let hits: alloc::vec::Vec<(usize, usize)> = self
            .vmas
            .iter()
            .filter(|(_, v)| {
                v.object != ANON
                    && self
                        .files
                        .get(&v.object)
                        .is_some_and(|f| f.file_id() == file_id)
            })
            .filter_map(|(&s, v)| {
                let last = v.pgoff + pages(v.end - s);
                (first_index < last)
                    .then(|| (s + (first_index.saturating_sub(v.pgoff)) * PAGE_SIZE, v.end))
            })
            .collect();
        for (from, to) in hits {
            self.pt.unmap_range(frames, from, to);
        }
    }

    /// Drops the files no VMA maps any more (Linux: `fput` of a removed VMA's file).
    fn forget_unmapped_files(&mut self) {
        if self.files.is_empty() {
            return;
        }
        let vmas = &self.vmas;
        self.files
            .retain(|obj, _| vmas.values().any(|v| v.object == *obj));
    }

    /// mmap of a file (Linux `do_mmap` → `mmap_region` with a `vm_file`): like anonymous
    /// memory, but the pages come from `file` from page `pgoff` on, when first touched.
    /// MAP_SHARED maps the file's own pages; MAP_PRIVATE maps them copy-on-write.
    #[allow(clippy::too_many_arguments)]
    pub fn mmap_file(
        &mut self,
        frames: &FrameAllocator,
        addr: usize,
        len: usize,
        prot: Prot,
        flags: u32,
        file: Arc<dyn VmFile>,
        pgoff: usize,
        may_write: bool,
    ) -> KResult<usize> {
        let (addr, len, map) = self.place_mapping(addr, len, flags, pgoff)?;
        let shared = match flags & MAP_TYPE {
            t if t == MapFlags::SHARED.bits() || t == MAP_SHARED_VALIDATE => true,
            t if t == MapFlags::PRIVATE.bits() => false,
            _ => return Err(Errno::EINVAL),
        };
        let end = addr + len;
        if self.overlaps(addr, end) {
            self.munmap_range(frames, addr, end)
                .map_err(|_| Errno::ENOMEM)?;
        }
        let mut vm_flags = VmFlags::empty();
        if shared {
            vm_flags |= VmFlags::SHARED;
            if !may_write {
                vm_flags |= VmFlags::NO_MAYWRITE;
            }
        } else if prot.contains(Prot::WRITE) && !map.contains(MapFlags::NORESERVE) {
            // Private writable file pages become anonymous copies: committed.
            if !vm_enough_memory(frames, pages(len)) {
                return Err(Errno::ENOMEM);
            }
            vm_flags |= VmFlags::ACCOUNT;
        }
        let object = self.new_object();
        self.files.insert(object, file);
        self.vma_link(
            addr,
            VmArea {
                end,
                pgoff,
                prot,
                object,
                flags: vm_flags,
            },
        );
        Ok(addr)
    }

    // ---- mprotect -----------------------------------------------------------------------

    /// mprotect(2) (Linux `do_mprotect_pkey`), `prot` as the system call got it. Like
    /// Linux, the VMAs before a hole keep their new protection when the hole makes it fail.
    pub fn do_mprotect(
        &mut self,
        frames: &FrameAllocator,
        start: usize,
        len: usize,
        prot: usize,
    ) -> KResult<()> {
        let grows = prot & (PROT_GROWSDOWN | PROT_GROWSUP);
        let prot = prot & !grows;
        if grows == PROT_GROWSDOWN | PROT_GROWSUP {
            return Err(Errno::EINVAL);
        }
        if !start.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if len == 0 {
            return Ok(());
        }
        let end = start.wrapping_add(page_align(len));
        if end <= start {
            return Err(Errno::ENOMEM);
        }
        // arm64 `arch_validate_prot`: R, W, X and PROT_SEM (BTI and MTE: not on this CPU).
        if prot & !(Prot::all().bits() as usize | PROT_SEM) != 0 {
            return Err(Errno::EINVAL);
        }
        let prot = Prot::from_bits_truncate(prot as u32);
        let (vstart, v) = self.vma_ending_above(start).ok_or(Errno::ENOMEM)?;
        let mut start = start;
        if grows & PROT_GROWSDOWN != 0 {
            if vstart >= end {
                return Err(Errno::ENOMEM);
            }
            start = vstart;
            if !v.flags.contains(VmFlags::GROWSDOWN) {
                return Err(Errno::EINVAL);
            }
        } else {
            if vstart > start {
                return Err(Errno::ENOMEM);
            }
            if grows & PROT_GROWSUP != 0 {
                return Err(Errno::EINVAL); // Linux would extend to the VMA's end: no VM_GROWSUP on arm64
            }
        }
        let mut nstart = start;
        loop {
            let (vs, v) = self.vma_at(nstart).ok_or(Errno::ENOMEM)?;
            if prot.contains(Prot::WRITE) && v.flags.contains(VmFlags::NO_MAYWRITE) {
                return Err(Errno::EACCES);
            }
            let tmp = v.end.min(end);
            self.mprotect_fixup(frames, vs, nstart, tmp, prot)?;
            // A merge with the next VMA (already `prot`) may reach past `tmp`.
            nstart = self.vma_at(tmp - 1).map_or(tmp, |(_, p)| p.end.max(tmp));
            if nstart >= end {
                return Ok(());
            }
            if self.vma_at(nstart).is_none_or(|(s, _)| s != nstart) {
                return Err(Errno::ENOMEM);
            }
        }
    }

    /// Gives `[start, end)`, inside the VMA at `vstart`, the protection `prot` (Linux
    /// `mprotect_fixup`): merged with a neighbour that now matches (no split needed, so
    /// no limit), else split off within `vm.max_map_count`; then the page entries.
    fn mprotect_fixup(
        &mut self,
        frames: &FrameAllocator,
        vstart: usize,
        start: usize,
        end: usize,
        prot: Prot,
    ) -> KResult<()> {
        let v = self.vmas[&vstart];
        if prot == v.prot {
            return Ok(());
        }
        // ODF fork (odf.rs): the entries change; a shared table is copied first.
        odf::unshare_range(&mut self.pt, frames, start, end, false)
            .map_err(|OutOfMemory| Errno::ENOMEM)?;
        let mut flags = v.flags;
        // Making private memory writable commits it (once: VM_ACCOUNT stays).
        if prot.contains(Prot::WRITE)
            && !v.prot.contains(Prot::WRITE)
            && !flags.intersects(VmFlags::ACCOUNT | VmFlags::SHARED | VmFlags::NORESERVE)
        {
            if !vm_enough_memory(frames, pages(end - start)) {
                return Err(Errno::ENOMEM);
            }
            flags |= VmFlags::ACCOUNT;
        }
        let new = VmArea {
            end,
            pgoff: v.pgoff + pages(start - vstart),
            prot,
            flags,
            ..v
        };
        let merges_prev = start == vstart
            && self
                .vma_ending_at(start)
                .is_some_and(|(ps, p)| Self::can_merge(ps, &p, start, &new));
        let merges_next = end == v.end
            && self
                .vmas
                .get(&end)
                .is_some_and(|n| Self::can_merge(start, &new, end, n));
        if merges_prev || merges_next {
            // Linux's vma_merge moves the boundary instead of splitting: no new VMA.
            self.split_vma_unchecked(start);
            self.split_vma_unchecked(end);
        } else {
            if start != vstart {
                self.split_vma(start)?;
            }
            if end != v.end {
                self.split_vma(end)?;
            }
        }
        if let Some(a) = self.vmas_mut().get_mut(&start) {
            a.prot = prot;
            a.flags = flags;
        }
        self.change_protection(frames, start, end, prot, v.shared());
        self.merge_at(end);
        self.merge_at(start);
        Ok(())
    }

    /// The entries of `[start, end)` get `prot` (Linux `change_protection`): a walk over
    /// the tables that exist there.
    fn change_protection(
        &mut self,
        frames: &FrameAllocator,
        start: usize,
        end: usize,
        prot: Prot,
        shared: bool,
    ) {
        self.pt.change_protection(start, end, |pte| {
            let mut flags = user_pte_flags(prot, shared);
            // A private page whose frame someone else maps must stay copy-on-write.
            let cow = !shared
                && (pte.flags().contains(PteFlags::COW)
                    || frames.refcount(PhysAddr(pte.addr())) > 1);
            if cow {
                flags |= PteFlags::COW;
                if prot.contains(Prot::WRITE) {
                    flags |= PteFlags::READ_ONLY;
                }
            }
            flags
        });
    }

    /// mprotect of `[addr, addr + len)` to `prot` (kernel callers and tests).
    pub fn mprotect(
        &mut self,
        frames: &FrameAllocator,
        addr: usize,
        len: usize,
        prot: Prot,
    ) -> KResult<()> {
        self.do_mprotect(frames, addr, len, prot.bits() as usize)
    }

    // ---- brk ----------------------------------------------------------------------------

    /// brk(2) (Linux `sys_brk`): moves the program break; returns the new break, or the
    /// old one when the move is refused (brk never fails with an errno).
    pub fn brk(&mut self, frames: &FrameAllocator, brk: usize) -> usize {
        let origbrk = self.brk;
        if brk < self.brk_start {
            return origbrk;
        }
        let newbrk = page_align(brk);
        let oldbrk = page_align(self.brk);
        if oldbrk == newbrk {
            self.brk = brk;
            return brk;
        }
        if brk <= self.brk {
            // Shrinking is always allowed — if something is mapped there to unmap.
            if !self.overlaps(newbrk, oldbrk) {
                return origbrk;
            }
            if self.munmap_range(frames, newbrk, oldbrk).is_err() {
                return origbrk;
            }
            self.brk = brk;
            return brk;
        }
        // `check_brk_limits`: the new range must lie in the user address space (also
        // catches a `newbrk` that wrapped to 0).
        let len = newbrk.wrapping_sub(oldbrk);
        if self.get_unmapped_area(oldbrk, len, true).is_err() {
            return origbrk;
        }
        // One page of gap below the next VMA.
        if let Some((next, _)) = self.vma_ending_above(oldbrk)
            && newbrk + PAGE_SIZE > next
        {
            return origbrk;
        }
        if self.do_brk_flags(frames, oldbrk, newbrk).is_err() {
            return origbrk;
        }
        self.brk = brk;
        brk
    }

    /// Linux `do_brk_flags`: grows the heap VMA that ends at `oldbrk`, or makes one.
    fn do_brk_flags(
        &mut self,
        frames: &FrameAllocator,
        oldbrk: usize,
        newbrk: usize,
    ) -> KResult<()> {
        if self.map_count() > self.max_map_count
            || !vm_enough_memory(frames, pages(newbrk - oldbrk))
        {
            return Err(Errno::ENOMEM);
        }
        let area = VmArea {
            end: newbrk,
            pgoff: pages(oldbrk),
            prot: Prot::READ | Prot::WRITE,
            object: ANON,
            flags: VmFlags::DATA | VmFlags::ACCOUNT,
        };
        match self.vma_ending_at(oldbrk) {
            Some((s, v)) if s >= self.brk_start && Self::can_merge(s, &v, oldbrk, &area) => {
                if let Some(v) = self.vmas_mut().get_mut(&s) {
                    v.end = newbrk;
                }
            }
            _ => {
                self.vmas_mut().insert(oldbrk, area);
            }
        }
        Ok(())
    }

    // ---- mremap -------------------------------------------------------------------------

    /// mremap(2) (Linux `sys_mremap`), for anonymous memory: shrink in place, grow in place
    /// when the space after is free, else move (MREMAP_MAYMOVE) to a free range or to
    /// `new_addr` (MREMAP_FIXED); MREMAP_DONTUNMAP moves the pages and leaves the old range
    /// mapped and empty. A MAP_SHARED mapping can also be mapped a second time
    /// (`old_len` 0, or MREMAP_DONTUNMAP): both places then share its frames.
    pub fn mremap(
        &mut self,
        frames: &FrameAllocator,
        addr: usize,
        old_len: usize,
        new_len: usize,
        flags: usize,
        new_addr: usize,
    ) -> KResult<usize> {
        let flags = u32::try_from(flags)
            .ok()
            .and_then(MremapFlags::from_bits)
            .ok_or(Errno::EINVAL)?;
        if flags.contains(MremapFlags::FIXED) && !flags.contains(MremapFlags::MAYMOVE) {
            return Err(Errno::EINVAL);
        }
        // MREMAP_DONTUNMAP always moves, and never resizes.
        if flags.contains(MremapFlags::DONTUNMAP)
            && (!flags.contains(MremapFlags::MAYMOVE) || old_len != new_len)
        {
            return Err(Errno::EINVAL);
        }
        if !addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        let old_len = page_align(old_len);
        let new_len = page_align(new_len);
        if new_len == 0 {
            return Err(Errno::EINVAL);
        }
        if self.vma_at(addr).is_none() {
            return Err(Errno::EFAULT);
        }
        if flags.intersects(MremapFlags::FIXED | MremapFlags::DONTUNMAP) {
            return self.mremap_to(frames, addr, old_len, new_addr, new_len, flags);
        }
        if old_len >= new_len {
            // Shrinking is always allowed: it unmaps the tail (whatever VMAs it covers).
            return match self.munmap(frames, addr.wrapping_add(new_len), old_len - new_len) {
                Err(e) if old_len != new_len => Err(e),
                _ => Ok(addr),
            };
        }
        let (vstart, v) = self.vma_to_resize(addr, old_len, new_len)?;
        if old_len == v.end - addr && self.vma_expandable(vstart, &v, new_len - old_len) {
            if v.flags.contains(VmFlags::ACCOUNT)
                && !vm_enough_memory(frames, pages(new_len - old_len))
            {
                return Err(Errno::ENOMEM);
            }
            // Grow in place; the extension may join the next VMA (Linux `vma_merge`).
            let new_end = addr + new_len;
            if let Some(a) = self.vmas_mut().get_mut(&vstart) {
                a.end = new_end;
            }
            self.merge_at(new_end);
            return Ok(addr);
        }
        if !flags.contains(MremapFlags::MAYMOVE) {
            return Err(Errno::ENOMEM);
        }
        let new_addr = self.get_unmapped_area(0, new_len, false)?;
        self.move_vma(frames, vstart, addr, old_len, new_len, new_addr, flags)
    }

    /// Linux `mremap_to`: MREMAP_FIXED and MREMAP_DONTUNMAP.
    fn mremap_to(
        &mut self,
        frames: &FrameAllocator,
        addr: usize,
        mut old_len: usize,
        new_addr: usize,
        new_len: usize,
        flags: MremapFlags,
    ) -> KResult<usize> {
        if !new_addr.is_multiple_of(PAGE_SIZE) {
            return Err(Errno::EINVAL);
        }
        if new_len > TASK_SIZE || new_addr > TASK_SIZE - new_len {
            return Err(Errno::EINVAL);
        }
        // The old and new ranges may not overlap.
        if addr.wrapping_add(old_len) > new_addr && new_addr + new_len > addr {
            return Err(Errno::EINVAL);
        }
        // Room for the worst case, both places split in three, before anything changes.
        if self.map_count() + 2 >= self.max_map_count - 3 {
            return Err(Errno::ENOMEM);
        }
        let fixed = flags.contains(MremapFlags::FIXED);
        if fixed {
            self.munmap(frames, new_addr, new_len)?;
        }
        if old_len > new_len {
            self.munmap(frames, addr.wrapping_add(new_len), old_len - new_len)?;
            old_len = new_len;
        }
        let (vstart, _) = self.vma_to_resize(addr, old_len, new_len)?;
        let new_addr = self.get_unmapped_area(new_addr, new_len, fixed)?;
        self.move_vma(frames, vstart, addr, old_len, new_len, new_addr, flags)
    }

    /// Linux `vma_to_resize`: the VMA holding `[addr, addr + old_len)`.
    fn vma_to_resize(
        &self,
        addr: usize,
        old_len: usize,
        new_len: usize,
    ) -> KResult<(usize, VmArea)> {
        let (vstart, v) = self.vma_at(addr).ok_or(Errno::EFAULT)?;
        // `old_len` 0 maps the same pages a second time: meaningless for private memory.
        if old_len == 0 && !v.shared() {
            return Err(Errno::EINVAL);
        }
        // No remapping across VMA boundaries.
        if old_len > v.end - addr {
            return Err(Errno::EFAULT);
        }
        if new_len != old_len
            && (v.pgoff + pages(addr - vstart))
                .checked_add(pages(new_len))
                .is_none()
        {
            return Err(Errno::EINVAL);
        }
        Ok((vstart, v))
    }

    /// Linux `vma_expandable`: may the VMA grow by `delta` bytes where it is?
    fn vma_expandable(&mut self, vstart: usize, v: &VmArea, delta: usize) -> bool {
        let Some(end) = v.end.checked_add(delta) else {
            return false;
        };
        !self.overlaps(v.end, end) && self.get_unmapped_area(vstart, end - vstart, true).is_ok()
    }

    /// Linux `move_vma`: a VMA at `new_addr` like the one holding `old_addr` (`copy_vma`),
    /// the pages moved into it (`move_page_tables`), then the old range unmapped — unless
    /// MREMAP_DONTUNMAP keeps it, empty.
    #[allow(clippy::too_many_arguments)] // Linux's own argument list
    fn move_vma(
        &mut self,
        frames: &FrameAllocator,
        vstart: usize,
        old_addr: usize,
        old_len: usize,
        new_len: usize,
        new_addr: usize,
        flags: MremapFlags,
    ) -> KResult<usize> {
        let v = *self.vmas.get(&vstart).ok_or(Errno::EFAULT)?;
        // The final munmap may split a VMA in three: keep room for it.
        if self.map_count() >= self.max_map_count - 3 {
            return Err(Errno::ENOMEM);
        }
        let keep_old = flags.contains(MremapFlags::DONTUNMAP) || old_len == 0;
        let to_account = if keep_old { new_len } else { new_len - old_len };
        if v.flags.contains(VmFlags::ACCOUNT) && !vm_enough_memory(frames, pages(to_account)) {
            return Err(Errno::ENOMEM);
        }
        // A shared mapping that stays where it was is mapped twice: its frames are the
        // shared object, so both places map them. Private pages move.
        let dup = keep_old && v.shared();
        let move_len = if old_len == 0 {
            (v.end - old_addr).min(new_len)
        } else {
            old_len
        };
        // ODF fork (odf.rs): entries are cleared at the old place and written at the new
        // one; shared tables in both are copied first.
        odf::unshare_range(&mut self.pt, frames, old_addr, old_addr + move_len, false)
            .and_then(|()| {
                odf::unshare_range(&mut self.pt, frames, new_addr, new_addr + move_len, false)
            })
            .map_err(|OutOfMemory| Errno::ENOMEM)?;
        self.pt
            .move_range(frames, old_addr, new_addr, move_len, dup)
            .map_err(|OutOfMemory| Errno::ENOMEM)?;
        let area = VmArea {
            end: new_addr + new_len,
            pgoff: v.pgoff + pages(old_addr - vstart),
            ..v
        };
        self.vma_link(new_addr, area);
        if keep_old {
            if !dup {
                self.pt
                    .free_empty_tables(frames, old_addr, old_addr + old_len);
            }
        } else {
            // Cannot fail: the count was checked above, and the pages are gone already.
            let _ = self.munmap_range(frames, old_addr, old_addr + old_len);
        }
        Ok(new_addr)
    }

    // ---- Page faults --------------------------------------------------------------------

    /// Resolves a user page fault at `va` (Linux `do_page_fault` -> `handle_mm_fault`).
    pub fn handle_fault(
        &mut self,
        frames: &FrameAllocator,
        va: usize,
        access: Access,
    ) -> Result<FaultFix, FaultError> {
        let (start, area) = self.vma_at(va).ok_or(FaultError::NotMapped)?;
        let vma = area.vma(start);
        if !prot_allows(vma.prot, access) {
            return Err(FaultError::AccessDenied);
        }
        // ODF fork (odf.rs): a fault that gets this far writes an entry (a new page, a
        // COW copy): a level-3 table shared with another address space is copied first,
        // or, last sharer, made writable. Out of memory: the OOM path, as a COW copy.
        if odf::active()
            && let Some(fix) = self.odf_unshare_fault(frames, va, access)?
        {
            return Ok(fix);
        }
        let file = (area.object != ANON)
            .then(|| self.files.get(&area.object))
            .flatten();
        // One walk down to the entry; only if a table is missing, a second one that makes
        // it (Linux `__handle_mm_fault`: p4d_alloc ... pte_alloc, then `handle_pte_fault`).
        let entry = match self.pt.walk(va) {
            Some(entry) => entry,
            None if vma.shared && file.is_none() => return Err(FaultError::AccessDenied),
            None => self
                .pt
                .walk_alloc(frames, page_down(va), LEAF_LEVEL)
                .map_err(|_| FaultError::OutOfMemory)?,
        };
        let pte = entry.read();
        match pte.is_valid().then(|| pte.flags()) {
            // Linux `do_fault`: a page of a mapped file.
            None if file.is_some() => {
                let file = file.cloned().ok_or(FaultError::NotMapped)?;
                let index = area.pgoff + pages(page_down(va) - start);
                do_file_fault(frames, entry, &vma, file.as_ref(), index, access)
            }
            // A shared mapping's pages were all made at mmap: a missing one is past the
            // end of the object (a shared mapping mremap grew). Linux: SIGBUS.
            None if vma.shared => Err(FaultError::AccessDenied),
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
                CowOutcome::Reused => {
                    self.cow_reuses += 1;
                    Ok(FaultFix::CowReused)
                }
                CowOutcome::MustCopy(copy) => Ok(FaultFix::CowCopy(copy)),
                _ => Err(FaultError::AccessDenied),
            },
        }
    }

    /// `handle_fault`'s ODF step (odf.rs), out of line: the level-3 table covering `va` is
    /// made this address space's own. When it was the last sharer and the page may now be
    /// written as it is, the fault is over: a COW reuse, as `do_wp_page` would count it.
    #[cold]
    #[inline(never)]
    fn odf_unshare_fault(
        &mut self,
        frames: &FrameAllocator,
        va: usize,
        access: Access,
    ) -> Result<Option<FaultFix>, FaultError> {
        let done = odf::unshare(&mut self.pt, frames, va).map_err(|_| FaultError::OutOfMemory)?;
        if done != odf::Unshared::Reused {
            return Ok(None);
        }
        let pte = self.pt.walk(va).map(|e| e.read());
        if !pte.is_some_and(|p| p.is_valid() && allows(p.flags(), access)) {
            return Ok(None);
        }
        arch::flush_tlb_page(self.pt.asid(), page_down(va));
        self.cow_reuses += 1;
        super::cow::COW_REUSES.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        Ok(Some(FaultFix::CowReused))
    }

    /// Installs a COW copy made outside the lock (`FaultFix::CowCopy`), if the entry is
    /// still the one that faulted.
    pub fn finish_cow(
        &mut self,
        frames: &FrameAllocator,
        copy: CowCopy,
        new: PhysAddr,
    ) -> FaultFix {
        // ODF fork (odf.rs): a fork while the lock was released may have shared the table
        // again; then the copy is not installed there — the access retries and faults.
        if odf::write_protected(&self.pt, copy.va) {
            frames.put(new);
            copy.abandon(frames);
            return FaultFix::CowRaced;
        }
        match self.pt.install_cow_copy(frames, copy, new) {
            CowOutcome::Copied => {
                self.cow_copies += 1;
                FaultFix::CowCopied
            }
            _ => FaultFix::CowRaced,
        }
    }

    /// Pages mapped in this address space (Linux `get_mm_rss`): what the OOM killer
    /// weighs. Walks the tables of every VMA, so it is for rare paths only.
    pub fn resident_pages(&self) -> usize {
        let mut n = 0;
        for (&start, v) in self.vmas.iter() {
            super::walk::for_each_leaf(self.pt.root_table(), start, v.end, |_| n += 1);
        }
        n
    }

    // ---- fork and exit ------------------------------------------------------------------

    /// The child's copy for fork (Linux `dup_mmap`): same VMAs, tables copy-on-write.
    pub fn fork(&mut self, frames: &FrameAllocator, child_asid: u16) -> KResult<AddressSpace> {
        let mut child = AddressSpace::new(frames, child_asid).ok_or(Errno::ENOMEM)?;
        child.vmas = self.vmas.clone();
        child.free_area_cache = self.free_area_cache;
        child.cached_hole_size = self.cached_hole_size;
        child.last_object = self.last_object;
        child.files = self.files.clone();
        child.max_map_count = self.max_map_count;
        child.brk_start = self.brk_start;
        child.brk = self.brk;
        child.vdso_base = self.vdso_base;
        // ODF fork (odf.rs, `fork=odf`): level-3 tables whose 2 MiB hold only private
        // anonymous memory are shared, not copied; `copy_page_range` skips them.
        if odf::enabled() {
            let vmas = &self.vmas;
            let anon_only = |va: usize| {
                vmas.range(..va + odf::TABLE_SPAN)
                    .rev()
                    .take_while(|(_, v)| v.end > va)
                    .all(|(_, v)| v.object == ANON && !v.shared())
            };
            let ranges = vmas.iter().map(|(&s, v)| (s, v.end));
            if odf::share_tables(&mut self.pt, frames, &mut child.pt, ranges, anon_only).is_err() {
                child.destroy(frames);
                return Err(Errno::ENOMEM);
            }
        }
        let ranges = self.vmas.iter().map(|(&s, v)| (s, v.end));
        match self.pt.copy_page_range(frames, &mut child.pt, ranges) {
            Ok(_) => Ok(child),
            Err(OutOfMemory) => {
                child.destroy(frames);
                Err(Errno::ENOMEM)
            }
        }
    }

    pub fn destroy(self, frames: &FrameAllocator) {
        let ranges = self.vmas.iter().map(|(&s, v)| (s, v.end));
        self.pt.destroy_ranges(frames, ranges);
    }

    // ---- Kernel access to user memory ---------------------------------------------------

    /// Kernel-side write into this address space (the ELF loader, the initial stack),
    /// through the linear map. Pages are faulted in as needed, COW pages broken.
    pub fn write_bytes(&mut self, frames: &FrameAllocator, va: usize, data: &[u8]) -> KResult<()> {
        self.fill(frames, va, data.len(), Some(data))
    }

    /// Kernel-side zeroing of `len` bytes at `va`, like `write_bytes` (Linux `clear_user`;
    /// the ELF loader's bss).
    pub fn zero_bytes(&mut self, frames: &FrameAllocator, va: usize, len: usize) -> KResult<()> {
        self.fill(frames, va, len, None)
    }
    /// Writes `data` (or zeroes) over `len` bytes at `va`, one page at a time.
    fn fill(
        &mut self,
        frames: &FrameAllocator,
        va: usize,
        len: usize,
        data: Option<&[u8]>,
    ) -> KResult<()> {
        let mut done = 0;
        while done < len {
            let at = va + done;
            // ODF fork (odf.rs): the kernel writes through the linear map, past APTable:
            // a shared table is copied first, so the write sees the page's COW state.
            odf::unshare(&mut self.pt, frames, at).map_err(|_| Errno::ENOMEM)?;
            let exec = self
                .find_vma(at)
                .ok_or(Errno::EFAULT)?
                .prot
                .contains(Prot::EXEC);
            let frame = match self.pt.lookup(at) {
                // A private file mapping (the ELF loader's padzero): the file's page,
                // copied, as a user's write fault would.
                None if self
                    .vma_at(at)
                    .is_some_and(|(_, v)| self.files.contains_key(&v.object)) =>
                {
                    match self.handle_fault(frames, at, Access::Write) {
                        Ok(_) => self.pt.lookup(at).ok_or(Errno::EFAULT)?.0,
                        Err(FaultError::OutOfMemory) => return Err(Errno::ENOMEM),
                        Err(_) => return Err(Errno::EFAULT),
                    }
                }
                None => self.fault_in(frames, at).map_err(|_| Errno::ENOMEM)?,
                Some((_, f)) if f.contains(PteFlags::COW) => {
                    if self.pt.resolve_cow_now(frames, at) == CowOutcome::OutOfMemory {
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

/// A fault on a page of a mapped file that has no entry yet (Linux `do_fault`): page
/// `index` of `file` goes into `entry`, for the access `access` to the VMA `vma`.
/// `file.get_page` gives the page cache's page with a reference for the caller (the
/// entry's, if it is mapped), or None past the end of the file (SIGBUS).
///
/// * MAP_SHARED (`do_shared_fault`): the cache's page itself, writable if the VMA is.
/// * MAP_PRIVATE, a read or exec (`do_read_fault`): the cache's page too, but read-only
///   and copy-on-write — the cache keeps its own reference, so a later write finds the
///   frame shared and copies it exactly as a write after fork does (`resolve_cow`).
/// * MAP_PRIVATE, a write (`do_cow_fault`): a private copy at once; the cache's page
///   keeps only the cache's reference.
///
/// The page's bytes were written by the kernel (a file write, the initrd): before EL0
/// may execute them the I-cache must see them (Linux `__sync_icache_dcache`).
#[inline(never)] // a breakpoint target in gdb
fn do_file_fault(
    frames: &FrameAllocator,
    entry: Entry,
    vma: &Vma,
    file: &dyn VmFile,
    index: usize,
    access: Access,
) -> Result<FaultFix, FaultError> {
    let page = file
        .get_page(index)
        .map_err(|_| FaultError::OutOfMemory)?
        .ok_or(FaultError::PastEndOfFile)?;
    if vma.prot.contains(Prot::EXEC) {
        arch::sync_icache_frame(page.as_usize());
    }
    if vma.shared {
        entry.write(Pte::page(page.as_usize(), user_pte_flags(vma.prot, true)));
        return Ok(FaultFix::FilePage);
    }
    if access == Access::Write {
        let Some(copy) = frames.alloc_uninit() else {
            frames.put(page);
            return Err(FaultError::OutOfMemory);
        };
        arch::copy_frame(copy.as_usize(), page.as_usize());
        frames.put(page);
        entry.write(Pte::page(copy.as_usize(), user_pte_flags(vma.prot, false)));
        return Ok(FaultFix::FileCopied);
    }
    let flags = user_pte_flags(vma.prot, false) | PteFlags::READ_ONLY | PteFlags::COW;
    entry.write(Pte::page(page.as_usize(), flags));
    Ok(FaultFix::FilePage)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `handle_fault` with a COW copy made and installed at once, as `Mm::handle_fault`
    /// does with the lock released in between.
    fn fault(
        s: &mut AddressSpace,
        f: &FrameAllocator,
        va: usize,
        access: Access,
    ) -> Result<FaultFix, FaultError> {
        match s.handle_fault(f, va, access)? {
            FaultFix::CowCopy(c) => match c.copy_page(f) {
                Some(new) => Ok(s.finish_cow(f, c, new)),
                None => {
                    c.abandon(f);
                    Err(FaultError::OutOfMemory)
                }
            },
            fix => Ok(fix),
        }
    }
    use crate::mm::frame::sim::SimMemory;

    const RW: Prot = Prot::READ.union(Prot::WRITE);

    fn space(m: &mut SimMemory) -> AddressSpace {
        AddressSpace::new(&m.frames, 1).unwrap()
    }

    #[test]
    fn demand_zero_then_cow_after_fork() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut parent = AddressSpace::new(f, 1).unwrap();
        let a = parent
            .mmap_anon(f, 0, 3 * PAGE_SIZE, RW, false, false)
            .unwrap();
        assert_eq!(a, MMAP_BASE);
        assert_eq!(parent.pt.lookup(a), None, "lazy");
        assert_eq!(
            fault(&mut parent, f, a + 8, Access::Write),
            Ok(FaultFix::DemandZero)
        );
        parent.write_bytes(f, a, b"parent").unwrap();
        let mut child = parent.fork(f, 2).unwrap();
        assert_eq!(
            fault(&mut child, f, a, Access::Write),
            Ok(FaultFix::CowCopied)
        );
        child.write_bytes(f, a, b"child!").unwrap();
        let mut buf = [0u8; 6];
        parent.read_bytes(a, &mut buf).unwrap();
        assert_eq!(&buf, b"parent");
        child.read_bytes(a, &mut buf).unwrap();
        assert_eq!(&buf, b"child!");
        assert_eq!(
            fault(&mut parent, f, a, Access::Write),
            Ok(FaultFix::CowReused)
        );
        // A page never touched before fork is demand-zeroed separately in each.
        assert_eq!(
            fault(&mut child, f, a + PAGE_SIZE, Access::Read),
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
        let f = &m.frames;
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
            fault(&mut s, f, text, Access::Write),
            Err(FaultError::AccessDenied)
        );
        assert_eq!(
            fault(&mut s, f, 0x10, Access::Read),
            Err(FaultError::NotMapped)
        );
        let none = s
            .mmap_anon(f, 0, PAGE_SIZE, Prot::empty(), false, false)
            .unwrap();
        assert_eq!(
            fault(&mut s, f, none, Access::Read),
            Err(FaultError::AccessDenied)
        );
        let data = s.mmap_anon(f, 0, PAGE_SIZE, RW, false, false).unwrap();
        assert_eq!(
            fault(&mut s, f, data, Access::Exec),
            Err(FaultError::AccessDenied)
        );
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn shared_mappings_stay_shared_across_fork() {
        let m = SimMemory::new(64);
        let f = &m.frames;
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
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let a = s.mmap_anon(f, 0, 4 * PAGE_SIZE, RW, false, false).unwrap();
        for i in 0..4 {
            fault(&mut s, f, a + i * PAGE_SIZE, Access::Write).unwrap();
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
            fault(&mut s, f, a + PAGE_SIZE, Access::Read),
            Err(FaultError::NotMapped)
        );
        assert_eq!(s.munmap(f, a + 1, PAGE_SIZE), Err(Errno::EINVAL));
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn mprotect_keeps_shared_frames_copy_on_write() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut parent = AddressSpace::new(f, 1).unwrap();
        let a = parent
            .mmap_anon(f, 0, PAGE_SIZE, Prot::READ, false, false)
            .unwrap();
        fault(&mut parent, f, a, Access::Read).unwrap();
        let mut child = parent.fork(f, 2).unwrap();
        child.mprotect(f, a, PAGE_SIZE, RW).unwrap();
        let (_, flags) = child.pt.lookup(a).unwrap();
        assert!(
            flags.contains(PteFlags::READ_ONLY | PteFlags::COW),
            "frame still shared with parent"
        );
        assert_eq!(
            fault(&mut child, f, a, Access::Write),
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
        let m = SimMemory::new(64);
        let f = &m.frames;
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
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        s.brk_start = 0x60_0000;
        s.brk = 0x60_0000;
        assert_eq!(s.brk(f, 0), 0x60_0000);
        assert_eq!(s.brk(f, 0x60_2010), 0x60_2010);
        s.write_bytes(f, 0x60_2000, &[1; 16]).unwrap();
        assert_eq!(
            fault(&mut s, f, 0x60_3000, Access::Read),
            Err(FaultError::NotMapped)
        );
        assert_eq!(s.brk(f, 0x60_1000), 0x60_1000);
        assert_eq!(
            fault(&mut s, f, 0x60_2000, Access::Read),
            Err(FaultError::NotMapped)
        );
        assert_eq!(s.brk(f, 0x10), 0x60_1000, "below the start: unchanged");
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn fork_out_of_memory_frees_everything() {
        for fail_at in 0..8 {
            let m = SimMemory::new(64);
            let f = &m.frames;
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

    const R: Prot = Prot::READ;
    const NONE: Prot = Prot::empty();
    const PRIVATE: u32 = MapFlags::PRIVATE.bits() | MapFlags::ANONYMOUS.bits();
    const SHARED: u32 = MapFlags::SHARED.bits() | MapFlags::ANONYMOUS.bits();
    const FIXED: u32 = MapFlags::FIXED.bits();
    const NOREPLACE: u32 = MapFlags::FIXED_NOREPLACE.bits();
    const NORESERVE: u32 = MapFlags::NORESERVE.bits();
    const PG: usize = PAGE_SIZE;
    const TIB: usize = 1 << 40;

    /// The VMAs as (start, end) pairs, to compare with what merging should give.
    fn layout(s: &AddressSpace) -> alloc::vec::Vec<(usize, usize)> {
        s.vmas().map(|v| (v.start, v.end)).collect()
    }

    /// PROT_NONE: present pages lose EL0 access (and so uaccess access) but keep their
    /// frame; write-only and execute-only memory is readable, as on arm64 Linux.
    #[test]
    fn prot_none_is_enforced_and_write_implies_read() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let a = s.mmap_anon(f, 0, PG, RW, false, false).unwrap();
        s.write_bytes(f, a, b"x").unwrap();
        let (frame, flags) = s.pt.lookup(a).unwrap();
        assert!(flags.user_readable() && flags.user_writable() && !flags.user_executable());
        s.mprotect(f, a, PG, NONE).unwrap();
        let (still, flags) = s.pt.lookup(a).unwrap();
        assert_eq!(still, frame, "the page keeps its frame");
        assert!(
            !flags.contains(PteFlags::USER),
            "no EL0 access: AP[2:1] = 10"
        );
        assert!(!flags.user_readable() && !flags.user_writable() && !flags.user_executable());
        for access in [Access::Read, Access::Write, Access::Exec] {
            assert_eq!(fault(&mut s, f, a, access), Err(FaultError::AccessDenied));
        }
        s.mprotect(f, a, PG, R).unwrap();
        assert!(s.pt.lookup(a).unwrap().1.user_readable());
        assert_eq!(fault(&mut s, f, a, Access::Read), Ok(FaultFix::Spurious));
        // Write-only: a read fault is resolved, and the entry is readable and writable.
        let w = s.mmap_anon(f, 0, PG, Prot::WRITE, false, false).unwrap();
        assert_eq!(fault(&mut s, f, w, Access::Read), Ok(FaultFix::DemandZero));
        let flags = s.pt.lookup(w).unwrap().1;
        assert!(flags.user_readable() && flags.user_writable());
        // Execute-only: readable too (no Enhanced PAN).
        let x = s.mmap_anon(f, 0, PG, Prot::EXEC, false, false).unwrap();
        assert_eq!(fault(&mut s, f, x, Access::Read), Ok(FaultFix::DemandZero));
        assert_eq!(
            fault(&mut s, f, x, Access::Write),
            Err(FaultError::AccessDenied)
        );
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// mmap's checks, in Linux 6.1's order, with the errno the oracle gave for each.
    #[test]
    fn mmap_validation_matches_linux() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let e = |r: KResult<usize>| r.err();
        let cases: [(usize, usize, Prot, u32, Option<Errno>); 16] = [
            (0, 0, RW, PRIVATE, Some(Errno::EINVAL)), // len 0
            (0, 0, RW, MapFlags::ANONYMOUS.bits(), Some(Errno::EINVAL)), // len before type
            (0, usize::MAX - 10, RW, PRIVATE, Some(Errno::ENOMEM)), // PAGE_ALIGN wraps
            (0, 1 << 60, NONE, PRIVATE, Some(Errno::ENOMEM)), // larger than TASK_SIZE
            (0, TASK_SIZE, NONE, PRIVATE, Some(Errno::ENOMEM)), // > TASK_SIZE - min
            (0, PG, RW, MapFlags::ANONYMOUS.bits(), Some(Errno::EINVAL)), // no type
            (
                0,
                PG,
                RW,
                3 | MapFlags::ANONYMOUS.bits(),
                Some(Errno::EINVAL),
            ), // SHARED_VALIDATE
            (
                0,
                PG,
                RW,
                0xf | MapFlags::ANONYMOUS.bits(),
                Some(Errno::EINVAL),
            ),
            (0x2_0000_0001, PG, RW, PRIVATE | FIXED, Some(Errno::EINVAL)), // unaligned
            (
                TASK_SIZE - PG,
                2 * PG,
                RW,
                PRIVATE | FIXED,
                Some(Errno::ENOMEM),
            ), // past the top
            (TASK_SIZE, PG, RW, PRIVATE | FIXED, Some(Errno::ENOMEM)),
            (TASK_SIZE + 1, PG, RW, PRIVATE | FIXED, Some(Errno::ENOMEM)), // top before alignment
            (
                0x2_0000_0000,
                usize::MAX,
                RW,
                PRIVATE | FIXED,
                Some(Errno::ENOMEM),
            ),
            (
                0,
                PG,
                RW,
                SHARED | MapFlags::GROWSDOWN.bits(),
                Some(Errno::EINVAL),
            ),
            (0, TIB, RW, PRIVATE, Some(Errno::ENOMEM)), // overcommit heuristic
            (0, TIB, R, SHARED, Some(Errno::ENOMEM)),   // shared memory is committed too
        ];
        for (addr, len, prot, flags, want) in cases {
            assert_eq!(
                e(s.do_mmap(f, addr, len, prot, flags)),
                want,
                "mmap({addr:#x}, {len:#x}, {prot:?}, {flags:#x})"
            );
        }
        assert_eq!(s.map_count(), 0, "no failure left a VMA behind");
        // Not committed: read-only, PROT_NONE, MAP_NORESERVE. Unknown flags are ignored.
        for (prot, flags) in [
            (R, PRIVATE),
            (NONE, PRIVATE),
            (RW, PRIVATE | NORESERVE),
            (R, PRIVATE | 0x8000_0000),
        ] {
            let a = s.do_mmap(f, 0, TIB, prot, flags).unwrap();
            s.munmap(f, a, TIB).unwrap();
        }
        // Hints: rounded down to a page, raised to mmap_min_addr, used when free.
        assert_eq!(
            s.do_mmap(f, 0x3_0000_0001, PG, RW, PRIVATE),
            Ok(0x3_0000_0000)
        );
        assert_eq!(s.do_mmap(f, 0x1000, PG, RW, PRIVATE), Ok(MMAP_MIN_ADDR));
        let taken = s.do_mmap(f, 0x3_0000_0000, PG, RW, PRIVATE).unwrap();
        assert_ne!(taken, 0x3_0000_0000, "a hint that is taken is ignored");
        assert!(s.do_mmap(f, TASK_SIZE + PG, PG, RW, PRIVATE).unwrap() < TASK_SIZE);
        // MAP_FIXED may use page 0 and the very last page.
        assert_eq!(s.do_mmap(f, 0, PG, RW, PRIVATE | FIXED), Ok(0));
        assert_eq!(
            s.do_mmap(f, TASK_SIZE - PG, PG, RW, PRIVATE | FIXED),
            Ok(TASK_SIZE - PG)
        );
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn map_fixed_noreplace_refuses_to_replace() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let a = 0x4_0000_0000;
        assert_eq!(s.do_mmap(f, a, 2 * PG, RW, PRIVATE | NOREPLACE), Ok(a));
        s.write_bytes(f, a + PG, b"kept").unwrap();
        for flags in [NOREPLACE, NOREPLACE | FIXED] {
            assert_eq!(
                s.do_mmap(f, a + PG, 2 * PG, RW, PRIVATE | flags),
                Err(Errno::EEXIST)
            );
        }
        assert_eq!(
            s.do_mmap(f, a + 1, PG, RW, PRIVATE | NOREPLACE),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            s.do_mmap(f, a + PG, 0, RW, PRIVATE | NOREPLACE),
            Err(Errno::EINVAL)
        );
        assert_eq!(
            s.do_mmap(f, TASK_SIZE - PG, 2 * PG, RW, PRIVATE | NOREPLACE),
            Err(Errno::ENOMEM)
        );
        let mut buf = [0; 4];
        s.read_bytes(a + PG, &mut buf).unwrap();
        assert_eq!(&buf, b"kept");
        // Plain MAP_FIXED replaces: the page is new and zero.
        assert_eq!(s.do_mmap(f, a + PG, PG, RW, PRIVATE | FIXED), Ok(a + PG));
        assert_eq!(s.pt.lookup(a + PG), None);
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn munmap_validation_matches_linux() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let a = s.mmap_anon(f, 0, 2 * PG, RW, false, false).unwrap();
        let einval = Err(Errno::EINVAL);
        assert_eq!(s.munmap(f, a + 1, PG), einval);
        assert_eq!(s.munmap(f, a, 0), einval);
        assert_eq!(s.munmap(f, TASK_SIZE, PG), einval);
        assert_eq!(s.munmap(f, TASK_SIZE, 0), einval);
        assert_eq!(s.munmap(f, TASK_SIZE - PG, 2 * PG), einval);
        assert_eq!(s.munmap(f, a, usize::MAX), einval);
        assert_eq!(s.munmap(f, 0xffff_0000_4000_0000, PG), einval);
        assert_eq!(s.munmap(f, 0x5_0000_0000, PG), Ok(()), "nothing there");
        assert_eq!(s.munmap(f, a, 1), Ok(()), "the length is rounded up");
        assert_eq!(layout(&s), [(a + PG, a + 2 * PG)]);
        // A huge, almost empty range costs what is mapped in it.
        s.write_bytes(f, a + PG, b"y").unwrap();
        assert_eq!(s.munmap(f, 0, TASK_SIZE), Ok(()));
        assert_eq!(
            (s.map_count(), f.in_use()),
            (0, 1),
            "only the root table left"
        );
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn mprotect_validation_matches_linux() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let a = s
            .do_mmap(f, 0x6_0000_0000, 4 * PG, RW, PRIVATE | FIXED)
            .unwrap();
        let hole = 0x7_0000_0000;
        let r = R.bits() as usize;
        let cases: [(usize, usize, usize, Result<(), Errno>); 16] = [
            (a + 1, PG, r, Err(Errno::EINVAL)),
            (a + 1, 0, r, Err(Errno::EINVAL)), // alignment before length
            (hole, 0, r, Ok(())),              // length 0: nothing to check
            (hole, 0, 0x10, Ok(())),           // not even prot
            (a, 0usize.wrapping_sub(PG), r, Err(Errno::ENOMEM)), // wraps
            (a, 0usize.wrapping_sub(PG), 0x10, Err(Errno::ENOMEM)), // before prot
            (a, usize::MAX, r, Err(Errno::ENOMEM)),
            (a, PG, 0x10, Err(Errno::EINVAL)),
            (a, PG, 1 << 32 | r, Err(Errno::EINVAL)), // prot is an unsigned long
            (hole, PG, 0x10, Err(Errno::EINVAL)),     // prot before the VMA
            (a, PG, r | PROT_GROWSDOWN | PROT_GROWSUP, Err(Errno::EINVAL)),
            (a, PG, r | PROT_GROWSDOWN, Err(Errno::EINVAL)), // not a MAP_GROWSDOWN VMA
            (a, PG, r | PROT_GROWSUP, Err(Errno::EINVAL)),
            (hole, PG, r, Err(Errno::ENOMEM)),
            (TASK_SIZE, PG, r, Err(Errno::ENOMEM)),
            (a - PG, 2 * PG, r, Err(Errno::ENOMEM)), // hole at the start
        ];
        for (addr, len, prot, want) in cases {
            assert_eq!(
                s.do_mprotect(f, addr, len, prot),
                want,
                "mprotect({addr:#x}, {len:#x}, {prot:#x})"
            );
        }
        assert_eq!(s.find_vma(a).unwrap().prot, RW, "nothing changed so far");
        assert_eq!(s.do_mprotect(f, a, PG, r | PROT_SEM), Ok(()));
        // A hole at the end: ENOMEM, but what came before it has changed (as on Linux).
        assert_eq!(s.do_mprotect(f, a, 5 * PG, r), Err(Errno::ENOMEM));
        assert_eq!(layout(&s), [(a, a + 4 * PG)]);
        assert_eq!(s.find_vma(a + 3 * PG).unwrap().prot, R);
        // PROT_GROWSDOWN extends the range down to the start of a MAP_GROWSDOWN VMA.
        let g = s
            .do_mmap(f, 0, 4 * PG, RW, PRIVATE | MapFlags::GROWSDOWN.bits())
            .unwrap();
        assert_eq!(s.do_mprotect(f, g + 2 * PG, PG, r | PROT_GROWSDOWN), Ok(()));
        assert_eq!(s.find_vma(g).unwrap().prot, R);
        assert_eq!(s.find_vma(g + 3 * PG).unwrap().prot, RW);
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// Merging as Linux's `vma_merge` does it (each case checked in /proc/self/maps on
    /// the oracle).
    #[test]
    fn adjacent_compatible_mappings_merge() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let a = 0x1_0000_0000;
        for i in 0..100 {
            s.do_mmap(f, a + i * PG, PG, RW, PRIVATE | FIXED).unwrap();
        }
        assert_eq!(layout(&s), [(a, a + 100 * PG)], "one VMA");
        s.mprotect(f, a + 10 * PG, PG, R).unwrap();
        assert_eq!(s.map_count(), 3, "mprotect in the middle splits");
        s.mprotect(f, a + 10 * PG, PG, RW).unwrap();
        assert_eq!(layout(&s), [(a, a + 100 * PG)], "and back merges");
        s.munmap(f, a + 10 * PG, PG).unwrap();
        assert_eq!(s.map_count(), 2, "munmap in the middle splits");
        s.do_mmap(f, a + 10 * PG, PG, RW, PRIVATE | FIXED).unwrap();
        assert_eq!(s.map_count(), 1, "refilling the hole merges");
        // Shared memory is an object of its own: it merges with nothing else...
        s.do_mmap(f, a + 10 * PG, PG, RW, SHARED | FIXED).unwrap();
        s.do_mmap(f, a + 11 * PG, PG, RW, SHARED | FIXED).unwrap();
        assert_eq!(s.map_count(), 4);
        s.do_mmap(f, a + 10 * PG, 2 * PG, RW, PRIVATE | FIXED)
            .unwrap();
        assert_eq!(s.map_count(), 1);
        // ... but its own pieces merge again.
        let sh = s
            .do_mmap(f, 0x2_0000_0000, 4 * PG, RW, SHARED | FIXED)
            .unwrap();
        s.mprotect(f, sh + PG, PG, R).unwrap();
        assert_eq!(s.map_count(), 4);
        s.mprotect(f, sh + PG, PG, RW).unwrap();
        assert_eq!(s.map_count(), 2);
        // VM_ACCOUNT and VM_NORESERVE keep mappings apart: read-only next to once-writable.
        let b = 0x3_0000_0000;
        s.do_mmap(f, b, PG, R, PRIVATE | FIXED).unwrap();
        s.do_mmap(f, b + PG, PG, RW, PRIVATE | FIXED).unwrap();
        s.mprotect(f, b + PG, PG, R).unwrap();
        assert_eq!(s.map_count(), 4);
        s.do_mmap(f, b + 2 * PG, PG, RW, PRIVATE | FIXED | NORESERVE)
            .unwrap();
        s.do_mmap(f, b + 3 * PG, PG, RW, PRIVATE | FIXED).unwrap();
        assert_eq!(s.map_count(), 6);
        // mprotect over several VMAs merges them all.
        s.do_mmap(f, b + 4 * PG, PG, NONE, PRIVATE | FIXED).unwrap();
        s.do_mprotect(f, b + 2 * PG, 3 * PG, RW.bits() as usize)
            .unwrap();
        assert_eq!(
            s.map_count(),
            6,
            "NORESERVE | ACCOUNT | (NONE -> RW: ACCOUNT)"
        );
        // The brk heap does not merge with an mmap next to it.
        s.brk_start = 0x60_0000;
        s.brk = 0x60_0000;
        assert_eq!(s.brk(f, 0x60_2000), 0x60_2000);
        s.do_mmap(f, 0x60_2000, PG, RW, PRIVATE | FIXED).unwrap();
        assert_eq!(s.map_count(), 8);
        assert_eq!(s.brk(f, 0x60_1000), 0x60_1000, "brk shrinks");
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// vm.max_map_count, with Linux's off-by-one: mmap refuses once the count is above
    /// the limit, a split once it is at it; merging needs no new VMA, so it still works.
    #[test]
    fn the_map_count_is_limited() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        s.max_map_count = 20;
        let three = s.mmap_anon(f, 0, 3 * PG, RW, false, false).unwrap();
        let mut n = 1;
        let last = loop {
            let prot = if n % 2 == 0 { R } else { NONE };
            match s.do_mmap(f, 0, PG, prot, PRIVATE) {
                Ok(_) => n += 1,
                Err(e) => {
                    assert_eq!(e, Errno::ENOMEM);
                    break s.vmas().last().unwrap().start;
                }
            }
        };
        assert_eq!(n, 21, "one above the limit");
        assert_eq!(s.map_count(), 21);
        // Splitting one VMA in three is refused; ENOMEM changes nothing.
        assert_eq!(s.mprotect(f, three + PG, PG, R), Err(Errno::ENOMEM));
        assert_eq!(s.munmap(f, three + PG, PG), Err(Errno::ENOMEM));
        assert_eq!(s.map_count(), 21);
        // An mprotect that merges into a neighbour splits nothing.
        let prev_prot = s.find_vma(last - PG).unwrap().prot;
        assert_eq!(s.mprotect(f, last, PG, prev_prot), Ok(()));
        assert_eq!(s.map_count(), 20);
        assert!(
            s.do_mmap(f, 0, PG, RW, PRIVATE | MapFlags::NORESERVE.bits())
                .is_ok()
        );
        assert_eq!(s.do_mmap(f, 0, PG, RW, PRIVATE), Err(Errno::ENOMEM));
        // brk cannot grow either; unmapping whole VMAs always works.
        s.brk_start = 0x60_0000;
        s.brk = 0x60_0000;
        assert_eq!(s.brk(f, 0x60_1000), 0x60_0000);
        let vmas: alloc::vec::Vec<Vma> = s.vmas().collect();
        for v in vmas {
            s.munmap(f, v.start, v.end - v.start).unwrap();
        }
        assert_eq!(s.map_count(), 0);
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn brk_follows_linux() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let b0 = 0x60_0000;
        s.brk_start = b0;
        s.brk = b0;
        for bad in [usize::MAX, 1 << 60, TASK_SIZE, 1] {
            assert_eq!(s.brk(f, bad), b0, "brk({bad:#x})");
        }
        assert_eq!(s.brk(f, b0 + PG + 5), b0 + PG + 5);
        assert_eq!(s.brk(f, b0 + 5), b0 + 5);
        assert_eq!(s.brk(f, b0), b0);
        // One page of gap must stay below the next VMA.
        s.do_mmap(f, b0 + 4 * PG, PG, RW, PRIVATE | FIXED).unwrap();
        assert_eq!(s.brk(f, b0 + 3 * PG), b0 + 3 * PG);
        assert_eq!(s.brk(f, b0), b0);
        assert_eq!(s.brk(f, b0 + 4 * PG), b0);
        assert_eq!(s.brk(f, b0 + 2 * PG), b0 + 2 * PG);
        // A heap the program unmapped cannot shrink: nothing to unmap.
        s.munmap(f, b0, 2 * PG).unwrap();
        assert_eq!(s.brk(f, b0), b0 + 2 * PG);
        assert_eq!(s.brk(f, b0 + PG), b0 + 2 * PG);
        // Growing in steps extends one heap VMA.
        assert_eq!(s.brk(f, b0 + 3 * PG), b0 + 3 * PG);
        s.munmap(f, b0 + 4 * PG, PG).unwrap();
        assert_eq!(s.brk(f, b0 + 8 * PG), b0 + 8 * PG);
        assert_eq!(layout(&s), [(b0 + 2 * PG, b0 + 8 * PG)]);
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    #[test]
    fn mremap_resizes_and_moves() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let a = s
            .do_mmap(f, 0x1_0000_0000, 4 * PG, RW, PRIVATE | FIXED)
            .unwrap();
        for i in 0..4 {
            s.write_bytes(f, a + i * PG, &[b'a' + i as u8]).unwrap();
        }
        let baseline = f.in_use();
        let byte = |s: &AddressSpace, va: usize| {
            let mut b = [0u8];
            s.read_bytes(va, &mut b).ok().map(|()| b[0])
        };
        // Grow in place, shrink in place.
        assert_eq!(s.mremap(f, a, 4 * PG, 6 * PG, 0, 0), Ok(a));
        assert_eq!(layout(&s), [(a, a + 6 * PG)]);
        assert_eq!(s.mremap(f, a, 6 * PG, 4 * PG, 0, 0), Ok(a));
        assert_eq!(layout(&s), [(a, a + 4 * PG)]);
        // Growing into a mapping needs MREMAP_MAYMOVE: the pages move, frames and all.
        s.do_mmap(f, a + 4 * PG, PG, R, PRIVATE | FIXED).unwrap();
        assert_eq!(s.mremap(f, a, 4 * PG, 8 * PG, 0, 0), Err(Errno::ENOMEM));
        let frame = s.pt.lookup(a + 3 * PG).unwrap().0;
        let b = s.mremap(f, a, 4 * PG, 8 * PG, 1, 0).unwrap();
        assert_ne!(b, a);
        assert_eq!(s.pt.lookup(b + 3 * PG).unwrap().0, frame);
        assert_eq!(byte(&s, b + 3 * PG), Some(b'd'));
        assert_eq!(s.find_vma(a), None);
        assert_eq!(
            f.in_use(),
            baseline,
            "as many tables freed at the old place as made"
        );
        // MREMAP_FIXED: to a given place, replacing what is there.
        let c = 0x3_0000_0000;
        s.do_mmap(f, c, PG, R, PRIVATE | FIXED).unwrap();
        assert_eq!(s.mremap(f, b, 2 * PG, 2 * PG, 3, c), Ok(c));
        assert_eq!(byte(&s, c + PG), Some(b'b'));
        assert_eq!(s.find_vma(b).map(|v| v.start), None);
        assert_eq!(s.find_vma(b + 2 * PG).map(|v| v.start), Some(b + 2 * PG));
        // MREMAP_DONTUNMAP: the old range stays, empty.
        let d = s.mremap(f, c, 2 * PG, 2 * PG, 5, 0).unwrap();
        assert_eq!(byte(&s, d), Some(b'a'));
        assert_eq!(s.find_vma(c).map(|v| v.start), Some(c));
        assert_eq!(s.pt.lookup(c), None);
        assert_eq!(fault(&mut s, f, c, Access::Read), Ok(FaultFix::DemandZero));
        // A shared mapping mapped a second time shares its frames.
        let sh = s.do_mmap(f, 0, 2 * PG, RW, SHARED).unwrap();
        s.write_bytes(f, sh, b"S").unwrap();
        let dup = s.mremap(f, sh, 0, 2 * PG, 1, 0).unwrap();
        assert_eq!(s.pt.lookup(dup), s.pt.lookup(sh));
        let moved = s.mremap(f, sh, 2 * PG, 2 * PG, 5, 0).unwrap();
        assert_eq!(s.pt.lookup(moved), s.pt.lookup(sh));
        // Grown past its object, a shared mapping has nothing there (Linux: SIGBUS).
        let g = s.mremap(f, sh, 2 * PG, 4 * PG, 1, 0).unwrap();
        assert_eq!(
            fault(&mut s, f, g + 3 * PG, Access::Read),
            Err(FaultError::AccessDenied)
        );
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// mremap's checks in Linux's order (each checked on the oracle).
    #[test]
    fn mremap_validation_matches_linux() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let a = s
            .do_mmap(f, 0x1_0000_0000, 4 * PG, RW, PRIVATE | FIXED)
            .unwrap();
        let unmapped = 0x7_0000_0000;
        let (mm, fx, du) = (1, 2, 4);
        let cases: [(usize, usize, usize, usize, usize, Errno); 20] = [
            (a, PG, PG, 8, 0, Errno::EINVAL),              // unknown flag
            (a, PG, PG, 1 << 32, 0, Errno::EINVAL),        // flags is an unsigned long
            (a + 1, PG, PG, 8, 0, Errno::EINVAL),          // flags first
            (a, PG, PG, fx, 0x2_0000_0000, Errno::EINVAL), // FIXED without MAYMOVE
            (a, PG, PG, du, 0, Errno::EINVAL),             // DONTUNMAP without MAYMOVE
            (a, PG, 2 * PG, mm | du, 0, Errno::EINVAL),    // DONTUNMAP resizing
            (a + 1, PG, PG, 0, 0, Errno::EINVAL),
            (a, PG, 0, 0, 0, Errno::EINVAL),           // new_len 0
            (a, PG, usize::MAX, mm, 0, Errno::EINVAL), // PAGE_ALIGN wraps to 0
            (unmapped, PG, PG, 0, 0, Errno::EFAULT),
            (unmapped, PG, 0, 0, 0, Errno::EINVAL), // new_len before the lookup
            (a, 5 * PG, 6 * PG, mm, 0, Errno::EFAULT), // across the VMA's end
            (a, 1 << 60, 1 << 61, mm, 0, Errno::EFAULT),
            (a, 0, PG, mm, 0, Errno::EINVAL), // duplicating private memory
            (a, PG, TIB, mm, 0, Errno::ENOMEM), // overcommit
            (a, PG, PG, mm | fx, a, Errno::EINVAL), // overlapping
            (a, 2 * PG, 2 * PG, mm | fx, a + PG, Errno::EINVAL),
            (a, PG, PG, mm | fx, 0x3_0000_0001, Errno::EINVAL),
            (a, PG, PG, mm | fx, TASK_SIZE, Errno::EINVAL),
            (a, PG, 2 * PG, mm | fx, TASK_SIZE - PG, Errno::EINVAL),
        ];
        for (addr, old, new, flags, to, want) in cases {
            assert_eq!(
                s.mremap(f, addr, old, new, flags, to),
                Err(want),
                "mremap({addr:#x}, {old:#x}, {new:#x}, {flags}, {to:#x})"
            );
        }
        assert_eq!(layout(&s), [(a, a + 4 * PG)], "nothing changed");
        // Same size, even across the end: nothing to do (the shrink path).
        assert_eq!(s.mremap(f, a, 4 * PG - 5, 4 * PG - 3, 0, 0), Ok(a));
        assert_eq!(s.mremap(f, a, 5 * PG, 5 * PG, 0, 0), Ok(a));
        // Growing PROT_NONE memory commits nothing.
        let n = s
            .do_mmap(f, 0x6_0000_0000, PG, NONE, PRIVATE | FIXED)
            .unwrap();
        assert_eq!(s.mremap(f, n, PG, TIB, mm, 0), Ok(n));
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }

    /// Out of memory for a page table while mremap moves pages: nothing has changed.
    #[test]
    fn mremap_out_of_memory_changes_nothing() {
        for fail_at in 0..4 {
            let m = SimMemory::new(64);
            let f = &m.frames;
            let mut s = AddressSpace::new(f, 1).unwrap();
            let a = s
                .do_mmap(f, 0x1_0000_0000, 2 * PG, RW, PRIVATE | FIXED)
                .unwrap();
            // Two pages 1 GiB apart in the new place need two sets of tables.
            s.write_bytes(f, a, b"1").unwrap();
            let far = s
                .do_mmap(f, a + (1 << 30), PG, RW, PRIVATE | FIXED)
                .unwrap();
            s.write_bytes(f, far, b"2").unwrap();
            let before = (f.in_use(), layout(&s), s.pt.lookup(a), s.pt.lookup(far));
            f.fail_after(Some(fail_at));
            let r = s.mremap(f, far, PG, PG, 3, 0x80_0000_0000);
            f.fail_after(None);
            if r.is_err() {
                assert_eq!(r, Err(Errno::ENOMEM));
                let now = (f.in_use(), layout(&s), s.pt.lookup(a), s.pt.lookup(far));
                assert_eq!(now, before, "fail_at={fail_at}");
            }
            s.destroy(f);
            assert_eq!(f.in_use(), 0);
        }
    }

    /// The free-area search resumes after the last mapping, and still finds a hole below.
    #[test]
    fn free_area_search_reuses_holes() {
        let m = SimMemory::new(64);
        let f = &m.frames;
        let mut s = AddressSpace::new(f, 1).unwrap();
        let addrs: alloc::vec::Vec<usize> = (0..8)
            .map(|i| {
                let prot = if i % 2 == 0 { R } else { NONE };
                s.do_mmap(f, 0, PG, prot, PRIVATE).unwrap()
            })
            .collect();
        assert!(
            addrs.windows(2).all(|w| w[1] == w[0] + PG),
            "first fit, upwards"
        );
        s.munmap(f, addrs[2], PG).unwrap();
        assert_eq!(
            s.do_mmap(f, 0, 2 * PG, R, PRIVATE),
            Ok(addrs[7] + PG),
            "too small a hole"
        );
        assert_eq!(s.do_mmap(f, 0, PG, NONE, PRIVATE), Ok(addrs[2]), "the hole");
        s.destroy(f);
        assert_eq!(f.in_use(), 0);
    }
}
