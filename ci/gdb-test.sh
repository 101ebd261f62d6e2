#!/usr/bin/env bash
# gdb-multiarch in batch mode against QEMU running fork_basic: breaks at ret_from_fork and
# checks the child's TrapFrame, the task list and a COW page in parent and child.
# QEMU is always killed (trap), and a gdb script error fails the test.
#   usage: gdb-test.sh TARGET_DIR BUILD_DIR LOG
set -uo pipefail
out=$1 build=$2 log=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
qpid=
trap 'kill $qpid 2>/dev/null; wait $qpid 2>/dev/null' EXIT
qemu_start_halted "$build/gdb-test-console.log" "semihosting init=/bin/forkdemo" || { echo "QEMU did not start"; exit 1; }
timeout 120 gdb-multiarch -q -nx -batch "$build/kernel" \
  -x gdb/teachos.gdb -ex "python USER_ELF = \"$out/forkdemo\"" -ex "target remote 127.0.0.1:$port" -x "$here/gdb-check.py" -ex kill >"$log" 2>&1
grep -q '^gdb-check: PASS$' "$log" && ! grep -qE 'Traceback|Python Exception|^Error' "$log"
