#!/usr/bin/env bash
# gdb-multiarch in batch mode against QEMU running fork_basic: breaks at ret_from_fork and
# checks the child's TrapFrame, the task list and a COW page in parent and child.
# QEMU is always killed (trap), and a gdb script error fails the test.
#   usage: gdb-test.sh TARGET_DIR BUILD_DIR LOG
set -uo pipefail
out=$1 build=$2 log=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
sock=$(mktemp -u /tmp/teachos-gdb.XXXXXX)
port=$((20000 + RANDOM % 20000))
timeout -k 5 120 $(qemu_cmd) -icount shift=0 -append "semihosting init=/bin/forkdemo" -S -gdb tcp:127.0.0.1:$port \
  -display none -serial file:"$build/gdb-test-console.log" </dev/null >/dev/null 2>&1 &
qpid=$!
trap 'kill $qpid 2>/dev/null; wait $qpid 2>/dev/null; rm -f "$sock"' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
RUST_GDB_DIR=$(rustc --print sysroot)/lib/rustlib/etc timeout 120 gdb-multiarch -q -nx -batch "$out/kernel" \
  -x gdb/teachos.gdb -ex "python USER_ELF = \"$out/forkdemo\"" -ex "target remote 127.0.0.1:$port" -x "$here/gdb-check.py" -ex kill >"$log" 2>&1
grep -q '^gdb-check: PASS$' "$log" && ! grep -qE 'Traceback|Python Exception|^Error' "$log"
