#!/usr/bin/env python3
"""Turns a teachos trace into timelines (`make trace`, docs/tracing.md).

The input is a console log holding the kernel's power-off dump (the lines between
"==== trace ====" and "==== end of trace ====") or the text of /proc/trace itself. Each
event line is TIME CPU PID TID EVENT DETAILS (src/trace/text.rs writes them).

usage: trace.py INPUT PREFIX
         writes PREFIX.txt   a text timeline: per CPU, then per task (system calls with
                             their durations, forks, execs, exits, faults)
                PREFIX.json  Chrome trace events (open in ui.perfetto.dev or
                             chrome://tracing): a track per thread, one per CPU
                PREFIX.html  the same as an SVG timeline, no script needed
       trace.py --check INPUT SPEC...
         exit status 0 if events matching the SPECs appear in this order (others may come
         between); SPEC is EVENT[:KEY=VALUE,...], KEY a field of the details or pid, tid,
         cpu, call (a system call's name); a VALUE $NAME is taken from the first event
         that fits and must match in the later ones (sched_process_fork:child_pid=$c
         then sched_process_exit:pid=$c). Prints the first SPEC not found otherwise.
Python 3 standard library only."""
import html
import json
import re
import sys

LINE = re.compile(r"^\s*(\d+)\.(\d{9})\s+(\d+)\s+(\d+)\s+(\d+)\s+([a-z_]+)\s*(.*)$")
FIELD = re.compile(r"(\w+)=(\S+)")
CALL = re.compile(r"nr=\d+ (\w+)")


def parse(text):
    """The events of a dump or of /proc/trace, in time order."""
    lines = text.splitlines()
    if "==== trace ====" in lines:
        start = len(lines) - 1 - lines[::-1].index("==== trace ====")
        lines = lines[start + 1:]
        if "==== end of trace ====" in lines:
            lines = lines[: lines.index("==== end of trace ====")]
    events = []
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        sec, ns, cpu, pid, tid, name, detail = m.groups()
        ev = {
            "t": int(sec) * 1_000_000_000 + int(ns),
            "cpu": int(cpu),
            "pid": int(pid),
            "tid": int(tid),
            "event": name,
            "detail": detail.strip(),
        }
        ev["fields"] = dict(FIELD.findall(detail))
        call = CALL.match(detail)
        if call:
            ev["fields"]["call"] = call.group(1)
        events.append(ev)
    events.sort(key=lambda e: e["t"])  # stable: same-time events keep their order
    return events


def names_of(events):
    """tid -> program name, as known from exec (and inherited at fork)."""
    names = {}
    for e in events:
        f = e["fields"]
        if e["event"] == "sched_process_exec":
            names[e["tid"]] = f.get("filename", "?").rsplit("/", 1)[-1]
        elif e["event"] == "sched_process_fork":
            child = int(f.get("child_tid", 0))
            names.setdefault(child, names.get(e["tid"], "pid %d" % e["pid"]))
    return names


def who(e, names):
    if e["tid"] == 0:
        return "idle"
    n = names.get(e["tid"]) or names.get(e["pid"]) or "?"
    ids = str(e["pid"]) if e["pid"] == e["tid"] else "%d/%d" % (e["pid"], e["tid"])
    return "%s[%s]" % (n, ids)


def syscall_spans(events):
    """(enter, exit or None) per system call, matched per thread."""
    open_calls, spans = {}, []
    for e in events:
        if e["event"] == "sys_enter":
            open_calls[e["tid"]] = e
        elif e["event"] == "sys_exit" and e["tid"] in open_calls:
            spans.append((open_calls.pop(e["tid"]), e))
    spans.extend((e, None) for e in open_calls.values())  # exit, exit_group, unfinished
    return sorted(spans, key=lambda s: s[0]["t"])


