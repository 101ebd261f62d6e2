//! Readiness of open files and waiting for it (Linux fs/select.c `vfs_poll`,
//! `do_poll`, `do_select`, and each file's `->poll`): what ppoll, pselect6 and epoll
//! (fs/epoll.rs) ask of a file — "could a read or write go ahead without blocking?" —
//! and the loop that waits until one can.
//!
//! | file | readiness (Linux 6.1, checked with linux-oracle.sh) |
//! |---|---|
//! | pipe, FIFO (fs/pipe.rs) | IN+RDNORM with data, HUP with no writer; OUT+WRNORM with a free buffer, ERR with no reader |
//! | eventfd (fs/eventfd.rs) | IN when the counter is > 0, OUT below 0xffff_ffff_ffff_fffe, ERR at the maximum |
//! | epoll (fs/epoll.rs) | IN+RDNORM when an event is waiting |
//! | the console | IN+RDNORM when a line (raw: VMIN bytes) is waiting; OUT+WRNORM always (tty/tty_io.rs `poll`) |
//! | regular files, directories, /dev/null, ... | always IN+OUT+RDNORM+WRNORM (`DEFAULT_POLLMASK`) |
//!
//! Files of the last row have no `->poll` on Linux: epoll refuses them (EPERM).
//!
//! A file's readiness also carries two counters that move whenever its input or
//! output side changes (Linux: a wakeup of its wait queue), which is how epoll's
//! edge-triggered mode tells a new event from an old one.
//!
//! Waiting: a poller sleeps on the single channel `WaitChan::Poll`, which every wakeup of
//! a pipe, eventfd or tty also signals while someone polls; it then looks at all its
//! files again (sync/wait.rs, "Waiting on many channels", and docs/poll.md):
//!
//! ```text
//!   wait_events:  Poller::enter ─► prepare(Poll) ─► scan files ─► ready? return
//!                       ▲                                          │ no
//!                       └──── woken (any pollable wakeup) ◄── sleep(Poll, deadline)
//! ```

use super::file::{File, FileKind};
use super::inode::Kind;
use crate::error::{Errno, KResult};
use crate::sync::wait::{self, WaitChan, WakeReason};

/// Event bits (include/uapi/asm-generic/poll.h; epoll's EPOLL* are the same values).
pub const POLLIN: u32 = 0x001;
pub const POLLPRI: u32 = 0x002;
pub const POLLOUT: u32 = 0x004;
pub const POLLERR: u32 = 0x008;
pub const POLLHUP: u32 = 0x010;
pub const POLLNVAL: u32 = 0x020;
pub const POLLRDNORM: u32 = 0x040;
pub const POLLRDBAND: u32 = 0x080;
pub const POLLWRNORM: u32 = 0x100;
pub const POLLWRBAND: u32 = 0x200;
pub const POLLMSG: u32 = 0x400;
pub const POLLRDHUP: u32 = 0x2000;

/// What a file without a `->poll` reports: it never blocks (Linux `DEFAULT_POLLMASK`).
pub const DEFAULT_POLLMASK: u32 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/// select's three sets (Linux `POLLIN_SET`, `POLLOUT_SET`, `POLLEX_SET`): a descriptor is
/// readable when its mask has one of the first, and so on.
pub const POLLIN_SET: u32 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
pub const POLLOUT_SET: u32 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
pub const POLLEX_SET: u32 = POLLPRI;

/// The events that count as the input side, for the edge counters.
pub const INPUT_EVENTS: u32 = POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND | POLLRDHUP;
/// ... and the output side.
pub const OUTPUT_EVENTS: u32 = POLLOUT | POLLWRNORM | POLLWRBAND;

/// A file's readiness: the event mask and the two change counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    pub mask: u32,
    /// Moves when the input side changes (Linux: a wakeup with EPOLLIN, or with no key).
    pub in_gen: u64,
    /// Moves when the output side changes.
    pub out_gen: u64,
}

impl Readiness {
    /// Always ready, never changing: a file without `->poll`.
    pub const fn always(mask: u32) -> Readiness {
        Readiness {
            mask,
            in_gen: 0,
            out_gen: 0,
        }
    }

    /// The change counter of the side(s) `events` asks about (what epoll's
    /// edge-triggered mode compares): Linux's `ep_poll_callback` ignores a wakeup whose
    /// key has none of the item's events.
    pub fn gen_for(&self, events: u32) -> u64 {
        let mut g = 0u64;
        if events & INPUT_EVENTS != 0 {
            g = g.wrapping_add(self.in_gen);
        }
        if events & OUTPUT_EVENTS != 0 {
            g = g.wrapping_add(self.out_gen.rotate_left(32));
        }
        if events & (INPUT_EVENTS | OUTPUT_EVENTS) == 0 {
            // Only errors and hang-ups: those come with wakeups of either side.
            g = self.in_gen.wrapping_add(self.out_gen.rotate_left(32));
        }
        g
    }
}

/// Nesting of epoll instances polled inside each other (Linux `EP_MAX_NESTS`).
pub const EP_MAX_NESTS: usize = 4;

/// Linux `file_can_poll`: whether the file has a `->poll` (epoll_ctl refuses the others
/// with EPERM).
pub fn can_poll(file: &File) -> bool {
    match &file.kind {
        FileKind::Console
        | FileKind::PipeRead(_)
        | FileKind::PipeWrite(_)
        | FileKind::Fifo { .. }
        | FileKind::Eventfd(_)
        | FileKind::Epoll(_) => true,
        FileKind::Inode(i) => {
            matches!(i.kind, Kind::CharDev) && super::dev::is_console(i.data.lock().rdev)
        }
    }
}

/// Linux `vfs_poll`: the file's readiness now.
pub fn vfs_poll(file: &File) -> Readiness {
    poll_nested(file, 0)
}

