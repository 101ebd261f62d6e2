#!/usr/bin/env python3
"""`make bench-plots`: docs/pictures/bench/*.svg from the last `make bench` (ci/bench.sh).

usage: bench_plots.py BENCH_DIR OUT_DIR
         reads BENCH_DIR/results.tsv (ci/bench_report.py) and BENCH_DIR/fork-profile.tsv
         (ci/profile.py) and writes, in OUT_DIR:
           sweep-fork.svg, sweep-exit.svg, sweep-cow.svg   cost against resident size,
               one line each for teachos, teachos with fork=odf, and Linux 6.1
           single.svg    bench.rs's figures, teachos next to Linux (logarithmic scale)
           fork-profile.svg, fork-profile-linux.svg   the top functions of a small
               fork+exit+wait (bench_sweep profile 0 10), on teachos and on Linux
       bench_plots.py --profile PROFILE_TSV OUT_SVG TITLE
         only the profile chart (ci/profile.sh, PROFILE_SVG=...)
The SVG is written by hand (no plotting library): plain shapes and text, the house style
of docs/pictures (white background, monospace). Python 3 standard library only."""
import html
import math
import os
import sys

FONT = "DejaVu Sans Mono,monospace"
COLORS = {"teachos": "#1e88e5", "teachos-odf": "#43a047", "linux": "#e53935"}
NAMES = {"teachos": "teachos (classic fork)", "teachos-odf": "teachos, fork=odf", "linux": "Linux 6.1"}
SWEEP = [
    ("fork", "fork(): the parent's system call, by resident size", "instructions"),
    ("exit", "exit: the child's exit_group until the parent's wait4 returns", "instructions"),
    ("cow", "COW write fault after fork, per page", "instructions per page"),
]


def esc(s):
    return html.escape(str(s), quote=True)


def group(v):
    return "{:,}".format(int(round(v)))


def short(v):
    """1234567 -> 1.23M (axis labels)."""
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if v >= div:
            s = "%.2f" % (v / div)
            return s.rstrip("0").rstrip(".") + suffix
    return "%d" % v


def svg_open(w, h, title, subtitle):
    return ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
            'style="font-family:%s">' % (w, h, w, h, FONT),
            '<rect width="100%" height="100%" fill="#ffffff"/>',
            '<text x="20" y="26" font-size="15" font-weight="bold" fill="#000">%s</text>' % esc(title),
            '<text x="20" y="44" font-size="11" fill="#555">%s</text>' % esc(subtitle)]


def nice_ceiling(v):
    """A round axis maximum at or above v."""
    if v <= 0:
        return 1
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * e >= v:
            return m * e
    return 10 * e


def read_results(path):
    meta, rows = "", []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                meta = line[1:].strip()
            elif line and not line.startswith("part\t"):
                part, fig, size, kernel, value = line.split("\t")
                rows.append((part, fig, size, kernel, int(value)))
    return meta, rows


def commit_of(meta):
    return meta.split("commit ")[-1] if "commit " in meta else "?"


