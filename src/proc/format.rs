//! The text of /proc's files, byte for byte as Linux 6.1 prints it (the functions named
//! on each item), from plain values: no task, lock or address space is named here, so
//! this file builds and is unit-tested on the host. The kernel side (pid.rs, kernel.rs)
//! gathers the values and calls these.
//!
//! Every file is formatted anew at each read(), from its first byte, into a `Window`
//! that keeps only the bytes the read asked for (Linux's seq_file does the same:
//! `seq_read` re-runs `show` from the start of the record that holds the offset). So the
//! kernel buffer a read needs is bounded by the read, not by the file: a `maps` of
//! 65,530 VMAs costs time, never megabytes of heap.

use alloc::vec::Vec;
use core::fmt::{self, Write};

use crate::error::{Errno, KResult};

/// The most one read() of a /proc file returns (a shorter count than asked for is a
/// legal read; the caller reads again from the new offset).
pub const READ_CAP: usize = 64 << 10;

/// The bytes `[off, off + cap)` of a text produced from its start.
pub struct Window {
    /// Offset in the text of the first byte kept.
    off: u64,
    /// Bytes of the text produced so far, kept or not.
    pos: u64,
    /// What is kept: at most `cap` bytes, in memory reserved up front.
    buf: Vec<u8>,
    cap: usize,
}

impl Window {
    /// A window for a read of `want` bytes at `off` (at most READ_CAP are kept). The
    /// buffer is reserved here, fallibly, so writing into it never allocates: formatters
    /// may run under a lock (the address space's, for `maps`).
    pub fn new(off: u64, want: usize) -> KResult<Window> {
        let cap = want.min(READ_CAP);
        let mut buf = Vec::new();
        buf.try_reserve_exact(cap).map_err(|_| Errno::ENOMEM)?;
        Ok(Window {
            off,
            pos: 0,
            buf,
            cap,
        })
    }

    /// A window whose text starts at `pos` (≤ `off`) instead of 0: a file whose reader
    /// remembers where a line began (maps) formats from that line on, not from the start.
    pub fn resume(pos: u64, off: u64, want: usize) -> KResult<Window> {
        let mut w = Window::new(off, want)?;
        w.pos = pos.min(off);
        Ok(w)
    }

    /// Bytes of the text produced so far (where the next byte written goes).
    pub fn pos(&self) -> u64 {
        self.pos
    }

    /// The read is satisfied: the rest of the text need not be produced.
    pub fn is_full(&self) -> bool {
        self.buf.len() == self.cap
    }

    /// Appends `bytes` to the text. `Err` once the window is full, which stops a
    /// `write!` chain early (it is not a failure: the caller ignores it).
    pub fn put(&mut self, bytes: &[u8]) -> fmt::Result {
        let end = self.pos + bytes.len() as u64;
        if end > self.off && !self.is_full() {
            let skip = self.off.saturating_sub(self.pos) as usize;
            let take = (bytes.len() - skip).min(self.cap - self.buf.len());
            self.buf.extend_from_slice(&bytes[skip..skip + take]);
        }
        self.pos = end;
        if self.is_full() {
            Err(fmt::Error)
        } else {
            Ok(())
        }
    }

    /// The bytes kept.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }
}

impl Write for Window {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s.as_bytes())
    }
}

// ---- Per-process files (Linux fs/proc/array.c, fs/proc/base.c) ----------------------

/// Linux TASK_COMM_LEN less the NUL: a task's name is at most 15 bytes.
pub const COMM_MAX: usize = 15;

/// A task's name as /proc shows it: cut to COMM_MAX bytes (Linux keeps only that much).
pub fn comm(name: &[u8]) -> &[u8] {
    &name[..name.len().min(COMM_MAX)]
}

/// The one-letter states of `task_state_array` (fs/proc/array.c).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State {
    #[default]
    Running,
    Sleeping,
    /// Uninterruptible ("disk sleep"): waiting in a way no signal ends.
    DiskSleep,
    /// Stopped by a job-control signal.
    Stopped,
    Zombie,
    Dead,
}

impl State {
    pub fn letter(self) -> char {
        match self {
            State::Running => 'R',
            State::Sleeping => 'S',
            State::DiskSleep => 'D',
            State::Stopped => 'T',
            State::Zombie => 'Z',
            State::Dead => 'X',
        }
    }

