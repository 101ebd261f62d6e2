"""gdb helpers for teachos (loaded by `make gdb` through gdb/teachos.gdb).

Commands:
  tasks                  every task: tid, tgid, parent, the CPU running it and the one that
                         ran it last, state, name, TTBR0/ASID, and which resources it
                         shares (VM, FS, FILES, SIGHAND) with which tasks; `*` marks the
                         task running on the CPU gdb looks at
  cpus                   every CPU: its gdb thread, exception level, the task it runs, pc
  ptwalk VA [TID]        walk TID's page tables for VA: each level's entry, decoded
  ptwalk START END [TID] the same for every mapped page in [START, END)
  uframe [TID]           the user registers saved on TID's kernel stack (TrapFrame)
  fpregs [TID]           TID's user FP/SIMD registers (v0-v31, FPSR, FPCR): from the CPU
                         if they are live there, else from the thread's save area
  cowbreak VA            stop when a write fault on VA's page reaches resolve_cow
TID defaults to the task running on the selected CPU. With several CPUs (QEMU -smp N) each
CPU is a gdb thread (`info threads`, `thread N`); "the selected CPU" is the one of gdb's
selected thread, found through its TPIDR_EL1 (the kernel's per-CPU area). The helpers read
the kernel's real data structures (TASKS, CPU_SCHED, PER_CPU, FRAMES) through the Rust
pretty-printers that ship with the toolchain, wherever the CPU stopped: at EL0 too
(kernel_memory(), below).

Also:
  an unwinder through entry.S (ExceptionFrames): `bt` in a system call, fault or interrupt
      goes from the handler to el0_sync & co. and on into the interrupted code, from the
      TrapFrame (Linux: arch/arm64/kernel/stacktrace.c stops at the same boundary, the
      pt_regs' final frame record); ret_from_fork's caller is the user code the child
      returns to, so `finish` there stops at the child's first user instruction;
  a frame filter (ExceptionBoundaryFilter) that ends `bt` at a user frame without gdb's
      "corrupt stack?" complaint, which the jump from kernel to user stack provokes.
"""

import contextlib

import gdb
import gdb.FrameDecorator
import gdb.unwinder

try:
    import gdb_providers as rust
except ImportError:  # teachos.gdb adds the toolchain's etc/ directory to sys.path
    rust = None

# The toolchain's Rust pretty-printers raise on a value the optimiser removed (a slice
# argument of an inlined user function, in `bt`): gdb prints "Python Exception <class
# 'gdb.error'>: value has been optimized out" in the middle of the frame line. Wrapped
# here, such a value prints as gdb prints any optimised-out value.
class _GuardedPrinter:
    def __init__(self, inner):
        self.inner = inner
        if hasattr(inner, "display_hint"):
            self.display_hint = inner.display_hint

    def to_string(self):
        try:
            return self.inner.to_string()
        except gdb.error:
            return "<optimized out>"


class _GuardedParent(_GuardedPrinter):
    def children(self):
        try:
            return list(self.inner.children())
        except gdb.error:
            return []


class _GuardedLookup:
    def __init__(self, lookup):
        self.lookup = lookup
        self.name = getattr(lookup, "name", "rust") + " (teachos: optimised-out values guarded)"
        self.enabled = True

    def __call__(self, value):
        printer = self.lookup(value)
        if printer is None:
            return None
        return (_GuardedParent if hasattr(printer, "children") else _GuardedPrinter)(printer)


def _guard_rust_printers():
    for holder in [gdb.current_progspace()] + list(gdb.objfiles()):
        printers = holder.pretty_printers
        for i, p in enumerate(printers):
            if getattr(p, "__module__", "") == "gdb_lookup" or getattr(p, "name", "") == "rust":
                printers[i] = _GuardedLookup(p)


_guard_rust_printers()


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


def once(v):
    """The value inside a completed spin::Once, or None. Its data sits behind wrappers
    of the same layout (UnsafeCell, MaybeUninit, ManuallyDrop, ...) whose names change
    between toolchains: cast the address rather than walk them."""
    if int(v["status"]["__0"]["v"]["value"]) != 2:  # spin's Status::Complete
        return None
    inner = v.type.template_argument(0)
    return v["data"].address.cast(inner.pointer()).dereference()


