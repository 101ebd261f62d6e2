//! Tracing that teaches: static tracepoints on the fork path and the system-call path,
//! which print one readable line each to the kernel log (`log=debug`, `log=trace` on
//! the command line) and record fixed-size binary events into a ring buffer (`trace=`),
//! read back as text from /proc/trace, by gdb (gdb/trace.py) and at power-off. Linux:
//! include/trace/events/{syscalls,sched}.h and arm64's `page_fault_user`, the
//! tracepoints; kernel/trace/trace.c, the `trace` file; the ring is ring.rs.
//!
//! ```text
//!   tracepoint (one line in the kernel)      category   log level   Linux event
//!   sys_enter / sys_exit   syscall/mod.rs    syscall    TRACE       raw_syscalls:sys_enter/exit
//!   sched_process_fork     task/fork.rs      proc       DEBUG       sched:sched_process_fork
//!   sched_process_exec     task/exec.rs      proc       DEBUG       sched:sched_process_exec
//!   sched_process_exit     task/exit.rs      proc       DEBUG       sched:sched_process_exit
//!   mm_fault: COW          mm/global.rs      cow        DEBUG       (wp_page_copy/wp_page_reuse)
//!   mm_fault: other        mm/global.rs      fault      DEBUG       exceptions:page_fault_user
//!   sched_switch           task/sched.rs     switch     TRACE       sched:sched_switch
//!   irq_handler_entry      trap.rs           irq        TRACE       irq:irq_handler_entry
//! ```
//!
//! A disabled tracepoint costs one load of `ACTIVE`, a test and a branch not taken: the
//! work (names, the clock, the ring) is in out-of-line `#[cold]` functions. `ACTIVE`
//! holds two bits per category: "print a log line" and "record an event".
//!
//! Command line (read once at boot, `init`):
//!   log=LEVEL[:CAT,CAT...]   error|warn|info|debug|trace; the categories whose lines
//!                            show (default: every category up to LEVEL but `switch`)
//!   trace=CAT,CAT... | on    record these categories (on: all); the buffer's text is
//!                            printed at power-off, between "==== trace" lines
//!   trace_buf=N              events the ring holds (default 4096; 80 bytes each)
//! Categories: syscall, proc, fault, cow, switch, irq; `sched` = proc,switch; `mm` =
//! fault,cow.
//! At run time: `echo syscall,cow > /proc/trace` (or on, off, clear).

pub mod names;
pub mod ring;
pub mod text;

use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

pub use ring::{Event, Ring};

/// A group of tracepoints switched on and off together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Syscall = 0,
    /// fork/clone, exec, exit.
    Proc = 1,
    /// Page faults other than copy-on-write ones.
    Fault = 2,
    Cow = 3,
    /// Context switches.
    Switch = 4,
    /// Interrupts (the tick, reschedule IPIs, the UART).
    Irq = 5,
}

const CATEGORIES: [(&str, Category); 6] = [
    ("syscall", Category::Syscall),
    ("proc", Category::Proc),
    ("fault", Category::Fault),
    ("cow", Category::Cow),
    ("switch", Category::Switch),
    ("irq", Category::Irq),
];

impl Category {
    /// Side by side, so that "either" is one `tst` with an immediate.
    const fn log_bit(self) -> u32 {
        1 << (2 * self as u32)
    }
    const fn record_bit(self) -> u32 {
        self.log_bit() << 1
    }
    /// The `log` level of this category's lines.
    fn level(self) -> log::Level {
        match self {
            Category::Syscall | Category::Switch | Category::Irq => log::Level::Trace,
            _ => log::Level::Debug,
        }
    }
}

/// Bits `1 << 2c` (log category c) and `1 << (2c + 1)` (record category c).
static ACTIVE: AtomicU32 = AtomicU32::new(0);
const LOG_MASK: u32 = 0x5555_5555;
const RECORD_MASK: u32 = LOG_MASK << 1;

