//! epoll (Linux fs/eventpoll.c): an open file holding an *interest list* — the files a
//! process watches, each with the events it wants and 8 bytes of its own data — and
//! epoll_pwait, which returns the ready ones.
//!
//! Linux hooks each watched file's wait queues with a callback that moves the item to
//! a ready list. Here, simpler: epoll_pwait sleeps as every poller does (fs/poll.rs,
//! on `WaitChan::Poll`) and, woken, polls its items again:
//!
//! ```text
//!  Epoll ── interest: [ item{id 1, fd 4, Weak<File>, IN|ET, data, reported},
//!                       item{id 2, fd 7, Weak<File>, OUT|ONESHOT, ...}, ... ]  (by id)
//!  epoll_pwait: from the item after the last one reported, round the list:
//!    poll the file ─► mask & events ─► ready? (ET: changed since reported?) ─► report
//! ```
//!
//! * **Level-triggered** (default): an item is reported whenever its file is ready.
//! * **EPOLLET**: only when its file changed (the side of it the item asks about,
//!   `Readiness::gen_for`) since it was last reported — Linux's "a wakeup put it on the
//!   ready list again".
//! * **EPOLLONESHOT**: once; then the item is disabled until EPOLL_CTL_MOD.
//! * **EPOLLEXCLUSIVE**: accepted with Linux's rules; every waiter wakes (Linux promises
//!   "one or more").
//!
//! An item holds its file weakly: when the file's last descriptor is closed, the file
//! goes away and so does the item (Linux `eventpoll_release`) — here when a scan finds
//! it gone. Items are kept sorted by id, so a scan can go on from "the item after id N"
//! while other threads add and delete. The watches of all instances are bounded as
//! Linux's max_user_watches (4% of memory).

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicUsize, Ordering};

use super::file::{File, FileKind};
use super::poll::{self, EP_MAX_NESTS, POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDNORM, Readiness};
use crate::error::{Errno, KResult};
use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;
use crate::sync::wait;

pub const EPOLL_CTL_ADD: i32 = 1;
pub const EPOLL_CTL_DEL: i32 = 2;
pub const EPOLL_CTL_MOD: i32 = 3;

pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
pub const EPOLLWAKEUP: u32 = 1 << 29;
pub const EPOLLONESHOT: u32 = 1 << 30;
pub const EPOLLET: u32 = 1 << 31;
/// The bits that are modes, not events (Linux `EP_PRIVATE_BITS`).
const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// What an EPOLLEXCLUSIVE item may ask for (Linux `EPOLLEXCLUSIVE_OK_BITS`).
const EPOLLEXCLUSIVE_OK_BITS: u32 =
    POLLIN | POLLOUT | POLLERR | POLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE;

/// One watched file (Linux `struct epitem`), identified by the file and the descriptor
/// it was added through.
#[derive(Clone)]
struct Item {
    /// Increasing in the list: where a scan is.
    id: u64,
    fd: i32,
    file: Weak<File>,
    /// Events asked for, with EPOLLERR|EPOLLHUP and the mode bits; a fired ONESHOT item
    /// keeps only the mode bits.
    events: u32,
    data: u64,
    /// EPOLLET: the file's change counter when last reported (None: report it when ready).
    reported: Option<u64>,
}

impl Item {
    fn same(&self, file: &Arc<File>, fd: i32) -> bool {
        self.fd == fd && core::ptr::eq(self.file.as_ptr(), Arc::as_ptr(file))
    }
}

#[derive(Default)]
struct Interest {
    items: Vec<Item>,
    next_id: u64,
    /// The id of the item last reported: the next scan starts after it (Linux moves
    /// reported level-triggered items to the back of its ready list).
    cursor: u64,
    /// Changes of the list (for the epoll file's own edge counter).
    changes: u64,
}

impl Interest {
    fn position(&self, id: u64) -> Option<usize> {
        self.items.binary_search_by_key(&id, |i| i.id).ok()
    }

    /// The first item with an id above `after` (and at most `upto`).
    fn next_after(&self, after: u64, upto: u64) -> Option<Item> {
        let at = self.items.partition_point(|i| i.id <= after);
        self.items.get(at).filter(|i| i.id <= upto).cloned()
    }
}

