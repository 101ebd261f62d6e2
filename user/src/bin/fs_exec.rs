//! execve of files made at run time, as Linux 6.1 does it (every check passes on the
//! Linux oracle too): a program copied into /tmp runs; the permission and format errors
//! (EACCES without an x bit or for a directory, ENOEXEC for a file that is no ELF, ENOENT,
//! ENOTDIR, ETXTBSY for a file open for writing); `#!` scripts (fs/binfmt_script.c): the
//! interpreter gets [interpreter, optional argument, script path, the args after argv[0]],
//! scripts may name scripts up to 5 deep (fs/exec.c exec_binprm), a loop is ELOOP, and the
//! `#!` line is cut at 255 bytes; /proc/self/exe names the file that really ran.
#![no_std]
#![no_main]

use core::ffi::CStr;

use ulib::*;

const T: &str = "fs_exec";

/// The program every case runs: it prints its argv and /proc/self/exe (fs_argv_echo).
const ECHO: &CStr = c"/bin/fs_argv_echo";
/// Our copy of it in tmpfs, and the other files the test makes there.
const PROG: &CStr = c"/tmp/fs_exec.prog";
const NOX: &CStr = c"/tmp/fs_exec.nox";
const DIR: &CStr = c"/tmp/fs_exec.dir";
const TEXT: &CStr = c"/tmp/fs_exec.text";
const EMPTY: &CStr = c"/tmp/fs_exec.empty";
const SHORT_ELF: &CStr = c"/tmp/fs_exec.elf4";
const LINK: &CStr = c"/tmp/fs_exec.link";
const S_PLAIN: &CStr = c"/tmp/fs_exec.s_plain";
const S_ARG: &CStr = c"/tmp/fs_exec.s_arg";
const S_TAB: &CStr = c"/tmp/fs_exec.s_tab";
const S_NEST: &CStr = c"/tmp/fs_exec.s_nest";
const S_LOOP: &CStr = c"/tmp/fs_exec.s_loop";
const S_NOINT: &CStr = c"/tmp/fs_exec.s_noint";
const S_NOXINT: &CStr = c"/tmp/fs_exec.s_noxint";
const S_EMPTY: &CStr = c"/tmp/fs_exec.s_empty";
const S_LONGINT: &CStr = c"/tmp/fs_exec.s_longint";
const S_LONGARG: &CStr = c"/tmp/fs_exec.s_longarg";
const S_NOX: &CStr = c"/tmp/fs_exec.s_nox";
/// The chain for the nesting limit: CHAIN[0] runs PROG, CHAIN[i] runs CHAIN[i - 1].
const CHAIN: [&CStr; 6] = [
    c"/tmp/fs_exec.c1",
    c"/tmp/fs_exec.c2",
    c"/tmp/fs_exec.c3",
    c"/tmp/fs_exec.c4",
    c"/tmp/fs_exec.c5",
    c"/tmp/fs_exec.c6",
];

const FILES: [&CStr; 18] = [
    PROG, NOX, TEXT, EMPTY, SHORT_ELF, LINK, S_PLAIN, S_ARG, S_TAB, S_NEST, S_LOOP, S_NOINT,
    S_NOXINT, S_EMPTY, S_LONGINT, S_LONGARG, S_NOX, DIR,
];

/// Removes whatever the test made (also after a failure, so that tmpfs is left empty).
fn cleanup() {
    for f in FILES.iter().chain(CHAIN.iter()) {
        unlink(f);
    }
    rmdir(DIR);
}

/// Creates `path` with `contents` and then sets `mode` with fchmod (so umask has no say).
fn make_file(path: &CStr, contents: &[u8], mode: u32) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600);
    check!(T, fd >= 0, "open({:?}, O_CREAT) returned {}", path, fd);
    let w = write(fd as i32, contents);
    check!(
        T,
        w == contents.len() as isize,
        "write of {} bytes to {:?} returned {}",
        contents.len(),
        path,
        w
    );
    let r = fchmod(fd as i32, mode);
    check!(T, r == 0, "fchmod({:?}, {:o}) returned {}", path, mode, r);
    close(fd as i32);
}

/// Copies the program at `from` to `to` by read and write, with mode 0755.
fn copy_program(from: &CStr, to: &CStr) {
    let src = open(from, O_RDONLY, 0);
    check!(T, src >= 0, "open({:?}) returned {}", from, src);
    let dst = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0o600);
    check!(T, dst >= 0, "open({:?}, O_CREAT) returned {}", to, dst);
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        let n = read(src as i32, &mut buf);
        check!(T, n >= 0, "read of {:?} returned {}", from, n);
        if n == 0 {
            break;
        }
        let w = write(dst as i32, &buf[..n as usize]);
        check!(T, w == n, "write to {:?} returned {} of {}", to, w, n);
        total += n;
    }
    check!(T, total > 0, "{:?} is empty", from);
    let r = fchmod(dst as i32, 0o755);
    check!(T, r == 0, "fchmod({:?}, 0755) returned {}", to, r);
    close(src as i32);
    close(dst as i32);
}

