//! What Linux lets a program do at EL0 without a system call: read the virtual counter
//! (CNTVCT_EL0, advancing at CNTFRQ_EL0 and agreeing with clock_gettime), the cache type
//! (CTR_EL0) and the zeroing block size (DCZID_EL0); zero a block with `DC ZVA`; clean and
//! invalidate caches by address (`DC CVAU`, `IC IVAU`) around code it writes and runs;
//! execute WFI (stepped over by the kernel) and SEV/WFE.
//! And what it refuses: reading SCTLR_EL1 and masking interrupts (`msr daifset`) kill the
//! process with SIGILL (checked against Linux 6.1). Each step runs in a child, so a step
//! the kernel refuses is reported by name instead of killing the test; a failing step
//! prints its details on a line of its own ("el0_sysregs step: FAILED ...") and the
//! result line lists every failing step.
#![no_std]
#![no_main]

use core::arch::asm;

use ulib::*;

const T: &str = "el0_sysregs";
/// The name failing steps print with (not the result line's).
const S: &str = "el0_sysregs step";
const SIGILL: i32 = 4;

fn cntvct() -> u64 {
    let v: u64;
    // SAFETY: a register read; the kernel decides whether EL0 may do it.
    unsafe { asm!("isb", "mrs {}, cntvct_el0", out(reg) v) };
    v
}

fn cntfrq() -> u64 {
    let v: u64;
    // SAFETY: as above.
    unsafe { asm!("mrs {}, cntfrq_el0", out(reg) v) };
    v
}

fn ctr() -> u64 {
    let v: u64;
    // SAFETY: as above.
    unsafe { asm!("mrs {}, ctr_el0", out(reg) v) };
    v
}

fn dczid() -> u64 {
    let v: u64;
    // SAFETY: as above.
    unsafe { asm!("mrs {}, dczid_el0", out(reg) v) };
    v
}

/// Runs `f` in a child; returns its wait status.
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    let pid = spawn(f);
    check!(T, pid > 0, "fork");
    let (r, status) = wait4(pid, 0);
    check!(T, r == pid, "wait4 gave {}", r);
    status
}

