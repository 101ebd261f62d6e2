#!/usr/bin/env bash
# gdb/session.sh — runs `make gdb` and `make gdb-user`: QEMU halted at reset with a gdb
# stub on 127.0.0.1:PORT, then gdb-multiarch attached to it; QEMU stops when gdb quits.
# (QEMU's side is its -S/-gdb options, docs/system/gdb.rst; the layout of the session is
# the usual one of Linux's Documentation/dev-tools/gdb-kernel-debugging.rst.)
#
# Why a script and not one line of the Makefile:
# - QEMU runs in a session of its own (setsid), stdin from /dev/null. In the terminal's
#   foreground process group it would get the SIGINT of every Ctrl-C and die, while the
#   key is meant for gdb (which interrupts the target: "Program received signal SIGINT").
#   The console goes to CONSOLE_LOG, so QEMU needs no terminal.
# - The port is checked before QEMU starts: if something answers there already (another
#   `make gdb`), this refuses instead of attaching gdb to someone else's stub. And gdb
#   starts only once this QEMU's stub answers; if QEMU exits first (it could not bind the
#   port, a bad option), its error is shown and gdb is not started.
# - This script survives the Ctrl-C too (a trap), so it is still there to stop QEMU when
#   gdb quits.
# - Without a gdb command (`make gdb-server`), it waits for a debugger of your choice
#   (VS Code: .vscode/launch.json) to attach; then Ctrl-C here stops QEMU.
#   usage: session.sh PORT CONSOLE_LOG QEMU_COMMAND... -- [GDB_COMMAND (with its target remote)...]
#   QEMU_LIFETIME=seconds bounds QEMU's run (tests; default: none).
set -uo pipefail
[ $# -ge 3 ] || { sed -n '2,21p' "$0"; exit 2; }
port=$1 console=$2; shift 2
qemu=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do qemu+=("$1"); shift; done
[ "${1:-}" = -- ] || { echo "session.sh: no -- before the gdb command" >&2; exit 2; }
shift
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
if answers; then
  echo "make gdb: port $port on 127.0.0.1 is in use already (another make gdb, yours or" >&2
  echo "  another user's?). Quit that one, or choose another port: make gdb GDB_PORT=$((port + 1))" >&2
  exit 1
fi
qlog=${console%.log}-qemu.log
setsid timeout -k 5 "${QEMU_LIFETIME:-0}" "${qemu[@]}" -S -gdb "tcp:127.0.0.1:$port" -display none \
  -serial "file:$console" </dev/null >"$qlog" 2>&1 &
qpid=$!
trap 'kill $qpid 2>/dev/null; wait $qpid 2>/dev/null' EXIT
trap ':' INT   # Ctrl-C is for gdb; this script stays to stop QEMU afterwards
for _ in $(seq 100); do
  if ! kill -0 $qpid 2>/dev/null; then
    echo "make gdb: QEMU did not start:" >&2; sed 's/^/  /' "$qlog" >&2; exit 1
  fi
  answers && break
  sleep 0.1
done
kill -0 $qpid 2>/dev/null && answers || { echo "make gdb: QEMU's gdb stub does not answer on port $port" >&2; exit 1; }
if [ $# = 0 ]; then
  echo "QEMU is halted with its gdb stub on 127.0.0.1:$port: attach a debugger (VS Code:"
  echo "  .vscode/launch.json; gdb-multiarch: target remote 127.0.0.1:$port). Ctrl-C here stops QEMU."
  trap 'exit 0' INT
  wait $qpid
  exit
fi
echo "QEMU is halted at reset with its gdb stub on 127.0.0.1:$port; console: $console"
"$@"   # gdb, whose command line attaches it (-ex "target remote 127.0.0.1:PORT")
