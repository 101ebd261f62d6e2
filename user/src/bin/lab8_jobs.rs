//! lab8_jobs — lab 8 (docs/labs/lab8.md): job control in the shell the student writes,
//! /bin/tsh, driven through a real terminal. A child of the test makes a session of its
//! own with the console as its controlling terminal, starts tsh on it (stdin the terminal,
//! so tsh is interactive; stdout and stderr a pipe the test reads), and types into the
//! terminal with TIOCSTI, as a user would:
//!
//! * a foreground command runs in a process group of its own, which is the terminal's
//!   foreground group while it runs (the command reports getpgid and tcgetpgrp);
//! * ^C kills it with SIGINT (the terminal signals the foreground group — not the shell,
//!   which lives on): `$?` is 130;
//! * ^Z stops it with SIGTSTP: the shell reports `[PGID] Stopped`, `$?` is 148, and the
//!   shell has the terminal back (the next command runs);
//! * `exit 3` ends the shell with status 3.
//!
//! Linux: drivers/tty/n_tty.c (ISIG), tty_jobctrl.c; busybox ash's job control does the
//! same. On Linux: linux-oracle.sh --overlay DIR with DIR/bin/{tsh,tsh_script,lab8_jobs}.
#![no_std]
#![no_main]

use core::ffi::CStr;
use ulib::*;

const NAME: &str = "lab8_jobs";
const DIR: &CStr = c"/tmp/lab8_jobs";
const TIOCSTI: usize = 0x5412;
const PROMPT: &[u8] = b"tsh:/# ";
const TIMEOUT_NS: u64 = 20_000_000_000;

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    match (args.get(1), args.get(2)) {
        (Some("spin"), Some(file)) => spin(file),
        _ => test(),
    }
}

/// The command the test runs in the foreground: writes "PID PGID FOREGROUND-PGID" to
/// `file` (through a temporary name, so the test never reads half of it), then waits to
/// be signalled (30 s at most).
fn spin(file: &str) -> i32 {
    let me = getpid();
    let line = decimal_line(me, getpgid(0), tcgetpgrp(0));
    let mut tmp = PathBuf::new(file.as_bytes());
    tmp.push(b".tmp");
    let path = PathBuf::new(file.as_bytes());
    if write_file(tmp.as_cstr(), &line.0[..line.1]) < 0 || rename(tmp.as_cstr(), path.as_cstr()) < 0
    {
        return 1;
    }
    let deadline = clock_ns() + 30_000_000_000;
    while clock_ns() < deadline {
        nanosleep_ns(10_000_000);
    }
    0
}

/// "a b c" in decimal, in a buffer.
fn decimal_line(a: isize, b: isize, c: isize) -> ([u8; 64], usize) {
    let mut buf = [0u8; 64];
    let mut n = 0;
    for (i, v) in [a, b, c].into_iter().enumerate() {
        if i > 0 {
            buf[n] = b' ';
            n += 1;
        }
        let digits = num_arg(v.max(0) as usize);
        for &d in digits.iter().take_while(|&&d| d != 0) {
            buf[n] = d;
            n += 1;
        }
    }
    (buf, n)
}

fn test() -> i32 {
    mkdir(DIR, 0o755);
    // The session runs in a child: setsid needs a process that is not a group leader,
    // and the terminal becomes that session's.
    let pid = fork();
    if pid == 0 {
        exit_group(session());
    }
    let code = wait_exit_code(pid);
    if code == 1 {
        return 1; // it printed why
    }
    check!(NAME, code == 0, "the session's process ended with {}", code);
    remove_test_dir(NAME, DIR);
    println!("{}: ok", NAME);
    0
}

/// What the shell printed so far, read from its pipe.
struct Output {
    fd: i32,
    buf: [u8; 4096],
    len: usize,
    /// How much of `buf` the test has looked at already.
    seen: usize,
}

impl Output {
    /// Reads until `want` appears after what was already seen; returns the text before it
    /// and moves past it.
    fn expect(&mut self, want: &[u8], step: &str) -> &[u8] {
        let deadline = clock_ns() + TIMEOUT_NS;
        loop {
            if let Some(at) = self.buf[self.seen..self.len]
                .windows(want.len())
                .position(|w| w == want)
            {
                let start = self.seen;
                self.seen += at + want.len();
                return &self.buf[start..start + at];
            }
            check!(
                NAME,
                clock_ns() < deadline && self.len < self.buf.len(),
                "{}: the shell did not print {:?}; it printed {:?}",
                step,
                core::str::from_utf8(want),
                core::str::from_utf8(&self.buf[self.seen..self.len])
            );
            let r = read(self.fd, &mut self.buf[self.len..]);
            if r > 0 {
                self.len += r as usize;
            } else if r == -EAGAIN {
                nanosleep_ns(5_000_000);
            } else {
                fail!(
                    NAME,
                    "{}: the shell's output ended ({}) before {:?}; it printed {:?}",
                    step,
                    r,
                    core::str::from_utf8(want),
                    core::str::from_utf8(&self.buf[self.seen..self.len])
                );
            }
        }
    }
}

