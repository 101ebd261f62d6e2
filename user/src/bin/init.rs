//! /sbin/init: the machine's first process (pid 1) when `make run` is given no INIT.
//! It does what a small Linux init does (busybox's init/init.c, sysvinit):
//!
//! 1. makes sure /proc, /dev and /tmp are mounted (the kernel mounts them already;
//!    an init must not rely on that), and that fds 0-2 are the console;
//! 2. starts the shell — /bin/sh (busybox), or /bin/tsh when there is no /bin/sh —
//!    in a new session (setsid) whose controlling terminal is the console (TIOCSCTTY)
//!    and whose foreground group is the shell's (TIOCSPGRP);
//! 3. reaps every process that ends up as its child (orphans are reparented to pid 1);
//! 4. when the shell exits: stops every other process (SIGTERM, then SIGKILL) and exits
//!    with the shell's status, which the kernel turns into QEMU's exit status;
//! 5. on busybox's `halt`, `poweroff` and `reboot` (SIGUSR1, SIGUSR2 and SIGTERM to pid 1,
//!    busybox init/halt.c): stops every other process, then reboot(2).
//!
//! `init [PROGRAM [ARG...]]` runs PROGRAM (a NAME without a slash is /bin/NAME) instead of
//! the shell: `make run ARGS=tsh` boots into the project's own shell, `make run
//! ARGS='sh -c "ls /"'` runs one command.
#![no_std]
#![no_main]

use core::ffi::CStr;
use ulib::*;

/// The shells tried in turn, the first that exists wins.
const SHELLS: [&CStr; 2] = [c"/bin/sh", c"/bin/tsh"];

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    console_on_fds();
    for (dir, fstype) in [
        (c"/proc", c"proc"),
        (c"/dev", c"devtmpfs"),
        (c"/tmp", c"tmpfs"),
    ] {
        mount_if_missing(dir, fstype);
    }
    // Block the shutdown signals in the handler, so that one request runs at a time.
    let shutdown_mask = sigbit(SIGUSR1) | sigbit(SIGUSR2) | sigbit(SIGTERM);
    for sig in [SIGUSR1, SIGUSR2, SIGTERM] {
        sigaction(
            sig,
            on_shutdown_signal as *const () as usize,
            0,
            shutdown_mask,
        );
    }

    let shell = start_shell(&args);
    let status = reap_until(shell);
    let code = exit_code(status);
    println!("init: the shell exited with status {}; powering off", code);
    stop_other_processes(false);
    code
}

/// Linux `console_on_rootfs`: the kernel opens the console as init's fds 0-2; if it did
/// not, init does it here (O_NOCTTY: init itself never has a controlling terminal).
fn console_on_fds() {
    if fd_is_open(0) && fd_is_open(1) && fd_is_open(2) {
        return;
    }
    let fd = open(c"/dev/console", O_RDWR | O_NOCTTY, 0);
    if fd >= 0 {
        for n in 0..3 {
            if !fd_is_open(n) {
                dup3(fd as i32, n, 0);
            }
        }
        if fd > 2 {
            close(fd as i32);
        }
    }
}

/// Mounts `fstype` on `dir` unless something is mounted there already: a mount point
/// lies on another device (st_dev) than the root.
fn mount_if_missing(dir: &CStr, fstype: &CStr) {
    mkdir(dir, 0o755); // EEXIST is the usual case
    let (Ok(root), Ok(here)) = (stat(c"/"), stat(dir)) else {
        println!("init: cannot stat {:?}", dir);
        return;
    };
    if root.dev != here.dev {
        return;
    }
    let r = mount(fstype, dir, fstype, 0, 0);
    if r < 0 {
        println!("init: mount {:?} on {:?}: error {}", fstype, dir, -r);
    }
}

