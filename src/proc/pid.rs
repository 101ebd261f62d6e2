//! /proc/PID and /proc/PID/task/TID (Linux fs/proc/base.c `tgid_base_stuff` and
//! `tid_base_stuff`, fs/proc/fd.c, fs/proc/array.c, fs/proc/task_mmu.c): a directory per
//! process — per thread under task/ — whose files describe it when read.
//!
//! A node keeps a weak reference to its task, not its number: a file opened before the
//! process was reaped reads ESRCH afterwards (as on Linux), and never shows a newer
//! process that got the same number. What a read needs is copied out of the task under
//! its lock, then each shared part (signal state, descriptor table, address space) is
//! locked on its own, in the order of sync/mod.rs: TASKS, Task.inner, SignalStruct /
//! FdTable / FsStruct / SigHand, Mm. The text is made in a kernel buffer and copied to
//! the reader with no lock held, and the references taken (which may be the last ones,
//! whose drop frees things) are dropped with no lock held too.

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::Ordering;

use super::format::{self, MemStatus, State, TaskStat, TaskStatus, Window};
use super::maps::{self, MapsResume, is_stack};
use super::node::{self, DT_DIR, DT_LNK, DT_REG, DecName, FD_BASE, pid_ino};
use super::{cmdline, kernel};
use crate::error::{Errno, KResult};
use crate::fs::file::{O_ACCMODE, O_RDWR, O_WRONLY};
use crate::fs::inode::{Inode, S_IFDIR, S_IFLNK, S_IFREG};
use crate::fs::procfs::ProcNode;
use crate::fs::{FdTable, File, FileKind, FsStruct, Sink, namei};
use crate::mm::addr_space::Prot;
use crate::mm::frame::PAGE_SIZE;
use crate::mm::global::Mm;
use crate::sync::ordered::OrderedMutex;
use crate::task::rlimit::{RLIMIT_RSS, RLIMIT_SIGPENDING};
use crate::task::sched::{self, TASKS, current};
use crate::task::signal::{NSIG, SIG_DFL, SIG_IGN, SigHand};
use crate::task::{SignalStruct, Task, TaskState, Tid, WaitChan};

