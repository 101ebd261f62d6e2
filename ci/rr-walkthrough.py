# The reverse-debugging session of docs/reverse-debugging.md, run in gdb against QEMU
# replaying a recording of /bin/forkdemo (ci/rr-walkthrough.sh). Owns the steps, what
# each must show, and the transcript; mirrors gdb's own record-replay usage (reverse-
# continue to the last write of a watched location, reverse-stepi before it).
# Each step: (explanation, [gdb commands], check). A check reads the stop gdb is at and
# raises if the kernel did not do what the text says, so the document cannot go stale
# silently; "rr-walkthrough: PASS" is printed only when every check held.
import gdb

import __main__ as teachos  # gdb/teachos.py and gdb/aspace.py (sourced before this script)

PAGE_VA = 0x404000  # forkdemo's COW_PAGE
RO, COW = teachos.PTE_RO, teachos.PTE_COW  # the descriptor bits, from gdb/aspace.py


def parent_entry():
    """The parent's entry for the page: through $pte once it is set (step 2), as the
    steps read it; before, found by walking the parent's table."""
    pte = gdb.parse_and_eval("$pte")
    if pte.type.code == gdb.TYPE_CODE_VOID:
        pte = gdb.parse_and_eval("$pte_addr(%#x, 1)" % PAGE_VA)
    return teachos.read_u64(int(pte))


def backtrace_names():
    names, frame = [], gdb.newest_frame()
    while frame is not None:
        names.append(frame.name() or "")
        frame = frame.older()
    return names


def expect(cond, what):
    if not cond:
        raise gdb.GdbError("rr-walkthrough check failed: " + what)


def running_tid():
    return int(teachos.current_task()["tid"])


def in_fault_of_child():
    expect(gdb.newest_frame().name().endswith("PageTable::resolve_cow"), "the stop is not in resolve_cow")
    expect(running_tid() == 2, "the fault is not the child's (tid 2)")
    e = parent_entry()
    expect(e & RO and e & COW and teachos.frame_refcount(e & teachos.ADDR_MASK) == 2,
           "the parent's entry is not RO + COW with a count of 2: %#x" % e)


def at_write_protect():
    names = backtrace_names()
    for fn in ("copy_present_pte", "copy_page_range", "AddressSpace::fork", "copy_process", "kernel_clone"):
        expect(any(fn in n for n in names), "%s is not on the stack: %s" % (fn, names[:14]))
    expect(running_tid() == 1, "the write-protect is not in the parent (tid 1)")
    e = parent_entry()
    expect(e & RO and e & COW, "after the store the parent's entry is not RO + COW: %#x" % e)


def before_write_protect():
    e = parent_entry()
    expect(not e & RO and not e & COW and e & 1, "one instruction back the entry is not writable: %#x" % e)
    insn = gdb.execute("x/i $pc", to_string=True)
    expect("\tstr" in insn, "the instruction before the stop is not a store: " + insn)


def at_exec_load():
    names = backtrace_names()
    for fn in ("fault_in", "load_image", "do_execve"):
        expect(any(fn in n for n in names), "%s is not on the stack: %s" % (fn, names[:12]))
    expect(not any("kernel_clone" in n for n in names), "the first write is inside fork")
    expect(running_tid() == 1, "the execve is not task 1's")
    e = parent_entry()
    expect(not e & RO and not e & COW and e & 1, "the entry execve made is not writable: %#x" % e)


STEPS = [
    ("""QEMU replays the recording from the machine's reset, halted. Run forward to the
parent's `fork()`, then to the child's first write to `COW_PAGE`: its copy-on-write fault,
in `resolve_cow` (`cowbreak` needs a stop in the kernel to set up, hence `kernel_clone`
first):""",
     ["break kernel::task::fork::kernel_clone", "continue", "delete", "cowbreak 0x404000",
      "continue", "bt 2", "ptwalk 0x404000 1"], in_fault_of_child),
    ("""The parent's entry for the page is read-only with the COW bit, and the frame's count
is 2. Who made it so? `$pte_addr(VA, TID)` (gdb/aspace.py) is the kernel address of the
level-3 entry that maps VA in task TID's table; keep it in `$pte`. Watch that location and run *backwards*:
QEMU goes back to its snapshot at the reset, replays forward to the last write of the
location before the present, and stops there:""",
     ["delete", "set $pte = $pte_addr(0x404000, 1)", "print/x $pte", "watch *($pte as *mut u64)",
      "reverse-continue", "bt -frame-arguments presence"], at_write_protect),
    ("""We are in the parent, inside `fork()`: `copy_present_pte` (Linux's name) called by the
page-table duplicator `copy_page_range`, from `AddressSpace::fork` (`dup_mmap`),
`Mm::dup` (`dup_mm`), `copy_process`, `kernel_clone` and the `clone` system call. QEMU
stops just after the store; the entry is already read-only + COW. One instruction back,
before the store, it was still the parent's private writable page:""",
     ["print/x *($pte as *mut u64)", "reverse-stepi", "x/i $pc",
      "print/x *($pte as *mut u64)"], before_write_protect),
    ("""And before that? Once more backwards, to the write that created the entry. Not a
fault of the parent's `write_volatile(page(), b'P')`: the page was mapped already. It was
`execve`: `COW_PAGE` is zero-initialised, so it lives in .bss, the part of the data
segment the file does not hold, and the ELF loader writes its zeros (`load_image` ->
`zero_bytes`); that first write maps a zeroed frame there, writable (`fault_in`). Linux
maps whole .bss pages as anonymous memory instead (`vm_brk_flags` in `load_elf_binary`),
so there the entry would come from the parent's first write. Task 1 is still called
`init` and has no address space installed: `build_mm` makes the new one before exec
switches to it:""",
     ["reverse-continue", "bt -frame-arguments presence 10", "print/x *($pte as *mut u64)", "tasks"],
     at_exec_load),
    ("""The replay is deterministic: forward again, the child's fault happens at the same
instruction, with the same registers, as in the recorded run:""",
     ["delete", "cowbreak 0x404000", "continue", "bt 1", "print/x $FAR_EL1"], in_fault_of_child),
]

out = []
for text, cmds, check in STEPS:
    out += [text, "", "```"]
    for cmd in cmds:
        out.append("(gdb) " + cmd)
        try:
            result = gdb.execute(cmd, to_string=True)
        except gdb.error as e:
            raise gdb.GdbError("rr-walkthrough step failed: %s: %s" % (cmd, e))
        out.extend(line.rstrip() for line in result.rstrip("\n").splitlines())
    out += ["```", ""]
    check()

with open(TRANSCRIPT_OUT, "w") as f:
    f.write("\n".join(out))
print("rr-walkthrough: PASS")
