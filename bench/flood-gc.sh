#!/bin/bash
# bench/flood-gc.sh CHECKOUT: `serve --size 16G` of a frozen checkout under `node --trace-gc`,
# fio 4 KiB random writes at QD16 for 10 s; prints the JS heap after the last mark-compact, the
# control API's event-loop delay over 7 s of the flood, fio's IOPS, RSS, and the GCs' count and
# pauses. Alternate two checkouts for an A/B (this machine is noisy).
set -u
d=$(mktemp -d)
GLIBC_TUNABLES=glibc.malloc.hugetlb=1 node --trace-gc "$1/server/bin/blockscope.mjs" serve --size 16G --unix "$d" --api 0 > $d/out.txt 2>&1 &
pid=$!
for _ in $(seq 150); do grep -q "^api " $d/out.txt 2>/dev/null && break; sleep 0.1; done
api=$(grep "^api " $d/out.txt | awk '{print $2}')
health=$(echo "$api" | sed 's|/api/disks|/api/health|')
fio --name=f --ioengine=nbd --uri="nbd+unix:///?socket=$d/disk1.sock" --rw=randwrite --bs=4k --iodepth=16 --size=16G --time_based --runtime=10 > $d/fio.txt 2>&1 &
fp=$!
sleep 2
curl -s "$health" > /dev/null
sleep 7
loop=$(curl -s "$health" | python3 -c "import json,sys; j=json.load(sys.stdin)['eventLoopDelayMs']; print(f\"loop p99 {j['p99']} max {j['max']}\")")
wait $fp
iops=$(grep -oE "write: IOPS=[0-9.k]+" $d/fio.txt | head -1)
rss=$(awk '/VmRSS/ {print $2/1024}' /proc/$pid/status)
kill $pid; wait $pid 2>/dev/null
python3 - "$d/out.txt" "$loop" "$iops" "$rss" <<'PY'
import re, sys
mc = [float(m.group(1)) for m in re.finditer(r'Mark-Compact .*?, ([0-9.]+) / [0-9.]+ ms', open(sys.argv[1]).read())]
sc = [float(m.group(1)) for m in re.finditer(r'Scavenge .*?, ([0-9.]+) / [0-9.]+ ms', open(sys.argv[1]).read())]
t = open(sys.argv[1]).read()
heap = re.findall(r'Mark-Compact [0-9.]+ \(([0-9.]+)\) -> ([0-9.]+) \(', t)
print(f"heap after last mark-compact {heap[-1][1] if heap else '?'} MB;", end=' ')
print(f"{sys.argv[2]}; write IOPS {sys.argv[3]}; RSS {float(sys.argv[4]):.0f} MiB; mark-compacts {len(mc)} sum {sum(mc):.0f} ms max {max(mc or [0]):.1f}; scavenges {len(sc)} max {max(sc or [0]):.1f}")
PY
rm -rf $d