/// Whether tracepoints of category `c` do anything: the whole cost of a disabled one.
#[inline(always)]
fn on(c: Category) -> bool {
    ACTIVE.load(Ordering::Relaxed) & (c.log_bit() | c.record_bit()) != 0
}

/// Tracepoint identifiers, as stored in `Event::id` (gdb/trace.py and ci/trace.py use
/// the same numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum EventId {
    SysEnter = 1,
    SysExit = 2,
    Fork = 3,
    Exec = 4,
    Exit = 5,
    PageFault = 6,
    CowFault = 7,
    Switch = 8,
    Irq = 9,
}

/// The running task, as the tracepoints need it: process and thread id, and its name
/// (comm) copied out, so no lock is held while a line is printed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Ids {
    pub pid: u32,
    pub tid: u32,
    pub comm: [u8; 16],
}

impl Ids {
    pub fn new(pid: u32, tid: u32, name: &str) -> Ids {
        let mut comm = [0; 16];
        for (dst, &b) in comm.iter_mut().zip(name.as_bytes().iter().take(15)) {
            *dst = b;
        }
        Ids { pid, tid, comm }
    }

    fn comm(&self) -> &str {
        let n = self.comm.iter().position(|&b| b == 0).unwrap_or(16);
        // A name cut at 15 bytes may end inside a character: keep what is whole.
        match core::str::from_utf8(&self.comm[..n]) {
            Ok(s) => s,
            Err(e) => core::str::from_utf8(&self.comm[..e.valid_up_to()]).unwrap_or("?"),
        }
    }
}

/// Who is running: provided by the scheduler at boot (this module sits below it).
/// Its argument says whether the name is wanted: only a log line needs it, and copying
/// it means taking the task's lock (try_lock: never waiting).
static CURRENT: spin::Once<fn(bool) -> Ids> = spin::Once::new();
/// The ring buffer, allocated at boot.
static RING: spin::Once<Ring> = spin::Once::new();
/// Where the ring is, for gdb/trace.py (plain numbers: no Rust layout to decode): the
/// first slot's address, the capacity, the addresses of `head` and `start`. Written
/// once at boot.
#[used]
static RING_VIEW: [AtomicUsize; 4] = [const { AtomicUsize::new(0) }; 4];
/// `trace=` was on the command line: print the buffer at power-off.
static DUMP_AT_POWER_OFF: AtomicBool = AtomicBool::new(false);

pub const DEFAULT_EVENTS: usize = 4096;

/// What the command line asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub level: log::LevelFilter,
    /// `ACTIVE`'s bits.
    pub active: u32,
    pub events: usize,
    pub dump: bool,
}

/// A list of category names (`syscall,cow`, `sched`, `on`) as a mask of log bits; None
/// if a name is unknown.
pub fn parse_categories(list: &str) -> Option<u32> {
    let mut mask = 0;
    for word in list.split(',').filter(|w| !w.is_empty()) {
        mask |= match word {
            "on" | "all" => CATEGORIES.iter().fold(0, |m, (_, c)| m | c.log_bit()),
            "sched" => Category::Proc.log_bit() | Category::Switch.log_bit(),
            "mm" => Category::Fault.log_bit() | Category::Cow.log_bit(),
            _ => CATEGORIES.iter().find(|(n, _)| *n == word)?.1.log_bit(),
        };
    }
    Some(mask)
}

