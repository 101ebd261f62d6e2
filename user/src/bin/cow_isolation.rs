//! After fork, each side's writes are invisible to the other: static data, bss, stack,
//! heap (brk) and anonymous mmap memory, in both directions.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};

use ulib::*;

const T: &str = "cow_isolation";

static mut DATA: u64 = 1;
static mut BSS: u64 = 0;

struct Places {
    stack: *mut u64,
    heap: *mut u64,
    anon: *mut u64,
}

fn set(p: &Places, v: u64) {
    // SAFETY: all point at memory of this process.
    unsafe {
        write_volatile(&raw mut DATA, v);
        write_volatile(&raw mut BSS, v);
        write_volatile(p.stack, v);
        write_volatile(p.heap, v);
        write_volatile(p.anon, v);
    }
}

fn all_equal(p: &Places, v: u64) -> bool {
    // SAFETY: as in set.
    unsafe {
        [
            read_volatile(&raw const DATA),
            read_volatile(&raw const BSS),
            read_volatile(p.stack),
            read_volatile(p.heap),
            read_volatile(p.anon),
        ]
        .iter()
        .all(|&x| x == v)
    }
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let mut on_stack = 0u64;
    let heap = brk(0) as usize;
    brk(heap + 4096);
    let p = Places {
        stack: &mut on_stack,
        heap: heap as *mut u64,
        anon: alloc_pages(4096) as *mut u64,
    };
    set(&p, 1);
    let (to_child, to_parent) = (pipe(), pipe());
    let pid = fork();
    check!(T, pid >= 0, "fork failed with {}", pid);
    if pid == 0 {
        set(&p, 2);
        write(to_parent[1], b"x");
        let mut b = [0u8; 1];
        read(to_child[0], &mut b);
        // The parent wrote 3 in the meantime: we must still see our 2.
        exit(if all_equal(&p, 2) { 0 } else { 1 });
    }
    let mut b = [0u8; 1];
    read(to_parent[0], &mut b);
    check!(
        T,
        all_equal(&p, 1),
        "the child's writes leaked into the parent"
    );
    set(&p, 3);
    write(to_child[1], b"x");
    check!(
        T,
        wait_exit_code(pid) == 0,
        "the parent's writes leaked into the child"
    );
    check!(T, all_equal(&p, 3), "the parent lost its own writes");
    println!("{}: ok", T);
    0
}