def arc(v):
    """The value an Arc points to."""
    return rust.unwrap_unique_or_non_null(v["ptr"])["data"]


def arc_addr(v):
    return int(rust.unwrap_unique_or_non_null(v["ptr"]))


def mutex(v):
    """The data inside a spin::Mutex, or inside an OrderedMutex (src/sync/ordered.rs: a
    level and a spin::Mutex)."""
    if v.type.strip_typedefs().name.startswith("kernel::sync::ordered::OrderedMutex"):
        v = v["inner"]
    return v["inner"]["data"]["value"]


def cpu_local(v):
    """The value inside a CpuLocal (task/sched.rs: a per-CPU UnsafeCell)."""
    return v["__0"]["value"]


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


def atomic(v):
    """The value inside a core::sync::atomic type."""
    return v["v"]["value"]


def minsym(name):
    """The address of a linker symbol that has no debug info (an assembly label)."""
    lang = gdb.parameter("language")
    gdb.execute("set language c", to_string=True)
    try:
        return int(gdb.parse_and_eval("(unsigned long)&%s" % name))
    finally:
        gdb.execute("set language %s" % lang, to_string=True)


# Which kernel CPU is a gdb thread? QEMU's gdbstub shows each vCPU as a thread (thread id
# = QEMU's CPU index + 1). A CPU that has started points TPIDR_EL1 at its PerCpu
# (arch/aarch64/percpu.rs), whose index in PER_CPU is the kernel's number for the CPU;
# before that (at reset, or a secondary CPU still powered off) QEMU's index is the best
# guess (boot.rs numbers CPUs in device-tree order, as QEMU does). Only registers and
# symbol addresses are read here, no memory: this works whatever the CPU is doing.
def thread_cpu(thread=None):
    """(cpu, started) for gdb thread `thread` (default: the selected one)."""
    if thread is not None and thread != gdb.selected_thread():
        return on_thread(thread, thread_cpu)
    guess = gdb.selected_thread().ptid[1] - 1
    try:
        tpidr = int(gdb.newest_frame().read_register("TPIDR_EL1")) & (1 << 64) - 1
        _rust()
        per_cpu = gdb.parse_and_eval("kernel::arch::percpu::PER_CPU")
        base = int(per_cpu.address)
    except gdb.error:
        return guess, False
    if not base <= tpidr < base + per_cpu.type.sizeof:
        return guess, False
    return (tpidr - base) // per_cpu.type.target().sizeof, True


def selected_cpu():
    """The kernel's number of the CPU gdb looks at (the selected thread's)."""
    if _viewed_cpu is not None:
        return _viewed_cpu
    return thread_cpu()[0]


def on_thread(thread, fn):
    """fn() with `thread` selected; gdb's selected thread and frame are put back."""
    orig = gdb.selected_thread()
    try:
        frame = gdb.selected_frame()
    except gdb.error:
        frame = None
    thread.switch()
    try:
        return fn()
    finally:
        orig.switch()
        if frame is not None and frame.is_valid():
            frame.select()


# Reading kernel memory wherever the CPU stopped. QEMU's gdbstub reads memory through the
# selected vCPU's MMU with that CPU's current privilege (QEMU 7.2 target/arm/ptw.c,
# arm_cpu_get_phys_page_attrs_debug: the translation regime and permissions of
# PSTATE.EL): a CPU stopped in user code (EL0) cannot read the kernel's pages, which are
# EL1-only (AP[1] = 0, ARM ARM D8.4.1), although TTBR1 still maps them; one still at reset
# has its MMU off. So while a helper runs on a CPU stopped at EL0, PSTATE.EL is set to 1
# for the duration (a `set $cpsr` through the stub; nothing else of the CPU changes, and
# the CPU does not run meanwhile) and put back before gdb hands control back: the same
# page tables, read with the kernel's privilege. A CPU whose MMU is still off (SMP: a
# secondary at reset) reads through another CPU instead.
_viewed_cpu = None
# {gdb thread number: PSTATE as the CPU really has it}, while its EL is lent to a helper.
_real_cpsr = {}


