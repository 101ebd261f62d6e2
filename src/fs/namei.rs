//! Path lookup (Linux fs/namei.c `link_path_walk`, `walk_component`, `follow_dotdot`,
//! `pick_link`): a path is bytes, split at '/', walked one component at a time from the
//! process's root (absolute) or a starting directory (relative). On the way:
//!
//! * "." stays, ".." goes up — but never above the process's root (chroot), and from
//!   the root of a mounted file system first down to the directory it is mounted on;
//! * a directory something is mounted on is replaced by the mounted root;
//! * a symbolic link is replaced by its target (relative to the link's directory), at
//!   most MAXSYMLINKS (40) times per lookup, else ELOOP. The last component's link is
//!   followed only if asked (`O_NOFOLLOW`, `AT_SYMLINK_NOFOLLOW`, lstat, unlink do not).
//!
//! Errors as Linux's: ENOENT for a missing component or an empty path, ENOTDIR when a
//! non-directory is walked through (or a path ending in '/' names one), ENAMETOOLONG for
//! a component longer than NAME_MAX. Everyone is root here, so search permission is
//! never refused.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::inode::{Inode, Kind};
use super::{NAME_MAX, mount};
use crate::error::{Errno, KResult};

/// Linux MAXSYMLINKS: symbolic links one lookup may follow.
pub const MAXSYMLINKS: u32 = 40;

/// Where a lookup starts: the process's root and the directory relative paths start from
/// (its cwd, or the directory of a `*at` call's descriptor).
pub struct Start {
    pub root: Arc<Inode>,
    pub dir: Arc<Inode>,
}

/// What a lookup found.
pub enum Walked {
    /// The inode the whole path names.
    Inode(Arc<Inode>),
    /// `Want::Parent`: the directory holding the last component, and its name ("" for a
    /// path of slashes only, "." or ".." as written). `must_be_dir`: the path ended in
    /// '/'.
    /// `followed_link`: a symbolic link was followed on the way.
    Parent {
        dir: Arc<Inode>,
        must_be_dir: bool,
        followed_link: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The inode itself; a final symlink followed if `follow`.
    Inode { follow: bool },
    /// The parent directory and last name (for create, unlink, rename, link).
    Parent,
}

/// The entry `name` of directory `dir` (Linux `lookup_fast`/`lookup_slow`), with what is
/// mounted on it.
pub fn lookup_child(dir: &Arc<Inode>, name: &[u8]) -> KResult<Arc<Inode>> {
    let child = match &dir.kind {
        Kind::Dir(d) => d.lock().find(name).map(|e| e.inode.clone()),
        Kind::Proc(p) => Some(p.lookup(dir, name)?),
        _ => return Err(Errno::ENOTDIR),
    };
    child.map(cross_mounts).ok_or(Errno::ENOENT)
}

/// What is mounted on `inode`, if anything (the latest mount wins, as on Linux).
pub fn cross_mounts(mut inode: Arc<Inode>) -> Arc<Inode> {
    while inode.mounted.load(core::sync::atomic::Ordering::Acquire) {
        match mount::mounted_root(&inode) {
            Some(root) => inode = root,
            None => break,
        }
    }
    inode
}

/// ".." of `dir`, not above `root` (Linux `follow_dotdot`).
pub fn parent_of(dir: &Arc<Inode>, root: &Arc<Inode>) -> Arc<Inode> {
    let mut dir = dir.clone();
    loop {
        if Arc::ptr_eq(&dir, root) {
            return dir;
        }
        // At the root of a mounted file system: continue from where it is mounted.
        match mount::mountpoint_of(&dir) {
            Some(mp) => dir = mp,
            None => break,
        }
    }
    let up = match &dir.kind {
        Kind::Dir(d) => d.lock().parent.upgrade(),
        Kind::Proc(p) => p.parent(),
        _ => None,
    };
    up.unwrap_or(dir)
}

/// The target of a symbolic link.
pub fn read_link(link: &Inode) -> KResult<Vec<u8>> {
    match &link.kind {
        Kind::Symlink(target) => {
            let mut t = Vec::new();
            t.try_reserve_exact(target.len())
                .map_err(|_| Errno::ENOMEM)?;
            t.extend_from_slice(target);
            Ok(t)
        }
        Kind::Proc(p) => p.read_link(),
        _ => Err(Errno::EINVAL),
    }
}

pub fn is_symlink(inode: &Inode) -> bool {
    inode.file_type() == super::inode::S_IFLNK
}

/// One path component, held on the stack (Linux keeps it as a `qstr` pointing into the
/// `struct filename`): the walk copies each name here instead of allocating it, so a
/// lookup makes no heap allocation per component — none at all unless it follows a
/// link /proc makes up.
pub struct Name {
    len: usize,
    /// Only `buf[..len]` is initialized: an empty `Name` is not cleared first (255 bytes
    /// written for nothing on every lookup).
    buf: [core::mem::MaybeUninit<u8>; NAME_MAX],
}

impl Name {
    pub const fn empty() -> Name {
        Name {
            len: 0,
            buf: [core::mem::MaybeUninit::uninit(); NAME_MAX],
        }
    }

