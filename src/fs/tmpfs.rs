//! Changing the name space of a tmpfs (Linux mm/shmem.c `shmem_mknod`, `shmem_link`,
//! `shmem_unlink`, `shmem_rmdir`, `shmem_rename2`, with the checks of fs/namei.c
//! `vfs_*`): creating, linking, unlinking and renaming directory entries.
//!
//! Every change holds NAMESPACE, one sleeping lock for all of them (Linux locks the
//! directories involved and, for a rename across directories, the per-file-system
//! `s_vfs_rename_mutex`). Lookups do not take it — they read each directory under its
//! own short lock — so a change appears to them at once, entry by entry.

use alloc::sync::Arc;

use super::inode::{Dir, Inode, Kind, S_IFMT, now};
use crate::error::{Errno, KResult};
use crate::sync::sleeplock::{SleepGuard, SleepLock};

static NAMESPACE: SleepLock = SleepLock::new();

/// Takes the name-space lock for a change.
pub fn lock() -> SleepGuard<'static> {
    NAMESPACE.lock()
}

fn tmpfs_dir(dir: &Inode) -> KResult<&crate::sync::ordered::OrderedMutex<Dir>> {
    match &dir.kind {
        Kind::Dir(d) => Ok(d),
        // /proc's directories are made up: nothing can be created in them.
        Kind::Proc(_) => Err(Errno::EACCES),
        _ => Err(Errno::ENOTDIR),
    }
}

fn is_dot_or_empty(name: &[u8]) -> bool {
    matches!(name, b"" | b"." | b"..")
}

/// Marks a directory's contents changed.
fn dir_changed(dir: &Inode) {
    dir.touch_mtime();
}

/// Creates `name` in `dir` as a new inode of `mode` (type and permissions) made by
/// `make` — with NAMESPACE held. EEXIST if the name is taken (also for "." and "..").
pub fn create(
    dir: &Arc<Inode>,
    name: &[u8],
    make: impl FnOnce(&Arc<Inode>) -> KResult<Arc<Inode>>,
) -> KResult<Arc<Inode>> {
    let d = tmpfs_dir(dir)?;
    if is_dot_or_empty(name) || d.lock().find(name).is_some() {
        return Err(Errno::EEXIST);
    }
    if dir.data.lock().nlink == 0 {
        return Err(Errno::ENOENT); // a removed directory takes no new entries
    }
    let inode = make(dir)?;
    d.lock().insert(name, inode.clone())?;
    if inode.is_dir() {
        dir.data.lock().nlink += 1; // the new directory's ".."
    }
    dir_changed(dir);
    Ok(inode)
}

/// Linux `vfs_link`: another name for `inode` in `dir`.
pub fn link(dir: &Arc<Inode>, name: &[u8], inode: &Arc<Inode>) -> KResult<()> {
    let d = tmpfs_dir(dir)?;
    if inode.is_dir() {
        return Err(Errno::EPERM);
    }
    if !Arc::ptr_eq(&inode.sb, &dir.sb) {
        return Err(Errno::EXDEV);
    }
    if matches!(inode.kind, Kind::Proc(_)) {
        return Err(Errno::EPERM);
    }
    if is_dot_or_empty(name) || d.lock().find(name).is_some() {
        return Err(Errno::EEXIST);
    }
    if inode.data.lock().nlink == 0 {
        return Err(Errno::ENOENT); // unlinked meanwhile (Linux: unless O_TMPFILE)
    }
    d.lock().insert(name, inode.clone())?;
    {
        let mut i = inode.data.lock();
        i.nlink += 1;
        i.ctime = now();
    }
    dir_changed(dir);
    Ok(())
}

/// Is `inode` in use as a mount point or a mounted root? (Linux: EBUSY.)
fn busy(inode: &Arc<Inode>) -> bool {
    inode.mounted.load(core::sync::atomic::Ordering::Acquire)
        || super::mount::mountpoint_of(inode).is_some()
}

/// Linux `vfs_unlink` (`dir_is_dir`: false) or `vfs_rmdir` (true). Returns the inode,
/// which the caller drops after releasing NAMESPACE (its last reference frees its
/// pages).
pub fn remove(dir: &Arc<Inode>, name: &[u8], want_dir: bool) -> KResult<Arc<Inode>> {
    let d = tmpfs_dir(dir)?;
    match name {
        b"." if want_dir => return Err(Errno::EINVAL),
        b".." if want_dir => return Err(Errno::ENOTEMPTY),
        b"" if want_dir => return Err(Errno::EBUSY),
        b"." | b".." | b"" => return Err(Errno::EISDIR),
        _ => {}
    }
    let child = d
        .lock()
        .find(name)
        .map(|e| e.inode.clone())
        .ok_or(Errno::ENOENT)?;
    if want_dir {
        let Kind::Dir(cd) = &child.kind else {
            return Err(Errno::ENOTDIR);
        };
        if busy(&child) {
            return Err(Errno::EBUSY);
        }
        if !cd.lock().is_empty() {
            return Err(Errno::ENOTEMPTY);
        }
    } else if child.is_dir() {
        return Err(Errno::EISDIR);
    }
    let removed = d.lock().remove(name).ok_or(Errno::ENOENT)?;
    {
        let mut c = removed.data.lock();
        c.nlink = if want_dir { 0 } else { c.nlink - 1 };
        c.ctime = now();
    }
    if want_dir {
        dir.data.lock().nlink -= 1;
    }
    dir_changed(dir);
    Ok(removed)
}

