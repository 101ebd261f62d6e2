//! Lab 2 (docs/labs/lab2.md): what fork copies rather than shares (Linux copy_process:
//! copy_files, copy_fs, copy_sighand without CLONE_FILES/FS/SIGHAND). After fork, the
//! child closes a descriptor, changes directory and umask and installs a signal handler;
//! none of it may change the parent. The child also checks it inherited each of them.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "fork_private";
const SIGUSR1: usize = 10;

extern "C" fn on_usr1(_sig: i32) {}

/// The handler currently installed for `sig` (rt_sigaction with no new action).
fn handler_of(sig: usize) -> usize {
    let mut old = [0usize; 4];
    syscall(SYS_RT_SIGACTION, &[sig, 0, old.as_mut_ptr() as usize, 8]);
    old[0]
}

fn cwd() -> ([u8; 64], isize) {
    let mut b = [0u8; 64];
    let n = getcwd(&mut b);
    (b, n)
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let p = pipe();
    let old_mask = umask(0o022);
    check!(T, chdir(c"/") == 0, "chdir /");
    let before = cwd();
    let result = shared_page();
    let pid = fork();
    check!(T, pid >= 0, "fork failed with {}", pid);
    if pid == 0 {
        // What the child inherited...
        result[0] = fd_is_open(p[0]) as u64;
        result[1] = (cwd() == before) as u64;
        result[2] = (umask(0o077) == 0o022) as u64;
        result[3] = (handler_of(SIGUSR1) == 0) as u64;
        // ...and its own changes, which must stay its own.
        result[4] = (close(p[0]) == 0) as u64;
        result[5] = (chdir(c"/bin") == 0) as u64;
        result[6] = (set_signal_handler(SIGUSR1, on_usr1 as *const () as usize) == 0) as u64;
        exit(0);
    }
    check!(T, wait_exit_code(pid) == 0, "the child's exit code");
    check!(T, result[0] == 1, "the child inherited the open pipe");
    check!(
        T,
        result[1] == 1,
        "the child inherited the working directory"
    );
    check!(T, result[2] == 1, "the child inherited the umask");
    check!(
        T,
        result[3] == 1,
        "the child inherited SIGUSR1's default action"
    );
    check!(
        T,
        result[4] == 1 && result[5] == 1 && result[6] == 1,
        "the child's close, chdir and sigaction succeeded ({} {} {})",
        result[4],
        result[5],
        result[6]
    );
    check!(
        T,
        fd_is_open(p[0]),
        "the child's close() closed the parent's descriptor: copy_files shared the table"
    );
    check!(
        T,
        cwd() == before,
        "the child's chdir() moved the parent: copy_fs shared the fs_struct"
    );
    check!(
        T,
        umask(old_mask as u32) == 0o022,
        "the child's umask() changed the parent's: copy_fs shared the fs_struct"
    );
    check!(
        T,
        handler_of(SIGUSR1) == 0,
        "the child's sigaction() changed the parent's handler: copy_sighand shared the table"
    );
    println!("{}: ok", T);
    0
}
