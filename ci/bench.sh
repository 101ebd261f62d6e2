#!/usr/bin/env bash
# `make bench`: boots the benchmark program under -icount shift=0 (one guest instruction =
# one ns of virtual time), so the numbers are instruction counts and repeat exactly.
#   usage: bench.sh TARGET_DIR BUILD_DIR
set -uo pipefail
out=$1 build=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
QEMU_TIMEOUT=300
log=$build/bench.log
qemu_boot "$log" "semihosting init=/bin/bench" -icount shift=0
st=$?
grep '^bench:' "$log"
cat <<'EOT'
For scale (Linux 6.1 arm64, same QEMU, -icount shift=0, static musl program):
  fork+exit+wait ~106k, with 16 MiB touched ~1.65M, COW fault ~4.35k instructions.
EOT
[ $st = 0 ] || { echo "bench: QEMU exited with $st (log: $log)"; exit 1; }