def thread_el():
    """The exception level the selected thread's CPU runs at (PSTATE.EL), as the CPU
    really has it (not the EL a helper borrows, see above)."""
    num = gdb.selected_thread().num
    cpsr = _real_cpsr.get(num)
    if cpsr is None:
        cpsr = int(gdb.newest_frame().read_register("cpsr"))
    return cpsr >> 2 & 3


def reads_kernel():
    """Whether the selected thread's CPU can read kernel memory now."""
    try:
        _rust()
        addr = int(gdb.parse_and_eval("&kernel::arch::percpu::PER_CPU"))
        gdb.selected_inferior().read_memory(addr, 8)
        return True
    except gdb.error:
        return False


def _select_level(level):
    frame = gdb.newest_frame()
    while level > 0 and frame.older() is not None:
        frame, level = frame.older(), level - 1
    frame.select()


def _set_cpsr(value):
    # Only frame 0's registers are the CPU's: writing $cpsr in an outer frame would not
    # reach it.
    gdb.newest_frame().select()
    gdb.execute("set $cpsr = %d" % (value & 0xFFFFFFFF), to_string=True)


class _KernelPrivilege:
    """with _KernelPrivilege(): the selected CPU, stopped at EL0 with its MMU on, reads
    kernel memory; PSTATE and gdb's selected frame are put back afterwards."""

    def __enter__(self):
        self.num = gdb.selected_thread().num
        self.level = gdb.selected_frame().level()
        cpsr = int(gdb.newest_frame().read_register("cpsr")) & 0xFFFFFFFF
        _real_cpsr[self.num] = cpsr
        _set_cpsr(cpsr & ~0xF | 0x4)  # M[3:0] = EL1t: EL1, same SP
        return self

    def __exit__(self, *exc):
        _set_cpsr(_real_cpsr.pop(self.num))
        _select_level(self.level)
        return False


def mmu_on():
    """SCTLR_EL1.M (QEMU's stub names the register SCTLR)."""
    for name in ("SCTLR", "SCTLR_EL1"):
        try:
            return bool(int(gdb.newest_frame().read_register(name)) & 1)
        except (gdb.error, ValueError):
            pass
    return False


@contextlib.contextmanager
def kernel_memory():
    """with kernel_memory(): kernel memory can be read, wherever the CPU stopped (see
    above); for the helpers, and for scripts (ci/gdb-el0-check.py)."""
    global _viewed_cpu
    if _viewed_cpu is not None or gdb.selected_thread().num in _real_cpsr or reads_kernel():
        yield
        return
    if thread_el() == 0 and mmu_on():
        with _KernelPrivilege():
            if reads_kernel():
                yield
                return
    cpu = thread_cpu()[0]
    for t in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
        if on_thread(t, reads_kernel):
            orig = gdb.selected_thread()
            level = gdb.selected_frame().level()
            _viewed_cpu = cpu
            t.switch()
            try:
                yield
            finally:
                _viewed_cpu = None
                orig.switch()
                _select_level(level)
            return
    raise gdb.GdbError("no CPU can read kernel memory yet: the MMU is still off (the "
                       "machine is at reset). Let it boot first, e.g. "
                       "`break kernel::boot::kernel_main`, `continue`.")


def kernel_view(invoke):
    """Decorates a command's invoke: run it where kernel memory can be read (see above)."""
    def run(self, arg, from_tty):
        with kernel_memory():
            return invoke(self, arg, from_tty)
    run.__doc__ = invoke.__doc__
    return run


def cpu_threads():
    """{kernel CPU number: gdb thread} for every vCPU QEMU shows."""
    out = {}
    for t in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
        out.setdefault(thread_cpu(t)[0], t)
    return out


def online_cpus():
    """The CPUs that have entered the scheduler (sched.rs ONLINE), as a set."""
    _rust()
    mask = int(atomic(gdb.parse_and_eval("kernel::task::sched::ONLINE")))
    return {c for c in range(32) if mask >> c & 1}