/// renameat2's flags.
pub const RENAME_NOREPLACE: u32 = 1;
pub const RENAME_EXCHANGE: u32 = 2;
pub const RENAME_WHITEOUT: u32 = 4;

/// Is `ancestor` `dir` or above it?
fn is_ancestor(ancestor: &Arc<Inode>, dir: &Arc<Inode>) -> bool {
    let mut cur = dir.clone();
    loop {
        if Arc::ptr_eq(&cur, ancestor) {
            return true;
        }
        let up = match &cur.kind {
            Kind::Dir(d) => d.lock().parent.upgrade(),
            _ => None,
        };
        match up {
            Some(p) => cur = p,
            None => return false,
        }
    }
}

/// Linux `vfs_rename` for tmpfs: moves `old_name` of `old_dir` to `new_name` of
/// `new_dir`, replacing what is there (unless RENAME_NOREPLACE), or swapping the two
/// (RENAME_EXCHANGE). Returns the replaced inode for the caller to drop unlocked.
pub fn rename(
    old_dir: &Arc<Inode>,
    old_name: &[u8],
    new_dir: &Arc<Inode>,
    new_name: &[u8],
    flags: u32,
) -> KResult<Option<Arc<Inode>>> {
    let od = tmpfs_dir(old_dir)?;
    let nd = tmpfs_dir(new_dir)?;
    if is_dot_or_empty(old_name) || is_dot_or_empty(new_name) {
        return Err(Errno::EBUSY);
    }
    let old = od
        .lock()
        .find(old_name)
        .map(|e| e.inode.clone())
        .ok_or(Errno::ENOENT)?;
    if !Arc::ptr_eq(&old_dir.sb, &new_dir.sb) {
        return Err(Errno::EXDEV);
    }
    let target = nd.lock().find(new_name).map(|e| e.inode.clone());
    let exchange = flags & RENAME_EXCHANGE != 0;
    if exchange && target.is_none() {
        return Err(Errno::ENOENT);
    }
    if flags & RENAME_NOREPLACE != 0 && target.is_some() {
        return Err(Errno::EEXIST);
    }
    // Renaming a name onto the same inode does nothing (POSIX).
    if let Some(t) = &target
        && Arc::ptr_eq(t, &old)
    {
        return Ok(None);
    }
    // A directory cannot move below itself (EINVAL); with EXCHANGE, neither can the
    // target move below the source... nor can either be a mount point.
    if old.is_dir() && is_ancestor(&old, new_dir) {
        return Err(Errno::EINVAL);
    }
    if let Some(t) = &target {
        if exchange && t.is_dir() && is_ancestor(t, old_dir) {
            return Err(Errno::EINVAL);
        }
        if !exchange {
            match (old.is_dir(), t.is_dir()) {
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (true, true) => {
                    if let Kind::Dir(td) = &t.kind
                        && !td.lock().is_empty()
                    {
                        return Err(Errno::ENOTEMPTY);
                    }
                }
                _ => {}
            }
        }
        if busy(t) {
            return Err(Errno::EBUSY);
        }
    }
    if busy(&old) {
        return Err(Errno::EBUSY);
    }
    let same_dir = Arc::ptr_eq(old_dir, new_dir);
    let replaced = if exchange {
        let t = target.clone().ok_or(Errno::ENOENT)?;
        nd.lock().replace(new_name, old.clone());
        od.lock().replace(old_name, t.clone());
        if !same_dir {
            reparent(&old, new_dir, old_dir);
            reparent(&t, old_dir, new_dir);
        }
        None
    } else {
        // Make room first, so that a failure leaves everything as it was.
        let replaced = match &target {
            Some(_) => nd.lock().replace(new_name, old.clone()),
            None => {
                nd.lock().insert(new_name, old.clone())?;
                None
            }
        };
        od.lock().remove(old_name);
        if let Some(r) = &replaced {
            let mut c = r.data.lock();
            c.nlink = if r.is_dir() { 0 } else { c.nlink - 1 };
            c.ctime = now();
            if r.is_dir() {
                drop(c);
                new_dir.data.lock().nlink -= 1;
            }
        }
        if !same_dir {
            reparent(&old, new_dir, old_dir);
        }
        replaced
    };
    old.touch_ctime();
    dir_changed(old_dir);
    if !same_dir {
        dir_changed(new_dir);
    }
    Ok(replaced)
}

