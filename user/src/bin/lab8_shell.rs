//! lab8_shell — lab 8 (docs/labs/lab8.md): drives the shell the student writes, /bin/tsh,
//! with a script, and checks what the script prints and its exit status. The same script
//! then runs under busybox's sh (when the machine has /bin/busybox), which must print the
//! same: the expectations are a POSIX shell's, not tsh's.
//!
//! What it checks of the shell (its fork, execve, wait4, pipe2, dup3 and open): a pipeline
//! of three carrying 200,000 bytes (more than a pipe holds, so every stage must run at
//! once, and the last sees end of file only if every copy of each write end was closed);
//! that a command in a pipeline has only fds 0, 1 and 2; `>` creating and truncating, `>>`
//! appending, `<` and `>` on one command, `<` of a missing file (status 1, the command not
//! run); `$?` after an exit code, a pipeline (its last command's), a command killed by
//! SIGTERM (143), a missing program (127); background jobs (`&`) that run while the script
//! goes on, with stdin from /dev/null (POSIX, without job control), collected by `wait`;
//! `cd` and a relative redirection; `exit N`. The commands are this program itself
//! (`lab8_shell gen 100 | ...`, like busybox applets) and tsh_script's (emit, upper,
//! status, touch, absent, waitfor), so the test needs nothing but the shell. On Linux:
//! linux-oracle.sh --overlay DIR with DIR/bin/{tsh,tsh_script,lab8_shell,busybox}.
#![no_std]
#![no_main]

use core::ffi::CStr;
use ulib::*;

const NAME: &str = "lab8_shell";
const DIR: &CStr = c"/tmp/lab8_shell";

/// The script (the shell gets it as a file), and what it must print on stdout.
const SCRIPT: &[u8] = br#"# pipelines: 200000 bytes through three processes
/bin/lab8_shell gen 200000 | /bin/tsh_script upper | /bin/lab8_shell count
/bin/lab8_shell gen 10 | /bin/lab8_shell fds | /bin/tsh_script upper
/bin/lab8_shell fds
# redirections
/bin/tsh_script emit first > /tmp/lab8_shell/f
/bin/tsh_script emit second >> /tmp/lab8_shell/f
/bin/tsh_script upper < /tmp/lab8_shell/f
/bin/tsh_script emit short > /tmp/lab8_shell/f
/bin/tsh_script upper < /tmp/lab8_shell/f > /tmp/lab8_shell/g
/bin/tsh_script emit g: ; /bin/tsh_script upper < /tmp/lab8_shell/g
/bin/tsh_script emit never run < /tmp/lab8_shell/missing
/bin/tsh_script emit "missing input: $?"
# exit statuses
/bin/tsh_script status 3; /bin/tsh_script emit "status: $?"
/bin/tsh_script status 3 | /bin/tsh_script status 0; /bin/tsh_script emit "pipeline: $?"
/bin/lab8_shell killself; /bin/tsh_script emit "killed: $?"
/bin/lab8_shell_missing; /bin/tsh_script emit "not found: $?"
# background jobs
/bin/tsh_script waitfor /tmp/lab8_shell/go /tmp/lab8_shell/bg1 &
/bin/lab8_shell stdin > /tmp/lab8_shell/bg2 &
/bin/tsh_script absent /tmp/lab8_shell/bg1; /bin/tsh_script emit "bg1 still waiting: $?"
/bin/tsh_script touch /tmp/lab8_shell/go
wait
/bin/tsh_script upper < /tmp/lab8_shell/bg1
/bin/tsh_script upper < /tmp/lab8_shell/bg2
/bin/tsh_script status 5 & /bin/tsh_script emit "after &: $?"; wait
# cd
cd /tmp/lab8_shell
/bin/tsh_script emit relative > rel; /bin/tsh_script upper < rel
exit 4
"#;
const WANT: &[u8] = b"200000 bytes, sum 15287422
FDS: 0 1 2
fds: 0 1 2
FIRST
SECOND
g:
SHORT
missing input: 1
status: 3
pipeline: 0
killed: 143
not found: 127
bg1 still waiting: 0
BACKGROUND JOB DONE
STDIN: 0 BYTES
after &: 0
RELATIVE
";
const WANT_STATUS: i32 = 4;
/// What the test gives the shell as its stdin: a background job must not read it.
const SHELL_STDIN: &[u8] = b"the test's stdin\n";

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    match args.get(1) {
        Some(cmd) => applet(cmd, &args),
        None => test(),
    }
}

/// The script's commands.
fn applet(cmd: &str, args: &Args) -> i32 {
    let arg = |i| args.get(i).unwrap_or("");
    match cmd {
        // N bytes: lines of 63 letters.
        "gen" => {
            let n = parse_num(arg(2)).unwrap_or(0);
            let mut buf = [0u8; 4096];
            let mut sent = 0;
            while sent < n {
                let len = buf.len().min(n - sent);
                for (i, b) in buf[..len].iter_mut().enumerate() {
                    let at = sent + i;
                    *b = if at % 64 == 63 {
                        b'\n'
                    } else {
                        b'a' + (at % 26) as u8
                    };
                }
                if write(1, &buf[..len]) != len as isize {
                    return 1;
                }
                sent += len;
            }
            0
        }
        // stdin's byte count and sum.
        "count" => {
            let (mut n, mut sum) = (0usize, 0usize);
            let mut buf = [0u8; 4096];
            loop {
                let r = read(0, &mut buf);
                if r <= 0 {
                    println!("{} bytes, sum {}", n, sum);
                    return (r < 0) as i32;
                }
                n += r as usize;
                sum += buf[..r as usize].iter().map(|&b| b as usize).sum::<usize>();
            }
        }
        // The open fds among 0..64.
        "fds" => {
            print!("fds:");
            for fd in 0..64 {
                if fcntl(fd, F_GETFD, 0) >= 0 {
                    print!(" {}", fd);
                }
            }
            println!();
            0
        }
        // How much stdin held (a background job's is /dev/null).
        "stdin" => {
            let mut buf = [0u8; 256];
            let mut n = 0;
            loop {
                let r = read(0, &mut buf);
                if r <= 0 {
                    break;
                }
                n += r as usize;
            }
            println!("stdin: {} bytes", n);
            0
        }
        "killself" => {
            kill(getpid(), SIGTERM);
            100
        }
        _ => 100,
    }
}

