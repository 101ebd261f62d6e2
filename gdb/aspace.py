"""Pictures of user address spaces, and the page-table entry of an address, for gdb.

Owns:
  aspace-svg FILE [TID [TID2]] [--title=TEXT] [--mark=VA:LABEL]...
      writes an SVG of one or two tasks' address spaces: their VMAs (Linux
      `vm_area_struct`s) as bands, the page-table pages of each level (L0-L3) they use,
      every present page as a box coloured by what a write to it does (private writable,
      copy-on-write, read-only, MAP_SHARED), the frame it maps with the frame's reference
      count, and lines joining two tasks' pages that map the same frame; --mark labels
      the page of VA (e.g. --mark=0x404000:COW_PAGE).
  $pte_addr(VA [, TID])
      the kernel virtual address of the level-3 entry mapping VA in TID's table (default:
      the task running), for `watch` (docs/reverse-debugging.md).
Mirrors what Linux shows in /proc/PID/maps and /proc/PID/pagemap (and the kpagecount
file's per-frame count), read here straight from the kernel's own structures: TASKS ->
Task.inner.mm (Arc<Mm>) -> Mm.space (AddressSpace: the VMA tree `vmas`, the table root
`pt.root`), the tables through the linear map, FRAMES.refcount. Needs gdb/teachos.py
loaded first (`source gdb/teachos.py`): its readers of tasks, Arcs and frames are used
here, not copied. docs/address-space-pictures.md shows the pictures of a fork.
"""

import collections
import html

import gdb

import __main__ as teachos  # gdb runs sourced scripts in __main__: teachos.py's readers

for _needed in ("all_tasks", "find_task", "task_mm", "mm_root", "frame_refcount", "option",
                "mutex", "task_inner", "read_u64", "kernel_view", "KERNEL_VA_OFFSET"):
    if not hasattr(teachos, _needed):
        raise gdb.GdbError("gdb/aspace.py needs gdb/teachos.py loaded first (source gdb/teachos.gdb)")

PAGE = 4096
ADDR_MASK = 0x0000FFFFFFFFF000
# Descriptor bits (arch/aarch64/pte.rs): AP[2] read-only, software COW and SHARED marks.
PTE_RO, PTE_COW, PTE_SHARED, PTE_UXN = 1 << 7, 1 << 55, 1 << 56, 1 << 54
# Prot and VmFlags bits (mm/addr_space.rs).
PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
VM_SHARED = 1
# mm/addr_space.rs STACK_TOP: the initial stack's VMA ends there.
STACK_TOP = 0x0000_FFFF_FFFF_0000


def table_words(pa):
    """The 512 descriptors of the table in frame pa, read through the linear map."""
    raw = bytes(gdb.selected_inferior().read_memory(teachos.KERNEL_VA_OFFSET + pa, PAGE))
    return [int.from_bytes(raw[i:i + 8], "little") for i in range(0, PAGE, 8)]


def walk_tree(root):
    """Every table page and every leaf of the tree rooted at `root`:
    (tables [(level, pa, first VA it covers, parent table pa or None)],
     leaves [(va, size, descriptor, kernel VA of the descriptor)])."""
    tables, leaves = [], []

    def visit(level, pa, base, parent):
        tables.append((level, pa, base, parent))
        shift = 39 - 9 * level
        for idx, e in enumerate(table_words(pa)):
            if not e & 1:
                continue
            va = base + (idx << shift)
            if level < 3 and e & 3 == 3:
                visit(level + 1, e & ADDR_MASK, va, pa)
            else:
                leaves.append((va, 1 << shift, e, teachos.KERNEL_VA_OFFSET + pa + 8 * idx))

    visit(0, root, 0, None)
    return tables, leaves


def leaf_entry_addr(root, va):
    """The kernel VA of the level-3 descriptor for va, or None if a level above is missing."""
    table = root
    for level in range(4):
        idx = (va >> (39 - 9 * level)) & 511
        addr = teachos.KERNEL_VA_OFFSET + table + 8 * idx
        if level == 3:
            return addr
        e = teachos.read_u64(addr)
        if e & 3 != 3:
            return None
        table = e & ADDR_MASK
    return None


