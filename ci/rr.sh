#!/usr/bin/env bash
# Record and replay a whole machine run with QEMU's record/replay (`make rr`, `make replay`,
# docs/reverse-debugging.md). Mirrors QEMU 7.2's docs/system/replay.rst: one CPU,
# -icount with rr=record|replay and an rrfile; the serial input and the host clock (RTC)
# are logged, everything else is recomputed. Reverse execution (reverse-continue,
# reverse-stepi) needs a snapshot to go back to: `rrsnapshot=init` saves one when the
# recording starts, into a qcow2 image that no device uses (an "orphan" drive).
#
# The recording directory keeps its own copies of the kernel image, its ELF (symbols),
# the initrd and the command line: a replay must see the very same machine, whatever
# `make build` did since.
#   usage: rr.sh record BUILD_DIR USER_BIN_DIR RR_DIR CMDLINE [TIMEOUT]
#          rr.sh qemu-replay RR_DIR PORT CONSOLE_LOG   QEMU replaying, halted, gdb stub on PORT
#                                                      (prints the pid that stops it, for the caller)
#          rr.sh replay RR_DIR PORT                    the same, with gdb-multiarch attached
set -uo pipefail
QEMU_TIMEOUT_RR=${QEMU_TIMEOUT_RR:-600}

# The machine of qemu.sh's qemu_cmd on one CPU (QEMU refuses to record several), from
# the recording's own files. "-m" stays small: the snapshot saves all of RAM.
rr_machine() {
  local dir=$1
  echo qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 1 -m "${MEM:-256M}" -nic none -no-reboot \
    -semihosting-config enable=on,target=native -kernel "$dir/Image" -initrd "$dir/initrd.cpio" \
    -drive file="$dir/snapshots.qcow2",if=none,id=rr
}
# -icount shift=auto, not the gdb tests' shift=0: QEMU 7.2 logs a typed key, and hands it
# to the guest, only at a checkpoint of its virtual clock, which needs an armed virtual
# timer. This kernel is tickless: while the shell waits for a key it arms none, and with a
# fixed shift the key would never arrive. `auto` adds QEMU's own periodic one (it adjusts
# the shift to the host's speed, and the adjustments are logged too). A run that reads no
# key may take RR_SHIFT=0, as the gdb tests do: then every recording of it is the same.
# The replay takes the recording's shift (the file `shift`).
rr_icount() { echo "shift=$(cat "$2/shift"),rr=$1,rrfile=$2/run.rr,rrsnapshot=init"; }

case ${1:-} in
record)
  build=$2 bin=$3 dir=$4 cmdline=$5 limit=${6:-$QEMU_TIMEOUT_RR}
  command -v qemu-img >/dev/null || { echo "rr: qemu-img is missing (apt-get install qemu-utils; make setup)" >&2; exit 1; }
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$build/Image" "$build/kernel" "$build/initrd.cpio" "$dir/"
  printf '%s\n' "$cmdline" >"$dir/cmdline"
  echo "${RR_SHIFT:-auto}" >"$dir/shift"
  # A user program run as init (init=/bin/NAME): its symbols too, for add-symbol-file.
  prog=$(sed -n 's|.*init=/bin/\([^ ]*\).*|\1|p' <<<"$cmdline")
  [ -n "$prog" ] && [ -f "$bin/$prog" ] && cp "$bin/$prog" "$dir/program"
  qemu-img create -q -f qcow2 "$dir/snapshots.qcow2" 1M || exit 1
  # The console is this terminal, and what is typed is logged. Not -nographic: its
  # monitor multiplexer (Ctrl-A x) passes keys on beneath the recorder, so a replay would
  # wait for them for ever. signal=off: Ctrl-C and Ctrl-Z are the guest's, as in `make run`.
  # Keys read together are one event, handed to the UART later, at a checkpoint, when its
  # FIFO may not take them all: a person's typing is recorded, a fast paste can lose keys.
  timeout --foreground -k 5 "$limit" $(rr_machine "$dir") -display none -monitor none \
    -chardev stdio,id=console,signal=off -serial chardev:console \
    -icount "$(rr_icount record "$dir")" -append "$cmdline"
  st=$?
  [ $st = 124 ] && echo "rr: the recording stopped after ${limit}s (timeout)" >&2
  echo "rr: recorded $(stat -c %s "$dir/run.rr") bytes of events in $dir/run.rr; \`make replay\` replays them" >&2
  exit $st
  ;;
qemu-replay)
  dir=$2 port=$3 console=$4
  [ -f "$dir/run.rr" ] || { echo "rr: no recording in $dir: run \`make rr\` first" >&2; exit 1; }
  # Something listening there already (a replay left running) would take gdb's connection.
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
    echo "rr: port $port is in use (another QEMU?): pick another, e.g. GDB_PORT=..." >&2; exit 1
  fi
  timeout -k 5 "$QEMU_TIMEOUT_RR" $(rr_machine "$dir") -display none -icount "$(rr_icount replay "$dir")" \
    -append "$(cat "$dir/cmdline")" -S -gdb tcp:127.0.0.1:"$port" -serial file:"$console" \
    </dev/null >"$dir/qemu-replay.log" 2>&1 &
  qpid=$!
  for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && { echo $qpid; exit 0; }
    kill -0 $qpid 2>/dev/null || break
    sleep 0.1
  done
  echo "rr: QEMU did not start replaying (see $dir/qemu-replay.log)" >&2
  kill $qpid 2>/dev/null
  exit 1
  ;;
replay)
  dir=$2 port=$3
  qpid=$("$0" qemu-replay "$dir" "$port" "$dir/replay-console.log") || exit 1
  trap 'kill $qpid 2>/dev/null; wait $qpid 2>/dev/null' EXIT
  echo "QEMU replays $dir/run.rr ($(cat "$dir/cmdline")), halted at reset; console: $dir/replay-console.log"
  echo "Try (forkdemo): break kernel::task::fork::kernel_clone, continue, cowbreak 0x404000, continue;"
  echo "then watch the parent's entry, *(\$pte_addr(0x404000, 1) as *mut u64), and reverse-continue"
  echo "(docs/reverse-debugging.md). Quit gdb to stop QEMU."
  symbols=()
  [ -f "$dir/program" ] && symbols=(-ex "add-symbol-file $dir/program")
  RUST_GDB_DIR=${RUST_GDB_DIR:-$(rustc --print sysroot)/lib/rustlib/etc} "${GDB:-gdb-multiarch}" -q "$dir/kernel" \
    -x gdb/teachos.gdb "${symbols[@]}" -ex "target remote 127.0.0.1:$port"
  ;;
*)
  sed -n 's/^#   usage: /usage: /p; s/^#          /       /p' "$0" >&2
  exit 2
  ;;
esac
