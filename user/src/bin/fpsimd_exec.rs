//! execve starts the new image with V0-V31 = 0, FPSR = 0 and FPCR = 0 (round to nearest,
//! no flush-to-zero, no default NaN), whatever the old image held: ulib's `_start` stores
//! the registers before any other instruction runs (`initial_fp_state`). Checked for this
//! program itself, for a forked child that execs with patterns live (while the parent waits
//! with other patterns live, which it must keep), and for this process exec'ing itself.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "fpsimd_exec";

/// Exits 1 with the failure line if this image did not start with zeroed FP state;
/// `before` is the pattern the old image held at the execve (0: none).
fn check_initial(what: &str, before: u64) {
    let st = initial_fp_state();
    let old = FpState::pattern(before);
    let others = [("the old image", &old)];
    let others = if before == 0 {
        &others[..0]
    } else {
        &others[..]
    };
    if let Some(d) = fp_compare(&st, &FpState::ZERO, others) {
        fail!(T, "{}: {}", what, d);
    }
}

/// execve(self, [self, stage]) with `pattern` loaded; returns only if execve failed.
fn exec_self(path: &[u8; 128], stage: &[u8], pattern: u64) -> isize {
    let argv = [path.as_ptr() as usize, stage.as_ptr() as usize, 0];
    let a = [path.as_ptr() as usize, argv.as_ptr() as usize, 0];
    let mut got = FpState::ZERO;
    fp_probe(&FpState::pattern(pattern), &mut got, FpAction::Execve(&a)) as isize
}

#[unsafe(no_mangle)]
fn main(args: Args) -> i32 {
    match args.get(1) {
        Some("child") => {
            // The failure line comes from here; the parent then exits 1 silently.
            check_initial("a forked child after execve", 41);
            return 0;
        }
        Some("self") => {
            check_initial("after this process exec'd itself", 43);
            println!("{}: ok", T);
            return 0;
        }
        _ => check_initial("the first image (as started by the kernel)", 0),
    }
    let path = args.self_path();

    let pid = fork();
    if pid == 0 {
        let r = exec_self(&path, b"child\0", 41);
        println!("{}: FAILED execve in the child gave {}", T, r);
        exit_group(99);
    }
    check!(T, pid > 0, "fork");
    let mut status = 0i32;
    let wait = [
        SYS_WAIT4,
        pid as usize,
        &raw mut status as usize,
        0,
        0,
        0,
        0,
    ];
    let p = FpState::pattern(42);
    let mut got = FpState::ZERO;
    let r = fp_probe(&p, &mut got, FpAction::Syscall(&wait)) as isize;
    check!(T, r == pid, "wait4 gave {}", r);
    if status == 1 << 8 {
        return 1; // the child printed why
    }
    check!(T, status == 0, "the exec'd child's status {:#x}", status);
    if let Some(d) = fp_compare(&got, &p, &[]) {
        fail!(T, "the parent while its child exec'd: {}", d);
    }

    let r = exec_self(&path, b"self\0", 43);
    fail!(T, "execve gave {}", r);
}
