#!/usr/bin/env bash
# `make fuzz`: long runs of the system-call fuzzer (user/src/bin/fuzz.rs), each in its own
# boot, on the release kernel and on the PROFILE=dev one (debug assertions, overflow
# checks), for several seeds. Ends with "N passed, N failed".
#   usage: fuzz.sh TARGET_DIR BUILD_DIR
#   FUZZ_CALLS     calls per run (default 1000000)
#   FUZZ_SEEDS     seeds (default: three new ones each time, printed with the results)
#   FUZZ_PROFILES  kernels (default "release dev")
#   FUZZ_TIMEOUT   seconds per boot (default 3600)
#   FUZZ_TRACE=1   every worker prints each call before making it (for replaying a failure:
#                  FUZZ_SEEDS=N FUZZ_PROFILES=dev FUZZ_TRACE=1 make fuzz)
set -uo pipefail
out=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
calls=${FUZZ_CALLS:-1000000}
seeds=${FUZZ_SEEDS:-"$(date +%s) $((RANDOM * 32768 + RANDOM)) $((RANDOM * 32768 + RANDOM))"}
profiles=${FUZZ_PROFILES:-"release dev"}
QEMU_TIMEOUT=${FUZZ_TIMEOUT:-3600}
trace=${FUZZ_TRACE:+ trace}
mkdir -p "$build/fuzz"
if [[ " $profiles " == *" dev "* ]]; then
  "$here/dev-kernel.sh" "$out/../.." "$build" || { echo "fuzz.sh: the dev kernel does not build"; exit 1; }
fi
pass=0 fail=0
for profile in $profiles; do
  for seed in $seeds; do
    log=$build/fuzz/$profile-$seed.log
    start=$SECONDS
    if [ "$profile" = dev ]; then
      (INITRD=$build/dev/initrd.cpio build=$build/dev && qemu_boot "$log" "semihosting init=/bin/fuzz -- $seed $calls$trace")
    else
      qemu_boot "$log" "semihosting init=/bin/fuzz -- $seed $calls$trace"
    fi
    st=$?
    result=$(grep -E '^fuzz: (ok|FAILED)' "$log" | head -1)
    what="fuzz $seed $calls on the $profile kernel ($((SECONDS - start)) s)"
    if [ $st = 124 ]; then
      echo "  FAIL  $what: timed out after ${QEMU_TIMEOUT}s (log $log)"; tail -5 "$log" | sed 's/^/        /'
      fail=$((fail + 1))
    elif [ "$result" != "fuzz: ok" ] || [ $st != 0 ]; then
      echo "  FAIL  $what: ${result:-no result line}, exit $st (log $log)"
      grep -E -A3 'KERNEL PANIC|^fuzz: ' "$log" | tail -8 | sed 's/^/        /'
      fail=$((fail + 1))
    else
      echo "  ok    $what: $(grep -E '^fuzz: [0-9]+ calls' "$log" | cut -d: -f2- | cut -d';' -f1)"
      pass=$((pass + 1))
    fi
  done
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