    /// `name`, or ENAMETOOLONG if it is longer than NAME_MAX.
    pub fn new(name: &[u8]) -> KResult<Name> {
        let mut n = Name::empty();
        n.set(name)?;
        Ok(n)
    }

    fn set(&mut self, name: &[u8]) -> KResult<()> {
        if name.len() > NAME_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        // SAFETY: `name` fits in `buf` (checked above), and a `&mut self` cannot overlap
        // the `&[u8]` borrowed from elsewhere; u8 and MaybeUninit<u8> have one layout.
        unsafe {
            core::ptr::copy_nonoverlapping(name.as_ptr(), self.buf.as_mut_ptr().cast(), name.len())
        };
        self.len = name.len();
        Ok(())
    }

    /// The name on the heap (for callers that keep it).
    pub fn to_vec(&self) -> KResult<Vec<u8>> {
        let mut v = Vec::new();
        v.try_reserve_exact(self.len).map_err(|_| Errno::ENOMEM)?;
        v.extend_from_slice(self);
        Ok(v)
    }
}

impl core::ops::Deref for Name {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `set` initialized `buf[..len]` (and `len` is 0 until it has).
        unsafe { core::slice::from_raw_parts(self.buf.as_ptr().cast::<u8>(), self.len) }
    }
}

/// The body of a symbolic link being walked: a tmpfs link's target is borrowed from
/// its inode (the link is held, and its target never changes); /proc's links are made
/// up on the spot and owned.
enum LinkBody {
    Inode(Arc<Inode>),
    Owned(Vec<u8>),
}

impl LinkBody {
    fn of(link: &Arc<Inode>) -> KResult<LinkBody> {
        match &link.kind {
            Kind::Symlink(_) => Ok(LinkBody::Inode(link.clone())),
            _ => read_link(link).map(LinkBody::Owned),
        }
    }

    fn bytes(&self) -> &[u8] {
        match self {
            LinkBody::Inode(i) => match &i.kind {
                Kind::Symlink(t) => t,
                _ => &[],
            },
            LinkBody::Owned(v) => v,
        }
    }
}

/// The path still to walk: the path given, then the bodies of the links being followed,
/// innermost last (each with how far it has been walked). The link stack is allocated
/// only when a link is followed.
struct Pending<'p> {
    path: &'p [u8],
    pos: usize,
    links: Vec<(LinkBody, usize)>,
}

impl Pending<'_> {
    fn push(&mut self, body: LinkBody) -> KResult<()> {
        self.links.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
        self.links.push((body, 0));
        Ok(())
    }

    /// Copies the next component into `name`; returns whether it is the last one and
    /// whether a '/' follows it, or None at the end. ENAMETOOLONG for a component
    /// longer than NAME_MAX.
    fn next(&mut self, name: &mut Name) -> Option<KResult<(bool, bool)>> {
        loop {
            let (seg, pos) = match self.links.last_mut() {
                Some((body, pos)) => (body.bytes(), pos),
                None => (self.path, &mut self.pos),
            };
            while *pos < seg.len() && seg[*pos] == b'/' {
                *pos += 1;
            }
            if *pos == seg.len() {
                // The end of a link's body: back to what follows the link (the end of
                // the path itself: done).
                self.links.pop()?;
                continue;
            }
            let start = *pos;
            let end = seg[start..]
                .iter()
                .position(|&b| b == b'/')
                .map_or(seg.len(), |i| start + i);
            *pos = end;
            if let Err(e) = name.set(&seg[start..end]) {
                return Some(Err(e));
            }
            let slash_after = end < seg.len();
            let rest_is_slashes = |s: &[u8], p: usize| s[p..].iter().all(|&b| b == b'/');
            let last = rest_is_slashes(self.path, self.pos)
                && self
                    .links
                    .iter()
                    .all(|(b, p)| rest_is_slashes(b.bytes(), *p));
            return Some(Ok((last, slash_after)));
        }
    }
}

