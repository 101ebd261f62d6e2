#!/usr/bin/env bash
# Checks of `make gdb`'s session (gdb/session.sh), each printing "ok NAME" or "FAIL NAME: why":
#   port-taken   with something listening on the port, make gdb refuses before QEMU starts
#                and says which port and how to choose another
#   qemu-fails   when QEMU cannot start (here: a bad -m), its error is shown and gdb never
#                starts (so it cannot attach to another stub)
#   sigint       Ctrl-C in gdb: a SIGINT to gdb's whole process group (make, the script,
#                gdb — what the terminal sends) while the kernel runs interrupts the target;
#                QEMU, in a session of its own, survives: gdb reads the stopped CPU's
#                registers and the helpers' task list afterwards, and QEMU is gone after gdb quits
#   server       make gdb-server waits for a debugger started elsewhere (VS Code), which
#                attaches; Ctrl-C then stops QEMU
# Every QEMU here is bounded (QEMU_LIFETIME, timeout).
#   usage: gdb-session-test.sh BUILD_DIR
set -uo pipefail
build=$1
fails=0
ok()  { echo "ok $1"; }
bad() { echo "FAIL $1: $2"; fails=$((fails + 1)); }
port=$((20000 + RANDOM % 20000))
# session CMD... &: CMD in a process group of its own (its pgid is $!), as a terminal runs its
# foreground job — with SIGINT's default action: a script's background job would have it
# ignored (POSIX), and everything it starts with it, so Ctrl-C could not be tested.
session() {
  exec setsid python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}
export QEMU_LIFETIME=150

# port-taken: a listener of our own on the port.
log=$build/gdb-session-port.log
python3 - "$port" >"$log" 2>&1 <<'PY'
import socket, subprocess, sys
port = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", int(port)))
s.listen(1)
r = subprocess.run(["make", "-s", "gdb", "GDB_PORT=" + port, "GDBFLAGS=-batch"],
                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300)
print(r.stdout + r.stderr)
print("status", r.returncode)
PY
if grep -q "^make gdb: port $port on 127.0.0.1 is in use already" "$log" && grep -q "GDB_PORT=$((port + 1))" "$log" \
  && ! grep -q "^status 0$" "$log" && ! grep -q 'teachos gdb helpers' "$log"; then
  ok "port-taken"
else
  bad "port-taken" "no refusal, or gdb started (see $log)"
fi

# qemu-fails: QEMU rejects -m 1Z and exits; gdb must not start.
log=$build/gdb-session-qemu-fails.log
timeout 300 make -s gdb GDB_PORT=$((port + 1)) MEM=1Z GDBFLAGS=-batch </dev/null >"$log" 2>&1
st=$?
if [ $st != 0 ] && grep -q '^make gdb: QEMU did not start:' "$log" && grep -qi 'qemu-system-aarch64: .*1Z' "$log" \
  && ! grep -q 'teachos gdb helpers' "$log"; then
  ok "qemu-fails"
else
  bad "qemu-fails" "status $st, QEMU's error not shown or gdb started (see $log)"
fi

# sigint: the kernel runs (busybox's shell waits for input) when the group gets SIGINT.
log=$build/gdb-session-sigint.log script=$build/gdb-session-sigint.gdb
cat >"$script" <<'GDB'
python print("sigint-test: running")
continue
python
import gdb
frame = gdb.newest_frame()
print("sigint-test: stopped, pc %#x, EL%d" % (frame.pc(), thread_el()))
print("sigint-test: tasks " + " ".join(str(t) for t, _ in all_tasks()), flush=True)
import time
time.sleep(3)  # the test looks for QEMU's process now
print("sigint-test: pc still %#x" % int(gdb.parse_and_eval("$pc")))
end
GDB
session make -s gdb GDB_PORT=$((port + 2)) GDBFLAGS="-batch -x $script" </dev/null >"$log" 2>&1 &
group=$!
for _ in $(seq 600); do grep -q '^sigint-test: running' "$log" && break; sleep 0.2; done
sleep 3   # gdb is in `continue`, the kernel boots and idles
qemu() { pgrep -f "^qemu-system-aarch64 .*tcp:127.0.0.1:$((port + 2))"; }
qemu_before=$(qemu)
kill -INT -- -"$group" 2>/dev/null
for _ in $(seq 50); do grep -q '^sigint-test: tasks' "$log" && break; sleep 0.2; done
qemu_alive=$(qemu)
for _ in $(seq 150); do kill -0 "$group" 2>/dev/null || break; sleep 0.2; done
kill -KILL -- -"$group" 2>/dev/null
qemu_after=$(qemu)
if [ -n "$qemu_before" ] && [ "$qemu_alive" = "$qemu_before" ] && [ -z "$qemu_after" ] \
  && grep -q 'received signal SIGINT' "$log" && grep -Eq '^sigint-test: stopped, pc 0xffff[0-9a-f]+, EL1$' "$log" \
  && grep -Eq '^sigint-test: tasks 1 ' "$log" && grep -Eq '^sigint-test: pc still 0xffff' "$log"; then
  ok "sigint"
else
  bad "sigint" "QEMU pid before/after the SIGINT/after quitting: '${qemu_before}' '${qemu_alive}' '${qemu_after}' (see $log)"
  pkill -f "qemu-system-aarch64.*tcp:127.0.0.1:$((port + 2))" 2>/dev/null
fi
# server: `make gdb-server` (QEMU only, for VS Code's .vscode/launch.json) waits; a gdb
# started as VS Code starts it (the kernel, `source gdb/teachos.gdb`, then target remote)
# attaches and stops at kernel_main; Ctrl-C (SIGINT to make's group) then stops QEMU.
log=$build/gdb-session-server.log p=$((port + 3))
session make -s gdb-server GDB_PORT=$p </dev/null >"$log" 2>&1 &
group=$!
for _ in $(seq 600); do grep -q 'QEMU is halted with its gdb stub' "$log" && break; sleep 0.2; done
qemu() { pgrep -f "^qemu-system-aarch64 .*tcp:127.0.0.1:$p"; }
timeout 120 gdb-multiarch -q -nx -batch "$build/kernel" -ex "source gdb/teachos.gdb" -ex "target remote 127.0.0.1:$p" \
  -ex "break kernel::boot::kernel_main" -ex continue -ex "python print('server-test: at', gdb.selected_frame().name())" \
  -ex detach >"$log.gdb" 2>&1
qemu_alive=$(qemu)
kill -INT -- -"$group" 2>/dev/null
for _ in $(seq 100); do kill -0 "$group" 2>/dev/null || break; sleep 0.2; done
kill -KILL -- -"$group" 2>/dev/null
if grep -q '^server-test: at kernel::boot::kernel_main$' "$log.gdb" && [ -n "$qemu_alive" ] && [ -z "$(qemu)" ]; then
  ok "server"
else
  bad "server" "gdb did not stop at kernel_main, or QEMU outlived Ctrl-C (see $log, $log.gdb)"
  pkill -f "^qemu-system-aarch64 .*tcp:127.0.0.1:$p" 2>/dev/null
fi
[ $fails = 0 ]
