#!/usr/bin/env bash
# What docs/hosts.md promises other hosts, checked on this one by hiding Debian's names
# (a PATH of links to every program here, minus some, plus shims). Not a macOS or WSL2
# machine — the notes say so — but the project's own side of those notes:
#   macos-setup   no apt-get, no QEMU, `uname -s` = Darwin: ci/setup.sh names Homebrew's
#                 packages and fails (it cannot install them)
#   other-gdb     no gdb-multiarch, but Homebrew's aarch64-elf-gdb: the Makefile's GDB is it,
#                 and `make gdb` (gdb/session.sh) runs it to a breakpoint on kernel_main
# (Without the cross C compiler: e2e.sh's check 2i.)
# Prints "ok NAME" or "FAIL NAME: why" per check.
#   usage: hosts-check.sh BUILD_DIR     (after make build)
set -uo pipefail
# make test runs under make, which exports its own GDB: the Makefile must choose here.
unset GDB
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
sandbox() { # DIR HIDDEN...: DIR/bin holds a link to every program on PATH but HIDDEN
  local dir=$1 d f; shift
  rm -rf "$dir"; mkdir -p "$dir/bin"
  IFS=: read -ra dirs <<<"$PATH"
  for d in "${dirs[@]}"; do
    for f in "$d"/*; do
      [ -x "$f" ] && [ ! -e "$dir/bin/${f##*/}" ] && ln -s "$f" "$dir/bin/${f##*/}"
    done
  done
  for f in "$@"; do rm -f "$dir/bin/$f"; done
}

# macos-setup
sb=$build/hosts/macos
sandbox "$sb" apt-get qemu-system-aarch64 gdb-multiarch uname
printf '#!/bin/sh\n[ "$1" = -s ] && echo Darwin || echo arm64\n' >"$sb/bin/uname"; chmod +x "$sb/bin/uname"
out=$(PATH=$sb/bin bash ci/setup.sh 2>&1); st=$?
if [ $st != 0 ] && grep -q 'missing qemu-system-arm gdb-multiarch.*on macOS: brew install qemu aarch64-elf-gdb coreutils' <<<"$out"; then
  echo "ok macos-setup"
else
  echo "FAIL macos-setup: status $st, said: $out"
fi

# other-gdb
sb=$build/hosts/othergdb
sandbox "$sb" gdb-multiarch apt-get
ln -s "$(command -v gdb-multiarch)" "$sb/bin/aarch64-elf-gdb"
gdb=$(PATH=$sb/bin make -s --no-print-directory --eval 'show-gdb: ; @echo $(GDB)' show-gdb 2>&1)
port=$((25000 + RANDOM % 5000))
log=$build/hosts/othergdb.log
PATH=$sb/bin timeout 300 make -s gdb GDB_PORT=$port \
  GDBFLAGS="-batch -ex 'break kernel_main' -ex continue -ex 'bt 1' -ex kill" </dev/null >"$log" 2>&1
st=$?
if [ "$gdb" = "$sb/bin/aarch64-elf-gdb" ] && [ $st = 0 ] && grep -q 'Breakpoint 1, .*kernel_main' "$log"; then
  echo "ok other-gdb"
else
  echo "FAIL other-gdb: GDB=$gdb, make gdb status $st (log $log)"
fi

