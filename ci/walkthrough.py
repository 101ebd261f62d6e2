# Generates docs/gdb-walkthrough.md from a real gdb session (run by ci/walkthrough.sh).
# Each step is (explanation, [gdb commands]); the output is captured as gdb prints it.
import gdb

STEPS = [
    ("""QEMU starts halted at reset. Break where the parent enters the fork path and let
pid 1 (running `/bin/forkdemo`) call `fork()`. The kernel's frames end at `el0_sync`, the
exception vector the `svc` entered; beneath it are the user program's frames, from the
registers `kernel_entry` saved (gdb/teachos.py unwinds through the exception; without
forkdemo's symbols, `make gdb`, that frame is `?? ()`):""",
     ["break kernel::task::fork::kernel_clone", "continue", "bt"]),
    ("""The parent is inside its `svc #0`. Its user registers are saved at the top of its
kernel stack; `uframe` prints them. x8 = 0xdc is `clone` (220), x0 = 0x11 is the flags
argument `SIGCHLD`, and pc is the instruction after the `svc`:""",
     ["uframe"]),
    ("""Now the child's first instruction. `copy_thread` pointed the child's saved `lr` at
`ret_from_fork` and put a copy of the parent's frame on the child's kernel stack:""",
     ["delete", "break ret_from_fork", "continue", "bt", "x/6i $pc", "tasks"]),
    ("""`bt` at `ret_from_fork`: the child's kernel stack holds nothing else yet; beneath it
is the user frame its saved registers return to. `tasks` marks the running task with `*`:
we are in tid 2, on CPU 0, which shares nothing with pid 1 (a plain fork). Pid 1's CPU column reads `(0)`: CPU 0 has not quite
left it yet — its `on_cpu` stays set until the child's `schedule_tail` has run, so no
other CPU can pick it up meanwhile. The child's saved frame is still the parent's —
including x0 = 0x11:""",
     ["uframe"]),
    ("""Step over `bl schedule_tail` (which would write CLONE_CHILD_SETTID), the `cbz x19`
(x19 = 0: not a kernel thread) and `str xzr, [sp, #S_X0]`:""",
     ["nexti 3", "uframe"]),
    ("""x0 is now 0 — the child's `fork()` will return 0 — and pc and sp are the parent's.
The page of `COW_PAGE`, written by the parent before fork, is mapped to the same frame in
both, read-only with the software COW bit, and the frame's count is 2:""",
     ["info address COW_PAGE", "ptwalk 0x404000 1", "ptwalk 0x404000 2"]),
    ("""`ret_from_fork` has no caller in the kernel: `bt` above shows, as its caller, the
user code the child's copied frame returns to — the parent's `fork()`. So `finish` runs
the child through `ret_to_user` and kernel_exit's `eret` to its first user instruction,
at EL0 (PSTATE.EL = 0 in cpsr), where `fork()` returns 0 in x0. The helpers still read
the kernel's data from here:""",
     ["finish", "info registers pc cpsr x0", "tasks"]),
    ("""Let the child run on and write `COW_PAGE`: a permission fault
(EC 0x24, DFSC 0x0f, WnR = 1) that lands in `resolve_cow`. The child's first fault is
on its stack page, so `cowbreak` stops only for the page we are interested in:""",
     ["delete", "cowbreak 0x404000", "continue", "bt 2", "print/x $ESR_EL1", "print/x $FAR_EL1"]),
    ("""`resolve_cow` is the first half of Linux's `do_wp_page`. The frame is shared (count 2),
so it only takes a reference for the copy: the 4 KiB are copied with the address-space
lock dropped, so that other CPUs are not held up, and `install_cow_copy` installs the
copy if the entry is still the one that faulted. `finish` runs to the end of that and
keeps what it returned (it prints `Value returned is $N = ...`; `print $` shows it again):""",
     ["delete", "break kernel::mm::pagetable::PageTable::install_cow_copy", "continue",
      "finish", "print $", "frame"]),
    ("""The child now has its own writable copy, and the parent's frame is back to a count of
1 (its later write will take the no-copy path):""",
     ["ptwalk 0x404000 2", "ptwalk 0x404000 1"]),
]

out = []
for text, cmds in STEPS:
    out.append(text)
    out.append("")
    out.append("```")
    for cmd in cmds:
        out.append("(gdb) " + cmd)
        try:
            result = gdb.execute(cmd, to_string=True)
        except gdb.error as e:
            raise gdb.GdbError("walkthrough step failed: %s: %s" % (cmd, e))
        out.extend(line.rstrip() for line in result.rstrip("\n").splitlines())
    out.append("```")
    out.append("")

with open(TRANSCRIPT_OUT, "w") as f:
    f.write("\n".join(out))
print("walkthrough: PASS")