/// Reads `log=`, `trace=` and `trace_buf=` from the kernel's parameters; `base` is the
/// log level without `log=`. An unknown value is ignored (as Linux ignores a bad one).
pub fn parse_config<'a>(
    params: impl Iterator<Item = crate::cmdline::Param<'a>>,
    base: log::LevelFilter,
) -> Config {
    let mut cfg = Config {
        level: base,
        active: 0,
        events: DEFAULT_EVENTS,
        dump: false,
    };
    let mut log_list = None;
    for p in params {
        match (p.name, p.value) {
            ("log", Some(v)) => {
                let (level, list) = v.split_once(':').unwrap_or((v, ""));
                if let Ok(l) = level.parse::<log::LevelFilter>() {
                    cfg.level = l;
                    log_list = (!list.is_empty()).then(|| parse_categories(list)).flatten();
                }
            }
            ("trace", Some("off")) => {
                cfg.active &= !RECORD_MASK;
                cfg.dump = false;
            }
            ("trace", Some(v)) => {
                if let Some(m) = parse_categories(v) {
                    cfg.active = (cfg.active & !RECORD_MASK) | m << 1;
                    cfg.dump = true;
                }
            }
            ("trace_buf", Some(v)) => cfg.events = v.parse().unwrap_or(cfg.events),
            _ => {}
        }
    }
    // Without a list, a level shows every category at or below it, context switches and
    // interrupts excepted (several per system call on a busy machine: ask by name).
    let logged = log_list.unwrap_or_else(|| {
        CATEGORIES
            .iter()
            .filter(|(_, c)| !matches!(c, Category::Switch | Category::Irq))
            .filter(|(_, c)| c.level() <= cfg.level)
            .fold(0, |m, (_, c)| m | c.log_bit())
    });
    let level_ok = CATEGORIES
        .iter()
        .filter(|(_, c)| c.level() <= cfg.level)
        .fold(0, |m, (_, c)| m | c.log_bit());
    cfg.active |= logged & level_ok;
    cfg
}

/// Boot: the command line's settings, the ring buffer, and who is running. Before any
/// task exists, so nothing is traced half-way.
pub fn init(cmdline: &str, current: fn(bool) -> Ids) {
    let (params, _) = crate::cmdline::split(cmdline);
    let cfg = parse_config(params, log::max_level());
    CURRENT.call_once(|| current);
    if cfg.events > 0
        && let Some(ring) = Ring::new(cfg.events)
    {
        let ring = RING.call_once(|| ring);
        let [slots, head, start] = ring.addresses();
        for (view, v) in RING_VIEW.iter().zip([slots, ring.capacity(), head, start]) {
            view.store(v, Ordering::Relaxed);
        }
    }
    log::set_max_level(cfg.level);
    DUMP_AT_POWER_OFF.store(cfg.dump, Ordering::Relaxed);
    let active = if RING.get().is_some() {
        cfg.active
    } else {
        cfg.active & LOG_MASK
    };
    ACTIVE.store(active, Ordering::Relaxed);
}

/// The ring buffer, if it was allocated.
pub fn ring() -> Option<&'static Ring> {
    RING.get()
}

/// A write to /proc/trace: `on`, `off`, `clear` (forget what is recorded) or a list of
/// categories to record from now on. EINVAL for a word it does not know (or no ring).
pub fn control(words: &str) -> crate::error::KResult<()> {
    let einval = crate::error::Errno::EINVAL;
    let ring = RING.get().ok_or(einval)?;
    for word in words.split_ascii_whitespace() {
        let record = match word {
            "off" => 0,
            "clear" => {
                ring.clear();
                continue;
            }
            list => parse_categories(list).ok_or(einval)?,
        };
        let old = ACTIVE.load(Ordering::Relaxed);
        ACTIVE.store((old & LOG_MASK) | record << 1, Ordering::Relaxed);
    }
    Ok(())
}

// ---- the tracepoints ----------------------------------------------------------------

/// Event `id` of category `c` happened: record it and/or log it (`line` formats the
/// details after "name[pid]").
#[cold]
#[inline(never)]
fn emit(
    c: Category,
    id: EventId,
    aux: u32,
    args: [u64; ring::ARGS],
    line: impl FnOnce(&mut core::fmt::Formatter) -> core::fmt::Result,
) {
    let active = ACTIVE.load(Ordering::Relaxed);
    let ids = current_ids(active & c.log_bit() != 0);
    if active & c.record_bit() != 0 {
        record(&ids, id, aux, args);
    }
    if active & c.log_bit() != 0 {
        log_line(c, &ids, line);
    }
}