    /// As /proc/PID/status spells it.
    pub fn long(self) -> &'static str {
        match self {
            State::Running => "R (running)",
            State::Sleeping => "S (sleeping)",
            State::DiskSleep => "D (disk sleep)",
            State::Stopped => "T (stopped)",
            State::Zombie => "Z (zombie)",
            State::Dead => "X (dead)",
        }
    }
}

/// Linux PF_KTHREAD (include/linux/sched.h): the task flag of a kernel thread.
pub const PF_KTHREAD: u32 = 0x0020_0000;

/// What /proc/PID/stat shows that this kernel knows. Everything else is printed as 0
/// (see `stat_line`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskStat<'a> {
    pub pid: u32,
    pub comm: &'a [u8],
    pub state: char,
    pub ppid: u32,
    pub pgrp: u32,
    pub session: u32,
    pub flags: u32,
    pub num_threads: usize,
    /// Bytes of address space (the sum of the VMAs).
    pub vsize: u64,
    /// Resident pages.
    pub rss: u64,
    /// RLIMIT_RSS's soft limit.
    pub rsslim: u64,
    /// Signals ignored and caught, bit n-1 = signal n (the first 31 only, as Linux).
    pub sigignore: u64,
    pub sigcatch: u64,
    /// The signal the parent gets at exit; -1 for a thread other than the leader (as
    /// Linux prints it).
    pub exit_signal: i32,
    pub processor: u32,
    pub start_brk: u64,
    /// The wait status of a zombie (Linux `exit_code`), else 0.
    pub exit_code: u32,
    /// CPU time in clock ticks (USER_HZ): user and system, of the process (the thread,
    /// in task/TID/stat), and of its reaped children.
    pub utime: u64,
    pub stime: u64,
    pub cutime: u64,
    pub cstime: u64,
}

/// /proc/PID/stat (Linux `do_task_stat`): 52 fields on one line. The name is printed
/// as it is between "(" and ")" — it may hold spaces and parentheses, which is why
/// readers take the text up to the *last* ')'. Fields this kernel does not keep are 0:
/// tty_nr (no controlling terminals yet; tpgid then is -1), fault counts, starttime,
/// the code, stack and
/// argument addresses, pending and blocked signals (not kept yet), wchan, rt_priority
/// and policy (one policy), delay accounting and guest times.
pub fn stat_line(w: &mut Window, s: &TaskStat) -> fmt::Result {
    write!(w, "{} (", s.pid)?;
    w.put(comm(s.comm))?;
    write!(
        w,
        ") {} {} {} {} 0 -1 {} 0 0 0 0",
        s.state, s.ppid, s.pgrp, s.session, s.flags
    )?;
    // utime stime cutime cstime, priority (20: nice 0) and nice, threads, itrealvalue,
    // starttime, vsize, rss, rsslim.
    write!(
        w,
        " {} {} {} {} 20 0 {} 0 0 {} {} {}",
        s.utime, s.stime, s.cutime, s.cstime, s.num_threads, s.vsize, s.rss, s.rsslim
    )?;
    // startcode endcode startstack kstkesp kstkeip, then signal blocked sigignore
    // sigcatch (decimal, the first 31 signals: Linux 2.0 compatibility), wchan, nswap,
    // cnswap.
    write!(
        w,
        " 0 0 0 0 0 0 0 {} {} 0 0 0",
        s.sigignore & 0x7fff_ffff,
        s.sigcatch & 0x7fff_ffff
    )?;
    // exit_signal processor rt_priority policy delayacct_blkio_ticks guest_time
    // cguest_time, start_data end_data start_brk arg_start arg_end env_start env_end
    // exit_code.
    writeln!(
        w,
        " {} {} 0 0 0 0 0 0 0 {} 0 0 0 0 {}",
        s.exit_signal, s.processor, s.start_brk, s.exit_code
    )
}

/// /proc/PID/comm (Linux `comm_show`): the name and a newline.
pub fn comm_file(w: &mut Window, name: &[u8]) -> fmt::Result {
    w.put(comm(name))?;
    w.put(b"\n")
}

/// The name as the "Name:" line of /proc/PID/status prints it (Linux `task_name`:
/// `seq_escape_str(..., "\n\\")`): a newline as `\n` and a backslash doubled, so that
/// the line stays one line.
pub fn escaped_name(w: &mut Window, name: &[u8]) -> fmt::Result {
    for &b in comm(name) {
        match b {
            b'\n' => w.put(b"\\n")?,
            b'\\' => w.put(b"\\\\")?,
            _ => w.put(&[b])?,
        }
    }
    Ok(())
}

