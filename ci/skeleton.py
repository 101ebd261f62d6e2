#!/usr/bin/env python3
"""Writes a student skeleton for one lab: a copy of the tree (git ls-files) in which that
lab's solution regions are replaced by their stubs.

A region in the source looks like this (any comment-introduced language works, as long as
the comment leader is `//`; Rust and the arm64 assembly both use it):

    // LAB 3 BEGIN: what the student writes here
    ...the solution...
    // LAB 3 STUB
    // ...stub code, kept commented out in the solution tree...
    // LAB 3 END

In the skeleton the solution and the markers disappear; the stub lines are uncommented,
under a `// LAB 3 TODO: what the student writes here` line. Other labs' regions stay.

usage: skeleton.py LAB DEST
"""
import os
import re
import shutil
import subprocess
import sys

BEGIN = re.compile(r"^(\s*)// LAB (\d+) BEGIN: (.*)$")
STUB = re.compile(r"^\s*// LAB (\d+) STUB$")
END = re.compile(r"^\s*// LAB (\d+) END$")
COMMENTED = re.compile(r"^(\s*)// ?(.*)$")


def transform(lines, lab):
    out, state, regions = [], "copy", 0
    for line in lines:
        if state == "copy":
            m = BEGIN.match(line)
            if m and m.group(2) == lab:
                out.append("%s// LAB %s TODO: %s\n" % (m.group(1), lab, m.group(3)))
                state, regions = "solution", regions + 1
            else:
                out.append(line)
        elif state == "solution":
            m = STUB.match(line)
            if m and m.group(1) == lab:
                state = "stub"
        elif state == "stub":
            m = END.match(line)
            if m and m.group(1) == lab:
                state = "copy"
            else:
                c = COMMENTED.match(line)
                out.append((c.group(1) + c.group(2) + "\n") if c else line)
    if state != "copy":
        raise SystemExit("skeleton: unterminated LAB %s region" % lab)
    return out, regions


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    lab, dest = sys.argv[1], sys.argv[2]
    files = subprocess.check_output(["git", "ls-files"], text=True).split()
    total = 0
    for f in files:
        target = os.path.join(dest, f)
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        try:
            with open(f, encoding="utf-8") as fh:
                lines = fh.readlines()
        except UnicodeDecodeError:
            shutil.copy2(f, target)
            continue
        new, n = transform(lines, lab)
        total += n
        with open(target, "w", encoding="utf-8") as fh:
            fh.writelines(new)
        shutil.copymode(f, target)
    if total == 0:
        raise SystemExit("skeleton: no LAB %s regions found" % lab)
    print("skeleton: lab %s, %d solution regions replaced by stubs, in %s" % (lab, total, dest))


if __name__ == "__main__":
    main()