/// A named step: a function run in a child, 0 = passed.
type Step = (&'static str, fn() -> i32);

/// A step that must succeed: returns None, or why it failed (its child prints details).
fn step(f: fn() -> i32) -> Option<i32> {
    let status = in_child(f);
    (status != 0).then_some(status)
}

fn counter_and_frequency() -> i32 {
    let frq = cntfrq();
    check!(
        S,
        (1_000_000..=1_000_000_000).contains(&frq),
        "CNTFRQ_EL0 = {} Hz",
        frq
    );
    let a = cntvct();
    let b = cntvct();
    check!(S, b >= a, "CNTVCT_EL0 went back: {} then {}", a, b);
    // Over a 20 ms sleep the counter, at CNTFRQ_EL0, measures at least what
    // clock_gettime(CLOCK_MONOTONIC) does, and not wildly more.
    let c0 = cntvct();
    let t0 = clock_ns();
    nanosleep_ns(20_000_000);
    let t1 = clock_ns();
    let c1 = cntvct();
    check!(S, c1 > c0, "CNTVCT_EL0 did not advance over a sleep");
    let counted = ((c1 - c0) as u128 * 1_000_000_000 / frq as u128) as u64;
    let clock = t1 - t0;
    check!(
        S,
        clock >= 20_000_000 && counted + 1_000_000 >= clock && counted <= clock + 500_000_000,
        "over a 20 ms sleep: counter {} ns, clock_gettime {} ns",
        counted,
        clock
    );
    0
}

fn cache_type() -> i32 {
    let c = ctr();
    let (iline, dline) = (4u64 << (c & 0xf), 4u64 << ((c >> 16) & 0xf));
    check!(S, c >> 31 & 1 == 1, "CTR_EL0 = {:#x}: bit 31 is RES1", c);
    check!(
        S,
        (16..=2048).contains(&iline) && (16..=2048).contains(&dline),
        "CTR_EL0 = {:#x}: I line {} B, D line {} B",
        c,
        iline,
        dline
    );
    0
}

fn dc_zva() -> i32 {
    let d = dczid();
    check!(
        S,
        d & 0x10 == 0,
        "DCZID_EL0 = {:#x}: DZP set, DC ZVA prohibited",
        d
    );
    let bs = 4usize << (d & 0xf);
    check!(S, (16..=2048).contains(&bs), "DCZID_EL0 block {} B", bs);
    let buf = alloc_pages(3 * 4096);
    check!(S, buf as isize > 0, "mmap");
    // SAFETY: 3 pages just mapped.
    let mem = unsafe { core::slice::from_raw_parts_mut(buf, 3 * 4096) };
    // An address inside a block zeroes the whole block it is in, and nothing else.
    for (base, offset) in [(4096usize, 0usize), (8192 - bs, bs / 2 + 3)] {
        mem.fill(0xa5);
        let addr = mem[base + offset..].as_mut_ptr();
        // SAFETY: DC ZVA writes the block of `bs` bytes at base, inside the mapping.
        unsafe { asm!("dc zva, {}", "dsb ish", in(reg) addr) };
        for (i, &b) in mem.iter().enumerate() {
            let want = if (base..base + bs).contains(&i) {
                0
            } else {
                0xa5
            };
            check!(
                S,
                b == want,
                "DC ZVA at +{:#x} (block {} B): byte +{:#x} = {:#x}",
                base + offset,
                bs,
                i,
                b
            );
        }
    }
    0
}

/// `mov w0, #imm; ret`.
fn code(imm: u16) -> [u32; 2] {
    [0x5280_0000 | (imm as u32) << 5, 0xd65f_03c0]
}

/// What Linux's __flush_icache_range does: DC CVAU each D-cache line, DSB, IC IVAU each
/// I-cache line, DSB, ISB.
fn sync_icache(start: usize, len: usize) {
    let c = ctr();
    let (iline, dline) = (4usize << (c & 0xf), 4usize << ((c >> 16) & 0xf));
    let mut a = start & !(dline - 1);
    while a < start + len {
        // SAFETY: cache maintenance on mapped memory; no data changes.
        unsafe { asm!("dc cvau, {}", in(reg) a) };
        a += dline;
    }
    // SAFETY: barriers.
    unsafe { asm!("dsb ish") };
    let mut a = start & !(iline - 1);
    while a < start + len {
        // SAFETY: as above.
        unsafe { asm!("ic ivau, {}", in(reg) a) };
        a += iline;
    }
    // SAFETY: barriers.
    unsafe { asm!("dsb ish", "isb") };
}

fn jit() -> i32 {
    let p = mmap(
        0,
        4096,
        PROT_READ | PROT_WRITE | 4,
        MAP_PRIVATE | MAP_ANONYMOUS,
    );
    check!(S, p > 0, "mmap PROT_READ|PROT_WRITE|PROT_EXEC gave {}", p);
    let text = p as *mut [u32; 2];
    for imm in [42u16, 4242] {
        // SAFETY: the page is writable and executable; the code is a complete function.
        let r = unsafe {
            text.write_volatile(code(imm));
            sync_icache(p as usize, 8);
            let f: extern "C" fn() -> u32 = core::mem::transmute(p as usize);
            f()
        };
        check!(
            S,
            r == imm as u32,
            "generated code returned {} (want {})",
            r,
            imm
        );
    }
    // IC IVAU on the program's own (read-only) text is allowed too.
    sync_icache(jit as *const () as usize, 64);
    0
}

fn wait_hints() -> i32 {
    // SAFETY: hints. WFI at EL0 traps and the kernel steps over it (Linux's wfi_handler);
    // WFE runs (SCTLR_EL1.nTWE) and returns at once, SEV having set the event register.
    unsafe { asm!("wfi", "sev", "wfe") };
    0
}

fn refused_sctlr() -> i32 {
    // SAFETY: expected to raise SIGILL: EL0 may not read EL1's registers.
    unsafe { asm!("mrs {}, sctlr_el1", out(reg) _) };
    0
}

fn refused_daifset() -> i32 {
    // SAFETY: expected to raise SIGILL: EL0 may not mask interrupts (SCTLR_EL1.UMA = 0).
    unsafe { asm!("msr daifset, #2") };
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let steps: [Step; 5] = [
        ("CNTVCT_EL0/CNTFRQ_EL0", counter_and_frequency),
        ("CTR_EL0", cache_type),
        ("DCZID_EL0 and DC ZVA", dc_zva),
        ("DC CVAU/IC IVAU on generated code", jit),
        ("WFI, SEV, WFE", wait_hints),
    ];
    let refused: [Step; 2] = [
        ("mrs x0, sctlr_el1", refused_sctlr),
        ("msr daifset, #2", refused_daifset),
    ];
    // (name, wait status, whether the step was to be refused)
    let mut failed: [(&str, i32, bool); 7] = [("", 0, false); 7];
    let mut n = 0;
    for (name, f) in steps {
        if let Some(status) = step(f) {
            failed[n] = (name, status, false);
            n += 1;
        }
    }
    for (name, f) in refused {
        let status = in_child(f);
        if status & 0x7f != SIGILL {
            failed[n] = (name, status, true);
            n += 1;
        }
    }
    if n > 0 {
        print!("{}: FAILED", T);
        for (i, &(name, status, refuse)) in failed[..n].iter().enumerate() {
            print!("{} {}", if i == 0 { "" } else { ";" }, name);
            match status {
                _ if refuse => print!(" at EL0: wait status {:#x}, want SIGILL", status),
                0x100 => print!(" (see above)"),
                s if s & 0x7f != 0 => print!(" killed by signal {}", s & 0x7f),
                s => print!(" exit status {:#x}", s),
            }
        }
        println!();
        return 1;
    }
    println!("{}: ok", T);
    0
}
