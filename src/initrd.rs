//! The initial RAM disk QEMU loads next to the kernel (`-initrd`): a newc cpio archive,
//! unpacked into the root tmpfs at boot (fs/initramfs.rs). It stays in memory for the
//! kernel's own System.map (symbols in crash reports), read straight from the archive
//! so that a crash report never depends on the file system.

use spin::Once;

static INITRD: Once<&'static [u8]> = Once::new();

pub fn init(archive: &'static [u8]) {
    INITRD.call_once(|| archive);
}

pub fn archive() -> &'static [u8] {
    INITRD.get().copied().unwrap_or(&[])
}

/// A file of the archive by path ("System.map", "/bin/hello").
pub fn find(path: &str) -> Option<&'static [u8]> {
    let path = path.trim_start_matches('/');
    cpio_reader::iter_files(archive())
        .find(|e| e.name().trim_start_matches("./") == path)
        .map(|e| e.file())
}
