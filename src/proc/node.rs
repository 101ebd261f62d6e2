//! What every /proc node shares: inode numbers, making the inode of a node, and the
//! read of a formatted file (Linux fs/proc/inode.c `proc_get_inode`, fs/seq_file.c
//! `seq_read`).
//!
//! Inode numbers. A /proc inode is made at each lookup and freed with its last user, but
//! `stat` must give a file the same number every time (`find`, `ls -i`, `du` compare
//! them), so the number is computed from what the file shows:
//!
//! ```text
//!   1                       /proc (fs/initramfs.rs made it first)
//!   2 + i                   the root's i-th fixed entry (root.rs ENTRIES)
//!   0xF000_0002, _0003      /proc/self, /proc/thread-self (Linux's numbers)
//!   tid << 32 | T | e       the directory of process or thread `tid` (e = 0) and its
//!                           entries: e = 1 + index in pid.rs ENTRIES, or FD_BASE + fd;
//!                           T (bit 31) marks the thread view /proc/PID/task/TID
//! ```

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::format::Window;
use crate::error::{Errno, KResult};
use crate::fs::Sink;
use crate::fs::inode::{Inode, Kind};
use crate::fs::procfs::ProcNode;

/// getdents64's d_type values (include/linux/fs_types.h).
pub const DT_DIR: u8 = 4;
pub const DT_REG: u8 = 8;
pub const DT_LNK: u8 = 10;

pub const SELF_INO: u64 = 0xF000_0002;
pub const THREAD_SELF_INO: u64 = 0xF000_0003;
/// Entries of a pid directory at and above this are descriptors (fd/N).
pub const FD_BASE: u64 = 0x1000_0000;
const THREAD_VIEW: u64 = 1 << 31;

pub fn root_entry_ino(index: usize) -> u64 {
    2 + index as u64
}

/// The number of entry `entry` (0: the directory itself) of the directory of `tid`.
pub fn pid_ino(tid: u32, thread: bool, entry: u64) -> u64 {
    (tid as u64) << 32 | if thread { THREAD_VIEW } else { 0 } | entry
}

/// The tid and entry a pid-directory inode number encodes.
pub fn split_pid_ino(ino: u64) -> (u32, u64) {
    ((ino >> 32) as u32, ino & (THREAD_VIEW - 1))
}

/// A new inode of the /proc instance `dir` belongs to, showing `node`.
pub fn make(
    dir: &Arc<Inode>,
    ino: u64,
    mode: u32,
    node: impl ProcNode + 'static,
) -> KResult<Arc<Inode>> {
    crate::fs::heap_precheck(size_of_val(&node) + 16)?;
    Inode::with_ino(&dir.sb, ino, mode, Kind::Proc(Box::new(node)))
}

/// A read of a formatted file: `fill` writes the whole text (it may stop once the window
/// is full) into a kernel buffer, then the bytes from `off` are copied to `dst` — with
/// no lock held, since `dst` may be user memory (sync/mod.rs).
pub fn read_text(
    off: u64,
    dst: &mut dyn Sink,
    fill: impl FnOnce(&mut Window) -> KResult<()>,
) -> KResult<usize> {
    let mut w = Window::new(off, dst.remaining())?;
    fill(&mut w)?;
    let text = w.bytes();
    if !text.is_empty() {
        dst.write_from(text)?;
    }
    Ok(text.len())
}

/// `n` in decimal, as a new byte vector (a symlink's target, a directory entry's name).
pub fn decimal(n: u64) -> KResult<Vec<u8>> {
    bytes(DecName::new(n).as_bytes())
}

/// A copy of `b` on the heap, ENOMEM instead of a failed allocation.
pub fn bytes(b: &[u8]) -> KResult<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(b.len()).map_err(|_| Errno::ENOMEM)?;
    v.extend_from_slice(b);
    Ok(v)
}

/// The pieces joined, as a new byte vector.
pub fn concat(pieces: &[&[u8]]) -> KResult<Vec<u8>> {
    let mut v = Vec::new();
    v.try_reserve_exact(pieces.iter().map(|p| p.len()).sum())
        .map_err(|_| Errno::ENOMEM)?;
    for p in pieces {
        v.extend_from_slice(p);
    }
    Ok(v)
}

/// A directory entry name that is a number: Linux `name_to_int` (digits only, no
/// leading zero, no overflow).
pub fn parse_number(name: &[u8]) -> Option<u32> {
    if name.is_empty() || (name[0] == b'0' && name.len() > 1) {
        return None;
    }
    let mut n: u32 = 0;
    for &c in name {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((c - b'0') as u32)?;
    }
    Some(n)
}

/// A number in decimal on the stack, for readdir's names (no allocation).
pub struct DecName {
    buf: [u8; 20],
    start: usize,
}

impl DecName {
    pub fn new(mut n: u64) -> DecName {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        DecName { buf, start: i }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}
