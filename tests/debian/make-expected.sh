#!/usr/bin/env bash
# Makes tests/debian/expected.txt: test.sh run on Linux 6.1 (../shared/tools/linux-oracle.sh)
# in the Debian root of ci/fetch-debian-rootfs.sh, through run.c, output normalised by
# normalise.sed. Run it again after changing test.sh or the lock file, and commit the
# result.
#   usage: tests/debian/make-expected.sh BUILD_DIR [ORACLE]
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,6p' "$0"; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
oracle=${2:-$here/../../../shared/tools/linux-oracle.sh}
tree=$("$here/../../ci/fetch-debian-rootfs.sh" "$1")
work=$(mktemp -d) bin=$(mktemp -d); trap 'rm -rf "$work" "$bin"' EXIT
cp -a "$tree/." "$work/"
rm -f "$work/.teachos-lock"
install -m 0755 "$here/test.sh" "$work/root/test.sh"
aarch64-linux-gnu-gcc -static -O2 -Wall -o "$bin/run" "$here/run.c"
"$oracle" --overlay "$work" "$bin/run" /root/test.sh >"$bin/out" 2>&1 || true
grep -q '^run: bash exited with' "$bin/out" || { cat "$bin/out"; echo "make-expected: the run did not finish" >&2; exit 1; }
sed -f "$here/normalise.sed" "$bin/out" | sed '/^oracle: /d' >"$here/expected.txt"
echo "tests/debian/expected.txt: $(wc -l <"$here/expected.txt") lines"
