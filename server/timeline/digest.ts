// A digest of everything a disk's picture is made of (every block's state, the error marks,
// the counters), to compare a live run with its playback instant by instant.

import { createHash } from 'node:crypto';
import type { DiskStats } from '../events/disk-stats.ts';
import type { BLOCK_STATE_NAMES } from '../shared/types.ts';

export interface StateDigest {
  disk: number;
  /** SHA-256 of the per-block states, the per-cell error marks and the op counters. */
  sha256: string;
  blocks: Record<(typeof BLOCK_STATE_NAMES)[number], number>;
  errorCells: number;
}

export function stateDigest(stats: DiskStats): StateDigest {
  const h = createHash('sha256');
  const chunk = new Uint8Array(65536);
  let n = 0;
  for (let b = 0; b < stats.geometry.blocks; b++) {
    chunk[n++] = stats.states.get(b);
    if (n === chunk.length) {
      h.update(chunk);
      n = 0;
    }
  }
  h.update(chunk.subarray(0, n));
  const marks = stats.errorMarks();
  const errorCells = marks.reduce((k, v) => k + v, 0);
  h.update(marks);
  const snap = stats.snapshot();
  h.update(JSON.stringify(snap.counters));
  return { disk: stats.diskNumber, sha256: h.digest('hex'), blocks: snap.blocks, errorCells };
}
