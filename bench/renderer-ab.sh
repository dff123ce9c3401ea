#!/bin/bash
# The renderer bench's rows for two frozen checkouts, alternated: per pair, `measureRenderer`
# (bench/renderer.ts: `serve --ui`, the page open in Chromium, one fio randwrite QD8 per disk)
# of each, the first one first in odd pairs and second in even ones. Prints one JSON line per
# run (fps, request → pixel, the control server's event-loop delay p99 / max), then each
# checkout's median event-loop p99.
#   bench/renderer-ab.sh A_CHECKOUT B_CHECKOUT [PAIRS=4] [DISKS=1] [SIZE=16G] [SECONDS=6]
set -u
a=$1 b=$2 pairs=${3:-4} disks=${4:-1} size=${5:-16G} secs=${6:-6}
out=$(mktemp)
one() { # CHECKOUT
  (cd "$1" && node --import tsx --input-type=module -e "
    const { measureRenderer } = await import('./bench/renderer.ts');
    const r = await measureRenderer($disks, '$size', $secs);
    console.log(JSON.stringify({ checkout: '$(basename "$1")', ...r }));
  ") | tee -a "$out"
}
for p in $(seq "$pairs"); do
  if [ $((p % 2)) = 1 ]; then one "$a"; one "$b"; else one "$b"; one "$a"; fi
done
for c in "$a" "$b"; do
  python3 - "$out" "$(basename "$c")" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
mine = [r for r in rows if r['checkout'] == sys.argv[2]]
p99 = [r['loopP99Ms'] for r in mine]
print(f"{sys.argv[2]}: event-loop p99 median {statistics.median(p99):.1f} ms of {sorted(round(x, 1) for x in p99)}; fps median {statistics.median(r['fps'] for r in mine)}")
PY
done
rm -f "$out"
