#!/usr/bin/env bash
# Run the reference conformance suites (built by build.sh) against one server:
#   .ci/conformance/run.sh blockscope      # the project's server (serve from this checkout)
#   .ci/conformance/run.sh nbdkit          # Debian's nbdkit, the same checks, for comparison
# Prints one line per check: SUITE<TAB>CHECK<TAB>RESULT<TAB>NOTE, RESULT one of
#   pass | FAIL | skip (the program exited 77: a prerequisite it probes for is missing)
#   | n/a (the check needs an nbdkit-only plugin/filter/option the shim refuses)
# and exits 0 (the caller compares with its expectations). Logs: $CONFORMANCE_DIR/logs/SERVER/.
#
# Reference suite (nbd's tests/run, what simple_test runs for a generic newstyle server), over a
# Unix socket instead of TCP port 10809 (nbd-tester-client -u; no fixed ports on shared machines).
# libnbd's tests/ and interop/ programs start "nbdkit" themselves: for blockscope a shim
# (nbdkit-shim) first on PATH starts `blockscope serve` instead.
set -uo pipefail

server=${1:?usage: run.sh blockscope|nbdkit}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=$("$here/build.sh" | tail -1) || exit 1
logs=$dir/logs/$server
rm -rf "$logs"
mkdir -p "$logs"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/conformance.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

export REAL_NBDKIT
REAL_NBDKIT=$(command -v nbdkit) || { echo "run.sh: nbdkit not found: apt-get install nbdkit" >&2; exit 1; }
export BLOCKSCOPE_CLI=${BLOCKSCOPE_CLI:-$root/server/bin/blockscope.mjs}
shimdir=$tmp/shim
mkdir -p "$shimdir"
ln -s "$here/nbdkit-shim" "$shimdir/nbdkit"

result() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-}"; }
# ONLY=REGEX runs only the checks whose name matches (for debugging one check).
wanted() { [ -z "${ONLY:-}" ] || [[ $1 =~ $ONLY ]]; }
# Checks that pass when the connection FAILS: they only count if it failed in the TLS handshake
# (not, say, because the server never started).
refused_in_tls() { # NAME LOG
  [[ ! $1 =~ (tlswrongcert|bad-CA|bad-hostname) ]] || grep -qE 'gnutls_handshake|TLS handshake failed' "$2"
}

# --- reference suite: nbd-tester-client against a server on a Unix socket -------------------
tester=$dir/nbd/tests/run/nbd-tester-client
traces=$dir/nbd/tests/run
certs=$dir/nbd/tests/run/certs

# start_server NAME SIZE EXTRA...: start the server for one check; sets $sock and $spid.
start_server() {
  local name=$1 size=$2
  shift 2
  sock=$tmp/$name.sock
  if [ "$server" = nbdkit ]; then
    local args=()
    for a in "$@"; do
      case $a in
        --readonly) args+=(-r) ;;
        *) args+=("$a") ;;
      esac
    done
    nbdkit -f -U "$sock" "${args[@]}" memory "$size" >"$logs/$name.server" 2>&1 &
    spid=$!
    for _ in $(seq 200); do [ -S "$sock" ] && break; sleep 0.05; done
  else
    env -u GODEBUG node "$BLOCKSCOPE_CLI" serve --unix "$tmp/$name" --size "$size" --export export1 "$@" \
      >"$logs/$name.server" 2>&1 &
    spid=$!
    sock=$tmp/$name/disk1.sock
    for _ in $(seq 400); do grep -q '^disk1 ' "$logs/$name.server" 2>/dev/null && break; sleep 0.05; done
  fi
}
stop_server() { kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null; }

# tester NAME SIZE "SERVER ARGS" TESTER ARGS...: one nbd-tester-client check.
tester_check() {
  local name=$1 size=$2 sargs=$3
  shift 3
  wanted "$name" || return 0
  # nbd-tester-client gives up after 5 s without traffic; on a saturated machine the TLS traces
  # can stall that long for nbdkit too (GnuTLS encrypting 48 MiB writes): such a timeout is retried.
  local rc attempt note=''
  for attempt in 1 2 3; do
    # shellcheck disable=SC2086
    start_server "$name" "$size" $sargs
    timeout 600 "$tester" -N export1 "$@" -u "$sock" >"$logs/$name.log" 2>&1
    rc=$?
    stop_server
    [ $rc != 0 ] && grep -q 'Timeout reading from socket' "$logs/$name.log" || break
    note="client timeout on attempt $attempt (machine load); retried"
  done
  if [ $rc = 0 ] && ! refused_in_tls "$name" "$logs/$name.log"; then
    result nbd-tester-client "$name" FAIL "refused, but not in the TLS handshake"
  elif [ $rc = 0 ]; then result nbd-tester-client "$name" pass "$note"
  elif [ $rc = 77 ]; then result nbd-tester-client "$name" skip
  else result nbd-tester-client "$name" FAIL "exit $rc: $(grep -m1 -iE 'error|fail|could not' "$logs/$name.log" | cut -c1-160)"
  fi
}

