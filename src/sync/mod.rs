//! Synchronisation primitives every subsystem may use. Nearly a leaf: nothing here
//! imports the rest of the kernel but the arch layer's per-CPU area (for the lock-order
//! check).
//!
//! # Lock order
//!
//! A code path that holds a lock may take only locks *below* it in this list, so no two
//! paths can wait for each other in a cycle, on one CPU or across several (Linux keeps
//! the same kind of list at the top of mm/rmap.c and in Documentation/locking/). Locks
//! on the same line are never held together. "→" names the places that nest. The list
//! is also code: `Level` below, one value per line, used by every `OrderedMutex`; kernels
//! built with debug assertions check each acquisition against it (sync/ordered.rs). Every
//! lock is an `OrderedMutex` but two plain `spin::Mutex`es: CONSOLE, which the panic path
//! must be able to force open, and boot.rs's hand-over of an idle task to a starting CPU.
//!
//! ```text
//!  1. TASKS            task/sched.rs   every task by tid
//!                        → Task.inner (wake_n, the tick, idle's all-exited check),
//!                          RUN_QUEUE (waking), NEXT_TID (alloc_tid)
//!  2. NEXT_TID         task/fork.rs    the next tid to try (only under TASKS)
//!  3. RUN_QUEUE        task/sched.rs   the shared run queue and the idle-CPU mask
//!                        → Task.inner (schedule: prev's state)
//!  4. Task.inner       task/mod.rs     a task's state, name, parent, resources. At most
//!                                      one task's at a time.
//!                        → SignalStruct.inner (kill_group, do_exit_killed, wait4),
//!                          FdTable (copy_files), FsStruct (copy_fs, execve's cwd),
//!                          SigHand (copy_sighand, send_signal)
//!  5. SignalStruct.inner | FdTable | FsStruct | SigHand | Pipe.inner | Dir | MOUNTS |
//!     File.lock_state | LOCKS
//!                      task/mod.rs, fs/, task/signal.rs: leaves apart from Inode and the
//!                      heap. A pipe end is closed (Pipe.inner, then wakeup → TASKS ...)
//!                      only after the FdTable lock is released. A directory's entries
//!                      (fs/inode.rs `Dir`) → the child's Inode.data (stat of a child).
//!  6. Mm.space         mm/global.rs    one address space: VMAs and page tables (Linux's
//!                                      mmap_lock and page-table lock in one)
//!                        → Inode.data (a fault in a file mapping finds its page)
//!  7. Inode.data       fs/inode.rs     one inode's attributes, size and page cache
//!                                      (Linux `i_lock` + the xarray lock). Never held
//!                                      across a user access: data is copied with a
//!                                      reference on the page, not the lock.
//!  8. KERNEL_MAP       mm/kernel_map.rs  the kernel's page table and stack slots
//!  9. ASIDS | LOGGED | CRNG | VVAR_WRITER | TIMERS | TTY  mm/global.rs, syscall/misc.rs,
//!                      random.rs, vdso/, time/timer.rs (the timer queue and process
//!                      timers: taken under Task.inner by do_sleep), tty/tty_io.rs (the
//!                      console terminal; also taken by the UART interrupt) → CONSOLE (its
//!                      echo)
//! 10. CONSOLE          console.rs      the UART; println! may run under any lock above
//! 11. HEAP             mm/heap.rs      the kernel heap: every allocation takes it
//!                        → FREE_FRAMES (growing by a run of frames)
//! 12. FREE_FRAMES      mm/frame.rs     the frame allocator's free stack: innermost, it
//!                                      never allocates. Frame reference counts are
//!                                      atomics outside any lock.
//! ```
//!
//! Sleeping locks (sync/sleeplock.rs, Linux's `mutex` and `rw_semaphore`) are not in the
//! list: they may be held across user accesses and sleeps, and are taken with no spin
//! lock held. Theirs is a separate order: RENAME_LOCK (fs/namei.rs) → a directory's
//! `Inode.rw` → a regular file's `Inode.rw` (Linux: `s_vfs_rename_mutex` → `i_rwsem` of
//! the parent → of the child). A page fault never takes one.
//!
//! Not locks: each CPU's scheduler state (task/sched.rs `CPU_SCHED`) and per-CPU area
//! are touched only by their own CPU, with IRQs masked.
//!
//! Rules that go with it:
//! * **No lock across `schedule()`** (sleep, yield, exit): the next task may take any
//!   (checked builds assert it).
//! * **No lock across user memory access** (`mm::uaccess`): a fault there runs the page
//!   fault handler, which takes Task.inner (`current().mm()`), Mm.space and FREE_FRAMES.
//! * **Dropping the last reference** runs the drop code under whatever is held: a `Task`
//!   frees its kernel stack (KERNEL_MAP → FREE_FRAMES) and whatever it still owns; an
//!   `Mm` frees its frames, then its ASID; an open pipe end wakes its peers (TASKS,
//!   Task.inner, RUN_QUEUE). So a task's last reference is dropped with no lock held
//!   (finish_task_switch, wait4 after reaping, shutdown after emptying TASKS), and open
//!   files are closed outside the FdTable lock.
//! * `spin::Once` values (boot arguments, the GIC, the frame allocator, the initrd, the
//!   empty TTBR0 table, the wait operations) are written once at boot and are not locks
//!   afterwards.
//!
//! # Interrupts and other CPUs
//!
//! IRQs are masked whenever a CPU runs at EL1, except in the idle loop's `wfi`, where
//! idle holds no lock; so an interrupt handler never finds a lock held by the code it
//! interrupted on its own CPU, and no lock needs Linux's `spin_lock_irqsave`. The tick
//! (irq.rs → trap.rs → `sched::timer_tick`) takes TASKS, Task.inner and RUN_QUEUE; the
//! reschedule IPI takes nothing.
//!
//! Another CPU may hold any lock at any time: it spins until the holder, which cannot be
//! interrupted on its own CPU, lets go. The locks are `spin::Mutex`, test-and-set locks:
//! unfair, but a FIFO ticket lock would hand the lock to a vCPU the host has descheduled
//! (QEMU runs four vCPUs on however many host threads it gets) and make every other CPU
//! wait for it. What a lock cannot protect across CPUs is documented where it is used:
//! a task's registers (`on_cpu`, task/sched.rs), lost wakeups (sync/wait.rs), the COW
//! copy made unlocked (mm/cow.rs), TLB entries on other CPUs (broadcast `tlbi ...is`,
//! arch/aarch64/mod.rs).

/// The lock levels of the list above (`OrderedMutex::new(Level::..., ...)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Level {
    Tasks = 1,
    NextTid = 2,
    RunQueue = 3,
    Task = 4,
    /// SignalStruct.inner, FdTable, FsStruct, SigHand, Pipe.inner, Dir, MOUNTS, LOCKS.
    Process = 5,
    Mm = 6,
    /// Inode.data.
    Inode = 7,
    KernelMap = 8,
    /// ASIDS, LOGGED, CRNG, VVAR_WRITER, TIMERS, TTY.
    Ids = 9,
    Console = 10,
    Heap = 11,
    FreeFrames = 12,
}

impl Level {
    /// The level whose bit is `bit` (for the violation report).
    pub fn from_bit(bit: u32) -> Option<Level> {
        use Level::*;
        [
            Tasks, NextTid, RunQueue, Task, Process, Mm, Inode, KernelMap, Ids, Console, Heap,
            FreeFrames,
        ]
        .into_iter()
        .find(|l| *l as u32 == bit)
    }
}

pub mod ordered;
pub mod sleeplock;
pub mod wait;