/// Walks `path` from `start` (Linux `path_lookupat` / `path_parentat`). No heap
/// allocation: each component is copied into a `Name` on the stack, looked up under its
/// directory's lock, and only the `Arc` of what was found is carried to the next step.
///
/// The last component (for `Want::Parent`, the name `Walked::Parent` stands for) is left
/// in `name`, which the caller provides: a `Name` is 264 bytes, and returning it would
/// copy it at every level of the call.
pub fn walk(start: &Start, path: &[u8], want: Want, name: &mut Name) -> KResult<Walked> {
    if path.is_empty() {
        return Err(Errno::ENOENT);
    }
    let mut pending = Pending {
        path,
        pos: 0,
        links: Vec::new(),
    };
    let mut cur = if path[0] == b'/' {
        start.root.clone()
    } else {
        start.dir.clone()
    };
    let mut links = 0;
    let mut ended_in_slash = path.last() == Some(&b'/');
    // A symlink followed as the last component with a '/' after it: its target must
    // be a directory, whatever the target's own last component says.
    let mut link_needs_dir = false;
    name.len = 0;
    while let Some(next) = pending.next(name) {
        let (last, slash_after) = next?;
        if !cur.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        if last && want == Want::Parent {
            return Ok(Walked::Parent {
                dir: cur,
                must_be_dir: slash_after,
                followed_link: links > 0,
            });
        }
        match &name[..] {
            b"." => continue,
            b".." => {
                cur = parent_of(&cur, &start.root);
                continue;
            }
            _ => {}
        }
        let child = lookup_child(&cur, name)?;
        let follow = match want {
            Want::Inode { follow } => follow,
            Want::Parent => true,
        };
        if is_symlink(&child) && (!last || follow || slash_after) {
            links += 1;
            if links > MAXSYMLINKS {
                return Err(Errno::ELOOP);
            }
            let body = LinkBody::of(&child)?;
            let target = body.bytes();
            if target.is_empty() {
                return Err(Errno::ENOENT);
            }
            if target[0] == b'/' {
                cur = start.root.clone();
            }
            if last {
                link_needs_dir |= slash_after;
                ended_in_slash = target.last() == Some(&b'/');
            }
            pending.push(body)?;
            continue; // `cur` stays the directory holding the link
        }
        cur = child;
        if last {
            ended_in_slash = slash_after;
        }
    }
    match want {
        Want::Inode { .. } => {
            if (ended_in_slash || link_needs_dir) && !cur.is_dir() {
                return Err(Errno::ENOTDIR);
            }
            Ok(Walked::Inode(cur))
        }
        // Only slashes, "." or ".." were left: the path names a directory itself.
        Want::Parent => Ok(Walked::Parent {
            dir: cur,
            must_be_dir: true,
            followed_link: links > 0,
        }),
    }
}

/// The inode `path` names (following a final symlink if `follow`).
pub fn lookup(start: &Start, path: &[u8], follow: bool) -> KResult<Arc<Inode>> {
    match walk(start, path, Want::Inode { follow }, &mut Name::empty())? {
        Walked::Inode(i) => Ok(i),
        Walked::Parent { .. } => Err(Errno::ENOENT),
    }
}

/// The directory holding the last component of `path`, and that component.
pub fn lookup_parent(start: &Start, path: &[u8]) -> KResult<(Arc<Inode>, Name, bool)> {
    let mut name = Name::empty();
    match walk(start, path, Want::Parent, &mut name)? {
        Walked::Parent {
            dir, must_be_dir, ..
        } => Ok((dir, name, must_be_dir)),
        Walked::Inode(_) => Err(Errno::ENOENT),
    }
}

/// Like `lookup`, but also returns the directory the inode was finally found in and its
/// name there — after following final symlinks (if `follow`) — for the paths /proc shows.
pub fn lookup_with_parent(
    start: &Start,
    path: &[u8],
    follow: bool,
) -> KResult<(Arc<Inode>, Arc<Inode>, Vec<u8>)> {
    let (mut dir, mut last, mut must_dir) = lookup_parent(start, path)?;
    let mut links = 0;
    loop {
        let inode = match &last[..] {
            b"" | b"." => dir.clone(),
            b".." => parent_of(&dir, &start.root),
            name => lookup_child(&dir, name)?,
        };
        if is_symlink(&inode) && (follow || must_dir) {
            links += 1;
            if links > MAXSYMLINKS {
                return Err(Errno::ELOOP);
            }
            let target = read_link(&inode)?;
            let at = Start {
                root: start.root.clone(),
                dir: dir.clone(),
            };
            let next = lookup_parent(&at, &target)?;
            (dir, last) = (next.0, next.1);
            must_dir |= next.2;
            continue;
        }
        if must_dir && !inode.is_dir() {
            return Err(Errno::ENOTDIR);
        }
        return Ok((inode, dir, last.to_vec()?));
    }
}

