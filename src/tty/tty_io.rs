//! The console terminal (Linux drivers/tty/tty_io.c, tty_ioctl.c, tty_jobctrl.c): the
//! tty behind /dev/console (5:1), /dev/ttyAMA0 (204:64) and, for a session whose
//! controlling terminal it is, /dev/tty (5:0). It owns the termios settings, the window
//! size, the line discipline's buffer (n_tty.rs), and the session and foreground process
//! group it belongs to.
//!
//! Input: the UART interrupt (CPU 0, irq.rs → trap.rs → `uart_interrupt`) and TIOCSTI
//! feed bytes to the line discipline, which echoes them, may raise a signal for the
//! foreground group, and wakes readers on `WaitChan::Tty`.
//!
//! # Lock
//!
//! `TTY` is level 9 of the lock order (sync/mod.rs, beside ASIDS and LOGGED): under it
//! only the console (10, for the echo) is taken. Everything that needs task locks —
//! reading the caller's session, sending a signal, waking a reader, clearing a session's
//! controlling terminal — happens before it is taken or after it is released; user
//! memory is never touched under it (reads copy through a buffer on the stack). The
//! interrupt handler takes it with IRQs masked, and so does every other path, because
//! IRQs are masked whenever the kernel runs (sync/mod.rs "Interrupts and other CPUs").

use alloc::sync::Arc;

use super::n_tty::{self, NTty, Received};
use super::termios::*;
use crate::error::{Errno, KResult};
use crate::fs::poll::{POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM, Readiness};
use crate::fs::{Sink, Source};
use crate::mm::uaccess;
use crate::sync::Level;
use crate::sync::ordered::OrderedMutex;
use crate::sync::wait::{self, WaitChan, WakeReason};
use crate::task::sched::{self, current};
use crate::task::signal::{self, SigInfo};
use crate::task::{SignalStruct, Task, Tid};

/// The console's tty number (what a session's `SignalInner.tty` holds).
pub const CONSOLE_TTY: u32 = 0;

const SIGHUP: u32 = 1;
const SIGCONT: u32 = 18;
const SIGTTIN: u32 = 21;
const SIGTTOU: u32 = 22;
const SIGWINCH: u32 = 28;

/// Readers of the console wait here (and so can a poll).
pub const CHAN: WaitChan = WaitChan::Tty(CONSOLE_TTY);

/// Linux `struct tty_struct`, what this kernel needs of it.
struct Tty {
    termios: Termios,
    winsize: Winsize,
    ldisc: NTty,
    /// The session whose controlling terminal this is (Linux `tty->ctrl.session`).
    session: Option<Tid>,
    /// The foreground process group (Linux `tty->ctrl.pgrp`): it gets the signals of
    /// ^C, ^\ and ^Z, and only it may read.
    pgrp: Option<Tid>,
    /// Counts the wakeups of the readers (poll's `Readiness::in_gen`).
    in_gen: u64,
}

static TTY: OrderedMutex<Tty> = OrderedMutex::new(
    Level::Ids,
    Tty {
        termios: Termios::DEFAULT,
        winsize: Winsize::DEFAULT,
        ldisc: NTty::new(),
        session: None,
        pgrp: None,
        in_gen: 0,
    },
);

/// Boot: fs/ reaches the tty's read, write and poll through hooks, and the exit of a
/// session leader reaches `disassociate_ctty` (neither may import tty/); then the UART
/// may interrupt (irq.rs enabled its line at the GIC).
pub fn init() {
    crate::fs::dev::register_tty(crate::fs::dev::TtyOps { read, write, poll });
    crate::task::exit::SESSION_LEADER_EXIT.call_once(|| disassociate_ctty);
    crate::console::enable_input_interrupt();
}

// ---- Input ----

/// The UART's receive interrupt (trap.rs): hands every byte waiting in the UART to the
/// line discipline.
pub fn uart_interrupt() {
    let mut buf = [0u8; 32];
    loop {
        let n = crate::console::read_input(&mut buf);
        buf[..n].iter().for_each(|&c| receive_byte(c));
        if n < buf.len() {
            return;
        }
    }
}

