#!/usr/bin/env bash
# Builds the test programs that are not in the Rust workspace into BUILD_DIR/extra-bin/
# (mkinitrd.sh puts them in /bin with the others):
#   glibc_mem   user/c/glibc_mem.c: static glibc (aarch64-linux-gnu-gcc -static)
#   user/c/tests/*.c: test programs in C, each one file, static glibc (NAME.c -> /bin/NAME);
#               user/c/tests/common.h is their shared header
#   user/c/bench/*.c: benchmark programs in C (ci/bench.sh), likewise
#   user/c/dynamic/*.c: dynamically linked glibc programs (PIE, PT_INTERP); their two
#               libraries, ld-linux-aarch64.so.1 and libc.so.6 (~1.8 MB), go to
#               BUILD_DIR/extra-lib/, which mkinitrd.sh puts in /lib as Debian has them
#   bss_only    user/c/bss_only.c + bss_only.ld, no libc; then ci/elf-bss-past-eof.py moves
#               its file-less segment's p_offset past the end of the file
#   user/std/src/bin/*.rs: Rust std programs for aarch64-unknown-linux-musl (own cargo
#               package; its target dir is TARGET_DIR/user-std)
# and fetches Debian's busybox-static into BUILD_DIR/busybox (ci/fetch-busybox.sh, once;
# mkinitrd.sh makes it /bin/sh): if that fails, a warning, and the machine's /bin/sh is
# the project's own shell, tsh.
# gcc runs only when its output is older than its inputs; cargo is incremental.
#   usage: build-extra.sh TARGET_DIR BUILD_DIR
set -euo pipefail
[ $# = 2 ] || { sed -n '2,14p' "$0"; exit 2; }
mkdir -p "$1" "$2/extra-bin"
target=$(cd "$1" && pwd) bin=$(cd "$2" && pwd)/extra-bin
CC=aarch64-linux-gnu-gcc
# Without the cross C compiler (Debian: gcc-aarch64-linux-gnu), which also links the
# Rust-std programs, only those programs are missing: `make run` still boots to a shell,
# `make test` reports the missing ones.
have_cc=y
$CC --version >/dev/null 2>&1 || {
  have_cc=
  echo "note: no $CC: the C and Rust-std test programs are not built (make run works without them;" >&2
  echo "  make test needs them: sudo apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)" >&2
}

# fresh OUT IN...: OUT exists and is newer than every IN.
fresh() {
  local out=$1; shift
  [ -f "$out" ] || return 1
  for f in "$@"; do [ "$out" -nt "$f" ] || return 1; done
}

if [ -n "$have_cc" ]; then
  fresh "$bin/glibc_mem" user/c/glibc_mem.c "$0" ||
    $CC -static -O2 -Wall -frounding-math -o "$bin/glibc_mem" user/c/glibc_mem.c -lm

  for src in user/c/tests/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    fresh "$bin/$name" "$src" user/c/tests/*.h "$0" ||
      $CC -static -O2 -Wall -Werror -o "$bin/$name" "$src" -lrt -lpthread
  done

  # user/c/bench/*.c: benchmark programs (ci/bench.sh), static glibc like the tests.
  for src in user/c/bench/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    fresh "$bin/$name" "$src" "$0" || $CC -static -O2 -Wall -Werror -o "$bin/$name" "$src"
  done

  mkdir -p "$2/extra-lib/aarch64-linux-gnu"
  # The compiler's own libc and loader: /usr/aarch64-linux-gnu/lib with Debian's cross gcc,
  # /lib/aarch64-linux-gnu on an AArch64 host, whose native gcc has this name too.
  lib=$(cd "$2" && pwd)/extra-lib sysroot=$(dirname "$($CC -print-file-name=libc.so.6)")
  for src in user/c/dynamic/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    fresh "$bin/$name" "$src" user/c/tests/*.h "$0" ||
      $CC -O2 -Wall -Werror -o "$bin/$name" "$src"
  done
  cmp -s "$sysroot/ld-linux-aarch64.so.1" "$lib/ld-linux-aarch64.so.1" ||
    cp "$sysroot/ld-linux-aarch64.so.1" "$lib/ld-linux-aarch64.so.1"
  cmp -s "$sysroot/libc.so.6" "$lib/aarch64-linux-gnu/libc.so.6" ||
    cp "$sysroot/libc.so.6" "$lib/aarch64-linux-gnu/libc.so.6"

  fresh "$bin/bss_only" user/c/bss_only.c user/c/bss_only.ld ci/elf-bss-past-eof.py "$0" || {
    $CC -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -O2 -Wall \
      -Wl,-T,user/c/bss_only.ld -Wl,--build-id=none -o "$bin/bss_only.tmp" user/c/bss_only.c
    python3 ci/elf-bss-past-eof.py "$bin/bss_only.tmp"
    mv "$bin/bss_only.tmp" "$bin/bss_only"
  }

  # user/std has its own .cargo/config.toml (target, linker), so cargo runs from there.
  (cd user/std && cargo build -q --release --locked --target-dir "$target/user-std")
  for src in user/std/src/bin/*.rs; do
    name=$(basename "$src" .rs)
    exe=$target/user-std/aarch64-unknown-linux-musl/release/$name
    cmp -s "$exe" "$bin/$name" || cp "$exe" "$bin/$name"
  done
fi

ci/fetch-busybox.sh "$2" >/dev/null ||
  echo "warning: no busybox (see above): the machine's /bin/sh will be tsh, the project's shell" >&2
