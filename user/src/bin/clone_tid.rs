//! CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID with a futex-based join,
//! CLONE_SETTLS, and set_tid_address.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ulib::*;

const T: &str = "clone_tid";

static CHILD_SAW: AtomicU64 = AtomicU64::new(0);
static CHILD_TLS: AtomicU64 = AtomicU64::new(0);
static CTID: AtomicU32 = AtomicU32::new(0);

extern "C" fn report(_: usize) -> i32 {
    CHILD_SAW.store(CTID.load(Ordering::SeqCst) as u64, Ordering::SeqCst);
    CHILD_TLS.store(arch::thread_pointer() as u64, Ordering::SeqCst);
    nanosleep_ns(30_000_000); // the parent is in its futex wait by now
    0
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // A thread with CHILD_SETTID + CHILD_CLEARTID + SETTLS; PARENT_SETTID into a second word.
    let ptid = AtomicU32::new(0);
    let tls = 0x7e57_7150usize;
    let flags = THREAD_FLAGS
        | CLONE_SETTLS
        | CLONE_PARENT_SETTID
        | CLONE_CHILD_SETTID
        | CLONE_CHILD_CLEARTID;
    let tp_before = arch::thread_pointer();
    CTID.store(u32::MAX, Ordering::SeqCst); // non-zero until the child exits
    let tid = arch::clone_thread(
        flags,
        new_stack(),
        ptid.as_ptr() as usize,
        tls,
        CTID.as_ptr() as usize,
        report,
        0,
    );
    check!(T, tid > 0, "clone gave {}", tid);
    check!(
        T,
        ptid.load(Ordering::SeqCst) == tid as u32,
        "PARENT_SETTID: {} != {}",
        ptid.load(Ordering::SeqCst),
        tid
    );
    join(&CTID); // returns once the kernel cleared the word and woke us
    check!(
        T,
        CTID.load(Ordering::SeqCst) == 0,
        "CHILD_CLEARTID: word not cleared"
    );
    check!(
        T,
        CHILD_SAW.load(Ordering::SeqCst) == tid as u64,
        "CHILD_SETTID: the child saw {} not its tid {}",
        CHILD_SAW.load(Ordering::SeqCst),
        tid
    );
    check!(
        T,
        CHILD_TLS.load(Ordering::SeqCst) == tls as u64,
        "SETTLS: child's TPIDR_EL0 {:#x}",
        CHILD_TLS.load(Ordering::SeqCst)
    );
    check!(
        T,
        arch::thread_pointer() == tp_before,
        "SETTLS changed the parent's thread pointer"
    );

    // set_tid_address returns the tid; at exit the word is cleared (if the memory is
    // still shared with someone): here a CLONE_VM child sets it and exits.
    check!(
        T,
        syscall(SYS_SET_TID_ADDRESS, &[0]) == gettid(),
        "set_tid_address returns the tid"
    );
    let word = AtomicU32::new(0);
    extern "C" fn set_and_exit(addr: usize) -> i32 {
        syscall(SYS_SET_TID_ADDRESS, &[addr]);
        // SAFETY: addr is the parent's AtomicU32, shared through CLONE_VM.
        unsafe { (*(addr as *const AtomicU32)).store(gettid() as u32, Ordering::SeqCst) };
        0
    }
    let dummy = AtomicU32::new(0);
    let pid = clone_fn(
        CLONE_VM | SIGCHLD,
        set_and_exit,
        word.as_ptr() as usize,
        &dummy,
    );
    check!(T, pid > 0, "CLONE_VM child");
    check!(T, wait_exit_code(pid) == 0, "child exit");
    check!(
        T,
        word.load(Ordering::SeqCst) == 0,
        "the tid word was not cleared at exit"
    );
    println!("{}: ok", T);
    0
}
