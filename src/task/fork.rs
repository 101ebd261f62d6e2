//! Process creation, read top-down in the order Linux runs it (kernel/fork.c,
//! arch/arm64/kernel/process.c):
//!
//! ```text
//!  sys_clone / sys_clone3
//!   └─ kernel_clone
//!       ├─ copy_process
//!       │   ├─ clone_flags::check        the EINVAL rules
//!       │   ├─ copy_files                CLONE_FILES: share the fd table, else copy it
//!       │   ├─ copy_fs                   CLONE_FS: share umask/cwd, else copy
//!       │   ├─ copy_sighand              CLONE_SIGHAND: share handlers, else copy
//!       │   ├─ copy_signal               CLONE_THREAD: join the thread group
//!       │   ├─ copy_mm                   CLONE_VM: share the Mm, else dup_mmap (COW)
//!       │   └─ copy_thread               child's TrapFrame + CpuContext -> ret_from_fork
//!       ├─ CLONE_PARENT_SETTID write
//!       ├─ wake_up_new_task
//!       └─ CLONE_VFORK: wait until the child exits or execs
//! ```
//! Anything allocated before a failure is released by dropping it (Arc/RAII), so every
//! error path frees what it took.

use alloc::string::String;
use alloc::sync::Arc;

use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;

use super::clone_flags::{self, CloneFlags, Rejected};
use super::sched::{self, TASKS, current};
use super::{KernelStack, MAX_THREADS, SignalStruct, Task, TaskInner, Tid, WaitChan};
use crate::arch::{self, TrapFrame};
use crate::error::{Errno, KResult};
use crate::fs::{FdTable, FsStruct};
use crate::mm::frame::PAGE_SIZE;
use crate::mm::global::Mm;
use crate::mm::uaccess::{self, UserSlice};
use crate::sync::wait;
use crate::task::signal::SigHand;
use core::sync::atomic::Ordering;

/// Linux `struct kernel_clone_args`.
#[derive(Clone, Copy, Debug)]
pub struct KernelCloneArgs {
    pub flags: CloneFlags,
    pub exit_signal: u32,
    /// New user stack pointer (0: same as the parent's).
    pub stack: usize,
    pub parent_tid: usize,
    pub child_tid: usize,
    pub tls: usize,
}

/// clone(2), arm64 argument order: (flags, newsp, parent_tidptr, tls, child_tidptr).
pub fn sys_clone(
    frame: &TrapFrame,
    flags: u64,
    newsp: usize,
    parent_tid: usize,
    tls: usize,
    child_tid: usize,
) -> KResult<usize> {
    let (flags, exit_signal) = clone_flags::split_legacy(flags);
    check_or_log(clone_flags::check_legacy(flags, current().tgid == 1))?;
    kernel_clone(
        frame,
        KernelCloneArgs {
            flags,
            exit_signal,
            stack: newsp,
            parent_tid,
            child_tid,
            tls,
        },
    )
}