tls="--tls=require --tls-certificates=$certs --tls-verify-peer"
tester_check cfg1 4M ""
tester_check cfgnew 4M ""
tester_check cfgsize 4M "" -o
tester_check write 4M "" -w
tester_check flush 4M "" -w -f
tester_check handshake 4M "" -h
tester_check rowrite 4M "--readonly" -w -F
tester_check integrity 50M "" -i -t "$traces/integrity-test.tr"
tester_check integrityhuge 50M "" -i -t "$traces/integrityhuge-test.tr"
tester_check tls 50M "$tls" -i -t "$traces/integrity-test.tr" \
  -C "$certs/client-cert.pem" -K "$certs/client-key.pem" -A "$certs/ca-cert.pem" -H localhost
tester_check tlshuge 50M "$tls" -i -t "$traces/integrityhuge-test.tr" \
  -C "$certs/client-cert.pem" -K "$certs/client-key.pem" -A "$certs/ca-cert.pem" -H localhost
tester_check tlswrongcert 50M "$tls" -t "$traces/integrity-test.tr" \
  -C "$certs/selfsigned-cert.pem" -K "$certs/selfsigned-key.pem" -A "$certs/ca-cert.pem" -H localhost -F

# --- libnbd's programs: each starts "nbdkit" itself (the shim for blockscope) ----------------
libnbd_check() { # SUBDIR PROGRAM
  local sub=$1 prog=$2 path=$PATH
  wanted "$prog" || return 0
  [ "$server" = blockscope ] && path=$shimdir:$PATH
  (cd "$dir/libnbd/$sub" && PATH=$path LIBNBD_DEBUG=1 srcdir=. timeout 600 ../run "./$prog") \
    >"$logs/$prog.log" 2>&1
  local rc=$?
  if [ $rc = 0 ] && ! refused_in_tls "$prog" "$logs/$prog.log"; then
    result "libnbd $sub" "$prog" FAIL "refused, but not in the TLS handshake"
  elif [ $rc = 0 ]; then result "libnbd $sub" "$prog" pass
  elif grep -q 'nbdkit-shim: unsupported' "$logs/$prog.log"; then
    result "libnbd $sub" "$prog" n/a "$(grep -m1 -o 'nbdkit-shim: unsupported: .*' "$logs/$prog.log" | cut -c1-120)"
  elif [ $rc = 77 ]; then result "libnbd $sub" "$prog" skip "$(grep -m1 -iE 'skip|requires' "$logs/$prog.log" | cut -c1-120)"
  else result "libnbd $sub" "$prog" FAIL "exit $rc: $(grep -v '^libnbd: debug' "$logs/$prog.log" | grep -m1 -iE 'error|fail|expect' | cut -c1-160)"
  fi
}
for p in opt-abort opt-list-meta opt-list-meta-queries opt-set-meta opt-set-meta-queries opt-structured-twice \
  opt-starttls errors-server-invalid-offset errors-server-unknown-flags errors-server-zerosize \
  errors-server-oversize errors-server-unadvertised-cmd errors-server-unaligned get-size read-only-flag \
  read-write-flag connect-tls-certs connect-tls-psk aio-parallel.sh aio-parallel-load.sh synch-parallel.sh \
  aio-parallel-tls.sh aio-parallel-load-tls.sh synch-parallel-tls.sh; do
  libnbd_check tests "$p"
done
for p in interop-nbdkit interop-nbdkit-tls-certs interop-nbdkit-tls-certs-allow-enabled \
  interop-nbdkit-tls-certs-allow-fallback interop-nbdkit-tls-certs-bad-CA interop-nbdkit-tls-certs-bad-hostname \
  interop-nbdkit-tls-psk interop-nbdkit-tls-psk-allow-enabled interop-nbdkit-tls-psk-allow-fallback; do
  libnbd_check interop "$p"
done
