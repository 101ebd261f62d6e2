//! ulib: the few lines of "libc" the test programs need — Linux system calls, output,
//! and a test-result convention: each program prints one line `name: ok` or
//! `name: FAILED reason` and exits 0 or 1.

#![no_std]

pub mod arch {
    mod aarch64;
    pub use aarch64::*;
}

pub mod file;
pub mod fp;
pub mod sys;

use core::fmt::{self, Write};

pub use arch::{FpAction, fp_probe, initial_fp_state};
pub use file::*;
pub use fp::*;
pub use sys::*;

/// Writes formatted text to stdout through a small stack buffer (one write per call).
pub struct Out {
    buf: [u8; 512],
    len: usize,
    fd: i32,
}

impl Out {
    pub fn new(fd: i32) -> Out {
        Out {
            buf: [0; 512],
            len: 0,
            fd,
        }
    }
    pub fn flush(&mut self) {
        if self.len > 0 {
            sys::write(self.fd, &self.buf[..self.len]);
            self.len = 0;
        }
    }
}

impl Write for Out {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                self.flush();
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

pub fn print_fmt(args: fmt::Arguments) {
    let mut out = Out::new(1);
    let _ = out.write_fmt(args);
    out.flush();
}

#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::print_fmt(format_args!($($arg)*)));
}

#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::print_fmt(format_args!("{}\n", format_args!($($arg)*))));
}

/// Fails the current test: prints `name: FAILED why` and exits 1.
#[macro_export]
macro_rules! fail {
    ($name:expr, $($arg:tt)*) => {{
        $crate::println!("{}: FAILED {}", $name, format_args!($($arg)*));
        $crate::sys::exit_group(1)
    }};
}

/// Asserts inside a test program.
#[macro_export]
macro_rules! check {
    ($name:expr, $cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::fail!($name, "{} ({})", format_args!($($arg)*), stringify!($cond));
        }
    };
}

/// Command-line arguments and environment from the initial stack.
pub struct Args {
    pub argc: usize,
    argv: *const *const u8,
}

impl Args {
    pub fn get(&self, i: usize) -> Option<&'static str> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: the kernel laid out argc valid, NUL-terminated argv strings.
        unsafe {
            let p = *self.argv.add(i);
            let mut n = 0;
            while *p.add(n) != 0 {
                n += 1;
            }
            core::str::from_utf8(core::slice::from_raw_parts(p, n)).ok()
        }
    }
}

impl Args {
    /// argv[0] as an absolute, NUL-terminated path (for execve/stat of the program itself:
    /// this kernel passes "/bin/NAME", Linux's test init passes "prog").
    pub fn self_path(&self) -> [u8; 128] {
        let mut path = [0u8; 128];
        let name = self.get(0).unwrap_or("").as_bytes();
        let start = if name.first() == Some(&b'/') { 0 } else { 1 };
        path[0] = b'/';
        let n = name.len().min(path.len() - start - 1);
        path[start..start + n].copy_from_slice(&name[..n]);
        path
    }

    /// The auxiliary vector's value for `key` (libc's `getauxval`): it follows argv's and
    /// envp's NULLs on the initial stack.
    pub fn auxv(&self, key: usize) -> Option<usize> {
        // SAFETY: the kernel laid out argv, NULL, envp, NULL, then (key, value) pairs up
        // to AT_NULL (0), all valid words of the initial stack.
        unsafe {
            let mut p = self.argv.add(self.argc + 1) as *const usize;
            while *p != 0 {
                p = p.add(1);
            }
            p = p.add(1);
            while *p != 0 {
                if *p == key {
                    return Some(*p.add(1));
                }
                p = p.add(2);
            }
        }
        None
    }
}

unsafe extern "Rust" {
    fn main(args: Args) -> i32;
}

#[unsafe(no_mangle)]
extern "C" fn __ulib_start(sp: *const usize) -> ! {
    // SAFETY: at entry sp points at argc followed by argv (System V AArch64 ABI).
    let args = unsafe {
        Args {
            argc: *sp,
            argv: sp.add(1) as *const *const u8,
        }
    };
    // SAFETY: every program defines `main` with this signature (see the bins).
    let code = unsafe { main(args) };
    sys::exit_group(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("user panic: {}", info);
    sys::exit_group(101)
}

/// Runs `f` as a child process (the body of a stress test), waits for it, and fails the
/// test unless it exited 0 and the kernel's frames and heap are back at `baseline`
/// afterwards. A child that exited 1 has printed why.
pub fn run_test_process(name: &str, baseline: Option<(usize, usize)>, f: impl FnOnce() -> i32) {
    let code = wait_exit_code(spawn(f));
    if code == 1 {
        exit_group(1);
    }
    check!(name, code == 0, "the test process ended with {}", code);
    if let Err((frames, heap)) = check_baseline(baseline) {
        let (f0, h0) = baseline.unwrap_or_default();
        fail!(
            name,
            "after the test process exited: frames {} (baseline {}), kernel heap {} (baseline {})",
            frames,
            f0,
            heap,
            h0
        );
    }
}

impl Args {
    /// envp: the NULL-terminated array of "NAME=value" strings after argv's NULL on the
    /// initial stack, as execve wants it (what a shell passes on to its children).
    pub fn envp(&self) -> *const *const u8 {
        self.argv.wrapping_add(self.argc + 1)
    }

    /// argv itself (argv[0..argc] then NULL), for passing on to execve.
    pub fn argv(&self) -> *const *const u8 {
        self.argv
    }

    /// The value of the environment variable `name` (libc's `getenv`).
    pub fn env(&self, name: &str) -> Option<&'static str> {
        let mut p = self.envp();
        // SAFETY: envp is a NULL-terminated array of NUL-terminated strings the kernel
        // laid out on the initial stack, which lives as long as the program.
        unsafe {
            while !(*p).is_null() {
                let s = *p;
                let mut n = 0;
                while *s.add(n) != 0 {
                    n += 1;
                }
                let entry = core::slice::from_raw_parts(s, n);
                if entry.len() > name.len()
                    && entry.starts_with(name.as_bytes())
                    && entry[name.len()] == b'='
                {
                    return core::str::from_utf8(&entry[name.len() + 1..]).ok();
                }
                p = p.add(1);
            }
        }
        None
    }
}
