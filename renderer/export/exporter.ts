// Export from the page (so it works the same in Electron and in a browser): PNG of the view,
// raw per-disk PNGs, and a WebM of any time range made by stepping the time machine frame by
// frame, drawing each frame and encoding it at once (WebCodecs VP8; webm-mux.ts writes the
// file as it goes). `blockscope export` drives the same functions headless (window.__blockscopeExport).

import type { TimelineStatus } from '../../server/shared/types.ts';
import { humanBig } from '../components/format.ts';
import type { Controller } from '../controller.ts';
import { getUi } from '../store/store.ts';
import { composeScene, gridImage, stampFrame, type Composition, type ExportScene } from './compose.ts';
import { MAX_WEBM_SPEED, MIN_WEBM_SPEED } from './webm-form.ts';
import { WebmMuxer } from './webm-mux.ts';

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

/** Where the video's bytes go as they are made, front to back (awaited: backpressure). */
export type WebmSink = (bytes: Uint8Array) => Promise<void> | void;

export interface WebmResult {
  /** Bytes written to the sink. */
  bytes: number;
  frames: number;
  width: number;
  height: number;
  fps: number;
  /** Session instant shown by frame k: fromSec + k * speed / fps. */
  layout: Composition;
}

export async function exportWebm(c: Controller, o: WebmOptions, sink: WebmSink): Promise<WebmResult> {
  if (!(o.toSec > o.fromSec)) throw new Error(`'to' must be after 'from'`);
  if (!(o.speed >= MIN_WEBM_SPEED && o.speed <= MAX_WEBM_SPEED))
    throw new Error(`'speed' must be from ${MIN_WEBM_SPEED} to ${MAX_WEBM_SPEED}`);
  if (typeof VideoEncoder === 'undefined')
    throw new Error('this browser cannot encode video (no WebCodecs VideoEncoder)');
  const fps = o.fps ?? 30;
  const frames = Math.max(1, Math.round(((o.toSec - o.fromSec) / o.speed) * fps));
  // The time machine is shared by every viewer: put it back where it was, however this ends.
  const before = await c.transport.call('timeline', { action: 'status' });
  try {
    return await recordWebm(c, o, fps, frames, sink);
  } finally {
    await giveBack(c, before);
  }
}

/** A WebM export for the page: the video as a Blob (the browser keeps big ones on disk, not in the page). */
export async function exportWebmBlob(c: Controller, o: WebmOptions): Promise<Blob> {
  const parts: Blob[] = [];
  await exportWebm(c, o, (bytes) => void parts.push(new Blob([bytes as BlobPart])));
  return new Blob(parts, { type: 'video/webm' });
}

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

/** Encoder frames waiting at most: the page holds a few frames, however long the video. */
const MAX_ENCODE_QUEUE = 4;
/** A keyframe (and a new WebM cluster) every this many seconds of video: the file stays seekable. */
const KEYFRAME_SECONDS = 2;

/**
 * Each frame is shown (a seek), drawn, stamped and handed to a VP8 encoder with its exact
 * timestamp (k / fps): how long the seeks take never leaks into the video's timing, so frames
 * need not be gathered first. Encoded frames go through the muxer to `sink` as they come out.
 */
async function recordWebm(
  c: Controller,
  o: WebmOptions,
  fps: number,
  frames: number,
  sink: WebmSink,
): Promise<WebmResult> {
  const canvas = document.createElement('canvas');
  const scale = o.scale ?? 1;
  await c.transport.call('timeline', { action: 'pause', borrow: true });
  let bytes = 0;
  let muxer: WebmMuxer | null = null;
  // Muxer writes in the encoder's output order; awaited before each next frame (backpressure).
  let written: Promise<void> = Promise.resolve();
  let failure: Error | null = null;
  const encoder = new VideoEncoder({
    output: (chunk) => {
      const data = new Uint8Array(chunk.byteLength);
      chunk.copyTo(data);
      written = written.then(() => muxer!.frame(data, chunk.timestamp, chunk.type === 'key'));
    },
    error: (e) => (failure = e),
  });
  const check = () => {
    o.signal?.throwIfAborted();
    if (failure) throw new Error(`WebM encoding failed: ${failure.message}`);
  };
  const keyEvery = Math.max(1, Math.round(KEYFRAME_SECONDS * fps));
  let layout: Composition | null = null;
  try {
    for (let k = 0; k < frames; k++) {
      check();
      await showInstant(c, o.fromSec + (k * o.speed) / fps, true);
      layout = composeScene(canvas, currentScene(c), scale);
      stampFrame(canvas, k);
      if (!muxer) {
        const config: VideoEncoderConfig = {
          codec: 'vp8',
          width: canvas.width,
          height: canvas.height,
          bitrate: 12_000_000,
          framerate: fps,
        };
        if (!(await VideoEncoder.isConfigSupported(config)).supported)
          throw new Error(`this browser cannot encode VP8 at ${canvas.width}×${canvas.height}`);
        encoder.configure(config);
        const track = { width: canvas.width, height: canvas.height, fps, frames };
        muxer = new WebmMuxer(track, async (b) => {
          bytes += b.length;
          await sink(b);
        });
      }
      const frame = new VideoFrame(canvas, { timestamp: Math.round((k * 1e6) / fps), duration: Math.round(1e6 / fps) });
      encoder.encode(frame, { keyFrame: k % keyEvery === 0 });
      frame.close();
      while (encoder.encodeQueueSize > MAX_ENCODE_QUEUE) await new Promise((r) => setTimeout(r, 1));
      await written;
      o.onProgress?.(k + 1, frames);
    }
    await encoder.flush();
    check();
    await written;
    await muxer!.finish();
  } finally {
    if (encoder.state !== 'closed') encoder.close();
  }
  return { bytes, frames, width: canvas.width, height: canvas.height, fps, layout: layout! };
}

/** Let the browser save bytes (or a Blob) as a file. */
export function download(bytes: Uint8Array | Blob, name: string, type: string): void {
  const url = URL.createObjectURL(bytes instanceof Blob ? bytes : new Blob([bytes as BlobPart], { type }));
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
    // The video goes to `blockscope export` chunk by chunk (a binding it exposes), never whole.
    webm: (o: WebmOptions) => {
      const write = (window as unknown as { __blockscopeWebmWrite: (b64: string) => Promise<void> })
        .__blockscopeWebmWrite;
      return exportWebm(c, o, (bytes) => write(b64(bytes)));
    },
  };
}
