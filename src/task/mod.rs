//! Tasks: creation (fork/clone), scheduling, exit and wait. Linux: `struct task_struct`
//! (include/linux/sched.h), kernel/fork.c, kernel/exit.c, kernel/sched/core.c.
//!
//! A task is one thread. A process is a thread group: the tasks sharing a `tgid`, whose
//! leader is the task with `tid == tgid`. What CLONE_* flags share is held through `Arc`s,
//! so "shared" means "the same Arc" and "copied" means "a new Arc with a copy inside".

pub mod clone_flags;
pub mod rlimit;
pub mod signal;

#[cfg(target_os = "none")]
pub mod coredump;
#[cfg(target_os = "none")]
pub mod exec;
#[cfg(target_os = "none")]
pub mod exit;
#[cfg(target_os = "none")]
pub mod fork;
#[cfg(target_os = "none")]
pub mod futex;
#[cfg(target_os = "none")]
pub mod oom;
#[cfg(target_os = "none")]
pub mod sched;
#[cfg(target_os = "none")]
pub mod wait;

#[cfg(target_os = "none")]
pub use kernel_task::*;

#[cfg(target_os = "none")]
mod kernel_task {
    use alloc::string::String;
    use alloc::sync::Arc;
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};

    use super::signal::SigHand;
    use crate::arch::ThreadStruct;
    use crate::error::KResult;
    use crate::fs::{FdTable, FsStruct};
    use crate::mm::global::Mm;
    use crate::sync::Level;
    use crate::sync::ordered::OrderedMutex;
    use crate::time::cputime::{CpuTime, Times};

    pub type Tid = u32;

    /// Each task's kernel stack; its top holds the user TrapFrame while in the kernel
    /// (Linux THREAD_SIZE: 16 KiB on arm64; the arch layer fixes it).
    pub const KSTACK_SIZE: usize = crate::arch::memory::THREAD_SIZE;
    /// Most tasks that may exist at once (clone gives -EAGAIN beyond): sized from RAM at
    /// boot like Linux's threads-max, see `set_max_threads`.
    pub static MAX_THREADS: core::sync::atomic::AtomicUsize =
        core::sync::atomic::AtomicUsize::new(64);

    /// Linux `set_max_threads` (kernel/fork.c): at most an eighth of RAM in kernel stacks,
    /// between 20 and the futex TID limit.
    pub fn set_max_threads(ram_bytes: usize) {
        let threads = (ram_bytes / (8 * KSTACK_SIZE)).clamp(20, 0x3fff_ffff);
        MAX_THREADS.store(threads, core::sync::atomic::Ordering::Relaxed);
    }

    /// The memory of one kernel stack (a type of its own so that debuggers can read its
    /// size from the debug info: gdb/teachos.py finds the TrapFrame at its top).
    #[repr(C, align(16))]
    pub struct KernelStackMem(pub [u8; KSTACK_SIZE]);

    /// A task's kernel stack (Linux CONFIG_VMAP_STACK): its own slot in the kernel-stack
    /// region of the kernel half, four frames mapped above a guard that is never mapped,
    /// so an overflow faults instead of corrupting what lies below (mm/kernel_map.rs;
    /// the fault is reported by the arch layer's `handle_bad_stack`). The pointer is the
    /// stack's lowest address.
    pub struct KernelStack(*mut KernelStackMem);

    impl KernelStack {
        /// -EAGAIN when every slot is taken (Linux's threads-max), -ENOMEM when the
        /// frames run out.
        pub fn new() -> KResult<KernelStack> {
            let base = crate::mm::kernel_map::alloc_kernel_stack()?;
            Ok(KernelStack(base as *mut KernelStackMem))
        }

        pub fn top(&self) -> usize {
            self.0 as usize + core::mem::size_of::<KernelStackMem>()
        }
    }

    impl Drop for KernelStack {
        /// Unmaps the stack and frees its frames. The task's last reference is dropped
        /// only after the CPU switched away from it (`finish_task_switch`), so no CPU
        /// still runs on this stack.
        fn drop(&mut self) {
            crate::mm::kernel_map::free_kernel_stack(self.0 as usize);
        }
    }

    pub use crate::sync::wait::WaitChan;

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum TaskState {
        Runnable,
        Running,
        Sleeping {
            chan: WaitChan,
            deadline: Option<u64>,
            seq: u64,
            /// A signal ends the sleep (Linux TASK_INTERRUPTIBLE); otherwise only a kill
            /// does (TASK_KILLABLE).
            interruptible: bool,
        },
        /// Exited, waiting for the parent's wait4.
        Zombie,
        /// Reaped, or an exited thread; only references keep it alive.
        Dead,
    }

    /// Thread-group-wide state (Linux `struct signal_struct`): shared with CLONE_THREAD.
    pub struct SignalStruct {
        pub inner: OrderedMutex<SignalInner>,
    }

    pub struct SignalInner {
        /// Threads of the group that have not exited yet.
        pub live: usize,
        /// Set by exit_group or a fatal signal: the status every thread exits with.
        pub group_exit: Option<u32>,
        /// Process group and session (Linux `signal->pids[PIDTYPE_PGID]`/`[PIDTYPE_SID]`).
        /// Init starts in group 0 and session 0, as on Linux; fork inherits both.
        pub pgid: Tid,
        pub sid: Tid,
        /// This process is its session's leader (Linux `signal->leader`, set by setsid).
        pub session_leader: bool,
        /// The session's controlling terminal, by tty number (Linux `signal->tty`): set
        /// by TIOCSCTTY or a session leader's first open of a tty, cleared by setsid
        /// and TIOCNOTTY. The tty layer (src/tty) owns what the number means.
        pub tty: Option<u32>,
        /// execve has run since fork (the opposite of Linux's PF_FORKNOEXEC on the
        /// leader): a parent may no longer setpgid it (EACCES).
        pub did_exec: bool,
        /// Resource limits (Linux `signal->rlim`), copied by fork.
        pub rlim: super::rlimit::Limits,
        /// A thread in execve waiting for the others to die (Linux `group_exec_task`);
        /// each exiting thread wakes it.
        pub group_exec_task: Option<Tid>,
        /// CPU time of the group's threads that have exited (Linux `signal->utime`,
        /// `stime`), and of its reaped children with theirs (`cutime`, `cstime`).
        pub cputime_dead: Times,
        pub cputime_children: Times,
        /// Signals sent to the process as a whole (Linux `signal->shared_pending`).
        pub shared_pending: super::signal::SigPending,
        /// Queued siginfos of this process, private and shared (bounded by
        /// RLIMIT_SIGPENDING; Linux counts them per user).
        pub sigqueued: usize,
        /// Job control (Linux SIGNAL_STOP_STOPPED and group_exit_code): the group is
        /// stopped, by this signal.
        pub stopped: Option<u32>,
        /// A stop (the signal) or a continue not yet reported to the parent's wait4
        /// with WUNTRACED / WCONTINUED (Linux SIGNAL_STOP_CONTINUED, exit_code).
        pub stop_report: Option<u32>,
        pub cont_report: bool,
        /// The parent is being (or has been) told this process exited (SIGCHLD sent,
        /// wait woken): set once, by whichever of the last thread and the leader gets
        /// there first.
        pub exit_notified: bool,
        /// A zombie the parent's wait4 may reap: set in exit notification, unless the
        /// parent ignores SIGCHLD (then the process is reaped at once, never reapable).
        pub reapable: bool,
        /// Init lost its protection (Linux clears SIGNAL_UNKILLABLE): a fault it could
        /// not handle ends it.
        pub force_killable: bool,
    }

    /// Linux `set_max_threads` from the frames RAM has, computed once.
    fn default_limits() -> super::rlimit::Limits {
        static MAX_THREADS: spin::Once<u64> = spin::Once::new();
        let threads = *MAX_THREADS.call_once(|| {
            let pages = crate::mm::global::with_frames(|f| f.in_use() + f.free_frames());
            super::rlimit::max_threads(pages)
        });
        super::rlimit::defaults(threads)
    }

    impl SignalStruct {
        /// A thread group with one live thread, in process group `pgid` and session
        /// `sid` with controlling terminal `tty`, and limits `rlim`; nothing else yet.
        fn with(pgid: Tid, sid: Tid, tty: Option<u32>, rlim: super::rlimit::Limits) -> Arc<Self> {
            Arc::new(SignalStruct {
                inner: OrderedMutex::new(
                    Level::Process,
                    SignalInner {
                        live: 1,
                        group_exit: None,
                        pgid,
                        sid,
                        session_leader: false,
                        tty,
                        did_exec: false,
                        rlim,
                        group_exec_task: None,
                        cputime_dead: Times::default(),
                        cputime_children: Times::default(),
                        shared_pending: Default::default(),
                        sigqueued: 0,
                        stopped: None,
                        stop_report: None,
                        cont_report: false,
                        exit_notified: false,
                        reapable: false,
                        force_killable: false,
                    },
                ),
            })
        }

        /// The thread group of init (or of a task that shares nothing yet).
        pub fn new() -> Arc<SignalStruct> {
            Self::with(0, 0, None, default_limits())
        }

        /// fork without CLONE_THREAD (Linux `copy_signal` and `copy_process`): a new
        /// thread group in the parent's process group and session, with its limits.
        pub fn new_child(parent: &SignalStruct) -> Arc<SignalStruct> {
            let p = parent.inner.lock();
            Self::with(p.pgid, p.sid, p.tty, p.rlim)
        }
    }

    pub struct Task {
        pub tid: Tid,
        pub tgid: Tid,
        kstack: Option<KernelStack>,
        /// The arch layer's per-thread register state (kernel context, FP/SIMD).
        thread: UnsafeCell<ThreadStruct>,
        /// `inner.killed` is set: checked without the lock on every return to user mode.
        pub kill_pending: AtomicBool,
        /// A signal this thread does not block is pending (Linux TIF_SIGPENDING):
        /// checked without the lock on every return to user mode, and by interruptible
        /// sleeps. Set and cleared under `inner`'s lock (task/signal.rs).
        pub sig_pending: AtomicBool,
        /// `inner.saved_sigmask` is set (Linux TIF_RESTORE_SIGMASK): the return to user
        /// mode restores it if no handler runs.
        pub restore_sigmask: AtomicBool,
        /// `inner.parent`, readable without the lock (Linux reads `real_parent` under
        /// RCU for getppid): written with it, under the lock.
        pub ppid: AtomicU32,
        /// A CPU runs this task or is still switching away from it (Linux `on_cpu`):
        /// no other CPU may load its registers meanwhile (task/sched.rs).
        pub on_cpu: AtomicBool,
        /// The CPU running the task, or the last one that did (Linux `task_cpu`).
        pub cpu: AtomicU32,
        /// While the task sleeps (or is about to): its channel's key, made non-zero
        /// (`WaitChan::key`), else 0. Wakers skip a task whose key differs without taking
        /// its lock; `inner.state` stays the truth (task/sched.rs `wake_n`).
        pub sleeping_on: AtomicU64,
        /// The CPUs it may run on, bit n = CPU n (Linux `cpus_mask`; sched_setaffinity).
        pub cpus_allowed: AtomicU32,
        /// User and system time (time/cputime.rs), charged at each kernel entry, return
        /// to user mode and switch.
        pub cputime: CpuTime,
        pub inner: OrderedMutex<TaskInner>,
    }

    // SAFETY: `thread` is only touched by the CPU running the task, by the scheduler while
    // switching it (IRQs masked), or by fork before the task is visible; everything else
    // is behind the Mutex.
    unsafe impl Sync for Task {}
    // SAFETY: as above; the kernel stack pointer is owned by the task.
    unsafe impl Send for Task {}

    pub struct TaskInner {
        pub name: String,
        pub state: TaskState,
        /// The parent process's tgid (Linux `real_parent`).
        pub parent: Tid,
        pub mm: Option<Arc<Mm>>,
        pub files: Option<Arc<OrderedMutex<FdTable>>>,
        pub fs: Option<Arc<OrderedMutex<FsStruct>>>,
        pub sighand: Option<Arc<OrderedMutex<SigHand>>>,
        pub signal: Arc<SignalStruct>,
        /// Signal sent to the parent at exit (SIGCHLD for fork; 0 for threads).
        pub exit_signal: u32,
        /// The wait status once exited (Linux encoding: code << 8, or the signal).
        pub exit_status: u32,
        /// CLONE_CHILD_SETTID: written by the child in schedule_tail.
        pub set_child_tid: usize,
        /// CLONE_CHILD_CLEARTID / set_tid_address: cleared and futex-woken at exit.
        pub clear_child_tid: usize,
        /// CLONE_VFORK: the parent sleeps until this task exits (or execs).
        pub vfork_parent: Option<Tid>,
        /// A fatal signal is pending: the task dies on its way back to user mode.
        pub killed: Option<u32>,
        pub woke_by_timeout: bool,
        /// How to resume a system call interrupted by a signal that ran no handler
        /// (Linux `restart_block`): the return path points the task at
        /// restart_syscall(2), which continues from here (nanosleep's remaining time).
        pub restart_block: Option<RestartBlock>,
        /// Signals this thread blocks (Linux `blocked`), and the mask to restore on the
        /// way back to user mode after ppoll/pselect/sigsuspend (`saved_sigmask`).
        pub blocked: super::signal::SigSet,
        pub saved_sigmask: Option<super::signal::SigSet>,
        /// The mask before rt_sigtimedwait unblocked the signals it waits for (Linux
        /// `real_blocked`): such a signal wakes the thread but is not fatal.
        pub real_blocked: Option<super::signal::SigSet>,
        /// Signals sent to this thread alone (tgkill, faults): Linux `pending`.
        pub pending: super::signal::SigPending,
        /// sigaltstack(2).
        pub sas: super::signal::AltStack,
    }

    /// The CPU time of process `tgid`: its live threads' and its exited threads' (Linux
    /// `thread_group_cputime`), and its reaped children's.
    pub fn group_cputime(tgid: Tid) -> (Times, Times) {
        let mut live = Times::default();
        let mut signal = None;
        for t in super::sched::TASKS
            .lock()
            .values()
            .filter(|t| t.tgid == tgid)
        {
            live += t.cputime_now();
            if signal.is_none() {
                signal = Some(t.inner.lock().signal.clone());
            }
        }
        let Some(signal) = signal else {
            return (live, Times::default());
        };
        let s = signal.inner.lock();
        live += s.cputime_dead;
        (live, s.cputime_children)
    }

    /// What restart_syscall(2) resumes (Linux `struct restart_block`).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum RestartBlock {
        /// nanosleep/clock_nanosleep: sleep on `clockid` until the absolute `deadline_ns`
        /// of that clock, writing the time left to `rmtp` (0: none) if interrupted again.
        Nanosleep {
            clockid: i32,
            deadline_ns: u64,
            rmtp: usize,
        },
    }

    impl TaskInner {
        /// A runnable task of its own thread group that shares nothing yet; callers fill
        /// in what they have (struct update syntax).
        pub fn new(name: String, parent: Tid) -> TaskInner {
            Self::with_signal(name, parent, SignalStruct::new())
        }

        /// `new` in the thread group `signal` (fork's, which has made it already: a
        /// `SignalStruct::new()` in the struct update's base would be allocated and
        /// freed at once).
        pub fn with_signal(name: String, parent: Tid, signal: Arc<SignalStruct>) -> TaskInner {
            TaskInner {
                name,
                state: TaskState::Runnable,
                parent,
                mm: None,
                files: None,
                fs: None,
                sighand: None,
                signal,
                exit_signal: 0,
                exit_status: 0,
                set_child_tid: 0,
                clear_child_tid: 0,
                vfork_parent: None,
                killed: None,
                woke_by_timeout: false,
                restart_block: None,
                blocked: 0,
                saved_sigmask: None,
                real_blocked: None,
                pending: Default::default(),
                sas: Default::default(),
            }
        }
    }

    impl Task {
        /// The task is built in its heap block, field by field: a `Task` is about 1 KiB
        /// (the FP/SIMD registers alone are 528 bytes), and `Arc::new(Task { .. })`
        /// built it on the stack first and copied it over (thread creation spent ~300
        /// instructions in those copies).
        pub fn new(
            tid: Tid,
            tgid: Tid,
            kstack: Option<KernelStack>,
            inner: TaskInner,
        ) -> Arc<Task> {
            let parent = inner.parent;
            let mut task = Arc::<Task>::new_uninit();
            let t = Arc::get_mut(&mut task)
                .expect("a new Arc is not shared")
                .as_mut_ptr();
            // SAFETY: `t` points to the new block, unshared and suitably aligned; every
            // field is written exactly once below (`write` drops nothing) before
            // `assume_init`. ThreadStruct is initialised in place by `init_in_place`.
            unsafe {
                (&raw mut (*t).tid).write(tid);
                (&raw mut (*t).tgid).write(tgid);
                (&raw mut (*t).kstack).write(kstack);
                ThreadStruct::init_in_place(UnsafeCell::raw_get(&raw const (*t).thread));
                (&raw mut (*t).kill_pending).write(AtomicBool::new(false));
                (&raw mut (*t).sig_pending).write(AtomicBool::new(false));
                (&raw mut (*t).restore_sigmask).write(AtomicBool::new(false));
                (&raw mut (*t).ppid).write(AtomicU32::new(parent));
                (&raw mut (*t).on_cpu).write(AtomicBool::new(false));
                (&raw mut (*t).cpu).write(AtomicU32::new(0));
                (&raw mut (*t).sleeping_on).write(AtomicU64::new(0));
                (&raw mut (*t).cpus_allowed).write(AtomicU32::new(u32::MAX));
                (&raw mut (*t).cputime).write(CpuTime::new());
                (&raw mut (*t).inner).write(OrderedMutex::new(Level::Task, inner));
                task.assume_init()
            }
        }

        pub fn kstack_top(&self) -> usize {
            self.kstack.as_ref().map(|k| k.top()).unwrap_or(0)
        }

        /// The arch layer's state of this thread. Only the CPU running the thread (or
        /// creating it, before it is visible) may use the pointer.
        pub fn thread_ptr(&self) -> *mut ThreadStruct {
            self.thread.get()
        }

        pub fn name(&self) -> String {
            self.inner.lock().name.clone()
        }

        pub fn mm(&self) -> Option<Arc<Mm>> {
            self.inner.lock().mm.clone()
        }

        pub fn is_group_leader(&self) -> bool {
            self.tid == self.tgid
        }

        /// This thread's CPU time so far, the running stretch included.
        pub fn cputime_now(&self) -> Times {
            let running = self.on_cpu.load(core::sync::atomic::Ordering::Relaxed);
            self.cputime.read(running)
        }

        /// The process's limit on `resource` (Linux `task_rlimit`/`rlimit`).
        pub fn rlimit(&self, resource: usize) -> super::rlimit::RLimit {
            // The SignalStruct borrowed under our lock (task, then process: the lock
            // order), not cloned: no reference counted and dropped per look. (The
            // process lock's guard, a temporary, is dropped before `inner`.)
            let inner = self.inner.lock();
            inner.signal.inner.lock().rlim[resource]
        }
    }
}