def bitflags_value(v):
    """The integer inside a bitflags 2 struct (Prot(InternalBitFlags(n)))."""
    return int(v["__0"]["__0"])


def read_vmas(space):
    """[(start, end, prot, shared)] of an AddressSpace's VMA tree, by address."""
    kids = list(gdb.default_visualizer(space["vmas"]).children())
    out = []
    for i in range(0, len(kids), 2):  # the BTreeMap provider yields key, value, ...
        area = kids[i + 1][1]
        out.append((int(kids[i][1]), int(area["end"]), bitflags_value(area["prot"]),
                    bool(bitflags_value(area["flags"]) & VM_SHARED)))
    return sorted(out)


def vma_name(start, end, prot, space, exe):
    """The VMA's name as /proc/PID/maps prints it (proc/maps.rs): [vdso], [vvar], [stack],
    [heap] for anonymous memory from the brk start on; the program's own segments (which
    maps names by the file's path) by the task's name and what the segment holds."""
    vdso = int(space["vdso_base"])
    brk_start, brk = int(space["brk_start"]), int(space["brk"])
    if vdso and start == vdso:
        return "[vdso]"
    if vdso and end == vdso:
        return "[vvar]"
    if end == STACK_TOP:
        return "[stack]"
    if brk_start and brk_start <= start <= brk:
        return "[heap]"
    if prot & PROT_EXEC:
        return exe + " (text)"
    if prot & PROT_WRITE:
        return exe + " (data, bss)"
    return exe + " (read-only data)"


def perm_string(prot, shared):
    return "%s%s%s%s" % ("r" if prot & PROT_READ else "-", "w" if prot & PROT_WRITE else "-",
                         "x" if prot & PROT_EXEC else "-", "s" if shared else "p")


def page_kind(e):
    """What a write to the page does: the picture's colour key."""
    if e & PTE_SHARED:
        return "shared"
    if e & PTE_COW:
        return "cow"
    if e & PTE_RO:
        return "ro"
    return "rw"


Vma = collections.namedtuple("Vma", "start end prot shared name")
# A present page: its address, the frame, the level-3 descriptor, the frame's count.
Page = collections.namedtuple("Page", "va frame entry count")


def snapshot(task):
    """Everything the picture shows of one task, read from the kernel."""
    mm = teachos.task_mm(task)
    if mm is None:
        raise gdb.GdbError("task %d has no user address space" % int(task["tid"]))
    space = teachos.option(teachos.mutex(mm["space"]))
    root = teachos.mm_root(mm)
    name = teachos.task_inner(task)["name"].format_string().strip('"')
    tables, leaves = walk_tree(root)
    vmas = [Vma(s, e, p, sh, vma_name(s, e, p, space, name)) for s, e, p, sh in read_vmas(space)]
    pages = [Page(va, e & ADDR_MASK, e, teachos.frame_refcount(e & ADDR_MASK))
             for va, _, e, _ in sorted(leaves)]
    return {"tid": int(task["tid"]), "name": name, "asid": int(mm["asid"]), "root": root,
            "tables": tables, "vmas": vmas, "pages": pages}


# ---- drawing -------------------------------------------------------------------------

