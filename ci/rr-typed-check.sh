#!/usr/bin/env bash
# Checks that `make rr` records what is typed and `make replay` replays it: the shell (tsh)
# gets `echo rr typed` and `poweroff` through ci/console.py while ci/rr.sh records; the
# replay, run to its end under gdb, must print the shell's answer and power off.
# Mirrors QEMU 7.2's replay of character-device input; guards the choice of shift=auto
# (ci/rr.sh: with a fixed shift the keys never reach this tickless kernel).
#   usage: rr-typed-check.sh TARGET_DIR BUILD_DIR      (prints one line; exits 0 if it held)
set -uo pipefail
out=$1 build=$2
here=$(cd "$(dirname "$0")" && pwd)
dir=$build/rr-typed
prompt='(/ # |tsh:/# )'
# One key at a time, as a person types: QEMU 7.2 logs a read of several keys as one event,
# handed to the UART later at a checkpoint, when its FIFO may not take them all.
keys() { local text=$1 i; for ((i = 0; i < ${#text}; i++)); do printf 'send %s\nsleep 0.25\n' "${text:i:1}"; done; }
{
  printf '%s\n' "expect $prompt" 'sleep 1'
  keys 'echo rr typed'; printf '%s\n' 'send \n' 'expect \nrr typed\n' "expect $prompt"
  keys 'poweroff'; printf '%s\n' 'send \n' 'expect Power down'
} >"$build/rr-typed.txt"
QEMU_TIMEOUT_RR=90 timeout -k 5 120 python3 "$here/console.py" --timeout 60 "$build/rr-typed.txt" "$build/rr-typed-record.log" -- \
  "$here/rr.sh" record "$build" "$out" "$dir" "semihosting init=/sbin/init -- /bin/tsh" >"$build/rr-typed-steps.log" 2>&1 \
  || { echo "the recorded shell did not answer (see $build/rr-typed-record.log)"; exit 1; }
port=$((20000 + RANDOM % 20000))
qpid=$(QEMU_TIMEOUT_RR=120 "$here/rr.sh" qemu-replay "$dir" $port "$dir/replay-console.log") || exit 1
trap 'kill $qpid 2>/dev/null' EXIT
timeout 110 gdb-multiarch -q -nx -batch "$dir/kernel" -ex "target remote 127.0.0.1:$port" -ex continue \
  >"$build/rr-typed-gdb.log" 2>&1
if tr -d '\r' <"$dir/replay-console.log" | grep -q '^rr typed$' && grep -q 'exited normally' "$build/rr-typed-gdb.log"; then
  echo "tsh: 'echo rr typed' and poweroff typed while recording; the replay prints 'rr typed' and powers off"
else
  echo "the replay did not replay the typed line (see $dir/replay-console.log, $build/rr-typed-gdb.log)"; exit 1
fi
