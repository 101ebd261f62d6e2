#!/usr/bin/env bash
# gdb-multiarch in batch mode against QEMU running the fpsimd test: the fpregs helper
# shows a task's FP/SIMD registers, live in the CPU and from its save area (ci/gdb-fpsimd-check.py).
#   usage: gdb-fpsimd-test.sh TARGET_DIR BUILD_DIR LOG
set -uo pipefail
out=$1 build=$2 log=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
qpid=
trap 'kill $qpid 2>/dev/null; wait $qpid 2>/dev/null' EXIT
qemu_start_halted "$build/gdb-fpsimd-console.log" "semihosting init=/bin/fpsimd" || { echo "QEMU did not start"; exit 1; }
timeout 120 gdb-multiarch -q -nx -batch "$build/kernel" \
  -x gdb/teachos.gdb -ex "target remote 127.0.0.1:$port" -x "$here/gdb-fpsimd-check.py" -ex kill >"$log" 2>&1
grep -q '^gdb-fpsimd-check: PASS$' "$log" && ! grep -qE 'Traceback|Python Exception|^Error' "$log"
