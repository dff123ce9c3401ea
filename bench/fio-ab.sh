#!/bin/bash
# bench/fio-ab.sh RW QD ROUNDS CHECKOUT...: per round, a fresh server of each frozen checkout (256M,
# recording on as by default), fio 4 KiB RW at QD for 4 s on a disk written through first; prints IOPS.
rw=$1 qd=$2 rounds=$3; shift 3
for r in $(seq $rounds); do
  for c in "$@"; do
    d=$(mktemp -d)
    $c/server/bin/blockscope.mjs serve --size 256M --unix $d >/dev/null 2>&1 & P=$!
    for i in $(seq 200); do [ -S $d/disk1.sock ] && break; sleep 0.05; done
    fio --name=w --ioengine=nbd --uri="nbd+unix:///?socket=$d/disk1.sock" --rw=write --bs=1M --iodepth=4 --size=256M >/dev/null 2>&1
    iops=$(fio --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$d/disk1.sock" --rw=$rw --bs=4k --iodepth=$qd --size=256M --time_based --runtime=4 --output-format=json 2>/dev/null | python3 -c "import json,sys; t=sys.stdin.read(); j=json.loads(t[t.index('{'):])['jobs'][0]; print(int(j['read']['iops']+j['write']['iops']))")
    echo "$(basename $c) $rw QD$qd $iops"
    kill $P; wait $P 2>/dev/null; rm -rf $d
  done
done
