# Driven by ci/gdb-test.sh (e2e.sh passes forkdemo and this script): gdb-multiarch in
# batch mode against the kernel running forkdemo, checking that gdb never breaks where a
# student stops (issue 14): `bt` ends cleanly at ret_from_fork (a kernel thread's and a
# forked child's) and in a system call, within a few frames, with the user frame beneath
# el0_sync (pc and sp from the saved TrapFrame); `finish` in ret_from_fork stops at the
# child's first user instruction; and after stepping over kernel_exit's `eret` into the
# child (EL0), every helper of gdb/teachos.py works and prints what the kernel holds,
# leaving the CPU's PSTATE and gdb's selected frame as they were; the program then runs
# to its end, passing its own checks (exit status 0). `bt` is also checked at every
# instruction of an exception's entry and exit. Any failed check raises, so
# "gdb-el0-check: PASS" is never printed.
import re

import gdb

MAX_FRAMES = 12


def backtrace():
    """(frames as [(level, text)], the whole output) of `bt`."""
    out = run("bt")
    frames = [(int(m.group(1)), line) for line in out.splitlines()
              for m in [re.match(r"#(\d+) ", line)] if m]
    return frames, out


def clean(out):
    return "corrupt" not in out and "Backtrace stopped: previous frame" not in out


def frame_regs(level):
    f = gdb.newest_frame()
    for _ in range(level):
        f = f.older()
    return int(f.pc()) & (1 << 64) - 1, int(f.read_register("sp")) & (1 << 64) - 1


def user_frame_in_bt():
    """(pc, sp) of the first user frame in the backtrace, or None."""
    frame = gdb.newest_frame()
    while frame is not None and frame.pc() >= KERNEL_VA_OFFSET:
        frame = frame.older()
    return None if frame is None else (frame.pc(), int(frame.read_register("sp")) & (1 << 64) - 1)


exit_codes = []
gdb.events.exited.connect(lambda e: exit_codes.append(getattr(e, "exit_code", None)))

# 1. pid 1's kernel thread at ret_from_fork: nothing beneath it (its frame is all zeros).
run("break ret_from_fork")
run("continue")
frames, out = backtrace()
print(out)
check(int(current_task()["tid"]) == 1 and reg("x19") != 0, "first stop: init's kernel thread (x19 = its function)")
check(len(frames) == 1 and "ret_from_fork" in frames[0][1] and clean(out),
      "bt at a kernel thread's ret_from_fork: one frame, no 'corrupt stack'")

# 2. A system call: bt ends at el0_sync, then the user frame from the TrapFrame.
run("break kernel::syscall::dispatch_impl::dispatch")
run("continue")
frames, out = backtrace()
print(out)
saved = user_frame()
entry = [lvl for lvl, text in frames if " el0_sync " in text]
check(len(frames) <= MAX_FRAMES and clean(out), "bt in a system call: %d frames (<= %d), ends cleanly"
      % (len(frames), MAX_FRAMES))
check(len(entry) == 1 and entry[0] + 1 < len(frames) + 1, "bt shows el0_sync (frame #%s)" % entry)
user_pc, user_sp = frame_regs(entry[0] + 1)
check((user_pc, user_sp) == (saved[32], saved[31]),
      "the frame beneath el0_sync is the user's: pc %#x, sp %#x, as saved in the TrapFrame" % (user_pc, user_sp))
check("user code without symbols" in out, "without the program's symbols, bt says how to load them")
run("delete")

# 3. The child of fork() at ret_from_fork, with forkdemo's symbols.
run("add-symbol-file %s" % USER_ELF)
run("break kernel::task::fork::kernel_clone")
run("continue")
parent = int(current_task()["tid"])
run("delete")
run("break ret_from_fork")
run("continue")
child = int(current_task()["tid"])
check(child != parent and int(task_inner(current_task())["parent"]) == parent,
      "stopped at the child's ret_from_fork (tid %d, parent %d)" % (child, parent))
frames, out = backtrace()
print(out)
saved = user_frame()
check(2 <= len(frames) <= MAX_FRAMES and clean(out), "bt at the child's ret_from_fork: %d frames, clean" % len(frames))
check(frame_regs(1) == (saved[32], saved[31]),
      "frame #1 is the child's user frame: pc %#x = the parent's return address from svc" % saved[32])
check(any("fork" in text for _, text in frames[1:]), "with symbols, the user frames name fork()")
run("delete")

# 4. `finish` in ret_from_fork: the child returns to user mode, at its saved pc.
run("finish")
check(reg("pc") == saved[32] and reg("sp") == saved[31], "finish stops at the child's first user instruction")
with kernel_memory():  # teachos.py: the kernel's data, read from EL0 too
    tid, x0 = int(current_task()["tid"]), user_frame()[0]
check(reg("cpsr") >> 2 & 3 == 0 and tid == child, "... at EL0, in the child")
check(x0 == 0, "the child's saved x0 is 0 (fork() returns 0 in the child)")

