#!/usr/bin/env python3
"""A profile by function from ci/profile/insn_count.c's counts (`make profile`, ci/profile.sh).

Each instruction address the plugin counted is charged to the function that contains it:
the last symbol at or below it in `llvm-nm -n -C` output of the kernel (build/kernel, the
symbols of build/System.map, demangled) or of the user program. Rust's hash suffix
(::h0123456789abcdef) is dropped; a function is shown by its last path segment, the
module path beside it (kernel::mm::fork::copy_pte_range: copy_pte_range in mm::fork),
so that it reads next to Linux's function of the same name. User-space code is marked
[user]. The copies of a generic function (one per type it was compiled for: walk_table
for fork's copy and for exit's teardown) have the same name and are added together; the
table says how many ran ("[3 copies]"). A profile is exclusive: a function's own
instructions, and those of what the compiler inlined into it, not its callees'.

usage: profile.py COUNTS KERNEL_SYMS USER_SYMS OUT_TSV [TOP]
  prints the TOP (25) functions with count, percent and cumulative percent, then the
  totals by module; writes OUT_TSV: function, module, space (kernel|user), count, one
  line per function, most first (ci/bench_plots.py --profile draws it).
Python 3 standard library only."""
import bisect
import re
import sys

HASH = re.compile(r"::h[0-9a-f]{16}$")
KERNEL_BASE = 0xFFFF000000000000


def symbols(path):
    """Sorted [(address, name)] of the text symbols of an `llvm-nm -n -C` listing."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split(" ", 2)
            if len(parts) == 3 and parts[1] in ("t", "T", "W", "w") and parts[0]:
                try:
                    out.append((int(parts[0], 16), parts[2]))
                except ValueError:
                    pass
    out.sort()
    return out


# Rust's legacy mangling escapes, which llvm-nm's C++ demangler leaves in the names.
ESCAPES = [("$LT$", "<"), ("$GT$", ">"), ("$u20$", " "), ("$C$", ","), ("$RF$", "&"), ("$BP$", "*"),
           ("$LP$", "("), ("$RP$", ")"), ("$u7b$", "{"), ("$u7d$", "}"), ("$u27$", "'"), ("$u5b$", "["),
           ("$u5d$", "]"), ("$u7e$", "~"), ("$SP$", "@")]
LLVM_SUFFIX = re.compile(r"\s*\(?\.llvm\.\d+\)?")


def clean(name):
    name = LLVM_SUFFIX.sub("", name)
    name = HASH.sub("", name)
    for a, b in ESCAPES:
        name = name.replace(a, b)
    name = name.replace("..", "::")
    return re.sub(r"(^|::)_<", r"\1<", name)


def split_name(name):
    """(function, module) of a demangled name."""
    name = clean(name)
    # <T as Trait>::method and closures keep their whole text; a plain path is split at its
    # last "::" (outside <...>).
    depth, cut = 0, -1
    for i, c in enumerate(name):
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == ":" and depth == 0 and name[i:i + 2] == "::":
            cut = i
    if cut < 0:
        return name, ""
    module = name[:cut]
    for prefix in ("kernel::", "ulib::"):
        if module.startswith(prefix):
            module = module[len(prefix):]
    if module in ("kernel", "ulib"):
        module = ""
    return name[cut + 2:], module


def lookup(table, addrs, a):
    i = bisect.bisect_right(addrs, a) - 1
    return table[i][1] if i >= 0 else None


def symbol_start(addrs, a):
    i = bisect.bisect_right(addrs, a) - 1
    return addrs[i] if i >= 0 else None


def main():
    if len(sys.argv) < 5:
        print(__doc__)
        return 2
    counts_path, ksyms_path, usyms_path, out_tsv = sys.argv[1:5]
    top = int(sys.argv[5]) if len(sys.argv) > 5 else 25
    ktab, utab = symbols(ksyms_path), symbols(usyms_path)
    kaddr, uaddr = [a for a, _ in ktab], [a for a, _ in utab]
    header = ""
    by_fn = {}
    copies = {}  # a generic function has one copy per type it was compiled for: same name
    with open(counts_path) as f:
        for line in f:
            if line.startswith("#"):
                header = line[1:].strip()
                continue
            a, n = line.split()
            a, n = int(a, 16), int(n)
            if a >= KERNEL_BASE or 0x40000000 <= a < 0x80000000:  # high half, or the boot code at its load address
                name, start = lookup(ktab, kaddr, a), symbol_start(kaddr, a)
                key = split_name(name) + ("kernel",) if name else ("[kernel, no symbol]", "", "kernel")
            else:
                name, start = lookup(utab, uaddr, a), symbol_start(uaddr, a)
                key = split_name(name) + ("user",) if name else ("[user, no symbol]", "", "user")
            by_fn[key] = by_fn.get(key, 0) + n
            copies.setdefault(key, set()).add(start)
    total = sum(by_fn.values())
    rows = sorted(by_fn.items(), key=lambda kv: (-kv[1], kv[0]))
    with open(out_tsv, "w") as f:
        f.write("# %s\n" % header)
        f.write("function\tmodule\tspace\tcount\n")
        for (fn, mod, space), n in rows:
            f.write("%s\t%s\t%s\t%d\n" % (fn, mod, space, n))
    print("Profile by function: %s" % header)
    print("%12s %6s %6s  %s" % ("instructions", "%", "cum %", "function (module)"))
    cum = 0
    for (fn, mod, space), n in rows[:top]:
        cum += n
        where = ("user " + mod).strip() if space == "user" else mod
        many = len(copies[(fn, mod, space)])
        print("%12s %6.2f %6.2f  %s%s%s" % ("{:,}".format(n), 100 * n / total, 100 * cum / total, fn,
                                            "  (%s)" % where if where else "",
                                            "  [%d copies]" % many if many > 1 else ""))
    print("%12s %6.2f         (%d more functions)" % ("{:,}".format(total - cum), 100 * (total - cum) / max(total, 1),
                                                     max(len(rows) - top, 0)))
    by_mod = {}
    for (fn, mod, space), n in rows:
        k = "[user] " + mod if space == "user" else mod or "(top level)"
        by_mod[k] = by_mod.get(k, 0) + n
    print("By module:")
    for k, n in sorted(by_mod.items(), key=lambda kv: -kv[1])[:12]:
        print("%12s %6.2f  %s" % ("{:,}".format(n), 100 * n / max(total, 1), k))
    print("total %s instructions" % "{:,}".format(total))
    return 0


if __name__ == "__main__":
    sys.exit(main())
