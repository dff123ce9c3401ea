// The Pixi side of the grid: one Application (one transparent canvas over the stage) drawing
// one container per disk: the grid sprite, the failed-disk stripes, an overlay layer (for
// annotations such as structure outlines) and the keyboard cursor, clipped to the disk's slot.
// Each disk's texture comes from its CellPainter's RGBA buffer through a small 2D canvas
// (putImageData of the dirty rows only, then CanvasSource.update()): unlike BufferImageSource
// this works with both of Pixi's renderers, and the 2D canvas renderer is the fast one where
// WebGL is software-emulated (SwiftShader: ~10 fps under load against 60).
// Where a disk is drawn comes from the layout (layout.ts): its slot and fitted scale; the
// user's zoom and pan (view.ts) apply on top. Nearest-neighbour sampling keeps fractional
// scales crisp.
// The canvas is redrawn only when something on it changed: a texture, a placement, the view, an
// overlay. Without a GPU a redraw of a full-screen canvas costs the page and the compositor
// ~10 ms of CPU, and an unchanged picture used to be redrawn 60 times a second (issue 13).

import 'pixi.js/unsafe-eval';
import { Application, CanvasSource, Container, Graphics, Sprite, Texture } from 'pixi.js';
import type { CellPainter } from './cell-painter.ts';
import type { DisplayFit } from './display-geometry.ts';
import { type Rect } from './layout.ts';
import { IDENTITY, panBy, revealPoint, viewRect, zoomAt, type View } from './view.ts';

/** An unchanged picture is still drawn this often (a change someone forgot to invalidate). */
const REDRAW_AT_LEAST_MS = 1000;

export interface GridPlacement {
  slot: Rect;
  fit: DisplayFit;
}

interface DiskSprite {
  painter: CellPainter;
  /** The buffer the texture was made from (the painter replaces it when the display changes). */
  buffer: Uint8Array | null;
  source: CanvasSource | null;
  ctx: CanvasRenderingContext2D | null;
  image: ImageData | null;
  sprite: Sprite;
  container: Container;
  stripes: Graphics;
  overlay: Container;
  cursor: Graphics;
  mask: Graphics;
  placement: GridPlacement | null;
  view: View;
  uploaded: number;
  failed: boolean;
  cursorTexel: number | null;
  /** What the stripes/cursor were last drawn for (redraw only on change). */
  drawnKey: string;
}

export class BlockGrid {
  readonly app = new Application();
  private disks = new Map<number, DiskSprite>();
  private host: HTMLElement | null = null;
  private ready = false;
  private stripeColor = 0xffb000;
  /** Number of frames that uploaded at least one texture. */
  uploads = 0;
  /** Number of times the canvas was drawn. */
  draws = 0;
  /** Something other than a texture changed since the last draw (see invalidate()). */
  private stale = true;
  private lastDrawAt = -Infinity;
  renderer: 'webgl' | 'canvas' = 'webgl';

  /** Which Pixi renderer draws: WebGL on real GPUs, the 2D canvas where WebGL is software. */
  static preferredRenderer(): 'webgl' | 'canvas' {
    const forced = new URLSearchParams(location.search).get('renderer');
    if (forced === 'webgl' || forced === 'canvas') return forced;
    try {
      const gl =
        document.createElement('canvas').getContext('webgl2') ?? document.createElement('canvas').getContext('webgl');
      if (!gl) return 'canvas';
      const info = gl.getExtension('WEBGL_debug_renderer_info');
      const name = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
      gl.getExtension('WEBGL_lose_context')?.loseContext();
      return /swiftshader|llvmpipe|software/i.test(name) ? 'canvas' : 'webgl';
    } catch {
      return 'canvas';
    }
  }

  async init(host: HTMLElement): Promise<void> {
    this.host = host;
    this.renderer = BlockGrid.preferredRenderer();
    const r = host.getBoundingClientRect();
    await this.app.init({
      width: Math.max(1, r.width),
      height: Math.max(1, r.height),
      preference: this.renderer,
      antialias: false,
      resolution: window.devicePixelRatio || 1,
      autoDensity: true,
      // Lets tests (and screenshots) read back the real canvas pixels.
      preserveDrawingBuffer: true,
      autoStart: false,
      // Transparent, always: the disk panels (DOM) show through around the grids. (Setting a
      // background colour later would make it opaque and hide every panel.)
      backgroundAlpha: 0,
    });
    this.app.canvas.style.imageRendering = 'pixelated';
    host.appendChild(this.app.canvas);
    this.ready = true;
    // Disks announced before the renderer was ready.
    for (const d of this.disks.values()) this.app.stage.addChild(d.mask, d.container);
  }

