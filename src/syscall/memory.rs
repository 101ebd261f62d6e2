//! Memory system calls: brk, mmap (anonymous and of files), munmap, mprotect, mremap,
//! msync (Linux mm/mmap.c, mm/mprotect.c, mm/mremap.c, mm/msync.c,
//! arch/arm64/kernel/sys.c). This layer decodes the registers and does the checks that
//! concern files (Linux `ksys_mmap_pgoff`, `do_mmap`'s file part); the rest, with
//! Linux's order and errno, is in mm/addr_space.rs.

use alloc::sync::Arc;

use crate::fs::file::{O_ACCMODE, O_PATH, O_RDWR, O_WRONLY};
use crate::fs::inode::Kind;
use crate::fs::{FileKind, dev};
use crate::mm::vm_file::VmFile;

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
        return mmap_file(addr, len, prot, flags, fd, offset);
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

/// mmap of a descriptor (Linux `ksys_mmap_pgoff` → `do_mmap`'s file checks): EBADF for
/// a descriptor that is not open (or O_PATH); ENODEV for files without mmap (pipes,
/// directories, terminals); EACCES unless it is open for reading, and — for a shared
/// writable mapping — for writing too. /dev/zero maps anonymous memory, as on Linux.
fn mmap_file(
    addr: usize,
    len: usize,
    prot: Prot,
    flags: u32,
    fd: i32,
    offset: usize,
) -> KResult<usize> {
    let files = current().inner.lock().files.clone().ok_or(Errno::EBADF)?;
    let file = files.lock().get(fd)?;
    let map = MapFlags::from_bits_retain(flags);
    if file.flags() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    if map.contains(MapFlags::HUGETLB) || len == 0 {
        return Err(Errno::EINVAL);
    }
    let inode = match &file.kind {
        FileKind::Inode(i) => i.clone(),
        _ => return Err(Errno::ENODEV),
    };
    match &inode.kind {
        Kind::Regular => {}
        Kind::CharDev if inode.data.lock().rdev == dev::ZERO => {
            // /dev/zero: anonymous memory (shared: Linux's shmem object).
            let flags = flags | MapFlags::ANONYMOUS.bits();
            return with_space(|space, frames| space.do_mmap(frames, addr, len, prot, flags))?;
        }
        _ => return Err(Errno::ENODEV),
    }
    let acc = file.flags() & O_ACCMODE;
    if acc == O_WRONLY {
        return Err(Errno::EACCES);
    }
    let shared = flags & 0x0f != MapFlags::PRIVATE.bits();
    if shared && prot.contains(Prot::WRITE) && acc != O_RDWR {
        return Err(Errno::EACCES);
    }
    let vm_file: Arc<dyn VmFile> = file;
    let pgoff = offset / PAGE_SIZE;
    let may_write = acc == O_RDWR;
    inode.add_mapper(&current().mm().ok_or(Errno::EFAULT)?)?;
    with_space(|space, frames| {
        space.mmap_file(frames, addr, len, prot, flags, vm_file, pgoff, may_write)
    })?
}

const MS_ASYNC: usize = 1;
const MS_INVALIDATE: usize = 2;
const MS_SYNC: usize = 4;

/// msync(2) (Linux mm/msync.c): memory-backed files have nothing to write back, so it
/// only checks its arguments: EINVAL for an unaligned address or bad flags, ENOMEM if
/// part of the range is not mapped.
pub fn msync(addr: usize, len: usize, flags: usize) -> KResult<usize> {
    if flags & !(MS_ASYNC | MS_INVALIDATE | MS_SYNC) != 0
        || flags & (MS_ASYNC | MS_SYNC) == MS_ASYNC | MS_SYNC
        || !addr.is_multiple_of(PAGE_SIZE)
    {
        return Err(Errno::EINVAL);
    }
    let end = addr
        .checked_add(len)
        .and_then(|e| e.checked_add(PAGE_SIZE - 1))
        .map(|e| e & !(PAGE_SIZE - 1))
        .ok_or(Errno::ENOMEM)?;
    let mm = current().mm().ok_or(Errno::ENOMEM)?;
    let covered = mm.with(|space, _| {
        let mut at = addr;
        while at < end {
            match space.find_vma(at) {
                Some(v) => at = v.end,
                None => return false,
            }
        }
        true
    });
    if covered { Ok(0) } else { Err(Errno::ENOMEM) }
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