/// A task's state as /proc shows it. Sleeps no signal can end are "D": a vfork parent,
/// a sleeping lock (Linux's mutexes), a pipe's I/O lock, execve waiting for its threads.
pub fn state_of(s: TaskState) -> State {
    match s {
        TaskState::Running | TaskState::Runnable => State::Running,
        TaskState::Sleeping {
            chan,
            interruptible,
            ..
        } => match chan {
            WaitChan::Stopped(_) => State::Stopped,
            _ if interruptible => State::Sleeping,
            WaitChan::Vfork(_)
            | WaitChan::SleepLock(_)
            | WaitChan::PipeLock(_)
            | WaitChan::GroupExec(_) => State::DiskSleep,
            _ => State::Sleeping,
        },
        TaskState::Zombie => State::Zombie,
        TaskState::Dead => State::Dead,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum What {
    /// /proc/PID itself (or /proc/PID/task/TID).
    Dir,
    File(PidFile),
    Link(PidLink),
    /// fd/ and one of its links.
    FdDir,
    Fd(u32),
    /// task/.
    TaskDir,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PidFile {
    Cmdline,
    Comm,
    Maps,
    Mounts,
    Stat,
    Statm,
    Status,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PidLink {
    Cwd,
    Exe,
    Root,
}

/// The entries of a process directory (a thread's has all but "task").
const ENTRIES: [(&[u8], What); 12] = [
    (b"cmdline", What::File(PidFile::Cmdline)),
    (b"comm", What::File(PidFile::Comm)),
    (b"cwd", What::Link(PidLink::Cwd)),
    (b"exe", What::Link(PidLink::Exe)),
    (b"fd", What::FdDir),
    (b"maps", What::File(PidFile::Maps)),
    (b"mounts", What::File(PidFile::Mounts)),
    (b"root", What::Link(PidLink::Root)),
    (b"stat", What::File(PidFile::Stat)),
    (b"statm", What::File(PidFile::Statm)),
    (b"status", What::File(PidFile::Status)),
    (b"task", What::TaskDir),
];

/// Linux's permissions: directories r-x for all but fd/ (owner only), files readable
/// by all (comm is writable on Linux; here /proc is read-only, so it is not), links
/// 0777.
fn mode_of(what: What) -> u32 {
    match what {
        What::Dir | What::TaskDir => S_IFDIR | 0o555,
        What::FdDir => S_IFDIR | 0o500,
        What::File(_) => S_IFREG | 0o444,
        What::Link(_) => S_IFLNK | 0o777,
        What::Fd(_) => S_IFLNK, // set from the file's access mode in `lookup`
    }
}

fn dtype_of(what: What) -> u8 {
    match what {
        What::Dir | What::TaskDir | What::FdDir => DT_DIR,
        What::File(_) => DT_REG,
        What::Link(_) | What::Fd(_) => DT_LNK,
    }
}

/// A node of a process or thread directory.
struct PidNode {
    task: Weak<Task>,
    tid: Tid,
    /// The thread view (/proc/PID/task/TID/...).
    thread: bool,
    what: What,
    /// The directory above, for ".." and paths.
    parent: Arc<Inode>,
    /// For maps: where the last read stopped (maps.rs).
    maps_resume: MapsResume,
}

/// The directory of `task` below `parent` (/proc, or a task/ directory).
fn make_dir(parent: &Arc<Inode>, task: &Arc<Task>, thread: bool) -> KResult<Arc<Inode>> {
    let node = PidNode {
        task: Arc::downgrade(task),
        tid: task.tid,
        thread,
        what: What::Dir,
        parent: parent.clone(),
        maps_resume: MapsResume::new(),
    };
    node::make(
        parent,
        pid_ino(task.tid, thread, 0),
        mode_of(What::Dir),
        node,
    )
}

/// /proc/TID: any task's number works, a thread's too (as on Linux, though only
/// processes are listed); a reaped one is gone.
pub fn lookup_process(root: &Arc<Inode>, tid: Tid) -> KResult<Arc<Inode>> {
    let task = sched::find_task(tid).ok_or(Errno::ENOENT)?;
    if task.inner.lock().state == TaskState::Dead {
        return Err(Errno::ENOENT);
    }
    make_dir(root, &task, false)
}

impl PidNode {
    /// The task, if it has not been reaped.
    fn task(&self) -> KResult<Arc<Task>> {
        let task = self.task.upgrade().ok_or(Errno::ESRCH)?;
        if task.inner.lock().state == TaskState::Dead {
            return Err(Errno::ESRCH);
        }
        Ok(task)
    }

    /// The entries this directory lists, with their entry numbers.
    fn entries(&self) -> impl Iterator<Item = (u64, &'static [u8], What)> + '_ {
        ENTRIES
            .iter()
            .enumerate()
            .filter(|(_, (_, what))| !(self.thread && *what == What::TaskDir))
            .map(|(i, &(name, what))| (1 + i as u64, name, what))
    }

    /// A node of the same task below `dir`.
    fn child(&self, dir: &Arc<Inode>, what: What, entry: u64, mode: u32) -> KResult<Arc<Inode>> {
        let node = PidNode {
            task: self.task.clone(),
            tid: self.tid,
            thread: self.thread,
            what,
            parent: dir.clone(),
            maps_resume: MapsResume::new(),
        };
        node::make(dir, pid_ino(self.tid, self.thread, entry), mode, node)
    }
}

impl ProcNode for PidNode {
    fn file_type(&self) -> u32 {
        mode_of(self.what) & crate::fs::inode::S_IFMT
    }

    fn lookup(&self, dir: &Arc<Inode>, name: &[u8]) -> KResult<Arc<Inode>> {
        let task = self.task().map_err(|_| Errno::ENOENT)?;
        match self.what {
            What::Dir => {
                let (entry, _, what) = self
                    .entries()
                    .find(|(_, n, _)| *n == name)
                    .ok_or(Errno::ENOENT)?;
                self.child(dir, what, entry, mode_of(what))
            }
            What::FdDir => {
                let fd = node::parse_number(name).ok_or(Errno::ENOENT)?;
                let file = fd_file(&task, fd)?;
                // Linux: r-x for reading, -wx for writing, per the open file's mode.
                let acc = file.flags() & O_ACCMODE;
                let mut mode = S_IFLNK;
                if acc != O_WRONLY {
                    mode |= 0o500;
                }
                if acc == O_WRONLY || acc == O_RDWR {
                    mode |= 0o300;
                }
                let link = self.child(dir, What::Fd(fd), FD_BASE + fd as u64, mode)?;
                link.data.lock().size = 64; // as Linux's fd links report
                Ok(link)
            }
            What::TaskDir => {
                let tid = node::parse_number(name).ok_or(Errno::ENOENT)?;
                let thread = sched::find_task(tid)
                    .filter(|t| t.tgid == task.tgid)
                    .ok_or(Errno::ENOENT)?;
                if thread.inner.lock().state == TaskState::Dead {
                    return Err(Errno::ENOENT);
                }
                make_dir(dir, &thread, true)
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn readdir(
        &self,
        _dir: &Arc<Inode>,
        pos: u64,
        emit: &mut crate::fs::procfs::Emit,
    ) -> KResult<()> {
        let task = self.task().map_err(|_| Errno::ENOENT)?;
        // Positions: 2 + the entry's index, 2 + the fd, or 2 + the tid.
        let from = pos.saturating_sub(2);
        match self.what {
            What::Dir => {
                for (i, (entry, name, what)) in self.entries().enumerate() {
                    let i = i as u64;
                    if i >= from
                        && !emit(
                            name,
                            pid_ino(self.tid, self.thread, entry),
                            dtype_of(what),
                            i + 3,
                        )
                    {
                        break;
                    }
                }
                Ok(())
            }
            What::FdDir => {
                let files = task.inner.lock().files.clone();
                let Some(files) = files else { return Ok(()) };
                let mut next = from;
                loop {
                    // A batch of descriptor numbers, copied under the table's lock;
                    // `emit` writes to user memory, so it runs without it.
                    let mut batch = [0u64; 32];
                    let n = {
                        let table = files.lock();
                        let mut n = 0;
                        for (fd, _) in table
                            .open_files()
                            .filter(|&(fd, _)| fd as u64 >= next)
                            .take(batch.len())
                        {
                            batch[n] = fd as u64;
                            n += 1;
                        }
                        n
                    };
                    if n == 0 {
                        return Ok(());
                    }
                    for &fd in &batch[..n] {
                        let ino = pid_ino(self.tid, self.thread, FD_BASE + fd);
                        if !emit(DecName::new(fd).as_bytes(), ino, DT_LNK, fd + 3) {
                            return Ok(());
                        }
                    }
                    next = batch[n - 1] + 1;
                }
            }
            What::TaskDir => {
                let mut next = from.min(u32::MAX as u64) as Tid;
                loop {
                    let mut batch = [0 as Tid; 32];
                    let n = {
                        let tasks = TASKS.lock();
                        let mut n = 0;
                        for t in tasks
                            .range(next..)
                            .map(|(_, t)| t)
                            .filter(|t| t.tgid == task.tgid)
                            .take(batch.len())
                        {
                            batch[n] = t.tid;
                            n += 1;
                        }
                        n
                    };
                    if n == 0 {
                        return Ok(());
                    }
                    for &tid in &batch[..n] {
                        let ino = pid_ino(tid, true, 0);
                        if !emit(
                            DecName::new(tid as u64).as_bytes(),
                            ino,
                            DT_DIR,
                            tid as u64 + 3,
                        ) {
                            return Ok(());
                        }
                    }
                    next = batch[n - 1] + 1;
                }
            }
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn parent(&self) -> Option<Arc<Inode>> {
        Some(self.parent.clone())
    }

    fn name_of(&self, child: &Arc<Inode>) -> Option<Vec<u8>> {
        let (tid, entry) = node::split_pid_ino(child.ino);
        match self.what {
            What::Dir => {
                let (_, name, _) = self.entries().find(|&(e, _, _)| e == entry)?;
                node::bytes(name).ok()
            }
            What::FdDir if entry >= FD_BASE => node::decimal(entry - FD_BASE).ok(),
            What::TaskDir => node::decimal(tid as u64).ok(),
            _ => None,
        }
    }

    fn magic_file(&self) -> Option<Arc<File>> {
        match self.what {
            What::Fd(fd) => fd_file(&*self.task().ok()?, fd).ok(),
            _ => None,
        }
    }

    fn read_link(&self) -> KResult<Vec<u8>> {
        let task = self.task()?;
        match self.what {
            What::Link(PidLink::Exe) => {
                let mm = task.mm().ok_or(Errno::ENOENT)?;
                let exe = mm.exe.clone().ok_or(Errno::ENOENT)?;
                let file = exe.as_any().downcast_ref::<File>().ok_or(Errno::ENOENT)?;
                node::bytes(&file.path)
            }
            What::Link(PidLink::Cwd) => {
                let fs = fs_of(&task)?;
                let cwd = fs.lock().cwd.clone();
                path_for_reader(&cwd)
            }
            What::Link(PidLink::Root) => {
                let fs = fs_of(&task)?;
                let root = fs.lock().root.clone();
                path_for_reader(&root)
            }
            What::Fd(fd) => {
                let file = fd_file(&task, fd)?;
                fd_target(&file)
            }
            _ => Err(Errno::EINVAL),
        }
    }

    fn read(&self, _inode: &Inode, off: u64, dst: &mut dyn Sink) -> KResult<usize> {
        let What::File(f) = self.what else {
            return Err(Errno::EISDIR);
        };
        let task = self.task()?;
        if f == PidFile::Maps {
            return match task.mm() {
                Some(mm) => maps::read(&mm, &self.maps_resume, off, dst),
                None => Ok(0),
            };
        }
        node::read_text(off, dst, |w| match f {
            PidFile::Comm => {
                let snap = Snapshot::of(&task);
                let _ = format::comm_file(w, snap.name());
                Ok(())
            }
            PidFile::Stat => stat(&task, self.thread, w),
            PidFile::Status => status(&task, w),
            PidFile::Statm => {
                let m = task.mm().map(|mm| mem_summary(&mm)).unwrap_or_default();
                let page = PAGE_SIZE as u64;
                let _ = format::statm(
                    w,
                    m.vsize / page,
                    m.rss,
                    m.exe / page,
                    (m.data + m.stack) / page,
                );
                Ok(())
            }
            PidFile::Maps => unreachable!("maps is read by maps::read"),
            PidFile::Cmdline => match task.mm() {
                Some(mm) => cmdline::read_cmdline(&mm, w),
                None => Ok(()), // a kernel thread or a zombie: empty, as on Linux
            },
            PidFile::Mounts => {
                let fs = fs_of(&task)?;
                let root = fs.lock().root.clone();
                kernel::mounts(w, &root)
            }
        })
    }
}

// ---- What a read copies out of a task ------------------------------------------------

/// The parts of a task a file shows, copied (or referenced) under its lock.
struct Snapshot {
    name: [u8; format::COMM_MAX],
    name_len: usize,
    state: State,
    tid: Tid,
    tgid: Tid,
    ppid: Tid,
    exit_signal: u32,
    exit_status: u32,
    cpu: u32,
    cpus_allowed: u32,
    mm: Option<Arc<Mm>>,
    files: Option<Arc<OrderedMutex<FdTable>>>,
    fs: Option<Arc<OrderedMutex<FsStruct>>>,
    sighand: Option<Arc<OrderedMutex<SigHand>>>,
    signal: Arc<SignalStruct>,
    /// The thread's pending signals and mask.
    sigpnd: u64,
    sigblk: u64,
}

impl Snapshot {
    fn of(task: &Task) -> Snapshot {
        let inner = task.inner.lock();
        let mut name = [0u8; format::COMM_MAX];
        let comm = format::comm(inner.name.as_bytes());
        name[..comm.len()].copy_from_slice(comm);
        Snapshot {
            name,
            name_len: comm.len(),
            state: state_of(inner.state),
            tid: task.tid,
            tgid: task.tgid,
            ppid: inner.parent,
            exit_signal: inner.exit_signal,
            exit_status: inner.exit_status,
            cpu: task.cpu.load(Ordering::Relaxed),
            cpus_allowed: task.cpus_allowed.load(Ordering::Relaxed),
            mm: inner.mm.clone(),
            files: inner.files.clone(),
            fs: inner.fs.clone(),
            sighand: inner.sighand.clone(),
            signal: inner.signal.clone(),
            sigpnd: inner.pending.set,
            sigblk: inner.blocked,
        }
    }

    fn name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }

    /// A kernel thread: no address space, yet alive (an exited task has lost its own).
    fn is_kernel_thread(&self) -> bool {
        self.mm.is_none() && !matches!(self.state, State::Zombie | State::Dead)
    }
}

/// Process group, session and the two limits the files show.
struct GroupInfo {
    pgid: Tid,
    sid: Tid,
    rss_limit: u64,
    sigpending_limit: u64,
    shdpnd: u64,
    sigqueued: u64,
}

fn group_info(signal: &SignalStruct) -> GroupInfo {
    let s = signal.inner.lock();
    GroupInfo {
        pgid: s.pgid,
        sid: s.sid,
        rss_limit: s.rlim[RLIMIT_RSS].cur,
        sigpending_limit: s.rlim[RLIMIT_SIGPENDING].cur,
        shdpnd: s.shared_pending.set,
        sigqueued: s.sigqueued as u64,
    }
}

/// The signals ignored and caught (bit n-1 = signal n), Linux `collect_sigign_sigcatch`.
fn sig_masks(sighand: Option<&Arc<OrderedMutex<SigHand>>>) -> (u64, u64) {
    let (mut ignored, mut caught) = (0, 0);
    if let Some(h) = sighand {
        let h = h.lock();
        for sig in 1..=NSIG as u32 {
            match h.get(sig).handler {
                SIG_DFL => {}
                SIG_IGN => ignored |= 1 << (sig - 1),
                _ => caught |= 1 << (sig - 1),
            }
        }
    }
    (ignored, caught)
}

/// Threads of the process `tgid` (Linux `get_nr_threads`; a zombie leader counts).
fn thread_count(tgid: Tid) -> usize {
    TASKS.lock().values().filter(|t| t.tgid == tgid).count()
}

/// Sizes of an address space, in bytes but `rss` (pages).
#[derive(Default)]
struct MemSummary {
    vsize: u64,
    rss: u64,
    /// Private writable memory but the stack (Linux VmData), the stack (VmStk),
    /// executable memory (VmExe).
    data: u64,
    stack: u64,
    exe: u64,
    start_brk: u64,
}

fn mem_summary(mm: &Mm) -> MemSummary {
    mm.with(|space, _| {
        let mut m = MemSummary {
            start_brk: space.brk_start as u64,
            ..Default::default()
        };
        for v in space.vmas() {
            let len = (v.end - v.start) as u64;
            m.vsize += len;
            if is_stack(&v) {
                m.stack += len;
            } else if v.prot.contains(Prot::EXEC) && !v.prot.contains(Prot::WRITE) {
                m.exe += len;
            } else if v.prot.contains(Prot::WRITE) && !v.shared {
                m.data += len;
            }
        }
        // A walk of the page tables: fine for a file read now and then.
        m.rss = space.resident_pages() as u64;
        m
    })
}

fn stat(task: &Task, thread: bool, w: &mut Window) -> KResult<()> {
    let snap = Snapshot::of(task);
    // CPU times: the process's (Linux `do_task_stat` with whole=1) or, in the thread
    // view, the thread's; the reaped children's either way.
    let (group, children) = crate::task::group_cputime(snap.tgid);
    let own = if thread { task.cputime_now() } else { group };
    let ticks = crate::time::cputime::ns_to_clock_t;
    let g = group_info(&snap.signal);
    let (sigignore, sigcatch) = sig_masks(snap.sighand.as_ref());
    let threads = thread_count(snap.tgid);
    let m = snap
        .mm
        .as_ref()
        .map(|mm| mem_summary(mm))
        .unwrap_or_default();
    let s = TaskStat {
        pid: snap.tid,
        comm: snap.name(),
        state: snap.state.letter(),
        ppid: snap.ppid,
        pgrp: g.pgid,
        session: g.sid,
        flags: if snap.is_kernel_thread() {
            format::PF_KTHREAD
        } else {
            0
        },
        num_threads: threads,
        vsize: m.vsize,
        rss: m.rss,
        rsslim: g.rss_limit,
        sigignore,
        sigcatch,
        exit_signal: if snap.tid == snap.tgid {
            snap.exit_signal as i32
        } else {
            -1
        },
        processor: snap.cpu,
        start_brk: m.start_brk,
        exit_code: if snap.state == State::Zombie {
            snap.exit_status
        } else {
            0
        },
        utime: ticks(own.user),
        stime: ticks(own.system),
        cutime: ticks(children.user),
        cstime: ticks(children.system),
    };
    let _ = format::stat_line(w, &s);
    Ok(())
}

fn status(task: &Task, w: &mut Window) -> KResult<()> {
    let snap = Snapshot::of(task);
    let g = group_info(&snap.signal);
    let (sigignore, sigcatch) = sig_masks(snap.sighand.as_ref());
    let umask = snap.fs.as_ref().map(|fs| fs.lock().umask);
    // Linux prints the table's capacity; this one grows to fit, so the capacity Linux
    // would have for the highest open descriptor: 64, doubled as needed.
    let fd_size = snap.files.as_ref().map(|f| {
        let highest = f.lock().open_files().last().map_or(0, |(fd, _)| fd + 1);
        highest.next_power_of_two().max(64)
    });
    let threads = thread_count(snap.tgid);
    let kb = |bytes: u64| bytes / 1024;
    let mem = snap.mm.as_ref().map(|mm| {
        let m = mem_summary(mm);
        MemStatus {
            size_kb: kb(m.vsize),
            rss_kb: m.rss * (PAGE_SIZE as u64 / 1024),
            data_kb: kb(m.data),
            stack_kb: kb(m.stack),
            exe_kb: kb(m.exe),
        }
    });
    let online = sched::online_mask();
    let s = TaskStatus {
        name: snap.name(),
        umask,
        state: snap.state,
        tgid: snap.tgid,
        pid: snap.tid,
        ppid: snap.ppid,
        pgid: g.pgid,
        sid: g.sid,
        fd_size,
        mem,
        threads,
        sigq: g.sigqueued,
        sigq_limit: g.sigpending_limit,
        sigpnd: snap.sigpnd,
        shdpnd: g.shdpnd,
        sigblk: snap.sigblk,
        sigignore,
        sigcatch,
        cpus_allowed: snap.cpus_allowed,
        nr_cpus: 32 - online.leading_zeros(),
    };
    let _ = format::status(w, &s);
    Ok(())
}

// ---- Links -------------------------------------------------------------------------

fn fs_of(task: &Task) -> KResult<Arc<OrderedMutex<FsStruct>>> {
    task.inner.lock().fs.clone().ok_or(Errno::ENOENT)
}

/// The open file behind descriptor `fd` of `task` (ENOENT if none).
fn fd_file(task: &Task, fd: u32) -> KResult<Arc<File>> {
    let files = task.inner.lock().files.clone().ok_or(Errno::ENOENT)?;
    files.lock().get(fd as i32).map_err(|_| Errno::ENOENT)
}

/// Where a descriptor's link points (Linux `proc_fd_link` → `d_path`): the path the file
/// was opened by, "pipe:[N]" for a pipe (N as its st_ino), the console's device.
fn fd_target(file: &File) -> KResult<Vec<u8>> {
    match &file.kind {
        FileKind::Console => node::bytes(b"/dev/console"),
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) => {
            node::concat(&[b"pipe:[", DecName::new(p.id as u64).as_bytes(), b"]"])
        }
        FileKind::Fifo { .. } | FileKind::Inode(_) => node::bytes(&file.path),
        FileKind::Eventfd(_) => node::bytes(b"anon_inode:[eventfd]"),
        FileKind::Epoll(_) => node::bytes(b"anon_inode:[eventpoll]"),
    }
}

/// The path of directory `dir` as the reader sees it (Linux `d_path` from the reader's
/// root); from the real root if it is outside the reader's (chroot).
fn path_for_reader(dir: &Arc<Inode>) -> KResult<Vec<u8>> {
    let fs = current().inner.lock().fs.clone();
    let reader_root = match fs {
        Some(fs) => fs.lock().root.clone(),
        None => crate::fs::root(),
    };
    namei::path_of(dir, &reader_root)
        .or_else(|| namei::path_of(dir, &crate::fs::root()))
        .ok_or(Errno::ENOENT)
}
