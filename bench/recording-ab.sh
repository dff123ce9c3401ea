#!/bin/bash
# Recording overhead of two builds side by side: for each round, a fresh server of each build
# with recording on and with --no-record, fio 4 KiB randwrite QD16 on a 256 MiB disk.
# Each disk is written through once first (nbdcopy from nbdkit's pattern, as bench/run.ts does):
# the RAM disk's first-touch page faults are the same in both modes and were most of the noise,
# and a recording's start-up (the checkpoint worker's, ~0.5 s of CPU under tsx) is not a flood's.
# Prints one line per run ("old-on 61708 9.81 11.02": IOPS, then the server's CPU µs per
# request during the run on its main (engine) thread and on all its threads), then medians and
# on ÷ off per build, also as the median of each round's own on ÷ off ("paired"). CPU per
# request moves much less than IOPS when the machine is busy.
#   bench/recording-ab.sh OLD_CHECKOUT NEW_CHECKOUT [ROUNDS=6]   (RT=seconds per run, default 4;
#   WRITE_FIRST=0: measure a fresh disk, the method before 2026-12; PIN=1: the server on core 0
#   and fio on core 1, so that the recording's thread-pool work competes with the engine, not fio)
# Use frozen checkouts (git worktree add …): tsx compiles each server from its working tree.
set -u
old=$1 new=$2 rounds=${3:-6}
tck=$(getconf CLK_TCK)
cpu() { # PID [TID]: utime + stime in clock ticks
  awk '{ print $14 + $15 }' "/proc/$1/task/${2:-$1}/stat" 2>/dev/null || echo 0
}
allcpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
one() { # CLI MODE
  local d extra='' pid m0 a0 iops
  d=$(mktemp -d)
  [ "$2" = off ] && extra=--no-record
  local server=() client=()
  [ "${PIN:-0}" = 1 ] && server=(taskset -c 0) client=(taskset -c 1)
  "${server[@]}" "$1" serve --size 256M --unix "$d" $extra >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -S "$d/disk1.sock" ] && break; sleep 0.1; done
  [ "${WRITE_FIRST:-1}" = 1 ] && nbdcopy -- [ nbdkit --exit-with-parent pattern size=256M ] "nbd+unix:///?socket=$d/disk1.sock"
  m0=$(cpu "$pid") a0=$(allcpu "$pid")
  iops=$("${client[@]}" fio --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$d/disk1.sock" --rw=randwrite --bs=4k \
    --iodepth=16 --size=256M --time_based --runtime="${RT:-4}" --output-format=json 2>/dev/null |
    python3 -c "import json,sys; t=sys.stdin.read(); print(int(json.loads(t[t.index('{'):])['jobs'][0]['write']['iops']))")
  python3 -c "import sys; i, m, a, tck, rt = map(float, sys.argv[1:]); n = max(1, i * rt); print(int(i), f'{m / tck * 1e6 / n:.2f}', f'{a / tck * 1e6 / n:.2f}')" \
    "${iops:-0}" $(($(cpu "$pid") - m0)) $(($(allcpu "$pid") - a0)) "$tck" "${RT:-4}"
  kill "$pid"
  wait "$pid" 2>/dev/null
  rm -rf "$d"
}
out=$(mktemp)
for _ in $(seq "$rounds"); do
  for v in old new; do
    for m in on off; do
      dir=$old
      [ $v = new ] && dir=$new
      echo "$v-$m $(one "$dir/server/bin/blockscope.mjs" $m)" | tee -a "$out"
    done
  done
done
python3 - "$out" <<'PY'
import collections, statistics as s, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    k, *v = line.split()
    d[k].append([float(x) for x in v])
def med(k, i):
    return s.median(r[i] for r in d[k])
for v in ('old', 'new'):
    on, off = med(v + '-on', 0), med(v + '-off', 0)
    # Each round's on and off ran one after the other: their ratio cancels the machine's slow
    # and fast spells (minutes long here), which the medians of each mode do not.
    paired = s.median(a[0] / b[0] for a, b in zip(d[v + '-on'], d[v + '-off']) if b[0])
    print(f'{v}: on {on:.0f} IOPS, off {off:.0f} IOPS, on / off {on / off:.2f}, paired {paired:.3f}', end='')
    if all(len(r) == 3 for r in d[v + '-on'] + d[v + '-off']):
        for i, name in ((1, 'engine thread'), (2, 'all threads')):
            con, coff = med(v + '-on', i), med(v + '-off', i)
            print(f'; {name} CPU µs/request on {con:.2f}, off {coff:.2f} ({(con / coff - 1) * 100:+.1f} %)', end='')
    print()
PY
rm -f "$out"