/// What a child that called execve(path, argv) produced.
struct Outcome {
    /// The child's exit code (for a failed execve: the errno), or 128 + signal.
    code: i32,
    out: [u8; 2048],
    len: usize,
}

impl Outcome {
    fn output(&self) -> &[u8] {
        &self.out[..self.len]
    }
}

/// Runs execve(path, argv) in a child whose stdout is a pipe, and collects what it wrote.
/// A failed execve makes the child exit with the errno and write nothing.
fn run(path: &CStr, argv: &[&CStr]) -> Outcome {
    let mut ptrs = [core::ptr::null::<u8>(); 16];
    for (p, a) in ptrs.iter_mut().zip(argv) {
        *p = a.as_ptr().cast();
    }
    let envp = [core::ptr::null::<u8>()];
    let fds = pipe();
    let pid = fork();
    if pid == 0 {
        close(fds[0]);
        dup3(fds[1], 1, 0);
        close(fds[1]);
        let r = execve_slices(path.as_ptr().cast(), &ptrs, &envp);
        exit_group(-r as i32);
    }
    check!(T, pid > 0, "fork returned {}", pid);
    close(fds[1]);
    let mut o = Outcome {
        code: 0,
        out: [0; 2048],
        len: 0,
    };
    loop {
        let n = read(fds[0], &mut o.out[o.len..]);
        if n <= 0 {
            break;
        }
        o.len += n as usize;
    }
    close(fds[0]);
    o.code = wait_exit_code(pid);
    o
}

/// Checks that execve(path) failed with `errno` (and printed nothing).
fn expect_errno(what: &str, path: &CStr, errno: isize) {
    let o = run(path, &[c"x"]);
    check!(
        T,
        o.code == errno as i32 && o.len == 0,
        "{}: execve({:?}) gave exit code {} (the errno if it failed), Linux: errno {}",
        what,
        path,
        o.code,
        errno
    );
}

/// The output fs_argv_echo gives for `argv` when /proc/self/exe is `exe`.
fn echo_output(argv: &[&[u8]], exe: &[u8], buf: &mut [u8; 2048]) -> usize {
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        buf[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    };
    for a in argv {
        put(a);
        put(b"\0");
    }
    put(b"\n");
    put(exe);
    put(b"\n");
    n
}

/// Runs `path` with `argv` and checks that the program really run was PROG (or `exe`)
/// with the argv `want` and exit code 0.
fn expect_echo(what: &str, path: &CStr, argv: &[&CStr], want: &[&[u8]], exe: &CStr) {
    let o = run(path, argv);
    check!(
        T,
        o.code == 0,
        "{}: execve({:?}) gave exit code {} (the errno if it failed)",
        what,
        path,
        o.code
    );
    let mut buf = [0u8; 2048];
    let n = echo_output(want, exe.to_bytes(), &mut buf);
    check!(
        T,
        o.output() == &buf[..n],
        "{}: the program printed {:?} (argv NUL-separated, then /proc/self/exe), want {:?}",
        what,
        core::str::from_utf8(o.output()).unwrap_or("<not UTF-8>"),
        core::str::from_utf8(&buf[..n]).unwrap_or("<not UTF-8>")
    );
}

fn programs() {
    copy_program(ECHO, PROG);
    expect_echo(
        "a copy in tmpfs",
        PROG,
        &[c"name", c"a", c"b c", c""],
        &[b"name", b"a", b"b c", b""],
        PROG,
    );
    // /proc/self/exe is the file, not the symlink execve was given.
    let r = symlinkat(PROG, AT_FDCWD, LINK);
    check!(
        T,
        r == 0,
        "symlinkat({:?}, {:?}) returned {}",
        PROG,
        LINK,
        r
    );
    expect_echo("through a symlink", LINK, &[c"l"], &[b"l"], PROG);

    // Even root needs an x bit to execute a file.
    copy_program(ECHO, NOX);
    let fd = open(NOX, O_RDONLY, 0);
    fchmod(fd as i32, 0o644);
    close(fd as i32);
    expect_errno("mode 0644", NOX, EACCES);
    let r = mkdir(DIR, 0o755);
    check!(T, r == 0, "mkdir({:?}) returned {}", DIR, r);
    expect_errno("a directory", DIR, EACCES);
    make_file(TEXT, b"hello, I am text\n", 0o755);
    expect_errno("a text file with x", TEXT, ENOEXEC);
    make_file(EMPTY, b"", 0o755);
    expect_errno("an empty file with x", EMPTY, ENOEXEC);
    make_file(SHORT_ELF, b"\x7fELF", 0o755);
    expect_errno("the ELF magic alone", SHORT_ELF, ENOEXEC);
    expect_errno("a missing file", c"/tmp/fs_exec.missing", ENOENT);
    expect_errno(
        "a file used as a directory",
        c"/tmp/fs_exec.prog/x",
        ENOTDIR,
    );
    expect_errno("in a missing directory", c"/tmp/fs_exec.missing/x", ENOENT);

    // A file someone has open for writing cannot be executed (deny_write_access).
    let fd = open(PROG, O_WRONLY, 0);
    check!(T, fd >= 0, "open({:?}, O_WRONLY) returned {}", PROG, fd);
    expect_errno("open for writing", PROG, ETXTBSY);
    close(fd as i32);
    expect_echo("closed again", PROG, &[c"again"], &[b"again"], PROG);
}

