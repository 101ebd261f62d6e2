//! The scheduler: preemptive round-robin on every CPU from one shared run queue (Linux:
//! kernel/sched/core.c `schedule`, `context_switch`, `finish_task_switch`,
//! `try_to_wake_up`; xv6's `scheduler` is the model for the shared queue).
//!
//! ```text
//!            RUN_QUEUE (one lock)                       per CPU (own CPU only)
//!   wake ─► [ T3 T7 T1 ... ] ─► pick the first task    current, idle, prev,
//!           idle_cpus: 0b0100    allowed on this CPU    need_resched
//!              │
//!              └─ a wakeup that finds an idle CPU the task may use sends it a
//!                 reschedule IPI (SGI), which ends that CPU's `wfi`
//! ```
//!
//! Why one queue and not one per CPU: with at most eight CPUs and xv6-sized workloads
//! the single lock is held for a few dozen instructions per switch, every CPU takes the
//! oldest waiting task (fair, no load balancer needed), and a student can see the whole
//! policy in one screen. Per-CPU queues with balancing pay off with many CPUs; the price
//! here is that a task does not stick to the CPU whose caches it warmed.
//!
//! The kernel itself is not preemptible: IRQs stay masked at EL1 except in the idle
//! loop's `wfi`, so a task gives up its CPU only by calling `schedule()` (sleeping,
//! yielding, exiting) or when the tick (or a reschedule IPI) sets `need_resched` and it
//! next returns to user mode. Locks are never held across `schedule()`.
//!
//! A task runs on one CPU at a time: `on_cpu` stays set from the moment a CPU picks the
//! task until that CPU has saved its registers and left its stack (`finish_task_switch`,
//! as Linux's `p->on_cpu`). A task woken while still on its old CPU (it was just going to
//! sleep there) can be picked by another CPU at once; that CPU waits for `on_cpu` to
//! clear before it loads the task's registers.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::sync::Arc;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::{Task, TaskState, Tid, WaitChan};
use crate::arch;
use crate::arch::percpu::MAX_CPUS;
use crate::mm::global::Mm;
use crate::sync::Level;
use crate::sync::ordered::{self, OrderedMutex};
use crate::sync::wait::WakeSeq;
use crate::time::timer::{self, TICK_STOPPED};

/// The tasks waiting for a CPU, and which CPUs sit idle in `wfi`.
struct RunQueue {
    tasks: VecDeque<Arc<Task>>,
    /// Bit n: CPU n found nothing to run and waits for an interrupt.
    idle_cpus: u32,
}

/// One CPU's scheduler state, touched only by that CPU (`this_cpu_sched`).
struct CpuSched {
    current: Option<Arc<Task>>,
    idle: Option<Arc<Task>>,
    /// The task we switched away from, kept alive until the switch has finished
    /// (its kernel stack was in use until cpu_switch_to returned).
    prev: Option<Arc<Task>>,
}

static RUN_QUEUE: OrderedMutex<RunQueue> = OrderedMutex::new(
    Level::RunQueue,
    RunQueue {
        tasks: VecDeque::new(),
        idle_cpus: 0,
    },
);

/// A value that only its own CPU touches, with IRQs masked — and the kernel is not
/// preemptible, so nothing else on that CPU can run in between: no lock is needed (Linux
/// `DEFINE_PER_CPU` with `this_cpu_ptr`). Borrowed only inside `this_cpu_sched`.
struct CpuLocal<T>(UnsafeCell<T>);

// SAFETY: each element of CPU_SCHED is only reached through `this_cpu_sched`, on its own
// CPU, with IRQs masked, never re-entered (see there).
unsafe impl<T> Sync for CpuLocal<T> {}

static CPU_SCHED: [CpuLocal<CpuSched>; MAX_CPUS] = [const {
    CpuLocal(UnsafeCell::new(CpuSched {
        current: None,
        idle: None,
        prev: None,
    }))
}; MAX_CPUS];

