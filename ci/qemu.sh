# Shared by the test scripts: boot the kernel under QEMU with a timeout.
# QEMU killed by a signal exits 0, so the status that matters is timeout's (124).
QEMU_TIMEOUT=${QEMU_TIMEOUT:-120}
qemu_cmd() {
  echo qemu-system-aarch64 -M virt -cpu cortex-a72 -smp "${CPUS:-4}" -m "${MEM:-256M}" -nographic -nic none -no-reboot \
    -semihosting-config enable=on,target=native -kernel "$build/Image" -initrd "${INITRD:-$build/initrd.cpio}"
}
# qemu_start_halted CONSOLE_LOG CMDLINE: QEMU halted at reset, deterministic timing
# (GDB_CPUS CPUs, default 1, as `make gdb`)
# (-icount), a gdb stub on a random port; sets $qpid and $port and waits for the stub.
# The caller must kill $qpid (trap ... EXIT).
qemu_start_halted() {
  port=$((20000 + RANDOM % 20000))
  timeout -k 5 120 $(CPUS=${GDB_CPUS:-1} qemu_cmd) -icount shift=0 -append "$2" -S -gdb tcp:127.0.0.1:$port \
    -display none -serial file:"$1" </dev/null >/dev/null 2>&1 &
  qpid=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
export RUST_GDB_DIR=${RUST_GDB_DIR:-$(rustc --print sysroot)/lib/rustlib/etc}

# qemu_boot LOG CMDLINE [extra qemu args...]: returns QEMU's (or timeout's) status.
qemu_boot() {
  local log=$1 cmdline=$2; shift 2
  timeout -k 5 "$QEMU_TIMEOUT" $(qemu_cmd) -append "$cmdline" "$@" </dev/null >"$log" 2>&1
  local st=$?
  tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
  return $st
}
