//! The trace ring buffer: fixed-size binary events in a circular array allocated once,
//! the oldest overwritten when it is full (Linux kernel/trace/ring_buffer.c in its
//! "overwrite" mode, reduced to one global array of equal slots).
//!
//! Writers never lock and never allocate: each takes the next sequence number with one
//! `fetch_add`, which names its slot (`seq % capacity`), and fills it. Each slot is a
//! small seqlock, so a reader on another CPU can copy events while writers go on:
//!
//! ```text
//!   writer of event s:   slot.stamp = 2s+1 (odd: being written)
//!                        the event's words
//!                        slot.stamp = 2s+2 (Release: event s is complete)
//!   reader of event s:   a = slot.stamp (Acquire); must be 2s+2
//!                        copy the words
//!                        b = slot.stamp again; a == b: the copy is event s, whole
//! ```
//!
//! A reader that finds another stamp knows event s is gone (overwritten by s+capacity)
//! or not finished yet, and skips it. Every word is an atomic, so a racing copy is never
//! undefined behaviour, only detected. Two writers meet on one slot only if one of them
//! is lapped — `capacity` other events written during its few dozen instructions, with
//! interrupts masked — which the stamps would then report as a lost event.

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering, fence};

/// One event: what a tracepoint records. Fixed size, plain numbers only (a name is
/// packed into `args`), so that recording is a handful of stores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// Counter ticks (CNTVCT_EL0) when it was recorded.
    pub time: u64,
    /// Which tracepoint (`super::EventId` as a number).
    pub id: u16,
    pub cpu: u16,
    /// The task that was running: thread id and process id (tgid).
    pub tid: u32,
    pub pid: u32,
    /// One more small number (the system call number for sys_enter/sys_exit).
    pub aux: u32,
    pub args: [u64; ARGS],
}

/// Arguments an event carries: all six of a system call's.
pub const ARGS: usize = 6;
/// Words of a slot's event: time, id|cpu|tid, pid|aux, args.
const WORDS: usize = 3 + ARGS;

impl Event {
    fn to_words(self) -> [u64; WORDS] {
        let mut w = [0; WORDS];
        w[0] = self.time;
        w[1] = self.id as u64 | (self.cpu as u64) << 16 | (self.tid as u64) << 32;
        w[2] = self.pid as u64 | (self.aux as u64) << 32;
        w[3..].copy_from_slice(&self.args);
        w
    }

    fn from_words(w: &[u64; WORDS]) -> Event {
        let mut args = [0; ARGS];
        args.copy_from_slice(&w[3..]);
        Event {
            time: w[0],
            id: w[1] as u16,
            cpu: (w[1] >> 16) as u16,
            tid: (w[1] >> 32) as u32,
            pid: w[2] as u32,
            aux: (w[2] >> 32) as u32,
            args,
        }
    }
}

/// An event's slot; `repr(C)` so that gdb/trace.py can read it (stamp, then the words).
#[repr(C)]
struct Slot {
    /// 2s+1 while event s is written, 2s+2 once it is complete; 0: never written.
    stamp: AtomicU64,
    words: [AtomicU64; WORDS],
}

pub struct Ring {
    slots: Vec<Slot>,
    /// The sequence number the next event gets (= events ever recorded).
    head: AtomicU64,
    /// Events before this one were cleared (`clear`).
    start: AtomicU64,
}

impl Ring {
    /// A ring of `capacity` events (at least 1), or None if the heap cannot hold it.
    pub fn new(capacity: usize) -> Option<Ring> {
        let capacity = capacity.max(1);
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).ok()?;
        slots.extend((0..capacity).map(|_| Slot {
            stamp: AtomicU64::new(0),
            words: [const { AtomicU64::new(0) }; WORDS],
        }));
        Some(Ring {
            slots,
            head: AtomicU64::new(0),
            start: AtomicU64::new(0),
        })
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// For debuggers: the address of the first slot, and of `head` and `start`.
    pub fn addresses(&self) -> [usize; 3] {
        [
            self.slots.as_ptr() as usize,
            &self.head as *const AtomicU64 as usize,
            &self.start as *const AtomicU64 as usize,
        ]
    }

