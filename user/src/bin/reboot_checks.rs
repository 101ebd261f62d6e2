//! reboot_checks: reboot(2)'s argument checks, as Linux's kernel/reboot.c makes them —
//! both magic numbers (any of the four second ones), then the command: EINVAL for a
//! wrong magic or an unknown command, 0 for CAD_ON/CAD_OFF, EFAULT for RESTART2's
//! unreadable command string. (The calls that do power off are checked end to end by
//! ci/e2e.sh: `poweroff` at the shell prompt makes QEMU exit 0.)
#![no_std]
#![no_main]

use ulib::*;

const NAME: &str = "reboot_checks";

fn raw_reboot(magic1: usize, magic2: usize, cmd: usize, arg: usize) -> isize {
    syscall(SYS_REBOOT, &[magic1, magic2, cmd, arg])
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    let m1 = LINUX_REBOOT_MAGIC1;
    let m2 = LINUX_REBOOT_MAGIC2;
    // Wrong magic numbers come first: even a harmless command is refused.
    for (a, b) in [(0, m2), (m1 + 1, m2), (m1, 0), (m1, m2 + 1), (m2, m1)] {
        let r = raw_reboot(a, b, LINUX_REBOOT_CMD_CAD_ON, 0);
        check!(
            NAME,
            r == -EINVAL,
            "reboot({:#x}, {:#x}, CAD_ON) = {}",
            a,
            b,
            r
        );
        let r = raw_reboot(a, b, LINUX_REBOOT_CMD_POWER_OFF, 0);
        check!(
            NAME,
            r == -EINVAL,
            "reboot({:#x}, {:#x}, POWER_OFF) = {}",
            a,
            b,
            r
        );
    }
    // The magic numbers are C ints: only their low 32 bits count.
    let r = raw_reboot(m1 | 0xffff_ffff_0000_0000, m2, LINUX_REBOOT_CMD_CAD_ON, 0);
    check!(
        NAME,
        r == 0,
        "reboot(magic1 with high bits set, CAD_ON) = {}",
        r
    );
    // Every second magic number works.
    for b in [
        LINUX_REBOOT_MAGIC2,
        LINUX_REBOOT_MAGIC2A,
        LINUX_REBOOT_MAGIC2B,
        LINUX_REBOOT_MAGIC2C,
    ] {
        for cmd in [LINUX_REBOOT_CMD_CAD_OFF, LINUX_REBOOT_CMD_CAD_ON] {
            let r = raw_reboot(m1, b, cmd, 0);
            check!(NAME, r == 0, "reboot(MAGIC1, {}, {:#x}) = {}", b, cmd, r);
        }
    }
    // Unknown commands.
    for cmd in [1, 0x1234_5678, LINUX_REBOOT_CMD_POWER_OFF + 1, 0xffff_ffff] {
        let r = raw_reboot(m1, m2, cmd, 0);
        check!(
            NAME,
            r == -EINVAL,
            "reboot(MAGIC1, MAGIC2, {:#x}) = {}",
            cmd,
            r
        );
    }
    // RESTART2 reads its command string first: an unreadable one is EFAULT.
    for arg in [0, 8, usize::MAX - 4096] {
        let r = raw_reboot(m1, m2, LINUX_REBOOT_CMD_RESTART2, arg);
        check!(NAME, r == -EFAULT, "reboot(RESTART2, {:#x}) = {}", arg, r);
    }
    println!("{}: ok", NAME);
    0
}