/// An epoll instance (Linux `struct eventpoll`).
pub struct Epoll {
    interest: OrderedMutex<Interest>,
}

/// Watches of every epoll instance (Linux counts them per user; everyone is root).
static WATCHES: AtomicUsize = AtomicUsize::new(0);

/// Linux `max_user_watches`: 4% of memory, divided by what one watch costs.
fn max_user_watches() -> usize {
    #[cfg(target_os = "none")]
    {
        let frames = crate::mm::global::frames();
        let bytes = (frames.in_use() + frames.free_frames()) * crate::mm::frame::PAGE_SIZE;
        bytes / 25 / size_of::<Item>()
    }
    #[cfg(not(target_os = "none"))]
    {
        1000
    }
}

/// What a scan does with a ready item.
enum Scan<'a> {
    /// Only tells whether one is ready (poll of the epoll file); sums the counters.
    Peek { stamp: &'a mut u64 },
    /// Reports it (epoll_pwait): `emit(events, data)` copies it out; false if it could
    /// not, and the item is then left as it was.
    Report {
        max: usize,
        emit: &'a mut dyn FnMut(u32, u64) -> bool,
    },
}

impl Epoll {
    pub fn new() -> Epoll {
        Epoll {
            interest: OrderedMutex::new(Level::Process, Interest::default()),
        }
    }

    /// Linux `do_epoll_ctl` once both descriptors are found: `target` is open on `fd`,
    /// `event` the `struct epoll_event` (events, data) for ADD and MOD.
    pub fn ctl(
        &self,
        op: i32,
        fd: i32,
        target: &Arc<File>,
        event: Option<(u32, u64)>,
    ) -> KResult<()> {
        if !poll::can_poll(target) {
            return Err(Errno::EPERM);
        }
        let target_ep = match &target.kind {
            FileKind::Epoll(e) => Some(e),
            _ => None,
        };
        if target_ep.is_some_and(|e| core::ptr::eq(e, self)) {
            return Err(Errno::EINVAL); // an instance cannot watch itself
        }
        let events = event.map_or(0, |e| e.0);
        if event.is_some() && events & EPOLLEXCLUSIVE != 0 {
            // Exclusive wakeups are set up at ADD only, and not for nested instances.
            if op == EPOLL_CTL_MOD
                || (op == EPOLL_CTL_ADD
                    && (target_ep.is_some() || events & !EPOLLEXCLUSIVE_OK_BITS != 0))
            {
                return Err(Errno::EINVAL);
            }
        }
        if op == EPOLL_CTL_ADD
            && let Some(tep) = target_ep
            && reaches(tep, self, 0)
        {
            return Err(Errno::ELOOP); // a cycle, or nested too deep (Linux `ep_loop_check`)
        }
        let mut it = self.interest.lock();
        let found = it.items.iter().position(|i| i.same(target, fd));
        match (op, found, event) {
            (EPOLL_CTL_ADD, Some(_), _) => return Err(Errno::EEXIST),
            (EPOLL_CTL_ADD, None, Some((events, data))) => {
                if WATCHES.load(Ordering::Relaxed) >= max_user_watches() {
                    return Err(Errno::ENOSPC);
                }
                it.items.try_reserve(1).map_err(|_| Errno::ENOMEM)?;
                let id = it.next_id + 1;
                it.next_id = id;
                it.items.push(Item {
                    id,
                    fd,
                    file: Arc::downgrade(target),
                    events: events | POLLERR | POLLHUP,
                    data,
                    reported: None,
                });
                WATCHES.fetch_add(1, Ordering::Relaxed);
            }
            (EPOLL_CTL_DEL, Some(at), _) => {
                it.items.remove(at);
                WATCHES.fetch_sub(1, Ordering::Relaxed);
            }
            (EPOLL_CTL_MOD, Some(at), Some((events, data))) => {
                let item = &mut it.items[at];
                if item.events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                item.events = events | POLLERR | POLLHUP;
                item.data = data;
                item.reported = None; // Linux polls it again and queues it if ready
            }
            (EPOLL_CTL_DEL | EPOLL_CTL_MOD, None, _) => return Err(Errno::ENOENT),
            _ => return Err(Errno::EINVAL),
        }
        it.changes += 1;
        drop(it);
        // A waiter may now have something to report (or to stop watching).
        wait::wake_pollers();
        Ok(())
    }

