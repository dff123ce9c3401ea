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
/** Each disk's live state at an instant of its own (run-demo.ts: its data path's barrier). */
const probes = JSON.parse(readFileSync(probesFile, 'utf8')) as Array<{ disks: Array<StateDigest & { sec: number }> }>;
const guestfish = spawnSync('/bin/sh', ['-c', 'command -v guestfish']).status === 0;
const engine = new Engine();
const t = await openReplay(engine, recording);
const mismatches: unknown[] = [];
for (const p of probes) {
  for (const live of p.disks) {
    await t.act('seek', { seconds: live.sec });
    const replay = stateDigest(engine.disk(live.disk).shown());
    if (replay.sha256 !== live.sha256) mismatches.push({ sec: live.sec, disk: live.disk, live, replay });
  }
}
await t.close();
console.log(JSON.stringify({ guestfish, checked: probes.length, mismatches }));