def line_chart(metric, title, unit, rows, meta):
    """One metric of the sweep: x = resident MiB, y = instructions, a line per kernel."""
    series = {}
    for part, fig, size, kernel, value in rows:
        if part == "sweep" and fig == metric:
            series.setdefault(kernel, []).append((int(size), value))
    W, H, L, R, T, B = 820, 440, 90, 250, 70, 60
    out = svg_open(W, H, title, "guest instructions under -icount shift=0, one CPU, user/src/bin/bench_sweep.rs; "
                   "commit %s" % commit_of(meta))
    if not series:
        out.append('<text x="%d" y="%d" font-size="13">no results</text></svg>' % (L, T + 40))
        return "\n".join(out) + "\n"
    xmax = max(s for pts in series.values() for s, _ in pts) or 1
    ymax = nice_ceiling(max(v for pts in series.values() for _, v in pts))
    pw, ph = W - L - R, H - T - B

    def X(s):
        return L + pw * s / xmax

    def Y(v):
        return T + ph - ph * v / ymax

    for i in range(6):  # horizontal grid
        v = ymax * i / 5
        out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e0e0e0"/>' % (L, L + pw, Y(v), Y(v)))
        out.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end" fill="#333">%s</text>'
                   % (L - 6, Y(v) + 4, short(v)))
    sizes = sorted({s for pts in series.values() for s, _ in pts})
    for s in sizes:
        if s == 0 or s >= xmax / 16:
            out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#f0f0f0"/>' % (X(s), X(s), T, T + ph))
            out.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#333">%d</text>'
                       % (X(s), T + ph + 14, s))
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#555"/>' % (L, L + pw, T + ph, T + ph))
    out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#555"/>' % (L, L, T, T + ph))
    out.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">resident size (MiB)</text>'
               % (L + pw / 2, T + ph + 32))
    out.append('<text x="16" y="%.1f" font-size="11" transform="rotate(-90 16 %.1f)" text-anchor="middle">%s</text>'
               % (T + ph / 2, T + ph / 2, esc(unit)))
    ly = T + 10
    for kernel in ("teachos", "teachos-odf", "linux"):
        pts = sorted(series.get(kernel, []))
        if not pts:
            continue
        color = COLORS[kernel]
        dash = ' stroke-dasharray="6 3"' if kernel == "teachos-odf" else ""
        out.append('<polyline fill="none" stroke="%s" stroke-width="2"%s points="%s"/>'
                   % (color, dash, " ".join("%.1f,%.1f" % (X(s), Y(v)) for s, v in pts)))
        for s, v in pts:
            out.append('<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s, %d MiB: %s</title></circle>'
                       % (X(s), Y(v), color, esc(NAMES[kernel]), s, group(v)))
        last_s, last_v = pts[-1]
        out.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                   % (L + pw + 14, L + pw + 34, ly, ly, color, dash))
        out.append('<text x="%d" y="%d" font-size="11">%s</text>' % (L + pw + 40, ly + 4, esc(NAMES[kernel])))
        if len(pts) > 1 and metric != "cow":
            (s0, v0) = pts[0]
            slope = (last_v - v0) / ((last_s - s0) * 256) if last_s > s0 else 0
            detail = "%s at %d MiB; %.1f/page" % (short(last_v), last_s, slope)
        else:
            detail = "%s at %d MiB" % (group(last_v), last_s)
        out.append('<text x="%d" y="%d" font-size="10" fill="#555">%s</text>' % (L + pw + 40, ly + 18, esc(detail)))
        ly += 44
    out.append("</svg>")
    return "\n".join(out) + "\n"


