#!/usr/bin/env bash
# `make grade LAB=n`: runs lab n's tests (docs/labs/grades.txt) and prints each test's
# points and the total, in the spirit of MIT's xv6 graders. A failed test prints its
# failing assertion in full, the stub the kernel hit (if any) and the path of its log.
# Exits 0 only on full marks. The lab's title comes from labs/labN.toml.
#   usage: grade.sh LAB TARGET_DIR BUILD_DIR
set -uo pipefail
lab=$1 out=$2 build=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
QEMU_TIMEOUT=${GRADE_TIMEOUT:-30}
if ! grep -qE "^$lab[[:space:]]" docs/labs/grades.txt; then
  echo "grade: no tests for lab '$lab' in docs/labs/grades.txt"; exit 2
fi
title=$(python3 -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb")).get("title", "?"))' \
  "labs/lab$lab.toml" 2>/dev/null || echo "?")
echo "== Lab $lab: $title =="
mkdir -p "$build/grade/lab$lab"
logs=$(cd "$build/grade/lab$lab" && pwd)  # printed: absolute, to open from anywhere
score=0 total=0
# why_qemu NAME LOG: the reason a program's test failed, every line of it.
why_qemu() {
  local name=$1 log=$2
  grep -m1 -E "^$name: FAILED" "$log"
  grep -m2 -E "panicked at|Kernel panic" "$log"
  grep -o -E "LAB [0-9]+: .* is not implemented yet" "$log" | awk '!seen[$0]++' | head -4 |
    sed 's/$/ (stub hit)/'
}
while read -r l pts kind name; do
  [ "$l" = "$lab" ] || continue
  total=$((total + pts))
  log=$logs/$name.log
  why=""
  case $kind in
    qemu)
      qemu_boot "$log" "semihosting init=/bin/$name"; st=$?
      frames=$(grep -E '^kernel: init exited' "$log")
      if [ $st = 124 ]; then why="timed out after ${QEMU_TIMEOUT}s
$(why_qemu "$name" "$log")"
      elif ! grep -qx "$name: ok" "$log"; then why=$(why_qemu "$name" "$log"); why=${why:-"no \"$name: ok\" line (last line: $(tail -1 "$log"))"}
      elif grep -q LEAK <<<"$frames"; then why="frames leaked: $frames"
      elif [ $st != 0 ]; then why="QEMU exit status $st"; fi ;;
    unit)
      cargo test --lib -p kernel --target "$(rustc -vV | sed -n 's/^host: //p')" -- "$name" >"$log" 2>&1
      if ! grep -qE "^test result: ok\. [1-9][0-9]* passed; 0 failed" "$log"; then
        # Each failed test with its panic message (assertion and values), or the build error.
        why=$({
          grep -E "^test .* FAILED$" "$log"
          grep -A1 -E "^thread '.*panicked at" "$log" | grep -vE '^--$'
          grep -E "^  (left|right):" "$log"
          grep -m3 -E "^error(\[E[0-9]+\])?:" "$log"
        } | head -12)
        why=${why:-"unit tests failed"}
      fi ;;
    gdb)
      if ! "$here/gdb-test.sh" "$out" "$build" "$log" forkdemo "gdb-$name.py"; then
        why=$(grep -m1 -E "gdb-$name: FAILED" "$log" | sed 's/^.*\(gdb-[a-z_]*: FAILED\)/\1/')
        [ -n "$why" ] || why=$(grep -m2 -E "^[A-Za-z]*Error|Python Exception|^Error|Cannot" "$log")
        why=${why:-"gdb check failed"}
        console=$(cd "$build" && pwd)/gdb-test-forkdemo-console.log
        stubs=$(grep -o -E 'LAB [0-9]+: .* is not implemented yet' "$console" | awk '!seen[$0]++' | head -4)
        [ -z "$stubs" ] || why="$why
$(sed 's/$/ (stub hit)/' <<<"$stubs")"
        why="$why
the kernel's console: $console"
      fi ;;
    *) why="unknown kind '$kind' in docs/labs/grades.txt" ;;
  esac
  if [ -z "$why" ]; then
    printf '%-20s OK    (%d/%d)\n' "$name" "$pts" "$pts"; score=$((score + pts))
  else
    printf '%-20s FAIL  (0/%d)\n' "$name" "$pts"
    sed 's/^/      /' <<<"$why"
    echo "      log: $log"
  fi
done < <(grep -v '^#' docs/labs/grades.txt)
echo "Score: $score/$total"
[ "$score" = "$total" ]
