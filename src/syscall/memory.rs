//! Memory system calls: brk, mmap (anonymous), munmap, mprotect (Linux mm/mmap.c,
//! mm/mprotect.c). The work is in mm/addr_space.rs.

use crate::error::{Errno, KResult};
use crate::mm::addr_space::Prot;
use crate::task::sched::current;

const MAP_SHARED: u32 = 0x01;
const MAP_PRIVATE: u32 = 0x02;
const MAP_FIXED: u32 = 0x10;
const MAP_ANONYMOUS: u32 = 0x20;

fn with_space<R>(
    f: impl FnOnce(&mut crate::mm::addr_space::AddressSpace, &mut crate::mm::frame::FrameAllocator) -> R,
) -> KResult<R> {
    let mm = current().mm().ok_or(Errno::EFAULT)?;
    Ok(mm.with(f))
}

pub fn brk(addr: usize) -> KResult<usize> {
    with_space(|space, frames| space.brk(frames, addr))
}

pub fn mmap(
    addr: usize,
    len: usize,
    prot: u32,
    flags: u32,
    fd: i32,
    offset: usize,
) -> KResult<usize> {
    let prot = Prot::from_bits_truncate(prot); // like Linux, mmap ignores unknown PROT bits
    let shared = match flags & (MAP_SHARED | MAP_PRIVATE) {
        MAP_SHARED => true,
        MAP_PRIVATE => false,
        _ => return Err(Errno::EINVAL),
    };
    if flags & MAP_ANONYMOUS == 0 {
        return Err(if fd < 0 { Errno::EBADF } else { Errno::ENODEV }); // no file mappings
    }
    if !offset.is_multiple_of(4096) {
        return Err(Errno::EINVAL);
    }
    with_space(|space, frames| {
        space.mmap_anon(frames, addr, len, prot, shared, flags & MAP_FIXED != 0)
    })?
}

pub fn munmap(addr: usize, len: usize) -> KResult<usize> {
    with_space(|space, frames| space.munmap(frames, addr, len))?.map(|()| 0)
}

pub fn mprotect(addr: usize, len: usize, prot: u32) -> KResult<usize> {
    let prot = Prot::from_bits(prot).ok_or(Errno::EINVAL)?;
    with_space(|space, frames| space.mprotect(frames, addr, len, prot))?.map(|()| 0)
}