fn test() -> i32 {
    mkdir(DIR, 0o755);
    check!(
        NAME,
        write_file(c"/tmp/lab8_shell/script", SCRIPT) > 0,
        "cannot write the script"
    );
    run_script(c"/bin/tsh", c"tsh");
    // The same script under busybox's shell: the expectations are not tsh's own.
    if stat(c"/bin/busybox").is_ok() {
        run_script(c"/bin/busybox", c"sh");
    }
    check!(
        NAME,
        unlink(c"/tmp/lab8_shell/script") == 0,
        "the script is missing"
    );
    remove_test_dir(NAME, DIR);
    println!("{}: ok", NAME);
    0
}

/// Runs the script with `shell` (argv[0] `name`), checks its output, its error output
/// and its status, and removes the files it made.
fn run_script(shell: &CStr, name: &CStr) {
    let who = name.to_str().unwrap_or("?");
    let (status, out, n, err, en) = run_shell(shell, &[name, c"/tmp/lab8_shell/script"]);
    let got = &out[..n];
    let errors = core::str::from_utf8(&err[..en]).unwrap_or("(not UTF-8)");
    check!(
        NAME,
        got == WANT,
        "{}: the script printed\n{}\ninstead of\n{}\n(and on stderr: {})",
        who,
        core::str::from_utf8(got).unwrap_or("(not UTF-8)"),
        core::str::from_utf8(WANT).unwrap_or(""),
        errors
    );
    check!(
        NAME,
        status == WANT_STATUS << 8,
        "{}: the shell's wait status is {:#x}, not exit {} (stderr: {})",
        who,
        status,
        WANT_STATUS,
        errors
    );
    // The errors name what failed: the missing file, the missing program.
    for what in ["missing", "lab8_shell_missing"] {
        check!(
            NAME,
            errors.contains(what),
            "{}: nothing on stderr names {:?}: {:?}",
            who,
            what,
            errors
        );
    }
    for f in [c"f", c"g", c"go", c"bg1", c"bg2", c"rel"] {
        let mut path = PathBuf::new(b"/tmp/lab8_shell/");
        path.push(f.to_bytes());
        check!(
            NAME,
            unlink(path.as_cstr()) == 0,
            "{}: {:?} is missing",
            who,
            path.as_cstr()
        );
    }
}

/// Runs `shell` with `argv`: stdin a pipe holding SHELL_STDIN, stdout and stderr pipes;
/// returns its wait status, stdout and stderr. Gives up (kills it) after 30 seconds.
fn run_shell(shell: &CStr, argv: &[&CStr]) -> (i32, [u8; 2048], usize, [u8; 1024], usize) {
    let pipe = || pipe2(O_CLOEXEC).unwrap_or_else(|e| fail!(NAME, "pipe2: {}", e));
    let ([in_r, in_w], [out_r, out_w], [err_r, err_w]) = (pipe(), pipe(), pipe());
    check!(
        NAME,
        write(in_w, SHELL_STDIN) == SHELL_STDIN.len() as isize,
        "write to the stdin pipe"
    );
    close(in_w);
    let pid = fork();
    if pid == 0 {
        exec_with_stdio(shell, argv, [in_r, out_w, err_w]);
    }
    check!(NAME, pid > 0, "fork gave {}", pid);
    for fd in [in_r, out_w, err_w] {
        close(fd);
    }
    // stdout until end of file (every holder of its write end exited), then stderr.
    let deadline = clock_ns() + 30_000_000_000;
    let mut out = [0u8; 2048];
    let mut n = 0;
    let mut err = [0u8; 1024];
    let mut en = 0;
    let mut open = [true, true];
    while open.iter().any(|&o| o) {
        if clock_ns() > deadline {
            kill(pid, SIGKILL);
            fail!(
                NAME,
                "{:?}: the shell or one of its commands did not finish in 30 s (a pipe's write end left open, or a job never reaped?); it printed {:?}",
                shell,
                core::str::from_utf8(&out[..n])
            );
        }
        let mut progress = false;
        for (i, (fd, buf, len)) in [
            (out_r, &mut out[..], &mut n),
            (err_r, &mut err[..], &mut en),
        ]
        .into_iter()
        .enumerate()
        {
            if !open[i] {
                continue;
            }
            fcntl(fd, F_SETFL, O_NONBLOCK);
            let room = buf.len() - *len;
            let r = read(fd, &mut buf[*len..]);
            if r > 0 {
                *len += r as usize;
                progress = true;
            } else if r == 0 || room == 0 || r != -EAGAIN {
                open[i] = false;
            }
        }
        if !progress {
            nanosleep_ns(2_000_000);
        }
    }
    close(out_r);
    close(err_r);
    let (_, status) = wait4(pid, 0);
    (status, out, n, err, en)
}
