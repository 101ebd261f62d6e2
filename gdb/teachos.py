"""gdb helpers for teachos (loaded by `make gdb` through gdb/teachos.gdb).

Commands:
  tasks                  every task: tid, tgid, parent, state, name, TTBR0/ASID, and which
                         resources it shares (VM, FS, FILES, SIGHAND) with which tasks
  ptwalk VA [TID]        walk TID's page tables for VA: each level's entry, decoded
  ptwalk START END [TID] the same for every mapped page in [START, END)
  uframe [TID]           the user registers saved on TID's kernel stack (TrapFrame)
  fpregs [TID]           TID's user FP/SIMD registers (v0-v31, FPSR, FPCR): from the CPU
                         if they are live there, else from the thread's save area
  cowbreak VA            stop when a write fault on VA's page reaches resolve_cow
TID defaults to the running task. The helpers read the kernel's real data structures
(TASKS, SCHED, FRAMES) through the Rust pretty-printers that ship with the toolchain.
"""

import gdb

try:
    import gdb_providers as rust
except ImportError:  # teachos.gdb adds the toolchain's etc/ directory to sys.path
    rust = None

KERNEL_VA_OFFSET = 0xFFFF000000000000
PAGE = 4096
# Structure layouts (TrapFrame, the kernel stack, ThreadStruct) are read from the kernel's
# debug info, never copied here: they follow the code when it changes.
TRAPFRAME_TYPE = "kernel::arch::context::TrapFrame"


def _rust():
    gdb.execute("set language rust", to_string=True)


def variant(v):
    """(name, payload) of the active variant of a Rust enum value."""
    fields = [f for f in v.type.fields() if f.name is not None]
    if not fields:
        return None, None
    f = fields[-1]
    return f.name, v[f]


def option(v):
    """The payload of Some(x), or None."""
    name, payload = variant(v)
    if name != "Some":
        return None
    return payload["__0"]


def arc(v):
    """The value an Arc points to."""
    return rust.unwrap_unique_or_non_null(v["ptr"])["data"]


def arc_addr(v):
    return int(rust.unwrap_unique_or_non_null(v["ptr"]))


def mutex(v):
    """The data inside a spin::Mutex."""
    return v["inner"]["data"]["value"]


def all_tasks():
    """[(tid, Task value)] from kernel::task::sched::TASKS."""
    _rust()
    table = mutex(gdb.parse_and_eval("kernel::task::sched::TASKS"))
    kids = list(gdb.default_visualizer(table).children())
    tasks = []
    # The BTreeMap provider yields key, value, key, value, ...
    for i in range(0, len(kids), 2):
        task = arc(kids[i + 1][1])
        tasks.append((int(task["tid"]), task))
    return tasks


def current_task():
    _rust()
    sched = mutex(gdb.parse_and_eval("kernel::task::sched::SCHED"))
    cur = option(sched["current"])
    return arc(cur) if cur is not None else None


def find_task(tid):
    if tid is None:
        t = current_task()
        if t is None:
            raise gdb.GdbError("no current task")
        return t
    for t_id, t in all_tasks():
        if t_id == tid:
            return t
    raise gdb.GdbError("no task with tid %d" % tid)


def task_inner(task):
    return mutex(task["inner"])


def task_mm(task):
    mm = option(task_inner(task)["mm"])
    return arc(mm) if mm is not None else None


def state_name(task):
    name, payload = variant(task_inner(task)["state"])
    if name == "Sleeping":
        chan, _ = variant(payload["chan"])
        return "Sleeping(%s)" % chan
    return name


def read_u64(addr):
    mem = gdb.selected_inferior().read_memory(addr, 8)
    return int.from_bytes(bytes(mem), "little")


def frame_refcount(pa):
    """The frame allocator's reference count for physical address pa."""
    _rust()
    frames = option(mutex(gdb.parse_and_eval("kernel::mm::global::FRAMES")))
    if frames is None:
        return None
    base = int(frames["base"])
    vec = frames["refcount"]
    n = int(vec["len"])
    idx = (pa - base) >> 12
    if idx < 0 or idx >= n:
        return None
    ptr = rust.unwrap_unique_or_non_null(vec["buf"]["inner"]["ptr"])
    ptr = ptr.reinterpret_cast(gdb.lookup_type("u16").pointer())
    count = int((ptr + idx).dereference())
    return None if count == 0xFFFF else count


def mm_root(mm):
    space = option(mutex(mm["space"]))
    return int(space["pt"]["root"]["__0"]) if space is not None else None


PTE_BITS = [
    (0, "VALID"), (6, "USER"), (7, "RO"), (10, "AF"), (11, "nG"),
    (53, "PXN"), (54, "UXN"), (55, "COW"), (56, "SHARED"),
]


def decode_flags(e):
    names = [name for bit, name in PTE_BITS if e >> bit & 1]
    if not e >> 7 & 1:
        names.append("RW")
    return " ".join(names)