/// clone3(2): `struct clone_args` (include/uapi/linux/sched.h) read from user memory,
/// with Linux 6.1's checks in Linux's order (kernel/fork.c `copy_clone_args_from_user`,
/// `clone3_args_valid`, `clone3_stack_valid`).
pub fn sys_clone3(frame: &TrapFrame, uargs: usize, size: usize) -> KResult<usize> {
    /// CLONE_ARGS_SIZE_VER0: the struct up to `tls`, the smallest size accepted.
    const VER0: usize = 64;
    /// CLONE_ARGS_SIZE_VER2: up to `cgroup`, all of the struct Linux 6.1 knows.
    const KNOWN: usize = 88;
    /// MAX_PID_NS_LEVEL: at most one `set_tid` entry per pid namespace level.
    const MAX_PID_NS_LEVEL: u64 = 32;
    if size > PAGE_SIZE {
        return Err(Errno::E2BIG);
    }
    if size < VER0 {
        return Err(Errno::EINVAL);
    }
    // Linux `copy_struct_from_user`: a newer program's larger struct is fine as long as
    // the fields this kernel does not know are zero.
    if size > KNOWN {
        check_zeroed_user(uargs.wrapping_add(KNOWN), size - KNOWN)?;
    }
    let mut raw = [0u8; KNOWN];
    uaccess::copy_from_user(&mut raw[..size.min(KNOWN)], uargs)?;
    let field = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&raw[i * 8..i * 8 + 8]);
        u64::from_le_bytes(b)
    };
    // flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
    // set_tid_size, cgroup
    let (flags, exit_signal, stack, stack_size) = (field(0), field(4), field(5), field(6));
    let (set_tid, set_tid_size, cgroup) = (field(8), field(9), field(10));
    if set_tid_size > MAX_PID_NS_LEVEL
        || (set_tid == 0 && set_tid_size > 0)
        || (set_tid != 0 && set_tid_size == 0)
    {
        return Err(Errno::EINVAL);
    }
    if exit_signal > clone_flags::NSIG {
        return Err(Errno::EINVAL); // upper bits set, or not a valid signal
    }
    if flags & CloneFlags::INTO_CGROUP.bits() != 0 && (cgroup > i32::MAX as u64 || size < KNOWN) {
        return Err(Errno::EINVAL);
    }
    if set_tid_size > 0 {
        // The array must be readable (Linux copies it here), even though it is refused below.
        let mut tids = [0u8; 4 * MAX_PID_NS_LEVEL as usize];
        uaccess::copy_from_user(&mut tids[..4 * set_tid_size as usize], set_tid as usize)?;
    }
    // `clone3_args_valid`: CLONE_DETACHED is not a clone3 flag (its bit is free for reuse).
    if flags & CloneFlags::DETACHED.bits() != 0 {
        log::info!("clone3: -EINVAL: CLONE_DETACHED is not a clone3 flag");
        return Err(Errno::EINVAL);
    }
    let into_cgroup = flags & CloneFlags::INTO_CGROUP.bits() != 0;
    let flags = check_or_log(clone_flags::check_clone3(
        flags & !CloneFlags::INTO_CGROUP.bits(),
        exit_signal,
        current().tgid == 1,
    ))?;
    // `clone3_stack_valid`: a stack is (lowest address, size), both or neither, and must
    // lie in user memory (`access_ok`); the child's sp starts at its top.
    let stack_top = match (stack, stack_size) {
        (0, 0) => 0,
        (0, _) | (_, 0) => return Err(Errno::EINVAL),
        (lo, len) => {
            let (lo, len) = (lo as usize, len as usize);
            let slice = UserSlice::new(lo, len).map_err(|_| Errno::EINVAL)?;
            slice.addr() + slice.len()
        }
    };
    if set_tid_size > 0 {
        log::info!("clone3: -EINVAL: set_tid is not supported by this kernel");
        return Err(Errno::EINVAL);
    }
    if into_cgroup {
        // No descriptor here refers to a cgroup directory (Linux `cgroup_css_set_fork`).
        return Err(Errno::EBADF);
    }
    let args = KernelCloneArgs {
        flags,
        exit_signal: exit_signal as u32,
        stack: stack_top,
        parent_tid: field(3) as usize,
        child_tid: field(2) as usize,
        tls: field(7) as usize,
    };
    kernel_clone(frame, args)
}

/// Linux `check_zeroed_user`: are the `len` bytes at `addr` all zero? (E2BIG if not,
/// EFAULT if they cannot be read.)
fn check_zeroed_user(addr: usize, len: usize) -> KResult<()> {
    let mut chunk = [0u8; 64];
    let mut done = 0;
    while done < len {
        let n = (len - done).min(chunk.len());
        uaccess::copy_from_user(&mut chunk[..n], addr.wrapping_add(done))?;
        if chunk[..n].iter().any(|&b| b != 0) {
            return Err(Errno::E2BIG);
        }
        done += n;
    }
    Ok(())
}