    /// Events ever recorded; the next one gets this sequence number.
    pub fn written(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    /// The oldest sequence number that may still be in the ring.
    pub fn oldest(&self) -> u64 {
        let kept = self.written().saturating_sub(self.slots.len() as u64);
        kept.max(self.start.load(Ordering::Relaxed))
    }

    /// Forgets the events recorded so far (they stay in their slots until overwritten,
    /// but readers start after them).
    pub fn clear(&self) {
        self.start.store(self.written(), Ordering::Relaxed);
    }

    /// Records `ev`, overwriting the oldest event if the ring is full.
    pub fn push(&self, ev: Event) {
        let seq = self.head.fetch_add(1, Ordering::Relaxed);
        let slot = &self.slots[(seq % self.slots.len() as u64) as usize];
        slot.stamp.store(2 * seq + 1, Ordering::Relaxed);
        // The odd stamp is visible before any of the new words (a reader that sees a
        // new word then sees the stamp changed when it checks again).
        fence(Ordering::Release);
        for (w, v) in slot.words.iter().zip(ev.to_words()) {
            w.store(v, Ordering::Relaxed);
        }
        slot.stamp.store(2 * seq + 2, Ordering::Release);
    }

    /// Event `seq`, if it is complete and still in the ring.
    pub fn get(&self, seq: u64) -> Option<Event> {
        let slot = &self.slots[(seq % self.slots.len() as u64) as usize];
        let want = 2 * seq + 2;
        if slot.stamp.load(Ordering::Acquire) != want {
            return None;
        }
        let mut w = [0u64; WORDS];
        for (dst, src) in w.iter_mut().zip(&slot.words) {
            *dst = src.load(Ordering::Relaxed);
        }
        // The words are read before the stamp is checked again.
        fence(Ordering::Acquire);
        (slot.stamp.load(Ordering::Relaxed) == want).then(|| Event::from_words(&w))
    }

    /// The events still in the ring from sequence number `from` on, oldest first, with
    /// their sequence numbers (events overwritten meanwhile are skipped).
    pub fn events_from(&self, from: u64) -> impl Iterator<Item = (u64, Event)> + '_ {
        (from.max(self.oldest())..self.written()).filter_map(|s| self.get(s).map(|e| (s, e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::vec::Vec;

    fn ev(n: u64) -> Event {
        Event {
            time: n,
            id: (n % 7) as u16,
            cpu: (n % 4) as u16,
            tid: n as u32 + 100,
            pid: n as u32 + 1,
            aux: n as u32 * 3,
            args: [n, !n, n << 8, 0, u64::MAX, n ^ 0x5a],
        }
    }

    #[test]
    fn words_round_trip() {
        let e = Event {
            time: u64::MAX,
            id: 0xffff,
            cpu: 7,
            tid: u32::MAX,
            pid: 0x8000_0001,
            aux: 435,
            args: [1, 2, 3, 4, 5, u64::MAX],
        };
        assert_eq!(Event::from_words(&e.to_words()), e);
    }

    #[test]
    fn empty_ring_has_nothing() {
        let r = Ring::new(4).unwrap();
        assert_eq!((r.written(), r.oldest()), (0, 0));
        assert_eq!(r.get(0), None);
        assert_eq!(r.events_from(0).count(), 0);
    }

    #[test]
    fn keeps_everything_until_full() {
        let r = Ring::new(8).unwrap();
        for n in 0..8 {
            r.push(ev(n));
        }
        let got: Vec<_> = r.events_from(0).collect();
        assert_eq!(got.len(), 8);
        for (i, (s, e)) in got.into_iter().enumerate() {
            assert_eq!((s, e), (i as u64, ev(i as u64)));
        }
    }

    #[test]
    fn wraps_around_and_overwrites_the_oldest() {
        let r = Ring::new(8).unwrap();
        for n in 0..21 {
            r.push(ev(n));
        }
        assert_eq!((r.written(), r.oldest()), (21, 13));
        // The overwritten events are gone, not garbled: their slots hold newer ones.
        assert_eq!(r.get(12), None);
        assert_eq!(r.get(5), None);
        let seqs: Vec<u64> = r.events_from(0).map(|(s, _)| s).collect();
        assert_eq!(seqs, (13..21).collect::<Vec<_>>());
        assert!(r.events_from(0).all(|(s, e)| e == ev(s)));
        // Resuming from the middle.
        assert_eq!(
            r.events_from(18).map(|(s, _)| s).collect::<Vec<_>>(),
            [18, 19, 20]
        );
        // Not written yet.
        assert_eq!(r.get(21), None);
        r.clear();
        assert_eq!(r.events_from(0).count(), 0);
        r.push(ev(21));
        assert_eq!(r.events_from(0).collect::<Vec<_>>(), [(21, ev(21))]);
    }

    #[test]
    fn capacity_one() {
        let r = Ring::new(0).unwrap();
        assert_eq!(r.capacity(), 1);
        r.push(ev(1));
        r.push(ev(2));
        assert_eq!(r.events_from(0).collect::<Vec<_>>(), [(1, ev(2))]);
    }

    /// A reader copying while a writer laps the ring: every event it gets is exactly one
    /// that was written (never half of one and half of the next), in order.
    #[test]
    fn reading_while_writing() {
        let r = Arc::new(Ring::new(16).unwrap());
        let done = Arc::new(AtomicBool::new(false));
        let writer = {
            let (r, done) = (r.clone(), done.clone());
            std::thread::spawn(move || {
                let n = if cfg!(miri) { 300 } else { 20_000 };
                for i in 0..n {
                    r.push(ev(i));
                }
                done.store(true, Ordering::Release);
            })
        };
        let mut seen = 0;
        loop {
            let finished = done.load(Ordering::Acquire);
            let mut last = None;
            for (s, e) in r.events_from(0) {
                assert_eq!(e, ev(s), "a torn event");
                assert!(last.is_none_or(|l| s > l));
                last = Some(s);
                seen += 1;
            }
            if finished {
                break;
            }
        }
        writer.join().unwrap();
        assert!(seen >= 16);
        assert_eq!(r.events_from(0).count(), 16);
    }

    /// Several writers at once (one per CPU in the kernel): no event is lost while the
    /// ring has room, and each is whole.
    #[test]
    fn concurrent_writers() {
        let r = Arc::new(Ring::new(4 * 50).unwrap());
        let writers: Vec<_> = (0..4u64)
            .map(|w| {
                let r = r.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        r.push(ev(w * 1000 + i));
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let mut times: Vec<u64> = r.events_from(0).map(|(_, e)| e.time).collect();
        assert!(r.events_from(0).all(|(_, e)| e == ev(e.time)));
        times.sort();
        let want: Vec<u64> = (0..4u64)
            .flat_map(|w| (0..50).map(move |i| w * 1000 + i))
            .collect();
        assert_eq!(times, want);
    }
}
