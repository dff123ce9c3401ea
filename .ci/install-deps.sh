#!/usr/bin/env bash
# Debian packages the tests drive: real NBD clients, nbdkit (the peer we compare against),
# Chromium for Playwright, guestfish + a kernel for the demo acceptance tests, the disk tools
# whose answers the structure decoders are checked against, and what it takes to build and run
# the conformance suites (.ci/conformance) from Debian source packages.
set -euo pipefail

missing=()
need() { # need BINARY PACKAGE
  command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need nbdkit nbdkit
need qemu-io qemu-utils
need nbdinfo libnbd-bin
need nbdcopy libnbd-bin
need fio fio
need ffmpeg ffmpeg
need ffprobe ffmpeg
need chromium chromium
need curl curl
need pgrep procps
need ss iproute2          # the kernel's own view of a connection's send buffer
need setpriv util-linux   # qemu-nbd gets a parent-death signal through it (backends/image.ts)
need openssl openssl
need tar tar
need guestfish libguestfs-tools
# Ground truth for the structure decoders (server/structure): partition tables, ext, FAT, md, LVM.
need sgdisk gdisk
need sfdisk fdisk
need parted parted
need dumpe2fs e2fsprogs
need debugfs e2fsprogs
need mkfs.vfat dosfstools
need fsck.fat dosfstools
need mshowfat mtools
need mdadm mdadm
# XFS (server/structure/xfs): mkfs.xfs, and xfs_db/xfs_io as ground truth; setfattr gives a
# test file an attribute block. Formats only recognised (signatures.ts): made by their own mkfs.
need xorriso xorriso    # ISO 9660 (server/structure/iso9660): makes the images and reports where it put each file
need mkfs.xfs xfsprogs
need xfs_db xfsprogs
need setfattr attr
need mkfs.btrfs btrfs-progs
need mkfs.ntfs ntfs-3g
need mkfs.exfat exfatprogs
need pvs lvm2
need certtool gnutls-bin   # TLS tests: X.509 certificates as nbdkit-tls(1) makes them
# Conformance suites (.ci/conformance): built from Debian source packages, run through socat.
need psktool gnutls-bin
need socat socat
need gcc build-essential
need make build-essential
need pkg-config pkg-config
need bison bison   # nbd's configure requires it (nbd-tester-client)
need flex flex
need dpkg-source dpkg-dev
need xz xz-utils
for lib in glib-2.0:libglib2.0-dev gnutls:libgnutls28-dev libxml-2.0:libxml2-dev; do
  pkg-config --exists "${lib%%:*}" 2>/dev/null || missing+=("${lib#*:}")
done
[ -e /usr/lib/python3/dist-packages/nbd.py ] || missing+=(python3-libnbd)
ls /boot/vmlinuz-* >/dev/null 2>&1 || missing+=(linux-image-amd64)
fc-list 2>/dev/null | grep -qi liberation || missing+=(fonts-liberation)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing Debian packages: ${missing[*]} (run as root or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  # shellcheck disable=SC2207
  uniq=($(printf '%s\n' "${missing[@]}" | sort -u))
  echo "install-deps: installing ${uniq[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${uniq[@]}" >/dev/null
fi
echo "install-deps: all Debian packages present"
