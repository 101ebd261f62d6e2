# Lab 2's gdb test (docs/labs/grades.txt `gdb ret_from_fork`), driven by ci/gdb-test.sh on
# forkdemo: follows fork's child from kernel_clone through ret_from_fork to its first user
# instruction and checks the *effect* there — the CPU at EL0, in the child's address
# space, at the parent's return address, with x0 == 0 and every other register the
# parent's — whatever instructions a solution used to get there. Any failed check raises
# with the whole reason; "gdb-ret_from_fork: PASS" is printed only if all held.
import gdb


def stopped_in(symbol):
    """Whether the last `continue` stopped at `symbol` (not: the program ran to its end)."""
    try:
        return gdb.newest_frame().name() == symbol
    except gdb.error:
        return False


run("break ret_from_fork")
run("continue")  # pid 1: kernel_init's kernel thread
check(stopped_in("ret_from_fork"), "init (pid 1) starts in ret_from_fork")
check(int(current_task()["tid"]) == 1, "the first stop at ret_from_fork is init (pid 1)")
run("break kernel::task::fork::kernel_clone")
run("continue")
check(stopped_in("kernel::task::fork::kernel_clone"), "forkdemo calls fork: kernel_clone")
check(int(current_task()["tid"]) == 1, "pid 1 (forkdemo) enters kernel_clone")
parent = user_frame()
run("delete 2")
run("continue")  # the child, at its first instruction
check(stopped_in("ret_from_fork"),
      "fork's child starts in ret_from_fork (if not: did fork fail? see the console log, %s)"
      % "gdb-test-forkdemo-console.log")
child_task = current_task()
child = int(child_task["tid"])
check(child != 1 and int(task_inner(child_task)["parent"]) == 1,
      "the second stop at ret_from_fork is fork's child (tid %d), not init" % child)
saved = user_frame(child)
check(saved[32] == parent[32],
      "the child's saved pc %#x is the parent's return address %#x (copy_thread)" % (saved[32], parent[32]))
root = mm_root(task_mm(child_task))
check(root is not None, "the child has an address space")
run("delete")
# A hardware breakpoint: a software one would be written into the frame the parent and
# the child share copy-on-write.
run("hbreak *%#x" % saved[32])
run("continue")
check(thread_el() == 0, "the next stop at %#x is in user mode (EL0)" % saved[32])
check(reg("pc") == parent[32], "the child resumes at the parent's return address")
ttbr0 = reg("TTBR0_EL1")
check(ttbr0 & 0x0000FFFFFFFFFFFE == root,
      "it runs in the child's address space (TTBR0_EL1 %#x, child's tables at %#x)" % (ttbr0, root))
x0 = reg("x0")
check(x0 == 0, "the child's fork() returns 0: x0 at its first user instruction is %#x%s"
      % (x0, " (clone's flags: ret_from_fork left the saved x0 alone)" if x0 == parent[0] else ""))
diff = [i for i in range(1, 31) if reg("x%d" % i) != parent[i]]
check(not diff, "every other register is the parent's (differ: %s)"
      % (", ".join("x%d %#x != %#x" % (i, reg("x%d" % i), parent[i]) for i in diff) or "none"))
check(reg("sp") == parent[31], "the child's sp %#x is the parent's %#x" % (reg("sp"), parent[31]))
print("gdb-ret_from_fork: PASS")
