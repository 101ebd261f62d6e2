//! /proc itself (Linux fs/proc/root.c `proc_root_lookup`/`proc_root_readdir`, base.c
//! `proc_pid_lookup`/`proc_pid_readdir`, self.c, thread_self.c): a few fixed entries,
//! then a directory per process.

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use super::node::{self, DT_DIR, DT_LNK, DT_REG, DecName, SELF_INO, THREAD_SELF_INO};
use super::{kernel, pid};
use crate::error::{Errno, KResult};
use crate::fs::Sink;
use crate::fs::inode::{Inode, S_IFDIR, S_IFLNK, S_IFREG};
use crate::fs::procfs::{self, ProcNode};
use crate::task::TaskState;
use crate::task::sched::{TASKS, current};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// "self" → the reader's process.
    SelfLink,
    /// "thread-self" → the reader's thread, "PID/task/TID".
    ThreadSelf,
    /// "mounts" → "self/mounts", as on Linux.
    Mounts,
    File(SysFile),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SysFile {
    Cpuinfo,
    Filesystems,
    Loadavg,
    Meminfo,
    Stat,
    /// The trace ring buffer (proc/trace.rs); the one writable file.
    Trace,
    Uptime,
}

const ENTRIES: [(&[u8], Entry); 10] = [
    (b"cpuinfo", Entry::File(SysFile::Cpuinfo)),
    (b"filesystems", Entry::File(SysFile::Filesystems)),
    (b"loadavg", Entry::File(SysFile::Loadavg)),
    (b"meminfo", Entry::File(SysFile::Meminfo)),
    (b"mounts", Entry::Mounts),
    (b"self", Entry::SelfLink),
    (b"stat", Entry::File(SysFile::Stat)),
    (b"thread-self", Entry::ThreadSelf),
    (b"trace", Entry::File(SysFile::Trace)),
    (b"uptime", Entry::File(SysFile::Uptime)),
];

/// Where the processes start in a listing (Linux FIRST_PROCESS_ENTRY): process `tgid`
/// is at position FIRST_PID + tgid, so a listing resumed later goes on from the next
/// number even if processes came and went meanwhile.
const FIRST_PID: u64 = 256;

fn ino_of(index: usize, entry: Entry) -> u64 {
    match entry {
        Entry::SelfLink => SELF_INO,
        Entry::ThreadSelf => THREAD_SELF_INO,
        _ => node::root_entry_ino(index),
    }
}

/// /proc.
struct Root;

impl ProcNode for Root {
    fn file_type(&self) -> u32 {
        S_IFDIR
    }

    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> KResult<Arc<Inode>> {
        if let Some(i) = ENTRIES.iter().position(|(n, _)| *n == name) {
            let entry = ENTRIES[i].1;
            let mode = match entry {
                Entry::File(SysFile::Trace) => S_IFREG | 0o644,
                Entry::File(_) => S_IFREG | 0o444,
                _ => S_IFLNK | 0o777,
            };
            let child = RootChild {
                entry,
                parent: dir.clone(),
            };
            return node::make(dir, ino_of(i, entry), mode, child);
        }
        let tid = node::parse_number(name).ok_or(Errno::ENOENT)?;
        pid::lookup_process(dir, tid)
    }

    fn readdir(
        &self,
        _dir: &Arc<Inode>,
        pos: u64,
        emit: &mut crate::fs::procfs::Emit,
    ) -> KResult<()> {
        for (i, &(name, entry)) in ENTRIES.iter().enumerate() {
            let at = 2 + i as u64;
            let dtype = if matches!(entry, Entry::File(_)) {
                DT_REG
            } else {
                DT_LNK
            };
            if at >= pos && !emit(name, ino_of(i, entry), dtype, at + 1) {
                return Ok(());
            }
        }
        // The processes (thread-group leaders), in batches copied under the task
        // table's lock: `emit` writes to user memory, so it runs without it.
        let mut next = pos.saturating_sub(FIRST_PID).min(u32::MAX as u64) as u32;
        loop {
            let mut batch = [0u32; 32];
            let n = {
                let tasks = TASKS.lock();
                let mut n = 0;
                let leaders = tasks
                    .range(next..)
                    .map(|(_, t)| t)
                    .filter(|t| t.is_group_leader());
                for t in leaders {
                    if n == batch.len() {
                        break;
                    }
                    // A reaped leader may linger a moment before it leaves the table.
                    if t.inner.lock().state != TaskState::Dead {
                        batch[n] = t.tid;
                        n += 1;
                    }
                }
                n
            };
            if n == 0 {
                return Ok(());
            }
            for &tgid in &batch[..n] {
                let ino = node::pid_ino(tgid, false, 0);
                if !emit(
                    DecName::new(tgid as u64).as_bytes(),
                    ino,
                    DT_DIR,
                    FIRST_PID + tgid as u64 + 1,
                ) {
                    return Ok(());
                }
            }
            next = batch[n - 1] + 1;
        }
    }

    fn name_of(&self, child: &Arc<Inode>) -> Option<Vec<u8>> {
        if let Some(i) = (0..ENTRIES.len()).find(|&i| ino_of(i, ENTRIES[i].1) == child.ino) {
            return node::bytes(ENTRIES[i].0).ok();
        }
        let (tid, _) = node::split_pid_ino(child.ino);
        node::decimal(tid as u64).ok()
    }
}

/// A fixed entry of /proc.
struct RootChild {
    entry: Entry,
    parent: Arc<Inode>,
}

impl ProcNode for RootChild {
    fn file_type(&self) -> u32 {
        match self.entry {
            Entry::File(_) => S_IFREG,
            _ => S_IFLNK,
        }
    }

    fn parent(&self) -> Option<Arc<Inode>> {
        Some(self.parent.clone())
    }

    fn read_link(&self) -> KResult<Vec<u8>> {
        let cur = current();
        match self.entry {
            Entry::SelfLink => node::decimal(cur.tgid as u64),
            Entry::ThreadSelf => node::concat(&[
                DecName::new(cur.tgid as u64).as_bytes(),
                b"/task/",
                DecName::new(cur.tid as u64).as_bytes(),
            ]),
            Entry::Mounts => node::bytes(b"self/mounts"),
            Entry::File(_) => Err(Errno::EINVAL),
        }
    }

    fn read(&self, _inode: &Inode, off: u64, dst: &mut dyn Sink) -> KResult<usize> {
        let Entry::File(f) = self.entry else {
            return Err(Errno::EINVAL);
        };
        if f == SysFile::Trace {
            return super::trace::read(off, dst);
        }
        node::read_text(off, dst, |w| match f {
            SysFile::Cpuinfo => kernel::cpuinfo(w),
            SysFile::Filesystems => kernel::filesystems(w),
            SysFile::Loadavg => kernel::loadavg(w),
            SysFile::Meminfo => kernel::meminfo(w),
            SysFile::Stat => kernel::stat(w),
            SysFile::Uptime => kernel::uptime(w),
            SysFile::Trace => Ok(()),
        })
    }

    fn write(&self, src: &mut dyn crate::fs::Source) -> KResult<usize> {
        match self.entry {
            Entry::File(SysFile::Trace) => super::trace::write(src),
            _ => Err(Errno::EACCES),
        }
    }
}

/// Registers /proc's root with the file layer (boot, before the root is mounted).
pub fn init() {
    procfs::register(|| Box::new(Root));
}
