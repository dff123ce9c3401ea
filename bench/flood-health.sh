#!/bin/bash
# bench/flood-health.sh CHECKOUT DISKS [RT=5]: serve DISKS x 64M from a frozen CHECKOUT (git worktree),
# one fio randwrite QD16 per disk for RT s; prints aggregate IOPS and the control server's
# event-loop delay p99/max over the flood (GET /api/health). Extra serve options: $SERVE_ARGS.
cli=$1/server/bin/blockscope.mjs; n=$2; rt=${3:-5}
d=$(mktemp -d)
$cli serve --size 64M --disks $n --unix $d --api 0 $SERVE_ARGS > $d/out 2>&1 & P=$!
for i in $(seq 200); do grep -q '^api ' $d/out && break; sleep 0.05; done
api=$(grep '^api ' $d/out | awk '{print $2}'); tok=${api#*token=}; base=${api%%/api/*}
curl -s "$base/api/health?token=$tok" >/dev/null
pids=()
for i in $(seq $n); do
  fio --name=b --ioengine=nbd --uri="nbd+unix:///?socket=$d/disk$i.sock" --rw=randwrite --bs=4k --iodepth=16 --size=64M --time_based --runtime=$rt --output-format=json > $d/fio$i.json 2>/dev/null & pids+=($!)
done
wait "${pids[@]}"
h=$(curl -s "$base/api/health?token=$tok")
iops=$(for i in $(seq $n); do python3 -c "import json,sys; t=open('$d/fio$i.json').read(); print(int(json.loads(t[t.index('{'):])['jobs'][0]['write']['iops']))"; done | paste -sd+ | bc)
echo "$(basename $1) disks=$n iops=$iops health=$(echo $h | python3 -c 'import json,sys; h=json.load(sys.stdin)["eventLoopDelayMs"]; print("p99=%.1f max=%.1f" % (h["p99"], h["max"]))')"
kill $P; wait $P 2>/dev/null; rm -rf $d
