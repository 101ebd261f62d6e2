//! The scheduler: preemptive round-robin on one CPU (Linux: kernel/sched/core.c
//! `schedule`, `context_switch`, `schedule_tail`).
//!
//! The kernel itself is not preemptible: IRQs stay masked at EL1 except in the idle loop,
//! so a task gives up the CPU only by calling `schedule()` (sleeping, yielding, exiting)
//! or when the timer tick sets `need_resched` and it next returns to user mode. Locks are
//! never held across `schedule()`.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use spin::Mutex;

use super::{Task, TaskState, Tid, WaitChan};
use crate::arch;

struct Scheduler {
    current: Option<Arc<Task>>,
    idle: Option<Arc<Task>>,
    run_queue: VecDeque<Arc<Task>>,
    /// The task we switched away from, kept alive until the switch has finished
    /// (its kernel stack was in use until cpu_switch_to returned).
    prev: Option<Arc<Task>>,
}

/// Set by the timer tick when another task is waiting for the CPU; checked on every
/// return to user mode (Linux TIF_NEED_RESCHED). An atomic so that the check needs no lock.
static NEED_RESCHED: AtomicBool = AtomicBool::new(false);

static SCHED: Mutex<Scheduler> = Mutex::new(Scheduler {
    current: None,
    idle: None,
    run_queue: VecDeque::new(),
    prev: None,
});

/// Every task that exists (not the idle task), by tid.
pub static TASKS: Mutex<BTreeMap<Tid, Arc<Task>>> = Mutex::new(BTreeMap::new());

static SLEEP_SEQ: AtomicU64 = AtomicU64::new(0);

/// The running task (Linux `current`): a handle that derefs to the `Task`. The per-CPU
/// area holds a pointer to it, set at each switch; `SCHED.current` holds the reference
/// that keeps it alive while it runs. Taking it costs no atomic operation; `.arc()` gives
/// a counted reference to keep.
pub fn current() -> CurrentTask {
    CurrentTask {
        task: arch::percpu::this_cpu().current_task() as *const Task,
        _not_send: core::marker::PhantomData,
    }
}

/// The running task, borrowed. Valid for as long as the code holding it runs: a task is
/// freed only after its last switch away, and it is `!Send`, so it cannot leave the task
/// whose code obtained it.
pub struct CurrentTask {
    task: *const Task,
    _not_send: core::marker::PhantomData<*const ()>,
}

impl CurrentTask {
    /// A counted reference, to store or to hand to another task.
    pub fn arc(&self) -> Arc<Task> {
        // SAFETY: `task` came from Arc::as_ptr of SCHED.current, which holds a strong
        // reference while the task runs; we add one for the caller.
        unsafe {
            Arc::increment_strong_count(self.task);
            Arc::from_raw(self.task)
        }
    }
}

impl core::ops::Deref for CurrentTask {
    type Target = Task;
    fn deref(&self) -> &Task {
        // SAFETY: see the type's comment: the running task outlives this handle.
        unsafe { &*self.task }
    }
}

fn set_current(s: &mut Scheduler, task: Arc<Task>) {
    arch::percpu::this_cpu().set_current_task(Arc::as_ptr(&task) as *const ());
    s.current = Some(task);
}

pub fn find_task(tid: Tid) -> Option<Arc<Task>> {
    TASKS.lock().get(&tid).cloned()
}

/// Makes the boot context the idle task (tid 0).
pub fn init_idle(idle: Arc<Task>) {
    crate::sync::wait::install(crate::sync::wait::WaitOps { sleep, wake_n });
    let mut s = SCHED.lock();
    idle.inner.lock().state = TaskState::Running;
    // Waking a task must not allocate: the run queue has room for every task there can be.
    s.run_queue
        .reserve(super::MAX_THREADS.load(Ordering::Relaxed));
    arch::percpu::set_current_thread(idle.thread_ptr());
    set_current(&mut s, idle.clone());
    s.idle = Some(idle);
}

/// Linux `wake_up_new_task`: a freshly cloned task joins the run queue.
#[inline(never)]
pub fn wake_up_new_task(task: Arc<Task>) {
    task.inner.lock().state = TaskState::Runnable;
    SCHED.lock().run_queue.push_back(task);
}

fn make_runnable(task: &Arc<Task>, timeout: bool) -> bool {
    let mut inner = task.inner.lock();
    if !matches!(inner.state, TaskState::Sleeping { .. }) {
        return false;
    }
    inner.state = TaskState::Runnable;
    inner.woke_by_timeout = timeout;
    drop(inner);
    SCHED.lock().run_queue.push_back(task.clone());
    true
}

/// Wakes one task if it is asleep (used for SIGKILL).
pub fn wake_task(task: &Arc<Task>) {
    make_runnable(task, false);
}

/// Wakes every task sleeping on `chan`.
pub fn wakeup(chan: WaitChan) {
    wake_n(chan, usize::MAX);
}

/// Wakes up to `n` tasks sleeping on `chan`, longest sleeper first; returns how many.
/// It allocates nothing (it runs in interrupt context too): it scans the task table, once
/// to wake everyone, or once per task woken to find the longest sleeper.
pub fn wake_n(chan: WaitChan, n: usize) -> usize {
    let tasks = TASKS.lock();
    let asleep_on_chan = |t: &Task| match t.inner.lock().state {
        TaskState::Sleeping { chan: c, seq, .. } if c == chan => Some(seq),
        _ => None,
    };
    let sleepers = tasks
        .values()
        .filter(|t| asleep_on_chan(t).is_some())
        .count();
    if n >= sleepers {
        return tasks
            .values()
            .filter(|t| asleep_on_chan(t).is_some() && make_runnable(t, false))
            .count();
    }
    let mut woken = 0;
    while woken < n {
        let oldest = tasks
            .values()
            .filter_map(|t| asleep_on_chan(t).map(|seq| (seq, t)))
            .min_by_key(|(seq, _)| *seq);
        match oldest {
            Some((_, t)) if make_runnable(t, false) => woken += 1,
            _ => break,
        }
    }
    woken
}

