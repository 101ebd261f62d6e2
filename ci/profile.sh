#!/usr/bin/env bash
# `make profile`: where a program's instructions go, by function. Boots PROG (a program of
# user/src/bin/) as init on one CPU under -icount shift=0 with the QEMU TCG plugin
# ci/profile/insn_count.c, which counts the guest instructions executed at each address
# between the first runs of the program's functions profile_start and profile_stop (the
# whole run when it has none); ci/profile.py charges them to the functions of
# build/System.map's kernel (names demangled from build/kernel) and of the program, and
# prints the top ones with counts and percent.
# PROFILE_LINUX=1: the same program on Linux 6.1 instead (ci/oracle.sh's pinned kernel,
# booted as oracle.sh boots it, with the oracle runner as /init and PROG replacing it as
# pid 1), its functions named by /proc/kallsyms (read once in a boot of its own, with
# nokaslr the same every boot, and kept in BUILD_DIR/profile/linux-kallsyms-VERSION).
#   usage: profile.sh TARGET_DIR BUILD_DIR PROG ARGS [PREFIX]
#   writes PREFIX.counts (the plugin's), PREFIX.tsv (function, module, count) and
#   PREFIX.txt (the table); PREFIX defaults to BUILD_DIR/profile/PROG.
#   PROFILE_TOP=n lines (25); PROFILE_TIMEOUT=s (300); PROFILE_KARGS="fork=odf": more of the
#   kernel command line; PROFILE_SVG=file also draws the
#   bar chart (ci/bench_plots.py draws docs/pictures/bench/fork-profile.svg from the tsv).
# The plugin is compiled here with the host's C compiler (gcc or cc) when older than its
# source: QEMU 7.2's plugin API is declared in the file itself (Debian ships no header).
set -euo pipefail
[ $# -ge 4 ] || { sed -n '2,20p' "$0"; exit 2; }
out=$1 build=$2 prog=$3 args=$4 prefix=${5:-$2/profile/$3}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$build/profile" "$(dirname "$prefix")"
so=$build/profile/insn_count.so src=$here/profile/insn_count.c
if [ ! -f "$so" ] || [ "$so" -ot "$src" ]; then
  cc=$(command -v gcc || command -v cc) || { echo "profile: no host C compiler (apt-get install gcc)"; exit 1; }
  "$cc" -shared -fPIC -O2 -Wall -Wextra -Werror -fvisibility=hidden -o "$so.tmp" "$src" && mv "$so.tmp" "$so"
fi
elf=$out/$prog
[ -f "$elf" ] || { echo "profile: no $elf (PROG is one of user/src/bin/*.rs)"; exit 2; }
nm=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-nm
addr() { "$nm" "$elf" | awk -v s="$1" '$3 == s { print "0x" $1; exit }'; }
start=$(addr profile_start) stop=$(addr profile_stop)
window=
if [ -n "$start" ] && [ -n "$stop" ]; then
  window=",start=$start,stop=$stop"
else
  echo "profile: $prog has no profile_start/profile_stop: counting the whole boot"
fi
log=$prefix.console
rm -f "$prefix.counts"
plugin="$(cd "$(dirname "$so")" && pwd)/$(basename "$so"),out=$prefix.counts$window"
if [ "${PROFILE_LINUX:-0}" = 1 ]; then
  . "$here/busybox-suite.sh"
  runner=$(cd "$here/.." && build_runner "$build") || { echo "profile: the oracle runner does not build"; exit 1; }
  kernel=$(ls "$build"/oracle/vmlinuz-* 2>/dev/null | head -1)
  syms=$build/profile/linux-kallsyms-$(basename "${kernel:-none}")
  if [ -z "$kernel" ] || [ ! -s "$syms" ]; then
    # One boot that prints /proc/kallsyms (it also fetches the kernel the first time).
    root=$build/profile/linux-kallsyms-root
    rm -rf "$root"; mkdir -p "$root/bin" "$root/oracle" "$root/dev" "$root/proc" "$root/tmp"
    bb=$(cd "$here/.." && ci/fetch-busybox.sh "$build") || { echo "profile: no busybox (ci/fetch-busybox.sh)"; exit 1; }
    cp "$runner" "$root/init"; cp "$bb" "$root/bin/busybox"
    echo "output 300 kallsyms /bin/busybox cat /proc/kallsyms" >"$root/oracle/list"
    ORACLE_CPUS=1 ORACLE_ICOUNT=1 "$here/oracle.sh" --boot "$build" "$root" "$build/profile/linux-kallsyms.log" ||
      { echo "profile: the Linux boot for /proc/kallsyms failed ($build/profile/linux-kallsyms.log)"; exit 1; }
    kernel=$(ls "$build"/oracle/vmlinuz-* | head -1)
    syms=$build/profile/linux-kallsyms-$(basename "$kernel")
    sed -n 's/^kallsyms| //p' "$build/profile/linux-kallsyms.log" | LC_ALL=C sort >"$syms"
    [ -s "$syms" ] || { echo "profile: no /proc/kallsyms from Linux"; exit 1; }
  fi
  root=$build/profile/linux-root
  rm -rf "$root"; mkdir -p "$root/bin" "$root/oracle" "$root/dev" "$root/proc" "$root/tmp"
  cp "$runner" "$root/init"; cp "$build/rootfs/bin/$prog" "$root/bin/"
  echo "init 600 $prog /bin/$prog $args" >"$root/oracle/list"
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner 0:0 --quiet | gzip -1) >"$build/profile/linux-initrd.cpio.gz"
  # The command line of ci/oracle.sh's boot_linux under ORACLE_ICOUNT=1. PROG is pid 1:
  # its exit ends the boot (Linux: "Attempted to kill init!").
  timeout -k 5 "${PROFILE_TIMEOUT:-300}" qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 1 -m "${MEM:-512M}" \
    -nographic -no-reboot -nic none -icount shift=0 -kernel "$kernel" -initrd "$build/profile/linux-initrd.cpio.gz" \
    -plugin "$plugin" \
    -append "console=ttyAMA0 rdinit=/init panic=-1 quiet loglevel=1 nokaslr norandmaps randomize_kstack_offset=off page_alloc.shuffle=0" \
    </dev/null 2>&1 | tr -d '\r' >"$log"
  grep -q "^oracle: running $prog as init\|^bench-sweep: profile" "$log" || grep -q . "$prefix.counts" ||
    { echo "profile: Linux did not run $prog (console $log)"; exit 1; }
  ksyms=$syms
