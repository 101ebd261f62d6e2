#!/usr/bin/env bash
# The whole test suite (`make test`): host unit tests, user programs under QEMU, and
# end-to-end checks of the tools students use. Ends with "N passed, N failed".
#   usage: test.sh TARGET_DIR BUILD_DIR      (ONLY=unit|miri|qemu|labs|busybox|debian|trace|bench|e2e|rr runs one part;
#   ONLY=unit runs the host unit tests both natively and under Miri;
#   TESTS="a b" runs only those programs of user/tests.list; DEV_PASS=0 skips the
#   1-CPU dev-kernel pass; LABS="3 4" only those labs)
set -uo pipefail
out=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/qemu.sh"
pass=0 fail=0
ok()  { echo "  ok    $1"; pass=$((pass + 1)); }
bad() { echo "  FAIL  $1: $2"; fail=$((fail + 1)); }
want() { [ -z "${ONLY:-}" ] || [ "$ONLY" = "$1" ]; }
# In a lab skeleton (labs/current, written by ci/skeleton.py) plain `make test` runs the
# lab's graded tests and the checks no lab stubs; the other parts run with ONLY=part and
# fail where they need a mechanism the student has not written yet.
if [ -f labs/current ] && [ -z "${ONLY:-}" ]; then
  want() { [ "$1" = labs ] || [ "$1" = kernel ]; }
fi

if want unit; then
  host=$(rustc -vV | sed -n 's/^host: //p')   # this computer's target
  echo "== host unit tests (cargo test, $host)"
  log=$build/unit.log
  cargo test --lib -p kernel --target "$host" >"$log" 2>&1
  line=$(grep -E '^test result:' "$log" | tail -1)
  n_ok=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$line")
  n_bad=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
  if [ -z "$n_ok" ]; then
    bad "cargo test" "did not run (see $log)"; tail -20 "$log"
  else
    grep -E '^test .* FAILED$' "$log" | sed 's/^/  FAIL  /'
    pass=$((pass + n_ok)); fail=$((fail + n_bad))
    echo "  $n_ok unit tests passed, $n_bad failed"
  fi
fi

if want unit || want miri; then
  echo "== host unit tests under Miri (make miri: undefined behaviour, leaks)"
  log=$build/miri.log
  start=$SECONDS
  make -s miri >"$log" 2>&1
  line=$(grep -E '^test result:' "$log" | tail -1)
  n_ok=$(sed -n 's/.* \([0-9]*\) passed.*/\1/p' <<<"$line")
  n_bad=$(sed -n 's/.* \([0-9]*\) failed.*/\1/p' <<<"$line")
  if [ -z "$n_ok" ]; then
    # Miri stops the whole run at the first undefined behaviour: no summary line.
    bad "cargo miri test" "did not finish (see $log)"
    grep -E -m1 -A12 '^error: (Undefined Behavior|memory leaked)' "$log" || tail -20 "$log"
  else
    grep -E '^test .* FAILED$' "$log" | sed 's/^/  FAIL  /'
    pass=$((pass + n_ok)); fail=$((fail + n_bad))
    echo "  $n_ok unit tests passed under Miri, $n_bad failed ($((SECONDS - start)) s)"
  fi
fi

if want kernel; then
  echo "== the kernel binary"
  if "$here/check-no-fpsimd.sh" "$build/kernel" >"$build/fpsimd-check.log" 2>&1; then
    ok "no FP/SIMD instruction outside fpsimd_save_state/fpsimd_load_state ($(grep -o '[0-9]* instructions in' "$build/fpsimd-check.log" | head -1) the kernel)"
  else
    bad "FP/SIMD in the kernel" "$(tail -1 "$build/fpsimd-check.log")"; head -5 "$build/fpsimd-check.log"
  fi
  if "$here/check-layers.py" >"$build/layers.log" 2>&1; then
    ok "module dependencies have no cycle (ci/check-layers.py: $(grep -c -- '->' "$build/layers.log") modules with imports)"
  else
    bad "module dependencies" "$(tail -1 "$build/layers.log")"
  fi
