//! The clocks: CLOCK_REALTIME is the real date (QEMU's RTC), the other clocks count from
//! boot; gettimeofday agrees with CLOCK_REALTIME; clock_getres; clock_nanosleep sleeps at
//! least as asked, relative and TIMER_ABSTIME, with Linux's errors; sysinfo's fields.
#![no_std]
#![no_main]

use ulib::*;

const T: &str = "time_clocks";

const SYS_CLOCK_GETRES: usize = 114;
const SYS_CLOCK_NANOSLEEP: usize = 115;
const SYS_GETTIMEOFDAY: usize = 169;
const SYS_SYSINFO: usize = 179;
const CLOCK_REALTIME: usize = 0;
const CLOCK_MONOTONIC: usize = 1;
const CLOCK_THREAD_CPUTIME_ID: usize = 3;
const CLOCK_REALTIME_COARSE: usize = 5;
const CLOCK_BOOTTIME: usize = 7;
const TIMER_ABSTIME: usize = 1;
/// 2024-01-01 00:00:00 UTC: the machine's date is later than this.
const JAN_2024: i64 = 1_704_067_200;

fn now(clock: usize) -> (i64, i64) {
    let mut ts = [0i64; 2];
    let r = syscall(SYS_CLOCK_GETTIME, &[clock, ts.as_mut_ptr() as usize]);
    check!(T, r == 0, "clock_gettime({}) gave {}", clock, r);
    (ts[0], ts[1])
}

fn ns(t: (i64, i64)) -> i64 {
    t.0 * 1_000_000_000 + t.1
}

fn sleep(clock: usize, flags: usize, t: (i64, i64)) -> isize {
    let req = [t.0, t.1];
    syscall(
        SYS_CLOCK_NANOSLEEP,
        &[clock, flags, req.as_ptr() as usize, 0],
    )
}

