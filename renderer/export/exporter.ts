// Export from the page (so it works the same in Electron and in a browser): PNG of the view,
// raw per-disk PNGs, and a WebM of any time range made by stepping the time machine frame by
// frame, drawing each frame, and capturing the canvas with MediaRecorder. `blockscope export`
// drives the same functions headless (window.__blockscopeExport).

import type { TimelineStatus } from '../../server/shared/types.ts';
import { humanBig } from '../components/format.ts';
import type { Controller } from '../controller.ts';
import { getUi } from '../store/store.ts';
import { composeScene, gridImage, stampFrame, type Composition, type ExportScene } from './compose.ts';

export function currentScene(c: Controller): ExportScene {
  const s = getUi();
  return {
    disks: s.disks.map((d) => {
      const p = c.grid.painter(d.number);
      return {
        number: d.number,
        name: d.name,
        sizeLabel: humanBig(d.size),
        geometry: p?.geometry ?? d.grid,
        cells: p?.cells ?? new Uint8Array(d.grid.cells),
      };
    }),
    palette: s.settings.palette,
    caption: s.caption,
    title: 'Blockscope',
  };
}

const toBytes = async (blob: Blob) => new Uint8Array(await blob.arrayBuffer());

function canvasPng(canvas: HTMLCanvasElement): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(toBytes(b)) : reject(new Error('PNG encoding failed'))), 'image/png'),
  );
}

export async function exportPng(c: Controller, scale: number): Promise<{ png: Uint8Array; layout: Composition }> {
  const canvas = document.createElement('canvas');
  const layout = composeScene(canvas, currentScene(c), scale);
  return { png: await canvasPng(canvas), layout };
}

/** One PNG per disk, one pixel per cell (= per 4 KiB block unless the disk merges blocks). */
export async function exportRawPngs(c: Controller): Promise<Array<{ disk: number; png: Uint8Array }>> {
  const scene = currentScene(c);
  const out: Array<{ disk: number; png: Uint8Array }> = [];
  for (const d of scene.disks) {
    const canvas = document.createElement('canvas');
    canvas.width = d.geometry.width;
    canvas.height = d.geometry.height;
    canvas.getContext('2d')!.putImageData(gridImage(d, scene.palette), 0, 0);
    out.push({ disk: d.number, png: await canvasPng(canvas) });
  }
  return out;
}

const nextFrame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));

/** Seek the time machine and wait until the new picture is in the painters. */
async function showInstant(c: Controller, seconds: number): Promise<TimelineStatus> {
  const status = await c.transport.call('timeline', { action: 'seek', seconds });
  // The engine sends the frame before it answers; the frame loop applies it on the next tick.
  await nextFrame();
  await nextFrame();
  return status;
}

export interface WebmOptions {
  fromSec: number;
  toSec: number;
  /** Session seconds per video second (0.1-100). */
  speed: number;
  fps?: number;
  scale?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface WebmResult {
  webm: Uint8Array;
  frames: number;
  width: number;
  height: number;
  fps: number;
  /** Session instant shown by frame k: fromSec + k * speed / fps. */
  layout: Composition;
}

export async function exportWebm(c: Controller, o: WebmOptions): Promise<WebmResult> {
  if (!(o.toSec > o.fromSec)) throw new Error('WebM export: --to must be after --from');
  if (!(o.speed >= 0.1 && o.speed <= 100)) throw new Error('WebM export: speed must be from 0.1 to 100');
  const fps = o.fps ?? 30;
  const frames = Math.max(1, Math.round(((o.toSec - o.fromSec) / o.speed) * fps));
  const canvas = document.createElement('canvas');
  await c.transport.call('timeline', { action: 'pause' });
  // First every frame's scene (cell values are small), then the video at an exact pace: how
  // long the seeks take does not leak into the video's timing.
  const scenes: ExportScene[] = [];
  for (let k = 0; k < frames; k++) {
    await showInstant(c, o.fromSec + (k * o.speed) / fps);
    const sc = currentScene(c);
    scenes.push({ ...sc, disks: sc.disks.map((d) => ({ ...d, cells: d.cells.slice() })) });
    o.onProgress?.(k + 1, 2 * frames);
  }
  let layout = composeScene(canvas, scenes[0], o.scale ?? 1);
  const stream = canvas.captureStream(0);
  const track = stream.getVideoTracks()[0] as MediaStreamTrack & { requestFrame(): void };
  const type = MediaRecorder.isTypeSupported('video/webm;codecs=vp8') ? 'video/webm;codecs=vp8' : 'video/webm';
  const rec = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 12_000_000 });
  const chunks: Blob[] = [];
  rec.ondataavailable = (e) => e.data.size && chunks.push(e.data);
  const stopped = new Promise<void>((r) => (rec.onstop = () => r()));
  let failure: string | null = null;
  rec.onerror = (e) => (failure = String((e as unknown as { error?: Error }).error?.message ?? 'MediaRecorder error'));
  rec.start();
  const t0 = performance.now();
  for (let k = 0; k <= frames && !failure; k++) {
    // Frame `frames` repeats the last one: it closes the last frame's duration.
    layout = composeScene(canvas, scenes[Math.min(k, frames - 1)], o.scale ?? 1);
    stampFrame(canvas, Math.min(k, frames - 1));
    track.requestFrame();
    o.onProgress?.(frames + k, 2 * frames);
    const wait = t0 + ((k + 1) * 1000) / fps - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  if (rec.state !== 'inactive') rec.stop();
  await stopped;
  if (failure) throw new Error(`WebM recording failed: ${failure}`);
  const webm = await toBytes(new Blob(chunks, { type: 'video/webm' }));
  return { webm, frames, width: canvas.width, height: canvas.height, fps, layout };
}

/** Let the browser save bytes as a file. */
export function download(bytes: Uint8Array, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

const b64 = (u: Uint8Array) => {
  let s = '';
  for (let i = 0; i < u.length; i += 0x8000) s += String.fromCharCode(...u.subarray(i, i + 0x8000));
  return btoa(s);
};

/** For `blockscope export` (Playwright): the same exports, bytes as base64. */
export function installExportHooks(c: Controller): void {
  (window as unknown as { __blockscopeExport: unknown }).__blockscopeExport = {
    ready: () => getUi().disks.length > 0 && getUi().disks.every((d) => !!c.grid.painter(d.number)),
    seek: (seconds: number) => showInstant(c, seconds),
    png: async (scale: number) => {
      const r = await exportPng(c, scale);
      return { png: b64(r.png), layout: r.layout };
    },
    raw: async () => (await exportRawPngs(c)).map((r) => ({ disk: r.disk, png: b64(r.png) })),
    webm: async (o: WebmOptions) => {
      const r = await exportWebm(c, o);
      return { ...r, webm: b64(r.webm) };
    },
  };
}