fn check_or_log<T>(r: Result<T, Rejected>) -> KResult<T> {
    r.map_err(|Rejected(errno, why)| {
        log::info!("clone: -EINVAL: {}", why);
        errno
    })
}

/// Linux `kernel_clone`: create the child, publish its tid, let it run.
#[inline(never)] // a breakpoint target in gdb, like its Linux namesake
pub fn kernel_clone(frame: &TrapFrame, args: KernelCloneArgs) -> KResult<usize> {
    let child = copy_process(frame, &args)?;
    let tid = child.tid;
    crate::trace::sched_process_fork(tid, child.tgid, args.flags.bits() | args.exit_signal as u64);
    set_parent_tid(&args, tid);
    let vfork = args.flags.contains(CloneFlags::VFORK);
    if vfork {
        child.inner.lock().vfork_parent = Some(current().tid);
    }
    sched::wake_up_new_task(child.clone());
    if vfork {
        // The child borrows our address space; we sleep until it exits or execs.
        loop {
            let seq = wait::prepare(WaitChan::Vfork(tid));
            if child.inner.lock().vfork_parent.is_none() {
                break;
            }
            if sched::sleep(WaitChan::Vfork(tid), None, seq) == sched::WakeReason::Killed {
                break;
            }
        }
    }
    Ok(tid as usize)
}

/// CLONE_PARENT_SETTID: the child's tid in the parent's memory, before the child runs
/// (Linux writes it in `copy_process`). Legacy clone ignores a fault here.
fn set_parent_tid(args: &KernelCloneArgs, tid: Tid) {
    if args.flags.contains(CloneFlags::PARENT_SETTID) {
        let _ = uaccess::put_user_u32(args.parent_tid, tid);
    }
}

/// Linux `copy_process`: build the child task. Nothing is visible to others until the
/// final insertion into the task table, so an early return frees everything.
#[inline(never)] // a breakpoint target in gdb, like its Linux namesake
fn copy_process(frame: &TrapFrame, args: &KernelCloneArgs) -> KResult<Arc<Task>> {
    // Everything below allocates with Rust's infallible collections: make sure the heap
    // has room first (the task, the copied tables' bookkeeping), so that
    // running out is -ENOMEM here and never a panic later.
    crate::mm::heap::reserve(FORK_HEAP_BYTES)?;
    let cur = current();
    let flags = args.flags;
    let parent = cur.inner.lock();
    let files = copy_files(flags, parent.files.as_ref().ok_or(Errno::EINVAL)?)?;
    let fs = copy_fs(flags, parent.fs.as_ref().ok_or(Errno::EINVAL)?);
    let sighand = copy_sighand(flags, parent.sighand.as_ref().ok_or(Errno::EINVAL)?);
    let signal = copy_signal(flags, &parent.signal);
    let parent_mm = parent.mm.clone().ok_or(Errno::EINVAL)?;
    let name = parent.name.clone();
    let grandparent = parent.parent;
    // The child blocks what the parent blocks; a new thread sharing the address space
    // gets no alternate signal stack (it would share the parent's), a process keeps it.
    let blocked = parent.blocked;
    let sas = if flags.contains(CloneFlags::VM) && !flags.contains(CloneFlags::VFORK) {
        Default::default()
    } else {
        parent.sas
    };
    drop(parent);

    let mm = copy_mm(flags, &parent_mm)?;
    let kstack = KernelStack::new()?;
    let tid = alloc_tid()?;
    let thread = flags.contains(CloneFlags::THREAD);
    let parent_tgid = if flags.intersects(CloneFlags::PARENT | CloneFlags::THREAD) {
        grandparent
    } else {
        cur.tgid
    };
    let inner = TaskInner {
        mm: Some(mm),
        files: Some(files),
        fs: Some(fs),
        sighand: Some(sighand),
        exit_signal: if thread { 0 } else { args.exit_signal },
        set_child_tid: if flags.contains(CloneFlags::CHILD_SETTID) {
            args.child_tid
        } else {
            0
        },
        clear_child_tid: if flags.contains(CloneFlags::CHILD_CLEARTID) {
            args.child_tid
        } else {
            0
        },
        blocked,
        sas,
        ..TaskInner::with_signal(name, parent_tgid, signal.clone())
    };
    let task = Task::new(
        tid,
        if thread { cur.tgid } else { tid },
        Some(kstack),
        inner,
    );
    task.cpus_allowed
        .store(cur.cpus_allowed.load(Ordering::Relaxed), Ordering::Relaxed);
    copy_thread(&task, frame, args)?;

    // Point of no return: the child becomes visible. Under the TASKS lock, which
    // kill_group holds while it marks a group's threads: if a fatal signal reached us
    // during the copy (from another CPU), the child is not created — it would have
    // missed the kill and outlived its process (Linux: copy_process's
    // fatal_signal_pending check under tasklist_lock). The caller dies on its way out.
    let mut tasks = TASKS.lock();
    if cur.kill_pending.load(Ordering::Acquire) {
        return Err(Errno::EINTR);
    }
    // A signal arrived meanwhile (maybe for the whole process group): handle it first
    // and then fork again, so the child cannot miss it (Linux: ERESTARTNOINTR).
    if cur.sig_pending.load(Ordering::Acquire) {
        return Err(Errno::ERESTARTNOINTR);
    }
    // alloc_tid checked the limit, but other CPUs may have forked since: the run queue
    // has room for MAX_THREADS tasks and no more.
    if tasks.len() >= MAX_THREADS.load(Ordering::Relaxed) {
        return Err(Errno::EAGAIN);
    }
    if thread {
        signal.inner.lock().live += 1;
    }
    tasks.insert(tid, task.clone());
    Ok(task)
}