fi

# run_programs LABEL IMAGE_DIR INITRD CPUS [KERNEL_PARAMS]: every program of user/tests.list,
# one boot each; a program passes when it prints "NAME: ok", QEMU exits 0 and no frame leaked.
run_programs() {
  local label=$1 kdir=$2 initrd=$3 cpus=$4 params=${5:-} name log st result frames
  mkdir -p "$build/tests"
  for name in ${TESTS:-$(grep -v '^#' user/tests.list)}; do
    log=$build/tests/$name$label.log
    (build=$kdir INITRD=$initrd CPUS=$cpus && qemu_boot "$log" "semihosting${params:+ $params} init=/bin/$name")
    st=$?
    result=$(grep -E "^$name: (ok|FAILED)" "$log" | head -1)
    frames=$(grep -E '^kernel: init exited' "$log")
    if [ $st = 124 ]; then
      bad "$name$label" "timed out after ${QEMU_TIMEOUT}s; last lines:"; tail -5 "$log" | sed 's/^/        /'
    elif [ "$result" != "$name: ok" ]; then
      bad "$name$label" "${result:-no result line} (exit $st; log $log)"; tail -8 "$log" | sed 's/^/        /'
    elif grep -q LEAK <<<"$frames"; then
      bad "$name$label" "frames leaked: $frames"
    elif [ $st != 0 ]; then
      bad "$name$label" "QEMU exit status $st"
    else
      ok "$name$label"
    fi
  done
}

if want qemu; then
  echo "== user programs under QEMU, ${CPUS:-4} CPUs (one boot each, ${QEMU_TIMEOUT}s timeout)"
  run_programs "" "$build" "$build/initrd.cpio" "${CPUS:-4}"
  # Once more on one CPU, with the checked kernel (Cargo.toml's profile.checked: debug
  # assertions, overflow checks and the lock-order check of every lock acquisition,
  # src/sync/ordered.rs) — a separate build (ci/dev-kernel.sh, incremental) — and with
  # fork=odf: on-demand fork (src/mm/odf.rs) under every test program.
  if [ "${DEV_PASS:-1}" = 0 ]; then
    echo "== (DEV_PASS=0: the 1-CPU checked-kernel pass skipped)"
  else
    echo "== the same programs on 1 CPU, checked kernel, fork=odf (overflow and lock-order checks)"
    if ! "$here/dev-kernel.sh" "$out/../.." "$build" >"$build/dev-kernel.log" 2>&1; then
      bad "checked kernel" "does not build (see $build/dev-kernel.log)"
    else
      run_programs " (1 CPU, dev kernel, fork=odf)" "$build/dev" "$build/dev/initrd.cpio" 1 fork=odf
    fi
  fi
fi

