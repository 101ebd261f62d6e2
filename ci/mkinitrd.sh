#!/usr/bin/env bash
# Builds the initrd (a newc cpio archive), the machine's root file system:
#   /bin/<every user program> (the workspace's and those ci/build-extra.sh put in
#        BUILD_DIR/extra-bin), /System.map (kernel symbols for crash reports),
#   /sbin/init (user/src/bin/init.rs, the default init), /bin/busybox with a link for
#        each applet of ci/busybox-applets.txt whose name the project's /bin has not
#        taken (/bin/sh among them) when ci/fetch-busybox.sh fetched it into
#        BUILD_DIR/busybox; without busybox, /bin/sh is the project's shell, tsh,
#   the empty directories a Linux root has: /dev /proc /etc (0755), /tmp (1777: anyone
#        may create files, only their owner may remove them), /root (0700),
#   then OVERLAY_DIR's tree on top (`make run OVERLAY=dir`), and last /init: a copy of
#        INIT (`make run INIT=file`) unless INIT is a path inside this root (see below).
# The tree is kept in BUILD_DIR/rootfs (`cpio -itv < BUILD_DIR/initrd.cpio` lists the
# same files). `make build` runs this every time, so a changed overlay is always picked up.
# ROOTFS=debian in the environment (`make run ROOTFS=debian`): the root starts as the
# Debian tree of ci/fetch-debian-rootfs.sh, and the project's programs go to
# /opt/teachos/bin, where they clash with none of Debian's (its /bin is usr/bin).
#   usage: mkinitrd.sh TARGET_DIR BUILD_DIR [INIT [OVERLAY_DIR]]
set -euo pipefail
out=$1 build=$2 init=${3:-} overlay=${4:-}
root=$build/rootfs
rm -rf "$root"; mkdir -p "$root"
bin=$root/bin
case ${ROOTFS:-} in
  '') ;;
  debian)
    tree=$(ci/fetch-debian-rootfs.sh "$build") ||
      { echo "mkinitrd: ROOTFS=debian: the Debian root could not be fetched (see above)" >&2; exit 1; }
    cp -a "$tree/." "$root/"
    rm -f "$root/.teachos-lock"
    bin=$root/opt/teachos/bin
    mkdir -p "$bin" ;;
  *) echo "mkinitrd: ROOTFS=$ROOTFS: unknown (debian, or empty for the project's own root)" >&2; exit 1 ;;
esac
# Explicit modes, so the user's umask does not change what the machine sees.
mkdir -p -m 0755 "$root/bin" "$root/sbin" "$root/dev" "$root/proc" "$root/etc"
mkdir -p -m 1777 "$root/tmp"
mkdir -p -m 0700 "$root/root"
# The workspace's programs go in without their DWARF (gdb reads it from OUT's copies):
# with it they made two thirds of a 90 MB archive, and the root tmpfs may hold half of
# the RAM the initrd leaves (Linux's totalram_pages()/2 at mount), so the last files
# came out empty (ENOSPC while unpacking).
# llvm-tools live under this computer's own target (x86_64-... or aarch64-unknown-linux-gnu).
objcopy=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/llvm-objcopy
for src in user/src/bin/*.rs; do
  name=$(basename "$src" .rs)
  [ "$name" = init ] || "$objcopy" --strip-debug "$out/$name" "$bin/$name"
done
"$objcopy" --strip-debug "$out/init" "$root/sbin/init"
if [ -d "$build/extra-bin" ]; then
  cp -r "$build/extra-bin/." "$bin/"   # (empty without the cross C compiler)
fi
# The dynamic test programs' loader and libc (ci/build-extra.sh), where Debian has them
# (a Debian root has its own).
if [ -d "$build/extra-lib" ] && [ -z "${ROOTFS:-}" ]; then
  mkdir -m 0755 "$root/lib"
  cp -r "$build/extra-lib/." "$root/lib/"
fi
# busybox (ci/build-extra.sh fetched it, if it could): its applets are symlinks to it,
# since the kernel's cpio reader does not join hard links.
# (A Debian root has its own commands: there busybox just sits with the project's.)
if [ -n "${ROOTFS:-}" ]; then
  [ -x "$build/busybox/busybox" ] && cp "$build/busybox/busybox" "$bin/busybox"
elif [ -x "$build/busybox/busybox" ]; then
  cp "$build/busybox/busybox" "$root/bin/busybox"
  grep -v '^#' ci/busybox-applets.txt | while read -r applet; do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
else
  ln -s tsh "$root/bin/sh"
fi
cp "$build/System.map" "$root/System.map"
if [ -n "$overlay" ]; then
  [ -d "$overlay" ] || { echo "mkinitrd: OVERLAY=$overlay: no such directory" >&2; exit 1; }
  # dir/bin/x becomes /bin/x, replacing the project's file of that name; directories
  # merge. -a keeps modes, times and symlinks (as symlinks, not the files they name).
  # --remove-destination: a file replaces what is there instead of being written
  # through it (cp would otherwise write into the file an existing symlink names).
  # --no-preserve=links: hard-linked files become separate copies, since the kernel's
  # cpio reader does not join hard links (newc stores their data only once).
  cp -a --remove-destination --no-preserve=links "$overlay/." "$root/" ||
    { echo "mkinitrd: cannot add OVERLAY=$overlay to the root (see above)" >&2; exit 1; }
fi
# INIT: a path that exists in the machine's root (after the overlay) is run there, and
# nothing is copied; otherwise it names a file on this computer, copied in as /init.
# (The Makefile applies the same rule to choose init= on the command line.) A path
# inside the machine wins, so INIT=/bin/sh means the machine's shell, not this computer's.
if [ -n "$init" ] && ! { [[ $init == /* ]] && [ -e "$root$init" -o -L "$root$init" ]; }; then
  if [ ! -f "$init" ]; then
    echo "mkinitrd: INIT=$init: no such file on this computer, nor in the machine's root ($root)" >&2
    exit 1
  fi
  # A program built for this computer would only fail later with ENOEXEC: say so now.
  # (e_machine, bytes 18-19 of an ELF header: 183 = EM_AARCH64, little-endian.)
  if [ "$(head -c 4 "$init" | od -An -c | tr -d ' ')" = '177ELF' ] &&
    [ "$(od -An -tu2 -j18 -N2 "$init" | tr -d ' ')" != 183 ]; then
    echo "mkinitrd: INIT=$init is not an AArch64 program (ELF machine $(od -An -tu2 -j18 -N2 "$init" | tr -d ' '))" >&2
    exit 1
  fi
  cp "$init" "$root/init"
fi
# Sorted (byte order), so every directory comes before what it holds, in the same order
# from one build to the next. Every file is owned by root in the machine, as
# Linux's gen_initramfs.sh does by default, whoever built it.
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner 0:0 --quiet) > "$build/initrd.cpio"