/// CLONE_FILES: the same descriptor table; otherwise a copy (same open files, new table).
#[inline(never)] // a breakpoint target in gdb, like its Linux namesake
fn copy_files(
    flags: CloneFlags,
    files: &Arc<OrderedMutex<FdTable>>,
) -> KResult<Arc<OrderedMutex<FdTable>>> {
    if flags.contains(CloneFlags::FILES) {
        Ok(files.clone())
    } else {
        let copy = files.lock().try_clone()?; // Linux dup_fd: ENOMEM
        Ok(Arc::new(OrderedMutex::new(Level::Process, copy)))
    }
}

/// CLONE_FS: the same umask and cwd; otherwise a copy.
#[inline(never)] // a breakpoint target in gdb, like its Linux namesake
fn copy_fs(flags: CloneFlags, fs: &Arc<OrderedMutex<FsStruct>>) -> Arc<OrderedMutex<FsStruct>> {
    if flags.contains(CloneFlags::FS) {
        fs.clone()
    } else {
        Arc::new(OrderedMutex::new(Level::Process, fs.lock().clone()))
    }
}

/// CLONE_SIGHAND: the same handler table; otherwise a copy.
#[inline(never)] // a breakpoint target in gdb, like its Linux namesake
fn copy_sighand(
    flags: CloneFlags,
    sighand: &Arc<OrderedMutex<SigHand>>,
) -> Arc<OrderedMutex<SigHand>> {
    if flags.contains(CloneFlags::SIGHAND) {
        sighand.clone()
    } else {
        let mut copy = sighand.lock().clone();
        if flags.contains(CloneFlags::CLEAR_SIGHAND) {
            copy = SigHand::new();
        }
        Arc::new(OrderedMutex::new(Level::Process, copy))
    }
}

/// CLONE_THREAD: join the caller's thread group; otherwise start a new one.
#[inline(never)] // a breakpoint target in gdb, like its Linux namesake
fn copy_signal(flags: CloneFlags, signal: &Arc<SignalStruct>) -> Arc<SignalStruct> {
    if flags.contains(CloneFlags::THREAD) {
        signal.clone()
    } else {
        SignalStruct::new_child(signal) // process group, session and rlimits inherited
    }
}

