#!/usr/bin/env bash
# `make grade LAB=n`: runs the lab's tests (docs/labs/grades.txt) and prints each test's
# points and the total, in the spirit of MIT's xv6 graders. Exits 0 only on full marks.
#   usage: grade.sh LAB TARGET_DIR BUILD_DIR
set -uo pipefail
lab=$1 out=$2 build=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
QEMU_TIMEOUT=${GRADE_TIMEOUT:-30}
titles=([1]="boot and a first system call" [2]="fork and ret_from_fork" [3]="copy-on-write" [4]="clone threads, TLS and futex join")
echo "== Lab $lab: ${titles[$lab]:-?} =="
mkdir -p "$build/grade"
score=0 total=0
while read -r l pts kind name; do
  [ "$l" = "$lab" ] || continue
  total=$((total + pts))
  log=$build/grade/$name.log
  why=""
  case $kind in
    qemu)
      qemu_boot "$log" "semihosting init=/bin/$name"; st=$?
      if [ $st = 124 ]; then why="timed out after ${QEMU_TIMEOUT}s"
      elif ! grep -qx "$name: ok" "$log"; then why=$(grep -m1 -E "^$name: FAILED|LAB [0-9]+:" "$log" || echo "no result line")
      elif grep -q LEAK "$log"; then why="frames leaked"
      elif [ $st != 0 ]; then why="exit status $st"; fi ;;
    unit)
      cargo test --lib -p kernel --target "$(rustc -vV | sed -n 's/^host: //p')" -- "$name" >"$log" 2>&1
      if ! grep -qE "^test result: ok\. [1-9][0-9]* passed; 0 failed" "$log"; then
        why=$(grep -m1 -E "panicked at|error(\[E[0-9]+\])?:" "$log" || echo "unit tests failed")
      fi ;;
    gdb)
      "$here/gdb-test.sh" "$out" "$build" "$log" || why=$(grep -m1 -E "gdb-check: FAILED|Error|Traceback" "$log" || echo "gdb check failed") ;;
  esac
  if [ -z "$why" ]; then
    printf '%-20s OK    (%d/%d)\n' "$name" "$pts" "$pts"; score=$((score + pts))
  else
    printf '%-20s FAIL  (0/%d)  %s\n' "$name" "$pts" "$why"
  fi
done < <(grep -v '^#' docs/labs/grades.txt)
echo "Score: $score/$total"
[ "$score" = "$total" ]
