#!/bin/bash
# Recording overhead of two builds side by side: for each round, a fresh server of each build
# with recording on and with --no-record, fio 4 KiB randwrite QD16 on a 256 MiB disk.
# Prints one line per run ("old-on 61708"), then medians and on ÷ off per build.
#   bench/recording-ab.sh OLD_CHECKOUT NEW_CHECKOUT [ROUNDS=6]   (RT=seconds per run, default 4)
# Use frozen checkouts (git worktree add …): tsx compiles each server from its working tree.
set -u
old=$1 new=$2 rounds=${3:-6}
one() { # CLI MODE
  local d extra='' pid
  d=$(mktemp -d)
  [ "$2" = off ] && extra=--no-record
  "$1" serve --size 256M --unix "$d" $extra >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 100); do [ -S "$d/disk1.sock" ] && break; sleep 0.1; done
  fio --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$d/disk1.sock" --rw=randwrite --bs=4k --iodepth=16 \
    --size=256M --time_based --runtime="${RT:-4}" --output-format=json 2>/dev/null |
    python3 -c "import json,sys; t=sys.stdin.read(); print(int(json.loads(t[t.index('{'):])['jobs'][0]['write']['iops']))"
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
    k, v = line.split()
    d[k].append(int(v))
for v in ('old', 'new'):
    on, off = s.median(d[v + '-on']), s.median(d[v + '-off'])
    print(f'{v}: on {on:.0f} IOPS, off {off:.0f} IOPS, on / off {on / off:.2f}')
PY
rm -f "$out"