/// Forks the shell (or init's arguments) as the leader of a new session on the console.
fn start_shell(args: &Args) -> isize {
    let mut argv: [*const u8; 32] = [core::ptr::null(); 32];
    let mut path = PathBuf::new(b"");
    if args.argc > 1 {
        // init's own arguments are the program to run (NAME is /bin/NAME) and its
        // arguments.
        let own = own_argv(args);
        let n = (args.argc - 1).min(argv.len() - 1);
        argv[..n].copy_from_slice(&own[1..=n]);
        let prog = args.get(1).unwrap_or("");
        if !prog.contains('/') {
            path.push(b"/bin/");
        }
        path.push(prog.as_bytes());
    } else {
        let shell = SHELLS
            .into_iter()
            .find(|s| stat(s).is_ok())
            .unwrap_or(SHELLS[0]);
        path.push(shell.to_bytes());
        argv[0] = c"sh".as_ptr();
    }
    // busybox init's environment for what it starts (init/init.c), with the terminal
    // type the kernel gave init.
    let mut term = [0u8; 64];
    let t = args.env("TERM").unwrap_or("vt100").as_bytes();
    let n = t.len().min(term.len() - 6);
    term[..5].copy_from_slice(b"TERM=");
    term[5..5 + n].copy_from_slice(&t[..n]);
    let envp: [*const u8; 6] = [
        c"HOME=/".as_ptr(),
        c"PATH=/sbin:/usr/sbin:/bin:/usr/bin".as_ptr(),
        c"SHELL=/bin/sh".as_ptr(),
        c"USER=root".as_ptr(),
        term.as_ptr(),
        core::ptr::null(),
    ];

    let pid = fork();
    if pid != 0 {
        if pid < 0 {
            println!("init: fork failed: error {}", -pid);
            exit_group(1);
        }
        return pid;
    }
    // The child: a new session, the console as its controlling terminal and its fds 0-2,
    // its own process group in the foreground.
    setsid();
    let fd = open(c"/dev/console", O_RDWR, 0);
    if fd < 0 {
        println!("init: cannot open /dev/console: error {}", -fd);
        exit_group(1);
    }
    let r = ioctl(fd as i32, TIOCSCTTY, 0);
    if r < 0 {
        println!("init: TIOCSCTTY: error {}", -r);
    }
    for n in 0..3 {
        dup3(fd as i32, n, 0);
    }
    if fd > 2 {
        close(fd as i32);
    }
    tcsetpgrp(0, getpid());
    // Signals blocked in init stay blocked across fork and execve: unblock them.
    sigprocmask(SIG_SETMASK, 0);
    let r = execve_slices(path.as_cstr().as_ptr(), &argv, &envp);
    println!("init: cannot run {:?}: error {}", path.as_cstr(), -r);
    exit_group(127)
}

/// init's argv as a slice (argc entries, then the NULL).
fn own_argv(args: &Args) -> &'static [*const u8] {
    // SAFETY: the kernel laid out argc + 1 pointers (the last NULL) on the initial stack,
    // which lives as long as the program.
    unsafe { core::slice::from_raw_parts(args.argv(), args.argc + 1) }
}

/// Reaps children (the shell, and orphans reparented to init) until `shell` has exited;
/// returns its wait status.
fn reap_until(shell: isize) -> i32 {
    loop {
        let (pid, status) = wait4(-1, 0);
        if pid == shell {
            return status;
        }
        if pid == -ECHILD {
            return 127 << 8; // cannot happen: the shell is a child until it is reaped
        }
        // Anything else is an orphan that ended (or EINTR): nothing to do.
    }
}

/// The shell's exit status as a shell reports it: its code, or 128 + the signal.
fn exit_code(status: i32) -> i32 {
    match status_signal(status) {
        Some(sig) => 128 + sig,
        None => (status >> 8) & 0xff,
    }
}

/// busybox init's `run_shutdown_and_kill_processes`: SIGTERM to every other process
/// (SIGCONT too, so stopped jobs see it), up to a second for them to end, then SIGKILL;
/// reaps them all. Afterwards init is the only process: wait4 says ECHILD.
fn stop_other_processes(verbose: bool) {
    if verbose {
        println!("init: The system is going down NOW!");
    }
    kill(-1, SIGTERM);
    kill(-1, SIGCONT);
    if verbose {
        println!("init: Sent SIGTERM to all processes");
    }
    let deadline = clock_ns() + 1_000_000_000;
    while clock_ns() < deadline {
        let (pid, _) = wait4(-1, WNOHANG);
        if pid == -ECHILD {
            return; // nobody left
        }
        if pid == 0 {
            nanosleep_ns(10_000_000);
        }
    }
    kill(-1, SIGKILL);
    if verbose {
        println!("init: Sent SIGKILL to all processes");
    }
    while wait4(-1, 0).0 != -ECHILD {}
}

/// SIGUSR1 (halt), SIGUSR2 (poweroff), SIGTERM (reboot): what busybox's halt, poweroff
/// and reboot send to pid 1 (init/halt.c). Stops everyone, then asks the kernel.
extern "C" fn on_shutdown_signal(sig: i32) {
    let (cmd, what) = match sig as usize {
        SIGUSR2 => (LINUX_REBOOT_CMD_POWER_OFF, "poweroff"),
        SIGTERM => (LINUX_REBOOT_CMD_RESTART, "reboot"),
        _ => (LINUX_REBOOT_CMD_HALT, "halt"),
    };
    stop_other_processes(true);
    println!("init: Requesting system {}", what);
    let r = reboot(cmd);
    println!("init: reboot failed: error {}", -r);
    exit_group(1);
}
