#!/usr/bin/env python3
"""`make bench`'s side-by-side tables and its machine-readable results (ci/bench.sh).

Reads the consoles of the last benchmark boots under BUILD_DIR (whichever exist):
  BUILD_DIR/bench.log                  user/src/bin/bench.rs on teachos (init, one CPU)
  BUILD_DIR/bench/single-linux.log     the same binary on Linux 6.1 (ci/oracle.sh --boot:
                                       its lines come as "bench| bench: ...")
  BUILD_DIR/bench/sweep-KERNEL.log     user/src/bin/bench_sweep.rs, KERNEL = teachos,
                                       teachos-odf (fork=odf on the command line), linux
  BUILD_DIR/bench-userland/{teachos,linux}.log   user/c/bench/bench_userland.c
and writes BUILD_DIR/bench/results.tsv, one figure a line:
  part  figure  size_mib  kernel  value
(part single|sweep|userland; size_mib "-" but for the sweep; kernel teachos|teachos-odf|
linux; value in guest instructions). Then prints the tables of the parts named.

bench.rs's lines are read generically, so a line added to it needs nothing here: each
"bench: TEXT N instructions" is one figure named TEXT; a line with several numbers gives
one figure per number, named by the text before it.

usage: bench_report.py BUILD_DIR [single] [sweep] [markdown]
(markdown: both tables as docs/benchmarks.md has them)
Python 3 standard library only."""
import os
import re
import subprocess
import sys

KERNELS = [("teachos", "teachos"), ("teachos-odf", "teachos ODF"), ("linux", "Linux 6.1")]
SWEEP_METRICS = [
    ("fork", "fork: the parent's fork() call"),
    ("exit", "exit: the child's exit_group until the parent's wait4 returns"),
    ("cow", "COW write fault, per page"),
]


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return None


def bench_figures(lines, prefix=""):
    """[(figure, value)] from bench.rs's "bench: ..." lines (after PREFIX)."""
    out = []
    for line in lines or []:
        if not line.startswith(prefix + "bench: "):
            continue
        text = line[len(prefix) + len("bench: "):].strip()
        m = re.match(r"^(.*?)\s+(\d+)\s+instructions\s*$", text)
        if m:
            out.append((m.group(1).strip(), int(m.group(2))))
            continue
        numbers = list(re.finditer(r"\d+", text))
        # A number inside a name ("1 MiB", "16 MiB", "getdents64") is not a figure: only
        # numbers that end a clause (followed by ",", ")" or the end) count.
        start = 0
        for n in numbers:
            rest = text[n.end():].lstrip()
            if rest[:1] not in ("", ",", ")"):
                continue
            label = text[start:n.start()].strip(" ,(")
            out.append((label, int(n.group())))
            start = n.end()
    return out


def sweep_figures(lines, prefix=""):
    """{(metric, size): value} from bench_sweep.rs's lines."""
    out = {}
    for line in lines or []:
        if not line.startswith(prefix + "bench-sweep: size="):
            continue
        fields = dict(f.split("=", 1) for f in line[len(prefix) + len("bench-sweep: "):].split() if "=" in f)
        size = int(fields["size"])
        for metric, _ in SWEEP_METRICS:
            v = fields.get(metric, "-")
            if v.isdigit():
                out[(metric, size)] = int(v)
    return out


def userland_figures(lines):
    out = []
    for line in lines or []:
        m = re.match(r"^bench_userland\| bench-userland: (\S+) (\d+)", line)
        if m:
            out.append((m.group(1), int(m.group(2))))
    return out


def commit_label(build):
    """The commit the boots ran at: BUILD_DIR/bench/commit, written by ci/bench.sh when it
    starts (so that redrawing later does not relabel old figures); else git's."""
    try:
        with open(os.path.join(build, "bench", "commit")) as f:
            label = f.read().strip()
            if label:
                return label
    except OSError:
        pass
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        c = subprocess.run(["git", "-C", here, "describe", "--always", "--dirty"], capture_output=True,
                           text=True, timeout=10).stdout.strip()
        return c or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def group(v):
    return "-" if v is None else "{:,}".format(v)


