# Driven by ci/gdb-test.sh (e2e.sh passes fpsimd and this script): gdb-multiarch in batch mode against the kernel running
# user/src/bin/fpsimd. That program loads known patterns (FpState::pattern(seed) in
# user/src/fp.rs, reimplemented below) into v0-v31/FPSR/FPCR around its system calls.
# Checks that the `fpregs` helper shows them: live in the CPU during getppid (seed 5),
# and from the thread's save area once nanosleep (seed 6) has switched the task out.
import gdb

M64 = (1 << 64) - 1
FPSR_BITS, FPCR_BITS = 0xF800009F, 0x07C00000


def pattern(seed):
    """user/src/fp.rs FpState::pattern: splitmix64 values, 32 v registers, FPSR, FPCR."""
    x = (seed * 0x9E3779B97F4A7C15 & M64) ^ 0x7E57F95D

    def nxt():
        nonlocal x
        x = (x + 0x9E3779B97F4A7C15) & M64
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    v = []
    for _ in range(32):
        hi = nxt()
        v.append(hi << 64 | nxt())
    h = nxt()
    fpsr = (h & 0xFFFFFFFF & FPSR_BITS) | [1, 1 << 27, 1 << 7, 1 << 31][seed % 4]
    fpcr = ((h >> 32) & FPCR_BITS) | [1 << 22, 1 << 24, 1 << 25, 1 << 26][seed % 4]
    return v, fpsr, fpcr


run("break kernel::syscall::process::getppid")
run("continue")  # fpsimd's plain getppid() (no patterns loaded)
run("continue")  # the getppid inside fp_probe, with pattern(5) live
task = current_task()
tid = int(task["tid"])
source, vals, fpsr, fpcr = fp_state(task)
print(run("fpregs"))
want = pattern(5)
check(source.startswith("the CPU"), "during getppid the state is live in the CPU (%s)" % source)
check(vals == want[0], "v0-v31 in the CPU are the program's pattern(5)")
check((fpsr, fpcr) == want[1:], "FPSR %#x, FPCR %#x are the pattern's" % (fpsr, fpcr))
run("delete")
run("break kernel::syscall::time::nanosleep")
run("continue")  # nanosleep inside fp_probe, pattern(6) live
run("delete")
run("break kernel::arch::fpsimd::fpsimd_thread_switch")
run("continue")  # the task sleeps: the scheduler switches it out
run("finish")
run("delete")
source, vals, fpsr, fpcr = fp_state(find_task(tid))
print(run("fpregs %d" % tid))
want = pattern(6)
check(source.startswith("the save area"), "switched out, the state is read from the save area (%s)" % source)
check(vals == want[0] and (fpsr, fpcr) == want[1:], "the save area holds pattern(6): saved at switch-out")
print("gdb-fpsimd-check: PASS")