def current_task(cpu=None):
    """The task CPU `cpu` runs (sched.rs CPU_SCHED[cpu].current; its idle task, tid 0, when
    it has nothing else to do); default: the CPU of gdb's selected thread."""
    if cpu is None:
        cpu = selected_cpu()
    _rust()
    scheds = gdb.parse_and_eval("kernel::task::sched::CPU_SCHED")
    if not 0 <= cpu < scheds.type.range()[1] + 1:
        return None
    cur = option(cpu_local(scheds[cpu])["current"])
    return arc(cur) if cur is not None else None


def same_task(a, b):
    return a is not None and b is not None and int(a.address) == int(b.address)


def running_cpu(task):
    """The CPU whose current task this is, or None (sleeping, queued, or switched out)."""
    if not atomic(task["on_cpu"]):
        return None
    cpu = int(atomic(task["cpu"]))
    return cpu if same_task(current_task(cpu), task) else None


def find_task(tid):
    if tid is None:
        cpu = selected_cpu()
        t = current_task(cpu)
        if t is None:
            raise gdb.GdbError("CPU %d runs no task yet" % cpu)
        if int(t["tid"]) == 0:
            raise gdb.GdbError("CPU %d runs its idle task: give a TID (see `tasks`)" % cpu)
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
    frames = once(gdb.parse_and_eval("kernel::mm::global::FRAMES"))
    if frames is None:
        return None
    base = int(frames["base"])
    vec = frames["refcount"]
    n = int(vec["len"])
    idx = (pa - base) >> 12
    if idx < 0 or idx >= n:
        return None
    ptr = rust.unwrap_unique_or_non_null(vec["buf"]["inner"]["ptr"])
    # An AtomicU32 per frame (mm/frame.rs); u32::MAX marks a reserved frame.
    ptr = ptr.reinterpret_cast(gdb.lookup_type("u32").pointer())
    count = int((ptr + idx).dereference())
    return None if count == 0xFFFFFFFF else count


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


def task_cpus(task, ret_from_fork):
    """(CPU, LAST) columns of `tasks` for one task.

    CPU: the CPU running it; "(n)" while CPU n is still switching away from it (on_cpu
    set, but n's current task is already the next one); "-" otherwise.
    LAST: the CPU that ran it last (Task.cpu); "-" if it never ran (its saved context
    still resumes at ret_from_fork, where copy_thread pointed it)."""
    cpu = int(atomic(task["cpu"]))
    if atomic(task["on_cpu"]):
        running = "%d" % cpu if same_task(current_task(cpu), task) else "(%d)" % cpu
        return running, "%d" % cpu
    if int(thread_struct(task)["cpu_context"]["lr"]) == ret_from_fork:
        return "-", "-"
    return "-", "%d" % cpu


class Tasks(gdb.Command):
    """List tasks: tid, tgid, parent, CPU (running on; last ran on), state, name, TTBR0/ASID,
shared resources. `*` marks the task running on the CPU of gdb's selected thread."""

    def __init__(self):
        super().__init__("tasks", gdb.COMMAND_USER)

    @kernel_view
    def invoke(self, arg, from_tty):
        tasks = all_tasks()
        # A task that a CPU still runs after it left the table (an exiting thread, or a
        # zombie already reaped, on its way to its last schedule()) is listed too.
        for cpu in sorted(online_cpus()):
            t = current_task(cpu)
            if t is not None and int(t["tid"]) != 0 and not any(same_task(t, u) for _, u in tasks):
                tasks.append((int(t["tid"]), t))
        cur = current_task()
        ret_from_fork = minsym("ret_from_fork")
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
        print("%-5s %-5s %-5s %-4s %-4s %-2s %-18s %-12s %-20s %s"
              % ("TID", "TGID", "PPID", "CPU", "LAST", "", "STATE", "NAME", "TTBR0 (ASID)",
                 "SHARED WITH"))
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
            cpu, last = task_cpus(t, ret_from_fork)
            print("%-5d %-5d %-5d %-4s %-4s %-2s %-18s %-12s %-20s %s"
                  % (tid, int(t["tgid"]), int(inner["parent"]), cpu, last,
                     "*" if same_task(t, cur) else "", state_name(t),
                     inner["name"].format_string().strip('"'), ttbr, " ".join(shared) or "-"))