def summary(e):
    """One event in words, for the text timeline and the tooltips."""
    f, d = e["fields"], e["detail"]
    ev = e["event"]
    if ev == "sys_enter":
        return d.split(" ", 1)[1] if " " in d else d
    if ev == "sys_exit":
        return "returns " + d.split(" = ", 1)[-1]
    if ev == "sched_process_fork":
        kind = "thread" if f.get("child_pid") != f.get("child_tid") else "child"
        return "fork: %s %s (%s)" % (kind, f.get("child_tid"), f.get("flags"))
    if ev == "sched_process_exec":
        return "exec " + f.get("filename", "?")
    if ev == "sched_process_exit":
        return "exit: " + d.split(" ", 1)[-1]
    if ev == "mm_cow_fault":
        if f.get("how") == "copied":
            return "COW fault at %s: frame %s copied to %s" % (f.get("addr"), f.get("old"), f.get("new"))
        return "COW fault at %s: frame %s %s" % (f.get("addr"), f.get("old"), f.get("how"))
    if ev == "page_fault_user":
        return "%s fault at %s: %s (frame %s)" % (f.get("access"), f.get("addr"), f.get("how"), f.get("frame"))
    if ev == "sched_switch":
        return "switch to tid %s" % f.get("next_tid")
    if ev == "irq_handler_entry":
        return "interrupt: " + d.split("=", 1)[-1]
    return d


def text_timeline(events, names):
    t0 = events[0]["t"] if events else 0
    out = ["teachos trace: %d events over %d ns (timestamps relative to the first; under "
           "-icount, 1 ns = 1 instruction)" % (len(events), events[-1]["t"] - t0 if events else 0), ""]
    for cpu in sorted({e["cpu"] for e in events}):
        out.append("== CPU %d" % cpu)
        for e in events:
            if e["cpu"] == cpu:
                out.append("  %+14d ns  %-22s %-20s %s" % (e["t"] - t0, who(e, names), e["event"], summary(e)))
        out.append("")
    exits = {}
    for enter, exit_ in syscall_spans(events):
        if exit_:
            exits[id(exit_)] = exit_["t"] - enter["t"]
    for tid in sorted({e["tid"] for e in events if e["tid"]}):
        mine = [e for e in events if e["tid"] == tid]
        out.append("== %s: %d events, CPUs %s" % (who(mine[0], names), len(mine),
                                                  ",".join(str(c) for c in sorted({e["cpu"] for e in mine}))))
        for e in mine:
            if e["event"] == "sys_enter":
                continue  # shown with its exit, below
            line = summary(e)
            if e["event"] == "sys_exit":
                call = e["fields"].get("call", "?")
                line = "%s %s  [%d ns]" % (call, line, exits.get(id(e), 0))
            out.append("  %+14d ns  cpu%d  %s" % (e["t"] - t0, e["cpu"], line))
        out.append("")
    return "\n".join(out) + "\n"


CPU_PID = 1_000_000  # the "process" that holds one track per CPU in the JSON


