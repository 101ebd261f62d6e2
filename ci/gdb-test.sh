#!/usr/bin/env bash
# gdb-multiarch in batch mode against QEMU running a user program as init, driven by a
# Python check script that prints "<name>: PASS" only if every check held. By default
# ci/gdb-check.py on forkdemo: breaks at ret_from_fork and checks the child's TrapFrame,
# the task list and a COW page in parent and child. QEMU is always killed (trap), and a
# gdb script error fails the test. ci/gdb_check.py (run, check, reg) is sourced first. QEMU has GDB_CPUS CPUs (default 1, as `make gdb`).
#   usage: [GDB_CPUS=n] gdb-test.sh TARGET_DIR BUILD_DIR LOG [PROGRAM CHECK_SCRIPT]
set -uo pipefail
out=$1 build=$2 log=$3 prog=${4:-forkdemo} check=${5:-gdb-check.py}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
qpid=
trap 'kill $qpid 2>/dev/null; wait $qpid 2>/dev/null' EXIT
qemu_start_halted "$build/gdb-test-$prog-console.log" "semihosting init=/bin/$prog" || { echo "QEMU did not start"; exit 1; }
timeout 120 gdb-multiarch -q -nx -batch "$build/kernel" \
  -x gdb/teachos.gdb -ex "python USER_ELF = \"$out/$prog\"" \
  -ex "python CHECK_NAME = \"${check%.py}\"" -x "$here/gdb_check.py" -ex "target remote 127.0.0.1:$port" -x "$here/$check" -ex kill >"$log" 2>&1
grep -q "^${check%.py}: PASS$" "$log" && ! grep -qE 'Traceback|Python Exception|^Error' "$log"
