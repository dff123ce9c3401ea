#!/usr/bin/env bash
# Build the conformance suites nobody on this project wrote, from Debian SOURCE packages (CI can
# reach Debian's mirror, not GitHub):
#   - nbd (the reference implementation): tests/run/nbd-tester-client and its traces/certs;
#   - libnbd: a set of its tests/ and interop/ programs.
# Sources come from the same mirror the machine's apt uses, through a private apt state (the
# system's apt configuration is not touched). Suite: trixie (Debian 13), because this mirror does
# not serve bookworm's nbd 3.24 tarball, and bookworm's libnbd 1.14 predates the opt-set-meta*
# tests. Idempotent: a finished build is reused (delete the directory to rebuild).
#
# usage: .ci/conformance/build.sh            # prints the build directory on its last line
#   CONFORMANCE_DIR   where to build (default ~/.cache/blockscope-conformance)
#   CONFORMANCE_SUITE Debian suite to take the sources from (default trixie)
set -euo pipefail

dir=${CONFORMANCE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/blockscope-conformance}
suite=${CONFORMANCE_SUITE:-trixie}
mkdir -p "$dir"
cd "$dir"
log() { echo "conformance build: $*" >&2; }

if [ -f stamp-built ]; then
  log "reusing $dir ($(cat stamp-built))"
  echo "$dir"
  exit 0
fi

for tool in gcc make pkg-config dpkg-source certtool psktool socat xz; do
  command -v "$tool" >/dev/null || {
    log "missing $tool: run .ci/install-deps.sh (Debian: build-essential pkg-config dpkg-dev gnutls-bin socat xz-utils)"
    exit 1
  }
done

# The Debian mirror apt already uses (deb822 .sources or one-line .list), default deb.debian.org.
mirror=$(
  { grep -hsE '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
    grep -hsE '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}'
  } | grep -v -e security -e '^$' | grep -m1 debian || true
)
mirror=${mirror:-http://deb.debian.org/debian}
log "sources: $mirror $suite (deb-src, private apt state in $dir/apt)"

mkdir -p apt/lists/partial apt/cache/archives/partial src
echo "deb-src $mirror $suite main" > apt/sources.list
aptopts=(-o Dir::Etc::SourceList="$dir/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::State::Lists="$dir/apt/lists" -o Dir::Cache="$dir/apt/cache" -o APT::Sandbox::User=root)
apt-get "${aptopts[@]}" -qq update
(cd src && apt-get "${aptopts[@]}" -qq --download-only source nbd libnbd >/dev/null)

# Upstream tarballs only (their own tests; Debian's patches are not needed to run them).
nbd_tar=$(ls src/nbd_*.orig.tar.* | head -1)
libnbd_tar=$(ls src/libnbd_*.orig.tar.* | head -1)
rm -rf nbd libnbd
mkdir nbd libnbd
tar -xf "$nbd_tar" -C nbd --strip-components=1
tar -xf "$libnbd_tar" -C libnbd --strip-components=1
jobs=$(nproc)

log "building nbd-tester-client from $(basename "$nbd_tar")"
(
  cd nbd
  # DB2M=true: nbd's configure stops without docbook2man even when man pages are not wanted.
  DB2M=true ./configure --without-libnl >../nbd-configure.log 2>&1
  make -C tests/run nbd-tester-client >../nbd-make.log 2>&1
) || { log "nbd build failed: see $dir/nbd-*.log"; exit 1; }

log "building libnbd and its test programs from $(basename "$libnbd_tar")"
libnbd_tests=(opt-abort opt-list-meta opt-list-meta-queries opt-set-meta opt-set-meta-queries
  opt-structured-twice opt-starttls errors-server-invalid-offset errors-server-unknown-flags
  errors-server-zerosize errors-server-oversize errors-server-unadvertised-cmd errors-server-unaligned
  get-size read-only-flag read-write-flag connect-tls-certs connect-tls-psk
  aio-parallel aio-parallel-load synch-parallel aio-parallel-tls aio-parallel-load-tls synch-parallel-tls
  keys.psk pki/stamp-pki)
libnbd_interop=(interop-nbdkit interop-nbdkit-tls-certs interop-nbdkit-tls-certs-allow-enabled
  interop-nbdkit-tls-certs-allow-fallback interop-nbdkit-tls-certs-bad-CA interop-nbdkit-tls-certs-bad-hostname
  interop-nbdkit-tls-psk interop-nbdkit-tls-psk-allow-enabled interop-nbdkit-tls-psk-allow-fallback)
(
  cd libnbd
  ./configure --disable-fuse --disable-ublk --disable-ocaml --disable-python --disable-golang \
    --disable-rust --without-bash-completions --disable-static >../libnbd-configure.log 2>&1
  for d in generator include common/include common/utils lib; do make -j"$jobs" -C "$d" >>../libnbd-make.log 2>&1; done
  make -j"$jobs" -C tests "${libnbd_tests[@]}" >>../libnbd-make.log 2>&1
  make -j"$jobs" -C interop "${libnbd_interop[@]}" >>../libnbd-make.log 2>&1
) || { log "libnbd build failed: see $dir/libnbd-*.log"; exit 1; }

echo "$(basename "$nbd_tar") $(basename "$libnbd_tar")" > stamp-built
log "done: $(cat stamp-built)"
echo "$dir"
