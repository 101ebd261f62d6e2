#!/usr/bin/env bash
# Installs what building, running and testing need, when it is missing:
# QEMU (qemu-system-arm; qemu-utils for qemu-img), gdb-multiarch, cpio, gcc (the profile plugin), gcc-aarch64-linux-gnu (the C test programs, and
# the linker of the std ones); the aarch64-unknown-none(-softfloat) and aarch64-unknown-linux-musl Rust targets and
# the llvm-tools, rustfmt, clippy and rust-src components (RUSTUP_AUTO_INSTALL=0 installs nothing);
# and, for Miri only, a pinned nightly toolchain with the miri and rust-src components.
set -euo pipefail
# The nightly that runs the host unit tests under Miri (`make miri`, and the Miri part of
# `make test`); nothing else uses it. Bump the date here: the Makefile and ci/test.sh read
# this line.
MIRI_TOOLCHAIN=nightly-2026-05-20
missing=()
command -v qemu-system-aarch64 >/dev/null || missing+=(qemu-system-arm)
# Any gdb that speaks AArch64: Debian's gdb-multiarch, Homebrew's aarch64-elf-gdb (macOS).
command -v gdb-multiarch >/dev/null || command -v aarch64-elf-gdb >/dev/null ||
  command -v aarch64-linux-gnu-gdb >/dev/null || missing+=(gdb-multiarch)
command -v cpio >/dev/null || missing+=(cpio)
# qemu-img makes the qcow2 image that holds the snapshot of a recording (make rr, ci/rr.sh).
command -v qemu-img >/dev/null || missing+=(qemu-utils)
# For the end-to-end test with an unmodified static glibc program (user/c/).
command -v aarch64-linux-gnu-gcc >/dev/null || missing+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
# The host's own C compiler builds the QEMU plugin of `make profile` (ci/profile/insn_count.c).
command -v gcc >/dev/null || command -v cc >/dev/null || missing+=(gcc)

# Only `make test` needs that compiler (the C and Rust-std test programs): without root,
# say so and go on — ci/build-extra.sh skips those programs and `make run` works. On an
# AArch64 host the native gcc is the one (it has that name too).
if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
  others=()
  for p in "${missing[@]}"; do
    case $p in gcc-aarch64-linux-gnu|libc6-dev-arm64-cross) ;; *) others+=("$p") ;; esac
  done
  case $(uname -m) in aarch64|arm64) cross=(gcc libc6-dev) ;; *) cross=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;; esac
  if [ "$(id -u)" = 0 ]; then
    missing=("${others[@]}" "${cross[@]}")
  else
    missing=("${others[@]}")
    echo "setup: no aarch64-linux-gnu-gcc: the C and Rust-std test programs are skipped (make run" >&2
    echo "  works; make test needs them): sudo apt-get install ${cross[*]}" >&2
  fi
fi
if [ ${#missing[@]} -gt 0 ] && ! command -v apt-get >/dev/null; then
  # Not Debian or Ubuntu (docs/hosts.md): say what to install, in that system's words.
  if [ "$(uname -s)" = Darwin ]; then
    echo "setup: missing ${missing[*]}; on macOS: brew install qemu aarch64-elf-gdb coreutils" >&2
  else
    echo "setup: missing ${missing[*]} (Debian's names): install QEMU's qemu-system-aarch64 and" >&2
    echo "  qemu-img, a gdb for AArch64 and cpio with this system's package manager" >&2
  fi
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing packages; run: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$toolchain"; then
  rustup toolchain install "$toolchain" --profile minimal
fi
# The kernel: aarch64-unknown-none-softfloat (no FP/SIMD codegen); user programs:
# aarch64-unknown-none; the std test programs in user/std: aarch64-unknown-linux-musl.
targets=$(rustup target list --installed --toolchain "$toolchain")
for t in aarch64-unknown-none aarch64-unknown-none-softfloat aarch64-unknown-linux-musl; do
  grep -qx "$t" <<<"$targets" || rustup target add --toolchain "$toolchain" "$t"
done
installed=$(rustup component list --installed --toolchain "$toolchain")
# rust-src: the standard library's sources, which gdb/teachos.gdb maps core's and
# alloc's /rustc/<commit>/ paths to (`step` into core shows its source).
for c in llvm-tools rustfmt clippy rust-src; do
  grep -q "^$c" <<<"$installed" || rustup component add --toolchain "$toolchain" "$c"
done
if ! rustup toolchain list | grep -q "^$MIRI_TOOLCHAIN"; then
  rustup toolchain install "$MIRI_TOOLCHAIN" --profile minimal --component miri,rust-src
fi
installed=$(rustup component list --installed --toolchain "$MIRI_TOOLCHAIN")
for c in miri rust-src; do
  grep -q "^$c" <<<"$installed" || rustup component add --toolchain "$MIRI_TOOLCHAIN" "$c"
done
# Miri's own build of the standard library (once, in ~/.cache/miri; quick when present).
# Quiet unless it fails.
if ! log=$(cargo "+$MIRI_TOOLCHAIN" miri setup 2>&1); then
  echo "$log" >&2
  exit 1
fi
