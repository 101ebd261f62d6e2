#!/usr/bin/env bash
# Re-creates the pictures of docs/address-space-pictures.md (`make pictures`): QEMU runs
# /bin/forkdemo halted under gdb (-icount: the same run every time), ci/pictures.py stops
# it before fork, after copy_process and after the child's COW fault, and writes an SVG
# of the address spaces at each (gdb/aspace.py's aspace-svg).
#   usage: pictures.sh TARGET_DIR BUILD_DIR OUTPUT_DIR
set -uo pipefail
out=$1 build=$2 dest=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
qpid=
trap 'kill $qpid 2>/dev/null; wait $qpid 2>/dev/null' EXIT
mkdir -p "$dest"
qemu_start_halted "$build/pictures-console.log" "semihosting init=/bin/forkdemo" || { echo "QEMU did not start"; exit 1; }
timeout 120 gdb-multiarch -q -nx -batch "$build/kernel" -x gdb/teachos.gdb \
  -ex "add-symbol-file $out/forkdemo" -ex "target remote 127.0.0.1:$port" \
  -ex "python PICTURES_OUT = '$dest'" -x "$here/pictures.py" -ex kill >"$build/pictures.log" 2>&1
grep -q '^pictures: PASS$' "$build/pictures.log" || { grep -E 'pictures|Error|Traceback' "$build/pictures.log" | tail -5; exit 1; }
grep '^aspace-svg: ' "$build/pictures.log"
