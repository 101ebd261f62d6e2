//! The root file system (Linux init/initramfs.c `unpack_to_rootfs`, init/do_mounts.c):
//! at boot a tmpfs becomes "/", and the initrd's newc cpio archive is unpacked into it —
//! directories, regular files (copied into page-cache pages), symbolic links, device
//! nodes and FIFOs, each with its mode. Then /dev (a tmpfs with the device nodes, what
//! devtmpfs would make), /proc and /tmp (a tmpfs of its own) are mounted. The archive
//! format is read by fs/cpio.rs.

use alloc::sync::Arc;

use super::fifo::Fifo;
use super::file::{KernelSrc, write_regular};
use super::inode::{
    FsType, Inode, Kind, S_IALLUGO, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, SuperBlock,
};
use super::{dev, mount, namei, procfs, tmpfs};
use crate::error::{Errno, KResult};

/// A tmpfs's default size (Linux: half of RAM), in pages.
pub fn default_tmpfs_pages() -> usize {
    let f = super::frames();
    (f.in_use() + f.free_frames()) / 2
}

/// A new, empty tmpfs: its root directory with `perm`.
pub fn new_tmpfs(perm: u32) -> KResult<Arc<Inode>> {
    let sb = Arc::new(SuperBlock::new(FsType::Tmpfs, default_tmpfs_pages()));
    Inode::new_dir(&sb, perm, None)
}

/// A new procfs instance's root.
pub fn new_proc() -> KResult<Arc<Inode>> {
    let sb = Arc::new(SuperBlock::new(FsType::Proc, 0));
    let root = Inode::new(&sb, S_IFDIR | 0o555, Kind::Proc(procfs::root_node()))?;
    sb.root_ino
        .store(root.ino, core::sync::atomic::Ordering::Relaxed);
    Ok(root)
}

/// The directory `path` (relative to `root`), made with mode 0755 where missing.
fn mkdir_p(root: &Arc<Inode>, path: &[u8]) -> KResult<Arc<Inode>> {
    let mut dir = root.clone();
    for name in path
        .split(|&b| b == b'/')
        .filter(|n| !n.is_empty() && *n != b".")
    {
        dir = match namei::lookup_child(&dir, name) {
            Ok(d) => d,
            Err(_) => tmpfs::create(&dir, name, |p| tmpfs::new_dir(p, 0o755))?,
        };
    }
    Ok(dir)
}

/// Creates one archive entry below `root`.
fn unpack_entry(root: &Arc<Inode>, name: &[u8], mode: u32, data: &[u8], rdev: u64) -> KResult<()> {
    let (parent, last) = match name.iter().rposition(|&b| b == b'/') {
        Some(i) => (&name[..i], &name[i + 1..]),
        None => (&b""[..], name),
    };
    if last.is_empty() || last == b"." {
        return Ok(()); // the archive's "." entry: the root exists
    }
    let dir = mkdir_p(root, parent)?;
    let perm = mode & S_IALLUGO;
    match mode & S_IFMT {
        S_IFDIR => {
            match namei::lookup_child(&dir, last) {
                Ok(d) => d.data.lock().mode = S_IFDIR | perm, // made earlier as a parent
                Err(_) => {
                    tmpfs::create(&dir, last, |p| tmpfs::new_dir(p, perm))?;
                }
            }
        }
        S_IFREG => {
            let file = tmpfs::create(&dir, last, |p| {
                Inode::new(&p.sb, S_IFREG | perm, Kind::Regular)
            })?;
            let _w = file.rw.lock();
            let n = write_regular(&file, 0, &mut KernelSrc { data, pos: 0 })?;
            if n != data.len() {
                return Err(Errno::ENOSPC);
            }
        }
        S_IFLNK => {
            let mut target = alloc::vec::Vec::new();
            target
                .try_reserve_exact(data.len())
                .map_err(|_| Errno::ENOMEM)?;
            target.extend_from_slice(data);
            let len = target.len() as u64;
            let link = tmpfs::create(&dir, last, |p| {
                Inode::new(&p.sb, S_IFLNK | 0o777, Kind::Symlink(target))
            })?;
            link.data.lock().size = len;
        }
        S_IFCHR => {
            let node = tmpfs::create(&dir, last, |p| {
                Inode::new(&p.sb, S_IFCHR | perm, Kind::CharDev)
            })?;
            node.data.lock().rdev = rdev;
        }
        S_IFIFO => {
            tmpfs::create(&dir, last, |p| {
                Inode::new(&p.sb, S_IFIFO | perm, Kind::Fifo(Fifo::new()))
            })?;
        }
        _ => {} // sockets and block devices: nothing here uses them
    }
    Ok(())
}

/// Builds "/" from `archive` and mounts /dev, /proc and /tmp; returns the root.
pub fn mount_root(archive: &[u8]) -> KResult<Arc<Inode>> {
    let root = new_tmpfs(0o755)?;
    mount::mount(None, root.clone(), "rootfs", "rootfs")?;
    let _ns = tmpfs::lock();
    let mut files = 0;
    for e in super::cpio::entries(archive) {
        let rdev = dev::makedev(e.rdev_major as u64, e.rdev_minor as u64);
        if let Err(err) = unpack_entry(&root, e.name.as_bytes(), e.mode, e.data, rdev) {
            crate::println!("initramfs: {}: {:?}", e.name, err);
        }
        files += 1;
    }
    crate::println!(
        "  rootfs    tmpfs with the initrd's {} entries; /dev, /proc, /tmp mounted",
        files
    );
    // /dev: a tmpfs of its own with the device nodes.
    let dev_dir = mkdir_p(&root, b"dev")?;
    let devfs = new_tmpfs(0o755)?;
    for (name, rdev, perm) in dev::NODES {
        let node = tmpfs::create(&devfs, name.as_bytes(), |p| {
            Inode::new(&p.sb, S_IFCHR | perm, Kind::CharDev)
        })?;
        node.data.lock().rdev = rdev;
    }
    mount::mount(Some(dev_dir), devfs, "devtmpfs", "devtmpfs")?;
    let proc_dir = mkdir_p(&root, b"proc")?;
    mount::mount(Some(proc_dir), new_proc()?, "proc", "proc")?;
    let tmp_dir = mkdir_p(&root, b"tmp")?;
    mount::mount(Some(tmp_dir), new_tmpfs(0o1777)?, "tmpfs", "tmpfs")?;
    Ok(root)
}
