//! Events and log lines as text: the kernel log's strace-like lines and the lines of
//! /proc/trace (and of the power-off dump), whose layout ci/trace.py parses:
//!
//! ```text
//!   # teachos trace: 3 events in the buffer, 3 recorded since boot, 0 overwritten
//!   #         TIME CPU   PID   TID  EVENT                DETAILS
//!      0.412345678   0     6     6  sys_enter            nr=220 clone(17, 0, 0, 0, 0)
//!      0.412399000   0     6     6  sched_process_fork   child_pid=7 child_tid=7 flags=SIGCHLD
//!      0.413100000   1     7     7  mm_cow_fault         addr=0x412008 old=0x4a3c5000 new=0x4a3d1000 how=copied
//! ```

use core::cell::Cell;
use core::fmt::{self, Display, Formatter, Write};

use super::ring::{Event, Ring};
use super::{EventId, Ids, names};

/// "comm[pid]", or "comm[pid/tid]" for a thread other than the process's first.
pub struct Who<'a>(pub &'a Ids);

impl Display for Who<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let ids = self.0;
        if ids.pid == ids.tid {
            write!(f, "{}[{}]", ids.comm(), ids.pid)
        } else {
            write!(f, "{}[{}/{}]", ids.comm(), ids.pid, ids.tid)
        }
    }
}

/// A closure as a `Display`, called once (by the one `log!` that prints it; `Display`
/// borrows, hence the `Cell`).
pub struct Fmt<F>(Cell<Option<F>>);

pub fn once<F: FnOnce(&mut Formatter) -> fmt::Result>(f: F) -> Fmt<F> {
    Fmt(Cell::new(Some(f)))
}

impl<F: FnOnce(&mut Formatter) -> fmt::Result> Display for Fmt<F> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        match self.0.take() {
            Some(g) => g(f),
            None => Ok(()),
        }
    }
}

/// Bytes as text (a path), invalid UTF-8 shown as U+FFFD.
pub struct Bytes<'a>(pub &'a [u8]);

impl Display for Bytes<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        for chunk in self.0.utf8_chunks() {
            f.write_str(chunk.valid())?;
            if !chunk.invalid().is_empty() {
                f.write_char('\u{fffd}')?;
            }
        }
        Ok(())
    }
}

/// An argument as strace shows numbers: small ones (and small negative ones, such as
/// AT_FDCWD) in decimal, the rest (addresses, flags) in hex.
fn write_arg(f: &mut dyn Write, v: u64) -> fmt::Result {
    let s = v as i64;
    if (-4096..=65535).contains(&s) {
        write!(f, "{}", s)
    } else {
        write!(f, "{:#x}", v)
    }
}

/// `name(a, b, c)` with the call's own number of arguments.
pub fn write_call(f: &mut dyn Write, nr: u32, args: &[u64; 6]) -> fmt::Result {
    let (name, n) = match names::syscall(nr) {
        Some(x) => x,
        None => {
            write!(f, "syscall_{}", nr)?;
            ("", 6)
        }
    };
    write!(f, "{}(", name)?;
    for (i, &a) in args[..n].iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_arg(f, a)?;
    }
    f.write_str(")")
}

/// A result: `-2 ENOENT` for an error, else the value.
pub fn write_result(f: &mut dyn Write, ret: i64) -> fmt::Result {
    match names::errno((-ret) as u32) {
        Some(name) if (-4095..0).contains(&ret) => write!(f, "{} {}", ret, name),
        _ => write_arg(f, ret as u64),
    }
}

pub fn write_fork(f: &mut dyn Write, child_tid: u32, child_pid: u32, flags: u64) -> fmt::Result {
    if child_tid != child_pid {
        write!(
            f,
            "clone: new thread {} in process {}, flags ",
            child_tid, child_pid
        )?;
    } else if flags & 0x100 != 0 {
        write!(
            f,
            "clone: child {} shares the address space, flags ",
            child_pid
        )?;
    } else {
        write!(f, "fork: child {}, copy-on-write, flags ", child_pid)?;
    }
    names::write_clone_flags(f, flags)
}

/// A wait status: "exited with status 3" or "killed by SIGSEGV (signal 11)".
pub fn write_exit(f: &mut dyn Write, status: u32, signal: &str) -> fmt::Result {
    let sig = status & 0x7f;
    if sig == 0 {
        write!(f, "exit: status {}", (status >> 8) & 0xff)
    } else {
        write!(f, "exit: killed by {} (signal {})", signal, sig)?;
        if status & 0x80 != 0 {
            f.write_str(", core dumped")?;
        }
        Ok(())
    }
}

