//! The mount table (Linux fs/namespace.c, reduced to one namespace without bind
//! mounts): which file system's root is mounted on which directory. Path lookup asks it
//! when it meets a directory marked `mounted` (going down) or the root of a mounted file
//! system (going up through "..").

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::inode::Inode;
use crate::error::{Errno, KResult};
use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;

pub struct Mount {
    /// The directory it is mounted on (None: the root file system).
    pub mountpoint: Option<Arc<Inode>>,
    pub root: Arc<Inode>,
    /// What /proc/mounts shows: the source ("none", "proc", "rootfs"...) and type.
    pub source: &'static str,
    pub fstype: &'static str,
}

static MOUNTS: OrderedMutex<Vec<Mount>> = OrderedMutex::new(Level::Process, Vec::new());

/// Linux's `fs.mount-max` default: mounts beyond it are ENOSPC.
pub const MOUNT_MAX: usize = 100_000;

/// The root of the file system mounted last on `mountpoint`.
pub fn mounted_root(mountpoint: &Arc<Inode>) -> Option<Arc<Inode>> {
    MOUNTS
        .lock()
        .iter()
        .rev()
        .find(|m| {
            m.mountpoint
                .as_ref()
                .is_some_and(|mp| Arc::ptr_eq(mp, mountpoint))
        })
        .map(|m| m.root.clone())
}

/// Where the file system whose root is `root` is mounted.
pub fn mountpoint_of(root: &Arc<Inode>) -> Option<Arc<Inode>> {
    if root.sb.root_ino.load(Ordering::Relaxed) != root.ino {
        return None;
    }
    MOUNTS
        .lock()
        .iter()
        .find(|m| Arc::ptr_eq(&m.root, root))
        .and_then(|m| m.mountpoint.clone())
}

/// Mounts `root` on `mountpoint` (a directory; checked by the caller).
pub fn mount(
    mountpoint: Option<Arc<Inode>>,
    root: Arc<Inode>,
    source: &'static str,
    fstype: &'static str,
) -> KResult<()> {
    let mut mounts = MOUNTS.lock();
    if mounts.len() >= MOUNT_MAX {
        return Err(Errno::ENOSPC);
    }
    mounts.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    if let Some(mp) = &mountpoint {
        mp.mounted.store(true, Ordering::Release);
    }
    mounts.push(Mount {
        mountpoint,
        root,
        source,
        fstype,
    });
    Ok(())
}

/// Unmounts the file system whose root is `root`; returns the mounts removed (dropped
/// by the caller outside the lock). EINVAL if `root` is not the root of a mount, EBUSY
/// if something is mounted inside it — unless `detach` (MNT_DETACH, a lazy unmount):
/// then the mounts inside go too, and whoever still uses a file in them keeps it.
pub fn umount(root: &Arc<Inode>, detach: bool) -> KResult<Vec<Mount>> {
    let mut mounts = MOUNTS.lock();
    let i = mounts
        .iter()
        .position(|m| Arc::ptr_eq(&m.root, root) && m.mountpoint.is_some())
        .ok_or(Errno::EINVAL)?;
    let inside = |mounts: &[Mount], sb: &Arc<super::inode::SuperBlock>| {
        mounts.iter().position(|m| {
            m.mountpoint
                .as_ref()
                .is_some_and(|mp| Arc::ptr_eq(&mp.sb, sb))
        })
    };
    if !detach && inside(&mounts, &root.sb).is_some() {
        return Err(Errno::EBUSY);
    }
    let mut gone = Vec::new();
    gone.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
    gone.push(mounts.remove(i));
    // A lazy unmount takes what is mounted below along (Linux: the whole subtree).
    let mut k = 0;
    while k < gone.len() {
        let sb = gone[k].root.sb.clone();
        while let Some(j) = inside(&mounts, &sb) {
            gone.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
            gone.push(mounts.remove(j));
        }
        k += 1;
    }
    for m in &gone {
        if let Some(mp) = &m.mountpoint {
            let still = mounts
                .iter()
                .any(|o| o.mountpoint.as_ref().is_some_and(|x| Arc::ptr_eq(x, mp)));
            mp.mounted.store(still, Ordering::Release);
        }
    }
    Ok(gone)
}

/// Calls `f` with each mount (for /proc/mounts), oldest first.
pub fn for_each(mut f: impl FnMut(&Mount)) {
    for m in MOUNTS.lock().iter() {
        f(m);
    }
}

/// Copies of the mount roots and mountpoints (to walk them without the lock).
/// A mount as `snapshot` copies it: mountpoint, root, source, type.
pub type MountView = (Option<Arc<Inode>>, Arc<Inode>, &'static str, &'static str);

pub fn snapshot() -> KResult<Vec<MountView>> {
    let mounts = MOUNTS.lock();
    let mut v = Vec::new();
    v.try_reserve_exact(mounts.len())
        .map_err(|_| Errno::ENOMEM)?;
    for m in mounts.iter() {
        v.push((m.mountpoint.clone(), m.root.clone(), m.source, m.fstype));
    }
    Ok(v)
}
