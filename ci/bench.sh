#!/usr/bin/env bash
# `make bench`: boots the benchmark programs under -icount shift=0 (one guest instruction =
# one ns of virtual time), so the numbers are instruction counts and repeat exactly. Every
# single-CPU figure is measured on this kernel and on Linux 6.1 (Debian's arm64 kernel under
# the same QEMU, booted by ci/oracle.sh --boot with the project's oracle runner as /init),
# the same binary on both, in the same run:
#   1. single: user/src/bin/bench.rs on one CPU (-smp 1), as init here and as the runner's
#      child on Linux: the side-by-side table (teachos, Linux, ratio; docs/benchmarks.md).
#   2. sweep: user/src/bin/bench_sweep.rs, fork / exit / COW fault against the resident
#      size (0..64 MiB), on this kernel, on this kernel with fork=odf on the command line
#      (O(1) fork: last-level page tables shared copy-on-write; a kernel that does not
#      know the switch ignores it, and its curve is then the classic one), and on Linux.
#   3. smp: user/src/bin/bench_smp.rs: the same operations done by W workers at once, worker i
#      pinned to CPU i; one worker on one CPU, then one and SMP_CPUS (4) workers on
#      SMP_CPUS CPUs. The figure is the instructions *all* CPUs executed per operation
#      (QEMU advances the virtual clock with every vCPU's instructions), spinning included.
#      This kernel only.
#   4. userland: user/c/bench/bench_userland.c, what a shell user waits for (boot to the prompt, a
#      sh loop of `true`, a 100-stage pipeline, dynamic start-up of coreutils' true), in
#      one root tree booted on this kernel and on Linux 6.1 (ci/oracle.sh --boot), both on
#      one CPU under -icount: the side-by-side table of docs/benchmarks.md, "Issue 13".
#   5. profile: ci/profile.sh, instructions per kernel function of a small fork+exit+wait
#      (bench_sweep profile 0 10) through a QEMU TCG plugin (ci/profile/insn_count.c), on
#      this kernel and on Linux (its functions named by its /proc/kallsyms).
# Then ci/bench_report.py writes every figure to BUILD_DIR/bench/results.tsv and
# ci/bench_plots.py draws docs/pictures/bench/*.svg from it (`make bench-plots` redraws).
#   usage: bench.sh TARGET_DIR BUILD_DIR
#   BENCH_ONLY=single|sweep|smp|userland|profile runs one part (the SVGs are then redrawn
#   only by `make bench-plots`); BENCH_LINUX=0: no Linux boots (single, sweep, profile:
#   the Linux columns are then those of the last run that had them, if any);
#   BENCH_SIZES="0 1 2 4 8 16 32 64" (MiB, the sweep); BENCH_MEM (512M: the sweep's
#   machines, this kernel's and Linux's, have the same RAM);
#   SMP_CPUS=n (default 4); BENCH_TIMEOUT=s per boot (600); BENCH_SMP_ARGS="budget=MS
#   scale=PERCENT only=KEY,..." (bench_smp.rs)
set -uo pipefail
out=$1 build=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
QEMU_TIMEOUT=${BENCH_TIMEOUT:-600}
smp=${SMP_CPUS:-4}
smp_args=${BENCH_SMP_ARGS:-}
failed=0

# boot LOG CPUS CMDLINE
boot() {
  CPUS=$2 qemu_boot "$1" "$3" -icount shift=0
  local st=$?
  [ $st = 0 ] || { echo "bench: QEMU (-smp $2) exited with $st (log: $1)"; failed=1; }
}

want() { [ -z "${BENCH_ONLY:-}" ] || [ "$BENCH_ONLY" = "$1" ]; }

linux_on() { [ "${BENCH_LINUX:-1}" != 0 ]; }
mkdir -p "$build/bench"
# The commit the figures are measured at (ci/bench_report.py labels results.tsv with it),
# "-dirty" when a file differs from it (the pictures this script draws excepted).
if c=$(git -C "$here/.." rev-parse --short HEAD 2>/dev/null); then
  [ -z "$(git -C "$here/.." status --porcelain -- . ':!docs/pictures/bench' 2>/dev/null)" ] || c=$c-dirty
  echo "$c" >"$build/bench/commit"
else
  rm -f "$build/bench/commit"
fi

# linux_boot LOG NAME PROG [ARG...]: PROG (a program of the machine's /bin) on Linux, one
# CPU, -icount, as the oracle runner's child; its lines in LOG as "NAME| ...".
linux_boot() {
  local log=$1 name=$2 root=$build/bench/linux-root
  shift 2
  rm -rf "$root"; mkdir -p "$root/bin" "$root/oracle" "$root/dev" "$root/proc" "$root/tmp"
  local runner
  runner=$(cd "$here/.." && . "$here/busybox-suite.sh" && build_runner "$build") ||
    { echo "bench: the oracle runner does not build"; failed=1; return 1; }
  cp "$runner" "$root/init"
  cp "$build/rootfs$1" "$root/bin/"
  echo "output $QEMU_TIMEOUT $name $*" >"$root/oracle/list"
  ORACLE_CPUS=1 ORACLE_ICOUNT=1 ORACLE_MEM=${BENCH_MEM:-512M} ORACLE_BOOT_TIMEOUT=$QEMU_TIMEOUT \
    "$here/oracle.sh" --boot "$build" "$root" "$log" >"$log.oracle" 2>&1 ||
    { echo "bench: Linux did not run $name: $(tail -1 "$log.oracle")"; failed=1; return 1; }
  grep -q "^oracle: $name exit 0" "$log" || { echo "bench: $name failed on Linux (log $log)"; failed=1; return 1; }
}

