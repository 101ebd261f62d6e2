#!/usr/bin/env bash
# Builds the initrd (a newc cpio archive): /bin/<every user program> (the workspace's and
# those ci/build-extra.sh put in BUILD_DIR/extra-bin), /init (the program given by INIT, if
# any), /System.map (kernel symbols for crash reports), /tmp.
#   usage: mkinitrd.sh TARGET_DIR BUILD_DIR [INIT_ELF]
set -euo pipefail
out=$1 build=$2 init=${3:-}
root=$build/rootfs
rm -rf "$root"; mkdir -p "$root/bin" "$root/tmp"
for src in user/src/bin/*.rs; do
  name=$(basename "$src" .rs)
  cp "$out/$name" "$root/bin/$name"
done
if [ -d "$build/extra-bin" ]; then
  cp "$build/extra-bin/"* "$root/bin/"
fi
if [ -n "$init" ]; then
  [ -f "$init" ] || { echo "mkinitrd: INIT=$init: no such file" >&2; exit 1; }
  cp "$init" "$root/init"
fi
cp "$build/System.map" "$root/System.map"
(cd "$root" && find . -mindepth 1 | sort | cpio -o -H newc --quiet) > "$build/initrd.cpio"