    /// Linux `ep_eventpoll_poll`: readable when an item is ready to be reported.
    pub fn poll(&self, depth: usize) -> Readiness {
        if depth > EP_MAX_NESTS {
            return Readiness::default();
        }
        let mut stamp = self.interest.lock().changes;
        let ready = self.scan(depth, Scan::Peek { stamp: &mut stamp }) > 0;
        Readiness {
            mask: if ready { POLLIN | POLLRDNORM } else { 0 },
            in_gen: stamp,
            out_gen: 0,
        }
    }

    /// One pass of epoll_pwait (Linux `ep_send_events`): reports up to `max` ready items
    /// through `emit(events, data)`; returns how many.
    pub fn report(&self, max: usize, emit: &mut dyn FnMut(u32, u64) -> bool) -> usize {
        self.scan(0, Scan::Report { max, emit })
    }

    /// Goes once round the items, from the one after the cursor; see `Scan`.
    fn scan(&self, depth: usize, mut mode: Scan) -> usize {
        let start = self.interest.lock().cursor;
        let mut found = 0;
        let mut dead = false;
        // First the items after the cursor, then those up to it.
        for (mut after, upto) in [(start, u64::MAX), (0, start)] {
            loop {
                let Some(item) = self.interest.lock().next_after(after, upto) else {
                    break;
                };
                after = item.id;
                // Polled with no lock held: a pipe takes its own, and dropping the last
                // reference to a file (closed meanwhile) may wake tasks.
                let Some(file) = item.file.upgrade() else {
                    dead = true;
                    continue;
                };
                let r = poll::poll_nested(&file, depth + 1);
                drop(file);
                let revents = r.mask & item.events & !EP_PRIVATE_BITS;
                let stamp = r.gen_for(item.events);
                match &mut mode {
                    Scan::Peek { stamp: sum } => {
                        **sum = sum.wrapping_add(stamp);
                        let fresh = item.events & EPOLLET == 0 || item.reported != Some(stamp);
                        if revents != 0 && fresh {
                            found += 1;
                        }
                    }
                    Scan::Report { max, emit } => {
                        if revents != 0 && self.take(&item, stamp, revents, emit) {
                            found += 1;
                            if found == *max {
                                if dead {
                                    self.prune();
                                }
                                return found;
                            }
                        }
                    }
                }
            }
        }
        if dead {
            self.prune();
        }
        found
    }

    /// Reports `item` if no one else did meanwhile: marks it (ET: this change reported;
    /// ONESHOT: disabled), copies it out, and undoes the mark if the copy failed.
    fn take(
        &self,
        item: &Item,
        stamp: u64,
        revents: u32,
        emit: &mut dyn FnMut(u32, u64) -> bool,
    ) -> bool {
        let edge = item.events & EPOLLET != 0;
        if edge && item.reported == Some(stamp) {
            return false;
        }
        let marked = {
            let mut it = self.interest.lock();
            let Some(at) = it.position(item.id) else {
                return false;
            };
            let now = &mut it.items[at];
            // Changed since we looked (MOD, or another waiter took it): leave it.
            if now.events != item.events || now.reported != item.reported {
                return false;
            }
            if edge {
                now.reported = Some(stamp);
            }
            if now.events & EPOLLONESHOT != 0 {
                now.events &= EP_PRIVATE_BITS;
            }
            let marked = (now.events, now.reported);
            it.cursor = item.id;
            marked
        };
        if emit(revents, item.data) {
            return true;
        }
        let mut it = self.interest.lock();
        if let Some(at) = it.position(item.id) {
            let now = &mut it.items[at];
            if (now.events, now.reported) == marked {
                now.events = item.events;
                now.reported = item.reported;
            }
        }
        false
    }

    /// Drops the items whose file has gone away.
    fn prune(&self) {
        let mut it = self.interest.lock();
        let before = it.items.len();
        it.items.retain(|i| i.file.strong_count() > 0);
        WATCHES.fetch_sub(before - it.items.len(), Ordering::Relaxed);
    }