/// What /proc/PID/status shows (Linux `proc_pid_status`).
#[derive(Clone, Copy, Debug, Default)]
pub struct TaskStatus<'a> {
    pub name: &'a [u8],
    pub umask: Option<u32>,
    pub state: State,
    pub tgid: u32,
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    /// Descriptor slots (Linux `fdt->max_fds`); None without a table (exited).
    pub fd_size: Option<usize>,
    /// The address-space lines: None for a task without one (a kernel thread, a zombie).
    pub mem: Option<MemStatus>,
    pub threads: usize,
    /// Queued signals of the process, and RLIMIT_SIGPENDING's soft limit ("SigQ:").
    pub sigq: u64,
    pub sigq_limit: u64,
    /// The thread's own pending signals, the process's, and the thread's mask.
    pub sigpnd: u64,
    pub shdpnd: u64,
    pub sigblk: u64,
    pub sigignore: u64,
    pub sigcatch: u64,
    /// CPUs the task may run on, and how many CPUs there are (bits of the mask shown).
    pub cpus_allowed: u32,
    pub nr_cpus: u32,
}

/// The "Vm..." lines, in kB.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemStatus {
    pub size_kb: u64,
    pub rss_kb: u64,
    pub data_kb: u64,
    pub stack_kb: u64,
    pub exe_kb: u64,
}

/// A signal set as Linux's `render_sigset_t` prints it: 16 hex digits, signal 64 first.
fn sigset(w: &mut Window, name: &str, set: u64) -> fmt::Result {
    writeln!(w, "{}:\t{:016x}", name, set)
}

/// A "Key:\t    N kB" line of /proc/PID/status (Linux `SEQ_PUT_DEC(" kB\nKey:\t", ...)`
/// : the number right-aligned in 8 columns).
fn vm_line(w: &mut Window, name: &str, kb: u64) -> fmt::Result {
    writeln!(w, "{}:\t{:>8} kB", name, kb)
}

/// /proc/PID/status (Linux `proc_pid_status`), in Linux 6.1's order. Approximations:
/// VmPeak and VmHWM are the current values (peaks are not kept), VmLib 0 (everything is
/// static), the context-switch counts 0. Everyone is root with every capability (CapPrm/CapEff/CapBnd
/// as Linux 6.1 prints them for root: 41 capabilities).
pub fn status(w: &mut Window, s: &TaskStatus) -> fmt::Result {
    w.put(b"Name:\t")?;
    escaped_name(w, s.name)?;
    w.put(b"\n")?;
    if let Some(umask) = s.umask {
        writeln!(w, "Umask:\t{:04o}", umask)?;
    }
    writeln!(w, "State:\t{}", s.state.long())?;
    writeln!(
        w,
        "Tgid:\t{}\nNgid:\t0\nPid:\t{}\nPPid:\t{}\nTracerPid:\t0",
        s.tgid, s.pid, s.ppid
    )?;
    w.put(b"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")?;
    writeln!(w, "FDSize:\t{}", s.fd_size.unwrap_or(0))?;
    w.put(b"Groups:\t \n")?;
    writeln!(
        w,
        "NStgid:\t{}\nNSpid:\t{}\nNSpgid:\t{}\nNSsid:\t{}",
        s.tgid, s.pid, s.pgid, s.sid
    )?;
    if let Some(m) = s.mem {
        vm_line(w, "VmPeak", m.size_kb)?;
        vm_line(w, "VmSize", m.size_kb)?;
        vm_line(w, "VmLck", 0)?;
        vm_line(w, "VmPin", 0)?;
        vm_line(w, "VmHWM", m.rss_kb)?;
        vm_line(w, "VmRSS", m.rss_kb)?;
        vm_line(w, "VmData", m.data_kb)?;
        vm_line(w, "VmStk", m.stack_kb)?;
        vm_line(w, "VmExe", m.exe_kb)?;
        vm_line(w, "VmLib", 0)?;
        vm_line(w, "VmSwap", 0)?;
    }
    writeln!(w, "Threads:\t{}", s.threads)?;
    writeln!(w, "SigQ:\t{}/{}", s.sigq, s.sigq_limit)?;
    sigset(w, "SigPnd", s.sigpnd)?;
    sigset(w, "ShdPnd", s.shdpnd)?;
    sigset(w, "SigBlk", s.sigblk)?;
    sigset(w, "SigIgn", s.sigignore)?;
    sigset(w, "SigCgt", s.sigcatch)?;
    w.put(b"CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n")?;
    w.put(b"CapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n")?;
    w.put(b"CapAmb:\t0000000000000000\nNoNewPrivs:\t0\nSeccomp:\t0\n")?;
    w.put(b"Cpus_allowed:\t")?;
    cpumask_hex(w, s.cpus_allowed, s.nr_cpus)?;
    w.put(b"\nCpus_allowed_list:\t")?;
    cpumask_list(w, s.cpus_allowed & low_bits(s.nr_cpus))?;
    w.put(b"\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n")
}

