//! The vDSO's pages in address spaces (Linux arch/arm64/kernel/vdso.c
//! `__vdso_init`, `arch_setup_additional_pages`, and mm/mmap.c's special mappings): the
//! image and the data page copied into frames at boot, mapped by every execve.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use super::vvar::VvarData;
use crate::error::KResult;
use crate::mm::addr_space::{AddressSpace, Prot, STACK_TOP};
use crate::mm::frame::{PAGE_SIZE, PhysAddr};
use crate::mm::global::Mm;
use crate::mm::pagetable::USER_TOP;
use crate::mm::vm_file::{NoPage, VmFile};

/// The image (build.rs links it).
static IMAGE: &[u8] = include_bytes!(env!("TEACHOS_VDSO"));

/// Where the pair ends: above the stack's top, in the 64 KiB below the end of user space,
/// with a guard page on each side. Those addresses share the stack's last-level page
/// table, so the vDSO costs a process no page-table frame of its own (placed anywhere
/// else, every process — and every fork — would pay one more frame).
const VDSO_END: usize = USER_TOP - PAGE_SIZE;
const _: () = assert!(VDSO_END - 4 * PAGE_SIZE > STACK_TOP && !STACK_TOP.is_multiple_of(2 << 20));

/// Pages of the kernel mapped into every process (Linux `struct vm_special_mapping`):
/// its name in /proc/PID/maps and its frames.
pub struct SpecialMapping {
    pub name: &'static str,
    pages: Vec<PhysAddr>,
}

impl VmFile for SpecialMapping {
    /// Linux `special_mapping_fault`: the page, with a reference for the page table.
    fn get_page(&self, index: usize) -> Result<Option<PhysAddr>, NoPage> {
        Ok(self.pages.get(index).map(|&pa| {
            crate::mm::global::frames().get(pa);
            pa
        }))
    }

    fn contents(&self) -> Option<Vec<u8>> {
        None
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    /// The object's address: distinct from every file's (an inode's or file's address).
    fn file_id(&self) -> usize {
        self as *const SpecialMapping as usize
    }
}

struct Vdso {
    vvar: Arc<SpecialMapping>,
    text: Arc<SpecialMapping>,
    /// Offset of `__kernel_rt_sigreturn` in the image.
    sigreturn: usize,
}

static VDSO: spin::Once<Vdso> = spin::Once::new();

/// The data page as the kernel writes it.
fn vvar_data(vdso: &Vdso) -> &'static VvarData {
    // SAFETY: the frame is the kernel's for ever (a reference is never dropped), reached
    // through the linear map, page-aligned (so aligned for VvarData), and only accessed
    // through VvarData's atomics, here and in user space.
    unsafe { &*(vdso.vvar.pages[0].as_ptr() as *const VvarData) }
}

/// Frames for `bytes` (zero-filled past the end), each with the reference that keeps it.
fn pages_with(bytes: &[u8]) -> Vec<PhysAddr> {
    let frames = crate::mm::global::frames();
    let n = bytes.len().div_ceil(PAGE_SIZE).max(1);
    let mut pages = Vec::with_capacity(n);
    for i in 0..n {
        let pa = frames.alloc_zeroed().expect("no frame for the vDSO");
        let chunk =
            &bytes[(i * PAGE_SIZE).min(bytes.len())..((i + 1) * PAGE_SIZE).min(bytes.len())];
        // SAFETY: a frame just allocated for us, reached through the linear map.
        unsafe { core::ptr::copy_nonoverlapping(chunk.as_ptr(), pa.as_ptr(), chunk.len()) };
        crate::arch::sync_icache_frame(pa.as_usize());
        pages.push(pa);
    }
    pages
}