# 5. The same moment by stepping over `eret`, on the child's next exception (a fault on
#    its stack page, the first page it writes), one instruction at a time: from the
#    vector through kernel_entry to el0_sync_handler, and from ret_to_user through
#    kernel_exit to the eret, `bt` shows the interrupted user frame (ELR_EL1/SP_EL0 on
#    entry, the TrapFrame's pc/sp on exit: registers half saved or half restored are
#    found where they are).
run("set language c")
cow = int(gdb.parse_and_eval("(unsigned long)&COW_PAGE"))
run("tbreak *%#x" % (minsym("vectors") + 0x400))  # the vector of a synchronous exception from EL0
run("continue")
want = (reg("ELR_EL1"), reg("SP_EL0"))
steps = bad = 0
while not (gdb.newest_frame().name() or "").endswith("el0_sync_handler") and steps < 100:
    out = run("bt")
    bad += user_frame_in_bt() != want or not clean(out)
    run("stepi")
    steps += 1
check(steps > 20 and bad == 0, "bt at each of the %d instructions from the vector to el0_sync_handler: the user frame "
      "is ELR_EL1/SP_EL0 (%#x, %#x)" % (steps, want[0], want[1]))
run("tbreak ret_to_user")
run("continue")
with kernel_memory():
    saved = user_frame()
want = (saved[32], saved[31])
eret = None
code = bytes(gdb.selected_inferior().read_memory(minsym("ret_to_user"), 4 * 64))
for i in range(0, len(code), 4):
    if int.from_bytes(code[i:i + 4], "little") == 0xD69F03E0:
        eret = minsym("ret_to_user") + i
        break
steps = bad = 0
while reg("pc") != eret and steps < 100:
    out = run("bt")
    bad += user_frame_in_bt() != want or not clean(out)
    run("nexti")  # over `bl prepare_exit_to_user`
    steps += 1
check(steps > 20 and bad == 0, "bt at each of the %d instructions from ret_to_user to the eret: the user frame is "
      "the TrapFrame's (%#x, %#x)" % (steps, want[0], want[1]))
frames, out = backtrace()
print(out)
check(reg("pc") == eret and len(frames) <= MAX_FRAMES and clean(out), "at kernel_exit's eret: bt clean")
check(frame_regs(1) == (reg("ELR_EL1"), reg("SP_EL0")), "at the eret, frame #1 is ELR_EL1/SP_EL0 (all registers restored)")
run("stepi")
check(reg("pc") == saved[32] and reg("cpsr") >> 2 & 3 == 0, "stepi over eret: at EL0, pc %#x (the faulting instruction, retried)" % saved[32])
cpsr_before = reg("cpsr")
run("up")
level = gdb.selected_frame().level()

out = run("tasks")
print(out)
rows = {int(r[0]): r for r in (line.split() for line in out.splitlines()[1:]) if r}
check(sorted(rows)[:2] == sorted([parent, child]) and "*" in rows[child], "at EL0: tasks lists both, `*` on the child")
out = run("cpus")
print(out)
check(re.search(r"^\* 0 +1 +EL0 +%d \(forkdemo\)" % child, out, re.M) is not None, "at EL0: cpus shows CPU 0 at EL0 running the child")
out = run("uframe")
print(out)
check("task %d: TrapFrame at" % child in out and "pc  %#018x" % saved[32] in out and "runs in user mode" in out,
      "at EL0: uframe prints the child's saved frame and says it runs in user mode")
out = run("ptwalk %#x" % cow)
print(out)
check(re.search(r"page %#x -> frame 0x[0-9a-f]+  \[[A-Za-z ]*COW\]  refcount 2" % cow, out) is not None,
      "at EL0: ptwalk COW_PAGE: still COW, shared (count 2): the child has not written it yet")
out = run("fpregs")
print(out)
check("task %d: FP/SIMD state from" % child in out and "fpsr" in out, "at EL0: fpregs prints the child's FP/SIMD state")
out = run("cowbreak %#x" % cow)
check("resolve_cow for the page at %#x" % cow in out, "at EL0: cowbreak sets its breakpoint")
check(reg("cpsr") == cpsr_before and gdb.selected_frame().level() == level,
      "the helpers left PSTATE (EL0) and the selected frame (#%d) as they were" % level)

# 6. The store faults again, now resolved; bt there; then the program runs to its end.
run("continue")
check(int(gdb.parse_and_eval("va")) & ~0xFFF == cow, "cowbreak stops in resolve_cow for COW_PAGE")
frames, out = backtrace()
print(out)
check(len(frames) <= MAX_FRAMES and clean(out) and "forkdemo::main" in frames[-1][1],
      "bt from the COW fault: %d frames, ends in the user's forkdemo::main" % len(frames))
run("delete")
run("continue")
check(exit_codes == [0], "forkdemo then passes its own checks and exits 0 (exit codes %s)" % exit_codes)
print("gdb-el0-check: PASS")
