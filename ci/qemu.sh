# Shared by the test scripts: boot the kernel under QEMU with a timeout.
# QEMU killed by a signal exits 0, so the status that matters is timeout's (124).
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60}
qemu_cmd() {
  echo qemu-system-aarch64 -M virt -cpu cortex-a72 -m "${MEM:-256M}" -nographic -nic none -no-reboot \
    -semihosting-config enable=on,target=native -kernel "$build/Image" -initrd "${INITRD:-$build/initrd.cpio}"
}
# qemu_boot LOG CMDLINE [extra qemu args...]: returns QEMU's (or timeout's) status.
qemu_boot() {
  local log=$1 cmdline=$2; shift 2
  timeout -k 5 "$QEMU_TIMEOUT" $(qemu_cmd) -append "$cmdline" "$@" </dev/null >"$log" 2>&1
  local st=$?
  tr -d '\r' <"$log" >"$log.tmp" && mv "$log.tmp" "$log"
  return $st
}
