# Loaded by `make gdb`: the toolchain's Rust pretty-printers, the paths of the Rust
# standard library's sources, then the teachos helpers (gdb/teachos.py).
# The toolchain's rustlib etc/ directory comes from the Makefile (RUST_GDB_DIR) or, when
# gdb is started some other way (an editor, by hand from the project's directory), from
# `rustc --print sysroot`.
set pagination off
set confirm off
set print pretty off
python
import os, subprocess, sys
def _rustc(*args):
    try:
        return subprocess.run(["rustc"] + list(args), capture_output=True, text=True,
                              timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""
d = os.environ.get("RUST_GDB_DIR") or os.path.join(_rustc("--print", "sysroot").strip(), "lib/rustlib/etc")
if os.path.isdir(d) and d not in sys.path:
    sys.path.insert(0, d)
    gdb.execute("source " + os.path.join(d, "gdb_load_rust_pretty_printers.py"))
# core and alloc are compiled in the Rust project's CI, so their DWARF names files under
# /rustc/<commit>/library/...; the rust-src component (ci/setup.sh installs it) has the
# same files in the sysroot: `list`, `step` and `frame` into core show the source.
src = os.path.normpath(os.path.join(d, "..", "src", "rust"))
commit = [l.split(": ", 1)[1] for l in _rustc("-vV").splitlines() if l.startswith("commit-hash: ")]
if commit and os.path.isdir(os.path.join(src, "library")):
    gdb.execute("set substitute-path /rustc/%s %s" % (commit[0], src))
elif commit:
    print("teachos: no Rust library sources in %s (rustup component add rust-src)" % src)
end
source gdb/teachos.py
# aspace-svg FILE [TID [TID2]] and $pte_addr(VA [, TID]): pictures of address spaces
# (docs/address-space-pictures.md) and the reverse-debugging walkthrough's watchpoint.
source gdb/aspace.py
# trace-dump [N], trace-on CATEGORIES, trace-off: the kernel's trace ring (docs/tracing.md).
source gdb/trace.py
# Rust paths in breakpoints: break kernel::task::fork::copy_process
set language rust
echo teachos gdb helpers: tasks, cpus, ptwalk VA [TID], uframe [TID], fpregs [TID], cowbreak VA, aspace-svg FILE [TID [TID2]], trace-dump\n
echo \ \ see docs/gdb-walkthrough.md, and docs/debugging-smp.md for several CPUs (make gdb CPUS=4)\n