def ratio(a, b):
    return "%.2f" % (a / b) if a is not None and b else "-"


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = sys.argv[1]
    parts = sys.argv[2:]
    rows = []  # (part, figure, size, kernel, value)

    single = {"teachos": bench_figures(read(os.path.join(build, "bench.log"))),
              "linux": bench_figures(read(os.path.join(build, "bench", "single-linux.log")), "bench| ")}
    for k, figs in single.items():
        rows += [("single", f, "-", k, v) for f, v in figs]

    sweep = {}
    for k, _ in KERNELS:
        prefix = "bench_sweep| " if k == "linux" else ""
        sweep[k] = sweep_figures(read(os.path.join(build, "bench", "sweep-%s.log" % k)), prefix)
        rows += [("sweep", m, str(s), k, v) for (m, s), v in sorted(sweep[k].items())]

    userland = {k: userland_figures(read(os.path.join(build, "bench-userland", k + ".log")))
                for k in ("teachos", "linux")}
    for k, figs in userland.items():
        rows += [("userland", f, "-", k, v) for f, v in figs]

    os.makedirs(os.path.join(build, "bench"), exist_ok=True)
    tsv = os.path.join(build, "bench", "results.tsv")
    with open(tsv + ".tmp", "w") as f:
        f.write("# teachos benchmarks (ci/bench.sh), guest instructions under -icount shift=0, one CPU; "
                "commit %s\n" % commit_label(build))
        f.write("part\tfigure\tsize_mib\tkernel\tvalue\n")
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")
    os.replace(tsv + ".tmp", tsv)

    if "single" in parts:
        linux = dict(single["linux"])
        print("One CPU, user/src/bin/bench.rs, the same binary on both kernels: instructions")
        print("%-72s %11s %11s %7s" % ("", "teachos", "Linux 6.1", "ratio"))
        seen = set()
        for fig, v in single["teachos"]:
            seen.add(fig)
            print("%-72s %11s %11s %7s" % (fig[:72], group(v), group(linux.get(fig)), ratio(v, linux.get(fig))))
        for fig, v in single["linux"]:
            if fig not in seen:
                print("%-72s %11s %11s %7s" % (fig[:72], "-", group(v), "-"))
        print("(ratio = teachos / Linux; consoles: %s, %s)" % (os.path.join(build, "bench.log"),
                                                               os.path.join(build, "bench", "single-linux.log")))
    if "sweep" in parts:
        sizes = sorted({s for k in sweep for (_, s) in sweep[k]})
        print("Resident size sweep, user/src/bin/bench_sweep.rs: instructions, one CPU")
        for metric, title in SWEEP_METRICS:
            print("  %s" % title)
            print("  %8s %12s %12s %12s %8s" % ("MiB", "teachos", "teachos ODF", "Linux 6.1", "t/Linux"))
            for s in sizes:
                if metric == "cow" and s == 0:
                    continue
                v = [sweep[k].get((metric, s)) for k, _ in KERNELS]
                print("  %8d %12s %12s %12s %8s" % (s, group(v[0]), group(v[1]), group(v[2]), ratio(v[0], v[2])))
            if metric != "cow" and len(sizes) > 1:
                slope = []
                for k, _ in KERNELS:
                    have = sorted(s for (m, s) in sweep[k] if m == metric)
                    if len(have) < 2:
                        slope.append("-")
                        continue
                    lo, hi = have[0], have[-1]
                    a, b = sweep[k][(metric, lo)], sweep[k][(metric, hi)]
                    slope.append("%.1f" % ((b - a) / ((hi - lo) * 256)))
                print("  %8s %12s %12s %12s" % ("per page", *slope))
        print("(per page: (figure at the largest size - figure at the smallest) / the pages between;\n"
              " consoles: %s/bench/sweep-*.log)" % build)
    if "markdown" in parts:
        markdown(single, sweep)
    print("results: %s" % tsv)
    return 0


def markdown(single, sweep):
    """The tables of docs/benchmarks.md ("Issue 15"), from the same figures."""
    linux = dict(single["linux"])
    print("| bench.rs, one CPU | teachos | Linux 6.1 | teachos / Linux |")
    print("|---|---:|---:|---:|")
    for fig, v in single["teachos"]:
        print("| %s | %s | %s | %s |" % (fig, group(v), group(linux.get(fig)), ratio(v, linux.get(fig))))
    print()
    sizes = sorted({s for k in sweep for (_, s) in sweep[k]})
    heads = " | ".join("%s %s" % (m, n) for m in ("fork", "exit", "COW/page") for n in ("teachos", "ODF", "Linux"))
    print("| MiB | %s |" % heads)
    print("|---:|%s" % ("---:|" * 9))
    for size in sizes:
        cells = []
        for metric, _ in SWEEP_METRICS:
            for k, _ in KERNELS:
                v = sweep[k].get((metric, size))
                cells.append(group(v))
        print("| %d | %s |" % (size, " | ".join(cells)))


if __name__ == "__main__":
    sys.exit(main())
