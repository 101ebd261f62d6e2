#!/usr/bin/env bash
# `make oracle`: every program of user/tests.list run on real Linux — Debian's arm64 Linux
# 6.1 kernel under the same QEMU (-M virt -cpu cortex-a72) — in ONE boot: the initrd holds
# the machine's /bin (build/rootfs/bin, from `make build`) and the runner
# user/c/oracle/runner.c as /init, which runs each program as its child with a fresh /tmp
# and a time limit and prints "oracle: NAME ok" or "oracle: NAME FAILED: ..." with the
# program's last lines. The few programs that depend on being pid 1 (AS_INIT below) run
# instead each alone in a short boot of its own, as init. Ends with "N passed on Linux,
# N failed"; exits 1 on a failure.
#   usage: oracle.sh BUILD_DIR                 the test programs (make oracle)
#          oracle.sh --expected BUILD_DIR      run tests/busybox/*.sh on Linux and write
#                                              their normalised output to NAME.expected
#                                              (make oracle-expected; ci/busybox-suite.sh)
#          oracle.sh --boot BUILD_DIR ROOT LOG  boot ROOT's tree (ROOT/init runs first) on
#                                              Linux, console in LOG (ci/bench.sh)
# Environment: ORACLE_CPUS (4), ORACLE_MEM (512M), ORACLE_ICOUNT=1 (-icount shift=0, and
# no randomised layouts, for instruction counts that repeat), ORACLE_ONLY="name ..." (a subset),
# ORACLE_TIMEOUT (seconds per program, 300: fork_bomb took over 120 on a busy host). The
# kernel package is fetched once with apt-get download (arm64 added as a foreign
# architecture), its SHA-256 checked, and cached in BUILD_DIR/oracle/.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
expected= boot_only=
[ "${1:-}" = --expected ] && { expected=1; shift; }
if [ "${1:-}" = --boot ] && [ $# = 4 ]; then
  boot_only=1 boot_root=$(cd "$3" && pwd) boot_log=$4
  set -- "$2"
fi
[ $# = 1 ] || { sed -n '2,21p' "$0"; exit 2; }
build=$(cd "$1" && pwd)
cd "$here/.."
# shellcheck source=ci/busybox-suite.sh
. "$here/busybox-suite.sh"

# Debian 12's cloud kernel for arm64 (virtio, PL011, no modules needed), pinned: the
# verdicts are about this version. A newer ABI number is a new package name: change all three.
KPKG=linux-image-6.1.0-57-cloud-arm64
KVERSION=6.1.192-3
KSHA256=51952bf54e96b0bc6263fb51a47b79e206dca0213cd5421162bc55cddbd6e51e
CPUS=${ORACLE_CPUS:-4}
MEM=${ORACLE_MEM:-512M}
PER_PROGRAM=${ORACLE_TIMEOUT:-300}

# Programs that cannot run on Linux at all, with the reason. Keep this short: a program
# that asserts something Linux does not do is a wrong test, to be fixed, not listed here.
# Each entry: "name: the reason".
EXCLUDED=(
)
# Programs that depend on being pid 1 (as they run on teachos): each runs alone in a boot
# of its own, as init, after the one boot with the others.
AS_INIT=(
  wait_semantics # init reaps an orphan whose getppid() was 1
  clone_einval   # CLONE_PARENT from init is EINVAL
  fork_bomb      # init stays in control: as a child, Linux's OOM killer may take it
)
# The pid-1 boots get this kernel's task limit for its 256 MiB machine (2048: RAM / 128 KiB,
# as Linux computes threads-max), so that fork_bomb ends on EAGAIN as it does here, in
# about 30 s, not in minutes of OOM kills: Linux's own 4096 for 512 MiB needs more memory
# than there is (fork_bomb took 268 s and 1,012 OOM kills on a busy host).
AS_INIT_PARAMS="sysctl.kernel.threads-max=2048"

dir=$build/oracle
mkdir -p "$dir"
kernel=$dir/vmlinuz-$KVERSION

fail() { echo "oracle: $*" >&2; exit 1; }

fetch_kernel() {
  [ -s "$kernel" ] && return 0
  command -v apt-get >/dev/null || fail "no apt-get on this computer (Debian/Ubuntu only)"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    [ "$(id -u)" = 0 ] || fail "arm64 is not a foreign architecture here; run: sudo dpkg --add-architecture arm64 && sudo apt-get update"
    dpkg --add-architecture arm64
    apt-get update -qq >/dev/null 2>&1 || true
  fi
  local tmp
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get download -q "$KPKG:arm64=$KVERSION" >/dev/null 2>&1); then
    [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 || true
    (cd "$tmp" && apt-get download -q "$KPKG:arm64=$KVERSION" >/dev/null 2>&1) ||
      { rm -rf "$tmp"; fail "cannot download $KPKG:arm64=$KVERSION (gone from the archive? pin the current one)"; }
  fi
  local deb got
  deb=$(ls "$tmp"/*.deb)
  got=$(sha256sum "$deb" | cut -d' ' -f1)
  [ "$got" = "$KSHA256" ] || { rm -rf "$tmp"; fail "$(basename "$deb"): SHA-256 $got, expected $KSHA256"; }
  dpkg-deb -x "$deb" "$tmp/x"
  cp "$tmp"/x/boot/vmlinuz-* "$kernel.tmp" && mv "$kernel.tmp" "$kernel"
  rm -rf "$tmp"
}

# boot_linux ROOT LOG [PARAM...]: ROOT's tree as the initramfs (ROOT/init is the runner), one boot;
# the console in LOG.raw while it runs (tail -f it to watch), then without carriage
# returns in LOG. Returns QEMU's or timeout's status (124: hung).
boot_linux() {
  local root=$1 log=$2 initrd=$dir/initrd.cpio.gz st=0 icount=()
  shift 2
  # Under -icount the counter counts instructions; randomised placement would make the
  # same run cost a different number each boot.
  [ "${ORACLE_ICOUNT:-}" = 1 ] &&
    icount=(-icount shift=0) && set -- "$@" norandmaps randomize_kstack_offset=off page_alloc.shuffle=0
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner 0:0 --quiet | gzip -1) >"$initrd"
  # loglevel=1: only emergencies on the console, so an OOM kill's report cannot land in
  # the middle of a program's output. PARAMs are added to the kernel's command line.
  timeout -k 5 "${ORACLE_BOOT_TIMEOUT:-3600}" qemu-system-aarch64 -M virt -cpu cortex-a72 -smp "$CPUS" -m "$MEM" \
    -nographic -no-reboot -nic none "${icount[@]}" -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyAMA0 rdinit=/init panic=-1 quiet loglevel=1 nokaslr $*" \
    </dev/null >"$log.raw" 2>&1 || st=$?
  tr -d '\r' <"$log.raw" >"$log" && rm -f "$log.raw"
  return "$st"
}

command -v qemu-system-aarch64 >/dev/null || fail "qemu-system-aarch64 missing (make setup installs it)"
command -v cpio >/dev/null || fail "cpio missing (make setup installs it)"
fetch_kernel
if [ -n "$boot_only" ]; then
  boot_linux "$boot_root" "$boot_log"
  exit
fi
runner=$(build_runner "$build")
root=$dir/root
rm -rf "$root"
mkdir -p "$root/oracle"
cp "$runner" "$root/init"

if [ -n "$expected" ]; then
  # The busybox scripts on Linux: their normalised output becomes NAME.expected.
  make_busybox_root "$build" "$root"
  log=$dir/busybox-linux.log
  start=$SECONDS
  boot_linux "$root" "$log" || fail "QEMU: status $? (see $log)"
  grep -q '^oracle: done ' "$log" || fail "the runner did not finish (see $log)"
  for script in tests/busybox/*.sh; do
    name=$(basename "$script" .sh)
    script_output "$log" "$name" >"tests/busybox/$name.expected"
    echo "  wrote tests/busybox/$name.expected ($(wc -l <"tests/busybox/$name.expected") lines, $(grep "^oracle: $name " "$log" | cut -d' ' -f3-))"
  done
  echo "busybox expected outputs regenerated on Linux $KVERSION, $CPUS CPUs, in $((SECONDS - start)) s"
  exit 0
fi

[ -d "$build/rootfs/bin" ] || fail "$build/rootfs/bin missing: run make build first"
mkdir -p "$root/bin"
cp -a "$build/rootfs/bin/." "$root/bin/"
# The dynamic programs (dyn_auxv) need their loader and libc at Debian's paths.
[ -d "$build/rootfs/lib" ] && cp -a "$build/rootfs/lib" "$root/"
names=()
for name in ${ORACLE_ONLY:-$(grep -v '^#' user/tests.list)}; do
  skip=
  for e in "${EXCLUDED[@]}"; do [ "${e%%:*}" = "$name" ] && { skip=1; break; }; done
  [ -n "$skip" ] && { echo "  skip  $name (excluded:${e#*:})"; continue; }
  for e in "${AS_INIT[@]}"; do [ "$e" = "$name" ] && skip=1; done
  [ -n "$skip" ] && continue # in a boot of its own, below
  [ -x "$root/bin/$name" ] || fail "/bin/$name is not in $build/rootfs: run make build"
  names+=("$name")
  echo "test $PER_PROGRAM $name /bin/$name" >>"$root/oracle/list"
done

echo "== the test programs on Linux $KVERSION ($KPKG), $CPUS CPUs, $MEM, one boot"
log=$dir/linux.log
start=$SECONDS
st=0
boot_linux "$root" "$log" || st=$?
passed=0 failed=0
for name in "${names[@]}"; do
  verdict=$(grep -E "^oracle: $name (ok|FAILED)" "$log" | head -1 || true)
  if [ "$verdict" = "oracle: $name ok" ]; then
    echo "  ok    $name"; passed=$((passed + 1))
  else
    echo "  FAIL  $name: ${verdict#oracle: $name FAILED: }"
    [ -n "$verdict" ] && sed -n "/^oracle: $name FAILED/,/^oracle: [^ ]* \(ok\|FAILED\)/p" "$log" |
      grep '^oracle:     ' | sed 's/^oracle:     /        /' || true
    [ -z "$verdict" ] && echo "        no verdict (the boot ended early: QEMU status $st; see $log)"
    failed=$((failed + 1))
  fi
done

# The pid-1 boots: the program's own lines are on the console, and Linux ends the boot
# with "Attempted to kill init! exitcode=0x..." (the wait status) when init exits.
for name in "${AS_INIT[@]}"; do
  [ -n "${ORACLE_ONLY:-}" ] && ! grep -qw -- "$name" <<<"$ORACLE_ONLY" && continue
  echo "init $PER_PROGRAM $name /bin/$name" >"$root/oracle/list"
  ilog=$dir/linux-init-$name.log
  (ORACLE_BOOT_TIMEOUT=$((PER_PROGRAM + 60)) && boot_linux "$root" "$ilog" $AS_INIT_PARAMS) || true
  code=$(grep -ao 'Attempted to kill init! exitcode=0x[0-9a-f]*' "$ilog" | head -1 | sed 's/.*=//')
  if grep -aqx "$name: ok" "$ilog" && [ "$((code))" = 0 ] && [ -n "$code" ]; then
    echo "  ok    $name (as pid 1)"; passed=$((passed + 1))
  else
    echo "  FAIL  $name (as pid 1): exit status ${code:-unknown}; last lines:"
    grep -av '^\[' "$ilog" | tail -8 | sed 's/^/        /'
    failed=$((failed + 1))
  fi
done
echo "$passed passed on Linux, $failed failed ($((SECONDS - start)) s; log $log)"
[ "$failed" = 0 ]