/// Runs `f` on this CPU's scheduler state. `f` must not call anything that reaches
/// `this_cpu_sched` again (none of the scheduler's own helpers do; no `schedule()`).
fn this_cpu_sched<R>(f: impl FnOnce(&mut CpuSched) -> R) -> R {
    // SAFETY: this CPU's element, touched by this CPU only, with IRQs masked (EL1), and
    // not re-entered while `f` runs: the one mutable borrow.
    f(unsafe { &mut *CPU_SCHED[this_cpu()].0.get() })
}

/// CPU n runs a task other than its idle task, or is still switching away from one.
/// Read by the boot CPU before it powers off (`other_cpus_idle`).
static CPU_BUSY: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// CPUs that have entered the scheduler (bit n = CPU n).
static ONLINE: AtomicU32 = AtomicU32::new(0);

/// Every task that exists (not the idle tasks), by tid.
pub static TASKS: OrderedMutex<BTreeMap<Tid, Arc<Task>>> =
    OrderedMutex::new(Level::Tasks, BTreeMap::new());

static SLEEP_SEQ: AtomicU64 = AtomicU64::new(0);

fn this_cpu() -> usize {
    arch::percpu::this_cpu().id as usize
}

/// The CPUs that run tasks, as a mask (bit n = CPU n).
pub fn online_mask() -> u32 {
    ONLINE.load(Ordering::Acquire)
}

/// The running task (Linux `current`): a handle that derefs to the `Task`. The per-CPU
/// area holds a pointer to it, set at each switch; this CPU's `CpuSched.current` holds the
/// reference that keeps it alive while it runs. Taking it costs no atomic operation;
/// `.arc()` gives a counted reference to keep.
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
        // SAFETY: `task` came from Arc::as_ptr of this CPU's CpuSched.current, which
        // holds a strong reference while the task runs; we add one for the caller.
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

fn set_current(s: &mut CpuSched, task: Arc<Task>) {
    arch::percpu::this_cpu().set_current_task(Arc::as_ptr(&task) as *const ());
    s.current = Some(task);
}

pub fn find_task(tid: Tid) -> Option<Arc<Task>> {
    TASKS.lock().get(&tid).cloned()
}

/// Makes the running boot context CPU `cpu`'s idle task (tid 0) and puts the CPU
/// online: the boot CPU's at the end of `kernel_main`, each secondary's as its first
/// scheduler step.
pub fn init_idle(idle: Arc<Task>) {
    let cpu = this_cpu();
    if cpu == 0 {
        crate::sync::wait::install(crate::sync::wait::WaitOps {
            sleep,
            sleep_interruptible,
            wake_n,
        });
        // Waking a task must not allocate: the run queue has room for every task there
        // can be.
        RUN_QUEUE
            .lock()
            .tasks
            .reserve(super::MAX_THREADS.load(Ordering::Relaxed));
        // Nor may a sleep with a deadline: a timer-queue slot for every task too.
        crate::time::timer::init(super::MAX_THREADS.load(Ordering::Relaxed));
    }
    idle.inner.lock().state = TaskState::Running;
    idle.on_cpu.store(true, Ordering::Relaxed);
    idle.cpu.store(cpu as u32, Ordering::Relaxed);
    arch::percpu::set_current_thread(idle.thread_ptr());
    this_cpu_sched(|s| {
        set_current(s, idle.clone());
        s.idle = Some(idle);
    });
    ONLINE.fetch_or(1 << cpu, Ordering::Release);
}