COLOURS = {  # fill, stroke, legend
    "rw": ("#c8f0c8", "#2e7d32", "private, writable: a write just writes"),
    "cow": ("#ffd9a8", "#e65100", "copy-on-write (RO + COW bit): a write the VMA allows faults; a copy if count > 1"),
    "ro": ("#cfe0ff", "#1a4fa3", "read-only, no COW bit: shared as it is, never copied"),
    "shared": ("#e6ccff", "#6a1b9a", "MAP_SHARED: writable in both, same frame"),
}
# Monospace, so that equal-width address columns line up; fixed geometry, so that the
# picture of the same run is the same file (make test compares them).
FONT = "font-family:DejaVu Sans Mono,monospace"
COL_W = 510
GUTTER = 150
MARGIN = 20
ROW = 20
INDENT = 14  # a page's box, under its VMA's band
MARK_W = 110
CHAR_W = 6.7  # the advance of an 11 px monospace character, to size the key
TABLE_BOX_W, TABLE_BOX_H = 104, 30
# Every user page has these; the picture shows only the bits that tell pages apart.
COMMON_BITS = ("VALID", "USER", "AF", "nG", "PXN")


class Svg:
    def __init__(self):
        self.items = []

    def rect(self, x, y, w, h, fill, stroke, rx=3):
        self.items.append('<rect x="%d" y="%d" width="%d" height="%d" rx="%d" fill="%s" stroke="%s"/>'
                          % (x, y, w, h, rx, fill, stroke))

    def text(self, x, y, s, size=11, anchor="start", weight="normal", fill="#000"):
        self.items.append('<text x="%d" y="%d" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>'
                          % (x, y, size, anchor, weight, fill, html.escape(s)))

    def line(self, x1, y1, x2, y2, stroke, width=1.2):
        self.items.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%.1f"/>'
                          % (x1, y1, x2, y2, stroke, width))

    def render(self, width, height):
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" style="%s">\n'
                '<rect width="100%%" height="100%%" fill="#ffffff"/>\n%s\n</svg>\n'
                % (width, height, width, height, FONT, "\n".join(self.items)))


def draw_header(svg, x, y, proc):
    svg.text(x, y + 14, "task %d (%s)  TTBR0 %#x  ASID %d"
             % (proc["tid"], proc["name"], proc["root"], proc["asid"]), size=13, weight="bold")
    svg.text(x, y + 34, "page-table pages (%d):" % len(proc["tables"]), fill="#333")