/// `vfs_poll` from inside `depth` epoll instances.
pub fn poll_nested(file: &File, depth: usize) -> Readiness {
    match &file.kind {
        FileKind::PipeRead(p) | FileKind::PipeWrite(p) => {
            p.poll(file.readable(), file.writable(), 0)
        }
        FileKind::Fifo {
            pipe, w_version, ..
        } => pipe.poll(file.readable(), file.writable(), *w_version),
        FileKind::Eventfd(e) => e.poll(),
        FileKind::Epoll(ep) => ep.poll(depth),
        FileKind::Console => super::dev::console_poll(),
        FileKind::Inode(i) => match i.kind {
            Kind::CharDev if super::dev::is_console(i.data.lock().rdev) => {
                super::dev::console_poll()
            }
            _ => Readiness::always(DEFAULT_POLLMASK),
        },
    }
}

/// Linux `do_pollfd`'s filter: poll reports the asked-for events, and errors and
/// hang-ups always.
pub fn poll_filter(mask: u32, events: u16) -> u16 {
    (mask & (events as u32 | POLLERR | POLLHUP)) as u16
}

/// How long a wait may last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timeout {
    /// No timeout: until something is ready or a signal comes.
    Forever,
    /// A zero timeout: look once, never sleep.
    NoWait,
    /// Until this time (ns since boot, `time::monotonic_ns`).
    Until(u64),
}

/// What ended `wait_events`.
#[derive(Debug, PartialEq, Eq)]
pub enum Waited<T> {
    Ready(T),
    TimedOut,
    /// A signal the task does not block is pending (the caller picks the errno).
    Signal,
}

/// Linux `do_poll`/`do_select`/`ep_poll`'s loop: runs `scan` (which looks at every file
/// and returns what it found, if anything) until it finds something, the timeout
/// passes, or a signal comes. `signal_first` says whether a pending signal ends the
/// wait even when there is no time to wait (poll and select check it after every empty
/// scan; epoll only before sleeping). A fatal signal is EINTR.
pub fn wait_events<T>(
    timeout: Timeout,
    signal_first: &dyn Fn() -> bool,
    mut scan: impl FnMut() -> KResult<Option<T>>,
) -> KResult<Waited<T>> {
    let _poller = wait::Poller::enter();
    let mut timed_out = timeout == Timeout::NoWait;
    loop {
        // Read before the scan: a change the scan misses bumps it (sync/wait.rs).
        let seq = wait::prepare(WaitChan::Poll);
        if let Some(found) = scan()? {
            return Ok(Waited::Ready(found));
        }
        if signal_first() {
            return Ok(Waited::Signal);
        }
        if timed_out {
            return Ok(Waited::TimedOut);
        }
        let deadline = match timeout {
            Timeout::Until(d) if crate::time::monotonic_ns() >= d => {
                timed_out = true;
                continue; // one last look, as Linux does after its timer fired
            }
            Timeout::Until(d) => Some(d),
            _ => None,
        };
        match wait::sleep_interruptible(WaitChan::Poll, deadline, seq) {
            WakeReason::Killed => return Err(Errno::EINTR),
            WakeReason::Interrupted => return Ok(Waited::Signal),
            WakeReason::Timeout => timed_out = true,
            WakeReason::Woken => {}
        }
    }
}

/// The time left until `deadline` (what ppoll and pselect6 write back), 0 if past.
pub fn time_left(deadline: u64, now: u64) -> u64 {
    deadline.saturating_sub(now)
}

/// A timeout in ns as a deadline from `now`: zero is "do not wait" (Linux
/// `poll_select_set_timeout`).
pub fn timeout_from_ns(ns: u64, now: u64) -> Timeout {
    if ns == 0 {
        Timeout::NoWait
    } else {
        Timeout::Until(now.saturating_add(ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_reports_asked_events_and_always_errors() {
        assert_eq!(poll_filter(DEFAULT_POLLMASK, POLLIN as u16), POLLIN as u16);
        assert_eq!(
            poll_filter(POLLOUT | POLLERR, POLLIN as u16),
            POLLERR as u16
        );
        assert_eq!(poll_filter(POLLHUP, 0), POLLHUP as u16);
        assert_eq!(poll_filter(POLLIN, 0), 0);
    }

    #[test]
    fn select_sets() {
        // A pipe's read end with no writer is readable (POLLHUP); a write end with no
        // reader is writable (POLLERR), as on Linux.
        assert_ne!(POLLHUP & POLLIN_SET, 0);
        assert_ne!(POLLERR & POLLOUT_SET, 0);
        assert_eq!(POLLNVAL & (POLLIN_SET | POLLOUT_SET | POLLEX_SET), 0);
    }

    #[test]
    fn edge_counters_follow_the_asked_side() {
        let r = Readiness {
            mask: POLLIN,
            in_gen: 3,
            out_gen: 5,
        };
        let mut w = r;
        w.out_gen += 1;
        assert_eq!(r.gen_for(POLLIN), w.gen_for(POLLIN), "output change unseen");
        assert_ne!(r.gen_for(POLLIN | POLLOUT), w.gen_for(POLLIN | POLLOUT));
        assert_ne!(r.gen_for(POLLERR | POLLHUP), w.gen_for(POLLERR | POLLHUP));
    }

    #[test]
    fn timeouts() {
        assert_eq!(timeout_from_ns(0, 100), Timeout::NoWait);
        assert_eq!(timeout_from_ns(5, 100), Timeout::Until(105));
        assert_eq!(timeout_from_ns(u64::MAX, 100), Timeout::Until(u64::MAX));
        assert_eq!(time_left(105, 200), 0);
        assert_eq!(time_left(300, 200), 100);
    }
}