else
  timeout -k 5 "${PROFILE_TIMEOUT:-300}" qemu-system-aarch64 -M virt -cpu cortex-a72 -smp 1 -m "${MEM:-256M}" \
    -nographic -nic none -no-reboot -semihosting-config enable=on,target=native \
    -kernel "$build/Image" -initrd "$build/initrd.cpio" -icount shift=0 -plugin "$plugin" \
    -append "semihosting${PROFILE_KARGS:+ $PROFILE_KARGS} init=/bin/$prog${args:+ -- $args}" </dev/null >"$log" 2>&1 ||
    { echo "profile: QEMU failed (status $?; console $log)"; exit 1; }
  grep -q 'init exited with status 0' "$log" || { echo "profile: $prog did not exit 0 (console $log)"; exit 1; }
  # The kernel's symbols demangled (System.map keeps the mangled names, for crash reports).
  "$nm" -n -C "$build/kernel" >"$build/profile/kernel.syms"
  ksyms=$build/profile/kernel.syms
fi
grep -h '^bench-sweep: profile' "$log" || true
"$nm" -n -C "$elf" >"$build/profile/$prog.syms"
python3 "$here/profile.py" "$prefix.counts" "$ksyms" "$build/profile/$prog.syms" \
  "$prefix.tsv" "${PROFILE_TOP:-25}" | tee "$prefix.txt"
if [ -n "${PROFILE_SVG:-}" ]; then
  python3 "$here/bench_plots.py" --profile "$prefix.tsv" "$PROFILE_SVG" "$prog $args"
fi