class Cpus(gdb.Command):
    """List CPUs: gdb thread, exception level, the task each runs, and where it is.
`*` marks the CPU of gdb's selected thread."""

    def __init__(self):
        super().__init__("cpus", gdb.COMMAND_USER)

    @kernel_view
    def invoke(self, arg, from_tty):
        sel = selected_cpu()
        online = online_cpus()
        print("  %-4s %-7s %-4s %-22s %s" % ("CPU", "THREAD", "EL", "TASK", "PC"))
        for cpu, thread in sorted(cpu_threads().items()):
            def where():
                frame = gdb.newest_frame()
                pc = frame.pc()
                # The function the pc is in, not one inlined into it at that pc.
                while frame.type() == gdb.INLINE_FRAME and frame.older() is not None:
                    frame = frame.older()
                name = frame.name()
                return "EL%d" % thread_el(), "%#x%s" % (pc, " in " + name if name else "")
            el, pc = on_thread(thread, where)
            if cpu not in online:
                task = "- (offline)"
            else:
                t = current_task(cpu)
                task = "-" if t is None else "%d (%s)" % (
                    int(t["tid"]), task_inner(t)["name"].format_string().strip('"'))
            print("%s %-4d %-7d %-4s %-22s %s"
                  % ("*" if cpu == sel else " ", cpu, thread.num, el, task, pc))


class PtWalk(gdb.Command):
    """ptwalk VA [TID] | ptwalk START END [TID]: walk a task's page tables."""

    def __init__(self):
        super().__init__("ptwalk", gdb.COMMAND_USER)

    @kernel_view
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

    @kernel_view
    def invoke(self, arg, from_tty):
        task = find_task(parse_tid(arg))
        f = trap_frame(task)
        regs = [int(f["regs"][i]) for i in range(31)]
        print("task %d: TrapFrame at %#x" % (int(task["tid"]), int(f.address)))
        for i in range(0, 31, 4):
            print("  " + "  ".join("x%-2d %#018x" % (j, regs[j]) for j in range(i, min(i + 4, 31))))
        print("  sp  %#018x  pc  %#018x  pstate %#x  tpidr_el0 %#x"
              % (int(f["sp"]), int(f["pc"]), int(f["pstate"]), int(f["tpidr"])))
        cpu = running_cpu(task)
        thread = cpu_threads().get(cpu) if cpu is not None else None
        if thread is not None and on_thread(thread, thread_el) == 0:
            print("  task %d runs in user mode on CPU %d: this frame is from its last kernel entry;"
                  "\n  its live registers are thread %d's (`thread %d`, `info registers`)"
                  % (int(task["tid"]), cpu, thread.num, thread.num))


def user_frame(tid=None):
    """The saved user registers of a task as a list (x0..x30, sp, pc, pstate, tpidr)."""
    f = trap_frame(find_task(tid))
    return [int(f["regs"][i]) for i in range(31)] + [int(f[k]) for k in ("sp", "pc", "pstate", "tpidr")]


def thread_struct(task):
    """The task's arch ThreadStruct (UnsafeCell<ThreadStruct>)."""
    return task["thread"]["value"]