fn low_bits(n: u32) -> u32 {
    if n >= 32 { u32::MAX } else { (1 << n) - 1 }
}

/// A CPU mask as Linux's `%*pb` prints it for `nbits` CPUs: hex digits, most
/// significant first, as many as the bits need ("f" for 4 CPUs, "1" for one).
pub fn cpumask_hex(w: &mut Window, mask: u32, nbits: u32) -> fmt::Result {
    let digits = nbits.clamp(1, 32).div_ceil(4) as usize;
    write!(w, "{:0width$x}", mask & low_bits(nbits), width = digits)
}

/// A CPU mask as Linux's `%*pbl` prints it: ranges, "0-3" or "0,2".
pub fn cpumask_list(w: &mut Window, mask: u32) -> fmt::Result {
    let mut first = true;
    let mut cpu = 0;
    while cpu < 32 {
        if mask & (1 << cpu) == 0 {
            cpu += 1;
            continue;
        }
        let start = cpu;
        while cpu < 32 && mask & (1 << cpu) != 0 {
            cpu += 1;
        }
        if !first {
            w.put(b",")?;
        }
        first = false;
        if cpu - 1 == start {
            write!(w, "{}", start)?;
        } else {
            write!(w, "{}-{}", start, cpu - 1)?;
        }
    }
    Ok(())
}

/// /proc/PID/statm (Linux `proc_pid_statm`): size resident shared text lib data dt, in
/// pages. Shared pages are not counted here (0); lib and dt are always 0 on Linux.
pub fn statm(w: &mut Window, size: u64, resident: u64, text: u64, data: u64) -> fmt::Result {
    writeln!(w, "{} {} 0 {} 0 {} 0", size, resident, text, data)
}

/// One line of /proc/PID/maps.
#[derive(Clone, Copy, Debug)]
pub struct MapLine<'a> {
    pub start: usize,
    pub end: usize,
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
    /// Offset in the file, in bytes (0 for anonymous memory).
    pub offset: u64,
    /// The file's device number (st_dev encoding) and inode number; 0 for anonymous.
    pub dev: u64,
    pub ino: u64,
    pub name: MapName<'a>,
}

