# Driven by ci/gdb-test.sh with GDB_CPUS=4 (e2e.sh passes preempt and this script):
# gdb-multiarch in batch mode against a 4-CPU QEMU running user/src/bin/preempt, whose
# parent and child both spin in user mode until the parent kills the child. Checks that
# QEMU's gdbstub shows one thread per CPU, that the helpers describe the CPU of the
# selected thread (tasks, cpus, uframe, fpregs), that `set scheduler-locking step`
# freezes the other CPUs while one steps, and that `break ... thread N` stops only there.
# Any failed check raises, so "gdb-smp-check: PASS" is never printed.
import gdb


def thread(num):
    return next(t for t in gdb.selected_inferior().threads() if t.num == num)


def regs(num):
    """x0-x30, sp, pc, cpsr of gdb thread num."""
    names = ["x%d" % i for i in range(31)] + ["sp", "pc", "cpsr"]
    return on_thread(thread(num), lambda: [int(gdb.newest_frame().read_register(r)) for r in names])


def tasks_rows():
    """{tid: (cpu, last, marked)} from the `tasks` command's output."""
    rows = {}
    for line in run("tasks").splitlines()[1:]:
        f = line.split()
        if f:
            rows[int(f[0])] = (f[3], f[4], f[5] == "*")
    return rows


# At reset: one thread per vCPU, only CPU 0 powered on.
info = run("info threads")
print(info)
nums = sorted(t.num for t in gdb.selected_inferior().threads())
check(nums == [1, 2, 3, 4] and all("CPU#%d" % i in info for i in range(4)),
      "at reset, info threads lists 4 threads, CPU#0..CPU#3")

# kernel_init runs once start_secondary_cpus has brought every CPU online.
run("break kernel::boot::kernel_init")
run("continue")
run("delete")
info = run("info threads")
print(info)
check(online_cpus() == {0, 1, 2, 3}, "at kernel_init all 4 CPUs are online (sched.rs ONLINE)")
kernel_pcs = [on_thread(t, lambda: gdb.newest_frame().pc()) >> 48 == 0xFFFF
              for t in gdb.selected_inferior().threads()]
check(len(kernel_pcs) == 4 and all(kernel_pcs) and info.count("Thread 1.") == 4,
      "info threads: 4 threads, every CPU in kernel code")
stop = gdb.selected_thread().num
check(int(current_task()["tid"]) == 1 and tasks_rows()[1][2],
      "the CPU that stopped (thread %d) runs init, tid 1, and `tasks` marks it" % stop)
for num in nums:
    run("thread %d" % num)
    cpu, started = thread_cpu()
    check(started and cpu == num - 1,
          "thread %d is CPU %d: its TPIDR_EL1 points at PER_CPU[%d]" % (num, num - 1, cpu))
    bt = run("bt")
    pc = int(gdb.parse_and_eval("$pc"))
    check(pc == gdb.selected_frame().pc() and pc >> 48 == 0xFFFF,
          "thread %d: p $pc = %#x, a kernel address" % (num, pc))
    if num != stop:
        caller = "kernel_main" if num == 1 else "secondary_start_kernel"
        if "kernel::task::sched::idle_loop" not in bt:
            # Caught inside an interrupt's entry code (e.g. its tick), where there is no
            # frame to unwind yet: let this CPU alone run to its next wait in the idle
            # loop, then look again.
            run("set scheduler-locking on")
            run("tbreak kernel::arch::wait_for_interrupt thread %d" % num)
            run("continue")
            run("set scheduler-locking off")
            bt = run("bt")
        check("kernel::task::sched::idle_loop" in bt and caller in bt,
              "thread %d: bt shows the idle loop, called by %s" % (num, caller))
        check(not any(m for _, _, m in tasks_rows().values()),
              "thread %d: `tasks` marks no task (CPU %d runs its idle task)" % (num, num - 1))
        try:
            run("uframe")
            idle_error = False
        except gdb.error as e:
            idle_error = "idle task" in str(e)
        check(idle_error, "thread %d: uframe without a TID says the CPU is idle" % num)
run("thread %d" % stop)

# An idle CPU taking its timer interrupt: bt goes through the exception entry (entry.S,
# no CFI; gdb/teachos.py's unwinder) back into the wfi it interrupted, and ends.
run("break kernel::arch::exception::el1h_irq_handler")
run("continue")
run("delete")
bt = run("bt 40")
print(bt)
frames = [line for line in bt.splitlines() if line.startswith("#")]
check(len(frames) < 40 and "in el1h_irq ()" in bt and "wait_for_interrupt" in bt
      and "idle_loop" in bt,
      "bt in el1h_irq_handler (thread %d) unwinds through el1h_irq into the interrupted "
      "wait_for_interrupt and ends (%d frames)" % (gdb.selected_thread().num, len(frames)))