fn current_ids(with_name: bool) -> Ids {
    CURRENT.get().map(|f| f(with_name)).unwrap_or_default()
}

/// Puts the event into the ring, stamped with the time and this CPU.
fn record(ids: &Ids, id: EventId, aux: u32, args: [u64; ring::ARGS]) {
    if let Some(ring) = RING.get() {
        let (time, cpu) = clock_and_cpu();
        ring.push(Event {
            time,
            id: id as u16,
            cpu,
            tid: ids.tid,
            pid: ids.pid,
            aux,
            args,
        });
    }
}

/// One line in the kernel log: "category name[pid] details".
fn log_line(
    c: Category,
    ids: &Ids,
    line: impl FnOnce(&mut core::fmt::Formatter) -> core::fmt::Result,
) {
    let name = CATEGORIES[c as usize].0;
    log::log!(
        c.level(),
        "{:<7} {} {}",
        name,
        text::Who(ids),
        text::once(line)
    );
}

#[cfg(target_os = "none")]
fn clock_and_cpu() -> (u64, u16) {
    (
        crate::arch::timer::counter(),
        crate::arch::percpu::this_cpu().id as u16,
    )
}

#[cfg(not(target_os = "none"))]
fn clock_and_cpu() -> (u64, u16) {
    (0, 0)
}

/// A system call, between the tracepoints sys_enter and sys_exit (Linux
/// `trace_sys_enter`/`trace_sys_exit` around `invoke_syscall`): `call(regs)` runs it,
/// `arg(regs, i)` reads argument i (x0..x5) before it runs; the result is x0's value
/// (the value, or -errno). Untraced, this is one test
/// and the call; traced, the line shows the arguments and the result.
#[inline(always)]
pub fn syscall<R>(
    nr: usize,
    regs: &mut R,
    arg: fn(&R, usize) -> usize,
    call: impl FnOnce(&mut R) -> i64,
) -> i64 {
    if !on(Category::Syscall) {
        return call(regs);
    }
    syscall_traced(nr as u32, regs, arg, call)
}

#[cold]
#[inline(never)]
fn syscall_traced<R>(
    nr: u32,
    regs: &mut R,
    arg: fn(&R, usize) -> usize,
    call: impl FnOnce(&mut R) -> i64,
) -> i64 {
    let args: [u64; 6] = core::array::from_fn(|i| arg(regs, i) as u64);
    sys_enter(nr, args);
    let ret = call(regs);
    sys_exit(nr, &args, ret);
    ret
}

fn sys_enter(nr: u32, args: [u64; 6]) {
    let active = ACTIVE.load(Ordering::Relaxed);
    let ids = current_ids(active & Category::Syscall.log_bit() != 0);
    if active & Category::Syscall.record_bit() != 0 {
        record(&ids, EventId::SysEnter, nr, args);
    }
    // exit and exit_group do not return: their line is printed now.
    if matches!(nr, 93 | 94) && active & Category::Syscall.log_bit() != 0 {
        log_line(Category::Syscall, &ids, |f| {
            text::write_call(f, nr, &args)?;
            f.write_str(" = ?")
        });
    }
}

fn sys_exit(nr: u32, args: &[u64; 6], ret: i64) {
    let mut event_args = [0; 6];
    event_args[0] = ret as u64;
    emit(Category::Syscall, EventId::SysExit, nr, event_args, |f| {
        text::write_call(f, nr, args)?;
        f.write_str(" = ")?;
        text::write_result(f, ret)
    });
}

/// fork/clone made task `child` (Linux `trace_sched_process_fork`, in kernel_clone).
/// `flags` are clone's flags with the exit signal in the low byte.
#[inline(always)]
pub fn sched_process_fork(child_tid: u32, child_pid: u32, flags: u64) {
    if on(Category::Proc) {
        fork_slow(child_tid, child_pid, flags);
    }
}

