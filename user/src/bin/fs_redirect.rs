//! What a shell does with redirections and pipes, built from fork, open, dup3, pipe,
//! execve and wait4:
//!   hello > /tmp/fs_redirect/out      (O_CREAT|O_TRUNC over an older, longer file)
//!   hello >> /tmp/fs_redirect/out     (O_APPEND: the second output after the first)
//!   upper < in > out                  (stdin from a file)
//!   hello | upper > out               (a pipeline of two children)
//! `hello` is /bin/hello (user/src/bin/hello.rs); `upper` is this program re-run with the
//! argument `upper`: it copies stdin to stdout in capitals, then writes "N LINES", and
//! fails if the shell left it any descriptor but 0, 1 and 2.
//!
//! On Linux run it with `linux-oracle.sh --overlay DIR` where DIR/bin/hello is the build's
//! hello, so that /bin/hello exists there too. Files live under /tmp/fs_redirect and are
//! removed at the end; the body runs twice in a child process (a warm-up, then a run whose
//! frames and heap must come back).
#![no_std]
#![no_main]

use core::ffi::CStr;
use core::fmt::Write;

use ulib::*;

const T: &str = "fs_redirect";
const DIR: &CStr = c"/tmp/fs_redirect";
const OUT: &CStr = c"/tmp/fs_redirect/out";
const IN: &CStr = c"/tmp/fs_redirect/in";
const HELLO: &CStr = c"/bin/hello";

/// Text built with write!() in a fixed buffer.
struct Text {
    buf: [u8; 1024],
    len: usize,
}

