#!/bin/bash
# Sequential reads of several builds (and nbdkit) side by side, with where the CPU went: for each
# round and each build, a fresh server of 1 GiB is written through once (nbdcopy from nbdkit's
# pattern, as bench/run.ts does), then read READS times by `nbdcopy --connections=CONNS URI null:`.
# One line per run: MiB/s, then CPU seconds per GiB read of the server (all its threads), of the
# clients, and of the machine's idle time (both cores), and wall seconds per GiB. On this 2-core
# machine client + server + idle ≈ 2 × wall: a server that takes less CPU leaves more to the client.
#   bench/read-ab.sh ROUNDS CHECKOUT|nbdkit ...   (READS=1: only the first read after writing, the
#   bench's case; CONNS=4; TRANSPORT=tcp: loopback TCP instead of a Unix socket;
#   SETTLE=2: seconds between the write and the reads; SERVE_ARGS="--no-record" for Blockscope; the log filter on both:
#   SERVE_ARGS="--filter=log logfile=/tmp/a.log" NBDKIT_FILTERS=--filter=log NBDKIT_PARAMS=logfile=/tmp/b.log)
# Use frozen checkouts (git worktree add …): tsx compiles each server from its working tree.
set -u
rounds=$1
shift
reads=${READS:-3} conns=${CONNS:-1} transport=${TRANSPORT:-unix}
tck=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
idle() { awk '/^cpu / { print $5 + $6 }' /proc/stat; }
one() { # CHECKOUT|nbdkit
  local d pid c0 i0 t0 c1 i1 t1 client
  d=$(mktemp -d)
  local port="" uri
  if [ "$transport" = tcp ]; then
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  fi
  if [ "$1" = nbdkit ]; then
    local listen=(-U "$d/disk1.sock")
    [ -n "$port" ] && listen=(-i 127.0.0.1 -p "$port")
    # shellcheck disable=SC2086
    nbdkit -f "${listen[@]}" ${NBDKIT_FILTERS:-} memory 1G ${NBDKIT_PARAMS:-} >/dev/null 2>&1 &
  else
    local listen=(--unix "$d")
    [ -n "$port" ] && listen=(--port "$port")
    # shellcheck disable=SC2086
    "$1/server/bin/blockscope.mjs" serve --size 1G "${listen[@]}" ${SERVE_ARGS:-} >/dev/null 2>&1 &
  fi
  pid=$!
  if [ -n "$port" ]; then
    uri="nbd://127.0.0.1:$port"
    for _ in $(seq 150); do nbdinfo --size "$uri" >/dev/null 2>&1 && break; sleep 0.1; done
  else
    uri="nbd+unix:///?socket=$d/disk1.sock"
    for _ in $(seq 150); do [ -S "$d/disk1.sock" ] && break; sleep 0.1; done
  fi
  nbdcopy -- [ nbdkit --exit-with-parent pattern size=1G ] "$uri"
  sleep "${SETTLE:-0}"
  c0=$(cpu "$pid") i0=$(idle) t0=$(date +%s.%N)
  client=$({ /usr/bin/time -f '%U %S' bash -c "for _ in \$(seq $reads); do nbdcopy --connections=$conns '$uri' null:; done"; } 2>&1 | tail -1)
  c1=$(cpu "$pid") i1=$(idle) t1=$(date +%s.%N)
  python3 -c "import sys
n, tck, c, i, w, cu, cs = int(sys.argv[1]), float(sys.argv[2]), *map(float, sys.argv[3:])
print(f'{1024 * n / w:.0f} MiB/s  server {c / tck / n:.2f}  client {(cu + cs) / n:.2f}  idle {i / tck / n:.2f}  wall {w / n:.2f}')" \
    "$reads" "$tck" $((c1 - c0)) $((i1 - i0)) "$(echo "$t1 - $t0" | bc)" $client
  kill "$pid"
  wait "$pid" 2>/dev/null
  rm -rf "$d"
}
out=$(mktemp)
for _ in $(seq "$rounds"); do
  for v in "$@"; do echo "$(basename "$v") $(one "$v")" | tee -a "$out"; done
done
python3 - "$out" <<'PY'
import collections, statistics as s, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    f = line.split()
    d[f[0]].append((float(f[1]), float(f[4])))
for k, v in d.items():
    print(f"{k}: median {s.median(x for x, _ in v):.0f} MiB/s, server CPU {s.median(y for _, y in v):.2f} s per GiB ({len(v)} runs)")
PY
rm -f "$out"