impl RunQueue {
    /// Queues a runnable task; returns an idle CPU that may run it, to be woken with a
    /// reschedule IPI once the lock is released (Linux `ttwu_queue` + `kick`). With no
    /// idle CPU, a busy one that stopped its tick must tick again to share itself: this
    /// CPU restarts its own, another is kicked (Linux `sched_can_stop_tick` and
    /// `tick_nohz_dep_set_cpu`).
    fn enqueue(&mut self, task: Arc<Task>) -> Option<usize> {
        let allowed = task.cpus_allowed.load(Ordering::Relaxed);
        self.tasks.push_back(task);
        let idle = self.claim_idle_cpu(allowed);
        let tickless = TICK_STOPPED.load(Ordering::Relaxed) & allowed & !self.idle_cpus;
        if idle.is_some() || tickless == 0 {
            return idle;
        }
        if tickless & (1 << this_cpu()) != 0 {
            crate::time::timer::restart_tick();
            return None;
        }
        Some(tickless.trailing_zeros() as usize)
    }

    /// Takes an idle CPU out of the idle set if one is in `allowed` (not this one:
    /// this CPU is about to look at the queue anyway).
    fn claim_idle_cpu(&mut self, allowed: u32) -> Option<usize> {
        let candidates = self.idle_cpus & allowed & !(1 << this_cpu());
        if candidates == 0 {
            return None;
        }
        let cpu = candidates.trailing_zeros() as usize;
        self.idle_cpus &= !(1 << cpu);
        Some(cpu)
    }

    /// The first waiting task allowed on `cpu` that no other CPU is still switching
    /// away from (`prev`, this CPU's own outgoing task, may be taken back). Taking such
    /// a task and waiting for its `on_cpu` could deadlock: two CPUs that each picked the
    /// other's outgoing task would wait for each other for ever (Linux's per-CPU run
    /// queues never migrate a task that is `task_on_cpu`). A task skipped here is
    /// offered again by `finish_task_switch` once its CPU has let go of it.
    fn pick(&mut self, cpu: usize, prev: &Arc<Task>) -> Option<Arc<Task>> {
        let pos = self.tasks.iter().position(|t| {
            if t.cpus_allowed.load(Ordering::Relaxed) & (1 << cpu) == 0 {
                return false;
            }
            let busy = t.on_cpu.load(Ordering::Acquire) && !Arc::ptr_eq(t, prev);
            if busy {
                SKIPPED_ON_CPU.store(true, Ordering::Release);
            }
            !busy
        })?;
        self.tasks.remove(pos)
    }

    fn has_work_for(&self, cpu: usize) -> bool {
        self.tasks
            .iter()
            .any(|t| t.cpus_allowed.load(Ordering::Relaxed) & (1 << cpu) != 0)
    }
}

/// `pick` passed over a task still switching away on another CPU.
static SKIPPED_ON_CPU: AtomicBool = AtomicBool::new(false);

/// Sends a reschedule IPI, unless `cpu` is this CPU.
fn kick(cpu: Option<usize>) {
    if let Some(cpu) = cpu.filter(|&c| c != this_cpu()) {
        crate::irq::send_reschedule(cpu);
    }
}

/// Linux `wake_up_new_task`: a freshly cloned task joins the run queue.
#[inline(never)]
pub fn wake_up_new_task(task: Arc<Task>) {
    task.inner.lock().state = TaskState::Runnable;
    let cpu = RUN_QUEUE.lock().enqueue(task);
    kick(cpu);
}

fn make_runnable(task: &Arc<Task>, timeout: bool) -> bool {
    let mut inner = task.inner.lock();
    if !matches!(inner.state, TaskState::Sleeping { .. }) {
        return false;
    }
    inner.state = TaskState::Runnable;
    inner.woke_by_timeout = timeout;
    drop(inner);
    let cpu = RUN_QUEUE.lock().enqueue(task.clone());
    kick(cpu);
    true
}

/// Wakes one task if it is asleep, and makes it notice a pending kill soon if it runs
/// on another CPU (Linux `signal_wake_up` → `kick_process`).
pub fn wake_task(task: &Arc<Task>) {
    if !make_runnable(task, false) && task.on_cpu.load(Ordering::Acquire) {
        kick(Some(task.cpu.load(Ordering::Relaxed) as usize));
    }
}

