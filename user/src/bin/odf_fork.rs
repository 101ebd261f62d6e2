//! On-demand fork's cases (src/mm/odf.rs, docs/odf.md), which must behave exactly as a
//! classic fork: run with and without `fork=odf`, and on Linux. Each case works on a
//! 2 MiB-aligned stretch of private anonymous memory — one whole level-3 table, which
//! `fork=odf` shares between parent and child until the first write:
//!   1. parent and child each write after fork and see only their own data;
//!   2. a grandchild forked from a sharer (the table shared three ways);
//!   3. munmap and mprotect of part of the range in the child, munmap of a whole shared
//!      2 MiB in the child: the parent's pages stay, readable and writable;
//!   4. exit of a sharer, then the last sharer writes (no copy needed);
//!   5. the kernel writing into a shared range (read() from a pipe into it) in each.
//!
//! Under `fork=odf` it also checks (kstat 11) that tables were in fact shared.
#![no_std]
#![no_main]

use core::ptr::{read_volatile, write_volatile};

use ulib::*;

const T: &str = "odf_fork";
const PAGE: usize = 4096;
const TABLE: usize = 2 << 20;
const PAGES: usize = TABLE / PAGE;

/// A 2 MiB-aligned, 2 MiB private anonymous range, every page written with `tag(i)`;
/// returns it and the start of the 4 MiB mapping it was cut from.
fn table_range() -> (usize, usize) {
    let raw = mmap(
        0,
        2 * TABLE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
    );
    check!(T, raw > 0, "mmap 4 MiB: {}", raw);
    let base = (raw as usize + TABLE - 1) & !(TABLE - 1);
    for i in 0..PAGES {
        set(base, i, tag(0, i));
    }
    (base, raw as usize)
}

/// Unmaps the 4 MiB a `table_range` was cut from.
fn unmap(raw: usize) {
    check!(T, munmap(raw, 2 * TABLE) == 0, "munmap");
}

fn tag(who: u64, i: usize) -> u64 {
    who << 32 | i as u64
}

fn get(base: usize, i: usize) -> u64 {
    // SAFETY: a page of a range this program mapped (callers keep to mapped pages).
    unsafe { read_volatile((base + i * PAGE) as *const u64) }
}

fn set(base: usize, i: usize, v: u64) {
    // SAFETY: as in `get`.
    unsafe { write_volatile((base + i * PAGE) as *mut u64, v) }
}

/// Every page of `pages` holds `tag(who, i)`?
fn holds(base: usize, pages: impl Iterator<Item = usize>, who: u64) -> bool {
    pages.into_iter().all(|i| get(base, i) == tag(who, i))
}

fn wait_byte(fd: i32) {
    let mut b = [0u8];
    check!(T, read(fd, &mut b) == 1, "pipe read");
}

fn send_byte(fd: i32) {
    check!(T, write(fd, b"x") == 1, "pipe write");
}

/// 1: both write after fork; each sees its own data, then the other's writes are not seen.
fn both_write() {
    let (base, raw) = table_range();
    let (to_parent, to_child) = (pipe(), pipe());
    let pid = spawn(|| {
        if !holds(base, 0..PAGES, 0) {
            return 1;
        }
        for i in (0..PAGES).step_by(3) {
            set(base, i, tag(2, i));
        }
        send_byte(to_parent[1]);
        wait_byte(to_child[0]);
        // The parent has written every page meanwhile: not here.
        let ok = (0..PAGES).all(|i| get(base, i) == tag(if i % 3 == 0 { 2 } else { 0 }, i));
        if ok { 0 } else { 2 }
    });
    wait_byte(to_parent[0]);
    check!(
        T,
        holds(base, 0..PAGES, 0),
        "the child's writes reached the parent"
    );
    for i in 0..PAGES {
        set(base, i, tag(1, i));
    }
    send_byte(to_child[1]);
    check!(
        T,
        wait_exit_code(pid) == 0,
        "case 1: the child saw wrong data"
    );
    check!(
        T,
        holds(base, 0..PAGES, 1),
        "the parent lost its own writes"
    );
    for fd in to_parent.into_iter().chain(to_child) {
        close(fd);
    }
    unmap(raw);
}

/// 2: a grandchild forked from a sharer, before anyone writes.
fn grandchild() {
    let (base, raw) = table_range();
    let pid = spawn(|| {
        let g = spawn(|| {
            if !holds(base, 0..PAGES, 0) {
                return 1;
            }
            for i in 0..PAGES {
                set(base, i, tag(3, i));
            }
            if holds(base, 0..PAGES, 3) { 0 } else { 2 }
        });
        if wait_exit_code(g) != 0 {
            return 3;
        }
        if !holds(base, 0..PAGES, 0) {
            return 4;
        }
        for i in (0..PAGES).step_by(2) {
            set(base, i, tag(2, i));
        }
        if holds(base, (0..PAGES).step_by(2), 2) && holds(base, (1..PAGES).step_by(2), 0) {
            0
        } else {
            5
        }
    });
    check!(
        T,
        wait_exit_code(pid) == 0,
        "case 2: child or grandchild saw wrong data"
    );
    check!(
        T,
        holds(base, 0..PAGES, 0),
        "a descendant's writes reached the parent"
    );
    set(base, 7, tag(1, 7));
    check!(
        T,
        get(base, 7) == tag(1, 7),
        "parent write after its descendants exited"
    );
    unmap(raw);
}