  /** The stage changed size (a ResizeObserver calls this). */
  resize(width: number, height: number): void {
    if (this.ready) this.app.renderer.resize(Math.max(1, width), Math.max(1, height));
    this.stale = true;
  }

  /** Draw again at the next frame: for changes made to the stage from outside (overlay layers). */
  invalidate(): void {
    this.stale = true;
  }

  /** The colour of the failed-disk stripes (the palette's failed colour). */
  setStripeColor(hex: string): void {
    this.stripeColor = parseInt(hex.slice(1), 16);
    for (const d of this.disks.values()) d.drawnKey = '';
    this.stale = true;
  }

  setDisk(n: number, painter: CellPainter): void {
    const old = this.disks.get(n);
    this.removeDisk(n);
    this.stale = true;
    const sprite = new Sprite();
    const container = new Container();
    const stripes = new Graphics();
    const overlay = new Container();
    const cursor = new Graphics();
    const mask = new Graphics();
    container.addChild(sprite, stripes, overlay, cursor);
    container.mask = mask;
    if (this.ready) this.app.stage.addChild(mask, container);
    this.disks.set(n, {
      painter,
      buffer: null,
      source: null,
      ctx: null,
      image: null,
      sprite,
      container,
      stripes,
      overlay,
      cursor,
      mask,
      placement: old?.placement ?? null,
      view: { ...IDENTITY },
      uploaded: -1,
      failed: old?.failed ?? false,
      cursorTexel: null,
      drawnKey: '',
    });
    if (old?.placement) this.place(n, old.placement);
  }

  removeDisk(n: number): void {
    const d = this.disks.get(n);
    if (!d) return;
    if (d.sprite.texture && d.sprite.texture !== Texture.EMPTY) d.sprite.texture.destroy(true);
    d.container.destroy({ children: true });
    d.mask.destroy();
    this.disks.delete(n);
    this.stale = true;
  }

  painter(n: number): CellPainter | undefined {
    return this.disks.get(n)?.painter;
  }

  /**
   * An extra drawing layer above the grid of disk n, in texel coordinates (1 unit = 1 texel).
   * Asking for it counts as changing it: the next frame is drawn.
   */
  overlayLayer(n: number): Container | null {
    this.stale = true;
    return this.disks.get(n)?.overlay ?? null;
  }

  /** (Re)build the texture when the painter's buffer is new (first time, or a new display). */
  private ensureTexture(d: DiskSprite): void {
    if (d.buffer === d.painter.rgba) return;
    const { width, height } = d.painter.display;
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d')!;
    // Shares memory with the painter's buffer: no copy before putImageData.
    const image = new ImageData(new Uint8ClampedArray(d.painter.rgba.buffer as ArrayBuffer), width, height);
    ctx.putImageData(image, 0, 0);
    const source = new CanvasSource({ resource: canvas, scaleMode: 'nearest', autoGenerateMipmaps: false });
    const old = d.sprite.texture;
    d.sprite.texture = new Texture({ source });
    if (old && old !== Texture.EMPTY) old.destroy(true);
    d.buffer = d.painter.rgba;
    d.source = source;
    d.ctx = ctx;
    d.image = image;
    d.uploaded = d.painter.version;
    d.painter.takeDirtyRows();
  }

  /** Where disk n goes (from the layout). A new display arrangement resets zoom. */
  place(n: number, p: GridPlacement): void {
    const d = this.disks.get(n);
    if (!d) return;
    if (d.painter.setDisplay(p.fit.display)) d.view = { ...IDENTITY };
    d.placement = p;
    d.drawnKey = '';
    this.stale = true;
  }

  /** The fitted (zoom 1) rectangle of disk n's texels. */
  private fitRect(d: DiskSprite): Rect | null {
    const p = d.placement;
    if (!p) return null;
    const w = d.painter.display.width * p.fit.scale;
    const h = d.painter.display.height * p.fit.scale;
    return { x: p.slot.x + (p.slot.w - w) / 2, y: p.slot.y + (p.slot.h - h) / 2, w, h };
  }

  private snap(v: number): number {
    const r = this.app.renderer?.resolution ?? 1;
    return Math.round(v * r) / r;
  }