/// One byte typed (or pushed with TIOCSTI): the line discipline under the lock, the
/// signal and the wakeup after it.
fn receive_byte(c: u8) {
    let (r, pgrp): (Received, _) = {
        let mut tty = TTY.lock();
        let t = tty.termios;
        let r = tty
            .ldisc
            .receive(c, &t, &mut |b: &[u8]| crate::console::write_tty(b));
        (r, tty.pgrp)
    };
    if let (Some(sig), Some(pgrp)) = (r.signal, pgrp) {
        let _ = signal::send_to_pgrp(pgrp, SigInfo::kernel(sig));
    }
    if r.wake {
        wake_readers();
    }
}

// ---- The caller's session ----

/// What the tty needs to know about the calling process.
struct Caller {
    signal: Arc<SignalStruct>,
    pgid: Tid,
    sid: Tid,
    leader: bool,
    /// Which tty is its controlling terminal, if any.
    ctty: Option<u32>,
}

impl Caller {
    fn get() -> Caller {
        let signal = current().inner.lock().signal.clone();
        let s = signal.inner.lock();
        let (pgid, sid, leader, ctty) = (s.pgid, s.sid, s.session_leader, s.tty);
        drop(s);
        Caller {
            signal,
            pgid,
            sid,
            leader,
            ctty,
        }
    }

    /// This tty is the caller's controlling terminal.
    fn owns_tty(&self) -> bool {
        self.ctty == Some(CONSOLE_TTY)
    }
}

/// (pgid, sid) of a process.
fn ids_of(t: &Task) -> (Tid, Tid) {
    let inner = t.inner.lock();
    let s = inner.signal.inner.lock();
    (s.pgid, s.sid)
}

/// Linux `session_of_pgrp`: the session of process group `pgid`, or of the process
/// `pgid` when no group has that number; None if neither exists.
fn session_of_pgrp(pgid: Tid) -> Option<Tid> {
    let tasks = sched::TASKS.lock();
    let in_group = tasks
        .values()
        .filter(|t| t.is_group_leader())
        .map(|t| ids_of(t))
        .find(|&(pg, _)| pg == pgid);
    in_group
        .map(|(_, sid)| sid)
        .or_else(|| tasks.get(&pgid).map(|t| ids_of(t).1))
}

/// Linux `session_clear_tty`: no process of session `sid` has this controlling terminal
/// any more.
fn session_clear_tty(sid: Tid) {
    for t in sched::TASKS.lock().values() {
        let inner = t.inner.lock();
        let mut s = inner.signal.inner.lock();
        if s.sid == sid && s.tty == Some(CONSOLE_TTY) {
            s.tty = None;
        }
    }
}

/// Linux `__proc_set_tty`: the tty becomes the controlling terminal of the caller's
/// session, the caller's group its foreground group.
fn set_ctty(me: &Caller) {
    {
        let mut tty = TTY.lock();
        tty.session = Some(me.sid);
        tty.pgrp = Some(me.pgid);
    }
    me.signal.inner.lock().tty = Some(CONSOLE_TTY);
}

/// A session leader's exit, or its TIOCNOTTY (Linux `disassociate_ctty`): if this tty is
/// the controlling terminal of session `sid`, its foreground group gets SIGHUP and
/// SIGCONT, the tty leaves the session and no process of the session keeps it. The exit
/// path calls it through `task::exit::SESSION_LEADER_EXIT` (task/ cannot import tty/),
/// with no lock held.
pub fn disassociate_ctty(sid: Tid) {
    let fg = {
        let mut tty = TTY.lock();
        if tty.session != Some(sid) {
            return;
        }
        tty.session = None;
        tty.pgrp.take()
    };
    session_clear_tty(sid);
    if let Some(pgrp) = fg {
        let _ = signal::send_to_pgrp(pgrp, SigInfo::kernel(SIGHUP));
        let _ = signal::send_to_pgrp(pgrp, SigInfo::kernel(SIGCONT));
    }
}