/// Types `text` into the terminal.
fn type_in(tty: i32, text: &[u8]) {
    for b in text {
        check!(
            NAME,
            ioctl(tty, TIOCSTI, b as *const u8 as usize) == 0,
            "TIOCSTI of {:#x}",
            b
        );
    }
}

/// Waits for the `spin` command's report in `file`: (pid, pgid, the terminal's
/// foreground group).
fn spin_report(file: &CStr, step: &str) -> [isize; 3] {
    let deadline = clock_ns() + TIMEOUT_NS;
    loop {
        let mut buf = [0u8; 64];
        let fd = open(file, O_RDONLY, 0);
        if fd >= 0 {
            let n = read(fd as i32, &mut buf);
            close(fd as i32);
            unlink(file);
            let text = core::str::from_utf8(&buf[..n.max(0) as usize]).unwrap_or("");
            let mut v = [0isize; 3];
            for (slot, word) in v.iter_mut().zip(text.split(' ')) {
                *slot = parse_num(word).unwrap_or(0) as isize;
            }
            return v;
        }
        check!(
            NAME,
            clock_ns() < deadline,
            "{}: the command never started",
            step
        );
        nanosleep_ns(5_000_000);
    }
}

/// The test's session: the terminal, tsh on it, and the typing.
fn session() -> i32 {
    check!(NAME, setsid() > 0, "setsid");
    // The first terminal a session leader opens becomes its controlling terminal.
    let mut tty = open(c"/dev/ttyAMA0", O_RDWR, 0);
    if tty < 0 {
        tty = open(c"/dev/console", O_RDWR, 0);
    }
    check!(NAME, tty >= 0, "cannot open the console: {}", tty);
    let tty = tty as i32;
    let [out_r, out_w] = pipe2(O_CLOEXEC).unwrap_or_else(|e| fail!(NAME, "pipe2: {}", e));
    let sh = fork();
    if sh == 0 {
        exec_with_stdio(c"/bin/tsh", &[c"tsh"], [tty, out_w, out_w]);
    }
    check!(NAME, sh > 0, "fork gave {}", sh);
    close(out_w);
    fcntl(out_r, F_SETFL, O_NONBLOCK);
    let mut out = Output {
        fd: out_r,
        buf: [0; 4096],
        len: 0,
        seen: 0,
    };
    out.expect(PROMPT, "the first prompt");

    // A foreground job: its own group, the terminal's foreground group; ^C ends it.
    type_in(tty, b"/bin/lab8_jobs spin /tmp/lab8_jobs/fg\n");
    let [pid, pgid, fg] = spin_report(c"/tmp/lab8_jobs/fg", "a foreground command");
    check!(
        NAME,
        pgid == pid && pgid != getpgid(0),
        "the foreground command (pid {}) is in process group {}, not a group of its own (the shell's is {})",
        pid,
        pgid,
        getpgid(0)
    );
    check!(
        NAME,
        fg == pgid,
        "while the command runs, the terminal's foreground group is {}, not the command's {}",
        fg,
        pgid
    );
    type_in(tty, b"\x03");
    out.expect(PROMPT, "^C");
    type_in(tty, b"/bin/tsh_script emit \"after ^C: $?\"\n");
    out.expect(b"after ^C: 130\n", "$? after ^C");
    out.expect(PROMPT, "the prompt after ^C");

    // ^Z stops the job; the shell gets the terminal back.
    type_in(tty, b"/bin/lab8_jobs spin /tmp/lab8_jobs/stop\n");
    let [_, stopped, _] = spin_report(c"/tmp/lab8_jobs/stop", "a command to stop");
    type_in(tty, b"\x1a");
    let digits = num_arg(stopped as usize);
    let digits = &digits[..digits.iter().position(|&d| d == 0).unwrap_or(0)];
    let mut report = [0u8; 48];
    let parts: [&[u8]; 3] = [b"[", digits, b"] Stopped"];
    let mut n = 0;
    for part in parts {
        report[n..n + part.len()].copy_from_slice(part);
        n += part.len();
    }
    out.expect(&report[..n], "^Z");
    out.expect(PROMPT, "the prompt after ^Z");
    type_in(tty, b"/bin/tsh_script emit \"after ^Z: $?\"\n");
    out.expect(
        b"after ^Z: 148\n",
        "$? after ^Z (the shell has the terminal back)",
    );
    out.expect(PROMPT, "the prompt after $?");
    // The stopped job is the shell's child: kill its group before the shell goes.
    check!(
        NAME,
        kill(-stopped, SIGKILL) == 0,
        "kill of the stopped group {}",
        stopped
    );

    type_in(tty, b"exit 3\n");
    let (r, status) = wait4(sh, 0);
    check!(
        NAME,
        r == sh && status == 3 << 8,
        "`exit 3`: the shell's wait status is {:#x}, not exit 3",
        status
    );
    0
}