/// Wakes every task sleeping on `chan`.
pub fn wakeup(chan: WaitChan) {
    wake_n(chan, usize::MAX);
}

/// Wakes up to `n` tasks sleeping on `chan`, longest sleeper first; returns how many.
/// It allocates nothing (it runs in interrupt context too). Nobody counted asleep in the
/// channel's bucket: nothing to do. Otherwise it scans the task table once, passing
/// over (by `sleeping_on`, without their locks) the tasks asleep elsewhere, counting the
/// sleepers and finding the longest one; one sleeper (or `n == 1`) is woken at once,
/// all of them with a second pass, and fewer than all one scan per task woken.
pub fn wake_n(chan: WaitChan, n: usize) -> usize {
    // First the channel's wakeup counter, so that a task about to sleep on it either is
    // found below or sees the new count and does not sleep (sync/wait.rs).
    let key = chan.key();
    crate::sync::wait::bump_key(key);
    if n == 0 || !crate::sync::wait::may_have_sleepers(key) {
        return 0;
    }
    let key = sleep_key(key);
    let tasks = TASKS.lock();
    let asleep_on_chan = |t: &Task| {
        if t.sleeping_on.load(Ordering::SeqCst) != key {
            return None;
        }
        match t.inner.lock().state {
            TaskState::Sleeping { chan: c, seq, .. } if c == chan => Some(seq),
            _ => None,
        }
    };
    let mut sleepers = 0;
    let mut oldest: Option<(u64, &Arc<Task>)> = None;
    for t in tasks.values() {
        if let Some(seq) = asleep_on_chan(t) {
            sleepers += 1;
            if oldest.is_none_or(|(s, _)| seq < s) {
                oldest = Some((seq, t));
            }
        }
    }
    let Some((_, first)) = oldest else {
        return 0;
    };
    if sleepers == 1 || n == 1 {
        return make_runnable(first, false) as usize;
    }
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

/// What a task asleep on the channel with this `key` keeps in `sleeping_on`: never 0
/// (0 means awake).
fn sleep_key(key: u64) -> u64 {
    key | 1
}

pub use crate::sync::wait::WakeReason;

/// Puts the current task to sleep on `chan` until woken, `deadline` (ns since boot)
/// passes, or it is killed (Linux TASK_KILLABLE). `seq` is the channel's wakeup count
/// read (with `sync::wait::prepare`) before the caller checked its condition: if a
/// wakeup came since, the task does not sleep at all (a spurious wakeup for the caller).
pub fn sleep(chan: WaitChan, deadline: Option<u64>, seq: WakeSeq) -> WakeReason {
    do_sleep(chan, deadline, seq, false)
}

/// `sleep`, but a pending signal the task does not block also ends it (Linux
/// TASK_INTERRUPTIBLE): blocking reads, wait4, pause-like calls.
pub fn sleep_interruptible(chan: WaitChan, deadline: Option<u64>, seq: WakeSeq) -> WakeReason {
    do_sleep(chan, deadline, seq, true)
}

fn do_sleep(
    chan: WaitChan,
    deadline: Option<u64>,
    seq: WakeSeq,
    interruptible: bool,
) -> WakeReason {
    let cur = current();
    // Counted as a sleeper and marked with the channel's key before we mark ourselves
    // asleep and look at the wakeup counter: a waker that bumped it after our caller's
    // `prepare` either finds us or we see its bump (sync/wait.rs).
    let key = chan.key();
    crate::sync::wait::sleeper_enter(key);
    cur.sleeping_on.store(sleep_key(key), Ordering::SeqCst);
    let reason = sleep_marked(&cur, chan, deadline, seq, interruptible);
    cur.sleeping_on.store(0, Ordering::Relaxed);
    crate::sync::wait::sleeper_exit(key);
    reason
}

/// `do_sleep` once the task is counted as a sleeper on `chan`.
fn sleep_marked(
    cur: &CurrentTask,
    chan: WaitChan,
    deadline: Option<u64>,
    seq: WakeSeq,
    interruptible: bool,
) -> WakeReason {
    let signalled = |cur: &Task| interruptible && cur.sig_pending.load(Ordering::Acquire);
    let timer_key = {
        let mut inner = cur.inner.lock();
        if inner.killed.is_some() {
            return WakeReason::Killed;
        }
        // Marked asleep under our lock, which every waker (and every signal sender)
        // takes to look at our state: a waker that bumped the counter after the check
        // above will find us, and so will a signal sent after the test below.
        inner.state = TaskState::Sleeping {
            chan,
            deadline,
            seq: SLEEP_SEQ.fetch_add(1, Ordering::Relaxed),
            interruptible,
        };
        inner.woke_by_timeout = false;
        if signalled(cur) {
            inner.state = TaskState::Running;
            return WakeReason::Interrupted;
        }
        if crate::sync::wait::woken_since(chan, seq) {
            inner.state = TaskState::Running;
            return WakeReason::Woken;
        }
        // The deadline joins the timer queue while we hold our lock: its expiry
        // (`timer_tick`) cannot look at our state before we are marked asleep.
        deadline.map(|d| timer::arm_sleep(cur.tid, d))
    };
    schedule();
    if let Some(key) = timer_key {
        timer::cancel(key);
    }
    let inner = cur.inner.lock();
    if inner.killed.is_some() {
        WakeReason::Killed
    } else if inner.woke_by_timeout {
        WakeReason::Timeout
    } else if signalled(cur) {
        WakeReason::Interrupted
    } else {
        WakeReason::Woken
    }
}

/// Wakes `task` for a signal (Linux `signal_wake_up`): out of an interruptible sleep
/// (a killable one only for a kill), or, if it runs on another CPU, kicked so that it
/// notices the signal on its way back to user mode.
pub fn signal_wake_up(task: &Arc<Task>, fatal: bool) {
    let asleep = matches!(
        task.inner.lock().state,
        TaskState::Sleeping { interruptible, .. } if interruptible || fatal
    );
    if asleep {
        wake_task(task);
    } else if task.on_cpu.load(Ordering::Acquire) {
        kick(Some(task.cpu.load(Ordering::Relaxed) as usize));
    }
}

/// Gives up the CPU (sched_yield).
pub fn yield_now() {
    schedule();
}

/// Picks the next task and switches to it. The current task goes to the back of the run
/// queue if it is still runnable.
pub fn schedule() {
    debug_assert_eq!(
        ordered::held_levels(),
        0,
        "a lock is held across schedule()"
    );
    let cpu = this_cpu();
    let mut idle_kick = None;
    arch::percpu::this_cpu().clear_exit_work(arch::percpu::TIF_NEED_RESCHED);
    // The idle task is only compared with (by address) unless we switch to it: no
    // reference counted for it on every switch.
    let (prev, idle) = this_cpu_sched(|s| {
        (
            s.current.clone().expect("schedule without a current task"),
            Arc::as_ptr(s.idle.as_ref().expect("no idle task")),
        )
    });
    let is_idle = |t: &Arc<Task>| core::ptr::eq(Arc::as_ptr(t), idle);
    // prev's address space, by address only (to compare with next's): prev is this
    // CPU's running task, so nothing else changes its mm meanwhile.
    let prev_mm: *const Mm;
    let next = {
        let mut rq = RUN_QUEUE.lock();
        {
            // Running here means running on this CPU: no other CPU marks a task
            // Running before it has left the CPU it was on (below).
            let mut p = prev.inner.lock();
            if p.state == TaskState::Running {
                p.state = TaskState::Runnable;
                if !is_idle(&prev) {
                    rq.tasks.push_back(prev.clone());
                }
            }
            prev_mm = p.mm.as_ref().map_or(core::ptr::null(), Arc::as_ptr);
        }
        let next = rq.pick(cpu, &prev);
        // Work left over: another idle CPU can take it.
        if let Some(first) = rq.tasks.front() {
            let allowed = first.cpus_allowed.load(Ordering::Relaxed);
            idle_kick = rq.claim_idle_cpu(allowed);
        }
        next
    };
    let next = next.unwrap_or_else(|| this_cpu_sched(|s| s.idle.clone().expect("no idle task")));
    if Arc::ptr_eq(&prev, &next) {
        next.inner.lock().state = TaskState::Running;
        kick(idle_kick);
        return;
    }
    // Linux `try_to_wake_up`'s `smp_cond_load_acquire(&p->on_cpu, !VAL)`: the task may
    // still be switching away on its previous CPU; its registers are saved when that CPU
    // clears on_cpu (Release there, Acquire here).
    while next.on_cpu.load(Ordering::Acquire) {
        crate::sync::ordered::cpu_relax();
    }
    let next_mm = {
        let mut n = next.inner.lock();
        n.state = TaskState::Running;
        n.mm.clone()
    };
    // At once after the state: between the two, sched_setaffinity would see the task
    // neither queued nor on a CPU, and not move it (`affinity_changed`).
    next.on_cpu.store(true, Ordering::Relaxed);
    next.cpu.store(cpu as u32, Ordering::Relaxed);
    // next_mm is dropped here, not kept on this stack until prev runs again.
    switch_mm(prev_mm, next_mm.as_ref());
    drop(next_mm);
    let (prev_idle, next_idle) = (is_idle(&prev), is_idle(&next));
    if !next_idle {
        CPU_BUSY[cpu].store(true, Ordering::Relaxed);
    }
    // CPU time: prev's kernel time (or this CPU's idle time) ends, next's begins.
    crate::time::cputime::account_switch(&prev.cputime, prev_idle, &next.cputime, next_idle);
    crate::trace::sched_switch(prev.tid, next.tid);
    let threads = (prev.thread_ptr(), next.thread_ptr());
    this_cpu_sched(|s| {
        set_current(s, next);
        s.prev = Some(prev);
    });
    kick(idle_kick);
    // SAFETY: both belong to live tasks (prev is kept alive in this CPU's `prev`, next
    // in its `current`); next runs nowhere else (on_cpu); IRQs are masked, and no lock
    // is held across the switch.
    unsafe { arch::switch_to(threads.0, threads.1) };
    finish_task_switch();
}

/// Linux `switch_mm`: load the next task's TTBR0 (root | ASID). Threads of one process
/// share the Mm, so switching between them changes nothing. `prev` is the previous
/// task's Mm by address (null: none), only compared.
fn switch_mm(prev: *const Mm, next: Option<&Arc<Mm>>) {
    match next {
        Some(b) if core::ptr::eq(prev, Arc::as_ptr(b)) => {}
        Some(b) => arch::mmu::switch_ttbr0(b.ttbr()),
        // The idle task and kernel threads get the empty table, not the previous
        // task's (no "lazy TLB" as Linux has): on another CPU that process may exit and
        // free its tables, which this CPU's table walker must then never read.
        None if !prev.is_null() => arch::mmu::switch_ttbr0(crate::mm::global::empty_ttbr0()),
        None => {}
    }
}

/// Linux `finish_task_switch`: the previous task's registers are saved and this CPU is
/// off its stack, so another CPU may run it now (on_cpu); then drop the reference that
/// kept it alive.
fn finish_task_switch() {
    let (prev, now_idle) = this_cpu_sched(|s| {
        let idle = matches!((&s.current, &s.idle), (Some(c), Some(i)) if Arc::ptr_eq(c, i));
        (s.prev.take(), idle)
    });
    if let Some(p) = &prev {
        p.on_cpu.store(false, Ordering::Release);
    }
    // A CPU that passed over `prev` while it was switching away may have gone idle:
    // now that it can be taken, wake an idle CPU for it.
    if SKIPPED_ON_CPU.load(Ordering::Acquire) && SKIPPED_ON_CPU.swap(false, Ordering::AcqRel) {
        let idle_cpu = {
            let mut rq = RUN_QUEUE.lock();
            match rq.tasks.front() {
                Some(t) => {
                    let allowed = t.cpus_allowed.load(Ordering::Relaxed);
                    rq.claim_idle_cpu(allowed)
                }
                None => None,
            }
        };
        kick(idle_cpu);
    }
    drop(prev);
    if now_idle {
        CPU_BUSY[this_cpu()].store(false, Ordering::Release);
    }
}

/// Called by `ret_from_fork` (entry.S) as a new task's first Rust code.
#[unsafe(no_mangle)]
extern "C" fn schedule_tail() {
    finish_task_switch();
    set_child_tid(&current());
}

/// CLONE_CHILD_SETTID (Linux `schedule_tail`): the child writes its own tid, in its own
/// address space, before it first returns to user mode — so the word is set before any
/// of the child's code can read it. A failed write is ignored, as in Linux.
fn set_child_tid(cur: &Task) {
    let addr = cur.inner.lock().set_child_tid;
    if addr != 0 {
        let _ = crate::mm::uaccess::put_user_u32(addr, cur.tid);
    }
}

/// Called on every return to EL0: reschedule if the tick asked for it, and die if a
/// fatal signal is pending.
/// Whether this CPU was asked to reschedule (Linux `need_resched`): TIF_NEED_RESCHED in
/// this CPU's exit-work word (arch percpu.rs), set by the tick or a reschedule IPI on
/// this CPU, cleared by `schedule`, and tested with the rest of the work on every
/// return to user mode.
#[inline(always)]
pub fn need_resched() -> bool {
    arch::percpu::this_cpu().exit_work() & arch::percpu::TIF_NEED_RESCHED != 0
}

pub fn prepare_exit_to_user() {
    loop {
        if current().kill_pending.load(Ordering::Relaxed) {
            super::exit::do_exit_killed();
        }
        if !need_resched() {
            return;
        }
        schedule();
    }
}

/// The timer interrupt, on any CPU (time/timer.rs): wake the sleepers and fire the
/// process timers whose deadline passed, charge the running process's CPU timers, ask
/// for a reschedule if a task waits for this CPU, and program the next interrupt — with
/// a tick only while this CPU has to share itself or count CPU timers.
pub fn timer_tick(now_ns: u64) {
    let cpu = this_cpu();
    while let Some(expired) = timer::pop_expired(now_ns) {
        match expired {
            timer::Expired::Wake(tid) => {
                // Only the sleep that armed this deadline: the task may have woken and
                // gone back to sleep with another since.
                if let Some(t) = find_task(tid) {
                    let due = matches!(t.inner.lock().state, TaskState::Sleeping { deadline: Some(d), .. } if d <= now_ns);
                    if due {
                        make_runnable(&t, true);
                    }
                }
            }
            timer::Expired::Signal(fire) => send_timer_signal(fire),
        }
    }
    let cur = current();
    let is_idle = this_cpu_sched(
        |s| matches!((&s.current, &s.idle), (Some(c), Some(i)) if Arc::ptr_eq(c, i)),
    );
    let cpu_timers = !is_idle && crate::time::itimer::cpu_timers_armed(cur.tgid);
    if cpu_timers {
        let t = super::group_cputime(cur.tgid).0;
        let due = crate::time::itimer::check_cpu_timers(cur.tgid, [t.user, t.total()]);
        for fire in due.into_iter().flatten() {
            send_timer_signal(fire);
        }
    }
    let share = RUN_QUEUE.lock().has_work_for(cpu);
    if share {
        arch::percpu::this_cpu().set_exit_work(arch::percpu::TIF_NEED_RESCHED);
    }
    timer::program(now_ns, !is_idle && (share || cpu_timers));
}

/// An interval or POSIX timer expired: its signal (Linux `it_real_fn`,
/// `posix_timer_event`). A target that has gone meanwhile is not an error.
fn send_timer_signal(fire: crate::time::itimer::Fire) {
    use super::signal::{SigInfo, send_to_process, send_to_thread};
    use crate::time::itimer::Target;
    let info = match fire.posix {
        Some((id, overrun, value)) => SigInfo::timer(fire.signo, id, overrun, value),
        None => SigInfo::kernel(fire.signo),
    };
    let _ = match fire.target {
        Target::Process(tgid) => send_to_process(tgid, info),
        Target::Thread(tid) => send_to_thread(tid, info),
    };
}

/// A reschedule IPI arrived: another CPU queued work for us (or wants a task running
/// here to notice a kill or a changed affinity).
pub fn reschedule_ipi() {
    arch::percpu::this_cpu().set_exit_work(arch::percpu::TIF_NEED_RESCHED);
    // Work was queued for a CPU that runs a task with its tick stopped (`enqueue`): tick
    // again until the next tick finds nothing left to share. An idle CPU needs no tick:
    // it schedules the work as soon as this interrupt returns to its idle loop.
    let idle = this_cpu_sched(
        |s| matches!((&s.current, &s.idle), (Some(c), Some(i)) if Arc::ptr_eq(c, i)),
    );
    if !idle {
        timer::restart_tick();
    }
}

/// Moves `task` off CPUs its new affinity forbids (sched_setaffinity): the running
/// task itself switches away now; a task running on another CPU is kicked there.
pub fn affinity_changed(task: &Arc<Task>) {
    let allowed = task.cpus_allowed.load(Ordering::Relaxed);
    if core::ptr::eq(Arc::as_ptr(task), &*current()) {
        while allowed & (1 << this_cpu()) == 0 {
            schedule();
        }
    } else if task.on_cpu.load(Ordering::Acquire) {
        let cpu = task.cpu.load(Ordering::Relaxed) as usize;
        if allowed & (1 << cpu) == 0 {
            kick(Some(cpu));
        }
    }
}

/// Every other CPU runs its idle task and has finished switching to it (an exiting
/// thread, already gone from TASKS, may still be on its way off a CPU; its kernel stack
/// is freed only then, and the shutdown's leak check must not see it).
fn other_cpus_idle() -> bool {
    let me = this_cpu();
    (0..MAX_CPUS)
        .filter(|&c| c != me)
        .all(|c| !CPU_BUSY[c].load(Ordering::Acquire))
}

/// The idle task's loop: run whatever is runnable, otherwise wait for an interrupt. On
/// the boot CPU it returns init's wait status once init has exited and every other task
/// is gone (the boot code then powers the machine off); the other CPUs idle for ever.
pub fn idle_loop() -> u32 {
    let cpu = this_cpu();
    loop {
        schedule();
        if cpu == 0
            && let Some(status) = super::exit::init_exit_status()
            && TASKS
                .lock()
                .values()
                .all(|t| matches!(t.inner.lock().state, TaskState::Zombie | TaskState::Dead))
            && other_cpus_idle()
        {
            return status;
        }
        {
            let mut rq = RUN_QUEUE.lock();
            if rq.has_work_for(cpu) {
                continue;
            }
            // From here a wakeup that queues work for us sends an IPI, which ends the
            // `wfi` (a pending interrupt wakes it even while masked).
            rq.idle_cpus |= 1 << cpu;
        }
        // No tick while idle: the timer fires only for the next deadline queued. But
        // once init has exited, the boot CPU polls with the tick for the last tasks to
        // get off their CPUs (nothing else would wake it to power off).
        let shutting_down = cpu == 0 && super::exit::init_exit_status().is_some();
        timer::program(crate::time::monotonic_ns(), shutting_down);
        arch::wait_for_interrupt();
        RUN_QUEUE.lock().idle_cpus &= !(1 << cpu);
    }
}