def fp_state(task):
    """(source, [v0..v31 as ints], fpsr, fpcr) of a task's user FP/SIMD state.

    A CPU's registers hold it when the task is that CPU's current task and its state is
    loaded (foreign_fpstate false); they are read from that CPU's gdb thread, whichever
    thread is selected. Otherwise the save area in its ThreadStruct is current."""
    th = thread_struct(task)
    cpu = running_cpu(task)
    if cpu is not None and not bool(th["foreign_fpstate"]):
        thread = cpu_threads().get(cpu)
        if thread is None:
            raise gdb.GdbError("CPU %d has no gdb thread" % cpu)

        def read():
            # gdb shows each v register as a union; .d.u holds its two 64-bit halves
            # (gdb's Python cannot convert 128-bit integers).
            vals = []
            for i in range(32):
                d = gdb.parse_and_eval("$v%d" % i)["d"]["u"]
                vals.append(int(d[1]) << 64 | int(d[0]))
            # gdb types FPSR/FPCR as signed 32-bit: keep the bits.
            return (vals, int(gdb.parse_and_eval("$fpsr")) & 0xFFFFFFFF,
                    int(gdb.parse_and_eval("$fpcr")) & 0xFFFFFFFF)
        vals, fpsr, fpcr = on_thread(thread, read)
        return ("the CPU's registers (live, CPU %d)" % cpu, vals, fpsr, fpcr)
    st = th["fpsimd_state"]
    base = int(st["vregs"].address)
    raw = bytes(gdb.selected_inferior().read_memory(base, 32 * 16))
    vals = [int.from_bytes(raw[16 * i:16 * i + 16], "little") for i in range(32)]
    return ("the save area in its ThreadStruct", vals, int(st["fpsr"]), int(st["fpcr"]))


class FpRegs(gdb.Command):
    """fpregs [TID]: the task's user FP/SIMD registers (v0-v31, FPSR, FPCR)."""

    def __init__(self):
        super().__init__("fpregs", gdb.COMMAND_USER)

    @kernel_view
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

    @kernel_view
    def invoke(self, arg, from_tty):
        if not arg:
            raise gdb.GdbError("usage: cowbreak VA")
        page = int(gdb.parse_and_eval(arg)) & ~0xFFF
        bp = CowBreakpoint(page)
        print("Breakpoint %d: resolve_cow for the page at %#x" % (bp.number, page))


class _FrameId:
    def __init__(self, sp, pc):
        self.sp, self.pc = sp, pc


# Instruction encodings the unwinder looks for in entry.S (ARM ARM C6.2).
_BL, _B = 0x94000000, 0x14000000       # top 6 bits
_ERET = 0xD69F03E0
_MOV_X0_SP = 0x910003E0                # add x0, sp, #0
_STP_X0_X1 = 0xA9000400                # stp x0, x1, [sp, #S_X0]: kernel_entry's first store


def _kernel_code(addr, length):
    """Bytes of the kernel's code, read from its ELF file (the PT_LOAD segment holding
    addr) rather than through the target, which may be unable to read it (a CPU at EL0
    or at reset)."""
    path = gdb.current_progspace().filename
    with open(path, "rb") as f:
        elf = f.read()
    phoff = int.from_bytes(elf[0x20:0x28], "little")
    phentsize = int.from_bytes(elf[0x36:0x38], "little")
    for i in range(int.from_bytes(elf[0x38:0x3A], "little")):
        ph = elf[phoff + i * phentsize:phoff + (i + 1) * phentsize]
        kind = int.from_bytes(ph[0:4], "little")
        offset, vaddr = int.from_bytes(ph[8:16], "little"), int.from_bytes(ph[16:24], "little")
        filesz = int.from_bytes(ph[32:40], "little")
        if kind == 1 and vaddr <= addr and addr + length <= vaddr + filesz:
            return elf[offset + addr - vaddr:offset + addr - vaddr + length]
    raise gdb.error("%#x is in no loaded segment of %s" % (addr, path))


