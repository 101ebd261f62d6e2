//! The initial RAM disk QEMU loads next to the kernel (`-initrd`): a newc cpio archive,
//! unpacked into the root tmpfs at boot (fs/initramfs.rs). Then its memory goes to the
//! frame allocator (Linux `free_initrd_mem`): only the kernel's own System.map (symbols
//! in crash reports) is kept, copied to the heap, so that a crash report never depends
//! on the file system.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use spin::Once;

static INITRD: Once<&'static [u8]> = Once::new();
/// The archive's memory was given away: nothing may read it any more.
static FREED: AtomicBool = AtomicBool::new(false);
static SYSTEM_MAP: Once<&'static [u8]> = Once::new();

pub fn init(archive: &'static [u8]) {
    INITRD.call_once(|| archive);
}

pub fn archive() -> &'static [u8] {
    if FREED.load(Ordering::Acquire) {
        return &[];
    }
    INITRD.get().copied().unwrap_or(&[])
}

/// The kernel's System.map: the copy made before the archive was freed, or the archive's.
pub fn system_map() -> Option<&'static [u8]> {
    SYSTEM_MAP.get().copied().or_else(|| find("System.map"))
}

/// After the root file system was filled: keeps a copy of System.map and returns the
/// archive's physical memory range for the caller to free (None: nothing to free, or
/// the copy could not be made — then the archive stays).
pub fn prepare_free() -> Option<(usize, usize)> {
    let archive = INITRD.get().copied()?;
    if let Some(map) = find("System.map") {
        let mut copy = Vec::new();
        copy.try_reserve_exact(map.len()).ok()?;
        copy.extend_from_slice(map);
        SYSTEM_MAP.call_once(|| copy.leak());
    }
    FREED.store(true, Ordering::Release);
    let start = crate::arch::virt_to_phys(archive.as_ptr() as usize);
    Some((start, start + archive.len()))
}

/// A file of the archive by path ("System.map", "/bin/hello").
pub fn find(path: &str) -> Option<&'static [u8]> {
    let path = path.trim_start_matches('/');
    crate::fs::cpio::entries(archive())
        .find(|e| e.name == path)
        .map(|e| e.data)
}