def walk(root, va):
    """[(level, index, entry)] down to the leaf (or the first invalid entry)."""
    out = []
    table = root
    for level in range(4):
        idx = (va >> (39 - 9 * level)) & 511
        e = read_u64(KERNEL_VA_OFFSET + table + idx * 8)
        out.append((level, idx, e))
        if not e & 1:
            break
        if level < 3 and (e & 3) != 3:
            break  # a block mapping
        table = e & 0x0000FFFFFFFFF000
    return out


def print_walk(root, va, verbose=True):
    steps = walk(root, va)
    level, idx, e = steps[-1]
    if verbose:
        for lvl, i, ent in steps[:-1]:
            print("  L%d[%3d] = %#018x  table -> %#x" % (lvl, i, ent, ent & 0x0000FFFFFFFFF000))
    if level < 3 or not e & 1:
        print("  L%d[%3d] = %#018x  not mapped" % (level, idx, e))
        return None
    pa = e & 0x0000FFFFFFFFF000
    count = frame_refcount(pa)
    print("  L3[%3d] = %#018x  page %#x -> frame %#x  [%s]  refcount %s"
          % (idx, e, va & ~0xFFF, pa, decode_flags(e), count))
    return pa


def parse_tid(arg):
    return int(gdb.parse_and_eval(arg)) if arg else None