if want labs; then
  # The labs block (docs/labs/README.md, labs/README.md). In the full tree: for every
  # labs/labN.toml, the tree scores full marks; its student skeleton (ci/skeleton.py)
  # builds with no warnings, boots to /bin/hello and scores less; every deliberately
  # wrong solution (labs/labN-wrong-*.patch) scores less. Skeletons are built one after
  # the other at one path with one target dir, so cargo rebuilds only what they change.
  # In a skeleton (labs/current): the lab's graded tests, one line each.
  if [ -f labs/current ]; then
    lab=$(cat labs/current)
    echo "== lab $lab skeleton: make grade LAB=$lab (docs/labs/lab$lab.md)"
    "$here/grade.sh" "$lab" "$out" "$build" >"$build/grade-lab$lab.log" 2>&1
    while read -r name verdict points; do
      case $verdict in
        OK) ok "lab $lab: $name $points" ;;
        FAIL) bad "lab $lab: $name $points" "$(sed -n "/^$name  *FAIL/,/log:/p" "$build/grade-lab$lab.log" | sed -n 2p | sed 's/^ *//') (see $build/grade-lab$lab.log)" ;;
      esac
    done < <(grep -E '^[a-z0-9_:]+ +(OK|FAIL) ' "$build/grade-lab$lab.log")
  else
    labs_start=$SECONDS
    skel=$build/skeleton starget=$build/skeleton-target
    sout=$starget/aarch64-unknown-none/release
    # skel_build DIR LOG: a copy of the tree built like `make build`, reusing the main
    # build's C programs and busybox (build-extra.sh keeps files newer than their sources).
    # Incremental: the copies differ in a few functions, so after the first the kernel
    # builds in well under half the time (18 s instead of 42 s here).
    skel_build() {
      mkdir -p "$1/build"
      cp -a "$build/extra-bin" "$build/extra-lib" "$1/build/" 2>/dev/null
      [ -e "$build/busybox" ] && cp -a "$build/busybox" "$1/build/"
      (cd "$1" && CARGO_INCREMENTAL=1 CARGO_TARGET_DIR=$starget make -s build) >"$2" 2>&1
    }
    for toml in labs/lab*.toml; do
      lab=${toml#labs/lab}; lab=${lab%.toml}
      [ -z "${LABS:-}" ] || [[ " $LABS " == *" $lab "* ]] || continue
      if "$here/grade.sh" "$lab" "$out" "$build" >"$build/grade-lab$lab.log" 2>&1; then
        ok "lab $lab: full tree $(tail -1 "$build/grade-lab$lab.log")"
      else
        bad "lab $lab" "full tree: $(tail -1 "$build/grade-lab$lab.log") (see $build/grade-lab$lab.log)"
        grep -A2 ' FAIL ' "$build/grade-lab$lab.log" | head -6 | sed 's/^/        /'
      fi
      rm -rf "$skel"
      slog=$build/skeleton-lab$lab.log
      if ! "$here/skeleton.py" "$lab" "$skel" >"$slog" 2>&1 || ! skel_build "$skel" "$slog.build"; then
        bad "lab $lab skeleton" "does not build (see $slog, $slog.build)"; continue
      fi
      if grep -E '^(warning|error)' "$slog.build" >/dev/null; then
        bad "lab $lab skeleton" "builds with warnings: $(grep -m1 -E '^(warning|error)' "$slog.build") (see $slog.build)"
      fi
      if ! (cd "$skel" && cargo fmt --all -- --check) >"$slog.fmt" 2>&1; then
        bad "lab $lab skeleton" "is not formatted as make lint wants: a stub in labs/lab$lab.toml (see $slog.fmt)"
      fi
      log=$build/skeleton-lab$lab-boot.log
      (build=$skel/build && qemu_boot "$log" "semihosting init=/bin/hello")
      if ! grep -q '^hello from user space' "$log" || ! grep -q '^kernel: init exited' "$log"; then
        bad "lab $lab skeleton" "does not boot to /bin/hello and power off (see $log)"; continue
      fi
      (cd "$skel" && GRADE_TIMEOUT=20 CARGO_TARGET_DIR=$starget ci/grade.sh "$lab" "$sout" "$skel/build") >"$build/skeleton-lab$lab-grade.log" 2>&1
      score=$(tail -1 "$build/skeleton-lab$lab-grade.log")
      if [[ "$score" =~ ^Score:\ ([0-9]+)/([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -lt "${BASH_REMATCH[2]}" ]; then
        ok "lab $lab skeleton: no warnings, boots, $score ($(grep -c 'not implemented yet' "$build/skeleton-lab$lab-grade.log" | tr -d ' ') stub messages)"
      else
        bad "lab $lab skeleton" "expected a lower score, got '$score' (see $build/skeleton-lab$lab-grade.log)"
      fi
      # Deliberately wrong solutions: a copy of the tree with the patch applied.
      for patch in labs/lab"$lab"-wrong-*.patch; do
        [ -e "$patch" ] || continue
        what=$(basename "$patch" .patch)
        rm -rf "$skel"; mkdir -p "$skel"
        git ls-files -z | xargs -0 cp -a --parents -t "$skel" 2>/dev/null
        # Its own repository: git apply in a directory of another silently skips the patch.
        if ! (cd "$skel" && git init -q && git apply --verbose "$here/../$patch") >"$build/$what.log" 2>&1 ||
          ! skel_build "$skel" "$build/$what.build.log"; then
          bad "$what" "does not apply or build (see $build/$what.log, $build/$what.build.log)"; continue
        fi
        (cd "$skel" && GRADE_TIMEOUT=20 CARGO_TARGET_DIR=$starget ci/grade.sh "$lab" "$sout" "$skel/build") >"$build/$what-grade.log" 2>&1
        score=$(tail -1 "$build/$what-grade.log")
        if [[ "$score" =~ ^Score:\ ([0-9]+)/([0-9]+)$ ]] && [ "${BASH_REMATCH[1]}" -lt "${BASH_REMATCH[2]}" ]; then
          ok "$what ($(sed -n '1s/^# *//p' "$patch")): $score, caught by $(grep -E '^[a-z0-9_:]+ +FAIL' "$build/$what-grade.log" | awk '{print $1}' | tr '\n' ' ')"
        else
          bad "$what" "a wrong solution got '$score' (see $build/$what-grade.log)"
        fi
      done
    done
    # make skeleton never overwrites: a student's copy (here: a marker file) survives.
    rm -rf "$skel"; mkdir -p "$skel"; echo "student work" >"$skel/mine"
    if "$here/skeleton.py" 1 "$skel" >"$build/skeleton-refuse.log" 2>&1; then
      bad "make skeleton" "wrote over an existing directory"
    elif ! grep -q "already exists" "$build/skeleton-refuse.log" || [ "$(cat "$skel/mine")" != "student work" ]; then
      bad "make skeleton" "refused, but not clearly or not cleanly: $(cat "$build/skeleton-refuse.log")"
    else
      ok "make skeleton refuses an existing destination: $(cut -c1-60 "$build/skeleton-refuse.log")..."
    fi
    rm -rf "$skel"
    echo "  labs: $((SECONDS - labs_start)) s"
  fi
fi

if want busybox; then
  # tests/busybox/*.sh in one boot under busybox sh, each output compared with Linux's.
  echo "== busybox scripts, ${CPUS:-4} CPUs, one boot, compared with Linux (ci/busybox-suite.sh)"
  . "$here/busybox-suite.sh"
  busybox_suite "$build"
fi

if want debian; then
  # Debian 12's dynamically linked programs (docs/dynamic.md): one boot of a ROOTFS=debian
  # machine runs tests/debian/test.sh; its output must be what Linux 6.1 printed
  # (tests/debian/expected.txt, made by tests/debian/make-expected.sh).
  echo "== Debian programs (dynamic): bash, coreutils, grep, sed, gawk, find, ps, python3"
  if ! tree=$("$here/fetch-debian-rootfs.sh" "$build" 2>"$build/debian-fetch.log"); then
    bad "Debian root" "could not be fetched: $(tail -1 "$build/debian-fetch.log")"
  else
    dir=$build/debian log=$build/debian/boot.log
    rm -rf "$dir"; mkdir -p "$dir/overlay/root"
    # mkinitrd.sh's inputs from the main build; the fetched tree is reused as it is.
    ln -s "$build/System.map" "$dir/System.map"; ln -s "$build/extra-bin" "$dir/extra-bin"
    ln -s "$tree" "$dir/rootfs-debian"
    cp tests/debian/test.sh "$dir/overlay/root/test.sh"
    if ! aarch64-linux-gnu-gcc -static -O2 -Wall -o "$dir/overlay/root/run" tests/debian/run.c 2>"$dir/gcc.log" ||
      ! ROOTFS=debian "$here/mkinitrd.sh" "$out" "$dir" "" "$dir/overlay" >"$dir/mkinitrd.log" 2>&1; then
      bad "Debian root" "the machine's root could not be built (see $dir/gcc.log, $dir/mkinitrd.log)"
    else
      (INITRD=$dir/initrd.cpio MEM=1G QEMU_TIMEOUT=300 && qemu_boot "$log" "semihosting init=/root/run -- /root/test.sh")
      st=$?
      sed -n '/^== bash/,$p' "$log" | sed -f tests/debian/normalise.sed >"$dir/output.txt"
      frames=$(grep -E '^kernel: init exited' "$log")
      if [ $st = 124 ]; then
        bad "Debian script" "timed out; last lines:"; tail -5 "$log" | sed 's/^/        /'
      elif ! diff -u tests/debian/expected.txt "$dir/output.txt" >"$dir/output.diff"; then
        bad "Debian script" "output differs from Linux's ($(grep -c '^[-+][^-+]' "$dir/output.diff") lines; $dir/output.diff):"
        head -20 "$dir/output.diff" | sed 's/^/        /'
      elif [ $st != 0 ] || grep -q LEAK <<<"$frames"; then
        bad "Debian script" "QEMU exit status $st; $frames"
      else
        ok "Debian script: $(wc -l <tests/debian/expected.txt) lines as on Linux 6.1 (bash, coreutils, grep, sed, gawk, find, ps, python3)"
      fi
    fi
  fi
fi

if want trace; then
  # Logging and tracing (docs/tracing.md): log= lines, /proc/trace, the power-off dump
  # and ci/trace.py's timelines, on real boots; the frame baseline holds with tracing on.
  echo "== logging and tracing: log=debug, trace=, /proc/trace, ci/trace.py (docs/tracing.md)"
  dir=$build/trace-test; mkdir -p "$dir"
  # leak_line LOG: the leak check's line if frames are back at the baseline, else nothing.
  leak_ok() { grep -E '^kernel: init exited' "$1" | grep -v LEAK; }
  log=$dir/log-debug.log
  (CPUS=2 && qemu_boot "$log" "semihosting log=debug init=/bin/forkdemo")
  st=$?
  parent=$(sed -n 's/.*DEBUG proc    forkdemo\[\([0-9]*\)\] fork: child \([0-9]*\),.*/\1 \2/p' "$log" | head -1)
  set -- $parent
  if [ $st != 0 ] || [ -z "$parent" ]; then
    bad "log=debug" "no fork line (exit $st; $log)"
  elif ! grep -qE "DEBUG cow     forkdemo\[$2\] write 0x[0-9a-f]+: copy-on-write, frame 0x[0-9a-f]+ copied to 0x[0-9a-f]+" "$log"; then
    bad "log=debug" "no COW-copy line for the child $2 ($log)"
  elif ! grep -qE "DEBUG cow     forkdemo\[$1\] write 0x[0-9a-f]+: copy-on-write, frame 0x[0-9a-f]+ reused" "$log"; then
    bad "log=debug" "no COW-reuse line for the parent $1 ($log)"
  elif ! grep -q "DEBUG proc    forkdemo\[$2\] exit: status 0" "$log" || ! grep -q "DEBUG proc    forkdemo\[$1\] exit: status 0" "$log"; then
    bad "log=debug" "no exit line for $2 and $1 ($log)"
  elif grep -q ' TRACE ' "$log" || ! leak_ok "$log" >/dev/null; then
    bad "log=debug" "TRACE lines at debug level, or frames leaked ($log)"
  else
    ok "log=debug: fork $1 -> $2, the child's COW copy, the parent's COW reuse, both exits; no leak"
  fi
  log=$dir/log-trace.log
  (CPUS=1 && qemu_boot "$log" "semihosting log=trace:syscall init=/bin/forkdemo")
  if grep -qE 'TRACE syscall forkdemo\[1\] clone\(17, 0, 0, 0, 0\) = 2$' "$log" &&
    grep -qE 'TRACE syscall forkdemo\[1\] wait4\(2, 0x[0-9a-f]+, 0, 0\) = 2$' "$log" &&
    grep -qE 'TRACE syscall forkdemo\[1\] exit_group\(0\) = \?$' "$log" && ! grep -q 'DEBUG' "$log"; then
    ok "log=trace:syscall: clone, wait4 and exit_group as strace shows them, nothing else"
  else
    bad "log=trace:syscall" "missing system-call lines ($log)"
  fi
  # /proc/trace read by a shell after forkdemo ran with recording switched on at run time.
  log=$dir/proc-trace.log
  (CPUS=2 && qemu_boot "$log" 'semihosting init=/bin/sh -- -c "echo proc,cow,syscall > /proc/trace; /bin/forkdemo; echo off > /proc/trace; echo ==== trace ====; cat /proc/trace; echo ==== end of trace ====; echo nonsense > /proc/trace || echo refused"')
  st=$?
  if [ $st = 0 ] && "$here/trace.py" --check "$log" sys_enter:call=execve sched_process_exec:filename=/bin/forkdemo \
    sys_enter:call=clone,pid='$p' sched_process_fork:pid='$p',child_pid='$c' \
    mm_cow_fault:pid='$c',how=copied sched_process_exit:pid='$c' sys_exit:call=wait4,pid='$p' \
    mm_cow_fault:pid='$p',how=reused sched_process_exit:pid='$p' >"$dir/check.log" &&
    grep -q '^refused$' "$log" && leak_ok "$log" >/dev/null; then
    ok "/proc/trace: exec, clone, fork, the child's COW copy and exit, wait4, the parent's COW reuse and exit, in order; a bad write refused"
  else
    bad "/proc/trace" "$(tail -1 "$dir/check.log") (exit $st; $log)"
  fi
  # make trace's path: trace=on, the power-off dump, the timelines.
  log=$dir/dump.log
  (CPUS=2 && qemu_boot "$log" "semihosting trace=on trace_buf=16384 init=/bin/forkdemo" -icount shift=0)
  if "$here/trace.py" "$log" "$dir/timeline" >"$dir/convert.log" &&
    grep -q 'fork: child 2 (SIGCHLD)' "$dir/timeline.txt" && grep -q '^== forkdemo\[2\]' "$dir/timeline.txt" &&
    grep -q 'COW fault at 0x[0-9a-f]*: frame 0x[0-9a-f]* copied to' "$dir/timeline.txt" &&
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["traceEvents"]; n=[x["name"] for x in e]; sys.exit(not ("clone" in n and "wait4" in n and any(x.get("cat")=="sched_process_fork" for x in e) and any(x.get("cat")=="mm_cow_fault" and x["pid"]==2 for x in e)))' "$dir/timeline.json" &&
    grep -q '<svg' "$dir/timeline.html" && leak_ok "$log" >/dev/null; then
    ok "trace=on: power-off dump -> ci/trace.py timelines (txt, Chrome JSON, HTML) with the fork, COW faults, clone/wait4"
  else
    bad "trace=on timelines" "$(tail -1 "$dir/convert.log") ($log, $dir/timeline.*)"
  fi
  # gdb/trace.py: the ring read by gdb at the power-off, and recording switched off.
  log=$dir/gdb.log
  qpid=
  if qemu_start_halted "$dir/gdb-console.log" "semihosting trace=on init=/bin/forkdemo"; then
    timeout 120 gdb-multiarch -q -nx -batch "$build/kernel" -x gdb/teachos.gdb \
      -ex "target remote 127.0.0.1:$port" -ex "break kernel::boot::shutdown" -ex continue \
      -ex "trace-dump" -ex "trace-off" -ex "trace-on proc,cow" -ex kill >"$log" 2>&1
  fi
  kill $qpid 2>/dev/null; wait $qpid 2>/dev/null
  if ! grep -qE 'Traceback|Python Exception|^Error' "$log" &&
    "$here/trace.py" --check "$log" sched_process_exec:filename=/bin/forkdemo sched_process_fork:child_pid='$c' \
      mm_cow_fault:pid='$c',how=copied sched_process_exit:pid='$c' sched_process_exit:pid=1 >/dev/null &&
    grep -q '^trace-off: ACTIVE = 0x0$' "$log" && grep -q '^trace-on: recording proc,cow (ACTIVE = 0x88)$' "$log"; then
    ok "gdb trace-dump: the ring's fork, COW copy and exits read by gdb at power-off; trace-off/trace-on set ACTIVE"
  else
    bad "gdb trace-dump" "see $log"
  fi
  # A small ring, overwritten many times by a fork loop: no frame leaks, the dump is whole.
  log=$dir/wrap.log
  (CPUS=2 && qemu_boot "$log" "semihosting trace=on trace_buf=256 init=/bin/fork_loop")
  lost=$(sed -n 's/^# teachos trace: 256 events in the buffer, [0-9]* recorded since boot, \([0-9]*\) overwritten$/\1/p' "$log")
  if grep -q '^fork_loop: ok' "$log" && [ "${lost:-0}" -gt 0 ] && leak_ok "$log" >/dev/null &&
    [ "$(sed -n '/^==== trace ====/,/^==== end of trace/p' "$log" | grep -c '^ *[0-9]*\.[0-9]\{9\} ')" = 256 ]; then
    ok "trace=on with a 256-event ring under fork_loop: $lost events overwritten, 256 dumped, no frame leaked"
  else
    bad "trace ring wrap-around" "fork_loop with trace_buf=256 (overwritten: ${lost:-none}; $log)"
  fi
fi

if want bench; then
  # The benchmark tooling (docs/benchmarks.md, "Issue 15"), without the long benchmarks:
  # ci/bench_report.py and ci/bench_plots.py on the committed consoles of ci/bench-fixture/
  # (a table, results.tsv, well-formed SVG), and the QEMU plugin of `make profile` built
  # and run on a short boot (bench_sweep profile 0 2: two fork+exit+wait, a second or two).
  echo "== benchmark tooling: side-by-side report, plots, profile plugin"
  dir=$build/bench-test; rm -rf "$dir"; cp -r "$here/bench-fixture" "$dir"
  if ! python3 "$here/bench_report.py" "$dir" single sweep >"$dir/report.out" 2>&1; then
    bad "ci/bench_report.py" "failed on ci/bench-fixture ($dir/report.out)"
  elif ! grep -q "$(printf '^single\tnull system call (getppid)\t-\tlinux\t332$')" "$dir/bench/results.tsv" ||
       ! grep -q "$(printf '^sweep\tfork\t16\tteachos\t182250$')" "$dir/bench/results.tsv" ||
       ! grep -q '^null system call (getppid) .* 266 .* 332 .* 0.80$' "$dir/report.out"; then
    bad "ci/bench_report.py" "the fixture's figures are not in results.tsv or the table ($dir)"
  elif ! python3 "$here/bench_plots.py" "$dir/bench" "$dir/svg" >"$dir/plots.out" 2>&1; then
    bad "ci/bench_plots.py" "failed ($dir/plots.out)"
  elif ! python3 - "$dir/svg" <<'PY'
import sys, xml.etree.ElementTree as ET
d = sys.argv[1]
ns = "{http://www.w3.org/2000/svg}"
want = {"sweep-fork.svg": 3, "sweep-exit.svg": 3, "sweep-cow.svg": 3, "single.svg": 0, "fork-profile.svg": 0}
for name, lines in want.items():
    root = ET.parse("%s/%s" % (d, name)).getroot()
    assert root.tag == ns + "svg", name
    assert len(root.findall(ns + "polyline")) == lines, name
    assert name.startswith("sweep") or len(root.findall(ns + "rect")) > 5, name
PY
  then
    bad "ci/bench_plots.py" "an SVG is not well-formed or lacks its lines or bars ($dir/svg)"
  else
    ok "ci/bench_report.py + ci/bench_plots.py on ci/bench-fixture: side-by-side table, results.tsv, 5 well-formed SVGs"
  fi
  if ! PROFILE_TOP=40 "$here/profile.sh" "$out" "$build" bench_sweep "profile 0 2" "$dir/profile" >"$dir/profile.out" 2>&1; then
    bad "make profile" "$(tail -1 "$dir/profile.out") ($dir/profile.out)"
  elif ! grep -q 'copy_process' "$dir/profile.txt" || ! grep -q '^# window [1-9][0-9]* instructions (start=0x' "$dir/profile.counts"; then
    bad "make profile" "no window or no copy_process in the profile ($dir/profile.txt)"
  else
    ok "make profile: the QEMU plugin builds and counts $(sed -n 's/^total //p' "$dir/profile.txt") in two fork+exit+wait, copy_process among them"
  fi
fi

if want e2e; then
  echo "== end-to-end: make run, INIT=, gdb-multiarch"
  . "$here/e2e.sh"
fi

if want e2e || want rr; then
  # Reverse debugging and the address-space pictures (docs/reverse-debugging.md,
  # docs/address-space-pictures.md): both documents are real sessions, re-created and
  # compared ignoring addresses, line numbers and symbol hashes. rr-walkthrough.py and
  # pictures.py check at each stop what the text says, so a session that runs but shows
  # something else fails too.
  echo "== reverse debugging (QEMU record/replay) and address-space pictures"
  # The Rust standard library's source paths differ between builds (/rustc/HASH/library, or
  # the toolchain's rust-src), and gdb prints a line of it only where it finds the file.
  rr_normalize() {
    sed -E '/^[0-9]+\t.*\/library\/.*: No such file or directory\.$/d
      s#(/rustc/[0-9a-f]{40}|/[^ ]*/lib/rustlib/src/rust)/library/#…/library/#g
      s/0x[0-9a-f]{6,}/0x…/g; s/\.rs:[0-9]+/.rs:N/g; s/line [0-9]+/line N/g; s/::h[0-9a-f]{16}/::h…/g
      s/17h[0-9a-f]{16}E\+[0-9]+/17h…E+N/g' "$1"
  }
  fresh=$build/reverse-debugging.md
  if ! "$here/rr-walkthrough.sh" "$out" "$build" "$fresh" >"$build/rr-walkthrough.out" 2>&1; then
    bad "reverse debugging" "$(tail -1 "$build/rr-walkthrough.out") (see $build/rr-walkthrough.log)"
  elif ! diff <(rr_normalize docs/reverse-debugging.md) <(rr_normalize "$fresh") >"$build/rr-walkthrough.diff"; then
    bad "docs/reverse-debugging.md" "stale: run 'make rr-walkthrough' (diff in $build/rr-walkthrough.diff)"; head -10 "$build/rr-walkthrough.diff" | sed 's/^/        /'
  else
    ok "make rr + replay: from the child's COW fault, reverse-continue on the parent's PTE stops in copy_present_pte (copy_process, kernel_clone); reverse-stepi: the entry was RW; again: execve's loader; docs/reverse-debugging.md is current"
  fi
  fresh=$build/pictures
  rm -rf "$fresh"
  if ! "$here/pictures.sh" "$out" "$build" "$fresh" >"$build/pictures.out" 2>&1; then
    bad "address-space pictures" "$(tail -1 "$build/pictures.out") (see $build/pictures.log)"
  else
    stale=
    for name in $( (ls -p docs/pictures | grep -v /; ls "$fresh") | sort -u); do
      cmp -s <(rr_normalize "docs/pictures/$name" 2>/dev/null) <(rr_normalize "$fresh/$name" 2>/dev/null) || stale="$stale $name"
    done
    if [ -n "$stale" ]; then
      bad "docs/pictures" "stale:$stale: run 'make pictures'"
    else
      ok "make pictures: aspace-svg before fork, after copy_process (COW_PAGE one frame, RO+COW, count 2), after the COW fault (a private copy); docs/pictures/*.svg are current"
    fi
  fi
  if line=$("$here/rr-typed-check.sh" "$out" "$build"); then
    ok "make rr records typed keys: $line"
  else
    bad "make rr, typed keys" "$line"
  fi
  if pgrep -f "qemu-system-aarch64.*$build/rr-(walkthrough|typed)/Image" >/dev/null; then
    bad "QEMU cleanup" "a replaying QEMU was left running"
  fi
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
