//! A memory hog: a child maps and touches memory until less than HOG_LEAVES is left, then
//! holds it, asleep. Meanwhile init (this test) churns fresh pages, and a small bystander
//! process grows by 64 KiB steps, up to BYSTANDER_MAX (more than the hog left) once the
//! hog holds, and checks what it has: so the shortage hits init and the bystander, not the hog. The OOM killer
//! must take the process with the largest footprint — the hog, SIGKILL — never init, and
//! the others wait for the memory to come back: init and the bystander both survive and
//! finish their work. (If the hog itself runs into the shortage first, it must be killed
//! the same way.) After the hog is reaped, frames and kernel heap are back at baseline.
#![no_std]
#![no_main]

use core::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use ulib::*;

const T: &str = "mem_hog";
const PAGE: usize = 4096;
const CHUNK: usize = 16 << 20;
/// The hog stops growing when less than this is left (see free_bytes).
const HOG_LEAVES: usize = 24 << 20;
/// The bystander grows to this, frees it all and starts again.
const BYSTANDER_MAX: usize = 64 << 20;
const STEP: usize = 16 * PAGE;
// Words of the shared page.
const HOG_PAGES: usize = 0; // pages the hog has touched
const HOG_DEAD: usize = 1; // set by the test once the hog is reaped
const BY_ITERS: usize = 2; // bystander iterations done
const BY_DURING: usize = 3; // ... of which before the hog was reaped
const HOG_ERR: usize = 4; // the hog's mmap failed (value in HOG_ERR + 1)
const HOG_FULL: usize = 6; // the hog stopped growing (free memory below HOG_LEAVES)

