//! f64 arithmetic in 4 threads (std::thread on musl: clone, futex, mmap'd stacks) while
//! the main thread computes too; every result must be bit-for-bit what the same
//! computation gives alone: an exact sum (multiples of 1/2 below 2^53, so any order gives
//! the closed form) and an inexact one whose rounding is fixed by the order of operations.
//! A register corrupted or swapped with another thread's at a preemption shows up as a
//! different bit pattern.
//!
//! `#![no_main]` with musl calling our C `main` directly: std's own start-up (behind an
//! ordinary `fn main`) first calls ppoll on fds 0-2 and aborts when that fails with
//! ENOSYS, then installs SIGPIPE/SIGSEGV/SIGBUS handlers on an alternate signal stack
//! (rt_sigaction, sigaltstack), none of which this test is about and which the kernel
//! does not have yet. Everything used below is still std: threads, Vec, format!, println!.
#![no_main]

use std::hint::black_box;
use std::thread;

const N: u64 = 400_000;

/// 1/2 + 2/2 + ... + n/2, in order: exact (every partial sum is a multiple of 1/2 < 2^53).
fn half_sum(n: u64) -> f64 {
    let mut s = 0.0f64;
    for k in 1..=n {
        s += black_box(k as f64) * 0.5;
    }
    s
}

/// Sum of 1/(k + t) and sqrt(k) mixed, in order: inexact, but deterministic.
fn mixed(t: u64, n: u64) -> (f64, f64) {
    let (mut a, mut b) = (0.0f64, 0.0f64);
    for k in 1..=n {
        let x = black_box((k + t) as f64);
        a += 1.0 / x;
        b = b * 0.999_999_9 + x.sqrt();
    }
    (a, b)
}

fn run() -> Result<(), String> {
    // The reference values, computed alone before any thread exists.
    let exact = (N * (N + 1) / 2) as f64 * 0.5;
    let alone: Vec<(f64, (f64, f64))> = (0..4u64).map(|t| (half_sum(N), mixed(t, N))).collect();
    if alone[0].0 != exact {
        return Err(format!("half_sum alone = {} want {}", alone[0].0, exact));
    }
    let handles: Vec<_> = (0..4u64)
        .map(|t| thread::spawn(move || (half_sum(N), mixed(t, N))))
        .collect();
    // The main thread computes the same meanwhile.
    let main_view: Vec<(f64, (f64, f64))> = (0..4u64).map(|t| (half_sum(N), mixed(t, N))).collect();
    for (t, h) in handles.into_iter().enumerate() {
        let got = h.join().map_err(|_| format!("thread {t} panicked"))?;
        for (who, v) in [("thread", got), ("main thread", main_view[t])] {
            if v.0.to_bits() != exact.to_bits() {
                return Err(format!("{who} {t}: exact sum {:e} want {:e}", v.0, exact));
            }
            let want = alone[t].1;
            if v.1.0.to_bits() != want.0.to_bits() || v.1.1.to_bits() != want.1.to_bits() {
                return Err(format!(
                    "{who} {t}: sums {:#x} {:#x} want {:#x} {:#x}",
                    v.1.0.to_bits(),
                    v.1.1.to_bits(),
                    want.0.to_bits(),
                    want.1.to_bits()
                ));
            }
        }
    }
    Ok(())
}

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    match run() {
        Ok(()) => {
            println!("musl_f64: ok");
            0
        }
        Err(e) => {
            println!("musl_f64: FAILED {e}");
            1
        }
    }
}
