//! fork + exit + wait 1000 times in a tight loop, the children ending alternately with
//! exit and exit_group (every libc program's way out): no frame and no kernel heap is
//! leaked.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "fork_loop";

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let buf = alloc_pages(8 * 4096);
    // SAFETY: a fresh private mapping; touched so every fork has COW work to do.
    unsafe { (0..8).for_each(|i| buf.add(i * 4096).write_volatile(i as u8)) };
    for _ in 0..10 {
        let pid = spawn(|| 0);
        wait_exit_code(pid);
    }
    let (frames, heap) = (kstat_opt(0), kstat_opt(4));
    for i in 0..1000 {
        let pid = fork();
        if pid == 0 {
            if i % 2 == 0 {
                exit(i % 200);
            }
            exit_group(i % 200);
        }
        check!(T, pid > 0, "fork {} failed with {}", i, pid);
        let code = wait_exit_code(pid);
        check!(T, code == (i % 200), "iteration {}: exit code {}", i, code);
    }
    if let (Some(f), Some(h)) = (frames, heap) {
        check!(
            T,
            frames_back_to(f),
            "frames: {} before, {} after",
            f,
            kstat(0)
        );
        check!(
            T,
            kstat(4) == h,
            "kernel heap bytes: {} before, {} after",
            h,
            kstat(4)
        );
    }
    println!("{}: ok", T);
    0
}