  private layoutOne(d: DiskSprite): void {
    const fit = this.fitRect(d);
    if (!fit || !d.placement) {
      d.container.visible = false;
      return;
    }
    const slot = d.placement.slot;
    const r = viewRect(fit, d.view);
    const scale = d.placement.fit.scale * d.view.zoom;
    d.container.visible = true;
    d.sprite.position.set(this.snap(r.x), this.snap(r.y));
    d.sprite.scale.set(scale);
    // The overlay and cursor live in texel coordinates, like the sprite.
    d.overlay.position.copyFrom(d.sprite.position);
    d.overlay.scale.set(scale);
    const key = `${slot.x},${slot.y},${slot.w},${slot.h}|${r.x},${r.y},${r.w},${r.h}|${d.failed}|${d.cursorTexel}|${this.stripeColor}`;
    if (key === d.drawnKey) return;
    d.drawnKey = key;
    this.stale = true;
    d.mask.clear().rect(slot.x, slot.y, slot.w, slot.h).fill(0xffffff);
    d.stripes.clear();
    if (d.failed) {
      // Diagonal hazard stripes over the whole grid: a failed disk reads from the back row.
      const step = 28;
      for (let x = r.x - r.h; x < r.x + r.w; x += step) {
        d.stripes.moveTo(x, r.y + r.h).lineTo(x + r.h, r.y);
      }
      d.stripes.stroke({ width: 9, color: this.stripeColor, alpha: 0.45 });
      d.stripes.rect(r.x + 2, r.y + 2, r.w - 4, r.h - 4).stroke({ width: 4, color: this.stripeColor, alpha: 0.9 });
    }
    d.cursor.clear();
    if (d.cursorTexel !== null) {
      const c = this.texelRectIn(d, d.cursorTexel, r, scale);
      const pad = Math.max(0, (8 - c.w) / 2);
      d.cursor
        .rect(c.x - pad - 1, c.y - pad - 1, c.w + 2 * pad + 2, c.h + 2 * pad + 2)
        .stroke({ width: 3, color: 0x000000 })
        .rect(c.x - pad - 1, c.y - pad - 1, c.w + 2 * pad + 2, c.h + 2 * pad + 2)
        .stroke({ width: 1.5, color: 0xffffff });
    }
  }

  private texelRectIn(d: DiskSprite, texel: number, r: Rect, scale: number): Rect {
    const w = d.painter.display.width;
    return { x: r.x + (texel % w) * scale, y: r.y + Math.floor(texel / w) * scale, w: scale, h: scale };
  }

  /**
   * Upload dirty textures, place sprites, and draw if anything changed. `frozen`: keep the last
   * picture (Pause). Returns whether the canvas was drawn.
   */
  render(frozen: boolean, now = performance.now()): boolean {
    if (!this.ready || !this.host) return false;
    let uploaded = false;
    for (const d of this.disks.values()) {
      if (d.buffer !== d.painter.rgba) {
        this.ensureTexture(d);
        uploaded = true;
      }
      this.layoutOne(d);
      if (frozen) continue;
      const rows = d.painter.takeDirtyRows();
      if (rows || d.uploaded !== d.painter.version) {
        // Only the changed rows go through putImageData.
        const [lo, hi] = rows ?? [0, d.painter.display.height - 1];
        d.ctx!.putImageData(d.image!, 0, 0, 0, lo, d.painter.display.width, hi - lo + 1);
        d.source!.update();
        d.uploaded = d.painter.version;
        uploaded = true;
      }
    }
    if (uploaded) this.uploads++;
    // A change made without invalidate() still shows within REDRAW_AT_LEAST_MS.
    if (!uploaded && !this.stale && now - this.lastDrawAt < REDRAW_AT_LEAST_MS) return false;
    this.app.render();
    this.draws++;
    this.stale = false;
    this.lastDrawAt = now;
    return true;
  }

  private hostRect(): DOMRect | null {
    return this.host?.getBoundingClientRect() ?? null;
  }

  /** Which texel of disk n is under a client point, or -1. */
  texelAt(n: number, clientX: number, clientY: number): number {
    const d = this.disks.get(n);
    const host = this.hostRect();
    const fit = d && this.fitRect(d);
    if (!d || !host || !fit || !d.placement) return -1;
    const x = clientX - host.left;
    const y = clientY - host.top;
    const s = d.placement.slot;
    if (x < s.x || y < s.y || x >= s.x + s.w || y >= s.y + s.h) return -1;
    const r = viewRect(fit, d.view);
    const scale = d.placement.fit.scale * d.view.zoom;
    const lx = Math.floor((x - r.x) / scale);
    const ly = Math.floor((y - r.y) / scale);
    const g = d.painter.display;
    if (lx < 0 || ly < 0 || lx >= g.width || ly >= g.height) return -1;
    const t = ly * g.width + lx;
    return t < g.texels ? t : -1;
  }