/// CLONE_VM: share the address space (same tables, same ASID); otherwise duplicate it
/// copy-on-write (mm/global.rs `Mm::dup` -> `AddressSpace::fork` -> `copy_page_range`).
#[inline(never)] // a breakpoint target in gdb, like its Linux namesake
fn copy_mm(flags: CloneFlags, mm: &Arc<Mm>) -> KResult<Arc<Mm>> {
    if flags.contains(CloneFlags::VM) {
        Ok(mm.clone())
    } else {
        mm.dup()
    }
}

/// Linux `copy_thread` (arch/arm64/kernel/process.c): the arch layer builds the child's
/// registers — a copy of the parent's user registers (x0 is zeroed by ret_from_fork in
/// assembly), the new stack and TLS if given, the parent's FP/SIMD state, and a kernel
/// context that starts at ret_from_fork on the child's own kernel stack.
#[inline(never)] // a breakpoint target in gdb, like its Linux namesake
fn copy_thread(task: &Task, parent_regs: &TrapFrame, args: &KernelCloneArgs) -> KResult<()> {
    let tls = clone_tls(args);
    let parent = current();
    // SAFETY: the child is not visible to the scheduler yet; the parent's ThreadStruct
    // is the running thread's own.
    unsafe {
        arch::copy_thread(
            &mut *task.thread_ptr(),
            task.kstack_top(),
            &mut *parent.thread_ptr(),
            parent_regs,
            args.stack,
            tls,
        )
    }
}

/// CLONE_SETTLS: the child's thread pointer (TPIDR_EL0), the clone's `tls` argument;
/// without the flag the child keeps the parent's (None).
fn clone_tls(args: &KernelCloneArgs) -> Option<usize> {
    args.flags.contains(CloneFlags::SETTLS).then_some(args.tls)
}

/// Linux `kernel_thread`/`user_mode_thread`: a task that first runs `kfn(arg)` in the
/// kernel; when `kfn` returns, ret_from_fork continues to user mode with the TrapFrame
/// that `kfn` prepared (this is how init gets from the kernel to /init).
pub fn kernel_thread(
    name: &str,
    kfn: extern "C" fn(usize),
    arg: usize,
    tid: Tid,
) -> KResult<Arc<Task>> {
    let inner = TaskInner {
        files: Some(Arc::new(OrderedMutex::new(
            Level::Process,
            FdTable::with_console(),
        ))),
        fs: Some(Arc::new(OrderedMutex::new(
            Level::Process,
            FsStruct::new(crate::fs::root()),
        ))),
        sighand: Some(Arc::new(OrderedMutex::new(Level::Process, SigHand::new()))),
        ..TaskInner::new(String::from(name), 0)
    };
    let task = Task::new(tid, tid, Some(KernelStack::new()?), inner);
    // SAFETY: the new task is not visible to the scheduler yet.
    unsafe { arch::copy_thread_kernel(&mut *task.thread_ptr(), task.kstack_top(), kfn, arg) };
    TASKS.lock().insert(tid, task.clone());
    Ok(task)
}

/// Heap a fork may need: the task, and the copied fd table, VMA tree and strings, with
/// room to spare (the kernel stack comes from page frames).
const FORK_HEAP_BYTES: usize = 32 << 10;

static NEXT_TID: OrderedMutex<Tid> = OrderedMutex::new(Level::NextTid, 2);
const PID_MAX: Tid = 32768;

/// Linux `alloc_pid`: the next unused tid, cycling below PID_MAX; -EAGAIN when too many
/// tasks exist.
fn alloc_tid() -> KResult<Tid> {
    let tasks = TASKS.lock();
    if tasks.len() >= MAX_THREADS.load(core::sync::atomic::Ordering::Relaxed) {
        return Err(Errno::EAGAIN);
    }
    let mut next = NEXT_TID.lock();
    loop {
        let tid = *next;
        *next = if tid + 1 >= PID_MAX { 2 } else { tid + 1 };
        if !tasks.contains_key(&tid) {
            return Ok(tid);
        }
    }
}
