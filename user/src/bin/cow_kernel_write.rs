//! The kernel's own stores into copy-on-write pages (EL1 data aborts from the uaccess
//! routines, EC 0x25) copy the page like a user write would: clock_gettime, read from a
//! pipe, wait4's status, and the CLONE_CHILD_SETTID write in the child.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};
use core::sync::atomic::{AtomicU32, Ordering};

use ulib::*;

const T: &str = "cow_kernel_write";

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let page = alloc_pages(4 * 4096) as *mut u64;
    // SAFETY: a fresh private mapping of 4 pages; set every word we use to a marker.
    unsafe { (0..4).for_each(|i| write_volatile(page.add(i * 512), 0x1111)) };
    let fds = pipe();
    let copies = kstat_opt(1);
    let pid = spawn(|| {
        // Each call below stores into a page the kernel must copy first.
        let ts = page as usize;
        if syscall(SYS_CLOCK_GETTIME, &[1, ts]) != 0 {
            return 1;
        }
        let buf = page as usize + 4096;
        if syscall(SYS_READ, &[fds[0] as usize, buf, 5]) != 5 {
            return 2;
        }
        // SAFETY: our copy of the mapping.
        let got = unsafe { core::slice::from_raw_parts(buf as *const u8, 5) };
        if got != b"hello" {
            return 3;
        }
        // A grandchild: wait4 writes its status into a COW page.
        let g = spawn(|| 9);
        let status = page as usize + 2 * 4096;
        if syscall(SYS_WAIT4, &[g as usize, status, 0, 0]) != g {
            return 4;
        }
        // SAFETY: as above.
        if unsafe { read_volatile(status as *const u32) } != 9 << 8 {
            return 5;
        }
        0
    });
    check!(T, write(fds[1], b"hello") == 5, "write to pipe");
    check!(
        T,
        wait_exit_code(pid) == 0,
        "a kernel write into a COW page failed in the child"
    );
    // SAFETY: our view of the pages: untouched by the child's kernel writes.
    unsafe {
        for i in 0..3 {
            check!(
                T,
                read_volatile(page.add(i * 512)) == 0x1111,
                "page {} changed in the parent",
                i
            );
        }
    }
    if let Some(c) = copies {
        check!(
            T,
            kstat(1) >= c + 3,
            "the kernel's writes did not go through COW copies"
        );
    }

    // CLONE_CHILD_SETTID: the child writes its tid into its own (COW) copy of the word.
    // SAFETY: as above.
    let word = unsafe { &*(page.add(3 * 512) as *const AtomicU32) };
    word.store(0, Ordering::SeqCst);
    let results = shared_page();
    let pid = clone(
        SIGCHLD | CLONE_CHILD_SETTID,
        0,
        0,
        0,
        word.as_ptr() as usize,
    );
    if pid == 0 {
        results[0] = word.load(Ordering::SeqCst) as u64;
        results[1] = gettid() as u64;
        exit(0);
    }
    check!(T, pid > 0 && wait_exit_code(pid) == 0, "CHILD_SETTID child");
    check!(
        T,
        results[0] == results[1],
        "the child's word holds {} not its tid {}",
        results[0],
        results[1]
    );
    check!(
        T,
        word.load(Ordering::SeqCst) == 0,
        "CHILD_SETTID wrote into the parent's page"
    );
    println!("{}: ok", T);
    0
}