# preempt's parent kills its child once the child has counted to 1000: at that moment
# both run, the parent in the kernel (kill), the child in user mode on another CPU.
run("break kernel::syscall::signal::kill")
run("continue")
run("delete")
a = gdb.selected_thread().num
rows = tasks_rows()
print(run("tasks"))
print(run("cpus"))
bt = run("bt")
print(bt)
user = [line for line in bt.splitlines() if line.startswith("#") and " 0x0000000000" in line]
check("in el0_sync ()" in bt and user,
      "bt in kill goes through el0_sync into the user program (%s)" % (user[:1] or "-"))
check(rows[1][0] == str(a - 1) and rows[1][2],
      "at kill: tid 1 (the parent) runs on CPU %d, the stopped thread's, marked `*`" % (a - 1))
check(rows[2][0] not in ("-", str(a - 1)) and not rows[2][2],
      "tid 2 (the child) runs on another CPU, %s, unmarked" % rows[2][0])
b = int(rows[2][0]) + 1
run("thread %d" % b)
if int(gdb.parse_and_eval("$cpsr")) >> 2 & 3 != 0:
    # The child's CPU was taking an interrupt when the parent's stopped: let that CPU
    # alone run (scheduler-locking on) until it is back at the user pc it will return to.
    run("set scheduler-locking on")
    run("tbreak *%#x thread %d" % (int(gdb.parse_and_eval("$ELR_EL1")), b))
    run("continue")
    run("set scheduler-locking replay")
    check(gdb.selected_thread().num == b, "the child's CPU alone ran back to user mode")
pc = int(gdb.parse_and_eval("$pc"))
el = int(gdb.parse_and_eval("$cpsr")) >> 2 & 3
check(el == 0 and 0 < pc < 1 << 48, "thread %d: the child in user mode, EL0, pc %#x" % (b, pc))
run("bt 1")
rows = tasks_rows()
check(rows[2][2] and not rows[1][2],
      "thread %d selected: `tasks` marks tid 2 (read through a CPU in the kernel: "
      "the selected one is at EL0)" % b)
out = run("uframe")
check("runs in user mode on CPU %d" % (b - 1) in out,
      "uframe on thread %d: the saved frame, and a note that the live registers are the CPU's" % b)
# The child's FP/SIMD registers are live in its CPU. Give v7 there a value no other CPU
# has (the child never uses FP/SIMD, and it is killed next): fpregs 2 must show it
# whichever thread is selected.
MARK = 0x5EED00000000000000000000C0FFEE07
run("set var $v7.d.u[0] = %#x" % (MARK & (1 << 64) - 1))
run("set var $v7.d.u[1] = %#x" % (MARK >> 64))
run("thread %d" % a)
d = gdb.parse_and_eval("$v7")["d"]["u"]
check(int(d[1]) << 64 | int(d[0]) != MARK, "thread %d's own v7 is not the mark set on thread %d" % (a, b))
source, vals, _, _ = fp_state(find_task(2))
out = run("fpregs 2")
check(source == "the CPU's registers (live, CPU %d)" % (b - 1) and vals[7] == MARK
      and ("%#034x" % MARK) in out,
      "fpregs 2 from thread %d shows the child's v7 live from CPU %d" % (a, b - 1))

# All-stop: the child's CPU stays where it was while the parent's steps, if gdb is told
# to resume only the stepping thread.
run("set scheduler-locking step")
before = regs(b)
for cmd in ("stepi", "stepi", "next", "next"):
    run(cmd)
check(gdb.selected_thread().num == a and regs(b) == before,
      "scheduler-locking step: stepi, next on thread %d leave thread %d's registers unchanged" % (a, b))
run("set scheduler-locking replay")

# A thread-specific breakpoint: schedule() is called on the parent's CPU too (it sleeps
# in wait4), but gdb stops only when the child's CPU calls it, in do_exit (SIGKILL).
run("break kernel::task::sched::schedule thread %d" % b)
run("continue")
bt = run("bt")
print(bt)
check(gdb.selected_thread().num == b and int(current_task()["tid"]) == 2 and "do_exit" in bt,
      "break schedule thread %d: stops on thread %d, the child in do_exit" % (b, b))
run("delete")
print("gdb-smp-check: PASS")
