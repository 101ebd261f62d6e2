#!/usr/bin/env python3
"""The kernel's dependency rule, checked: the graph of top-level modules (src/<m>/ or
src/<m>.rs, and arch/) built from `crate::<m>` references must have no cycle, except the
arch layer's documented contract edge (arch -> trap). Test modules (`mod tests`) are
skipped. Prints the graph; exits 1 on a cycle.
usage: check-layers.py [ROOT]"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else "."
# The arch layer's contract (arch/aarch64/mod.rs): it calls the kernel through trap.rs and
# prints reports through the console's println!.
ALLOWED = {("arch", "trap"), ("arch", "console")}
# Items re-exported at the crate root, by the module that defines them.
ROOT_ITEMS = {"println": "console", "print": "console", "shutdown": "boot", "boot_args": "boot"}
ref = re.compile(r"\bcrate::([a-z_]+)")
edges = {}


def module_of(path):
    rel = os.path.relpath(path, root)
    parts = rel.split(os.sep)
    if parts[0] == "arch":
        return "arch"
    name = parts[1]
    return name[:-3] if name.endswith(".rs") else name


for base in ("src", "arch"):
    for d, _, files in os.walk(os.path.join(root, base)):
        for f in files:
            if not f.endswith(".rs") or f in ("main.rs", "lib.rs"):
                continue
            path = os.path.join(d, f)
            m = module_of(path)
            text = open(path).read()
            text = text.split("#[cfg(test)]\nmod tests")[0]
            for line in text.splitlines():
                if line.lstrip().startswith("//"):
                    continue
                for target in ref.findall(line):
                    target = ROOT_ITEMS.get(target, target)
                    if target != m and (m, target) not in ALLOWED:
                        edges.setdefault(m, set()).add(target)

for m in sorted(edges):
    print("  %-8s -> %s" % (m, " ".join(sorted(edges[m]))))

# Find a cycle with a depth-first search.
state, stack = {}, []


def visit(m):
    state[m] = "open"
    stack.append(m)
    for t in sorted(edges.get(m, ())):
        if state.get(t) == "open":
            return stack[stack.index(t):] + [t]
        if t not in state:
            c = visit(t)
            if c:
                return c
    stack.pop()
    state[m] = "done"
    return None


for m in sorted(edges):
    if m not in state:
        cycle = visit(m)
        if cycle:
            print("cycle: " + " -> ".join(cycle))
            sys.exit(1)
print("no cycles (allowed contract edges: %s)" % ", ".join("%s -> %s" % e for e in sorted(ALLOWED)))