/// A directory moved from `from` to `to`: its ".." and the two link counts follow.
fn reparent(moved: &Arc<Inode>, to: &Arc<Inode>, from: &Arc<Inode>) {
    if let Kind::Dir(d) = &moved.kind {
        d.lock().parent = Arc::downgrade(to);
        to.data.lock().nlink += 1;
        from.data.lock().nlink -= 1;
    }
}

/// The file type bits of `mode`, or regular if none (mknod's rule).
pub fn file_type(mode: u32) -> u32 {
    match mode & S_IFMT {
        0 => super::inode::S_IFREG,
        t => t,
    }
}

/// A fresh directory in `parent`'s file system.
pub fn new_dir(parent: &Arc<Inode>, perm: u32) -> KResult<Arc<Inode>> {
    Inode::new_dir(&parent.sb, perm, Some(parent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::inode::{FsType, S_IFREG, SuperBlock};
    use crate::fs::namei::lookup_child;

    fn root() -> Arc<Inode> {
        let sb = Arc::new(SuperBlock::new(FsType::Tmpfs, 1024));
        Inode::new_dir(&sb, 0o755, None).unwrap()
    }

    fn file(dir: &Arc<Inode>, name: &[u8]) -> KResult<Arc<Inode>> {
        create(dir, name, |p| {
            Inode::new(&p.sb, S_IFREG | 0o644, Kind::Regular)
        })
    }

    fn dir(d: &Arc<Inode>, name: &[u8]) -> KResult<Arc<Inode>> {
        create(d, name, |p| new_dir(p, 0o755))
    }

    fn nlink(i: &Inode) -> u32 {
        i.data.lock().nlink
    }

    #[test]
    fn create_link_unlink_keep_link_counts() {
        let r = root();
        let f = file(&r, b"f").unwrap();
        assert_eq!(file(&r, b"f").err(), Some(Errno::EEXIST));
        assert_eq!(file(&r, b"..").err(), Some(Errno::EEXIST));
        let d = dir(&r, b"d").unwrap();
        assert_eq!((nlink(&r), nlink(&d)), (3, 2), "a subdirectory's .. counts");
        link(&d, b"g", &f).unwrap();
        assert_eq!(nlink(&f), 2);
        assert_eq!(
            link(&r, b"d2", &d).err(),
            Some(Errno::EPERM),
            "no links to directories"
        );
        assert_eq!(remove(&r, b"d", false).err(), Some(Errno::EISDIR));
        assert_eq!(remove(&r, b"f", true).err(), Some(Errno::ENOTDIR));
        assert_eq!(remove(&r, b"d", true).err(), Some(Errno::ENOTEMPTY));
        assert_eq!(remove(&r, b".", true).err(), Some(Errno::EINVAL));
        remove(&d, b"g", false).unwrap();
        assert_eq!(nlink(&f), 1);
        remove(&r, b"d", true).unwrap();
        assert_eq!((nlink(&r), nlink(&d)), (2, 0));
        assert_eq!(
            file(&d, b"x").err(),
            Some(Errno::ENOENT),
            "a removed directory"
        );
    }

    #[test]
    fn rename_follows_linux_rules() {
        let r = root();
        let a = dir(&r, b"a").unwrap();
        let b = dir(&r, b"b").unwrap();
        let f = file(&a, b"f").unwrap();
        file(&b, b"g").unwrap();
        assert_eq!(
            rename(&r, b"a", &a, b"x", 0).err(),
            Some(Errno::EINVAL),
            "into itself"
        );
        assert_eq!(rename(&a, b"f", &r, b"b", 0).err(), Some(Errno::EISDIR));
        assert_eq!(rename(&r, b"a", &b, b"g", 0).err(), Some(Errno::ENOTDIR));
        assert_eq!(
            rename(&a, b"f", &b, b"g", RENAME_NOREPLACE).err(),
            Some(Errno::EEXIST)
        );
        assert_eq!(
            rename(&a, b"f", &b, b"h", RENAME_EXCHANGE).err(),
            Some(Errno::ENOENT)
        );
        // Replace: g's inode loses its name.
        let g = lookup_child(&b, b"g").unwrap();
        rename(&a, b"f", &b, b"g", 0).unwrap();
        assert!(Arc::ptr_eq(&lookup_child(&b, b"g").unwrap(), &f));
        assert_eq!(nlink(&g), 0);
        assert_eq!(lookup_child(&a, b"f").err(), Some(Errno::ENOENT));
        // A directory moves: its ".." and the link counts follow.
        let c = dir(&a, b"c").unwrap();
        rename(&a, b"c", &b, b"c", 0).unwrap();
        assert_eq!((nlink(&a), nlink(&b)), (2, 3));
        assert!(Arc::ptr_eq(
            &c.dir().unwrap().lock().parent.upgrade().unwrap(),
            &b
        ));
        // Exchange a file and a directory.
        rename(&b, b"g", &b, b"c", RENAME_EXCHANGE).unwrap();
        assert!(Arc::ptr_eq(&lookup_child(&b, b"c").unwrap(), &f));
        assert!(Arc::ptr_eq(&lookup_child(&b, b"g").unwrap(), &c));
    }
}