/// The offset of the exported function `name` in the image. The image is ours, built
/// with the kernel: anything unexpected is a build error, so it panics at boot.
fn symbol(image: &[u8], name: &str) -> usize {
    use elf::endian::LittleEndian;
    let file = elf::ElfBytes::<LittleEndian>::minimal_parse(image).expect("vDSO: not ELF");
    let (syms, strs) = file
        .dynamic_symbol_table()
        .ok()
        .flatten()
        .expect("vDSO: no dynamic symbols");
    // The image is linked at 0 and must need no relocation: the kernel maps it as is.
    let dynamic = file.dynamic().ok().flatten().expect("vDSO: no PT_DYNAMIC");
    assert!(
        dynamic.iter().all(|d| !matches!(
            d.d_tag,
            elf::abi::DT_RELA | elf::abi::DT_REL | elf::abi::DT_JMPREL
        )),
        "vDSO: the image has relocations"
    );
    syms.iter()
        .find(|s| strs.get(s.st_name as usize).is_ok_and(|n| n == name))
        .map(|s| s.st_value as usize)
        .expect("vDSO: a symbol is missing")
}

/// Copies the image into frames and fills the data page (Linux `vdso_init`). Called
/// once at boot, after the frame allocator exists and before the first exec.
pub fn init() {
    VDSO.call_once(|| Vdso {
        vvar: Arc::new(SpecialMapping {
            name: "[vvar]",
            pages: pages_with(&[]),
        }),
        text: Arc::new(SpecialMapping {
            name: "[vdso]",
            pages: pages_with(IMAGE),
        }),
        sigreturn: symbol(IMAGE, "__kernel_rt_sigreturn"),
    });
    super::VVAR.call_once(|| vvar_data(VDSO.get().expect("just made")));
    // Publish the clock (the wall clock may have been set before).
    let offset = *super::VVAR_WRITER.lock();
    super::update_realtime(offset);
}

/// Maps `[vvar]` and `[vdso]` into a new address space (Linux
/// `arch_setup_additional_pages`); returns the image's address for AT_SYSINFO_EHDR, or
/// None before `init`.
pub fn setup_additional_pages(space: &mut AddressSpace) -> KResult<Option<usize>> {
    let Some(vdso) = VDSO.get() else {
        return Ok(None);
    };
    let text_len = vdso.text.pages.len() * PAGE_SIZE;
    let base = VDSO_END - text_len;
    let vvar = base - PAGE_SIZE;
    // The data page may never become writable (Linux: no VM_MAYWRITE); the text may, and
    // then a write copies the page (a debugger's breakpoint).
    space.install_special_mapping(vvar, PAGE_SIZE, Prot::READ, vdso.vvar.clone(), false)?;
    space.install_special_mapping(
        base,
        text_len,
        Prot::READ | Prot::EXEC,
        vdso.text.clone(),
        true,
    )?;
    space.vdso_base = base;
    Ok(Some(base))
}

/// The user address of `__kernel_rt_sigreturn` in `mm`, where a signal handler returns
/// to when the program gave no SA_RESTORER; None if the process has no vDSO mapped
/// there any more (it unmapped it: Linux would return to the stale address and fault).
/// Linux follows an mremap of the vDSO (`vdso_mremap`); this kernel does not, so after
/// one the result is None too.
pub fn sigreturn_trampoline(mm: &Mm) -> Option<usize> {
    let vdso = VDSO.get()?;
    mm.with(|space, _| {
        let addr = space.vdso_base.checked_add(vdso.sigreturn)?;
        let vma = space.find_vma(addr)?;
        let (file, pgoff) = space.vma_file(vma.start)?;
        let still_ours = file.file_id() == vdso.text.file_id()
            && vma.start == space.vdso_base + pgoff * PAGE_SIZE;
        still_ours.then_some(addr)
    })
}

/// The name /proc/PID/maps shows for a VMA mapping `file`, if it is a special mapping.
pub fn special_name(file: &dyn VmFile) -> Option<&'static str> {
    file.as_any()
        .downcast_ref::<SpecialMapping>()
        .map(|s| s.name)
}
