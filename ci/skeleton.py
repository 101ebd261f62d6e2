#!/usr/bin/env python3
"""`make skeleton LAB=n`: writes a student copy of the tree for one coursework lab, in which
the functions labs/labN.toml names are replaced by stubs (the format: labs/README.md).
The kernel's source carries no lab markers; this tool owns the only copy of the rule
"what the student writes". It mirrors MIT's xv6 lab branches, made from one tree.

The copy is the tree's files (git ls-files, as they are on disk, minus the wrong-solution
patches of labs/), plus labs/current (the lab number: ci/test.sh reads it), made a git
repository with one commit. An existing destination is never touched.

usage: skeleton.py LAB [DEST]      (DEST: default ../<this tree's name>-labN)
       skeleton.py --print LAB FILE    (FILE as the skeleton would have it, on stdout)
"""
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib


class SkeletonError(Exception):
    pass


def code_mask(text):
    """For each character of Rust source, whether it is code (not in a comment, string
    or char literal), so that braces and names inside those are ignored."""
    mask = bytearray(len(text))
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            i = j
            continue
        m = re.compile(r'b?r(#*)"').match(text, i)
        if m and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = '"' + m.group(1)
            j = text.find(close, m.end())
            i = n if j < 0 else j + len(close)
            continue
        if c == '"' or (c == "b" and text.startswith('b"', i) and not (i and text[i - 1].isalnum())):
            j = i + (2 if c == "b" else 1)
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "'":
            # A char literal ('a', '\n', '\u{..}', '\'') or a lifetime ('a, '_, 'static).
            if i + 1 < n and text[i + 1] == "\\":
                j = i + 2
                while j < n and text[j] != "'":
                    j += 2 if text[j] == "\\" else 1
                i = j + 1
                continue
            if i + 2 < n and text[i + 2] == "'":
                i += 3
                continue
            mask[i] = 1
            i += 1
            continue
        mask[i] = 1
        i += 1
    return mask


def match_close(text, mask, open_at):
    """The index of the brace closing the one at `open_at`."""
    depth = 0
    for j in range(open_at, len(text)):
        if not mask[j]:
            continue
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return j
    raise SkeletonError("unbalanced braces after offset %d" % open_at)


def item_pattern(stub):
    if "fn" in stub:
        return re.compile(r"\bfn\s+%s\s*[(<]" % re.escape(stub["fn"]))
    words = [re.escape(w) for w in stub["item"].split()]
    pat = r"\s+".join(words)
    if re.match(r"\w", stub["item"]):
        pat = r"\b" + pat
    if re.search(r"\w$", stub["item"]):
        pat += r"\b"
    return re.compile(pat)


def find_item(text, mask, pattern, lo, hi, what):
    """(head offset, open brace, close brace) of the one item matching `pattern` in
    text[lo:hi], ignoring comments and strings."""
    hits = [m.start() for m in pattern.finditer(text, lo, hi) if mask[m.start()]]
    if len(hits) != 1:
        lines = [str(text.count("\n", 0, h) + 1) for h in hits]
        raise SkeletonError("%s: %s" % (what, "not found" if not hits else
                                        "ambiguous (lines %s): add `in`" % ", ".join(lines)))
    head = hits[0]
    j, paren = head, 0
    while j < hi:
        if mask[j]:
            ch = text[j]
            if ch in "([":
                paren += 1
            elif ch in ")]":
                paren -= 1
            elif ch == ";" and paren == 0:
                raise SkeletonError("%s: has no body" % what)
            elif ch == "{" and paren == 0:
                return head, j, match_close(text, mask, j)
        j += 1
    raise SkeletonError("%s: no body found" % what)


def todo_lines(lab, stub, name, width):
    """The comment above a stub: what to write and where to read about it."""
    why = "LAB %d TODO: %s (docs/labs/lab%d.md)" % (lab, stub.get("why", name), lab)
    return ["// " + l for l in textwrap.wrap(why, max(40, width - 3))]


def apply_rust(text, lab, stub):
    name = stub.get("fn") or stub.get("item")
    what = "%s: %s" % (stub["file"], name)
    mask = code_mask(text)
    scopes = [(0, len(text))]
    if "in" in stub:
        # Every item the `in` text starts (an impl may be written twice, under two cfgs):
        # the stub's item must be in exactly one of them.
        scopes = []
        for m in item_pattern({"item": stub["in"]}).finditer(text):
            if mask[m.start()]:
                o_open = text.find("{", m.end())
                scopes.append((o_open + 1, match_close(text, mask, o_open)))
    found = []
    for lo, hi in scopes:
        try:
            found.append(find_item(text, mask, item_pattern(stub), lo, hi, what))
        except SkeletonError as e:
            if "not found" not in str(e):
                raise
    if len(found) != 1:
        raise SkeletonError("%s: %s" % (what, "ambiguous" if found else "not found"
                                        + (" in %s" % stub["in"] if "in" in stub else "")))
    head, open_at, close_at = found[0]
    line_start = text.rfind("\n", 0, head) + 1
    indent = re.match(r"[ \t]*", text[line_start:]).group(0)
    if "replace" in stub:
        # The whole item, with the doc comments and attributes just above it.
        start = line_start
        while start > 0:
            prev = text.rfind("\n", 0, start - 1) + 1
            s = text[prev:start].strip()
            if s.startswith("///") or s.startswith("#[") or s.startswith("#!["):
                start = prev
            else:
                break
        end = close_at + 1
        if text.startswith("\n", end):
            end += 1
        new = textwrap.indent(textwrap.dedent(stub["replace"]).strip("\n"), indent)
        new = (new + "\n") if new else ""
        return text[:start] + new + text[end:]
    if "body" not in stub:
        raise SkeletonError("%s: needs `body` or `replace`" % what)
    inner = indent + "    "
    body = textwrap.dedent(stub["body"]).strip("\n")
    lines = todo_lines(lab, stub, name, 100 - len(inner)) + body.split("\n")
    new = "{\n" + "".join((inner + l).rstrip() + "\n" for l in lines) + indent + "}"
    return text[:open_at] + new + text[close_at + 1:]


