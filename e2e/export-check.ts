// Checks of exported pictures against the recording they came from: the expected colour of
// every cell comes from the block-state map the player rebuilds at that instant.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { Engine } from '../server/engine.ts';
import { openReplay } from '../server/timeline/replay.ts';
import { cellRestColor, packPalette, PALETTES, unpackColor } from '../renderer/grid/palette.ts';

const CLI = join(import.meta.dirname, '..', 'server', 'bin', 'blockscope.mjs');

export interface Layout {
  width: number;
  height: number;
  grids: Array<{ disk: number; x: number; y: number; cellPx: number; gridWidth: number; gridHeight: number }>;
}

/** `blockscope export …`; returns its JSON summary. */
export function runExport(args: string[]): Record<string, unknown> & { layout: Layout } {
  const r = spawnSync(process.execPath, [CLI, 'export', ...args], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`blockscope export failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

/** Expected RGBA colour of every cell of every disk at `sec` (laptop palette). */
export async function expectedColors(
  recording: string,
  sec: number,
): Promise<Map<number, { width: number; colors: number[] }>> {
  const engine = new Engine();
  const t = await openReplay(engine, recording);
  await t.act('seek', { seconds: sec });
  const p = packPalette(PALETTES.laptop);
  const out = new Map<number, { width: number; colors: number[] }>();
  for (const d of engine.disks) {
    const st = d.shown();
    st.cutFrame(undefined, true);
    out.set(d.number, { width: st.geometry.width, colors: Array.from(st.cells, (v) => cellRestColor(p, v)) });
  }
  await t.close();
  return out;
}

export function readPng(path: string): PNG {
  return PNG.sync.read(readFileSync(path));
}

export function rgbaAt(png: PNG, x: number, y: number): [number, number, number, number] {
  const i = (y * png.width + x) * 4;
  return [png.data[i], png.data[i + 1], png.data[i + 2], png.data[i + 3]];
}

export const rgba = (c: number) => unpackColor(c);

/** Nearest of the palette's state and error colours to an RGB triple (lossy video frames). */
export function nearestStateColor(rgb: number[]): number {
  const p = packPalette(PALETTES.laptop);
  const candidates = [...p.states, p.error];
  let best = candidates[0];
  let bestD = Infinity;
  for (const c of candidates) {
    const [r, g, b] = unpackColor(c);
    const d = (r - rgb[0]) ** 2 + (g - rgb[1]) ** 2 + (b - rgb[2]) ** 2;
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

/** The frame number stamped in the corner (16 squares of 8 px, black/white bits). */
export function frameStamp(png: PNG, square = 8): number {
  let v = 0;
  const y = png.height - square - 2 + square / 2;
  for (let b = 0; b < 16; b++) {
    const [r] = rgbaAt(png, 2 + b * square + square / 2, y);
    if (r > 128) v |= 1 << b;
  }
  return v;
}

/** Grab video frames [first, first+count) as PNG files; returns their paths. */
export function grabFrames(webm: string, first: number, count: number, dir: string): string[] {
  const pattern = join(dir, `frame-%03d.png`);
  const r = spawnSync(
    'ffmpeg',
    [
      '-v',
      'error',
      '-y',
      '-i',
      webm,
      '-vf',
      `select=between(n\\,${first}\\,${first + count - 1})`,
      '-vsync',
      '0',
      pattern,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
  return Array.from({ length: count }, (_, i) => join(dir, `frame-${String(i + 1).padStart(3, '0')}.png`));
}

export function ffprobe(webm: string): { width: number; height: number; frames: number; duration: number } {
  const r = spawnSync(
    'ffprobe',
    [
      '-v',
      'error',
      '-count_frames',
      '-show_entries',
      'stream=width,height,nb_read_frames:format=duration',
      '-of',
      'json',
      webm,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`ffprobe failed (apt-get install ffmpeg): ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
  const s = j.streams[0];
  return {
    width: Number(s.width),
    height: Number(s.height),
    frames: Number(s.nb_read_frames),
    duration: Number(j.format.duration),
  };
}

/**
 * Compare a (lossy) video frame with the expected cell colours: each cell's centre pixel,
 * snapped to the nearest state colour. Returns the fraction of cells that match.
 */
export function frameMatch(
  frame: PNG,
  layout: Layout,
  expected: Map<number, { width: number; colors: number[] }>,
): number {
  let ok = 0;
  let all = 0;
  for (const g of layout.grids) {
    const e = expected.get(g.disk)!;
    for (let c = 0; c < e.colors.length; c++) {
      const x = g.x + (c % g.gridWidth) * g.cellPx + Math.floor(g.cellPx / 2);
      const y = g.y + Math.floor(c / g.gridWidth) * g.cellPx + Math.floor(g.cellPx / 2);
      all++;
      if (nearestStateColor(rgbaAt(frame, x, y)) === e.colors[c]) ok++;
    }
  }
  return ok / all;
}
