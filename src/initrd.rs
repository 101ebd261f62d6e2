//! The initial RAM disk QEMU loads next to the kernel (`-initrd`): a cpio archive holding
//! the user programs (and System.map, for symbols in kernel crash reports).

use spin::Once;

use crate::loader::cpio;

static INITRD: Once<&'static [u8]> = Once::new();

pub fn init(archive: &'static [u8]) {
    INITRD.call_once(|| archive);
}

pub fn archive() -> &'static [u8] {
    INITRD.get().copied().unwrap_or(&[])
}

pub fn find(path: &str) -> Option<&'static [u8]> {
    cpio::find(archive(), path)
}

/// Some(true) for a directory, Some(false) for a file, None if `path` does not exist.
pub fn kind(path: &str) -> Option<bool> {
    let p = path.trim_start_matches('/').trim_end_matches('/');
    if p.is_empty() {
        return Some(true);
    }
    cpio::entries(archive()).find_map(|e| {
        if e.name == p {
            Some(e.is_dir())
        } else if e
            .name
            .strip_prefix(p)
            .is_some_and(|rest| rest.starts_with('/'))
        {
            Some(true)
        } else {
            None
        }
    })
}
