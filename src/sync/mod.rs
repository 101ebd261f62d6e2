//! Synchronisation primitives every subsystem may use. A leaf: nothing here imports the
//! rest of the kernel.
//!
//! # Lock order
//!
//! Every lock in the kernel is a `spin::Mutex` (the heap's `LockedHeap` wraps one). A
//! code path that holds a lock may take only locks *below* it in this list, so no two
//! paths can wait for each other (Linux keeps the same kind of list at the top of
//! mm/rmap.c and in Documentation/locking/). Locks on the same line are never held
//! together. "→" names the places that nest.
//!
//! ```text
//!  1. TASKS            task/sched.rs   every task by tid
//!                        → Task.inner (idle_loop's all-exited check), NEXT_TID (alloc_tid),
//!                          HEAP; dropping a Task → KERNEL_MAP, FRAMES, ASIDS (shutdown)
//!  2. NEXT_TID         task/fork.rs    the next tid to try (only under TASKS)
//!  3. SCHED            task/sched.rs   current, idle, run queue, prev
//!                        → Task.inner (schedule: prev's and next's state, one at a
//!                          time), Mm.space (switch_mm reads next's TTBR0), HEAP
//!  4. Task.inner       task/mod.rs     a task's state, name, parent, resources. At most
//!                                      one task's at a time.
//!                        → SignalStruct.inner (kill_group, do_exit_killed, wait4),
//!                          FdTable (copy_files), FsStruct (copy_fs, execve's cwd),
//!                          SigHand (copy_sighand, send_signal), HEAP
//!  5. SignalStruct.inner | FdTable | FsStruct | SigHand | Pipe.inner
//!                      task/mod.rs, fs/, task/signal.rs: leaves apart from HEAP. A pipe
//!                      end is closed (Pipe.inner, then wakeup → TASKS, Task.inner, SCHED)
//!                      only after the FdTable lock is released.
//!  6. Mm.space         mm/global.rs    one address space: VMAs and page tables
//!                        → FRAMES (every Mm::with), HEAP
//!  7. KERNEL_MAP       mm/kernel_map.rs  the kernel's page table and stack slots
//!                        → FRAMES (map/unmap a kernel stack)
//!  8. FRAMES           mm/global.rs    the frame allocator and reference counts
//!                        → HEAP (teardown's table list)
//!  9. ASIDS | LOGGED   mm/global.rs, syscall/misc.rs: leaves apart from HEAP
//! 10. CONSOLE          console.rs      the UART; println! may run under any lock above
//! 11. HEAP             mm/global.rs    the kernel heap: every allocation takes it, so it
//!                                      is innermost and must never take another lock
//!                                      (growing the heap from the frame allocator must
//!                                      not lock FRAMES from inside the allocator, since
//!                                      FRAMES → HEAP exists).
//! ```
//!
//! Rules that go with it:
//! * **No lock across `schedule()`** (sleep, yield, exit): the next task may take any.
//! * **No lock across user memory access** (`mm::uaccess`): a fault there runs the page
//!   fault handler, which takes Task.inner (`current().mm()`), Mm.space and FRAMES.
//! * **Dropping the last reference** runs the drop code under whatever is held: a `Task`
//!   frees its kernel stack (KERNEL_MAP → FRAMES) and whatever it still owns; an `Mm`
//!   takes FRAMES, then ASIDS; an open pipe end wakes its peers (TASKS, Task.inner,
//!   SCHED). So a task's last reference is dropped with no lock held (finish_task_switch,
//!   wait4 after reaping, shutdown after emptying TASKS), and open files are closed
//!   outside the FdTable lock.
//! * `spin::Once` values (boot arguments, the GIC, the initrd, the empty TTBR0 table, the
//!   wait operations) are written once at boot and are not locks afterwards.
//!
//! # Interrupts
//!
//! The timer tick (irq.rs → `sched::timer_tick`) takes TASKS (a snapshot of the tasks),
//! each Task.inner, SCHED and HEAP, and CONSOLE for an unexpected interrupt's warning.
//! IRQs are masked whenever the CPU is at EL1 except in the idle loop's `wfi`, where idle
//! holds no lock, so an interrupt never finds one of these locks held by the code it
//! interrupted: on one CPU the handler cannot deadlock. The interrupted code holds no
//! lock when it is entered from EL0 either.
//!
//! What SMP will need: another CPU may hold any of these locks, which is fine while the
//! holder cannot be interrupted on its own CPU (IRQs stay masked at EL1 on every CPU);
//! if IRQs are ever unmasked in the kernel outside idle, the locks the tick takes must be
//! taken with IRQs masked (Linux `spin_lock_irqsave`, xv6 `push_off`). `spin::Mutex` is a
//! test-and-set lock (unfair): the `ticket_mutex` feature makes it FIFO. The tick's
//! snapshot could then hold a task's last reference and free its stack in IRQ context
//! (allowed by the order above, but slow); `console::force_unlock` on the panic path must
//! stop the other CPUs first; two Task.inner locks must still never be held at once
//! (or be taken in tid order); and per-CPU statistics read by another CPU (arch
//! `irqsoff`) become atomics.

pub mod wait;
