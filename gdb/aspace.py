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
    """The name /proc/PID/maps would print (proc/maps.rs), or the program's name with
    what its segment holds."""
    vdso = int(space["vdso_base"])
    brk_start, brk = int(space["brk_start"]), int(space["brk"])
    if vdso and start == vdso:
        return "[vdso]"
    if vdso and end == vdso:
        return "[vvar]"
    if end == STACK_TOP:
        return "[stack]"
    if brk_start and start <= brk and end >= brk_start and start >= brk_start:
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


def snapshot(task):
    """Everything the picture shows of one task, read from the kernel."""
    mm = teachos.task_mm(task)
    if mm is None:
        raise gdb.GdbError("task %d has no user address space" % int(task["tid"]))
    space = teachos.option(teachos.mutex(mm["space"]))
    root = teachos.mm_root(mm)
    name = teachos.task_inner(task)["name"].format_string().strip('"')
    tables, leaves = walk_tree(root)
    vmas = [(s, e, p, sh, vma_name(s, e, p, space, name)) for s, e, p, sh in read_vmas(space)]
    pages = [(va, e & ADDR_MASK, e, teachos.frame_refcount(e & ADDR_MASK), addr)
             for va, size, e, addr in sorted(leaves)]
    return {"tid": int(task["tid"]), "name": name, "asid": int(mm["asid"]), "root": root,
            "tables": tables, "vmas": vmas, "pages": pages}


# ---- drawing -------------------------------------------------------------------------

COLOURS = {  # fill, stroke, legend
    "rw": ("#c8f0c8", "#2e7d32", "private, writable: a write just writes"),
    "cow": ("#ffd9a8", "#e65100", "copy-on-write (RO + COW bit): a write faults; copied if the frame's count > 1, else made writable"),
    "ro": ("#cfe0ff", "#1a4fa3", "read-only (text, rodata, vDSO): shared as it is, never copied"),
    "shared": ("#e6ccff", "#6a1b9a", "MAP_SHARED: writable in both, same frame"),
}
FONT = "font-family:DejaVu Sans Mono,monospace"
COL_W = 510
GUTTER = 150
MARGIN = 20
ROW = 20
TABLE_BOX_W, TABLE_BOX_H = 104, 30


class Svg:
    def __init__(self):
        self.items = []

    def rect(self, x, y, w, h, fill, stroke, rx=3):
        self.items.append('<rect x="%d" y="%d" width="%d" height="%d" rx="%d" fill="%s" stroke="%s"/>'
                          % (x, y, w, h, rx, fill, stroke))

    def text(self, x, y, s, size=11, anchor="start", weight="normal", fill="#000"):
        self.items.append('<text x="%d" y="%d" font-size="%d" text-anchor="%s" font-weight="%s" fill="%s">%s</text>'
                          % (x, y, size, anchor, weight, fill, html.escape(s)))

    def line(self, x1, y1, x2, y2, stroke, width=1.2, dash=None):
        self.items.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="%.1f"%s/>'
                          % (x1, y1, x2, y2, stroke, width,
                             ' stroke-dasharray="%s"' % dash if dash else ""))

    def render(self, width, height):
        return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" style="%s">\n'
                '<rect width="100%%" height="100%%" fill="#ffffff"/>\n%s\n</svg>\n'
                % (width, height, width, height, FONT, "\n".join(self.items)))


def draw_tables(svg, x, y, proc):
    """The table pages, one row per level, each joined to the table that points at it."""
    pos = {}
    for level in range(4):
        row = [t for t in proc["tables"] if t[0] == level]
        svg.text(x, y + level * (TABLE_BOX_H + 12) + 19, "L%d" % level, weight="bold")
        for i, (_, pa, base, parent) in enumerate(row):
            bx = x + 28 + i * (TABLE_BOX_W + 8)
            by = y + level * (TABLE_BOX_H + 12)
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
    """The rows of the VMA section, shared by every column so that equal addresses line
    up: a header per VMA (of any task), then one row per page present in any task."""
    rows = []
    spans = sorted({(s, e) for p in procs for (s, e, _, _, _) in p["vmas"]})
    for s, e in spans:
        rows.append(("vma", s, e))
        vas = sorted({va for p in procs for (va, *_rest) in p["pages"] if s <= va < e})
        rows.extend(("page", va, None) for va in vas)
    return rows


