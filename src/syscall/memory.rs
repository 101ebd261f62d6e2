//! Memory system calls: brk, mmap (anonymous), munmap, mprotect, mremap (Linux
//! mm/mmap.c, mm/mprotect.c, mm/mremap.c, arch/arm64/kernel/sys.c). This layer decodes
//! the registers and does the checks that concern files (Linux `ksys_mmap_pgoff`); the
//! rest, with Linux's order and errno, is in mm/addr_space.rs.

use crate::error::{Errno, KResult};
use crate::mm::addr_space::{AddressSpace, MapFlags, Prot};
use crate::mm::frame::{FrameAllocator, PAGE_SIZE};
use crate::task::sched::current;

/// Runs `f` on the caller's address space. A call may add a VMA or split one (a tree
/// insert, from the heap): room for a few is reserved first, where running out is ENOMEM.
fn with_space<R>(f: impl FnOnce(&mut AddressSpace, &FrameAllocator) -> R) -> KResult<R> {
    crate::mm::heap::reserve(4 * crate::mm::global::VMA_HEAP_BYTES)?;
    let mm = current().mm().ok_or(Errno::EFAULT)?;
    Ok(mm.with(f))
}

pub fn brk(addr: usize) -> KResult<usize> {
    with_space(|space, frames| space.brk(frames, addr))
}

/// mmap(2): arm64's `sys_mmap` then `ksys_mmap_pgoff`, anonymous memory only.
pub fn mmap(
    addr: usize,
    len: usize,
    prot: usize,
    flags: usize,
    fd: i32,
    offset: usize,
) -> KResult<usize> {
    if !offset.is_multiple_of(PAGE_SIZE) {
        return Err(Errno::EINVAL);
    }
    // Like Linux, mmap ignores the PROT and MAP bits it does not know (and the upper
    // halves of the registers, where Linux defines none).
    let prot = Prot::from_bits_truncate(prot as u32);
    let flags = flags as u32;
    let map = MapFlags::from_bits_retain(flags);
    if !map.contains(MapFlags::ANONYMOUS) {
        // A file mapping: the descriptor must be open (EBADF), and no file here can be
        // mapped (the console and pipes have no mmap: ENODEV, after the length check).
        let files = current().inner.lock().files.clone().ok_or(Errno::EBADF)?;
        files.lock().get(fd)?;
        if map.contains(MapFlags::HUGETLB) || len == 0 {
            return Err(Errno::EINVAL);
        }
        return Err(Errno::ENODEV);
    }
    if map.contains(MapFlags::HUGETLB) {
        // No huge pages are reserved (Linux with vm.nr_hugepages = 0).
        return Err(if len == 0 {
            Errno::EINVAL
        } else {
            Errno::ENOMEM
        });
    }
    with_space(|space, frames| space.do_mmap(frames, addr, len, prot, flags))?
}

pub fn munmap(addr: usize, len: usize) -> KResult<usize> {
    // No reservation: unmapping removes VMAs, and the one split a munmap can need fits in
    // the heap's headroom; freeing memory must not fail for want of memory.
    let mm = current().mm().ok_or(Errno::EFAULT)?;
    mm.with(|space, frames| space.munmap(frames, addr, len))
        .map(|()| 0)
}

pub fn mprotect(addr: usize, len: usize, prot: usize) -> KResult<usize> {
    with_space(|space, frames| space.do_mprotect(frames, addr, len, prot))?.map(|()| 0)
}

pub fn mremap(
    addr: usize,
    old_len: usize,
    new_len: usize,
    flags: usize,
    new_addr: usize,
) -> KResult<usize> {
    with_space(|space, frames| space.mremap(frames, addr, old_len, new_len, flags, new_addr))?
}