if want single; then
boot "$build/bench.log" 1 "semihosting init=/bin/bench"
echo "One CPU (-smp 1), user/src/bin/bench.rs on teachos:"
grep '^bench:' "$build/bench.log"
grep -q 'FAILED\|panic' "$build/bench.log" && { echo "bench: bench.rs failed (log: $build/bench.log)"; failed=1; }
linux_on && rm -f "$build/bench/single-linux.log" && linux_boot "$build/bench/single-linux.log" bench /bin/bench
echo
python3 "$here/bench_report.py" "$build" single
echo
fi

if want sweep; then
sizes=${BENCH_SIZES:-0 1 2 4 8 16 32 64} mem=${BENCH_MEM:-512M}
for k in teachos teachos-odf; do
  opt=; [ $k = teachos-odf ] && opt=" fork=odf"
  log=$build/bench/sweep-$k.log
  MEM=$mem boot "$log" 1 "semihosting$opt init=/bin/bench_sweep -- $sizes"
  grep -q '^bench-sweep: done' "$log" || { echo "bench: bench_sweep failed on $k (log $log)"; failed=1; }
done
# shellcheck disable=SC2086
linux_on && rm -f "$build/bench/sweep-linux.log" && linux_boot "$build/bench/sweep-linux.log" bench_sweep /bin/bench_sweep $sizes
python3 "$here/bench_report.py" "$build" sweep
echo "(teachos ODF: booted with fork=odf; a kernel without the switch ignores it, and the"
echo " column then repeats the classic fork)"
echo
fi

if want smp; then
boot "$build/bench-smp1.log" 1 "semihosting init=/bin/bench_smp -- 1 $smp_args"
boot "$build/bench-smp$smp.log" "$smp" "semihosting init=/bin/bench_smp -- 1 $smp $smp_args"
grep -h 'FAILED\|panic' "$build/bench-smp1.log" "$build/bench-smp$smp.log" && failed=1

# The table: one row per benchmark, from the "bench-smp: W=n key value ..." lines of the
# two boots (one CPU; $smp CPUs).
{
  sed -n 's/^bench-smp: W=1 /one1 /p' "$build/bench-smp1.log"
  sed -n 's/^bench-smp: W=\([0-9]*\) /smp\1 /p' "$build/bench-smp$smp.log"
} | awk -v n="$smp" '
  function group(x,   s, r) {
    if (x == "") return "-"
    s = sprintf("%d", x); r = ""
    while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
    return s r
  }
  BEGIN {
    split("calibrate getppid first-touch cow fork fork-16MiB thread switch", order, " ")
    label["calibrate"] = "calibration loop (2,000,000)"; label["getppid"] = "null system call (getppid)"
    label["first-touch"] = "first touch (demand-zero fault)"; label["cow"] = "COW write fault, per page"
    label["fork"] = "fork+exit+wait"; label["fork-16MiB"] = "fork+exit+wait, 16 MiB touched"
    label["thread"] = "thread create+join"; label["switch"] = "context switch (sched_yield pair)"
  }
  { v[$1, $2] = $3; if ($0 ~ /capped/) cap[$1, $2] = 1 }
  END {
    printf "SMP, user/src/bin/bench_smp.rs: instructions executed by all CPUs per operation\n"
    printf "%-34s %12s %12s %14s %8s\n", "", "1 worker", "1 worker", n " workers", "ratio"
    printf "%-34s %12s %12s %14s %8s\n", "", "1 CPU", n " CPUs", n " CPUs", n "w/1w"
    for (i = 1; i in order; i++) {
      k = order[i]; a = v["one1", k]; b = v["smp1", k]; c = v["smp" n, k]
      if (a == "" && c == "") continue
      r = (a > 0 && c != "") ? (c / a >= 100 ? group(int(c / a + 0.5)) : sprintf("%.2f", c / a)) : "-"
      printf "%-34s %12s %12s %13s%s %8s\n", label[k], group(a), group(b), group(c), (cap["smp" n, k] ? "*" : " "), r
      if (cap["smp" n, k]) capped = 1
    }
    if (capped) printf "* capped: the phase passed its time budget (bench_smp budget=MS, default 2000 ms =\n  2e9 instructions); the figure is over the operations done. See docs/benchmarks.md.\n"
  }'
cat <<EOT
Worker i is pinned to CPU i; the raw lines (with when each worker finished) are in
$build/bench-smp1.log and $build/bench-smp$smp.log.
For scale: Linux 6.1 arm64 on the same QEMU (--smp 4, same binary) gives 4 workers / 1 worker
= 0.96-1.03 for every row but the context switch (its sched_yield does not switch).
EOT
fi

