#!/usr/bin/env bash
# The busybox script suite, differential: tests/busybox/NAME.sh run by busybox sh, in ONE
# boot of this kernel (4 CPUs), each script's output normalised by
# tests/busybox/normalise.sed and compared with tests/busybox/NAME.expected — what the same
# script printed on Linux 6.1 (`make oracle-expected`, ci/oracle.sh --expected). One
# "ok"/"FAIL" line per script, a unified diff under a failure.
#
# Both kernels boot the same tree (make_busybox_root): Debian's busybox-static
# (ci/fetch-busybox.sh) as /bin/busybox with a symlink per applet the scripts use, the
# scripts in /tests/busybox, and user/c/oracle/runner.c as /init, which runs each script
# as `/bin/sh /tests/busybox/NAME.sh` with a fresh /tmp, stdin /dev/null, a time limit,
# and prints its lines as "NAME| line" and then "oracle: NAME exit N".
#   usage: busybox-suite.sh BUILD_DIR     (ci/test.sh sources it and calls busybox_suite)
# Environment: CPUS (4), BUSYBOX_ONLY="name ..." (a subset).

# The applets the scripts may call; each is /bin/NAME -> busybox. A script that needs
# another one adds it here (and the expected files are regenerated).
BUSYBOX_APPLETS="sh ash cat cp cut date dd echo env expr false find grep head kill ln ls
  mkdir mv od printf ps pwd rm rmdir sed seq sleep sort tail tee test time touch tr true
  uname uniq wc xargs yes basename dirname awk stat"

# build_runner BUILD_DIR: compiles the runner (static glibc) when it is older than its
# source; prints its path.
build_runner() {
  local exe=$1/oracle/init src=user/c/oracle/runner.c
  mkdir -p "$1/oracle"
  if [ ! -f "$exe" ] || [ "$exe" -ot "$src" ]; then
    aarch64-linux-gnu-gcc -static -O2 -Wall -Werror -o "$exe.tmp" "$src" >&2 && mv "$exe.tmp" "$exe" || return 1
  fi
  echo "$exe"
}

# make_busybox_root BUILD_DIR ROOT: adds busybox, its applets, the scripts and the list of
# scripts for the runner (ROOT/init is the runner, put there by the caller) to ROOT.
make_busybox_root() {
  local build=$1 root=$2 bb name a
  bb=$(ci/fetch-busybox.sh "$build") || return 1
  mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/etc" "$root/tests/busybox" "$root/oracle"
  mkdir -m 1777 -p "$root/tmp"
  mkdir -m 0700 -p "$root/root"
  cp "$bb" "$root/bin/busybox"
  for a in $BUSYBOX_APPLETS; do ln -sf busybox "$root/bin/$a"; done
  # ls -l and ps name the owner from these files (busybox reads them itself).
  echo 'root:x:0:0:root:/root:/bin/sh' >"$root/etc/passwd"
  echo 'root:x:0:' >"$root/etc/group"
  cp tests/busybox/*.sh "$root/tests/busybox/"
  : >"$root/oracle/list"
  for name in ${BUSYBOX_ONLY:-$(cd tests/busybox && ls ./*.sh | sed 's|^\./||; s|\.sh$||')}; do
    echo "output ${BUSYBOX_TIMEOUT:-60} $name /bin/sh /tests/busybox/$name.sh" >>"$root/oracle/list"
  done
}

# script_output LOG NAME: NAME's lines from a runner's console log, normalised, and its
# ending ("exit N") as the last line.
script_output() {
  { grep -a "^$2| " "$1" | sed "s/^$2| //"
    grep -a "^oracle: $2 " "$1" | tail -1 | sed "s/^oracle: $2 /-- /"
  } | sed -f tests/busybox/normalise.sed
}

# busybox_suite BUILD_DIR: the suite on this kernel; uses ok/bad from ci/test.sh.
busybox_suite() {
  local build=$1 dir root runner log st name got
  dir=$build/busybox-suite root=$build/busybox-suite/root
  if ! runner=$(build_runner "$build"); then bad "busybox suite" "the runner does not build"; return; fi
  rm -rf "$root" && mkdir -p "$root"
  cp "$runner" "$root/init"
  if ! make_busybox_root "$build" "$root"; then bad "busybox suite" "no busybox (ci/fetch-busybox.sh failed)"; return; fi
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner 0:0 --quiet) >"$dir/initrd.cpio"
  log=$dir/console.log
  (INITRD=$dir/initrd.cpio CPUS=${CPUS:-4} QEMU_TIMEOUT=${BUSYBOX_BOOT_TIMEOUT:-600} && qemu_boot "$log" "semihosting init=/init")
  st=$?
  for name in $(sed -n 's/^output [0-9]* \([^ ]*\) .*/\1/p' "$root/oracle/list"); do
    got=$dir/$name.out
    script_output "$log" "$name" >"$got"
    if [ ! -f "tests/busybox/$name.expected" ]; then
      bad "busybox $name" "no tests/busybox/$name.expected (make oracle-expected writes it)"
    elif diff -u "tests/busybox/$name.expected" "$got" >"$dir/$name.diff"; then
      ok "busybox $name"
    else
      bad "busybox $name" "differs from Linux (- Linux, + this kernel):"
      sed 's/^/        /' "$dir/$name.diff" | head -60
    fi
  done
  if [ $st = 124 ]; then
    bad "busybox suite" "the boot timed out (log $log)"
  elif ! grep -q '^oracle: done ' "$log"; then
    bad "busybox suite" "the runner did not finish (QEMU status $st; log $log)"; tail -5 "$log" | sed 's/^/        /'
  elif grep -q LEAK "$log"; then
    bad "busybox suite" "frames leaked: $(grep -E '^kernel: init exited' "$log")"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -uo pipefail
  [ $# = 1 ] || { sed -n '2,14p' "$0"; exit 2; }
  build=$(cd "$1" && pwd)
  here=$(cd "$(dirname "$0")" && pwd)
  cd "$here/.."
  . "$here/qemu.sh"
  pass=0 fail=0
  ok()  { echo "  ok    $1"; pass=$((pass + 1)); }
  bad() { echo "  FAIL  $1: $2"; fail=$((fail + 1)); }
  busybox_suite "$build"
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
fi
