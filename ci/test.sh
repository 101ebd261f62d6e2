#!/usr/bin/env bash
# The whole test suite (`make test`): host unit tests, user programs under QEMU, and
# end-to-end checks of the tools students use. Ends with "N passed, N failed".
#   usage: test.sh TARGET_DIR BUILD_DIR      (ONLY=unit|qemu|e2e runs one part)
set -uo pipefail
out=$1 build=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
pass=0 fail=0
ok()  { echo "  ok    $1"; pass=$((pass + 1)); }
bad() { echo "  FAIL  $1: $2"; fail=$((fail + 1)); }
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }

if want unit; then
  echo "== host unit tests (cargo test, x86_64)"
  log=$build/unit.log
  cargo test --lib -p kernel --target x86_64-unknown-linux-gnu >"$log" 2>&1
  line=$(grep -E '^test result:' "$log" | tail -1)
  n_ok=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$line")
  n_bad=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
  if [ -z "$n_ok" ]; then
    bad "cargo test" "did not run (see $log)"; tail -20 "$log"
  else
    grep -E '^test .* FAILED$' "$log" | sed 's/^/  FAIL  /'
    pass=$((pass + n_ok)); fail=$((fail + n_bad))
    echo "  $n_ok unit tests passed, $n_bad failed"
  fi
fi

if want qemu; then
  echo "== user programs under QEMU (one boot each, ${QEMU_TIMEOUT}s timeout)"
  mkdir -p "$build/tests"
  for name in $(grep -v '^#' user/tests.list); do
    log=$build/tests/$name.log
    qemu_boot "$log" "semihosting init=/bin/$name"
    st=$?
    result=$(grep -E "^$name: (ok|FAILED)" "$log" | head -1)
    frames=$(grep -E '^kernel: init exited' "$log")
    if [ $st = 124 ]; then
      bad "$name" "timed out after ${QEMU_TIMEOUT}s; last lines:"; tail -5 "$log" | sed 's/^/        /'
    elif [ "$result" != "$name: ok" ]; then
      bad "$name" "${result:-no result line} (exit $st; log $log)"; tail -8 "$log" | sed 's/^/        /'
    elif grep -q LEAK <<<"$frames"; then
      bad "$name" "frames leaked: $frames"
    elif [ $st != 0 ]; then
      bad "$name" "QEMU exit status $st"
    else
      ok "$name"
    fi
  done
fi

if want e2e; then
  echo "== end-to-end: make run, INIT=, gdb-multiarch"
  . "$here/e2e.sh"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