def chrome_events(events, names):
    """Chrome trace-event JSON (the "JSON Array Format" with metadata events)."""
    t0 = events[0]["t"] if events else 0
    us = lambda t: round((t - t0) / 1000.0, 3)  # noqa: E731
    out = [{"ph": "M", "pid": CPU_PID, "name": "process_name", "args": {"name": "CPUs"}}]
    for tid in sorted({e["tid"] for e in events if e["tid"]}):
        e = next(x for x in events if x["tid"] == tid)
        out.append({"ph": "M", "pid": e["pid"], "tid": tid, "name": "thread_name", "args": {"name": who(e, names)}})
        if e["pid"] == tid:
            out.append({"ph": "M", "pid": e["pid"], "name": "process_name", "args": {"name": who(e, names)}})
    for enter, exit_ in syscall_spans(events):
        if enter["tid"] == 0:
            continue
        end = exit_["t"] if exit_ else enter["t"]
        out.append({"ph": "X", "cat": "syscall", "name": enter["fields"].get("call", "syscall"),
                    "pid": enter["pid"], "tid": enter["tid"], "ts": us(enter["t"]),
                    "dur": max(round(us(end) - us(enter["t"]), 3), 0.001),
                    "args": {"call": summary(enter), "result": exit_["detail"].split(" = ", 1)[-1] if exit_ else "?"}})
    # What each CPU runs, between context switches.
    running = {}
    for e in events + [{"event": "end", "t": events[-1]["t"] if events else 0, "cpu": None}]:
        if e["event"] not in ("sched_switch", "end"):
            continue
        cpus = [e["cpu"]] if e["cpu"] is not None else list(running)
        for cpu in cpus:
            if cpu in running:
                since, tid = running.pop(cpu)
                if tid:
                    out.append({"ph": "X", "cat": "sched", "name": names.get(tid, "tid %d" % tid),
                                "pid": CPU_PID, "tid": cpu, "ts": us(since), "dur": max(round(us(e["t"]) - us(since), 3), 0.001),
                                "args": {"tid": tid}})
        if e["event"] == "sched_switch":
            running[e["cpu"]] = (e["t"], int(e["fields"].get("next_tid", 0)))
    for e in events:
        if e["event"] in ("sys_enter", "sys_exit", "sched_switch"):
            continue
        out.append({"ph": "i", "s": "t", "cat": e["event"], "name": summary(e).split(":")[0],
                    "pid": e["pid"], "tid": e["tid"], "ts": us(e["t"]), "args": {"detail": summary(e)}})
    for cpu in sorted({e["cpu"] for e in events}):
        out.append({"ph": "M", "pid": CPU_PID, "tid": cpu, "name": "thread_name", "args": {"name": "CPU %d" % cpu}})
    return {"traceEvents": out, "displayTimeUnit": "ns"}


COLOURS = {"sched_process_fork": "#2a9d2a", "sched_process_exec": "#1f5fbf", "sched_process_exit": "#c62828",
           "mm_cow_fault": "#ef8a00", "page_fault_user": "#8e44ad", "irq_handler_entry": "#888888"}


def html_timeline(events, names):
    """An SVG timeline in one HTML file: a row per thread (system calls as bars,
    other events as ticks), then a row per CPU (who runs). Hover for details."""
    t0 = events[0]["t"] if events else 0
    span = max((events[-1]["t"] - t0) if events else 1, 1)
    width, left, row = 1400, 170, 26
    x = lambda t: left + (t - t0) * (width - left - 10) / span  # noqa: E731
    tids = sorted({e["tid"] for e in events if e["tid"]})
    cpus = sorted({e["cpu"] for e in events})
    rows = {("t", t): i for i, t in enumerate(tids)}
    rows.update({("c", c): len(tids) + i for i, c in enumerate(cpus)})
    height = row * (len(rows) + 2)
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="monospace" font-size="12">'
           % (width, height)]
    first = {e["tid"]: e for e in reversed(events)}
    for (kind, key), i in rows.items():
        y = row * (i + 1)
        label = who(first[key], names) if kind == "t" else "CPU %d" % key
        svg.append('<text x="4" y="%d">%s</text>' % (y + 16, html.escape(label)))
        svg.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#ddd"/>' % (left, width, y + row - 2, y + row - 2))
    for enter, exit_ in syscall_spans(events):
        if ("t", enter["tid"]) not in rows:
            continue
        y = row * (rows[("t", enter["tid"])] + 1)
        x0 = x(enter["t"])
        x1 = x(exit_["t"]) if exit_ else x0 + 2
        tip = "%s = %s" % (summary(enter), exit_["detail"].split(" = ", 1)[-1] if exit_ else "?")
        svg.append('<rect x="%.1f" y="%d" width="%.1f" height="12" fill="#90caf9" stroke="#1e88e5">'
                   '<title>%s</title></rect>' % (x0, y + 4, max(x1 - x0, 1.5), html.escape(tip)))
    running = {}
    for e in events + [{"event": "end", "t": events[-1]["t"] if events else 0, "cpu": None}]:
        if e["event"] not in ("sched_switch", "end"):
            continue
        for cpu in ([e["cpu"]] if e["cpu"] is not None else list(running)):
            if cpu in running:
                since, tid = running.pop(cpu)
                if tid:
                    y = row * (rows[("c", cpu)] + 1)
                    hue = (tid * 67) % 360
                    svg.append('<rect x="%.1f" y="%d" width="%.1f" height="16" fill="hsl(%d,60%%,70%%)">'
                               '<title>%s</title></rect>' % (x(since), y + 2, max(x(e["t"]) - x(since), 1), hue,
                                                             html.escape("tid %d (%s)" % (tid, names.get(tid, "?")))))
        if e["event"] == "sched_switch":
            running[e["cpu"]] = (e["t"], int(e["fields"].get("next_tid", 0)))
    for e in events:
        colour = COLOURS.get(e["event"])
        if not colour or ("t", e["tid"]) not in rows:
            continue
        y = row * (rows[("t", e["tid"])] + 1)
        svg.append('<rect x="%.1f" y="%d" width="3" height="20" fill="%s"><title>%s</title></rect>'
                   % (x(e["t"]) - 1, y + 1, colour, html.escape("%s: %s" % (e["event"], summary(e)))))
    svg.append('<text x="%d" y="%d">0 ns</text><text x="%d" y="%d" text-anchor="end">%d ns</text>'
               % (left, height - 6, width - 10, height - 6, span))
    svg.append("</svg>")
    legend = " ".join('<span style="color:%s">&#9632; %s</span>' % (c, n) for n, c in COLOURS.items())
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>teachos trace</title></head><body>\n"
            "<h3>teachos trace: %d events, %d ns</h3>\n<p>system calls: blue bars; %s; CPU rows: who runs. "
            "Hover for details.</p>\n%s\n</body></html>\n" % (len(events), span, legend, "\n".join(svg)))