/// 3: munmap and mprotect of part of the range, and munmap of all of it, in the child.
fn unmap_and_protect() {
    let (base, raw) = table_range();
    let (base2, raw2) = table_range();
    let (to_parent, to_child) = (pipe(), pipe());
    let pid = spawn(|| {
        if munmap(base + 10 * PAGE, 10 * PAGE) != 0 {
            return 1;
        }
        if mprotect(base + 30 * PAGE, 10 * PAGE, PROT_READ) != 0 {
            return 2;
        }
        if munmap(base2, TABLE) != 0 {
            return 3;
        }
        if !holds(base, (0..10).chain(20..PAGES), 0) {
            return 4;
        }
        set(base, 5, tag(2, 5));
        send_byte(to_parent[1]);
        wait_byte(to_child[0]);
        // The parent wrote everywhere: still our own view.
        if get(base, 5) != tag(2, 5) || !holds(base, (0..5).chain(20..PAGES), 0) {
            return 5;
        }
        0
    });
    wait_byte(to_parent[0]);
    // The child's munmap and mprotect are not ours: every page still readable, writable.
    check!(
        T,
        holds(base, 0..PAGES, 0),
        "case 3: the parent's range changed"
    );
    check!(
        T,
        holds(base2, 0..PAGES, 0),
        "case 3: the child's munmap took our pages"
    );
    for i in 0..PAGES {
        set(base, i, tag(1, i));
        set(base2, i, tag(1, i));
    }
    send_byte(to_child[1]);
    check!(
        T,
        wait_exit_code(pid) == 0,
        "case 3: the child saw wrong data"
    );
    check!(
        T,
        holds(base, 0..PAGES, 1) && holds(base2, 0..PAGES, 1),
        "case 3: the parent lost its writes"
    );
    for fd in to_parent.into_iter().chain(to_child) {
        close(fd);
    }
    unmap(raw);
    unmap(raw2);
}

/// 4: a sharer exits (one untouched, one after writing); the survivor writes.
fn sharer_exits() {
    let (base, raw) = table_range();
    let pid = spawn(|| 0);
    check!(T, wait_exit_code(pid) == 0, "case 4: child");
    let pid = spawn(|| {
        for i in 0..PAGES {
            set(base, i, tag(2, i));
        }
        0
    });
    check!(T, wait_exit_code(pid) == 0, "case 4: writing child");
    check!(
        T,
        holds(base, 0..PAGES, 0),
        "case 4: an exited child's writes are here"
    );
    for i in 0..PAGES {
        set(base, i, tag(1, i));
    }
    check!(T, holds(base, 0..PAGES, 1), "case 4: the survivor's writes");
    unmap(raw);
}

/// 5: the kernel writes into the shared range (read() from a pipe), in child and parent.
fn kernel_writes() {
    let (base, raw) = table_range();
    let fds = pipe();
    let pid = spawn(|| {
        // SAFETY: page 3 of our (shared-at-fork) range, as the buffer of a read().
        let buf = unsafe { core::slice::from_raw_parts_mut((base + 3 * PAGE) as *mut u8, 8) };
        if read(fds[0], buf) != 8 {
            return 1;
        }
        if get(base, 3) != u64::from_le_bytes(*b"childbuf") || !holds(base, 4..PAGES, 0) {
            return 2;
        }
        0
    });
    check!(T, write(fds[1], b"childbuf") == 8, "case 5: pipe write");
    check!(
        T,
        wait_exit_code(pid) == 0,
        "case 5: the kernel's write in the child"
    );
    check!(
        T,
        holds(base, 0..PAGES, 0),
        "case 5: the kernel's write reached the parent"
    );
    let pid = spawn(|| if holds(base, 0..PAGES, 0) { 0 } else { 1 });
    check!(T, write(fds[1], b"parentbf") == 8, "case 5: pipe write");
    // SAFETY: page 9 of our range.
    let buf = unsafe { core::slice::from_raw_parts_mut((base + 9 * PAGE) as *mut u8, 8) };
    check!(T, read(fds[0], buf) == 8, "case 5: read into the range");
    check!(
        T,
        wait_exit_code(pid) == 0,
        "case 5: the parent's read reached the child"
    );
    check!(
        T,
        get(base, 9) == u64::from_le_bytes(*b"parentbf"),
        "case 5: read data"
    );
    close(fds[0]);
    close(fds[1]);
    unmap(raw);
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let shared_before = kstat_opt(11);
    both_write();
    grandchild();
    unmap_and_protect();
    sharer_exits();
    kernel_writes();
    match (shared_before, kstat_opt(11)) {
        (Some(a), Some(b)) if b > a => println!("{}: fork=odf: {} tables shared", T, b - a),
        (Some(_), Some(_)) => println!("{}: classic fork (no table shared)", T),
        _ => {}
    }
    println!("{}: ok", T);
    0
}
