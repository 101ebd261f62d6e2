# Driven by ci/gdb-test.sh: gdb-multiarch in batch mode against the kernel running the
# fork_basic test. Any failed check raises, so "gdb-check: PASS" is never printed.
import gdb

def pc():
    return int(gdb.parse_and_eval("$pc"))

run("break ret_from_fork")
run("continue")                       # pid 1: kernel_init's kernel thread
check(int(current_task()["tid"]) == 1, "first stop at ret_from_fork is init (pid 1)")
check(int(gdb.parse_and_eval("$x19")) != 0, "init takes the kernel-thread path (x19 = kernel_init)")
# The parent enters the fork path: its TrapFrame holds the return address of its svc.
run("break kernel::task::fork::kernel_clone")
run("continue")
parent_at_clone = user_frame()
check(int(current_task()["tid"]) == 1, "pid 1 enters kernel_clone")
run("delete 2")
run("continue")                       # the child of fork()
child = int(current_task()["tid"])
parent = int(task_inner(current_task())["parent"])
check(child == 2 and parent == 1, "second stop is the forked child (tid %d, parent %d)" % (child, parent))

listing = run("tasks")
print(listing)
rows = [line.split() for line in listing.splitlines()[1:] if line.strip()]
check(sorted(int(r[0]) for r in rows) >= [1, 2], "tasks lists both pids")
cols = {int(r[0]): r for r in rows}
check(cols[child][3:6] == ["0", "0", "*"], "tasks: the child runs on CPU 0, marked `*`")
check(cols[parent][3] == "(0)",
      "tasks: CPU 0 is still switching away from the parent (on_cpu until schedule_tail)")

before = user_frame(child)
parent_frame = parent_at_clone
check(before[0] == 17, "child's saved x0 before ret_from_fork runs: %#x (clone's flags, SIGCHLD)" % before[0])
check(before[32] == parent_frame[32], "child's saved pc %#x = parent's return address" % before[32])
check(before[31] == parent_frame[31], "child's saved sp = parent's")
# Step over `bl schedule_tail`, `cbz x19`, `str xzr, [sp, #S_X0]`.
start = pc()
for _ in range(3):
    run("nexti")
after = user_frame(child)
check(after[0] == 0, "child's saved x0 after `str xzr, [sp, #S_X0]`: %#x" % after[0])
check(after[1:32] == before[1:32], "every other saved register unchanged")
cols = {int(r[0]): r for r in (line.split() for line in run("tasks").splitlines()[1:]) if r}
check(cols[parent][3:5] == ["-", "0"],
      "after schedule_tail the parent is off CPU 0 (CPU -, LAST 0)")

# forkdemo's COW_PAGE right after fork: same frame, read-only, COW, count 2.
run("add-symbol-file %s" % USER_ELF)
run("set language c")  # COW_PAGE is #[no_mangle]: its linker symbol is the plain name
va = int(gdb.parse_and_eval("(unsigned long)&COW_PAGE"))
print(run("ptwalk %#x %d" % (va, parent)))
print(run("ptwalk %#x %d" % (va, child)))
p, c = pte(parent, va), pte(child, va)
check(p is not None and c is not None, "COW_PAGE (%#x) is mapped in both" % va)
check(p[0] == c[0], "parent and child map the same frame %#x" % p[0])
for who, (pa, e, count) in (("parent", p), ("child", c)):
    check(e >> 7 & 1 == 1, "%s's entry is read-only (AP[2])" % who)
    check(e >> 55 & 1 == 1, "%s's entry has the software COW bit (bit 55)" % who)
    check(count == 2, "%s: frame refcount is %s, want 2" % (who, count))
print("gdb-check: PASS")