/// Job control (Linux `__tty_check_change` for SIGTTOU, n_tty's `job_control` for
/// SIGTTIN): a process of a background group using its controlling terminal signals its
/// group and the call restarts once the group is continued. A read fails with EIO
/// instead if SIGTTIN is ignored or blocked; a write or setting change proceeds if
/// SIGTTOU is. An orphaned group (nobody left to continue it) gets EIO.
fn job_control(sig: u32) -> KResult<()> {
    let me = Caller::get();
    if !me.owns_tty() {
        return Ok(());
    }
    let fg = TTY.lock().pgrp;
    if fg.is_none_or(|fg| fg == me.pgid) {
        return Ok(());
    }
    if signal::current_ignores_or_blocks(sig) {
        return if sig == SIGTTIN {
            Err(Errno::EIO)
        } else {
            Ok(())
        };
    }
    if signal::is_orphaned_pgrp(me.pgid) {
        return Err(Errno::EIO);
    }
    let _ = signal::send_to_pgrp(me.pgid, SigInfo::kernel(sig));
    Err(Errno::ERESTARTSYS)
}

// ---- open, read, write ----

/// open(2) of a terminal device (Linux `tty_open` and `tty_open_proc_set_tty`):
/// /dev/tty is the caller's controlling terminal (ENXIO without one); a session leader
/// without one that opens the tty without O_NOCTTY acquires it, unless through
/// /dev/console.
pub fn open(rdev: u64, noctty: bool) -> KResult<()> {
    use crate::fs::dev;
    let me = Caller::get();
    if rdev == dev::TTY {
        return if me.owns_tty() {
            Ok(())
        } else {
            Err(Errno::ENXIO)
        };
    }
    if !noctty && rdev != dev::CONSOLE && me.leader && me.ctty.is_none() {
        let free = TTY.lock().session.is_none();
        if free {
            set_ctty(&me);
        }
    }
    Ok(())
}

/// How long a non-canonical read waits (VTIME, tenths of a second) from `now`.
fn vtime_deadline(t: &Termios) -> Option<u64> {
    (t.cc[VTIME] > 0).then(|| crate::arch::timer::now_ns() + t.cc[VTIME] as u64 * 100_000_000)
}