/// Memory that can still be had, in bytes: KSTAT's free frames here; on Linux
/// /proc/meminfo's MemAvailable (free memory plus what reclaim can get back).
fn free_bytes() -> Option<usize> {
    if let Some(frames) = kstat_opt(KSTAT_FREE) {
        return Some(frames * PAGE);
    }
    let fd = syscall(
        56,
        &[-100isize as usize, c"/proc/meminfo".as_ptr() as usize, 0],
    );
    if fd < 0 {
        return None;
    }
    let mut buf = [0u8; 512];
    let n = read(fd as i32, &mut buf);
    close(fd as i32);
    let text = core::str::from_utf8(&buf[..n.max(0) as usize]).ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Maps 16 fresh pages, fills them with `seed`-derived words, checks them, unmaps them.
fn churn(seed: u64) -> bool {
    let len = 16 * PAGE;
    let p = alloc_pages(len) as *mut u64;
    if (p as isize) < 0 {
        return false;
    }
    let words = len / 8;
    // SAFETY: a fresh private mapping of `len` bytes.
    let ok = unsafe {
        (0..words).for_each(|i| p.add(i).write_volatile(seed ^ i as u64));
        (0..words).all(|i| p.add(i).read_volatile() == seed ^ i as u64)
    };
    munmap(p as usize, len);
    ok
}

fn hog(sh: &'static [core::sync::atomic::AtomicU64; 512]) -> i32 {
    loop {
        let p = alloc_pages(CHUNK);
        if (p as isize) < 0 {
            sh[HOG_ERR + 1].store(p as u64, Relaxed);
            sh[HOG_ERR].store(1, Release);
            return 2;
        }
        for i in 0..CHUNK / PAGE {
            if i % 256 == 0 && free_bytes().is_some_and(|f| f < HOG_LEAVES) {
                sh[HOG_FULL].store(1, Release);
                loop {
                    nanosleep_ns(10_000_000);
                }
            }
            // SAFETY: inside the fresh mapping.
            unsafe { p.add(i * PAGE).write_volatile(1) };
            sh[HOG_PAGES].fetch_add(1, Relaxed);
        }
    }
}

/// The bystander: grows by STEP up to 1 MiB while the hog grows, up to BYSTANDER_MAX
/// once the hog holds (each step filled), then checks everything, frees it and starts
/// again; until 50 steps after the hog is gone.
fn bystander(sh: &'static [core::sync::atomic::AtomicU64; 512]) -> i32 {
    const STEPS: usize = BYSTANDER_MAX / STEP;
    let mut held = [0usize; STEPS];
    let mut n_held = 0;
    let mut after = 0;
    let mut n = 0u64;
    while after < 50 {
        let p = alloc_pages(STEP) as *mut u64;
        if (p as isize) < 0 {
            return 2;
        }
        // SAFETY: a fresh private mapping of STEP bytes.
        unsafe {
            (0..STEP / 8).for_each(|i| p.add(i).write_volatile(p as u64 ^ i as u64));
        }
        held[n_held] = p as usize;
        n_held += 1;
        // Small (1 MiB) while the hog grows, up to BYSTANDER_MAX once it holds.
        let cap = if sh[HOG_FULL].load(Acquire) == 0 && sh[HOG_DEAD].load(Acquire) == 0 {
            16
        } else {
            STEPS
        };
        if n_held >= cap {
            for &q in &held[..n_held] {
                let q = q as *const u64;
                // SAFETY: a region this process mapped and filled above.
                if unsafe { (0..STEP / 8).any(|i| q.add(i).read_volatile() != q as u64 ^ i as u64) }
                {
                    return 4;
                }
                munmap(q as usize, STEP);
            }
            n_held = 0;
        }
        n += 1;
        sh[BY_ITERS].store(n, Relaxed);
        if sh[HOG_DEAD].load(Acquire) != 0 {
            after += 1;
        } else {
            sh[BY_DURING].store(n, Relaxed);
        }
        nanosleep_ns(1_000_000);
    }
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let sh = shared_atomics();
    for _ in 0..3 {
        let pid = spawn(|| 0);
        check!(T, wait_exit_code(pid) == 0, "warm-up child");
    }
    check!(T, churn(1), "init's warm-up churn");
    let baseline = mem_usage();
    let by = spawn(|| bystander(sh));
    check!(T, by > 0, "fork of the bystander failed with {}", by);
    let start = clock_ns();
    let hog_pid = spawn(|| hog(sh));
    check!(T, hog_pid > 0, "fork of the hog failed with {}", hog_pid);
    // Init's own work while the hog grows: fresh pages, every few milliseconds.
    let mut init_iters = 0u64;
    let status = loop {
        check!(
            T,
            churn(init_iters),
            "init's fresh pages were not what it wrote"
        );
        init_iters += 1;
        let (r, status) = wait4(hog_pid, WNOHANG);
        if r == hog_pid {
            break status;
        }
        check!(T, r == 0, "wait4 for the hog gave {}", r);
        check!(
            T,
            clock_ns() - start < 40_000_000_000,
            "the hog is still alive after 40 s ({} MiB touched)",
            (sh[HOG_PAGES].load(Relaxed) * PAGE as u64) >> 20
        );
        nanosleep_ns(5_000_000);
    };
    let ms = (clock_ns() - start) / 1_000_000;
    let mib = (sh[HOG_PAGES].load(Relaxed) * PAGE as u64) >> 20;
    sh[HOG_DEAD].store(1, Release);
    check!(
        T,
        sh[HOG_ERR].load(Acquire) == 0,
        "the hog's mmap failed with {} after {} MiB (Linux maps it and lets the OOM killer decide)",
        sh[HOG_ERR + 1].load(Relaxed) as i64,
        mib
    );
    check!(
        T,
        status == SIGKILL as i32,
        "the hog ended with status {:#x}, not SIGKILL (after {} MiB)",
        status,
        mib
    );
    let (r, by_status) = wait4(by, 0);
    check!(T, r == by, "wait4 for the bystander gave {}", r);
    check!(
        T,
        by_status == 0,
        "the bystander ended with status {:#x} (2: mmap failed, 4: its memory changed; 9: killed) after {} steps",
        by_status,
        sh[BY_ITERS].load(Relaxed)
    );
    println!(
        "{}: the hog touched {} MiB in {} ms ({}) before the OOM killer took it; init churned {} times, the bystander grew {} steps while the hog lived",
        T,
        mib,
        ms,
        if sh[HOG_FULL].load(Relaxed) != 0 {
            "then held it, asleep"
        } else {
            "still growing"
        },
        init_iters,
        sh[BY_DURING].load(Relaxed)
    );
    if let Err((frames, heap)) = check_baseline(baseline) {
        let (f0, h0) = baseline.unwrap();
        fail!(
            T,
            "after the hog: frames {} (baseline {}), kernel heap {} bytes (baseline {})",
            frames,
            f0,
            heap,
            h0
        );
    }
    println!("{}: ok", T);
    0
}