fn scripts() {
    let p = PROG.to_bytes();
    // The interpreter gets: its path as the #! line spells it, the script's path as
    // execve got it, then the original argv without argv[0].
    make_file(
        S_PLAIN,
        b"#!/tmp/fs_exec.prog\nthe rest is ignored\n",
        0o755,
    );
    expect_echo(
        "#!PROG",
        S_PLAIN,
        &[c"zero", c"one", c"two"],
        &[p, S_PLAIN.to_bytes(), b"one", b"two"],
        PROG,
    );
    // Blanks after #! are skipped; after the interpreter, the rest of the line is one
    // argument with the blanks at both ends trimmed and those inside kept.
    make_file(S_ARG, b"#!  /tmp/fs_exec.prog   -x  y \t \nexit 1\n", 0o755);
    expect_echo(
        "#! PROG -x  y",
        S_ARG,
        &[c"zero", c"one"],
        &[p, b"-x  y", S_ARG.to_bytes(), b"one"],
        PROG,
    );
    make_file(S_TAB, b"#!\t/tmp/fs_exec.prog\t-t\n", 0o755);
    expect_echo(
        "tabs",
        S_TAB,
        &[c"zero"],
        &[p, b"-t", S_TAB.to_bytes()],
        PROG,
    );
    // Through /bin's program too: /proc/self/exe follows the interpreter.
    make_file(S_NEST, b"#!/tmp/fs_exec.s_arg  nested\n", 0o755);
    expect_echo(
        "a script whose interpreter is a script",
        S_NEST,
        &[c"zero", c"one"],
        &[
            p,
            b"-x  y",
            S_ARG.to_bytes(),
            b"nested",
            S_NEST.to_bytes(),
            b"one",
        ],
        PROG,
    );
    // Linux tries at most 6 binary handlers (exec_binprm: depth > 5 is ELOOP): a chain of
    // 5 scripts runs, 6 do not.
    let mut line = [0u8; 64];
    for (i, c) in CHAIN.iter().enumerate() {
        let target = if i == 0 { PROG } else { CHAIN[i - 1] };
        let t = target.to_bytes();
        line[..2].copy_from_slice(b"#!");
        line[2..2 + t.len()].copy_from_slice(t);
        line[2 + t.len()] = b'\n';
        make_file(c, &line[..3 + t.len()], 0o755);
    }
    let c = |i: usize| CHAIN[i].to_bytes();
    expect_echo(
        "5 scripts deep",
        CHAIN[4],
        &[c"zero", c"one"],
        &[p, c(0), c(1), c(2), c(3), c(4), b"one"],
        PROG,
    );
    expect_errno("6 scripts deep", CHAIN[5], ELOOP);
    make_file(S_LOOP, b"#!/tmp/fs_exec.s_loop\n", 0o755);
    expect_errno("a script that names itself", S_LOOP, ELOOP);

    make_file(S_NOINT, b"#!/tmp/fs_exec.missing\n", 0o755);
    expect_errno("a missing interpreter", S_NOINT, ENOENT);
    make_file(S_NOXINT, b"#!/tmp/fs_exec.nox\n", 0o755);
    expect_errno("an interpreter without x", S_NOXINT, EACCES);
    make_file(S_EMPTY, b"#!   \n", 0o755);
    expect_errno("no interpreter named", S_EMPTY, ENOEXEC);
    make_file(S_NOX, b"#!/tmp/fs_exec.prog\n", 0o644);
    expect_errno("a script without x", S_NOX, EACCES);

    // Linux reads the first 256 bytes (BINPRM_BUF_SIZE). An interpreter path that does
    // not end within them may be cut short: ENOEXEC.
    let mut long = [b'a'; 400];
    long[..3].copy_from_slice(b"#!/");
    long[399] = b'\n';
    make_file(S_LONGINT, &long, 0o755);
    expect_errno("a 397-byte interpreter path", S_LONGINT, ENOEXEC);
    // An argument that does not end within them is cut at byte 255.
    let head = b"#!/tmp/fs_exec.prog ";
    long[..head.len()].copy_from_slice(head);
    make_file(S_LONGARG, &long, 0o755);
    expect_echo(
        "a 379-byte argument",
        S_LONGARG,
        &[c"zero"],
        &[p, &long[head.len()..255], S_LONGARG.to_bytes()],
        PROG,
    );
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    cleanup(); // a previous run that crashed may have left files behind
    let baseline = settled_mem_usage();
    // The tests run in a child; its parent removes the files whatever happened, and then
    // the frames must be back (a file left in tmpfs would hold its pages).
    run_test_process(T, baseline, || {
        let code = wait_exit_code(spawn(|| {
            programs();
            scripts();
            0
        }));
        cleanup();
        code
    });
    println!("{}: ok", T);
    0
}