def draw(procs, title, marks):
    svg = Svg()
    # The last column's right margin holds the --mark labels.
    width = MARGIN * 2 + COL_W * len(procs) + GUTTER * (len(procs) - 1) + (110 if marks else 0)
    svg.text(MARGIN, 28, title, size=15, weight="bold")
    y0 = 50
    xs = [MARGIN + i * (COL_W + GUTTER) for i in range(len(procs))]
    for x, p in zip(xs, procs):
        svg.text(x, y0 + 14, "task %d (%s)  TTBR0 %#x  ASID %d" % (p["tid"], p["name"], p["root"], p["asid"]),
                 size=13, weight="bold")
        svg.text(x, y0 + 34, "page-table pages (%d):" % len(p["tables"]), fill="#333")
    ty = max(draw_tables(svg, x, y0 + 44, p) for x, p in zip(xs, procs)) + 10
    rows = layout_rows(procs)
    page_y = {}  # (column, va) -> the row's y, to join shared frames
    y = ty
    for kind, s, e in rows:
        if kind == "vma":
            y += 8
            for i, (x, p) in enumerate(zip(xs, procs)):
                v = [m for m in p["vmas"] if (m[0], m[1]) == (s, e)]
                if not v:
                    svg.text(x, y + 14, "(no VMA %#x-%#x)" % (s, e), fill="#999")
                    continue
                _, _, prot, shared, name = v[0]
                svg.rect(x, y, COL_W, ROW, "#eceff1", "#90a4ae")
                svg.text(x + 6, y + 14, "%#014x-%#014x %s %s" % (s, e, perm_string(prot, shared), name),
                         weight="bold")
                present = sum(1 for pg in p["pages"] if s <= pg[0] < e)
                svg.text(x + COL_W - 6, y + 14, "%d/%d pages" % (present, (e - s) // PAGE),
                         anchor="end", size=10, fill="#455a64")
            y += ROW + 4
        else:
            for i, (x, p) in enumerate(zip(xs, procs)):
                pg = [q for q in p["pages"] if q[0] == s]
                if not pg:
                    svg.text(x + 20, y + 14, "%#014x  not present" % s, fill="#999", size=10)
                    continue
                va, pa, ent, count, _ = pg[0]
                fill, stroke, _ = COLOURS[page_kind(ent)]
                svg.rect(x + 14, y, COL_W - 14, ROW - 2, fill, stroke)
                # The bits that differ between user pages (every one is VALID USER AF nG PXN).
                flags = " ".join(f for f in teachos.decode_flags(ent).split()
                                 if f not in ("VALID", "USER", "AF", "nG", "PXN"))
                svg.text(x + 20, y + 13, "%#014x -> frame %#010x  %s" % (va, pa, flags), size=10)
                svg.text(x + COL_W - 6, y + 13, "count %s" % count, anchor="end", size=10,
                         weight="bold" if (count or 0) > 1 else "normal")
                if va in marks and i == len(procs) - 1:
                    svg.text(x + COL_W + 6, y + 13, "<- " + marks[va], weight="bold", fill="#b71c1c")
                page_y[(i, va)] = (y + (ROW - 2) // 2, pa, count)
            y += ROW
    # Two columns: a line for each pair of pages mapping one frame, the count on it.
    for i in range(len(procs) - 1):
        left, right = procs[i], procs[i + 1]
        rframes = {}
        for va, pa, *_rest in right["pages"]:
            rframes.setdefault(pa, []).append(va)
        for va, pa, ent, count, _ in left["pages"]:
            for rva in rframes.get(pa, []):
                ly, _, _ = page_y[(i, va)]
                ry, _, _ = page_y[(i + 1, rva)]
                x1, x2 = xs[i] + COL_W, xs[i + 1] + 14
                colour = COLOURS[page_kind(ent)][1]
                svg.line(x1, ly, x2, ry, colour, width=1.6)
                svg.text((x1 + x2) // 2, (ly + ry) // 2 - 3, "same frame, count %s" % count,
                         size=9, anchor="middle", fill=colour)
    y += 24
    svg.text(MARGIN, y, "Key (a page's colour says what a write to it does):", weight="bold")
    for kind in ("rw", "cow", "ro", "shared"):
        y += 20
        fill, stroke, text = COLOURS[kind]
        svg.rect(MARGIN, y - 12, 28, 15, fill, stroke)
        svg.text(MARGIN + 36, y, text)
    y += 20
    svg.text(MARGIN, y, "count: the frame's reference count (FRAMES.refcount, Linux page_count); "
             "lines join pages of two tasks that map the same frame.", size=10, fill="#333")
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
            shared = len({p[1] for p in procs[0]["pages"]} & {p[1] for p in procs[1]["pages"]})
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