    /// Number of items (for tests and /proc).
    pub fn len(&self) -> usize {
        self.interest.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for Epoll {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        WATCHES.fetch_sub(self.interest.get_mut().items.len(), Ordering::Relaxed);
    }
}

/// Linux `ep_loop_check`: whether `from`, or an instance it watches (to the nesting
/// limit), is `to` — then adding `from` to `to` would make a cycle.
fn reaches(from: &Epoll, to: &Epoll, depth: usize) -> bool {
    if depth > EP_MAX_NESTS {
        return true;
    }
    let mut after = 0;
    loop {
        let Some(item) = from.interest.lock().next_after(after, u64::MAX) else {
            return false;
        };
        after = item.id;
        let Some(file) = item.file.upgrade() else {
            continue;
        };
        let hit = match &file.kind {
            FileKind::Epoll(e) => core::ptr::eq(e, to) || reaches(e, to, depth + 1),
            _ => false,
        };
        drop(file);
        if hit {
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::eventfd::Eventfd;
    use crate::fs::file::{KernelDst, KernelSrc, O_RDWR};

    fn eventfd() -> Arc<File> {
        Arc::new(File::new(FileKind::Eventfd(Eventfd::new(0, false)), O_RDWR))
    }

    fn epoll() -> Arc<File> {
        Arc::new(File::new(FileKind::Epoll(Epoll::new()), O_RDWR))
    }

    fn ep(f: &Arc<File>) -> &Epoll {
        match &f.kind {
            FileKind::Epoll(e) => e,
            _ => unreachable!(),
        }
    }

    fn post(f: &Arc<File>, v: u64) {
        let FileKind::Eventfd(e) = &f.kind else {
            unreachable!()
        };
        let b = v.to_ne_bytes();
        e.write(&mut KernelSrc { data: &b, pos: 0 }, true).unwrap();
    }

    fn drain(f: &Arc<File>) {
        let FileKind::Eventfd(e) = &f.kind else {
            unreachable!()
        };
        let mut b = [0u8; 8];
        let _ = e.read(
            &mut KernelDst {
                buf: &mut b,
                pos: 0,
            },
            true,
        );
    }

    /// The (events, data) pairs one epoll_wait returns.
    fn wait(e: &Arc<File>, max: usize) -> std::vec::Vec<(u32, u64)> {
        let mut out = std::vec::Vec::new();
        ep(e).report(max, &mut |ev, d| {
            out.push((ev, d));
            true
        });
        out
    }

    #[test]
    fn ctl_errors() {
        let e = epoll();
        let a = eventfd();
        assert_eq!(ep(&e).ctl(EPOLL_CTL_ADD, 5, &a, Some((POLLIN, 1))), Ok(()));
        let again = ep(&e).ctl(EPOLL_CTL_ADD, 5, &a, Some((POLLIN, 1)));
        assert_eq!(again, Err(Errno::EEXIST));
        assert_eq!(
            ep(&e).ctl(EPOLL_CTL_ADD, 6, &a, Some((POLLIN, 1))),
            Ok(()),
            "dup"
        );
        assert_eq!(
            ep(&e).ctl(EPOLL_CTL_MOD, 7, &a, Some((0, 0))),
            Err(Errno::ENOENT)
        );
        assert_eq!(ep(&e).ctl(EPOLL_CTL_DEL, 6, &a, None), Ok(()));
        assert_eq!(ep(&e).ctl(EPOLL_CTL_DEL, 6, &a, None), Err(Errno::ENOENT));
        assert_eq!(
            ep(&e).ctl(EPOLL_CTL_ADD, 3, &e, Some((POLLIN, 0))),
            Err(Errno::EINVAL)
        );
        let excl = Some((POLLIN | EPOLLEXCLUSIVE, 0));
        assert_eq!(ep(&e).ctl(EPOLL_CTL_MOD, 5, &a, excl), Err(Errno::EINVAL));
        let bad = Some((POLLIN | POLLRDNORM | EPOLLEXCLUSIVE, 0));
        assert_eq!(ep(&e).ctl(EPOLL_CTL_ADD, 8, &a, bad), Err(Errno::EINVAL));
        assert_eq!(ep(&e).ctl(EPOLL_CTL_ADD, 8, &a, excl), Ok(()));
        let m = Some((POLLIN, 0));
        assert_eq!(ep(&e).ctl(EPOLL_CTL_MOD, 8, &a, m), Err(Errno::EINVAL));
        assert_eq!(ep(&e).ctl(9, 5, &a, m), Err(Errno::EINVAL));
    }

    #[test]
    fn level_edge_oneshot() {
        let e = epoll();
        let (lt, et, one) = (eventfd(), eventfd(), eventfd());
        ep(&e)
            .ctl(EPOLL_CTL_ADD, 3, &lt, Some((POLLIN, 10)))
            .unwrap();
        ep(&e)
            .ctl(EPOLL_CTL_ADD, 4, &et, Some((POLLIN | EPOLLET, 20)))
            .unwrap();
        let one_ev = Some((POLLIN | EPOLLONESHOT, 30));
        ep(&e).ctl(EPOLL_CTL_ADD, 5, &one, one_ev).unwrap();
        assert!(wait(&e, 8).is_empty());
        assert_eq!(vfs(&e), 0);
        post(&lt, 1);
        post(&et, 1);
        post(&one, 1);
        assert_eq!(vfs(&e), POLLIN | POLLRDNORM);
        assert_eq!(wait(&e, 8), [(POLLIN, 10), (POLLIN, 20), (POLLIN, 30)]);
        assert_eq!(wait(&e, 8), [(POLLIN, 10)], "only level-triggered again");
        post(&et, 1);
        post(&one, 1);
        // Round the list from the item after the last one reported.
        assert_eq!(
            wait(&e, 8),
            [(POLLIN, 20), (POLLIN, 10)],
            "new edge; oneshot off"
        );
        ep(&e).ctl(EPOLL_CTL_MOD, 5, &one, one_ev).unwrap();
        assert_eq!(wait(&e, 8), [(POLLIN, 30), (POLLIN, 10)], "MOD re-arms");
        drain(&lt);
        assert!(wait(&e, 8).is_empty());
    }

    fn vfs(f: &Arc<File>) -> u32 {
        poll::vfs_poll(f).mask
    }

    #[test]
    fn round_robin_and_max() {
        let e = epoll();
        let fds: std::vec::Vec<_> = (0..3).map(|_| eventfd()).collect();
        for (i, f) in fds.iter().enumerate() {
            ep(&e)
                .ctl(EPOLL_CTL_ADD, i as i32, f, Some((POLLIN, i as u64)))
                .unwrap();
            post(f, 1);
        }
        assert_eq!(wait(&e, 2), [(POLLIN, 0), (POLLIN, 1)]);
        assert_eq!(
            wait(&e, 2),
            [(POLLIN, 2), (POLLIN, 0)],
            "from where it stopped"
        );
    }

    #[test]
    fn closed_files_leave_and_loops_are_refused() {
        let e = epoll();
        let a = eventfd();
        ep(&e)
            .ctl(EPOLL_CTL_ADD, 3, &a, Some((POLLOUT, 0)))
            .unwrap();
        drop(a);
        assert!(wait(&e, 8).is_empty());
        assert!(ep(&e).is_empty(), "the item went with its file");
        let (outer, inner) = (epoll(), epoll());
        ep(&outer)
            .ctl(EPOLL_CTL_ADD, 4, &inner, Some((POLLIN, 0)))
            .unwrap();
        let back = ep(&inner).ctl(EPOLL_CTL_ADD, 5, &outer, Some((POLLIN, 0)));
        assert_eq!(back, Err(Errno::ELOOP));
        let x = eventfd();
        ep(&inner)
            .ctl(EPOLL_CTL_ADD, 6, &x, Some((POLLIN, 0)))
            .unwrap();
        assert_eq!(vfs(&outer), 0);
        post(&x, 1);
        assert_eq!(vfs(&outer), POLLIN | POLLRDNORM, "nested readiness");
    }

    #[test]
    fn failed_copy_leaves_the_item() {
        let e = epoll();
        let a = eventfd();
        ep(&e)
            .ctl(EPOLL_CTL_ADD, 3, &a, Some((POLLIN | EPOLLONESHOT, 7)))
            .unwrap();
        post(&a, 1);
        assert_eq!(ep(&e).report(4, &mut |_, _| false), 0);
        assert_eq!(wait(&e, 4), [(POLLIN, 7)]);
    }
}
