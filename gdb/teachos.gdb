# Loaded by `make gdb`: the toolchain's Rust pretty-printers, then the teachos helpers.
# `python sys.path` gets the rustlib etc/ directory from the Makefile (RUST_GDB_DIR).
set pagination off
set confirm off
set print pretty off
python
import os, sys
d = os.environ.get("RUST_GDB_DIR")
if d and d not in sys.path:
    sys.path.insert(0, d)
    gdb.execute("source " + os.path.join(d, "gdb_load_rust_pretty_printers.py"))
end
source gdb/teachos.py
# Rust paths in breakpoints: break kernel::task::fork::copy_process
set language rust
echo teachos gdb helpers: tasks, cpus, ptwalk VA [TID], uframe [TID], fpregs [TID], cowbreak VA\n
echo \ \ see docs/gdb-walkthrough.md, and docs/debugging-smp.md for several CPUs (make gdb CPUS=4)\n