impl Text {
    fn new() -> Text {
        Text {
            buf: [0; 1024],
            len: 0,
        }
    }
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for Text {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(core::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

fn show(b: &[u8]) -> &str {
    core::str::from_utf8(b).unwrap_or("(not UTF-8)")
}

/// The `upper` filter (run by execve): stdin to stdout in capitals, then "N LINES".
/// Exit 0, or 3 if a descriptor other than 0-2 was open, 4 if a read or write failed.
fn upper() -> i32 {
    // A shell closes its pipe and file descriptors after dup3 (or opens them close-on-
    // exec): anything else left open here would keep a pipe from reaching EOF.
    if (3..64).any(|fd| fcntl(fd, F_GETFD, 0) != -EBADF) {
        return 3;
    }
    let mut buf = [0u8; 256];
    let mut lines = 0;
    loop {
        let n = read(0, &mut buf);
        if n < 0 {
            return 4;
        }
        if n == 0 {
            break;
        }
        let chunk = &mut buf[..n as usize];
        lines += chunk.iter().filter(|&&b| b == b'\n').count();
        chunk.make_ascii_uppercase();
        if write(1, chunk) != n {
            return 4;
        }
    }
    let mut t = Text::new();
    let _ = writeln!(t, "{} LINES", lines);
    if write(1, t.bytes()) != t.len as isize {
        return 4;
    }
    0
}

/// In a forked child: makes `fd` descriptor `to` (dup3) and closes the original.
fn redirect(fd: i32, to: i32) {
    if fd != to {
        if dup3(fd, to, 0) != to as isize {
            println!("{}: FAILED dup3({}, {}) in the child", T, fd, to);
            exit_group(1);
        }
        close(fd);
    }
}

/// In a forked child: execve(path, argv) with an empty environment; only returns to fail.
fn exec(path: &CStr, argv: &[*const u8]) -> ! {
    let envp: [*const u8; 1] = [core::ptr::null()];
    let r = execve_slices(path.as_ptr().cast(), argv, &envp);
    // stdout may be a file or a pipe by now: say it on stderr.
    let mut t = Text::new();
    let _ = writeln!(
        t,
        "{}: FAILED execve {:?} gave {} (on Linux: linux-oracle.sh --overlay DIR with DIR/bin/hello)",
        T, path, r
    );
    write(2, t.bytes());
    exit_group(1)
}

/// Waits for a child the test started; a child that failed has printed why.
fn wait_ok(what: &str, pid: isize) {
    let code = wait_exit_code(pid);
    if code == 1 {
        exit_group(1);
    }
    check!(T, code == 0, "{}: exited with {}", what, code);
}

/// `hello > OUT` (or `>>` with `append`): returns the pid hello ran as.
fn hello_to_file(append: bool) -> isize {
    let pid = fork();
    if pid == 0 {
        let mode = if append { O_APPEND } else { O_TRUNC };
        let fd = open(OUT, O_WRONLY | O_CREAT | mode, 0o644);
        if fd < 0 {
            println!("{}: FAILED open of the output in the child gave {}", T, fd);
            exit_group(1);
        }
        redirect(fd as i32, 1);
        exec(HELLO, &[c"hello".as_ptr().cast(), core::ptr::null()]);
    }
    check!(T, pid > 0, "fork gave {}", pid);
    wait_ok("hello > out", pid);
    pid
}

/// What /bin/hello (hello.rs) prints as process `pid`, after the fact: its child's pid
/// and the kernel's counters are not known in advance, so they are read from `got`'s
/// lines 2 and 4 and the rest is compared exactly. Returns the expected text.
fn expected_hello(pid: isize, got: &[u8], upper: bool) -> Text {
    let mut lines = got.split(|&b| b == b'\n');
    let (_, l2, _, l4) = (lines.next(), lines.next(), lines.next(), lines.next());
    // Line 2: "  child: fork() returned 0; my pid is Q, my parent is P".
    let l2 = l2.unwrap_or(b"");
    let key: &[u8] = if upper { b"MY PID IS " } else { b"my pid is " };
    let child = l2
        .windows(key.len())
        .position(|w| w == key)
        .map(|i| &l2[i + key.len()..])
        .map(|rest| &rest[..rest.iter().position(|&b| b == b',').unwrap_or(0)])
        .unwrap_or(b"?");
    let l4 = l4.unwrap_or(b"");
    let mut t = Text::new();
    let _ = write!(
        t,
        "hello from user space: pid {pid}, tid {pid}\n  child: fork() returned 0; my pid is {c}, my parent is {pid}\n  parent: fork() returned {c}; the child exited with 7\n",
        c = show(child)
    );
    // Line 4 ("frames in use: ...; copy-on-write copies so far: ...") holds the kernel's
    // counters (meaningless numbers on Linux): only its start is fixed.
    let start: &[u8] = if upper {
        b"FRAMES IN USE: "
    } else {
        b"frames in use: "
    };
    if l4.starts_with(start) {
        let _ = writeln!(t, "{}", show(l4));
    } else {
        let _ = writeln!(t, "frames in use: ...");
    }
    if upper {
        t.buf[..t.len].make_ascii_uppercase();
    }
    t
}

fn read_out(buf: &mut [u8]) -> &[u8] {
    let n = read_file(OUT, buf);
    check!(T, n >= 0, "read of {:?} gave {}", OUT, n);
    &buf[..n as usize]
}

fn to_file() {
    // An older, longer file: O_TRUNC must empty it first.
    let junk = [b'#'; 700];
    check!(T, write_file(OUT, &junk) == 700, "write the old out");
    let pid = hello_to_file(false);
    let mut buf = [0u8; 1024];
    let got = read_out(&mut buf);
    let want = expected_hello(pid, got, false);
    check!(
        T,
        got == want.bytes(),
        "hello > out: the file holds\n{}\nwant\n{}",
        show(got),
        show(want.bytes())
    );
    let first = got.len();

    // >> appends a second run's output after the first.
    let pid2 = hello_to_file(true);
    let mut buf = [0u8; 1024];
    let got = read_out(&mut buf);
    check!(
        T,
        got.len() > first,
        "hello >> out: the file has {} bytes, {} before",
        got.len(),
        first
    );
    let want = expected_hello(pid2, &got[first..], false);
    check!(
        T,
        &got[first..] == want.bytes(),
        "hello >> out: after the first output the file holds\n{}\nwant\n{}",
        show(&got[first..]),
        show(want.bytes())
    );
}

fn from_file(self_path: &[u8; 128]) {
    check!(
        T,
        write_file(IN, b"one\ntwo two\nthree: 3\n") == 21,
        "write in"
    );
    let pid = fork();
    if pid == 0 {
        let i = open(IN, O_RDONLY, 0);
        let o = open(OUT, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
        if i < 0 || o < 0 {
            println!("{}: FAILED open in the child: in {}, out {}", T, i, o);
            exit_group(1);
        }
        redirect(i as i32, 0);
        redirect(o as i32, 1);
        exec(
            CStr::from_bytes_until_nul(self_path).unwrap(),
            &[
                self_path.as_ptr(),
                c"upper".as_ptr().cast(),
                core::ptr::null(),
            ],
        );
    }
    check!(T, pid > 0, "fork gave {}", pid);
    let code = wait_exit_code(pid);
    check!(
        T,
        code == 0,
        "upper < in > out: exited with {} (3: a stray descriptor, 4: an I/O error)",
        code
    );
    let mut buf = [0u8; 1024];
    let got = read_out(&mut buf);
    let want = b"ONE\nTWO TWO\nTHREE: 3\n3 LINES\n";
    check!(
        T,
        got == want,
        "upper < in > out: the file holds\n{}",
        show(got)
    );
    check!(T, unlink(IN) == 0, "unlink in");
}

fn pipeline(self_path: &[u8; 128]) {
    let p = pipe();
    // hello | ...
    let left = fork();
    if left == 0 {
        close(p[0]);
        redirect(p[1], 1);
        exec(HELLO, &[c"hello".as_ptr().cast(), core::ptr::null()]);
    }
    check!(T, left > 0, "fork gave {}", left);
    // ... | upper > out
    let right = fork();
    if right == 0 {
        close(p[1]);
        redirect(p[0], 0);
        let o = open(OUT, O_WRONLY | O_CREAT | O_TRUNC, 0o644);
        if o < 0 {
            println!("{}: FAILED open of the output in the child gave {}", T, o);
            exit_group(1);
        }
        redirect(o as i32, 1);
        exec(
            CStr::from_bytes_until_nul(self_path).unwrap(),
            &[
                self_path.as_ptr(),
                c"upper".as_ptr().cast(),
                core::ptr::null(),
            ],
        );
    }
    check!(T, right > 0, "fork gave {}", right);
    // The shell must close both ends, or upper never sees EOF.
    close(p[0]);
    close(p[1]);
    wait_ok("hello (left of the pipe)", left);
    let code = wait_exit_code(right);
    check!(
        T,
        code == 0,
        "upper (right of the pipe): exited with {} (3: a stray descriptor, 4: an I/O error)",
        code
    );
    let mut buf = [0u8; 1024];
    let got = read_out(&mut buf);
    let mut want = expected_hello(left, got, true);
    let _ = writeln!(want, "4 LINES");
    check!(
        T,
        got == want.bytes(),
        "hello | upper > out: the file holds\n{}\nwant\n{}",
        show(got),
        show(want.bytes())
    );
}

fn body(self_path: &[u8; 128]) -> i32 {
    // Start from descriptors 0-2 only, as a shell's child would (whatever started this
    // test may have left more open), so that `upper` can check for strays.
    for fd in 3..64 {
        close(fd);
    }
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir {:?} gave {}", DIR, r);
    to_file();
    from_file(self_path);
    pipeline(self_path);
    check!(T, unlink(OUT) == 0, "unlink out");
    remove_test_dir(T, DIR);
    0
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    if args.get(1) == Some("upper") {
        return upper();
    }
    let path = args.self_path();
    // The first run fills whatever caches the kernel keeps; the second must give back
    // every frame and heap byte it takes.
    run_test_process(T, None, || body(&path));
    let baseline = settled_mem_usage();
    run_test_process(T, baseline, || body(&path));
    println!("{}: ok", T);
    0
}