def bar_chart(rows, meta):
    """bench.rs's figures: a pair of bars (teachos, Linux) per figure, log scale."""
    t = [(fig, v) for part, fig, _, k, v in rows if part == "single" and k == "teachos"]
    linux = {fig: v for part, fig, _, k, v in rows if part == "single" and k == "linux"}
    figs = [(fig, v, linux.get(fig)) for fig, v in t if v > 0]
    L, R, T, row = 400, 150, 80, 34
    W, H = 1000, T + row * max(len(figs), 1) + 60
    out = svg_open(W, H, "bench.rs: teachos next to Linux 6.1, the same binary",
                   "guest instructions (logarithmic scale) under -icount shift=0, one CPU; commit %s" % commit_of(meta))
    if not figs:
        out.append('<text x="20" y="%d" font-size="13">no results</text></svg>' % (T + 20))
        return "\n".join(out) + "\n"
    vmax = max(max(a, b or 0) for _, a, b in figs)
    top = 10 ** math.ceil(math.log10(vmax))
    pw = W - L - R

    def X(v):
        return L + pw * math.log10(max(v, 1)) / math.log10(top)

    for e in range(0, int(math.log10(top)) + 1):
        x = X(10 ** e)
        out.append('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#e0e0e0"/>' % (x, x, T - 6, T + row * len(figs)))
        out.append('<text x="%.1f" y="%d" font-size="10" text-anchor="middle" fill="#333">%s</text>'
                   % (x, T + row * len(figs) + 14, short(10 ** e)))
    for i, (fig, a, b) in enumerate(figs):
        y = T + i * row
        label = fig if len(fig) <= 52 else fig[:50] + ".."
        out.append('<text x="%d" y="%d" font-size="11" text-anchor="end">%s<title>%s</title></text>'
                   % (L - 8, y + 16, esc(label), esc(fig)))
        out.append('<rect x="%d" y="%d" width="%.1f" height="11" fill="%s"><title>teachos: %s</title></rect>'
                   % (L, y + 3, X(a) - L, COLORS["teachos"], group(a)))
        out.append('<text x="%.1f" y="%d" font-size="9" fill="#333">%s</text>' % (X(a) + 4, y + 12, group(a)))
        if b:
            out.append('<rect x="%d" y="%d" width="%.1f" height="11" fill="%s"><title>Linux: %s</title></rect>'
                       % (L, y + 15, X(b) - L, COLORS["linux"], group(b)))
            out.append('<text x="%.1f" y="%d" font-size="9" fill="#333">%s  (teachos/Linux %.2f)</text>'
                       % (X(b) + 4, y + 24, group(b), a / b))
    ly = H - 22
    for i, k in enumerate(("teachos", "linux")):
        out.append('<rect x="%d" y="%d" width="14" height="10" fill="%s"/>' % (L + i * 200, ly, COLORS[k]))
        out.append('<text x="%d" y="%d" font-size="11">%s</text>' % (L + i * 200 + 20, ly + 9,
                                                                   "teachos" if k == "teachos" else "Linux 6.1"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def profile_chart(tsv, title, top=20):
    header, rows = "", []
    with open(tsv) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                header = line[1:].strip()
            elif line and not line.startswith("function\t"):
                fn, mod, space, n = line.split("\t")
                rows.append((fn, mod, space, int(n)))
    total = sum(r[3] for r in rows) or 1
    shown = rows[:top]
    rest = total - sum(r[3] for r in shown)
    L, R, T, row = 330, 200, 70, 22
    W, H = 960, T + row * (len(shown) + 1) + 40
    out = svg_open(W, H, "Where the instructions go: %s" % title,
                   "%s; QEMU TCG plugin ci/profile/insn_count.c" % header)
    nmax = max([r[3] for r in shown] + [1])
    pw = W - L - R
    for i, (fn, mod, space, n) in enumerate(shown + [("(all the others)", "", "", rest)]):
        y = T + i * row
        color = "#90a4ae" if fn == "(all the others)" else ("#ffb74d" if space == "user" else COLORS["teachos"])
        name = fn if len(fn) <= 38 else fn[:36] + ".."
        out.append('<text x="%d" y="%d" font-size="11" text-anchor="end">%s<title>%s</title></text>'
                   % (L - 8, y + 13, esc(name + (" [user]" if space == "user" else "")), esc((mod + "::" if mod else "") + fn)))
        w = pw * min(n, nmax) / nmax
        out.append('<rect x="%d" y="%d" width="%.1f" height="14" fill="%s"/>' % (L, y + 2, max(w, 1), color))
        out.append('<text x="%.1f" y="%d" font-size="10" fill="#333">%s  %.1f%%%s</text>'
                   % (L + max(w, 1) + 5, y + 13, group(n), 100 * n / total,
                      ("  " + esc(mod[:30])) if mod else ""))
    out.append('<text x="20" y="%d" font-size="10" fill="#555">blue: kernel; orange: user space; total %s instructions</text>'
               % (H - 14, group(total)))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    print("wrote %s" % path)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--profile":
        write(sys.argv[3], profile_chart(sys.argv[2], sys.argv[4]))
        return 0
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    bench, outdir = sys.argv[1:3]
    os.makedirs(outdir, exist_ok=True)
    meta, rows = read_results(os.path.join(bench, "results.tsv"))
    for metric, title, unit in SWEEP:
        write(os.path.join(outdir, "sweep-%s.svg" % metric), line_chart(metric, title, unit, rows, meta))
    write(os.path.join(outdir, "single.svg"), bar_chart(rows, meta))
    for suffix, kernel in (("", "teachos"), ("-linux", "Linux 6.1")):
        prof = os.path.join(bench, "fork-profile%s.tsv" % suffix)
        if os.path.exists(prof):
            write(os.path.join(outdir, "fork-profile%s.svg" % suffix),
                  profile_chart(prof, "%s, fork+exit+wait x10 (commit %s)" % (kernel, commit_of(meta))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