/// The path of `inode` as seen from `root` (Linux `d_path`): names are found by looking
/// the inode up in its parent directory. None if it is not reachable from `root` (a
/// directory removed, or outside a chroot: Linux prints "(unreachable)").
pub fn path_of(inode: &Arc<Inode>, root: &Arc<Inode>) -> Option<Vec<u8>> {
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut cur = inode.clone();
    for _ in 0..super::PATH_MAX / 2 {
        if Arc::ptr_eq(&cur, root) {
            let mut path = Vec::new();
            for n in names.iter().rev() {
                path.push(b'/');
                path.extend_from_slice(n);
            }
            if path.is_empty() {
                path.push(b'/');
            }
            return Some(path);
        }
        let at = match mount::mountpoint_of(&cur) {
            Some(mp) => mp,
            None => cur.clone(),
        };
        let parent = match &at.kind {
            Kind::Dir(d) => d.lock().parent.upgrade()?,
            Kind::Proc(p) => p.parent()?,
            _ => return None,
        };
        let name = match &parent.kind {
            Kind::Dir(d) => d
                .lock()
                .entries
                .iter()
                .find(|e| Arc::ptr_eq(&e.inode, &at))
                .map(|e| e.name.clone())?,
            Kind::Proc(p) => p.name_of(&at)?,
            _ => return None,
        };
        names.push(name);
        cur = parent;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::inode::{FsType, S_IFLNK, S_IFREG, SuperBlock};
    use crate::fs::tmpfs;

    fn tmpfs_root() -> Arc<Inode> {
        let sb = Arc::new(SuperBlock::new(FsType::Tmpfs, 1024));
        Inode::new_dir(&sb, 0o755, None).unwrap()
    }

    fn mkdir(dir: &Arc<Inode>, name: &str) -> Arc<Inode> {
        tmpfs::create(dir, name.as_bytes(), |p| tmpfs::new_dir(p, 0o755)).unwrap()
    }

    fn file(dir: &Arc<Inode>, name: &[u8]) -> Arc<Inode> {
        tmpfs::create(dir, name, |p| {
            Inode::new(&p.sb, S_IFREG | 0o644, Kind::Regular)
        })
        .unwrap()
    }

    fn symlink(dir: &Arc<Inode>, name: &str, target: &str) {
        tmpfs::create(dir, name.as_bytes(), |p| {
            Inode::new(
                &p.sb,
                S_IFLNK | 0o777,
                Kind::Symlink(target.as_bytes().to_vec()),
            )
        })
        .unwrap();
    }

    /// / with bin/hello, tmp/x/, init, and links: tmp/up -> .., tmp/loop -> loop,
    /// tmp/abs -> /bin/hello, tmp/dangling -> nope.
    fn tree() -> (Arc<Inode>, Arc<Inode>) {
        let root = tmpfs_root();
        let bin = mkdir(&root, "bin");
        file(&bin, b"hello");
        let tmp = mkdir(&root, "tmp");
        mkdir(&tmp, "x");
        file(&root, b"init");
        symlink(&tmp, "up", "..");
        symlink(&tmp, "loop", "loop");
        symlink(&tmp, "abs", "/bin/hello");
        symlink(&tmp, "dangling", "nope");
        (root, tmp)
    }

    fn path(root: &Arc<Inode>, start: &Arc<Inode>, p: &[u8], follow: bool) -> KResult<Vec<u8>> {
        let s = Start {
            root: root.clone(),
            dir: start.clone(),
        };
        let i = lookup(&s, p, follow)?;
        // A file's path: its directory's and its name (files have no "..").
        Ok(match path_of(&i, root) {
            Some(path) => path,
            None => b"(file)".to_vec(),
        })
    }

    #[test]
    fn resolves_dots_slashes_and_symlinks() {
        let (root, tmp) = tree();
        assert_eq!(path(&root, &root, b"tmp/x", true).unwrap(), b"/tmp/x");
        assert_eq!(path(&root, &tmp, b"..", true).unwrap(), b"/");
        assert_eq!(
            path(&root, &root, b"/../..//tmp/./x/", true).unwrap(),
            b"/tmp/x"
        );
        assert_eq!(
            path(&root, &tmp, b"up/bin", true).unwrap(),
            b"/bin",
            "a link to .."
        );
        let s = Start {
            root: root.clone(),
            dir: tmp.clone(),
        };
        let hello = lookup(&s, b"/bin/hello", true).unwrap();
        assert!(
            Arc::ptr_eq(&lookup(&s, b"abs", true).unwrap(), &hello),
            "absolute target"
        );
        assert!(
            is_symlink(&lookup(&s, b"abs", false).unwrap()),
            "the link itself"
        );
        assert_eq!(
            lookup(&s, b"dangling", false).map(|i| is_symlink(&i)),
            Ok(true)
        );
    }

    #[test]
    fn lookup_errors_are_linux_s() {
        let (root, tmp) = tree();
        let s = Start {
            root: root.clone(),
            dir: root.clone(),
        };
        let err = |p: &[u8]| lookup(&s, p, true).err();
        assert_eq!(err(b""), Some(Errno::ENOENT));
        assert_eq!(err(b"/nope"), Some(Errno::ENOENT));
        assert_eq!(err(b"/init/"), Some(Errno::ENOTDIR));
        assert_eq!(err(b"/init/."), Some(Errno::ENOTDIR));
        assert_eq!(err(b"/init/x"), Some(Errno::ENOTDIR));
        assert_eq!(err(b"/tmp/loop"), Some(Errno::ELOOP));
        assert_eq!(err(b"/tmp/dangling"), Some(Errno::ENOENT));
        assert_eq!(
            err(b"/tmp/abs/"),
            Some(Errno::ENOTDIR),
            "a file through a link"
        );
        let mut long = vec![b'/'];
        long.extend([b'a'; 255]);
        assert_eq!(err(&long), Some(Errno::ENOENT), "255 bytes is a name");
        long.push(b'a');
        assert_eq!(err(&long), Some(Errno::ENAMETOOLONG));
        // Names are bytes.
        file(&tmp, b"\xff\xfe");
        assert!(lookup(&s, b"/tmp/\xff\xfe", true).is_ok());
    }

    #[test]
    fn forty_links_are_followed_and_the_41st_is_eloop() {
        let root = tmpfs_root();
        file(&root, b"target");
        symlink(&root, "l0", "target");
        for i in 1..=40 {
            symlink(&root, &format!("l{}", i), &format!("l{}", i - 1));
        }
        let s = Start {
            root: root.clone(),
            dir: root.clone(),
        };
        assert!(lookup(&s, b"l39", true).is_ok(), "40 links");
        assert_eq!(
            lookup(&s, b"l40", true).err(),
            Some(Errno::ELOOP),
            "41 links"
        );
    }

    #[test]
    fn dotdot_stops_at_the_process_root() {
        let (root, tmp) = tree();
        let x = lookup(
            &Start {
                root: root.clone(),
                dir: root.clone(),
            },
            b"/tmp/x",
            true,
        )
        .unwrap();
        // chroot("/tmp"): "/" is /tmp, and ".." cannot leave it.
        let s = Start {
            root: tmp.clone(),
            dir: x.clone(),
        };
        assert!(Arc::ptr_eq(&lookup(&s, b"../../..", true).unwrap(), &tmp));
        assert!(Arc::ptr_eq(&lookup(&s, b"/x", true).unwrap(), &x));
        assert_eq!(path_of(&x, &tmp).unwrap(), b"/x");
    }

    #[test]
    fn parent_lookup_gives_the_last_name() {
        let (root, tmp) = tree();
        let s = Start {
            root: root.clone(),
            dir: root.clone(),
        };
        let (dir, name, must_dir) = lookup_parent(&s, b"/tmp/new/").unwrap();
        assert!(Arc::ptr_eq(&dir, &tmp));
        assert_eq!((&name[..], must_dir), (&b"new"[..], true));
        let (dir, name, _) = lookup_parent(&s, b"/").unwrap();
        assert!(Arc::ptr_eq(&dir, &root) && name.is_empty());
        assert_eq!(lookup_parent(&s, b"/nope/x").err(), Some(Errno::ENOENT));
    }
}
