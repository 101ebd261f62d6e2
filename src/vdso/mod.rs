//! The vDSO from the kernel's side (Linux arch/arm64/kernel/vdso.c and the special
//! mappings of mm/mmap.c): the image built from arch/aarch64/vdso/ is copied into frames
//! once at boot, next to a data page (`[vvar]`, vvar.rs) that the kernel keeps up to date;
//! execve maps both into every new address space (Linux `arch_setup_additional_pages`)
//! and tells the program where through AT_SYSINFO_EHDR. See docs/vdso.md.
//!
//! ```text
//!   VDSO_END - (1 + n) pages  [vvar]  r--p  the data page (one frame for every process)
//!   VDSO_END - n pages        [vdso]  r-xp  the ELF image: headers, symbols, code
//!   VDSO_END                  (1 MiB gap)
//!   STACK_TOP - STACK_SIZE    [stack]
//! ```
//!
//! Every process maps the *same* frames: the kernel holds a reference on each forever,
//! so unmapping never frees them, and the copy-on-write rules never let a process write
//! into them (a debugger's breakpoint after mprotect gets a private copy, as on Linux).
//! The mappings are ordinary VMAs of a `SpecialMapping` object (Linux `struct
//! vm_special_mapping`): fork copies them, munmap, mprotect and mremap treat them as
//! Linux treats special mappings, with one difference noted at `sigreturn_trampoline`.

pub mod vvar;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::any::Any;

use crate::error::KResult;
use crate::mm::addr_space::{AddressSpace, Prot, STACK_SIZE, STACK_TOP};
use crate::mm::frame::{PAGE_SIZE, PhysAddr};
use crate::mm::global::Mm;
use crate::mm::vm_file::{NoPage, VmFile};
use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;
use vvar::{CLOCKMODE_ARCHTIMER, Snapshot, VvarData};

/// The image (build.rs links it; none in host builds, where nothing is mapped).
#[cfg(target_os = "none")]
static IMAGE: &[u8] = include_bytes!(env!("TEACHOS_VDSO"));
#[cfg(not(target_os = "none"))]
static IMAGE: &[u8] = &[];

/// Where the pair ends: 1 MiB below the stack, far above brk and the program, and above
/// where mmap starts (MMAP_BASE), which skips mapped ranges.
const VDSO_END: usize = STACK_TOP - STACK_SIZE - (1 << 20);

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

/// Serialises writers of the data page (Linux: the timekeeper's lock). The realtime
/// offset is kept here too, for `init` to publish if it was set before.
static VVAR_WRITER: OrderedMutex<u64> = OrderedMutex::new(Level::Ids, 0);

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
        let chunk = &bytes[(i * PAGE_SIZE).min(bytes.len())..((i + 1) * PAGE_SIZE).min(bytes.len())];
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
        dynamic
            .iter()
            .all(|d| !matches!(d.d_tag, elf::abi::DT_RELA | elf::abi::DT_REL | elf::abi::DT_JMPREL)),
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
    if IMAGE.is_empty() {
        return;
    }
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
    let offset = *VVAR_WRITER.lock();
    update_realtime(offset);
}

/// The wall clock changed: CLOCK_REALTIME is now CLOCK_MONOTONIC + `offset_ns` (Linux
/// `update_vsyscall`). src/time.rs calls this whenever it sets the clock.
pub fn update_realtime(offset_ns: u64) {
    let mut writer = VVAR_WRITER.lock();
    *writer = offset_ns;
    if let Some(vdso) = VDSO.get() {
        vvar_data(vdso).write(Snapshot {
            clock_mode: CLOCKMODE_ARCHTIMER,
            freq: counter_frequency(),
            realtime_offset_ns: offset_ns,
        });
    }
}

fn counter_frequency() -> u64 {
    #[cfg(target_os = "none")]
    {
        crate::arch::timer::frequency()
    }
    #[cfg(not(target_os = "none"))]
    {
        0
    }
}

/// Maps `[vvar]` and `[vdso]` into a new address space (Linux
/// `arch_setup_additional_pages`); returns the image's address for AT_SYSINFO_EHDR, or
/// None if this kernel has no vDSO (host builds).
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

#[cfg(test)]
mod tests {
    use super::vvar::*;
    use core::num::NonZeroU64;

    /// The vDSO's 64-bit conversion equals the kernel's 128-bit one (arch timer `now_ns`).
    #[test]
    fn ticks_to_ns_matches_the_kernel() {
        let kernel = |t: u64, f: u64| (t as u128 * 1_000_000_000 / f as u128) as u64;
        let mut x = 0x0123_4567_89ab_cdefu64;
        for freq in [62_500_000u64, 24_000_000, 19_200_000, 1_000_000_000, 1, u32::MAX as u64] {
            let f = NonZeroU64::new(freq).unwrap();
            for t in [0, 1, freq - 1, freq, freq + 1, u64::MAX, u64::MAX / 3] {
                assert_eq!(ticks_to_ns(t, f), kernel(t, freq), "{t} at {freq}");
            }
            for _ in 0..1000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                assert_eq!(ticks_to_ns(x, f), kernel(x, freq), "{x} at {freq}");
            }
        }
    }

    #[test]
    fn clocks_from_a_snapshot() {
        let data = VvarData::new();
        let s = data.read();
        assert_eq!(VvarData::clock_ns(&s, CLOCK_MONOTONIC, 10), None, "not set yet");
        data.write(Snapshot {
            clock_mode: CLOCKMODE_ARCHTIMER,
            freq: 62_500_000,
            realtime_offset_ns: 1_000,
        });
        let s = data.read();
        assert_eq!(data.seq.load(core::sync::atomic::Ordering::Relaxed), 2);
        assert_eq!(VvarData::clock_ns(&s, CLOCK_MONOTONIC, 10), Some(160));
        assert_eq!(VvarData::clock_ns(&s, CLOCK_BOOTTIME, 10), Some(160));
        assert_eq!(VvarData::clock_ns(&s, CLOCK_REALTIME, 10), Some(1_160));
        assert_eq!(VvarData::clock_ns(&s, 2, 10), None, "CPU time: the system call");
        assert_eq!(VvarData::clock_ns(&s, -6, 10), None);
        assert_eq!(clock_res_ns(CLOCK_MONOTONIC_COARSE), Some(4_000_000));
        assert_eq!(clock_res_ns(3), None);
    }
}
