//! /proc/trace: the trace ring buffer as text, one line per event (Linux's
//! /sys/kernel/tracing/trace), and its switch: a write of `on`, `off`, `clear` or a list
//! of categories (Linux's tracing_on and set_event files in one). The events and their
//! text are trace/'s; this file only pages them out.
//!
//! A read at offset 0 fixes the events the file shows: those in the ring at that moment
//! (the reader's own system calls, recorded while it reads, come after them). Reads
//! continue from where the previous one stopped, the way maps.rs resumes: the offset
//! and event of the last line started are remembered, so reading the file costs one
//! formatting of each line, not one of everything before it per read.

use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use super::format::Window;
use crate::error::{Errno, KResult};
use crate::fs::{Sink, Source};
use crate::trace::text::{Header, Line};

/// The events the file shows, [FIRST, END), fixed by the last read at offset 0.
static FIRST: AtomicU64 = AtomicU64::new(0);
static END: AtomicU64 = AtomicU64::new(0);
/// Where the last read stopped: the line of event CURSOR_SEQ starts at CURSOR_OFF
/// (0: no cursor). One reader at a time is served best; another one's reads are still
/// right, only slower (they start from the top).
static CURSOR_OFF: AtomicU64 = AtomicU64::new(0);
static CURSOR_SEQ: AtomicU64 = AtomicU64::new(0);

pub fn read(off: u64, dst: &mut dyn Sink) -> KResult<usize> {
    let Some(ring) = crate::trace::ring() else {
        return Ok(0);
    };
    if off == 0 {
        FIRST.store(ring.oldest(), Ordering::Relaxed);
        END.store(ring.written(), Ordering::Relaxed);
        CURSOR_OFF.store(0, Ordering::Relaxed);
    }
    let (first, end) = (FIRST.load(Ordering::Relaxed), END.load(Ordering::Relaxed));
    let (cursor_off, cursor_seq) = (
        CURSOR_OFF.load(Ordering::Relaxed),
        CURSOR_SEQ.load(Ordering::Relaxed),
    );
    let freq = crate::arch::timer::frequency();
    let (mut w, mut seq) = if cursor_off != 0 && cursor_off <= off && cursor_seq >= first {
        (
            Window::resume(cursor_off, off, dst.remaining())?,
            cursor_seq,
        )
    } else {
        let mut w = Window::new(off, dst.remaining())?;
        let header = Header {
            events: end - first,
            written: end,
            lost: end.saturating_sub(ring.capacity() as u64),
        };
        let _ = writeln!(w, "{}", header);
        (w, first)
    };
    let mut last_line = (w.pos(), seq);
    while seq < end && !w.is_full() {
        last_line = (w.pos(), seq);
        // An event overwritten since the snapshot has no line.
        if let Some(ev) = ring.get(seq) {
            let _ = writeln!(w, "{}", Line { ev: &ev, freq });
        }
        seq += 1;
    }
    // The next read starts at the line the window cut, or after the last one.
    let (next_off, next_seq) = if w.is_full() {
        last_line
    } else {
        (w.pos(), seq)
    };
    CURSOR_OFF.store(next_off, Ordering::Relaxed);
    CURSOR_SEQ.store(next_seq, Ordering::Relaxed);
    let text = w.bytes();
    if !text.is_empty() {
        dst.write_from(text)?;
    }
    Ok(text.len())
}

/// `echo syscall,cow > /proc/trace`: what to record from now on.
pub fn write(src: &mut dyn Source) -> KResult<usize> {
    let n = src.remaining();
    let mut buf = [0u8; 64];
    if n > buf.len() {
        return Err(Errno::EINVAL);
    }
    src.read_into(&mut buf[..n])?;
    let words = core::str::from_utf8(&buf[..n]).map_err(|_| Errno::EINVAL)?;
    crate::trace::control(words)?;
    Ok(n)
}