#[cold]
#[inline(never)]
fn fork_slow(child_tid: u32, child_pid: u32, flags: u64) {
    let args = [child_tid as u64, child_pid as u64, flags, 0, 0, 0];
    emit(Category::Proc, EventId::Fork, 0, args, |f| {
        text::write_fork(f, child_tid, child_pid, flags)
    });
}

/// The current task now runs the program execve was given as `path` (Linux
/// `trace_sched_process_exec`, which records `bprm->filename` too).
#[inline(always)]
pub fn sched_process_exec(path: &[u8]) {
    if on(Category::Proc) {
        exec_slow(path);
    }
}

#[cold]
#[inline(never)]
fn exec_slow(path: &[u8]) {
    // The event keeps the path's last 48 bytes (its end names the program).
    let mut bytes = [0u8; 48];
    let tail = &path[path.len().saturating_sub(48)..];
    bytes[..tail.len()].copy_from_slice(tail);
    let args = core::array::from_fn(|i| {
        u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().unwrap_or_default())
    });
    emit(
        Category::Proc,
        EventId::Exec,
        tail.len() as u32,
        args,
        |f| write!(f, "exec {}", text::Bytes(path)),
    );
}

/// The current thread exits with wait status `status` (Linux
/// `trace_sched_process_exit`); `signal` names the signal that killed it, if any.
#[inline(always)]
pub fn sched_process_exit(status: u32, signal: &str) {
    if on(Category::Proc) {
        exit_slow(status, signal);
    }
}

#[cold]
#[inline(never)]
fn exit_slow(status: u32, signal: &str) {
    let args = [status as u64, 0, 0, 0, 0, 0];
    emit(Category::Proc, EventId::Exit, 0, args, |f| {
        text::write_exit(f, status, signal)
    });
}

/// How a page fault ended (mm/global.rs maps its `FaultFix`/`FaultError` here).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Fault {
    DemandZero = 1,
    FilePage = 2,
    FileCopied = 3,
    Spurious = 4,
    CowCopied = 5,
    CowReused = 6,
    CowRaced = 7,
    NotMapped = 8,
    AccessDenied = 9,
    PastEndOfFile = 10,
    OutOfMemory = 11,
}

impl Fault {
    fn is_cow(self) -> bool {
        matches!(self, Fault::CowCopied | Fault::CowReused | Fault::CowRaced)
    }
}

/// A page fault on `addr` (access 0 read, 1 write, 2 exec) resolved as `how()`; for a
/// COW fault `old` is the shared frame; `frame()` finds the frame mapped now. (Closures:
/// a disabled tracepoint computes neither.)
#[inline(always)]
pub fn mm_fault(
    addr: usize,
    access: u8,
    how: impl FnOnce() -> Fault,
    old: Option<usize>,
    frame: impl FnOnce() -> Option<usize>,
) {
    let either = Category::Fault.log_bit() | Category::Cow.log_bit();
    if ACTIVE.load(Ordering::Relaxed) & (either | either << 1) == 0 {
        return;
    }
    let how = how();
    let c = if how.is_cow() {
        Category::Cow
    } else {
        Category::Fault
    };
    if on(c) {
        let new = frame().unwrap_or(0);
        fault_slow(c, addr, access, how, old.unwrap_or(new), new);
    }
}

#[cold]
#[inline(never)]
fn fault_slow(c: Category, addr: usize, access: u8, how: Fault, old: usize, new: usize) {
    let (id, args) = if c == Category::Cow {
        let args = [addr as u64, old as u64, new as u64, how as u64, 0, 0];
        (EventId::CowFault, args)
    } else {
        let args = [addr as u64, access as u64, how as u64, new as u64, 0, 0];
        (EventId::PageFault, args)
    };
    emit(c, id, 0, args, |f| {
        text::write_fault(f, addr as u64, access, how as u8, old as u64, new as u64)
    });
}

