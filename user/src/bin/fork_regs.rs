//! ret_from_fork returns to the instruction after the parent's svc with x0 = 0 and every
//! other register equal to the parent's: x1-x7, x9-x17, x20-x28, sp and TPIDR_EL0.
#![no_std]
#![no_main]

use core::arch::asm;

use ulib::*;

const T: &str = "fork_regs";

/// Loads patterns into the registers, forks, and dumps the registers after the svc into
/// `out` (index = register number; 30 = sp, 31 = tpidr_el0).
fn fork_and_dump(out: &mut [u64; 32]) {
    // SAFETY: fork from inline assembly: both parent and child continue after the svc and
    // only store registers through x9 (a pointer to `out`, valid in both).
    unsafe {
        asm!(
            "msr tpidr_el0, x20",
            "svc #0",
            "str x0, [x9, #0]", "str x1, [x9, #8]", "str x2, [x9, #16]", "str x3, [x9, #24]",
            "str x4, [x9, #32]", "str x5, [x9, #40]", "str x6, [x9, #48]", "str x7, [x9, #56]",
            "str x8, [x9, #64]", "str x10, [x9, #80]", "str x11, [x9, #88]",
            "str x12, [x9, #96]", "str x13, [x9, #104]", "str x14, [x9, #112]", "str x15, [x9, #120]",
            "str x16, [x9, #128]", "str x17, [x9, #136]", "str x20, [x9, #160]", "str x21, [x9, #168]",
            "str x22, [x9, #176]", "str x23, [x9, #184]", "str x24, [x9, #192]", "str x25, [x9, #200]",
            "str x26, [x9, #208]", "str x27, [x9, #216]", "str x28, [x9, #224]",
            "mov x10, sp", "str x10, [x9, #240]",
            "mrs x10, tpidr_el0", "str x10, [x9, #248]",
            in("x9") out.as_mut_ptr(),
            inlateout("x0") SIGCHLD => _, inlateout("x1") 0usize => _, inlateout("x2") 0usize => _,
            inlateout("x3") 0usize => _, inlateout("x4") 0usize => _,
            inlateout("x5") 0x505usize => _, inlateout("x6") 0x606usize => _, inlateout("x7") 0x707usize => _,
            inlateout("x8") SYS_CLONE => _,
            inlateout("x10") 0xa0ausize => _, inlateout("x11") 0xb0busize => _, inlateout("x12") 0xc0cusize => _,
            inlateout("x13") 0xd0dusize => _, inlateout("x14") 0xe0eusize => _, inlateout("x15") 0xf0fusize => _,
            inlateout("x16") 0x1616usize => _, inlateout("x17") 0x1717usize => _,
            inlateout("x20") 0x7e57_0000_2020usize => _, inlateout("x21") 0x2121usize => _, inlateout("x22") 0x2222usize => _,
            inlateout("x23") 0x2323usize => _, inlateout("x24") 0x2424usize => _, inlateout("x25") 0x2525usize => _,
            inlateout("x26") 0x2626usize => _, inlateout("x27") 0x2727usize => _, inlateout("x28") 0x2828usize => _,
        );
    }
}

const CHECKED: [usize; 25] = [
    1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 17, 20, 21, 22, 23, 24, 25, 26, 27, 28,
];

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let child_view = shared_page();
    let mut regs = [0u64; 32];
    fork_and_dump(&mut regs);
    if regs[0] == 0 {
        child_view[..32].copy_from_slice(&regs);
        child_view[40] = 1;
        exit(0);
    }
    let pid = regs[0] as isize;
    check!(T, pid > 0, "fork returned {} in the parent", pid);
    check!(T, wait_exit_code(pid) == 0, "child exit");
    check!(T, child_view[40] == 1, "the child stored its registers");
    check!(
        T,
        child_view[0] == 0,
        "x0 = 0 in the child (got {:#x})",
        child_view[0]
    );
    for r in CHECKED {
        check!(
            T,
            child_view[r] == regs[r],
            "x{} differs: child {:#x}, parent {:#x}",
            r,
            child_view[r],
            regs[r]
        );
    }
    check!(
        T,
        regs[5] == 0x505 && regs[28] == 0x2828,
        "patterns survived the svc in the parent"
    );
    check!(
        T,
        child_view[30] == regs[30],
        "sp differs: child {:#x}, parent {:#x}",
        child_view[30],
        regs[30]
    );
    check!(
        T,
        child_view[31] == 0x7e57_0000_2020 && regs[31] == child_view[31],
        "TPIDR_EL0 inherited"
    );
    println!("{}: ok", T);
    0
}