#[derive(Clone, Copy, Debug)]
pub enum MapName<'a> {
    None,
    /// A file's path (newlines escaped as Linux's `seq_file_path(m, file, "\n")` does).
    Path(&'a [u8]),
    /// "[heap]", "[stack]".
    Special(&'a str),
}

/// The column names start at (Linux `show_vma_header_prefix`: `seq_setwidth(m, 25 +
/// sizeof(void *) * 6 - 1)`, then `seq_pad` with ' ').
const MAPS_NAME_COLUMN: u64 = 25 + 8 * 6 - 1;

/// Writes one maps line (Linux `show_map_vma`): "start-end perms offset major:minor
/// inode", then, if the region has a name, padding to column 73 and the name.
pub fn map_line(w: &mut Window, m: &MapLine) -> fmt::Result {
    let line_start = w.pos;
    let (major, minor) = dev_split(m.dev);
    write!(
        w,
        "{:08x}-{:08x} {}{}{}{} {:08x} {:02x}:{:02x} {} ",
        m.start,
        m.end,
        if m.read { 'r' } else { '-' },
        if m.write { 'w' } else { '-' },
        if m.exec { 'x' } else { '-' },
        if m.shared { 's' } else { 'p' },
        m.offset,
        major,
        minor,
        m.ino
    )?;
    let pad = |w: &mut Window| -> fmt::Result {
        let used = w.pos - line_start;
        for _ in used..MAPS_NAME_COLUMN {
            w.put(b" ")?;
        }
        w.put(b" ")
    };
    match m.name {
        MapName::None => {}
        MapName::Special(s) => {
            pad(w)?;
            w.put(s.as_bytes())?;
        }
        MapName::Path(p) => {
            pad(w)?;
            mangle(w, p, b"\n")?;
        }
    }
    w.put(b"\n")
}

/// The major and minor numbers of a device number in the encoding stat's st_dev uses
/// (Linux `new_encode_dev`: minor's low byte, major, then minor's upper bits).
pub fn dev_split(dev: u64) -> (u64, u64) {
    ((dev >> 8) & 0xfff, (dev & 0xff) | ((dev >> 12) & !0xff))
}

/// Writes `s` with each byte of `escape` as a backslash and three octal digits (Linux
/// `mangle_path`), e.g. a space in a mount point as `\040`.
pub fn mangle(w: &mut Window, s: &[u8], escape: &[u8]) -> fmt::Result {
    for &b in s {
        if escape.contains(&b) {
            write!(w, "\\{:03o}", b)?;
        } else {
            w.put(&[b])?;
        }
    }
    Ok(())
}

// ---- System-wide files ---------------------------------------------------------------

/// Hundredths of a second as "S.CC" (Linux uptime.c's "%lu.%02lu").
fn centis(w: &mut Window, ns: u64) -> fmt::Result {
    let cs = ns / 10_000_000;
    write!(w, "{}.{:02}", cs / 100, cs % 100)
}

/// /proc/uptime (Linux fs/proc/uptime.c): seconds since boot and idle seconds summed
/// over the CPUs.
pub fn uptime(w: &mut Window, up_ns: u64, idle_ns: u64) -> fmt::Result {
    centis(w, up_ns)?;
    w.put(b" ")?;
    centis(w, idle_ns)?;
    w.put(b"\n")
}

/// /proc/loadavg (Linux fs/proc/loadavg.c): three load averages, runnable/total tasks
/// and the last pid handed out.
pub fn loadavg(w: &mut Window, running: usize, total: usize, last_pid: u32) -> fmt::Result {
    writeln!(w, "0.00 0.00 0.00 {}/{} {}", running, total, last_pid)
}

/// A "Key:    N kB" line of /proc/meminfo (Linux `show_val_kb`: the key and its colon
/// padded to 16 columns, the number right-aligned in 8).
pub fn kb_line(w: &mut Window, key: &str, kb: u64) -> fmt::Result {
    write!(w, "{}:", key)?;
    for _ in key.len() + 1..16 {
        w.put(b" ")?;
    }
    writeln!(w, "{:>8} kB", kb)
}

/// What /proc/meminfo shows, in kB.
#[derive(Clone, Copy, Debug, Default)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    pub available: u64,
    /// Pages of files: tmpfs's (which is all the page cache there is).
    pub cached: u64,
    /// Of which shared memory (tmpfs, as on Linux).
    pub shmem: u64,
    /// The kernel heap's bytes allocated now.
    pub kernel_heap: u64,
    pub kernel_stack: u64,
}

/// /proc/meminfo (Linux fs/proc/meminfo.c `meminfo_proc_show`), the lines free, top
/// and the libcs read, in Linux's order. There is no swap, no block device (Buffers 0)
/// and nothing reclaimable (SReclaimable 0: the heap never gives memory back).
/// "KernelHeap:" is this kernel's own line (Linux has none): the kernel heap's bytes in
/// use. The heap is what Linux's slab allocators are, so "Slab:" (and "SUnreclaim:")
/// show the same number.
pub fn meminfo(w: &mut Window, m: &MemInfo) -> fmt::Result {
    kb_line(w, "MemTotal", m.total)?;
    kb_line(w, "MemFree", m.free)?;
    kb_line(w, "MemAvailable", m.available)?;
    kb_line(w, "Buffers", 0)?;
    kb_line(w, "Cached", m.cached)?;
    kb_line(w, "SwapCached", 0)?;
    kb_line(w, "SwapTotal", 0)?;
    kb_line(w, "SwapFree", 0)?;
    kb_line(w, "Dirty", 0)?;
    kb_line(w, "Writeback", 0)?;
    kb_line(w, "Shmem", m.shmem)?;
    kb_line(w, "KReclaimable", 0)?;
    kb_line(w, "Slab", m.kernel_heap)?;
    kb_line(w, "SReclaimable", 0)?;
    kb_line(w, "SUnreclaim", m.kernel_heap)?;
    kb_line(w, "KernelStack", m.kernel_stack)?;
    kb_line(w, "KernelHeap", m.kernel_heap)
}