class _Region:
    """One piece of entry.S, [start, end), and the addresses where what it has saved
    changes (found in its code, so they follow entry.S when it changes)."""

    def __init__(self, label, kind, el):
        self.label, self.kind, self.el = label, kind, el
        self.start = minsym(label)
        code = _kernel_code(self.start, 4 * 160)
        insns = [int.from_bytes(code[i:i + 4], "little") for i in range(0, len(code), 4)]
        at = lambda i: self.start + 4 * i

        def first(pred, after=0):
            return next(i for i in range(after, len(insns)) if pred(insns[i]))
        # kernel_entry: the first store, the first `mrs x21` (from then on x21..x25 hold
        # system registers, their user values are in the frame), `mov x0, sp` (the frame
        # is complete).
        if kind == "entry":
            self.first_store = at(first(lambda w: w & 0xFFC07FFF == _STP_X0_X1 | 31 << 5))
            self.clobber = at(first(lambda w: w & 0xFFF0001F == 0xD5300015))
            self.saved = at(first(lambda w: w == _MOV_X0_SP))
        bl = first(lambda w: w & 0xFC000000 == _BL)
        if kind == "ret_from_fork":
            self.end = at(first(lambda w: w & 0xFC000000 == _B, bl) + 1)
        elif el == 1 or kind == "ret_to_user":  # ends with kernel_exit
            self.eret = at(first(lambda w: w == _ERET, bl))
            self.end = self.eret + 4
        else:  # el0_*: `bl handler`, `b ret_to_user`
            self.end = at(bl + 2)