  /** A texel's rectangle in client coordinates (tooltips, tests). */
  texelClientRect(n: number, texel: number): Rect | null {
    const d = this.disks.get(n);
    const host = this.hostRect();
    const fit = d && this.fitRect(d);
    if (!d || !host || !fit || !d.placement) return null;
    const r = viewRect(fit, d.view);
    const t = this.texelRectIn(d, texel, r, d.placement.fit.scale * d.view.zoom);
    return { x: host.left + t.x, y: host.top + t.y, w: t.w, h: t.h };
  }

  /** Centre of the texel showing engine cell `cell`, in client coordinates. */
  cellCenter(n: number, cell: number): { x: number; y: number } | null {
    const p = this.disks.get(n)?.painter;
    const r = p ? this.texelClientRect(n, p.texelOf(cell)) : null;
    return r ? { x: r.x + r.w / 2, y: r.y + r.h / 2 } : null;
  }

  /** The grid's drawn rectangle in client coordinates (tests). */
  gridClientRect(n: number): Rect | null {
    const d = this.disks.get(n);
    const host = this.hostRect();
    const fit = d && this.fitRect(d);
    if (!d || !host || !fit) return null;
    const r = viewRect(fit, d.view);
    return { x: host.left + r.x, y: host.top + r.y, w: r.w, h: r.h };
  }

  /** Read the real canvas pixel under a client point (RGBA). */
  canvasPixel(clientX: number, clientY: number): [number, number, number, number] {
    const canvas = this.app.canvas;
    const rect = canvas.getBoundingClientRect();
    const sx = canvas.width / rect.width;
    const sy = canvas.height / rect.height;
    const c = document.createElement('canvas');
    c.width = 1;
    c.height = 1;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(
      canvas,
      Math.floor((clientX - rect.left) * sx),
      Math.floor((clientY - rect.top) * sy),
      1,
      1,
      0,
      0,
      1,
      1,
    );
    const p = ctx.getImageData(0, 0, 1, 1).data;
    return [p[0], p[1], p[2], p[3]];
  }

  setFailed(n: number, on: boolean): void {
    const d = this.disks.get(n);
    if (d) d.failed = on;
    this.stale = true;
  }

  setCursor(n: number, texel: number | null): void {
    this.stale = true;
    for (const [k, d] of this.disks) d.cursorTexel = k === n ? texel : null;
    const d = this.disks.get(n);
    const fit = d && this.fitRect(d);
    if (!d || texel === null || !fit || !d.placement) return;
    // A zoomed grid pans to keep the cursor in view.
    const r = this.texelRectIn(d, texel, viewRect(fit, d.view), d.placement.fit.scale * d.view.zoom);
    d.view = revealPoint(fit, d.placement.slot, d.view, r.x + r.w / 2, r.y + r.h / 2, 24);
  }

  /** Zoom by `factor` about a client point (the pointer, or the cursor). */
  zoom(n: number, factor: number, clientX: number, clientY: number): void {
    const d = this.disks.get(n);
    const host = this.hostRect();
    const fit = d && this.fitRect(d);
    if (!d || !host || !fit || !d.placement) return;
    d.view = zoomAt(fit, d.placement.slot, d.view, factor, clientX - host.left, clientY - host.top);
    this.stale = true;
  }

  /** Zoom about the centre of the slot (keyboard, no pointer). */
  zoomCentre(n: number, factor: number): void {
    const d = this.disks.get(n);
    const host = this.hostRect();
    if (!d?.placement || !host) return;
    const s = d.placement.slot;
    this.zoom(n, factor, host.left + s.x + s.w / 2, host.top + s.y + s.h / 2);
  }

  pan(n: number, dx: number, dy: number): void {
    const d = this.disks.get(n);
    const fit = d && this.fitRect(d);
    if (!d || !fit || !d.placement) return;
    d.view = panBy(fit, d.placement.slot, d.view, dx, dy);
    this.stale = true;
  }

  resetView(n: number): void {
    const d = this.disks.get(n);
    if (d) d.view = { ...IDENTITY };
    this.stale = true;
  }

  zoomOf(n: number): number {
    return this.disks.get(n)?.view.zoom ?? 1;
  }
}