/// One CPU's time in clock ticks (USER_HZ), as /proc/stat counts it.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTicks {
    pub user: u64,
    pub system: u64,
    pub idle: u64,
}

/// A "cpu" line's ten counters: user nice system idle iowait irq softirq steal guest
/// guest_nice. Interrupt time is counted as the time of what was interrupted (no
/// irq/softirq column); there is no nice, iowait, steal or guest time.
fn cpu_line(w: &mut Window, name: fmt::Arguments, t: CpuTicks) -> fmt::Result {
    writeln!(
        w,
        "{} {} 0 {} {} 0 0 0 0 0 0",
        name, t.user, t.system, t.idle
    )
}

/// What /proc/stat shows besides the CPU lines.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelStat {
    /// Bit n: CPU n is online.
    pub online: u32,
    pub processes: u64,
    pub running: usize,
    pub blocked: usize,
    /// The wall-clock time of boot, in seconds since the epoch.
    pub btime: u64,
    /// Each CPU's times, by CPU number.
    pub cpus: [CpuTicks; 32],
}

/// /proc/stat (Linux fs/proc/stat.c `show_stat`): "cpu " with two spaces for the sum,
/// one "cpuN" line per online CPU, then the counters. Interrupts and context switches
/// are not counted (0); btime is the boot's wall-clock time (src/time.rs).
pub fn kernel_stat(w: &mut Window, s: &KernelStat) -> fmt::Result {
    let online = || (0..32).filter(|c| s.online & (1 << c) != 0);
    let mut sum = CpuTicks::default();
    for cpu in online() {
        sum.user += s.cpus[cpu].user;
        sum.system += s.cpus[cpu].system;
        sum.idle += s.cpus[cpu].idle;
    }
    cpu_line(w, format_args!("cpu "), sum)?;
    for cpu in online() {
        cpu_line(w, format_args!("cpu{}", cpu), s.cpus[cpu])?;
    }
    w.put(b"intr 0\nctxt 0\n")?;
    writeln!(w, "btime {}", s.btime)?;
    writeln!(w, "processes {}", s.processes)?;
    writeln!(
        w,
        "procs_running {}\nprocs_blocked {}",
        s.running, s.blocked
    )?;
    w.put(b"softirq 0 0 0 0 0 0 0 0 0 0 0\n")
}

/// /proc/cpuinfo's block for one CPU (Linux arch/arm64/kernel/cpuinfo.c `c_show`). The
/// identification is the one QEMU's `-cpu cortex-a72` gives (MIDR 0x410fd083) and the
/// feature list the one Linux 6.1 prints for it; BogoMIPS is Linux arm64's, twice the
/// timer frequency in MHz (lpj = timer rate / HZ).
pub fn cpuinfo_block(w: &mut Window, cpu: u32, timer_hz: u64) -> fmt::Result {
    let bogo = timer_hz / 5_000; // hundredths of (2 * MHz)
    writeln!(w, "processor\t: {}", cpu)?;
    writeln!(w, "BogoMIPS\t: {}.{:02}", bogo / 100, bogo % 100)?;
    w.put(b"Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid\n")?;
    w.put(b"CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\n")?;
    w.put(b"CPU part\t: 0xd08\nCPU revision\t: 3\n\n")
}

/// One line of /proc/PID/mounts (Linux fs/proc_namespace.c `show_vfsmnt`): source,
/// mount point (spaces, tabs, newlines and backslashes as octal escapes), type, options
/// (every mount is read-write and nothing else is tracked), and the two dump/pass
/// zeros.
pub fn mount_line(w: &mut Window, source: &str, path: &[u8], fstype: &str) -> fmt::Result {
    mangle(w, source.as_bytes(), b" \t\n\\")?;
    w.put(b" ")?;
    mangle(w, path, b" \t\n\\")?;
    writeln!(w, " {} rw 0 0", fstype)
}

