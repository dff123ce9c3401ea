import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebmMuxer } from './webm-mux.ts';

/**
 * A stand-in VP8 frame: the frame tag ffprobe's parser reads (bit 0: 0 = keyframe; shown) and a
 * keyframe's start code and size, then filler; sizes vary as real frames do.
 */
function vp8Frame(k: number, key: boolean): Uint8Array {
  const b = new Uint8Array(100 + ((k * 37) % 300));
  b.set(key ? [0x10, 0, 0, 0x9d, 0x01, 0x2a, 320 & 0xff, 320 >> 8, 240, 0] : [0x11, 0, 0]);
  return b;
}

test('the WebM muxer hands each cluster on as the next keyframe comes (not at the end), and ffprobe reads every frame back', async () => {
  const fps = 10;
  const frames = 45;
  const writes: Uint8Array[] = [];
  const mux = new WebmMuxer({ width: 320, height: 240, fps, frames }, (b) => void writes.push(b));
  const writtenBefore: number[] = [];
  for (let k = 0; k < frames; k++) {
    await mux.frame(vp8Frame(k, k % 20 === 0), Math.round((k * 1e6) / fps), k % 20 === 0);
    writtenBefore.push(writes.length);
  }
  // The header at once, the first cluster when frame 20 (a keyframe) came, the second at frame 40.
  assert.deepEqual([writtenBefore[0], writtenBefore[19], writtenBefore[20], writtenBefore[40]], [1, 1, 2, 3]);
  await mux.finish();
  assert.equal(writes.length, 4);
  // Memory: what the muxer held at most is one cluster (20 frames), not the video.
  assert.ok(Math.max(...writes.slice(1).map((w) => w.length)) < 20 * 500);

  const dir = mkdtempSync(join(tmpdir(), 'webm-mux-'));
  try {
    const file = join(dir, 'v.webm');
    writeFileSync(file, Buffer.concat(writes));
    const r = spawnSync(
      'ffprobe',
      [
        '-v',
        'quiet',
        '-show_entries',
        'packet=pts_time,flags,size:stream=codec_name,width,height:format=duration',
        '-of',
        'json',
        file,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, `ffprobe (apt-get install ffmpeg): ${r.stderr}`);
    const j = JSON.parse(r.stdout) as {
      packets: Array<{ pts_time: string; flags: string; size: string }>;
      streams: Array<{ codec_name: string; width: number; height: number }>;
      format: { duration: string };
    };
    assert.deepEqual(j.streams[0], { codec_name: 'vp8', width: 320, height: 240 });
    assert.equal(Number(j.format.duration), frames / fps);
    assert.equal(j.packets.length, frames);
    j.packets.forEach((p, k) => {
      assert.equal(Number(p.pts_time), k / fps, `frame ${k}'s time`);
      assert.equal(p.flags.startsWith('K'), k % 20 === 0, `frame ${k} keyframe`);
      assert.equal(Number(p.size), 100 + ((k * 37) % 300));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