class Tasks(gdb.Command):
    """List tasks: tid, tgid, parent, state, name, TTBR0/ASID, shared resources."""

    def __init__(self):
        super().__init__("tasks", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        tasks = all_tasks()
        cur = current_task()
        cur_tid = int(cur["tid"]) if cur is not None else 0
        owners = {}
        rows = []
        for tid, t in tasks:
            inner = task_inner(t)
            res = {}
            for key, field in (("VM", "mm"), ("FS", "fs"), ("FILES", "files"), ("SIGHAND", "sighand")):
                v = option(inner[field])
                if v is not None:
                    res[key] = arc_addr(v)
                    owners.setdefault((key, res[key]), []).append(tid)
            rows.append((tid, t, inner, res))
        print("%-5s %-5s %-5s %-6s %-18s %-12s %-20s %s"
              % ("TID", "TGID", "PPID", "", "STATE", "NAME", "TTBR0 (ASID)", "SHARED WITH"))
        for tid, t, inner, res in rows:
            mm = task_mm(t)
            if mm is not None:
                ttbr = "%#x (%d)" % (mm_root(mm) or 0, int(mm["asid"]))
            else:
                ttbr = "-"
            shared = []
            for key in ("VM", "FS", "FILES", "SIGHAND"):
                if key in res:
                    others = [o for o in owners[(key, res[key])] if o != tid]
                    if others:
                        shared.append("%s:%s" % (key, ",".join(map(str, others))))
            print("%-5d %-5d %-5d %-6s %-18s %-12s %-20s %s"
                  % (tid, int(t["tgid"]), int(inner["parent"]), "*" if tid == cur_tid else "",
                     state_name(t), inner["name"].format_string().strip('"'), ttbr,
                     " ".join(shared) or "-"))


class PtWalk(gdb.Command):
    """ptwalk VA [TID] | ptwalk START END [TID]: walk a task's page tables."""

    def __init__(self):
        super().__init__("ptwalk", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        if not argv:
            raise gdb.GdbError("usage: ptwalk VA [TID] | ptwalk START END [TID]")
        nums = [int(gdb.parse_and_eval(a)) for a in argv]
        if len(nums) == 3 or (len(nums) == 2 and nums[1] > 0xFFFF):
            start, end = nums[0], nums[1]
            tid = nums[2] if len(nums) == 3 else None
        else:
            start, end, tid = nums[0], None, (nums[1] if len(nums) == 2 else None)
        task = find_task(tid)
        mm = task_mm(task)
        if mm is None:
            raise gdb.GdbError("task %d has no user address space" % int(task["tid"]))
        root = mm_root(mm)
        print("task %d: TTBR0 %#x, ASID %d" % (int(task["tid"]), root, int(mm["asid"])))
        if end is None:
            print_walk(root, start)
            return
        va = start & ~0xFFF
        while va < end:
            steps = walk(root, va)
            if len(steps) == 4 and steps[-1][2] & 1:
                print_walk(root, va, verbose=False)
            va += PAGE


def trap_frame(task):
    """The TrapFrame at the top of the task's kernel stack, as a gdb value."""
    kstack = option(task["kstack"])
    if kstack is None:
        raise gdb.GdbError("task has no kernel stack")
    # *mut KernelStackMem: the stack's lowest address, in its slot of the kernel-stack
    # region (mm/kernel_map.rs); its size comes from the debug info.
    stack = kstack["__0"]
    top = int(stack) + stack.dereference().type.sizeof
    frame_type = gdb.lookup_type(TRAPFRAME_TYPE)
    return gdb.Value(top - frame_type.sizeof).cast(frame_type.pointer()).dereference()


class UFrame(gdb.Command):
    """uframe [TID]: the user registers saved at the top of the task's kernel stack."""

    def __init__(self):
        super().__init__("uframe", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        task = find_task(parse_tid(arg))
        f = trap_frame(task)
        regs = [int(f["regs"][i]) for i in range(31)]
        print("task %d: TrapFrame at %#x" % (int(task["tid"]), int(f.address)))
        for i in range(0, 31, 4):
            print("  " + "  ".join("x%-2d %#018x" % (j, regs[j]) for j in range(i, min(i + 4, 31))))
        print("  sp  %#018x  pc  %#018x  pstate %#x  tpidr_el0 %#x"
              % (int(f["sp"]), int(f["pc"]), int(f["pstate"]), int(f["tpidr"])))


def user_frame(tid=None):
    """The saved user registers of a task as a list (x0..x30, sp, pc, pstate, tpidr)."""
    f = trap_frame(find_task(tid))
    return [int(f["regs"][i]) for i in range(31)] + [int(f[k]) for k in ("sp", "pc", "pstate", "tpidr")]


def thread_struct(task):
    """The task's arch ThreadStruct (UnsafeCell<ThreadStruct>)."""
    return task["thread"]["value"]


def fp_state(task):
    """(source, [v0..v31 as ints], fpsr, fpcr) of a task's user FP/SIMD state.

    The CPU's registers hold it when the task is running and its state is loaded
    (foreign_fpstate false); otherwise the save area in its ThreadStruct is current."""
    th = thread_struct(task)
    cur = current_task()
    live = cur is not None and int(cur["tid"]) == int(task["tid"]) and not bool(th["foreign_fpstate"])
    if live:
        # gdb shows each v register as a union; .d.u holds its two 64-bit halves
        # (gdb's Python cannot convert 128-bit integers).
        vals = []
        for i in range(32):
            d = gdb.parse_and_eval("$v%d" % i)["d"]["u"]
            vals.append(int(d[1]) << 64 | int(d[0]))
        # gdb types FPSR/FPCR as signed 32-bit: keep the bits.
        return ("the CPU's registers (live)", vals,
                int(gdb.parse_and_eval("$fpsr")) & 0xFFFFFFFF,
                int(gdb.parse_and_eval("$fpcr")) & 0xFFFFFFFF)
    st = th["fpsimd_state"]
    base = int(st["vregs"].address)
    raw = bytes(gdb.selected_inferior().read_memory(base, 32 * 16))
    vals = [int.from_bytes(raw[16 * i:16 * i + 16], "little") for i in range(32)]
    return ("the save area in its ThreadStruct", vals, int(st["fpsr"]), int(st["fpcr"]))


class FpRegs(gdb.Command):
    """fpregs [TID]: the task's user FP/SIMD registers (v0-v31, FPSR, FPCR)."""

    def __init__(self):
        super().__init__("fpregs", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        task = find_task(parse_tid(arg))
        th = thread_struct(task)
        source, vals, fpsr, fpcr = fp_state(task)
        cpu = int(th["fpsimd_cpu"])
        print("task %d: FP/SIMD state from %s; foreign_fpstate=%s, fpsimd_cpu=%s"
              % (int(task["tid"]), source, bool(th["foreign_fpstate"]),
                 "none" if cpu == 0xFFFFFFFF else cpu))
        for i in range(0, 32, 2):
            print("  v%-2d %#034x   v%-2d %#034x" % (i, vals[i], i + 1, vals[i + 1]))
        print("  fpsr %#010x  fpcr %#010x" % (fpsr, fpcr))


def pte(tid, va):
    """The leaf entry mapping va in task tid: (frame, entry, refcount) or None."""
    mm = task_mm(find_task(tid))
    steps = walk(mm_root(mm), va)
    level, _, e = steps[-1]
    if level != 3 or not e & 1:
        return None
    pa = e & 0x0000FFFFFFFFF000
    return pa, e, frame_refcount(pa)


class CowBreakpoint(gdb.Breakpoint):
    """A breakpoint on resolve_cow that stops only for one page."""

    def __init__(self, page):
        _rust()
        super().__init__("kernel::mm::pagetable::PageTable::resolve_cow", internal=False)
        self.page = page

    def stop(self):
        return int(gdb.parse_and_eval("va")) & ~0xFFF == self.page


class CowBreak(gdb.Command):
    """cowbreak VA: stop when a copy-on-write fault on VA's page reaches resolve_cow."""

    def __init__(self):
        super().__init__("cowbreak", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        if not arg:
            raise gdb.GdbError("usage: cowbreak VA")
        page = int(gdb.parse_and_eval(arg)) & ~0xFFF
        bp = CowBreakpoint(page)
        print("Breakpoint %d: resolve_cow for the page at %#x" % (bp.number, page))


Tasks()
PtWalk()
UFrame()
FpRegs()
CowBreak()