/// This CPU switches from thread `prev` to `next` (0: the idle task).
#[inline(always)]
pub fn sched_switch(prev: u32, next: u32) {
    if on(Category::Switch) {
        switch_slow(prev, next);
    }
}

#[cold]
#[inline(never)]
fn switch_slow(prev: u32, next: u32) {
    let args = [prev as u64, next as u64, 0, 0, 0, 0];
    emit(Category::Switch, EventId::Switch, 0, args, |f| {
        write!(f, "switch to tid {}", next)
    });
}

/// An interrupt is handled (Linux `trace_irq_handler_entry`): `kind` is the index of
/// the kernel's `irq::Irq` (0 the tick, 1 a reschedule IPI, 2 the UART).
#[inline(always)]
pub fn irq_handler_entry(kind: u32) {
    if on(Category::Irq) {
        irq_slow(kind);
    }
}

#[cold]
#[inline(never)]
fn irq_slow(kind: u32) {
    let args = [kind as u64, 0, 0, 0, 0, 0];
    emit(Category::Irq, EventId::Irq, 0, args, |f| {
        write!(f, "interrupt: {}", text::irq_name(kind as u64))
    });
}

/// Power-off: if `trace=` was given, the whole buffer as text on the console, between
/// marker lines that `make trace` (ci/trace.py) looks for.
#[cfg(target_os = "none")]
pub fn dump_at_power_off(freq: u64) {
    let Some(ring) = RING.get() else { return };
    if !DUMP_AT_POWER_OFF.load(Ordering::Relaxed) {
        return;
    }
    ACTIVE.store(0, Ordering::Relaxed); // printing must not record itself
    crate::println!("==== trace ====");
    crate::println!("{}", text::Header::of(ring));
    for (_, ev) in ring.events_from(0) {
        crate::println!("{}", text::Line { ev: &ev, freq });
    }
    crate::println!("==== end of trace ====");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmdline::Params;
    use log::LevelFilter::{Debug, Info, Trace};

    fn cfg(line: &str) -> Config {
        parse_config(Params::new(line), Info)
    }

    fn logs(c: Category) -> u32 {
        c.log_bit()
    }

    #[test]
    fn default_is_silent() {
        assert_eq!(
            cfg("semihosting init=/bin/x"),
            Config {
                level: Info,
                active: 0,
                events: DEFAULT_EVENTS,
                dump: false
            }
        );
    }

    #[test]
    fn log_levels_choose_categories() {
        let d = cfg("log=debug");
        assert_eq!(d.level, Debug);
        assert_eq!(
            d.active,
            logs(Category::Proc) | logs(Category::Fault) | logs(Category::Cow)
        );
        let t = cfg("log=trace");
        assert_eq!(t.level, Trace);
        assert_eq!(t.active, d.active | logs(Category::Syscall));
        // A list narrows it; switch and irq only when named.
        let f = cfg("log=trace:syscall,cow,switch,irq");
        assert_eq!(
            f.active,
            logs(Category::Syscall)
                | logs(Category::Cow)
                | logs(Category::Switch)
                | logs(Category::Irq)
        );
        // A list cannot show lines above the level: syscall lines are TRACE.
        assert_eq!(cfg("log=debug:syscall,cow").active, logs(Category::Cow));
        assert_eq!(cfg("log=bogus").level, Info);
    }

    #[test]
    fn trace_categories() {
        let on = cfg("trace=on");
        assert_eq!((on.active, on.dump), (0xaaa, true));
        assert_eq!(cfg("trace=sched,syscall").active, 0x20a);
        assert_eq!(cfg("trace=mm").active, 0xa0);
        assert_eq!(cfg("trace=nonsense").active, 0);
        let off = cfg("trace=on trace=off");
        assert_eq!((off.active, off.dump), (0, false));
        assert_eq!(cfg("trace_buf=64").events, 64);
        assert_eq!(cfg("trace_buf=x").events, DEFAULT_EVENTS);
    }
}
