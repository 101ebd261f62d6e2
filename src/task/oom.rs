//! Out of memory (Linux: mm/oom_kill.c `out_of_memory`, `select_bad_process`,
//! `oom_kill_process`). When a page fault cannot get a frame, the kernel does not kill
//! whoever happened to fault: it kills the process using the most memory — never init —
//! and the faulting process retries once that memory is back.

use core::sync::atomic::Ordering;

use super::sched::{self, TASKS, current};
use super::signal::SIGKILL;
use super::{TaskState, exit};

/// What the faulting task should do after `out_of_memory`.
#[derive(Debug, PartialEq, Eq)]
pub enum OomOutcome {
    /// Another process was killed (or is already dying): retry the access.
    Retry,
    /// The faulting process itself was chosen: it dies.
    KilledCurrent,
}

/// Linux `out_of_memory`: picks a victim by resident size, kills it, and lets it run to
/// its end before the caller retries.
pub fn out_of_memory() -> OomOutcome {
    // Killed meanwhile (perhaps chosen by another CPU's out_of_memory): stop retrying
    // and die, which is what frees memory. Retrying would wait for the other victims,
    // which may be waiting for us: a livelock of faulting victims.
    if current().kill_pending.load(Ordering::Acquire) {
        return OomOutcome::KilledCurrent;
    }
    let me = current().tgid;
    // A victim chosen earlier is still on its way out: wait for its memory (Linux aborts
    // the selection while a victim has TIF_MEMDIE).
    let dying = TASKS.lock().values().any(|t| {
        t.tgid != me
            && t.kill_pending.load(Ordering::Relaxed)
            && !matches!(t.inner.lock().state, TaskState::Zombie | TaskState::Dead)
    });
    if dying {
        sched::yield_now();
        return OomOutcome::Retry;
    }
    let Some((victim, pages)) = select_bad_process() else {
        crate::println!("kernel: out of memory, and no process but init to kill");
        exit::kill_group(current().tgid, exit::killed_status(SIGKILL));
        return OomOutcome::KilledCurrent;
    };
    if let Some(t) = sched::find_task(victim) {
        crate::println!(
            "kernel: Out of memory: killed process {} ({}), anon-rss:{}kB",
            victim,
            t.inner.lock().name,
            pages * 4
        );
    }
    exit::kill_group(victim, exit::killed_status(SIGKILL));
    if victim == me {
        return OomOutcome::KilledCurrent;
    }
    sched::yield_now(); // let the victim run to its exit
    OomOutcome::Retry
}

/// Linux `select_bad_process`: the thread group with the most resident pages, except
/// init and groups already exiting. Returns (tgid, pages). Allocates nothing: memory is
/// short.
fn select_bad_process() -> Option<(u32, usize)> {
    let mut best: Option<(u32, usize)> = None;
    for t in TASKS.lock().values() {
        if !t.is_group_leader() || t.tgid == 1 || t.kill_pending.load(Ordering::Relaxed) {
            continue;
        }
        let Some(mm) = t.inner.lock().mm.clone() else {
            continue;
        };
        let pages = mm.with(|space, _| space.resident_pages());
        if best.is_none_or(|(_, p)| pages > p) {
            best = Some((t.tgid, pages));
        }
    }
    best
}