pub use crate::sync::wait::WakeReason;

/// Puts the current task to sleep on `chan` until woken, `deadline` (ns since boot)
/// passes, or it is killed.
pub fn sleep(chan: WaitChan, deadline: Option<u64>) -> WakeReason {
    let cur = current();
    {
        let mut inner = cur.inner.lock();
        if inner.killed.is_some() {
            return WakeReason::Killed;
        }
        let seq = SLEEP_SEQ.fetch_add(1, Ordering::Relaxed);
        inner.state = TaskState::Sleeping {
            chan,
            deadline,
            seq,
        };
        inner.woke_by_timeout = false;
    }
    schedule();
    let inner = cur.inner.lock();
    if inner.killed.is_some() {
        WakeReason::Killed
    } else if inner.woke_by_timeout {
        WakeReason::Timeout
    } else {
        WakeReason::Woken
    }
}

/// Gives up the CPU (sched_yield).
pub fn yield_now() {
    schedule();
}

/// Picks the next task and switches to it. The current task goes to the back of the run
/// queue if it is still runnable.
pub fn schedule() {
    let (prev_thread, next_thread) = {
        let mut s = SCHED.lock();
        NEED_RESCHED.store(false, Ordering::Relaxed);
        let prev = s.current.clone().expect("schedule without a current task");
        let idle = s.idle.clone().expect("no idle task");
        let is_idle = Arc::ptr_eq(&prev, &idle);
        {
            let mut p = prev.inner.lock();
            if p.state == TaskState::Running {
                p.state = TaskState::Runnable;
                if !is_idle {
                    s.run_queue.push_back(prev.clone());
                }
            }
        }
        let next = s.run_queue.pop_front().unwrap_or(idle);
        next.inner.lock().state = TaskState::Running;
        if Arc::ptr_eq(&prev, &next) {
            return;
        }
        switch_mm(&prev, &next);
        set_current(&mut s, next.clone());
        let threads = (prev.thread_ptr(), next.thread_ptr());
        s.prev = Some(prev);
        threads
    };
    // SAFETY: both belong to live tasks (prev is kept alive in `s.prev`, next in
    // `s.current`); IRQs are masked, and no lock is held across the switch.
    unsafe { arch::switch_to(prev_thread, next_thread) };
    finish_task_switch();
}

/// Linux `switch_mm`: load the next task's TTBR0 (root | ASID). Threads of one process
/// share the Mm, so switching between them changes nothing.
fn switch_mm(prev: &Arc<Task>, next: &Arc<Task>) {
    let (pm, nm) = (prev.mm(), next.mm());
    match (pm, nm) {
        (Some(a), Some(b)) if Arc::ptr_eq(&a, &b) => {}
        (_, Some(b)) => arch::mmu::switch_ttbr0(b.ttbr()),
        // The idle task keeps the previous tables loaded (lazy TLB, as Linux does for
        // kernel threads); an exiting task already switched to the empty table.
        (_, None) => {}
    }
}

/// Linux `finish_task_switch`: drop the reference that kept the previous task alive.
fn finish_task_switch() {
    let prev = SCHED.lock().prev.take();
    drop(prev);
}

/// Called by `ret_from_fork` (entry.S) as a new task's first Rust code.
#[unsafe(no_mangle)]
extern "C" fn schedule_tail() {
    finish_task_switch();
    // CLONE_CHILD_SETTID: the child writes its own tid, in its own address space, before
    // it first returns to user mode. A failed write is ignored, as in Linux.
    let cur = current();
    let addr = cur.inner.lock().set_child_tid;
    // LAB 4 BEGIN: CLONE_CHILD_SETTID: write the child's tid
    if addr != 0 {
        let _ = crate::mm::uaccess::put_user_u32(addr, cur.tid);
    }
    // LAB 4 STUB
    // if addr != 0 {
    //     crate::lab::todo(4, "CLONE_CHILD_SETTID");
    // }
    // LAB 4 END
}

/// Called on every return to EL0: reschedule if the tick asked for it, and die if a
/// fatal signal is pending.
pub fn prepare_exit_to_user() {
    loop {
        if current().kill_pending.load(Ordering::Relaxed) {
            super::exit::do_exit_killed();
        }
        if !NEED_RESCHED.load(Ordering::Relaxed) {
            return;
        }
        schedule();
    }
}

/// The timer interrupt: wake sleepers whose deadline passed, ask for a reschedule.
pub fn timer_tick(now_ns: u64) {
    for t in TASKS.lock().values() {
        let expired = matches!(t.inner.lock().state, TaskState::Sleeping { deadline: Some(d), .. } if d <= now_ns);
        if expired {
            make_runnable(t, true);
        }
    }
    if !SCHED.lock().run_queue.is_empty() {
        NEED_RESCHED.store(true, Ordering::Relaxed);
    }
}

/// The idle task's loop: run whatever is runnable, otherwise wait for an interrupt.
/// Returns init's wait status once init has exited and every other task is gone (the
/// boot code then powers the machine off).
pub fn idle_loop() -> u32 {
    loop {
        schedule();
        if let Some(status) = super::exit::init_exit_status()
            && TASKS
                .lock()
                .values()
                .all(|t| matches!(t.inner.lock().state, TaskState::Zombie | TaskState::Dead))
        {
            return status;
        }
        if SCHED.lock().run_queue.is_empty() {
            arch::wait_for_interrupt();
        }
    }
}
