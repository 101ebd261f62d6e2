# The pictures of docs/address-space-pictures.md: gdb stops forkdemo (user/src/bin/
# forkdemo.rs) at three moments of its fork and draws both address spaces with aspace-svg
# (gdb/aspace.py); run by ci/pictures.sh. Each stop also checks the page the document
# talks about (COW_PAGE, 0x404000), so a picture cannot silently show something else.
import os

import gdb

import __main__ as teachos  # gdb/teachos.py and gdb/aspace.py, sourced before this script

PAGE_VA = 0x404000
RO, COW = teachos.PTE_RO, teachos.PTE_COW  # the descriptor bits, from gdb/aspace.py


def run(*cmds):
    for cmd in cmds:
        gdb.execute(cmd, to_string=True)


def page(tid):
    """(frame, entry, count) of COW_PAGE in task tid, from the snapshot aspace-svg draws."""
    snap = teachos.snapshot(teachos.find_task(tid))
    for pg in snap["pages"]:
        if pg.va == PAGE_VA:
            return pg.frame, pg.entry, pg.count
    raise gdb.GdbError("pictures: COW_PAGE is not mapped in task %d" % tid)


def expect(cond, what):
    if not cond:
        raise gdb.GdbError("pictures check failed: " + what)


def return_to_caller():
    """Runs to the instruction after the call of the selected frame's function (gdb 13's
    `finish` cannot print some Rust return values and aborts)."""
    gdb.execute("tbreak *%#x" % gdb.newest_frame().older().pc(), to_string=True)
    run("continue")


def svg(name, tids, title):
    gdb.execute("aspace-svg %s %s --title=%s --mark=%#x:COW_PAGE"
                % (os.path.join(PICTURES_OUT, name), " ".join(map(str, tids)), gdb_quote(title), PAGE_VA))


def gdb_quote(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


# 1. The parent enters the fork path: one address space, COW_PAGE private and writable.
run("break kernel::task::fork::kernel_clone", "continue", "delete")
pa, e, count = page(1)
expect(not e & RO and not e & COW and count == 1, "before fork, COW_PAGE is not private RW: %#x" % e)
svg("fork-1-before.svg", [1], "1. Before fork: task 1 (forkdemo) enters kernel_clone")

# 2. copy_process has returned in the parent: the child exists and has not run yet.
run("break kernel::task::fork::copy_process", "continue", "delete")
return_to_caller()
pa1, e1, c1 = page(1)
pa2, e2, c2 = page(2)
expect(pa1 == pa2 and c1 == 2 and e1 & COW and e2 & COW and e1 & RO and e2 & RO,
       "after copy_process, COW_PAGE is not one frame, RO + COW in both, count 2")
svg("fork-2-after-copy-process.svg", [1, 2],
    "2. After copy_process: task 2 is task 1's copy-on-write child (it has not run yet)")

# 3. The child wrote COW_PAGE: its fault has installed a private copy.
run("cowbreak %#x" % PAGE_VA, "continue", "delete",
    "break kernel::mm::pagetable::PageTable::install_cow_copy", "continue", "delete")
return_to_caller()
pa1, e1, c1 = page(1)
pa2, e2, c2 = page(2)
expect(pa1 != pa2 and c1 == 1 and c2 == 1 and not e2 & RO and not e2 & COW and e1 & COW,
       "after the COW fault, the child has no private writable copy of COW_PAGE")
svg("fork-3-after-cow-fault.svg", [1, 2],
    "3. After the child's write to COW_PAGE: its copy-on-write fault gave it a copy")
print("pictures: PASS")