# 3. Userland, side by side with Linux. The tree (make_busybox_root's busybox and applets,
# bench_userland, coreutils' dynamically linked true with its loader and libc from the
# Debian root, the oracle runner as /init) is the same for both kernels; the runner starts
# bench_userland as its child and prints its lines as "bench_userland| ...".
if want userland; then
. "$here/busybox-suite.sh"
ub=$build/bench-userland root=$build/bench-userland/root
rm -rf "$ub"; mkdir -p "$root/oracle"
if ! runner=$(cd "$here/.." && build_runner "$build") || ! (cd "$here/.." && make_busybox_root "$build" "$root"); then
  echo "bench: the userland tree could not be built (runner or busybox)"; failed=1
else
  cp "$runner" "$root/init"
  cp "$build/extra-bin/bench_userland" "$root/bin/"
  echo "output 600 bench_userland /bin/bench_userland" >"$root/oracle/list"
  if tree=$("$here/fetch-debian-rootfs.sh" "$build" 2>"$ub/debian-fetch.log"); then
    mkdir -p "$root/usr/bin" "$root/lib/aarch64-linux-gnu"
    cp -L "$tree/usr/bin/true" "$root/usr/bin/true"
    cp -L "$tree/usr/lib/ld-linux-aarch64.so.1" "$root/lib/ld-linux-aarch64.so.1"
    cp -L "$tree/usr/lib/aarch64-linux-gnu/libc.so.6" "$root/lib/aarch64-linux-gnu/libc.so.6"
  else
    echo "bench: no Debian root for the dynamic true ($(tail -1 "$ub/debian-fetch.log"))"
  fi
  (cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner 0:0 --quiet) >"$ub/initrd.cpio"
  INITRD=$ub/initrd.cpio boot "$ub/teachos.log" 1 "semihosting init=/init"
  ORACLE_CPUS=1 ORACLE_ICOUNT=1 "$here/oracle.sh" --boot "$build" "$root" "$ub/linux.log" >"$ub/oracle.log" 2>&1 ||
    { echo "bench: Linux did not run the userland bench: $(tail -1 "$ub/oracle.log")"; failed=1; }
  for k in teachos linux; do
    grep -q '^bench_userland| bench_userland: ok' "$ub/$k.log" ||
      { echo "bench: bench_userland failed on $k (log $ub/$k.log)"; failed=1; }
  done
  {
    sed -n 's/^bench_userland| bench-userland: /teachos /p' "$ub/teachos.log"
    sed -n 's/^bench_userland| bench-userland: /linux /p' "$ub/linux.log"
  } | awk '
    function group(x,   s, r) {
      if (x == "" || x == "-") return "-"
      s = sprintf("%d", x); r = ""
      while (length(s) > 3) { r = "," substr(s, length(s) - 2) r; s = substr(s, 1, length(s) - 3) }
      return s r
    }
    BEGIN {
      n = split("boot boot-to-prompt sh-prompt sh-loop-1000 sh-loop pipeline static-true dyn-true", order, " ")
      label["boot"] = "reset to the first user program"; label["boot-to-prompt"] = "reset to the sh -i prompt"
      label["sh-prompt"] = "sh -i started to its prompt"; label["sh-loop-1000"] = "sh loop: /bin/true 1,000 times"
      label["sh-loop"] = "  per iteration (fork+execve+wait)"; label["pipeline"] = "100-stage pipeline (echo | cat ...)"
      label["static-true"] = "run static busybox true"; label["dyn-true"] = "run dynamic coreutils true"
    }
    { v[$1, $2] = $3 }
    END {
      printf "Userland, user/c/bench/bench_userland.c: instructions, one CPU, the same root tree\n"
      printf "%-38s %14s %14s %8s\n", "", "teachos", "Linux 6.1", "ratio"
      for (i = 1; i <= n; i++) {
        k = order[i]; a = v["teachos", k]; b = v["linux", k]
        r = (a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-"
        printf "%-38s %14s %14s %8s\n", label[k], group(a), group(b), r
      }
    }'
  echo "(ratio = teachos / Linux; the consoles: $ub/teachos.log, $ub/linux.log)"
fi
fi
if want profile; then
"$here/profile.sh" "$out" "$build" bench_sweep "profile 0 10" "$build/bench/fork-profile" || failed=1
echo
linux_on && { rm -f "$build/bench/fork-profile-linux.tsv"; PROFILE_LINUX=1 "$here/profile.sh" "$out" "$build" bench_sweep "profile 0 10" "$build/bench/fork-profile-linux" || failed=1; }
echo
fi

python3 "$here/bench_report.py" "$build" >/dev/null
# The pictures, from the whole run only (a part alone leaves the others' figures old).
[ -z "${BENCH_ONLY:-}" ] && { python3 "$here/bench_plots.py" "$build/bench" "$here/../docs/pictures/bench" || failed=1; }
[ $failed = 0 ] || exit 1
