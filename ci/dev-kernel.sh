#!/usr/bin/env bash
# Builds the checked kernel (Cargo.toml's profile.checked: PROFILE=dev's debug assertions,
# overflow and lock-order checks, at opt-level 1 so the whole suite stays fast) next to the
# release one, for the programs that must also pass on it (test.sh runs the bounded fuzz
# on it, fuzz.sh the long one): BUILD_DIR/dev/Image, and BUILD_DIR/dev/initrd.cpio = the
# release initrd (same user programs) with the dev kernel's /System.map for crash reports.
# Cargo keeps it in CARGO_TARGET_DIR/.../checked, so it is cheap after the first.
# With PROFILE `dev` it builds the unoptimised PROFILE=dev kernel instead, into
# BUILD_DIR/unoptimised/ (e2e.sh boots programs and steps through copy_process on it).
#   usage: dev-kernel.sh CARGO_TARGET_DIR BUILD_DIR [PROFILE]    (after `make build`)
set -euo pipefail
[ $# = 2 ] || [ $# = 3 ] || { sed -n '2,10p' "$0"; exit 2; }
target=$(cd "$1" && pwd) build=$(cd "$2" && pwd) profile=${3:-checked}
case $profile in
  checked) dev=$build/dev ;;
  dev) dev=$build/unoptimised ;;
  *) echo "dev-kernel.sh: PROFILE is checked or dev" >&2; exit 2 ;;
esac
cargo_dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
mkdir -p "$dev"
# The same features as the release build (the Makefile's FAULT_INJECTION, on by default),
# when this tree's kernel has them.
features=()
if grep -q '^fault-injection *=' Cargo.toml && [ "${FAULT_INJECTION:-1}" = 1 ]; then
  features=(--features fault-injection)
fi
CARGO_TARGET_DIR=$target \
  cargo build -q --profile "$profile" -p kernel --target aarch64-unknown-none-softfloat "${features[@]}"
# The llvm-tools are under this computer's own target (x86_64-... or aarch64-unknown-linux-gnu).
bin=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin
cp "$target/aarch64-unknown-none-softfloat/$cargo_dir/kernel" "$dev/kernel"
"$bin/llvm-objcopy" -O binary "$dev/kernel" "$dev/Image"
"$bin/llvm-nm" -n "$dev/kernel" | grep -i ' t ' >"$dev/System.map"
[ -d "$build/rootfs" ] || { echo "dev-kernel.sh: no $build/rootfs (run make build first)" >&2; exit 1; }
rm -rf "$dev/rootfs"; cp -a "$build/rootfs" "$dev/rootfs"
cp "$dev/System.map" "$dev/rootfs/System.map"
(cd "$dev/rootfs" && find . -mindepth 1 | sort | cpio -o -H newc --quiet) >"$dev/initrd.cpio"
