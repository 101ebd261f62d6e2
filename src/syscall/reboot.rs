//! reboot(2): powering the machine off, resetting or halting it (Linux kernel/reboot.c
//! `SYSCALL_DEFINE4(reboot)`, `kernel_power_off`, `kernel_restart`, `kernel_halt`).
//!
//! The caller (init, on busybox's `poweroff`) has already stopped every other process;
//! the kernel only checks the magic numbers, says what it does on the console, stops the
//! other CPUs and asks the arch layer to switch the machine off (PSCI on QEMU virt). QEMU
//! runs with `-no-reboot`, so a reset ends it too: both give QEMU's exit status 0. Everyone
//! is root here, so Linux's first check (CAP_SYS_BOOT, else EPERM) always passes.

use core::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Errno, KResult};
use crate::mm::uaccess;

const LINUX_REBOOT_MAGIC1: u32 = 0xfee1_dead;
/// Linus Torvalds's and his daughters' birthdays (include/uapi/linux/reboot.h).
const LINUX_REBOOT_MAGIC2: u32 = 672_274_793;
const LINUX_REBOOT_MAGIC2A: u32 = 85_072_278;
const LINUX_REBOOT_MAGIC2B: u32 = 369_367_448;
const LINUX_REBOOT_MAGIC2C: u32 = 537_993_216;

const LINUX_REBOOT_CMD_RESTART: u32 = 0x0123_4567;
const LINUX_REBOOT_CMD_HALT: u32 = 0xcdef_0123;
const LINUX_REBOOT_CMD_CAD_ON: u32 = 0x89ab_cdef;
const LINUX_REBOOT_CMD_CAD_OFF: u32 = 0x0000_0000;
const LINUX_REBOOT_CMD_POWER_OFF: u32 = 0x4321_fedc;
const LINUX_REBOOT_CMD_RESTART2: u32 = 0xa1b2_c3d4;

/// Linux `C_A_D`: whether Ctrl-Alt-Del reboots at once (1, the default) or signals init.
/// A serial console has no such key, so nothing reads it; CAD_ON/CAD_OFF only set it.
static C_A_D: AtomicBool = AtomicBool::new(true);

/// reboot(magic1, magic2, cmd, arg): the checks in Linux's order. Power-off, restart and
/// halt do not return; CAD_ON/CAD_OFF return 0; anything else is EINVAL.
pub fn reboot(magic1: u32, magic2: u32, cmd: u32, arg: usize) -> KResult<usize> {
    // "For safety, we require magic arguments." (the int arguments' low 32 bits).
    if magic1 != LINUX_REBOOT_MAGIC1
        || !matches!(
            magic2,
            LINUX_REBOOT_MAGIC2
                | LINUX_REBOOT_MAGIC2A
                | LINUX_REBOOT_MAGIC2B
                | LINUX_REBOOT_MAGIC2C
        )
    {
        return Err(Errno::EINVAL);
    }
    match cmd {
        LINUX_REBOOT_CMD_RESTART => kernel_restart(None),
        LINUX_REBOOT_CMD_CAD_ON => {
            C_A_D.store(true, Ordering::Relaxed);
            Ok(0)
        }
        LINUX_REBOOT_CMD_CAD_OFF => {
            C_A_D.store(false, Ordering::Relaxed);
            Ok(0)
        }
        LINUX_REBOOT_CMD_HALT => kernel_halt(),
        LINUX_REBOOT_CMD_POWER_OFF => kernel_power_off(),
        LINUX_REBOOT_CMD_RESTART2 => {
            // Linux: strncpy_from_user into a 256-byte buffer: a longer command is cut at
            // 255 bytes; an unreadable byte before the NUL is EFAULT. Byte by byte, so
            // nothing past the NUL is touched.
            let mut buf = [0u8; 255];
            let mut len = 0;
            while len < buf.len() {
                let mut byte = [0u8];
                uaccess::copy_from_user(&mut byte, arg.wrapping_add(len))
                    .map_err(|_| Errno::EFAULT)?;
                if byte[0] == 0 {
                    break;
                }
                buf[len] = byte[0];
                len += 1;
            }
            kernel_restart(Some(&buf[..len]))
        }
        // KEXEC (no image can be loaded here) and SW_SUSPEND (no hibernation) included.
        _ => Err(Errno::EINVAL),
    }
}

/// Linux `kernel_power_off`: the message, the other CPUs stopped, the machine off.
fn kernel_power_off() -> ! {
    crate::println!("reboot: Power down");
    crate::irq::stop_other_cpus();
    crate::trace::dump_at_power_off(crate::arch::timer::frequency());
    crate::arch::machine_power_off();
    // No way to power off: Linux turns POWER_OFF into HALT in that case.
    kernel_halt()
}

/// Linux `kernel_restart`: the message (with RESTART2's command), then a reset.
fn kernel_restart(cmd: Option<&[u8]>) -> ! {
    match cmd.map(core::str::from_utf8) {
        Some(Ok(cmd)) => crate::println!("reboot: Restarting system with command '{}'", cmd),
        Some(Err(_)) => crate::println!("reboot: Restarting system with a command"),
        None => crate::println!("reboot: Restarting system"),
    }
    crate::irq::stop_other_cpus();
    crate::arch::machine_restart();
    crate::println!("reboot: Reboot failed -- System halted");
    crate::arch::machine_halt()
}

/// Linux `kernel_halt`: the machine stays on with every CPU stopped (arm64
/// `machine_halt`); under QEMU, Ctrl-A x quits.
fn kernel_halt() -> ! {
    crate::println!("reboot: System halted");
    crate::println!("kernel: every CPU stopped; Ctrl-A x quits QEMU");
    crate::irq::stop_other_cpus();
    crate::arch::machine_halt()
}
