//! User programs that read, write or jump into kernel memory are killed with SIGSEGV
//! (with a decoded report on the console); their parent and the kernel carry on.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "kernel_touch";
const KERNEL_TEXT: usize = 0xffff_0000_4020_3000;

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let read = spawn(|| {
        // SAFETY: deliberately invalid: kernel memory.
        unsafe { (KERNEL_TEXT as *const u32).read_volatile() as i32 }
    });
    check!(
        T,
        wait_exit_code(read) == 128 + SIGSEGV as i32,
        "reading kernel memory is SIGSEGV"
    );
    let write = spawn(|| {
        // SAFETY: deliberately invalid.
        unsafe { (KERNEL_TEXT as *mut u32).write_volatile(0) };
        0
    });
    check!(
        T,
        wait_exit_code(write) == 128 + SIGSEGV as i32,
        "writing kernel memory is SIGSEGV"
    );
    let jump = spawn(|| {
        // SAFETY: deliberately invalid: executing kernel text from EL0.
        let f: extern "C" fn() -> i32 = unsafe { core::mem::transmute(KERNEL_TEXT) };
        f()
    });
    check!(
        T,
        wait_exit_code(jump) == 128 + SIGSEGV as i32,
        "jumping into the kernel is SIGSEGV"
    );
    let null = spawn(|| {
        // SAFETY: deliberately invalid: NULL.
        unsafe { core::ptr::null::<u64>().read_volatile() as i32 }
    });
    check!(
        T,
        wait_exit_code(null) == 128 + SIGSEGV as i32,
        "NULL dereference is SIGSEGV"
    );
    let undef = spawn(|| {
        // SAFETY: deliberately an undefined instruction.
        unsafe { core::arch::asm!("udf #0") };
        0
    });
    check!(
        T,
        wait_exit_code(undef) == 128 + 4,
        "an undefined instruction is SIGILL"
    );
    println!("{}: ok", T);
    0
}
