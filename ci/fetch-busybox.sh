#!/usr/bin/env bash
# Fetches Debian's busybox-static for arm64 (the machine's /bin/sh and its applets) into
# BUILD_DIR/busybox/busybox, once: `apt-get download` of a pinned version (arm64 added as a
# foreign architecture first), its SHA-256 checked, `dpkg-deb -x`. Prints the path on
# success. When it cannot be fetched (no network, the version gone from the archive) it
# says why on stderr and exits 1: the machine then boots into the project's own shell.
# The checked package is also kept in ~/.cache/teachos (XDG_CACHE_HOME), so other build
# directories (the lab skeletons', a fresh clone's) do not download it again.
#   usage: fetch-busybox.sh BUILD_DIR
set -euo pipefail
[ $# = 1 ] || { sed -n '2,7p' "$0"; exit 2; }
VERSION=1:1.35.0-4+deb12u1+b1
SHA256=732c9135564fc71337e0e05fb4da4d11e6c28c1834bce3e405e575afef2a52f5
dir=$(mkdir -p "$1/busybox" && cd "$1/busybox" && pwd)
stamp=$dir/busybox.version
if [ -x "$dir/busybox" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$VERSION $SHA256" ]; then
  echo "$dir/busybox"; exit 0
fi
fail() { echo "fetch-busybox: $*" >&2; exit 1; }
cache=${XDG_CACHE_HOME:-$HOME/.cache}/teachos
cached=$cache/busybox-static_${VERSION#*:}_arm64.deb
install_from() {
  local deb=$1 x
  [ "$(sha256sum "$deb" | cut -d' ' -f1)" = "$SHA256" ] || return 1
  x=$(mktemp -d)
  dpkg-deb -x "$deb" "$x" && install -m 0755 "$x/bin/busybox" "$dir/busybox"
  rm -rf "$x"
  echo "$VERSION $SHA256" >"$stamp"
  echo "$dir/busybox"
}
[ -f "$cached" ] && install_from "$cached" && exit 0
command -v apt-get >/dev/null || fail "no apt-get on this computer (Debian/Ubuntu only)"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" = 0 ] || fail "arm64 is not a foreign architecture here; run: sudo dpkg --add-architecture arm64 && sudo apt-get update"
  dpkg --add-architecture arm64
  apt-get update -qq >/dev/null 2>&1 || true
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download -q "busybox-static:arm64=$VERSION" >/dev/null 2>&1); then
  # A machine that has never read the arm64 package lists: read them once, try again.
  [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 || true
  (cd "$tmp" && apt-get download -q "busybox-static:arm64=$VERSION" >/dev/null 2>&1) ||
    fail "cannot download busybox-static:arm64=$VERSION from Debian's archive"
fi
deb=$(ls "$tmp"/*.deb)
got=$(sha256sum "$deb" | cut -d' ' -f1)
[ "$got" = "$SHA256" ] || fail "$(basename "$deb"): SHA-256 $got, expected $SHA256"
mkdir -p "$cache" && cp "$deb" "$cached" 2>/dev/null || true
install_from "$deb"