class ExceptionFrames(gdb.unwinder.Unwinder):
    """Unwinds through the exception entry code of entry.S: the caller of el0_sync,
    el1h_irq & co. — and of ret_to_user and ret_from_fork — is the code the exception
    interrupted (for ret_from_fork: the parent's svc, which the child's copied TrapFrame
    returns to). Its registers come from the TrapFrame kernel_entry saved at sp, or, where
    they are not all saved yet (stepping through kernel_entry or kernel_exit), from the
    CPU: ELR_EL1 (pc), SPSR_EL1 (pstate), SP_EL0 (a user sp). So `bt` in a system call is
    the kernel frames, el0_sync, then the user program's frames; `bt` at ret_from_fork is
    ret_from_fork then the child's user frame, where `finish` stops (the child's first
    user instruction). Where no caller can be named (a kernel thread's ret_from_fork, the
    middle of kernel_entry 1's stack check), this unwinder gives way to entry.S's CFI,
    which ends the backtrace there (`.cfi_undefined x30`)."""

    LABELS = (("el1h_sync", "entry", 1), ("el1h_irq", "entry", 1), ("el0_sync", "entry", 0),
              ("el0_irq", "entry", 0), ("ret_to_user", "ret_to_user", 0),
              ("ret_from_fork", "ret_from_fork", 0))

    def __init__(self):
        super().__init__("teachos-exception-frames")
        self.regions = None
        self.vectors = None

    def find_regions(self):
        _rust()
        self.regions = [_Region(label, kind, el) for label, kind, el in self.LABELS]
        self.vectors = minsym("vectors")

    def region(self, pc):
        for r in self.regions:
            if r.start <= pc < r.end:
                return r
        return None

    def __call__(self, pending):
        if self.regions is None:
            try:
                self.find_regions()
            except (gdb.error, OSError, StopIteration):
                return None
        pc = int(pending.read_register("pc")) & (1 << 64) - 1
        sp = int(pending.read_register("sp")) & (1 << 64) - 1
        frame_type = gdb.lookup_type(TRAPFRAME_TYPE)
        level0 = pending.level() == 0
        cpu = lambda name: int(pending.read_register(name))
        r = self.region(pc)
        if r is None:
            if not (level0 and 0 <= pc - self.vectors < 0x800):
                return None
            # A vector slot (`b label`): nothing saved, the interrupted context is the
            # CPU's. Groups of 0x200: EL1 with SP_EL0, EL1 with SP_EL1, EL0 AArch64, AArch32.
            start, el, live, frame = self.vectors, int((pc - self.vectors) // 0x200 < 2), 31, None
        else:
            start, el = r.start, r.el
            live, frame = 0, sp  # registers live in the CPU: x0..x(live-1); TrapFrame at frame
            if r.kind == "entry":
                if pc == r.start:
                    live, frame = 31, None
                elif pc < r.first_store and (el == 1 and pc > r.start + 4):
                    return None  # kernel_entry 1's stack check: sp and x0 are swapped
                elif pc < r.clobber:
                    live = 31 if level0 else 0
                elif pc < r.saved:
                    live = 0
            if getattr(r, "eret", None) == pc:
                # kernel_exit's `add sp` is done: every register is the interrupted one.
                live, frame = 31, None
        regs = [0] * 31
        try:
            if frame is not None:
                f = gdb.Value(frame).cast(frame_type.pointer()).dereference()
                regs = [int(f["regs"][i]) for i in range(31)]
                saved = (int(f["pc"]), int(f["sp"]), int(f["pstate"]))
            for i in range(live):
                regs[i] = cpu("x%d" % i)
            if frame is None or (r is not None and r.kind == "entry" and pc < r.saved):
                saved = (cpu("ELR_EL1"), cpu("SP_EL0"), cpu("SPSR_EL1"))
                if frame is not None:
                    regs[30] = cpu("x30")  # stored last, with the system registers
        except gdb.error:
            return None
        saved_pc, saved_sp, pstate = saved
        if r is not None and r.kind == "ret_from_fork" and saved_pc == 0:
            return None  # a kernel thread's frame: all zeros, nothing to return to
        if el == 1:
            # The interrupted kernel sp: above the frame (kernel_entry's `sub sp`).
            saved_sp = sp if frame is None else frame + frame_type.sizeof
        arch = pending.architecture()
        u64, u32 = arch.integer_type(64, False), arch.integer_type(32, False)
        info = pending.create_unwind_info(_FrameId(gdb.Value(sp).cast(u64), gdb.Value(start).cast(u64)))
        for i in range(31):
            info.add_saved_register("x%d" % i, gdb.Value(regs[i] & (1 << 64) - 1).cast(u64))
        info.add_saved_register("sp", gdb.Value(saved_sp & (1 << 64) - 1).cast(u64))
        info.add_saved_register("pc", gdb.Value(saved_pc & (1 << 64) - 1).cast(u64))
        info.add_saved_register("cpsr", gdb.Value(pstate & 0xFFFFFFFF).cast(u32))
        return info


_exception_frames = ExceptionFrames()
gdb.unwinder.register_unwinder(None, _exception_frames, replace=True)


class ExceptionBoundaryFilter:
    """A frame filter for `bt` that passes every frame through unchanged and only
    replaces gdb's closing "Backtrace stopped: ..." line. gdb checks that each caller's
    stack is above its callee's; the user frame beneath an exception has its sp in the
    lower half (0x0000...), below the kernel stack (0xffff...), so gdb stops after that
    first user frame with "previous frame inner to this frame (corrupt stack?)" — and a
    user program's _start, which has no caller, ends with "previous frame identical". At
    a user frame these are where the user stack's unwinding ends, not corruption, so they
    are not printed; any other reason is (gdb prints nothing itself once a filter runs)."""

    QUIET = (gdb.FRAME_UNWIND_INNER_ID, gdb.FRAME_UNWIND_SAME_ID)

    def __init__(self):
        self.name = "teachos-exception-boundary"
        self.priority = 0
        self.enabled = True
        gdb.frame_filters[self.name] = self

    def filter(self, frames):
        last = None
        for decorator in frames:
            last = decorator
            yield _Unnamed(decorator) if decorator.inferior_frame().name() is None else decorator
        if last is None:
            return
        frame = last.inferior_frame()
        reason = frame.unwind_stop_reason()
        if reason in (gdb.FRAME_UNWIND_NO_REASON, gdb.FRAME_UNWIND_NULL_ID, gdb.FRAME_UNWIND_OUTERMOST):
            return  # the normal end of a stack
        if frame.pc() < KERNEL_VA_OFFSET:
            if reason in self.QUIET:
                return
            if frame.name() is None:
                print("Backtrace stopped: user code without symbols (load the program's: "
                      "add-symbol-file target/aarch64-unknown-none/release/NAME, or "
                      "make gdb-user PROG=NAME)")
                return
        print("Backtrace stopped: %s" % gdb.frame_stop_reason_string(reason))


class _Unnamed(gdb.FrameDecorator.FrameDecorator):
    """A frame in code without symbols: "??", as gdb's own backtrace prints it."""

    def function(self):
        return "??"


ExceptionBoundaryFilter()

Tasks()
Cpus()
PtWalk()
UFrame()
FpRegs()
CowBreak()