/// /proc/filesystems (Linux fs/filesystems.c): the types this kernel has, "nodev" for
/// those without a block device (all of them), in Linux's registration order. The root
/// file system shows as "rootfs" in /proc/mounts but is not listed, as on Linux 6.1.
pub fn filesystems(w: &mut Window) -> fmt::Result {
    w.put(b"nodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\tpipefs\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Window) -> fmt::Result) -> std::string::String {
        let mut w = Window::new(0, READ_CAP).unwrap();
        let _ = f(&mut w);
        std::string::String::from_utf8(w.bytes().to_vec()).unwrap()
    }

    #[test]
    fn window_keeps_only_the_bytes_asked_for() {
        let mut w = Window::new(3, 4).unwrap();
        assert!(w.put(b"ab").is_ok());
        assert!(w.put(b"cdef").is_ok());
        assert!(w.put(b"ghij").is_err(), "full: the formatter may stop");
        assert_eq!(w.bytes(), b"defg");
        // Past the end of the text: nothing.
        let mut w = Window::new(100, 10).unwrap();
        let _ = write!(w, "{}", 12345);
        assert!(w.bytes().is_empty());
        // A zero-byte read is full at once.
        let w = Window::new(0, 0).unwrap();
        assert!(w.is_full());
        // Resumed at a line start before the offset.
        let mut w = Window::resume(10, 12, 3).unwrap();
        let _ = w.put(b"abcdef");
        assert_eq!(w.bytes(), b"cde");
        assert_eq!(w.pos(), 16);
        // The cap bounds one read.
        let w = Window::new(0, usize::MAX).unwrap();
        assert_eq!(w.cap, READ_CAP);
    }

    #[test]
    fn stat_line_has_52_fields_and_the_name_verbatim() {
        let s = TaskStat {
            pid: 7,
            comm: b"a) (b",
            state: 'S',
            ppid: 1,
            pgrp: 7,
            session: 1,
            num_threads: 2,
            vsize: 8192,
            rss: 1,
            rsslim: u64::MAX,
            sigcatch: 1 << 16,
            exit_signal: 17,
            processor: 3,
            start_brk: 0x1000,
            ..Default::default()
        };
        let line = text(|w| stat_line(w, &s));
        assert!(line.starts_with("7 (a) (b) S 1 7 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 2 0 0 8192 1 "));
        assert!(line.ends_with(" 4096 0 0 0 0 0\n"), "{line}");
        // Parsed as ps parses it: after the last ')'.
        let rest = &line[line.rfind(')').unwrap() + 2..];
        let fields: std::vec::Vec<&str> = rest.split_whitespace().collect();
        assert_eq!(fields.len(), 52 - 2);
        assert_eq!(fields[38 - 3], "17", "exit_signal is field 38");
        assert_eq!(fields[39 - 3], "3", "processor is field 39");
        assert_eq!(fields[34 - 3], "65536", "sigcatch is field 34");
        assert_eq!(fields[25 - 3], "18446744073709551615", "rsslim is field 25");
        let thread = TaskStat {
            exit_signal: -1,
            ..s
        };
        assert!(text(|w| stat_line(w, &thread)).contains(" 0 0 0 -1 3 0 0 0 0 0 0 0 4096 "));
    }

    #[test]
    fn names_are_cut_to_15_bytes_and_escaped_in_status() {
        assert_eq!(comm(b"0123456789abcdefgh"), b"0123456789abcde");
        assert_eq!(text(|w| comm_file(w, b"sh")), "sh\n");
        assert_eq!(text(|w| escaped_name(w, b"a\nb\\c")), "a\\nb\\\\c");
    }

    #[test]
    fn status_lines() {
        let s = TaskStatus {
            name: b"init",
            umask: Some(0o22),
            state: State::Sleeping,
            tgid: 1,
            pid: 1,
            ppid: 0,
            fd_size: Some(64),
            mem: Some(MemStatus {
                size_kb: 2152,
                rss_kb: 4,
                ..Default::default()
            }),
            threads: 1,
            sigq_limit: 1637,
            sigignore: 1 << 12,
            cpus_allowed: u32::MAX,
            nr_cpus: 4,
            ..Default::default()
        };
        let t = text(|w| status(w, &s));
        assert!(t.starts_with("Name:\tinit\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t1\n"));
        assert!(t.contains("\nVmSize:\t    2152 kB\n"));
        assert!(t.contains("\nSigQ:\t0/1637\n"));
        assert!(t.contains("\nSigIgn:\t0000000000001000\n"));
        assert!(t.contains("\nCpus_allowed:\tf\nCpus_allowed_list:\t0-3\n"));
        assert!(t.ends_with("nonvoluntary_ctxt_switches:\t0\n"));
    }

    #[test]
    fn cpu_masks() {
        assert_eq!(text(|w| cpumask_hex(w, 1, 1)), "1");
        assert_eq!(text(|w| cpumask_hex(w, 0b1010, 8)), "0a");
        assert_eq!(text(|w| cpumask_list(w, 0b1101)), "0,2-3");
        assert_eq!(text(|w| cpumask_list(w, 1)), "0");
        assert_eq!(text(|w| cpumask_list(w, 0)), "");
    }

    #[test]
    fn maps_lines_pad_the_name_to_column_73() {
        // Linux 6.1 (linux-oracle.sh, `cat /proc/self/maps`).
        let file = MapLine {
            start: 0x400000,
            end: 0x5b3000,
            read: true,
            write: false,
            exec: true,
            shared: false,
            offset: 0,
            dev: 2,
            ino: 10,
            name: MapName::Path(b"/bin/busybox"),
        };
        assert_eq!(
            text(|w| map_line(w, &file)),
            "00400000-005b3000 r-xp 00000000 00:02 10                                 /bin/busybox\n"
        );
        let anon = MapLine {
            start: 0xfffff7fed000,
            end: 0xfffff7ffd000,
            read: true,
            write: true,
            exec: false,
            shared: false,
            offset: 0,
            dev: 0,
            ino: 0,
            name: MapName::None,
        };
        assert_eq!(
            text(|w| map_line(w, &anon)),
            "fffff7fed000-fffff7ffd000 rw-p 00000000 00:00 0 \n"
        );
        let stack = MapLine {
            start: 0xfffffffdf000,
            end: 0x1000000000000,
            name: MapName::Special("[stack]"),
            ..anon
        };
        assert_eq!(
            text(|w| map_line(w, &stack)),
            "fffffffdf000-1000000000000 rw-p 00000000 00:00 0                         [stack]\n"
        );
        let odd = MapLine {
            name: MapName::Path(b"/tmp/a\nb"),
            ..file
        };
        assert!(text(|w| map_line(w, &odd)).ends_with(" /tmp/a\\012b\n"));
    }

    #[test]
    fn system_files() {
        assert_eq!(text(|w| uptime(w, 1_070_000_000, 0)), "1.07 0.00\n");
        assert_eq!(
            text(|w| uptime(w, 123_456_789_012, 5_000_000)),
            "123.45 0.00\n"
        );
        assert_eq!(
            text(|w| loadavg(w, 1, 45, 101)),
            "0.00 0.00 0.00 1/45 101\n"
        );
        assert_eq!(
            text(|w| kb_line(w, "MemTotal", 490364)),
            "MemTotal:         490364 kB\n"
        );
        assert_eq!(
            text(|w| kb_line(w, "Buffers", 0)),
            "Buffers:               0 kB\n"
        );
        assert_eq!(
            text(|w| kb_line(w, "VmallocTotal", 133143592960)),
            "VmallocTotal:   133143592960 kB\n"
        );
        let m = text(|w| meminfo(w, &MemInfo::default()));
        for key in [
            "MemTotal:",
            "MemFree:",
            "MemAvailable:",
            "Cached:",
            "SReclaimable:",
            "Slab:",
        ] {
            assert!(m.lines().any(|l| l.starts_with(key)), "{key}");
        }
        let s = text(|w| {
            kernel_stat(
                w,
                &KernelStat {
                    online: 0b101,
                    processes: 9,
                    running: 1,
                    blocked: 0,
                    btime: 1_764_000_000,
                    cpus: {
                        let mut c = [CpuTicks::default(); 32];
                        c[0].idle = 5;
                        c[2] = CpuTicks {
                            user: 1,
                            system: 2,
                            idle: 3,
                        };
                        c
                    },
                },
            )
        });
        assert!(
            s.starts_with("cpu  1 0 2 8 0 0 0 0 0 0\ncpu0 0 0 0 5 0 0 0 0 0 0\ncpu2 1 0 2 3 0")
        );
        assert!(s.contains("\nprocesses 9\nprocs_running 1\nprocs_blocked 0\n"));
        assert!(s.contains("\nbtime 1764000000\n"));
        let c = text(|w| cpuinfo_block(w, 1, 62_500_000));
        assert!(c.starts_with("processor\t: 1\nBogoMIPS\t: 125.00\n"));
        assert!(c.ends_with("CPU revision\t: 3\n\n"));
        assert_eq!(
            text(|w| mount_line(w, "tmpfs", b"/tmp/a b", "tmpfs")),
            "tmpfs /tmp/a\\040b tmpfs rw 0 0\n"
        );
        assert_eq!(dev_split(0x10), (0, 0x10));
        assert_eq!(dev_split((5 << 8) | 1), (5, 1));
    }
}
