# The trace ring buffer from gdb (docs/tracing.md): the kernel's events, even when it is
# stopped at a breakpoint or hung, and tracing switched on or off without a reboot.
#
#   trace-dump [N]        the last N events (all by default), as /proc/trace shows them
#   trace-on [CATS]       record CATS (syscall,proc,fault,cow,switch,irq; sched, mm; on = all)
#   trace-off             stop recording
#
# The ring's place is published by the kernel in kernel::trace::RING_VIEW (first slot,
# capacity, &head, &start: plain numbers); a slot is repr(C): stamp, time,
# id|cpu<<16|tid<<32, pid|aux<<32, six arguments (src/trace/ring.rs).
import struct

import gdb

SLOT_WORDS = 10
EVENTS = {1: "sys_enter", 2: "sys_exit", 3: "sched_process_fork", 4: "sched_process_exec",
          5: "sched_process_exit", 6: "page_fault_user", 7: "mm_cow_fault", 8: "sched_switch",
          9: "irq_handler_entry"}
HOW = {1: "demand-zero", 2: "file-page", 3: "file-copied", 4: "spurious", 5: "copied", 6: "reused",
       7: "raced", 8: "not-mapped", 9: "access-denied", 10: "past-eof", 11: "out-of-memory"}
CATEGORIES = ["syscall", "proc", "fault", "cow", "switch", "irq"]


def words(addr, n):
    return struct.unpack("<%dQ" % n, bytes(gdb.selected_inferior().read_memory(addr, 8 * n)))


def view():
    """(first slot, capacity, head, start) or None if the kernel made no ring (yet)."""
    addr = int(gdb.parse_and_eval("&kernel::trace::RING_VIEW"))
    slots, cap, head_at, start_at = words(addr, 4)
    if not slots or not cap:
        return None
    return slots, cap, words(head_at, 1)[0], words(start_at, 1)[0]


def counter_frequency():
    try:
        return int(gdb.parse_and_eval("$CNTFRQ_EL0")) or 62500000
    except gdb.error:
        return 62500000  # QEMU virt's generic timer


def details(ev_id, aux, a):
    if ev_id == 1:
        return "nr=%d args=%s" % (aux, ", ".join(hex(x) for x in a))
    if ev_id == 2:
        ret = a[0] - (1 << 64) if a[0] >> 63 else a[0]
        return "nr=%d = %d" % (aux, ret)
    if ev_id == 3:
        return "child_pid=%d child_tid=%d flags=%#x" % (a[1], a[0], a[2])
    if ev_id == 4:
        raw = b"".join(struct.pack("<Q", x) for x in a)[: min(aux, 48)]
        return "filename=" + raw.decode("utf-8", "replace")
    if ev_id == 5:
        st = a[0] & 0xFFFFFFFF
        return "status=%#x %s" % (st, "exited %d" % (st >> 8 & 0xFF) if st & 0x7F == 0
                                  else "killed by signal %d" % (st & 0x7F))
    if ev_id == 6:
        return "addr=%#x access=%s how=%s frame=%#x" % (a[0], ["read", "write", "exec"][min(a[1], 2)],
                                                       HOW.get(a[2], "?"), a[3])
    if ev_id == 7:
        return "addr=%#x old=%#x new=%#x how=%s" % (a[0], a[1], a[2], HOW.get(a[3], "?"))
    if ev_id == 8:
        return "prev_tid=%d next_tid=%d" % (a[0], a[1])
    if ev_id == 9:
        return "irq=%s" % {0: "timer", 1: "reschedule IPI", 2: "uart"}.get(a[0], "?")
    return "args=%s" % [hex(x) for x in a]


class TraceDump(gdb.Command):
    """trace-dump [N]: the last N events of the trace ring buffer (all by default)."""

    def __init__(self):
        super().__init__("trace-dump", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        v = view()
        if v is None:
            print("trace-dump: no ring buffer (the kernel has not reached trace::init, or trace_buf=0)")
            return
        slots, cap, head, start = v
        first = max(head - cap, start, 0)
        if arg.strip():
            first = max(first, head - int(gdb.parse_and_eval(arg)))
        freq = counter_frequency()
        print("# %d events shown, %d recorded since boot" % (head - first, head))
        print("#         TIME CPU   PID   TID  EVENT                DETAILS")
        for seq in range(first, head):
            w = words(slots + (seq % cap) * 8 * SLOT_WORDS, SLOT_WORDS)
            if w[0] != 2 * seq + 2:
                continue  # overwritten, or being written right now
            time, idw, pw = w[1], w[2], w[3]
            ev_id, cpu, tid = idw & 0xFFFF, idw >> 16 & 0xFFFF, idw >> 32
            pid, aux = pw & 0xFFFFFFFF, pw >> 32
            print("%5d.%09d %3d %5d %5d  %-20s %s" % (time // freq, (time % freq) * 10**9 // freq, cpu, pid, tid,
                                                      EVENTS.get(ev_id, "unknown"), details(ev_id, aux, w[4:])))


def set_recording(cats):
    addr = int(gdb.parse_and_eval("&kernel::trace::ACTIVE"))
    old = struct.unpack("<I", bytes(gdb.selected_inferior().read_memory(addr, 4)))[0]
    record = 0
    for i, name in enumerate(CATEGORIES):
        if name in cats:
            record |= 1 << (2 * i + 1)  # bit 2c+1: record category c (src/trace/mod.rs)
    new = (old & 0x55555555) | record
    gdb.selected_inferior().write_memory(addr, struct.pack("<I", new))
    return new


class TraceOn(gdb.Command):
    """trace-on [CATS]: record the categories CATS (comma-separated: syscall, proc, fault,
    cow, switch, irq; sched = proc,switch; mm = fault,cow; default: all)."""

    def __init__(self):
        super().__init__("trace-on", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        cats = set()
        for w in (arg.strip() or "on").split(","):
            cats |= {"on": set(CATEGORIES), "all": set(CATEGORIES), "sched": {"proc", "switch"},
                     "mm": {"fault", "cow"}}.get(w, {w})
        if view() is None:
            print("trace-on: no ring buffer yet")
            return
        print("trace-on: recording %s (ACTIVE = %#x)" % (",".join(c for c in CATEGORIES if c in cats),
                                                         set_recording(cats)))


class TraceOff(gdb.Command):
    """trace-off: stop recording (what is in the ring stays)."""

    def __init__(self):
        super().__init__("trace-off", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        print("trace-off: ACTIVE = %#x" % set_recording(set()))


TraceDump()
TraceOn()
TraceOff()
