//! Lab 3 (docs/labs/lab3.md): after fork the *parent's* pages are copy-on-write too. The
//! child forks and waits without touching anything; the parent then writes to static
//! data, bss, stack, heap and anonymous memory. The child must still see the old values,
//! each of the parent's writes must have faulted and copied (this address space's COW
//! copy count, kstat 5: a parent whose entries fork left writable writes in place, into
//! the frame the child still maps), and no frame may leak once both are done.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};

use ulib::*;

const T: &str = "cow_parent_write";

static mut DATA: u64 = 1;
static mut BSS: u64 = 0;

/// Five places: static data, bss, stack, heap and anonymous memory.
fn places(stack: *mut u64, heap: *mut u64, anon: *mut u64) -> [*mut u64; 5] {
    [&raw mut DATA, &raw mut BSS, stack, heap, anon]
}

fn set(p: &[*mut u64; 5], v: u64) {
    // SAFETY: all point at memory of this process.
    p.iter().for_each(|&x| unsafe { write_volatile(x, v) });
}

fn all_equal(p: &[*mut u64; 5], v: u64) -> bool {
    // SAFETY: as in set.
    p.iter().all(|&x| unsafe { read_volatile(x) } == v)
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let kernel_counts = kstat_opt(0).is_some(); // Linux has no kstat: values only
    let mut on_stack = 0u64;
    let heap = brk(0) as usize;
    brk(heap + 4096);
    let anon = alloc_pages(4096) as *mut u64;
    let p = places(&mut on_stack, heap as *mut u64, anon);
    set(&p, 1);
    let (go, done) = (pipe(), pipe());
    // Every frame of ours is in use from here on: after the child is gone, each place
    // has one frame again (the parent's copy; the original went with the child).
    let baseline = settled_mem_usage();
    let pid = fork();
    check!(T, pid >= 0, "fork failed with {}", pid);
    if pid == 0 {
        let mut b = [0u8; 1];
        read(go[0], &mut b);
        // The parent wrote 2 everywhere; we never wrote: we must see our 1.
        let ok = all_equal(&p, 1);
        write(done[1], b"x");
        exit(if ok { 0 } else { 1 });
    }
    let copies = kstat(KSTAT_MY_COPIES);
    set(&p, 2);
    let copied = kstat(KSTAT_MY_COPIES).wrapping_sub(copies);
    write(go[1], b"x");
    let mut b = [0u8; 1];
    read(done[0], &mut b);
    check!(
        T,
        wait_exit_code(pid) == 0,
        "the parent's writes after fork reached the child: fork left the parent's pages writable"
    );
    check!(T, all_equal(&p, 2), "the parent lost its own writes");
    if kernel_counts {
        // The pages written other than the stack's (the parent's stack page was copied
        // already, by the first call after fork); DATA and BSS may share one.
        let mut pages = [0usize; 4];
        for (i, &x) in [p[0], p[1], p[3], p[4]].iter().enumerate() {
            pages[i] = x as usize >> 12;
        }
        pages.sort_unstable();
        let distinct = 1 + pages.windows(2).filter(|w| w[0] != w[1]).count();
        check!(
            T,
            copied >= distinct,
            "the parent's writes to {} pages it shared with the child made {} COW copies: \
             the parent's entries must be read-only + COW after fork",
            distinct,
            copied
        );
    }
    if let Err((frames, heap)) = check_baseline(baseline) {
        fail!(
            T,
            "frames/heap in use {}/{} after the child exited, {:?} before fork: a reference leaked",
            frames,
            heap,
            baseline
        );
    }
    println!("{}: ok", T);
    0
}