def apply_asm(text, lab, stub):
    label, until = stub["label"], stub.get("until")
    what = "%s: %s" % (stub["file"], label)
    if not until or "body" not in stub:
        raise SkeletonError("%s: an assembly stub needs `until` and `body`" % what)
    lines = text.splitlines(keepends=True)
    starts = [i for i, l in enumerate(lines) if l.strip().startswith(label + ":")]
    if len(starts) != 1:
        raise SkeletonError("%s: label %s" % (what, "not found" if not starts else "ambiguous"))
    first = starts[0] + 1
    for last in range(first, len(lines)):
        if lines[last].strip().startswith(until):
            break
    else:
        raise SkeletonError("%s: no line starting with %r after the label" % (what, until))
    body = stub["body"].strip("\n") + "\n"
    new = [l + "\n" for l in todo_lines(lab, stub, label, 100)] + [body]
    return "".join(lines[:first] + new + lines[last:])


def apply(text, lab, stub):
    keys = [k for k in ("fn", "item", "label") if k in stub]
    if len(keys) != 1:
        raise SkeletonError("%s: a stub names exactly one of fn, item, label" % stub.get("file"))
    return apply_asm(text, lab, stub) if keys[0] == "label" else apply_rust(text, lab, stub)


def load(lab):
    path = os.path.join("labs", "lab%s.toml" % lab)
    if not os.path.exists(path):
        known = sorted(f[3:-5] for f in os.listdir("labs") if re.fullmatch(r"lab\d+\.toml", f))
        raise SkeletonError("no %s (labs: %s)" % (path, ", ".join(known)))
    with open(path, "rb") as fh:
        desc = tomllib.load(fh)
    if desc.get("lab") != int(lab):
        raise SkeletonError("%s: `lab = %s` expected" % (path, lab))
    if not desc.get("stub"):
        raise SkeletonError("%s: no [[stub]]" % path)
    return desc


def stubbed_files(desc):
    """{file: new text} for every file the lab's stubs touch."""
    out = {}
    for stub in desc["stub"]:
        f = stub.get("file")
        if not f or not os.path.exists(f):
            raise SkeletonError("stub file %r does not exist" % f)
        if f not in out:
            with open(f, encoding="utf-8") as fh:
                out[f] = fh.read()
        out[f] = apply(out[f], desc["lab"], stub)
    return out


def git(dest, *args):
    env = dict(os.environ)
    for k, v in (("GIT_AUTHOR_NAME", "teachos"), ("GIT_AUTHOR_EMAIL", "teachos@localhost"),
                 ("GIT_COMMITTER_NAME", "teachos"), ("GIT_COMMITTER_EMAIL", "teachos@localhost")):
        env.setdefault(k, v)
    subprocess.run(["git", "-C", dest, *args], check=True, env=env, stdout=subprocess.DEVNULL)


def write_skeleton(lab, dest):
    desc = load(lab)
    changed = stubbed_files(desc)  # every stub must apply before anything is written
    if os.path.lexists(dest):
        raise SkeletonError("%s already exists: not overwriting it (it may be a student's "
                            "work). Remove it, or choose another: make skeleton LAB=%s "
                            "DEST=dir" % (dest, lab))
    files = subprocess.check_output(["git", "ls-files", "-z"], text=True).split("\0")
    for f in files:
        if not f or not os.path.lexists(f) or re.fullmatch(r"labs/lab\d+-wrong-.*\.patch", f):
            continue
        target = os.path.join(dest, f)
        os.makedirs(os.path.dirname(target) or dest, exist_ok=True)
        if f in changed:
            with open(target, "w", encoding="utf-8") as fh:
                fh.write(changed[f])
            shutil.copymode(f, target)
        else:
            shutil.copy2(f, target, follow_symlinks=False)
    with open(os.path.join(dest, "labs", "current"), "w") as fh:
        fh.write("%s\n" % lab)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-q", "-m", "teachos lab %s skeleton" % lab)
    return desc, changed


def main():
    args = sys.argv[1:]
    try:
        if args[:1] == ["--print"] and len(args) == 3:
            print(stubbed_files(load(args[1])).get(args[2], ""), end="")
            return
        if len(args) not in (1, 2) or not args[0].isdigit():
            raise SystemExit(__doc__)
        lab = args[0]
        root = os.getcwd()
        dest = args[1] if len(args) == 2 else os.path.join(
            os.path.dirname(root), "%s-lab%s" % (os.path.basename(root), lab))
        dest = os.path.abspath(dest)
        desc, changed = write_skeleton(lab, dest)
    except SkeletonError as e:
        raise SystemExit("skeleton: %s" % e)
    print("skeleton: lab %s (%s): %d stubs in %d files, written to %s" % (
        lab, desc.get("title", "?"), len(desc["stub"]), len(changed), dest))
    print("skeleton: a git repository with one commit; cd there, read docs/labs/lab%s.md, "
          "then make grade LAB=%s" % (lab, lab))


if __name__ == "__main__":
    main()