def draw_tables(svg, x, y, proc):
    """The table pages, one row per level, each joined to the table that points at it.
    Returns the y below them."""
    pos = {}
    for level in range(4):
        row = [t for t in proc["tables"] if t[0] == level]
        by = y + level * (TABLE_BOX_H + 12)
        svg.text(x, by + 19, "L%d" % level, weight="bold")
        for i, (_, pa, base, parent) in enumerate(row):
            bx = x + 28 + i * (TABLE_BOX_W + 8)
            if bx + TABLE_BOX_W > x + COL_W:
                svg.text(bx, by + 19, "+%d more" % (len(row) - i))
                break
            svg.rect(bx, by, TABLE_BOX_W, TABLE_BOX_H, "#f4f4f4", "#555")
            svg.text(bx + TABLE_BOX_W // 2, by + 12, "%#x" % pa, size=10, anchor="middle")
            svg.text(bx + TABLE_BOX_W // 2, by + 25, "VA %#x" % base, size=9, anchor="middle", fill="#555")
            pos[pa] = (bx, by)
            if parent in pos:
                px, py = pos[parent]
                svg.line(px + TABLE_BOX_W // 2, py + TABLE_BOX_H, bx + TABLE_BOX_W // 2, by, "#777")
    return y + 4 * (TABLE_BOX_H + 12)


def layout_rows(procs):
    """The rows of the VMA section: a band per VMA, then a row per page. Tasks with the
    same VMAs (a parent and its forked child) share the rows, so that equal addresses line
    up and a page one of them lacks shows as "not present"; otherwise each column gets the
    rows of its own VMAs and pages. Returns a list of rows per task."""
    spans = [[(v.start, v.end) for v in p["vmas"]] for p in procs]
    groups = [procs] * len(procs) if all(sp == spans[0] for sp in spans) else [[p] for p in procs]
    out = []
    for group in groups:
        rows = []
        for start, end in sorted({(v.start, v.end) for p in group for v in p["vmas"]}):
            rows.append(("vma", start, end))
            vas = sorted({pg.va for p in group for pg in p["pages"] if start <= pg.va < end})
            rows.extend(("page", va, None) for va in vas)
        out.append(rows)
    return out


def draw_vma_band(svg, x, y, proc, start, end):
    vma = next((v for v in proc["vmas"] if (v.start, v.end) == (start, end)), None)
    if vma is None:
        svg.text(x, y + 14, "(no VMA %#x-%#x)" % (start, end), fill="#999")
        return
    svg.rect(x, y, COL_W, ROW, "#eceff1", "#90a4ae")
    svg.text(x + 6, y + 14, "%#014x-%#014x %s %s" % (start, end, perm_string(vma.prot, vma.shared), vma.name),
             weight="bold")
    present = sum(1 for pg in proc["pages"] if start <= pg.va < end)
    svg.text(x + COL_W - 6, y + 14, "%d/%d pages" % (present, (end - start) // PAGE),
             anchor="end", size=10, fill="#455a64")


def draw_page(svg, x, y, proc, va):
    """The page's box; False if the task has no page there."""
    pg = next((p for p in proc["pages"] if p.va == va), None)
    if pg is None:
        svg.text(x + INDENT + 6, y + 14, "%#014x  not present" % va, fill="#999", size=10)
        return False
    fill, stroke, _ = COLOURS[page_kind(pg.entry)]
    svg.rect(x + INDENT, y, COL_W - INDENT, ROW - 2, fill, stroke)
    flags = " ".join(f for f in teachos.decode_flags(pg.entry).split() if f not in COMMON_BITS)
    svg.text(x + INDENT + 6, y + 13, "%#014x -> frame %#010x  %s" % (va, pg.frame, flags), size=10)
    svg.text(x + COL_W - 6, y + 13, "count %s" % pg.count, anchor="end", size=10,
             weight="bold" if (pg.count or 0) > 1 else "normal")
    return True


def draw_shared_frames(svg, xs, procs, page_y):
    """A line between each pair of pages, in neighbouring columns, that map one frame."""
    for i in range(len(procs) - 1):
        right = {}
        for pg in procs[i + 1]["pages"]:
            right.setdefault(pg.frame, []).append(pg.va)
        for pg in procs[i]["pages"]:
            for rva in right.get(pg.frame, []):
                ly, ry = page_y[(i, pg.va)], page_y[(i + 1, rva)]
                x1, x2 = xs[i] + COL_W, xs[i + 1] + INDENT
                colour = COLOURS[page_kind(pg.entry)][1]
                svg.line(x1, ly, x2, ry, colour, width=1.6)
                svg.text((x1 + x2) // 2, (ly + ry) // 2 - 3, "same frame, count %s" % pg.count,
                         size=9, anchor="middle", fill=colour)


KEY_NOTE = ("count: the frame's reference count (FRAMES.refcount, Linux page_count);",
            "a line joins two tasks' pages that map the same frame.")


def draw_key(svg, y):
    """The colour key; returns (the y below it, its width)."""
    svg.text(MARGIN, y, "Key (a page's colour says what a write to it does):", weight="bold")
    width = 0
    for kind in ("rw", "cow", "ro", "shared"):
        y += 20
        fill, stroke, text = COLOURS[kind]
        svg.rect(MARGIN, y - 12, 28, 15, fill, stroke)
        svg.text(MARGIN + 36, y, text)
        width = max(width, 36 + len(text) * CHAR_W)
    for line in KEY_NOTE:
        y += 16
        svg.text(MARGIN, y, line, size=10, fill="#333")
    return y, width


def draw(procs, title, marks):
    """The SVG text: a column per task; `marks` {page VA: label} labels pages."""
    svg = Svg()
    xs = [MARGIN + i * (COL_W + GUTTER) for i in range(len(procs))]
    svg.text(MARGIN, 28, title, size=15, weight="bold")
    for x, p in zip(xs, procs):
        draw_header(svg, x, 50, p)
    y = max(draw_tables(svg, x, 94, p) for x, p in zip(xs, procs)) + 10
    page_y = {}  # (column, page VA) -> the middle of its box, for the shared-frame lines
    top, bottom = y, y
    for i, (x, p, rows) in enumerate(zip(xs, procs, layout_rows(procs))):
        y = top
        for kind, start, end in rows:
            if kind == "vma":
                draw_vma_band(svg, x, y + 8, p, start, end)
                y += 8 + ROW + 4
                continue
            if draw_page(svg, x, y, p, start):
                page_y[(i, start)] = y + (ROW - 2) // 2
                if start in marks and i == len(procs) - 1:  # right of the last column
                    svg.text(x + COL_W + 6, y + 13, "<- " + marks[start], weight="bold", fill="#b71c1c")
            y += ROW
        bottom = max(bottom, y)
    y = bottom
    draw_shared_frames(svg, xs, procs, page_y)
    y, key_width = draw_key(svg, y + 24)
    width = max(xs[-1] + COL_W + (MARK_W if marks else 0), MARGIN + int(key_width)) + MARGIN
    return svg.render(width, y + MARGIN)


class AspaceSvg(gdb.Command):
    """aspace-svg FILE [TID [TID2]] [--title=TEXT] [--mark=VA:LABEL]...: an SVG picture of one or two tasks'
address spaces (VMAs, page-table pages, present pages with their frames and counts, lines
between pages that share a frame; --mark labels VA's page). TID defaults to the task running."""

    def __init__(self):
        super().__init__("aspace-svg", gdb.COMMAND_USER)

    @teachos.kernel_view
    def invoke(self, arg, from_tty):
        argv = gdb.string_to_argv(arg)
        title, marks = None, {}
        for a in list(argv):
            if a.startswith("--title="):
                title = a[len("--title="):]
                argv.remove(a)
            elif a.startswith("--mark=") and ":" in a:
                va, label = a[len("--mark="):].split(":", 1)
                marks[int(gdb.parse_and_eval(va)) & ~(PAGE - 1)] = label
                argv.remove(a)
        if not 1 <= len(argv) <= 3:
            raise gdb.GdbError("usage: aspace-svg FILE [TID [TID2]] [--title=TEXT] [--mark=VA:LABEL]...")
        path = argv[0]
        tids = [int(gdb.parse_and_eval(a)) for a in argv[1:]] or [None]
        procs = [snapshot(teachos.find_task(t)) for t in tids]
        if title is None:
            title = "Address space%s of %s" % ("s" if len(procs) > 1 else "",
                                                " and ".join("task %d" % p["tid"] for p in procs))
        with open(path, "w") as f:
            f.write(draw(procs, title, marks))
        shared = 0
        if len(procs) == 2:
            shared = len({p.frame for p in procs[0]["pages"]} & {p.frame for p in procs[1]["pages"]})
        print("aspace-svg: %s: %s; %s frames mapped by both" % (path, "; ".join(
            "task %d: %d VMAs, %d table pages, %d pages" % (p["tid"], len(p["vmas"]), len(p["tables"]),
                                                           len(p["pages"])) for p in procs), shared))


class PteAddr(gdb.Function):
    """$pte_addr(VA [, TID]): the kernel address of the level-3 entry that maps VA in TID's
page table (default: the running task), e.g. `watch *($pte_addr(0x404000, 1) as *mut u64)`."""

    def __init__(self):
        super().__init__("pte_addr")

    def invoke(self, va, tid=None):
        task = teachos.find_task(None if tid is None else int(tid))
        mm = teachos.task_mm(task)
        if mm is None:
            raise gdb.GdbError("task %d has no user address space" % int(task["tid"]))
        addr = leaf_entry_addr(teachos.mm_root(mm), int(va))
        if addr is None:
            raise gdb.GdbError("no level-3 table for %#x in task %d" % (int(va), int(task["tid"])))
        return gdb.Value(addr).cast(gdb.lookup_type("u64"))


AspaceSvg()
PteAddr()