fn access_name(access: u8) -> &'static str {
    match access {
        0 => "read",
        1 => "write",
        _ => "exec",
    }
}

fn fault_name(how: u8) -> &'static str {
    match how {
        1 => "demand-zero",
        2 => "file-page",
        3 => "file-copied",
        4 => "spurious",
        5 => "copied",
        6 => "reused",
        7 => "raced",
        8 => "not-mapped",
        9 => "access-denied",
        10 => "past-eof",
        11 => "out-of-memory",
        _ => "?",
    }
}

/// A fault as a log line's details.
pub fn write_fault(
    f: &mut dyn Write,
    addr: u64,
    access: u8,
    how: u8,
    old: u64,
    new: u64,
) -> fmt::Result {
    write!(f, "{} {:#x}: ", access_name(access), addr)?;
    match how {
        5 => write!(f, "copy-on-write, frame {:#x} copied to {:#x}", old, new),
        6 => write!(
            f,
            "copy-on-write, frame {:#x} reused (no one else maps it)",
            old
        ),
        7 => write!(
            f,
            "copy-on-write, another CPU copied it first (frame {:#x})",
            new
        ),
        1 => write!(f, "demand-zero page, frame {:#x}", new),
        2 => write!(f, "page of a mapped file, frame {:#x}", new),
        3 => write!(f, "private copy of a file page, frame {:#x}", new),
        4 => f.write_str("spurious (a stale TLB entry): nothing to do"),
        8 => f.write_str("no mapping there (SEGV_MAPERR)"),
        9 => f.write_str("the mapping forbids this access (SEGV_ACCERR)"),
        10 => f.write_str("past the end of the mapped file (SIGBUS)"),
        _ => f.write_str("out of memory"),
    }
}

/// The kernel's interrupts, in the order of `irq::Irq`.
pub fn irq_name(kind: u64) -> &'static str {
    match kind {
        0 => "timer",
        1 => "reschedule IPI",
        2 => "uart",
        _ => "?",
    }
}

/// The name of an event in /proc/trace (Linux's event names where there is one).
pub fn event_name(id: u16) -> &'static str {
    match id {
        x if x == EventId::SysEnter as u16 => "sys_enter",
        x if x == EventId::SysExit as u16 => "sys_exit",
        x if x == EventId::Fork as u16 => "sched_process_fork",
        x if x == EventId::Exec as u16 => "sched_process_exec",
        x if x == EventId::Exit as u16 => "sched_process_exit",
        x if x == EventId::PageFault as u16 => "page_fault_user",
        x if x == EventId::CowFault as u16 => "mm_cow_fault",
        x if x == EventId::Switch as u16 => "sched_switch",
        x if x == EventId::Irq as u16 => "irq_handler_entry",
        _ => "unknown",
    }
}

/// /proc/trace's first two lines.
pub struct Header {
    pub events: u64,
    pub written: u64,
    pub lost: u64,
}

impl Header {
    pub fn of(ring: &Ring) -> Header {
        let (oldest, written) = (ring.oldest(), ring.written());
        Header {
            events: written - oldest,
            written,
            lost: written.saturating_sub(ring.capacity() as u64),
        }
    }
}

impl Display for Header {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        write!(
            f,
            "# teachos trace: {} events in the buffer, {} recorded since boot, {} overwritten\n\
             #         TIME CPU   PID   TID  EVENT                DETAILS",
            self.events, self.written, self.lost
        )
    }
}

/// One event as a line of /proc/trace (no newline); `freq` is the counter's frequency.
pub struct Line<'a> {
    pub ev: &'a Event,
    pub freq: u64,
}

