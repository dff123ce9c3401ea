// Opens a demo's recording (on purpose with a PATH where guestfish cannot be found) and
// compares the state at every probed instant with what the live run had. Prints JSON:
// { guestfish: false, checked, mismatches: [...] }.
//   node --import tsx e2e/demos/verify-recording.ts RECORDING PROBES.json [SEC,…]
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Engine } from '../../server/engine.ts';
import { stateDigest, type StateDigest } from '../../server/timeline/digest.ts';
import { openReplay } from '../../server/timeline/replay.ts';

const [recording, probesFile] = process.argv.slice(2);
const probes = JSON.parse(readFileSync(probesFile, 'utf8')) as Array<{ sec: number; disks: StateDigest[] }>;
const guestfish = spawnSync('/bin/sh', ['-c', 'command -v guestfish']).status === 0;
const engine = new Engine();
const t = await openReplay(engine, recording);
const mismatches: unknown[] = [];
for (const p of probes) {
  await t.act('seek', { seconds: p.sec });
  const now = engine.disks.map((d) => stateDigest(d.shown()));
  for (const [i, live] of p.disks.entries()) {
    if (now[i].sha256 !== live.sha256) mismatches.push({ sec: p.sec, disk: live.disk, live, replay: now[i] });
  }
}
await t.close();
console.log(JSON.stringify({ guestfish, checked: probes.length, mismatches }));
