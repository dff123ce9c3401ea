// Export from the page (so it works the same in Electron and in a browser): PNG of the view,
// raw per-disk PNGs, and a WebM of any time range made by stepping the time machine frame by
// frame, drawing each frame, and capturing the canvas with MediaRecorder. `blockscope export`
// drives the same functions headless (window.__blockscopeExport).

import type { TimelineStatus } from '../../server/shared/types.ts';
import { humanBig } from '../components/format.ts';
import type { Controller } from '../controller.ts';
import { getUi } from '../store/store.ts';
import { composeScene, gridImage, stampFrame, type Composition, type ExportScene } from './compose.ts';
import { frameBudgetProblem } from './frame-budget.ts';
import { MAX_WEBM_SPEED, MIN_WEBM_SPEED } from './webm-form.ts';

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

/**
 * Seek the time machine and wait until the new picture is in the painters. `borrow`: an export's
 * seek (the server gives the time machine back if this page goes away mid-export).
 */
async function showInstant(c: Controller, seconds: number, borrow = false): Promise<TimelineStatus> {
  const status = await c.transport.call('timeline', { action: 'seek', seconds, ...(borrow ? { borrow } : {}) });
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
  /** Cancels the export (it then rejects with an AbortError). */
  signal?: AbortSignal;
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
  if (!(o.toSec > o.fromSec)) throw new Error(`'to' must be after 'from'`);
  if (!(o.speed >= MIN_WEBM_SPEED && o.speed <= MAX_WEBM_SPEED))
    throw new Error(`'speed' must be from ${MIN_WEBM_SPEED} to ${MAX_WEBM_SPEED}`);
  const fps = o.fps ?? 30;
  const frames = Math.max(1, Math.round(((o.toSec - o.fromSec) / o.speed) * fps));
  const tooMany = frameBudgetProblem(frames, sceneBytes(currentScene(c)));
  if (tooMany) throw new Error(tooMany);
  // The time machine is shared by every viewer: put it back where it was, however this ends.
  const before = await c.transport.call('timeline', { action: 'status' });
  try {
    return await recordWebm(c, o, fps, frames);
  } finally {
    await giveBack(c, before);
  }
}

const sceneBytes = (sc: ExportScene) => sc.disks.reduce((n, d) => n + d.cells.byteLength, 0);

/** Back to where the time machine was before an export: live, or the instant (playing if it was). */
async function giveBack(c: Controller, before: TimelineStatus): Promise<void> {
  try {
    if (before.following) await c.transport.call('timeline', { action: 'live' });
    else {
      await c.transport.call('timeline', { action: 'seek', seconds: before.positionSec });
      if (before.playing) await c.transport.call('timeline', { action: 'play' });
    }
  } catch (err) {
    // The server gives a borrowed time machine back itself when this page's connection closes.
    console.warn(`blockscope: could not return the time machine after the export: ${(err as Error).message}`);
  }
}

async function recordWebm(c: Controller, o: WebmOptions, fps: number, frames: number): Promise<WebmResult> {
  const canvas = document.createElement('canvas');
  await c.transport.call('timeline', { action: 'pause', borrow: true });
  // First every frame's scene (cell values are small; frame-budget.ts bounds them), then the
  // video at an exact pace: how long the seeks take does not leak into the video's timing.
  const scenes: ExportScene[] = [];
  for (let k = 0; k < frames; k++) {
    o.signal?.throwIfAborted();
    await showInstant(c, o.fromSec + (k * o.speed) / fps, true);
    const sc = currentScene(c);
    scenes.push({ ...sc, disks: sc.disks.map((d) => ({ ...d, cells: d.cells.slice() })) });
    o.onProgress?.(k + 1, 2 * frames);
  }
  o.signal?.throwIfAborted();
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
  for (let k = 0; k <= frames && !failure && !o.signal?.aborted; k++) {
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
  stream.getTracks().forEach((tr) => tr.stop());
  o.signal?.throwIfAborted();
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
