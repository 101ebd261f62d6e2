#!/usr/bin/env bash
# Fetches the opt-in Debian 12 (bookworm) arm64 root file system of `make run ROOTFS=debian`
# into BUILD_DIR/rootfs-debian: bash, coreutils, grep, sed, gawk, findutils, procps and
# python3-minimal with the packages they depend on, exactly the versions of the committed
# lock file ci/debian-rootfs.lock ("name arch version sha256" a line), each checked
# against its SHA-256. Nothing runs on the host but apt-get download and dpkg-deb -x: no
# maintainer scripts, so the script writes the few /etc files they would have (passwd,
# group, profile, ...) and Debian 12's usr-merge links (/bin -> usr/bin, /sbin, /lib).
# The .debs are cached in BUILD_DIR/debian-debs; a second run with the same lock is a
# no-op. Prints the tree's path on success; on failure says why on stderr and exits 1.
#
#   usage: fetch-debian-rootfs.sh BUILD_DIR
#          fetch-debian-rootfs.sh --refresh BUILD_DIR   re-resolve the lock from apt's lists
#
# --refresh (run `apt-get update` first for newer versions) resolves the packages below
# again with apt-cache: Depends and Pre-Depends, recursively, the first alternative of
# each, for arm64 (or arch "all"), skipping what only installing needs (SKIP), then
# downloads them and rewrites the lock with their versions and SHA-256. Commit the lock.
set -euo pipefail
usage() { sed -n '2,18p' "$0"; exit 2; }
refresh=
[ "${1:-}" = --refresh ] && { refresh=1; shift; }
[ $# = 1 ] || usage
# (libpython3.11-stdlib: json, hashlib, ... for `python3 -c`; python3-minimal has only
# what Python needs to start.)
ROOTS="bash coreutils grep sed gawk findutils procps python3-minimal libpython3.11-stdlib"
# Needed to install or manage packages, not to run the programs: dpkg's own tools, debconf
# (maintainer scripts), perl-base (debconf's language), init-system-helpers (services),
# install-info (info pages), tzdata (time zones: the machine runs in UTC).
SKIP="dpkg debconf perl-base init-system-helpers install-info tzdata"
# Left out of the tree, as Debian's slim images do (dpkg path-exclude): documentation,
# manual pages, translations, and iconv's 20 MB of character-set modules.
EXCLUDE="usr/share/doc usr/share/man usr/share/info usr/share/locale usr/share/lintian
  usr/lib/aarch64-linux-gnu/gconv"
here=$(cd "$(dirname "$0")" && pwd)
lock=$here/debian-rootfs.lock
build=$(mkdir -p "$1" && cd "$1" && pwd)
root=$build/rootfs-debian debs=$build/debian-debs
fail() { echo "fetch-debian-rootfs: $*" >&2; exit 1; }

stamp=$root/.teachos-lock
if [ -z "$refresh" ] && [ -f "$stamp" ] && [ -f "$lock" ] &&
  [ "$(cat "$stamp")" = "$(sha256sum <"$lock" | cut -d' ' -f1)" ]; then
  echo "$root"; exit 0
fi

command -v apt-get >/dev/null || fail "no apt-get on this computer (Debian/Ubuntu only)"
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  [ "$(id -u)" = 0 ] || fail "arm64 is not a foreign architecture here; run: sudo dpkg --add-architecture arm64 && sudo apt-get update"
  dpkg --add-architecture arm64
  apt-get update -qq >/dev/null 2>&1 || true
fi

# resolve: "name arch version" of ROOTS and their dependencies, from apt's lists.
resolve() {
  python3 - "$ROOTS" "$SKIP" <<'PY'
import subprocess, sys
roots, skip = sys.argv[1].split(), set(sys.argv[2].split())
def show(name):
    """The candidate's fields, for arm64 or arch all; None if apt knows neither."""
    for q in (name + ":arm64", name):
        r = subprocess.run(["apt-cache", "show", "--no-all-versions", q],
                           capture_output=True, text=True)
        fields, key = {}, None
        for line in r.stdout.splitlines():
            if not line.strip():
                break
            if line[0] in " \t" and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, val = line.split(":", 1)
                fields[key] = val.strip()
        if fields.get("Architecture") in ("arm64", "all"):
            return fields
    return None
def providers(name):
    """A real package providing the virtual `name`: one of the roots if one does
    (awk: gawk), else the first apt lists."""
    r = subprocess.run(["apt-cache", "showpkg", name + ":arm64"], capture_output=True, text=True)
    lines = r.stdout.splitlines()
    found = []
    if "Reverse Provides: " in lines:
        for l in lines[lines.index("Reverse Provides: ") + 1:]:
            p = l.split()[0].split(":")[0] if l.strip() else None
            if p and p not in skip:
                found.append(p)
    return next((p for p in found if p in roots), found[0] if found else None)
done, queue = {}, list(roots)
while queue:
    name = queue.pop(0)
    if name in done or name in skip:
        continue
    f = show(name)
    if f is None:
        p = providers(name)
        if p is None:
            sys.exit("fetch-debian-rootfs: no package %s for arm64" % name)
        queue.append(p)
        continue
    done[name] = (f["Architecture"], f["Version"])
    deps = ",".join(f.get(k, "") for k in ("Pre-Depends", "Depends"))
    for clause in deps.split(","):
        alts = [a.split("(")[0].strip().split(":")[0] for a in clause.split("|") if a.strip()]
        if alts and not any(a in done for a in alts):
            queue.append(next((a for a in alts if a not in skip), alts[0]))
for name in sorted(done):
    print(name, *done[name])
PY
}

# download NAME ARCH VERSION: into $debs, once; prints the file.
download() {
  local f=$debs/${1}_${3//:/%3a}_$2.deb
  if [ ! -s "$f" ]; then
    (cd "$debs" && apt-get download -q "$1:$2=$3" >/dev/null 2>&1) || {
      # A machine that has never read the arm64 lists: read them once, try again.
      [ "$(id -u)" = 0 ] && [ -z "${updated:-}" ] && { apt-get update -qq >/dev/null 2>&1 || true; updated=1; }
      (cd "$debs" && apt-get download -q "$1:$2=$3" >/dev/null 2>&1) ||
        fail "cannot download $1:$2=$3 from Debian's archive (run with --refresh to re-resolve)"
    }
    [ -s "$f" ] || f=$(ls "$debs/$1_"*"_$2.deb" | head -1)
  fi
  echo "$f"
}

mkdir -p "$debs"
if [ -n "$refresh" ]; then
  list=$(resolve) || exit 1
  {
    echo "# Debian 12 arm64 packages of ROOTFS=debian (ci/fetch-debian-rootfs.sh --refresh)."
    echo "# name arch version sha256"
    while read -r name arch version; do
      f=$(download "$name" "$arch" "$version")
      echo "$name $arch $version $(sha256sum "$f" | cut -d' ' -f1)"
    done <<<"$list"
  } >"$lock.new"
  mv "$lock.new" "$lock"
  echo "fetch-debian-rootfs: $(grep -vc '^#' "$lock") packages in $lock" >&2
fi
[ -f "$lock" ] || fail "no lock file $lock (make one with --refresh)"

# Unpack every package into a fresh staging tree, then merge /bin, /sbin and /lib into
# /usr as Debian 12's usrmerge has them.
stage=$build/rootfs-debian.tmp
rm -rf "$stage"; mkdir -p "$stage"
while read -r name arch version sha; do
  case $name in '#'*|'') continue ;; esac
  f=$(download "$name" "$arch" "$version")
  got=$(sha256sum "$f" | cut -d' ' -f1)
  [ "$got" = "$sha" ] || fail "$(basename "$f"): SHA-256 $got, expected $sha"
  dpkg-deb -x "$f" "$stage"
done <"$lock"
for d in $EXCLUDE; do rm -rf "${stage:?}/$d"; done
mkdir -p "$stage/usr/bin" "$stage/usr/sbin" "$stage/usr/lib"
for d in bin sbin lib; do
  if [ -d "$stage/$d" ] && [ ! -L "$stage/$d" ]; then
    cp -a "$stage/$d/." "$stage/usr/$d/"
    rm -rf "${stage:?}/$d"
  fi
  ln -s "usr/$d" "$stage/$d"
done
# The kernel's cpio reader does not join hard links (newc stores their data once): make
# every hard-linked file a file of its own.
find "$stage" -type f -links +1 -print0 | while IFS= read -r -d '' f; do
  cp -p "$f" "$f.tmp" && mv "$f.tmp" "$f"
done
# What maintainer scripts and debootstrap would have written.
mkdir -p "$stage/etc" "$stage/root" "$stage/tmp" "$stage/dev" "$stage/proc" "$stage/home"
chmod 1777 "$stage/tmp"; chmod 0700 "$stage/root"
cat >"$stage/etc/passwd" <<'E'
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
E
cat >"$stage/etc/group" <<'E'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
E
echo teachos >"$stage/etc/hostname"
printf '/bin/sh\n/bin/bash\n/usr/bin/bash\n' >"$stage/etc/shells"
cat >"$stage/etc/profile" <<'E'
# /etc/profile of teachos's Debian root (ci/fetch-debian-rootfs.sh)
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/teachos/bin
PS1='\u@\h:\w\$ '
export PATH PS1
E
[ -e "$stage/usr/bin/sh" ] || ln -s bash "$stage/usr/bin/sh"
# The alternatives dpkg would have made: awk is gawk.
[ -e "$stage/usr/bin/awk" ] || ln -s gawk "$stage/usr/bin/awk"
sha256sum <"$lock" | cut -d' ' -f1 >"$stage/.teachos-lock"
rm -rf "$root"; mv "$stage" "$root"
echo "$root"