/// read(2) (Linux `n_tty_read`): canonical mode waits for a line and returns at most
/// that line; non-canonical mode follows VMIN and VTIME — VMIN bytes (or fewer if fewer
/// were asked for), VMIN 0 never waits for bytes, VTIME a timer in tenths of a second
/// (with VMIN 0 for the first byte, otherwise between bytes).
pub fn read(dst: &mut dyn Sink, nonblock: bool) -> KResult<usize> {
    if dst.remaining() == 0 {
        return Ok(0);
    }
    job_control(SIGTTIN)?;
    let mut deadline = None;
    let mut seen = 0; // raw bytes present when the inter-byte timer was last set
    // Wait until there is something to return.
    loop {
        let seq = wait::prepare(CHAN);
        let (ready, t, count) = {
            let tty = TTY.lock();
            let t = tty.termios;
            let count = tty.ldisc.raw_count();
            let need = (t.cc[VMIN] as usize).min(dst.remaining());
            let ready = if t.icanon() {
                tty.ldisc.input_available(&t, false)
            } else {
                count >= need.max(1) || (need == 0 && t.cc[VTIME] == 0)
            };
            (ready, t, count)
        };
        if ready {
            break;
        }
        if !t.icanon() && t.cc[VTIME] > 0 && (t.cc[VMIN] == 0 || count > seen) {
            // VMIN 0: the timer runs from the start; VMIN > 0: from the latest byte.
            if deadline.is_none() || count > seen {
                deadline = vtime_deadline(&t);
                seen = count;
            }
        }
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        match wait::sleep_interruptible(CHAN, deadline, seq) {
            WakeReason::Woken => {}
            WakeReason::Timeout => break, // VTIME ran out: return what there is
            WakeReason::Interrupted => return Err(Errno::ERESTARTSYS),
            WakeReason::Killed => return Err(Errno::EINTR),
        }
    }
    // Copy out through a buffer: user memory is never touched under the lock.
    let mut kbuf = [0u8; 256];
    let mut done = 0;
    while dst.remaining() > 0 {
        let want = dst.remaining().min(kbuf.len());
        let (n, line_done, canon) = {
            let mut tty = TTY.lock();
            let t = tty.termios;
            let (n, line_done) = tty.ldisc.read(&t, &mut kbuf[..want]);
            (n, line_done, t.icanon())
        };
        if let Err(e) = dst.write_from(&kbuf[..n]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += n;
        if n == 0 || (canon && line_done) {
            break;
        }
    }
    Ok(done)
}

/// write(2) (Linux `n_tty_write`): with TOSTOP a background process gets SIGTTOU first;
/// the bytes go out with output processing, each block whole (console.rs).
pub fn write(src: &mut dyn Source) -> KResult<usize> {
    let t = TTY.lock().termios;
    if t.lflag(TOSTOP) {
        job_control(SIGTTOU)?;
    }
    let mut chunk = [0u8; 256];
    let mut cooked = [0u8; 512];
    let mut done = 0;
    while src.remaining() > 0 {
        let n = src.remaining().min(chunk.len());
        if let Err(e) = src.read_into(&mut chunk[..n]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        let m = n_tty::output_block(&t, &chunk[..n], &mut cooked);
        crate::console::write_tty(&cooked[..m]);
        done += n;
    }
    Ok(done)
}

/// FIONREAD: bytes a read could return now.
pub fn readable_bytes() -> usize {
    let tty = TTY.lock();
    tty.ldisc.readable_bytes(&tty.termios)
}

/// Readiness for poll/ppoll/epoll (Linux `n_tty_poll`): IN+RDNORM when a read would
/// not wait (a line in canonical mode, VMIN bytes in raw mode), OUT+WRNORM always (output
/// never blocks). `in_gen` moves with every wakeup of the readers (epoll's edge-triggered
/// mode); pollers are woken through `CHAN`, a pollable channel (sync/wait.rs).
pub fn poll() -> Readiness {
    let tty = TTY.lock();
    let mut mask = POLLOUT | POLLWRNORM;
    if tty.ldisc.input_available(&tty.termios, true) {
        mask |= POLLIN | POLLRDNORM;
    }
    Readiness {
        mask,
        in_gen: tty.in_gen,
        out_gen: 0,
    }
}

/// Wakes the readers (and pollers) of the console.
fn wake_readers() {
    TTY.lock().in_gen += 1;
    wait::wakeup(CHAN);
}

// ---- ioctl ----

fn put_pid(arg: usize, pid: Option<Tid>) -> KResult<usize> {
    uaccess::put_user_u32(arg, pid.unwrap_or(0))?;
    Ok(0)
}

/// ioctl(2) on the tty (Linux `tty_ioctl`, `tty_mode_ioctl`, `n_tty_ioctl`,
/// `tty_jobctrl_ioctl`). Every caller is root here, so Linux's CAP_SYS_ADMIN exceptions
/// always apply: TIOCSTI on any tty, TIOCSCTTY through a file not open for reading.
pub fn ioctl(request: u32, arg: usize) -> KResult<usize> {
    match request {
        TCGETS => {
            let t = TTY.lock().termios;
            uaccess::copy_to_user(arg, &t.to_bytes())?;
            Ok(0)
        }
        TCSETS | TCSETSW | TCSETSF => {
            job_control(SIGTTOU)?;
            let mut b = [0u8; TERMIOS_SIZE];
            uaccess::copy_from_user(&mut b, arg)?;
            let new = Termios::from_bytes(&b);
            {
                let mut tty = TTY.lock();
                if request == TCSETSF {
                    tty.ldisc.flush();
                }
                let old = tty.termios;
                tty.ldisc.set_termios(&old, &new);
                tty.termios = new;
            }
            wake_readers(); // a mode change can make input readable
            Ok(0)
        }
        TCFLSH => {
            job_control(SIGTTOU)?;
            match arg {
                TCIFLUSH | TCIOFLUSH => TTY.lock().ldisc.flush(),
                TCOFLUSH => {} // output is never queued
                _ => return Err(Errno::EINVAL),
            }
            Ok(0)
        }
        TIOCGWINSZ => {
            let ws = TTY.lock().winsize;
            uaccess::copy_to_user(arg, &ws.to_bytes())?;
            Ok(0)
        }
        TIOCSWINSZ => {
            let mut b = [0u8; 8];
            uaccess::copy_from_user(&mut b, arg)?;
            let ws = Winsize::from_bytes(&b);
            let pgrp = {
                let mut tty = TTY.lock();
                let changed = tty.winsize != ws;
                tty.winsize = ws;
                tty.pgrp.filter(|_| changed)
            };
            if let Some(pgrp) = pgrp {
                let _ = signal::send_to_pgrp(pgrp, SigInfo::kernel(SIGWINCH));
            }
            Ok(0)
        }
        FIONREAD => {
            uaccess::put_user_u32(arg, readable_bytes() as u32)?;
            Ok(0)
        }
        TIOCOUTQ => {
            uaccess::put_user_u32(arg, 0)?; // output is never queued
            Ok(0)
        }
        TIOCSTI => {
            let mut c = [0u8; 1];
            uaccess::copy_from_user(&mut c, arg)?;
            receive_byte(c[0]);
            Ok(0)
        }
        TIOCGPGRP => {
            let me = Caller::get();
            if !me.owns_tty() {
                return Err(Errno::ENOTTY);
            }
            put_pid(arg, TTY.lock().pgrp)
        }
        TIOCSPGRP => tiocspgrp(arg),
        TIOCGSID => {
            let me = Caller::get();
            let session = TTY.lock().session;
            if !me.owns_tty() || session.is_none() {
                return Err(Errno::ENOTTY);
            }
            put_pid(arg, session)
        }
        TIOCSCTTY => tiocsctty(arg),
        TIOCNOTTY => {
            let me = Caller::get();
            if !me.owns_tty() {
                return Err(Errno::ENOTTY);
            }
            if me.leader {
                disassociate_ctty(me.sid);
            }
            me.signal.inner.lock().tty = None;
            Ok(0)
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// TIOCSPGRP (Linux `tiocspgrp`, its checks in order): the SIGTTOU check, then the tty
/// must be the controlling terminal of the caller's session (ENOTTY), the group a
/// non-negative number (EINVAL) of an existing group (ESRCH) in the caller's session
/// (EPERM).
fn tiocspgrp(arg: usize) -> KResult<usize> {
    match job_control(SIGTTOU) {
        Err(Errno::EIO) => return Err(Errno::ENOTTY),
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    let pgrp = uaccess::get_user_u32(arg)? as i32;
    if pgrp < 0 {
        return Err(Errno::EINVAL);
    }
    let me = Caller::get();
    if !me.owns_tty() || TTY.lock().session != Some(me.sid) {
        return Err(Errno::ENOTTY);
    }
    let sid = session_of_pgrp(pgrp as Tid).ok_or(Errno::ESRCH)?;
    if sid != me.sid {
        return Err(Errno::EPERM);
    }
    TTY.lock().pgrp = Some(pgrp as Tid);
    Ok(0)
}

/// TIOCSCTTY (Linux `tiocsctty`): a session leader without a controlling terminal takes
/// this one; already its own: nothing to do. The tty of another session is taken only
/// with `arg` 1 (stealing, for root), which leaves that session without it.
fn tiocsctty(arg: usize) -> KResult<usize> {
    let me = Caller::get();
    let session = TTY.lock().session;
    if me.leader && session == Some(me.sid) {
        return Ok(0);
    }
    if !me.leader || me.ctty.is_some() {
        return Err(Errno::EPERM);
    }
    if let Some(other) = session {
        if arg != 1 {
            return Err(Errno::EPERM);
        }
        session_clear_tty(other);
    }
    set_ctty(&me);
    Ok(0)
}