#[unsafe(no_mangle)]
fn main(_args: Args) -> i32 {
    // The real date, not 1970; the monotonic clock counts from boot (well below a day).
    let real = now(CLOCK_REALTIME);
    check!(
        T,
        real.0 > JAN_2024,
        "CLOCK_REALTIME {} s is before 2024",
        real.0
    );
    let mono = now(CLOCK_MONOTONIC);
    check!(
        T,
        (0..86_400).contains(&mono.0),
        "CLOCK_MONOTONIC {} s",
        mono.0
    );
    let boot = now(CLOCK_BOOTTIME);
    check!(T, ns(boot) >= ns(mono), "BOOTTIME is behind MONOTONIC");
    // gettimeofday: the same wall clock in microseconds, and a NULL timeval is allowed.
    let mut tv = [0i64; 2];
    let r = syscall(SYS_GETTIMEOFDAY, &[tv.as_mut_ptr() as usize, 0]);
    check!(T, r == 0, "gettimeofday gave {}", r);
    let after = now(CLOCK_REALTIME);
    let tv_ns = tv[0] * 1_000_000_000 + tv[1] * 1000;
    check!(
        T,
        (0..1_000_000).contains(&tv[1]) && ns(real) - 1000 <= tv_ns && tv_ns <= ns(after),
        "gettimeofday {}.{:06} outside [{}.{:09}, {}.{:09}]",
        tv[0],
        tv[1],
        real.0,
        real.1,
        after.0,
        after.1
    );
    check!(
        T,
        syscall(SYS_GETTIMEOFDAY, &[0, 0]) == 0,
        "gettimeofday(NULL, NULL)"
    );
    check!(
        T,
        syscall(SYS_GETTIMEOFDAY, &[1, 0]) == -EFAULT,
        "gettimeofday to a bad pointer"
    );
    // clock_getres: 1 ns for the high-resolution clocks; a coarse clock's is a tick.
    let mut res = [0i64; 2];
    let r = syscall(
        SYS_CLOCK_GETRES,
        &[CLOCK_MONOTONIC, res.as_mut_ptr() as usize],
    );
    check!(
        T,
        r == 0 && res == [0, 1],
        "clock_getres(MONOTONIC) {} {:?}",
        r,
        res
    );
    let r = syscall(
        SYS_CLOCK_GETRES,
        &[CLOCK_REALTIME_COARSE, res.as_mut_ptr() as usize],
    );
    check!(
        T,
        r == 0 && res[0] == 0 && res[1] >= 1_000_000,
        "clock_getres(REALTIME_COARSE) {} {:?}",
        r,
        res
    );
    check!(
        T,
        syscall(SYS_CLOCK_GETRES, &[CLOCK_MONOTONIC, 0]) == 0,
        "NULL res"
    );
    check!(
        T,
        syscall(SYS_CLOCK_GETRES, &[99, 0]) == -EINVAL,
        "bad clock"
    );
    // A relative sleep of 20 ms takes at least 20 ms.
    let t0 = ns(now(CLOCK_MONOTONIC));
    let r = sleep(CLOCK_MONOTONIC, 0, (0, 20_000_000));
    let t1 = ns(now(CLOCK_MONOTONIC));
    check!(
        T,
        r == 0 && t1 - t0 >= 20_000_000,
        "relative sleep: {} after {} ns",
        r,
        t1 - t0
    );
    // TIMER_ABSTIME: until 30 ms from now on the monotonic clock and 30 ms of the real one.
    let until = t1 + 30_000_000;
    let r = sleep(
        CLOCK_MONOTONIC,
        TIMER_ABSTIME,
        (until / 1_000_000_000, until % 1_000_000_000),
    );
    let t2 = ns(now(CLOCK_MONOTONIC));
    check!(
        T,
        r == 0 && t2 >= until,
        "absolute sleep: {}, woke {} ns early",
        r,
        until - t2
    );
    let until = ns(now(CLOCK_REALTIME)) + 30_000_000;
    let r = sleep(
        CLOCK_REALTIME,
        TIMER_ABSTIME,
        (until / 1_000_000_000, until % 1_000_000_000),
    );
    check!(
        T,
        r == 0 && ns(now(CLOCK_REALTIME)) >= until,
        "absolute CLOCK_REALTIME sleep {}",
        r
    );
    // A time in the past returns at once.
    check!(
        T,
        sleep(CLOCK_MONOTONIC, TIMER_ABSTIME, (0, 0)) == 0,
        "past deadline"
    );
    // Linux's errors (the system call returns them; the libc turns them into errno).
    check!(
        T,
        sleep(CLOCK_MONOTONIC, 0, (0, 1_000_000_000)) == -EINVAL,
        "nsec too big"
    );
    check!(
        T,
        sleep(CLOCK_MONOTONIC, 0, (-1, 0)) == -EINVAL,
        "negative seconds"
    );
    check!(T, sleep(99, 0, (0, 1)) == -EINVAL, "unknown clock");
    let r = sleep(CLOCK_THREAD_CPUTIME_ID, 0, (0, 1));
    // Linux 6.1: a thread cannot sleep on its own CPU clock (EOPNOTSUPP).
    check!(T, r == -95, "CLOCK_THREAD_CPUTIME_ID gave {}", r);
    let r = syscall(SYS_CLOCK_NANOSLEEP, &[CLOCK_MONOTONIC, 0, 1, 0]);
    check!(T, r == -EFAULT, "bad request pointer gave {}", r);
    // sysinfo: uptime matches the monotonic clock, memory adds up, and we are a task.
    let mut si = [0u8; 112];
    let r = syscall(SYS_SYSINFO, &[si.as_mut_ptr() as usize]);
    check!(T, r == 0, "sysinfo gave {}", r);
    let u64_at = |at: usize| u64::from_le_bytes(si[at..at + 8].try_into().unwrap_or_default());
    let uptime = u64_at(0) as i64;
    let mono = now(CLOCK_MONOTONIC).0;
    // Linux rounds the uptime up to the next second.
    check!(
        T,
        uptime >= mono && uptime - mono <= 1,
        "uptime {} vs {}",
        uptime,
        mono
    );
    let unit = u32::from_le_bytes(si[104..108].try_into().unwrap_or_default()) as u64;
    let (total, free) = (u64_at(32) * unit, u64_at(40) * unit);
    check!(
        T,
        unit >= 1 && total >= 64 << 20 && free > 0 && free < total,
        "sysinfo totalram {} freeram {} mem_unit {}",
        total,
        free,
        unit
    );
    let procs = u16::from_le_bytes([si[80], si[81]]);
    check!(T, procs >= 1, "sysinfo procs {}", procs);
    check!(
        T,
        syscall(SYS_SYSINFO, &[1]) == -EFAULT,
        "sysinfo to a bad pointer"
    );
    println!("{}: ok", T);
    0
}