def matches(e, spec, bound):
    """Whether event e fits spec; a value $NAME is bound by the first event that fits
    and must be the same in the later ones."""
    name, _, cond = spec.partition(":")
    if e["event"] != name:
        return False
    new = {}
    for kv in filter(None, cond.split(",")):
        k, _, v = kv.partition("=")
        have = str(e[k]) if k in ("pid", "tid", "cpu") else e["fields"].get(k)
        if v.startswith("$") and v not in bound:
            new[v] = have
        elif have != bound.get(v, v):
            return False
    bound.update(new)
    return True


def check(events, specs):
    i, bound = 0, {}
    for e in events:
        if i < len(specs) and matches(e, specs[i], bound):
            i += 1
    if i < len(specs):
        print("trace.py: not found in order: %s (after %s)" % (specs[i], specs[i - 1] if i else "the start"))
        return 1
    print("trace.py: %d events in order among %d" % (len(specs), len(events)))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "--check":
        return check(parse(open(argv[2], errors="replace").read()), argv[3:])
    if len(argv) != 3:
        print(__doc__)
        return 2
    events = parse(open(argv[1], errors="replace").read())
    if not events:
        print("trace.py: no trace events in %s (boot with trace=on; see docs/tracing.md)" % argv[1])
        return 1
    names = names_of(events)
    prefix = argv[2]
    with open(prefix + ".txt", "w") as f:
        f.write(text_timeline(events, names))
    with open(prefix + ".json", "w") as f:
        trace = chrome_events(events, names)
        # One event a line: readable, and grep finds them.
        f.write('{"displayTimeUnit": "ns", "traceEvents": [\n')
        f.write(",\n".join(json.dumps(e) for e in trace["traceEvents"]))
        f.write("\n]}\n")
    with open(prefix + ".html", "w") as f:
        f.write(html_timeline(events, names))
    print("trace.py: %d events -> %s.txt, %s.json (ui.perfetto.dev, chrome://tracing), %s.html"
          % (len(events), prefix, prefix, prefix))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