impl Display for Line<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let ev = self.ev;
        let freq = self.freq.max(1);
        let ns = (ev.time % freq) as u128 * 1_000_000_000 / freq as u128;
        write!(
            f,
            "{:>5}.{:09} {:>3} {:>5} {:>5}  {:<20} ",
            ev.time / freq,
            ns,
            ev.cpu,
            ev.pid,
            ev.tid,
            event_name(ev.id)
        )?;
        let a = &ev.args;
        match ev.id {
            x if x == EventId::SysEnter as u16 => {
                write!(f, "nr={} ", ev.aux)?;
                write_call(f, ev.aux, a)
            }
            x if x == EventId::SysExit as u16 => {
                let name = names::syscall(ev.aux).map_or("?", |n| n.0);
                write!(f, "nr={} {} = ", ev.aux, name)?;
                write_result(f, a[0] as i64)
            }
            x if x == EventId::Fork as u16 => {
                write!(f, "child_pid={} child_tid={} flags=", a[1], a[0])?;
                names::write_clone_flags(f, a[2])
            }
            x if x == EventId::Exec as u16 => {
                let mut bytes = [0u8; 48];
                for (i, w) in a.iter().enumerate() {
                    bytes[i * 8..i * 8 + 8].copy_from_slice(&w.to_le_bytes());
                }
                let len = (ev.aux as usize).min(48);
                write!(f, "filename={}", Bytes(&bytes[..len]))
            }
            x if x == EventId::Exit as u16 => {
                let st = a[0] as u32;
                if st & 0x7f == 0 {
                    write!(f, "status={:#x} exited {}", st, (st >> 8) & 0xff)
                } else {
                    write!(f, "status={:#x} killed by signal {}", st, st & 0x7f)
                }
            }
            x if x == EventId::PageFault as u16 => write!(
                f,
                "addr={:#x} access={} how={} frame={:#x}",
                a[0],
                access_name(a[1] as u8),
                fault_name(a[2] as u8),
                a[3]
            ),
            x if x == EventId::CowFault as u16 => write!(
                f,
                "addr={:#x} old={:#x} new={:#x} how={}",
                a[0],
                a[1],
                a[2],
                fault_name(a[3] as u8)
            ),
            x if x == EventId::Switch as u16 => {
                write!(f, "prev_tid={} next_tid={}", a[0], a[1])
            }
            x if x == EventId::Irq as u16 => write!(f, "irq={}", irq_name(a[0])),
            _ => write!(f, "args={:x?}", a),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::{String, ToString};

    fn line(id: EventId, aux: u32, args: [u64; 6]) -> String {
        let ev = Event {
            time: 62_500_000 + 625, // 1 s and 10 µs at 62.5 MHz
            id: id as u16,
            cpu: 1,
            tid: 7,
            pid: 6,
            aux,
            args,
        };
        Line {
            ev: &ev,
            freq: 62_500_000,
        }
        .to_string()
    }

    #[test]
    fn trace_lines() {
        assert_eq!(
            line(
                EventId::SysEnter,
                56,
                [(-100i64) as u64, 0x4001a0, 0x80000, 0, 0, 0]
            ),
            "    1.000010000   1     6     7  sys_enter            nr=56 openat(-100, 0x4001a0, 0x80000, 0)"
        );
        assert_eq!(
            line(EventId::SysExit, 56, [(-2i64) as u64, 0, 0, 0, 0, 0]),
            "    1.000010000   1     6     7  sys_exit             nr=56 openat = -2 ENOENT"
        );
        assert!(
            line(EventId::Fork, 0, [8, 8, 17, 0, 0, 0])
                .ends_with("sched_process_fork   child_pid=8 child_tid=8 flags=SIGCHLD")
        );
        let mut path = [0u64; 6];
        path[0] = u64::from_le_bytes(*b"/bin/hel");
        path[1] = u64::from_le_bytes(*b"lo\0\0\0\0\0\0");
        assert!(line(EventId::Exec, 10, path).ends_with("filename=/bin/hello"));
        assert!(line(EventId::Exit, 0, [0x700, 0, 0, 0, 0, 0]).ends_with("status=0x700 exited 7"));
        assert!(
            line(
                EventId::CowFault,
                0,
                [0x412008, 0x4a000000, 0x4b000000, 5, 0, 0]
            )
            .ends_with("addr=0x412008 old=0x4a000000 new=0x4b000000 how=copied")
        );
        assert!(
            line(EventId::PageFault, 0, [0x1000, 1, 1, 0x4c000000, 0, 0])
                .ends_with("addr=0x1000 access=write how=demand-zero frame=0x4c000000")
        );
    }

    #[test]
    fn log_details() {
        let mut s = String::new();
        write_call(&mut s, 64, &[1, 0x41a0b0, 12, 9, 9, 9]).unwrap();
        write_result(&mut s, 12).unwrap();
        assert_eq!(s, "write(1, 0x41a0b0, 12)12");
        s.clear();
        write_exit(&mut s, 0x8b, "SIGSEGV").unwrap();
        assert_eq!(s, "exit: killed by SIGSEGV (signal 11), core dumped");
        s.clear();
        write_fault(&mut s, 0x412008, 1, 6, 0x4a000000, 0x4a000000).unwrap();
        assert_eq!(
            s,
            "write 0x412008: copy-on-write, frame 0x4a000000 reused (no one else maps it)"
        );
        let ids = Ids::new(6, 7, "forkdemo");
        assert_eq!(format!("{}", Who(&ids)), "forkdemo[6/7]");
    }
}
